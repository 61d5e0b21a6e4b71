/*
 * serial.c - MQTT-SN over a byte stream: HDLC-style frames with a CRC-16,
 * and the raw stream of mqtt-sn-tools' serial bridge. See serial.h and
 * SERIAL.md.
 */
#include "codec/serial.h"

#include <assert.h>
#include <string.h>

/* ---------------------------------------------------------------- CRC */

/* Reflected polynomial 0x8408 (0x1021 bit-reversed), one entry per octet;
 * generated from the polynomial, see SERIAL.md. */
static const uint16_t crc16_table[256] = {
	0x0000, 0x1189, 0x2312, 0x329B, 0x4624, 0x57AD, 0x6536, 0x74BF,
	0x8C48, 0x9DC1, 0xAF5A, 0xBED3, 0xCA6C, 0xDBE5, 0xE97E, 0xF8F7,
	0x1081, 0x0108, 0x3393, 0x221A, 0x56A5, 0x472C, 0x75B7, 0x643E,
	0x9CC9, 0x8D40, 0xBFDB, 0xAE52, 0xDAED, 0xCB64, 0xF9FF, 0xE876,
	0x2102, 0x308B, 0x0210, 0x1399, 0x6726, 0x76AF, 0x4434, 0x55BD,
	0xAD4A, 0xBCC3, 0x8E58, 0x9FD1, 0xEB6E, 0xFAE7, 0xC87C, 0xD9F5,
	0x3183, 0x200A, 0x1291, 0x0318, 0x77A7, 0x662E, 0x54B5, 0x453C,
	0xBDCB, 0xAC42, 0x9ED9, 0x8F50, 0xFBEF, 0xEA66, 0xD8FD, 0xC974,
	0x4204, 0x538D, 0x6116, 0x709F, 0x0420, 0x15A9, 0x2732, 0x36BB,
	0xCE4C, 0xDFC5, 0xED5E, 0xFCD7, 0x8868, 0x99E1, 0xAB7A, 0xBAF3,
	0x5285, 0x430C, 0x7197, 0x601E, 0x14A1, 0x0528, 0x37B3, 0x263A,
	0xDECD, 0xCF44, 0xFDDF, 0xEC56, 0x98E9, 0x8960, 0xBBFB, 0xAA72,
	0x6306, 0x728F, 0x4014, 0x519D, 0x2522, 0x34AB, 0x0630, 0x17B9,
	0xEF4E, 0xFEC7, 0xCC5C, 0xDDD5, 0xA96A, 0xB8E3, 0x8A78, 0x9BF1,
	0x7387, 0x620E, 0x5095, 0x411C, 0x35A3, 0x242A, 0x16B1, 0x0738,
	0xFFCF, 0xEE46, 0xDCDD, 0xCD54, 0xB9EB, 0xA862, 0x9AF9, 0x8B70,
	0x8408, 0x9581, 0xA71A, 0xB693, 0xC22C, 0xD3A5, 0xE13E, 0xF0B7,
	0x0840, 0x19C9, 0x2B52, 0x3ADB, 0x4E64, 0x5FED, 0x6D76, 0x7CFF,
	0x9489, 0x8500, 0xB79B, 0xA612, 0xD2AD, 0xC324, 0xF1BF, 0xE036,
	0x18C1, 0x0948, 0x3BD3, 0x2A5A, 0x5EE5, 0x4F6C, 0x7DF7, 0x6C7E,
	0xA50A, 0xB483, 0x8618, 0x9791, 0xE32E, 0xF2A7, 0xC03C, 0xD1B5,
	0x2942, 0x38CB, 0x0A50, 0x1BD9, 0x6F66, 0x7EEF, 0x4C74, 0x5DFD,
	0xB58B, 0xA402, 0x9699, 0x8710, 0xF3AF, 0xE226, 0xD0BD, 0xC134,
	0x39C3, 0x284A, 0x1AD1, 0x0B58, 0x7FE7, 0x6E6E, 0x5CF5, 0x4D7C,
	0xC60C, 0xD785, 0xE51E, 0xF497, 0x8028, 0x91A1, 0xA33A, 0xB2B3,
	0x4A44, 0x5BCD, 0x6956, 0x78DF, 0x0C60, 0x1DE9, 0x2F72, 0x3EFB,
	0xD68D, 0xC704, 0xF59F, 0xE416, 0x90A9, 0x8120, 0xB3BB, 0xA232,
	0x5AC5, 0x4B4C, 0x79D7, 0x685E, 0x1CE1, 0x0D68, 0x3FF3, 0x2E7A,
	0xE70E, 0xF687, 0xC41C, 0xD595, 0xA12A, 0xB0A3, 0x8238, 0x93B1,
	0x6B46, 0x7ACF, 0x4854, 0x59DD, 0x2D62, 0x3CEB, 0x0E70, 0x1FF9,
	0xF78F, 0xE606, 0xD49D, 0xC514, 0xB1AB, 0xA022, 0x92B9, 0x8330,
	0x7BC7, 0x6A4E, 0x58D5, 0x495C, 0x3DE3, 0x2C6A, 0x1EF1, 0x0F78,
};

