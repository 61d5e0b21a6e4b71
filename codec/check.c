/*
 * check.c - the value rules of MQTT-SN 1.2 that decode and encode share.
 *
 * The decoder checks the octets' structure itself and then calls
 * mqttsn_msg_check(); the encoder calls it first. One place for the rules is
 * what keeps "encode accepts it" and "decode accepts it" the same set.
 */
#include "codec/mqttsn.h"

/* A view with octets but no pointer can only come from a caller's bug. */
static bool view_ok(struct mqttsn_bytes b)
{
	return b.len == 0 || b.ptr != NULL;
}

static bool flags_ok(const struct mqttsn_flags *f)
{
	return f->qos >= -1 && f->qos <= 2 && f->topic_id_type <= 3u;
}

/* 5.3.1 */
static int client_id_check(struct mqttsn_bytes id)
{
	if (!view_ok(id))
		return MQTTSN_ERR_INVALID;
	if (id.len == 0 || id.len > MQTTSN_CLIENT_ID_MAX)
		return MQTTSN_ERR_CLIENT_ID;
	return MQTTSN_OK;
}

/* 5.4.7, 5.4.22: the empty form (no flags, no topic) deletes the Will. */
static int willtopic_check(const struct mqttsn_msg *m)
{
	const struct mqttsn_flags *f = &m->u.willtopic.flags;

	if (!view_ok(m->u.willtopic.topic))
		return MQTTSN_ERR_INVALID;
	if (m->u.willtopic.topic.len == 0)
		return MQTTSN_OK;
	if (!flags_ok(f))
		return MQTTSN_ERR_INVALID;
	return f->qos < 0 ? MQTTSN_ERR_QOS : MQTTSN_OK;
}

/* 5.4.15, 5.4.17: the topic travels as a name, a predefined id or a short name. */
static int subscribe_check(const struct mqttsn_msg *m)
{
	const struct mqttsn_flags *f = &m->u.subscribe.flags;
	struct mqttsn_bytes name = m->u.subscribe.topic_name;

	if (!flags_ok(f))
		return MQTTSN_ERR_INVALID;
	if (f->topic_id_type == MQTTSN_TOPIC_RESERVED)
		return MQTTSN_ERR_TOPIC_ID_TYPE;
	/* UNSUBSCRIBE carries the flags octet but only its topic id type means anything. */
	if (m->type == MQTTSN_SUBSCRIBE && f->qos < 0)
		return MQTTSN_ERR_QOS;
	if (f->topic_id_type == MQTTSN_TOPIC_PREDEFINED)
		return MQTTSN_OK;
	if (!view_ok(name))
		return MQTTSN_ERR_INVALID;
	if (f->topic_id_type == MQTTSN_TOPIC_SHORT)
		return name.len == 2 ? MQTTSN_OK : MQTTSN_ERR_SHORT_TOPIC;
	return name.len == 0 ? MQTTSN_ERR_TOPIC_EMPTY : MQTTSN_OK;
}

/*
 * 5.5: the inner message must be a whole message of its own, and not another
 * encapsulation. The type octet is looked at before decoding so that nesting
 * is reported as such and decoding never recurses.
 */
static int inner_check(struct mqttsn_bytes inner)
{
	struct mqttsn_msg tmp;
	size_t msg_len, hdr_len;
	int r;

	if (!view_ok(inner))
		return MQTTSN_ERR_INVALID;
	if (mqttsn_peek_length(inner.ptr, inner.len, &msg_len, &hdr_len) == MQTTSN_OK &&
	    hdr_len < inner.len && inner.ptr[hdr_len] == MQTTSN_ENCAPSULATED)
		return MQTTSN_ERR_ENCAP_NESTED;
	r = mqttsn_decode(inner.ptr, inner.len, &tmp);
	return mqttsn_err_is_malformed(r) ? MQTTSN_ERR_ENCAP_INNER : r;
}

int mqttsn_msg_check(const struct mqttsn_msg *msg)
{
	if (msg == NULL)
		return MQTTSN_ERR_INVALID;
	switch (msg->type) {
	case MQTTSN_ADVERTISE:
	case MQTTSN_SEARCHGW:
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
	case MQTTSN_REGACK:
	case MQTTSN_PUBACK:
	case MQTTSN_PUBCOMP:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_UNSUBACK:
	case MQTTSN_PINGRESP:
	case MQTTSN_DISCONNECT:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		return MQTTSN_OK;
	case MQTTSN_GWINFO:
		return view_ok(msg->u.gwinfo.gw_addr) ? MQTTSN_OK : MQTTSN_ERR_INVALID;
	case MQTTSN_CONNECT:
		/* 5.4.4: DUP, QoS, Retain and TopicIdType are unused here, so any value goes. */
		if (!flags_ok(&msg->u.connect.flags))
			return MQTTSN_ERR_INVALID;
		if (msg->u.connect.protocol_id != MQTTSN_PROTOCOL_ID)
			return MQTTSN_ERR_PROTOCOL_ID;
		return client_id_check(msg->u.connect.client_id);
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		return willtopic_check(msg);
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
		return view_ok(msg->u.willmsg.msg) ? MQTTSN_OK : MQTTSN_ERR_INVALID;
	case MQTTSN_REGISTER:
		if (!view_ok(msg->u.reg.topic_name))
			return MQTTSN_ERR_INVALID;
		return msg->u.reg.topic_name.len == 0 ? MQTTSN_ERR_TOPIC_EMPTY : MQTTSN_OK;
	case MQTTSN_PUBLISH:
		if (!flags_ok(&msg->u.publish.flags) || !view_ok(msg->u.publish.data))
			return MQTTSN_ERR_INVALID;
		/* QoS -1 is legal here (6.8), unlike everywhere else. */
		if (msg->u.publish.flags.topic_id_type == MQTTSN_TOPIC_RESERVED)
			return MQTTSN_ERR_TOPIC_ID_TYPE;
		return MQTTSN_OK;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		return subscribe_check(msg);
	case MQTTSN_SUBACK:
		if (!flags_ok(&msg->u.suback.flags))
			return MQTTSN_ERR_INVALID;
		return msg->u.suback.flags.qos < 0 ? MQTTSN_ERR_QOS : MQTTSN_OK;
	case MQTTSN_PINGREQ:
		/* 6.14: the client id is optional; when present it follows 5.3.1. */
		if (msg->u.pingreq.client_id.len == 0)
			return MQTTSN_OK;
		return client_id_check(msg->u.pingreq.client_id);
	case MQTTSN_ENCAPSULATED:
		if (!view_ok(msg->u.encap.node_id))
			return MQTTSN_ERR_INVALID;
		return inner_check(msg->u.encap.inner);
	}
	/* An int that is no enumerator: the caller built msg by hand. */
	return MQTTSN_ERR_INVALID;
}
