/*
 * stats.c - statistics to the broker and to the log.
 */
#include "bridge/stats.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/custody.h"
#include "bridge/log.h"

#define TOPIC_MAX 512
#define LINE_MAX_LEN 900

struct gw_stats_pub {
	struct gw_loop *loop;
	const struct gw *gw;
	struct gw_broker *broker;
	const struct gw_udp *udp;
	const struct gw_serial *serial;
	struct gw_link *link;
	const struct gw_custody *custody;
	char *prefix;
	uint32_t interval_s;
	uint64_t started;
	struct gw_timer timer;
};

/* Every counter of struct gw_stats, by the name it is published under. */
static const struct {
	const char *name;
	size_t offset;
} fields[] = {
#define FIELD(f) {#f, offsetof(struct gw_stats, f)}
	FIELD(msgs_in),           FIELD(msgs_out),          FIELD(bytes_in),
	FIELD(bytes_out),         FIELD(pub_up),            FIELD(pub_down),
	FIELD(retries),           FIELD(malformed),         FIELD(drop_congestion),
	FIELD(drop_limit),        FIELD(drop_invalid_topic), FIELD(drop_sleep_buffer),
	FIELD(drop_qos_m1),       FIELD(broker_msgs),       FIELD(protocol_errors),
	FIELD(drop_clients),      FIELD(drop_topics),       FIELD(drop_subscriptions),
	FIELD(drop_pending),      FIELD(drop_too_big),      FIELD(drop_broker_down),
	FIELD(drop_broker_refused), FIELD(drop_inflight),   FIELD(drop_client_refused),
	FIELD(drop_discarded),    FIELD(drop_no_subscription), FIELD(connects),
	FIELD(lost),              FIELD(wills),             FIELD(drop_store_full),
	FIELD(drop_store_io),     FIELD(custody_in),        FIELD(down_stored),
	FIELD(drop_down_store),   FIELD(drop_expired),      FIELD(sessions_saved),
	FIELD(sessions_restored),
#undef FIELD
};

#define NFIELDS (sizeof fields / sizeof fields[0])

/* The serial lines' counters, by the name they are published under. */
static const struct {
	const char *name;
	size_t offset;
} serial_fields[] = {
#define FIELD(f) {#f, offsetof(struct gw_serial_stats, f)}
	FIELD(frames_in),  FIELD(frames_out), FIELD(damaged),
	FIELD(discarded),  FIELD(send_drops), FIELD(line_errors),
#undef FIELD
};

#define NSERIAL (sizeof serial_fields / sizeof serial_fields[0])

/* The link layer's counters (link.h), by the name they are published under. */
static const struct {
	const char *name;
	size_t offset;
} link_fields[] = {
#define FIELD(f) {#f, offsetof(struct gw_link_stats, link.f)}
	FIELD(frames_in),     FIELD(frames_out),     FIELD(bytes_in),       FIELD(bytes_out),
	FIELD(msgs_in),       FIELD(msgs_out),       FIELD(frags_in),       FIELD(frags_out),
	FIELD(compressed_out), FIELD(drop_queue_full), FIELD(drop_too_big), FIELD(bad_malformed),
	FIELD(bad_version),   FIELD(bad_key),        FIELD(bad_dict),       FIELD(bad_auth),
	FIELD(bad_replayed),  FIELD(bad_too_old),    FIELD(bad_inflate),    FIELD(bad_bomb),
	FIELD(bad_fragment),  FIELD(bad_other),      FIELD(reasm_evicted),
#undef FIELD
#define FIELD(f) {#f, offsetof(struct gw_link_stats, f)}
	FIELD(plain_refused), FIELD(plain_forged),   FIELD(id_refused),     FIELD(unknown_station),
	FIELD(probe_throttled), FIELD(probes),       FIELD(plain_frame_refused), FIELD(bad_unbound),
	FIELD(peers_full),    FIELD(rebinds),        FIELD(state_saves),    FIELD(state_errors),
	FIELD(stations),      FIELD(peers),          FIELD(bound),
#undef FIELD
};

#define NLINK (sizeof link_fields / sizeof link_fields[0])

static uint64_t link_value(const struct gw_link_stats *s, size_t i)
{
	uint64_t v;
	memcpy(&v, (const char *)s + link_fields[i].offset, sizeof v);
	return v;
}

/* The link layer's counters when it has anything to say (stations, peers or refusals). */
static const struct gw_link_stats *link_stats(const struct gw_stats_pub *sp)
{
	if (sp->link == NULL)
		return NULL;
	const struct gw_link_stats *s = gw_link_stats(sp->link);
	bool any = s->stations || s->peers || s->link.frames_in || s->plain_refused ||
	           s->plain_forged || s->id_refused || s->unknown_station || s->probe_throttled ||
	           s->plain_frame_refused || s->bad_unbound;
	return any ? s : NULL;
}

static uint64_t serial_value(const struct gw_serial_stats *s, size_t i)
{
	uint64_t v;
	memcpy(&v, (const char *)s + serial_fields[i].offset, sizeof v);
	return v;
}

