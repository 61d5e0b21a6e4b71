/*
 * test_custody_release.c - the drainer's start after a restart
 * (bridge/custody_release.h): the store's PUBREC marks released with lone
 * PUBRELs, or cleared where that cannot be done, before anything is
 * published. The broker connection is faked (the three gw_broker_custody_
 * calls it makes are defined here, so the real ones are not linked in); the
 * store is real; a deadline is its timer called with the time it was armed
 * for.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bridge/custody_release.h"

#define T0 1700000000000ull

/* ---------------------------------------------------------------- the fake broker */

static bool plain = true;      /* gw_broker_custody_lone_pubrel() */
static bool write_fails;       /* gw_broker_custody_release() fails (and drops) */
static uint16_t sent[2048];    /* every PUBREL written, in order */
static size_t nsent, calls, drops;

bool gw_broker_custody_lone_pubrel(const struct gw_broker *b)
{
	(void)b;
	return plain;
}

int gw_broker_custody_release(struct gw_broker *b, const uint16_t *mids, size_t n)
{
	(void)b;
	assert_true(n >= 1 && n <= GW_BROKER_RELEASE_MAX);
	calls++;
	if (write_fails) {
		drops++;
		return -1;
	}
	assert_true(nsent + n <= sizeof sent / sizeof sent[0]);
	memcpy(sent + nsent, mids, n * sizeof *mids);
	nsent += n;
	return 0;
}

void gw_broker_custody_drop(struct gw_broker *b)
{
	(void)b;
	drops++;
}

/* ---------------------------------------------------------------- set-up */

struct ctx {
	char dir[64];
	struct gw_loop *loop;
	struct gw_store *store;
	struct cust_release r;
	unsigned finished;
};

