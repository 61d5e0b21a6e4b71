/*
 * test_gw.c - the gateway core: connect and Will (6.3, 6.4), register
 * (6.5), publish QoS 0/1 toward the broker (6.6), subscribe (6.9, 6.10),
 * ping and disconnect, address takeover, malformed input, discovery (6.1,
 * 6.2) and forwarder encapsulation (5.5). Virtual time throughout.
 */
#include "tests/unit/test_gw_fake.h"

/* ---------------------------------------------------------------- connect */

static void test_connect_plain(void **state)
{
	struct fake *f = fake_new();
	struct gw_stats st;

	(void)state;
	fake_connect(f, 1, "station-1", 60, true);
	assert_int_equal(fake_state(f, "station-1"), GW_STATE_ACTIVE);
	assert_int_equal(gw_clients_in_state(f->gw, GW_STATE_ACTIVE), 1);
	st = fake_client_stats(f, "station-1");
	assert_int_equal(st.connects, 1);
	assert_int_equal(st.msgs_in, 1);
	assert_int_equal(st.msgs_out, 1);
	assert_int_equal(st.bytes_out, 3);
	fake_free(f);
}

static void test_connect_broker_refused(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;

	(void)state;
	in_connect(f, 1, "c", 60, true, false);
	c = fake_call(f, B_OPEN);
	gw_on_broker_connected(f->gw, c->conn, 5, f->now);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, MQTTSN_RC_CONGESTION);
	assert_int_equal(fake_call(f, B_CLOSE)->conn, c->conn);
	assert_false(gw_client_find(f->gw, "c", NULL, NULL));
	assert_int_equal(gw_stats_total(f->gw)->drop_congestion, 1);
	fake_free(f);
}

static void test_connect_broker_unreachable(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;

	(void)state;
	/* broker_open itself fails */
	f->open_rc = -1;
	in_connect(f, 1, "a", 60, true, false);
	(void)fake_call(f, B_OPEN);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, MQTTSN_RC_CONGESTION);
	f->open_rc = 0;

	/* the connection drops before it was ever up */
	in_connect(f, 1, "a", 60, true, false);
	c = fake_call(f, B_OPEN);
	gw_on_broker_disconnected(f->gw, c->conn, f->now);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, MQTTSN_RC_CONGESTION);
	assert_int_equal(fake_call(f, B_CLOSE)->conn, c->conn);

	/* nothing ever comes back: connect_timeout_ms */
	in_connect(f, 1, "a", 60, true, false);
	c = fake_call(f, B_OPEN);
	fake_advance(f, f->cfg.connect_timeout_ms - 1);
	fake_expect_none(f);
	fake_advance(f, 1);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, MQTTSN_RC_CONGESTION);
	assert_int_equal(fake_call(f, B_CLOSE)->conn, c->conn);
	assert_false(gw_client_find(f->gw, "a", NULL, NULL));
	/* a late "connected" for the closed connection changes nothing */
	gw_on_broker_connected(f->gw, c->conn, 0, f->now);
	fake_expect_none(f);
	fake_free(f);
}

static void in_willtopic(struct fake *f, uint8_t from, enum mqttsn_type type, const char *topic,
                         int qos, bool retain)
{
	struct mqttsn_msg m = fake_msg(type);

	m.u.willtopic.flags.qos = qos;
	m.u.willtopic.flags.retain = retain;
	m.u.willtopic.topic = fake_str(topic);
	fake_in(f, from, &m);
}

static void in_willmsg(struct fake *f, uint8_t from, enum mqttsn_type type, const char *msg)
{
	struct mqttsn_msg m = fake_msg(type);

	m.u.willmsg.msg = fake_str(msg);
	fake_in(f, from, &m);
}

