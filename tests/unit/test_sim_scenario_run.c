/*
 * test_sim_scenario_run.c - whole scenario runs (sim/scenario_run.h): the
 * real client cores, the link model, the real gateway core and the
 * in-memory broker, in virtual time.
 *
 * The 24-hour scenarios of sim/scenarios/ replay the three outage traces of
 * ../shared/data/links with a station publishing the weather corpus once a
 * minute at QoS 1: nothing may be lost, and the report's figures are
 * checked against the broker's own record, counted here independently of
 * the report's matching. Small scenarios written on the fly make each kind
 * of loss happen once, so that the accounting identities are seen to hold
 * when the numbers are not zero.
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

#include "sim/broker_mem.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/scenario_run.h"
#include "sim/stations_corpus.h"

/* ---------------------------------------------------------------- helpers */

static void load(struct sim_scenario *s, const char *path)
{
	char err[1024];

	if (sim_scenario_load(s, path, err, sizeof err) != 0)
		fail_msg("%s", err);
}

static void identities(const struct sim_report *r)
{
	assert_int_equal(r->published, r->delivered + r->lost);
	assert_int_equal(r->lost, r->lost_refused_queue + r->lost_refused_gw + r->lost_still_queued +
	                              r->lost_dropped + r->vanished);
	assert_int_equal(r->broker_msgs, r->delivered + r->duplicates + r->unmatched);
	assert_int_equal(r->vanished, 0);
	assert_int_equal(r->fates_unknown, 0);
}

static int cmp_pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Whether (station name, hash) is in the sorted pairs. */
static bool has_pair(const uint64_t *pairs, size_t n, uint64_t who, uint64_t hash)
{
	uint64_t key[2] = { who, hash };

	return bsearch(key, pairs, n, 2 * sizeof *pairs, cmp_pair) != NULL;
}

/*
 * The report against the broker's record, counted here: every message of
 * the record that is not a Will is a publish; distinct (publisher, payload)
 * pairs are deliveries (the corpora do not repeat within these runs), the
 * rest duplicates; and of the messages a station could have made (one
 * corpus record per schedule slot, made or skipped while it was down), as
 * many are in the record as the report says it delivered. Publishers are
 * told apart by client id (transparent mode) or by topic (aggregating).
 */
static void check_against_broker(const struct sim_world *w, const struct sim_scenario *s,
                                 const struct sim_report *r, bool by_topic)
{
	const struct sim_broker *b = sim_world_broker(w);
	const struct sim_broker_rx *rec;
	uint64_t *pairs;
	size_t n, i, k, np = 0, distinct = 0;

	rec = sim_broker_record(b, &n);
	pairs = calloc(2 * (n + 1), sizeof *pairs);
	assert_non_null(pairs);
	for (i = 0; i < n; i++) {
		const char *who = by_topic ? sim_broker_topic_name(b, rec[i].topic)
		                           : sim_broker_client_name(b, rec[i].client);

		if (rec[i].will)
			continue;
		pairs[2 * np] = sim_broker_hash((const uint8_t *)who, strlen(who));
		pairs[2 * np + 1] = rec[i].hash;
		np++;
	}
	assert_int_equal(np, r->broker_msgs);
	qsort(pairs, np, 2 * sizeof *pairs, cmp_pair);
	for (i = 0; i < np; i++)
		if (i == 0 || cmp_pair(&pairs[2 * i], &pairs[2 * (i - 1)]) != 0)
			distinct++;
	assert_int_equal(distinct, r->delivered);
	assert_int_equal(np - distinct, r->duplicates);
	for (k = 0; k < s->n_st; k++) {
		const char *who = by_topic ? s->st[k].topic : s->st[k].name;
		uint64_t wh = sim_broker_hash((const uint8_t *)who, strlen(who));
		uint64_t slots = r->lines[k].published + r->lines[k].skipped, m, found = 0;
		struct sim_corpus c;
		char err[512];

		if (s->st[k].corpus == NULL)
			continue;
		assert_int_equal(sim_corpus_load(&c, s->st[k].corpus, err, sizeof err), 0);
		assert_true(slots < c.n);
		for (m = 0; m < slots; m++) {
			const uint8_t *p;
			size_t len;

			sim_corpus_get(&c, s->st[k].corpus_start + m, &p, &len);
			if (has_pair(pairs, np, wh, sim_broker_hash(p, len)))
				found++;
		}
		assert_int_equal(found, r->lines[k].delivered);
		if (r->lines[k].lost == 0 && r->lines[k].skipped == 0)
			assert_int_equal(found, slots);
		sim_corpus_free(&c);
	}
	free(pairs);
}

