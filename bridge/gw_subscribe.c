/*
 * gw_subscribe.c - SUBSCRIBE and UNSUBSCRIBE (6.9, 6.10) by topic name
 * (wildcards allowed), predefined topic id or short topic name.
 *
 * The SUBACK waits for the broker's: its granted QoS is the broker's. In
 * transparent mode each client's subscriptions go on its own connection; in
 * aggregating mode they are counted per filter (gw_filters.c).
 */
#include <stdlib.h>
#include <string.h>

#include "bridge/gw_int.h"
#include "codec/topic.h"

/* ---------------------------------------------------------------- the list */

static struct gw_sub *sub_find(const struct gw_session *s, const char *f, size_t len)
{
	uint32_t i;

	for (i = 0; i < s->nsubs; i++)
		if (s->subs[i].len == len && memcmp(s->subs[i].filter, f, len) == 0)
			return &s->subs[i];
	return NULL;
}

static struct gw_sub *sub_add(struct gw *gw, struct gw_session *s, const char *f, size_t len)
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

/* Drop a subscription; in aggregating mode also its count on the filter. */
static void sub_remove(struct gw *gw, struct gw_session *s, struct gw_sub *sub)
{
	if (sub->shared != NULL)
		gw_filter_unref(gw, sub->shared, s);
	free(sub->filter);
	*sub = s->subs[--s->nsubs];
}

void gw_sub_free_all(struct gw *gw, struct gw_session *s)
{
	while (s->nsubs > 0)
		sub_remove(gw, s, &s->subs[s->nsubs - 1]);
	free(s->subs);
	s->subs = NULL;
	s->capsubs = 0;
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
	if (gw_sess_listening(s))
		gw_tx_suback(gw, s, NULL, sub->granted, sub->topic_id, sub->msg_id,
		             MQTTSN_RC_ACCEPTED);
}

/* ---------------------------------------------------------------- SUBSCRIBE */

/* The filter named by a SUBSCRIBE or UNSUBSCRIBE; false when it names nothing. */
static bool named_filter(const struct gw *gw, const struct gw_session *s,
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

	if (!named_filter(gw, s, m, &f, &len)) {
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
	sub = sub_find(s, f, len);
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
		sub = sub_add(gw, s, f, len);
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
				sub_remove(gw, s, sub);
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
			sub_remove(gw, s, sub);
		else
			sub->waiting = false;
		return;
	}
	sub->token = tok;
	sub->token_valid = true;
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
		}
		if (granted < 0) {
			gw_say(gw, GW_LOG_WARN, "client %s: broker refused subscription %s",
			       s->client_id, sub->filter);
			sub_remove(gw, s, sub);
		}
		return;
	}
}

/* Aggregating: the shared filter has an answer for this client's subscription. */
void gw_sub_filter_answer(struct gw *gw, struct gw_session *s, struct gw_sub *sub, int granted)
{
	answer(gw, s, sub, granted);
	if (granted < 0)
		sub_remove(gw, s, sub);
	gw_sched_update(gw, s);
}

void gw_sub_resubscribe(struct gw *gw, struct gw_session *s)
{
	uint32_t i;

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
			sub_remove(gw, s, sub);
		else
			i++;
	}
	if (s->unsub_waiting) {
		s->unsub_waiting = false;
		if (gw_sess_listening(s))
			gw_tx_msg_id(gw, s, MQTTSN_UNSUBACK, s->unsub_msg_id);
	}
}

/* ---------------------------------------------------------------- UNSUBSCRIBE */

void gw_sub_on_unsubscribe(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                           const struct mqttsn_msg *m)
{
	uint16_t msg_id = m->u.subscribe.msg_id;
	struct gw_sub *sub;
	const char *f;
	size_t len;
	int64_t conn;
	uint32_t tok = 0;

	(void)rx;
	if (s->unsub_waiting && s->unsub_msg_id == msg_id)
		return; /* retransmission: the UNSUBACK is on its way */
	if (!named_filter(gw, s, m, &f, &len) || (sub = sub_find(s, f, len)) == NULL) {
		/* nothing to undo: MQTT answers all the same */
		gw_tx_msg_id(gw, s, MQTTSN_UNSUBACK, msg_id);
		return;
	}
	conn = gw_session_conn_up(gw, s);
	if (!gw_aggregating(gw) && conn >= 0 && gw->ops.broker_unsubscribe != NULL &&
	    gw->ops.broker_unsubscribe(gw->ctx, (uint32_t)conn, sub->filter, sub->len, &tok) == 0 &&
	    !s->unsub_waiting) {
		/* UNSUBACK once the broker stopped sending (one outstanding, 6.10) */
		s->unsub_waiting = true;
		s->unsub_msg_id = msg_id;
		s->unsub_token = tok;
		sub_remove(gw, s, sub);
		return;
	}
	/* aggregating: the count drops and the broker is told when it reaches 0;
	 * transparent with the broker down: it is told by the next clean session */
	sub_remove(gw, s, sub);
	gw_tx_msg_id(gw, s, MQTTSN_UNSUBACK, msg_id);
}

void gw_sub_unsubacked(struct gw *gw, struct gw_session *s, uint32_t token)
{
	if (!s->unsub_waiting || s->unsub_token != token)
		return;
	s->unsub_waiting = false;
	gw_tx_msg_id(gw, s, MQTTSN_UNSUBACK, s->unsub_msg_id);
}
