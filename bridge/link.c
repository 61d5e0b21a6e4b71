/*
 * link.c - the bridge's link layer: stations and peers, the address map,
 * installing keys, counters and logging. Receiving is in link_rx.c,
 * sending in link_tx.c.
 */
#include "bridge/link_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/log.h"

/* ---------------------------------------------------------------- addresses */

static uint64_t addr_hash(const struct gw_addr *a)
{
	uint64_t h = 1469598103934665603u;
	size_t n = a->len <= sizeof a->data ? a->len : sizeof a->data;
	h = (h ^ a->link) * 1099511628211u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ a->data[i]) * 1099511628211u;
	return h;
}

static bool addr_eq(const struct gw_addr *x, const struct gw_addr *y)
{
	return x->link == y->link && x->len == y->len && x->len <= sizeof x->data &&
	       memcmp(x->data, y->data, x->len) == 0;
}

struct binding *link_lookup(const struct gw_link *gl, const struct gw_addr *a)
{
	if (gl->n_buckets == 0)
		return NULL;
	/* Chains hold at most every binding: bounded by the table. */
	for (struct binding *b = gl->buckets[addr_hash(a) & (gl->n_buckets - 1)]; b != NULL; b = b->next) {
		if (addr_eq(&b->addr, a))
			return b;
	}
	return NULL;
}

static void map_insert(struct gw_link *gl, struct binding *b)
{
	struct binding **head = &gl->buckets[addr_hash(&b->addr) & (gl->n_buckets - 1)];
	b->next = *head;
	*head = b;
	b->used = true;
	gl->n_bound++;
}

static void map_remove(struct gw_link *gl, struct binding *b)
{
	if (!b->used)
		return;
	struct binding **p = &gl->buckets[addr_hash(&b->addr) & (gl->n_buckets - 1)];
	while (*p != NULL && *p != b)
		p = &(*p)->next;
	if (*p == b)
		*p = b->next;
	b->next = NULL;
	b->used = false;
	gl->n_bound--;
}

/*
 * Bind a to s as the address its frames go to; the one before stays
 * bound as [1] (the core may answer there until the station reconnects).
 * An address bound to another station moves to s.
 */
void link_bind(struct gw_link *gl, struct station *s, const struct gw_addr *a)
{
	if (s->b[0].used && addr_eq(&s->b[0].addr, a))
		return;
	if (s->b[1].used && addr_eq(&s->b[1].addr, a)) {
		/* Back to the address before: swap the two, the map nodes move. */
		struct gw_addr cur = s->b[0].addr;
		map_remove(gl, &s->b[0]);
		map_remove(gl, &s->b[1]);
		s->b[0].addr = *a;
		s->b[1].addr = cur;
		map_insert(gl, &s->b[0]);
		map_insert(gl, &s->b[1]);
		gl->stats.rebinds++;
		return;
	}
	struct binding *other = link_lookup(gl, a);
	if (other != NULL)
		map_remove(gl, other);
	map_remove(gl, &s->b[1]);
	if (s->b[0].used) {
		s->b[1].addr = s->b[0].addr;
		map_remove(gl, &s->b[0]);
		map_insert(gl, &s->b[1]);
		gl->stats.rebinds++;
	}
	s->b[0].addr = *a;
	map_insert(gl, &s->b[0]);
	/* Frames to it as large as the link it now comes over carries. */
	size_t mtu = gl->mtu[a->link] != 0 ? gl->mtu[a->link] : gl->cfg.mtu;
	if (s->link != NULL && mqttsn_link_conf(s->link)->mtu != mtu &&
	    mqttsn_link_set_mtu(s->link, gl->fctx, mtu) != MQTTSN_OK)
		gw_log(GW_LOG_ERR, "link: frame size %zu refused by the frame code", mtu);
}

static void unbind(struct gw_link *gl, struct station *s)
{
	map_remove(gl, &s->b[0]);
	map_remove(gl, &s->b[1]);
}

static int map_resize(struct gw_link *gl, size_t want)
{
	size_t n = 64;
	while (n < want * 2 && n < ((size_t)1 << 30))
		n *= 2;
	if (n <= gl->n_buckets)
		return 0;
	struct binding **nb = calloc(n, sizeof *nb);
	if (nb == NULL)
		return -1;
	struct binding **old = gl->buckets;
	size_t old_n = gl->n_buckets;
	gl->buckets = nb;
	gl->n_buckets = n;
	gl->n_bound = 0;
	for (size_t i = 0; i < old_n; i++) {
		struct binding *b = old[i];
		while (b != NULL) {
			struct binding *next = b->next;
			b->used = false;
			map_insert(gl, b);
			b = next;
		}
	}
	free(old);
	return 0;
}

