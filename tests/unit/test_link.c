/*
 * test_link.c - the framed link session (codec/link.h), in virtual time:
 * a station (UP) and a bridge (DOWN) hand frames to each other through a
 * lossy, reordering, tampering "wire" made of plain arrays. Batching to the
 * MTU, the hold time, fragments, refused frames counted while the session
 * goes on, counter reservation across restarts, the queue bound,
 * compression never needed for correctness, probe, statistics, and the
 * FRAMES.md vectors produced and opened through the link.
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

#include "codec/link.h"

static struct mqttsn_frame_ctx ctx;
static uint8_t content[MQTTSN_FRAME_CONTENT_MAX];

/* ---------------------------------------------------------------- fixtures */

static const uint8_t content_ab[15] = {0x02, 0x02, 0x16, 0x0b, 0x0b, 0x0c, 0x00, 0x00,
                                       0x01, 0x00, 0x00, 0x32, 0x31, 0x2e, 0x35};
static const uint8_t vec_a[17] = {0x00, 0x40, 0x02, 0x02, 0x16, 0x0b, 0x0b, 0x0c, 0x00,
                                  0x00, 0x01, 0x00, 0x00, 0x32, 0x31, 0x2e, 0x35};
static const uint8_t vec_b[35] = {0x00, 0x61, 0x23, 0x45, 0xab, 0x75, 0x93, 0xc4, 0x6d, 0x90, 0xa7, 0x95,
                                  0xf0, 0x27, 0x20, 0x28, 0xf8, 0x1c, 0x15, 0x9a, 0x79, 0x54, 0xc0, 0x7b,
                                  0xc9, 0x82, 0x6c, 0xef, 0x57, 0xfa, 0xe9, 0x63, 0x02, 0xf0, 0x91};
static const uint8_t vec_c[48] = {0x00, 0x76, 0x07, 0x00, 0x01, 0x23, 0x46, 0xc9, 0x0e, 0xd5, 0x21, 0x35,
                                  0x67, 0x3b, 0x28, 0xac, 0xf1, 0xb7, 0xcf, 0x05, 0x28, 0xfb, 0x06, 0xc9,
                                  0x93, 0xc8, 0xac, 0xd1, 0x1a, 0x81, 0x44, 0x9b, 0x21, 0xe1, 0x3c, 0xce,
                                  0x92, 0x3e, 0x2b, 0x2d, 0xd8, 0x70, 0x74, 0xbc, 0xe6, 0x0c, 0x75, 0x36};
static const char dict_c_text[] =
	"{\"ts\":\"2010-01-01T00:00:00\",\"pressure_hpa\":1016.6,\"temp_c\":4.0,\"wind_ms\":3.8}";

static struct mqttsn_link_keyring ring; /* key 00..1f under ids 0, 1, 2 */
static struct mqttsn_link_keyring other; /* another key under the same ids */

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	memset(&ring, 0, sizeof ring);
	memset(&other, 0, sizeof other);
	for (size_t k = 0; k < 3; k++) {
		ring.set[k] = other.set[k] = true;
		for (size_t i = 0; i < MQTTSN_FRAME_KEY_LEN; i++) {
			ring.key[k][i] = (uint8_t)i;
			other.key[k][i] = (uint8_t)(0xA5 ^ i);
		}
	}
	return 0;
}

static struct mqttsn_link_conf make_conf(uint8_t direction, size_t mtu, uint32_t hold_ms, bool encrypt)
{
	struct mqttsn_link_conf c;

	memset(&c, 0, sizeof c);
	c.mtu = mtu;
	c.hold_ms = hold_ms;
	c.direction = direction;
	c.encrypt = encrypt;
	c.key_id = 1;
	c.keys = ring;
	return c;
}

/* A link whose counters are reserved already (mark persisted). */
static struct mqttsn_link *ready_link(const struct mqttsn_link_conf *c)
{
	struct mqttsn_link *l = mqttsn_link_new(c, 0, 0);

	assert_non_null(l);
	if (mqttsn_link_tx_want(l) != 0)
		mqttsn_link_tx_persisted(l, mqttsn_link_tx_want(l));
	return l;
}

static uint32_t rng_state = 12345u;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* A QoS 1 PUBLISH of len octets in all (3-octet header from 256), message id id. */
static size_t publish(uint8_t *buf, size_t len, uint16_t id)
{
	size_t h = len < 256 ? 1u : 3u;

	assert_true(len >= h + 6);
	if (h == 1) {
		buf[0] = (uint8_t)len;
	} else {
		buf[0] = 0x01;
		buf[1] = (uint8_t)(len >> 8);
		buf[2] = (uint8_t)len;
	}
	buf[h] = 0x0c;
	buf[h + 1] = 0x20;
	buf[h + 2] = 0x00;
	buf[h + 3] = 0x01;
	buf[h + 4] = (uint8_t)(id >> 8);
	buf[h + 5] = (uint8_t)id;
	for (size_t i = h + 6; i < len; i++)
		buf[i] = (uint8_t)(rnd() & 0xFF);
	return len;
}

/* ---------------------------------------------------------------- the wire */

#define WIRE_MAX 4096
static struct {
	uint8_t buf[MQTTSN_FRAME_MAX];
	size_t len;
} wire[WIRE_MAX];
static size_t nwire;

/* Every frame due at now, with counters persisted on demand. Returns the count. */
static size_t pump(struct mqttsn_link *l, uint64_t now)
{
	size_t got = 0;

	for (int guard = 0; guard < WIRE_MAX; guard++) {
		int n = mqttsn_link_next_frame(l, &ctx, now, wire[nwire].buf, sizeof wire[nwire].buf);

		if (n == MQTTSN_FRAME_ERR_COUNTER) {
			uint64_t want = mqttsn_link_tx_want(l);

			assert_true(want != 0);
			mqttsn_link_tx_persisted(l, want);
			continue;
		}
		assert_true(n >= 0);
		if (n == 0)
			return got;
		assert_true((size_t)n <= mqttsn_link_conf(l)->mtu);
		assert_true(nwire < WIRE_MAX - 1);
		wire[nwire++].len = (size_t)n;
		got++;
	}
	fail_msg("pump did not end");
	return got;
}

/* What a receiver delivered, in order. */
#define GOT_MAX 4096
static struct {
	uint8_t *msg[GOT_MAX];
	size_t len[GOT_MAX];
	size_t n;
} got;

static void got_reset(void)
{
	for (size_t i = 0; i < got.n; i++)
		free(got.msg[i]);
	got.n = 0;
}

static void on_msg(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg;
	assert_true(got.n < GOT_MAX);
	got.msg[got.n] = malloc(len);
	assert_non_null(got.msg[got.n]);
	memcpy(got.msg[got.n], msg, len);
	got.len[got.n++] = len;
}

