/*
 * client.c - the client core's lifecycle and plumbing: configuration,
 * sending, events, and settle(), which every entry point ends with.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "codec/topic.h"
#include "sn-client/client_impl.h"

/* ---------------------------------------------------------------- config */

void snc_config_defaults(struct snc_config *cfg)
{
	assert(cfg != NULL);
	memset(cfg, 0, sizeof *cfg);
	cfg->client_id = "snc";
	cfg->keep_alive_s = 600;
	cfg->clean_session = true;
	cfg->inflight_window = 1;
	cfg->max_requests = 64;
	cfg->max_topics = 64;
	cfg->max_msg = 1200;
	/* T_RETRY is 10-15 s (Table 30); a measured round trip brings it down. */
	cfg->retry_initial_ms = 10000;
	/* RFC 6298 2.4 asks for a 1 s floor; satellite round trips stay above it. */
	cfg->retry_min_ms = 1000;
	cfg->retry_max_ms = 300000;
	cfg->retry_count = 5;
	cfg->connect_retry_count = 5;
	cfg->search_radius = 1;
	cfg->search_interval_ms = 5000;
}

static bool config_ok(const struct snc_config *cfg)
{
	size_t n = cfg->client_id != NULL ? strlen(cfg->client_id) : 0;

	return n >= 1 && n <= MQTTSN_CLIENT_ID_MAX && cfg->inflight_window >= 1 &&
	       cfg->retry_min_ms >= 1 && cfg->retry_min_ms <= cfg->retry_max_ms &&
	       cfg->max_msg >= 32 && cfg->max_msg <= MQTTSN_MSG_MAX && cfg->max_requests >= 1 &&
	       cfg->search_interval_ms >= 1;
}

/* ---------------------------------------------------------------- lifecycle */

struct snc *snc_new(const struct snc_config *cfg, const struct snc_ops *ops, void *ctx)
{
	struct snc *c;

	assert(cfg != NULL && ops != NULL && ops->send != NULL);
	if (!config_ok(cfg))
		return NULL;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->cfg = *cfg;
	memcpy(c->client_id, cfg->client_id, strlen(cfg->client_id) + 1);
	c->cfg.client_id = c->client_id;
	c->ops = *ops;
	c->ctx = ctx;
	c->state = SNC_STATE_DISCONNECTED;
	c->next_token = 1;
	c->next_msg_id = 1;
	snc_rtt_init(&c->rtt, cfg->retry_initial_ms, cfg->retry_min_ms, cfg->retry_max_ms);
	c->rtt.slack_ms = cfg->retry_slack_ms;
	/* Twice the public limit: a publish may need a REGISTER of the core's own. */
	c->reqcap = (size_t)c->cfg.max_requests * 2;
	c->reqs = calloc(c->reqcap, sizeof *c->reqs);
	c->topics = calloc(cfg->max_topics ? cfg->max_topics : 1, sizeof *c->topics);
	c->tx = malloc(cfg->max_msg);
	if (c->reqs == NULL || c->topics == NULL || c->tx == NULL) {
		snc_free(c);
		return NULL;
	}
	return c;
}

void snc_free(struct snc *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nreqs; i++)
		snc_req_free(c->reqs[i]);
	free(c->reqs);
	snc_tmap_free(c);
	free(c->will_topic);
	free(c->will_msg);
	free(c->tx);
	free(c);
}

void snc_set_source(struct snc *c, const struct snc_source *src, void *ctx)
{
	assert(c != NULL);
	c->has_src = src != NULL;
	if (src != NULL) {
		assert(src->next != NULL && src->done != NULL && src->release != NULL);
		c->src = *src;
	}
	c->src_ctx = ctx;
	c->src_not_before = 0;
}

/* Replace *dst with a copy of src[0..len). */
static int copy_into(void **dst, const void *src, size_t len)
{
	void *p = malloc(len ? len : 1);

	if (p == NULL)
		return SNC_ERR_NOMEM;
	if (len > 0)
		memcpy(p, src, len);
	free(*dst);
	*dst = p;
	return SNC_OK;
}

int snc_set_will(struct snc *c, const char *topic, size_t topic_len, const uint8_t *msg,
                 size_t len, int qos, bool retain)
{
	void *t = NULL, *m = NULL;

	assert(c != NULL);
	if (topic == NULL || topic_len == 0) {
		c->has_will = false;
		return SNC_OK;
	}
	if (mqttsn_topic_name_check(topic, topic_len) != MQTTSN_OK || qos < 0 || qos > 2 ||
	    (len > 0 && msg == NULL))
		return SNC_ERR_INVALID;
	/* Both copies first, so that a failure leaves the old Will whole. */
	if (copy_into(&t, topic, topic_len) != SNC_OK || copy_into(&m, msg, len) != SNC_OK) {
		free(t);
		return SNC_ERR_NOMEM;
	}
	free(c->will_topic);
	free(c->will_msg);
	c->will_topic = t;
	c->will_msg = m;
	c->will_topic_len = topic_len;
	c->will_len = len;
	c->will_qos = qos;
	c->will_retain = retain;
	c->has_will = true;
	return SNC_OK;
}

int snc_set_predefined(struct snc *c, uint16_t id, const char *name, size_t len)
{
	assert(c != NULL);
	if (id == 0x0000u || id == 0xFFFFu || mqttsn_topic_name_check(name, len) != MQTTSN_OK)
		return SNC_ERR_INVALID;
	return snc_tmap_put(c, id, true, name, len);
}

/* ---------------------------------------------------------------- plumbing */