const char *link_addr(const struct gw_link *gl, const struct gw_addr *a, char *buf, size_t cap)
{
	if (gl->ops.addr_format != NULL)
		return gl->ops.addr_format(a, buf, cap);
	size_t pos = (size_t)snprintf(buf, cap, "%u/", a->link);
	for (size_t i = 0; i < a->len && i < sizeof a->data && pos + 3 < cap; i++)
		pos += (size_t)snprintf(buf + pos, cap - pos, "%02x", a->data[i]);
	return buf;
}

const char *link_name(const struct station *s)
{
	return s->key != NULL ? s->key->client_id : "(unencrypted peer)";
}

/* ---------------------------------------------------------------- logging */

/* True when a line for cause c may be written now; *suppressed: lines not written since. */
bool link_log_due(struct gw_link *gl, enum link_cause c, uint64_t now, uint64_t *suppressed)
{
	if (gl->logged[c].any && now < gl->logged[c].at + gl->cfg.log_interval_ms) {
		gl->logged[c].suppressed++;
		return false;
	}
	*suppressed = gl->logged[c].suppressed;
	gl->logged[c].any = true;
	gl->logged[c].at = now;
	gl->logged[c].suppressed = 0;
	return true;
}

/* " (N more since the last line)" after a line that was held back N times, else "". */
const char *link_more(uint64_t quiet, char *buf, size_t cap)
{
	if (quiet == 0)
		return "";
	snprintf(buf, cap, " (%llu more since the last line)", (unsigned long long)quiet);
	return buf;
}

/* ---------------------------------------------------------------- counters */

int link_save(struct gw_link *gl, struct station *s, uint64_t tx_mark, uint64_t rx_floor,
              uint64_t now)
{
	char err[512];
	uint64_t quiet;
	char more[64];
	if (gl->ops.state_save(gl->ctx, s->key->client_id, tx_mark, rx_floor, err, sizeof err) != 0) {
		gl->stats.state_errors++;
		s->retry_at = now + GW_LINK_STATE_RETRY_MS;
		if (link_log_due(gl, C_STATE, now, &quiet))
			gw_log(GW_LOG_ERR, "link %s: saving the frame counters: %s%s",
			       s->key->client_id, err, link_more(quiet, more, sizeof more));
		return -1;
	}
	gl->stats.state_saves++;
	s->tx_mark = tx_mark;
	s->rx_floor = rx_floor;
	s->retry_at = 0;
	return 0;
}

/* ---------------------------------------------------------------- links */

static struct mqttsn_link *make_link(const struct gw_link *gl, const struct gw_link_keys *keys,
                                     const struct gw_station_key *key, uint64_t tx_mark,
                                     uint64_t rx_floor)
{
	struct mqttsn_link_conf c;
	memset(&c, 0, sizeof c);
	c.mtu = gl->cfg.mtu;
	c.hold_ms = gl->cfg.hold_ms;
	c.queue_max = gl->cfg.queue_max;
	c.direction = MQTTSN_LINK_DOWN;
	c.encrypt = key != NULL;
	if (key != NULL) {
		c.key_id = key->send_id;
		c.keys = key->ring;
	}
	c.dict = NULL; /* until the station names its dictionary (link_rx.c) */
	c.dicts = keys->ndicts > 0 ? keys->dicts : NULL;
	c.ndicts = keys->ndicts;
	struct mqttsn_link *l = mqttsn_link_new(&c, tx_mark, rx_floor);
	memset(&c.keys, 0, sizeof c.keys);
	return l;
}

/* Send what the station has queued, keep its counts, free its link. */
static void retire_link(struct gw_link *gl, struct station *s, uint64_t now)
{
	if (s->link == NULL)
		return;
	mqttsn_link_flush(s->link);
	link_emit(gl, s, now);
	link_active_remove(gl, s);
	mqttsn_link_stats_add(&gl->retired, mqttsn_link_stats(s->link));
	mqttsn_link_free(s->link);
	s->link = NULL;
}

