/*
 * test_gw_sleep.c - keep-alive supervision (6.11) and sleeping clients
 * (6.14): loss and Wills, the sleep buffer and its limit, waking, expiry,
 * and waking from a new address. Virtual time throughout.
 */
#include "tests/unit/test_gw_fake.h"

static void test_tolerance_table(void **state)
{
	/* Table 30 note: +50 % under one minute, +10 % from one minute on */
	static const struct {
		uint16_t ka;
		uint64_t lost_after_ms;
	} rows[] = {{10, 15000}, {59, 88500}, {60, 66000}, {600, 660000}, {3600, 3960000}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct fake *f = fake_new();

		fake_connect(f, 1, "k", rows[i].ka, true);
		fake_advance(f, rows[i].lost_after_ms - 1);
		if (!gw_client_find(f->gw, "k", NULL, NULL))
			fail_msg("keep-alive %u: lost before %llu ms", (unsigned)rows[i].ka,
			         (unsigned long long)rows[i].lost_after_ms);
		fake_advance(f, 1);
		if (gw_client_find(f->gw, "k", NULL, NULL))
			fail_msg("keep-alive %u: not lost at %llu ms", (unsigned)rows[i].ka,
			         (unsigned long long)rows[i].lost_after_ms);
		fake_free(f);
	}
}

static void test_keepalive_loss_fires_will(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	uint64_t next;

	(void)state;
	/* a persistent session with a Will (the broker holds it) */
	in_connect(f, 1, "k", 100, false, true);
	fake_expect(f, 1, MQTTSN_WILLTOPICREQ);
	{
		struct mqttsn_msg m = fake_msg(MQTTSN_WILLTOPIC);

		m.u.willtopic.topic = fake_str("k/status");
		fake_in(f, 1, &m);
		fake_expect(f, 1, MQTTSN_WILLMSGREQ);
		m = fake_msg(MQTTSN_WILLMSG);
		m.u.willmsg.msg = fake_str("offline");
		fake_in(f, 1, &m);
	}
	c = fake_call(f, B_OPEN);
	gw_on_broker_connected(f->gw, c->conn, 0, f->now);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, 0);
	/* the next deadline is the keep-alive with 10 % tolerance */
	next = gw_tick(f->gw, f->now);
	assert_int_equal(next, f->now + 110000);
	assert_int_equal(gw_next_deadline(f->gw), next);
	/* traffic resets the timer */
	fake_advance(f, 100000);
	in_pingreq(f, 1, NULL);
	fake_expect(f, 1, MQTTSN_PINGRESP);
	fake_advance(f, 109999);
	fake_call_none(f);
	fake_advance(f, 1);
	c = fake_call(f, B_CLOSE);
	assert_true(c->fire_will);
	assert_int_equal(fake_state(f, "k"), GW_STATE_LOST);
	assert_int_equal(gw_stats_total(f->gw)->wills, 1);
	assert_int_equal(gw_stats_total(f->gw)->lost, 1);
	assert_int_equal(gw_clients_in_state(f->gw, GW_STATE_LOST), 1);
	/* a lost client learns it when it speaks again */
	in_pingreq(f, 1, NULL);
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	/* no keep-alive at all: never lost */
	fake_connect(f, 2, "forever", 0, true);
	assert_int_equal(gw_next_deadline(f->gw), UINT64_MAX);
	fake_free(f);
}

/* Connect, subscribe "s" at QoS 1 and go to sleep for secs. */
static uint32_t asleep(struct fake *f, uint8_t from, const char *id, uint16_t secs, uint16_t *tid)
{
	uint32_t conn = fake_connect(f, from, id, 60, false);

	*tid = fake_subscribe_ok(f, from, conn, "s", 1, 1, 1).u.suback.topic_id;
	in_disconnect(f, from, true, secs);
	fake_expect(f, from, MQTTSN_DISCONNECT);
	/* the broker connection stays open to collect messages */
	fake_call_none(f);
	assert_int_equal(fake_state(f, id), GW_STATE_ASLEEP);
	return conn;
}

