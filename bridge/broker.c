/*
 * broker.c - the broker adapter over libmosquitto, in the daemon's loop.
 */
#include "bridge/broker.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "bridge/log.h"

/* libmosquitto wants mosquitto_loop_misc() about once a second (keep-alive). */
#define MISC_INTERVAL_MS 1000u
/* A TCP connect or CONNACK that takes longer is given up and retried. */
#define CONNECT_TIMEOUT_MS 30000u
/* A clean DISCONNECT that cannot be written in this time is dropped. */
#define CLOSE_TIMEOUT_MS 5000u
/* MQTT 5, 3.14.2.1: "Disconnect with Will Message". */
#define REASON_DISCONNECT_WITH_WILL 0x04
/* Topics up to this size are made NUL-terminated on the stack. */
#define TOPIC_STACK 256u

enum role {
	ROLE_CORE, /* the core's: events are reported to it */
	ROLE_OWN,  /* the daemon's own, for the statistics */
};

enum cstate {
	C_IDLE,       /* no socket: waiting for the back-off timer */
	C_CONNECTING, /* connect issued, CONNACK awaited */
	C_UP,         /* CONNACK accepted */
	C_CLOSING,    /* DISCONNECT queued, waiting for it to leave */
	C_DEAD,       /* waiting to be destroyed outside any callback */
};

struct conn {
	struct gw_broker *b;
	struct mosquitto *mosq;
	uint32_t id;
	enum role role;
	enum cstate state;
	bool closed;      /* closed by its owner: report nothing more */
	bool reported;    /* the core knows how the first connect ended */
	bool in_table;
	bool lib_warned;  /* libmosquitto's own warning was logged once */
	bool quiet;       /* inside a call from the core: no reports back into it */
	uint16_t keepalive_s;
	uint32_t backoff_ms;
	int last_error;
	char why[128];
	char *client_id;
	struct gw_watch watch;
	struct gw_timer timer; /* back-off, connect timeout or close timeout, by state */
	struct conn *hnext;    /* hash chain by id */
	struct conn *prev, *next;
	struct conn *dead_next;
};

struct gw_broker {
	struct gw_loop *loop;
	struct gw *gw;

	char *host;
	int port;
	int protocol;
	bool tls;
	struct gw_broker_config cfg; /* strings point into the daemon's configuration */

	struct conn **buckets;
	size_t nbuckets, nconns;
	struct conn *all;
	struct conn *dead;
	struct conn *own;
	size_t count, count_up;

	struct gw_timer misc;
	struct gw_timer reap;
	uint32_t rng;
};

static void conn_sync(struct conn *c);

/* ---------------------------------------------------------------- table */

static size_t bucket_of(const struct gw_broker *b, uint32_t id)
{
	return (size_t)((id * 2654435761u) & (uint32_t)(b->nbuckets - 1));
}

static struct conn *conn_find(const struct gw_broker *b, uint32_t id)
{
	for (struct conn *c = b->buckets[bucket_of(b, id)]; c != NULL; c = c->hnext) {
		if (c->id == id)
			return c;
	}
	return NULL;
}

static int table_insert(struct gw_broker *b, struct conn *c)
{
	if (b->nconns + 1 > b->nbuckets) {
		size_t n = b->nbuckets * 2;
		struct conn **nb = calloc(n, sizeof *nb);
		if (nb == NULL)
			return -1;
		struct conn **old = b->buckets;
		size_t oldn = b->nbuckets;
		b->buckets = nb;
		b->nbuckets = n;
		for (size_t i = 0; i < oldn; i++) {
			for (struct conn *e = old[i], *next; e != NULL; e = next) {
				next = e->hnext;
				size_t k = bucket_of(b, e->id);
				e->hnext = nb[k];
				nb[k] = e;
			}
		}
		free(old);
	}
	size_t k = bucket_of(b, c->id);
	c->hnext = b->buckets[k];
	b->buckets[k] = c;
	c->in_table = true;
	b->nconns++;
	return 0;
}

