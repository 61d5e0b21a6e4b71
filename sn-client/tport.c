/*
 * tport.c - the transport a tool's options name (tport.h).
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "sn-client/cli.h"
#include "sn-client/tport.h"

void snc_tport_defaults(struct snc_tport_opts *o)
{
	memset(o, 0, sizeof *o);
	o->baud = SNC_TTY_DEFAULT_BAUD;
	snc_linkopt_defaults(&o->link);
}

int snc_tport_option(struct snc_tport_opts *o, int c, const char *arg, char *err, size_t errcap)
{
	long v;

	switch (c) {
	case SNC_TPORT_OPT_SERIAL:
		if (arg == NULL || arg[0] == '\0') {
			snprintf(err, errcap, "--serial: a device path");
			return -1;
		}
		o->serial = arg;
		return 1;
	case SNC_TPORT_OPT_BAUD:
		if (!snc_cli_parse_long(arg, 1, 4000000, &v) || !snc_tty_baud_ok((uint32_t)v)) {
			snprintf(err, errcap, "--baud: a standard rate (300, 1200, 2400, 4800, "
			         "9600, 19200, 38400, 57600, 115200, 230400...)");
			return -1;
		}
		o->baud = (uint32_t)v;
		o->baud_given = true;
		return 1;
	case SNC_TPORT_OPT_RTSCTS:
		o->rtscts = true;
		return 1;
	case SNC_TPORT_OPT_SERIAL_RAW:
		o->serial_raw = true;
		return 1;
	default:
		return snc_linkopt_option(&o->link, c, arg, err, errcap);
	}
}

int snc_tport_check(const struct snc_tport_opts *o, char *err, size_t errcap)
{
	if (o->serial != NULL && (o->host != NULL || o->port != NULL)) {
		snprintf(err, errcap, "--serial and -h/-p: give one transport");
		return SNC_ERR_INVALID;
	}
	if (o->serial == NULL && (o->baud_given || o->rtscts || o->serial_raw)) {
		snprintf(err, errcap, "--baud, --rtscts and --serial-raw need --serial");
		return SNC_ERR_INVALID;
	}
	return snc_linkopt_check(&o->link, err, errcap);
}

int snc_tport_open(struct snc_tport *tp, const struct snc_tport_opts *o, char *err, size_t errcap)
{
	int rc;

	assert(tp != NULL && o != NULL);
	memset(tp, 0, sizeof *tp);
	if (o->serial != NULL) {
		struct snc_serial_config sc = {
			.tty = { .baud = o->baud, .rtscts = o->rtscts },
			.raw = o->serial_raw,
		};

		rc = snc_serial_open(&tp->u.serial, o->serial, &sc, err, errcap);
		if (rc == SNC_OK)
			tp->t = &tp->u.serial.base;
	} else {
		rc = snc_udp_open(&tp->u.udp, o->host != NULL ? o->host : SNC_TPORT_DEFAULT_HOST,
		                  o->port != NULL ? o->port : SNC_TPORT_DEFAULT_PORT, err, errcap);
		if (rc == SNC_OK)
			tp->t = &tp->u.udp.base;
	}
	if (rc != SNC_OK || !o->link.frames)
		return rc;
	/* --frames: the link frames wrap the transport just opened, and own it. */
	rc = snc_linkopt_wrap(&tp->link, &o->link, tp->t, o->serial != NULL,
	                      o->client_id != NULL ? o->client_id : "", err, errcap);
	if (rc != SNC_OK) {
		tp->t->ops->close(tp->t);
		tp->t = NULL;
		return rc;
	}
	tp->t = snc_linkt_transport(tp->link);
	return SNC_OK;
}

void snc_tport_close(struct snc_tport *tp)
{
	/* With --frames t is the link's, which closes the inner transport too. */
	if (tp->t != NULL)
		tp->t->ops->close(tp->t);
	tp->t = NULL;
	tp->link = NULL;
}
