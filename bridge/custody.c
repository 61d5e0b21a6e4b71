/*
 * custody.c - the custody drainer (custody.h): the store in the loop, and
 * its messages on their way to the broker.
 *
 * The store keeps the order and the truth; this file only remembers, per
 * station, the seq of the last message handed to libmosquitto (to peek at
 * the next one) and which tokens are in flight. Both are lost in a crash
 * and need not survive it: the next run starts each station again from its
 * oldest message not acknowledged. What must survive, the broker's PUBREC
 * of a QoS 2 message, goes into the store as it comes (on_received), and
 * custody_release.c settles it after a restart before anything else is
 * published.
 */
#include "bridge/custody.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge/custody_release.h"
#include "bridge/log.h"

/* A station that has (or had) messages in flight. */
struct station {
	char id[GW_STORE_CLIENT_ID_MAX + 1];
	uint64_t last_sent;  /* seq of the newest message published; 0: none yet */
	uint32_t inflight;
};

struct flight {
	bool used;
	bool rec_seen;       /* its PUBREC was seen in libmosquitto's log */
	uint8_t qos;
	uint16_t mark;       /* the packet id on record in the store; 0: none */
	uint32_t token;
	uint64_t seq;
	struct station *st;
};

struct gw_custody {
	struct gw_loop *loop;
	struct gw_broker *broker;
	struct gw_store *store;
	uint32_t ttl_s;
	bool dirty;              /* something to publish may have come */
	uint32_t rotate;         /* the station the next walk starts at (pump) */

	struct station **slots;  /* open addressing by client id, power of two */
	size_t nslots, nstations;

	struct flight flights[CUSTODY_WINDOW];
	uint32_t inflight;

	struct gw_custody_stats st;
	uint64_t io_logged, full_logged, refused_logged, mark_logged;
	bool unseen_warned;      /* a PUBCOMP without a PUBREC seen was logged */
	struct gw_timer timer;
	struct cust_release rel; /* the previous run's PUBREC marks */
};

/* ---------------------------------------------------------------- clocks */

bool gw_custody_log_due(uint64_t *last, uint64_t now)
{
	if (*last != 0 && now - *last < CUSTODY_LOG_MS)
		return false;
	*last = now;
	return true;
}

/* ---------------------------------------------------------------- stations */

static uint32_t id_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int grow(struct gw_custody *c)
{
	size_t n = c->nslots ? c->nslots * 2 : 64;
	struct station **ns = calloc(n, sizeof *ns);
	if (ns == NULL)
		return -1;
	for (size_t i = 0; i < c->nslots; i++) {
		struct station *st = c->slots[i];
		if (st == NULL)
			continue;
		size_t k = id_hash(st->id) & (n - 1);
		while (ns[k] != NULL)
			k = (k + 1) & (n - 1);
		ns[k] = st;
	}
	free(c->slots);
	c->slots = ns;
	c->nslots = n;
	return 0;
}

/* The station's entry, made when create; NULL when absent or out of memory. */
static struct station *station(struct gw_custody *c, const char *id, bool create)
{
	if (c->nslots > 0) {
		size_t k = id_hash(id) & (c->nslots - 1);
		for (; c->slots[k] != NULL; k = (k + 1) & (c->nslots - 1)) {
			if (strcmp(c->slots[k]->id, id) == 0)
				return c->slots[k];
		}
	}
	if (!create || strlen(id) > GW_STORE_CLIENT_ID_MAX)
		return NULL;
	if ((c->nstations + 1) * 2 > c->nslots && grow(c) != 0)
		return NULL;
	struct station *st = calloc(1, sizeof *st);
	if (st == NULL)
		return NULL;
	memcpy(st->id, id, strlen(id) + 1);
	size_t k = id_hash(id) & (c->nslots - 1);
	while (c->slots[k] != NULL)
		k = (k + 1) & (c->nslots - 1);
	c->slots[k] = st;
	c->nstations++;
	return st;
}