static uint32_t connect_with_will(struct fake *f, uint8_t from, const char *id, uint16_t ka,
                                  bool clean)
{
	struct fake_call *c;

	in_connect(f, from, id, ka, clean, true);
	fake_expect(f, from, MQTTSN_WILLTOPICREQ);
	in_willtopic(f, from, MQTTSN_WILLTOPIC, "will/t", 1, true);
	fake_expect(f, from, MQTTSN_WILLMSGREQ);
	in_willmsg(f, from, MQTTSN_WILLMSG, "gone");
	c = fake_call(f, B_OPEN);
	assert_true(c->has_will);
	assert_string_equal(c->will_topic, "will/t");
	assert_int_equal(c->will_len, 4);
	assert_memory_equal(c->will_payload, "gone", 4);
	assert_int_equal(c->will_qos, 1);
	assert_true(c->will_retain);
	fake_expect_none(f);
	gw_on_broker_connected(f->gw, c->conn, 0, f->now);
	fake_expect_rc(f, from, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	return c->conn;
}

static void test_connect_with_will(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;

	(void)state;
	connect_with_will(f, 1, "w1", 60, true);

	/* a CONNECT retransmitted during the exchange repeats our request */
	in_connect(f, 2, "w2", 60, true, true);
	fake_expect(f, 2, MQTTSN_WILLTOPICREQ);
	in_connect(f, 2, "w2", 60, true, true);
	fake_expect(f, 2, MQTTSN_WILLTOPICREQ);
	/* 5.4.7: an empty WILLTOPIC: no Will, no WILLMSGREQ */
	in_willtopic(f, 2, MQTTSN_WILLTOPIC, "", 0, false);
	c = fake_call(f, B_OPEN);
	assert_false(c->has_will);
	gw_on_broker_connected(f->gw, c->conn, 0, f->now);
	fake_expect_rc(f, 2, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);

	/* an invalid Will topic is refused */
	in_connect(f, 3, "w3", 60, true, true);
	fake_expect(f, 3, MQTTSN_WILLTOPICREQ);
	in_willtopic(f, 3, MQTTSN_WILLTOPIC, "a/#", 0, false);
	fake_expect_rc(f, 3, MQTTSN_CONNACK, MQTTSN_RC_NOT_SUPPORTED);
	fake_call_none(f);

	/* the client gives up with a DISCONNECT during the exchange */
	in_connect(f, 5, "w5", 60, true, true);
	fake_expect(f, 5, MQTTSN_WILLTOPICREQ);
	in_disconnect(f, 5, false, 0);
	fake_expect(f, 5, MQTTSN_DISCONNECT);
	fake_expect_none(f);
	assert_false(gw_client_find(f->gw, "w5", NULL, NULL));

	/* a WILLMSG nobody asked for */
	in_willmsg(f, 4, MQTTSN_WILLMSG, "x");
	fake_expect_none(f);
	assert_true(gw_stats_total(f->gw)->protocol_errors >= 1);
	fake_free(f);
}

static void test_will_updates(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	uint32_t conn, conn2, conn3;

	(void)state;
	conn = connect_with_will(f, 1, "w", 60, false);

	/* 6.4: a new Will topic; MQTT needs a new connection for it */
	in_willtopic(f, 1, MQTTSN_WILLTOPICUPD, "will/new", 2, false);
	c = fake_call(f, B_CLOSE);
	assert_int_equal(c->conn, conn);
	assert_false(c->fire_will);
	c = fake_call(f, B_OPEN);
	conn2 = c->conn;
	assert_int_not_equal(conn2, conn);
	assert_false(c->clean);
	assert_string_equal(c->will_topic, "will/new");
	assert_int_equal(c->will_qos, 2);
	assert_false(c->will_retain);
	assert_memory_equal(c->will_payload, "gone", 4);
	fake_expect_rc(f, 1, MQTTSN_WILLTOPICRESP, MQTTSN_RC_ACCEPTED);
	gw_on_broker_connected(f->gw, conn2, 0, f->now);
	fake_expect_none(f);

	in_willmsg(f, 1, MQTTSN_WILLMSGUPD, "really gone");
	(void)fake_call(f, B_CLOSE);
	c = fake_call(f, B_OPEN);
	conn3 = c->conn;
	assert_int_equal(c->will_len, 11);
	assert_memory_equal(c->will_payload, "really gone", 11);
	fake_expect_rc(f, 1, MQTTSN_WILLMSGRESP, MQTTSN_RC_ACCEPTED);
	gw_on_broker_connected(f->gw, conn3, 0, f->now);

	/* an empty WILLTOPICUPD deletes the Will */
	in_willtopic(f, 1, MQTTSN_WILLTOPICUPD, "", 0, false);
	(void)fake_call(f, B_CLOSE);
	c = fake_call(f, B_OPEN);
	assert_false(c->has_will);
	fake_expect_rc(f, 1, MQTTSN_WILLTOPICRESP, MQTTSN_RC_ACCEPTED);

	/* a WILLMSGUPD with no Will topic has nothing to update */
	in_willmsg(f, 1, MQTTSN_WILLMSGUPD, "x");
	fake_expect_rc(f, 1, MQTTSN_WILLMSGRESP, MQTTSN_RC_NOT_SUPPORTED);
	fake_free(f);
}

static void test_will_update_fails_inflight(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = connect_with_will(f, 1, "w", 60, true);
	id = fake_register(f, 1, 1, "t");
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 3, "x", false);
	(void)fake_call(f, B_PUB);
	/* the reopened connection will never ack it: the client hears so */
	in_willtopic(f, 1, MQTTSN_WILLTOPICUPD, "will/other", 0, false);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.msg_id, 3);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_CONGESTION);
	fake_expect_rc(f, 1, MQTTSN_WILLTOPICRESP, MQTTSN_RC_ACCEPTED);
	assert_int_equal(fake_call(f, B_CLOSE)->conn, conn);
	(void)fake_call(f, B_OPEN);
	fake_free(f);
}

/* ---------------------------------------------------------------- register, publish */

