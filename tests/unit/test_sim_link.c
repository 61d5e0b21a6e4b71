/*
 * test_sim_link.c - the link model (sim/link.h), element by element, with
 * fixed seeds: measured rates and distributions over many draws within
 * stated tolerances (about five standard errors, so a correct model fails
 * less than once in a million runs, and the seed is fixed anyway), exact
 * timings where the model is exact.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim/link.h"
#include "sim/rng.h"

#define MS 1000u
#define SEC 1000000u
#define N 100000u /* draws for the statistical checks */

static uint8_t payload[2048];

static void link_start(struct sim_link *link, const struct sim_link_params *p, uint64_t seed)
{
	assert_int_equal(sim_link_init(link, p, seed), 0);
}

/* Pop everything due by now; returns how many were handed out. */
static size_t drain(struct sim_link *link, uint64_t now)
{
	struct sim_delivery d;
	size_t n = 0;

	while (sim_link_pop(link, now, &d))
		n++;
	return n;
}

/* ---------------------------------------------------------------- rng */

static void test_rng(void **state)
{
	struct sim_rng a, b, c;
	double sum = 0;
	size_t i, same = 0;

	(void)state;
	sim_rng_seed(&a, 1, 0);
	sim_rng_seed(&b, 1, 0);
	sim_rng_seed(&c, 2, 0);
	for (i = 0; i < 1000; i++) {
		uint64_t x = sim_rng_next(&a);

		assert_true(x == sim_rng_next(&b));
		same += x == sim_rng_next(&c);
	}
	assert_int_equal(same, 0);
	/* Streams of one seed differ too. */
	sim_rng_seed(&a, 1, 0);
	sim_rng_seed(&b, 1, 1);
	assert_true(sim_rng_next(&a) != sim_rng_next(&b));
	/* SplitMix64 from state 0: the published first output. */
	{
		uint64_t st = 0;

		assert_true(sim_splitmix64(&st) == 0xe220a8397b1dcdafu);
	}
	for (i = 0; i < N; i++) {
		double u = sim_rng_uniform(&a);

		assert_true(u >= 0.0 && u < 1.0);
		sum += u;
	}
	/* Mean 0.5, standard error 0.29/sqrt(N) ~ 0.0009. */
	assert_true(fabs(sum / N - 0.5) < 0.005);
	for (i = 0; i < 1000; i++)
		assert_true(sim_rng_below(&a, 7) < 7);
}

/* ---------------------------------------------------------------- basics */

static void test_perfect(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	struct sim_delivery d;
	const uint8_t msg[] = "hello";

	(void)state;
	sim_link_params_default(&p);
	link_start(&link, &p, 1);
	assert_int_equal(sim_link_next_time(&link), SIM_TIME_NEVER);
	assert_int_equal(sim_link_send(&link, SIM_UP, 1000, msg, 5), SIM_FATE_QUEUED);
	assert_int_equal(sim_link_send(&link, SIM_DOWN, 1000, msg, 3), SIM_FATE_QUEUED);
	assert_int_equal(sim_link_next_time(&link), 1000);
	assert_false(sim_link_pop(&link, 999, &d));
	assert_true(sim_link_pop(&link, 1000, &d));
	assert_int_equal(d.dir, SIM_UP);
	assert_int_equal(d.len, 5);
	assert_memory_equal(d.data, msg, 5);
	assert_int_equal(d.sent_us, 1000);
	assert_false(d.copy);
	assert_false(d.damaged);
	assert_true(sim_link_pop(&link, 1000, &d));
	assert_int_equal(d.dir, SIM_DOWN);
	assert_int_equal(d.len, 3);
	assert_false(sim_link_pop(&link, 5000, &d));
	assert_int_equal(sim_link_counters(&link, SIM_UP)->delivered, 1);
	assert_int_equal(sim_link_counters(&link, SIM_UP)->delivered_bytes, 5);
	assert_int_equal(sim_link_counters(&link, SIM_DOWN)->sent_bytes, 3);
	/* A tag comes back with the delivery. */
	assert_int_equal(sim_link_send_tag(&link, SIM_DOWN, 1500, msg, 2, 0xabcdef), SIM_FATE_QUEUED);
	assert_true(sim_link_pop(&link, 1500, &d));
	assert_true(d.tag == 0xabcdef);
	/* An empty datagram is a datagram. */
	assert_int_equal(sim_link_send(&link, SIM_UP, 2000, NULL, 0), SIM_FATE_QUEUED);
	assert_true(sim_link_pop(&link, 2000, &d));
	assert_int_equal(d.len, 0);
	assert_int_equal(d.tag, 0);
	sim_link_free(&link);
	/* A freed link can start again. */
	link_start(&link, &p, 1);
	sim_link_free(&link);
}

