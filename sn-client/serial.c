/*
 * serial.c - the serial transport (serial.h).
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn-client/clock.h"
#include "sn-client/serial.h"

/* Reads per recv() call before it says "nothing yet": a line full of
 * noise must not keep the caller in here. The kernel still holds the
 * rest, so poll() reports the descriptor readable again. */
#define READS_PER_RECV 64
/* Bits an octet takes on the line: start, 8 data, stop (8N1). */
#define BITS_PER_OCTET 10u

/* ---------------------------------------------------------------- output */

/* Hand the line what it takes now, without waiting. false: it failed. */
static bool flush_now(struct snc_serial *s)
{
	while (s->out_len > 0) {
		ssize_t n = write(s->fd, s->out, s->out_len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			snprintf(s->base.err, sizeof s->base.err, "write %s: %s", s->path,
			         strerror(errno));
			return false;
		}
		if (n == 0)
			return true;
		s->out_len -= (size_t)n;
		memmove(s->out, s->out + n, s->out_len);
	}
	return true;
}

/* Milliseconds the line needs for n octets at its baud rate. */
static uint64_t line_ms(const struct snc_serial *s, size_t n)
{
	return ((uint64_t)n * BITS_PER_OCTET * 1000u + s->cfg.tty.baud - 1) / s->cfg.tty.baud;
}

/*
 * Write until the buffer is empty or `until` (monotonic ms) passes. A
 * signal ends the wait early: the caller is being interrupted anyway.
 */
static bool flush_until(struct snc_serial *s, uint64_t until)
{
	for (;;) {
		struct pollfd p = { s->fd, POLLOUT, 0 };
		uint64_t now;
		int rc;

		if (!flush_now(s))
			return false;
		now = snc_clock_mono_ms();
		if (s->out_len == 0 || now >= until)
			return true;
		rc = poll(&p, 1, until - now > INT_MAX ? INT_MAX : (int)(until - now));
		if (rc < 0 && errno == EINTR)
			return true;
		if (rc < 0) {
			snprintf(s->base.err, sizeof s->base.err, "poll %s: %s", s->path, strerror(errno));
			return false;
		}
		if (rc > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
			snprintf(s->base.err, sizeof s->base.err, "%s: the line hung up", s->path);
			return false;
		}
	}
}

static int serial_send(struct snc_transport *t, const uint8_t *buf, size_t len, bool broadcast)
{
	struct snc_serial *s = (struct snc_serial *)t;
	size_t need, before;
	int n;

	/* A point-to-point line: SEARCHGW goes to whoever is at the other end. */
	(void)broadcast;
	if (len == 0 || len > SNC_SERIAL_MSG_MAX) {
		snprintf(t->err, sizeof t->err, "%s: a datagram of %zu octets cannot be sent", s->path,
		         len);
		return SNC_ERR_IO;
	}
	need = s->cfg.raw ? len : MQTTSN_SERIAL_ENCODED_MAX(len);
	/* What is left of an earlier frame goes first; it must leave room. */
	if (s->out_len + need > s->out_cap &&
	    !flush_until(s, snc_clock_mono_ms() + line_ms(s, s->out_len) + s->cfg.stall_ms))
		return SNC_ERR_IO;
	if (s->out_len + need > s->out_cap) {
		s->out_drops++;
		snprintf(t->err, sizeof t->err,
		         "%s: the line takes nothing (flow control?): frame dropped (%llu so far)",
		         s->path, (unsigned long long)s->out_drops);
		return SNC_ERR_IO;
	}
	before = s->out_len;
	if (s->cfg.raw) {
		memcpy(s->out + before, buf, len);
		n = (int)len;
	} else {
		n = mqttsn_serial_encode(buf, len, s->out + before, s->out_cap - before);
		assert(n > 0); /* the room was checked, the length too */
	}
	s->out_len += (size_t)n;
	if (!flush_until(s, snc_clock_mono_ms() + line_ms(s, s->out_len) + s->cfg.stall_ms))
		return SNC_ERR_IO;
	/* Not one octet of this frame left: drop it whole rather than block. */
	if (s->out_len > 0 && s->out_len - before == (size_t)n) {
		s->out_len = before;
		s->out_drops++;
		snprintf(t->err, sizeof t->err,
		         "%s: the line did not take a frame in time (flow control?): dropped "
		         "(%llu so far)", s->path, (unsigned long long)s->out_drops);
		return SNC_ERR_IO;
	}
	s->frames_out++;
	return SNC_OK;
}

/* ---------------------------------------------------------------- input */

/*
 * Decode from what was read until a frame is complete (*frame set) or the
 * input is used up (*frame {NULL, 0}).
 */