static void test_register_publish_qos0(void **state)
{
	struct fake *f = fake_new();
	uint32_t conn;
	uint16_t id, id2;
	struct fake_call *c;
	struct mqttsn_msg m;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_register(f, 1, 1, "sensors/temp");
	assert_int_equal(fake_register(f, 1, 2, "sensors/temp"), id);
	id2 = fake_register(f, 1, 3, "sensors/wind");
	assert_int_not_equal(id, id2);

	/* a wildcard cannot be registered */
	in_register(f, 1, 4, "sensors/+");
	m = fake_expect(f, 1, MQTTSN_REGACK);
	assert_int_equal(m.u.regack.rc, MQTTSN_RC_NOT_SUPPORTED);
	assert_int_equal(m.u.regack.msg_id, 4);

	in_publish(f, 1, 0, MQTTSN_TOPIC_NORMAL, id, 0, "21.5", false);
	c = fake_call(f, B_PUB);
	assert_int_equal(c->conn, conn);
	assert_int_equal(c->qos, 0);
	assert_int_equal(c->topic_len, 12);
	assert_memory_equal(c->topic, "sensors/temp", 12);
	assert_int_equal(c->len, 4);
	assert_memory_equal(c->payload, "21.5", 4);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->pub_up, 1);
	fake_free(f);
}

static void test_publish_qos1_acked_after_broker(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	struct mqttsn_msg m;
	uint16_t id;

	(void)state;
	fake_connect(f, 1, "c", 60, true);
	id = fake_register(f, 1, 1, "t");
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 77, "x", false);
	c = fake_call(f, B_PUB);
	assert_int_equal(c->qos, 1);
	/* no PUBACK before the broker has it */
	fake_expect_none(f);
	/* the client's retransmission does not publish twice */
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 77, "x", true);
	fake_call_none(f);
	fake_expect_none(f);
	/* an unknown token changes nothing */
	gw_on_broker_acked(f->gw, c->conn, c->token + 100, f->now);
	fake_expect_none(f);
	gw_on_broker_acked(f->gw, c->conn, c->token, f->now);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.topic_id, id);
	assert_int_equal(m.u.puback.msg_id, 77);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_ACCEPTED);
	/* a duplicate ack is ignored */
	gw_on_broker_acked(f->gw, c->conn, c->token, f->now);
	fake_expect_none(f);
	fake_free(f);
}

static void test_publish_refusals(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	id = fake_register(f, 1, 1, "t");

	/* unknown topic id: PUBACK invalid topic id, also at QoS 0 */
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, 999, 5, "x", false);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_INVALID_TOPIC_ID);
	assert_int_equal(m.u.puback.topic_id, 999);
	assert_int_equal(m.u.puback.msg_id, 5);
	in_publish(f, 1, 0, MQTTSN_TOPIC_NORMAL, 999, 0, "x", false);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_INVALID_TOPIC_ID);
	fake_call_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_invalid_topic, 2);

	/* the broker (or the daemon's queue) refuses: congestion */
	f->pub_rc = -1;
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 6, "x", false);
	(void)fake_call(f, B_PUB);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_CONGESTION);
	f->pub_rc = 0;

	/* in flight when the connection drops: the daemon finishes it after
	 * reconnecting, so no answer yet (test_gw_reconnect.c has the rest) */
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 7, "x", false);
	c = fake_call(f, B_PUB);
	gw_on_broker_disconnected(f->gw, conn, f->now);
	fake_expect_none(f);

	/* while it is down: congestion at once, nothing toward the broker */
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 8, "x", false);
	fake_call_none(f);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_CONGESTION);
	in_publish(f, 1, 0, MQTTSN_TOPIC_NORMAL, id, 0, "x", false);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_CONGESTION);
	assert_int_equal(gw_stats_total(f->gw)->drop_broker_down, 2);
	assert_int_equal(gw_stats_total(f->gw)->drop_broker_refused, 1);

	/* back up: the ack of the publish taken before the drop, then new ones */
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	gw_on_broker_acked(f->gw, conn, c->token, f->now);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.msg_id, 7);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_ACCEPTED);
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 9, "x", false);
	c = fake_call(f, B_PUB);
	gw_on_broker_acked(f->gw, conn, c->token, f->now);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_ACCEPTED);
	fake_free(f);
}

/* ---------------------------------------------------------------- subscribe */

static void test_subscribe_by_name(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	m = fake_subscribe_ok(f, 1, conn, "cmd/pump", 2, 1, 10);
	id = m.u.suback.topic_id;
	assert_int_not_equal(id, 0);
	/* the SUBACK told the client the id: no REGISTER before the PUBLISH */
	fake_broker_msg(f, conn, "cmd/pump", "on", 2);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.qos, 1); /* min(granted 1, message 2) */
	assert_int_equal(m.u.publish.flags.topic_id_type, MQTTSN_TOPIC_NORMAL);
	assert_int_equal(m.u.publish.topic_id, id);
	assert_false(m.u.publish.flags.dup);
	assert_data(&m, "on");
	fake_free(f);
}

