/*
 * request_answer.c - the gateway's answers to requests (REGACK, PUBACK,
 * PUBREC, PUBCOMP, SUBACK, UNSUBACK, WILLTOPICRESP, WILLMSGRESP) and the
 * retransmission of those still unanswered.
 */
#include <string.h>

#include "codec/topic.h"
#include "sn-client/client_impl.h"

/* ---------------------------------------------------------------- answers */

/* A name could not be registered: the publishes waiting for it fail too. */
static void fail_waiting(struct snc *c, const struct snc_topic *t, int rc)
{
	for (size_t i = 0; i < c->nreqs; i++) {
		struct req *r = c->reqs[i];

		if (r->kind == REQ_PUBLISH && r->state == RQ_QUEUED &&
		    r->m.topic.kind == SNC_TOPIC_NAME && r->m.topic.len == t->len &&
		    memcmp(r->m.topic.name, t->name, t->len) == 0)
			snc_req_finish(r, rc);
	}
}

static void on_regack(struct snc *c, struct req *r, const struct mqttsn_msg *m, uint64_t now)
{
	uint8_t rc = m->u.regack.rc;

	snc_req_sample(c, r, now);
	if (rc == MQTTSN_RC_ACCEPTED) {
		r->topic_id = m->u.regack.topic_id;
		if (snc_tmap_put(c, r->topic_id, false, r->m.topic.name, r->m.topic.len) != SNC_OK) {
			snc_req_finish(r, SNC_ERR_NOMEM);
			fail_waiting(c, &r->m.topic, SNC_ERR_NOMEM);
			return;
		}
		snc_req_finish(r, 0);
		return;
	}
	if (rc == MQTTSN_RC_CONGESTION && snc_req_defer(c, r, rc, now))
		return;
	snc_req_finish(r, rc);
	fail_waiting(c, &r->m.topic, rc);
}

static void on_puback(struct snc *c, struct req *r, const struct mqttsn_msg *m, uint64_t now)
{
	uint8_t rc = m->u.puback.rc;

	snc_req_sample(c, r, now);
	switch (rc) {
	case MQTTSN_RC_ACCEPTED:
		snc_req_finish(r, 0);
		return;
	case MQTTSN_RC_INVALID_TOPIC_ID:
		/* The gateway forgot the id (a lost session): register again. */
		if (r->m.topic.kind == SNC_TOPIC_NAME && r->reregs < SNC_MAX_REREGISTER) {
			snc_tmap_forget(c, r->topic_id);
			r->reregs++;
			r->state = RQ_QUEUED;
			r->retransmitted = false;
			return;
		}
		break;
	case MQTTSN_RC_CONGESTION:
		/* The source waits as long: sending more now would only add to it. */
		if (snc_req_defer(c, r, rc, now))
			c->src_not_before = r->not_before;
		return;
	default:
		break;
	}
	snc_req_finish(r, rc);
}

/* WILLTOPICRESP / WILLMSGRESP accepted: later CONNECTs carry the new Will. */
static void will_store(struct snc *c, const struct req *r)
{
	int rc = SNC_OK;

	if (r->kind == REQ_WILLTOPIC) {
		if (r->m.topic.len == 0)
			rc = snc_set_will(c, NULL, 0, NULL, 0, 0, false);
		else
			rc = snc_set_will(c, r->m.topic.name, r->m.topic.len, c->will_msg,
			                  c->has_will ? c->will_len : 0, r->m.qos, r->m.retain);
	} else if (c->has_will) {
		rc = snc_set_will(c, c->will_topic, c->will_topic_len, r->m.payload, r->m.len,
		                  c->will_qos, c->will_retain);
	}
	/* Out of memory here keeps the old Will for the next CONNECT; the
	 * gateway has the new one, which is what matters now. */
	(void)rc;
}

