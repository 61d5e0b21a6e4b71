/*
 * report.c - the delivery accounting (report.h): each message the broker
 * received is matched to the earliest message of the same station with
 * the same payload that was not yet received; then delays, losses and the
 * cumulative columns of the time series.
 *
 * A payload hash identifies a message within its station. A corpus that
 * wraps repeats payloads, so two messages of one station can share a hash:
 * they are told apart by order, which is right unless a message arrives
 * after the next copy of its payload was published (a corpus's length of
 * delay: 853 minutes for the earthquake corpus at one a minute).
 */
#include <stdlib.h>
#include <string.h>

#include "sim/report.h"

void sim_report_free(struct sim_report *r)
{
	free(r->samples);
	free(r->lines);
	free(r->down_at);
	free(r->up_at);
	memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- matching */

static uint64_t key_of(uint32_t station, uint64_t hash)
{
	return hash ^ ((uint64_t)station + 1u) * 0x9E3779B97F4A7C15ull;
}

/* Open addressing from key to the first pub with it; pubs chain by next[]. */
struct index {
	uint64_t *keys;
	size_t *head;   /* pub index + 1; 0 empty */
	size_t *tail;
	size_t mask;
	size_t *next;   /* pub index + 1 of the next pub with the same key */
};

static size_t slot_of(const struct index *ix, uint64_t key)
{
	size_t h = (size_t)(key * 0xff51afd7ed558ccdull >> 17) & ix->mask;

	while (ix->head[h] != 0 && ix->keys[h] != key)
		h = (h + 1) & ix->mask;
	return h;
}

static int index_build(struct index *ix, const struct sim_pub *pubs, size_t n)
{
	size_t cap = 16, i;

	while (cap < 2 * n + 16)
		cap *= 2;
	ix->mask = cap - 1;
	ix->keys = calloc(cap, sizeof *ix->keys);
	ix->head = calloc(cap, sizeof *ix->head);
	ix->tail = calloc(cap, sizeof *ix->tail);
	ix->next = calloc(n + 1, sizeof *ix->next);
	if (ix->keys == NULL || ix->head == NULL || ix->tail == NULL || ix->next == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		uint64_t key;
		size_t h;

		if (!pubs[i].queued)
			continue;
		key = key_of(pubs[i].station, pubs[i].hash);
		h = slot_of(ix, key);
		if (ix->head[h] == 0) {
			ix->keys[h] = key;
			ix->head[h] = i + 1;
		} else {
			ix->next[ix->tail[h] - 1] = i + 1;
		}
		ix->tail[h] = i + 1;
	}
	return 0;
}

static void index_free(struct index *ix)
{
	free(ix->keys);
	free(ix->head);
	free(ix->tail);
	free(ix->next);
}

/* The pub rx is a copy of, or SIZE_MAX. */
static size_t match(const struct index *ix, const struct sim_pub *pubs, const struct sim_rx *rx)
{
	uint64_t key = key_of(rx->station, rx->hash);
	size_t h = slot_of(ix, key), i, first = SIZE_MAX;

	if (ix->head[h] == 0)
		return SIZE_MAX;
	for (i = ix->head[h]; i != 0; i = ix->next[i - 1]) {
		const struct sim_pub *p = &pubs[i - 1];

		if (p->station != rx->station || p->hash != rx->hash || p->at_us > rx->at_us)
			continue;
		if (first == SIZE_MAX)
			first = i - 1;
		if (p->copies == 0)
			return i - 1;
	}
	/* every one received already: a copy of the latest published before it */
	for (i = ix->head[h]; i != 0; i = ix->next[i - 1]) {
		const struct sim_pub *p = &pubs[i - 1];

		if (p->station == rx->station && p->hash == rx->hash && p->at_us <= rx->at_us)
			first = i - 1;
	}
	return first;
}

/* ---------------------------------------------------------------- figures */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least p percent at or below it. */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (n * p + 99u) / 100u;
	if (rank == 0)
		rank = 1;
	return v[rank - 1];
}

