/*
 * scenario_loop.c - the event loop of a scenario run (scenario_run.h).
 *
 * Components whose deadline moves (a station, a link, the gateway core,
 * the broker) have one live item in the queue at a time: its time is kept
 * beside the component, a new item is pushed only when the deadline moves
 * earlier, and an item whose time no longer matches is stale and skipped.
 * An item that fires early (the deadline moved later) costs one call that
 * finds nothing due. After every event, the components it touched (marked
 * dirty by the callbacks) are asked for their deadlines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario_world.h"

/* Events at one virtual time, at most, before the run is declared stuck. */
#define SAME_TIME_MAX 10000000u

static uint64_t ms_of(uint64_t us)
{
	return us / 1000u;
}

void sim_world_schedule(struct sim_world *w, enum world_ev kind, uint32_t who, uint64_t t)
{
	uint64_t *slot = NULL;

	if (t == SIM_NEVER)
		return;
	if (t < w->now_us)
		t = w->now_us;
	switch (kind) {
	case EV_STATION: slot = &w->ws[who].sched[0]; break;
	case EV_LINK: slot = &w->ws[who].sched[1]; break;
	case EV_FRAME: slot = &w->ws[who].sched[2]; break;
	case EV_GW: slot = &w->gw_sched; break;
	case EV_BROKER: slot = &w->broker_sched; break;
	default: break;
	}
	if (slot != NULL) {
		if (*slot <= t)
			return;
		*slot = t;
	}
	if (sim_pq_push(&w->pq, t, (uint32_t)kind, who, 0) != 0)
		sim_world_fail(w, "out of memory (event queue)");
}

/* A gateway deadline in ms as virtual us; one already past is due now. */
static uint64_t gw_us(uint64_t ms)
{
	return ms == UINT64_MAX ? SIM_NEVER : ms * 1000u;
}

static void refresh(struct sim_world *w)
{
	size_t k;

	for (k = 0; k < w->ndirty; k++) {
		uint32_t i = w->dirty[k];
		struct world_station *ws = &w->ws[i];

		if (ws->dirty_st)
			sim_world_schedule(w, EV_STATION, i, sim_station_next(ws->st));
		if (ws->dirty_link)
			sim_world_schedule(w, EV_LINK, i, sim_link_next_time(&ws->link));
		ws->dirty_st = ws->dirty_link = false;
	}
	w->ndirty = 0;
	if (w->dirty_gw && w->gw != NULL)
		sim_world_schedule(w, EV_GW, 0, gw_us(gw_next_deadline(w->gw)));
	w->dirty_gw = false;
	if (w->dirty_broker)
		sim_world_schedule(w, EV_BROKER, 0, sim_broker_next_time(w->broker));
	w->dirty_broker = false;
}

/* ---------------------------------------------------------------- events */

static void on_link(struct sim_world *w, uint32_t i)
{
	/* copied out: delivering may put an answer on this same link */
	uint8_t *buf = w->rxbuf;
	struct world_station *ws = &w->ws[i];
	struct sim_delivery d;

	while (sim_link_pop(&ws->link, w->now_us, &d)) {
		size_t len = d.len;

		if (d.damaged && !w->s->keep_damaged) {
			w->damaged_dropped[d.dir]++;
			continue;
		}
		memcpy(buf, d.data, len);
		if (w->frames != NULL) {
			sim_frames_receive(w, i, d.dir, buf, len);
			continue;
		}
		if (d.dir == SIM_UP) {
			struct gw_addr a = sim_world_addr(i);

			if (w->gw == NULL) {
				w->to_down_bridge++;
				continue;
			}
			gw_on_datagram(w->gw, &a, buf, len, ms_of(w->now_us));
			w->dirty_gw = true;
		} else {
			sim_station_input(ws->st, buf, len, w->now_us);
			sim_world_dirty_station(w, i, true);
		}
	}
	sim_world_dirty_station(w, i, true);
}

