/*
 * encode.c - struct mqttsn_msg to MQTT-SN 1.2 octets (5.2, 5.4, 5.5).
 *
 * The exact length is computed first, with every error decided there; the
 * writer then only appends into space it knows is there, and asserts it.
 */
#include <assert.h>
#include <string.h>

#include "codec/mqttsn.h"

/* ---------------------------------------------------------------- lengths */

/*
 * Octets after MsgType. A variable field is bounded by MQTTSN_MSG_MAX before
 * it is added, so the sum cannot wrap whatever len a caller put in a view.
 */
static int body_len(const struct mqttsn_msg *m, size_t *out)
{
	size_t var = 0, fixed;

	switch (m->type) {
	case MQTTSN_ADVERTISE: fixed = 3; break;
	case MQTTSN_SEARCHGW: fixed = 1; break;
	case MQTTSN_GWINFO: fixed = 1; var = m->u.gwinfo.gw_addr.len; break;
	case MQTTSN_CONNECT: fixed = 4; var = m->u.connect.client_id.len; break;
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP: fixed = 1; break;
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
	case MQTTSN_PINGRESP: fixed = 0; break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		var = m->u.willtopic.topic.len;
		fixed = var ? 1 : 0;
		break;
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD: fixed = 0; var = m->u.willmsg.msg.len; break;
	case MQTTSN_REGISTER: fixed = 4; var = m->u.reg.topic_name.len; break;
	case MQTTSN_REGACK:
	case MQTTSN_PUBACK: fixed = 5; break;
	case MQTTSN_PUBLISH: fixed = 5; var = m->u.publish.data.len; break;
	case MQTTSN_PUBCOMP:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_UNSUBACK: fixed = 2; break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		fixed = 3;
		if (m->u.subscribe.flags.topic_id_type == MQTTSN_TOPIC_PREDEFINED)
			fixed += 2;
		else
			var = m->u.subscribe.topic_name.len;
		break;
	case MQTTSN_SUBACK: fixed = 6; break;
	case MQTTSN_PINGREQ: fixed = 0; var = m->u.pingreq.client_id.len; break;
	case MQTTSN_DISCONNECT: fixed = m->u.disconnect.has_duration ? 2 : 0; break;
	case MQTTSN_ENCAPSULATED: fixed = 1; var = m->u.encap.node_id.len; break;
	default: return MQTTSN_ERR_INVALID;
	}
	if (var > MQTTSN_MSG_MAX)
		return MQTTSN_ERR_TOO_BIG;
	*out = fixed + var;
	return MQTTSN_OK;
}

/* 5.2.1: one length octet while the whole fits in 255, else 0x01 + 16 bits. */
static size_t hdr_len_for(size_t body)
{
	return 2 + body <= MQTTSN_SHORT_HDR_MAX ? 1 : 3;
}

int mqttsn_encoded_len(const struct mqttsn_msg *msg)
{
	size_t body, total;
	int r;

	r = mqttsn_msg_check(msg);
	if (r != MQTTSN_OK)
		return r;
	r = body_len(msg, &body);
	if (r != MQTTSN_OK)
		return r;
	total = hdr_len_for(body) + 1 + body;
	if (msg->type == MQTTSN_ENCAPSULATED) {
		/* already known to be a whole message, hence at most 65535 */
		total += msg->u.encap.inner.len;
	}
	if (total > MQTTSN_MSG_MAX)
		return MQTTSN_ERR_TOO_BIG;
	return (int)total;
}

/* ---------------------------------------------------------------- writer */

struct writer {
	uint8_t *p;
	size_t left;
};

static void put_u8(struct writer *w, unsigned v)
{
	assert(1 <= w->left);
	w->p[0] = (uint8_t)(v & 0xFFu);
	w->p++;
	w->left--;
}

static void put_u16(struct writer *w, unsigned v)
{
	assert(2 <= w->left);
	w->p[0] = (uint8_t)(v >> 8 & 0xFFu);
	w->p[1] = (uint8_t)(v & 0xFFu);
	w->p += 2;
	w->left -= 2;
}

static void put_bytes(struct writer *w, struct mqttsn_bytes b)
{
	assert(b.len <= w->left);
	if (b.len == 0)
		return;
	memcpy(w->p, b.ptr, b.len);
	w->p += b.len;
	w->left -= b.len;
}

static void put_flags(struct writer *w, const struct mqttsn_flags *f)
{
	put_u8(w, mqttsn_flags_pack(f));
}

