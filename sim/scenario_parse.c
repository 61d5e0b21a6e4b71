/*
 * scenario_parse.c - the scenario file (scenario.h, sim/SCENARIO.md):
 * `key value` lines, `[section]` headers, `at` lines for crashes and
 * restarts, `#` comments.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "sim/profile.h"
#include "sim/scenario_int.h"

int sim_scn_fail(struct sim_scn_parser *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (p->line > 0)
		snprintf(p->err, p->errcap, "%s:%d: %s", p->file, p->line, msg);
	else
		snprintf(p->err, p->errcap, "%s: %s", p->file, msg);
	return -1;
}

/* ---------------------------------------------------------------- lines */

static int section_header(struct sim_scn_parser *p, char *text)
{
	size_t n = strlen(text);
	char *name;

	if (text[n - 1] != ']')
		return sim_scn_fail(p, "a section header ends with ]");
	text[n - 1] = '\0';
	text++;
	name = strchr(text, ' ');
	if (name != NULL) {
		*name++ = '\0';
		while (*name == ' ' || *name == '\t')
			name++;
	}
	if (!strcmp(text, "bridge") || !strcmp(text, "broker") || !strcmp(text, "link") ||
	    !strcmp(text, "frames")) {
		if (name != NULL && *name != '\0')
			return sim_scn_fail(p, "[%s] takes no name", text);
		p->sec = !strcmp(text, "bridge")   ? SIM_SEC_BRIDGE
		         : !strcmp(text, "broker") ? SIM_SEC_BROKER
		         : !strcmp(text, "link")   ? SIM_SEC_LINK
		                                   : SIM_SEC_FRAMES;
		return 0;
	}
	if (strcmp(text, "station") != 0)
		return sim_scn_fail(p, "unknown section [%s] (station NAME, bridge, broker, link, frames)",
		                    text);
	if (name == NULL || *name == '\0')
		return sim_scn_fail(p, "[station NAME]: the name is missing");
	if (strlen(name) > SIM_SCN_NAME_MAX)
		return sim_scn_fail(p, "station name \"%s\" is longer than 23 characters (a client id)", name);
	if (p->ng == p->gcap) {
		size_t cap = p->gcap ? p->gcap * 2 : 8;
		struct sim_scn_group *g = realloc(p->g, cap * sizeof *g);

		if (g == NULL)
			return sim_scn_fail(p, "out of memory");
		p->g = g;
		p->gcap = cap;
	}
	memset(&p->g[p->ng], 0, sizeof p->g[p->ng]);
	sim_scn_station_defaults(&p->g[p->ng].cfg);
	snprintf(p->g[p->ng].cfg.name, sizeof p->g[p->ng].cfg.name, "%s", name);
	p->g[p->ng].cfg.line = p->line;
	p->g[p->ng].count = 1;
	p->g[p->ng].staggered = true;
	p->ng++;
	p->sec = SIM_SEC_STATION;
	return 0;
}