static void on_gw(struct sim_world *w)
{
	uint64_t next, now_ms = ms_of(w->now_us);

	if (w->gw == NULL)
		return;
	next = gw_tick(w->gw, now_ms);
	/* a deadline the tick left at or before now would spin: next ms */
	if (next != UINT64_MAX && next <= now_ms)
		next = now_ms + 1u;
	sim_world_schedule(w, EV_GW, 0, gw_us(next));
	w->dirty_gw = false;
}

static void on_broker(struct sim_world *w)
{
	struct sim_broker_event e;
	uint64_t now_ms = ms_of(w->now_us);

	while (sim_broker_pop(w->broker, w->now_us, &e)) {
		if (w->gw == NULL)
			continue;
		switch (e.kind) {
		case SIM_BROKER_CONNECTED:
			gw_on_broker_connected(w->gw, e.conn, e.rc, now_ms);
			break;
		case SIM_BROKER_DISCONNECTED:
			gw_on_broker_disconnected(w->gw, e.conn, now_ms);
			break;
		case SIM_BROKER_ACKED:
			gw_on_broker_acked(w->gw, e.conn, e.token, now_ms);
			break;
		case SIM_BROKER_SUBACKED:
			gw_on_broker_subacked(w->gw, e.conn, e.token, e.rc, now_ms);
			break;
		case SIM_BROKER_UNSUBACKED:
			gw_on_broker_unsubacked(w->gw, e.conn, e.token, now_ms);
			break;
		case SIM_BROKER_MESSAGE:
			gw_on_broker_message(w->gw, e.conn, e.topic, e.topic_len, e.payload, e.len, e.qos,
			                     e.retain, now_ms);
			break;
		}
		w->dirty_gw = true;
	}
	w->dirty_broker = true;
}

static uint64_t publish_stop(const struct sim_world *w, uint32_t i)
{
	const struct sim_station_cfg *c = &w->s->st[i];

	return c->stop_us != 0 && c->stop_us < w->s->duration_us ? c->stop_us : w->s->duration_us;
}

static int remember_pub(struct sim_world *w, uint32_t i, const struct sim_pub *p)
{
	struct world_station *ws = &w->ws[i];

	if (w->npubs == w->pubcap) {
		size_t cap = w->pubcap ? w->pubcap * 2 : 4096;
		struct sim_pub *np = realloc(w->pubs, cap * sizeof *np);

		if (np == NULL)
			return -1;
		w->pubs = np;
		w->pubcap = cap;
	}
	if (ws->npubs == ws->pubcap) {
		size_t cap = ws->pubcap ? ws->pubcap * 2 : 256;
		size_t *np = realloc(ws->pubs, cap * sizeof *np);

		if (np == NULL)
			return -1;
		ws->pubs = np;
		ws->pubcap = cap;
	}
	w->pubs[w->npubs] = *p;
	if (p->queued) {
		if (ws->npubs > 0 && w->pubs[ws->pubs[ws->npubs - 1]].seq >= p->seq)
			ws->seq_sorted = false;
		ws->pubs[ws->npubs++] = w->npubs;
	}
	w->npubs++;
	return 0;
}

static void on_publish(struct sim_world *w, uint32_t i)
{
	struct world_station *ws = &w->ws[i];
	const struct sim_station_cfg *c = &w->s->st[i];
	uint64_t slot = ws->slot++;
	uint64_t next;

	if (sim_station_running(ws->st)) {
		const uint8_t *payload;
		struct sim_pub p;
		size_t len;
		uint64_t seq = 0;
		int rc;

		sim_corpus_get(&w->corpora[ws->corpus], c->corpus_start + slot, &payload, &len);
		rc = sim_station_publish(ws->st, payload, len, w->now_us, &seq);
		memset(&p, 0, sizeof p);
		p.at_us = w->now_us;
		p.hash = sim_broker_hash(payload, len);
		p.seq = seq;
		p.station = i;
		p.len = (uint32_t)len;
		p.queued = rc == SNC_OK;
		p.first_us = UINT64_MAX;
		if (remember_pub(w, i, &p) != 0)
			sim_world_fail(w, "out of memory (the record of published messages)");
		sim_station_tick(ws->st, w->now_us);
		sim_world_dirty_station(w, i, true);
	} else {
		(void)sim_station_publish(ws->st, NULL, 0, w->now_us, NULL); /* counts it skipped */
	}
	next = w->now_us + c->every_us;
	if (next < publish_stop(w, i))
		sim_world_schedule(w, EV_PUBLISH, i, next);
}

