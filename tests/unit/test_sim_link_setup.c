/*
 * test_sim_link_setup.c - how a link is described: outage schedules
 * (`--down`, trace files, errors naming file:line), named profiles and
 * `--set KEY=VALUE` (sim/trace.h, sim/profile.h).
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

#include "sim/profile.h"
#include "sim/trace.h"

#define SEC 1000000u

/* ---------------------------------------------------------------- --down */

static void test_down_args(void **state)
{
	static const char *const bad[] = {
		"600", "600+", "+90", "-5+3", "600+-1", "600+0", "600+90x", "a+b", "600 +90",
		" 600+90", "inf+1", "1e13+1", "",
	};
	struct sim_outages o = { 0 };
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(sim_outages_parse_down(&o, "600+90", err, sizeof err), 0);
	assert_int_equal(sim_outages_parse_down(&o, "12.5+0.25", err, sizeof err), 0);
	assert_int_equal(o.n, 2);
	assert_int_equal(o.v[0].down_us, 600 * SEC);
	assert_int_equal(o.v[0].up_us, 690 * SEC);
	assert_int_equal(o.v[1].down_us, 12500000);
	assert_int_equal(o.v[1].up_us, 12750000);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(sim_outages_parse_down(&o, bad[i], err, sizeof err), -1);
		assert_non_null(strstr(err, "--down"));
	}
	assert_int_equal(o.n, 2);
	sim_outages_free(&o);
	assert_int_equal(o.n, 0);
}

/* ---------------------------------------------------------------- traces */

static int parse(struct sim_outages *o, const char *text, char *err, size_t errlen)
{
	return sim_outages_parse_csv(o, "t.csv", text, strlen(text), err, errlen);
}

static void test_trace_good(void **state)
{
	struct sim_outages o = { 0 };
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(&o, "down_at_s,up_at_s\n6088.4,6124.3\n0,1.5\n", err, sizeof err),
	                 0);
	assert_int_equal(o.n, 2);
	assert_int_equal(o.v[0].down_us, 6088400000u);
	assert_int_equal(o.v[0].up_us, 6124300000u);
	assert_int_equal(o.v[1].down_us, 0);
	assert_int_equal(o.v[1].up_us, 1500000);
	sim_outages_free(&o);
	/* CRLF, blank lines, comments, no newline at the end, blanks around. */
	assert_int_equal(parse(&o, "# recorded\r\ndown_at_s,up_at_s\r\n\r\n 10,20 \r\n# x\n30,40",
	                       err, sizeof err), 0);
	assert_int_equal(o.n, 2);
	assert_int_equal(o.v[1].up_us, 40 * SEC);
	sim_outages_free(&o);
	/* A header only: no outages. */
	assert_int_equal(parse(&o, "down_at_s,up_at_s\n", err, sizeof err), 0);
	assert_int_equal(o.n, 0);
}

static void test_trace_errors(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
		{ "", "t.csv: empty" },
		{ "\n\n", "t.csv: empty" },
		{ "down,up\n1,2\n", "t.csv:1: expected the header" },
		{ "1,2\n", "t.csv:1: expected the header" },
		{ "down_at_s,up_at_s\n1,2\n3\n", "t.csv:3: expected down_at_s,up_at_s" },
		{ "down_at_s,up_at_s\n1,2\n\n5,4\n", "t.csv:4: up_at_s must be after down_at_s" },
		{ "down_at_s,up_at_s\n5,5\n", "t.csv:2: up_at_s must be after down_at_s" },
		{ "down_at_s,up_at_s\n-1,4\n", "t.csv:2: expected" },
		{ "down_at_s,up_at_s\n1,4,5\n", "t.csv:2: expected" },
		{ "down_at_s,up_at_s\n1;4\n", "t.csv:2: expected" },
		{ "down_at_s,up_at_s\nnan,4\n", "t.csv:2: expected" },
	};
	struct sim_outages o = { 0 };
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err[0] = '\0';
		assert_int_equal(parse(&o, cases[i].text, err, sizeof err), -1);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			fail_msg("case %zu: \"%s\", expected \"%s...\"", i, err, cases[i].err);
		assert_int_equal(o.n, 0); /* nothing half-added */
	}
	/* A NUL inside a line, and a line too long. */
	{
		const char text[] = "down_at_s,up_at_s\n1,\0002\n";
		char longline[600];

		assert_int_equal(sim_outages_parse_csv(&o, "t.csv", text, sizeof text - 1, err,
		                                       sizeof err), -1);
		assert_non_null(strstr(err, "t.csv:2:"));
		memset(longline, '1', sizeof longline);
		memcpy(longline, "down_at_s,up_at_s\n", 18);
		assert_int_equal(sim_outages_parse_csv(&o, "t.csv", longline, sizeof longline, err,
		                                       sizeof err), -1);
		assert_non_null(strstr(err, "t.csv:2: line longer"));
	}
	sim_outages_free(&o);
}

