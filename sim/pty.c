/*
 * pty.c - the proxy's serial side: a pseudo-terminal pair for the station
 * and one for the ground, bytes carried between the two masters through
 * the link model at its rate.
 *
 * Both slaves are put in raw mode (no echo, no line editing, 8 bits) and
 * kept open by the proxy, so that a program opening and closing its end
 * never makes the master hang up. A writer faster than the line is held
 * back as a real serial port's flow control would: the proxy stops reading
 * that master while the link's queue is full, and the pty's own buffer
 * then blocks the writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include "sim/proxy_int.h"

static const char *const side_name[SIM_DIRS] = { "station", "ground" };

static int open_side(struct proxy *px, size_t side, char *err, size_t errlen)
{
	struct proxy_pty *p = &px->pty[side];
	struct termios tio;
	int flags;

	if (openpty(&p->master, &p->slave, NULL, NULL, NULL) != 0) {
		snprintf(err, errlen, "openpty: %s", strerror(errno));
		return -1;
	}
	if (ttyname_r(p->slave, p->path, sizeof p->path) != 0) {
		snprintf(err, errlen, "ttyname: %s", strerror(errno));
		return -1;
	}
	if (tcgetattr(p->slave, &tio) != 0) {
		snprintf(err, errlen, "tcgetattr %s: %s", p->path, strerror(errno));
		return -1;
	}
	cfmakeraw(&tio);
	if (tcsetattr(p->slave, TCSANOW, &tio) != 0) {
		snprintf(err, errlen, "tcsetattr %s: %s", p->path, strerror(errno));
		return -1;
	}
	flags = fcntl(p->master, F_GETFL);
	if (flags < 0 || fcntl(p->master, F_SETFL, flags | O_NONBLOCK) != 0 ||
	    fcntl(p->master, F_SETFD, FD_CLOEXEC) != 0 || fcntl(p->slave, F_SETFD, FD_CLOEXEC) != 0) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		return -1;
	}
	p->ev.kind = PK_PTY;
	p->ev.index = side;
	if (proxy_watch(px, p->master, EPOLLIN, &p->ev) != 0) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int proxy_pty_open(struct proxy *px, char *err, size_t errlen)
{
	size_t side;

	for (side = 0; side < SIM_DIRS; side++)
		if (open_side(px, side, err, errlen) != 0)
			return -1;
	for (side = 0; side < SIM_DIRS; side++)
		printf("%s %s\n", side_name[side], px->pty[side].path);
	return 0;
}

void proxy_pty_close(struct proxy *px)
{
	size_t side;

	for (side = 0; side < SIM_DIRS; side++) {
		if (px->pty[side].master >= 0)
			close(px->pty[side].master);
		if (px->pty[side].slave >= 0)
			close(px->pty[side].slave);
		px->pty[side].master = px->pty[side].slave = -1;
	}
}

/* The events a side wants now. */
static uint32_t interest(const struct proxy_pty *p)
{
	return (p->paused ? 0u : (uint32_t)EPOLLIN) | (p->want_out ? (uint32_t)EPOLLOUT : 0u);
}

static void update(struct proxy *px, size_t side)
{
	struct proxy_pty *p = &px->pty[side];

	if (proxy_rewatch(px, p->master, interest(p), &p->ev) != 0)
		px->c.send_errors++;
}

/* How many bytes (up to a chunk) fit the queue of the direction this side feeds. */
static size_t room(struct proxy *px, size_t side, uint64_t now)
{
	size_t limit = px->cfg->link.dir[side].queue_bytes, queued;

	if (limit == 0)
		return SIM_PROXY_SERIAL_CHUNK;
	queued = sim_link_queued_bytes(&px->link, (enum sim_dir)side, now);
	if (queued >= limit)
		return 0;
	return limit - queued < SIM_PROXY_SERIAL_CHUNK ? limit - queued : SIM_PROXY_SERIAL_CHUNK;
}

/* Read what the side's program wrote and give it to the model in chunks. */
static void read_side(struct proxy *px, size_t side)
{
	struct proxy_pty *p = &px->pty[side];
	uint8_t chunk[SIM_PROXY_SERIAL_CHUNK];
	enum sim_fate fate;
	unsigned budget = 256;
	uint64_t now;
	size_t space;
	ssize_t n;

	while (budget-- > 0) {
		now = proxy_now(px);
		space = room(px, side, now);
		if (space == 0) {
			p->paused = true;
			update(px, side);
			return;
		}
		n = read(p->master, chunk, space);
		if (n <= 0)
			return; /* EAGAIN; EIO cannot happen while we hold the slave */
		fate = sim_link_send(&px->link, (enum sim_dir)side, now, chunk, (size_t)n);
		proxy_sent(px, now, (enum sim_dir)side, (size_t)n, fate);
	}
}

static void flush_side(struct proxy *px, size_t side)
{
	struct proxy_pty *p = &px->pty[side];
	bool want;

	while (p->out_len > 0) {
		size_t run = SIM_PROXY_PTY_OUT_MAX - p->out_head;
		ssize_t n;

		if (run > p->out_len)
			run = p->out_len;
		n = write(p->master, p->out + p->out_head, run);
		if (n <= 0)
			break;
		p->out_head = (p->out_head + (size_t)n) % SIM_PROXY_PTY_OUT_MAX;
		p->out_len -= (size_t)n;
	}
	want = p->out_len > 0;
	if (want != p->want_out) {
		p->want_out = want;
		update(px, side);
	}
}

void proxy_pty_ready(struct proxy *px, size_t side, uint32_t events)
{
	if (events & EPOLLOUT)
		flush_side(px, side);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_side(px, side);
}

void proxy_pty_deliver(struct proxy *px, const struct sim_delivery *d)
{
	/* Up arrives at the ground side, down at the station side. */
	size_t side = d->dir == SIM_UP ? SIM_DOWN : SIM_UP;
	struct proxy_pty *p = &px->pty[side];
	size_t i;

	for (i = 0; i < d->len; i++) {
		if (p->out_len == SIM_PROXY_PTY_OUT_MAX) {
			px->c.pty_overflow += d->len - i;
			break;
		}
		p->out[(p->out_head + p->out_len) % SIM_PROXY_PTY_OUT_MAX] = d->data[i];
		p->out_len++;
	}
	flush_side(px, side);
}

void proxy_pty_resume(struct proxy *px, uint64_t now)
{
	size_t side;

	for (side = 0; side < SIM_DIRS; side++) {
		if (px->pty[side].paused && room(px, side, now) > 0) {
			px->pty[side].paused = false;
			update(px, side);
		}
	}
}

bool proxy_pty_paused(const struct proxy *px)
{
	return px->pty[SIM_UP].paused || px->pty[SIM_DOWN].paused;
}
