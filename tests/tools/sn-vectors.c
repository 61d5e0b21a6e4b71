/*
 * sn-vectors - MQTT-SN test vectors for an independent decoder (tshark).
 *
 * usage: sn-vectors HEXFILE FIELDSFILE
 *
 * Encodes one message of every MQTT-SN 1.2 type (and the variants that
 * exercise flags, topic id types, QoS -1, the 3-octet length header and
 * forwarder encapsulation) with mqttsn_encode, and writes:
 *   HEXFILE     the messages as a text2pcap hexdump, one UDP payload each
 *               (offset 000000 starts a new packet);
 *   FIELDSFILE  a tab-separated table: a header line naming the columns,
 *               then one line per packet. Column 1 is our label for the
 *               packet; the others are tshark field names and the value
 *               each should have, written the way `tshark -T fields
 *               -E occurrence=a -E aggregator=,` prints it. The values
 *               come from the message structures we encoded, not from the
 *               octets, so tshark checks our encoder.
 * tests/system/tshark_codec.sh runs it; the comments there say which
 * fields tshark 4.0 cannot show and are therefore left out.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/mqttsn.h"

/* ---------------------------------------------------------------- columns */

/* The tshark fields we compare, in the order tshark is asked for them. */
enum col {
	C_FRAME, C_UDP_LEN, C_LEN, C_TYPE, C_DUP, C_QOS, C_RETAIN, C_WILL, C_CLEAN, C_TID_TYPE,
	C_RC, C_GW_ID, C_GW_ADDR, C_ADV, C_RADIUS, C_PROTO, C_TOPIC_ID, C_MSG_ID,
	C_TOPIC, C_TOPIC_NAME_OR_ID, C_SLEEP, C_WILL_TOPIC, C_WILL_MSG, C_PUB_MSG,
	C_CLIENT_ID, C_KEEP_ALIVE, C_CTRL, C_NODE_ID, C_MALFORMED, C_EXPERT,
	NCOLS
};

static const char *const col_names[NCOLS] = {
	"frame.number", "udp.length", "mqttsn.msg.len", "mqttsn.msg.type", "mqttsn.dup", "mqttsn.qos",
	"mqttsn.retain", "mqttsn.will", "mqttsn.clean.session", "mqttsn.topic.id.type",
	"mqttsn.return.code", "mqttsn.gw.id", "mqttsn.gw.addr", "mqttsn.adv.interv",
	"mqttsn.radius", "mqttsn.protocol.id", "mqttsn.topic.id", "mqttsn.msg.id",
	"mqttsn.topic", "mqttsn.topic.name.or.id", "mqttsn.sleep.timer",
	"mqttsn.will.topic", "mqttsn.will.msg", "mqttsn.pub.msg", "mqttsn.client.id",
	"mqttsn.keep.alive", "mqttsn.control.info", "mqttsn.wireless.node.id",
	"_ws.malformed", "_ws.expert",
};

/* Room for the longest value: the 400-octet payload plus a little. */
#define CELL_MAX 512

struct row {
	char cell[NCOLS][CELL_MAX];
};

/* Append a value to a cell, comma-separated like tshark's aggregator. */
__attribute__((format(printf, 3, 4)))
static void add(struct row *r, enum col c, const char *fmt, ...)
{
	char *cell = r->cell[c];
	size_t used = strlen(cell);
	va_list ap;
	int n;

	if (used > 0) {
		if (used + 1 >= CELL_MAX)
			abort();
		cell[used++] = ',';
		cell[used] = '\0';
	}
	va_start(ap, fmt);
	n = vsnprintf(cell + used, CELL_MAX - used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= CELL_MAX - used)
		abort();
}

/*
 * Strings go in as they are: the vectors only use printable ASCII without
 * ',', '\\' or tab, so tshark prints them unchanged and a value is never
 * mistaken for two.
 */
static void add_text(struct row *r, enum col c, struct mqttsn_bytes b)
{
	size_t i;

	for (i = 0; i < b.len; i++) {
		if (b.ptr[i] < 0x20 || b.ptr[i] > 0x7e || b.ptr[i] == ',' || b.ptr[i] == '\\') {
			fprintf(stderr, "sn-vectors: vector text not plain ASCII\n");
			exit(1);
		}
	}
	add(r, c, "%.*s", (int)b.len, b.ptr ? (const char *)b.ptr : "");
}

