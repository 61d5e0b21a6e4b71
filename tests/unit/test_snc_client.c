/*
 * test_snc_client.c - the client core's protocol flows (sn-client/client.h)
 * against a scripted gateway, in virtual time: connect with and without a
 * Will, register, publish at every QoS and topic form, every answer to a
 * publish, subscribe and unsubscribe, messages from the gateway, Will
 * updates, disconnect, discovery. Timing (retries, back-off, RTT,
 * keep-alive, sleep) is in test_snc_timing.c.
 */
#include "tests/unit/test_snc_harness.h"

/* ---------------------------------------------------------------- connect */

static void test_connect(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;

	(void)state;
	h_config(&cfg);
	cfg.keep_alive_s = 900;
	h = h_new(&cfg);
	assert_int_equal(snc_state(h->c), SNC_STATE_DISCONNECTED);
	assert_int_equal(snc_connect_start(h->c, 0), SNC_OK);
	assert_int_equal(snc_state(h->c), SNC_STATE_CONNECTING);
	m = h_expect(h, MQTTSN_CONNECT);
	assert_true(m.u.connect.flags.clean_session);
	assert_false(m.u.connect.flags.will);
	assert_int_equal(m.u.connect.protocol_id, 1);
	assert_int_equal(m.u.connect.duration, 900);
	h_data_equal(m.u.connect.client_id, "station-7");
	/* Waiting for CONNACK: the first retry is one initial RTO away. */
	assert_true(h_at(h, 0) == 10000);
	assert_int_equal(snc_connect_start(h->c, 0), SNC_ERR_STATE);

	h_at(h, 600);
	h_gw_rc(h, MQTTSN_CONNACK, 0);
	assert_int_equal(h_event(h, SNC_EV_CONNECTED)->rc, 0);
	assert_int_equal(snc_state(h->c), SNC_STATE_ACTIVE);
	/* The CONNACK measured 600 ms: RTO = 600 + 4 * 300. */
	assert_int_equal(snc_rto(h->c), 1800);
	assert_int_equal(snc_stats(h->c)->rtt_samples, 1);
	h_expect_quiet(h);
	h_free(h);
}

static void test_connect_with_will(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;

	(void)state;
	h_config(&cfg);
	cfg.clean_session = false;
	h = h_new(&cfg);
	assert_int_equal(snc_set_will(h->c, "station/7/status", 16, (const uint8_t *)"offline", 7, 1,
	                              true), SNC_OK);
	assert_int_equal(snc_set_will(h->c, "a/+", 3, NULL, 0, 0, false), SNC_ERR_INVALID);
	assert_int_equal(snc_connect_start(h->c, 0), SNC_OK);
	m = h_expect(h, MQTTSN_CONNECT);
	assert_true(m.u.connect.flags.will);
	assert_false(m.u.connect.flags.clean_session);

	h_at(h, 500);
	h_gw_simple(h, MQTTSN_WILLTOPICREQ);
	m = h_expect(h, MQTTSN_WILLTOPIC);
	assert_int_equal(m.u.willtopic.flags.qos, 1);
	assert_true(m.u.willtopic.flags.retain);
	h_data_equal(m.u.willtopic.topic, "station/7/status");
	/* A repeated request is answered again. */
	h_gw_simple(h, MQTTSN_WILLTOPICREQ);
	h_expect(h, MQTTSN_WILLTOPIC);
	h_at(h, 1000);
	h_gw_simple(h, MQTTSN_WILLMSGREQ);
	m = h_expect(h, MQTTSN_WILLMSG);
	h_data_equal(m.u.willmsg.msg, "offline");
	h_at(h, 1500);
	h_gw_rc(h, MQTTSN_CONNACK, 0);
	h_event(h, SNC_EV_CONNECTED);
	h_expect_quiet(h);
	h_free(h);
}

static void test_connect_refused(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	const struct snc_event *ev;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	/* A request made before the connection waits for it... */
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 5, 1, "x");
	assert_int_equal(snc_connect_start(h->c, 0), SNC_OK);
	h_expect(h, MQTTSN_CONNECT);
	h_expect_quiet(h);
	h_gw_rc(h, MQTTSN_CONNACK, MQTTSN_RC_CONGESTION);
	assert_int_equal(h_event(h, SNC_EV_CONNECTED)->rc, MQTTSN_RC_CONGESTION);
	/* ...and fails with the connection. */
	ev = h_event(h, SNC_EV_PUBLISHED);
	assert_int_equal(ev->rc, MQTTSN_RC_CONGESTION);
	assert_int_equal(snc_state(h->c), SNC_STATE_DISCONNECTED);
	assert_int_equal(snc_pending(h->c), 0);
	h_expect_quiet(h);
	h_free(h);
}

static void test_bad_config(void **state)
{
	struct snc_config cfg;
	static const struct snc_ops ops = { h_send, NULL };

	(void)state;
	h_config(&cfg);
	cfg.client_id = "";
	assert_null(snc_new(&cfg, &ops, NULL));
	cfg.client_id = "abcdefghijklmnopqrstuvwx"; /* 24 */
	assert_null(snc_new(&cfg, &ops, NULL));
	h_config(&cfg);
	cfg.inflight_window = 0;
	assert_null(snc_new(&cfg, &ops, NULL));
	h_config(&cfg);
	cfg.retry_min_ms = 5000;
	cfg.retry_max_ms = 4000;
	assert_null(snc_new(&cfg, &ops, NULL));
}

/* ---------------------------------------------------------------- publish */

