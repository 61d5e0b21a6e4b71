/*
 * serial.c - the MQTT-SN serial transport (serial.h).
 */
#include "bridge/serial.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge/log.h"
#include "codec/serial.h"
#include "sn-client/tty.h"

/* Reads per wake-up and octets per read: a bounded batch, so that one
 * chattering line cannot starve the others or the timers. */
#define ROUNDS 16
#define CHUNK 4096
/* Largest payload received: any MQTT-SN message, or an ENCAPSULATED one
 * with its inner message (5.5). */
#define PAYLOAD_MAX (2u * MQTTSN_MSG_MAX)
/* Milliseconds between two warnings of one kind about one line. */
#define WARN_EVERY_MS 10000u
/* Wake-ups in a row with nothing to read: a device stuck reporting an
 * error condition that read() does not clear. Closed rather than spun on. */
#define EMPTY_WAKES_MAX 1000u

struct line {
	struct gw_serial *owner;
	uint8_t index;
	struct gw_serial_line cfg;    /* strings owned */
	int fd;                       /* -1 while down */
	struct gw_watch watch;
	struct gw_timer reopen;
	uint32_t backoff_ms;

	struct mqttsn_serial_decoder dec;
	struct mqttsn_serial_raw raw;
	uint8_t *rx;
	size_t rx_cap;

	uint8_t *out;                 /* encoded, waiting for the line */
	size_t out_len;

	unsigned empty_wakes;
	uint64_t frames_in, frames_out, send_drops, line_errors;
	uint64_t damaged_seen;        /* rejections already logged or counted in a warning */
	uint64_t damage_warned_ms, damage_since_warn;
	uint64_t drop_warned_ms, drops_since_warn;
};

struct gw_serial {
	struct gw_loop *loop;
	gw_serial_recv_fn *on_recv;
	void *arg;
	struct line lines[GW_SERIAL_MAX];
	size_t n;
	uint8_t chunk[CHUNK];
};

/* ---------------------------------------------------------------- helpers */

static struct gw_addr line_addr(const struct line *l)
{
	struct gw_addr a;
	memset(&a, 0, sizeof a);
	a.link = (uint8_t)(GW_SERIAL_LINK_BASE + l->index);
	return a;
}

/* Frames the decoder rejected since it started (framed mode). */
static uint64_t rejected(const struct line *l)
{
	const struct mqttsn_serial_stats *st = &l->dec.stats;
	return st->crc_errors + st->runts + st->aborted + st->oversize;
}

static void decoder_reset(struct line *l)
{
	/* The stats outlive a reset: they are the line's since the start. */
	struct mqttsn_serial_stats fs = l->dec.stats;
	struct mqttsn_serial_raw_stats rs = l->raw.stats;
	int rc = l->cfg.raw ? mqttsn_serial_raw_init(&l->raw, l->rx, l->rx_cap)
	                    : mqttsn_serial_decoder_init(&l->dec, l->rx, l->rx_cap);
	(void)rc; /* cannot fail: the buffer is there and large */
	l->dec.stats = fs;
	l->raw.stats = rs;
}

/* What is being thrown away, said at most once per period with a count. */
static bool warn_due(uint64_t *warned_ms, uint64_t now)
{
	if (*warned_ms != 0 && now - *warned_ms < WARN_EVERY_MS)
		return false;
	*warned_ms = now;
	return true;
}

static void note_damage(struct line *l)
{
	uint64_t now, fresh;
	if (l->cfg.raw) {
		fresh = l->raw.stats.resync_drops - l->damaged_seen;
		l->damaged_seen = l->raw.stats.resync_drops;
	} else {
		fresh = rejected(l) - l->damaged_seen;
		l->damaged_seen = rejected(l);
	}
	if (fresh == 0)
		return;
	l->damage_since_warn += fresh;
	now = gw_clock_ms();
	if (!warn_due(&l->damage_warned_ms, now))
		return;
	if (l->cfg.raw)
		gw_log(GW_LOG_WARN, "serial %s: %llu octet(s) dropped to find the next message (raw "
		       "mode; damage on the line?)", l->cfg.path,
		       (unsigned long long)l->damage_since_warn);
	else
		gw_log(GW_LOG_WARN, "serial %s: %llu damaged frame(s) dropped since the last warning "
		       "(CRC errors %llu, runts %llu, aborts %llu, oversize %llu in all)", l->cfg.path,
		       (unsigned long long)l->damage_since_warn,
		       (unsigned long long)l->dec.stats.crc_errors,
		       (unsigned long long)l->dec.stats.runts, (unsigned long long)l->dec.stats.aborted,
		       (unsigned long long)l->dec.stats.oversize);
	l->damage_since_warn = 0;
}