static void add_flag(struct row *r, enum col c, bool v)
{
	add(r, c, "%d", v ? 1 : 0);
}

static void add_hex(struct row *r, enum col c, unsigned v)
{
	add(r, c, "0x%02x", v);
}

/* tshark shows QoS as the two flag bits: -1 is 0b11. */
static unsigned qos_bits(int qos)
{
	return qos < 0 ? 3u : (unsigned)qos;
}

/* ---------------------------------------------------------------- describe */

/*
 * Fill a row with what tshark should show for msg (encoded in len octets).
 * Only the flag bits tshark 4.0 shows for each type are filled in.
 */
static void describe(struct row *r, const struct mqttsn_msg *m, size_t len,
                     const struct mqttsn_msg *inner, size_t inner_len)
{
	add(r, C_LEN, "%zu", len);
	add_hex(r, C_TYPE, (unsigned)m->type);

	switch (m->type) {
	case MQTTSN_ADVERTISE:
		add(r, C_GW_ID, "%u", m->u.advertise.gw_id);
		add(r, C_ADV, "%u", m->u.advertise.duration);
		break;
	case MQTTSN_SEARCHGW:
		add(r, C_RADIUS, "%u", m->u.searchgw.radius);
		break;
	case MQTTSN_GWINFO:
		add(r, C_GW_ID, "%u", m->u.gwinfo.gw_id);
		if (m->u.gwinfo.gw_addr.len > 0)
			add_text(r, C_GW_ADDR, m->u.gwinfo.gw_addr);
		break;
	case MQTTSN_CONNECT:
		add_flag(r, C_WILL, m->u.connect.flags.will);
		add_flag(r, C_CLEAN, m->u.connect.flags.clean_session);
		add_hex(r, C_TID_TYPE, m->u.connect.flags.topic_id_type);
		add_hex(r, C_PROTO, m->u.connect.protocol_id);
		add(r, C_KEEP_ALIVE, "%u", m->u.connect.duration);
		add_text(r, C_CLIENT_ID, m->u.connect.client_id);
		break;
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		add_hex(r, C_RC, m->u.rc);
		break;
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
	case MQTTSN_PINGRESP:
		break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		add_hex(r, C_TID_TYPE, m->u.willtopic.flags.topic_id_type);
		add_text(r, C_WILL_TOPIC, m->u.willtopic.topic);
		break;
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
		add_text(r, C_WILL_MSG, m->u.willmsg.msg);
		break;
	case MQTTSN_REGISTER:
		add(r, C_TOPIC_ID, "%u", m->u.reg.topic_id);
		add(r, C_MSG_ID, "%u", m->u.reg.msg_id);
		add_text(r, C_TOPIC, m->u.reg.topic_name);
		break;
	case MQTTSN_REGACK:
		add(r, C_TOPIC_ID, "%u", m->u.regack.topic_id);
		add(r, C_MSG_ID, "%u", m->u.regack.msg_id);
		add_hex(r, C_RC, m->u.regack.rc);
		break;
	case MQTTSN_PUBLISH:
		add_flag(r, C_DUP, m->u.publish.flags.dup);
		add_hex(r, C_QOS, qos_bits(m->u.publish.flags.qos));
		add_flag(r, C_RETAIN, m->u.publish.flags.retain);
		add_hex(r, C_TID_TYPE, m->u.publish.flags.topic_id_type);
		add(r, C_TOPIC_ID, "%u", m->u.publish.topic_id);
		add(r, C_MSG_ID, "%u", m->u.publish.msg_id);
		add_text(r, C_PUB_MSG, m->u.publish.data);
		break;
	case MQTTSN_PUBACK:
		add(r, C_TOPIC_ID, "%u", m->u.puback.topic_id);
		add(r, C_MSG_ID, "%u", m->u.puback.msg_id);
		add_hex(r, C_RC, m->u.puback.rc);
		break;
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_PUBCOMP:
	case MQTTSN_UNSUBACK:
		add(r, C_MSG_ID, "%u", m->u.msg_id);
		break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		add_hex(r, C_TID_TYPE, m->u.subscribe.flags.topic_id_type);
		add(r, C_MSG_ID, "%u", m->u.subscribe.msg_id);
		if (m->u.subscribe.flags.topic_id_type == MQTTSN_TOPIC_PREDEFINED) {
			/* tshark prints the id's two octets as text: see the script. */
			uint8_t id[2] = { (uint8_t)(m->u.subscribe.topic_id >> 8),
			                  (uint8_t)(m->u.subscribe.topic_id & 0xffu) };
			struct mqttsn_bytes b = { id, 2 };

			add_text(r, C_TOPIC_NAME_OR_ID, b);
		} else {
			add_text(r, C_TOPIC_NAME_OR_ID, m->u.subscribe.topic_name);
		}
		break;
	case MQTTSN_SUBACK:
		add_hex(r, C_TID_TYPE, m->u.suback.flags.topic_id_type);
		add(r, C_TOPIC_ID, "%u", m->u.suback.topic_id);
		add(r, C_MSG_ID, "%u", m->u.suback.msg_id);
		add_hex(r, C_RC, m->u.suback.rc);
		break;
	case MQTTSN_PINGREQ:
		if (m->u.pingreq.client_id.len > 0)
			add_text(r, C_CLIENT_ID, m->u.pingreq.client_id);
		break;
	case MQTTSN_DISCONNECT:
		if (m->u.disconnect.has_duration)
			add(r, C_SLEEP, "%u", m->u.disconnect.duration);
		break;
	case MQTTSN_ENCAPSULATED: {
		unsigned node = 0;
		size_t i;

		add_hex(r, C_CTRL, m->u.encap.ctrl & 0x03u);
		for (i = 0; i < m->u.encap.node_id.len; i++)
			node = node << 8 | m->u.encap.node_id.ptr[i];
		add(r, C_NODE_ID, "%u", node);
		/* tshark nests the inner message's fields after the outer ones. */
		if (inner != NULL)
			describe(r, inner, inner_len, NULL, 0);
		break;
	}
	}
}

