/*
 * test_store.c - the bridge's custody store (bridge/store.h).
 *
 * Virtual time: every `now` is made up, so expiry and the fsync interval
 * are tested without waiting. A crash is a close without the in-memory
 * state (the files are what the kernel had) followed by cutting or
 * damaging the last segment; write failures come from the store's fault
 * hook and, for a real partial write, from RLIMIT_FSIZE.
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

#include "bridge/store.h"
#include "codec/record.h"

#define T0 1700000000000ull /* a wall-clock ms */

/* ---------------------------------------------------------------- the directory */

struct ctx {
	char dir[64];
	struct gw_store_config cfg;
	/* the fault hook: fail op with err on its fail_at-th call (1-based) */
	int fail_op, fail_err;
	unsigned calls, fail_at;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof *c);

	assert_non_null(c);
	strcpy(c->dir, "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	gw_store_config_defaults(&c->cfg);
	c->cfg.sync = GW_STORE_SYNC_NEVER;
	c->fail_op = -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	DIR *d = opendir(c->dir);
	struct dirent *e;
	char p[400];

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

static int fault(void *arg, enum gw_store_io op)
{
	struct ctx *c = arg;

	if ((int)op != c->fail_op)
		return 0;
	return ++c->calls == c->fail_at ? c->fail_err : 0;
}

static struct gw_store *open_store(struct ctx *c)
{
	struct gw_store *s = NULL;
	char err[256];
	int rc = gw_store_open(&s, c->dir, &c->cfg, err, sizeof err);

	if (rc != GW_STORE_OK)
		fail_msg("open: %s: %s", gw_store_strerror(rc), err);
	return s;
}

/* The path of the newest segment, and its size. */
static long last_segment(const struct ctx *c, char *path, size_t cap)
{
	DIR *d = opendir(c->dir);
	struct dirent *e;
	char best[256] = "";
	struct stat st;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "seg-", 4) == 0 && strcmp(e->d_name, best) > 0 &&
		    strlen(e->d_name) < sizeof best)
			memcpy(best, e->d_name, strlen(e->d_name) + 1);
	closedir(d);
	assert_true(best[0] != '\0');
	assert_true((size_t)snprintf(path, cap, "%s/%s", c->dir, best) < cap);
	assert_int_equal(stat(path, &st), 0);
	return (long)st.st_size;
}

static int count_segments(const struct ctx *c)
{
	DIR *d = opendir(c->dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "seg-", 4) == 0;
	closedir(d);
	return n;
}

/* ---------------------------------------------------------------- messages */

static int put(struct gw_store *s, int dir, const char *id, const char *text, int qos,
               uint16_t msg_id, uint32_t ttl, uint64_t now, uint64_t *seq)
{
	struct gw_store_msg m = { .client_id = id, .topic = "stations/w/1", .topic_len = 12,
	                          .payload = (const uint8_t *)text, .payload_len = strlen(text),
	                          .qos = (uint8_t)qos, .retain = qos == 2, .msg_id = msg_id,
	                          .ttl_s = ttl };
	int rc = dir == GW_STORE_UP ? gw_store_up_put(s, &m, now) : gw_store_down_put(s, &m, now);

	if (rc == GW_STORE_OK) {
		assert_int_equal(m.received_ms, now);
		if (seq != NULL)
			*seq = m.seq;
	}
	return rc;
}

static void put_ok(struct gw_store *s, int dir, const char *id, const char *text, int qos,
                   uint64_t *seq)
{
	assert_int_equal(put(s, dir, id, text, qos, qos == 2 ? 7 : 0, 0, T0, seq), GW_STORE_OK);
}

/* Peek every message of id in direction dir and compare with want[n]. */
static void expect(struct gw_store *s, int dir, const char *id, const char *const *want,
                   size_t n)
{
	struct gw_store_msg m;
	uint64_t after = 0;
	size_t k = 0;
	int rc;

	for (;;) {
		rc = dir == GW_STORE_UP ? gw_store_up_peek(s, id, after, T0, &m)
		                        : gw_store_down_peek(s, id, after, T0, &m);
		if (rc == GW_STORE_ERR_EMPTY)
			break;
		assert_int_equal(rc, GW_STORE_OK);
		assert_true(k < n);
		assert_int_equal(m.payload_len, strlen(want[k]));
		assert_memory_equal(m.payload, want[k], m.payload_len);
		assert_string_equal(m.client_id, id);
		assert_int_equal(m.topic_len, 12);
		assert_memory_equal(m.topic, "stations/w/1", 12);
		assert_int_equal(m.received_ms, T0);
		assert_true(m.seq > after);
		after = m.seq;
		k++;
	}
	assert_int_equal(k, n);
	assert_int_equal(gw_store_station_count(s, id, (enum gw_store_dir)dir), n);
}

/* ---------------------------------------------------------------- round trips */

