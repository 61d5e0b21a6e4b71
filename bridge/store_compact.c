/*
 * store_compact.c - incremental compaction of the custody store.
 *
 * A pass empties the oldest segment: each step reads a slice of it, asks
 * the index which of its records are still the live copy of something
 * (a message, a done message's held msg id, a message's PUBREC mark, the
 * latest session) and
 * appends those to the active segment, moving the index along. When the
 * slice reaches the end, drop_dead fsyncs the copies and deletes the file.
 * Between steps the loop runs on: whatever changes meanwhile is seen by
 * the next step, because liveness is "the index points at this record".
 */
#include <assert.h>
#include <string.h>

#include "bridge/store_int.h"

bool gw_scmp_wanted(const struct gw_store *s)
{
	uint64_t dead;

	if (s->cp.active)
		return true;
	if (s->cp.stuck || s->nsegs < 2)
		return false;
	if (s->segs[0].live_count == 0)
		return true;
	dead = s->stats.disk_bytes - s->stats.live_bytes;
	return dead >= s->cfg.compact_min_bytes && dead > s->stats.live_bytes;
}

/* Moves the accounting of size octets from (seg, off) to the new place. */
static void moved(struct gw_store *s, uint32_t *seg, uint32_t *off, uint32_t *size,
                  uint32_t nseg, uint32_t noff, uint32_t nsize)
{
	gw_sidx_dead(s, *seg, *size);
	gw_sidx_live(s, nseg, nsize);
	*seg = nseg;
	*off = noff;
	*size = nsize;
	s->stats.compact_copied++;
}

/* A live message record: copied, with its held flag brought up to date. */
static int copy_msg(struct gw_store *s, struct station *st, struct entry *e,
                    const struct mqttsn_record *r, const uint8_t *raw)
{
	struct hold *h = gw_sidx_hold_seq(st, e->seq);
	uint8_t flags = (uint8_t)((r->flags & ~FL_HELD) | (h != NULL ? FL_HELD : 0));
	uint32_t seg, off, size = e->size;
	int rc;

	if (flags == r->flags) {
		rc = gw_slog_append_buf(s, raw, e->size, &seg, &off);
	} else {
		int n = gw_slog_encode(s, r->type, flags, r->seq, r->payload.ptr, r->payload.len);

		if (n < 0)
			return n;
		rc = gw_slog_append_buf(s, s->wbuf, (size_t)n, &seg, &off);
	}
	if (rc != GW_STORE_OK)
		return rc;
	moved(s, &e->seg, &e->off, &e->size, seg, off, size);
	if (h != NULL) {
		h->seg = seg;
		h->off = off;
	}
	return GW_STORE_OK;
}

/* A done message's held msg id: a HOLD record in place of the message. */
static int write_hold(struct gw_store *s, struct station *st, struct hold *h)
{
	uint8_t id[2] = { (uint8_t)(h->msg_id >> 8), (uint8_t)h->msg_id };
	size_t psize = gw_sfmt_id_size(st->idlen, 2);
	uint8_t *p = gw_slog_scratch(s, psize);
	uint32_t seg, off;
	int n, rc;

	if (p == NULL)
		return GW_STORE_ERR_NOMEM;
	gw_sfmt_id_put(p, st->id, st->idlen, id, 2);
	n = gw_slog_encode(s, REC_HOLD, 0, h->seq, p, psize);
	if (n < 0)
		return n;
	rc = gw_slog_append_buf(s, s->wbuf, (size_t)n, &seg, &off);
	if (rc == GW_STORE_OK)
		moved(s, &h->seg, &h->off, &h->size, seg, off, (uint32_t)n);
	return rc;
}

/* Copies the record r (raw, at segment num, offset off) when it is live. */
static int process(struct gw_store *s, uint32_t num, uint32_t off, const struct mqttsn_record *r,
                   const uint8_t *raw)
{
	const char *id;
	const uint8_t *rest;
	size_t idlen, n;
	struct station *st;
	struct msg_view v;
	uint32_t seg, noff;
	int rc;

	if (r->type == REC_UP || r->type == REC_DOWN) {
		int d = r->type == REC_UP ? GW_STORE_UP : GW_STORE_DOWN;
		struct entry *e;
		struct hold *h;

		if (!gw_sfmt_msg_get(r->payload.ptr, r->payload.len, &v) ||
		    (st = gw_sidx_find(s, v.id, v.idlen)) == NULL)
			return GW_STORE_OK;
		e = gw_sidx_lookup(&st->dir[d], r->seq);
		if (e != NULL && e->seg == num && e->off == off)
			return copy_msg(s, st, e, r, raw);
		h = d == GW_STORE_UP ? gw_sidx_hold_seq(st, r->seq) : NULL;
		if (h != NULL && h->done && h->seg == num && h->off == off)
			return write_hold(s, st, h);
		return GW_STORE_OK;
	}
	if (r->type != REC_HOLD && r->type != REC_SESSION && r->type != REC_MARK)
		return GW_STORE_OK;
	if (!gw_sfmt_id_get(r->payload.ptr, r->payload.len, &id, &idlen, &rest, &n) ||
	    (st = gw_sidx_find(s, id, idlen)) == NULL)
		return GW_STORE_OK;
	if (r->type == REC_MARK) {
		struct mark *k = gw_sidx_mark(st, r->seq);

		/* Only the mark's own record: an older or clearing one is dead. */
		if (k == NULL || k->seg != num || k->off != off)
			return GW_STORE_OK;
		rc = gw_slog_append_buf(s, raw, k->size, &seg, &noff);
		if (rc == GW_STORE_OK)
			moved(s, &k->seg, &k->off, &k->size, seg, noff, k->size);
		return rc;
	}
	if (r->type == REC_HOLD) {
		struct hold *h = gw_sidx_hold_seq(st, r->seq);

		if (h == NULL || !h->done || h->seg != num || h->off != off)
			return GW_STORE_OK;
		rc = gw_slog_append_buf(s, raw, h->size, &seg, &noff);
		if (rc == GW_STORE_OK)
			moved(s, &h->seg, &h->off, &h->size, seg, noff, h->size);
		return rc;
	}
	if (!st->has_session || st->sess_seg != num || st->sess_off != off)
		return GW_STORE_OK;
	rc = gw_slog_append_buf(s, raw, st->sess_size, &seg, &noff);
	if (rc == GW_STORE_OK)
		moved(s, &st->sess_seg, &st->sess_off, &st->sess_size, seg, noff, st->sess_size);
	return rc;
}

