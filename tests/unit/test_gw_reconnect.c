/*
 * test_gw_reconnect.c - client publishes across a drop of the broker
 * connection (gw.h's broker contract): the daemon's MQTT client keeps what
 * it took and finishes it after reconnecting, under the same token, so the
 * core answers no congestion for it, publishes no retransmission of it,
 * and sends the one PUBACK or PUBREC when the ack comes. Only broker_close
 * ends it. Virtual time throughout.
 */
#include "tests/unit/test_gw_fake.h"

/* A QoS 1/2 PUBLISH that must reach the broker: its broker call. */
static struct fake_call *pub_taken(struct fake *f, int qos, uint16_t topic_id, uint16_t msg_id)
{
	struct fake_call *c;

	in_publish(f, 1, qos, MQTTSN_TOPIC_NORMAL, topic_id, msg_id, "m", false);
	c = fake_call(f, B_PUB);
	assert_int_equal(c->qos, qos);
	fake_expect_none(f);
	return c;
}

/* A retransmission (DUP) that must not reach the broker nor be answered. */
static void dup_ignored(struct fake *f, int qos, uint16_t topic_id, uint16_t msg_id)
{
	in_publish(f, 1, qos, MQTTSN_TOPIC_NORMAL, topic_id, msg_id, "m", true);
	fake_call_none(f);
	fake_expect_none(f);
}

static void test_qos1_pending_across_drop(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_register(f, 1, 1, "t");
	c = pub_taken(f, 1, id, 7);

	/* the drop: no congestion, the daemon still has the message */
	gw_on_broker_disconnected(f->gw, conn, f->now);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_congestion, 0);
	fake_advance(f, 5000);
	dup_ignored(f, 1, id, 7);

	/* a new one while down: congestion, nothing toward the broker */
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 8, "n", false);
	fake_call_none(f);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.msg_id, 8);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_CONGESTION);

	/* back up: still one publish, acked once */
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	fake_expect_none(f);
	dup_ignored(f, 1, id, 7);
	gw_on_broker_acked(f->gw, conn, c->token, f->now);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.msg_id, 7);
	assert_int_equal(m.u.puback.topic_id, id);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_ACCEPTED);
	fake_expect_none(f);
	/* a second ack of the token is not a second PUBACK */
	gw_on_broker_acked(f->gw, conn, c->token, f->now);
	fake_expect_none(f);
	/* the msg id is free again: a new message under it goes to the broker */
	(void)pub_taken(f, 1, id, 7);
	fake_free(f);
}

static void test_qos2_pending_across_drop(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, false);
	id = fake_register(f, 1, 1, "t");
	c = pub_taken(f, 2, id, 9);

	gw_on_broker_disconnected(f->gw, conn, f->now);
	fake_expect_none(f);
	dup_ignored(f, 2, id, 9);
	/* a PUBREL before our PUBREC is still premature */
	in_msg_id(f, 1, MQTTSN_PUBREL, 9);
	fake_expect_none(f);

	/* the daemon reconnects, resends (PUBLISH DUP or PUBREL) and reports
	 * the PUBCOMP under the same token: one PUBREC */
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	fake_expect_none(f);
	gw_on_broker_acked(f->gw, conn, c->token, f->now);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREC).u.msg_id, 9);
	fake_expect_none(f);
	/* its PUBREC lost: a retransmission gets it again, not a publish */
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 9, "m", true);
	fake_call_none(f);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREC).u.msg_id, 9);
	in_msg_id(f, 1, MQTTSN_PUBREL, 9);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBCOMP).u.msg_id, 9);
	fake_expect_none(f);
	fake_free(f);
}

/* A QoS 2 message PUBRECed before the drop is the broker's: PUBREL completes it. */
static void test_qos2_received_survives_drop(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_register(f, 1, 1, "t");
	c = pub_taken(f, 2, id, 3);
	gw_on_broker_acked(f->gw, conn, c->token, f->now);
	(void)fake_expect(f, 1, MQTTSN_PUBREC);
	gw_on_broker_disconnected(f->gw, conn, f->now);
	fake_expect_none(f);
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 3, "m", true);
	fake_call_none(f);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREC).u.msg_id, 3);
	in_msg_id(f, 1, MQTTSN_PUBREL, 3);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBCOMP).u.msg_id, 3);
	fake_free(f);
}

