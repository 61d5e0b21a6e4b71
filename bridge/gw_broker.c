/*
 * gw_broker.c - events from the broker side, routed to the session (or, on
 * the shared connection, to every session) they concern.
 */
#include "bridge/gw_int.h"

/* ---------------------------------------------------------------- shared connection */

static void shared_up(struct gw *gw)
{
	bool again = gw->shared == GW_SHARED_DOWN;

	gw->shared = GW_SHARED_UP;
	gw_say(gw, GW_LOG_INFO, "shared broker connection up");
	/* opened clean: after a drop the broker forgot every subscription;
	 * the first time, the subscriptions of restored sessions (with custody
	 * the session is kept, and subscribing again changes nothing) */
	if (gw_aggregating(gw) && (again || gw->cfg.custody))
		gw_filter_resubscribe_all(gw);
}

static void shared_down(struct gw *gw)
{
	uint32_t i;

	if (gw->shared == GW_SHARED_CLOSED)
		return;
	gw->shared = GW_SHARED_DOWN;
	gw_say(gw, GW_LOG_WARN, "shared broker connection down");
	if (!gw_aggregating(gw))
		return;
	/* a rare event: a scan of every session is acceptable here */
	for (i = 0; i < gw->nslots; i++)
		if (gw->slots[i] != NULL)
			gw_brk_fail_inflight(gw, gw->slots[i]);
	gw_filter_fail_pending(gw);
}

/* ---------------------------------------------------------------- per client */

void gw_brk_fail_inflight(struct gw *gw, struct gw_session *s)
{
	/*
	 * Publishes the daemon took stay pending: its MQTT client keeps them
	 * and finishes them after reconnecting (a DUP PUBLISH, or the PUBREL
	 * of QoS 2), acked under the same token. Answering congestion now
	 * would make the client send again what the broker gets anyway.
	 * Subscribes are not carried over a reconnect: those fail.
	 */
	gw_sub_fail_waiting(gw, s);
}

static void on_broker_connected(struct gw *gw, uint32_t conn, int rc, uint64_t now_ms)
{
	struct gw_session *s;

	if (gw->stopped)
		return;
	if (conn == GW_CONN_AGGREGATE) {
		if (gw->shared == GW_SHARED_CLOSED)
			return;
		if (rc == 0)
			shared_up(gw);
		else
			shared_down(gw);
		return;
	}
	s = gw_sess_by_conn(gw, conn);
	if (s == NULL)
		return;
	if (rc != 0) {
		if (s->phase == GW_PHASE_BROKER) {
			gw_note(gw, s, GW_CAUSE_BROKER_REFUSED, now_ms,
			        "CONNACK congestion: broker refused the connection (rc %d)", rc);
			gw_conn_refuse(gw, s, MQTTSN_RC_CONGESTION, now_ms);
			return;
		}
		s->broker_up = false;
		gw_brk_fail_inflight(gw, s);
		return;
	}
	s->broker_up = true;
	gw_sub_broker_up(gw, s);
	if (s->phase == GW_PHASE_BROKER) {
		/* the last step of 6.3: the broker side is up, CONNACK */
		gw_conn_accept(gw, s, now_ms);
		return;
	}
	gw_sched_update(gw, s);
}

static void on_broker_disconnected(struct gw *gw, uint32_t conn, uint64_t now_ms)
{
	struct gw_session *s;

	if (gw->stopped)
		return;
	if (conn == GW_CONN_AGGREGATE) {
		shared_down(gw);
		return;
	}
	s = gw_sess_by_conn(gw, conn);
	if (s == NULL)
		return;
	if (s->phase == GW_PHASE_BROKER) {
		gw_note(gw, s, GW_CAUSE_BROKER_DOWN, now_ms, "CONNACK congestion: broker unreachable");
		gw_conn_refuse(gw, s, MQTTSN_RC_CONGESTION, now_ms);
		return;
	}
	s->broker_up = false;
	gw_brk_fail_inflight(gw, s);
	gw_say(gw, GW_LOG_WARN, "client %s: broker connection down", s->client_id);
}