static void test_publish_qos1_registers_first(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	uint32_t token;
	uint16_t reg_id, pub_id;
	const struct snc_event *ev;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	token = h_publish(h, SNC_TOPIC_NAME, "station/7/temp", 0, 1, "21.5");
	m = h_expect(h, MQTTSN_REGISTER);
	assert_int_equal(m.u.reg.topic_id, 0);
	h_data_equal(m.u.reg.topic_name, "station/7/temp");
	reg_id = m.u.reg.msg_id;
	assert_true(reg_id != 0);
	h_expect_quiet(h);

	h_gw_regack(h, 0x0105, reg_id, 0);
	m = h_expect(h, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.qos, 1);
	assert_false(m.u.publish.flags.dup);
	assert_false(m.u.publish.flags.retain);
	assert_int_equal(m.u.publish.flags.topic_id_type, MQTTSN_TOPIC_NORMAL);
	assert_int_equal(m.u.publish.topic_id, 0x0105);
	pub_id = m.u.publish.msg_id;
	assert_true(pub_id != 0 && pub_id != reg_id);
	h_data_equal(m.u.publish.data, "21.5");
	/* The core's own REGISTER makes no event. */
	h_no_event(h);

	h_gw_puback(h, 0x0105, pub_id, 0);
	ev = h_event(h, SNC_EV_PUBLISHED);
	assert_int_equal(ev->rc, 0);
	assert_int_equal(ev->token, token);
	assert_false(ev->from_source);
	assert_int_equal(snc_pending(h->c), 0);

	/* The id is known now: no second REGISTER. */
	h_publish(h, SNC_TOPIC_NAME, "station/7/temp", 0, 1, "21.6");
	m = h_expect(h, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.topic_id, 0x0105);
	assert_int_equal(snc_stats(h->c)->published, 1);
	h_free(h);
}

static void test_publish_qos2(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	uint16_t id;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 10, 2, "alarm");
	m = h_expect(h, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.qos, 2);
	assert_int_equal(m.u.publish.flags.topic_id_type, MQTTSN_TOPIC_PREDEFINED);
	assert_int_equal(m.u.publish.topic_id, 10);
	id = m.u.publish.msg_id;
	h_gw_msgid(h, MQTTSN_PUBREC, id);
	assert_int_equal(h_expect(h, MQTTSN_PUBREL).u.msg_id, id);
	h_no_event(h);
	/* The gateway missed our PUBREL and repeats its PUBREC. */
	h_gw_msgid(h, MQTTSN_PUBREC, id);
	assert_int_equal(h_expect(h, MQTTSN_PUBREL).u.msg_id, id);
	/* A PUBCOMP for another id changes nothing. */
	h_gw_msgid(h, MQTTSN_PUBCOMP, (uint16_t)(id + 1));
	h_no_event(h);
	assert_int_equal(snc_stats(h->c)->unexpected_in, 1);
	h_gw_msgid(h, MQTTSN_PUBCOMP, id);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, 0);
	h_expect_quiet(h);
	h_free(h);
}

static void test_publish_qos0_short(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	struct snc_message msg;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	msg = h_msg(SNC_TOPIC_SHORT, "tp", 0, 0, "7");
	msg.retain = true;
	assert_int_equal(snc_publish_start(h->c, &msg, NULL, 0), SNC_OK);
	m = h_expect(h, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.qos, 0);
	assert_true(m.u.publish.flags.retain);
	assert_int_equal(m.u.publish.flags.topic_id_type, MQTTSN_TOPIC_SHORT);
	assert_int_equal(m.u.publish.topic_id, ('t' << 8) | 'p');
	assert_int_equal(m.u.publish.msg_id, 0);
	/* QoS 0 is done once sent. */
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, 0);
	assert_int_equal(snc_pending(h->c), 0);
	h_free(h);
}

static void test_publish_qos_minus1_unconnected(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	struct snc_message bad = h_msg(SNC_TOPIC_NAME, "a/b", 0, -1, "x");

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	/* 6.8: no connection needed, but a name cannot be registered without one. */
	assert_int_equal(snc_publish_start(h->c, &bad, NULL, 0), SNC_ERR_INVALID);
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 0x0042, -1, "wind=3");
	m = h_expect(h, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.qos, -1);
	assert_int_equal(m.u.publish.topic_id, 0x0042);
	assert_int_equal(m.u.publish.msg_id, 0);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, 0);
	assert_int_equal(snc_state(h->c), SNC_STATE_DISCONNECTED);
	h_free(h);
}

static void test_publish_limits(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	char big[200];
	struct snc_message m;

	(void)state;
	h_config(&cfg);
	cfg.max_requests = 2;
	cfg.max_msg = 64;
	h = h_new(&cfg);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	m = h_msg(SNC_TOPIC_PREDEFINED, NULL, 1, 1, big);
	assert_int_equal(snc_publish_start(h->c, &m, NULL, 0), SNC_ERR_TOO_BIG);
	m = h_msg(SNC_TOPIC_NAME, big, 0, 1, "x");
	assert_int_equal(snc_publish_start(h->c, &m, NULL, 0), SNC_ERR_TOO_BIG);
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "a");
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "b");
	m = h_msg(SNC_TOPIC_PREDEFINED, NULL, 1, 1, "c");
	assert_int_equal(snc_publish_start(h->c, &m, NULL, 0), SNC_ERR_FULL);
	assert_int_equal(snc_pending(h->c), 2);
	m = h_msg(SNC_TOPIC_PREDEFINED, NULL, 0, 1, "c");
	assert_int_equal(snc_publish_start(h->c, &m, NULL, 0), SNC_ERR_INVALID);
	h_free(h);
}

