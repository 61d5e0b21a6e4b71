/*
 * frame_content.c - what a link frame carries: batches of MQTT-SN messages
 * and fragments of one large message (codec/frame.h, codec/FRAMES.md).
 */
#include <string.h>

#include "codec/frame.h"

/* ---------------------------------------------------------------- items */

size_t mqttsn_frame_item_size(size_t len)
{
	return (len < 128 ? 1u : 2u) + len;
}

int mqttsn_frame_next(const uint8_t *content, size_t len, size_t *pos, struct mqttsn_bytes *msg)
{
	size_t at = *pos, left, n;

	if (at >= len)
		return 0;
	left = len - at;
	n = content[at];
	if (n & 0x80u) {
		if (2 > left)
			return MQTTSN_FRAME_ERR_MALFORMED;
		n = ((n & 0x7Fu) << 8) | content[at + 1];
		if (n < 128) /* only the shortest form: one encoding per content */
			return MQTTSN_FRAME_ERR_MALFORMED;
		at += 2;
		left -= 2;
	} else {
		at += 1;
		left -= 1;
	}
	if (n == 0 || n > left)
		return MQTTSN_FRAME_ERR_MALFORMED;
	msg->ptr = content + at;
	msg->len = n;
	*pos = at + n;
	return 1;
}

/* ---------------------------------------------------------------- builder */

void mqttsn_frame_builder_init(struct mqttsn_frame_builder *b, size_t mtu)
{
	b->mtu = mtu < MQTTSN_FRAME_MAX ? mtu : MQTTSN_FRAME_MAX;
	b->len = 0;
	b->count = 0;
}

/* Whether content[0..len) sealed with p fits the mtu: plain first, else deflated. */
static int fits(struct mqttsn_frame_ctx *ctx, const struct mqttsn_frame_params *p, const uint8_t *content,
                size_t len, size_t mtu)
{
	size_t tag = p->key != NULL ? MQTTSN_FRAME_TAG_LEN : 0u;
	size_t hz = mqttsn_frame_header_len(p, true);
	struct mqttsn_frame_params q = *p;
	uint8_t *probe = ctx->scratch;
	int n;

	if (mqttsn_frame_header_len(p, false) + tag + len <= mtu)
		return 1;
	if (p->dict == NULL || mtu <= hz + tag)
		return 0;
	/* Seal without the key into the scratch: only the size matters. */
	q.key = NULL;
	n = mqttsn_frame_seal(ctx, &q, content, len, probe, mtu - tag - (hz - mqttsn_frame_header_len(&q, true)));
	if (n == MQTTSN_ERR_NO_SPACE)
		return 0;
	return n < 0 ? n : 1;
}

int mqttsn_frame_builder_add(struct mqttsn_frame_builder *b, struct mqttsn_frame_ctx *ctx,
                             const struct mqttsn_frame_params *p, const uint8_t *msg, size_t len)
{
	size_t item = mqttsn_frame_item_size(len);
	size_t at = b->len;
	int rc;

	if (msg == NULL || len == 0)
		return MQTTSN_ERR_INVALID;
	if (len > MQTTSN_FRAME_ITEM_MAX)
		return MQTTSN_ERR_TOO_BIG;
	if (item > sizeof b->content - at)
		return b->count == 0 ? MQTTSN_ERR_TOO_BIG : MQTTSN_FRAME_FULL;
	if (len < 128) {
		b->content[at] = (uint8_t)len;
	} else {
		b->content[at] = (uint8_t)(0x80u | (len >> 8));
		b->content[at + 1] = (uint8_t)len;
	}
	memcpy(b->content + at + item - len, msg, len);
	rc = fits(ctx, p, b->content, at + item, b->mtu);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return b->count == 0 ? MQTTSN_ERR_TOO_BIG : MQTTSN_FRAME_FULL;
	b->len = at + item;
	b->count++;
	return MQTTSN_FRAME_FITS;
}

int mqttsn_frame_builder_finish(struct mqttsn_frame_builder *b, struct mqttsn_frame_ctx *ctx,
                                const struct mqttsn_frame_params *p, uint8_t *out, size_t cap)
{
	if (cap > b->mtu)
		cap = b->mtu;
	return mqttsn_frame_seal(ctx, p, b->content, b->len, out, cap);
}

/* ---------------------------------------------------------------- fragments */

size_t mqttsn_frame_frag_chunk(const struct mqttsn_frame_params *p, size_t mtu)
{
	size_t over = mqttsn_frame_header_len(p, false) + (p->key != NULL ? MQTTSN_FRAME_TAG_LEN : 0u) +
	              MQTTSN_FRAME_FRAG_HEADER;

	if (mtu > MQTTSN_FRAME_MAX)
		mtu = MQTTSN_FRAME_MAX;
	return mtu > over ? mtu - over : 0;
}

