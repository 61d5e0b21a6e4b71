/*
 * test_snc_queue.c - the persistent outbound queue (sn-client/queue.h).
 *
 * Time is an argument, so expiry is tested without waiting. Crashes are
 * simulated on copies of the directory: a copy taken while the queue is
 * open is what a power cut would leave of unsynced writes at best, and
 * cutting the last segment at every length covers a kill at any moment
 * between write() and fsync().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec/record.h"
#include "sn-client/queue.h"

/* ---------------------------------------------------------------- files */

/* out = a "/" b; the result is checked, so truncation is an error here. */
static void join(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s/%s", a, b);

	assert_true(n > 0 && (size_t)n < cap);
}

struct fixture {
	char dir[256];
	char copy[256];
};

static void make_tmp(char *out, size_t cap)
{
	const char *base = getenv("TMPDIR");

	snprintf(out, cap, "%s/snc-queue-XXXXXX", base != NULL ? base : "/tmp");
	assert_non_null(mkdtemp(out));
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

static void copy_file(const char *from, const char *to, long keep)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	long n = 0;
	int ch;

	assert_non_null(in);
	assert_non_null(out);
	while ((keep < 0 || n < keep) && (ch = fgetc(in)) != EOF) {
		fputc(ch, out);
		n++;
	}
	fclose(in);
	fclose(out);
}

/* Copies the segment files of from into to (created when missing). */
static void copy_dir(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *e;
	char a[512], b[512];

	assert_non_null(d);
	mkdir(to, 0700);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "seg-", 4) != 0)
			continue;
		join(a, sizeof a, from, e->d_name);
		join(b, sizeof b, to, e->d_name);
		copy_file(a, b, -1);
	}
	closedir(d);
}

/* The name of the n-th segment file (0 first) or of the last (n < 0). */
static int seg_path(const char *dir, int n, char *out, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char names[64][64];
	int count = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "seg-", 4) == 0 && count < 64 && strlen(e->d_name) < sizeof names[0])
			memcpy(names[count++], e->d_name, strlen(e->d_name) + 1);
	}
	closedir(d);
	qsort(names, (size_t)count, sizeof names[0], (int (*)(const void *, const void *))strcmp);
	if (count == 0)
		return 0;
	if (n < 0)
		n = count - 1;
	assert_true(n < count);
	join(out, cap, dir, names[n]);
	return count;
}

static int seg_count(const char *dir)
{
	char p[512];

	return seg_path(dir, 0, p, sizeof p);
}

static long file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (long)st.st_size;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	make_tmp(f->dir, sizeof f->dir);
	make_tmp(f->copy, sizeof f->copy);
	rmdir(f->copy); /* tests create it when they need it */
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
	assert_non_null(q);
	return q;
}

/* Pushes a message whose payload is the text of body, on topic "t/<prio>". */
static uint64_t push(struct snc_queue *q, const char *body, unsigned prio, uint32_t ttl_s,
                     uint64_t now)
{
	struct snc_message m = {
		.topic = { SNC_TOPIC_NAME, "t/x", 3, 0 }, .qos = 1,
		.payload = (const uint8_t *)body, .len = strlen(body),
		.priority = (uint8_t)prio, .ttl_s = ttl_s,
	};

	assert_int_equal(snc_queue_push(q, &m, now), SNC_OK);
	assert_true(m.enqueued_ms == now);
	return m.seq;
}

/* Claims the next message and checks its payload. */
static uint64_t expect_claim(struct snc_queue *q, uint64_t now, const char *body)
{
	struct snc_message m;
	uint64_t damaged = snc_queue_stats(q)->damaged;

	assert_int_equal(snc_queue_claim(q, now, &m), SNC_OK);
	/* Nothing may be skipped as damaged on the way: that would be a loss. */
	assert_int_equal(snc_queue_stats(q)->damaged, damaged);
	assert_int_equal(m.len, strlen(body));
	assert_memory_equal(m.payload, body, m.len);
	return m.seq;
}

static void expect_empty(struct snc_queue *q, uint64_t now)
{
	struct snc_message m;

	assert_int_equal(snc_queue_peek(q, now, &m), SNC_ERR_EMPTY);
}

