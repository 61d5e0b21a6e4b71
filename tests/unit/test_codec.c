/*
 * test_codec.c - the MQTT-SN 1.2 message codec (codec/mqttsn.h).
 *
 * Known-answer vectors written by hand from the layouts of section 5.4 and
 * 5.5, each decoded field by field, encoded back, and then mangled
 * (truncated, mis-sized, bit-flipped, written into too small a buffer);
 * round trips over every flag combination; the length-header edges; one
 * table of bad datagrams per error; the encoder's errors; strerror, the
 * error classes and the one-line format.
 *
 * Buffers handed to the decoder are heap copies of exactly the datagram's
 * size, so that the sanitizer build and valgrind see any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/mqttsn.h"

/* ---------------------------------------------------------------- helpers */

#define BYTES(s) {(const uint8_t *)(s), sizeof(s) - 1}
#define NOBYTES {NULL, 0}
/* dup, qos, retain, will, clean_session, topic_id_type */
#define FLAGS(d, q, r, w, c, t) {d, q, r, w, c, t}
#define WIRE(...) .wire = (const uint8_t[]){__VA_ARGS__}, .len = sizeof((const uint8_t[]){__VA_ARGS__})
#define WIRES(s) .wire = (const uint8_t *)(s), .len = sizeof(s) - 1

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* 23 characters: the longest client id 5.3.1 allows. */
#define ID23 "abcdefghijklmnopqrstuvw"
#define ID24 ID23 "x"

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n ? n : 1);

	assert_non_null(b);
	if (n)
		memcpy(b, p, n);
	return b;
}

static void expect_err(int got, int want, const char *what)
{
	if (got == want)
		return;
	print_error("%s: got %d (%s), want %d (%s)\n", what, got, mqttsn_strerror(got), want,
	            mqttsn_strerror(want));
	fail();
}

/* Decode a copy of exactly n octets, kept for out's views: free() it after. */
static uint8_t *decode_keep(const uint8_t *p, size_t n, struct mqttsn_msg *out, int *r)
{
	uint8_t *b = dup_exact(p, n);

	*r = mqttsn_decode(b, n, out);
	return b;
}

/* The same for a result only: out->type may be looked at, its views not. */
static int decode_exact(const uint8_t *p, size_t n, struct mqttsn_msg *out)
{
	int r;

	free(decode_keep(p, n, out, &r));
	return r;
}

static void assert_bytes_equal(struct mqttsn_bytes a, struct mqttsn_bytes b)
{
	assert_int_equal(a.len, b.len);
	if (a.len != 0)
		assert_memory_equal(a.ptr, b.ptr, a.len);
}

static void assert_flags_equal(const struct mqttsn_flags *a, const struct mqttsn_flags *b)
{
	assert_int_equal(a->dup, b->dup);
	assert_int_equal(a->qos, b->qos);
	assert_int_equal(a->retain, b->retain);
	assert_int_equal(a->will, b->will);
	assert_int_equal(a->clean_session, b->clean_session);
	assert_int_equal(a->topic_id_type, b->topic_id_type);
}

/* Every field of the member that a->type selects (see mqttsn.h). */
static void assert_msg_equal(const struct mqttsn_msg *a, const struct mqttsn_msg *b)
{
	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case MQTTSN_ADVERTISE:
		assert_int_equal(a->u.advertise.gw_id, b->u.advertise.gw_id);
		assert_int_equal(a->u.advertise.duration, b->u.advertise.duration);
		break;
	case MQTTSN_SEARCHGW:
		assert_int_equal(a->u.searchgw.radius, b->u.searchgw.radius);
		break;
	case MQTTSN_GWINFO:
		assert_int_equal(a->u.gwinfo.gw_id, b->u.gwinfo.gw_id);
		assert_bytes_equal(a->u.gwinfo.gw_addr, b->u.gwinfo.gw_addr);
		break;
	case MQTTSN_CONNECT:
		assert_flags_equal(&a->u.connect.flags, &b->u.connect.flags);
		assert_int_equal(a->u.connect.protocol_id, b->u.connect.protocol_id);
		assert_int_equal(a->u.connect.duration, b->u.connect.duration);
		assert_bytes_equal(a->u.connect.client_id, b->u.connect.client_id);
		break;
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		assert_int_equal(a->u.rc, b->u.rc);
		break;
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
	case MQTTSN_PINGRESP:
		break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		assert_flags_equal(&a->u.willtopic.flags, &b->u.willtopic.flags);
		assert_bytes_equal(a->u.willtopic.topic, b->u.willtopic.topic);
		break;
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
		assert_bytes_equal(a->u.willmsg.msg, b->u.willmsg.msg);
		break;
	case MQTTSN_REGISTER:
		assert_int_equal(a->u.reg.topic_id, b->u.reg.topic_id);
		assert_int_equal(a->u.reg.msg_id, b->u.reg.msg_id);
		assert_bytes_equal(a->u.reg.topic_name, b->u.reg.topic_name);
		break;
	case MQTTSN_REGACK:
		assert_int_equal(a->u.regack.topic_id, b->u.regack.topic_id);
		assert_int_equal(a->u.regack.msg_id, b->u.regack.msg_id);
		assert_int_equal(a->u.regack.rc, b->u.regack.rc);
		break;
	case MQTTSN_PUBLISH:
		assert_flags_equal(&a->u.publish.flags, &b->u.publish.flags);
		assert_int_equal(a->u.publish.topic_id, b->u.publish.topic_id);
		assert_int_equal(a->u.publish.msg_id, b->u.publish.msg_id);
		assert_bytes_equal(a->u.publish.data, b->u.publish.data);
		break;
	case MQTTSN_PUBACK:
		assert_int_equal(a->u.puback.topic_id, b->u.puback.topic_id);
		assert_int_equal(a->u.puback.msg_id, b->u.puback.msg_id);
		assert_int_equal(a->u.puback.rc, b->u.puback.rc);
		break;
	case MQTTSN_PUBCOMP:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_UNSUBACK:
		assert_int_equal(a->u.msg_id, b->u.msg_id);
		break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		assert_flags_equal(&a->u.subscribe.flags, &b->u.subscribe.flags);
		assert_int_equal(a->u.subscribe.msg_id, b->u.subscribe.msg_id);
		assert_int_equal(a->u.subscribe.topic_id, b->u.subscribe.topic_id);
		assert_bytes_equal(a->u.subscribe.topic_name, b->u.subscribe.topic_name);
		break;
	case MQTTSN_SUBACK:
		assert_flags_equal(&a->u.suback.flags, &b->u.suback.flags);
		assert_int_equal(a->u.suback.topic_id, b->u.suback.topic_id);
		assert_int_equal(a->u.suback.msg_id, b->u.suback.msg_id);
		assert_int_equal(a->u.suback.rc, b->u.suback.rc);
		break;
	case MQTTSN_PINGREQ:
		assert_bytes_equal(a->u.pingreq.client_id, b->u.pingreq.client_id);
		break;
	case MQTTSN_DISCONNECT:
		assert_int_equal(a->u.disconnect.has_duration, b->u.disconnect.has_duration);
		assert_int_equal(a->u.disconnect.duration, b->u.disconnect.duration);
		break;
	case MQTTSN_ENCAPSULATED:
		assert_int_equal(a->u.encap.ctrl, b->u.encap.ctrl);
		assert_bytes_equal(a->u.encap.node_id, b->u.encap.node_id);
		assert_bytes_equal(a->u.encap.inner, b->u.encap.inner);
		break;
	default:
		fail_msg("unexpected type %d", (int)a->type);
	}
}

/* The line is printable ASCII, starts with the type's name and is what the
 * return value says. */
static void check_format(const struct mqttsn_msg *m)
{
	char line[1024];
	const char *name = mqttsn_type_name((int)m->type);
	int n = mqttsn_format(line, sizeof line, m);
	size_t i;

	assert_non_null(name);
	assert_true(n > 0 && (size_t)n < sizeof line);
	assert_int_equal(strlen(line), (size_t)n);
	assert_int_equal(strncmp(line, name, strlen(name)), 0);
	for (i = 0; line[i]; i++)
		assert_true(line[i] >= 0x20 && line[i] < 0x7F);
}

/*
 * What decodes must encode back to the same octets, unless it came with a
 * 3-octet header it did not need (5.2.1 allows that; we always write the
 * short form): then the re-encoding is 2 octets shorter and decodes to the
 * same fields.
 */
static void check_reencode(const uint8_t *wire, size_t n, const struct mqttsn_msg *m)
{
	int want = mqttsn_encoded_len(m);
	uint8_t *b;
	struct mqttsn_msg again;
	size_t declared = n >= 3 ? (size_t)wire[1] << 8 | wire[2] : 0;
	bool canonical = wire[0] != 0x01 || declared >= 258;

	assert_true(want > 0);
	b = malloc((size_t)want);
	assert_non_null(b);
	assert_int_equal(mqttsn_encode(b, (size_t)want, m), want);
	if (canonical) {
		assert_int_equal((size_t)want, n);
		assert_memory_equal(b, wire, n);
	} else {
		assert_int_equal((size_t)want + 2, n);
		expect_err(mqttsn_decode(b, (size_t)want, &again), MQTTSN_OK, "re-decode");
		assert_msg_equal(&again, m);
	}
	free(b);
	check_format(m);
}

/* ---------------------------------------------------------------- known answers */

struct vec {
	const char *name;
	const uint8_t *wire;
	size_t len;
	struct mqttsn_msg msg;
};

