/*
 * store_recover.c - opening the custody store: every segment is read
 * oldest first and its records collected; a torn or damaged tail is cut.
 * Then, once per station, the messages are sorted by seq, a copy made by
 * compaction replaces the earlier one, and what a DONE record removed is
 * left out; the holds and the broker's PUBREC marks are settled the same
 * way. Sorting once is what keeps
 * a million messages with compaction's out-of-order copies at n log n.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge/store_int.h"

/* A QoS 2 uplink record met: the message's or a HOLD record. */
struct cand {
	uint64_t seq;
	uint32_t st, seg, off, size;
	uint16_t msg_id;
	bool held;
};

struct u64v {
	uint64_t *v;
	size_t n, cap;
};

struct candv {
	struct cand *v;
	size_t n, cap;
};

/* A MARK record met. */
struct mcand {
	uint64_t seq;
	uint32_t st, seg, off, size;
	uint16_t mid;
};

struct mcandv {
	struct mcand *v;
	size_t n, cap;
};

struct replay {
	struct u64v dones, rels;
	struct candv cands;
	struct mcandv marks;
};

/* ---------------------------------------------------------------- vectors */

static int u64_push(struct u64v *a, uint64_t x)
{
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 256;
		uint64_t *v = realloc(a->v, ncap * sizeof *v);

		if (v == NULL)
			return GW_STORE_ERR_NOMEM;
		a->v = v;
		a->cap = ncap;
	}
	a->v[a->n++] = x;
	return GW_STORE_OK;
}

static int cand_push(struct candv *a, const struct cand *c)
{
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 64;
		struct cand *v = realloc(a->v, ncap * sizeof *v);

		if (v == NULL)
			return GW_STORE_ERR_NOMEM;
		a->v = v;
		a->cap = ncap;
	}
	a->v[a->n++] = *c;
	return GW_STORE_OK;
}

static int mcand_push(struct mcandv *a, const struct mcand *c)
{
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 64;
		struct mcand *v = realloc(a->v, ncap * sizeof *v);

		if (v == NULL)
			return GW_STORE_ERR_NOMEM;
		a->v = v;
		a->cap = ncap;
	}
	a->v[a->n++] = *c;
	return GW_STORE_OK;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool has(const struct u64v *a, uint64_t x)
{
	return a->n > 0 && bsearch(&x, a->v, a->n, sizeof *a->v, cmp_u64) != NULL;
}

/* ---------------------------------------------------------------- replay */

static void note_seq(struct gw_store *s, uint64_t next)
{
	if (next > s->next_seq)
		s->next_seq = next;
}

static int station_of(struct gw_store *s, const char *id, size_t n, uint32_t *num)
{
	struct station *st = gw_sidx_get(s, id, n);

	if (st == NULL)
		return gw_slog_nomem(s);
	*num = (uint32_t)(st - s->st);
	return GW_STORE_OK;
}

static int replay_msg(struct gw_store *s, struct replay *rp, uint32_t seg, uint32_t off,
                      const struct mqttsn_record *r)
{
	int d = r->type == REC_UP ? GW_STORE_UP : GW_STORE_DOWN;
	unsigned qos = r->flags & FL_QOS_MASK;
	struct msg_view m;
	struct entry e;
	uint32_t num = 0;
	int rc;

	if (!gw_sfmt_msg_get(r->payload.ptr, r->payload.len, &m) || qos == 3 ||
	    (d == GW_STORE_UP && qos == 0)) {
		s->stats.damaged++;
		return GW_STORE_OK;
	}
	note_seq(s, r->seq + 1);
	rc = station_of(s, m.id, m.idlen, &num);
	if (rc != GW_STORE_OK)
		return rc;
	memset(&e, 0, sizeof e);
	e.seq = r->seq;
	e.seg = seg;
	e.off = off;
	e.size = (uint32_t)mqttsn_record_size(r->payload.len);
	e.expire_s = gw_smsg_expiry(m.received_ms, m.ttl_s);
	e.msg_id = d == GW_STORE_UP ? m.msg_id : 0;
	e.flags = (uint8_t)(r->flags & (FL_QOS_MASK | FL_RETAIN));
	if (gw_sidx_append(&s->st[num].dir[d], &e) != GW_STORE_OK)
		return gw_slog_nomem(s);
	if (d == GW_STORE_UP && qos == 2) {
		struct cand c = { .seq = r->seq, .st = num, .seg = seg, .off = off, .size = e.size,
		                  .msg_id = m.msg_id, .held = (r->flags & FL_HELD) != 0 };

		if (cand_push(&rp->cands, &c) != GW_STORE_OK)
			return gw_slog_nomem(s);
	}
	return GW_STORE_OK;
}

