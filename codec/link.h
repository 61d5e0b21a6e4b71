/*
 * link.h - one end of a framed link with one peer: the session that turns a
 * stream of MQTT-SN messages into link frames (codec/frame.h) and back.
 *
 * Sending: messages queue in order; they go out batched into frames of at
 * most conf.mtu octets, each message held at most conf.hold_ms waiting for
 * company, a frame sent at once when it is full. Only the PUBLISH flow is
 * held; any other message flushes the queue (codec/FRAMES.md). A message too large for
 * one frame even compressed is cut into fragments, one frame each.
 * Receiving: a frame is opened (authenticated, replay-checked, inflated) and
 * its messages handed out in order; fragments are put back together.
 *
 * Pure like the rest of the codec: no I/O, no clock (every `now` is
 * milliseconds on the caller's monotonic clock), no hidden threads. The
 * counters that must survive a restart are the caller's to persist; the
 * session says when (mqttsn_link_tx_want, mqttsn_link_rx_changed). The
 * large working memory (struct mqttsn_frame_ctx, ~340 KiB) is the caller's
 * and shared by all its links; a link itself holds its queue and, only
 * while messages are queued or fragments arrive, a builder and a
 * reassembly table.
 *
 * Used by the bridge (one link per framed station), by the station's
 * framed transport (sn-client) and by the simulator, so the three agree on
 * every octet. Wire format: codec/FRAMES.md.
 */
#ifndef SNBRIDGE_CODEC_LINK_H
#define SNBRIDGE_CODEC_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/frame.h"

/* Octets of messages a link queues when conf.queue_max is 0. */
#define MQTTSN_LINK_QUEUE_DEFAULT 16384u
/* A sender sets the wide counter on its first frame and then every this many. */
#define MQTTSN_LINK_WIDE_EVERY 4096u

struct mqttsn_link_conf {
	size_t mtu;             /* largest frame sent (<= MQTTSN_FRAME_MAX): 340 SBD up, 270 down, 1200 IP */
	uint32_t hold_ms;       /* longest a queued message waits for company; 0: none */
	size_t queue_max;       /* octets of messages waiting to be framed; 0: the default */
	uint8_t direction;      /* of the frames this end sends: MQTTSN_LINK_UP at a station */
	bool encrypt;           /* seal with key; and open only encrypted frames */
	uint8_t key_id;         /* 0..3: the key frames are sealed with */
	struct mqttsn_link_keyring keys; /* keys frames are opened with; must hold key_id when encrypt */
	const struct mqttsn_frame_dict *dict;  /* compress with it; NULL: never compress */
	const struct mqttsn_frame_dict *dicts; /* open with these (by id); may be NULL when ndicts is 0 */
	size_t ndicts;
};

/* What a link counted since it was made. Additive only. */
struct mqttsn_link_stats {
	uint64_t frames_out, frames_in;       /* sealed and sent / opened */
	uint64_t bytes_out, bytes_in;         /* octets of those frames */
	uint64_t msgs_out, msgs_in;           /* messages carried (a fragmented one counts once) */
	uint64_t frags_out, frags_in;         /* fragment frames */
	uint64_t compressed_out;              /* frames sent deflated */
	uint64_t drop_queue_full;             /* mqttsn_link_send refused: queue full */
	uint64_t drop_too_big;                /* message over MQTTSN_FRAME_REASM_MSG_MAX or too many fragments */
	uint64_t bad_malformed, bad_version, bad_key, bad_dict, bad_auth;   /* frames refused, by cause */
	uint64_t bad_replayed, bad_too_old, bad_inflate, bad_bomb, bad_fragment, bad_other;
	uint64_t reasm_evicted;               /* half-built messages dropped for a newer one */
};

struct mqttsn_link;

/*
 * A new link. tx_mark: the sender's last persisted counter high-water mark
 * (0 the first time); counters from tx_mark up are used once the caller
 * persisted a mark above them (mqttsn_link_tx_want). rx_floor: counters
 * below it are refused (persisted highest + 1; 0 the first time). conf is
 * copied, the dictionaries are not (they must outlive the link). NULL when
 * out of memory or conf is invalid (mtu too small for a frame with one
 * octet of content, key_id not in keys when encrypt).
 */
struct mqttsn_link *mqttsn_link_new(const struct mqttsn_link_conf *conf, uint64_t tx_mark, uint64_t rx_floor);
void mqttsn_link_free(struct mqttsn_link *l);

/* ---------------------------------------------------------------- sending */

/*
 * Queue one MQTT-SN message for the peer. MQTTSN_OK; MQTTSN_ERR_NO_SPACE
 * when the queue is full (nothing queued: answer it like congestion);
 * MQTTSN_ERR_TOO_BIG when it can never be sent (over
 * MQTTSN_FRAME_REASM_MSG_MAX, or more than MQTTSN_FRAME_FRAGS_MAX
 * fragments at this mtu); MQTTSN_FRAME_ERR_ZLIB. ctx: working memory
 * (deciding whether the message still fits the frame being filled may
 * deflate it).
 */
MQTTSN_MUST_CHECK int mqttsn_link_send(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx, const uint8_t *msg,
                                       size_t len, uint64_t now);