static void test_roundtrip(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s = open_store(c);
	static const char *const a[] = { "a1", "a3" }, *const b[] = { "b1" },
	                         *const down[] = { "d1", "d2" };
	const uint8_t *blob;
	const char *id;
	uint32_t cur = 0, count;
	uint64_t seq[3];
	size_t len;
	char line[512];

	put_ok(s, GW_STORE_UP, "mast-a", "a1", 1, NULL);
	put_ok(s, GW_STORE_UP, "mast-b", "b1", 2, NULL);
	put_ok(s, GW_STORE_UP, "mast-a", "a2", 1, &seq[0]);
	put_ok(s, GW_STORE_UP, "mast-a", "a3", 1, NULL);
	put_ok(s, GW_STORE_DOWN, "mast-a", "d1", 1, NULL);
	put_ok(s, GW_STORE_DOWN, "mast-a", "d2", 0, NULL);
	assert_int_equal(gw_store_session_put(s, "mast-a", (const uint8_t *)"S1", 2), GW_STORE_OK);
	/* acknowledged out of order: a2 before a1 */
	assert_int_equal(gw_store_up_done(s, "mast-a", seq[0]), GW_STORE_OK);
	assert_int_equal(gw_store_up_done(s, "mast-a", seq[0]), GW_STORE_ERR_NOT_FOUND);
	assert_int_equal(gw_store_up_done(s, "nobody", 1), GW_STORE_ERR_NOT_FOUND);
	expect(s, GW_STORE_UP, "mast-a", (const char *const[]){ "a1", "a3" }, 2);
	gw_store_close(s);

	s = open_store(c);
	expect(s, GW_STORE_UP, "mast-a", a, 2);
	expect(s, GW_STORE_UP, "mast-b", b, 1);
	expect(s, GW_STORE_DOWN, "mast-a", down, 2);
	expect(s, GW_STORE_DOWN, "mast-b", NULL, 0);
	assert_int_equal(gw_store_session_get(s, "mast-a", &blob, &len), GW_STORE_OK);
	assert_int_equal(len, 2);
	assert_memory_equal(blob, "S1", 2);
	assert_int_equal(gw_store_session_get(s, "mast-b", &blob, &len), GW_STORE_ERR_NOT_FOUND);
	/* the stations with something waiting */
	assert_true(gw_store_station_next(s, GW_STORE_UP, &cur, &id, &count));
	assert_string_equal(id, "mast-a");
	assert_int_equal(count, 2);
	assert_true(gw_store_station_next(s, GW_STORE_UP, &cur, &id, &count));
	assert_string_equal(id, "mast-b");
	assert_false(gw_store_station_next(s, GW_STORE_UP, &cur, &id, &count));
	gw_store_summary(s, 12, line, sizeof line);
	assert_non_null(strstr(line, "recovered 3 up and 2 down messages, 1 sessions, 1 QoS 2 holds"));
	assert_non_null(strstr(line, "0 torn records"));
	assert_non_null(strstr(line, "12 ms"));
	/* numbers go on from where they were */
	put_ok(s, GW_STORE_UP, "mast-b", "b2", 1, &seq[1]);
	assert_true(seq[1] > seq[0]);
	gw_store_close(s);
}

static void test_invalid_and_busy(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s = open_store(c), *t = NULL;
	char err[256];

	assert_int_equal(put(s, GW_STORE_UP, "", "x", 1, 0, 0, T0, NULL), GW_STORE_ERR_INVALID);
	assert_int_equal(put(s, GW_STORE_UP, "a-client-id-of-24-chars!", "x", 1, 0, 0, T0, NULL),
	                 GW_STORE_ERR_INVALID);
	assert_int_equal(put(s, GW_STORE_UP, "m", "x", 0, 0, 0, T0, NULL), GW_STORE_ERR_INVALID);
	assert_int_equal(put(s, GW_STORE_UP, "m", "x", 2, 0, 0, T0, NULL), GW_STORE_ERR_INVALID);
	assert_int_equal(put(s, GW_STORE_DOWN, "m", "x", 3, 0, 0, T0, NULL), GW_STORE_ERR_INVALID);
	assert_int_equal(put(s, GW_STORE_DOWN, "m", "x", 0, 0, 0, T0, NULL), GW_STORE_OK);
	assert_int_equal(gw_store_open(&t, c->dir, &c->cfg, err, sizeof err), GW_STORE_ERR_BUSY);
	assert_null(t);
	assert_non_null(strstr(err, "lock"));
	gw_store_close(s);
}

/* ---------------------------------------------------------------- crashes */

/* Three messages, the last of them the last record; returns its size. */
static long three_messages(struct ctx *c)
{
	struct gw_store *s = open_store(c);
	const struct gw_store_stats *st = gw_store_stats(s);
	uint64_t before;
	long size;

	put_ok(s, GW_STORE_UP, "mast-a", "first", 1, NULL);
	put_ok(s, GW_STORE_UP, "mast-a", "second", 2, NULL);
	before = st->disk_bytes;
	put_ok(s, GW_STORE_UP, "mast-a", "third, the torn one", 1, NULL);
	size = (long)(st->disk_bytes - before);
	gw_store_close(s);
	return size;
}

static void test_every_truncation(void **state)
{
	struct ctx *c = *state;
	static const char *const two[] = { "first", "second" };
	static const char *const three[] = { "first", "second", "after" };
	long rec = three_messages(c);
	char path[400];
	long full = last_segment(c, path, sizeof path);

	for (long cut = full - rec; cut < full; cut++) {
		struct gw_store *s;

		if (cut > full - rec) {
			/* make the file whole again, then cut it */
			teardown(state);
			setup(state);
			c = *state;
			assert_int_equal(three_messages(c), rec);
			assert_int_equal(last_segment(c, path, sizeof path), full);
		}
		assert_int_equal(truncate(path, cut), 0);
		s = open_store(c);
		assert_int_equal(gw_store_stats(s)->torn_records, cut > full - rec ? 1 : 0);
		assert_int_equal(gw_store_stats(s)->torn_bytes, cut - (full - rec));
		expect(s, GW_STORE_UP, "mast-a", two, 2);
		assert_true(gw_store_up_held(s, "mast-a", 7, NULL));
		/* the store goes on cleanly after the cut */
		put_ok(s, GW_STORE_UP, "mast-a", "after", 1, NULL);
		gw_store_close(s);
		s = open_store(c);
		assert_int_equal(gw_store_stats(s)->torn_records, 0);
		expect(s, GW_STORE_UP, "mast-a", three, 3);
		gw_store_close(s);
	}
}

