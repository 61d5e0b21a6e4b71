/*
 * scenario_world.c - building and freeing a scenario's world, and the
 * callbacks through which the gateway core and the stations act on it
 * (scenario_world.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/profile.h"
#include "sim/scenario_world.h"
#include "sim/trace.h"

/* ---------------------------------------------------------------- small things */

void sim_world_fail(struct sim_world *w, const char *msg)
{
	if (!w->failed)
		snprintf(w->fail_msg, sizeof w->fail_msg, "%s", msg);
	w->failed = true;
}

void sim_world_dirty_station(struct sim_world *w, uint32_t i, bool link)
{
	struct world_station *ws = &w->ws[i];

	if (!ws->dirty_st && !ws->dirty_link)
		w->dirty[w->ndirty++] = i;
	ws->dirty_st = true;
	if (link)
		ws->dirty_link = true;
}

static void dirty_link(struct sim_world *w, uint32_t i)
{
	struct world_station *ws = &w->ws[i];

	if (!ws->dirty_st && !ws->dirty_link)
		w->dirty[w->ndirty++] = i;
	ws->dirty_link = true;
}

/* A station's address at the gateway: its index. */
struct gw_addr sim_world_addr(uint32_t i)
{
	struct gw_addr a;

	memset(&a, 0, sizeof a);
	a.len = 4;
	a.data[0] = (uint8_t)(i >> 24);
	a.data[1] = (uint8_t)(i >> 16);
	a.data[2] = (uint8_t)(i >> 8);
	a.data[3] = (uint8_t)i;
	return a;
}

static uint32_t station_of(const struct gw_addr *a)
{
	if (a->len != 4)
		return UINT32_MAX;
	return (uint32_t)a->data[0] << 24 | (uint32_t)a->data[1] << 16 |
	       (uint32_t)a->data[2] << 8 | a->data[3];
}

/* ---------------------------------------------------------------- gateway callbacks */

static void link_send(struct sim_world *w, uint32_t i, enum sim_dir dir, const uint8_t *buf,
                      size_t len)
{
	if (w->frames != NULL) {
		sim_frames_send(w, i, dir, buf, len);
		return;
	}
	if (len > SIM_LINK_DATAGRAM_MAX)
		return;
	(void)sim_link_send(&w->ws[i].link, dir, w->now_us, buf, len);
	dirty_link(w, i);
}

static void gw_send(void *ctx, const struct gw_addr *to, const uint8_t *buf, size_t len)
{
	struct sim_world *w = ctx;
	uint32_t i;

	if (to == NULL) {
		/* the advertise destination: every station hears it */
		for (i = 0; i < w->nst; i++)
			link_send(w, i, SIM_DOWN, buf, len);
		return;
	}
	i = station_of(to);
	if (i < w->nst)
		link_send(w, i, SIM_DOWN, buf, len);
}

static int gw_open(void *ctx, uint32_t conn, const struct gw_broker_session *s)
{
	struct sim_world *w = ctx;

	w->dirty_broker = true;
	return sim_broker_open(w->broker, conn, s, w->now_us);
}

static void gw_close(void *ctx, uint32_t conn, bool fire_will)
{
	struct sim_world *w = ctx;

	w->dirty_broker = true;
	sim_broker_close(w->broker, conn, fire_will, w->now_us);
}

static int gw_publish(void *ctx, uint32_t conn, const char *topic, size_t topic_len,
                      const uint8_t *payload, size_t len, int qos, bool retain, uint32_t *token)
{
	struct sim_world *w = ctx;

	w->dirty_broker = true;
	return sim_broker_publish(w->broker, conn, topic, topic_len, payload, len, qos, retain, token,
	                          w->now_us);
}

static int gw_subscribe(void *ctx, uint32_t conn, const char *filter, size_t len, int qos,
                        uint32_t *token)
{
	struct sim_world *w = ctx;

	w->dirty_broker = true;
	return sim_broker_subscribe(w->broker, conn, filter, len, qos, token, w->now_us);
}

