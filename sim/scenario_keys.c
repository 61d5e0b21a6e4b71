/*
 * scenario_keys.c - the keys of each section of a scenario file
 * (scenario_int.h, sim/SCENARIO.md): top level, [bridge], [broker],
 * [link] and [station NAME].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/frame.h"
#include "sim/profile.h"
#include "sim/scenario_int.h"

/* ---------------------------------------------------------------- top level */

int sim_scn_key_top(struct sim_scn_parser *p, const char *k, const char *v)
{
	struct sim_scenario *s = p->s;

	if (!strcmp(k, "title"))
		return sim_scn_set_str(&s->title, v) == 0 ? 0 : sim_scn_fail(p, "out of memory");
	if (!strcmp(k, "seed")) {
		if (sim_scn_u64(v, UINT64_MAX, &s->seed) != 0)
			return sim_scn_fail(p, "seed \"%s\": want a whole number", v);
		return 0;
	}
	if (!strcmp(k, "duration") || !strcmp(k, "drain") || !strcmp(k, "sample")) {
		uint64_t us;

		if (sim_scenario_duration(v, &us) != 0)
			return sim_scn_fail(p, "%s \"%s\": want a duration such as 90s, 15m, 24h", k, v);
		if (!strcmp(k, "sample") && us < 1000u)
			return sim_scn_fail(p, "sample \"%s\": at least 1ms", v);
		if (!strcmp(k, "duration"))
			s->duration_us = us;
		else if (!strcmp(k, "drain"))
			s->drain_us = us;
		else
			s->sample_us = us;
		return 0;
	}
	return sim_scn_fail(p, "unknown key \"%s\" (top level: title, seed, duration, drain, sample, at)",
	            k);
}

/* ---------------------------------------------------------------- [bridge], [broker], [link] */

int sim_scn_key_bridge(struct sim_scn_parser *p, const char *k, const char *v)
{
	struct gw_config *g = &p->s->gw;
	bool b;
	uint32_t u;

	if (!strcmp(k, "mode")) {
		if (!strcmp(v, "transparent"))
			g->mode = GW_MODE_TRANSPARENT;
		else if (!strcmp(v, "aggregating"))
			g->mode = GW_MODE_AGGREGATING;
		else
			return sim_scn_fail(p, "mode \"%s\": want transparent or aggregating", v);
		return 0;
	}
	if (!strcmp(k, "allow_qos_m1")) {
		if (sim_scn_bool(v, &b) != 0)
			return sim_scn_fail(p, "%s \"%s\": want yes or no", k, v);
		g->allow_qos_m1 = b;
		return 0;
	}
	if (!strcmp(k, "advertise")) {
		if (sim_scn_ms32(v, &u) != 0)
			return sim_scn_fail(p, "%s \"%s\": want a duration", k, v);
		g->advertise_interval_s = u / 1000u;
		return 0;
	}
	if (!strcmp(k, "retry_initial") || !strcmp(k, "retry_min") || !strcmp(k, "retry_max") ||
	    !strcmp(k, "connect_timeout")) {
		if (sim_scn_ms32(v, &u) != 0)
			return sim_scn_fail(p, "%s \"%s\": want a duration", k, v);
		if (!strcmp(k, "retry_initial"))
			g->retry_initial_ms = u;
		else if (!strcmp(k, "retry_min"))
			g->retry_min_ms = u;
		else if (!strcmp(k, "retry_max"))
			g->retry_max_ms = u;
		else
			g->connect_timeout_ms = u;
		return 0;
	}
	{
		static const char *const names[] = { "gw_id", "max_clients", "max_topics",
			"max_sleep_buffer", "max_pending", "max_msg_size", "retry_count",
			"max_inflight", "max_subscriptions" };
		uint32_t *fields[] = { NULL, &g->max_clients, &g->max_topics, &g->max_sleep_buffer,
			&g->max_pending, &g->max_msg_size, &g->retry_count, &g->max_inflight,
			&g->max_subscriptions };
		size_t i;

		for (i = 0; i < sizeof names / sizeof names[0]; i++) {
			if (strcmp(k, names[i]) != 0)
				continue;
			if (sim_scn_u32(v, i == 0 ? 255u : UINT32_MAX, &u) != 0)
				return sim_scn_fail(p, "%s \"%s\": want a whole number", k, v);
			if (i == 0)
				g->gw_id = (uint8_t)u;
			else
				*fields[i] = u;
			return 0;
		}
	}
	return sim_scn_fail(p, "unknown bridge key \"%s\"", k);
}