static void table_remove(struct gw_broker *b, struct conn *c)
{
	if (!c->in_table)
		return;
	for (struct conn **p = &b->buckets[bucket_of(b, c->id)]; *p != NULL; p = &(*p)->hnext) {
		if (*p == c) {
			*p = c->hnext;
			break;
		}
	}
	c->in_table = false;
	b->nconns--;
}

/* ---------------------------------------------------------------- states */

static uint64_t now_ms(const struct gw_broker *b)
{
	return gw_loop_now(b->loop);
}

static const char *role_name(const struct conn *c)
{
	return c->role == ROLE_OWN ? "own" : "conn";
}

static void set_state(struct conn *c, enum cstate s)
{
	if (c->state == C_UP && s != C_UP)
		c->b->count_up--;
	else if (c->state != C_UP && s == C_UP)
		c->b->count_up++;
	c->state = s;
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

/* Queue c for destruction from the loop, where no libmosquitto call is on the stack. */
static void conn_kill(struct conn *c)
{
	struct gw_broker *b = c->b;
	if (c->state == C_DEAD)
		return;
	set_state(c, C_DEAD);
	gw_watch_stop(b->loop, &c->watch);
	gw_timer_disarm(b->loop, &c->timer);
	c->dead_next = b->dead;
	b->dead = c;
	if (gw_timer_arm(b->loop, &b->reap, now_ms(b)) != 0)
		gw_log(GW_LOG_ERR, "broker: out of memory arming a timer");
}

static void schedule_retry(struct conn *c)
{
	struct gw_broker *b = c->b;
	uint64_t delay = (uint64_t)c->backoff_ms * (800u + next_random(b) % 400u) / 1000u;
	uint32_t max_ms = b->cfg.reconnect_max_s * 1000u;
	c->backoff_ms = c->backoff_ms >= max_ms / 2 ? max_ms : c->backoff_ms * 2;
	gw_log(GW_LOG_DEBUG, "broker %s %u (%s): reconnecting in %llu ms", role_name(c), c->id,
	       c->client_id, (unsigned long long)delay);
	if (gw_timer_arm(b->loop, &c->timer, now_ms(b) + delay) != 0)
		gw_log(GW_LOG_ERR, "broker: out of memory arming a timer");
}

/*
 * The socket is gone or the attempt failed: tell the core what it needs to
 * know and try again later, unless the owner closed c meanwhile.
 */
static void conn_down(struct conn *c, int rc, const char *why)
{
	struct gw_broker *b = c->b;
	gw_watch_stop(b->loop, &c->watch);
	if (c->closed) {
		conn_kill(c);
		return;
	}
	enum cstate was = c->state;
	if (was != C_CONNECTING && was != C_UP)
		return;
	set_state(c, C_IDLE);
	gw_timer_disarm(b->loop, &c->timer);
	/* A broker outage drops every client's connection: their lines are info. */
	bool shared = c->role == ROLE_OWN || c->id == GW_CONN_AGGREGATE;
	if (was == C_UP) {
		gw_log(shared ? GW_LOG_WARN : GW_LOG_INFO, "broker %s %u (%s): connection lost: %s",
		       role_name(c), c->id, c->client_id, why);
		if (c->role == ROLE_CORE && b->gw != NULL)
			gw_on_broker_disconnected(b->gw, c->id, now_ms(b));
	} else {
		gw_log(c->reported ? GW_LOG_DEBUG : GW_LOG_WARN, "broker %s %u (%s): connect failed: %s",
		       role_name(c), c->id, c->client_id, why);
		if (c->role == ROLE_OWN)
			c->reported = true;
		if (c->role == ROLE_CORE && !c->reported && b->gw != NULL) {
			c->reported = true;
			gw_on_broker_connected(b->gw, c->id, rc != 0 ? rc : -1, now_ms(b));
		}
	}
	/* The core may have closed c from inside the report. */
	if (!c->closed)
		schedule_retry(c);
}

static const char *mosq_error(int rc)
{
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

/* A libmosquitto call failed without its disconnect callback (e.g. TLS). */
static void conn_failed(struct conn *c, int rc)
{
	if (c->state == C_CLOSING) {
		conn_kill(c);
		return;
	}
	if (c->state == C_CONNECTING || c->state == C_UP)
		conn_down(c, rc, mosq_error(rc));
}

/* ---------------------------------------------------------------- callbacks */

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct conn *c = obj;
	struct gw_broker *b = c->b;
	(void)mosq;
	if (c->closed || c->state != C_CONNECTING)
		return;
	if (rc != 0) {
		gw_log(GW_LOG_WARN, "broker %s %u (%s): refused: %s", role_name(c), c->id, c->client_id,
		       b->protocol == MQTT_PROTOCOL_V5 ? mosquitto_reason_string(rc)
		                                       : mosquitto_connack_string(rc));
		if (c->role == ROLE_CORE && !c->reported && b->gw != NULL) {
			c->reported = true;
			gw_on_broker_connected(b->gw, c->id, rc, now_ms(b));
		}
		/* libmosquitto closes the socket next and calls on_disconnect. */
		return;
	}
	set_state(c, C_UP);
	gw_timer_disarm(b->loop, &c->timer);
	c->backoff_ms = b->cfg.reconnect_min_s * 1000u;
	gw_log(c->role == ROLE_OWN || c->id == GW_CONN_AGGREGATE ? GW_LOG_INFO : GW_LOG_DEBUG,
	       "broker %s %u (%s): connected to %s:%d", role_name(c), c->id, c->client_id, b->host,
	       b->port);
	if (c->role == ROLE_CORE && b->gw != NULL) {
		c->reported = true;
		gw_on_broker_connected(b->gw, c->id, 0, now_ms(b));
	}
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct conn *c = obj;
	(void)mosq;
	conn_down(c, rc, rc == 0 ? "disconnected" : mosq_error(rc));
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	struct conn *c = obj;
	(void)mosq;
	if (!c->closed && !c->quiet && c->role == ROLE_CORE && c->b->gw != NULL)
		gw_on_broker_acked(c->b->gw, c->id, (uint32_t)mid, now_ms(c->b));
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int count, const int *granted)
{
	struct conn *c = obj;
	(void)mosq;
	if (!c->closed && c->role == ROLE_CORE && c->b->gw != NULL)
		gw_on_broker_subacked(c->b->gw, c->id, (uint32_t)mid, count > 0 ? granted[0] : 0x80,
		                      now_ms(c->b));
}

static void on_unsubscribe(struct mosquitto *mosq, void *obj, int mid)
{
	struct conn *c = obj;
	(void)mosq;
	if (!c->closed && c->role == ROLE_CORE && c->b->gw != NULL)
		gw_on_broker_unsubacked(c->b->gw, c->id, (uint32_t)mid, now_ms(c->b));
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
	struct conn *c = obj;
	(void)mosq;
	if (c->closed || c->role != ROLE_CORE || c->b->gw == NULL || m->payloadlen < 0)
		return;
	gw_on_broker_message(c->b->gw, c->id, m->topic, strlen(m->topic), m->payload,
	                     (size_t)m->payloadlen, m->qos, m->retain, now_ms(c->b));
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *line)
{
	struct conn *c = obj;
	(void)mosq;
	if (!(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)))
		return;
	/* The detail (e.g. why TLS failed) matters once; every retry repeats it. */
	gw_log(c->lib_warned ? GW_LOG_DEBUG : GW_LOG_WARN, "libmosquitto (%s): %s", c->client_id, line);
	c->lib_warned = true;
}

