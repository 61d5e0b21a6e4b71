/*
 * test_snc_resume.c - exactly once across a crash: the client core draining
 * the persistent queue (feed.h) records each QoS 1/2 message's msg id and
 * progress before its packet leaves, and after a restart (or a lost
 * connection) finishes it where it stopped: PUBLISH again with DUP and the
 * same msg id when no PUBREC came, PUBREL when it did. Also: new msg ids
 * keep clear of the marked ones, "congestion" never drops a queued message,
 * and a mark that cannot be written holds the packet back.
 */
#include <dirent.h>
#include <unistd.h>

#include "sn-client/feed.h"
#include "tests/unit/test_snc_harness.h"

struct fx {
	char dir[256];
	struct snc_config cfg;
	struct snc_queue *q;
	struct snc_feed feed;
	struct snc_source src;     /* the feed's operations, maybe wrapped */
	unsigned fail_marks;       /* marks to refuse before accepting again */
	unsigned marks_refused;
	uint64_t wall;
	struct harness *h;
};

static uint64_t wall_clock(void *arg)
{
	return ((struct fx *)arg)->wall;
}

/* The source's operations go through these, so that marks can fail. */
static int fx_next(void *ctx, struct snc_message *out)
{
	struct fx *f = ctx;

	return snc_feed_source()->next(&f->feed, out);
}

static void fx_done(void *ctx, uint64_t seq, int result)
{
	struct fx *f = ctx;

	snc_feed_source()->done(&f->feed, seq, result);
}

static void fx_release(void *ctx, uint64_t seq)
{
	struct fx *f = ctx;

	snc_feed_source()->release(&f->feed, seq);
}

static int fx_mark(void *ctx, uint64_t seq, uint16_t msg_id, enum snc_claim state)
{
	struct fx *f = ctx;

	if (f->fail_marks > 0) {
		f->fail_marks--;
		f->marks_refused++;
		return SNC_ERR_IO;
	}
	return snc_feed_source()->mark(&f->feed, seq, msg_id, state);
}

static bool fx_marked(void *ctx, uint16_t msg_id)
{
	struct fx *f = ctx;

	return snc_feed_source()->msg_id_marked(&f->feed, msg_id);
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

/* Opens the queue and a fresh core on it: what a station does at boot. */
static void boot(struct fx *f)
{
	char err[256];

	assert_int_equal(snc_queue_open(&f->q, f->dir, NULL, err, sizeof err), SNC_OK);
	snc_feed_init(&f->feed, f->q, wall_clock, f);
	f->h = h_new(&f->cfg);
	snc_set_source(f->h->c, &f->src, f);
}

/* A crash: the process is gone without a word to anyone. What the queue
 * wrote is on disk (kill -9 keeps written data; QoS 2 marks are synced). */
static void crash_and_boot(struct fx *f)
{
	h_free(f->h);
	snc_queue_close(f->q);
	boot(f);
}

static struct fx *fx_new(uint32_t window)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *base = getenv("TMPDIR");

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "%s/snc-resume-XXXXXX", base != NULL ? base : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	h_config(&f->cfg);
	f->cfg.inflight_window = window;
	f->src = (struct snc_source){ fx_next, fx_done, fx_release, fx_mark, fx_marked };
	f->wall = 1700000000000u;
	boot(f);
	return f;
}

static void fx_free(struct fx *f)
{
	h_free(f->h);
	snc_queue_close(f->q);
	rm_rf(f->dir);
	free(f);
}

static void push(struct fx *f, const char *topic, uint16_t id, int qos, const char *body)
{
	struct snc_message m = h_msg(topic != NULL ? SNC_TOPIC_NAME : SNC_TOPIC_PREDEFINED, topic,
	                             id, qos, body);

	assert_int_equal(snc_queue_push(f->q, &m, f->wall), SNC_OK);
}

/* Expects a PUBLISH of body with this DUP flag; returns its msg id. */
static uint16_t expect_pub(struct harness *h, const char *body, bool dup)
{
	struct mqttsn_msg m = h_expect(h, MQTTSN_PUBLISH);

	h_data_equal(m.u.publish.data, body);
	assert_int_equal(m.u.publish.flags.dup, dup);
	assert_true(m.u.publish.msg_id != 0);
	return m.u.publish.msg_id;
}

