/*
 * broker_conn.c - one broker connection: setting it up, connecting and
 * reconnecting with back-off, its timers, and its socket in the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge/broker_int.h"

/* ---------------------------------------------------------------- states */

uint64_t brk_now_ms(const struct gw_broker *b)
{
	return gw_loop_now(b->loop);
}

const char *brk_role_name(const struct conn *c)
{
	return c->role == ROLE_OWN ? "own" : c->role == ROLE_CUSTODY ? "custody" : "conn";
}

/* The states in which libmosquitto owns a socket (or is making one). */
bool brk_conn_live(const struct conn *c)
{
	return c->state == C_CONNECTING || c->state == C_UP || c->state == C_CLOSING;
}

void brk_set_state(struct conn *c, enum cstate s)
{
	if (c->state == C_UP && s != C_UP)
		c->b->count_up--;
	else if (c->state != C_UP && s == C_UP)
		c->b->count_up++;
	c->state = s;
}

void brk_arm(struct conn *c, uint64_t delay_ms)
{
	if (gw_timer_arm(c->b->loop, &c->timer, brk_now_ms(c->b) + delay_ms) != 0)
		gw_log(GW_LOG_ERR, "broker: out of memory arming a timer");
}

static uint32_t next_random(struct gw_broker *b)
{
	/* xorshift32: jitter only, so that thousands of sessions do not retry in step. */
	uint32_t x = b->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	b->rng = x;
	return x;
}

static void note_clear(char **note)
{
	free(*note);
	*note = NULL;
}

/* Whatever is left of the socket goes now: nothing of it may outlive c. */
static void release_socket(struct conn *c)
{
	if (c->hold_fd >= 0) {
		close(c->hold_fd);
		c->hold_fd = -1;
	}
	int fd = mosquitto_socket(c->mosq);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

/*
 * Queue c for destruction from the loop, where no libmosquitto call is on
 * the stack. Its client id is free from here: the next in line may start.
 */
void brk_conn_kill(struct conn *c)
{
	struct gw_broker *b = c->b;
	if (c->state == C_DEAD)
		return;
	brk_set_state(c, C_DEAD);
	gw_watch_stop(b->loop, &c->watch);
	gw_timer_disarm(b->loop, &c->timer);
	release_socket(c);
	brk_queue_leave(b, c);
	c->dead_next = b->dead;
	b->dead = c;
	if (gw_timer_arm(b->loop, &b->reap, brk_now_ms(b)) != 0)
		gw_log(GW_LOG_ERR, "broker: out of memory arming a timer");
}

void brk_schedule_retry(struct conn *c)
{
	struct gw_broker *b = c->b;
	uint64_t delay = (uint64_t)c->backoff_ms * (800u + next_random(b) % 400u) / 1000u;
	uint32_t max_ms = b->cfg.reconnect_max_s * 1000u;
	c->backoff_ms = c->backoff_ms >= max_ms / 2 ? max_ms : c->backoff_ms * 2;
	gw_log(GW_LOG_DEBUG, "broker %s %u (%s): reconnecting in %llu ms", brk_role_name(c), c->id,
	       c->client_id, (unsigned long long)delay);
	brk_arm(c, delay);
}


/* ---------------------------------------------------------------- callbacks */

/* With the CONNACK's flags: the custody drainer wants to know whether the
 * broker kept its session (MQTT 3.1.1 3.2.2.2). */
static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags)
{
	struct conn *c = obj;
	struct gw_broker *b = c->b;
	(void)mosq;
	if (c->state != C_CONNECTING)
		return;
	if (rc != 0) {
		if (!c->closed) {
			brk_conn_warn(c, 0, "refused: %s", brk_connack_text(b, rc));
			if (c->role == ROLE_CORE && !c->reported && b->gw != NULL) {
				c->reported = true;
				gw_on_broker_connected(b->gw, c->id, rc, brk_now_ms(b));
			}
		}
		/* libmosquitto closes the socket next and calls on_disconnect. */
		return;
	}
	if (c->closed) {
		/* Closed while connecting: the CONNACK is in, so the end is clean. */
		brk_conn_end(c);
		return;
	}
	brk_set_state(c, C_UP);
	gw_timer_disarm(b->loop, &c->timer);
	c->backoff_ms = b->cfg.reconnect_min_s * 1000u;
	c->warned = false;
	note_clear(&c->tls_note);
	brk_log_follow(c, false);
	gw_log(c->role != ROLE_CORE || c->id == GW_CONN_AGGREGATE ? GW_LOG_INFO : GW_LOG_DEBUG,
	       "broker %s %u (%s): connected to %s:%d", brk_role_name(c), c->id, c->client_id, b->host,
	       b->port);
	if (c->role == ROLE_CORE && b->gw != NULL) {
		c->reported = true;
		gw_on_broker_connected(b->gw, c->id, 0, brk_now_ms(b));
	}
	if (c->role == ROLE_CUSTODY)
		brk_custody_connected(c, (flags & 0x01) != 0);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct conn *c = obj;
	int err = errno;
	(void)mosq;
	brk_conn_down(c, rc, err, rc == 0 ? "disconnected" : NULL);
}