static void station_free(struct gw_link *gl, struct station *s)
{
	if (s == NULL)
		return;
	unbind(gl, s);
	link_active_remove(gl, s);
	if (s->link != NULL) {
		mqttsn_link_stats_add(&gl->retired, mqttsn_link_stats(s->link));
		mqttsn_link_free(s->link);
	}
	free(s);
}

struct station *link_peer_new(struct gw_link *gl, const struct gw_addr *a, uint64_t now)
{
	uint64_t quiet;
	char more[64];
	if (gl->n_peers >= gl->cfg.max_peers) {
		/* Full: the peer heard from least recently with nothing queued makes room. */
		size_t victim = gl->n_peers;
		for (size_t i = 0; i < gl->n_peers; i++) {
			const struct station *p = gl->peers[i];
			if (p->active == 0 && (victim == gl->n_peers || p->last_seen < gl->peers[victim]->last_seen))
				victim = i;
		}
		if (victim == gl->n_peers) {
			gl->stats.peers_full++;
			if (link_log_due(gl, C_PEERS, now, &quiet))
				gw_log(GW_LOG_WARN, "link: %u sessions of unencrypted frames, all busy: "
				       "a new one is refused%s", gl->cfg.max_peers,
				       link_more(quiet, more, sizeof more));
			return NULL;
		}
		station_free(gl, gl->peers[victim]);
		gl->peers[victim] = gl->peers[--gl->n_peers];
	}
	struct station *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	for (int i = 0; i < 2; i++)
		s->b[i].st = s;
	s->link = make_link(gl, gl->keys, NULL, 0, 0);
	if (s->link == NULL) {
		free(s);
		return NULL;
	}
	s->last_seen = now;
	gl->peers[gl->n_peers++] = s;
	link_bind(gl, s, a);
	return s;
}

/* ---------------------------------------------------------------- keys */

static int station_cmp(const struct gw_station_key *a, const struct gw_station_key *b)
{
	return strcmp(a->client_id, b->client_id);
}

int gw_link_set_keys(struct gw_link *gl, struct gw_link_keys *keys, uint64_t now, char *err,
                     size_t errlen)
{
	struct station **next = calloc(keys->n + 1, sizeof *next);
	struct station **peers = NULL;
	size_t i = 0, j = 0;
	if (next == NULL)
		goto oom;
	if (gl->peers == NULL && (peers = calloc((size_t)gl->cfg.max_peers + 1, sizeof *peers)) == NULL)
		goto oom;
	if (map_resize(gl, 2 * keys->n + gl->cfg.max_peers) != 0)
		goto oom;
	/* Prepare every new link first: a failure changes nothing. Both lists are sorted. */
	for (i = 0; i < keys->n; i++) {
		const struct gw_station_key *k = &keys->st[i];
		uint64_t tx = 0, rx = 0;
		while (j < gl->n_keyed && station_cmp(gl->keyed[j]->key, k) < 0)
			j++;
		struct station *old = NULL;
		if (j < gl->n_keyed && station_cmp(gl->keyed[j]->key, k) == 0)
			old = gl->keyed[j];
		if (old != NULL) {
			uint64_t highest;
			tx = old->tx_mark;
			rx = old->rx_floor;
			/* A save that failed leaves the link ahead of the file: keep the link's. */
			if (old->link != NULL && mqttsn_link_rx_changed(old->link, &highest) && highest + 1 > rx)
				rx = highest + 1;
		} else {
			char why[400];
			int rc = gl->ops.state_load(gl->ctx, k->client_id, &tx, &rx, why, sizeof why);
			if (rc < 0) {
				snprintf(err, errlen, "link state of %s: %s", k->client_id, why);
				goto fail;
			}
			if (rc > 0)
				tx = rx = 0;
		}
		next[i] = calloc(1, sizeof *next[i]);
		if (next[i] == NULL)
			goto oom;
		next[i]->key = k;
		next[i]->tx_mark = tx;
		next[i]->rx_floor = rx;
		next[i]->link = make_link(gl, keys, k, tx, rx);
		if (next[i]->link == NULL) {
			snprintf(err, errlen, "link of %s: out of memory or a bad link_mtu", k->client_id);
			goto fail;
		}
		for (int b = 0; b < 2; b++)
			next[i]->b[b].st = next[i];
	}
	if (peers != NULL)
		gl->peers = peers;

	/* Commit: the old links send what they queued, then give way. */
	j = 0;
	for (i = 0; i < keys->n; i++) {
		while (j < gl->n_keyed && station_cmp(gl->keyed[j]->key, &keys->st[i]) < 0) {
			retire_link(gl, gl->keyed[j], now);
			station_free(gl, gl->keyed[j]);
			gl->keyed[j++] = NULL;
		}
		if (j < gl->n_keyed && station_cmp(gl->keyed[j]->key, &keys->st[i]) == 0) {
			struct station *old = gl->keyed[j];
			retire_link(gl, old, now);
			for (int b = 1; b >= 0; b--) {
				if (old->b[b].used)
					link_bind(gl, next[i], &old->b[b].addr);
			}
			station_free(gl, old);
			gl->keyed[j++] = NULL;
		}
	}
	for (; j < gl->n_keyed; j++) {
		retire_link(gl, gl->keyed[j], now);
		station_free(gl, gl->keyed[j]);
	}
	for (i = 0; i < gl->n_peers; i++) {
		struct station *p = gl->peers[i];
		retire_link(gl, p, now);
		p->link = make_link(gl, keys, NULL, 0, 0);
	}
	/* Peers whose new link could not be made are dropped. */
	for (i = 0; i < gl->n_peers;) {
		if (gl->peers[i]->link == NULL) {
			station_free(gl, gl->peers[i]);
			gl->peers[i] = gl->peers[--gl->n_peers];
		} else {
			i++;
		}
	}
	free(gl->keyed);
	if (gl->keys != NULL) {
		gw_link_keys_free(gl->keys);
		free(gl->keys);
	}
	gl->keys = keys;
	gl->keyed = next;
	gl->n_keyed = keys->n;
	return 0;
oom:
	snprintf(err, errlen, "link: out of memory");
fail:
	for (i = 0; next != NULL && i < keys->n; i++) {
		if (next[i] != NULL) {
			mqttsn_link_free(next[i]->link);
			free(next[i]);
		}
	}
	free(next);
	free(peers);
	return -1;
}