static void test_damaged_crc(void **state)
{
	struct ctx *c = *state;
	static const char *const two[] = { "first", "second" };
	long rec = three_messages(c);
	char path[400];
	long full = last_segment(c, path, sizeof path);
	long at[] = { full - rec + 1, full - rec + 20, full - 3 }; /* type, payload, CRC */

	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		struct gw_store *s;
		uint8_t b;
		int fd;

		if (i > 0) {
			teardown(state);
			setup(state);
			c = *state;
			three_messages(c);
			assert_int_equal(last_segment(c, path, sizeof path), full);
		}
		fd = open(path, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, &b, 1, at[i]), 1);
		b ^= 0x40;
		assert_int_equal(pwrite(fd, &b, 1, at[i]), 1);
		close(fd);
		s = open_store(c);
		assert_int_equal(gw_store_stats(s)->torn_records, 1);
		assert_int_equal(gw_store_stats(s)->torn_bytes, rec);
		expect(s, GW_STORE_UP, "mast-a", two, 2);
		gw_store_close(s);
	}
}

/* ---------------------------------------------------------------- QoS 2, sessions */

static void test_qos2_holds(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s = open_store(c);
	uint64_t seq, held;

	assert_int_equal(put(s, GW_STORE_UP, "st", "q2", 2, 42, 0, T0, &seq), GW_STORE_OK);
	assert_true(gw_store_up_held(s, "st", 42, &held));
	assert_int_equal(held, seq);
	assert_false(gw_store_up_held(s, "st", 43, NULL));
	assert_false(gw_store_up_held(s, "other", 42, NULL));
	gw_store_close(s);

	/* a retransmission after a restart is known */
	s = open_store(c);
	assert_true(gw_store_up_held(s, "st", 42, &held));
	assert_int_equal(held, seq);
	/* the broker acknowledges before the station's PUBREL: the hold stays */
	assert_int_equal(gw_store_up_done(s, "st", seq), GW_STORE_OK);
	assert_true(gw_store_up_held(s, "st", 42, NULL));
	gw_store_close(s);

	s = open_store(c);
	expect(s, GW_STORE_UP, "st", NULL, 0);
	assert_true(gw_store_up_held(s, "st", 42, NULL));
	assert_int_equal(gw_store_stats(s)->recovered_holds, 1);
	assert_int_equal(gw_store_up_release(s, "st", 42), GW_STORE_OK);
	assert_int_equal(gw_store_up_release(s, "st", 42), GW_STORE_ERR_NOT_FOUND);
	/* the id reused for a new message, then that one replaced again */
	assert_int_equal(put(s, GW_STORE_UP, "st", "n1", 2, 5, 0, T0, &seq), GW_STORE_OK);
	assert_int_equal(put(s, GW_STORE_UP, "st", "n2", 2, 5, 0, T0, &seq), GW_STORE_OK);
	gw_store_close(s);

	s = open_store(c);
	assert_false(gw_store_up_held(s, "st", 42, NULL));
	assert_true(gw_store_up_held(s, "st", 5, &held));
	assert_int_equal(held, seq);
	assert_int_equal(gw_store_stats(s)->holds, 1);
	gw_store_close(s);
}

static void test_sessions(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s = open_store(c);
	const uint8_t *blob;
	const char *id;
	uint32_t cur = 0;
	size_t len;

	assert_int_equal(gw_store_session_put(s, "a", (const uint8_t *)"v1", 2), GW_STORE_OK);
	assert_int_equal(gw_store_session_put(s, "b", (const uint8_t *)"b1", 2), GW_STORE_OK);
	assert_int_equal(gw_store_session_put(s, "a", (const uint8_t *)"v2-longer", 9), GW_STORE_OK);
	assert_int_equal(gw_store_session_put(s, "c", NULL, 0), GW_STORE_OK);
	assert_int_equal(gw_store_session_del(s, "b"), GW_STORE_OK);
	assert_int_equal(gw_store_session_del(s, "b"), GW_STORE_ERR_NOT_FOUND);
	assert_int_equal(gw_store_stats(s)->sessions, 2);
	gw_store_close(s);

	s = open_store(c);
	assert_int_equal(gw_store_session_get(s, "a", &blob, &len), GW_STORE_OK);
	assert_int_equal(len, 9);
	assert_memory_equal(blob, "v2-longer", 9);
	assert_int_equal(gw_store_session_get(s, "b", &blob, &len), GW_STORE_ERR_NOT_FOUND);
	assert_int_equal(gw_store_session_get(s, "c", &blob, &len), GW_STORE_OK);
	assert_int_equal(len, 0);
	assert_true(gw_store_session_next(s, &cur, &id));
	assert_string_equal(id, "a");
	assert_true(gw_store_session_next(s, &cur, &id));
	assert_string_equal(id, "c");
	assert_false(gw_store_session_next(s, &cur, &id));
	/* deleted, then put again */
	assert_int_equal(gw_store_session_put(s, "b", (const uint8_t *)"b2", 2), GW_STORE_OK);
	gw_store_close(s);
	s = open_store(c);
	assert_int_equal(gw_store_session_get(s, "b", &blob, &len), GW_STORE_OK);
	assert_memory_equal(blob, "b2", 2);
	assert_int_equal(gw_store_stats(s)->recovered_sessions, 3);
	gw_store_close(s);
}

/* ---------------------------------------------------------------- time */

