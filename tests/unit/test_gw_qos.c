/*
 * test_gw_qos.c - the gateway core's QoS flows (6.6): QoS 2 exactly once
 * toward the broker, QoS 1/2 toward clients with one message in flight,
 * retransmission with back-off and an RTT-adapted interval, predefined and
 * short topics (6.7) and QoS -1 (6.8). Virtual time throughout.
 */
#include "tests/unit/test_gw_fake.h"

/* ---------------------------------------------------------------- uplink QoS 2 */

static void test_qos2_uplink_exactly_once(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	uint32_t conn;
	uint16_t id;
	size_t pubs = 0, i;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_register(f, 1, 1, "q2");
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 40, "once", false);
	c = fake_call(f, B_PUB);
	assert_int_equal(c->qos, 2);
	fake_expect_none(f);
	/* retransmitted before the broker acked: nothing, no second publish */
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 40, "once", true);
	fake_expect_none(f);
	fake_call_none(f);
	/* the broker has it: PUBREC */
	gw_on_broker_acked(f->gw, conn, c->token, f->now);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREC).u.msg_id, 40);
	/* our PUBREC was lost and the client retransmits: PUBREC again only */
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 40, "once", true);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREC).u.msg_id, 40);
	fake_call_none(f);
	in_msg_id(f, 1, MQTTSN_PUBREL, 40);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBCOMP).u.msg_id, 40);
	/* PUBREL again (our PUBCOMP was lost): PUBCOMP again */
	in_msg_id(f, 1, MQTTSN_PUBREL, 40);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBCOMP).u.msg_id, 40);
	for (i = 0; i < f->ncalls; i++)
		pubs += f->calls[i].kind == B_PUB;
	assert_int_equal(pubs, 1);
	/* after PUBCOMP the id is free for a new message */
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 40, "twice", false);
	c = fake_call(f, B_PUB);
	assert_memory_equal(c->payload, "twice", 5);
	fake_free(f);
}

static void test_qos2_uplink_congestion(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m, wu;
	struct fake_call *c;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_register(f, 1, 1, "q2");
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 1, "a", false);
	c = fake_call(f, B_PUB);
	/* a PUBREL before our PUBREC is premature: not completed */
	in_msg_id(f, 1, MQTTSN_PUBREL, 1);
	fake_expect_none(f);
	/* the connection is closed for good (a Will update reopens it): the
	 * client hears congestion and a late ack is ignored */
	wu = fake_msg(MQTTSN_WILLTOPICUPD);
	wu.u.willtopic.topic = fake_str("will/c");
	fake_in(f, 1, &wu);
	assert_int_equal(fake_call(f, B_CLOSE)->conn, conn);
	(void)fake_call(f, B_OPEN);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.msg_id, 1);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_CONGESTION);
	gw_on_broker_acked(f->gw, conn, c->token, f->now);
	fake_expect(f, 1, MQTTSN_WILLTOPICRESP);
	fake_expect_none(f);
	fake_free(f);
}

/* ---------------------------------------------------------------- downlink */

static void test_downlink_qos1_one_in_flight(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m, m2;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_subscribe_ok(f, 1, conn, "d", 1, 1, 1).u.suback.topic_id;
	fake_broker_msg(f, conn, "d", "m1", 1);
	fake_broker_msg(f, conn, "d", "m2", 1);
	fake_broker_msg(f, conn, "d", "m3", 0);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.qos, 1);
	assert_int_equal(m.u.publish.topic_id, id);
	assert_int_not_equal(m.u.publish.msg_id, 0);
	assert_data(&m, "m1");
	/* 6.6: one QoS 1/2 message in flight; the QoS 0 one keeps its place */
	fake_expect_none(f);
	/* a PUBACK for another msg id is not ours */
	in_ack(f, 1, MQTTSN_PUBACK, id, (uint16_t)(m.u.publish.msg_id + 1), 0);
	fake_expect_none(f);
	in_ack(f, 1, MQTTSN_PUBACK, id, m.u.publish.msg_id, MQTTSN_RC_ACCEPTED);
	m2 = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m2, "m2");
	assert_int_not_equal(m2.u.publish.msg_id, m.u.publish.msg_id);
	in_ack(f, 1, MQTTSN_PUBACK, id, m2.u.publish.msg_id, MQTTSN_RC_ACCEPTED);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "m3");
	assert_int_equal(m.u.publish.flags.qos, 0);
	fake_expect_none(f);
	assert_int_equal(fake_client_stats(f, "c").pub_down, 3);
	fake_free(f);
}