uint16_t mqttsn_serial_crc16(uint16_t crc, const uint8_t *buf, size_t len)
{
	/* The final XOR is undone on entry so that results chain. */
	uint16_t c = (uint16_t)(crc ^ 0xFFFFu);

	assert(buf != NULL || len == 0);
	for (size_t i = 0; i < len; i++)
		c = (uint16_t)((c >> 8) ^ crc16_table[(c ^ buf[i]) & 0xFFu]);
	return (uint16_t)(c ^ 0xFFFFu);
}

/* ---------------------------------------------------------------- encoder */

static bool needs_escape(uint8_t c)
{
	return c == MQTTSN_SERIAL_FLAG || c == MQTTSN_SERIAL_ESC;
}

static void crc_octets(const uint8_t *msg, size_t len, uint8_t fcs[MQTTSN_SERIAL_CRC_LEN])
{
	uint16_t crc = mqttsn_serial_crc16(0, msg, len);

	/* HDLC sends the FCS low octet first (RFC 1662, C.2). */
	fcs[0] = (uint8_t)(crc & 0xFFu);
	fcs[1] = (uint8_t)(crc >> 8);
}

int mqttsn_serial_encoded_len(const uint8_t *msg, size_t len)
{
	uint8_t fcs[MQTTSN_SERIAL_CRC_LEN];
	size_t n = 2 + len + MQTTSN_SERIAL_CRC_LEN;

	if (len == 0 || msg == NULL)
		return MQTTSN_ERR_INVALID;
	if (len > MQTTSN_SERIAL_PAYLOAD_MAX)
		return MQTTSN_ERR_TOO_BIG;
	for (size_t i = 0; i < len; i++)
		n += needs_escape(msg[i]);
	crc_octets(msg, len, fcs);
	n += needs_escape(fcs[0]);
	n += needs_escape(fcs[1]);
	return (int)n;
}

/* Append c, escaped when needed; the caller has checked the space. */
static size_t put_escaped(uint8_t *out, size_t pos, uint8_t c)
{
	if (needs_escape(c)) {
		out[pos++] = MQTTSN_SERIAL_ESC;
		c = (uint8_t)(c ^ MQTTSN_SERIAL_XOR);
	}
	out[pos++] = c;
	return pos;
}

int mqttsn_serial_encode(const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
	uint8_t fcs[MQTTSN_SERIAL_CRC_LEN];
	int need = mqttsn_serial_encoded_len(msg, len);
	size_t pos = 0;

	if (need < 0)
		return need;
	if (out == NULL || cap < (size_t)need)
		return MQTTSN_ERR_NO_SPACE;
	crc_octets(msg, len, fcs);
	out[pos++] = MQTTSN_SERIAL_FLAG;
	for (size_t i = 0; i < len; i++)
		pos = put_escaped(out, pos, msg[i]);
	pos = put_escaped(out, pos, fcs[0]);
	pos = put_escaped(out, pos, fcs[1]);
	out[pos++] = MQTTSN_SERIAL_FLAG;
	assert(pos == (size_t)need);
	return need;
}

