/*
 * link.c - the link model's core: admission, the transmitter and its
 * queue, loss, delay, reordering, duplication, and the heap of datagrams
 * on their way. The order of the steps is the one link.h documents; the
 * random draws happen in a fixed order so that a seed replays a run.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/link_int.h"

/* ---------------------------------------------------------------- parameters */

void sim_link_params_default(struct sim_link_params *p)
{
	int d;

	memset(p, 0, sizeof *p);
	for (d = 0; d < SIM_DIRS; d++) {
		p->dir[d].bits_per_byte = 8;
		p->dir[d].burst_loss_bad = 1.0;
	}
	p->max_inflight = SIM_LINK_INFLIGHT_DEFAULT;
}

static bool is_probability(double x)
{
	return x >= 0.0 && x <= 1.0; /* false for NaN too */
}

static bool dir_params_valid(const struct sim_dir_params *p)
{
	return p->bits_per_byte > 0 && p->bits_per_byte <= 64 &&
	       is_probability(p->loss) && is_probability(p->burst_enter) &&
	       is_probability(p->burst_exit) && is_probability(p->burst_loss_good) &&
	       is_probability(p->burst_loss_bad) && is_probability(p->duplicate) &&
	       is_probability(p->reorder) && is_probability(p->bit_error) &&
	       is_probability(p->byte_loss) && is_probability(p->byte_insert);
}

/* ---------------------------------------------------------------- init */

int sim_link_init(struct sim_link *link, const struct sim_link_params *p, uint64_t seed)
{
	int d;

	memset(link, 0, sizeof *link);
	for (d = 0; d < SIM_DIRS; d++) {
		if (!dir_params_valid(&p->dir[d])) {
			errno = EINVAL;
			return -1;
		}
	}
	if (sim_link_outages_set(link, p->outages, p->n_outages) != 0)
		return -1;
	for (d = 0; d < SIM_DIRS; d++) {
		link->d[d].p = p->dir[d];
		sim_rng_seed(&link->d[d].rng, seed, (uint64_t)d);
	}
	link->max_inflight = p->max_inflight > 0 ? p->max_inflight : SIM_LINK_INFLIGHT_DEFAULT;
	return 0;
}

void sim_link_free(struct sim_link *link)
{
	size_t i;
	int d;

	for (i = 0; i < link->heap_len; i++)
		free(link->heap[i]);
	free(link->heap);
	free(link->last);
	free(link->outages);
	for (d = 0; d < SIM_DIRS; d++)
		free(link->d[d].txq);
	memset(link, 0, sizeof *link);
}

/* ---------------------------------------------------------------- the heap */

static bool earlier(const struct sim_held *a, const struct sim_held *b)
{
	if (a->due_us != b->due_us)
		return a->due_us < b->due_us;
	return a->order < b->order;
}

static int heap_push(struct sim_link *link, struct sim_held *h)
{
	size_t i;

	if (link->heap_len == link->heap_cap) {
		size_t cap = link->heap_cap ? link->heap_cap * 2 : 64;
		struct sim_held **v = realloc(link->heap, cap * sizeof *v);

		if (v == NULL)
			return -1;
		link->heap = v;
		link->heap_cap = cap;
	}
	i = link->heap_len++;
	while (i > 0 && earlier(h, link->heap[(i - 1) / 2])) {
		link->heap[i] = link->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	link->heap[i] = h;
	return 0;
}

static struct sim_held *heap_pop(struct sim_link *link)
{
	struct sim_held *top = link->heap[0];
	struct sim_held *last = link->heap[--link->heap_len];
	size_t i = 0, n = link->heap_len;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && earlier(link->heap[c + 1], link->heap[c]))
			c++;
		if (!earlier(link->heap[c], last))
			break;
		link->heap[i] = link->heap[c];
		i = c;
	}
	if (n > 0)
		link->heap[i] = last;
	return top;
}

/* ---------------------------------------------------------------- the queue */

/* Forget the datagrams fully transmitted by now_us. */
static void txq_purge(struct sim_dir_state *ds, uint64_t now_us)
{
	while (ds->txq_len > 0 && ds->txq[ds->txq_head].end_us <= now_us) {
		ds->txq_bytes -= ds->txq[ds->txq_head].len;
		ds->txq_head = (ds->txq_head + 1) % ds->txq_cap;
		ds->txq_len--;
	}
}

