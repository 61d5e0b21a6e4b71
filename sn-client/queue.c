/*
 * queue.c - the persistent outbound queue's API (queue.h): opening and
 * closing, pushing within the limits, handing out by priority and age with
 * expiry, claims, acknowledgements. The files are queue_store.c's, the
 * index queue_index.c's.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn-client/queue_impl.h"

void snc_queue_config_defaults(struct snc_queue_config *cfg)
{
	assert(cfg != NULL);
	memset(cfg, 0, sizeof *cfg);
	cfg->sync = SNC_SYNC_ALWAYS;
	cfg->sync_acks = false;
	cfg->when_full = SNC_FULL_REFUSE;
	cfg->max_bytes = 16u * 1024u * 1024u;
	cfg->max_count = 100000u;
	cfg->segment_bytes = 1024u * 1024u;
	cfg->compact_min_bytes = 512u * 1024u;
}

/* ---------------------------------------------------------------- open, close */

int snc_queue_open(struct snc_queue **out, const char *dir, const struct snc_queue_config *cfg,
                   char *err, size_t errcap)
{
	struct snc_queue *q;
	int rc;

	assert(out != NULL && dir != NULL);
	*out = NULL;
	q = calloc(1, sizeof *q);
	if (q == NULL) {
		if (err != NULL && errcap > 0)
			snprintf(err, errcap, "%s: out of memory", dir);
		return SNC_ERR_NOMEM;
	}
	snc_queue_config_defaults(&q->cfg);
	if (cfg != NULL) {
		uint64_t seg = q->cfg.segment_bytes, compact = q->cfg.compact_min_bytes;

		q->cfg = *cfg;
		/* Zero would mean a file per record, or a rewrite per ack. */
		if (q->cfg.segment_bytes == 0)
			q->cfg.segment_bytes = seg;
		if (q->cfg.compact_min_bytes == 0)
			q->cfg.compact_min_bytes = compact;
	}
	q->next_seq = 1;
	rc = snc_segdir_open(&q->dir, dir);
	if (rc == SNC_OK)
		rc = snc_qstore_recover(q);
	if (rc != SNC_OK) {
		int e = errno;

		if (err != NULL && errcap > 0)
			snprintf(err, errcap, "%s", q->dir.err);
		snc_queue_close(q);
		errno = e;
		return rc;
	}
	*out = q;
	return SNC_OK;
}

void snc_queue_close(struct snc_queue *q)
{
	if (q == NULL)
		return;
	if (q->nsegs > 0)
		(void)snc_qstore_sync(q);
	for (size_t i = 0; i < q->nsegs; i++)
		close(q->segs[i].fd);
	for (unsigned p = 0; p < SNC_PRIO_LEVELS; p++)
		free(q->lanes[p].v);
	snc_segdir_close(&q->dir);
	free(q->segs);
	free(q->rbuf);
	free(q->wbuf);
	free(q);
}

/* ---------------------------------------------------------------- push */

static bool fits(const struct snc_queue *q, uint64_t count, uint64_t bytes, uint64_t size)
{
	return (q->cfg.max_count == 0 || count + 1 <= q->cfg.max_count) &&
	       (q->cfg.max_bytes == 0 || bytes + size <= q->cfg.max_bytes);
}

/* Drops every unclaimed message whose time has run out. */
static int sweep_expired(struct snc_queue *q, uint64_t now)
{
	for (unsigned p = 0; p < SNC_PRIO_LEVELS; p++) {
		struct lane *l = &q->lanes[p];

		for (size_t i = 0; i < l->n;) {
			if (!l->v[i].claimed && l->v[i].expire_at <= now) {
				int rc = snc_qindex_retire(q, p, i, SNC_OUT_EXPIRED);

				if (rc != SNC_OK)
					return rc;
			} else {
				i++;
			}
		}
	}
	return SNC_OK;
}

