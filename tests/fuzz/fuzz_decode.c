/*
 * fuzz_decode.c - libFuzzer target for mqttsn_decode.
 *
 * Any input: decode must not crash or read outside the input. When it
 * succeeds: the message encodes, the encoding is canonical (never longer
 * than the input), decodes back to the same fields, and encodes again to
 * the same octets. The topic views a message carries are fed to the topic
 * checks and matcher, whose answers must agree with each other.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec/mqttsn.h"
#include "codec/topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* Big enough for any message plus a 3-octet length header. */
#define OUT_CAP (MQTTSN_MSG_MAX + 3u)

static uint8_t out1[OUT_CAP];
static uint8_t out2[OUT_CAP];

/* ---------------------------------------------------------------- compare */

static bool bytes_eq(struct mqttsn_bytes a, struct mqttsn_bytes b)
{
	if (a.len != b.len)
		return false;
	return a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0;
}

/*
 * Equality of what a message means. Flags are compared only in the bits
 * the message type gives a meaning to (mqttsn.h lists them), since the
 * other bits are not carried through a round trip.
 */
static bool msg_eq(const struct mqttsn_msg *a, const struct mqttsn_msg *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case MQTTSN_ADVERTISE:
		return a->u.advertise.gw_id == b->u.advertise.gw_id &&
		       a->u.advertise.duration == b->u.advertise.duration;
	case MQTTSN_SEARCHGW:
		return a->u.searchgw.radius == b->u.searchgw.radius;
	case MQTTSN_GWINFO:
		return a->u.gwinfo.gw_id == b->u.gwinfo.gw_id &&
		       bytes_eq(a->u.gwinfo.gw_addr, b->u.gwinfo.gw_addr);
	case MQTTSN_CONNECT:
		return a->u.connect.flags.will == b->u.connect.flags.will &&
		       a->u.connect.flags.clean_session == b->u.connect.flags.clean_session &&
		       a->u.connect.protocol_id == b->u.connect.protocol_id &&
		       a->u.connect.duration == b->u.connect.duration &&
		       bytes_eq(a->u.connect.client_id, b->u.connect.client_id);
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		return a->u.rc == b->u.rc;
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
	case MQTTSN_PINGRESP:
		return true;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		if (!bytes_eq(a->u.willtopic.topic, b->u.willtopic.topic))
			return false;
		/* The empty Will topic has no flags octet at all. */
		return a->u.willtopic.topic.len == 0 ||
		       (a->u.willtopic.flags.qos == b->u.willtopic.flags.qos &&
		        a->u.willtopic.flags.retain == b->u.willtopic.flags.retain);
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
		return bytes_eq(a->u.willmsg.msg, b->u.willmsg.msg);
	case MQTTSN_REGISTER:
		return a->u.reg.topic_id == b->u.reg.topic_id &&
		       a->u.reg.msg_id == b->u.reg.msg_id &&
		       bytes_eq(a->u.reg.topic_name, b->u.reg.topic_name);
	case MQTTSN_REGACK:
		return a->u.regack.topic_id == b->u.regack.topic_id &&
		       a->u.regack.msg_id == b->u.regack.msg_id &&
		       a->u.regack.rc == b->u.regack.rc;
	case MQTTSN_PUBLISH:
		return a->u.publish.flags.dup == b->u.publish.flags.dup &&
		       a->u.publish.flags.qos == b->u.publish.flags.qos &&
		       a->u.publish.flags.retain == b->u.publish.flags.retain &&
		       a->u.publish.flags.topic_id_type == b->u.publish.flags.topic_id_type &&
		       a->u.publish.topic_id == b->u.publish.topic_id &&
		       a->u.publish.msg_id == b->u.publish.msg_id &&
		       bytes_eq(a->u.publish.data, b->u.publish.data);
	case MQTTSN_PUBACK:
		return a->u.puback.topic_id == b->u.puback.topic_id &&
		       a->u.puback.msg_id == b->u.puback.msg_id &&
		       a->u.puback.rc == b->u.puback.rc;
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_PUBCOMP:
	case MQTTSN_UNSUBACK:
		return a->u.msg_id == b->u.msg_id;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		if (a->u.subscribe.flags.topic_id_type != b->u.subscribe.flags.topic_id_type ||
		    a->u.subscribe.msg_id != b->u.subscribe.msg_id)
			return false;
		if (a->type == MQTTSN_SUBSCRIBE &&
		    (a->u.subscribe.flags.dup != b->u.subscribe.flags.dup ||
		     a->u.subscribe.flags.qos != b->u.subscribe.flags.qos))
			return false;
		if (a->u.subscribe.flags.topic_id_type == MQTTSN_TOPIC_PREDEFINED)
			return a->u.subscribe.topic_id == b->u.subscribe.topic_id;
		return bytes_eq(a->u.subscribe.topic_name, b->u.subscribe.topic_name);
	case MQTTSN_SUBACK:
		return a->u.suback.flags.qos == b->u.suback.flags.qos &&
		       a->u.suback.topic_id == b->u.suback.topic_id &&
		       a->u.suback.msg_id == b->u.suback.msg_id &&
		       a->u.suback.rc == b->u.suback.rc;
	case MQTTSN_PINGREQ:
		return bytes_eq(a->u.pingreq.client_id, b->u.pingreq.client_id);
	case MQTTSN_DISCONNECT:
		if (a->u.disconnect.has_duration != b->u.disconnect.has_duration)
			return false;
		return !a->u.disconnect.has_duration ||
		       a->u.disconnect.duration == b->u.disconnect.duration;
	case MQTTSN_ENCAPSULATED:
		return (a->u.encap.ctrl & 0x03u) == (b->u.encap.ctrl & 0x03u) &&
		       bytes_eq(a->u.encap.node_id, b->u.encap.node_id) &&
		       bytes_eq(a->u.encap.inner, b->u.encap.inner);
	}
	return false;
}

