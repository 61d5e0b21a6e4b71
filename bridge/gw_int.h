/*
 * gw_int.h - the gateway core's insides, shared by bridge/gw*.c only.
 *
 * Ownership: struct gw owns every session (slots[]), the predefined table,
 * the aggregating mode's filter table and the token maps. A session owns
 * its topic table, subscriptions, client-publish table and downlink queue.
 * Downlink payloads are reference-counted blobs so that a fan-out to many
 * sessions stores the message once.
 */
#ifndef SNBRIDGE_BRIDGE_GW_INT_H
#define SNBRIDGE_BRIDGE_GW_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge/gw.h"
#include "codec/mqttsn.h"

#if defined(__GNUC__)
#define GW_FMT(f, a) __attribute__((format(printf, f, a)))
#else
#define GW_FMT(f, a)
#endif

#define GW_NODE_ID_MAX 16u     /* 5.5 Wireless Node Id: longer ones are refused */
#define GW_CONN_SLOT_BITS 20u
#define GW_CONN_SLOT_MASK 0xFFFFFu
#define GW_RTT_GRANULARITY_MS 10u
#define GW_NEVER UINT64_MAX

/* ---------------------------------------------------------------- small types */

/* Where a client is: its address, and the forwarder's node id if encapsulated (5.5). */
struct gw_endpoint {
	struct gw_addr addr;
	bool encap;
	uint8_t ctrl;
	uint8_t node_len;
	uint8_t node[GW_NODE_ID_MAX];
};

/* A u32 -> pointer map (open addressing), for tokens on the shared connection. */
struct gw_map_slot {
	uint32_t key;
	bool used;
	void *val;
};

struct gw_map {
	struct gw_map_slot *slots;
	size_t cap;   /* power of two, or 0 */
	size_t count;
};

/* One downlink message body: topic then payload, shared by every queue holding it. */
struct gw_blob {
	uint32_t refs;
	size_t topic_len;
	size_t len;
	uint8_t data[];
};

/* Where a queued downlink message is in its QoS flow (6.6). */
enum gw_stage {
	GW_STAGE_NEW = 0,     /* not sent yet */
	GW_STAGE_SENT,        /* PUBLISH sent, PUBACK or PUBREC awaited */
	GW_STAGE_RELEASED,    /* PUBREL sent, PUBCOMP awaited */
};

struct gw_qmsg {
	struct gw_qmsg *next;
	struct gw_blob *blob;
	int8_t qos;
	bool retain;
	bool reregistered;    /* one re-REGISTER after PUBACK "invalid topic id" */
	uint8_t stage;        /* enum gw_stage */
	uint16_t msg_id;      /* kept across retransmissions and sleeps */
	uint64_t seq;         /* custody: its seq in the store; 0: only in memory */
	uint64_t expires;     /* custody: dropped unsent from then on; 0: never */
};

/* One per-client topic id (6.5). */
struct gw_topic {
	uint16_t id;
	bool client_knows;    /* REGISTERed or SUBACKed since the last reconnect */
	size_t len;
	char *name;
};

struct gw_filter;

/* One subscription of a client (6.9). */
struct gw_sub {
	char *filter;
	size_t len;
	uint8_t qos;          /* requested */
	int8_t granted;       /* -1 until the broker answered */
	bool waiting;         /* a SUBACK is owed to the client */
	bool token_valid;     /* transparent: a broker SUBSCRIBE is in flight */
	uint8_t id_type;      /* how the client named it, for the SUBACK */
	uint16_t topic_id;    /* SUBACK's topic id */
	uint16_t msg_id;      /* SUBSCRIBE's msg id */
	uint32_t token;
	struct gw_filter *shared;  /* aggregating: the counted broker subscription */
};

/*
 * Transparent mode: a filter the client unsubscribed from that the broker
 * may still hold for its session (6.10). The UNSUBACK does not wait for a
 * broker that is down, so the broker is told when the connection is up
 * again; until it answers, messages matching only this filter are dropped.
 */
struct gw_unsub {
	char *filter;
	size_t len;
	bool sent;            /* a broker UNSUBSCRIBE with token is in flight */
	uint32_t token;
};

