/*
 * test_frame.c - link frames (codec/frame.h): known-answer vectors, round
 * trips, every bit flip and every truncation of a sealed frame refused,
 * the replay window, compression of real weather records, fragmentation,
 * a decompression bomb, dictionary files.
 *
 * The vectors were computed independently of frame.c, with Python's
 * cryptography (ChaCha20Poly1305) and zlib modules; they are also written
 * in codec/FRAMES.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <zlib.h>

#include "codec/frame.h"

static struct mqttsn_frame_ctx ctx;
static struct mqttsn_frame_builder builder;
static struct mqttsn_frame_reasm reasm;
static uint8_t out[MQTTSN_FRAME_CONTENT_MAX];

static uint8_t key[32];
static struct mqttsn_link_keyring ring;

/* PINGREQ and a PUBLISH (QoS 0, topic id 1, "21.5") as content items. */
static const uint8_t content_ab[15] = {0x02, 0x02, 0x16, 0x0b, 0x0b, 0x0c, 0x00, 0x00,
                                       0x01, 0x00, 0x00, 0x32, 0x31, 0x2e, 0x35};

static const uint8_t vec_a[17] = {0x00, 0x40, 0x02, 0x02, 0x16, 0x0b, 0x0b, 0x0c, 0x00,
                                  0x00, 0x01, 0x00, 0x00, 0x32, 0x31, 0x2e, 0x35};

/* key 00..1f, key id 1, up, counter 0x12345 */
static const uint8_t vec_b[35] = {0x00, 0x61, 0x23, 0x45, 0xab, 0x75, 0x93, 0xc4, 0x6d, 0x90, 0xa7, 0x95,
                                  0xf0, 0x27, 0x20, 0x28, 0xf8, 0x1c, 0x15, 0x9a, 0x79, 0x54, 0xc0, 0x7b,
                                  0xc9, 0x82, 0x6c, 0xef, 0x57, 0xfa, 0xe9, 0x63, 0x02, 0xf0, 0x91};

/* key 00..1f, key id 2, down, wide counter 0x100012346, dictionary 7 */
static const uint8_t vec_c[48] = {0x00, 0x76, 0x07, 0x00, 0x01, 0x23, 0x46, 0xc9, 0x0e, 0xd5, 0x21, 0x35,
                                  0x67, 0x3b, 0x28, 0xac, 0xf1, 0xb7, 0xcf, 0x05, 0x28, 0xfb, 0x06, 0xc9,
                                  0x93, 0xc8, 0xac, 0xd1, 0x1a, 0x81, 0x44, 0x9b, 0x21, 0xe1, 0x3c, 0xce,
                                  0x92, 0x3e, 0x2b, 0x2d, 0xd8, 0x70, 0x74, 0xbc, 0xe6, 0x0c, 0x75, 0x36};
static const char dict_c_text[] =
	"{\"ts\":\"2010-01-01T00:00:00\",\"pressure_hpa\":1016.6,\"temp_c\":4.0,\"wind_ms\":3.8}";
static const char msg_c_json[] =
	"{\"ts\":\"2010-01-01T01:00:00\",\"pressure_hpa\":1016.5,\"temp_c\":3.9,\"wind_ms\":3.8}";

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)i;
	memset(&ring, 0, sizeof ring);
	for (size_t i = 1; i < 3; i++) {
		ring.set[i] = true;
		memcpy(ring.key[i], key, sizeof key);
	}
	return 0;
}

static struct mqttsn_frame_params sealed(uint64_t ctr)
{
	struct mqttsn_frame_params p;

	memset(&p, 0, sizeof p);
	p.key = key;
	p.key_id = 1;
	p.direction = MQTTSN_LINK_UP;
	p.counter = ctr;
	return p;
}

/* ---------------------------------------------------------------- vectors */

static void test_vector_plain(void **state)
{
	struct mqttsn_frame_params p;
	struct mqttsn_frame_info info;
	uint8_t frame[64];
	struct mqttsn_bytes m;
	size_t pos = 0;

	(void)state;
	memset(&p, 0, sizeof p);
	assert_int_equal(mqttsn_frame_seal(&ctx, &p, content_ab, sizeof content_ab, frame, sizeof frame), 17);
	assert_memory_equal(frame, vec_a, sizeof vec_a);
	assert_int_equal(mqttsn_frame_open(&ctx, NULL, NULL, 0, NULL, 0, vec_a, sizeof vec_a, out, sizeof out, &info),
	                 15);
	assert_false(info.encrypted);
	assert_int_equal(mqttsn_frame_next(out, 15, &pos, &m), 1);
	assert_int_equal(m.len, 2);
	assert_int_equal(m.ptr[1], 0x16);
	assert_int_equal(mqttsn_frame_next(out, 15, &pos, &m), 1);
	assert_int_equal(m.len, 11);
	assert_int_equal(mqttsn_frame_next(out, 15, &pos, &m), 0);
}