/* Open and deliver one frame; returns the open's result (or deliver's error). */
static int take(struct mqttsn_link *l, const uint8_t *frame, size_t len)
{
	struct mqttsn_frame_info info;
	int n = mqttsn_link_open(l, &ctx, frame, len, content, sizeof content, &info);

	if (n < 0)
		return n;
	int d = mqttsn_link_deliver(l, content, (size_t)n, &info, on_msg, NULL);
	return d < 0 ? d : n;
}

static void wire_reset(void)
{
	nwire = 0;
	got_reset();
}

/* ---------------------------------------------------------------- configuration */

static void test_conf_refused(void **state)
{
	struct mqttsn_link_conf c = make_conf(MQTTSN_LINK_UP, 340, 0, true);
	struct mqttsn_link *l;

	(void)state;
	c.mtu = 26; /* a wide fragment with one octet needs 27 */
	assert_null(mqttsn_link_new(&c, 0, 0));
	c.mtu = 27;
	l = mqttsn_link_new(&c, 0, 0);
	assert_non_null(l);
	mqttsn_link_free(l);
	c.mtu = MQTTSN_FRAME_MAX + 1;
	assert_null(mqttsn_link_new(&c, 0, 0));
	c.mtu = 340;
	c.key_id = 3; /* not in the ring */
	assert_null(mqttsn_link_new(&c, 0, 0));
	c.encrypt = false; /* plain frames need no key */
	l = mqttsn_link_new(&c, 0, 0);
	assert_non_null(l);
	assert_int_equal(mqttsn_link_conf(l)->queue_max, MQTTSN_LINK_QUEUE_DEFAULT);
	assert_true(mqttsn_link_tx_want(l) == 0); /* no counter to persist */
	mqttsn_link_free(l);
	c.ndicts = 1; /* dicts NULL */
	assert_null(mqttsn_link_new(&c, 0, 0));
	mqttsn_link_free(NULL);
}

/* ---------------------------------------------------------------- batching */

static void batching(size_t mtu, bool encrypt)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, mtu, 1000, encrypt);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 1200, 0, encrypt);
	struct mqttsn_link *st = ready_link(&cs), *br = ready_link(&cb);
	static uint8_t sent[200][64];
	size_t over = encrypt ? 20u : 2u;
	uint64_t now = 5000;

	wire_reset();
	for (size_t i = 0; i < 200; i++) {
		size_t n = publish(sent[i], 20 + i % 40, (uint16_t)i);

		assert_int_equal(mqttsn_link_send(st, &ctx, sent[i], n, now), MQTTSN_OK);
		(void)pump(st, now);
		now += 1;
	}
	/* full frames left at once; the rest waits for the hold */
	assert_true(nwire > 0);
	assert_true(mqttsn_link_queued_msgs(st) > 0);
	assert_true(mqttsn_link_deadline(st) > now);
	(void)pump(st, mqttsn_link_deadline(st));
	assert_int_equal(mqttsn_link_queued_msgs(st), 0);
	assert_int_equal(mqttsn_link_queued_bytes(st), 0);
	assert_true(mqttsn_link_deadline(st) == UINT64_MAX);
	for (size_t f = 0; f < nwire; f++) {
		assert_true(wire[f].len <= mtu);
		assert_int_equal(take(br, wire[f].buf, wire[f].len), (int)wire[f].len - (int)over - (f == 0 && encrypt ? 2 : 0));
	}
	/* every frame but the last was full: the next message would not have fit */
	{
		size_t idx = 0;

		for (size_t f = 0; f < nwire; f++) {
			size_t used = 0, clen = wire[f].len - over - (f == 0 && encrypt ? 2u : 0u);

			for (int guard = 0; guard < 200 && used < clen; guard++)
				used += mqttsn_frame_item_size(got.len[idx++]);
			assert_int_equal(used, clen);
			if (f + 1 < nwire)
				assert_true(wire[f].len + mqttsn_frame_item_size(got.len[idx]) > mtu);
		}
		assert_int_equal(idx, 200);
	}
	assert_int_equal(got.n, 200);
	for (size_t i = 0; i < 200; i++) {
		assert_int_equal(got.len[i], 20 + i % 40);
		assert_memory_equal(got.msg[i], sent[i], got.len[i]);
	}
	assert_true(mqttsn_link_stats(st)->frames_out == nwire);
	assert_true(mqttsn_link_stats(st)->msgs_out == 200);
	assert_true(mqttsn_link_stats(br)->frames_in == nwire);
	assert_true(mqttsn_link_stats(br)->msgs_in == 200);
	assert_true(mqttsn_link_stats(st)->compressed_out == 0);
	print_message("batching: 200 messages of 20..59 B in %zu frames at mtu %zu (%s)\n", nwire, mtu,
	              encrypt ? "sealed" : "plain");
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

static void test_batching_340(void **state)
{
	(void)state;
	batching(340, true);
	batching(340, false);
}

static void test_batching_1200(void **state)
{
	(void)state;
	batching(1200, true);
	batching(1200, false);
}

/* ---------------------------------------------------------------- hold */

static void test_hold(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 200, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 340, 0, true);
	struct mqttsn_link *st = ready_link(&cs), *br = ready_link(&cb);
	uint8_t m[40];

	(void)state;
	wire_reset();
	assert_true(mqttsn_link_deadline(st) == UINT64_MAX);
	assert_int_equal(pump(st, 1000), 0);
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 30, 1), 1000), MQTTSN_OK);
	assert_true(mqttsn_link_deadline(st) == 1200);
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 30, 2), 1100), MQTTSN_OK);
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 30, 3), 1199), MQTTSN_OK);
	assert_true(mqttsn_link_deadline(st) == 1200); /* from the oldest */
	assert_int_equal(pump(st, 1000), 0);
	assert_int_equal(pump(st, 1199), 0);
	assert_int_equal(pump(st, 1200), 1);
	assert_true(take(br, wire[0].buf, wire[0].len) > 0);
	assert_int_equal(got.n, 3);
	assert_true(mqttsn_link_deadline(st) == UINT64_MAX);
	/* a message after the frame left starts its own hold */
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 30, 4), 1300), MQTTSN_OK);
	assert_true(mqttsn_link_deadline(st) == 1500);
	assert_int_equal(pump(st, 1499), 0);
	/* flush: at once */
	mqttsn_link_flush(st);
	assert_true(mqttsn_link_deadline(st) <= 1300);
	assert_int_equal(pump(st, 1300), 1);
	/* a flush covers what was queued before it, not what comes after */
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 30, 5), 1400), MQTTSN_OK);
	assert_true(mqttsn_link_deadline(st) == 1600);
	mqttsn_link_free(st);

	/* hold 0: every message at once */
	cs.hold_ms = 0;
	st = ready_link(&cs);
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 30, 6), 7), MQTTSN_OK);
	assert_true(mqttsn_link_deadline(st) <= 7);
	assert_int_equal(pump(st, 7), 1);
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

/* The PUBLISH flow waits for company; a control message (here PINGREQ and
 * a REGISTER) goes at once, taking what was queued before it along. */