static void count_drop(struct line *l, const char *why)
{
	l->send_drops++;
	l->drops_since_warn++;
	if (!warn_due(&l->drop_warned_ms, gw_clock_ms()))
		return;
	gw_log(GW_LOG_WARN, "serial %s: %s (%llu frame(s) dropped since the last warning)",
	       l->cfg.path, why, (unsigned long long)l->drops_since_warn);
	l->drops_since_warn = 0;
}

/* ---------------------------------------------------------------- up and down */

static void line_ready(void *arg, unsigned revents);

static unsigned interest(const struct line *l)
{
	return GW_LOOP_READ | (l->out_len > 0 ? GW_LOOP_WRITE : 0u);
}

/* Open the device and watch it. 0, or -1 with err. */
static int line_open(struct line *l, char *err, size_t errlen)
{
	struct snc_tty_config tc = {.baud = l->cfg.baud, .rtscts = l->cfg.rtscts};
	int fd = snc_tty_open(l->cfg.path, &tc, err, errlen);
	if (fd < 0)
		return -1;
	if (gw_watch_start(l->owner->loop, &l->watch, fd, GW_LOOP_READ) != 0) {
		snprintf(err, errlen, "epoll_ctl %s: %s", l->cfg.path, strerror(errno));
		close(fd);
		return -1;
	}
	l->fd = fd;
	l->empty_wakes = 0;
	decoder_reset(l);
	return 0;
}

/* The device failed: close it, say so once, and try again later. */
static void line_down(struct line *l, const char *why)
{
	uint64_t now = gw_clock_ms();
	gw_log(GW_LOG_WARN, "serial %s: %s; closed, opening it again every %u-%u s until it works",
	       l->cfg.path, why, GW_SERIAL_REOPEN_MIN_MS / 1000u, GW_SERIAL_REOPEN_MAX_MS / 1000u);
	l->line_errors++;
	gw_watch_stop(l->owner->loop, &l->watch);
	close(l->fd);
	l->fd = -1;
	if (l->out_len > 0) {
		l->out_len = 0;
		l->send_drops++;
	}
	l->backoff_ms = GW_SERIAL_REOPEN_MIN_MS;
	if (gw_timer_arm(l->owner->loop, &l->reopen, now + l->backoff_ms) != 0)
		gw_log(GW_LOG_ERR, "serial %s: out of memory arming a timer; not reopened", l->cfg.path);
}

static void on_reopen(void *arg, uint64_t now)
{
	struct line *l = arg;
	char err[256];
	if (line_open(l, err, sizeof err) == 0) {
		gw_log(GW_LOG_INFO, "serial %s: open again", l->cfg.path);
		return;
	}
	l->line_errors++;
	l->backoff_ms = l->backoff_ms >= GW_SERIAL_REOPEN_MAX_MS / 2 ? GW_SERIAL_REOPEN_MAX_MS
	                                                              : l->backoff_ms * 2;
	/* Said once when it went down; the attempts are for the debug log. */
	gw_log(GW_LOG_DEBUG, "serial: %s; next attempt in %u ms", err, l->backoff_ms);
	if (gw_timer_arm(l->owner->loop, &l->reopen, now + l->backoff_ms) != 0)
		gw_log(GW_LOG_ERR, "serial %s: out of memory arming a timer; not reopened", l->cfg.path);
}

/* ---------------------------------------------------------------- receive */

