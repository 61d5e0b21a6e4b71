/*
 * serial.h - MQTT-SN over a byte stream (serial line, radio modem, dial-up).
 *
 * Two framings, both pure functions over caller-provided buffers: no I/O,
 * no allocation, no clock. codec/SERIAL.md describes them octet by octet.
 *
 *   framed  HDLC-style (as PPP in RFC 1662): each message travels as
 *           0x7E, payload, CRC-16 (low octet first), 0x7E, with 0x7E and
 *           0x7D inside escaped as 0x7D, octet ^ 0x20. The receiver finds
 *           the next frame at the next flag after any lost, inserted or
 *           corrupted octet, and the CRC rejects a damaged frame.
 *   raw     the stream of mqtt-sn-tools' serial bridge: MQTT-SN messages
 *           back to back, delimited only by their own length header
 *           (5.2.1). Kept for compatibility; it cannot resynchronise
 *           reliably after damage (see mqttsn_serial_raw_feed).
 */
#ifndef SNBRIDGE_CODEC_SERIAL_H
#define SNBRIDGE_CODEC_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/mqttsn.h"

/* ---------------------------------------------------------------- layout */

#define MQTTSN_SERIAL_FLAG 0x7Eu     /* opens and closes a frame */
#define MQTTSN_SERIAL_ESC 0x7Du      /* the next octet is XORed with 0x20 */
#define MQTTSN_SERIAL_XOR 0x20u
#define MQTTSN_SERIAL_CRC_LEN 2u     /* CRC-16 octets after the payload */
/* Largest payload a frame carries: any MQTT-SN message, an encapsulated
 * one included, and small enough that an encoded size fits an int. */
#define MQTTSN_SERIAL_PAYLOAD_MAX (1u << 20)
/* Worst-case encoded size of a payload of n octets: two flags, and every
 * payload and CRC octet escaped. */
#define MQTTSN_SERIAL_ENCODED_MAX(n) (2u * ((size_t)(n) + MQTTSN_SERIAL_CRC_LEN) + 2u)
/* Decoder buffer needed to receive payloads of up to n octets. */
#define MQTTSN_SERIAL_DECODER_BUF(n) ((size_t)(n) + MQTTSN_SERIAL_CRC_LEN)

/* ---------------------------------------------------------------- CRC */

/*
 * CRC-16 of HDLC and PPP (ISO/IEC 13239, RFC 1662 appendix C; catalogued
 * as CRC-16/IBM-SDLC or CRC-16/X-25): polynomial 0x1021 reflected
 * (0x8408), initial value 0xFFFF, final XOR 0xFFFF. Start with crc = 0;
 * feeding a buffer in pieces, each call given the previous result, gives
 * the same value as one call over the whole.
 * mqttsn_serial_crc16(0, "123456789", 9) == 0x906E.
 */
uint16_t mqttsn_serial_crc16(uint16_t crc, const uint8_t *buf, size_t len);

/* ---------------------------------------------------------------- encoder */

/*
 * The exact encoded size of a frame carrying msg[0..len): 4 plus len plus
 * one octet for every 0x7E or 0x7D among the payload and CRC octets.
 * Returns MQTTSN_ERR_INVALID for an empty payload or a length with no
 * pointer, MQTTSN_ERR_TOO_BIG over MQTTSN_SERIAL_PAYLOAD_MAX.
 */
MQTTSN_MUST_CHECK int mqttsn_serial_encoded_len(const uint8_t *msg, size_t len);

/*
 * Frame msg[0..len) (normally one MQTT-SN message, though the framing does
 * not look inside) into out[0..cap). Returns the octets written, or
 * MQTTSN_ERR_NO_SPACE (nothing useful written), _TOO_BIG or _INVALID as
 * mqttsn_serial_encoded_len does. A cap of MQTTSN_SERIAL_ENCODED_MAX(len)
 * is always enough.
 */
MQTTSN_MUST_CHECK int mqttsn_serial_encode(const uint8_t *msg, size_t len, uint8_t *out,
                                           size_t cap);

/* ---------------------------------------------------------------- decoder */

/*
 * What a decoder has seen since init. Every octet fed is accounted for:
 * it belongs to a delivered frame, to a rejected one, or to `discarded`.
 */
struct mqttsn_serial_stats {
	uint64_t frames_ok;   /* delivered: intact payloads */
	uint64_t crc_errors;  /* frames whose CRC did not match: damaged */
	uint64_t oversize;    /* frames longer than the buffer: dropped to the next flag */
	uint64_t runts;       /* 1 or 2 octets between flags: too short for payload + CRC */
	uint64_t aborted;     /* frames ended by 0x7D 0x7E (abort sequence, RFC 1662 4.) */
	uint64_t discarded;   /* octets thrown away: hunting, and in every rejected frame */
};

/*
 * A streaming frame decoder. The buffer is the caller's and must outlive
 * it; fields are private except stats, which the caller may read (and
 * reset).
 */