/* ---------------------------------------------------------------- vectors */

#define TEXT(s) { (const uint8_t *)(s), sizeof(s) - 1 }

struct vector {
	const char *label;
	struct mqttsn_msg msg;
};

/*
 * PUBLISH of 255 octets (the longest with a 1-octet length), 258 (the
 * shortest with 3: one more data octet than 255 needs 2 more for the header)
 * and 400.
 */
static uint8_t payload255[255 - 7], payload258[258 - 9], payload400[400 - 9];
static const uint8_t node_id[2] = { 0x12, 0x34 };

static struct vector vectors[] = {
	{ "ADVERTISE", { .type = MQTTSN_ADVERTISE, .u.advertise = { 5, 900 } } },
	{ "SEARCHGW", { .type = MQTTSN_SEARCHGW, .u.searchgw = { 3 } } },
	{ "GWINFO", { .type = MQTTSN_GWINFO, .u.gwinfo = { 5, { NULL, 0 } } } },
	{ "GWINFO with address", { .type = MQTTSN_GWINFO,
	  .u.gwinfo = { 6, TEXT("10.1.2.3:1883") } } },
	{ "CONNECT will clean", { .type = MQTTSN_CONNECT,
	  .u.connect = { { .will = true, .clean_session = true }, MQTTSN_PROTOCOL_ID, 60,
	                 TEXT("station-17") } } },
	{ "CONNECT 23-character id", { .type = MQTTSN_CONNECT,
	  .u.connect = { { .will = false }, MQTTSN_PROTOCOL_ID, 65535,
	                 TEXT("abcdefghijklmnopqrstuvw") } } },
	{ "CONNACK", { .type = MQTTSN_CONNACK, .u.rc = MQTTSN_RC_ACCEPTED } },
	{ "WILLTOPICREQ", { .type = MQTTSN_WILLTOPICREQ } },
	{ "WILLTOPIC", { .type = MQTTSN_WILLTOPIC,
	  .u.willtopic = { { .qos = 1, .retain = true }, TEXT("stations/17/status") } } },
	{ "WILLMSGREQ", { .type = MQTTSN_WILLMSGREQ } },
	{ "WILLMSG", { .type = MQTTSN_WILLMSG, .u.willmsg = { TEXT("offline") } } },
	{ "REGISTER", { .type = MQTTSN_REGISTER, .u.reg = { 0, 1, TEXT("sensors/mast/t1") } } },
	{ "REGACK", { .type = MQTTSN_REGACK, .u.regack = { 17, 1, MQTTSN_RC_ACCEPTED } } },