int sim_scn_key_broker(struct sim_scn_parser *p, const char *k, const char *v)
{
	struct sim_broker_cfg *b = &p->s->broker;
	uint64_t *f = NULL;

	if (!strcmp(k, "connect"))
		f = &b->connect_us;
	else if (!strcmp(k, "ack"))
		f = &b->ack_us;
	else if (!strcmp(k, "deliver"))
		f = &b->deliver_us;
	else
		return sim_scn_fail(p, "unknown broker key \"%s\" (connect, ack, deliver)", k);
	if (sim_scenario_duration(v, f) != 0)
		return sim_scn_fail(p, "%s \"%s\": want a duration", k, v);
	return 0;
}

int sim_scn_key_link(struct sim_scn_parser *p, const char *k, const char *v)
{
	struct sim_scenario *s = p->s;
	struct sim_link_setting *ls;
	size_t n;

	if (!strcmp(k, "profile")) {
		if (sim_profile_find(v) == NULL)
			return sim_scn_fail(p, "unknown link profile \"%s\"", v);
		if (s->trace_default) {
			/* the old profile's trace is not this one's */
			free(s->trace);
			s->trace = NULL;
		}
		return sim_scn_set_str(&s->profile, v) == 0 ? 0 : sim_scn_fail(p, "out of memory");
	}
	if (!strcmp(k, "damaged")) {
		if (!strcmp(v, "drop"))
			s->keep_damaged = false;
		else if (!strcmp(v, "deliver"))
			s->keep_damaged = true;
		else
			return sim_scn_fail(p, "damaged \"%s\": want drop or deliver", v);
		return 0;
	}
	if (!strcmp(k, "trace")) {
		char err[768];

		s->trace_default = false;
		free(s->trace);
		s->trace = NULL;
		if (!strcmp(v, "none"))
			return 0;
		s->trace = sim_scenario_resolve(s, v, err, sizeof err);
		if (s->trace == NULL)
			return sim_scn_fail(p, "trace %s", err);
		return 0;
	}
	ls = realloc(s->link_set, (s->n_link_set + 1) * sizeof *ls);
	if (ls == NULL)
		return sim_scn_fail(p, "out of memory");
	s->link_set = ls;
	n = strlen(k) + strlen(v) + 2;
	ls[s->n_link_set].assignment = malloc(n);
	if (ls[s->n_link_set].assignment == NULL)
		return sim_scn_fail(p, "out of memory");
	snprintf(ls[s->n_link_set].assignment, n, "%s=%s", k, v);
	ls[s->n_link_set].line = p->line;
	s->n_link_set++;
	return 0;
}

/* ---------------------------------------------------------------- [station NAME] */

void sim_scn_station_defaults(struct sim_station_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->every_us = 60u * 1000000u;
	c->qos = 1;
	c->keep_alive_s = 600;
	c->clean_session = false;
	c->window = 1;
	c->max_msg = 1200;
	c->max_msg_auto = true;
	c->retry_initial_ms = 10000;
	c->retry_min_ms = 1000;
	c->retry_max_ms = 300000;
	c->retry_count = 5;
	c->connect_retry_count = 5;
	c->reconnect_min_us = 5u * 1000000u;
	c->reconnect_max_us = 60u * 1000000u;
	c->subscribe_qos = 1;
}