static void test_sleep_wake_flush(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t tid;

	(void)state;
	conn = asleep(f, 1, "s1", 600, &tid);
	fake_broker_msg(f, conn, "s", "a", 0);
	fake_broker_msg(f, conn, "s", "b", 1);
	fake_broker_msg(f, conn, "s", "c", 1);
	fake_expect_none(f);
	/* keep-alive does not apply while asleep */
	fake_advance(f, 300000);
	assert_int_equal(fake_state(f, "s1"), GW_STATE_ASLEEP);

	in_pingreq(f, 1, "s1");
	assert_int_equal(fake_state(f, "s1"), GW_STATE_AWAKE);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "a");
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "b");
	/* QoS 1: its PUBACK comes before the next, and before PINGRESP */
	fake_expect_none(f);
	in_ack(f, 1, MQTTSN_PUBACK, tid, m.u.publish.msg_id, 0);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "c");
	fake_expect_none(f);
	/* what arrives while awake goes out in the same wake-up */
	fake_broker_msg(f, conn, "s", "d", 0);
	fake_expect_none(f);
	in_ack(f, 1, MQTTSN_PUBACK, tid, m.u.publish.msg_id, 0);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "d");
	fake_expect(f, 1, MQTTSN_PINGRESP);
	assert_int_equal(fake_state(f, "s1"), GW_STATE_ASLEEP);
	/* nothing buffered: PINGRESP at once */
	in_pingreq(f, 1, "s1");
	fake_expect(f, 1, MQTTSN_PINGRESP);
	/* CONNECT brings it back to active (6.14) */
	in_connect(f, 1, "s1", 60, false, false);
	fake_call_none(f);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, 0);
	assert_int_equal(fake_state(f, "s1"), GW_STATE_ACTIVE);
	fake_free(f);
}

static void test_sleep_buffer_limit(void **state)
{
	struct gw_config cfg;
	struct fake *f;
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t tid;
	size_t logs;

	(void)state;
	fake_cfg(&cfg);
	cfg.max_sleep_buffer = 3;
	f = fake_new_cfg(&cfg);
	conn = asleep(f, 1, "s", 600, &tid);
	fake_broker_msg(f, conn, "s", "1", 0);
	fake_broker_msg(f, conn, "s", "2", 0);
	fake_broker_msg(f, conn, "s", "3", 0);
	logs = f->nlogs;
	fake_broker_msg(f, conn, "s", "4", 0);
	fake_broker_msg(f, conn, "s", "5", 0);
	assert_int_equal(gw_stats_total(f->gw)->drop_sleep_buffer, 2);
	assert_int_equal(fake_client_stats(f, "s").drop_sleep_buffer, 2);
	assert_int_equal(gw_stats_total(f->gw)->drop_limit, 2);
	assert_int_equal(f->nlogs, logs + 1); /* logged once */
	in_pingreq(f, 1, "s");
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "1");
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "2");
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "3");
	fake_expect(f, 1, MQTTSN_PINGRESP);
	fake_free(f);
}

static void test_sleep_expiry_loses_client(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	uint16_t tid;
	uint32_t conn;

	(void)state;
	conn = asleep(f, 1, "s", 600, &tid);
	/* 600 s asleep, +10 %: lost after 660 s */
	fake_advance(f, 659999);
	fake_call_none(f);
	fake_advance(f, 1);
	c = fake_call(f, B_CLOSE);
	assert_int_equal(c->conn, conn);
	assert_true(c->fire_will);
	assert_int_equal(fake_state(f, "s"), GW_STATE_LOST);
	/* waking too late: the session is gone, connect again */
	in_pingreq(f, 1, "s");
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	fake_free(f);
}

static void test_wake_sleep_cycles_keep_session(void **state)
{
	struct fake *f = fake_new();
	uint16_t tid;
	int i;

	(void)state;
	(void)asleep(f, 1, "s", 60, &tid);
	/* each wake-up restarts the sleep timer */
	for (i = 0; i < 10; i++) {
		fake_advance(f, 60000);
		in_pingreq(f, 1, "s");
		fake_expect(f, 1, MQTTSN_PINGRESP);
	}
	assert_int_equal(fake_state(f, "s"), GW_STATE_ASLEEP);
	fake_free(f);
}

static void test_wake_from_new_address(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t tid;

	(void)state;
	conn = asleep(f, 1, "nb-iot", 600, &tid);
	fake_broker_msg(f, conn, "s", "hello", 0);
	/* the NAT binding expired while it slept: a new source port */
	in_pingreq(f, 2, "nb-iot");
	m = fake_expect(f, 2, MQTTSN_PUBLISH);
	assert_data(&m, "hello");
	fake_expect(f, 2, MQTTSN_PINGRESP);
	/* the old address gets nothing more */
	fake_broker_msg(f, conn, "s", "later", 0);
	in_pingreq(f, 1, NULL);
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	in_pingreq(f, 2, NULL);
	m = fake_expect(f, 2, MQTTSN_PUBLISH);
	assert_data(&m, "later");
	fake_expect(f, 2, MQTTSN_PINGRESP);
	fake_free(f);
}

