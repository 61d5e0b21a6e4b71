/*
 * loop.c - the event loop: epoll, a binary heap of timers, a signalfd.
 */
#include "bridge/loop.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

/* Events taken from the kernel per wake-up: a bound on one batch's work. */
#define BATCH 64

struct gw_loop {
	int epfd;
	bool stopping;
	uint64_t now;

	struct gw_timer **heap;
	size_t heap_len, heap_cap;

	void (*prepare)(void *arg, uint64_t now_ms);
	void *prepare_arg;

	int sigfd;
	struct gw_watch sigwatch;
	sigset_t sigmask;
	void (*on_signal)(void *arg, int signo);
	void *signal_arg;

	/* The batch being dispatched, so that a stopped watch can be removed. */
	struct epoll_event events[BATCH];
	int batch_len;
};

uint64_t gw_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t gw_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---------------------------------------------------------------- loop */

struct gw_loop *gw_loop_new(char *err, size_t errlen)
{
	struct gw_loop *loop = calloc(1, sizeof *loop);
	if (loop == NULL) {
		snprintf(err, errlen, "event loop: out of memory");
		return NULL;
	}
	loop->sigfd = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
		free(loop);
		return NULL;
	}
	loop->now = gw_clock_ms();
	return loop;
}

void gw_loop_free(struct gw_loop *loop)
{
	if (loop == NULL)
		return;
	if (loop->sigfd >= 0) {
		gw_watch_stop(loop, &loop->sigwatch);
		close(loop->sigfd);
		sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
	}
	close(loop->epfd);
	free(loop->heap);
	free(loop);
}

uint64_t gw_loop_now(const struct gw_loop *loop)
{
	return loop->now;
}

void gw_loop_set_prepare(struct gw_loop *loop, void (*fn)(void *arg, uint64_t now_ms), void *arg)
{
	loop->prepare = fn;
	loop->prepare_arg = arg;
}

void gw_loop_stop(struct gw_loop *loop)
{
	loop->stopping = true;
}

/* ---------------------------------------------------------------- watches */

static uint32_t epoll_bits(unsigned events)
{
	uint32_t bits = 0;
	if (events & GW_LOOP_READ)
		bits |= EPOLLIN;
	if (events & GW_LOOP_WRITE)
		bits |= EPOLLOUT;
	return bits;
}

void gw_watch_init(struct gw_watch *w, void (*fn)(void *arg, unsigned revents), void *arg)
{
	w->fd = -1;
	w->events = 0;
	w->fn = fn;
	w->arg = arg;
}

int gw_watch_start(struct gw_loop *loop, struct gw_watch *w, int fd, unsigned events)
{
	struct epoll_event ev = {.events = epoll_bits(events), .data.ptr = w};
	if (w->fd >= 0)
		gw_watch_stop(loop, w);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		/*
		 * A library may close a socket and open the next one under the
		 * same number before we hear of it; the old registration went
		 * with the old socket, but a stale one for this number is
		 * replaced rather than refused.
		 */
		if (errno != EEXIST || epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
			return -1;
	}
	w->fd = fd;
	w->events = events;
	return 0;
}

int gw_watch_update(struct gw_loop *loop, struct gw_watch *w, unsigned events)
{
	if (w->fd < 0)
		return -1;
	if (events == w->events)
		return 0;
	struct epoll_event ev = {.events = epoll_bits(events), .data.ptr = w};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) != 0)
		return -1;
	w->events = events;
	return 0;
}

void gw_watch_stop(struct gw_loop *loop, struct gw_watch *w)
{
	if (w->fd < 0)
		return;
	/* Fails harmlessly (EBADF, ENOENT) when the fd was closed first. */
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->fd = -1;
	w->events = 0;
	for (int i = 0; i < loop->batch_len; i++) {
		if (loop->events[i].data.ptr == w)
			loop->events[i].data.ptr = NULL;
	}
}

/* ---------------------------------------------------------------- timers */

static void heap_place(struct gw_loop *loop, size_t i, struct gw_timer *t)
{
	loop->heap[i] = t;
	t->slot = i + 1;
}

static void heap_up(struct gw_loop *loop, size_t i)
{
	struct gw_timer *t = loop->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (loop->heap[parent]->due <= t->due)
			break;
		heap_place(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_place(loop, i, t);
}

static void heap_down(struct gw_loop *loop, size_t i)
{
	struct gw_timer *t = loop->heap[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len && loop->heap[child + 1]->due < loop->heap[child]->due)
			child++;
		if (t->due <= loop->heap[child]->due)
			break;
		heap_place(loop, i, loop->heap[child]);
		i = child;
	}
	heap_place(loop, i, t);
}

void gw_timer_init(struct gw_timer *t, void (*fn)(void *arg, uint64_t now_ms), void *arg)
{
	t->due = 0;
	t->slot = 0;
	t->fn = fn;
	t->arg = arg;
}

