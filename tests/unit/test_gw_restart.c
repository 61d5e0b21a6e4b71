/*
 * test_gw_restart.c - transparent sessions the core did not make: after a
 * bridge restart the broker keeps a CleanSession=0 session with its
 * subscriptions and queued messages, and the new core knows none of them.
 * What the broker sends on the client's connection is delivered (REGISTER
 * first, 6.5) at the broker's QoS; UNSUBSCRIBE reaches the broker even when
 * the core has no subscription, or the broker is down at the time (6.10).
 * Each test starts from a fresh core, which is what a restart leaves.
 */
#include "tests/unit/test_gw_fake.h"

/* A PUBLISH of data on topic_id at qos; returns it. */
static struct mqttsn_msg expect_publish(struct fake *f, uint8_t to, uint16_t topic_id, int qos,
                                        const char *data)
{
	struct mqttsn_msg m = fake_expect(f, to, MQTTSN_PUBLISH);

	assert_int_equal(m.u.publish.flags.topic_id_type, MQTTSN_TOPIC_NORMAL);
	assert_int_equal(m.u.publish.topic_id, topic_id);
	assert_int_equal(m.u.publish.flags.qos, qos);
	assert_data(&m, data);
	return m;
}

/* The gateway REGISTERs name; the client accepts. Returns the topic id. */
static uint16_t expect_register(struct fake *f, uint8_t to, const char *name)
{
	struct mqttsn_msg m = fake_expect(f, to, MQTTSN_REGISTER);

	assert_int_equal(m.u.reg.topic_name.len, strlen(name));
	assert_memory_equal(m.u.reg.topic_name.ptr, name, strlen(name));
	assert_int_not_equal(m.u.reg.topic_id, 0);
	in_ack(f, to, MQTTSN_REGACK, m.u.reg.topic_id, m.u.reg.msg_id, MQTTSN_RC_ACCEPTED);
	return m.u.reg.topic_id;
}

/* ---------------------------------------------------------------- delivery */

static void test_kept_session_delivers_without_subscription(void **state)
{
	struct fake *f = fake_new();
	const struct gw_stats *st = gw_stats_total(f->gw);
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	/* the station reconnects to the new core without CleanSession and does
	 * not subscribe again (6.3: its subscriptions are kept) */
	conn = fake_connect(f, 1, "ops", 600, false);
	/* the broker hands over what it queued for the session at once */
	fake_broker_msg(f, conn, "stations/mast/weather", "q1", 1);
	fake_broker_msg(f, conn, "stations/mast/weather", "q2", 1);
	fake_broker_msg(f, conn, "stations/buoy/weather", "q3", 1);
	id = expect_register(f, 1, "stations/mast/weather");
	m = expect_publish(f, 1, id, 1, "q1");
	assert_false(m.u.publish.flags.dup);
	assert_int_not_equal(m.u.publish.msg_id, 0);
	fake_expect_none(f); /* one QoS 1 in flight (6.6) */
	in_ack(f, 1, MQTTSN_PUBACK, id, m.u.publish.msg_id, MQTTSN_RC_ACCEPTED);
	m = expect_publish(f, 1, id, 1, "q2");
	in_ack(f, 1, MQTTSN_PUBACK, id, m.u.publish.msg_id, MQTTSN_RC_ACCEPTED);
	/* another topic: its own REGISTER */
	id = expect_register(f, 1, "stations/buoy/weather");
	m = expect_publish(f, 1, id, 1, "q3");
	in_ack(f, 1, MQTTSN_PUBACK, id, m.u.publish.msg_id, MQTTSN_RC_ACCEPTED);
	fake_expect_none(f);
	fake_call_none(f);
	assert_int_equal(st->drop_no_subscription, 0);
	assert_int_equal(st->pub_down, 3);
	assert_int_equal(st->broker_msgs, 3);
	fake_free(f);
}

static void test_kept_session_qos_is_the_brokers(void **state)
{
	static const int qos[] = {0, 1, 2};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof qos / sizeof qos[0]; i++) {
		struct fake *f = fake_new();
		uint32_t conn = fake_connect(f, 1, "ops", 600, false);
		struct mqttsn_msg m;
		uint16_t id;

		fake_broker_msg(f, conn, "cmd/ops", "go", qos[i]);
		id = expect_register(f, 1, "cmd/ops");
		m = expect_publish(f, 1, id, qos[i], "go");
		if (qos[i] == 2) {
			in_msg_id(f, 1, MQTTSN_PUBREC, m.u.publish.msg_id);
			assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREL).u.msg_id, m.u.publish.msg_id);
			in_msg_id(f, 1, MQTTSN_PUBCOMP, m.u.publish.msg_id);
		} else if (qos[i] == 1) {
			in_ack(f, 1, MQTTSN_PUBACK, id, m.u.publish.msg_id, MQTTSN_RC_ACCEPTED);
		}
		fake_expect_none(f);
		fake_free(f);
	}
}