/* Each written octet by octet from the layout in the section named. */
static struct vec vectors[] = {
	/* 5.4.1 Length MsgType GwId Duration */
	{"ADVERTISE", WIRE(0x05, 0x00, 0x2A, 0x03, 0x84),
	 {.type = MQTTSN_ADVERTISE, .u.advertise = {42, 900}}},
	/* 5.4.2 Length MsgType Radius */
	{"SEARCHGW", WIRE(0x03, 0x01, 0x02), {.type = MQTTSN_SEARCHGW, .u.searchgw = {2}}},
	/* 5.4.3 Length MsgType GwId GwAdd */
	{"GWINFO from a gateway", WIRE(0x03, 0x02, 0x07),
	 {.type = MQTTSN_GWINFO, .u.gwinfo = {7, NOBYTES}}},
	{"GWINFO from a client", WIRE(0x09, 0x02, 0x07, 0x7F, 0x00, 0x00, 0x01, 0x06, 0x1B),
	 {.type = MQTTSN_GWINFO, .u.gwinfo = {7, BYTES("\x7f\x00\x00\x01\x06\x1b")}}},
	/* 5.4.4 Length MsgType Flags ProtocolId Duration ClientId */
	{"CONNECT clean", WIRES("\x0b\x04\x04\x01\x00\x3c" "sens1"),
	 {.type = MQTTSN_CONNECT,
	  .u.connect = {FLAGS(0, 0, 0, 0, 1, 0), 1, 60, BYTES("sens1")}}},
	{"CONNECT will, 23-char id", WIRES("\x1d\x04\x0c\x01\xff\xff" ID23),
	 {.type = MQTTSN_CONNECT,
	  .u.connect = {FLAGS(0, 0, 0, 1, 1, 0), 1, 65535, BYTES(ID23)}}},
	{"CONNECT persistent", WIRES("\x07\x04\x00\x01\x00\x00" "z"),
	 {.type = MQTTSN_CONNECT,
	  .u.connect = {FLAGS(0, 0, 0, 0, 0, 0), 1, 0, BYTES("z")}}},
	/* 5.4.5 Length MsgType ReturnCode */
	{"CONNACK", WIRE(0x03, 0x05, 0x00), {.type = MQTTSN_CONNACK, .u.rc = 0}},
	{"CONNACK congestion", WIRE(0x03, 0x05, 0x01), {.type = MQTTSN_CONNACK, .u.rc = 1}},
	/* 5.4.6 Length MsgType */
	{"WILLTOPICREQ", WIRE(0x02, 0x06), {.type = MQTTSN_WILLTOPICREQ}},
	/* 5.4.7 Length MsgType Flags WillTopic */
	{"WILLTOPIC", WIRES("\x0b\x07\x30" "st/1/lwt"),
	 {.type = MQTTSN_WILLTOPIC,
	  .u.willtopic = {FLAGS(0, 1, 1, 0, 0, 0), BYTES("st/1/lwt")}}},
	{"WILLTOPIC empty", WIRE(0x02, 0x07),
	 {.type = MQTTSN_WILLTOPIC, .u.willtopic = {FLAGS(0, 0, 0, 0, 0, 0), NOBYTES}}},
	/* 5.4.8 Length MsgType */
	{"WILLMSGREQ", WIRE(0x02, 0x08), {.type = MQTTSN_WILLMSGREQ}},
	/* 5.4.9 Length MsgType WillMsg */
	{"WILLMSG", WIRES("\x06\x09" "gone"),
	 {.type = MQTTSN_WILLMSG, .u.willmsg = {BYTES("gone")}}},
	/* 5.4.10 Length MsgType TopicId MsgId TopicName */
	{"REGISTER", WIRES("\x0d\x0a\x00\x00\x00\x01" "wx/temp"),
	 {.type = MQTTSN_REGISTER, .u.reg = {0, 1, BYTES("wx/temp")}}},
	{"REGISTER from the gateway", WIRES("\x07\x0a\x12\x34\xab\xcd" "t"),
	 {.type = MQTTSN_REGISTER, .u.reg = {0x1234, 0xABCD, BYTES("t")}}},
	/* 5.4.11 Length MsgType TopicId MsgId ReturnCode */
	{"REGACK", WIRE(0x07, 0x0B, 0x00, 0x05, 0x00, 0x01, 0x00),
	 {.type = MQTTSN_REGACK, .u.regack = {5, 1, 0}}},
	/* 5.4.12 Length MsgType Flags TopicId MsgId Data */
	{"PUBLISH qos 1", WIRES("\x0b\x0c\x20\x00\x05\x12\x34" "21.5"),
	 {.type = MQTTSN_PUBLISH,
	  .u.publish = {FLAGS(0, 1, 0, 0, 0, 0), 5, 0x1234, BYTES("21.5")}}},
	{"PUBLISH qos -1 short retain", WIRE(0x09, 0x0C, 0x72, 0x61, 0x62, 0x00, 0x00, 0x00, 0xFF),
	 {.type = MQTTSN_PUBLISH,
	  .u.publish = {FLAGS(0, -1, 1, 0, 0, 2), 0x6162, 0, BYTES("\x00\xff")}}},
	{"PUBLISH qos 2 dup predefined empty", WIRE(0x07, 0x0C, 0xC1, 0x01, 0x02, 0xFF, 0xFF),
	 {.type = MQTTSN_PUBLISH,
	  .u.publish = {FLAGS(1, 2, 0, 0, 0, 1), 0x0102, 0xFFFF, NOBYTES}}},
	{"PUBLISH qos 0", WIRES("\x08\x0c\x00\x00\x01\x00\x00" "x"),
	 {.type = MQTTSN_PUBLISH,
	  .u.publish = {FLAGS(0, 0, 0, 0, 0, 0), 1, 0, BYTES("x")}}},
	/* 5.4.13 Length MsgType TopicId MsgId ReturnCode */
	{"PUBACK", WIRE(0x07, 0x0D, 0x00, 0x05, 0x12, 0x34, 0x02),
	 {.type = MQTTSN_PUBACK, .u.puback = {5, 0x1234, 2}}},
	/* 5.4.14 Length MsgType MsgId */
	{"PUBCOMP", WIRE(0x04, 0x0E, 0x12, 0x34), {.type = MQTTSN_PUBCOMP, .u.msg_id = 0x1234}},
	{"PUBREC", WIRE(0x04, 0x0F, 0x00, 0x01), {.type = MQTTSN_PUBREC, .u.msg_id = 1}},
	{"PUBREL", WIRE(0x04, 0x10, 0xFF, 0xFF), {.type = MQTTSN_PUBREL, .u.msg_id = 0xFFFF}},
	/* 5.4.15 Length MsgType Flags MsgId TopicName or TopicId */
	{"SUBSCRIBE name", WIRES("\x09\x12\x20\x00\x07" "wx/#"),
	 {.type = MQTTSN_SUBSCRIBE,
	  .u.subscribe = {FLAGS(0, 1, 0, 0, 0, 0), 7, 0, BYTES("wx/#")}}},
	{"SUBSCRIBE predefined", WIRE(0x07, 0x12, 0xC1, 0x00, 0x08, 0x00, 0x10),
	 {.type = MQTTSN_SUBSCRIBE,
	  .u.subscribe = {FLAGS(1, 2, 0, 0, 0, 1), 8, 0x0010, NOBYTES}}},
	{"SUBSCRIBE short", WIRES("\x07\x12\x02\x00\x09" "ab"),
	 {.type = MQTTSN_SUBSCRIBE,
	  .u.subscribe = {FLAGS(0, 0, 0, 0, 0, 2), 9, 0x6162, BYTES("ab")}}},
	/* 5.4.16 Length MsgType Flags TopicId MsgId ReturnCode */
	{"SUBACK", WIRE(0x08, 0x13, 0x20, 0x00, 0x05, 0x00, 0x07, 0x00),
	 {.type = MQTTSN_SUBACK, .u.suback = {FLAGS(0, 1, 0, 0, 0, 0), 5, 7, 0}}},
	{"SUBACK refused", WIRE(0x08, 0x13, 0x00, 0x00, 0x00, 0x00, 0x08, 0x03),
	 {.type = MQTTSN_SUBACK, .u.suback = {FLAGS(0, 0, 0, 0, 0, 0), 0, 8, 3}}},
	/* 5.4.17 Length MsgType Flags MsgId TopicName or TopicId */
	{"UNSUBSCRIBE name", WIRES("\x09\x14\x00\x00\x0a" "wx/#"),
	 {.type = MQTTSN_UNSUBSCRIBE,
	  .u.subscribe = {FLAGS(0, 0, 0, 0, 0, 0), 10, 0, BYTES("wx/#")}}},
	{"UNSUBSCRIBE predefined", WIRE(0x07, 0x14, 0x01, 0x00, 0x0B, 0x00, 0x10),
	 {.type = MQTTSN_UNSUBSCRIBE,
	  .u.subscribe = {FLAGS(0, 0, 0, 0, 0, 1), 11, 0x0010, NOBYTES}}},
	{"UNSUBSCRIBE short", WIRES("\x07\x14\x02\x00\x0c" "ab"),
	 {.type = MQTTSN_UNSUBSCRIBE,
	  .u.subscribe = {FLAGS(0, 0, 0, 0, 0, 2), 12, 0x6162, BYTES("ab")}}},
	/* 5.4.18 Length MsgType MsgId */
	{"UNSUBACK", WIRE(0x04, 0x15, 0x00, 0x0A), {.type = MQTTSN_UNSUBACK, .u.msg_id = 10}},
	/* 5.4.19 Length MsgType ClientId (optional) */
	{"PINGREQ", WIRE(0x02, 0x16), {.type = MQTTSN_PINGREQ, .u.pingreq = {NOBYTES}}},
	{"PINGREQ waking", WIRES("\x07\x16" "sens1"),
	 {.type = MQTTSN_PINGREQ, .u.pingreq = {BYTES("sens1")}}},
	/* 5.4.20 Length MsgType */
	{"PINGRESP", WIRE(0x02, 0x17), {.type = MQTTSN_PINGRESP}},
	/* 5.4.21 Length MsgType Duration (optional) */
	{"DISCONNECT", WIRE(0x02, 0x18), {.type = MQTTSN_DISCONNECT, .u.disconnect = {false, 0}}},
	{"DISCONNECT sleep", WIRE(0x04, 0x18, 0x0E, 0x10),
	 {.type = MQTTSN_DISCONNECT, .u.disconnect = {true, 3600}}},
	{"DISCONNECT sleep 0", WIRE(0x04, 0x18, 0x00, 0x00),
	 {.type = MQTTSN_DISCONNECT, .u.disconnect = {true, 0}}},
	/* 5.4.22 Length MsgType Flags WillTopic */
	{"WILLTOPICUPD", WIRES("\x0b\x1a\x40" "st/1/lwt"),
	 {.type = MQTTSN_WILLTOPICUPD,
	  .u.willtopic = {FLAGS(0, 2, 0, 0, 0, 0), BYTES("st/1/lwt")}}},
	{"WILLTOPICUPD empty", WIRE(0x02, 0x1A),
	 {.type = MQTTSN_WILLTOPICUPD, .u.willtopic = {FLAGS(0, 0, 0, 0, 0, 0), NOBYTES}}},
	/* 5.4.23 Length MsgType WillMsg */
	{"WILLMSGUPD", WIRES("\x06\x1c" "bye!"),
	 {.type = MQTTSN_WILLMSGUPD, .u.willmsg = {BYTES("bye!")}}},
	{"WILLMSGUPD empty", WIRE(0x02, 0x1C), {.type = MQTTSN_WILLMSGUPD, .u.willmsg = {NOBYTES}}},
	/* 5.4.24, 5.4.25 Length MsgType ReturnCode */
	{"WILLTOPICRESP", WIRE(0x03, 0x1B, 0x00), {.type = MQTTSN_WILLTOPICRESP, .u.rc = 0}},
	{"WILLMSGRESP", WIRE(0x03, 0x1D, 0x03), {.type = MQTTSN_WILLMSGRESP, .u.rc = 3}},
	/* 5.5 Length MsgType Ctrl WirelessNodeId MQTT-SN-message */
	{"ENCAPSULATED PUBCOMP", WIRE(0x05, 0xFE, 0x01, 0xAB, 0xCD, 0x04, 0x0E, 0x12, 0x34),
	 {.type = MQTTSN_ENCAPSULATED,
	  .u.encap = {1, BYTES("\xab\xcd"), BYTES("\x04\x0e\x12\x34")}}},
	{"ENCAPSULATED PUBLISH, no node id",
	 WIRES("\x03\xfe\x02\x0b\x0c\x20\x00\x05\x12\x34" "21.5"),
	 {.type = MQTTSN_ENCAPSULATED,
	  .u.encap = {2, NOBYTES, BYTES("\x0b\x0c\x20\x00\x05\x12\x34" "21.5")}}},
	/* 5.2.1: a 3-octet length header where a 1-octet one would do */
	{"3-octet header CONNACK", WIRE(0x01, 0x00, 0x05, 0x05, 0x00),
	 {.type = MQTTSN_CONNACK, .u.rc = 0}},
	{"3-octet header PINGRESP", WIRE(0x01, 0x00, 0x04, 0x17), {.type = MQTTSN_PINGRESP}},
};

static bool vec_canonical(const struct vec *v)
{
	return v->wire[0] != 0x01;
}

/* Decode field by field, encode back to the same octets, format. */
static void test_vector(void **state)
{
	const struct vec *v = *state;
	struct mqttsn_msg m;
	uint8_t *b;
	int r;

	b = decode_keep(v->wire, v->len, &m, &r);
	expect_err(r, MQTTSN_OK, v->name);
	assert_msg_equal(&m, &v->msg);
	check_reencode(v->wire, v->len, &m);
	free(b);
	if (!vec_canonical(v))
		return;
	assert_int_equal(mqttsn_encoded_len(&v->msg), (int)v->len);
	b = malloc(v->len);
	assert_non_null(b);
	assert_int_equal(mqttsn_encode(b, v->len, &v->msg), (int)v->len);
	assert_memory_equal(b, v->wire, v->len);
	free(b);
}

/*
 * The same vector damaged: cut short by every number of octets (with the
 * length left alone, and rewritten to match), declared length off by one
 * either way, an octet appended, every single bit flipped, and encoded
 * into every buffer that is too small.
 */
static void test_vector_mangled(void **state)
{
	const struct vec *v = *state;
	bool encap = v->msg.type == MQTTSN_ENCAPSULATED;
	bool hdr1 = v->wire[0] != 0x01;
	struct mqttsn_msg m;
	uint8_t *b;
	size_t k, n, bit;
	int r;

	for (k = 1; k <= v->len; k++) {
		r = decode_exact(v->wire, v->len - k, &m);
		if (r == MQTTSN_OK)
			fail_msg("%s cut by %zu decoded", v->name, k);
		assert_true(mqttsn_err_is_malformed(r) || mqttsn_err_is_protocol(r));
	}

	for (k = 1; hdr1 && k < v->len; k++) {
		n = v->len - k;
		b = dup_exact(v->wire, n);
		b[0] = (uint8_t)n;
		if (mqttsn_decode(b, n, &m) == MQTTSN_OK)
			check_reencode(b, n, &m);
		free(b);
	}

	if (hdr1) {
		b = dup_exact(v->wire, v->len);
		if (v->len < 255) {
			b[0] = (uint8_t)(v->len + 1);
			r = mqttsn_decode(b, v->len, &m);
			if (encap)
				assert_true(r < 0);
			else
				expect_err(r, MQTTSN_ERR_LENGTH, "declared one more");
		}
		b[0] = (uint8_t)(v->len - 1);
		r = mqttsn_decode(b, v->len, &m);
		if (encap)
			assert_true(r < 0);
		else
			expect_err(r, v->len - 1 >= 2 ? MQTTSN_ERR_LENGTH : MQTTSN_ERR_SHORT,
			           "declared one less");
		free(b);
	}

	b = malloc(v->len + 1);
	assert_non_null(b);
	memcpy(b, v->wire, v->len);
	b[v->len] = 0x00;
	expect_err(mqttsn_decode(b, v->len + 1, &m),
	           encap ? MQTTSN_ERR_ENCAP_INNER : MQTTSN_ERR_LENGTH, "one octet appended");
	free(b);

	for (bit = 0; bit < v->len * 8; bit++) {
		b = dup_exact(v->wire, v->len);
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (mqttsn_decode(b, v->len, &m) == MQTTSN_OK)
			check_reencode(b, v->len, &m);
		free(b);
	}

	for (n = 0; vec_canonical(v) && n < v->len; n++) {
		b = malloc(n ? n : 1);
		assert_non_null(b);
		expect_err(mqttsn_encode(b, n, &v->msg), MQTTSN_ERR_NO_SPACE, v->name);
		free(b);
	}
	if (vec_canonical(v))
		expect_err(mqttsn_encode(NULL, 0, &v->msg), MQTTSN_ERR_NO_SPACE, "NULL, 0");
}

/* Every type but the reserved ones has at least one vector above. */
static void test_vectors_cover_types(void **state)
{
	int t;
	size_t i;

	(void)state;
	for (t = 0; t < 256; t++) {
		bool seen = false;

		if (mqttsn_type_name(t) == NULL)
			continue;
		for (i = 0; i < N_OF(vectors); i++)
			seen = seen || (int)vectors[i].msg.type == t;
		if (!seen)
			fail_msg("no known-answer vector for %s", mqttsn_type_name(t));
	}
}