static int gw_unsubscribe(void *ctx, uint32_t conn, const char *filter, size_t len,
                          uint32_t *token)
{
	struct sim_world *w = ctx;

	w->dirty_broker = true;
	return sim_broker_unsubscribe(w->broker, conn, filter, len, token, w->now_us);
}

static void gw_log(void *ctx, enum gw_log_level level, const char *line)
{
	struct sim_world *w = ctx;

	if (w->opts.log != NULL)
		fprintf(w->opts.log, "%12.3f gw %s: %s\n", (double)w->now_us / 1e6,
		        level == GW_LOG_ERR ? "error" : level == GW_LOG_WARN ? "warn"
		                                      : level == GW_LOG_INFO ? "info" : "debug",
		        line);
}

int sim_world_gw_start(struct sim_world *w)
{
	if (w->gw != NULL)
		return 0;
	sim_frames_gw_up(w);
	w->gw = gw_new(&w->s->gw, &w->gw_ops, w);
	if (w->gw == NULL)
		return -1;
	w->dirty_gw = true;
	/* the first tick opens the shared connection */
	sim_world_schedule(w, EV_GW, 0, w->now_us);
	return 0;
}

/* Keep the counters of a gateway core that is about to go. */
static void gw_fold(struct sim_world *w)
{
	const struct gw_stats *g = gw_stats_total(w->gw);

	w->gw_acc.retries += g->retries;
	w->gw_acc.malformed += g->malformed;
	w->gw_acc.drop_congestion += g->drop_congestion;
	w->gw_acc.lost += g->lost;
	w->gw_acc.pub_up += g->pub_up;
	w->gw_acc.pub_down += g->pub_down;
	w->gw_acc.drop_no_subscription += g->drop_no_subscription;
}

void sim_world_gw_stop(struct sim_world *w, bool orderly)
{
	if (w->gw == NULL)
		return;
	gw_fold(w);
	if (orderly) {
		gw_shutdown(w->gw, w->now_us / 1000u);
		w->bridge_restarts++;
	} else {
		w->bridge_crashes++;
	}
	gw_free(w->gw);
	w->gw = NULL;
	sim_frames_gw_down(w, orderly);
	/* a crashed bridge's TCP connections drop; an orderly one closed them */
	if (!orderly)
		sim_broker_drop_all(w->broker, w->now_us);
	w->dirty_broker = true;
	w->gw_sched = SIM_NEVER;
}

/* ---------------------------------------------------------------- station callbacks */

static void station_send(void *ctx, uint32_t station, const uint8_t *buf, size_t len)
{
	link_send(ctx, station, SIM_UP, buf, len);
}

static int cmp_seq(const struct sim_world *w, size_t pub, uint64_t seq)
{
	uint64_t s = w->pubs[pub].seq;

	return s < seq ? -1 : s > seq;
}

