/*
 * link.h - the bridge's link layer: between the transports and the gateway
 * core, it opens link frames (codec/link.h, codec/FRAMES.md) from stations
 * that speak them and frames what the core sends back to them, while plain
 * MQTT-SN clients pass through untouched.
 *
 * Octet 0 tells them apart: 0x00 is a frame, anything else plain MQTT-SN.
 *
 * Stations are those of the key file (bridge/keys.h): each has one framed
 * link (struct mqttsn_link) with its keys, counters and queue, and is bound
 * to the address its latest authenticated frame came from (and the one
 * before, while the core still answers there). A frame from an unbound
 * address is tried against every station holding a key under the frame's
 * key id (mqttsn_link_probe: one AEAD verification each, about a
 * microsecond for a small frame; a budget of GW_LINK_PROBE_RATE trials a
 * second bounds what junk from random addresses can cost, and what is
 * over it is dropped and counted); the first that opens it gets the
 * address (NAT and roaming rebind this way, and only after a frame that
 * authenticates). Unencrypted frames (links secured below us) are taken
 * only on listeners that allow them, one session per address.
 *
 * A key speaks for one client id: a CONNECT (or a PINGREQ with a client
 * id) inside a station's frames that names another client id is answered
 * with CONNACK "rejected: not supported" (0x03) in a frame and never
 * reaches the core; an encapsulated (0xFE) message inside frames is
 * refused alike. The client ids of the key file are taken by their
 * stations: a plain client (or an unencrypted frame) that connects with
 * one gets the same refusal, and plain MQTT-SN from an address bound to a
 * station is dropped (it would be a forgery of that station's traffic).
 *
 * Counters that must survive a restart (the sending counter's high-water
 * mark, the highest counter received) are saved through ops->state_save
 * before a counter is used and after each accepted frame, and loaded
 * through ops->state_load when a station's link is made: after a restart
 * the bridge never reuses a nonce and refuses frames from before it.
 *
 * Pure like the core: no sockets, no clock (every `now` is milliseconds on
 * the caller's monotonic clock); it logs through gw_log (rate-limited,
 * one line per cause per log interval).
 */
#ifndef SNBRIDGE_BRIDGE_LINK_H
#define SNBRIDGE_BRIDGE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge/gw.h"
#include "bridge/keys.h"
#include "codec/link.h"

/* Trials of a station's key per second, and as a burst, finding unbound frames. */
#define GW_LINK_PROBE_RATE 20000u
/* After a state file could not be written, the wait before trying again. */
#define GW_LINK_STATE_RETRY_MS 1000u
/* Frames one station may send in one call before others get their turn. */
#define GW_LINK_EMIT_BURST 64u

struct gw_link_config {
	size_t mtu;               /* largest frame sent to a station */
	uint32_t hold_ms;         /* longest a message waits for company */
	size_t queue_max;         /* octets queued per station; 0: the codec's default */
	uint32_t max_peers;       /* sessions of unencrypted frames (by address) */
	uint32_t log_interval_ms; /* one log line per cause per interval; 0: every time */
};

/* How the link layer acts; each takes the ctx given to gw_link_new(). */
struct gw_link_ops {
	/* One plain MQTT-SN message from a client: hand it to the core. */
	void (*deliver)(void *ctx, const struct gw_addr *from, const uint8_t *msg, size_t len,
	                uint64_t now);
	/* Put one datagram (a frame or a plain message) on the wire. */
	void (*transmit)(void *ctx, const struct gw_addr *to, const uint8_t *buf, size_t len);
	/*
	 * A station's saved counters: 0 with *tx_mark and *rx_floor set, 1 when
	 * none were ever saved (start from 0), -1 with err set when the state
	 * cannot be read (the station's link is not made: no nonce reuse).
	 */
	int (*state_load)(void *ctx, const char *client_id, uint64_t *tx_mark, uint64_t *rx_floor,
	                  char *err, size_t errlen);
	/* Save them durably (both values); 0 or -1 with err set. */
	int (*state_save)(void *ctx, const char *client_id, uint64_t tx_mark, uint64_t rx_floor,
	                  char *err, size_t errlen);
	/* An address for the log ("192.0.2.1:1884"); NULL: hex. */
	const char *(*addr_format)(const struct gw_addr *a, char *buf, size_t cap);
};