/* A client's QoS 1/2 PUBLISH on its way to the broker, or awaiting PUBREL (6.6). */
enum gw_up_state {
	GW_UP_FORWARDING = 0, /* broker_publish done, ack awaited */
	GW_UP_RECEIVED,       /* QoS 2: PUBREC sent, PUBREL awaited */
};

struct gw_uplink {
	uint16_t msg_id;
	uint16_t topic_id;    /* as the client sent it, for the PUBACK */
	uint8_t qos;
	uint8_t state;        /* enum gw_up_state */
	uint32_t token;
};

/* The one gateway-originated request in flight (6.5, 6.6), and its timing. */
enum gw_out_kind {
	GW_OUT_NONE = 0,
	GW_OUT_REGISTER,
	GW_OUT_PUBLISH,
	GW_OUT_PUBREL,
};

struct gw_out {
	uint8_t kind;
	uint8_t tries;        /* retransmissions so far */
	uint16_t msg_id;
	uint16_t topic_id;    /* REGISTER: the id being registered */
	uint64_t sent_at;     /* first transmission, for the RTT sample */
	uint64_t due;
};

/* Where a session is in its CONNECT exchange (6.3). */
enum gw_phase {
	GW_PHASE_NONE = 0,    /* connected, or not connecting */
	GW_PHASE_WILLTOPIC,   /* WILLTOPICREQ sent */
	GW_PHASE_WILLMSG,     /* WILLMSGREQ sent */
	GW_PHASE_BROKER,      /* broker_open done, gw_on_broker_connected awaited */
};

/* ---------------------------------------------------------------- sessions */

struct gw_session {
	char client_id[MQTTSN_CLIENT_ID_MAX + 1];
	uint8_t id_len;
	uint32_t slot;
	struct gw_session *next_by_id, *next_by_ep;
	size_t heap_idx;      /* position in the deadline heap plus one; 0: not in it */
	uint64_t deadline;

	struct gw_endpoint ep;
	bool bound;           /* ep reaches the client; false once another took it */

	enum gw_client_state state;
	uint8_t phase;        /* enum gw_phase */
	bool fresh;           /* never accepted: a failed CONNECT frees it */
	bool clean;           /* CleanSession of the last CONNECT */
	uint16_t keep_alive_s;
	uint16_t sleep_s;
	uint64_t last_rx;
	uint64_t phase_since; /* connect exchange start, or when the sleep began */

	/* the Will (6.3, 6.4); will_pending holds it during the exchange */
	bool has_will;
	uint8_t will_qos;
	bool will_retain;
	char *will_topic;
	uint8_t *will_msg;
	size_t will_msg_len;

	/* broker connection (transparent mode) */
	uint32_t conn;        /* 0: none */
	bool broker_up;
	bool conn_will;       /* the open connection carries a Will */
	bool conn_clean;      /* it was opened with CleanSession */
	bool conn_connected_once;
	/* the broker's session began clean under this core, so every
	 * subscription it holds was made through subs[] (false after a bridge
	 * restart: the broker kept subscriptions the core never saw) */
	bool subs_known;

	/* topics, subscriptions, client publishes */
	struct gw_topic *topics;
	uint32_t ntopics, captopics;
	uint16_t next_topic_id;
	struct gw_sub *subs;
	uint32_t nsubs, capsubs;
	struct gw_uplink *up;
	uint32_t nup;
	bool unsub_waiting;
	uint16_t unsub_msg_id;
	uint32_t unsub_token;
	struct gw_unsub *unsubs;  /* transparent: not yet confirmed by the broker */
	uint32_t nunsubs, capunsubs;

	/* downlink */
	struct gw_qmsg *qhead, *qtail;
	uint32_t qlen;
	struct gw_out out;
	uint16_t next_msg_id;
	uint32_t fanout_mark;
	uint8_t fanout_qos;

	/* custody of a persistent session (gw.h "Custody of persistent
	 * sessions"): saved at least once (a free drops it), changed since
	 * the last save (on the core's dirty list), messages waiting on disk
	 * beyond those in memory and the newest seq read into memory; the
	 * QoS 2 message in flight with its msg id and stage as last saved;
	 * the broker connection to reopen at the first tick (restored) */
	bool persisted;
	bool dirty;
	struct gw_session *next_dirty;
	bool spilled;
	uint64_t down_loaded;
	uint64_t head_seq;
	uint16_t head_msg_id;
	uint8_t head_stage;
	bool reopen;