static void test_downlink_qos2(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id, mid;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_subscribe_ok(f, 1, conn, "d", 2, 2, 1).u.suback.topic_id;
	gw_on_broker_message(f->gw, conn, "d", 1, (const uint8_t *)"r", 1, 2, true, f->now);
	fake_broker_msg(f, conn, "d", "next", 2);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.qos, 2);
	assert_true(m.u.publish.flags.retain);
	mid = m.u.publish.msg_id;
	in_msg_id(f, 1, MQTTSN_PUBREC, mid);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREL).u.msg_id, mid);
	/* PUBREL lost: retransmitted after the retry interval */
	fake_advance(f, f->cfg.retry_initial_ms);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREL).u.msg_id, mid);
	/* a repeated PUBREC gets the PUBREL again */
	in_msg_id(f, 1, MQTTSN_PUBREC, mid);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREL).u.msg_id, mid);
	fake_expect_none(f);
	in_msg_id(f, 1, MQTTSN_PUBCOMP, mid);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "next");
	assert_false(m.u.publish.flags.retain);
	assert_int_equal(m.u.publish.topic_id, id);
	fake_free(f);
}

static void test_downlink_min_qos(void **state)
{
	static const struct {
		int sub, granted, msg, want;
	} rows[] = {
		{0, 0, 2, 0}, {2, 2, 1, 1}, {2, 1, 2, 1}, {1, 1, 0, 0}, {2, 0, 2, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct fake *f = fake_new();
		uint32_t conn = fake_connect(f, 1, "c", 60, true);
		struct mqttsn_msg m;

		(void)fake_subscribe_ok(f, 1, conn, "t/t", rows[i].sub, rows[i].granted, 1);
		fake_broker_msg(f, conn, "t/t", "x", rows[i].msg);
		m = fake_expect(f, 1, MQTTSN_PUBLISH);
		if (m.u.publish.flags.qos != rows[i].want)
			fail_msg("row %zu: qos %d, want %d", i, m.u.publish.flags.qos, rows[i].want);
		fake_free(f);
	}
}

static void test_reregister_after_invalid_topic(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m;
	uint32_t conn;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	(void)fake_subscribe_ok(f, 1, conn, "w/#", 1, 1, 1);
	fake_broker_msg(f, conn, "w/a", "x", 1);
	m = fake_expect(f, 1, MQTTSN_REGISTER);
	in_ack(f, 1, MQTTSN_REGACK, m.u.reg.topic_id, m.u.reg.msg_id, 0);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	/* the client forgot the id (a reboot): REGISTER again, publish again */
	in_ack(f, 1, MQTTSN_PUBACK, m.u.publish.topic_id, m.u.publish.msg_id,
	       MQTTSN_RC_INVALID_TOPIC_ID);
	m = fake_expect(f, 1, MQTTSN_REGISTER);
	in_ack(f, 1, MQTTSN_REGACK, m.u.reg.topic_id, m.u.reg.msg_id, 0);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "x");
	/* a second refusal drops the message: no endless loop */
	in_ack(f, 1, MQTTSN_PUBACK, m.u.publish.topic_id, m.u.publish.msg_id,
	       MQTTSN_RC_INVALID_TOPIC_ID);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_client_refused, 1);
	/* a refused REGISTER drops the message it was for */
	fake_broker_msg(f, conn, "w/b", "y", 1);
	m = fake_expect(f, 1, MQTTSN_REGISTER);
	in_ack(f, 1, MQTTSN_REGACK, m.u.reg.topic_id, m.u.reg.msg_id, MQTTSN_RC_CONGESTION);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_client_refused, 2);
	fake_free(f);
}

