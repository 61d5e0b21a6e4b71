/*
 * link.c - one end of a framed link, the sending half: the queue, batching
 * with a hold time, fragments, sealing (codec/link.h, codec/FRAMES.md).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec/link_impl.h"

/* ---------------------------------------------------------------- helpers */

static size_t tag_len(const struct mqttsn_link_conf *c)
{
	return c->encrypt ? MQTTSN_FRAME_TAG_LEN : 0u;
}

/* The parameters of the next frame this link seals (counter left 0). */
static struct mqttsn_frame_params next_params(const struct mqttsn_link *l, bool fragment)
{
	struct mqttsn_frame_params p;

	memset(&p, 0, sizeof p);
	p.dict = l->conf.dict;
	p.key = l->conf.encrypt ? l->conf.keys.key[l->conf.key_id] : NULL;
	p.key_id = l->conf.encrypt ? l->conf.key_id : 0;
	p.direction = l->conf.direction;
	/* Wide on the first frame, so a receiver far behind (or restarted) resyncs. */
	p.wide = l->conf.encrypt && l->sealed % MQTTSN_LINK_WIDE_EVERY == 0;
	p.fragment = fragment;
	return p;
}

/* Whether any of frames sealed first .. first + n will carry the wide counter. */
static bool wide_among(uint64_t first, uint64_t n)
{
	if (first % MQTTSN_LINK_WIDE_EVERY == 0)
		return true;
	return (first + n) / MQTTSN_LINK_WIDE_EVERY > first / MQTTSN_LINK_WIDE_EVERY;
}

/* The smallest fragment chunk any frame of this link may need (wide counter). */
static size_t worst_chunk(const struct mqttsn_link *l)
{
	struct mqttsn_frame_params p = next_params(l, true);

	p.wide = l->conf.encrypt;
	return mqttsn_frame_frag_chunk(&p, l->conf.mtu);
}

static struct link_entry *entry(const struct mqttsn_link *l, size_t i)
{
	return &l->q[(l->q_head + i) % l->q_cap];
}

/* ---------------------------------------------------------------- life */

/* The smallest frame that carries one octet of a message in a fragment, wide counter and all. */
static size_t least_mtu(bool encrypt)
{
	return 2u + (encrypt ? 4u + MQTTSN_FRAME_TAG_LEN : 0u) + MQTTSN_FRAME_FRAG_HEADER + 1u;
}

struct mqttsn_link *mqttsn_link_new(const struct mqttsn_link_conf *conf, uint64_t tx_mark, uint64_t rx_floor)
{
	struct mqttsn_link *l;
	size_t least;

	if (conf == NULL || conf->key_id >= MQTTSN_FRAME_KEY_IDS || conf->direction > MQTTSN_LINK_DOWN)
		return NULL;
	if (conf->encrypt && !conf->keys.set[conf->key_id])
		return NULL;
	if (conf->ndicts > 0 && conf->dicts == NULL)
		return NULL;
	if (conf->dict != NULL && (conf->dict->len > MQTTSN_FRAME_DICT_MAX || (conf->dict->ptr == NULL && conf->dict->len > 0)))
		return NULL;
	least = least_mtu(conf->encrypt);
	if (conf->mtu < least || conf->mtu > MQTTSN_FRAME_MAX)
		return NULL;
	l = calloc(1, sizeof *l);
	if (l == NULL)
		return NULL;
	l->conf = *conf;
	if (l->conf.queue_max == 0)
		l->conf.queue_max = MQTTSN_LINK_QUEUE_DEFAULT;
	if (l->conf.ndicts == 0)
		l->conf.dicts = NULL;
	mqttsn_link_tx_init(&l->tx, tx_mark);
	mqttsn_link_rx_init(&l->rx, rx_floor);
	l->rx_saved_any = rx_floor > 0;
	l->rx_saved = rx_floor > 0 ? rx_floor - 1 : 0;
	return l;
}

