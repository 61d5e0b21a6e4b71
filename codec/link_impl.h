/*
 * link_impl.h - the inside of struct mqttsn_link, shared by link.c (sending)
 * and link_rx.c (receiving). Not installed, not for callers: codec/link.h is
 * the interface.
 */
#ifndef SNBRIDGE_CODEC_LINK_IMPL_H
#define SNBRIDGE_CODEC_LINK_IMPL_H

#include "codec/link.h"

/* One queued message: its octets (owned) and when it was queued. */
struct link_entry {
	uint8_t *data;
	size_t len;
	uint64_t at;
	uint64_t seq; /* order of arrival, for flush */
};

struct mqttsn_link {
	struct mqttsn_link_conf conf;
	struct mqttsn_link_tx tx;
	struct mqttsn_link_rx rx;
	struct mqttsn_link_stats stats;

	/* The FIFO of queued messages: a ring of q_cap entries, q_count from q_head. */
	struct link_entry *q;
	size_t q_cap, q_head, q_count, q_bytes;
	uint64_t seq_in;      /* messages ever queued: the next one's seq */
	uint64_t flush_until; /* messages with seq below it are due at once */

	/*
	 * The frame being filled mirrors the first b_count queued messages;
	 * ready: the next message did not fit, the frame leaves at once.
	 * frag: the first queued message goes out in fragments instead.
	 */
	struct mqttsn_frame_builder *b;
	size_t b_count;
	bool ready;
	bool frag;
	size_t frag_index, frag_chunk, frag_total;
	uint8_t frag_id;      /* the next fragmented message's id */
	uint64_t sealed;      /* frames sealed: decides the wide counter */

	/* Receiving. */
	struct mqttsn_frame_reasm *reasm;
	uint64_t reasm_evicted; /* reasm->evicted already counted in stats */
	bool rx_saved_any;
	uint64_t rx_saved;      /* the highest counter the caller persisted */
};

#endif