bool snc_req_input(struct snc *c, const struct mqttsn_msg *m, uint64_t now)
{
	struct req *r;

	switch (m->type) {
	case MQTTSN_REGACK:
		r = snc_req_find(c, REQ_REGISTER, RQ_SENT, true, m->u.regack.msg_id);
		if (r != NULL)
			on_regack(c, r, m, now);
		return r != NULL;
	case MQTTSN_PUBACK:
		r = snc_req_find(c, REQ_PUBLISH, RQ_SENT, true, m->u.puback.msg_id);
		if (r != NULL)
			on_puback(c, r, m, now);
		return r != NULL;
	case MQTTSN_PUBREC:
		r = snc_req_find(c, REQ_PUBLISH, RQ_SENT, true, m->u.msg_id);
		if (r != NULL && r->m.qos == 2) {
			snc_req_sample(c, r, now);
			snc_req_send_first(c, r, RQ_PUBREL, now);
			return true;
		}
		/* Our PUBREL was lost and the gateway repeats itself. */
		r = snc_req_find(c, REQ_PUBLISH, RQ_PUBREL, true, m->u.msg_id);
		if (r != NULL)
			snc_req_send_now(c, r, now);
		return r != NULL;
	case MQTTSN_PUBCOMP:
		r = snc_req_find(c, REQ_PUBLISH, RQ_PUBREL, true, m->u.msg_id);
		if (r != NULL) {
			snc_req_sample(c, r, now);
			snc_req_finish(r, 0);
		}
		return r != NULL;
	case MQTTSN_SUBACK:
		r = snc_req_find(c, REQ_SUBSCRIBE, RQ_SENT, true, m->u.suback.msg_id);
		if (r == NULL)
			return false;
		snc_req_sample(c, r, now);
		if (m->u.suback.rc == MQTTSN_RC_CONGESTION && snc_req_defer(c, r, m->u.suback.rc, now))
			return true;
		r->granted_qos = m->u.suback.flags.qos;
		r->topic_id = m->u.suback.topic_id;
		/* 6.9: a name without wildcards gets its id here, as a REGACK would. */
		if (m->u.suback.rc == MQTTSN_RC_ACCEPTED && r->m.topic.kind == SNC_TOPIC_NAME &&
		    r->topic_id != 0 && !mqttsn_topic_has_wildcard(r->m.topic.name, r->m.topic.len))
			(void)snc_tmap_put(c, r->topic_id, false, r->m.topic.name, r->m.topic.len);
		snc_req_finish(r, m->u.suback.rc);
		return true;
	case MQTTSN_UNSUBACK:
		r = snc_req_find(c, REQ_UNSUBSCRIBE, RQ_SENT, true, m->u.msg_id);
		if (r != NULL) {
			snc_req_sample(c, r, now);
			snc_req_finish(r, 0);
		}
		return r != NULL;
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		r = snc_req_find(c, m->type == MQTTSN_WILLTOPICRESP ? REQ_WILLTOPIC : REQ_WILLMSG, RQ_SENT,
		         false, 0);
		if (r == NULL)
			return false;
		snc_req_sample(c, r, now);
		if (m->u.rc == MQTTSN_RC_CONGESTION && snc_req_defer(c, r, m->u.rc, now))
			return true;
		if (m->u.rc == MQTTSN_RC_ACCEPTED)
			will_store(c, r);
		snc_req_finish(r, m->u.rc);
		return true;
	default:
		return false;
	}
}

/* ---------------------------------------------------------------- time */

void snc_req_tick(struct snc *c, uint64_t now, bool *lost)
{
	for (size_t i = 0; i < c->nreqs; i++) {
		struct req *r = c->reqs[i];

		if ((r->state != RQ_SENT && r->state != RQ_PUBREL) || now < r->deadline)
			continue;
		if (++r->retries > c->cfg.retry_count) {
			*lost = true;
			return;
		}
		snc_core_timeout(c, r->sent_at, now);
		c->st.retransmissions++;
		r->retransmitted = true;
		r->interval_ms = snc_core_backoff(c, r->interval_ms, 1);
		r->deadline = now + r->interval_ms;
		snc_req_send_now(c, r, now);
	}
}

uint64_t snc_req_deadline(const struct snc *c, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < c->nreqs; i++) {
		const struct req *r = c->reqs[i];

		if ((r->state == RQ_SENT || r->state == RQ_PUBREL) && r->deadline < next)
			next = r->deadline;
		if (r->state == RQ_QUEUED && r->not_before > now && r->not_before < next &&
		    c->state == SNC_STATE_ACTIVE)
			next = r->not_before;
	}
	if (c->has_src && c->state == SNC_STATE_ACTIVE && c->src_not_before > now &&
	    c->src_not_before < next)
		next = c->src_not_before;
	return next;
}
