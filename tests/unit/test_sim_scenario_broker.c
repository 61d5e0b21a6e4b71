/*
 * test_sim_scenario_broker.c - the in-memory broker (sim/broker_mem.h):
 * answers after their delays, the record, subscriptions and sessions,
 * Wills, takeover, and what survives a bridge crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/broker_mem.h"

#define MS 1000u

static struct sim_broker *mk(void)
{
	struct sim_broker_cfg cfg = { 5 * MS, 2 * MS, 3 * MS };
	struct sim_broker *b = sim_broker_new(&cfg);

	assert_non_null(b);
	return b;
}

static struct gw_broker_session sess(const char *id, bool clean)
{
	struct gw_broker_session s;

	memset(&s, 0, sizeof s);
	s.client_id = id;
	s.clean_session = clean;
	s.keep_alive_s = 60;
	return s;
}

/* The next answer, due at or before now, of this kind and conn. */
static struct sim_broker_event expect(struct sim_broker *b, uint64_t now,
                                      enum sim_broker_ev_kind kind, uint32_t conn)
{
	struct sim_broker_event e;

	if (!sim_broker_pop(b, now, &e))
		fail_msg("expected answer %d for conn %u by %llu us, none", (int)kind, (unsigned)conn,
		         (unsigned long long)now);
	assert_int_equal(e.kind, kind);
	assert_int_equal(e.conn, conn);
	return e;
}

static void expect_none(struct sim_broker *b, uint64_t now)
{
	struct sim_broker_event e;

	if (sim_broker_pop(b, now, &e))
		fail_msg("expected no answer by %llu us, got %d for conn %u", (unsigned long long)now,
		         (int)e.kind, (unsigned)e.conn);
}

/* Open conn for id and let it come up at t (+ connect delay). */
static void up(struct sim_broker *b, uint32_t conn, const char *id, bool clean, uint64_t t)
{
	struct gw_broker_session s = sess(id, clean);

	assert_int_equal(sim_broker_open(b, conn, &s, t), 0);
	expect_none(b, t + 5 * MS - 1);
	assert_int_equal(sim_broker_next_time(b), t + 5 * MS);
	assert_int_equal(expect(b, t + 5 * MS, SIM_BROKER_CONNECTED, conn).rc, 0);
}

static int publish(struct sim_broker *b, uint32_t conn, const char *topic, const char *payload,
                   int qos, bool retain, uint32_t *token, uint64_t now)
{
	return sim_broker_publish(b, conn, topic, strlen(topic), (const uint8_t *)payload,
	                          strlen(payload), qos, retain, token, now);
}

/* ---------------------------------------------------------------- tests */

static void test_connect_publish_ack(void **state)
{
	struct sim_broker *b = mk();
	struct gw_broker_session s = sess("st-1", false);
	const struct sim_broker_rx *rec;
	uint32_t tok = 0, tok0 = 0;
	size_t n;

	(void)state;
	assert_int_equal(sim_broker_next_time(b), UINT64_MAX);
	assert_int_equal(sim_broker_open(b, 7, &s, 1000), 0);
	/* not up yet: a publish is refused as the contract says */
	assert_int_equal(publish(b, 7, "a/b", "x", 1, false, &tok, 1000), -1);
	assert_int_equal(expect(b, 6000, SIM_BROKER_CONNECTED, 7).rc, 0);
	assert_int_equal(publish(b, 7, "a/b", "hello", 1, false, &tok, 10000), 0);
	assert_int_equal(publish(b, 7, "a/b", "zero", 0, false, &tok0, 10000), 0);
	assert_int_not_equal(tok, tok0);
	expect_none(b, 11999);
	assert_int_equal(expect(b, 12000, SIM_BROKER_ACKED, 7).token, tok);
	expect_none(b, 100000); /* no ack for QoS 0 */
	rec = sim_broker_record(b, &n);
	assert_int_equal(n, 2);
	assert_int_equal(rec[0].at_us, 10000);
	assert_string_equal(sim_broker_client_name(b, rec[0].client), "st-1");
	assert_string_equal(sim_broker_topic_name(b, rec[0].topic), "a/b");
	assert_int_equal(rec[0].hash, sim_broker_hash((const uint8_t *)"hello", 5));
	assert_int_equal(rec[0].len, 5);
	assert_int_equal(rec[0].qos, 1);
	assert_false(rec[0].will);
	assert_int_equal(rec[1].qos, 0);
	assert_int_equal(sim_broker_stats(b)->publishes, 2);
	assert_int_equal(sim_broker_stats(b)->refused, 1);
	sim_broker_free(b);
}

