/*
 * store.h - the bridge's custody store: what the bridge has acknowledged
 * and not yet delivered, on disk, so that a restart, a broker outage or a
 * sleeping station loses none of it (DESIGN.md, "Acknowledge only what is
 * safe").
 *
 * What it keeps, per station (by MQTT-SN client id):
 *   up       QoS 1/2 PUBLISHes from the station waiting for the broker,
 *            removed by gw_store_up_done() once the broker acknowledged;
 *   holds    for QoS 2, the station's msg ids whose PUBREL has not come
 *            yet, so that a PUBLISH retransmitted after a restart is known
 *            for a duplicate (6.6); a hold outlives its message when the
 *            broker acknowledges before the station sends PUBREL;
 *   marks    for a QoS 2 uplink message the broker has answered with
 *            PUBREC, the MQTT packet id it was published under: after a
 *            crash the drainer sends the broker PUBREL under that id
 *            instead of publishing the message again (bridge/custody.h);
 *            a mark lives as long as its message;
 *   down     messages from the broker waiting for the station (asleep,
 *            lost, offline with a persistent session), with a time to live;
 *   session  one opaque blob per station, the core's serialised session
 *            (topic ids, subscriptions, sleep state, will flag, msg ids):
 *            the latest written wins, and a delete removes it.
 * Messages come out per station in the order they went in (sequence
 * numbers, one counter for the whole store, never reused).
 *
 * On disk: one directory, locked while open (flock), holding append-only
 * segment files (seg-<16 hex>.log) of CRC-32C records (codec/record.h), the
 * same format and segment directory code (sn-client/segdir.h) as the
 * station's queue. Every put, done, release, mark and session change is
 * one record; the store never rewrites a record in place. Opening replays all
 * segments oldest first, cuts a torn or damaged tail (the last record of a
 * crash), rebuilds the in-memory index and keeps a one-line summary
 * (gw_store_summary()).
 *
 * Why not the station's queue itself: the bridge's store has many stations
 * and two directions, must never block the event loop for long, and holds
 * QoS 2 msg ids past their message. The queue compacts by rewriting every
 * live message into one new file, which for a million messages is a pause
 * of seconds. Here compaction is incremental and copies forward: each
 * gw_store_compact_step() reads a bounded slice of the oldest segment and
 * appends what is still live in it to the segment being written, updating
 * the index; when the slice reaches the end of that segment, the copies
 * are fsynced and the old file deleted. A mark is a record of its own,
 * copied forward like a message while it is live. Segments are only ever
 * deleted oldest first, so a removal record (done, release, session
 * delete, a mark cleared or replaced) is never outlived by an older copy
 * of what it removed: that is the invariant that keeps recovery right.
 * The index is rebuilt at open by collecting everything and sorting once
 * per station, so copies found out of order cost O(n log n), not a shift
 * per record.
 *
 * Time: every `now` is wall-clock milliseconds (CLOCK_REALTIME), because
 * receive times and time-to-live are stored and must survive a restart.
 * The store never reads a clock; the caller passes it in.
 *
 * Errors: one enum (gw_store_err). A failed write or fsync (a full disk,
 * EIO) returns GW_STORE_ERR_IO with errno kept and a message in
 * gw_store_errmsg(); the record is taken back (or the segment abandoned
 * for a new one) so that what the call reports as not stored is not
 * stored, and the store stays usable and reopenable. The caller answers
 * GW_STORE_ERR_FULL, _STATION_FULL, _IO and _NOMEM the same way: the
 * protocol's congestion code (5.3.10), never an acceptance.
 *
 * Integration, as meant for the gateway core and the daemon:
 *   - Uplink: on a station's QoS 1/2 PUBLISH, for QoS 2 first ask
 *     gw_store_up_held(): if the msg id is held and the PUBLISH has DUP
 *     set, it is a retransmission: answer PUBREC again, store nothing.
 *     Otherwise gw_store_up_put(); on GW_STORE_OK answer PUBACK (QoS 1) or
 *     PUBREC (QoS 2) at once; on any error answer congestion. On PUBREL
 *     call gw_store_up_release() before the PUBCOMP.
 *   - Draining: per station, gw_store_up_peek(id, 0, ...) gives the oldest
 *     message, peek(id, seq of the last one sent, ...) the next, so that a
 *     window of N can be in flight in order; when the broker acknowledges,
 *     gw_store_up_done(id, seq). After a broker reconnect start again from
 *     0 (QoS 1 may then repeat, as QoS 1 allows). gw_store_station_next()
 *     walks the stations that have messages waiting. When the broker
 *     answers a QoS 2 PUBLISH with PUBREC, gw_store_up_mark() before the
 *     PUBREL leaves; after a restart gw_store_up_mark_next() walks the
 *     marked messages, and peek reports a message's mark.
 *   - Downlink: gw_store_down_put() for a station that cannot take a
 *     message now; peek/done as for the uplink when it is back.
 *   - The loop calls gw_store_tick(now) by gw_store_next_deadline(): it
 *     fsyncs under GW_STORE_SYNC_INTERVAL and does a bounded compaction
 *     step.
 */