	/* retransmission timing, RFC 6298 style, milliseconds */
	uint32_t srtt, rttvar, rto;
	bool rtt_valid;

	/* one log line per cause per interval */
	uint64_t log_window;
	uint32_t logged;

	struct gw_stats stats;
};

/* Counted refusals and drops: each has a stats field and a log line. */
enum gw_cause {
	GW_CAUSE_MALFORMED = 0,
	GW_CAUSE_PROTOCOL,
	GW_CAUSE_CLIENTS,
	GW_CAUSE_TOPICS,
	GW_CAUSE_SUBSCRIPTIONS,
	GW_CAUSE_PENDING,
	GW_CAUSE_SLEEP_BUFFER,
	GW_CAUSE_TOO_BIG,
	GW_CAUSE_BROKER_DOWN,
	GW_CAUSE_BROKER_REFUSED,
	GW_CAUSE_INFLIGHT,
	GW_CAUSE_INVALID_TOPIC,
	GW_CAUSE_QOS_M1,
	GW_CAUSE_CLIENT_REFUSED,
	GW_CAUSE_DISCARDED,
	GW_CAUSE_NO_SUBSCRIPTION,
	GW_CAUSE_STORE_FULL,
	GW_CAUSE_STORE_IO,
	GW_CAUSE_DOWN_STORE,
	GW_CAUSE_EXPIRED,
	GW_CAUSE_COUNT,
};

/* ---------------------------------------------------------------- predefined */

struct gw_predef {
	char client_id[MQTTSN_CLIENT_ID_MAX + 1];  /* "" for every client */
	uint16_t id;
	size_t len;
	char *name;
};

/* ---------------------------------------------------------------- aggregating */

/* One broker subscription shared by every client with the same filter. */
struct gw_filter {
	char *name;
	size_t len;
	bool wildcard;
	struct gw_filter *next;       /* hash chain */
	struct gw_filter *next_wild;  /* list of wildcard filters, for matching */
	struct gw_filter *prev_wild;
	uint32_t refs;
	int8_t granted;               /* -1: not (yet) granted */
	uint8_t asked;                /* QoS of the subscribe in flight or granted */
	bool pending;
	uint32_t token;
	struct gw_session **members;
	uint32_t nmembers, capmembers;
};

/* ---------------------------------------------------------------- the core */

enum gw_shared_state {
	GW_SHARED_CLOSED = 0,
	GW_SHARED_OPENING,
	GW_SHARED_UP,
	GW_SHARED_DOWN,
};

struct gw {
	struct gw_config cfg;
	struct gw_ops ops;
	void *ctx;

	struct gw_session **slots;
	uint32_t nslots;              /* cfg.max_clients */
	uint32_t nsessions;
	uint32_t *free_slots;
	uint32_t nfree;
	struct gw_session **by_id, **by_ep;
	uint32_t bucket_mask;
	uint32_t conn_gen;

	struct gw_session **heap;
	size_t heap_len;

	struct gw_predef *predef;
	size_t npredef;

	/* the shared connection (GW_CONN_AGGREGATE) */
	uint8_t shared;               /* enum gw_shared_state */
	bool shared_wanted;
	uint64_t shared_retry_at;
	struct gw_map up_tokens;      /* shared conn publish token -> session */
	struct gw_map sub_tokens;     /* shared conn subscribe token -> filter */

	/* aggregating mode's filters */
	struct gw_filter **filters;
	uint32_t filter_mask;
	uint32_t nfilters;
	struct gw_filter *wild;
	uint32_t fanout_mark;
	struct gw_session **scratch;  /* fan-out targets */
	uint32_t capscratch;

	uint64_t next_advertise;
	bool started;
	bool stopped;
	bool freeing;                 /* gw_free(): no callbacks */

	uint64_t log_window;
	uint32_t logged;
	uint64_t suppressed;

	struct gw_stats total;

	uint8_t *tx, *tx2;            /* encode buffers, MQTTSN_MSG_MAX each */

