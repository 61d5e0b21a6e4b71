/*
 * test_serial.c - the serial framing (codec/serial.h): CRC-16 check value,
 * known-answer frames (those of SERIAL.md), frames split at every position,
 * oversize, runt and abort handling, a long stream damaged at random (every
 * intact frame delivered, no damaged one, recovery at the next frame), and
 * the raw mode of mqtt-sn-tools' serial bridge.
 *
 * The vectors were computed independently of serial.c (a bitwise CRC in
 * Python, from the polynomial). The random streams use a fixed seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/mqttsn.h"
#include "codec/serial.h"

/* ---------------------------------------------------------------- PRNG */

/* xorshift64*: deterministic, the same streams on every run. */
static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s ? s : 1;
}

static uint32_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static uint32_t rng_below(uint32_t n)
{
	return rng() % n;
}

/* ---------------------------------------------------------------- CRC */

static void test_crc_check_value(void **state)
{
	const uint8_t *s = (const uint8_t *)"123456789";

	(void)state;
	/* The catalogue's check value for CRC-16/IBM-SDLC. */
	assert_int_equal(mqttsn_serial_crc16(0, s, 9), 0x906E);
	assert_int_equal(mqttsn_serial_crc16(0, NULL, 0), 0x0000);
	for (size_t cut = 0; cut <= 9; cut++)
		assert_int_equal(mqttsn_serial_crc16(mqttsn_serial_crc16(0, s, cut), s + cut, 9 - cut),
		                 0x906E);
}

/* ---------------------------------------------------------------- vectors */

struct vector {
	const char *name;
	uint8_t payload[16];
	size_t payload_len;
	uint8_t frame[24];
	size_t frame_len;
};

/* SERIAL.md's examples, byte for byte. */
static const struct vector vectors[] = {
	{"PINGRESP", {0x02, 0x17}, 2, {0x7E, 0x02, 0x17, 0xC9, 0x58, 0x7E}, 6},
	/* PUBLISH topic 0x007E, msg id 1, data "}~": 0x7E and 0x7D in the payload */
	{"PUBLISH",
	 {0x09, 0x0C, 0x00, 0x00, 0x7E, 0x00, 0x01, 0x7D, 0x7E},
	 9,
	 {0x7E, 0x09, 0x0C, 0x00, 0x00, 0x7D, 0x5E, 0x00, 0x01, 0x7D, 0x5D, 0x7D, 0x5E, 0x60, 0x4C,
	  0x7E},
	 16},
	/* PUBREC msg id 0x5362: CRC 0x7D7E, both CRC octets escaped */
	{"PUBREC",
	 {0x04, 0x0F, 0x53, 0x62},
	 4,
	 {0x7E, 0x04, 0x0F, 0x53, 0x62, 0x7D, 0x5E, 0x7D, 0x5D, 0x7E},
	 10},
};
#define NVEC (sizeof(vectors) / sizeof(vectors[0]))

static void test_encode_vectors(void **state)
{
	uint8_t out[64];

	(void)state;
	for (size_t i = 0; i < NVEC; i++) {
		const struct vector *v = &vectors[i];
		int n;

		assert_int_equal(mqttsn_serial_encoded_len(v->payload, v->payload_len),
		                 (int)v->frame_len);
		n = mqttsn_serial_encode(v->payload, v->payload_len, out, sizeof(out));
		assert_int_equal(n, (int)v->frame_len);
		assert_memory_equal(out, v->frame, v->frame_len);
		/* Exactly the size fits; one octet less is refused. */
		assert_int_equal(mqttsn_serial_encode(v->payload, v->payload_len, out, v->frame_len),
		                 (int)v->frame_len);
		assert_int_equal(mqttsn_serial_encode(v->payload, v->payload_len, out, v->frame_len - 1),
		                 MQTTSN_ERR_NO_SPACE);
		assert_true(v->frame_len <= MQTTSN_SERIAL_ENCODED_MAX(v->payload_len));
	}
}

static void test_encode_errors(void **state)
{
	uint8_t out[16], one = 0x7E;

	(void)state;
	assert_int_equal(mqttsn_serial_encode(&one, 0, out, sizeof(out)), MQTTSN_ERR_INVALID);
	assert_int_equal(mqttsn_serial_encode(NULL, 1, out, sizeof(out)), MQTTSN_ERR_INVALID);
	assert_int_equal(mqttsn_serial_encode(&one, (size_t)MQTTSN_SERIAL_PAYLOAD_MAX + 1, out,
	                                      sizeof(out)),
	                 MQTTSN_ERR_TOO_BIG);
	assert_int_equal(mqttsn_serial_encode(&one, 1, NULL, 0), MQTTSN_ERR_NO_SPACE);
	/* 0x7E alone: flag, 7D 5E, two CRC octets (maybe escaped), flag */
	assert_true(mqttsn_serial_encode(&one, 1, out, sizeof(out)) >= 6);
}

