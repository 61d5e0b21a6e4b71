/*
 * queue.h - the station's persistent outbound queue.
 *
 * Messages wait here, on disk, until the gateway has acknowledged them: a
 * reboot, a crash or an outage of hours loses nothing that push() accepted.
 * The directory holds append-only segment files of records (codec/record.h):
 * a message record per push, an acknowledgement record per ack or drop.
 * Opening replays them, cuts a torn tail, and rebuilds the index; segments
 * whose messages are all gone are deleted, and when dead records dominate
 * the live ones are rewritten into a fresh segment (compaction).
 *
 * Order: claim() and peek() hand out the highest priority first and, within
 * a priority, the oldest first. A claimed message is in flight: it stays on
 * disk until ack() (delivered) or discard() (refused for good), or goes
 * back in line with release() (the connection dropped). A claim itself
 * lives in memory; what reaches the wire is recorded on disk by mark():
 * the msg id a message was sent under and how far its exchange got (6.6).
 * A marked message that is released, or found at open after a crash, is
 * handed out before any other, with its msg id and state in the message
 * (msg_id, claim), so that the client resends the PUBLISH with DUP and the
 * same msg id, or the PUBREL: with a gateway that keeps QoS 2 state until
 * PUBREL, nothing acknowledged is lost and nothing at QoS 2 is repeated.
 * A marked message is never expired nor dropped to make room: it may be at
 * the gateway already. The client id the marks were made under is kept too
 * (set_owner), since a msg id means something only within one session.
 *
 * Time: every `now` is milliseconds on a clock that survives a reboot (the
 * wall clock, CLOCK_REALTIME), because enqueue times and time-to-live are
 * stored. No function reads the clock itself.
 */
#ifndef SNBRIDGE_SNC_QUEUE_H
#define SNBRIDGE_SNC_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sn-client/error.h"
#include "sn-client/message.h"

/*
 * When what the queue writes reaches the disk.
 *
 * SNC_SYNC_ALWAYS (the default) fsyncs every push and every mark before
 * the call returns: nothing push() accepted is lost, and no QoS 2 message
 * is forwarded twice (its mark is on disk before its packet leaves), by a
 * crash of the process or a cut of the power. Acknowledgements are fsynced
 * only with sync_acks.
 *
 * SNC_SYNC_NONE fsyncs no record, QoS 2 marks included, until
 * snc_queue_sync() or close: every write is left to the OS (only starting
 * a segment and compacting still sync, so that what was on disk already
 * stays whole; both are rare). A crash of the process still loses nothing
 * (the kernel holds what write() took); a crash of the OS or a power cut
 * may lose the last pushes, and may lose a QoS 2 message's mark, after
 * which that message goes out again under a new msg id and the gateway
 * forwards it twice. The caller who picks it accepts that risk for the
 * time fsync costs: a simulator, a station whose storage survives a power
 * cut, or one that calls snc_queue_sync() on a schedule of its own.
 */
enum snc_queue_sync {
	SNC_SYNC_ALWAYS = 0, /* fsync every push and mark before returning (default) */
	SNC_SYNC_NONE = 1,   /* fsync no record: leave it to the OS, or to snc_queue_sync() */
};

/* What push() does when the queue is full. */
enum snc_queue_full {
	SNC_FULL_REFUSE = 0,      /* refuse the new message: SNC_ERR_FULL */
	SNC_FULL_DROP_OLDEST = 1, /* drop the oldest unclaimed messages of the lowest
	                             priority, never above the new one's; refuse
	                             when that does not make room */
};

/* Why a message left the queue; stored in the acknowledgement record. */
enum snc_queue_outcome {
	SNC_OUT_DELIVERED = 0,
	SNC_OUT_EXPIRED = 1,
	SNC_OUT_DROPPED = 2,  /* to make room (SNC_FULL_DROP_OLDEST) */
	SNC_OUT_REFUSED = 3,  /* the gateway refused it for good */
};

struct snc_queue_config {
	enum snc_queue_sync sync;
	bool sync_acks;            /* fsync acknowledgements too (SNC_SYNC_ALWAYS only);
	                              without it a crash can repeat a delivered
	                              message, never lose one */
	enum snc_queue_full when_full;
	uint64_t max_bytes;        /* live records' octets on disk; 0: no limit */
	uint32_t max_count;        /* live messages; 0: no limit */
	uint64_t segment_bytes;    /* start a new segment file past this size; 0: default */
	uint64_t compact_min_bytes;/* compact only with at least this much dead data;
	                              0: default */
};

/* Defaults: fsync every push, refuse when full, 16 MiB / 100000 messages,
 * 1 MiB segments, compaction from 512 KiB of dead data. */
void snc_queue_config_defaults(struct snc_queue_config *cfg);

