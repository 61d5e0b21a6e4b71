/*
 * custody.h - custody of the stations' QoS 1/2 messages (README "Custody";
 * DESIGN.md, "Acknowledge only what is safe"): the gateway core hands each
 * one to gw_custody_put(), which puts it in the store (bridge/store.h) and
 * returns once it is on disk as store_sync says; the core then acknowledges
 * it to the station. The drainer here publishes what the store holds to
 * the broker, per station in store order, over a connection of its own
 * (broker.h, gw_broker_custody_open), and removes a message only when the
 * broker acknowledged it (PUBACK, or PUBCOMP for QoS 2).
 *
 * In flight: at most CUSTODY_STATION_WINDOW messages per station and
 * CUSTODY_WINDOW in all, so that one station's backlog neither starves the
 * others nor fills libmosquitto's queue. The order per station holds for
 * messages of one QoS; a subscriber may see a QoS 1 message overtake a
 * QoS 2 one sent before it (brokers deliver QoS 2 on PUBREL), as MQTT
 * allows.
 *
 * Across a drop of the broker connection libmosquitto keeps what is in
 * flight and finishes it after reconnecting under the same message id (a
 * QoS 1 PUBLISH with DUP, which the broker may deliver twice, as QoS 1
 * allows; a QoS 2 PUBLISH with DUP or its PUBREL, which the lasting
 * session makes the broker deliver once).
 *
 * Across a crash of the bridge: what the store has is published again
 * from the oldest message not yet acknowledged. For QoS 2 this is exactly
 * once for every message except those whose PUBREL had reached the broker
 * and whose PUBCOMP the bridge had not yet recorded when it died (at most
 * the messages in flight, CUSTODY_STATION_WINDOW per station; about two
 * per crash under a steady QoS 2 load in tests/system/custody_crash.sh):
 * those are delivered a second time. Closing that gap needs the broker's
 * packet ids on disk and a PUBREL sent again under them, which
 * libmosquitto does not allow (it numbers from 1 in every process and has
 * no way to send a PUBREL alone). With MQTT 5 each message carries user
 * properties that let a subscriber drop such a repeat: "snb-station" (the
 * station's client id), "snb-received" (when the bridge received it,
 * ISO 8601 UTC with milliseconds) and "snb-seq" (the store's sequence
 * number, unique per bridge), and the message-expiry interval left of
 * message_ttl_s.
 */
#ifndef SNBRIDGE_BRIDGE_CUSTODY_H
#define SNBRIDGE_BRIDGE_CUSTODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge/broker.h"
#include "bridge/loop.h"
#include "bridge/store.h"

#define CUSTODY_STATION_WINDOW 16u /* a station's messages in flight to the broker */
#define CUSTODY_WINDOW 256u        /* all stations' */
#define CUSTODY_LOG_MS 60000u      /* one log line per kind of failure per minute */

struct gw_custody;

struct gw_custody_config {
	const char *dir;              /* the store's directory */
	struct gw_store_config store; /* limits and fsync policy */
	uint32_t ttl_s;               /* every message's time to live; 0: none */
	const char *client_id;        /* the custody connection's MQTT client id */
};

/* The drainer's counters (the store's are gw_store_stats()). */
struct gw_custody_stats {
	uint64_t published;      /* PUBLISHes handed to libmosquitto */
	uint64_t acked;          /* acknowledged by the broker and removed */
	uint64_t broker_refused; /* MQTT 5 reason >= 0x80: removed, counted, logged */
	uint64_t inflight;       /* now */
};

/*
 * Open the store (logging its one-line recovery summary) and the custody
 * connection. Returns NULL with err set: the directory cannot be made or
 * read, another process has it open (gw_store_open's GW_STORE_ERR_BUSY),
 * out of memory.
 */
struct gw_custody *gw_custody_new(struct gw_loop *loop, struct gw_broker *broker,
                                  const struct gw_custody_config *cfg, char *err, size_t errlen);
/* Close the store (fsyncing it). NULL is fine. */
void gw_custody_free(struct gw_custody *c);

/* gw_ops.custody_put, _held and _release (gw.h, "Custody"). */
int gw_custody_put(struct gw_custody *c, const char *client_id, const char *topic,
                   size_t topic_len, const uint8_t *payload, size_t len, int qos, bool retain,
                   uint16_t msg_id);
bool gw_custody_held(struct gw_custody *c, const char *client_id, uint16_t msg_id);
int gw_custody_release(struct gw_custody *c, const char *client_id, uint16_t msg_id);

/*
 * From the loop's prepare hook: publish what the window allows (when
 * anything changed) and arm the store's timer (fsync, compaction).
 */
void gw_custody_prepare(struct gw_custody *c);

const struct gw_store_stats *gw_custody_store_stats(const struct gw_custody *c);
/* The open store, for the downlink and the stations' sessions (custody_down.c). */
struct gw_store *gw_custody_store(struct gw_custody *c);
void gw_custody_stats(const struct gw_custody *c, struct gw_custody_stats *out);

#endif
