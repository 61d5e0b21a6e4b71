/*
 * scenario_finish.c - the report of a finished run (sim_world_report):
 * what is left in the queues, the broker's record turned into receipts by
 * station, the counters of every part, then the accounting (report.c).
 */
#include <stdlib.h>
#include <string.h>

#include "sim/scenario_world.h"

/* A name (client id or topic) and the station it belongs to. */
struct name_ix {
	const char *name;
	uint32_t station;   /* UINT32_MAX: more than one station */
};


/* The link frames' counters, summed over both ends of every link. */
static void finish_frames(const struct sim_world *w, struct sim_report *r)
{
	const struct sim_frames_cfg *fc = &w->s->frames;
	struct mqttsn_link_stats st, up, down;

	if (w->frames == NULL)
		return;
	r->frames = true;
	r->frames_mtu_up = fc->mtu_up;
	r->frames_mtu_down = fc->mtu_down;
	r->frames_encrypted = fc->encrypt;
	r->frames_compressed = fc->compress;
	sim_frames_stats(w, SIM_DIRS, &st);
	sim_frames_stats(w, SIM_UP, &up);
	sim_frames_stats(w, SIM_DOWN, &down);
	r->frames_sent[SIM_UP] = up.frames_out;
	r->frames_sent[SIM_DOWN] = down.frames_out;
	r->frames_msgs[SIM_UP] = up.msgs_out;
	r->frames_msgs[SIM_DOWN] = down.msgs_out;
	r->frames_zipped = st.compressed_out;
	r->frames_frags = st.frags_out;
	r->frames_refused = st.bad_malformed + st.bad_version + st.bad_key + st.bad_dict + st.bad_auth +
	                    st.bad_replayed + st.bad_too_old + st.bad_inflate + st.bad_bomb +
	                    st.bad_fragment + st.bad_other;
	r->frames_queue_full = st.drop_queue_full;
}

static int cmp_name(const void *a, const void *b)
{
	const struct name_ix *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->station < y->station ? -1 : x->station > y->station;
}

/* Sorted, with duplicates of a name folded into one entry of no station. */
static size_t name_index(struct name_ix *v, size_t n)
{
	size_t i, k = 0;

	qsort(v, n, sizeof *v, cmp_name);
	for (i = 0; i < n; i++) {
		if (k > 0 && !strcmp(v[k - 1].name, v[i].name)) {
			v[k - 1].station = UINT32_MAX;
			continue;
		}
		v[k++] = v[i];
	}
	return k;
}

static uint32_t name_find(const struct name_ix *v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v[mid].name, name);

		if (c == 0)
			return v[mid].station;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return UINT32_MAX;
}

/*
 * The broker's record as receipts by station: the publisher's client id
 * names the station (transparent mode); through the aggregating
 * connection, the topic does, when only one station publishes on it.
 */
static struct sim_rx *receipts(const struct sim_world *w, size_t *n_rx, uint64_t *wills)
{
	const struct sim_scenario *s = w->s;
	const struct sim_broker_rx *rec;
	struct name_ix *ids = NULL, *topics = NULL;
	struct sim_rx *rx = NULL;
	size_t n, i, nids, ntopics;

	rec = sim_broker_record(w->broker, &n);
	ids = malloc((s->n_st + 1) * sizeof *ids);
	topics = malloc((s->n_st + 1) * sizeof *topics);
	rx = malloc((n + 1) * sizeof *rx);
	if (ids == NULL || topics == NULL || rx == NULL) {
		free(rx);
		rx = NULL;
		goto out;
	}
	for (i = 0; i < s->n_st; i++) {
		ids[i].name = s->st[i].name;
		ids[i].station = (uint32_t)i;
		topics[i].name = s->st[i].topic;
		topics[i].station = (uint32_t)i;
	}
	nids = name_index(ids, s->n_st);
	ntopics = name_index(topics, s->n_st);
	*n_rx = 0;
	*wills = 0;
	for (i = 0; i < n; i++) {
		uint32_t st;

		if (rec[i].will) {
			(*wills)++;
			continue;
		}
		st = name_find(ids, nids, sim_broker_client_name(w->broker, rec[i].client));
		if (st == UINT32_MAX)
			st = name_find(topics, ntopics, sim_broker_topic_name(w->broker, rec[i].topic));
		rx[*n_rx].at_us = rec[i].at_us;
		rx[*n_rx].hash = rec[i].hash;
		rx[*n_rx].station = st;
		(*n_rx)++;
	}
out:
	free(ids);
	free(topics);
	return rx;
}