static int txq_push(struct sim_dir_state *ds, uint64_t end_us, size_t len)
{
	size_t i;

	if (ds->txq_len == ds->txq_cap) {
		size_t cap = ds->txq_cap ? ds->txq_cap * 2 : 64;
		struct sim_txq *v = malloc(cap * sizeof *v);

		if (v == NULL)
			return -1;
		/* Unroll the ring into the new array. */
		for (i = 0; i < ds->txq_len; i++)
			v[i] = ds->txq[(ds->txq_head + i) % ds->txq_cap];
		free(ds->txq);
		ds->txq = v;
		ds->txq_cap = cap;
		ds->txq_head = 0;
	}
	ds->txq[(ds->txq_head + ds->txq_len) % ds->txq_cap] = (struct sim_txq){ end_us, len };
	ds->txq_len++;
	ds->txq_bytes += len;
	return 0;
}

size_t sim_link_queued_bytes(struct sim_link *link, enum sim_dir dir, uint64_t now_us)
{
	struct sim_dir_state *ds = &link->d[dir];

	txq_purge(ds, now_us);
	return ds->txq_bytes;
}

/* ---------------------------------------------------------------- sending */

/* Microseconds to serialise len bytes, rounded up. */
static uint64_t serialisation_us(const struct sim_dir_params *p, size_t len)
{
	uint64_t bits = (uint64_t)len * p->bits_per_byte;

	if (p->rate_bps == 0)
		return 0;
	return (bits * 1000000u + p->rate_bps - 1) / p->rate_bps;
}

/* Propagation delay with jitter, never negative. */
static uint64_t propagation_us(struct sim_dir_state *ds)
{
	double d;

	if (ds->p.jitter_us == 0)
		return ds->p.latency_us;
	d = (double)ds->p.latency_us + (double)ds->p.jitter_us * sim_rng_normal(&ds->rng);
	if (!(d > 0.0))
		return 0;
	if (d >= 1.8e19)
		return SIM_TIME_NEVER - 1;
	return (uint64_t)llround(d);
}

/* Loss on the way: Bernoulli, then Gilbert-Elliott (which steps its state
 * on every datagram). Returns the fate. */
static enum sim_fate draw_loss(struct sim_dir_state *ds)
{
	const struct sim_dir_params *p = &ds->p;
	bool lost_random = sim_rng_chance(&ds->rng, p->loss);
	bool lost_burst = false;

	if (p->burst_enter > 0.0) {
		lost_burst = sim_rng_chance(&ds->rng, ds->burst_bad ? p->burst_loss_bad
		                                                    : p->burst_loss_good);
		if (ds->burst_bad)
			ds->burst_bad = !sim_rng_chance(&ds->rng, p->burst_exit);
		else
			ds->burst_bad = sim_rng_chance(&ds->rng, p->burst_enter);
	}
	if (lost_random) {
		ds->c.lost_random++;
		return SIM_FATE_LOST;
	}
	if (lost_burst) {
		ds->c.lost_burst++;
		return SIM_FATE_LOST;
	}
	return SIM_FATE_QUEUED;
}

static struct sim_held *held_new(size_t room)
{
	return malloc(sizeof(struct sim_held) + (room > 0 ? room : 1));
}

enum sim_fate sim_link_send(struct sim_link *link, enum sim_dir dir, uint64_t now_us,
                            const uint8_t *buf, size_t len)
{
	return sim_link_send_tag(link, dir, now_us, buf, len, 0);
}