/* Counters since open, and the present size. */
struct snc_queue_stats {
	uint64_t pushed;
	uint64_t delivered;        /* ack() */
	uint64_t refused;          /* discard(): refused by the gateway */
	uint64_t expired;          /* time to live ran out */
	uint64_t dropped_full;     /* dropped to make room */
	uint64_t refused_full;     /* pushes refused because full */
	uint64_t recovered;        /* messages found waiting at open */
	uint64_t torn_bytes;       /* octets of torn or damaged tails cut at open */
	uint64_t damaged;          /* damaged (not just torn) records met */
	uint64_t compactions;
	uint64_t segments_deleted;
	uint64_t marks;            /* mark records written */
	uint64_t in_flight;        /* live messages marked (sent, not yet answered) */
	uint64_t in_flight_qos2;   /* of which QoS 2 */
	uint64_t count;            /* live messages now */
	uint64_t count_qos2;       /* of which QoS 2 */
	uint64_t bytes;            /* their records' octets */
	uint64_t disk_bytes;       /* every segment's octets */
};

struct snc_queue;

/*
 * Open the queue in directory dir (created, mode 0700, when missing) and
 * recover it. cfg NULL: the defaults. On success *out is the queue and
 * SNC_OK is returned. On failure *out is NULL, the return is SNC_ERR_BUSY
 * (another process has it open), SNC_ERR_IO (errno kept), SNC_ERR_NOMEM or
 * SNC_ERR_INVALID, and err (when not NULL) gets a message naming the file.
 */
SNC_MUST_CHECK int snc_queue_open(struct snc_queue **out, const char *dir,
                                  const struct snc_queue_config *cfg, char *err, size_t errcap);

/* Close the queue (syncing what SNC_SYNC_NONE left unsynced). NULL is fine. */
void snc_queue_close(struct snc_queue *q);

/*
 * Append a copy of *m; sets m->seq and m->enqueued_ms = now. Durable on
 * return under SNC_SYNC_ALWAYS. Returns SNC_OK, SNC_ERR_INVALID (see
 * snc_message_check), SNC_ERR_TOO_BIG (larger than max_bytes alone),
 * SNC_ERR_FULL (the full policy refused it) or SNC_ERR_IO (the disk; the
 * queue is unchanged).
 */
SNC_MUST_CHECK int snc_queue_push(struct snc_queue *q, struct snc_message *m, uint64_t now);

/*
 * The next message in line without claiming it: the highest priority,
 * oldest unclaimed one; expired ones met on the way are dropped and
 * counted. *out holds views into the queue valid until the next call on q.
 * Returns SNC_OK, SNC_ERR_EMPTY (nothing unclaimed), or an I/O error.
 */
SNC_MUST_CHECK int snc_queue_peek(struct snc_queue *q, uint64_t now, struct snc_message *out);

/* Like peek, and marks the message claimed (in flight). */
SNC_MUST_CHECK int snc_queue_claim(struct snc_queue *q, uint64_t now, struct snc_message *out);

/* Put a claimed message back in line (it comes next again). SNC_ERR_NOT_FOUND if none. */
SNC_MUST_CHECK int snc_queue_release(struct snc_queue *q, uint64_t seq);

/* Put every claimed message back in line. */
void snc_queue_release_all(struct snc_queue *q);

/*
 * The message seq was delivered: remove it for good (an acknowledgement
 * record). Returns SNC_OK, SNC_ERR_NOT_FOUND, or SNC_ERR_IO.
 */
SNC_MUST_CHECK int snc_queue_ack(struct snc_queue *q, uint64_t seq);

/* Like ack, for a message the gateway refused for good (counted apart). */
SNC_MUST_CHECK int snc_queue_discard(struct snc_queue *q, uint64_t seq);

/*
 * Record that message seq goes (or went) out under msg_id (1-65535) and how
 * far its exchange got: SNC_CLAIM_SENT before its PUBLISH is sent,
 * SNC_CLAIM_PUBREL before the PUBREL that answers its PUBREC (6.6). A mark
 * is durable on return under SNC_SYNC_ALWAYS, which is what makes a restart
 * after a power cut safe; under SNC_SYNC_NONE it is not, QoS 2 or not (see
 * enum snc_queue_sync for what that risks). Marking again with
 * the same values writes nothing. Returns SNC_OK, SNC_ERR_INVALID,
 * SNC_ERR_NOT_FOUND (no such live message) or SNC_ERR_IO (nothing changed).
 */
SNC_MUST_CHECK int snc_queue_mark(struct snc_queue *q, uint64_t seq, uint16_t msg_id,
                                  enum snc_claim state);

/* Whether a live marked message holds msg_id (new messages must not take it). */
bool snc_queue_msg_id_marked(const struct snc_queue *q, uint16_t msg_id);

/*
 * The client id the marks are made under (1-23 characters), recorded when
 * it changes. SNC_OK, SNC_ERR_INVALID or SNC_ERR_IO.
 */
SNC_MUST_CHECK int snc_queue_set_owner(struct snc_queue *q, const char *client_id);

/* The client id last set with set_owner (kept on disk), "" when none. */
const char *snc_queue_owner(const struct snc_queue *q);

/* fsync the segment being written (for SNC_SYNC_NONE). */
SNC_MUST_CHECK int snc_queue_sync(struct snc_queue *q);

/* Live messages (claimed or not). */
size_t snc_queue_count(const struct snc_queue *q);

/* Counters and sizes. */
const struct snc_queue_stats *snc_queue_stats(const struct snc_queue *q);

/* The message of the last failure, "" when none. */
const char *snc_queue_errmsg(const struct snc_queue *q);

#endif