/* ---------------------------------------------------------------- what is left */

struct left_ctx {
	struct sim_world *w;
	uint32_t station;
};

static void left_one(void *arg, uint64_t seq)
{
	struct left_ctx *c = arg;
	size_t p = sim_world_find_pub(c->w, c->station, seq);

	if (p != SIZE_MAX)
		c->w->pubs[p].fate = SIM_FATE_QUEUED_END;
}

/* ---------------------------------------------------------------- the figures */

static void link_lines(const struct sim_world *w, struct sim_report *r)
{
	size_t i;
	int d;

	for (i = 0; i < w->nst; i++) {
		for (d = 0; d < SIM_DIRS; d++) {
			const struct sim_dir_counters *c = sim_link_counters(&w->ws[i].link,
			                                                     (enum sim_dir)d);
			struct sim_link_line *l = &r->link[d];

			l->datagrams += c->sent;
			l->bytes += c->sent_bytes;
			l->bill_bytes += c->bill_bytes;
			l->bill_units += c->bill_units;
			l->bill_sessions += c->bill_sessions;
			l->delivered += c->delivered;
			l->dropped_down += c->drop_down;
			l->dropped_other += c->drop_mtu + c->drop_queue + c->drop_limit;
			l->lost += c->lost_random + c->lost_burst + c->lost_inflight;
			l->damaged += c->corrupted;
		}
	}
}

/* Station 0's link's outages up to the end, for the timeline. */
static int down_bands(const struct sim_world *w, struct sim_report *r)
{
	const struct sim_link *l;
	uint64_t t = 0, end = w->ended_us;
	size_t cap = 0;

	if (w->nst == 0)
		return 0;
	l = &w->ws[0].link;
	while (t < end) {
		uint64_t down, up;

		if (sim_link_is_up(l, t)) {
			down = sim_link_next_change(l, t);
			if (down == SIM_TIME_NEVER || down >= end)
				break;
		} else {
			down = t;
		}
		up = sim_link_next_change(l, down);
		if (up == SIM_TIME_NEVER || up > end)
			up = end;
		if (r->n_down == cap) {
			size_t nc = cap ? cap * 2 : 64;
			uint64_t *a = realloc(r->down_at, nc * sizeof *a);

			if (a == NULL)
				return -1;
			r->down_at = a;
			a = realloc(r->up_at, nc * sizeof *a);
			if (a == NULL)
				return -1;
			r->up_at = a;
			cap = nc;
		}
		r->down_at[r->n_down] = down;
		r->up_at[r->n_down] = up;
		r->n_down++;
		if (up <= t)
			break;
		t = up;
	}
	return 0;
}

static void station_lines(const struct sim_world *w, struct sim_report *r)
{
	size_t i;

	for (i = 0; i < w->nst; i++) {
		struct sim_station_stats st;
		struct sim_station_line *l = &r->lines[i];

		sim_station_stats(w->ws[i].st, &st);
		snprintf(l->name, sizeof l->name, "%s", w->s->st[i].name);
		l->skipped = st.skipped_down;
		l->connects = st.connects;
		l->gateway_lost = st.gateway_lost;
		l->retransmissions = st.retransmissions;
		r->queue_dropped += st.queue_dropped;
		r->queue_expired += st.queue_expired;
		r->skipped_down += st.skipped_down;
		r->downlink += st.downlink;
		r->st_retransmissions += st.retransmissions;
		r->st_gateway_lost += st.gateway_lost;
		r->st_connects += st.connects;
		r->st_reconnect_refused += st.connect_refused;
		r->st_crashes += st.crashes;
		r->st_restarts += st.restarts;
		r->queue_recovered += st.queue_recovered;
	}
}