/* ---------------------------------------------------------------- decoding */

#define MAX_GOT 4096

/* What a decoder delivered, copied out of its buffer. */
struct sink {
	size_t count;
	size_t len[MAX_GOT];
	uint8_t data[MAX_GOT][64];
};

static struct sink sink;

static void sink_take(void *ctx, const uint8_t *p, size_t len)
{
	struct sink *s = ctx;

	assert_true(s->count < MAX_GOT);
	assert_true(len <= sizeof(s->data[0]));
	memcpy(s->data[s->count], p, len);
	s->len[s->count++] = len;
}

static size_t vectors_stream(uint8_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < NVEC; i++) {
		memcpy(out + n, vectors[i].frame, vectors[i].frame_len);
		n += vectors[i].frame_len;
	}
	return n;
}

static void assert_vectors_delivered(const struct sink *s)
{
	assert_int_equal(s->count, NVEC);
	for (size_t i = 0; i < NVEC; i++) {
		assert_int_equal(s->len[i], vectors[i].payload_len);
		assert_memory_equal(s->data[i], vectors[i].payload, vectors[i].payload_len);
	}
}

static void test_decode_vectors_split_everywhere(void **state)
{
	uint8_t stream[128], buf[64];
	struct mqttsn_serial_decoder d;
	size_t n = vectors_stream(stream);

	(void)state;
	for (size_t cut = 0; cut <= n; cut++) {
		memset(&sink, 0, sizeof(sink));
		assert_int_equal(mqttsn_serial_decoder_init(&d, buf, sizeof(buf)), MQTTSN_OK);
		mqttsn_serial_feed_all(&d, stream, cut, sink_take, &sink);
		mqttsn_serial_feed_all(&d, stream + cut, n - cut, sink_take, &sink);
		assert_vectors_delivered(&sink);
		assert_int_equal(d.stats.frames_ok, NVEC);
		assert_int_equal(d.stats.crc_errors + d.stats.runts + d.stats.oversize +
		                     d.stats.aborted + d.stats.discarded,
		                 0);
	}
	/* One octet at a time, through the pull interface. */
	memset(&sink, 0, sizeof(sink));
	assert_int_equal(mqttsn_serial_decoder_init(&d, buf, sizeof(buf)), MQTTSN_OK);
	for (size_t i = 0; i < n; i++) {
		struct mqttsn_bytes f;

		assert_int_equal(mqttsn_serial_feed(&d, stream + i, 1, &f), 1);
		if (f.ptr != NULL)
			sink_take(&sink, f.ptr, f.len);
	}
	assert_vectors_delivered(&sink);
}

/* Every flipped bit of every vector is rejected, never delivered. */
static void test_decode_every_bit_flip(void **state)
{
	uint8_t frame[32], buf[64];
	struct mqttsn_serial_decoder d;

	(void)state;
	for (size_t v = 0; v < NVEC; v++) {
		size_t n = vectors[v].frame_len;

		for (size_t bit = 0; bit < 8 * n; bit++) {
			memcpy(frame, vectors[v].frame, n);
			frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			memset(&sink, 0, sizeof(sink));
			assert_int_equal(mqttsn_serial_decoder_init(&d, buf, sizeof(buf)), MQTTSN_OK);
			mqttsn_serial_feed_all(&d, frame, n, sink_take, &sink);
			/* the next frame is received whatever happened before */
			mqttsn_serial_feed_all(&d, vectors[0].frame, vectors[0].frame_len, sink_take,
			                       &sink);
			assert_true(sink.count >= 1);
			for (size_t i = 0; i + 1 < sink.count; i++) {
				/* A single-bit change can only be accepted if it left
				 * the payload as it was (a flag bit, say). */
				assert_int_equal(sink.len[i], vectors[v].payload_len);
				assert_memory_equal(sink.data[i], vectors[v].payload,
				                    vectors[v].payload_len);
			}
			assert_int_equal(sink.len[sink.count - 1], vectors[0].payload_len);
			assert_memory_equal(sink.data[sink.count - 1], vectors[0].payload,
			                    vectors[0].payload_len);
		}
	}
}

