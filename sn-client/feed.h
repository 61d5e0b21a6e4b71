/*
 * feed.h - the persistent queue as the client core's source: the core
 * drains the queue in order while it is connected, and a message leaves the
 * queue only when the gateway has acknowledged it (or refused it for good).
 * The core's marks (msg id and QoS 2 progress of what is on the wire) go
 * into the queue, so that a restart resumes a message where it stopped.
 *
 *     struct snc_feed feed;
 *     snc_feed_init(&feed, queue, wall_clock_ms, NULL);
 *     snc_set_source(client, snc_feed_source(), &feed);
 *
 * The queue's clock is the wall clock (its times are stored on disk), not
 * the core's monotonic one, hence the clock callback.
 */
#ifndef SNBRIDGE_SNC_FEED_H
#define SNBRIDGE_SNC_FEED_H

#include <stdint.h>

#include "sn-client/client.h"
#include "sn-client/queue.h"

struct snc_feed {
	struct snc_queue *q;
	uint64_t (*clock)(void *arg);
	void *clock_arg;
	int last_err;          /* the last queue error met (SNC_OK: none) */
};

/* Bind q to a feed; clock gives the queue's time in ms (wall clock). */
void snc_feed_init(struct snc_feed *f, struct snc_queue *q, uint64_t (*clock)(void *arg),
                   void *clock_arg);

/* The source operations; pass the feed as their ctx to snc_set_source(). */
const struct snc_source *snc_feed_source(void);

#endif
