/*
 * format.c - one printable line per message, in the spirit of tshark's
 * summary column: the type name, then every field as key=value.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

#include "codec/mqttsn.h"

/* Enough to recognise a payload or a topic in a log without flooding it. */
#define SHOW_DATA 32u
#define SHOW_TOPIC 64u
#define SHOW_HEX 16u

/* ---------------------------------------------------------------- line */

/* Counts what the whole line needs while writing what fits, like snprintf. */
struct line {
	char *out;
	size_t cap;
	size_t need;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void add(struct line *l, const char *fmt, ...)
{
	char *dst = NULL;
	size_t room = 0;
	va_list ap;
	int n;

	if (l->need < l->cap) {
		dst = l->out + l->need;
		room = l->cap - l->need;
	}
	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->need += (size_t)n;
}

static void add_char(struct line *l, char ch)
{
	if (l->need + 1 < l->cap) {
		l->out[l->need] = ch;
		l->out[l->need + 1] = '\0';
	}
	l->need++;
}

/* Quoted, with anything outside printable ASCII (and the quote) escaped. */
static void add_quoted(struct line *l, struct mqttsn_bytes b, size_t show)
{
	size_t i, n = b.len < show ? b.len : show;

	/* format also serves messages a caller built, which may be wrong */
	if (b.ptr == NULL && b.len != 0) {
		add(l, "(null)");
		return;
	}
	add_char(l, '"');
	for (i = 0; i < n; i++) {
		uint8_t ch = b.ptr[i];

		if (ch == '"' || ch == '\\')
			add(l, "\\%c", ch);
		else if (ch >= 0x20 && ch < 0x7F)
			add_char(l, (char)ch);
		else
			add(l, "\\x%02x", ch);
	}
	add_char(l, '"');
	if (b.len > n)
		add(l, "...");
}

static void add_hex(struct line *l, struct mqttsn_bytes b)
{
	size_t i, n = b.len < SHOW_HEX ? b.len : SHOW_HEX;

	if (b.len == 0 || b.ptr == NULL) {
		add(l, b.len == 0 ? "none" : "(null)");
		return;
	}
	for (i = 0; i < n; i++)
		add(l, "%02x", b.ptr[i]);
	if (b.len > n)
		add(l, "...");
}

/* ---------------------------------------------------------------- fields */

static const char *rc_name(unsigned rc)
{
	switch (rc) {
	case MQTTSN_RC_ACCEPTED: return "accepted";
	case MQTTSN_RC_CONGESTION: return "rejected-congestion";
	case MQTTSN_RC_INVALID_TOPIC_ID: return "rejected-invalid-topic-id";
	case MQTTSN_RC_NOT_SUPPORTED: return "rejected-not-supported";
	default: return NULL;
	}
}

static void add_rc(struct line *l, unsigned rc)
{
	const char *name = rc_name(rc);

	if (name != NULL)
		add(l, " rc=%s", name);
	else
		add(l, " rc=0x%02x", rc);
}

static const char *tid_name(unsigned t)
{
	static const char *const names[] = {"normal", "predefined", "short", "reserved"};

	return t < 4 ? names[t] : "invalid";
}

/* The raw octet first, so that bits no field below shows are still seen. */
static void add_flags(struct line *l, const struct mqttsn_flags *f)
{
	unsigned q = f->qos < 0 ? 3u : (unsigned)f->qos & 3u;
	unsigned octet = (f->dup ? 0x80u : 0) | q << 5 | (f->retain ? 0x10u : 0) |
	                 (f->will ? 0x08u : 0) | (f->clean_session ? 0x04u : 0) |
	                 (f->topic_id_type & 3u);

	add(l, " flags=0x%02x", octet);
}

static void add_topic_field(struct line *l, const char *key, struct mqttsn_bytes b)
{
	add(l, " %s=", key);
	add_quoted(l, b, SHOW_TOPIC);
}

static void add_payload(struct line *l, const char *key, struct mqttsn_bytes b)
{
	add(l, " len=%zu %s=", b.len, key);
	add_quoted(l, b, SHOW_DATA);
}

static void add_short_name(struct line *l, uint16_t topic_id)
{
	uint8_t two[2] = {(uint8_t)(topic_id >> 8), (uint8_t)(topic_id & 0xFFu)};
	struct mqttsn_bytes b = {two, 2};

	add_topic_field(l, "topic", b);
}

static void add_inner(struct line *l, struct mqttsn_bytes inner);

static void add_fields(struct line *l, const struct mqttsn_msg *m)
{
	const struct mqttsn_flags *f;

	switch (m->type) {
	case MQTTSN_ADVERTISE:
		add(l, " gw_id=%u duration=%u", m->u.advertise.gw_id, m->u.advertise.duration);
		break;
	case MQTTSN_SEARCHGW:
		add(l, " radius=%u", m->u.searchgw.radius);
		break;
	case MQTTSN_GWINFO:
		add(l, " gw_id=%u", m->u.gwinfo.gw_id);
		if (m->u.gwinfo.gw_addr.len != 0) {
			add(l, " gw_addr=");
			add_hex(l, m->u.gwinfo.gw_addr);
		}
		break;
	case MQTTSN_CONNECT:
		f = &m->u.connect.flags;
		add_flags(l, f);
		add(l, " will=%d clean=%d protocol_id=0x%02x duration=%u", f->will, f->clean_session,
		    m->u.connect.protocol_id, m->u.connect.duration);
		add_topic_field(l, "client_id", m->u.connect.client_id);
		break;
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		add_rc(l, m->u.rc);
		break;
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
	case MQTTSN_PINGRESP:
		break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		if (m->u.willtopic.topic.len == 0) {
			add(l, " empty (deletes the Will)");
			break;
		}
		f = &m->u.willtopic.flags;
		add_flags(l, f);
		add(l, " qos=%d retain=%d", f->qos, f->retain);
		add_topic_field(l, "topic", m->u.willtopic.topic);
		break;
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
		add_payload(l, "msg", m->u.willmsg.msg);
		break;
	case MQTTSN_REGISTER:
		add(l, " topic_id=%u msg_id=%u", m->u.reg.topic_id, m->u.reg.msg_id);
		add_topic_field(l, "topic", m->u.reg.topic_name);
		break;
	case MQTTSN_REGACK:
		add(l, " topic_id=%u msg_id=%u", m->u.regack.topic_id, m->u.regack.msg_id);
		add_rc(l, m->u.regack.rc);
		break;
	case MQTTSN_PUBLISH:
		f = &m->u.publish.flags;
		add_flags(l, f);
		add(l, " dup=%d qos=%d retain=%d topic_id_type=%s topic_id=%u", f->dup, f->qos,
		    f->retain, tid_name(f->topic_id_type), m->u.publish.topic_id);
		if (f->topic_id_type == MQTTSN_TOPIC_SHORT)
			add_short_name(l, m->u.publish.topic_id);
		add(l, " msg_id=%u", m->u.publish.msg_id);
		add_payload(l, "data", m->u.publish.data);
		break;
	case MQTTSN_PUBACK:
		add(l, " topic_id=%u msg_id=%u", m->u.puback.topic_id, m->u.puback.msg_id);
		add_rc(l, m->u.puback.rc);
		break;
	case MQTTSN_PUBCOMP:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_UNSUBACK:
		add(l, " msg_id=%u", m->u.msg_id);
		break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		f = &m->u.subscribe.flags;
		add_flags(l, f);
		if (m->type == MQTTSN_SUBSCRIBE)
			add(l, " dup=%d qos=%d", f->dup, f->qos);
		add(l, " topic_id_type=%s msg_id=%u", tid_name(f->topic_id_type),
		    m->u.subscribe.msg_id);
		if (f->topic_id_type == MQTTSN_TOPIC_PREDEFINED)
			add(l, " topic_id=%u", m->u.subscribe.topic_id);
		else
			add_topic_field(l, "topic", m->u.subscribe.topic_name);
		break;
	case MQTTSN_SUBACK:
		add_flags(l, &m->u.suback.flags);
		add(l, " qos=%d topic_id=%u msg_id=%u", m->u.suback.flags.qos, m->u.suback.topic_id,
		    m->u.suback.msg_id);
		add_rc(l, m->u.suback.rc);
		break;
	case MQTTSN_PINGREQ:
		if (m->u.pingreq.client_id.len != 0)
			add_topic_field(l, "client_id", m->u.pingreq.client_id);
		break;
	case MQTTSN_DISCONNECT:
		if (m->u.disconnect.has_duration)
			add(l, " duration=%u", m->u.disconnect.duration);
		break;
	case MQTTSN_ENCAPSULATED:
		add(l, " ctrl=0x%02x radius=%u node_id=", m->u.encap.ctrl, m->u.encap.ctrl & 3u);
		add_hex(l, m->u.encap.node_id);
		add_inner(l, m->u.encap.inner);
		break;
	}
}

/* The inner message is summarised in brackets; decode refuses nesting, so
 * this recurses at most once. */
static void add_inner(struct line *l, struct mqttsn_bytes inner)
{
	struct mqttsn_msg m;
	int r = mqttsn_decode(inner.ptr, inner.len, &m);

	add(l, " inner_len=%zu inner=[", inner.len);
	if (r == MQTTSN_OK && m.type != MQTTSN_ENCAPSULATED) {
		add(l, "%s", mqttsn_type_name((int)m.type));
		add_fields(l, &m);
	} else {
		add(l, "undecodable: %s", mqttsn_strerror(r == MQTTSN_OK ? MQTTSN_ERR_ENCAP_NESTED : r));
	}
	add_char(l, ']');
}

/* ---------------------------------------------------------------- entry point */

int mqttsn_format(char *out, size_t cap, const struct mqttsn_msg *msg)
{
	struct line l = {out, out != NULL ? cap : 0, 0};
	const char *name;

	if (l.cap > 0)
		out[0] = '\0';
	if (msg == NULL) {
		add(&l, "(null)");
	} else if ((name = mqttsn_type_name((int)msg->type)) == NULL) {
		add(&l, "UNKNOWN(0x%02x)", (unsigned)msg->type);
	} else {
		add(&l, "%s", name);
		add_fields(&l, msg);
	}
	return l.need > INT_MAX ? INT_MAX : (int)l.need;
}
