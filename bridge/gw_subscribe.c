/*
 * gw_subscribe.c - SUBSCRIBE (6.9) by topic name (wildcards allowed),
 * predefined topic id or short topic name, and the subscriptions a session
 * holds. UNSUBSCRIBE is in gw_unsubscribe.c.
 *
 * The SUBACK waits for the broker's: its granted QoS is the broker's. In
 * transparent mode each client's subscriptions go on its own connection; in
 * aggregating mode they are counted per filter (gw_filters.c).
 *
 * In transparent mode subs[] is the core's record, not the truth: the
 * broker's session outlives the core (a bridge restart) and keeps
 * subscriptions made before it, which a client with CleanSession=0 rightly
 * does not make again (6.3). What the broker sends on the client's own
 * connection is what that session is subscribed to, so it is delivered
 * whether or not subs[] has a match (gw_sub_deliver_qos).
 */
#include <stdlib.h>
#include <string.h>

#include "bridge/gw_int.h"
#include "codec/topic.h"

/* ---------------------------------------------------------------- the list */

struct gw_sub *gw_sub_find(const struct gw_session *s, const char *f, size_t len)
{
	uint32_t i;

	for (i = 0; i < s->nsubs; i++)
		if (s->subs[i].len == len && memcmp(s->subs[i].filter, f, len) == 0)
			return &s->subs[i];
	return NULL;
}

struct gw_sub *gw_sub_add(struct gw *gw, struct gw_session *s, const char *f, size_t len)
{
	struct gw_sub *n;
	char *copy;

	if (s->nsubs >= gw->cfg.max_subscriptions)
		return NULL;
	if (s->nsubs == s->capsubs) {
		uint32_t cap = s->capsubs ? s->capsubs * 2 : 2;

		if (cap > gw->cfg.max_subscriptions)
			cap = gw->cfg.max_subscriptions;
		n = realloc(s->subs, cap * sizeof *n);
		if (n == NULL)
			return NULL;
		s->subs = n;
		s->capsubs = cap;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, f, len);
	copy[len] = '\0';
	n = &s->subs[s->nsubs++];
	memset(n, 0, sizeof *n);
	n->filter = copy;
	n->len = len;
	n->granted = -1;
	return n;
}

void gw_sub_remove(struct gw *gw, struct gw_session *s, struct gw_sub *sub)
{
	if (sub->shared != NULL)
		gw_filter_unref(gw, sub->shared, s);
	free(sub->filter);
	*sub = s->subs[--s->nsubs];
	gw_persist_mark(gw, s);
}

void gw_sub_free_all(struct gw *gw, struct gw_session *s)
{
	while (s->nsubs > 0)
		gw_sub_remove(gw, s, &s->subs[s->nsubs - 1]);
	free(s->subs);
	s->subs = NULL;
	s->capsubs = 0;
	gw_unsub_free_all(s);
}

int gw_sub_match_qos(const struct gw_session *s, const char *topic, size_t len)
{
	int best = -1;
	uint32_t i;

	for (i = 0; i < s->nsubs; i++) {
		const struct gw_sub *sub = &s->subs[i];
		int q = sub->granted >= 0 ? sub->granted : sub->qos;

		if (q > best && mqttsn_topic_matches(sub->filter, sub->len, topic, len))
			best = q;
	}
	return best;
}

int gw_sub_deliver_qos(const struct gw_session *s, const char *topic, size_t len, int qos)
{
	int known = gw_sub_match_qos(s, topic, len);

	if (known < 0)
		/* the client said it wants no more of this; else a subscription of
		 * its session the core never saw: the broker's word stands */
		return gw_unsub_matches(s, topic, len) ? -1 : qos;
	/* the broker already sent at most the QoS it granted; the core's grant
	 * may only lower that when it knows every subscription of the session,
	 * or a lower known grant would hide a higher one the broker kept */
	return s->subs_known && known < qos ? known : qos;
}

/* The SUBACK owed for sub, with the broker's grant (-1: refused). */
static void answer(struct gw *gw, struct gw_session *s, struct gw_sub *sub, int granted)
{
	struct gw_topic *t;

	sub->waiting = false;
	if (granted < 0) {
		GW_STAT_ADD(gw, s, drop_broker_refused, 1);
		GW_STAT_ADD(gw, s, drop_congestion, 1);
		if (gw_sess_listening(s))
			gw_tx_suback(gw, s, NULL, sub->qos, sub->topic_id, sub->msg_id,
			             MQTTSN_RC_CONGESTION);
		return;
	}
	sub->granted = (int8_t)(granted < sub->qos ? granted : sub->qos);
	if (sub->id_type == MQTTSN_TOPIC_NORMAL && sub->topic_id != 0 &&
	    (t = gw_topic_by_id(s, sub->topic_id)) != NULL)
		t->client_knows = true;  /* 5.4.16: SUBACK told it the topic id */
	gw_persist_mark(gw, s);
	if (gw_sess_listening(s))
		gw_tx_suback(gw, s, NULL, sub->granted, sub->topic_id, sub->msg_id,
		             MQTTSN_RC_ACCEPTED);
}

