/*
 * stats.h - the statistics: published to the broker every interval
 * ($SYS-style, retained, QoS 0, one topic per counter, on the daemon's own
 * connection) and written to the log on demand (SIGUSR1).
 *
 * Topics under the prefix (default "snbridge/<gw_id>/stats"; mosquitto
 * refuses client publishes under $SYS): one per field
 * of struct gw_stats ("msgs_in", "drop_congestion", ...), "clients/<state>"
 * per client state, "clients/total", "broker/connections_up", "udp/send_drops"
 * and "uptime_s". Payloads are decimal numbers.
 */
#ifndef SNBRIDGE_BRIDGE_STATS_H
#define SNBRIDGE_BRIDGE_STATS_H

#include <stdint.h>

#include "bridge/broker.h"
#include "bridge/gw.h"
#include "bridge/loop.h"
#include "bridge/udp.h"

struct gw_stats_pub;

/*
 * Publish the statistics of gw every interval_s seconds (0: never, but the
 * log dump still works) under prefix. broker and udp may be NULL. Returns
 * NULL when out of memory.
 */
struct gw_stats_pub *gw_stats_pub_new(struct gw_loop *loop, const struct gw *gw,
                                      struct gw_broker *broker, const struct gw_udp *udp,
                                      const char *prefix, uint32_t interval_s);
/* Stop and free. */
void gw_stats_pub_free(struct gw_stats_pub *sp);
/* Publish once now (when the broker connection is up); returns topics published. */
unsigned gw_stats_pub_publish(struct gw_stats_pub *sp, uint64_t now_ms);
/* Log the totals, the clients by state, then one line per client. */
void gw_stats_pub_dump(const struct gw_stats_pub *sp, uint64_t now_ms);

#endif