static void test_subscribe_wildcard_registers(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	m = fake_subscribe_ok(f, 1, conn, "cmd/#", 0, 0, 11);
	assert_int_equal(m.u.suback.topic_id, 0); /* 6.9: wildcards get 0x0000 */

	fake_broker_msg(f, conn, "cmd/a/b", "1", 0);
	/* 6.5: REGISTER before the first PUBLISH on the topic */
	m = fake_expect(f, 1, MQTTSN_REGISTER);
	id = m.u.reg.topic_id;
	assert_int_not_equal(id, 0);
	assert_int_equal(m.u.reg.topic_name.len, 7);
	assert_memory_equal(m.u.reg.topic_name.ptr, "cmd/a/b", 7);
	/* a second message queues behind the REGISTER */
	fake_broker_msg(f, conn, "cmd/a/b", "2", 0);
	fake_expect_none(f);
	in_ack(f, 1, MQTTSN_REGACK, id, m.u.reg.msg_id, MQTTSN_RC_ACCEPTED);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.topic_id, id);
	assert_data(&m, "1");
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "2");
	/* the topic is known now: straight to PUBLISH */
	fake_broker_msg(f, conn, "cmd/a/b", "3", 0);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "3");
	/* a message matching no subscription the core knows is the client's all
	 * the same: the broker sends its connection nothing else */
	fake_broker_msg(f, conn, "other", "x", 0);
	m = fake_expect(f, 1, MQTTSN_REGISTER);
	assert_int_equal(m.u.reg.topic_name.len, 5);
	in_ack(f, 1, MQTTSN_REGACK, m.u.reg.topic_id, m.u.reg.msg_id, MQTTSN_RC_ACCEPTED);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_data(&m, "x");
	assert_int_equal(gw_stats_total(f->gw)->drop_no_subscription, 0);
	/* an invalid filter */
	in_subscribe(f, 1, 0, MQTTSN_TOPIC_NORMAL, 12, "a/#/b", 0);
	m = fake_expect(f, 1, MQTTSN_SUBACK);
	assert_int_equal(m.u.suback.rc, MQTTSN_RC_NOT_SUPPORTED);
	fake_call_none(f);
	fake_free(f);
}

static void test_subscribe_refused_and_down(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	struct mqttsn_msg m;
	uint32_t conn;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	in_subscribe(f, 1, 1, MQTTSN_TOPIC_NORMAL, 3, "x/y", 0);
	c = fake_call(f, B_SUB);
	/* the client's retransmission does not subscribe twice */
	in_subscribe(f, 1, 1, MQTTSN_TOPIC_NORMAL, 3, "x/y", 0);
	fake_call_none(f);
	gw_on_broker_subacked(f->gw, conn, c->token, 0x80, f->now);
	m = fake_expect(f, 1, MQTTSN_SUBACK);
	assert_int_equal(m.u.suback.msg_id, 3);
	assert_int_equal(m.u.suback.rc, MQTTSN_RC_CONGESTION);
	/* refused: no subscription left to resubscribe */
	gw_on_broker_disconnected(f->gw, conn, f->now);
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	fake_call_none(f);

	gw_on_broker_disconnected(f->gw, conn, f->now);
	in_subscribe(f, 1, 1, MQTTSN_TOPIC_NORMAL, 4, "x/y", 0);
	fake_call_none(f);
	m = fake_expect(f, 1, MQTTSN_SUBACK);
	assert_int_equal(m.u.suback.rc, MQTTSN_RC_CONGESTION);
	fake_free(f);
}

static void test_unsubscribe(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	struct mqttsn_msg m;
	uint32_t conn;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	(void)fake_subscribe_ok(f, 1, conn, "a/+", 1, 1, 1);
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 2, "a/+", 0);
	c = fake_call(f, B_UNSUB);
	assert_int_equal(c->topic_len, 3);
	fake_expect_none(f);
	/* until the broker confirms, what it still sends on the filter is dropped */
	fake_broker_msg(f, conn, "a/b", "late", 1);
	fake_expect_none(f);
	assert_int_equal(gw_stats_total(f->gw)->drop_no_subscription, 1);
	gw_on_broker_unsubacked(f->gw, conn, c->token, f->now);
	m = fake_expect(f, 1, MQTTSN_UNSUBACK);
	assert_int_equal(m.u.msg_id, 2);
	/* a second UNSUBSCRIBE while one is outstanding still reaches the broker */
	(void)fake_subscribe_ok(f, 1, conn, "b", 0, 0, 5);
	(void)fake_subscribe_ok(f, 1, conn, "c", 0, 0, 6);
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 7, "b", 0);
	c = fake_call(f, B_UNSUB);
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 8, "c", 0);
	assert_memory_equal(fake_call(f, B_UNSUB)->topic, "c", 1);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 8);
	gw_on_broker_unsubacked(f->gw, conn, c->token, f->now);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 7);
	/* a filter the core has no subscription for still goes to the broker,
	 * whose session may hold it (made before a bridge restart) */
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 3, "never", 0);
	c = fake_call(f, B_UNSUB);
	assert_memory_equal(c->topic, "never", 5);
	fake_expect_none(f);
	gw_on_broker_unsubacked(f->gw, conn, c->token, f->now);
	m = fake_expect(f, 1, MQTTSN_UNSUBACK);
	assert_int_equal(m.u.msg_id, 3);
	/* an invalid filter is not sent to the broker: nothing to undo */
	in_unsubscribe(f, 1, MQTTSN_TOPIC_NORMAL, 9, "a/#/b", 0);
	fake_call_none(f);
	assert_int_equal(fake_expect(f, 1, MQTTSN_UNSUBACK).u.msg_id, 9);
	fake_free(f);
}