static void test_vector_sealed(void **state)
{
	struct mqttsn_frame_params p = sealed(0x12345);
	struct mqttsn_frame_info info;
	struct mqttsn_link_rx rx;
	uint8_t frame[64];

	(void)state;
	assert_int_equal(mqttsn_frame_seal(&ctx, &p, content_ab, sizeof content_ab, frame, sizeof frame), 35);
	assert_memory_equal(frame, vec_b, sizeof vec_b);
	/* overhead of an encrypted frame: 4 header octets and the tag */
	assert_int_equal(35 - (int)sizeof content_ab, 20);
	mqttsn_link_rx_init(&rx, 0x12000);
	assert_int_equal(mqttsn_frame_open(&ctx, &ring, NULL, 0, &rx, MQTTSN_LINK_UP, vec_b, sizeof vec_b, out,
	                                   sizeof out, &info),
	                 15);
	assert_memory_equal(out, content_ab, sizeof content_ab);
	assert_true(info.encrypted);
	assert_int_equal(info.key_id, 1);
	assert_true(info.counter == 0x12345u);
	assert_int_equal(mqttsn_frame_open(&ctx, &ring, NULL, 0, &rx, MQTTSN_LINK_UP, vec_b, sizeof vec_b, out,
	                                   sizeof out, &info),
	                 MQTTSN_FRAME_ERR_REPLAYED);
}

static void test_vector_compressed(void **state)
{
	struct mqttsn_frame_dict d = {7, (const uint8_t *)dict_c_text, sizeof dict_c_text - 1};
	struct mqttsn_frame_info info;
	struct mqttsn_link_rx rx;
	struct mqttsn_frame_params p = sealed(0x100012346u);
	uint8_t frame[128];
	struct mqttsn_bytes m;
	size_t pos = 0;
	int n;

	(void)state;
	mqttsn_link_rx_init(&rx, 0x100000000u);
	n = mqttsn_frame_open(&ctx, &ring, &d, 1, &rx, MQTTSN_LINK_DOWN, vec_c, sizeof vec_c, out, sizeof out, &info);
	assert_int_equal(n, 85);
	assert_true(info.compressed);
	assert_int_equal(info.dict_id, 7);
	assert_int_equal(info.key_id, 2);
	assert_true(info.counter == 0x100012346u);
	assert_int_equal(mqttsn_frame_next(out, (size_t)n, &pos, &m), 1);
	assert_int_equal(m.len, 84);
	assert_int_equal(m.ptr[1], 0x0c);
	assert_memory_equal(m.ptr + 7, msg_c_json, sizeof msg_c_json - 1);
	/* an exact fit opens; one octet less is no space, not a bomb */
	mqttsn_link_rx_init(&rx, 0x100000000u);
	assert_int_equal(mqttsn_frame_open(&ctx, &ring, &d, 1, &rx, MQTTSN_LINK_DOWN, vec_c, sizeof vec_c, frame, 85,
	                                   &info),
	                 85);
	mqttsn_link_rx_init(&rx, 0x100000000u);
	assert_int_equal(mqttsn_frame_open(&ctx, &ring, &d, 1, &rx, MQTTSN_LINK_DOWN, vec_c, sizeof vec_c, frame, 84,
	                                   &info),
	                 MQTTSN_ERR_NO_SPACE);

	/* Sealing the same content gives a frame the receiver opens alike (the
	 * deflate octets may differ between zlib versions; the content not). */
	p.dict = &d;
	p.key_id = 2;
	p.direction = MQTTSN_LINK_DOWN;
	p.wide = true;
	p.counter = 0x100012347u;
	n = mqttsn_frame_seal(&ctx, &p, out, 85, frame, 10); /* no room */
	assert_int_equal(n, MQTTSN_ERR_NO_SPACE);
	{
		uint8_t content[85], sealed_c[128];

		memcpy(content, out, 85);
		n = mqttsn_frame_seal(&ctx, &p, content, 85, sealed_c, sizeof sealed_c);
		assert_true(n > 0 && n < 85);
		assert_int_equal(mqttsn_frame_open(&ctx, &ring, &d, 1, &rx, MQTTSN_LINK_DOWN, sealed_c, (size_t)n, out,
		                                   sizeof out, &info),
		                 85);
		assert_memory_equal(out, content, 85);
	}
}

/* ---------------------------------------------------------------- round trips */

static void test_round_trips(void **state)
{
	struct mqttsn_frame_dict d = {3, (const uint8_t *)dict_c_text, sizeof dict_c_text - 1};
	uint8_t content[300], frame[400];
	struct mqttsn_frame_info info;
	struct mqttsn_link_rx rx;

	(void)state;
	for (size_t i = 0; i < sizeof content; i++)
		content[i] = (uint8_t)(i * 7 + 1);
	mqttsn_link_rx_init(&rx, 0);
	for (unsigned v = 0; v < 16; v++) {
		struct mqttsn_frame_params p = sealed(v);
		size_t len = v * 17;
		int n, m;

		if (!(v & 1))
			p.key = NULL;
		if (v & 2)
			p.dict = &d;
		p.wide = p.key != NULL && (v & 4);
		p.fragment = (v & 8) != 0;
		n = mqttsn_frame_seal(&ctx, &p, content, len, frame, sizeof frame);
		assert_true(n > 0);
		m = mqttsn_frame_open(&ctx, p.key != NULL ? &ring : NULL, &d, 1, &rx, MQTTSN_LINK_UP, frame, (size_t)n, out,
		                      sizeof out, &info);
		assert_int_equal(m, (int)len);
		/* the other expectation is refused: no downgrade, no key */
		m = mqttsn_frame_open(&ctx, p.key != NULL ? NULL : &ring, &d, 1, &rx, MQTTSN_LINK_UP, frame, (size_t)n, out,
		                      sizeof out, &info);
		assert_int_equal(m, p.key != NULL ? MQTTSN_FRAME_ERR_KEY : MQTTSN_FRAME_ERR_AUTH);
		assert_memory_equal(out, content, len);
		assert_int_equal(info.fragment, p.fragment);
		assert_int_equal(info.encrypted, p.key != NULL);
	}
}