static void test_control_not_held(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 200, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 340, 0, true);
	struct mqttsn_link *st = ready_link(&cs), *br = ready_link(&cb);
	static const uint8_t pingreq[] = { 0x02, MQTTSN_PINGREQ };
	static const uint8_t reg[] = { 0x0a, MQTTSN_REGISTER, 0x00, 0x00, 0x00, 0x07, 'a', '/', 'b', 'c' };
	uint8_t m[40];

	(void)state;
	wire_reset();
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 30, 1), 1000), MQTTSN_OK);
	assert_true(mqttsn_link_deadline(st) == 1200);
	assert_int_equal(mqttsn_link_send(st, &ctx, pingreq, sizeof pingreq, 1010), MQTTSN_OK);
	assert_true(mqttsn_link_deadline(st) <= 1010);
	assert_int_equal(pump(st, 1010), 1);
	assert_true(take(br, wire[0].buf, wire[0].len) > 0);
	assert_int_equal(got.n, 2); /* the PUBLISH and the PINGREQ, in order */
	assert_int_equal(got.len[1], sizeof pingreq);
	/* alone too */
	assert_int_equal(mqttsn_link_send(st, &ctx, reg, sizeof reg, 2000), MQTTSN_OK);
	assert_int_equal(pump(st, 2000), 1);
	/* and a PUBLISH after it is held again */
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 30, 2), 2001), MQTTSN_OK);
	assert_true(mqttsn_link_deadline(st) == 2201);
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

static void test_full_frame_at_once(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 60000, true);
	struct mqttsn_link *st = ready_link(&cs);
	uint8_t m[100];
	size_t i;

	(void)state;
	wire_reset();
	for (i = 0; i < 10; i++) {
		assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 100, (uint16_t)i), 10), MQTTSN_OK);
		if (mqttsn_link_deadline(st) <= 10)
			break;
	}
	/* 3 items of 101 in 340 - 22 (first frame: wide counter); the 4th fills it */
	assert_int_equal(i, 3);
	assert_int_equal(mqttsn_link_queued_msgs(st), 4);
	assert_int_equal(pump(st, 10), 1);
	assert_int_equal(wire[0].len, 22 + 3 * 101);
	assert_int_equal(mqttsn_link_queued_msgs(st), 1);
	assert_true(mqttsn_link_deadline(st) == 60010); /* the 4th holds from its own arrival */
	mqttsn_link_free(st);
}

/* ---------------------------------------------------------------- fragments */

static void test_fragments(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 100, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 270, 0, true);
	struct mqttsn_link *st = ready_link(&cs), *br = ready_link(&cb);
	static uint8_t big[713], small[30];

	(void)state;
	wire_reset();
	publish(big, sizeof big, 7);
	publish(small, sizeof small, 8);
	/* a small one first: the big one waits behind its frame */
	assert_int_equal(mqttsn_link_send(st, &ctx, small, sizeof small, 0), MQTTSN_OK);
	assert_int_equal(mqttsn_link_send(st, &ctx, big, sizeof big, 1), MQTTSN_OK);
	assert_true(mqttsn_link_deadline(st) == 0); /* the small one's frame is full now */
	assert_int_equal(pump(st, 1), 4);             /* it, then 3 fragments */
	assert_int_equal(mqttsn_link_queued_msgs(st), 0);
	for (size_t f = 1; f < 4; f++)
		assert_true(wire[f].buf[1] & MQTTSN_FRAME_F_FRAG);
	assert_false(wire[0].buf[1] & MQTTSN_FRAME_F_FRAG);
	assert_int_equal(take(br, wire[0].buf, wire[0].len) > 0, 1);
	assert_int_equal(got.n, 1);
	assert_true(take(br, wire[1].buf, wire[1].len) > 0);
	assert_true(take(br, wire[2].buf, wire[2].len) > 0);
	assert_int_equal(got.n, 1);
	assert_true(take(br, wire[3].buf, wire[3].len) > 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.len[1], sizeof big);
	assert_memory_equal(got.msg[1], big, sizeof big);
	assert_true(mqttsn_link_stats(st)->frags_out == 3);
	assert_true(mqttsn_link_stats(st)->msgs_out == 2);
	assert_true(mqttsn_link_stats(br)->frags_in == 3);
	assert_true(mqttsn_link_stats(br)->msgs_in == 2);

	/* narrow counters now: the FRAMES.md chunk of 316, still 3 fragments */
	nwire = 0;
	assert_int_equal(mqttsn_link_send(st, &ctx, big, sizeof big, 2), MQTTSN_OK);
	assert_int_equal(pump(st, 2), 3);
	assert_int_equal(wire[0].len, 340);
	assert_int_equal(wire[1].len, 340);
	assert_int_equal(wire[2].len, 713 - 2 * 316 + 24);
	/* fragment 2 lost: nothing delivered */
	assert_true(take(br, wire[0].buf, wire[0].len) > 0);
	assert_true(take(br, wire[2].buf, wire[2].len) > 0);
	assert_int_equal(got.n, 2);
	/* MQTT-SN retransmits the whole message: it gets through, once */
	nwire = 0;
	assert_int_equal(mqttsn_link_send(st, &ctx, big, sizeof big, 3), MQTTSN_OK);
	assert_int_equal(pump(st, 3), 3);
	for (size_t f = 0; f < 3; f++)
		assert_true(take(br, wire[f].buf, wire[f].len) > 0);
	assert_int_equal(got.n, 3);
	assert_memory_equal(got.msg[2], big, sizeof big);
	/* reordered fragments reassemble too */
	nwire = 0;
	assert_int_equal(mqttsn_link_send(st, &ctx, big, sizeof big, 4), MQTTSN_OK);
	assert_int_equal(pump(st, 4), 3);
	assert_true(take(br, wire[2].buf, wire[2].len) > 0);
	assert_true(take(br, wire[0].buf, wire[0].len) > 0);
	assert_true(take(br, wire[1].buf, wire[1].len) > 0);
	assert_int_equal(got.n, 4);
	assert_memory_equal(got.msg[3], big, sizeof big);
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

