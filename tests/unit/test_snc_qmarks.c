/*
 * test_snc_qmarks.c - the persistent queue's marks (sn-client/queue.h):
 * the msg id a message went out under and how far its QoS exchange got,
 * kept across a restart, a compaction and the deletion of old segments;
 * marked messages handed out first and never expired or dropped; the
 * owner's client id; a torn mark record.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec/record.h"
#include "sn-client/queue.h"
#include "sn-client/queue_impl.h"

/* ---------------------------------------------------------------- files */

struct fixture {
	char dir[256];
	char copy[300];
};

static void join(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s/%s", a, b);

	assert_true(n > 0 && (size_t)n < cap);
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		join(path, sizeof path, dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Copies from's segment files into to; the last one cut to keep octets (< 0: whole). */
static void copy_dir(const char *from, const char *to, long keep)
{
	DIR *d = opendir(from);
	struct dirent *e;
	char names[64][64], a[512], b[512];
	int count = 0;

	assert_non_null(d);
	mkdir(to, 0700);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "seg-", 4) == 0 && count < 64 && strlen(e->d_name) < 64)
			memcpy(names[count++], e->d_name, strlen(e->d_name) + 1);
	closedir(d);
	qsort(names, (size_t)count, sizeof names[0], (int (*)(const void *, const void *))strcmp);
	for (int i = 0; i < count; i++) {
		FILE *in, *out;
		long n = 0;
		int ch;

		join(a, sizeof a, from, names[i]);
		join(b, sizeof b, to, names[i]);
		in = fopen(a, "rb");
		out = fopen(b, "wb");
		assert_non_null(in);
		assert_non_null(out);
		while ((i + 1 < count || keep < 0 || n < keep) && (ch = fgetc(in)) != EOF) {
			fputc(ch, out);
			n++;
		}
		fclose(in);
		fclose(out);
	}
}

/* The size of the last segment file. */
static long last_size(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char last[64] = "", path[512];
	struct stat st;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "seg-", 4) == 0 && strlen(e->d_name) < sizeof last &&
		    strcmp(e->d_name, last) > 0)
			memcpy(last, e->d_name, strlen(e->d_name) + 1);
	closedir(d);
	join(path, sizeof path, dir, last);
	assert_int_equal(stat(path, &st), 0);
	return (long)st.st_size;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	const char *base = getenv("TMPDIR");

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "%s/snc-qmarks-XXXXXX", base != NULL ? base : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->copy, sizeof f->copy, "%s.copy", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_rf(f->dir);
	rm_rf(f->copy);
	free(f);
	return 0;
}

/* ---------------------------------------------------------------- helpers */

static struct snc_queue *open_q(const char *dir, const struct snc_queue_config *cfg)
{
	struct snc_queue *q = NULL;
	char err[256];
	int rc = snc_queue_open(&q, dir, cfg, err, sizeof err);

	if (rc != SNC_OK)
		print_error("open %s: %s\n", dir, err);
	assert_int_equal(rc, SNC_OK);
	return q;
}

static uint64_t push(struct snc_queue *q, const char *body, int qos, uint32_t ttl_s, uint64_t now)
{
	struct snc_message m = {
		.topic = { SNC_TOPIC_NAME, "t/x", 3, 0 }, .qos = qos,
		.payload = (const uint8_t *)body, .len = strlen(body), .ttl_s = ttl_s,
	};

	assert_int_equal(snc_queue_push(q, &m, now), SNC_OK);
	return m.seq;
}

/* Claims the next message: it must be body, with this mark. */
static uint64_t expect_claim(struct snc_queue *q, uint64_t now, const char *body,
                             enum snc_claim claim, uint16_t msg_id)
{
	struct snc_message m;

	assert_int_equal(snc_queue_claim(q, now, &m), SNC_OK);
	assert_int_equal(m.len, strlen(body));
	assert_memory_equal(m.payload, body, m.len);
	assert_int_equal(m.claim, claim);
	if (claim != SNC_CLAIM_NONE)
		assert_int_equal(m.msg_id, msg_id);
	return m.seq;
}

/* ---------------------------------------------------------------- tests */

