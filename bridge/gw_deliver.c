/*
 * gw_deliver.c - messages from the broker to clients (6.5, 6.6, 6.14).
 *
 * One FIFO queue per session. Its head is the only message in flight: a
 * REGISTER for its topic if the client does not know the topic id yet, then
 * the PUBLISH, then for QoS 2 the PUBREL. QoS 0 messages leave at once
 * unless something is ahead of them, so order is kept. While a client
 * sleeps the queue is its buffer (6.14).
 *
 * With custody of a persistent session (gw.h), the queue in memory is the
 * head of the one on disk: every QoS 1/2 message is stored before it is
 * queued, removed from the store once the station acknowledged it, and
 * what does not fit in memory is read back in order as the queue empties.
 */
#include <stdlib.h>
#include <string.h>

#include "bridge/gw_int.h"

/* ---------------------------------------------------------------- blobs */

struct gw_blob *gw_blob_new(const char *topic, size_t topic_len, const uint8_t *payload,
                            size_t len)
{
	struct gw_blob *b;

	if (topic_len > MQTTSN_MSG_MAX || len > MQTTSN_MSG_MAX)
		return NULL;
	b = malloc(sizeof *b + topic_len + len);
	if (b == NULL)
		return NULL;
	b->refs = 1;
	b->topic_len = topic_len;
	b->len = len;
	memcpy(b->data, topic, topic_len);
	if (len != 0)
		memcpy(b->data + topic_len, payload, len);
	return b;
}

void gw_blob_unref(struct gw_blob *b)
{
	if (b != NULL && --b->refs == 0)
		free(b);
}

static const char *blob_topic(const struct gw_blob *b)
{
	return (const char *)b->data;
}

/* ---------------------------------------------------------------- the queue */

/* Remove the head; done: it is finished (delivered, refused, expired), out of the store too. */
static void pop(struct gw *gw, struct gw_session *s, bool done)
{
	struct gw_qmsg *m = s->qhead;

	if (m == NULL)
		return;
	if (m->seq != 0 && done && !gw->freeing) {
		gw->ops.down_done(gw->ctx, s->client_id, m->seq);
		if (m->seq == s->head_seq) {
			s->head_seq = 0;
			s->head_msg_id = 0;
			s->head_stage = GW_STAGE_NEW;
			gw_persist_mark(gw, s);
		}
	}
	s->qhead = m->next;
	if (s->qhead == NULL)
		s->qtail = NULL;
	s->qlen--;
	gw_blob_unref(m->blob);
	free(m);
}

void gw_down_clear(struct gw *gw, struct gw_session *s)
{
	if (s->qlen != 0)
		GW_STAT_ADD(gw, s, drop_discarded, s->qlen);
	/* what the store holds goes with the session (session_drop), or stays
	 * for the next run when the core itself is being freed */
	while (s->qhead != NULL)
		pop(gw, s, false);
	s->out.kind = GW_OUT_NONE;
}

void gw_down_pause(struct gw *gw, struct gw_session *s)
{
	(void)gw;
	/* the head keeps its stage and msg id: it resumes where it stopped */
	s->out.kind = GW_OUT_NONE;
}

static bool is_asleep(const struct gw_session *s)
{
	return s->state == GW_STATE_ASLEEP || s->state == GW_STATE_AWAKE;
}

/* How many messages the queue holds in memory in the session's state. */
static uint32_t mem_limit(const struct gw *gw, const struct gw_session *s)
{
	return is_asleep(s) ? gw->cfg.max_sleep_buffer : gw->cfg.max_pending;
}

/* Add to the tail; the queue takes one reference of b. false: out of memory. */
static bool append(struct gw *gw, struct gw_session *s, struct gw_blob *b, int qos, bool retain,
                   uint64_t seq, uint64_t expires)
{
	struct gw_qmsg *m = calloc(1, sizeof *m);

	if (m == NULL) {
		gw_say(gw, GW_LOG_ERR, "out of memory queueing for %s", s->client_id);
		return false;
	}
	m->blob = b;
	m->qos = (int8_t)qos;
	m->retain = retain;
	m->seq = seq;
	m->expires = expires;
	if (s->qtail != NULL)
		s->qtail->next = m;
	else
		s->qhead = m;
	s->qtail = m;
	s->qlen++;
	return true;
}

static uint64_t expiry(const struct gw *gw, uint64_t now)
{
	return gw->cfg.down_ttl_s != 0 ? now + (uint64_t)gw->cfg.down_ttl_s * 1000u : 0;
}

