/*
 * scenario_world.h - the state of a scenario run, shared by the files that
 * make it up and by no one else:
 *   scenario_world.c    building and freeing it; the callbacks of the
 *                       gateway core and the stations
 *   scenario_loop.c     the event loop
 *   scenario_finish.c   the report at the end
 */
#ifndef SNBRIDGE_SIM_SCENARIO_WORLD_H
#define SNBRIDGE_SIM_SCENARIO_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bridge/gw.h"
#include "sim/broker_mem.h"
#include "sim/link.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/scenario_heap.h"
#include "sim/scenario_run.h"
#include "sim/stations.h"
#include "sim/stations_corpus.h"

#define SIM_NEVER UINT64_MAX

/* What an item of the priority queue stands for. */
enum world_ev {
	EV_STATION = 0,  /* who: station; its core's deadline or a reconnect */
	EV_LINK,         /* who: station; its link's next delivery */
	EV_GW,           /* the gateway core's deadline */
	EV_BROKER,       /* the broker's next answer */
	EV_PUBLISH,      /* who: station; its next scheduled message */
	EV_ACTION,       /* who: index into the scenario's actions */
	EV_REVIVE,       /* who: station, or UINT32_MAX for the bridge */
	EV_SAMPLE,       /* a point of the time series */
	EV_END,          /* duration + drain: stop whatever is left */
	EV_KINDS,
};

/* One station's part of the world. */
struct world_station {
	struct sim_station *st;
	struct sim_link link;
	size_t corpus;            /* index into world.corpora */
	uint64_t next_pub_us;     /* SIM_NEVER: done */
	uint64_t slot;            /* schedule slots so far: the corpus record */
	uint64_t sched[2];        /* EV_STATION, EV_LINK: time of the live heap item */
	bool dirty_st, dirty_link;
	/* its pubs, in push order, for finding a pub by queue seq */
	size_t *pubs;
	size_t npubs, pubcap;
	bool seq_sorted;          /* seqs grew with every push (they should) */
};

struct sim_world {
	const struct sim_scenario *s;
	struct sim_run_opts opts;
	char *workdir;            /* the queues' directory, removed at free */

	struct sim_corpus *corpora;
	size_t ncorpora;
	struct world_station *ws;
	size_t nst;

	struct gw *gw;            /* NULL while the bridge is down */
	struct gw_ops gw_ops;
	uint64_t gw_sched;
	bool dirty_gw;
	struct sim_broker *broker;
	uint64_t broker_sched;
	bool dirty_broker;

	struct sim_pq pq;
	uint64_t now_us;
	uint64_t end_us;          /* hard end: duration + drain */
	uint64_t ended_us;        /* when the run stopped */
	bool done, reported;

	/* dirty stations and links, to ask for their deadlines after an event */
	uint32_t *dirty;
	size_t ndirty;

	/* the record */
	struct sim_pub *pubs;
	size_t npubs, pubcap;
	struct sim_sample *samples;
	size_t nsamples, samplecap;
	uint64_t events;
	uint64_t bridge_crashes, bridge_restarts;
	struct gw_stats gw_acc;   /* counters of gateway cores gone before */
	uint64_t to_down_bridge;  /* datagrams that reached a bridge that was down */
	uint64_t damaged_dropped[SIM_DIRS];
	uint64_t fates_unknown;   /* fate reports for a seq we never saw pushed */
	bool failed;              /* out of memory or a queue error inside a callback */
	char fail_msg[512];
	uint8_t rxbuf[SIM_LINK_DATAGRAM_MAX]; /* a delivery, copied out of the link */
};

/* scenario_world.c */

/* Station i's address at the gateway. */
struct gw_addr sim_world_addr(uint32_t i);
/* The pub of station i's queue seq, or SIZE_MAX. */
size_t sim_world_find_pub(const struct sim_world *w, uint32_t i, uint64_t seq);

/* Mark station i (and, with link, its link) to have its deadline asked. */
void sim_world_dirty_station(struct sim_world *w, uint32_t i, bool link);
/* Start a gateway core (the bridge comes up). Returns 0 or -1. */
int sim_world_gw_start(struct sim_world *w);
/* The bridge goes: orderly (gw_shutdown first) or a crash. */
void sim_world_gw_stop(struct sim_world *w, bool orderly);
/* Note a failure met inside a callback; the loop stops with it. */
void sim_world_fail(struct sim_world *w, const char *msg);

/* scenario_loop.c */

/* Put (kind, who) in the queue at t unless an earlier item is there. */
void sim_world_schedule(struct sim_world *w, enum world_ev kind, uint32_t who, uint64_t t);

#endif
