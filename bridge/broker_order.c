/*
 * broker_order.c - the broker adapter's connections by id, and the queues
 * that keep two connections with one client id from overlapping on the
 * wire (see broker_int.h for why): only the first of a queue is connected.
 */
#include <stdlib.h>
#include <string.h>

#include "bridge/broker_int.h"

/* ---------------------------------------------------------------- table */

static size_t bucket_of(const struct gw_broker *b, uint32_t id)
{
	return (size_t)((id * 2654435761u) & (uint32_t)(b->nbuckets - 1));
}

struct conn *brk_conn_find(const struct gw_broker *b, uint32_t id)
{
	for (struct conn *c = b->buckets[bucket_of(b, id)]; c != NULL; c = c->hnext) {
		if (c->id == id)
			return c;
	}
	return NULL;
}

int brk_table_insert(struct gw_broker *b, struct conn *c)
{
	if (b->nconns + 1 > b->nbuckets) {
		size_t n = b->nbuckets * 2;
		struct conn **nb = calloc(n, sizeof *nb);
		if (nb == NULL)
			return -1;
		struct conn **old = b->buckets;
		size_t oldn = b->nbuckets;
		b->buckets = nb;
		b->nbuckets = n;
		for (size_t i = 0; i < oldn; i++) {
			for (struct conn *e = old[i], *next; e != NULL; e = next) {
				next = e->hnext;
				size_t k = bucket_of(b, e->id);
				e->hnext = nb[k];
				nb[k] = e;
			}
		}
		free(old);
	}
	size_t k = bucket_of(b, c->id);
	c->hnext = b->buckets[k];
	b->buckets[k] = c;
	c->in_table = true;
	b->nconns++;
	return 0;
}

void brk_table_remove(struct gw_broker *b, struct conn *c)
{
	if (!c->in_table)
		return;
	for (struct conn **p = &b->buckets[bucket_of(b, c->id)]; *p != NULL; p = &(*p)->hnext) {
		if (*p == c) {
			*p = c->hnext;
			break;
		}
	}
	c->in_table = false;
	b->nconns--;
}

/* ---------------------------------------------------------------- queues by client id */

/* FNV-1a: client ids are short, and any spread will do. */
uint32_t brk_text_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* The link that holds (or would hold) the first connection of client_id's queue. */
static struct conn **queue_link(const struct gw_broker *b, const char *client_id)
{
	struct conn **p = &b->qbuckets[brk_text_hash(client_id) & (uint32_t)(b->nqbuckets - 1)];
	while (*p != NULL && strcmp((*p)->client_id, client_id) != 0)
		p = &(*p)->qhnext;
	return p;
}

static size_t queue_length(const struct gw_broker *b, const char *client_id)
{
	size_t n = 0;
	for (const struct conn *c = *queue_link(b, client_id); c != NULL; c = c->qnext)
		n++;
	return n;
}

static int queue_grow(struct gw_broker *b)
{
	size_t n = b->nqbuckets * 2;
	struct conn **nb = calloc(n, sizeof *nb);
	if (nb == NULL)
		return -1;
	struct conn **old = b->qbuckets;
	size_t oldn = b->nqbuckets;
	b->qbuckets = nb;
	b->nqbuckets = n;
	for (size_t i = 0; i < oldn; i++) {
		for (struct conn *e = old[i], *next; e != NULL; e = next) {
			next = e->qhnext;
			struct conn **p = &nb[brk_text_hash(e->client_id) & (uint32_t)(n - 1)];
			e->qhnext = *p;
			*p = e;
		}
	}
	free(old);
	return 0;
}

/* Put c last in its client id's queue. 0, or -1 out of memory. */
int brk_queue_join(struct gw_broker *b, struct conn *c)
{
	if (b->nqueues + 1 > b->nqbuckets && queue_grow(b) != 0)
		return -1;
	struct conn **p = queue_link(b, c->client_id);
	if (*p == NULL) {
		c->qhnext = NULL;
		*p = c;
		b->nqueues++;
	} else {
		struct conn *last = *p;
		while (last->qnext != NULL)
			last = last->qnext;
		last->qnext = c;
		c->qprev = last;
	}
	c->in_queue = true;
	return 0;
}

/* First in line: nothing else with its client id is on the wire. */
bool brk_queue_first(const struct conn *c)
{
	return !c->in_queue || c->qprev == NULL;
}

void brk_queue_leave(struct gw_broker *b, struct conn *c)
{
	if (!c->in_queue)
		return;
	struct conn *next = c->qnext;
	if (c->qprev != NULL) {
		c->qprev->qnext = next;
		if (next != NULL)
			next->qprev = c->qprev;
	} else {
		struct conn **p = queue_link(b, c->client_id);
		if (next != NULL) {
			next->qprev = NULL;
			next->qhnext = c->qhnext;
			*p = next;
			/* Its turn: started from the loop, never inside a caller's call. */
			if (next->state == C_WAITING &&
			    gw_timer_arm(b->loop, &next->timer, gw_loop_now(b->loop)) != 0)
				gw_log(GW_LOG_ERR, "broker: out of memory arming a timer");
		} else {
			*p = c->qhnext;
			b->nqueues--;
		}
	}
	c->qprev = c->qnext = c->qhnext = NULL;
	c->in_queue = false;
}


/* A queue too long means a client reopening faster than the broker closes. */
bool brk_queue_full(struct gw_broker *b, uint32_t id, const char *client_id)
{
	size_t n = queue_length(b, client_id);
	if (n < QUEUE_MAX)
		return false;
	uint64_t now = brk_now_ms(b);
	bool loud = b->queue_full_logged == 0 || now - b->queue_full_logged >= QUEUE_FULL_LOG_MS;
	if (loud)
		b->queue_full_logged = now;
	gw_log(loud ? GW_LOG_WARN : GW_LOG_DEBUG,
	       "broker conn %u (%s): %zu connections with this client id are still open or closing; "
	       "refused",
	       id, client_id, n);
	return true;
}