void mqttsn_link_free(struct mqttsn_link *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->q_count; i++)
		free(entry(l, i)->data);
	free(l->q);
	free(l->b);
	free(l->reasm);
	sodium_memzero(&l->conf.keys, sizeof l->conf.keys);
	free(l);
}

/* ---------------------------------------------------------------- the frame being filled */

/*
 * Offer queued message i (the one after the builder's prefix) to the frame
 * being filled. Returns MQTTSN_OK (taken, or the frame became ready) or an
 * error for a message that can never go out.
 */
static int offer(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx, size_t i)
{
	struct link_entry *e = entry(l, i);
	struct mqttsn_frame_params p;
	int rc;

	if (l->b == NULL) {
		l->b = malloc(sizeof *l->b);
		if (l->b == NULL)
			return MQTTSN_ERR_NO_SPACE;
		mqttsn_frame_builder_init(l->b, l->conf.mtu);
	}
	p = next_params(l, false);
	rc = mqttsn_frame_builder_add(l->b, ctx, &p, e->data, e->len);
	if (rc == MQTTSN_FRAME_FITS) {
		l->b_count++;
		return MQTTSN_OK;
	}
	if (rc == MQTTSN_FRAME_FULL) {
		l->ready = true;
		return MQTTSN_OK;
	}
	if (rc == MQTTSN_ERR_TOO_BIG && l->b_count == 0 && i == 0) {
		/* Alone it does not fit either: fragments, every one of equal chunk. */
		size_t chunk;

		p.fragment = true;
		chunk = mqttsn_frame_frag_chunk(&p, l->conf.mtu);
		if (chunk == 0)
			return MQTTSN_ERR_TOO_BIG;
		if (p.key != NULL && wide_among(l->sealed, (e->len + chunk - 1) / chunk))
			chunk = worst_chunk(l);
		if (chunk == 0 || (e->len - 1) / chunk >= MQTTSN_FRAME_FRAGS_MAX)
			return MQTTSN_ERR_TOO_BIG;
		l->frag = true;
		l->ready = true;
		l->frag_index = 0;
		l->frag_chunk = chunk;
		l->frag_total = (e->len + chunk - 1) / chunk;
		return MQTTSN_OK;
	}
	return rc;
}

/* Drop the first n queued messages. */
static void pop(struct mqttsn_link *l, size_t n)
{
	for (size_t i = 0; i < n && l->q_count > 0; i++) {
		struct link_entry *e = entry(l, 0);

		l->q_bytes -= e->len;
		free(e->data);
		e->data = NULL;
		l->q_head = (l->q_head + 1) % l->q_cap;
		l->q_count--;
	}
	if (l->q_count == 0)
		l->q_head = 0;
}

/*
 * Start a new frame from the head of the queue. A message refused here (it
 * cannot go out at all, or zlib failed) is dropped and counted: keeping it
 * would stall the queue behind it.
 */
static void refill(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx)
{
	l->b_count = 0;
	l->ready = false;
	l->frag = false;
	if (l->b != NULL)
		mqttsn_frame_builder_init(l->b, l->conf.mtu);
	/* Every pass takes a message into the frame, marks it ready, or drops one. */
	for (size_t guard = l->q_count + 1; guard > 0 && !l->ready && l->b_count < l->q_count; guard--) {
		if (offer(l, ctx, l->b_count) != MQTTSN_OK) {
			if (l->b_count > 0) {
				l->ready = true; /* send what fits; the bad one becomes the head later */
				break;
			}
			pop(l, 1);
			l->stats.drop_too_big++;
		}
	}
	if (l->q_count == 0 && l->b != NULL) {
		free(l->b);
		l->b = NULL;
	}
}

/* ---------------------------------------------------------------- sending */

/*
 * Whether a message waits for company: the PUBLISH flow (PUBLISH, PUBACK,
 * PUBREC, PUBREL, PUBCOMP) comes in runs that batch well. Every other
 * exchange (CONNECT, REGISTER, SUBSCRIBE, PINGREQ, their answers, ...) is
 * one message that the other side waits on, and often everything behind
 * it too: it goes at once, with whatever is queued before it.
 */
