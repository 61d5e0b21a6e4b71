/*
 * store_log.c - the custody store's segment files: encoding and appending
 * records, starting new segments, fsync, reading a record back, deleting
 * segments whose records are all dead. The directory itself (lock, names,
 * the system calls) is sn-client/segdir.c, shared with the station queue.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge/store_int.h"

/* ---------------------------------------------------------------- errors */

void gw_slog_say(struct gw_store *s, const char *fmt, ...)
{
	int e = errno;
	size_t n = strlen(s->dir.path);
	va_list ap;

	if (n + 3 >= sizeof s->dir.err)
		n = 0;
	memcpy(s->dir.err, s->dir.path, n);
	memcpy(s->dir.err + n, ": ", 3);
	va_start(ap, fmt);
	vsnprintf(s->dir.err + n + 2, sizeof s->dir.err - n - 2, fmt, ap);
	va_end(ap);
	errno = e;
}

bool gw_slog_faulted(struct gw_store *s, enum gw_store_io op)
{
	static const char *const names[] = { "write", "fsync", "create" };
	int e;

	if (s->cfg.fault == NULL || (e = s->cfg.fault(s->cfg.fault_ctx, op)) == 0)
		return false;
	errno = e;
	gw_slog_say(s, "%s: %s (injected)", names[op], strerror(e));
	errno = e;
	return true;
}

int gw_slog_nomem(struct gw_store *s)
{
	gw_slog_say(s, "out of memory");
	return GW_STORE_ERR_NOMEM;
}

/* segdir's codes to ours; it only ever returns these. */
static int from_segdir(int rc)
{
	switch (rc) {
	case SNC_OK:
		return GW_STORE_OK;
	case SNC_ERR_NOMEM:
		return GW_STORE_ERR_NOMEM;
	case SNC_ERR_BUSY:
		return GW_STORE_ERR_BUSY;
	case SNC_ERR_INVALID:
		return GW_STORE_ERR_INVALID;
	case SNC_ERR_CORRUPT:
		return GW_STORE_ERR_CORRUPT;
	default:
		return GW_STORE_ERR_IO;
	}
}

/* ---------------------------------------------------------------- buffers */

int gw_slog_grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *b;

	if (*cap >= need)
		return GW_STORE_OK;
	b = realloc(*buf, need);
	if (b == NULL)
		return GW_STORE_ERR_NOMEM;
	*buf = b;
	*cap = need;
	return GW_STORE_OK;
}

uint8_t *gw_slog_scratch(struct gw_store *s, size_t len)
{
	if (gw_slog_grow(&s->pbuf, &s->pcap, len ? len : 1) != GW_STORE_OK) {
		(void)gw_slog_nomem(s);
		return NULL;
	}
	return s->pbuf;
}

int gw_slog_encode(struct gw_store *s, uint8_t type, uint8_t flags, uint64_t seq,
                   const uint8_t *payload, size_t len)
{
	struct mqttsn_record r = { .type = type, .flags = flags, .seq = seq,
	                           .payload = { payload, len } };
	int n;

	if (gw_slog_grow(&s->wbuf, &s->wcap, mqttsn_record_size(len)) != GW_STORE_OK)
		return gw_slog_nomem(s);
	n = mqttsn_record_encode(s->wbuf, s->wcap, &r);
	assert(n > 0);
	return n;
}

/* ---------------------------------------------------------------- segments */

static struct segment *active(struct gw_store *s)
{
	assert(s->nsegs > 0);
	return &s->segs[s->nsegs - 1];
}

struct segment *gw_slog_seg(struct gw_store *s, uint64_t num)
{
	size_t lo = 0, hi = s->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->segs[mid].num < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nsegs && s->segs[lo].num == num ? &s->segs[lo] : NULL;
}