/* ---------------------------------------------------------------- i/o */

/*
 * Hold a duplicate of a closing connection's socket. libmosquitto closes
 * its descriptor as soon as the DISCONNECT is written; the duplicate keeps
 * the socket open so that we see the broker close it. The watch moves to
 * the duplicate first: an epoll registration lives as long as the socket,
 * not the descriptor, so one left on libmosquitto's descriptor would
 * outlive it, out of reach of EPOLL_CTL_DEL.
 */
static void conn_hold(struct conn *c, int fd)
{
	gw_watch_stop(c->b->loop, &c->watch);
	c->hold_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (c->hold_fd < 0)
		gw_log(GW_LOG_DEBUG, "broker %s %u (%s): dup: %s; not waiting for the broker to close",
		       brk_role_name(c), c->id, c->client_id, strerror(errno));
}

/*
 * Keep the epoll registration equal to libmosquitto's socket and wishes:
 * after every call that may have opened, closed or queued anything.
 */
void brk_conn_sync(struct conn *c)
{
	struct gw_loop *loop = c->b->loop;
	int lib = brk_conn_live(c) ? mosquitto_socket(c->mosq) : -1;
	int fd = -1;
	unsigned events = GW_LOOP_READ;
	if (c->closed && lib >= 0 && c->hold_fd < 0)
		conn_hold(c, lib);
	if (c->state == C_LINGER) {
		fd = c->hold_fd;
	} else if (lib >= 0) {
		fd = c->hold_fd >= 0 ? c->hold_fd : lib;
		if (mosquitto_want_write(c->mosq))
			events |= GW_LOOP_WRITE;
	}
	if (fd < 0) {
		gw_watch_stop(loop, &c->watch);
		return;
	}
	if (c->watch.fd == fd && gw_watch_update(loop, &c->watch, events) == 0)
		return;
	if (gw_watch_start(loop, &c->watch, fd, events) != 0)
		gw_log(GW_LOG_ERR, "broker %s %u: epoll_ctl: %s", brk_role_name(c), c->id, strerror(errno));
}

static void conn_io(void *arg, unsigned revents)
{
	struct conn *c = arg;
	int rc;
	if (c->state == C_LINGER) {
		brk_linger_read(c);
		return;
	}
	if ((revents & GW_LOOP_READ) && brk_conn_live(c)) {
		rc = mosquitto_loop_read(c->mosq, 1);
		if (rc > 0)
			brk_conn_failed(c, rc, errno);
	}
	if ((revents & GW_LOOP_WRITE) && brk_conn_live(c) && c->watch.fd >= 0) {
		rc = mosquitto_loop_write(c->mosq, 1);
		if (rc > 0)
			brk_conn_failed(c, rc, errno);
	}
	brk_conn_sync(c);
}

/*
 * Start a connection attempt. Returns 0, or -1 when it failed at once
 * (libmosquitto tries the TCP connect, the TLS handshake and the first
 * write right away, so a refusal by a local broker fails here) with
 * last_error and last_errno set; the caller decides whether that is
 * reported or retried.
 */
static int conn_start(struct conn *c)
{
	struct gw_broker *b = c->b;
	/* libmosquitto closes the old socket itself; its number may come back at once. */
	gw_watch_stop(b->loop, &c->watch);
	brk_set_state(c, C_CONNECTING);
	c->told = false;
	note_clear(&c->lib_note);
	brk_log_follow(c, true);
	errno = 0;
	brk_nopair_begin();
	int rc = c->tried ? mosquitto_reconnect_async(c->mosq)
	                  : mosquitto_connect_bind_async(c->mosq, b->host, b->port, c->keepalive_s,
	                                                 NULL);
	brk_nopair_end();
	c->tried = true;
	if (rc != MOSQ_ERR_SUCCESS) {
		c->last_error = rc;
		c->last_errno = errno;
		return -1;
	}
	brk_arm(c, c->closed ? CLOSE_TIMEOUT_MS : CONNECT_TIMEOUT_MS);
	brk_conn_sync(c);
	return 0;
}

