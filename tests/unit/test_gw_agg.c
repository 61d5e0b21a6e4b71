/*
 * test_gw_agg.c - aggregating mode: one broker connection (GW_CONN_AGGREGATE)
 * for every client, subscriptions counted per filter, broker messages fanned
 * out to every matching client, Wills published by the core.
 */
#include "tests/unit/test_gw_fake.h"

static struct fake *agg_new(void)
{
	struct gw_config cfg;
	struct fake *f;
	struct fake_call *c;

	fake_cfg(&cfg);
	cfg.mode = GW_MODE_AGGREGATING;
	f = fake_new_cfg(&cfg);
	(void)gw_tick(f->gw, f->now);
	c = fake_call(f, B_OPEN);
	assert_int_equal(c->conn, GW_CONN_AGGREGATE);
	assert_string_equal(c->client_id, "sn-bridge-1");
	gw_on_broker_connected(f->gw, GW_CONN_AGGREGATE, 0, f->now);
	return f;
}

/* CONNECT in aggregating mode: CONNACK at once, no broker call. */
static void agg_connect(struct fake *f, uint8_t from, const char *id, bool clean)
{
	in_connect(f, from, id, 60, clean, false);
	fake_call_none(f);
	fake_expect_rc(f, from, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
}

static struct mqttsn_msg agg_suback(struct fake *f, uint8_t from)
{
	return fake_expect(f, from, MQTTSN_SUBACK);
}

static void test_agg_connect(void **state)
{
	struct gw_config cfg;
	struct fake *f;

	(void)state;
	fake_cfg(&cfg);
	cfg.mode = GW_MODE_AGGREGATING;
	f = fake_new_cfg(&cfg);
	(void)gw_tick(f->gw, f->now);
	(void)fake_call(f, B_OPEN);
	/* the shared connection is not up yet */
	in_connect(f, 1, "a", 60, true, false);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, MQTTSN_RC_CONGESTION);
	gw_on_broker_connected(f->gw, GW_CONN_AGGREGATE, 0, f->now);
	agg_connect(f, 1, "a", true);
	fake_free(f);
}

/* The daemon names the shared connection (several bridges share a broker). */
static void test_agg_shared_client_id(void **state)
{
	struct gw_config cfg;
	struct fake *f;

	(void)state;
	fake_cfg(&cfg);
	cfg.mode = GW_MODE_AGGREGATING;
	(void)snprintf(cfg.shared_client_id, sizeof cfg.shared_client_id, "snb-groundA-7");
	f = fake_new_cfg(&cfg);
	(void)gw_tick(f->gw, f->now);
	assert_string_equal(fake_call(f, B_OPEN)->client_id, "snb-groundA-7");
	fake_free(f);
}

static void test_agg_subscription_refcount(void **state)
{
	struct fake *f = agg_new();
	struct fake_call *c;
	struct mqttsn_msg m;

	(void)state;
	agg_connect(f, 1, "a", true);
	agg_connect(f, 2, "b", true);
	agg_connect(f, 3, "c", true);

	in_subscribe(f, 1, 1, MQTTSN_TOPIC_NORMAL, 1, "st/+/cmd", 0);
	c = fake_call(f, B_SUB);
	assert_int_equal(c->conn, GW_CONN_AGGREGATE);
	assert_int_equal(c->qos, 1);
	/* a second client asks while the broker has not answered: it waits */
	in_subscribe(f, 2, 1, MQTTSN_TOPIC_NORMAL, 7, "st/+/cmd", 0);
	fake_call_none(f);
	fake_expect_none(f);
	gw_on_broker_subacked(f->gw, GW_CONN_AGGREGATE, c->token, 1, f->now);
	m = agg_suback(f, 1);
	assert_int_equal(m.u.suback.flags.qos, 1);
	assert_int_equal(m.u.suback.msg_id, 1);
	m = agg_suback(f, 2);
	assert_int_equal(m.u.suback.msg_id, 7);
	/* the same filter again at a lower QoS: answered at once, no broker call */
	in_subscribe(f, 3, 0, MQTTSN_TOPIC_NORMAL, 2, "st/+/cmd", 0);
	fake_call_none(f);
	m = agg_suback(f, 3);
	assert_int_equal(m.u.suback.flags.qos, 0);
	/* more QoS than the broker was asked for: subscribe again, higher */
	in_subscribe(f, 3, 2, MQTTSN_TOPIC_NORMAL, 3, "st/+/cmd", 0);
	c = fake_call(f, B_SUB);
	assert_int_equal(c->qos, 2);
	gw_on_broker_subacked(f->gw, GW_CONN_AGGREGATE, c->token, 2, f->now);
	m = agg_suback(f, 3);
	assert_int_equal(m.u.suback.flags.qos, 2);

	/* unsubscribing: the broker hears of it only with the last one */
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 4, "st/+/cmd", 0);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 4);
	in_unsubscribe(f, 2, MQTTSN_TOPIC_NORMAL, 5, "st/+/cmd", 0);
	(void)fake_expect(f, 2, MQTTSN_UNSUBACK);
	fake_call_none(f);
	/* the last holder leaves by a clean DISCONNECT */
	in_disconnect(f, 3, false, 0);
	(void)fake_expect(f, 3, MQTTSN_DISCONNECT);
	c = fake_call(f, B_UNSUB);
	assert_string_equal(c->topic, "st/+/cmd");
	fake_call_none(f);
	fake_free(f);
}

