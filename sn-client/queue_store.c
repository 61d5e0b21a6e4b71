/*
 * queue_store.c - the persistent queue's segment files: appending records,
 * starting new segments, reading records back, recovery at open, deleting
 * segments whose messages are all gone, and compaction.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn-client/queue_impl.h"

/* ---------------------------------------------------------------- buffers */

int snc_qstore_grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *b;

	if (*cap >= need)
		return SNC_OK;
	b = realloc(*buf, need);
	if (b == NULL)
		return SNC_ERR_NOMEM;
	*buf = b;
	*cap = need;
	return SNC_OK;
}

int snc_qstore_nomem(struct snc_queue *q)
{
	snprintf(q->dir.err, sizeof q->dir.err, "%s: out of memory", q->dir.path);
	return SNC_ERR_NOMEM;
}

/* ---------------------------------------------------------------- segments */

static struct segment *active(struct snc_queue *q)
{
	assert(q->nsegs > 0);
	return &q->segs[q->nsegs - 1];
}

struct segment *snc_qstore_seg(struct snc_queue *q, uint64_t num)
{
	size_t lo = 0, hi = q->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (q->segs[mid].num < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < q->nsegs && q->segs[lo].num == num ? &q->segs[lo] : NULL;
}

static int seg_add(struct snc_queue *q, uint64_t num, int fd, uint64_t size)
{
	struct segment *s;

	if (q->nsegs == q->segcap) {
		size_t ncap = q->segcap ? q->segcap * 2 : 8;
		struct segment *v = realloc(q->segs, ncap * sizeof *v);

		if (v == NULL)
			return snc_qstore_nomem(q);
		q->segs = v;
		q->segcap = ncap;
	}
	s = &q->segs[q->nsegs++];
	s->num = num;
	s->fd = fd;
	s->size = size;
	s->live_bytes = 0;
	s->live_count = 0;
	q->st.disk_bytes += size;
	return SNC_OK;
}

/* Encodes a record into q->wbuf; returns its size or a negative snc_err. */
int snc_qstore_encode(struct snc_queue *q, uint8_t type, uint8_t flags, uint64_t seq,
                  const uint8_t *payload, size_t len)
{
	struct mqttsn_record r = { .type = type, .flags = flags, .seq = seq, .payload = { payload, len } };
	int n;

	if (snc_qstore_grow(&q->wbuf, &q->wcap, mqttsn_record_size(len)) != SNC_OK)
		return snc_qstore_nomem(q);
	n = mqttsn_record_encode(q->wbuf, q->wcap, &r);
	assert(n > 0);
	return n;
}

/* The record that opens every segment, in buf (it has no payload). */
static void header_record(uint8_t buf[MQTTSN_RECORD_OVERHEAD], uint64_t next_seq)
{
	struct mqttsn_record r = { .type = REC_SEGMENT, .seq = next_seq };
	int n = mqttsn_record_encode(buf, MQTTSN_RECORD_OVERHEAD, &r);

	assert(n == (int)MQTTSN_RECORD_OVERHEAD);
	(void)n;
}

size_t snc_qstore_owner_record(const struct snc_queue *q, uint8_t *buf)
{
	size_t n = strlen(q->owner);
	struct mqttsn_record r = { .type = REC_OWNER, .seq = q->next_seq,
	                           .payload = { (const uint8_t *)q->owner, n } };
	int rc = mqttsn_record_encode(buf, OWNER_RECORD_MAX, &r);

	assert(rc > 0);
	return (size_t)rc;
}

/*
 * The records a segment starts with: its header and, when there is one,
 * the owner. Built on the stack (buf): q->wbuf may hold the record that is
 * about to go into the new segment.
 */
static size_t first_records(const struct snc_queue *q, uint8_t *buf)
{
	size_t n = MQTTSN_RECORD_OVERHEAD;

	header_record(buf, q->next_seq);
	if (q->owner[0] != '\0')
		n += snc_qstore_owner_record(q, buf + n);
	return n;
}

/* A new, empty segment after the last one, durable before it is used. */
static int seg_create(struct snc_queue *q)
{
	uint64_t num = q->nsegs ? active(q)->num + 1 : 1;
	uint64_t size = 0;
	uint8_t hdr[MQTTSN_RECORD_OVERHEAD + OWNER_RECORD_MAX];
	size_t hlen = first_records(q, hdr);
	int fd, rc;

	rc = snc_segdir_open_seg(&q->dir, num, 1, &fd);
	if (rc != SNC_OK)
		return rc;
	rc = snc_segdir_append(&q->dir, fd, num, &size, hdr, hlen);
	if (rc == SNC_OK)
		rc = snc_segdir_fsync(&q->dir, fd, num);
	if (rc == SNC_OK)
		rc = snc_segdir_sync(&q->dir);
	if (rc == SNC_OK)
		rc = seg_add(q, num, fd, size);
	if (rc != SNC_OK) {
		close(fd);
		if (snc_segdir_unlink(&q->dir, num) != SNC_OK) {
			/* Left behind it is an empty or header-only segment, which
			 * recovery reads as nothing. */
		}
	}
	return rc;
}

int snc_qstore_sync(struct snc_queue *q)
{
	int rc;

	if (!q->dirty)
		return SNC_OK;
	rc = snc_segdir_fsync(&q->dir, active(q)->fd, active(q)->num);
	if (rc == SNC_OK)
		q->dirty = false;
	return rc;
}

/*
 * Appends the record in q->wbuf to the active segment, starting a new one
 * first when it is full. *seg and *off tell where it went.
 */
int snc_qstore_append(struct snc_queue *q, size_t n, bool sync, uint64_t *seg, uint64_t *off)
{
	struct segment *s = active(q);
	uint64_t before;
	int rc;

	if (s->size >= q->cfg.segment_bytes) {
		/* Confine a torn tail to the last segment: finish this one first. */
		rc = snc_qstore_sync(q);
		if (rc == SNC_OK)
			rc = seg_create(q);
		if (rc != SNC_OK)
			return rc;
		s = active(q);
	}
	before = s->size;
	rc = snc_segdir_append(&q->dir, s->fd, s->num, &s->size, q->wbuf, n);
	if (rc != SNC_OK)
		return rc;
	q->dirty = true;
	if (sync) {
		rc = snc_qstore_sync(q);
		if (rc != SNC_OK) {
			/* After a failed fsync nothing is known about the data: take the
			 * record back so that the caller's "not stored" is the truth. */
			if (snc_segdir_truncate(&q->dir, s->fd, s->num, before) != SNC_OK) {
				/* Then the record may survive: the message is sent
				 * although push() failed, a repeat and not a loss. */
			}
			s->size = before;
			return rc;
		}
	}
	q->st.disk_bytes += n;
	if (seg != NULL)
		*seg = s->num;
	if (off != NULL)
		*off = before;
	return SNC_OK;
}

/* ---------------------------------------------------------------- housekeeping */

/* Deletes leading segments without live messages; never the active one. */
static void drop_dead_segments(struct snc_queue *q)
{
	size_t k = 0;

	while (k + 1 < q->nsegs && q->segs[k].live_count == 0) {
		struct segment *s = &q->segs[k];

		/* Stop at the first failure: deleting a later one first would break
		 * the oldest-first invariant (see the top of this file). */
		if (snc_segdir_unlink(&q->dir, s->num) != SNC_OK || snc_segdir_sync(&q->dir) != SNC_OK)
			break;
		close(s->fd);
		q->st.disk_bytes -= s->size;
		q->st.segments_deleted++;
		k++;
	}
	if (k > 0) {
		memmove(q->segs, q->segs + k, (q->nsegs - k) * sizeof *q->segs);
		q->nsegs -= k;
	}
}

/* Reads the raw record of e into *buf, grown as needed. */
int snc_qstore_read(struct snc_queue *q, const struct entry *e, uint8_t **buf, size_t *cap)
{
	struct segment *s = snc_qstore_seg(q, e->seg);

	assert(s != NULL);
	if (snc_qstore_grow(buf, cap, e->size) != SNC_OK)
		return snc_qstore_nomem(q);
	return snc_segdir_read_at(&q->dir, s->fd, s->num, e->off, *buf, e->size);
}

/* Appends e's MARK record (when it has one) to the segment being compacted. */
static int copy_mark(struct snc_queue *q, const struct entry *e, int fd, uint64_t num,
                     uint64_t *size)
{
	uint8_t id[2] = { (uint8_t)(e->msg_id >> 8), (uint8_t)e->msg_id };
	uint8_t rec[MQTTSN_RECORD_OVERHEAD + 2];
	struct mqttsn_record r = { .type = REC_MARK, .flags = e->mark, .seq = e->seq,
	                           .payload = { id, 2 } };
	int n;

	if (e->mark == SNC_CLAIM_NONE)
		return SNC_OK;
	n = mqttsn_record_encode(rec, sizeof rec, &r);
	assert(n == (int)sizeof rec);
	(void)n;
	return snc_segdir_append(&q->dir, fd, num, size, rec, sizeof rec);
}

/*
 * Rewrites every live message into one new segment and deletes the old
 * ones. Until the rename the old files are the truth; after it the new one
 * is, and leftovers of the old (a crash while deleting) only repeat
 * messages the new one also has, which recovery skips by sequence number.
 */
static int compact(struct snc_queue *q)
{
	uint64_t num = active(q)->num + 1, size = 0, *offs;
	uint8_t hdr[MQTTSN_RECORD_OVERHEAD + OWNER_RECORD_MAX];
	size_t k = 0;
	int fd, rc;

	offs = malloc((q->st.count ? q->st.count : 1) * sizeof *offs);
	if (offs == NULL)
		return snc_qstore_nomem(q);
	rc = snc_qstore_sync(q);
	if (rc == SNC_OK)
		rc = snc_segdir_open_tmp(&q->dir, &fd);
	if (rc != SNC_OK) {
		free(offs);
		return rc;
	}
	rc = snc_segdir_append(&q->dir, fd, num, &size, hdr, first_records(q, hdr));
	for (unsigned p = 0; rc == SNC_OK && p < SNC_PRIO_LEVELS; p++) {
		for (size_t i = 0; rc == SNC_OK && i < q->lanes[p].n; i++) {
			offs[k++] = size;
			/* Through wbuf: rbuf may hold what the caller just peeked. */
			rc = snc_qstore_read(q, &q->lanes[p].v[i], &q->wbuf, &q->wcap);
			if (rc == SNC_OK)
				rc = snc_segdir_append(&q->dir, fd, num, &size, q->wbuf, q->lanes[p].v[i].size);
			if (rc == SNC_OK)
				rc = copy_mark(q, &q->lanes[p].v[i], fd, num, &size);
		}
	}
	if (rc == SNC_OK)
		rc = snc_segdir_fsync(&q->dir, fd, num);
	if (rc == SNC_OK)
		rc = snc_segdir_commit_tmp(&q->dir, num);
	if (rc == SNC_OK)
		rc = seg_add(q, num, fd, size);
	if (rc != SNC_OK) {
		close(fd);
		snc_segdir_drop_tmp(&q->dir);
		free(offs);
		return rc;
	}

	/* The new segment is the truth now: move the index onto it. */
	for (size_t j = 0; j + 1 < q->nsegs; j++) {
		q->segs[j].live_bytes = 0;
		q->segs[j].live_count = 0;
	}
	k = 0;
	for (unsigned p = 0; p < SNC_PRIO_LEVELS; p++) {
		for (size_t i = 0; i < q->lanes[p].n; i++) {
			struct entry *e = &q->lanes[p].v[i];

			e->seg = num;
			e->off = offs[k++];
			active(q)->live_bytes += e->size;
			active(q)->live_count++;
		}
	}
	free(offs);
	q->st.compactions++;
	drop_dead_segments(q);
	return SNC_OK;
}

/* After anything that retired messages: free what can be freed. A failure
 * here costs disk space, not correctness, so it is only reported. */
void snc_qstore_housekeep(struct snc_queue *q)
{
	uint64_t dead;

	drop_dead_segments(q);
	dead = q->st.disk_bytes - q->st.bytes;
	if (dead >= q->cfg.compact_min_bytes && dead > q->st.bytes)
		(void)compact(q);
}

/* ---------------------------------------------------------------- recovery */

static void note_seq(struct snc_queue *q, uint64_t next)
{
	if (next > q->next_seq)
		q->next_seq = next;
}

/* Applies one good record of segment num found at off. */
static int replay(struct snc_queue *q, uint64_t num, size_t off, const struct mqttsn_record *r)
{
	struct snc_message m;
	struct entry e;
	unsigned lane;
	size_t idx;

	switch (r->type) {
	case REC_SEGMENT:
		note_seq(q, r->seq);
		return SNC_OK;
	case REC_ACK:
		note_seq(q, r->seq + 1);
		if (snc_qindex_find(q, r->seq, &lane, &idx))
			snc_qindex_remove(q, lane, idx);
		return SNC_OK;
	case REC_MESSAGE:
		note_seq(q, r->seq + 1);
		/* A copy left by an interrupted compaction: the first one stands. */
		if (snc_qindex_find(q, r->seq, &lane, &idx))
			return SNC_OK;
		if (snc_message_load(r->payload.ptr, r->payload.len, &m) != SNC_OK) {
			q->st.damaged++;
			return SNC_OK;
		}
		memset(&e, 0, sizeof e);
		e.seq = r->seq;
		e.expire_at = snc_qindex_expiry(m.enqueued_ms, m.ttl_s);
		e.seg = num;
		e.off = off;
		e.size = (uint32_t)mqttsn_record_size(r->payload.len);
		e.qos2 = m.qos == 2;
		return snc_qindex_add(q, m.priority, &e);
	case REC_MARK:
		if (r->payload.len != 2 || r->flags < SNC_CLAIM_SENT || r->flags > SNC_CLAIM_PUBREL) {
			q->st.damaged++;
			return SNC_OK;
		}
		/* The mark of a message already gone (acknowledged) means nothing. */
		if (!snc_qindex_find(q, r->seq, &lane, &idx))
			return SNC_OK;
		return snc_qindex_set_mark(q, lane, idx, r->flags,
		                           (uint16_t)(r->payload.ptr[0] << 8 | r->payload.ptr[1]));
	case REC_OWNER:
		note_seq(q, r->seq);
		if (r->payload.len == 0 || r->payload.len > OWNER_MAX ||
		    memchr(r->payload.ptr, '\0', r->payload.len) != NULL) {
			q->st.damaged++;
			return SNC_OK;
		}
		memcpy(q->owner, r->payload.ptr, r->payload.len);
		q->owner[r->payload.len] = '\0';
		return SNC_OK;
	default:
		q->st.damaged++;
		return SNC_OK;
	}
}

/* Opens, scans and replays segment num, cutting a bad tail. */
static int recover_segment(struct snc_queue *q, uint64_t num)
{
	struct mqttsn_record_scan s;
	struct mqttsn_record r;
	uint8_t *buf;
	size_t len, off;
	int fd, rc;

	rc = snc_segdir_open_seg(&q->dir, num, 0, &fd);
	if (rc != SNC_OK)
		return rc;
	rc = snc_segdir_read_all(&q->dir, fd, num, &buf, &len);
	if (rc != SNC_OK) {
		close(fd);
		return rc;
	}
	mqttsn_record_scan_init(&s, buf, len);
	/* The segment joins first so that index_add can account to it. */
	rc = seg_add(q, num, fd, 0);
	if (rc != SNC_OK) {
		close(fd);
		free(buf);
		return rc;
	}
	while (rc == SNC_OK && mqttsn_record_scan_next(&s, &r, &off))
		rc = replay(q, num, off, &r);
	if (rc == SNC_OK && s.err != MQTTSN_OK) {
		q->st.torn_bytes += len - s.good;
		if (s.err != MQTTSN_RECORD_ERR_TORN)
			q->st.damaged++;
		rc = snc_segdir_truncate(&q->dir, fd, num, s.good);
	}
	free(buf);
	q->segs[q->nsegs - 1].size = s.good;
	q->st.disk_bytes += s.good;
	return rc;
}

int snc_qstore_recover(struct snc_queue *q)
{
	uint64_t *nums;
	size_t n;
	int rc = snc_segdir_list(&q->dir, &nums, &n);

	if (rc != SNC_OK)
		return rc;
	for (size_t i = 0; rc == SNC_OK && i < n; i++)
		rc = recover_segment(q, nums[i]);
	free(nums);
	if (rc != SNC_OK)
		return rc;
	q->st.recovered = q->st.count;
	if (q->nsegs == 0 || active(q)->size >= q->cfg.segment_bytes)
		rc = seg_create(q);
	if (rc == SNC_OK)
		snc_qstore_housekeep(q);
	return rc;
}