static void test_qos_cap_needs_every_subscription(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	/* after the restart the station subscribes to one topic at QoS 0; its
	 * session also holds "cmd/#" at QoS 1 from before, which the broker
	 * honours: the core's grant must not lower what the broker sent */
	conn = fake_connect(f, 1, "ops", 600, false);
	id = fake_subscribe_ok(f, 1, conn, "cmd/ops", 0, 0, 1).u.suback.topic_id;
	fake_broker_msg(f, conn, "cmd/ops", "a", 1);
	(void)expect_publish(f, 1, id, 1, "a");
	fake_free(f);

	/* a session that began clean under this core: every subscription went
	 * through it, and the grant it knows caps a broker that sends more */
	f = fake_new();
	conn = fake_connect(f, 1, "ops", 600, true);
	id = fake_subscribe_ok(f, 1, conn, "cmd/ops", 0, 0, 1).u.suback.topic_id;
	fake_broker_msg(f, conn, "cmd/ops", "a", 1);
	(void)expect_publish(f, 1, id, 0, "a");
	/* a Will update reopens the connection at once (gw.h): the core still
	 * made every subscription, and makes them again on the clean one */
	m = fake_msg(MQTTSN_WILLTOPICUPD);
	m.u.willtopic.topic = fake_str("will/ops");
	fake_in(f, 1, &m);
	fake_expect_rc(f, 1, MQTTSN_WILLTOPICRESP, MQTTSN_RC_ACCEPTED);
	assert_int_equal(fake_call(f, B_CLOSE)->conn, conn);
	conn = fake_call(f, B_OPEN)->conn;
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	c = fake_call(f, B_SUB);
	gw_on_broker_subacked(f->gw, conn, c->token, 0, f->now);
	fake_broker_msg(f, conn, "cmd/ops", "b", 1);
	(void)expect_publish(f, 1, id, 0, "b");
	fake_free(f);
}

/* ---------------------------------------------------------------- sleeping */

static void test_kept_session_asleep_buffers(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	/* the station slept through the restart: its first PINGREQ finds no
	 * session and is told to connect again */
	in_pingreq(f, 1, "sleepy");
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	conn = fake_connect(f, 1, "sleepy", 600, false);
	/* and goes back to sleep before the broker's backlog arrives */
	in_disconnect(f, 1, true, 3600);
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	assert_int_equal(fake_state(f, "sleepy"), GW_STATE_ASLEEP);
	fake_broker_msg(f, conn, "cmd/sleepy", "m1", 1);
	fake_broker_msg(f, conn, "cmd/sleepy", "m0", 0);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_no_subscription, 0);

	/* 6.14: buffered for the wake-up, REGISTER first, then PINGRESP */
	f->now += 1000000;
	in_pingreq(f, 1, "sleepy");
	id = expect_register(f, 1, "cmd/sleepy");
	m = expect_publish(f, 1, id, 1, "m1");
	in_ack(f, 1, MQTTSN_PUBACK, id, m.u.publish.msg_id, MQTTSN_RC_ACCEPTED);
	(void)expect_publish(f, 1, id, 0, "m0");
	fake_expect(f, 1, MQTTSN_PINGRESP);
	assert_int_equal(fake_state(f, "sleepy"), GW_STATE_ASLEEP);
	fake_free(f);
}

/* ---------------------------------------------------------------- UNSUBSCRIBE */

static void test_unsubscribe_unknown_filter_reaches_broker(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	uint32_t conn;
	uint16_t id;

	(void)state;
	/* the subscription was made before the restart: only the broker has it */
	conn = fake_connect(f, 1, "ops", 600, false);
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 4, "stations/+/weather", 0);
	c = fake_call(f, B_UNSUB);
	assert_int_equal(c->conn, conn);
	assert_int_equal(c->topic_len, 18);
	fake_expect_none(f);
	/* what the broker sends before it confirms is dropped and counted */
	fake_broker_msg(f, conn, "stations/mast/weather", "x", 1);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_no_subscription, 1);
	gw_on_broker_unsubacked(f->gw, conn, c->token, f->now);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 4);
	/* after that the broker's word stands again */
	fake_broker_msg(f, conn, "stations/mast/weather", "y", 1);
	id = expect_register(f, 1, "stations/mast/weather");
	(void)expect_publish(f, 1, id, 1, "y");
	fake_free(f);
}