static void test_invalid(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	struct sim_outage bad = { 10, 10 };

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_DOWN].loss = 1.5;
	assert_int_equal(sim_link_init(&link, &p, 1), -1);
	sim_link_params_default(&p);
	p.dir[SIM_UP].duplicate = NAN;
	assert_int_equal(sim_link_init(&link, &p, 1), -1);
	sim_link_params_default(&p);
	p.dir[SIM_UP].bits_per_byte = 0;
	assert_int_equal(sim_link_init(&link, &p, 1), -1);
	sim_link_params_default(&p);
	p.outages = &bad;
	p.n_outages = 1;
	assert_int_equal(sim_link_init(&link, &p, 1), -1);
}

/* ---------------------------------------------------------------- loss */

static void test_bernoulli_loss(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	const struct sim_dir_counters *c;
	uint64_t lost = 0;
	size_t i;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_UP].loss = 0.1;
	link_start(&link, &p, 7);
	for (i = 0; i < N; i++) {
		lost += sim_link_send(&link, SIM_UP, i, payload, 20) == SIM_FATE_LOST;
		drain(&link, i);
	}
	c = sim_link_counters(&link, SIM_UP);
	assert_int_equal(c->lost_random, lost);
	assert_int_equal(c->delivered + c->lost_random, N);
	/* p = 0.1: standard error sqrt(0.09 / N) ~ 0.00095. */
	assert_true(fabs((double)lost / N - 0.1) < 0.005);
	/* The other direction is untouched. */
	assert_int_equal(sim_link_counters(&link, SIM_DOWN)->sent, 0);
	/* Paid for all the same: the transmitter sent them. */
	assert_int_equal(c->bill_datagrams, N);
	sim_link_free(&link);
}

static void test_burst_loss(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	const double enter = 0.01, exit_ = 0.25;
	uint64_t lost = 0, bursts = 0, run = 0, run_sum = 0;
	size_t i;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_DOWN].burst_enter = enter;
	p.dir[SIM_DOWN].burst_exit = exit_;
	link_start(&link, &p, 11);
	for (i = 0; i < N; i++) {
		bool gone = sim_link_send(&link, SIM_DOWN, i, payload, 10) == SIM_FATE_LOST;

		drain(&link, i);
		lost += gone;
		if (gone) {
			run++;
		} else if (run > 0) {
			bursts++;
			run_sum += run;
			run = 0;
		}
	}
	assert_int_equal(sim_link_counters(&link, SIM_DOWN)->lost_burst, lost);
	assert_int_equal(sim_link_counters(&link, SIM_DOWN)->lost_random, 0);
	/* With loss 1 in the bad state and 0 in the good one, a burst is a
	 * stay in the bad state: geometric, mean 1 / exit = 4 (standard
	 * deviation sqrt(1 - r) / r ~ 3.5, ~960 bursts: error ~0.11). */
	assert_true(bursts > 500);
	assert_true(fabs((double)run_sum / (double)bursts - 1.0 / exit_) < 0.5);
	/* The stationary loss rate is enter / (enter + exit) ~ 0.0385. */
	assert_true(fabs((double)lost / N - enter / (enter + exit_)) < 0.008);
	sim_link_free(&link);
}

/* ---------------------------------------------------------------- delay */

