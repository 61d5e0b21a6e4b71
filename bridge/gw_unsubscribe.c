/*
 * gw_unsubscribe.c - UNSUBSCRIBE (6.10), and in transparent mode the
 * UNSUBSCRIBEs the broker has not confirmed yet.
 *
 * UNSUBACK carries no return code, so an UNSUBSCRIBE cannot be refused
 * while the broker is down; and a client whose broker session persists
 * (CleanSession=0) must not get what it unsubscribed from once the broker
 * is back. So in transparent mode every UNSUBSCRIBE becomes a pending entry
 * (s->unsubs) that goes to the broker now or when the connection is up
 * again, and lives until the broker answers. While it lives, a message
 * matching it and no subscription the core knows is dropped.
 *
 * The broker is told even of filters the core has no subscription for:
 * after a bridge restart the broker's session keeps subscriptions the core
 * never saw.
 */
#include <stdlib.h>
#include <string.h>

#include "bridge/gw_int.h"
#include "codec/topic.h"

/* ---------------------------------------------------------------- pending */

struct gw_unsub *gw_unsub_find(const struct gw_session *s, const char *f, size_t len)
{
	uint32_t i;

	for (i = 0; i < s->nunsubs; i++)
		if (s->unsubs[i].len == len && memcmp(s->unsubs[i].filter, f, len) == 0)
			return &s->unsubs[i];
	return NULL;
}

bool gw_unsub_matches(const struct gw_session *s, const char *topic, size_t len)
{
	uint32_t i;

	for (i = 0; i < s->nunsubs; i++)
		if (mqttsn_topic_matches(s->unsubs[i].filter, s->unsubs[i].len, topic, len))
			return true;
	return false;
}

void gw_unsub_remove(struct gw_session *s, struct gw_unsub *u)
{
	free(u->filter);
	*u = s->unsubs[--s->nunsubs];
}

void gw_unsub_free_all(struct gw_session *s)
{
	while (s->nunsubs > 0)
		gw_unsub_remove(s, &s->unsubs[s->nunsubs - 1]);
	free(s->unsubs);
	s->unsubs = NULL;
	s->capunsubs = 0;
}

void gw_unsub_unsent(struct gw_session *s)
{
	uint32_t i;

	for (i = 0; i < s->nunsubs; i++)
		s->unsubs[i].sent = false;
}

/* A new pending entry for f (the caller checked the limit); NULL: out of memory. */
static struct gw_unsub *unsub_add(struct gw *gw, struct gw_session *s, const char *f,
                                  size_t len)
{
	struct gw_unsub *u;
	char *copy;

	if (s->nunsubs == s->capunsubs) {
		uint32_t cap = s->capunsubs ? s->capunsubs * 2 : 2;

		if (cap > gw->cfg.max_subscriptions)
			cap = gw->cfg.max_subscriptions;
		u = realloc(s->unsubs, cap * sizeof *u);
		if (u == NULL)
			return NULL;
		s->unsubs = u;
		s->capunsubs = cap;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, f, len);
	copy[len] = '\0';
	u = &s->unsubs[s->nunsubs++];
	memset(u, 0, sizeof *u);
	u->filter = copy;
	u->len = len;
	return u;
}

/* Tell the broker; 0, or -1 when it cannot be asked now (kept for later). */
static int unsub_send(struct gw *gw, struct gw_session *s, struct gw_unsub *u)
{
	int64_t conn = gw_session_conn_up(gw, s);
	uint32_t tok = 0;

	if (conn < 0 || gw->ops.broker_unsubscribe == NULL ||
	    gw->ops.broker_unsubscribe(gw->ctx, (uint32_t)conn, u->filter, u->len, &tok) < 0)
		return -1;
	/* a repeat replaces the one in flight: the broker answers both, the
	 * older answer is then ignored */
	u->token = tok;
	u->sent = true;
	return 0;
}

void gw_unsub_flush(struct gw *gw, struct gw_session *s)
{
	uint32_t i;

	for (i = 0; i < s->nunsubs; i++)
		if (!s->unsubs[i].sent && unsub_send(gw, s, &s->unsubs[i]) != 0)
			gw_say(gw, GW_LOG_WARN, "client %s: cannot unsubscribe %s yet", s->client_id,
			       s->unsubs[i].filter);
}

/* ---------------------------------------------------------------- UNSUBSCRIBE */

void gw_sub_on_unsubscribe(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                           const struct mqttsn_msg *m)
{
	uint16_t msg_id = m->u.subscribe.msg_id;
	struct gw_unsub *u;
	struct gw_sub *sub;
	const char *f;
	size_t len;

	if (s->unsub_waiting && s->unsub_msg_id == msg_id)
		return; /* retransmission: the UNSUBACK is on its way */
	if (!gw_sub_named_filter(gw, s, m, &f, &len) ||
	    mqttsn_topic_filter_check(f, len) != MQTTSN_OK) {
		/* names nothing that can be subscribed: nothing to undo, and MQTT
		 * answers all the same (a broker may drop a connection that sends
		 * it an invalid filter) */
		gw_tx_msg_id(gw, s, MQTTSN_UNSUBACK, msg_id);
		return;
	}
	sub = gw_sub_find(s, f, len);
	if (gw_aggregating(gw)) {
		/* the count drops and the broker is told when it reaches 0 */
		if (sub != NULL)
			gw_sub_remove(gw, s, sub);
		gw_tx_msg_id(gw, s, MQTTSN_UNSUBACK, msg_id);
		return;
	}
	if (sub != NULL)
		gw_sub_remove(gw, s, sub);
	u = gw_unsub_find(s, f, len);
	if (u == NULL && s->nunsubs >= gw->cfg.max_subscriptions) {
		/* each entry stands for a subscription the broker may hold, so
		 * max_subscriptions bounds them too */
		gw_note(gw, s, GW_CAUSE_SUBSCRIPTIONS, rx->now,
		        "UNSUBSCRIBE not kept for the broker: max_subscriptions %u pending",
		        (unsigned)gw->cfg.max_subscriptions);
		gw_tx_msg_id(gw, s, MQTTSN_UNSUBACK, msg_id);
		return;
	}
	if (u == NULL && (u = unsub_add(gw, s, f, len)) == NULL) {
		gw_say(gw, GW_LOG_ERR, "out of memory for an UNSUBSCRIBE of %s", s->client_id);
		gw_tx_msg_id(gw, s, MQTTSN_UNSUBACK, msg_id);
		return;
	}
	if (unsub_send(gw, s, u) == 0 && !s->unsub_waiting) {
		/* UNSUBACK once the broker stopped sending (one outstanding, 6.10) */
		s->unsub_waiting = true;
		s->unsub_msg_id = msg_id;
		s->unsub_token = u->token;
		return;
	}
	/* the broker is down, or another UNSUBACK is awaited: answer now. The
	 * entry filters until the broker confirms; unsent, it goes out when the
	 * connection is up again */
	gw_tx_msg_id(gw, s, MQTTSN_UNSUBACK, msg_id);
}

void gw_sub_unsubacked(struct gw *gw, struct gw_session *s, uint32_t token)
{
	uint32_t i;

	for (i = 0; i < s->nunsubs; i++)
		if (s->unsubs[i].sent && s->unsubs[i].token == token) {
			gw_unsub_remove(s, &s->unsubs[i]);
			break;
		}
	if (!s->unsub_waiting || s->unsub_token != token)
		return;
	s->unsub_waiting = false;
	gw_tx_msg_id(gw, s, MQTTSN_UNSUBACK, s->unsub_msg_id);
}
