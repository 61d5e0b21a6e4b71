/*
 * stations.c - one simulated station around the real client core and
 * queue (stations.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/stations.h"

struct sim_station {
	const struct sim_station_cfg *cfg;
	uint32_t idx;
	char *dir;
	struct sim_station_hooks hooks;

	bool running;
	struct snc_queue *q;
	struct snc_feed feed;
	struct snc *c;
	uint64_t now_us;          /* the time of the call under way */
	uint64_t core_next_us;    /* the core's next deadline */
	uint64_t reconnect_at_us; /* UINT64_MAX: none due */
	uint64_t reconnect_wait_us;
	size_t depth_at_stop;

	struct sim_station_stats acc; /* finished incarnations, and our own counts */
};

static uint64_t ms_of(uint64_t us)
{
	return us / 1000u;
}

/* A core deadline in ms as virtual us, never at or before now (see loop). */
static uint64_t us_of_deadline(uint64_t ms, uint64_t now_us)
{
	if (ms == UINT64_MAX)
		return UINT64_MAX;
	if (ms <= ms_of(now_us))
		return (ms_of(now_us) + 1u) * 1000u;
	return ms * 1000u;
}

static uint64_t queue_clock(void *arg)
{
	const struct sim_station *st = arg;

	return SIM_STATION_EPOCH_MS + ms_of(st->now_us);
}

/* ---------------------------------------------------------------- core callbacks */

static void core_send(void *ctx, const uint8_t *buf, size_t len, bool broadcast)
{
	struct sim_station *st = ctx;

	(void)broadcast; /* one link, one gateway: a broadcast is a datagram on it */
	st->hooks.send(st->hooks.ctx, st->idx, buf, len);
}

static void schedule_reconnect(struct sim_station *st)
{
	if (st->reconnect_wait_us == 0)
		st->reconnect_wait_us = st->cfg->reconnect_min_us;
	st->reconnect_at_us = st->now_us + st->reconnect_wait_us;
	st->reconnect_wait_us *= 2;
	if (st->reconnect_wait_us > st->cfg->reconnect_max_us)
		st->reconnect_wait_us = st->cfg->reconnect_max_us;
	if (st->reconnect_wait_us == 0)
		st->reconnect_wait_us = 1000;
}

static void subscribe(struct sim_station *st)
{
	struct snc_topic t;

	if (st->cfg->subscribe == NULL)
		return;
	memset(&t, 0, sizeof t);
	t.kind = SNC_TOPIC_NAME;
	t.name = st->cfg->subscribe;
	t.len = strlen(st->cfg->subscribe);
	/* a refusal shows in the counters; the station carries on publishing */
	if (snc_subscribe_start(st->c, &t, st->cfg->subscribe_qos, NULL, ms_of(st->now_us)) != SNC_OK)
		st->acc.subscribe_failed++;
}

static void core_event(void *ctx, const struct snc_event *ev)
{
	struct sim_station *st = ctx;

	switch (ev->type) {
	case SNC_EV_CONNECTED:
		if (ev->rc == 0) {
			st->acc.connects++;
			st->reconnect_wait_us = 0;
			st->reconnect_at_us = UINT64_MAX;
			/* a new gateway (after a bridge crash) knows no subscription */
			subscribe(st);
		} else {
			st->acc.connect_refused++;
			schedule_reconnect(st);
		}
		break;
	case SNC_EV_DISCONNECTED:
		st->acc.disconnected++;
		schedule_reconnect(st);
		break;
	case SNC_EV_GATEWAY_LOST:
		st->acc.gateway_lost++;
		schedule_reconnect(st);
		break;
	case SNC_EV_PUBLISHED:
		if (ev->from_source && ev->rc == 0)
			st->acc.delivered_acks++;
		break;
	case SNC_EV_MESSAGE:
		st->acc.downlink++;
		break;
	default:
		break;
	}
}

static const struct snc_ops station_ops = { core_send, core_event };

/*
 * The queue as the core's source is the feed's, with done() wrapped to tell
 * the runner which message left the queue and how. The ctx of every
 * operation is the feed, which sits inside the station.
 */
static struct sim_station *of_feed(void *feed)
{
	return (struct sim_station *)(void *)((char *)feed - offsetof(struct sim_station, feed));
}

static void src_done(void *ctx, uint64_t seq, int result)
{
	struct sim_station *st = of_feed(ctx);

	snc_feed_source()->done(ctx, seq, result);
	if (st->hooks.fate != NULL)
		st->hooks.fate(st->hooks.ctx, st->idx, seq, result);
}

/* ---------------------------------------------------------------- lifecycle */

