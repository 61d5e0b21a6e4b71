/*
 * request.c - the client's requests that the gateway answers by message id
 * or in turn: PUBLISH (6.6), REGISTER (6.5), SUBSCRIBE (6.9), UNSUBSCRIBE
 * (6.10), WILLTOPICUPD and WILLMSGUPD (6.4): their list, their messages on
 * the wire, and the snc_*_start() calls that make them. What starts them is
 * request_pump.c; what ends them, request_answer.c.
 *
 * Requests wait in the order they were made. A finished request stays in
 * the list as RQ_DONE until settle() hands out its event.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "codec/topic.h"
#include "sn-client/client_impl.h"

/* ---------------------------------------------------------------- the list */

bool snc_req_room(const struct snc *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nreqs; i++)
		if (c->reqs[i]->token != 0 || c->reqs[i]->from_source)
			n++;
	return n < c->cfg.max_requests;
}

/* A new request at the end of the list, with a buffer of extra octets. */
struct req *snc_req_new(struct snc *c, enum req_kind kind, size_t extra)
{
	struct req *r;

	if (c->nreqs >= c->reqcap)
		return NULL;
	r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->buf = malloc(extra ? extra : 1);
	if (r->buf == NULL) {
		free(r);
		return NULL;
	}
	r->kind = kind;
	r->state = RQ_QUEUED;
	c->reqs[c->nreqs++] = r;
	return r;
}

