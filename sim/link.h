/*
 * link.h - the link model: what a constrained link does to the datagrams
 * (or byte-stream chunks) given to it, in virtual time.
 *
 * Pure: no I/O, no clock. Time is an argument in microseconds (uint64,
 * from the start of the run). The model is used two ways (DESIGN.md): by
 * the real-time proxy `sn-sim proxy`, which maps CLOCK_MONOTONIC onto it,
 * and by the virtual-time scenario runner. The same parameters, seed and
 * sequence of calls give the same deliveries, drops and counters.
 *
 * Use:
 *
 *     struct sim_link_params p;
 *     sim_link_params_default(&p);           // or sim_profile_apply()
 *     p.dir[SIM_UP].loss = 0.01;
 *     struct sim_link link;
 *     if (sim_link_init(&link, &p, seed) != 0) ...;
 *     sim_link_send(&link, SIM_UP, now_us, buf, len);
 *     ...
 *     while (sim_link_next_time(&link) <= now_us) {
 *         struct sim_delivery d;
 *         if (sim_link_pop(&link, now_us, &d))
 *             deliver(d.dir, d.data, d.len);
 *     }
 *     sim_link_free(&link);
 *
 * What happens to one datagram sent in direction dir at now_us, in order:
 *  1. link down at now_us (an outage)            -> dropped, drop_down
 *  2. longer than mtu                            -> dropped, drop_mtu
 *  3. the queue waiting for the transmitter would
 *     hold more than queue_bytes                 -> dropped, drop_queue
 *     (or more than max_inflight datagrams held  -> dropped, drop_limit)
 *  4. accepted: billed (bytes, datagrams, units, sessions); the transmitter
 *     sends it after the ones before it: it takes len * bits_per_byte /
 *     rate_bps seconds, and the next one starts no sooner than spacing_us
 *     after this one started;
 *  5. lost on the way: Bernoulli (loss) -> lost_random; Gilbert-Elliott
 *     burst loss -> lost_burst. A lost datagram still used the transmitter
 *     and was paid for;
 *  6. byte damage (serial lines): bit flips, lost bytes, inserted bytes;
 *  7. due at end of transmission + latency + jitter; never before one sent
 *     earlier in the same direction (jitter alone does not reorder), unless
 *     it is picked for reordering: then it is held reorder_us longer and
 *     later ones overtake it;
 *  8. duplicated: a second copy is due right after it (if max_inflight
 *     leaves room for it);
 *  9. at delivery: if the link went down at any moment between the send
 *     and the due time, it is lost (lost_inflight) instead.
 *
 * Outages are of the whole link (both directions) and come from the
 * parameters (the command line's --down and trace files, see trace.h).
 */
#ifndef SNBRIDGE_SIM_LINK_H
#define SNBRIDGE_SIM_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/rng.h"

/* ---------------------------------------------------------------- limits */

#define SIM_LINK_DATAGRAM_MAX 65535u     /* largest datagram sim_link_send takes */
#define SIM_LINK_INFLIGHT_DEFAULT 100000u /* default max_inflight */
#define SIM_TIME_NEVER UINT64_MAX         /* "no such time" */

/* The two directions. UP: station -> ground (bridge); DOWN: ground -> station. */
enum sim_dir {
	SIM_UP = 0,
	SIM_DOWN = 1,
};
#define SIM_DIRS 2

/* ---------------------------------------------------------------- parameters */

/*
 * One direction's behaviour. Probabilities are 0..1; a zero turns the
 * element off. sim_link_params_default() gives a perfect link (no delay,
 * no loss, unlimited rate and queue) with bits_per_byte 8, burst_loss_bad
 * 1 and max_inflight set.
 */
