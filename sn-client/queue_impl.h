/*
 * queue_impl.h - the persistent queue's state, shared by its three files
 * and by no one else:
 *   queue.c        the public API: limits, priorities, time to live, claims
 *   queue_index.c  the in-memory index of live messages
 *   queue_store.c  the segment files: appending, rotation, recovery,
 *                  deleting dead segments, compaction
 *
 * Records (codec/record.h) in the segments:
 *   SEGMENT  first record of every segment; seq = the next sequence number
 *            when it was made, so that numbers never go back even when every
 *            message is gone
 *   MESSAGE  seq = the message's; payload = its stored form (message.h)
 *   ACK      seq = the message that left; flags = enum snc_queue_outcome
 *   MARK     seq = a message's; flags = enum snc_claim; payload = the msg id
 *            (2 octets, big-endian); the last one of a message counts
 *   OWNER    seq = the next sequence number then; payload = the client id
 *            the marks are made under; repeated at the start of every new
 *            segment, so that deleting old segments never loses it
 *
 * The invariant that makes deleting files safe: the acknowledgement of a
 * message is never in an older segment than the message, and segments are
 * deleted oldest first, so a segment still on disk has every acknowledgement
 * of its messages after it. A mark is never in an older segment than its
 * message either, so the same holds for marks; compaction copies them.
 */
#ifndef SNBRIDGE_SNC_QUEUE_IMPL_H
#define SNBRIDGE_SNC_QUEUE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/record.h"
#include "sn-client/queue.h"
#include "sn-client/segdir.h"

#define REC_SEGMENT 1u
#define REC_MESSAGE 2u
#define REC_ACK 3u
#define REC_MARK 4u
#define REC_OWNER 5u

/* The largest OWNER record: a client id is at most 23 octets (5.3.1). */
#define OWNER_MAX 23u
#define OWNER_RECORD_MAX (MQTTSN_RECORD_OVERHEAD + OWNER_MAX)

/* One live message in the index. */
struct entry {
	uint64_t seq;
	uint64_t expire_at; /* UINT64_MAX: never */
	uint64_t seg;       /* segment number */
	uint64_t off;       /* where its record starts */
	uint32_t size;      /* the record's octets */
	bool claimed;
	bool qos2;          /* the message is QoS 2 */
	uint8_t mark;       /* enum snc_claim of its last MARK record */
	uint16_t msg_id;    /* and that record's msg id */
};

/* A marked live message: the few that are (or were) on the wire. */
struct mark_ref {
	uint64_t seq;
	uint16_t msg_id;
};

/* The live messages of one priority, ascending seq. */
struct lane {
	struct entry *v;
	size_t n, cap;
};

struct segment {
	uint64_t num;
	int fd;
	uint64_t size;
	uint64_t live_bytes;
	uint32_t live_count;
};

struct snc_queue {
	struct snc_queue_config cfg;
	struct snc_segdir dir;
	struct lane lanes[SNC_PRIO_LEVELS];
	struct segment *segs; /* ascending numbers; the last one is written */
	size_t nsegs, segcap;
	uint64_t next_seq;
	struct mark_ref *marks; /* every marked live message, in no order */
	size_t nmarks, markcap;
	char owner[OWNER_MAX + 1];
	bool dirty;           /* written but not fsynced */
	struct snc_queue_stats st;
	uint8_t *rbuf;        /* the record behind the last peek */
	size_t rcap;
	uint8_t *wbuf;        /* a record being written */
	size_t wcap;
};

/* ---------------------------------------------------------------- queue_store.c */

/* Grow *buf to at least need octets. SNC_OK or SNC_ERR_NOMEM. */
int snc_qstore_grow(uint8_t **buf, size_t *cap, size_t need);
/* Record "out of memory" as the queue's error; returns SNC_ERR_NOMEM. */
int snc_qstore_nomem(struct snc_queue *q);
/* The segment numbered num, or NULL. */
struct segment *snc_qstore_seg(struct snc_queue *q, uint64_t num);
/* Encode a record into q->wbuf: its size, or a negative snc_err. */
int snc_qstore_encode(struct snc_queue *q, uint8_t type, uint8_t flags, uint64_t seq,
                      const uint8_t *payload, size_t len);
/*
 * Append the n octets in q->wbuf to the active segment (a new one first
 * when it is full), fsync when sync; *seg and *off (when not NULL) tell
 * where the record went. On failure nothing was added.
 */
int snc_qstore_append(struct snc_queue *q, size_t n, bool sync, uint64_t *seg, uint64_t *off);
/* fsync the active segment if anything is unsynced. */
int snc_qstore_sync(struct snc_queue *q);
/* Read e's whole record into *buf (grown as needed). */
int snc_qstore_read(struct snc_queue *q, const struct entry *e, uint8_t **buf, size_t *cap);
/* After messages left: delete dead segments, compact when dead data dominates. */
void snc_qstore_housekeep(struct snc_queue *q);
/* Replay every segment into the index, cutting torn tails. */
int snc_qstore_recover(struct snc_queue *q);

/* Encode the OWNER record of q->owner into buf (OWNER_RECORD_MAX octets): its size. */
size_t snc_qstore_owner_record(const struct snc_queue *q, uint8_t *buf);

/* ---------------------------------------------------------------- queue_index.c */

/* Find seq in any lane: true with *lane and *idx set. */
bool snc_qindex_find(struct snc_queue *q, uint64_t seq, unsigned *lane, size_t *idx);
/* Add an entry to lane prio in seq order, and to its segment's accounts. */
int snc_qindex_add(struct snc_queue *q, unsigned prio, const struct entry *e);
/* Set the mark of lane prio's entry i (in memory only). SNC_OK or SNC_ERR_NOMEM. */
int snc_qindex_set_mark(struct snc_queue *q, unsigned prio, size_t i, uint8_t mark,
                        uint16_t msg_id);
/* Take lane prio's entry i out of the index and the accounts. */
void snc_qindex_remove(struct snc_queue *q, unsigned prio, size_t i);
/* Write the acknowledgement of lane prio's entry i, then remove it, counted as why. */
int snc_qindex_retire(struct snc_queue *q, unsigned prio, size_t i, enum snc_queue_outcome why);
/* When a message enqueued at enqueued_ms with ttl_s expires (UINT64_MAX: never). */
uint64_t snc_qindex_expiry(uint64_t enqueued_ms, uint32_t ttl_s);

#endif