static void test_agg_fanout(void **state)
{
	struct fake *f = agg_new();
	struct fake_call *c;
	struct mqttsn_msg m, m2;
	int i;

	(void)state;
	agg_connect(f, 1, "a", true);
	agg_connect(f, 2, "b", true);
	agg_connect(f, 3, "c", true);
	in_subscribe(f, 1, 1, MQTTSN_TOPIC_NORMAL, 1, "all/#", 0);
	c = fake_call(f, B_SUB);
	gw_on_broker_subacked(f->gw, GW_CONN_AGGREGATE, c->token, 1, f->now);
	(void)agg_suback(f, 1);
	/* an exact filter and an overlapping wildcard for the same client */
	in_subscribe(f, 1, 0, MQTTSN_TOPIC_NORMAL, 2, "all/x", 0);
	c = fake_call(f, B_SUB);
	gw_on_broker_subacked(f->gw, GW_CONN_AGGREGATE, c->token, 0, f->now);
	(void)agg_suback(f, 1);
	in_subscribe(f, 2, 0, MQTTSN_TOPIC_NORMAL, 1, "all/x", 0);
	fake_call_none(f);
	(void)agg_suback(f, 2);

	fake_broker_msg(f, GW_CONN_AGGREGATE, "all/x", "hi", 1);
	/* a: once, at the best of its matching subscriptions (QoS 1) */
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.qos, 1);
	assert_data(&m, "hi");
	/* b: QoS 0 */
	m2 = fake_expect(f, 2, MQTTSN_PUBLISH);
	assert_int_equal(m2.u.publish.flags.qos, 0);
	/* c subscribed to nothing */
	fake_expect_none(f);
	in_ack(f, 1, MQTTSN_PUBACK, 0, m.u.publish.msg_id, 0);
	/* a message for a wildcard only: a gets a REGISTER first */
	fake_broker_msg(f, GW_CONN_AGGREGATE, "all/y", "w", 0);
	m = fake_expect(f, 1, MQTTSN_REGISTER);
	fake_expect_none(f);
	fake_broker_msg(f, GW_CONN_AGGREGATE, "none", "w", 0);
	assert_int_equal(gw_stats_total(f->gw)->drop_no_subscription, 1);
	/* many messages, many clients: each client has its own queue */
	for (i = 0; i < 3; i++)
		fake_broker_msg(f, GW_CONN_AGGREGATE, "all/x", "n", 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(fake_expect(f, 2, MQTTSN_PUBLISH).u.publish.flags.qos, 0);
	assert_int_equal(fake_client_stats(f, "b").broker_msgs, 4);
	fake_free(f);
}

static void test_agg_publish_acks_route_back(void **state)
{
	struct fake *f = agg_new();
	struct fake_call *ca, *cb;
	struct mqttsn_msg m;
	uint16_t ida, idb;

	(void)state;
	agg_connect(f, 1, "a", true);
	agg_connect(f, 2, "b", true);
	ida = fake_register(f, 1, 1, "a/t");
	idb = fake_register(f, 2, 1, "b/t");
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, ida, 5, "x", false);
	ca = fake_call(f, B_PUB);
	in_publish(f, 2, 2, MQTTSN_TOPIC_NORMAL, idb, 5, "y", false);
	cb = fake_call(f, B_PUB);
	assert_int_equal(ca->conn, GW_CONN_AGGREGATE);
	assert_int_equal(cb->conn, GW_CONN_AGGREGATE);
	assert_string_equal(cb->topic, "b/t");
	/* acks in the other order, each to its own client */
	gw_on_broker_acked(f->gw, GW_CONN_AGGREGATE, cb->token, f->now);
	assert_int_equal(fake_expect(f, 2, MQTTSN_PUBREC).u.msg_id, 5);
	gw_on_broker_acked(f->gw, GW_CONN_AGGREGATE, ca->token, f->now);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.topic_id, ida);
	fake_free(f);
}

