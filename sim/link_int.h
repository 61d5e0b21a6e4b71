/*
 * link_int.h - what the link model's files share and nobody else uses.
 */
#ifndef SNBRIDGE_SIM_LINK_INT_H
#define SNBRIDGE_SIM_LINK_INT_H

#include "sim/link.h"

/* A datagram held by the model until it is due. */
struct sim_held {
	uint64_t due_us;
	uint64_t sent_us;
	uint64_t order;    /* across both directions: the heap's tie-break */
	uint64_t seq;      /* send order within its direction */
	uint64_t tag;      /* the sender's */
	enum sim_dir dir;
	bool copy;
	bool damaged;
	size_t len;
	uint8_t data[];
};

/*
 * Copy, sort and merge n outages into link->outages. Returns 0, or -1 with
 * errno (EINVAL for up <= down, ENOMEM).
 */
int sim_link_outages_set(struct sim_link *link, const struct sim_outage *v, size_t n);

/* Whether the link is down at any moment of [from_us, to_us]. */
bool sim_link_down_within(const struct sim_link *link, uint64_t from_us, uint64_t to_us);

/*
 * Account one accepted datagram of len bytes, sent at now_us and fully
 * transmitted at end_us, to ds's billing session (link_bill.c).
 */
void sim_link_bill(struct sim_dir_state *ds, uint64_t now_us, size_t len, uint64_t end_us);

/* Whether ds's parameters damage bytes at all. */
bool sim_link_damages(const struct sim_dir_params *p);

/*
 * Copy len bytes from in to out (room for 2 * len) with ds's byte damage:
 * bit flips, lost and inserted bytes, counted. Returns the bytes written.
 */
size_t sim_link_damage(struct sim_dir_state *ds, const uint8_t *in, size_t len, uint8_t *out);

#endif
