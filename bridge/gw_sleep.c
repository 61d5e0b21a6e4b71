/*
 * gw_sleep.c - keep-alive (6.11), DISCONNECT and sleeping clients (6.14).
 *
 * asleep: DISCONNECT with a duration; messages are buffered.
 * awake: PINGREQ with the client id; the buffer is sent (QoS 1/2 wait for
 * their acks), then PINGRESP, and the client is asleep again.
 * A client silent past its keep-alive, or asleep past its duration, each
 * with Table 30's tolerance, is lost and its Will is published.
 */
#include <string.h>

#include "bridge/gw_int.h"

uint64_t gw_tolerance_ms(uint16_t seconds)
{
	/* Table 30 note: +10 %, or +50 % for periods under one minute */
	return (uint64_t)seconds * (seconds < 60 ? 1500u : 1100u);
}

uint64_t gw_sleep_deadline(const struct gw_session *s)
{
	switch (s->state) {
	case GW_STATE_ACTIVE:
		return s->keep_alive_s == 0 ? GW_NEVER : s->last_rx + gw_tolerance_ms(s->keep_alive_s);
	case GW_STATE_ASLEEP:
	case GW_STATE_AWAKE:
		return s->sleep_s == 0 ? GW_NEVER : s->phase_since + gw_tolerance_ms(s->sleep_s);
	default:
		return GW_NEVER;
	}
}

void gw_sleep_back(struct gw *gw, struct gw_session *s, uint64_t now)
{
	gw_tx_bare(gw, s, NULL, MQTTSN_PINGRESP);
	s->state = GW_STATE_ASLEEP;
	s->phase_since = now;
}

/* PINGREQ with a client id: wake that client (6.14), wherever it speaks from. */
static void wake(struct gw *gw, struct gw_session *s, const struct gw_rx *rx)
{
	/* the address may have changed while it slept (NAT, roaming) */
	gw_sess_bind(gw, s, rx->ep);
	s->last_rx = rx->now;
	s->phase_since = rx->now;
	s->state = GW_STATE_AWAKE;
	/* what was in flight when it fell asleep starts over (DUP) */
	gw_down_pause(gw, s);
	gw_down_pump(gw, s, rx->now);
}

void gw_sleep_on_pingreq(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                         const struct mqttsn_msg *m)
{
	struct gw_session *t;

	if (m->u.pingreq.client_id.len != 0) {
		t = gw_sess_by_id(gw, (const char *)m->u.pingreq.client_id.ptr,
		                  m->u.pingreq.client_id.len);
		if (t == NULL || t->phase != GW_PHASE_NONE ||
		    (t->state != GW_STATE_ASLEEP && t->state != GW_STATE_AWAKE &&
		     t->state != GW_STATE_ACTIVE)) {
			/* unknown or gone (a restart, an expiry): tell it to connect again */
			gw_note(gw, t, GW_CAUSE_PROTOCOL, rx->now, "PINGREQ from a client with no session");
			gw_tx_bare(gw, NULL, rx->ep, MQTTSN_DISCONNECT);
			return;
		}
		if (t->state == GW_STATE_ACTIVE) {
			gw_sess_bind(gw, t, rx->ep);
			t->last_rx = rx->now;
			gw_tx_bare(gw, t, NULL, MQTTSN_PINGRESP);
			gw_sched_update(gw, t);
			return;
		}
		wake(gw, t, rx);
		return;
	}
	if (s == NULL || s->phase != GW_PHASE_NONE ||
	    (s->state != GW_STATE_ACTIVE && s->state != GW_STATE_ASLEEP &&
	     s->state != GW_STATE_AWAKE)) {
		gw_note(gw, s, GW_CAUSE_PROTOCOL, rx->now, "PINGREQ without a session");
		gw_tx_bare(gw, NULL, rx->ep, MQTTSN_DISCONNECT);
		return;
	}
	if (s->state == GW_STATE_ACTIVE) {
		gw_tx_bare(gw, s, NULL, MQTTSN_PINGRESP);
		return;
	}
	/* a sleeping client that left its id out: the address says who it is */
	wake(gw, s, rx);
}

void gw_sleep_on_disconnect(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                            const struct mqttsn_msg *m)
{
	bool sleep = m->u.disconnect.has_duration && m->u.disconnect.duration != 0;

	if (s == NULL) {
		/* 6.13: answered all the same, so the client can finish */
		gw_tx_bare(gw, NULL, rx->ep, MQTTSN_DISCONNECT);
		return;
	}
	if (s->phase != GW_PHASE_NONE) {
		/* the client gave up on its CONNECT */
		gw_tx_bare(gw, s, NULL, MQTTSN_DISCONNECT);
		(void)gw_conn_abort(gw, s);
		return;
	}
	if (s->state != GW_STATE_ACTIVE && s->state != GW_STATE_AWAKE &&
	    s->state != GW_STATE_ASLEEP) {
		gw_tx_bare(gw, s, NULL, MQTTSN_DISCONNECT);
		return;
	}
	gw_tx_bare(gw, s, NULL, MQTTSN_DISCONNECT);
	gw_down_pause(gw, s);
	if (sleep) {
		/* 6.14: the broker connection stays; messages wait in the buffer */
		s->state = GW_STATE_ASLEEP;
		s->sleep_s = m->u.disconnect.duration;
		s->phase_since = rx->now;
		gw_persist_mark(gw, s);
		gw_say(gw, GW_LOG_DEBUG, "client %s asleep for %u s", s->client_id,
		       (unsigned)s->sleep_s);
		gw_sched_update(gw, s);
		return;
	}
	/* a clean goodbye: no Will (6.3, MQTT DISCONNECT semantics) */
	s->state = GW_STATE_DISCONNECTED;
	gw_sess_close_conn(gw, s, false);
	gw_up_fail_all(gw, s, false);
	gw_persist_mark(gw, s);
	gw_say(gw, GW_LOG_INFO, "client %s disconnected", s->client_id);
	if (s->clean) {
		gw_sess_free(gw, s);
		return;
	}
	gw_sched_update(gw, s);
}