static void test_delay(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	struct sim_delivery d;
	double sum = 0, sq = 0, mean, sd;
	uint64_t min = UINT64_MAX, max = 0;
	size_t i;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_UP].latency_us = 100 * MS;
	p.dir[SIM_UP].jitter_us = 10 * MS;
	link_start(&link, &p, 3);
	/* A second apart: jitter never meets the in-order rule. */
	for (i = 0; i < N; i++) {
		uint64_t t = (uint64_t)i * SEC, delay;

		assert_int_equal(sim_link_send(&link, SIM_UP, t, payload, 10), SIM_FATE_QUEUED);
		assert_true(sim_link_pop(&link, t + SEC - 1, &d));
		delay = d.due_us - d.sent_us;
		sum += (double)delay;
		sq += (double)delay * (double)delay;
		if (delay < min)
			min = delay;
		if (delay > max)
			max = delay;
	}
	mean = sum / N;
	sd = sqrt(sq / N - mean * mean);
	/* Standard error of the mean 10 ms / sqrt(N) ~ 32 us; of the standard
	 * deviation ~ 10 ms / sqrt(2N) ~ 22 us. */
	assert_true(fabs(mean - 100000.0) < 200.0);
	assert_true(fabs(sd - 10000.0) < 200.0);
	/* A normal spread: some beyond two deviations, none beyond six. */
	assert_true(min < 80 * MS && min > 40 * MS);
	assert_true(max > 120 * MS && max < 160 * MS);
	sim_link_free(&link);
}

static void test_jitter_keeps_order(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	struct sim_delivery d;
	uint64_t expect = 0, t;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_UP].latency_us = 100 * MS;
	p.dir[SIM_UP].jitter_us = 50 * MS;
	link_start(&link, &p, 5);
	/* 1 ms apart, jitter 50 ms: without the in-order rule most would swap. */
	for (t = 0; t < 10000; t++)
		sim_link_send(&link, SIM_UP, t * MS, payload, 10);
	while (sim_link_pop(&link, SIM_TIME_NEVER - 1, &d))
		assert_int_equal(d.seq, expect++);
	assert_int_equal(expect, 10000);
	assert_int_equal(sim_link_counters(&link, SIM_UP)->reordered, 0);
	sim_link_free(&link);
}

/* ---------------------------------------------------------------- rate and queue */

static void test_rate(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	struct sim_delivery d;
	size_t i;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_UP].rate_bps = 9600;
	p.dir[SIM_UP].bits_per_byte = 10;   /* 8N1: 960 bytes a second */
	p.dir[SIM_UP].latency_us = 50 * MS;
	p.dir[SIM_DOWN].rate_bps = 64000;
	link_start(&link, &p, 1);
	/* 960 bytes at 9600 bit/s, 10 bits a byte: one second, plus latency. */
	sim_link_send(&link, SIM_UP, 0, payload, 960);
	sim_link_send(&link, SIM_UP, 0, payload, 96); /* waits for the first */
	assert_int_equal(sim_link_queued_bytes(&link, SIM_UP, 0), 1056);
	assert_true(sim_link_pop(&link, SIM_TIME_NEVER - 1, &d));
	assert_int_equal(d.due_us, SEC + 50 * MS);
	assert_true(sim_link_pop(&link, SIM_TIME_NEVER - 1, &d));
	assert_int_equal(d.due_us, SEC + 100 * MS + 50 * MS);
	assert_int_equal(sim_link_queued_bytes(&link, SIM_UP, SEC), 96);
	assert_int_equal(sim_link_queued_bytes(&link, SIM_UP, SEC + 100 * MS), 0);
	/* N datagrams of 100 bytes at 64 kbit/s: the last arrives after
	 * N * 800 bits / 64000 = N * 12.5 ms. */
	for (i = 0; i < 1000; i++)
		sim_link_send(&link, SIM_DOWN, 2 * SEC, payload, 100);
	for (i = 0; i < 1000; i++) {
		assert_true(sim_link_pop(&link, SIM_TIME_NEVER - 1, &d));
		assert_int_equal(d.due_us, 2 * SEC + (i + 1) * 12500u);
	}
	/* An idle transmitter starts at once again. */
	sim_link_send(&link, SIM_DOWN, 100 * SEC, payload, 8);
	assert_true(sim_link_pop(&link, SIM_TIME_NEVER - 1, &d));
	assert_int_equal(d.due_us, 100 * SEC + 1000);
	sim_link_free(&link);
}