static void test_stop_and_wait(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	static const char *const bodies[] = { "1", "2", "3" };

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	for (int i = 0; i < 3; i++)
		h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, bodies[i]);
	/* 6.6: one QoS 1 PUBLISH at a time, in order. */
	for (int i = 0; i < 3; i++) {
		m = h_expect(h, MQTTSN_PUBLISH);
		h_data_equal(m.u.publish.data, bodies[i]);
		h_expect_quiet(h);
		h_gw_puback(h, 1, m.u.publish.msg_id, 0);
		assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, 0);
	}
	h_free(h);
}

static void test_window(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m[4];
	uint32_t tok[4];
	static const char *const bodies[] = { "1", "2", "3", "4" };

	(void)state;
	h_config(&cfg);
	cfg.inflight_window = 3;
	h = h_new(&cfg);
	h_connect(h, 600);
	for (int i = 0; i < 4; i++)
		tok[i] = h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, i == 1 ? 2 : 1, bodies[i]);
	for (int i = 0; i < 3; i++) {
		m[i] = h_expect(h, MQTTSN_PUBLISH);
		h_data_equal(m[i].u.publish.data, bodies[i]);
	}
	h_expect_quiet(h); /* the fourth waits for room */
	/* Answers in any order; each frees a place. */
	h_gw_puback(h, 1, m[2].u.publish.msg_id, 0);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->token, tok[2]);
	m[3] = h_expect(h, MQTTSN_PUBLISH);
	h_data_equal(m[3].u.publish.data, "4");
	assert_true(m[3].u.publish.msg_id != m[0].u.publish.msg_id &&
	            m[3].u.publish.msg_id != m[1].u.publish.msg_id);
	h_gw_msgid(h, MQTTSN_PUBREC, m[1].u.publish.msg_id);
	h_expect(h, MQTTSN_PUBREL);
	h_gw_puback(h, 1, m[0].u.publish.msg_id, 0);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->token, tok[0]);
	h_gw_msgid(h, MQTTSN_PUBCOMP, m[1].u.publish.msg_id);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->token, tok[1]);
	h_gw_puback(h, 1, m[3].u.publish.msg_id, 0);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->token, tok[3]);
	assert_int_equal(snc_pending(h->c), 0);
	h_free(h);
}

/*
 * An answer restarts the timers of what was sent after the answered
 * message (it stood behind it on the way), not of what was sent before it
 * (that may be lost).
 */
static void test_answer_restarts_later_timers(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg z, a, b, again;
	uint64_t t0;

	(void)state;
	h_config(&cfg);
	cfg.inflight_window = 3;
	h = h_new(&cfg);
	h_connect(h, 600); /* SRTT 600, RTTVAR 300: RTO 1800 */
	t0 = h->now;
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "z");
	z = h_expect(h, MQTTSN_PUBLISH);
	h_at(h, t0 + 50);
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "a");
	a = h_expect(h, MQTTSN_PUBLISH);
	h_at(h, t0 + 100);
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "b");
	b = h_expect(h, MQTTSN_PUBLISH);
	/* a's answer after 1450 ms: RTO becomes 706 + 4 * 437 = 2454 */
	h_at(h, t0 + 1500);
	h_gw_puback(h, 1, a.u.publish.msg_id, 0);
	h_event(h, SNC_EV_PUBLISHED);
	/* z, sent before a, keeps its deadline (t0 + 1800) */
	h_at(h, t0 + 1800);
	again = h_expect(h, MQTTSN_PUBLISH);
	assert_int_equal(again.u.publish.msg_id, z.u.publish.msg_id);
	assert_true(again.u.publish.flags.dup);
	/* b, sent after a, waits a full RTO from a's answer, not from its send */
	h_at(h, t0 + 1900);
	h_expect_quiet(h);
	h_at(h, t0 + 1500 + 2453);
	h_expect_quiet(h);
	h_at(h, t0 + 1500 + 2454);
	again = h_expect(h, MQTTSN_PUBLISH);
	assert_int_equal(again.u.publish.msg_id, b.u.publish.msg_id);
	h_free(h);
}

static void test_publish_order_behind_register(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;

	(void)state;
	h_config(&cfg);
	cfg.inflight_window = 4;
	h = h_new(&cfg);
	h_connect(h, 600);
	h_publish(h, SNC_TOPIC_NAME, "a", 0, 1, "first");
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 9, 1, "second");
	/* The second does not overtake the first while "a" is registered. */
	m = h_expect(h, MQTTSN_REGISTER);
	h_expect_quiet(h);
	h_gw_regack(h, 3, m.u.reg.msg_id, 0);
	h_data_equal(h_expect(h, MQTTSN_PUBLISH).u.publish.data, "first");
	h_data_equal(h_expect(h, MQTTSN_PUBLISH).u.publish.data, "second");
	h_free(h);
}

