/*
 * udp.c - the MQTT-SN UDP transport.
 */
/* recvmmsg() */
#define _GNU_SOURCE

#include "bridge/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge/config.h"
#include "bridge/log.h"

/* Datagrams taken per recvmmsg() and rounds per wake-up: a bounded batch. */
#define BATCH 16
#define ROUNDS 4
/* The largest UDP payload over IPv6 is 65527; IPv4's is smaller. */
#define SLOT 65536
/* Receive buffer asked for per listener. */
#define RCVBUF (4 * 1024 * 1024)
/* Milliseconds between two warnings about dropped datagrams. */
#define WARN_EVERY_MS 10000u

struct listener {
	struct gw_udp *udp;
	uint8_t index;
	int fd;
	int family;
	char name[64];
	struct gw_watch watch;
};

struct gw_udp {
	struct gw_loop *loop;
	gw_udp_recv_fn *on_recv;
	void *arg;

	struct listener listeners[GW_LISTEN_MAX];
	size_t n;

	bool has_advertise;
	struct sockaddr_storage adv;
	socklen_t adv_len;
	size_t adv_listener;

	uint64_t send_drops;
	uint64_t last_warn_ms;
	uint64_t drops_since_warn;

	uint8_t *bufs;                 /* BATCH slots of SLOT octets */
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage names[BATCH];
};

/* ---------------------------------------------------------------- addresses */

const char *gw_udp_addr_format(const struct gw_addr *addr, char *buf, size_t cap)
{
	struct sockaddr_storage ss;
	char host[INET6_ADDRSTRLEN] = "?";
	memset(&ss, 0, sizeof ss);
	memcpy(&ss, addr->data, addr->len <= sizeof addr->data ? addr->len : sizeof addr->data);
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		snprintf(buf, cap, "%s:%u", host, ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		snprintf(buf, cap, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, cap, "(unknown address)");
	}
	return buf;
}

/* A numeric address and port into ss; no name lookups in a daemon's path. */
static int resolve_numeric(const char *host, uint16_t port, bool passive,
                           struct sockaddr_storage *ss, socklen_t *len, char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL;
	char service[8];
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	snprintf(service, sizeof service, "%u", port);
	int rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "\"%s\": not a numeric IPv4 or IPv6 address (%s)", host,
		         gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* ---------------------------------------------------------------- receive */

static void listener_ready(void *arg, unsigned revents)
{
	struct listener *l = arg;
	struct gw_udp *udp = l->udp;
	(void)revents;
	for (int round = 0; round < ROUNDS; round++) {
		for (size_t i = 0; i < BATCH; i++) {
			udp->iov[i] = (struct iovec){.iov_base = udp->bufs + i * SLOT, .iov_len = SLOT};
			memset(&udp->names[i], 0, sizeof udp->names[i]);
			udp->msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &udp->names[i],
				.msg_namelen = sizeof udp->names[i],
				.msg_iov = &udp->iov[i],
				.msg_iovlen = 1,
			};
			udp->msgs[i].msg_len = 0;
		}
		int n = recvmmsg(l->fd, udp->msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			/* ICMP errors of earlier sends surface here: not ours to act on. */
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNREFUSED)
				gw_log(GW_LOG_WARN, "recvmmsg %s: %s", l->name, strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			struct gw_addr from = {.link = l->index};
			socklen_t nlen = udp->msgs[i].msg_hdr.msg_namelen;
			if (nlen == 0 || nlen > sizeof from.data)
				continue;
			if (udp->names[i].ss_family == AF_INET6) {
				/* The flow label is the sender's choice per packet, not its identity. */
				((struct sockaddr_in6 *)&udp->names[i])->sin6_flowinfo = 0;
			}
			from.len = (uint8_t)nlen;
			memcpy(from.data, &udp->names[i], nlen);
			udp->on_recv(udp->arg, &from, udp->bufs + (size_t)i * SLOT, udp->msgs[i].msg_len);
		}
		if (n < BATCH)
			return;
	}
}

/* ---------------------------------------------------------------- open */