static void test_marks_survive_restart(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL);
	const struct snc_queue_stats *st;
	uint64_t a, b, c;

	push(q, "a", 2, 0, 0);
	push(q, "b", 1, 0, 0);
	push(q, "c", 2, 0, 0);
	push(q, "d", 1, 0, 0);
	a = expect_claim(q, 0, "a", SNC_CLAIM_NONE, 0);
	b = expect_claim(q, 0, "b", SNC_CLAIM_NONE, 0);
	c = expect_claim(q, 0, "c", SNC_CLAIM_NONE, 0);
	assert_int_equal(snc_queue_mark(q, a, 11, SNC_CLAIM_SENT), SNC_OK);
	assert_int_equal(snc_queue_mark(q, b, 12, SNC_CLAIM_SENT), SNC_OK);
	assert_int_equal(snc_queue_mark(q, a, 11, SNC_CLAIM_PUBREL), SNC_OK);
	st = snc_queue_stats(q);
	assert_int_equal(st->count_qos2, 2);
	assert_int_equal(st->in_flight, 2);
	assert_int_equal(st->in_flight_qos2, 1);
	assert_int_equal(st->marks, 3);
	assert_true(snc_queue_msg_id_marked(q, 11));
	assert_true(snc_queue_msg_id_marked(q, 12));
	assert_false(snc_queue_msg_id_marked(q, 13));
	(void)c; /* claimed, never on the wire: nothing to resume */
	snc_queue_close(q);

	/* After the "crash" the marked ones come first, oldest first, with
	 * their msg ids and states; the merely claimed one is plain again. */
	q = open_q(f->dir, NULL);
	st = snc_queue_stats(q);
	assert_int_equal(st->in_flight, 2);
	assert_int_equal(st->in_flight_qos2, 1);
	assert_true(expect_claim(q, 0, "a", SNC_CLAIM_PUBREL, 11) == a);
	assert_true(expect_claim(q, 0, "b", SNC_CLAIM_SENT, 12) == b);
	assert_true(expect_claim(q, 0, "c", SNC_CLAIM_NONE, 0) == c);
	expect_claim(q, 0, "d", SNC_CLAIM_NONE, 0);
	/* An acknowledgement ends the mark with the message. */
	assert_int_equal(st->count_qos2, 2);
	assert_int_equal(snc_queue_ack(q, a), SNC_OK);
	assert_int_equal(st->count_qos2, 1);
	assert_int_equal(st->in_flight, 1);
	assert_int_equal(st->in_flight_qos2, 0);
	assert_false(snc_queue_msg_id_marked(q, 11));
	snc_queue_close(q);

	q = open_q(f->dir, NULL);
	assert_int_equal(snc_queue_stats(q)->in_flight, 1);
	assert_true(expect_claim(q, 0, "b", SNC_CLAIM_SENT, 12) == b);
	snc_queue_close(q);
}

static void test_marked_first_after_release(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL);
	struct snc_message m;
	uint64_t a, b;

	push(q, "a", 1, 0, 0);
	push(q, "b", 1, 0, 0);
	a = expect_claim(q, 0, "a", SNC_CLAIM_NONE, 0);
	b = expect_claim(q, 0, "b", SNC_CLAIM_NONE, 0);
	/* Only b reached the wire before the connection dropped. */
	assert_int_equal(snc_queue_mark(q, b, 7, SNC_CLAIM_SENT), SNC_OK);
	snc_queue_release_all(q);
	/* Even an alarm queued since waits behind what is already at the gateway. */
	{
		struct snc_message alarm = { .topic = { SNC_TOPIC_NAME, "t/x", 3, 0 }, .qos = 1,
		                             .payload = (const uint8_t *)"alarm", .len = 5,
		                             .priority = SNC_PRIO_ALARM };

		assert_int_equal(snc_queue_push(q, &alarm, 0), SNC_OK);
	}
	assert_int_equal(snc_queue_peek(q, 0, &m), SNC_OK);
	assert_true(m.seq == b);
	assert_true(expect_claim(q, 0, "b", SNC_CLAIM_SENT, 7) == b);
	expect_claim(q, 0, "alarm", SNC_CLAIM_NONE, 0);
	assert_true(expect_claim(q, 0, "a", SNC_CLAIM_NONE, 0) == a);
	snc_queue_close(q);
}

static void test_mark_arguments(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL);
	uint64_t a = push(q, "a", 2, 0, 0);
	long size;

	assert_int_equal(snc_queue_mark(q, a + 1, 1, SNC_CLAIM_SENT), SNC_ERR_NOT_FOUND);
	assert_int_equal(snc_queue_mark(q, a, 0, SNC_CLAIM_SENT), SNC_ERR_INVALID);
	assert_int_equal(snc_queue_mark(q, a, 1, SNC_CLAIM_NONE), SNC_ERR_INVALID);
	assert_int_equal(snc_queue_mark(q, a, 1, (enum snc_claim)3), SNC_ERR_INVALID);
	assert_int_equal(snc_queue_mark(q, a, 1, SNC_CLAIM_SENT), SNC_OK);
	size = last_size(f->dir);
	/* The same mark again (a retransmission after congestion) writes nothing. */
	assert_int_equal(snc_queue_mark(q, a, 1, SNC_CLAIM_SENT), SNC_OK);
	assert_int_equal(last_size(f->dir), size);
	assert_int_equal(snc_queue_stats(q)->marks, 1);
	/* A new msg id for the same message replaces the old one. */
	assert_int_equal(snc_queue_mark(q, a, 2, SNC_CLAIM_SENT), SNC_OK);
	assert_false(snc_queue_msg_id_marked(q, 1));
	assert_true(snc_queue_msg_id_marked(q, 2));
	assert_int_equal(snc_queue_stats(q)->in_flight, 1);
	snc_queue_close(q);
}

