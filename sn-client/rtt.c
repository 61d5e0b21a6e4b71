/*
 * rtt.c - RFC 6298 retransmission timeout (see rtt.h).
 */
#include <assert.h>
#include <stddef.h>

#include "sn-client/rtt.h"

static uint32_t clamp(const struct snc_rtt *r, uint64_t v)
{
	if (v < r->min_ms)
		return r->min_ms;
	if (v > r->max_ms)
		return r->max_ms;
	return (uint32_t)v;
}

void snc_rtt_init(struct snc_rtt *r, uint32_t initial_ms, uint32_t min_ms, uint32_t max_ms)
{
	assert(r != NULL && min_ms <= max_ms);
	r->srtt_ms = 0;
	r->rttvar_ms = 0;
	r->min_ms = min_ms;
	r->max_ms = max_ms;
	r->samples = 0;
	r->backoffs = 0;
	r->slack_ms = 0;
	r->rto_ms = clamp(r, initial_ms);
}

void snc_rtt_sample(struct snc_rtt *r, uint32_t rtt_ms)
{
	uint64_t var, g;

	if (r->samples == 0) {
		/* 2.2: the first measurement R: SRTT = R, RTTVAR = R/2. */
		r->srtt_ms = rtt_ms;
		r->rttvar_ms = rtt_ms / 2;
	} else {
		/* 2.3, alpha = 1/8, beta = 1/4; RTTVAR first, from the old SRTT.
		 * Rounded, not truncated, so that integer milliseconds converge on
		 * a steady RTT instead of undershooting it; RTTVAR rounds half
		 * down so that it can decay to 1 ms. */
		uint32_t diff = r->srtt_ms > rtt_ms ? r->srtt_ms - rtt_ms : rtt_ms - r->srtt_ms;

		r->rttvar_ms = (uint32_t)(((uint64_t)r->rttvar_ms * 3 + diff + 1) / 4);
		r->srtt_ms = (uint32_t)(((uint64_t)r->srtt_ms * 7 + rtt_ms + 4) / 8);
	}
	r->samples++;
	r->backoffs = 0;
	/* RTO = SRTT + max(G, K*RTTVAR), K = 4; G is the clock's granularity,
	 * 1 ms, or the slack given: the time a batching link below may hold a
	 * message and its answer, which round trips measured in a burst do not
	 * show as variation. */
	var = (uint64_t)r->rttvar_ms * 4;
	g = r->slack_ms > 1 ? r->slack_ms : 1;
	r->rto_ms = clamp(r, (uint64_t)r->srtt_ms + (var > g ? var : g));
}

void snc_rtt_timeout(struct snc_rtt *r)
{
	r->backoffs++;
	r->rto_ms = clamp(r, (uint64_t)r->rto_ms * 2);
}

uint32_t snc_rtt_backoff(const struct snc_rtt *r, uint32_t interval_ms, unsigned times)
{
	uint64_t v = interval_ms;

	for (unsigned i = 0; i < times && v < r->max_ms; i++)
		v *= 2;
	return clamp(r, v);
}
