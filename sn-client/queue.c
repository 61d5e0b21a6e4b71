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
	free(q->marks);
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

/* Whether e may be expired or dropped: not in flight, never sent. */
static bool idle(const struct entry *e)
{
	return !e->claimed && e->mark == SNC_CLAIM_NONE;
}

/* Drops every idle message whose time has run out. */
static int sweep_expired(struct snc_queue *q, uint64_t now)
{
	for (unsigned p = 0; p < SNC_PRIO_LEVELS; p++) {
		struct lane *l = &q->lanes[p];

		for (size_t i = 0; i < l->n;) {
			if (idle(&l->v[i]) && l->v[i].expire_at <= now) {
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
			if (idle(&q->lanes[p].v[i])) {
				count--;
				bytes -= q->lanes[p].v[i].size;
			}
		}
	}
	if (!fits(q, count, bytes, size))
		goto refuse;
	for (unsigned p = 0; p <= prio && !fits(q, q->st.count, q->st.bytes, size); p++) {
		for (size_t i = 0; i < q->lanes[p].n && !fits(q, q->st.count, q->st.bytes, size);) {
			if (!idle(&q->lanes[p].v[i])) {
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
	memset(&e, 0, sizeof e);
	e.seq = m->seq;
	e.expire_at = snc_qindex_expiry(now, m->ttl_s);
	e.size = (uint32_t)n;
	e.qos2 = m->qos == 2;
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
	out->msg_id = e->msg_id;
	out->claim = (enum snc_claim)e->mark;
	return SNC_OK;
}

/*
 * Loads lane p's entry i into *out and claims it when asked; a message
 * damaged since it was written can never be sent, and keeping it would
 * block everything behind it: it is dropped and SNC_ERR_EMPTY returned.
 */
static int take(struct snc_queue *q, unsigned p, size_t i, struct snc_message *out, bool claim)
{
	int rc = load(q, &q->lanes[p].v[i], out);

	if (rc == SNC_ERR_CORRUPT) {
		q->st.damaged++;
		rc = snc_qindex_retire(q, p, i, SNC_OUT_DROPPED);
		return rc == SNC_OK ? SNC_ERR_EMPTY : rc;
	}
	if (rc == SNC_OK && claim)
		q->lanes[p].v[i].claimed = true;
	return rc;
}

/* The oldest marked message not in flight: sent before, it goes first. */
static bool oldest_marked(struct snc_queue *q, unsigned *lane, size_t *idx)
{
	uint64_t best = UINT64_MAX;
	unsigned p;
	size_t i;

	for (size_t k = 0; k < q->nmarks; k++) {
		if (q->marks[k].seq < best && snc_qindex_find(q, q->marks[k].seq, &p, &i) &&
		    !q->lanes[p].v[i].claimed) {
			best = q->marks[k].seq;
			*lane = p;
			*idx = i;
		}
	}
	return best != UINT64_MAX;
}

static int next(struct snc_queue *q, uint64_t now, struct snc_message *out, bool claim)
{
	int rc = SNC_ERR_EMPTY;
	unsigned mp;
	size_t mi;

	assert(q != NULL && out != NULL);
	while (rc == SNC_ERR_EMPTY && oldest_marked(q, &mp, &mi)) {
		rc = take(q, mp, mi, out, claim);
		if (rc != SNC_ERR_EMPTY)
			goto out;
	}
	for (unsigned p = SNC_PRIO_LEVELS; p-- > 0 && rc == SNC_ERR_EMPTY;) {
		struct lane *l = &q->lanes[p];

		for (size_t i = 0; i < l->n;) {
			struct entry *e = &l->v[i];

			if (e->claimed) {
				i++;
				continue;
			}
			if (idle(e) && e->expire_at <= now) {
				rc = snc_qindex_retire(q, p, i, SNC_OUT_EXPIRED);
				if (rc != SNC_OK)
					goto out;
				rc = SNC_ERR_EMPTY;
				continue;
			}
			rc = take(q, p, i, out, claim);
			if (rc == SNC_ERR_EMPTY)
				continue;
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

/* ---------------------------------------------------------------- marks */

int snc_queue_mark(struct snc_queue *q, uint64_t seq, uint16_t msg_id, enum snc_claim state)
{
	uint8_t id[2] = { (uint8_t)(msg_id >> 8), (uint8_t)msg_id };
	struct entry *e;
	unsigned p;
	size_t i;
	int n, rc;

	assert(q != NULL);
	if (msg_id == 0 || (state != SNC_CLAIM_SENT && state != SNC_CLAIM_PUBREL))
		return SNC_ERR_INVALID;
	if (!snc_qindex_find(q, seq, &p, &i))
		return SNC_ERR_NOT_FOUND;
	e = &q->lanes[p].v[i];
	if (e->mark == (uint8_t)state && e->msg_id == msg_id)
		return SNC_OK;
	/* Room in the index first, so that a written mark is always applied. */
	if (e->mark == SNC_CLAIM_NONE && q->nmarks == q->markcap) {
		size_t ncap = q->markcap ? q->markcap * 2 : 16;
		struct mark_ref *v = realloc(q->marks, ncap * sizeof *v);

		if (v == NULL)
			return snc_qstore_nomem(q);
		q->marks = v;
		q->markcap = ncap;
	}
	n = snc_qstore_encode(q, REC_MARK, (uint8_t)state, seq, id, sizeof id);
	if (n < 0)
		return n;
	/* A QoS 2 message repeated after a crash is a duplicate, so under the
	 * default policy its mark is on disk before the packet it describes
	 * leaves. SNC_SYNC_NONE is the caller's explicit choice of speed over
	 * a power cut (queue.h), QoS 2 marks included. */
	rc = snc_qstore_append(q, (size_t)n, q->cfg.sync == SNC_SYNC_ALWAYS, NULL, NULL);
	if (rc != SNC_OK)
		return rc;
	q->st.marks++;
	rc = snc_qindex_set_mark(q, p, i, (uint8_t)state, msg_id);
	assert(rc == SNC_OK);
	return rc;
}

bool snc_queue_msg_id_marked(const struct snc_queue *q, uint16_t msg_id)
{
	assert(q != NULL);
	for (size_t k = 0; k < q->nmarks; k++)
		if (q->marks[k].msg_id == msg_id)
			return true;
	return false;
}

int snc_queue_set_owner(struct snc_queue *q, const char *client_id)
{
	uint8_t rec[OWNER_RECORD_MAX];
	char old[OWNER_MAX + 1];
	size_t n;
	int rc;

	assert(q != NULL && client_id != NULL);
	n = strlen(client_id);
	if (n == 0 || n > OWNER_MAX)
		return SNC_ERR_INVALID;
	if (strcmp(q->owner, client_id) == 0)
		return SNC_OK;
	memcpy(old, q->owner, sizeof old);
	memcpy(q->owner, client_id, n + 1);
	n = snc_qstore_owner_record(q, rec);
	if (snc_qstore_grow(&q->wbuf, &q->wcap, n) != SNC_OK) {
		memcpy(q->owner, old, sizeof old);
		return snc_qstore_nomem(q);
	}
	memcpy(q->wbuf, rec, n);
	/* Synced with the marks that follow it: they are appended after it. */
	rc = snc_qstore_append(q, n, q->cfg.sync == SNC_SYNC_ALWAYS, NULL, NULL);
	if (rc != SNC_OK)
		memcpy(q->owner, old, sizeof old);
	return rc;
}

const char *snc_queue_owner(const struct snc_queue *q)
{
	assert(q != NULL);
	return q->owner;
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
