/*
 * test_gw_limits.c - every configured limit of the gateway core: answered
 * with the protocol's return code, counted by cause, logged once.
 */
#include "tests/unit/test_gw_fake.h"

static struct fake *with(void (*tweak)(struct gw_config *))
{
	struct gw_config cfg;

	fake_cfg(&cfg);
	tweak(&cfg);
	return fake_new_cfg(&cfg);
}

/* ---------------------------------------------------------------- max_clients */

static void two_clients(struct gw_config *c)
{
	c->max_clients = 2;
}

static void test_max_clients(void **state)
{
	struct fake *f = with(two_clients);
	size_t logs;

	(void)state;
	fake_connect(f, 1, "a", 60, true);
	fake_connect(f, 2, "b", 60, false);
	logs = f->nlogs;
	in_connect(f, 3, "c", 60, true, false);
	fake_expect_rc(f, 3, MQTTSN_CONNACK, MQTTSN_RC_CONGESTION);
	in_connect(f, 3, "c", 60, true, false);
	fake_expect_rc(f, 3, MQTTSN_CONNACK, MQTTSN_RC_CONGESTION);
	fake_call_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_clients, 2);
	assert_int_equal(gw_stats_total(f->gw)->drop_limit, 2);
	assert_int_equal(f->nlogs, logs + 1); /* one line, not one per refusal */
	/* a disconnected persistent session makes room when the table is full */
	in_disconnect(f, 2, false, 0);
	fake_expect(f, 2, MQTTSN_DISCONNECT);
	(void)fake_call(f, B_CLOSE);
	fake_connect(f, 3, "c", 60, true);
	assert_false(gw_client_find(f->gw, "b", NULL, NULL));
	assert_int_equal(gw_clients_in_state(f->gw, GW_STATE_ACTIVE), 2);
	fake_free(f);
}

/* ---------------------------------------------------------------- max_topics */

static void two_topics(struct gw_config *c)
{
	c->max_topics = 2;
}

static void test_max_topics(void **state)
{
	struct fake *f = with(two_topics);
	struct mqttsn_msg m;
	uint32_t conn;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	(void)fake_register(f, 1, 1, "t/1");
	(void)fake_register(f, 1, 2, "t/2");
	/* a known name is no new id */
	(void)fake_register(f, 1, 3, "t/1");
	in_register(f, 1, 4, "t/3");
	m = fake_expect(f, 1, MQTTSN_REGACK);
	assert_int_equal(m.u.regack.rc, MQTTSN_RC_CONGESTION);
	assert_int_equal(m.u.regack.msg_id, 4);
	/* a plain-name SUBSCRIBE needs a topic id too */
	in_subscribe(f, 1, 0, MQTTSN_TOPIC_NORMAL, 5, "t/4", 0);
	m = fake_expect(f, 1, MQTTSN_SUBACK);
	assert_int_equal(m.u.suback.rc, MQTTSN_RC_CONGESTION);
	fake_call_none(f);
	/* a wildcard subscription needs none, but its messages would */
	m = fake_subscribe_ok(f, 1, conn, "w/#", 0, 0, 6);
	fake_broker_msg(f, conn, "w/new", "x", 0);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_topics, 3);
	/* a short name needs no topic id */
	fake_broker_msg(f, conn, "w/", "y", 0);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.topic_id_type, MQTTSN_TOPIC_SHORT);
	fake_free(f);
}

/* ---------------------------------------------------------------- max_pending */

static void two_pending(struct gw_config *c)
{
	c->max_pending = 2;
}

static void test_max_pending(void **state)
{
	struct fake *f = with(two_pending);
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t tid;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	tid = fake_subscribe_ok(f, 1, conn, "q", 1, 1, 1).u.suback.topic_id;
	fake_broker_msg(f, conn, "q", "1", 1); /* in flight, still queued */
	fake_broker_msg(f, conn, "q", "2", 1);
	fake_broker_msg(f, conn, "q", "3", 1); /* over */
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_int_equal(gw_stats_total(f->gw)->drop_pending, 1);
	in_ack(f, 1, MQTTSN_PUBACK, tid, m.u.publish.msg_id, 0);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "2");
	in_ack(f, 1, MQTTSN_PUBACK, tid, m.u.publish.msg_id, 0);
	fake_expect_none(f);
	fake_free(f);
}