static int replay_other(struct gw_store *s, struct replay *rp, uint32_t seg, uint32_t off,
                        const struct mqttsn_record *r)
{
	const char *id;
	const uint8_t *rest;
	size_t idlen, n;
	uint32_t num = 0;
	int rc;

	if (!gw_sfmt_id_get(r->payload.ptr, r->payload.len, &id, &idlen, &rest, &n) ||
	    ((r->type == REC_HOLD || r->type == REC_RELEASE || r->type == REC_MARK) && n != 2)) {
		s->stats.damaged++;
		return GW_STORE_OK;
	}
	switch (r->type) {
	case REC_UP_DONE:
	case REC_DOWN_DONE:
	case REC_RELEASE:
		note_seq(s, r->seq + 1);
		rc = u64_push(r->type == REC_RELEASE ? &rp->rels : &rp->dones, r->seq);
		return rc == GW_STORE_OK ? rc : gw_slog_nomem(s);
	case REC_HOLD: {
		struct cand c = { .seq = r->seq, .seg = seg, .off = off,
		                  .size = (uint32_t)mqttsn_record_size(r->payload.len),
		                  .msg_id = (uint16_t)(rest[0] << 8 | rest[1]), .held = true };

		note_seq(s, r->seq + 1);
		rc = station_of(s, id, idlen, &c.st);
		if (rc == GW_STORE_OK && cand_push(&rp->cands, &c) != GW_STORE_OK)
			rc = gw_slog_nomem(s);
		return rc;
	}
	case REC_MARK: {
		struct mcand m = { .seq = r->seq, .seg = seg, .off = off,
		                   .size = (uint32_t)mqttsn_record_size(r->payload.len),
		                   .mid = (uint16_t)(rest[0] << 8 | rest[1]) };

		note_seq(s, r->seq + 1);
		rc = station_of(s, id, idlen, &m.st);
		if (rc == GW_STORE_OK && mcand_push(&rp->marks, &m) != GW_STORE_OK)
			rc = gw_slog_nomem(s);
		return rc;
	}
	case REC_SESSION:
		note_seq(s, r->seq);
		rc = station_of(s, id, idlen, &num);
		if (rc != GW_STORE_OK)
			return rc;
		s->st[num].has_session = true;
		s->st[num].sess_seg = seg;
		s->st[num].sess_off = off;
		s->st[num].sess_size = (uint32_t)mqttsn_record_size(r->payload.len);
		return GW_STORE_OK;
	default: { /* REC_SESSION_DEL */
		struct station *st = gw_sidx_find(s, id, idlen);

		note_seq(s, r->seq);
		if (st != NULL)
			st->has_session = false;
		return GW_STORE_OK;
	}
	}
}

static int replay(struct gw_store *s, struct replay *rp, uint32_t seg, uint32_t off,
                  const struct mqttsn_record *r)
{
	switch (r->type) {
	case REC_SEGMENT:
		note_seq(s, r->seq);
		return GW_STORE_OK;
	case REC_UP:
	case REC_DOWN:
		return replay_msg(s, rp, seg, off, r);
	case REC_UP_DONE:
	case REC_DOWN_DONE:
	case REC_HOLD:
	case REC_RELEASE:
	case REC_SESSION:
	case REC_SESSION_DEL:
	case REC_MARK:
		return replay_other(s, rp, seg, off, r);
	default:
		s->stats.damaged++;
		return GW_STORE_OK;
	}
}