static void test_trace_file(void **state)
{
	char path[] = "/tmp/test_sim_trace.XXXXXX";
	struct sim_outages o = { 0 };
	char err[512];
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("down_at_s,up_at_s\n0.0,1105.9\n1716.2,12458.8\nbroken\n", f);
	fclose(f);
	assert_int_equal(sim_outages_load(&o, path, err, sizeof err), -1);
	/* The message names the file and the line. */
	{
		char want[64];

		snprintf(want, sizeof want, "%s:4: ", path);
		assert_int_equal(strncmp(err, want, strlen(want)), 0);
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("down_at_s,up_at_s\n0.0,1105.9\n1716.2,12458.8\n", f);
	fclose(f);
	assert_int_equal(sim_outages_load(&o, path, err, sizeof err), 0);
	assert_int_equal(o.n, 2);
	assert_int_equal(o.v[1].up_us, 12458800000u);
	unlink(path);
	assert_int_equal(sim_outages_load(&o, path, err, sizeof err), -1);
	assert_non_null(strstr(err, "No such file"));
	sim_outages_free(&o);
}

/* A loaded schedule drives the link. */
static void test_trace_link(void **state)
{
	struct sim_outages o = { 0 };
	struct sim_link_params p;
	struct sim_link link;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, "down_at_s,up_at_s\n100,200\n", err, sizeof err), 0);
	assert_int_equal(sim_outages_parse_down(&o, "150+100", err, sizeof err), 0);
	sim_link_params_default(&p);
	p.outages = o.v;
	p.n_outages = o.n;
	assert_int_equal(sim_link_init(&link, &p, 1), 0);
	sim_outages_free(&o); /* the link has its own copy */
	assert_true(sim_link_is_up(&link, 99 * SEC));
	assert_false(sim_link_is_up(&link, 199 * SEC));
	assert_false(sim_link_is_up(&link, 249 * SEC));
	assert_true(sim_link_is_up(&link, 250 * SEC));
	sim_link_free(&link);
}

/* ---------------------------------------------------------------- profiles */

static void test_profiles(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	const struct sim_profile *pr;
	char err[256];

	(void)state;
	for (pr = sim_profiles; pr->name != NULL; pr++) {
		assert_int_equal(sim_profile_apply(&p, pr->name, err, sizeof err), 0);
		assert_int_equal(sim_link_init(&link, &p, 1), 0);
		sim_link_free(&link);
	}
	assert_int_equal(sim_profile_apply(&p, "iridium-sbd", err, sizeof err), 0);
	assert_int_equal(p.dir[SIM_UP].mtu, 340);
	assert_int_equal(p.dir[SIM_DOWN].mtu, 270);
	assert_int_equal(p.dir[SIM_UP].bill_unit_bytes, 50);
	assert_int_equal(p.dir[SIM_UP].bill_min_units, 1);
	assert_int_equal(sim_profile_apply(&p, "geo", err, sizeof err), 0);
	assert_true(p.dir[SIM_UP].latency_us >= 250000 && p.dir[SIM_UP].latency_us <= 300000);
	assert_int_equal(p.dir[SIM_DOWN].mtu, 1200);
	assert_int_equal(sim_profile_apply(&p, "dialup-9600", err, sizeof err), 0);
	assert_int_equal(p.dir[SIM_UP].rate_bps, 9600);
	assert_int_equal(p.dir[SIM_UP].bits_per_byte, 10);
	assert_int_equal(sim_profile_apply(&p, "hf-300", err, sizeof err), 0);
	assert_int_equal(p.dir[SIM_DOWN].rate_bps, 300);
	pr = sim_profile_find("leo");
	assert_non_null(pr);
	assert_string_equal(pr->trace, "leo-passes-24h.csv");
	assert_int_equal(sim_profile_apply(&p, "nope", err, sizeof err), -1);
	assert_non_null(strstr(err, "\"nope\""));
}

