/*
 * scenario_int.h - the scenario parser's state, shared by its files and by
 * no one else:
 *   scenario_parse.c    lines, sections, `at` lines, groups; load, set, free
 *   scenario_keys.c     the keys of each section
 *   scenario_values.c   durations, numbers, yes and no
 *   scenario_path.c     where data files are
 */
#ifndef SNBRIDGE_SIM_SCENARIO_INT_H
#define SNBRIDGE_SIM_SCENARIO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/scenario.h"

#define SIM_SCN_DEFAULT_TOPIC "stations/{name}/telemetry"

enum sim_scn_section { SIM_SEC_TOP, SIM_SEC_STATION, SIM_SEC_BRIDGE, SIM_SEC_BROKER, SIM_SEC_LINK, SIM_SEC_FRAMES };

/* A [station] section before its expansion into `count` stations. */
struct sim_scn_group {
	struct sim_station_cfg cfg;  /* name: the section's name */
	char *corpus_rel;
	char *topic;
	uint32_t count;
	bool staggered;              /* count > 1: offsets spread over the period */
};

/* An `at` line before its station name is looked up. */
struct sim_scn_act {
	struct sim_action a;
	char target[64];
};

struct sim_scn_parser {
	struct sim_scenario *s;
	const char *file;
	int line;
	char *err;
	size_t errcap;
	enum sim_scn_section sec;
	struct sim_scn_group *g;
	size_t ng, gcap;
	struct sim_scn_act *pa;
	size_t npa, pacap;
};

/* ---------------------------------------------------------------- scenario_parse.c */

/* "FILE:LINE: message" into p->err; returns -1. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int sim_scn_fail(struct sim_scn_parser *p, const char *fmt, ...);

/*
 * Apply the profile and the link settings to a scratch link, so that a bad
 * one is reported with its line, and fit each station's max_msg to the
 * link's MTU. Returns 0 or -1.
 */
int sim_scn_check_link(struct sim_scn_parser *p);

/* ---------------------------------------------------------------- scenario_keys.c */

/* One `key value` line of a section. Return 0, or -1 with the error set. */
int sim_scn_key_top(struct sim_scn_parser *p, const char *k, const char *v);
int sim_scn_key_bridge(struct sim_scn_parser *p, const char *k, const char *v);
int sim_scn_key_broker(struct sim_scn_parser *p, const char *k, const char *v);
int sim_scn_key_link(struct sim_scn_parser *p, const char *k, const char *v);
int sim_scn_key_frames(struct sim_scn_parser *p, const char *k, const char *v);
int sim_scn_key_station(struct sim_scn_parser *p, const char *k, const char *v);

/* A station's settings before its section sets any. */
void sim_scn_station_defaults(struct sim_station_cfg *c);

/* ---------------------------------------------------------------- scenario_values.c */

/* Each returns 0 and the value, or -1 for text that is not one. */
int sim_scn_u64(const char *text, uint64_t max, uint64_t *out);  /* decimal, at most max */
int sim_scn_u32(const char *text, uint32_t max, uint32_t *out);
int sim_scn_bool(const char *text, bool *out);                   /* yes/no, true/false, on/off, 1/0 */
int sim_scn_ms32(const char *text, uint32_t *out);               /* a duration in whole ms */
int sim_scn_qos(const char *text, int *out);                     /* 0, 1 or 2 */
/* Replace *dst with a copy of v. Returns 0, or -1 out of memory. */
int sim_scn_set_str(char **dst, const char *v);

#endif