static int open_listener(struct gw_udp *udp, const char *spec, uint16_t default_port,
                         bool optional, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 16];
	uint16_t port = default_port;
	bool has_port;
	struct sockaddr_storage ss;
	socklen_t len;
	char why[256];
	if (gw_hostport_parse(spec, host, sizeof host, &port, &has_port, why, sizeof why) != 0 ||
	    resolve_numeric(host, port, true, &ss, &len, why, sizeof why) != 0) {
		snprintf(err, errlen, "listen %s", why);
		return -1;
	}
	struct listener *l = &udp->listeners[udp->n];
	l->udp = udp;
	l->index = (uint8_t)udp->n;
	l->family = ss.ss_family;
	snprintf(l->name, sizeof l->name, l->family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, port);
	l->fd = socket(l->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		if (optional && errno == EAFNOSUPPORT) {
			gw_log(GW_LOG_WARN, "listen %s: %s; skipped", l->name, strerror(errno));
			return 0;
		}
		snprintf(err, errlen, "socket %s: %s", l->name, strerror(errno));
		return -1;
	}
	int one = 1;
	/* A restarted daemon binds at once; UDP has no TIME_WAIT, but keep it tidy. */
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* So that 0.0.0.0 and :: can share the port. */
	if (l->family == AF_INET6 && setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one)) {
		snprintf(err, errlen, "setsockopt IPV6_V6ONLY %s: %s", l->name, strerror(errno));
		close(l->fd);
		return -1;
	}
	/*
	 * Thousands of stations reconnecting after an outage arrive in one burst;
	 * the kernel caps this at net.core.rmem_max, which is fine: best effort.
	 */
	int want = RCVBUF;
	setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
	if (bind(l->fd, (struct sockaddr *)&ss, len) != 0) {
		if (optional && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT)) {
			gw_log(GW_LOG_WARN, "bind %s: %s; skipped", l->name, strerror(errno));
			close(l->fd);
			return 0;
		}
		snprintf(err, errlen, "bind %s: %s", l->name, strerror(errno));
		close(l->fd);
		return -1;
	}
	gw_watch_init(&l->watch, listener_ready, l);
	if (gw_watch_start(udp->loop, &l->watch, l->fd, GW_LOOP_READ) != 0) {
		snprintf(err, errlen, "epoll_ctl %s: %s", l->name, strerror(errno));
		close(l->fd);
		return -1;
	}
	udp->n++;
	gw_log(GW_LOG_INFO, "listening on udp %s", l->name);
	return 0;
}

static void join_group(const struct gw_udp *udp, const struct listener *l)
{
	int rc;
	if (udp->adv.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&udp->adv;
		struct ip_mreq mreq = {.imr_multiaddr = sin->sin_addr};
		mreq.imr_interface.s_addr = htonl(INADDR_ANY);
		rc = setsockopt(l->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&udp->adv;
		struct ipv6_mreq mreq = {.ipv6mr_multiaddr = sin6->sin6_addr,
		                         .ipv6mr_interface = sin6->sin6_scope_id};
		rc = setsockopt(l->fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq);
	}
	/* Only SEARCHGW sent to the group depends on it: warn, run on. */
	if (rc != 0)
		gw_log(GW_LOG_WARN, "joining the advertise group on %s: %s", l->name, strerror(errno));
}

static int setup_advertise(struct gw_udp *udp, const char *spec, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 16];
	uint16_t port = 0;
	bool has_port;
	char why[256];
	if (gw_hostport_parse(spec, host, sizeof host, &port, &has_port, why, sizeof why) != 0) {
		snprintf(err, errlen, "advertise_addr %s", why);
		return -1;
	}
	if (!has_port) {
		snprintf(err, errlen, "advertise_addr \"%s\": HOST:PORT expected", spec);
		return -1;
	}
	if (resolve_numeric(host, port, false, &udp->adv, &udp->adv_len, why, sizeof why) != 0) {
		snprintf(err, errlen, "advertise_addr %s", why);
		return -1;
	}
	size_t i;
	for (i = 0; i < udp->n; i++) {
		if (udp->listeners[i].family == udp->adv.ss_family)
			break;
	}
	if (i == udp->n) {
		snprintf(err, errlen, "advertise_addr %s: no listener of that address family", spec);
		return -1;
	}
	struct listener *l = &udp->listeners[i];
	udp->adv_listener = i;
	udp->has_advertise = true;
	bool multicast;
	if (udp->adv.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&udp->adv;
		multicast = IN_MULTICAST(ntohl(sin->sin_addr.s_addr));
		int one = 1;
		/* Harmless for unicast; needed for 255.255.255.255 and subnet broadcasts. */
		if (setsockopt(l->fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0) {
			snprintf(err, errlen, "setsockopt SO_BROADCAST %s: %s", l->name, strerror(errno));
			return -1;
		}
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&udp->adv;
		multicast = IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr);
	}
	if (multicast)
		join_group(udp, l);
	gw_log(GW_LOG_INFO, "advertising to %s from %s", spec, l->name);
	return 0;
}