/* A reconnect the broker refuses is still a drop the daemon repairs. */
static void test_refused_reconnect_keeps_pending(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_register(f, 1, 1, "t");
	c = pub_taken(f, 1, id, 4);
	gw_on_broker_disconnected(f->gw, conn, f->now);
	gw_on_broker_connected(f->gw, conn, 5, f->now);
	fake_expect_none(f);
	fake_call_none(f);
	dup_ignored(f, 1, id, 4);
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	gw_on_broker_acked(f->gw, conn, c->token, f->now);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.msg_id, 4);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_ACCEPTED);
	fake_free(f);
}

/* Pending entries still count against max_inflight while the connection is down. */
static void test_pending_bounded(void **state)
{
	struct gw_config cfg;
	struct fake *f;
	struct fake_call *c1, *c2;
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	fake_cfg(&cfg);
	cfg.max_inflight = 2;
	f = fake_new_cfg(&cfg);
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_register(f, 1, 1, "t");
	c1 = pub_taken(f, 1, id, 1);
	c2 = pub_taken(f, 2, id, 2);
	gw_on_broker_disconnected(f->gw, conn, f->now);
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	fake_expect_none(f);
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 3, "m", false);
	fake_call_none(f);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_CONGESTION);
	assert_int_equal(gw_stats_total(f->gw)->drop_inflight, 1);
	gw_on_broker_acked(f->gw, conn, c1->token, f->now);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBACK).u.puback.rc, MQTTSN_RC_ACCEPTED);
	gw_on_broker_acked(f->gw, conn, c2->token, f->now);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREC).u.msg_id, 2);
	(void)pub_taken(f, 1, id, 3);
	fake_free(f);
}

/* broker_close ends them: a DISCONNECT from the client, then a late ack. */
static void test_close_clears_pending(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c1, *c2;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, false);
	id = fake_register(f, 1, 1, "t");
	c1 = pub_taken(f, 1, id, 1);
	c2 = pub_taken(f, 2, id, 2);
	gw_on_broker_disconnected(f->gw, conn, f->now);
	in_disconnect(f, 1, false, 0);
	(void)fake_expect(f, 1, MQTTSN_DISCONNECT);
	assert_int_equal(fake_call(f, B_CLOSE)->conn, conn);
	/* nobody listens: no congestion answers, and the late acks are ignored */
	fake_expect_none(f);
	gw_on_broker_acked(f->gw, conn, c1->token, f->now);
	gw_on_broker_acked(f->gw, conn, c2->token, f->now);
	fake_expect_none(f);

	/* connected again on a new connection: the ids are free */
	conn = fake_connect(f, 1, "c", 60, false);
	id = fake_register(f, 1, 3, "t");
	c1 = pub_taken(f, 1, id, 1);
	gw_on_broker_acked(f->gw, conn, c1->token, f->now);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBACK).u.puback.msg_id, 1);
	fake_free(f);
}

/* broker_close while the client listens (a Will update): congestion, once. */
static void test_close_while_listening(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	struct mqttsn_msg m, wu;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_register(f, 1, 1, "t");
	c = pub_taken(f, 1, id, 6);
	gw_on_broker_disconnected(f->gw, conn, f->now);
	fake_expect_none(f);
	wu = fake_msg(MQTTSN_WILLTOPICUPD);
	wu.u.willtopic.topic = fake_str("will/c");
	fake_in(f, 1, &wu);
	assert_int_equal(fake_call(f, B_CLOSE)->conn, conn);
	(void)fake_call(f, B_OPEN);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.msg_id, 6);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_CONGESTION);
	(void)fake_expect(f, 1, MQTTSN_WILLTOPICRESP);
	gw_on_broker_acked(f->gw, conn, c->token, f->now);
	fake_expect_none(f);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qos1_pending_across_drop),
		cmocka_unit_test(test_qos2_pending_across_drop),
		cmocka_unit_test(test_qos2_received_survives_drop),
		cmocka_unit_test(test_refused_reconnect_keeps_pending),
		cmocka_unit_test(test_pending_bounded),
		cmocka_unit_test(test_close_clears_pending),
		cmocka_unit_test(test_close_while_listening),
	};

	return cmocka_run_group_tests_name("gw_reconnect", tests, NULL, NULL);
}
