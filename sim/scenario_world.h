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
#include "codec/link.h"
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
	EV_FRAME,        /* who: station; a held link frame of its (scenario_frames.c) */
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
	uint64_t sched[3];        /* EV_STATION, EV_LINK, EV_FRAME: time of the live heap item */
	bool dirty_st, dirty_link;
	/* its pubs, in push order, for finding a pub by queue seq */
	size_t *pubs;
	size_t npubs, pubcap;
	bool seq_sorted;          /* seqs grew with every push (they should) */
	/* link frames, when the scenario has them: each end's session (NULL
	 * while that end is down) and the counters it persisted */
	struct mqttsn_link *lk_st, *lk_gw;
	uint64_t st_tx_mark, st_rx_floor, gw_tx_mark, gw_rx_floor;
	uint8_t key[MQTTSN_FRAME_KEY_LEN];
};

/* The link frames of a run (scenario_frames.c). */
struct world_frames {
	struct mqttsn_frame_ctx *ctx;       /* working memory, shared by every link */
	struct mqttsn_frame_dict *dicts;    /* one per corpus (id: index + 1), when compressing */
	uint8_t **dict_bytes;
	size_t ndicts;
	struct mqttsn_link_stats gone[SIM_DIRS]; /* counters of links freed already, by the
	                                            direction they send */
	uint8_t frame[MQTTSN_FRAME_MAX];
	uint8_t content[MQTTSN_FRAME_CONTENT_MAX];
	/* messages of one frame, copied out before any is handed on */
	uint8_t msgs[MQTTSN_FRAME_CONTENT_MAX];
	size_t msg_len[MQTTSN_FRAME_CONTENT_MAX / 2];
	size_t nmsgs, msgs_used;
	uint64_t plain_in[SIM_DIRS];        /* plain datagrams where frames were expected */
};

struct sim_world {
	const struct sim_scenario *s;
	struct sim_run_opts opts;
	char *workdir;            /* the queues' directory, removed at free */

	struct sim_corpus *corpora;
	size_t ncorpora;
	struct world_station *ws;
	struct sim_station_cfg *stcfg; /* the stations' settings as run (frames raise the window) */
	size_t nst;

	struct gw *gw;            /* NULL while the bridge is down */
	struct gw_ops gw_ops;
	uint64_t gw_sched;
	bool dirty_gw;
	struct sim_broker *broker;
	uint64_t broker_sched;
	bool dirty_broker;

	struct world_frames *frames; /* NULL: plain MQTT-SN */

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

/* scenario_frames.c: every call is a no-op when the scenario has no frames */

int sim_frames_new(struct sim_world *w, char *err, size_t errcap);
void sim_frames_free(struct sim_world *w);
/* A message from station i (SIM_UP) or the bridge to it (SIM_DOWN). */
void sim_frames_send(struct sim_world *w, uint32_t i, enum sim_dir dir, const uint8_t *buf, size_t len);
/* A datagram the link delivered toward the bridge (SIM_UP) or station i. */
void sim_frames_receive(struct sim_world *w, uint32_t i, enum sim_dir dir, const uint8_t *buf,
                        size_t len);
/* EV_FRAME: send what is due at either end of station i's link. */
void sim_frames_on_timer(struct sim_world *w, uint32_t i);
/* An end comes up or goes: a crash loses what it held, an orderly stop sends it first. */
void sim_frames_station_up(struct sim_world *w, uint32_t i);
void sim_frames_station_down(struct sim_world *w, uint32_t i, bool orderly);
void sim_frames_gw_up(struct sim_world *w);
void sim_frames_gw_down(struct sim_world *w, bool orderly);
/* The counters so far of the sessions that send in dir (the stations' for
 * SIM_UP, the bridge's for SIM_DOWN), or of all when dir is SIM_DIRS. */
void sim_frames_stats(const struct sim_world *w, int dir, struct mqttsn_link_stats *sum);

/* scenario_loop.c */

/* Put (kind, who) in the queue at t unless an earlier item is there. */
void sim_world_schedule(struct sim_world *w, enum world_ev kind, uint32_t who, uint64_t t);

#endif
