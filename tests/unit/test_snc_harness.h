/*
 * test_snc_harness.h - a fake gateway around the client core for the unit tests,
 * in virtual time: what the core sends is captured and decoded, what the
 * gateway says is encoded and fed in, events are recorded with copies of
 * their views. Included by the test_snc_*.c files (static functions only).
 */
#ifndef SNBRIDGE_TEST_SNC_HARNESS_H
#define SNBRIDGE_TEST_SNC_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/mqttsn.h"
#include "sn-client/client.h"

#define H_MAX_SENT 256
#define H_MAX_EV 256
#define H_BUF 1500

struct h_sent {
	uint8_t buf[H_BUF];
	size_t len;
	bool broadcast;
	uint64_t at;
};

struct h_event {
	struct snc_event ev;
	char topic[128];
	uint8_t payload[H_BUF];
};

struct harness {
	struct snc *c;
	uint64_t now;
	struct h_sent sent[H_MAX_SENT];
	size_t nsent, taken;
	struct h_event ev[H_MAX_EV];
	size_t nev, evtaken;
	/* optional hook run inside the event callback */
	void (*on_event)(struct harness *h, const struct snc_event *ev);
};

static inline void h_send(void *ctx, const uint8_t *buf, size_t len, bool broadcast)
{
	struct harness *h = ctx;
	struct h_sent *s;

	assert_true(h->nsent < H_MAX_SENT);
	assert_true(len <= H_BUF);
	s = &h->sent[h->nsent++];
	memcpy(s->buf, buf, len);
	s->len = len;
	s->broadcast = broadcast;
	s->at = h->now;
}

static inline void h_event_cb(void *ctx, const struct snc_event *ev)
{
	struct harness *h = ctx;
	struct h_event *e;

	assert_true(h->nev < H_MAX_EV);
	e = &h->ev[h->nev++];
	e->ev = *ev;
	if (ev->topic.name != NULL) {
		assert_true(ev->topic.len < sizeof e->topic);
		memcpy(e->topic, ev->topic.name, ev->topic.len);
		e->topic[ev->topic.len] = '\0';
		e->ev.topic.name = e->topic;
	}
	if (ev->payload != NULL) {
		assert_true(ev->len <= sizeof e->payload);
		memcpy(e->payload, ev->payload, ev->len);
		e->ev.payload = e->payload;
	}
	if (h->on_event != NULL)
		h->on_event(h, ev);
}

static const struct snc_ops h_ops = { h_send, h_event_cb };

static inline void h_config(struct snc_config *cfg)
{
	snc_config_defaults(cfg);
	cfg->client_id = "station-7";
	cfg->keep_alive_s = 0;
}

static inline struct harness *h_new(const struct snc_config *cfg)
{
	struct harness *h = calloc(1, sizeof *h);

	assert_non_null(h);
	h->c = snc_new(cfg, &h_ops, h);
	assert_non_null(h->c);
	return h;
}

static inline void h_free(struct harness *h)
{
	snc_free(h->c);
	free(h);
}

/* The next datagram the core sent, decoded (views into the harness). */
static inline struct mqttsn_msg h_take(struct harness *h)
{
	struct mqttsn_msg m;

	if (h->taken >= h->nsent)
		fail_msg("expected a datagram from the client, none was sent");
	assert_int_equal(mqttsn_decode(h->sent[h->taken].buf, h->sent[h->taken].len, &m), MQTTSN_OK);
	h->taken++;
	return m;
}

/* The next datagram, which must be of this type. */
static inline struct mqttsn_msg h_expect(struct harness *h, enum mqttsn_type type)
{
	struct mqttsn_msg m = h_take(h);

	if ((int)m.type != (int)type)
		fail_msg("expected %s, client sent %s", mqttsn_type_name((int)type),
		         mqttsn_type_name((int)m.type));
	return m;
}

static inline void h_expect_quiet(struct harness *h)
{
	if (h->taken < h->nsent) {
		struct mqttsn_msg m = h_take(h);

		fail_msg("expected silence, client sent %s", mqttsn_type_name((int)m.type));
	}
}

/* The next event, which must be of this type. */
static inline const struct snc_event *h_event(struct harness *h, enum snc_event_type type)
{
	if (h->evtaken >= h->nev)
		fail_msg("expected event %d, none came", (int)type);
	if (h->ev[h->evtaken].ev.type != type)
		fail_msg("expected event %d, got %d", (int)type, (int)h->ev[h->evtaken].ev.type);
	return &h->ev[h->evtaken++].ev;
}

static inline void h_no_event(struct harness *h)
{
	if (h->evtaken < h->nev)
		fail_msg("expected no event, got %d", (int)h->ev[h->evtaken].ev.type);
}

