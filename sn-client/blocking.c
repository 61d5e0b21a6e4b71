/*
 * blocking.c - the blocking API: a poll() loop around the core (blocking.h).
 *
 * The core reports outcomes through events; this file keeps the few facts
 * the waits need (the last finished requests, connected, asleep, lost) and
 * each call runs the loop until its fact turns up or its time runs out.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sn-client/blocking.h"
#include "sn-client/clock.h"

/* Requests finished recently: a QoS 0 publish can finish inside the call
 * that starts it, before the caller knows its token. */
#define DONE_RING 32u

struct done {
	uint32_t token;
	int rc;
	int qos;
};

struct snc_blocking {
	struct snc *c;
	struct snc_transport *t;
	void (*on_event)(void *arg, const struct snc_event *ev);
	void *ev_arg;
	void (*trace)(void *arg, bool out, const uint8_t *buf, size_t len);
	void *trace_arg;

	struct done done[DONE_RING];
	size_t ndone;
	bool connected;        /* a CONNECTED event since snc_connect() began */
	int connect_rc;
	bool disconnected;     /* a DISCONNECTED event */
	int disconnect_rc;
	bool asleep;
	bool lost;
	bool stop;
	int extra_fd;          /* also polled (snc_wait_fd), -1 when none */
	bool extra_ready;
	volatile sig_atomic_t *interrupt;
	int rc;                /* the gateway's code behind SNC_ERR_REFUSED */
	char err[256];
	uint8_t rx[65536];
};

/* ---------------------------------------------------------------- core callbacks */

static void on_send(void *ctx, const uint8_t *buf, size_t len, bool broadcast)
{
	struct snc_blocking *b = ctx;

	if (b->trace != NULL)
		b->trace(b->trace_arg, true, buf, len);
	/* A failed send is a lost datagram: retransmission copes, and if the
	 * link stays broken the gateway is declared gone. The reason is kept. */
	if (b->t->ops->send(b->t, buf, len, broadcast) != SNC_OK)
		snprintf(b->err, sizeof b->err, "%s", b->t->err);
}

static void on_event(void *ctx, const struct snc_event *ev)
{
	struct snc_blocking *b = ctx;

	switch (ev->type) {
	case SNC_EV_CONNECTED:
		b->connected = true;
		b->connect_rc = ev->rc;
		/* A connection the program made again on the core itself (see
		 * snc_blocking_poll()): the earlier loss is over. */
		if (ev->rc == 0)
			b->lost = false;
		break;
	case SNC_EV_DISCONNECTED:
		b->disconnected = true;
		b->disconnect_rc = ev->rc;
		break;
	case SNC_EV_GATEWAY_LOST:
		b->lost = true;
		break;
	case SNC_EV_ASLEEP:
		b->asleep = true;
		break;
	case SNC_EV_REGISTERED:
	case SNC_EV_PUBLISHED:
	case SNC_EV_SUBSCRIBED:
	case SNC_EV_UNSUBSCRIBED:
	case SNC_EV_WILL_UPDATED:
		if (ev->token != 0) {
			struct done *d = &b->done[b->ndone++ % DONE_RING];

			d->token = ev->token;
			d->rc = ev->rc;
			d->qos = ev->qos;
		}
		break;
	default:
		break;
	}
	if (b->on_event != NULL)
		b->on_event(b->ev_arg, ev);
}

/* ---------------------------------------------------------------- lifecycle */

struct snc_blocking *snc_blocking_new(const struct snc_config *cfg, struct snc_transport *t)
{
	struct snc_ops ops = { on_send, on_event };
	struct snc_blocking *b;

	assert(cfg != NULL && t != NULL);
	b = calloc(1, sizeof *b);
	if (b == NULL)
		return NULL;
	b->t = t;
	b->extra_fd = -1;
	b->c = snc_new(cfg, &ops, b);
	if (b->c == NULL) {
		free(b);
		return NULL;
	}
	return b;
}

void snc_blocking_free(struct snc_blocking *b)
{
	if (b == NULL)
		return;
	snc_free(b->c);
	free(b);
}

