/*
 * test_sim_scenario.c - the scenario file (sim/scenario.h), the corpora
 * (sim/stations_corpus.h) and the event queue (sim/scenario_heap.h).
 * Scenario files are written into a fresh temporary directory per test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim/scenario.h"
#include "sim/scenario_heap.h"
#include "sim/stations_corpus.h"

#define S 1000000ull

/* ---------------------------------------------------------------- files */

struct tmp {
	char dir[256];
	char paths[16][512];
	size_t n;
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof *t);

	assert_non_null(t);
	snprintf(t->dir, sizeof t->dir, "%s/test_sim_scenario-XXXXXX",
	         getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	size_t i;

	for (i = 0; i < t->n; i++)
		(void)unlink(t->paths[i]);
	(void)rmdir(t->dir);
	free(t);
	return 0;
}

/* Write text to dir/name; returns the path. */
static const char *put(struct tmp *t, const char *name, const char *text)
{
	char dir[sizeof t->dir];
	char *p;
	FILE *f;
	int n;

	assert_true(t->n < 16);
	memcpy(dir, t->dir, sizeof dir);
	p = t->paths[t->n++];
	n = snprintf(p, sizeof t->paths[0], "%.255s/%.200s", dir, name);
	assert_true(n > 0 && (size_t)n < sizeof t->paths[0]);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return p;
}

static const char weather[] =
	"date,pressure,temperature,wind\n"
	"2010-01-01T01:00:00,1016.6,4.0,3.8\n"
	"2010-01-01T02:00:00,1016.6,-3.9,3.8\n";

/* ---------------------------------------------------------------- durations */

static void test_durations(void **state)
{
	static const struct { const char *text; uint64_t us; } ok[] = {
		{ "90s", 90 * S }, { "15m", 900 * S }, { "15min", 900 * S }, { "24h", 86400 * S },
		{ "1h30m", 5400 * S }, { "250ms", 250000 }, { "2d", 172800 * S }, { "1.5h", 5400 * S },
		{ "60", 60 * S }, { "0", 0 }, { "12us", 12 }, { "1h2m3s", 3723 * S },
	};
	static const char *const bad[] = { "", "h", "5x", "-1s", "5 s", "1h30", "s5", "+3s", "1..2s" };
	size_t i;
	uint64_t us;

	(void)state;
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		us = 7;
		assert_int_equal(sim_scenario_duration(ok[i].text, &us), 0);
		assert_int_equal(us, ok[i].us);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (sim_scenario_duration(bad[i], &us) == 0)
			fail_msg("\"%s\" was taken as a duration", bad[i]);
}

/* ---------------------------------------------------------------- loading */

