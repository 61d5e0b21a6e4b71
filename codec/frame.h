/*
 * frame.h - link frames: many MQTT-SN messages per frame, raw deflate
 * against a preset dictionary, fragmentation of what does not fit, and an
 * AEAD seal (ChaCha20-Poly1305 IETF) with a replay window.
 *
 * Pure functions: no I/O, no clock; counters are arguments. The only memory
 * zlib gets is the arena inside the caller's struct mqttsn_frame_ctx. The
 * wire format, octet by octet, is in codec/FRAMES.md. The caller calls
 * sodium_init() once at start-up, before sealing or opening anything.
 */
#ifndef SNBRIDGE_CODEC_FRAME_H
#define SNBRIDGE_CODEC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/mqttsn.h"

/* ---------------------------------------------------------------- layout */

#define MQTTSN_FRAME_MARK 0x00u         /* octet 0: never the start of plain MQTT-SN */
#define MQTTSN_FRAME_VERSION 1u         /* bits 7-6 of octet 1 */
#define MQTTSN_FRAME_F_ENC 0x20u        /* sealed with the AEAD */
#define MQTTSN_FRAME_F_ZIP 0x10u        /* body is raw deflate; dictionary id follows */
#define MQTTSN_FRAME_F_FRAG 0x08u       /* content is one fragment of a message */
#define MQTTSN_FRAME_F_WIDE 0x04u       /* 4 counter octets instead of 2 */
#define MQTTSN_FRAME_KEY_IDS 4u         /* key id: bits 1-0 of octet 1 */
#define MQTTSN_FRAME_KEY_LEN 32u
#define MQTTSN_FRAME_TAG_LEN 16u
#define MQTTSN_FRAME_HEADER_MAX 7u      /* mark, flags, dict id, 4 counter octets */
#define MQTTSN_FRAME_OVERHEAD_MAX (MQTTSN_FRAME_HEADER_MAX + MQTTSN_FRAME_TAG_LEN)
#define MQTTSN_FRAME_MAX 4096u          /* largest frame on any link we serve */
#define MQTTSN_FRAME_CONTENT_MAX 16384u /* inflated content cap: the bomb limit */
#define MQTTSN_FRAME_ITEM_MAX 0x7FFFu   /* one message in a frame: 15-bit length */
#define MQTTSN_FRAME_FRAG_HEADER 4u     /* message id, last|index, offset */
#define MQTTSN_FRAME_FRAGS_MAX 128u     /* fragments of one message */
#define MQTTSN_FRAME_DICT_MAX 32768u    /* deflate's window: more is never seen */
#define MQTTSN_FRAME_ARENA (320u * 1024u) /* zlib's memory: deflate 15/8 needs ~268 KiB */

/* Window of the receiver, and how far ahead a sender persists its counter. */
#define MQTTSN_LINK_WINDOW 64u
#define MQTTSN_LINK_RESERVE 1024u

/* Direction octet of the nonce: one key serves both ways, never one nonce. */
#define MQTTSN_LINK_UP 0u    /* station to bridge */
#define MQTTSN_LINK_DOWN 1u  /* bridge to station */

/* ---------------------------------------------------------------- errors */

/*
 * Errors of the link frame, outside the ranges of enum mqttsn_err and of
 * the record format; the encoder errors MQTTSN_ERR_NO_SPACE, _TOO_BIG and
 * _INVALID are shared. mqttsn_frame_strerror() names all of them.
 */
enum mqttsn_frame_err {
	MQTTSN_FRAME_ERR_MALFORMED = -80, /* the octets cannot be parsed */
	MQTTSN_FRAME_ERR_VERSION = -81,   /* a version this code does not speak */
	MQTTSN_FRAME_ERR_KEY = -82,       /* no key under that key id */
	MQTTSN_FRAME_ERR_DICT = -83,      /* no dictionary under that id */
	MQTTSN_FRAME_ERR_AUTH = -84,      /* authentication failed: tampered or wrong key */
	MQTTSN_FRAME_ERR_REPLAYED = -85,  /* counter already seen */
	MQTTSN_FRAME_ERR_TOO_OLD = -86,   /* counter older than the window */
	MQTTSN_FRAME_ERR_INFLATE = -87,   /* the deflate body is corrupt */
	MQTTSN_FRAME_ERR_BOMB = -88,      /* inflates past the cap */
	MQTTSN_FRAME_ERR_COUNTER = -89,   /* no reserved counter left: persist first */
	MQTTSN_FRAME_ERR_ZLIB = -90,      /* zlib failed (its arena too small) */
	MQTTSN_FRAME_ERR_FRAGMENT = -91,  /* fragments that do not fit together */
};