static void test_spacing(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	struct sim_delivery d;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_UP].spacing_us = 40 * SEC;
	p.dir[SIM_UP].latency_us = 15 * SEC;
	link_start(&link, &p, 1);
	sim_link_send(&link, SIM_UP, 0, payload, 100);
	sim_link_send(&link, SIM_UP, 1 * SEC, payload, 100);
	assert_true(sim_link_pop(&link, SIM_TIME_NEVER - 1, &d));
	assert_int_equal(d.due_us, 15 * SEC);
	assert_true(sim_link_pop(&link, SIM_TIME_NEVER - 1, &d));
	assert_int_equal(d.due_us, 55 * SEC);
	sim_link_free(&link);
}

static void test_queue_overflow(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	size_t i, queued = 0;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_UP].rate_bps = 8000; /* a byte a millisecond */
	p.dir[SIM_UP].queue_bytes = 1000;
	link_start(&link, &p, 1);
	for (i = 0; i < 20; i++)
		queued += sim_link_send(&link, SIM_UP, 0, payload, 100) == SIM_FATE_QUEUED;
	assert_int_equal(queued, 10);
	assert_int_equal(sim_link_counters(&link, SIM_UP)->drop_queue, 10);
	assert_int_equal(sim_link_queued_bytes(&link, SIM_UP, 0), 1000);
	/* 99 ms later the first is not quite out; at 100 ms it is. */
	assert_int_equal(sim_link_send(&link, SIM_UP, 99 * MS, payload, 100), SIM_FATE_QUEUE_FULL);
	assert_int_equal(sim_link_send(&link, SIM_UP, 100 * MS, payload, 100), SIM_FATE_QUEUED);
	assert_int_equal(sim_link_send(&link, SIM_UP, 100 * MS, payload, 1), SIM_FATE_QUEUE_FULL);
	assert_int_equal(sim_link_counters(&link, SIM_UP)->drop_queue, 12);
	/* Dropped ones are not billed. */
	assert_int_equal(sim_link_counters(&link, SIM_UP)->bill_datagrams, 11);
	assert_int_equal(drain(&link, SIM_TIME_NEVER - 1), 11);
	sim_link_free(&link);
}

static void test_limit(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	size_t i;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_UP].latency_us = SEC;
	p.max_inflight = 10;
	link_start(&link, &p, 1);
	for (i = 0; i < 20; i++)
		sim_link_send(&link, SIM_UP, 0, payload, 10);
	assert_int_equal(sim_link_held(&link), 10);
	assert_int_equal(sim_link_counters(&link, SIM_UP)->drop_limit, 10);
	/* Delivering makes room again. */
	assert_int_equal(drain(&link, SEC), 10);
	assert_int_equal(sim_link_send(&link, SIM_UP, SEC, payload, 10), SIM_FATE_QUEUED);
	sim_link_free(&link);
}

static void test_mtu(void **state)
{
	struct sim_link_params p;
	struct sim_link link;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_UP].mtu = 340;
	p.dir[SIM_DOWN].mtu = 270;
	link_start(&link, &p, 1);
	assert_int_equal(sim_link_send(&link, SIM_UP, 0, payload, 340), SIM_FATE_QUEUED);
	assert_int_equal(sim_link_send(&link, SIM_UP, 0, payload, 341), SIM_FATE_MTU);
	assert_int_equal(sim_link_send(&link, SIM_DOWN, 0, payload, 271), SIM_FATE_MTU);
	assert_int_equal(sim_link_send(&link, SIM_DOWN, 0, payload, 270), SIM_FATE_QUEUED);
	assert_int_equal(sim_link_counters(&link, SIM_UP)->drop_mtu, 1);
	assert_int_equal(sim_link_counters(&link, SIM_DOWN)->drop_mtu, 1);
	assert_int_equal(sim_link_counters(&link, SIM_UP)->bill_bytes, 340);
	assert_int_equal(drain(&link, 0), 2);
	sim_link_free(&link);
}

/* ---------------------------------------------------------------- outages */