static uint64_t field_value(const struct gw_stats *s, size_t i)
{
	uint64_t v;
	memcpy(&v, (const char *)s + fields[i].offset, sizeof v);
	return v;
}

/* The custody store's and drainer's counters, by name; returns how many. */
#define NCUSTODY 24
struct named {
	const char *name;
	uint64_t v;
};

static size_t custody_values(const struct gw_stats_pub *sp, struct named out[NCUSTODY])
{
	if (sp->custody == NULL)
		return 0;
	const struct gw_store_stats *s = gw_custody_store_stats(sp->custody);
	struct gw_custody_stats d;
	gw_custody_stats(sp->custody, &d);
	const struct named v[NCUSTODY] = {
		{"waiting", s->up_msgs},          {"stations", s->stations},
		{"holds", s->holds},              {"stored", s->put_up},
		{"forwarded", s->done_up},        {"expired", s->expired_up},
		{"refused_full", s->refused_full}, {"refused_station", s->refused_station},
		{"write_errors", s->write_errors}, {"fsyncs", s->fsyncs},
		{"live_bytes", s->live_bytes},    {"disk_bytes", s->disk_bytes},
		{"segments", s->segments},        {"recovered", s->recovered_up},
		{"compactions", s->compactions},  {"compact_copied", s->compact_copied},
		{"segments_deleted", s->segments_deleted},
		{"waiting_down", s->down_msgs},   {"sessions", s->sessions},
		{"published", d.published},       {"acked", d.acked},
		{"broker_refused", d.broker_refused}, {"inflight", d.inflight},
		{"released", d.released},
	};
	memcpy(out, v, sizeof v);
	return NCUSTODY;
}

/* ---------------------------------------------------------------- publish */

static int put(struct gw_stats_pub *sp, const char *name, uint64_t value)
{
	char topic[TOPIC_MAX], payload[24];
	snprintf(topic, sizeof topic, "%s/%s", sp->prefix, name);
	int n = snprintf(payload, sizeof payload, "%llu", (unsigned long long)value);
	return gw_broker_own_publish(sp->broker, topic, payload, (size_t)n, true) == 0;
}

unsigned gw_stats_pub_publish(struct gw_stats_pub *sp, uint64_t now_ms)
{
	if (sp->broker == NULL)
		return 0;
	unsigned n = 0;
	const struct gw_stats *total = gw_stats_total(sp->gw);
	for (size_t i = 0; i < NFIELDS; i++)
		n += (unsigned)put(sp, fields[i].name, field_value(total, i));
	uint64_t clients = 0;
	for (int st = 0; st < GW_STATE_COUNT; st++) {
		char name[64];
		uint32_t k = gw_clients_in_state(sp->gw, (enum gw_client_state)st);
		clients += k;
		snprintf(name, sizeof name, "clients/%s", gw_state_name((enum gw_client_state)st));
		n += (unsigned)put(sp, name, k);
	}
	n += (unsigned)put(sp, "clients/total", clients);
	n += (unsigned)put(sp, "broker/connections_up", gw_broker_count_up(sp->broker));
	if (sp->udp != NULL)
		n += (unsigned)put(sp, "udp/send_drops", gw_udp_send_drops(sp->udp));
	if (gw_serial_count(sp->serial) > 0) {
		struct gw_serial_stats ss;
		gw_serial_stats(sp->serial, &ss);
		for (size_t i = 0; i < NSERIAL; i++) {
			char name[64];
			snprintf(name, sizeof name, "serial/%s", serial_fields[i].name);
			n += (unsigned)put(sp, name, serial_value(&ss, i));
		}
	}
	const struct gw_link_stats *ls = link_stats(sp);
	for (size_t i = 0; ls != NULL && i < NLINK; i++) {
		char name[64];
		snprintf(name, sizeof name, "link/%s", link_fields[i].name);
		n += (unsigned)put(sp, name, link_value(ls, i));
	}
	struct named cv[NCUSTODY];
	size_t nc = custody_values(sp, cv);
	for (size_t i = 0; i < nc; i++) {
		char name[64];
		snprintf(name, sizeof name, "custody/%s", cv[i].name);
		n += (unsigned)put(sp, name, cv[i].v);
	}
	n += (unsigned)put(sp, "uptime_s", (now_ms - sp->started) / 1000u);
	return n;
}

static void tick(void *arg, uint64_t now)
{
	struct gw_stats_pub *sp = arg;
	unsigned n = gw_stats_pub_publish(sp, now);
	if (n == 0)
		gw_log(GW_LOG_DEBUG, "statistics not published: the broker connection is down");
	if (gw_timer_arm(sp->loop, &sp->timer, now + (uint64_t)sp->interval_s * 1000u) != 0)
		gw_log(GW_LOG_ERR, "statistics: out of memory arming a timer");
}

/* ---------------------------------------------------------------- dump */

/* A line of "name=value" pairs, written out whenever it fills up. */
struct line {
	char buf[LINE_MAX_LEN];
	size_t len;
	const char *head;
};

static void line_flush(struct line *l)
{
	if (l->len > 0)
		gw_log(GW_LOG_INFO, "%s%s", l->head, l->buf);
	l->len = 0;
	l->buf[0] = '\0';
}