/* ---------------------------------------------------------------- i/o */

/*
 * Keep the epoll registration equal to libmosquitto's socket and wishes:
 * after every call that may have opened, closed or queued anything.
 */
static void conn_sync(struct conn *c)
{
	struct gw_loop *loop = c->b->loop;
	int fd = -1;
	if (c->state == C_CONNECTING || c->state == C_UP || c->state == C_CLOSING)
		fd = mosquitto_socket(c->mosq);
	if (fd < 0) {
		gw_watch_stop(loop, &c->watch);
		return;
	}
	unsigned events = GW_LOOP_READ | (mosquitto_want_write(c->mosq) ? GW_LOOP_WRITE : 0u);
	if (c->watch.fd == fd && gw_watch_update(loop, &c->watch, events) == 0)
		return;
	if (gw_watch_start(loop, &c->watch, fd, events) != 0)
		gw_log(GW_LOG_ERR, "broker %s %u: epoll_ctl: %s", role_name(c), c->id, strerror(errno));
}

static void conn_io(void *arg, unsigned revents)
{
	struct conn *c = arg;
	int rc;
	if (revents & GW_LOOP_READ) {
		rc = mosquitto_loop_read(c->mosq, 1);
		if (rc > 0)
			conn_failed(c, rc);
	}
	if ((revents & GW_LOOP_WRITE) && c->watch.fd >= 0) {
		rc = mosquitto_loop_write(c->mosq, 1);
		if (rc > 0)
			conn_failed(c, rc);
	}
	conn_sync(c);
}

