/*
 * proxy_int.h - what the proxy's files share: the proxy's state, the UDP
 * side (proxy_udp.c), the serial side (pty.c) and the status display
 * (proxy_status.c), all driven by the loop in proxy.c.
 */
#ifndef SNBRIDGE_SIM_PROXY_INT_H
#define SNBRIDGE_SIM_PROXY_INT_H

#include <stdio.h>
#include <sys/socket.h>

#include "sim/proxy.h"

/* What the epoll loop's events point at. */
enum proxy_kind {
	PK_TIMER,
	PK_SIGNAL,
	PK_LISTEN,
	PK_STATION,  /* a station's upstream socket */
	PK_PTY,      /* a pty master */
};

struct proxy_event {
	enum proxy_kind kind;
	size_t index;  /* station slot or pty side */
};

/* One station seen on the listening socket. */
struct proxy_station {
	bool used;
	uint16_t gen;                  /* bumped on each reuse of the slot */
	struct sockaddr_storage addr;  /* where the station sends from */
	socklen_t addrlen;
	int fd;                        /* connected to the bridge */
	uint64_t last_us;              /* last datagram either way */
	struct proxy_event ev;
};

/* One side of the serial mode: a pty pair. */
struct proxy_pty {
	int master, slave;             /* the slave stays open: no hang-ups */
	char path[64];
	uint8_t out[SIM_PROXY_PTY_OUT_MAX]; /* waiting for the reader */
	size_t out_head, out_len;
	bool want_out;                 /* EPOLLOUT armed */
	bool paused;                   /* not reading: the link's queue is full */
	struct proxy_event ev;
};

/* Counters of the proxy itself (the model keeps its own). */
struct proxy_counters {
	uint64_t stations;             /* mappings made */
	uint64_t expired;              /* mappings dropped for idleness */
	uint64_t table_full;           /* datagrams from a new station with no free slot */
	uint64_t stale;                /* deliveries for a station gone */
	uint64_t send_errors;          /* a send that failed (dropped) */
	uint64_t pty_overflow;         /* bytes dropped: a pty reader too slow */
	bool said_queue, said_limit;   /* logged once */
};

struct proxy {
	const struct sim_proxy_config *cfg;
	struct sim_link link;
	struct proxy_counters c;
	int ep, tfd, sfd;
	uint64_t t0_us;                /* CLOCK_MONOTONIC at the start */
	uint64_t armed_us;             /* what the timerfd is set to (virtual) */
	bool status;                   /* draw the status line */
	uint64_t status_next_us;
	bool was_up;
	/* UDP */
	int lfd;
	struct sockaddr_storage to;
	socklen_t tolen;
	struct proxy_station *st;
	size_t n_st;
	struct proxy_event lev;
	/* serial: [SIM_UP] is the station's pty, [SIM_DOWN] the ground's */
	struct proxy_pty pty[SIM_DIRS];
	uint8_t buf[65536];
};

/* Microseconds since the proxy started. */
uint64_t proxy_now(const struct proxy *px);

/* epoll helpers: add or change fd's interest; 0 or -1 with errno. */
int proxy_watch(struct proxy *px, int fd, uint32_t events, struct proxy_event *ev);
int proxy_rewatch(struct proxy *px, int fd, uint32_t events, struct proxy_event *ev);

/* UDP side (proxy_udp.c). */
int proxy_udp_open(struct proxy *px, char *err, size_t errlen);
void proxy_udp_close(struct proxy *px);
void proxy_udp_listen_ready(struct proxy *px);
void proxy_udp_station_ready(struct proxy *px, size_t slot);
void proxy_udp_deliver(struct proxy *px, const struct sim_delivery *d);
void proxy_udp_expire(struct proxy *px, uint64_t now);

/* Serial side (pty.c). */
int proxy_pty_open(struct proxy *px, char *err, size_t errlen);
void proxy_pty_close(struct proxy *px);
void proxy_pty_ready(struct proxy *px, size_t side, uint32_t events);
void proxy_pty_deliver(struct proxy *px, const struct sim_delivery *d);
/* Read again from a side paused on a full queue, if there is room now. */
void proxy_pty_resume(struct proxy *px, uint64_t now);
/* Whether a side is paused (the loop then looks again soon). */
bool proxy_pty_paused(const struct proxy *px);

/* Status and counters (proxy_status.c). */
void proxy_status_draw(struct proxy *px, uint64_t now);
void proxy_status_clear(struct proxy *px);
void proxy_dump(struct proxy *px, FILE *f);
/*
 * What became of a datagram given to the model: a -v trace, and a message
 * the first time the queue or the in-flight limit drops one.
 */
void proxy_sent(struct proxy *px, uint64_t now, enum sim_dir dir, size_t len,
                enum sim_fate fate);
/* -v: one line about a datagram. */
void proxy_trace(const struct proxy *px, uint64_t now, const char *what, enum sim_dir dir,
                 size_t len, const char *fate);

#endif