static void test_outages(void **state)
{
	/* Unsorted and overlapping: [10, 20) and [15, 25) merge to [10, 25). */
	const struct sim_outage o[] = {
		{ 100 * SEC, 110 * SEC }, { 15 * SEC, 25 * SEC }, { 10 * SEC, 20 * SEC },
	};
	struct sim_link_params p;
	struct sim_link link;
	struct sim_delivery d;
	const struct sim_dir_counters *c;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_UP].latency_us = SEC;
	p.dir[SIM_DOWN].latency_us = SEC;
	p.outages = o;
	p.n_outages = 3;
	link_start(&link, &p, 1);
	assert_true(sim_link_is_up(&link, 0));
	assert_true(sim_link_is_up(&link, 10 * SEC - 1));
	assert_false(sim_link_is_up(&link, 10 * SEC));
	assert_false(sim_link_is_up(&link, 24 * SEC));
	assert_true(sim_link_is_up(&link, 25 * SEC));
	assert_false(sim_link_is_up(&link, 105 * SEC));
	assert_int_equal(sim_link_next_change(&link, 0), 10 * SEC);
	assert_int_equal(sim_link_next_change(&link, 12 * SEC), 25 * SEC);
	assert_int_equal(sim_link_next_change(&link, 25 * SEC), 100 * SEC);
	assert_int_equal(sim_link_next_change(&link, 110 * SEC), SIM_TIME_NEVER);

	/* Before the outage, arriving before it: delivered. */
	assert_int_equal(sim_link_send(&link, SIM_UP, 5 * SEC, payload, 10), SIM_FATE_QUEUED);
	assert_true(sim_link_pop(&link, 6 * SEC, &d));
	/* In flight when it goes down: lost at delivery time. */
	assert_int_equal(sim_link_send(&link, SIM_UP, 9 * SEC + 500 * MS, payload, 10),
	                 SIM_FATE_QUEUED);
	assert_int_equal(sim_link_send(&link, SIM_DOWN, 9 * SEC, payload, 10), SIM_FATE_QUEUED);
	assert_false(sim_link_pop(&link, 11 * SEC, &d));
	/* Sent while down: dropped at once. */
	assert_int_equal(sim_link_send(&link, SIM_UP, 12 * SEC, payload, 10), SIM_FATE_DOWN);
	assert_int_equal(sim_link_send(&link, SIM_DOWN, 24 * SEC, payload, 10), SIM_FATE_DOWN);
	/* Up again at 25 s. */
	assert_int_equal(sim_link_send(&link, SIM_UP, 25 * SEC, payload, 10), SIM_FATE_QUEUED);
	assert_true(sim_link_pop(&link, 26 * SEC, &d));
	c = sim_link_counters(&link, SIM_UP);
	assert_int_equal(c->sent, 4);
	assert_int_equal(c->delivered, 2);
	assert_int_equal(c->lost_inflight, 1);
	assert_int_equal(c->drop_down, 1);
	assert_int_equal(c->bill_datagrams, 3); /* the one in flight was paid for */
	c = sim_link_counters(&link, SIM_DOWN);
	assert_int_equal(c->lost_inflight, 1);  /* due at 10 s exactly: the link is down */
	sim_link_free(&link);
}

static void test_outage_edge(void **state)
{
	const struct sim_outage o[] = { { 10 * SEC, 20 * SEC } };
	struct sim_link_params p;
	struct sim_link link;
	struct sim_delivery d;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_DOWN].latency_us = SEC;
	p.dir[SIM_UP].latency_us = SEC;
	p.outages = o;
	p.n_outages = 1;
	link_start(&link, &p, 1);
	/* Due at the very moment it goes down: lost. */
	sim_link_send(&link, SIM_DOWN, 9 * SEC, payload, 10);
	assert_int_equal(sim_link_next_time(&link), 10 * SEC);
	assert_false(sim_link_pop(&link, 10 * SEC, &d));
	assert_int_equal(sim_link_counters(&link, SIM_DOWN)->lost_inflight, 1);
	/* Due one microsecond before: delivered (the other direction, which
	 * has no earlier datagram to keep behind). */
	sim_link_send(&link, SIM_UP, 9 * SEC - 1, payload, 10);
	assert_true(sim_link_pop(&link, 10 * SEC, &d));
	sim_link_free(&link);
}

/* ---------------------------------------------------------------- duplication, reordering */

