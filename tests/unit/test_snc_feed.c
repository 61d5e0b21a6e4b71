/*
 * test_snc_feed.c - the client core draining the persistent queue
 * (sn-client/feed.h): in order and by priority while connected, a record
 * removed only by the gateway's acknowledgement, messages in flight kept
 * through a lost gateway and a restart, refusals and expiry accounted.
 */
#include <dirent.h>
#include <unistd.h>

#include "sn-client/feed.h"
#include "tests/unit/test_snc_harness.h"

struct fx {
	char dir[256];
	struct snc_queue *q;
	struct snc_feed feed;
	uint64_t wall;             /* the queue's clock, ms */
	struct harness *h;
};

static uint64_t wall_clock(void *arg)
{
	return ((struct fx *)arg)->wall;
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[600];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		int n;

		if (e->d_name[0] == '.')
			continue;
		n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		assert_true(n > 0 && (size_t)n < sizeof path);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void open_queue(struct fx *f)
{
	char err[256];

	assert_int_equal(snc_queue_open(&f->q, f->dir, NULL, err, sizeof err), SNC_OK);
	snc_feed_init(&f->feed, f->q, wall_clock, f);
}

static struct fx *fx_new(uint32_t window)
{
	struct fx *f = calloc(1, sizeof *f);
	struct snc_config cfg;
	const char *base = getenv("TMPDIR");

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "%s/snc-feed-XXXXXX", base != NULL ? base : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	open_queue(f);
	h_config(&cfg);
	cfg.inflight_window = window;
	f->h = h_new(&cfg);
	snc_set_source(f->h->c, snc_feed_source(), &f->feed);
	f->wall = 1700000000000u;
	return f;
}

static void fx_free(struct fx *f)
{
	h_free(f->h);
	snc_queue_close(f->q);
	rm_rf(f->dir);
	free(f);
}

static void push(struct fx *f, const char *topic, uint16_t id, int qos, unsigned prio,
                 const char *body)
{
	struct snc_message m = h_msg(topic != NULL ? SNC_TOPIC_NAME : SNC_TOPIC_PREDEFINED, topic,
	                             id, qos, body);

	m.priority = (uint8_t)prio;
	assert_int_equal(snc_queue_push(f->q, &m, f->wall), SNC_OK);
}

/* Expects a PUBLISH of body and returns its message id. */
static uint16_t expect_pub(struct harness *h, const char *body)
{
	struct mqttsn_msg m = h_expect(h, MQTTSN_PUBLISH);

	h_data_equal(m.u.publish.data, body);
	return m.u.publish.msg_id;
}

/* ---------------------------------------------------------------- tests */

static void test_drain_in_order(void **state)
{
	struct fx *f = fx_new(1);
	struct harness *h = f->h;
	struct mqttsn_msg m;
	const struct snc_event *ev;
	static const char *const order[] = { "ALARM", "r1", "r2", "r3" };

	(void)state;
	push(f, "station/7/t", 0, 1, SNC_PRIO_ROUTINE, "r1");
	push(f, NULL, 20, 1, SNC_PRIO_ROUTINE, "r2");
	push(f, "station/7/t", 0, 1, SNC_PRIO_ROUTINE, "r3");
	push(f, NULL, 21, 2, SNC_PRIO_ALARM, "ALARM");
	/* Nothing goes before the connection is up. */
	h_at(h, 0);
	h_expect_quiet(h);
	h_connect(h, 600);

	for (size_t i = 0; i < 4; i++) {
		uint16_t id;

		if (i == 1) {
			/* The first routine message names its topic: REGISTER first. */
			m = h_expect(h, MQTTSN_REGISTER);
			h_gw_regack(h, 9, m.u.reg.msg_id, 0);
		}
		id = expect_pub(h, order[i]);
		h_expect_quiet(h); /* stop-and-wait */
		assert_int_equal(snc_queue_count(f->q), 4 - i);
		if (i == 0) {
			h_gw_msgid(h, MQTTSN_PUBREC, id);
			h_expect(h, MQTTSN_PUBREL);
			h_gw_msgid(h, MQTTSN_PUBCOMP, id);
		} else {
			h_gw_puback(h, 0, id, 0);
		}
		ev = h_event(h, SNC_EV_PUBLISHED);
		assert_int_equal(ev->rc, 0);
		assert_true(ev->from_source);
		/* The acknowledgement removed the record. */
		assert_int_equal(snc_queue_count(f->q), 3 - i);
	}
	h_expect_quiet(h);
	assert_int_equal(snc_queue_stats(f->q)->delivered, 4);

	/* A message queued while connected goes at the next tick. */
	push(f, NULL, 20, 1, SNC_PRIO_ROUTINE, "later");
	h_expect_quiet(h);
	h_at(h, h->now + 1);
	h_gw_puback(h, 20, expect_pub(h, "later"), 0);
	assert_int_equal(snc_queue_count(f->q), 0);
	assert_int_equal(f->feed.last_err, SNC_OK);
	fx_free(f);
}

static void test_window_from_queue(void **state)
{
	struct fx *f = fx_new(3);
	struct harness *h = f->h;
	uint16_t id[5];
	static const char *const bodies[] = { "a", "b", "c", "d", "e" };

	(void)state;
	for (int i = 0; i < 5; i++)
		push(f, NULL, 1, 1, 0, bodies[i]);
	h_connect(h, 600);
	for (int i = 0; i < 3; i++)
		id[i] = expect_pub(h, bodies[i]);
	h_expect_quiet(h);
	h_gw_puback(h, 1, id[1], 0);
	id[3] = expect_pub(h, "d");
	h_gw_puback(h, 1, id[0], 0);
	id[4] = expect_pub(h, "e");
	h_gw_puback(h, 1, id[2], 0);
	h_gw_puback(h, 1, id[3], 0);
	h_gw_puback(h, 1, id[4], 0);
	assert_int_equal(snc_queue_count(f->q), 0);
	fx_free(f);
}

static void test_lost_gateway_keeps_message(void **state)
{
	struct fx *f = fx_new(1);
	struct harness *h = f->h;
	uint16_t id;

	(void)state;
	push(f, NULL, 1, 1, 0, "one");
	push(f, NULL, 1, 1, 0, "two");
	h_connect(h, 600);
	expect_pub(h, "one");
	/* No answer, ever: the gateway is declared gone. */
	for (int i = 0; i < 6; i++)
		h_at(h, h_at(h, h->now));
	h_event(h, SNC_EV_GATEWAY_LOST);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, SNC_ERR_GONE);
	assert_int_equal(snc_state(h->c), SNC_STATE_LOST);
	/* The message stays queued, and is first again. */
	assert_int_equal(snc_queue_count(f->q), 2);
	h->nsent = h->taken = 0;

	/* The station restarts while the link is down. */
	snc_queue_close(f->q);
	open_queue(f);
	assert_int_equal(snc_queue_count(f->q), 2);

	h_connect(h, 600);
	id = expect_pub(h, "one");
	h_gw_puback(h, 1, id, 0);
	h_gw_puback(h, 1, expect_pub(h, "two"), 0);
	assert_int_equal(snc_queue_count(f->q), 0);
	fx_free(f);
}