size_t sim_world_find_pub(const struct sim_world *w, uint32_t station, uint64_t seq)
{
	const struct world_station *ws = &w->ws[station];
	size_t lo = 0, hi = ws->npubs, found = SIZE_MAX;

	if (ws->seq_sorted) {
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c = cmp_seq(w, ws->pubs[mid], seq);

			if (c == 0) {
				found = ws->pubs[mid];
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	} else {
		/* the latest push with that seq */
		for (hi = ws->npubs; hi > 0 && found == SIZE_MAX; hi--)
			if (w->pubs[ws->pubs[hi - 1]].seq == seq)
				found = ws->pubs[hi - 1];
	}
	return found;
}

static void station_fate(void *ctx, uint32_t station, uint64_t seq, int result)
{
	struct sim_world *w = ctx;
	size_t found = sim_world_find_pub(w, station, seq);

	if (found == SIZE_MAX) {
		w->fates_unknown++;
		return;
	}
	w->pubs[found].fate = (uint8_t)(result == 0 ? SIM_FATE_ACKED : SIM_FATE_REFUSED);
}

/* ---------------------------------------------------------------- the queues' directory */

/* A fresh directory under base; 0, or -1 with errno. */
static int workdir_in(struct sim_world *w, const char *base)
{
	size_t n = strlen(base) + sizeof "/sn-sim-XXXXXX";

	w->workdir = malloc(n);
	if (w->workdir == NULL)
		return -1;
	snprintf(w->workdir, n, "%s/sn-sim-XXXXXX", base);
	if (mkdtemp(w->workdir) == NULL) {
		free(w->workdir);
		w->workdir = NULL;
		return -1;
	}
	return 0;
}

/*
 * The queues' directory: where the options say, else in memory (/dev/shm)
 * when there is one, because a QoS 2 queue syncs its marks whatever its
 * sync setting, and a crash here is a process's, not the disk's; else
 * $TMPDIR or /tmp.
 */
static int make_workdir(struct sim_world *w, char *err, size_t errcap)
{
	const char *tmp = getenv("TMPDIR");
	const char *base = w->opts.workdir;

	if (base != NULL) {
		if (workdir_in(w, base) == 0)
			return 0;
		snprintf(err, errcap, "%s: cannot make a directory in it: %s", base, strerror(errno));
		return -1;
	}
	if (workdir_in(w, "/dev/shm") == 0)
		return 0;
	base = tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
	if (workdir_in(w, base) == 0)
		return 0;
	snprintf(err, errcap, "%s: cannot make a directory in it: %s", base, strerror(errno));
	return -1;
}

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/*
 * Remove dir and what is in it, to the depth given: the work directory
 * holds one directory per station, which holds files only.
 */
static void remove_tree(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			char *path;

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			path = path_join(dir, e->d_name);
			if (path == NULL)
				continue;
			if (depth > 0)
				remove_tree(path, depth - 1);
			else
				(void)unlink(path);
			free(path);
		}
		closedir(d);
	}
	(void)rmdir(dir);
}

static void remove_workdir(struct sim_world *w)
{
	if (w->workdir == NULL)
		return;
	remove_tree(w->workdir, 1);
	free(w->workdir);
	w->workdir = NULL;
}

/* ---------------------------------------------------------------- building */

static int load_corpora(struct sim_world *w, char *err, size_t errcap)
{
	size_t i, k;

	w->corpora = calloc(w->nst, sizeof *w->corpora);
	if (w->corpora == NULL) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	for (i = 0; i < w->nst; i++) {
		const char *path = w->s->st[i].corpus;

		if (path == NULL) {
			w->ws[i].corpus = SIZE_MAX;
			continue;
		}
		for (k = 0; k < w->ncorpora; k++)
			if (!strcmp(w->corpora[k].path, path))
				break;
		if (k == w->ncorpora) {
			if (sim_corpus_load(&w->corpora[k], path, err, errcap) != 0)
				return -1;
			w->ncorpora++;
		}
		w->ws[i].corpus = k;
	}
	return 0;
}