static void test_duplicate(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	struct sim_delivery d;
	const struct sim_dir_counters *c;
	uint64_t copies = 0;
	size_t i;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_UP].duplicate = 0.1;
	p.dir[SIM_UP].latency_us = 10 * MS;
	link_start(&link, &p, 21);
	for (i = 0; i < N; i++) {
		sim_link_send(&link, SIM_UP, (uint64_t)i * MS, payload, 10);
		while (sim_link_pop(&link, (uint64_t)i * MS, &d))
			copies += d.copy;
	}
	drain(&link, SIM_TIME_NEVER - 1);
	c = sim_link_counters(&link, SIM_UP);
	assert_int_equal(c->delivered, N + c->duplicated);
	assert_true(fabs((double)c->duplicated / N - 0.1) < 0.005);
	assert_int_equal(c->reordered, 0);
	assert_true(copies > 0);
	/* A copy costs nothing more: one transmission. */
	assert_int_equal(c->bill_datagrams, N);
	sim_link_free(&link);
}

static void test_reorder(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	struct sim_delivery d;
	const struct sim_dir_counters *c;
	uint64_t out_of_order = 0, highest = 0;
	bool any = false;
	size_t i;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_DOWN].reorder = 0.05;
	p.dir[SIM_DOWN].reorder_us = 50 * MS;
	p.dir[SIM_DOWN].latency_us = 100 * MS;
	link_start(&link, &p, 33);
	/* 10 ms apart: a datagram held 50 ms back is overtaken by the next few. */
	for (i = 0; i < N; i++) {
		sim_link_send(&link, SIM_DOWN, (uint64_t)i * 10 * MS, payload, 10);
		while (sim_link_pop(&link, (uint64_t)i * 10 * MS, &d)) {
			if (any && d.seq < highest)
				out_of_order++;
			if (!any || d.seq > highest)
				highest = d.seq;
			any = true;
		}
	}
	while (sim_link_pop(&link, SIM_TIME_NEVER - 1, &d))
		out_of_order += d.seq < highest;
	c = sim_link_counters(&link, SIM_DOWN);
	assert_int_equal(c->reordered, out_of_order);
	assert_int_equal(c->delivered, N);
	/* Each one held back arrives after a later one: ~5%, error ~0.07%. */
	assert_true(fabs((double)c->reordered / N - 0.05) < 0.004);
	sim_link_free(&link);
}

/* ---------------------------------------------------------------- serial damage */

static unsigned popcount8(unsigned x)
{
	unsigned n = 0;

	for (; x != 0; x >>= 1)
		n += x & 1u;
	return n;
}

static void test_bit_errors(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	struct sim_delivery d;
	const struct sim_dir_counters *c;
	uint64_t flips = 0, damaged = 0;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 31u);
	sim_link_params_default(&p);
	p.dir[SIM_UP].bit_error = 1e-3;
	link_start(&link, &p, 5);
	/* 100 chunks of 1000 bytes: 800,000 bits, ~800 flips (error ~28). */
	for (i = 0; i < 100; i++) {
		sim_link_send(&link, SIM_UP, i, payload, 1000);
		assert_true(sim_link_pop(&link, i, &d));
		assert_int_equal(d.len, 1000);
		for (j = 0; j < 1000; j++)
			flips += popcount8((unsigned)(d.data[j] ^ payload[j]));
		damaged += d.damaged;
	}
	c = sim_link_counters(&link, SIM_UP);
	assert_int_equal(c->bits_flipped, flips);
	assert_int_equal(c->corrupted, damaged);
	assert_true(damaged > 90); /* P(no flip in 8000 bits) ~ 0.03% */
	assert_true(fabs((double)flips - 800.0) < 150.0);
	sim_link_free(&link);
}

static void test_byte_loss_insert(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	struct sim_delivery d;
	const struct sim_dir_counters *c;
	uint64_t bytes_out = 0;
	size_t i;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_DOWN].byte_loss = 0.01;
	p.dir[SIM_DOWN].byte_insert = 0.005;
	link_start(&link, &p, 8);
	for (i = 0; i < 100; i++) {
		sim_link_send(&link, SIM_DOWN, i, payload, 1000);
		assert_true(sim_link_pop(&link, i, &d));
		bytes_out += d.len;
	}
	c = sim_link_counters(&link, SIM_DOWN);
	assert_int_equal(bytes_out, 100000 - c->bytes_lost + c->bytes_inserted);
	assert_int_equal(c->delivered_bytes, bytes_out);
	/* 100,000 bytes: ~1000 lost (error ~31), ~495 inserted (error ~22). */
	assert_true(fabs((double)c->bytes_lost - 1000.0) < 160.0);
	assert_true(fabs((double)c->bytes_inserted - 495.0) < 115.0);
	assert_int_equal(c->bits_flipped, 0);
	sim_link_free(&link);
}

