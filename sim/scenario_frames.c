/*
 * scenario_frames.c - link frames (codec/link.h) between every station and
 * the bridge of a scenario run, when the scenario has a [frames] section
 * with `on yes` (sim/SCENARIO.md).
 *
 * Each station's link gets a session at both ends: the station's (frames
 * up) and the bridge's (frames down). A message either core sends goes into
 * its end's session; the frames it makes go onto the simulated link, whose
 * byte counts are then the bytes of frames, headers, tags and batched
 * acknowledgements included. A frame's hold timer is an EV_FRAME event.
 * The counters an end must persist (codec/link.h) are "persisted" at once
 * into the world, so that an end that crashes and comes back starts from
 * its marks as the real programs do. A crash loses what its end had
 * queued and not yet framed; MQTT-SN's retransmission recovers it.
 *
 * Keys are derived from the seed, one per station; dictionaries are built
 * per corpus from its last dict_records records, the end of the corpus
 * that a scenario normally does not send (its stations start at record
 * 0), as sn-dict would build one from sample payloads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sim/rng.h"
#include "sim/scenario_world.h"

/* Frames one pump may send at once: bounded, and far above a link's need. */
#define PUMP_MAX 4096u

static uint64_t ms_of(uint64_t us)
{
	return us / 1000u;
}

/* ---------------------------------------------------------------- set-up */

static int build_dicts(struct sim_world *w, struct world_frames *f, char *err, size_t errcap)
{
	size_t c, k;

	f->ndicts = w->ncorpora < 255u ? w->ncorpora : 255u;
	f->dicts = calloc(f->ndicts ? f->ndicts : 1u, sizeof *f->dicts);
	f->dict_bytes = calloc(f->ndicts ? f->ndicts : 1u, sizeof *f->dict_bytes);
	if (f->dicts == NULL || f->dict_bytes == NULL)
		goto oom;
	for (c = 0; c < f->ndicts; c++) {
		const struct sim_corpus *cor = &w->corpora[c];
		uint64_t n = cor->n, take = w->s->frames.dict_records;
		struct mqttsn_bytes *samples;

		if (take > n)
			take = n;
		samples = calloc(take ? take : 1u, sizeof *samples);
		f->dict_bytes[c] = malloc(MQTTSN_FRAME_DICT_MAX);
		if (samples == NULL || f->dict_bytes[c] == NULL) {
			free(samples);
			goto oom;
		}
		for (k = 0; k < take; k++)
			sim_corpus_get(cor, n - take + k, &samples[k].ptr, &samples[k].len);
		f->dicts[c].id = (uint8_t)(c + 1u);
		f->dicts[c].ptr = f->dict_bytes[c];
		f->dicts[c].len = mqttsn_frame_dict_build(samples, take, f->dict_bytes[c],
		                                          MQTTSN_FRAME_DICT_MAX);
		free(samples);
	}
	return 0;
oom:
	snprintf(err, errcap, "out of memory (frame dictionaries)");
	return -1;
}

int sim_frames_new(struct sim_world *w, char *err, size_t errcap)
{
	struct world_frames *f;
	uint64_t state = w->s->seed ^ 0x6b65797300000000ull; /* "keys" */
	size_t i, k;

	if (!w->s->frames.on)
		return 0;
	if (sodium_init() < 0) {
		snprintf(err, errcap, "libsodium cannot be initialised");
		return -1;
	}
	f = calloc(1, sizeof *f);
	if (f == NULL || (f->ctx = malloc(sizeof *f->ctx)) == NULL) {
		free(f);
		snprintf(err, errcap, "out of memory (link frames)");
		return -1;
	}
	w->frames = f;
	if (w->s->frames.compress && build_dicts(w, f, err, errcap) != 0)
		return -1;
	for (i = 0; i < w->nst; i++) {
		struct world_station *ws = &w->ws[i];

		for (k = 0; k < MQTTSN_FRAME_KEY_LEN; k += 8) {
			uint64_t r = sim_splitmix64(&state);

			memcpy(ws->key + k, &r, 8);
		}
		ws->sched[2] = SIM_NEVER;
	}
	return 0;
}

static void link_gone(struct world_frames *f, struct mqttsn_link **l, enum sim_dir dir)
{
	if (*l == NULL)
		return;
	mqttsn_link_stats_add(&f->gone[dir], mqttsn_link_stats(*l));
	mqttsn_link_free(*l);
	*l = NULL;
}

void sim_frames_free(struct sim_world *w)
{
	struct world_frames *f = w->frames;
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; w->ws != NULL && i < w->nst; i++) {
		link_gone(f, &w->ws[i].lk_st, SIM_UP);
		link_gone(f, &w->ws[i].lk_gw, SIM_DOWN);
	}
	for (i = 0; f->dict_bytes != NULL && i < f->ndicts; i++)
		free(f->dict_bytes[i]);
	free(f->dict_bytes);
	free(f->dicts);
	free(f->ctx);
	free(f);
	w->frames = NULL;
}