/* ---------------------------------------------------------------- damage */

static void test_incompressible_sent_plain(void **state)
{
	struct mqttsn_frame_dict d = {3, (const uint8_t *)dict_c_text, sizeof dict_c_text - 1};
	struct mqttsn_frame_params p = sealed(1);
	uint8_t content[200], frame[300];
	uint32_t x = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof content; i++) {
		x = x * 1103515245u + 12345u;
		content[i] = (uint8_t)(x >> 24);
	}
	p.dict = &d;
	assert_int_equal(mqttsn_frame_seal(&ctx, &p, content, sizeof content, frame, sizeof frame), 220);
	assert_int_equal(frame[1] & MQTTSN_FRAME_F_ZIP, 0);
	/* compressible: the frame carries the dictionary id and is shorter */
	memset(content, 'a', sizeof content);
	assert_true(mqttsn_frame_seal(&ctx, &p, content, sizeof content, frame, sizeof frame) < 40);
	assert_int_equal(frame[1] & MQTTSN_FRAME_F_ZIP, MQTTSN_FRAME_F_ZIP);
	assert_int_equal(frame[2], 3);
}

static void test_every_bit_flip(void **state)
{
	struct mqttsn_frame_dict d = {7, (const uint8_t *)dict_c_text, sizeof dict_c_text - 1};
	const uint8_t *frames[2] = {vec_b, vec_c};
	size_t lens[2] = {sizeof vec_b, sizeof vec_c};
	uint64_t floors[2] = {0x12000, 0x100000000u};
	uint8_t dirs[2] = {MQTTSN_LINK_UP, MQTTSN_LINK_DOWN};
	uint8_t frame[64];

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		for (size_t bit = 0; bit < lens[f] * 8; bit++) {
			struct mqttsn_frame_info info;
			struct mqttsn_link_rx rx;
			int rc;

			mqttsn_link_rx_init(&rx, floors[f]);
			memcpy(frame, frames[f], lens[f]);
			frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			rc = mqttsn_frame_open(&ctx, &ring, &d, 1, &rx, dirs[f], frame, lens[f], out, sizeof out, &info);
			assert_true(rc < 0);
		}
	}
}

static void test_every_truncation(void **state)
{
	struct mqttsn_frame_dict d = {7, (const uint8_t *)dict_c_text, sizeof dict_c_text - 1};
	struct mqttsn_frame_info info;
	struct mqttsn_link_rx rx;

	(void)state;
	for (size_t len = 0; len < sizeof vec_c; len++) {
		mqttsn_link_rx_init(&rx, 0x100000000u);
		assert_true(mqttsn_frame_open(&ctx, &ring, &d, 1, &rx, MQTTSN_LINK_DOWN, vec_c, len, out, sizeof out,
		                              &info) < 0);
		assert_false(rx.any);
	}
	for (size_t len = 0; len < sizeof vec_b; len++) {
		mqttsn_link_rx_init(&rx, 0x12000);
		assert_true(mqttsn_frame_open(&ctx, &ring, NULL, 0, &rx, MQTTSN_LINK_UP, vec_b, len, out, sizeof out,
		                              &info) < 0);
	}
	/* a truncated plain frame is still a frame: its content is checked */
	for (size_t len = 2; len < sizeof vec_a; len++) {
		int n = mqttsn_frame_open(&ctx, NULL, NULL, 0, NULL, 0, vec_a, len, out, sizeof out, &info);
		struct mqttsn_bytes m;
		size_t pos = 0;
		int rc;

		assert_int_equal(n, (int)len - 2);
		while ((rc = mqttsn_frame_next(out, (size_t)n, &pos, &m)) == 1)
			;
		assert_int_equal(rc, (len == 2 || len == 5) ? 0 : MQTTSN_FRAME_ERR_MALFORMED);
	}
}

