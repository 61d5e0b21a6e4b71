/*
 * sn-probe.c - a scriptable MQTT-SN 1.2 client for the system tests.
 *
 *   sn-probe [-d] [-n LABEL] [-t SECONDS] [-l LOCALPORT] HOST PORT [SCRIPT|-]
 *
 * Talks UDP (IPv4 or IPv6, whatever HOST resolves to) to the gateway at
 * HOST:PORT and runs a script, one command a line, from SCRIPT or stdin:
 *
 *   send TYPE key=value...     encode and send one message, e.g.
 *                              send CONNECT clean=1 will=0 duration=60 id=st1
 *                              send PUBLISH qos=1 type=normal topic_id=1 msg_id=7 data=hi
 *   send raw HEX               send these octets as they are (malformed input)
 *   expect TYPE key=value...   the next message (ignored types skipped) must be
 *                              TYPE with these field values (key=!V: not V,
 *                              key=*: any); within=S (seconds, default -t)
 *                              bounds the wait; save=VAR keeps its topic id
 *                              (or msg id), save_FIELD=VAR any field
 *   expect none [within=S]     nothing arrives for S seconds (a bounded,
 *                              explicit wait: the only fixed wait there is)
 *   maybe TYPE key=value...    an optional answer (e.g. a refusal): when the
 *                              next message is TYPE its fields must match;
 *                              another type is left for the next expect;
 *                              nothing within S is fine too
 *   ack [rc=N]                 answer the last PUBLISH (PUBACK or PUBREC),
 *                              PUBREL (PUBCOMP), PUBREC (PUBREL) or REGISTER
 *                              (REGACK) received
 *   ignore TYPE                skip messages of this type from now on
 *   autoack REGISTER           answer every REGISTER with REGACK rc 0 and
 *                              skip it (for flows where re-REGISTERs may come)
 *   rebind [keep=1]            continue from a new source port; keep=1 keeps
 *                              the old socket open and fails on anything
 *                              that still arrives there
 *   encap node=HEX [radius=N]  wrap what is sent in 0xFE with this wireless
 *                              node id and require replies wrapped alike
 *   encap off
 *   frames KEYFILE CLIENTID [dict=FILE] [state=FILE] [mtu=N]
 *                              speak link frames (codec/FRAMES.md) from now
 *                              on, sealed with CLIENTID's key from KEYFILE
 *                              (its last line; codec/keyfile.h), deflated
 *                              against the dictionary FILE (sn-dict),
 *                              counters kept in the state FILE ("TX RX"):
 *                              what is sent queues and leaves batched in
 *                              frames before the next wait (expect, maybe,
 *                              flush, end of script); frames received are
 *                              opened and their messages expected one by
 *                              one; $frames_out and $frames_in count them,
 *                              $frame_len is the last one's length
 *   frames plain [dict=FILE] [mtu=N]
 *                              unencrypted frames (a link secured below)
 *   frames off                 back to plain MQTT-SN datagrams
 *   flush                      send what is queued for frames now
 *   resend [tamper=1] [file=FILE]
 *                              send the last frame sent (or the one saved in
 *                              FILE) again, as it was (a replay) or with one
 *                              bit flipped (of the counter, when encrypted,
 *                              so that it is not refused as a replay)
 *   save_frame FILE            keep the last frame sent in FILE
 *   set NAME VALUE             a variable, used as $NAME or ${NAME}
 *   exec COMMAND...            run COMMAND with bash -c; must exit 0
 *   echo TEXT...               print TEXT on stdout
 *
 * Lines that are empty or start with '#' are skipped. $NAME is replaced by
 * a script variable, else by the environment variable; an unknown name is
 * an error except in exec lines, where bash sees it. Values may be quoted:
 * data="two words". Field names are those of codec/mqttsn.h, shortened:
 * id (client id), name (REGISTER topic name), topic (SUBSCRIBE filter, short
 * topic name, Will topic), type (topic id type: normal, predefined, short),
 * data / hex / size=N (payload as text, as hex, or N pattern octets), len.
 *
 * With -d every message sent and received is printed on stderr with
 * mqttsn_format. -l binds the local port (to receive ADVERTISE there).
 * Exit status: 0 when the script ran to its end, 1 at the first unmet
 * expectation or failed exec (the message names the script line), 2 for a
 * usage error (bad option, unknown command or field, bad value).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "codec/keyfile.h"
#include "codec/link.h"
#include "codec/mqttsn.h"

#define DGRAM_MAX 65536u
#define LINE_MAX_LEN 8192u
#define MAX_ARGS 32u
#define MAX_VARS 64u
#define MAX_OLD 8u
#define MAX_FIELDS 16u
#define MAX_NODE_ID 32u
#define MAX_PENDING 64u
#define PENDING_MSG_MAX 4096u

enum { PROBE_OK = 0, PROBE_FAIL = 1, PROBE_USAGE = 2 };

/* ---------------------------------------------------------------- state */

struct var {
	char name[32];
	char *val;
};

/* One key=value word of a command; key alone for a positional word. */
struct arg {
	const char *key;
	const char *val;
	bool used;
};

struct args {
	struct arg a[MAX_ARGS];
	size_t n;
};

/* One field of a received message, as text for matching and printing. */
struct field {
	const char *name;
	bool numeric;
	bool hex;               /* binary: matched and shown as hex */
	long num;
	const uint8_t *ptr;
	size_t len;
	char text[24];
};

static struct {
	const char *label;
	const char *script;
	unsigned line;
	bool debug;
	double within;
	char err[1024];

	struct sockaddr_storage gw;
	socklen_t gw_len;
	int family;
	int fd;
	int old_fd[MAX_OLD];
	size_t n_old;

	bool encap;
	uint8_t node[MAX_NODE_ID];
	size_t node_len;
	uint8_t radius;

	bool ignore[256];
	bool autoack_register;
	struct var vars[MAX_VARS];
	size_t n_vars;

	uint8_t rx[DGRAM_MAX];
	size_t rx_len;
	int rx_err;                 /* decode result of the current message */
	bool held;                  /* the current message is left for the next expect */
	struct mqttsn_msg msg;      /* the current message (the inner one under 0xFE) */
	uint8_t last[DGRAM_MAX];    /* the last message that ack answers */
	size_t last_len;

	uint8_t tx[DGRAM_MAX];
	uint8_t wire[DGRAM_MAX];
	uint8_t data[DGRAM_MAX];

	/* link frames (frames command) */
	struct mqttsn_link *link;
	struct mqttsn_frame_ctx *fctx;
	struct mqttsn_frame_dict dict;
	uint8_t *dict_file;
	char state[1024];           /* "" : counters not kept */
	uint64_t rx_floor;
	uint8_t last_frame[MQTTSN_FRAME_MAX];
	size_t last_frame_len;
	unsigned long frames_in, frames_out;
	uint8_t pend[MAX_PENDING][PENDING_MSG_MAX];
	size_t pend_len[MAX_PENDING];
	size_t pend_head, pend_n;
	uint8_t content[MQTTSN_FRAME_CONTENT_MAX];
} P;

/* ---------------------------------------------------------------- errors */

__attribute__((format(printf, 2, 3)))
static int failf(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(P.err, sizeof(P.err), fmt, ap);
	va_end(ap);
	return code;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- names */

static int type_by_name(const char *name)
{
	int t;

	for (t = 0; t < 256; t++) {
		const char *n = mqttsn_type_name(t);
		if (n != NULL && strcasecmp(n, name) == 0)
			return t;
	}
	return -1;
}

static const char *type_name(int t)
{
	const char *n = mqttsn_type_name(t);
	return n != NULL ? n : "?";
}

static const char *const tid_names[] = { "normal", "predefined", "short", "reserved" };

/* ---------------------------------------------------------------- values */

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || v < 0 || v > 86400)
		return -1;
	*out = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex text (spaces and ':' allowed between octets) into out; length or -1. */
static long parse_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*s != '\0') {
		int hi, lo;
		if (*s == ' ' || *s == ':') {
			s++;
			continue;
		}
		hi = hexval(s[0]);
		lo = hi < 0 ? -1 : hexval(s[1]);
		if (hi < 0 || lo < 0 || n == cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return (long)n;
}

/* ---------------------------------------------------------------- args */

static const char *arg_get(struct args *a, const char *key)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		if (a->a[i].val != NULL && strcmp(a->a[i].key, key) == 0) {
			a->a[i].used = true;
			return a->a[i].val;
		}
	}
	return NULL;
}

