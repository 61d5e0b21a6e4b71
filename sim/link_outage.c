/*
 * link_outage.c - the link's outage schedule: kept sorted and merged so
 * that "is it up at t" and "was it down between a and b" are binary
 * searches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/link_int.h"

static int by_down(const void *a, const void *b)
{
	const struct sim_outage *x = a, *y = b;

	if (x->down_us != y->down_us)
		return x->down_us < y->down_us ? -1 : 1;
	if (x->up_us != y->up_us)
		return x->up_us < y->up_us ? -1 : 1;
	return 0;
}

int sim_link_outages_set(struct sim_link *link, const struct sim_outage *v, size_t n)
{
	struct sim_outage *o;
	size_t i, out = 0;

	link->outages = NULL;
	link->n_outages = 0;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (v[i].up_us <= v[i].down_us) {
			errno = EINVAL;
			return -1;
		}
	}
	o = malloc(n * sizeof *o);
	if (o == NULL) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(o, v, n * sizeof *o);
	qsort(o, n, sizeof *o, by_down);
	/* Merge overlapping and touching outages: afterwards both down_us and
	 * up_us increase strictly along the array. */
	for (i = 1; i < n; i++) {
		if (o[i].down_us <= o[out].up_us) {
			if (o[i].up_us > o[out].up_us)
				o[out].up_us = o[i].up_us;
		} else {
			o[++out] = o[i];
		}
	}
	link->outages = o;
	link->n_outages = out + 1;
	return 0;
}

/* The index of the first outage that ends after t (n if none). */
static size_t first_ending_after(const struct sim_link *link, uint64_t t)
{
	size_t lo = 0, hi = link->n_outages;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (link->outages[mid].up_us > t)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

bool sim_link_is_up(const struct sim_link *link, uint64_t t_us)
{
	size_t i = first_ending_after(link, t_us);

	return i == link->n_outages || link->outages[i].down_us > t_us;
}

bool sim_link_down_within(const struct sim_link *link, uint64_t from_us, uint64_t to_us)
{
	size_t i = first_ending_after(link, from_us);

	return i < link->n_outages && link->outages[i].down_us <= to_us;
}

uint64_t sim_link_next_change(const struct sim_link *link, uint64_t t_us)
{
	size_t i = first_ending_after(link, t_us);

	if (i == link->n_outages)
		return SIM_TIME_NEVER;
	if (link->outages[i].down_us > t_us)
		return link->outages[i].down_us;
	return link->outages[i].up_us;
}