static void test_fragments_counter_midway(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 0, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 340, 0, true);
	struct mqttsn_link *st = mqttsn_link_new(&cs, 0, 0), *br = ready_link(&cb);
	static uint8_t big[900], frame[340];
	int n;

	(void)state;
	wire_reset();
	publish(big, sizeof big, 9);
	mqttsn_link_tx_persisted(st, 2); /* two counters only */
	assert_int_equal(mqttsn_link_send(st, &ctx, big, sizeof big, 0), MQTTSN_OK);
	assert_true(mqttsn_link_next_frame(st, &ctx, 0, frame, sizeof frame) > 0);
	assert_true(take(br, frame, 340) > 0);
	n = mqttsn_link_next_frame(st, &ctx, 0, frame, sizeof frame);
	assert_true(n > 0);
	assert_true(take(br, frame, (size_t)n) > 0);
	assert_int_equal(mqttsn_link_next_frame(st, &ctx, 0, frame, sizeof frame), MQTTSN_FRAME_ERR_COUNTER);
	assert_int_equal(mqttsn_link_next_frame(st, &ctx, 0, frame, sizeof frame), MQTTSN_FRAME_ERR_COUNTER);
	assert_true(mqttsn_link_tx_want(st) == 2 + MQTTSN_LINK_RESERVE);
	mqttsn_link_tx_persisted(st, mqttsn_link_tx_want(st));
	assert_int_equal(pump(st, 0), 1);
	assert_true(take(br, wire[0].buf, wire[0].len) > 0);
	assert_int_equal(got.n, 1);
	assert_memory_equal(got.msg[0], big, sizeof big);
	/* a cap below the mtu is refused, nothing lost */
	assert_int_equal(mqttsn_link_send(st, &ctx, big, 30, 0), MQTTSN_OK);
	assert_int_equal(mqttsn_link_next_frame(st, &ctx, 0, frame, 100), MQTTSN_ERR_NO_SPACE);
	assert_int_equal(mqttsn_link_queued_msgs(st), 1);
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

static void test_too_big(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 64, 0, true);
	struct mqttsn_link *st = ready_link(&cs);
	static uint8_t huge[70000];

	(void)state;
	memset(huge, 0x55, sizeof huge);
	/* over the largest MQTT-SN message */
	assert_int_equal(mqttsn_link_send(st, &ctx, huge, MQTTSN_FRAME_REASM_MSG_MAX + 1, 0), MQTTSN_ERR_TOO_BIG);
	/* more than 128 fragments of 64 - 26 octets */
	assert_int_equal(mqttsn_link_send(st, &ctx, huge, 128 * 38 + 1, 0), MQTTSN_ERR_TOO_BIG);
	assert_true(mqttsn_link_stats(st)->drop_too_big == 2);
	assert_int_equal(mqttsn_link_queued_msgs(st), 0);
	/* exactly 128 fragments is fine */
	wire_reset();
	assert_int_equal(mqttsn_link_send(st, &ctx, huge, 128 * 38, 0), MQTTSN_OK);
	assert_int_equal(pump(st, 0), 128);
	assert_int_equal(mqttsn_link_send(st, &ctx, huge, 0, 0), MQTTSN_ERR_INVALID);
	mqttsn_link_free(st);
}

/* ---------------------------------------------------------------- refused frames */

static void test_refused_frames(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 0, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 340, 0, true);
	struct mqttsn_link *st = ready_link(&cs), *br = ready_link(&cb);
	const struct mqttsn_link_stats *s = mqttsn_link_stats(br);
	uint8_t m[50], bad[MQTTSN_FRAME_MAX];
	size_t delivered = 0;
	uint64_t old, replayed;

	(void)state;
	wire_reset();
	for (uint16_t i = 0; i < 80; i++) {
		assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 50, i), i), MQTTSN_OK);
		assert_int_equal(pump(st, i), 1);
	}
	/* 0 in order, 1 lost, 3 before 2 (reordered), 3 again (duplicated) */
	assert_true(take(br, wire[0].buf, wire[0].len) > 0);
	assert_true(take(br, wire[3].buf, wire[3].len) > 0);
	assert_true(take(br, wire[2].buf, wire[2].len) > 0);
	assert_int_equal(take(br, wire[3].buf, wire[3].len), MQTTSN_FRAME_ERR_REPLAYED);
	assert_true(s->bad_replayed == 1);
	delivered = 3;
	assert_int_equal(got.n, delivered);
	assert_int_equal(got.msg[1][6], 3);
	/* tampered: every bit of frame 4 flipped in turn (a flipped counter may read as replayed or too old) */
	for (size_t bit = 0; bit < wire[4].len * 8; bit++) {
		memcpy(bad, wire[4].buf, wire[4].len);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_true(take(br, bad, wire[4].len) < 0);
	}
	/* truncated: every length short of the whole */
	for (size_t len = 0; len < wire[4].len; len++)
		assert_true(take(br, wire[4].buf, len) < 0);
	assert_int_equal(got.n, delivered);
	assert_true(s->bad_auth > 0 && s->bad_malformed > 0);
	/* and then frame 4 itself is fine: the window moved only for good frames */
	assert_true(take(br, wire[4].buf, wire[4].len) > 0);
	delivered++;
	/* wrong key */
	{
		struct mqttsn_link_conf co = cb;
		struct mqttsn_link *br2;

		co.keys = other;
		br2 = ready_link(&co);
		assert_int_equal(take(br2, wire[5].buf, wire[5].len), MQTTSN_FRAME_ERR_AUTH);
		assert_true(mqttsn_link_stats(br2)->bad_auth == 1);
		co.keys.set[1] = false;
		co.key_id = 0;
		mqttsn_link_free(br2);
		br2 = ready_link(&co);
		assert_int_equal(take(br2, wire[5].buf, wire[5].len), MQTTSN_FRAME_ERR_KEY);
		assert_true(mqttsn_link_stats(br2)->bad_key == 1);
		/* a plain frame on an encrypted link: stripping the seal must not pass */
		assert_int_equal(take(br2, vec_a, sizeof vec_a), MQTTSN_FRAME_ERR_AUTH);
		mqttsn_link_free(br2);
	}
	/* the station's own frames come back: wrong direction, refused */
	{
		struct mqttsn_link *st2 = ready_link(&cs);

		assert_int_equal(take(st2, wire[5].buf, wire[5].len), MQTTSN_FRAME_ERR_AUTH);
		mqttsn_link_free(st2);
	}
	/* the rest, then the first ones again: too old */
	old = s->bad_too_old;
	replayed = s->bad_replayed;
	for (size_t f = 5; f < 80; f++) {
		assert_true(take(br, wire[f].buf, wire[f].len) > 0);
		delivered++;
	}
	assert_int_equal(take(br, wire[1].buf, wire[1].len), MQTTSN_FRAME_ERR_TOO_OLD);
	assert_int_equal(take(br, wire[79].buf, wire[79].len), MQTTSN_FRAME_ERR_REPLAYED);
	assert_true(s->bad_too_old == old + 1 && s->bad_replayed == replayed + 1);
	/* not a frame at all, an unknown version */
	assert_int_equal(take(br, m, 50), MQTTSN_FRAME_ERR_MALFORMED);
	bad[0] = 0;
	bad[1] = 0x80;
	old = s->bad_version;
	assert_int_equal(take(br, bad, 30), MQTTSN_FRAME_ERR_VERSION);
	assert_true(s->bad_version == old + 1);
	/* the session goes on */
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 50, 99), 100), MQTTSN_OK);
	nwire = 0;
	assert_int_equal(pump(st, 100), 1);
	assert_true(take(br, wire[0].buf, wire[0].len) > 0);
	delivered++;
	assert_int_equal(got.n, delivered);
	assert_true(s->frames_in == delivered);
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