/* The session of one end of station i's link. */
static struct mqttsn_link *link_make(struct sim_world *w, uint32_t i, bool station)
{
	const struct sim_frames_cfg *fc = &w->s->frames;
	struct world_frames *f = w->frames;
	struct world_station *ws = &w->ws[i];
	struct mqttsn_link_conf c;

	memset(&c, 0, sizeof c);
	c.mtu = station ? fc->mtu_up : fc->mtu_down;
	c.hold_ms = fc->hold_ms;
	c.direction = (uint8_t)(station ? MQTTSN_LINK_UP : MQTTSN_LINK_DOWN);
	c.encrypt = fc->encrypt;
	c.key_id = 0;
	if (fc->encrypt) {
		c.keys.set[0] = true;
		memcpy(c.keys.key[0], ws->key, MQTTSN_FRAME_KEY_LEN);
	}
	if (f->ndicts > 0) {
		c.dicts = f->dicts;
		c.ndicts = f->ndicts;
		if (ws->corpus != SIZE_MAX && ws->corpus < f->ndicts)
			c.dict = &f->dicts[ws->corpus];
	}
	return station ? mqttsn_link_new(&c, ws->st_tx_mark, ws->st_rx_floor)
	               : mqttsn_link_new(&c, ws->gw_tx_mark, ws->gw_rx_floor);
}

/* ---------------------------------------------------------------- sending */

static void schedule(struct sim_world *w, uint32_t i)
{
	struct world_station *ws = &w->ws[i];
	uint64_t a = ws->lk_st != NULL ? mqttsn_link_deadline(ws->lk_st) : UINT64_MAX;
	uint64_t b = ws->lk_gw != NULL ? mqttsn_link_deadline(ws->lk_gw) : UINT64_MAX;
	uint64_t t = a < b ? a : b;

	if (t != UINT64_MAX)
		sim_world_schedule(w, EV_FRAME, i, t * 1000u);
}

/* Send every frame due at one end of station i's link. */
static void pump(struct sim_world *w, uint32_t i, enum sim_dir dir)
{
	struct world_frames *f = w->frames;
	struct world_station *ws = &w->ws[i];
	struct mqttsn_link *l = dir == SIM_UP ? ws->lk_st : ws->lk_gw;
	unsigned n;

	for (n = 0; l != NULL && n < PUMP_MAX; n++) {
		int len = mqttsn_link_next_frame(l, f->ctx, ms_of(w->now_us), f->frame, sizeof f->frame);

		if (len == MQTTSN_FRAME_ERR_COUNTER) {
			/* persisted at once: the world is this end's disk */
			uint64_t mark = mqttsn_link_tx_want(l);

			if (dir == SIM_UP)
				ws->st_tx_mark = mark;
			else
				ws->gw_tx_mark = mark;
			mqttsn_link_tx_persisted(l, mark);
			continue;
		}
		if (len == 0)
			break;
		if (len < 0)
			continue; /* its messages were dropped and counted; go on */
		(void)sim_link_send(&ws->link, dir, w->now_us, f->frame, (size_t)len);
		sim_world_dirty_station(w, i, true);
	}
	schedule(w, i);
}

void sim_frames_send(struct sim_world *w, uint32_t i, enum sim_dir dir, const uint8_t *buf, size_t len)
{
	struct world_station *ws = &w->ws[i];
	struct mqttsn_link *l = dir == SIM_UP ? ws->lk_st : ws->lk_gw;

	if (l == NULL)
		return;
	/* a refusal (queue full, too big) is counted by the link; MQTT-SN retries */
	if (mqttsn_link_send(l, w->frames->ctx, buf, len, ms_of(w->now_us)) == MQTTSN_OK)
		pump(w, i, dir);
}

void sim_frames_on_timer(struct sim_world *w, uint32_t i)
{
	if (w->frames == NULL)
		return;
	pump(w, i, SIM_UP);
	pump(w, i, SIM_DOWN);
}

/* ---------------------------------------------------------------- receiving */

static void collect(void *arg, const uint8_t *msg, size_t len)
{
	struct world_frames *f = arg;

	if (f->nmsgs >= sizeof f->msg_len / sizeof f->msg_len[0] ||
	    len > sizeof f->msgs - f->msgs_used)
		return;
	memcpy(f->msgs + f->msgs_used, msg, len);
	f->msgs_used += len;
	f->msg_len[f->nmsgs++] = len;
}

