/*
 * store_index.c - the custody store's in-memory index: stations found by
 * client id through an open-addressing table; per station and direction a
 * FIFO of entries in seq order, where a message acknowledged out of order
 * is marked gone until it reaches the head; the held QoS 2 msg ids; the
 * broker's packet ids of uplink messages it sent PUBREC for (marks); and
 * what is live in each segment, which says what compaction must copy and
 * when a segment can go.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/store_int.h"

/* ---------------------------------------------------------------- stations */

static uint32_t hash_id(const char *id, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)id[i];
		h *= 16777619u;
	}
	return h;
}

static bool same_id(const struct station *st, const char *id, size_t n)
{
	return st->idlen == n && memcmp(st->id, id, n) == 0;
}

struct station *gw_sidx_find(const struct gw_store *s, const char *id, size_t idlen)
{
	uint32_t mask = s->hashcap - 1, i;

	if (s->hashcap == 0)
		return NULL;
	/* Bounded: the table is at most half full, so an empty slot is met. */
	for (i = hash_id(id, idlen) & mask; s->hash[i] != 0; i = (i + 1) & mask) {
		struct station *st = &s->st[s->hash[i] - 1];

		if (same_id(st, id, idlen))
			return st;
	}
	return NULL;
}

static void hash_insert(uint32_t *tab, uint32_t cap, const struct station *st, uint32_t num)
{
	uint32_t i = hash_id(st->id, st->idlen) & (cap - 1);

	while (tab[i] != 0)
		i = (i + 1) & (cap - 1);
	tab[i] = num + 1;
}

static int grow_hash(struct gw_store *s)
{
	uint32_t ncap = s->hashcap ? s->hashcap * 2 : 64;
	uint32_t *tab = calloc(ncap, sizeof *tab);

	if (tab == NULL)
		return GW_STORE_ERR_NOMEM;
	for (uint32_t k = 0; k < s->nst; k++)
		hash_insert(tab, ncap, &s->st[k], k);
	free(s->hash);
	s->hash = tab;
	s->hashcap = ncap;
	return GW_STORE_OK;
}

struct station *gw_sidx_get(struct gw_store *s, const char *id, size_t idlen)
{
	struct station *st = gw_sidx_find(s, id, idlen);

	if (st != NULL)
		return st;
	assert(idlen >= 1 && idlen <= GW_STORE_CLIENT_ID_MAX);
	if (s->nst == UINT32_MAX - 1)
		return NULL;
	if ((uint64_t)(s->nst + 1) * 2 > s->hashcap && grow_hash(s) != GW_STORE_OK)
		return NULL;
	if (s->nst == s->stcap) {
		uint32_t ncap = s->stcap ? s->stcap + s->stcap / 2 : 16;
		struct station *v = realloc(s->st, (size_t)ncap * sizeof *v);

		if (v == NULL)
			return NULL;
		s->st = v;
		s->stcap = ncap;
	}
	st = &s->st[s->nst];
	memset(st, 0, sizeof *st);
	memcpy(st->id, id, idlen);
	st->idlen = (uint8_t)idlen;
	hash_insert(s->hash, s->hashcap, st, s->nst);
	s->nst++;
	s->stats.stations = s->nst;
	return st;
}

/* ---------------------------------------------------------------- FIFOs */

/* Room for one more entry at the end: slide over the gone head, or grow by
 * half (not double: the index should stay near 32 octets a message). */
int gw_sidx_reserve(struct fifo *f)
{
	uint32_t ncap;
	struct entry *v;

	if (f->n < f->cap)
		return GW_STORE_OK;
	if (f->head > 0 && f->head >= f->n / 4) {
		memmove(f->v, f->v + f->head, (size_t)(f->n - f->head) * sizeof *f->v);
		f->n -= f->head;
		f->head = 0;
		return GW_STORE_OK;
	}
	if (f->cap > UINT32_MAX / 2)
		return GW_STORE_ERR_NOMEM;
	ncap = f->cap ? f->cap + f->cap / 2 : 4;
	v = realloc(f->v, (size_t)ncap * sizeof *v);
	if (v == NULL)
		return GW_STORE_ERR_NOMEM;
	f->v = v;
	f->cap = ncap;
	return GW_STORE_OK;
}