/* Claims and acks everything left, checking it is exactly bodies[0..n). */
static void drain(struct snc_queue *q, const char *const *bodies, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(snc_queue_ack(q, expect_claim(q, 0, bodies[i])), SNC_OK);
	expect_empty(q, 0);
}

/* ---------------------------------------------------------------- basics */

static void test_fifo_and_ack(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL);
	struct snc_message m;
	uint64_t a, b;

	expect_empty(q, 0);
	a = push(q, "one", 0, 0, 100);
	b = push(q, "two", 0, 0, 200);
	assert_true(b > a);
	assert_int_equal(snc_queue_count(q), 2);

	/* peek does not claim: it shows the same message twice. */
	assert_int_equal(snc_queue_peek(q, 300, &m), SNC_OK);
	assert_true(m.seq == a);
	assert_true(m.enqueued_ms == 100);
	assert_int_equal(m.topic.kind, SNC_TOPIC_NAME);
	assert_memory_equal(m.topic.name, "t/x", 3);
	assert_int_equal(m.qos, 1);
	assert_int_equal(snc_queue_peek(q, 300, &m), SNC_OK);
	assert_true(m.seq == a);

	assert_true(expect_claim(q, 300, "one") == a);
	assert_true(expect_claim(q, 300, "two") == b);
	expect_empty(q, 300);

	assert_int_equal(snc_queue_ack(q, b), SNC_OK);
	assert_int_equal(snc_queue_ack(q, b), SNC_ERR_NOT_FOUND);
	assert_int_equal(snc_queue_count(q), 1);
	assert_int_equal(snc_queue_ack(q, a), SNC_OK);
	assert_int_equal(snc_queue_count(q), 0);
	assert_int_equal(snc_queue_stats(q)->delivered, 2);
	assert_int_equal(snc_queue_stats(q)->pushed, 2);
	snc_queue_close(q);
}

static void test_priorities(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL);
	static const char *const order[] = { "alarm1", "alarm2", "high", "r1", "r2", "r3" };

	push(q, "r1", SNC_PRIO_ROUTINE, 0, 1);
	push(q, "alarm1", SNC_PRIO_ALARM, 0, 2);
	push(q, "r2", SNC_PRIO_ROUTINE, 0, 3);
	push(q, "high", SNC_PRIO_HIGH, 0, 4);
	push(q, "alarm2", SNC_PRIO_ALARM, 0, 5);
	push(q, "r3", SNC_PRIO_ROUTINE, 0, 6);
	drain(q, order, 6);
	snc_queue_close(q);
}

static void test_claim_release(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL);
	uint64_t a, b;

	push(q, "a", 0, 0, 0);
	push(q, "b", 0, 0, 0);
	push(q, "c", 0, 0, 0);
	a = expect_claim(q, 0, "a");
	b = expect_claim(q, 0, "b");
	/* A released message comes back before the ones behind it. */
	assert_int_equal(snc_queue_release(q, a), SNC_OK);
	assert_int_equal(snc_queue_release(q, a), SNC_ERR_NOT_FOUND);
	assert_true(expect_claim(q, 0, "a") == a);
	assert_int_equal(snc_queue_ack(q, b), SNC_OK);
	expect_claim(q, 0, "c");
	expect_empty(q, 0);
	snc_queue_release_all(q);
	expect_claim(q, 0, "a");
	snc_queue_close(q);

	/* Claims are not kept across a restart: at least once. */
	q = open_q(f->dir, NULL);
	assert_int_equal(snc_queue_stats(q)->recovered, 2);
	{
		static const char *const left[] = { "a", "c" };

		drain(q, left, 2);
	}
	snc_queue_close(q);
}