int sim_world_report(struct sim_world *w, struct sim_report *r, char *err, size_t errcap)
{
	const struct sim_scenario *s = w->s;
	struct sim_rx *rx;
	size_t i, n_rx = 0;
	uint64_t wills = 0;

	memset(r, 0, sizeof *r);
	if (w->reported) {
		snprintf(err, errcap, "the report of a run is made once");
		return -1;
	}
	w->reported = true;
	snprintf(r->title, sizeof r->title, "%s", s->title != NULL ? s->title : "");
	snprintf(r->scenario, sizeof r->scenario, "%s", s->path);
	snprintf(r->profile, sizeof r->profile, "%s", s->profile);
	snprintf(r->trace, sizeof r->trace, "%s", s->trace != NULL ? s->trace : "none");
	r->seed = s->seed;
	r->duration_us = s->duration_us;
	r->ended_us = w->ended_us;
	r->stations = (uint32_t)w->nst;
	r->n_actions = s->n_act;
	r->events = w->events;
	r->bridge_crashes = w->bridge_crashes;
	r->bridge_restarts = w->bridge_restarts;
	/* the counters before the stations stop */
	r->lines = calloc(w->nst + 1, sizeof *r->lines);
	if (r->lines == NULL)
		goto nomem;
	r->n_lines = w->nst;
	station_lines(w, r);
	if (w->gw != NULL) {
		const struct gw_stats *g = gw_stats_total(w->gw);

		r->gw_retries = g->retries;
		r->gw_malformed = g->malformed;
		r->gw_congestion = g->drop_congestion;
		r->gw_lost_clients = g->lost;
		r->gw_no_subscription = g->drop_no_subscription;
	}
	r->gw_no_subscription += w->gw_acc.drop_no_subscription;
	r->gw_retries += w->gw_acc.retries;
	r->gw_malformed += w->gw_acc.malformed;
	r->gw_congestion += w->gw_acc.drop_congestion;
	r->gw_lost_clients += w->gw_acc.lost;
	link_lines(w, r);
	r->link[SIM_UP].damaged_dropped = w->damaged_dropped[SIM_UP];
	r->link[SIM_DOWN].damaged_dropped = w->damaged_dropped[SIM_DOWN];
	r->to_down_bridge = w->to_down_bridge;
	finish_frames(w, r);
	r->fates_unknown = w->fates_unknown;
	/* what is left in the queues */
	for (i = 0; i < w->nst; i++) {
		struct left_ctx c = { w, (uint32_t)i };

		if (sim_station_remaining(w->ws[i].st, left_one, &c, err, errcap) != 0) {
			sim_report_free(r);
			return -1;
		}
	}
	if (down_bands(w, r) != 0)
		goto nomem;
	r->samples = malloc((w->nsamples + 1) * sizeof *r->samples);
	if (r->samples == NULL)
		goto nomem;
	if (w->nsamples)
		memcpy(r->samples, w->samples, w->nsamples * sizeof *r->samples);
	r->n_samples = w->nsamples;
	rx = receipts(w, &n_rx, &wills);
	if (rx == NULL)
		goto nomem;
	r->wills = wills;
	if (sim_report_account(r, w->pubs, w->npubs, rx, n_rx) != 0) {
		free(rx);
		goto nomem;
	}
	free(rx);
	return 0;
nomem:
	sim_report_free(r);
	snprintf(err, errcap, "out of memory making the report");
	return -1;
}