static void test_load_full(void **state)
{
	struct tmp *t = *state;
	struct sim_scenario s;
	char err[1024];
	char text[2048];
	const char *path;

	put(t, "wx.csv", weather);
	put(t, "trace.csv", "down_at_s,up_at_s\n100,200\n");
	snprintf(text, sizeof text,
	         "# a comment\n"
	         "title Two groups # with a trailing comment\n"
	         "seed 42\n"
	         "duration 2h\n"
	         "drain 30m\n"
	         "sample 5m\n"
	         "\n"
	         "[link]\n"
	         "profile geo\n"
	         "trace trace.csv\n"
	         "loss 1%%\n"
	         "up.latency 300ms\n"
	         "damaged deliver\n"
	         "[bridge]\n"
	         "mode aggregating\n"
	         "retry_initial 5s\n"
	         "max_inflight 4\n"
	         "[broker]\n"
	         "ack 20ms\n"
	         "[station mast]\n"
	         "count 3\n"
	         "corpus wx.csv\n"
	         "every 60s\n"
	         "qos 2\n"
	         "topic wx/{name}/obs\n"
	         "[station buoy]\n"
	         "corpus wx.csv\n"
	         "offset 10s\n"
	         "keep_alive 20m\n"
	         "queue_max 50\n"
	         "queue_full drop_oldest\n"
	         "at 1h crash bridge for 30s\n"
	         "at 30m restart station mast\n"
	         "at 45m crash station buoy for 5m\n");
	path = put(t, "full.scn", text);
	if (sim_scenario_load(&s, path, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_string_equal(s.title, "Two groups");
	assert_int_equal(s.seed, 42);
	assert_int_equal(s.duration_us, 7200 * S);
	assert_int_equal(s.drain_us, 1800 * S);
	assert_int_equal(s.sample_us, 300 * S);
	assert_string_equal(s.profile, "geo");
	assert_non_null(s.trace);
	assert_non_null(strstr(s.trace, "trace.csv"));
	assert_true(s.keep_damaged);
	assert_int_equal(s.n_link_set, 2);
	assert_string_equal(s.link_set[0].assignment, "loss=1%");
	assert_string_equal(s.link_set[1].assignment, "up.latency=300ms");
	assert_int_equal(s.link_set[1].line, 12);
	assert_int_equal(s.gw.mode, GW_MODE_AGGREGATING);
	assert_int_equal(s.gw.retry_initial_ms, 5000);
	assert_int_equal(s.gw.max_inflight, 4);
	assert_int_equal(s.broker.ack_us, 20000);
	/* the group expands, offsets spread over the period */
	assert_int_equal(s.n_st, 4);
	assert_string_equal(s.st[0].name, "mast-001");
	assert_string_equal(s.st[2].name, "mast-003");
	assert_string_equal(s.st[1].topic, "wx/mast-002/obs");
	assert_int_equal(s.st[0].offset_us, 0);
	assert_int_equal(s.st[1].offset_us, 20 * S);
	assert_int_equal(s.st[2].offset_us, 40 * S);
	assert_int_equal(s.st[0].qos, 2);
	assert_string_equal(s.st[3].name, "buoy");
	assert_string_equal(s.st[3].topic, "stations/buoy/telemetry");
	assert_int_equal(s.st[3].offset_us, 10 * S);
	assert_int_equal(s.st[3].keep_alive_s, 1200);
	assert_int_equal(s.st[3].queue_max, 50);
	assert_true(s.st[3].queue_drop_oldest);
	/* actions in time order; the group name reaches every member */
	assert_int_equal(s.n_act, 5);
	assert_int_equal(s.act[0].at_us, 1800 * S);
	assert_int_equal(s.act[0].kind, SIM_ACT_RESTART);
	assert_false(s.act[0].bridge);
	assert_int_equal(s.act[0].station, 0);
	assert_int_equal(s.act[2].station, 2);
	assert_int_equal(s.act[3].station, 3);
	assert_int_equal(s.act[3].down_us, 300 * S);
	assert_true(s.act[4].bridge);
	assert_int_equal(s.act[4].kind, SIM_ACT_CRASH);
	assert_int_equal(s.act[4].down_us, 30 * S);
	sim_scenario_free(&s);
}

static void test_defaults_and_set(void **state)
{
	struct tmp *t = *state;
	struct sim_scenario s;
	char err[1024];
	const char *path;

	put(t, "wx.csv", weather);
	path = put(t, "min.scn", "[station a]\ncorpus wx.csv\n");
	if (sim_scenario_load(&s, path, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(s.duration_us, 86400 * S);
	assert_string_equal(s.profile, "perfect");
	assert_null(s.trace);
	assert_int_equal(s.gw.advertise_interval_s, 0);
	assert_int_equal(s.st[0].every_us, 60 * S);
	assert_int_equal(s.st[0].qos, 1);
	assert_string_equal(s.st[0].topic, "stations/a/telemetry");

	assert_int_equal(sim_scenario_set(&s, "seed=9", err, sizeof err), 0);
	assert_int_equal(s.seed, 9);
	assert_int_equal(sim_scenario_set(&s, "duration=1h30m", err, sizeof err), 0);
	assert_int_equal(s.duration_us, 5400 * S);
	assert_int_equal(sim_scenario_set(&s, "bridge.mode=aggregating", err, sizeof err), 0);
	assert_int_equal(s.gw.mode, GW_MODE_AGGREGATING);
	assert_int_equal(sim_scenario_set(&s, "broker.connect=1s", err, sizeof err), 0);
	assert_int_equal(s.broker.connect_us, S);
	assert_int_equal(sim_scenario_set(&s, "link.loss=2%", err, sizeof err), 0);
	assert_int_equal(s.n_link_set, 1);
	assert_int_not_equal(sim_scenario_set(&s, "link.loss=7", err, sizeof err), 0);
	assert_int_not_equal(sim_scenario_set(&s, "nonsense=1", err, sizeof err), 0);
	assert_non_null(strstr(err, "nonsense"));
	assert_int_not_equal(sim_scenario_set(&s, "seed", err, sizeof err), 0);
	sim_scenario_free(&s);
}

/* A scenario that must not load, with err containing want. */
static void refuse(struct tmp *t, const char *name, const char *text, const char *want)
{
	struct sim_scenario s;
	char err[1024] = "";
	const char *path = put(t, name, text);

	if (sim_scenario_load(&s, path, err, sizeof err) == 0) {
		sim_scenario_free(&s);
		fail_msg("%s loaded; wanted an error with \"%s\"", name, want);
	}
	if (strstr(err, want) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", name, err, want);
}

static void test_errors(void **state)
{
	struct tmp *t = *state;

	put(t, "wx.csv", weather);
	refuse(t, "e1.scn", "seed 1\nspeed 3\n[station a]\ncorpus wx.csv\n", "e1.scn:2: unknown key");
	refuse(t, "e2.scn", "[station a]\ncorpus no-such-corpus.csv\n", "no-such-corpus.csv");
	refuse(t, "e3.scn", "[stations a]\n", "e3.scn:1: unknown section");
	refuse(t, "e4.scn", "[station a]\ncorpus wx.csv\nat 1h crash station b\n",
	       "no station called b");
	refuse(t, "e5.scn", "[station a]\ncorpus wx.csv\nqos 3\n", "e5.scn:3");
	refuse(t, "e6.scn", "[station abcdefghijklmnopqrstuvwxyz]\n", "longer than 23");
	refuse(t, "e7.scn", "seed 1\n", "no [station NAME]");
	refuse(t, "e8.scn", "[link]\nprofile marsnet\n[station a]\ncorpus wx.csv\n",
	       "unknown link profile");
	refuse(t, "e9.scn", "[link]\nlatency fast\n[station a]\ncorpus wx.csv\n", "e9.scn:2");
}

/* ---------------------------------------------------------------- corpora */

static void test_corpus_weather(void **state)
{
	struct tmp *t = *state;
	struct sim_corpus c;
	const uint8_t *p;
	size_t len;
	char err[512];
	static const char first[] =
		"{\"ts\":\"2010-01-01T01:00:00\",\"pressure_hpa\":1016.6,\"temp_c\":4.0,\"wind_ms\":3.8}";
	static const char second[] =
		"{\"ts\":\"2010-01-01T02:00:00\",\"pressure_hpa\":1016.6,\"temp_c\":-3.9,\"wind_ms\":3.8}";

	assert_int_equal(sim_corpus_load(&c, put(t, "w.csv", weather), err, sizeof err), 0);
	assert_int_equal(c.n, 2);
	sim_corpus_get(&c, 0, &p, &len);
	assert_int_equal(len, strlen(first));
	assert_memory_equal(p, first, len);
	sim_corpus_get(&c, 3, &p, &len); /* wraps */
	assert_int_equal(len, strlen(second));
	assert_memory_equal(p, second, len);
	sim_corpus_free(&c);

	assert_int_not_equal(sim_corpus_load(&c, put(t, "h.csv", "a,b\n1,2\n"), err, sizeof err), 0);
	assert_non_null(strstr(err, "h.csv:1"));
	assert_int_not_equal(
		sim_corpus_load(&c, put(t, "r.csv", "date,pressure,temperature,wind\nx,1,2\n"), err,
		                sizeof err),
		0);
	assert_non_null(strstr(err, "r.csv:2"));
	assert_int_not_equal(sim_corpus_load(&c, put(t, "x.txt", "hello\n"), err, sizeof err), 0);
	assert_non_null(strstr(err, "unknown corpus format"));
}

static void test_corpus_jsonl(void **state)
{
	struct tmp *t = *state;
	struct sim_corpus c;
	const uint8_t *p;
	size_t len;
	char err[512];

	assert_int_equal(
		sim_corpus_load(&c, put(t, "q.jsonl", "{\"a\":1}\n\n{\"b\":2}\r\n"), err, sizeof err), 0);
	assert_int_equal(c.n, 2);
	sim_corpus_get(&c, 1, &p, &len);
	assert_int_equal(len, 7);
	assert_memory_equal(p, "{\"b\":2}", 7);
	sim_corpus_free(&c);
	assert_int_not_equal(sim_corpus_load(&c, "/nonexistent/q.jsonl", err, sizeof err), 0);
	assert_non_null(strstr(err, "/nonexistent/q.jsonl"));
}

/* ---------------------------------------------------------------- the event queue */

static void test_heap_order(void **state)
{
	struct sim_pq q;
	struct sim_pq_item it;
	uint64_t last_at = 0, last_order = 0, x = 88172645463325252ull;
	size_t i;

	(void)state;
	sim_pq_init(&q);
	for (i = 0; i < 5000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		assert_int_equal(sim_pq_push(&q, x % 100, 1, (uint32_t)i, 0), 0);
	}
	assert_int_equal(sim_pq_size(&q), 5000);
	for (i = 0; i < 5000; i++) {
		assert_true(sim_pq_pop(&q, &it));
		/* by time, and in insertion order within one time */
		assert_true(it.at > last_at || (it.at == last_at && (i == 0 || it.order > last_order)));
		last_at = it.at;
		last_order = it.order;
	}
	assert_false(sim_pq_pop(&q, &it));
	assert_false(sim_pq_peek(&q, &it));
	sim_pq_clear(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test_setup_teardown(test_load_full, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_defaults_and_set, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_errors, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_corpus_weather, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_corpus_jsonl, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_heap_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