/*
 * Start c if it is first in line for its client id; else it waits (1).
 * Returns 0 started, 1 waiting, -1 failed at once (as conn_start).
 */
int brk_conn_begin(struct conn *c)
{
	if (!brk_queue_first(c)) {
		brk_set_state(c, C_WAITING);
		brk_arm(c, CONNECT_TIMEOUT_MS);
		return 1;
	}
	return conn_start(c);
}

static void conn_timer(void *arg, uint64_t now)
{
	struct conn *c = arg;
	(void)now;
	switch (c->state) {
	case C_WAITING:
		if (brk_queue_first(c)) {
			if (conn_start(c) != 0)
				brk_conn_down(c, c->last_error, c->last_errno, NULL);
		} else if (c->closed) {
			gw_log(GW_LOG_DEBUG, "broker %s %u (%s): closed before its turn came; dropped",
			       brk_role_name(c), c->id, c->client_id);
			brk_conn_kill(c);
		} else {
			brk_conn_down(c, MOSQ_ERR_TIMEOUT, 0,
			          "an earlier connection with this client id did not close in time");
		}
		break;
	case C_IDLE:
		if (brk_conn_begin(c) < 0)
			brk_conn_down(c, c->last_error, c->last_errno, NULL);
		break;
	case C_CONNECTING:
		if (c->closed) {
			gw_log(GW_LOG_DEBUG, "broker %s %u (%s): closed, and no CONNACK in time; dropped",
			       brk_role_name(c), c->id, c->client_id);
			brk_conn_kill(c);
		} else if (c->fail_later) {
			brk_conn_down(c, c->last_error, c->last_errno, NULL);
		} else {
			brk_conn_down(c, MOSQ_ERR_TIMEOUT, 0, "no CONNACK in time");
		}
		break;
	case C_CLOSING:
		gw_log(GW_LOG_DEBUG, "broker %s %u (%s): DISCONNECT not sent in time; dropped",
		       brk_role_name(c), c->id, c->client_id);
		brk_conn_kill(c);
		break;
	case C_LINGER:
		gw_log(GW_LOG_DEBUG, "broker %s %u (%s): the broker did not close the socket in time",
		       brk_role_name(c), c->id, c->client_id);
		brk_conn_kill(c);
		break;
	case C_UP:
	case C_DEAD:
		break;
	}
}

void brk_misc_tick(void *arg, uint64_t now)
{
	struct gw_broker *b = arg;
	for (struct conn *c = b->all, *next; c != NULL; c = next) {
		next = c->next;
		if (!brk_conn_live(c) || c->fail_later)
			continue;
		int rc = mosquitto_loop_misc(c->mosq);
		if (rc > 0 && rc != MOSQ_ERR_NO_CONN)
			brk_conn_failed(c, rc, errno);
		brk_conn_sync(c);
	}
	if (gw_timer_arm(b->loop, &b->misc, now + MISC_INTERVAL_MS) != 0)
		gw_log(GW_LOG_ERR, "broker: out of memory arming a timer");
}

void brk_conn_destroy(struct conn *c)
{
	struct gw_broker *b = c->b;
	gw_watch_stop(b->loop, &c->watch);
	gw_timer_disarm(b->loop, &c->timer);
	brk_table_remove(b, c);
	brk_queue_leave(b, c);
	if (c->hold_fd >= 0)
		close(c->hold_fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		b->all = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->state == C_UP)
		b->count_up--;
	if (b->own == c)
		b->own = NULL;
	mosquitto_destroy(c->mosq);
	note_clear(&c->tls_note);
	note_clear(&c->lib_note);
	free(c->client_id);
	free(c);
	b->count--;
}

void brk_reap_tick(void *arg, uint64_t now)
{
	struct gw_broker *b = arg;
	(void)now;
	while (b->dead != NULL) {
		struct conn *c = b->dead;
		b->dead = c->dead_next;
		brk_conn_destroy(c);
	}
}

/* ---------------------------------------------------------------- open */