void snc_req_free(struct req *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

/* Copies a topic's name into r->buf at offset 0; returns the octets used. */
size_t snc_req_keep_topic(struct req *r, const struct snc_topic *t)
{
	r->m.topic = *t;
	if (t->kind == SNC_TOPIC_PREDEFINED || t->len == 0) {
		r->m.topic.name = NULL;
		r->m.topic.len = t->kind == SNC_TOPIC_PREDEFINED ? 0 : t->len;
		return 0;
	}
	memcpy(r->buf, t->name, t->len);
	r->m.topic.name = (const char *)r->buf;
	return t->len;
}

static uint32_t new_token(struct snc *c)
{
	uint32_t t = c->next_token++;

	if (c->next_token == 0)
		c->next_token = 1;
	return t;
}

static bool msg_id_busy(const struct snc *c, uint16_t id)
{
	for (size_t i = 0; i < c->nreqs; i++)
		if (c->reqs[i]->msg_id == id && c->reqs[i]->state != RQ_DONE)
			return true;
	/* An id the source will resume with: taking it would make the
	 * gateway see our new message as a repeat of the old one. */
	return c->has_src && c->src.msg_id_marked != NULL && c->src.msg_id_marked(c->src_ctx, id);
}

/* 5.3.6: any 16-bit value but 0, not one in use. */
static uint16_t new_msg_id(struct snc *c)
{
	for (unsigned tries = 0; tries < 65536u; tries++) {
		uint16_t id = c->next_msg_id++;

		if (c->next_msg_id == 0)
			c->next_msg_id = 1;
		if (id != 0 && !msg_id_busy(c, id))
			return id;
	}
	/* Unreachable short of 65535 ids in use at once. */
	return 1;
}

void snc_req_finish(struct req *r, int rc)
{
	r->state = RQ_DONE;
	r->rc = rc;
}

struct req *snc_req_take_done(struct snc *c)
{
	for (size_t i = 0; i < c->nreqs; i++) {
		struct req *r = c->reqs[i];

		if (r->state == RQ_DONE) {
			memmove(&c->reqs[i], &c->reqs[i + 1], (c->nreqs - i - 1) * sizeof *c->reqs);
			c->nreqs--;
			return r;
		}
	}
	return NULL;
}

void snc_req_fail_all(struct snc *c, int rc)
{
	for (size_t i = 0; i < c->nreqs; i++) {
		struct req *r = c->reqs[i];

		if (r->state == RQ_DONE)
			continue;
		/* A refusal of the connection is not a refusal of the message:
		 * the source keeps it. */
		snc_req_finish(r, r->from_source && rc > 0 ? SNC_ERR_REFUSED : rc);
	}
}

struct req *snc_req_find(struct snc *c, enum req_kind kind, enum req_state state, bool by_id,
                        uint16_t msg_id)
{
	for (size_t i = 0; i < c->nreqs; i++) {
		struct req *r = c->reqs[i];

		if (r->kind == kind && r->state == state && (!by_id || r->msg_id == msg_id))
			return r;
	}
	return NULL;
}

/* ---------------------------------------------------------------- the wire */

static uint16_t short_id(const struct snc_topic *t)
{
	return (uint16_t)((unsigned)(uint8_t)t->name[0] << 8 | (uint8_t)t->name[1]);
}

static uint8_t id_type(enum snc_topic_kind k)
{
	switch (k) {
	case SNC_TOPIC_PREDEFINED:
		return MQTTSN_TOPIC_PREDEFINED;
	case SNC_TOPIC_SHORT:
		return MQTTSN_TOPIC_SHORT;
	default:
		return MQTTSN_TOPIC_NORMAL;
	}
}

/* The message r sends now (the DUP flag from r->retransmitted). */
static void build(const struct req *r, struct mqttsn_msg *m)
{
	memset(m, 0, sizeof *m);
	switch (r->kind) {
	case REQ_PUBLISH:
		if (r->state == RQ_PUBREL) {
			m->type = MQTTSN_PUBREL;
			m->u.msg_id = r->msg_id;
			break;
		}
		m->type = MQTTSN_PUBLISH;
		m->u.publish.flags.dup = r->retransmitted;
		m->u.publish.flags.qos = r->m.qos;
		m->u.publish.flags.retain = r->m.retain;
		m->u.publish.flags.topic_id_type = id_type(r->m.topic.kind);
		m->u.publish.topic_id = r->topic_id;
		m->u.publish.msg_id = r->m.qos > 0 ? r->msg_id : 0;
		m->u.publish.data.ptr = r->m.payload;
		m->u.publish.data.len = r->m.len;
		break;
	case REQ_REGISTER:
		m->type = MQTTSN_REGISTER;
		m->u.reg.msg_id = r->msg_id;
		m->u.reg.topic_name.ptr = (const uint8_t *)r->m.topic.name;
		m->u.reg.topic_name.len = r->m.topic.len;
		break;
	case REQ_SUBSCRIBE:
	case REQ_UNSUBSCRIBE:
		m->type = r->kind == REQ_SUBSCRIBE ? MQTTSN_SUBSCRIBE : MQTTSN_UNSUBSCRIBE;
		m->u.subscribe.flags.dup = r->kind == REQ_SUBSCRIBE && r->retransmitted;
		m->u.subscribe.flags.qos = r->kind == REQ_SUBSCRIBE ? r->m.qos : 0;
		m->u.subscribe.flags.topic_id_type = id_type(r->m.topic.kind);
		m->u.subscribe.msg_id = r->msg_id;
		m->u.subscribe.topic_id = r->m.topic.id;
		m->u.subscribe.topic_name.ptr = (const uint8_t *)r->m.topic.name;
		m->u.subscribe.topic_name.len = r->m.topic.len;
		break;
	case REQ_WILLTOPIC:
		m->type = MQTTSN_WILLTOPICUPD;
		m->u.willtopic.flags.qos = r->m.qos;
		m->u.willtopic.flags.retain = r->m.retain;
		m->u.willtopic.topic.ptr = (const uint8_t *)r->m.topic.name;
		m->u.willtopic.topic.len = r->m.topic.len;
		break;
	case REQ_WILLMSG:
		m->type = MQTTSN_WILLMSGUPD;
		m->u.willmsg.msg.ptr = r->m.payload;
		m->u.willmsg.msg.len = r->m.len;
		break;
	}
}

/* Whether the message r will send fits max_msg (checked when it is made). */
int snc_req_size_check(const struct snc *c, struct req *r)
{
	struct mqttsn_msg m;
	int n;

	build(r, &m);
	n = mqttsn_encoded_len(&m);
	if (n == MQTTSN_ERR_TOO_BIG || (n > 0 && (uint32_t)n > c->cfg.max_msg))
		return SNC_ERR_TOO_BIG;
	return n > 0 ? SNC_OK : SNC_ERR_INVALID;
}

void snc_req_send_now(struct snc *c, struct req *r, uint64_t now)
{
	struct mqttsn_msg m;

	build(r, &m);
	if (snc_core_send(c, &m, false, now) != SNC_OK)
		snc_req_finish(r, SNC_ERR_TOO_BIG);
	r->sent_at = now;
}

/*
 * The source's mark for r entering state, before its packet leaves; false
 * when the source could not record it (see struct snc_source): a PUBLISH
 * then goes back to the source, a PUBREL waits for the next PUBREC.
 */
static bool mark(struct snc *c, struct req *r, enum req_state state, uint64_t now)
{
	enum snc_claim claim = state == RQ_PUBREL ? SNC_CLAIM_PUBREL : SNC_CLAIM_SENT;

	if (r->kind != REQ_PUBLISH || !r->from_source || r->m.qos <= 0 || !c->has_src ||
	    c->src.mark == NULL)
		return true;
	if (c->src.mark(c->src_ctx, r->m.seq, r->msg_id, claim) == SNC_OK)
		return true;
	c->st.mark_failed++;
	c->src_not_before = now + snc_core_backoff(c, c->rtt.rto_ms, 1);
	if (state == RQ_SENT)
		snc_req_finish(r, SNC_ERR_IO);
	return false;
}

/* First transmission of a step (PUBLISH, or PUBREL after PUBREC): a fresh timer. */
void snc_req_send_first(struct snc *c, struct req *r, enum req_state state, uint64_t now)
{
	bool needs_id = r->kind == REQ_REGISTER || r->kind == REQ_SUBSCRIBE ||
	                r->kind == REQ_UNSUBSCRIBE || (r->kind == REQ_PUBLISH && r->m.qos > 0);

	if (needs_id && r->msg_id == 0)
		r->msg_id = new_msg_id(c);
	if (!mark(c, r, state, now))
		return;
	r->state = state;
	r->retries = 0;
	/* A resumed message may have been received before: DUP (5.3.4), and no
	 * round-trip sample, since the answer may be to the earlier copy. */
	r->retransmitted = r->resume != SNC_CLAIM_NONE;
	r->resume = SNC_CLAIM_NONE;
	r->interval_ms = c->rtt.rto_ms;
	r->deadline = now + r->interval_ms;
	snc_req_send_now(c, r, now);
}

/*
 * The answer to r came: a round-trip sample unless r was resent (Karn).
 * And, as TCP restarts its timer when an acknowledgement shows progress
 * (RFC 6298 5.3), every request still waiting that was sent after r gets
 * at least a full RTO from now: it stood behind r on the way (a window of
 * publishes leaves in a burst, over a slow link one after the other, and
 * batched), so its answer is due later than r's. A request sent before r
 * keeps its timer: it may be lost, and answers to later ones must not
 * starve its retransmission.
 */
void snc_req_sample(struct snc *c, const struct req *r, uint64_t now)
{
	if (!r->retransmitted && now >= r->sent_at) {
		snc_rtt_sample(&c->rtt, (uint32_t)(now - r->sent_at));
		c->st.rtt_samples++;
	}
	for (size_t i = 0; i < c->nreqs; i++) {
		struct req *q = c->reqs[i];
		uint64_t due = now + c->rtt.rto_ms;

		if (q == r || (q->state != RQ_SENT && q->state != RQ_PUBREL) || q->retries > 0 ||
		    q->sent_at < r->sent_at || q->deadline >= due)
			continue;
		q->deadline = due;
	}
}

/*
 * The gateway answered "congestion" (5.3.10): send again after a back-off,
 * as a new message, or give up after retry_count of them. A source message
 * never gives up: the queue keeps it for as long as the gateway (or its
 * broker) needs, the back-off capped at retry_max_ms.
 */
bool snc_req_defer(struct snc *c, struct req *r, int rc, uint64_t now)
{
	c->st.congestion++;
	/* Counted apart from retransmissions, which each new send starts afresh. */
	if (++r->congested > c->cfg.retry_count && !r->from_source) {
		snc_req_finish(r, rc);
		return false;
	}
	r->state = RQ_QUEUED;
	r->retransmitted = false;
	r->not_before = now + snc_core_backoff(c, c->rtt.rto_ms, r->congested);
	return true;
}

/* ---------------------------------------------------------------- making */

/* Counts and checks shared by every snc_*_start; *out set on SNC_OK. */
static int make(struct snc *c, enum req_kind kind, size_t extra, uint32_t *token, struct req **out)
{
	struct req *r;

	if (!snc_req_room(c))
		return SNC_ERR_FULL;
	r = snc_req_new(c, kind, extra);
	if (r == NULL)
		return SNC_ERR_NOMEM;
	r->token = new_token(c);
	if (token != NULL)
		*token = r->token;
	*out = r;
	return SNC_OK;
}

/* Undo make() for a request that failed its checks. */
void snc_req_unmake(struct snc *c, struct req *r)
{
	assert(c->nreqs > 0 && c->reqs[c->nreqs - 1] == r);
	c->nreqs--;
	snc_req_free(r);
}

static int made(struct snc *c, struct req *r, uint64_t now)
{
	int rc = snc_req_size_check(c, r);

	if (rc != SNC_OK) {
		snc_req_unmake(c, r);
		return rc;
	}
	snc_core_settle(c, now);
	return SNC_OK;
}

/* Copies m into a new request (topic name, then payload, in r->buf). */
int snc_req_make_publish(struct snc *c, const struct snc_message *m, uint32_t *token,
                        struct req **out)
{
	struct req *r;
	size_t off;
	int rc = make(c, REQ_PUBLISH, m->topic.len + m->len, token, &r);

	if (rc != SNC_OK)
		return rc;
	r->m = *m;
	off = snc_req_keep_topic(r, &m->topic);
	if (m->len > 0)
		memcpy(r->buf + off, m->payload, m->len);
	r->m.payload = m->len > 0 ? r->buf + off : NULL;
	if (m->topic.kind == SNC_TOPIC_PREDEFINED)
		r->topic_id = m->topic.id;
	else if (m->topic.kind == SNC_TOPIC_SHORT)
		r->topic_id = short_id(&m->topic);
	else
		r->topic_id = 1; /* for the size check; the real one comes later */
	*out = r;
	return SNC_OK;
}

int snc_publish_start(struct snc *c, const struct snc_message *m, uint32_t *token, uint64_t now)
{
	struct req *r;
	int rc;

	assert(c != NULL && m != NULL);
	rc = snc_message_check(m);
	if (rc != SNC_OK)
		return rc;
	if (m->topic.kind == SNC_TOPIC_NAME && 6u + m->topic.len > c->cfg.max_msg)
		return SNC_ERR_TOO_BIG; /* its REGISTER could never go */
	rc = snc_req_make_publish(c, m, token, &r);
	if (rc != SNC_OK)
		return rc;
	/* Marks are the source's business. */
	r->m.msg_id = 0;
	r->m.claim = SNC_CLAIM_NONE;
	rc = snc_req_size_check(c, r);
	if (rc != SNC_OK) {
		snc_req_unmake(c, r);
		return rc;
	}
	if (m->qos == -1) {
		/* 6.8: no connection, no answer; it leaves now, whatever the state. */
		snc_req_send_now(c, r, now);
		if (r->state != RQ_DONE)
			snc_req_finish(r, SNC_OK);
	} else if (m->topic.kind == SNC_TOPIC_NAME) {
		r->topic_id = 0;
	}
	snc_core_settle(c, now);
	return SNC_OK;
}

int snc_register_start(struct snc *c, const char *name, size_t len, uint32_t *token, uint64_t now)
{
	struct snc_topic t = { SNC_TOPIC_NAME, name, len, 0 };
	struct req *r;
	int rc;

	assert(c != NULL);
	if (snc_topic_check(&t, false) != SNC_OK)
		return SNC_ERR_INVALID;
	rc = make(c, REQ_REGISTER, len, token, &r);
	if (rc != SNC_OK)
		return rc;
	snc_req_keep_topic(r, &t);
	return made(c, r, now);
}

static int make_sub(struct snc *c, enum req_kind kind, const struct snc_topic *t, int qos,
                    uint32_t *token, uint64_t now)
{
	struct req *r;
	int rc;

	if (snc_topic_check(t, true) != SNC_OK || qos < 0 || qos > 2)
		return SNC_ERR_INVALID;
	rc = make(c, kind, t->len, token, &r);
	if (rc != SNC_OK)
		return rc;
	snc_req_keep_topic(r, t);
	r->m.qos = qos;
	return made(c, r, now);
}

int snc_subscribe_start(struct snc *c, const struct snc_topic *t, int qos, uint32_t *token,
                        uint64_t now)
{
	assert(c != NULL && t != NULL);
	return make_sub(c, REQ_SUBSCRIBE, t, qos, token, now);
}

int snc_unsubscribe_start(struct snc *c, const struct snc_topic *t, uint32_t *token, uint64_t now)
{
	assert(c != NULL && t != NULL);
	return make_sub(c, REQ_UNSUBSCRIBE, t, 0, token, now);
}

int snc_will_topic_update_start(struct snc *c, const char *topic, size_t len, int qos,
                                bool retain, uint32_t *token, uint64_t now)
{
	struct snc_topic t = { SNC_TOPIC_NAME, topic, topic != NULL ? len : 0, 0 };
	struct req *r;
	int rc;

	assert(c != NULL);
	if (t.len > 0 && (snc_topic_check(&t, false) != SNC_OK || qos < 0 || qos > 2))
		return SNC_ERR_INVALID;
	rc = make(c, REQ_WILLTOPIC, t.len, token, &r);
	if (rc != SNC_OK)
		return rc;
	snc_req_keep_topic(r, &t);
	r->m.qos = t.len > 0 ? qos : 0;
	r->m.retain = t.len > 0 && retain;
	return made(c, r, now);
}

int snc_will_msg_update_start(struct snc *c, const uint8_t *msg, size_t len, uint32_t *token,
                              uint64_t now)
{
	struct req *r;
	int rc;

	assert(c != NULL);
	if (len > 0 && msg == NULL)
		return SNC_ERR_INVALID;
	rc = make(c, REQ_WILLMSG, len, token, &r);
	if (rc != SNC_OK)
		return rc;
	if (len > 0)
		memcpy(r->buf, msg, len);
	r->m.payload = len > 0 ? r->buf : NULL;
	r->m.len = len;
	return made(c, r, now);
}
