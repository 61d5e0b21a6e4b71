/*
 * conn.c - the connection: CONNECT with the Will exchange (6.3), keep-alive
 * (6.11), DISCONNECT (6.13), the sleep cycle (6.14), gateway discovery
 * (6.1, 6.2); and snc_input()/snc_tick(), through which everything enters.
 */
#include <assert.h>
#include <string.h>

#include "sn-client/client_impl.h"

/* ---------------------------------------------------------------- sending */

static int send_connect(struct snc *c, uint64_t now)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_CONNECT;
	m.u.connect.flags.will = c->has_will;
	m.u.connect.flags.clean_session = c->cfg.clean_session;
	m.u.connect.protocol_id = MQTTSN_PROTOCOL_ID;
	m.u.connect.duration = c->cfg.keep_alive_s;
	m.u.connect.client_id.ptr = (const uint8_t *)c->client_id;
	m.u.connect.client_id.len = strlen(c->client_id);
	return snc_core_send(c, &m, false, now);
}

static int send_pingreq(struct snc *c, bool with_id, uint64_t now)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_PINGREQ;
	if (with_id) {
		m.u.pingreq.client_id.ptr = (const uint8_t *)c->client_id;
		m.u.pingreq.client_id.len = strlen(c->client_id);
	}
	return snc_core_send(c, &m, false, now);
}

static int send_disconnect(struct snc *c, uint16_t duration_s, uint64_t now)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_DISCONNECT;
	m.u.disconnect.has_duration = duration_s > 0;
	m.u.disconnect.duration = duration_s;
	return snc_core_send(c, &m, false, now);
}

static int send_simple(struct snc *c, enum mqttsn_type type, uint64_t now)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = type;
	return snc_core_send(c, &m, false, now);
}

/* 5.4.7: WILLTOPIC; without a Will, the empty form (which deletes it). */
static int send_willtopic(struct snc *c, uint64_t now)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_WILLTOPIC;
	if (c->has_will) {
		m.u.willtopic.flags.qos = c->will_qos;
		m.u.willtopic.flags.retain = c->will_retain;
		m.u.willtopic.topic.ptr = (const uint8_t *)c->will_topic;
		m.u.willtopic.topic.len = c->will_topic_len;
	}
	return snc_core_send(c, &m, false, now);
}

static int send_willmsg(struct snc *c, uint64_t now)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_WILLMSG;
	if (c->has_will) {
		m.u.willmsg.msg.ptr = c->will_msg;
		m.u.willmsg.msg.len = c->will_len;
	}
	return snc_core_send(c, &m, false, now);
}

static int send_searchgw(struct snc *c, uint64_t now)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_SEARCHGW;
	m.u.searchgw.radius = c->cfg.search_radius;
	return snc_core_send(c, &m, true, now);
}

/* (Re)sends what the exchange under way sends. */
static void ctl_send(struct snc *c, uint64_t now)
{
	switch (c->ctl.kind) {
	case CTL_CONNECT:
		(void)send_connect(c, now);
		break;
	case CTL_PING:
		(void)send_pingreq(c, false, now);
		break;
	case CTL_WAKE:
		(void)send_pingreq(c, true, now);
		break;
	case CTL_DISCONNECT:
		(void)send_disconnect(c, 0, now);
		break;
	case CTL_SLEEP:
		(void)send_disconnect(c, c->sleep_s, now);
		break;
	case CTL_NONE:
		break;
	}
}

/* ---------------------------------------------------------------- the exchange */

static void ctl_arm(struct snc *c, uint64_t now)
{
	c->ctl.sent_at = now;
	c->ctl.retransmitted = false;
	c->ctl.interval_ms = c->rtt.rto_ms;
	c->ctl.deadline = now + c->ctl.interval_ms;
}

static void ctl_begin(struct snc *c, enum ctl_kind kind, uint64_t now)
{
	c->ctl.kind = kind;
	c->ctl.retries = 0;
	ctl_arm(c, now);
	ctl_send(c, now);
}

/* The gateway answered the exchange: a round-trip sample unless it was resent (Karn). */
static void ctl_sample(struct snc *c, uint64_t now)
{
	if (!c->ctl.retransmitted && now >= c->ctl.sent_at) {
		snc_rtt_sample(&c->rtt, (uint32_t)(now - c->ctl.sent_at));
		c->st.rtt_samples++;
	}
}

