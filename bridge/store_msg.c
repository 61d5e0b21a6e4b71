/*
 * store_msg.c - the custody store's API for messages both ways, QoS 2
 * holds, the broker's PUBREC marks and sessions (store.h): limits first, then the record, then the
 * index, so that an error leaves nothing half done.
 */
#include <assert.h>
#include <string.h>

#include "bridge/store_int.h"

/* ---------------------------------------------------------------- helpers */

uint32_t gw_smsg_expiry(uint64_t received_ms, uint32_t ttl_s)
{
	uint64_t e;

	if (ttl_s == 0)
		return 0;
	e = received_ms / 1000u + 1u + ttl_s;
	return e > UINT32_MAX ? UINT32_MAX : (uint32_t)e;
}

static bool expired(const struct entry *e, uint64_t now)
{
	return e->expire_s != 0 && now / 1000u >= e->expire_s;
}

/* The length of a valid client id, or 0. */
static size_t id_len(const char *id)
{
	size_t n;

	if (id == NULL)
		return 0;
	n = strnlen(id, GW_STORE_CLIENT_ID_MAX + 1);
	return n <= GW_STORE_CLIENT_ID_MAX ? n : 0;
}

static struct station *find(const struct gw_store *s, const char *id)
{
	size_t n = id_len(id);

	return n ? gw_sidx_find(s, id, n) : NULL;
}

static bool sync_always(const struct gw_store *s)
{
	return s->cfg.sync == GW_STORE_SYNC_ALWAYS;
}

/* Whether rsize more octets (replacing old) fit the store's limits. */
static int fits(struct gw_store *s, uint64_t rsize, uint64_t old)
{
	if ((s->cfg.max_bytes != 0 && s->stats.live_bytes - old + rsize > s->cfg.max_bytes) ||
	    (s->cfg.max_disk_bytes != 0 && s->stats.disk_bytes + rsize > s->cfg.max_disk_bytes)) {
		s->stats.refused_full++;
		gw_slog_say(s, "store full (%llu octets live, %llu on disk)",
		            (unsigned long long)s->stats.live_bytes,
		            (unsigned long long)s->stats.disk_bytes);
		return GW_STORE_ERR_FULL;
	}
	return GW_STORE_OK;
}

/* ---------------------------------------------------------------- put */

static int check_msg(const struct gw_store_msg *m, int d)
{
	if (m == NULL || id_len(m->client_id) == 0 || m->topic_len > 0xFFFFu ||
	    (m->topic_len > 0 && m->topic == NULL) || (m->payload_len > 0 && m->payload == NULL))
		return GW_STORE_ERR_INVALID;
	if (m->qos > 2 || (d == GW_STORE_UP && m->qos == 0))
		return GW_STORE_ERR_INVALID;
	if (d == GW_STORE_UP && m->qos == 2 && m->msg_id == 0)
		return GW_STORE_ERR_INVALID;
	return GW_STORE_OK;
}

static int station_limits(struct gw_store *s, const struct station *st, int d, uint64_t rsize)
{
	uint32_t msgs = d == GW_STORE_UP ? s->cfg.up_station_msgs : s->cfg.down_station_msgs;
	uint64_t bytes = d == GW_STORE_UP ? s->cfg.up_station_bytes : s->cfg.down_station_bytes;
	uint32_t count = st ? st->dir[d].count : 0;
	uint64_t have = st ? st->dir[d].bytes : 0;

	if ((msgs != 0 && count >= msgs) || (bytes != 0 && have + rsize > bytes)) {
		s->stats.refused_station++;
		gw_slog_say(s, "%s: station's %s limit reached (%u messages, %llu octets)",
		            st ? st->id : "?", d == GW_STORE_UP ? "uplink" : "downlink",
		            (unsigned)count, (unsigned long long)have);
		return GW_STORE_ERR_STATION_FULL;
	}
	return GW_STORE_OK;
}

