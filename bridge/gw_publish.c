/*
 * gw_publish.c - PUBLISH from clients to the broker (6.6, 6.8).
 *
 * Acknowledge only what is safe: a QoS 1 PUBACK and a QoS 2 PUBREC go to
 * the client only after the broker acknowledged the message. A message id
 * is remembered from the first PUBLISH until the broker's ack (QoS 1) or
 * the client's PUBREL (QoS 2), so a client's retransmission never reaches
 * the broker twice. That holds across a drop of the broker connection too:
 * the daemon's MQTT client finishes what it took after reconnecting, so
 * the entry waits for that ack instead of answering congestion, and only
 * a connection closed for good (gw_up_fail_all) ends it unacknowledged.
 *
 * In custody mode (gw_config.custody) the daemon's store takes the place
 * of the broker: the message is acknowledged once custody_put() has it on
 * disk, and the daemon forwards it when the broker is reachable. The
 * duplicate check of QoS 2 then lives in the store too (custody_held),
 * because it must survive a restart of the bridge: a station that
 * retransmits after the bridge came back must get PUBREC, not a second
 * copy. It comes before the topic check for that reason: the restarted
 * bridge no longer knows the topic id the retransmission carries.
 */
#include <string.h>

#include "bridge/gw_int.h"
#include "codec/topic.h"

/* ---------------------------------------------------------------- the table */

static struct gw_uplink *up_find(struct gw_session *s, uint16_t msg_id)
{
	uint32_t i;

	for (i = 0; i < s->nup; i++)
		if (s->up[i].msg_id == msg_id)
			return &s->up[i];
	return NULL;
}

static void up_remove(struct gw *gw, struct gw_session *s, struct gw_uplink *u)
{
	if (gw_aggregating(gw) && u->state == GW_UP_FORWARDING &&
	    gw_map_get(&gw->up_tokens, u->token) == s)
		gw_map_del(&gw->up_tokens, u->token);
	*u = s->up[--s->nup];
}

void gw_up_fail_all(struct gw *gw, struct gw_session *s, bool tell)
{
	uint32_t i = 0;

	/* a QoS 2 message already PUBRECed is at the broker: it stays until PUBREL */
	while (i < s->nup) {
		struct gw_uplink *u = &s->up[i];

		if (u->state != GW_UP_FORWARDING) {
			i++;
			continue;
		}
		if (tell) {
			GW_STAT_ADD(gw, s, drop_broker_down, 1);
			GW_STAT_ADD(gw, s, drop_congestion, 1);
			gw_tx_puback(gw, s, NULL, u->topic_id, u->msg_id, MQTTSN_RC_CONGESTION);
		}
		up_remove(gw, s, u);
	}
}

/* ---------------------------------------------------------------- topics */

bool gw_up_topic(const struct gw *gw, const struct gw_session *s, uint8_t id_type,
                 uint16_t topic_id, const char **name, size_t *len, char shortbuf[2])
{
	const struct gw_topic *t;
	const struct gw_predef *p;

	switch (id_type) {
	case MQTTSN_TOPIC_NORMAL:
		t = s != NULL ? gw_topic_by_id(s, topic_id) : NULL;
		if (t == NULL)
			return false;
		*name = t->name;
		*len = t->len;
		return true;
	case MQTTSN_TOPIC_PREDEFINED:
		p = gw_predef_by_id(gw, s != NULL ? s->client_id : "", topic_id);
		if (p == NULL)
			return false;
		*name = p->name;
		*len = p->len;
		return true;
	case MQTTSN_TOPIC_SHORT:
		/* 5.3.11: the two characters travel in the topic id field */
		shortbuf[0] = (char)(topic_id >> 8);
		shortbuf[1] = (char)(topic_id & 0xFFu);
		*name = shortbuf;
		*len = 2;
		return mqttsn_topic_name_check(shortbuf, 2) == MQTTSN_OK;
	default:
		return false;
	}
}

/* ---------------------------------------------------------------- QoS -1 */