static int arg_num(struct args *a, const char *key, long def, long min, long max, long *out)
{
	const char *v = arg_get(a, key);

	if (v == NULL) {
		*out = def;
		return PROBE_OK;
	}
	if (parse_long(v, min, max, out) != 0)
		return failf(PROBE_USAGE, "bad value for %s: \"%s\" (want %ld..%ld)", key, v, min,
		             max);
	return PROBE_OK;
}

static int arg_u16(struct args *a, const char *key, long def, uint16_t *out)
{
	long v;
	int rc = arg_num(a, key, def, 0, 65535, &v);
	*out = (uint16_t)v;
	return rc;
}

static int arg_u8(struct args *a, const char *key, long def, uint8_t *out)
{
	long v;
	int rc = arg_num(a, key, def, 0, 255, &v);
	*out = (uint8_t)v;
	return rc;
}

static int arg_bool(struct args *a, const char *key, bool def, bool *out)
{
	long v;
	int rc = arg_num(a, key, def ? 1 : 0, 0, 1, &v);
	*out = v != 0;
	return rc;
}

/* Every key=value word must have been looked at: catches typos in scripts. */
static int args_all_used(const struct args *a, size_t from)
{
	size_t i;

	for (i = from; i < a->n; i++)
		if (!a->a[i].used)
			return failf(PROBE_USAGE, "unexpected word \"%s%s%s\"", a->a[i].key,
			             a->a[i].val != NULL ? "=" : "",
			             a->a[i].val != NULL ? a->a[i].val : "");
	return PROBE_OK;
}

/*
 * Split line (modified in place) into words at blanks; double quotes group
 * blanks into a word and are removed, \" and \\ escape inside them.
 */
static int split(char *line, struct args *a)
{
	char *r = line;

	a->n = 0;
	for (;;) {
		char *w, *eq;
		bool quoted = false;

		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '\0')
			return PROBE_OK;
		if (a->n == MAX_ARGS)
			return failf(PROBE_USAGE, "more than %u words", MAX_ARGS);
		w = r;
		{
			char *o = r;
			while (*r != '\0' && (quoted || (*r != ' ' && *r != '\t'))) {
				if (*r == '"') {
					quoted = !quoted;
					r++;
				} else if (quoted && *r == '\\' && (r[1] == '"' || r[1] == '\\')) {
					*o++ = r[1];
					r += 2;
				} else {
					*o++ = *r++;
				}
			}
			if (quoted)
				return failf(PROBE_USAGE, "unbalanced quote");
			if (*r != '\0')
				r++;
			*o = '\0';
		}
		eq = strchr(w, '=');
		a->a[a->n].used = false;
		a->a[a->n].key = w;
		a->a[a->n].val = NULL;
		if (eq != NULL) {
			*eq = '\0';
			a->a[a->n].val = eq + 1;
		}
		a->n++;
	}
}

/* ---------------------------------------------------------------- variables */

static struct var *var_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < P.n_vars; i++)
		if (strlen(P.vars[i].name) == len && memcmp(P.vars[i].name, name, len) == 0)
			return &P.vars[i];
	return NULL;
}

static int var_set(const char *name, const uint8_t *val, size_t len)
{
	struct var *v = var_find(name, strlen(name));
	char *copy;

	if (strlen(name) >= sizeof(v->name) || name[0] == '\0')
		return failf(PROBE_USAGE, "bad variable name \"%s\"", name);
	if (v == NULL) {
		if (P.n_vars == MAX_VARS)
			return failf(PROBE_USAGE, "more than %u variables", MAX_VARS);
		v = &P.vars[P.n_vars++];
		snprintf(v->name, sizeof(v->name), "%s", name);
		v->val = NULL;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		return failf(PROBE_FAIL, "out of memory");
	if (len > 0)
		memcpy(copy, val, len);
	copy[len] = '\0';
	free(v->val);
	v->val = copy;
	return PROBE_OK;
}

static bool name_char(char c, bool first)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (!first && c >= '0' && c <= '9');
}

/* Replace $NAME and ${NAME} in in; unknown names are errors unless keep_unknown. */
static int expand(const char *in, char *out, size_t cap, bool keep_unknown)
{
	size_t o = 0;

	while (*in != '\0') {
		const char *name, *val = NULL, *start = in;
		size_t nlen = 0, vlen;
		bool brace;

		if (in[0] != '$' || !(name_char(in[1], true) || in[1] == '{')) {
			if (o + 1 >= cap)
				return failf(PROBE_USAGE, "line too long after expansion");
			out[o++] = *in++;
			continue;
		}
		brace = in[1] == '{';
		name = in + (brace ? 2 : 1);
		while (name_char(name[nlen], nlen == 0))
			nlen++;
		if (brace && name[nlen] != '}')
			return failf(PROBE_USAGE, "bad ${...}");
		in = name + nlen + (brace ? 1 : 0);
		{
			struct var *v = var_find(name, nlen);
			char env[64];
			if (v != NULL) {
				val = v->val;
			} else if (nlen < sizeof(env)) {
				memcpy(env, name, nlen);
				env[nlen] = '\0';
				val = getenv(env);
			}
		}
		if (val == NULL) {
			if (!keep_unknown)
				return failf(PROBE_USAGE, "unknown variable \"%.*s\"", (int)nlen, name);
			val = start;
			vlen = (size_t)(in - start);
		} else {
			vlen = strlen(val);
		}
		if (o + vlen + 1 > cap)
			return failf(PROBE_USAGE, "line too long after expansion");
		memcpy(out + o, val, vlen);
		o += vlen;
	}
	out[o] = '\0';
	return PROBE_OK;
}

/* ---------------------------------------------------------------- fields */

static void field_num(struct field *f, size_t *n, const char *name, long v)
{
	struct field *x = &f[(*n)++];

	x->name = name;
	x->numeric = true;
	x->hex = false;
	x->num = v;
	snprintf(x->text, sizeof(x->text), "%ld", v);
	x->ptr = (const uint8_t *)x->text;
	x->len = strlen(x->text);
}

static void field_bytes(struct field *f, size_t *n, const char *name, const uint8_t *p,
                        size_t len)
{
	struct field *x = &f[(*n)++];

	x->name = name;
	x->numeric = false;
	x->hex = false;
	x->num = 0;
	x->text[0] = '\0';
	x->ptr = p;
	x->len = len;
}

static void field_str(struct field *f, size_t *n, const char *name, const char *s)
{
	field_bytes(f, n, name, (const uint8_t *)s, strlen(s));
}

static void field_payload(struct field *f, size_t *n, const struct mqttsn_bytes *b)
{
	field_bytes(f, n, "data", b->ptr, b->len);
	field_bytes(f, n, "hex", b->ptr, b->len);
	f[*n - 1].hex = true;
	field_num(f, n, "len", (long)b->len);
}

static char short_name[3];