static void test_malformed_content(void **state)
{
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 340, 0, false);
	struct mqttsn_link *br = ready_link(&cb);
	struct mqttsn_frame_info info;
	const uint8_t items[] = {0x02, 0x02, 0x16, 0x05, 0x01}; /* the second item runs past the end */
	const uint8_t frag[] = {0x01, 0x80, 0x00, 0x00};        /* a fragment without data */

	(void)state;
	got_reset();
	memset(&info, 0, sizeof info);
	assert_int_equal(mqttsn_link_deliver(br, items, sizeof items, &info, on_msg, NULL), MQTTSN_FRAME_ERR_MALFORMED);
	assert_int_equal(got.n, 1); /* the one before the fault */
	assert_int_equal(mqttsn_link_deliver(br, items, 0, &info, on_msg, NULL), 0);
	info.fragment = true;
	assert_int_equal(mqttsn_link_deliver(br, frag, sizeof frag, &info, on_msg, NULL), MQTTSN_FRAME_ERR_MALFORMED);
	assert_true(mqttsn_link_stats(br)->bad_malformed == 2);
	mqttsn_link_free(br);
}

/* ---------------------------------------------------------------- counters */

static void test_counter_reservation(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 0, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 340, 0, true);
	struct mqttsn_link *st = mqttsn_link_new(&cs, 0, 0), *br = mqttsn_link_new(&cb, 0, 0);
	struct mqttsn_frame_info info;
	static uint64_t used[3000];
	size_t nused = 0;
	uint64_t mark = 0, highest = 0, last_seen = 0;
	uint8_t m[20], frame[340];
	int n;

	(void)state;
	wire_reset();
	assert_false(mqttsn_link_rx_changed(br, &highest));
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 20, 1), 0), MQTTSN_OK);
	/* nothing reserved: refused, nothing lost */
	assert_int_equal(mqttsn_link_next_frame(st, &ctx, 0, frame, sizeof frame), MQTTSN_FRAME_ERR_COUNTER);
	assert_int_equal(mqttsn_link_queued_msgs(st), 1);
	assert_true(mqttsn_link_tx_want(st) == MQTTSN_LINK_RESERVE);
	mark = mqttsn_link_tx_want(st);
	mqttsn_link_tx_persisted(st, mark);
	assert_true(mqttsn_link_tx_want(st) == 0);
	/* 1500 frames, persisting each time the station asks */
	for (uint16_t i = 0; i < 1500; i++) {
		if (i > 0)
			assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 20, i), i), MQTTSN_OK);
		for (int guard = 0; guard < 3; guard++) {
			n = mqttsn_link_next_frame(st, &ctx, i, frame, sizeof frame);
			if (n != MQTTSN_FRAME_ERR_COUNTER)
				break;
			assert_int_equal(mqttsn_link_queued_msgs(st), 1);
			mark = mqttsn_link_tx_want(st);
			assert_true(mark == 2 * MQTTSN_LINK_RESERVE);
			mqttsn_link_tx_persisted(st, mark);
		}
		assert_true(n > 0);
		assert_true(mqttsn_link_open(br, &ctx, frame, (size_t)n, content, sizeof content, &info) > 0);
		used[nused++] = info.counter;
	}
	assert_true(used[0] == 0 && used[1499] == 1499);
	assert_true(mqttsn_link_rx_changed(br, &highest));
	assert_true(highest == 1499);
	mqttsn_link_rx_persisted(br, highest);
	assert_false(mqttsn_link_rx_changed(br, &highest));
	last_seen = highest;
	mqttsn_link_free(st);
	/* the station reboots: it goes on from the persisted mark, never below */
	st = mqttsn_link_new(&cs, mark, 0);
	assert_true(mqttsn_link_tx_want(st) == mark + MQTTSN_LINK_RESERVE);
	mqttsn_link_tx_persisted(st, mqttsn_link_tx_want(st));
	for (uint16_t i = 0; i < 10; i++) {
		assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 20, i), 2000), MQTTSN_OK);
		n = mqttsn_link_next_frame(st, &ctx, 2000, frame, sizeof frame);
		assert_true(n > 0);
		/* the first frame after a restart carries the wide counter */
		assert_int_equal((frame[1] & MQTTSN_FRAME_F_WIDE) != 0, i == 0);
		assert_true(mqttsn_link_open(br, &ctx, frame, (size_t)n, content, sizeof content, &info) > 0);
		for (size_t k = 0; k < nused; k++)
			assert_true(used[k] != info.counter);
		assert_true(info.counter >= mark);
		used[nused++] = info.counter;
		memcpy(wire[i].buf, frame, (size_t)n);
		wire[i].len = (size_t)n;
	}
	assert_true(mqttsn_link_rx_changed(br, &highest));
	assert_true(highest == mark + 9);
	assert_true(highest > last_seen);
	mqttsn_link_rx_persisted(br, highest);
	mqttsn_link_free(br);
	/* the bridge reboots with floor highest + 1: every old frame refused */
	br = mqttsn_link_new(&cb, 0, highest + 1);
	assert_false(mqttsn_link_rx_changed(br, &highest));
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(mqttsn_link_open(br, &ctx, wire[i].buf, wire[i].len, content, sizeof content, &info),
		                 MQTTSN_FRAME_ERR_TOO_OLD);
	assert_true(mqttsn_link_stats(br)->bad_too_old == 10);
	/* and the next frame is taken */
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 20, 77), 3000), MQTTSN_OK);
	n = mqttsn_link_next_frame(st, &ctx, 3000, frame, sizeof frame);
	assert_true(n > 0);
	assert_true(mqttsn_link_open(br, &ctx, frame, (size_t)n, content, sizeof content, &info) > 0);
	assert_true(mqttsn_link_rx_changed(br, &highest));
	assert_true(highest == mark + 10);
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

static void test_wide_every(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 0, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 340, 0, true);
	struct mqttsn_link *st = ready_link(&cs), *br = ready_link(&cb);
	uint8_t m[10], frame[340];
	size_t wide = 0;
	int n;

	(void)state;
	publish(m, sizeof m, 1);
	for (size_t i = 0; i < MQTTSN_LINK_WIDE_EVERY + 2; i++) {
		assert_int_equal(mqttsn_link_send(st, &ctx, m, sizeof m, i), MQTTSN_OK);
		for (int guard = 0; guard < 2; guard++) {
			n = mqttsn_link_next_frame(st, &ctx, i, frame, sizeof frame);
			if (n != MQTTSN_FRAME_ERR_COUNTER)
				break;
			mqttsn_link_tx_persisted(st, mqttsn_link_tx_want(st));
		}
		assert_true(n > 0);
		if (frame[1] & MQTTSN_FRAME_F_WIDE) {
			assert_true(i % MQTTSN_LINK_WIDE_EVERY == 0);
			wide++;
		}
		/* the receiver misses most frames but keeps up */
		if (i % 1000 == 0 || i > MQTTSN_LINK_WIDE_EVERY)
			assert_true(mqttsn_link_open(br, &ctx, frame, (size_t)n, content, sizeof content,
			                             &(struct mqttsn_frame_info){0}) > 0);
	}
	assert_int_equal(wide, 2);
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

