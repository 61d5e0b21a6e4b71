/*
 * fuzz_link.c - libFuzzer target for the link session (codec/link.h).
 *
 * Input starting with an even octet: a sequence of frames (2-octet
 * big-endian length, then the frame) fed to a receiving link, encrypted and
 * with a dictionary, and to a plain one: open, deliver, probe; nothing may
 * crash, and whatever is delivered lies inside the content. Input starting
 * with an odd octet: a script for a sender (mtu, hold, then messages with
 * their lengths and arrival times) whose frames go to a receiver without
 * loss: every message accepted must come out once, in order, unchanged.
 *
 * Links libsodium and zlib: build with -lsodium -lz.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "codec/link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static struct mqttsn_frame_ctx ctx;
static uint8_t out[MQTTSN_FRAME_CONTENT_MAX];
static uint8_t frame[MQTTSN_FRAME_MAX];
static struct mqttsn_link_keyring ring;
static bool ready;

static const uint8_t dict_text[] =
	"{\"ts\":\"2010-01-01T00:00:00\",\"pressure_hpa\":1016.6,\"temp_c\":4.0,\"wind_ms\":3.8}";

/* What the receiver must deliver next: the accepted messages, in order. */
#define SCRIPT_MAX 64
static struct {
	const uint8_t *ptr[SCRIPT_MAX];
	size_t len[SCRIPT_MAX];
	size_t n, next;
} expect;

static void init(void)
{
	if (ready)
		return;
	CHECK(sodium_init() >= 0);
	for (size_t k = 0; k < 2; k++) {
		ring.set[k] = true;
		for (size_t i = 0; i < MQTTSN_FRAME_KEY_LEN; i++)
			ring.key[k][i] = (uint8_t)i;
	}
	ready = true;
}

static struct mqttsn_link_conf conf(uint8_t direction, bool encrypt, const struct mqttsn_frame_dict *dict,
                                    const struct mqttsn_frame_dict *dicts)
{
	struct mqttsn_link_conf c;

	memset(&c, 0, sizeof c);
	c.mtu = MQTTSN_FRAME_MAX;
	c.direction = direction;
	c.encrypt = encrypt;
	c.key_id = 1;
	c.keys = ring;
	c.dict = dict;
	c.dicts = dicts;
	c.ndicts = 1;
	return c;
}

static void inside(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg;
	CHECK(len > 0 && len <= MQTTSN_FRAME_REASM_MSG_MAX && msg != NULL);
	CHECK(msg[0] == msg[0] && msg[len - 1] == msg[len - 1]); /* readable */
}

static void in_order(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg;
	CHECK(expect.next < expect.n);
	CHECK(len == expect.len[expect.next]);
	CHECK(memcmp(msg, expect.ptr[expect.next], len) == 0);
	expect.next++;
}

static void frames(const uint8_t *data, size_t size, const struct mqttsn_frame_dict *dict)
{
	struct mqttsn_link_conf c1 = conf(MQTTSN_LINK_DOWN, true, dict, dict);
	struct mqttsn_link_conf c2 = conf(MQTTSN_LINK_UP, false, dict, dict);
	struct mqttsn_link *l[2] = {mqttsn_link_new(&c1, 0, 0), mqttsn_link_new(&c2, 0, 0)};
	size_t pos = 0;

	CHECK(l[0] != NULL && l[1] != NULL);
	while (size - pos >= 2) {
		size_t n = ((size_t)data[pos] << 8) | data[pos + 1];

		pos += 2;
		if (n > size - pos)
			n = size - pos;
		for (size_t k = 0; k < 2; k++) {
			struct mqttsn_frame_info info;
			bool probed = mqttsn_link_probe(l[k], &ctx, data + pos, n);
			int rc = mqttsn_link_open(l[k], &ctx, data + pos, n, out, sizeof out, &info);

			/* what opens was probed true first (a probe may say yes to a bomb) */
			CHECK(rc < 0 || probed);
			if (rc >= 0)
				(void)mqttsn_link_deliver(l[k], out, (size_t)rc, &info, inside, NULL);
		}
		pos += n;
	}
	mqttsn_link_free(l[0]);
	mqttsn_link_free(l[1]);
}

static void pump(struct mqttsn_link *tx, struct mqttsn_link *rx, uint64_t now)
{
	for (int guard = 0; guard < 4096; guard++) {
		struct mqttsn_frame_info info;
		int n = mqttsn_link_next_frame(tx, &ctx, now, frame, sizeof frame);

		if (n == MQTTSN_FRAME_ERR_COUNTER) {
			mqttsn_link_tx_persisted(tx, mqttsn_link_tx_want(tx));
			continue;
		}
		CHECK(n >= 0);
		if (n == 0)
			return;
		CHECK((size_t)n <= mqttsn_link_conf(tx)->mtu);
		n = mqttsn_link_open(rx, &ctx, frame, (size_t)n, out, sizeof out, &info);
		CHECK(n >= 0);
		CHECK(mqttsn_link_deliver(rx, out, (size_t)n, &info, in_order, NULL) >= 0);
	}
	CHECK(false);
}

static void script(const uint8_t *data, size_t size, const struct mqttsn_frame_dict *dict)
{
	struct mqttsn_link_conf ct, cr;
	struct mqttsn_link *tx, *rx;
	uint64_t now = 0;
	size_t pos = 3;

	if (size < 3)
		return;
	ct = conf(MQTTSN_LINK_UP, (data[0] & 2) != 0, (data[0] & 4) ? dict : NULL, dict);
	cr = conf(MQTTSN_LINK_DOWN, ct.encrypt, dict, dict);
	ct.mtu = 27u + (size_t)data[1] * 16u;
	if (ct.mtu > MQTTSN_FRAME_MAX)
		ct.mtu = MQTTSN_FRAME_MAX;
	ct.hold_ms = data[2];
	ct.queue_max = 4096;
	tx = mqttsn_link_new(&ct, 0, 0);
	rx = mqttsn_link_new(&cr, 0, 0);
	CHECK(tx != NULL && rx != NULL);
	expect.n = expect.next = 0;
	/* each message: length (2), time step (1), then that many octets of the input */
	while (size - pos >= 3 && expect.n < SCRIPT_MAX) {
		size_t len = ((size_t)data[pos] << 8 | data[pos + 1]) % 2048u + 1u;
		int rc;

		now += data[pos + 2];
		pos += 3;
		if (len > size - pos)
			break;
		rc = mqttsn_link_send(tx, &ctx, data + pos, len, now);
		CHECK(rc == MQTTSN_OK || rc == MQTTSN_ERR_NO_SPACE || rc == MQTTSN_ERR_TOO_BIG);
		if (rc == MQTTSN_OK) {
			expect.ptr[expect.n] = data + pos;
			expect.len[expect.n++] = len;
		}
		pos += len;
		pump(tx, rx, now);
	}
	mqttsn_link_flush(tx);
	pump(tx, rx, now);
	CHECK(mqttsn_link_queued_msgs(tx) == 0);
	CHECK(expect.next == expect.n);
	mqttsn_link_free(tx);
	mqttsn_link_free(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mqttsn_frame_dict dict = {1, dict_text, sizeof dict_text - 1};

	init();
	if (size == 0)
		return 0;
	if (data[0] & 1)
		script(data, size, &dict);
	else
		frames(data + 1, size - 1, &dict);
	return 0;
}
