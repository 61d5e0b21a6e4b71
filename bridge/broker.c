/*
 * broker.c - the broker adapter over libmosquitto, in the daemon's loop.
 *
 * One client id, one MQTT connection on the wire at a time. The core opens
 * a client's connection again to change its Will (gw.h). Were the new
 * CONNECT handled by the broker before the old connection's DISCONNECT (two
 * TCP connections: nothing orders them), mosquitto would take the session
 * over and publish the old connection's Will. So connections with the same
 * client id queue up, oldest first: only the first is connected; the next
 * starts once the first is gone, that is, once the broker has closed its
 * socket, which it does only after it has handled the DISCONNECT.
 */
#include "bridge/broker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
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
/* A closed connection's CONNACK, or its DISCONNECT's writing, waited for this long. */
#define CLOSE_TIMEOUT_MS 5000u
/* After the DISCONNECT, the broker's closing of the socket is waited for this long. */
#define LINGER_TIMEOUT_MS 2000u
/* Connections of one client id, the one on the wire included; more are refused. */
#define QUEUE_MAX 16u
/* One log line at warn per this interval when a queue is full; the rest at debug. */
#define QUEUE_FULL_LOG_MS 60000u
/* MQTT 5, 3.14.2.1: "Disconnect with Will Message". */
#define REASON_DISCONNECT_WITH_WILL 0x04
/* Topics up to this size are made NUL-terminated on the stack. */
#define TOPIC_STACK 256u
/* A failure's description: the error, TLS's reason, libmosquitto's words. */
#define WHY_MAX 512u

enum role {
	ROLE_CORE, /* the core's: events are reported to it */
	ROLE_OWN,  /* the daemon's own, for the statistics */
};

enum cstate {
	C_WAITING,    /* an older connection with the same client id is still there */
	C_IDLE,       /* no socket: waiting for the back-off timer */
	C_CONNECTING, /* connect issued, CONNACK awaited */
	C_UP,         /* CONNACK accepted */
	C_CLOSING,    /* DISCONNECT queued, waiting for it to leave */
	C_LINGER,     /* libmosquitto is done: waiting for the broker to close the socket */
	C_DEAD,       /* waiting to be destroyed outside any callback */
};

struct conn {
	struct gw_broker *b;
	struct mosquitto *mosq;
	uint32_t id;
	enum role role;
	enum cstate state;
	bool closed;       /* closed by its owner: report nothing more */
	bool close_will;   /* ... who asked for the Will to be published */
	bool reported;     /* the core knows how the first connect ended */
	bool tried;        /* libmosquitto has the host: reconnect from now on */
	bool told;         /* this attempt's failure has been logged */
	bool fail_later;   /* the first connect failed inside gw_broker_open(): handle from the loop */
	bool warned;       /* a failure was logged at warn since the last success ... */
	uint32_t warned_cause; /* ... and this was its cause (conn_warn()) */
	bool in_table, in_queue;
	bool quiet;        /* inside a call from the core: no reports back into it */
	uint16_t keepalive_s;
	uint32_t backoff_ms;
	int last_error, last_errno;
	int hold_fd;       /* the socket, held while closing: see conn_hold() */
	char *client_id;
	char *tls_note;    /* libmosquitto's last "OpenSSL Error" line since the last success */
	char *lib_note;    /* its last other error or warning of this attempt */
	struct gw_watch watch;
	struct gw_timer timer; /* back-off, connect, close or linger deadline, by state */
	struct conn *hnext;    /* hash chain by id */
	struct conn *qprev, *qnext; /* the same client id's queue, oldest first */
	struct conn *qhnext;   /* hash chain of the queues' first connections, by client id */
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
	bool stopping;               /* gw_broker_close_all(): queued connections are dropped */
	struct gw_broker_config cfg; /* strings point into the daemon's configuration */