static int put(struct gw_store *s, int d, struct gw_store_msg *m, uint64_t now)
{
	int rc = check_msg(m, d);
	size_t idlen, psize;
	uint64_t rsize;
	struct msg_view v;
	struct station *st;
	struct entry e;
	uint8_t *p, flags;
	bool hold;
	int n;

	if (rc != GW_STORE_OK)
		return rc;
	idlen = id_len(m->client_id);
	psize = gw_sfmt_msg_size(idlen, m->topic_len, m->payload_len);
	rsize = mqttsn_record_size(psize);
	if (psize > MQTTSN_RECORD_PAYLOAD_MAX || (s->cfg.max_bytes && rsize > s->cfg.max_bytes))
		return GW_STORE_ERR_TOO_BIG;
	rc = fits(s, rsize, 0);
	if (rc == GW_STORE_OK)
		rc = station_limits(s, gw_sidx_find(s, m->client_id, idlen), d, rsize);
	if (rc != GW_STORE_OK)
		return rc;
	/* Room in the index before the record: a record on disk that the
	 * index missed would come back after a restart as a stored message. */
	st = gw_sidx_get(s, m->client_id, idlen);
	hold = d == GW_STORE_UP && m->qos == 2;
	if (st == NULL || gw_sidx_reserve(&st->dir[d]) != GW_STORE_OK ||
	    (hold && gw_sidx_hold(st, m->msg_id) == NULL && gw_sidx_hold_room(st) != GW_STORE_OK))
		return gw_slog_nomem(s);
	if ((p = gw_slog_scratch(s, psize)) == NULL)
		return GW_STORE_ERR_NOMEM;
	v = (struct msg_view){ .id = m->client_id, .idlen = idlen, .received_ms = now,
	                       .ttl_s = m->ttl_s, .msg_id = hold ? m->msg_id : 0,
	                       .topic = m->topic, .topic_len = m->topic_len,
	                       .payload = m->payload, .payload_len = m->payload_len };
	gw_sfmt_msg_put(p, &v);
	flags = (uint8_t)(m->qos | (m->retain ? FL_RETAIN : 0) | (hold ? FL_HELD : 0));
	n = gw_slog_encode(s, d == GW_STORE_UP ? REC_UP : REC_DOWN, flags, s->next_seq, p, psize);
	if (n < 0)
		return n;
	memset(&e, 0, sizeof e);
	e.seq = s->next_seq;
	e.size = (uint32_t)n;
	e.expire_s = gw_smsg_expiry(now, m->ttl_s);
	e.msg_id = v.msg_id;
	e.flags = (uint8_t)(flags & (FL_QOS_MASK | FL_RETAIN));
	rc = gw_slog_append(s, (size_t)n, sync_always(s), &e.seg, &e.off);
	if (rc != GW_STORE_OK)
		return rc;
	rc = gw_sidx_push(s, st, d, &e);
	assert(rc == GW_STORE_OK);
	if (hold) {
		struct hold h = { .seq = e.seq, .seg = e.seg, .off = e.off, .size = e.size,
		                  .msg_id = m->msg_id, .done = false };
		struct hold *old = gw_sidx_hold(st, m->msg_id);

		/* The station reuses a msg id only after PUBCOMP: the old one is over. */
		if (old != NULL) {
			if (old->done)
				gw_sidx_dead(s, old->seg, old->size);
			*old = h;
		} else {
			gw_sidx_hold_add(s, st, &h);
		}
	}
	m->seq = s->next_seq++;
	m->received_ms = now;
	if (d == GW_STORE_UP)
		s->stats.put_up++;
	else
		s->stats.put_down++;
	return GW_STORE_OK;
}

int gw_store_up_put(struct gw_store *s, struct gw_store_msg *m, uint64_t now)
{
	assert(s != NULL);
	return put(s, GW_STORE_UP, m, now);
}

