/*
 * gw_persist.c - persistent sessions kept across a restart of the bridge
 * (gw.h, "Custody of persistent sessions").
 *
 * A session is serialised whole into one blob, the store keeps the latest.
 * Saves are lazy: a change marks the session, and the blob is written
 * before the next message the core sends to that station (so a CONNACK,
 * a REGACK, a SUBACK or a PUBREL never promises what a crash could take
 * back) or at the end of the event, whichever comes first. A station with
 * many topics costs a larger blob, not more writes.
 *
 * The blob (big-endian, version 1):
 *   u8 version, u8 state, u8 flags (1 Will, 2 Will retain, 4 bound,
 *   8 encapsulated), u8 Will QoS, u16 keep-alive s, u16 sleep s,
 *   u16 next topic id, u16 next msg id,
 *   endpoint: u8 link, u8 len, 28 address octets, u8 ctrl, u8 node len,
 *   16 node octets,
 *   u8 client id len + id, u16 Will topic len + topic, u16 Will message
 *   len + message,
 *   u16 topics, each: u16 id, u8 station knows it, u16 len + name,
 *   u16 subscriptions (granted ones), each: u8 QoS asked, u8 granted,
 *   u8 id type, u16 topic id, u16 len + filter,
 *   u64 seq, u16 msg id, u8 stage of the QoS 2 message in flight (seq 0:
 *   none).
 * Restore checks every length against what is left and every value
 * against its range; anything off refuses the whole blob.
 */
#include <stdlib.h>
#include <string.h>

#include "bridge/gw_int.h"

#define BLOB_VERSION 1u

enum {
	F_WILL = 1,
	F_WILL_RETAIN = 2,
	F_BOUND = 4,
	F_ENCAP = 8,
};

/* ---------------------------------------------------------------- policy */

bool gw_persisting(const struct gw *gw, const struct gw_session *s)
{
	return gw->cfg.custody && gw->ops.session_save != NULL && !s->clean && !s->fresh;
}

bool gw_down_custody(const struct gw *gw, const struct gw_session *s)
{
	return gw->cfg.custody && gw->ops.down_put != NULL && gw->ops.down_next != NULL &&
	       gw->ops.down_done != NULL && !s->clean && !s->fresh;
}

/* ---------------------------------------------------------------- writing */

struct wbuf {
	struct gw *gw;
	size_t len;
	bool failed;
};

static bool reserve(struct wbuf *w, size_t n)
{
	struct gw *gw = w->gw;
	size_t cap;
	uint8_t *p;

	if (w->failed)
		return false;
	if (gw->pcap - w->len >= n)
		return true;
	cap = gw->pcap ? gw->pcap : 512;
	while (cap - w->len < n)
		cap *= 2;
	p = realloc(gw->pbuf, cap);
	if (p == NULL) {
		w->failed = true;
		return false;
	}
	gw->pbuf = p;
	gw->pcap = cap;
	return true;
}

static void put_bytes(struct wbuf *w, const void *p, size_t n)
{
	if (n == 0 || !reserve(w, n))
		return;
	memcpy(w->gw->pbuf + w->len, p, n);
	w->len += n;
}

static void put_u8(struct wbuf *w, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put_bytes(w, &b, 1);
}

static void put_u16(struct wbuf *w, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put_bytes(w, b, 2);
}

static void put_u64(struct wbuf *w, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
	put_bytes(w, b, 8);
}

/* A length-prefixed string; longer than 65535 octets cannot happen (topics are capped). */
static void put_str16(struct wbuf *w, const void *p, size_t n)
{
	if (n > 0xFFFFu) {
		w->failed = true;
		return;
	}
	put_u16(w, (unsigned)n);
	put_bytes(w, p, n);
}