/* Read what waits on disk behind the queue back into it, as far as memory allows. */
static void refill(struct gw *gw, struct gw_session *s, uint64_t now)
{
	uint32_t limit = mem_limit(gw, s);

	if (limit == 0)
		limit = 1;
	while (s->spilled && s->qlen < limit) {
		struct gw_down_msg m;
		struct gw_blob *b;
		int r;

		memset(&m, 0, sizeof m);
		r = gw->ops.down_next(gw->ctx, s->client_id, s->down_loaded, &m);
		if (r == 0) {
			s->spilled = false;
			break;
		}
		if (r < 0 || m.seq <= s->down_loaded || m.qos < 0 || m.qos > 2) {
			gw_note(gw, s, GW_CAUSE_DOWN_STORE, now,
			        "stored messages cannot be read back; again later");
			break;
		}
		b = gw_blob_new(m.topic, m.topic_len, m.payload, m.len);
		if (b == NULL || !append(gw, s, b, m.qos, m.retain, m.seq,
		                         m.ttl_left_ms != 0 ? now + m.ttl_left_ms : 0)) {
			gw_blob_unref(b);
			gw_say(gw, GW_LOG_ERR, "out of memory reading stored messages for %s",
			       s->client_id);
			break;
		}
		s->down_loaded = m.seq;
		if (m.seq == s->head_seq) {
			/* the QoS 2 message in flight when the bridge stopped: same
			 * msg id, and from the stage it had reached (6.6) */
			s->qtail->msg_id = s->head_msg_id;
			s->qtail->stage = s->head_stage;
		}
	}
}

void gw_down_enqueue(struct gw *gw, struct gw_session *s, struct gw_blob *b, int qos,
                     bool retain, uint64_t now)
{
	bool sleeping = is_asleep(s);
	uint32_t limit = mem_limit(gw, s);

	if ((s->state == GW_STATE_DISCONNECTED || s->state == GW_STATE_LOST) &&
	    s->phase == GW_PHASE_NONE && qos == 0) {
		/* MQTT keeps only QoS 1/2 for an offline persistent session */
		GW_STAT_ADD(gw, s, drop_discarded, 1);
		return;
	}
	/* PUBLISH: length header, type, flags, topic id, msg id, data */
	if (b->len + 7 + (b->len + 7 > MQTTSN_SHORT_HDR_MAX ? 2 : 0) > gw->cfg.max_msg_size) {
		gw_note(gw, s, GW_CAUSE_TOO_BIG, now, "%zu-octet message over max_msg_size %u",
		        b->len, (unsigned)gw->cfg.max_msg_size);
		return;
	}
	if (gw_down_custody(gw, s) && (qos > 0 || s->spilled)) {
		uint64_t seq = 0;
		int r = gw->ops.down_put(gw->ctx, s->client_id, blob_topic(b), b->topic_len,
		                         b->data + b->topic_len, b->len, qos, retain,
		                         gw->cfg.down_ttl_s, &seq);

		if (r != 0 || seq == 0) {
			gw_note(gw, s, GW_CAUSE_DOWN_STORE, now,
			        "the store refused a message for the station (%s): dropped",
			        r == GW_CUSTODY_FULL ? "its limit or the store's is reached"
			                             : "write failed");
			return;
		}
		GW_STAT_ADD(gw, s, down_stored, 1);
		if (s->spilled || s->qlen >= (limit ? limit : 1)) {
			/* waits on disk, behind the others, until the queue has room */
			s->spilled = true;
			return;
		}
		b->refs++;
		if (!append(gw, s, b, qos, retain, seq, expiry(gw, now))) {
			b->refs--;
			s->spilled = true; /* it is on disk: read back later */
			return;
		}
		s->down_loaded = seq;
		gw_down_pump(gw, s, now);
		return;
	}
	if (s->qlen >= limit) {
		gw_note(gw, s, sleeping ? GW_CAUSE_SLEEP_BUFFER : GW_CAUSE_PENDING, now,
		        "%s full (%u messages): message dropped",
		        sleeping ? "sleep buffer" : "pending queue", (unsigned)limit);
		return;
	}
	b->refs++;
	if (!append(gw, s, b, qos, retain, 0, 0)) {
		b->refs--;
		return;
	}
	gw_down_pump(gw, s, now);
}

/* ---------------------------------------------------------------- sending */