static void test_puback_invalid_topic_reregisters(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	h_publish(h, SNC_TOPIC_NAME, "a/b", 0, 1, "x");
	m = h_expect(h, MQTTSN_REGISTER);
	h_gw_regack(h, 5, m.u.reg.msg_id, 0);
	m = h_expect(h, MQTTSN_PUBLISH);
	/* The gateway lost our session's ids: register again and resend. */
	h_gw_puback(h, 5, m.u.publish.msg_id, MQTTSN_RC_INVALID_TOPIC_ID);
	h_no_event(h);
	m = h_expect(h, MQTTSN_REGISTER);
	h_data_equal(m.u.reg.topic_name, "a/b");
	h_gw_regack(h, 6, m.u.reg.msg_id, 0);
	m = h_expect(h, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.topic_id, 6);
	assert_false(m.u.publish.flags.dup);
	h_gw_puback(h, 6, m.u.publish.msg_id, 0);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, 0);

	/* Not for ever: after SNC_MAX_REREGISTER tries the refusal stands. */
	h_publish(h, SNC_TOPIC_NAME, "a/b", 0, 1, "y");
	for (int i = 0; i < 3; i++) {
		m = h_expect(h, MQTTSN_PUBLISH);
		h_gw_puback(h, m.u.publish.topic_id, m.u.publish.msg_id, MQTTSN_RC_INVALID_TOPIC_ID);
		if (i < 2) {
			m = h_expect(h, MQTTSN_REGISTER);
			h_gw_regack(h, (uint16_t)(7 + i), m.u.reg.msg_id, 0);
		}
	}
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, MQTTSN_RC_INVALID_TOPIC_ID);
	h_free(h);
}

static void test_puback_refusals(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	uint64_t next;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 4, 1, "x");
	m = h_expect(h, MQTTSN_PUBLISH);
	h_gw_puback(h, 4, m.u.publish.msg_id, MQTTSN_RC_NOT_SUPPORTED);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, MQTTSN_RC_NOT_SUPPORTED);
	assert_int_equal(snc_stats(h->c)->publish_failed, 1);

	/* Congestion: the same message again, after a back-off. */
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 4, 1, "y");
	m = h_expect(h, MQTTSN_PUBLISH);
	h_gw_puback(h, 4, m.u.publish.msg_id, MQTTSN_RC_CONGESTION);
	h_no_event(h);
	/* The wait is the RTO backed off once. */
	next = h_at(h, h->now);
	assert_true(next == h->now + 2u * snc_rto(h->c));
	h_at(h, next - 1);
	h_expect_quiet(h);
	h_at(h, next);
	m = h_expect(h, MQTTSN_PUBLISH);
	h_data_equal(m.u.publish.data, "y");
	h_gw_puback(h, 4, m.u.publish.msg_id, 0);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, 0);
	h_free(h);
}

static void test_register_refused(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	uint32_t tok;
	const struct snc_event *ev;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	h_publish(h, SNC_TOPIC_NAME, "no/such", 0, 1, "x");
	m = h_expect(h, MQTTSN_REGISTER);
	h_gw_regack(h, 0, m.u.reg.msg_id, MQTTSN_RC_NOT_SUPPORTED);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, MQTTSN_RC_NOT_SUPPORTED);
	h_expect_quiet(h);

	/* The application's own REGISTER has its event. */
	assert_int_equal(snc_register_start(h->c, "a/b", 3, &tok, h->now), SNC_OK);
	assert_int_equal(snc_register_start(h->c, "a/#", 3, NULL, h->now), SNC_ERR_INVALID);
	m = h_expect(h, MQTTSN_REGISTER);
	h_gw_regack(h, 77, m.u.reg.msg_id, 0);
	ev = h_event(h, SNC_EV_REGISTERED);
	assert_int_equal(ev->rc, 0);
	assert_int_equal(ev->token, tok);
	assert_int_equal(ev->topic_id, 77);
	assert_string_equal(ev->topic.name, "a/b");
	h_publish(h, SNC_TOPIC_NAME, "a/b", 0, 0, "z");
	assert_int_equal(h_expect(h, MQTTSN_PUBLISH).u.publish.topic_id, 77);
	h_free(h);
}

/* ---------------------------------------------------------------- subscribe */

static void test_subscribe_wildcard_and_receive(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	struct snc_topic t = { SNC_TOPIC_NAME, "station/+/cmd", 13, 0 };
	const struct snc_event *ev;
	uint32_t tok;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	assert_int_equal(snc_subscribe_start(h->c, &t, 1, &tok, h->now), SNC_OK);
	m = h_expect(h, MQTTSN_SUBSCRIBE);
	assert_int_equal(m.u.subscribe.flags.qos, 1);
	assert_int_equal(m.u.subscribe.flags.topic_id_type, MQTTSN_TOPIC_NORMAL);
	h_data_equal(m.u.subscribe.topic_name, "station/+/cmd");
	h_gw_suback(h, 1, 0, m.u.subscribe.msg_id, 0);
	ev = h_event(h, SNC_EV_SUBSCRIBED);
	assert_int_equal(ev->rc, 0);
	assert_int_equal(ev->token, tok);
	assert_int_equal(ev->qos, 1);
	assert_int_equal(ev->topic_id, 0);

	/* 6.5: the gateway registers a matching topic before it publishes on it. */
	h_gw_register(h, 7, 100, "station/7/cmd");
	m = h_expect(h, MQTTSN_REGACK);
	assert_int_equal(m.u.regack.topic_id, 7);
	assert_int_equal(m.u.regack.msg_id, 100);
	assert_int_equal(m.u.regack.rc, 0);
	h_gw_publish(h, 1, MQTTSN_TOPIC_NORMAL, 7, 200, "reboot", false);
	ev = h_event(h, SNC_EV_MESSAGE);
	assert_string_equal(ev->topic.name, "station/7/cmd");
	assert_int_equal(ev->topic.kind, SNC_TOPIC_NAME);
	assert_int_equal(ev->qos, 1);
	assert_int_equal(ev->len, 6);
	assert_memory_equal(ev->payload, "reboot", 6);
	m = h_expect(h, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.topic_id, 7);
	assert_int_equal(m.u.puback.msg_id, 200);
	assert_int_equal(m.u.puback.rc, 0);
	assert_int_equal(snc_stats(h->c)->messages, 1);
	h_free(h);
}

