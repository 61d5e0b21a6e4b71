/*
 * broker_int.h - the broker adapter's insides, shared by bridge/broker*.c
 * only: these files, and no other in the project, include <mosquitto.h>.
 *
 * The adapter in files by job:
 *   broker.c         life (new, free) and the gw_ops half: open, close,
 *                    publish, subscribe, and the reports to the core;
 *   broker_conn.c    one connection: set-up, connect, back-off, timers and
 *                    keeping the epoll registration equal to libmosquitto's
 *                    socket;
 *   broker_end.c     how a connection ends: lost, refused, closed by its
 *                    owner (DISCONNECT, or the end that publishes the Will),
 *                    and the wait for the broker to close the socket;
 *   broker_custody.c the custody drainer's own persistent connection
 *                    (bridge/custody.h), its publishes with MQTT 5
 *                    properties, the PUBREC and PUBCOMP read from
 *                    libmosquitto's log and the lone PUBRELs;
 *   broker_order.c   the connections by id, and the per-client-id queue
 *                    that keeps two connections with one client id from
 *                    overlapping on the wire;
 *   broker_reason.c  what went wrong, in words: CONNACK codes,
 *                    libmosquitto's errors, TLS, and its log lines.
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
#ifndef SNBRIDGE_BRIDGE_BROKER_INT_H
#define SNBRIDGE_BRIDGE_BROKER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "bridge/broker.h"
#include "bridge/log.h"
#include "bridge/loop.h"

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
	ROLE_CORE,    /* the core's: events are reported to it */
	ROLE_OWN,     /* the daemon's own, for the statistics */
	ROLE_CUSTODY, /* the custody drainer's (broker_custody.c): events go to it */
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
	uint32_t warned_cause; /* ... and this was its cause (brk_conn_warn()) */
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
	struct brk_custody *custody; /* broker_custody.c, or NULL */
	size_t count, count_up;
	uint64_t queue_full_logged;  /* when a full queue was last logged at warn; 0: never */

	struct gw_timer misc;
	struct gw_timer reap;
	uint32_t rng;
};

/* ---------------------------------------------------------------- broker_conn.c */

/* The loop's time, in ms. */
uint64_t brk_now_ms(const struct gw_broker *b);
/* "own" or "conn", for log lines. */
const char *brk_role_name(const struct conn *c);
/* The states in which libmosquitto owns a socket (or is making one). */
bool brk_conn_live(const struct conn *c);
/* Change c's state, keeping the count of connections up. */
void brk_set_state(struct conn *c, enum cstate s);
/* Arm c's timer delay_ms from now. */
void brk_arm(struct conn *c, uint64_t delay_ms);
/* Queue c for destruction from the loop; its client id is free from here. */
void brk_conn_kill(struct conn *c);
/* Arm the next reconnect, with back-off and jitter. */
void brk_schedule_retry(struct conn *c);
/* Keep the epoll registration equal to libmosquitto's socket and wishes. */
void brk_conn_sync(struct conn *c);
/* Start c if first in line for its client id: 0 started, 1 waiting, -1 failed at once. */
int brk_conn_begin(struct conn *c);
/* The loop's timers: mosquitto_loop_misc() for all, and destruction of killed ones. */
void brk_misc_tick(void *arg, uint64_t now);
void brk_reap_tick(void *arg, uint64_t now);
/* Free c now (never inside a libmosquitto callback of c). */
void brk_conn_destroy(struct conn *c);
/* A set-up connection, not yet in the table or a queue; NULL on failure (logged). */
struct conn *brk_conn_new(struct gw_broker *b, uint32_t id, enum role role,
                          const char *client_id, bool clean, uint16_t keepalive);

/* ---------------------------------------------------------------- broker_end.c */

/* The socket is gone or the attempt failed: log, report, retry (or finish closing). */
void brk_conn_down(struct conn *c, int rc, int err, const char *why);
/* A libmosquitto call failed; its disconnect callback may not have come. */
void brk_conn_failed(struct conn *c, int rc, int err);
/* Wait for the broker to close a closed connection's socket. */
void brk_conn_linger(struct conn *c);
/* The held socket is readable while lingering. */
void brk_linger_read(struct conn *c);
/* End a closed connection that is up, as its owner asked. */
void brk_conn_end(struct conn *c);
/* Close c for its owner (fire_will: so that the broker publishes the Will). */
void brk_conn_close(struct conn *c, bool fire_will);
/*
 * Open a connection of the bridge's own (role: its shared one, the custody
 * drainer's), clean session, recorded in *slot before it starts. 0 or -1.
 */