#ifndef SNBRIDGE_GW_STORE_H
#define SNBRIDGE_GW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define GW_STORE_MUST_CHECK __attribute__((warn_unused_result))
#else
#define GW_STORE_MUST_CHECK
#endif

/* A client id is 1-23 octets (5.3.1). */
#define GW_STORE_CLIENT_ID_MAX 23u

enum gw_store_err {
	GW_STORE_OK = 0,
	GW_STORE_ERR_INVALID = -1,      /* a bad argument */
	GW_STORE_ERR_NOMEM = -2,        /* out of memory */
	GW_STORE_ERR_IO = -3,           /* a system call failed (errno kept): disk full, EIO */
	GW_STORE_ERR_FULL = -4,         /* the store's byte limit is reached */
	GW_STORE_ERR_STATION_FULL = -5, /* the station's message or byte limit is reached */
	GW_STORE_ERR_TOO_BIG = -6,      /* a message larger than any limit allows */
	GW_STORE_ERR_EMPTY = -7,        /* nothing (more) waiting */
	GW_STORE_ERR_NOT_FOUND = -8,    /* no such message, hold or session */
	GW_STORE_ERR_BUSY = -9,         /* another process has the directory open */
	GW_STORE_ERR_CORRUPT = -10,     /* a record cannot be read back */
};

/* A fixed message for err, never NULL. */
const char *gw_store_strerror(int err);

/*
 * When records reach the disk (the trade-off is in README, "custody"):
 *   ALWAYS    fsync before a put, a release, a session change or the done
 *             of a QoS 2 message returns: what was acknowledged survives a
 *             power cut. Dones of QoS 1/down messages are not synced: a
 *             crash can repeat such a message, never lose one. Default.
 *   INTERVAL  fsync from gw_store_tick() at most interval_ms after a write:
 *             a crash of the process loses nothing (the kernel has it), a
 *             power cut may lose the last interval_ms of acknowledged
 *             messages.
 *   NEVER     fsync only at close, rotation and compaction: the OS decides.
 */
enum gw_store_sync {
	GW_STORE_SYNC_ALWAYS = 0,
	GW_STORE_SYNC_INTERVAL = 1,
	GW_STORE_SYNC_NEVER = 2,
};

/* The operations a test can make fail (gw_store_config.fault). */
enum gw_store_io {
	GW_STORE_IO_WRITE = 0, /* appending a record */
	GW_STORE_IO_FSYNC = 1, /* fsync of a segment */
	GW_STORE_IO_CREATE = 2 /* starting a new segment */
};