/* ---------------------------------------------------------------- queue */

static void test_queue_full(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 1200, 1000, true);
	struct mqttsn_link *st;
	uint8_t m[100];
	size_t i;

	(void)state;
	cs.queue_max = 1000;
	st = ready_link(&cs);
	for (i = 0; i < 20; i++) {
		int rc = mqttsn_link_send(st, &ctx, m, publish(m, 100, (uint16_t)i), 0);

		if (rc == MQTTSN_ERR_NO_SPACE)
			break;
		assert_int_equal(rc, MQTTSN_OK);
	}
	assert_int_equal(i, 10);
	assert_int_equal(mqttsn_link_queued_bytes(st), 1000);
	assert_int_equal(mqttsn_link_queued_msgs(st), 10);
	assert_true(mqttsn_link_stats(st)->drop_queue_full == 1);
	/* a smaller one still does not fit: the bound is octets */
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 10, 1), 0), MQTTSN_ERR_NO_SPACE);
	wire_reset();
	assert_int_equal(pump(st, 1000), 1);
	assert_int_equal(mqttsn_link_queued_bytes(st), 0);
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 100, 1), 1000), MQTTSN_OK);
	mqttsn_link_free(st);
}

/* ---------------------------------------------------------------- compression */

static size_t weather(char *out, size_t cap, unsigned hour)
{
	int n = snprintf(out, cap, "{\"ts\":\"2010-01-%02uT%02u:00:00\",\"pressure_hpa\":%u.%u,\"temp_c\":%u.%u,"
	                           "\"wind_ms\":%u.%u}",
	                 1 + hour / 24 % 28, hour % 24, 1000 + hour % 30, hour % 10, hour % 15, (hour * 7) % 10,
	                 hour % 9, (hour * 3) % 10);

	assert_true(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static size_t weather_publish(uint8_t *msg, unsigned hour)
{
	char json[160];
	size_t n = weather(json, sizeof json, hour);

	msg[0] = (uint8_t)(7 + n);
	msg[1] = 0x0c;
	msg[2] = 0x20;
	msg[3] = 0x00;
	msg[4] = 0x01;
	msg[5] = (uint8_t)(hour >> 8);
	msg[6] = (uint8_t)hour;
	memcpy(msg + 7, json, n);
	return 7 + n;
}

static void test_compression(void **state)
{
	static uint8_t dict_buf[MQTTSN_FRAME_DICT_MAX], sent[600][200];
	static struct mqttsn_bytes samples[400];
	static uint8_t sample_buf[400][200];
	struct mqttsn_frame_dict dict;
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 60000, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 270, 0, true);
	struct mqttsn_link *st, *br, *plain;
	size_t nsent = 0, plain_frames;
	uint64_t now = 0;

	(void)state;
	for (unsigned i = 0; i < 400; i++) {
		samples[i].len = weather_publish(sample_buf[i], i);
		samples[i].ptr = sample_buf[i];
	}
	dict.id = 5;
	dict.ptr = dict_buf;
	dict.len = mqttsn_frame_dict_build(samples, 400, dict_buf, sizeof dict_buf);
	assert_true(dict.len > 0);
	cs.dict = &dict;
	cs.queue_max = 65536; /* the plain link holds everything until the end */
	cb.dicts = &dict;
	cb.ndicts = 1;
	st = ready_link(&cs);
	br = ready_link(&cb);
	/* the same without a dictionary, for comparison */
	cs.dict = NULL;
	plain = ready_link(&cs);
	wire_reset();
	rng_state = 777;
	for (unsigned h = 400; h < 1000; h++) {
		size_t n = weather_publish(sent[nsent], h);

		assert_int_equal(mqttsn_link_send(st, &ctx, sent[nsent], n, now), MQTTSN_OK);
		assert_int_equal(mqttsn_link_send(plain, &ctx, sent[nsent], n, now), MQTTSN_OK);
		nsent++;
		(void)pump(st, now);
		now += 10;
	}
	mqttsn_link_flush(st);
	(void)pump(st, now);
	mqttsn_link_flush(plain);
	{
		size_t keep = nwire;

		(void)pump(plain, now);
		plain_frames = nwire - keep;
		nwire = keep;
	}
	assert_true(mqttsn_link_stats(st)->compressed_out > 0);
	assert_true(mqttsn_link_stats(plain)->compressed_out == 0);
	assert_true(nwire * 3 < plain_frames); /* at least 3 times fewer frames */
	print_message("compression: 600 weather PUBLISH in %zu frames of 340 B with a dictionary, %zu without\n",
	              nwire, plain_frames);
	/* a third of the frames lost at random: every other frame still opens whole */
	{
		size_t expect = 0, idx = 0;

		for (size_t f = 0; f < nwire; f++) {
			size_t before = got.n, pos = 0, count = 0;
			struct mqttsn_bytes msg;
			int n;

			/* how many messages the frame carries, from a receiver that sees all */
			n = mqttsn_frame_open(&ctx, &ring, &dict, 1, &(struct mqttsn_link_rx){0}, MQTTSN_LINK_UP,
			                      wire[f].buf, wire[f].len, content, sizeof content,
			                      &(struct mqttsn_frame_info){0});
			assert_true(n >= 0);
			while (mqttsn_frame_next(content, (size_t)n, &pos, &msg) == 1)
				count++;
			if (rnd() % 3 == 0) {
				idx += count; /* lost: the receiver never sees it */
				continue;
			}
			assert_int_equal(take(br, wire[f].buf, wire[f].len) >= 0, 1);
			assert_int_equal(got.n - before, count);
			for (size_t k = before; k < got.n; k++, idx++) {
				assert_memory_equal(got.msg[k], sent[idx], got.len[k]);
			}
			expect += count;
		}
		assert_int_equal(idx, nsent);
		assert_int_equal(got.n, expect);
		assert_true(expect > nsent / 2);
	}
	mqttsn_link_free(st);
	mqttsn_link_free(br);
	mqttsn_link_free(plain);
}

/* The dictionary is needed to open a compressed frame, never to open a plain one. */
static void test_dictionary_missing(void **state)
{
	struct mqttsn_frame_dict dict = {7, (const uint8_t *)dict_c_text, sizeof dict_c_text - 1};
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 0, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 340, 0, true);
	struct mqttsn_link *st, *br;
	uint8_t m[100];

	(void)state;
	cs.dict = &dict;
	st = ready_link(&cs);
	br = ready_link(&cb);
	wire_reset();
	assert_int_equal(mqttsn_link_send(st, &ctx, m, weather_publish(m, 1), 0), MQTTSN_OK);
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 8, 1), 1), MQTTSN_OK);
	(void)pump(st, 0);
	assert_int_equal(nwire, 1);
	assert_true(wire[0].buf[1] & MQTTSN_FRAME_F_ZIP);
	assert_int_equal(take(br, wire[0].buf, wire[0].len), MQTTSN_FRAME_ERR_DICT);
	assert_true(mqttsn_link_stats(br)->bad_dict == 1);
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