static void deliver(struct line *l, const uint8_t *payload, size_t len)
{
	struct gw_addr from = line_addr(l);
	l->frames_in++;
	l->owner->on_recv(l->owner->arg, &from, payload, len);
}

/* Feed what was read to the decoder; every intact frame goes up. */
static void feed(struct line *l, const uint8_t *in, size_t n)
{
	struct mqttsn_bytes frame;
	if (l->cfg.raw) {
		/* The raw decoder may hold a whole message after a resync: call
		 * again while one came out (codec/serial.h). */
		do {
			size_t used = mqttsn_serial_raw_feed(&l->raw, in, n, &frame);
			in += used;
			n -= used;
			if (frame.ptr != NULL)
				deliver(l, frame.ptr, frame.len);
		} while ((n > 0 || frame.ptr != NULL) && l->fd >= 0);
		return;
	}
	while (n > 0 && l->fd >= 0) {
		size_t used = mqttsn_serial_feed(&l->dec, in, n, &frame);
		in += used;
		n -= used;
		if (frame.ptr != NULL)
			deliver(l, frame.ptr, frame.len);
	}
}

static void line_read(struct line *l)
{
	for (int round = 0; round < ROUNDS && l->fd >= 0; round++) {
		ssize_t n = read(l->fd, l->owner->chunk, sizeof l->owner->chunk);
		if (n > 0) {
			l->empty_wakes = 0;
			feed(l, l->owner->chunk, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (round == 0 && ++l->empty_wakes >= EMPTY_WAKES_MAX) {
				line_down(l, "readable over and over with nothing to read");
				return;
			}
			break;
		}
		char why[160];
		if (n == 0)
			snprintf(why, sizeof why, "the line hung up");
		else
			snprintf(why, sizeof why, "read: %s", strerror(errno));
		line_down(l, why);
		return;
	}
	note_damage(l);
}

/* ---------------------------------------------------------------- send */

/* Hand the line what it takes now. */
static void line_flush(struct line *l)
{
	while (l->out_len > 0 && l->fd >= 0) {
		ssize_t n = write(l->fd, l->out, l->out_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			char why[160];
			snprintf(why, sizeof why, "write: %s", n < 0 ? strerror(errno) : "nothing taken");
			line_down(l, why);
			return;
		}
		l->out_len -= (size_t)n;
		memmove(l->out, l->out + n, l->out_len);
	}
	if (l->fd >= 0 && gw_watch_update(l->owner->loop, &l->watch, interest(l)) != 0)
		gw_log(GW_LOG_ERR, "serial %s: epoll_ctl: %s", l->cfg.path, strerror(errno));
}

static void line_ready(void *arg, unsigned revents)
{
	struct line *l = arg;
	if (revents & GW_LOOP_WRITE)
		line_flush(l);
	if ((revents & GW_LOOP_READ) && l->fd >= 0)
		line_read(l);
}

int gw_serial_send(struct gw_serial *s, const struct gw_addr *to, const uint8_t *buf, size_t len)
{
	size_t i = (size_t)to->link - GW_SERIAL_LINK_BASE;
	if (s == NULL || !gw_serial_owns(to) || i >= s->n) {
		gw_log(GW_LOG_ERR, "serial send: address of unknown line %u dropped", to->link);
		return -1;
	}
	struct line *l = &s->lines[i];
	if (l->fd < 0) {
		count_drop(l, "the line is down");
		return -1;
	}
	size_t room = GW_SERIAL_OUT_MAX - l->out_len;
	int n;
	if (l->cfg.raw) {
		n = len <= room ? (int)len : MQTTSN_ERR_NO_SPACE;
		if (n > 0)
			memcpy(l->out + l->out_len, buf, len);
	} else {
		n = mqttsn_serial_encode(buf, len, l->out + l->out_len, room);
	}
	if (n <= 0) {
		count_drop(l, n == MQTTSN_ERR_NO_SPACE ? "output buffer full (the line is slower than "
		                                          "the traffic, or flow control holds it)"
		                                        : "a datagram too big for a frame");
		return -1;
	}
	l->out_len += (size_t)n;
	l->frames_out++;
	line_flush(l);
	return 0;
}

/* ---------------------------------------------------------------- life */

bool gw_serial_owns(const struct gw_addr *addr)
{
	return addr->link >= GW_SERIAL_LINK_BASE && addr->link < GW_SERIAL_LINK_BASE + GW_SERIAL_MAX;
}

size_t gw_serial_count(const struct gw_serial *s)
{
	return s != NULL ? s->n : 0;
}

const char *gw_serial_addr_format(const struct gw_addr *addr, char *buf, size_t cap)
{
	if (gw_serial_owns(addr))
		snprintf(buf, cap, "serial line %u", (unsigned)(addr->link - GW_SERIAL_LINK_BASE));
	else
		snprintf(buf, cap, "(not a serial line: link %u)", addr->link);
	return buf;
}

void gw_serial_stats(const struct gw_serial *s, struct gw_serial_stats *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; s != NULL && i < s->n; i++) {
		const struct line *l = &s->lines[i];
		out->frames_in += l->frames_in;
		out->frames_out += l->frames_out;
		out->send_drops += l->send_drops;
		out->line_errors += l->line_errors;
		if (l->cfg.raw) {
			out->discarded += l->raw.stats.resync_drops;
		} else {
			out->damaged += rejected(l);
			out->discarded += l->dec.stats.discarded;
		}
	}
}