struct gw_udp *gw_udp_new(struct gw_loop *loop, char *const *listen, size_t n_listen, uint16_t port,
                          const char *advertise, gw_udp_recv_fn *on_recv, void *arg, char *err,
                          size_t errlen)
{
	static char any4[] = "0.0.0.0", any6[] = "::";
	char *const defaults[] = {any4, any6};
	struct gw_udp *udp = calloc(1, sizeof *udp);
	if (udp == NULL || (udp->bufs = malloc((size_t)BATCH * SLOT)) == NULL) {
		snprintf(err, errlen, "udp: out of memory");
		free(udp);
		return NULL;
	}
	udp->loop = loop;
	udp->on_recv = on_recv;
	udp->arg = arg;
	bool optional = n_listen == 0;
	if (optional) {
		listen = defaults;
		n_listen = 2;
	}
	for (size_t i = 0; i < n_listen; i++) {
		/* The default IPv6 listener may fail where IPv6 is off; an explicit one may not. */
		if (open_listener(udp, listen[i], port, optional && i == 1, err, errlen) != 0) {
			gw_udp_free(udp);
			return NULL;
		}
	}
	if (advertise != NULL && setup_advertise(udp, advertise, err, errlen) != 0) {
		gw_udp_free(udp);
		return NULL;
	}
	return udp;
}

void gw_udp_free(struct gw_udp *udp)
{
	if (udp == NULL)
		return;
	for (size_t i = 0; i < udp->n; i++) {
		gw_watch_stop(udp->loop, &udp->listeners[i].watch);
		close(udp->listeners[i].fd);
	}
	free(udp->bufs);
	free(udp);
}

/* ---------------------------------------------------------------- send */

static void count_drop(struct gw_udp *udp, const char *dest, int error)
{
	udp->send_drops++;
	udp->drops_since_warn++;
	uint64_t now = gw_clock_ms();
	/* A full socket buffer drops in bursts: one warning per period, with the count. */
	if (udp->last_warn_ms == 0 || now - udp->last_warn_ms >= WARN_EVERY_MS) {
		gw_log(GW_LOG_WARN, "udp send to %s: %s (%llu datagram(s) dropped since the last warning)",
		       dest, strerror(error), (unsigned long long)udp->drops_since_warn);
		udp->last_warn_ms = now;
		udp->drops_since_warn = 0;
	}
}

int gw_udp_send(struct gw_udp *udp, const struct gw_addr *to, const uint8_t *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	const struct listener *l;
	char name[INET6_ADDRSTRLEN + 16];
	if (to == NULL) {
		if (!udp->has_advertise) {
			gw_log(GW_LOG_DEBUG, "no advertise_addr: datagram for the advertise destination dropped");
			return -1;
		}
		l = &udp->listeners[udp->adv_listener];
		ss = udp->adv;
		sslen = udp->adv_len;
	} else {
		if (to->link >= udp->n || to->len > sizeof ss || to->len == 0) {
			gw_log(GW_LOG_ERR, "udp send: address of unknown listener %u dropped", to->link);
			return -1;
		}
		l = &udp->listeners[to->link];
		memset(&ss, 0, sizeof ss);
		memcpy(&ss, to->data, to->len);
		sslen = to->len;
	}
	for (;;) {
		ssize_t n = sendto(l->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ss,
		                   sslen);
		if (n >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		int error = errno;
		if (to == NULL) {
			snprintf(name, sizeof name, "the advertise destination");
		} else {
			gw_udp_addr_format(to, name, sizeof name);
		}
		count_drop(udp, name, error);
		return -1;
	}
}

uint64_t gw_udp_send_drops(const struct gw_udp *udp)
{
	return udp->send_drops;
}
