/*
 * proxy.h - `sn-sim proxy`: the link model in real time between real
 * programs.
 *
 * UDP: stations send to the listening address; each station address gets
 * an upstream socket of its own toward the bridge (so that the bridge sees
 * one address per station) and the bridge's answers go back to the station
 * through the model. Serial: two pseudo-terminals, one for the station
 * side and one for the ground side, with bytes carried between them
 * through the model. One thread, one epoll loop; the model's next
 * delivery time arms a timerfd on CLOCK_MONOTONIC; SIGTERM and SIGINT end
 * the run, SIGUSR1 dumps the counters (stderr), as does the end.
 */
#ifndef SNBRIDGE_SIM_PROXY_H
#define SNBRIDGE_SIM_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/link.h"

#define SIM_PROXY_STATIONS_DEFAULT 256u     /* stations mapped at once */
#define SIM_PROXY_IDLE_DEFAULT_US 3600000000u /* a station's mapping expires after an hour idle */
#define SIM_PROXY_PTY_OUT_MAX 65536u        /* bytes waiting for a pty reader */
#define SIM_PROXY_SERIAL_CHUNK 16u          /* bytes per model datagram on a serial line */

struct sim_proxy_config {
	struct sim_link_params link;  /* outages relative to the proxy's start */
	uint64_t seed;
	bool serial;                  /* pty mode instead of UDP */
	const char *listen;           /* UDP: HOST:PORT the stations send to */
	const char *to;               /* UDP: HOST:PORT of the bridge */
	size_t max_stations;          /* 0: SIM_PROXY_STATIONS_DEFAULT */
	uint64_t idle_us;             /* 0: SIM_PROXY_IDLE_DEFAULT_US */
	int verbose;                  /* 1: every datagram's fate on stderr */
	int status;                   /* 1: a status line on stdout; -1: when it is a terminal */
};

/*
 * Run the proxy until SIGTERM or SIGINT. Prints, on stdout, one line
 * "listening HOST:PORT" (UDP) or "station PATH" and "ground PATH" (serial)
 * once ready. Returns 0 on a clean end, or -1 with a message in err when
 * it could not start or a system call failed.
 */
int sim_proxy_run(const struct sim_proxy_config *cfg, char *err, size_t errlen);

#endif
