/*
 * gw_stats.c - counters (totals and per client) and the rate-limited log
 * line that goes with every refusal or drop: one line per cause and client
 * per log_interval_ms, so a flood is counted in full but logged once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bridge/gw_int.h"

/* ---------------------------------------------------------------- counting */

static void count(struct gw_stats *st, enum gw_cause cause)
{
	switch (cause) {
	case GW_CAUSE_MALFORMED: st->malformed++; break;
	case GW_CAUSE_PROTOCOL: st->protocol_errors++; break;
	case GW_CAUSE_CLIENTS: st->drop_clients++; st->drop_limit++; break;
	case GW_CAUSE_TOPICS: st->drop_topics++; st->drop_limit++; break;
	case GW_CAUSE_SUBSCRIPTIONS: st->drop_subscriptions++; st->drop_limit++; break;
	case GW_CAUSE_PENDING: st->drop_pending++; st->drop_limit++; break;
	case GW_CAUSE_SLEEP_BUFFER: st->drop_sleep_buffer++; st->drop_limit++; break;
	case GW_CAUSE_TOO_BIG: st->drop_too_big++; st->drop_limit++; break;
	case GW_CAUSE_BROKER_DOWN: st->drop_broker_down++; st->drop_congestion++; break;
	case GW_CAUSE_BROKER_REFUSED: st->drop_broker_refused++; st->drop_congestion++; break;
	case GW_CAUSE_INFLIGHT: st->drop_inflight++; st->drop_congestion++; break;
	case GW_CAUSE_INVALID_TOPIC: st->drop_invalid_topic++; break;
	case GW_CAUSE_QOS_M1: st->drop_qos_m1++; break;
	case GW_CAUSE_CLIENT_REFUSED: st->drop_client_refused++; break;
	case GW_CAUSE_DISCARDED: st->drop_discarded++; break;
	case GW_CAUSE_NO_SUBSCRIPTION: st->drop_no_subscription++; break;
	case GW_CAUSE_STORE_FULL: st->drop_store_full++; st->drop_congestion++; break;
	case GW_CAUSE_STORE_IO: st->drop_store_io++; st->drop_congestion++; break;
	case GW_CAUSE_DOWN_STORE: st->drop_down_store++; break;
	case GW_CAUSE_EXPIRED: st->drop_expired++; break;
	case GW_CAUSE_COUNT: break;
	}
}

static const char *cause_name(enum gw_cause cause)
{
	static const char *const names[GW_CAUSE_COUNT] = {
		"malformed datagram", "protocol error", "max_clients", "max_topics",
		"max_subscriptions", "max_pending", "max_sleep_buffer", "max_msg_size",
		"broker down", "broker refused", "max_inflight", "invalid topic id",
		"QoS -1 refused", "refused by client", "discarded", "no subscription",
		"store full", "store write failed", "downlink store refused", "expired",
	};

	return (unsigned)cause < GW_CAUSE_COUNT ? names[cause] : "?";
}

void gw_note(struct gw *gw, struct gw_session *s, enum gw_cause cause, uint64_t now,
             const char *fmt, ...)
{
	uint64_t *window = s != NULL ? &s->log_window : &gw->log_window;
	uint32_t *logged = s != NULL ? &s->logged : &gw->logged;
	uint32_t bit = 1u << (unsigned)cause;
	char line[256];
	va_list ap;

	count(&gw->total, cause);
	if (s != NULL)
		count(&s->stats, cause);
	if (now >= *window + gw->cfg.log_interval_ms) {
		*window = now;
		*logged = 0;
	}
	if (*logged & bit) {
		gw->suppressed++;
		return;
	}
	*logged |= bit;
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	gw_say(gw, cause == GW_CAUSE_MALFORMED || cause == GW_CAUSE_PROTOCOL ? GW_LOG_INFO
	                                                                     : GW_LOG_WARN,
	       "%s%s%s%s: %s (more within %u s are counted, not logged)",
	       s != NULL ? "client " : "", s != NULL ? s->client_id : "", s != NULL ? ": " : "",
	       cause_name(cause), line, (unsigned)(gw->cfg.log_interval_ms / 1000u));
}

void gw_stat_rx(struct gw *gw, struct gw_session *s, size_t len)
{
	GW_STAT_ADD(gw, s, msgs_in, 1);
	GW_STAT_ADD(gw, s, bytes_in, len);
}

void gw_stat_tx(struct gw *gw, struct gw_session *s, size_t len)
{
	GW_STAT_ADD(gw, s, msgs_out, 1);
	GW_STAT_ADD(gw, s, bytes_out, len);
}

/* ---------------------------------------------------------------- the API */

const struct gw_stats *gw_stats_total(const struct gw *gw)
{
	return &gw->total;
}

uint32_t gw_clients_in_state(const struct gw *gw, enum gw_client_state state)
{
	uint32_t i, n = 0;

	for (i = 0; i < gw->nslots; i++)
		if (gw->slots[i] != NULL && gw_sess_visible_state(gw->slots[i]) == state)
			n++;
	return n;
}

void gw_clients_each(const struct gw *gw,
                     void (*fn)(void *arg, const char *client_id, enum gw_client_state state,
                                const struct gw_stats *stats),
                     void *arg)
{
	uint32_t i;

	for (i = 0; i < gw->nslots; i++) {
		const struct gw_session *s = gw->slots[i];

		if (s != NULL)
			fn(arg, s->client_id, gw_sess_visible_state(s), &s->stats);
	}
}

const char *gw_state_name(enum gw_client_state state)
{
	switch (state) {
	case GW_STATE_ACTIVE: return "active";
	case GW_STATE_ASLEEP: return "asleep";
	case GW_STATE_AWAKE: return "awake";
	case GW_STATE_DISCONNECTED: return "disconnected";
	case GW_STATE_LOST: return "lost";
	default: return "?";
	}
}

bool gw_client_find(const struct gw *gw, const char *client_id, enum gw_client_state *state,
                    struct gw_stats *stats)
{
	const struct gw_session *s;

	if (client_id == NULL)
		return false;
	s = gw_sess_by_id(gw, client_id, strlen(client_id));
	if (s == NULL)
		return false;
	if (state != NULL)
		*state = gw_sess_visible_state(s);
	if (stats != NULL)
		*stats = s->stats;
	return true;
}