static void test_decode_init_errors(void **state)
{
	uint8_t buf[4];
	struct mqttsn_serial_decoder d;
	struct mqttsn_serial_raw r;

	(void)state;
	assert_int_equal(mqttsn_serial_decoder_init(&d, NULL, 10), MQTTSN_ERR_INVALID);
	assert_int_equal(mqttsn_serial_decoder_init(&d, buf, 2), MQTTSN_ERR_INVALID);
	assert_int_equal(mqttsn_serial_decoder_init(&d, buf, 3), MQTTSN_OK);
	assert_int_equal(mqttsn_serial_raw_init(&r, NULL, 10), MQTTSN_ERR_INVALID);
	assert_int_equal(mqttsn_serial_raw_init(&r, buf, 1), MQTTSN_ERR_INVALID);
	assert_int_equal(mqttsn_serial_raw_init(&r, buf, 2), MQTTSN_OK);
}

/* Hunting, idle flags, runts, aborts: counted, and the next frame arrives. */
static void test_decode_junk(void **state)
{
	static const uint8_t junk[] = {
		0x41, 0x42, 0x43,             /* before the first flag: discarded */
		0x7E, 0x7E, 0x7E,             /* idle flags */
		0x44, 0x7E,                   /* runt of 1 */
		0x44, 0x45, 0x7E,             /* runt of 2 */
		0x01, 0x02, 0x03, 0x7D, 0x7E, /* aborted */
		0x01, 0x02, 0x03, 0x04, 0x7E, /* CRC error */
	};
	uint8_t stream[64], buf[64];
	struct mqttsn_serial_decoder d;

	(void)state;
	memcpy(stream, junk, sizeof(junk));
	memcpy(stream + sizeof(junk), vectors[1].frame, vectors[1].frame_len);
	memset(&sink, 0, sizeof(sink));
	assert_int_equal(mqttsn_serial_decoder_init(&d, buf, sizeof(buf)), MQTTSN_OK);
	mqttsn_serial_feed_all(&d, stream, sizeof(junk) + vectors[1].frame_len, sink_take, &sink);
	assert_int_equal(sink.count, 1);
	assert_memory_equal(sink.data[0], vectors[1].payload, vectors[1].payload_len);
	assert_int_equal(d.stats.frames_ok, 1);
	assert_int_equal(d.stats.runts, 2);
	assert_int_equal(d.stats.aborted, 1);
	assert_int_equal(d.stats.crc_errors, 1);
	assert_int_equal(d.stats.oversize, 0);
	assert_int_equal(d.stats.discarded, 3 + 1 + 2 + 4 + 4);
}

/* A frame longer than the buffer is dropped to the next flag, never stored. */
static void test_decode_oversize(void **state)
{
	uint8_t payload[40], stream[512], guarded[MQTTSN_SERIAL_DECODER_BUF(9) + 8];
	struct mqttsn_serial_decoder d;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(0x7C + i % 4); /* plenty of 0x7D and 0x7E */
	/* payloads of 9 (fits), 10 (one too many), 40, then 9 again */
	static const size_t lens[] = {9, 10, 40, 9, 1};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		int k = mqttsn_serial_encode(payload, lens[i], stream + n, sizeof(stream) - n);

		assert_true(k > 0);
		n += (size_t)k;
	}
	/* 300 octets without a flag, then the vectors */
	memset(stream + n, 0x55, 300);
	n += 300;
	n += vectors_stream(stream + n);

	memset(guarded, 0xA5, sizeof(guarded));
	memset(&sink, 0, sizeof(sink));
	assert_int_equal(mqttsn_serial_decoder_init(&d, guarded, MQTTSN_SERIAL_DECODER_BUF(9)),
	                 MQTTSN_OK);
	mqttsn_serial_feed_all(&d, stream, n, sink_take, &sink);
	for (size_t i = MQTTSN_SERIAL_DECODER_BUF(9); i < sizeof(guarded); i++)
		assert_int_equal(guarded[i], 0xA5);
	assert_int_equal(d.stats.oversize, 2 + 1);
	/* 9, 9, 1, then the three vectors, whose payloads fit */
	assert_int_equal(sink.count, 6);
	assert_int_equal(sink.len[0], 9);
	assert_int_equal(sink.len[1], 9);
	assert_int_equal(sink.len[2], 1);
	assert_memory_equal(sink.data[0], payload, 9);
	assert_int_equal(sink.len[5], vectors[2].payload_len);
}