	/* PUBLISH: every topic id type at every QoS. */
	{ "PUBLISH normal qos0", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = 0, .topic_id_type = MQTTSN_TOPIC_NORMAL }, 17, 0, TEXT("21.5") } } },
	{ "PUBLISH normal qos1 dup", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .dup = true, .qos = 1, .topic_id_type = MQTTSN_TOPIC_NORMAL }, 17, 2, TEXT("21.6") } } },
	{ "PUBLISH normal qos2 retain", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = 2, .retain = true, .topic_id_type = MQTTSN_TOPIC_NORMAL }, 258, 3,
	  TEXT("21.7") } } },
	{ "PUBLISH normal qos-1", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = -1, .topic_id_type = MQTTSN_TOPIC_NORMAL }, 17, 0, TEXT("21.8") } } },
	{ "PUBLISH predefined qos0", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = 0, .topic_id_type = MQTTSN_TOPIC_PREDEFINED }, 1, 0, TEXT("on") } } },
	{ "PUBLISH predefined qos1", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = 1, .topic_id_type = MQTTSN_TOPIC_PREDEFINED }, 2, 4, TEXT("off") } } },
	{ "PUBLISH predefined qos2 dup retain", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .dup = true, .qos = 2, .retain = true, .topic_id_type = MQTTSN_TOPIC_PREDEFINED },
	  65534, 65535, TEXT("x") } } },
	{ "PUBLISH predefined qos-1", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = -1, .topic_id_type = MQTTSN_TOPIC_PREDEFINED }, 3, 0, TEXT("alarm") } } },
	{ "PUBLISH short qos0", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = 0, .topic_id_type = MQTTSN_TOPIC_SHORT }, 't' << 8 | '1', 0, TEXT("1") } } },
	{ "PUBLISH short qos1", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = 1, .topic_id_type = MQTTSN_TOPIC_SHORT }, 'w' << 8 | 's', 5, TEXT("2") } } },
	{ "PUBLISH short qos2", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = 2, .topic_id_type = MQTTSN_TOPIC_SHORT }, 'p' << 8 | 'h', 6, TEXT("3") } } },
	{ "PUBLISH short qos-1 retain", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = -1, .retain = true, .topic_id_type = MQTTSN_TOPIC_SHORT }, 'b' << 8 | 'v', 0,
	  TEXT("4") } } },
	{ "PUBLISH empty data", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = 0, .topic_id_type = MQTTSN_TOPIC_NORMAL }, 9, 0, { NULL, 0 } } } },
	/* The data of these three is set in main(). */
	{ "PUBLISH 255 octets, 1-octet length", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = 1, .topic_id_type = MQTTSN_TOPIC_NORMAL }, 17, 7, { NULL, 0 } } } },
	{ "PUBLISH 258 octets, 3-octet length", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = 1, .topic_id_type = MQTTSN_TOPIC_NORMAL }, 17, 8, { NULL, 0 } } } },
	{ "PUBLISH 400 octets, 3-octet length", { .type = MQTTSN_PUBLISH, .u.publish = {
	  { .qos = 2, .topic_id_type = MQTTSN_TOPIC_PREDEFINED }, 4, 9, { NULL, 0 } } } },

	{ "PUBACK", { .type = MQTTSN_PUBACK,
	  .u.puback = { 17, 2, MQTTSN_RC_INVALID_TOPIC_ID } } },
	{ "PUBCOMP", { .type = MQTTSN_PUBCOMP, .u.msg_id = 3 } },
	{ "PUBREC", { .type = MQTTSN_PUBREC, .u.msg_id = 3 } },
	{ "PUBREL", { .type = MQTTSN_PUBREL, .u.msg_id = 3 } },
	{ "SUBSCRIBE topic name", { .type = MQTTSN_SUBSCRIBE, .u.subscribe = {
	  { .qos = 1, .topic_id_type = MQTTSN_TOPIC_NORMAL }, 10, 0, TEXT("sensors/+/t1") } } },
	{ "SUBSCRIBE wildcard #", { .type = MQTTSN_SUBSCRIBE, .u.subscribe = {
	  { .qos = 0, .topic_id_type = MQTTSN_TOPIC_NORMAL }, 11, 0, TEXT("#") } } },
	{ "SUBSCRIBE short name", { .type = MQTTSN_SUBSCRIBE, .u.subscribe = {
	  { .qos = 2, .topic_id_type = MQTTSN_TOPIC_SHORT }, 12, 0, TEXT("t1") } } },
	/* Predefined id 0x5157: two printable octets, "QW" (see the script). */
	{ "SUBSCRIBE predefined id", { .type = MQTTSN_SUBSCRIBE, .u.subscribe = {
	  { .dup = true, .qos = 1, .topic_id_type = MQTTSN_TOPIC_PREDEFINED }, 13, 0x5157,
	  { NULL, 0 } } } },
	{ "SUBACK", { .type = MQTTSN_SUBACK, .u.suback = { { .qos = 1 }, 0, 10,
	  MQTTSN_RC_ACCEPTED } } },
	{ "SUBACK refused", { .type = MQTTSN_SUBACK, .u.suback = { { .qos = 2 }, 23, 13,
	  MQTTSN_RC_NOT_SUPPORTED } } },
	{ "UNSUBSCRIBE topic name", { .type = MQTTSN_UNSUBSCRIBE, .u.subscribe = {
	  { .topic_id_type = MQTTSN_TOPIC_NORMAL }, 14, 0, TEXT("sensors/#") } } },
	{ "UNSUBSCRIBE short name", { .type = MQTTSN_UNSUBSCRIBE, .u.subscribe = {
	  { .topic_id_type = MQTTSN_TOPIC_SHORT }, 15, 0, TEXT("ws") } } },
	{ "UNSUBACK", { .type = MQTTSN_UNSUBACK, .u.msg_id = 14 } },
	{ "PINGREQ", { .type = MQTTSN_PINGREQ } },
	{ "PINGREQ with client id", { .type = MQTTSN_PINGREQ,
	  .u.pingreq = { TEXT("station-17") } } },
	{ "PINGRESP", { .type = MQTTSN_PINGRESP } },
	{ "DISCONNECT", { .type = MQTTSN_DISCONNECT } },
	{ "DISCONNECT with duration", { .type = MQTTSN_DISCONNECT,
	  .u.disconnect = { true, 3600 } } },
	{ "WILLTOPICUPD", { .type = MQTTSN_WILLTOPICUPD,
	  .u.willtopic = { { .qos = 2, .retain = false }, TEXT("stations/17/gone") } } },
	{ "WILLTOPICRESP", { .type = MQTTSN_WILLTOPICRESP, .u.rc = MQTTSN_RC_ACCEPTED } },
	{ "WILLMSGUPD", { .type = MQTTSN_WILLMSGUPD, .u.willmsg = { TEXT("gone for good") } } },
	{ "WILLMSGRESP", { .type = MQTTSN_WILLMSGRESP, .u.rc = MQTTSN_RC_CONGESTION } },
	/* The inner messages of these two are set in main(). */
	{ "ENCAPSULATED PUBLISH", { .type = MQTTSN_ENCAPSULATED,
	  .u.encap = { 1, { node_id, 2 }, { NULL, 0 } } } },
	{ "ENCAPSULATED CONNECT", { .type = MQTTSN_ENCAPSULATED,
	  .u.encap = { 2, { node_id, 1 }, { NULL, 0 } } } },
};

