/*
 * test_snc_timing.c - the client core's clocks, in virtual time: CONNECT
 * retried with back-off, retransmission timed from the measured round trip
 * (RFC 6298, Karn's rule), the gateway declared gone when retries run out,
 * keep-alive, and the sleep cycle (6.14).
 */
#include "sn-client/rtt.h"
#include "tests/unit/test_snc_harness.h"

/* ---------------------------------------------------------------- CONNECT */

static void test_connect_backoff_then_lost(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	static const uint64_t at[] = { 0, 10000, 30000, 70000 };

	(void)state;
	h_config(&cfg);
	cfg.connect_retry_count = 3;
	cfg.retry_max_ms = 60000;
	h = h_new(&cfg);
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "waits");
	assert_int_equal(snc_connect_start(h->c, 0), SNC_OK);
	/* 10 s, then doubling: 20 s, 40 s, and the ceiling 60 s. */
	for (size_t i = 0; i < 4; i++) {
		uint64_t next;

		h_at(h, at[i]);
		h_expect(h, MQTTSN_CONNECT);
		h_expect_quiet(h);
		next = h_at(h, at[i]);
		assert_true(next == (i + 1 < 4 ? at[i + 1] : 130000));
		if (i + 1 < 4)
			h_at(h, at[i + 1] - 1);
		h_expect_quiet(h);
	}
	h_at(h, 130000);
	h_expect_quiet(h);
	assert_int_equal(h_event(h, SNC_EV_GATEWAY_LOST)->rc, SNC_ERR_GONE);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, SNC_ERR_GONE);
	assert_int_equal(snc_state(h->c), SNC_STATE_LOST);
	assert_int_equal(snc_stats(h->c)->retransmissions, 3);
	assert_int_equal(snc_stats(h->c)->gateway_lost, 1);
	/* From LOST the application may try again. */
	assert_int_equal(snc_connect_start(h->c, h->now), SNC_OK);
	h_expect(h, MQTTSN_CONNECT);
	h_free(h);
}

static void test_connect_forever(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	uint64_t t = 0;

	(void)state;
	h_config(&cfg);
	cfg.connect_retry_count = 0;
	cfg.retry_max_ms = 120000;
	h = h_new(&cfg);
	assert_int_equal(snc_connect_start(h->c, 0), SNC_OK);
	h_expect(h, MQTTSN_CONNECT);
	/* A day of outage: CONNECT keeps coming, never more than 2 minutes apart. */
	while (t < 24u * 3600u * 1000u) {
		uint64_t next = h_at(h, t);

		assert_true(next - t <= 120000);
		t = next;
		h_at(h, t);
		h_expect(h, MQTTSN_CONNECT);
		h->nsent = h->taken = 0;
	}
	h_no_event(h);
	assert_int_equal(snc_state(h->c), SNC_STATE_CONNECTING);
	/* And the gateway, back at last, is taken at its word. */
	h_gw_rc(h, MQTTSN_CONNACK, 0);
	h_event(h, SNC_EV_CONNECTED);
	h_free(h);
}

/* ---------------------------------------------------------------- retransmission */

static void test_publish_retries_then_lost(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	uint64_t t0, t, interval = 1800;
	uint16_t id;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600); /* RTO 1800 */
	t0 = h->now;
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "x");
	m = h_expect(h, MQTTSN_PUBLISH);
	assert_false(m.u.publish.flags.dup);
	id = m.u.publish.msg_id;
	t = t0;
	/* Five retransmissions, each after twice the wait before, with DUP set
	 * and the same message id (5.3.4). */
	for (int i = 0; i < 5; i++) {
		assert_true(h_at(h, t + interval - 1) == t + interval);
		h_expect_quiet(h);
		t += interval;
		h_at(h, t);
		m = h_expect(h, MQTTSN_PUBLISH);
		assert_true(m.u.publish.flags.dup);
		assert_int_equal(m.u.publish.msg_id, id);
		interval *= 2;
	}
	/* The RTO itself backed off for whatever starts next (RFC 6298 5.5). */
	assert_int_equal(snc_rto(h->c), 1800u << 5);
	h_at(h, t + interval);
	h_expect_quiet(h);
	assert_int_equal(h_event(h, SNC_EV_GATEWAY_LOST)->rc, SNC_ERR_GONE);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, SNC_ERR_GONE);
	assert_int_equal(snc_state(h->c), SNC_STATE_LOST);
	assert_int_equal(snc_pending(h->c), 0);
	h_free(h);
}