static void ctl_end(struct snc *c)
{
	c->ctl.kind = CTL_NONE;
}

/*
 * How much earlier than a period's end to send: one RTO, so that one
 * retransmission still lands in time, but never more than a quarter of the
 * period. Used for keep-alive PINGREQs and for waking from sleep.
 */
static uint64_t early(const struct snc *c, uint64_t period_ms)
{
	uint64_t e = c->rtt.rto_ms;

	return e < period_ms / 4 ? e : period_ms / 4;
}

static uint64_t ping_due(const struct snc *c)
{
	uint64_t k = (uint64_t)c->cfg.keep_alive_s * 1000u;

	return c->last_tx + k - early(c, k);
}

static void fall_asleep(struct snc *c, uint64_t now)
{
	uint64_t s = (uint64_t)c->sleep_s * 1000u;

	c->state = SNC_STATE_ASLEEP;
	c->wake_at = now + s - early(c, s);
}

/* Ends a connection: pending requests fail with rc, source messages go back. */
static void end_connection(struct snc *c, enum snc_state to, int rc)
{
	c->state = to;
	ctl_end(c);
	snc_req_fail_all(c, rc);
}

void snc_conn_lost(struct snc *c, uint64_t now)
{
	(void)now;
	end_connection(c, SNC_STATE_LOST, SNC_ERR_GONE);
	c->st.gateway_lost++;
	snc_core_emit_simple(c, SNC_EV_GATEWAY_LOST, SNC_ERR_GONE);
}

void snc_conn_heard(struct snc *c, uint64_t now)
{
	/* Buffered messages are flowing: the PINGRESP comes after them, so the
	 * wait for it starts again, and the gateway is plainly there. */
	if (c->ctl.kind == CTL_WAKE) {
		c->ctl.retries = 0;
		c->ctl.deadline = now + c->ctl.interval_ms;
	}
}

/* ---------------------------------------------------------------- starting */

int snc_connect_start(struct snc *c, uint64_t now)
{
	assert(c != NULL);
	if (c->state == SNC_STATE_CONNECTING || c->state == SNC_STATE_ACTIVE)
		return SNC_ERR_STATE;
	c->state = SNC_STATE_CONNECTING;
	ctl_begin(c, CTL_CONNECT, now);
	snc_core_settle(c, now);
	return SNC_OK;
}

int snc_disconnect_start(struct snc *c, uint64_t now)
{
	assert(c != NULL);
	if (c->state == SNC_STATE_DISCONNECTED || c->state == SNC_STATE_LOST ||
	    c->state == SNC_STATE_DISCONNECTING)
		return SNC_ERR_STATE;
	end_connection(c, SNC_STATE_DISCONNECTING, SNC_ERR_CLOSED);
	ctl_begin(c, CTL_DISCONNECT, now);
	snc_core_settle(c, now);
	return SNC_OK;
}

int snc_sleep_start(struct snc *c, uint16_t duration_s, uint64_t now)
{
	assert(c != NULL);
	if (duration_s == 0)
		return SNC_ERR_INVALID;
	if (c->state != SNC_STATE_ACTIVE && c->state != SNC_STATE_ASLEEP &&
	    c->state != SNC_STATE_AWAKE)
		return SNC_ERR_STATE;
	end_connection(c, SNC_STATE_GOING_ASLEEP, SNC_ERR_CLOSED);
	c->sleep_s = duration_s;
	ctl_begin(c, CTL_SLEEP, now);
	snc_core_settle(c, now);
	return SNC_OK;
}

int snc_wake_start(struct snc *c, uint64_t now)
{
	assert(c != NULL);
	if (c->state != SNC_STATE_ASLEEP)
		return SNC_ERR_STATE;
	c->state = SNC_STATE_AWAKE;
	ctl_begin(c, CTL_WAKE, now);
	snc_core_settle(c, now);
	return SNC_OK;
}

int snc_search_start(struct snc *c, uint64_t now)
{
	assert(c != NULL);
	c->searching = true;
	c->search_retries = 0;
	c->search_interval_ms = c->cfg.search_interval_ms;
	c->search_deadline = now + c->search_interval_ms;
	(void)send_searchgw(c, now);
	return SNC_OK;
}

/* ---------------------------------------------------------------- input */