static void test_subscribe_forms(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	struct snc_topic name = { SNC_TOPIC_NAME, "a/b", 3, 0 };
	struct snc_topic pre = { SNC_TOPIC_PREDEFINED, NULL, 0, 3 };
	struct snc_topic sh = { SNC_TOPIC_SHORT, "zz", 2, 0 };
	const struct snc_event *ev;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	assert_int_equal(snc_set_predefined(h->c, 3, "alarms", 6), SNC_OK);
	h_connect(h, 600);
	assert_int_equal(snc_subscribe_start(h->c, &name, 0, NULL, h->now), SNC_OK);
	assert_int_equal(snc_subscribe_start(h->c, &pre, 2, NULL, h->now), SNC_OK);
	assert_int_equal(snc_subscribe_start(h->c, &sh, 1, NULL, h->now), SNC_OK);
	assert_int_equal(snc_subscribe_start(h->c, &sh, -1, NULL, h->now), SNC_ERR_INVALID);

	/* One SUBSCRIBE outstanding at a time (6.9). */
	m = h_expect(h, MQTTSN_SUBSCRIBE);
	h_expect_quiet(h);
	/* A name without wildcards gets its id in the SUBACK. */
	h_gw_suback(h, 0, 9, m.u.subscribe.msg_id, 0);
	h_event(h, SNC_EV_SUBSCRIBED);
	m = h_expect(h, MQTTSN_SUBSCRIBE);
	assert_int_equal(m.u.subscribe.flags.topic_id_type, MQTTSN_TOPIC_PREDEFINED);
	assert_int_equal(m.u.subscribe.topic_id, 3);
	h_gw_suback(h, 2, 3, m.u.subscribe.msg_id, 0);
	h_event(h, SNC_EV_SUBSCRIBED);
	m = h_expect(h, MQTTSN_SUBSCRIBE);
	assert_int_equal(m.u.subscribe.flags.topic_id_type, MQTTSN_TOPIC_SHORT);
	h_data_equal(m.u.subscribe.topic_name, "zz");
	h_gw_suback(h, 1, 0, m.u.subscribe.msg_id, MQTTSN_RC_NOT_SUPPORTED);
	assert_int_equal(h_event(h, SNC_EV_SUBSCRIBED)->rc, MQTTSN_RC_NOT_SUPPORTED);

	h_gw_publish(h, 0, MQTTSN_TOPIC_NORMAL, 9, 0, "on a/b", false);
	assert_string_equal(h_event(h, SNC_EV_MESSAGE)->topic.name, "a/b");
	h_gw_publish(h, 0, MQTTSN_TOPIC_PREDEFINED, 3, 0, "fire", false);
	ev = h_event(h, SNC_EV_MESSAGE);
	assert_string_equal(ev->topic.name, "alarms");
	assert_int_equal(ev->topic.kind, SNC_TOPIC_PREDEFINED);
	h_gw_publish(h, 0, MQTTSN_TOPIC_PREDEFINED, 4, 0, "unnamed", false);
	ev = h_event(h, SNC_EV_MESSAGE);
	assert_null(ev->topic.name);
	assert_int_equal(ev->topic.id, 4);
	h_gw_publish(h, 0, MQTTSN_TOPIC_SHORT, ('z' << 8) | 'z', 0, "short", false);
	ev = h_event(h, SNC_EV_MESSAGE);
	assert_string_equal(ev->topic.name, "zz");
	h_expect_quiet(h); /* QoS 0: no answers */
	h_free(h);
}

static void test_unsubscribe(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	struct snc_topic t = { SNC_TOPIC_NAME, "x/#", 3, 0 };
	uint32_t tok;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	assert_int_equal(snc_unsubscribe_start(h->c, &t, &tok, h->now), SNC_OK);
	m = h_expect(h, MQTTSN_UNSUBSCRIBE);
	h_data_equal(m.u.subscribe.topic_name, "x/#");
	h_gw_msgid(h, MQTTSN_UNSUBACK, m.u.subscribe.msg_id);
	assert_int_equal(h_event(h, SNC_EV_UNSUBSCRIBED)->token, tok);
	h_free(h);
}

static void test_congestion_answers(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	struct snc_topic t = { SNC_TOPIC_NAME, "c/#", 3, 0 };
	uint64_t next;

	(void)state;
	h_config(&cfg);
	cfg.retry_count = 1;
	h = h_new(&cfg);
	h_connect(h, 600);
	/* REGACK "congestion": the REGISTER goes again after a back-off. */
	h_publish(h, SNC_TOPIC_NAME, "c/1", 0, 1, "x");
	m = h_expect(h, MQTTSN_REGISTER);
	h_gw_regack(h, 0, m.u.reg.msg_id, MQTTSN_RC_CONGESTION);
	h_expect_quiet(h);
	next = h_at(h, h->now);
	assert_true(next > h->now);
	h_at(h, next);
	m = h_expect(h, MQTTSN_REGISTER);
	h_data_equal(m.u.reg.topic_name, "c/1");
	/* Congested again, past retry_count: the REGISTER and its publish fail. */
	h_gw_regack(h, 0, m.u.reg.msg_id, MQTTSN_RC_CONGESTION);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, MQTTSN_RC_CONGESTION);
	h_expect_quiet(h);

	/* SUBACK "congestion" likewise. */
	assert_int_equal(snc_subscribe_start(h->c, &t, 1, NULL, h->now), SNC_OK);
	m = h_expect(h, MQTTSN_SUBSCRIBE);
	h_gw_suback(h, 0, 0, m.u.subscribe.msg_id, MQTTSN_RC_CONGESTION);
	h_expect_quiet(h);
	h_at(h, h_at(h, h->now));
	m = h_expect(h, MQTTSN_SUBSCRIBE);
	assert_false(m.u.subscribe.flags.dup); /* a new attempt, not a retransmission */
	h_gw_suback(h, 1, 0, m.u.subscribe.msg_id, 0);
	assert_int_equal(h_event(h, SNC_EV_SUBSCRIBED)->rc, 0);
	h_free(h);
}