int mqttsn_frame_frag_build(uint8_t msg_id, const uint8_t *msg, size_t len, size_t chunk, size_t index,
                            uint8_t *out, size_t cap)
{
	size_t off, n;

	if (msg == NULL || len == 0 || chunk == 0)
		return MQTTSN_ERR_INVALID;
	if (len > MQTTSN_FRAME_REASM_MSG_MAX || (len - 1) / chunk >= MQTTSN_FRAME_FRAGS_MAX)
		return MQTTSN_ERR_TOO_BIG;
	if (index > (len - 1) / chunk)
		return MQTTSN_ERR_INVALID;
	off = index * chunk;
	n = len - off < chunk ? len - off : chunk;
	if (cap < MQTTSN_FRAME_FRAG_HEADER || n > cap - MQTTSN_FRAME_FRAG_HEADER)
		return MQTTSN_ERR_NO_SPACE;
	out[0] = msg_id;
	out[1] = (uint8_t)(index | (off + n == len ? 0x80u : 0u));
	out[2] = (uint8_t)(off >> 8);
	out[3] = (uint8_t)off;
	memcpy(out + MQTTSN_FRAME_FRAG_HEADER, msg + off, n);
	return (int)(MQTTSN_FRAME_FRAG_HEADER + n);
}

/* ---------------------------------------------------------------- reassembly */

void mqttsn_frame_reasm_init(struct mqttsn_frame_reasm *r)
{
	for (size_t i = 0; i < MQTTSN_FRAME_REASM_SLOTS; i++) {
		r->slot[i].busy = false;
		r->slot[i].have[0] = r->slot[i].have[1] = 0;
	}
	r->clock = 0;
	r->evicted = 0;
}

static bool have_bit(const uint64_t have[2], unsigned i)
{
	return (have[i / 64] >> (i % 64)) & 1u;
}

/*
 * Complete when every index up to the last arrived and the pieces tile the
 * message exactly: offset 0 first, each the end of the one before.
 */
static int complete(const struct mqttsn_frame_reasm *r, size_t s, size_t *total)
{
	size_t end = 0;

	if (!r->slot[s].have_last)
		return 0;
	for (unsigned i = 0; i <= r->slot[s].last_index; i++) {
		if (!have_bit(r->slot[s].have, i))
			return 0;
	}
	for (unsigned i = 0; i <= r->slot[s].last_index; i++) {
		if (r->slot[s].off[i] != end)
			return MQTTSN_FRAME_ERR_FRAGMENT;
		end += r->slot[s].len[i];
	}
	*total = end;
	return 1;
}

int mqttsn_frame_reasm_add(struct mqttsn_frame_reasm *r, const uint8_t *content, size_t len,
                           struct mqttsn_bytes *msg)
{
	size_t s = MQTTSN_FRAME_REASM_SLOTS, n, off, total = 0;
	unsigned index;
	bool last;
	int rc;

	if (content == NULL || len < MQTTSN_FRAME_FRAG_HEADER + 1)
		return MQTTSN_FRAME_ERR_MALFORMED;
	index = content[1] & 0x7Fu;
	last = (content[1] & 0x80u) != 0;
	off = ((size_t)content[2] << 8) | content[3];
	n = len - MQTTSN_FRAME_FRAG_HEADER;
	if (n > MQTTSN_FRAME_REASM_MSG_MAX - off)
		return MQTTSN_FRAME_ERR_MALFORMED;
	for (size_t i = 0; i < MQTTSN_FRAME_REASM_SLOTS; i++) {
		if (r->slot[i].busy && r->slot[i].msg_id == content[0])
			s = i;
	}
	/* A repeated index under a busy id: the id wrapped onto a lost message. */
	if (s < MQTTSN_FRAME_REASM_SLOTS && have_bit(r->slot[s].have, index))
		r->slot[s].busy = false;
	if (s == MQTTSN_FRAME_REASM_SLOTS || !r->slot[s].busy) {
		if (s == MQTTSN_FRAME_REASM_SLOTS) {
			s = 0;
			for (size_t i = 0; i < MQTTSN_FRAME_REASM_SLOTS; i++) {
				if (!r->slot[i].busy) {
					s = i;
					break;
				}
				if (r->slot[i].touched < r->slot[s].touched)
					s = i;
			}
			if (r->slot[s].busy)
				r->evicted++;
		}
		r->slot[s].busy = true;
		r->slot[s].msg_id = content[0];
		r->slot[s].have_last = false;
		r->slot[s].last_index = 0;
		r->slot[s].have[0] = r->slot[s].have[1] = 0;
	}
	if (last) {
		if (r->slot[s].have_last && r->slot[s].last_index != index)
			goto inconsistent;
		r->slot[s].have_last = true;
		r->slot[s].last_index = (uint8_t)index;
	}
	if (r->slot[s].have_last && index > r->slot[s].last_index)
		goto inconsistent;
	r->slot[s].touched = ++r->clock;
	r->slot[s].have[index / 64] |= (uint64_t)1 << (index % 64);
	r->slot[s].off[index] = (uint16_t)off;
	r->slot[s].len[index] = (uint16_t)n;
	memcpy(r->slot[s].buf + off, content + MQTTSN_FRAME_FRAG_HEADER, n);
	rc = complete(r, s, &total);
	if (rc < 0)
		goto inconsistent;
	if (rc == 0)
		return 0;
	r->slot[s].busy = false;
	msg->ptr = r->slot[s].buf;
	msg->len = total;
	return 1;

inconsistent:
	r->slot[s].busy = false;
	return MQTTSN_FRAME_ERR_FRAGMENT;
}