/* ---------------------------------------------------------------- ping, disconnect */

static void test_ping_and_disconnect(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	uint32_t conn;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);
	in_pingreq(f, 1, NULL);
	fake_expect(f, 1, MQTTSN_PINGRESP);
	in_disconnect(f, 1, false, 0);
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	c = fake_call(f, B_CLOSE);
	assert_int_equal(c->conn, conn);
	assert_false(c->fire_will);
	/* a clean session is gone with its DISCONNECT */
	assert_false(gw_client_find(f->gw, "c", NULL, NULL));
	/* a PINGREQ without a session: DISCONNECT tells the client to connect */
	in_pingreq(f, 1, NULL);
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	in_disconnect(f, 1, false, 0);
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	fake_free(f);
}

/* ---------------------------------------------------------------- reconnects */

static void test_persistent_reconnect_reregisters(void **state)
{
	struct fake *f = fake_new();
	struct fake_call *c;
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id, pub_id;

	(void)state;
	conn = fake_connect(f, 1, "p", 60, false);
	id = fake_subscribe_ok(f, 1, conn, "cmd/x", 1, 1, 1).u.suback.topic_id;
	pub_id = fake_register(f, 1, 2, "data/x");
	in_disconnect(f, 1, false, 0);
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	(void)fake_call(f, B_CLOSE);
	assert_int_equal(fake_state(f, "p"), GW_STATE_DISCONNECTED);

	/* without CleanSession: same broker session, no new subscribe */
	in_connect(f, 1, "p", 60, false, false);
	c = fake_call(f, B_OPEN);
	assert_false(c->clean);
	conn = c->conn;
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	fake_call_none(f);
	/* the client's own topic ids still work */
	in_publish(f, 1, 0, MQTTSN_TOPIC_NORMAL, pub_id, 0, "v", false);
	c = fake_call(f, B_PUB);
	assert_memory_equal(c->topic, "data/x", 6);
	/* 6.5: the gateway REGISTERs the topic id again before publishing on it */
	fake_broker_msg(f, conn, "cmd/x", "go", 1);
	m = fake_expect(f, 1, MQTTSN_REGISTER);
	assert_int_equal(m.u.reg.topic_id, id);
	in_ack(f, 1, MQTTSN_REGACK, id, m.u.reg.msg_id, MQTTSN_RC_ACCEPTED);
	m = fake_expect(f, 1, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.topic_id, id);
	assert_data(&m, "go");
	fake_free(f);
}

static void test_clean_reconnect_drops_state(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "p", 60, false);
	id = fake_register(f, 1, 1, "t");
	(void)fake_subscribe_ok(f, 1, conn, "s", 0, 0, 2);
	/* CONNECT with CleanSession while the old session is active */
	in_connect(f, 1, "p", 60, true, false);
	assert_int_equal(fake_call(f, B_CLOSE)->conn, conn);
	conn = fake_call(f, B_OPEN)->conn;
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 3, "x", false);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_INVALID_TOPIC_ID);
	/* the subscription went with the old session: nothing is subscribed again */
	fake_call_none(f);
	fake_free(f);
}

