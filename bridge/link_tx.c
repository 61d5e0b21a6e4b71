/*
 * link_tx.c - the bridge's link layer, sending: the core's messages into
 * a station's link, frames out when due, the list of stations with
 * something queued that the timer looks at.
 */
#include "bridge/link_int.h"

#include <stdlib.h>
#include <string.h>

#include "bridge/log.h"

/* ---------------------------------------------------------------- active list */

static void active_add(struct gw_link *gl, struct station *s)
{
	if (s->active != 0)
		return;
	if (gl->n_active == gl->cap_active) {
		size_t ncap = gl->cap_active ? gl->cap_active * 2 : 16;
		struct station **na = realloc(gl->active, ncap * sizeof *na);
		if (na == NULL) {
			/* Its messages still go out at the next flush or send; logged by the caller's drop. */
			gw_log(GW_LOG_ERR, "link: out of memory listing %s as due", link_name(s));
			return;
		}
		gl->active = na;
		gl->cap_active = ncap;
	}
	gl->active[gl->n_active++] = s;
	s->active = gl->n_active;
}

void link_active_remove(struct gw_link *gl, struct station *s)
{
	if (s->active == 0)
		return;
	size_t i = s->active - 1;
	struct station *last = gl->active[--gl->n_active];
	gl->active[i] = last;
	last->active = i + 1;
	s->active = 0;
}

static uint64_t station_due(const struct station *s)
{
	uint64_t due = mqttsn_link_deadline(s->link);
	return due != UINT64_MAX && s->retry_at > due ? s->retry_at : due;
}

/* ---------------------------------------------------------------- frames out */

void link_emit(struct gw_link *gl, struct station *s, uint64_t now)
{
	uint64_t quiet;
	char more[64];
	/* A burst per call: a station with a long backlog does not starve the others. */
	for (unsigned burst = 0; burst < GW_LINK_EMIT_BURST && s->link != NULL; burst++) {
		int n = mqttsn_link_next_frame(s->link, gl->fctx, now, gl->out, sizeof gl->out);
		if (n == 0)
			break;
		if (n == MQTTSN_FRAME_ERR_COUNTER) {
			/* Persist the next mark before a counter under it is used. */
			uint64_t want = mqttsn_link_tx_want(s->link);
			if (s->key == NULL || s->retry_at > now || link_save(gl, s, want, s->rx_floor, now) != 0)
				break;
			mqttsn_link_tx_persisted(s->link, want);
			continue;
		}
		if (n < 0) {
			if (link_log_due(gl, C_SEND, now, &quiet))
				gw_log(GW_LOG_WARN, "link %s: a frame could not be sealed, its messages are dropped: "
				       "%s%s", link_name(s), mqttsn_frame_strerror(n),
				       link_more(quiet, more, sizeof more));
			continue;
		}
		if (!s->b[0].used) {
			/* Never heard from: nowhere to send (the core answers only what it heard). */
			if (link_log_due(gl, C_SEND, now, &quiet))
				gw_log(GW_LOG_WARN, "link %s: a frame for a station with no address is dropped%s",
				       link_name(s), link_more(quiet, more, sizeof more));
			continue;
		}
		gl->ops.transmit(gl->ctx, &s->b[0].addr, gl->out, (size_t)n);
	}
	if (s->link == NULL || mqttsn_link_queued_msgs(s->link) == 0)
		link_active_remove(gl, s);
	else
		active_add(gl, s);
}

void link_queue(struct gw_link *gl, struct station *s, const uint8_t *msg, size_t len, uint64_t now)
{
	uint64_t quiet;
	char more[64];
	int rc = mqttsn_link_send(s->link, gl->fctx, msg, len, now);
	if (rc != MQTTSN_OK) {
		/* Counted by the link (queue full, too big); the core's retries recover QoS 1/2. */
		if (link_log_due(gl, C_SEND, now, &quiet))
			gw_log(GW_LOG_WARN, "link %s: a message of %zu octets is dropped: %s%s",
			       link_name(s), len,
			       rc == MQTTSN_ERR_NO_SPACE ? "the link's queue is full" : mqttsn_frame_strerror(rc),
			       link_more(quiet, more, sizeof more));
		return;
	}
	/* Before a DISCONNECT the station may sleep or go: do not hold it. */
	size_t hdr = len >= 4 && msg[0] == 0x01 ? 3 : 1;
	if (len > hdr && msg[hdr] == MQTTSN_DISCONNECT)
		mqttsn_link_flush(s->link);
	active_add(gl, s);
	if (station_due(s) <= now)
		link_emit(gl, s, now);
}

/* ---------------------------------------------------------------- api */

void gw_link_send(struct gw_link *gl, const struct gw_addr *to, const uint8_t *buf, size_t len,
                  uint64_t now)
{
	struct binding *b = to != NULL ? link_lookup(gl, to) : NULL;
	if (b == NULL) {
		gl->ops.transmit(gl->ctx, to, buf, len);
		return;
	}
	link_queue(gl, b->st, buf, len, now);
}

uint64_t gw_link_deadline(const struct gw_link *gl)
{
	uint64_t due = UINT64_MAX;
	for (size_t i = 0; i < gl->n_active; i++) {
		uint64_t d = station_due(gl->active[i]);
		if (d < due)
			due = d;
	}
	return due;
}

uint64_t gw_link_tick(struct gw_link *gl, uint64_t now)
{
	/* link_emit removes only the station at i (moving the last one there). */
	for (size_t i = 0; i < gl->n_active;) {
		struct station *s = gl->active[i];
		if (station_due(s) <= now)
			link_emit(gl, s, now);
		if (i < gl->n_active && gl->active[i] == s)
			i++;
	}
	return gw_link_deadline(gl);
}

void gw_link_flush_all(struct gw_link *gl, uint64_t now)
{
	for (size_t i = 0; i < gl->n_keyed; i++) {
		mqttsn_link_flush(gl->keyed[i]->link);
		link_emit(gl, gl->keyed[i], now);
	}
	for (size_t i = 0; i < gl->n_peers; i++) {
		mqttsn_link_flush(gl->peers[i]->link);
		link_emit(gl, gl->peers[i], now);
	}
}