/* Expects a REGISTER of name and answers it with topic_id. */
static void expect_register(struct harness *h, const char *name, uint16_t topic_id)
{
	struct mqttsn_msg m = h_expect(h, MQTTSN_REGISTER);

	h_data_equal(m.u.reg.topic_name, name);
	h_gw_regack(h, topic_id, m.u.reg.msg_id, 0);
}

static void expect_published(struct harness *h, int rc)
{
	const struct snc_event *ev = h_event(h, SNC_EV_PUBLISHED);

	assert_int_equal(ev->rc, rc);
	assert_true(ev->from_source);
}

/* ---------------------------------------------------------------- QoS 2 */

static void test_qos2_crash_before_pubrec(void **state)
{
	struct fx *f = fx_new(1);
	uint16_t id, id2;

	(void)state;
	push(f, "st/7/t", 0, 2, "a");
	push(f, "st/7/t", 0, 2, "b");
	h_connect(f->h, 600);
	expect_register(f->h, "st/7/t", 9);
	id = expect_pub(f->h, "a", false);
	/* The PUBLISH left (the gateway may have it); the station dies. */
	crash_and_boot(f);
	assert_int_equal(snc_queue_stats(f->q)->in_flight_qos2, 1);

	h_connect(f->h, 600);
	/* The topic id was in memory: registered again; then the same PUBLISH,
	 * DUP and the same msg id, so that the gateway can tell a repeat. */
	expect_register(f->h, "st/7/t", 9);
	assert_int_equal(expect_pub(f->h, "a", true), id);
	h_expect_quiet(f->h);
	h_gw_msgid(f->h, MQTTSN_PUBREC, id);
	assert_int_equal(h_expect(f->h, MQTTSN_PUBREL).u.msg_id, id);
	assert_int_equal(snc_queue_count(f->q), 2);
	h_gw_msgid(f->h, MQTTSN_PUBCOMP, id);
	expect_published(f->h, 0);
	assert_int_equal(snc_queue_count(f->q), 1);
	assert_int_equal(snc_stats(f->h->c)->resumed, 1);

	/* The next one is new: no DUP (its msg id may be the one just freed). */
	id2 = expect_pub(f->h, "b", false);
	h_gw_msgid(f->h, MQTTSN_PUBREC, id2);
	h_expect(f->h, MQTTSN_PUBREL);
	h_gw_msgid(f->h, MQTTSN_PUBCOMP, id2);
	expect_published(f->h, 0);
	assert_int_equal(snc_queue_count(f->q), 0);
	assert_int_equal(snc_queue_stats(f->q)->in_flight, 0);
	fx_free(f);
}

static void test_qos2_crash_after_pubrec(void **state)
{
	struct fx *f = fx_new(1);
	uint16_t id;

	(void)state;
	push(f, "st/7/t", 0, 2, "a");
	push(f, "st/7/t", 0, 2, "b");
	h_connect(f->h, 600);
	expect_register(f->h, "st/7/t", 9);
	id = expect_pub(f->h, "a", false);
	h_gw_msgid(f->h, MQTTSN_PUBREC, id);
	h_expect(f->h, MQTTSN_PUBREL);
	/* PUBREL went, PUBCOMP never came back: the gateway has released the
	 * message to its broker. Sending the PUBLISH again would duplicate it. */
	crash_and_boot(f);

	h_connect(f->h, 600);
	/* Only the PUBREL is left: no REGISTER, no PUBLISH. */
	assert_int_equal(h_expect(f->h, MQTTSN_PUBREL).u.msg_id, id);
	h_expect_quiet(f->h);
	/* Retransmitted like any PUBREL until PUBCOMP comes. */
	h_at(f->h, h_at(f->h, f->h->now));
	assert_int_equal(h_expect(f->h, MQTTSN_PUBREL).u.msg_id, id);
	h_gw_msgid(f->h, MQTTSN_PUBCOMP, id);
	expect_published(f->h, 0);
	assert_int_equal(snc_queue_count(f->q), 1);
	expect_register(f->h, "st/7/t", 9);
	id = expect_pub(f->h, "b", false);
	h_gw_msgid(f->h, MQTTSN_PUBREC, id);
	h_expect(f->h, MQTTSN_PUBREL);
	h_gw_msgid(f->h, MQTTSN_PUBCOMP, id);
	assert_int_equal(snc_queue_count(f->q), 0);
	fx_free(f);
}

