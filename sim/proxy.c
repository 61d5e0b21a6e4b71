/*
 * proxy.c - the proxy's event loop: epoll over the sockets or ptys, a
 * timerfd armed at the model's next delivery time (absolute, on
 * CLOCK_MONOTONIC), and a signalfd for SIGTERM, SIGINT and SIGUSR1.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "sim/proxy_int.h"

#define STATUS_PERIOD_US 250000u /* status line refresh */
#define PAUSE_RECHECK_US 5000u   /* a paused pty looks at the queue again */
#define EXPIRE_PERIOD_US 1000000u

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t proxy_now(const struct proxy *px)
{
	return mono_us() - px->t0_us;
}

int proxy_watch(struct proxy *px, int fd, uint32_t events, struct proxy_event *ev)
{
	struct epoll_event e;

	memset(&e, 0, sizeof e);
	e.events = events;
	e.data.ptr = ev;
	return epoll_ctl(px->ep, EPOLL_CTL_ADD, fd, &e);
}

int proxy_rewatch(struct proxy *px, int fd, uint32_t events, struct proxy_event *ev)
{
	struct epoll_event e;

	memset(&e, 0, sizeof e);
	e.events = events;
	e.data.ptr = ev;
	return epoll_ctl(px->ep, EPOLL_CTL_MOD, fd, &e);
}

/* ---------------------------------------------------------------- timer */

/* Arm the timerfd for virtual time t (SIM_TIME_NEVER: disarm). */
static int arm(struct proxy *px, uint64_t t)
{
	struct itimerspec its;
	uint64_t abs_us;

	if (t == px->armed_us)
		return 0;
	memset(&its, 0, sizeof its);
	if (t != SIM_TIME_NEVER) {
		abs_us = px->t0_us + t;
		its.it_value.tv_sec = (time_t)(abs_us / 1000000u);
		its.it_value.tv_nsec = (long)(abs_us % 1000000u) * 1000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1; /* zero would disarm */
	}
	if (timerfd_settime(px->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		return -1;
	px->armed_us = t;
	return 0;
}

/* Hand out everything due by now. */
static void deliver_due(struct proxy *px, uint64_t now)
{
	struct sim_delivery d;

	while (sim_link_pop(&px->link, now, &d)) {
		proxy_trace(px, now, "deliver", d.dir, d.len, d.copy ? "copy" : d.damaged ? "damaged" : "");
		if (px->cfg->serial)
			proxy_pty_deliver(px, &d);
		else
			proxy_udp_deliver(px, &d);
	}
}

/* When the loop must look again without an event. */
static uint64_t next_wakeup(struct proxy *px, uint64_t now)
{
	uint64_t t = sim_link_next_time(&px->link);

	if (px->status && px->status_next_us < t)
		t = px->status_next_us;
	if (px->cfg->verbose) {
		uint64_t change = sim_link_next_change(&px->link, now);

		if (change < t)
			t = change;
	}
	if (px->cfg->serial && proxy_pty_paused(px) && now + PAUSE_RECHECK_US < t)
		t = now + PAUSE_RECHECK_US;
	if (!px->cfg->serial && px->n_st > 0) {
		uint64_t e = now + EXPIRE_PERIOD_US;

		if (e < t)
			t = e;
	}
	return t;
}

/* ---------------------------------------------------------------- signals */

static int signals_open(struct proxy *px, sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &set, old) != 0)
		return -1;
	sigdelset(&set, SIGPIPE); /* blocked only: a write to a gone reader is EPIPE */
	px->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (px->sfd < 0) {
		int e = errno;

		sigprocmask(SIG_SETMASK, old, NULL);
		errno = e;
		return -1;
	}
	return 0;
}

/* Read the signals; returns true when the run should end. */
static bool signals_read(struct proxy *px)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(px->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGUSR1) {
			proxy_status_clear(px);
			proxy_dump(px, stderr);
		} else {
			stop = true;
		}
	}
	return stop;
}

/* ---------------------------------------------------------------- the loop */