struct sim_dir_params {
	/* delay */
	uint64_t latency_us;    /* one-way propagation delay */
	uint64_t jitter_us;     /* standard deviation of a normal added to it
	                           (the sum is clamped at 0) */
	/* the transmitter and its queue */
	uint64_t rate_bps;      /* bit rate; 0: no serialisation delay */
	unsigned bits_per_byte; /* 8; 10 for an asynchronous serial line (8N1) */
	uint64_t spacing_us;    /* a datagram holds the transmitter at least this
	                           long (e.g. one Iridium SBD session every 40 s) */
	size_t queue_bytes;     /* bytes not yet fully transmitted, at most; 0: unbounded */
	size_t mtu;             /* largest datagram; 0: no limit */
	/* loss */
	double loss;            /* independent (Bernoulli) loss per datagram */
	double burst_enter;     /* Gilbert-Elliott: P(good -> bad) per datagram; 0: off */
	double burst_exit;      /* P(bad -> good) per datagram; mean bad run 1/burst_exit */
	double burst_loss_good; /* loss probability in the good state (usually 0) */
	double burst_loss_bad;  /* loss probability in the bad state (usually 1) */
	/* duplication and reordering */
	double duplicate;       /* probability of a second copy */
	double reorder;         /* probability of being held back reorder_us */
	uint64_t reorder_us;    /* how long a reordered datagram is held back */
	/* byte damage, for byte streams (serial lines) */
	double bit_error;       /* per bit: flipped */
	double byte_loss;       /* per byte: left out */
	double byte_insert;     /* per byte: a random byte inserted after it */
	/* cost */
	uint32_t bill_unit_bytes; /* a billing unit of this many bytes (e.g. 50) ... */
	uint64_t bill_unit_us;    /* ... or of this much session time (e.g. 60 s);
	                             bytes win when both are set */
	uint32_t bill_min_bytes;  /* a session is billed for at least this many bytes */
	uint32_t bill_min_units;  /* a session costs at least this many units */
	uint64_t session_gap_us;  /* an idle gap longer than this starts a new
	                             session; 0: every datagram is a session */
};

/* One outage: the link is down from down_us (included) to up_us (excluded). */
struct sim_outage {
	uint64_t down_us;
	uint64_t up_us;
};

/* The whole link. */
struct sim_link_params {
	struct sim_dir_params dir[SIM_DIRS];
	const struct sim_outage *outages; /* any order, may overlap; copied by init */
	size_t n_outages;
	size_t max_inflight;              /* datagrams held at once (both directions) */
};

/* ---------------------------------------------------------------- counters */

/* Per direction, from sim_link_init on. Bytes are datagram bytes. */
struct sim_dir_counters {
	uint64_t sent, sent_bytes;           /* offered to the link by the sender */
	uint64_t delivered, delivered_bytes; /* handed out by sim_link_pop (incl. copies) */
	uint64_t drop_down;      /* sent while the link was down */
	uint64_t drop_mtu;       /* longer than the MTU */
	uint64_t drop_queue;     /* did not fit in the queue */
	uint64_t drop_limit;     /* more than max_inflight held, or out of memory */
	uint64_t lost_random;    /* Bernoulli loss */
	uint64_t lost_burst;     /* Gilbert-Elliott loss */
	uint64_t lost_inflight;  /* in flight when the link went down */
	uint64_t duplicated;     /* extra copies made */
	uint64_t reordered;      /* delivered after one sent later */
	uint64_t corrupted;      /* datagrams with any byte damage */
	uint64_t bits_flipped, bytes_lost, bytes_inserted;
	/* cost: what went onto the link (accepted in step 4) */
	uint64_t bill_datagrams, bill_bytes;
	uint64_t bill_sessions, bill_units;
};

/* ---------------------------------------------------------------- the model */

/* A datagram held by the model (private). */
struct sim_held;

/* The state of one direction (private: read it through the functions). */
struct sim_dir_state {
	struct sim_dir_params p;
	struct sim_dir_counters c;
	struct sim_rng rng;
	bool burst_bad;           /* Gilbert-Elliott state */
	uint64_t tx_free_us;      /* when the transmitter takes the next one */
	uint64_t last_due_us;     /* due time of the last in-order datagram */
	uint64_t next_seq;        /* send order */
	uint64_t max_seq_out;     /* highest send order delivered, plus one */
	/* the queue: end of transmission and size of each datagram not yet sent */
	struct sim_txq { uint64_t end_us; size_t len; } *txq;
	size_t txq_head, txq_len, txq_cap, txq_bytes;
	/* the current billing session */
	bool in_session;
	uint64_t session_start_us, session_last_us, session_bytes, session_units;
};

struct sim_link {
	struct sim_dir_state d[SIM_DIRS];
	struct sim_outage *outages; /* sorted, merged */
	size_t n_outages;
	size_t max_inflight;
	struct sim_held **heap;     /* by (due, direction, order) */
	size_t heap_len, heap_cap;
	struct sim_held *last;      /* the one handed out by the last pop */
	uint64_t seq;               /* tie-break across directions */
	uint64_t now_us;            /* latest time seen */
};

