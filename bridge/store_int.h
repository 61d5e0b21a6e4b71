/*
 * store_int.h - the custody store's state, shared by its files and by no
 * one else:
 *   store.c          open, close, limits, sync policy, tick, statistics
 *   store_msg.c      the API of messages, holds and sessions
 *   store_format.c   the payloads of the records (pure)
 *   store_index.c    stations, their FIFOs, holds, sessions; accounting
 *   store_log.c      segments: appending, rotation, reading back, deleting
 *   store_recover.c  replaying the segments at open
 *   store_compact.c  incremental compaction
 *
 * Records (codec/record.h); the payload formats are in store_format.c.
 *   SEGMENT    first record of a segment; seq = the next seq then
 *   UP, DOWN   a message; seq = its own; flags = qos | retain | held
 *   UP_DONE, DOWN_DONE  seq = the message that left; flags = why
 *   HOLD       a QoS 2 msg id held past its message (copied by compaction)
 *   RELEASE    seq = the held message's; the station's PUBREL
 *   SESSION    seq = the next seq then; client id and blob
 *   SESSION_DEL
 *   MARK       seq = an UP message's; client id + the broker's packet id
 *              (0: the mark cleared); the latest record of a seq wins
 *              (copied by compaction while its message is live)
 * A removal record (DONE, RELEASE, SESSION_DEL, a later SESSION or MARK)
 * is never in an older segment than a copy of what it removes, because
 * copies are made only of what is live, always at the end of the log, and
 * segments are deleted oldest first. So position in the log, (segment,
 * offset), is the order in which records were written.
 */
#ifndef SNBRIDGE_GW_STORE_INT_H
#define SNBRIDGE_GW_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge/store.h"
#include "codec/record.h"
#include "sn-client/segdir.h"

#define REC_SEGMENT 1u
#define REC_UP 2u
#define REC_DOWN 3u
#define REC_UP_DONE 4u
#define REC_DOWN_DONE 5u
#define REC_HOLD 6u
#define REC_RELEASE 7u
#define REC_SESSION 8u
#define REC_SESSION_DEL 9u
#define REC_MARK 10u

/* flags of UP and DOWN records */
#define FL_QOS_MASK 0x03u
#define FL_RETAIN 0x04u
#define FL_HELD 0x08u /* UP at QoS 2: the msg id is held */

/* flags of DONE records: why the message left */
#define WHY_DONE 0u
#define WHY_EXPIRED 1u
#define WHY_DAMAGED 2u

/* entry.flags beyond the record's qos and retain */
#define EF_GONE 0x80u

/* One message in a station's FIFO: 32 octets. */
struct entry {
	uint64_t seq;
	uint32_t seg;      /* segment number */
	uint32_t off;      /* where its record starts */
	uint32_t size;     /* the record's octets */
	uint32_t expire_s; /* wall-clock second from which it is expired; 0: never */
	uint16_t msg_id;   /* up, QoS 2 */
	uint8_t flags;     /* FL_QOS_MASK | FL_RETAIN | EF_GONE */
};

/* The live messages of one direction, ascending seq: v[head..n). */
struct fifo {
	struct entry *v;
	uint32_t head, n, cap;
	uint32_t count;    /* live (not gone) */
	uint64_t bytes;    /* their records' octets */
};

/* A held QoS 2 msg id; its record is the message's, or a HOLD record once
 * the message is done (done true). */
struct hold {
	uint64_t seq;
	uint32_t seg, off, size;
	uint16_t msg_id;
	bool done;
};

/* A live uplink message's broker packet id; its record is a MARK record,
 * which the mark owns (accounted live) until it is cleared, replaced or
 * its message leaves. Few: only messages between PUBREC and PUBCOMP. */
struct mark {
	uint64_t seq;
	uint32_t seg, off, size;
	uint16_t mid;
};

struct station {
	char id[GW_STORE_CLIENT_ID_MAX + 1];
	uint8_t idlen;
	bool has_session;
	struct fifo dir[2];    /* GW_STORE_UP, GW_STORE_DOWN */
	struct hold *holds;
	uint16_t nholds, holdcap;
	struct mark *marks;
	uint16_t nmarks, markcap;
	uint32_t sess_seg, sess_off, sess_size;
};