static void test_subscribe_unsubscribe_share_a_slot(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	struct snc_topic t = { SNC_TOPIC_NAME, "s/#", 3, 0 };

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	assert_int_equal(snc_subscribe_start(h->c, &t, 0, NULL, h->now), SNC_OK);
	assert_int_equal(snc_unsubscribe_start(h->c, &t, NULL, h->now), SNC_OK);
	/* 6.9/6.10: one SUBSCRIBE or UNSUBSCRIBE outstanding at a time. */
	m = h_expect(h, MQTTSN_SUBSCRIBE);
	h_expect_quiet(h);
	h_gw_suback(h, 0, 0, m.u.subscribe.msg_id, 0);
	h_event(h, SNC_EV_SUBSCRIBED);
	m = h_expect(h, MQTTSN_UNSUBSCRIBE);
	h_gw_msgid(h, MQTTSN_UNSUBACK, m.u.subscribe.msg_id);
	h_event(h, SNC_EV_UNSUBSCRIBED);
	h_free(h);
}

/* ---------------------------------------------------------------- from the gateway */

static void test_inbound_unknown_topic(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	h_gw_publish(h, 1, MQTTSN_TOPIC_NORMAL, 55, 9, "?", false);
	m = h_expect(h, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_INVALID_TOPIC_ID);
	assert_int_equal(m.u.puback.topic_id, 55);
	h_gw_publish(h, 0, MQTTSN_TOPIC_NORMAL, 55, 0, "?", false);
	h_expect_quiet(h);
	h_no_event(h);
	h_free(h);
}

static void test_inbound_qos2_once(void **state)
{
	struct snc_config cfg;
	struct harness *h;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	h_gw_publish(h, 2, MQTTSN_TOPIC_SHORT, ('a' << 8) | 'b', 300, "once", false);
	h_event(h, SNC_EV_MESSAGE);
	assert_int_equal(h_expect(h, MQTTSN_PUBREC).u.msg_id, 300);
	/* Our PUBREC was lost: the repeat is answered, not delivered again. */
	h_gw_publish(h, 2, MQTTSN_TOPIC_SHORT, ('a' << 8) | 'b', 300, "once", true);
	h_no_event(h);
	assert_int_equal(h_expect(h, MQTTSN_PUBREC).u.msg_id, 300);
	assert_int_equal(snc_stats(h->c)->duplicates_in, 1);
	h_gw_msgid(h, MQTTSN_PUBREL, 300);
	assert_int_equal(h_expect(h, MQTTSN_PUBCOMP).u.msg_id, 300);
	/* Our PUBCOMP was lost: PUBREL again gets PUBCOMP again. */
	h_gw_msgid(h, MQTTSN_PUBREL, 300);
	assert_int_equal(h_expect(h, MQTTSN_PUBCOMP).u.msg_id, 300);
	/* After PUBREL the id is free: a new message with it is new. */
	h_gw_publish(h, 2, MQTTSN_TOPIC_SHORT, ('a' << 8) | 'b', 300, "again", false);
	h_event(h, SNC_EV_MESSAGE);
	h_free(h);
}

static void test_gateway_pingreq_answered(void **state)
{
	struct snc_config cfg;
	struct harness *h;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	h_gw_simple(h, MQTTSN_PINGREQ);
	h_expect(h, MQTTSN_PINGRESP);
	h_free(h);
}

static void test_malformed_and_unexpected(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	static const uint8_t two[] = { 0x01, 0x00 };
	static const uint8_t lie[] = { 0x05, 0x05, 0x00 };

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	snc_input(h->c, two, sizeof two, h->now);
	snc_input(h->c, lie, sizeof lie, h->now);
	snc_input(h->c, NULL, 0, h->now);
	assert_int_equal(snc_stats(h->c)->malformed_in, 3);
	h_gw_puback(h, 1, 1234, 0);
	h_gw_rc(h, MQTTSN_CONNACK, 0);
	h_gw_msgid(h, MQTTSN_UNSUBACK, 1);
	assert_int_equal(snc_stats(h->c)->unexpected_in, 3);
	h_expect_quiet(h);
	h_no_event(h);
	h_free(h);
}

/* ---------------------------------------------------------------- Will updates */