static void test_agg_will_and_loss(void **state)
{
	struct fake *f = agg_new();
	struct fake_call *c;
	struct mqttsn_msg m;

	(void)state;
	in_connect(f, 1, "w", 10, true, true);
	(void)fake_expect(f, 1, MQTTSN_WILLTOPICREQ);
	m = fake_msg(MQTTSN_WILLTOPIC);
	m.u.willtopic.flags.qos = 1;
	m.u.willtopic.flags.retain = true;
	m.u.willtopic.topic = fake_str("w/state");
	fake_in(f, 1, &m);
	(void)fake_expect(f, 1, MQTTSN_WILLMSGREQ);
	m = fake_msg(MQTTSN_WILLMSG);
	m.u.willmsg.msg = fake_str("dead");
	fake_in(f, 1, &m);
	fake_call_none(f);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, 0);
	/* silent past 15 s: the core publishes the Will itself */
	fake_advance(f, 15000);
	c = fake_call(f, B_PUB);
	assert_int_equal(c->conn, GW_CONN_AGGREGATE);
	assert_string_equal(c->topic, "w/state");
	assert_memory_equal(c->payload, "dead", 4);
	assert_int_equal(c->qos, 1);
	assert_true(c->retain);
	fake_call_none(f); /* there is no per-client connection to close */
	assert_int_equal(gw_stats_total(f->gw)->wills, 1);
	fake_free(f);
}

static void test_agg_broker_down(void **state)
{
	struct fake *f = agg_new();
	struct fake_call *c, *pub;
	struct mqttsn_msg m;
	uint16_t id;

	(void)state;
	agg_connect(f, 1, "a", true);
	in_subscribe(f, 1, 1, MQTTSN_TOPIC_NORMAL, 1, "x/#", 0);
	c = fake_call(f, B_SUB);
	gw_on_broker_subacked(f->gw, GW_CONN_AGGREGATE, c->token, 1, f->now);
	(void)agg_suback(f, 1);
	id = fake_register(f, 1, 2, "t");
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 3, "p", false);
	pub = fake_call(f, B_PUB);
	/* a waiting SUBSCRIBE too */
	in_subscribe(f, 1, 1, MQTTSN_TOPIC_NORMAL, 4, "y", 0);
	(void)fake_call(f, B_SUB);

	/* the daemon finishes the publish after reconnecting: it stays pending,
	 * the SUBSCRIBE is not carried over the drop */
	gw_on_broker_disconnected(f->gw, GW_CONN_AGGREGATE, f->now);
	m = fake_expect(f, 1, MQTTSN_SUBACK);
	assert_int_equal(m.u.suback.msg_id, 4);
	assert_int_equal(m.u.suback.rc, MQTTSN_RC_CONGESTION);
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 5, "p", false);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBACK).u.puback.rc, MQTTSN_RC_CONGESTION);
	in_connect(f, 2, "b", 60, true, false);
	fake_expect_rc(f, 2, MQTTSN_CONNACK, MQTTSN_RC_CONGESTION);
	fake_call_none(f);

	/* back: the broker forgot the subscriptions of a clean connection */
	gw_on_broker_connected(f->gw, GW_CONN_AGGREGATE, 0, f->now);
	c = fake_call(f, B_SUB);
	assert_string_equal(c->topic, "x/#");
	assert_int_equal(c->qos, 1);
	fake_call_none(f);
	gw_on_broker_subacked(f->gw, GW_CONN_AGGREGATE, c->token, 1, f->now);
	fake_expect_none(f); /* nobody waits for that SUBACK */
	/* the publish taken before the drop, acked under its token */
	gw_on_broker_acked(f->gw, GW_CONN_AGGREGATE, pub->token, f->now);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.msg_id, 3);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_ACCEPTED);
	fake_broker_msg(f, GW_CONN_AGGREGATE, "x/1", "again", 0);
	(void)fake_expect(f, 1, MQTTSN_REGISTER);
	fake_free(f);
}