static void test_address_takeover(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m;
	uint32_t conn;

	(void)state;
	conn = fake_connect(f, 1, "roamer", 60, false);
	(void)fake_subscribe_ok(f, 1, conn, "cmd", 0, 0, 1);
	/* NAT rebinding: the same client id from a new address, no CleanSession */
	in_connect(f, 2, "roamer", 60, false, false);
	/* the broker connection is up and has no Will: kept as it is */
	fake_call_none(f);
	fake_expect_rc(f, 2, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	fake_broker_msg(f, conn, "cmd", "hi", 0);
	m = fake_expect(f, 2, MQTTSN_REGISTER);
	in_ack(f, 2, MQTTSN_REGACK, m.u.reg.topic_id, m.u.reg.msg_id, MQTTSN_RC_ACCEPTED);
	m = fake_expect(f, 2, MQTTSN_PUBLISH);
	assert_data(&m, "hi");
	/* the old address is no longer the client */
	in_pingreq(f, 1, NULL);
	fake_expect(f, 1, MQTTSN_DISCONNECT);
	in_pingreq(f, 2, NULL);
	fake_expect(f, 2, MQTTSN_PINGRESP);
	assert_int_equal(gw_clients_in_state(f->gw, GW_STATE_ACTIVE), 1);

	/* another client id from an address in use unbinds the old session */
	fake_connect(f, 2, "newcomer", 60, true);
	fake_broker_msg(f, conn, "cmd", "lost?", 0);
	fake_expect_none(f);
	fake_free(f);
}

/* ---------------------------------------------------------------- bad input */

static void test_unknown_sender(void **state)
{
	struct fake *f = fake_new();

	(void)state;
	in_publish(f, 9, 1, MQTTSN_TOPIC_NORMAL, 1, 1, "x", false);
	fake_expect(f, 9, MQTTSN_DISCONNECT);
	in_register(f, 9, 1, "t");
	fake_expect(f, 9, MQTTSN_DISCONNECT);
	/* acks from nobody get nothing back */
	in_ack(f, 9, MQTTSN_PUBACK, 1, 1, 0);
	in_msg_id(f, 9, MQTTSN_PUBCOMP, 1);
	fake_expect_none(f);
	/* messages only a gateway sends */
	in_msg_id(f, 9, MQTTSN_UNSUBACK, 1);
	fake_expect_none(f);
	fake_call_none(f);
	assert_int_equal(gw_stats_total(f->gw)->protocol_errors, 5);
	fake_free(f);
}

static void test_malformed_counted_without_reply(void **state)
{
	static const struct {
		uint8_t b[8];
		size_t len;
	} bad[] = {
		{{0x00}, 1},                         /* zero length */
		{{0x01}, 1},                         /* too short */
		{{0x01, 0x00}, 2},                   /* the RIOT/Zephyr edge */
		{{0x01, 0x00, 0x05}, 3},
		{{0x02, 0x03}, 2},                   /* reserved type */
		{{0x05, 0x0C, 0x00}, 3},             /* length says 5, 3 came */
		{{0x03, 0x0C, 0x00}, 3},             /* PUBLISH without its fields */
		{{0x04, 0x18, 0x00}, 3},             /* DISCONNECT: 4 declared, 3 came */
		{{0x03, 0x18, 0x00}, 3},             /* DISCONNECT with half a duration */
		{{0x03, 0x16, 0x00, 0x00}, 4},       /* trailing octet */
	};
	struct fake *f = fake_new();
	size_t i, logs;

	(void)state;
	fake_connect(f, 1, "c", 60, true);
	logs = f->nlogs;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		fake_in_raw(f, 1, bad[i].b, bad[i].len);
	fake_in_raw(f, 1, NULL, 0);
	fake_expect_none(f);
	fake_call_none(f);
	assert_int_equal(gw_stats_total(f->gw)->malformed, sizeof bad / sizeof bad[0] + 1);
	assert_int_equal(fake_client_stats(f, "c").malformed, sizeof bad / sizeof bad[0] + 1);
	/* one log line per cause and client per interval, not one per datagram */
	assert_int_equal(f->nlogs, logs + 1);
	fake_advance(f, f->cfg.log_interval_ms);
	fake_in_raw(f, 1, bad[0].b, bad[0].len);
	assert_int_equal(f->nlogs, logs + 2);
	fake_free(f);
}

static void test_protocol_errors_answered(void **state)
{
	struct fake *f = fake_new();
	/* CONNECT with protocol id 2 */
	static const uint8_t bad_proto[] = {0x07, 0x04, 0x04, 0x02, 0x00, 0x3C, 'x'};
	/* SUBSCRIBE at QoS -1, msg id 0x0102 */
	static const uint8_t sub_m1[] = {0x06, 0x12, 0x60, 0x01, 0x02, 'a'};
	/* PUBLISH with the reserved topic id type */
	static const uint8_t pub_res[] = {0x08, 0x0C, 0x23, 0x00, 0x05, 0x00, 0x07, 'd'};
	struct mqttsn_msg m;

	(void)state;
	fake_in_raw(f, 1, bad_proto, sizeof bad_proto);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, MQTTSN_RC_NOT_SUPPORTED);
	fake_call_none(f);
	fake_connect(f, 1, "c", 60, true);
	fake_in_raw(f, 1, sub_m1, sizeof sub_m1);
	m = fake_expect(f, 1, MQTTSN_SUBACK);
	assert_int_equal(m.u.suback.msg_id, 0x0102);
	assert_int_equal(m.u.suback.rc, MQTTSN_RC_NOT_SUPPORTED);
	fake_in_raw(f, 1, pub_res, sizeof pub_res);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.topic_id, 5);
	assert_int_equal(m.u.puback.msg_id, 7);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_INVALID_TOPIC_ID);
	fake_call_none(f);
	assert_int_equal(gw_stats_total(f->gw)->protocol_errors, 3);
	fake_free(f);
}

/* ---------------------------------------------------------------- discovery */

