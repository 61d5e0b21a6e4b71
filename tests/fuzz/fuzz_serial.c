/*
 * fuzz_serial.c - libFuzzer target for the serial framing (codec/serial.h).
 *
 * The input is a byte stream, cut into feed calls of sizes taken from the
 * input itself, given to both decoders with small buffers (so that the
 * oversize paths run). Neither may crash or write outside its buffer;
 * every delivered frame must carry a matching CRC and survive a round trip
 * through the encoder; every raw message must decode. Finally the input
 * itself, framed, must come back whole.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec/mqttsn.h"
#include "codec/serial.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define DEC_CAP 64u
#define RAW_CAP 300u
#define BIG 4096u

static uint8_t dec_buf[DEC_CAP];
static uint8_t raw_buf[RAW_CAP];
static uint8_t enc[MQTTSN_SERIAL_ENCODED_MAX(BIG)];
static uint8_t back[MQTTSN_SERIAL_DECODER_BUF(BIG)];

/* Frame payload p, decode it with a fresh decoder: the same octets return. */
static void round_trip(const uint8_t *p, size_t len, uint8_t *buf, size_t cap)
{
	struct mqttsn_serial_decoder d;
	struct mqttsn_bytes f;
	int n = mqttsn_serial_encode(p, len, enc, sizeof(enc));
	size_t used;

	CHECK(n > 0 && n == mqttsn_serial_encoded_len(p, len));
	CHECK((size_t)n <= MQTTSN_SERIAL_ENCODED_MAX(len));
	CHECK(mqttsn_serial_decoder_init(&d, buf, cap) == MQTTSN_OK);
	used = mqttsn_serial_feed(&d, enc, (size_t)n, &f);
	CHECK(used == (size_t)n);
	CHECK(f.ptr != NULL && f.len == len && memcmp(f.ptr, p, len) == 0);
	CHECK(d.stats.frames_ok == 1 && d.stats.discarded == 0);
}

static size_t chunk_of(const uint8_t *data, size_t size, size_t i, size_t left)
{
	size_t c = 1 + (size ? data[(i * 7) % size] % 17u : 0);

	return c < left ? c : left;
}

static void fuzz_framed(const uint8_t *data, size_t size)
{
	struct mqttsn_serial_decoder d;
	size_t pos = 0, calls = 0, delivered = 0;
	static uint8_t copy[DEC_CAP];

	CHECK(mqttsn_serial_decoder_init(&d, dec_buf, sizeof(dec_buf)) == MQTTSN_OK);
	while (pos < size) {
		struct mqttsn_bytes f;
		size_t c = chunk_of(data, size, calls++, size - pos);
		size_t used = mqttsn_serial_feed(&d, data + pos, c, &f);

		CHECK(used <= c);
		CHECK(used == c || f.ptr != NULL);
		pos += used;
		if (f.ptr == NULL)
			continue;
		delivered++;
		CHECK(f.ptr == dec_buf);
		CHECK(f.len >= 1 && f.len + MQTTSN_SERIAL_CRC_LEN <= DEC_CAP);
		CHECK(mqttsn_serial_crc16(0, f.ptr, f.len) ==
		      (uint16_t)(f.ptr[f.len] | f.ptr[f.len + 1] << 8));
		memcpy(copy, f.ptr, f.len);
		round_trip(copy, f.len, back, sizeof(back));
	}
	CHECK(d.stats.frames_ok == delivered);
}

static void fuzz_raw(const uint8_t *data, size_t size)
{
	struct mqttsn_serial_raw r;
	struct mqttsn_bytes m;
	size_t pos = 0, calls = 0, delivered = 0;

	CHECK(mqttsn_serial_raw_init(&r, raw_buf, sizeof(raw_buf)) == MQTTSN_OK);
	do {
		size_t c = chunk_of(data, size, calls++, size - pos);
		size_t used = mqttsn_serial_raw_feed(&r, data + pos, c, &m);
		struct mqttsn_msg msg;

		CHECK(used <= c);
		CHECK(used == c || m.ptr != NULL);
		pos += used;
		if (m.ptr == NULL)
			continue;
		delivered++;
		CHECK(m.ptr == raw_buf && m.len <= RAW_CAP);
		CHECK(mqttsn_decode(m.ptr, m.len, &msg) == MQTTSN_OK);
	} while (pos < size || m.ptr != NULL);
	CHECK(r.stats.msgs_ok == delivered);
	CHECK(r.stats.oversize <= r.stats.resync_drops);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_framed(data, size);
	fuzz_raw(data, size);
	if (size >= 1 && size <= BIG)
		round_trip(data, size, back, sizeof(back));
	return 0;
}
