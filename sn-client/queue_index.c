/*
 * queue_index.c - the persistent queue's in-memory index: one array per
 * priority of the live messages, ascending sequence numbers, found by
 * binary search; and what retiring a message writes.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sn-client/queue_impl.h"

static size_t lane_lower_bound(const struct lane *l, uint64_t seq)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Finds seq in any lane: true with *lane and *idx set. */
bool snc_qindex_find(struct snc_queue *q, uint64_t seq, unsigned *lane, size_t *idx)
{
	for (unsigned p = 0; p < SNC_PRIO_LEVELS; p++) {
		struct lane *l = &q->lanes[p];
		size_t i = lane_lower_bound(l, seq);

		if (i < l->n && l->v[i].seq == seq) {
			*lane = p;
			*idx = i;
			return true;
		}
	}
	return false;
}

/* Adds an entry in seq order (recovery can meet sequence numbers out of order). */
int snc_qindex_add(struct snc_queue *q, unsigned prio, const struct entry *e)
{
	struct lane *l = &q->lanes[prio];
	struct segment *s = snc_qstore_seg(q, e->seg);
	size_t i;

	assert(s != NULL);
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct entry *v = realloc(l->v, ncap * sizeof *v);

		if (v == NULL)
			return snc_qstore_nomem(q);
		l->v = v;
		l->cap = ncap;
	}
	i = lane_lower_bound(l, e->seq);
	memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof *l->v);
	l->v[i] = *e;
	l->n++;
	s->live_bytes += e->size;
	s->live_count++;
	q->st.count++;
	if (e->qos2)
		q->st.count_qos2++;
	q->st.bytes += e->size;
	return SNC_OK;
}

/* The place of seq in q->marks, or q->nmarks. */
static size_t mark_find(const struct snc_queue *q, uint64_t seq)
{
	size_t k;

	for (k = 0; k < q->nmarks; k++)
		if (q->marks[k].seq == seq)
			break;
	return k;
}

int snc_qindex_set_mark(struct snc_queue *q, unsigned prio, size_t i, uint8_t mark,
                        uint16_t msg_id)
{
	struct entry *e = &q->lanes[prio].v[i];
	size_t k = mark_find(q, e->seq);

	if (k == q->nmarks) {
		if (q->nmarks == q->markcap) {
			size_t ncap = q->markcap ? q->markcap * 2 : 16;
			struct mark_ref *v = realloc(q->marks, ncap * sizeof *v);

			if (v == NULL)
				return snc_qstore_nomem(q);
			q->marks = v;
			q->markcap = ncap;
		}
		q->nmarks++;
		q->st.in_flight++;
		if (e->qos2)
			q->st.in_flight_qos2++;
	}
	q->marks[k].seq = e->seq;
	q->marks[k].msg_id = msg_id;
	e->mark = mark;
	e->msg_id = msg_id;
	return SNC_OK;
}

/* Forgets the mark of e, if it has one. */
static void drop_mark(struct snc_queue *q, const struct entry *e)
{
	size_t k;

	if (e->mark == SNC_CLAIM_NONE)
		return;
	k = mark_find(q, e->seq);
	assert(k < q->nmarks);
	q->marks[k] = q->marks[--q->nmarks];
	q->st.in_flight--;
	if (e->qos2)
		q->st.in_flight_qos2--;
}

void snc_qindex_remove(struct snc_queue *q, unsigned prio, size_t i)
{
	struct lane *l = &q->lanes[prio];
	struct segment *s = snc_qstore_seg(q, l->v[i].seg);

	drop_mark(q, &l->v[i]);

	assert(s != NULL && s->live_count > 0);
	s->live_bytes -= l->v[i].size;
	s->live_count--;
	q->st.count--;
	if (l->v[i].qos2)
		q->st.count_qos2--;
	q->st.bytes -= l->v[i].size;
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof *l->v);
	l->n--;
}

/* Writes the acknowledgement of lane prio's entry i and takes it out. */
int snc_qindex_retire(struct snc_queue *q, unsigned prio, size_t i, enum snc_queue_outcome why)
{
	int n = snc_qstore_encode(q, REC_ACK, (uint8_t)why, q->lanes[prio].v[i].seq, NULL, 0);
	int rc;

	if (n < 0)
		return n;
	rc = snc_qstore_append(q, (size_t)n, q->cfg.sync == SNC_SYNC_ALWAYS && q->cfg.sync_acks, NULL, NULL);
	if (rc != SNC_OK)
		return rc;
	snc_qindex_remove(q, prio, i);
	switch (why) {
	case SNC_OUT_DELIVERED:
		q->st.delivered++;
		break;
	case SNC_OUT_EXPIRED:
		q->st.expired++;
		break;
	case SNC_OUT_DROPPED:
		q->st.dropped_full++;
		break;
	case SNC_OUT_REFUSED:
		q->st.refused++;
		break;
	}
	return SNC_OK;
}

uint64_t snc_qindex_expiry(uint64_t enqueued_ms, uint32_t ttl_s)
{
	uint64_t ttl = (uint64_t)ttl_s * 1000u;

	if (ttl_s == 0 || enqueued_ms > UINT64_MAX - ttl)
		return UINT64_MAX;
	return enqueued_ms + ttl;
}
