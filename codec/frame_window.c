/*
 * frame_window.c - frame counters: the sender's reserved counter and the
 * receiver's replay window (codec/frame.h).
 */
#include "codec/frame.h"

/* ---------------------------------------------------------------- sender */

void mqttsn_link_tx_init(struct mqttsn_link_tx *tx, uint64_t mark)
{
	tx->next = mark;
	tx->limit = mark;
}

uint64_t mqttsn_link_tx_want_reserve(const struct mqttsn_link_tx *tx)
{
	if (tx->next < tx->limit)
		return 0;
	if (tx->next > UINT64_MAX - MQTTSN_LINK_RESERVE)
		return 0; /* exhausted: take() keeps failing, a new key is due */
	return tx->next + MQTTSN_LINK_RESERVE;
}

void mqttsn_link_tx_reserved(struct mqttsn_link_tx *tx, uint64_t mark)
{
	if (mark > tx->limit)
		tx->limit = mark;
}

int mqttsn_link_tx_take(struct mqttsn_link_tx *tx, uint64_t *ctr)
{
	if (tx->next >= tx->limit)
		return MQTTSN_FRAME_ERR_COUNTER;
	*ctr = tx->next++;
	return MQTTSN_OK;
}

/* ---------------------------------------------------------------- receiver */

void mqttsn_link_rx_init(struct mqttsn_link_rx *rx, uint64_t floor)
{
	rx->highest = floor;
	rx->seen = 0;
	rx->floor = floor;
	rx->any = false;
}

/*
 * Of the counters whose low bits are low, the one nearest the reference
 * (the highest seen, or the floor before any): a sender may run up to half
 * the low range ahead of what the receiver saw, or fall that far behind.
 */
uint64_t mqttsn_link_rx_expand(const struct mqttsn_link_rx *rx, uint32_t low, unsigned bits)
{
	uint64_t ref = rx->highest;
	uint64_t span = (uint64_t)1 << bits;
	uint64_t half = span >> 1;
	uint64_t c = (ref & ~(span - 1)) | ((uint64_t)low & (span - 1));

	if (c > ref && c - ref > half && c >= span)
		c -= span;
	else if (c < ref && ref - c > half && c <= UINT64_MAX - span)
		c += span;
	return c;
}

int mqttsn_link_rx_check(const struct mqttsn_link_rx *rx, uint64_t ctr)
{
	uint64_t d;

	if (ctr < rx->floor)
		return MQTTSN_FRAME_ERR_TOO_OLD;
	if (!rx->any || ctr > rx->highest)
		return MQTTSN_OK;
	d = rx->highest - ctr;
	if (d >= MQTTSN_LINK_WINDOW)
		return MQTTSN_FRAME_ERR_TOO_OLD;
	if (rx->seen & ((uint64_t)1 << d))
		return MQTTSN_FRAME_ERR_REPLAYED;
	return MQTTSN_OK;
}

void mqttsn_link_rx_mark(struct mqttsn_link_rx *rx, uint64_t ctr)
{
	if (!rx->any) {
		rx->any = true;
		rx->highest = ctr;
		rx->seen = 1;
		return;
	}
	if (ctr > rx->highest) {
		uint64_t d = ctr - rx->highest;

		rx->seen = d >= MQTTSN_LINK_WINDOW ? 0 : rx->seen << d;
		rx->seen |= 1;
		rx->highest = ctr;
		return;
	}
	if (rx->highest - ctr < MQTTSN_LINK_WINDOW)
		rx->seen |= (uint64_t)1 << (rx->highest - ctr);
}
