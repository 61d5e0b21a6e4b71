/*
 * report.h - what a scenario run found: every message published matched
 * against what the in-memory broker received, delivery delays, the link's
 * bytes and billing units each way, the queue depth over time; and the
 * three ways to write it (report_text.c, report_csv.c, report_svg.c).
 *
 * Accounting (the identities the tests check):
 *   published   = delivered + lost
 *   lost        = lost_refused_queue + lost_refused_gw + lost_still_queued
 *                 + lost_dropped + vanished
 *   broker_msgs = delivered + duplicates + unmatched   (Wills apart)
 * A message is delivered when the broker received it at least once;
 * every further copy is a duplicate; out_of_order counts first deliveries
 * that came after a later message of the same station. Of the messages
 * never received: the queue refused them (full), the gateway refused them
 * for good (or they were too big for the link), they were still queued at
 * the end, or they left the queue undelivered. That last group is
 * lost_dropped as far as the queue's own drop and expiry counters explain
 * it, and vanished beyond that; a message the station saw acknowledged
 * and the broker never received is vanished too. vanished must be 0.
 */
#ifndef SNBRIDGE_SIM_REPORT_H
#define SNBRIDGE_SIM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/link.h"

/* What the station side last knew of a message. */
enum sim_pub_fate {
	SIM_FATE_NONE = 0,     /* pushed, nothing known since */
	SIM_FATE_ACKED,        /* the gateway acknowledged it: left the queue */
	SIM_FATE_REFUSED,      /* refused for good: left the queue */
	SIM_FATE_QUEUED_END,   /* still in the queue when the run ended */
};

/* One message a station published (offered to its queue). */
struct sim_pub {
	uint64_t at_us;
	uint64_t hash;        /* sim_broker_hash() of the payload */
	uint64_t seq;         /* the queue's seq (when queued) */
	uint32_t station;
	uint32_t len;
	bool queued;          /* the queue took it */
	uint8_t fate;         /* enum sim_pub_fate */
	uint64_t first_us;    /* first received by the broker; UINT64_MAX: never */
	uint32_t copies;      /* times received */
};

/* The state of the world every `sample` of virtual time. */
struct sim_sample {
	uint64_t t_us;
	uint32_t links_up;        /* stations whose link is up */
	uint32_t stations_up;     /* stations running */
	bool bridge_up;
	uint64_t queue_depth;     /* messages in every station's queue */
	uint64_t published;       /* cumulative, filled in after the run */
	uint64_t delivered;       /* cumulative first deliveries, after the run */
	uint64_t duplicates;      /* cumulative, after the run */
	uint64_t bytes[SIM_DIRS]; /* cumulative bytes put on the links (billed) */
	uint64_t units[SIM_DIRS]; /* cumulative billing units */
};

/* One station's line. */
struct sim_station_line {
	char name[24];
	uint64_t published, delivered, lost, duplicates, out_of_order;
	uint64_t still_queued;
	uint64_t skipped;          /* schedule slots missed while the station was down */
	uint64_t delay_max_us;
	uint64_t connects, gateway_lost, retransmissions;
};

/* A link direction summed over every station's link. */
struct sim_link_line {
	uint64_t datagrams, bytes;       /* offered by the senders */
	uint64_t bill_bytes, bill_units, bill_sessions;
	uint64_t delivered;
	uint64_t dropped_down, dropped_other, lost, damaged;
	uint64_t damaged_dropped;        /* damaged and dropped at the receiver (checksum) */
};

struct sim_report {
	/* the scenario */
	char title[128];
	char scenario[256];
	char profile[32];
	char trace[256];
	uint64_t seed;
	uint64_t duration_us, ended_us;
	uint32_t stations;
	size_t n_actions;
	/* messages */
	uint64_t published, delivered, lost, duplicates, out_of_order;
	uint64_t lost_refused_queue, lost_refused_gw, lost_still_queued, lost_dropped, vanished;
	uint64_t queue_dropped, queue_expired; /* the queues' counters (set before accounting) */
	uint64_t skipped_down;     /* not published: the station was down */
	uint64_t broker_msgs;      /* publishes the broker received (Wills apart) */
	uint64_t unmatched;        /* received but published by no station */
	uint64_t wills;
	uint64_t downlink;         /* broker messages delivered to stations */
	/* delay from publish to first receipt */
	uint64_t delay_median_us, delay_p99_us, delay_max_us;
	/* the first publish and the last first receipt: delivered over the
	 * time between is the rate a backlog drained at */
	uint64_t first_pub_us, last_rx_us;
	/* the links */
	struct sim_link_line link[SIM_DIRS];
	/* the cores */
	uint64_t gw_retries, gw_malformed, gw_congestion, gw_lost_clients;
	uint64_t gw_no_subscription;  /* broker messages the bridge had no subscription for */
	uint64_t st_retransmissions, st_gateway_lost, st_connects, st_reconnect_refused;
	uint64_t st_crashes, st_restarts, bridge_crashes, bridge_restarts;
	uint64_t queue_recovered;
	uint64_t to_down_bridge;   /* datagrams that reached the bridge while it was down */
	uint64_t fates_unknown;    /* a message left a queue that no publish put there: 0 */
	uint64_t events;           /* loop iterations */
	/* link frames (codec/link.h), when the scenario had them */
	bool frames;
	uint32_t frames_mtu_up, frames_mtu_down;
	bool frames_encrypted, frames_compressed;
	uint64_t frames_sent[SIM_DIRS];      /* frames each way */
	uint64_t frames_msgs[SIM_DIRS];      /* MQTT-SN messages they carried */
	uint64_t frames_zipped;              /* frames sent deflated, both ways */
	uint64_t frames_frags;               /* fragment frames, both ways */
	uint64_t frames_refused;             /* frames refused on opening, by any cause */
	uint64_t frames_queue_full;          /* messages a session's queue refused */
	/* series and lines */
	struct sim_sample *samples;
	size_t n_samples;
	struct sim_station_line *lines;
	size_t n_lines;
	/* link state changes of station 0's link, for the timeline's bands:
	 * down intervals [down[i], up[i]) */
	uint64_t *down_at, *up_at;
	size_t n_down;
};

/* Free what a report holds; it may be zeroed. */
void sim_report_free(struct sim_report *r);

/* One message the broker received, as the accounting needs it. */
struct sim_rx {
	uint64_t at_us;
	uint64_t hash;
	uint32_t station;     /* the publishing station; UINT32_MAX: none known */
};

/*
 * The delivery accounting: match pubs (in publish order) against the
 * broker's record rx (in receipt order), fill published, delivered, lost
 * and its breakdown (queue_dropped and queue_expired must be set before),
 * duplicates, out_of_order, broker_msgs, unmatched, the delays, the
 * per-station lines' message counts (lines must hold one per station) and
 * the samples' cumulative columns. pubs is updated (first_us, copies).
 * Returns 0, or -1 out of memory.
 */
int sim_report_account(struct sim_report *r, struct sim_pub *pubs, size_t n_pubs,
                       const struct sim_rx *rx, size_t n_rx);

/* The text summary. */
void sim_report_text(const struct sim_report *r, FILE *f);

/* The time series as CSV, a header line first. */
void sim_report_csv(const struct sim_report *r, FILE *f);

/* The timeline as a standalone SVG document. */
void sim_report_svg(const struct sim_report *r, FILE *f);

#endif