static void encode(const struct gw_session *s, struct wbuf *w)
{
	const struct gw_endpoint *ep = &s->ep;
	enum gw_client_state st = s->state;
	uint32_t i, n;

	/* awake is asleep with its buffer being sent: it sleeps again after */
	if (st == GW_STATE_AWAKE)
		st = GW_STATE_ASLEEP;
	put_u8(w, BLOB_VERSION);
	put_u8(w, (unsigned)st);
	put_u8(w, (s->has_will ? F_WILL : 0u) | (s->will_retain ? F_WILL_RETAIN : 0u) |
	                  (s->bound ? F_BOUND : 0u) | (ep->encap ? F_ENCAP : 0u));
	put_u8(w, s->will_qos);
	put_u16(w, s->keep_alive_s);
	put_u16(w, s->sleep_s);
	put_u16(w, s->next_topic_id);
	put_u16(w, s->next_msg_id);
	put_u8(w, ep->addr.link);
	put_u8(w, ep->addr.len);
	put_bytes(w, ep->addr.data, sizeof ep->addr.data);
	put_u8(w, ep->ctrl);
	put_u8(w, ep->node_len);
	put_bytes(w, ep->node, sizeof ep->node);
	put_u8(w, s->id_len);
	put_bytes(w, s->client_id, s->id_len);
	if (s->has_will) {
		put_str16(w, s->will_topic, strlen(s->will_topic));
		put_str16(w, s->will_msg, s->will_msg_len);
	} else {
		put_u16(w, 0);
		put_u16(w, 0);
	}
	put_u16(w, s->ntopics);
	for (i = 0; i < s->ntopics; i++) {
		put_u16(w, s->topics[i].id);
		put_u8(w, s->topics[i].client_knows);
		put_str16(w, s->topics[i].name, s->topics[i].len);
	}
	for (i = 0, n = 0; i < s->nsubs; i++)
		n += s->subs[i].granted >= 0;
	put_u16(w, n);
	for (i = 0; i < s->nsubs; i++) {
		const struct gw_sub *sub = &s->subs[i];

		if (sub->granted < 0)
			continue;
		put_u8(w, sub->qos);
		put_u8(w, (unsigned)sub->granted);
		put_u8(w, sub->id_type);
		put_u16(w, sub->topic_id);
		put_str16(w, sub->filter, sub->len);
	}
	put_u64(w, s->head_seq);
	put_u16(w, s->head_msg_id);
	put_u8(w, s->head_stage);
}

/* ---------------------------------------------------------------- saving */

static void unlink_dirty(struct gw *gw, struct gw_session *s)
{
	struct gw_session **pp;

	if (!s->dirty)
		return;
	for (pp = &gw->dirty; *pp != NULL; pp = &(*pp)->next_dirty) {
		if (*pp == s) {
			*pp = s->next_dirty;
			break;
		}
	}
	s->dirty = false;
	s->next_dirty = NULL;
}

void gw_persist_mark(struct gw *gw, struct gw_session *s)
{
	if (s == NULL || s->dirty || gw->freeing || !gw_persisting(gw, s))
		return;
	s->dirty = true;
	s->next_dirty = gw->dirty;
	gw->dirty = s;
}

void gw_persist_save(struct gw *gw, struct gw_session *s)
{
	struct wbuf w = {gw, 0, false};

	if (!s->dirty)
		return;
	unlink_dirty(gw, s);
	if (!gw_persisting(gw, s))
		return;
	encode(s, &w);
	if (w.failed) {
		gw_say(gw, GW_LOG_ERR, "client %s: out of memory saving its session", s->client_id);
		return;
	}
	gw->ops.session_save(gw->ctx, s->client_id, gw->pbuf, w.len);
	s->persisted = true;
	GW_STAT_ADD(gw, s, sessions_saved, 1);
}

void gw_persist_flush(struct gw *gw)
{
	size_t guard = gw->nslots + 1u;

	while (gw->dirty != NULL && guard-- > 0)
		gw_persist_save(gw, gw->dirty);
}

void gw_persist_forget(struct gw *gw, struct gw_session *s)
{
	unlink_dirty(gw, s);
	if ((s->persisted || s->down_loaded != 0 || s->spilled) && !gw->freeing &&
	    gw->ops.session_drop != NULL)
		gw->ops.session_drop(gw->ctx, s->client_id);
	s->persisted = false;
}

/* ---------------------------------------------------------------- reading */

