/*
 * serial.h - the serial transport behind struct snc_transport: MQTT-SN
 * over a point-to-point line (serial port, radio or dial-up modem) to the
 * gateway, in codec/serial.h's framing (codec/SERIAL.md).
 *
 * Each datagram the core sends becomes one frame on the line: HDLC-style
 * (0x7E, payload, CRC-16, 0x7E; the default) or, in raw mode, the MQTT-SN
 * message's own octets, as mqtt-sn-tools' serial bridge expects. recv()
 * hands out one intact received frame per call; damaged ones are counted
 * and dropped, and the decoder finds the next frame by itself.
 *
 * Writes. The line is slow and, with RTS/CTS, may stop taking octets at
 * all. send() writes the frame and, when the kernel's buffer is full,
 * waits for the line (poll) for the frame's transmission time at the baud
 * rate plus stall_ms: a fast producer is paced to the line, and a stalled
 * line costs a bounded wait, never a hang. A frame the line took nothing
 * of in that time is dropped, counted in out_drops, and send() fails
 * (the core retransmits what needs it); the rest of a frame that was
 * partly written is kept and goes out first at the next send() or recv(),
 * so that the peer never sees half a frame followed by another.
 */
#ifndef SNBRIDGE_SNC_SERIAL_H
#define SNBRIDGE_SNC_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/serial.h"
#include "sn-client/error.h"
#include "sn-client/transport.h"
#include "sn-client/tty.h"

/* Largest datagram carried either way: any MQTT-SN message (5.2.1). */
#define SNC_SERIAL_MSG_MAX MQTTSN_MSG_MAX
/* Octets read from the device at a time. */
#define SNC_SERIAL_READ_CHUNK 1024u
/* Default grace for a stalled line beyond the frame's transmission time. */
#define SNC_SERIAL_STALL_MS 2000u

struct snc_serial_config {
	struct snc_tty_config tty;  /* baud rate, RTS/CTS */
	bool raw;                   /* mqtt-sn-tools' raw stream instead of frames */
	uint32_t stall_ms;          /* see above; 0: SNC_SERIAL_STALL_MS */
};

/* What the transport has seen since it was opened. */
struct snc_serial_stats {
	uint64_t frames_in;   /* intact frames (raw: messages) handed to recv()'s caller */
	uint64_t frames_out;  /* frames handed to the line */
	uint64_t damaged;     /* frames rejected: bad CRC, runt or abort (raw: 0) */
	uint64_t oversize;    /* frames longer than the buffer or recv()'s cap */
	uint64_t discarded;   /* octets thrown away (raw: dropped to resynchronise) */
	uint64_t out_drops;   /* frames dropped: the line took none of them in time */
};

struct snc_serial {
	struct snc_transport base;  /* first: a struct snc_serial * is a transport */
	int fd;
	char path[128];
	struct snc_serial_config cfg;
	struct mqttsn_serial_decoder dec;   /* framed mode */
	struct mqttsn_serial_raw raw;       /* raw mode */
	bool raw_more;       /* raw: the decoder may hold another message */
	uint8_t *rx;         /* the decoder's buffer */
	uint8_t *in;         /* read from the device, not yet decoded */
	size_t in_pos, in_len;
	uint8_t *out;        /* encoded octets the line has not taken yet */
	size_t out_len, out_cap;
	uint64_t frames_in, frames_out, out_drops, too_big;
};

/*
 * Open the device path and set it up (tty.h: raw 8N1, the baud rate,
 * RTS/CTS when asked). Returns SNC_OK, SNC_ERR_INVALID (a baud rate that
 * is not standard), SNC_ERR_NOMEM, or SNC_ERR_IO with the reason in err
 * ("/dev/ttyUSB0: No such file or directory").
 */
SNC_MUST_CHECK int snc_serial_open(struct snc_serial *s, const char *path,
                                   const struct snc_serial_config *cfg, char *err, size_t errcap);

/* Close the device and free the buffers (also through s->base.ops->close). */
void snc_serial_close(struct snc_serial *s);

/* The counters so far. */
void snc_serial_stats(const struct snc_serial *s, struct snc_serial_stats *out);

#endif