/* ---------------------------------------------------------------- retries */

static void test_retry_backoff_then_lost(void **state)
{
	/* RFC 6298 5.5: the interval doubles on each timeout, up to retry_max_ms */
	static const uint64_t gaps[] = {10000, 20000, 40000, 80000, 120000};
	struct fake *f = fake_new();
	struct mqttsn_msg m;
	struct fake_call *c;
	uint32_t conn;
	size_t i;

	(void)state;
	assert_int_equal(f->cfg.retry_count, 5);
	conn = fake_connect(f, 1, "c", 3600, true);
	(void)fake_subscribe_ok(f, 1, conn, "d", 1, 1, 1);
	fake_broker_msg(f, conn, "d", "x", 1);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_false(m.u.publish.flags.dup);
	for (i = 0; i < sizeof gaps / sizeof gaps[0]; i++) {
		fake_advance(f, gaps[i] - 1);
		fake_expect_none(f);
		fake_advance(f, 1);
		m = fake_expect(f, 1, MQTTSN_PUBLISH);
		assert_true(m.u.publish.flags.dup);
		assert_data(&m, "x");
	}
	assert_int_equal(fake_client_stats(f, "c").retries, 5);
	assert_int_equal(gw_stats_total(f->gw)->retries, 5);
	/* no answer to the last one either: the client is lost */
	fake_advance(f, 120000 - 1);
	fake_call_none(f);
	fake_advance(f, 1);
	c = fake_call(f, B_CLOSE);
	assert_true(c->fire_will);
	assert_false(gw_client_find(f->gw, "c", NULL, NULL));
	assert_int_equal(gw_stats_total(f->gw)->lost, 1);
	fake_free(f);
}

/* PUBACK the last PUBLISH sent. */
static void ack_last(struct fake *f)
{
	struct mqttsn_msg last;

	assert_int_equal(mqttsn_decode(f->sent[f->nsent - 1].buf, f->sent[f->nsent - 1].len, &last),
	                 MQTTSN_OK);
	assert_int_equal(last.type, MQTTSN_PUBLISH);
	in_ack(f, 1, MQTTSN_PUBACK, last.u.publish.topic_id, last.u.publish.msg_id, 0);
}

/* A QoS 1 message answered after rtt ms; returns when the next would be retried. */
static void round_trip(struct fake *f, uint32_t conn, uint64_t rtt)
{
	struct mqttsn_msg m;

	fake_broker_msg(f, conn, "d", "x", 1);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	fake_advance(f, rtt);
	in_ack(f, 1, MQTTSN_PUBACK, m.u.publish.topic_id, m.u.publish.msg_id, 0);
}

/* How long until an unanswered QoS 1 message is sent again. */
static uint64_t retry_after(struct fake *f, uint32_t conn)
{
	uint64_t start = f->now, step = 50;

	fake_broker_msg(f, conn, "d", "x", 1);
	(void)fake_expect(f, 1, MQTTSN_PUBLISH);
	while (f->rd_sent == f->nsent)
		fake_advance(f, step);
	(void)fake_expect(f, 1, MQTTSN_PUBLISH);
	return f->now - start;
}