enum sim_fate sim_link_send_tag(struct sim_link *link, enum sim_dir dir, uint64_t now_us,
                                const uint8_t *buf, size_t len, uint64_t tag)
{
	struct sim_dir_state *ds;
	struct sim_held *h, *copy = NULL;
	uint64_t start, end, due, seq;
	enum sim_fate fate;
	bool dup;

	assert(dir == SIM_UP || dir == SIM_DOWN);
	assert(len <= SIM_LINK_DATAGRAM_MAX);
	assert(buf != NULL || len == 0);
	ds = &link->d[dir];
	if (now_us > link->now_us)
		link->now_us = now_us;
	ds->c.sent++;
	ds->c.sent_bytes += len;
	seq = ds->next_seq++;

	if (!sim_link_is_up(link, now_us)) {
		ds->c.drop_down++;
		return SIM_FATE_DOWN;
	}
	if (ds->p.mtu > 0 && len > ds->p.mtu) {
		ds->c.drop_mtu++;
		return SIM_FATE_MTU;
	}
	txq_purge(ds, now_us);
	if (ds->p.queue_bytes > 0 && ds->txq_bytes + len > ds->p.queue_bytes) {
		ds->c.drop_queue++;
		return SIM_FATE_QUEUE_FULL;
	}
	if (link->heap_len >= link->max_inflight || ds->txq_len >= link->max_inflight) {
		ds->c.drop_limit++;
		return SIM_FATE_LIMIT;
	}
	start = now_us > ds->tx_free_us ? now_us : ds->tx_free_us;
	end = start + serialisation_us(&ds->p, len);
	if (txq_push(ds, end, len) != 0) {
		ds->c.drop_limit++;
		return SIM_FATE_LIMIT;
	}
	ds->tx_free_us = end > start + ds->p.spacing_us ? end : start + ds->p.spacing_us;
	sim_link_bill(ds, now_us, len, end);

	fate = draw_loss(ds);
	if (fate != SIM_FATE_QUEUED)
		return fate;

	h = held_new(sim_link_damages(&ds->p) ? 2 * len : len);
	if (h == NULL) {
		ds->c.drop_limit++;
		return SIM_FATE_LIMIT;
	}
	h->damaged = false;
	if (sim_link_damages(&ds->p)) {
		uint64_t before = ds->c.bits_flipped + ds->c.bytes_lost + ds->c.bytes_inserted;

		h->len = sim_link_damage(ds, buf, len, h->data);
		if (ds->c.bits_flipped + ds->c.bytes_lost + ds->c.bytes_inserted != before) {
			h->damaged = true;
			ds->c.corrupted++;
		}
	} else {
		h->len = len;
		if (len > 0)
			memcpy(h->data, buf, len);
	}

	due = end + propagation_us(ds);
	if (due < ds->last_due_us)
		due = ds->last_due_us;
	if (sim_rng_chance(&ds->rng, ds->p.reorder)) {
		due += ds->p.reorder_us;
	} else {
		ds->last_due_us = due;
	}
	h->due_us = due;
	h->sent_us = now_us;
	h->seq = seq;
	h->tag = tag;
	h->dir = dir;
	h->copy = false;

	/* A copy only when there is room for it: it is not counted otherwise. */
	dup = sim_rng_chance(&ds->rng, ds->p.duplicate);
	if (dup && link->heap_len + 2 <= link->max_inflight) {
		copy = held_new(h->len);
		if (copy != NULL) {
			memcpy(copy, h, sizeof *h + h->len);
			copy->copy = true;
		}
	}
	h->order = link->seq++;
	if (heap_push(link, h) != 0) {
		free(h);
		free(copy);
		ds->c.drop_limit++;
		return SIM_FATE_LIMIT;
	}
	if (copy != NULL) {
		copy->order = link->seq++;
		if (heap_push(link, copy) != 0)
			free(copy);
		else
			ds->c.duplicated++;
	}
	return SIM_FATE_QUEUED;
}

/* ---------------------------------------------------------------- delivering */

uint64_t sim_link_next_time(const struct sim_link *link)
{
	return link->heap_len > 0 ? link->heap[0]->due_us : SIM_TIME_NEVER;
}

bool sim_link_pop(struct sim_link *link, uint64_t now_us, struct sim_delivery *out)
{
	struct sim_dir_state *ds;
	struct sim_held *h;

	free(link->last);
	link->last = NULL;
	if (now_us > link->now_us)
		link->now_us = now_us;
	while (link->heap_len > 0 && link->heap[0]->due_us <= now_us) {
		h = heap_pop(link);
		ds = &link->d[h->dir];
		if (sim_link_down_within(link, h->sent_us, h->due_us)) {
			ds->c.lost_inflight++;
			free(h);
			continue;
		}
		if (h->seq + 1 < ds->max_seq_out)
			ds->c.reordered++;
		else
			ds->max_seq_out = h->seq + 1;
		ds->c.delivered++;
		ds->c.delivered_bytes += h->len;
		out->dir = h->dir;
		out->data = h->data;
		out->len = h->len;
		out->sent_us = h->sent_us;
		out->due_us = h->due_us;
		out->seq = h->seq;
		out->copy = h->copy;
		out->damaged = h->damaged;
		out->tag = h->tag;
		link->last = h;
		return true;
	}
	return false;
}

size_t sim_link_held(const struct sim_link *link)
{
	return link->heap_len;
}

const struct sim_dir_counters *sim_link_counters(const struct sim_link *link, enum sim_dir dir)
{
	return &link->d[dir].c;
}