int gw_store_down_put(struct gw_store *s, struct gw_store_msg *m, uint64_t now)
{
	assert(s != NULL);
	return put(s, GW_STORE_DOWN, m, now);
}

/* ---------------------------------------------------------------- removing */

/*
 * Writes the DONE record of e and takes it out of the index. An uplink
 * message whose msg id is still held hands its record to the hold. The
 * index forgets the message even when the write fails: the caller is
 * told, and the record on disk can at worst bring it back after a
 * restart, a repeat and never a loss.
 */
static int retire(struct gw_store *s, struct station *st, int d, struct entry *e, uint8_t why)
{
	uint8_t *p = gw_slog_scratch(s, gw_sfmt_id_size(st->idlen, 0));
	bool sync = sync_always(s) && d == GW_STORE_UP && (e->flags & FL_QOS_MASK) == 2 &&
	            why == WHY_DONE;
	uint32_t seg, off;
	int n, rc = GW_STORE_ERR_NOMEM;

	if (p != NULL) {
		gw_sfmt_id_put(p, st->id, st->idlen, NULL, 0);
		n = gw_slog_encode(s, d == GW_STORE_UP ? REC_UP_DONE : REC_DOWN_DONE, why, e->seq, p,
		                   gw_sfmt_id_size(st->idlen, 0));
		rc = n < 0 ? n : gw_slog_append(s, (size_t)n, sync, &seg, &off);
	}
	if (d == GW_STORE_UP) {
		struct hold *h = gw_sidx_hold_seq(st, e->seq);
		struct mark *k = gw_sidx_mark(st, e->seq);

		if (h != NULL && !h->done) {
			h->done = true;
			gw_sidx_live(s, h->seg, h->size);
		}
		/* The DONE record ends the mark on replay too. */
		if (k != NULL)
			gw_sidx_mark_drop(s, st, k);
	}
	if (why == WHY_EXPIRED) {
		if (d == GW_STORE_UP)
			s->stats.expired_up++;
		else
			s->stats.expired_down++;
	} else if (why == WHY_DONE) {
		if (d == GW_STORE_UP)
			s->stats.done_up++;
		else
			s->stats.done_down++;
	} else {
		s->stats.damaged++;
	}
	gw_sidx_remove(s, st, d, e);
	return rc;
}

static int done(struct gw_store *s, int d, const char *id, uint64_t seq)
{
	struct station *st = find(s, id);
	struct entry *e = st ? gw_sidx_lookup(&st->dir[d], seq) : NULL;

	if (e == NULL)
		return GW_STORE_ERR_NOT_FOUND;
	return retire(s, st, d, e, WHY_DONE);
}

int gw_store_up_done(struct gw_store *s, const char *client_id, uint64_t seq)
{
	assert(s != NULL);
	return done(s, GW_STORE_UP, client_id, seq);
}

int gw_store_down_done(struct gw_store *s, const char *client_id, uint64_t seq)
{
	assert(s != NULL);
	return done(s, GW_STORE_DOWN, client_id, seq);
}

/* ---------------------------------------------------------------- peek */

static int peek(struct gw_store *s, int d, const char *id, uint64_t after, uint64_t now,
                struct gw_store_msg *out)
{
	struct station *st = find(s, id);
	struct mqttsn_record r;
	struct msg_view v;
	struct entry *e;
	int rc;