int brk_bridge_conn_open(struct gw_broker *b, enum role role, const char *client_id,
                         struct conn **slot);

/* ---------------------------------------------------------------- broker_order.c */

/* The open connection with id, or NULL. */
struct conn *brk_conn_find(const struct gw_broker *b, uint32_t id);
/* Add c to / remove c from the table by id. Insert: 0, or -1 out of memory. */
int brk_table_insert(struct gw_broker *b, struct conn *c);
void brk_table_remove(struct gw_broker *b, struct conn *c);
/* FNV-1a of s. */
uint32_t brk_text_hash(const char *s);
/* Put c last in its client id's queue. 0, or -1 out of memory. */
int brk_queue_join(struct gw_broker *b, struct conn *c);
/* First in line: nothing else with its client id is on the wire. */
bool brk_queue_first(const struct conn *c);
/* Take c out of its queue; the next in line is started from the loop. */
void brk_queue_leave(struct gw_broker *b, struct conn *c);
/* True (and logged) when client_id's queue is full. */
bool brk_queue_full(struct gw_broker *b, uint32_t id, const char *client_id);

/* ---------------------------------------------------------------- broker_reason.c */

/* Log a failure of c: at warn once per cause, then at debug. cause 0: the line's. */
void brk_conn_warn(struct conn *c, uint32_t cause, const char *fmt, ...) GW_PRINTF(3, 4);
/* libmosquitto's code in words; errno must be the call's. */
const char *brk_mosq_error(int rc);
/* A CONNACK return code (3.1.1) or reason code (5) in words. */
const char *brk_connack_text(const struct gw_broker *b, int rc);
/* A failed attempt in words, into out; returns what identifies its cause. */
uint32_t brk_describe(const struct conn *c, int rc, int err, bool connecting, char *out,
                      size_t cap);
/* What the core is told for a libmosquitto error. */
int brk_core_rc(int rc);
/*
 * Follow libmosquitto's log on c only while it is worth its cost (see
 * broker_reason.c): connecting, TLS, the daemon at debug, or the custody
 * connection (its PUBRECs and PUBCOMPs).
 */
void brk_log_follow(struct conn *c, bool connecting);

/* broker_nopair.c: socketpair() fails between begin and end (libmosquitto's
 * unused wake-up pair, see there); nested calls count. */
void brk_nopair_begin(void);
void brk_nopair_end(void);
bool brk_nopair_active(void);

/* ---------------------------------------------------------------- broker_custody.c */

/* A custody connection got its CONNACK (with the session-present flag) /
 * was lost after it was up. */
void brk_custody_connected(struct conn *c, bool session_present);
void brk_custody_lost(struct conn *c);
/* One of libmosquitto's debug lines on a custody connection. */
void brk_custody_log(struct conn *c, const char *line);
/* What one of libmosquitto's log lines says of the connection client_id. */
enum brk_line {
	BRK_LINE_OTHER = 0, /* nothing we read */
	BRK_LINE_PUBREC,    /* *mid: the PUBREC's packet id (1-65535); *rc 0 */
	BRK_LINE_PUBCOMP,   /* *mid, and *rc: its MQTT 5 reason code (0 with 3.1.1) */
};
enum brk_line brk_custody_parse(const char *line, const char *client_id, uint16_t *mid, int *rc);
/* gw_broker_free(): forget the custody state (its connections are gone). */
void brk_custody_free(struct gw_broker *b);

/* ---------------------------------------------------------------- broker.c */

/* libmosquitto's callbacks that report to the core. */
void brk_on_publish(struct mosquitto *mosq, void *obj, int mid);
void brk_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int count, const int *granted);
void brk_on_unsubscribe(struct mosquitto *mosq, void *obj, int mid);
void brk_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m);

#endif
