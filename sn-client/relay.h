/*
 * relay.h - a UDP relay between MQTT-SN clients and a gateway, for sn-dump:
 * clients talk to the relay's port as if it were the gateway, each one gets
 * its own socket towards the real gateway (so the gateway tells them apart
 * by address, as it would without the relay), and every datagram either
 * way is shown to the caller. Optionally each datagram is held for a fixed
 * delay, each way: a long round trip on loopback, for tests and benchmarks
 * where netem is not available.
 *
 * Driven like the cores: the caller polls the descriptors snc_relay_fds()
 * gives and calls snc_relay_run() with the time (ms, monotonic), which
 * returns the next deadline.
 */
#ifndef SNBRIDGE_SNC_RELAY_H
#define SNBRIDGE_SNC_RELAY_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sn-client/error.h"

/* Clients relayed at once; the one quiet longest makes room for a new one. */
#define SNC_RELAY_CLIENTS 64u
/* Datagrams held for the delay at once; more are dropped (and counted). */
#define SNC_RELAY_HELD 4096u

/* One datagram through the relay; addresses are the client's leg of it. */
struct snc_relay_packet {
	bool to_gateway;                        /* from the client (else to it) */
	const struct sockaddr_storage *client;  /* the client's address */
	socklen_t client_len;
	const struct sockaddr_storage *relay;   /* the relay's listening address */
	socklen_t relay_len;
	const uint8_t *buf;
	size_t len;
};

struct snc_relay_stats {
	uint64_t to_gateway, to_clients;  /* datagrams relayed */
	uint64_t dropped;                 /* over SNC_RELAY_HELD, or a failed send */
	uint64_t evicted;                 /* clients forgotten to make room */
};

struct snc_relay;

/*
 * A relay listening on host:port (host NULL: every address) towards the
 * gateway at gw_host:gw_port, holding each datagram delay_ms each way.
 * SNC_OK, SNC_ERR_INVALID (an address does not resolve), SNC_ERR_IO or
 * SNC_ERR_NOMEM, with a message in err.
 */
SNC_MUST_CHECK int snc_relay_open(struct snc_relay **out, const char *host, const char *port,
                                  const char *gw_host, const char *gw_port, uint32_t delay_ms,
                                  char *err, size_t errcap);

/* Close every socket and free what is held. NULL is fine. */
void snc_relay_close(struct snc_relay *r);

/* The descriptors to poll for POLLIN (at most cap); returns how many. */
size_t snc_relay_fds(const struct snc_relay *r, struct pollfd *fds, size_t cap);

/*
 * Read every datagram waiting, show each one to seen() (may be NULL), and
 * send on whatever is due by now. Returns the next deadline (UINT64_MAX:
 * none), or 0 after a failure that ends the relay (message in err).
 */
uint64_t snc_relay_run(struct snc_relay *r, uint64_t now,
                       void (*seen)(void *arg, const struct snc_relay_packet *p), void *arg);

/* Counters. */
const struct snc_relay_stats *snc_relay_stats(const struct snc_relay *r);

/* The last failure, "" when none. */
const char *snc_relay_errmsg(const struct snc_relay *r);

#endif