/* A fixed message for a frame error or any mqttsn_err, never NULL. */
const char *mqttsn_frame_strerror(int err);

/* ---------------------------------------------------------------- context */

/*
 * Working memory of one sealing or opening at a time: zlib's arena (reset
 * for every stream) and a scratch buffer for a decrypted body. Large (about
 * 340 KiB): give it static or heap storage once, never the stack.
 */
struct mqttsn_frame_ctx {
	_Alignas(max_align_t) unsigned char arena[MQTTSN_FRAME_ARENA];
	size_t used;
	uint8_t scratch[MQTTSN_FRAME_MAX];
};

/* A preset dictionary: its id on the wire and its octets (at most 32 KiB). */
struct mqttsn_frame_dict {
	uint8_t id;
	const uint8_t *ptr;
	size_t len;
};

/* The receiver's keys, by key id (0..3). */
struct mqttsn_link_keyring {
	bool set[MQTTSN_FRAME_KEY_IDS];
	uint8_t key[MQTTSN_FRAME_KEY_IDS][MQTTSN_FRAME_KEY_LEN];
};

/* ---------------------------------------------------------------- counters */

/*
 * The sender's 64-bit frame counter. It must never repeat under one key,
 * across restarts too, so the caller persists a high-water mark ahead of
 * use: counters below tx->limit may be used; when none is left, persist
 * the mark mqttsn_link_tx_want_reserve() names and hand it to
 * mqttsn_link_tx_reserved(). After a restart, start from the persisted mark
 * (at most MQTTSN_LINK_RESERVE counters are skipped).
 */
struct mqttsn_link_tx {
	uint64_t next;
	uint64_t limit;
};

/* Start from mark, the last persisted high-water mark (0 the first time). */
void mqttsn_link_tx_init(struct mqttsn_link_tx *tx, uint64_t mark);
/* 0 while counters are left; else the mark to persist before the next frame. */
uint64_t mqttsn_link_tx_want_reserve(const struct mqttsn_link_tx *tx);
/* The mark is on disk: counters up to it may be used. */
void mqttsn_link_tx_reserved(struct mqttsn_link_tx *tx, uint64_t mark);
/* The next counter in *ctr, or MQTTSN_FRAME_ERR_COUNTER when none is reserved. */
MQTTSN_MUST_CHECK int mqttsn_link_tx_take(struct mqttsn_link_tx *tx, uint64_t *ctr);

/*
 * The receiver's replay window for one peer and direction: the highest
 * counter accepted and a bitmap of the MQTTSN_LINK_WINDOW below it (bit i:
 * highest - i seen). Counters below floor are refused; a receiver that
 * persists rx->highest after accepted frames restarts with floor =
 * highest + 1 and cannot be replayed across a restart.
 */
struct mqttsn_link_rx {
	uint64_t highest;
	uint64_t seen;
	uint64_t floor;
	bool any;
};

void mqttsn_link_rx_init(struct mqttsn_link_rx *rx, uint64_t floor);

/*
 * The full counter a frame's low bits (16 or 32 of them) stand for: the
 * one nearest the highest counter seen. Exposed for tests.
 */
uint64_t mqttsn_link_rx_expand(const struct mqttsn_link_rx *rx, uint32_t low, unsigned bits);
/* MQTTSN_OK when ctr would be accepted, else _REPLAYED or _TOO_OLD. */
MQTTSN_MUST_CHECK int mqttsn_link_rx_check(const struct mqttsn_link_rx *rx, uint64_t ctr);
/* Record ctr as seen (after the frame authenticated). */
void mqttsn_link_rx_mark(struct mqttsn_link_rx *rx, uint64_t ctr);

/* ---------------------------------------------------------------- seal and open */

/* How to seal one frame. */
struct mqttsn_frame_params {
	const struct mqttsn_frame_dict *dict; /* NULL: never compress */
	const uint8_t *key;   /* NULL: not encrypted; else MQTTSN_FRAME_KEY_LEN octets */
	uint8_t key_id;       /* 0..3 */
	uint8_t direction;    /* MQTTSN_LINK_UP or _DOWN */
	uint64_t counter;     /* from mqttsn_link_tx_take() */
	bool wide;            /* send 4 counter octets (after a long silence) */
	bool fragment;        /* content is one fragment (mqttsn_frame_frag_build) */
};

