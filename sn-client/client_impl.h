/*
 * client_impl.h - the client core's state, shared by its files and by no one
 * else:
 *   client.c    lifecycle, configuration, sending, events, settling
 *   conn.c      the connection: CONNECT, keep-alive, DISCONNECT, sleep,
 *               discovery, and the dispatch of every datagram
 *   request.c   requests with a message id: publish, register, subscribe,
 *               unsubscribe, Will updates: their list, wire form, making
 *   request_pump.c    starting them: the one-at-a-time rules, the window,
 *               the order, the source
 *   request_answer.c  their answers and retransmissions
 *   inbound.c   what the gateway starts: PUBLISH, REGISTER, PUBREL
 *   topicmap.c  topic ids and names
 */
#ifndef SNBRIDGE_SNC_CLIENT_IMPL_H
#define SNBRIDGE_SNC_CLIENT_IMPL_H

#include "codec/mqttsn.h"
#include "sn-client/client.h"
#include "sn-client/rtt.h"

/* QoS 2 message ids from the gateway remembered until their PUBREL (6.7). */
#define SNC_QOS2_MEMORY 32u
/* Re-registrations of one publish after "invalid topic id" before giving up. */
#define SNC_MAX_REREGISTER 2u

/* ---------------------------------------------------------------- requests */

enum req_kind {
	REQ_PUBLISH,
	REQ_REGISTER,
	REQ_SUBSCRIBE,
	REQ_UNSUBSCRIBE,
	REQ_WILLTOPIC,
	REQ_WILLMSG,
};

enum req_state {
	RQ_QUEUED,   /* not sent yet (or to be sent again after a congestion) */
	RQ_SENT,     /* sent, first answer awaited */
	RQ_PUBREL,   /* QoS 2: PUBREC came, PUBREL sent, PUBCOMP awaited */
	RQ_DONE,     /* finished with rc; its event is still to be given */
};

struct req {
	enum req_kind kind;
	enum req_state state;
	uint32_t token;          /* 0: made by the core (a REGISTER for a publish) */
	uint16_t msg_id;
	int rc;                  /* RQ_DONE: the outcome, as in struct snc_event */
	struct snc_message m;    /* PUBLISH; topic.name also for REGISTER, (UN)SUBSCRIBE
	                            and WILLTOPIC, payload for WILLMSG; views into buf */
	bool from_source;
	enum snc_claim resume;   /* RQ_QUEUED from the source: where an earlier send
	                            stopped (its msg_id is r->msg_id) */
	uint16_t topic_id;       /* resolved id (from REGACK, SUBACK or the map) */
	int granted_qos;         /* SUBACK */
	uint8_t *buf;
	uint64_t sent_at;        /* last transmission */
	uint64_t deadline;       /* RQ_SENT, RQ_PUBREL: retransmit then */
	uint64_t not_before;     /* RQ_QUEUED: not before (after a congestion) */
	uint32_t interval_ms;    /* the wait after the last transmission */
	unsigned retries;        /* retransmissions of the current step */
	unsigned congested;      /* "congestion" answers so far */
	unsigned reregs;
	bool retransmitted;      /* Karn's rule: no RTT sample then */
};

/* ---------------------------------------------------------------- connection */

/* The one connection-level exchange under way (they exclude each other). */
enum ctl_kind {
	CTL_NONE,
	CTL_CONNECT,
	CTL_PING,       /* keep-alive PINGREQ */
	CTL_DISCONNECT,
	CTL_SLEEP,      /* DISCONNECT with a duration */
	CTL_WAKE,       /* PINGREQ with the client id */
};

struct ctl {
	enum ctl_kind kind;
	uint64_t sent_at;
	uint64_t deadline;
	uint32_t interval_ms;
	unsigned retries;
	bool retransmitted;
};

struct topic_map {
	uint16_t id;
	bool predefined;
	char *name;
	size_t len;
};

struct snc {
	struct snc_config cfg;
	char client_id[MQTTSN_CLIENT_ID_MAX + 1];
	struct snc_ops ops;
	void *ctx;

	struct snc_source src;
	void *src_ctx;
	bool has_src;
	uint64_t src_not_before;  /* pulling paused (congestion) until then */

	enum snc_state state;
	struct snc_rtt rtt;
	uint64_t rto_doubled_at;  /* when a timeout last doubled the RTO */
	struct ctl ctl;
	uint64_t last_tx;         /* keep-alive counts from the last datagram sent */
	uint16_t sleep_s;
	uint64_t wake_at;         /* ASLEEP: when the core wakes itself */

	bool searching;
	uint64_t search_deadline;
	uint32_t search_interval_ms;
	unsigned search_retries;

	bool has_will;
	char *will_topic;
	size_t will_topic_len;
	uint8_t *will_msg;
	size_t will_len;
	int will_qos;
	bool will_retain;

	struct req **reqs;        /* in the order they were made */
	size_t nreqs, reqcap;
	uint32_t next_token;
	uint16_t next_msg_id;

	struct topic_map *topics;
	size_t ntopics;

	uint16_t qos2_ids[SNC_QOS2_MEMORY];
	size_t nqos2;

	uint64_t now;             /* the time of the last call in (settle): what was
	                             due by then has been done */
	bool settling;            /* settle() is running: a nested call only asks again */
	bool settle_again;
	uint8_t *tx;              /* cfg.max_msg octets */
	struct snc_stats st;
};

/* ---------------------------------------------------------------- client.c */