static void on_connack(struct snc *c, uint8_t rc, uint64_t now)
{
	ctl_sample(c, now);
	ctl_end(c);
	if (rc != MQTTSN_RC_ACCEPTED) {
		end_connection(c, SNC_STATE_DISCONNECTED, rc);
		snc_core_emit_simple(c, SNC_EV_CONNECTED, rc);
		return;
	}
	c->state = SNC_STATE_ACTIVE;
	/* 6.3: a clean session starts with no topic ids at the gateway. */
	if (c->cfg.clean_session)
		snc_tmap_clear_normal(c);
	c->src_not_before = 0;
	snc_core_emit_simple(c, SNC_EV_CONNECTED, 0);
}

static void on_disconnect(struct snc *c, uint64_t now)
{
	switch (c->ctl.kind) {
	case CTL_DISCONNECT:
		ctl_sample(c, now);
		ctl_end(c);
		c->state = SNC_STATE_DISCONNECTED;
		snc_core_emit_simple(c, SNC_EV_DISCONNECTED, SNC_OK);
		return;
	case CTL_SLEEP:
		/* 6.14: the gateway acknowledges a sleep with a DISCONNECT. */
		ctl_sample(c, now);
		ctl_end(c);
		fall_asleep(c, now);
		snc_core_emit_simple(c, SNC_EV_ASLEEP, SNC_OK);
		return;
	default:
		break;
	}
	if (c->state == SNC_STATE_DISCONNECTED || c->state == SNC_STATE_LOST) {
		c->st.unexpected_in++;
		return;
	}
	end_connection(c, SNC_STATE_DISCONNECTED, SNC_ERR_CLOSED);
	snc_core_emit_simple(c, SNC_EV_DISCONNECTED, SNC_ERR_CLOSED);
}

static void on_pingresp(struct snc *c, uint64_t now)
{
	switch (c->ctl.kind) {
	case CTL_PING:
		ctl_sample(c, now);
		ctl_end(c);
		return;
	case CTL_WAKE:
		/* Not an RTT sample: the gateway sent its buffer first. */
		ctl_end(c);
		fall_asleep(c, now);
		snc_core_emit_simple(c, SNC_EV_AWAKE_DONE, SNC_OK);
		return;
	default:
		c->st.unexpected_in++;
		return;
	}
}

static void found(struct snc *c, const struct mqttsn_msg *m)
{
	struct snc_event ev;

	memset(&ev, 0, sizeof ev);
	ev.type = SNC_EV_GATEWAY_FOUND;
	if (m->type == MQTTSN_ADVERTISE) {
		ev.advertise = true;
		ev.gw_id = m->u.advertise.gw_id;
		ev.duration = m->u.advertise.duration;
	} else {
		ev.gw_id = m->u.gwinfo.gw_id;
		ev.gw_addr = m->u.gwinfo.gw_addr.ptr;
		ev.gw_addr_len = m->u.gwinfo.gw_addr.len;
	}
	c->searching = false;
	snc_core_emit(c, &ev);
}

/* The connection's messages; false when m is none of them. */
static bool conn_input(struct snc *c, const struct mqttsn_msg *m, uint64_t now)
{
	switch (m->type) {
	case MQTTSN_CONNACK:
		if (c->ctl.kind != CTL_CONNECT)
			c->st.unexpected_in++;
		else
			on_connack(c, m->u.rc, now);
		return true;
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
		if (c->ctl.kind != CTL_CONNECT) {
			c->st.unexpected_in++;
			return true;
		}
		/* Each answer is a round trip; the wait starts again from ours. */
		ctl_sample(c, now);
		if (m->type == MQTTSN_WILLTOPICREQ)
			(void)send_willtopic(c, now);
		else
			(void)send_willmsg(c, now);
		ctl_arm(c, now);
		return true;
	case MQTTSN_PINGRESP:
		on_pingresp(c, now);
		return true;
	case MQTTSN_PINGREQ:
		/* The gateway may check on us too (6.11). */
		(void)send_simple(c, MQTTSN_PINGRESP, now);
		return true;
	case MQTTSN_DISCONNECT:
		on_disconnect(c, now);
		return true;
	case MQTTSN_ADVERTISE:
	case MQTTSN_GWINFO:
		found(c, m);
		return true;
	case MQTTSN_SEARCHGW:
		/* Another client's search: ours is not to answer (6.2 allows it, optionally). */
		return true;
	default:
		return false;
	}
}