struct gw_store_config {
	enum gw_store_sync sync;
	uint32_t interval_ms;        /* GW_STORE_SYNC_INTERVAL; 0: 100 */
	uint64_t max_bytes;          /* live records' octets, every kind; 0: no limit */
	uint64_t max_disk_bytes;     /* segment files' octets, live and dead; new
	                                puts are refused past it; 0: 2 * max_bytes
	                                + 3 segments (none without max_bytes) */
	uint32_t up_station_msgs;    /* per station, uplink; 0: no limit */
	uint64_t up_station_bytes;
	uint32_t down_station_msgs;  /* per station, downlink; 0: no limit */
	uint64_t down_station_bytes;
	uint32_t segment_bytes;      /* start a new segment past this; 0: 4 MiB */
	uint64_t compact_min_bytes;  /* compact only with this much dead data; 0: 4 MiB */
	uint32_t compact_step_bytes; /* octets a compaction step reads; 0: 64 KiB */
	/* Tests only: called before each operation; a nonzero return is the
	 * errno with which that operation fails, without being attempted. */
	int (*fault)(void *ctx, enum gw_store_io op);
	void *fault_ctx;
};

/* Defaults: fsync always, 256 MiB live, per station 10000 messages or
 * 16 MiB up and 1000 or 1 MiB down, 4 MiB segments. */
void gw_store_config_defaults(struct gw_store_config *cfg);

/*
 * A message, in and out. On put the caller fills client_id (1-23 octets,
 * NUL-terminated), topic, payload, qos (1 or 2; 0 allowed downlink),
 * retain, ttl_s (0: no expiry; otherwise the message expires ttl_s seconds
 * after it was received, and with MQTT 5 is sent with the rest as its
 * message-expiry interval) and, uplink at QoS 2, msg_id (the station's,
 * non-zero). put sets seq and received_ms. Out of peek every field is set,
 * the pointers being views valid until the next call on the store.
 */
struct gw_store_msg {
	const char *client_id;
	const char *topic;
	size_t topic_len;
	const uint8_t *payload;
	size_t payload_len;
	uint8_t qos;
	bool retain;
	uint16_t msg_id;
	uint32_t ttl_s;
	uint64_t received_ms;
	uint64_t seq;
	/* Out of peek (uplink): the MQTT packet id under which the broker sent
	 * PUBREC for this message (gw_store_up_mark), 0 when none. Ignored on put. */
	uint16_t broker_mid;
};

enum gw_store_dir {
	GW_STORE_UP = 0,   /* station to broker */
	GW_STORE_DOWN = 1, /* broker to station */
};

/* Counters since open and the present sizes. */
struct gw_store_stats {
	/* found at open */
	uint64_t recovered_up, recovered_down, recovered_sessions, recovered_holds;
	uint64_t recovered_marks; /* uplink messages with a broker's PUBREC on record */
	uint64_t torn_records;  /* torn or damaged tails cut */
	uint64_t torn_bytes;
	uint64_t damaged;       /* records that decoded but made no sense: skipped */
	/* since open */
	uint64_t put_up, put_down, done_up, done_down, expired_up, expired_down;
	uint64_t marked;        /* marks written (gw_store_up_mark, not clearing) */
	uint64_t refused_full, refused_station, write_errors;
	uint64_t fsyncs, compactions, compact_copied, segments_deleted;
	/* now */
	uint64_t up_msgs, down_msgs, sessions, holds, marks, stations;
	uint64_t live_bytes;    /* octets of the records still needed */
	uint64_t disk_bytes;    /* octets of every segment */
	uint64_t segments;
};

struct gw_store;

/*
 * Open the store in directory dir (created with mode 0700 when missing)
 * and recover it. cfg NULL: the defaults. On success *out is the store.
 * Returns GW_STORE_OK, GW_STORE_ERR_BUSY (another process has it),
 * _IO (errno kept), _NOMEM or _INVALID; err gets a message naming the file.
 */
GW_STORE_MUST_CHECK int gw_store_open(struct gw_store **out, const char *dir,
                                      const struct gw_store_config *cfg, char *err,
                                      size_t errcap);