/*
 * A window of requests that all time out together is one silence, not
 * eight: the RTO doubles once per round. Doubling per request took it from
 * 1.8 s to the ceiling, and a station whose gateway restarted (its PUBRELs
 * then answered by DISCONNECT) waited that long before connecting again.
 */
static void test_window_timeout_backs_off_once(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	uint16_t ids[8];
	uint32_t rto;

	(void)state;
	h_config(&cfg);
	cfg.inflight_window = 8;
	cfg.max_requests = 16;
	cfg.retry_max_ms = 300000;
	h = h_new(&cfg);
	h_connect(h, 600); /* RTO 1800 */
	for (size_t i = 0; i < 8; i++)
		h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 2, "q2");
	for (size_t i = 0; i < 8; i++)
		ids[i] = h_expect(h, MQTTSN_PUBLISH).u.publish.msg_id;
	h_at(h, h->now + 100);
	for (size_t i = 0; i < 8; i++) {
		h_gw_msgid(h, MQTTSN_PUBREC, ids[i]);
		h_expect(h, MQTTSN_PUBREL);
	}
	rto = snc_rto(h->c);
	/* Two rounds of silence: every PUBREL resent each time, the RTO
	 * doubled once a round. */
	for (uint32_t round = 1; round <= 2; round++) {
		size_t resent = 0;

		/* (their timers differ a little: each PUBREC was a sample) */
		for (int k = 0; k < 8 && resent < 8; k++) {
			h_at(h, h_at(h, h->now));
			for (; h->taken < h->nsent; resent++)
				h_expect(h, MQTTSN_PUBREL);
		}
		assert_int_equal(resent, 8);
		assert_int_equal(snc_rto(h->c), rto << round);
	}
	/* The gateway restarted without our session: what the application
	 * waits before connecting again is about a round trip's back-off. */
	h_gw_simple(h, MQTTSN_DISCONNECT);
	assert_int_equal(h_event(h, SNC_EV_DISCONNECTED)->rc, SNC_ERR_CLOSED);
	assert_int_equal(snc_rto(h->c), rto << 2);
	h_free(h);
}

static void test_rtt_estimation(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct snc_rtt want;
	static const uint32_t rtts[] = { 2000, 2600, 1900, 2200, 5000, 2100 };

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	snc_rtt_init(&want, cfg.retry_initial_ms, cfg.retry_min_ms, cfg.retry_max_ms);
	h_connect(h, 600);
	snc_rtt_sample(&want, 600);
	/* Every answered, never resent request is one RFC 6298 measurement. */
	for (size_t i = 0; i < sizeof rtts / sizeof rtts[0]; i++) {
		struct mqttsn_msg m;

		h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "m");
		m = h_expect(h, MQTTSN_PUBLISH);
		/* Time passes without a tick: some round trips exceed the RTO. */
		h->now += rtts[i];
		h_gw_puback(h, 1, m.u.publish.msg_id, 0);
		h_event(h, SNC_EV_PUBLISHED);
		snc_rtt_sample(&want, rtts[i]);
		assert_int_equal(snc_rto(h->c), want.rto_ms);
	}
	assert_int_equal(snc_stats(h->c)->rtt_samples, 7);
	h_free(h);
}

static void test_karn(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	uint64_t samples;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600); /* RTO 1800 */
	samples = snc_stats(h->c)->rtt_samples;
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "m");
	m = h_expect(h, MQTTSN_PUBLISH);
	h_at(h, h->now + 1800);
	h_expect(h, MQTTSN_PUBLISH);
	/* The answer to a resent message measures nothing: which copy was it? */
	h_at(h, h->now + 100);
	h_gw_puback(h, 1, m.u.publish.msg_id, 0);
	h_event(h, SNC_EV_PUBLISHED);
	assert_int_equal(snc_stats(h->c)->rtt_samples, samples);
	assert_int_equal(snc_rto(h->c), 3600); /* still backed off */
	/* The next clean exchange measures again and ends the back-off. */
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "n");
	m = h_expect(h, MQTTSN_PUBLISH);
	h_at(h, h->now + 600);
	h_gw_puback(h, 1, m.u.publish.msg_id, 0);
	assert_int_equal(snc_stats(h->c)->rtt_samples, samples + 1);
	assert_true(snc_rto(h->c) < 3600);
	h_free(h);
}

