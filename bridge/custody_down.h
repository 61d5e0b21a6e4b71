/*
 * custody_down.h - the store behind the core's persistent sessions and the
 * messages waiting for their stations (gw.h, "Custody of persistent
 * sessions"): the daemon's gw_ops.session_* and down_* callbacks, and the
 * restore of every saved session at start.
 *
 * Store errors are logged here, one line per kind per minute; the core
 * counts what they cost (drop_down_store).
 */
#ifndef SNBRIDGE_BRIDGE_CUSTODY_DOWN_H
#define SNBRIDGE_BRIDGE_CUSTODY_DOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge/gw.h"
#include "bridge/store.h"

/* gw_ops.down_put: 0 with *seq, GW_CUSTODY_FULL (a limit) or GW_CUSTODY_IO. */
int gw_custody_down_put(struct gw_store *st, const char *client_id, const char *topic,
                        size_t topic_len, const uint8_t *payload, size_t len, int qos,
                        bool retain, uint32_t ttl_s, uint64_t *seq);
/* gw_ops.down_next: 1 with *out (views valid until the next store call), 0 none, -1 error. */
int gw_custody_down_next(struct gw_store *st, const char *client_id, uint64_t after,
                         struct gw_down_msg *out);
/* gw_ops.down_done. */
void gw_custody_down_done(struct gw_store *st, const char *client_id, uint64_t seq);
/* gw_ops.session_save. */
void gw_custody_session_save(struct gw_store *st, const char *client_id, const uint8_t *blob,
                             size_t len);
/* gw_ops.session_drop: the session and every message waiting for the station. */
void gw_custody_session_drop(struct gw_store *st, const char *client_id);

/*
 * Hand every saved session to gw_session_restore() (before the core's
 * first tick; now_ms on the core's clock) and log one line: how many came
 * back, and how many blobs could not be read (kept in the store, named in
 * a line each).
 */
void gw_custody_restore(struct gw_store *st, struct gw *gw, uint64_t now_ms);

#endif