/* fsync what is unsynced and close. NULL is fine. */
void gw_store_close(struct gw_store *s);

/*
 * The one log line about what open recovered: messages up and down,
 * stations, sessions, holds, PUBREC marks, sizes, torn records dropped,
 * and open_ms, the time the open took as the caller measured it. Returns
 * strlen of the line (truncated to cap - 1).
 */
size_t gw_store_summary(const struct gw_store *s, uint64_t open_ms, char *buf, size_t cap);

/* ---------------------------------------------------------------- uplink */

/*
 * Store a station's QoS 1/2 PUBLISH (m->qos 1 or 2). At QoS 2 the msg id
 * becomes held (replacing an earlier hold of the same id: the station
 * reuses an id only after PUBCOMP). Durable on return under SYNC_ALWAYS.
 * Returns GW_STORE_OK (m->seq, m->received_ms set), _INVALID, _TOO_BIG,
 * _FULL, _STATION_FULL, _IO or _NOMEM; on error nothing was stored.
 */
GW_STORE_MUST_CHECK int gw_store_up_put(struct gw_store *s, struct gw_store_msg *m, uint64_t now);

/*
 * The station's oldest live uplink message with a seq above after (0: the
 * oldest of all). Expired messages met on the way are removed and
 * counted. GW_STORE_OK with *out filled, GW_STORE_ERR_EMPTY, or _CORRUPT
 * (the record no longer reads back: it is dropped and counted in damaged;
 * peek again).
 */
GW_STORE_MUST_CHECK int gw_store_up_peek(struct gw_store *s, const char *client_id,
                                         uint64_t after, uint64_t now, struct gw_store_msg *out);

/* The broker acknowledged uplink message seq: remove it. _OK, _NOT_FOUND, _IO. */
GW_STORE_MUST_CHECK int gw_store_up_done(struct gw_store *s, const char *client_id, uint64_t seq);

/*
 * The broker answered the PUBLISH of the station's QoS 2 uplink message seq
 * with PUBREC under MQTT packet id broker_mid (MQTT 3.1.1 4.3.3): record
 * it, so that after a crash the message is released with a PUBREL under
 * that id rather than published again. broker_mid 0 clears the mark (the
 * id no longer means anything to the broker). A mark replaces an earlier
 * one of the message, is reported by peek, survives reopening and
 * compaction, and goes with the message (gw_store_up_done, expiry).
 * Durable on return under SYNC_ALWAYS, as a put. Writing the same mark
 * again writes nothing. _OK, _NOT_FOUND (no such live message), _INVALID
 * (not QoS 2), _IO, _NOMEM. It is not refused for a full store: it is
 * bounded by the messages in flight.
 */
GW_STORE_MUST_CHECK int gw_store_up_mark(struct gw_store *s, const char *client_id, uint64_t seq,
                                         uint16_t broker_mid);

/* A marked uplink message, out of gw_store_up_mark_next(). */
struct gw_store_mark {
	const char *client_id; /* valid while the store is open */
	uint64_t seq;
	uint16_t broker_mid;
};

/*
 * Walk the marked uplink messages of every station: start with *cursor =
 * 0; each true return fills *out. In no particular order. Marks set or
 * cleared during a walk may or may not be met (collect first, then act).
 */
bool gw_store_up_mark_next(const struct gw_store *s, uint64_t *cursor, struct gw_store_mark *out);

/* Whether the station's QoS 2 msg_id is held (stored, PUBREL not yet seen);
 * *seq (when not NULL) gets the message's seq. */
bool gw_store_up_held(const struct gw_store *s, const char *client_id, uint16_t msg_id,
                      uint64_t *seq);

/* The station's PUBREL for msg_id: drop the hold. _OK, _NOT_FOUND, _IO. */
GW_STORE_MUST_CHECK int gw_store_up_release(struct gw_store *s, const char *client_id,
                                            uint16_t msg_id);

