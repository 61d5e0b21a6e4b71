/*
 * relay.c - the UDP relay behind sn-dump --forward (relay.h).
 */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn-client/relay.h"
#include "sn-client/udp.h"

#define DGRAM_MAX 65536u

struct client {
	bool used;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	struct snc_udp up;       /* towards the gateway, for this client only */
	uint64_t last_seen;
	uint32_t gen;            /* changes when the slot gets another client */
};

/* A datagram held for the delay. */
struct held {
	uint64_t due;
	bool to_gateway;
	unsigned slot;
	uint32_t gen;
	size_t len;
	uint8_t *buf;
};

struct snc_relay {
	struct snc_udp listen;
	struct sockaddr_storage local;
	socklen_t local_len;
	char gw_host[256], gw_port[32];
	uint32_t delay_ms;
	struct client clients[SNC_RELAY_CLIENTS];
	uint32_t next_gen;
	struct held held[SNC_RELAY_HELD];   /* a ring, oldest first (same delay for all) */
	size_t head, nheld;
	struct snc_relay_stats st;
	char err[256];
	uint8_t buf[DGRAM_MAX];
};

/* ---------------------------------------------------------------- addresses */

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
	}
	return false;
}

/* A wildcard listening address is shown as loopback: a packet needs an address. */
static void concrete(struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)a;

		if (s->sin_addr.s_addr == htonl(INADDR_ANY))
			s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (a->ss_family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)a;

		if (memcmp(&s->sin6_addr, &in6addr_any, sizeof s->sin6_addr) == 0)
			s->sin6_addr = in6addr_loopback;
	}
}

/* ---------------------------------------------------------------- life */

int snc_relay_open(struct snc_relay **out, const char *host, const char *port,
                   const char *gw_host, const char *gw_port, uint32_t delay_ms, char *err,
                   size_t errcap)
{
	struct snc_relay *r;
	struct snc_udp probe;
	int rc;

	assert(out != NULL && port != NULL && gw_host != NULL && gw_port != NULL);
	*out = NULL;
	if (strlen(gw_host) >= sizeof r->gw_host || strlen(gw_port) >= sizeof r->gw_port) {
		snprintf(err, errcap, "%s port %s: too long", gw_host, gw_port);
		return SNC_ERR_INVALID;
	}
	/* The gateway's address must resolve now, not at the first client. */
	rc = snc_udp_open(&probe, gw_host, gw_port, err, errcap);
	if (rc != SNC_OK)
		return rc;
	snc_udp_close(&probe);
	r = calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(err, errcap, "out of memory");
		return SNC_ERR_NOMEM;
	}
	rc = snc_udp_listen(&r->listen, host, port, err, errcap);
	if (rc != SNC_OK) {
		free(r);
		return rc;
	}
	r->local_len = sizeof r->local;
	if (getsockname(r->listen.fd, (struct sockaddr *)&r->local, &r->local_len) != 0) {
		snprintf(err, errcap, "getsockname: %s", strerror(errno));
		snc_udp_close(&r->listen);
		free(r);
		return SNC_ERR_IO;
	}
	concrete(&r->local);
	memcpy(r->gw_host, gw_host, strlen(gw_host) + 1);
	memcpy(r->gw_port, gw_port, strlen(gw_port) + 1);
	r->delay_ms = delay_ms;
	*out = r;
	return SNC_OK;
}

void snc_relay_close(struct snc_relay *r)
{
	if (r == NULL)
		return;
	for (unsigned i = 0; i < SNC_RELAY_CLIENTS; i++)
		if (r->clients[i].used)
			snc_udp_close(&r->clients[i].up);
	for (size_t k = 0; k < r->nheld; k++)
		free(r->held[(r->head + k) % SNC_RELAY_HELD].buf);
	snc_udp_close(&r->listen);
	free(r);
}

size_t snc_relay_fds(const struct snc_relay *r, struct pollfd *fds, size_t cap)
{
	size_t n = 0;

	if (n < cap)
		fds[n++] = (struct pollfd){ r->listen.fd, POLLIN, 0 };
	for (unsigned i = 0; i < SNC_RELAY_CLIENTS && n < cap; i++)
		if (r->clients[i].used)
			fds[n++] = (struct pollfd){ r->clients[i].up.fd, POLLIN, 0 };
	return n;
}

const struct snc_relay_stats *snc_relay_stats(const struct snc_relay *r)
{
	return &r->st;
}

const char *snc_relay_errmsg(const struct snc_relay *r)
{
	return r->err;
}

/* ---------------------------------------------------------------- clients */