int sim_scn_key_station(struct sim_scn_parser *p, const char *k, const char *v)
{
	struct sim_scn_group *g = &p->g[p->ng - 1];
	struct sim_station_cfg *c = &g->cfg;
	uint32_t u;
	bool b;

	if (!strcmp(k, "corpus"))
		return sim_scn_set_str(&g->corpus_rel, v) == 0 ? 0 : sim_scn_fail(p, "out of memory");
	if (!strcmp(k, "topic")) {
		if (strchr(v, '#') != NULL || strchr(v, '+') != NULL)
			return sim_scn_fail(p, "topic \"%s\": no wildcards in a topic to publish on", v);
		return sim_scn_set_str(&g->topic, v) == 0 ? 0 : sim_scn_fail(p, "out of memory");
	}
	if (!strcmp(k, "subscribe"))
		return sim_scn_set_str(&c->subscribe, v) == 0 ? 0 : sim_scn_fail(p, "out of memory");
	if (!strcmp(k, "qos") || !strcmp(k, "subscribe_qos")) {
		if (sim_scn_qos(v, !strcmp(k, "qos") ? &c->qos : &c->subscribe_qos) != 0)
			return sim_scn_fail(p, "%s \"%s\": want 0, 1 or 2", k, v);
		return 0;
	}
	if (!strcmp(k, "every") || !strcmp(k, "offset") || !strcmp(k, "start") ||
	    !strcmp(k, "stop") || !strcmp(k, "reconnect_min") || !strcmp(k, "reconnect_max")) {
		uint64_t us;

		if (sim_scenario_duration(v, &us) != 0)
			return sim_scn_fail(p, "%s \"%s\": want a duration such as 60s", k, v);
		if (!strcmp(k, "every")) {
			if (us < 1000u)
				return sim_scn_fail(p, "every \"%s\": at least 1ms", v);
			c->every_us = us;
		} else if (!strcmp(k, "offset")) {
			c->offset_us = us;
			g->staggered = false;
		} else if (!strcmp(k, "start")) {
			c->start_us = us;
		} else if (!strcmp(k, "stop")) {
			c->stop_us = us;
		} else if (!strcmp(k, "reconnect_min")) {
			c->reconnect_min_us = us;
		} else {
			c->reconnect_max_us = us;
		}
		return 0;
	}
	if (!strcmp(k, "retry_initial") || !strcmp(k, "retry_min") || !strcmp(k, "retry_max")) {
		if (sim_scn_ms32(v, &u) != 0)
			return sim_scn_fail(p, "%s \"%s\": want a duration", k, v);
		if (!strcmp(k, "retry_initial"))
			c->retry_initial_ms = u;
		else if (!strcmp(k, "retry_min"))
			c->retry_min_ms = u;
		else
			c->retry_max_ms = u;
		return 0;
	}
	if (!strcmp(k, "keep_alive") || !strcmp(k, "ttl")) {
		if (sim_scn_ms32(v, &u) != 0 || (!strcmp(k, "keep_alive") && u / 1000u > 65535u))
			return sim_scn_fail(p, "%s \"%s\": want a duration (keep_alive at most 65535s)", k, v);
		if (!strcmp(k, "keep_alive"))
			c->keep_alive_s = (uint16_t)(u / 1000u);
		else
			c->ttl_s = u / 1000u;
		return 0;
	}
	if (!strcmp(k, "clean_session")) {
		if (sim_scn_bool(v, &b) != 0)
			return sim_scn_fail(p, "%s \"%s\": want yes or no", k, v);
		c->clean_session = b;
		return 0;
	}
	if (!strcmp(k, "queue_full")) {
		if (!strcmp(v, "refuse"))
			c->queue_drop_oldest = false;
		else if (!strcmp(v, "drop_oldest"))
			c->queue_drop_oldest = true;
		else
			return sim_scn_fail(p, "queue_full \"%s\": want refuse or drop_oldest", v);
		return 0;
	}
	if (!strcmp(k, "corpus_start")) {
		if (sim_scn_u64(v, UINT64_MAX, &c->corpus_start) != 0)
			return sim_scn_fail(p, "%s \"%s\": want a whole number", k, v);
		return 0;
	}
	{
		static const char *const names[] = { "count", "window", "max_msg", "retry_count",
			"connect_retry_count", "queue_max", "priority" };
		uint32_t prio = 0;
		uint32_t *fields[] = { &g->count, &c->window, &c->max_msg, &c->retry_count,
			&c->connect_retry_count, &c->queue_max, &prio };
		static const uint32_t max[] = { SIM_SCN_STATIONS_MAX, 65535u, 65535u, 1000u, 1000u,
			UINT32_MAX, 3u };
		size_t i;

		for (i = 0; i < sizeof names / sizeof names[0]; i++) {
			if (strcmp(k, names[i]) != 0)
				continue;
			if (sim_scn_u32(v, max[i], fields[i]) != 0)
				return sim_scn_fail(p, "%s \"%s\": want a whole number in range", k, v);
			if (i == 0 && g->count == 0)
				return sim_scn_fail(p, "count \"%s\": at least 1", v);
			if (i == 1 && c->window == 0)
				return sim_scn_fail(p, "window \"%s\": at least 1", v);
			if (i == 2) {
				if (c->max_msg < 32)
					return sim_scn_fail(p, "max_msg \"%s\": at least 32", v);
				c->max_msg_auto = false;
			}
			if (i == 6)
				c->priority = (uint8_t)prio;
			return 0;
		}
	}
	return sim_scn_fail(p, "unknown station key \"%s\"", k);
}