/* ---------------------------------------------------------------- bad datagrams */

struct bad {
	const char *name;
	const uint8_t *wire;
	size_t len;
	int want;
};

static const struct bad bads[] = {
	/* too short to hold a header and a type */
	{"empty", (const uint8_t *)"", 0, MQTTSN_ERR_SHORT},
	{"1 octet", WIRE(0x05), MQTTSN_ERR_SHORT},
	{"0x01 alone", WIRE(0x01), MQTTSN_ERR_SHORT},
	{"2-octet datagram starting 0x01", WIRE(0x01, 0x00), MQTTSN_ERR_SHORT},
	{"2-octet datagram 0x01 0x17", WIRE(0x01, 0x17), MQTTSN_ERR_SHORT},
	{"3-octet header, no type", WIRE(0x01, 0x00, 0x05), MQTTSN_ERR_SHORT},
	{"3-octet header 0x01 0x00 0x00", WIRE(0x01, 0x00, 0x00), MQTTSN_ERR_SHORT},
	/* length headers that cannot be */
	{"declared 0", WIRE(0x00, 0x17), MQTTSN_ERR_BAD_HEADER},
	{"3-octet declared 0", WIRE(0x01, 0x00, 0x00, 0x17), MQTTSN_ERR_BAD_HEADER},
	{"3-octet declared 3", WIRE(0x01, 0x00, 0x03, 0x17), MQTTSN_ERR_BAD_HEADER},
	/* declared length against the datagram */
	{"declared 3, 2 octets", WIRE(0x03, 0x17), MQTTSN_ERR_LENGTH},
	{"declared 2, 3 octets", WIRE(0x02, 0x17, 0x00), MQTTSN_ERR_LENGTH},
	{"declared 255, 4 octets", WIRE(0xFF, 0x0C, 0x00, 0x00), MQTTSN_ERR_LENGTH},
	{"3-octet declared 5, 4 octets", WIRE(0x01, 0x00, 0x05, 0x17), MQTTSN_ERR_LENGTH},
	{"3-octet declared 4, 5 octets", WIRE(0x01, 0x00, 0x04, 0x17, 0x00), MQTTSN_ERR_LENGTH},
	{"3-octet declared 65535, 5 octets", WIRE(0x01, 0xFF, 0xFF, 0x05, 0x00), MQTTSN_ERR_LENGTH},
	{"ENCAPSULATED declared past the end", WIRE(0x06, 0xFE, 0x00, 0xAB), MQTTSN_ERR_LENGTH},
	/* reserved types */
	{"type 0x03", WIRE(0x02, 0x03), MQTTSN_ERR_TYPE},
	{"type 0x11", WIRE(0x03, 0x11, 0x00), MQTTSN_ERR_TYPE},
	{"type 0x19", WIRE(0x02, 0x19), MQTTSN_ERR_TYPE},
	{"type 0x1E", WIRE(0x02, 0x1E), MQTTSN_ERR_TYPE},
	{"type 0xFD", WIRE(0x02, 0xFD), MQTTSN_ERR_TYPE},
	{"type 0xFF", WIRE(0x04, 0xFF, 0x00, 0x00), MQTTSN_ERR_TYPE},
	{"3-octet header type 0x03", WIRE(0x01, 0x00, 0x04, 0x03), MQTTSN_ERR_TYPE},
	/* shorter than the type's fixed fields */
	{"ADVERTISE without duration", WIRE(0x03, 0x00, 0x2A), MQTTSN_ERR_TRUNCATED},
	{"ADVERTISE half a duration", WIRE(0x04, 0x00, 0x2A, 0x03), MQTTSN_ERR_TRUNCATED},
	{"SEARCHGW without radius", WIRE(0x02, 0x01), MQTTSN_ERR_TRUNCATED},
	{"GWINFO without gw id", WIRE(0x02, 0x02), MQTTSN_ERR_TRUNCATED},
	{"CONNECT without duration", WIRE(0x04, 0x04, 0x04, 0x01), MQTTSN_ERR_TRUNCATED},
	{"CONNECT half a duration", WIRE(0x05, 0x04, 0x04, 0x01, 0x00), MQTTSN_ERR_TRUNCATED},
	{"CONNACK without rc", WIRE(0x02, 0x05), MQTTSN_ERR_TRUNCATED},
	{"REGISTER without msg id", WIRE(0x04, 0x0A, 0x00, 0x00), MQTTSN_ERR_TRUNCATED},
	{"REGACK without rc", WIRE(0x06, 0x0B, 0x00, 0x05, 0x00, 0x01), MQTTSN_ERR_TRUNCATED},
	{"PUBLISH half a msg id", WIRE(0x06, 0x0C, 0x20, 0x00, 0x05, 0x12), MQTTSN_ERR_TRUNCATED},
	{"PUBLISH flags only", WIRE(0x03, 0x0C, 0x20), MQTTSN_ERR_TRUNCATED},
	{"PUBACK without rc", WIRE(0x06, 0x0D, 0x00, 0x05, 0x12, 0x34), MQTTSN_ERR_TRUNCATED},
	{"PUBCOMP half a msg id", WIRE(0x03, 0x0E, 0x12), MQTTSN_ERR_TRUNCATED},
	{"PUBREC without msg id", WIRE(0x02, 0x0F), MQTTSN_ERR_TRUNCATED},
	{"PUBREL half a msg id", WIRE(0x03, 0x10, 0x00), MQTTSN_ERR_TRUNCATED},
	{"SUBSCRIBE without msg id", WIRE(0x03, 0x12, 0x00), MQTTSN_ERR_TRUNCATED},
	{"SUBACK without rc", WIRE(0x07, 0x13, 0x20, 0x00, 0x05, 0x00, 0x07), MQTTSN_ERR_TRUNCATED},
	{"UNSUBSCRIBE half a msg id", WIRE(0x04, 0x14, 0x00, 0x00), MQTTSN_ERR_TRUNCATED},
	{"UNSUBACK without msg id", WIRE(0x02, 0x15), MQTTSN_ERR_TRUNCATED},
	{"WILLTOPICRESP without rc", WIRE(0x02, 0x1B), MQTTSN_ERR_TRUNCATED},
	{"WILLMSGRESP without rc", WIRE(0x02, 0x1D), MQTTSN_ERR_TRUNCATED},
	{"ENCAPSULATED without ctrl", WIRE(0x02, 0xFE, 0x02, 0x17), MQTTSN_ERR_TRUNCATED},
	/* octets after the last field of a fixed-size type */
	{"ADVERTISE + 1", WIRE(0x06, 0x00, 0x2A, 0x03, 0x84, 0x00), MQTTSN_ERR_TRAILING},
	{"SEARCHGW + 1", WIRE(0x04, 0x01, 0x02, 0x00), MQTTSN_ERR_TRAILING},
	{"CONNACK + 1", WIRE(0x04, 0x05, 0x00, 0x00), MQTTSN_ERR_TRAILING},
	{"WILLTOPICREQ + 1", WIRE(0x03, 0x06, 0x00), MQTTSN_ERR_TRAILING},
	{"WILLMSGREQ + 1", WIRE(0x03, 0x08, 0x00), MQTTSN_ERR_TRAILING},
	{"REGACK + 1", WIRE(0x08, 0x0B, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00), MQTTSN_ERR_TRAILING},
	{"PUBACK + 1", WIRE(0x08, 0x0D, 0x00, 0x05, 0x12, 0x34, 0x02, 0x00), MQTTSN_ERR_TRAILING},
	{"PUBCOMP + 1", WIRE(0x05, 0x0E, 0x12, 0x34, 0x00), MQTTSN_ERR_TRAILING},
	{"PUBREC + 1", WIRE(0x05, 0x0F, 0x12, 0x34, 0x00), MQTTSN_ERR_TRAILING},
	{"PUBREL + 1", WIRE(0x05, 0x10, 0x12, 0x34, 0x00), MQTTSN_ERR_TRAILING},
	{"SUBACK + 1", WIRE(0x09, 0x13, 0x20, 0x00, 0x05, 0x00, 0x07, 0x00, 0x00),
	 MQTTSN_ERR_TRAILING},
	{"UNSUBACK + 1", WIRE(0x05, 0x15, 0x00, 0x0A, 0x00), MQTTSN_ERR_TRAILING},
	{"PINGRESP + 1", WIRE(0x03, 0x17, 0x00), MQTTSN_ERR_TRAILING},
	{"DISCONNECT 5 octets", WIRE(0x05, 0x18, 0x0E, 0x10, 0x00), MQTTSN_ERR_TRAILING},
	{"WILLTOPICRESP + 1", WIRE(0x04, 0x1B, 0x00, 0x00), MQTTSN_ERR_TRAILING},
	{"WILLMSGRESP + 1", WIRE(0x04, 0x1D, 0x00, 0x00), MQTTSN_ERR_TRAILING},
	{"SUBSCRIBE predefined, 3-octet topic id",
	 WIRE(0x08, 0x12, 0x01, 0x00, 0x01, 0x00, 0x10, 0x00), MQTTSN_ERR_TRAILING},
	{"UNSUBSCRIBE predefined, 3-octet topic id",
	 WIRE(0x08, 0x14, 0x01, 0x00, 0x01, 0x00, 0x10, 0x00), MQTTSN_ERR_TRAILING},
	/* a field longer than what is left */
	{"DISCONNECT 3 octets", WIRE(0x03, 0x18, 0x0E), MQTTSN_ERR_FIELD},
	{"SUBSCRIBE predefined, 1-octet topic id", WIRE(0x06, 0x12, 0x01, 0x00, 0x01, 0x00),
	 MQTTSN_ERR_FIELD},
	{"SUBSCRIBE predefined, no topic id", WIRE(0x05, 0x12, 0x01, 0x00, 0x01), MQTTSN_ERR_FIELD},
	{"UNSUBSCRIBE predefined, 1-octet topic id", WIRE(0x06, 0x14, 0x01, 0x00, 0x01, 0x00),
	 MQTTSN_ERR_FIELD},
	/* encapsulation */
	{"ENCAPSULATED nothing inside", WIRE(0x03, 0xFE, 0x00), MQTTSN_ERR_ENCAP_INNER},
	{"ENCAPSULATED 1 octet inside", WIRE(0x03, 0xFE, 0x00, 0x02), MQTTSN_ERR_ENCAP_INNER},
	{"ENCAPSULATED inner 2 octets from 0x01", WIRE(0x03, 0xFE, 0x00, 0x01, 0x00),
	 MQTTSN_ERR_ENCAP_INNER},
	{"ENCAPSULATED inner length wrong", WIRE(0x03, 0xFE, 0x00, 0x05, 0x0E, 0x12, 0x34),
	 MQTTSN_ERR_ENCAP_INNER},
	{"ENCAPSULATED inner trailing", WIRE(0x03, 0xFE, 0x00, 0x02, 0x17, 0x00),
	 MQTTSN_ERR_ENCAP_INNER},
	{"ENCAPSULATED inner reserved type", WIRE(0x03, 0xFE, 0x00, 0x02, 0x03),
	 MQTTSN_ERR_ENCAP_INNER},
	{"ENCAPSULATED inner truncated", WIRE(0x03, 0xFE, 0x00, 0x03, 0x0E, 0x12),
	 MQTTSN_ERR_ENCAP_INNER},
	{"ENCAPSULATED nested", WIRE(0x03, 0xFE, 0x00, 0x03, 0xFE, 0x00, 0x02, 0x17),
	 MQTTSN_ERR_ENCAP_NESTED},
	{"ENCAPSULATED nested, inner malformed", WIRE(0x03, 0xFE, 0x00, 0x03, 0xFE, 0x00),
	 MQTTSN_ERR_ENCAP_NESTED},
	{"ENCAPSULATED nested, 3-octet header",
	 WIRE(0x04, 0xFE, 0x00, 0x01, 0x01, 0x00, 0x05, 0xFE, 0x00, 0x02, 0x17),
	 MQTTSN_ERR_ENCAP_NESTED},
	/* well-formed inner message, but not allowed: its own error */
	{"ENCAPSULATED inner protocol id 2",
	 WIRES("\x03\xfe\x00\x07\x04\x04\x02\x00\x3c" "a"), MQTTSN_ERR_PROTOCOL_ID},
	/* protocol-invalid */
	{"PUBLISH topic id type 0b11", WIRE(0x07, 0x0C, 0x03, 0x00, 0x05, 0x00, 0x00),
	 MQTTSN_ERR_TOPIC_ID_TYPE},
	{"SUBSCRIBE topic id type 0b11", WIRE(0x07, 0x12, 0x03, 0x00, 0x01, 0x00, 0x10),
	 MQTTSN_ERR_TOPIC_ID_TYPE},
	{"SUBSCRIBE topic id type 0b11, no topic", WIRE(0x05, 0x12, 0x23, 0x00, 0x01),
	 MQTTSN_ERR_TOPIC_ID_TYPE},
	{"UNSUBSCRIBE topic id type 0b11", WIRE(0x07, 0x14, 0x03, 0x00, 0x01, 0x00, 0x10),
	 MQTTSN_ERR_TOPIC_ID_TYPE},
	{"CONNECT protocol id 0", WIRES("\x07\x04\x04\x00\x00\x3c" "a"), MQTTSN_ERR_PROTOCOL_ID},
	{"CONNECT protocol id 2", WIRES("\x07\x04\x04\x02\x00\x3c" "a"), MQTTSN_ERR_PROTOCOL_ID},
	{"CONNECT protocol id 0x03 (MQTT 3.1)", WIRES("\x07\x04\x04\x03\x00\x3c" "a"),
	 MQTTSN_ERR_PROTOCOL_ID},
	{"CONNECT empty client id", WIRE(0x06, 0x04, 0x04, 0x01, 0x00, 0x3C), MQTTSN_ERR_CLIENT_ID},
	{"CONNECT 24-char client id", WIRES("\x1e\x04\x04\x01\x00\x3c" ID24), MQTTSN_ERR_CLIENT_ID},
	{"PINGREQ 24-char client id", WIRES("\x1a\x16" ID24), MQTTSN_ERR_CLIENT_ID},
	{"SUBSCRIBE qos -1", WIRES("\x07\x12\x60\x00\x01" "ab"), MQTTSN_ERR_QOS},
	{"SUBSCRIBE qos -1 predefined", WIRE(0x07, 0x12, 0x61, 0x00, 0x01, 0x00, 0x10),
	 MQTTSN_ERR_QOS},
	{"SUBACK qos -1", WIRE(0x08, 0x13, 0x60, 0x00, 0x05, 0x00, 0x07, 0x00), MQTTSN_ERR_QOS},
	{"WILLTOPIC qos -1", WIRES("\x04\x07\x60" "t"), MQTTSN_ERR_QOS},
	{"WILLTOPICUPD qos -1", WIRES("\x04\x1a\x70" "t"), MQTTSN_ERR_QOS},
	{"SUBSCRIBE short name of 0", WIRE(0x05, 0x12, 0x02, 0x00, 0x01), MQTTSN_ERR_SHORT_TOPIC},
	{"SUBSCRIBE short name of 1", WIRES("\x06\x12\x02\x00\x01" "a"), MQTTSN_ERR_SHORT_TOPIC},
	{"SUBSCRIBE short name of 3", WIRES("\x08\x12\x02\x00\x01" "abc"), MQTTSN_ERR_SHORT_TOPIC},
	{"UNSUBSCRIBE short name of 1", WIRES("\x06\x14\x02\x00\x01" "a"), MQTTSN_ERR_SHORT_TOPIC},
	{"UNSUBSCRIBE short name of 3", WIRES("\x08\x14\x02\x00\x01" "abc"),
	 MQTTSN_ERR_SHORT_TOPIC},
	{"WILLTOPIC flags, empty topic", WIRE(0x03, 0x07, 0x00), MQTTSN_ERR_WILL_TOPIC},
	{"WILLTOPIC qos 1 flags, empty topic", WIRE(0x03, 0x07, 0x20), MQTTSN_ERR_WILL_TOPIC},
	{"WILLTOPICUPD flags, empty topic", WIRE(0x03, 0x1A, 0x30), MQTTSN_ERR_WILL_TOPIC},
	{"REGISTER empty topic", WIRE(0x06, 0x0A, 0x00, 0x00, 0x00, 0x01), MQTTSN_ERR_TOPIC_EMPTY},
	{"SUBSCRIBE empty name", WIRE(0x05, 0x12, 0x20, 0x00, 0x01), MQTTSN_ERR_TOPIC_EMPTY},
	{"UNSUBSCRIBE empty name", WIRE(0x05, 0x14, 0x00, 0x00, 0x01), MQTTSN_ERR_TOPIC_EMPTY},
	/* malformed and invalid at once: malformed wins */
	{"SUBACK qos -1 + 1 octet", WIRE(0x09, 0x13, 0x60, 0x00, 0x05, 0x00, 0x07, 0x00, 0x00),
	 MQTTSN_ERR_TRAILING},
	{"CONNECT protocol id 2, truncated", WIRE(0x05, 0x04, 0x04, 0x02, 0x00),
	 MQTTSN_ERR_TRUNCATED},
	{"SUBSCRIBE qos -1 predefined, 1-octet id", WIRE(0x06, 0x12, 0x61, 0x00, 0x01, 0x00),
	 MQTTSN_ERR_FIELD},
	{"CONNECT empty id, wrong length", WIRE(0x07, 0x04, 0x04, 0x01, 0x00, 0x3C),
	 MQTTSN_ERR_LENGTH},
};

