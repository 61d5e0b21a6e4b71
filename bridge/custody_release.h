/*
 * custody_release.h - the custody drainer's start after a restart
 * (custody.h, "Across a crash"): the QoS 2 messages the store has a
 * broker's PUBREC on record for (gw_store_up_mark) are finished with a
 * lone PUBREL under their recorded packet id, answered by a PUBCOMP,
 * before the drainer publishes anything on the connection; or, when that
 * cannot be done, their marks are cleared so that they are published
 * again like the rest.
 *
 * Why nothing may be published meanwhile: libmosquitto numbers its
 * packets from 1 in every process and would take the PUBCOMP for a lone
 * PUBREL for the acknowledgement of its own packet with the same id.
 *
 * The wait for the PUBCOMPs is bounded: after CUSTODY_RELEASE_MS the
 * connection is dropped and made again (the PUBRELs go again), and after
 * CUSTODY_RELEASE_TRIES such deadlines the marks are given up (cleared,
 * the messages published again: a subscriber may get them twice) and
 * PUBRECs are no longer recorded in this run: a PUBCOMP that never shows
 * most likely means a libmosquitto whose log says it in other words.
 */
#ifndef SNBRIDGE_BRIDGE_CUSTODY_RELEASE_H
#define SNBRIDGE_BRIDGE_CUSTODY_RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge/broker.h"
#include "bridge/loop.h"
#include "bridge/store.h"

#define CUSTODY_RELEASE_MS 10000u  /* PUBCOMPs for the lone PUBRELs awaited this long */
#define CUSTODY_RELEASE_TRIES 3u   /* deadlines before the marks are given up */
#define CUSTODY_RETRY_MS 1000u     /* a mark that could not be cleared: again after */

struct cust_pending;

struct cust_release {
	struct gw_loop *loop;
	struct gw_broker *broker;
	struct gw_store *store;
	void (*finished)(void *arg); /* nothing is left to wait for: publishing may start */
	void *arg;
	bool marking;            /* record PUBRECs (plain TCP, not given up) */
	struct cust_pending *v;  /* by packet id */
	size_t n;
	size_t left;             /* not finished */
	size_t sent;             /* PUBRELs on this connection without a PUBCOMP yet */
	bool up;                 /* the connection is up */
	bool dropping;           /* dropped by us: nothing is published until it is lost */
	unsigned expiries;
	uint64_t deadline;       /* loop time by which the sent ones' PUBCOMPs are due */
	uint64_t released, cleared;
	uint64_t logged;         /* the last error line (wall ms) */
	struct gw_timer timer;
};

/*
 * Collect the store's marks and decide what becomes of them: released
 * with PUBRELs when the broker connection is plain TCP, cleared otherwise.
 * finished(arg) is called once publishing may start after having had to
 * wait (possibly from inside the calls below, or this one). 0, or -1 out
 * of memory.
 */
int cust_release_init(struct cust_release *r, struct gw_loop *loop, struct gw_broker *broker,
                      struct gw_store *store, void (*finished)(void *arg), void *arg);
void cust_release_free(struct cust_release *r);

/* Whether publishing must wait: marks are not finished yet. */
bool cust_release_busy(const struct cust_release *r);

/* The custody connection's events (broker.h), passed on by the drainer. */
void cust_release_connected(struct cust_release *r, bool session_present);
void cust_release_lost(struct cust_release *r);
void cust_release_completed(struct cust_release *r, uint16_t mid, int reason);

#endif
