/*
 * broker.h - the broker adapter: MQTT connections through libmosquitto,
 * driven by the event loop (mosquitto_socket, mosquitto_loop_read/write/
 * misc, mosquitto_want_write; never a libmosquitto thread).
 *
 * It implements the broker half of struct gw_ops and reports back to the
 * gateway core with gw_on_broker_*(). Its files (bridge/broker*.c, with
 * broker_int.h: which does what) are the only ones that include
 * <mosquitto.h>. Beside the core's connections it keeps one of its own for
 * the statistics. Every connection disables Nagle's algorithm
 * (MOSQ_OPT_TCP_NODELAY): it held small publishes back for milliseconds.
 *
 * Connection life (see the contract in bridge/gw.h): gw_broker_open()
 * connects asynchronously; the result comes as gw_on_broker_connected().
 * A connection that drops after it was up is reported with
 * gw_on_broker_disconnected() and reconnected with exponential back-off
 * until gw_broker_close(). Closing never frees inside a libmosquitto
 * callback: the connection is destroyed from the loop afterwards.
 *
 * Two connections with the same MQTT client id never overlap (the broker
 * would take the session over and publish the older one's Will): a
 * connection opened while an older one with its client id is still open
 * or closing waits, in a bounded queue and with a deadline, until the
 * older one is gone. A closing connection is gone once the broker has
 * closed the socket (after its CONNACK if it was still connecting, then
 * DISCONNECT), or after a short deadline. The core sees no difference but
 * the time gw_on_broker_connected() comes.
 */
#ifndef SNBRIDGE_BRIDGE_BROKER_H
#define SNBRIDGE_BRIDGE_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge/gw.h"
#include "bridge/loop.h"

struct gw_broker;

struct gw_broker_config {
	const char *host;             /* numeric, or a name resolved once by gw_broker_new() */
	uint16_t port;                /* 0: 1883, or 8883 with TLS */
	int mqtt_version;             /* 311 or 5 */
	uint16_t keepalive_s;         /* of GW_CONN_AGGREGATE and the own connection */
	uint32_t reconnect_min_s, reconnect_max_s;
	const char *username, *password;
	const char *cafile, *capath;  /* either turns TLS on */
	const char *certfile, *keyfile;
	bool tls_insecure;
};

/*
 * Set up libmosquitto and check what can be checked before the first
 * connection (the host, the TLS files). Returns NULL with err set.
 */
struct gw_broker *gw_broker_new(struct gw_loop *loop, const struct gw_broker_config *cfg,
                                char *err, size_t errlen);
/* The core to report to (NULL: none, e.g. after gw_free()). */
void gw_broker_attach(struct gw_broker *b, struct gw *gw);
/* Destroy every connection at once (no DISCONNECT) and free. */
void gw_broker_free(struct gw_broker *b);

/*
 * gw_ops.broker_open: a new connection conn for session s. 0 or -1 (a
 * client's connection that failed at once; the shared one is retried with
 * back-off instead, its failure reported from the loop).
 * gw_on_broker_connected() gets rc 0, a CONNACK refusal (> 0: the 3.1.1
 * return code or the MQTT 5 reason code), or a libmosquitto error negated
 * (< 0); the adapter logs what either means on its own line.
 */
int gw_broker_open(struct gw_broker *b, uint32_t conn, const struct gw_broker_session *s);
/*
 * gw_ops.broker_close: close conn. fire_will: end it so that the broker
 * publishes the Will (MQTT 5: DISCONNECT reason 0x04; 3.1.1: the socket is
 * shut without DISCONNECT); else a clean DISCONNECT.
 */
void gw_broker_close(struct gw_broker *b, uint32_t conn, bool fire_will);
/* gw_ops.broker_publish; *token is libmosquitto's message id. 0 or -1. */
int gw_broker_publish(struct gw_broker *b, uint32_t conn, const char *topic, size_t topic_len,
                      const uint8_t *payload, size_t len, int qos, bool retain, uint32_t *token);
/* gw_ops.broker_subscribe. 0 or -1. */
int gw_broker_subscribe(struct gw_broker *b, uint32_t conn, const char *filter, size_t len,
                        int qos, uint32_t *token);
/* gw_ops.broker_unsubscribe. 0 or -1. */
int gw_broker_unsubscribe(struct gw_broker *b, uint32_t conn, const char *filter, size_t len,
                          uint32_t *token);

/*
 * Open the daemon's own connection (client_id, clean session, no Will),
 * kept connected until gw_broker_close_all(). 0 or -1.
 */
int gw_broker_own_open(struct gw_broker *b, const char *client_id);
/* Publish at QoS 0 on the own connection; -1 while it is down. */
int gw_broker_own_publish(struct gw_broker *b, const char *topic, const void *payload, size_t len,
                          bool retain);

