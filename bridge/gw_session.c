/*
 * gw_session.c - sessions: creation, lookup by client id, by endpoint and by
 * broker connection, binding to an address, loss, and freeing.
 *
 * A session is found by its client id first (LINKS.md: a station's address
 * changes under NAT and roaming), by its endpoint for every datagram, and by
 * its broker connection number for broker events.
 */
#include <stdlib.h>
#include <string.h>

#include "bridge/gw_int.h"

/* ---------------------------------------------------------------- hashing */

static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t hash_id(const char *id, size_t len)
{
	return fnv1a(2166136261u, (const uint8_t *)id, len);
}

static uint32_t hash_ep(const struct gw_endpoint *ep)
{
	uint32_t h = fnv1a(2166136261u, &ep->addr.link, 1);

	h = fnv1a(h, ep->addr.data, ep->addr.len <= sizeof ep->addr.data ? ep->addr.len : 0);
	if (ep->encap)
		h = fnv1a(h, ep->node, ep->node_len);
	return h;
}

bool gw_ep_equal(const struct gw_endpoint *a, const struct gw_endpoint *b)
{
	size_t n = a->addr.len;

	if (a->addr.link != b->addr.link || a->addr.len != b->addr.len || a->encap != b->encap)
		return false;
	if (n > sizeof a->addr.data)
		n = sizeof a->addr.data;
	if (memcmp(a->addr.data, b->addr.data, n) != 0)
		return false;
	return !a->encap ||
	       (a->node_len == b->node_len && memcmp(a->node, b->node, a->node_len) == 0);
}

/* ---------------------------------------------------------------- lookup */

struct gw_session *gw_sess_by_id(const struct gw *gw, const char *id, size_t len)
{
	struct gw_session *s;

	for (s = gw->by_id[hash_id(id, len) & gw->bucket_mask]; s != NULL; s = s->next_by_id)
		if (s->id_len == len && memcmp(s->client_id, id, len) == 0)
			return s;
	return NULL;
}

struct gw_session *gw_sess_by_ep(const struct gw *gw, const struct gw_endpoint *ep)
{
	struct gw_session *s;

	for (s = gw->by_ep[hash_ep(ep) & gw->bucket_mask]; s != NULL; s = s->next_by_ep)
		if (gw_ep_equal(&s->ep, ep))
			return s;
	return NULL;
}

struct gw_session *gw_sess_by_conn(const struct gw *gw, uint32_t conn)
{
	uint32_t slot = (conn & GW_CONN_SLOT_MASK);
	struct gw_session *s;

	if (conn == GW_CONN_AGGREGATE || slot == 0 || slot > gw->nslots)
		return NULL;
	s = gw->slots[slot - 1];
	return s != NULL && s->conn == conn ? s : NULL;
}

/* ---------------------------------------------------------------- lists */

static void unlink_id(struct gw *gw, struct gw_session *s)
{
	struct gw_session **pp = &gw->by_id[hash_id(s->client_id, s->id_len) & gw->bucket_mask];

	for (; *pp != NULL; pp = &(*pp)->next_by_id)
		if (*pp == s) {
			*pp = s->next_by_id;
			break;
		}
	s->next_by_id = NULL;
}

void gw_sess_unbind(struct gw *gw, struct gw_session *s)
{
	struct gw_session **pp;

	if (!s->bound)
		return;
	pp = &gw->by_ep[hash_ep(&s->ep) & gw->bucket_mask];
	for (; *pp != NULL; pp = &(*pp)->next_by_ep)
		if (*pp == s) {
			*pp = s->next_by_ep;
			break;
		}
	s->next_by_ep = NULL;
	s->bound = false;
	/* nothing can reach the client now; what was in flight is sent again later */
	gw_down_pause(gw, s);
}

void gw_sess_bind(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep)
{
	struct gw_session *other;
	uint32_t b;

	if (s->bound && gw_ep_equal(&s->ep, ep))
		return;
	gw_sess_unbind(gw, s);
	other = gw_sess_by_ep(gw, ep);
	if (other != NULL) {
		gw_say(gw, GW_LOG_INFO, "client %s no longer reachable: its address now speaks for %s",
		       other->client_id, s->client_id);
		gw_sess_unbind(gw, other);
	}
	s->ep = *ep;
	b = hash_ep(ep) & gw->bucket_mask;
	s->next_by_ep = gw->by_ep[b];
	gw->by_ep[b] = s;
	s->bound = true;
	gw_persist_mark(gw, s);
}

/* ---------------------------------------------------------------- life */

struct gw_session *gw_sess_new(struct gw *gw, const char *id, size_t len, uint64_t now)
{
	struct gw_session *s;
	uint32_t b;

	if (gw->nfree == 0 || len == 0 || len > MQTTSN_CLIENT_ID_MAX)
		return NULL;
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->up = calloc(gw->cfg.max_inflight, sizeof *s->up);
	if (s->up == NULL) {
		free(s);
		return NULL;
	}
	memcpy(s->client_id, id, len);
	s->client_id[len] = '\0';
	s->id_len = (uint8_t)len;
	s->slot = gw->free_slots[--gw->nfree];
	gw->slots[s->slot] = s;
	gw->nsessions++;
	b = hash_id(id, len) & gw->bucket_mask;
	s->next_by_id = gw->by_id[b];
	gw->by_id[b] = s;
	s->state = GW_STATE_DISCONNECTED;
	s->deadline = GW_NEVER;
	s->next_topic_id = 1;
	s->next_msg_id = 1;
	s->last_rx = now;
	s->log_window = now;
	gw_rtt_init(gw, s);
	return s;
}