static void test_advertise_and_gwinfo(void **state)
{
	struct gw_config cfg;
	struct fake *f;
	struct mqttsn_msg m;
	uint64_t next;

	(void)state;
	fake_cfg(&cfg);
	cfg.gw_id = 42;
	cfg.advertise_interval_s = 900;
	f = fake_new_cfg(&cfg);
	/* before the first tick the core wants one at once */
	assert_int_equal(gw_next_deadline(f->gw), 0);
	next = gw_tick(f->gw, f->now);
	assert_int_equal(next, f->now + 900000);
	assert_int_equal(f->nsent, 1);
	assert_true(f->sent[0].advertise);
	m = fake_next(f);
	assert_int_equal(m.type, MQTTSN_ADVERTISE);
	assert_int_equal(m.u.advertise.gw_id, 42);
	assert_int_equal(m.u.advertise.duration, 900);
	fake_advance(f, 899999);
	fake_expect_none(f);
	fake_advance(f, 1);
	assert_true(f->sent[f->rd_sent].advertise);
	assert_int_equal(fake_next(f).type, MQTTSN_ADVERTISE);

	m = fake_msg(MQTTSN_SEARCHGW);
	m.u.searchgw.radius = 1;
	fake_in(f, 3, &m);
	m = fake_expect(f, 3, MQTTSN_GWINFO);
	assert_int_equal(m.u.gwinfo.gw_id, 42);
	assert_int_equal(m.u.gwinfo.gw_addr.len, 0);
	/* another gateway's ADVERTISE is not for us */
	m = fake_msg(MQTTSN_ADVERTISE);
	fake_in(f, 4, &m);
	fake_expect_none(f);
	fake_free(f);
}

/* ---------------------------------------------------------------- encapsulation */

/* Wrap m in 0xFE for node id node (5.5) and deliver it from the forwarder. */
static void in_encap(struct fake *f, uint8_t fwd, const char *node, const struct mqttsn_msg *m)
{
	uint8_t inner[512], outer[600];
	struct mqttsn_msg e = fake_msg(MQTTSN_ENCAPSULATED);
	int n = mqttsn_encode(inner, sizeof inner, m), k;

	assert_true(n > 0);
	e.u.encap.ctrl = 1;
	e.u.encap.node_id = fake_str(node);
	e.u.encap.inner.ptr = inner;
	e.u.encap.inner.len = (size_t)n;
	k = mqttsn_encode(outer, sizeof outer, &e);
	assert_true(k > 0);
	fake_in_raw(f, fwd, outer, (size_t)k);
}

/* The next datagram must be 0xFE to fwd for node; returns the inner message. */
static struct mqttsn_msg expect_encap(struct fake *f, uint8_t fwd, const char *node,
                                      enum mqttsn_type type)
{
	struct mqttsn_msg e = fake_expect(f, fwd, MQTTSN_ENCAPSULATED), m;

	assert_int_equal(e.u.encap.ctrl, 1);
	assert_int_equal(e.u.encap.node_id.len, strlen(node));
	assert_memory_equal(e.u.encap.node_id.ptr, node, strlen(node));
	assert_int_equal(mqttsn_decode(e.u.encap.inner.ptr, e.u.encap.inner.len, &m), MQTTSN_OK);
	assert_int_equal(m.type, type);
	return m;
}

static void test_encapsulation_round_trip(void **state)
{
	struct fake *f = fake_new();
	struct mqttsn_msg m;
	struct fake_call *c;
	uint32_t conn;

	(void)state;
	m = fake_msg(MQTTSN_CONNECT);
	m.u.connect.protocol_id = 1;
	m.u.connect.flags.clean_session = true;
	m.u.connect.duration = 60;
	m.u.connect.client_id = fake_str("zigbee-7");
	in_encap(f, 5, "\xAA\xBB", &m);
	c = fake_call(f, B_OPEN);
	conn = c->conn;
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	m = expect_encap(f, 5, "\xAA\xBB", MQTTSN_CONNACK);
	assert_int_equal(m.u.rc, MQTTSN_RC_ACCEPTED);

	/* the same forwarder, another node: another client */
	m = fake_msg(MQTTSN_PINGREQ);
	in_encap(f, 5, "\xAA\xCC", &m);
	(void)expect_encap(f, 5, "\xAA\xCC", MQTTSN_DISCONNECT);
	in_encap(f, 5, "\xAA\xBB", &m);
	(void)expect_encap(f, 5, "\xAA\xBB", MQTTSN_PINGRESP);

	/* downlink goes back through the forwarder too */
	m = fake_msg(MQTTSN_SUBSCRIBE);
	m.u.subscribe.msg_id = 1;
	m.u.subscribe.topic_name = fake_str("z/cmd");
	in_encap(f, 5, "\xAA\xBB", &m);
	c = fake_call(f, B_SUB);
	gw_on_broker_subacked(f->gw, conn, c->token, 0, f->now);
	(void)expect_encap(f, 5, "\xAA\xBB", MQTTSN_SUBACK);
	fake_broker_msg(f, conn, "z/cmd", "blink", 0);
	m = expect_encap(f, 5, "\xAA\xBB", MQTTSN_PUBLISH);
	assert_data(&m, "blink");
	/* a plain datagram from the forwarder's own address is somebody else */
	in_pingreq(f, 5, NULL);
	fake_expect(f, 5, MQTTSN_DISCONNECT);
	fake_free(f);
}