/* ---------------------------------------------------------------- decoder */

enum {
	HUNT = 0,      /* before the first flag: discard */
	FRAME = 1,     /* inside a frame, keeping octets */
	OVERSIZE = 2,  /* inside a frame too long for the buffer: dropping */
};

int mqttsn_serial_decoder_init(struct mqttsn_serial_decoder *d, uint8_t *buf, size_t cap)
{
	assert(d != NULL);
	memset(d, 0, sizeof(*d));
	if (buf == NULL || cap < MQTTSN_SERIAL_CRC_LEN + 1)
		return MQTTSN_ERR_INVALID;
	d->buf = buf;
	d->cap = cap;
	d->state = HUNT;
	return MQTTSN_OK;
}

/*
 * A flag ends what came since the previous one. Returns true, with the
 * payload's length in *plen, when that was an intact frame. Back-to-back
 * flags (an empty frame) are the idle line, not an error.
 */
static bool end_frame(struct mqttsn_serial_decoder *d, size_t *plen)
{
	size_t raw = d->dropped;
	size_t n = d->len;
	bool ok = false;

	if (d->escaped) {
		d->stats.aborted++;
	} else if (d->state == OVERSIZE) {
		d->stats.oversize++;
	} else if (n == 0) {
		return false;
	} else if (n < MQTTSN_SERIAL_CRC_LEN + 1) {
		d->stats.runts++;
	} else {
		size_t p = n - MQTTSN_SERIAL_CRC_LEN;
		uint16_t got = (uint16_t)(d->buf[p] | d->buf[p + 1] << 8);

		if (mqttsn_serial_crc16(0, d->buf, p) == got) {
			d->stats.frames_ok++;
			*plen = p;
			ok = true;
		} else {
			d->stats.crc_errors++;
		}
	}
	if (!ok)
		d->stats.discarded += raw + n;
	return ok;
}

size_t mqttsn_serial_feed(struct mqttsn_serial_decoder *d, const uint8_t *in, size_t n,
                          struct mqttsn_bytes *frame)
{
	assert(d != NULL && d->buf != NULL && frame != NULL);
	assert(in != NULL || n == 0);
	frame->ptr = NULL;
	frame->len = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];
		size_t plen = 0;

		if (d->state == HUNT) {
			if (c == MQTTSN_SERIAL_FLAG)
				d->state = FRAME;
			else
				d->stats.discarded++;
			continue;
		}
		if (c == MQTTSN_SERIAL_FLAG) {
			bool ok = end_frame(d, &plen);

			/* This flag also opens the next frame. */
			d->state = FRAME;
			d->len = 0;
			d->dropped = 0;
			d->escaped = false;
			if (ok) {
				frame->ptr = d->buf;
				frame->len = plen;
				return i + 1;
			}
			continue;
		}
		if (c == MQTTSN_SERIAL_ESC && !d->escaped) {
			/* Counted with the frame's octets, in case it is rejected. */
			d->escaped = true;
			d->dropped++;
			continue;
		}
		if (d->escaped) {
			d->escaped = false;
			c = (uint8_t)(c ^ MQTTSN_SERIAL_XOR);
		}
		if (d->state == FRAME && d->len == d->cap)
			d->state = OVERSIZE;
		if (d->state == OVERSIZE) {
			d->dropped++;
			continue;
		}
		d->buf[d->len++] = c;
	}
	return n;
}

