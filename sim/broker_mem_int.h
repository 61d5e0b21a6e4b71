/*
 * broker_mem_int.h - the in-memory broker's state, shared by its files and
 * by no one else:
 *   broker_mem.c        connections, sessions, the gw_ops half, answers
 *   broker_mem_route.c  what a received message becomes: the record,
 *                       retained messages, copies for subscribers
 *   broker_mem_names.c  interned names, stored messages, the payload hash
 */
#ifndef SNBRIDGE_SIM_BROKER_MEM_INT_H
#define SNBRIDGE_SIM_BROKER_MEM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/broker_mem.h"
#include "sim/scenario_heap.h"

/* Interned strings: index <-> text, for client ids and topics. */
struct sim_bm_names {
	char **s;
	size_t *len;
	uint32_t n, cap;
	uint32_t *slot;       /* open addressing: index + 1, 0 empty */
	uint32_t nslots;
};

struct sim_bm_sub {
	char *filter;
	size_t len;
	int qos;
};

struct sim_bm_stored {
	char *topic;
	size_t topic_len;
	uint8_t *payload;
	size_t len;
	int qos;
	bool retain;
};

/* A message as a view: what passes through without being kept. */
struct sim_bm_msgv {
	const char *topic;
	size_t topic_len;
	const uint8_t *payload;
	size_t len;
	int qos;
	bool retain;
};


struct sim_bm_session {
	bool present;
	bool clean;
	bool connected;      /* a connection is attached */
	uint32_t conn;
	struct sim_bm_sub *subs;
	size_t nsubs;
	bool has_will;
	struct sim_bm_stored will;
	struct sim_bm_stored *offline;
	size_t noffline;
};

enum sim_bm_conn_state { SIM_BM_OPENING, SIM_BM_UP };

struct sim_bm_conn {
	uint32_t conn;
	uint32_t client;      /* session index */
	uint64_t incarnation;
	enum sim_bm_conn_state state;
};

struct sim_bm_event {
	bool used;
	enum sim_broker_ev_kind kind;
	uint32_t conn;
	uint64_t incarnation;
	uint32_t token;
	int rc;
	struct sim_bm_stored m;      /* MESSAGE */
	uint32_t next_free;
};

struct sim_broker {
	struct sim_broker_cfg cfg;
	struct sim_bm_names clients, topics;
	struct sim_bm_session *sess;  /* by client index */
	size_t nsess;
	struct sim_bm_conn *conns;    /* sorted by conn number */
	size_t nconns, conncap;
	uint64_t incarnations;
	struct sim_bm_event *ev;
	uint32_t nev, evcap, free_ev;   /* free_ev: index + 1 of the first free slot */
	struct sim_pq due;
	struct sim_bm_stored *retained;
	size_t nretained;
	struct sim_broker_rx *rec;
	size_t nrec, reccap;
	uint32_t next_token;
	struct sim_bm_event popped;   /* the last answer handed out, for its views */
	bool has_popped;
	struct sim_broker_stats st;
};

/* ---------------------------------------------------------------- broker_mem.c */

/* The connection numbered conn, or NULL. */
struct sim_bm_conn *sim_bm_conn_find(struct sim_broker *b, uint32_t conn);
/* An answer of kind for connection c, due at `at`; NULL out of memory. */
struct sim_bm_event *sim_bm_event_new(struct sim_broker *b, enum sim_broker_ev_kind kind,
                                      const struct sim_bm_conn *c, uint64_t at);
/* Empty a session (it is no longer present). */
void sim_bm_session_clear(struct sim_bm_session *s);

/* ---------------------------------------------------------------- broker_mem_route.c */

/* A copy of m at qos for connection c, due at `at`. Returns 0 or -1. */
int sim_bm_message_to(struct sim_broker *b, const struct sim_bm_conn *c,
                      const struct sim_bm_msgv *m, int qos, uint64_t at);
/* A message received from client (or its Will): note it in the record,
 * keep it when retained, and pass it to the subscribers. */
void sim_bm_receive(struct sim_broker *b, uint32_t client, const struct sim_bm_msgv *m, bool will,
                    uint64_t now);

/* ---------------------------------------------------------------- broker_mem_names.c */

/* The index of s[0..len), added when new; -1 out of memory. */
int64_t sim_bm_names_put(struct sim_bm_names *t, const char *s, size_t len);
/* Free the names. */
void sim_bm_names_free(struct sim_bm_names *t);
/* A stored message as a view. */
struct sim_bm_msgv sim_bm_view(const struct sim_bm_stored *m);
/* Copy a message into m. Returns 0, or -1 out of memory (m then empty). */
int sim_bm_stored_set(struct sim_bm_stored *m, const char *topic, size_t topic_len,
                      const uint8_t *payload, size_t len, int qos, bool retain);
/* Free a stored message; it is empty after. */
void sim_bm_stored_free(struct sim_bm_stored *m);

#endif
