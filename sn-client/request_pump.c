/*
 * request_pump.c - starting requests when the rules allow: one REGISTER,
 * one SUBSCRIBE or UNSUBSCRIBE and one Will update outstanding at a time
 * (6.5, 6.9, 6.4), QoS 1/2 publishes up to the window (6.6), publishes in
 * the order they were started, a name's REGISTER before its first publish,
 * and the source's messages after the application's.
 */
#include <string.h>

#include "sn-client/client_impl.h"

/* ---------------------------------------------------------------- pumping */

static bool kind_in(enum req_kind k, unsigned mask)
{
	return (mask & (1u << k)) != 0;
}

/* Starts the first queued request of the kinds in mask, if none of them is out. */
static bool start_one(struct snc *c, unsigned mask, uint64_t now)
{
	struct req *first = NULL;

	for (size_t i = 0; i < c->nreqs; i++) {
		struct req *r = c->reqs[i];

		if (!kind_in(r->kind, mask))
			continue;
		if (r->state == RQ_SENT)
			return false;
		if (first == NULL && r->state == RQ_QUEUED && r->not_before <= now)
			first = r;
	}
	if (first == NULL)
		return false;
	snc_req_send_first(c, first, RQ_SENT, now);
	return true;
}

/* A REGISTER for name unless one is under way: true when one was made. */
static bool ensure_register(struct snc *c, const struct snc_topic *t)
{
	struct req *r;

	for (size_t i = 0; i < c->nreqs; i++) {
		r = c->reqs[i];
		if (r->kind == REQ_REGISTER && r->state != RQ_DONE && r->m.topic.len == t->len &&
		    memcmp(r->m.topic.name, t->name, t->len) == 0)
			return false;
	}
	r = snc_req_new(c, REQ_REGISTER, t->len);
	if (r == NULL)
		return false; /* tried again on the next pump */
	snc_req_keep_topic(r, t);
	return true;
}

static size_t in_flight(const struct snc *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nreqs; i++) {
		const struct req *r = c->reqs[i];

		if (r->kind == REQ_PUBLISH && r->m.qos > 0 &&
		    (r->state == RQ_SENT || r->state == RQ_PUBREL))
			n++;
	}
	return n;
}

/* Starts publishes in order while the window and their topics allow. */
static bool pump_publishes(struct snc *c, uint64_t now)
{
	size_t inflight = in_flight(c);
	bool progress = false;

	for (size_t i = 0; i < c->nreqs; i++) {
		struct req *r = c->reqs[i];

		if (r->kind != REQ_PUBLISH || r->state != RQ_QUEUED)
			continue;
		/* Head of line: nothing overtakes a publish that cannot go yet. */
		if (r->not_before > now)
			break;
		if (r->resume == SNC_CLAIM_PUBREL) {
			/* Past PUBREC before: only the PUBREL is left, no topic needed. */
			if (inflight >= c->cfg.inflight_window)
				break;
			c->st.resumed++;
			snc_req_send_first(c, r, RQ_PUBREL, now);
			if (r->state != RQ_DONE)
				inflight++;
			progress = true;
			continue;
		}
		if (r->m.topic.kind == SNC_TOPIC_NAME) {
			r->topic_id = snc_tmap_id(c, r->m.topic.name, r->m.topic.len);
			if (r->topic_id == 0) {
				progress |= ensure_register(c, &r->m.topic);
				break;
			}
		}
		if (r->m.qos > 0 && inflight >= c->cfg.inflight_window)
			break;
		if (r->resume != SNC_CLAIM_NONE)
			c->st.resumed++;
		snc_req_send_first(c, r, RQ_SENT, now);
		if (r->state != RQ_DONE && r->m.qos <= 0)
			snc_req_finish(r, SNC_OK); /* no answer comes for QoS 0 and -1 */
		else if (r->state != RQ_DONE)
			inflight++;
		progress = true;
	}
	return progress;
}

static bool app_publish_waiting(const struct snc *c)
{
	for (size_t i = 0; i < c->nreqs; i++)
		if (c->reqs[i]->kind == REQ_PUBLISH && c->reqs[i]->state == RQ_QUEUED)
			return true;
	return false;
}

/* Takes the source's next message when there is room for it. */
static bool pull_source(struct snc *c, uint64_t now)
{
	struct snc_message m;
	struct req *r;

	if (!c->has_src || now < c->src_not_before || app_publish_waiting(c) ||
	    in_flight(c) >= c->cfg.inflight_window || !snc_req_room(c))
		return false;
	if (c->src.next(c->src_ctx, &m) != SNC_OK)
		return false;
	/* A message that can never go out (too big for this link) would block
	 * the source for ever: it is refused like the gateway would refuse it. */
	if (snc_message_check(&m) != SNC_OK ||
	    (m.topic.kind == SNC_TOPIC_NAME && 6u + m.topic.len > c->cfg.max_msg) ||
	    snc_req_make_publish(c, &m, NULL, &r) != SNC_OK) {
		c->src.done(c->src_ctx, m.seq, MQTTSN_RC_NOT_SUPPORTED);
		return true;
	}
	r->token = 0;
	r->from_source = true;
	/* Sent before (and the connection, or the station, went down): the
	 * same msg id, so that the gateway recognises it (6.6). */
	if (m.qos > 0 && m.claim != SNC_CLAIM_NONE && m.msg_id != 0) {
		r->msg_id = m.msg_id;
		r->resume = m.qos == 2 && m.claim == SNC_CLAIM_PUBREL ? SNC_CLAIM_PUBREL : SNC_CLAIM_SENT;
	}
	if (snc_req_size_check(c, r) != SNC_OK) {
		snc_req_unmake(c, r);
		c->src.done(c->src_ctx, m.seq, MQTTSN_RC_NOT_SUPPORTED);
		return true;
	}
	if (m.topic.kind == SNC_TOPIC_NAME)
		r->topic_id = 0;
	return true;
}

bool snc_req_pump(struct snc *c, uint64_t now)
{
	bool progress = false;

	if (c->state != SNC_STATE_ACTIVE)
		return false;
	progress |= start_one(c, 1u << REQ_REGISTER, now);
	progress |= start_one(c, 1u << REQ_SUBSCRIBE | 1u << REQ_UNSUBSCRIBE, now);
	progress |= start_one(c, 1u << REQ_WILLTOPIC | 1u << REQ_WILLMSG, now);
	progress |= pump_publishes(c, now);
	progress |= pull_source(c, now);
	return progress;
}
