/*
 * test_gw_fake.h - a fake daemon for the gateway core's tests.
 *
 * It records every datagram the core sends (decoded again with the codec to
 * be asserted on) and every broker call, answers the broker calls as the
 * test tells it to, and keeps the virtual clock. Included by each
 * tests/unit/test_gw*.c; everything is static inline so a test that does
 * not use a helper does not warn.
 */
#ifndef SNBRIDGE_TEST_GW_FAKE_H
#define SNBRIDGE_TEST_GW_FAKE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bridge/gw.h"
#include "codec/mqttsn.h"

#define FAKE_MAX 512
#define FAKE_BUF 8192   /* the largest datagram a test makes the core send */

struct fake_sent {
	struct gw_addr to;
	bool advertise;          /* to == NULL */
	uint8_t buf[FAKE_BUF];
	size_t len;
};

enum fake_kind { B_OPEN = 1, B_CLOSE, B_PUB, B_SUB, B_UNSUB };

struct fake_call {
	enum fake_kind kind;
	uint32_t conn;
	char client_id[32];
	bool clean;
	bool has_will;
	char will_topic[128];
	char will_payload[128];
	size_t will_len;
	int will_qos;
	bool will_retain;
	bool fire_will;
	char topic[256];
	size_t topic_len;
	char payload[512];
	size_t len;
	int qos;
	bool retain;
	uint32_t token;
};

struct fake {
	struct gw *gw;
	struct gw_config cfg;
	uint64_t now;
	struct fake_sent *sent;
	size_t nsent, rd_sent;
	struct fake_call calls[FAKE_MAX];
	size_t ncalls, rd_calls;
	int open_rc, pub_rc, sub_rc, unsub_rc;
	uint32_t next_token;
	size_t nlogs;
	char last_log[512];
	bool quiet;
};

/* ---------------------------------------------------------------- the ops */

static inline void fake_send(void *ctx, const struct gw_addr *to, const uint8_t *buf, size_t len)
{
	struct fake *f = ctx;
	struct fake_sent *s;

	assert_true(f->nsent < FAKE_MAX);
	assert_true(len <= FAKE_BUF);
	s = &f->sent[f->nsent++];
	memset(&s->to, 0, sizeof s->to);
	s->advertise = to == NULL;
	if (to != NULL)
		s->to = *to;
	memcpy(s->buf, buf, len);
	s->len = len;
}

static inline struct fake_call *fake_call_new(struct fake *f, enum fake_kind kind, uint32_t conn)
{
	struct fake_call *c;

	assert_true(f->ncalls < FAKE_MAX);
	c = &f->calls[f->ncalls++];
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->conn = conn;
	return c;
}

static inline int fake_open(void *ctx, uint32_t conn, const struct gw_broker_session *s)
{
	struct fake *f = ctx;
	struct fake_call *c = fake_call_new(f, B_OPEN, conn);

	snprintf(c->client_id, sizeof c->client_id, "%s", s->client_id);
	c->clean = s->clean_session;
	c->has_will = s->has_will;
	if (s->has_will) {
		snprintf(c->will_topic, sizeof c->will_topic, "%s", s->will_topic);
		c->will_len = s->will_len < sizeof c->will_payload ? s->will_len : 0;
		if (c->will_len)
			memcpy(c->will_payload, s->will_payload, c->will_len);
		c->will_qos = s->will_qos;
		c->will_retain = s->will_retain;
	}
	return f->open_rc;
}

static inline void fake_close(void *ctx, uint32_t conn, bool fire_will)
{
	struct fake_call *c = fake_call_new(ctx, B_CLOSE, conn);

	c->fire_will = fire_will;
}

