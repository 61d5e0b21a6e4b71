/*
 * scenario_heap.c - a binary min-heap of timed events (scenario_heap.h).
 */
#include <stdlib.h>

#include "sim/scenario_heap.h"

void sim_pq_init(struct sim_pq *q)
{
	q->items = NULL;
	q->n = 0;
	q->cap = 0;
	q->pushed = 0;
}

void sim_pq_clear(struct sim_pq *q)
{
	free(q->items);
	sim_pq_init(q);
}

static bool before(const struct sim_pq_item *a, const struct sim_pq_item *b)
{
	return a->at != b->at ? a->at < b->at : a->order < b->order;
}

int sim_pq_push(struct sim_pq *q, uint64_t at, uint32_t kind, uint32_t who, uint64_t gen)
{
	struct sim_pq_item it;
	size_t i;

	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct sim_pq_item *p = realloc(q->items, cap * sizeof *p);

		if (p == NULL)
			return -1;
		q->items = p;
		q->cap = cap;
	}
	it.at = at;
	it.order = q->pushed++;
	it.kind = kind;
	it.who = who;
	it.gen = gen;
	i = q->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(&it, &q->items[parent]))
			break;
		q->items[i] = q->items[parent];
		i = parent;
	}
	q->items[i] = it;
	return 0;
}

bool sim_pq_peek(const struct sim_pq *q, struct sim_pq_item *out)
{
	if (q->n == 0)
		return false;
	*out = q->items[0];
	return true;
}

bool sim_pq_pop(struct sim_pq *q, struct sim_pq_item *out)
{
	struct sim_pq_item last;
	size_t i = 0;

	if (q->n == 0)
		return false;
	*out = q->items[0];
	last = q->items[--q->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct sim_pq_item *best = &last;

		if (l < q->n && before(&q->items[l], best)) {
			m = l;
			best = &q->items[l];
		}
		if (r < q->n && before(&q->items[r], best))
			m = r;
		if (m == i)
			break;
		q->items[i] = q->items[m];
		i = m;
	}
	if (q->n > 0)
		q->items[i] = last;
	return true;
}

size_t sim_pq_size(const struct sim_pq *q)
{
	return q->n;
}
