/*
 * decode.c - MQTT-SN 1.2 datagrams to struct mqttsn_msg (5.2, 5.4, 5.5).
 *
 * Order of the checks: the length header, the datagram's size against it,
 * the type, the type's size from a table, then the fields, then the value
 * rules shared with the encoder (mqttsn_msg_check). So a malformed message
 * is always reported as malformed, even when its values are also wrong.
 */
#include <assert.h>

#include "codec/mqttsn.h"

/* ---------------------------------------------------------------- sizes */

/*
 * Octets after MsgType per type (5.4), checked before a field is read. VAR:
 * the last field takes the rest. Sizes come from the one-octet-length form.
 */
#define VAR 0xFFu

struct shape {
	uint8_t known;
	uint8_t min;
	uint8_t max;
};

static const struct shape shapes[] = {
	[MQTTSN_ADVERTISE] = {1, 3, 3},     /* GwId, Duration */
	[MQTTSN_SEARCHGW] = {1, 1, 1},      /* Radius */
	[MQTTSN_GWINFO] = {1, 1, VAR},      /* GwId, [GwAdd] */
	[MQTTSN_CONNECT] = {1, 4, VAR},     /* Flags, ProtocolId, Duration, ClientId */
	[MQTTSN_CONNACK] = {1, 1, 1},       /* ReturnCode */
	[MQTTSN_WILLTOPICREQ] = {1, 0, 0},
	[MQTTSN_WILLTOPIC] = {1, 0, VAR},   /* [Flags, WillTopic] */
	[MQTTSN_WILLMSGREQ] = {1, 0, 0},
	[MQTTSN_WILLMSG] = {1, 0, VAR},     /* WillMsg */
	[MQTTSN_REGISTER] = {1, 4, VAR},    /* TopicId, MsgId, TopicName */
	[MQTTSN_REGACK] = {1, 5, 5},        /* TopicId, MsgId, ReturnCode */
	[MQTTSN_PUBLISH] = {1, 5, VAR},     /* Flags, TopicId, MsgId, Data */
	[MQTTSN_PUBACK] = {1, 5, 5},        /* TopicId, MsgId, ReturnCode */
	[MQTTSN_PUBCOMP] = {1, 2, 2},       /* MsgId */
	[MQTTSN_PUBREC] = {1, 2, 2},
	[MQTTSN_PUBREL] = {1, 2, 2},
	[MQTTSN_SUBSCRIBE] = {1, 3, VAR},   /* Flags, MsgId, TopicName or TopicId */
	[MQTTSN_SUBACK] = {1, 6, 6},        /* Flags, TopicId, MsgId, ReturnCode */
	[MQTTSN_UNSUBSCRIBE] = {1, 3, VAR},
	[MQTTSN_UNSUBACK] = {1, 2, 2},      /* MsgId */
	[MQTTSN_PINGREQ] = {1, 0, VAR},     /* [ClientId] */
	[MQTTSN_PINGRESP] = {1, 0, 0},
	[MQTTSN_DISCONNECT] = {1, 0, 2},    /* [Duration] */
	[MQTTSN_WILLTOPICUPD] = {1, 0, VAR},
	[MQTTSN_WILLTOPICRESP] = {1, 1, 1}, /* ReturnCode */
	[MQTTSN_WILLMSGUPD] = {1, 0, VAR},
	[MQTTSN_WILLMSGRESP] = {1, 1, 1},   /* ReturnCode */
};

/* 5.5: Ctrl, then the Wireless Node Id up to the declared length. */
static const struct shape encap_shape = {1, 1, VAR};

static const struct shape *shape_of(uint8_t type)
{
	if (type == MQTTSN_ENCAPSULATED)
		return &encap_shape;
	if (type >= sizeof shapes / sizeof shapes[0] || !shapes[type].known)
		return NULL;
	return &shapes[type];
}

/* ---------------------------------------------------------------- cursor */

/*
 * Reads past the end yield zeros and set bad, so a field reader needs no
 * error path of its own; the size table makes bad a bug, and the caller
 * still turns it into MQTTSN_ERR_FIELD instead of trusting the table.
 */
struct cursor {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static uint8_t get_u8(struct cursor *c)
{
	uint8_t v;