static void test_qos2_pubrel_retransmitted(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	uint16_t id;

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 2, "q2");
	id = h_expect(h, MQTTSN_PUBLISH).u.publish.msg_id;
	h_at(h, h->now + 600);
	h_gw_msgid(h, MQTTSN_PUBREC, id);
	h_expect(h, MQTTSN_PUBREL);
	/* The PUBREL's own timer: resent, not the PUBLISH. */
	h_at(h, h->now + snc_rto(h->c));
	m = h_expect(h, MQTTSN_PUBREL);
	assert_int_equal(m.u.msg_id, id);
	h_gw_msgid(h, MQTTSN_PUBCOMP, id);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, 0);
	h_free(h);
}

static void test_subscribe_retransmitted_with_dup(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	struct snc_topic t = { SNC_TOPIC_NAME, "a/#", 3, 0 };

	(void)state;
	h_config(&cfg);
	h = h_new(&cfg);
	h_connect(h, 600);
	assert_int_equal(snc_subscribe_start(h->c, &t, 1, NULL, h->now), SNC_OK);
	m = h_expect(h, MQTTSN_SUBSCRIBE);
	assert_false(m.u.subscribe.flags.dup);
	h_at(h, h->now + 1800);
	m = h_expect(h, MQTTSN_SUBSCRIBE);
	assert_true(m.u.subscribe.flags.dup);
	h_gw_suback(h, 1, 0, m.u.subscribe.msg_id, 0);
	h_event(h, SNC_EV_SUBSCRIBED);
	h_free(h);
}

/* ---------------------------------------------------------------- keep-alive */

static void test_keep_alive(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	uint64_t due;

	(void)state;
	h_config(&cfg);
	cfg.keep_alive_s = 60;
	h = h_new(&cfg);
	h_connect(h, 600); /* CONNECT at 0, RTO 1800 */
	/* Within the period, one RTO early so that a retry still makes it. */
	due = h_at(h, 1000);
	assert_true(due == 60000 - 1800);
	h_at(h, due - 1);
	h_expect_quiet(h);
	h_at(h, due);
	m = h_expect(h, MQTTSN_PINGREQ);
	assert_int_equal(m.u.pingreq.client_id.len, 0);
	h_at(h, due + 600);
	h_gw_simple(h, MQTTSN_PINGRESP);
	/* RTO now 600 + 4 * 225; the next ping counts from the last datagram. */
	assert_int_equal(snc_rto(h->c), 1500);
	assert_true(h_at(h, h->now) == due + 60000 - 1500);

	/* Traffic puts the ping off. */
	h_at(h, 100000);
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 0, "q0");
	h_expect(h, MQTTSN_PUBLISH);
	h_event(h, SNC_EV_PUBLISHED);
	assert_true(h_at(h, h->now) == 100000 + 60000 - 1500);

	/* Unanswered pings: the gateway is gone after retry_count retries. */
	h_at(h, 158500);
	h_expect(h, MQTTSN_PINGREQ);
	for (int i = 0; i < 5; i++) {
		h_at(h, h_at(h, h->now));
		h_expect(h, MQTTSN_PINGREQ);
	}
	h_no_event(h);
	h_at(h, h_at(h, h->now));
	assert_int_equal(h_event(h, SNC_EV_GATEWAY_LOST)->rc, SNC_ERR_GONE);
	assert_int_equal(snc_state(h->c), SNC_STATE_LOST);
	assert_true(h_at(h, h->now) == UINT64_MAX);
	h_free(h);
}

/* ---------------------------------------------------------------- sleep */

