/*
 * proxy_udp.c - the proxy's UDP side: the listening socket the stations
 * send to, and one upstream socket per station address, connected to the
 * bridge, so that the bridge tells the stations apart and its answers find
 * their way back. Datagrams cross the link model in both directions,
 * tagged with the station's slot and generation so that a delivery for a
 * mapping that has since expired is dropped, not sent to a stranger.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "sim/proxy_int.h"

#define TAG(slot, gen) (((uint64_t)(gen) << 32) | (uint64_t)(slot))

/* ---------------------------------------------------------------- addresses */

/* "HOST:PORT" or "[V6]:PORT" into an address; 0 or -1 with a message. */
static int resolve(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char *err,
                   size_t errlen)
{
	char host[256];
	const char *colon, *h = spec, *port;
	size_t hlen;
	struct addrinfo hints, *res;
	int rc;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (close == NULL || close[1] != ':') {
			snprintf(err, errlen, "\"%s\": expected [ADDRESS]:PORT", spec);
			return -1;
		}
		h = spec + 1;
		hlen = (size_t)(close - h);
		port = close + 2;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL) {
			snprintf(err, errlen, "\"%s\": expected HOST:PORT", spec);
			return -1;
		}
		hlen = (size_t)(colon - spec);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof host || *port == '\0') {
		snprintf(err, errlen, "\"%s\": expected HOST:PORT", spec);
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "\"%s\": %s", spec, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void print_addr(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t n)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof host, port, sizeof port,
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, n, "?");
		return;
	}
	snprintf(out, n, ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* ---------------------------------------------------------------- open, close */

int proxy_udp_open(struct proxy *px, char *err, size_t errlen)
{
	const struct sim_proxy_config *cfg = px->cfg;
	struct sockaddr_storage ls;
	socklen_t llen = sizeof ls;
	char name[80];
	size_t i;

	if (cfg->listen == NULL || cfg->to == NULL) {
		snprintf(err, errlen, "UDP mode needs --listen and --to");
		return -1;
	}
	if (resolve(cfg->listen, &ls, &llen, err, errlen) != 0 ||
	    resolve(cfg->to, &px->to, &px->tolen, err, errlen) != 0)
		return -1;
	px->n_st = cfg->max_stations > 0 ? cfg->max_stations : SIM_PROXY_STATIONS_DEFAULT;
	px->st = calloc(px->n_st, sizeof *px->st);
	if (px->st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < px->n_st; i++) {
		px->st[i].fd = -1;
		px->st[i].ev.kind = PK_STATION;
		px->st[i].ev.index = i;
	}
	px->lfd = socket(ls.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (px->lfd < 0 || bind(px->lfd, (struct sockaddr *)&ls, llen) != 0) {
		snprintf(err, errlen, "--listen %s: %s", cfg->listen, strerror(errno));
		return -1;
	}
	px->lev.kind = PK_LISTEN;
	if (proxy_watch(px, px->lfd, EPOLLIN, &px->lev) != 0) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	llen = sizeof ls;
	getsockname(px->lfd, (struct sockaddr *)&ls, &llen);
	print_addr(&ls, llen, name, sizeof name);
	printf("listening %s\n", name);
	return 0;
}

static void station_drop(struct proxy *px, size_t slot)
{
	struct proxy_station *s = &px->st[slot];

	if (s->fd >= 0)
		close(s->fd); /* also leaves the epoll set */
	s->fd = -1;
	s->used = false;
}

void proxy_udp_close(struct proxy *px)
{
	size_t i;

	for (i = 0; px->st != NULL && i < px->n_st; i++)
		if (px->st[i].used)
			station_drop(px, i);
	free(px->st);
	px->st = NULL;
	if (px->lfd >= 0)
		close(px->lfd);
	px->lfd = -1;
}

/* ---------------------------------------------------------------- stations */

static bool same_addr(const struct proxy_station *s, const struct sockaddr_storage *a,
                      socklen_t alen)
{
	return s->addrlen == alen && memcmp(&s->addr, a, alen) == 0;
}

/* The slot of the station at address a, made if new; -1 if the table is full. */
static long station_find(struct proxy *px, const struct sockaddr_storage *a, socklen_t alen,
                         uint64_t now)
{
	struct proxy_station *s;
	size_t i, free_slot = px->n_st;
	char name[80];

	for (i = 0; i < px->n_st; i++) {
		if (px->st[i].used && same_addr(&px->st[i], a, alen))
			return (long)i;
		if (!px->st[i].used && free_slot == px->n_st)
			free_slot = i;
	}
	if (free_slot == px->n_st) {
		if (px->c.table_full++ == 0)
			fprintf(stderr, "sn-sim: station table full (%zu), datagrams from new "
			        "stations are dropped (counted as table_full)\n", px->n_st);
		return -1;
	}
	s = &px->st[free_slot];
	s->fd = socket(px->to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&px->to, px->tolen) != 0 ||
	    proxy_watch(px, s->fd, EPOLLIN, &s->ev) != 0) {
		fprintf(stderr, "sn-sim: upstream socket: %s\n", strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		px->c.send_errors++;
		return -1;
	}
	s->used = true;
	s->gen++;
	memcpy(&s->addr, a, alen);
	s->addrlen = alen;
	s->last_us = now;
	px->c.stations++;
	if (px->cfg->verbose) {
		print_addr(a, alen, name, sizeof name);
		fprintf(stderr, "sn-sim: %.3f s: new station %s (slot %zu)\n", (double)now / 1e6,
		        name, free_slot);
	}
	return (long)free_slot;
}

void proxy_udp_expire(struct proxy *px, uint64_t now)
{
	uint64_t idle = px->cfg->idle_us > 0 ? px->cfg->idle_us : SIM_PROXY_IDLE_DEFAULT_US;
	size_t i;

	for (i = 0; i < px->n_st; i++) {
		if (px->st[i].used && now - px->st[i].last_us > idle) {
			station_drop(px, i);
			px->c.expired++;
		}
	}
}

/* ---------------------------------------------------------------- traffic */

/* A datagram from a station: into the model, upward. */
void proxy_udp_listen_ready(struct proxy *px)
{
	struct sockaddr_storage a;
	socklen_t alen;
	ssize_t n;
	long slot;
	unsigned budget = 64; /* then let the others in */
	uint64_t now;
	enum sim_fate fate;

	while (budget-- > 0) {
		alen = sizeof a;
		n = recvfrom(px->lfd, px->buf, sizeof px->buf, 0, (struct sockaddr *)&a, &alen);
		if (n < 0)
			return; /* EAGAIN, or an ICMP error of an earlier send: nothing to do */
		now = proxy_now(px);
		slot = station_find(px, &a, alen, now);
		if (slot < 0)
			continue;
		px->st[slot].last_us = now;
		fate = sim_link_send_tag(&px->link, SIM_UP, now, px->buf, (size_t)n,
		                         TAG(slot, px->st[slot].gen));
		proxy_sent(px, now, SIM_UP, (size_t)n, fate);
	}
}

/* A datagram from the bridge for the station in slot: into the model, downward. */
void proxy_udp_station_ready(struct proxy *px, size_t slot)
{
	struct proxy_station *s = &px->st[slot];
	unsigned budget = 64;
	ssize_t n;
	uint64_t now;
	enum sim_fate fate;

	while (s->used && budget-- > 0) {
		n = recv(s->fd, px->buf, sizeof px->buf, 0);
		if (n < 0)
			return; /* EAGAIN, or ECONNREFUSED: the bridge is not there (yet) */
		now = proxy_now(px);
		s->last_us = now;
		fate = sim_link_send_tag(&px->link, SIM_DOWN, now, px->buf, (size_t)n,
		                         TAG(slot, s->gen));
		proxy_sent(px, now, SIM_DOWN, (size_t)n, fate);
	}
}

/* A datagram the model delivers: to the bridge (up) or to the station (down). */
void proxy_udp_deliver(struct proxy *px, const struct sim_delivery *d)
{
	size_t slot = (size_t)(d->tag & 0xffffffffu);
	uint16_t gen = (uint16_t)(d->tag >> 32);
	struct proxy_station *s;
	ssize_t n;

	if (slot >= px->n_st || !px->st[slot].used || px->st[slot].gen != gen) {
		px->c.stale++;
		return;
	}
	s = &px->st[slot];
	if (d->dir == SIM_UP)
		n = send(s->fd, d->data, d->len, 0);
	else
		n = sendto(px->lfd, d->data, d->len, 0, (const struct sockaddr *)&s->addr,
		           s->addrlen);
	if (n < 0)
		px->c.send_errors++;
}