/* Makes room for a record of size octets at priority prio, or says it cannot. */
static int make_room(struct snc_queue *q, unsigned prio, uint64_t size, uint64_t now)
{
	uint64_t count, bytes;
	int rc;

	if (fits(q, q->st.count, q->st.bytes, size))
		return SNC_OK;
	rc = sweep_expired(q, now);
	if (rc != SNC_OK)
		return rc;
	if (fits(q, q->st.count, q->st.bytes, size))
		return SNC_OK;
	if (q->cfg.when_full != SNC_FULL_DROP_OLDEST)
		goto refuse;

	/* First see whether dropping what may be dropped is enough, so that
	 * nothing is dropped for a message that is refused anyway. */
	count = q->st.count;
	bytes = q->st.bytes;
	for (unsigned p = 0; p <= prio && !fits(q, count, bytes, size); p++) {
		for (size_t i = 0; i < q->lanes[p].n && !fits(q, count, bytes, size); i++) {
			if (!q->lanes[p].v[i].claimed) {
				count--;
				bytes -= q->lanes[p].v[i].size;
			}
		}
	}
	if (!fits(q, count, bytes, size))
		goto refuse;
	for (unsigned p = 0; p <= prio && !fits(q, q->st.count, q->st.bytes, size); p++) {
		for (size_t i = 0; i < q->lanes[p].n && !fits(q, q->st.count, q->st.bytes, size);) {
			if (q->lanes[p].v[i].claimed) {
				i++;
				continue;
			}
			rc = snc_qindex_retire(q, p, i, SNC_OUT_DROPPED);
			if (rc != SNC_OK)
				return rc;
		}
	}
	return SNC_OK;
refuse:
	q->st.refused_full++;
	snprintf(q->dir.err, sizeof q->dir.err, "%s: queue full (%llu messages, %llu octets)",
	         q->dir.path, (unsigned long long)q->st.count, (unsigned long long)q->st.bytes);
	return SNC_ERR_FULL;
}

int snc_queue_push(struct snc_queue *q, struct snc_message *m, uint64_t now)
{
	struct entry e;
	uint8_t *stored;
	size_t len;
	int n, rc;

	assert(q != NULL && m != NULL);
	rc = snc_message_check(m);
	if (rc != SNC_OK)
		return rc;
	len = snc_message_stored_size(m);
	if (q->cfg.max_bytes != 0 && mqttsn_record_size(len) > q->cfg.max_bytes)
		return SNC_ERR_TOO_BIG;
	rc = make_room(q, m->priority, mqttsn_record_size(len), now);
	if (rc != SNC_OK)
		return rc;

	m->enqueued_ms = now;
	m->seq = q->next_seq;
	/* The stored form goes through rbuf, the record into wbuf. */
	if (snc_qstore_grow(&q->rbuf, &q->rcap, len) != SNC_OK)
		return snc_qstore_nomem(q);
	stored = q->rbuf;
	n = snc_message_store(stored, len, m);
	assert(n == (int)len);
	n = snc_qstore_encode(q, REC_MESSAGE, 0, m->seq, stored, len);
	if (n < 0)
		return n;
	e.seq = m->seq;
	e.expire_at = snc_qindex_expiry(now, m->ttl_s);
	e.size = (uint32_t)n;
	e.claimed = false;
	rc = snc_qstore_append(q, (size_t)n, q->cfg.sync == SNC_SYNC_ALWAYS, &e.seg, &e.off);
	if (rc != SNC_OK)
		return rc;
	rc = snc_qindex_add(q, m->priority, &e);
	if (rc != SNC_OK)
		return rc;
	q->next_seq++;
	q->st.pushed++;
	snc_qstore_housekeep(q);
	return SNC_OK;
}

/* ---------------------------------------------------------------- taking out */

/* Reads entry e's message into *out (views into q->rbuf). */
static int load(struct snc_queue *q, const struct entry *e, struct snc_message *out)
{
	struct mqttsn_record r;
	int rc = snc_qstore_read(q, e, &q->rbuf, &q->rcap);

	if (rc != SNC_OK)
		return rc;
	if (mqttsn_record_decode(q->rbuf, e->size, &r) != (int)e->size || r.type != REC_MESSAGE ||
	    r.seq != e->seq || snc_message_load(r.payload.ptr, r.payload.len, out) != SNC_OK) {
		snprintf(q->dir.err, sizeof q->dir.err, "%s: message %llu damaged on disk",
		         q->dir.path, (unsigned long long)e->seq);
		return SNC_ERR_CORRUPT;
	}
	out->seq = e->seq;
	return SNC_OK;
}

