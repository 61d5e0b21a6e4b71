/*
 * test_snc_rtt.c - the RFC 6298 estimator (sn-client/rtt.h), against values
 * worked out by hand from the RFC's formulas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sn-client/rtt.h"

static void test_initial(void **state)
{
	struct snc_rtt r;

	(void)state;
	snc_rtt_init(&r, 10000, 1000, 300000);
	assert_int_equal(r.rto_ms, 10000);
	snc_rtt_init(&r, 500, 1000, 300000);
	assert_int_equal(r.rto_ms, 1000);   /* clamped up to the floor */
	snc_rtt_init(&r, 999999, 1000, 300000);
	assert_int_equal(r.rto_ms, 300000); /* and down to the ceiling */
}

static void test_samples(void **state)
{
	struct snc_rtt r;

	(void)state;
	snc_rtt_init(&r, 10000, 100, 300000);
	/* 2.2: SRTT = 600, RTTVAR = 300, RTO = 600 + 4*300. */
	snc_rtt_sample(&r, 600);
	assert_int_equal(r.srtt_ms, 600);
	assert_int_equal(r.rttvar_ms, 300);
	assert_int_equal(r.rto_ms, 1800);
	/* 2.3 with R = 1400: RTTVAR = 3/4*300 + 1/4*800 = 425, SRTT = 7/8*600 + 1/8*1400 = 700. */
	snc_rtt_sample(&r, 1400);
	assert_int_equal(r.rttvar_ms, 425);
	assert_int_equal(r.srtt_ms, 700);
	assert_int_equal(r.rto_ms, 700 + 4 * 425);
	/* A steady round trip: the variation decays, RTO approaches SRTT + a little. */
	for (int i = 0; i < 60; i++)
		snc_rtt_sample(&r, 700);
	assert_int_equal(r.srtt_ms, 700);
	assert_true(r.rttvar_ms <= 1);
	assert_true(r.rto_ms >= 700 && r.rto_ms <= 704);
	assert_int_equal(r.samples, 62);
}

static void test_floor_applies(void **state)
{
	struct snc_rtt r;

	(void)state;
	snc_rtt_init(&r, 10000, 1000, 300000);
	for (int i = 0; i < 10; i++)
		snc_rtt_sample(&r, 5);
	assert_int_equal(r.rto_ms, 1000);
}

static void test_backoff(void **state)
{
	struct snc_rtt r;

	(void)state;
	snc_rtt_init(&r, 10000, 1000, 60000);
	snc_rtt_timeout(&r);
	assert_int_equal(r.rto_ms, 20000);
	snc_rtt_timeout(&r);
	assert_int_equal(r.rto_ms, 40000);
	snc_rtt_timeout(&r);
	assert_int_equal(r.rto_ms, 60000); /* ceiling */
	assert_int_equal(r.backoffs, 3);
	/* 5.7: a new measurement ends the back-off. */
	snc_rtt_sample(&r, 2000);
	assert_int_equal(r.backoffs, 0);
	assert_int_equal(r.rto_ms, 2000 + 4 * 1000);

	assert_int_equal(snc_rtt_backoff(&r, 3000, 0), 3000);
	assert_int_equal(snc_rtt_backoff(&r, 3000, 1), 6000);
	assert_int_equal(snc_rtt_backoff(&r, 3000, 4), 48000);
	assert_int_equal(snc_rtt_backoff(&r, 3000, 5), 60000);
	assert_int_equal(snc_rtt_backoff(&r, 3000, 500), 60000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_floor_applies),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