static void test_will_update(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	uint32_t t1, t2;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	assert_int_equal(snc_set_will(h->c, "w/old", 5, (const uint8_t *)"old", 3, 0, false), SNC_OK);
	assert_int_equal(snc_connect_start(h->c, 0), SNC_OK);
	h_expect(h, MQTTSN_CONNECT);
	h_gw_rc(h, MQTTSN_CONNACK, 0);
	h_event(h, SNC_EV_CONNECTED);

	assert_int_equal(snc_will_topic_update_start(h->c, "w/new", 5, 2, true, &t1, 0), SNC_OK);
	assert_int_equal(snc_will_msg_update_start(h->c, (const uint8_t *)"gone", 4, &t2, 0), SNC_OK);
	m = h_expect(h, MQTTSN_WILLTOPICUPD);
	assert_int_equal(m.u.willtopic.flags.qos, 2);
	assert_true(m.u.willtopic.flags.retain);
	h_data_equal(m.u.willtopic.topic, "w/new");
	h_expect_quiet(h); /* one Will update at a time */
	h_gw_rc(h, MQTTSN_WILLTOPICRESP, 0);
	assert_int_equal(h_event(h, SNC_EV_WILL_UPDATED)->token, t1);
	m = h_expect(h, MQTTSN_WILLMSGUPD);
	h_data_equal(m.u.willmsg.msg, "gone");
	h_gw_rc(h, MQTTSN_WILLMSGRESP, 0);
	assert_int_equal(h_event(h, SNC_EV_WILL_UPDATED)->token, t2);

	/* The next CONNECT carries the updated Will. */
	assert_int_equal(snc_disconnect_start(h->c, 0), SNC_OK);
	h_expect(h, MQTTSN_DISCONNECT);
	h_gw_simple(h, MQTTSN_DISCONNECT);
	h_event(h, SNC_EV_DISCONNECTED);
	assert_int_equal(snc_connect_start(h->c, 0), SNC_OK);
	assert_true(h_expect(h, MQTTSN_CONNECT).u.connect.flags.will);
	h_gw_simple(h, MQTTSN_WILLTOPICREQ);
	m = h_expect(h, MQTTSN_WILLTOPIC);
	h_data_equal(m.u.willtopic.topic, "w/new");
	assert_int_equal(m.u.willtopic.flags.qos, 2);
	h_gw_simple(h, MQTTSN_WILLMSGREQ);
	h_data_equal(h_expect(h, MQTTSN_WILLMSG).u.willmsg.msg, "gone");

	h_gw_rc(h, MQTTSN_CONNACK, 0);
	h_event(h, SNC_EV_CONNECTED);
	/* A refused update is reported and changes nothing. */
	assert_int_equal(snc_will_msg_update_start(h->c, (const uint8_t *)"nope", 4, NULL, 0), SNC_OK);
	h_expect(h, MQTTSN_WILLMSGUPD);
	h_gw_rc(h, MQTTSN_WILLMSGRESP, MQTTSN_RC_NOT_SUPPORTED);
	assert_int_equal(h_event(h, SNC_EV_WILL_UPDATED)->rc, MQTTSN_RC_NOT_SUPPORTED);

	/* An empty WILLTOPICUPD deletes the Will. */
	assert_int_equal(snc_will_topic_update_start(h->c, NULL, 0, 0, false, NULL, 0), SNC_OK);
	m = h_expect(h, MQTTSN_WILLTOPICUPD);
	assert_int_equal(m.u.willtopic.topic.len, 0);
	h_gw_rc(h, MQTTSN_WILLTOPICRESP, 0);
	h_event(h, SNC_EV_WILL_UPDATED);
	assert_int_equal(snc_disconnect_start(h->c, 0), SNC_OK);
	h_expect(h, MQTTSN_DISCONNECT);
	h_gw_simple(h, MQTTSN_DISCONNECT);
	h_event(h, SNC_EV_DISCONNECTED);
	assert_int_equal(snc_connect_start(h->c, 0), SNC_OK);
	assert_false(h_expect(h, MQTTSN_CONNECT).u.connect.flags.will);
	h_free(h);
}

/* ---------------------------------------------------------------- disconnect */

static void test_disconnect(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	assert_int_equal(snc_disconnect_start(h->c, 0), SNC_ERR_STATE);
	h_connect(h, 600);
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "in flight");
	h_expect(h, MQTTSN_PUBLISH);
	assert_int_equal(snc_disconnect_start(h->c, h->now), SNC_OK);
	m = h_expect(h, MQTTSN_DISCONNECT);
	assert_false(m.u.disconnect.has_duration);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, SNC_ERR_CLOSED);
	assert_int_equal(snc_state(h->c), SNC_STATE_DISCONNECTING);
	h_gw_simple(h, MQTTSN_DISCONNECT);
	assert_int_equal(h_event(h, SNC_EV_DISCONNECTED)->rc, SNC_OK);
	assert_int_equal(snc_state(h->c), SNC_STATE_DISCONNECTED);
	h_free(h);
}

static void test_gateway_disconnects(void **state)
{
	struct snc_config cfg;
	struct harness *h;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "in flight");
	h_expect(h, MQTTSN_PUBLISH);
	h_gw_simple(h, MQTTSN_DISCONNECT);
	assert_int_equal(h_event(h, SNC_EV_DISCONNECTED)->rc, SNC_ERR_CLOSED);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, SNC_ERR_CLOSED);
	assert_int_equal(snc_state(h->c), SNC_STATE_DISCONNECTED);
	/* Nothing is retransmitted afterwards. */
	assert_true(h_at(h, h->now + 1000000) == UINT64_MAX);
	h_expect_quiet(h);
	h_free(h);
}

/* ---------------------------------------------------------------- discovery */

