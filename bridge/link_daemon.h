/*
 * link_daemon.h - the link layer (link.h) in the daemon: built from the
 * configuration, its counters kept in link_state_dir (link_state.h), its
 * keys and dictionaries reloaded on SIGHUP, its frames sent from a timer
 * of the event loop.
 */
#ifndef SNBRIDGE_BRIDGE_LINK_DAEMON_H
#define SNBRIDGE_BRIDGE_LINK_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "bridge/config.h"
#include "bridge/link.h"
#include "bridge/loop.h"

struct gw_dlink;

/*
 * Load the keys and dictionaries of cfg->link, prepare the state
 * directory (only when there are keys), set each listener's policy, and
 * make the link layer; deliver and transmit are its ops (link.h). NULL
 * with err set ("keys:3: ...", "link_state_dir ...: Permission denied").
 */
struct gw_dlink *gw_dlink_new(struct gw_loop *loop, const struct gw_daemon_config *cfg,
                              void (*deliver)(void *arg, const struct gw_addr *from,
                                              const uint8_t *msg, size_t len, uint64_t now),
                              void (*transmit)(void *arg, const struct gw_addr *to,
                                               const uint8_t *buf, size_t len),
                              const char *(*addr_format)(const struct gw_addr *a, char *buf,
                                                         size_t cap),
                              void *arg, char *err, size_t errlen);
void gw_dlink_free(struct gw_dlink *dl);
/* The link layer itself. */
struct gw_link *gw_dlink_link(struct gw_dlink *dl);
/* Arm the timer at the link layer's next deadline (call before the loop waits). */
void gw_dlink_prepare(struct gw_dlink *dl);
/* SIGHUP: read the key file and dictionaries again; on an error the old ones stay (logged). */
void gw_dlink_reload(struct gw_dlink *dl, uint64_t now);

#endif
