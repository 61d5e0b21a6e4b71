/*
 * store.c - the custody store (store.h): configuration, opening and
 * closing, the sync policy, the loop's tick, statistics and the summary.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge/store_int.h"

#define MIB (1024u * 1024u)
#define SEGMENT_MAX (1024u * MIB)
/* After a failed compaction step (a full disk), wait this long. */
#define COMPACT_RETRY_MS 1000u

const char *gw_store_strerror(int err)
{
	switch (err) {
	case GW_STORE_OK:
		return "success";
	case GW_STORE_ERR_INVALID:
		return "invalid argument";
	case GW_STORE_ERR_NOMEM:
		return "out of memory";
	case GW_STORE_ERR_IO:
		return "input/output error";
	case GW_STORE_ERR_FULL:
		return "store full";
	case GW_STORE_ERR_STATION_FULL:
		return "station's limit reached";
	case GW_STORE_ERR_TOO_BIG:
		return "message too big for the store";
	case GW_STORE_ERR_EMPTY:
		return "nothing waiting";
	case GW_STORE_ERR_NOT_FOUND:
		return "not found";
	case GW_STORE_ERR_BUSY:
		return "store directory in use by another process";
	case GW_STORE_ERR_CORRUPT:
		return "record damaged on disk";
	default:
		return "unknown error";
	}
}

void gw_store_config_defaults(struct gw_store_config *cfg)
{
	assert(cfg != NULL);
	memset(cfg, 0, sizeof *cfg);
	cfg->sync = GW_STORE_SYNC_ALWAYS;
	cfg->interval_ms = 100;
	cfg->max_bytes = 256u * (uint64_t)MIB;
	cfg->up_station_msgs = 10000;
	cfg->up_station_bytes = 16u * (uint64_t)MIB;
	cfg->down_station_msgs = 1000;
	cfg->down_station_bytes = MIB;
	cfg->segment_bytes = 4u * MIB;
	cfg->compact_min_bytes = 4u * MIB;
	cfg->compact_step_bytes = 64u * 1024u;
}

/* Zeros mean the defaults; the disk bound follows from the live one. */
static void normalise(struct gw_store_config *c)
{
	struct gw_store_config d;

	gw_store_config_defaults(&d);
	if (c->interval_ms == 0)
		c->interval_ms = d.interval_ms;
	if (c->segment_bytes == 0)
		c->segment_bytes = d.segment_bytes;
	if (c->segment_bytes > SEGMENT_MAX)
		c->segment_bytes = SEGMENT_MAX;
	if (c->compact_min_bytes == 0)
		c->compact_min_bytes = d.compact_min_bytes;
	if (c->compact_step_bytes == 0)
		c->compact_step_bytes = d.compact_step_bytes;
	if (c->max_disk_bytes == 0 && c->max_bytes != 0)
		c->max_disk_bytes = 2 * c->max_bytes + 3u * (uint64_t)c->segment_bytes;
}

/* ---------------------------------------------------------------- open, close */

int gw_store_open(struct gw_store **out, const char *dir, const struct gw_store_config *cfg,
                  char *err, size_t errcap)
{
	struct gw_store *s;
	int rc;

	assert(out != NULL && dir != NULL);
	*out = NULL;
	s = calloc(1, sizeof *s);
	if (s == NULL) {
		if (err != NULL && errcap > 0)
			snprintf(err, errcap, "%s: out of memory", dir);
		return GW_STORE_ERR_NOMEM;
	}
	if (cfg != NULL)
		s->cfg = *cfg;
	else
		gw_store_config_defaults(&s->cfg);
	normalise(&s->cfg);
	s->next_seq = 1;
	switch (snc_segdir_open(&s->dir, dir)) {
	case SNC_OK:
		rc = gw_srec_recover(s);
		break;
	case SNC_ERR_BUSY:
		rc = GW_STORE_ERR_BUSY;
		break;
	case SNC_ERR_INVALID:
		rc = GW_STORE_ERR_INVALID;
		break;
	default:
		rc = GW_STORE_ERR_IO;
		break;
	}
	if (rc != GW_STORE_OK) {
		int e = errno;

		if (err != NULL && errcap > 0)
			snprintf(err, errcap, "%s", s->dir.err);
		gw_store_close(s);
		errno = e;
		return rc;
	}
	*out = s;
	return GW_STORE_OK;
}