static void test_rtt_adapts_retry_interval(void **state)
{
	struct gw_config cfg;
	struct fake *f;
	uint32_t conn;
	uint64_t t;
	int i;

	(void)state;
	fake_cfg(&cfg);
	cfg.retry_min_ms = 100;
	f = fake_new_cfg(&cfg);
	conn = fake_connect(f, 1, "geo", 3600, true);
	(void)fake_subscribe_ok(f, 1, conn, "d", 1, 1, 1);
	/* before any sample: the initial interval */
	t = retry_after(f, conn);
	assert_int_equal(t, cfg.retry_initial_ms);
	/* answered after the retransmission: Karn, no sample */
	ack_last(f);
	/* srtt 600, rttvar 300: rto = 600 + 4 * 300 = 1800 (RFC 6298 2.2) */
	round_trip(f, conn, 600);
	t = retry_after(f, conn);
	assert_in_range(t, 1800, 1850);
	ack_last(f);
	/* a steady 600 ms link: the variation shrinks toward the floor */
	for (i = 0; i < 30; i++)
		round_trip(f, conn, 600);
	t = retry_after(f, conn);
	assert_in_range(t, 600, 700);
	fake_free(f);

	/* the floor: a LAN-fast client still waits retry_min_ms */
	fake_cfg(&cfg);
	f = fake_new_cfg(&cfg);
	conn = fake_connect(f, 1, "lan", 3600, true);
	(void)fake_subscribe_ok(f, 1, conn, "d", 1, 1, 1);
	for (i = 0; i < 5; i++)
		round_trip(f, conn, 5);
	t = retry_after(f, conn);
	assert_int_equal(t, cfg.retry_min_ms);
	fake_free(f);
}

static void test_register_retried(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m, m2;
	uint32_t conn;

	(void)state;
	conn = fake_connect(f, 1, "c", 3600, true);
	(void)fake_subscribe_ok(f, 1, conn, "r/#", 0, 0, 1);
	fake_broker_msg(f, conn, "r/1", "a", 0);
	m = fake_expect(f, 1, MQTTSN_REGISTER);
	fake_broker_msg(f, conn, "r/2", "b", 0);
	/* one REGISTER outstanding per client */
	fake_expect_none(f);
	fake_advance(f, f->cfg.retry_initial_ms);
	m2 = fake_expect(f, 1, MQTTSN_REGISTER);
	assert_int_equal(m2.u.reg.msg_id, m.u.reg.msg_id);
	assert_int_equal(m2.u.reg.topic_id, m.u.reg.topic_id);
	in_ack(f, 1, MQTTSN_REGACK, m.u.reg.topic_id, m.u.reg.msg_id, 0);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "a");
	m = fake_expect(f, 1, MQTTSN_REGISTER);
	assert_memory_equal(m.u.reg.topic_name.ptr, "r/2", 3);
	fake_free(f);
}

/* ---------------------------------------------------------------- predefined, short */