static void test_bad_datagrams(void **state)
{
	struct mqttsn_msg m;
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < N_OF(bads); i++) {
		int r = decode_exact(bads[i].wire, bads[i].len, &m);

		if (r != bads[i].want) {
			print_error("%s: got %d (%s), want %d (%s)\n", bads[i].name, r,
			            mqttsn_strerror(r), bads[i].want, mqttsn_strerror(bads[i].want));
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/*
 * Octets after MsgType per type, from the layouts of 5.4 and 5.5 (-1: the
 * last field takes the rest). Every size below the minimum is TRUNCATED and
 * every size above a fixed one TRAILING, in both length header forms.
 */
static void test_type_sizes(void **state)
{
	static const struct {
		uint8_t type;
		int min, max;
	} sizes[] = {
		{MQTTSN_ADVERTISE, 3, 3},     {MQTTSN_SEARCHGW, 1, 1},
		{MQTTSN_GWINFO, 1, -1},       {MQTTSN_CONNECT, 4, -1},
		{MQTTSN_CONNACK, 1, 1},       {MQTTSN_WILLTOPICREQ, 0, 0},
		{MQTTSN_WILLTOPIC, 0, -1},    {MQTTSN_WILLMSGREQ, 0, 0},
		{MQTTSN_WILLMSG, 0, -1},      {MQTTSN_REGISTER, 4, -1},
		{MQTTSN_REGACK, 5, 5},        {MQTTSN_PUBLISH, 5, -1},
		{MQTTSN_PUBACK, 5, 5},        {MQTTSN_PUBCOMP, 2, 2},
		{MQTTSN_PUBREC, 2, 2},        {MQTTSN_PUBREL, 2, 2},
		{MQTTSN_SUBSCRIBE, 3, -1},    {MQTTSN_SUBACK, 6, 6},
		{MQTTSN_UNSUBSCRIBE, 3, -1},  {MQTTSN_UNSUBACK, 2, 2},
		{MQTTSN_PINGREQ, 0, -1},      {MQTTSN_PINGRESP, 0, 0},
		{MQTTSN_DISCONNECT, 0, 2},    {MQTTSN_WILLTOPICUPD, 0, -1},
		{MQTTSN_WILLTOPICRESP, 1, 1}, {MQTTSN_WILLMSGUPD, 0, -1},
		{MQTTSN_WILLMSGRESP, 1, 1},   {MQTTSN_ENCAPSULATED, 1, -1},
	};
	uint8_t w[16];
	struct mqttsn_msg m;
	size_t i, hdr, body;
	int named = 0;

	(void)state;
	for (i = 0; i < N_OF(sizes); i++) {
		for (hdr = 1; hdr <= 3; hdr += 2) {
			for (body = 0; body < 10; body++) {
				size_t n = hdr + 1 + body;
				int r;

				memset(w, 0, sizeof w);
				if (hdr == 1) {
					w[0] = (uint8_t)n;
				} else {
					w[0] = 0x01;
					w[2] = (uint8_t)n;
				}
				w[hdr] = sizes[i].type;
				r = decode_exact(w, n, &m);
				if ((int)body < sizes[i].min)
					expect_err(r, MQTTSN_ERR_TRUNCATED, mqttsn_type_name(sizes[i].type));
				else if (sizes[i].max >= 0 && (int)body > sizes[i].max)
					expect_err(r, MQTTSN_ERR_TRAILING, mqttsn_type_name(sizes[i].type));
				else
					assert_false(r == MQTTSN_ERR_TRUNCATED || r == MQTTSN_ERR_TRAILING);
			}
		}
	}
	/* and the table names every type there is */
	for (i = 0; i < 256; i++)
		named += mqttsn_type_name((int)i) != NULL;
	assert_int_equal(named, (int)N_OF(sizes));
}

/* Every value of the first octet of a 2-octet datagram, and of the type. */
static void test_every_type_octet(void **state)
{
	struct mqttsn_msg m;
	int t;

	(void)state;
	for (t = 0; t < 256; t++) {
		uint8_t w[2] = {0x02, (uint8_t)t};
		int r = decode_exact(w, 2, &m);

		if (mqttsn_type_name(t) == NULL)
			expect_err(r, MQTTSN_ERR_TYPE, "reserved type");
		else
			assert_true(r == MQTTSN_OK || r == MQTTSN_ERR_TRUNCATED);
		if (r == MQTTSN_OK)
			assert_int_equal(m.type, t);
	}
	/* only the reserved codes of 5.2.1 are missing a name */
	for (t = 0; t < 256; t++) {
		bool reserved = t == 0x03 || t == 0x11 || t == 0x19 || (t >= 0x1E && t <= 0xFD) ||
		                t == 0xFF;

		assert_int_equal(mqttsn_type_name(t) == NULL, reserved);
	}
	assert_null(mqttsn_type_name(-1));
	assert_null(mqttsn_type_name(256));
	assert_string_equal(mqttsn_type_name(MQTTSN_PUBLISH), "PUBLISH");
	assert_string_equal(mqttsn_type_name(MQTTSN_ENCAPSULATED), "ENCAPSULATED");
	assert_string_equal(mqttsn_type_name(MQTTSN_WILLTOPICUPD), "WILLTOPICUPD");
}

/* Every 1-octet datagram, every 2-octet datagram, every 3-octet one
 * starting 0x01: none may decode to something that does not re-encode. */
static void test_tiny_datagrams(void **state)
{
	struct mqttsn_msg m;
	unsigned a, b;
	uint8_t w[3];
	int r;

	(void)state;
	for (a = 0; a < 256; a++) {
		w[0] = (uint8_t)a;
		expect_err(decode_exact(w, 1, &m), MQTTSN_ERR_SHORT, "1 octet");
		for (b = 0; b < 256; b++) {
			w[1] = (uint8_t)b;
			uint8_t *copy = decode_keep(w, 2, &m, &r);

			if (a == 0x01)
				expect_err(r, MQTTSN_ERR_SHORT, "2 octets from 0x01");
			if (r == MQTTSN_OK)
				check_reencode(w, 2, &m);
			free(copy);
		}
	}
	w[0] = 0x01;
	for (a = 0; a < 256; a++) {
		for (b = 0; b < 256; b++) {
			w[1] = (uint8_t)a;
			w[2] = (uint8_t)b;
			expect_err(decode_exact(w, 3, &m), MQTTSN_ERR_SHORT, "3 octets from 0x01");
		}
	}
}

/* ---------------------------------------------------------------- round trips */

/* encode -> decode -> same fields -> encode -> same octets */
static void roundtrip(const struct mqttsn_msg *m)
{
	struct mqttsn_msg d;
	uint8_t *b, *b2;
	int n = mqttsn_encoded_len(m);

	if (n <= 0) {
		char line[256];

		(void)mqttsn_format(line, sizeof line, m);
		fail_msg("encoded_len %d (%s) for %s", n, mqttsn_strerror(n), line);
	}
	b = malloc((size_t)n);
	b2 = malloc((size_t)n);
	assert_non_null(b);
	assert_non_null(b2);
	assert_int_equal(mqttsn_encode(b, (size_t)n, m), n);
	/* 5.2.1: the 3-octet form exactly when the 1-octet one cannot hold it;
	 * 5.5: for an encapsulation that is the header without the inner message */
	assert_int_equal(b[0] == 0x01, (size_t)n - (m->type == MQTTSN_ENCAPSULATED
	                                                ? m->u.encap.inner.len
	                                                : 0) > 255);
	expect_err(mqttsn_decode(b, (size_t)n, &d), MQTTSN_OK, "roundtrip decode");
	assert_msg_equal(&d, m);
	assert_int_equal(mqttsn_encode(b2, (size_t)n, &d), n);
	assert_memory_equal(b, b2, (size_t)n);
	check_format(&d);
	free(b);
	free(b2);
}

static uint8_t filler[70000];

static struct mqttsn_bytes fill(size_t n)
{
	struct mqttsn_bytes b = {n ? filler : NULL, n};

	return b;
}

static struct mqttsn_flags mkflags(bool dup, int qos, bool retain, bool will, bool clean,
                                   unsigned tid)
{
	struct mqttsn_flags f = {dup, qos, retain, will, clean, (uint8_t)tid};

	return f;
}

static void test_roundtrip_publish(void **state)
{
	static const size_t sizes[] = {0, 1, 4, 248, 249, 1000};
	struct mqttsn_msg m;
	int qos, dup, retain;
	unsigned tid;
	size_t s;
	int count = 0;

	(void)state;
	for (qos = -1; qos <= 2; qos++)
		for (dup = 0; dup < 2; dup++)
			for (retain = 0; retain < 2; retain++)
				for (tid = 0; tid < 3; tid++)
					for (s = 0; s < N_OF(sizes); s++) {
						memset(&m, 0, sizeof m);
						m.type = MQTTSN_PUBLISH;
						m.u.publish.flags = mkflags(dup, qos, retain, 0, 0, tid);
						m.u.publish.topic_id =
						    tid == MQTTSN_TOPIC_SHORT ? 0x6162 : (uint16_t)(s * 7 + tid);
						m.u.publish.msg_id = qos > 0 ? (uint16_t)(0xFFFF - s) : 0;
						m.u.publish.data = fill(sizes[s]);
						roundtrip(&m);
						count++;
					}
	assert_int_equal(count, 4 * 2 * 2 * 3 * (int)N_OF(sizes));
}

static void test_roundtrip_connect(void **state)
{
	static const char *const ids[] = {"a", "sens1", ID23};
	static const uint16_t durations[] = {0, 1, 60, 65535};
	struct mqttsn_msg m;
	int will, clean;
	size_t i, d;

	(void)state;
	for (will = 0; will < 2; will++)
		for (clean = 0; clean < 2; clean++)
			for (i = 0; i < N_OF(ids); i++)
				for (d = 0; d < N_OF(durations); d++) {
					memset(&m, 0, sizeof m);
					m.type = MQTTSN_CONNECT;
					m.u.connect.flags = mkflags(0, 0, 0, will, clean, 0);
					m.u.connect.protocol_id = MQTTSN_PROTOCOL_ID;
					m.u.connect.duration = durations[d];
					m.u.connect.client_id.ptr = (const uint8_t *)ids[i];
					m.u.connect.client_id.len = strlen(ids[i]);
					roundtrip(&m);
				}
}

static void test_roundtrip_willtopic(void **state)
{
	static const int types[] = {MQTTSN_WILLTOPIC, MQTTSN_WILLTOPICUPD};
	static const size_t sizes[] = {1, 8, 300};
	struct mqttsn_msg m;
	size_t t, s;
	int qos, retain;

	(void)state;
	for (t = 0; t < N_OF(types); t++) {
		memset(&m, 0, sizeof m);
		m.type = (enum mqttsn_type)types[t];
		roundtrip(&m); /* the empty form */
		for (qos = 0; qos <= 2; qos++)
			for (retain = 0; retain < 2; retain++)
				for (s = 0; s < N_OF(sizes); s++) {
					m.u.willtopic.flags = mkflags(0, qos, retain, 0, 0, 0);
					m.u.willtopic.topic = fill(sizes[s]);
					roundtrip(&m);
				}
	}
}

static void test_roundtrip_subscribe(void **state)
{
	static const int types[] = {MQTTSN_SUBSCRIBE, MQTTSN_UNSUBSCRIBE};
	struct mqttsn_msg m;
	size_t t;
	int qos, dup;
	unsigned tid;

	(void)state;
	for (t = 0; t < N_OF(types); t++)
		for (qos = 0; qos <= 2; qos++)
			for (dup = 0; dup < 2; dup++)
				for (tid = 0; tid < 3; tid++) {
					/* UNSUBSCRIBE's flags other than the topic id type are not used */
					if (types[t] == MQTTSN_UNSUBSCRIBE && (qos != 0 || dup))
						continue;
					memset(&m, 0, sizeof m);
					m.type = (enum mqttsn_type)types[t];
					m.u.subscribe.flags = mkflags(dup, qos, 0, 0, 0, tid);
					m.u.subscribe.msg_id = (uint16_t)(qos * 100 + (int)tid);
					if (tid == MQTTSN_TOPIC_PREDEFINED) {
						m.u.subscribe.topic_id = 0xFFFE;
					} else if (tid == MQTTSN_TOPIC_SHORT) {
						m.u.subscribe.topic_id = 0x7A31; /* decode fills it in */
						m.u.subscribe.topic_name.ptr = (const uint8_t *)"z1";
						m.u.subscribe.topic_name.len = 2;
					} else {
						m.u.subscribe.topic_name.ptr = (const uint8_t *)"a/+/#";
						m.u.subscribe.topic_name.len = 5;
					}
					roundtrip(&m);
				}
}

static void test_roundtrip_suback(void **state)
{
	static const uint16_t ids[] = {0, 1, 0xFFFF};
	struct mqttsn_msg m;
	int qos;
	unsigned rc;
	size_t i;

	(void)state;
	for (qos = 0; qos <= 2; qos++)
		for (rc = 0; rc <= 3; rc++)
			for (i = 0; i < N_OF(ids); i++) {
				memset(&m, 0, sizeof m);
				m.type = MQTTSN_SUBACK;
				m.u.suback.flags = mkflags(0, qos, 0, 0, 0, 0);
				m.u.suback.topic_id = ids[i];
				m.u.suback.msg_id = ids[N_OF(ids) - 1 - i];
				m.u.suback.rc = (uint8_t)rc;
				roundtrip(&m);
			}
}

/* The flag-less types, each at the extremes of its fields. */
static void test_roundtrip_others(void **state)
{
	static const int ack_types[] = {MQTTSN_PUBCOMP, MQTTSN_PUBREC, MQTTSN_PUBREL,
	                                MQTTSN_UNSUBACK};
	static const int rc_types[] = {MQTTSN_CONNACK, MQTTSN_WILLTOPICRESP, MQTTSN_WILLMSGRESP};
	static const int bare_types[] = {MQTTSN_WILLTOPICREQ, MQTTSN_WILLMSGREQ, MQTTSN_PINGRESP};
	static const int msg_types[] = {MQTTSN_WILLMSG, MQTTSN_WILLMSGUPD};
	static const size_t sizes[] = {0, 1, 252, 253, 254, 300, 65527};
	static const uint16_t u16s[] = {0, 1, 0x00FF, 0xFF00, 0xFFFF};
	struct mqttsn_msg m;
	size_t i, j;

	(void)state;
	for (i = 0; i < N_OF(u16s); i++) {
		memset(&m, 0, sizeof m);
		m.type = MQTTSN_ADVERTISE;
		m.u.advertise.gw_id = (uint8_t)u16s[i];
		m.u.advertise.duration = u16s[i];
		roundtrip(&m);
		m.type = MQTTSN_SEARCHGW;
		m.u.searchgw.radius = (uint8_t)(u16s[i] >> 8);
		roundtrip(&m);
		for (j = 0; j < N_OF(ack_types); j++) {
			m.type = (enum mqttsn_type)ack_types[j];
			m.u.msg_id = u16s[i];
			roundtrip(&m);
		}
		m.type = MQTTSN_REGACK;
		m.u.regack.topic_id = u16s[i];
		m.u.regack.msg_id = u16s[N_OF(u16s) - 1 - i];
		m.u.regack.rc = (uint8_t)(i % 4);
		roundtrip(&m);
		m.type = MQTTSN_PUBACK;
		m.u.puback.topic_id = u16s[i];
		m.u.puback.msg_id = u16s[N_OF(u16s) - 1 - i];
		m.u.puback.rc = (uint8_t)(i % 4);
		roundtrip(&m);
		m.type = MQTTSN_DISCONNECT;
		m.u.disconnect.has_duration = true;
		m.u.disconnect.duration = u16s[i];
		roundtrip(&m);
	}
	for (i = 0; i < 256; i++) {
		for (j = 0; j < N_OF(rc_types); j++) {
			memset(&m, 0, sizeof m);
			m.type = (enum mqttsn_type)rc_types[j];
			m.u.rc = (uint8_t)i;
			roundtrip(&m);
		}
	}
	for (j = 0; j < N_OF(bare_types); j++) {
		memset(&m, 0, sizeof m);
		m.type = (enum mqttsn_type)bare_types[j];
		roundtrip(&m);
	}
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_DISCONNECT;
	roundtrip(&m);
	m.type = MQTTSN_PINGREQ;
	roundtrip(&m);
	for (i = 1; i <= MQTTSN_CLIENT_ID_MAX; i++) {
		m.u.pingreq.client_id = fill(i);
		roundtrip(&m);
	}
	for (i = 0; i < N_OF(sizes); i++) {
		for (j = 0; j < N_OF(msg_types); j++) {
			memset(&m, 0, sizeof m);
			m.type = (enum mqttsn_type)msg_types[j];
			m.u.willmsg.msg = fill(sizes[i]);
			roundtrip(&m);
		}
		memset(&m, 0, sizeof m);
		m.type = MQTTSN_GWINFO;
		m.u.gwinfo.gw_id = (uint8_t)i;
		m.u.gwinfo.gw_addr = fill(sizes[i]);
		roundtrip(&m);
		if (sizes[i] == 0)
			continue;
		memset(&m, 0, sizeof m);
		m.type = MQTTSN_REGISTER;
		m.u.reg.topic_id = (uint16_t)i;
		m.u.reg.msg_id = (uint16_t)(i + 1);
		m.u.reg.topic_name = fill(sizes[i]);
		roundtrip(&m);
	}
	/* the longest of each: 65535 octets with the 3-octet header */
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_WILLMSG;
	m.u.willmsg.msg = fill(65531);
	roundtrip(&m);
	m.type = MQTTSN_GWINFO;
	m.u.gwinfo.gw_addr = fill(65530);
	roundtrip(&m);
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_REGISTER;
	m.u.reg.topic_name = fill(65527);
	roundtrip(&m);
}

static void test_roundtrip_encapsulated(void **state)
{
	static const size_t node_sizes[] = {0, 1, 2, 8, 252, 253, 300};
	uint8_t inner[2][16];
	struct mqttsn_msg m, in;
	unsigned ctrl;
	size_t i, k;
	int n[2];

	(void)state;
	memset(&in, 0, sizeof in);
	in.type = MQTTSN_PINGRESP;
	n[0] = mqttsn_encode(inner[0], sizeof inner[0], &in);
	in.type = MQTTSN_PUBLISH;
	in.u.publish.flags = mkflags(0, -1, 0, 0, 0, MQTTSN_TOPIC_SHORT);
	in.u.publish.topic_id = 0x7478;
	in.u.publish.data.ptr = (const uint8_t *)"42";
	in.u.publish.data.len = 2;
	n[1] = mqttsn_encode(inner[1], sizeof inner[1], &in);
	assert_int_equal(n[0], 2);
	assert_int_equal(n[1], 9);
	for (ctrl = 0; ctrl < 256; ctrl += 85)
		for (i = 0; i < N_OF(node_sizes); i++)
			for (k = 0; k < 2; k++) {
				memset(&m, 0, sizeof m);
				m.type = MQTTSN_ENCAPSULATED;
				m.u.encap.ctrl = (uint8_t)ctrl;
				m.u.encap.node_id = fill(node_sizes[i]);
				m.u.encap.inner.ptr = inner[k];
				m.u.encap.inner.len = (size_t)n[k];
				roundtrip(&m);
			}
}

/*
 * Every one of the 256 flag octets in every type that carries one: decode
 * accepts exactly the combinations its type allows, and what it accepts
 * encodes back to the same octets, unused bits included.
 */
static void test_every_flags_octet(void **state)
{
	struct {
		uint8_t type;
		const uint8_t *rest; /* the octets after Flags */
		size_t rest_len;
	} const kinds[] = {
		{MQTTSN_CONNECT, (const uint8_t *)"\x01\x00\x3c" "c1", 5},
		{MQTTSN_WILLTOPIC, (const uint8_t *)"t/1", 3},
		{MQTTSN_WILLTOPICUPD, (const uint8_t *)"t/1", 3},
		{MQTTSN_PUBLISH, (const uint8_t *)"\x00\x05\x00\x07" "v", 5},
		{MQTTSN_SUBSCRIBE, (const uint8_t *)"\x00\x07" "ab", 4},
		{MQTTSN_UNSUBSCRIBE, (const uint8_t *)"\x00\x07" "ab", 4},
		{MQTTSN_SUBACK, (const uint8_t *)"\x00\x05\x00\x07\x00", 5},
	};
	uint8_t w[16], *copy;
	struct mqttsn_msg m;
	struct mqttsn_flags f;
	size_t k;
	unsigned octet;

	(void)state;
	for (k = 0; k < N_OF(kinds); k++) {
		int accepted = 0;

		for (octet = 0; octet < 256; octet++) {
			size_t n = 3 + kinds[k].rest_len;
			int want = MQTTSN_OK, r;
			bool tid3 = (octet & 3u) == 3u, qos3 = (octet >> 5 & 3u) == 3u;

			w[0] = (uint8_t)n;
			w[1] = kinds[k].type;
			w[2] = (uint8_t)octet;
			memcpy(w + 3, kinds[k].rest, kinds[k].rest_len);
			switch (kinds[k].type) {
			case MQTTSN_PUBLISH:
				want = tid3 ? MQTTSN_ERR_TOPIC_ID_TYPE : MQTTSN_OK;
				break;
			case MQTTSN_SUBSCRIBE:
				want = tid3 ? MQTTSN_ERR_TOPIC_ID_TYPE : qos3 ? MQTTSN_ERR_QOS : MQTTSN_OK;
				break;
			case MQTTSN_UNSUBSCRIBE:
				want = tid3 ? MQTTSN_ERR_TOPIC_ID_TYPE : MQTTSN_OK;
				break;
			case MQTTSN_SUBACK:
			case MQTTSN_WILLTOPIC:
			case MQTTSN_WILLTOPICUPD:
				want = qos3 ? MQTTSN_ERR_QOS : MQTTSN_OK;
				break;
			default:
				break;
			}
			copy = decode_keep(w, n, &m, &r);
			expect_err(r, want, mqttsn_type_name(kinds[k].type));
			if (r != MQTTSN_OK) {
				free(copy);
				continue;
			}
			accepted++;
			mqttsn_flags_unpack((uint8_t)octet, &f);
			switch (m.type) {
			case MQTTSN_CONNECT: assert_flags_equal(&m.u.connect.flags, &f); break;
			case MQTTSN_PUBLISH: assert_flags_equal(&m.u.publish.flags, &f); break;
			case MQTTSN_SUBACK: assert_flags_equal(&m.u.suback.flags, &f); break;
			case MQTTSN_SUBSCRIBE:
			case MQTTSN_UNSUBSCRIBE:
				assert_flags_equal(&m.u.subscribe.flags, &f);
				break;
			default: assert_flags_equal(&m.u.willtopic.flags, &f); break;
			}
			check_reencode(w, n, &m);
			free(copy);
		}
		switch (kinds[k].type) {
		case MQTTSN_CONNECT: assert_int_equal(accepted, 256); break;
		case MQTTSN_SUBSCRIBE: assert_int_equal(accepted, 256 * 3 / 4 * 3 / 4); break;
		default: assert_int_equal(accepted, 192); break;
		}
	}
}

static void test_flags_pack_unpack(void **state)
{
	struct mqttsn_flags f;
	unsigned octet;

	(void)state;
	for (octet = 0; octet < 256; octet++) {
		mqttsn_flags_unpack((uint8_t)octet, &f);
		assert_int_equal(mqttsn_flags_pack(&f), octet);
		assert_int_equal(f.dup, (octet & 0x80u) != 0);
		assert_int_equal(f.retain, (octet & 0x10u) != 0);
		assert_int_equal(f.will, (octet & 0x08u) != 0);
		assert_int_equal(f.clean_session, (octet & 0x04u) != 0);
		assert_int_equal(f.topic_id_type, octet & 3u);
		assert_int_equal(f.qos, (octet >> 5 & 3u) == 3u ? -1 : (int)(octet >> 5 & 3u));
	}
	f = mkflags(0, -1, 0, 0, 0, 0);
	assert_int_equal(mqttsn_flags_pack(&f), 0x60);
	f = mkflags(1, 2, 1, 1, 1, 3);
	assert_int_equal(mqttsn_flags_pack(&f), 0xDF);
}

/* ---------------------------------------------------------------- sizes */

static void publish_of(struct mqttsn_msg *m, size_t payload)
{
	memset(m, 0, sizeof *m);
	m->type = MQTTSN_PUBLISH;
	m->u.publish.flags = mkflags(0, 1, 0, 0, 0, 0);
	m->u.publish.topic_id = 1;
	m->u.publish.msg_id = 2;
	m->u.publish.data = fill(payload);
}

/* Encode a PUBLISH of the payload and check its size and header form. */
static void check_publish_size(size_t payload, int want_total, size_t want_hdr)
{
	struct mqttsn_msg m, d;
	uint8_t *b;

	publish_of(&m, payload);
	assert_int_equal(mqttsn_encoded_len(&m), want_total);
	b = malloc((size_t)want_total);
	assert_non_null(b);
	assert_int_equal(mqttsn_encode(b, (size_t)want_total, &m), want_total);
	if (want_hdr == 1) {
		assert_int_equal(b[0], want_total);
		assert_int_equal(b[1], MQTTSN_PUBLISH);
	} else {
		assert_int_equal(b[0], 0x01);
		assert_int_equal((size_t)b[1] << 8 | b[2], want_total);
		assert_int_equal(b[3], MQTTSN_PUBLISH);
	}
	expect_err(mqttsn_decode(b, (size_t)want_total, &d), MQTTSN_OK, "size decode");
	assert_msg_equal(&d, &m);
	expect_err(mqttsn_encode(b, (size_t)want_total - 1, &m), MQTTSN_ERR_NO_SPACE, "size-1");
	free(b);
}

static void test_sizes(void **state)
{
	struct mqttsn_msg m, d;
	uint8_t *b;
	size_t n;

	(void)state;
	/* PUBLISH costs 7 octets with the short header and 9 with the long one */
	check_publish_size(248, 255, 1);     /* 255: the longest 1-octet header */
	check_publish_size(249, 258, 3);     /* 256 would need the long header: 258 */
	check_publish_size(65526, 65535, 3); /* the longest message */

	/* 256 and 257 octets exist only with a 3-octet header (a 1-octet one
	 * would have done for 254 and 255): decoded, and re-encoded shorter */
	for (n = 256; n <= 257; n++) {
		b = calloc(n, 1);
		assert_non_null(b);
		b[0] = 0x01;
		b[1] = (uint8_t)(n >> 8);
		b[2] = (uint8_t)(n & 0xFF);
		b[3] = MQTTSN_PUBLISH;
		expect_err(mqttsn_decode(b, n, &d), MQTTSN_OK, "3-octet header, 256/257");
		assert_int_equal(d.u.publish.data.len, n - 9);
		check_reencode(b, n, &d);
		free(b);
	}

	/* 65536 and above cannot be encoded */
	publish_of(&m, 65527);
	expect_err(mqttsn_encoded_len(&m), MQTTSN_ERR_TOO_BIG, "65536");
	b = malloc(70000);
	assert_non_null(b);
	expect_err(mqttsn_encode(b, 70000, &m), MQTTSN_ERR_TOO_BIG, "65536 encode");
	publish_of(&m, 65535);
	expect_err(mqttsn_encoded_len(&m), MQTTSN_ERR_TOO_BIG, "65535 payload");
	/* a length no buffer could hold must not overflow the arithmetic */
	m.u.publish.data.len = SIZE_MAX;
	expect_err(mqttsn_encoded_len(&m), MQTTSN_ERR_TOO_BIG, "SIZE_MAX payload");
	m.u.publish.data.len = SIZE_MAX - 6;
	expect_err(mqttsn_encoded_len(&m), MQTTSN_ERR_TOO_BIG, "SIZE_MAX-6 payload");

	/* and a datagram of 65536 declaring 65535 is a length error */
	memset(b, 0, 65536);
	b[0] = 0x01;
	b[1] = 0xFF;
	b[2] = 0xFF;
	b[3] = MQTTSN_PUBLISH;
	expect_err(mqttsn_decode(b, 65535, &d), MQTTSN_OK, "65535");
	expect_err(mqttsn_decode(b, 65536, &d), MQTTSN_ERR_LENGTH, "65536 declaring 65535");
	expect_err(mqttsn_decode(b, 65534, &d), MQTTSN_ERR_LENGTH, "65534 declaring 65535");
	free(b);

	/* the encapsulation header switches form on its own length (5.5) */
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_ENCAPSULATED;
	m.u.encap.inner.ptr = (const uint8_t *)"\x02\x17";
	m.u.encap.inner.len = 2;
	m.u.encap.node_id = fill(252);
	assert_int_equal(mqttsn_encoded_len(&m), 255 + 2);
	m.u.encap.node_id = fill(253);
	assert_int_equal(mqttsn_encoded_len(&m), 258 + 2);
	/* the whole datagram, inner message included, is capped at 65535 too */
	m.u.encap.node_id = fill(65528);
	assert_int_equal(mqttsn_encoded_len(&m), 65535);
	m.u.encap.node_id = fill(65529);
	expect_err(mqttsn_encoded_len(&m), MQTTSN_ERR_TOO_BIG, "encapsulation of 65536");
}

/* ---------------------------------------------------------------- encoder errors */

struct enc_bad {
	const char *name;
	struct mqttsn_msg msg;
	int want;
};

static const uint8_t some[8] = "abcdefg";

static const struct enc_bad enc_bads[] = {
	{"type 0x03", {.type = (enum mqttsn_type)0x03}, MQTTSN_ERR_INVALID},
	{"type 0x11", {.type = (enum mqttsn_type)0x11}, MQTTSN_ERR_INVALID},
	{"type 0xFF", {.type = (enum mqttsn_type)0xFF}, MQTTSN_ERR_INVALID},
	{"type -1", {.type = (enum mqttsn_type)-1}, MQTTSN_ERR_INVALID},
	{"PUBLISH qos 3",
	 {.type = MQTTSN_PUBLISH, .u.publish = {FLAGS(0, 3, 0, 0, 0, 0), 1, 1, NOBYTES}},
	 MQTTSN_ERR_INVALID},
	{"PUBLISH qos -2",
	 {.type = MQTTSN_PUBLISH, .u.publish = {FLAGS(0, -2, 0, 0, 0, 0), 1, 1, NOBYTES}},
	 MQTTSN_ERR_INVALID},
	{"PUBLISH topic id type 4",
	 {.type = MQTTSN_PUBLISH, .u.publish = {FLAGS(0, 0, 0, 0, 0, 4), 1, 1, NOBYTES}},
	 MQTTSN_ERR_INVALID},
	{"PUBLISH data without a pointer",
	 {.type = MQTTSN_PUBLISH, .u.publish = {FLAGS(0, 0, 0, 0, 0, 0), 1, 1, {NULL, 3}}},
	 MQTTSN_ERR_INVALID},
	{"CONNECT qos 7",
	 {.type = MQTTSN_CONNECT, .u.connect = {FLAGS(0, 7, 0, 0, 1, 0), 1, 60, {some, 3}}},
	 MQTTSN_ERR_INVALID},
	{"SUBACK topic id type 9",
	 {.type = MQTTSN_SUBACK, .u.suback = {FLAGS(0, 0, 0, 0, 0, 9), 0, 1, 0}},
	 MQTTSN_ERR_INVALID},
	{"SUBSCRIBE qos 4",
	 {.type = MQTTSN_SUBSCRIBE, .u.subscribe = {FLAGS(0, 4, 0, 0, 0, 0), 1, 0, {some, 3}}},
	 MQTTSN_ERR_INVALID},
	{"WILLTOPIC qos 5",
	 {.type = MQTTSN_WILLTOPIC, .u.willtopic = {FLAGS(0, 5, 0, 0, 0, 0), {some, 3}}},
	 MQTTSN_ERR_INVALID},
	{"REGISTER name without a pointer",
	 {.type = MQTTSN_REGISTER, .u.reg = {0, 1, {NULL, 5}}}, MQTTSN_ERR_INVALID},
	{"GWINFO address without a pointer",
	 {.type = MQTTSN_GWINFO, .u.gwinfo = {1, {NULL, 4}}}, MQTTSN_ERR_INVALID},
	{"WILLMSG without a pointer",
	 {.type = MQTTSN_WILLMSG, .u.willmsg = {{NULL, 4}}}, MQTTSN_ERR_INVALID},
	{"ENCAPSULATED node id without a pointer",
	 {.type = MQTTSN_ENCAPSULATED, .u.encap = {0, {NULL, 2}, BYTES("\x02\x17")}},
	 MQTTSN_ERR_INVALID},
	{"CONNECT protocol id 0",
	 {.type = MQTTSN_CONNECT, .u.connect = {FLAGS(0, 0, 0, 0, 1, 0), 0, 60, {some, 3}}},
	 MQTTSN_ERR_PROTOCOL_ID},
	{"CONNECT protocol id 2",
	 {.type = MQTTSN_CONNECT, .u.connect = {FLAGS(0, 0, 0, 0, 1, 0), 2, 60, {some, 3}}},
	 MQTTSN_ERR_PROTOCOL_ID},
	{"CONNECT empty client id",
	 {.type = MQTTSN_CONNECT, .u.connect = {FLAGS(0, 0, 0, 0, 1, 0), 1, 60, NOBYTES}},
	 MQTTSN_ERR_CLIENT_ID},
	{"CONNECT 24-char client id",
	 {.type = MQTTSN_CONNECT, .u.connect = {FLAGS(0, 0, 0, 0, 1, 0), 1, 60, BYTES(ID24)}},
	 MQTTSN_ERR_CLIENT_ID},
	{"CONNECT client id without a pointer",
	 {.type = MQTTSN_CONNECT, .u.connect = {FLAGS(0, 0, 0, 0, 1, 0), 1, 60, {NULL, 3}}},
	 MQTTSN_ERR_INVALID},
	{"PINGREQ 24-char client id", {.type = MQTTSN_PINGREQ, .u.pingreq = {BYTES(ID24)}},
	 MQTTSN_ERR_CLIENT_ID},
	{"PINGREQ huge client id", {.type = MQTTSN_PINGREQ, .u.pingreq = {{some, SIZE_MAX}}},
	 MQTTSN_ERR_CLIENT_ID},
	{"PUBLISH topic id type 0b11",
	 {.type = MQTTSN_PUBLISH, .u.publish = {FLAGS(0, 1, 0, 0, 0, 3), 1, 1, NOBYTES}},
	 MQTTSN_ERR_TOPIC_ID_TYPE},
	{"SUBSCRIBE topic id type 0b11",
	 {.type = MQTTSN_SUBSCRIBE, .u.subscribe = {FLAGS(0, 1, 0, 0, 0, 3), 1, 5, NOBYTES}},
	 MQTTSN_ERR_TOPIC_ID_TYPE},
	{"UNSUBSCRIBE topic id type 0b11",
	 {.type = MQTTSN_UNSUBSCRIBE, .u.subscribe = {FLAGS(0, 0, 0, 0, 0, 3), 1, 5, NOBYTES}},
	 MQTTSN_ERR_TOPIC_ID_TYPE},
	{"SUBSCRIBE qos -1",
	 {.type = MQTTSN_SUBSCRIBE, .u.subscribe = {FLAGS(0, -1, 0, 0, 0, 1), 1, 5, NOBYTES}},
	 MQTTSN_ERR_QOS},
	{"SUBACK qos -1",
	 {.type = MQTTSN_SUBACK, .u.suback = {FLAGS(0, -1, 0, 0, 0, 0), 5, 1, 0}},
	 MQTTSN_ERR_QOS},
	{"WILLTOPIC qos -1",
	 {.type = MQTTSN_WILLTOPIC, .u.willtopic = {FLAGS(0, -1, 0, 0, 0, 0), {some, 3}}},
	 MQTTSN_ERR_QOS},
	{"WILLTOPICUPD qos -1",
	 {.type = MQTTSN_WILLTOPICUPD, .u.willtopic = {FLAGS(0, -1, 1, 0, 0, 0), {some, 3}}},
	 MQTTSN_ERR_QOS},
	{"SUBSCRIBE short name of 1",
	 {.type = MQTTSN_SUBSCRIBE, .u.subscribe = {FLAGS(0, 0, 0, 0, 0, 2), 1, 0, {some, 1}}},
	 MQTTSN_ERR_SHORT_TOPIC},
	{"SUBSCRIBE short name of 3",
	 {.type = MQTTSN_SUBSCRIBE, .u.subscribe = {FLAGS(0, 0, 0, 0, 0, 2), 1, 0, {some, 3}}},
	 MQTTSN_ERR_SHORT_TOPIC},
	{"SUBSCRIBE short name only in topic_id",
	 {.type = MQTTSN_SUBSCRIBE, .u.subscribe = {FLAGS(0, 0, 0, 0, 0, 2), 1, 0x6162, NOBYTES}},
	 MQTTSN_ERR_SHORT_TOPIC},
	{"UNSUBSCRIBE short name of 0",
	 {.type = MQTTSN_UNSUBSCRIBE, .u.subscribe = {FLAGS(0, 0, 0, 0, 0, 2), 1, 0, NOBYTES}},
	 MQTTSN_ERR_SHORT_TOPIC},
	{"REGISTER empty topic", {.type = MQTTSN_REGISTER, .u.reg = {0, 1, NOBYTES}},
	 MQTTSN_ERR_TOPIC_EMPTY},
	{"SUBSCRIBE empty name",
	 {.type = MQTTSN_SUBSCRIBE, .u.subscribe = {FLAGS(0, 0, 0, 0, 0, 0), 1, 0, NOBYTES}},
	 MQTTSN_ERR_TOPIC_EMPTY},
	{"UNSUBSCRIBE empty name",
	 {.type = MQTTSN_UNSUBSCRIBE, .u.subscribe = {FLAGS(0, 0, 0, 0, 0, 0), 1, 0, NOBYTES}},
	 MQTTSN_ERR_TOPIC_EMPTY},
	{"ENCAPSULATED nested",
	 {.type = MQTTSN_ENCAPSULATED,
	  .u.encap = {0, NOBYTES, BYTES("\x03\xfe\x00\x02\x17")}},
	 MQTTSN_ERR_ENCAP_NESTED},
	{"ENCAPSULATED nothing inside",
	 {.type = MQTTSN_ENCAPSULATED, .u.encap = {0, NOBYTES, NOBYTES}}, MQTTSN_ERR_ENCAP_INNER},
	{"ENCAPSULATED malformed inside",
	 {.type = MQTTSN_ENCAPSULATED, .u.encap = {0, NOBYTES, BYTES("\x03\x17")}},
	 MQTTSN_ERR_ENCAP_INNER},
	{"ENCAPSULATED inner without a pointer",
	 {.type = MQTTSN_ENCAPSULATED, .u.encap = {0, NOBYTES, {NULL, 2}}}, MQTTSN_ERR_INVALID},
	{"ENCAPSULATED invalid inside",
	 {.type = MQTTSN_ENCAPSULATED, .u.encap = {0, NOBYTES, BYTES("\x04\x07\x60" "t")}},
	 MQTTSN_ERR_QOS},
	{"REGISTER topic of 65530",
	 {.type = MQTTSN_REGISTER, .u.reg = {0, 1, {filler, 65530}}}, MQTTSN_ERR_TOO_BIG},
	{"WILLMSG of 65534", {.type = MQTTSN_WILLMSG, .u.willmsg = {{filler, 65534}}},
	 MQTTSN_ERR_TOO_BIG},
	{"GWINFO address of SIZE_MAX", {.type = MQTTSN_GWINFO, .u.gwinfo = {1, {filler, SIZE_MAX}}},
	 MQTTSN_ERR_TOO_BIG},
	{"ENCAPSULATED node id of 65532",
	 {.type = MQTTSN_ENCAPSULATED, .u.encap = {0, {filler, 65532}, BYTES("\x02\x17")}},
	 MQTTSN_ERR_TOO_BIG},
};

static void test_encode_errors(void **state)
{
	uint8_t b[64];
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < N_OF(enc_bads); i++) {
		int want = enc_bads[i].want;
		int r1 = mqttsn_encoded_len(&enc_bads[i].msg);
		int r2 = mqttsn_encode(b, sizeof b, &enc_bads[i].msg);
		int r3 = mqttsn_encode(NULL, 0, &enc_bads[i].msg);
		int r4 = want == MQTTSN_ERR_TOO_BIG ? want : mqttsn_msg_check(&enc_bads[i].msg);

		if (r1 != want || r2 != want || r3 != want || r4 != want) {
			print_error("%s: got %d/%d/%d/%d, want %d (%s)\n", enc_bads[i].name, r1, r2,
			            r3, r4, want, mqttsn_strerror(want));
			failures++;
		}
	}
	assert_int_equal(failures, 0);
	expect_err(mqttsn_msg_check(NULL), MQTTSN_ERR_INVALID, "NULL msg");
}

/* Values encode accepts although they look odd, and how they come out. */
static void test_encode_special(void **state)
{
	struct mqttsn_msg m;
	uint8_t b[16];

	(void)state;
	/* the empty Will topic ignores the flags, even ones that are invalid */
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_WILLTOPICUPD;
	m.u.willtopic.flags = mkflags(1, -1, 1, 1, 1, 3);
	assert_int_equal(mqttsn_encode(b, sizeof b, &m), 2);
	assert_memory_equal(b, "\x02\x1a", 2);
	/* DISCONNECT: 4 octets with a duration, even 0, else 2 */
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_DISCONNECT;
	m.u.disconnect.duration = 77; /* not sent without has_duration */
	assert_int_equal(mqttsn_encode(b, sizeof b, &m), 2);
	assert_memory_equal(b, "\x02\x18", 2);
	m.u.disconnect.has_duration = true;
	m.u.disconnect.duration = 0;
	assert_int_equal(mqttsn_encode(b, sizeof b, &m), 4);
	assert_memory_equal(b, "\x04\x18\x00\x00", 4);
	/* SUBSCRIBE by predefined id ignores topic_name; by name, topic_id */
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_SUBSCRIBE;
	m.u.subscribe.flags = mkflags(0, 1, 0, 0, 0, MQTTSN_TOPIC_PREDEFINED);
	m.u.subscribe.msg_id = 3;
	m.u.subscribe.topic_id = 0x0102;
	m.u.subscribe.topic_name.ptr = some;
	m.u.subscribe.topic_name.len = 5;
	assert_int_equal(mqttsn_encode(b, sizeof b, &m), 7);
	assert_memory_equal(b, "\x07\x12\x21\x00\x03\x01\x02", 7);
	m.u.subscribe.flags.topic_id_type = MQTTSN_TOPIC_NORMAL;
	assert_int_equal(mqttsn_encode(b, sizeof b, &m), 10);
	assert_memory_equal(b, "\x0a\x12\x20\x00\x03" "abcde", 10);
	/* CONNECT's unused flag bits travel as given */
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_CONNECT;
	m.u.connect.flags = mkflags(1, -1, 1, 0, 1, 3);
	m.u.connect.protocol_id = 1;
	m.u.connect.client_id.ptr = some;
	m.u.connect.client_id.len = 1;
	assert_int_equal(mqttsn_encode(b, sizeof b, &m), 7);
	assert_memory_equal(b, "\x07\x04\xf7\x01\x00\x00" "a", 7);
	/* NO_SPACE is decided before anything is written */
	memset(b, 0xAA, sizeof b);
	expect_err(mqttsn_encode(b, 6, &m), MQTTSN_ERR_NO_SPACE, "cap 6");
	/* an invalid message is reported as such even with no room at all */
	m.u.connect.protocol_id = 2;
	expect_err(mqttsn_encode(b, 0, &m), MQTTSN_ERR_PROTOCOL_ID, "invalid before no space");
}

/* ---------------------------------------------------------------- peek */

static void test_peek_length(void **state)
{
	static const struct {
		const uint8_t *wire;
		size_t len;
		int want;
		size_t msg_len, hdr_len;
	} cases[] = {
		{NULL, 0, MQTTSN_ERR_SHORT, 0, 0},
		{(const uint8_t *)"\x00", 1, MQTTSN_ERR_BAD_HEADER, 0, 0},
		{(const uint8_t *)"\x02", 1, MQTTSN_OK, 2, 1},
		{(const uint8_t *)"\xff\x0c", 2, MQTTSN_OK, 255, 1},
		{(const uint8_t *)"\x01", 1, MQTTSN_ERR_SHORT, 0, 0},
		{(const uint8_t *)"\x01\x01", 2, MQTTSN_ERR_SHORT, 0, 0},
		{(const uint8_t *)"\x01\x00\x03", 3, MQTTSN_ERR_BAD_HEADER, 0, 0},
		{(const uint8_t *)"\x01\x00\x00", 3, MQTTSN_ERR_BAD_HEADER, 0, 0},
		{(const uint8_t *)"\x01\x00\x04", 3, MQTTSN_OK, 4, 3},
		{(const uint8_t *)"\x01\x01\x02\x0c", 4, MQTTSN_OK, 258, 3},
		{(const uint8_t *)"\x01\xff\xff", 3, MQTTSN_OK, 65535, 3},
		/* 5.5: the encapsulation declares its header only */
		{(const uint8_t *)"\x05\xfe\x01\xab\xcd\x04", 6, MQTTSN_OK, 5, 1},
	};
	size_t i, msg_len, hdr_len;

	(void)state;
	for (i = 0; i < N_OF(cases); i++) {
		uint8_t *b = dup_exact(cases[i].wire, cases[i].len);

		msg_len = hdr_len = 12345;
		expect_err(mqttsn_peek_length(cases[i].len ? b : NULL, cases[i].len, &msg_len, &hdr_len),
		           cases[i].want, "peek");
		if (cases[i].want == MQTTSN_OK) {
			assert_int_equal(msg_len, cases[i].msg_len);
			assert_int_equal(hdr_len, cases[i].hdr_len);
		}
		free(b);
	}
}

/* ---------------------------------------------------------------- errors */

static const int all_errors[] = {
	MQTTSN_OK,
	MQTTSN_ERR_SHORT,
	MQTTSN_ERR_BAD_HEADER,
	MQTTSN_ERR_LENGTH,
	MQTTSN_ERR_TYPE,
	MQTTSN_ERR_TRUNCATED,
	MQTTSN_ERR_TRAILING,
	MQTTSN_ERR_FIELD,
	MQTTSN_ERR_ENCAP_INNER,
	MQTTSN_ERR_TOPIC_ID_TYPE,
	MQTTSN_ERR_PROTOCOL_ID,
	MQTTSN_ERR_CLIENT_ID,
	MQTTSN_ERR_QOS,
	MQTTSN_ERR_SHORT_TOPIC,
	MQTTSN_ERR_ENCAP_NESTED,
	MQTTSN_ERR_WILL_TOPIC,
	MQTTSN_ERR_TOPIC_EMPTY,
	MQTTSN_ERR_TOPIC_WILDCARD,
	MQTTSN_ERR_TOPIC_HASH,
	MQTTSN_ERR_TOPIC_PLUS,
	MQTTSN_ERR_TOPIC_NUL,
	MQTTSN_ERR_TOPIC_LONG,
	MQTTSN_ERR_NO_SPACE,
	MQTTSN_ERR_TOO_BIG,
	MQTTSN_ERR_INVALID,
};

static void test_strerror(void **state)
{
	const char *unknown = mqttsn_strerror(-1000);
	size_t i, j;
	int e;

	(void)state;
	assert_non_null(unknown);
	for (i = 0; i < N_OF(all_errors); i++) {
		const char *s = mqttsn_strerror(all_errors[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 5);
		assert_string_not_equal(s, unknown);
		for (j = 0; j < i; j++)
			assert_string_not_equal(s, mqttsn_strerror(all_errors[j]));
	}
	/* every other value in the ranges is unknown */
	for (e = -100; e <= 100; e++) {
		bool listed = false;

		for (i = 0; i < N_OF(all_errors); i++)
			listed = listed || all_errors[i] == e;
		if (!listed)
			assert_string_equal(mqttsn_strerror(e), unknown);
	}
}

static void test_error_classes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(all_errors); i++) {
		int e = all_errors[i];
		bool malformed = e <= -1 && e >= -19, protocol = e <= -20 && e >= -39;

		assert_int_equal(mqttsn_err_is_malformed(e), malformed);
		assert_int_equal(mqttsn_err_is_protocol(e), protocol);
	}
	assert_true(mqttsn_err_is_malformed(MQTTSN_ERR_SHORT));
	assert_true(mqttsn_err_is_malformed(MQTTSN_ERR_ENCAP_INNER));
	assert_true(mqttsn_err_is_protocol(MQTTSN_ERR_ENCAP_NESTED));
	assert_true(mqttsn_err_is_protocol(MQTTSN_ERR_WILL_TOPIC));
	assert_false(mqttsn_err_is_malformed(MQTTSN_OK));
	assert_false(mqttsn_err_is_protocol(MQTTSN_OK));
	assert_false(mqttsn_err_is_malformed(MQTTSN_ERR_NO_SPACE));
	assert_false(mqttsn_err_is_protocol(MQTTSN_ERR_INVALID));
	assert_false(mqttsn_err_is_malformed(1));
	assert_false(mqttsn_err_is_protocol(-40));
	/* the decoder's errors fall in the two wire classes only */
	for (i = 0; i < N_OF(bads); i++)
		assert_true(mqttsn_err_is_malformed(bads[i].want) ||
		            mqttsn_err_is_protocol(bads[i].want));
}