/* ---------------------------------------------------------------- statistics */

static void test_statistics(void **state)
{
	struct fake *f = fake_new();
	const struct gw_stats *t = gw_stats_total(f->gw);
	struct gw_stats c;
	uint32_t conn;
	uint16_t id;

	(void)state;
	conn = fake_connect(f, 1, "c", 60, true);          /* in 1 (7 octets), out 1 (3) */
	id = fake_register(f, 1, 1, "t");                  /* in 1 (7), out 1 (7) */
	in_publish(f, 1, 0, MQTTSN_TOPIC_NORMAL, id, 0, "abc", false); /* in 1 (10) */
	(void)fake_call(f, B_PUB);
	(void)fake_subscribe_ok(f, 1, conn, "d", 0, 0, 2); /* in 1 (6), out 1 (8) */
	fake_broker_msg(f, conn, "d", "xy", 0);            /* out 1 (9) */
	(void)fake_expect(f, 1, MQTTSN_PUBLISH);
	c = fake_client_stats(f, "c");
	assert_int_equal(c.msgs_in, 4);
	assert_int_equal(c.bytes_in, 7 + 7 + 10 + 6);
	assert_int_equal(c.msgs_out, 4);
	assert_int_equal(c.bytes_out, 3 + 7 + 8 + 9);
	assert_int_equal(c.pub_up, 1);
	assert_int_equal(c.pub_down, 1);
	assert_int_equal(c.broker_msgs, 1);
	assert_int_equal(c.broker_bytes_in, 2);
	assert_int_equal(c.broker_bytes_out, 3);
	assert_int_equal(t->msgs_in, 4);
	assert_int_equal(t->bytes_out, c.bytes_out);
	assert_string_equal(gw_state_name(GW_STATE_ASLEEP), "asleep");
	assert_int_equal(gw_clients_in_state(f->gw, GW_STATE_ACTIVE), 1);
	assert_int_equal(gw_clients_in_state(f->gw, GW_STATE_LOST), 0);
	fake_free(f);
}

static void test_shutdown(void **state)
{
	struct gw_config cfg;
	struct fake *f;
	struct fake_call *c;
	uint32_t conn1, conn2;
	size_t i, closes = 0;

	(void)state;
	fake_cfg(&cfg);
	cfg.allow_qos_m1 = true;
	f = fake_new_cfg(&cfg);
	(void)gw_tick(f->gw, f->now);
	(void)fake_call(f, B_OPEN); /* the shared connection */
	conn1 = fake_connect(f, 1, "a", 60, true);
	conn2 = fake_connect(f, 2, "b", 60, false);
	in_disconnect(f, 2, true, 600); /* asleep: cannot hear a DISCONNECT */
	(void)fake_expect(f, 2, MQTTSN_DISCONNECT);
	gw_shutdown(f->gw, f->now);
	(void)fake_expect(f, 1, MQTTSN_DISCONNECT);
	fake_expect_none(f);
	for (i = f->rd_calls; i < f->ncalls; i++) {
		c = &f->calls[i];
		assert_int_equal(c->kind, B_CLOSE);
		assert_false(c->fire_will); /* the gateway leaves, not the clients */
		assert_true(c->conn == conn1 || c->conn == conn2 || c->conn == GW_CONN_AGGREGATE);
		closes++;
	}
	assert_int_equal(closes, 3);
	/* nothing happens after it */
	assert_int_equal(gw_tick(f->gw, f->now + 1000000), UINT64_MAX);
	in_pingreq(f, 1, NULL);
	fake_expect_none(f);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_plain),
		cmocka_unit_test(test_connect_broker_refused),
		cmocka_unit_test(test_connect_broker_unreachable),
		cmocka_unit_test(test_connect_with_will),
		cmocka_unit_test(test_will_updates),
		cmocka_unit_test(test_will_update_fails_inflight),
		cmocka_unit_test(test_register_publish_qos0),
		cmocka_unit_test(test_publish_qos1_acked_after_broker),
		cmocka_unit_test(test_publish_refusals),
		cmocka_unit_test(test_subscribe_by_name),
		cmocka_unit_test(test_subscribe_wildcard_registers),
		cmocka_unit_test(test_subscribe_refused_and_down),
		cmocka_unit_test(test_unsubscribe),
		cmocka_unit_test(test_ping_and_disconnect),
		cmocka_unit_test(test_persistent_reconnect_reregisters),
		cmocka_unit_test(test_clean_reconnect_drops_state),
		cmocka_unit_test(test_address_takeover),
		cmocka_unit_test(test_unknown_sender),
		cmocka_unit_test(test_malformed_counted_without_reply),
		cmocka_unit_test(test_protocol_errors_answered),
		cmocka_unit_test(test_advertise_and_gwinfo),
		cmocka_unit_test(test_encapsulation_round_trip),
		cmocka_unit_test(test_statistics),
		cmocka_unit_test(test_shutdown),
	};

	return cmocka_run_group_tests_name("gw", tests, NULL, NULL);
}