static void test_refused_and_congested(void **state)
{
	struct fx *f = fx_new(1);
	struct harness *h = f->h;
	uint16_t id;
	uint64_t next;

	(void)state;
	push(f, NULL, 1, 1, 0, "refused");
	push(f, NULL, 1, 1, 0, "congested");
	h_connect(h, 600);
	id = expect_pub(h, "refused");
	/* Refused for good: removed, counted apart, and the queue moves on. */
	h_gw_puback(h, 1, id, MQTTSN_RC_NOT_SUPPORTED);
	assert_int_equal(h_event(h, SNC_EV_PUBLISHED)->rc, MQTTSN_RC_NOT_SUPPORTED);
	assert_int_equal(snc_queue_stats(f->q)->refused, 1);
	id = expect_pub(h, "congested");
	h_gw_puback(h, 1, id, MQTTSN_RC_CONGESTION);
	h_expect_quiet(h);
	assert_int_equal(snc_queue_count(f->q), 1);
	next = h_at(h, h->now);
	h_at(h, next);
	h_gw_puback(h, 1, expect_pub(h, "congested"), 0);
	assert_int_equal(snc_queue_count(f->q), 0);
	fx_free(f);
}

static void test_qos0_and_expiry(void **state)
{
	struct fx *f = fx_new(1);
	struct harness *h = f->h;
	struct snc_message m = h_msg(SNC_TOPIC_PREDEFINED, NULL, 3, 1, "stale");

	(void)state;
	m.ttl_s = 60;
	assert_int_equal(snc_queue_push(f->q, &m, f->wall), SNC_OK);
	push(f, NULL, 3, 0, 0, "q0-a");
	push(f, NULL, 3, -1, 0, "q-1");
	/* An hour passes before the link comes up: the first has expired. */
	f->wall += 3600u * 1000u;
	h_connect(h, 600);
	/* QoS 0 and -1 need no answer: sent is delivered, and removed. */
	expect_pub(h, "q0-a");
	expect_pub(h, "q-1");
	h_expect_quiet(h);
	assert_int_equal(snc_queue_count(f->q), 0);
	assert_int_equal(snc_queue_stats(f->q)->expired, 1);
	assert_int_equal(snc_queue_stats(f->q)->delivered, 2);
	fx_free(f);
}

static void test_app_publishes_go_first(void **state)
{
	struct fx *f = fx_new(1);
	struct harness *h = f->h;

	(void)state;
	push(f, NULL, 1, 1, 0, "queued");
	h_publish(h, SNC_TOPIC_PREDEFINED, NULL, 2, 1, "direct");
	h_connect(h, 600);
	h_gw_puback(h, 2, expect_pub(h, "direct"), 0);
	h_gw_puback(h, 1, expect_pub(h, "queued"), 0);
	assert_int_equal(snc_queue_count(f->q), 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drain_in_order),
		cmocka_unit_test(test_window_from_queue),
		cmocka_unit_test(test_lost_gateway_keeps_message),
		cmocka_unit_test(test_refused_and_congested),
		cmocka_unit_test(test_qos0_and_expiry),
		cmocka_unit_test(test_app_publishes_go_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