static void test_qos2_crash_before_mark(void **state)
{
	struct fx *f = fx_new(1);

	(void)state;
	push(f, NULL, 20, 2, "a");
	/* The mark cannot be written: the PUBLISH must not leave either. */
	f->fail_marks = 1;
	h_connect(f->h, 600);
	h_expect_quiet(f->h);
	expect_published(f->h, SNC_ERR_IO);
	assert_int_equal(f->marks_refused, 1);
	assert_int_equal(snc_stats(f->h->c)->mark_failed, 1);
	crash_and_boot(f);
	/* Nothing was marked, so nothing is resumed: a plain first send. */
	assert_int_equal(snc_queue_stats(f->q)->in_flight, 0);
	h_connect(f->h, 600);
	expect_pub(f->h, "a", false);
	fx_free(f);
}

static void test_qos2_lost_connection_resumes(void **state)
{
	struct fx *f = fx_new(1);
	uint16_t id;

	(void)state;
	push(f, NULL, 20, 2, "a");
	h_connect(f->h, 600);
	id = expect_pub(f->h, "a", false);
	h_gw_msgid(f->h, MQTTSN_PUBREC, id);
	h_expect(f->h, MQTTSN_PUBREL);
	/* No PUBCOMP, ever: the gateway is declared gone. */
	for (int i = 0; i < 6; i++)
		h_at(f->h, h_at(f->h, f->h->now));
	h_event(f->h, SNC_EV_GATEWAY_LOST);
	expect_published(f->h, SNC_ERR_GONE);
	f->h->nsent = f->h->taken = 0;
	/* Without a restart: the next connection picks up at PUBREL too. */
	h_connect(f->h, 600);
	assert_int_equal(h_expect(f->h, MQTTSN_PUBREL).u.msg_id, id);
	h_gw_msgid(f->h, MQTTSN_PUBCOMP, id);
	expect_published(f->h, 0);
	assert_int_equal(snc_queue_count(f->q), 0);
	fx_free(f);
}

static void test_pubrel_mark_failure(void **state)
{
	struct fx *f = fx_new(1);
	uint16_t id;

	(void)state;
	push(f, NULL, 20, 2, "a");
	h_connect(f->h, 600);
	id = expect_pub(f->h, "a", false);
	/* PUBREC, but the PUBREL mark cannot be written: no PUBREL, since a
	 * crash after it would resend the PUBLISH of a released message. */
	f->fail_marks = 1;
	h_gw_msgid(f->h, MQTTSN_PUBREC, id);
	h_expect_quiet(f->h);
	/* The PUBLISH is retransmitted at its timeout; the gateway says PUBREC
	 * again, and now the mark goes to disk and the PUBREL out. */
	h_at(f->h, h_at(f->h, f->h->now));
	assert_int_equal(expect_pub(f->h, "a", true), id);
	h_gw_msgid(f->h, MQTTSN_PUBREC, id);
	assert_int_equal(h_expect(f->h, MQTTSN_PUBREL).u.msg_id, id);
	h_gw_msgid(f->h, MQTTSN_PUBCOMP, id);
	expect_published(f->h, 0);
	assert_int_equal(snc_queue_count(f->q), 0);
	fx_free(f);
}

/* ---------------------------------------------------------------- QoS 1 */

static void test_qos1_crash_before_puback(void **state)
{
	struct fx *f = fx_new(1);
	uint16_t id;

	(void)state;
	push(f, NULL, 20, 1, "a");
	h_connect(f->h, 600);
	id = expect_pub(f->h, "a", false);
	crash_and_boot(f);
	assert_int_equal(snc_queue_stats(f->q)->in_flight, 1);
	assert_int_equal(snc_queue_stats(f->q)->in_flight_qos2, 0);
	h_connect(f->h, 600);
	assert_int_equal(expect_pub(f->h, "a", true), id);
	h_gw_puback(f->h, 20, id, 0);
	expect_published(f->h, 0);
	assert_int_equal(snc_queue_count(f->q), 0);
	fx_free(f);
}

/* ---------------------------------------------------------------- msg ids */

