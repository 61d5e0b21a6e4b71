/*
 * scenario.h - a scenario for the virtual-time runner: what the stations
 * publish, over which link, through which bridge settings, with which
 * crashes and restarts, from which seed. The file format is described in
 * sim/SCENARIO.md; this is its parsed form.
 */
#ifndef SNBRIDGE_SIM_SCENARIO_H
#define SNBRIDGE_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge/gw.h"

/* Limits of the format. */
#define SIM_SCN_STATIONS_MAX 10000u   /* stations in one scenario */
#define SIM_SCN_NAME_MAX 23u          /* a station's name is its MQTT-SN client id (5.3.1) */
#define SIM_SCN_LINE_MAX 4096u        /* octets in one line */

/* One simulated station (a group of `count` expands to one each). */
struct sim_station_cfg {
	char name[SIM_SCN_NAME_MAX + 1]; /* the client id */
	char *corpus;               /* resolved path of the payload corpus; NULL: the
	                               station only listens (it has a subscription) */
	char *topic;                /* {name} already replaced */
	uint64_t every_us;          /* one message per period */
	uint64_t offset_us;         /* the first at start + offset */
	uint64_t start_us;          /* publishing from ... */
	uint64_t stop_us;           /* ... until (exclusive); 0: the scenario's duration */
	uint64_t corpus_start;      /* first record taken from the corpus */
	int qos;                    /* 0, 1 or 2 */
	uint8_t priority;
	uint32_t ttl_s;             /* queue time to live; 0: none */
	/* the client core (sn-client/client.h) */
	uint16_t keep_alive_s;
	bool clean_session;
	uint32_t window;
	uint32_t max_msg;           /* largest message sent; by default the link's up MTU */
	bool max_msg_auto;          /* max_msg follows the link (not set in the file) */
	uint32_t retry_initial_ms, retry_min_ms, retry_max_ms, retry_count;
	uint32_t connect_retry_count;
	uint32_t retry_slack_ms;    /* set by the run: link frames' holds, both ends */
	/* the station's own reconnect policy around the core: after a lost
	 * gateway or a refusal it waits reconnect_min, doubling up to max */
	uint64_t reconnect_min_us, reconnect_max_us;
	/* the on-disk queue (sn-client/queue.h) */
	uint32_t queue_max;         /* messages; 0: the queue's default */
	bool queue_drop_oldest;     /* when full: drop the oldest, else refuse */
	/* an optional subscription: messages from the broker to the station */
	char *subscribe;            /* a filter, or NULL */
	int subscribe_qos;
	int line;                   /* where its section began */
};

enum sim_act_kind {
	SIM_ACT_CRASH = 0,   /* gone without a word; back after down_us */
	SIM_ACT_RESTART = 1, /* orderly stop (DISCONNECT, gw_shutdown); back after down_us */
};

/* One scripted crash or restart. */
struct sim_action {
	uint64_t at_us;
	enum sim_act_kind kind;
	bool bridge;          /* the bridge, else station */
	uint32_t station;     /* index into stations, when !bridge */
	uint64_t down_us;     /* how long it stays down */
	int line;
};

/* One link setting, KEY VALUE, handed to sim_profile_set() in order. */
struct sim_link_setting {
	char *assignment;     /* "KEY=VALUE" */
	int line;
};

/* The in-memory broker's timing. */
struct sim_broker_cfg {
	uint64_t connect_us;  /* from broker_open to the CONNACK */
	uint64_t ack_us;      /* from a publish to its PUBACK / PUBCOMP, and SUBACK */
	uint64_t deliver_us;  /* from a publish to its copy for a subscriber */
};

/*
 * Link frames (codec/link.h) between every station and the bridge: off by
 * default (plain MQTT-SN, one datagram a message).
 */
struct sim_frames_cfg {
	bool on;
	uint32_t mtu_up, mtu_down;  /* largest frame each way */
	uint32_t hold_ms;           /* longest a message waits for company */
	bool encrypt;               /* ChaCha20-Poly1305 with a key per station */
	bool compress;              /* deflate against a dictionary built per corpus */
	uint32_t dict_records;      /* samples for that dictionary, from the corpus's end */
	uint32_t window;            /* with frames, a station keeps at least this many in flight */
};

struct sim_scenario {
	char *path;           /* the scenario file */
	char *dir;            /* its directory: relative data paths start here */
	char *title;
	uint64_t seed;
	uint64_t duration_us; /* stations publish within [0, duration) */
	uint64_t drain_us;    /* then the run goes on at most this long until
	                         every queue is empty */
	uint64_t sample_us;   /* period of the time series */
	/* the link */
	char *profile;        /* a name from sim/profile.h */
	char *trace;          /* resolved outage trace, or NULL for none */
	bool trace_default;   /* no `trace` line: the profile's own, if any */
	bool keep_damaged;    /* hand on datagrams whose bytes the link damaged;
	                         else drop them, as UDP's checksum would */
	struct sim_link_setting *link_set;
	size_t n_link_set;
	/* the bridge and the broker */
	struct gw_config gw;
	struct sim_broker_cfg broker;
	struct sim_frames_cfg frames;
	/* stations and actions */
	struct sim_station_cfg *st;
	size_t n_st;
	struct sim_action *act;  /* in time order */
	size_t n_act;
};

/*
 * Read the scenario file at path into s. Relative data paths (corpus,
 * trace) are looked up beside the scenario file first, then under
 * ../shared/data seen from the scenario's directory or any directory above
 * it, then under $SN_SIM_DATA. Returns 0, or -1 with "FILE:LINE: what"
 * in err (a missing data file is named, with where it was looked for).
 */
int sim_scenario_load(struct sim_scenario *s, const char *path, char *err, size_t errcap);

/*
 * Override one top-level setting after loading, "KEY=VALUE" (seed,
 * duration, drain, sample, title) or a section's, "SECTION.KEY=VALUE" for
 * link and bridge and broker ("link.loss=1%", "bridge.mode=aggregating"),
 * as the command line's --set gives them. Returns 0, or -1 with a message.
 */
int sim_scenario_set(struct sim_scenario *s, const char *assignment, char *err, size_t errcap);

/* Free everything load allocated. s may be zeroed or loaded. */
void sim_scenario_free(struct sim_scenario *s);

/*
 * Resolve a data path relative to the scenario (see sim_scenario_load).
 * Returns a malloc'd existing path, or NULL with a message naming the file
 * and the places tried in err.
 */
char *sim_scenario_resolve(const struct sim_scenario *s, const char *rel, char *err,
                           size_t errcap);

/*
 * Parse a duration: a decimal number with a unit us, ms, s, m (or min), h
 * or d; a bare number is seconds. Returns 0 and *us, or -1.
 */
int sim_scenario_duration(const char *text, uint64_t *us);

#endif