static void test_reopen_keeps_everything(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL);
	struct snc_message m;
	uint64_t first, last;

	first = push(q, "kept-1", 1, 0, 10);
	assert_int_equal(snc_queue_ack(q, push(q, "gone", 1, 0, 11)), SNC_OK);
	push(q, "alarm", SNC_PRIO_ALARM, 0, 12);
	last = push(q, "kept-2", 1, 100, 13);
	snc_queue_close(q);

	q = open_q(f->dir, NULL);
	assert_int_equal(snc_queue_count(q), 3);
	assert_int_equal(snc_queue_stats(q)->recovered, 3);
	assert_int_equal(snc_queue_peek(q, 50, &m), SNC_OK);
	assert_int_equal(m.priority, SNC_PRIO_ALARM);
	assert_true(m.enqueued_ms == 12);
	assert_int_equal(snc_queue_ack(q, m.seq), SNC_OK);
	assert_int_equal(snc_queue_peek(q, 50, &m), SNC_OK);
	assert_true(m.seq == first);
	assert_int_equal(snc_queue_ack(q, m.seq), SNC_OK);
	assert_int_equal(snc_queue_peek(q, 50, &m), SNC_OK);
	assert_true(m.seq == last);
	assert_int_equal(m.ttl_s, 100);
	/* Sequence numbers go on from where they were. */
	assert_true(push(q, "new", 0, 0, 60) > last);
	snc_queue_close(q);
}

static void test_locked(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL), *q2 = NULL;
	char err[256];

	assert_int_equal(snc_queue_open(&q2, f->dir, NULL, err, sizeof err), SNC_ERR_BUSY);
	assert_null(q2);
	assert_non_null(strstr(err, "locked"));
	snc_queue_close(q);
	q2 = open_q(f->dir, NULL);
	snc_queue_close(q2);
}

static void test_open_errors(void **state)
{
	struct snc_queue *q = NULL;
	char err[256];

	(void)state;
	assert_int_equal(snc_queue_open(&q, "/proc/no/such/dir", NULL, err, sizeof err), SNC_ERR_IO);
	assert_null(q);
	assert_non_null(strstr(err, "/proc/no/such/dir"));
	assert_int_equal(snc_queue_open(&q, "", NULL, err, sizeof err), SNC_ERR_INVALID);
}

static void test_invalid_push(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL);
	struct snc_message m = { .topic = { SNC_TOPIC_NAME, "a/+", 3, 0 }, .qos = 1 };

	assert_int_equal(snc_queue_push(q, &m, 0), SNC_ERR_INVALID);
	assert_int_equal(snc_queue_count(q), 0);
	snc_queue_close(q);
}

/* ---------------------------------------------------------------- time to live */

static void test_ttl(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL);
	struct snc_message m;

	push(q, "soon", 0, 10, 1000);     /* expires at 11000 */
	push(q, "forever", 0, 0, 1000);
	push(q, "later", 0, 60, 1000);    /* expires at 61000 */
	assert_int_equal(snc_queue_peek(q, 10999, &m), SNC_OK);
	assert_memory_equal(m.payload, "soon", 4);
	assert_int_equal(snc_queue_peek(q, 11000, &m), SNC_OK);
	assert_memory_equal(m.payload, "forever", 7);
	assert_int_equal(snc_queue_stats(q)->expired, 1);
	snc_queue_close(q);

	/* The enqueue time is on disk: expiry holds across a restart. */
	q = open_q(f->dir, NULL);
	assert_int_equal(snc_queue_count(q), 2);
	assert_int_equal(snc_queue_ack(q, expect_claim(q, 61000, "forever")), SNC_OK);
	expect_empty(q, 61000);
	assert_int_equal(snc_queue_stats(q)->expired, 1);
	snc_queue_close(q);

	/* A claimed message does not expire in flight. */
	q = open_q(f->dir, NULL);
	expect_empty(q, 0);
	push(q, "x", 0, 1, 0);
	expect_claim(q, 0, "x");
	expect_empty(q, 5000);
	snc_queue_release_all(q);
	expect_empty(q, 5000);
	assert_int_equal(snc_queue_count(q), 0);
	snc_queue_close(q);
}

/* ---------------------------------------------------------------- limits */