static void test_new_ids_avoid_marked(void **state)
{
	struct fx *f = fx_new(2);
	uint16_t a, b, app;
	struct mqttsn_msg m;

	(void)state;
	push(f, NULL, 20, 2, "a");
	push(f, NULL, 20, 2, "b");
	h_connect(f->h, 600);
	a = expect_pub(f->h, "a", false);
	b = expect_pub(f->h, "b", false);
	crash_and_boot(f);

	/* After the restart the application publishes first (it goes before
	 * the queue): its new msg id must not be one the gateway holds. */
	h_publish(f->h, SNC_TOPIC_PREDEFINED, NULL, 21, 1, "app");
	h_connect(f->h, 600);
	m = h_expect(f->h, MQTTSN_PUBLISH);
	h_data_equal(m.u.publish.data, "app");
	app = m.u.publish.msg_id;
	assert_true(app != a && app != b);
	h_gw_puback(f->h, 21, app, 0);
	assert_int_equal(h_event(f->h, SNC_EV_PUBLISHED)->rc, 0);
	assert_int_equal(expect_pub(f->h, "a", true), a);
	assert_int_equal(expect_pub(f->h, "b", true), b);
	fx_free(f);
}

/* ---------------------------------------------------------------- congestion */

static void test_congestion_keeps_message(void **state)
{
	struct fx *f = fx_new(1);
	uint64_t last_wait = 0;
	uint16_t id, again;

	(void)state;
	push(f, NULL, 20, 2, "a");
	h_connect(f->h, 600);
	id = expect_pub(f->h, "a", false);
	/* The broker is unreachable: congestion, many more times than
	 * retry_count. The message stays, goes again after a growing back-off
	 * with the same msg id, and no refusal ever reaches the application. */
	for (int i = 0; i < 12; i++) {
		uint64_t sent_at = f->h->now, next;

		h_gw_puback(f->h, 20, id, MQTTSN_RC_CONGESTION);
		h_expect_quiet(f->h);
		h_no_event(f->h);
		assert_int_equal(snc_queue_count(f->q), 1);
		next = h_at(f->h, f->h->now);
		assert_true(next > sent_at);
		assert_true(next - sent_at >= last_wait);
		assert_true(next - sent_at <= f->cfg.retry_max_ms);
		last_wait = next - sent_at;
		h_at(f->h, next);
		again = expect_pub(f->h, "a", false);
		assert_int_equal(again, id);
	}
	assert_int_equal(last_wait, f->cfg.retry_max_ms);
	assert_int_equal(snc_stats(f->h->c)->congestion, 12);
	/* The broker is back. */
	h_gw_msgid(f->h, MQTTSN_PUBREC, id);
	h_expect(f->h, MQTTSN_PUBREL);
	h_gw_msgid(f->h, MQTTSN_PUBCOMP, id);
	expect_published(f->h, 0);
	assert_int_equal(snc_queue_count(f->q), 0);
	assert_int_equal(snc_queue_stats(f->q)->refused, 0);
	fx_free(f);
}

static void test_congestion_pauses_the_queue(void **state)
{
	struct fx *f = fx_new(4);
	uint16_t a, b;

	(void)state;
	push(f, NULL, 20, 1, "a");
	push(f, NULL, 20, 1, "b");
	h_connect(f->h, 600);
	a = expect_pub(f->h, "a", false);
	b = expect_pub(f->h, "b", false);
	h_gw_puback(f->h, 20, a, MQTTSN_RC_CONGESTION);
	h_gw_puback(f->h, 20, b, MQTTSN_RC_CONGESTION);
	/* Nothing more is sent until the back-offs are over, then a and b in
	 * order, and only then what was queued since. */
	push(f, NULL, 20, 1, "c");
	h_at(f->h, f->h->now + 100);
	h_expect_quiet(f->h);
	h_at(f->h, h_at(f->h, f->h->now));
	assert_int_equal(expect_pub(f->h, "a", false), a);
	h_expect_quiet(f->h);
	h_at(f->h, h_at(f->h, f->h->now));
	assert_int_equal(expect_pub(f->h, "b", false), b);
	h_gw_puback(f->h, 20, a, 0);
	h_gw_puback(f->h, 20, b, 0);
	h_gw_puback(f->h, 20, expect_pub(f->h, "c", false), 0);
	assert_int_equal(snc_queue_count(f->q), 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qos2_crash_before_pubrec),
		cmocka_unit_test(test_qos2_crash_after_pubrec),
		cmocka_unit_test(test_qos2_crash_before_mark),
		cmocka_unit_test(test_qos2_lost_connection_resumes),
		cmocka_unit_test(test_pubrel_mark_failure),
		cmocka_unit_test(test_qos1_crash_before_puback),
		cmocka_unit_test(test_new_ids_avoid_marked),
		cmocka_unit_test(test_congestion_keeps_message),
		cmocka_unit_test(test_congestion_pauses_the_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
