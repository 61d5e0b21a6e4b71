/*
 * broker_mem.h - an in-memory MQTT broker for the scenario runner: the
 * broker half of struct gw_ops (bridge/gw.h), in virtual time.
 *
 * It keeps what a real broker keeps: sessions by client id (subscriptions
 * and, for a session that is not clean, QoS 1/2 messages queued while it is
 * offline), Wills, retained messages. It answers the gateway core later, as
 * the contract in gw.h asks: a broker_open is answered connect_us later, a
 * publish, subscribe or unsubscribe ack_us later, a copy for a subscriber
 * leaves deliver_us after the publish. The runner takes those answers with
 * sim_broker_next_time() and sim_broker_pop() and hands them to the core.
 *
 * Every message it receives (from the bridge, or a Will it fires) goes into
 * a record: the report's account of what was delivered is checked against
 * it.
 *
 * Sessions outlive connections and the bridge: when the bridge crashes
 * (sim_broker_drop_all) every connection drops, Wills fire, and a new
 * bridge that connects with CleanSession false finds its subscriptions.
 */
#ifndef SNBRIDGE_SIM_BROKER_MEM_H
#define SNBRIDGE_SIM_BROKER_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge/gw.h"
#include "sim/scenario.h"

/* Messages queued for one offline session, at most (then the oldest go). */
#define SIM_BROKER_OFFLINE_MAX 1000u

/* What the broker tells the gateway core. */
enum sim_broker_ev_kind {
	SIM_BROKER_CONNECTED = 0,  /* gw_on_broker_connected(conn, rc) */
	SIM_BROKER_ACKED,          /* gw_on_broker_acked(conn, token) */
	SIM_BROKER_SUBACKED,       /* gw_on_broker_subacked(conn, token, granted) */
	SIM_BROKER_UNSUBACKED,     /* gw_on_broker_unsubacked(conn, token) */
	SIM_BROKER_MESSAGE,        /* gw_on_broker_message(conn, ...) */
	SIM_BROKER_DISCONNECTED,   /* gw_on_broker_disconnected(conn): taken over by a
	                              newer connection with the same client id */
};

/* One answer; views valid until the next call on the broker. */
struct sim_broker_event {
	enum sim_broker_ev_kind kind;
	uint32_t conn;
	uint32_t token;
	int rc;                /* CONNECTED: 0; SUBACKED: the granted QoS */
	const char *topic;     /* MESSAGE */
	size_t topic_len;
	const uint8_t *payload;
	size_t len;
	int qos;
	bool retain;
};

/* One message the broker received. */
struct sim_broker_rx {
	uint64_t at_us;
	uint32_t client;       /* the publisher's client id: sim_broker_client_name() */
	uint32_t topic;        /* sim_broker_topic_name() */
	uint64_t hash;         /* sim_broker_hash() of the payload */
	uint32_t len;
	uint8_t qos;
	bool retain;
	bool will;             /* a Will fired by the broker, not a publish */
};

struct sim_broker_stats {
	uint64_t opens, closes, drops;     /* connections opened, closed, dropped (crash) */
	uint64_t publishes, bytes;         /* received from the bridge */
	uint64_t acks, subscribes, unsubscribes;
	uint64_t wills;
	uint64_t forwarded;                /* copies sent to subscribers */
	uint64_t queued_offline, dropped_offline;
	uint64_t refused;                  /* calls on a connection that is not up */
};

struct sim_broker;

/* A new broker with the timing of cfg (copied). NULL when out of memory. */
struct sim_broker *sim_broker_new(const struct sim_broker_cfg *cfg);

/* Free it, its sessions and its record. NULL is fine. */
void sim_broker_free(struct sim_broker *b);

/*
 * The broker half of struct gw_ops, with the time added. Each returns 0,
 * or -1 when the request cannot be taken (a publish on a connection that is
 * not up, out of memory), as the gw_ops contract asks.
 */
int sim_broker_open(struct sim_broker *b, uint32_t conn, const struct gw_broker_session *s,
                    uint64_t now_us);
void sim_broker_close(struct sim_broker *b, uint32_t conn, bool fire_will, uint64_t now_us);
int sim_broker_publish(struct sim_broker *b, uint32_t conn, const char *topic, size_t topic_len,
                       const uint8_t *payload, size_t len, int qos, bool retain, uint32_t *token,
                       uint64_t now_us);
int sim_broker_subscribe(struct sim_broker *b, uint32_t conn, const char *filter, size_t len,
                         int qos, uint32_t *token, uint64_t now_us);
int sim_broker_unsubscribe(struct sim_broker *b, uint32_t conn, const char *filter, size_t len,
                           uint32_t *token, uint64_t now_us);

/*
 * The bridge is gone (a crash): every connection drops as a TCP connection
 * would, Wills fire, answers not yet given are forgotten. Sessions stay.
 */
void sim_broker_drop_all(struct sim_broker *b, uint64_t now_us);

/* When the next answer is due; UINT64_MAX when none. */
uint64_t sim_broker_next_time(const struct sim_broker *b);

/* The next answer due at or before now_us into *out; false when none. */
bool sim_broker_pop(struct sim_broker *b, uint64_t now_us, struct sim_broker_event *out);

/* The record of received messages: *n entries, in the order received. */
const struct sim_broker_rx *sim_broker_record(const struct sim_broker *b, size_t *n);

/* The names behind the record's indices ("" for an index never given). */
const char *sim_broker_client_name(const struct sim_broker *b, uint32_t client);
const char *sim_broker_topic_name(const struct sim_broker *b, uint32_t topic);

/* Counters. */
const struct sim_broker_stats *sim_broker_stats(const struct sim_broker *b);

/* Whether client id has a session (connected or not), and its subscriptions. */
bool sim_broker_session(const struct sim_broker *b, const char *client_id, size_t *n_subs);

/* The payload hash the record uses (64-bit FNV-1a). */
uint64_t sim_broker_hash(const uint8_t *p, size_t len);

#endif