static bool held(const uint8_t *msg, size_t len)
{
	size_t at = msg[0] == 0x01u ? 3u : 1u;

	if (at >= len)
		return true;
	switch (msg[at]) {
	case MQTTSN_PUBLISH:
	case MQTTSN_PUBACK:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_PUBCOMP:
		return true;
	default:
		return false;
	}
}

int mqttsn_link_send(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx, const uint8_t *msg, size_t len,
                     uint64_t now)
{
	struct link_entry *e;
	size_t chunk, plain;
	int rc;

	if (l == NULL || ctx == NULL || msg == NULL || len == 0)
		return MQTTSN_ERR_INVALID;
	chunk = worst_chunk(l);
	plain = 2u + (l->conf.encrypt ? 4u : 0u) + tag_len(&l->conf) + mqttsn_frame_item_size(len);
	if (len > MQTTSN_FRAME_REASM_MSG_MAX || (plain > l->conf.mtu && (len - 1) / chunk >= MQTTSN_FRAME_FRAGS_MAX)) {
		l->stats.drop_too_big++;
		return MQTTSN_ERR_TOO_BIG;
	}
	if (len > l->conf.queue_max - l->q_bytes) {
		l->stats.drop_queue_full++;
		return MQTTSN_ERR_NO_SPACE;
	}
	if (l->q_count == l->q_cap) {
		size_t cap = l->q_cap ? l->q_cap * 2 : 16;
		struct link_entry *q = malloc(cap * sizeof *q);

		if (q == NULL)
			return MQTTSN_ERR_NO_SPACE;
		for (size_t i = 0; i < l->q_count; i++)
			q[i] = *entry(l, i);
		free(l->q);
		l->q = q;
		l->q_cap = cap;
		l->q_head = 0;
	}
	e = &l->q[(l->q_head + l->q_count) % l->q_cap];
	e->data = malloc(len);
	if (e->data == NULL)
		return MQTTSN_ERR_NO_SPACE;
	memcpy(e->data, msg, len);
	e->len = len;
	e->at = now;
	e->seq = l->seq_in++;
	l->q_count++;
	l->q_bytes += len;
	if (!held(msg, len))
		l->flush_until = l->seq_in; /* taken back below if it is refused */
	if (l->ready || l->b_count + 1 < l->q_count)
		return MQTTSN_OK; /* waits behind a frame that is ready */
	rc = offer(l, ctx, l->q_count - 1);
	if (rc != MQTTSN_OK) {
		/* Take it back: it is the last entry. */
		l->q_count--;
		l->q_bytes -= len;
		free(e->data);
		e->data = NULL;
		l->seq_in--;
		if (l->flush_until > l->seq_in)
			l->flush_until = l->seq_in;
		if (rc == MQTTSN_ERR_TOO_BIG)
			l->stats.drop_too_big++;
		if (l->q_count == 0) {
			free(l->b);
			l->b = NULL;
		}
		return rc;
	}
	return MQTTSN_OK;
}

int mqttsn_link_set_mtu(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx, size_t mtu)
{
	if (mtu < least_mtu(l->conf.encrypt) || mtu > MQTTSN_FRAME_MAX)
		return MQTTSN_ERR_INVALID;
	if (mtu == l->conf.mtu)
		return MQTTSN_OK;
	l->conf.mtu = mtu;
	/* the frame being filled was measured against the old size */
	if (l->q_count > 0 && !(l->frag && l->frag_index > 0))
		refill(l, ctx);
	return MQTTSN_OK;
}

int mqttsn_link_set_dict(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx,
                         const struct mqttsn_frame_dict *dict)
{
	if (dict != NULL && (dict->len > MQTTSN_FRAME_DICT_MAX || (dict->ptr == NULL && dict->len > 0)))
		return MQTTSN_ERR_INVALID;
	if (dict == l->conf.dict)
		return MQTTSN_OK;
	l->conf.dict = dict;
	/* the frame being filled was measured under the old one */
	if (l->q_count > 0 && !(l->frag && l->frag_index > 0))
		refill(l, ctx);
	return MQTTSN_OK;
}

