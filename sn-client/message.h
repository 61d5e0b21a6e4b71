/*
 * message.h - what the station publishes: a topic in one of its three forms,
 * a payload, and the delivery terms (QoS, retain, priority, time to live);
 * and the message's stored form inside a queue record.
 */
#ifndef SNBRIDGE_SNC_MESSAGE_H
#define SNBRIDGE_SNC_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sn-client/error.h"

/* How a topic travels (5.3.4 TopicIdType, 6.7). */
enum snc_topic_kind {
	SNC_TOPIC_NAME = 0,       /* a topic name, registered for an id (6.5) */
	SNC_TOPIC_PREDEFINED = 1, /* an id agreed with the gateway in advance */
	SNC_TOPIC_SHORT = 2,      /* a two-character name carried as the id */
};

/*
 * A topic. name/len: the topic name (NAME), its two characters (SHORT), or
 * a filter (SUBSCRIBE); id: the predefined topic id (PREDEFINED). A view:
 * not NUL-terminated, copied by every function that keeps it.
 */
struct snc_topic {
	enum snc_topic_kind kind;
	const char *name;
	size_t len;
	uint16_t id;
};

/* Priorities: the queue hands out higher ones first, oldest first within one. */
#define SNC_PRIO_ROUTINE 0u
#define SNC_PRIO_HIGH 2u
#define SNC_PRIO_ALARM 3u
#define SNC_PRIO_LEVELS 4u

/* The largest payload any MQTT-SN PUBLISH can carry: 65535 less the
 * 3-octet length header, type, flags, topic id and msg id (5.4.12). */
#define SNC_PAYLOAD_MAX (65535u - 8u)

/*
 * How far an earlier attempt to send a queued QoS 1/2 message got (6.6):
 * what a reconnect or a restart needs to finish it without a duplicate.
 */
enum snc_claim {
	SNC_CLAIM_NONE = 0,   /* never sent */
	SNC_CLAIM_SENT = 1,   /* PUBLISH sent under msg_id; no PUBACK or PUBREC yet */
	SNC_CLAIM_PUBREL = 2, /* QoS 2: PUBREC came and PUBREL went; no PUBCOMP yet */
};

/*
 * One message. The queue fills in seq and enqueued_ms (and, for a message
 * sent before, msg_id and claim); the others are the publisher's.
 * payload/len is a view.
 */
struct snc_message {
	struct snc_topic topic;
	int qos;               /* -1, 0, 1 or 2; -1 needs a PREDEFINED or SHORT topic (6.8) */
	bool retain;
	const uint8_t *payload;
	size_t len;
	uint8_t priority;      /* 0 .. SNC_PRIO_LEVELS - 1, higher is more urgent */
	uint32_t ttl_s;        /* seconds from enqueue to expiry; 0: never */
	uint64_t enqueued_ms;  /* set by the queue: its clock at push */
	uint64_t seq;          /* set by the queue: its order of arrival */
	uint16_t msg_id;       /* set by the queue: the msg id it was sent under
	                          before (claim != SNC_CLAIM_NONE) */
	enum snc_claim claim;  /* set by the queue: how far that got */
};

/*
 * Check a topic for publishing (filter = false: a name without wildcards)
 * or subscribing (filter = true). Returns SNC_OK or SNC_ERR_INVALID: an
 * empty or malformed name, a SHORT name that is not 2 octets, a PREDEFINED
 * id 0x0000 or 0xFFFF (reserved, 5.3.11).
 */
SNC_MUST_CHECK int snc_topic_check(const struct snc_topic *t, bool filter);

/*
 * Check a message before it is queued or sent: its topic, qos -1..2 (and
 * -1 only with PREDEFINED or SHORT), priority, payload at most
 * SNC_PAYLOAD_MAX. Returns SNC_OK, SNC_ERR_INVALID or SNC_ERR_TOO_BIG.
 */
SNC_MUST_CHECK int snc_message_check(const struct snc_message *m);

/* The size of m's stored form (what snc_message_store writes). */
size_t snc_message_stored_size(const struct snc_message *m);

/*
 * Write m's stored form into buf[0..cap): every field of the message,
 * seq aside (the record around it carries that). Returns the octets
 * written or SNC_ERR_FULL when cap is too small. m must pass
 * snc_message_check.
 */
SNC_MUST_CHECK int snc_message_store(uint8_t *buf, size_t cap, const struct snc_message *m);

/*
 * Read a stored form back: *out gets views into buf (seq is left alone).
 * Returns SNC_OK or SNC_ERR_CORRUPT.
 */
SNC_MUST_CHECK int snc_message_load(const uint8_t *buf, size_t len, struct snc_message *out);

#endif