void snc_input(struct snc *c, const uint8_t *buf, size_t len, uint64_t now)
{
	struct mqttsn_msg m;

	assert(c != NULL && (buf != NULL || len == 0));
	c->st.msgs_in++;
	c->st.bytes_in += len;
	if (mqttsn_decode(buf, len, &m) != MQTTSN_OK) {
		c->st.malformed_in++;
		return;
	}
	if (c->state == SNC_STATE_AWAKE)
		snc_conn_heard(c, now);
	if (!snc_req_input(c, &m, now) && !snc_inbound_input(c, &m, now) && !conn_input(c, &m, now))
		c->st.unexpected_in++;
	snc_core_settle(c, now);
}

/* ---------------------------------------------------------------- time */

/* The exchange under way timed out: resend, or give up. */
static void ctl_timeout(struct snc *c, uint64_t now)
{
	unsigned limit = c->ctl.kind == CTL_CONNECT ? c->cfg.connect_retry_count : c->cfg.retry_count;

	c->ctl.retries++;
	if (limit != 0 || c->ctl.kind != CTL_CONNECT) {
		if (c->ctl.retries > limit) {
			if (c->ctl.kind == CTL_DISCONNECT) {
				/* Disconnected all the same, just without the gateway's word. */
				ctl_end(c);
				c->state = SNC_STATE_DISCONNECTED;
				snc_core_emit_simple(c, SNC_EV_DISCONNECTED, SNC_ERR_GONE);
			} else {
				snc_conn_lost(c, now);
			}
			return;
		}
	}
	snc_core_timeout(c, c->ctl.sent_at, now);
	c->st.retransmissions++;
	c->ctl.retransmitted = true;
	c->ctl.sent_at = now;
	c->ctl.interval_ms = snc_core_backoff(c, c->ctl.interval_ms, 1);
	c->ctl.deadline = now + c->ctl.interval_ms;
	ctl_send(c, now);
}

void snc_conn_tick(struct snc *c, uint64_t now)
{
	if (c->ctl.kind != CTL_NONE && now >= c->ctl.deadline)
		ctl_timeout(c, now);
	if (c->state == SNC_STATE_ACTIVE && c->ctl.kind == CTL_NONE && c->cfg.keep_alive_s > 0 &&
	    now >= ping_due(c))
		ctl_begin(c, CTL_PING, now);
	if (c->state == SNC_STATE_ASLEEP && c->ctl.kind == CTL_NONE && now >= c->wake_at) {
		c->state = SNC_STATE_AWAKE;
		ctl_begin(c, CTL_WAKE, now);
	}
	if (c->searching && now >= c->search_deadline) {
		if (++c->search_retries > c->cfg.retry_count) {
			c->searching = false;
			snc_core_emit_simple(c, SNC_EV_SEARCH_FAILED, SNC_ERR_TIMEOUT);
		} else {
			c->search_interval_ms = snc_core_backoff(c, c->search_interval_ms, 1);
			c->search_deadline = now + c->search_interval_ms;
			(void)send_searchgw(c, now);
		}
	}
}

uint64_t snc_conn_deadline(const struct snc *c)
{
	uint64_t next = UINT64_MAX;

	if (c->ctl.kind != CTL_NONE)
		next = c->ctl.deadline;
	else if (c->state == SNC_STATE_ACTIVE && c->cfg.keep_alive_s > 0)
		next = ping_due(c);
	else if (c->state == SNC_STATE_ASLEEP)
		next = c->wake_at;
	if (c->searching && c->search_deadline < next)
		next = c->search_deadline;
	return next;
}

uint64_t snc_next_deadline(const struct snc *c)
{
	uint64_t a, b;

	assert(c != NULL);
	/* A request held back until a time already past when the core last ran
	 * waits for something else (the window, a REGISTER): an answer, which
	 * comes through snc_input(), not a timer. */
	a = snc_req_deadline(c, c->now);
	b = snc_conn_deadline(c);
	return a < b ? a : b;
}

uint64_t snc_tick(struct snc *c, uint64_t now)
{
	bool lost = false;

	assert(c != NULL);
	snc_req_tick(c, now, &lost);
	if (lost)
		snc_conn_lost(c, now);
	snc_conn_tick(c, now);
	snc_core_settle(c, now);
	return snc_next_deadline(c);
}