static void test_subscription_routing(void **state)
{
	struct sim_broker *b = mk();
	struct sim_broker_event e;
	uint32_t tok;

	(void)state;
	up(b, 1, "pub", true, 0);
	up(b, 2, "sub", true, 0);
	assert_int_equal(sim_broker_subscribe(b, 2, "wx/+/obs", 8, 1, &tok, 10 * MS), 0);
	e = expect(b, 12 * MS, SIM_BROKER_SUBACKED, 2);
	assert_int_equal(e.token, tok);
	assert_int_equal(e.rc, 1);
	assert_int_equal(publish(b, 1, "wx/m1/obs", "p2", 2, false, &tok, 20 * MS), 0);
	assert_int_equal(publish(b, 1, "other", "no", 1, false, &tok, 20 * MS), 0);
	/* the ack of the first (2 ms) before the copy (3 ms), then the second's ack */
	expect(b, 22 * MS, SIM_BROKER_ACKED, 1);
	expect(b, 22 * MS, SIM_BROKER_ACKED, 1);
	e = expect(b, 23 * MS, SIM_BROKER_MESSAGE, 2);
	assert_int_equal(e.topic_len, 9);
	assert_memory_equal(e.topic, "wx/m1/obs", 9);
	assert_int_equal(e.len, 2);
	assert_memory_equal(e.payload, "p2", 2);
	assert_int_equal(e.qos, 1); /* the lower of publish and subscription */
	expect_none(b, 1000 * MS);
	assert_int_equal(sim_broker_unsubscribe(b, 2, "wx/+/obs", 8, &tok, 30 * MS), 0);
	assert_int_equal(expect(b, 32 * MS, SIM_BROKER_UNSUBACKED, 2).token, tok);
	assert_int_equal(publish(b, 1, "wx/m1/obs", "p3", 0, false, &tok, 40 * MS), 0);
	expect_none(b, 1000 * MS);
	sim_broker_free(b);
}

static void test_retained(void **state)
{
	struct sim_broker *b = mk();
	struct sim_broker_event e;
	uint32_t tok;

	(void)state;
	up(b, 1, "pub", true, 0);
	assert_int_equal(publish(b, 1, "cfg/x", "v1", 1, true, &tok, 10 * MS), 0);
	assert_int_equal(publish(b, 1, "cfg/x", "v2", 1, true, &tok, 10 * MS), 0);
	expect(b, 12 * MS, SIM_BROKER_ACKED, 1);
	expect(b, 12 * MS, SIM_BROKER_ACKED, 1);
	up(b, 2, "late", true, 20 * MS);
	assert_int_equal(sim_broker_subscribe(b, 2, "cfg/#", 5, 0, &tok, 30 * MS), 0);
	expect(b, 32 * MS, SIM_BROKER_SUBACKED, 2);
	e = expect(b, 35 * MS, SIM_BROKER_MESSAGE, 2);
	assert_int_equal(e.len, 2);
	assert_memory_equal(e.payload, "v2", 2);
	assert_true(e.retain);
	assert_int_equal(e.qos, 0);
	expect_none(b, 1000 * MS);
	sim_broker_free(b);
}

