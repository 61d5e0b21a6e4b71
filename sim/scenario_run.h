/*
 * scenario_run.h - a scenario run in virtual time: the real client cores
 * (one per station, each with its on-disk queue), one link model per
 * station, the real gateway core and the in-memory broker in one process,
 * with no sockets and no sleeping.
 *
 * The clock is a priority queue of (virtual time, event). The events are
 * each component's next deadline: a client core's (snc_tick), a station's
 * reconnect, a link's next delivery, the gateway core's (gw_tick), the
 * broker's next answer, a station's publish schedule, the scripted crashes
 * and restarts, and the time series' samples. Nothing else moves time, so
 * a run repeats exactly from its seed.
 *
 * Stations publish within [0, duration); the run then goes on until every
 * queue is empty (checked at each sample) or duration + drain has passed.
 */
#ifndef SNBRIDGE_SIM_SCENARIO_RUN_H
#define SNBRIDGE_SIM_SCENARIO_RUN_H

#include <stdio.h>

#include "sim/broker_mem.h"
#include "sim/report.h"
#include "sim/scenario.h"

struct sim_world;

/* Options of a run beyond the scenario. */
struct sim_run_opts {
	const char *workdir;  /* where the stations' queues go: a fresh directory is
	                         made in it and removed after (NULL: /dev/shm when
	                         usable, else $TMPDIR or /tmp) */
	FILE *log;            /* the gateway core's log lines, or NULL */
};

/*
 * Build the world for scenario s (which must outlive it): corpora read,
 * stations made (not started), links, broker, gateway core. NULL with a
 * message in err on failure.
 */
struct sim_world *sim_world_new(const struct sim_scenario *s, const struct sim_run_opts *opts,
                                char *err, size_t errcap);

/* Run the scenario to its end. Returns 0, or -1 with a message in err. */
int sim_world_run(struct sim_world *w, char *err, size_t errcap);

/*
 * The report of a finished run (r is filled, to be freed with
 * sim_report_free). Stops the stations to list what is left in their
 * queues, so call it once, after sim_world_run. Returns 0, or -1.
 */
int sim_world_report(struct sim_world *w, struct sim_report *r, char *err, size_t errcap);

/* The in-memory broker, to look at what it received. */
const struct sim_broker *sim_world_broker(const struct sim_world *w);

/* Free the world and remove the queues' directory. NULL is fine. */
void sim_world_free(struct sim_world *w);

/* All of it: new, run, report, free. Returns 0, or -1 with a message. */
int sim_scenario_run(const struct sim_scenario *s, const struct sim_run_opts *opts,
                     struct sim_report *r, char *err, size_t errcap);

#endif
