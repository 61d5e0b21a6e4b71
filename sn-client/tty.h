/*
 * tty.h - opening a serial device for MQTT-SN: raw 8N1 at a standard baud
 * rate, with or without hardware flow control. No framing here (that is
 * codec/serial.h); the station's transport (serial.h) and the bridge's
 * serial listeners (bridge/serial.c) both open their devices with it.
 */
#ifndef SNBRIDGE_SNC_TTY_H
#define SNBRIDGE_SNC_TTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sn-client/error.h"

#define SNC_TTY_DEFAULT_BAUD 9600u

/* How a line is set up. */
struct snc_tty_config {
	uint32_t baud;   /* bits per second: one of the standard rates (snc_tty_baud_ok) */
	bool rtscts;     /* hardware flow control (RTS/CTS) */
};

/* Whether baud is a rate the system can set (300, 1200, ... 115200, 230400...). */
bool snc_tty_baud_ok(uint32_t baud);

/*
 * Put an open terminal in the mode MQTT-SN needs: raw (no echo, no line
 * editing, no translation of CR or NL, no XON/XOFF), 8 data bits, no
 * parity, 1 stop bit, receiver on, modem control lines ignored (CLOCAL),
 * the given baud rate both ways, RTS/CTS when asked. Returns SNC_OK,
 * SNC_ERR_INVALID (a rate not supported) or SNC_ERR_IO, with the reason
 * in err ("tcsetattr: ...").
 */
SNC_MUST_CHECK int snc_tty_configure(int fd, const struct snc_tty_config *c, char *err,
                                     size_t errcap);

/*
 * Open path (O_RDWR, O_NOCTTY, O_NONBLOCK, close-on-exec), check that it
 * is a terminal and configure it. Returns the descriptor, or -1 with err
 * naming the device ("/dev/ttyUSB0: No such file or directory") and errno
 * kept.
 */
SNC_MUST_CHECK int snc_tty_open(const char *path, const struct snc_tty_config *c, char *err,
                                size_t errcap);

#endif