static void test_will_and_close(void **state)
{
	struct sim_broker *b = mk();
	struct gw_broker_session s = sess("dying", true);
	const struct sim_broker_rx *rec;
	uint32_t tok;
	size_t n;

	(void)state;
	s.has_will = true;
	s.will_topic = "status/dying";
	s.will_payload = (const uint8_t *)"gone";
	s.will_len = 4;
	s.will_qos = 1;
	up(b, 2, "watch", true, 0);
	assert_int_equal(sim_broker_subscribe(b, 2, "status/+", 8, 1, &tok, 0), 0);
	expect(b, 2 * MS, SIM_BROKER_SUBACKED, 2);
	assert_int_equal(sim_broker_open(b, 3, &s, 10 * MS), 0);
	expect(b, 15 * MS, SIM_BROKER_CONNECTED, 3);
	/* a publish in flight when the connection closes: its ack is not given */
	assert_int_equal(publish(b, 3, "x", "y", 1, false, &tok, 20 * MS), 0);
	sim_broker_close(b, 3, true, 21 * MS);
	assert_true(expect(b, 24 * MS, SIM_BROKER_MESSAGE, 2).len == 4);
	expect_none(b, 1000 * MS);
	rec = sim_broker_record(b, &n);
	assert_int_equal(n, 2);
	assert_true(rec[1].will);
	assert_int_equal(sim_broker_stats(b)->wills, 1);
	/* a clean session is gone with its connection; a closed one refuses */
	assert_false(sim_broker_session(b, "dying", NULL));
	assert_int_equal(publish(b, 3, "x", "y", 1, false, &tok, 30 * MS), -1);
	sim_broker_free(b);
}

static void test_crash_keeps_sessions(void **state)
{
	struct sim_broker *b = mk();
	struct sim_broker_event e;
	size_t subs = 0;
	uint32_t tok;

	(void)state;
	up(b, 1, "pub", true, 0);
	up(b, 2, "keeper", false, 0);
	assert_int_equal(sim_broker_subscribe(b, 2, "wx/#", 4, 1, &tok, 10 * MS), 0);
	expect(b, 12 * MS, SIM_BROKER_SUBACKED, 2);
	assert_int_equal(publish(b, 1, "wx/a", "m1", 1, false, &tok, 20 * MS), 0);
	/* the bridge crashes before the ack and the copy are given */
	sim_broker_drop_all(b, 21 * MS);
	expect_none(b, 1000 * MS);
	assert_true(sim_broker_session(b, "keeper", &subs));
	assert_int_equal(subs, 1);
	assert_false(sim_broker_session(b, "pub", NULL));
	/* while keeper is away, QoS 1 messages wait for it; QoS 0 do not */
	up(b, 5, "pub", true, 30 * MS);
	assert_int_equal(publish(b, 5, "wx/a", "m2", 1, false, &tok, 40 * MS), 0);
	assert_int_equal(publish(b, 5, "wx/a", "m0", 0, false, &tok, 40 * MS), 0);
	expect(b, 42 * MS, SIM_BROKER_ACKED, 5);
	assert_int_equal(sim_broker_stats(b)->queued_offline, 1);
	/* a new bridge reconnects keeper without a clean session */
	up(b, 9, "keeper", false, 50 * MS);
	e = expect(b, 55 * MS, SIM_BROKER_MESSAGE, 9);
	assert_memory_equal(e.payload, "m2", 2);
	expect_none(b, 1000 * MS);
	assert_int_equal(sim_broker_stats(b)->drops, 2);
	sim_broker_free(b);
}

static void test_takeover(void **state)
{
	struct sim_broker *b = mk();
	struct gw_broker_session s = sess("same", false);

	(void)state;
	up(b, 1, "same", false, 0);
	assert_int_equal(sim_broker_open(b, 2, &s, 10 * MS), 0);
	expect(b, 10 * MS, SIM_BROKER_DISCONNECTED, 1);
	expect(b, 15 * MS, SIM_BROKER_CONNECTED, 2);
	expect_none(b, 1000 * MS);
	sim_broker_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_publish_ack),
		cmocka_unit_test(test_subscription_routing),
		cmocka_unit_test(test_retained),
		cmocka_unit_test(test_will_and_close),
		cmocka_unit_test(test_crash_keeps_sessions),
		cmocka_unit_test(test_takeover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