static void test_keys_and_header(void **state)
{
	struct mqttsn_frame_info info;
	struct mqttsn_link_rx rx;
	struct mqttsn_link_keyring other = ring;
	uint8_t frame[64];

	(void)state;
	other.key[1][0] ^= 1;
	mqttsn_link_rx_init(&rx, 0x12000);
	assert_int_equal(mqttsn_frame_open(&ctx, &other, NULL, 0, &rx, MQTTSN_LINK_UP, vec_b, sizeof vec_b, out,
	                                   sizeof out, &info),
	                 MQTTSN_FRAME_ERR_AUTH);
	assert_false(rx.any);
	/* the other direction's nonce */
	assert_int_equal(mqttsn_frame_open(&ctx, &ring, NULL, 0, &rx, MQTTSN_LINK_DOWN, vec_b, sizeof vec_b, out,
	                                   sizeof out, &info),
	                 MQTTSN_FRAME_ERR_AUTH);
	other.set[1] = false;
	assert_int_equal(mqttsn_frame_open(&ctx, &other, NULL, 0, &rx, MQTTSN_LINK_UP, vec_b, sizeof vec_b, out,
	                                   sizeof out, &info),
	                 MQTTSN_FRAME_ERR_KEY);
	/* unknown dictionary */
	assert_int_equal(mqttsn_frame_open(&ctx, &ring, NULL, 0, &rx, MQTTSN_LINK_DOWN, vec_c, sizeof vec_c, out,
	                                   sizeof out, &info),
	                 MQTTSN_FRAME_ERR_DICT);
	/* versions 0, 2, 3 */
	memcpy(frame, vec_a, sizeof vec_a);
	for (unsigned v = 0; v < 4; v++) {
		frame[1] = (uint8_t)(v << 6);
		assert_int_equal(mqttsn_frame_open(&ctx, NULL, NULL, 0, NULL, 0, frame, sizeof vec_a, out, sizeof out,
		                                   &info),
		                 v == 1 ? 15 : MQTTSN_FRAME_ERR_VERSION);
	}
	/* plain MQTT-SN is not a frame */
	assert_false(mqttsn_frame_is_link(content_ab + 1, 2));
	assert_true(mqttsn_frame_is_link(vec_a, sizeof vec_a));
	/* a key id or wide flag on a frame without encryption */
	frame[1] = 0x41;
	assert_int_equal(mqttsn_frame_open(&ctx, NULL, NULL, 0, NULL, 0, frame, sizeof vec_a, out, sizeof out, &info),
	                 MQTTSN_FRAME_ERR_MALFORMED);
	/* no room for the content */
	mqttsn_link_rx_init(&rx, 0x12000);
	assert_int_equal(mqttsn_frame_open(&ctx, &ring, NULL, 0, &rx, MQTTSN_LINK_UP, vec_b, sizeof vec_b, out, 14,
	                                   &info),
	                 MQTTSN_ERR_NO_SPACE);
}

/* ---------------------------------------------------------------- replay window */

static int open_ctr(struct mqttsn_link_rx *rx, uint64_t ctr, bool wide)
{
	struct mqttsn_frame_params p = sealed(ctr);
	struct mqttsn_frame_info info;
	uint8_t frame[64];
	int n;

	p.wide = wide;
	n = mqttsn_frame_seal(&ctx, &p, content_ab, sizeof content_ab, frame, sizeof frame);
	assert_true(n > 0);
	return mqttsn_frame_open(&ctx, &ring, NULL, 0, rx, MQTTSN_LINK_UP, frame, (size_t)n, out, sizeof out, &info);
}

static void test_replay_window(void **state)
{
	struct mqttsn_link_rx rx;

	(void)state;
	mqttsn_link_rx_init(&rx, 5);
	assert_int_equal(open_ctr(&rx, 4, false), MQTTSN_FRAME_ERR_TOO_OLD);
	assert_int_equal(open_ctr(&rx, 10, false), 15);
	assert_int_equal(open_ctr(&rx, 12, false), 15);
	assert_int_equal(open_ctr(&rx, 11, false), 15);       /* reordered: accepted once */
	assert_int_equal(open_ctr(&rx, 11, false), MQTTSN_FRAME_ERR_REPLAYED);
	assert_int_equal(open_ctr(&rx, 10, false), MQTTSN_FRAME_ERR_REPLAYED);
	assert_int_equal(open_ctr(&rx, 6, false), 15);        /* late, inside the window */
	assert_int_equal(open_ctr(&rx, 100, false), 15);
	assert_int_equal(open_ctr(&rx, 37, false), 15);       /* 63 behind: the window's edge */
	assert_int_equal(open_ctr(&rx, 36, false), MQTTSN_FRAME_ERR_TOO_OLD);
	assert_int_equal(open_ctr(&rx, 12, false), MQTTSN_FRAME_ERR_TOO_OLD);
	/* across the 16-bit wrap, and a jump the short counter still reaches */
	assert_int_equal(open_ctr(&rx, 0xFFF0, false), 15);
	assert_int_equal(open_ctr(&rx, 0x10005, false), 15);
	assert_int_equal(open_ctr(&rx, 0xFFF8, false), 15);
	assert_int_equal(open_ctr(&rx, 0x10005 + 0x7FFF, false), 15);
	/* too far for 16 bits: expanded to a wrong counter (here an old one) and
	 * refused, never accepted; the wide counter reaches it */
	assert_int_equal(open_ctr(&rx, 0x10005 + 0x7FFF + 0x9000, false), MQTTSN_FRAME_ERR_TOO_OLD);
	assert_int_equal(open_ctr(&rx, 0x10005 + 0x7FFF + 0x10100, false), MQTTSN_FRAME_ERR_AUTH);
	assert_int_equal(open_ctr(&rx, 0x10005 + 0x7FFF + 0x9000, true), 15);
	assert_true(rx.highest == 0x10005u + 0x7FFFu + 0x9000u);
}