struct snc *snc_blocking_core(struct snc_blocking *b)
{
	assert(b != NULL);
	return b->c;
}

void snc_blocking_on_event(struct snc_blocking *b,
                           void (*fn)(void *arg, const struct snc_event *ev), void *arg)
{
	assert(b != NULL);
	b->on_event = fn;
	b->ev_arg = arg;
}

void snc_blocking_trace(struct snc_blocking *b,
                        void (*fn)(void *arg, bool out, const uint8_t *buf, size_t len),
                        void *arg)
{
	assert(b != NULL);
	b->trace = fn;
	b->trace_arg = arg;
}

void snc_blocking_stop(struct snc_blocking *b)
{
	assert(b != NULL);
	b->stop = true;
}

void snc_blocking_interrupt(struct snc_blocking *b, volatile sig_atomic_t *flag)
{
	assert(b != NULL);
	b->interrupt = flag;
}

int snc_blocking_rc(const struct snc_blocking *b)
{
	assert(b != NULL);
	return b->rc;
}

const char *snc_blocking_errmsg(const struct snc_blocking *b)
{
	assert(b != NULL);
	return b->err;
}

/* ---------------------------------------------------------------- the loop */

/* Feeds every datagram waiting into the core. */
static int drain(struct snc_blocking *b)
{
	for (;;) {
		int n = b->t->ops->recv(b->t, b->rx, sizeof b->rx);

		if (n == SNC_ERR_EMPTY)
			return SNC_OK;
		if (n < 0) {
			snprintf(b->err, sizeof b->err, "%s", b->t->err);
			return SNC_ERR_IO;
		}
		if (b->trace != NULL)
			b->trace(b->trace_arg, false, b->rx, (size_t)n);
		snc_input(b->c, b->rx, (size_t)n, snc_clock_mono_ms());
	}
}

/*
 * Waits in poll() until a datagram comes, extra_fd (when >= 0) is ready,
 * or the time `until` (ms, on the monotonic clock) arrives, and feeds what
 * came into the core; *extra_ready tells about extra_fd. SNC_OK or
 * SNC_ERR_IO.
 */
static int poll_once(struct snc_blocking *b, int extra_fd, uint64_t now, uint64_t until,
                     bool *extra_ready)
{
	struct pollfd p[2];
	nfds_t np = 1;
	int wait, rc;

	*extra_ready = false;
	/* A deadline already past is due now, not in 584 million years. */
	if (until <= now)
		wait = 0;
	else
		wait = until - now > (uint64_t)INT_MAX ? INT_MAX : (int)(until - now);
	p[0].fd = b->t->ops->fd(b->t);
	p[0].events = POLLIN;
	p[0].revents = 0;
	if (extra_fd >= 0) {
		p[1].fd = extra_fd;
		p[1].events = POLLIN;
		p[1].revents = 0;
		np = 2;
	}
	rc = poll(p, np, wait);
	if (rc < 0 && errno != EINTR) {
		snprintf(b->err, sizeof b->err, "poll: %s", strerror(errno));
		return SNC_ERR_IO;
	}
	/* Readable, at its end, or broken: the caller's read() will tell. */
	if (rc > 0 && np == 2 && p[1].revents != 0)
		*extra_ready = true;
	if (rc > 0 && p[0].revents != 0 && drain(b) != SNC_OK)
		return SNC_ERR_IO;
	return SNC_OK;
}

/*
 * The transport's own timers (the hold of link frames): runs what is due
 * at now and returns the nearer of next and the transport's deadline. A
 * failure is kept for the user, like a failed send.
 */
static uint64_t transport_timers(struct snc_blocking *b, uint64_t now, uint64_t next)
{
	const struct snc_transport_ops *ops = b->t->ops;

	if (ops->tick != NULL && ops->tick(b->t, now) != SNC_OK)
		snprintf(b->err, sizeof b->err, "%s", b->t->err);
	if (ops->deadline != NULL) {
		uint64_t d = ops->deadline(b->t);

		if (d < next)
			next = d;
	}
	return next;
}