static inline int fake_publish(void *ctx, uint32_t conn, const char *topic, size_t topic_len,
                               const uint8_t *payload, size_t len, int qos, bool retain,
                               uint32_t *token)
{
	struct fake *f = ctx;
	struct fake_call *c = fake_call_new(f, B_PUB, conn);

	assert_true(topic_len < sizeof c->topic);
	memcpy(c->topic, topic, topic_len);
	c->topic_len = topic_len;
	c->len = len < sizeof c->payload ? len : sizeof c->payload;
	if (c->len)
		memcpy(c->payload, payload, c->len);
	c->qos = qos;
	c->retain = retain;
	c->token = *token = ++f->next_token;
	return f->pub_rc;
}

static inline int fake_subscribe(void *ctx, uint32_t conn, const char *filter, size_t len, int qos,
                                 uint32_t *token)
{
	struct fake *f = ctx;
	struct fake_call *c = fake_call_new(f, B_SUB, conn);

	assert_true(len < sizeof c->topic);
	memcpy(c->topic, filter, len);
	c->topic_len = len;
	c->qos = qos;
	c->token = *token = ++f->next_token;
	return f->sub_rc;
}

static inline int fake_unsubscribe(void *ctx, uint32_t conn, const char *filter, size_t len,
                                   uint32_t *token)
{
	struct fake *f = ctx;
	struct fake_call *c = fake_call_new(f, B_UNSUB, conn);

	assert_true(len < sizeof c->topic);
	memcpy(c->topic, filter, len);
	c->topic_len = len;
	c->token = *token = ++f->next_token;
	return f->unsub_rc;
}

static inline void fake_log(void *ctx, enum gw_log_level level, const char *line)
{
	struct fake *f = ctx;

	(void)level;
	f->nlogs++;
	snprintf(f->last_log, sizeof f->last_log, "%s", line);
	if (getenv("GW_TEST_LOG") != NULL)
		fprintf(stderr, "    log: %s\n", line);
}

/* ---------------------------------------------------------------- setup */

/* A fake daemon around a core with cfg; extra (may be NULL) brings callbacks
 * beyond the datagram, broker and log ones (custody's), which this sets. */
static inline struct fake *fake_new_ops(const struct gw_config *cfg, const struct gw_ops *extra)
{
	struct fake *f = calloc(1, sizeof *f);
	struct gw_ops ops;

	assert_non_null(f);
	f->sent = calloc(FAKE_MAX, sizeof *f->sent);
	assert_non_null(f->sent);
	f->cfg = *cfg;
	if (extra != NULL)
		ops = *extra;
	else
		memset(&ops, 0, sizeof ops);
	ops.send = fake_send;
	ops.broker_open = fake_open;
	ops.broker_close = fake_close;
	ops.broker_publish = fake_publish;
	ops.broker_subscribe = fake_subscribe;
	ops.broker_unsubscribe = fake_unsubscribe;
	ops.log = fake_log;
	f->gw = gw_new(cfg, &ops, f);
	assert_non_null(f->gw);
	f->now = 1000;
	return f;
}

static inline struct fake *fake_new_cfg(const struct gw_config *cfg)
{
	return fake_new_ops(cfg, NULL);
}

/* Defaults without ADVERTISE or the shared connection, which most tests do not want. */
static inline void fake_cfg(struct gw_config *cfg)
{
	gw_config_defaults(cfg);
	cfg->advertise_interval_s = 0;
	cfg->allow_qos_m1 = false;
}

static inline struct fake *fake_new(void)
{
	struct gw_config cfg;

	fake_cfg(&cfg);
	return fake_new_cfg(&cfg);
}

static inline void fake_free(struct fake *f)
{
	gw_free(f->gw);
	free(f->sent);
	free(f);
}

/* Advance virtual time by ms and run the timers. */
static inline uint64_t fake_advance(struct fake *f, uint64_t ms)
{
	f->now += ms;
	return gw_tick(f->gw, f->now);
}

static inline struct gw_addr fake_addr(uint8_t n)
{
	struct gw_addr a;

	memset(&a, 0, sizeof a);
	a.len = 6;
	a.data[0] = 127;
	a.data[3] = 1;
	a.data[5] = n; /* a "port" */
	return a;
}