static void test_ttl(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s = open_store(c);
	struct gw_store_msg m;
	uint64_t seq;

	assert_int_equal(put(s, GW_STORE_DOWN, "sleepy", "short", 1, 0, 10, T0, &seq), GW_STORE_OK);
	assert_int_equal(put(s, GW_STORE_DOWN, "sleepy", "long", 1, 0, 3600, T0, NULL), GW_STORE_OK);
	assert_int_equal(put(s, GW_STORE_DOWN, "sleepy", "forever", 1, 0, 0, T0, NULL), GW_STORE_OK);
	assert_int_equal(put(s, GW_STORE_UP, "sleepy", "up-short", 1, 0, 10, T0, NULL), GW_STORE_OK);
	/* not yet */
	assert_int_equal(gw_store_down_peek(s, "sleepy", 0, T0 + 9000, &m), GW_STORE_OK);
	assert_int_equal(m.seq, seq);
	assert_int_equal(m.ttl_s, 10);
	gw_store_close(s);

	s = open_store(c);
	assert_int_equal(gw_store_stats(s)->recovered_down, 3);
	/* a day later only "forever" is left; an hour later "long" too */
	assert_int_equal(gw_store_down_peek(s, "sleepy", 0, T0 + 3000000, &m), GW_STORE_OK);
	assert_memory_equal(m.payload, "long", 4);
	assert_int_equal(gw_store_stats(s)->expired_down, 1);
	assert_int_equal(gw_store_down_peek(s, "sleepy", 0, T0 + 86400000, &m), GW_STORE_OK);
	assert_memory_equal(m.payload, "forever", 7);
	assert_int_equal(gw_store_stats(s)->expired_down, 2);
	assert_int_equal(gw_store_up_peek(s, "sleepy", 0, T0 + 86400000, &m), GW_STORE_ERR_EMPTY);
	assert_int_equal(gw_store_stats(s)->expired_up, 1);
	gw_store_close(s);

	s = open_store(c);
	assert_int_equal(gw_store_station_count(s, "sleepy", GW_STORE_DOWN), 1);
	assert_int_equal(gw_store_station_count(s, "sleepy", GW_STORE_UP), 0);
	gw_store_close(s);
}

static void test_sync_policies(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s;
	const struct gw_store_stats *st;
	uint64_t seq1, seq2, f;

	c->cfg.sync = GW_STORE_SYNC_ALWAYS;
	s = open_store(c);
	st = gw_store_stats(s);
	f = st->fsyncs;
	put_ok(s, GW_STORE_UP, "m", "one", 1, &seq1);
	assert_int_equal(st->fsyncs, f + 1);
	put_ok(s, GW_STORE_UP, "m", "two", 2, &seq2);
	assert_int_equal(st->fsyncs, f + 2);
	/* a QoS 1 done may repeat after a power cut; a QoS 2 done must not */
	assert_int_equal(gw_store_up_done(s, "m", seq1), GW_STORE_OK);
	assert_int_equal(st->fsyncs, f + 2);
	assert_int_equal(gw_store_up_done(s, "m", seq2), GW_STORE_OK);
	assert_int_equal(st->fsyncs, f + 3);
	assert_int_equal(gw_store_up_release(s, "m", 7), GW_STORE_OK);
	assert_int_equal(gw_store_session_put(s, "m", (const uint8_t *)"x", 1), GW_STORE_OK);
	assert_int_equal(st->fsyncs, f + 5);
	assert_int_equal(gw_store_next_deadline(s, T0), UINT64_MAX);
	gw_store_close(s);

	c->cfg.sync = GW_STORE_SYNC_INTERVAL;
	c->cfg.interval_ms = 50;
	s = open_store(c);
	st = gw_store_stats(s);
	assert_int_equal(gw_store_tick(s, T0), GW_STORE_OK);
	f = st->fsyncs;
	put_ok(s, GW_STORE_UP, "m", "three", 1, NULL);
	put_ok(s, GW_STORE_UP, "m", "four", 1, NULL);
	assert_int_equal(st->fsyncs, f);
	assert_int_equal(gw_store_next_deadline(s, T0 + 10), T0 + 50);
	assert_int_equal(gw_store_tick(s, T0 + 49), GW_STORE_OK);
	assert_int_equal(st->fsyncs, f);
	assert_int_equal(gw_store_tick(s, T0 + 50), GW_STORE_OK);
	assert_int_equal(st->fsyncs, f + 1);
	assert_int_equal(gw_store_next_deadline(s, T0 + 50), UINT64_MAX);
	assert_int_equal(gw_store_tick(s, T0 + 500), GW_STORE_OK);
	assert_int_equal(st->fsyncs, f + 1);
	gw_store_close(s);

	c->cfg.sync = GW_STORE_SYNC_NEVER;
	s = open_store(c);
	st = gw_store_stats(s);
	f = st->fsyncs;
	put_ok(s, GW_STORE_UP, "m", "five", 2, &seq1);
	assert_int_equal(gw_store_up_done(s, "m", seq1), GW_STORE_OK);
	assert_int_equal(gw_store_tick(s, T0 + 100000), GW_STORE_OK);
	assert_int_equal(st->fsyncs, f);
	assert_int_equal(gw_store_next_deadline(s, T0), UINT64_MAX);
	assert_int_equal(gw_store_sync(s), GW_STORE_OK);
	assert_int_equal(st->fsyncs, f + 1);
	gw_store_close(s);
}

/* ---------------------------------------------------------------- limits */