struct segment {
	uint64_t num;
	int fd;
	uint64_t size;
	uint64_t live_bytes;
	uint32_t live_count;
};

/* A compaction pass over the oldest segment. */
struct compaction {
	bool active;
	bool stuck;        /* a record mid-segment does not read: wait for a reopen */
	uint64_t retry_at; /* after a failed step, not before (ms) */
	uint64_t num;      /* the segment being emptied */
	uint64_t cursor;   /* next octet to read */
};

struct gw_store {
	struct gw_store_config cfg;
	struct snc_segdir dir;
	struct station *st;       /* stations, by number */
	uint32_t nst, stcap;
	uint32_t *hash;           /* open addressing: station number + 1, 0 empty */
	uint32_t hashcap;         /* a power of two */
	struct segment *segs;     /* ascending; the last one is written */
	size_t nsegs, segcap;
	uint64_t next_seq;
	bool dirty;               /* written, not fsynced */
	bool broken;              /* the active segment's end is in doubt: rotate */
	uint64_t last_sync_ms;
	struct compaction cp;
	struct gw_store_stats stats;
	uint8_t *wbuf;            /* a record being written */
	size_t wcap;
	uint8_t *rbuf;            /* a record read back (peek, session get) */
	size_t rcap;
	uint8_t *pbuf;            /* a payload being built */
	size_t pcap;
	uint8_t *cbuf;            /* compaction's slice */
	size_t ccap;
};

/* ---------------------------------------------------------------- store_format.c */

/* The fields of an UP or DOWN payload; views into the record. */
struct msg_view {
	const char *id;
	size_t idlen;
	uint64_t received_ms;
	uint32_t ttl_s;
	uint16_t msg_id;
	const char *topic;
	size_t topic_len;
	const uint8_t *payload;
	size_t payload_len;
};

/* Octets of an UP/DOWN payload for these fields. */
size_t gw_sfmt_msg_size(size_t idlen, size_t topic_len, size_t payload_len);
/* Write it into buf (exactly gw_sfmt_msg_size octets). */
void gw_sfmt_msg_put(uint8_t *buf, const struct msg_view *m);
/* Parse it; false when malformed. */
bool gw_sfmt_msg_get(const uint8_t *buf, size_t len, struct msg_view *m);

/* Payload of DONE, SESSION_DEL: the client id; HOLD, RELEASE: id + msg id;
 * MARK: id + the broker's packet id; SESSION: id + blob. One layout:
 * idlen, id, then the rest. */
size_t gw_sfmt_id_size(size_t idlen, size_t rest);
void gw_sfmt_id_put(uint8_t *buf, const char *id, size_t idlen, const uint8_t *rest, size_t n);
bool gw_sfmt_id_get(const uint8_t *buf, size_t len, const char **id, size_t *idlen,
                    const uint8_t **rest, size_t *n);

/* ---------------------------------------------------------------- store_index.c */