	/* custody of persistent sessions: those changed since their last
	 * save, and the buffer a session is serialised into */
	struct gw_session *dirty;
	uint8_t *pbuf;
	size_t pcap;
	bool restored;                /* sessions came back: reopen at the first tick */
};

/* The context of one received datagram. */
struct gw_rx {
	const struct gw_endpoint *ep;
	const uint8_t *raw;           /* the (inner) message as received */
	size_t len;
	uint64_t now;
};

/* ---------------------------------------------------------------- gw.c */

void gw_say(struct gw *gw, enum gw_log_level level, const char *fmt, ...) GW_FMT(3, 4);
/* True in aggregating mode. */
bool gw_aggregating(const struct gw *gw);
/* The broker connection a session publishes on, or -1 when it is down. */
int64_t gw_session_conn_up(const struct gw *gw, const struct gw_session *s);
/* Open the shared connection if it is wanted and not open. */
void gw_shared_ensure(struct gw *gw, uint64_t now);

/* ---------------------------------------------------------------- gw_session.c */

struct gw_session *gw_sess_by_id(const struct gw *gw, const char *id, size_t len);
struct gw_session *gw_sess_by_ep(const struct gw *gw, const struct gw_endpoint *ep);
struct gw_session *gw_sess_by_conn(const struct gw *gw, uint32_t conn);
struct gw_session *gw_sess_new(struct gw *gw, const char *id, size_t len, uint64_t now);
/* Unlink, close nothing, free everything it owns (queued messages counted). */
void gw_sess_free(struct gw *gw, struct gw_session *s);
/* Bind the session to ep; whoever had ep before loses it. */
void gw_sess_bind(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep);
void gw_sess_unbind(struct gw *gw, struct gw_session *s);
bool gw_ep_equal(const struct gw_endpoint *a, const struct gw_endpoint *b);
/* A session that may be dropped to make room (disconnected or lost), oldest first. */
struct gw_session *gw_sess_evictable(const struct gw *gw);
/* Close the session's broker connection (transparent mode), if any. */
void gw_sess_close_conn(struct gw *gw, struct gw_session *s, bool fire_will);
/* Keep-alive, sleep or retries ran out: publish the Will, state lost (6.11, 6.14). */
void gw_sess_lose(struct gw *gw, struct gw_session *s, uint64_t now, const char *why);
/* Connected (active, awake or asleep) and reachable: answers may go to it. */
bool gw_sess_listening(const struct gw_session *s);
/* The client reports this state (connecting counts as disconnected). */
enum gw_client_state gw_sess_visible_state(const struct gw_session *s);
/* Free the Will. */
void gw_sess_will_clear(struct gw_session *s);
uint16_t gw_sess_next_msg_id(struct gw_session *s);

/* ---------------------------------------------------------------- gw_sched.c */

/* Recompute the session's deadline and its place in the heap. */
void gw_sched_update(struct gw *gw, struct gw_session *s);
void gw_sched_remove(struct gw *gw, struct gw_session *s);
struct gw_session *gw_sched_first(const struct gw *gw);

/* ---------------------------------------------------------------- gw_send.c */

/* Encode and send msg to ep (wrapped in 0xFE when ep says so). Returns octets or < 0. */
int gw_tx_ep(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep,
             const struct mqttsn_msg *msg);
/* The same to a session's endpoint; nothing when it is unbound. */
int gw_tx(struct gw *gw, struct gw_session *s, const struct mqttsn_msg *msg);
void gw_tx_rc(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep,
              enum mqttsn_type type, uint8_t rc);
void gw_tx_msg_id(struct gw *gw, struct gw_session *s, enum mqttsn_type type, uint16_t msg_id);
void gw_tx_puback(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep,
                  uint16_t topic_id, uint16_t msg_id, uint8_t rc);
void gw_tx_suback(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep, int qos,
                  uint16_t topic_id, uint16_t msg_id, uint8_t rc);
void gw_tx_bare(struct gw *gw, struct gw_session *s, const struct gw_endpoint *ep,
                enum mqttsn_type type);

/* ---------------------------------------------------------------- gw_connect.c */