/* ---------------------------------------------------------------- format */

static void expect_line(const uint8_t *wire, size_t len, const char *want)
{
	struct mqttsn_msg m;
	char line[512];
	uint8_t *copy;
	int n, r;

	copy = decode_keep(wire, len, &m, &r);
	expect_err(r, MQTTSN_OK, want);
	n = mqttsn_format(line, sizeof line, &m);
	free(copy);
	assert_string_equal(line, want);
	assert_int_equal(n, (int)strlen(want));
}

#define LINE(w, want) expect_line((const uint8_t *)(w), sizeof(w) - 1, want)

static void test_format_lines(void **state)
{
	(void)state;
	LINE("\x05\x00\x2a\x03\x84", "ADVERTISE gw_id=42 duration=900");
	LINE("\x03\x01\x02", "SEARCHGW radius=2");
	LINE("\x03\x02\x07", "GWINFO gw_id=7");
	LINE("\x09\x02\x07\x7f\x00\x00\x01\x06\x1b", "GWINFO gw_id=7 gw_addr=7f000001061b");
	LINE("\x0b\x04\x04\x01\x00\x3c" "sens1",
	     "CONNECT flags=0x04 will=0 clean=1 protocol_id=0x01 duration=60 client_id=\"sens1\"");
	LINE("\x03\x05\x00", "CONNACK rc=accepted");
	LINE("\x03\x05\x01", "CONNACK rc=rejected-congestion");
	LINE("\x03\x1b\x02", "WILLTOPICRESP rc=rejected-invalid-topic-id");
	LINE("\x03\x1d\x03", "WILLMSGRESP rc=rejected-not-supported");
	LINE("\x03\x05\x7f", "CONNACK rc=0x7f");
	LINE("\x02\x06", "WILLTOPICREQ");
	LINE("\x0b\x07\x30" "st/1/lwt", "WILLTOPIC flags=0x30 qos=1 retain=1 topic=\"st/1/lwt\"");
	LINE("\x02\x07", "WILLTOPIC empty (deletes the Will)");
	LINE("\x02\x1a", "WILLTOPICUPD empty (deletes the Will)");
	LINE("\x06\x09" "gone", "WILLMSG len=4 msg=\"gone\"");
	LINE("\x0d\x0a\x00\x00\x00\x01" "wx/temp", "REGISTER topic_id=0 msg_id=1 topic=\"wx/temp\"");
	LINE("\x07\x0b\x00\x05\x00\x01\x00", "REGACK topic_id=5 msg_id=1 rc=accepted");
	LINE("\x0b\x0c\x20\x00\x05\x12\x34" "21.5",
	     "PUBLISH flags=0x20 dup=0 qos=1 retain=0 topic_id_type=normal topic_id=5 "
	     "msg_id=4660 len=4 data=\"21.5\"");
	LINE("\x09\x0c\x72\x61\x62\x00\x00\x00\xff",
	     "PUBLISH flags=0x72 dup=0 qos=-1 retain=1 topic_id_type=short topic_id=24930 "
	     "topic=\"ab\" msg_id=0 len=2 data=\"\\x00\\xff\"");
	LINE("\x07\x0c\xc1\x01\x02\xff\xff",
	     "PUBLISH flags=0xc1 dup=1 qos=2 retain=0 topic_id_type=predefined topic_id=258 "
	     "msg_id=65535 len=0 data=\"\"");
	LINE("\x07\x0d\x00\x05\x12\x34\x02",
	     "PUBACK topic_id=5 msg_id=4660 rc=rejected-invalid-topic-id");
	LINE("\x04\x0e\x12\x34", "PUBCOMP msg_id=4660");
	LINE("\x04\x0f\x00\x01", "PUBREC msg_id=1");
	LINE("\x04\x10\xff\xff", "PUBREL msg_id=65535");
	LINE("\x09\x12\x20\x00\x07" "wx/#",
	     "SUBSCRIBE flags=0x20 dup=0 qos=1 topic_id_type=normal msg_id=7 topic=\"wx/#\"");
	LINE("\x07\x12\xc1\x00\x08\x00\x10",
	     "SUBSCRIBE flags=0xc1 dup=1 qos=2 topic_id_type=predefined msg_id=8 topic_id=16");
	LINE("\x07\x14\x02\x00\x0c" "ab", "UNSUBSCRIBE flags=0x02 topic_id_type=short msg_id=12 "
	                                   "topic=\"ab\"");
	LINE("\x08\x13\x20\x00\x05\x00\x07\x00",
	     "SUBACK flags=0x20 qos=1 topic_id=5 msg_id=7 rc=accepted");
	LINE("\x04\x15\x00\x0a", "UNSUBACK msg_id=10");
	LINE("\x02\x16", "PINGREQ");
	LINE("\x07\x16" "sens1", "PINGREQ client_id=\"sens1\"");
	LINE("\x02\x17", "PINGRESP");
	LINE("\x02\x18", "DISCONNECT");
	LINE("\x04\x18\x0e\x10", "DISCONNECT duration=3600");
	LINE("\x06\x1c" "bye!", "WILLMSGUPD len=4 msg=\"bye!\"");
	LINE("\x05\xfe\x01\xab\xcd\x04\x0e\x12\x34",
	     "ENCAPSULATED ctrl=0x01 radius=1 node_id=abcd inner_len=4 inner=[PUBCOMP msg_id=4660]");
	LINE("\x03\xfe\x07\x02\x17",
	     "ENCAPSULATED ctrl=0x07 radius=3 node_id=none inner_len=2 inner=[PINGRESP]");
	/* quotes, backslashes and control characters are escaped */
	LINE("\x0c\x0c\x00\x00\x01\x00\x00" "a\"b\\\n",
	     "PUBLISH flags=0x00 dup=0 qos=0 retain=0 topic_id_type=normal topic_id=1 msg_id=0 "
	     "len=5 data=\"a\\\"b\\\\\\x0a\"");
}