/* 6.8: no session, no reply; a predefined id or a short name only. */
static void publish_m1(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                       const struct mqttsn_msg *m)
{
	uint8_t type = m->u.publish.flags.topic_id_type;
	const char *name;
	size_t len;
	char sbuf[2];
	uint32_t tok = 0;

	if (!gw->cfg.allow_qos_m1) {
		gw_note(gw, s, GW_CAUSE_QOS_M1, rx->now, "QoS -1 PUBLISH refused by configuration");
		return;
	}
	if (type == MQTTSN_TOPIC_NORMAL ||
	    !gw_up_topic(gw, s, type, m->u.publish.topic_id, &name, &len, sbuf)) {
		gw_note(gw, s, GW_CAUSE_INVALID_TOPIC, rx->now,
		        "QoS -1 PUBLISH on unknown topic id 0x%04x (type %u)",
		        (unsigned)m->u.publish.topic_id, (unsigned)type);
		return;
	}
	gw_shared_ensure(gw, rx->now);
	if (gw->shared != GW_SHARED_UP) {
		gw_note(gw, s, GW_CAUSE_BROKER_DOWN, rx->now, "QoS -1 PUBLISH dropped: broker down");
		return;
	}
	if (gw->ops.broker_publish == NULL ||
	    gw->ops.broker_publish(gw->ctx, GW_CONN_AGGREGATE, name, len, m->u.publish.data.ptr,
	                           m->u.publish.data.len, 0, m->u.publish.flags.retain,
	                           &tok) < 0) {
		gw_note(gw, s, GW_CAUSE_BROKER_REFUSED, rx->now, "QoS -1 PUBLISH refused by broker");
		return;
	}
	GW_STAT_ADD(gw, s, pub_up, 1);
	GW_STAT_ADD(gw, s, broker_bytes_out, m->u.publish.data.len);
}

/* ---------------------------------------------------------------- custody */

/*
 * A QoS 2 PUBLISH with DUP whose msg id is held: the station did not get
 * our PUBREC. Without DUP a held id is a new message (the station lost
 * its state and started its ids again): storing it again loses nothing,
 * answering PUBREC alone would.
 */
static bool custody_repeat(struct gw *gw, struct gw_session *s, const struct mqttsn_msg *m)
{
	if (m->u.publish.flags.qos != 2 || !m->u.publish.flags.dup ||
	    gw->ops.custody_held == NULL)
		return false;
	if (!gw->ops.custody_held(gw->ctx, s->client_id, m->u.publish.msg_id))
		return false;
	gw_tx_msg_id(gw, s, MQTTSN_PUBREC, m->u.publish.msg_id);
	return true;
}

static void custody_publish(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                            const struct mqttsn_msg *m, const char *name, size_t len)
{
	int qos = m->u.publish.flags.qos;
	uint16_t id = m->u.publish.topic_id, msg_id = m->u.publish.msg_id;
	int r = gw->ops.custody_put == NULL
	            ? GW_CUSTODY_IO
	            : gw->ops.custody_put(gw->ctx, s->client_id, name, len, m->u.publish.data.ptr,
	                                  m->u.publish.data.len, qos, m->u.publish.flags.retain,
	                                  msg_id);

	if (r != 0) {
		if (r == GW_CUSTODY_FULL)
			gw_note(gw, s, GW_CAUSE_STORE_FULL, rx->now, "PUBACK congestion: store full");
		else
			gw_note(gw, s, GW_CAUSE_STORE_IO, rx->now,
			        "PUBACK congestion: store could not write");
		gw_tx_puback(gw, s, NULL, id, msg_id, MQTTSN_RC_CONGESTION);
		return;
	}
	GW_STAT_ADD(gw, s, custody_in, 1);
	if (qos == 1)
		gw_tx_puback(gw, s, NULL, id, msg_id, MQTTSN_RC_ACCEPTED);
	else
		gw_tx_msg_id(gw, s, MQTTSN_PUBREC, msg_id);
}

/* ---------------------------------------------------------------- QoS 0, 1, 2 */