static void test_set(void **state)
{
	struct sim_link_params p;
	char err[256];

	(void)state;
	assert_int_equal(sim_profile_apply(&p, "geo", err, sizeof err), 0);
	assert_int_equal(sim_profile_set(&p, "up.loss=0.02", err, sizeof err), 0);
	assert_true(p.dir[SIM_UP].loss == 0.02);
	assert_true(p.dir[SIM_DOWN].loss == 0.005);
	assert_int_equal(sim_profile_set(&p, "loss=3%", err, sizeof err), 0);
	assert_true(p.dir[SIM_UP].loss == 0.03 && p.dir[SIM_DOWN].loss == 0.03);
	assert_int_equal(sim_profile_set(&p, "latency=100ms", err, sizeof err), 0);
	assert_int_equal(p.dir[SIM_UP].latency_us, 100000);
	assert_int_equal(sim_profile_set(&p, "down.latency=1.5s", err, sizeof err), 0);
	assert_int_equal(p.dir[SIM_DOWN].latency_us, 1500000);
	assert_int_equal(p.dir[SIM_UP].latency_us, 100000);
	assert_int_equal(sim_profile_set(&p, "jitter=20", err, sizeof err), 0); /* ms */
	assert_int_equal(p.dir[SIM_UP].jitter_us, 20000);
	assert_int_equal(sim_profile_set(&p, "session_gap=2min", err, sizeof err), 0);
	assert_int_equal(p.dir[SIM_UP].session_gap_us, 120000000u);
	assert_int_equal(sim_profile_set(&p, "rate=2.4k", err, sizeof err), 0);
	assert_int_equal(p.dir[SIM_UP].rate_bps, 2400);
	assert_int_equal(sim_profile_set(&p, "queue=64k", err, sizeof err), 0);
	assert_int_equal(p.dir[SIM_UP].queue_bytes, 65536);
	assert_int_equal(sim_profile_set(&p, "up.mtu=0", err, sizeof err), 0);
	assert_int_equal(p.dir[SIM_UP].mtu, 0);
	assert_int_equal(sim_profile_set(&p, "bits_per_byte=10", err, sizeof err), 0);
	assert_int_equal(p.dir[SIM_DOWN].bits_per_byte, 10);
	assert_int_equal(sim_profile_set(&p, "bill_unit=50", err, sizeof err), 0);
	assert_int_equal(p.dir[SIM_DOWN].bill_unit_bytes, 50);
	assert_int_equal(sim_profile_set(&p, "max_inflight=50", err, sizeof err), 0);
	assert_int_equal(p.max_inflight, 50);

	assert_int_equal(sim_profile_set(&p, "loss=1.5", err, sizeof err), -1);
	assert_non_null(strstr(err, "loss"));
	assert_int_equal(sim_profile_set(&p, "loss=-0.1", err, sizeof err), -1);
	assert_int_equal(sim_profile_set(&p, "latency=5parsecs", err, sizeof err), -1);
	assert_non_null(strstr(err, "latency"));
	assert_int_equal(sim_profile_set(&p, "mtu=1.5", err, sizeof err), -1);
	assert_int_equal(sim_profile_set(&p, "bits_per_byte=0", err, sizeof err), -1);
	assert_int_equal(sim_profile_set(&p, "lossy=1", err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown key \"lossy\""));
	assert_int_equal(sim_profile_set(&p, "sideways.loss=1", err, sizeof err), -1);
	assert_int_equal(sim_profile_set(&p, "up.=1", err, sizeof err), -1);
	assert_int_equal(sim_profile_set(&p, "loss", err, sizeof err), -1);
	assert_non_null(strstr(err, "KEY=VALUE"));
	assert_int_equal(sim_profile_set(&p, "=1", err, sizeof err), -1);
	assert_int_equal(sim_profile_set(&p, "loss=", err, sizeof err), -1);
	/* Failed sets changed nothing. */
	assert_true(p.dir[SIM_UP].loss == 0.03);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_down_args),
		cmocka_unit_test(test_trace_good),
		cmocka_unit_test(test_trace_errors),
		cmocka_unit_test(test_trace_file),
		cmocka_unit_test(test_trace_link),
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
