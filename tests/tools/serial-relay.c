/*
 * serial-relay.c - two pseudo-terminal pairs joined back to back, with
 * damage done to chosen frames: what the system tests put between a
 * station tool (sn-pub, sn-sub --serial) and sn-bridge's serial line.
 *
 *   serial-relay [--raw] [--up SPEC] [--down SPEC] [--seed N] [-v]
 *
 * Prints "station PATH" and "ground PATH" (the two slave devices), then
 * copies octets from the station's to the ground's (up) and back (down).
 * It reads the stream's frames (HDLC-style, codec/SERIAL.md; with --raw,
 * MQTT-SN messages by their length header) and counts the PUBLISH frames
 * of each direction from 1. SPEC is a comma-separated list of N:KIND: the
 * Nth PUBLISH frame of that direction gets
 *
 *   drop     one octet of the frame left out
 *   flip     one bit of one octet inverted
 *   insert   one random octet added inside the frame
 *   garbage  1-8 random octets (one of them a flag in framed mode) sent
 *            before the frame, which itself goes through intact
 *   noflag   the frame's opening flag left out (framed mode; the closing
 *            flag of the frame before it opens it)
 *
 * The positions and octets come from --seed (default 1): the same seed
 * gives the same damage. Each damage done is printed on stdout as "DIR N
 * KIND at OFFSET" (flushed), and with -v every frame as "DIR frame TYPE
 * LEN". Frames go out whole, each between two flags, so a damaged frame
 * never takes its neighbours with it. Both slaves are held open, so that a
 * program closing its device does not hang up the line. SIGTERM or SIGINT
 * ends it with status 0 after a line of counters on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define FLAG 0x7Eu
#define ESC 0x7Du
#define FRAME_MAX 70000u          /* escaped octets of one frame held */
#define OUT_MAX (1u << 20)        /* octets waiting for a reader */
#define DAMAGE_MAX 256u
#define PUBLISH 0x0Cu

enum kind { K_DROP, K_FLIP, K_INSERT, K_GARBAGE, K_NOFLAG };
static const char *const kind_name[] = { "drop", "flip", "insert", "garbage", "noflag" };

struct damage {
	unsigned long n;
	enum kind kind;
};

struct dir {
	const char *name;
	int in, out;                  /* masters: read in, write out */
	struct damage dmg[DAMAGE_MAX];
	size_t ndmg;
	uint8_t frame[FRAME_MAX];     /* the frame being received (escaped; raw: the message) */
	size_t flen;
	bool dropping;                /* framed: an overlong frame is passed on unparsed */
	unsigned long publishes, frames, damaged;
	uint8_t *out_buf;
	size_t out_len;
};

static bool raw_mode, verbose;
static uint64_t rng_state = 1;
static volatile sig_atomic_t stop;