/* Opens, scans and replays segment num, cutting a bad tail. */
static int recover_segment(struct gw_store *s, struct replay *rp, uint64_t num)
{
	struct mqttsn_record_scan sc;
	struct mqttsn_record r;
	uint8_t *buf;
	size_t len, off;
	int fd, rc;

	if (num > UINT32_MAX) {
		gw_slog_say(s, "segment number %llu out of range", (unsigned long long)num);
		return GW_STORE_ERR_CORRUPT;
	}
	if (snc_segdir_open_seg(&s->dir, num, 0, &fd) != SNC_OK)
		return GW_STORE_ERR_IO;
	rc = snc_segdir_read_all(&s->dir, fd, num, &buf, &len);
	if (rc != SNC_OK) {
		close(fd);
		return rc == SNC_ERR_NOMEM ? GW_STORE_ERR_NOMEM : GW_STORE_ERR_IO;
	}
	if (len > UINT32_MAX) {
		free(buf);
		close(fd);
		gw_slog_say(s, "segment %llu over 4 GiB", (unsigned long long)num);
		return GW_STORE_ERR_CORRUPT;
	}
	rc = gw_slog_seg_add(s, num, fd, 0);
	if (rc != GW_STORE_OK) {
		free(buf);
		close(fd);
		return rc;
	}
	mqttsn_record_scan_init(&sc, buf, len);
	while (rc == GW_STORE_OK && mqttsn_record_scan_next(&sc, &r, &off))
		rc = replay(s, rp, (uint32_t)num, (uint32_t)off, &r);
	if (rc == GW_STORE_OK && sc.err != MQTTSN_OK) {
		s->stats.torn_records++;
		s->stats.torn_bytes += len - sc.good;
		if (snc_segdir_truncate(&s->dir, fd, num, sc.good) != SNC_OK)
			rc = GW_STORE_ERR_IO;
	}
	free(buf);
	s->segs[s->nsegs - 1].size = sc.good;
	s->stats.disk_bytes += sc.good;
	return rc;
}

/* ---------------------------------------------------------------- settling */

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->seg != y->seg)
		return x->seg < y->seg ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sort f, keep the latest copy of each message and drop the done ones. */
static void settle_fifo(struct fifo *f, const struct u64v *dones)
{
	uint32_t w = 0;
	bool sorted = true;

	for (uint32_t i = 1; i < f->n && sorted; i++)
		sorted = f->v[i - 1].seq <= f->v[i].seq;
	/* Replay order puts a later copy after an earlier one, so the order by
	 * (seq, seg, off) keeps the latest copy last in its run. */
	if (!sorted)
		qsort(f->v, f->n, sizeof *f->v, cmp_entry);
	for (uint32_t i = 0; i < f->n; i++) {
		if (i + 1 < f->n && f->v[i + 1].seq == f->v[i].seq)
			continue;
		if (has(dones, f->v[i].seq))
			continue;
		f->v[w++] = f->v[i];
	}
	f->n = w;
	f->head = 0;
}

static int cmp_cand_seq(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->seg != y->seg)
		return x->seg < y->seg ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int cmp_cand_id(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->st != y->st)
		return x->st < y->st ? -1 : 1;
	if (x->msg_id != y->msg_id)
		return x->msg_id < y->msg_id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The holds: the latest record of each QoS 2 message says whether its msg
 * id is held, a RELEASE ends it, and of two holds of one msg id the newer
 * message's stands (the station reused the id, so the older was over).
 */
static int settle_holds(struct gw_store *s, struct replay *rp)
{
	struct candv *c = &rp->cands;
	size_t w = 0;

	if (c->n == 0)
		return GW_STORE_OK;
	qsort(c->v, c->n, sizeof *c->v, cmp_cand_seq);
	for (size_t i = 0; i < c->n; i++) {
		if (i + 1 < c->n && c->v[i + 1].seq == c->v[i].seq)
			continue;
		if (c->v[i].held && !has(&rp->rels, c->v[i].seq))
			c->v[w++] = c->v[i];
	}
	c->n = w;
	if (w > 1)
		qsort(c->v, c->n, sizeof *c->v, cmp_cand_id);
	for (size_t i = 0; i < c->n; i++) {
		const struct cand *k = &c->v[i];
		struct station *st = &s->st[k->st];
		struct entry *e = gw_sidx_lookup(&st->dir[GW_STORE_UP], k->seq);
		struct hold h = { .seq = k->seq, .seg = k->seg, .off = k->off, .size = k->size,
		                  .msg_id = k->msg_id, .done = e == NULL };

		if (i + 1 < c->n && c->v[i + 1].st == k->st && c->v[i + 1].msg_id == k->msg_id)
			continue;
		if (e != NULL) {
			h.seg = e->seg;
			h.off = e->off;
			h.size = e->size;
		}
		if (gw_sidx_hold_room(st) != GW_STORE_OK)
			return gw_slog_nomem(s);
		gw_sidx_hold_add(s, st, &h);
	}
	return GW_STORE_OK;
}