int gw_slog_seg_add(struct gw_store *s, uint64_t num, int fd, uint64_t size)
{
	struct segment *g;

	if (s->nsegs == s->segcap) {
		size_t ncap = s->segcap ? s->segcap * 2 : 8;
		struct segment *v = realloc(s->segs, ncap * sizeof *v);

		if (v == NULL)
			return gw_slog_nomem(s);
		s->segs = v;
		s->segcap = ncap;
	}
	g = &s->segs[s->nsegs++];
	memset(g, 0, sizeof *g);
	g->num = num;
	g->fd = fd;
	g->size = size;
	s->stats.disk_bytes += size;
	s->stats.segments = s->nsegs;
	return GW_STORE_OK;
}

static int fsync_seg(struct gw_store *s, struct segment *g)
{
	if (gw_slog_faulted(s, GW_STORE_IO_FSYNC))
		return GW_STORE_ERR_IO;
	s->stats.fsyncs++;
	return from_segdir(snc_segdir_fsync(&s->dir, g->fd, g->num));
}

int gw_slog_sync(struct gw_store *s)
{
	int rc;

	if (!s->dirty)
		return GW_STORE_OK;
	rc = fsync_seg(s, active(s));
	if (rc == GW_STORE_OK)
		s->dirty = false;
	return rc;
}

/* A new segment after the last, its header durable before it is used. */
int gw_slog_create(struct gw_store *s)
{
	uint64_t num = s->nsegs ? active(s)->num + 1 : 1, size = 0;
	uint8_t hdr[MQTTSN_RECORD_OVERHEAD];
	struct mqttsn_record r = { .type = REC_SEGMENT, .seq = s->next_seq };
	int fd, rc;

	/* Entries keep a segment number in 32 bits. */
	if (num > UINT32_MAX) {
		gw_slog_say(s, "segment numbers exhausted");
		return GW_STORE_ERR_INVALID;
	}
	if (gw_slog_faulted(s, GW_STORE_IO_CREATE))
		return GW_STORE_ERR_IO;
	rc = mqttsn_record_encode(hdr, sizeof hdr, &r);
	assert(rc == (int)sizeof hdr);
	rc = from_segdir(snc_segdir_open_seg(&s->dir, num, 1, &fd));
	if (rc != GW_STORE_OK)
		return rc;
	rc = from_segdir(snc_segdir_append(&s->dir, fd, num, &size, hdr, sizeof hdr));
	if (rc == GW_STORE_OK) {
		s->stats.fsyncs++;
		rc = from_segdir(snc_segdir_fsync(&s->dir, fd, num));
	}
	if (rc == GW_STORE_OK)
		rc = from_segdir(snc_segdir_sync(&s->dir));
	if (rc == GW_STORE_OK)
		rc = gw_slog_seg_add(s, num, fd, size);
	if (rc != GW_STORE_OK) {
		close(fd);
		if (snc_segdir_unlink(&s->dir, num) != SNC_OK) {
			/* A header-only or empty leftover reads as nothing at open. */
		}
	}
	return rc;
}

/* Finish the active segment and start the next one. */
static int rotate(struct gw_store *s)
{
	int rc = gw_slog_sync(s);

	/* A broken segment may refuse fsync again; what it holds was either
	 * synced record by record (SYNC_ALWAYS) or never promised. */
	if (rc != GW_STORE_OK && !s->broken)
		return rc;
	s->dirty = false;
	rc = gw_slog_create(s);
	if (rc == GW_STORE_OK)
		s->broken = false;
	return rc;
}

/* Whether the active segment still ends where we think it does. */
static bool ends_at(struct segment *g, uint64_t size)
{
	struct stat st;

	return fstat(g->fd, &st) == 0 && (uint64_t)st.st_size == size;
}