/* ---------------------------------------------------------------- cost */

static void test_billing_sbd(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	const struct sim_dir_counters *c;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_UP].bill_unit_bytes = 50; /* Iridium SBD credits */
	p.dir[SIM_UP].bill_min_units = 1;
	link_start(&link, &p, 1);
	sim_link_send(&link, SIM_UP, 0, payload, 10);     /* 1 */
	sim_link_send(&link, SIM_UP, 0, payload, 0);      /* 1: an empty check */
	sim_link_send(&link, SIM_UP, 0, payload, 50);     /* 1 */
	sim_link_send(&link, SIM_UP, 0, payload, 51);     /* 2 */
	sim_link_send(&link, SIM_UP, 0, payload, 340);    /* 7 */
	c = sim_link_counters(&link, SIM_UP);
	assert_int_equal(c->bill_sessions, 5);
	assert_int_equal(c->bill_units, 12);
	assert_int_equal(c->bill_bytes, 451);
	assert_int_equal(c->bill_datagrams, 5);
	assert_int_equal(sim_link_counters(&link, SIM_DOWN)->bill_units, 0);
	sim_link_free(&link);
}

static void test_billing_sessions(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	const struct sim_dir_counters *c;

	(void)state;
	sim_link_params_default(&p);
	/* Bursts separated by more than 5 s are sessions; 50-byte units. */
	p.dir[SIM_UP].bill_unit_bytes = 50;
	p.dir[SIM_UP].bill_min_units = 1;
	p.dir[SIM_UP].session_gap_us = 5 * SEC;
	/* Inmarsat-like downlink: min 15 bytes, 10-byte steps. */
	p.dir[SIM_DOWN].bill_unit_bytes = 10;
	p.dir[SIM_DOWN].bill_min_bytes = 15;
	link_start(&link, &p, 1);
	sim_link_send(&link, SIM_UP, 0, payload, 20);
	sim_link_send(&link, SIM_UP, 1 * SEC, payload, 20);
	sim_link_send(&link, SIM_UP, 6 * SEC, payload, 20); /* 5 s after the last: same */
	c = sim_link_counters(&link, SIM_UP);
	assert_int_equal(c->bill_sessions, 1);
	assert_int_equal(c->bill_units, 2);                 /* 60 bytes */
	sim_link_send(&link, SIM_UP, 12 * SEC, payload, 10); /* 6 s idle: a new one */
	assert_int_equal(c->bill_sessions, 2);
	assert_int_equal(c->bill_units, 3);
	sim_link_send(&link, SIM_DOWN, 0, payload, 5);        /* billed 15: 2 */
	sim_link_send(&link, SIM_DOWN, 100 * SEC, payload, 31); /* 4 */
	c = sim_link_counters(&link, SIM_DOWN);
	assert_int_equal(c->bill_units, 6);
	sim_link_free(&link);
}

static void test_billing_time(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	const struct sim_dir_counters *c;

	(void)state;
	sim_link_params_default(&p);
	/* A call billed per started minute, at least one; 2 minutes idle hangs up. */
	p.dir[SIM_UP].bill_unit_us = 60 * SEC;
	p.dir[SIM_UP].bill_min_units = 1;
	p.dir[SIM_UP].session_gap_us = 120 * SEC;
	link_start(&link, &p, 1);
	sim_link_send(&link, SIM_UP, 0, payload, 10);
	c = sim_link_counters(&link, SIM_UP);
	assert_int_equal(c->bill_units, 1);
	sim_link_send(&link, SIM_UP, 30 * SEC, payload, 10);
	assert_int_equal(c->bill_units, 1);
	sim_link_send(&link, SIM_UP, 90 * SEC, payload, 10);
	assert_int_equal(c->bill_units, 2);
	sim_link_send(&link, SIM_UP, 400 * SEC, payload, 10);
	assert_int_equal(c->bill_units, 3);
	assert_int_equal(c->bill_sessions, 2);
	sim_link_free(&link);
}