void gw_store_close(struct gw_store *s)
{
	if (s == NULL)
		return;
	if (s->nsegs > 0)
		(void)gw_slog_sync(s);
	for (size_t i = 0; i < s->nsegs; i++)
		close(s->segs[i].fd);
	gw_sidx_free(s);
	snc_segdir_close(&s->dir);
	free(s->segs);
	free(s->wbuf);
	free(s->rbuf);
	free(s->pbuf);
	free(s->cbuf);
	free(s);
}

size_t gw_store_summary(const struct gw_store *s, uint64_t open_ms, char *buf, size_t cap)
{
	const struct gw_store_stats *t = &s->stats;
	int n;

	assert(s != NULL && buf != NULL && cap > 0);
	n = snprintf(buf, cap,
	             "custody store %s: recovered %llu up and %llu down messages, %llu sessions, "
	             "%llu QoS 2 holds, %llu broker PUBREC marks of %llu stations; %llu octets live, "
	             "%llu on disk in %llu segments; %llu torn records dropped (%llu octets), "
	             "%llu damaged; %llu ms",
	             s->dir.path, (unsigned long long)t->recovered_up,
	             (unsigned long long)t->recovered_down, (unsigned long long)t->recovered_sessions,
	             (unsigned long long)t->recovered_holds, (unsigned long long)t->recovered_marks,
	             (unsigned long long)t->stations,
	             (unsigned long long)t->live_bytes, (unsigned long long)t->disk_bytes,
	             (unsigned long long)t->segments, (unsigned long long)t->torn_records,
	             (unsigned long long)t->torn_bytes, (unsigned long long)t->damaged,
	             (unsigned long long)open_ms);
	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* ---------------------------------------------------------------- the loop */

int gw_store_sync(struct gw_store *s)
{
	assert(s != NULL);
	return gw_slog_sync(s);
}

int gw_store_tick(struct gw_store *s, uint64_t now)
{
	int rc = GW_STORE_OK;

	assert(s != NULL);
	if (s->cfg.sync == GW_STORE_SYNC_INTERVAL && s->dirty &&
	    (now >= s->last_sync_ms + s->cfg.interval_ms || now < s->last_sync_ms))
		rc = gw_slog_sync(s);
	if (!s->dirty)
		s->last_sync_ms = now;
	if (gw_scmp_wanted(s) && now >= s->cp.retry_at) {
		int c = gw_store_compact_step(s);

		/* A failure costs disk space, not correctness: try again later. */
		if (c < 0)
			s->cp.retry_at = now + COMPACT_RETRY_MS;
	}
	return rc;
}

uint64_t gw_store_next_deadline(const struct gw_store *s, uint64_t now)
{
	uint64_t d = UINT64_MAX;

	assert(s != NULL);
	if (s->cfg.sync == GW_STORE_SYNC_INTERVAL && s->dirty)
		d = s->last_sync_ms + s->cfg.interval_ms;
	if (gw_scmp_wanted(s) && s->cp.retry_at < d)
		d = s->cp.retry_at;
	return d < now ? now : d;
}

const struct gw_store_stats *gw_store_stats(const struct gw_store *s)
{
	assert(s != NULL);
	return &s->stats;
}

uint64_t gw_store_index_bytes(const struct gw_store *s)
{
	assert(s != NULL);
	return gw_sidx_memory(s);
}

const char *gw_store_errmsg(const struct gw_store *s)
{
	assert(s != NULL);
	return s->dir.err;
}