static void test_full_refuse(void **state)
{
	struct fixture *f = *state;
	struct snc_queue_config cfg;
	struct snc_queue *q;
	struct snc_message m = { .topic = { SNC_TOPIC_NAME, "t", 1, 0 }, .qos = 1 };
	static const char *const all[] = { "1", "2", "3" };

	snc_queue_config_defaults(&cfg);
	cfg.max_count = 3;
	q = open_q(f->dir, &cfg);
	push(q, "1", 0, 0, 0);
	push(q, "2", 0, 0, 0);
	push(q, "3", 0, 0, 0);
	assert_int_equal(snc_queue_push(q, &m, 0), SNC_ERR_FULL);
	assert_int_equal(snc_queue_stats(q)->refused_full, 1);
	assert_non_null(strstr(snc_queue_errmsg(q), "full"));
	drain(q, all, 3);
	push(q, "4", 0, 0, 0);
	snc_queue_close(q);
}

static void test_full_bytes(void **state)
{
	struct fixture *f = *state;
	struct snc_queue_config cfg;
	struct snc_queue *q;
	struct snc_message m = { .topic = { SNC_TOPIC_NAME, "t/x", 3, 0 }, .qos = 1,
	                         .payload = (const uint8_t *)"abcd", .len = 4 };
	size_t one = mqttsn_record_size(20 + 3 + 4);

	snc_queue_config_defaults(&cfg);
	cfg.max_bytes = 2 * one;
	q = open_q(f->dir, &cfg);
	push(q, "abcd", 0, 0, 0);
	push(q, "efgh", 0, 0, 0);
	assert_int_equal(snc_queue_stats(q)->bytes, 2 * one);
	assert_int_equal(snc_queue_push(q, &m, 0), SNC_ERR_FULL);
	snc_queue_close(q);
	/* A message that could never fit is too big, not "full". */
	cfg.max_bytes = one - 1;
	q = open_q(f->dir, &cfg);
	assert_int_equal(snc_queue_push(q, &m, 0), SNC_ERR_TOO_BIG);
	snc_queue_close(q);
}

static void test_full_drop_oldest(void **state)
{
	struct fixture *f = *state;
	struct snc_queue_config cfg;
	struct snc_queue *q;
	struct snc_message m = { .topic = { SNC_TOPIC_NAME, "t", 1, 0 }, .qos = 1 };
	static const char *const left[] = { "alarm1", "alarm2", "r3", "r4" };

	snc_queue_config_defaults(&cfg);
	cfg.max_count = 4;
	cfg.when_full = SNC_FULL_DROP_OLDEST;
	q = open_q(f->dir, &cfg);
	push(q, "r1", 0, 0, 0);
	push(q, "alarm1", SNC_PRIO_ALARM, 0, 0);
	push(q, "r2", 0, 0, 0);
	push(q, "r3", 0, 0, 0);
	/* Full: the oldest routine message makes room, not the alarm. */
	push(q, "alarm2", SNC_PRIO_ALARM, 0, 0);
	assert_int_equal(snc_queue_stats(q)->dropped_full, 1);
	push(q, "r4", 0, 0, 0);
	assert_int_equal(snc_queue_stats(q)->dropped_full, 2);
	drain(q, left, 4);
	snc_queue_close(q);

	/* A routine message never pushes out alarms, and a claimed one stays. */
	rm_rf(f->dir);
	q = open_q(f->dir, &cfg);
	push(q, "r1", 0, 0, 0);
	push(q, "a1", SNC_PRIO_ALARM, 0, 0);
	push(q, "a2", SNC_PRIO_ALARM, 0, 0);
	push(q, "a3", SNC_PRIO_ALARM, 0, 0);
	expect_claim(q, 0, "a1");
	expect_claim(q, 0, "a2");
	expect_claim(q, 0, "a3");
	expect_claim(q, 0, "r1");
	assert_int_equal(snc_queue_push(q, &m, 0), SNC_ERR_FULL);
	assert_int_equal(snc_queue_stats(q)->dropped_full, 0);
	assert_int_equal(snc_queue_count(q), 4);
	snc_queue_close(q);
}

static void test_full_sweeps_expired(void **state)
{
	struct fixture *f = *state;
	struct snc_queue_config cfg;
	struct snc_queue *q;

	snc_queue_config_defaults(&cfg);
	cfg.max_count = 2;
	q = open_q(f->dir, &cfg);
	push(q, "old", 0, 1, 0);
	push(q, "keep", 0, 0, 0);
	push(q, "new", 0, 0, 1000); /* "old" has expired: room without refusing */
	assert_int_equal(snc_queue_stats(q)->expired, 1);
	assert_int_equal(snc_queue_stats(q)->refused_full, 0);
	snc_queue_close(q);
}