/* The fields of m by the names scripts use. Returns how many. */
static size_t msg_fields(const struct mqttsn_msg *m, struct field *f)
{
	size_t n = 0;

	switch (m->type) {
	case MQTTSN_ADVERTISE:
		field_num(f, &n, "gw_id", m->u.advertise.gw_id);
		field_num(f, &n, "duration", m->u.advertise.duration);
		break;
	case MQTTSN_SEARCHGW:
		field_num(f, &n, "radius", m->u.searchgw.radius);
		break;
	case MQTTSN_GWINFO:
		field_num(f, &n, "gw_id", m->u.gwinfo.gw_id);
		field_bytes(f, &n, "gw_addr", m->u.gwinfo.gw_addr.ptr, m->u.gwinfo.gw_addr.len);
		f[n - 1].hex = true;
		break;
	case MQTTSN_CONNECT:
		field_num(f, &n, "clean", m->u.connect.flags.clean_session);
		field_num(f, &n, "will", m->u.connect.flags.will);
		field_num(f, &n, "duration", m->u.connect.duration);
		field_num(f, &n, "protocol_id", m->u.connect.protocol_id);
		field_bytes(f, &n, "id", m->u.connect.client_id.ptr, m->u.connect.client_id.len);
		break;
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		field_num(f, &n, "rc", m->u.rc);
		break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		field_num(f, &n, "qos", m->u.willtopic.flags.qos);
		field_num(f, &n, "retain", m->u.willtopic.flags.retain);
		field_bytes(f, &n, "topic", m->u.willtopic.topic.ptr, m->u.willtopic.topic.len);
		break;
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
		field_payload(f, &n, &m->u.willmsg.msg);
		break;
	case MQTTSN_REGISTER:
		field_num(f, &n, "topic_id", m->u.reg.topic_id);
		field_num(f, &n, "msg_id", m->u.reg.msg_id);
		field_bytes(f, &n, "name", m->u.reg.topic_name.ptr, m->u.reg.topic_name.len);
		break;
	case MQTTSN_REGACK:
		field_num(f, &n, "topic_id", m->u.regack.topic_id);
		field_num(f, &n, "msg_id", m->u.regack.msg_id);
		field_num(f, &n, "rc", m->u.regack.rc);
		break;
	case MQTTSN_PUBLISH:
		field_num(f, &n, "dup", m->u.publish.flags.dup);
		field_num(f, &n, "qos", m->u.publish.flags.qos);
		field_num(f, &n, "retain", m->u.publish.flags.retain);
		field_str(f, &n, "type", tid_names[m->u.publish.flags.topic_id_type & 3u]);
		field_num(f, &n, "topic_id", m->u.publish.topic_id);
		short_name[0] = (char)(m->u.publish.topic_id >> 8);
		short_name[1] = (char)(m->u.publish.topic_id & 0xFFu);
		short_name[2] = '\0';
		if (m->u.publish.flags.topic_id_type == MQTTSN_TOPIC_SHORT)
			field_bytes(f, &n, "topic", (const uint8_t *)short_name, 2);
		field_num(f, &n, "msg_id", m->u.publish.msg_id);
		field_payload(f, &n, &m->u.publish.data);
		break;
	case MQTTSN_PUBACK:
		field_num(f, &n, "topic_id", m->u.puback.topic_id);
		field_num(f, &n, "msg_id", m->u.puback.msg_id);
		field_num(f, &n, "rc", m->u.puback.rc);
		break;
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_PUBCOMP:
	case MQTTSN_UNSUBACK:
		field_num(f, &n, "msg_id", m->u.msg_id);
		break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		field_num(f, &n, "dup", m->u.subscribe.flags.dup);
		field_num(f, &n, "qos", m->u.subscribe.flags.qos);
		field_str(f, &n, "type", tid_names[m->u.subscribe.flags.topic_id_type & 3u]);
		field_num(f, &n, "msg_id", m->u.subscribe.msg_id);
		field_num(f, &n, "topic_id", m->u.subscribe.topic_id);
		field_bytes(f, &n, "topic", m->u.subscribe.topic_name.ptr,
		            m->u.subscribe.topic_name.len);
		break;
	case MQTTSN_SUBACK:
		field_num(f, &n, "qos", m->u.suback.flags.qos);
		field_num(f, &n, "topic_id", m->u.suback.topic_id);
		field_num(f, &n, "msg_id", m->u.suback.msg_id);
		field_num(f, &n, "rc", m->u.suback.rc);
		break;
	case MQTTSN_PINGREQ:
		field_bytes(f, &n, "id", m->u.pingreq.client_id.ptr, m->u.pingreq.client_id.len);
		break;
	case MQTTSN_DISCONNECT:
		if (m->u.disconnect.has_duration)
			field_num(f, &n, "duration", m->u.disconnect.duration);
		else
			field_str(f, &n, "duration", "");
		break;
	case MQTTSN_ENCAPSULATED:
		field_num(f, &n, "radius", m->u.encap.ctrl & 3u);
		field_bytes(f, &n, "node", m->u.encap.node_id.ptr, m->u.encap.node_id.len);
		f[n - 1].hex = true;
		break;
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
	case MQTTSN_PINGRESP:
		break;
	}
	return n;
}

static bool field_is_hex(const struct field *f)
{
	return f->hex;
}