/* The station with this id, or NULL. */
struct station *gw_sidx_find(const struct gw_store *s, const char *id, size_t idlen);
/* The station with this id, made when missing; NULL when out of memory. */
struct station *gw_sidx_get(struct gw_store *s, const char *id, size_t idlen);
/* Room for one more entry at the end of f. GW_STORE_OK or _NOMEM. */
int gw_sidx_reserve(struct fifo *f);
/* Append e to f, unaccounted (recovery sorts and accounts afterwards). */
int gw_sidx_append(struct fifo *f, const struct entry *e);
/* Append e (its seq above every other) to st's FIFO d and account it. */
int gw_sidx_push(struct gw_store *s, struct station *st, int d, const struct entry *e);
/* Account every entry of f (after recovery built it). */
void gw_sidx_account(struct gw_store *s, struct fifo *f, int d);
/* The live entry of f with seq, or NULL. */
struct entry *gw_sidx_lookup(struct fifo *f, uint64_t seq);
/* The first live entry of f with a seq above after, or NULL. */
struct entry *gw_sidx_after(struct fifo *f, uint64_t after);
/* Mark e (of st's FIFO d) gone, drop gone entries from the head, account. */
void gw_sidx_remove(struct gw_store *s, struct station *st, int d, struct entry *e);
/* The hold of msg_id, or NULL; by seq, or NULL. */
struct hold *gw_sidx_hold(struct station *st, uint16_t msg_id);
struct hold *gw_sidx_hold_seq(struct station *st, uint64_t seq);
/* Add a hold (room must have been made with gw_sidx_hold_room). */
void gw_sidx_hold_add(struct gw_store *s, struct station *st, const struct hold *h);
int gw_sidx_hold_room(struct station *st);
void gw_sidx_hold_drop(struct gw_store *s, struct station *st, struct hold *h);
/* The mark of uplink message seq, or NULL. */
struct mark *gw_sidx_mark(struct station *st, uint64_t seq);
/* Room for one more mark: GW_STORE_OK or _NOMEM. */
int gw_sidx_mark_room(struct station *st);
/* Add a mark (room made first; its record accounted live) / drop one (dead). */
void gw_sidx_mark_add(struct gw_store *s, struct station *st, const struct mark *m);
void gw_sidx_mark_drop(struct gw_store *s, struct station *st, struct mark *m);
/* Segment accounting: size octets at segment num come alive / die. */
void gw_sidx_live(struct gw_store *s, uint32_t num, uint32_t size);
void gw_sidx_dead(struct gw_store *s, uint32_t num, uint32_t size);
/* Memory the index holds. */
uint64_t gw_sidx_memory(const struct gw_store *s);
void gw_sidx_free(struct gw_store *s);

/* ---------------------------------------------------------------- store_log.c */

int gw_slog_grow(uint8_t **buf, size_t *cap, size_t need);
int gw_slog_nomem(struct gw_store *s);
/* The segment numbered num, or NULL. */
struct segment *gw_slog_seg(struct gw_store *s, uint64_t num);
/* Encode a record with this payload into s->wbuf: its size, or _NOMEM. */
int gw_slog_encode(struct gw_store *s, uint8_t type, uint8_t flags, uint64_t seq,
                   const uint8_t *payload, size_t len);
/* Room for len octets of payload in s->pbuf: the pointer, NULL when out of memory. */
uint8_t *gw_slog_scratch(struct gw_store *s, size_t len);
/* Append the n octets of s->wbuf; fsync when sync. *seg and *off tell
 * where it went. On failure nothing was added (or the segment is left). */
int gw_slog_append(struct gw_store *s, size_t n, bool sync, uint32_t *seg, uint32_t *off);
/* Append n octets of buf (compaction's copies, never synced): same contract. */
int gw_slog_append_buf(struct gw_store *s, const uint8_t *buf, size_t n, uint32_t *seg,
                       uint32_t *off);
/* fsync the active segment if anything is unsynced. */
int gw_slog_sync(struct gw_store *s);
/* Whether the test hook fails op (errno and the message set). */
bool gw_slog_faulted(struct gw_store *s, enum gw_store_io op);
/* Read the record at (seg, off, size) into s->rbuf and decode it. */
int gw_slog_read(struct gw_store *s, uint32_t seg, uint32_t off, uint32_t size,
                 struct mqttsn_record *r);
/* Add segment num (open as fd, size octets) after the others. */
int gw_slog_seg_add(struct gw_store *s, uint64_t num, int fd, uint64_t size);
/* Start a new active segment. */
int gw_slog_create(struct gw_store *s);
/* Delete leading segments with nothing live (never the active one). */
void gw_slog_drop_dead(struct gw_store *s);

/* ---------------------------------------------------------------- store_recover.c */

/* Replay every segment into the index, cutting torn tails. */
int gw_srec_recover(struct gw_store *s);
/* The error message, "dir: ..." (printf). */
void gw_slog_say(struct gw_store *s, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* ---------------------------------------------------------------- store_msg.c */

/* The second from which a message received at ms with ttl_s is expired. */
uint32_t gw_smsg_expiry(uint64_t received_ms, uint32_t ttl_s);

/* ---------------------------------------------------------------- store_compact.c */

/* Whether compaction has work (a pass under way, a dead oldest segment,
 * or enough dead data). */
bool gw_scmp_wanted(const struct gw_store *s);

#endif
