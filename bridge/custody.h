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
 * Across a crash of the bridge (SIGKILL, power cut under store_sync
 * always): what the store has is published again from the oldest message
 * not acknowledged, QoS 1 at least once, QoS 2 exactly once:
 *   - When the broker answers a QoS 2 PUBLISH with PUBREC, the drainer
 *     records the packet id in the store (gw_store_up_mark, fsynced)
 *     before libmosquitto sends the PUBREL: libmosquitto has no PUBREC
 *     callback, so the drainer learns of it from the line libmosquitto
 *     logs inside its handler before it answers (broker.h). A message
 *     with such a mark may have been delivered already (the PUBREL may
 *     have reached the broker), so it is never published again: the next
 *     run takes up the broker session as the previous run left it and,
 *     before it publishes anything, sends a PUBREL alone under the
 *     recorded id (custody_release.h). The broker answers PUBCOMP whether
 *     it still held the message (it delivers it now) or had delivered it
 *     before the crash (MQTT 5 allows reason 0x92 then; mosquitto 2.0.11
 *     answers 0 either way); the message is done.
 *   - A message without a mark is published again as a new message under
 *     whatever id libmosquitto gives it (it numbers from 1 in every
 *     process). The broker cannot have delivered it: mosquitto delivers an
 *     incoming QoS 2 message on its PUBREL, and no PUBREL went without the
 *     mark. It may hold an unreleased copy from the previous run under
 *     the old id; that copy is never released on its own: a PUBREL under
 *     that id (libmosquitto's, or a lone one for a mark) only ever follows
 *     the broker's PUBREC to a later PUBLISH under the same id, and
 *     mosquitto 2.0 takes such a PUBLISH with other content as a reused id
 *     and drops the old copy ("Reused message ID ... Clearing from
 *     storage", handle__publish), or, with the same topic, payload and
 *     QoS, as a repeat of it: one delivery either way (checked against
 *     mosquitto 2.0.11's source and tests/system/custody_pubrel.sh). In
 *     that last case the delivered copy is the older one: its retain flag
 *     and MQTT 5 properties (snb-seq, snb-received, expiry) are the
 *     earlier message's, the content the same. Other brokers are not
 *     known to behave this way.
 * The exceptions, each logged once, where a QoS 2 message may reach
 * subscribers twice (never lost):
 *   - TLS to the broker: a PUBREL cannot be written on its own into the
 *     TLS stream, so the first connection ends the previous session
 *     (CleanSession) and the marks are cleared; the messages whose PUBREL
 *     had reached the broker are delivered again.
 *   - The broker kept no session (it lost its state, or another client
 *     took the client id with a clean start): the marked messages are
 *     published again; those the broker had delivered are repeated.
 *   - A libmosquitto that logs PUBREC or PUBCOMP in other words: without
 *     the PUBREC line nothing is marked (the old behaviour); without the
 *     PUBCOMP line the lone PUBRELs go unanswered, and after
 *     CUSTODY_RELEASE_TRIES deadlines the marks are given up.
 *   - The store failing to write a mark (a full disk).
 * Before marks, this window repeated about two messages per kill in
 * tests/system/custody_crash.sh; it now checks that none is repeated.
 *
 * With MQTT 5 each message also carries user properties that let a
 * subscriber tell messages apart: "snb-station" (the station's client
 * id), "snb-received" (when the bridge received it, ISO 8601 UTC with
 * milliseconds) and "snb-seq" (the store's sequence number, unique per
 * bridge), and the message-expiry interval left of message_ttl_s.
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

/* Whether a line of the kind last logged at *last may go out now (one per
 * CUSTODY_LOG_MS; the rest is counted by the callers); sets *last if so. */
bool gw_custody_log_due(uint64_t *last, uint64_t now_ms);

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
	uint64_t released;       /* the previous run's, completed by a lone PUBREL at start */
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