/* The slot of the client at addr, taken (and its socket opened) when new. */
static int client_slot(struct snc_relay *r, const struct sockaddr_storage *addr, socklen_t len,
                       uint64_t now)
{
	unsigned oldest = 0;
	struct client *c;

	for (unsigned i = 0; i < SNC_RELAY_CLIENTS; i++)
		if (r->clients[i].used && same_addr(&r->clients[i].addr, addr))
			return (int)i;
	for (unsigned i = 0; i < SNC_RELAY_CLIENTS; i++) {
		if (!r->clients[i].used) {
			oldest = i;
			break;
		}
		if (r->clients[i].last_seen < r->clients[oldest].last_seen)
			oldest = i;
	}
	c = &r->clients[oldest];
	if (c->used) {
		snc_udp_close(&c->up);
		c->used = false;
		r->st.evicted++;
	}
	if (snc_udp_open(&c->up, r->gw_host, r->gw_port, r->err, sizeof r->err) != SNC_OK)
		return -1;
	c->used = true;
	c->addr = *addr;
	c->addr_len = len;
	c->last_seen = now;
	c->gen = ++r->next_gen;
	return (int)oldest;
}

/* ---------------------------------------------------------------- sending */

static void deliver(struct snc_relay *r, bool to_gateway, unsigned slot, const uint8_t *buf,
                    size_t len)
{
	struct client *c = &r->clients[slot];
	int rc;

	if (to_gateway) {
		rc = c->up.base.ops->send(&c->up.base, buf, len, false);
		r->st.to_gateway++;
	} else {
		ssize_t n = sendto(r->listen.fd, buf, len, 0, (const struct sockaddr *)&c->addr,
		                   c->addr_len);

		rc = n < 0 ? SNC_ERR_IO : SNC_OK;
		r->st.to_clients++;
	}
	/* A lost datagram is what UDP does; the endpoints retry. */
	if (rc != SNC_OK)
		r->st.dropped++;
}

static void forward(struct snc_relay *r, bool to_gateway, unsigned slot, const uint8_t *buf,
                    size_t len, uint64_t now)
{
	struct held *h;

	if (r->delay_ms == 0) {
		deliver(r, to_gateway, slot, buf, len);
		return;
	}
	if (r->nheld == SNC_RELAY_HELD) {
		r->st.dropped++;
		return;
	}
	h = &r->held[(r->head + r->nheld) % SNC_RELAY_HELD];
	h->buf = malloc(len ? len : 1);
	if (h->buf == NULL) {
		r->st.dropped++;
		return;
	}
	memcpy(h->buf, buf, len);
	h->len = len;
	h->due = now + r->delay_ms;
	h->to_gateway = to_gateway;
	h->slot = slot;
	h->gen = r->clients[slot].gen;
	r->nheld++;
}

/* Sends what is due; returns when the next one is (UINT64_MAX: none held). */
static uint64_t release_due(struct snc_relay *r, uint64_t now)
{
	while (r->nheld > 0) {
		struct held *h = &r->held[r->head];

		if (h->due > now)
			return h->due;
		/* A client evicted meanwhile is another client now: drop it. */
		if (r->clients[h->slot].used && r->clients[h->slot].gen == h->gen)
			deliver(r, h->to_gateway, h->slot, h->buf, h->len);
		else
			r->st.dropped++;
		free(h->buf);
		h->buf = NULL;
		r->head = (r->head + 1) % SNC_RELAY_HELD;
		r->nheld--;
	}
	return UINT64_MAX;
}

/* ---------------------------------------------------------------- running */

static void show(struct snc_relay *r, bool to_gateway, unsigned slot, size_t len,
                 void (*seen)(void *arg, const struct snc_relay_packet *p), void *arg)
{
	struct snc_relay_packet p = {
		.to_gateway = to_gateway,
		.client = &r->clients[slot].addr,
		.client_len = r->clients[slot].addr_len,
		.relay = &r->local,
		.relay_len = r->local_len,
		.buf = r->buf,
		.len = len,
	};

	if (seen != NULL)
		seen(arg, &p);
}

uint64_t snc_relay_run(struct snc_relay *r, uint64_t now,
                       void (*seen)(void *arg, const struct snc_relay_packet *p), void *arg)
{
	int n, slot;

	assert(r != NULL);
	/* From clients: bounded by what the socket holds, like the others. */
	while ((n = r->listen.base.ops->recv(&r->listen.base, r->buf, sizeof r->buf)) >= 0) {
		slot = client_slot(r, &r->listen.from, r->listen.from_len, now);
		if (slot < 0)
			return 0;
		r->clients[slot].last_seen = now;
		show(r, true, (unsigned)slot, (size_t)n, seen, arg);
		forward(r, true, (unsigned)slot, r->buf, (size_t)n, now);
	}
	if (n == SNC_ERR_IO) {
		snprintf(r->err, sizeof r->err, "%s", r->listen.base.err);
		return 0;
	}
	for (unsigned i = 0; i < SNC_RELAY_CLIENTS; i++) {
		struct client *c = &r->clients[i];

		while (c->used && (n = c->up.base.ops->recv(&c->up.base, r->buf, sizeof r->buf)) >= 0) {
			show(r, false, i, (size_t)n, seen, arg);
			forward(r, false, i, r->buf, (size_t)n, now);
		}
	}
	return release_due(r, now);
}