/*
 * Seal content[0..len) into out[0..cap): compressed when that makes the
 * frame shorter, encrypted when p->key is set. Returns the frame's length,
 * MQTTSN_ERR_NO_SPACE when it does not fit cap, MQTTSN_ERR_INVALID for bad
 * params, MQTTSN_FRAME_ERR_ZLIB when deflate fails. content and out must
 * not overlap.
 */
MQTTSN_MUST_CHECK int mqttsn_frame_seal(struct mqttsn_frame_ctx *ctx, const struct mqttsn_frame_params *p,
                                        const uint8_t *content, size_t len, uint8_t *out, size_t cap);

/* What mqttsn_frame_open() found in the header. */
struct mqttsn_frame_info {
	uint8_t flags;       /* octet 1 as sent */
	uint8_t key_id;
	uint8_t dict_id;     /* when compressed */
	uint64_t counter;    /* full counter, when encrypted */
	bool encrypted;
	bool compressed;
	bool fragment;
};

/*
 * Open the frame buf[0..len): check the header, the replay window (rx,
 * needed for encrypted frames), authenticate, decrypt, inflate into
 * out[0..cap) (never more than MQTTSN_FRAME_CONTENT_MAX octets: give that
 * much, since the window has taken the counter when cap proves short). Returns
 * the content's length and fills *info; on failure a MQTTSN_FRAME_ERR_*,
 * MQTTSN_ERR_NO_SPACE (cap too small) or MQTTSN_ERR_INVALID. rx is changed
 * only by a frame that authenticated. With keys given, only encrypted
 * frames are accepted (a plain one is MQTTSN_FRAME_ERR_AUTH: stripping
 * the encryption must not pass); keys NULL accepts only plain frames
 * (an encrypted one is MQTTSN_FRAME_ERR_KEY), for links secured below.
 * Never reads outside buf[0..len).
 */
MQTTSN_MUST_CHECK int mqttsn_frame_open(struct mqttsn_frame_ctx *ctx, const struct mqttsn_link_keyring *keys,
                                        const struct mqttsn_frame_dict *dicts, size_t ndicts,
                                        struct mqttsn_link_rx *rx, uint8_t direction,
                                        const uint8_t *buf, size_t len, uint8_t *out, size_t cap,
                                        struct mqttsn_frame_info *info);

/* True when buf starts like a link frame (octet 0 is 0x00), not plain MQTT-SN. */
bool mqttsn_frame_is_link(const uint8_t *buf, size_t len);

/* Header length of a frame sealed with p (without the tag). */
size_t mqttsn_frame_header_len(const struct mqttsn_frame_params *p, bool compressed);

/* ---------------------------------------------------------------- content */

/*
 * Content is a sequence of items: a length (1 octet 0..127, or 2 octets
 * 0x80|high 7 bits, low 8 bits, for 128..32767) and that many octets of
 * one MQTT-SN message. mqttsn_frame_next() walks it: returns 1 with *msg a
 * view into content, 0 at its end, MQTTSN_FRAME_ERR_MALFORMED otherwise.
 * Start with *pos = 0.
 */
MQTTSN_MUST_CHECK int mqttsn_frame_next(const uint8_t *content, size_t len, size_t *pos,
                                        struct mqttsn_bytes *msg);

/* Octets an item of a message of len octets takes (prefix included). */
size_t mqttsn_frame_item_size(size_t len);

/* Collects messages into the content of one frame of at most mtu octets. */
struct mqttsn_frame_builder {
	size_t mtu;
	size_t len;
	size_t count;
	uint8_t content[MQTTSN_FRAME_CONTENT_MAX];
};

enum { MQTTSN_FRAME_FITS = 0, MQTTSN_FRAME_FULL = 1 };

/* Start an empty frame that, sealed, takes at most mtu octets. */
void mqttsn_frame_builder_init(struct mqttsn_frame_builder *b, size_t mtu);

/*
 * Add msg[0..len) if the frame sealed with p still fits the mtu (trying
 * compression when plain octets no longer fit): MQTTSN_FRAME_FITS, or
 * MQTTSN_FRAME_FULL with the builder unchanged (finish it and start
 * another). MQTTSN_ERR_TOO_BIG when the message does not fit even an empty
 * frame: send it in fragments. ctx and p as for mqttsn_frame_seal().
 */