void gw_up_on_publish(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                      const struct mqttsn_msg *m)
{
	int qos = m->u.publish.flags.qos;
	uint16_t id = m->u.publish.topic_id, msg_id = m->u.publish.msg_id;
	struct gw_uplink *u;
	const char *name;
	size_t len;
	char sbuf[2];
	uint32_t tok = 0;
	int64_t conn;

	if (qos < 0) {
		publish_m1(gw, s, rx, m);
		return;
	}
	if (gw->cfg.custody && qos > 0 && custody_repeat(gw, s, m))
		return;
	if (!gw_up_topic(gw, s, m->u.publish.flags.topic_id_type, id, &name, &len, sbuf)) {
		/* 6.6: the client learns to REGISTER again */
		gw_note(gw, s, GW_CAUSE_INVALID_TOPIC, rx->now, "PUBLISH on unknown topic id 0x%04x",
		        (unsigned)id);
		gw_tx_puback(gw, s, NULL, id, msg_id, MQTTSN_RC_INVALID_TOPIC_ID);
		return;
	}
	if (gw->cfg.custody && qos > 0) {
		custody_publish(gw, s, rx, m, name, len);
		return;
	}
	if (qos > 0 && (u = up_find(s, msg_id)) != NULL) {
		/* a retransmission: the broker has (or is getting) it already,
		 * also while the connection is down (the daemon resends it after
		 * reconnecting); QoS 2 already acked: the PUBREC was lost */
		if (u->state == GW_UP_RECEIVED)
			gw_tx_msg_id(gw, s, MQTTSN_PUBREC, msg_id);
		return;
	}
	conn = gw_session_conn_up(gw, s);
	if (conn < 0) {
		gw_note(gw, s, GW_CAUSE_BROKER_DOWN, rx->now, "PUBACK congestion: broker down");
		gw_tx_puback(gw, s, NULL, id, msg_id, MQTTSN_RC_CONGESTION);
		return;
	}
	if (qos > 0 && s->nup >= gw->cfg.max_inflight) {
		gw_note(gw, s, GW_CAUSE_INFLIGHT, rx->now, "PUBACK congestion: %u publishes in flight",
		        (unsigned)s->nup);
		gw_tx_puback(gw, s, NULL, id, msg_id, MQTTSN_RC_CONGESTION);
		return;
	}
	if (gw->ops.broker_publish == NULL ||
	    gw->ops.broker_publish(gw->ctx, (uint32_t)conn, name, len, m->u.publish.data.ptr,
	                           m->u.publish.data.len, qos, m->u.publish.flags.retain,
	                           &tok) < 0) {
		gw_note(gw, s, GW_CAUSE_BROKER_REFUSED, rx->now, "PUBACK congestion: publish refused");
		gw_tx_puback(gw, s, NULL, id, msg_id, MQTTSN_RC_CONGESTION);
		return;
	}
	GW_STAT_ADD(gw, s, pub_up, 1);
	GW_STAT_ADD(gw, s, broker_bytes_out, m->u.publish.data.len);
	if (qos == 0)
		return;
	if (gw_aggregating(gw) && gw_map_put(&gw->up_tokens, tok, s) != 0) {
		/* the ack could not be routed back: better a retry than a lie */
		gw_say(gw, GW_LOG_ERR, "out of memory for a publish token");
		return;
	}
	u = &s->up[s->nup++];
	memset(u, 0, sizeof *u);
	u->msg_id = msg_id;
	u->topic_id = id;
	u->qos = (uint8_t)qos;
	u->state = GW_UP_FORWARDING;
	u->token = tok;
}

void gw_up_acked(struct gw *gw, struct gw_session *s, uint32_t token)
{
	uint32_t i;

	for (i = 0; i < s->nup; i++) {
		struct gw_uplink *u = &s->up[i];

		if (u->state != GW_UP_FORWARDING || u->token != token)
			continue;
		if (u->qos == 1) {
			gw_tx_puback(gw, s, NULL, u->topic_id, u->msg_id, MQTTSN_RC_ACCEPTED);
			up_remove(gw, s, u);
			return;
		}
		/* QoS 2: the broker has it once; PUBREC, then wait for PUBREL */
		if (gw_aggregating(gw))
			gw_map_del(&gw->up_tokens, token);
		u->state = GW_UP_RECEIVED;
		gw_tx_msg_id(gw, s, MQTTSN_PUBREC, u->msg_id);
		return;
	}
}

void gw_up_on_pubrel(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                     const struct mqttsn_msg *m)
{
	struct gw_uplink *u = up_find(s, m->u.msg_id);

	if (gw->cfg.custody && u == NULL) {
		/* no PUBCOMP before the release is on disk: a stale hold would
		 * answer a later new message with this id PUBREC and store nothing */
		if (gw->ops.custody_release != NULL &&
		    gw->ops.custody_release(gw->ctx, s->client_id, m->u.msg_id) < 0) {
			gw_note(gw, s, GW_CAUSE_STORE_IO, rx->now, "PUBREL %u: store could not write",
			        (unsigned)m->u.msg_id);
			return;
		}
		gw_tx_msg_id(gw, s, MQTTSN_PUBCOMP, m->u.msg_id);
		return;
	}
	if (u != NULL && u->state == GW_UP_FORWARDING) {
		/* PUBREL before our PUBREC: the broker may not have it yet */
		gw_note(gw, s, GW_CAUSE_PROTOCOL, rx->now, "PUBREL %u before PUBREC",
		        (unsigned)m->u.msg_id);
		return;
	}
	if (u != NULL)
		up_remove(gw, s, u);
	/* also for an unknown id: our earlier PUBCOMP was lost */
	gw_tx_msg_id(gw, s, MQTTSN_PUBCOMP, m->u.msg_id);
}
