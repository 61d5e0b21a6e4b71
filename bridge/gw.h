/*
 * gw.h - the gateway core: MQTT-SN 1.2 sessions with no I/O of their own.
 *
 * The core takes events (datagrams from clients, broker events, the passing
 * of time) with the time as an argument, and acts through a table of
 * callbacks supplied by whoever drives it: the daemon (sockets and
 * libmosquitto) or the simulator (an in-memory broker). It never reads the
 * clock, sleeps, or touches a socket or file. Times are milliseconds on a
 * monotonic clock chosen by the caller.
 *
 * Contract between the core (bridge/gw*.c) and the daemon (bridge/main.c
 * and friends), written by the lead engineer before either existed: the
 * core's author extends it (new fields, new functions) but does not rename
 * or remove anything here, because the daemon is written against it.
 */
#ifndef SNBRIDGE_BRIDGE_GW_H
#define SNBRIDGE_BRIDGE_GW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- addresses */

/*
 * An opaque transport address. The daemon puts a sockaddr_in or
 * sockaddr_in6 in data (len its size) and the listener index in link; the
 * core only compares addresses (link, len, memcmp) and never reads them.
 */
struct gw_addr {
	uint8_t link;
	uint8_t len;
	uint8_t data[28];
};

/* ---------------------------------------------------------------- config */

enum gw_broker_mode {
	GW_MODE_TRANSPARENT = 0, /* one broker connection per MQTT-SN client */
	GW_MODE_AGGREGATING = 1, /* one broker connection for all clients */
};

/* Every tunable of the core; gw_config_defaults() fills in safe values. */
struct gw_config {
	uint8_t gw_id;                 /* GWINFO / ADVERTISE gateway id */
	enum gw_broker_mode mode;
	bool allow_qos_m1;             /* accept QoS -1 publishes (6.8) */
	uint32_t advertise_interval_s; /* 0: no ADVERTISE (6.1) */

	uint32_t max_clients;          /* sessions of any state */
	uint32_t max_topics;           /* registered topic ids per client */
	uint32_t max_sleep_buffer;     /* messages buffered per sleeping client */
	uint32_t max_pending;          /* downlink messages queued per awake client */
	uint32_t max_msg_size;         /* largest MQTT-SN message accepted, octets */

	uint32_t retry_initial_ms;     /* retry interval before any RTT sample */
	uint32_t retry_min_ms;         /* floor of the adaptive retry interval */
	uint32_t retry_max_ms;         /* ceiling, also of the back-off */
	uint32_t retry_count;          /* retries before a client is lost */

	/* additions by the core's author */
	uint32_t connect_timeout_ms;   /* Will exchange plus broker connect, then CONNACK congestion */
	uint32_t max_inflight;         /* client QoS 1/2 PUBLISHes awaiting the broker or PUBREL */
	uint32_t max_subscriptions;    /* subscriptions per client */
	uint32_t log_interval_ms;      /* one log line per cause and client per interval */
	char shared_client_id[64];     /* MQTT client id of GW_CONN_AGGREGATE; "": sn-bridge-<gw_id> */

	/* custody (README "Custody"): a QoS 1/2 PUBLISH from a client is
	 * acknowledged once gw_ops.custody_put has it on disk, whatever the
	 * broker's state; the daemon forwards it. false: PUBACK only after
	 * the broker's ack. Needs the three custody_* callbacks. */
	bool custody;
	/* custody of the downlink and of persistent sessions (README
	 * "Custody"; needs the session_* and down_* callbacks): a message for
	 * a station with a persistent session waits at most down_ttl_s
	 * (0: no limit) */
	uint32_t down_ttl_s;
};

/*
 * Defaults for high-latency links: retries in seconds, not milliseconds
 * (Table 30 gives T_RETRY 10-15 s and N_RETRY 3-5 for a LAN; a GEO round
 * trip is 0.6-2 s, so: initial 10 s, adaptive between 2 s and 120 s, 5
 * retries). gw_new() clamps values that make no sense (max_clients to
 * GW_MAX_CLIENTS, max_topics to 0xFFFE, retry_min_ms above retry_max_ms).
 * cfg: filled in completely. Spec: Table 30.
 */
void gw_config_defaults(struct gw_config *cfg);

/* The largest max_clients: conn numbers carry the session slot in 20 bits. */
#define GW_MAX_CLIENTS 0xFFFFEu

/* ---------------------------------------------------------------- callbacks */

enum gw_log_level {
	GW_LOG_ERR = 0,
	GW_LOG_WARN = 1,
	GW_LOG_INFO = 2,
	GW_LOG_DEBUG = 3,
};