/* ---------------------------------------------------------------- input */

static inline void fake_in_raw(struct fake *f, uint8_t from, const uint8_t *buf, size_t len)
{
	struct gw_addr a = fake_addr(from);

	gw_on_datagram(f->gw, &a, buf, len, f->now);
}

static inline void fake_in(struct fake *f, uint8_t from, const struct mqttsn_msg *m)
{
	uint8_t buf[MQTTSN_MSG_MAX];
	int n = mqttsn_encode(buf, sizeof buf, m);

	assert_true(n > 0);
	fake_in_raw(f, from, buf, (size_t)n);
}

static inline struct mqttsn_msg fake_msg(enum mqttsn_type type)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = type;
	return m;
}

static inline struct mqttsn_bytes fake_str(const char *s)
{
	struct mqttsn_bytes b;

	b.ptr = (const uint8_t *)s;
	b.len = strlen(s);
	if (b.len == 0)
		b.ptr = NULL;
	return b;
}

static inline void in_connect(struct fake *f, uint8_t from, const char *id, uint16_t ka,
                              bool clean, bool will)
{
	struct mqttsn_msg m = fake_msg(MQTTSN_CONNECT);

	m.u.connect.flags.clean_session = clean;
	m.u.connect.flags.will = will;
	m.u.connect.protocol_id = MQTTSN_PROTOCOL_ID;
	m.u.connect.duration = ka;
	m.u.connect.client_id = fake_str(id);
	fake_in(f, from, &m);
}

static inline void in_publish(struct fake *f, uint8_t from, int qos, uint8_t id_type,
                              uint16_t topic_id, uint16_t msg_id, const char *data, bool dup)
{
	struct mqttsn_msg m = fake_msg(MQTTSN_PUBLISH);

	m.u.publish.flags.qos = qos;
	m.u.publish.flags.dup = dup;
	m.u.publish.flags.topic_id_type = id_type;
	m.u.publish.topic_id = topic_id;
	m.u.publish.msg_id = msg_id;
	m.u.publish.data = fake_str(data);
	fake_in(f, from, &m);
}

static inline void in_register(struct fake *f, uint8_t from, uint16_t msg_id, const char *name)
{
	struct mqttsn_msg m = fake_msg(MQTTSN_REGISTER);

	m.u.reg.msg_id = msg_id;
	m.u.reg.topic_name = fake_str(name);
	fake_in(f, from, &m);
}

static inline void in_subscribe(struct fake *f, uint8_t from, int qos, uint8_t id_type,
                                uint16_t msg_id, const char *name, uint16_t topic_id)
{
	struct mqttsn_msg m = fake_msg(MQTTSN_SUBSCRIBE);

	m.u.subscribe.flags.qos = qos;
	m.u.subscribe.flags.topic_id_type = id_type;
	m.u.subscribe.msg_id = msg_id;
	if (id_type == MQTTSN_TOPIC_PREDEFINED)
		m.u.subscribe.topic_id = topic_id;
	else
		m.u.subscribe.topic_name = fake_str(name);
	fake_in(f, from, &m);
}

static inline void in_unsubscribe(struct fake *f, uint8_t from, uint8_t id_type, uint16_t msg_id,
                                  const char *name, uint16_t topic_id)
{
	struct mqttsn_msg m = fake_msg(MQTTSN_UNSUBSCRIBE);

	m.u.subscribe.flags.topic_id_type = id_type;
	m.u.subscribe.msg_id = msg_id;
	if (id_type == MQTTSN_TOPIC_PREDEFINED)
		m.u.subscribe.topic_id = topic_id;
	else
		m.u.subscribe.topic_name = fake_str(name);
	fake_in(f, from, &m);
}

