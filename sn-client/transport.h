/*
 * transport.h - how the blocking API moves datagrams: a small interface that
 * UDP (udp.h) implements and a serial transport can implement later.
 */
#ifndef SNBRIDGE_SNC_TRANSPORT_H
#define SNBRIDGE_SNC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct snc_transport;

struct snc_transport_ops {
	/* Send one datagram to the gateway, or to the discovery address when
	 * broadcast. SNC_OK or SNC_ERR_IO (message in t->err). */
	int (*send)(struct snc_transport *t, const uint8_t *buf, size_t len, bool broadcast);
	/* One datagram into buf: its length (>= 0), SNC_ERR_EMPTY when none
	 * waits, or SNC_ERR_IO. Never blocks. */
	int (*recv)(struct snc_transport *t, uint8_t *buf, size_t cap);
	/* The descriptor that poll() reports readable when recv has something. */
	int (*fd)(const struct snc_transport *t);
	/* Release everything (the struct itself is the caller's). */
	void (*close)(struct snc_transport *t);
	/* Optional, NULL for a transport without timers of its own (link.h has
	 * them: the hold of link frames). deadline: when tick() next has work,
	 * in ms on the monotonic clock (UINT64_MAX: none); tick: do what is
	 * due at now_ms, SNC_OK or SNC_ERR_IO (message in t->err). The loop
	 * polls no longer than the nearer of the core's and this deadline. */
	uint64_t (*deadline)(const struct snc_transport *t);
	int (*tick)(struct snc_transport *t, uint64_t now_ms);
};

/* Embedded first in every transport. */
struct snc_transport {
	const struct snc_transport_ops *ops;
	char err[256];     /* the last failure, for the user */
};

#endif