/* The octets the record at buf needs, from its header (0: not yet known). */
static size_t need_of(const uint8_t *buf, size_t len)
{
	if (len < MQTTSN_RECORD_HEADER)
		return MQTTSN_RECORD_HEADER;
	return mqttsn_record_size((size_t)buf[3] << 24 | (size_t)buf[4] << 16 |
	                          (size_t)buf[5] << 8 | buf[6]);
}

/* Reads len octets of segment g at the pass's cursor into s->cbuf. */
static int read_slice(struct gw_store *s, const struct segment *g, size_t len)
{
	if (gw_slog_grow(&s->cbuf, &s->ccap, len) != GW_STORE_OK)
		return gw_slog_nomem(s);
	if (snc_segdir_read_at(&s->dir, g->fd, g->num, s->cp.cursor, s->cbuf, len) != SNC_OK)
		return GW_STORE_ERR_IO;
	return GW_STORE_OK;
}

/* One slice of the pass: returns GW_STORE_OK or an error. */
static int slice(struct gw_store *s, const struct segment *g)
{
	size_t len = s->cfg.compact_step_bytes, pos = 0;
	struct mqttsn_record r;
	int rc;

	if (len > g->size - s->cp.cursor)
		len = (size_t)(g->size - s->cp.cursor);
	rc = read_slice(s, g, len);
	if (rc != GW_STORE_OK)
		return rc;
	/* Bounded: every turn moves pos on by a whole record, or leaves. */
	while (pos < len) {
		int k = mqttsn_record_decode(s->cbuf + pos, len - pos, &r);

		if (k == MQTTSN_RECORD_ERR_TORN && pos == 0) {
			/* A record larger than a slice: read the whole of it. */
			size_t need = need_of(s->cbuf, len);

			if (need > g->size - s->cp.cursor || need > MQTTSN_RECORD_OVERHEAD +
			                                                (size_t)MQTTSN_RECORD_PAYLOAD_MAX)
				k = MQTTSN_RECORD_ERR_LENGTH;
			else if ((rc = read_slice(s, g, need)) != GW_STORE_OK)
				return rc;
			else {
				len = need;
				continue;
			}
		}
		if (k == MQTTSN_RECORD_ERR_TORN)
			break;
		if (k < 0) {
			/* Recovery left only good records; this one changed since. */
			s->cp.stuck = true;
			s->cp.active = false;
			s->stats.damaged++;
			gw_slog_say(s, "segment %llu: record at %llu damaged: compaction stopped",
			            (unsigned long long)g->num,
			            (unsigned long long)(s->cp.cursor + pos));
			return GW_STORE_ERR_CORRUPT;
		}
		rc = process(s, (uint32_t)g->num, (uint32_t)(s->cp.cursor + pos), &r, s->cbuf + pos);
		if (rc != GW_STORE_OK)
			break;
		pos += (size_t)k;
	}
	s->cp.cursor += pos;
	return rc;
}

int gw_store_compact_step(struct gw_store *s)
{
	struct segment *g;
	int rc;

	assert(s != NULL);
	if (!s->cp.active) {
		if (!gw_scmp_wanted(s))
			return 0;
		gw_slog_drop_dead(s);
		if (!gw_scmp_wanted(s))
			return 0;
		if (s->segs[0].live_count == 0)
			return GW_STORE_ERR_IO; /* drop_dead could not delete it */
		s->cp.active = true;
		s->cp.num = s->segs[0].num;
		s->cp.cursor = 0;
	}
	g = gw_slog_seg(s, s->cp.num);
	if (g == NULL || g == &s->segs[s->nsegs - 1]) {
		s->cp.active = false;
		return gw_scmp_wanted(s) ? 1 : 0;
	}
	if (s->cp.cursor < g->size && g->live_count > 0) {
		rc = slice(s, g);
		if (rc != GW_STORE_OK)
			return rc;
		if (s->cp.cursor < g->size && g->live_count > 0)
			return 1;
	}
	/* Everything live is copied: make the copies durable, delete the file. */
	gw_slog_drop_dead(s);
	if (gw_slog_seg(s, s->cp.num) != NULL)
		return GW_STORE_ERR_IO;
	s->cp.active = false;
	s->stats.compactions++;
	return gw_scmp_wanted(s) ? 1 : 0;
}
