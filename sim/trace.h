/*
 * trace.h - outage schedules: `--down START+LEN` arguments and outage
 * trace files (LINKS.md, "Outage traces": CSV, a "down_at_s,up_at_s"
 * header, one outage a line, seconds from the start of the run).
 */
#ifndef SNBRIDGE_SIM_TRACE_H
#define SNBRIDGE_SIM_TRACE_H

#include <stddef.h>

#include "sim/link.h"

#define SIM_OUTAGES_MAX 1000000u /* outages in one schedule, at most */

/* A growing list of outages (unsorted; sim_link_init sorts and merges). */
struct sim_outages {
	struct sim_outage *v;
	size_t n, cap;
};

/* Add one outage [down_us, up_us). Returns 0, or -1 (errno ENOMEM or E2BIG). */
int sim_outages_add(struct sim_outages *o, uint64_t down_us, uint64_t up_us);

/* Free the list; it is empty and may be used again. */
void sim_outages_free(struct sim_outages *o);

/*
 * Parse "START+LEN" (seconds, decimals allowed: "600+90", "12.5+0.5")
 * and add the outage. Returns 0, or -1 with a message in err.
 */
int sim_outages_parse_down(struct sim_outages *o, const char *arg, char *err, size_t errlen);

/*
 * Load a trace file and add its outages. Returns 0, or -1 (nothing added)
 * with a message
 * "FILE:LINE: what is wrong" (or "FILE: strerror") in err.
 */
int sim_outages_load(struct sim_outages *o, const char *path, char *err, size_t errlen);

/*
 * The same from text in memory (name is used in messages): what
 * sim_outages_load does after reading the file.
 */
int sim_outages_parse_csv(struct sim_outages *o, const char *name, const char *text, size_t len,
                          char *err, size_t errlen);

#endif