const struct mqttsn_frame_dict *mqttsn_link_dict(const struct mqttsn_link *l)
{
	return l->conf.dict;
}

void mqttsn_link_flush(struct mqttsn_link *l)
{
	l->flush_until = l->seq_in;
}

uint64_t mqttsn_link_deadline(const struct mqttsn_link *l)
{
	const struct link_entry *head;

	if (l->q_count == 0)
		return UINT64_MAX;
	head = entry(l, 0);
	if (l->ready || head->seq < l->flush_until)
		return 0;
	if (head->at > UINT64_MAX - l->conf.hold_ms)
		return UINT64_MAX - 1;
	return head->at + l->conf.hold_ms;
}

/* Seal fragment l->frag_index of the head message into out. */
static int seal_fragment(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx,
                         const struct mqttsn_frame_params *p, uint8_t *out, size_t cap)
{
	const struct link_entry *e = entry(l, 0);
	uint8_t piece[MQTTSN_FRAME_MAX];
	int n;

	n = mqttsn_frame_frag_build(l->frag_id, e->data, e->len, l->frag_chunk, l->frag_index, piece, sizeof piece);
	if (n < 0)
		return n;
	return mqttsn_frame_seal(ctx, p, piece, (size_t)n, out, cap);
}

int mqttsn_link_next_frame(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx, uint64_t now, uint8_t *out,
                           size_t cap)
{
	struct mqttsn_frame_params p;
	bool last = true;
	size_t carried;
	int n;

	if (l == NULL || ctx == NULL || out == NULL)
		return MQTTSN_ERR_INVALID;
	if (l->q_count == 0 || mqttsn_link_deadline(l) > now)
		return 0;
	if (cap < l->conf.mtu)
		return MQTTSN_ERR_NO_SPACE;
	cap = l->conf.mtu;
	p = next_params(l, l->frag);
	if (l->conf.encrypt) {
		n = mqttsn_link_tx_take(&l->tx, &p.counter);
		if (n < 0)
			return n; /* nothing changed: the caller persists a mark and calls again */
	}
	if (l->frag) {
		n = seal_fragment(l, ctx, &p, out, cap);
		last = l->frag_index + 1 >= l->frag_total;
		carried = last ? 1u : 0u;
	} else {
		n = mqttsn_frame_builder_finish(l->b, ctx, &p, out, cap);
		carried = l->b_count;
	}
	if (n < 0) {
		/* Cannot happen with a builder that checked the fit; never stall on it. */
		l->stats.drop_too_big += l->frag ? 1u : l->b_count;
		pop(l, l->frag ? 1u : (l->b_count > 0 ? l->b_count : 1u));
		if (l->frag)
			l->frag_id++;
		refill(l, ctx);
		return n;
	}
	l->sealed++;
	l->stats.frames_out++;
	l->stats.bytes_out += (uint64_t)n;
	if (out[1] & MQTTSN_FRAME_F_ZIP)
		l->stats.compressed_out++;
	l->stats.msgs_out += carried;
	if (l->frag) {
		l->stats.frags_out++;
		if (!last) {
			l->frag_index++;
			return n;
		}
		l->frag_id++;
		pop(l, 1);
	} else {
		pop(l, l->b_count);
	}
	refill(l, ctx);
	return n;
}

size_t mqttsn_link_queued_bytes(const struct mqttsn_link *l)
{
	return l->q_bytes;
}

size_t mqttsn_link_queued_msgs(const struct mqttsn_link *l)
{
	return l->q_count;
}

/* ---------------------------------------------------------------- sender counter */

uint64_t mqttsn_link_tx_want(const struct mqttsn_link *l)
{
	return l->conf.encrypt ? mqttsn_link_tx_want_reserve(&l->tx) : 0;
}

void mqttsn_link_tx_persisted(struct mqttsn_link *l, uint64_t mark)
{
	mqttsn_link_tx_reserved(&l->tx, mark);
}
