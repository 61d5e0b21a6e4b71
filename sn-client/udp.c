/*
 * udp.c - the UDP transport (udp.h).
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sn-client/udp.h"

/* ---------------------------------------------------------------- addresses */

void snc_udp_format_addr(const struct sockaddr_storage *a, socklen_t len, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	(void)len;
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		snprintf(out, cap, "[%s]:%u", host, (unsigned)ntohs(s6->sin6_port));
	} else if (a->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)a;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		snprintf(out, cap, "%s:%u", host, (unsigned)ntohs(s4->sin_port));
	} else {
		snprintf(out, cap, "?");
	}
}

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

/* Resolves host:port to one UDP address. flags: AI_PASSIVE for a listener. */
static int resolve(const char *host, const char *port, int flags, struct sockaddr_storage *out,
                   socklen_t *len, char *err, size_t errcap)
{
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = flags;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errcap, "%s port %s: %s", host != NULL ? host : "*", port,
		         gai_strerror(rc));
		return SNC_ERR_INVALID;
	}
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*len = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	return SNC_OK;
}

/* ---------------------------------------------------------------- operations */

static int udp_send(struct snc_transport *t, const uint8_t *buf, size_t len, bool broadcast)
{
	struct snc_udp *u = (struct snc_udp *)t;
	const struct sockaddr_storage *to = broadcast && u->bcast_len > 0 ? &u->bcast : &u->gw;
	socklen_t to_len = broadcast && u->bcast_len > 0 ? u->bcast_len : u->gw_len;
	char addr[64];

	if (to_len == 0) {
		snprintf(t->err, sizeof t->err, "no %s address to send to",
		         broadcast ? "broadcast" : "gateway");
		return SNC_ERR_IO;
	}
	for (;;) {
		ssize_t n = sendto(u->fd, buf, len, 0, (const struct sockaddr *)to, to_len);

		if (n >= 0)
			return SNC_OK;
		if (errno == EINTR)
			continue;
		snc_udp_format_addr(to, to_len, addr, sizeof addr);
		snprintf(t->err, sizeof t->err, "sendto %s: %s", addr, strerror(errno));
		return SNC_ERR_IO;
	}
}

static int udp_recv(struct snc_transport *t, uint8_t *buf, size_t cap)
{
	struct snc_udp *u = (struct snc_udp *)t;

	for (;;) {
		ssize_t n;

		u->from_len = sizeof u->from;
		n = recvfrom(u->fd, buf, cap, 0, (struct sockaddr *)&u->from, &u->from_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return SNC_ERR_EMPTY;
			/* An ICMP error from an earlier send (nobody at the gateway's
			 * port yet): not this datagram's fault, and retries cope. */
			if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)
				continue;
			snprintf(t->err, sizeof t->err, "recvfrom: %s", strerror(errno));
			return SNC_ERR_IO;
		}
		/* Anyone can send us a datagram; only the gateway is listened to. */
		if (!u->accept_any && !same_addr(&u->from, &u->gw))
			continue;
		return (int)n;
	}
}

static int udp_fd(const struct snc_transport *t)
{
	return ((const struct snc_udp *)t)->fd;
}

static void udp_close(struct snc_transport *t)
{
	snc_udp_close((struct snc_udp *)t);
}

static const struct snc_transport_ops udp_ops = { udp_send, udp_recv, udp_fd, udp_close, NULL, NULL };

/* ---------------------------------------------------------------- opening */

static int make_socket(struct snc_udp *u, int family, char *err, size_t errcap)
{
	memset(u, 0, sizeof *u);
	u->base.ops = &udp_ops;
	u->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0) {
		snprintf(err, errcap, "socket: %s", strerror(errno));
		return SNC_ERR_IO;
	}
	return SNC_OK;
}

int snc_udp_open(struct snc_udp *u, const char *host, const char *port, char *err, size_t errcap)
{
	struct sockaddr_storage gw;
	socklen_t len;
	int rc;

	assert(u != NULL && host != NULL && port != NULL);
	rc = resolve(host, port, 0, &gw, &len, err, errcap);
	if (rc != SNC_OK)
		return rc;
	rc = make_socket(u, gw.ss_family, err, errcap);
	if (rc != SNC_OK)
		return rc;
	u->gw = gw;
	u->gw_len = len;
	return SNC_OK;
}

int snc_udp_listen(struct snc_udp *u, const char *host, const char *port, char *err,
                   size_t errcap)
{
	struct sockaddr_storage a;
	socklen_t len;
	int rc;

	assert(u != NULL && port != NULL);
	rc = resolve(host, port, AI_PASSIVE, &a, &len, err, errcap);
	if (rc != SNC_OK)
		return rc;
	rc = make_socket(u, a.ss_family, err, errcap);
	if (rc != SNC_OK)
		return rc;
	/* No SO_REUSEADDR: UDP has no TIME_WAIT to skip, and on Linux it would
	 * let a second listener share the port and take half the datagrams. */
	u->accept_any = true;
	if (bind(u->fd, (const struct sockaddr *)&a, len) != 0) {
		char addr[64];

		snc_udp_format_addr(&a, len, addr, sizeof addr);
		snprintf(err, errcap, "bind %s: %s", addr, strerror(errno));
		snc_udp_close(u);
		return SNC_ERR_IO;
	}
	return SNC_OK;
}

int snc_udp_set_broadcast(struct snc_udp *u, const char *host, const char *port, char *err,
                          size_t errcap)
{
	int one = 1;
	int rc = resolve(host, port, 0, &u->bcast, &u->bcast_len, err, errcap);

	if (rc != SNC_OK)
		return rc;
	if (u->bcast.ss_family != (sa_family_t)0 && u->gw_len > 0 && u->bcast.ss_family != u->gw.ss_family) {
		snprintf(err, errcap, "%s: not the gateway's address family", host);
		u->bcast_len = 0;
		return SNC_ERR_INVALID;
	}
	if (u->bcast.ss_family == AF_INET &&
	    setsockopt(u->fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0) {
		snprintf(err, errcap, "setsockopt SO_BROADCAST: %s", strerror(errno));
		return SNC_ERR_IO;
	}
	return SNC_OK;
}

void snc_udp_close(struct snc_udp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}
