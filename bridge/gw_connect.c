/*
 * gw_connect.c - CONNECT, the Will exchange and Will updates (6.3, 6.4).
 *
 * CONNECT -> [WILLTOPICREQ/WILLTOPIC -> WILLMSGREQ/WILLMSG] -> broker_open
 * -> gw_on_broker_connected -> CONNACK. In aggregating mode there is no
 * per-client broker connection and CONNACK follows the exchange at once.
 */
#include <stdlib.h>
#include <string.h>

#include "bridge/gw_int.h"
#include "codec/topic.h"

/* ---------------------------------------------------------------- the end of it */

void gw_conn_accept(struct gw *gw, struct gw_session *s, uint64_t now)
{
	s->phase = GW_PHASE_NONE;
	s->state = GW_STATE_ACTIVE;
	s->fresh = false;
	s->last_rx = now;
	GW_STAT_ADD(gw, s, connects, 1);
	/* a persistent session is on disk before its CONNACK leaves */
	gw_persist_mark(gw, s);
	gw_tx_rc(gw, s, NULL, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	gw_say(gw, GW_LOG_INFO, "client %s connected (keep-alive %u s%s%s)", s->client_id,
	       (unsigned)s->keep_alive_s, s->clean ? ", clean" : "",
	       s->has_will ? ", with Will" : "");
	/* messages kept for a persistent session, or queued during the exchange */
	gw_down_pump(gw, s, now);
	gw_sched_update(gw, s);
}

/*
 * The exchange ended without CONNACK accepted: a new session goes, a
 * persistent one keeps its state for the next attempt. Returns s, or NULL
 * when it was freed.
 */
struct gw_session *gw_conn_abort(struct gw *gw, struct gw_session *s)
{
	gw_sess_close_conn(gw, s, false);
	if (s->fresh) {
		gw_sess_free(gw, s);
		return NULL;
	}
	s->phase = GW_PHASE_NONE;
	s->state = GW_STATE_DISCONNECTED;
	gw_sched_update(gw, s);
	return s;
}

void gw_conn_refuse(struct gw *gw, struct gw_session *s, uint8_t rc, uint64_t now)
{
	(void)now;
	gw_tx_rc(gw, s, NULL, MQTTSN_CONNACK, rc);
	(void)gw_conn_abort(gw, s);
}

void gw_conn_timeout(struct gw *gw, struct gw_session *s, uint64_t now)
{
	gw_say(gw, GW_LOG_INFO, "client %s: connect exchange timed out in phase %u", s->client_id,
	       (unsigned)s->phase);
	if (s->phase == GW_PHASE_BROKER) {
		gw_note(gw, s, GW_CAUSE_BROKER_DOWN, now, "broker connection did not come up");
		gw_conn_refuse(gw, s, MQTTSN_RC_CONGESTION, now);
		return;
	}
	/* the client stopped answering WILLTOPICREQ / WILLMSGREQ: nobody to tell */
	(void)gw_conn_abort(gw, s);
}

int gw_conn_open(struct gw *gw, struct gw_session *s)
{
	struct gw_broker_session bs;

	/* a clean broker session starts empty: from here on every subscription
	 * it holds goes through this core. A persistent one reopened after the
	 * connection was closed may hold any (made before a bridge restart, or
	 * through another bridge); one reopened at once (a Will update) keeps
	 * what the core knew. */
	if (s->clean)
		s->subs_known = true;
	else if (s->conn == 0)
		s->subs_known = false;
	gw_sess_close_conn(gw, s, false);
	if (gw->ops.broker_open == NULL)
		return -1;
	gw->conn_gen = (gw->conn_gen + 1) & 0xFFFu;
	s->conn = (gw->conn_gen << GW_CONN_SLOT_BITS) | (s->slot + 1);
	memset(&bs, 0, sizeof bs);
	bs.client_id = s->client_id;
	bs.clean_session = s->clean;
	bs.keep_alive_s = GW_BROKER_KEEPALIVE_S;
	bs.has_will = s->has_will;
	if (s->has_will) {
		bs.will_topic = s->will_topic;
		bs.will_payload = s->will_msg;
		bs.will_len = s->will_msg_len;
		bs.will_qos = s->will_qos;
		bs.will_retain = s->will_retain;
	}
	s->broker_up = false;
	s->conn_will = s->has_will;
	s->conn_clean = s->clean;
	if (gw->ops.broker_open(gw->ctx, s->conn, &bs) < 0) {
		s->conn = 0;
		s->conn_will = false;
		return -1;
	}
	return 0;
}

/* The Will is known: bring the broker side up, then CONNACK. */
static void proceed(struct gw *gw, struct gw_session *s, uint64_t now)
{
	if (gw_aggregating(gw)) {
		if (gw->shared != GW_SHARED_UP && !gw->cfg.custody) {
			gw_shared_ensure(gw, now);
			gw_note(gw, s, GW_CAUSE_BROKER_DOWN, now, "CONNACK congestion: broker down");
			gw_conn_refuse(gw, s, MQTTSN_RC_CONGESTION, now);
			return;
		}
		gw_conn_accept(gw, s, now);
		return;
	}
	/* an open connection with no Will on either side can be kept as it is */
	if (s->conn != 0 && s->broker_up && !s->conn_will && !s->has_will) {
		gw_conn_accept(gw, s, now);
		return;
	}
	if (gw_conn_open(gw, s) != 0) {
		if (gw->cfg.custody) {
			/* its QoS 1/2 messages go into custody all the same; the
			 * rest waits for its next CONNECT to open the connection */
			gw_say(gw, GW_LOG_WARN, "client %s: no broker connection; "
			       "accepted for custody", s->client_id);
			gw_conn_accept(gw, s, now);
			return;
		}
		gw_note(gw, s, GW_CAUSE_BROKER_REFUSED, now, "CONNACK congestion: broker_open failed");
		gw_conn_refuse(gw, s, MQTTSN_RC_CONGESTION, now);
		return;
	}
	if (gw->cfg.custody) {
		/* the station's publishes do not need the broker: no waiting
		 * (a refusal or a drop later only marks the connection down) */
		gw_conn_accept(gw, s, now);
		return;
	}
	s->phase = GW_PHASE_BROKER;
	s->phase_since = now;
	gw_sched_update(gw, s);
}

/* ---------------------------------------------------------------- CONNECT */

void gw_conn_on_connect(struct gw *gw, struct gw_session *s_ep, const struct gw_rx *rx,
                        const struct mqttsn_msg *m)
{
	const char *id = (const char *)m->u.connect.client_id.ptr;
	size_t len = m->u.connect.client_id.len;
	struct gw_session *s = gw_sess_by_id(gw, id, len);
	bool clean = m->u.connect.flags.clean_session;

	(void)s_ep;
	if (s != NULL && s->phase != GW_PHASE_NONE && s->bound && gw_ep_equal(&s->ep, rx->ep)) {
		/* the client's retransmission: repeat our side of the exchange */
		if (s->phase == GW_PHASE_WILLTOPIC)
			gw_tx_bare(gw, s, NULL, MQTTSN_WILLTOPICREQ);
		else if (s->phase == GW_PHASE_WILLMSG)
			gw_tx_bare(gw, s, NULL, MQTTSN_WILLMSGREQ);
		return;
	}
	if (s != NULL && s->phase != GW_PHASE_NONE)
		s = gw_conn_abort(gw, s); /* a CONNECT from elsewhere abandons the exchange */
	if (s != NULL && clean) {
		/* 6.3: CleanSession drops subscriptions, topic ids and queued messages */
		s->state = GW_STATE_DISCONNECTED;
		gw_sess_close_conn(gw, s, false);
		gw_sess_free(gw, s);
		s = NULL;
	}
	if (s == NULL) {
		if (gw->nsessions >= gw->nslots) {
			struct gw_session *old = gw_sess_evictable(gw);

			if (old == NULL) {
				gw_note(gw, NULL, GW_CAUSE_CLIENTS, rx->now,
				        "CONNACK congestion: max_clients %u reached",
				        (unsigned)gw->cfg.max_clients);
				gw_tx_rc(gw, NULL, rx->ep, MQTTSN_CONNACK, MQTTSN_RC_CONGESTION);
				return;
			}
			gw_say(gw, GW_LOG_INFO, "client %s evicted to make room", old->client_id);
			gw_sess_free(gw, old);
		}
		s = gw_sess_new(gw, id, len, rx->now);
		if (s == NULL) {
			gw_say(gw, GW_LOG_ERR, "out of memory for a session");
			gw_tx_rc(gw, NULL, rx->ep, MQTTSN_CONNACK, MQTTSN_RC_CONGESTION);
			return;
		}
		s->fresh = true;
	} else {
		/* 6.5: after a reconnect without CleanSession the gateway REGISTERs
		 * its topic ids again before it publishes on them */
		gw_down_pause(gw, s);
		gw_topic_forget_all(s);
	}
	/* a new address with a known client id takes the session over */
	gw_sess_bind(gw, s, rx->ep);
	s->clean = clean;
	s->keep_alive_s = m->u.connect.duration;
	s->phase_since = rx->now;
	s->last_rx = rx->now;
	gw_sess_will_clear(s);
	if (m->u.connect.flags.will) {
		s->phase = GW_PHASE_WILLTOPIC;
		gw_tx_bare(gw, s, NULL, MQTTSN_WILLTOPICREQ);
		gw_sched_update(gw, s);
		return;
	}
	s->phase = GW_PHASE_BROKER;
	proceed(gw, s, rx->now);
}

/* ---------------------------------------------------------------- the Will */

static bool in_phase(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                     const struct mqttsn_msg *m, uint8_t phase)
{
	if (s != NULL && s->phase == phase)
		return true;
	if (s != NULL && phase == GW_PHASE_WILLTOPIC && s->phase == GW_PHASE_WILLMSG) {
		/* our WILLMSGREQ was lost and the client repeats WILLTOPIC */
		gw_tx_bare(gw, s, NULL, MQTTSN_WILLMSGREQ);
		return false;
	}
	gw_note(gw, s, GW_CAUSE_PROTOCOL, rx->now, "%s outside a CONNECT",
	        mqttsn_type_name((int)m->type));
	return false;
}

static int set_will_topic(struct gw_session *s, const struct mqttsn_msg *m)
{
	char *t = malloc(m->u.willtopic.topic.len + 1);

	if (t == NULL)
		return -1;
	memcpy(t, m->u.willtopic.topic.ptr, m->u.willtopic.topic.len);
	t[m->u.willtopic.topic.len] = '\0';
	free(s->will_topic);
	s->will_topic = t;
	s->will_qos = (uint8_t)m->u.willtopic.flags.qos;
	s->will_retain = m->u.willtopic.flags.retain;
	s->has_will = true;
	return 0;
}

static int set_will_msg(struct gw_session *s, const struct mqttsn_msg *m)
{
	uint8_t *p = NULL;
	size_t n = m->u.willmsg.msg.len;

	if (n != 0) {
		p = malloc(n);
		if (p == NULL)
			return -1;
		memcpy(p, m->u.willmsg.msg.ptr, n);
	}
	free(s->will_msg);
	s->will_msg = p;
	s->will_msg_len = n;
	return 0;
}

static bool will_topic_ok(const struct mqttsn_msg *m)
{
	return mqttsn_topic_name_check((const char *)m->u.willtopic.topic.ptr,
	                               m->u.willtopic.topic.len) == MQTTSN_OK;
}

void gw_conn_on_willtopic(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                          const struct mqttsn_msg *m)
{
	if (!in_phase(gw, s, rx, m, GW_PHASE_WILLTOPIC))
		return;
	if (m->u.willtopic.topic.len == 0) {
		/* 5.4.7: the empty WILLTOPIC means no Will after all */
		gw_sess_will_clear(s);
		s->phase = GW_PHASE_BROKER;
		proceed(gw, s, rx->now);
		return;
	}
	if (!will_topic_ok(m)) {
		gw_note(gw, s, GW_CAUSE_PROTOCOL, rx->now, "invalid Will topic");
		gw_conn_refuse(gw, s, MQTTSN_RC_NOT_SUPPORTED, rx->now);
		return;
	}
	if (set_will_topic(s, m) != 0) {
		gw_conn_refuse(gw, s, MQTTSN_RC_CONGESTION, rx->now);
		return;
	}
	s->phase = GW_PHASE_WILLMSG;
	gw_tx_bare(gw, s, NULL, MQTTSN_WILLMSGREQ);
}

void gw_conn_on_willmsg(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                        const struct mqttsn_msg *m)
{
	if (!in_phase(gw, s, rx, m, GW_PHASE_WILLMSG))
		return;
	if (set_will_msg(s, m) != 0) {
		gw_conn_refuse(gw, s, MQTTSN_RC_CONGESTION, rx->now);
		return;
	}
	s->phase = GW_PHASE_BROKER;
	proceed(gw, s, rx->now);
}

/*
 * 6.4: WILLTOPICUPD / WILLMSGUPD. MQTT cannot change a Will on an open
 * connection, so in transparent mode the connection is opened again with
 * the new Will and the same CleanSession: a persistent session keeps its
 * subscriptions at the broker, a clean one gets them again once it is up.
 */
void gw_conn_on_willupd(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                        const struct mqttsn_msg *m)
{
	bool topic = m->type == MQTTSN_WILLTOPICUPD;
	enum mqttsn_type resp = topic ? MQTTSN_WILLTOPICRESP : MQTTSN_WILLMSGRESP;
	int r = 0;

	if (topic && m->u.willtopic.topic.len == 0) {
		gw_sess_will_clear(s);
	} else if (topic) {
		if (!will_topic_ok(m)) {
			gw_note(gw, s, GW_CAUSE_PROTOCOL, rx->now, "invalid Will topic");
			gw_tx_rc(gw, s, NULL, resp, MQTTSN_RC_NOT_SUPPORTED);
			return;
		}
		r = set_will_topic(s, m);
	} else {
		if (!s->has_will) {
			/* a message with no topic to publish it on */
			gw_note(gw, s, GW_CAUSE_PROTOCOL, rx->now, "WILLMSGUPD without a Will topic");
			gw_tx_rc(gw, s, NULL, resp, MQTTSN_RC_NOT_SUPPORTED);
			return;
		}
		r = set_will_msg(s, m);
	}
	if (r != 0) {
		gw_tx_rc(gw, s, NULL, resp, MQTTSN_RC_CONGESTION);
		return;
	}
	gw_persist_mark(gw, s);
	if (!gw_aggregating(gw) && (s->has_will || s->conn_will) && gw_conn_open(gw, s) != 0) {
		gw_note(gw, s, GW_CAUSE_BROKER_REFUSED, rx->now, "Will update: broker_open failed");
		gw_tx_rc(gw, s, NULL, resp, MQTTSN_RC_CONGESTION);
		return;
	}
	gw_tx_rc(gw, s, NULL, resp, MQTTSN_RC_ACCEPTED);
}