/* An encrypted key file would make libmosquitto prompt on the terminal. */
static int no_key_password(char *buf, int size, int rwflag, void *userdata)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)userdata;
	return 0;
}

/*
 * libmosquitto 2.0 has no asynchronous connect that takes CONNECT
 * properties; mosquitto_connect_bind_v5() stores them before it checks its
 * arguments, and every later (re)connect sends the stored ones. A port of -1
 * stops it there, before any socket is opened. Without this an MQTT 5
 * session ends with its connection (session expiry 0), which is not what a
 * client asking for CleanSession=0 means.
 */
static int keep_session_v5(struct conn *c)
{
	mosquitto_property *props = NULL;
	if (mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, UINT32_MAX) !=
	    MOSQ_ERR_SUCCESS)
		return -1;
	brk_nopair_begin();
	int rc = mosquitto_connect_bind_v5(c->mosq, c->b->host, -1, c->keepalive_s, NULL, props);
	brk_nopair_end();
	mosquitto_property_free_all(&props);
	return rc == MOSQ_ERR_INVAL ? 0 : -1;
}

struct conn *brk_conn_new(struct gw_broker *b, uint32_t id, enum role role,
                             const char *client_id, bool clean, uint16_t keepalive)
{
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL || (c->client_id = strdup(client_id)) == NULL) {
		free(c);
		gw_log(GW_LOG_ERR, "broker: out of memory");
		return NULL;
	}
	c->b = b;
	c->id = id;
	c->role = role;
	c->state = C_IDLE;
	c->hold_fd = -1;
	/* libmosquitto refuses keep-alives of 1-4 s. */
	c->keepalive_s = keepalive > 0 && keepalive < 5 ? 5 : keepalive;
	c->backoff_ms = b->cfg.reconnect_min_s * 1000u;
	gw_watch_init(&c->watch, conn_io, c);
	gw_timer_init(&c->timer, conn_timer, c);
	errno = 0;
	brk_nopair_begin();
	c->mosq = mosquitto_new(client_id, clean, c);
	brk_nopair_end();
	if (c->mosq == NULL) {
		gw_log(GW_LOG_WARN, "broker %s %u (%s): mosquitto_new: %s", brk_role_name(c), id, client_id,
		       errno == EINVAL ? "client id refused (not UTF-8?)" : strerror(errno));
		free(c->client_id);
		free(c);
		return NULL;
	}
	c->next = b->all;
	if (b->all != NULL)
		b->all->prev = c;
	b->all = c;
	b->count++;

	struct mosquitto *m = c->mosq;
	const struct gw_broker_config *cfg = &b->cfg;
	int rc = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, b->protocol);
	/*
	 * Nagle's algorithm held small publishes back for the broker's delayed
	 * ACK: 5.4 ms at the 99th percentile of QoS 0 latency, 0.2 ms without.
	 * The bridge writes whole packets, so there is nothing for it to merge.
	 */
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	if (rc == MOSQ_ERR_SUCCESS && cfg->username != NULL)
		rc = mosquitto_username_pw_set(m, cfg->username, cfg->password);
	if (rc == MOSQ_ERR_SUCCESS && b->tls) {
		rc = mosquitto_tls_set(m, cfg->cafile, cfg->capath, cfg->certfile, cfg->keyfile,
		                       no_key_password);
		if (rc == MOSQ_ERR_SUCCESS && cfg->tls_insecure)
			rc = mosquitto_tls_insecure_set(m, true);
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		gw_log(GW_LOG_ERR, "broker %s %u (%s): setting up: %s", brk_role_name(c), id, client_id,
		       brk_mosq_error(rc));
		brk_conn_destroy(c);
		return NULL;
	}
	if (b->protocol == MQTT_PROTOCOL_V5 && !clean && keep_session_v5(c) != 0)
		gw_log(GW_LOG_WARN, "broker %s %u (%s): could not ask for a lasting session",
		       brk_role_name(c), id, client_id);
	mosquitto_connect_with_flags_callback_set(m, on_connect);
	mosquitto_disconnect_callback_set(m, on_disconnect);
	mosquitto_publish_callback_set(m, brk_on_publish);
	mosquitto_subscribe_callback_set(m, brk_on_subscribe);
	mosquitto_unsubscribe_callback_set(m, brk_on_unsubscribe);
	mosquitto_message_callback_set(m, brk_on_message);
	brk_log_follow(c, false);
	return c;
}