int gw_timer_arm(struct gw_loop *loop, struct gw_timer *t, uint64_t due_ms)
{
	if (t->slot != 0) {
		uint64_t old = t->due;
		t->due = due_ms;
		if (due_ms < old)
			heap_up(loop, t->slot - 1);
		else
			heap_down(loop, t->slot - 1);
		return 0;
	}
	if (loop->heap_len == loop->heap_cap) {
		size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
		struct gw_timer **heap = realloc(loop->heap, cap * sizeof *heap);
		if (heap == NULL)
			return -1;
		loop->heap = heap;
		loop->heap_cap = cap;
	}
	t->due = due_ms;
	loop->heap[loop->heap_len++] = t;
	heap_up(loop, loop->heap_len - 1);
	return 0;
}

void gw_timer_disarm(struct gw_loop *loop, struct gw_timer *t)
{
	if (t->slot == 0)
		return;
	size_t i = t->slot - 1;
	t->slot = 0;
	struct gw_timer *last = loop->heap[--loop->heap_len];
	if (last == t)
		return;
	heap_place(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->slot - 1);
}

static void run_timers(struct gw_loop *loop)
{
	/*
	 * A callback may arm its own timer again for "now": bound the round to
	 * the timers present at its start so that the loop still polls.
	 */
	size_t budget = loop->heap_len;
	while (budget-- > 0 && loop->heap_len > 0 && loop->heap[0]->due <= loop->now) {
		struct gw_timer *t = loop->heap[0];
		gw_timer_disarm(loop, t);
		t->fn(t->arg, loop->now);
		if (loop->stopping)
			return;
	}
}

static int next_timeout(const struct gw_loop *loop)
{
	if (loop->stopping)
		return 0;
	if (loop->heap_len == 0)
		return -1;
	uint64_t due = loop->heap[0]->due;
	uint64_t now = gw_clock_ms();
	if (due <= now)
		return 0;
	uint64_t wait = due - now;
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* ---------------------------------------------------------------- signals */

static void signal_ready(void *arg, unsigned revents)
{
	struct gw_loop *loop = arg;
	struct signalfd_siginfo si;
	(void)revents;
	while (read(loop->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
		loop->on_signal(loop->signal_arg, (int)si.ssi_signo);
}

int gw_loop_signals(struct gw_loop *loop, const int *signals, size_t n,
                    void (*fn)(void *arg, int signo), void *arg, char *err, size_t errlen)
{
	sigemptyset(&loop->sigmask);
	for (size_t i = 0; i < n; i++)
		sigaddset(&loop->sigmask, signals[i]);
	if (sigprocmask(SIG_BLOCK, &loop->sigmask, NULL) != 0) {
		snprintf(err, errlen, "sigprocmask: %s", strerror(errno));
		return -1;
	}
	loop->sigfd = signalfd(-1, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->sigfd < 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
		return -1;
	}
	loop->on_signal = fn;
	loop->signal_arg = arg;
	gw_watch_init(&loop->sigwatch, signal_ready, loop);
	if (gw_watch_start(loop, &loop->sigwatch, loop->sigfd, GW_LOOP_READ) != 0) {
		snprintf(err, errlen, "epoll_ctl signalfd: %s", strerror(errno));
		close(loop->sigfd);
		loop->sigfd = -1;
		sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- run */

int gw_loop_run(struct gw_loop *loop, char *err, size_t errlen)
{
	loop->stopping = false;
	while (!loop->stopping) {
		loop->now = gw_clock_ms();
		run_timers(loop);
		if (loop->stopping)
			break;
		if (loop->prepare != NULL)
			loop->prepare(loop->prepare_arg, loop->now);

		int n = epoll_wait(loop->epfd, loop->events, BATCH, next_timeout(loop));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "epoll_wait: %s", strerror(errno));
			return -1;
		}
		loop->now = gw_clock_ms();
		loop->batch_len = n;
		for (int i = 0; i < n; i++) {
			struct gw_watch *w = loop->events[i].data.ptr;
			if (w == NULL || w->fd < 0)
				continue;
			uint32_t bits = loop->events[i].events;
			unsigned revents = 0;
			/* Errors and hang-ups surface as readable: the read reports them. */
			if (bits & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
				revents |= GW_LOOP_READ;
			if (bits & EPOLLOUT)
				revents |= GW_LOOP_WRITE;
			w->fn(w->arg, revents);
		}
		loop->batch_len = 0;
	}
	return 0;
}

/* ---------------------------------------------------------------- limits */

int gw_fd_limit_raise(uint64_t want, uint64_t *got, char *err, size_t errlen)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		snprintf(err, errlen, "getrlimit RLIMIT_NOFILE: %s", strerror(errno));
		return -1;
	}
	rlim_t target = rl.rlim_max;
	if (want != 0 && (rl.rlim_max == RLIM_INFINITY || want < (uint64_t)rl.rlim_max))
		target = (rlim_t)want;
	if (target != rl.rlim_cur) {
		rl.rlim_cur = target;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			snprintf(err, errlen, "setrlimit RLIMIT_NOFILE %llu: %s",
			         (unsigned long long)target, strerror(errno));
			return -1;
		}
	}
	*got = (uint64_t)rl.rlim_cur;
	return 0;
}