static void start_station(struct sim_world *w, uint32_t i)
{
	char err[768];

	/* the link session first: the station's CONNECT goes through it */
	sim_frames_station_up(w, i);
	if (sim_station_start(w->ws[i].st, w->now_us, err, sizeof err) != 0)
		sim_world_fail(w, err);
	sim_world_dirty_station(w, i, true);
}

static void start_bridge(struct sim_world *w)
{
	if (sim_world_gw_start(w) != 0)
		sim_world_fail(w, "out of memory (gateway core)");
}

static void on_action(struct sim_world *w, uint32_t k)
{
	const struct sim_action *a = &w->s->act[k];
	bool orderly = a->kind == SIM_ACT_RESTART;

	if (a->bridge) {
		if (w->gw == NULL)
			return; /* already down: its own revival stands */
		sim_world_gw_stop(w, orderly);
		if (a->down_us == 0)
			start_bridge(w);
		else
			sim_world_schedule(w, EV_REVIVE, UINT32_MAX, w->now_us + a->down_us);
		return;
	}
	if (!sim_station_running(w->ws[a->station].st))
		return;
	sim_station_stop(w->ws[a->station].st, orderly, w->now_us);
	sim_frames_station_down(w, a->station, orderly);
	sim_world_dirty_station(w, a->station, true);
	if (a->down_us == 0)
		start_station(w, a->station);
	else
		sim_world_schedule(w, EV_REVIVE, a->station, w->now_us + a->down_us);
}

/* ---------------------------------------------------------------- samples */

static void on_sample(struct sim_world *w)
{
	struct sim_sample sm;
	size_t i;
	int d;

	memset(&sm, 0, sizeof sm);
	sm.t_us = w->now_us;
	sm.bridge_up = w->gw != NULL;
	for (i = 0; i < w->nst; i++) {
		const struct world_station *ws = &w->ws[i];

		if (sim_link_is_up(&ws->link, w->now_us))
			sm.links_up++;
		if (sim_station_running(ws->st))
			sm.stations_up++;
		sm.queue_depth += sim_station_queue_depth(ws->st);
		for (d = 0; d < SIM_DIRS; d++) {
			const struct sim_dir_counters *c = sim_link_counters(&ws->link, (enum sim_dir)d);

			sm.bytes[d] += c->bill_bytes;
			sm.units[d] += c->bill_units;
		}
	}
	if (w->nsamples == w->samplecap) {
		size_t cap = w->samplecap ? w->samplecap * 2 : 1024;
		struct sim_sample *ns = realloc(w->samples, cap * sizeof *ns);

		if (ns == NULL) {
			sim_world_fail(w, "out of memory (time series)");
			return;
		}
		w->samples = ns;
		w->samplecap = cap;
	}
	w->samples[w->nsamples++] = sm;
	/* after the publishing, the run ends as soon as every queue is empty */
	if (w->now_us >= w->s->duration_us && sm.queue_depth == 0) {
		w->done = true;
		return;
	}
	if (w->now_us + w->s->sample_us <= w->end_us)
		sim_world_schedule(w, EV_SAMPLE, 0, w->now_us + w->s->sample_us);
}

/* ---------------------------------------------------------------- the loop */