static void test_predefined_topics(void **state)
{
	const struct gw_predefined table[] = {
		{"", 1, "global/one"},
		{"", 5, "global/five"},
		{"c1", 2, "c1/own"},
		{"c1", 1, "c1/override"},
		{"", 0, "reserved/id"},   /* skipped: 0 is reserved */
	};
	struct fake *f = fake_new();
	struct fake_call *c;
	struct mqttsn_msg m;
	uint32_t conn1, conn2;

	(void)state;
	assert_int_equal(gw_predefined_set(f->gw, table, sizeof table / sizeof table[0]), 0);
	conn1 = fake_connect(f, 1, "c1", 60, true);
	conn2 = fake_connect(f, 2, "c2", 60, true);

	in_publish(f, 1, 0, MQTTSN_TOPIC_PREDEFINED, 2, 0, "a", false);
	assert_string_equal(fake_call(f, B_PUB)->topic, "c1/own");
	in_publish(f, 1, 0, MQTTSN_TOPIC_PREDEFINED, 1, 0, "a", false);
	assert_string_equal(fake_call(f, B_PUB)->topic, "c1/override");
	in_publish(f, 1, 0, MQTTSN_TOPIC_PREDEFINED, 5, 0, "a", false);
	assert_string_equal(fake_call(f, B_PUB)->topic, "global/five");
	in_publish(f, 2, 0, MQTTSN_TOPIC_PREDEFINED, 1, 0, "a", false);
	assert_string_equal(fake_call(f, B_PUB)->topic, "global/one");
	/* c2 has no id 2 */
	in_publish(f, 2, 1, MQTTSN_TOPIC_PREDEFINED, 2, 9, "a", false);
	m = fake_expect(f, 2, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_INVALID_TOPIC_ID);
	fake_call_none(f);

	/* SUBSCRIBE by predefined id: SUBACK carries the id, no REGISTER later */
	in_subscribe(f, 1, 1, MQTTSN_TOPIC_PREDEFINED, 3, NULL, 2);
	c = fake_call(f, B_SUB);
	assert_string_equal(c->topic, "c1/own");
	gw_on_broker_subacked(f->gw, conn1, c->token, 1, f->now);
	m = fake_expect(f, 1, MQTTSN_SUBACK);
	assert_int_equal(m.u.suback.topic_id, 2);
	fake_broker_msg(f, conn1, "c1/own", "cmd", 1);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.topic_id_type, MQTTSN_TOPIC_PREDEFINED);
	assert_int_equal(m.u.publish.topic_id, 2);
	in_ack(f, 1, MQTTSN_PUBACK, 2, m.u.publish.msg_id, 0);
	/* a wildcard match on a predefined name is sent with its predefined id */
	(void)fake_subscribe_ok(f, 2, conn2, "global/#", 0, 0, 4);
	fake_broker_msg(f, conn2, "global/one", "g", 0);
	m = fake_expect(f, 2, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.topic_id_type, MQTTSN_TOPIC_PREDEFINED);
	assert_int_equal(m.u.publish.topic_id, 1);
	/* c1 redefined id 1, so "global/one" must be REGISTERed to it */
	(void)fake_subscribe_ok(f, 1, conn1, "global/#", 0, 0, 5);
	fake_broker_msg(f, conn1, "global/one", "g", 0);
	(void)fake_expect(f, 1, MQTTSN_REGISTER);
	/* unknown predefined id in SUBSCRIBE */
	in_subscribe(f, 2, 0, MQTTSN_TOPIC_PREDEFINED, 6, NULL, 77);
	m = fake_expect(f, 2, MQTTSN_SUBACK);
	assert_int_equal(m.u.suback.rc, MQTTSN_RC_INVALID_TOPIC_ID);
	/* a reload replaces the table */
	assert_int_equal(gw_predefined_set(f->gw, NULL, 0), 0);
	in_publish(f, 2, 1, MQTTSN_TOPIC_PREDEFINED, 1, 10, "a", false);
	assert_int_equal(fake_expect(f, 2, MQTTSN_PUBACK).u.puback.rc, MQTTSN_RC_INVALID_TOPIC_ID);
	fake_free(f);
}

static void test_short_topics(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	struct mqttsn_msg m;
	uint32_t conn;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	in_publish(f, 1, 0, MQTTSN_TOPIC_SHORT, (uint16_t)('t' << 8 | 'p'), 0, "20", false);
	c = fake_call(f, B_PUB);
	assert_int_equal(c->topic_len, 2);
	assert_memory_equal(c->topic, "tp", 2);
	/* a short name with a wildcard is no topic */
	in_publish(f, 1, 1, MQTTSN_TOPIC_SHORT, (uint16_t)('a' << 8 | '#'), 3, "x", false);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBACK).u.puback.rc,
	                 MQTTSN_RC_INVALID_TOPIC_ID);

	in_subscribe(f, 1, 1, MQTTSN_TOPIC_SHORT, 4, "cm", 0);
	c = fake_call(f, B_SUB);
	assert_int_equal(c->topic_len, 2);
	assert_memory_equal(c->topic, "cm", 2);
	gw_on_broker_subacked(f->gw, conn, c->token, 1, f->now);
	m = fake_expect(f, 1, MQTTSN_SUBACK);
	assert_int_equal(m.u.suback.topic_id, 0);
	fake_broker_msg(f, conn, "cm", "go", 1);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.topic_id_type, MQTTSN_TOPIC_SHORT);
	assert_int_equal(m.u.publish.topic_id, 'c' << 8 | 'm');
	in_ack(f, 1, MQTTSN_PUBACK, m.u.publish.topic_id, m.u.publish.msg_id, 0);
	in_unsubscribe(f, 1, MQTTSN_TOPIC_SHORT, 5, "cm", 0);
	c = fake_call(f, B_UNSUB);
	assert_memory_equal(c->topic, "cm", 2);
	fake_free(f);
}

