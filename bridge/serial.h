/*
 * serial.h - the MQTT-SN serial transport: serial lines, each a device
 * that is a point-to-point link to one station's modem or radio, in
 * codec/serial.h's framing (codec/SERIAL.md): HDLC-style frames with a
 * CRC, or mqtt-sn-tools' raw stream where a line is set to raw.
 *
 * A client on line i has the address { link = GW_SERIAL_LINK_BASE + i,
 * len = 0 }: the core compares addresses only, and the link numbers of
 * serial lines are apart from those of the UDP listeners (0 to
 * GW_LISTEN_MAX - 1), so the daemon routes an answer by the link alone
 * (gw_serial_owns).
 *
 * Nothing here blocks. Octets the line cannot take yet wait in a bounded
 * buffer per line; a frame that does not fit is dropped and counted.
 * Damaged frames are counted and logged, rate-limited. A device that
 * hangs up or fails is closed, logged once, and opened again with
 * back-off (1 s doubling to 60 s) until it works.
 */
#ifndef SNBRIDGE_BRIDGE_SERIAL_H
#define SNBRIDGE_BRIDGE_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge/config.h"
#include "bridge/gw.h"
#include "bridge/loop.h"

#define GW_SERIAL_LINK_BASE 0x80u      /* gw_addr.link of serial line 0 */
#define GW_SERIAL_OUT_MAX 65536u       /* octets waiting for one line */
#define GW_SERIAL_REOPEN_MIN_MS 1000u  /* back-off of a failed device */
#define GW_SERIAL_REOPEN_MAX_MS 60000u

struct gw_serial;

/* Called once per intact frame received; buf is valid only during the call. */
typedef void gw_serial_recv_fn(void *arg, const struct gw_addr *from, const uint8_t *buf,
                               size_t len);

/* Totals over every line since the start. */
struct gw_serial_stats {
	uint64_t frames_in;     /* intact frames (raw: messages) received */
	uint64_t frames_out;    /* frames queued for the line */
	uint64_t damaged;       /* frames rejected: CRC, runt, abort, oversize (raw: 0) */
	uint64_t discarded;     /* octets thrown away (framed: hunting and damaged
	                           frames; raw: dropped to resynchronise) */
	uint64_t send_drops;    /* frames not sent: the line down or its buffer full */
	uint64_t line_errors;   /* a device that hung up or failed, or would not open again */
};

/*
 * Open the n lines (n may be 0) and watch them in loop. A line that
 * cannot be opened now is an error: NULL, with err naming where it was
 * configured ("sn-bridge.conf:12: serial /dev/ttyUSB0: No such file or
 * directory"). The lines are copied.
 */
struct gw_serial *gw_serial_new(struct gw_loop *loop, const struct gw_serial_line *lines,
                                size_t n, gw_serial_recv_fn *on_recv, void *arg, char *err,
                                size_t errlen);
/* Close every line and free. NULL is fine. */
void gw_serial_free(struct gw_serial *s);
/* Whether addr belongs to a serial line (by its link number). */
bool gw_serial_owns(const struct gw_addr *addr);
/* The lines configured. */
size_t gw_serial_count(const struct gw_serial *s);
/*
 * Send one datagram to the client at addr, as one frame. Never blocks.
 * Returns 0, or -1 when dropped (the line is down or its buffer full;
 * counted, and logged rate-limited).
 */
int gw_serial_send(struct gw_serial *s, const struct gw_addr *to, const uint8_t *buf, size_t len);
/* The totals. */
void gw_serial_stats(const struct gw_serial *s, struct gw_serial_stats *out);
/*
 * "serial line N" for an address of line N (for logs; the start-up log
 * says which device each line is); returns buf.
 */
const char *gw_serial_addr_format(const struct gw_addr *addr, char *buf, size_t cap);

#endif