/* ---------------------------------------------------------------- [frames] */

int sim_scn_key_frames(struct sim_scn_parser *p, const char *k, const char *v)
{
	struct sim_frames_cfg *f = &p->s->frames;
	uint32_t u;

	if (!strcmp(k, "on") || !strcmp(k, "encrypt") || !strcmp(k, "compress")) {
		bool b;

		if (sim_scn_bool(v, &b) != 0)
			return sim_scn_fail(p, "%s \"%s\": want on or off", k, v);
		if (!strcmp(k, "on"))
			f->on = b;
		else if (!strcmp(k, "encrypt"))
			f->encrypt = b;
		else
			f->compress = b;
		return 0;
	}
	if (!strcmp(k, "mtu_up") || !strcmp(k, "mtu_down")) {
		if (sim_scn_u32(v, MQTTSN_FRAME_MAX, &u) != 0 || u < 64u)
			return sim_scn_fail(p, "%s \"%s\": want 64 to %u octets", k, v,
			                    (unsigned)MQTTSN_FRAME_MAX);
		if (!strcmp(k, "mtu_up"))
			f->mtu_up = u;
		else
			f->mtu_down = u;
		return 0;
	}
	if (!strcmp(k, "hold")) {
		if (sim_scn_ms32(v, &f->hold_ms) != 0)
			return sim_scn_fail(p, "hold \"%s\": want a duration such as 200ms", v);
		return 0;
	}
	if (!strcmp(k, "window")) {
		if (sim_scn_u32(v, 1024u, &f->window) != 0 || f->window == 0)
			return sim_scn_fail(p, "window \"%s\": want 1 to 1024", v);
		return 0;
	}
	if (!strcmp(k, "dict_records")) {
		if (sim_scn_u32(v, 100000u, &f->dict_records) != 0)
			return sim_scn_fail(p, "dict_records \"%s\": want 0 to 100000", v);
		return 0;
	}
	return sim_scn_fail(p, "unknown [frames] key \"%s\" (on, mtu_up, mtu_down, hold, encrypt, "
	                       "compress, window, dict_records)",
	                    k);
}
