/*
 * scenario_heap.h - the scenario runner's priority queue of timed events.
 *
 * A binary min-heap ordered by (time, order of insertion): two events due
 * at the same virtual millisecond come out in the order they went in, which
 * is what makes a run repeat exactly from its seed. Items carry small
 * integers, not pointers, so a stale item (a deadline that moved) is
 * recognised by its owner through a generation number and skipped.
 */
#ifndef SNBRIDGE_SIM_SCENARIO_HEAP_H
#define SNBRIDGE_SIM_SCENARIO_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One event: due at `at` (virtual ms); kind, who and gen are the owner's. */
struct sim_pq_item {
	uint64_t at;
	uint64_t order;   /* set by sim_pq_push: the insertion count */
	uint32_t kind;
	uint32_t who;
	uint64_t gen;
};

struct sim_pq {
	struct sim_pq_item *items;
	size_t n, cap;
	uint64_t pushed;
};

/* An empty queue (no allocation yet). */
void sim_pq_init(struct sim_pq *q);

/* Free the items; the queue is empty and usable again. */
void sim_pq_clear(struct sim_pq *q);

/* Add an item (its order is assigned here). Returns 0, or -1 out of memory. */
int sim_pq_push(struct sim_pq *q, uint64_t at, uint32_t kind, uint32_t who, uint64_t gen);

/* The earliest item without removing it; false when empty. */
bool sim_pq_peek(const struct sim_pq *q, struct sim_pq_item *out);

/* Remove the earliest item into *out; false when empty. */
bool sim_pq_pop(struct sim_pq *q, struct sim_pq_item *out);

/* Items waiting. */
size_t sim_pq_size(const struct sim_pq *q);

#endif