/* A dictionary set on a running link: the frame being filled is filled
 * again under it; NULL stops compressing. */
static void test_set_dict(void **state)
{
	struct mqttsn_frame_dict dict = {7, (const uint8_t *)dict_c_text, sizeof dict_c_text - 1};
	struct mqttsn_frame_dict huge = {8, (const uint8_t *)dict_c_text, MQTTSN_FRAME_DICT_MAX + 1};
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 100, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 340, 0, true);
	struct mqttsn_link *st, *br;
	uint8_t m[100];

	(void)state;
	cb.dicts = &dict;
	cb.ndicts = 1;
	st = ready_link(&cs);
	br = ready_link(&cb);
	wire_reset();
	assert_null(mqttsn_link_dict(st));
	/* queued under no dictionary, sent under one */
	for (unsigned i = 1; i <= 3; i++)
		assert_int_equal(mqttsn_link_send(st, &ctx, m, weather_publish(m, i), 0), MQTTSN_OK);
	assert_int_equal(mqttsn_link_set_dict(st, &ctx, &dict), MQTTSN_OK);
	assert_true(mqttsn_link_dict(st) == &dict);
	assert_int_equal(mqttsn_link_set_dict(st, &ctx, &huge), MQTTSN_ERR_INVALID);
	assert_true(mqttsn_link_dict(st) == &dict);
	assert_int_equal(pump(st, 100), 1);
	assert_true(wire[0].buf[1] & MQTTSN_FRAME_F_ZIP);
	assert_int_equal(wire[0].buf[2], 7); /* the dictionary id follows the flags */
	assert_true(take(br, wire[0].buf, wire[0].len) > 0);
	assert_int_equal(got.n, 3);
	/* and off again */
	assert_int_equal(mqttsn_link_set_dict(st, &ctx, NULL), MQTTSN_OK);
	for (unsigned i = 4; i <= 6; i++)
		assert_int_equal(mqttsn_link_send(st, &ctx, m, weather_publish(m, i), 200), MQTTSN_OK);
	assert_int_equal(pump(st, 300), 1);
	assert_false(wire[1].buf[1] & MQTTSN_FRAME_F_ZIP);
	assert_true(take(br, wire[1].buf, wire[1].len) > 0);
	assert_int_equal(got.n, 6);
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

/* The frame size changed on a running link: what is queued is framed
 * again to it. */
static void test_set_mtu(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 100, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 340, 0, true);
	struct mqttsn_link *st, *br;
	uint8_t m[100];

	(void)state;
	st = ready_link(&cs);
	br = ready_link(&cb);
	wire_reset();
	assert_int_equal(mqttsn_link_set_mtu(st, &ctx, 20), MQTTSN_ERR_INVALID);
	assert_int_equal(mqttsn_link_set_mtu(st, &ctx, MQTTSN_FRAME_MAX + 1), MQTTSN_ERR_INVALID);
	/* 12 messages of 80: 3 frames at 340 would be full at once; at 1200, one held */
	for (unsigned i = 1; i <= 2; i++)
		assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 80, (uint16_t)i), 0), MQTTSN_OK);
	assert_int_equal(mqttsn_link_set_mtu(st, &ctx, 1200), MQTTSN_OK);
	for (unsigned i = 3; i <= 12; i++)
		assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 80, (uint16_t)i), 0), MQTTSN_OK);
	assert_int_equal(pump(st, 0), 0); /* all in one frame, still held */
	assert_int_equal(pump(st, 100), 1);
	assert_true(wire[0].len > 340 && wire[0].len <= 1200);
	assert_true(take(br, wire[0].buf, wire[0].len) > 0);
	assert_int_equal(got.n, 12);
	/* and smaller again: a queued full frame's worth is re-cut */
	for (unsigned i = 13; i <= 16; i++)
		assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 80, (uint16_t)i), 200), MQTTSN_OK);
	assert_int_equal(mqttsn_link_set_mtu(st, &ctx, 200), MQTTSN_OK);
	assert_true(pump(st, 300) >= 2);
	for (size_t f = 1; f < nwire; f++) {
		assert_true(wire[f].len <= 200);
		assert_true(take(br, wire[f].buf, wire[f].len) > 0);
	}
	assert_int_equal(got.n, 16);
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

/* ---------------------------------------------------------------- probe */

static void test_probe(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 0, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 340, 0, true);
	struct mqttsn_link *st = ready_link(&cs), *br = ready_link(&cb), *br2;
	struct mqttsn_link_stats before;
	uint64_t highest;
	uint8_t m[400];

	(void)state;
	wire_reset();
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 300, 1), 0), MQTTSN_OK);
	assert_int_equal(pump(st, 0), 1);
	before = *mqttsn_link_stats(br);
	assert_true(mqttsn_link_probe(br, &ctx, wire[0].buf, wire[0].len));
	assert_true(mqttsn_link_probe(br, &ctx, wire[0].buf, wire[0].len));
	assert_memory_equal(&before, mqttsn_link_stats(br), sizeof before);
	assert_false(mqttsn_link_rx_changed(br, &highest));
	assert_true(take(br, wire[0].buf, wire[0].len) > 0); /* not taken for a replay */
	assert_false(mqttsn_link_probe(br, &ctx, wire[0].buf, wire[0].len)); /* now it is one */
	assert_false(mqttsn_link_probe(br, &ctx, wire[0].buf, wire[0].len - 1));
	cb.keys = other;
	br2 = ready_link(&cb);
	assert_false(mqttsn_link_probe(br2, &ctx, wire[0].buf, wire[0].len));
	assert_true(mqttsn_link_stats(br2)->bad_auth == 0);
	mqttsn_link_free(st);
	mqttsn_link_free(br);
	mqttsn_link_free(br2);
}

/* ---------------------------------------------------------------- vectors */