/*
 * Start a connection attempt. Returns 0, or -1 when it failed at once
 * (libmosquitto tries the TCP connect and the first write right away, so a
 * refused connect to a local broker fails here); the caller decides whether
 * that is reported or retried.
 */
static int conn_start(struct conn *c, bool again)
{
	struct gw_broker *b = c->b;
	/* libmosquitto closes the old socket itself; its number may come back at once. */
	gw_watch_stop(b->loop, &c->watch);
	set_state(c, C_CONNECTING);
	errno = 0;
	int rc = again ? mosquitto_reconnect_async(c->mosq)
	               : mosquitto_connect_bind_async(c->mosq, b->host, b->port, c->keepalive_s, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		c->last_error = rc;
		snprintf(c->why, sizeof c->why, "%s", mosq_error(rc));
		return -1;
	}
	if (gw_timer_arm(b->loop, &c->timer, now_ms(b) + CONNECT_TIMEOUT_MS) != 0)
		gw_log(GW_LOG_ERR, "broker: out of memory arming a timer");
	conn_sync(c);
	return 0;
}

static void conn_timer(void *arg, uint64_t now)
{
	struct conn *c = arg;
	(void)now;
	switch (c->state) {
	case C_IDLE:
		if (conn_start(c, true) != 0)
			conn_down(c, c->last_error, c->why);
		break;
	case C_CONNECTING:
		conn_down(c, MOSQ_ERR_TIMEOUT, "no CONNACK in time");
		break;
	case C_CLOSING:
		gw_log(GW_LOG_DEBUG, "broker %s %u: DISCONNECT not sent in time; dropped", role_name(c),
		       c->id);
		conn_kill(c);
		break;
	case C_UP:
	case C_DEAD:
		break;
	}
}

static void misc_tick(void *arg, uint64_t now)
{
	struct gw_broker *b = arg;
	for (struct conn *c = b->all, *next; c != NULL; c = next) {
		next = c->next;
		if (c->state != C_CONNECTING && c->state != C_UP && c->state != C_CLOSING)
			continue;
		int rc = mosquitto_loop_misc(c->mosq);
		if (rc > 0 && rc != MOSQ_ERR_NO_CONN)
			conn_failed(c, rc);
		conn_sync(c);
	}
	if (gw_timer_arm(b->loop, &b->misc, now + MISC_INTERVAL_MS) != 0)
		gw_log(GW_LOG_ERR, "broker: out of memory arming a timer");
}