static int cmp_mcand(const void *a, const void *b)
{
	const struct mcand *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->seg != y->seg)
		return x->seg < y->seg ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * The marks: of the MARK records of one message the last written stands
 * (position in the log is write order, store_int.h); one that clears
 * (packet id 0), or whose message is done or gone, leaves no mark.
 */
static int settle_marks(struct gw_store *s, struct replay *rp)
{
	struct mcandv *c = &rp->marks;

	if (c->n > 1)
		qsort(c->v, c->n, sizeof *c->v, cmp_mcand);
	for (size_t i = 0; i < c->n; i++) {
		const struct mcand *k = &c->v[i];
		struct station *st = &s->st[k->st];
		struct entry *e;

		if ((i + 1 < c->n && c->v[i + 1].seq == k->seq) || k->mid == 0)
			continue;
		e = gw_sidx_lookup(&st->dir[GW_STORE_UP], k->seq);
		if (e == NULL || (e->flags & FL_QOS_MASK) != 2)
			continue;
		if (gw_sidx_mark_room(st) != GW_STORE_OK)
			return gw_slog_nomem(s);
		gw_sidx_mark_add(s, st, &(struct mark){ .seq = k->seq, .seg = k->seg, .off = k->off,
		                                         .size = k->size, .mid = k->mid });
	}
	return GW_STORE_OK;
}

int gw_srec_recover(struct gw_store *s)
{
	struct replay rp;
	uint64_t *nums;
	size_t n;
	int rc;

	memset(&rp, 0, sizeof rp);
	if (snc_segdir_list(&s->dir, &nums, &n) != SNC_OK)
		return GW_STORE_ERR_IO;
	rc = GW_STORE_OK;
	for (size_t i = 0; rc == GW_STORE_OK && i < n; i++)
		rc = recover_segment(s, &rp, nums[i]);
	free(nums);
	if (rc == GW_STORE_OK) {
		if (rp.dones.n > 1)
			qsort(rp.dones.v, rp.dones.n, sizeof *rp.dones.v, cmp_u64);
		if (rp.rels.n > 1)
			qsort(rp.rels.v, rp.rels.n, sizeof *rp.rels.v, cmp_u64);
		for (uint32_t k = 0; k < s->nst; k++) {
			for (int d = 0; d < 2; d++) {
				settle_fifo(&s->st[k].dir[d], &rp.dones);
				gw_sidx_account(s, &s->st[k].dir[d], d);
			}
			if (s->st[k].has_session) {
				gw_sidx_live(s, s->st[k].sess_seg, s->st[k].sess_size);
				s->stats.sessions++;
			}
		}
		rc = settle_holds(s, &rp);
		if (rc == GW_STORE_OK)
			rc = settle_marks(s, &rp);
	}
	free(rp.dones.v);
	free(rp.rels.v);
	free(rp.cands.v);
	free(rp.marks.v);
	if (rc != GW_STORE_OK)
		return rc;
	s->stats.recovered_up = s->stats.up_msgs;
	s->stats.recovered_down = s->stats.down_msgs;
	s->stats.recovered_sessions = s->stats.sessions;
	s->stats.recovered_holds = s->stats.holds;
	s->stats.recovered_marks = s->stats.marks;
	if (s->nsegs == 0 || s->segs[s->nsegs - 1].size >= s->cfg.segment_bytes)
		rc = gw_slog_create(s);
	if (rc == GW_STORE_OK)
		gw_slog_drop_dead(s);
	return rc;
}