/* ---------------------------------------------------------------- the gw_ops half */

int gw_custody_put(struct gw_custody *c, const char *client_id, const char *topic,
                   size_t topic_len, const uint8_t *payload, size_t len, int qos, bool retain,
                   uint16_t msg_id)
{
	struct gw_store_msg m = {
		.client_id = client_id,
		.topic = topic,
		.topic_len = topic_len,
		.payload = payload,
		.payload_len = len,
		.qos = (uint8_t)qos,
		.retain = retain,
		.msg_id = qos == 2 ? msg_id : 0,
		.ttl_s = c->ttl_s,
	};
	uint64_t now = gw_wall_ms();
	int rc = gw_store_up_put(c->store, &m, now);
	switch (rc) {
	case GW_STORE_OK:
		c->dirty = true;
		return 0;
	case GW_STORE_ERR_FULL:
	case GW_STORE_ERR_STATION_FULL:
	case GW_STORE_ERR_TOO_BIG:
		/* the core logs the refusal per station; this says why, once */
		if (gw_custody_log_due(&c->full_logged, now))
			gw_log(GW_LOG_WARN, "custody store: %s (%s): refusing with congestion",
			       gw_store_strerror(rc), client_id);
		return GW_CUSTODY_FULL;
	default:
		if (gw_custody_log_due(&c->io_logged, now))
			gw_log(GW_LOG_ERR, "custody store: %s: %s; refusing with congestion until it "
			       "writes again", gw_store_strerror(rc), gw_store_errmsg(c->store));
		return GW_CUSTODY_IO;
	}
}

bool gw_custody_held(struct gw_custody *c, const char *client_id, uint16_t msg_id)
{
	return gw_store_up_held(c->store, client_id, msg_id, NULL);
}

int gw_custody_release(struct gw_custody *c, const char *client_id, uint16_t msg_id)
{
	int rc = gw_store_up_release(c->store, client_id, msg_id);
	if (rc == GW_STORE_OK || rc == GW_STORE_ERR_NOT_FOUND)
		return 0;
	if (gw_custody_log_due(&c->io_logged, gw_wall_ms()))
		gw_log(GW_LOG_ERR, "custody store: PUBREL of %s: %s: %s", client_id,
		       gw_store_strerror(rc), gw_store_errmsg(c->store));
	return -1;
}

/* ---------------------------------------------------------------- draining */

/* "2026-11-25T02:43:07.123Z" */
static void iso_time(uint64_t ms, char *buf, size_t cap)
{
	time_t secs = (time_t)(ms / 1000u);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, ".%03uZ", (unsigned)(ms % 1000u));
}

static struct flight *flight_free_slot(struct gw_custody *c)
{
	for (size_t i = 0; i < CUSTODY_WINDOW; i++)
		if (!c->flights[i].used)
			return &c->flights[i];
	return NULL;
}

/* Publish m; false when the connection took nothing (down, or refused). */
static bool send_one(struct gw_custody *c, struct station *st, const struct gw_store_msg *m,
                     uint64_t now)
{
	char received[40], seq[24];
	uint32_t expiry = 0, token = 0;
	if (m->ttl_s > 0) {
		uint64_t age = now > m->received_ms ? now - m->received_ms : 0;
		uint64_t left = (uint64_t)m->ttl_s * 1000u > age ? (uint64_t)m->ttl_s * 1000u - age : 0;
		/* whole seconds, rounded up: never 0, which would mean "no expiry" */
		expiry = (uint32_t)((left + 999u) / 1000u);
		if (expiry == 0)
			expiry = 1;
	}
	iso_time(m->received_ms, received, sizeof received);
	snprintf(seq, sizeof seq, "%llu", (unsigned long long)m->seq);
	const struct gw_broker_prop props[] = {
		{"snb-station", st->id},
		{"snb-received", received},
		{"snb-seq", seq},
	};
	struct flight *f = flight_free_slot(c);
	if (f == NULL)
		return false;
	if (gw_broker_custody_publish(c->broker, m->topic, m->topic_len, m->payload, m->payload_len,
	                              m->qos, m->retain, expiry, props,
	                              sizeof props / sizeof props[0], &token) != 0)
		return false;
	f->used = true;
	f->rec_seen = false;
	f->qos = m->qos;
	f->mark = m->broker_mid;
	f->token = token;
	f->seq = m->seq;
	f->st = st;
	st->last_sent = m->seq;
	st->inflight++;
	c->inflight++;
	c->st.published++;
	return true;
}