static inline void in_msg_id(struct fake *f, uint8_t from, enum mqttsn_type type, uint16_t msg_id)
{
	struct mqttsn_msg m = fake_msg(type);

	m.u.msg_id = msg_id;
	fake_in(f, from, &m);
}

static inline void in_ack(struct fake *f, uint8_t from, enum mqttsn_type type, uint16_t topic_id,
                          uint16_t msg_id, uint8_t rc)
{
	struct mqttsn_msg m = fake_msg(type);

	/* REGACK and PUBACK have the same shape */
	if (type == MQTTSN_REGACK) {
		m.u.regack.topic_id = topic_id;
		m.u.regack.msg_id = msg_id;
		m.u.regack.rc = rc;
	} else {
		m.u.puback.topic_id = topic_id;
		m.u.puback.msg_id = msg_id;
		m.u.puback.rc = rc;
	}
	fake_in(f, from, &m);
}

static inline void in_pingreq(struct fake *f, uint8_t from, const char *id)
{
	struct mqttsn_msg m = fake_msg(MQTTSN_PINGREQ);

	if (id != NULL)
		m.u.pingreq.client_id = fake_str(id);
	fake_in(f, from, &m);
}

static inline void in_disconnect(struct fake *f, uint8_t from, bool has_duration, uint16_t dur)
{
	struct mqttsn_msg m = fake_msg(MQTTSN_DISCONNECT);

	m.u.disconnect.has_duration = has_duration;
	m.u.disconnect.duration = dur;
	fake_in(f, from, &m);
}

/* ---------------------------------------------------------------- output */

/* The next datagram sent, decoded; fails the test when there is none. */
static inline struct mqttsn_msg fake_next(struct fake *f)
{
	struct mqttsn_msg m;
	struct fake_sent *s;

	if (f->rd_sent >= f->nsent)
		fail_msg("expected a datagram, none was sent");
	s = &f->sent[f->rd_sent++];
	assert_int_equal(mqttsn_decode(s->buf, s->len, &m), MQTTSN_OK);
	return m;
}

/* The next datagram, which must be of this type and go to address from. */
static inline struct mqttsn_msg fake_expect(struct fake *f, uint8_t to, enum mqttsn_type type)
{
	struct gw_addr a = fake_addr(to);
	struct fake_sent *s;
	struct mqttsn_msg m;

	if (f->rd_sent >= f->nsent)
		fail_msg("expected %s, nothing was sent", mqttsn_type_name((int)type));
	s = &f->sent[f->rd_sent];
	m = fake_next(f);
	if (m.type != type)
		fail_msg("expected %s, got %s", mqttsn_type_name((int)type),
		         mqttsn_type_name((int)m.type));
	assert_false(s->advertise);
	assert_memory_equal(&s->to, &a, sizeof a);
	return m;
}

static inline void fake_expect_rc(struct fake *f, uint8_t to, enum mqttsn_type type, uint8_t rc)
{
	struct mqttsn_msg m = fake_expect(f, to, type);

	assert_int_equal(m.u.rc, rc);
}

static inline void fake_expect_none(struct fake *f)
{
	if (f->rd_sent < f->nsent) {
		struct mqttsn_msg m;
		struct fake_sent *s = &f->sent[f->rd_sent];
		int r = mqttsn_decode(s->buf, s->len, &m);

		fail_msg("expected nothing, got %s", r == 0 ? mqttsn_type_name((int)m.type) : "?");
	}
}

/* The next broker call, which must be of this kind. */
static inline struct fake_call *fake_call(struct fake *f, enum fake_kind kind)
{
	struct fake_call *c;

	if (f->rd_calls >= f->ncalls)
		fail_msg("expected broker call %d, none", (int)kind);
	c = &f->calls[f->rd_calls++];
	if (c->kind != kind)
		fail_msg("expected broker call %d, got %d", (int)kind, (int)c->kind);
	return c;
}