/* ---------------------------------------------------------------- SUBSCRIBE */

bool gw_sub_named_filter(const struct gw *gw, const struct gw_session *s,
                         const struct mqttsn_msg *m, const char **f, size_t *len)
{
	const struct gw_predef *p;

	if (m->u.subscribe.flags.topic_id_type == MQTTSN_TOPIC_PREDEFINED) {
		p = gw_predef_by_id(gw, s->client_id, m->u.subscribe.topic_id);
		if (p == NULL)
			return false;
		*f = p->name;
		*len = p->len;
		return true;
	}
	*f = (const char *)m->u.subscribe.topic_name.ptr;
	*len = m->u.subscribe.topic_name.len;
	return true;
}

void gw_sub_on_subscribe(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                         const struct mqttsn_msg *m)
{
	uint8_t type = m->u.subscribe.flags.topic_id_type;
	uint8_t qos = (uint8_t)m->u.subscribe.flags.qos;
	uint16_t msg_id = m->u.subscribe.msg_id, reply_id = 0;
	struct gw_sub *sub;
	struct gw_topic *t;
	const char *f;
	size_t len;
	bool added = false;
	int64_t conn;
	uint32_t tok = 0;
	struct gw_unsub *u;

	if (!gw_sub_named_filter(gw, s, m, &f, &len)) {
		gw_note(gw, s, GW_CAUSE_INVALID_TOPIC, rx->now, "SUBSCRIBE to unknown predefined id %u",
		        (unsigned)m->u.subscribe.topic_id);
		gw_tx_suback(gw, s, NULL, qos, m->u.subscribe.topic_id, msg_id,
		             MQTTSN_RC_INVALID_TOPIC_ID);
		return;
	}
	if (mqttsn_topic_filter_check(f, len) != MQTTSN_OK) {
		gw_note(gw, s, GW_CAUSE_PROTOCOL, rx->now, "SUBSCRIBE to an invalid filter");
		gw_tx_suback(gw, s, NULL, qos, 0, msg_id, MQTTSN_RC_NOT_SUPPORTED);
		return;
	}
	sub = gw_sub_find(s, f, len);
	if (sub != NULL && sub->waiting && sub->msg_id == msg_id)
		return; /* the client's retransmission: the SUBACK is on its way */
	if (type == MQTTSN_TOPIC_PREDEFINED) {
		reply_id = m->u.subscribe.topic_id;
	} else if (type == MQTTSN_TOPIC_NORMAL && !mqttsn_topic_has_wildcard(f, len)) {
		/* 6.9: a plain name gets its topic id in the SUBACK */
		t = gw_topic_by_name(s, f, len);
		if (t == NULL)
			t = gw_topic_add(gw, s, f, len);
		if (t == NULL) {
			gw_note(gw, s, GW_CAUSE_TOPICS, rx->now,
			        "SUBACK congestion: max_topics %u reached", (unsigned)gw->cfg.max_topics);
			gw_tx_suback(gw, s, NULL, qos, 0, msg_id, MQTTSN_RC_CONGESTION);
			return;
		}
		reply_id = t->id;
	}
	conn = gw_session_conn_up(gw, s);
	if (conn < 0) {
		gw_note(gw, s, GW_CAUSE_BROKER_DOWN, rx->now, "SUBACK congestion: broker down");
		gw_tx_suback(gw, s, NULL, qos, reply_id, msg_id, MQTTSN_RC_CONGESTION);
		return;
	}
	if (sub == NULL) {
		sub = gw_sub_add(gw, s, f, len);
		if (sub == NULL) {
			gw_note(gw, s, GW_CAUSE_SUBSCRIPTIONS, rx->now,
			        "SUBACK congestion: max_subscriptions %u reached",
			        (unsigned)gw->cfg.max_subscriptions);
			gw_tx_suback(gw, s, NULL, qos, reply_id, msg_id, MQTTSN_RC_CONGESTION);
			return;
		}
		added = true;
	}
	sub->qos = qos;
	sub->id_type = type;
	sub->topic_id = reply_id;
	sub->msg_id = msg_id;
	sub->waiting = true;
	if (gw_aggregating(gw)) {
		if (sub->shared == NULL) {
			sub->shared = gw_filter_ref(gw, sub->filter, sub->len, s);
			if (sub->shared == NULL) {
				gw_say(gw, GW_LOG_ERR, "out of memory for a filter");
				gw_tx_suback(gw, s, NULL, qos, reply_id, msg_id, MQTTSN_RC_CONGESTION);
				gw_sub_remove(gw, s, sub);
				return;
			}
		}
		gw_filter_request(gw, sub->shared, s, sub, rx->now);
		return;
	}
	if (gw->ops.broker_subscribe == NULL ||
	    gw->ops.broker_subscribe(gw->ctx, (uint32_t)conn, sub->filter, sub->len, qos, &tok) < 0) {
		gw_note(gw, s, GW_CAUSE_BROKER_REFUSED, rx->now, "SUBACK congestion: subscribe refused");
		gw_tx_suback(gw, s, NULL, qos, reply_id, msg_id, MQTTSN_RC_CONGESTION);
		if (added)
			gw_sub_remove(gw, s, sub);
		else
			sub->waiting = false;
		return;
	}
	sub->token = tok;
	sub->token_valid = true;
	/* subscribed again after an UNSUBSCRIBE: the broker gets both in order,
	 * and what it sends for the filter is wanted again */
	if ((u = gw_unsub_find(s, sub->filter, sub->len)) != NULL)
		gw_unsub_remove(s, u);
}