/* The field as text: hex fields in lowercase hex; binary text escaped. */
static void field_render(const struct field *f, char *out, size_t cap, size_t max)
{
	size_t i, o = 0;

	if (cap == 0)
		return;
	for (i = 0; i < f->len && i < max && o + 5 < cap; i++) {
		uint8_t c = f->ptr[i];
		if (field_is_hex(f))
			o += (size_t)snprintf(out + o, cap - o, "%02x", c);
		else if (c >= 0x20 && c < 0x7F)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	if (i < f->len && o + 4 < cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* "TYPE k=v ..." for messages. */
static void describe(const struct mqttsn_msg *m, char *out, size_t cap)
{
	struct field f[MAX_FIELDS];
	size_t n = msg_fields(m, f), i, o;

	o = (size_t)snprintf(out, cap, "%s", type_name((int)m->type));
	for (i = 0; i < n && o + 1 < cap; i++) {
		char v[200];
		if (strcmp(f[i].name, "hex") == 0)
			continue;
		field_render(&f[i], v, sizeof(v), 48);
		o += (size_t)snprintf(out + o, cap - o, " %s=%s", f[i].name, v);
	}
}

static bool field_matches(const struct field *f, const char *want)
{
	if (strcmp(want, "*") == 0)
		return true;
	if (want[0] == '!')
		return !field_matches(f, want + 1);
	if (f->numeric) {
		long w;
		return parse_long(want, -1, 0x7FFFFFFFL, &w) == 0 && w == f->num;
	}
	if (field_is_hex(f)) {
		uint8_t *buf = malloc(f->len + 1);
		long n;
		bool eq;
		if (buf == NULL)
			return false;
		n = parse_hex(want, buf, f->len + 1);
		eq = n >= 0 && (size_t)n == f->len && (f->len == 0 || memcmp(buf, f->ptr, f->len) == 0);
		free(buf);
		return eq;
	}
	return strlen(want) == f->len && (f->len == 0 || memcmp(want, f->ptr, f->len) == 0);
}

/* ---------------------------------------------------------------- socket */

static void debug_msg(const char *dir, const uint8_t *buf, size_t len)
{
	struct mqttsn_msg m;
	char line[512];
	int rc;

	if (!P.debug)
		return;
	rc = mqttsn_decode(buf, len, &m);
	if (rc != MQTTSN_OK) {
		fprintf(stderr, "%s: %s %zu octets, undecodable: %s\n", P.label, dir, len,
		        mqttsn_strerror(rc));
		return;
	}
	(void)mqttsn_format(line, sizeof(line), &m);
	fprintf(stderr, "%s: %s %s\n", P.label, dir, line);
	if (m.type == MQTTSN_ENCAPSULATED && mqttsn_decode(m.u.encap.inner.ptr, m.u.encap.inner.len,
	                                                   &m) == MQTTSN_OK) {
		(void)mqttsn_format(line, sizeof(line), &m);
		fprintf(stderr, "%s:    inner %s\n", P.label, line);
	}
}

static int open_socket(unsigned local_port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (P.family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons((uint16_t)local_port);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_port = htons((uint16_t)local_port);
		len = sizeof(*s4);
	}
	fd = socket(P.family, SOCK_DGRAM, 0);
	if (fd < 0) {
		failf(PROBE_FAIL, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		failf(PROBE_FAIL, "bind port %u: %s", local_port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---------------------------------------------------------------- frames */

static void vars_frames(void)
{
	char n[24];

	snprintf(n, sizeof(n), "%lu", P.frames_out);
	(void)var_set("frames_out", (const uint8_t *)n, strlen(n));
	snprintf(n, sizeof(n), "%lu", P.frames_in);
	(void)var_set("frames_in", (const uint8_t *)n, strlen(n));
}

static int state_save(uint64_t tx)
{
	FILE *f;

	if (P.state[0] == '\0')
		return PROBE_OK;
	f = fopen(P.state, "w");
	if (f == NULL || fprintf(f, "%llu %llu\n", (unsigned long long)tx,
	                         (unsigned long long)P.rx_floor) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		if (f != NULL)
			fclose(f);
		return failf(PROBE_FAIL, "%s: %s", P.state, strerror(errno));
	}
	fclose(f);
	return PROBE_OK;
}

static uint64_t tx_mark_saved;

/* Send every frame queued messages make now. */
static int flush_frames(void)
{
	int n, guard;

	if (P.link == NULL)
		return PROBE_OK;
	mqttsn_link_flush(P.link);
	for (guard = 0; guard < 100000; guard++) {
		n = mqttsn_link_next_frame(P.link, P.fctx, 0, P.last_frame, sizeof(P.last_frame));
		if (n == 0)
			return PROBE_OK;
		if (n == MQTTSN_FRAME_ERR_COUNTER) {
			uint64_t want = mqttsn_link_tx_want(P.link);
			int rc = state_save(want);
			if (rc != PROBE_OK)
				return rc;
			tx_mark_saved = want;
			mqttsn_link_tx_persisted(P.link, want);
			continue;
		}
		if (n < 0)
			return failf(PROBE_FAIL, "sealing a frame: %s", mqttsn_frame_strerror(n));
		P.last_frame_len = (size_t)n;
		if (P.debug)
			fprintf(stderr, "%s: send frame of %d octets (%zu queued after)\n", P.label, n,
			        mqttsn_link_queued_msgs(P.link));
		if (sendto(P.fd, P.last_frame, (size_t)n, 0, (const struct sockaddr *)&P.gw, P.gw_len) < 0)
			return failf(PROBE_FAIL, "sendto: %s", strerror(errno));
		P.frames_out++;
		vars_frames();
		{
			char v[16];
			snprintf(v, sizeof(v), "%d", n);
			(void)var_set("frame_len", (const uint8_t *)v, strlen(v));
		}
	}
	return failf(PROBE_FAIL, "frames never stop");
}

static void pend_msg(void *arg, const uint8_t *msg, size_t len)
{
	size_t slot;

	(void)arg;
	if (P.pend_n == MAX_PENDING || len > PENDING_MSG_MAX) {
		fprintf(stderr, "%s: a message of %zu octets in a frame is dropped (probe's limits)\n",
		        P.label, len);
		return;
	}
	slot = (P.pend_head + P.pend_n) % MAX_PENDING;
	memcpy(P.pend[slot], msg, len);
	P.pend_len[slot] = len;
	P.pend_n++;
}

/* A frame arrived in P.rx: its messages join the pending ones. */
static int frame_in(void)
{
	struct mqttsn_frame_info info;
	uint64_t highest;
	int n = mqttsn_link_open(P.link, P.fctx, P.rx, P.rx_len, P.content, sizeof(P.content), &info);

	if (n < 0)
		return failf(PROBE_FAIL, "a frame from the gateway does not open: %s",
		             mqttsn_frame_strerror(n));
	P.frames_in++;
	vars_frames();
	if (P.debug)
		fprintf(stderr, "%s: recv frame of %zu octets%s\n", P.label, P.rx_len,
		        info.compressed ? ", compressed" : "");
	if (mqttsn_link_rx_changed(P.link, &highest)) {
		P.rx_floor = highest + 1;
		mqttsn_link_rx_persisted(P.link, highest);
		if (state_save(tx_mark_saved) != PROBE_OK)
			return PROBE_FAIL;
	}
	if (mqttsn_link_deliver(P.link, P.content, (size_t)n, &info, pend_msg, NULL) < 0)
		return failf(PROBE_FAIL, "a frame from the gateway has malformed content");
	return PROBE_OK;
}

static void frames_off(void)
{
	mqttsn_link_free(P.link);
	P.link = NULL;
	free(P.dict_file);
	P.dict_file = NULL;
	P.pend_n = 0;
}

static int read_whole(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t cap = 1 << 20, n;

	if (f == NULL)
		return failf(PROBE_USAGE, "%s: %s", path, strerror(errno));
	buf = malloc(cap);
	if (buf == NULL) {
		fclose(f);
		return failf(PROBE_FAIL, "out of memory");
	}
	n = fread(buf, 1, cap, f);
	fclose(f);
	*out = buf;
	*len = n;
	return PROBE_OK;
}

static int cmd_frames(struct args *a)
{
	struct mqttsn_link_conf c;
	const char *dict = arg_get(a, "dict"), *state = arg_get(a, "state");
	long mtu;
	int rc;
	uint64_t tx = 0;

	frames_off();
	if (a->n == 2 && a->a[1].val == NULL && strcmp(a->a[1].key, "off") == 0)
		return PROBE_OK;
	memset(&c, 0, sizeof(c));
	if ((rc = arg_num(a, "mtu", 1200, 32, MQTTSN_FRAME_MAX, &mtu)) != PROBE_OK)
		return rc;
	c.mtu = (size_t)mtu;
	c.hold_ms = 0;
	c.direction = MQTTSN_LINK_UP;
	if (a->n >= 2 && a->a[1].val == NULL && strcmp(a->a[1].key, "plain") == 0) {
		if ((rc = args_all_used(a, 2)) != PROBE_OK)
			return rc;
	} else {
		uint8_t *text;
		size_t len;
		unsigned line;
		int found;

		if (a->n < 3 || a->a[1].val != NULL || a->a[2].val != NULL)
			return failf(PROBE_USAGE, "frames KEYFILE CLIENTID [dict=FILE] [state=FILE] [mtu=N], "
			             "frames plain or frames off");
		if ((rc = args_all_used(a, 3)) != PROBE_OK)
			return rc;
		if ((rc = read_whole(a->a[1].key, &text, &len)) != PROBE_OK)
			return rc;
		found = mqttsn_keyfile_find((const char *)text, len, a->a[2].key, &c.keys, &c.key_id, &line);
		sodium_memzero(text, len);
		free(text);
		if (found < 0)
			return failf(PROBE_USAGE, "%s:%u: %s", a->a[1].key, line, mqttsn_keyfile_strerror(found));
		if (found == 0)
			return failf(PROBE_USAGE, "%s: no key for %s", a->a[1].key, a->a[2].key);
		c.encrypt = true;
	}
	if (dict != NULL) {
		size_t len;
		if ((rc = read_whole(dict, &P.dict_file, &len)) != PROBE_OK)
			return rc;
		rc = mqttsn_frame_dict_decode(P.dict_file, len, &P.dict);
		if (rc < 0)
			return failf(PROBE_USAGE, "%s: %s", dict, mqttsn_frame_strerror(rc));
		c.dict = &P.dict;
		c.dicts = &P.dict;
		c.ndicts = 1;
	}
	P.state[0] = '\0';
	P.rx_floor = 0;
	if (state != NULL && c.encrypt) {
		unsigned long long t = 0, r = 0;
		FILE *f = fopen(state, "r");
		snprintf(P.state, sizeof(P.state), "%s", state);
		if (f != NULL) {
			if (fscanf(f, "%llu %llu", &t, &r) != 2) {
				fclose(f);
				return failf(PROBE_USAGE, "%s: not \"TX RX\"", state);
			}
			fclose(f);
		}
		tx = t;
		P.rx_floor = r;
	}
	tx_mark_saved = tx;
	if (P.fctx == NULL && (P.fctx = malloc(sizeof(*P.fctx))) == NULL)
		return failf(PROBE_FAIL, "out of memory");
	P.link = mqttsn_link_new(&c, tx, P.rx_floor);
	sodium_memzero(&c.keys, sizeof(c.keys));
	if (P.link == NULL)
		return failf(PROBE_USAGE, "frames: bad mtu=%ld", mtu);
	vars_frames();
	return PROBE_OK;
}

static int cmd_save_frame(struct args *a)
{
	FILE *f;

	if (a->n != 2 || a->a[1].val != NULL)
		return failf(PROBE_USAGE, "save_frame FILE");
	if (P.last_frame_len == 0)
		return failf(PROBE_USAGE, "save_frame: no frame was sent yet");
	f = fopen(a->a[1].key, "wb");
	if (f == NULL || fwrite(P.last_frame, 1, P.last_frame_len, f) != P.last_frame_len) {
		if (f != NULL)
			fclose(f);
		return failf(PROBE_FAIL, "%s: %s", a->a[1].key, strerror(errno));
	}
	fclose(f);
	return PROBE_OK;
}

static int cmd_resend(struct args *a)
{
	bool tamper;
	int rc;
	const char *file = arg_get(a, "file");
	uint8_t copy[MQTTSN_FRAME_MAX];
	size_t len = P.last_frame_len;

	if ((rc = arg_bool(a, "tamper", false, &tamper)) != PROBE_OK ||
	    (rc = args_all_used(a, 1)) != PROBE_OK)
		return rc;
	if (file != NULL) {
		FILE *f = fopen(file, "rb");
		if (f == NULL)
			return failf(PROBE_USAGE, "%s: %s", file, strerror(errno));
		len = fread(copy, 1, sizeof(copy), f);
		fclose(f);
	} else {
		memcpy(copy, P.last_frame, len);
	}
	if (len == 0)
		return failf(PROBE_USAGE, "resend: no frame");
	if (tamper && len > 2 && (copy[1] & MQTTSN_FRAME_F_ENC) != 0) {
		/* The counter's last octet: a new counter, so the AEAD (not the window) refuses it. */
		size_t at = 2u + ((copy[1] & MQTTSN_FRAME_F_ZIP) ? 1u : 0u) +
		            ((copy[1] & MQTTSN_FRAME_F_WIDE) ? 3u : 1u);
		if (at < len)
			copy[at] ^= 0x80;
	} else if (tamper) {
		copy[len - 1] ^= 0x01;
	}
	if (sendto(P.fd, copy, len, 0, (const struct sockaddr *)&P.gw, P.gw_len) < 0)
		return failf(PROBE_FAIL, "sendto: %s", strerror(errno));
	return PROBE_OK;
}

static int send_wire(const uint8_t *buf, size_t len)
{
	const uint8_t *out = buf;
	size_t out_len = len;

	if (P.encap) {
		/* 5.5: the Length field covers only the encapsulation header. */
		size_t hdr = 3 + P.node_len;
		if (len > sizeof(P.wire) - hdr)
			return failf(PROBE_USAGE, "message too long to encapsulate");
		P.wire[0] = (uint8_t)hdr;
		P.wire[1] = MQTTSN_ENCAPSULATED;
		P.wire[2] = (uint8_t)(P.radius & 3u);
		memcpy(P.wire + 3, P.node, P.node_len);
		memcpy(P.wire + hdr, buf, len);
		out = P.wire;
		out_len = hdr + len;
	}
	debug_msg("send", out, out_len);
	if (P.link != NULL) {
		int rc = mqttsn_link_send(P.link, P.fctx, out, out_len, 0);
		if (rc != MQTTSN_OK)
			return failf(PROBE_FAIL, "queueing for a frame: %s", mqttsn_frame_strerror(rc));
		return PROBE_OK;
	}
	if (sendto(P.fd, out, out_len, 0, (const struct sockaddr *)&P.gw, P.gw_len) < 0)
		return failf(PROBE_FAIL, "sendto: %s", strerror(errno));
	return PROBE_OK;
}

static int encode_and_send(const struct mqttsn_msg *m);

/*
 * Wait until deadline for the next message that is not ignored. Returns
 * PROBE_OK with *got set (and P.msg / P.rx_err filled) or an error.
 */
static int recv_next(double deadline, bool *got)
{
	*got = false;
	if (P.held) {
		P.held = false;
		*got = true;
		return PROBE_OK;
	}
	for (;;) {
		struct pollfd pfd[1 + MAX_OLD];
		double left = deadline - now_s();
		size_t i, nfd = 0;
		ssize_t r;
		int rc;

		/* What is queued for frames leaves before any wait. */
		if ((rc = flush_frames()) != PROBE_OK)
			return rc;
		if (P.pend_n > 0) {
			P.rx_len = P.pend_len[P.pend_head];
			memcpy(P.rx, P.pend[P.pend_head], P.rx_len);
			P.pend_head = (P.pend_head + 1) % MAX_PENDING;
			P.pend_n--;
			goto have;
		}
		if (left < 0)
			left = 0;
		pfd[nfd].fd = P.fd;
		pfd[nfd++].events = POLLIN;
		for (i = 0; i < P.n_old; i++) {
			pfd[nfd].fd = P.old_fd[i];
			pfd[nfd++].events = POLLIN;
		}
		rc = poll(pfd, (nfds_t)nfd, (int)(left * 1000.0 + 0.999));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return failf(PROBE_FAIL, "poll: %s", strerror(errno));
		if (rc == 0) {
			if (now_s() >= deadline)
				return PROBE_OK;
			continue;
		}
		for (i = 1; i < nfd; i++) {
			if (pfd[i].revents == 0)
				continue;
			r = recv(pfd[i].fd, P.rx, sizeof(P.rx), 0);
			if (r < 0)
				continue;
			debug_msg("recv (old address)", P.rx, (size_t)r);
			{
				struct mqttsn_msg m;
				char d[512] = "undecodable";
				if (mqttsn_decode(P.rx, (size_t)r, &m) == MQTTSN_OK)
					describe(&m, d, sizeof(d));
				return failf(PROBE_FAIL, "a message arrived at the old address after rebind: %s",
				             d);
			}
		}
		if (pfd[0].revents == 0)
			continue;
		r = recv(P.fd, P.rx, sizeof(P.rx), 0);
		if (r < 0) {
			/* ICMP port unreachable from an earlier send: not a message. */
			if (errno == ECONNREFUSED || errno == EINTR || errno == EAGAIN)
				continue;
			return failf(PROBE_FAIL, "recv: %s", strerror(errno));
		}
		P.rx_len = (size_t)r;
		if (P.link != NULL && P.rx_len > 0 && P.rx[0] == MQTTSN_FRAME_MARK) {
			if ((rc = frame_in()) != PROBE_OK)
				return rc;
			continue;
		}
have:
		debug_msg("recv", P.rx, P.rx_len);
		P.rx_err = mqttsn_decode(P.rx, P.rx_len, &P.msg);
		if (P.rx_err == MQTTSN_OK && P.encap) {
			const struct mqttsn_msg *o = &P.msg;
			if (o->type != MQTTSN_ENCAPSULATED) {
				char d[512];
				describe(o, d, sizeof(d));
				return failf(PROBE_FAIL, "expected an encapsulated reply, got %s", d);
			}
			if (o->u.encap.node_id.len != P.node_len ||
			    memcmp(o->u.encap.node_id.ptr, P.node, P.node_len) != 0)
				return failf(PROBE_FAIL, "encapsulated reply for another node id");
			P.rx_err = mqttsn_decode(o->u.encap.inner.ptr, o->u.encap.inner.len, &P.msg);
		}
		if (P.rx_err == MQTTSN_OK && P.ignore[P.msg.type & 0xFFu])
			continue;
		if (P.rx_err == MQTTSN_OK && P.autoack_register && P.msg.type == MQTTSN_REGISTER) {
			struct mqttsn_msg ack;
			memset(&ack, 0, sizeof(ack));
			ack.type = MQTTSN_REGACK;
			ack.u.regack.topic_id = P.msg.u.reg.topic_id;
			ack.u.regack.msg_id = P.msg.u.reg.msg_id;
			if ((rc = encode_and_send(&ack)) != PROBE_OK)
				return rc;
			continue;
		}
		if (P.rx_err == MQTTSN_OK &&
		    (P.msg.type == MQTTSN_PUBLISH || P.msg.type == MQTTSN_PUBREL ||
		     P.msg.type == MQTTSN_PUBREC || P.msg.type == MQTTSN_REGISTER)) {
			/* Keep a copy (of the inner message) for ack. */
			int n = mqttsn_encode(P.last, sizeof(P.last), &P.msg);
			P.last_len = n > 0 ? (size_t)n : 0;
		}
		*got = true;
		return PROBE_OK;
	}
}

/* ---------------------------------------------------------------- send */

/* The payload from data=, hex= or size=; into *out (views P.data or the arg). */
static int get_payload(struct args *a, struct mqttsn_bytes *out)
{
	const char *d = arg_get(a, "data"), *h = arg_get(a, "hex");
	long size;
	int rc = arg_num(a, "size", -1, -1, (long)DGRAM_MAX, &size);

	if (rc != PROBE_OK)
		return rc;
	out->ptr = NULL;
	out->len = 0;
	if ((d != NULL) + (h != NULL) + (size >= 0) > 1)
		return failf(PROBE_USAGE, "give one of data=, hex=, size=");
	if (d != NULL) {
		out->ptr = (const uint8_t *)d;
		out->len = strlen(d);
	} else if (h != NULL) {
		long n = parse_hex(h, P.data, sizeof(P.data));
		if (n < 0)
			return failf(PROBE_USAGE, "bad hex \"%s\"", h);
		out->ptr = P.data;
		out->len = (size_t)n;
	} else if (size >= 0) {
		long i;
		for (i = 0; i < size; i++)
			P.data[i] = (uint8_t)('a' + i % 26);
		out->ptr = P.data;
		out->len = (size_t)size;
	}
	return PROBE_OK;
}

static int get_topic_id_type(struct args *a, uint8_t def, uint8_t *out)
{
	const char *t = arg_get(a, "type");
	size_t i;

	*out = def;
	if (t == NULL)
		return PROBE_OK;
	for (i = 0; i < 4; i++) {
		if (strcmp(t, tid_names[i]) == 0) {
			*out = (uint8_t)i;
			return PROBE_OK;
		}
	}
	return failf(PROBE_USAGE, "bad type \"%s\" (normal, predefined, short)", t);
}

static int get_qos(struct args *a, int *out)
{
	long q;
	int rc = arg_num(a, "qos", 0, -1, 2, &q);
	*out = (int)q;
	return rc;
}

/* A topic id from topic_id= or, for a short name, topic=XY. */
static int get_topic_id(struct args *a, uint8_t *tid_type, uint16_t *out)
{
	const char *t = arg_get(a, "topic");
	int rc;

	if (t != NULL) {
		if (strlen(t) != 2)
			return failf(PROBE_USAGE, "a short topic name has 2 characters: \"%s\"", t);
		*out = (uint16_t)((uint8_t)t[0] << 8 | (uint8_t)t[1]);
		if (arg_get(a, "type") == NULL)
			*tid_type = MQTTSN_TOPIC_SHORT;
		return PROBE_OK;
	}
	rc = arg_u16(a, "topic_id", 0, out);
	return rc;
}

static int build_msg(int type, struct args *a, struct mqttsn_msg *m)
{
	const char *s;
	int rc = PROBE_OK;

	memset(m, 0, sizeof(*m));
	m->type = (enum mqttsn_type)type;
	switch (m->type) {
	case MQTTSN_ADVERTISE:
		if ((rc = arg_u8(a, "gw_id", 1, &m->u.advertise.gw_id)) == PROBE_OK)
			rc = arg_u16(a, "duration", 900, &m->u.advertise.duration);
		break;
	case MQTTSN_SEARCHGW:
		rc = arg_u8(a, "radius", 0, &m->u.searchgw.radius);
		break;
	case MQTTSN_GWINFO:
		rc = arg_u8(a, "gw_id", 1, &m->u.gwinfo.gw_id);
		if (rc == PROBE_OK && (s = arg_get(a, "gw_addr")) != NULL) {
			long n = parse_hex(s, P.data, sizeof(P.data));
			if (n < 0)
				return failf(PROBE_USAGE, "bad hex \"%s\"", s);
			m->u.gwinfo.gw_addr.ptr = P.data;
			m->u.gwinfo.gw_addr.len = (size_t)n;
		}
		break;
	case MQTTSN_CONNECT:
		m->u.connect.protocol_id = MQTTSN_PROTOCOL_ID;
		m->u.connect.flags.qos = 0;
		if ((rc = arg_bool(a, "clean", true, &m->u.connect.flags.clean_session)) != PROBE_OK ||
		    (rc = arg_bool(a, "will", false, &m->u.connect.flags.will)) != PROBE_OK ||
		    (rc = arg_u16(a, "duration", 60, &m->u.connect.duration)) != PROBE_OK)
			return rc;
		s = arg_get(a, "id");
		if (s == NULL)
			return failf(PROBE_USAGE, "CONNECT needs id=");
		m->u.connect.client_id.ptr = (const uint8_t *)s;
		m->u.connect.client_id.len = strlen(s);
		break;
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		rc = arg_u8(a, "rc", 0, &m->u.rc);
		break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		if ((rc = get_qos(a, &m->u.willtopic.flags.qos)) != PROBE_OK ||
		    (rc = arg_bool(a, "retain", false, &m->u.willtopic.flags.retain)) != PROBE_OK)
			return rc;
		s = arg_get(a, "topic");
		if (s == NULL)
			return failf(PROBE_USAGE, "%s needs topic= (empty deletes the Will)",
			             type_name(type));
		m->u.willtopic.topic.ptr = (const uint8_t *)s;
		m->u.willtopic.topic.len = strlen(s);
		break;
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
		rc = get_payload(a, &m->u.willmsg.msg);
		break;
	case MQTTSN_REGISTER:
		if ((rc = arg_u16(a, "topic_id", 0, &m->u.reg.topic_id)) != PROBE_OK ||
		    (rc = arg_u16(a, "msg_id", 1, &m->u.reg.msg_id)) != PROBE_OK)
			return rc;
		s = arg_get(a, "name");
		if (s == NULL)
			return failf(PROBE_USAGE, "REGISTER needs name=");
		m->u.reg.topic_name.ptr = (const uint8_t *)s;
		m->u.reg.topic_name.len = strlen(s);
		break;
	case MQTTSN_REGACK:
		if ((rc = arg_u16(a, "topic_id", 0, &m->u.regack.topic_id)) == PROBE_OK &&
		    (rc = arg_u16(a, "msg_id", 0, &m->u.regack.msg_id)) == PROBE_OK)
			rc = arg_u8(a, "rc", 0, &m->u.regack.rc);
		break;
	case MQTTSN_PUBLISH:
		if ((rc = arg_bool(a, "dup", false, &m->u.publish.flags.dup)) != PROBE_OK ||
		    (rc = get_qos(a, &m->u.publish.flags.qos)) != PROBE_OK ||
		    (rc = arg_bool(a, "retain", false, &m->u.publish.flags.retain)) != PROBE_OK ||
		    (rc = get_topic_id_type(a, MQTTSN_TOPIC_NORMAL,
		                            &m->u.publish.flags.topic_id_type)) != PROBE_OK ||
		    (rc = get_topic_id(a, &m->u.publish.flags.topic_id_type,
		                       &m->u.publish.topic_id)) != PROBE_OK ||
		    (rc = arg_u16(a, "msg_id", 0, &m->u.publish.msg_id)) != PROBE_OK)
			return rc;
		rc = get_payload(a, &m->u.publish.data);
		break;
	case MQTTSN_PUBACK:
		if ((rc = arg_u16(a, "topic_id", 0, &m->u.puback.topic_id)) == PROBE_OK &&
		    (rc = arg_u16(a, "msg_id", 0, &m->u.puback.msg_id)) == PROBE_OK)
			rc = arg_u8(a, "rc", 0, &m->u.puback.rc);
		break;
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_PUBCOMP:
	case MQTTSN_UNSUBACK:
		rc = arg_u16(a, "msg_id", 0, &m->u.msg_id);
		break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		if ((rc = arg_bool(a, "dup", false, &m->u.subscribe.flags.dup)) != PROBE_OK ||
		    (rc = get_qos(a, &m->u.subscribe.flags.qos)) != PROBE_OK ||
		    (rc = get_topic_id_type(a, MQTTSN_TOPIC_NORMAL,
		                            &m->u.subscribe.flags.topic_id_type)) != PROBE_OK ||
		    (rc = arg_u16(a, "msg_id", 1, &m->u.subscribe.msg_id)) != PROBE_OK)
			return rc;
		if (m->u.subscribe.flags.topic_id_type == MQTTSN_TOPIC_PREDEFINED) {
			rc = arg_u16(a, "topic_id", 0, &m->u.subscribe.topic_id);
		} else {
			s = arg_get(a, "topic");
			if (s == NULL)
				return failf(PROBE_USAGE, "%s needs topic=", type_name(type));
			m->u.subscribe.topic_name.ptr = (const uint8_t *)s;
			m->u.subscribe.topic_name.len = strlen(s);
		}
		break;
	case MQTTSN_SUBACK:
		if ((rc = get_qos(a, &m->u.suback.flags.qos)) == PROBE_OK &&
		    (rc = arg_u16(a, "topic_id", 0, &m->u.suback.topic_id)) == PROBE_OK &&
		    (rc = arg_u16(a, "msg_id", 0, &m->u.suback.msg_id)) == PROBE_OK)
			rc = arg_u8(a, "rc", 0, &m->u.suback.rc);
		break;
	case MQTTSN_PINGREQ:
		if ((s = arg_get(a, "id")) != NULL) {
			m->u.pingreq.client_id.ptr = (const uint8_t *)s;
			m->u.pingreq.client_id.len = strlen(s);
		}
		break;
	case MQTTSN_DISCONNECT:
		if (arg_get(a, "duration") != NULL) {
			m->u.disconnect.has_duration = true;
			rc = arg_u16(a, "duration", 0, &m->u.disconnect.duration);
		}
		break;
	case MQTTSN_ENCAPSULATED:
		return failf(PROBE_USAGE, "use the encap command to encapsulate");
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
	case MQTTSN_PINGRESP:
		break;
	}
	return rc;
}

static int encode_and_send(const struct mqttsn_msg *m)
{
	int n = mqttsn_encode(P.tx, sizeof(P.tx), m);

	if (n < 0)
		return failf(PROBE_USAGE, "cannot encode %s: %s (use send raw for invalid messages)",
		             type_name((int)m->type), mqttsn_strerror(n));
	return send_wire(P.tx, (size_t)n);
}

static int cmd_send(struct args *a)
{
	struct mqttsn_msg m;
	int type, rc;

	if (a->n < 2 || a->a[1].val != NULL)
		return failf(PROBE_USAGE, "send TYPE key=value... or send raw HEX");
	if (strcmp(a->a[1].key, "raw") == 0) {
		long n;
		size_t i, o = 0;
		/* Hex may be split into several words. */
		for (i = 2; i < a->n; i++) {
			if (a->a[i].val != NULL)
				return failf(PROBE_USAGE, "send raw takes hex only");
			n = parse_hex(a->a[i].key, P.tx + o, sizeof(P.tx) - o);
			if (n < 0)
				return failf(PROBE_USAGE, "bad hex \"%s\"", a->a[i].key);
			o += (size_t)n;
		}
		return send_wire(P.tx, o);
	}
	type = type_by_name(a->a[1].key);
	if (type < 0)
		return failf(PROBE_USAGE, "unknown message type \"%s\"", a->a[1].key);
	if ((rc = build_msg(type, a, &m)) != PROBE_OK || (rc = args_all_used(a, 2)) != PROBE_OK)
		return rc;
	return encode_and_send(&m);
}

/* ---------------------------------------------------------------- expect */

static int expect_none(struct args *a, double within)
{
	double deadline = now_s() + within;
	bool got;
	int rc;

	if ((rc = args_all_used(a, 2)) != PROBE_OK)
		return rc;
	rc = recv_next(deadline, &got);
	if (rc != PROBE_OK)
		return rc;
	if (got) {
		char d[512] = "an undecodable datagram";
		if (P.rx_err == MQTTSN_OK)
			describe(&P.msg, d, sizeof(d));
		return failf(PROBE_FAIL, "expected nothing for %.2f s, got %s", within, d);
	}
	return PROBE_OK;
}

static int cmd_expect(struct args *a, bool optional)
{
	struct field f[MAX_FIELDS];
	const char *w = NULL;
	double within = P.within, deadline;
	size_t n, i, j;
	bool got;
	int type, rc;

	if (a->n < 2 || a->a[1].val != NULL)
		return failf(PROBE_USAGE, "expect TYPE key=value... or expect none");
	if ((w = arg_get(a, "within")) != NULL && parse_seconds(w, &within) != 0)
		return failf(PROBE_USAGE, "bad within=%s", w);
	if (strcmp(a->a[1].key, "none") == 0)
		return expect_none(a, within);
	type = type_by_name(a->a[1].key);
	if (type < 0)
		return failf(PROBE_USAGE, "unknown message type \"%s\"", a->a[1].key);

	deadline = now_s() + within;
	rc = recv_next(deadline, &got);
	if (rc != PROBE_OK)
		return rc;
	if (!got && optional)
		return PROBE_OK;
	if (!got)
		return failf(PROBE_FAIL, "expected %s within %.2f s, got nothing", type_name(type),
		             within);
	if (P.rx_err != MQTTSN_OK && optional) {
		P.held = true;
		return PROBE_OK;
	}
	if (P.rx_err != MQTTSN_OK) {
		char hex[200];
		size_t k, o = 0;
		for (k = 0; k < P.rx_len && o + 3 < sizeof(hex); k++)
			o += (size_t)snprintf(hex + o, sizeof(hex) - o, "%02x", P.rx[k]);
		return failf(PROBE_FAIL, "expected %s, got an undecodable datagram (%s): %s",
		             type_name(type), mqttsn_strerror(P.rx_err), hex);
	}
	n = msg_fields(&P.msg, f);
	if ((int)P.msg.type != type && optional) {
		P.held = true;
		return PROBE_OK;
	}
	if ((int)P.msg.type != type) {
		char d[512];
		describe(&P.msg, d, sizeof(d));
		return failf(PROBE_FAIL, "expected %s, got %s", type_name(type), d);
	}
	for (i = 2; i < a->n; i++) {
		struct arg *x = &a->a[i];
		bool found = false;
		if (x->val == NULL)
			return failf(PROBE_USAGE, "unexpected word \"%s\"", x->key);
		if (strcmp(x->key, "within") == 0)
			continue;
		if (strcmp(x->key, "save") == 0 || strncmp(x->key, "save_", 5) == 0) {
			const char *want = strcmp(x->key, "save") == 0 ? NULL : x->key + 5;
			for (j = 0; j < n && !found; j++) {
				if (want == NULL && strcmp(f[j].name, "topic_id") != 0)
					continue;
				if (want != NULL && strcmp(f[j].name, want) != 0)
					continue;
				found = true;
				if (field_is_hex(&f[j])) {
					char v[1024];
					field_render(&f[j], v, sizeof(v), sizeof(v));
					rc = var_set(x->val, (const uint8_t *)v, strlen(v));
				} else {
					rc = var_set(x->val, f[j].ptr, f[j].len);
				}
				if (rc != PROBE_OK)
					return rc;
			}
			if (!found && want == NULL) {
				for (j = 0; j < n && !found; j++) {
					if (strcmp(f[j].name, "msg_id") == 0) {
						found = true;
						if ((rc = var_set(x->val, f[j].ptr, f[j].len)) != PROBE_OK)
							return rc;
					}
				}
			}
			if (!found)
				return failf(PROBE_USAGE, "%s has no field to save for %s", type_name(type),
				             x->key);
			continue;
		}
		x->used = true;
		for (j = 0; j < n; j++) {
			if (strcmp(f[j].name, x->key) != 0)
				continue;
			found = true;
			if (!field_matches(&f[j], x->val)) {
				char d[512];
				describe(&P.msg, d, sizeof(d));
				return failf(PROBE_FAIL, "expected %s %s=%s, got %s", type_name(type), x->key,
				             x->val, d);
			}
		}
		if (!found)
			return failf(PROBE_USAGE, "%s has no field \"%s\"", type_name(type), x->key);
	}
	return PROBE_OK;
}

/* ---------------------------------------------------------------- others */

static int cmd_ack(struct args *a)
{
	struct mqttsn_msg last, m;
	uint8_t rcv;
	int rc;

	if ((rc = arg_u8(a, "rc", 0, &rcv)) != PROBE_OK || (rc = args_all_used(a, 1)) != PROBE_OK)
		return rc;
	if (P.last_len == 0 || mqttsn_decode(P.last, P.last_len, &last) != MQTTSN_OK)
		return failf(PROBE_FAIL, "ack: nothing received to acknowledge");
	memset(&m, 0, sizeof(m));
	switch (last.type) {
	case MQTTSN_PUBLISH:
		if (last.u.publish.flags.qos == 1) {
			m.type = MQTTSN_PUBACK;
			m.u.puback.topic_id = last.u.publish.topic_id;
			m.u.puback.msg_id = last.u.publish.msg_id;
			m.u.puback.rc = rcv;
		} else if (last.u.publish.flags.qos == 2) {
			m.type = MQTTSN_PUBREC;
			m.u.msg_id = last.u.publish.msg_id;
		} else {
			return failf(PROBE_FAIL, "ack: the last PUBLISH had QoS %d",
			             last.u.publish.flags.qos);
		}
		break;
	case MQTTSN_PUBREL:
		m.type = MQTTSN_PUBCOMP;
		m.u.msg_id = last.u.msg_id;
		break;
	case MQTTSN_PUBREC:
		m.type = MQTTSN_PUBREL;
		m.u.msg_id = last.u.msg_id;
		break;
	case MQTTSN_REGISTER:
		m.type = MQTTSN_REGACK;
		m.u.regack.topic_id = last.u.reg.topic_id;
		m.u.regack.msg_id = last.u.reg.msg_id;
		m.u.regack.rc = rcv;
		break;
	default:
		return failf(PROBE_FAIL, "ack: cannot acknowledge %s", type_name((int)last.type));
	}
	P.last_len = 0;
	return encode_and_send(&m);
}

static int cmd_ignore(struct args *a)
{
	int type;

	if (a->n != 2 || a->a[1].val != NULL)
		return failf(PROBE_USAGE, "ignore TYPE");
	type = type_by_name(a->a[1].key);
	if (type < 0)
		return failf(PROBE_USAGE, "unknown message type \"%s\"", a->a[1].key);
	P.ignore[type] = true;
	return PROBE_OK;
}

static int cmd_rebind(struct args *a)
{
	bool keep;
	int rc, fd;

	if ((rc = arg_bool(a, "keep", false, &keep)) != PROBE_OK ||
	    (rc = args_all_used(a, 1)) != PROBE_OK)
		return rc;
	fd = open_socket(0);
	if (fd < 0)
		return PROBE_FAIL;
	if (keep && P.n_old < MAX_OLD)
		P.old_fd[P.n_old++] = P.fd;
	else
		close(P.fd);
	P.fd = fd;
	return PROBE_OK;
}

static int cmd_encap(struct args *a)
{
	const char *node;
	long n;
	int rc;

	if (a->n == 2 && a->a[1].val == NULL && strcmp(a->a[1].key, "off") == 0) {
		P.encap = false;
		return PROBE_OK;
	}
	node = arg_get(a, "node");
	if (node == NULL)
		return failf(PROBE_USAGE, "encap node=HEX [radius=N] or encap off");
	n = parse_hex(node, P.node, sizeof(P.node));
	if (n < 0)
		return failf(PROBE_USAGE, "bad node id \"%s\"", node);
	P.node_len = (size_t)n;
	if ((rc = arg_u8(a, "radius", 0, &P.radius)) != PROBE_OK ||
	    (rc = args_all_used(a, 1)) != PROBE_OK)
		return rc;
	if (P.radius > 3)
		return failf(PROBE_USAGE, "radius is 0..3");
	P.encap = true;
	return PROBE_OK;
}

static int cmd_exec(const char *cmd)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return failf(PROBE_FAIL, "fork: %s", strerror(errno));
	if (pid == 0) {
		FILE *null = freopen("/dev/null", "r", stdin);
		(void)null;
		execlp("bash", "bash", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return failf(PROBE_FAIL, "waitpid: %s", strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return PROBE_OK;
	if (WIFEXITED(status))
		return failf(PROBE_FAIL, "exec exited %d: %s", WEXITSTATUS(status), cmd);
	return failf(PROBE_FAIL, "exec killed by signal %d: %s",
	             WIFSIGNALED(status) ? WTERMSIG(status) : 0, cmd);
}

/* The text after the first word of line, blanks trimmed. */
static const char *rest_of(const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	while (*line != '\0' && *line != ' ' && *line != '\t')
		line++;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

static int run_line(char *raw)
{
	static char line[LINE_MAX_LEN * 2];
	struct args a;
	const char *cmd;
	size_t len = strlen(raw);
	bool is_exec;
	int rc;

	while (len > 0 && (raw[len - 1] == '\n' || raw[len - 1] == '\r' || raw[len - 1] == ' ' ||
	                   raw[len - 1] == '\t'))
		raw[--len] = '\0';
	cmd = raw;
	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	if (*cmd == '\0' || *cmd == '#')
		return PROBE_OK;
	is_exec = strncmp(cmd, "exec", 4) == 0 && (cmd[4] == ' ' || cmd[4] == '\t');
	if ((rc = expand(cmd, line, sizeof(line), is_exec)) != PROBE_OK)
		return rc;
	if (is_exec)
		return cmd_exec(rest_of(line));
	if (strncmp(line, "echo", 4) == 0 && (line[4] == '\0' || line[4] == ' ')) {
		printf("%s\n", rest_of(line));
		fflush(stdout);
		return PROBE_OK;
	}
	if ((rc = split(line, &a)) != PROBE_OK)
		return rc;
	if (a.a[0].val != NULL)
		return failf(PROBE_USAGE, "unknown command \"%s=%s\"", a.a[0].key, a.a[0].val);
	if (strcmp(a.a[0].key, "send") == 0)
		return cmd_send(&a);
	if (strcmp(a.a[0].key, "expect") == 0)
		return cmd_expect(&a, false);
	if (strcmp(a.a[0].key, "maybe") == 0)
		return cmd_expect(&a, true);
	if (strcmp(a.a[0].key, "ack") == 0)
		return cmd_ack(&a);
	if (strcmp(a.a[0].key, "ignore") == 0)
		return cmd_ignore(&a);
	if (strcmp(a.a[0].key, "autoack") == 0) {
		if (a.n != 2 || a.a[1].val != NULL || strcasecmp(a.a[1].key, "REGISTER") != 0)
			return failf(PROBE_USAGE, "autoack REGISTER");
		P.autoack_register = true;
		return PROBE_OK;
	}
	if (strcmp(a.a[0].key, "rebind") == 0)
		return cmd_rebind(&a);
	if (strcmp(a.a[0].key, "encap") == 0)
		return cmd_encap(&a);
	if (strcmp(a.a[0].key, "frames") == 0)
		return cmd_frames(&a);
	if (strcmp(a.a[0].key, "flush") == 0)
		return flush_frames();
	if (strcmp(a.a[0].key, "resend") == 0)
		return cmd_resend(&a);
	if (strcmp(a.a[0].key, "save_frame") == 0)
		return cmd_save_frame(&a);
	if (strcmp(a.a[0].key, "set") == 0) {
		if (a.n != 3 || a.a[1].val != NULL || a.a[2].val != NULL)
			return failf(PROBE_USAGE, "set NAME VALUE");
		return var_set(a.a[1].key, (const uint8_t *)a.a[2].key, strlen(a.a[2].key));
	}
	if (strcmp(a.a[0].key, "sleep_ms") == 0 || strcmp(a.a[0].key, "sleep") == 0)
		return failf(PROBE_USAGE, "no sleeps: wait for a condition (expect ... within=S)");
	return failf(PROBE_USAGE, "unknown command \"%s\"", a.a[0].key);
}

/* ---------------------------------------------------------------- main */

static int usage(void)
{
	fprintf(stderr, "usage: sn-probe [-d] [-n LABEL] [-t SECONDS] [-l LOCALPORT] HOST PORT "
	                "[SCRIPT|-]\n");
	return PROBE_USAGE;
}

static int resolve(const char *host, const char *port)
{
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "sn-probe: %s port %s: %s\n", host, port, gai_strerror(rc));
		return -1;
	}
	memcpy(&P.gw, res->ai_addr, res->ai_addrlen);
	P.gw_len = res->ai_addrlen;
	P.family = res->ai_family;
	freeaddrinfo(res);
	return 0;
}

int main(int argc, char **argv)
{
	static char line[LINE_MAX_LEN];
	FILE *in = stdin;
	long local_port = 0;
	int opt, rc = PROBE_OK;
	size_t i;

	P.label = "sn-probe";
	P.within = 5.0;
	if (sodium_init() < 0) {
		fprintf(stderr, "sn-probe: libsodium failed to initialise\n");
		return PROBE_FAIL;
	}
	while ((opt = getopt(argc, argv, "dn:t:l:")) != -1) {
		switch (opt) {
		case 'd':
			P.debug = true;
			break;
		case 'n':
			P.label = optarg;
			break;
		case 't':
			if (parse_seconds(optarg, &P.within) != 0)
				return usage();
			break;
		case 'l':
			if (parse_long(optarg, 1, 65535, &local_port) != 0)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (argc - optind < 2 || argc - optind > 3)
		return usage();
	if (resolve(argv[optind], argv[optind + 1]) != 0)
		return PROBE_USAGE;
	P.script = "stdin";
	if (argc - optind == 3 && strcmp(argv[optind + 2], "-") != 0) {
		P.script = argv[optind + 2];
		in = fopen(P.script, "r");
		if (in == NULL) {
			fprintf(stderr, "%s: %s: %s\n", P.label, P.script, strerror(errno));
			return PROBE_USAGE;
		}
	}
	P.fd = open_socket((unsigned)local_port);
	if (P.fd < 0) {
		fprintf(stderr, "%s: %s\n", P.label, P.err);
		return PROBE_FAIL;
	}

	while (fgets(line, sizeof(line), in) != NULL) {
		P.line++;
		if (strchr(line, '\n') == NULL && !feof(in)) {
			snprintf(P.err, sizeof(P.err), "line longer than %u characters", LINE_MAX_LEN);
			rc = PROBE_USAGE;
			break;
		}
		rc = run_line(line);
		if (rc != PROBE_OK)
			break;
	}
	if (rc == PROBE_OK && flush_frames() != PROBE_OK)
		rc = PROBE_FAIL;
	if (rc != PROBE_OK)
		fprintf(stderr, "%s: %s:%u: %s\n", P.label, P.script, P.line, P.err);
	frames_off();
	free(P.fctx);
	if (in != stdin)
		fclose(in);
	close(P.fd);
	for (i = 0; i < P.n_old; i++)
		close(P.old_fd[i]);
	for (i = 0; i < P.n_vars; i++)
		free(P.vars[i].val);
	return rc;
}