struct rbuf {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const uint8_t *take(struct rbuf *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || r->left < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static unsigned get_u8(struct rbuf *r)
{
	const uint8_t *p = take(r, 1);

	return p != NULL ? p[0] : 0u;
}

static unsigned get_u16(struct rbuf *r)
{
	const uint8_t *p = take(r, 2);

	return p != NULL ? (unsigned)p[0] << 8 | p[1] : 0u;
}

static uint64_t get_u64(struct rbuf *r)
{
	const uint8_t *p = take(r, 8);
	uint64_t v = 0;
	int i;

	if (p == NULL)
		return 0;
	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static const uint8_t *get_str16(struct rbuf *r, size_t *len)
{
	*len = get_u16(r);
	return take(r, *len);
}

/* A copy with a NUL after it, or NULL (out of memory). */
static char *dup_n(const uint8_t *p, size_t n)
{
	char *c = malloc(n + 1);

	if (c == NULL)
		return NULL;
	if (n != 0)
		memcpy(c, p, n);
	c[n] = '\0';
	return c;
}

/* The parts after the client id; -1 damaged, -2 no memory. */
static int restore_body(struct gw *gw, struct gw_session *s, struct rbuf *r, unsigned flags,
                        unsigned will_qos)
{
	const uint8_t *p, *q;
	size_t n, m;
	unsigned i, count;

	p = get_str16(r, &n);
	q = get_str16(r, &m);
	if (r->bad)
		return -1;
	if (flags & F_WILL) {
		if (n == 0 || will_qos > 2)
			return -1;
		s->will_topic = dup_n(p, n);
		s->will_msg = m != 0 ? malloc(m) : NULL;
		if (s->will_topic == NULL || (m != 0 && s->will_msg == NULL))
			return -2;
		if (m != 0)
			memcpy(s->will_msg, q, m);
		s->will_msg_len = m;
		s->has_will = true;
		s->will_qos = (uint8_t)will_qos;
		s->will_retain = (flags & F_WILL_RETAIN) != 0;
	}
	count = get_u16(r);
	for (i = 0; i < count && !r->bad; i++) {
		unsigned id = get_u16(r), knows = get_u8(r);
		struct gw_topic *t;

		p = get_str16(r, &n);
		if (r->bad || id == 0 || id == 0xFFFFu || n == 0 || knows > 1 ||
		    gw_topic_by_id(s, (uint16_t)id) != NULL)
			return -1;
		s->next_topic_id = (uint16_t)id;
		t = gw_topic_add(gw, s, (const char *)p, n);
		if (t == NULL)
			return s->ntopics >= gw->cfg.max_topics ? -1 : -2;
		if (t->id != id)
			return -1;
		t->client_knows = knows != 0;
	}
	count = get_u16(r);
	for (i = 0; i < count && !r->bad; i++) {
		unsigned qos = get_u8(r), granted = get_u8(r), id_type = get_u8(r);
		unsigned topic_id = get_u16(r);
		struct gw_sub *sub;

		p = get_str16(r, &n);
		if (r->bad || qos > 2 || granted > 2 || id_type > 3 || n == 0 ||
		    gw_sub_find(s, (const char *)p, n) != NULL)
			return -1;
		sub = gw_sub_add(gw, s, (const char *)p, n);
		if (sub == NULL)
			return s->nsubs >= gw->cfg.max_subscriptions ? -1 : -2;
		sub->qos = (uint8_t)qos;
		sub->granted = (int8_t)granted;
		sub->id_type = (uint8_t)id_type;
		sub->topic_id = (uint16_t)topic_id;
		if (gw_aggregating(gw)) {
			struct gw_filter *f = gw_filter_ref(gw, sub->filter, sub->len, s);

			if (f == NULL)
				return -2;
			sub->shared = f;
			/* subscribed again once the shared connection is up */
			if (f->asked < qos)
				f->asked = (uint8_t)qos;
		}
	}
	s->head_seq = get_u64(r);
	s->head_msg_id = (uint16_t)get_u16(r);
	s->head_stage = (uint8_t)get_u8(r);
	if (r->bad || r->left != 0 || s->head_stage > GW_STAGE_RELEASED ||
	    (s->head_seq != 0 && (s->head_msg_id == 0 || s->head_stage == GW_STAGE_NEW)))
		return -1;
	return 0;
}

int gw_session_restore(struct gw *gw, const uint8_t *blob, size_t len, uint64_t now_ms)
{
	struct rbuf r = {blob, len, false};
	struct gw_endpoint ep;
	struct gw_session *s;
	unsigned version, state, flags, will_qos, keep_alive, sleep_s, next_topic, next_msg;
	const uint8_t *id, *p;
	size_t id_len;
	int rc;

	if (blob == NULL || gw->started)
		return -1;
	version = get_u8(&r);
	state = get_u8(&r);
	flags = get_u8(&r);
	will_qos = get_u8(&r);
	keep_alive = get_u16(&r);
	sleep_s = get_u16(&r);
	next_topic = get_u16(&r);
	next_msg = get_u16(&r);
	memset(&ep, 0, sizeof ep);
	ep.addr.link = (uint8_t)get_u8(&r);
	ep.addr.len = (uint8_t)get_u8(&r);
	p = take(&r, sizeof ep.addr.data);
	if (p != NULL)
		memcpy(ep.addr.data, p, sizeof ep.addr.data);
	ep.ctrl = (uint8_t)get_u8(&r);
	ep.node_len = (uint8_t)get_u8(&r);
	p = take(&r, sizeof ep.node);
	if (p != NULL)
		memcpy(ep.node, p, sizeof ep.node);
	ep.encap = (flags & F_ENCAP) != 0;
	id_len = get_u8(&r);
	id = take(&r, id_len);
	if (r.bad || version != BLOB_VERSION || state >= GW_STATE_COUNT ||
	    state == GW_STATE_AWAKE || flags > 15u || id_len == 0 ||
	    id_len > MQTTSN_CLIENT_ID_MAX || ep.addr.len > sizeof ep.addr.data ||
	    ep.node_len > GW_NODE_ID_MAX || memchr(id, '\0', id_len) != NULL)
		return -1;
	if (gw_sess_by_id(gw, (const char *)id, id_len) != NULL)
		return -1;
	if (gw->nsessions >= gw->nslots)
		return -2;
	s = gw_sess_new(gw, (const char *)id, id_len, now_ms);
	if (s == NULL)
		return -2;
	s->clean = false;
	s->fresh = false;
	s->keep_alive_s = (uint16_t)keep_alive;
	s->sleep_s = (uint16_t)sleep_s;
	rc = restore_body(gw, s, &r, flags, will_qos);
	if (rc != 0) {
		gw->freeing = true; /* nothing of it was ever saved by this core */
		gw_sess_free(gw, s);
		gw->freeing = false;
		return rc;
	}
	s->next_topic_id = (uint16_t)(next_topic == 0 ? 1 : next_topic);
	s->next_msg_id = (uint16_t)(next_msg == 0 ? 1 : next_msg);
	s->state = (enum gw_client_state)state;
	s->phase = GW_PHASE_NONE;
	s->last_rx = now_ms;
	s->phase_since = now_ms;
	s->persisted = true;
	/* what it holds on disk comes back through down_next as it is sent */
	s->spilled = gw_down_custody(gw, s);
	if ((flags & F_BOUND) && ep.addr.len != 0 &&
	    (s->state == GW_STATE_ACTIVE || s->state == GW_STATE_ASLEEP))
		gw_sess_bind(gw, s, &ep);
	/* transparent mode: the broker kept its session; connect to it again */
	if (!gw_aggregating(gw) && (s->state == GW_STATE_ACTIVE || s->state == GW_STATE_ASLEEP))
		s->reopen = true;
	gw->restored = true;
	/* it is what the store has: no need to write it back */
	unlink_dirty(gw, s);
	GW_STAT_ADD(gw, s, sessions_restored, 1);
	gw_sched_update(gw, s);
	return 0;
}

void gw_persist_reopen(struct gw *gw, uint64_t now)
{
	uint32_t i;

	if (!gw->restored)
		return;
	gw->restored = false;
	for (i = 0; i < gw->nslots; i++) {
		struct gw_session *s = gw->slots[i];

		if (s == NULL)
			continue;
		if (s->reopen) {
			s->reopen = false;
			if (gw_conn_open(gw, s) != 0)
				gw_say(gw, GW_LOG_WARN, "client %s: its broker connection could not be "
				       "reopened; again at its next CONNECT", s->client_id);
		}
		/* an active station gets what waited for it (a sleeping one when it wakes) */
		gw_down_pump(gw, s, now);
	}
}