	if (1 > c->left) {
		c->bad = true;
		return 0;
	}
	v = c->p[0];
	c->p++;
	c->left--;
	return v;
}

static uint16_t get_u16(struct cursor *c)
{
	uint16_t v;

	if (2 > c->left) {
		c->bad = true;
		return 0;
	}
	v = (uint16_t)((unsigned)c->p[0] << 8 | c->p[1]);
	c->p += 2;
	c->left -= 2;
	return v;
}

/* The rest of the message; an empty view has a NULL ptr, never one past the end. */
static struct mqttsn_bytes get_rest(struct cursor *c)
{
	struct mqttsn_bytes b = {c->left ? c->p : NULL, c->left};

	c->p += c->left;
	c->left = 0;
	return b;
}

static void get_flags(struct cursor *c, struct mqttsn_flags *f)
{
	mqttsn_flags_unpack(get_u8(c), f);
}

/* ---------------------------------------------------------------- fields */

static int fields_willtopic(struct cursor *c, struct mqttsn_msg *m)
{
	if (c->left == 0) {
		/* the 2-octet form: no flags, delete the Will (5.4.7) */
		mqttsn_flags_unpack(0, &m->u.willtopic.flags);
		m->u.willtopic.topic = get_rest(c);
		return MQTTSN_OK;
	}
	get_flags(c, &m->u.willtopic.flags);
	if (c->left == 0)
		return MQTTSN_ERR_WILL_TOPIC;
	m->u.willtopic.topic = get_rest(c);
	return MQTTSN_OK;
}

static int fields_subscribe(struct cursor *c, struct mqttsn_msg *m)
{
	get_flags(c, &m->u.subscribe.flags);
	m->u.subscribe.msg_id = get_u16(c);
	m->u.subscribe.topic_id = 0;
	m->u.subscribe.topic_name.ptr = NULL;
	m->u.subscribe.topic_name.len = 0;
	switch (m->u.subscribe.flags.topic_id_type) {
	case MQTTSN_TOPIC_PREDEFINED:
		if (2 > c->left)
			return MQTTSN_ERR_FIELD;
		m->u.subscribe.topic_id = get_u16(c);
		return c->left ? MQTTSN_ERR_TRAILING : MQTTSN_OK;
	case MQTTSN_TOPIC_SHORT:
		m->u.subscribe.topic_name = get_rest(c);
		/* as PUBLISH carries it (5.3.11), for matching; length checked later */
		if (m->u.subscribe.topic_name.len == 2)
			m->u.subscribe.topic_id =
			    (uint16_t)((unsigned)m->u.subscribe.topic_name.ptr[0] << 8 |
			               m->u.subscribe.topic_name.ptr[1]);
		return MQTTSN_OK;
	case MQTTSN_TOPIC_NORMAL:
		m->u.subscribe.topic_name = get_rest(c);
		return MQTTSN_OK;
	default:
		/* the field's layout is undefined, so there is nothing more to parse */
		return MQTTSN_ERR_TOPIC_ID_TYPE;
	}
}

/* The fields after MsgType; c holds exactly the type's octets. */
static int fields(struct cursor *c, struct mqttsn_msg *m)
{
	switch (m->type) {
	case MQTTSN_ADVERTISE:
		m->u.advertise.gw_id = get_u8(c);
		m->u.advertise.duration = get_u16(c);
		return MQTTSN_OK;
	case MQTTSN_SEARCHGW:
		m->u.searchgw.radius = get_u8(c);
		return MQTTSN_OK;
	case MQTTSN_GWINFO:
		m->u.gwinfo.gw_id = get_u8(c);
		m->u.gwinfo.gw_addr = get_rest(c);
		return MQTTSN_OK;
	case MQTTSN_CONNECT:
		get_flags(c, &m->u.connect.flags);
		m->u.connect.protocol_id = get_u8(c);
		m->u.connect.duration = get_u16(c);
		m->u.connect.client_id = get_rest(c);
		return MQTTSN_OK;
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		m->u.rc = get_u8(c);
		return MQTTSN_OK;
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
	case MQTTSN_PINGRESP:
		return MQTTSN_OK;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		return fields_willtopic(c, m);
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
		m->u.willmsg.msg = get_rest(c);
		return MQTTSN_OK;
	case MQTTSN_REGISTER:
		m->u.reg.topic_id = get_u16(c);
		m->u.reg.msg_id = get_u16(c);
		m->u.reg.topic_name = get_rest(c);
		return MQTTSN_OK;
	case MQTTSN_REGACK:
		m->u.regack.topic_id = get_u16(c);
		m->u.regack.msg_id = get_u16(c);
		m->u.regack.rc = get_u8(c);
		return MQTTSN_OK;
	case MQTTSN_PUBLISH:
		get_flags(c, &m->u.publish.flags);
		m->u.publish.topic_id = get_u16(c);
		m->u.publish.msg_id = get_u16(c);
		m->u.publish.data = get_rest(c);
		return MQTTSN_OK;
	case MQTTSN_PUBACK:
		m->u.puback.topic_id = get_u16(c);
		m->u.puback.msg_id = get_u16(c);
		m->u.puback.rc = get_u8(c);
		return MQTTSN_OK;
	case MQTTSN_PUBCOMP:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_UNSUBACK:
		m->u.msg_id = get_u16(c);
		return MQTTSN_OK;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		return fields_subscribe(c, m);
	case MQTTSN_SUBACK:
		get_flags(c, &m->u.suback.flags);
		m->u.suback.topic_id = get_u16(c);
		m->u.suback.msg_id = get_u16(c);
		m->u.suback.rc = get_u8(c);
		return MQTTSN_OK;
	case MQTTSN_PINGREQ:
		m->u.pingreq.client_id = get_rest(c);
		return MQTTSN_OK;
	case MQTTSN_DISCONNECT:
		/* 5.4.21: the Duration is there or not; half of it is neither */
		m->u.disconnect.has_duration = c->left != 0;
		m->u.disconnect.duration = 0;
		if (c->left == 0)
			return MQTTSN_OK;
		if (2 > c->left)
			return MQTTSN_ERR_FIELD;
		m->u.disconnect.duration = get_u16(c);
		return MQTTSN_OK;
	case MQTTSN_ENCAPSULATED:
		m->u.encap.ctrl = get_u8(c);
		m->u.encap.node_id = get_rest(c);
		return MQTTSN_OK;
	}
	return MQTTSN_ERR_TYPE;
}

/* ---------------------------------------------------------------- entry points */

int mqttsn_peek_length(const uint8_t *buf, size_t len, size_t *msg_len, size_t *hdr_len)
{
	size_t declared;

	assert(msg_len != NULL && hdr_len != NULL);
	assert(buf != NULL || len == 0);
	if (len < 1)
		return MQTTSN_ERR_SHORT;
	if (buf[0] == 0)
		return MQTTSN_ERR_BAD_HEADER;
	if (buf[0] != 0x01) {
		*msg_len = buf[0];
		*hdr_len = 1;
		return MQTTSN_OK;
	}
	/* 5.2.1: 0x01 announces a 16-bit length in the next two octets */
	if (len < 3)
		return MQTTSN_ERR_SHORT;
	declared = (size_t)buf[1] << 8 | buf[2];
	if (declared < 4)
		return MQTTSN_ERR_BAD_HEADER;
	*msg_len = declared;
	*hdr_len = 3;
	return MQTTSN_OK;
}

int mqttsn_decode(const uint8_t *buf, size_t len, struct mqttsn_msg *out)
{
	const struct shape *sh;
	struct cursor c;
	size_t msg_len, hdr_len, body;
	uint8_t type;
	int r;

	assert(out != NULL);
	assert(buf != NULL || len == 0);
	/* A 2- or 3-octet datagram starting with 0x01 has a length but no type:
	 * the edge that over-read in RIOT and Zephyr. */
	if (len < 2 || (buf[0] == 0x01 && len < 4))
		return MQTTSN_ERR_SHORT;
	r = mqttsn_peek_length(buf, len, &msg_len, &hdr_len);
	if (r != MQTTSN_OK)
		return r;
	type = buf[hdr_len];
	/* 5.5: an encapsulation's Length stops before the inner message. */
	if (type == MQTTSN_ENCAPSULATED ? msg_len > len : msg_len != len)
		return MQTTSN_ERR_LENGTH;
	sh = shape_of(type);
	if (sh == NULL)
		return MQTTSN_ERR_TYPE;
	body = msg_len - hdr_len - 1;
	if (body < sh->min)
		return MQTTSN_ERR_TRUNCATED;
	if (sh->max != VAR && body > sh->max)
		return MQTTSN_ERR_TRAILING;

	out->type = (enum mqttsn_type)type;
	c.p = buf + hdr_len + 1;
	c.left = body;
	c.bad = false;
	r = fields(&c, out);
	if (r != MQTTSN_OK)
		return r;
	if (c.bad)
		return MQTTSN_ERR_FIELD;
	if (c.left != 0)
		return MQTTSN_ERR_TRAILING;
	if (type == MQTTSN_ENCAPSULATED) {
		out->u.encap.inner.ptr = msg_len < len ? buf + msg_len : NULL;
		out->u.encap.inner.len = len - msg_len;
	}
	return mqttsn_msg_check(out);
}