static int loop(struct proxy *px, char *err, size_t errlen)
{
	struct epoll_event evs[32];
	struct proxy_event tev = { PK_TIMER, 0 }, sev = { PK_SIGNAL, 0 };
	uint64_t now;
	int n, i, timeout;
	bool stop = false;

	if (proxy_watch(px, px->tfd, EPOLLIN, &tev) != 0 ||
	    proxy_watch(px, px->sfd, EPOLLIN, &sev) != 0) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	while (!stop) {
		now = proxy_now(px);
		deliver_due(px, now);
		if (px->cfg->serial)
			proxy_pty_resume(px, now);
		else
			proxy_udp_expire(px, now);
		if (sim_link_is_up(&px->link, now) != px->was_up) {
			px->was_up = !px->was_up;
			if (px->cfg->verbose) {
				proxy_status_clear(px);
				fprintf(stderr, "sn-sim: %.3f s: link %s\n", (double)now / 1e6,
				        px->was_up ? "up" : "down");
			}
		}
		if (px->status && now >= px->status_next_us) {
			proxy_status_draw(px, now);
			px->status_next_us = now + STATUS_PERIOD_US;
		}
		if (arm(px, next_wakeup(px, now)) != 0) {
			snprintf(err, errlen, "timerfd_settime: %s", strerror(errno));
			return -1;
		}
		timeout = -1;
		n = epoll_wait(px->ep, evs, (int)(sizeof evs / sizeof evs[0]), timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (i = 0; i < n; i++) {
			struct proxy_event *ev = evs[i].data.ptr;
			uint64_t ticks;

			switch (ev->kind) {
			case PK_TIMER:
				if (read(px->tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
					break;
				px->armed_us = SIM_TIME_NEVER; /* a fired timer is disarmed */
				break;
			case PK_SIGNAL:
				stop = signals_read(px) || stop;
				break;
			case PK_LISTEN:
				proxy_udp_listen_ready(px);
				break;
			case PK_STATION:
				proxy_udp_station_ready(px, ev->index);
				break;
			case PK_PTY:
				proxy_pty_ready(px, ev->index, evs[i].events);
				break;
			}
		}
	}
	return 0;
}

int sim_proxy_run(const struct sim_proxy_config *cfg, char *err, size_t errlen)
{
	struct proxy *px;
	sigset_t old;
	int rc = -1;

	px = calloc(1, sizeof *px);
	if (px == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	px->cfg = cfg;
	px->ep = px->tfd = px->sfd = px->lfd = -1;
	px->pty[0].master = px->pty[0].slave = px->pty[1].master = px->pty[1].slave = -1;
	px->armed_us = SIM_TIME_NEVER;
	px->status = cfg->status > 0 || (cfg->status < 0 && isatty(STDOUT_FILENO));
	if (sim_link_init(&px->link, &cfg->link, cfg->seed) != 0) {
		snprintf(err, errlen, "link parameters: %s", strerror(errno));
		free(px);
		return -1;
	}
	if (signals_open(px, &old) != 0) {
		snprintf(err, errlen, "signals: %s", strerror(errno));
		goto out;
	}
	px->ep = epoll_create1(EPOLL_CLOEXEC);
	px->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (px->ep < 0 || px->tfd < 0) {
		snprintf(err, errlen, "epoll/timerfd: %s", strerror(errno));
		goto out;
	}
	/* Time starts here: --down and --trace count from this moment. */
	px->t0_us = mono_us();
	px->was_up = sim_link_is_up(&px->link, 0);
	if ((cfg->serial ? proxy_pty_open(px, err, errlen) : proxy_udp_open(px, err, errlen)) != 0)
		goto out;
	fflush(stdout);
	rc = loop(px, err, errlen);
	proxy_status_clear(px);
	proxy_dump(px, stderr);
out:
	if (cfg->serial)
		proxy_pty_close(px);
	else
		proxy_udp_close(px);
	if (px->sfd >= 0) {
		close(px->sfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	if (px->tfd >= 0)
		close(px->tfd);
	if (px->ep >= 0)
		close(px->ep);
	sim_link_free(&px->link);
	free(px);
	return rc;
}