/* ---------------------------------------------------------------- damage */

#define NFRAMES 3000
#define STREAM_MAX (NFRAMES * 200)

struct original {
	uint8_t msg[64];
	size_t len;
	size_t start, end; /* the frame's span in the clean stream, flags included */
	bool damaged;
};

static struct original orig[NFRAMES];
static uint8_t clean[STREAM_MAX];
static uint8_t damaged_stream[STREAM_MAX * 2];

/* A PUBLISH (QoS 1) whose msg id is its number; data rich in 0x7E/0x7D. */
static size_t make_publish(uint8_t *m, uint16_t seq)
{
	size_t data = rng_below(50);

	m[0] = (uint8_t)(7 + data);
	m[1] = MQTTSN_PUBLISH;
	m[2] = 0x20;
	m[3] = (uint8_t)rng();
	m[4] = (uint8_t)rng();
	m[5] = (uint8_t)(seq >> 8);
	m[6] = (uint8_t)seq;
	for (size_t i = 0; i < data; i++) {
		uint32_t r = rng_below(4);

		m[7 + i] = r == 0 ? 0x7E : r == 1 ? 0x7D : (uint8_t)rng();
	}
	return 7 + data;
}

static size_t build_clean_stream(void)
{
	size_t n = 0;

	for (size_t i = 0; i < NFRAMES; i++) {
		struct mqttsn_msg m;
		int k;

		orig[i].len = make_publish(orig[i].msg, (uint16_t)i);
		assert_int_equal(mqttsn_decode(orig[i].msg, orig[i].len, &m), MQTTSN_OK);
		k = mqttsn_serial_encode(orig[i].msg, orig[i].len, clean + n, STREAM_MAX - n);
		assert_true(k > 0);
		orig[i].start = n;
		orig[i].end = n + (size_t)k;
		orig[i].damaged = false;
		n += (size_t)k;
	}
	return n;
}

/* The frame whose span holds clean offset i, or NFRAMES (frames abut). */
static size_t frame_at(size_t i, size_t *hint)
{
	while (*hint < NFRAMES && orig[*hint].end <= i)
		(*hint)++;
	return *hint;
}

/*
 * Damage the clean stream: at each octet, with probability 1/rate_inv,
 * drop it, flip bits in it, or insert a random octet before it. Marks the
 * frames touched; an octet inserted just before a frame's opening flag
 * falls between two frames and damages neither.
 */
static size_t damage(size_t n, uint32_t rate_inv)
{
	size_t out = 0, hint = 0;

	for (size_t i = 0; i < n; i++) {
		size_t f = frame_at(i, &hint);

		if (rng_below(rate_inv) != 0) {
			damaged_stream[out++] = clean[i];
			continue;
		}
		switch (rng_below(3)) {
		case 0: /* dropped */
			orig[f].damaged = true;
			break;
		case 1: /* flipped */
			damaged_stream[out++] = (uint8_t)(clean[i] ^ (1u + rng_below(255)));
			orig[f].damaged = true;
			break;
		default: /* inserted before */
			damaged_stream[out++] = (uint8_t)rng();
			damaged_stream[out++] = clean[i];
			if (i != orig[f].start)
				orig[f].damaged = true;
			break;
		}
	}
	return out;
}