static int line_init(struct gw_serial *s, const struct gw_serial_line *cfg, char *err,
                     size_t errlen)
{
	struct line *l = &s->lines[s->n];
	l->owner = s;
	l->index = (uint8_t)s->n;
	l->fd = -1;
	gw_watch_init(&l->watch, line_ready, l);
	gw_timer_init(&l->reopen, on_reopen, l);
	l->cfg = *cfg;
	l->cfg.path = strdup(cfg->path);
	l->cfg.origin = strdup(cfg->origin != NULL ? cfg->origin : "serial");
	l->rx_cap = l->cfg.raw ? PAYLOAD_MAX : MQTTSN_SERIAL_DECODER_BUF(PAYLOAD_MAX);
	l->rx = malloc(l->rx_cap);
	l->out = malloc(GW_SERIAL_OUT_MAX);
	/* Counted now, so that gw_serial_free() releases what was taken. */
	s->n++;
	if (l->cfg.path == NULL || l->cfg.origin == NULL || l->rx == NULL || l->out == NULL) {
		snprintf(err, errlen, "serial: out of memory");
		return -1;
	}
	char why[256];
	if (line_open(l, why, sizeof why) != 0) {
		snprintf(err, errlen, "%s: serial %s", l->cfg.origin, why);
		return -1;
	}
	gw_log(GW_LOG_INFO, "listening on serial %s, %u baud%s, %s (serial line %u)", l->cfg.path,
	       l->cfg.baud, l->cfg.rtscts ? ", RTS/CTS" : "", l->cfg.raw ? "raw stream" : "framed",
	       (unsigned)l->index);
	return 0;
}

struct gw_serial *gw_serial_new(struct gw_loop *loop, const struct gw_serial_line *lines,
                                size_t n, gw_serial_recv_fn *on_recv, void *arg, char *err,
                                size_t errlen)
{
	struct gw_serial *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "serial: out of memory");
		return NULL;
	}
	s->loop = loop;
	s->on_recv = on_recv;
	s->arg = arg;
	for (size_t i = 0; i < n && i < GW_SERIAL_MAX; i++) {
		if (line_init(s, &lines[i], err, errlen) != 0) {
			gw_serial_free(s);
			return NULL;
		}
	}
	return s;
}

void gw_serial_free(struct gw_serial *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct line *l = &s->lines[i];
		gw_timer_disarm(s->loop, &l->reopen);
		if (l->fd >= 0) {
			gw_watch_stop(s->loop, &l->watch);
			close(l->fd);
		}
		free(l->cfg.path);
		free(l->cfg.origin);
		free(l->rx);
		free(l->out);
	}
	free(s);
}