/*
 * Compress with dict from now on (NULL: stop compressing); it must outlive
 * the link. The frame being filled is filled again under it, unless a
 * message is half sent in fragments. A bridge uses it to answer a station
 * with the dictionary the station's own frames name: the one it has.
 * MQTTSN_OK, or MQTTSN_ERR_INVALID for a dictionary over
 * MQTTSN_FRAME_DICT_MAX.
 */
MQTTSN_MUST_CHECK int mqttsn_link_set_dict(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx,
                                           const struct mqttsn_frame_dict *dict);

/*
 * Send frames of at most mtu octets from now on: the frame being filled is
 * filled again to it; a message half sent in fragments finishes at the
 * size it started with. A bridge uses it when a station's frames come over
 * another kind of link (a listener or serial line with its own MTU).
 * MQTTSN_OK, or MQTTSN_ERR_INVALID for an mtu mqttsn_link_new() refuses.
 */
MQTTSN_MUST_CHECK int mqttsn_link_set_mtu(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx, size_t mtu);

/* The dictionary frames are compressed with now, or NULL. */
const struct mqttsn_frame_dict *mqttsn_link_dict(const struct mqttsn_link *l);

/* Send what is queued without waiting for hold_ms (before sleeping, at a DISCONNECT, on shutdown). */
void mqttsn_link_flush(struct mqttsn_link *l);

/*
 * When mqttsn_link_next_frame() has a frame to give: at once (a value <=
 * now: a frame is full, a fragment is due, or a flush was asked), the time
 * the oldest queued message's hold ends, or UINT64_MAX when nothing is
 * queued.
 */
uint64_t mqttsn_link_deadline(const struct mqttsn_link *l);

/*
 * The next frame due at now into out[0..cap) (cap >= conf.mtu): its length
 * (> 0; transmit it, then call again), 0 when none is due,
 * MQTTSN_FRAME_ERR_COUNTER when no counter is reserved (persist
 * mqttsn_link_tx_want()'s mark, call mqttsn_link_tx_persisted(), call
 * again; nothing was lost), or another negative error (the frame's
 * messages are dropped and counted).
 */
MQTTSN_MUST_CHECK int mqttsn_link_next_frame(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx, uint64_t now,
                                             uint8_t *out, size_t cap);

/* Octets and messages queued, not yet in a frame sent. */
size_t mqttsn_link_queued_bytes(const struct mqttsn_link *l);
size_t mqttsn_link_queued_msgs(const struct mqttsn_link *l);

/* ---------------------------------------------------------------- receiving */

/*
 * Open one frame (buf[0] is MQTTSN_FRAME_MARK): authenticate, check the
 * replay window, inflate, into out[0..cap) (give MQTTSN_FRAME_CONTENT_MAX).
 * Returns the content's length (>= 0) with *info filled, or a
 * MQTTSN_FRAME_ERR_* (counted; the link goes on). The replay window has
 * taken the frame's counter: persist mqttsn_link_rx_changed()'s value
 * before acting on the content if replays across a crash must be refused.
 * Then hand the content to mqttsn_link_deliver().
 */
MQTTSN_MUST_CHECK int mqttsn_link_open(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx, const uint8_t *buf,
                                       size_t len, uint8_t *out, size_t cap, struct mqttsn_frame_info *info);

/*
 * Walk opened content: fn(arg, msg, len) for each whole message in order
 * (a fragment completes one message at most). Returns the number of
 * messages delivered, or a negative error for malformed content (counted;
 * messages before the fault were delivered). fn must not call back into
 * this link.
 */
int mqttsn_link_deliver(struct mqttsn_link *l, const uint8_t *content, size_t len,
                        const struct mqttsn_frame_info *info,
                        void (*fn)(void *arg, const uint8_t *msg, size_t len), void *arg);

/*
 * Whether buf[0..len) opens under this link's keys and window, changing
 * nothing and counting nothing: how a bridge finds which station a frame
 * from an unknown address belongs to. ctx: working memory.
 */
bool mqttsn_link_probe(const struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx, const uint8_t *buf, size_t len);

/* ---------------------------------------------------------------- counters to persist */

/* 0 while counters are reserved; else the tx mark to persist before the next frame. */
uint64_t mqttsn_link_tx_want(const struct mqttsn_link *l);
/* The mark is on disk. */
void mqttsn_link_tx_persisted(struct mqttsn_link *l, uint64_t mark);
/*
 * True when the highest counter received moved since the last
 * mqttsn_link_rx_persisted(); *highest gets it (restart with floor
 * highest + 1).
 */
bool mqttsn_link_rx_changed(const struct mqttsn_link *l, uint64_t *highest);
void mqttsn_link_rx_persisted(struct mqttsn_link *l, uint64_t highest);

/* ---------------------------------------------------------------- inspection */

const struct mqttsn_link_stats *mqttsn_link_stats(const struct mqttsn_link *l);
const struct mqttsn_link_conf *mqttsn_link_conf(const struct mqttsn_link *l);

/* Add every counter of s into sum (for totals over many links). */
void mqttsn_link_stats_add(struct mqttsn_link_stats *sum, const struct mqttsn_link_stats *s);

#endif