static void dispatch(struct sim_world *w, const struct sim_pq_item *it)
{
	switch ((enum world_ev)it->kind) {
	case EV_STATION:
		sim_station_tick(w->ws[it->who].st, w->now_us);
		sim_world_dirty_station(w, it->who, true);
		break;
	case EV_LINK:
		on_link(w, it->who);
		break;
	case EV_GW:
		on_gw(w);
		break;
	case EV_BROKER:
		on_broker(w);
		break;
	case EV_PUBLISH:
		on_publish(w, it->who);
		break;
	case EV_ACTION:
		on_action(w, it->who);
		break;
	case EV_REVIVE:
		if (it->who == UINT32_MAX)
			start_bridge(w);
		else
			start_station(w, it->who);
		break;
	case EV_SAMPLE:
		on_sample(w);
		break;
	case EV_FRAME:
		sim_frames_on_timer(w, it->who);
		break;
	case EV_END:
	case EV_KINDS:
		w->done = true;
		break;
	}
}

/* Whether the item is the live one of its component (and make it not live). */
static bool live(struct sim_world *w, const struct sim_pq_item *it)
{
	uint64_t *slot = NULL;

	switch ((enum world_ev)it->kind) {
	case EV_STATION: slot = &w->ws[it->who].sched[0]; break;
	case EV_LINK: slot = &w->ws[it->who].sched[1]; break;
	case EV_FRAME: slot = &w->ws[it->who].sched[2]; break;
	case EV_GW: slot = &w->gw_sched; break;
	case EV_BROKER: slot = &w->broker_sched; break;
	default: return true;
	}
	if (*slot != it->at)
		return false;
	*slot = SIM_NEVER;
	return true;
}

static void start(struct sim_world *w)
{
	const struct sim_scenario *s = w->s;
	size_t i;

	w->now_us = 0;
	w->end_us = s->duration_us + s->drain_us;
	start_bridge(w);
	for (i = 0; i < w->nst; i++) {
		uint64_t first = s->st[i].start_us + s->st[i].offset_us;

		start_station(w, (uint32_t)i);
		if (w->ws[i].corpus != SIZE_MAX && first < publish_stop(w, (uint32_t)i))
			sim_world_schedule(w, EV_PUBLISH, (uint32_t)i, first);
	}
	for (i = 0; i < s->n_act; i++)
		if (s->act[i].at_us <= w->end_us)
			sim_world_schedule(w, EV_ACTION, (uint32_t)i, s->act[i].at_us);
	sim_world_schedule(w, EV_SAMPLE, 0, s->sample_us);
	sim_world_schedule(w, EV_END, 0, w->end_us);
	refresh(w);
}

int sim_world_run(struct sim_world *w, char *err, size_t errcap)
{
	struct sim_pq_item it;
	uint64_t same = 0, last = 0;

	start(w);
	while (!w->done && !w->failed && sim_pq_pop(&w->pq, &it)) {
		if (it.at > w->end_us)
			break;
		if (!live(w, &it))
			continue;
		if (it.at == last) {
			if (++same > SAME_TIME_MAX) {
				snprintf(err, errcap, "stuck: over %u events at t=%.6f s (event kind %u)",
				         SAME_TIME_MAX, (double)it.at / 1e6, (unsigned)it.kind);
				return -1;
			}
		} else {
			same = 0;
			last = it.at;
		}
		w->now_us = it.at;
		w->events++;
		dispatch(w, &it);
		refresh(w);
	}
	w->ended_us = w->now_us;
	if (w->failed) {
		snprintf(err, errcap, "%s", w->fail_msg);
		return -1;
	}
	return 0;
}

int sim_scenario_run(const struct sim_scenario *s, const struct sim_run_opts *opts,
                     struct sim_report *r, char *err, size_t errcap)
{
	struct sim_world *w = sim_world_new(s, opts, err, errcap);
	int rc;

	if (w == NULL)
		return -1;
	rc = sim_world_run(w, err, errcap);
	if (rc == 0)
		rc = sim_world_report(w, r, err, errcap);
	sim_world_free(w);
	return rc;
}