static void test_limits(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s;
	uint64_t seq, first = 0;
	int n = 0, rc;

	c->cfg.up_station_msgs = 3;
	c->cfg.down_station_bytes = 200;
	c->cfg.max_bytes = 2000;
	s = open_store(c);
	for (int i = 0; i < 3; i++)
		put_ok(s, GW_STORE_UP, "m", "x", 1, i == 0 ? &first : NULL);
	assert_int_equal(put(s, GW_STORE_UP, "m", "x", 1, 0, 0, T0, NULL), GW_STORE_ERR_STATION_FULL);
	assert_int_equal(gw_store_stats(s)->refused_station, 1);
	put_ok(s, GW_STORE_UP, "other", "x", 1, NULL);
	assert_int_equal(gw_store_up_done(s, "m", first), GW_STORE_OK);
	put_ok(s, GW_STORE_UP, "m", "x", 1, NULL);
	/* a downlink byte limit: two records of about 60 octets fit, not four */
	put_ok(s, GW_STORE_DOWN, "m", "0123456789", 1, NULL);
	put_ok(s, GW_STORE_DOWN, "m", "0123456789", 1, NULL);
	put_ok(s, GW_STORE_DOWN, "m", "0123456789", 1, NULL);
	assert_int_equal(put(s, GW_STORE_DOWN, "m", "0123456789", 1, 0, 0, T0, NULL),
	                 GW_STORE_ERR_STATION_FULL);
	/* the whole store: fill it with other stations */
	for (int i = 0; i < 100; i++) {
		char id[16];

		snprintf(id, sizeof id, "s%d", i);
		rc = put(s, GW_STORE_UP, id, "0123456789", 1, 0, 0, T0, &seq);
		if (rc == GW_STORE_ERR_FULL)
			break;
		assert_int_equal(rc, GW_STORE_OK);
		n++;
	}
	assert_int_equal(rc, GW_STORE_ERR_FULL);
	assert_true(gw_store_stats(s)->live_bytes <= 2000);
	assert_int_equal(gw_store_stats(s)->refused_full, 1);
	{
		static const uint8_t big[100];

		assert_int_equal(gw_store_session_put(s, "m", big, sizeof big), GW_STORE_ERR_FULL);
	}
	/* room again once one leaves */
	assert_int_equal(gw_store_up_done(s, "s0", seq - (uint64_t)(n - 1)), GW_STORE_OK);
	put_ok(s, GW_STORE_UP, "late", "0123456789", 1, NULL);
	gw_store_close(s);
	/* nothing accepted was dropped */
	s = open_store(c);
	assert_int_equal(gw_store_stats(s)->up_msgs, (uint64_t)(3 + 1 + n - 1 + 1));
	assert_int_equal(gw_store_stats(s)->down_msgs, 3);
	assert_int_equal(put(s, GW_STORE_UP, "m", "x", 1, 0, 0, T0, NULL), GW_STORE_ERR_FULL);
	gw_store_close(s);
	/* a message larger than the store */
	c->cfg.max_bytes = 60;
	s = open_store(c);
	assert_int_equal(put(s, GW_STORE_UP, "m", "a payload that is far too long for sixty octets",
	                     1, 0, 0, T0, NULL),
	                 GW_STORE_ERR_TOO_BIG);
	gw_store_close(s);
}

/* ---------------------------------------------------------------- failures */

static void test_injected_failures(void **state)
{
	struct ctx *c = *state;
	static const char *const kept[] = { "one", "three", "four", "five" };
	struct gw_store *s;
	long size;
	char path[400];

	c->cfg.sync = GW_STORE_SYNC_ALWAYS;
	c->cfg.fault = fault;
	c->cfg.fault_ctx = c;
	s = open_store(c);
	put_ok(s, GW_STORE_UP, "m", "one", 1, NULL);
	size = last_segment(c, path, sizeof path);
	/* a failed write */
	c->fail_op = GW_STORE_IO_WRITE;
	c->fail_err = ENOSPC;
	c->calls = 0;
	c->fail_at = 1;
	assert_int_equal(put(s, GW_STORE_UP, "m", "two", 1, 0, 0, T0, NULL), GW_STORE_ERR_IO);
	assert_int_equal(errno, ENOSPC);
	assert_non_null(strstr(gw_store_errmsg(s), "No space"));
	assert_int_equal(gw_store_station_count(s, "m", GW_STORE_UP), 1);
	assert_int_equal(last_segment(c, path, sizeof path), size);
	put_ok(s, GW_STORE_UP, "m", "three", 1, NULL);
	/* a failed fsync: the record is taken back, the segment left */
	c->fail_op = GW_STORE_IO_FSYNC;
	c->fail_err = EIO;
	c->calls = 0;
	assert_int_equal(put(s, GW_STORE_UP, "m", "lost", 1, 0, 0, T0, NULL), GW_STORE_ERR_IO);
	assert_int_equal(errno, EIO);
	/* the next put starts a segment; its creation fails once too */
	c->fail_op = GW_STORE_IO_CREATE;
	c->calls = 0;
	assert_int_equal(put(s, GW_STORE_UP, "m", "lost too", 1, 0, 0, T0, NULL), GW_STORE_ERR_IO);
	put_ok(s, GW_STORE_UP, "m", "four", 1, NULL);
	put_ok(s, GW_STORE_UP, "m", "five", 1, NULL);
	assert_int_equal(gw_store_stats(s)->write_errors, 3);
	expect(s, GW_STORE_UP, "m", kept, 4);
	gw_store_close(s);
	c->cfg.fault = NULL;
	s = open_store(c);
	assert_int_equal(gw_store_stats(s)->torn_records, 0);
	expect(s, GW_STORE_UP, "m", kept, 4);
	gw_store_close(s);
}

static void test_real_partial_write(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s = open_store(c);
	struct rlimit old, lim;
	char path[400], text[64];
	long size;
	int ok = 0, rc, e;

	/* a segment well larger than the test's own output so far */
	for (int i = 0; i < 200; i++) {
		snprintf(text, sizeof text, "m%03d: ...........................", i);
		put_ok(s, GW_STORE_UP, "m", text, 1, NULL);
	}
	size = last_segment(c, path, sizeof path);
	/* RLIMIT_FSIZE makes a write stop part-way (EFBIG), as a full disk does */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 150;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (;;) {
		rc = put(s, GW_STORE_UP, "m", "0123456789012345678901234567890123456789", 1, 0, 0, T0,
		         NULL);
		if (rc != GW_STORE_OK)
			break;
		ok++;
		size = last_segment(c, path, sizeof path);
	}
	e = errno;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(rc, GW_STORE_ERR_IO);
	assert_int_equal(e, EFBIG);
	assert_true(ok >= 1);
	/* nothing half-written stays; space returns and the store goes on */
	assert_int_equal(last_segment(c, path, sizeof path), size);
	put_ok(s, GW_STORE_UP, "m", "after", 1, NULL);
	gw_store_close(s);
	s = open_store(c);
	assert_int_equal(gw_store_stats(s)->torn_records, 0);
	assert_int_equal(gw_store_station_count(s, "m", GW_STORE_UP), (uint32_t)(200 + ok + 1));
	gw_store_close(s);
}