/* ---------------------------------------------------------------- topics */

static void topic_name_probe(struct mqttsn_bytes t)
{
	const char *s = (const char *)t.ptr;

	if (mqttsn_topic_name_check(s, t.len) != MQTTSN_OK)
		return;
	CHECK(mqttsn_topic_filter_check(s, t.len) == MQTTSN_OK);
	CHECK(!mqttsn_topic_has_wildcard(s, t.len));
	CHECK(mqttsn_topic_matches(s, t.len, s, t.len));
	CHECK(mqttsn_topic_matches("#", 1, s, t.len) == (s[0] != '$'));
}

static void topic_filter_probe(struct mqttsn_bytes t)
{
	const char *s = (const char *)t.ptr;

	if (mqttsn_topic_filter_check(s, t.len) != MQTTSN_OK)
		return;
	/* Without wildcards a filter is a name and matches itself only. */
	if (!mqttsn_topic_has_wildcard(s, t.len)) {
		CHECK(mqttsn_topic_name_check(s, t.len) == MQTTSN_OK);
		CHECK(mqttsn_topic_matches(s, t.len, s, t.len));
	} else {
		CHECK(mqttsn_topic_name_check(s, t.len) == MQTTSN_ERR_TOPIC_WILDCARD);
	}
}

/* First half as a filter, second half as a name. */
static void topic_halves_probe(struct mqttsn_bytes t)
{
	const char *f = (const char *)t.ptr;
	size_t flen = t.len / 2;
	const char *n = f + flen;
	size_t nlen = t.len - flen;
	bool m;

	if (t.len < 2 || mqttsn_topic_filter_check(f, flen) != MQTTSN_OK ||
	    mqttsn_topic_name_check(n, nlen) != MQTTSN_OK)
		return;
	m = mqttsn_topic_matches(f, flen, n, nlen);
	if (m && !mqttsn_topic_has_wildcard(f, flen))
		CHECK(flen == nlen && memcmp(f, n, nlen) == 0);
	if (m && n[0] == '$')
		CHECK(f[0] != '+' && f[0] != '#');
}

static void probe_topics(const struct mqttsn_msg *m)
{
	switch (m->type) {
	case MQTTSN_REGISTER:
		topic_name_probe(m->u.reg.topic_name);
		break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		if (m->u.subscribe.flags.topic_id_type == MQTTSN_TOPIC_NORMAL)
			topic_filter_probe(m->u.subscribe.topic_name);
		break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		topic_name_probe(m->u.willtopic.topic);
		break;
	case MQTTSN_PUBLISH:
		topic_halves_probe(m->u.publish.data);
		break;
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
		topic_halves_probe(m->u.willmsg.msg);
		break;
	default:
		break;
	}
}

/* ---------------------------------------------------------------- target */

static void round_trip(size_t size, const struct mqttsn_msg *m1)
{
	struct mqttsn_msg m2;
	int n1, n2, want;
	char line[64];

	want = mqttsn_encoded_len(m1);
	n1 = mqttsn_encode(out1, sizeof(out1), m1);
	CHECK(n1 > 0);
	CHECK(n1 == want);
	/* The canonical encoding never needs more octets than were decoded. */
	CHECK((size_t)n1 <= size);

	CHECK(mqttsn_decode(out1, (size_t)n1, &m2) == MQTTSN_OK);
	CHECK(msg_eq(m1, &m2));

	n2 = mqttsn_encode(out2, sizeof(out2), &m2);
	CHECK(n2 == n1);
	CHECK(memcmp(out1, out2, (size_t)n1) == 0);

	/* One octet short of the exact size must be refused, not overrun. */
	CHECK(mqttsn_encode(out2, (size_t)n1 - 1, m1) == MQTTSN_ERR_NO_SPACE);

	CHECK(mqttsn_format(line, sizeof(line), m1) >= 0);
	CHECK(memchr(line, '\0', sizeof(line)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mqttsn_msg m1;
	size_t msg_len, hdr_len;
	int rc = mqttsn_decode(data, size, &m1);

	if (rc != MQTTSN_OK) {
		CHECK(rc < 0);
		CHECK(mqttsn_err_is_malformed(rc) || mqttsn_err_is_protocol(rc));
		CHECK(mqttsn_strerror(rc) != NULL);
		return 0;
	}
	CHECK(mqttsn_type_name((int)m1.type) != NULL);
	/* What decode accepts, the shared value rules accept too. */
	CHECK(mqttsn_msg_check(&m1) == MQTTSN_OK);
	CHECK(mqttsn_peek_length(data, size, &msg_len, &hdr_len) == MQTTSN_OK);
	CHECK(hdr_len == 1 || hdr_len == 3);
	/* Only 0xFE's Length stops short of the datagram (5.5). */
	if (m1.type != MQTTSN_ENCAPSULATED)
		CHECK(msg_len == size);

	round_trip(size, &m1);
	probe_topics(&m1);

	if (m1.type == MQTTSN_ENCAPSULATED) {
		struct mqttsn_msg inner;

		CHECK(mqttsn_decode(m1.u.encap.inner.ptr, m1.u.encap.inner.len, &inner) ==
		      MQTTSN_OK);
		CHECK(inner.type != MQTTSN_ENCAPSULATED);
		round_trip(m1.u.encap.inner.len, &inner);
		probe_topics(&inner);
	}
	return 0;
}