int snc_core_send(struct snc *c, const struct mqttsn_msg *m, bool broadcast, uint64_t now)
{
	int n = mqttsn_encode(c->tx, c->cfg.max_msg, m);

	/* Every caller checked its fields; only the size can be refused here. */
	assert(n > 0 || n == MQTTSN_ERR_NO_SPACE || n == MQTTSN_ERR_TOO_BIG);
	if (n <= 0)
		return SNC_ERR_TOO_BIG;
	c->last_tx = now;
	c->st.msgs_out++;
	c->st.bytes_out += (uint64_t)n;
	c->ops.send(c->ctx, c->tx, (size_t)n, broadcast);
	return SNC_OK;
}

void snc_core_emit(struct snc *c, const struct snc_event *ev)
{
	if (c->ops.event != NULL)
		c->ops.event(c->ctx, ev);
}

void snc_core_emit_simple(struct snc *c, enum snc_event_type type, int rc)
{
	struct snc_event ev;

	memset(&ev, 0, sizeof ev);
	ev.type = type;
	ev.rc = rc;
	snc_core_emit(c, &ev);
}

uint32_t snc_core_backoff(const struct snc *c, uint32_t interval_ms, unsigned times)
{
	return snc_rtt_backoff(&c->rtt, interval_ms, times);
}

/*
 * RFC 6298 5.5 doubles the RTO when the retransmission timer expires, and
 * TCP has one such timer. Here each request in the window has its own, and
 * a gateway that vanishes lets all of them expire together: doubling once
 * per request would raise the RTO by 2^window for one silence (300 ms to
 * the ceiling with a window of 8) and keep the station from reconnecting
 * for minutes. So a timeout doubles it only for a transmission made after
 * the last doubling, which was timed with the RTO as it is now.
 */
void snc_core_timeout(struct snc *c, uint64_t sent_at, uint64_t now)
{
	if (c->rtt.backoffs != 0 && sent_at < c->rto_doubled_at)
		return;
	snc_rtt_timeout(&c->rtt);
	c->rto_doubled_at = now;
}

/* ---------------------------------------------------------------- finishing */

/* A finished request's source message goes back to the source: delivered,
 * refused for good, or to be offered again. */
static void source_settle(struct snc *c, const struct req *r)
{
	if (!r->from_source || !c->has_src)
		return;
	/* A gateway's refusal other than congestion will not change on a retry. */
	if (r->rc == 0 || (r->rc > 0 && r->rc != MQTTSN_RC_CONGESTION))
		c->src.done(c->src_ctx, r->m.seq, r->rc);
	else
		c->src.release(c->src_ctx, r->m.seq);
}

static void emit_request(struct snc *c, const struct req *r)
{
	struct snc_event ev;

	memset(&ev, 0, sizeof ev);
	ev.rc = r->rc;
	ev.token = r->token;
	ev.topic = r->m.topic;
	ev.topic_id = r->topic_id;
	switch (r->kind) {
	case REQ_PUBLISH:
		ev.type = SNC_EV_PUBLISHED;
		ev.seq = r->m.seq;
		ev.from_source = r->from_source;
		ev.qos = r->m.qos;
		if (r->rc == 0)
			c->st.published++;
		else
			c->st.publish_failed++;
		break;
	case REQ_REGISTER:
		/* The core's own REGISTERs (for a publish) are not the application's business. */
		if (r->token == 0)
			return;
		ev.type = SNC_EV_REGISTERED;
		break;
	case REQ_SUBSCRIBE:
		ev.type = SNC_EV_SUBSCRIBED;
		ev.qos = r->granted_qos;
		break;
	case REQ_UNSUBSCRIBE:
		ev.type = SNC_EV_UNSUBSCRIBED;
		break;
	case REQ_WILLTOPIC:
	case REQ_WILLMSG:
		ev.type = SNC_EV_WILL_UPDATED;
		break;
	}
	snc_core_emit(c, &ev);
}

void snc_core_settle(struct snc *c, uint64_t now)
{
	bool again;

	if (c->settling) {
		c->settle_again = true;
		return;
	}
	/* The callers' clocks only go forward; snc_next_deadline() counts
	 * from here. */
	if (now > c->now)
		c->now = now;
	c->settling = true;
	do {
		struct req *r;

		c->settle_again = false;
		again = snc_req_pump(c, now);
		/* One event at a time, from a consistent state: the callback may
		 * start or end requests, and the loop looks again afterwards. */
		r = snc_req_take_done(c);
		if (r != NULL) {
			source_settle(c, r);
			emit_request(c, r);
			snc_req_free(r);
			again = true;
		}
	} while (again || c->settle_again);
	c->settling = false;
}

/* ---------------------------------------------------------------- looking in */

enum snc_state snc_state(const struct snc *c)
{
	assert(c != NULL);
	return c->state;
}

const char *snc_state_name(enum snc_state s)
{
	switch (s) {
	case SNC_STATE_DISCONNECTED:
		return "DISCONNECTED";
	case SNC_STATE_CONNECTING:
		return "CONNECTING";
	case SNC_STATE_ACTIVE:
		return "ACTIVE";
	case SNC_STATE_DISCONNECTING:
		return "DISCONNECTING";
	case SNC_STATE_GOING_ASLEEP:
		return "GOING_ASLEEP";
	case SNC_STATE_ASLEEP:
		return "ASLEEP";
	case SNC_STATE_AWAKE:
		return "AWAKE";
	case SNC_STATE_LOST:
		return "LOST";
	}
	return "?";
}

size_t snc_pending(const struct snc *c)
{
	assert(c != NULL);
	return c->nreqs;
}

uint32_t snc_rto(const struct snc *c)
{
	assert(c != NULL);
	return c->rtt.rto_ms;
}

const struct snc_stats *snc_stats(const struct snc *c)
{
	assert(c != NULL);
	return &c->st;
}