/* What the daemon needs to open one MQTT connection toward the broker. */
struct gw_broker_session {
	const char *client_id;      /* NUL-terminated */
	bool clean_session;
	uint16_t keep_alive_s;
	bool has_will;
	const char *will_topic;     /* NUL-terminated, when has_will */
	const uint8_t *will_payload;
	size_t will_len;
	int will_qos;
	bool will_retain;
};

/* The connection number of the aggregating mode's single connection. */
#define GW_CONN_AGGREGATE 0u

/*
 * Connection numbers and the broker contract, as the core uses them:
 *
 * - GW_CONN_AGGREGATE (0) is the shared connection. In aggregating mode it
 *   carries every client. In transparent mode it is opened only when
 *   allow_qos_m1 is set and carries only QoS -1 publishes (6.8), which have
 *   no session of their own. The core opens it from the first gw_tick()
 *   (client id "sn-bridge-<gw_id>", clean session, no Will) and never closes
 *   it before gw_shutdown(); the daemon keeps it connected (reconnecting
 *   with back-off) and reports each transition.
 * - Any other conn belongs to one client (transparent mode): its low 20 bits
 *   are the session slot plus one, its high 12 bits a generation, so a
 *   number is not reused soon. It is opened on CONNECT with the client's id,
 *   CleanSession and Will. While the core waits for it to come up, a
 *   gw_on_broker_connected(rc != 0), gw_on_broker_disconnected() or
 *   connect_timeout_ms makes the core answer CONNACK congestion and call
 *   broker_close(). Once up, a drop is reported with
 *   gw_on_broker_disconnected() and the daemon keeps reconnecting (same
 *   client id and CleanSession) until broker_close(); meanwhile the client's
 *   new requests get congestion codes. After a reconnect of a connection
 *   opened with CleanSession, the core subscribes again (the broker forgot).
 * - A Will cannot change on an open MQTT connection, so WILLTOPICUPD,
 *   WILLMSGUPD and a CONNECT that changes the Will make the core close the
 *   connection (fire_will false) and open a new one (CleanSession false).
 * - Tokens are the daemon's (e.g. libmosquitto's mid) and need only be
 *   unique per conn among requests in flight. A QoS 1/2 publish the daemon
 *   took (broker_publish returned 0) belongs to the daemon until it reports
 *   gw_on_broker_acked, also across a drop of its connection: the daemon
 *   keeps it and finishes it after reconnecting, under the same token
 *   (libmosquitto 2.0 resends the PUBLISH with DUP, or the PUBREL of QoS 2,
 *   and keeps the mid; it does so after a CleanSession reconnect as well,
 *   where the broker may see a QoS 1 message twice, which QoS 1 allows). So
 *   gw_on_broker_disconnected does not answer the client: the publish stays
 *   pending, a retransmission of its msg id is not published again, and the
 *   ack after the reconnect brings the one PUBACK (or PUBREC). Only
 *   broker_close() ends it unacknowledged (then PUBACK congestion to a
 *   client still listening); a later gw_on_broker_acked for it is ignored,
 *   as is any token the core does not know (e.g. QoS 0 publishes). New
 *   publishes while the connection is down get PUBACK congestion. The
 *   daemon must not lose a publish it took while conn is open (it would stay
 *   pending, bounded by max_inflight, until broker_close). Subscribes are
 *   not carried over a drop: SUBACK congestion.
 * - After broker_close(conn) the core ignores events for conn.
 * - A message on a client's own connection is for that client: the broker
 *   sends only what the MQTT session is subscribed to, and a session kept
 *   across a bridge restart (CleanSession false) holds subscriptions the new
 *   core never saw. The core delivers it (REGISTER first, 6.5) at the
 *   message's QoS, unless it matches no subscription the core knows and a
 *   filter the client unsubscribed from that the broker has not confirmed
 *   yet. Every UNSUBSCRIBE goes to the broker, known filter or not; while
 *   the connection is down it is answered at once and sent when the
 *   connection is up again (not after a reconnect with CleanSession).
 */

/* The broker-side keep-alive the core asks for (the client's own
 * keep-alive is supervised by the core, 6.11). */
#define GW_BROKER_KEEPALIVE_S 60u

/* A stored downlink message handed back to the core (gw_ops.down_next). */
struct gw_down_msg {
	const char *topic;
	size_t topic_len;
	const uint8_t *payload;
	size_t len;
	int qos;
	bool retain;
	uint64_t seq;
	uint64_t ttl_left_ms;       /* time left to live; 0: no limit */
};