/* ---------------------------------------------------------------- compaction */

static void test_compaction(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s;
	const struct gw_store_stats *st;
	uint64_t seqs[4][100], disk_before, held;
	char text[40], id[16];
	const char *want[4][100];
	char store[4][100][40];
	size_t nwant[4] = { 0 };
	int steps = 0, rc, segs_before;
	const uint8_t *blob;
	size_t len;

	c->cfg.segment_bytes = 2048;
	c->cfg.compact_min_bytes = 1;
	c->cfg.compact_step_bytes = 256;
	s = open_store(c);
	st = gw_store_stats(s);
	for (int i = 0; i < 100; i++) {
		for (int k = 0; k < 4; k++) {
			snprintf(id, sizeof id, "st%d", k);
			snprintf(text, sizeof text, "reading %d of %d", i, k);
			assert_int_equal(put(s, GW_STORE_UP, id, text, k == 3 ? 2 : 1,
			                     (uint16_t)(i + 1), 0, T0, &seqs[k][i]),
			                 GW_STORE_OK);
		}
		if (i % 10 == 0) {
			snprintf(text, sizeof text, "session %d", i);
			assert_int_equal(gw_store_session_put(s, "st0", (const uint8_t *)text, strlen(text)),
			                 GW_STORE_OK);
		}
	}
	/* keep every tenth message; of st3 (QoS 2) the msg ids stay held */
	for (int k = 0; k < 4; k++) {
		snprintf(id, sizeof id, "st%d", k);
		for (int i = 0; i < 100; i++) {
			if (i % 10 == 7) {
				snprintf(store[k][nwant[k]], 40, "reading %d of %d", i, k);
				want[k][nwant[k]] = store[k][nwant[k]];
				nwant[k]++;
				continue;
			}
			assert_int_equal(gw_store_up_done(s, id, seqs[k][i]), GW_STORE_OK);
		}
	}
	for (int i = 0; i < 50; i++)
		assert_int_equal(gw_store_up_release(s, "st3", (uint16_t)(i + 1)), GW_STORE_OK);
	disk_before = st->disk_bytes;
	segs_before = count_segments(c);
	assert_true(segs_before > 5);
	/* steps until done, each bounded */
	for (;;) {
		uint64_t copied = st->compact_copied;

		rc = gw_store_compact_step(s);
		assert_true(rc >= 0);
		/* a slice of 256 octets holds at most 256 / 19 records */
		assert_true(st->compact_copied - copied <= 256 / MQTTSN_RECORD_OVERHEAD);
		steps++;
		assert_true(steps < 1000);
		if (rc == 0)
			break;
	}
	assert_true(steps > 3);
	assert_true(st->compactions >= 1);
	assert_true(st->disk_bytes < disk_before / 2);
	assert_true(count_segments(c) < segs_before);
	for (int k = 0; k < 4; k++) {
		snprintf(id, sizeof id, "st%d", k);
		expect(s, GW_STORE_UP, id, want[k], nwant[k]);
	}
	gw_store_close(s);

	s = open_store(c);
	for (int k = 0; k < 4; k++) {
		snprintf(id, sizeof id, "st%d", k);
		expect(s, GW_STORE_UP, id, want[k], nwant[k]);
	}
	/* held: 51..100 but for the live ones (held as well) */
	for (int i = 0; i < 100; i++)
		assert_int_equal(gw_store_up_held(s, "st3", (uint16_t)(i + 1), &held), i >= 50);
	assert_int_equal(gw_store_up_held(s, "st3", 58, &held), true);
	assert_int_equal(held, seqs[3][57]);
	assert_int_equal(gw_store_session_get(s, "st0", &blob, &len), GW_STORE_OK);
	assert_int_equal(len, strlen("session 90"));
	assert_memory_equal(blob, "session 90", len);
	assert_int_equal(gw_store_stats(s)->damaged, 0);
	gw_store_close(s);
}

/* A compaction cut short by a crash: the old segment and some copies. */
static void test_compaction_interrupted(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s;
	uint64_t seqs[60];
	const char *want[6];
	char store[6][32], text[32];
	size_t n = 0;

	c->cfg.segment_bytes = 1024;
	c->cfg.compact_min_bytes = 1;
	c->cfg.compact_step_bytes = 128;
	s = open_store(c);
	for (int i = 0; i < 60; i++) {
		snprintf(text, sizeof text, "m%d", i);
		put_ok(s, GW_STORE_UP, "st", text, 1, &seqs[i]);
	}
	for (int i = 0; i < 60; i++) {
		if (i % 10 == 3) {
			snprintf(store[n], sizeof store[n], "m%d", i);
			want[n] = store[n];
			n++;
		} else {
			assert_int_equal(gw_store_up_done(s, "st", seqs[i]), GW_STORE_OK);
		}
	}
	/* a few steps, not to the end of the pass: both copies on disk */
	for (int i = 0; i < 3; i++)
		assert_true(gw_store_compact_step(s) >= 0);
	assert_true(gw_store_stats(s)->compact_copied > 0);
	gw_store_close(s);
	s = open_store(c);
	expect(s, GW_STORE_UP, "st", want, n);
	/* and done messages stay done when their segment goes */
	while (gw_store_compact_step(s) > 0)
		;
	gw_store_close(s);
	s = open_store(c);
	expect(s, GW_STORE_UP, "st", want, n);
	gw_store_close(s);
}