/*
 * Runs the core until done(b, arg) holds (SNC_OK) or timeout_ms passes
 * (SNC_ERR_TIMEOUT); SNC_ERR_IO when poll or the transport fails,
 * SNC_ERR_INTERRUPTED when the interrupt flag is up.
 */
static int run(struct snc_blocking *b, int timeout_ms,
               bool (*done)(const struct snc_blocking *b, uint32_t arg), uint32_t arg)
{
	uint64_t end = timeout_ms < 0 ? UINT64_MAX : snc_clock_mono_ms() + (uint64_t)timeout_ms;

	for (;;) {
		uint64_t now = snc_clock_mono_ms();
		uint64_t next = transport_timers(b, now, snc_tick(b->c, now));
		bool ready;
		int rc;

		if (done(b, arg))
			return SNC_OK;
		if (b->interrupt != NULL && *b->interrupt)
			return SNC_ERR_INTERRUPTED;
		if (now >= end)
			return SNC_ERR_TIMEOUT;
		rc = poll_once(b, b->extra_fd, now, end < next ? end : next, &ready);
		if (rc != SNC_OK)
			return rc;
		if (ready)
			b->extra_ready = true;
	}
}

int snc_blocking_poll(struct snc_blocking *b, int fd, int timeout_ms, bool *fd_ready)
{
	uint64_t now, next;
	bool ready = false;
	int rc;

	assert(b != NULL);
	now = snc_clock_mono_ms();
	next = transport_timers(b, now, snc_tick(b->c, now));
	if (b->interrupt != NULL && *b->interrupt) {
		rc = SNC_ERR_INTERRUPTED;
	} else {
		if (timeout_ms >= 0 && now + (uint64_t)timeout_ms < next)
			next = now + (uint64_t)timeout_ms;
		rc = poll_once(b, fd, now, next, &ready);
	}
	if (fd_ready != NULL)
		*fd_ready = ready;
	return rc;
}

static const struct done *find_done(const struct snc_blocking *b, uint32_t token)
{
	size_t n = b->ndone < DONE_RING ? b->ndone : DONE_RING;

	for (size_t i = 0; i < n; i++)
		if (b->done[i].token == token)
			return &b->done[i];
	return NULL;
}

static bool token_done(const struct snc_blocking *b, uint32_t token)
{
	return find_done(b, token) != NULL;
}

/* An outcome code from an event, as a blocking call returns it. */
static int outcome(struct snc_blocking *b, int rc)
{
	if (rc > 0) {
		b->rc = rc;
		return SNC_ERR_REFUSED;
	}
	return rc;
}

/* Waits for the request with this token; *qos gets its event's qos. */
static int wait_token(struct snc_blocking *b, uint32_t token, int timeout_ms, int *qos)
{
	const struct done *d;
	int rc = run(b, timeout_ms, token_done, token);

	if (rc != SNC_OK)
		return rc;
	d = find_done(b, token);
	if (qos != NULL)
		*qos = d->qos;
	return outcome(b, d->rc);
}

/* ---------------------------------------------------------------- the calls */

static bool connect_done(const struct snc_blocking *b, uint32_t arg)
{
	(void)arg;
	return b->connected || b->lost;
}

int snc_connect(struct snc_blocking *b, int timeout_ms)
{
	int rc;

	assert(b != NULL);
	b->connected = false;
	b->disconnected = false;
	b->asleep = false;
	b->lost = false;
	rc = snc_connect_start(b->c, snc_clock_mono_ms());
	if (rc != SNC_OK)
		return rc;
	rc = run(b, timeout_ms, connect_done, 0);
	if (rc != SNC_OK)
		return rc;
	if (b->lost)
		return SNC_ERR_GONE;
	return outcome(b, b->connect_rc);
}