static void test_search_found(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m, gi;
	const struct snc_event *ev;
	static const uint8_t addr[] = { 10, 0, 0, 1 };

	(void)state;
	h_config(&cfg);
	cfg.search_radius = 2;
	h = h_new(&cfg);
	assert_int_equal(snc_search_start(h->c, 0), SNC_OK);
	m = h_expect(h, MQTTSN_SEARCHGW);
	assert_true(h->sent[h->taken - 1].broadcast);
	assert_int_equal(m.u.searchgw.radius, 2);
	assert_true(h_at(h, 0) == 5000);
	h_at(h, 5000);
	h_expect(h, MQTTSN_SEARCHGW);

	memset(&gi, 0, sizeof gi);
	gi.type = MQTTSN_GWINFO;
	gi.u.gwinfo.gw_id = 3;
	gi.u.gwinfo.gw_addr.ptr = addr;
	gi.u.gwinfo.gw_addr.len = sizeof addr;
	h_gw(h, &gi);
	ev = h_event(h, SNC_EV_GATEWAY_FOUND);
	assert_int_equal(ev->gw_id, 3);
	assert_false(ev->advertise);
	assert_int_equal(ev->gw_addr_len, 4);
	/* Found: no more searching. */
	assert_true(h_at(h, 100000) == UINT64_MAX);
	h_expect_quiet(h);

	memset(&gi, 0, sizeof gi);
	gi.type = MQTTSN_ADVERTISE;
	gi.u.advertise.gw_id = 4;
	gi.u.advertise.duration = 900;
	h_gw(h, &gi);
	ev = h_event(h, SNC_EV_GATEWAY_FOUND);
	assert_true(ev->advertise);
	assert_int_equal(ev->duration, 900);
	/* Another client's SEARCHGW is not ours to answer. */
	memset(&gi, 0, sizeof gi);
	gi.type = MQTTSN_SEARCHGW;
	h_gw(h, &gi);
	h_expect_quiet(h);
	assert_int_equal(snc_stats(h->c)->unexpected_in, 0);
	h_free(h);
}

static void test_search_fails(void **state)
{
	struct snc_config cfg;
	struct harness *h;

	(void)state;
	h_config(&cfg);
	cfg.retry_count = 2;
	h = h_new(&cfg);
	assert_int_equal(snc_search_start(h->c, 0), SNC_OK);
	h_expect(h, MQTTSN_SEARCHGW);
	/* T_SEARCHGW doubling: 5 s, then 10 s, then give up. */
	assert_true(h_at(h, 5000) == 15000);
	h_expect(h, MQTTSN_SEARCHGW);
	assert_true(h_at(h, 15000) == 35000);
	h_expect(h, MQTTSN_SEARCHGW);
	assert_true(h_at(h, 35000) == UINT64_MAX);
	h_expect_quiet(h);
	assert_int_equal(h_event(h, SNC_EV_SEARCH_FAILED)->rc, SNC_ERR_TIMEOUT);
	h_free(h);
}

/* ---------------------------------------------------------------- callbacks */

static void publish_on_connect(struct harness *h, const struct snc_event *ev)
{
	struct snc_message m = h_msg(SNC_TOPIC_PREDEFINED, NULL, 2, 1, "from the callback");

	if (ev->type == SNC_EV_CONNECTED)
		assert_int_equal(snc_publish_start(h->c, &m, NULL, h->now), SNC_OK);
	/* Ending the connection from inside an event is fine too. */
	if (ev->type == SNC_EV_PUBLISHED)
		assert_int_equal(snc_disconnect_start(h->c, h->now), SNC_OK);
}

static void test_reentrant_callbacks(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h->on_event = publish_on_connect;
	h_connect(h, 600);
	m = h_expect(h, MQTTSN_PUBLISH);
	h_data_equal(m.u.publish.data, "from the callback");
	h_gw_puback(h, 2, m.u.publish.msg_id, 0);
	h_event(h, SNC_EV_PUBLISHED);
	h_expect(h, MQTTSN_DISCONNECT);
	assert_int_equal(snc_state(h->c), SNC_STATE_DISCONNECTING);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_connect_with_will),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_publish_qos1_registers_first),
		cmocka_unit_test(test_publish_qos2),
		cmocka_unit_test(test_publish_qos0_short),
		cmocka_unit_test(test_publish_qos_minus1_unconnected),
		cmocka_unit_test(test_publish_limits),
		cmocka_unit_test(test_stop_and_wait),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_answer_restarts_later_timers),
		cmocka_unit_test(test_publish_order_behind_register),
		cmocka_unit_test(test_puback_invalid_topic_reregisters),
		cmocka_unit_test(test_puback_refusals),
		cmocka_unit_test(test_register_refused),
		cmocka_unit_test(test_subscribe_wildcard_and_receive),
		cmocka_unit_test(test_subscribe_forms),
		cmocka_unit_test(test_congestion_answers),
		cmocka_unit_test(test_subscribe_unsubscribe_share_a_slot),
		cmocka_unit_test(test_unsubscribe),
		cmocka_unit_test(test_inbound_unknown_topic),
		cmocka_unit_test(test_inbound_qos2_once),
		cmocka_unit_test(test_gateway_pingreq_answered),
		cmocka_unit_test(test_malformed_and_unexpected),
		cmocka_unit_test(test_will_update),
		cmocka_unit_test(test_disconnect),
		cmocka_unit_test(test_gateway_disconnects),
		cmocka_unit_test(test_search_found),
		cmocka_unit_test(test_search_fails),
		cmocka_unit_test(test_reentrant_callbacks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