static void test_agg_persistent_session_keeps_messages(void **state)
{
	struct fake *f = agg_new();
	struct fake_call *c;
	struct mqttsn_msg m;

	(void)state;
	agg_connect(f, 1, "p", false);
	in_subscribe(f, 1, 1, MQTTSN_TOPIC_NORMAL, 1, "p/cmd", 0);
	c = fake_call(f, B_SUB);
	gw_on_broker_subacked(f->gw, GW_CONN_AGGREGATE, c->token, 1, f->now);
	(void)agg_suback(f, 1);
	in_disconnect(f, 1, false, 0);
	(void)fake_expect(f, 1, MQTTSN_DISCONNECT);
	fake_call_none(f); /* the subscription stays counted */
	fake_broker_msg(f, GW_CONN_AGGREGATE, "p/cmd", "q1", 1);
	fake_broker_msg(f, GW_CONN_AGGREGATE, "p/cmd", "q0", 0);
	fake_expect_none(f);
	agg_connect(f, 1, "p", false);
	/* 6.5: REGISTER again after the reconnect, then the kept QoS 1 message */
	m = fake_expect(f, 1, MQTTSN_REGISTER);
	in_ack(f, 1, MQTTSN_REGACK, m.u.reg.topic_id, m.u.reg.msg_id, 0);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "q1");
	fake_free(f);
}

/*
 * The shared connection's subscriptions are the core's own (it opens the
 * connection clean), so routing stays by filter: after a restart a
 * persistent client that does not subscribe again gets nothing, and its
 * UNSUBSCRIBE of a filter the core never had reaches no broker.
 */
static void test_agg_routes_by_filter_only(void **state)
{
	struct fake *f = agg_new();
	struct fake_call *c;
	struct mqttsn_msg m;

	(void)state;
	agg_connect(f, 1, "p", false);
	fake_broker_msg(f, GW_CONN_AGGREGATE, "p/cmd", "stray", 1);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_no_subscription, 1);
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 1, "p/#", 0);
	fake_call_none(f);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 1);
	/* subscribed again: delivered at the granted QoS, not the message's */
	in_subscribe(f, 1, 0, MQTTSN_TOPIC_NORMAL, 2, "p/cmd", 0);
	c = fake_call(f, B_SUB);
	gw_on_broker_subacked(f->gw, GW_CONN_AGGREGATE, c->token, 0, f->now);
	(void)agg_suback(f, 1);
	fake_broker_msg(f, GW_CONN_AGGREGATE, "p/cmd", "ok", 1);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.qos, 0);
	assert_data(&m, "ok");
	fake_free(f);
}

/* Hundreds of tokens on the one connection, acked out of order. */
static void test_agg_many_tokens(void **state)
{
	struct fake *f = agg_new();
	uint32_t tokens[200];
	uint8_t owner[200];
	uint16_t mids[200];
	char id[16];
	int i, k, n = 0;

	(void)state;
	for (i = 0; i < 40; i++) {
		snprintf(id, sizeof id, "c%d", i);
		agg_connect(f, (uint8_t)(i + 1), id, true);
		(void)fake_register(f, (uint8_t)(i + 1), 1, "t");
	}
	for (k = 0; k < 5; k++)
		for (i = 0; i < 40; i++) {
			in_publish(f, (uint8_t)(i + 1), 1, MQTTSN_TOPIC_NORMAL, 1,
			           (uint16_t)(100 + k), "x", false);
			tokens[n] = fake_call(f, B_PUB)->token;
			owner[n] = (uint8_t)(i + 1);
			mids[n] = (uint16_t)(100 + k);
			n++;
		}
	fake_expect_none(f);
	/* a permutation: 7 is coprime with 200 */
	for (i = 0; i < n; i++) {
		int j = (i * 7 + 3) % n;
		struct mqttsn_msg m;

		gw_on_broker_acked(f->gw, GW_CONN_AGGREGATE, tokens[j], f->now);
		m = fake_expect(f, owner[j], MQTTSN_PUBACK);
		assert_int_equal(m.u.puback.msg_id, mids[j]);
		assert_int_equal(m.u.puback.rc, MQTTSN_RC_ACCEPTED);
		/* the same token again is a no-op */
		gw_on_broker_acked(f->gw, GW_CONN_AGGREGATE, tokens[j], f->now);
		fake_expect_none(f);
	}
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agg_connect),
		cmocka_unit_test(test_agg_shared_client_id),
		cmocka_unit_test(test_agg_subscription_refcount),
		cmocka_unit_test(test_agg_fanout),
		cmocka_unit_test(test_agg_publish_acks_route_back),
		cmocka_unit_test(test_agg_will_and_loss),
		cmocka_unit_test(test_agg_broker_down),
		cmocka_unit_test(test_agg_persistent_session_keeps_messages),
		cmocka_unit_test(test_agg_routes_by_filter_only),
		cmocka_unit_test(test_agg_many_tokens),
	};

	return cmocka_run_group_tests_name("gw_agg", tests, NULL, NULL);
}