int snc_publish(struct snc_blocking *b, const struct snc_message *m, int timeout_ms)
{
	uint32_t token;
	int rc;

	assert(b != NULL && m != NULL);
	rc = snc_publish_start(b->c, m, &token, snc_clock_mono_ms());
	return rc != SNC_OK ? rc : wait_token(b, token, timeout_ms, NULL);
}

int snc_subscribe(struct snc_blocking *b, const struct snc_topic *t, int qos, int *granted,
                  int timeout_ms)
{
	uint32_t token;
	int rc;

	assert(b != NULL && t != NULL);
	rc = snc_subscribe_start(b->c, t, qos, &token, snc_clock_mono_ms());
	return rc != SNC_OK ? rc : wait_token(b, token, timeout_ms, granted);
}

int snc_unsubscribe(struct snc_blocking *b, const struct snc_topic *t, int timeout_ms)
{
	uint32_t token;
	int rc;

	assert(b != NULL && t != NULL);
	rc = snc_unsubscribe_start(b->c, t, &token, snc_clock_mono_ms());
	return rc != SNC_OK ? rc : wait_token(b, token, timeout_ms, NULL);
}

static bool disconnect_done(const struct snc_blocking *b, uint32_t arg)
{
	(void)arg;
	return b->disconnected || b->lost;
}

int snc_disconnect(struct snc_blocking *b, int timeout_ms)
{
	int rc;

	assert(b != NULL);
	b->disconnected = false;
	/* A loss from an earlier connection (one snc_blocking_poll() ran) says
	 * nothing about this exchange. */
	b->lost = false;
	rc = snc_disconnect_start(b->c, snc_clock_mono_ms());
	if (rc != SNC_OK)
		return rc;
	rc = run(b, timeout_ms, disconnect_done, 0);
	if (rc != SNC_OK)
		return rc;
	return b->lost ? SNC_ERR_GONE : b->disconnect_rc;
}

static bool sleep_done(const struct snc_blocking *b, uint32_t arg)
{
	(void)arg;
	return b->asleep || b->lost || b->disconnected;
}

int snc_sleep(struct snc_blocking *b, uint16_t duration_s, int timeout_ms)
{
	int rc;

	assert(b != NULL);
	b->asleep = false;
	b->disconnected = false;
	rc = snc_sleep_start(b->c, duration_s, snc_clock_mono_ms());
	if (rc != SNC_OK)
		return rc;
	rc = run(b, timeout_ms, sleep_done, 0);
	if (rc != SNC_OK)
		return rc;
	if (b->lost)
		return SNC_ERR_GONE;
	return b->asleep ? SNC_OK : SNC_ERR_CLOSED;
}

static bool wait_done(const struct snc_blocking *b, uint32_t arg)
{
	(void)arg;
	return b->stop || b->lost || (b->disconnected && b->disconnect_rc == SNC_ERR_CLOSED);
}

static bool fd_done(const struct snc_blocking *b, uint32_t arg)
{
	(void)arg;
	return b->extra_ready || b->stop || b->lost ||
	       (b->disconnected && b->disconnect_rc == SNC_ERR_CLOSED);
}

int snc_wait_fd(struct snc_blocking *b, int fd, int timeout_ms)
{
	int rc;

	assert(b != NULL && fd >= 0);
	b->extra_fd = fd;
	b->extra_ready = false;
	rc = run(b, timeout_ms, fd_done, 0);
	b->extra_fd = -1;
	if (rc != SNC_OK || b->extra_ready)
		return rc;
	if (b->stop) {
		b->stop = false;
		return SNC_ERR_INTERRUPTED;
	}
	return b->lost ? SNC_ERR_GONE : SNC_ERR_CLOSED;
}

int snc_wait(struct snc_blocking *b, int timeout_ms)
{
	int rc;

	assert(b != NULL);
	rc = run(b, timeout_ms, wait_done, 0);
	if (rc == SNC_ERR_INTERRUPTED)
		return SNC_OK;
	if (rc != SNC_OK)
		return rc;
	if (b->stop) {
		b->stop = false;
		return SNC_OK;
	}
	return b->lost ? SNC_ERR_GONE : SNC_ERR_CLOSED;
}