static bool can_send(const struct gw_session *s)
{
	return s->bound && s->phase == GW_PHASE_NONE &&
	       (s->state == GW_STATE_ACTIVE || s->state == GW_STATE_AWAKE);
}

/* How the head's topic travels: predefined id, known topic id, or short name. */
static bool resolve(const struct gw *gw, const struct gw_session *s, const struct gw_blob *b,
                    uint8_t *type, uint16_t *id)
{
	const struct gw_predef *p = gw_predef_by_name(gw, s->client_id, blob_topic(b),
	                                              b->topic_len);
	const struct gw_topic *t;

	if (p != NULL) {
		*type = MQTTSN_TOPIC_PREDEFINED;
		*id = p->id;
		return true;
	}
	t = gw_topic_by_name(s, blob_topic(b), b->topic_len);
	if (t != NULL && t->client_knows) {
		*type = MQTTSN_TOPIC_NORMAL;
		*id = t->id;
		return true;
	}
	if (b->topic_len == 2) {
		*type = MQTTSN_TOPIC_SHORT;
		*id = (uint16_t)((unsigned)(uint8_t)blob_topic(b)[0] << 8 |
		                 (uint8_t)blob_topic(b)[1]);
		return true;
	}
	return false;
}

static int send_publish(struct gw *gw, struct gw_session *s, const struct gw_qmsg *q,
                        uint8_t type, uint16_t id, bool dup)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_PUBLISH;
	m.u.publish.flags.dup = dup;
	m.u.publish.flags.qos = q->qos;
	m.u.publish.flags.retain = q->retain;
	m.u.publish.flags.topic_id_type = type;
	m.u.publish.topic_id = id;
	m.u.publish.msg_id = q->qos > 0 ? q->msg_id : 0;
	m.u.publish.data.ptr = q->blob->len ? q->blob->data + q->blob->topic_len : NULL;
	m.u.publish.data.len = q->blob->len;
	return gw_tx(gw, s, &m);
}

static void send_register(struct gw *gw, struct gw_session *s, const struct gw_topic *t,
                          uint16_t msg_id)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_REGISTER;
	m.u.reg.topic_id = t->id;
	m.u.reg.msg_id = msg_id;
	m.u.reg.topic_name.ptr = (const uint8_t *)t->name;
	m.u.reg.topic_name.len = t->len;
	(void)gw_tx(gw, s, &m);
}

void gw_down_transmit(struct gw *gw, struct gw_session *s, bool retry)
{
	struct gw_qmsg *q = s->qhead;
	struct gw_topic *t;
	uint8_t type;
	uint16_t id;

	switch (s->out.kind) {
	case GW_OUT_REGISTER:
		t = gw_topic_by_id(s, s->out.topic_id);
		if (t != NULL)
			send_register(gw, s, t, s->out.msg_id);
		break;
	case GW_OUT_PUBLISH:
		if (q != NULL && resolve(gw, s, q->blob, &type, &id))
			(void)send_publish(gw, s, q, type, id, true);
		break;
	case GW_OUT_PUBREL:
		gw_tx_msg_id(gw, s, MQTTSN_PUBREL, s->out.msg_id);
		break;
	default:
		return;
	}
	if (retry)
		GW_STAT_ADD(gw, s, retries, 1);
}