size_t mqttsn_serial_feed_all(struct mqttsn_serial_decoder *d, const uint8_t *in, size_t n,
                              mqttsn_serial_deliver_fn deliver, void *ctx)
{
	struct mqttsn_bytes frame;
	size_t count = 0;

	assert(deliver != NULL);
	while (n > 0) {
		size_t used = mqttsn_serial_feed(d, in, n, &frame);

		in += used;
		n -= used;
		if (frame.ptr != NULL) {
			deliver(ctx, frame.ptr, frame.len);
			count++;
		}
	}
	return count;
}

/* ---------------------------------------------------------------- raw mode */

int mqttsn_serial_raw_init(struct mqttsn_serial_raw *r, uint8_t *buf, size_t cap)
{
	assert(r != NULL);
	memset(r, 0, sizeof(*r));
	if (buf == NULL || cap < 2)
		return MQTTSN_ERR_INVALID;
	r->buf = buf;
	r->cap = cap;
	return MQTTSN_OK;
}

enum { RAW_NEED, RAW_DROP, RAW_READY };

/*
 * What the held octets are: a whole message of *size octets (READY), the
 * start of one that needs *size octets held to go on (NEED, *size > len),
 * or damage (DROP).
 */
static int raw_scan(struct mqttsn_serial_raw *r, size_t *size)
{
	struct mqttsn_msg m;
	size_t ml, hl, iml, ihl, total;
	int rc = mqttsn_peek_length(r->buf, r->len, &ml, &hl);

	if (rc == MQTTSN_ERR_SHORT) {
		*size = r->len + 1;
		return RAW_NEED;
	}
	if (rc != MQTTSN_OK)
		return RAW_DROP;
	if (ml > r->cap) {
		r->stats.oversize++;
		return RAW_DROP;
	}
	/* peek_length guarantees ml > hl: the type octet is inside. */
	if (r->len < ml) {
		*size = ml;
		return RAW_NEED;
	}
	total = ml;
	if (r->buf[hl] == MQTTSN_ENCAPSULATED) {
		/* 5.5: the encapsulated message follows the Length's end. */
		rc = mqttsn_peek_length(r->buf + ml, r->len - ml, &iml, &ihl);
		if (rc == MQTTSN_ERR_SHORT) {
			*size = r->len + 1;
			return RAW_NEED;
		}
		if (rc != MQTTSN_OK)
			return RAW_DROP;
		if (iml > r->cap - ml) {
			r->stats.oversize++;
			return RAW_DROP;
		}
		total = ml + iml;
		if (r->len < total) {
			*size = total;
			return RAW_NEED;
		}
	}
	if (mqttsn_decode(r->buf, total, &m) != MQTTSN_OK)
		return RAW_DROP;
	*size = total;
	return RAW_READY;
}

static void raw_shift(struct mqttsn_serial_raw *r, size_t k)
{
	assert(k <= r->len);
	memmove(r->buf, r->buf + k, r->len - k);
	r->len -= k;
}

size_t mqttsn_serial_raw_feed(struct mqttsn_serial_raw *r, const uint8_t *in, size_t n,
                              struct mqttsn_bytes *msg)
{
	size_t used = 0;

	assert(r != NULL && r->buf != NULL && msg != NULL);
	assert(in != NULL || n == 0);
	msg->ptr = NULL;
	msg->len = 0;
	if (r->delivered > 0) {
		raw_shift(r, r->delivered);
		r->delivered = 0;
	}
	for (;;) {
		size_t size = 0, take;
		int st = raw_scan(r, &size);

		if (st == RAW_READY) {
			msg->ptr = r->buf;
			msg->len = size;
			r->delivered = size;
			r->stats.msgs_ok++;
			return used;
		}
		if (st == RAW_NEED && size > r->cap) {
			r->stats.oversize++;
			st = RAW_DROP;
		}
		if (st == RAW_DROP) {
			raw_shift(r, 1);
			r->stats.resync_drops++;
			continue;
		}
		assert(size > r->len);
		if (used == n)
			return used;
		take = size - r->len;
		if (take > n - used)
			take = n - used;
		memcpy(r->buf + r->len, in + used, take);
		r->len += take;
		used += take;
	}
}