/* Encode and send m (to the gateway, or broadcast). SNC_OK or SNC_ERR_TOO_BIG. */
int snc_core_send(struct snc *c, const struct mqttsn_msg *m, bool broadcast, uint64_t now);
/* Give ev to the application. */
void snc_core_emit(struct snc *c, const struct snc_event *ev);
/* An event that carries only a type and a code. */
void snc_core_emit_simple(struct snc *c, enum snc_event_type type, int rc);
/*
 * Bring everything up to date after any change: start what can start, give
 * the events of finished requests one at a time. Safe to call from inside a
 * callback (it then only asks the running call to go round again).
 */
void snc_core_settle(struct snc *c, uint64_t now);
/* A timer's wait after `times` retransmissions of something first sent with interval. */
uint32_t snc_core_backoff(const struct snc *c, uint32_t interval_ms, unsigned times);
/* A transmission made at sent_at went unanswered: the RTO doubles, once per
 * round of timeouts however many requests were in flight (see client.c). */
void snc_core_timeout(struct snc *c, uint64_t sent_at, uint64_t now);

/* ---------------------------------------------------------------- conn.c */

/* Run the connection timers that are due. */
void snc_conn_tick(struct snc *c, uint64_t now);
/* When the connection next needs snc_conn_tick (UINT64_MAX: never). */
uint64_t snc_conn_deadline(const struct snc *c);
/* Retransmissions exhausted anywhere: the gateway is gone. */
void snc_conn_lost(struct snc *c, uint64_t now);
/* The gateway showed it is alive while a wake was under way. */
void snc_conn_heard(struct snc *c, uint64_t now);

/* ---------------------------------------------------------------- request.c */

/* Answers to requests: REGACK, PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK,
 * WILLTOPICRESP, WILLMSGRESP. False when nothing was waiting for it. */
bool snc_req_input(struct snc *c, const struct mqttsn_msg *m, uint64_t now);
/* Retransmit what is due; sets *lost when retries ran out. */
void snc_req_tick(struct snc *c, uint64_t now, bool *lost);
/* When the requests next need snc_req_tick (UINT64_MAX: never). */
uint64_t snc_req_deadline(const struct snc *c, uint64_t now);
/* Start whatever can start now. True when something changed. */
bool snc_req_pump(struct snc *c, uint64_t now);
/* Take out the first finished request, or NULL. The caller frees it. */
struct req *snc_req_take_done(struct snc *c);
/* Free a request. */
void snc_req_free(struct req *r);
/* End every request with rc (source messages go back to the source). */
void snc_req_fail_all(struct snc *c, int rc);

/* The request internals request.c lends to request_pump.c and request_answer.c. */

/* Room for one more request of the application's or the source's. */
bool snc_req_room(const struct snc *c);
/* A new request at the end of the list with a buffer of extra octets; NULL when full. */
struct req *snc_req_new(struct snc *c, enum req_kind kind, size_t extra);
/* Copy topic t into r (name into r->buf); returns the octets of r->buf used. */
size_t snc_req_keep_topic(struct req *r, const struct snc_topic *t);
/* End r with rc; its event follows from settle(). */
void snc_req_finish(struct req *r, int rc);
/* The first request of kind in state (with msg_id when by_id), or NULL. */
struct req *snc_req_find(struct snc *c, enum req_kind kind, enum req_state state, bool by_id,
                         uint16_t msg_id);
/* SNC_OK when r's message fits max_msg, SNC_ERR_TOO_BIG otherwise. */
int snc_req_size_check(const struct snc *c, struct req *r);
/* Send r's message as it stands now (DUP from r->retransmitted). */
void snc_req_send_now(struct snc *c, struct req *r, uint64_t now);
/* First transmission of a step (PUBLISH, or PUBREL after PUBREC): r enters
 * state with a fresh timer and, when needed, a message id. */
void snc_req_send_first(struct snc *c, struct req *r, enum req_state state, uint64_t now);
/* r's answer came: a round-trip sample unless r was resent (Karn). */
void snc_req_sample(struct snc *c, const struct req *r, uint64_t now);
/* A congestion answer: r waits a back-off and goes again; false (and r
 * finished with rc) after retry_count of them. */
bool snc_req_defer(struct snc *c, struct req *r, int rc, uint64_t now);
/* Copy m into a new publish request (token set when not NULL). */
int snc_req_make_publish(struct snc *c, const struct snc_message *m, uint32_t *token,
                         struct req **out);
/* Undo the last snc_req_new() (a request that failed its checks). */
void snc_req_unmake(struct snc *c, struct req *r);

/* ---------------------------------------------------------------- inbound.c */

/* PUBLISH, REGISTER and PUBREL from the gateway. False when not one of those. */
bool snc_inbound_input(struct snc *c, const struct mqttsn_msg *m, uint64_t now);

/* ---------------------------------------------------------------- topicmap.c */

/* The id registered for a name, or 0. */
uint16_t snc_tmap_id(const struct snc *c, const char *name, size_t len);
/* The name for a normal (predefined = false) or predefined id, or NULL. */
const struct topic_map *snc_tmap_name(const struct snc *c, uint16_t id, bool predefined);
/* Remember id <-> name (replacing an older entry for either). SNC_OK, _FULL, _NOMEM. */
int snc_tmap_put(struct snc *c, uint16_t id, bool predefined, const char *name, size_t len);
/* Forget a normal id. */
void snc_tmap_forget(struct snc *c, uint16_t id);
/* Forget every normal id (a clean session starts without them). */
void snc_tmap_clear_normal(struct snc *c);
/* Free the map. */
void snc_tmap_free(struct snc *c);

#endif
