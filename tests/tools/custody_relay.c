/*
 * custody_relay.c - a TCP relay between sn-bridge and mosquitto that can
 * leave out MQTT packets of chosen types: how the system tests make the
 * custody drainer's QoS 2 exchange stop at a chosen step (the broker's
 * PUBREC, the bridge's PUBREL, the broker's PUBCOMP) before they kill the
 * bridge.
 *
 *   custody_relay LISTEN_PORT BROKER_PORT RULES_FILE
 *
 * Listens on 127.0.0.1:LISTEN_PORT and joins each connection to
 * 127.0.0.1:BROKER_PORT. It reads both streams packet by packet (MQTT's
 * fixed header: type and flags, then a remaining length of 1-4 octets)
 * and forwards whole packets. Before each packet it reads RULES_FILE,
 * when it exists: lines "up T" (bridge to broker) or "down T" (broker to
 * bridge), T a packet type 1-15 (5 PUBREC, 6 PUBREL, 7 PUBCOMP); a packet
 * of a listed type and direction is left out, and "DIR dropped TYPE mid
 * N" is printed on stdout (flushed). Prints "ready" once it listens.
 * SIGTERM or SIGINT ends it with status 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAIRS 16u
#define BUF_MAX (1u << 20) /* one packet's octets held, at most */

struct side {
	int fd;
	uint8_t *buf;
	size_t len;
};

struct pair {
	bool used;
	struct side s[2]; /* 0: the bridge's end, 1: the broker's */
};

static volatile sig_atomic_t stop;
static const char *rules_path;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Whether RULES_FILE says to leave out packets of type in direction dir. */
static bool dropped(const char *dir, unsigned type)
{
	FILE *f = fopen(rules_path, "r");
	char line[64], d[8];
	unsigned t;
	bool yes = false;
	if (f == NULL)
		return false;
	while (!yes && fgets(line, sizeof line, f) != NULL)
		yes = sscanf(line, "%7s %u", d, &t) == 2 && strcmp(d, dir) == 0 && t == type;
	fclose(f);
	return yes;
}

static int connect_broker(unsigned port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (fd < 0)
		return -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/*
 * The octets of the whole packet at the start of buf, 0 while more are
 * needed, or SIZE_MAX for a remaining length no MQTT packet has.
 */
static size_t packet_size(const uint8_t *buf, size_t len)
{
	size_t rl = 0;
	for (size_t i = 1; i <= 4; i++) {
		if (i >= len)
			return 0;
		rl |= (size_t)(buf[i] & 0x7Fu) << (7 * (i - 1));
		if (!(buf[i] & 0x80u))
			return 1 + i + rl;
	}
	return SIZE_MAX;
}

/* Forward the whole packets read from side `from` of p. false: end the pair. */
static bool forward(struct pair *p, int from)
{
	struct side *in = &p->s[from], *out = &p->s[1 - from];
	const char *dir = from == 0 ? "up" : "down";
	size_t off = 0;
	ssize_t n;
	if (in->len == BUF_MAX)
		return false;
	n = recv(in->fd, in->buf + in->len, BUF_MAX - in->len, 0);
	if (n <= 0)
		return n < 0 && errno == EINTR;
	in->len += (size_t)n;
	for (;;) {
		size_t k = packet_size(in->buf + off, in->len - off);
		if (k == SIZE_MAX)
			return false;
		if (k == 0 || k > in->len - off)
			break;
		unsigned type = in->buf[off] >> 4;
		if (dropped(dir, type)) {
			unsigned mid = k >= 4 ? (unsigned)in->buf[off + 2] << 8 | in->buf[off + 3] : 0;
			printf("%s dropped %u mid %u\n", dir, type, mid);
			fflush(stdout);
		} else if (!write_all(out->fd, in->buf + off, k)) {
			return false;
		}
		off += k;
	}
	memmove(in->buf, in->buf + off, in->len - off);
	in->len -= off;
	return true;
}

static void pair_end(struct pair *p)
{
	for (int i = 0; i < 2; i++) {
		close(p->s[i].fd);
		free(p->s[i].buf);
	}
	memset(p, 0, sizeof *p);
}

int main(int argc, char **argv)
{
	struct pair pairs[PAIRS];
	struct sockaddr_in sin;
	unsigned lport, bport;
	int lfd, one = 1;
	if (argc != 4 || sscanf(argv[1], "%u", &lport) != 1 || sscanf(argv[2], "%u", &bport) != 1 ||
	    lport > 65535 || bport > 65535) {
		fprintf(stderr, "usage: custody_relay LISTEN_PORT BROKER_PORT RULES_FILE\n");
		return 2;
	}
	rules_path = argv[3];
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	memset(pairs, 0, sizeof pairs);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)lport);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(lfd, 8) != 0) {
		perror("custody_relay: listen");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		struct pollfd pfd[1 + 2 * PAIRS];
		nfds_t n = 1;
		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (unsigned i = 0; i < PAIRS; i++)
			for (int k = 0; k < 2; k++)
				pfd[n++] = (struct pollfd){ .fd = pairs[i].used ? pairs[i].s[k].fd : -1,
				                            .events = POLLIN };
		if (poll(pfd, n, 200) < 0) {
			if (errno == EINTR)
				continue;
			perror("custody_relay: poll");
			return 1;
		}
		for (unsigned i = 0; i < PAIRS; i++)
			for (int k = 0; k < 2; k++)
				if (pairs[i].used && (pfd[1 + 2 * i + (unsigned)k].revents & (POLLIN | POLLHUP |
				                                                            POLLERR)) &&
				    !forward(&pairs[i], k))
					pair_end(&pairs[i]);
		if (pfd[0].revents & POLLIN) {
			int cfd = accept(lfd, NULL, NULL), bfd;
			struct pair *p = NULL;
			if (cfd < 0)
				continue;
			for (unsigned i = 0; i < PAIRS && p == NULL; i++)
				if (!pairs[i].used)
					p = &pairs[i];
			bfd = p != NULL ? connect_broker(bport) : -1;
			if (bfd < 0) {
				close(cfd); /* no broker behind: as if it were down */
				continue;
			}
			setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			p->used = true;
			p->s[0] = (struct side){ .fd = cfd, .buf = malloc(BUF_MAX) };
			p->s[1] = (struct side){ .fd = bfd, .buf = malloc(BUF_MAX) };
			if (p->s[0].buf == NULL || p->s[1].buf == NULL)
				pair_end(p);
		}
	}
	for (unsigned i = 0; i < PAIRS; i++)
		if (pairs[i].used)
			pair_end(&pairs[i]);
	close(lfd);
	return 0;
}