static void test_mark_sync_policy(void **state)
{
	struct fixture *f = *state;
	struct snc_queue_config cfg;
	struct snc_queue *q, *q2;
	uint64_t one, two;

	/* The default: every mark, QoS 1 or 2, is on disk before it returns. */
	q = open_q(f->dir, NULL);
	one = push(q, "one", 1, 0, 0);
	two = push(q, "two", 2, 0, 0);
	assert_int_equal(snc_queue_mark(q, one, 1, SNC_CLAIM_SENT), SNC_OK);
	assert_false(q->dirty);
	assert_int_equal(snc_queue_mark(q, two, 2, SNC_CLAIM_SENT), SNC_OK);
	assert_false(q->dirty);
	assert_int_equal(snc_queue_mark(q, two, 2, SNC_CLAIM_PUBREL), SNC_OK);
	assert_false(q->dirty);
	snc_queue_close(q);
	rm_rf(f->dir);

	/* SNC_SYNC_NONE is the caller's word: no mark is fsynced, QoS 2 marks
	 * neither (a simulator of a hundred QoS 2 stations would otherwise
	 * spend its time in fsync). */
	snc_queue_config_defaults(&cfg);
	cfg.sync = SNC_SYNC_NONE;
	q = open_q(f->dir, &cfg);
	one = push(q, "one", 1, 0, 0);
	two = push(q, "two", 2, 0, 0);
	assert_int_equal(snc_queue_sync(q), SNC_OK);
	assert_false(q->dirty);
	assert_int_equal(snc_queue_mark(q, one, 1, SNC_CLAIM_SENT), SNC_OK);
	assert_true(q->dirty);
	assert_int_equal(snc_queue_sync(q), SNC_OK);
	assert_int_equal(snc_queue_mark(q, two, 2, SNC_CLAIM_SENT), SNC_OK);
	assert_true(q->dirty);
	assert_int_equal(snc_queue_mark(q, two, 2, SNC_CLAIM_PUBREL), SNC_OK);
	assert_true(q->dirty);
	/* Written all the same: a crash of the process (the files as the kernel
	 * has them, without the sync of close) keeps the marks. */
	rm_rf(f->copy);
	copy_dir(f->dir, f->copy, -1);
	q2 = open_q(f->copy, &cfg);
	assert_true(expect_claim(q2, 0, "one", SNC_CLAIM_SENT, 1) == one);
	assert_true(expect_claim(q2, 0, "two", SNC_CLAIM_PUBREL, 2) == two);
	snc_queue_close(q2);
	/* And snc_queue_sync() makes them durable when the caller wants. */
	assert_int_equal(snc_queue_sync(q), SNC_OK);
	assert_false(q->dirty);
	snc_queue_close(q);
}

static void test_marked_never_expire_nor_drop(void **state)
{
	struct fixture *f = *state;
	struct snc_queue_config cfg;
	struct snc_queue *q;
	struct snc_message m;
	uint64_t a;

	snc_queue_config_defaults(&cfg);
	cfg.max_count = 2;
	cfg.when_full = SNC_FULL_DROP_OLDEST;
	q = open_q(f->dir, &cfg);
	a = push(q, "sent", 2, 60, 1000);
	assert_int_equal(snc_queue_claim(q, 1000, &m), SNC_OK);
	assert_int_equal(snc_queue_mark(q, a, 9, SNC_CLAIM_SENT), SNC_OK);
	assert_int_equal(snc_queue_release(q, a), SNC_OK);
	push(q, "plain", 1, 60, 1000);
	/* Full: the new message may drop only "plain", never what was sent. */
	push(q, "newer", 1, 0, 2000);
	assert_int_equal(snc_queue_stats(q)->dropped_full, 1);
	/* An hour later: still there, and first; it may be at the gateway. */
	assert_true(expect_claim(q, 3600000, "sent", SNC_CLAIM_SENT, 9) == a);
	expect_claim(q, 3600000, "newer", SNC_CLAIM_NONE, 0);
	assert_int_equal(snc_queue_stats(q)->expired, 0);
	snc_queue_close(q);
}

