/*
 * log.h - the daemon's log: one line per event, to stderr with a timestamp
 * or to syslog.
 *
 * Process-wide on purpose: every part of the daemon (and libmosquitto's log
 * callback) writes to the same place, and there is one place per process.
 * Levels are the core's (enum gw_log_level) so that its lines pass through
 * unchanged.
 */
#ifndef SNBRIDGE_BRIDGE_LOG_H
#define SNBRIDGE_BRIDGE_LOG_H

#include <stdbool.h>

#include "bridge/gw.h"

#if defined(__GNUC__)
#define GW_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GW_PRINTF(f, a)
#endif

/*
 * Start logging: lines up to level are written, to syslog (with ident, the
 * daemon facility) when use_syslog, else to stderr. May be called again to
 * change either.
 */
void gw_log_open(enum gw_log_level level, bool use_syslog, const char *ident);
/* Stop logging to syslog (closelog); stderr needs nothing. */
void gw_log_close(void);
/* True when a line at level would be written: lets callers skip formatting. */
bool gw_log_enabled(enum gw_log_level level);
/* Write one finished line (no newline) at level. */
void gw_log_line(enum gw_log_level level, const char *line);
/* Format and write one line at level. Lines longer than 1 KiB are cut. */
void gw_log(enum gw_log_level level, const char *fmt, ...) GW_PRINTF(2, 3);
/*
 * s as a message may quote it: when longer than max characters, its first
 * max in buf (cap at least max + 4) with "..." added, so that a runaway
 * value cannot push the explanation out of a message. Returns s or buf.
 */
const char *gw_log_clip(const char *s, size_t max, char *buf, size_t cap);
/* The level's name ("err", "warn", "info", "debug"). */
const char *gw_log_level_name(enum gw_log_level level);
/* Parse a level's name (also "error", "warning"); returns 0 or -1. */
int gw_log_level_parse(const char *name, enum gw_log_level *out);

#endif
