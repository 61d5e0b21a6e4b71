/*
 * client.h - the MQTT-SN 1.2 client core: a station's side of the protocol
 * with no I/O of its own.
 *
 * The core is driven, never drives: datagrams from the gateway go in with
 * snc_input(), the passing of time with snc_tick(), the application's
 * wishes with the snc_*_start() calls; datagrams come out through
 * ops->send and outcomes through ops->event. It never reads a clock,
 * sleeps, or touches a socket or a file, which is what lets tests and the
 * simulator run a day of outages in virtual time. `now` is milliseconds on
 * a monotonic clock of the caller's choosing.
 *
 * Retransmissions are timed from the measured round trip (rtt.h) and back
 * off exponentially; when they are exhausted the gateway is declared gone
 * (SNC_EV_GATEWAY_LOST). Section numbers refer to the MQTT-SN 1.2
 * specification.
 *
 * The event callback may call back into the core (start a publish from an
 * event, say), but must not snc_free() it; the send callback must not call
 * into the core at all. Views in an event are valid only during the
 * callback.
 */
#ifndef SNBRIDGE_SNC_CLIENT_H
#define SNBRIDGE_SNC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sn-client/error.h"
#include "sn-client/message.h"

/* ---------------------------------------------------------------- config */

struct snc_config {
	const char *client_id;         /* 1-23 characters (5.3.1), copied */
	uint16_t keep_alive_s;         /* CONNECT Duration (5.4.4); 0: no keep-alive */
	bool clean_session;            /* CONNECT CleanSession (6.3) */
	uint32_t inflight_window;      /* QoS 1/2 PUBLISHes in flight: 1 is the
	                                  standard (6.6); more needs a gateway that
	                                  accepts it */
	uint32_t max_requests;         /* requests pending at once (publish,
	                                  subscribe, ...); more gives SNC_ERR_FULL;
	                                  give a window at least as many */
	uint32_t max_topics;           /* topic ids remembered (registered, predefined) */
	uint32_t max_msg;              /* largest message sent, octets: the link's MTU */
	uint32_t retry_initial_ms;     /* RTO before the first measured round trip */
	uint32_t retry_min_ms;         /* floor of the RTO */
	uint32_t retry_max_ms;         /* ceiling of the RTO and of every back-off */
	uint32_t retry_count;          /* N_RETRY: retransmissions before the gateway
	                                  is declared gone */
	uint32_t retry_slack_ms;       /* least margin of the RTO over the smoothed
	                                  round trip: what a batching link below
	                                  (link frames) may hold a message and its
	                                  answer; 0: none */
	uint32_t connect_retry_count;  /* CONNECT retransmissions; 0: forever */
	uint8_t search_radius;         /* SEARCHGW Radius (5.4.2) */
	uint32_t search_interval_ms;   /* first SEARCHGW retry interval (T_SEARCHGW) */
};

/*
 * Defaults for long, lossy links: client id "snc", keep-alive 600 s, clean
 * session, window 1, 64 requests, 64 topics, 1200-octet messages, RTO 10 s
 * at first within [1 s, 300 s], 5 retries, CONNECT retried 5 times, search
 * radius 1 every 5 s at first.
 */
void snc_config_defaults(struct snc_config *cfg);

/* ---------------------------------------------------------------- events */

enum snc_event_type {
	SNC_EV_CONNECTED,      /* CONNACK: rc 0 accepted, > 0 the gateway's refusal */
	SNC_EV_DISCONNECTED,   /* the connection ended: rc SNC_OK (ours, answered),
	                          SNC_ERR_CLOSED (the gateway's DISCONNECT) or
	                          SNC_ERR_GONE (ours, unanswered) */
	SNC_EV_GATEWAY_LOST,   /* retransmissions exhausted: the gateway is gone */
	SNC_EV_ASLEEP,         /* the gateway accepted the sleep (6.14) */
	SNC_EV_AWAKE_DONE,     /* PINGRESP after a wake: buffered messages are in,
	                          and the client is asleep again */
	SNC_EV_REGISTERED,     /* REGACK: token, topic, topic_id, rc */
	SNC_EV_PUBLISHED,      /* a publish ended: token, seq, rc (0: PUBACK/PUBCOMP
	                          or, for QoS 0/-1, sent) */
	SNC_EV_SUBSCRIBED,     /* SUBACK: token, topic_id, qos granted, rc */
	SNC_EV_UNSUBSCRIBED,   /* UNSUBACK: token, rc */
	SNC_EV_WILL_UPDATED,   /* WILLTOPICRESP or WILLMSGRESP: token, rc */
	SNC_EV_MESSAGE,        /* a PUBLISH from the gateway */
	SNC_EV_GATEWAY_FOUND,  /* ADVERTISE or GWINFO: gw_id, duration, gw_addr */
	SNC_EV_SEARCH_FAILED,  /* no GWINFO after every SEARCHGW retry */
};