/* The loop's view: tick does the steps; deadline says when. */
static void test_tick_compacts(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s;
	uint64_t seq;
	int turns = 0;

	c->cfg.segment_bytes = 512;
	c->cfg.compact_min_bytes = 1;
	s = open_store(c);
	for (int i = 0; i < 50; i++) {
		put_ok(s, GW_STORE_DOWN, "st", "payload", 1, &seq);
		assert_int_equal(gw_store_down_done(s, "st", seq), GW_STORE_OK);
	}
	assert_int_equal(gw_store_next_deadline(s, T0), T0);
	while (gw_store_next_deadline(s, T0) == T0 && turns++ < 100)
		assert_int_equal(gw_store_tick(s, T0), GW_STORE_OK);
	assert_true(turns < 100);
	assert_int_equal(gw_store_next_deadline(s, T0), UINT64_MAX);
	assert_true(count_segments(c) <= 2);
	gw_store_close(s);
}

/* ---------------------------------------------------------------- PUBREC marks */

/* The broker's packet id peek reports for uplink message seq of id. */
static uint16_t mark_of(struct gw_store *s, const char *id, uint64_t seq)
{
	struct gw_store_msg m;

	assert_int_equal(gw_store_up_peek(s, id, seq - 1, T0, &m), GW_STORE_OK);
	assert_int_equal(m.seq, seq);
	return m.broker_mid;
}

static void test_marks(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s = open_store(c);
	const struct gw_store_stats *st = gw_store_stats(s);
	struct gw_store_mark mk;
	uint64_t a, b, q1, d, cur = 0, marked;
	int seen = 0;
	char line[512];

	assert_int_equal(put(s, GW_STORE_UP, "st", "a", 2, 1, 0, T0, &a), GW_STORE_OK);
	assert_int_equal(put(s, GW_STORE_UP, "st", "b", 2, 2, 0, T0, &b), GW_STORE_OK);
	assert_int_equal(put(s, GW_STORE_UP, "st", "q1", 1, 0, 0, T0, &q1), GW_STORE_OK);
	assert_int_equal(put(s, GW_STORE_UP, "other", "d", 2, 1, 0, T0, &d), GW_STORE_OK);
	assert_int_equal(mark_of(s, "st", a), 0);
	assert_int_equal(gw_store_up_mark(s, "st", a, 5), GW_STORE_OK);
	assert_int_equal(gw_store_up_mark(s, "st", b, 6), GW_STORE_OK);
	assert_int_equal(gw_store_up_mark(s, "other", d, 5), GW_STORE_OK);
	/* QoS 1 has no PUBREC; an unknown message or station */
	assert_int_equal(gw_store_up_mark(s, "st", q1, 7), GW_STORE_ERR_INVALID);
	assert_int_equal(gw_store_up_mark(s, "st", d, 7), GW_STORE_ERR_NOT_FOUND);
	assert_int_equal(gw_store_up_mark(s, "nobody", a, 7), GW_STORE_ERR_NOT_FOUND);
	/* the same mark again writes nothing; another id replaces it */
	marked = st->marked;
	assert_int_equal(gw_store_up_mark(s, "st", a, 5), GW_STORE_OK);
	assert_int_equal(st->marked, marked);
	assert_int_equal(gw_store_up_mark(s, "st", b, 9), GW_STORE_OK);
	assert_int_equal(st->marked, marked + 1);
	assert_int_equal(st->marks, 3);
	assert_int_equal(mark_of(s, "st", a), 5);
	assert_int_equal(mark_of(s, "st", b), 9);
	assert_int_equal(mark_of(s, "st", q1), 0);
	gw_store_close(s);

	s = open_store(c);
	st = gw_store_stats(s);
	assert_int_equal(st->recovered_marks, 3);
	assert_int_equal(mark_of(s, "st", a), 5);
	assert_int_equal(mark_of(s, "st", b), 9);
	assert_int_equal(mark_of(s, "other", d), 5);
	gw_store_summary(s, 1, line, sizeof line);
	assert_non_null(strstr(line, "3 broker PUBREC marks"));
	while (gw_store_up_mark_next(s, &cur, &mk)) {
		seen++;
		if (mk.seq == a)
			assert_true(strcmp(mk.client_id, "st") == 0 && mk.broker_mid == 5);
		else if (mk.seq == b)
			assert_true(strcmp(mk.client_id, "st") == 0 && mk.broker_mid == 9);
		else
			assert_true(mk.seq == d && strcmp(mk.client_id, "other") == 0);
	}
	assert_int_equal(seen, 3);
	assert_false(gw_store_up_mark_next(s, &cur, &mk));
	/* done takes the mark with it; 0 clears one */
	assert_int_equal(gw_store_up_done(s, "st", a), GW_STORE_OK);
	assert_int_equal(gw_store_up_mark(s, "other", d, 0), GW_STORE_OK);
	assert_int_equal(mark_of(s, "other", d), 0);
	assert_int_equal(gw_store_up_mark(s, "other", d, 0), GW_STORE_OK);
	assert_int_equal(st->marks, 1);
	gw_store_close(s);

	s = open_store(c);
	st = gw_store_stats(s);
	assert_int_equal(st->recovered_marks, 1);
	assert_int_equal(mark_of(s, "st", b), 9);
	assert_int_equal(mark_of(s, "other", d), 0);
	expect(s, GW_STORE_UP, "st", (const char *const[]){ "b", "q1" }, 2);
	/* marked again after it was cleared: the newest record stands */
	assert_int_equal(gw_store_up_mark(s, "other", d, 11), GW_STORE_OK);
	gw_store_close(s);
	s = open_store(c);
	assert_int_equal(mark_of(s, "other", d), 11);
	assert_int_equal(gw_store_stats(s)->recovered_marks, 2);
	gw_store_close(s);
}