/* One datagram handed out by sim_link_pop. */
struct sim_delivery {
	enum sim_dir dir;
	const uint8_t *data;  /* valid until the next call on the link */
	size_t len;
	uint64_t sent_us;     /* when it was sent */
	uint64_t due_us;      /* when it was due (<= the pop's now_us) */
	uint64_t seq;         /* send order within its direction, from 0 */
	bool copy;            /* a duplicate */
	bool damaged;         /* its bytes were changed */
	uint64_t tag;         /* the sender's tag (sim_link_send_tag), else 0 */
};

/* What became of a datagram at sim_link_send. */
enum sim_fate {
	SIM_FATE_QUEUED = 0,  /* on its way (it may still be lost to an outage) */
	SIM_FATE_DOWN,        /* the link is down */
	SIM_FATE_MTU,         /* longer than the MTU */
	SIM_FATE_QUEUE_FULL,  /* no room in the queue */
	SIM_FATE_LIMIT,       /* max_inflight reached, or out of memory */
	SIM_FATE_LOST,        /* lost on the way (random or burst loss) */
};

/* A perfect link: see struct sim_dir_params. */
void sim_link_params_default(struct sim_link_params *p);

/*
 * Start a link with parameters p (copied, outages too) and a seed; both
 * directions draw from their own generator derived from the seed.
 * Returns 0, or -1 with errno ENOMEM (nothing to free then) or EINVAL (a
 * probability outside 0..1, bits_per_byte 0, an outage with up <= down).
 */
int sim_link_init(struct sim_link *link, const struct sim_link_params *p, uint64_t seed);

/* Free what the link holds; a freed link may be initialised again. */
void sim_link_free(struct sim_link *link);

/*
 * Give the link len bytes (len <= SIM_LINK_DATAGRAM_MAX) to carry in
 * direction dir, at now_us (never earlier than any time given before).
 * Returns what became of it; the counters say the same.
 */
enum sim_fate sim_link_send(struct sim_link *link, enum sim_dir dir, uint64_t now_us,
                            const uint8_t *buf, size_t len);

/*
 * The same, with a tag of the caller's that comes back in the delivery
 * (e.g. which station sent it); the model never looks at it.
 */
enum sim_fate sim_link_send_tag(struct sim_link *link, enum sim_dir dir, uint64_t now_us,
                                const uint8_t *buf, size_t len, uint64_t tag);

/*
 * The earliest time something held is due, or SIM_TIME_NEVER. Something due
 * may turn out lost to an outage at pop time, so a pop at that time may hand
 * out nothing.
 */
uint64_t sim_link_next_time(const struct sim_link *link);

/*
 * Hand out the next datagram due at or before now_us into *out. Returns
 * true if one was handed out, false when nothing (more) is due. Datagrams
 * lost to an outage while in flight are discarded and counted on the way.
 */
bool sim_link_pop(struct sim_link *link, uint64_t now_us, struct sim_delivery *out);

/* Whether the link is up at t. */
bool sim_link_is_up(const struct sim_link *link, uint64_t t_us);

/* The first time after t at which the link goes up or down; SIM_TIME_NEVER if none. */
uint64_t sim_link_next_change(const struct sim_link *link, uint64_t t_us);

/* Bytes waiting for or in the transmitter in direction dir at now_us. */
size_t sim_link_queued_bytes(struct sim_link *link, enum sim_dir dir, uint64_t now_us);

/* Datagrams held (both directions), not yet handed out. */
size_t sim_link_held(const struct sim_link *link);

/* One direction's counters. */
const struct sim_dir_counters *sim_link_counters(const struct sim_link *link, enum sim_dir dir);

/* "up" or "down", for messages. */
const char *sim_dir_name(enum sim_dir dir);

/* A short name of a fate ("queued", "down", "mtu", "queue", "limit", "lost"). */
const char *sim_fate_name(enum sim_fate fate);

/*
 * Print both directions' counters, one "name up down" line each, with
 * prefix before every line (e.g. "# "), to f.
 */
void sim_link_dump(const struct sim_link *link, FILE *f, const char *prefix);

#endif