struct sim_station *sim_station_new(const struct sim_station_cfg *cfg, uint32_t idx,
                                    const char *dir, const struct sim_station_hooks *hooks)
{
	struct sim_station *st = calloc(1, sizeof *st);

	if (st == NULL)
		return NULL;
	st->dir = strdup(dir);
	if (st->dir == NULL) {
		free(st);
		return NULL;
	}
	st->cfg = cfg;
	st->idx = idx;
	st->hooks = *hooks;
	st->core_next_us = UINT64_MAX;
	st->reconnect_at_us = UINT64_MAX;
	return st;
}

/* Fold the finished incarnation's counters into acc. */
static void fold(struct sim_station *st)
{
	const struct snc_stats *cs = snc_stats(st->c);
	const struct snc_queue_stats *qs = snc_queue_stats(st->q);

	st->acc.retransmissions += cs->retransmissions;
	st->acc.msgs_out += cs->msgs_out;
	st->acc.bytes_out += cs->bytes_out;
	st->acc.msgs_in += cs->msgs_in;
	st->acc.bytes_in += cs->bytes_in;
	st->acc.malformed_in += cs->malformed_in;
	st->acc.queue_dropped += qs->dropped_full;
	st->acc.queue_expired += qs->expired;
	st->acc.gw_refused += qs->refused;
}

enum stop_why { STOP_CRASH, STOP_RESTART, STOP_END };

static void stop(struct sim_station *st, enum stop_why why, uint64_t now_us)
{
	if (!st->running)
		return;
	st->now_us = now_us;
	if (why == STOP_RESTART) {
		/* DISCONNECT goes out when connected (else SNC_ERR_STATE: nothing
		 * to say); the answer is not waited for */
		int rc = snc_disconnect_start(st->c, ms_of(now_us));

		(void)rc;
		st->acc.restarts++;
	} else if (why == STOP_CRASH) {
		st->acc.crashes++;
	}
	fold(st);
	st->depth_at_stop = snc_queue_count(st->q);
	snc_free(st->c);
	snc_queue_close(st->q);
	st->c = NULL;
	st->q = NULL;
	st->running = false;
	st->core_next_us = UINT64_MAX;
	st->reconnect_at_us = UINT64_MAX;
	st->reconnect_wait_us = 0;
}

void sim_station_stop(struct sim_station *st, bool orderly, uint64_t now_us)
{
	stop(st, orderly ? STOP_RESTART : STOP_CRASH, now_us);
}

void sim_station_free(struct sim_station *st)
{
	if (st == NULL)
		return;
	stop(st, STOP_END, st->now_us);
	free(st->dir);
	free(st);
}

static int open_queue(struct sim_station *st, char *err, size_t errcap);

static void refresh(struct sim_station *st)
{
	st->core_next_us = us_of_deadline(snc_tick(st->c, ms_of(st->now_us)), st->now_us);
}

int sim_station_start(struct sim_station *st, uint64_t now_us, char *err, size_t errcap)
{
	const struct sim_station_cfg *cfg = st->cfg;
	struct snc_source src;
	struct snc_config cc;

	if (st->running)
		return 0;
	st->now_us = now_us;
	if (open_queue(st, err, errcap) != 0)
		return -1;
	st->acc.queue_recovered += snc_queue_stats(st->q)->recovered;
	snc_config_defaults(&cc);
	cc.client_id = cfg->name;
	cc.keep_alive_s = cfg->keep_alive_s;
	cc.clean_session = cfg->clean_session;
	cc.inflight_window = cfg->window;
	/* room for the window and a few requests beside it */
	if (cc.max_requests < cfg->window + 8u)
		cc.max_requests = cfg->window + 8u;
	cc.max_msg = cfg->max_msg;
	cc.retry_initial_ms = cfg->retry_initial_ms;
	cc.retry_min_ms = cfg->retry_min_ms;
	cc.retry_max_ms = cfg->retry_max_ms;
	cc.retry_count = cfg->retry_count;
	cc.retry_slack_ms = cfg->retry_slack_ms;
	cc.connect_retry_count = cfg->connect_retry_count;
	st->c = snc_new(&cc, &station_ops, st);
	if (st->c == NULL) {
		snc_queue_close(st->q);
		st->q = NULL;
		snprintf(err, errcap, "station %s: cannot make the client core (bad settings?)",
		         cfg->name);
		return -1;
	}
	snc_feed_init(&st->feed, st->q, queue_clock, st);
	src = *snc_feed_source();
	src.done = src_done;
	snc_set_source(st->c, &src, &st->feed);
	st->running = true;
	st->reconnect_at_us = UINT64_MAX;
	st->reconnect_wait_us = 0;
	if (snc_connect_start(st->c, ms_of(now_us)) != SNC_OK)
		schedule_reconnect(st);
	refresh(st);
	return 0;
}

