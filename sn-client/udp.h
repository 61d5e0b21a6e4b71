/*
 * udp.h - the UDP transport, IPv4 and IPv6, behind struct snc_transport.
 *
 * One non-blocking socket. Datagrams go to the gateway's address; what
 * comes back is taken only from that address unless accept_any is set
 * (discovery, or a listener such as sn-dump).
 */
#ifndef SNBRIDGE_SNC_UDP_H
#define SNBRIDGE_SNC_UDP_H

#include <stdbool.h>
#include <sys/socket.h>

#include "sn-client/error.h"
#include "sn-client/transport.h"

struct snc_udp {
	struct snc_transport base;  /* first: a struct snc_udp * is a transport */
	int fd;
	struct sockaddr_storage gw;
	socklen_t gw_len;
	struct sockaddr_storage bcast;
	socklen_t bcast_len;
	bool accept_any;
	struct sockaddr_storage from;  /* the sender of the last datagram received */
	socklen_t from_len;
};

/*
 * A socket towards the gateway at host:port (names resolved, the first
 * address taken). Returns SNC_OK, or SNC_ERR_INVALID (cannot resolve) or
 * SNC_ERR_IO with the reason in err.
 */
SNC_MUST_CHECK int snc_udp_open(struct snc_udp *u, const char *host, const char *port, char *err,
                                size_t errcap);

/*
 * A socket bound to host:port (host NULL: every address) that receives from
 * anyone: for listeners. Sending goes nowhere until a gateway is set.
 */
SNC_MUST_CHECK int snc_udp_listen(struct snc_udp *u, const char *host, const char *port,
                                  char *err, size_t errcap);

/* Where SEARCHGW goes (an IPv4 broadcast or any unicast address). */
SNC_MUST_CHECK int snc_udp_set_broadcast(struct snc_udp *u, const char *host, const char *port,
                                         char *err, size_t errcap);

/* Close the socket (also through u->base.ops->close). */
void snc_udp_close(struct snc_udp *u);

/* "address:port" of a socket address, for messages ("[::1]:1884" for IPv6). */
void snc_udp_format_addr(const struct sockaddr_storage *a, socklen_t len, char *out, size_t cap);

#endif