static void test_expand(void **state)
{
	struct mqttsn_link_rx rx;

	(void)state;
	mqttsn_link_rx_init(&rx, 0);
	assert_true(mqttsn_link_rx_expand(&rx, 0xFFFF, 16) == 0xFFFFu);
	assert_true(mqttsn_link_rx_expand(&rx, 0x7FFF, 16) == 0x7FFFu);
	mqttsn_link_rx_mark(&rx, 0x1FFFE);
	assert_true(mqttsn_link_rx_expand(&rx, 0x0001, 16) == 0x20001u);
	assert_true(mqttsn_link_rx_expand(&rx, 0xFFF0, 16) == 0x1FFF0u);
	assert_true(mqttsn_link_rx_expand(&rx, 0x0001, 32) == 0x1u);
	mqttsn_link_rx_mark(&rx, 0x2FFFFFFF0u);
	assert_true(mqttsn_link_rx_expand(&rx, 0x00000001u, 32) == 0x300000001u);
	assert_true(mqttsn_link_rx_expand(&rx, 0xFFFFFF00u, 32) == 0x2FFFFFF00u);
	mqttsn_link_rx_mark(&rx, UINT64_MAX - 2);
	assert_true(mqttsn_link_rx_expand(&rx, 0xFFFF, 16) == UINT64_MAX);
	assert_true(mqttsn_link_rx_expand(&rx, 0x0001, 16) == UINT64_MAX - 0xFFFEu);
}

static void test_tx_reserve(void **state)
{
	struct mqttsn_link_tx tx;
	uint64_t c = 0, mark;

	(void)state;
	mqttsn_link_tx_init(&tx, 0);
	assert_int_equal(mqttsn_link_tx_take(&tx, &c), MQTTSN_FRAME_ERR_COUNTER);
	mark = mqttsn_link_tx_want_reserve(&tx);
	assert_true(mark == MQTTSN_LINK_RESERVE);
	mqttsn_link_tx_reserved(&tx, mark);
	for (uint64_t i = 0; i < MQTTSN_LINK_RESERVE; i++) {
		assert_true(mqttsn_link_tx_want_reserve(&tx) == 0);
		assert_int_equal(mqttsn_link_tx_take(&tx, &c), MQTTSN_OK);
		assert_true(c == i);
	}
	assert_true(mqttsn_link_tx_want_reserve(&tx) == 2 * MQTTSN_LINK_RESERVE);
	assert_int_equal(mqttsn_link_tx_take(&tx, &c), MQTTSN_FRAME_ERR_COUNTER);
	/* a restart from the persisted mark never reuses a counter */
	mqttsn_link_tx_init(&tx, mark);
	mqttsn_link_tx_reserved(&tx, mqttsn_link_tx_want_reserve(&tx));
	assert_int_equal(mqttsn_link_tx_take(&tx, &c), MQTTSN_OK);
	assert_true(c == MQTTSN_LINK_RESERVE);
}

/* ---------------------------------------------------------------- content */

static void test_content_items(void **state)
{
	static const struct {
		uint8_t buf[6];
		size_t len;
		int rc;
	} cases[] = {
		{{0x01, 0xAA}, 2, 1},
		{{0x00}, 1, MQTTSN_FRAME_ERR_MALFORMED},        /* empty item */
		{{0x02, 0xAA}, 2, MQTTSN_FRAME_ERR_MALFORMED},  /* longer than what is left */
		{{0x80}, 1, MQTTSN_FRAME_ERR_MALFORMED},        /* 2-octet length cut */
		{{0x80, 0x05, 1, 2, 3, 4}, 6, MQTTSN_FRAME_ERR_MALFORMED}, /* not the shortest form */
		{{0x80, 0x80}, 2, MQTTSN_FRAME_ERR_MALFORMED},  /* 128 declared, none there */
	};
	uint8_t big[300];
	struct mqttsn_bytes m;
	size_t pos;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pos = 0;
		assert_int_equal(mqttsn_frame_next(cases[i].buf, cases[i].len, &pos, &m), cases[i].rc);
	}
	big[0] = 0x81;
	big[1] = 0x00; /* 256 */
	memset(big + 2, 0x55, 256);
	pos = 0;
	assert_int_equal(mqttsn_frame_next(big, 258, &pos, &m), 1);
	assert_int_equal(m.len, 256);
	assert_int_equal(mqttsn_frame_next(big, 258, &pos, &m), 0);
	pos = 0;
	assert_int_equal(mqttsn_frame_next(big, 257, &pos, &m), MQTTSN_FRAME_ERR_MALFORMED);
	assert_int_equal(mqttsn_frame_item_size(127), 128);
	assert_int_equal(mqttsn_frame_item_size(128), 130);
}