void gw_conn_on_connect(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                        const struct mqttsn_msg *m);
void gw_conn_on_willtopic(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                          const struct mqttsn_msg *m);
void gw_conn_on_willmsg(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                        const struct mqttsn_msg *m);
void gw_conn_on_willupd(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                        const struct mqttsn_msg *m);
/* The connect exchange took too long. */
void gw_conn_timeout(struct gw *gw, struct gw_session *s, uint64_t now);
void gw_conn_refuse(struct gw *gw, struct gw_session *s, uint8_t rc, uint64_t now);
/* End a connect exchange without CONNACK; returns s, or NULL when it was freed. */
struct gw_session *gw_conn_abort(struct gw *gw, struct gw_session *s);
/* CONNACK accepted: the session is active (6.3). */
void gw_conn_accept(struct gw *gw, struct gw_session *s, uint64_t now);

/* ---------------------------------------------------------------- gw_broker.c */

/* Fail what a connection that went down will not finish after reconnecting
 * (subscribes); client publishes stay pending (see gw.h's broker contract). */
void gw_brk_fail_inflight(struct gw *gw, struct gw_session *s);

/* ---------------------------------------------------------------- gw_publish.c */

void gw_up_on_publish(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                      const struct mqttsn_msg *m);
void gw_up_on_pubrel(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                     const struct mqttsn_msg *m);
/* The broker has the publish with this token (6.6). */
void gw_up_acked(struct gw *gw, struct gw_session *s, uint32_t token);
/* Forget the client's publishes in flight; with tell, answer PUBACK congestion.
 * Only for a connection closed for good, never for a drop the daemon repairs. */
void gw_up_fail_all(struct gw *gw, struct gw_session *s, bool tell);
/* Resolve a topic id of PUBLISH (normal, predefined or short) to a name. */
bool gw_up_topic(const struct gw *gw, const struct gw_session *s, uint8_t id_type,
                 uint16_t topic_id, const char **name, size_t *len, char shortbuf[2]);

/* ---------------------------------------------------------------- gw_deliver.c */

/* Queue a message for the session at qos (already min'd), then pump. */
void gw_down_enqueue(struct gw *gw, struct gw_session *s, struct gw_blob *b, int qos,
                     bool retain, uint64_t now);
/* Send what the queue allows now (6.5 REGISTER first, 6.6 one QoS 1/2 in flight). */
void gw_down_pump(struct gw *gw, struct gw_session *s, uint64_t now);
void gw_down_on_puback(struct gw *gw, struct gw_session *s, const struct mqttsn_msg *m,
                       uint64_t now);
void gw_down_on_pubrec(struct gw *gw, struct gw_session *s, const struct mqttsn_msg *m,
                       uint64_t now);
void gw_down_on_pubcomp(struct gw *gw, struct gw_session *s, const struct mqttsn_msg *m,
                        uint64_t now);
/* The REGACK for the gateway's REGISTER. */
void gw_down_on_regack(struct gw *gw, struct gw_session *s, const struct mqttsn_msg *m,
                       uint64_t now);
/* Send (or resend) the request the queue head is at; used by retries. */
void gw_down_transmit(struct gw *gw, struct gw_session *s, bool retry);
/* Stop the request in flight: it is sent again from its stage later. */
void gw_down_pause(struct gw *gw, struct gw_session *s);
void gw_down_clear(struct gw *gw, struct gw_session *s);
struct gw_blob *gw_blob_new(const char *topic, size_t topic_len, const uint8_t *payload,
                            size_t len);
void gw_blob_unref(struct gw_blob *b);
/* A broker message for one session (transparent) or all matching (aggregating). */
void gw_down_from_broker(struct gw *gw, uint32_t conn, const char *topic, size_t topic_len,
                         const uint8_t *payload, size_t len, int qos, bool retain,
                         uint64_t now);

/* ---------------------------------------------------------------- gw_register.c */

void gw_reg_on_register(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                        const struct mqttsn_msg *m);
struct gw_topic *gw_topic_by_id(const struct gw_session *s, uint16_t id);
struct gw_topic *gw_topic_by_name(const struct gw_session *s, const char *name, size_t len);
/* The topic's id, added when new; NULL when max_topics is reached or out of memory. */
struct gw_topic *gw_topic_add(struct gw *gw, struct gw_session *s, const char *name, size_t len);
void gw_topic_forget_all(struct gw_session *s);