/* Start the request for the head; false when the head was dropped instead. */
static bool start_head(struct gw *gw, struct gw_session *s, uint64_t now)
{
	struct gw_qmsg *q = s->qhead;
	struct gw_topic *t;
	uint8_t type;
	uint16_t id;

	if (q->stage == GW_STAGE_NEW && q->expires != 0 && now >= q->expires) {
		gw_note(gw, s, GW_CAUSE_EXPIRED, now, "a message waited longer than down_ttl_s %u s: "
		        "dropped", (unsigned)gw->cfg.down_ttl_s);
		pop(gw, s, true);
		return false;
	}
	if (q->stage == GW_STAGE_RELEASED) {
		s->out.kind = GW_OUT_PUBREL;
		s->out.msg_id = q->msg_id;
		gw_rtt_sent(gw, s, now);
		gw_tx_msg_id(gw, s, MQTTSN_PUBREL, q->msg_id);
		return true;
	}
	if (!resolve(gw, s, q->blob, &type, &id)) {
		/* 6.5: REGISTER the topic before the first PUBLISH on it */
		if (6 + q->blob->topic_len > gw->cfg.max_msg_size) {
			gw_note(gw, s, GW_CAUSE_TOO_BIG, now, "topic of %zu octets too long to REGISTER",
			        q->blob->topic_len);
			pop(gw, s, true);
			return false;
		}
		t = gw_topic_by_name(s, blob_topic(q->blob), q->blob->topic_len);
		if (t == NULL)
			t = gw_topic_add(gw, s, blob_topic(q->blob), q->blob->topic_len);
		if (t == NULL) {
			gw_note(gw, s, GW_CAUSE_TOPICS, now,
			        "max_topics %u reached: message dropped", (unsigned)gw->cfg.max_topics);
			pop(gw, s, true);
			return false;
		}
		s->out.kind = GW_OUT_REGISTER;
		s->out.msg_id = gw_sess_next_msg_id(s);
		s->out.topic_id = t->id;
		gw_rtt_sent(gw, s, now);
		send_register(gw, s, t, s->out.msg_id);
		return true;
	}
	if (q->qos > 0 && q->msg_id == 0)
		q->msg_id = gw_sess_next_msg_id(s);
	if (q->seq != 0 && q->qos == 2 && s->head_seq != q->seq) {
		/* saved before the PUBLISH leaves (gw_tx): after a restart it goes
		 * again with this msg id and DUP, so the station knows it */
		s->head_seq = q->seq;
		s->head_msg_id = q->msg_id;
		s->head_stage = GW_STAGE_SENT;
		gw_persist_mark(gw, s);
	}
	if (send_publish(gw, s, q, type, id, q->stage == GW_STAGE_SENT) < 0) {
		pop(gw, s, true);
		return false;
	}
	if (q->stage == GW_STAGE_NEW)
		GW_STAT_ADD(gw, s, pub_down, 1);
	if (q->qos == 0) {
		pop(gw, s, true);
		return false;
	}
	q->stage = GW_STAGE_SENT;
	s->out.kind = GW_OUT_PUBLISH;
	s->out.msg_id = q->msg_id;
	gw_rtt_sent(gw, s, now);
	return true;
}

void gw_down_pump(struct gw *gw, struct gw_session *s, uint64_t now)
{
	while (can_send(s) && s->out.kind == GW_OUT_NONE) {
		if (s->spilled && s->qhead == NULL)
			refill(gw, s, now);
		if (s->qhead == NULL) {
			if (s->state == GW_STATE_AWAKE)
				gw_sleep_back(gw, s, now);
			break;
		}
		if (start_head(gw, s, now))
			break;
	}
	gw_sched_update(gw, s);
}

/* ---------------------------------------------------------------- answers */

/* The request in flight was answered: sample the RTT and free the slot. */
static bool answered(struct gw *gw, struct gw_session *s, uint8_t kind, uint16_t msg_id,
                     uint64_t now)
{
	if (s->out.kind != kind || s->out.msg_id != msg_id)
		return false;
	gw_rtt_acked(gw, s, now);
	s->out.kind = GW_OUT_NONE;
	return true;
}

void gw_down_on_regack(struct gw *gw, struct gw_session *s, const struct mqttsn_msg *m,
                       uint64_t now)
{
	uint16_t topic_id = s->out.topic_id;
	struct gw_topic *t;

	if (!answered(gw, s, GW_OUT_REGISTER, m->u.regack.msg_id, now))
		return;
	t = gw_topic_by_id(s, topic_id);
	if (m->u.regack.rc == MQTTSN_RC_ACCEPTED && t != NULL) {
		t->client_knows = true;
		gw_persist_mark(gw, s);
	} else {
		gw_note(gw, s, GW_CAUSE_CLIENT_REFUSED, now, "REGACK rc %u for topic id %u",
		        (unsigned)m->u.regack.rc, (unsigned)topic_id);
		pop(gw, s, true);
	}
	gw_down_pump(gw, s, now);
}