static void test_sleep_cycle(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	const struct snc_event *ev;
	uint64_t wake;

	(void)state;
	h_config(&cfg);
	cfg.clean_session = false;
	cfg.keep_alive_s = 60;
	h = h_new(&cfg);
	h_connect(h, 600); /* RTO 1800 */
	assert_int_equal(snc_sleep_start(h->c, 0, h->now), SNC_ERR_INVALID);
	assert_int_equal(snc_wake_start(h->c, h->now), SNC_ERR_STATE);
	assert_int_equal(snc_sleep_start(h->c, 3600, h->now), SNC_OK);
	m = h_expect(h, MQTTSN_DISCONNECT);
	assert_true(m.u.disconnect.has_duration);
	assert_int_equal(m.u.disconnect.duration, 3600);
	assert_int_equal(snc_state(h->c), SNC_STATE_GOING_ASLEEP);
	h_at(h, h->now + 600);
	h_gw_simple(h, MQTTSN_DISCONNECT);
	h_event(h, SNC_EV_ASLEEP);
	assert_int_equal(snc_state(h->c), SNC_STATE_ASLEEP);

	/* Asleep: no keep-alive; the core wakes itself before the hour is up. */
	wake = h_at(h, h->now);
	assert_true(wake == h->now + 3600000 - snc_rto(h->c));
	h_at(h, wake - 1);
	h_expect_quiet(h);
	h_at(h, wake);
	m = h_expect(h, MQTTSN_PINGREQ);
	h_data_equal(m.u.pingreq.client_id, "station-7");
	assert_int_equal(snc_state(h->c), SNC_STATE_AWAKE);

	/* What the gateway kept comes first (a REGISTER, then the message). */
	h_at(h, h->now + 700);
	h_gw_register(h, 12, 1, "station/7/cmd");
	h_expect(h, MQTTSN_REGACK);
	h_gw_publish(h, 1, MQTTSN_TOPIC_NORMAL, 12, 2, "set rate 60", false);
	ev = h_event(h, SNC_EV_MESSAGE);
	assert_string_equal(ev->topic.name, "station/7/cmd");
	h_expect(h, MQTTSN_PUBACK);
	h_gw_simple(h, MQTTSN_PINGRESP);
	h_event(h, SNC_EV_AWAKE_DONE);
	assert_int_equal(snc_state(h->c), SNC_STATE_ASLEEP);
	wake = h_at(h, h->now);
	assert_true(wake == h->now + 3600000 - snc_rto(h->c));

	/* Waking early, on the application's say-so; a wake that goes
	 * unanswered ends with the gateway declared gone. */
	assert_int_equal(snc_wake_start(h->c, h->now + 10), SNC_OK);
	h->now += 10;
	h_expect(h, MQTTSN_PINGREQ);
	for (int i = 0; i < 5; i++) {
		h_at(h, h_at(h, h->now));
		h_expect(h, MQTTSN_PINGREQ);
	}
	h_at(h, h_at(h, h->now));
	h_event(h, SNC_EV_GATEWAY_LOST);
	assert_int_equal(snc_state(h->c), SNC_STATE_LOST);
	h_free(h);
}

static void test_sleep_to_active(void **state)
{
	struct snc_config cfg;
	struct harness *h;

	(void)state;
	h_config(&cfg);
	cfg.clean_session = false;
	h = h_new(&cfg);
	h_connect(h, 600);
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "pending");
	h_expect(h, MQTTSN_PUBLISH);
	/* Going to sleep ends what is pending. */
	assert_int_equal(snc_sleep_start(h->c, 600, h->now), SNC_OK);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, SNC_ERR_CLOSED);
	h_expect(h, MQTTSN_DISCONNECT);
	/* The gateway's answer is lost: the sleep request is retried. */
	h_at(h, h->now + snc_rto(h->c));
	assert_int_equal(h_expect(h, MQTTSN_DISCONNECT).u.disconnect.duration, 600);
	h_gw_simple(h, MQTTSN_DISCONNECT);
	h_event(h, SNC_EV_ASLEEP);
	/* 6.14: CONNECT brings a sleeping client back to active. */
	assert_int_equal(snc_connect_start(h->c, h->now), SNC_OK);
	h_expect(h, MQTTSN_CONNECT);
	h_gw_rc(h, MQTTSN_CONNACK, 0);
	h_event(h, SNC_EV_CONNECTED);
	assert_int_equal(snc_state(h->c), SNC_STATE_ACTIVE);
	h_free(h);
}

static void test_disconnect_unanswered(void **state)
{
	struct snc_config cfg;
	struct harness *h;

	(void)state;
	h_config(&cfg);
	cfg.retry_count = 1;
	h = h_new(&cfg);
	h_connect(h, 600);
	assert_int_equal(snc_disconnect_start(h->c, h->now), SNC_OK);
	h_expect(h, MQTTSN_DISCONNECT);
	h_at(h, h_at(h, h->now));
	h_expect(h, MQTTSN_DISCONNECT);
	h_at(h, h_at(h, h->now));
	assert_int_equal(h_event(h, SNC_EV_DISCONNECTED)->rc, SNC_ERR_GONE);
	assert_int_equal(snc_state(h->c), SNC_STATE_DISCONNECTED);
	h_free(h);
}