/* ---------------------------------------------------------------- determinism */

/* A digest of everything a run hands out, with every element switched on. */
static uint64_t run_digest(uint64_t seed)
{
	const struct sim_outage o[] = { { 30 * SEC, 31 * SEC } };
	struct sim_link_params p;
	struct sim_link link;
	struct sim_delivery d;
	uint64_t h = 1469598103934665603u, t = 0;
	size_t i, j;
	int dir;

	sim_link_params_default(&p);
	for (dir = 0; dir < SIM_DIRS; dir++) {
		p.dir[dir].latency_us = 200 * MS;
		p.dir[dir].jitter_us = 30 * MS;
		p.dir[dir].rate_bps = 64000;
		p.dir[dir].loss = 0.05;
		p.dir[dir].burst_enter = 0.01;
		p.dir[dir].burst_exit = 0.3;
		p.dir[dir].duplicate = 0.02;
		p.dir[dir].reorder = 0.02;
		p.dir[dir].reorder_us = 40 * MS;
		p.dir[dir].bit_error = 1e-4;
		p.dir[dir].byte_loss = 1e-4;
		p.dir[dir].byte_insert = 1e-4;
	}
	p.outages = o;
	p.n_outages = 1;
	link_start(&link, &p, seed);
	for (i = 0; i < 5000; i++) {
		t += 10 * MS;
		sim_link_send(&link, (enum sim_dir)(i % 2), t, payload, 50 + i % 200);
		while (sim_link_pop(&link, t, &d)) {
			h = (h ^ d.due_us ^ (d.seq << 20) ^ ((uint64_t)d.dir << 60) ^ d.copy) *
			    1099511628211u;
			for (j = 0; j < d.len; j++)
				h = (h ^ d.data[j]) * 1099511628211u;
		}
	}
	h ^= sim_link_counters(&link, SIM_UP)->lost_inflight;
	sim_link_free(&link);
	return h;
}

static void test_determinism(void **state)
{
	(void)state;
	assert_true(run_digest(42) == run_digest(42));
	assert_true(run_digest(42) != run_digest(43));
	assert_true(run_digest(0) == run_digest(0));
}

/* Whether the dump has the row "# NAME UP DOWN". */
static bool dump_row(const char *dump, const char *name, unsigned long up, unsigned long down)
{
	char want[64], got[64];
	unsigned long u, d;
	const char *line;

	snprintf(want, sizeof want, "\n# %s ", name);
	line = strstr(dump, want);
	return line != NULL && sscanf(line + 3, "%63s %lu %lu", got, &u, &d) == 3 && u == up &&
	       d == down;
}

static void test_dump(void **state)
{
	struct sim_link_params p;
	struct sim_link link;
	char buf[4096];
	FILE *f;

	(void)state;
	sim_link_params_default(&p);
	p.dir[SIM_DOWN].mtu = 10;
	link_start(&link, &p, 1);
	sim_link_send(&link, SIM_UP, 0, payload, 7);
	sim_link_send(&link, SIM_DOWN, 0, payload, 11);
	drain(&link, 0);
	f = fmemopen(buf, sizeof buf, "w");
	assert_non_null(f);
	sim_link_dump(&link, f, "# ");
	fclose(f);
	assert_non_null(strstr(buf, "# counter "));
	assert_true(dump_row(buf, "delivered_bytes", 7, 0));
	assert_true(dump_row(buf, "drop_mtu", 0, 1));
	assert_true(dump_row(buf, "bill_bytes", 7, 0));
	assert_string_equal(sim_fate_name(SIM_FATE_MTU), "mtu");
	assert_string_equal(sim_dir_name(SIM_DOWN), "down");
	sim_link_free(&link);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_perfect),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_bernoulli_loss),
		cmocka_unit_test(test_burst_loss),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_jitter_keeps_order),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_spacing),
		cmocka_unit_test(test_queue_overflow),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_mtu),
		cmocka_unit_test(test_outages),
		cmocka_unit_test(test_outage_edge),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_bit_errors),
		cmocka_unit_test(test_byte_loss_insert),
		cmocka_unit_test(test_billing_sbd),
		cmocka_unit_test(test_billing_sessions),
		cmocka_unit_test(test_billing_time),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
