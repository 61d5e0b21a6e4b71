/*
 * loop.h - the event loop: one thread, epoll over file descriptors, timers
 * on CLOCK_MONOTONIC in milliseconds, signals through a signalfd.
 *
 * Watches and timers are owned by the caller (embedded in its structs) and
 * only referenced by the loop while started or armed. A watch stopped in
 * the middle of a batch of events gets none of the batch's remaining events,
 * so its owner may free it as soon as gw_watch_stop() returns.
 */
#ifndef SNBRIDGE_BRIDGE_LOOP_H
#define SNBRIDGE_BRIDGE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_LOOP_READ 1u  /* readable, or hung up / in error */
#define GW_LOOP_WRITE 2u /* writable */

struct gw_loop;

/* Interest in one file descriptor. */
struct gw_watch {
	int fd;           /* -1 while not started */
	unsigned events;  /* GW_LOOP_READ | GW_LOOP_WRITE */
	void (*fn)(void *arg, unsigned revents);
	void *arg;
};

/* A one-shot timer; arm it again from its callback to repeat. */
struct gw_timer {
	uint64_t due;     /* absolute, milliseconds on the loop's clock */
	size_t slot;      /* position in the loop's heap plus one; 0: not armed */
	void (*fn)(void *arg, uint64_t now_ms);
	void *arg;
};

/* Milliseconds on CLOCK_MONOTONIC: the time every core takes as now_ms. */
uint64_t gw_clock_ms(void);
/* Milliseconds on CLOCK_REALTIME: what outlives a restart (the custody
 * store's receive times and expiry). */
uint64_t gw_wall_ms(void);

/* A new loop, or NULL with the reason in err. */
struct gw_loop *gw_loop_new(char *err, size_t errlen);
/* Free the loop (and its signalfd); watches and timers are the callers'. */
void gw_loop_free(struct gw_loop *loop);
/* The time taken at the last wake-up, so that one batch shares one now. */
uint64_t gw_loop_now(const struct gw_loop *loop);
/*
 * Call fn once per iteration after the due timers and before waiting: the
 * place to feed a core's next deadline into a timer. One hook per loop.
 */
void gw_loop_set_prepare(struct gw_loop *loop, void (*fn)(void *arg, uint64_t now_ms), void *arg);
/*
 * Block the n signals and deliver them through the loop: fn(arg, signo) runs
 * from the loop like any other event. Returns 0 or -1 with err set.
 */
int gw_loop_signals(struct gw_loop *loop, const int *signals, size_t n,
                    void (*fn)(void *arg, int signo), void *arg, char *err, size_t errlen);
/* Run until gw_loop_stop(). Returns 0, or -1 with err set (epoll failed). */
int gw_loop_run(struct gw_loop *loop, char *err, size_t errlen);
/* Make gw_loop_run() return after the current iteration. */
void gw_loop_stop(struct gw_loop *loop);

/* Prepare a watch; no fd yet. */
void gw_watch_init(struct gw_watch *w, void (*fn)(void *arg, unsigned revents), void *arg);
/* Watch fd for events. Returns 0 or -1 with errno set. */
int gw_watch_start(struct gw_loop *loop, struct gw_watch *w, int fd, unsigned events);
/* Change the events of a started watch (no system call when unchanged). */
int gw_watch_update(struct gw_loop *loop, struct gw_watch *w, unsigned events);
/*
 * Stop watching (fd becomes -1). Safe on a stopped watch and when the fd
 * was already closed, which removed it from epoll by itself.
 */
void gw_watch_stop(struct gw_loop *loop, struct gw_watch *w);

/* Prepare a timer; not armed. */
void gw_timer_init(struct gw_timer *t, void (*fn)(void *arg, uint64_t now_ms), void *arg);
/* Arm (or move) the timer to fire at due_ms. Returns 0 or -1 out of memory. */
int gw_timer_arm(struct gw_loop *loop, struct gw_timer *t, uint64_t due_ms);
/* Disarm; safe on a timer that is not armed. */
void gw_timer_disarm(struct gw_loop *loop, struct gw_timer *t);

/*
 * Raise the soft RLIMIT_NOFILE to want (0: to the hard limit), never above
 * the hard limit. *got receives the new soft limit. Returns 0 or -1 with err.
 */
int gw_fd_limit_raise(uint64_t want, uint64_t *got, char *err, size_t errlen);

#endif