static void test_builder(void **state)
{
	struct mqttsn_frame_params p = sealed(1);
	uint8_t msg[100], frame[400];
	struct mqttsn_frame_info info;
	struct mqttsn_link_rx rx;
	int rc, n, count = 0;
	struct mqttsn_bytes m;
	size_t pos = 0;

	(void)state;
	memset(msg, 0, sizeof msg);
	msg[0] = 100;
	msg[1] = 0x0c;
	mqttsn_frame_builder_init(&builder, 340);
	while ((rc = mqttsn_frame_builder_add(&builder, &ctx, &p, msg, sizeof msg)) == MQTTSN_FRAME_FITS)
		count++;
	assert_int_equal(rc, MQTTSN_FRAME_FULL);
	assert_int_equal(count, 3); /* 4 + 3 * 101 + 16 = 323; a fourth makes 424 */
	n = mqttsn_frame_builder_finish(&builder, &ctx, &p, frame, sizeof frame);
	assert_int_equal(n, 323);
	mqttsn_link_rx_init(&rx, 0);
	n = mqttsn_frame_open(&ctx, &ring, NULL, 0, &rx, MQTTSN_LINK_UP, frame, (size_t)n, out, sizeof out, &info);
	assert_int_equal(n, 303);
	while ((rc = mqttsn_frame_next(out, (size_t)n, &pos, &m)) == 1)
		assert_memory_equal(m.ptr, msg, sizeof msg);
	assert_int_equal(rc, 0);
	/* too big for an empty frame: fragment it */
	mqttsn_frame_builder_init(&builder, 100);
	assert_int_equal(mqttsn_frame_builder_add(&builder, &ctx, &p, msg, sizeof msg), MQTTSN_ERR_TOO_BIG);
}

/* ---------------------------------------------------------------- fragments */

static void test_fragments(void **state)
{
	struct mqttsn_frame_params p = sealed(50);
	uint8_t msg[700], content[400], frames[3][340];
	int flen[3];
	size_t chunk = mqttsn_frame_frag_chunk(&p, 340);
	struct mqttsn_link_rx rx;
	struct mqttsn_bytes m;
	int rc;

	(void)state;
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i ^ (i >> 8));
	assert_int_equal(chunk, 340 - 4 - 16 - 4);
	p.fragment = true;
	for (size_t i = 0; i < 3; i++) {
		int n = mqttsn_frame_frag_build(9, msg, sizeof msg, chunk, i, content, sizeof content);

		assert_true(n > 0);
		p.counter = 50 + i;
		flen[i] = mqttsn_frame_seal(&ctx, &p, content, (size_t)n, frames[i], sizeof frames[i]);
		assert_true(flen[i] > 0 && flen[i] <= 340);
	}
	assert_int_equal(mqttsn_frame_frag_build(9, msg, sizeof msg, chunk, 3, content, sizeof content),
	                 MQTTSN_ERR_INVALID);

	/* delivered out of order: 2, 0, 1 */
	mqttsn_frame_reasm_init(&reasm);
	mqttsn_link_rx_init(&rx, 0);
	{
		size_t order[3] = {2, 0, 1};

		for (size_t k = 0; k < 3; k++) {
			struct mqttsn_frame_info info;
			int n = mqttsn_frame_open(&ctx, &ring, NULL, 0, &rx, MQTTSN_LINK_UP, frames[order[k]],
			                          (size_t)flen[order[k]], out, sizeof out, &info);

			assert_true(n > 0);
			assert_true(info.fragment);
			rc = mqttsn_frame_reasm_add(&reasm, out, (size_t)n, &m);
			assert_int_equal(rc, k == 2 ? 1 : 0);
		}
	}
	assert_int_equal(m.len, sizeof msg);
	assert_memory_equal(m.ptr, msg, sizeof msg);

	/* one lost: never delivered; the slot is evicted by later messages */
	mqttsn_frame_reasm_init(&reasm);
	for (size_t i = 0; i < 2; i++) {
		int n = mqttsn_frame_frag_build(10, msg, sizeof msg, chunk, i, content, sizeof content);

		assert_int_equal(mqttsn_frame_reasm_add(&reasm, content, (size_t)n, &m), 0);
	}
	for (uint8_t id = 20; id < 20 + MQTTSN_FRAME_REASM_SLOTS; id++) {
		int n = mqttsn_frame_frag_build(id, msg, sizeof msg, chunk, 0, content, sizeof content);

		assert_int_equal(mqttsn_frame_reasm_add(&reasm, content, (size_t)n, &m), 0);
	}
	assert_true(reasm.evicted == 1);

	/* inconsistent: a fragment past the last index */
	mqttsn_frame_reasm_init(&reasm);
	{
		int n = mqttsn_frame_frag_build(1, msg, sizeof msg, chunk, 2, content, sizeof content);

		assert_int_equal(mqttsn_frame_reasm_add(&reasm, content, (size_t)n, &m), 0);
		content[1] = 3;
		assert_int_equal(mqttsn_frame_reasm_add(&reasm, content, (size_t)n, &m), MQTTSN_FRAME_ERR_FRAGMENT);
		/* gaps and overlaps do not pass for a message */
		n = mqttsn_frame_frag_build(1, msg, sizeof msg, chunk, 0, content, sizeof content);
		assert_int_equal(mqttsn_frame_reasm_add(&reasm, content, (size_t)n, &m), 0);
		content[0] = 1;
		content[1] = 0x81; /* index 1, last, at offset 0 */
		assert_int_equal(mqttsn_frame_reasm_add(&reasm, content, (size_t)n, &m), MQTTSN_FRAME_ERR_FRAGMENT);
		assert_int_equal(mqttsn_frame_reasm_add(&reasm, content, 4, &m), MQTTSN_FRAME_ERR_MALFORMED);
	}
}