/* Fill one station's window; false when the connection took no more. */
static bool pump_station(struct gw_custody *c, struct station *st, uint64_t now)
{
	while (st->inflight < CUSTODY_STATION_WINDOW && c->inflight < CUSTODY_WINDOW) {
		struct gw_store_msg m;
		int rc = gw_store_up_peek(c->store, st->id, st->last_sent, now, &m);
		if (rc == GW_STORE_ERR_CORRUPT)
			continue; /* dropped and counted by the store: the next one */
		if (rc != GW_STORE_OK)
			return true;
		if (send_one(c, st, &m, now))
			continue;
		if (!gw_broker_custody_up(c->broker) || flight_free_slot(c) == NULL)
			return false;
		/* up, and libmosquitto refused it (a topic that is not UTF-8, too
		 * large): it never will take it, and it must not block the rest */
		c->st.broker_refused++;
		if (gw_custody_log_due(&c->refused_logged, now))
			gw_log(GW_LOG_WARN, "custody: a message of %s cannot be published to the broker; "
			       "dropped (counted as broker_refused)", st->id);
		st->last_sent = m.seq;
		if (gw_store_up_done(c->store, st->id, m.seq) != GW_STORE_OK)
			return true;
	}
	return true;
}

/*
 * Serve the stations with messages waiting, each up to its window. The
 * walk starts at a station further on each time the global window filled
 * up, so that with more stations than the window takes every one gets
 * its turn.
 */
static void pump(struct gw_custody *c)
{
	/* The previous run's PUBRELs first: custody_release.h says why. */
	if (!c->dirty || !gw_broker_custody_up(c->broker) || cust_release_busy(&c->rel))
		return;
	c->dirty = false;
	uint64_t now = gw_wall_ms();
	uint32_t start = c->rotate;
	for (int pass = 0; pass < 2; pass++) {
		uint32_t cursor = 0, idx = 0;
		const char *id;
		uint32_t count;
		while (gw_store_station_next(c->store, GW_STORE_UP, &cursor, &id, &count)) {
			uint32_t at = idx++;
			if (pass == 0 ? at < start : at >= start)
				continue;
			if (c->inflight >= CUSTODY_WINDOW) {
				c->rotate = at;
				c->dirty = true; /* more waits: again after the next ack */
				return;
			}
			struct station *st = station(c, id, true);
			if (st == NULL) {
				gw_log(GW_LOG_ERR, "custody: out of memory for a station");
				return;
			}
			if (!pump_station(c, st, now)) {
				/* the connection takes nothing now: again when it is back */
				c->dirty = true;
				return;
			}
		}
		if (pass == 0 && start == 0)
			break;
	}
	c->rotate = 0;
}

/* ---------------------------------------------------------------- broker events */

static struct flight *flight_of(struct gw_custody *c, uint32_t token)
{
	for (size_t i = 0; i < CUSTODY_WINDOW; i++)
		if (c->flights[i].used && c->flights[i].token == token)
			return &c->flights[i];
	return NULL;
}