static void on_finished(void *arg)
{
	struct ctx *c = arg;
	c->finished++;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof *c);
	struct gw_store_config cfg;
	char err[256];

	assert_non_null(c);
	strcpy(c->dir, "/tmp/test_custody_release.XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	gw_store_config_defaults(&cfg);
	cfg.sync = GW_STORE_SYNC_NEVER;
	assert_int_equal(gw_store_open(&c->store, c->dir, &cfg, err, sizeof err), GW_STORE_OK);
	c->loop = gw_loop_new(err, sizeof err);
	assert_non_null(c->loop);
	plain = true;
	write_fails = false;
	nsent = calls = drops = 0;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	DIR *d;
	struct dirent *e;
	char p[400];

	cust_release_free(&c->r);
	gw_store_close(c->store);
	gw_loop_free(c->loop);
	d = opendir(c->dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", c->dir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(c->dir);
	free(c);
	return 0;
}

/* A stored QoS 2 message of id; marked with mid unless 0. Returns its seq. */
static uint64_t message(struct ctx *c, const char *id, uint16_t mid)
{
	static uint16_t msg_id;
	struct gw_store_msg m = { .client_id = id, .topic = "t", .topic_len = 1,
	                          .payload = (const uint8_t *)"x", .payload_len = 1, .qos = 2,
	                          .msg_id = ++msg_id ? msg_id : ++msg_id };

	assert_int_equal(gw_store_up_put(c->store, &m, T0), GW_STORE_OK);
	if (mid != 0)
		assert_int_equal(gw_store_up_mark(c->store, id, m.seq, mid), GW_STORE_OK);
	return m.seq;
}

/* The mark of message seq of id as the store has it; -1: no such message. */
static int mark_of(struct ctx *c, const char *id, uint64_t seq)
{
	struct gw_store_msg m;

	if (gw_store_up_peek(c->store, id, seq - 1, T0, &m) != GW_STORE_OK || m.seq != seq)
		return -1;
	return m.broker_mid;
}

static void init(struct ctx *c)
{
	assert_int_equal(cust_release_init(&c->r, c->loop, NULL, c->store, on_finished, c), 0);
}

/* The deadline passes. */
static void expire(struct ctx *c)
{
	c->r.timer.fn(c->r.timer.arg, c->r.deadline);
}

/* ---------------------------------------------------------------- tests */

static void test_nothing_marked(void **state)
{
	struct ctx *c = *state;

	message(c, "a", 0);
	init(c);
	assert_false(cust_release_busy(&c->r));
	assert_true(c->r.marking);
	cust_release_connected(&c->r, true);
	assert_int_equal(calls, 0);
	assert_int_equal(c->finished, 0);
}

static void test_released(void **state)
{
	struct ctx *c = *state;
	uint64_t a = message(c, "a", 7), b = message(c, "b", 5), u = message(c, "a", 0),
	         d = message(c, "b", 6);

	init(c);
	assert_true(cust_release_busy(&c->r));
	/* nothing goes before the connection is up, nor is a PUBCOMP taken */
	cust_release_completed(&c->r, 5, 0);
	assert_int_equal(mark_of(c, "b", b), 5);
	cust_release_connected(&c->r, true);
	assert_int_equal(calls, 1);
	assert_int_equal(nsent, 3);
	assert_int_equal(sent[0], 5);
	assert_int_equal(sent[1], 6);
	assert_int_equal(sent[2], 7);
	/* a PUBCOMP for an id not sent, or twice, changes nothing */
	cust_release_completed(&c->r, 99, 0);
	cust_release_completed(&c->r, 6, 0x92);
	assert_int_equal(mark_of(c, "b", d), -1);
	cust_release_completed(&c->r, 6, 0);
	assert_true(cust_release_busy(&c->r));
	cust_release_completed(&c->r, 5, 0);
	assert_int_equal(c->finished, 0);
	cust_release_completed(&c->r, 7, 0);
	assert_false(cust_release_busy(&c->r));
	assert_int_equal(c->finished, 1);
	assert_int_equal(c->r.released, 3);
	/* done in the store; the unmarked one waits to be published */
	assert_int_equal(mark_of(c, "a", a), -1);
	assert_int_equal(mark_of(c, "b", b), -1);
	assert_int_equal(mark_of(c, "a", u), 0);
	assert_int_equal(gw_store_stats(c->store)->marks, 0);
	/* later PUBCOMPs are libmosquitto's own */
	cust_release_completed(&c->r, 7, 0);
	cust_release_connected(&c->r, true);
	assert_int_equal(calls, 1);
	assert_int_equal(c->finished, 1);
}

static void test_sent_again_after_a_drop(void **state)
{
	struct ctx *c = *state;

	message(c, "a", 3);
	message(c, "a", 4);
	init(c);
	cust_release_connected(&c->r, true);
	cust_release_completed(&c->r, 3, 0);
	cust_release_lost(&c->r);
	/* a PUBCOMP can only come on the connection its PUBREL went on */
	cust_release_completed(&c->r, 4, 0);
	assert_true(cust_release_busy(&c->r));
	cust_release_connected(&c->r, true);
	assert_int_equal(calls, 2);
	assert_int_equal(nsent, 3);
	assert_int_equal(sent[2], 4);
	cust_release_completed(&c->r, 4, 0);
	assert_false(cust_release_busy(&c->r));
	assert_int_equal(c->finished, 1);
}

static void test_write_fails(void **state)
{
	struct ctx *c = *state;

	message(c, "a", 3);
	init(c);
	write_fails = true;
	cust_release_connected(&c->r, true);
	assert_int_equal(drops, 1);
	cust_release_lost(&c->r);
	write_fails = false;
	cust_release_connected(&c->r, true);
	assert_int_equal(nsent, 1);
	cust_release_completed(&c->r, 3, 0);
	assert_false(cust_release_busy(&c->r));
}

static void test_no_session(void **state)
{
	struct ctx *c = *state;
	uint64_t a = message(c, "a", 3);

	init(c);
	/* the broker kept nothing under those ids: published again */
	cust_release_connected(&c->r, false);
	assert_int_equal(calls, 0);
	assert_false(cust_release_busy(&c->r));
	assert_int_equal(c->finished, 1);
	assert_int_equal(mark_of(c, "a", a), 0);
	assert_int_equal(c->r.cleared, 1);
	assert_true(c->r.marking);
}

static void test_tls(void **state)
{
	struct ctx *c = *state;
	uint64_t a = message(c, "a", 3);

	plain = false;
	init(c);
	assert_false(c->r.marking);
	assert_false(cust_release_busy(&c->r));
	assert_int_equal(mark_of(c, "a", a), 0);
	cust_release_connected(&c->r, true);
	assert_int_equal(calls, 0);
}

static void test_deadlines(void **state)
{
	struct ctx *c = *state;
	uint64_t a = message(c, "a", 3);

	init(c);
	for (unsigned i = 1; i < CUSTODY_RELEASE_TRIES; i++) {
		cust_release_connected(&c->r, true);
		assert_int_equal(nsent, i);
		expire(c);
		/* dropped: sent again on the next connection */
		assert_int_equal(drops, i);
		assert_true(cust_release_busy(&c->r));
		cust_release_lost(&c->r);
		assert_true(cust_release_busy(&c->r));
	}
	cust_release_connected(&c->r, true);
	expire(c);
	/* given up: the mark cleared, no more marks this run; and nothing is
	 * published until the connection that may still bring a PUBCOMP is gone */
	assert_int_equal(drops, CUSTODY_RELEASE_TRIES);
	assert_false(c->r.marking);
	assert_int_equal(mark_of(c, "a", a), 0);
	assert_true(cust_release_busy(&c->r));
	assert_int_equal(c->finished, 0);
	cust_release_completed(&c->r, 3, 0);
	assert_int_equal(mark_of(c, "a", a), 0);
	cust_release_lost(&c->r);
	assert_false(cust_release_busy(&c->r));
	assert_int_equal(c->finished, 1);
	cust_release_connected(&c->r, true);
	assert_int_equal(nsent, CUSTODY_RELEASE_TRIES);
}

static void test_batches(void **state)
{
	struct ctx *c = *state;
	char id[8];

	for (unsigned i = 0; i < 300; i++) {
		snprintf(id, sizeof id, "s%u", i % 7);
		message(c, id, (uint16_t)(1000 + i));
	}
	init(c);
	cust_release_connected(&c->r, true);
	assert_int_equal(nsent, GW_BROKER_RELEASE_MAX);
	for (unsigned i = 0; i < GW_BROKER_RELEASE_MAX - 1; i++)
		cust_release_completed(&c->r, sent[i], 0);
	assert_int_equal(calls, 1);
	cust_release_completed(&c->r, sent[GW_BROKER_RELEASE_MAX - 1], 0);
	assert_int_equal(calls, 2);
	assert_int_equal(nsent, 300);
	for (unsigned i = GW_BROKER_RELEASE_MAX; i < 300; i++) {
		assert_true(cust_release_busy(&c->r));
		cust_release_completed(&c->r, sent[i], 0);
	}
	assert_false(cust_release_busy(&c->r));
	assert_int_equal(c->r.released, 300);
	assert_int_equal(gw_store_stats(c->store)->up_msgs, 0);
}

static void test_one_id_twice(void **state)
{
	struct ctx *c = *state;
	uint64_t old = message(c, "a", 9), young = message(c, "b", 9);

	init(c);
	/* the broker holds one message under 9: the newest; the other is
	 * published again (at worst a repeat, never a loss) */
	assert_int_equal(mark_of(c, "a", old), 0);
	cust_release_connected(&c->r, true);
	assert_int_equal(nsent, 1);
	cust_release_completed(&c->r, 9, 0);
	assert_int_equal(mark_of(c, "b", young), -1);
	assert_int_equal(mark_of(c, "a", old), 0);
	assert_false(cust_release_busy(&c->r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nothing_marked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_released, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sent_again_after_a_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadlines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_id_twice, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
