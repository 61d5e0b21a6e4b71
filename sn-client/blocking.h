/*
 * blocking.h - a blocking API over the client core: each call sends what it
 * must and runs a poll() loop, with timeouts from snc_tick(), until its
 * answer comes or its time runs out. The shape of linenoise's blocking API
 * over its non-blocking core; the tools are written on it.
 *
 * Every timeout is in milliseconds, < 0 for none. Every call returns SNC_OK,
 * SNC_ERR_TIMEOUT (the caller's timeout passed), SNC_ERR_GONE (the gateway
 * stopped answering: retries exhausted), SNC_ERR_REFUSED (the gateway's
 * return code is in snc_blocking_rc()), SNC_ERR_CLOSED (the gateway ended
 * the connection), SNC_ERR_INTERRUPTED (see snc_blocking_interrupt()) or
 * SNC_ERR_IO (the transport; snc_blocking_errmsg()).
 */
#ifndef SNBRIDGE_SNC_BLOCKING_H
#define SNBRIDGE_SNC_BLOCKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <signal.h>

#include "sn-client/client.h"
#include "sn-client/transport.h"

struct snc_blocking;

/*
 * A blocking client over transport t (kept, not owned). Returns NULL when
 * out of memory or cfg is invalid (see snc_new()).
 */
struct snc_blocking *snc_blocking_new(const struct snc_config *cfg, struct snc_transport *t);

/* Free it (sends nothing: disconnect first for a clean end). NULL is fine. */
void snc_blocking_free(struct snc_blocking *b);

/* The core, for what the blocking calls do not cover (Will, source, predefined). */
struct snc *snc_blocking_core(struct snc_blocking *b);

/* Every event goes to fn as well (messages arrive this way). fn may call snc_blocking_stop(). */
void snc_blocking_on_event(struct snc_blocking *b,
                           void (*fn)(void *arg, const struct snc_event *ev), void *arg);

/* Every datagram in (out = false) and out goes to fn, for debugging (-d). */
void snc_blocking_trace(struct snc_blocking *b,
                        void (*fn)(void *arg, bool out, const uint8_t *buf, size_t len),
                        void *arg);

/* Connect (CONNECT .. CONNACK, the Will answered when set on the core). */
SNC_MUST_CHECK int snc_connect(struct snc_blocking *b, int timeout_ms);

/* Publish and wait for the acknowledgement (QoS 1, 2) or the send (0, -1). */
SNC_MUST_CHECK int snc_publish(struct snc_blocking *b, const struct snc_message *m, int timeout_ms);

/* Subscribe; *granted (when not NULL) gets the QoS the gateway granted. */
SNC_MUST_CHECK int snc_subscribe(struct snc_blocking *b, const struct snc_topic *t, int qos,
                                 int *granted, int timeout_ms);

/* Unsubscribe. */
SNC_MUST_CHECK int snc_unsubscribe(struct snc_blocking *b, const struct snc_topic *t,
                                   int timeout_ms);

/* Disconnect and wait for the gateway's DISCONNECT. */
SNC_MUST_CHECK int snc_disconnect(struct snc_blocking *b, int timeout_ms);

/* Ask to sleep for duration_s and wait until the gateway agrees. */
SNC_MUST_CHECK int snc_sleep(struct snc_blocking *b, uint16_t duration_s, int timeout_ms);

/*
 * Run the loop: deliver messages, keep the connection alive, wake from
 * sleep, drain the source. Returns SNC_OK when snc_blocking_stop() was
 * called (from a callback), SNC_ERR_TIMEOUT when timeout_ms ran out, or the
 * error that ended the connection (SNC_ERR_GONE, _CLOSED, _IO).
 */
SNC_MUST_CHECK int snc_wait(struct snc_blocking *b, int timeout_ms);

/*
 * Run the loop, as snc_wait() does, until fd (the program's own input,
 * say) is readable or at its end: keep-alive and retransmissions go on
 * while the program waits for something to send. Returns SNC_OK when fd
 * is ready, SNC_ERR_TIMEOUT, SNC_ERR_INTERRUPTED (a signal, or
 * snc_blocking_stop()), or the error that ended the connection.
 */
SNC_MUST_CHECK int snc_wait_fd(struct snc_blocking *b, int fd, int timeout_ms);

/*
 * One turn of the loop, for a program that runs a loop of its own around
 * the core (sn-pub -l --queue reads its input into the queue while the
 * core drains it, and connects again when the gateway is lost): run the
 * core's timers, wait in one poll() until a datagram comes, fd (when >= 0)
 * is readable, at its end or broken, the core's next deadline, or
 * timeout_ms (< 0: only the core's deadline; 0: do not wait), and feed in
 * what came. *fd_ready (when not NULL) tells whether fd is ready. Events
 * reach the snc_blocking_on_event() callback; the program watches the
 * connection there or through snc_state(), and (re)connects with
 * snc_connect_start() on the core. Returns SNC_OK, SNC_ERR_INTERRUPTED
 * (the interrupt flag is up) or SNC_ERR_IO (poll or the transport).
 */
SNC_MUST_CHECK int snc_blocking_poll(struct snc_blocking *b, int fd, int timeout_ms,
                                     bool *fd_ready);

/* Make the current (or next) snc_wait() return SNC_OK. */
void snc_blocking_stop(struct snc_blocking *b);

/*
 * A flag that a signal handler sets: once it is non-zero every wait ends
 * with SNC_ERR_INTERRUPTED (snc_wait() with SNC_OK). The handler must be
 * installed without SA_RESTART so that poll() returns.
 */
void snc_blocking_interrupt(struct snc_blocking *b, volatile sig_atomic_t *flag);

/* The gateway's return code behind the last SNC_ERR_REFUSED. */
int snc_blocking_rc(const struct snc_blocking *b);

/* The last transport failure, "" when none. */
const char *snc_blocking_errmsg(const struct snc_blocking *b);

#endif