static void run_damage(uint64_t seed, uint32_t rate_inv)
{
	static uint8_t buf[MQTTSN_SERIAL_DECODER_BUF(64)];
	struct mqttsn_serial_decoder d;
	size_t n, m, pos = 0, next = 0, recoveries = 0, ndamaged = 0;

	rng_seed(seed);
	n = build_clean_stream();
	m = damage(n, rate_inv);
	assert_int_equal(mqttsn_serial_decoder_init(&d, buf, sizeof(buf)), MQTTSN_OK);
	while (pos < m) {
		struct mqttsn_bytes f;
		size_t chunk = 1 + rng_below(64), used;
		struct mqttsn_msg msg;
		size_t seq;

		if (chunk > m - pos)
			chunk = m - pos;
		used = mqttsn_serial_feed(&d, damaged_stream + pos, chunk, &f);
		pos += used;
		if (f.ptr == NULL)
			continue;
		/* Delivered: an original, byte for byte, later than the last. */
		assert_int_equal(mqttsn_decode(f.ptr, f.len, &msg), MQTTSN_OK);
		assert_int_equal(msg.type, MQTTSN_PUBLISH);
		seq = msg.u.publish.msg_id;
		assert_true(seq >= next && seq < NFRAMES);
		assert_int_equal(f.len, orig[seq].len);
		assert_memory_equal(f.ptr, orig[seq].msg, f.len);
		/* Every intact frame skipped over is a failure. */
		for (size_t k = next; k < seq; k++)
			assert_true(orig[k].damaged);
		next = seq + 1;
	}
	for (size_t k = next; k < NFRAMES; k++)
		assert_true(orig[k].damaged);
	for (size_t k = 0; k < NFRAMES; k++) {
		ndamaged += orig[k].damaged;
		if (k + 1 < NFRAMES && orig[k].damaged && !orig[k + 1].damaged)
			recoveries++;
	}
	/* The test means something: damage happened, and was recovered from. */
	assert_true(ndamaged > 0 && ndamaged < NFRAMES);
	assert_true(recoveries > 0);
	assert_true(d.stats.frames_ok >= NFRAMES - ndamaged);
	print_message("  rate 1/%u: %zu frames damaged, %llu delivered, %llu CRC errors, "
	              "%llu runts, %llu aborted, %zu recoveries\n",
	              (unsigned)rate_inv, ndamaged, (unsigned long long)d.stats.frames_ok,
	              (unsigned long long)d.stats.crc_errors, (unsigned long long)d.stats.runts,
	              (unsigned long long)d.stats.aborted, recoveries);
}

static void test_damage_rare(void **state)
{
	(void)state;
	run_damage(0x5EED0001u, 20000);
}

static void test_damage_moderate(void **state)
{
	(void)state;
	run_damage(0x5EED0002u, 1000);
}

static void test_damage_heavy(void **state)
{
	(void)state;
	run_damage(0x5EED0003u, 100);
}

/* ---------------------------------------------------------------- raw mode */

/* Back-to-back messages, incl. 3-octet length headers and an ENCAPSULATED. */
static uint8_t raw_msgs[8][320];
static size_t raw_lens[8];
static size_t raw_count;

static void raw_add(const uint8_t *m, size_t len)
{
	struct mqttsn_msg dm;

	assert_int_equal(mqttsn_decode(m, len, &dm), MQTTSN_OK);
	memcpy(raw_msgs[raw_count], m, len);
	raw_lens[raw_count++] = len;
}