/* Run s and check it against the broker; r is filled. */
static void run_checked(const struct sim_scenario *s, struct sim_report *r, bool by_topic)
{
	struct sim_world *w;
	char err[1024];

	w = sim_world_new(s, NULL, err, sizeof err);
	if (w == NULL)
		fail_msg("%s", err);
	if (sim_world_run(w, err, sizeof err) != 0 || sim_world_report(w, r, err, sizeof err) != 0)
		fail_msg("%s", err);
	identities(r);
	check_against_broker(w, s, r, by_topic);
	sim_world_free(w);
}

/* ---------------------------------------------------------------- the traces */

static void one_day(const char *path)
{
	struct sim_scenario s;
	struct sim_report r;

	load(&s, path);
	assert_int_equal(s.n_st, 1);
	assert_int_equal(s.duration_us, 86400000000ull);
	assert_non_null(s.trace);
	run_checked(&s, &r, false);
	assert_int_equal(r.published, 1440);
	assert_int_equal(r.delivered, 1440);
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.unmatched, 0);
	assert_int_equal(r.out_of_order, 0);
	/* the trace did happen: datagrams met a down link */
	assert_true(r.link[0].dropped_down > 0);
	assert_true(r.delay_max_us > 60000000u);
	assert_true(r.delay_median_us <= r.delay_p99_us && r.delay_p99_us <= r.delay_max_us);
	assert_true(r.n_down > 0);
	assert_true(r.n_samples >= 1440);
	assert_int_equal(r.samples[r.n_samples - 1].delivered, r.delivered);
	assert_int_equal(r.samples[r.n_samples - 1].published, r.published);
	sim_report_free(&r);
	sim_scenario_free(&s);
}

static void test_geo_rain_fade(void **state)
{
	(void)state;
	one_day("sim/scenarios/geo-rain-fade-24h.scn");
}

static void test_leo_passes(void **state)
{
	(void)state;
	one_day("sim/scenarios/leo-passes-24h.scn");
}

static void test_dialup_drops(void **state)
{
	(void)state;
	one_day("sim/scenarios/dialup-drops-24h.scn");
}

/* QoS 2 through the same day: exactly once, no duplicate at the broker. */
static void test_qos2_exactly_once(void **state)
{
	struct sim_scenario s;
	struct sim_report r;

	(void)state;
	load(&s, "sim/scenarios/geo-rain-fade-24h.scn");
	s.st[0].qos = 2;
	run_checked(&s, &r, false);
	assert_int_equal(r.published, 1440);
	assert_int_equal(r.delivered, 1440);
	assert_int_equal(r.duplicates, 0);
	assert_int_equal(r.lost, 0);
	sim_report_free(&r);
	sim_scenario_free(&s);
}

static void test_crashes(void **state)
{
	struct sim_scenario s;
	struct sim_report r;

	(void)state;
	load(&s, "sim/scenarios/crashes-geo-24h.scn");
	run_checked(&s, &r, false);
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.bridge_crashes, 2);
	assert_int_equal(r.bridge_restarts, 1);
	assert_int_equal(r.st_crashes, 3);
	assert_int_equal(r.st_restarts, 1);
	/* the crash in the rain fade found a backlog on disk, and lost none of it */
	assert_true(r.queue_recovered > 0);
	/* while it was down, the station made nothing */
	assert_true(r.skipped_down > 0);
	assert_int_equal(r.published + r.skipped_down, 1440);
	sim_report_free(&r);
	sim_scenario_free(&s);
}

