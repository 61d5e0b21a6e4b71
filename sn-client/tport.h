/*
 * tport.h - the transport a tool's options name, opened in one place:
 * UDP to HOST:PORT (udp.h) or a serial line (serial.h). sn-pub and sn-sub
 * parse their transport options and open the transport through this, so
 * that a transport option added here reaches every tool.
 *
 *   struct snc_tport_opts o;
 *   snc_tport_defaults(&o);
 *   ... getopt_long() with SNC_TPORT_LONGOPTS among the long options:
 *       switch (snc_tport_option(&o, c, optarg, err, sizeof err)) ...
 *   snc_tport_check(&o, err, sizeof err);
 *   snc_tport_open(&tp, &o, err, sizeof err);  ... tp.t ...
 *   snc_tport_close(&tp);
 */
#ifndef SNBRIDGE_SNC_TPORT_H
#define SNBRIDGE_SNC_TPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sn-client/error.h"
#include "sn-client/linkopt.h"
#include "sn-client/serial.h"
#include "sn-client/transport.h"
#include "sn-client/udp.h"

#define SNC_TPORT_DEFAULT_HOST "127.0.0.1"
#define SNC_TPORT_DEFAULT_PORT "1884"

/* What the options say. NULL host or port: the default (UDP only). */
struct snc_tport_opts {
	const char *host, *port;  /* UDP: the gateway */
	const char *serial;       /* a serial device instead of UDP, or NULL */
	uint32_t baud;            /* serial: bits per second (default 9600) */
	bool baud_given;
	bool rtscts;              /* serial: RTS/CTS flow control */
	bool serial_raw;          /* serial: mqtt-sn-tools' raw stream, not frames */
	struct snc_linkopt link;  /* link frames over either (linkopt.h) */
	const char *client_id;    /* whose key to take from --key-file: set before opening */
};

/* The open transport; t points into it (do not copy the struct). */
struct snc_tport {
	struct snc_transport *t;
	union {
		struct snc_udp udp;
		struct snc_serial serial;
	} u;
	struct snc_linkt *link;   /* with --frames: t is its transport, around u */
};

/* getopt_long() codes of the options below, clear of the tools' own. */
enum {
	SNC_TPORT_OPT_SERIAL = 0x1000,
	SNC_TPORT_OPT_BAUD,
	SNC_TPORT_OPT_RTSCTS,
	SNC_TPORT_OPT_SERIAL_RAW,
};

/* Entries for a tool's struct option table. */
#define SNC_TPORT_LONGOPTS                                                   \
	{ "serial", required_argument, NULL, SNC_TPORT_OPT_SERIAL },         \
	{ "baud", required_argument, NULL, SNC_TPORT_OPT_BAUD },             \
	{ "rtscts", no_argument, NULL, SNC_TPORT_OPT_RTSCTS },               \
	{ "serial-raw", no_argument, NULL, SNC_TPORT_OPT_SERIAL_RAW },      \
	SNC_LINKOPT_LONGOPTS

/* Their lines of --help, in the tools' layout. */
#define SNC_TPORT_USAGE                                                                  \
	"      --serial DEV       reach the gateway over the serial line DEV (a port\n"    \
	"                         or modem, 8N1) instead of UDP (not with -h, -p)\n"    \
	"      --baud N           the line's baud rate (default 9600)\n"                  \
	"      --rtscts           hardware flow control (RTS/CTS)\n"                      \
	"      --serial-raw       mqtt-sn-tools' raw stream (messages back to back)\n"    \
	"                         instead of frames with a CRC; cannot recover from\n"    \
	"                         damage on the line\n"                                  \
	SNC_LINKOPT_USAGE

/* Defaults: UDP to 127.0.0.1:1884; serial at 9600 baud, framed. */
void snc_tport_defaults(struct snc_tport_opts *o);

/*
 * Take option c (a getopt_long() code) with its argument if it is one of
 * SNC_TPORT_LONGOPTS. Returns 1 when taken, 0 when c is not a transport
 * option, -1 when its value is wrong (err says why, for the user).
 */
int snc_tport_option(struct snc_tport_opts *o, int c, const char *arg, char *err, size_t errcap);

/* Check the options together (serial ones without --serial...). SNC_OK or SNC_ERR_INVALID. */
SNC_MUST_CHECK int snc_tport_check(const struct snc_tport_opts *o, char *err, size_t errcap);

/*
 * Open the transport the options name: snc_udp_open() or
 * snc_serial_open(). Returns SNC_OK (tp->t is the transport) or the
 * opener's error with the reason in err.
 */
SNC_MUST_CHECK int snc_tport_open(struct snc_tport *tp, const struct snc_tport_opts *o, char *err,
                                  size_t errcap);

/* Close what snc_tport_open() opened; safe after a failed open. */
void snc_tport_close(struct snc_tport *tp);

#endif