static inline void fake_call_none(struct fake *f)
{
	if (f->rd_calls < f->ncalls)
		fail_msg("expected no broker call, got %d", (int)f->calls[f->rd_calls].kind);
}

static inline void fake_drain(struct fake *f)
{
	f->rd_sent = f->nsent;
	f->rd_calls = f->ncalls;
}

/* ---------------------------------------------------------------- scenarios */

/* CONNECT without Will through to CONNACK accepted; returns the broker conn. */
static inline uint32_t fake_connect(struct fake *f, uint8_t from, const char *id, uint16_t ka,
                                    bool clean)
{
	struct fake_call *c;
	uint32_t conn;

	in_connect(f, from, id, ka, clean, false);
	c = fake_call(f, B_OPEN);
	assert_string_equal(c->client_id, id);
	assert_int_equal(c->clean, clean);
	conn = c->conn;
	assert_int_not_equal(conn, 0);
	fake_expect_none(f);
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	fake_expect_rc(f, from, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	return conn;
}

/* REGISTER a name; returns the topic id from the REGACK. */
static inline uint16_t fake_register(struct fake *f, uint8_t from, uint16_t msg_id,
                                     const char *name)
{
	struct mqttsn_msg m;

	in_register(f, from, msg_id, name);
	m = fake_expect(f, from, MQTTSN_REGACK);
	assert_int_equal(m.u.regack.msg_id, msg_id);
	assert_int_equal(m.u.regack.rc, MQTTSN_RC_ACCEPTED);
	assert_int_not_equal(m.u.regack.topic_id, 0);
	assert_int_not_equal(m.u.regack.topic_id, 0xFFFF);
	return m.u.regack.topic_id;
}

/* SUBSCRIBE by name at qos, the broker grants granted; returns the SUBACK. */
static inline struct mqttsn_msg fake_subscribe_ok(struct fake *f, uint8_t from, uint32_t conn,
                                                  const char *filter, int qos, int granted,
                                                  uint16_t msg_id)
{
	struct fake_call *c;
	struct mqttsn_msg m;

	in_subscribe(f, from, qos, MQTTSN_TOPIC_NORMAL, msg_id, filter, 0);
	c = fake_call(f, B_SUB);
	assert_int_equal(c->conn, conn);
	assert_int_equal(c->topic_len, strlen(filter));
	assert_memory_equal(c->topic, filter, c->topic_len);
	assert_int_equal(c->qos, qos);
	fake_expect_none(f);
	gw_on_broker_subacked(f->gw, conn, c->token, granted, f->now);
	m = fake_expect(f, from, MQTTSN_SUBACK);
	assert_int_equal(m.u.suback.msg_id, msg_id);
	assert_int_equal(m.u.suback.rc, MQTTSN_RC_ACCEPTED);
	assert_int_equal(m.u.suback.flags.qos, granted);
	return m;
}

static inline void fake_broker_msg(struct fake *f, uint32_t conn, const char *topic,
                                   const char *payload, int qos)
{
	gw_on_broker_message(f->gw, conn, topic, strlen(topic), (const uint8_t *)payload,
	                     strlen(payload), qos, false, f->now);
}

static inline enum gw_client_state fake_state(struct fake *f, const char *id)
{
	enum gw_client_state st = GW_STATE_COUNT;

	assert_true(gw_client_find(f->gw, id, &st, NULL));
	return st;
}

static inline struct gw_stats fake_client_stats(struct fake *f, const char *id)
{
	struct gw_stats st;

	assert_true(gw_client_find(f->gw, id, NULL, &st));
	return st;
}

/* Data of a PUBLISH as a string, for comparisons. */
static inline void assert_data(const struct mqttsn_msg *m, const char *want)
{
	assert_int_equal(m->u.publish.data.len, strlen(want));
	if (m->u.publish.data.len)
		assert_memory_equal(m->u.publish.data.ptr, want, m->u.publish.data.len);
}

#endif