/* ---------------------------------------------------------------- recovery */

/*
 * Builds a queue of n messages, closes it, and returns the size of the last
 * segment and the offset where its last record starts.
 */
static void build(const char *dir, int n, long *size, long *last_start)
{
	struct snc_queue *q = open_q(dir, NULL);
	char path[512], body[32];
	long before = 0;

	for (int i = 0; i < n; i++) {
		snprintf(body, sizeof body, "message %d", i);
		if (i == n - 1) {
			seg_path(dir, -1, path, sizeof path);
			before = file_size(path);
		}
		push(q, body, 0, 0, (uint64_t)i);
	}
	snc_queue_close(q);
	seg_path(dir, -1, path, sizeof path);
	*size = file_size(path);
	*last_start = before;
}

static void test_recover_every_truncation(void **state)
{
	struct fixture *f = *state;
	char path[512], cpath[512];
	long size, start;
	static const char *const bodies[] = { "message 0", "message 1", "message 2", "message 3" };

	build(f->dir, 4, &size, &start);
	seg_path(f->dir, -1, path, sizeof path);
	for (long cut = start; cut <= size; cut++) {
		struct snc_queue *q;
		int whole = cut == size ? 4 : 3;

		rm_rf(f->copy);
		copy_dir(f->dir, f->copy);
		seg_path(f->copy, -1, cpath, sizeof cpath);
		copy_file(path, cpath, cut);

		q = open_q(f->copy, NULL);
		assert_int_equal(snc_queue_count(q), whole);
		assert_int_equal(snc_queue_stats(q)->torn_bytes, cut == size ? 0 : cut - start);
		assert_int_equal(snc_queue_stats(q)->damaged, 0);
		/* The torn tail is gone from the file, so appends follow good data. */
		assert_int_equal(file_size(cpath), whole == 4 ? size : start);
		push(q, "after", 0, 0, 99);
		snc_queue_close(q);

		q = open_q(f->copy, NULL);
		assert_int_equal(snc_queue_stats(q)->torn_bytes, 0);
		for (int i = 0; i < whole; i++)
			assert_int_equal(snc_queue_ack(q, expect_claim(q, 0, bodies[i])), SNC_OK);
		assert_int_equal(snc_queue_ack(q, expect_claim(q, 0, "after")), SNC_OK);
		expect_empty(q, 0);
		snc_queue_close(q);
	}
}

static void test_recover_torn_ack(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL);
	char path[512], cpath[512];
	long before, after;
	uint64_t a;

	a = push(q, "a", 0, 0, 0);
	push(q, "b", 0, 0, 0);
	seg_path(f->dir, -1, path, sizeof path);
	before = file_size(path);
	assert_int_equal(snc_queue_ack(q, a), SNC_OK);
	snc_queue_close(q);
	after = file_size(path);
	assert_int_equal(after - before, (long)MQTTSN_RECORD_OVERHEAD);

	/* An acknowledgement cut short: the message comes back (a repeat, not a loss). */
	for (long cut = before; cut < after; cut++) {
		static const char *const both[] = { "a", "b" };

		rm_rf(f->copy);
		copy_dir(f->dir, f->copy);
		seg_path(f->copy, -1, cpath, sizeof cpath);
		copy_file(path, cpath, cut);
		q = open_q(f->copy, NULL);
		drain(q, both, 2);
		snc_queue_close(q);
	}
}