static void on_broker_acked(struct gw *gw, uint32_t conn, uint32_t token, uint64_t now_ms)
{
	struct gw_session *s;

	(void)now_ms;
	if (gw->stopped)
		return;
	if (conn == GW_CONN_AGGREGATE)
		s = gw_map_get(&gw->up_tokens, token);
	else
		s = gw_sess_by_conn(gw, conn);
	if (s != NULL)
		gw_up_acked(gw, s, token);
}

static void on_broker_subacked(struct gw *gw, uint32_t conn, uint32_t token, int granted_qos,
                                    uint64_t now_ms)
{
	struct gw_session *s;

	(void)now_ms;
	if (gw->stopped)
		return;
	/* anything but 0..2 (MQTT's 0x80 above all) is a refusal */
	if (granted_qos < 0 || granted_qos > 2)
		granted_qos = -1;
	if (conn == GW_CONN_AGGREGATE) {
		if (gw_aggregating(gw))
			gw_filter_subacked(gw, token, granted_qos);
		return;
	}
	s = gw_sess_by_conn(gw, conn);
	if (s != NULL)
		gw_sub_subacked(gw, s, token, granted_qos);
}

static void on_broker_unsubacked(struct gw *gw, uint32_t conn, uint32_t token, uint64_t now_ms)
{
	struct gw_session *s;

	(void)now_ms;
	if (gw->stopped || conn == GW_CONN_AGGREGATE)
		return;
	s = gw_sess_by_conn(gw, conn);
	if (s != NULL)
		gw_sub_unsubacked(gw, s, token);
}

static void on_broker_message(struct gw *gw, uint32_t conn, const char *topic, size_t topic_len,
                              const uint8_t *payload, size_t len, int qos, bool retain,
                              uint64_t now_ms)
{
	if (gw->stopped || topic == NULL || (payload == NULL && len != 0))
		return;
	if (qos < 0)
		qos = 0;
	if (qos > 2)
		qos = 2;
	gw_down_from_broker(gw, conn, topic, topic_len, payload, len, qos, retain, now_ms);
}

void gw_on_broker_connected(struct gw *gw, uint32_t conn, int rc, uint64_t now_ms)
{
	on_broker_connected(gw, conn, rc, now_ms);
	/* what the event changed in persistent sessions */
	gw_persist_flush(gw);
}

void gw_on_broker_disconnected(struct gw *gw, uint32_t conn, uint64_t now_ms)
{
	on_broker_disconnected(gw, conn, now_ms);
	/* what the event changed in persistent sessions */
	gw_persist_flush(gw);
}

void gw_on_broker_acked(struct gw *gw, uint32_t conn, uint32_t token, uint64_t now_ms)
{
	on_broker_acked(gw, conn, token, now_ms);
	/* what the event changed in persistent sessions */
	gw_persist_flush(gw);
}

void gw_on_broker_subacked(struct gw *gw, uint32_t conn, uint32_t token, int granted_qos,
                           uint64_t now_ms)
{
	on_broker_subacked(gw, conn, token, granted_qos, now_ms);
	/* what the event changed in persistent sessions */
	gw_persist_flush(gw);
}

void gw_on_broker_unsubacked(struct gw *gw, uint32_t conn, uint32_t token, uint64_t now_ms)
{
	on_broker_unsubacked(gw, conn, token, now_ms);
	/* what the event changed in persistent sessions */
	gw_persist_flush(gw);
}

void gw_on_broker_message(struct gw *gw, uint32_t conn, const char *topic, size_t topic_len,
                          const uint8_t *payload, size_t len, int qos, bool retain,
                          uint64_t now_ms)
{
	on_broker_message(gw, conn, topic, topic_len, payload, len, qos, retain, now_ms);
	/* what the event changed in persistent sessions */
	gw_persist_flush(gw);
}