/* ---------------------------------------------------------------- QoS -1 */

static void test_qos_minus_one(void **state)
{
	const struct gw_predefined table[] = {{"", 7, "buoy/alarm"}};
	struct gw_config cfg;
	struct fake *f;
	struct fake_call *c;

	(void)state;
	fake_cfg(&cfg);
	cfg.allow_qos_m1 = true;
	f = fake_new_cfg(&cfg);
	assert_int_equal(gw_predefined_set(f->gw, table, 1), 0);
	/* transparent mode: the first tick opens the shared connection for QoS -1 */
	(void)gw_tick(f->gw, f->now);
	c = fake_call(f, B_OPEN);
	assert_int_equal(c->conn, GW_CONN_AGGREGATE);
	assert_true(c->clean);
	/* not up yet: dropped and counted */
	in_publish(f, 9, -1, MQTTSN_TOPIC_PREDEFINED, 7, 0, "sos", false);
	fake_call_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_broker_down, 1);
	gw_on_broker_connected(f->gw, GW_CONN_AGGREGATE, 0, f->now);

	/* no session, no reply, forwarded at QoS 0 */
	in_publish(f, 9, -1, MQTTSN_TOPIC_PREDEFINED, 7, 0, "sos", false);
	c = fake_call(f, B_PUB);
	assert_int_equal(c->conn, GW_CONN_AGGREGATE);
	assert_string_equal(c->topic, "buoy/alarm");
	assert_int_equal(c->qos, 0);
	in_publish(f, 9, -1, MQTTSN_TOPIC_SHORT, (uint16_t)('b' << 8 | 'a'), 0, "1", false);
	c = fake_call(f, B_PUB);
	assert_memory_equal(c->topic, "ba", 2);
	/* a normal topic id or an unknown predefined one means nothing without a session */
	in_publish(f, 9, -1, MQTTSN_TOPIC_NORMAL, 1, 0, "x", false);
	in_publish(f, 9, -1, MQTTSN_TOPIC_PREDEFINED, 8, 0, "x", false);
	fake_call_none(f);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_invalid_topic, 2);
	assert_int_equal(gw_stats_total(f->gw)->pub_up, 2);
	fake_free(f);

	/* refused by configuration: counted, logged, no reply */
	fake_cfg(&cfg);
	f = fake_new_cfg(&cfg);
	assert_int_equal(gw_predefined_set(f->gw, table, 1), 0);
	(void)gw_tick(f->gw, f->now);
	fake_call_none(f); /* no shared connection when QoS -1 is refused */
	in_publish(f, 9, -1, MQTTSN_TOPIC_PREDEFINED, 7, 0, "sos", false);
	in_publish(f, 9, -1, MQTTSN_TOPIC_PREDEFINED, 7, 0, "sos", false);
	fake_call_none(f);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_qos_m1, 2);
	assert_int_equal(f->nlogs, 1);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qos2_uplink_exactly_once),
		cmocka_unit_test(test_qos2_uplink_congestion),
		cmocka_unit_test(test_downlink_qos1_one_in_flight),
		cmocka_unit_test(test_downlink_qos2),
		cmocka_unit_test(test_downlink_min_qos),
		cmocka_unit_test(test_reregister_after_invalid_topic),
		cmocka_unit_test(test_retry_backoff_then_lost),
		cmocka_unit_test(test_rtt_adapts_retry_interval),
		cmocka_unit_test(test_register_retried),
		cmocka_unit_test(test_predefined_topics),
		cmocka_unit_test(test_short_topics),
		cmocka_unit_test(test_qos_minus_one),
	};

	return cmocka_run_group_tests_name("gw_qos", tests, NULL, NULL);
}