static void test_recover_unsynced(void **state)
{
	struct fixture *f = *state;
	struct snc_queue_config cfg;
	struct snc_queue *q, *q2;
	static const char *const bodies[] = { "u0", "u1", "u2", "u3", "u4" };
	char cpath[512];
	long size;

	/* Without fsync, a crash keeps some prefix of the writes: every prefix
	 * must open cleanly and give a prefix of the messages. */
	snc_queue_config_defaults(&cfg);
	cfg.sync = SNC_SYNC_NONE;
	q = open_q(f->dir, &cfg);
	for (int i = 0; i < 5; i++)
		push(q, bodies[i], 0, 0, 0);
	rm_rf(f->copy);
	copy_dir(f->dir, f->copy); /* the "disk" at the crash, before close syncs */
	assert_int_equal(snc_queue_sync(q), SNC_OK);
	snc_queue_close(q);
	seg_path(f->copy, -1, cpath, sizeof cpath);
	size = file_size(cpath);

	for (long cut = 0; cut <= size; cut++) {
		char tmp[512];
		size_t n;

		snprintf(tmp, sizeof tmp, "%s.cut", f->dir);
		rm_rf(tmp);
		copy_dir(f->copy, tmp);
		{
			char p[512];

			seg_path(tmp, -1, p, sizeof p);
			copy_file(cpath, p, cut);
		}
		q2 = open_q(tmp, &cfg);
		n = snc_queue_count(q2);
		assert_true(n <= 5);
		drain(q2, bodies, n);
		snc_queue_close(q2);
		rm_rf(tmp);
	}
}

static void test_recover_damage(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q;
	char path[512];
	long size, start;
	FILE *fp;
	static const char *const first[] = { "message 0", "message 1", "message 2" };

	build(f->dir, 4, &size, &start);
	seg_path(f->dir, -1, path, sizeof path);
	/* Flip one bit in the middle of the last record's payload. */
	fp = fopen(path, "r+b");
	assert_non_null(fp);
	fseek(fp, start + 20, SEEK_SET);
	{
		int ch = fgetc(fp);

		fseek(fp, start + 20, SEEK_SET);
		fputc(ch ^ 0x10, fp);
	}
	fclose(fp);
	q = open_q(f->dir, NULL);
	assert_int_equal(snc_queue_count(q), 3);
	assert_int_equal(snc_queue_stats(q)->damaged, 1);
	assert_int_equal(snc_queue_stats(q)->torn_bytes, size - start);
	drain(q, first, 3);
	snc_queue_close(q);
}

/* ---------------------------------------------------------------- segments */

static void test_segments_rotate_and_go(void **state)
{
	struct fixture *f = *state;
	struct snc_queue_config cfg;
	struct snc_queue *q;
	uint64_t seqs[40];
	char body[16];

	snc_queue_config_defaults(&cfg);
	cfg.segment_bytes = 300;
	cfg.compact_min_bytes = 1u << 30; /* no compaction here */
	q = open_q(f->dir, &cfg);
	for (int i = 0; i < 40; i++) {
		snprintf(body, sizeof body, "m%02d", i);
		seqs[i] = push(q, body, 0, 0, 0);
	}
	assert_true(seg_count(f->dir) > 5);
	/* Acking in order lets the old segments go, oldest first. */
	for (int i = 0; i < 40; i++) {
		snprintf(body, sizeof body, "m%02d", i);
		assert_true(expect_claim(q, 0, body) == seqs[i]);
		assert_int_equal(snc_queue_ack(q, seqs[i]), SNC_OK);
	}
	assert_true(seg_count(f->dir) <= 2);
	assert_true(snc_queue_stats(q)->segments_deleted > 3);
	snc_queue_close(q);

	q = open_q(f->dir, &cfg);
	assert_int_equal(snc_queue_count(q), 0);
	assert_true(push(q, "next", 0, 0, 0) > seqs[39]);
	snc_queue_close(q);
}

static void test_compaction(void **state)
{
	struct fixture *f = *state;
	struct snc_queue_config cfg;
	struct snc_queue *q;
	uint64_t pinned, last = 0;
	char body[16];
	long disk;

	snc_queue_config_defaults(&cfg);
	cfg.segment_bytes = 400;
	cfg.compact_min_bytes = 1000;
	q = open_q(f->dir, &cfg);
	pinned = push(q, "pinned", 0, 0, 0); /* never acked: keeps its segment alive */
	for (int i = 0; i < 200; i++) {
		snprintf(body, sizeof body, "m%03d", i);
		last = push(q, body, SNC_PRIO_ALARM, 0, 0);
		assert_int_equal(snc_queue_ack(q, expect_claim(q, 0, body)), SNC_OK);
	}
	assert_true(snc_queue_stats(q)->compactions > 0);
	disk = (long)snc_queue_stats(q)->disk_bytes;
	assert_true(disk < 2500);
	assert_true(seg_count(f->dir) <= 3);
	snc_queue_close(q);

	q = open_q(f->dir, &cfg);
	assert_int_equal(snc_queue_count(q), 1);
	assert_true(expect_claim(q, 0, "pinned") == pinned);
	assert_true(push(q, "later", 0, 0, 0) > last);
	snc_queue_close(q);
}

