/*
 * message.c - checking a message, and its stored form.
 *
 * Stored form (all integers big-endian), the payload of a queue record:
 *
 *   0   1  layout version (1)
 *   1   1  priority
 *   2   1  qos as an octet (0xFF is -1)
 *   3   1  bit 0 retain, bits 2-1 topic kind
 *   4   8  enqueued_ms
 *   12  4  ttl_s
 *   16  2  predefined topic id
 *   18  2  name length n
 *   20  n  topic name (NAME, SHORT)
 *   ..     payload: the rest
 */
#include <assert.h>
#include <string.h>

#include "codec/topic.h"
#include "sn-client/message.h"

#define LAYOUT_VERSION 1u
#define FIXED 20u

/* ---------------------------------------------------------------- checks */

int snc_topic_check(const struct snc_topic *t, bool filter)
{
	assert(t != NULL);
	switch (t->kind) {
	case SNC_TOPIC_PREDEFINED:
		/* 5.3.11: 0x0000 and 0xFFFF are reserved. */
		return t->id == 0x0000u || t->id == 0xFFFFu ? SNC_ERR_INVALID : SNC_OK;
	case SNC_TOPIC_SHORT:
		if (t->name == NULL || t->len != 2)
			return SNC_ERR_INVALID;
		break;
	case SNC_TOPIC_NAME:
		if (t->name == NULL && t->len > 0)
			return SNC_ERR_INVALID;
		break;
	default:
		return SNC_ERR_INVALID;
	}
	if (filter)
		return mqttsn_topic_filter_check(t->name, t->len) == MQTTSN_OK ? SNC_OK : SNC_ERR_INVALID;
	return mqttsn_topic_name_check(t->name, t->len) == MQTTSN_OK ? SNC_OK : SNC_ERR_INVALID;
}

int snc_message_check(const struct snc_message *m)
{
	assert(m != NULL);
	if (m->qos < -1 || m->qos > 2 || m->priority >= SNC_PRIO_LEVELS)
		return SNC_ERR_INVALID;
	/* 6.8: QoS -1 has no connection, so no REGISTER: the topic must be known. */
	if (m->qos == -1 && m->topic.kind == SNC_TOPIC_NAME)
		return SNC_ERR_INVALID;
	if (m->len > 0 && m->payload == NULL)
		return SNC_ERR_INVALID;
	if (snc_topic_check(&m->topic, false) != SNC_OK)
		return SNC_ERR_INVALID;
	if (m->len > SNC_PAYLOAD_MAX || (m->topic.kind == SNC_TOPIC_NAME && m->topic.len > 0xFFFFu))
		return SNC_ERR_TOO_BIG;
	return SNC_OK;
}

/* ---------------------------------------------------------------- stored form */

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xFFFFu);
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) << 16 | get16(p + 2);
}

static size_t name_len(const struct snc_message *m)
{
	return m->topic.kind == SNC_TOPIC_PREDEFINED ? 0 : m->topic.len;
}

size_t snc_message_stored_size(const struct snc_message *m)
{
	assert(m != NULL);
	return FIXED + name_len(m) + m->len;
}

int snc_message_store(uint8_t *buf, size_t cap, const struct snc_message *m)
{
	size_t n, size;

	assert(m != NULL && snc_message_check(m) == SNC_OK);
	n = name_len(m);
	size = snc_message_stored_size(m);
	if (cap < size)
		return SNC_ERR_FULL;
	buf[0] = LAYOUT_VERSION;
	buf[1] = m->priority;
	buf[2] = (uint8_t)(m->qos & 0xFF);
	buf[3] = (uint8_t)((m->retain ? 1u : 0u) | ((unsigned)m->topic.kind << 1));
	put32(buf + 4, (uint32_t)(m->enqueued_ms >> 32));
	put32(buf + 8, (uint32_t)m->enqueued_ms);
	put32(buf + 12, m->ttl_s);
	put16(buf + 16, m->topic.kind == SNC_TOPIC_PREDEFINED ? m->topic.id : 0u);
	put16(buf + 18, (uint32_t)n);
	if (n > 0)
		memcpy(buf + FIXED, m->topic.name, n);
	if (m->len > 0)
		memcpy(buf + FIXED + n, m->payload, m->len);
	return (int)size;
}

int snc_message_load(const uint8_t *buf, size_t len, struct snc_message *out)
{
	unsigned kind;
	size_t n;

	assert(out != NULL);
	if (len < FIXED || buf[0] != LAYOUT_VERSION)
		return SNC_ERR_CORRUPT;
	kind = (unsigned)(buf[3] >> 1) & 3u;
	n = get16(buf + 18);
	if (n > len - FIXED)
		return SNC_ERR_CORRUPT;
	out->priority = buf[1];
	out->qos = buf[2] == 0xFFu ? -1 : buf[2];
	out->retain = (buf[3] & 1u) != 0;
	out->topic.kind = (enum snc_topic_kind)kind;
	out->enqueued_ms = (uint64_t)get32(buf + 4) << 32 | get32(buf + 8);
	out->ttl_s = get32(buf + 12);
	out->topic.id = (uint16_t)get16(buf + 16);
	out->topic.name = n > 0 ? (const char *)(buf + FIXED) : NULL;
	out->topic.len = n;
	out->payload = len - FIXED - n > 0 ? buf + FIXED + n : NULL;
	out->len = len - FIXED - n;
	/* A record's CRC guards against damage; this guards against a record
	 * written by something else, so that nothing invalid reaches the wire. */
	return snc_message_check(out) == SNC_OK ? SNC_OK : SNC_ERR_CORRUPT;
}