static void on_connected(void *arg, bool session_present)
{
	struct gw_custody *c = arg;
	c->dirty = true;
	gw_log(GW_LOG_INFO, "custody: broker connection up (session %s); %llu message(s) waiting, "
	       "%u in flight", session_present ? "kept" : "new",
	       (unsigned long long)gw_store_stats(c->store)->up_msgs, c->inflight);
	cust_release_connected(&c->rel, session_present);
}

static void on_lost(void *arg)
{
	struct gw_custody *c = arg;
	/* libmosquitto finishes what is in flight after reconnecting */
	gw_log(GW_LOG_INFO, "custody: broker connection lost; %u message(s) in flight kept",
	       c->inflight);
	cust_release_lost(&c->rel);
}

/*
 * The broker's PUBREC for a QoS 2 message: on record before libmosquitto
 * sends the PUBREL (this runs inside its handler), so that a crash from
 * here on finds the packet id to release the message with, rather than
 * publish it again after the broker may have delivered it.
 */
static void on_received(void *arg, uint32_t token)
{
	struct gw_custody *c = arg;
	struct flight *f = flight_of(c, token);
	if (f == NULL || f->qos != 2)
		return;
	f->rec_seen = true;
	if (!c->rel.marking || f->mark == (uint16_t)token)
		return;
	int rc = gw_store_up_mark(c->store, f->st->id, f->seq, (uint16_t)token);
	if (rc == GW_STORE_OK) {
		f->mark = (uint16_t)token;
		return;
	}
	if (rc != GW_STORE_ERR_NOT_FOUND && gw_custody_log_due(&c->mark_logged, gw_wall_ms()))
		gw_log(GW_LOG_ERR, "custody store: recording the broker's PUBREC: %s: %s (were the bridge "
		       "killed before the PUBCOMP, the message could reach subscribers twice)",
		       gw_store_strerror(rc), gw_store_errmsg(c->store));
}

/* A PUBCOMP: the answer to a lone PUBREL of custody_release.c, or not ours. */
static void on_completed(void *arg, uint16_t mid, int reason)
{
	struct gw_custody *c = arg;
	cust_release_completed(&c->rel, mid, reason);
}

/* custody_release.c has nothing more to wait for. */
static void on_settled(void *arg)
{
	struct gw_custody *c = arg;
	c->dirty = true;
}

static void on_acked(void *arg, uint32_t token, int reason)
{
	struct gw_custody *c = arg;
	struct flight *f = flight_of(c, token);
	if (f == NULL)
		return;
	struct station *st = f->st;
	if (f->qos == 2 && reason < 0x80 && !f->rec_seen && c->rel.marking && !c->unseen_warned) {
		/* libmosquitto sent the PUBREL without our knowing: its log line
		 * for the PUBREC did not read as expected (another version?). */
		c->unseen_warned = true;
		gw_log(GW_LOG_WARN, "custody: a QoS 2 message was completed without its PUBREC seen in "
		       "libmosquitto's log (other wording?): the broker's PUBRECs are not recorded, and "
		       "a QoS 2 message in flight when the bridge is killed may reach subscribers twice");
	}
	if (reason >= 0x80) {
		/* a refusal the broker would repeat (not authorised, topic invalid...) */
		c->st.broker_refused++;
		if (gw_custody_log_due(&c->refused_logged, gw_wall_ms()))
			gw_log(GW_LOG_WARN, "custody: the broker refused a message of %s (reason 0x%02x); "
			       "dropped (counted as broker_refused)", st->id, (unsigned)reason);
	}
	int rc = gw_store_up_done(c->store, st->id, f->seq);
	if (rc != GW_STORE_OK && rc != GW_STORE_ERR_NOT_FOUND &&
	    gw_custody_log_due(&c->io_logged, gw_wall_ms()))
		gw_log(GW_LOG_ERR, "custody store: done: %s: %s (the message may be sent again)",
		       gw_store_strerror(rc), gw_store_errmsg(c->store));
	if (reason < 0x80)
		c->st.acked++;
	f->used = false;
	st->inflight--;
	c->inflight--;
	c->dirty = true;
}