static void conn_destroy(struct conn *c)
{
	struct gw_broker *b = c->b;
	gw_watch_stop(b->loop, &c->watch);
	gw_timer_disarm(b->loop, &c->timer);
	table_remove(b, c);
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
	free(c->client_id);
	free(c);
	b->count--;
}

static void reap_tick(void *arg, uint64_t now)
{
	struct gw_broker *b = arg;
	(void)now;
	while (b->dead != NULL) {
		struct conn *c = b->dead;
		b->dead = c->dead_next;
		conn_destroy(c);
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
	int rc = mosquitto_connect_bind_v5(c->mosq, c->b->host, -1, c->keepalive_s, NULL, props);
	mosquitto_property_free_all(&props);
	return rc == MOSQ_ERR_INVAL ? 0 : -1;
}

static struct conn *conn_new(struct gw_broker *b, uint32_t id, enum role role,
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
	/* libmosquitto refuses keep-alives of 1-4 s. */
	c->keepalive_s = keepalive > 0 && keepalive < 5 ? 5 : keepalive;
	c->backoff_ms = b->cfg.reconnect_min_s * 1000u;
	gw_watch_init(&c->watch, conn_io, c);
	gw_timer_init(&c->timer, conn_timer, c);
	errno = 0;
	c->mosq = mosquitto_new(client_id, clean, c);
	if (c->mosq == NULL) {
		gw_log(GW_LOG_WARN, "broker %s %u (%s): mosquitto_new: %s", role_name(c), id, client_id,
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
	if (rc == MOSQ_ERR_SUCCESS && cfg->username != NULL)
		rc = mosquitto_username_pw_set(m, cfg->username, cfg->password);
	if (rc == MOSQ_ERR_SUCCESS && b->tls) {
		rc = mosquitto_tls_set(m, cfg->cafile, cfg->capath, cfg->certfile, cfg->keyfile,
		                       no_key_password);
		if (rc == MOSQ_ERR_SUCCESS && cfg->tls_insecure)
			rc = mosquitto_tls_insecure_set(m, true);
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		gw_log(GW_LOG_ERR, "broker %s %u (%s): setting up: %s", role_name(c), id, client_id,
		       mosq_error(rc));
		conn_destroy(c);
		return NULL;
	}
	if (b->protocol == MQTT_PROTOCOL_V5 && !clean && keep_session_v5(c) != 0)
		gw_log(GW_LOG_WARN, "broker %s %u (%s): could not ask for a lasting session",
		       role_name(c), id, client_id);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_disconnect_callback_set(m, on_disconnect);
	mosquitto_publish_callback_set(m, on_publish);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_unsubscribe_callback_set(m, on_unsubscribe);
	mosquitto_message_callback_set(m, on_message);
	mosquitto_log_callback_set(m, on_log);
	return c;
}

int gw_broker_open(struct gw_broker *b, uint32_t id, const struct gw_broker_session *s)
{
	if (conn_find(b, id) != NULL) {
		gw_log(GW_LOG_ERR, "broker conn %u: opened twice", id);
		return -1;
	}
	bool shared = id == GW_CONN_AGGREGATE;
	const char *client_id = shared && b->cfg.client_id != NULL ? b->cfg.client_id : s->client_id;
	uint16_t keepalive = shared ? b->cfg.keepalive_s : s->keep_alive_s;
	struct conn *c = conn_new(b, id, ROLE_CORE, client_id, s->clean_session, keepalive);
	if (c == NULL)
		return -1;
	if (s->has_will) {
		if (s->will_len > INT_MAX) {
			conn_destroy(c);
			return -1;
		}
		int rc = mosquitto_will_set(c->mosq, s->will_topic, (int)s->will_len, s->will_payload,
		                            s->will_qos, s->will_retain);
		if (rc != MOSQ_ERR_SUCCESS) {
			gw_log(GW_LOG_WARN, "broker conn %u (%s): Will refused: %s", id, client_id,
			       mosq_error(rc));
			conn_destroy(c);
			return -1;
		}
	}
	if (table_insert(b, c) != 0) {
		gw_log(GW_LOG_ERR, "broker: out of memory");
		conn_destroy(c);
		return -1;
	}
	gw_log(GW_LOG_DEBUG, "broker conn %u (%s): connecting (clean %d, keep-alive %u s, Will %d)", id,
	       client_id, s->clean_session, c->keepalive_s, s->has_will);
	/* A failure at once is the return value, not a report: the core is on the stack. */
	if (conn_start(c, false) != 0) {
		gw_log(GW_LOG_WARN, "broker conn %u (%s): connect failed: %s", id, client_id, c->why);
		conn_destroy(c);
		return -1;
	}
	return 0;
}

int gw_broker_own_open(struct gw_broker *b, const char *client_id)
{
	if (b->own != NULL)
		return 0;
	struct conn *c = conn_new(b, 0, ROLE_OWN, client_id, true, b->cfg.keepalive_s);
	if (c == NULL)
		return -1;
	b->own = c;
	if (conn_start(c, false) != 0)
		conn_down(c, c->last_error, c->why);
	return 0;
}

/* ---------------------------------------------------------------- close */

/* End the connection without DISCONNECT: the broker publishes the Will. */
static void conn_drop(struct conn *c)
{
	int fd = mosquitto_socket(c->mosq);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	conn_kill(c);
}

static void conn_disconnect(struct conn *c, int reason)
{
	struct gw_broker *b = c->b;
	set_state(c, C_CLOSING);
	int rc = b->protocol == MQTT_PROTOCOL_V5 ? mosquitto_disconnect_v5(c->mosq, reason, NULL)
	                                        : mosquitto_disconnect(c->mosq);
	if (rc != MOSQ_ERR_SUCCESS) {
		conn_kill(c);
		return;
	}
	/* Writing the DISCONNECT may have ended the connection already. */
	if (c->state == C_CLOSING) {
		if (gw_timer_arm(b->loop, &c->timer, now_ms(b) + CLOSE_TIMEOUT_MS) != 0)
			conn_kill(c);
		else
			conn_sync(c);
	}
}

static void conn_close(struct conn *c, bool fire_will)
{
	struct gw_broker *b = c->b;
	if (c->closed)
		return;
	c->closed = true;
	table_remove(b, c);
	if (b->own == c)
		b->own = NULL;
	gw_timer_disarm(b->loop, &c->timer);
	switch (c->state) {
	case C_IDLE:
		conn_kill(c);
		break;
	case C_CONNECTING:
	case C_UP:
		if (!fire_will)
			conn_disconnect(c, 0);
		else if (b->protocol == MQTT_PROTOCOL_V5 && c->state == C_UP)
			conn_disconnect(c, REASON_DISCONNECT_WITH_WILL);
		else
			conn_drop(c);
		break;
	case C_CLOSING:
	case C_DEAD:
		break;
	}
}

void gw_broker_close(struct gw_broker *b, uint32_t id, bool fire_will)
{
	struct conn *c = conn_find(b, id);
	if (c == NULL)
		return;
	gw_log(GW_LOG_DEBUG, "broker conn %u (%s): closing%s", id, c->client_id,
	       fire_will ? " with its Will" : "");
	conn_close(c, fire_will);
}

void gw_broker_close_all(struct gw_broker *b)
{
	for (struct conn *c = b->all, *next; c != NULL; c = next) {
		next = c->next;
		conn_close(c, false);
	}
}

/* ---------------------------------------------------------------- requests */

/* topic as a C string: on the stack when small. NULL when it holds a NUL. */
static char *c_string(const char *s, size_t len, char *stack, size_t cap)
{
	if (memchr(s, '\0', len) != NULL)
		return NULL;
	char *out = len < cap ? stack : malloc(len + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

static struct conn *conn_up(const struct gw_broker *b, uint32_t id)
{
	struct conn *c = conn_find(b, id);
	return c != NULL && c->state == C_UP ? c : NULL;
}

static int publish(struct conn *c, const char *topic, size_t topic_len, const void *payload,
                   size_t len, int qos, bool retain, uint32_t *token)
{
	char stack[TOPIC_STACK];
	if (len > INT_MAX)
		return -1;
	char *t = c_string(topic, topic_len, stack, sizeof stack);
	if (t == NULL)
		return -1;
	int mid = 0;
	/* A QoS 0 publish is "acknowledged" as soon as it is written, inside this call. */
	c->quiet = true;
	int rc = mosquitto_publish(c->mosq, &mid, t, (int)len, payload, qos, retain);
	c->quiet = false;
	if (t != stack)
		free(t);
	conn_sync(c);
	if (rc != MOSQ_ERR_SUCCESS) {
		gw_log(GW_LOG_DEBUG, "broker %s %u: publish: %s", role_name(c), c->id, mosq_error(rc));
		return -1;
	}
	if (token != NULL)
		*token = (uint32_t)mid;
	return 0;
}

int gw_broker_publish(struct gw_broker *b, uint32_t id, const char *topic, size_t topic_len,
                      const uint8_t *payload, size_t len, int qos, bool retain, uint32_t *token)
{
	struct conn *c = conn_up(b, id);
	if (c == NULL)
		return -1;
	return publish(c, topic, topic_len, payload, len, qos, retain, token);
}

int gw_broker_own_publish(struct gw_broker *b, const char *topic, const void *payload, size_t len,
                          bool retain)
{
	if (b->own == NULL || b->own->state != C_UP)
		return -1;
	return publish(b->own, topic, strlen(topic), payload, len, 0, retain, NULL);
}

int gw_broker_subscribe(struct gw_broker *b, uint32_t id, const char *filter, size_t len, int qos,
                        uint32_t *token)
{
	char stack[TOPIC_STACK];
	struct conn *c = conn_up(b, id);
	if (c == NULL)
		return -1;
	char *f = c_string(filter, len, stack, sizeof stack);
	if (f == NULL)
		return -1;
	int mid = 0;
	int rc = mosquitto_subscribe(c->mosq, &mid, f, qos);
	if (f != stack)
		free(f);
	conn_sync(c);
	if (rc != MOSQ_ERR_SUCCESS) {
		gw_log(GW_LOG_DEBUG, "broker conn %u: subscribe: %s", id, mosq_error(rc));
		return -1;
	}
	*token = (uint32_t)mid;
	return 0;
}

int gw_broker_unsubscribe(struct gw_broker *b, uint32_t id, const char *filter, size_t len,
                          uint32_t *token)
{
	char stack[TOPIC_STACK];
	struct conn *c = conn_up(b, id);
	if (c == NULL)
		return -1;
	char *f = c_string(filter, len, stack, sizeof stack);
	if (f == NULL)
		return -1;
	int mid = 0;
	int rc = mosquitto_unsubscribe(c->mosq, &mid, f);
	if (f != stack)
		free(f);
	conn_sync(c);
	if (rc != MOSQ_ERR_SUCCESS) {
		gw_log(GW_LOG_DEBUG, "broker conn %u: unsubscribe: %s", id, mosq_error(rc));
		return -1;
	}
	*token = (uint32_t)mid;
	return 0;
}

/* ---------------------------------------------------------------- life */

/*
 * A name is looked up here, once: libmosquitto would look it up again on
 * every (re)connect, blocking the loop while DNS is slow or down.
 */
static char *numeric_host(const char *host, char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL;
	char buf[NI_MAXHOST];
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(host, NULL, &hints, &res) == 0) {
		freeaddrinfo(res);
		return strdup(host);
	}
	hints.ai_flags = AI_ADDRCONFIG;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "broker host \"%s\": %s", host, gai_strerror(rc));
		return NULL;
	}
	rc = getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof buf, NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);
	if (rc != 0) {
		snprintf(err, errlen, "broker host \"%s\": %s", host, gai_strerror(rc));
		return NULL;
	}
	gw_log(GW_LOG_INFO, "broker host %s is %s (looked up once, at start)", host, buf);
	return strdup(buf);
}

static int check_readable(const char *what, const char *path, char *err, size_t errlen)
{
	if (path == NULL || access(path, R_OK) == 0)
		return 0;
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

struct gw_broker *gw_broker_new(struct gw_loop *loop, const struct gw_broker_config *cfg,
                                char *err, size_t errlen)
{
	if (check_readable("cafile", cfg->cafile, err, errlen) != 0 ||
	    check_readable("capath", cfg->capath, err, errlen) != 0 ||
	    check_readable("certfile", cfg->certfile, err, errlen) != 0 ||
	    check_readable("keyfile", cfg->keyfile, err, errlen) != 0)
		return NULL;
	struct gw_broker *b = calloc(1, sizeof *b);
	if (b == NULL) {
		snprintf(err, errlen, "broker: out of memory");
		return NULL;
	}
	b->loop = loop;
	b->cfg = *cfg;
	if (b->cfg.reconnect_min_s == 0)
		b->cfg.reconnect_min_s = 1;
	if (b->cfg.reconnect_max_s < b->cfg.reconnect_min_s)
		b->cfg.reconnect_max_s = b->cfg.reconnect_min_s;
	b->tls = cfg->cafile != NULL || cfg->capath != NULL;
	b->port = cfg->port != 0 ? cfg->port : (b->tls ? 8883 : 1883);
	b->protocol = cfg->mqtt_version == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311;
	b->rng = (uint32_t)getpid() ^ (uint32_t)gw_clock_ms() ^ 0x9E3779B9u;
	if (b->rng == 0)
		b->rng = 1;
	b->nbuckets = 64;
	b->buckets = calloc(b->nbuckets, sizeof *b->buckets);
	b->host = numeric_host(cfg->host != NULL ? cfg->host : "127.0.0.1", err, errlen);
	if (b->buckets == NULL || b->host == NULL) {
		if (b->host != NULL || b->buckets == NULL)
			snprintf(err, errlen, "broker: out of memory");
		free(b->buckets);
		free(b->host);
		free(b);
		return NULL;
	}
	mosquitto_lib_init();
	gw_timer_init(&b->misc, misc_tick, b);
	gw_timer_init(&b->reap, reap_tick, b);
	if (gw_timer_arm(loop, &b->misc, gw_loop_now(loop) + MISC_INTERVAL_MS) != 0) {
		snprintf(err, errlen, "broker: out of memory");
		gw_broker_free(b);
		return NULL;
	}
	int major, minor, revision;
	mosquitto_lib_version(&major, &minor, &revision);
	gw_log(GW_LOG_INFO, "broker %s:%d, MQTT %s%s, libmosquitto %d.%d.%d", b->host, b->port,
	       b->protocol == MQTT_PROTOCOL_V5 ? "5" : "3.1.1", b->tls ? " over TLS" : "", major,
	       minor, revision);
	return b;
}

void gw_broker_attach(struct gw_broker *b, struct gw *gw)
{
	b->gw = gw;
}

void gw_broker_free(struct gw_broker *b)
{
	if (b == NULL)
		return;
	b->dead = NULL;
	while (b->all != NULL)
		conn_destroy(b->all);
	gw_timer_disarm(b->loop, &b->misc);
	gw_timer_disarm(b->loop, &b->reap);
	free(b->buckets);
	free(b->host);
	free(b);
	mosquitto_lib_cleanup();
}

size_t gw_broker_count(const struct gw_broker *b)
{
	return b->count;
}

size_t gw_broker_count_up(const struct gw_broker *b)
{
	return b->count_up;
}