	assert(out != NULL);
	if (st == NULL)
		return GW_STORE_ERR_EMPTY;
	/* Each turn removes an entry, so this ends. */
	while ((e = gw_sidx_after(&st->dir[d], after)) != NULL) {
		if (expired(e, now)) {
			(void)retire(s, st, d, e, WHY_EXPIRED);
			continue;
		}
		rc = gw_slog_read(s, e->seg, e->off, e->size, &r);
		if (rc == GW_STORE_OK &&
		    (r.seq != e->seq || r.type != (d == GW_STORE_UP ? REC_UP : REC_DOWN) ||
		     !gw_sfmt_msg_get(r.payload.ptr, r.payload.len, &v))) {
			gw_slog_say(s, "message %llu damaged on disk", (unsigned long long)e->seq);
			rc = GW_STORE_ERR_CORRUPT;
		}
		if (rc == GW_STORE_ERR_CORRUPT) {
			/* It can never be sent, and would block the station's line. */
			(void)retire(s, st, d, e, WHY_DAMAGED);
			return rc;
		}
		if (rc != GW_STORE_OK)
			return rc;
		out->client_id = st->id;
		out->topic = v.topic;
		out->topic_len = v.topic_len;
		out->payload = v.payload;
		out->payload_len = v.payload_len;
		out->qos = (uint8_t)(r.flags & FL_QOS_MASK);
		out->retain = (r.flags & FL_RETAIN) != 0;
		out->msg_id = v.msg_id;
		out->ttl_s = v.ttl_s;
		out->received_ms = v.received_ms;
		out->seq = e->seq;
		out->broker_mid = 0;
		if (d == GW_STORE_UP && st->nmarks > 0) {
			struct mark *k = gw_sidx_mark(st, e->seq);

			out->broker_mid = k != NULL ? k->mid : 0;
		}
		return GW_STORE_OK;
	}
	return GW_STORE_ERR_EMPTY;
}

int gw_store_up_peek(struct gw_store *s, const char *client_id, uint64_t after, uint64_t now,
                     struct gw_store_msg *out)
{
	assert(s != NULL);
	return peek(s, GW_STORE_UP, client_id, after, now, out);
}

int gw_store_down_peek(struct gw_store *s, const char *client_id, uint64_t after, uint64_t now,
                       struct gw_store_msg *out)
{
	assert(s != NULL);
	return peek(s, GW_STORE_DOWN, client_id, after, now, out);
}

/* ---------------------------------------------------------------- holds */

bool gw_store_up_held(const struct gw_store *s, const char *client_id, uint16_t msg_id,
                      uint64_t *seq)
{
	struct station *st;
	struct hold *h;

	assert(s != NULL);
	st = find(s, client_id);
	h = st ? gw_sidx_hold(st, msg_id) : NULL;
	if (h != NULL && seq != NULL)
		*seq = h->seq;
	return h != NULL;
}

int gw_store_up_release(struct gw_store *s, const char *client_id, uint16_t msg_id)
{
	struct station *st;
	struct hold *h;
	uint8_t id[2] = { (uint8_t)(msg_id >> 8), (uint8_t)msg_id };
	uint32_t seg, off;
	uint8_t *p;
	int n, rc;

	assert(s != NULL);
	st = find(s, client_id);
	h = st ? gw_sidx_hold(st, msg_id) : NULL;
	if (h == NULL)
		return GW_STORE_ERR_NOT_FOUND;
	if ((p = gw_slog_scratch(s, gw_sfmt_id_size(st->idlen, 2))) == NULL)
		return GW_STORE_ERR_NOMEM;
	gw_sfmt_id_put(p, st->id, st->idlen, id, 2);
	n = gw_slog_encode(s, REC_RELEASE, 0, h->seq, p, gw_sfmt_id_size(st->idlen, 2));
	if (n < 0)
		return n;
	rc = gw_slog_append(s, (size_t)n, sync_always(s), &seg, &off);
	if (rc == GW_STORE_OK)
		gw_sidx_hold_drop(s, st, h);
	return rc;
}

/* ---------------------------------------------------------------- marks */

