/*
 * gw_send.c - encoding and sending to clients, with the forwarder's
 * encapsulation (5.5) applied to every message for a client behind one.
 */
#include <string.h>

#include "bridge/gw_int.h"

int gw_tx_ep(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep,
             const struct mqttsn_msg *msg)
{
	struct mqttsn_msg enc;
	const uint8_t *out;
	int n, m;

	/* what the message may promise (a CONNACK, SUBACK, PUBREL...) is on
	 * disk first */
	if (s != NULL && s->dirty)
		gw_persist_save(gw, s);
	n = mqttsn_encode(gw->tx, MQTTSN_MSG_MAX, msg);
	if (n < 0) {
		gw_say(gw, GW_LOG_ERR, "cannot encode %s: %s", mqttsn_type_name((int)msg->type),
		       mqttsn_strerror(n));
		return n;
	}
	out = gw->tx;
	if (ep->encap) {
		/* 5.5: the reply goes back through the forwarder, to the same node */
		memset(&enc, 0, sizeof enc);
		enc.type = MQTTSN_ENCAPSULATED;
		enc.u.encap.ctrl = ep->ctrl;
		enc.u.encap.node_id.ptr = ep->node_len ? ep->node : NULL;
		enc.u.encap.node_id.len = ep->node_len;
		enc.u.encap.inner.ptr = gw->tx;
		enc.u.encap.inner.len = (size_t)n;
		m = mqttsn_encode(gw->tx2, MQTTSN_MSG_MAX, &enc);
		if (m < 0) {
			gw_say(gw, GW_LOG_ERR, "cannot encapsulate %s: %s",
			       mqttsn_type_name((int)msg->type), mqttsn_strerror(m));
			return m;
		}
		out = gw->tx2;
		n = m;
	}
	gw_stat_tx(gw, s, (size_t)n);
	if (gw->ops.send != NULL)
		gw->ops.send(gw->ctx, &ep->addr, out, (size_t)n);
	return n;
}

int gw_tx(struct gw *gw, struct gw_session *s, const struct mqttsn_msg *msg)
{
	if (!s->bound)
		return -1;
	return gw_tx_ep(gw, s, &s->ep, msg);
}

/* To ep when given (the sender), else to the session's endpoint if it has one. */
static void reply(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep,
                  const struct mqttsn_msg *m)
{
	if (ep == NULL)
		ep = s != NULL && s->bound ? &s->ep : NULL;
	if (ep != NULL)
		(void)gw_tx_ep(gw, s, ep, m);
}

void gw_tx_rc(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep,
              enum mqttsn_type type, uint8_t rc)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = type;
	m.u.rc = rc;
	reply(gw, s, ep, &m);
}

void gw_tx_msg_id(struct gw *gw, struct gw_session *s, enum mqttsn_type type, uint16_t msg_id)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = type;
	m.u.msg_id = msg_id;
	reply(gw, s, NULL, &m);
}

void gw_tx_puback(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep,
                  uint16_t topic_id, uint16_t msg_id, uint8_t rc)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_PUBACK;
	m.u.puback.topic_id = topic_id;
	m.u.puback.msg_id = msg_id;
	m.u.puback.rc = rc;
	reply(gw, s, ep, &m);
}

void gw_tx_suback(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep, int qos,
                  uint16_t topic_id, uint16_t msg_id, uint8_t rc)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_SUBACK;
	m.u.suback.flags.qos = qos;
	m.u.suback.topic_id = topic_id;
	m.u.suback.msg_id = msg_id;
	m.u.suback.rc = rc;
	reply(gw, s, ep, &m);
}

void gw_tx_bare(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep,
                enum mqttsn_type type)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = type;
	reply(gw, s, ep, &m);
}