/* ---------------------------------------------------------------- snc_next_deadline */

/* snc_next_deadline() agrees with what snc_tick() returns at the same moment. */
static void same_as_tick(struct harness *h)
{
	uint64_t asked = snc_next_deadline(h->c);

	assert_true(asked == h_at(h, h->now));
}

static void test_next_deadline(void **state)
{
	struct snc_config cfg;
	struct harness *h;
	struct mqttsn_msg m;
	uint64_t sent;

	(void)state;
	h_config(&cfg);
	cfg.keep_alive_s = 60;
	h = h_new(&cfg);
	/* Nothing under way: no deadline. */
	assert_true(snc_next_deadline(h->c) == UINT64_MAX);

	/* A CONNECT waits one RTO (10 s before any sample). */
	assert_int_equal(snc_connect_start(h->c, 0), SNC_OK);
	h_expect(h, MQTTSN_CONNECT);
	assert_true(snc_next_deadline(h->c) == 10000);
	same_as_tick(h);

	/* Asking runs nothing: past the deadline, it is only reported as due. */
	h->now = 12000;
	assert_true(snc_next_deadline(h->c) == 10000);
	assert_true(snc_next_deadline(h->c) == 10000);
	h_expect_quiet(h);
	assert_int_equal(snc_stats(h->c)->retransmissions, 0);
	/* The tick does it, and the deadline moves on by the doubled wait. */
	assert_true(h_at(h, 12000) == 12000 + 20000);
	h_expect(h, MQTTSN_CONNECT);
	assert_true(snc_next_deadline(h->c) == 32000);

	/* An input moves it: CONNACK, then the keep-alive counts from the last
	 * datagram sent (12 s), one RTO early (RTO 20 s after the back-off,
	 * capped at a quarter of the period). */
	h->now = 13000;
	h_gw_rc(h, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	h_event(h, SNC_EV_CONNECTED);
	assert_true(snc_next_deadline(h->c) == 12000 + 60000 - 15000);
	same_as_tick(h);

	/* A request started between ticks moves it earlier: the PUBLISH's
	 * retransmission comes before the ping. */
	h->now = 14000;
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 1, 1, "21.5");
	m = h_expect(h, MQTTSN_PUBLISH);
	sent = h->now;
	assert_true(snc_next_deadline(h->c) == sent + snc_rto(h->c));
	same_as_tick(h);

	/* "Congestion": the publish waits a back-off; its time to go again is
	 * the deadline, before and after a tick that is not yet due. */
	h->now = 15000;
	h_gw_puback(h, 1, m.u.publish.msg_id, MQTTSN_RC_CONGESTION);
	{
		uint64_t again = snc_next_deadline(h->c);

		assert_true(again > h->now && again < 15000 + 60000);
		h->now = again - 1;
		same_as_tick(h);
		assert_true(snc_next_deadline(h->c) == again);
		h_expect_quiet(h);
		h_at(h, again);
		m = h_expect(h, MQTTSN_PUBLISH);
		assert_true(snc_next_deadline(h->c) == again + snc_rto(h->c));
	}
	h_gw_puback(h, 1, m.u.publish.msg_id, MQTTSN_RC_ACCEPTED);
	h_event(h, SNC_EV_PUBLISHED);

	/* Asleep: the time to wake. */
	assert_int_equal(snc_sleep_start(h->c, 600, h->now), SNC_OK);
	h_expect(h, MQTTSN_DISCONNECT);
	h_gw_simple(h, MQTTSN_DISCONNECT);
	h_event(h, SNC_EV_ASLEEP);
	{
		uint64_t wake = snc_next_deadline(h->c);

		assert_true(wake > h->now + 600000 - 150000 && wake < h->now + 600000);
		same_as_tick(h);
	}
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_backoff_then_lost),
		cmocka_unit_test(test_connect_forever),
		cmocka_unit_test(test_publish_retries_then_lost),
		cmocka_unit_test(test_window_timeout_backs_off_once),
		cmocka_unit_test(test_rtt_estimation),
		cmocka_unit_test(test_karn),
		cmocka_unit_test(test_qos2_pubrel_retransmitted),
		cmocka_unit_test(test_subscribe_retransmitted_with_dup),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_sleep_cycle),
		cmocka_unit_test(test_sleep_to_active),
		cmocka_unit_test(test_disconnect_unanswered),
		cmocka_unit_test(test_next_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
