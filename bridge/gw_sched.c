/*
 * gw_sched.c - every session's next deadline in one binary min-heap, so a
 * tick costs O(log n) per expiry instead of a scan of every session.
 *
 * A session has one deadline: the earliest of its connect timeout, its
 * keep-alive or sleep supervision (6.11, 6.14) and its retry timer.
 */
#include "bridge/gw_int.h"

static void heap_set(struct gw *gw, size_t i, struct gw_session *s)
{
	gw->heap[i] = s;
	s->heap_idx = i + 1;
}

static void sift_up(struct gw *gw, size_t i)
{
	struct gw_session *s = gw->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (gw->heap[parent]->deadline <= s->deadline)
			break;
		heap_set(gw, i, gw->heap[parent]);
		i = parent;
	}
	heap_set(gw, i, s);
}

static void sift_down(struct gw *gw, size_t i)
{
	struct gw_session *s = gw->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		uint64_t best = s->deadline;

		if (l < gw->heap_len && gw->heap[l]->deadline < best) {
			m = l;
			best = gw->heap[l]->deadline;
		}
		if (r < gw->heap_len && gw->heap[r]->deadline < best)
			m = r;
		if (m == i)
			break;
		heap_set(gw, i, gw->heap[m]);
		i = m;
	}
	heap_set(gw, i, s);
}

void gw_sched_remove(struct gw *gw, struct gw_session *s)
{
	struct gw_session *moved;
	size_t i;

	if (s->heap_idx == 0)
		return;
	i = s->heap_idx - 1;
	s->heap_idx = 0;
	gw->heap_len--;
	if (i == gw->heap_len)
		return;
	moved = gw->heap[gw->heap_len];
	heap_set(gw, i, moved);
	sift_up(gw, i);
	sift_down(gw, moved->heap_idx - 1);
}

static uint64_t compute(const struct gw *gw, const struct gw_session *s)
{
	uint64_t d;

	if (s->phase != GW_PHASE_NONE)
		d = s->phase_since + gw->cfg.connect_timeout_ms;
	else
		d = gw_sleep_deadline(s);
	if (s->out.kind != GW_OUT_NONE && s->out.due < d)
		d = s->out.due;
	return d;
}

void gw_sched_update(struct gw *gw, struct gw_session *s)
{
	uint64_t d = compute(gw, s);

	if (d == GW_NEVER) {
		gw_sched_remove(gw, s);
		s->deadline = d;
		return;
	}
	s->deadline = d;
	if (s->heap_idx == 0) {
		gw->heap_len++;
		heap_set(gw, gw->heap_len - 1, s);
		sift_up(gw, gw->heap_len - 1);
		return;
	}
	sift_up(gw, s->heap_idx - 1);
	sift_down(gw, s->heap_idx - 1);
}

struct gw_session *gw_sched_first(const struct gw *gw)
{
	return gw->heap_len != 0 ? gw->heap[0] : NULL;
}