static void test_mark_sync_and_expiry(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s;
	struct gw_store_msg m;
	uint64_t seq, f;

	c->cfg.sync = GW_STORE_SYNC_ALWAYS;
	s = open_store(c);
	assert_int_equal(put(s, GW_STORE_UP, "st", "short", 2, 3, 10, T0, &seq), GW_STORE_OK);
	f = gw_store_stats(s)->fsyncs;
	/* durable before the PUBREL leaves */
	assert_int_equal(gw_store_up_mark(s, "st", seq, 17), GW_STORE_OK);
	assert_int_equal(gw_store_stats(s)->fsyncs, f + 1);
	/* the message expires, and the mark goes with it */
	assert_int_equal(gw_store_up_peek(s, "st", 0, T0 + 60000, &m), GW_STORE_ERR_EMPTY);
	assert_int_equal(gw_store_stats(s)->marks, 0);
	assert_int_equal(gw_store_up_release(s, "st", 3), GW_STORE_OK);
	gw_store_close(s);
	s = open_store(c);
	assert_int_equal(gw_store_stats(s)->recovered_marks, 0);
	assert_int_equal(gw_store_stats(s)->live_bytes, 0);
	gw_store_close(s);
}

/* A message and its mark, the mark the last record; returns the mark's size. */
static long marked_message(struct ctx *c, uint64_t *seq)
{
	struct gw_store *s = open_store(c);
	uint64_t before;

	assert_int_equal(put(s, GW_STORE_UP, "st", "marked", 2, 4, 0, T0, seq), GW_STORE_OK);
	before = gw_store_stats(s)->disk_bytes;
	assert_int_equal(gw_store_up_mark(s, "st", *seq, 300), GW_STORE_OK);
	before = gw_store_stats(s)->disk_bytes - before;
	gw_store_close(s);
	return (long)before;
}

static void test_mark_torn(void **state)
{
	struct ctx *c = *state;
	uint64_t seq;
	long rec = marked_message(c, &seq);
	char path[400];
	long full = last_segment(c, path, sizeof path);

	for (long cut = full - rec; cut <= full; cut++) {
		struct gw_store *s;

		if (cut > full - rec) {
			teardown(state);
			setup(state);
			c = *state;
			assert_int_equal(marked_message(c, &seq), rec);
			assert_int_equal(last_segment(c, path, sizeof path), full);
		}
		assert_int_equal(truncate(path, cut), 0);
		s = open_store(c);
		assert_int_equal(gw_store_stats(s)->torn_records, cut > full - rec && cut < full);
		/* the message stays; the mark only when its record is whole */
		assert_int_equal(mark_of(s, "st", seq), cut == full ? 300 : 0);
		assert_int_equal(gw_store_stats(s)->recovered_marks, cut == full);
		assert_int_equal(gw_store_up_mark(s, "st", seq, 301), GW_STORE_OK);
		gw_store_close(s);
		s = open_store(c);
		assert_int_equal(gw_store_stats(s)->torn_records, 0);
		assert_int_equal(mark_of(s, "st", seq), 301);
		gw_store_close(s);
	}
}

static void test_mark_compaction(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s;
	const struct gw_store_stats *st;
	uint64_t seqs[80];
	char text[32];
	int steps = 0, rc;

	c->cfg.segment_bytes = 1024;
	c->cfg.compact_min_bytes = 1;
	c->cfg.compact_step_bytes = 200;
	s = open_store(c);
	st = gw_store_stats(s);
	/* marks written early, in the segments compaction empties */
	for (int i = 0; i < 80; i++) {
		snprintf(text, sizeof text, "m%02d", i);
		assert_int_equal(put(s, GW_STORE_UP, "st", text, 2, (uint16_t)(i + 1), 0, T0, &seqs[i]),
		                 GW_STORE_OK);
		assert_int_equal(gw_store_up_mark(s, "st", seqs[i], (uint16_t)(1000 + i)), GW_STORE_OK);
	}
	/* keep every eighth; of those, one replaced and one cleared later */
	for (int i = 0; i < 80; i++) {
		assert_int_equal(gw_store_up_release(s, "st", (uint16_t)(i + 1)), GW_STORE_OK);
		if (i % 8 != 5)
			assert_int_equal(gw_store_up_done(s, "st", seqs[i]), GW_STORE_OK);
	}
	assert_int_equal(gw_store_up_mark(s, "st", seqs[13], 7), GW_STORE_OK);
	assert_int_equal(gw_store_up_mark(s, "st", seqs[21], 0), GW_STORE_OK);
	/* a crash part-way through a pass, then the pass to its end */
	while (st->compact_copied < 4) {
		assert_int_equal(gw_store_compact_step(s), 1);
		assert_true(++steps < 1000);
	}
	gw_store_close(s);
	s = open_store(c);
	st = gw_store_stats(s);
	assert_int_equal(st->recovered_marks, 9);
	for (;;) {
		rc = gw_store_compact_step(s);
		assert_true(rc >= 0);
		assert_true(++steps < 1000);
		if (rc == 0)
			break;
	}
	assert_true(st->compactions >= 1);
	assert_int_equal(count_segments(c), 2);
	for (int round = 0; round < 2; round++) {
		for (int i = 5; i < 80; i += 8)
			assert_int_equal(mark_of(s, "st", seqs[i]),
			                 i == 13 ? 7 : i == 21 ? 0 : (uint16_t)(1000 + i));
		assert_int_equal(gw_store_stats(s)->marks, 9);
		assert_int_equal(gw_store_stats(s)->damaged, 0);
		gw_store_close(s);
		s = open_store(c);
	}
	assert_int_equal(gw_store_stats(s)->recovered_marks, 9);
	gw_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_and_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_crc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qos2_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_injected_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_partial_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_interrupted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tick_compacts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_sync_and_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_torn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_compaction, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