	struct conn **buckets;
	size_t nbuckets, nconns;
	struct conn **qbuckets;      /* queues by client id */
	size_t nqbuckets, nqueues;
	struct conn *all;
	struct conn *dead;
	struct conn *own;
	size_t count, count_up;
	uint64_t queue_full_logged;  /* when a full queue was last logged at warn; 0: never */

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

/* ---------------------------------------------------------------- queues by client id */

/* FNV-1a: client ids are short, and any spread will do. */
static uint32_t text_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* The link that holds (or would hold) the first connection of client_id's queue. */
static struct conn **queue_link(const struct gw_broker *b, const char *client_id)
{
	struct conn **p = &b->qbuckets[text_hash(client_id) & (uint32_t)(b->nqbuckets - 1)];
	while (*p != NULL && strcmp((*p)->client_id, client_id) != 0)
		p = &(*p)->qhnext;
	return p;
}

static size_t queue_length(const struct gw_broker *b, const char *client_id)
{
	size_t n = 0;
	for (const struct conn *c = *queue_link(b, client_id); c != NULL; c = c->qnext)
		n++;
	return n;
}

static int queue_grow(struct gw_broker *b)
{
	size_t n = b->nqbuckets * 2;
	struct conn **nb = calloc(n, sizeof *nb);
	if (nb == NULL)
		return -1;
	struct conn **old = b->qbuckets;
	size_t oldn = b->nqbuckets;
	b->qbuckets = nb;
	b->nqbuckets = n;
	for (size_t i = 0; i < oldn; i++) {
		for (struct conn *e = old[i], *next; e != NULL; e = next) {
			next = e->qhnext;
			struct conn **p = &nb[text_hash(e->client_id) & (uint32_t)(n - 1)];
			e->qhnext = *p;
			*p = e;
		}
	}
	free(old);
	return 0;
}

/* Put c last in its client id's queue. 0, or -1 out of memory. */
static int queue_join(struct gw_broker *b, struct conn *c)
{
	if (b->nqueues + 1 > b->nqbuckets && queue_grow(b) != 0)
		return -1;
	struct conn **p = queue_link(b, c->client_id);
	if (*p == NULL) {
		c->qhnext = NULL;
		*p = c;
		b->nqueues++;
	} else {
		struct conn *last = *p;
		while (last->qnext != NULL)
			last = last->qnext;
		last->qnext = c;
		c->qprev = last;
	}
	c->in_queue = true;
	return 0;
}

/* First in line: nothing else with its client id is on the wire. */
static bool queue_first(const struct conn *c)
{
	return !c->in_queue || c->qprev == NULL;
}

static void queue_leave(struct gw_broker *b, struct conn *c)
{
	if (!c->in_queue)
		return;
	struct conn *next = c->qnext;
	if (c->qprev != NULL) {
		c->qprev->qnext = next;
		if (next != NULL)
			next->qprev = c->qprev;
	} else {
		struct conn **p = queue_link(b, c->client_id);
		if (next != NULL) {
			next->qprev = NULL;
			next->qhnext = c->qhnext;
			*p = next;
			/* Its turn: started from the loop, never inside a caller's call. */
			if (next->state == C_WAITING &&
			    gw_timer_arm(b->loop, &next->timer, gw_loop_now(b->loop)) != 0)
				gw_log(GW_LOG_ERR, "broker: out of memory arming a timer");
		} else {
			*p = c->qhnext;
			b->nqueues--;
		}
	}
	c->qprev = c->qnext = c->qhnext = NULL;
	c->in_queue = false;
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

/* The states in which libmosquitto owns a socket (or is making one). */
static bool conn_live(const struct conn *c)
{
	return c->state == C_CONNECTING || c->state == C_UP || c->state == C_CLOSING;
}

static void set_state(struct conn *c, enum cstate s)
{
	if (c->state == C_UP && s != C_UP)
		c->b->count_up--;
	else if (c->state != C_UP && s == C_UP)
		c->b->count_up++;
	c->state = s;
}

static void arm(struct conn *c, uint64_t delay_ms)
{
	if (gw_timer_arm(c->b->loop, &c->timer, now_ms(c->b) + delay_ms) != 0)
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
static void conn_kill(struct conn *c)
{
	struct gw_broker *b = c->b;
	if (c->state == C_DEAD)
		return;
	set_state(c, C_DEAD);
	gw_watch_stop(b->loop, &c->watch);
	gw_timer_disarm(b->loop, &c->timer);
	release_socket(c);
	queue_leave(b, c);
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
	arm(c, delay);
}

/* ---------------------------------------------------------------- what went wrong */

static void conn_warn(struct conn *c, uint32_t cause, const char *fmt, ...) GW_PRINTF(3, 4);

/*
 * Log a failure of c: at warn the first time, then at debug for as long as
 * the same cause comes again (every retry repeats it), until another cause
 * or a successful connect. One mechanism for refusals, TLS and the rest.
 * cause: what makes two failures the same (0: the line itself).
 */
static void conn_warn(struct conn *c, uint32_t cause, const char *fmt, ...)
{
	char line[WHY_MAX + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (cause == 0)
		cause = text_hash(line);
	bool again = c->warned && c->warned_cause == cause;
	gw_log(again ? GW_LOG_DEBUG : GW_LOG_WARN, "broker %s %u (%s): %s", role_name(c), c->id,
	       c->client_id, line);
	c->warned = true;
	c->warned_cause = cause;
	c->told = true;
}

/* libmosquitto's code in words; errno must be the call's. */
static const char *mosq_error(int rc)
{
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

static const char *connack_text(const struct gw_broker *b, int rc)
{
	return b->protocol == MQTT_PROTOCOL_V5 ? mosquitto_reason_string(rc)
	                                       : mosquitto_connack_string(rc);
}

/*
 * A failed attempt in words, into out; returns what identifies its cause
 * for conn_warn(). With TLS, the codes libmosquitto gives for a failed
 * handshake, or for a broker that hangs up right after it (under TLS 1.3 a
 * broker refuses our certificate only once we think the handshake is
 * done), say nothing of TLS: "Protocol error", "The connection was lost".
 * Those become a sentence that does, with the last reason OpenSSL gave on
 * this connection: when the broker's alert comes while libmosquitto is
 * still writing, it logs none for this attempt. rc, err: libmosquitto's
 * code and errno.
 */
static uint32_t describe(const struct conn *c, int rc, int err, bool connecting, char *out,
                         size_t cap)
{
	const char *text = rc == MOSQ_ERR_ERRNO ? strerror(err) : mosquitto_strerror(rc);
	bool lost = rc == MOSQ_ERR_PROTOCOL || rc == MOSQ_ERR_CONN_LOST ||
	            (rc == MOSQ_ERR_ERRNO && (err == EPROTO || err == ECONNRESET || err == EPIPE));
	bool tls = c->b->tls && (rc == MOSQ_ERR_TLS || (connecting && lost));
	size_t n;
	if (tls && rc == MOSQ_ERR_TLS)
		n = (size_t)snprintf(out, cap, "TLS %s failed", connecting ? "handshake" : "session");
	else if (tls)
		n = (size_t)snprintf(out, cap,
		                     "TLS failure: the broker ended the connection during or just after "
		                     "the handshake (%s)",
		                     text);
	else
		n = (size_t)snprintf(out, cap, "%s", text);
	const char *ssl = c->b->tls && (tls || !connecting) ? c->tls_note : NULL;
	if (ssl != NULL && n < cap)
		n += (size_t)snprintf(out + n, cap - n, "; OpenSSL: %s", ssl);
	if (c->lib_note != NULL && n < cap)
		snprintf(out + n, cap - n, "; libmosquitto: %s", c->lib_note);
	/* Retries of one TLS refusal differ in the error's words, not in OpenSSL's reason. */
	if (tls)
		return text_hash("TLS") ^ (ssl != NULL ? text_hash(ssl) : 0u) ^ 1u;
	return text_hash(out);
}

/* What the core is told for a libmosquitto error: never 0, apart from CONNACK codes. */
static int core_rc(int rc)
{
	return rc > 0 ? -rc : -MOSQ_ERR_CONN_LOST;
}

/* ---------------------------------------------------------------- ending */

static void conn_linger(struct conn *c);

/*
 * The socket is gone or the attempt failed (rc, err: libmosquitto's code
 * and errno; why, when given, says it instead). Log it, tell the core what
 * it needs to know, and try again later. A closed c only waits for the
 * broker to let go of the socket.
 */
static void conn_down(struct conn *c, int rc, int err, const char *why)
{
	struct gw_broker *b = c->b;
	if (c->closed) {
		if (conn_live(c))
			conn_linger(c);
		else if (c->state != C_LINGER)
			conn_kill(c);
		return;
	}
	enum cstate was = c->state;
	if (was != C_WAITING && was != C_CONNECTING && was != C_UP)
		return;
	/* Before the core hears of it: a new socket may take the old number. */
	gw_watch_stop(b->loop, &c->watch);
	set_state(c, C_IDLE);
	gw_timer_disarm(b->loop, &c->timer);
	c->fail_later = false;
	char text[WHY_MAX];
	uint32_t cause = 0;
	if (why == NULL)
		cause = describe(c, rc, err, was == C_CONNECTING, text, sizeof text);
	else
		snprintf(text, sizeof text, "%s", why);
	/* A broker outage drops every client's connection: their lines are info. */
	bool shared = c->role == ROLE_OWN || c->id == GW_CONN_AGGREGATE;
	if (was == C_UP) {
		gw_log(shared ? GW_LOG_WARN : GW_LOG_INFO, "broker %s %u (%s): connection lost: %s",
		       role_name(c), c->id, c->client_id, text);
		if (c->role == ROLE_CORE && b->gw != NULL)
			gw_on_broker_disconnected(b->gw, c->id, now_ms(b));
	} else {
		/* A refusal was logged with its reason by on_connect() already. */
		if (c->told)
			gw_log(GW_LOG_DEBUG, "broker %s %u (%s): connect failed: %s", role_name(c), c->id,
			       c->client_id, text);
		else
			conn_warn(c, cause, "connect failed: %s", text);
		if (c->role == ROLE_CORE && !c->reported && b->gw != NULL) {
			c->reported = true;
			gw_on_broker_connected(b->gw, c->id, core_rc(rc), now_ms(b));
		}
	}
	/* The core may have closed c from inside the report. */
	if (!c->closed)
		schedule_retry(c);
}

/* A libmosquitto call failed; its disconnect callback may not have come. */
static void conn_failed(struct conn *c, int rc, int err)
{
	if (conn_live(c))
		conn_down(c, rc, err, NULL);
}

/*
 * libmosquitto has let go of a closed connection's socket (it closes its
 * descriptor right after writing the DISCONNECT), or is to. Half-close the
 * held socket, as libmosquitto's close would have if we did not hold it,
 * and read until the broker closes it too: then it has handled what came
 * before (DISCONNECT, or the end that publishes the Will), and the client
 * id may connect again.
 */
static void conn_linger(struct conn *c)
{
	if (c->hold_fd < 0) {
		conn_kill(c);
		return;
	}
	shutdown(c->hold_fd, SHUT_WR);
	set_state(c, C_LINGER);
	arm(c, LINGER_TIMEOUT_MS);
	conn_sync(c);
}

static void linger_read(struct conn *c)
{
	char buf[1024];
	/* Bounded: a broker that keeps talking is cut off by the linger deadline. */
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(c->hold_fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		gw_log(GW_LOG_DEBUG, "broker %s %u (%s): closed by the broker", role_name(c), c->id,
		       c->client_id);
		conn_kill(c);
		return;
	}
}

static void conn_disconnect(struct conn *c, int reason)
{
	struct gw_broker *b = c->b;
	set_state(c, C_CLOSING);
	arm(c, CLOSE_TIMEOUT_MS);
	int rc = b->protocol == MQTT_PROTOCOL_V5 ? mosquitto_disconnect_v5(c->mosq, reason, NULL)
	                                        : mosquitto_disconnect(c->mosq);
	if (rc != MOSQ_ERR_SUCCESS) {
		conn_linger(c);
		return;
	}
	/* Writing the DISCONNECT may have ended the connection already. */
	if (c->state == C_CLOSING)
		conn_sync(c);
}

/*
 * End the connection without DISCONNECT, so that the broker publishes the
 * Will: half-close (conn_linger() does, on the held socket), and wait for
 * the broker to close its side.
 */
static void conn_drop(struct conn *c)
{
	int fd = mosquitto_socket(c->mosq);
	if (c->hold_fd < 0 && fd >= 0)
		shutdown(fd, SHUT_WR);
	conn_linger(c);
}

/* End a closed connection that is up, as its owner asked. */
static void conn_end(struct conn *c)
{
	if (!c->close_will)
		conn_disconnect(c, 0);
	else if (c->b->protocol == MQTT_PROTOCOL_V5)
		conn_disconnect(c, REASON_DISCONNECT_WITH_WILL);
	else
		conn_drop(c);
}

/* ---------------------------------------------------------------- callbacks */

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct conn *c = obj;
	struct gw_broker *b = c->b;
	(void)mosq;
	if (c->state != C_CONNECTING)
		return;
	if (rc != 0) {
		if (!c->closed) {
			conn_warn(c, 0, "refused: %s", connack_text(b, rc));
			if (c->role == ROLE_CORE && !c->reported && b->gw != NULL) {
				c->reported = true;
				gw_on_broker_connected(b->gw, c->id, rc, now_ms(b));
			}
		}
		/* libmosquitto closes the socket next and calls on_disconnect. */
		return;
	}
	if (c->closed) {
		/* Closed while connecting: the CONNACK is in, so the end is clean. */
		conn_end(c);
		return;
	}
	set_state(c, C_UP);
	gw_timer_disarm(b->loop, &c->timer);
	c->backoff_ms = b->cfg.reconnect_min_s * 1000u;
	c->warned = false;
	note_clear(&c->tls_note);
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
	int err = errno;
	(void)mosq;
	conn_down(c, rc, err, rc == 0 ? "disconnected" : NULL);
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

/*
 * libmosquitto's errors and warnings (why TLS failed, above all) are kept
 * for the line that reports the failure they explain, which is logged once
 * per cause: on their own they would be repeated by every retry.
 */
static void on_log(struct mosquitto *mosq, void *obj, int level, const char *line)
{
	static const char openssl[] = "OpenSSL Error[";
	struct conn *c = obj;
	(void)mosq;
	if (!(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)))
		return;
	gw_log(GW_LOG_DEBUG, "libmosquitto (%s): %s", c->client_id, line);
	char **slot = &c->lib_note;
	const char *text = line;
	if (strncmp(line, openssl, sizeof openssl - 1) == 0) {
		const char *p = strstr(line, "]: ");
		slot = &c->tls_note;
		text = p != NULL ? p + 3 : line;
	}
	char *copy = strdup(text);
	if (copy != NULL) {
		free(*slot);
		*slot = copy;
	}
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
		       role_name(c), c->id, c->client_id, strerror(errno));
}

/*
 * Keep the epoll registration equal to libmosquitto's socket and wishes:
 * after every call that may have opened, closed or queued anything.
 */
static void conn_sync(struct conn *c)
{
	struct gw_loop *loop = c->b->loop;
	int lib = conn_live(c) ? mosquitto_socket(c->mosq) : -1;
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
		gw_log(GW_LOG_ERR, "broker %s %u: epoll_ctl: %s", role_name(c), c->id, strerror(errno));
}

static void conn_io(void *arg, unsigned revents)
{
	struct conn *c = arg;
	int rc;
	if (c->state == C_LINGER) {
		linger_read(c);
		return;
	}
	if ((revents & GW_LOOP_READ) && conn_live(c)) {
		rc = mosquitto_loop_read(c->mosq, 1);
		if (rc > 0)
			conn_failed(c, rc, errno);
	}
	if ((revents & GW_LOOP_WRITE) && conn_live(c) && c->watch.fd >= 0) {
		rc = mosquitto_loop_write(c->mosq, 1);
		if (rc > 0)
			conn_failed(c, rc, errno);
	}
	conn_sync(c);
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
	set_state(c, C_CONNECTING);
	c->told = false;
	note_clear(&c->lib_note);
	errno = 0;
	int rc = c->tried ? mosquitto_reconnect_async(c->mosq)
	                  : mosquitto_connect_bind_async(c->mosq, b->host, b->port, c->keepalive_s,
	                                                 NULL);
	c->tried = true;
	if (rc != MOSQ_ERR_SUCCESS) {
		c->last_error = rc;
		c->last_errno = errno;
		return -1;
	}
	arm(c, c->closed ? CLOSE_TIMEOUT_MS : CONNECT_TIMEOUT_MS);
	conn_sync(c);
	return 0;
}

/*
 * Start c if it is first in line for its client id; else it waits (1).
 * Returns 0 started, 1 waiting, -1 failed at once (as conn_start).
 */
static int conn_begin(struct conn *c)
{
	if (!queue_first(c)) {
		set_state(c, C_WAITING);
		arm(c, CONNECT_TIMEOUT_MS);
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
		if (queue_first(c)) {
			if (conn_start(c) != 0)
				conn_down(c, c->last_error, c->last_errno, NULL);
		} else if (c->closed) {
			gw_log(GW_LOG_DEBUG, "broker %s %u (%s): closed before its turn came; dropped",
			       role_name(c), c->id, c->client_id);
			conn_kill(c);
		} else {
			conn_down(c, MOSQ_ERR_TIMEOUT, 0,
			          "an earlier connection with this client id did not close in time");
		}
		break;
	case C_IDLE:
		if (conn_begin(c) < 0)
			conn_down(c, c->last_error, c->last_errno, NULL);
		break;
	case C_CONNECTING:
		if (c->closed) {
			gw_log(GW_LOG_DEBUG, "broker %s %u (%s): closed, and no CONNACK in time; dropped",
			       role_name(c), c->id, c->client_id);
			conn_kill(c);
		} else if (c->fail_later) {
			conn_down(c, c->last_error, c->last_errno, NULL);
		} else {
			conn_down(c, MOSQ_ERR_TIMEOUT, 0, "no CONNACK in time");
		}
		break;
	case C_CLOSING:
		gw_log(GW_LOG_DEBUG, "broker %s %u (%s): DISCONNECT not sent in time; dropped",
		       role_name(c), c->id, c->client_id);
		conn_kill(c);
		break;
	case C_LINGER:
		gw_log(GW_LOG_DEBUG, "broker %s %u (%s): the broker did not close the socket in time",
		       role_name(c), c->id, c->client_id);
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
		if (!conn_live(c) || c->fail_later)
			continue;
		int rc = mosquitto_loop_misc(c->mosq);
		if (rc > 0 && rc != MOSQ_ERR_NO_CONN)
			conn_failed(c, rc, errno);
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
	queue_leave(b, c);
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
	c->hold_fd = -1;
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

/* A queue too long means a client reopening faster than the broker closes. */
static bool queue_full(struct gw_broker *b, uint32_t id, const char *client_id)
{
	size_t n = queue_length(b, client_id);
	if (n < QUEUE_MAX)
		return false;
	uint64_t now = now_ms(b);
	bool loud = b->queue_full_logged == 0 || now - b->queue_full_logged >= QUEUE_FULL_LOG_MS;
	if (loud)
		b->queue_full_logged = now;
	gw_log(loud ? GW_LOG_WARN : GW_LOG_DEBUG,
	       "broker conn %u (%s): %zu connections with this client id are still open or closing; "
	       "refused",
	       id, client_id, n);
	return true;
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
	if (queue_full(b, id, client_id))
		return -1;
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
	if (table_insert(b, c) != 0 || queue_join(b, c) != 0) {
		gw_log(GW_LOG_ERR, "broker: out of memory");
		conn_destroy(c);
		return -1;
	}
	gw_log(GW_LOG_DEBUG, "broker conn %u (%s): connecting (clean %d, keep-alive %u s, Will %d)%s",
	       id, client_id, s->clean_session, c->keepalive_s, s->has_will,
	       queue_first(c) ? "" : " once the earlier one with this client id is closed");
	int r = conn_begin(c);
	if (r >= 0)
		return 0;
	/*
	 * Failed at once. The core is on the stack: the shared connection's
	 * failure is handled from the loop like any later one (reported, then
	 * retried with back-off); a client's is the return value.
	 */
	if (shared) {
		c->fail_later = true;
		arm(c, 0);
		return 0;
	}
	char why[WHY_MAX];
	uint32_t cause = describe(c, c->last_error, c->last_errno, true, why, sizeof why);
	conn_warn(c, cause, "connect failed: %s", why);
	conn_destroy(c);
	return -1;
}

int gw_broker_own_open(struct gw_broker *b, const char *client_id)
{
	if (b->own != NULL)
		return 0;
	struct conn *c = conn_new(b, 0, ROLE_OWN, client_id, true, b->cfg.keepalive_s);
	if (c == NULL)
		return -1;
	if (queue_join(b, c) != 0) {
		gw_log(GW_LOG_ERR, "broker: out of memory");
		conn_destroy(c);
		return -1;
	}
	b->own = c;
	if (conn_begin(c) < 0)
		conn_down(c, c->last_error, c->last_errno, NULL);
	return 0;
}

/* ---------------------------------------------------------------- close */

static void conn_close(struct conn *c, bool fire_will)
{
	struct gw_broker *b = c->b;
	if (c->closed)
		return;
	c->closed = true;
	c->close_will = fire_will;
	table_remove(b, c);
	if (b->own == c)
		b->own = NULL;
	switch (c->state) {
	case C_IDLE:
		conn_kill(c);
		break;
	case C_WAITING:
		/*
		 * Still connected when its turn comes, then ended as asked: what
		 * it stands for (a clean start, a Will to publish) happens, in
		 * order. Not when the daemon stops.
		 */
		if (b->stopping)
			conn_kill(c);
		break;
	case C_CONNECTING:
		if (c->fail_later) {
			conn_kill(c);
			break;
		}
		/*
		 * A CONNECT may be on its way; ending the connection before its
		 * CONNACK would leave the broker to find a half-open session.
		 * on_connect() ends it once the CONNACK is in.
		 */
		arm(c, CLOSE_TIMEOUT_MS);
		conn_sync(c);
		break;
	case C_UP:
		conn_sync(c); /* hold the socket before libmosquitto can close it */
		conn_end(c);
		break;
	case C_CLOSING:
	case C_LINGER:
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
	b->stopping = true;
	for (struct conn *c = b->all, *next; c != NULL; c = next) {
		next = c->next;
		if (!c->closed)
			conn_close(c, false);
		else if (c->state == C_WAITING)
			conn_kill(c);
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
	b->nbuckets = b->nqbuckets = 64;
	b->buckets = calloc(b->nbuckets, sizeof *b->buckets);
	b->qbuckets = calloc(b->nqbuckets, sizeof *b->qbuckets);
	b->host = numeric_host(cfg->host != NULL ? cfg->host : "127.0.0.1", err, errlen);
	if (b->buckets == NULL || b->qbuckets == NULL || b->host == NULL) {
		if (b->host != NULL || b->buckets == NULL || b->qbuckets == NULL)
			snprintf(err, errlen, "broker: out of memory");
		free(b->buckets);
		free(b->qbuckets);
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
	free(b->qbuckets);
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

const char *gw_broker_reason(const struct gw_broker *b, int rc)
{
	if (rc == 0)
		return "accepted";
	if (rc < 0)
		return mosquitto_strerror(-rc);
	return connack_text(b, rc);
}