int gw_store_up_mark(struct gw_store *s, const char *client_id, uint64_t seq, uint16_t broker_mid)
{
	struct station *st;
	struct entry *e;
	struct mark *k;
	uint8_t mid[2] = { (uint8_t)(broker_mid >> 8), (uint8_t)broker_mid };
	size_t psize;
	uint32_t seg, off;
	uint8_t *p;
	int n, rc;

	assert(s != NULL);
	st = find(s, client_id);
	e = st ? gw_sidx_lookup(&st->dir[GW_STORE_UP], seq) : NULL;
	if (e == NULL)
		return GW_STORE_ERR_NOT_FOUND;
	if ((e->flags & FL_QOS_MASK) != 2)
		return GW_STORE_ERR_INVALID;
	k = gw_sidx_mark(st, seq);
	if (k != NULL ? k->mid == broker_mid : broker_mid == 0)
		return GW_STORE_OK;
	/* Room in the index before the record, as for a put. */
	if (k == NULL && gw_sidx_mark_room(st) != GW_STORE_OK)
		return gw_slog_nomem(s);
	psize = gw_sfmt_id_size(st->idlen, 2);
	if ((p = gw_slog_scratch(s, psize)) == NULL)
		return GW_STORE_ERR_NOMEM;
	gw_sfmt_id_put(p, st->id, st->idlen, mid, 2);
	n = gw_slog_encode(s, REC_MARK, 0, seq, p, psize);
	if (n < 0)
		return n;
	rc = gw_slog_append(s, (size_t)n, sync_always(s), &seg, &off);
	if (rc != GW_STORE_OK)
		return rc;
	if (broker_mid == 0) {
		/* A clearing record is dead at once, like a DONE record. */
		gw_sidx_mark_drop(s, st, k);
		return GW_STORE_OK;
	}
	if (k != NULL) {
		/* The message went out again under another id: the old one is over. */
		gw_sidx_dead(s, k->seg, k->size);
		gw_sidx_live(s, seg, (uint32_t)n);
		*k = (struct mark){ .seq = seq, .seg = seg, .off = off, .size = (uint32_t)n,
		                    .mid = broker_mid };
	} else {
		gw_sidx_mark_add(s, st, &(struct mark){ .seq = seq, .seg = seg, .off = off,
		                                         .size = (uint32_t)n, .mid = broker_mid });
	}
	s->stats.marked++;
	return GW_STORE_OK;
}

bool gw_store_up_mark_next(const struct gw_store *s, uint64_t *cursor, struct gw_store_mark *out)
{
	assert(s != NULL && cursor != NULL && out != NULL);
	/* The cursor: station number above, index in its marks below. */
	for (uint64_t k = *cursor >> 16; k < s->nst; k++, *cursor = k << 16) {
		const struct station *st = &s->st[k];
		uint64_t i = *cursor & 0xFFFFu;

		if (i < st->nmarks) {
			out->client_id = st->id;
			out->seq = st->marks[i].seq;
			out->broker_mid = st->marks[i].mid;
			*cursor = k << 16 | (i + 1);
			return true;
		}
	}
	return false;
}

/* ---------------------------------------------------------------- stations */

bool gw_store_station_next(const struct gw_store *s, enum gw_store_dir dir, uint32_t *cursor,
                           const char **client_id, uint32_t *count)
{
	assert(s != NULL && cursor != NULL && client_id != NULL);
	for (; *cursor < s->nst; (*cursor)++) {
		const struct station *st = &s->st[*cursor];

		if (st->dir[dir].count > 0) {
			*client_id = st->id;
			if (count != NULL)
				*count = st->dir[dir].count;
			(*cursor)++;
			return true;
		}
	}
	return false;
}

uint32_t gw_store_station_count(const struct gw_store *s, const char *client_id,
                                enum gw_store_dir dir)
{
	struct station *st;

	assert(s != NULL);
	st = find(s, client_id);
	return st ? st->dir[dir].count : 0;
}

/* ---------------------------------------------------------------- sessions */