static void test_unsubscribe_while_broker_down(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "ops", 600, false);
	(void)fake_subscribe_ok(f, 1, conn, "a/+", 1, 1, 1);
	id = fake_subscribe_ok(f, 1, conn, "keep", 1, 1, 2).u.suback.topic_id;
	gw_on_broker_disconnected(f->gw, conn, f->now);
	/* UNSUBACK has no return code: answered now, the broker told later */
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 3, "a/+", 0);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 3);
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 4, "old/#", 0);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 4);
	fake_call_none(f);
	/* the daemon reconnects without CleanSession: the broker's session still
	 * has both filters, so both UNSUBSCRIBEs go out and nothing is
	 * subscribed again */
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	c = fake_call(f, B_UNSUB);
	assert_memory_equal(c->topic, "a/+", 3);
	assert_memory_equal(fake_call(f, B_UNSUB)->topic, "old/#", 5);
	fake_call_none(f);
	/* messages queued on those filters are not the client's any more */
	fake_broker_msg(f, conn, "a/b", "gone", 1);
	fake_broker_msg(f, conn, "old/x", "gone", 1);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_no_subscription, 2);
	/* the one it kept still arrives (SUBACK told it the topic id) */
	fake_broker_msg(f, conn, "keep", "k", 1);
	m = expect_publish(f, 1, id, 1, "k");
	in_ack(f, 1, MQTTSN_PUBACK, id, m.u.publish.msg_id, MQTTSN_RC_ACCEPTED);
	/* the broker's confirmation: the client was answered long ago */
	gw_on_broker_unsubacked(f->gw, conn, c->token, f->now);
	fake_expect_none(f);
	fake_free(f);
}

static void test_unsubscribe_pending_across_reconnect(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "ops", 600, false);
	(void)fake_subscribe_ok(f, 1, conn, "a/+", 1, 1, 1);
	/* sent, but the connection drops before the broker answers */
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 2, "a/+", 0);
	(void)fake_call(f, B_UNSUB);
	gw_on_broker_disconnected(f->gw, conn, f->now);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 2);
	/* the client leaves; the broker's session stays */
	in_disconnect(f, 1, false, 0);
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	(void)fake_call(f, B_CLOSE);
	/* and comes back without CleanSession: the UNSUBSCRIBE goes out again */
	in_connect(f, 1, "ops", 600, false, false);
	c = fake_call(f, B_OPEN);
	assert_false(c->clean);
	conn = c->conn;
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	c = fake_call(f, B_UNSUB);
	assert_int_equal(c->conn, conn);
	assert_memory_equal(c->topic, "a/+", 3);
	fake_broker_msg(f, conn, "a/b", "gone", 1);
	fake_expect_none(f);
	/* subscribing again before the broker confirms wants the filter back:
	 * the broker gets UNSUBSCRIBE then SUBSCRIBE, in that order */
	in_subscribe(f, 1, 1, MQTTSN_TOPIC_NORMAL, 3, "a/+", 0);
	c = fake_call(f, B_SUB);
	fake_broker_msg(f, conn, "a/b", "back", 1);
	id = expect_register(f, 1, "a/b");
	(void)expect_publish(f, 1, id, 1, "back");
	gw_on_broker_subacked(f->gw, conn, c->token, 1, f->now);
	assert_int_equal(fake_expect(f, 1, MQTTSN_SUBACK).u.suback.msg_id, 3);
	fake_free(f);
}

static void test_unsubscribe_down_clean_session(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	uint32_t conn;

	(void)state;
	conn = fake_connect(f, 1, "c", 600, true);
	(void)fake_subscribe_ok(f, 1, conn, "a/+", 1, 1, 1);
	(void)fake_subscribe_ok(f, 1, conn, "b", 1, 1, 2);
	gw_on_broker_disconnected(f->gw, conn, f->now);
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 3, "a/+", 0);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 3);
	/* reopened clean, the broker forgot everything: "b" is subscribed
	 * again, "a/+" is neither subscribed nor unsubscribed */
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	c = fake_call(f, B_SUB);
	assert_int_equal(c->topic_len, 1);
	assert_memory_equal(c->topic, "b", 1);
	fake_call_none(f);
	fake_free(f);
}

static void one_subscription(struct gw_config *c)
{
	fake_cfg(c);
	c->max_subscriptions = 1;
}

static void test_unsubscribe_pending_limit(void **state)
{
	struct gw_config cfg;
	struct fake *f;
	uint32_t conn;

	(void)state;
	one_subscription(&cfg);
	f = fake_new_cfg(&cfg);
	conn = fake_connect(f, 1, "ops", 600, false);
	gw_on_broker_disconnected(f->gw, conn, f->now);
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 1, "x", 0);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 1);
	/* the same filter again takes no more room */
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 2, "x", 0);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 2);
	assert_int_equal(gw_stats_total(f->gw)->drop_subscriptions, 0);
	/* a second one over the limit: answered, counted, not kept */
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 3, "y", 0);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 3);
	assert_int_equal(gw_stats_total(f->gw)->drop_subscriptions, 1);
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	assert_memory_equal(fake_call(f, B_UNSUB)->topic, "x", 1);
	fake_call_none(f);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_session_delivers_without_subscription),
		cmocka_unit_test(test_kept_session_qos_is_the_brokers),
		cmocka_unit_test(test_qos_cap_needs_every_subscription),
		cmocka_unit_test(test_kept_session_asleep_buffers),
		cmocka_unit_test(test_unsubscribe_unknown_filter_reaches_broker),
		cmocka_unit_test(test_unsubscribe_while_broker_down),
		cmocka_unit_test(test_unsubscribe_pending_across_reconnect),
		cmocka_unit_test(test_unsubscribe_down_clean_session),
		cmocka_unit_test(test_unsubscribe_pending_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