static void test_marks_through_compaction(void **state)
{
	struct fixture *f = *state;
	struct snc_queue_config cfg;
	struct snc_queue *q;
	uint64_t pinned, queued;
	char body[16];

	snc_queue_config_defaults(&cfg);
	cfg.segment_bytes = 400;
	cfg.compact_min_bytes = 1000;
	q = open_q(f->dir, &cfg);
	assert_int_equal(snc_queue_set_owner(q, "station-7"), SNC_OK);
	pinned = push(q, "pinned", 2, 0, 0);
	queued = push(q, "queued", 1, 0, 0);
	assert_true(expect_claim(q, 0, "pinned", SNC_CLAIM_NONE, 0) == pinned);
	assert_int_equal(snc_queue_mark(q, pinned, 77, SNC_CLAIM_PUBREL), SNC_OK);
	for (int i = 0; i < 200; i++) {
		uint64_t s;

		snprintf(body, sizeof body, "m%03d", i);
		s = push(q, body, 1, 0, 0);
		assert_int_equal(snc_queue_ack(q, s), SNC_OK);
	}
	assert_true(snc_queue_stats(q)->compactions > 0);
	assert_true(snc_queue_stats(q)->segments_deleted > 0);
	snc_queue_close(q);

	q = open_q(f->dir, &cfg);
	assert_string_equal(snc_queue_owner(q), "station-7");
	assert_int_equal(snc_queue_count(q), 2);
	assert_int_equal(snc_queue_stats(q)->in_flight_qos2, 1);
	assert_true(expect_claim(q, 0, "pinned", SNC_CLAIM_PUBREL, 77) == pinned);
	assert_true(expect_claim(q, 0, "queued", SNC_CLAIM_NONE, 0) == queued);
	snc_queue_close(q);
}

static void test_owner(void **state)
{
	struct fixture *f = *state;
	struct snc_queue_config cfg;
	struct snc_queue *q;

	snc_queue_config_defaults(&cfg);
	cfg.segment_bytes = 200;
	q = open_q(f->dir, &cfg);
	assert_string_equal(snc_queue_owner(q), "");
	assert_int_equal(snc_queue_set_owner(q, ""), SNC_ERR_INVALID);
	assert_int_equal(snc_queue_set_owner(q, "123456789012345678901234"), SNC_ERR_INVALID);
	assert_int_equal(snc_queue_set_owner(q, "12345678901234567890123"), SNC_OK);
	assert_int_equal(snc_queue_set_owner(q, "st-1"), SNC_OK);
	snc_queue_close(q);

	q = open_q(f->dir, &cfg);
	assert_string_equal(snc_queue_owner(q), "st-1");
	/* Segments come and go; every new one starts with the owner. */
	for (int i = 0; i < 30; i++)
		assert_int_equal(snc_queue_ack(q, push(q, "filler", 1, 0, 0)), SNC_OK);
	assert_true(snc_queue_stats(q)->segments_deleted > 0);
	snc_queue_close(q);
	q = open_q(f->dir, &cfg);
	assert_string_equal(snc_queue_owner(q), "st-1");
	assert_int_equal(snc_queue_stats(q)->damaged, 0);
	snc_queue_close(q);
}

static void test_torn_mark(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL);
	uint64_t a;
	long before, after;

	a = push(q, "a", 2, 0, 0);
	push(q, "b", 2, 0, 0);
	before = last_size(f->dir);
	assert_int_equal(snc_queue_mark(q, a, 300, SNC_CLAIM_SENT), SNC_OK);
	snc_queue_close(q);
	after = last_size(f->dir);
	assert_int_equal(after - before, (long)MQTTSN_RECORD_OVERHEAD + 2);

	/* A crash while the mark was written: the message is plain again (its
	 * packet never left, since the mark comes first), never lost. */
	for (long cut = before; cut <= after; cut++) {
		rm_rf(f->copy);
		copy_dir(f->dir, f->copy, cut);
		q = open_q(f->copy, NULL);
		assert_int_equal(snc_queue_count(q), 2);
		assert_int_equal(snc_queue_stats(q)->damaged, 0);
		if (cut == after)
			expect_claim(q, 0, "a", SNC_CLAIM_SENT, 300);
		else
			expect_claim(q, 0, "a", SNC_CLAIM_NONE, 0);
		expect_claim(q, 0, "b", SNC_CLAIM_NONE, 0);
		snc_queue_close(q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_marks_survive_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marked_first_after_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_sync_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marked_never_expire_nor_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marks_through_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_mark, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