static int next(struct snc_queue *q, uint64_t now, struct snc_message *out, bool claim)
{
	int rc = SNC_ERR_EMPTY;

	assert(q != NULL && out != NULL);
	for (unsigned p = SNC_PRIO_LEVELS; p-- > 0 && rc == SNC_ERR_EMPTY;) {
		struct lane *l = &q->lanes[p];

		for (size_t i = 0; i < l->n;) {
			struct entry *e = &l->v[i];

			if (e->claimed) {
				i++;
				continue;
			}
			if (e->expire_at <= now) {
				rc = snc_qindex_retire(q, p, i, SNC_OUT_EXPIRED);
				if (rc != SNC_OK)
					goto out;
				rc = SNC_ERR_EMPTY;
				continue;
			}
			rc = load(q, e, out);
			if (rc == SNC_ERR_CORRUPT) {
				/* Damaged since it was written: it can never be sent, and
				 * keeping it would block everything behind it. */
				q->st.damaged++;
				rc = snc_qindex_retire(q, p, i, SNC_OUT_DROPPED);
				if (rc != SNC_OK)
					goto out;
				rc = SNC_ERR_EMPTY;
				continue;
			}
			if (rc == SNC_OK && claim)
				e->claimed = true;
			goto out;
		}
	}
out:
	snc_qstore_housekeep(q);
	return rc;
}

int snc_queue_peek(struct snc_queue *q, uint64_t now, struct snc_message *out)
{
	return next(q, now, out, false);
}

int snc_queue_claim(struct snc_queue *q, uint64_t now, struct snc_message *out)
{
	return next(q, now, out, true);
}

int snc_queue_release(struct snc_queue *q, uint64_t seq)
{
	unsigned p;
	size_t i;

	assert(q != NULL);
	if (!snc_qindex_find(q, seq, &p, &i) || !q->lanes[p].v[i].claimed)
		return SNC_ERR_NOT_FOUND;
	q->lanes[p].v[i].claimed = false;
	return SNC_OK;
}

void snc_queue_release_all(struct snc_queue *q)
{
	assert(q != NULL);
	for (unsigned p = 0; p < SNC_PRIO_LEVELS; p++)
		for (size_t i = 0; i < q->lanes[p].n; i++)
			q->lanes[p].v[i].claimed = false;
}

static int remove_seq(struct snc_queue *q, uint64_t seq, enum snc_queue_outcome why)
{
	unsigned p;
	size_t i;
	int rc;

	assert(q != NULL);
	if (!snc_qindex_find(q, seq, &p, &i))
		return SNC_ERR_NOT_FOUND;
	rc = snc_qindex_retire(q, p, i, why);
	if (rc == SNC_OK)
		snc_qstore_housekeep(q);
	return rc;
}

int snc_queue_ack(struct snc_queue *q, uint64_t seq)
{
	return remove_seq(q, seq, SNC_OUT_DELIVERED);
}

int snc_queue_discard(struct snc_queue *q, uint64_t seq)
{
	return remove_seq(q, seq, SNC_OUT_REFUSED);
}

/* ---------------------------------------------------------------- the rest */

int snc_queue_sync(struct snc_queue *q)
{
	assert(q != NULL);
	return snc_qstore_sync(q);
}

size_t snc_queue_count(const struct snc_queue *q)
{
	assert(q != NULL);
	return (size_t)q->st.count;
}

const struct snc_queue_stats *snc_queue_stats(const struct snc_queue *q)
{
	assert(q != NULL);
	return &q->st;
}

const char *snc_queue_errmsg(const struct snc_queue *q)
{
	assert(q != NULL);
	return q->dir.err;
}