/* ---------------------------------------------------------------- bomb */

static void test_bomb(void **state)
{
	static uint8_t zeros[1u << 20];
	struct mqttsn_frame_dict d = {1, NULL, 0};
	uint8_t frame[4096];
	struct mqttsn_frame_info info;
	z_stream zs;
	int n;

	(void)state;
	memset(&zs, 0, sizeof zs);
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	frame[0] = 0x00;
	frame[1] = 0x50; /* version 1, compressed */
	frame[2] = 1;
	zs.next_in = zeros;
	zs.avail_in = sizeof zeros;
	zs.next_out = frame + 3;
	zs.avail_out = sizeof frame - 3;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	n = (int)zs.total_out + 3;
	(void)deflateEnd(&zs);
	assert_true(n < 2000); /* a megabyte in about a kilobyte */
	assert_int_equal(mqttsn_frame_open(&ctx, NULL, &d, 1, NULL, 0, frame, (size_t)n, out, sizeof out, &info),
	                 MQTTSN_FRAME_ERR_BOMB);
	/* corrupt and cut deflate bodies */
	assert_int_equal(mqttsn_frame_open(&ctx, NULL, &d, 1, NULL, 0, frame, 10, out, sizeof out, &info),
	                 MQTTSN_FRAME_ERR_INFLATE);
	frame[3] = 0xFF;
	frame[4] = 0xFF;
	assert_true(mqttsn_frame_open(&ctx, NULL, &d, 1, NULL, 0, frame, (size_t)n, out, sizeof out, &info) < 0);
}

/* ---------------------------------------------------------------- dictionaries */