/*
 * One event. rc: 0 success; > 0 a return code from the gateway (5.3.10);
 * < 0 an snc_err (SNC_ERR_GONE, _CLOSED, _REFUSED, _TOO_BIG...).
 */
struct snc_event {
	enum snc_event_type type;
	int rc;
	uint32_t token;            /* the request this answers (0 for none) */
	uint64_t seq;              /* PUBLISHED from the source: the queue's seq */
	bool from_source;          /* PUBLISHED: the message came from the source */
	struct snc_topic topic;    /* REGISTERED, SUBSCRIBED, PUBLISHED, MESSAGE
	                              (name NULL when a MESSAGE's id has no known name) */
	uint16_t topic_id;         /* the id on the wire (short names packed) */
	int qos;                   /* MESSAGE, SUBSCRIBED (granted) */
	bool retain;               /* MESSAGE */
	bool dup;                  /* MESSAGE */
	const uint8_t *payload;    /* MESSAGE */
	size_t len;
	uint8_t gw_id;             /* GATEWAY_FOUND */
	uint16_t duration;         /* GATEWAY_FOUND from ADVERTISE: its period, s */
	bool advertise;            /* GATEWAY_FOUND: from ADVERTISE (else GWINFO) */
	const uint8_t *gw_addr;    /* GATEWAY_FOUND from a client's GWINFO: GwAdd */
	size_t gw_addr_len;
};

/* How the core acts on the world. ctx is the one given to snc_new(). */
struct snc_ops {
	/* One datagram to the gateway; broadcast: to every gateway in radius (SEARCHGW). */
	void (*send)(void *ctx, const uint8_t *buf, size_t len, bool broadcast);
	/* An outcome; may be NULL. */
	void (*event)(void *ctx, const struct snc_event *ev);
};

/*
 * Where queued messages come from: the core pulls the next one whenever it
 * is connected and has room in its window, in the order next() gives them,
 * and reports each one's fate. The on-disk queue plugs in through feed.h.
 *
 * Exactly once across a crash (6.6) takes mark(): the core calls it before
 * a QoS 1/2 PUBLISH of the source's first leaves (SNC_CLAIM_SENT) and
 * before the PUBREL that answers its PUBREC (SNC_CLAIM_PUBREL). A source
 * that keeps the mark hands the message out again with that msg_id and
 * claim (after a lost connection or a restart), and the core finishes it
 * where it stopped: the PUBLISH again with DUP and the same msg id, or the
 * PUBREL. A gateway that keeps QoS 2 state until PUBREL then forwards the
 * message once. Congestion from the gateway never ends a source message:
 * it goes again after a back-off, for as long as it takes.
 */
struct snc_source {
	/* The next message, claimed: SNC_OK with *out filled (views valid until
	 * the next call), SNC_ERR_EMPTY when there is none. out->msg_id and
	 * out->claim tell how far an earlier send got (SNC_CLAIM_NONE: never
	 * sent). */
	int (*next)(void *ctx, struct snc_message *out);
	/* Message seq is finished: result 0 delivered, > 0 refused for good by
	 * the gateway with that return code. */
	void (*done)(void *ctx, uint64_t seq, int result);
	/* Message seq was not delivered (connection lost): offer it again later. */
	void (*release)(void *ctx, uint64_t seq);
	/* Optional (NULL: no marks, and a re-sent message gets a new msg id).
	 * Record, before the packet leaves, that message seq is sent under
	 * msg_id and how far it got. SNC_OK, or an error: then the packet is
	 * not sent (a PUBLISH goes back to the source and pulling pauses for a
	 * back-off; a PUBREL waits for the gateway's next PUBREC). */
	int (*mark)(void *ctx, uint64_t seq, uint16_t msg_id, enum snc_claim state);
	/* Optional: whether msg_id is marked for a message the core does not
	 * hold now; new requests do not take such an id. */
	bool (*msg_id_marked)(void *ctx, uint16_t msg_id);
};