/* Index of the sample whose period holds t (samples are at their period's end). */
static size_t sample_of(const struct sim_report *r, uint64_t t)
{
	size_t lo = 0, hi = r->n_samples;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->samples[mid].t_us < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* What each received message was. */
enum rx_kind { RX_UNMATCHED = 0, RX_FIRST, RX_COPY };

static void cumulate(struct sim_report *r, const struct sim_pub *pubs, size_t n_pubs,
                     const struct sim_rx *rx, size_t n_rx, const uint8_t *kind)
{
	uint64_t *pub = calloc(r->n_samples + 1, sizeof *pub);
	uint64_t *del = calloc(r->n_samples + 1, sizeof *del);
	uint64_t *dup = calloc(r->n_samples + 1, sizeof *dup);
	size_t i;

	if (pub != NULL && del != NULL && dup != NULL && r->n_samples > 0) {
		uint64_t a = 0, b = 0, c = 0;

		for (i = 0; i < n_pubs; i++)
			pub[sample_of(r, pubs[i].at_us)]++;
		for (i = 0; i < n_rx; i++) {
			if (kind[i] == RX_FIRST)
				del[sample_of(r, rx[i].at_us)]++;
			else if (kind[i] == RX_COPY)
				dup[sample_of(r, rx[i].at_us)]++;
		}
		for (i = 0; i < r->n_samples; i++) {
			a += pub[i];
			b += del[i];
			c += dup[i];
			r->samples[i].published = a;
			r->samples[i].delivered = b;
			r->samples[i].duplicates = c;
		}
	}
	free(pub);
	free(del);
	free(dup);
}

int sim_report_account(struct sim_report *r, struct sim_pub *pubs, size_t n_pubs,
                       const struct sim_rx *rx, size_t n_rx)
{
	struct index ix;
	uint64_t *delays = NULL, *ooo_max = NULL;
	uint8_t *kind = NULL;
	size_t i, nd = 0;
	uint64_t left = 0;
	int rc = -1;

	memset(&ix, 0, sizeof ix);
	if (index_build(&ix, pubs, n_pubs) != 0)
		goto out;
	delays = malloc((n_pubs ? n_pubs : 1) * sizeof *delays);
	kind = calloc(n_rx ? n_rx : 1, sizeof *kind);
	ooo_max = calloc(r->n_lines + 1, sizeof *ooo_max);  /* highest pub index + 1 */
	if (delays == NULL || kind == NULL || ooo_max == NULL)
		goto out;
	for (i = 0; i < n_pubs; i++) {
		pubs[i].first_us = UINT64_MAX;
		pubs[i].copies = 0;
	}
	r->broker_msgs = n_rx;
	r->delivered = r->duplicates = r->out_of_order = r->unmatched = 0;
	for (i = 0; i < n_rx; i++) {
		size_t m = rx[i].station == UINT32_MAX ? SIZE_MAX : match(&ix, pubs, &rx[i]);
		struct sim_pub *p;

		if (m == SIZE_MAX) {
			r->unmatched++;
			continue;
		}
		p = &pubs[m];
		if (p->copies++ > 0) {
			kind[i] = RX_COPY;
			r->duplicates++;
			if (p->station < r->n_lines)
				r->lines[p->station].duplicates++;
			continue;
		}
		kind[i] = RX_FIRST;
		p->first_us = rx[i].at_us;
		if (rx[i].at_us > r->last_rx_us)
			r->last_rx_us = rx[i].at_us;
		r->delivered++;
		if (p->station < r->n_lines) {
			struct sim_station_line *l = &r->lines[p->station];
			uint64_t d = rx[i].at_us - p->at_us;

			l->delivered++;
			if (d > l->delay_max_us)
				l->delay_max_us = d;
			if (m + 1 < ooo_max[p->station]) {
				r->out_of_order++;
				l->out_of_order++;
			} else {
				ooo_max[p->station] = m + 1;
			}
		}
	}
	/* published, lost and why */
	r->published = n_pubs;
	r->first_pub_us = UINT64_MAX;
	for (i = 0; i < n_pubs; i++)
		if (pubs[i].at_us < r->first_pub_us)
			r->first_pub_us = pubs[i].at_us;
	if (n_pubs == 0)
		r->first_pub_us = 0;
	r->lost = 0;
	r->lost_refused_queue = r->lost_refused_gw = r->lost_still_queued = 0;
	r->lost_dropped = r->vanished = 0;
	for (i = 0; i < n_pubs; i++) {
		const struct sim_pub *p = &pubs[i];

		if (p->station < r->n_lines)
			r->lines[p->station].published++;
		if (p->copies > 0) {
			delays[nd++] = p->first_us - p->at_us;
			continue;
		}
		r->lost++;
		if (p->station < r->n_lines)
			r->lines[p->station].lost++;
		if (!p->queued)
			r->lost_refused_queue++;
		else if (p->fate == SIM_FATE_QUEUED_END)
			r->lost_still_queued++;
		else if (p->fate == SIM_FATE_REFUSED)
			r->lost_refused_gw++;
		else if (p->fate == SIM_FATE_ACKED)
			r->vanished++;
		else
			left++;
	}
	for (i = 0; i < n_pubs; i++)
		if (pubs[i].queued && pubs[i].fate == SIM_FATE_QUEUED_END && pubs[i].station < r->n_lines)
			r->lines[pubs[i].station].still_queued++;
	/* left the queue without an acknowledgement: the queue's counters say why */
	r->lost_dropped = left < r->queue_dropped + r->queue_expired ? left
	                                                             : r->queue_dropped + r->queue_expired;
	r->vanished += left - r->lost_dropped;
	qsort(delays, nd, sizeof *delays, cmp_u64);
	r->delay_median_us = percentile(delays, nd, 50);
	r->delay_p99_us = percentile(delays, nd, 99);
	r->delay_max_us = nd ? delays[nd - 1] : 0;
	cumulate(r, pubs, n_pubs, rx, n_rx, kind);
	rc = 0;
out:
	index_free(&ix);
	free(delays);
	free(kind);
	free(ooo_max);
	return rc;
}