static void test_compaction_interrupted(void **state)
{
	struct fixture *f = *state;
	struct snc_queue_config cfg;
	struct snc_queue *q;
	char body[16], tmp[512];
	static const char *const left[] = { "p0", "p1", "p2" };

	snc_queue_config_defaults(&cfg);
	cfg.segment_bytes = 200;
	cfg.compact_min_bytes = 1u << 30;
	q = open_q(f->dir, &cfg);
	push(q, "p0", 0, 0, 0);
	for (int i = 0; i < 30; i++) {
		snprintf(body, sizeof body, "m%03d", i);
		push(q, body, SNC_PRIO_ALARM, 0, 0);
		assert_int_equal(snc_queue_ack(q, expect_claim(q, 0, body)), SNC_OK);
		if (i == 10)
			push(q, "p1", 0, 0, 0);
	}
	push(q, "p2", 0, 0, 0);
	snc_queue_close(q);
	rm_rf(f->copy);
	copy_dir(f->dir, f->copy); /* the segments before compaction */

	/* Compact (reopening with a low threshold does it), then put the old
	 * segments back beside the new one: a crash before they were deleted. */
	cfg.compact_min_bytes = 100;
	q = open_q(f->dir, &cfg);
	assert_int_equal(snc_queue_stats(q)->compactions, 1);
	snc_queue_close(q);
	assert_int_equal(seg_count(f->dir), 1);
	copy_dir(f->copy, f->dir);
	assert_true(seg_count(f->dir) > 2);

	cfg.compact_min_bytes = 1u << 30;
	snprintf(tmp, sizeof tmp, "%s.2", f->dir);
	rm_rf(tmp);
	copy_dir(f->dir, tmp);
	q = open_q(f->dir, &cfg);
	drain(q, left, 3);
	snc_queue_close(q);

	/* And with only the oldest deleted (deletion goes oldest first). */
	{
		char p[512];

		seg_path(tmp, 0, p, sizeof p);
		unlink(p);
	}
	q = open_q(tmp, &cfg);
	assert_int_equal(snc_queue_count(q), 3);
	snc_queue_close(q);
	rm_rf(tmp);
}

/* ---------------------------------------------------------------- a full disk */

static void test_disk_full(void **state)
{
	struct fixture *f = *state;
	struct snc_queue *q = open_q(f->dir, NULL);
	struct snc_message m = { .topic = { SNC_TOPIC_NAME, "t", 1, 0 }, .qos = 1,
	                         .payload = (const uint8_t *)"0123456789", .len = 10 };
	struct rlimit old, lim;
	char path[512];
	long size;
	int rc;

	push(q, "before", 0, 0, 0);
	seg_path(f->dir, -1, path, sizeof path);
	size = file_size(path);
	/* RLIMIT_FSIZE makes write() fail part-way, as a full disk does. */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 10;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = snc_queue_push(q, &m, 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(rc, SNC_ERR_IO);
	assert_non_null(strstr(snc_queue_errmsg(q), "write"));
	/* Nothing half-written stays behind, and the queue goes on. */
	assert_int_equal(file_size(path), size);
	assert_int_equal(snc_queue_count(q), 1);
	push(q, "after", 0, 0, 0);
	snc_queue_close(q);
	q = open_q(f->dir, NULL);
	assert_int_equal(snc_queue_stats(q)->torn_bytes, 0);
	{
		static const char *const both[] = { "before", "after" };

		drain(q, both, 2);
	}
	snc_queue_close(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fifo_and_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test_setup_teardown(test_invalid_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_refuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_drop_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_sweeps_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_every_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_torn_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_unsynced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segments_rotate_and_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_interrupted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