/* ---------------------------------------------------------------- max_msg_size */

static void small_messages(struct gw_config *c)
{
	c->max_msg_size = 32;
}

static void test_max_msg_size(void **state)
{
	struct fake *f = with(small_messages);
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_register(f, 1, 1, "t");
	/* 7 + 25 = 32 octets: fits */
	in_publish(f, 1, 0, MQTTSN_TOPIC_NORMAL, id, 0, "1234567890123456789012345", false);
	(void)fake_call(f, B_PUB);
	/* 33 octets: refused with "not supported", never forwarded */
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 2, "12345678901234567890123456", false);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_NOT_SUPPORTED);
	assert_int_equal(m.u.puback.msg_id, 2);
	fake_call_none(f);
	/* the same limit toward the client */
	(void)fake_subscribe_ok(f, 1, conn, "t", 0, 0, 3);
	fake_broker_msg(f, conn, "t", "1234567890123456789012345", 0);
	(void)fake_expect(f, 1, MQTTSN_PUBLISH);
	fake_broker_msg(f, conn, "t", "12345678901234567890123456", 0);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_too_big, 2);
	fake_free(f);
}

/* ---------------------------------------------------------------- max_inflight */

static void one_inflight(struct gw_config *c)
{
	c->max_inflight = 1;
}

static void test_max_inflight(void **state)
{
	struct fake *f = with(one_inflight);
	struct mqttsn_msg m;
	struct fake_call *c;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_register(f, 1, 1, "t");
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 1, "a", false);
	c = fake_call(f, B_PUB);
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 2, "b", false);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.msg_id, 2);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_CONGESTION);
	fake_call_none(f);
	/* QoS 0 is not limited by it */
	in_publish(f, 1, 0, MQTTSN_TOPIC_NORMAL, id, 0, "c", false);
	(void)fake_call(f, B_PUB);
	gw_on_broker_acked(f->gw, conn, c->token, f->now);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBACK).u.puback.msg_id, 1);
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 2, "b", false);
	(void)fake_call(f, B_PUB);
	assert_int_equal(gw_stats_total(f->gw)->drop_inflight, 1);
	assert_int_equal(gw_stats_total(f->gw)->drop_congestion, 1);
	fake_free(f);
}

/* ---------------------------------------------------------------- max_subscriptions */

static void one_subscription(struct gw_config *c)
{
	c->max_subscriptions = 1;
}

static void test_max_subscriptions(void **state)
{
	struct fake *f = with(one_subscription);
	struct mqttsn_msg m;
	uint32_t conn;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	(void)fake_subscribe_ok(f, 1, conn, "a/#", 0, 0, 1);
	in_subscribe(f, 1, 0, MQTTSN_TOPIC_NORMAL, 2, "b/#", 0);
	m = fake_expect(f, 1, MQTTSN_SUBACK);
	assert_int_equal(m.u.suback.rc, MQTTSN_RC_CONGESTION);
	fake_call_none(f);
	/* the same filter again is an update, not a new one */
	(void)fake_subscribe_ok(f, 1, conn, "a/#", 1, 1, 3);
	assert_int_equal(gw_stats_total(f->gw)->drop_subscriptions, 1);
	fake_free(f);
}

/* ---------------------------------------------------------------- config sanity */

static void silly(struct gw_config *c)
{
	c->max_clients = 0;
	c->max_topics = 1000000;
	c->retry_min_ms = 5000;
	c->retry_max_ms = 1000;
	c->retry_initial_ms = 0;
	c->max_inflight = 0;
	c->max_msg_size = 1;
}

static void test_config_clamped(void **state)
{
	struct fake *f = with(silly);

	(void)state;
	/* one client still fits, and nothing divides by zero or overflows */
	fake_connect(f, 1, "c", 60, true);
	in_connect(f, 2, "d", 60, true, false);
	fake_expect_rc(f, 2, MQTTSN_CONNACK, MQTTSN_RC_CONGESTION);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_clients),
		cmocka_unit_test(test_max_topics),
		cmocka_unit_test(test_max_pending),
		cmocka_unit_test(test_max_msg_size),
		cmocka_unit_test(test_max_inflight),
		cmocka_unit_test(test_max_subscriptions),
		cmocka_unit_test(test_config_clamped),
	};

	return cmocka_run_group_tests_name("gw_limits", tests, NULL, NULL);
}