/* ---------------------------------------------------------------- downlink */

/* Store a message for a station (qos 0-2). As gw_store_up_put, with the
 * downlink's per-station limits; msg_id is ignored. */
GW_STORE_MUST_CHECK int gw_store_down_put(struct gw_store *s, struct gw_store_msg *m,
                                          uint64_t now);

/* As gw_store_up_peek, for messages waiting for the station. */
GW_STORE_MUST_CHECK int gw_store_down_peek(struct gw_store *s, const char *client_id,
                                           uint64_t after, uint64_t now, struct gw_store_msg *out);

/* The station took message seq (or it was given up): remove it. */
GW_STORE_MUST_CHECK int gw_store_down_done(struct gw_store *s, const char *client_id, uint64_t seq);

/* ---------------------------------------------------------------- stations */

/*
 * Walk the stations with messages waiting in direction dir: start with
 * *cursor = 0; each true return sets *client_id (valid while the store is
 * open) and *count. Stations added during a walk may or may not be met.
 */
bool gw_store_station_next(const struct gw_store *s, enum gw_store_dir dir, uint32_t *cursor,
                           const char **client_id, uint32_t *count);

/* Live messages of a station in direction dir (0 for an unknown station). */
uint32_t gw_store_station_count(const struct gw_store *s, const char *client_id,
                                enum gw_store_dir dir);

/* ---------------------------------------------------------------- sessions */

/*
 * Store the session of a station with a persistent session: the latest
 * put wins. Durable on return under SYNC_ALWAYS. _OK, _INVALID, _TOO_BIG,
 * _FULL, _IO, _NOMEM.
 */
GW_STORE_MUST_CHECK int gw_store_session_put(struct gw_store *s, const char *client_id,
                                             const uint8_t *blob, size_t len);

/* The station's session: *blob a view valid until the next call. _OK, _NOT_FOUND, _IO, _CORRUPT. */
GW_STORE_MUST_CHECK int gw_store_session_get(struct gw_store *s, const char *client_id,
                                             const uint8_t **blob, size_t *len);

/* Forget the station's session. _OK, _NOT_FOUND, _IO. */
GW_STORE_MUST_CHECK int gw_store_session_del(struct gw_store *s, const char *client_id);

/* Walk the stations with a session, as gw_store_station_next. */
bool gw_store_session_next(const struct gw_store *s, uint32_t *cursor, const char **client_id);

/* ---------------------------------------------------------------- the loop */

/*
 * Periodic work: fsync under SYNC_INTERVAL when due, then one compaction
 * step when one is wanted. Returns GW_STORE_OK or the error of the fsync
 * (_IO: what was written since the last sync may be lost; logged by the
 * caller). A failed compaction step is counted and retried later.
 */
GW_STORE_MUST_CHECK int gw_store_tick(struct gw_store *s, uint64_t now);

/* When gw_store_tick() wants to run next: now when compaction has work,
 * the fsync deadline under SYNC_INTERVAL, else UINT64_MAX. */
uint64_t gw_store_next_deadline(const struct gw_store *s, uint64_t now);

/*
 * One bounded compaction step: read at most compact_step_bytes (or one
 * record) of the oldest segment and copy what is live to the newest;
 * delete the oldest segment once it is done or empty. Returns 1 when more
 * work remains, 0 when there is none, or a negative error.
 */
GW_STORE_MUST_CHECK int gw_store_compact_step(struct gw_store *s);

/* fsync now, whatever the policy. */
GW_STORE_MUST_CHECK int gw_store_sync(struct gw_store *s);

const struct gw_store_stats *gw_store_stats(const struct gw_store *s);

/* Octets of memory the index holds (allocated capacity; walks the stations). */
uint64_t gw_store_index_bytes(const struct gw_store *s);

/* The message of the last failure, "" when none. */
const char *gw_store_errmsg(const struct gw_store *s);

#endif
