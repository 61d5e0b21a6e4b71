/*
 * udp.h - the MQTT-SN UDP transport: listeners on IPv4 and IPv6, and the
 * advertise destination (unicast, broadcast or multicast).
 *
 * A client's address is a struct gw_addr holding its sockaddr_in or
 * sockaddr_in6 and the index of the listener it arrived on, so that the
 * answer leaves from the same socket (and the same local address).
 */
#ifndef SNBRIDGE_BRIDGE_UDP_H
#define SNBRIDGE_BRIDGE_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "bridge/gw.h"
#include "bridge/loop.h"

struct gw_udp;

/* Called once per datagram received; buf is valid only during the call. */
typedef void gw_udp_recv_fn(void *arg, const struct gw_addr *from, const uint8_t *buf, size_t len);

/*
 * Open the listeners: one per entry of listen ("ADDR", "ADDR:PORT",
 * "[ADDR6]:PORT"; numeric addresses; port defaults to port), or, when
 * n_listen is 0, 0.0.0.0 and :: (IPv6 skipped with a warning where the
 * system has none). advertise ("HOST:PORT", numeric, may be broadcast or
 * multicast) or NULL. Returns NULL with err set ("bind [::]:1884: Address
 * already in use").
 */
struct gw_udp *gw_udp_new(struct gw_loop *loop, char *const *listen, size_t n_listen, uint16_t port,
                          const char *advertise, gw_udp_recv_fn *on_recv, void *arg, char *err,
                          size_t errlen);
/* Close every socket and free. */
void gw_udp_free(struct gw_udp *udp);
/*
 * Send one datagram to a client, or to the advertise destination when to is
 * NULL. Never blocks: a datagram the socket cannot take now is dropped,
 * counted and logged (rate-limited). Returns 0 or -1 when dropped.
 */
int gw_udp_send(struct gw_udp *udp, const struct gw_addr *to, const uint8_t *buf, size_t len);
/* Datagrams dropped on sending since the start. */
uint64_t gw_udp_send_drops(const struct gw_udp *udp);
/* "192.0.2.1:1884" or "[2001:db8::1]:1884" into buf (for logs); returns buf. */
const char *gw_udp_addr_format(const struct gw_addr *addr, char *buf, size_t cap);

#endif