int gw_sidx_append(struct fifo *f, const struct entry *e)
{
	int rc = gw_sidx_reserve(f);

	if (rc == GW_STORE_OK)
		f->v[f->n++] = *e;
	return rc;
}

static void account(struct gw_store *s, struct fifo *f, int d, const struct entry *e)
{
	f->count++;
	f->bytes += e->size;
	gw_sidx_live(s, e->seg, e->size);
	if (d == GW_STORE_UP)
		s->stats.up_msgs++;
	else
		s->stats.down_msgs++;
}

int gw_sidx_push(struct gw_store *s, struct station *st, int d, const struct entry *e)
{
	struct fifo *f = &st->dir[d];
	int rc;

	assert(f->n == f->head || f->v[f->n - 1].seq < e->seq);
	rc = gw_sidx_append(f, e);
	if (rc == GW_STORE_OK)
		account(s, f, d, e);
	return rc;
}

void gw_sidx_account(struct gw_store *s, struct fifo *f, int d)
{
	for (uint32_t i = f->head; i < f->n; i++)
		if (!(f->v[i].flags & EF_GONE))
			account(s, f, d, &f->v[i]);
}

/* The first index of f at or after head with a seq not below seq. */
static uint32_t lower_bound(const struct fifo *f, uint64_t seq)
{
	uint32_t lo = f->head, hi = f->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (f->v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct entry *gw_sidx_lookup(struct fifo *f, uint64_t seq)
{
	uint32_t i = lower_bound(f, seq);

	if (i < f->n && f->v[i].seq == seq && !(f->v[i].flags & EF_GONE))
		return &f->v[i];
	return NULL;
}

struct entry *gw_sidx_after(struct fifo *f, uint64_t after)
{
	uint32_t i = after == UINT64_MAX ? f->n : lower_bound(f, after + 1);

	for (; i < f->n; i++)
		if (!(f->v[i].flags & EF_GONE))
			return &f->v[i];
	return NULL;
}

void gw_sidx_remove(struct gw_store *s, struct station *st, int d, struct entry *e)
{
	struct fifo *f = &st->dir[d];

	assert(!(e->flags & EF_GONE) && f->count > 0);
	e->flags |= EF_GONE;
	f->count--;
	f->bytes -= e->size;
	gw_sidx_dead(s, e->seg, e->size);
	if (d == GW_STORE_UP)
		s->stats.up_msgs--;
	else
		s->stats.down_msgs--;
	while (f->head < f->n && (f->v[f->head].flags & EF_GONE))
		f->head++;
	if (f->head == f->n) {
		f->head = f->n = 0;
		if (f->cap > 64) {
			free(f->v);
			f->v = NULL;
			f->cap = 0;
		}
	}
}

/* ---------------------------------------------------------------- holds */

struct hold *gw_sidx_hold(struct station *st, uint16_t msg_id)
{
	for (uint16_t i = 0; i < st->nholds; i++)
		if (st->holds[i].msg_id == msg_id)
			return &st->holds[i];
	return NULL;
}

struct hold *gw_sidx_hold_seq(struct station *st, uint64_t seq)
{
	for (uint16_t i = 0; i < st->nholds; i++)
		if (st->holds[i].seq == seq)
			return &st->holds[i];
	return NULL;
}

int gw_sidx_hold_room(struct station *st)
{
	uint16_t ncap;
	struct hold *v;

	if (st->nholds < st->holdcap)
		return GW_STORE_OK;
	/* At most one hold per msg id. */
	if (st->holdcap == UINT16_MAX)
		return GW_STORE_ERR_NOMEM;
	ncap = st->holdcap ? (uint16_t)(st->holdcap > UINT16_MAX / 2 ? UINT16_MAX : st->holdcap * 2)
	                   : 4;
	v = realloc(st->holds, (size_t)ncap * sizeof *v);
	if (v == NULL)
		return GW_STORE_ERR_NOMEM;
	st->holds = v;
	st->holdcap = ncap;
	return GW_STORE_OK;
}

/* A hold whose message is done owns its record's octets; otherwise the
 * message's entry does. */
void gw_sidx_hold_add(struct gw_store *s, struct station *st, const struct hold *h)
{
	assert(st->nholds < st->holdcap);
	st->holds[st->nholds++] = *h;
	s->stats.holds++;
	if (h->done)
		gw_sidx_live(s, h->seg, h->size);
}

void gw_sidx_hold_drop(struct gw_store *s, struct station *st, struct hold *h)
{
	if (h->done)
		gw_sidx_dead(s, h->seg, h->size);
	*h = st->holds[--st->nholds];
	s->stats.holds--;
	if (st->nholds == 0) {
		free(st->holds);
		st->holds = NULL;
		st->holdcap = 0;
	}
}

/* ---------------------------------------------------------------- marks */

struct mark *gw_sidx_mark(struct station *st, uint64_t seq)
{
	for (uint16_t i = 0; i < st->nmarks; i++)
		if (st->marks[i].seq == seq)
			return &st->marks[i];
	return NULL;
}

int gw_sidx_mark_room(struct station *st)
{
	uint16_t ncap;
	struct mark *v;

	if (st->nmarks < st->markcap)
		return GW_STORE_OK;
	if (st->markcap == UINT16_MAX)
		return GW_STORE_ERR_NOMEM;
	ncap = st->markcap ? (uint16_t)(st->markcap > UINT16_MAX / 2 ? UINT16_MAX : st->markcap * 2)
	                   : 4;
	v = realloc(st->marks, (size_t)ncap * sizeof *v);
	if (v == NULL)
		return GW_STORE_ERR_NOMEM;
	st->marks = v;
	st->markcap = ncap;
	return GW_STORE_OK;
}

void gw_sidx_mark_add(struct gw_store *s, struct station *st, const struct mark *m)
{
	assert(st->nmarks < st->markcap);
	st->marks[st->nmarks++] = *m;
	s->stats.marks++;
	gw_sidx_live(s, m->seg, m->size);
}

void gw_sidx_mark_drop(struct gw_store *s, struct station *st, struct mark *m)
{
	gw_sidx_dead(s, m->seg, m->size);
	*m = st->marks[--st->nmarks];
	s->stats.marks--;
	if (st->nmarks == 0) {
		free(st->marks);
		st->marks = NULL;
		st->markcap = 0;
	}
}

/* ---------------------------------------------------------------- accounting */

void gw_sidx_live(struct gw_store *s, uint32_t num, uint32_t size)
{
	struct segment *g = gw_slog_seg(s, num);

	assert(g != NULL);
	g->live_bytes += size;
	g->live_count++;
	s->stats.live_bytes += size;
}

void gw_sidx_dead(struct gw_store *s, uint32_t num, uint32_t size)
{
	struct segment *g = gw_slog_seg(s, num);

	assert(g != NULL && g->live_count > 0 && g->live_bytes >= size);
	g->live_bytes -= size;
	g->live_count--;
	s->stats.live_bytes -= size;
}

uint64_t gw_sidx_memory(const struct gw_store *s)
{
	uint64_t m = (uint64_t)s->stcap * sizeof *s->st + (uint64_t)s->hashcap * sizeof *s->hash +
	             (uint64_t)s->segcap * sizeof *s->segs;

	for (uint32_t k = 0; k < s->nst; k++) {
		const struct station *st = &s->st[k];

		m += (uint64_t)(st->dir[0].cap + st->dir[1].cap) * sizeof(struct entry) +
		     (uint64_t)st->holdcap * sizeof(struct hold) +
		     (uint64_t)st->markcap * sizeof(struct mark);
	}
	return m;
}

void gw_sidx_free(struct gw_store *s)
{
	for (uint32_t k = 0; k < s->nst; k++) {
		free(s->st[k].dir[0].v);
		free(s->st[k].dir[1].v);
		free(s->st[k].holds);
		free(s->st[k].marks);
	}
	free(s->st);
	free(s->hash);
	s->st = NULL;
	s->hash = NULL;
	s->nst = s->stcap = s->hashcap = 0;
}
