/*
 * custody_down.c - persistent sessions and the downlink in the store
 * (custody_down.h).
 */
#include "bridge/custody_down.h"

#include "bridge/custody.h"
#include "bridge/log.h"
#include "bridge/loop.h"

/* One line per kind of failure per minute, whatever the number of stations. */
static bool log_due(uint64_t *last)
{
	return gw_custody_log_due(last, gw_wall_ms());
}

static uint64_t put_logged, done_logged, save_logged, next_logged;

int gw_custody_down_put(struct gw_store *st, const char *client_id, const char *topic,
                        size_t topic_len, const uint8_t *payload, size_t len, int qos,
                        bool retain, uint32_t ttl_s, uint64_t *seq)
{
	struct gw_store_msg m = {
		.client_id = client_id,
		.topic = topic,
		.topic_len = topic_len,
		.payload = payload,
		.payload_len = len,
		.qos = (uint8_t)qos,
		.retain = retain,
		.ttl_s = ttl_s,
	};
	int rc = gw_store_down_put(st, &m, gw_wall_ms());
	switch (rc) {
	case GW_STORE_OK:
		*seq = m.seq;
		return 0;
	case GW_STORE_ERR_FULL:
	case GW_STORE_ERR_STATION_FULL:
	case GW_STORE_ERR_TOO_BIG:
		return GW_CUSTODY_FULL;
	default:
		if (log_due(&put_logged))
			gw_log(GW_LOG_ERR, "custody store: a message for %s not stored: %s: %s", client_id,
			       gw_store_strerror(rc), gw_store_errmsg(st));
		return GW_CUSTODY_IO;
	}
}

int gw_custody_down_next(struct gw_store *st, const char *client_id, uint64_t after,
                         struct gw_down_msg *out)
{
	uint64_t now = gw_wall_ms();
	/* a record that no longer reads back is dropped and counted by the
	 * store; the next one is tried, a bounded number of times */
	for (int tries = 0; tries < 64; tries++) {
		struct gw_store_msg m;
		int rc = gw_store_down_peek(st, client_id, after, now, &m);
		if (rc == GW_STORE_ERR_CORRUPT)
			continue;
		if (rc == GW_STORE_ERR_EMPTY)
			return 0;
		if (rc != GW_STORE_OK) {
			if (log_due(&next_logged))
				gw_log(GW_LOG_ERR, "custody store: reading messages for %s: %s: %s",
				       client_id, gw_store_strerror(rc), gw_store_errmsg(st));
			return -1;
		}
		out->topic = m.topic;
		out->topic_len = m.topic_len;
		out->payload = m.payload;
		out->len = m.payload_len;
		out->qos = m.qos;
		out->retain = m.retain;
		out->seq = m.seq;
		out->ttl_left_ms = 0;
		if (m.ttl_s != 0) {
			uint64_t ttl = (uint64_t)m.ttl_s * 1000u;
			uint64_t age = now > m.received_ms ? now - m.received_ms : 0;
			/* peek dropped it if it had expired: at least a moment is left */
			out->ttl_left_ms = ttl > age ? ttl - age : 1;
		}
		return 1;
	}
	return -1;
}

void gw_custody_down_done(struct gw_store *st, const char *client_id, uint64_t seq)
{
	int rc = gw_store_down_done(st, client_id, seq);
	if (rc != GW_STORE_OK && rc != GW_STORE_ERR_NOT_FOUND && log_due(&done_logged))
		gw_log(GW_LOG_ERR, "custody store: done for %s: %s: %s (the message may be sent "
		       "again)", client_id, gw_store_strerror(rc), gw_store_errmsg(st));
}

void gw_custody_session_save(struct gw_store *st, const char *client_id, const uint8_t *blob,
                             size_t len)
{
	int rc = gw_store_session_put(st, client_id, blob, len);
	if (rc != GW_STORE_OK && log_due(&save_logged))
		gw_log(GW_LOG_ERR, "custody store: the session of %s not saved: %s: %s (a restart "
		       "would bring back an older one)", client_id, gw_store_strerror(rc),
		       gw_store_errmsg(st));
}

void gw_custody_session_drop(struct gw_store *st, const char *client_id)
{
	int rc = gw_store_session_del(st, client_id);
	if (rc != GW_STORE_OK && rc != GW_STORE_ERR_NOT_FOUND && log_due(&save_logged))
		gw_log(GW_LOG_ERR, "custody store: the session of %s not deleted: %s: %s", client_id,
		       gw_store_strerror(rc), gw_store_errmsg(st));
	/* the messages that waited for it go with it; bounded by what is there */
	uint32_t n = gw_store_station_count(st, client_id, GW_STORE_DOWN);
	uint64_t now = gw_wall_ms();
	for (uint32_t i = 0; i <= n; i++) {
		struct gw_store_msg m;
		rc = gw_store_down_peek(st, client_id, 0, now, &m);
		if (rc == GW_STORE_ERR_CORRUPT)
			continue;
		if (rc != GW_STORE_OK || gw_store_down_done(st, client_id, m.seq) != GW_STORE_OK)
			break;
	}
}

void gw_custody_restore(struct gw_store *st, struct gw *gw, uint64_t now_ms)
{
	uint32_t cursor = 0, restored = 0, refused = 0;
	const char *id;
	while (gw_store_session_next(st, &cursor, &id)) {
		const uint8_t *blob;
		size_t len;
		int rc = gw_store_session_get(st, id, &blob, &len);
		if (rc == GW_STORE_OK)
			rc = gw_session_restore(gw, blob, len, now_ms) == 0 ? GW_STORE_OK : -1;
		if (rc == GW_STORE_OK) {
			restored++;
			continue;
		}
		refused++;
		gw_log(GW_LOG_ERR, "custody store: the session of %s cannot be restored (%s); kept in "
		       "the store, the station starts a new one at its next CONNECT", id,
		       rc == -1 ? "damaged, from another version, or over a limit"
		                : gw_store_strerror(rc));
	}
	const struct gw_store_stats *ss = gw_store_stats(st);
	gw_log(GW_LOG_INFO, "custody: %u persistent session(s) restored, %u refused; %llu message(s) "
	       "waiting for stations", restored, refused, (unsigned long long)ss->down_msgs);
}