static uint32_t rnd(void)
{
	/* xorshift64*: enough for choosing positions, and the same for a seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: serial-relay [--raw] [--up SPEC] [--down SPEC] [--seed N] [-v]\n"
	                "SPEC: N:KIND,... with KIND drop, flip, insert, garbage or noflag\n");
	return 2;
}

static bool parse_spec(struct dir *d, const char *spec)
{
	char *copy = strdup(spec), *save = NULL, *item;
	bool ok = copy != NULL;

	for (item = ok ? strtok_r(copy, ",", &save) : NULL; ok && item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':'), *end;
		size_t k;

		ok = colon != NULL && d->ndmg < DAMAGE_MAX;
		if (!ok)
			break;
		*colon = '\0';
		d->dmg[d->ndmg].n = strtoul(item, &end, 10);
		ok = *end == '\0' && d->dmg[d->ndmg].n > 0;
		for (k = 0; ok && k < sizeof kind_name / sizeof kind_name[0]; k++)
			if (strcmp(colon + 1, kind_name[k]) == 0)
				break;
		ok = ok && k < sizeof kind_name / sizeof kind_name[0];
		if (ok)
			d->dmg[d->ndmg++].kind = (enum kind)k;
	}
	free(copy);
	return ok;
}

/* ---------------------------------------------------------------- output */

static void put(struct dir *d, const uint8_t *p, size_t n)
{
	if (n > OUT_MAX - d->out_len) {
		fprintf(stderr, "serial-relay: %s: reader too slow, %zu octets lost\n", d->name, n);
		return;
	}
	memcpy(d->out_buf + d->out_len, p, n);
	d->out_len += n;
}

static void put1(struct dir *d, uint8_t c)
{
	put(d, &c, 1);
}

static void flush_dir(struct dir *d)
{
	while (d->out_len > 0) {
		ssize_t n = write(d->out, d->out_buf, d->out_len);

		if (n <= 0)
			return;
		d->out_len -= (size_t)n;
		memmove(d->out_buf, d->out_buf + n, d->out_len);
	}
}

/* ---------------------------------------------------------------- frames */

/* The MQTT-SN type of a held frame, or -1 when it cannot be told. */
static int frame_type(const struct dir *d)
{
	uint8_t m[4];
	size_t n = 0;
	bool esc = false;

	for (size_t i = 0; i < d->flen && n < sizeof m; i++) {
		if (!raw_mode && d->frame[i] == ESC && !esc) {
			esc = true;
			continue;
		}
		m[n++] = esc ? (uint8_t)(d->frame[i] ^ 0x20u) : d->frame[i];
		esc = false;
	}
	if (n >= 2 && m[0] != 0x01)
		return m[1];
	if (n >= 4 && m[0] == 0x01)
		return m[3];
	return -1;
}

static const struct damage *damage_for(const struct dir *d, unsigned long n)
{
	for (size_t i = 0; i < d->ndmg; i++)
		if (d->dmg[i].n == n)
			return &d->dmg[i];
	return NULL;
}

/* A whole frame is held: pass it on, damaged if its number is listed. */
static void frame_done(struct dir *d)
{
	const struct damage *dm = NULL;
	int type = frame_type(d);
	size_t at = 0;

	d->frames++;
	if (type == (int)PUBLISH)
		dm = damage_for(d, ++d->publishes);
	if (verbose)
		printf("%s frame 0x%02X %zu\n", d->name, (unsigned)(type & 0xFF), d->flen);
	if (dm != NULL) {
		d->damaged++;
		at = d->flen > 0 ? rnd() % d->flen : 0;
		if (dm->kind == K_GARBAGE) {
			unsigned g = 1 + rnd() % 8, flag_at = rnd() % g;

			for (unsigned i = 0; i < g; i++)
				put1(d, !raw_mode && i == flag_at ? (uint8_t)FLAG
				                                 : (uint8_t)(rnd() & 0xFFu));
		}
		printf("%s %lu %s at %zu\n", d->name, d->publishes, kind_name[dm->kind], at);
		fflush(stdout);
	}
	if (!raw_mode && (dm == NULL || dm->kind != K_NOFLAG))
		put1(d, FLAG);
	for (size_t i = 0; i < d->flen; i++) {
		if (dm != NULL && i == at) {
			if (dm->kind == K_DROP)
				continue;
			if (dm->kind == K_FLIP) {
				put1(d, (uint8_t)(d->frame[i] ^ (1u << (rnd() % 8))));
				continue;
			}
			if (dm->kind == K_INSERT)
				put1(d, (uint8_t)(rnd() & 0xFFu));
		}
		put1(d, d->frame[i]);
	}
	if (!raw_mode)
		put1(d, FLAG);
	d->flen = 0;
}

/* Framed mode: frames end at a flag. */
static void take_framed(struct dir *d, uint8_t c)
{
	if (c == FLAG) {
		if (d->dropping)
			put1(d, FLAG);
		else if (d->flen > 0)
			frame_done(d);
		d->dropping = false;
		return;
	}
	if (d->dropping) {
		put1(d, c);
		return;
	}
	if (d->flen == FRAME_MAX) {
		/* Not ours to judge: pass it on as it came. */
		put1(d, FLAG);
		put(d, d->frame, d->flen);
		put1(d, c);
		d->flen = 0;
		d->dropping = true;
		return;
	}
	d->frame[d->flen++] = c;
}

/* Raw mode: a message ends where its length header says. */
static void take_raw(struct dir *d, uint8_t c)
{
	size_t need;

	d->frame[d->flen++] = c;
	if (d->frame[0] == 0x01) {
		if (d->flen < 3)
			return;
		need = (size_t)d->frame[1] << 8 | d->frame[2];
	} else {
		need = d->frame[0];
	}
	/* A length the sender would never write: pass the octet on alone. */
	if (need < 2 || (d->frame[0] == 0x01 && need < 4)) {
		put(d, d->frame, d->flen);
		d->flen = 0;
		return;
	}
	if (d->flen >= need)
		frame_done(d);
}

static void pump(struct dir *d)
{
	uint8_t buf[4096];
	ssize_t n = read(d->in, buf, sizeof buf);

	for (ssize_t i = 0; i < n; i++) {
		if (raw_mode)
			take_raw(d, buf[i]);
		else
			take_framed(d, buf[i]);
	}
	flush_dir(d);
}

/* ---------------------------------------------------------------- main */

static int open_pair(int *master, int *slave, char *path, size_t cap)
{
	struct termios tio;

	if (openpty(master, slave, NULL, NULL, NULL) != 0 || ttyname_r(*slave, path, cap) != 0 ||
	    tcgetattr(*slave, &tio) != 0)
		return -1;
	cfmakeraw(&tio);
	if (tcsetattr(*slave, TCSANOW, &tio) != 0)
		return -1;
	return fcntl(*master, F_SETFL, fcntl(*master, F_GETFL) | O_NONBLOCK);
}

int main(int argc, char **argv)
{
	static struct dir up = { .name = "up" }, down = { .name = "down" };
	int m_st, s_st, m_gr, s_gr;
	char p_st[128], p_gr[128];
	struct sigaction sa;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--raw") == 0)
			raw_mode = true;
		else if (strcmp(argv[i], "-v") == 0)
			verbose = true;
		else if (strcmp(argv[i], "--up") == 0 && i + 1 < argc) {
			if (!parse_spec(&up, argv[++i]))
				return usage();
		} else if (strcmp(argv[i], "--down") == 0 && i + 1 < argc) {
			if (!parse_spec(&down, argv[++i]))
				return usage();
		} else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			rng_state = strtoull(argv[++i], NULL, 10) * 2654435761u + 1u;
		} else {
			return usage();
		}
	}
	if (open_pair(&m_st, &s_st, p_st, sizeof p_st) != 0 ||
	    open_pair(&m_gr, &s_gr, p_gr, sizeof p_gr) != 0) {
		fprintf(stderr, "serial-relay: openpty: %s\n", strerror(errno));
		return 1;
	}
	up.in = m_st;
	up.out = m_gr;
	down.in = m_gr;
	down.out = m_st;
	up.out_buf = malloc(OUT_MAX);
	down.out_buf = malloc(OUT_MAX);
	if (up.out_buf == NULL || down.out_buf == NULL)
		return 1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("station %s\nground %s\n", p_st, p_gr);
	fflush(stdout);
	while (!stop) {
		struct pollfd p[2] = {
			{ m_st, (short)(POLLIN | (down.out_len > 0 ? POLLOUT : 0)), 0 },
			{ m_gr, (short)(POLLIN | (up.out_len > 0 ? POLLOUT : 0)), 0 },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "serial-relay: poll: %s\n", strerror(errno));
			return 1;
		}
		if (p[0].revents & POLLOUT)
			flush_dir(&down);
		if (p[1].revents & POLLOUT)
			flush_dir(&up);
		if (p[0].revents & POLLIN)
			pump(&up);
		if (p[1].revents & POLLIN)
			pump(&down);
	}
	fprintf(stderr, "serial-relay: up frames %lu publishes %lu damaged %lu; down frames %lu "
	        "publishes %lu damaged %lu\n", up.frames, up.publishes, up.damaged, down.frames,
	        down.publishes, down.damaged);
	free(up.out_buf);
	free(down.out_buf);
	close(s_st);
	close(s_gr);
	close(m_st);
	close(m_gr);
	return 0;
}