void gw_sub_subacked(struct gw *gw, struct gw_session *s, uint32_t token, int granted)
{
	uint32_t i;

	for (i = 0; i < s->nsubs; i++) {
		struct gw_sub *sub = &s->subs[i];

		if (!sub->token_valid || sub->token != token)
			continue;
		sub->token_valid = false;
		if (sub->waiting) {
			answer(gw, s, sub, granted);
		} else if (granted >= 0) {
			/* a subscription made again after a reconnect */
			sub->granted = (int8_t)(granted < sub->qos ? granted : sub->qos);
			gw_persist_mark(gw, s);
		}
		if (granted < 0) {
			gw_say(gw, GW_LOG_WARN, "client %s: broker refused subscription %s",
			       s->client_id, sub->filter);
			gw_sub_remove(gw, s, sub);
		}
		return;
	}
}

/* Aggregating: the shared filter has an answer for this client's subscription. */
void gw_sub_filter_answer(struct gw *gw, struct gw_session *s, struct gw_sub *sub, int granted)
{
	answer(gw, s, sub, granted);
	if (granted < 0)
		gw_sub_remove(gw, s, sub);
	gw_sched_update(gw, s);
}

void gw_sub_broker_up(struct gw *gw, struct gw_session *s)
{
	uint32_t i;

	if (!s->conn_clean) {
		/* the same broker session: it still has what it had, less what the
		 * client unsubscribed from while the broker could not be told */
		gw_unsub_flush(gw, s);
		return;
	}
	/* opened clean: the broker forgot every subscription, and with them
	 * whatever was to be unsubscribed */
	gw_unsub_free_all(s);
	for (i = 0; i < s->nsubs; i++) {
		struct gw_sub *sub = &s->subs[i];
		uint32_t tok = 0;

		if (gw->ops.broker_subscribe == NULL ||
		    gw->ops.broker_subscribe(gw->ctx, s->conn, sub->filter, sub->len, sub->qos,
		                             &tok) < 0) {
			gw_say(gw, GW_LOG_WARN, "client %s: cannot subscribe %s again", s->client_id,
			       sub->filter);
			continue;
		}
		sub->token = tok;
		sub->token_valid = true;
	}
}

void gw_sub_fail_waiting(struct gw *gw, struct gw_session *s)
{
	uint32_t i = 0;

	while (i < s->nsubs) {
		struct gw_sub *sub = &s->subs[i];
		bool fresh = sub->granted < 0;

		sub->token_valid = false;
		if (!sub->waiting) {
			i++;
			continue;
		}
		answer(gw, s, sub, -1);
		if (fresh)
			gw_sub_remove(gw, s, sub);
		else
			i++;
	}
	gw_unsub_unsent(s);
	if (s->unsub_waiting) {
		s->unsub_waiting = false;
		if (gw_sess_listening(s))
			gw_tx_msg_id(gw, s, MQTTSN_UNSUBACK, s->unsub_msg_id);
	}
}