/* Writes a SESSION (blob) or SESSION_DEL (blob NULL) record for st. */
static int session_record(struct gw_store *s, struct station *st, const uint8_t *blob, size_t len,
                          uint32_t *seg, uint32_t *off, uint32_t *size)
{
	size_t psize = gw_sfmt_id_size(st->idlen, len);
	uint8_t *p = gw_slog_scratch(s, psize);
	int n;

	if (p == NULL)
		return GW_STORE_ERR_NOMEM;
	gw_sfmt_id_put(p, st->id, st->idlen, blob, len);
	n = gw_slog_encode(s, blob ? REC_SESSION : REC_SESSION_DEL, 0, s->next_seq, p, psize);
	if (n < 0)
		return n;
	*size = (uint32_t)n;
	return gw_slog_append(s, (size_t)n, sync_always(s), seg, off);
}

int gw_store_session_put(struct gw_store *s, const char *client_id, const uint8_t *blob,
                         size_t len)
{
	size_t idlen = id_len(client_id);
	static const uint8_t none[1];
	struct station *st;
	uint64_t rsize;
	uint32_t seg, off, size;
	int rc;

	assert(s != NULL);
	if (idlen == 0 || (len > 0 && blob == NULL))
		return GW_STORE_ERR_INVALID;
	if (len > MQTTSN_RECORD_PAYLOAD_MAX - gw_sfmt_id_size(idlen, 0))
		return GW_STORE_ERR_TOO_BIG;
	rsize = mqttsn_record_size(gw_sfmt_id_size(idlen, len));
	st = gw_sidx_find(s, client_id, idlen);
	rc = fits(s, rsize, st && st->has_session ? st->sess_size : 0);
	if (rc != GW_STORE_OK)
		return rc;
	if ((st = gw_sidx_get(s, client_id, idlen)) == NULL)
		return gw_slog_nomem(s);
	rc = session_record(s, st, len ? blob : none, len, &seg, &off, &size);
	if (rc != GW_STORE_OK)
		return rc;
	if (st->has_session)
		gw_sidx_dead(s, st->sess_seg, st->sess_size);
	else
		s->stats.sessions++;
	st->has_session = true;
	st->sess_seg = seg;
	st->sess_off = off;
	st->sess_size = size;
	gw_sidx_live(s, seg, size);
	return GW_STORE_OK;
}

int gw_store_session_get(struct gw_store *s, const char *client_id, const uint8_t **blob,
                         size_t *len)
{
	struct station *st;
	struct mqttsn_record r;
	const char *id;
	size_t idlen;
	int rc;

	assert(s != NULL && blob != NULL && len != NULL);
	st = find(s, client_id);
	if (st == NULL || !st->has_session)
		return GW_STORE_ERR_NOT_FOUND;
	rc = gw_slog_read(s, st->sess_seg, st->sess_off, st->sess_size, &r);
	if (rc != GW_STORE_OK)
		return rc;
	if (r.type != REC_SESSION ||
	    !gw_sfmt_id_get(r.payload.ptr, r.payload.len, &id, &idlen, blob, len)) {
		gw_slog_say(s, "%s: session damaged on disk", st->id);
		return GW_STORE_ERR_CORRUPT;
	}
	return GW_STORE_OK;
}

int gw_store_session_del(struct gw_store *s, const char *client_id)
{
	struct station *st;
	uint32_t seg, off, size;
	int rc;

	assert(s != NULL);
	st = find(s, client_id);
	if (st == NULL || !st->has_session)
		return GW_STORE_ERR_NOT_FOUND;
	rc = session_record(s, st, NULL, 0, &seg, &off, &size);
	if (rc != GW_STORE_OK)
		return rc;
	gw_sidx_dead(s, st->sess_seg, st->sess_size);
	st->has_session = false;
	s->stats.sessions--;
	return GW_STORE_OK;
}

bool gw_store_session_next(const struct gw_store *s, uint32_t *cursor, const char **client_id)
{
	assert(s != NULL && cursor != NULL && client_id != NULL);
	for (; *cursor < s->nst; (*cursor)++) {
		if (s->st[*cursor].has_session) {
			*client_id = s->st[*cursor].id;
			(*cursor)++;
			return true;
		}
	}
	return false;
}
