/*
 * link_state.h - the files that keep a framed station's counters across a
 * restart of the bridge: in the state directory (link_state_dir), one
 * small file per station, named after its client id in hex
 * ("73746131.link" for "sta1": a client id may hold '/' or "..") and
 * holding one line
 *
 *   snbridge-link 1 tx_mark=N rx_floor=N CLIENT_ID
 *
 * tx_mark: the sending counter's high-water mark (counters below it may
 * have been used: start there); rx_floor: the lowest counter still
 * accepted (the highest received plus one). Written whole to a temporary
 * file, fsync'd, renamed over the old one, and the directory fsync'd, so
 * that a crash leaves the old file or the new one, never a mix.
 */
#ifndef SNBRIDGE_BRIDGE_LINK_STATE_H
#define SNBRIDGE_BRIDGE_LINK_STATE_H

#include <stddef.h>
#include <stdint.h>

/* Create dir (mode 0700) when missing; check that it is a directory we can write. 0 or -1 with err. */
int gw_link_state_prepare(const char *dir, char *err, size_t errlen);
/* 0 with the values, 1 when the station has no file yet, -1 with err (unreadable or damaged). */
int gw_link_state_load(const char *dir, const char *client_id, uint64_t *tx_mark,
                       uint64_t *rx_floor, char *err, size_t errlen);
/* Write the values durably. 0 or -1 with err. */
int gw_link_state_save(const char *dir, const char *client_id, uint64_t tx_mark,
                       uint64_t rx_floor, char *err, size_t errlen);

#endif
