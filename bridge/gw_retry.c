/*
 * gw_retry.c - retransmission of the gateway's own requests (REGISTER,
 * PUBLISH QoS 1/2, PUBREL) with a retry interval learnt per client.
 *
 * The estimator is RFC 6298's: smoothed RTT and its variation from
 * request/answer pairs, Karn's rule (no sample from a retransmitted
 * request), the interval doubled on each timeout and kept until a fresh
 * sample, all clamped to [retry_min_ms, retry_max_ms]. Table 30's fixed
 * T_RETRY of 10-15 s is the initial value only: a GEO link answers in about
 * a second, an Iridium SBD session in a minute.
 */
#include "bridge/gw_int.h"

static uint32_t clamp(const struct gw *gw, uint64_t v)
{
	if (v < gw->cfg.retry_min_ms)
		return gw->cfg.retry_min_ms;
	if (v > gw->cfg.retry_max_ms)
		return gw->cfg.retry_max_ms;
	return (uint32_t)v;
}

void gw_rtt_init(struct gw *gw, struct gw_session *s)
{
	s->srtt = 0;
	s->rttvar = 0;
	s->rtt_valid = false;
	s->rto = gw->cfg.retry_initial_ms;
}

void gw_rtt_sent(struct gw *gw, struct gw_session *s, uint64_t now)
{
	(void)gw;
	s->out.sent_at = now;
	s->out.tries = 0;
	s->out.due = now + s->rto;
}

void gw_rtt_acked(struct gw *gw, struct gw_session *s, uint64_t now)
{
	uint32_t r, diff, k;

	/* Karn: an answer to a retransmitted request may answer any copy */
	if (s->out.tries != 0 || now < s->out.sent_at)
		return;
	r = now - s->out.sent_at > 0xFFFFFFFu ? 0xFFFFFFFu : (uint32_t)(now - s->out.sent_at);
	if (!s->rtt_valid) {
		/* RFC 6298 2.2 */
		s->srtt = r;
		s->rttvar = r / 2;
		s->rtt_valid = true;
	} else {
		/* RFC 6298 2.3, beta 1/4 and alpha 1/8 */
		diff = s->srtt > r ? s->srtt - r : r - s->srtt;
		s->rttvar = (3 * s->rttvar + diff) / 4;
		s->srtt = (7 * s->srtt + r) / 8;
	}
	k = 4 * s->rttvar;
	if (k < GW_RTT_GRANULARITY_MS)
		k = GW_RTT_GRANULARITY_MS;
	s->rto = clamp(gw, (uint64_t)s->srtt + k);
}

void gw_rtt_expired(struct gw *gw, struct gw_session *s, uint64_t now)
{
	if (s->out.tries >= gw->cfg.retry_count) {
		gw_sess_lose(gw, s, now, "no answer to retransmissions");
		return;
	}
	s->out.tries++;
	/* RFC 6298 5.5: back off, and keep the backed-off value until a sample */
	s->rto = clamp(gw, (uint64_t)s->rto * 2);
	s->out.due = now + s->rto;
	gw_down_transmit(gw, s, true);
	gw_sched_update(gw, s);
}