/* ---------------------------------------------------------------- gw_subscribe.c */

void gw_sub_on_subscribe(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                         const struct mqttsn_msg *m);
void gw_sub_subacked(struct gw *gw, struct gw_session *s, uint32_t token, int granted);
/* Transparent: the client's connection is up (again): subscribe again when
 * it was opened clean (the broker forgot), else send the UNSUBSCRIBEs owed. */
void gw_sub_broker_up(struct gw *gw, struct gw_session *s);
/* Answer SUBACK congestion to whoever waits (the connection went down). */
void gw_sub_fail_waiting(struct gw *gw, struct gw_session *s);
/* The best granted QoS among the subscriptions matching topic, or -1. */
int gw_sub_match_qos(const struct gw_session *s, const char *topic, size_t len);
/*
 * Transparent: the QoS at which a message the broker sent at qos on the
 * client's own connection goes to the client, or -1 to drop it (it matches
 * only filters the client unsubscribed from).
 */
int gw_sub_deliver_qos(const struct gw_session *s, const char *topic, size_t len, int qos);
void gw_sub_free_all(struct gw *gw, struct gw_session *s);
struct gw_sub *gw_sub_find(const struct gw_session *s, const char *f, size_t len);
/* A new subscription (granted -1); NULL at max_subscriptions or out of memory. */
struct gw_sub *gw_sub_add(struct gw *gw, struct gw_session *s, const char *f, size_t len);
/* Drop a subscription; in aggregating mode also its count on the filter. */
void gw_sub_remove(struct gw *gw, struct gw_session *s, struct gw_sub *sub);
/* The filter named by a SUBSCRIBE or UNSUBSCRIBE; false when it names nothing. */
bool gw_sub_named_filter(const struct gw *gw, const struct gw_session *s,
                         const struct mqttsn_msg *m, const char **f, size_t *len);

/* ---------------------------------------------------------------- gw_unsubscribe.c */

void gw_sub_on_unsubscribe(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                           const struct mqttsn_msg *m);
void gw_sub_unsubacked(struct gw *gw, struct gw_session *s, uint32_t token);
/* The pending UNSUBSCRIBE of exactly this filter, or NULL. */
struct gw_unsub *gw_unsub_find(const struct gw_session *s, const char *f, size_t len);
/* True when a pending UNSUBSCRIBE's filter matches topic. */
bool gw_unsub_matches(const struct gw_session *s, const char *topic, size_t len);
void gw_unsub_remove(struct gw_session *s, struct gw_unsub *u);
/* Send every pending UNSUBSCRIBE not in flight on the connection now up. */
void gw_unsub_flush(struct gw *gw, struct gw_session *s);
/* The connection went down: nothing is in flight any more. */
void gw_unsub_unsent(struct gw_session *s);
void gw_unsub_free_all(struct gw_session *s);
/* Aggregating: answer the SUBACK owed for sub (granted < 0: refused, sub dropped). */
void gw_sub_filter_answer(struct gw *gw, struct gw_session *s, struct gw_sub *sub, int granted);

/* ---------------------------------------------------------------- gw_filters.c */

struct gw_filter *gw_filter_find(const struct gw *gw, const char *name, size_t len);
/* Count a client's subscription; subscribes at the broker when needed. */
struct gw_filter *gw_filter_ref(struct gw *gw, const char *name, size_t len,
                                struct gw_session *s);
void gw_filter_unref(struct gw *gw, struct gw_filter *f, struct gw_session *s);
/* The client's subscription sub wants f at sub->qos: answer now or ask the broker. */
void gw_filter_request(struct gw *gw, struct gw_filter *f, struct gw_session *s,
                       struct gw_sub *sub, uint64_t now);
void gw_filter_subacked(struct gw *gw, uint32_t token, int granted);
void gw_filter_resubscribe_all(struct gw *gw);
void gw_filter_fail_pending(struct gw *gw);
void gw_filter_fanout(struct gw *gw, const char *topic, size_t topic_len, const uint8_t *payload,
                      size_t len, int qos, bool retain, uint64_t now);