struct mqttsn_serial_decoder {
	uint8_t *buf;
	size_t cap;
	size_t len;          /* unescaped octets of the frame being received */
	size_t dropped;      /* octets of the current frame not kept (oversize) */
	uint8_t state;
	bool escaped;        /* the previous octet was 0x7D */
	struct mqttsn_serial_stats stats;
};

/*
 * Start a decoder over buf[0..cap). It receives payloads of up to
 * cap - 2 octets (see MQTTSN_SERIAL_DECODER_BUF); longer frames are
 * dropped and counted. It starts hunting: octets before the first flag
 * are discarded, since the line may have been joined mid-frame.
 * Returns MQTTSN_OK, or MQTTSN_ERR_INVALID when cap < 3 or buf is NULL.
 */
MQTTSN_MUST_CHECK int mqttsn_serial_decoder_init(struct mqttsn_serial_decoder *d, uint8_t *buf,
                                                 size_t cap);

/*
 * Consume octets of in[0..n) until a frame is complete or the input ends.
 * Returns the octets consumed (at most n). When a frame ended with the
 * last octet consumed and its CRC matched, *frame is a view of its payload
 * inside the decoder's buffer, valid until the next call on d; otherwise
 * *frame is {NULL, 0}. Call again with the rest of the input until all of
 * it is consumed:
 *
 *   while (n > 0) {
 *       size_t used = mqttsn_serial_feed(d, in, n, &frame);
 *       in += used, n -= used;
 *       if (frame.ptr != NULL) handle(frame.ptr, frame.len);
 *   }
 *
 * Never writes outside the decoder's buffer, whatever the input.
 */
MQTTSN_MUST_CHECK size_t mqttsn_serial_feed(struct mqttsn_serial_decoder *d, const uint8_t *in,
                                            size_t n, struct mqttsn_bytes *frame);

/* Receives a delivered payload (a view, valid during the call only). */
typedef void (*mqttsn_serial_deliver_fn)(void *ctx, const uint8_t *payload, size_t len);

/*
 * Consume all of in[0..n), calling deliver(ctx, ...) for each intact frame.
 * Returns the number of frames delivered by this call.
 */
size_t mqttsn_serial_feed_all(struct mqttsn_serial_decoder *d, const uint8_t *in, size_t n,
                              mqttsn_serial_deliver_fn deliver, void *ctx);

/* ---------------------------------------------------------------- raw mode */

/*
 * Raw mode (mqtt-sn-tools' serial bridge): the sender writes each MQTT-SN
 * message's own octets, nothing around them. The receiver reads the
 * length header (1 octet, or 0x01 and 2 octets), then the message; an
 * ENCAPSULATED message (5.5) is followed by its inner message, read the
 * same way.
 *
 * Limitation: without a flag or a CRC, one lost or inserted octet shifts
 * every later length. The decoder's heuristic: a message that
 * mqttsn_decode rejects (or whose header is invalid, or longer than the
 * buffer) loses its first octet and the rest is tried again, counted in
 * resync_drops. That usually lands on a later message, but it may
 * deliver a damaged message that happens to decode, and it may skip good
 * ones. Use the framed mode where the link can lose octets.
 */
struct mqttsn_serial_raw_stats {
	uint64_t msgs_ok;       /* delivered: messages that decode */
	uint64_t resync_drops;  /* octets dropped by the heuristic */
	uint64_t oversize;      /* of those, drops because a length exceeded the buffer */
};

struct mqttsn_serial_raw {
	uint8_t *buf;
	size_t cap;
	size_t len;          /* octets held */
	size_t delivered;    /* length of the message handed out last call */
	struct mqttsn_serial_raw_stats stats;
};

/*
 * Start a raw decoder over buf[0..cap); messages longer than cap are
 * treated as damage. Returns MQTTSN_OK, or MQTTSN_ERR_INVALID when cap < 2
 * or buf is NULL. A cap of MQTTSN_MSG_MAX (plus the longest inner message
 * for ENCAPSULATED) receives every message.
 */
MQTTSN_MUST_CHECK int mqttsn_serial_raw_init(struct mqttsn_serial_raw *r, uint8_t *buf,
                                             size_t cap);

/*
 * Consume octets of in[0..n) until a message is complete or the input
 * ends; as mqttsn_serial_feed, with one difference: after the heuristic
 * dropped octets, the octets held may already contain the next message,
 * so call again while the input is not all consumed OR a message was
 * delivered (n may then be 0):
 *
 *   do {
 *       size_t used = mqttsn_serial_raw_feed(r, in, n, &msg);
 *       in += used, n -= used;
 *       if (msg.ptr != NULL) handle(msg.ptr, msg.len);
 *   } while (n > 0 || msg.ptr != NULL);
 *
 * A delivered *msg decodes with mqttsn_decode (an ENCAPSULATED one with
 * its inner message); it is a view into the decoder's buffer, valid until
 * the next call on r. Never writes outside that buffer.
 */
MQTTSN_MUST_CHECK size_t mqttsn_serial_raw_feed(struct mqttsn_serial_raw *r, const uint8_t *in,
                                                size_t n, struct mqttsn_bytes *msg);

#endif
