/*
 * record.h - the durable record format: what the station's outbound queue
 * and the bridge's custody store write to disk.
 *
 * Pure functions over buffers: no I/O, no allocation. A file is a plain
 * sequence of records; a crash can leave the last one torn (cut short) or
 * garbled, and the scanner finds the end of the last good record so that
 * recovery can truncate there. The payload, the type and the flags are the
 * caller's: the format only frames and checks them.
 *
 * One record, all integers big-endian:
 *
 *   offset  size  field
 *   0       1     magic and version, MQTTSN_RECORD_MAGIC
 *   1       1     type (the caller's)
 *   2       1     flags (the caller's)
 *   3       4     payload length n, at most MQTTSN_RECORD_PAYLOAD_MAX
 *   7       8     sequence number
 *   15      n     payload
 *   15+n    4     CRC-32C (Castagnoli) of octets 0 .. 15+n-1
 */
#ifndef SNBRIDGE_CODEC_RECORD_H
#define SNBRIDGE_CODEC_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/mqttsn.h"

/* ---------------------------------------------------------------- layout */

#define MQTTSN_RECORD_MAGIC 0xD1u         /* format version 1 */
#define MQTTSN_RECORD_HEADER 15u          /* octets before the payload */
#define MQTTSN_RECORD_TRAILER 4u          /* the CRC after it */
#define MQTTSN_RECORD_OVERHEAD (MQTTSN_RECORD_HEADER + MQTTSN_RECORD_TRAILER)
/* Large enough for any MQTT-SN message with its metadata, small enough that
 * a record's size fits an int and a garbled length is recognised as such. */
#define MQTTSN_RECORD_PAYLOAD_MAX (16u * 1024u * 1024u)

/*
 * Errors of the record format. They extend enum mqttsn_err (encoder errors
 * MQTTSN_ERR_NO_SPACE, _TOO_BIG and _INVALID are shared) with values of
 * their own, outside its ranges; mqttsn_record_strerror() names both.
 */
enum mqttsn_record_err {
	MQTTSN_RECORD_ERR_TORN = -60,   /* the record continues past the buffer's end */
	MQTTSN_RECORD_ERR_MAGIC = -61,  /* first octet is not MQTTSN_RECORD_MAGIC */
	MQTTSN_RECORD_ERR_LENGTH = -62, /* declared payload over MQTTSN_RECORD_PAYLOAD_MAX */
	MQTTSN_RECORD_ERR_CRC = -63,    /* checksum mismatch: damaged */
};

/* A fixed message for a record error or any mqttsn_err, never NULL. */
const char *mqttsn_record_strerror(int err);

/* One record; payload is a view (into the decoded buffer, or the caller's). */
struct mqttsn_record {
	uint8_t type;
	uint8_t flags;
	uint64_t seq;
	struct mqttsn_bytes payload;
};

/* ---------------------------------------------------------------- CRC */

/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, as in iSCSI and
 * ext4). Start with crc = 0; feeding a buffer in pieces, each call given
 * the previous result, gives the same value as one call over the whole.
 * crc32c("123456789") == 0xE3069283.
 */
uint32_t mqttsn_crc32c(uint32_t crc, const uint8_t *buf, size_t len);

/* ---------------------------------------------------------------- records */

/* The encoded size of a record with a payload of payload_len octets. */
size_t mqttsn_record_size(size_t payload_len);

/*
 * Encode rec into buf[0..cap). Returns the octets written (the record's
 * size), MQTTSN_ERR_NO_SPACE when cap is too small, MQTTSN_ERR_TOO_BIG when
 * the payload is over MQTTSN_RECORD_PAYLOAD_MAX, or MQTTSN_ERR_INVALID for a
 * payload view with a length and no pointer.
 */
MQTTSN_MUST_CHECK int mqttsn_record_encode(uint8_t *buf, size_t cap, const struct mqttsn_record *rec);

/*
 * Decode the record that starts at buf[0]. On success fills *out (payload a
 * view into buf) and returns the record's size in octets. Otherwise returns
 * MQTTSN_RECORD_ERR_TORN (buf ends inside the record: len is too short for
 * the header or for what the header declares), _MAGIC, _LENGTH or _CRC.
 * Never reads outside buf[0..len).
 */
MQTTSN_MUST_CHECK int mqttsn_record_decode(const uint8_t *buf, size_t len, struct mqttsn_record *out);

/* ---------------------------------------------------------------- scanning */

/*
 * Walks the records of a buffer (a file's contents) in order and stops at
 * the first one that does not decode. Fields are read-only for the caller:
 *   good  offset just past the last good record: where to truncate
 *   err   why the walk stopped: MQTTSN_OK at a clean end, else the error
 *         of the record at offset good (TORN for a cut-short tail)
 */
struct mqttsn_record_scan {
	const uint8_t *buf;
	size_t len;
	size_t good;
	int err;
};

/* Start a walk over buf[0..len). */
void mqttsn_record_scan_init(struct mqttsn_record_scan *s, const uint8_t *buf, size_t len);

/*
 * The next record: true with *out filled (and *offset, when not NULL, set
 * to where it starts), or false at the end of the good records (see
 * s->good and s->err). Once false, stays false.
 */
bool mqttsn_record_scan_next(struct mqttsn_record_scan *s, struct mqttsn_record *out,
                             size_t *offset);

#endif
