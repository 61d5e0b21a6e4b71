/*
 * stats.h - the statistics: published to the broker every interval
 * ($SYS-style, retained, QoS 0, one topic per counter, on the daemon's own
 * connection) and written to the log on demand (SIGUSR1).
 *
 * Topics under the prefix (default "snbridge/<gw_id>/stats"; mosquitto
 * refuses client publishes under $SYS): one per field
 * of struct gw_stats ("msgs_in", "drop_congestion", ...), "clients/<state>"
 * per client state, "clients/total", "broker/connections_up", "udp/send_drops",
 * "serial/<counter>" per field of struct gw_serial_stats (when serial lines
 * are configured) and "uptime_s". Payloads are decimal numbers.
 */
#ifndef SNBRIDGE_BRIDGE_STATS_H
#define SNBRIDGE_BRIDGE_STATS_H

#include <stdint.h>

#include "bridge/broker.h"
#include "bridge/gw.h"
#include "bridge/link.h"
#include "bridge/loop.h"
#include "bridge/serial.h"
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
/* Also report the serial lines' counters (serial may be NULL or have no lines). */
void gw_stats_pub_set_serial(struct gw_stats_pub *sp, const struct gw_serial *serial);
/*
 * Also report the link layer's counters (link.h), as "link/NAME" topics and
 * a "stats link:" line, once it has stations or refused anything.
 */
void gw_stats_pub_set_link(struct gw_stats_pub *sp, struct gw_link *link);
/* Also report the custody store's and drainer's counters ("custody/<name>"; NULL: none). */
struct gw_custody;
void gw_stats_pub_set_custody(struct gw_stats_pub *sp, const struct gw_custody *custody);
/* Stop and free. */
void gw_stats_pub_free(struct gw_stats_pub *sp);
/* Publish once now (when the broker connection is up); returns topics published. */
unsigned gw_stats_pub_publish(struct gw_stats_pub *sp, uint64_t now_ms);
/* Log the totals, the clients by state, then one line per client. */
void gw_stats_pub_dump(const struct gw_stats_pub *sp, uint64_t now_ms);

#endif