static void decode(struct snc_serial *s, struct mqttsn_bytes *frame)
{
	frame->ptr = NULL;
	frame->len = 0;
	if (s->cfg.raw) {
		/* The raw decoder may hold a whole message after a resync. */
		while (s->in_pos < s->in_len || s->raw_more) {
			size_t used = mqttsn_serial_raw_feed(&s->raw, s->in + s->in_pos,
			                                     s->in_len - s->in_pos, frame);

			s->in_pos += used;
			s->raw_more = frame->ptr != NULL;
			if (frame->ptr != NULL)
				return;
		}
		return;
	}
	while (s->in_pos < s->in_len) {
		size_t used = mqttsn_serial_feed(&s->dec, s->in + s->in_pos, s->in_len - s->in_pos,
		                                 frame);

		s->in_pos += used;
		if (frame->ptr != NULL)
			return;
	}
}

static int serial_recv(struct snc_transport *t, uint8_t *buf, size_t cap)
{
	struct snc_serial *s = (struct snc_serial *)t;

	/* The rest of a frame the line could not take before, if it can now. */
	if (!flush_now(s))
		return SNC_ERR_IO;
	for (int reads = 0; reads < READS_PER_RECV;) {
		struct mqttsn_bytes frame;
		ssize_t n;

		decode(s, &frame);
		if (frame.ptr != NULL) {
			if (frame.len > cap) {
				s->too_big++;
				continue;
			}
			memcpy(buf, frame.ptr, frame.len);
			s->frames_in++;
			return (int)frame.len;
		}
		n = read(s->fd, s->in, SNC_SERIAL_READ_CHUNK);
		reads++;
		if (n > 0) {
			s->in_pos = 0;
			s->in_len = (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return SNC_ERR_EMPTY;
		if (n == 0)
			snprintf(t->err, sizeof t->err, "%s: the line hung up", s->path);
		else
			snprintf(t->err, sizeof t->err, "read %s: %s", s->path, strerror(errno));
		return SNC_ERR_IO;
	}
	return SNC_ERR_EMPTY;
}

static int serial_fd(const struct snc_transport *t)
{
	return ((const struct snc_serial *)t)->fd;
}

static void serial_close(struct snc_transport *t)
{
	snc_serial_close((struct snc_serial *)t);
}

static const struct snc_transport_ops serial_ops = { serial_send, serial_recv, serial_fd,
	                                             serial_close, NULL, NULL };

/* ---------------------------------------------------------------- opening */

int snc_serial_open(struct snc_serial *s, const char *path, const struct snc_serial_config *cfg,
                    char *err, size_t errcap)
{
	size_t rx_cap;
	int rc;

	assert(s != NULL && path != NULL && cfg != NULL);
	memset(s, 0, sizeof *s);
	s->base.ops = &serial_ops;
	s->fd = -1;
	s->cfg = *cfg;
	if (s->cfg.stall_ms == 0)
		s->cfg.stall_ms = SNC_SERIAL_STALL_MS;
	snprintf(s->path, sizeof s->path, "%s", path);
	if (!snc_tty_baud_ok(cfg->tty.baud)) {
		snprintf(err, errcap, "%s: %lu baud is not a standard rate", path,
		         (unsigned long)cfg->tty.baud);
		return SNC_ERR_INVALID;
	}
	rx_cap = cfg->raw ? SNC_SERIAL_MSG_MAX : MQTTSN_SERIAL_DECODER_BUF(SNC_SERIAL_MSG_MAX);
	s->out_cap = MQTTSN_SERIAL_ENCODED_MAX(SNC_SERIAL_MSG_MAX);
	s->rx = malloc(rx_cap);
	s->in = malloc(SNC_SERIAL_READ_CHUNK);
	s->out = malloc(s->out_cap);
	if (s->rx == NULL || s->in == NULL || s->out == NULL) {
		snprintf(err, errcap, "%s: out of memory", path);
		snc_serial_close(s);
		return SNC_ERR_NOMEM;
	}
	rc = cfg->raw ? mqttsn_serial_raw_init(&s->raw, s->rx, rx_cap)
	              : mqttsn_serial_decoder_init(&s->dec, s->rx, rx_cap);
	assert(rc == MQTTSN_OK);
	(void)rc;
	s->fd = snc_tty_open(path, &cfg->tty, err, errcap);
	if (s->fd < 0) {
		snc_serial_close(s);
		return SNC_ERR_IO;
	}
	return SNC_OK;
}

void snc_serial_close(struct snc_serial *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->rx);
	free(s->in);
	free(s->out);
	s->rx = s->in = s->out = NULL;
	s->in_pos = s->in_len = s->out_len = 0;
}

void snc_serial_stats(const struct snc_serial *s, struct snc_serial_stats *out)
{
	memset(out, 0, sizeof *out);
	out->frames_in = s->frames_in;
	out->frames_out = s->frames_out;
	out->out_drops = s->out_drops;
	out->oversize = s->too_big;
	if (s->cfg.raw) {
		out->oversize += s->raw.stats.oversize;
		out->discarded = s->raw.stats.resync_drops;
	} else {
		out->damaged = s->dec.stats.crc_errors + s->dec.stats.runts + s->dec.stats.aborted;
		out->oversize += s->dec.stats.oversize;
		out->discarded = s->dec.stats.discarded;
	}
}