/*
 * The custody drainer's connection (bridge/custody.h): its own client id,
 * a lasting session (CleanSession false; MQTT 5: no session expiry), so
 * that the broker keeps a QoS 2 message it got the PUBLISH of across a
 * drop of the connection, where libmosquitto finishes it (PUBLISH with
 * DUP, or PUBREL) after reconnecting, and across a restart of the bridge.
 * Reconnected with back-off until gw_broker_close_all(). The events go to
 * ev, never to the core.
 *
 * On plain TCP the first connection takes up the session the previous run
 * left, as it is: the broker's QoS 2 state in it is what custody.h's
 * restart needs. libmosquitto has no callback for PUBREC or PUBCOMP and no
 * call that sends a PUBREL alone, so: the PUBREC and PUBCOMP are taken
 * from the lines libmosquitto 2.0 logs for them, synchronously in its
 * handler and before it acts (the PUBREC before its PUBREL leaves): the
 * custody connection always has a log callback, at the cost of a
 * formatted line per packet; a line of another shape (a future wording)
 * is ignored, and then the events simply do not come. And a lone PUBREL
 * is written on libmosquitto's socket directly (gw_broker_custody_release).
 *
 * Under TLS the socket carries TLS records, so no PUBREL can be written
 * on it: the first connection is then a CleanSession one with the same id
 * that ends the previous session (its packet ids would otherwise collide
 * with the new run's, which libmosquitto numbers from 1 again), followed
 * by the lasting one, and gw_broker_custody_lone_pubrel() is false.
 */
struct gw_broker_custody_events {
	/* CONNACK accepted; session_present: the broker had kept the session */
	void (*connected)(void *arg, bool session_present);
	void (*lost)(void *arg);
	/* PUBACK or PUBCOMP for token; reason: MQTT 5 reason code (>= 0x80: refused), else 0 */
	void (*acked)(void *arg, uint32_t token, int reason);
	/* The broker's PUBREC for token, before libmosquitto sends the PUBREL
	 * (NULL: not wanted). From the log: may never come. */
	void (*received)(void *arg, uint32_t token);
	/* A PUBCOMP for packet id mid, whether libmosquitto knew the id or not
	 * (the answer to a lone PUBREL); reason: MQTT 5 reason code, else 0.
	 * From the log: may never come. NULL: not wanted. */
	void (*completed)(void *arg, uint16_t mid, int reason);
};
int gw_broker_custody_open(struct gw_broker *b, const char *client_id,
                           const struct gw_broker_custody_events *ev, void *arg);
/* True while the custody connection is up. */
bool gw_broker_custody_up(const struct gw_broker *b);
/* Whether gw_broker_custody_release() can work: the connection is plain TCP. */
bool gw_broker_custody_lone_pubrel(const struct gw_broker *b);

/* PUBRELs one gw_broker_custody_release() writes at most (4 octets each). */
#define GW_BROKER_RELEASE_MAX 256u
/*
 * Write n (1..GW_BROKER_RELEASE_MAX) PUBRELs with these packet ids on the
 * custody connection's socket, outside libmosquitto, which will take the
 * PUBCOMPs for ids it does not know without complaint (the completed
 * event reports them). Only right after CONNACK, before anything is
 * published on the connection: libmosquitto numbers its own packets from 1
 * and would take such a PUBCOMP for the ack of its own packet with the
 * same id. 0, or -1: the connection is down, TLS, or the bytes could not
 * all be written at once, in which case the connection is dropped (lost,
 * then made again) rather than left with half a packet.
 */
int gw_broker_custody_release(struct gw_broker *b, const uint16_t *mids, size_t n);
/* End the custody connection now (it is reconnected with back-off). */
void gw_broker_custody_drop(struct gw_broker *b);

/* One MQTT 5 user property. */
struct gw_broker_prop {
	const char *name;
	const char *value;
};
/*
 * Publish on the custody connection (qos 1 or 2). With MQTT 5, expiry_s
 * (0: none) is the message-expiry interval and the n props are user
 * properties; with 3.1.1 both are left out. *token: libmosquitto's mid.
 * 0, or -1 (down, or refused by libmosquitto).
 */
int gw_broker_custody_publish(struct gw_broker *b, const char *topic, size_t topic_len,
                              const uint8_t *payload, size_t len, int qos, bool retain,
                              uint32_t expiry_s, const struct gw_broker_prop *props, size_t n,
                              uint32_t *token);

/* Close every connection still open, cleanly (DISCONNECT), for shutdown. */
void gw_broker_close_all(struct gw_broker *b);
/* Connections not yet destroyed, open or closing: shutdown waits for 0. */
size_t gw_broker_count(const struct gw_broker *b);
/* Connections up (CONNACK accepted), the own one included. */
size_t gw_broker_count_up(const struct gw_broker *b);

#endif