void gw_sess_will_clear(struct gw_session *s)
{
	free(s->will_topic);
	free(s->will_msg);
	s->will_topic = NULL;
	s->will_msg = NULL;
	s->will_msg_len = 0;
	s->has_will = false;
	s->will_qos = 0;
	s->will_retain = false;
}

void gw_sess_free(struct gw *gw, struct gw_session *s)
{
	gw_sched_remove(gw, s);
	gw_sess_unbind(gw, s);
	unlink_id(gw, s);
	gw_up_fail_all(gw, s, false);
	gw_sub_free_all(gw, s);
	gw_down_clear(gw, s);
	gw_topic_forget_all(s);
	while (s->ntopics > 0)
		free(s->topics[--s->ntopics].name);
	free(s->topics);
	free(s->up);
	gw_sess_will_clear(s);
	gw_persist_forget(gw, s);
	gw->slots[s->slot] = NULL;
	gw->free_slots[gw->nfree++] = s->slot;
	gw->nsessions--;
	free(s);
}

struct gw_session *gw_sess_evictable(const struct gw *gw)
{
	struct gw_session *best = NULL;
	uint32_t i;

	/* a full table is rare and already an operator's problem: a scan is fine */
	for (i = 0; i < gw->nslots; i++) {
		struct gw_session *s = gw->slots[i];

		if (s == NULL || s->phase != GW_PHASE_NONE ||
		    (s->state != GW_STATE_DISCONNECTED && s->state != GW_STATE_LOST))
			continue;
		if (best == NULL || s->last_rx < best->last_rx)
			best = s;
	}
	return best;
}

void gw_sess_close_conn(struct gw *gw, struct gw_session *s, bool fire_will)
{
	if (s->conn == 0)
		return;
	if (gw->ops.broker_close != NULL)
		gw->ops.broker_close(gw->ctx, s->conn, fire_will);
	s->conn = 0;
	s->broker_up = false;
	s->conn_will = false;
	/* a closed connection answers nothing more: what it owed fails, and a
	 * client still listening hears so (a Will update reopens under it) */
	gw_up_fail_all(gw, s, gw_sess_listening(s));
	gw_sub_fail_waiting(gw, s);
}

void gw_sess_lose(struct gw *gw, struct gw_session *s, uint64_t now, const char *why)
{
	bool will = s->has_will;

	gw_down_pause(gw, s);
	/* from here on nothing is sent to the client */
	s->state = GW_STATE_LOST;
	s->phase = GW_PHASE_NONE;
	s->last_rx = now;
	gw_say(gw, GW_LOG_INFO, "client %s lost (%s)%s", s->client_id, why,
	       will ? ": publishing its Will" : "");
	if (gw_aggregating(gw)) {
		if (will && gw->shared == GW_SHARED_UP && gw->ops.broker_publish != NULL) {
			uint32_t tok = 0;

			if (gw->ops.broker_publish(gw->ctx, GW_CONN_AGGREGATE, s->will_topic,
			                           strlen(s->will_topic), s->will_msg,
			                           s->will_msg_len, s->will_qos, s->will_retain,
			                           &tok) == 0)
				GW_STAT_ADD(gw, s, wills, 1);
			else
				gw_say(gw, GW_LOG_WARN, "client %s: Will not published (broker)",
				       s->client_id);
		} else if (will) {
			gw_say(gw, GW_LOG_WARN, "client %s: Will not published (broker down)",
			       s->client_id);
		}
		gw_up_fail_all(gw, s, false);
		gw_sub_fail_waiting(gw, s);
	} else {
		if (will && s->conn != 0 && s->conn_will)
			GW_STAT_ADD(gw, s, wills, 1);
		/* 6.11: a lost client's Will is published: the broker does it when
		 * the connection drops without DISCONNECT */
		gw_sess_close_conn(gw, s, true);
	}
	GW_STAT_ADD(gw, s, lost, 1);
	gw_persist_mark(gw, s);
	if (s->clean)
		gw_sess_free(gw, s);
	else
		gw_sched_update(gw, s);
}

bool gw_sess_listening(const struct gw_session *s)
{
	return s->bound && s->phase == GW_PHASE_NONE &&
	       (s->state == GW_STATE_ACTIVE || s->state == GW_STATE_AWAKE ||
	        s->state == GW_STATE_ASLEEP);
}

enum gw_client_state gw_sess_visible_state(const struct gw_session *s)
{
	return s->phase != GW_PHASE_NONE ? GW_STATE_DISCONNECTED : s->state;
}

uint16_t gw_sess_next_msg_id(struct gw_session *s)
{
	uint16_t id = s->next_msg_id;

	s->next_msg_id = (uint16_t)(id == 0xFFFFu ? 1u : id + 1u);
	return id == 0 ? gw_sess_next_msg_id(s) : id;
}