bool sim_station_running(const struct sim_station *st)
{
	return st->running;
}

/* ---------------------------------------------------------------- driving */

int sim_station_publish(struct sim_station *st, const uint8_t *payload, size_t len,
                        uint64_t now_us, uint64_t *seq)
{
	struct snc_message m;
	int rc;

	if (!st->running) {
		st->acc.skipped_down++;
		return SNC_ERR_STATE;
	}
	st->now_us = now_us;
	st->acc.publish_attempts++;
	memset(&m, 0, sizeof m);
	m.topic.kind = SNC_TOPIC_NAME;
	m.topic.name = st->cfg->topic;
	m.topic.len = strlen(st->cfg->topic);
	m.qos = st->cfg->qos;
	m.payload = payload;
	m.len = len;
	m.priority = st->cfg->priority;
	m.ttl_s = st->cfg->ttl_s;
	rc = snc_queue_push(st->q, &m, queue_clock(st));
	if (rc != SNC_OK)
		st->acc.queue_refused++;
	else
		*seq = m.seq;
	/* the core pulls it from the queue at the next sim_station_tick */
	return rc;
}

void sim_station_input(struct sim_station *st, const uint8_t *buf, size_t len, uint64_t now_us)
{
	if (!st->running)
		return;
	st->now_us = now_us;
	snc_input(st->c, buf, len, ms_of(now_us));
	refresh(st);
}

void sim_station_tick(struct sim_station *st, uint64_t now_us)
{
	if (!st->running)
		return;
	st->now_us = now_us;
	if (st->reconnect_at_us <= now_us) {
		st->reconnect_at_us = UINT64_MAX;
		if (snc_connect_start(st->c, ms_of(now_us)) != SNC_OK &&
		    snc_state(st->c) != SNC_STATE_CONNECTING && snc_state(st->c) != SNC_STATE_ACTIVE)
			schedule_reconnect(st);
	}
	refresh(st);
}

uint64_t sim_station_next(const struct sim_station *st)
{
	if (!st->running)
		return UINT64_MAX;
	return st->core_next_us < st->reconnect_at_us ? st->core_next_us : st->reconnect_at_us;
}

size_t sim_station_queue_depth(const struct sim_station *st)
{
	return st->running ? snc_queue_count(st->q) : st->depth_at_stop;
}

void sim_station_stats(const struct sim_station *st, struct sim_station_stats *out)
{
	*out = st->acc;
	if (st->running) {
		const struct snc_stats *cs = snc_stats(st->c);
		const struct snc_queue_stats *qs = snc_queue_stats(st->q);

		out->retransmissions += cs->retransmissions;
		out->msgs_out += cs->msgs_out;
		out->bytes_out += cs->bytes_out;
		out->msgs_in += cs->msgs_in;
		out->bytes_in += cs->bytes_in;
		out->malformed_in += cs->malformed_in;
		out->queue_dropped += qs->dropped_full;
		out->queue_expired += qs->expired;
		out->gw_refused += qs->refused;
	}
}

/* Open the queue as start() does. */
static int open_queue(struct sim_station *st, char *err, size_t errcap)
{
	struct snc_queue_config qc;
	char qerr[512];

	snc_queue_config_defaults(&qc);
	qc.sync = SNC_SYNC_NONE;
	qc.sync_acks = false;
	if (st->cfg->queue_max > 0)
		qc.max_count = st->cfg->queue_max;
	qc.when_full = st->cfg->queue_drop_oldest ? SNC_FULL_DROP_OLDEST : SNC_FULL_REFUSE;
	if (snc_queue_open(&st->q, st->dir, &qc, qerr, sizeof qerr) != SNC_OK) {
		snprintf(err, errcap, "station %s: queue %s: %s", st->cfg->name, st->dir, qerr);
		return -1;
	}
	return 0;
}

int sim_station_remaining(struct sim_station *st, void (*fn)(void *arg, uint64_t seq), void *arg,
                          char *err, size_t errcap)
{
	struct snc_message m;
	int rc;

	/* The run is over: the core goes (what it had in flight is unclaimed
	 * again on disk), and claims, which live in memory only, list the rest. */
	stop(st, STOP_END, st->now_us);
	if (open_queue(st, err, errcap) != 0)
		return -1;
	while ((rc = snc_queue_claim(st->q, queue_clock(st), &m)) == SNC_OK)
		fn(arg, m.seq);
	snc_queue_close(st->q);
	st->q = NULL;
	if (rc != SNC_ERR_EMPTY) {
		snprintf(err, errcap, "station %s: queue %s: %s", st->cfg->name, st->dir,
		         snc_strerror(rc));
		return -1;
	}
	return 0;
}