/* What the link layer counted. Additive only, but for the three gauges at the end. */
struct gw_link_stats {
	struct mqttsn_link_stats link; /* every station's link, summed (also links since replaced) */
	uint64_t plain_refused;        /* plain MQTT-SN on a listener that requires frames */
	uint64_t plain_forged;         /* plain MQTT-SN from an address bound to a station */
	uint64_t id_refused;           /* CONNECT / PINGREQ / 0xFE for a client id the sender may not use */
	uint64_t unknown_station;      /* encrypted frame that no station's key opens */
	uint64_t probe_throttled;      /* frame not tried against every key: the budget was spent */
	uint64_t probes;               /* keys tried on frames from unbound addresses */
	uint64_t plain_frame_refused;  /* unencrypted frame where link_plain_ok is off */
	uint64_t bad_unbound;          /* frame from an unbound address too damaged to try */
	uint64_t peers_full;           /* unencrypted-frame session refused: max_peers */
	uint64_t rebinds;              /* a station's frames came from a new address */
	uint64_t state_saves, state_errors;
	uint64_t stations, peers, bound; /* gauges: stations keyed, peers, stations with an address */
};

struct gw_link;

/* A new link layer without stations; cfg and ops copied. NULL out of memory. */
struct gw_link *gw_link_new(const struct gw_link_config *cfg, const struct gw_link_ops *ops,
                            void *ctx);
/* Free every station (nothing is sent; call gw_link_flush_all first to send). */
void gw_link_free(struct gw_link *gl);

/*
 * Listener link (the gw_addr.link of its datagrams): require frames
 * (plain MQTT-SN there is dropped, counted, logged), and accept
 * unencrypted frames. Both false by default.
 */
void gw_link_listener(struct gw_link *gl, uint8_t link, bool require, bool plain_ok);

/*
 * The largest frame sent to a station whose frames come in on this link
 * (a listener or serial line of another kind: 270 for Iridium SBD, 1200
 * for IP); 0: the configured mtu. Applied when a station binds an address
 * there.
 */
void gw_link_listener_mtu(struct gw_link *gl, uint8_t link, size_t mtu);

/*
 * Install keys (allocated by the caller, taken over on success): the
 * stations and dictionaries. At start and on reload: queued messages of
 * the old links are sent first; a station that stays keeps its address and
 * counters, a new one loads its saved counters, a removed one is dropped.
 * Returns 0, or -1 with err set and nothing changed (keys stays the
 * caller's).
 */
int gw_link_set_keys(struct gw_link *gl, struct gw_link_keys *keys, uint64_t now, char *err,
                     size_t errlen);

/* One datagram from a transport (frame or plain). */
void gw_link_on_datagram(struct gw_link *gl, const struct gw_addr *from, const uint8_t *buf,
                         size_t len, uint64_t now);

/*
 * One message from the core for to (the core's ops->send): framed when to
 * is bound to a station or peer, else transmitted as it is (to NULL too).
 */
void gw_link_send(struct gw_link *gl, const struct gw_addr *to, const uint8_t *buf, size_t len,
                  uint64_t now);

/* Send the frames due at now; returns gw_link_deadline(). */
uint64_t gw_link_tick(struct gw_link *gl, uint64_t now);
/* When a frame is next due (UINT64_MAX: nothing queued). O(stations with queued messages). */
uint64_t gw_link_deadline(const struct gw_link *gl);
/* Send everything queued now (shutdown). */
void gw_link_flush_all(struct gw_link *gl, uint64_t now);

/* The counters (the link sums are computed at the call). */
const struct gw_link_stats *gw_link_stats(struct gw_link *gl);
/* True when the address is bound to a station or peer (for tests and the log). */
bool gw_link_is_framed(const struct gw_link *gl, const struct gw_addr *a);

#endif
