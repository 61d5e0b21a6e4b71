/*
 * cli.h - what the command-line tools (sn-pub, sn-sub, sn-dump) share:
 * exit codes, number parsing, file reading, the -d packet trace, signals.
 */
#ifndef SNBRIDGE_SNC_CLI_H
#define SNBRIDGE_SNC_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sn-client/error.h"

/* Exit codes a script can rely on. */
enum snc_exit {
	SNC_EXIT_OK = 0,      /* done */
	SNC_EXIT_ERROR = 1,   /* the gateway refused, or another error */
	SNC_EXIT_USAGE = 2,   /* bad arguments */
	SNC_EXIT_TIMEOUT = 3, /* timed out, or the gateway stopped answering */
};

/* The exit code for an snc_err (SNC_ERR_TIMEOUT and SNC_ERR_GONE give 3). */
int snc_cli_exit_code(int err);

/* Parse a whole decimal integer in [min, max]; false otherwise. */
bool snc_cli_parse_long(const char *s, long min, long max, long *out);

/*
 * Read a whole file ("-" for stdin) into a malloc'ed buffer, at most max
 * octets. SNC_OK, SNC_ERR_TOO_BIG, SNC_ERR_NOMEM or SNC_ERR_IO (errno).
 */
SNC_MUST_CHECK int snc_cli_read_all(const char *path, size_t max, uint8_t **buf, size_t *len);

/*
 * A snc_blocking_trace() callback printing one line per datagram to the
 * FILE given as arg: "-> PUBLISH qos=1 ..." out, "<- PUBACK ..." in.
 */
void snc_cli_trace(void *arg, bool out, const uint8_t *buf, size_t len);

/*
 * One line for a datagram: "PREFIX SUMMARY", the summary from mqttsn_format
 * or "malformed (N octets): reason"; with hex, the octets follow on the
 * same line. For sn-dump.
 */
void snc_cli_print_packet(FILE *f, const char *prefix, const uint8_t *buf, size_t len, bool hex);

/*
 * Make SIGINT and SIGTERM set a flag (returned) instead of killing, without
 * SA_RESTART so that a blocked poll() returns. For snc_blocking_interrupt().
 */
volatile sig_atomic_t *snc_cli_signals(void);

#endif