/* ---------------------------------------------------------------- state */

enum snc_state {
	SNC_STATE_DISCONNECTED = 0,
	SNC_STATE_CONNECTING,      /* CONNECT sent (and the Will asked for) */
	SNC_STATE_ACTIVE,          /* connected */
	SNC_STATE_DISCONNECTING,   /* DISCONNECT sent, its answer awaited */
	SNC_STATE_GOING_ASLEEP,    /* DISCONNECT with a duration sent */
	SNC_STATE_ASLEEP,          /* 6.14 */
	SNC_STATE_AWAKE,           /* PINGREQ with the client id sent: receiving */
	SNC_STATE_LOST,            /* the gateway stopped answering */
};

/* Counters. */
struct snc_stats {
	uint64_t msgs_out, bytes_out;
	uint64_t msgs_in, bytes_in;
	uint64_t retransmissions;
	uint64_t malformed_in;     /* datagrams that did not decode */
	uint64_t unexpected_in;    /* well-formed but matching nothing we wait for */
	uint64_t duplicates_in;    /* QoS 2 PUBLISHes seen again before PUBREL */
	uint64_t published;        /* publishes acknowledged (or sent, QoS 0/-1) */
	uint64_t publish_failed;
	uint64_t messages;         /* PUBLISHes delivered to the application */
	uint64_t rtt_samples;
	uint64_t gateway_lost;
	uint64_t resumed;          /* source messages resumed from a mark */
	uint64_t congestion;       /* "congestion" answers to our requests */
	uint64_t mark_failed;      /* the source could not record a mark */
};

struct snc;

/* ---------------------------------------------------------------- lifecycle */

/*
 * A new core, disconnected. cfg and ops are copied. Returns NULL when out of
 * memory or when cfg is invalid (client id not 1-23 characters, zero
 * window, retry_min_ms above retry_max_ms, max_msg below 32).
 */
struct snc *snc_new(const struct snc_config *cfg, const struct snc_ops *ops, void *ctx);

/* Free the core without sending anything or calling back. NULL is fine. */
void snc_free(struct snc *c);

/* Attach a source of queued messages (NULL detaches). src is copied. */
void snc_set_source(struct snc *c, const struct snc_source *src, void *ctx);

/*
 * The Will sent when the gateway asks (6.3) at the next CONNECT; topic NULL
 * or empty removes it. Copied. SNC_ERR_INVALID for a bad topic or qos.
 */
SNC_MUST_CHECK int snc_set_will(struct snc *c, const char *topic, size_t topic_len,
                                const uint8_t *msg, size_t len, int qos, bool retain);

/*
 * A name for a predefined topic id (6.7), so that messages arriving on it
 * carry their name. Copied. SNC_ERR_FULL when max_topics are known.
 */
SNC_MUST_CHECK int snc_set_predefined(struct snc *c, uint16_t id, const char *name, size_t len);

/* ---------------------------------------------------------------- driving */

/* One datagram from the gateway (or any gateway, for ADVERTISE and GWINFO). */
void snc_input(struct snc *c, const uint8_t *buf, size_t len, uint64_t now);

/*
 * Run the timers: retransmissions, keep-alive, the sleep cycle, SEARCHGW,
 * pulling from the source. Returns the absolute time of the next deadline
 * (call again then, or sooner when input comes), UINT64_MAX for none.
 */
uint64_t snc_tick(struct snc *c, uint64_t now);

/*
 * The absolute time of the next deadline, as snc_tick() would return it,
 * without running anything: for a loop that handled other input after its
 * tick (every call into the core may move the deadline, earlier too: ask
 * after each). UINT64_MAX for none. A time already past means a timer is
 * due: call snc_tick(). Work the core cannot see coming (a message put in
 * the source's queue) is not a deadline: tick after it.
 */
uint64_t snc_next_deadline(const struct snc *c);

/* ---------------------------------------------------------------- connection */

/*
 * Connect (6.3): CONNECT, answering WILLTOPICREQ and WILLMSGREQ, until
 * CONNACK. From any state but CONNECTING and ACTIVE (SNC_ERR_STATE);
 * from ASLEEP or AWAKE it makes the client active again (6.14). Retried
 * with back-off, connect_retry_count times.
 */
