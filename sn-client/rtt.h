/*
 * rtt.h - the retransmission timeout, estimated from measured round trips
 * as RFC 6298 does for TCP: a smoothed round trip (SRTT) and its variation
 * (RTTVAR), RTO = SRTT + 4 * RTTVAR, doubled on every timeout (back-off)
 * until a new measurement comes, and clamped to a floor and a ceiling.
 *
 * The caller applies Karn's rule: a reply to a message that was sent more
 * than once is not a measurement, because it is unknown which copy it
 * answers. All times are milliseconds.
 */
#ifndef SNBRIDGE_SNC_RTT_H
#define SNBRIDGE_SNC_RTT_H

#include <stdbool.h>
#include <stdint.h>

struct snc_rtt {
	uint32_t srtt_ms;
	uint32_t rttvar_ms;
	uint32_t rto_ms;      /* what the next transmission waits */
	uint32_t min_ms;
	uint32_t max_ms;
	uint32_t samples;     /* measurements taken */
	uint32_t backoffs;    /* timeouts since the last measurement */
	uint32_t slack_ms;    /* the G of RFC 6298: the least margin over SRTT (0: 1 ms) */
};

/*
 * Start with no measurement: RTO = initial_ms (RFC 6298 2.1), clamped to
 * [min_ms, max_ms]. min_ms must not exceed max_ms.
 */
void snc_rtt_init(struct snc_rtt *r, uint32_t initial_ms, uint32_t min_ms, uint32_t max_ms);

/* One measurement (RFC 6298 2.2, 2.3): updates SRTT, RTTVAR and RTO, ends any back-off. */
void snc_rtt_sample(struct snc_rtt *r, uint32_t rtt_ms);

/* A retransmission timer expired (RFC 6298 5.5): RTO doubles, up to the ceiling. */
void snc_rtt_timeout(struct snc_rtt *r);

/* interval doubled `times` times, clamped to the ceiling: the wait before
 * the next retransmission of a message already sent times + 1 times. */
uint32_t snc_rtt_backoff(const struct snc_rtt *r, uint32_t interval_ms, unsigned times);

#endif
