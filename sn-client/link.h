/*
 * link.h - the station's framed transport: link frames (codec/link.h,
 * codec/FRAMES.md) over any inner transport (UDP, serial).
 *
 * send() queues the MQTT-SN message into the link and transmits the frames
 * that are due through the inner transport; recv() reads inner datagrams,
 * opens the frames and hands out their messages one per call. The hold
 * time needs the loop to wake: the transport's deadline() and tick() ops
 * (transport.h), which the blocking loop honours.
 *
 * Counters: with encryption the sender's mark and the highest counter
 * received live in a small state file, written atomically (temporary file,
 * fsync, rename, fsync of the directory) before a counter is used and
 * before a received frame's messages are handed out, so that a station
 * that reboots never reuses a nonce and is not fooled by a replay. The
 * file is locked (FILE.lock) while the transport is open: two processes
 * must never seal under the same key and counters.
 */
#ifndef SNBRIDGE_SNC_LINK_H
#define SNBRIDGE_SNC_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/link.h"
#include "sn-client/error.h"
#include "sn-client/transport.h"

/* Messages of one opened frame waiting for recv(); more are dropped and counted. */
#define SNC_LINKT_RXQ 256u

struct snc_linkt_conf {
	struct mqttsn_link_conf link;  /* direction is set to MQTTSN_LINK_UP; link.dict is copied and
	                                  opens frames too (then link.dicts is ignored), else
	                                  link.dicts must outlive the transport */
	const char *state_path;        /* the counters' file; NULL: in memory only (plain frames, tests) */
	bool accept_plain;             /* pass plain MQTT-SN datagrams through instead of refusing them */
	uint64_t (*clock)(void *arg);  /* milliseconds, monotonic; NULL: snc_clock_mono_ms() */
	void *clock_arg;
};

/* What the framed transport counted besides the link's own statistics. */
struct snc_linkt_stats {
	uint64_t plain_refused;    /* plain datagrams refused (the link requires frames) */
	uint64_t rx_dropped;       /* messages of a frame over SNC_LINKT_RXQ, or over recv()'s cap */
	uint64_t tx_refused;       /* messages the link refused (queue full, too big) */
	uint64_t persist_failed;   /* state file writes that failed */
};

struct snc_linkt;

/*
 * Wrap inner (which the framed transport then owns: its close closes
 * inner). Reads the state file (a missing one starts from 0) and locks
 * it. SNC_OK with *out set (on failure inner stays open, the caller's);
 * SNC_ERR_INVALID (bad conf), SNC_ERR_CORRUPT
 * (unreadable state file), SNC_ERR_BUSY (locked by another process),
 * SNC_ERR_IO or SNC_ERR_NOMEM, with the reason in err.
 */
SNC_MUST_CHECK int snc_linkt_open(struct snc_linkt **out, const struct snc_linkt_conf *conf,
                                  struct snc_transport *inner, char *err, size_t errcap);

/* The transport to give snc_blocking_new(); closing it frees the framed transport. */
struct snc_transport *snc_linkt_transport(struct snc_linkt *lt);

/* The link session inside (statistics, queued octets) and the transport's own counts. */
const struct mqttsn_link *snc_linkt_link(const struct snc_linkt *lt);
const struct snc_linkt_stats *snc_linkt_stats(const struct snc_linkt *lt);

/* Send every queued message now (before the program ends or sleeps). SNC_OK or SNC_ERR_IO. */
SNC_MUST_CHECK int snc_linkt_flush(struct snc_linkt *lt);

/* ---------------------------------------------------------------- the state file */

struct snc_linkt_state {
	uint64_t tx_mark;      /* counters below it may have been used */
	bool rx_any;
	uint64_t rx_highest;   /* the highest counter received and acted upon */
};

/*
 * Read the state file at path: SNC_OK, SNC_ERR_NOT_FOUND (no file: a
 * first start), SNC_ERR_CORRUPT (a line not understood), or SNC_ERR_IO,
 * with the reason in err.
 */
SNC_MUST_CHECK int snc_linkt_state_load(const char *path, struct snc_linkt_state *st, char *err,
                                        size_t errcap);

/* Write it atomically and durably (PATH.tmp, fsync, rename, fsync the directory). SNC_OK or SNC_ERR_IO. */
SNC_MUST_CHECK int snc_linkt_state_save(const char *path, const struct snc_linkt_state *st, char *err,
                                        size_t errcap);

#endif