/*
 * Callbacks through which the core acts. Each takes the ctx given to
 * gw_new(). The broker calls return 0 on success or a negative value when
 * the request could not even be queued (broker not connected, out of
 * memory); the core then answers the client with a congestion code. A
 * callback must not call back into the core (gw_on_*, gw_tick): the core is
 * on the stack; results are reported later, from the loop.
 */
struct gw_ops {
	/* A datagram to a client; to == NULL: the advertise destination. */
	void (*send)(void *ctx, const struct gw_addr *to, const uint8_t *buf, size_t len);
	/* Open a broker connection; answer later with gw_on_broker_connected. */
	int (*broker_open)(void *ctx, uint32_t conn, const struct gw_broker_session *s);
	/* Close it: fire_will drops the connection so the broker sends the Will. */
	void (*broker_close)(void *ctx, uint32_t conn, bool fire_will);
	/* Publish; for qos > 0 answer later with gw_on_broker_acked(*token). */
	int (*broker_publish)(void *ctx, uint32_t conn, const char *topic, size_t topic_len,
	                      const uint8_t *payload, size_t len, int qos, bool retain,
	                      uint32_t *token);
	/* Subscribe; answer later with gw_on_broker_subacked(*token). */
	int (*broker_subscribe)(void *ctx, uint32_t conn, const char *filter, size_t len, int qos,
	                        uint32_t *token);
	/* Unsubscribe; answer later with gw_on_broker_unsubacked(*token). */
	int (*broker_unsubscribe)(void *ctx, uint32_t conn, const char *filter, size_t len,
	                          uint32_t *token);
	/* One finished log line, without a newline. */
	void (*log)(void *ctx, enum gw_log_level level, const char *line);

	/*
	 * Custody (gw_config.custody), see "Custody" below. custody_put
	 * stores a client's QoS 1/2 PUBLISH (msg_id: the client's, kept for
	 * QoS 2) durably and returns 0, or GW_CUSTODY_FULL / GW_CUSTODY_IO
	 * when it did not store it. custody_held: the client's QoS 2 msg_id
	 * is stored and its PUBREL not seen. custody_release: the PUBREL,
	 * durably; 0 (also when nothing was held) or < 0 when it could not
	 * be recorded.
	 */
	int (*custody_put)(void *ctx, const char *client_id, const char *topic, size_t topic_len,
	                   const uint8_t *payload, size_t len, int qos, bool retain,
	                   uint16_t msg_id);
	bool (*custody_held)(void *ctx, const char *client_id, uint16_t msg_id);
	int (*custody_release)(void *ctx, const char *client_id, uint16_t msg_id);

	/*
	 * Custody of persistent sessions and their downlink (gw_config.custody;
	 * "Custody" below). session_save stores the session's blob (the latest
	 * wins; gw_session_restore() reads it back); session_drop forgets the
	 * session and every message stored for it. down_put stores a message
	 * for the station (ttl_s: 0 none) and sets *seq (> 0, rising per
	 * station), or returns GW_CUSTODY_FULL / GW_CUSTODY_IO; down_next
	 * fills *out with the station's oldest stored message above seq
	 * `after` (views valid until the next callback) and returns 1, or 0
	 * when there is none; down_done removes message seq.
	 */
	void (*session_save)(void *ctx, const char *client_id, const uint8_t *blob, size_t len);
	void (*session_drop)(void *ctx, const char *client_id);
	int (*down_put)(void *ctx, const char *client_id, const char *topic, size_t topic_len,
	                const uint8_t *payload, size_t len, int qos, bool retain, uint32_t ttl_s,
	                uint64_t *seq);
	int (*down_next)(void *ctx, const char *client_id, uint64_t after,
	                 struct gw_down_msg *out);
	void (*down_done)(void *ctx, const char *client_id, uint64_t seq);
};

/*
 * Custody: what custody_put returns when it did not store the message.
 * The core answers both with PUBACK congestion (5.3.10) and counts them
 * (drop_store_full, drop_store_io). In custody mode a QoS 1 PUBLISH gets
 * PUBACK and a QoS 2 PUBREC as soon as custody_put returned 0; a QoS 2
 * PUBLISH with DUP whose msg id custody_held() knows is a retransmission
 * (also after a restart: the hold is on disk) and gets PUBREC again,
 * stored once; PUBREL is custody_release() and then PUBCOMP. The broker
 * connection's state does not matter to these, and a CONNECT is accepted
 * without waiting for it. QoS 0 and -1 go to the broker as before.
 */
#define GW_CUSTODY_FULL (-1)
#define GW_CUSTODY_IO (-2)