static void test_dict_file(void **state)
{
	struct mqttsn_frame_dict d = {9, (const uint8_t *)dict_c_text, sizeof dict_c_text - 1}, e;
	uint8_t file[200];
	int n;

	(void)state;
	n = mqttsn_frame_dict_encode(&d, file, sizeof file);
	assert_int_equal(n, (int)(d.len + MQTTSN_FRAME_DICT_FILE_OVERHEAD));
	assert_memory_equal(file, "SNDI\x01\x09\x00\x00\x00\x4d", 10);
	assert_int_equal(mqttsn_frame_dict_decode(file, (size_t)n, &e), n);
	assert_int_equal(e.id, 9);
	assert_int_equal(e.len, d.len);
	assert_memory_equal(e.ptr, d.ptr, d.len);
	for (size_t len = 0; len < (size_t)n; len++)
		assert_true(mqttsn_frame_dict_decode(file, len, &e) < 0);
	for (size_t bit = 0; bit < (size_t)n * 8; bit++) {
		file[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_true(mqttsn_frame_dict_decode(file, (size_t)n, &e) < 0);
		file[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(mqttsn_frame_dict_encode(&d, file, 20), MQTTSN_ERR_NO_SPACE);
}

static void test_dict_build(void **state)
{
	struct mqttsn_bytes s[4] = {
		{(const uint8_t *)"aaaa", 4}, {(const uint8_t *)"bbb", 3},
		{(const uint8_t *)"aaaa", 4}, {(const uint8_t *)"cc", 2},
	};
	uint8_t dict[16];

	(void)state;
	assert_int_equal(mqttsn_frame_dict_build(s, 4, dict, sizeof dict), 9);
	assert_memory_equal(dict, "bbbaaaacc", 9);
	assert_int_equal(mqttsn_frame_dict_build(s, 4, dict, 6), 6);
	assert_memory_equal(dict, "aaaacc", 6);
	assert_int_equal(mqttsn_frame_dict_build(s, 4, dict, 1), 0);
}

/* ---------------------------------------------------------------- weather */

#define WEATHER_MAX 2000

static size_t weather_publish(const char *line, uint16_t msg_id, uint8_t *msg, size_t cap)
{
	char date[32], pres[16], temp[16], wind[16];
	int n;

	if (sscanf(line, "%31[^,],%15[^,],%15[^,],%15[^,\r\n]", date, pres, temp, wind) != 4)
		return 0;
	n = snprintf((char *)msg + 7, cap - 7, "{\"ts\":\"%s\",\"pressure_hpa\":%s,\"temp_c\":%s,\"wind_ms\":%s}", date,
	             pres, temp, wind);
	if (n <= 0 || (size_t)n >= cap - 7)
		return 0;
	msg[0] = (uint8_t)(n + 7);
	msg[1] = 0x0c;
	msg[2] = 0x20; /* QoS 1, normal topic id */
	msg[3] = 0x00;
	msg[4] = 0x01;
	msg[5] = (uint8_t)(msg_id >> 8);
	msg[6] = (uint8_t)msg_id;
	return (size_t)n + 7;
}

static void test_weather_compression(void **state)
{
	static uint8_t msgs[WEATHER_MAX][128];
	static struct mqttsn_bytes samples[WEATHER_MAX];
	static uint8_t dict_buf[MQTTSN_FRAME_DICT_MAX];
	const char *path = getenv("SNBRIDGE_WEATHER_CSV");
	struct mqttsn_frame_dict d;
	struct mqttsn_frame_params p = sealed(7);
	struct mqttsn_frame_info info;
	struct mqttsn_link_rx rx;
	uint8_t frame[1200];
	char line[256];
	size_t n = 0, raw = 0, dlen;
	int fl, plain_len, rc, count = 0;
	FILE *f;

	(void)state;
	/* tests/run.sh runs the tests from the project's root, beside ../shared. */
	if (path == NULL)
		path = "../shared/data/telemetry/seattle-weather-hourly-normals.csv";
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("the weather corpus %s is missing (the shared data beside the project; "
		         "or set SNBRIDGE_WEATHER_CSV)", path);
	if (fgets(line, sizeof line, f) == NULL) /* header */
		line[0] = 0;
	while (n < WEATHER_MAX && fgets(line, sizeof line, f) != NULL) {
		samples[n].len = weather_publish(line, (uint16_t)(n + 1), msgs[n], sizeof msgs[n]);
		samples[n].ptr = msgs[n];
		if (samples[n].len > 0)
			n++;
	}
	fclose(f);
	assert_true(n >= 1010);
	/* dictionary: records 0..999; frame: the 10 records after them */
	dlen = mqttsn_frame_dict_build(samples, 1000, dict_buf, sizeof dict_buf);
	d.id = 1;
	d.ptr = dict_buf;
	d.len = dlen;
	p.dict = &d;
	mqttsn_frame_builder_init(&builder, sizeof frame);
	for (size_t i = 1000; i < 1010; i++) {
		assert_int_equal(mqttsn_frame_builder_add(&builder, &ctx, &p, samples[i].ptr, samples[i].len),
		                 MQTTSN_FRAME_FITS);
		raw += samples[i].len;
	}
	fl = mqttsn_frame_builder_finish(&builder, &ctx, &p, frame, sizeof frame);
	assert_true(fl > 0);
	p.dict = NULL;
	plain_len = mqttsn_frame_seal(&ctx, &p, builder.content, builder.len, out, sizeof out);
	print_message("weather: 10 PUBLISH of %.1f B average: %.1f B/message sealed+deflated with a %zu B "
	              "dictionary (frame %d B incl. 20-21 B overhead), %.1f B/message sealed plain\n",
	              (double)raw / 10.0, (double)fl / 10.0, dlen, fl, (double)plain_len / 10.0);
	assert_true(fl < plain_len / 3);
	mqttsn_link_rx_init(&rx, 0);
	rc = mqttsn_frame_open(&ctx, &ring, &d, 1, &rx, MQTTSN_LINK_UP, frame, (size_t)fl, out, sizeof out, &info);
	assert_int_equal(rc, (int)builder.len);
	{
		size_t pos = 0, i = 1000;
		struct mqttsn_bytes m;

		while (mqttsn_frame_next(out, (size_t)rc, &pos, &m) == 1) {
			assert_int_equal(m.len, samples[i].len);
			assert_memory_equal(m.ptr, samples[i].ptr, m.len);
			i++;
			count++;
		}
	}
	assert_int_equal(count, 10);

	/* an Iridium SBD frame (340 B MO) takes how many records? */
	mqttsn_frame_builder_init(&builder, 340);
	p.dict = &d;
	count = 0;
	for (size_t i = 1010; i < n; i++) {
		rc = mqttsn_frame_builder_add(&builder, &ctx, &p, samples[i].ptr, samples[i].len);
		if (rc != MQTTSN_FRAME_FITS)
			break;
		count++;
	}
	fl = mqttsn_frame_builder_finish(&builder, &ctx, &p, frame, 340);
	assert_true(fl > 0 && fl <= 340);
	print_message("weather: %d records in one 340 B Iridium SBD frame (%d B)\n", count, fl);
	assert_true(count > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_plain),
		cmocka_unit_test(test_vector_sealed),
		cmocka_unit_test(test_vector_compressed),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_incompressible_sent_plain),
		cmocka_unit_test(test_every_bit_flip),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_keys_and_header),
		cmocka_unit_test(test_replay_window),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_tx_reserve),
		cmocka_unit_test(test_content_items),
		cmocka_unit_test(test_builder),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_bomb),
		cmocka_unit_test(test_dict_file),
		cmocka_unit_test(test_dict_build),
		cmocka_unit_test(test_weather_compression),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