void gw_filter_free_all(struct gw *gw);

/* ---------------------------------------------------------------- gw_sleep.c */

void gw_sleep_on_pingreq(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                         const struct mqttsn_msg *m);
void gw_sleep_on_disconnect(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                            const struct mqttsn_msg *m);
/* Supervision deadline of the session's state (6.11, 6.14), GW_NEVER if none. */
uint64_t gw_sleep_deadline(const struct gw_session *s);
/* The awake client got everything: PINGRESP and asleep again (6.14). */
void gw_sleep_back(struct gw *gw, struct gw_session *s, uint64_t now);
/* A duration in seconds with Table 30's tolerance, in milliseconds. */
uint64_t gw_tolerance_ms(uint16_t seconds);

/* ---------------------------------------------------------------- gw_retry.c */

void gw_rtt_init(struct gw *gw, struct gw_session *s);
/* A request leaves for the first time. */
void gw_rtt_sent(struct gw *gw, struct gw_session *s, uint64_t now);
/* Its answer came: a sample unless it was retransmitted (Karn). */
void gw_rtt_acked(struct gw *gw, struct gw_session *s, uint64_t now);
/* The retry timer of the request in flight fired. */
void gw_rtt_expired(struct gw *gw, struct gw_session *s, uint64_t now);

/* ---------------------------------------------------------------- gw_discovery.c */

void gw_disc_on_searchgw(struct gw *gw, const struct gw_rx *rx);
void gw_disc_tick(struct gw *gw, uint64_t now);

/* ---------------------------------------------------------------- gw_topics.c */

/* The predefined topic for this client (its own, then the global one), or NULL. */
const struct gw_predef *gw_predef_by_id(const struct gw *gw, const char *client_id,
                                        uint16_t id);
const struct gw_predef *gw_predef_by_name(const struct gw *gw, const char *client_id,
                                          const char *name, size_t len);
void gw_predef_free(struct gw *gw);

/* ---------------------------------------------------------------- gw_stats.c */

/* Count one refusal or drop for cause (s may be NULL) and log it, rate-limited. */
void gw_note(struct gw *gw, struct gw_session *s, enum gw_cause cause, uint64_t now,
             const char *fmt, ...) GW_FMT(5, 6);
void gw_stat_rx(struct gw *gw, struct gw_session *s, size_t len);
void gw_stat_tx(struct gw *gw, struct gw_session *s, size_t len);
/* Add to one counter in the totals and the session's own. */
#define GW_STAT_ADD(gw, s, field, n)                                                         \
	do {                                                                                 \
		(gw)->total.field += (n);                                                    \
		if ((s) != NULL)                                                             \
			(s)->stats.field += (n);                                             \
	} while (0)

/* ---------------------------------------------------------------- gw_persist.c */

/* Whether the session is kept across restarts (custody, CleanSession false, accepted). */
bool gw_persisting(const struct gw *gw, const struct gw_session *s);
/* Whether its QoS 1/2 downlink goes through the store. */
bool gw_down_custody(const struct gw *gw, const struct gw_session *s);
/* The session changed: saved before the next message to it, or at the end of the event. */
void gw_persist_mark(struct gw *gw, struct gw_session *s);
/* Save it now if it changed. */
void gw_persist_save(struct gw *gw, struct gw_session *s);
/* Save every changed session (the end of each event). */
void gw_persist_flush(struct gw *gw);
/* The session is being freed: off the dirty list; dropped from the store unless the core is. */
void gw_persist_forget(struct gw *gw, struct gw_session *s);
/* First tick after restores: reopen the broker connections they need. */
void gw_persist_reopen(struct gw *gw, uint64_t now);

/* ---------------------------------------------------------------- gw_connect.c (more) */

/* Open (or reopen) the client's broker connection with its id, CleanSession and Will. */
int gw_conn_open(struct gw *gw, struct gw_session *s);

/* ---------------------------------------------------------------- gw_map.c */

int gw_map_put(struct gw_map *m, uint32_t key, void *val);
void *gw_map_get(const struct gw_map *m, uint32_t key);
void gw_map_del(struct gw_map *m, uint32_t key);
void gw_map_free(struct gw_map *m);

#endif
