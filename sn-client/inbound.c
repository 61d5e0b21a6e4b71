/*
 * inbound.c - what the gateway starts: REGISTER (6.5, before it publishes
 * on a topic a wildcard matched), PUBLISH at QoS 0, 1, 2 (6.6) and the
 * PUBREL of QoS 2.
 *
 * QoS 2 is delivered once: a PUBLISH is given to the application when it
 * first arrives and its message id remembered until PUBREL, so that a
 * repeat (the gateway missed our PUBREC) is answered but not delivered again.
 */
#include <string.h>

#include "sn-client/client_impl.h"

static void send_ack(struct snc *c, enum mqttsn_type type, uint16_t topic_id, uint16_t msg_id,
                     uint8_t rc, uint64_t now)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = type;
	if (type == MQTTSN_REGACK) {
		m.u.regack.topic_id = topic_id;
		m.u.regack.msg_id = msg_id;
		m.u.regack.rc = rc;
	} else if (type == MQTTSN_PUBACK) {
		m.u.puback.topic_id = topic_id;
		m.u.puback.msg_id = msg_id;
		m.u.puback.rc = rc;
	} else {
		m.u.msg_id = msg_id;
	}
	(void)snc_core_send(c, &m, false, now);
}

/* ---------------------------------------------------------------- QoS 2 ids */

static bool qos2_seen(const struct snc *c, uint16_t id)
{
	for (size_t i = 0; i < c->nqos2; i++)
		if (c->qos2_ids[i] == id)
			return true;
	return false;
}

static void qos2_remember(struct snc *c, uint16_t id)
{
	/* Full: the oldest goes; its PUBREL is long overdue. */
	if (c->nqos2 == SNC_QOS2_MEMORY) {
		memmove(c->qos2_ids, c->qos2_ids + 1, (SNC_QOS2_MEMORY - 1) * sizeof c->qos2_ids[0]);
		c->nqos2--;
	}
	c->qos2_ids[c->nqos2++] = id;
}

static void qos2_forget(struct snc *c, uint16_t id)
{
	for (size_t i = 0; i < c->nqos2; i++) {
		if (c->qos2_ids[i] == id) {
			memmove(c->qos2_ids + i, c->qos2_ids + i + 1,
			        (c->nqos2 - i - 1) * sizeof c->qos2_ids[0]);
			c->nqos2--;
			return;
		}
	}
}

/* ---------------------------------------------------------------- messages */

static void on_register(struct snc *c, const struct mqttsn_msg *m, uint64_t now)
{
	const struct mqttsn_bytes *n = &m->u.reg.topic_name;
	uint8_t rc = MQTTSN_RC_ACCEPTED;

	if (m->u.reg.topic_id == 0x0000u || m->u.reg.topic_id == 0xFFFFu || n->len == 0)
		rc = MQTTSN_RC_NOT_SUPPORTED;
	else if (snc_tmap_put(c, m->u.reg.topic_id, false, (const char *)n->ptr, n->len) != SNC_OK)
		rc = MQTTSN_RC_CONGESTION;
	send_ack(c, MQTTSN_REGACK, m->u.reg.topic_id, m->u.reg.msg_id, rc, now);
}

static void on_publish(struct snc *c, const struct mqttsn_msg *m, uint64_t now)
{
	const struct mqttsn_flags *f = &m->u.publish.flags;
	uint16_t id = m->u.publish.topic_id, msg_id = m->u.publish.msg_id;
	const struct topic_map *t = NULL;
	char short_name[2];
	struct snc_event ev;

	memset(&ev, 0, sizeof ev);
	ev.type = SNC_EV_MESSAGE;
	ev.topic_id = id;
	switch (f->topic_id_type) {
	case MQTTSN_TOPIC_NORMAL:
		t = snc_tmap_name(c, id, false);
		if (t == NULL) {
			/* 6.6: an id we do not know is refused, so the gateway can
			 * register it (QoS 0 has no answer: it is only counted). */
			c->st.unexpected_in++;
			if (f->qos > 0)
				send_ack(c, MQTTSN_PUBACK, id, msg_id, MQTTSN_RC_INVALID_TOPIC_ID, now);
			return;
		}
		ev.topic.kind = SNC_TOPIC_NAME;
		break;
	case MQTTSN_TOPIC_PREDEFINED:
		t = snc_tmap_name(c, id, true);
		ev.topic.kind = SNC_TOPIC_PREDEFINED;
		ev.topic.id = id;
		break;
	default:
		short_name[0] = (char)(id >> 8);
		short_name[1] = (char)(id & 0xFFu);
		ev.topic.kind = SNC_TOPIC_SHORT;
		ev.topic.name = short_name;
		ev.topic.len = 2;
		break;
	}
	if (t != NULL) {
		ev.topic.name = t->name;
		ev.topic.len = t->len;
	}
	if (f->qos == 2 && qos2_seen(c, msg_id)) {
		c->st.duplicates_in++;
		send_ack(c, MQTTSN_PUBREC, 0, msg_id, 0, now);
		return;
	}
	ev.qos = f->qos;
	ev.retain = f->retain;
	ev.dup = f->dup;
	ev.payload = m->u.publish.data.ptr;
	ev.len = m->u.publish.data.len;
	c->st.messages++;
	/* Given to the application before it is acknowledged: at least once. */
	snc_core_emit(c, &ev);
	if (f->qos == 1) {
		send_ack(c, MQTTSN_PUBACK, id, msg_id, MQTTSN_RC_ACCEPTED, now);
	} else if (f->qos == 2) {
		qos2_remember(c, msg_id);
		send_ack(c, MQTTSN_PUBREC, 0, msg_id, 0, now);
	}
}

bool snc_inbound_input(struct snc *c, const struct mqttsn_msg *m, uint64_t now)
{
	switch (m->type) {
	case MQTTSN_REGISTER:
		on_register(c, m, now);
		return true;
	case MQTTSN_PUBLISH:
		on_publish(c, m, now);
		return true;
	case MQTTSN_PUBREL:
		/* Answered even when already forgotten: our PUBCOMP may have been lost. */
		qos2_forget(c, m->u.msg_id);
		send_ack(c, MQTTSN_PUBCOMP, 0, m->u.msg_id, 0, now);
		return true;
	default:
		return false;
	}
}