static int make_links(struct sim_world *w, char *err, size_t errcap)
{
	const struct sim_scenario *s = w->s;
	struct sim_outages out = { NULL, 0, 0 };
	struct sim_link_params p;
	char perr[512];
	size_t i;
	int rc = -1;

	if (sim_profile_apply(&p, s->profile, perr, sizeof perr) != 0) {
		snprintf(err, errcap, "%s: %s", s->path, perr);
		return -1;
	}
	for (i = 0; i < s->n_link_set; i++)
		if (sim_profile_set(&p, s->link_set[i].assignment, perr, sizeof perr) != 0) {
			snprintf(err, errcap, "%s:%d: %s", s->path, s->link_set[i].line, perr);
			return -1;
		}
	if (s->trace != NULL && sim_outages_load(&out, s->trace, perr, sizeof perr) != 0) {
		snprintf(err, errcap, "%s", perr);
		return -1;
	}
	p.outages = out.v;
	p.n_outages = out.n;
	for (i = 0; i < w->nst; i++) {
		/* each station's link draws its own losses, from the one seed */
		uint64_t state = s->seed ^ (0x5DEECE66Dull * (i + 1));
		uint64_t seed = sim_splitmix64(&state);

		if (sim_link_init(&w->ws[i].link, &p, seed) != 0) {
			snprintf(err, errcap, "%s: the link settings: %s", s->path, strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	sim_outages_free(&out);
	return rc;
}

struct sim_world *sim_world_new(const struct sim_scenario *s, const struct sim_run_opts *opts,
                                char *err, size_t errcap)
{
	struct sim_world *w = calloc(1, sizeof *w);
	struct sim_station_hooks hooks;
	size_t i;

	if (w == NULL) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	w->s = s;
	if (opts != NULL)
		w->opts = *opts;
	sim_pq_init(&w->pq);
	w->nst = s->n_st;
	w->gw_sched = SIM_NEVER;
	w->broker_sched = SIM_NEVER;
	w->ws = calloc(w->nst, sizeof *w->ws);
	w->stcfg = calloc(w->nst ? w->nst : 1u, sizeof *w->stcfg);
	w->dirty = calloc(w->nst, sizeof *w->dirty);
	w->broker = sim_broker_new(&s->broker);
	if (w->ws == NULL || w->stcfg == NULL || w->dirty == NULL || w->broker == NULL) {
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	w->gw_ops.send = gw_send;
	w->gw_ops.broker_open = gw_open;
	w->gw_ops.broker_close = gw_close;
	w->gw_ops.broker_publish = gw_publish;
	w->gw_ops.broker_subscribe = gw_subscribe;
	w->gw_ops.broker_unsubscribe = gw_unsubscribe;
	w->gw_ops.log = gw_log;
	for (i = 0; i < w->nst; i++) {
		w->ws[i].sched[0] = w->ws[i].sched[1] = w->ws[i].sched[2] = SIM_NEVER;
		w->ws[i].seq_sorted = true;
	}
	if (load_corpora(w, err, errcap) != 0 || make_links(w, err, errcap) != 0 ||
	    sim_frames_new(w, err, errcap) != 0 || make_workdir(w, err, errcap) != 0)
		goto fail;
	hooks.send = station_send;
	hooks.fate = station_fate;
	hooks.ctx = w;
	for (i = 0; i < w->nst; i++) {
		char *dir = path_join(w->workdir, s->st[i].name);

		/* shallow: the strings stay the scenario's */
		w->stcfg[i] = s->st[i];
		if (s->frames.on && w->stcfg[i].window < s->frames.window)
			w->stcfg[i].window = s->frames.window;
		/* an answer may wait a hold at each end: not a lost message */
		if (s->frames.on)
			w->stcfg[i].retry_slack_ms = 2u * s->frames.hold_ms;
		/* frames carry a message larger than the link's MTU in fragments */
		if (s->frames.on && w->stcfg[i].max_msg_auto)
			w->stcfg[i].max_msg = s->gw.max_msg_size;
		w->ws[i].st = dir != NULL ? sim_station_new(&w->stcfg[i], (uint32_t)i, dir, &hooks) : NULL;
		free(dir);
		if (w->ws[i].st == NULL) {
			snprintf(err, errcap, "out of memory");
			goto fail;
		}
	}
	return w;
fail:
	sim_world_free(w);
	return NULL;
}

void sim_world_free(struct sim_world *w)
{
	size_t i;

	if (w == NULL)
		return;
	if (w->gw != NULL)
		gw_free(w->gw);
	sim_frames_free(w);
	for (i = 0; w->ws != NULL && i < w->nst; i++) {
		sim_station_free(w->ws[i].st);
		sim_link_free(&w->ws[i].link);
		free(w->ws[i].pubs);
	}
	for (i = 0; w->corpora != NULL && i < w->ncorpora; i++)
		sim_corpus_free(&w->corpora[i]);
	remove_workdir(w);
	sim_broker_free(w->broker);
	sim_pq_clear(&w->pq);
	free(w->corpora);
	free(w->ws);
	free(w->stcfg);
	free(w->dirty);
	free(w->pubs);
	free(w->samples);
	free(w);
}

const struct sim_broker *sim_world_broker(const struct sim_world *w)
{
	return w->broker;
}