static size_t raw_build(uint8_t *stream)
{
	static const uint8_t pingreq[] = {0x02, 0x16};
	static const uint8_t disconnect3[] = {0x01, 0x00, 0x04, 0x18}; /* 3-octet header */
	static const uint8_t puback[] = {0x07, 0x0D, 0x00, 0x01, 0x7E, 0x7D, 0x00};
	/* ENCAPSULATED, ctrl 0, node id "ab", around a PINGREQ */
	static const uint8_t encap[] = {0x05, 0xFE, 0x00, 'a', 'b', 0x02, 0x16};
	uint8_t big[300];
	size_t n = 0;

	raw_count = 0;
	raw_add(pingreq, sizeof(pingreq));
	raw_add(disconnect3, sizeof(disconnect3));
	/* PUBLISH of 300 octets: 3-octet header 01 01 2C */
	big[0] = 0x01;
	big[1] = 0x01;
	big[2] = 0x2C;
	big[3] = MQTTSN_PUBLISH;
	big[4] = 0x20;
	big[5] = 0x00;
	big[6] = 0x01;
	big[7] = 0x00;
	big[8] = 0x09;
	for (size_t i = 9; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	raw_add(big, sizeof(big));
	raw_add(encap, sizeof(encap));
	raw_add(puback, sizeof(puback));
	for (size_t i = 0; i < raw_count; i++) {
		memcpy(stream + n, raw_msgs[i], raw_lens[i]);
		n += raw_lens[i];
	}
	return n;
}

/* Feed in[0..n) to r as the header's loop does; collect into sink. */
static void raw_feed_all(struct mqttsn_serial_raw *r, const uint8_t *in, size_t n)
{
	struct mqttsn_bytes m;

	do {
		size_t used = mqttsn_serial_raw_feed(r, in, n, &m);

		in += used;
		n -= used;
		if (m.ptr != NULL) {
			struct mqttsn_msg dm;

			assert_int_equal(mqttsn_decode(m.ptr, m.len, &dm), MQTTSN_OK);
			assert_true(sink.count < MAX_GOT);
			sink.len[sink.count] = m.len;
			memcpy(sink.data[sink.count], m.ptr, m.len < 64 ? m.len : 64);
			sink.count++;
		}
	} while (n > 0 || m.ptr != NULL);
}

static void assert_raw_delivered(void)
{
	assert_int_equal(sink.count, raw_count);
	for (size_t i = 0; i < raw_count; i++) {
		assert_int_equal(sink.len[i], raw_lens[i]);
		assert_memory_equal(sink.data[i], raw_msgs[i], raw_lens[i] < 64 ? raw_lens[i] : 64);
	}
}

static void test_raw_split_everywhere(void **state)
{
	static uint8_t stream[1024], buf[MQTTSN_MSG_MAX];
	struct mqttsn_serial_raw r;
	size_t n = raw_build(stream);

	(void)state;
	for (size_t cut = 0; cut <= n; cut++) {
		memset(&sink, 0, sizeof(sink));
		assert_int_equal(mqttsn_serial_raw_init(&r, buf, sizeof(buf)), MQTTSN_OK);
		raw_feed_all(&r, stream, cut);
		raw_feed_all(&r, stream + cut, n - cut);
		assert_raw_delivered();
		assert_int_equal(r.stats.msgs_ok, raw_count);
		assert_int_equal(r.stats.resync_drops, 0);
	}
	memset(&sink, 0, sizeof(sink));
	assert_int_equal(mqttsn_serial_raw_init(&r, buf, sizeof(buf)), MQTTSN_OK);
	for (size_t i = 0; i < n; i++)
		raw_feed_all(&r, stream + i, 1);
	assert_raw_delivered();
}

/* The 2-octet datagram that starts with 0x01 (STYLE.md): waits, no over-read. */
static void test_raw_header_edges(void **state)
{
	static const uint8_t edge[] = {0x01, 0x00};
	uint8_t buf[8];
	struct mqttsn_serial_raw r;

	(void)state;
	memset(&sink, 0, sizeof(sink));
	assert_int_equal(mqttsn_serial_raw_init(&r, buf, sizeof(buf)), MQTTSN_OK);
	raw_feed_all(&r, edge, sizeof(edge));
	assert_int_equal(sink.count, 0);
	assert_int_equal(r.len, 2);
	/* 01 00 03: a declared length below its header, dropped octet by octet */
	raw_feed_all(&r, (const uint8_t *)"\x03\x02\x16", 3);
	assert_true(r.stats.resync_drops >= 1);
	/* A message longer than the buffer: counted as oversize, not stored. */
	raw_feed_all(&r, (const uint8_t *)"\x20", 1);
	assert_true(r.stats.oversize >= 1);
}

/* The heuristic: after an inserted octet, later messages come through. */
static void test_raw_resync(void **state)
{
	static uint8_t stream[4096], buf[512];
	struct mqttsn_serial_raw r;
	size_t n = 0;
	static const uint8_t pingreq[] = {0x02, 0x16};
	static const uint8_t pubrec[] = {0x04, 0x0F, 0x00, 0x07};

	(void)state;
	for (size_t i = 0; i < 40; i++) {
		/* An inserted octet: 07 04 0F 00 07 02 16 reads as a CONNECT
		 * with protocol id 0, which decode rejects. */
		if (i == 4)
			stream[n++] = 0x07;
		memcpy(stream + n, i % 2 ? pingreq : pubrec, i % 2 ? 2 : 4);
		n += i % 2 ? 2 : 4;
	}
	memset(&sink, 0, sizeof(sink));
	assert_int_equal(mqttsn_serial_raw_init(&r, buf, sizeof(buf)), MQTTSN_OK);
	raw_feed_all(&r, stream, n);
	assert_true(r.stats.resync_drops >= 1);
	/* the last 30 are all delivered, in order */
	assert_true(sink.count >= 30);
	for (size_t k = 0; k < 30; k++) {
		size_t i = 39 - k, got = sink.count - 1 - k;

		assert_memory_equal(sink.data[got], i % 2 ? pingreq : pubrec, i % 2 ? 2 : 4);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_check_value),
		cmocka_unit_test(test_encode_vectors),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_decode_vectors_split_everywhere),
		cmocka_unit_test(test_decode_every_bit_flip),
		cmocka_unit_test(test_decode_init_errors),
		cmocka_unit_test(test_decode_junk),
		cmocka_unit_test(test_decode_oversize),
		cmocka_unit_test(test_damage_rare),
		cmocka_unit_test(test_damage_moderate),
		cmocka_unit_test(test_damage_heavy),
		cmocka_unit_test(test_raw_split_everywhere),
		cmocka_unit_test(test_raw_header_edges),
		cmocka_unit_test(test_raw_resync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