static void test_in_flight_resumes_after_sleep(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m, m2;
	uint32_t conn;
	uint16_t tid;

	(void)state;
	conn = fake_connect(f, 1, "s", 60, false);
	tid = fake_subscribe_ok(f, 1, conn, "s", 1, 1, 1).u.suback.topic_id;
	fake_broker_msg(f, conn, "s", "x", 1);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	/* it goes to sleep before acking: no retries while it sleeps */
	in_disconnect(f, 1, true, 3600);
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	fake_advance(f, 600000);
	fake_expect_none(f);
	in_pingreq(f, 1, "s");
	m2 = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_true(m2.u.publish.flags.dup);
	assert_int_equal(m2.u.publish.msg_id, m.u.publish.msg_id);
	in_ack(f, 1, MQTTSN_PUBACK, tid, m.u.publish.msg_id, 0);
	fake_expect(f, 1, MQTTSN_PINGRESP);
	fake_free(f);
}

static void test_disconnect_persistent_and_unknown_ping(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	uint32_t conn;

	(void)state;
	conn = fake_connect(f, 1, "p", 60, false);
	in_disconnect(f, 1, false, 0);
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	c = fake_call(f, B_CLOSE);
	assert_int_equal(c->conn, conn);
	assert_false(c->fire_will);
	assert_int_equal(fake_state(f, "p"), GW_STATE_DISCONNECTED);
	/* disconnected: neither keep-alive nor Will */
	fake_advance(f, 3600000);
	fake_call_none(f);
	assert_int_equal(gw_stats_total(f->gw)->lost, 0);
	/* a waking PINGREQ for a client that is not asleep, or unknown */
	in_pingreq(f, 1, "p");
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	in_pingreq(f, 3, "nobody");
	fake_expect(f, 3, MQTTSN_DISCONNECT);
	/* a PINGREQ with the id of an active client answers it */
	fake_connect(f, 4, "act", 60, true);
	in_pingreq(f, 4, "act");
	fake_expect(f, 4, MQTTSN_PINGRESP);
	fake_free(f);
}

/* Many clients with different keep-alives: each is lost at its own time, in order. */
static void test_many_deadlines(void **state)
{
	struct gw_config cfg;
	struct fake *f;
	char id[16];
	uint16_t ka[120];
	uint64_t t, start;
	int i, lost, want;

	(void)state;
	fake_cfg(&cfg);
	cfg.max_clients = 200;
	f = fake_new_cfg(&cfg);
	(void)gw_tick(f->gw, f->now);
	start = f->now;
	for (i = 0; i < 120; i++) {
		/* a scrambled order of 60..179 s, so the heap sees every shape */
		ka[i] = (uint16_t)(60 + (i * 37) % 120);
		snprintf(id, sizeof id, "k%d", i);
		fake_connect(f, (uint8_t)(i + 1), id, ka[i], true);
		fake_drain(f);
	}
	/* every third client pings at 30 s, which moves its deadline */
	f->now = start + 30000;
	for (i = 0; i < 120; i += 3) {
		in_pingreq(f, (uint8_t)(i + 1), NULL);
		fake_drain(f);
	}
	for (t = 60000; t <= 260000; t += 1000) {
		(void)gw_tick(f->gw, start + t);
		f->now = start + t;
		want = 0;
		for (i = 0; i < 120; i++) {
			uint64_t due = (i % 3 == 0 ? 30000u : 0u) + (uint64_t)ka[i] * 1100u;

			want += due <= t;
		}
		lost = (int)(120 - gw_clients_in_state(f->gw, GW_STATE_ACTIVE));
		if (lost != want)
			fail_msg("at %llu ms: %d lost, want %d", (unsigned long long)t, lost, want);
	}
	assert_int_equal(gw_stats_total(f->gw)->lost, 120);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tolerance_table),
		cmocka_unit_test(test_keepalive_loss_fires_will),
		cmocka_unit_test(test_sleep_wake_flush),
		cmocka_unit_test(test_sleep_buffer_limit),
		cmocka_unit_test(test_sleep_expiry_loses_client),
		cmocka_unit_test(test_wake_sleep_cycles_keep_session),
		cmocka_unit_test(test_wake_from_new_address),
		cmocka_unit_test(test_in_flight_resumes_after_sleep),
		cmocka_unit_test(test_disconnect_persistent_and_unknown_ping),
		cmocka_unit_test(test_many_deadlines),
	};

	return cmocka_run_group_tests_name("gw_sleep", tests, NULL, NULL);
}