static const struct gw_broker_custody_events events = {
	.connected = on_connected,
	.lost = on_lost,
	.acked = on_acked,
	.received = on_received,
	.completed = on_completed,
};

/* ---------------------------------------------------------------- the loop */

static void on_timer(void *arg, uint64_t now)
{
	struct gw_custody *c = arg;
	(void)now;
	int rc = gw_store_tick(c->store, gw_wall_ms());
	if (rc != GW_STORE_OK && gw_custody_log_due(&c->io_logged, gw_wall_ms()))
		gw_log(GW_LOG_ERR, "custody store: %s: %s", gw_store_strerror(rc),
		       gw_store_errmsg(c->store));
}

void gw_custody_prepare(struct gw_custody *c)
{
	pump(c);
	uint64_t wall = gw_wall_ms();
	uint64_t due = gw_store_next_deadline(c->store, wall);
	if (due == UINT64_MAX) {
		gw_timer_disarm(c->loop, &c->timer);
		return;
	}
	/* the store's deadline is wall-clock, the loop's monotonic */
	uint64_t delay = due > wall ? due - wall : 0;
	if (gw_timer_arm(c->loop, &c->timer, gw_loop_now(c->loop) + delay) != 0)
		gw_log(GW_LOG_ERR, "custody: out of memory arming a timer");
}

/* ---------------------------------------------------------------- life */

struct gw_custody *gw_custody_new(struct gw_loop *loop, struct gw_broker *broker,
                                  const struct gw_custody_config *cfg, char *err, size_t errlen)
{
	struct gw_custody *c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(err, errlen, "custody: out of memory");
		return NULL;
	}
	c->loop = loop;
	c->broker = broker;
	c->ttl_s = cfg->ttl_s;
	gw_timer_init(&c->timer, on_timer, c);
	char why[512];
	uint64_t t0 = gw_clock_ms();
	int rc = gw_store_open(&c->store, cfg->dir, &cfg->store, why, sizeof why);
	if (rc != GW_STORE_OK) {
		if (rc == GW_STORE_ERR_BUSY)
			snprintf(err, errlen, "custody store %s is in use by another process (another "
			         "sn-bridge?): %s", cfg->dir, why);
		else
			snprintf(err, errlen, "custody store %s: %s", cfg->dir, why);
		free(c);
		return NULL;
	}
	char line[1024];
	(void)gw_store_summary(c->store, gw_clock_ms() - t0, line, sizeof line);
	gw_log(GW_LOG_INFO, "%s", line);
	if (cust_release_init(&c->rel, loop, broker, c->store, on_settled, c) != 0) {
		snprintf(err, errlen, "custody: out of memory");
		gw_store_close(c->store);
		free(c);
		return NULL;
	}
	if (gw_broker_custody_open(broker, cfg->client_id, &events, c) != 0) {
		snprintf(err, errlen, "custody: the broker connection could not be set up");
		cust_release_free(&c->rel);
		gw_store_close(c->store);
		free(c);
		return NULL;
	}
	c->dirty = true;
	return c;
}

void gw_custody_free(struct gw_custody *c)
{
	if (c == NULL)
		return;
	gw_timer_disarm(c->loop, &c->timer);
	cust_release_free(&c->rel);
	gw_store_close(c->store);
	for (size_t i = 0; i < c->nslots; i++)
		free(c->slots[i]);
	free(c->slots);
	free(c);
}

const struct gw_store_stats *gw_custody_store_stats(const struct gw_custody *c)
{
	return gw_store_stats(c->store);
}

struct gw_store *gw_custody_store(struct gw_custody *c)
{
	return c->store;
}

void gw_custody_stats(const struct gw_custody *c, struct gw_custody_stats *out)
{
	*out = c->st;
	out->inflight = c->inflight;
	out->released = c->rel.released;
}
