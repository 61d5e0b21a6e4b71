/*
 * test_snc_udp.c - the UDP transport (sn-client/udp.h) on the loopback
 * addresses only: IPv4 and IPv6, a listener that hears anyone, a client
 * that hears only its gateway, the broadcast address, and the errors.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "sn-client/udp.h"

/* The port a socket was bound to, as a string. */
static void port_of(const struct snc_udp *u, char *out, size_t cap)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof a;
	unsigned port;

	assert_int_equal(getsockname(u->fd, (struct sockaddr *)&a, &len), 0);
	port = a.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&a)->sin6_port)
	                               : ntohs(((struct sockaddr_in *)&a)->sin_port);
	snprintf(out, cap, "%u", port);
}

/* Waits (bounded) until u has a datagram, then receives it. */
static int recv_one(struct snc_udp *u, uint8_t *buf, size_t cap)
{
	struct pollfd p = { u->base.ops->fd(&u->base), POLLIN, 0 };

	assert_int_equal(poll(&p, 1, 2000), 1);
	return u->base.ops->recv(&u->base, buf, cap);
}

static void round_trip(const char *host)
{
	struct snc_udp gw, cl, other;
	char err[256], port[16], addr[64];
	uint8_t buf[64];
	int n;

	assert_int_equal(snc_udp_listen(&gw, host, "0", err, sizeof err), SNC_OK);
	port_of(&gw, port, sizeof port);
	assert_int_equal(snc_udp_open(&cl, host, port, err, sizeof err), SNC_OK);
	assert_int_equal(cl.base.ops->recv(&cl.base, buf, sizeof buf), SNC_ERR_EMPTY);

	assert_int_equal(cl.base.ops->send(&cl.base, (const uint8_t *)"\x02\x17", 2, false), SNC_OK);
	n = recv_one(&gw, buf, sizeof buf);
	assert_int_equal(n, 2);
	assert_memory_equal(buf, "\x02\x17", 2);
	snc_udp_format_addr(&gw.from, gw.from_len, addr, sizeof addr);
	assert_non_null(strstr(addr, strcmp(host, "::1") == 0 ? "[::1]:" : "127.0.0.1:"));

	/* The listener answers its sender. */
	gw.gw = gw.from;
	gw.gw_len = gw.from_len;
	assert_int_equal(gw.base.ops->send(&gw.base, (const uint8_t *)"\x02\x16", 2, false), SNC_OK);
	n = recv_one(&cl, buf, sizeof buf);
	assert_int_equal(n, 2);
	assert_memory_equal(buf, "\x02\x16", 2);

	/* A stranger is not the gateway: the client does not hear it. */
	assert_int_equal(snc_udp_listen(&other, host, "0", err, sizeof err), SNC_OK);
	other.gw = gw.from;
	other.gw_len = gw.from_len;
	assert_int_equal(other.base.ops->send(&other.base, (const uint8_t *)"\x02\x18", 2, false),
	                 SNC_OK);
	/* ...but after it, the gateway again. */
	assert_int_equal(gw.base.ops->send(&gw.base, (const uint8_t *)"\x02\x17", 2, false), SNC_OK);
	n = recv_one(&cl, buf, sizeof buf);
	assert_int_equal(n, 2);
	assert_memory_equal(buf, "\x02\x17", 2);
	assert_int_equal(cl.base.ops->recv(&cl.base, buf, sizeof buf), SNC_ERR_EMPTY);

	/* Broadcast goes to the discovery address; without one it fails. */
	assert_int_equal(cl.base.ops->send(&cl.base, (const uint8_t *)"\x03\x01\x01", 3, true), SNC_OK);
	n = recv_one(&gw, buf, sizeof buf); /* no broadcast address: the gateway's */
	assert_int_equal(n, 3);
	port_of(&other, port, sizeof port);
	assert_int_equal(snc_udp_set_broadcast(&cl, host, port, err, sizeof err), SNC_OK);
	assert_int_equal(cl.base.ops->send(&cl.base, (const uint8_t *)"\x03\x01\x01", 3, true), SNC_OK);
	n = recv_one(&other, buf, sizeof buf);
	assert_int_equal(n, 3);

	other.base.ops->close(&other.base);
	cl.base.ops->close(&cl.base);
	gw.base.ops->close(&gw.base);
}

static void test_ipv4(void **state)
{
	(void)state;
	round_trip("127.0.0.1");
}

static void test_ipv6(void **state)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 a;

	(void)state;
	memset(&a, 0, sizeof a);
	a.sin6_family = AF_INET6;
	a.sin6_addr = in6addr_loopback;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		if (fd >= 0)
			close(fd);
		skip(); /* no IPv6 loopback in this environment */
	}
	close(fd);
	round_trip("::1");
}

static void test_errors(void **state)
{
	struct snc_udp u, l;
	char err[256], port[16];

	(void)state;
	assert_int_equal(snc_udp_open(&u, "no-such-host.invalid", "1883", err, sizeof err),
	                 SNC_ERR_INVALID);
	assert_non_null(strstr(err, "no-such-host.invalid"));
	assert_int_equal(snc_udp_open(&u, "127.0.0.1", "not-a-port", err, sizeof err),
	                 SNC_ERR_INVALID);
	/* The same port twice is refused: two listeners would split the datagrams. */
	assert_int_equal(snc_udp_listen(&l, "127.0.0.1", "0", err, sizeof err), SNC_OK);
	port_of(&l, port, sizeof port);
	assert_int_equal(snc_udp_listen(&u, "127.0.0.1", port, err, sizeof err), SNC_ERR_IO);
	assert_non_null(strstr(err, "bind 127.0.0.1:"));
	/* A listener has nowhere to send until told. */
	assert_int_equal(l.base.ops->send(&l.base, (const uint8_t *)"\x02\x16", 2, false), SNC_ERR_IO);
	assert_non_null(strstr(l.base.err, "no gateway address"));
	l.base.ops->close(&l.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