/* ---------------------------------------------------------------- life */

struct gw_link *gw_link_new(const struct gw_link_config *cfg, const struct gw_link_ops *ops,
                            void *ctx)
{
	struct gw_link *gl = calloc(1, sizeof *gl);
	if (gl == NULL)
		return NULL;
	gl->cfg = *cfg;
	gl->ops = *ops;
	gl->ctx = ctx;
	gl->fctx = malloc(sizeof *gl->fctx);
	gl->keys = calloc(1, sizeof *gl->keys);
	gl->tokens = GW_LINK_PROBE_RATE;
	if (gl->fctx == NULL || gl->keys == NULL || map_resize(gl, 32) != 0) {
		gw_link_free(gl);
		return NULL;
	}
	return gl;
}

void gw_link_free(struct gw_link *gl)
{
	if (gl == NULL)
		return;
	for (size_t i = 0; i < gl->n_keyed; i++)
		station_free(gl, gl->keyed[i]);
	for (size_t i = 0; i < gl->n_peers; i++)
		station_free(gl, gl->peers[i]);
	free(gl->keyed);
	free(gl->peers);
	free(gl->active);
	free(gl->buckets);
	if (gl->keys != NULL) {
		gw_link_keys_free(gl->keys);
		free(gl->keys);
	}
	free(gl->fctx);
	free(gl);
}

void gw_link_listener(struct gw_link *gl, uint8_t link, bool require, bool plain_ok)
{
	gl->require[link] = require;
	gl->plain_ok[link] = plain_ok;
}

void gw_link_listener_mtu(struct gw_link *gl, uint8_t link, size_t mtu)
{
	gl->mtu[link] = mtu;
}

bool gw_link_is_framed(const struct gw_link *gl, const struct gw_addr *a)
{
	return link_lookup(gl, a) != NULL;
}

const struct gw_link_stats *gw_link_stats(struct gw_link *gl)
{
	struct gw_link_stats *s = &gl->stats;
	s->link = gl->retired;
	s->bound = 0;
	for (size_t i = 0; i < gl->n_keyed; i++) {
		mqttsn_link_stats_add(&s->link, mqttsn_link_stats(gl->keyed[i]->link));
		s->bound += gl->keyed[i]->b[0].used;
	}
	for (size_t i = 0; i < gl->n_peers; i++)
		mqttsn_link_stats_add(&s->link, mqttsn_link_stats(gl->peers[i]->link));
	s->stations = gl->n_keyed;
	s->peers = gl->n_peers;
	return s;
}
