/*
 * fuzz_frame.c - libFuzzer target for link frames (codec/frame.h).
 *
 * Any input is opened as a link frame with a fixed key (key ids 0 and 1)
 * and a fixed dictionary (id 1), once with the keys (direction up) and
 * once without (direction down, plain frames only); what opens is walked as
 * content (items) and fed to the reassembly table as a fragment. Nothing
 * may crash or read outside the input; content never exceeds the cap. An
 * input starting 0xFF instead is taken as content: sealed, opened again,
 * it must come back unchanged.
 *
 * Links libsodium and zlib: build with -lsodium -lz.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "codec/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static struct mqttsn_frame_ctx ctx;
static struct mqttsn_frame_reasm reasm;
static uint8_t out[MQTTSN_FRAME_CONTENT_MAX];
static uint8_t frame[MQTTSN_FRAME_MAX];
static struct mqttsn_link_keyring ring;
static bool ready;

static const uint8_t dict_text[] =
	"{\"ts\":\"2010-01-01T00:00:00\",\"pressure_hpa\":1016.6,\"temp_c\":4.0,\"wind_ms\":3.8}";

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
	mqttsn_frame_reasm_init(&reasm);
	ready = true;
}

static void walk(const uint8_t *content, size_t len, bool fragment)
{
	struct mqttsn_bytes m;
	size_t pos = 0;
	int rc;

	if (fragment) {
		rc = mqttsn_frame_reasm_add(&reasm, content, len, &m);
		CHECK(rc <= 1);
		if (rc == 1)
			CHECK(m.len > 0 && m.len <= MQTTSN_FRAME_REASM_MSG_MAX);
		return;
	}
	while ((rc = mqttsn_frame_next(content, len, &pos, &m)) == 1) {
		CHECK(m.len > 0 && m.ptr >= content && m.ptr + m.len <= content + len);
		CHECK(pos <= len);
	}
	CHECK(rc == 0 || rc == MQTTSN_FRAME_ERR_MALFORMED);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mqttsn_frame_dict dict = {1, dict_text, sizeof dict_text - 1};
	struct mqttsn_frame_info info;
	struct mqttsn_link_rx rx;
	int n;

	init();
	if (size > 0 && data[0] == 0xFF) {
		struct mqttsn_frame_params p;

		memset(&p, 0, sizeof p);
		p.dict = (size & 1) ? &dict : NULL;
		p.key = (size & 2) ? ring.key[0] : NULL;
		p.wide = (size & 4) != 0 && p.key != NULL;
		p.counter = size;
		n = mqttsn_frame_seal(&ctx, &p, data + 1, size - 1, frame, sizeof frame);
		if (n < 0) {
			CHECK(n == MQTTSN_ERR_NO_SPACE || n == MQTTSN_ERR_INVALID);
			return 0;
		}
		mqttsn_link_rx_init(&rx, 0);
		n = mqttsn_frame_open(&ctx, p.key != NULL ? &ring : NULL, &dict, 1, &rx, 0, frame, (size_t)n, out,
		                      sizeof out, &info);
		CHECK(n == (int)(size - 1));
		CHECK(size == 1 || memcmp(out, data + 1, size - 1) == 0);
		return 0;
	}
	/* with the keys (encrypted frames only), then without (plain only) */
	for (uint8_t dir = 0; dir < 2; dir++) {
		mqttsn_link_rx_init(&rx, 0);
		n = mqttsn_frame_open(&ctx, dir == 0 ? &ring : NULL, &dict, 1, &rx, dir, data, size, out, sizeof out,
		                      &info);
		if (n < 0)
			continue;
		CHECK((size_t)n <= sizeof out);
		walk(out, (size_t)n, info.fragment);
	}
	return 0;
}