/*
 * Custody of persistent sessions (the session_* and down_* callbacks; all
 * five or none). A station that CONNECTs with CleanSession false has its
 * session saved: client id, state (active, asleep, disconnected, lost),
 * keep-alive and sleep duration, address, Will, topic ids and whether the
 * station knows them, granted subscriptions, the next msg id, and the
 * QoS 2 message in flight to it with its msg id and stage. It is saved
 * before anything that depends on it is sent to the station (a CONNACK, a
 * REGACK, a SUBACK, a PUBREL), else at the end of the event; a clean
 * CONNECT, an eviction or the end of a clean session drops it.
 *
 * Every QoS 1/2 message for such a station goes through down_put before
 * it is queued, whatever the station's state, and down_done once the
 * station acknowledged it (or it expired, or was refused); a message the
 * store refuses is dropped, counted in drop_down_store and logged (the
 * broker has already been answered). At most max_pending (awake) or
 * max_sleep_buffer (asleep) messages are held in memory; the rest wait
 * on disk in order and are read back (down_next) as the queue empties,
 * so the store's per-station limit is the real bound. QoS 0 messages stay
 * in memory unless older messages wait on disk (then they are stored
 * too, to keep the order). A message older than down_ttl_s is dropped
 * before it is sent (drop_expired).
 *
 * After a restart the daemon hands each saved blob to gw_session_restore()
 * before the first gw_tick(); the messages come back through down_next.
 */

/*
 * Rebuild a persistent session from a blob session_save wrote (before the
 * first gw_tick()). An active session is active again with its keep-alive
 * counted from now; a sleeping one sleeps from now; in transparent mode
 * both get their broker connection reopened (CleanSession false) at the
 * first gw_tick(). Returns 0, or -1 when the blob is damaged or from an
 * unknown version (nothing is kept), -2 when max_clients is reached or
 * memory is short.
 */
struct gw;
int gw_session_restore(struct gw *gw, const uint8_t *blob, size_t len, uint64_t now_ms);

/* ---------------------------------------------------------------- lifecycle */

struct gw;

/* A new core; cfg and ops are copied. NULL when out of memory. */
struct gw *gw_new(const struct gw_config *cfg, const struct gw_ops *ops, void *ctx);
/* Free the core and every session (no callbacks are made). */
void gw_free(struct gw *gw);

/*
 * Orderly stop: DISCONNECT to every client that is listening (active or
 * awake), broker_close(fire_will false) for every connection including
 * GW_CONN_AGGREGATE. Sessions stay until gw_free(). Spec: 6.13 (DISCONNECT
 * from the gateway).
 */
void gw_shutdown(struct gw *gw, uint64_t now_ms);

/* ---------------------------------------------------------------- events */

/* One datagram from a client (may be malformed: counted, logged, dropped). */
void gw_on_datagram(struct gw *gw, const struct gw_addr *from, const uint8_t *buf, size_t len,
                    uint64_t now_ms);
/* The broker connection conn is up (rc 0) or was refused (rc != 0). */
void gw_on_broker_connected(struct gw *gw, uint32_t conn, int rc, uint64_t now_ms);
/* The broker connection conn went down. */
void gw_on_broker_disconnected(struct gw *gw, uint32_t conn, uint64_t now_ms);
/* The broker acknowledged the publish with this token (PUBACK or PUBCOMP). */
void gw_on_broker_acked(struct gw *gw, uint32_t conn, uint32_t token, uint64_t now_ms);
/* The broker answered a subscribe; granted_qos 0x80 means refused. */
void gw_on_broker_subacked(struct gw *gw, uint32_t conn, uint32_t token, int granted_qos,
                           uint64_t now_ms);
/* The broker answered an unsubscribe. */
void gw_on_broker_unsubacked(struct gw *gw, uint32_t conn, uint32_t token, uint64_t now_ms);
/* A message from the broker on connection conn. */
void gw_on_broker_message(struct gw *gw, uint32_t conn, const char *topic, size_t topic_len,
                          const uint8_t *payload, size_t len, int qos, bool retain,
                          uint64_t now_ms);
/*
 * Run the timers (retries, keep-alive, sleep expiry, ADVERTISE). Returns the
 * absolute time of the next deadline, UINT64_MAX when there is none.
 */
uint64_t gw_tick(struct gw *gw, uint64_t now_ms);
/*
 * The absolute time of the next deadline without running anything (an event
 * may have moved it earlier: ask after each one). UINT64_MAX: none.
 */
uint64_t gw_next_deadline(const struct gw *gw);

/* ---------------------------------------------------------------- topics */

/* One predefined topic (6.7); client_id "" applies to every client. */
struct gw_predefined {
	const char *client_id;
	uint16_t topic_id;
	const char *topic;
};