static void hand_on(struct sim_world *w, uint32_t i, enum sim_dir dir, const uint8_t *buf, size_t len)
{
	if (dir == SIM_UP) {
		struct gw_addr a = sim_world_addr(i);

		if (w->gw == NULL) {
			w->to_down_bridge++;
			return;
		}
		gw_on_datagram(w->gw, &a, buf, len, ms_of(w->now_us));
		w->dirty_gw = true;
	} else {
		sim_station_input(w->ws[i].st, buf, len, w->now_us);
		sim_world_dirty_station(w, i, true);
	}
}

void sim_frames_receive(struct sim_world *w, uint32_t i, enum sim_dir dir, const uint8_t *buf,
                        size_t len)
{
	struct world_frames *f = w->frames;
	struct world_station *ws = &w->ws[i];
	struct mqttsn_link *l = dir == SIM_UP ? ws->lk_gw : ws->lk_st;
	struct mqttsn_frame_info info;
	uint64_t high;
	size_t k, at;
	int n;

	if (!mqttsn_frame_is_link(buf, len)) {
		/* both ends speak frames: a plain datagram is a damaged one */
		f->plain_in[dir]++;
		return;
	}
	if (l == NULL) {
		if (dir == SIM_UP)
			w->to_down_bridge++;
		return;
	}
	n = mqttsn_link_open(l, f->ctx, buf, len, f->content, sizeof f->content, &info);
	if (n < 0)
		return; /* counted by the link */
	if (mqttsn_link_rx_changed(l, &high)) {
		if (dir == SIM_UP)
			ws->gw_rx_floor = high + 1u;
		else
			ws->st_rx_floor = high + 1u;
		mqttsn_link_rx_persisted(l, high);
	}
	/* copied out first: handing a message on may send into this same link */
	f->nmsgs = f->msgs_used = 0;
	(void)mqttsn_link_deliver(l, f->content, (size_t)n, &info, collect, f);
	for (k = 0, at = 0; k < f->nmsgs; k++) {
		size_t m = f->msg_len[k];

		hand_on(w, i, dir, f->msgs + at, m);
		at += m;
	}
	/* delivery may have queued answers */
	pump(w, i, SIM_UP);
	pump(w, i, SIM_DOWN);
}

/* ---------------------------------------------------------------- ends up and down */

void sim_frames_station_up(struct sim_world *w, uint32_t i)
{
	struct world_station *ws = &w->ws[i];

	if (w->frames == NULL || ws->lk_st != NULL)
		return;
	ws->lk_st = link_make(w, i, true);
	if (ws->lk_st == NULL)
		sim_world_fail(w, "out of memory (station link frames)");
}

void sim_frames_station_down(struct sim_world *w, uint32_t i, bool orderly)
{
	struct world_station *ws = &w->ws[i];

	if (w->frames == NULL || ws->lk_st == NULL)
		return;
	if (orderly) {
		mqttsn_link_flush(ws->lk_st);
		pump(w, i, SIM_UP);
	}
	link_gone(w->frames, &ws->lk_st, SIM_UP);
}

void sim_frames_gw_up(struct sim_world *w)
{
	uint32_t i;

	if (w->frames == NULL)
		return;
	for (i = 0; i < w->nst; i++) {
		struct world_station *ws = &w->ws[i];

		if (ws->lk_gw != NULL)
			continue;
		ws->lk_gw = link_make(w, i, false);
		if (ws->lk_gw == NULL) {
			sim_world_fail(w, "out of memory (bridge link frames)");
			return;
		}
	}
}

void sim_frames_gw_down(struct sim_world *w, bool orderly)
{
	uint32_t i;

	if (w->frames == NULL)
		return;
	for (i = 0; i < w->nst; i++) {
		struct world_station *ws = &w->ws[i];

		if (ws->lk_gw == NULL)
			continue;
		if (orderly) {
			mqttsn_link_flush(ws->lk_gw);
			pump(w, i, SIM_DOWN);
		}
		link_gone(w->frames, &ws->lk_gw, SIM_DOWN);
	}
}

void sim_frames_stats(const struct sim_world *w, int dir, struct mqttsn_link_stats *sum)
{
	bool up = dir == SIM_UP || dir == SIM_DIRS, down = dir == SIM_DOWN || dir == SIM_DIRS;
	size_t i;

	memset(sum, 0, sizeof *sum);
	if (w->frames == NULL)
		return;
	if (up)
		mqttsn_link_stats_add(sum, &w->frames->gone[SIM_UP]);
	if (down)
		mqttsn_link_stats_add(sum, &w->frames->gone[SIM_DOWN]);
	for (i = 0; i < w->nst; i++) {
		if (up && w->ws[i].lk_st != NULL)
			mqttsn_link_stats_add(sum, mqttsn_link_stats(w->ws[i].lk_st));
		if (down && w->ws[i].lk_gw != NULL)
			mqttsn_link_stats_add(sum, mqttsn_link_stats(w->ws[i].lk_gw));
	}
}