#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

/* The encapsulated messages: vectors[inner_of[i]] goes inside the i-th 0xFE vector. */
static const char *const inner_label[] = {
	"PUBLISH predefined qos1", "CONNECT will clean",
};

static struct vector *find(const char *label)
{
	size_t i;

	for (i = 0; i < NVECTORS; i++)
		if (strcmp(vectors[i].label, label) == 0)
			return &vectors[i];
	fprintf(stderr, "sn-vectors: no vector \"%s\"\n", label);
	exit(1);
}

static void fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)('a' + i % 26);
}

static int encode_or_die(uint8_t *buf, size_t cap, const struct vector *v)
{
	int n = mqttsn_encode(buf, cap, &v->msg);

	if (n < 0) {
		fprintf(stderr, "sn-vectors: %s: %s\n", v->label, mqttsn_strerror(n));
		exit(1);
	}
	if (n != mqttsn_encoded_len(&v->msg)) {
		fprintf(stderr, "sn-vectors: %s: encoded_len disagrees with encode\n", v->label);
		exit(1);
	}
	return n;
}

static void write_hex(FILE *f, const uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i % 16 == 0)
			fprintf(f, "%s%06zx", i ? "\n" : "", i);
		fprintf(f, " %02x", buf[i]);
	}
	fputc('\n', f);
}