/* at TIME crash|restart bridge|station NAME [for DURATION] */
static int at_line(struct sim_scn_parser *p, char *rest)
{
	char *w[7];
	size_t n = 0;
	struct sim_scn_act pa;
	char *tok = strtok(rest, " \t");

	while (tok != NULL && n < 7) {
		w[n++] = tok;
		tok = strtok(NULL, " \t");
	}
	if (tok != NULL || n < 3)
		return sim_scn_fail(p, "want: at TIME crash|restart bridge|station NAME [for DURATION]");
	memset(&pa, 0, sizeof pa);
	pa.a.line = p->line;
	if (sim_scenario_duration(w[0], &pa.a.at_us) != 0)
		return sim_scn_fail(p, "at \"%s\": want a time such as 6h", w[0]);
	if (!strcmp(w[1], "crash"))
		pa.a.kind = SIM_ACT_CRASH;
	else if (!strcmp(w[1], "restart"))
		pa.a.kind = SIM_ACT_RESTART;
	else
		return sim_scn_fail(p, "\"%s\": want crash or restart", w[1]);
	if (!strcmp(w[2], "bridge")) {
		pa.a.bridge = true;
		n -= 3;
		memmove(w, w + 3, n * sizeof w[0]);
	} else if (!strcmp(w[2], "station") && n >= 4) {
		snprintf(pa.target, sizeof pa.target, "%s", w[3]);
		n -= 4;
		memmove(w, w + 4, n * sizeof w[0]);
	} else {
		return sim_scn_fail(p, "\"%s\": want bridge or station NAME", w[2]);
	}
	if (n == 2 && !strcmp(w[0], "for")) {
		if (sim_scenario_duration(w[1], &pa.a.down_us) != 0)
			return sim_scn_fail(p, "for \"%s\": want a duration", w[1]);
	} else if (n != 0) {
		return sim_scn_fail(p, "\"%s\": want `for DURATION` or nothing", w[0]);
	}
	if (p->npa == p->pacap) {
		size_t cap = p->pacap ? p->pacap * 2 : 8;
		struct sim_scn_act *a = realloc(p->pa, cap * sizeof *a);

		if (a == NULL)
			return sim_scn_fail(p, "out of memory");
		p->pa = a;
		p->pacap = cap;
	}
	p->pa[p->npa++] = pa;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int one_line(struct sim_scn_parser *p, char *raw)
{
	char *text, *hash, *v;

	/* a comment starts the line or follows a blank */
	for (hash = raw; (hash = strchr(hash, '#')) != NULL; hash++)
		if (hash == raw || hash[-1] == ' ' || hash[-1] == '\t') {
			*hash = '\0';
			break;
		}
	text = trim(raw);
	if (*text == '\0')
		return 0;
	if (*text == '[')
		return section_header(p, text);
	v = text + strcspn(text, " \t");
	if (*v != '\0')
		*v++ = '\0';
	v = trim(v);
	if (!strcmp(text, "at"))
		return at_line(p, v);
	if (*v == '\0')
		return sim_scn_fail(p, "\"%s\" has no value", text);
	switch (p->sec) {
	case SIM_SEC_TOP: return sim_scn_key_top(p, text, v);
	case SIM_SEC_STATION: return sim_scn_key_station(p, text, v);
	case SIM_SEC_BRIDGE: return sim_scn_key_bridge(p, text, v);
	case SIM_SEC_BROKER: return sim_scn_key_broker(p, text, v);
	case SIM_SEC_LINK: return sim_scn_key_link(p, text, v);
	case SIM_SEC_FRAMES: return sim_scn_key_frames(p, text, v);
	}
	return -1;
}

/* ---------------------------------------------------------------- after the file */

/* topic with {name} replaced. */
static char *expand_topic(const char *tmpl, const char *name)
{
	size_t n = strlen(tmpl) + 1, i = 0;
	const char *t;
	char *out, *o;

	for (t = strstr(tmpl, "{name}"); t != NULL; t = strstr(t + 6, "{name}"))
		n += strlen(name);
	out = malloc(n);
	if (out == NULL)
		return NULL;
	o = out;
	while (tmpl[i] != '\0') {
		if (!strncmp(tmpl + i, "{name}", 6)) {
			memcpy(o, name, strlen(name));
			o += strlen(name);
			i += 6;
		} else {
			*o++ = tmpl[i++];
		}
	}
	*o = '\0';
	return out;
}

static int expand(struct sim_scn_parser *p)
{
	struct sim_scenario *s = p->s;
	size_t total = 0, i, k;

	for (i = 0; i < p->ng; i++)
		total += p->g[i].count;
	if (total == 0) {
		p->line = 0;
		snprintf(p->err, p->errcap, "%s: no [station NAME] section", p->file);
		return -1;
	}
	if (total > SIM_SCN_STATIONS_MAX) {
		snprintf(p->err, p->errcap, "%s: %zu stations, at most %u", p->file, total,
		         SIM_SCN_STATIONS_MAX);
		return -1;
	}
	s->st = calloc(total, sizeof *s->st);
	if (s->st == NULL)
		return sim_scn_fail(p, "out of memory");
	for (i = 0; i < p->ng; i++) {
		struct sim_scn_group *g = &p->g[i];
		char *corpus;
		char err[768];

		p->line = g->cfg.line;
		if (g->corpus_rel == NULL && g->cfg.subscribe == NULL)
			return sim_scn_fail(p, "station %s: no corpus (and no subscription)", g->cfg.name);
		corpus = NULL;
		if (g->corpus_rel != NULL) {
			corpus = sim_scenario_resolve(s, g->corpus_rel, err, sizeof err);
			if (corpus == NULL)
				return sim_scn_fail(p, "station %s: corpus %s", g->cfg.name, err);
		}
		for (k = 0; k < g->count; k++) {
			struct sim_station_cfg *c = &s->st[s->n_st];
			char name[64];

			*c = g->cfg;
			c->subscribe = NULL;
			c->corpus = NULL;
			c->topic = NULL;
			s->n_st++;
			if (g->count > 1) {
				snprintf(name, sizeof name, "%s-%0*zu", g->cfg.name,
				         g->count > 1000 ? 4 : 3, k + 1);
				if (strlen(name) > SIM_SCN_NAME_MAX) {
					free(corpus);
					return sim_scn_fail(p, "station name %s is longer than 23 characters", name);
				}
				memcpy(c->name, name, strlen(name) + 1);
				if (g->staggered)
					c->offset_us = g->cfg.every_us * k / g->count;
			}
			c->corpus = corpus != NULL ? strdup(corpus) : NULL;
			c->topic = expand_topic(g->topic != NULL ? g->topic : SIM_SCN_DEFAULT_TOPIC, c->name);
			if (g->cfg.subscribe != NULL)
				c->subscribe = expand_topic(g->cfg.subscribe, c->name);
			if ((corpus != NULL && c->corpus == NULL) || c->topic == NULL ||
			    (g->cfg.subscribe != NULL && c->subscribe == NULL)) {
				free(corpus);
				return sim_scn_fail(p, "out of memory");
			}
		}
		free(corpus);
	}
	/* names are client ids: two stations with one id would take each other's session */
	for (i = 0; i < s->n_st; i++)
		for (k = i + 1; k < s->n_st; k++)
			if (!strcmp(s->st[i].name, s->st[k].name)) {
				p->line = s->st[k].line;
				return sim_scn_fail(p, "two stations are called %s", s->st[k].name);
			}
	return 0;
}

static int by_time(const void *a, const void *b)
{
	const struct sim_action *x = a, *y = b;

	if (x->at_us != y->at_us)
		return x->at_us < y->at_us ? -1 : 1;
	return x->line - y->line;
}

static int resolve_actions(struct sim_scn_parser *p)
{
	struct sim_scenario *s = p->s;
	size_t i, k, n = 0;

	for (i = 0; i < p->npa; i++) {
		struct sim_scn_act *pa = &p->pa[i];
		size_t matched = 0;

		p->line = pa->a.line;
		if (pa->a.bridge) {
			n++;
			continue;
		}
		for (k = 0; k < s->n_st; k++) {
			const char *nm = s->st[k].name;
			size_t tl = strlen(pa->target);

			/* NAME, or the group NAME of NAME-001 ... */
			if (!strcmp(nm, pa->target) ||
			    (!strncmp(nm, pa->target, tl) && nm[tl] == '-' && nm[tl + 1] >= '0' &&
			     nm[tl + 1] <= '9' && strchr(nm + tl + 1, '-') == NULL))
				matched++;
		}
		if (matched == 0)
			return sim_scn_fail(p, "no station called %s", pa->target);
		n += matched;
	}
	s->act = calloc(n ? n : 1, sizeof *s->act);
	if (s->act == NULL)
		return sim_scn_fail(p, "out of memory");
	for (i = 0; i < p->npa; i++) {
		struct sim_scn_act *pa = &p->pa[i];
		size_t tl = strlen(pa->target);

		if (pa->a.bridge) {
			s->act[s->n_act++] = pa->a;
			continue;
		}
		for (k = 0; k < s->n_st; k++) {
			const char *nm = s->st[k].name;

			if (!strcmp(nm, pa->target) ||
			    (!strncmp(nm, pa->target, tl) && nm[tl] == '-' && nm[tl + 1] >= '0' &&
			     nm[tl + 1] <= '9' && strchr(nm + tl + 1, '-') == NULL)) {
				s->act[s->n_act] = pa->a;
				s->act[s->n_act].station = (uint32_t)k;
				s->n_act++;
			}
		}
	}
	qsort(s->act, s->n_act, sizeof *s->act, by_time);
	return 0;
}

/* Try the link settings now, so that a bad one is reported with its line. */
int sim_scn_check_link(struct sim_scn_parser *p)
{
	struct sim_scenario *s = p->s;
	struct sim_link_params lp;
	char err[256];
	size_t i;

	p->line = 0;
	if (sim_profile_apply(&lp, s->profile, err, sizeof err) != 0)
		return sim_scn_fail(p, "%s", err);
	for (i = 0; i < s->n_link_set; i++) {
		p->line = s->link_set[i].line;
		if (sim_profile_set(&lp, s->link_set[i].assignment, err, sizeof err) != 0)
			return sim_scn_fail(p, "%s", err);
	}
	/* a station sends nothing larger than its link carries, unless told */
	for (i = 0; i < s->n_st; i++)
		if (s->st[i].max_msg_auto)
			s->st[i].max_msg = lp.dir[SIM_UP].mtu >= 32 && lp.dir[SIM_UP].mtu < 1200
			                           ? (uint32_t)lp.dir[SIM_UP].mtu
			                           : 1200;
	if (s->trace_default && s->trace == NULL) {
		const struct sim_profile *pr = sim_profile_find(s->profile);

		if (pr != NULL && pr->trace != NULL) {
			char rel[256], rerr[768];

			snprintf(rel, sizeof rel, "links/%s", pr->trace);
			s->trace = sim_scenario_resolve(s, rel, rerr, sizeof rerr);
			if (s->trace == NULL)
				return sim_scn_fail(p, "profile %s's trace %s", s->profile, rerr);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- entry points */

static int init(struct sim_scenario *s, const char *path)
{
	const char *slash;

	memset(s, 0, sizeof *s);
	s->path = strdup(path);
	slash = strrchr(path, '/');
	if (slash == NULL)
		s->dir = strdup(".");
	else if (slash == path)
		s->dir = strdup("/");
	else
		s->dir = strndup(path, (size_t)(slash - path));
	s->profile = strdup("perfect");
	if (s->path == NULL || s->dir == NULL || s->profile == NULL)
		return -1;
	s->seed = 1;
	s->duration_us = 24ull * 3600u * 1000000u;
	s->drain_us = 3600ull * 1000000u;
	s->sample_us = 60ull * 1000000u;
	s->trace_default = true;
	gw_config_defaults(&s->gw);
	s->gw.advertise_interval_s = 0; /* an ADVERTISE down every link costs bytes */
	s->broker.connect_us = 5000;
	s->broker.ack_us = 2000;
	s->broker.deliver_us = 2000;
	s->frames.mtu_up = 340;    /* Iridium SBD: LINKS.md */
	s->frames.mtu_down = 270;
	s->frames.hold_ms = 200;
	s->frames.encrypt = true;
	s->frames.compress = true;
	s->frames.dict_records = 200;
	s->frames.window = 128;
	return 0;
}

static void parser_free(struct sim_scn_parser *p)
{
	size_t i;

	for (i = 0; i < p->ng; i++) {
		free(p->g[i].corpus_rel);
		free(p->g[i].topic);
		free(p->g[i].cfg.subscribe);
	}
	free(p->g);
	free(p->pa);
}

int sim_scenario_load(struct sim_scenario *s, const char *path, char *err, size_t errcap)
{
	struct sim_scn_parser p;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	FILE *fp;
	int rc = 0;

	memset(&p, 0, sizeof p);
	p.s = s;
	p.file = path;
	p.err = err;
	p.errcap = errcap;
	if (init(s, path) != 0) {
		sim_scenario_free(s);
		snprintf(err, errcap, "%s: out of memory", path);
		return -1;
	}
	fp = fopen(path, "r");
	if (fp == NULL) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		sim_scenario_free(s);
		return -1;
	}
	while (rc == 0 && (got = getline(&line, &cap, fp)) >= 0) {
		p.line++;
		if ((size_t)got > SIM_SCN_LINE_MAX)
			rc = sim_scn_fail(&p, "line longer than %u octets", SIM_SCN_LINE_MAX);
		else
			rc = one_line(&p, line);
	}
	free(line);
	fclose(fp);
	if (rc == 0)
		rc = expand(&p);
	if (rc == 0)
		rc = resolve_actions(&p);
	if (rc == 0)
		rc = sim_scn_check_link(&p);
	parser_free(&p);
	if (rc != 0)
		sim_scenario_free(s);
	return rc;
}

int sim_scenario_set(struct sim_scenario *s, const char *assignment, char *err, size_t errcap)
{
	struct sim_scn_parser p;
	char buf[SIM_SCN_LINE_MAX];
	char *eq, *key;
	int rc;

	memset(&p, 0, sizeof p);
	p.s = s;
	p.file = "--set";
	p.err = err;
	p.errcap = errcap;
	snprintf(buf, sizeof buf, "%s", assignment);
	eq = strchr(buf, '=');
	if (eq == NULL || eq == buf || eq[1] == '\0') {
		snprintf(err, errcap, "--set %s: want KEY=VALUE", assignment);
		return -1;
	}
	*eq = '\0';
	key = buf;
	if (!strncmp(key, "link.", 5)) {
		rc = sim_scn_key_link(&p, key + 5, eq + 1);
		if (rc == 0 && strcmp(key + 5, "trace") != 0)
			rc = sim_scn_check_link(&p);
	} else if (!strncmp(key, "bridge.", 7)) {
		rc = sim_scn_key_bridge(&p, key + 7, eq + 1);
	} else if (!strncmp(key, "broker.", 7)) {
		rc = sim_scn_key_broker(&p, key + 7, eq + 1);
	} else if (!strncmp(key, "frames.", 7)) {
		rc = sim_scn_key_frames(&p, key + 7, eq + 1);
	} else {
		rc = sim_scn_key_top(&p, key, eq + 1);
	}
	return rc;
}

void sim_scenario_free(struct sim_scenario *s)
{
	size_t i;

	for (i = 0; i < s->n_st; i++) {
		free(s->st[i].corpus);
		free(s->st[i].topic);
		free(s->st[i].subscribe);
	}
	for (i = 0; i < s->n_link_set; i++)
		free(s->link_set[i].assignment);
	free(s->link_set);
	free(s->st);
	free(s->act);
	free(s->path);
	free(s->dir);
	free(s->title);
	free(s->profile);
	free(s->trace);
	memset(s, 0, sizeof *s);
}