static int append(struct gw_store *s, const uint8_t *buf, size_t n, bool sync, uint32_t *seg,
                  uint32_t *off)
{
	struct segment *g = active(s);
	uint64_t before;
	int rc;

	if (s->broken || g->size >= s->cfg.segment_bytes) {
		rc = rotate(s);
		if (rc != GW_STORE_OK)
			goto fail;
		g = active(s);
	}
	before = g->size;
	if (before > UINT32_MAX - n) {
		gw_slog_say(s, "segment over 4 GiB");
		rc = GW_STORE_ERR_INVALID;
		goto fail;
	}
	if (gw_slog_faulted(s, GW_STORE_IO_WRITE)) {
		rc = GW_STORE_ERR_IO;
		goto fail;
	}
	rc = from_segdir(snc_segdir_append(&s->dir, g->fd, g->num, &g->size, buf, n));
	if (rc != GW_STORE_OK) {
		int e = errno;

		/* segdir cut a partial record back; if that failed too, what
		 * follows must not be appended after the remains. */
		if (!ends_at(g, before))
			s->broken = true;
		errno = e;
		goto fail;
	}
	s->dirty = true;
	s->stats.disk_bytes += n;
	if (sync) {
		rc = gw_slog_sync(s);
		if (rc != GW_STORE_OK) {
			int e = errno;

			/* After a failed fsync nothing is known of the data: take the
			 * record back so that "not stored" is the truth, and leave the
			 * segment. Should the cut fail, the record may come back after
			 * a restart: a repeat, not a loss. */
			if (snc_segdir_truncate(&s->dir, g->fd, g->num, before) != SNC_OK) {
				/* counted as broken below */
			}
			g->size = before;
			s->stats.disk_bytes -= n;
			s->broken = true;
			errno = e;
			goto fail;
		}
	}
	*seg = (uint32_t)g->num;
	*off = (uint32_t)before;
	return GW_STORE_OK;
fail:
	s->stats.write_errors++;
	return rc;
}

int gw_slog_append(struct gw_store *s, size_t n, bool sync, uint32_t *seg, uint32_t *off)
{
	return append(s, s->wbuf, n, sync, seg, off);
}

int gw_slog_append_buf(struct gw_store *s, const uint8_t *buf, size_t n, uint32_t *seg,
                       uint32_t *off)
{
	return append(s, buf, n, false, seg, off);
}

int gw_slog_read(struct gw_store *s, uint32_t seg, uint32_t off, uint32_t size,
                 struct mqttsn_record *r)
{
	struct segment *g = gw_slog_seg(s, seg);
	int rc;

	assert(g != NULL);
	if (gw_slog_grow(&s->rbuf, &s->rcap, size) != GW_STORE_OK)
		return gw_slog_nomem(s);
	rc = from_segdir(snc_segdir_read_at(&s->dir, g->fd, g->num, off, s->rbuf, size));
	if (rc != GW_STORE_OK)
		return rc;
	if (mqttsn_record_decode(s->rbuf, size, r) != (int)size) {
		gw_slog_say(s, "record at segment %u offset %u damaged", (unsigned)seg, (unsigned)off);
		return GW_STORE_ERR_CORRUPT;
	}
	return GW_STORE_OK;
}

/* ---------------------------------------------------------------- deleting */

void gw_slog_drop_dead(struct gw_store *s)
{
	size_t k = 0;

	if (s->nsegs < 2 || s->segs[0].live_count != 0)
		return;
	/* Compaction's copies out of these segments must be on disk first. */
	if (gw_slog_sync(s) != GW_STORE_OK)
		return;
	while (k + 1 < s->nsegs && s->segs[k].live_count == 0) {
		struct segment *g = &s->segs[k];

		/* Stop at the first failure: deleting a later segment first would
		 * break the oldest-first rule (store_int.h). */
		if (snc_segdir_unlink(&s->dir, g->num) != SNC_OK)
			break;
		if (s->cp.active && s->cp.num == g->num)
			s->cp.active = false;
		close(g->fd);
		s->stats.disk_bytes -= g->size;
		s->stats.segments_deleted++;
		k++;
	}
	if (k > 0) {
		if (snc_segdir_sync(&s->dir) != SNC_OK) {
			/* A deletion lost in a crash leaves a file of dead records. */
		}
		memmove(s->segs, s->segs + k, (s->nsegs - k) * sizeof *s->segs);
		s->nsegs -= k;
		s->stats.segments = s->nsegs;
	}
}