static void test_vectors(void **state)
{
	struct mqttsn_frame_dict d7 = {7, (const uint8_t *)dict_c_text, sizeof dict_c_text - 1};
	struct mqttsn_link_conf c = make_conf(MQTTSN_LINK_UP, 340, 0, false);
	struct mqttsn_link *l;
	uint8_t frame[340];

	(void)state;
	/* A: a plain link sends the PINGREQ and the PUBLISH as vector A */
	l = ready_link(&c);
	assert_int_equal(mqttsn_link_send(l, &ctx, content_ab + 1, 2, 0), MQTTSN_OK);
	assert_int_equal(mqttsn_link_send(l, &ctx, content_ab + 4, 11, 0), MQTTSN_OK);
	assert_int_equal(mqttsn_link_next_frame(l, &ctx, 0, frame, sizeof frame), (int)sizeof vec_a);
	assert_memory_equal(frame, vec_a, sizeof vec_a);
	mqttsn_link_free(l);
	/* a plain link opens A */
	c.direction = MQTTSN_LINK_DOWN;
	l = ready_link(&c);
	got_reset();
	assert_int_equal(take(l, vec_a, sizeof vec_a), 15);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.len[0], 2);
	assert_int_equal(got.len[1], 11);
	/* and refuses an encrypted frame: it has no keys */
	assert_int_equal(take(l, vec_b, sizeof vec_b), MQTTSN_FRAME_ERR_KEY);
	mqttsn_link_free(l);

	/* B: a station with key id 1, its second frame (narrow) under counter 0x12345 */
	c = make_conf(MQTTSN_LINK_UP, 340, 0, true);
	l = mqttsn_link_new(&c, 0x12344, 0);
	mqttsn_link_tx_persisted(l, mqttsn_link_tx_want(l));
	assert_int_equal(mqttsn_link_send(l, &ctx, content_ab + 1, 2, 0), MQTTSN_OK);
	assert_int_equal(mqttsn_link_next_frame(l, &ctx, 0, frame, sizeof frame), 25); /* wide: 2 more octets */
	assert_int_equal(mqttsn_link_send(l, &ctx, content_ab + 1, 2, 0), MQTTSN_OK);
	assert_int_equal(mqttsn_link_send(l, &ctx, content_ab + 4, 11, 0), MQTTSN_OK);
	assert_int_equal(mqttsn_link_next_frame(l, &ctx, 0, frame, sizeof frame), (int)sizeof vec_b);
	assert_memory_equal(frame, vec_b, sizeof vec_b);
	mqttsn_link_free(l);
	/* a bridge with floor 0x12000 opens B */
	c.direction = MQTTSN_LINK_DOWN;
	l = mqttsn_link_new(&c, 0, 0x12000);
	got_reset();
	assert_int_equal(take(l, vec_b, sizeof vec_b), 15);
	assert_int_equal(got.n, 2);
	assert_memory_equal(got.msg[1], content_ab + 4, 11);
	assert_int_equal(take(l, vec_b, sizeof vec_b), MQTTSN_FRAME_ERR_REPLAYED);
	mqttsn_link_free(l);

	/* C: a station with dictionary 7 and floor 0x1_0000_0000 opens the bridge's frame */
	c = make_conf(MQTTSN_LINK_UP, 340, 0, true);
	c.dicts = &d7;
	c.ndicts = 1;
	l = mqttsn_link_new(&c, 0, 0x100000000u);
	got_reset();
	assert_int_equal(take(l, vec_c, sizeof vec_c), 85);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.len[0], 84);
	assert_true(mqttsn_link_stats(l)->frames_in == 1 && mqttsn_link_stats(l)->bytes_in == sizeof vec_c);
	mqttsn_link_free(l);
}

/* ---------------------------------------------------------------- statistics */

static void test_stats(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 0, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 270, 0, true);
	struct mqttsn_link *st = ready_link(&cs), *br = ready_link(&cb);
	struct mqttsn_link_stats sum;
	static uint8_t m[600];
	uint64_t bytes = 0;

	(void)state;
	wire_reset();
	/* both ways: up from the station, down from the bridge */
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 40, 1), 0), MQTTSN_OK);
	assert_int_equal(mqttsn_link_send(st, &ctx, m, publish(m, 40, 2), 0), MQTTSN_OK);
	assert_int_equal(pump(st, 0), 1);
	assert_int_equal(mqttsn_link_send(br, &ctx, m, publish(m, 600, 3), 0), MQTTSN_OK);
	assert_int_equal(pump(br, 0), 3); /* 270 octets down: 3 fragments */
	assert_true(take(br, wire[0].buf, wire[0].len) > 0);
	for (size_t f = 1; f < 4; f++) {
		assert_true(take(st, wire[f].buf, wire[f].len) > 0);
		bytes += wire[f].len;
	}
	assert_int_equal(got.n, 3);
	assert_int_equal(take(st, wire[1].buf, wire[1].len), MQTTSN_FRAME_ERR_REPLAYED);
	{
		const struct mqttsn_link_stats *s = mqttsn_link_stats(st), *b = mqttsn_link_stats(br);

		assert_true(s->frames_out == 1 && s->msgs_out == 2 && s->bytes_out == wire[0].len);
		assert_true(b->frames_in == 1 && b->msgs_in == 2 && b->bytes_in == wire[0].len);
		assert_true(b->frames_out == 3 && b->frags_out == 3 && b->msgs_out == 1 && b->bytes_out == bytes);
		assert_true(s->frames_in == 3 && s->frags_in == 3 && s->msgs_in == 1 && s->bytes_in == bytes);
		assert_true(s->bad_replayed == 1);
		memset(&sum, 0, sizeof sum);
		mqttsn_link_stats_add(&sum, s);
		mqttsn_link_stats_add(&sum, b);
		assert_true(sum.frames_out == 4 && sum.frames_in == 4 && sum.msgs_in == 3 && sum.frags_out == 3 &&
		            sum.bad_replayed == 1);
	}
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

/* Many half-built messages: the oldest evicted and counted, the newest complete. */
static void test_reasm_eviction(void **state)
{
	struct mqttsn_link_conf cs = make_conf(MQTTSN_LINK_UP, 340, 0, true);
	struct mqttsn_link_conf cb = make_conf(MQTTSN_LINK_DOWN, 340, 0, true);
	struct mqttsn_link *st = ready_link(&cs), *br = ready_link(&cb);
	static uint8_t big[700];

	(void)state;
	wire_reset();
	for (uint16_t i = 0; i < 6; i++) {
		assert_int_equal(mqttsn_link_send(st, &ctx, big, publish(big, sizeof big, i), 0), MQTTSN_OK);
		assert_int_equal(pump(st, 0), 3);
	}
	/* the first fragment of each of 6 messages, then the rest of the last */
	for (size_t k = 0; k < 6; k++)
		assert_true(take(br, wire[3 * k].buf, wire[3 * k].len) >= 0);
	assert_true(take(br, wire[16].buf, wire[16].len) >= 0);
	assert_true(take(br, wire[17].buf, wire[17].len) >= 0);
	assert_int_equal(got.n, 1);
	assert_memory_equal(got.msg[0], big, sizeof big);
	assert_true(mqttsn_link_stats(br)->reasm_evicted == 2);
	mqttsn_link_free(st);
	mqttsn_link_free(br);
}

static int teardown(void **state)
{
	(void)state;
	got_reset();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_refused),
		cmocka_unit_test(test_batching_340),
		cmocka_unit_test(test_batching_1200),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_control_not_held),
		cmocka_unit_test(test_full_frame_at_once),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_fragments_counter_midway),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_refused_frames),
		cmocka_unit_test(test_malformed_content),
		cmocka_unit_test(test_counter_reservation),
		cmocka_unit_test(test_wide_every),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_compression),
		cmocka_unit_test(test_dictionary_missing),
		cmocka_unit_test(test_set_dict),
		cmocka_unit_test(test_set_mtu),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_reasm_eviction),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