MQTTSN_MUST_CHECK int mqttsn_frame_builder_add(struct mqttsn_frame_builder *b, struct mqttsn_frame_ctx *ctx,
                                               const struct mqttsn_frame_params *p,
                                               const uint8_t *msg, size_t len);

/* Seal the collected content: as mqttsn_frame_seal(). */
MQTTSN_MUST_CHECK int mqttsn_frame_builder_finish(struct mqttsn_frame_builder *b, struct mqttsn_frame_ctx *ctx,
                                                  const struct mqttsn_frame_params *p,
                                                  uint8_t *out, size_t cap);

/* ---------------------------------------------------------------- fragments */

/*
 * Fragment content: message id (1), last flag (bit 7) | index (bits 6-0),
 * offset of the data in the message (2, big-endian), data (at least 1).
 * mqttsn_frame_frag_chunk() is the data a fragment carries so that the
 * sealed frame fits mtu (0 when mtu is too small); the message then takes
 * ceil(len / chunk) fragments, at most MQTTSN_FRAME_FRAGS_MAX.
 * mqttsn_frame_frag_build() writes fragment index of msg into out and
 * returns its length, MQTTSN_ERR_TOO_BIG or MQTTSN_ERR_NO_SPACE. Seal it
 * with p->fragment set.
 */
size_t mqttsn_frame_frag_chunk(const struct mqttsn_frame_params *p, size_t mtu);
MQTTSN_MUST_CHECK int mqttsn_frame_frag_build(uint8_t msg_id, const uint8_t *msg, size_t len, size_t chunk,
                                              size_t index, uint8_t *out, size_t cap);

#define MQTTSN_FRAME_REASM_SLOTS 4u
#define MQTTSN_FRAME_REASM_MSG_MAX MQTTSN_MSG_MAX

/*
 * The receiver's bounded reassembly table: MQTTSN_FRAME_REASM_SLOTS
 * messages in progress; a fragment of a new message when all are busy
 * evicts the one touched least recently (its message is lost; MQTT-SN
 * retransmission recovers it). evicted counts those.
 */
struct mqttsn_frame_reasm {
	struct {
		bool busy;
		uint8_t msg_id;
		bool have_last;
		uint8_t last_index;
		uint64_t touched;
		uint64_t have[2];                       /* bitmap of indexes received */
		uint16_t off[MQTTSN_FRAME_FRAGS_MAX];
		uint16_t len[MQTTSN_FRAME_FRAGS_MAX];
		uint8_t buf[MQTTSN_FRAME_REASM_MSG_MAX];
	} slot[MQTTSN_FRAME_REASM_SLOTS];
	uint64_t clock;
	uint64_t evicted;
};

void mqttsn_frame_reasm_init(struct mqttsn_frame_reasm *r);

/*
 * Take one fragment's content. Returns 1 with *msg the whole message (a
 * view valid until the next call), 0 when more fragments are needed, or
 * MQTTSN_FRAME_ERR_MALFORMED / _FRAGMENT (the message is dropped).
 */
MQTTSN_MUST_CHECK int mqttsn_frame_reasm_add(struct mqttsn_frame_reasm *r, const uint8_t *content, size_t len,
                                             struct mqttsn_bytes *msg);

/* ---------------------------------------------------------------- dictionaries */

/*
 * Dictionary file: "SNDI" (4), version 1 (1), id (1), length n (4,
 * big-endian, at most MQTTSN_FRAME_DICT_MAX), n octets, CRC-32C of all
 * that (4). Encode returns octets written or MQTTSN_ERR_NO_SPACE /
 * _TOO_BIG; decode fills *d (ptr a view into buf) and returns octets used,
 * or MQTTSN_FRAME_ERR_MALFORMED / _VERSION.
 */
#define MQTTSN_FRAME_DICT_FILE_OVERHEAD 14u
MQTTSN_MUST_CHECK int mqttsn_frame_dict_encode(const struct mqttsn_frame_dict *d, uint8_t *buf, size_t cap);
MQTTSN_MUST_CHECK int mqttsn_frame_dict_decode(const uint8_t *buf, size_t len, struct mqttsn_frame_dict *d);

/*
 * Build dictionary octets from sample payloads samples[0..n) (oldest
 * first): the most recent distinct samples that fit cap (at most
 * MQTTSN_FRAME_DICT_MAX), written oldest first so the most recent end up
 * last, where deflate finds them at the shortest distances. Returns the
 * octets written into out.
 */
size_t mqttsn_frame_dict_build(const struct mqttsn_bytes *samples, size_t n, uint8_t *out, size_t cap);

#endif