static void line_add(struct line *l, const char *name, uint64_t v)
{
	char item[96];
	int n = snprintf(item, sizeof item, "%s%s=%llu", l->len ? " " : "", name,
	                 (unsigned long long)v);
	if (n < 0)
		return;
	if (l->len + (size_t)n >= sizeof l->buf) {
		line_flush(l);
		n = snprintf(item, sizeof item, "%s=%llu", name, (unsigned long long)v);
	}
	memcpy(l->buf + l->len, item, (size_t)n + 1);
	l->len += (size_t)n;
}

static void dump_client(void *arg, const char *client_id, enum gw_client_state state,
                        const struct gw_stats *s)
{
	(void)arg;
	gw_log(GW_LOG_INFO,
	       "stats client %s: %s msgs_in=%llu msgs_out=%llu bytes_in=%llu bytes_out=%llu "
	       "pub_up=%llu pub_down=%llu retries=%llu drops=%llu",
	       client_id, gw_state_name(state), (unsigned long long)s->msgs_in,
	       (unsigned long long)s->msgs_out, (unsigned long long)s->bytes_in,
	       (unsigned long long)s->bytes_out, (unsigned long long)s->pub_up,
	       (unsigned long long)s->pub_down, (unsigned long long)s->retries,
	       (unsigned long long)(s->drop_congestion + s->drop_limit + s->drop_invalid_topic +
	                            s->drop_sleep_buffer + s->drop_qos_m1));
}

void gw_stats_pub_dump(const struct gw_stats_pub *sp, uint64_t now_ms)
{
	struct line l = {.len = 0, .head = "stats: "};
	l.buf[0] = '\0';
	const struct gw_stats *total = gw_stats_total(sp->gw);
	line_add(&l, "uptime_s", (now_ms - sp->started) / 1000u);
	for (size_t i = 0; i < NFIELDS; i++)
		line_add(&l, fields[i].name, field_value(total, i));
	line_flush(&l);
	l.head = "stats clients: ";
	for (int st = 0; st < GW_STATE_COUNT; st++)
		line_add(&l, gw_state_name((enum gw_client_state)st),
		         gw_clients_in_state(sp->gw, (enum gw_client_state)st));
	if (sp->broker != NULL)
		line_add(&l, "broker_connections_up", gw_broker_count_up(sp->broker));
	if (sp->udp != NULL)
		line_add(&l, "udp_send_drops", gw_udp_send_drops(sp->udp));
	if (gw_serial_count(sp->serial) > 0) {
		struct gw_serial_stats ss;
		gw_serial_stats(sp->serial, &ss);
		for (size_t i = 0; i < NSERIAL; i++) {
			char name[64];
			snprintf(name, sizeof name, "serial_%s", serial_fields[i].name);
			line_add(&l, name, serial_value(&ss, i));
		}
	}
	line_flush(&l);
	const struct gw_link_stats *ls = link_stats(sp);
	l.head = "stats link: ";
	for (size_t i = 0; ls != NULL && i < NLINK; i++)
		line_add(&l, link_fields[i].name, link_value(ls, i));
	line_flush(&l);
	struct named cv[NCUSTODY];
	size_t nc = custody_values(sp, cv);
	l.head = "stats custody: ";
	for (size_t i = 0; i < nc; i++)
		line_add(&l, cv[i].name, cv[i].v);
	line_flush(&l);
	gw_clients_each(sp->gw, dump_client, NULL);
}

/* ---------------------------------------------------------------- life */

struct gw_stats_pub *gw_stats_pub_new(struct gw_loop *loop, const struct gw *gw,
                                      struct gw_broker *broker, const struct gw_udp *udp,
                                      const char *prefix, uint32_t interval_s)
{
	struct gw_stats_pub *sp = calloc(1, sizeof *sp);
	if (sp == NULL || (sp->prefix = strdup(prefix)) == NULL) {
		free(sp);
		return NULL;
	}
	sp->loop = loop;
	sp->gw = gw;
	sp->broker = broker;
	sp->udp = udp;
	sp->interval_s = interval_s;
	sp->started = gw_loop_now(loop);
	gw_timer_init(&sp->timer, tick, sp);
	if (interval_s > 0 && broker != NULL &&
	    gw_timer_arm(loop, &sp->timer, sp->started + (uint64_t)interval_s * 1000u) != 0) {
		gw_stats_pub_free(sp);
		return NULL;
	}
	return sp;
}

void gw_stats_pub_set_serial(struct gw_stats_pub *sp, const struct gw_serial *serial)
{
	sp->serial = serial;
}

void gw_stats_pub_set_link(struct gw_stats_pub *sp, struct gw_link *link)
{
	sp->link = link;
}

void gw_stats_pub_set_custody(struct gw_stats_pub *sp, const struct gw_custody *custody)
{
	sp->custody = custody;
}

void gw_stats_pub_free(struct gw_stats_pub *sp)
{
	if (sp == NULL)
		return;
	gw_timer_disarm(sp->loop, &sp->timer);
	free(sp->prefix);
	free(sp);
}
