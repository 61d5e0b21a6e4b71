/*
 * link_rx.c - one end of a framed link, the receiving half: open, deliver,
 * reassemble, probe; the counters to persist and the statistics
 * (codec/link.h).
 */
#include <stdlib.h>
#include <string.h>

#include "codec/link_impl.h"

/* The direction of the frames this end receives. */
static uint8_t rx_direction(const struct mqttsn_link *l)
{
	return l->conf.direction == MQTTSN_LINK_UP ? MQTTSN_LINK_DOWN : MQTTSN_LINK_UP;
}

static void count_bad(struct mqttsn_link_stats *s, int err)
{
	switch (err) {
	case MQTTSN_FRAME_ERR_MALFORMED: s->bad_malformed++; break;
	case MQTTSN_FRAME_ERR_VERSION: s->bad_version++; break;
	case MQTTSN_FRAME_ERR_KEY: s->bad_key++; break;
	case MQTTSN_FRAME_ERR_DICT: s->bad_dict++; break;
	case MQTTSN_FRAME_ERR_AUTH: s->bad_auth++; break;
	case MQTTSN_FRAME_ERR_REPLAYED: s->bad_replayed++; break;
	case MQTTSN_FRAME_ERR_TOO_OLD: s->bad_too_old++; break;
	case MQTTSN_FRAME_ERR_INFLATE: s->bad_inflate++; break;
	case MQTTSN_FRAME_ERR_BOMB: s->bad_bomb++; break;
	case MQTTSN_FRAME_ERR_FRAGMENT: s->bad_fragment++; break;
	default: s->bad_other++; break;
	}
}

/* ---------------------------------------------------------------- receiving */

int mqttsn_link_open(struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx, const uint8_t *buf, size_t len,
                     uint8_t *out, size_t cap, struct mqttsn_frame_info *info)
{
	int n;

	if (l == NULL || ctx == NULL || buf == NULL || info == NULL)
		return MQTTSN_ERR_INVALID;
	n = mqttsn_frame_open(ctx, l->conf.encrypt ? &l->conf.keys : NULL, l->conf.dicts, l->conf.ndicts, &l->rx,
	                      rx_direction(l), buf, len, out, cap, info);
	if (n < 0) {
		count_bad(&l->stats, n);
		return n;
	}
	l->stats.frames_in++;
	l->stats.bytes_in += len;
	if (info->fragment)
		l->stats.frags_in++;
	return n;
}

static int deliver_fragment(struct mqttsn_link *l, const uint8_t *content, size_t len,
                            void (*fn)(void *arg, const uint8_t *msg, size_t len), void *arg)
{
	struct mqttsn_bytes m;
	int rc;

	if (l->reasm == NULL) {
		l->reasm = malloc(sizeof *l->reasm);
		if (l->reasm == NULL) {
			l->stats.bad_other++;
			return MQTTSN_ERR_NO_SPACE;
		}
		mqttsn_frame_reasm_init(l->reasm);
		l->reasm_evicted = 0;
	}
	rc = mqttsn_frame_reasm_add(l->reasm, content, len, &m);
	l->stats.reasm_evicted += l->reasm->evicted - l->reasm_evicted;
	l->reasm_evicted = l->reasm->evicted;
	if (rc < 0) {
		count_bad(&l->stats, rc);
		return rc;
	}
	if (rc == 0)
		return 0;
	l->stats.msgs_in++;
	fn(arg, m.ptr, m.len);
	return 1;
}

int mqttsn_link_deliver(struct mqttsn_link *l, const uint8_t *content, size_t len,
                        const struct mqttsn_frame_info *info,
                        void (*fn)(void *arg, const uint8_t *msg, size_t len), void *arg)
{
	struct mqttsn_bytes m;
	size_t pos = 0;
	int rc, count = 0;

	if (l == NULL || info == NULL || fn == NULL || (content == NULL && len > 0))
		return MQTTSN_ERR_INVALID;
	if (info->fragment)
		return deliver_fragment(l, content, len, fn, arg);
	/* Each item is at least 2 octets: len / 2 + 1 passes end any content. */
	for (size_t guard = len / 2 + 1; guard > 0; guard--) {
		rc = mqttsn_frame_next(content, len, &pos, &m);
		if (rc == 0)
			return count;
		if (rc < 0) {
			count_bad(&l->stats, rc);
			return rc;
		}
		l->stats.msgs_in++;
		fn(arg, m.ptr, m.len);
		count++;
	}
	return count;
}

bool mqttsn_link_probe(const struct mqttsn_link *l, struct mqttsn_frame_ctx *ctx, const uint8_t *buf, size_t len)
{
	struct mqttsn_link_rx rx = l->rx;
	struct mqttsn_frame_info info;
	uint8_t one;
	int n;

	/*
	 * No room for the content: an encrypted frame has authenticated when
	 * it gets as far as the output (NO_SPACE), which is all a probe asks.
	 */
	n = mqttsn_frame_open(ctx, l->conf.encrypt ? &l->conf.keys : NULL, l->conf.dicts, l->conf.ndicts, &rx,
	                      rx_direction(l), buf, len, &one, sizeof one, &info);
	return n >= 0 || n == MQTTSN_ERR_NO_SPACE;
}

/* ---------------------------------------------------------------- receiver counter */

bool mqttsn_link_rx_changed(const struct mqttsn_link *l, uint64_t *highest)
{
	if (!l->rx.any || (l->rx_saved_any && l->rx.highest == l->rx_saved))
		return false;
	if (highest != NULL)
		*highest = l->rx.highest;
	return true;
}

void mqttsn_link_rx_persisted(struct mqttsn_link *l, uint64_t highest)
{
	l->rx_saved_any = true;
	l->rx_saved = highest;
}

/* ---------------------------------------------------------------- inspection */

const struct mqttsn_link_stats *mqttsn_link_stats(const struct mqttsn_link *l)
{
	return &l->stats;
}

const struct mqttsn_link_conf *mqttsn_link_conf(const struct mqttsn_link *l)
{
	return &l->conf;
}

void mqttsn_link_stats_add(struct mqttsn_link_stats *sum, const struct mqttsn_link_stats *s)
{
	sum->frames_out += s->frames_out;
	sum->frames_in += s->frames_in;
	sum->bytes_out += s->bytes_out;
	sum->bytes_in += s->bytes_in;
	sum->msgs_out += s->msgs_out;
	sum->msgs_in += s->msgs_in;
	sum->frags_out += s->frags_out;
	sum->frags_in += s->frags_in;
	sum->compressed_out += s->compressed_out;
	sum->drop_queue_full += s->drop_queue_full;
	sum->drop_too_big += s->drop_too_big;
	sum->bad_malformed += s->bad_malformed;
	sum->bad_version += s->bad_version;
	sum->bad_key += s->bad_key;
	sum->bad_dict += s->bad_dict;
	sum->bad_auth += s->bad_auth;
	sum->bad_replayed += s->bad_replayed;
	sum->bad_too_old += s->bad_too_old;
	sum->bad_inflate += s->bad_inflate;
	sum->bad_bomb += s->bad_bomb;
	sum->bad_fragment += s->bad_fragment;
	sum->bad_other += s->bad_other;
	sum->reasm_evicted += s->reasm_evicted;
}