/* ---------------------------------------------------------------- determinism */

static char *text_of(const struct sim_report *r, void (*fn)(const struct sim_report *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(r, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_same_seed_same_report(void **state)
{
	void (*const fns[])(const struct sim_report *, FILE *) = { sim_report_text, sim_report_csv,
		                                                   sim_report_svg };
	struct sim_scenario s;
	struct sim_report a, b;
	char err[1024];
	char *ta, *tb;
	size_t i;

	(void)state;
	load(&s, "sim/scenarios/crashes-geo-24h.scn");
	assert_int_equal(sim_scenario_run(&s, NULL, &a, err, sizeof err), 0);
	assert_int_equal(sim_scenario_run(&s, NULL, &b, err, sizeof err), 0);
	for (i = 0; i < 3; i++) {
		ta = text_of(&a, fns[i]);
		tb = text_of(&b, fns[i]);
		assert_string_equal(ta, tb);
		free(ta);
		free(tb);
	}
	sim_report_free(&b);
	/* another seed draws other losses */
	assert_int_equal(sim_scenario_set(&s, "seed=2", err, sizeof err), 0);
	assert_int_equal(sim_scenario_run(&s, NULL, &b, err, sizeof err), 0);
	ta = text_of(&a, sim_report_text);
	tb = text_of(&b, sim_report_text);
	assert_string_not_equal(ta, tb);
	free(ta);
	free(tb);
	sim_report_free(&a);
	sim_report_free(&b);
	sim_scenario_free(&s);
}

/* ---------------------------------------------------------------- losses on purpose */

struct tmp {
	char dir[256];
	char corpus[320], trace[320], scn[320], extra[320];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof *t);
	FILE *f;
	int i;

	assert_non_null(t);
	snprintf(t->dir, sizeof t->dir, "%s/test_sim_run-XXXXXX",
	         getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->corpus, sizeof t->corpus, "%s/wx.csv", t->dir);
	snprintf(t->trace, sizeof t->trace, "%s/out.csv", t->dir);
	snprintf(t->scn, sizeof t->scn, "%s/s.scn", t->dir);
	f = fopen(t->corpus, "w");
	assert_non_null(f);
	fprintf(f, "date,pressure,temperature,wind\n");
	for (i = 0; i < 500; i++)
		fprintf(f, "2010-01-%02dT%02d:00:00,1016.%d,%d.5,3.%d\n", 1 + i / 24, i % 24, i % 10,
		        i % 30, i % 7);
	assert_int_equal(fclose(f), 0);
	/* the link is down from 10 minutes to 70 */
	f = fopen(t->trace, "w");
	assert_non_null(f);
	fprintf(f, "down_at_s,up_at_s\n600,4200\n");
	assert_int_equal(fclose(f), 0);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;

	(void)unlink(t->corpus);
	(void)unlink(t->extra);
	(void)unlink(t->trace);
	(void)unlink(t->scn);
	(void)rmdir(t->dir);
	free(t);
	return 0;
}

/* Write a scenario: the common part, then station lines. */
static void scenario(struct tmp *t, const char *top, const char *station)
{
	FILE *f = fopen(t->scn, "w");

	assert_non_null(f);
	fprintf(f, "%s\n[link]\nprofile perfect\nlatency 100ms\ntrace out.csv\n"
	           "[station a]\ncorpus wx.csv\nevery 60s\n%s\n",
	        top, station);
	assert_int_equal(fclose(f), 0);
}

static void run_tmp(struct tmp *t, struct sim_report *r)
{
	struct sim_scenario s;

	load(&s, t->scn);
	run_checked(&s, r, false);
	sim_scenario_free(&s);
}

static void test_queue_full_refuses(void **state)
{
	struct tmp *t = *state;
	struct sim_report r;

	scenario(t, "duration 2h\ndrain 1h", "queue_max 10\nqueue_full refuse");
	run_tmp(t, &r);
	assert_int_equal(r.published, 120);
	assert_true(r.lost_refused_queue > 40);
	assert_int_equal(r.lost, r.lost_refused_queue);
	sim_report_free(&r);
}

static void test_queue_full_drops_oldest(void **state)
{
	struct tmp *t = *state;
	struct sim_report r;

	scenario(t, "duration 2h\ndrain 1h", "queue_max 10\nqueue_full drop_oldest");
	run_tmp(t, &r);
	assert_true(r.lost_dropped > 40);
	assert_int_equal(r.lost, r.lost_dropped);
	assert_true(r.queue_dropped >= r.lost_dropped);
	sim_report_free(&r);
}

static void test_expiry(void **state)
{
	struct tmp *t = *state;
	struct sim_report r;

	scenario(t, "duration 2h\ndrain 1h", "ttl 20m");
	run_tmp(t, &r);
	assert_true(r.lost_dropped > 30);
	assert_true(r.queue_expired >= r.lost_dropped);
	assert_int_equal(r.lost, r.lost_dropped);
	sim_report_free(&r);
}

static void test_still_queued(void **state)
{
	struct tmp *t = *state;
	struct sim_report r;

	/* publishing stops at 30 minutes, in the outage, and the run ends at 40 */
	scenario(t, "duration 30m\ndrain 10m", "");
	run_tmp(t, &r);
	assert_int_equal(r.published, 30);
	assert_int_equal(r.lost_still_queued, 20);
	assert_int_equal(r.lost, 20);
	assert_int_equal(r.ended_us, 2400000000ull);
	sim_report_free(&r);
}

static void test_too_big_for_the_link(void **state)
{
	struct tmp *t = *state;
	struct sim_report r;
	char big[320];
	FILE *f;
	int i;

	/* records of 300 octets on a link that carries 200: refused, not stuck */
	snprintf(t->extra, sizeof t->extra, "%s/big.jsonl", t->dir);
	f = fopen(t->extra, "w");
	assert_non_null(f);
	for (i = 0; i < 100; i++) {
		snprintf(big, sizeof big, "{\"n\":%03d,\"pad\":\"%0280d\"}", i, 0);
		fprintf(f, "%s\n", big);
	}
	assert_int_equal(fclose(f), 0);
	f = fopen(t->scn, "w");
	assert_non_null(f);
	fprintf(f, "duration 30m\n[link]\nmtu 200\n[station a]\ncorpus big.jsonl\n");
	assert_int_equal(fclose(f), 0);
	run_tmp(t, &r);
	assert_int_equal(r.published, 30);
	assert_int_equal(r.lost_refused_gw, 30);
	assert_int_equal(r.lost, 30);
	assert_int_equal(r.link[0].dropped_other, 0); /* the station never offered them */
	sim_report_free(&r);
}

static void test_aggregating(void **state)
{
	struct tmp *t = *state;
	struct sim_scenario s;
	struct sim_report r;
	FILE *f = fopen(t->scn, "w");

	assert_non_null(f);
	fprintf(f, "duration 3h\n[bridge]\nmode aggregating\n[link]\nprofile geo\ntrace out.csv\n"
	           "[station wx]\ncount 5\ncorpus wx.csv\ntopic wx/{name}\n"
	           "[station ops]\nsubscribe wx/#\n");
	assert_int_equal(fclose(f), 0);
	load(&s, t->scn);
	run_checked(&s, &r, true);
	assert_int_equal(r.published, 5 * 180);
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.unmatched, 0);
	assert_true(r.downlink > 0);
	sim_report_free(&r);
	sim_scenario_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geo_rain_fade),
		cmocka_unit_test(test_leo_passes),
		cmocka_unit_test(test_dialup_drops),
		cmocka_unit_test(test_qos2_exactly_once),
		cmocka_unit_test(test_crashes),
		cmocka_unit_test(test_same_seed_same_report),
		cmocka_unit_test_setup_teardown(test_queue_full_refuses, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_queue_full_drops_oldest, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_expiry, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_still_queued, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_too_big_for_the_link, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_aggregating, tmp_setup, tmp_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