SNC_MUST_CHECK int snc_connect_start(struct snc *c, uint64_t now);

/*
 * Disconnect (6.13): DISCONNECT, until the gateway's DISCONNECT. Pending
 * requests fail with SNC_ERR_CLOSED; source messages in flight go back.
 */
SNC_MUST_CHECK int snc_disconnect_start(struct snc *c, uint64_t now);

/*
 * Sleep (6.14): DISCONNECT with duration_s (> 0). Once the gateway agrees
 * (SNC_EV_ASLEEP) the core wakes itself once a period with a PINGREQ
 * carrying the client id, takes what the gateway buffered, and sleeps
 * again on PINGRESP (SNC_EV_AWAKE_DONE). Pending requests end as with
 * disconnect. From ACTIVE, ASLEEP or AWAKE.
 */
SNC_MUST_CHECK int snc_sleep_start(struct snc *c, uint16_t duration_s, uint64_t now);

/* Wake now, without waiting for the end of the sleep period. From ASLEEP. */
SNC_MUST_CHECK int snc_wake_start(struct snc *c, uint64_t now);

/*
 * Look for gateways (6.1-6.2): SEARCHGW broadcast, retried with back-off
 * until an ADVERTISE or GWINFO arrives (SNC_EV_GATEWAY_FOUND) or retries run
 * out (SNC_EV_SEARCH_FAILED). The specification asks for a random delay
 * before a search so that a whole network does not search at once: the
 * caller, which owns randomness, provides it by when it calls.
 */
SNC_MUST_CHECK int snc_search_start(struct snc *c, uint64_t now);

/* ---------------------------------------------------------------- requests */

/*
 * Each returns SNC_OK and a token (non-zero, when token is not NULL) that
 * the matching event carries, or an error: SNC_ERR_INVALID, SNC_ERR_TOO_BIG
 * (over max_msg), SNC_ERR_FULL (max_requests pending). Requests made before
 * the connection is up wait for it; every request pending when a
 * connection ends fails with the reason.
 */

/*
 * Publish (6.6, 6.8). A topic NAME is registered first when its id is not
 * known. QoS 1 and 2 keep at most inflight_window in flight; publishes go
 * out in the order they were started. QoS -1 goes at once, connected or not
 * (PREDEFINED or SHORT topic only). m and its views are copied.
 */
SNC_MUST_CHECK int snc_publish_start(struct snc *c, const struct snc_message *m, uint32_t *token,
                                     uint64_t now);

/* Register a topic name for an id (6.5); one REGISTER is outstanding at a time. */
SNC_MUST_CHECK int snc_register_start(struct snc *c, const char *name, size_t len,
                                      uint32_t *token, uint64_t now);

/*
 * Subscribe (6.9) to a filter (wildcards allowed), a predefined id or a
 * short name at qos 0..2 (-1 is not a subscription QoS). One SUBSCRIBE or
 * UNSUBSCRIBE is outstanding at a time.
 */
SNC_MUST_CHECK int snc_subscribe_start(struct snc *c, const struct snc_topic *t, int qos,
                                       uint32_t *token, uint64_t now);

/* Unsubscribe (6.10). */
SNC_MUST_CHECK int snc_unsubscribe_start(struct snc *c, const struct snc_topic *t,
                                         uint32_t *token, uint64_t now);

/*
 * Update the Will topic (6.4, WILLTOPICUPD); topic NULL or empty deletes
 * the Will. Also becomes the Will for later CONNECTs.
 */
SNC_MUST_CHECK int snc_will_topic_update_start(struct snc *c, const char *topic, size_t len,
                                               int qos, bool retain, uint32_t *token,
                                               uint64_t now);

/* Update the Will message (6.4, WILLMSGUPD). */
SNC_MUST_CHECK int snc_will_msg_update_start(struct snc *c, const uint8_t *msg, size_t len,
                                             uint32_t *token, uint64_t now);

/* ---------------------------------------------------------------- looking in */

/* Where the connection stands. */
enum snc_state snc_state(const struct snc *c);
/* A name for a state ("ACTIVE"). */
const char *snc_state_name(enum snc_state s);
/* Requests not yet finished (of every kind, source messages included). */
size_t snc_pending(const struct snc *c);
/* The retransmission timeout new messages start with, ms. */
uint32_t snc_rto(const struct snc *c);
/* Counters. */
const struct snc_stats *snc_stats(const struct snc *c);

#endif