/* Replace the predefined topics (copied). Returns 0 or -1 out of memory. */
int gw_predefined_set(struct gw *gw, const struct gw_predefined *entries, size_t n);

/* ---------------------------------------------------------------- statistics */

/* Counters; the core fills in the fields below. Additive only. */
struct gw_stats {
	uint64_t msgs_in, msgs_out;     /* MQTT-SN messages from / to clients */
	uint64_t bytes_in, bytes_out;
	uint64_t pub_up, pub_down;      /* PUBLISHes toward the broker / clients */
	uint64_t retries;
	uint64_t malformed;
	uint64_t drop_congestion;       /* refused: broker down or queue full */
	uint64_t drop_limit;            /* refused: a configured limit */
	uint64_t drop_invalid_topic;
	uint64_t drop_sleep_buffer;     /* sleeping client's buffer full */
	uint64_t drop_qos_m1;           /* QoS -1 refused */

	/* additions by the core's author: drop_limit is the sum of
	 * drop_clients, drop_topics, drop_subscriptions, drop_pending,
	 * drop_sleep_buffer and drop_too_big; drop_congestion of
	 * drop_broker_down, drop_broker_refused, drop_inflight, drop_store_full
	 * and drop_store_io */
	uint64_t broker_msgs;           /* messages received from the broker */
	uint64_t broker_bytes_in;       /* their payload octets */
	uint64_t broker_bytes_out;      /* payload octets published to the broker */
	uint64_t protocol_errors;       /* well-formed but not allowed now (no session, wrong state) */
	uint64_t drop_clients;          /* CONNACK congestion: max_clients */
	uint64_t drop_topics;           /* REGACK / SUBACK congestion or downlink drop: max_topics */
	uint64_t drop_subscriptions;    /* SUBACK congestion: max_subscriptions */
	uint64_t drop_pending;          /* downlink queue full: max_pending */
	uint64_t drop_too_big;          /* over max_msg_size, either way */
	uint64_t drop_broker_down;      /* refused: the broker connection is down */
	uint64_t drop_broker_refused;   /* refused by the broker or the daemon's queue */
	uint64_t drop_inflight;         /* PUBACK congestion: max_inflight */
	uint64_t drop_client_refused;   /* the client refused a REGISTER or PUBLISH */
	uint64_t drop_discarded;        /* queued downlink messages thrown away with a session */
	uint64_t drop_no_subscription;  /* broker message matching no subscription
	                                   (transparent: only filters the client unsubscribed
	                                   from, the broker not yet confirming) */
	uint64_t connects;              /* CONNACK accepted */
	uint64_t lost;                  /* clients declared lost (keep-alive, sleep, retries) */
	uint64_t wills;                 /* Wills fired */
	/* custody: PUBACK congestion because the store is full (its byte or
	 * per-station limits) or could not write; both also in drop_congestion */
	uint64_t drop_store_full;
	uint64_t drop_store_io;
	uint64_t custody_in;            /* QoS 1/2 PUBLISHes taken into custody */
	/* custody of the downlink: messages stored for a persistent session,
	 * dropped because the store refused them (full, I/O), dropped because
	 * they waited longer than down_ttl_s; sessions saved and restored */
	uint64_t down_stored;
	uint64_t drop_down_store;
	uint64_t drop_expired;
	uint64_t sessions_saved;
	uint64_t sessions_restored;
};

enum gw_client_state {
	GW_STATE_ACTIVE = 0,
	GW_STATE_ASLEEP,
	GW_STATE_AWAKE,
	GW_STATE_DISCONNECTED,
	GW_STATE_LOST,
	GW_STATE_COUNT,
};

/* The totals. */
const struct gw_stats *gw_stats_total(const struct gw *gw);
/* How many sessions are in state. */
uint32_t gw_clients_in_state(const struct gw *gw, enum gw_client_state state);
/*
 * Visit every session: fn(arg, client_id, state, stats). Must not call back
 * into the core.
 */
void gw_clients_each(const struct gw *gw,
                     void (*fn)(void *arg, const char *client_id, enum gw_client_state state,
                                const struct gw_stats *stats),
                     void *arg);

/* "active", "asleep", "awake", "disconnected", "lost" (6.14), or "?". */
const char *gw_state_name(enum gw_client_state state);

/*
 * Look a session up by client id. Returns false when there is none; else
 * fills *state and *stats when not NULL. A session still in its CONNECT
 * exchange reports GW_STATE_DISCONNECTED (6.14: not yet active).
 */
bool gw_client_find(const struct gw *gw, const char *client_id, enum gw_client_state *state,
                    struct gw_stats *stats);

#endif