static void put_fields(struct writer *w, const struct mqttsn_msg *m)
{
	switch (m->type) {
	case MQTTSN_ADVERTISE:
		put_u8(w, m->u.advertise.gw_id);
		put_u16(w, m->u.advertise.duration);
		break;
	case MQTTSN_SEARCHGW:
		put_u8(w, m->u.searchgw.radius);
		break;
	case MQTTSN_GWINFO:
		put_u8(w, m->u.gwinfo.gw_id);
		put_bytes(w, m->u.gwinfo.gw_addr);
		break;
	case MQTTSN_CONNECT:
		put_flags(w, &m->u.connect.flags);
		put_u8(w, m->u.connect.protocol_id);
		put_u16(w, m->u.connect.duration);
		put_bytes(w, m->u.connect.client_id);
		break;
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		put_u8(w, m->u.rc);
		break;
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
	case MQTTSN_PINGRESP:
		break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		if (m->u.willtopic.topic.len == 0)
			break;
		put_flags(w, &m->u.willtopic.flags);
		put_bytes(w, m->u.willtopic.topic);
		break;
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
		put_bytes(w, m->u.willmsg.msg);
		break;
	case MQTTSN_REGISTER:
		put_u16(w, m->u.reg.topic_id);
		put_u16(w, m->u.reg.msg_id);
		put_bytes(w, m->u.reg.topic_name);
		break;
	case MQTTSN_REGACK:
		put_u16(w, m->u.regack.topic_id);
		put_u16(w, m->u.regack.msg_id);
		put_u8(w, m->u.regack.rc);
		break;
	case MQTTSN_PUBLISH:
		put_flags(w, &m->u.publish.flags);
		put_u16(w, m->u.publish.topic_id);
		put_u16(w, m->u.publish.msg_id);
		put_bytes(w, m->u.publish.data);
		break;
	case MQTTSN_PUBACK:
		put_u16(w, m->u.puback.topic_id);
		put_u16(w, m->u.puback.msg_id);
		put_u8(w, m->u.puback.rc);
		break;
	case MQTTSN_PUBCOMP:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_UNSUBACK:
		put_u16(w, m->u.msg_id);
		break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		put_flags(w, &m->u.subscribe.flags);
		put_u16(w, m->u.subscribe.msg_id);
		if (m->u.subscribe.flags.topic_id_type == MQTTSN_TOPIC_PREDEFINED)
			put_u16(w, m->u.subscribe.topic_id);
		else
			put_bytes(w, m->u.subscribe.topic_name);
		break;
	case MQTTSN_SUBACK:
		put_flags(w, &m->u.suback.flags);
		put_u16(w, m->u.suback.topic_id);
		put_u16(w, m->u.suback.msg_id);
		put_u8(w, m->u.suback.rc);
		break;
	case MQTTSN_PINGREQ:
		put_bytes(w, m->u.pingreq.client_id);
		break;
	case MQTTSN_DISCONNECT:
		if (m->u.disconnect.has_duration)
			put_u16(w, m->u.disconnect.duration);
		break;
	case MQTTSN_ENCAPSULATED:
		put_u8(w, m->u.encap.ctrl);
		put_bytes(w, m->u.encap.node_id);
		break;
	}
}

int mqttsn_encode(uint8_t *buf, size_t cap, const struct mqttsn_msg *msg)
{
	struct writer w;
	size_t body = 0, hdr_len, msg_len;
	int total, r;

	assert(buf != NULL || cap == 0);
	total = mqttsn_encoded_len(msg);
	if (total < 0)
		return total;
	if ((size_t)total > cap)
		return MQTTSN_ERR_NO_SPACE;
	r = body_len(msg, &body);
	assert(r == MQTTSN_OK);
	(void)r;
	hdr_len = hdr_len_for(body);
	/* for ENCAPSULATED the Length covers the encapsulation header only (5.5) */
	msg_len = hdr_len + 1 + body;

	w.p = buf;
	w.left = (size_t)total;
	if (hdr_len == 1) {
		put_u8(&w, (unsigned)msg_len);
	} else {
		put_u8(&w, 0x01);
		put_u16(&w, (unsigned)msg_len);
	}
	put_u8(&w, (unsigned)msg->type);
	put_fields(&w, msg);
	if (msg->type == MQTTSN_ENCAPSULATED)
		put_bytes(&w, msg->u.encap.inner);
	assert(w.left == 0);
	return total;
}
