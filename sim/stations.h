/*
 * stations.h - one simulated station: the real client core (sn-client/
 * client.h) fed from the real on-disk queue (sn-client/queue.h, feed.h),
 * with the small application around them that a station runs: publish on
 * a schedule into the queue, connect, and connect again with back-off
 * when the gateway is lost or refuses.
 *
 * Time is virtual, in microseconds; the cores get milliseconds. The queue
 * lives in a directory of its own and is opened without fsync
 * (SNC_SYNC_NONE): a station crash in the simulator is a process crash
 * (what write() handed to the kernel survives), not a power cut.
 */
#ifndef SNBRIDGE_SIM_STATIONS_H
#define SNBRIDGE_SIM_STATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/scenario.h"
#include "sn-client/client.h"
#include "sn-client/feed.h"
#include "sn-client/queue.h"

/* The queue's wall clock at virtual time 0 (2024-01-01T00:00:00Z, fixed
 * so that runs repeat). */
#define SIM_STATION_EPOCH_MS 1704067200000ull

/* Counters of one station over the whole run (across restarts). */
struct sim_station_stats {
	uint64_t publish_attempts;   /* scheduled messages while the station ran */
	uint64_t skipped_down;       /* scheduled while it was down: never made */
	uint64_t queue_refused;      /* push refused (queue full, too big) */
	uint64_t queue_dropped;      /* dropped from the queue to make room */
	uint64_t queue_expired;      /* time to live ran out */
	uint64_t gw_refused;         /* refused for good by the gateway (or too big for the link) */
	uint64_t delivered_acks;     /* messages the station saw acknowledged */
	uint64_t connects;           /* CONNACK accepted */
	uint64_t connect_refused;    /* CONNACK with a refusal */
	uint64_t gateway_lost;       /* retries ran out */
	uint64_t disconnected;       /* the gateway's DISCONNECT (or ours ended) */
	uint64_t retransmissions;
	uint64_t msgs_out, bytes_out, msgs_in, bytes_in;
	uint64_t malformed_in;
	uint64_t downlink;           /* messages from the broker delivered to the app */
	uint64_t subscribe_failed;   /* SUBSCRIBE could not be started */
	uint64_t crashes, restarts;
	uint64_t queue_recovered;    /* messages found in the queue at a reopen */
};

struct sim_station;

/* How a station reaches the runner. */
struct sim_station_hooks {
	/* A datagram from the station: onto its link. */
	void (*send)(void *ctx, uint32_t station, const uint8_t *buf, size_t len);
	/* A queued message left the queue: result 0 acknowledged, > 0 refused
	 * for good (the gateway's code, or "not supported" for too big). */
	void (*fate)(void *ctx, uint32_t station, uint64_t seq, int result);
	void *ctx;
};

/*
 * A station, not yet running. cfg must outlive it; dir is the directory
 * for its queue (created when missing); hooks is copied. NULL when out of
 * memory.
 */
struct sim_station *sim_station_new(const struct sim_station_cfg *cfg, uint32_t idx,
                                    const char *dir, const struct sim_station_hooks *hooks);

/* Stop it without a word (as a crash) and free it; the queue directory stays. */
void sim_station_free(struct sim_station *st);

/*
 * Start (or restart after a stop): open the queue, make a client core,
 * connect. Returns 0, or -1 with a message naming the queue in err.
 */
int sim_station_start(struct sim_station *st, uint64_t now_us, char *err, size_t errcap);

/*
 * Stop: orderly sends DISCONNECT first (restart), else nothing (crash).
 * The core is dropped and the queue closed; its messages stay on disk.
 */
void sim_station_stop(struct sim_station *st, bool orderly, uint64_t now_us);

/* Whether it runs. */
bool sim_station_running(const struct sim_station *st);

/*
 * Publish one message through the queue. Returns SNC_OK (queued, *seq set
 * to the queue's seq) or the queue's error (counted as refused);
 * SNC_ERR_STATE when the station is down (counted as skipped). The core
 * takes it from the queue at the next sim_station_tick(), which the caller
 * makes once it has noted the seq (the message's fate may be known at
 * once: too big for the link).
 */
int sim_station_publish(struct sim_station *st, const uint8_t *payload, size_t len,
                        uint64_t now_us, uint64_t *seq);

/*
 * The end of a run: stop the station (not counted as a crash) and call
 * fn(arg, seq) for every message still in its queue. Returns 0, or -1
 * with a message in err.
 */
int sim_station_remaining(struct sim_station *st, void (*fn)(void *arg, uint64_t seq), void *arg,
                          char *err, size_t errcap);

/* One datagram from the link. */
void sim_station_input(struct sim_station *st, const uint8_t *buf, size_t len, uint64_t now_us);

/* Run what is due (timers, a reconnect). */
void sim_station_tick(struct sim_station *st, uint64_t now_us);

/* When it next needs sim_station_tick; UINT64_MAX for never. */
uint64_t sim_station_next(const struct sim_station *st);

/* Messages in its queue (at the last stop, while it is down). */
size_t sim_station_queue_depth(const struct sim_station *st);

/* The counters so far, into *out. */
void sim_station_stats(const struct sim_station *st, struct sim_station_stats *out);

#endif