static void test_format_limits(void **state)
{
	struct mqttsn_msg m;
	char line[512], small[8];
	char want[64];
	int n, full;
	uint8_t payload[100];
	struct mqttsn_msg enc;

	(void)state;
	/* a long payload is cut, with "...", and the length still told */
	memset(payload, 'x', sizeof payload);
	publish_of(&m, 0);
	m.u.publish.data.ptr = payload;
	m.u.publish.data.len = sizeof payload;
	full = mqttsn_format(line, sizeof line, &m);
	assert_int_equal(full, (int)strlen(line));
	assert_non_null(strstr(line, " len=100 data=\""));
	memset(want, 'x', 32);
	memcpy(want + 32, "\"...", 5);
	assert_non_null(strstr(line, want));
	assert_null(strstr(line, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")); /* 33 */

	/* truncated like snprintf: NUL-terminated, returns the full length */
	memset(small, '#', sizeof small);
	n = mqttsn_format(small, sizeof small, &m);
	assert_int_equal(n, full);
	assert_string_equal(small, "PUBLISH");
	n = mqttsn_format(small, 1, &m);
	assert_int_equal(n, full);
	assert_int_equal(small[0], '\0');
	assert_int_equal(mqttsn_format(NULL, 0, &m), full);
	for (n = 0; n <= full + 1; n++) {
		char *b = malloc((size_t)n + 1);

		assert_non_null(b);
		assert_int_equal(mqttsn_format(b, (size_t)n, &m), full);
		if (n > 0) {
			assert_int_equal(strlen(b), (size_t)(n - 1 < full ? n - 1 : full));
			assert_memory_equal(b, line, strlen(b));
		}
		free(b);
	}

	/* binary topic names and node ids stay printable; long ones are cut */
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_REGISTER;
	m.u.reg.topic_name = fill(200);
	full = mqttsn_format(line, sizeof line, &m);
	assert_true(full > 0 && (size_t)full < sizeof line);
	assert_non_null(strstr(line, "\\x00\"..."));
	memset(&enc, 0, sizeof enc);
	enc.type = MQTTSN_ENCAPSULATED;
	enc.u.encap.node_id = fill(40);
	enc.u.encap.inner.ptr = (const uint8_t *)"\x02\x03";
	enc.u.encap.inner.len = 2;
	(void)mqttsn_format(line, sizeof line, &enc);
	assert_non_null(strstr(line, "node_id=00000000000000000000000000000000..."));
	assert_non_null(strstr(line, "inner=[undecodable: "));

	/* a view without a pointer (a caller's bug) is not followed */
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_WILLMSG;
	m.u.willmsg.msg.len = 5;
	(void)mqttsn_format(line, sizeof line, &m);
	assert_string_equal(line, "WILLMSG len=5 msg=(null)");
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_GWINFO;
	m.u.gwinfo.gw_addr.len = 4;
	(void)mqttsn_format(line, sizeof line, &m);
	assert_string_equal(line, "GWINFO gw_id=0 gw_addr=(null)");

	/* what is not a message is still one printable line */
	memset(&m, 0, sizeof m);
	m.type = (enum mqttsn_type)0x11;
	(void)mqttsn_format(line, sizeof line, &m);
	assert_string_equal(line, "UNKNOWN(0x11)");
	(void)mqttsn_format(line, sizeof line, NULL);
	assert_string_equal(line, "(null)");
}

/* ---------------------------------------------------------------- random input */

static uint32_t rng_state = 0x2545F491u;

static uint32_t rng(void)
{
	/* xorshift32: reproducible across platforms and runs */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/*
 * Random datagrams, most given a consistent length and a known type so that
 * they get past the header: decode never crashes, and what it accepts
 * encodes back to itself. Bounded in count.
 */
static void test_random_datagrams(void **state)
{
	struct mqttsn_msg m;
	uint8_t w[64];
	int i, accepted = 0;

	(void)state;
	for (i = 0; i < 200000; i++) {
		size_t n = rng() % sizeof w, j;
		uint8_t *b;
		uint32_t how = rng() % 5;

		for (j = 0; j < n; j++)
			w[j] = (uint8_t)rng();
		/* 0: raw; 1: consistent length; 2, 3: and a type below 0x1E;
		 * 4: an encapsulation with a node id of one octet around that */
		if (n >= 2 && how >= 1 && how <= 3)
			w[0] = (uint8_t)n;
		if (n >= 2 && (how == 2 || how == 3))
			w[1] = (uint8_t)(rng() % 0x1E);
		if (n >= 6 && how == 4) {
			w[0] = 4;
			w[1] = MQTTSN_ENCAPSULATED;
			w[4] = (uint8_t)(n - 4);
			w[5] = (uint8_t)(rng() % 0x1E);
		}
		b = dup_exact(w, n);
		if (mqttsn_decode(b, n, &m) == MQTTSN_OK) {
			accepted++;
			check_reencode(b, n, &m);
		}
		free(b);
	}
	/* the generator must reach past the header checks often enough to matter */
	assert_true(accepted > 10000);
}

/* ---------------------------------------------------------------- main */

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_vectors_cover_types),
		cmocka_unit_test(test_bad_datagrams),
		cmocka_unit_test(test_every_type_octet),
		cmocka_unit_test(test_type_sizes),
		cmocka_unit_test(test_tiny_datagrams),
		cmocka_unit_test(test_roundtrip_publish),
		cmocka_unit_test(test_roundtrip_connect),
		cmocka_unit_test(test_roundtrip_willtopic),
		cmocka_unit_test(test_roundtrip_subscribe),
		cmocka_unit_test(test_roundtrip_suback),
		cmocka_unit_test(test_roundtrip_others),
		cmocka_unit_test(test_roundtrip_encapsulated),
		cmocka_unit_test(test_every_flags_octet),
		cmocka_unit_test(test_flags_pack_unpack),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_encode_special),
		cmocka_unit_test(test_peek_length),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_error_classes),
		cmocka_unit_test(test_format_lines),
		cmocka_unit_test(test_format_limits),
		cmocka_unit_test(test_random_datagrams),
	};
	static struct CMUnitTest tests[2 * N_OF(vectors) + N_OF(fixed)];
	static char names[2 * N_OF(vectors)][96];
	size_t i, n = 0;

	/* one named test per vector and aspect, so a failure says which */
	for (i = 0; i < N_OF(vectors); i++) {
		snprintf(names[n], sizeof names[n], "vector %s", vectors[i].name);
		tests[n] = (struct CMUnitTest){names[n], test_vector, NULL, NULL, &vectors[i]};
		n++;
		snprintf(names[n], sizeof names[n], "mangled %s", vectors[i].name);
		tests[n] = (struct CMUnitTest){names[n], test_vector_mangled, NULL, NULL, &vectors[i]};
		n++;
	}
	for (i = 0; i < N_OF(fixed); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("codec", tests, n, NULL, NULL);
}