/* The gateway says m. */
static inline void h_gw(struct harness *h, const struct mqttsn_msg *m)
{
	uint8_t buf[H_BUF];
	int n = mqttsn_encode(buf, sizeof buf, m);

	assert_true(n > 0);
	snc_input(h->c, buf, (size_t)n, h->now);
}

/* Advance virtual time to t and tick; returns the core's next deadline. */
static inline uint64_t h_at(struct harness *h, uint64_t t)
{
	assert_true(t >= h->now);
	h->now = t;
	return snc_tick(h->c, h->now);
}

/* ---------------------------------------------------------------- gateway messages */

static inline void h_gw_simple(struct harness *h, enum mqttsn_type type)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = type;
	h_gw(h, &m);
}

static inline void h_gw_rc(struct harness *h, enum mqttsn_type type, uint8_t rc)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = type;
	m.u.rc = rc;
	h_gw(h, &m);
}

static inline void h_gw_msgid(struct harness *h, enum mqttsn_type type, uint16_t msg_id)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = type;
	m.u.msg_id = msg_id;
	h_gw(h, &m);
}

static inline void h_gw_regack(struct harness *h, uint16_t topic_id, uint16_t msg_id, uint8_t rc)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_REGACK;
	m.u.regack.topic_id = topic_id;
	m.u.regack.msg_id = msg_id;
	m.u.regack.rc = rc;
	h_gw(h, &m);
}

static inline void h_gw_puback(struct harness *h, uint16_t topic_id, uint16_t msg_id, uint8_t rc)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_PUBACK;
	m.u.puback.topic_id = topic_id;
	m.u.puback.msg_id = msg_id;
	m.u.puback.rc = rc;
	h_gw(h, &m);
}

static inline void h_gw_suback(struct harness *h, int qos, uint16_t topic_id, uint16_t msg_id, uint8_t rc)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_SUBACK;
	m.u.suback.flags.qos = qos;
	m.u.suback.topic_id = topic_id;
	m.u.suback.msg_id = msg_id;
	m.u.suback.rc = rc;
	h_gw(h, &m);
}

static inline void h_gw_register(struct harness *h, uint16_t topic_id, uint16_t msg_id, const char *name)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_REGISTER;
	m.u.reg.topic_id = topic_id;
	m.u.reg.msg_id = msg_id;
	m.u.reg.topic_name.ptr = (const uint8_t *)name;
	m.u.reg.topic_name.len = strlen(name);
	h_gw(h, &m);
}

static inline void h_gw_publish(struct harness *h, int qos, uint8_t id_type, uint16_t topic_id,
                         uint16_t msg_id, const char *payload, bool dup)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_PUBLISH;
	m.u.publish.flags.qos = qos;
	m.u.publish.flags.dup = dup;
	m.u.publish.flags.topic_id_type = id_type;
	m.u.publish.topic_id = topic_id;
	m.u.publish.msg_id = msg_id;
	m.u.publish.data.ptr = (const uint8_t *)payload;
	m.u.publish.data.len = strlen(payload);
	h_gw(h, &m);
}

/* ---------------------------------------------------------------- client steps */

/* Connects (no Will) and answers CONNACK after rtt_ms. */
static inline void h_connect(struct harness *h, uint64_t rtt_ms)
{
	assert_int_equal(snc_connect_start(h->c, h->now), SNC_OK);
	h_expect(h, MQTTSN_CONNECT);
	h_at(h, h->now + rtt_ms);
	h_gw_rc(h, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	assert_int_equal(h_event(h, SNC_EV_CONNECTED)->rc, 0);
	assert_int_equal(snc_state(h->c), SNC_STATE_ACTIVE);
}

static inline struct snc_message h_msg(enum snc_topic_kind kind, const char *topic, uint16_t id,
                                int qos, const char *payload)
{
	struct snc_message m;

	memset(&m, 0, sizeof m);
	m.topic.kind = kind;
	m.topic.name = topic;
	m.topic.len = topic != NULL ? strlen(topic) : 0;
	m.topic.id = id;
	m.qos = qos;
	m.payload = (const uint8_t *)payload;
	m.len = strlen(payload);
	return m;
}

static inline uint32_t h_publish(struct harness *h, enum snc_topic_kind kind, const char *topic,
                          uint16_t id, int qos, const char *payload)
{
	struct snc_message m = h_msg(kind, topic, id, qos, payload);
	uint32_t token = 0;

	assert_int_equal(snc_publish_start(h->c, &m, &token, h->now), SNC_OK);
	assert_true(token != 0);
	return token;
}

static inline void h_data_equal(struct mqttsn_bytes b, const char *s)
{
	assert_int_equal(b.len, strlen(s));
	if (b.len > 0)
		assert_memory_equal(b.ptr, s, b.len);
}

#endif