int main(int argc, char **argv)
{
	static uint8_t buf[MQTTSN_MSG_MAX + 3];
	static uint8_t inner_buf[2][MQTTSN_MSG_MAX];
	static struct row row;
	const struct vector *inner_of[NVECTORS] = { NULL };
	int inner_len[NVECTORS] = { 0 };
	FILE *hex, *fields;
	size_t i, enc = 0;
	int c;

	if (argc != 3) {
		fprintf(stderr, "usage: sn-vectors HEXFILE FIELDSFILE\n");
		return 2;
	}

	fill(payload255, sizeof(payload255));
	fill(payload258, sizeof(payload258));
	fill(payload400, sizeof(payload400));
	find("PUBLISH 255 octets, 1-octet length")->msg.u.publish.data =
		(struct mqttsn_bytes){ payload255, sizeof(payload255) };
	find("PUBLISH 258 octets, 3-octet length")->msg.u.publish.data =
		(struct mqttsn_bytes){ payload258, sizeof(payload258) };
	find("PUBLISH 400 octets, 3-octet length")->msg.u.publish.data =
		(struct mqttsn_bytes){ payload400, sizeof(payload400) };
	for (i = 0; i < NVECTORS; i++) {
		struct vector *v = &vectors[i];
		const struct vector *in;
		int n;

		if (v->msg.type != MQTTSN_ENCAPSULATED)
			continue;
		in = find(inner_label[enc]);
		n = encode_or_die(inner_buf[enc], sizeof(inner_buf[enc]), in);
		v->msg.u.encap.inner = (struct mqttsn_bytes){ inner_buf[enc], (size_t)n };
		inner_of[i] = in;
		inner_len[i] = n;
		enc++;
	}

	hex = fopen(argv[1], "w");
	fields = fopen(argv[2], "w");
	if (hex == NULL || fields == NULL) {
		perror("sn-vectors: fopen");
		return 1;
	}

	fputs("label", fields);
	for (c = 0; c < NCOLS; c++)
		fprintf(fields, "\t%s", col_names[c]);
	fputc('\n', fields);

	for (i = 0; i < NVECTORS; i++) {
		const struct vector *v = &vectors[i];
		int n = encode_or_die(buf, sizeof(buf), v);
		size_t len = (size_t)n;

		/* 0xFE's Length covers only its own header (5.5). */
		if (v->msg.type == MQTTSN_ENCAPSULATED)
			len = (size_t)n - (size_t)inner_len[i];
		memset(&row, 0, sizeof(row));
		add(&row, C_FRAME, "%zu", i + 1);
		/* The whole datagram: 8 octets of UDP header and the message. */
		add(&row, C_UDP_LEN, "%zu", (size_t)n + 8);
		describe(&row, &v->msg, len,
		         inner_of[i] ? &inner_of[i]->msg : NULL, (size_t)inner_len[i]);
		write_hex(hex, buf, (size_t)n);

		fputs(v->label, fields);
		for (c = 0; c < NCOLS; c++)
			fprintf(fields, "\t%s", row.cell[c]);
		fputc('\n', fields);
	}

	if (fclose(hex) != 0 || fclose(fields) != 0) {
		perror("sn-vectors: write");
		return 1;
	}
	return 0;
}