void gw_down_on_puback(struct gw *gw, struct gw_session *s, const struct mqttsn_msg *m,
                       uint64_t now)
{
	struct gw_qmsg *q = s->qhead;
	struct gw_topic *t;

	if (!answered(gw, s, GW_OUT_PUBLISH, m->u.puback.msg_id, now)) {
		/* a QoS 0 PUBLISH refused: the client forgot the topic id */
		if (m->u.puback.rc == MQTTSN_RC_INVALID_TOPIC_ID &&
		    (t = gw_topic_by_id(s, m->u.puback.topic_id)) != NULL)
			t->client_knows = false;
		gw_persist_mark(gw, s);
		return;
	}
	if (m->u.puback.rc == MQTTSN_RC_ACCEPTED) {
		pop(gw, s, true);
	} else if (m->u.puback.rc == MQTTSN_RC_INVALID_TOPIC_ID && q != NULL && !q->reregistered) {
		/* 6.6: REGISTER the topic again and publish once more */
		t = gw_topic_by_name(s, blob_topic(q->blob), q->blob->topic_len);
		if (t != NULL)
			t->client_knows = false;
		gw_persist_mark(gw, s);
		q->reregistered = true;
		q->stage = GW_STAGE_NEW;
	} else {
		gw_note(gw, s, GW_CAUSE_CLIENT_REFUSED, now, "PUBACK rc %u for msg id %u",
		        (unsigned)m->u.puback.rc, (unsigned)m->u.puback.msg_id);
		pop(gw, s, true);
	}
	gw_down_pump(gw, s, now);
}

void gw_down_on_pubrec(struct gw *gw, struct gw_session *s, const struct mqttsn_msg *m,
                       uint64_t now)
{
	if (s->out.kind == GW_OUT_PUBREL && s->out.msg_id == m->u.msg_id) {
		/* our PUBREL crossed a repeated PUBREC: answer it, keep the timer */
		gw_tx_msg_id(gw, s, MQTTSN_PUBREL, m->u.msg_id);
		return;
	}
	if (s->qhead == NULL || s->qhead->qos != 2 ||
	    !answered(gw, s, GW_OUT_PUBLISH, m->u.msg_id, now))
		return;
	s->qhead->stage = GW_STAGE_RELEASED;
	if (s->qhead->seq != 0 && s->qhead->seq == s->head_seq) {
		/* on disk before the PUBREL: a restart then sends PUBREL, never
		 * the PUBLISH the station has already let go of */
		s->head_stage = GW_STAGE_RELEASED;
		gw_persist_mark(gw, s);
	}
	s->out.kind = GW_OUT_PUBREL;
	s->out.msg_id = m->u.msg_id;
	gw_rtt_sent(gw, s, now);
	gw_tx_msg_id(gw, s, MQTTSN_PUBREL, m->u.msg_id);
	gw_sched_update(gw, s);
}

void gw_down_on_pubcomp(struct gw *gw, struct gw_session *s, const struct mqttsn_msg *m,
                        uint64_t now)
{
	if (!answered(gw, s, GW_OUT_PUBREL, m->u.msg_id, now))
		return;
	pop(gw, s, true);
	gw_down_pump(gw, s, now);
}

/* ---------------------------------------------------------------- from the broker */

void gw_down_from_broker(struct gw *gw, uint32_t conn, const char *topic, size_t topic_len,
                         const uint8_t *payload, size_t len, int qos, bool retain,
                         uint64_t now)
{
	struct gw_session *s;
	struct gw_blob *b;
	int q;

	if (conn == GW_CONN_AGGREGATE) {
		gw->total.broker_msgs++;
		gw->total.broker_bytes_in += len;
		/* transparent mode's shared connection publishes, it does not subscribe */
		if (gw_aggregating(gw))
			gw_filter_fanout(gw, topic, topic_len, payload, len, qos, retain, now);
		return;
	}
	s = gw_sess_by_conn(gw, conn);
	if (s == NULL)
		return;
	GW_STAT_ADD(gw, s, broker_msgs, 1);
	GW_STAT_ADD(gw, s, broker_bytes_in, len);
	/* the client's own connection carries only what its MQTT session is
	 * subscribed to, including subscriptions made before this core started
	 * (a bridge restart): the core's table decides nothing here but QoS and
	 * filters the client has just unsubscribed from */
	q = gw_sub_deliver_qos(s, topic, topic_len, qos);
	if (q < 0) {
		gw_note(gw, s, GW_CAUSE_NO_SUBSCRIPTION, now,
		        "message on %.*s after the client unsubscribed from it",
		        (int)(topic_len > 64 ? 64 : topic_len), topic);
		return;
	}
	b = gw_blob_new(topic, topic_len, payload, len);
	if (b == NULL) {
		gw_say(gw, GW_LOG_ERR, "out of memory for a message to %s", s->client_id);
		return;
	}
	/* REGISTER first when the client has no id for the topic (6.5), and
	 * buffered while it sleeps (6.14), as for any other message */
	gw_down_enqueue(gw, s, b, q, retain, now);
	gw_blob_unref(b);
}
