/*
 * store_format.c - the payloads of the custody store's records: pure
 * functions over buffers. All integers big-endian.
 *
 * UP, DOWN:
 *   1      client id length n (1-23)
 *   n      client id
 *   8      received, wall-clock ms
 *   4      time to live, s (0: none)
 *   2      the station's msg id (UP at QoS 2), else 0
 *   2      topic length t
 *   t      topic name
 *   rest   the message's payload
 * Every other record with a payload: client id length, client id, then
 * what the record carries (HOLD and RELEASE: 2 octets of msg id; MARK: 2
 * octets of the broker's packet id; SESSION: the blob; DONE and
 * SESSION_DEL: nothing).
 */
#include <assert.h>
#include <string.h>

#include "bridge/store_int.h"

#define MSG_FIXED (1u + 8u + 4u + 2u + 2u)

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xFFFFu);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static bool id_ok(const uint8_t *id, size_t n)
{
	return n >= 1 && n <= GW_STORE_CLIENT_ID_MAX && memchr(id, '\0', n) == NULL;
}

/* ---------------------------------------------------------------- messages */

size_t gw_sfmt_msg_size(size_t idlen, size_t topic_len, size_t payload_len)
{
	return MSG_FIXED + idlen + topic_len + payload_len;
}

void gw_sfmt_msg_put(uint8_t *buf, const struct msg_view *m)
{
	uint8_t *p = buf;

	assert(m->idlen >= 1 && m->idlen <= GW_STORE_CLIENT_ID_MAX && m->topic_len <= 0xFFFFu);
	*p++ = (uint8_t)m->idlen;
	memcpy(p, m->id, m->idlen);
	p += m->idlen;
	put64(p, m->received_ms);
	put32(p + 8, m->ttl_s);
	put16(p + 12, m->msg_id);
	put16(p + 14, (uint32_t)m->topic_len);
	p += 16;
	if (m->topic_len > 0)
		memcpy(p, m->topic, m->topic_len);
	p += m->topic_len;
	if (m->payload_len > 0)
		memcpy(p, m->payload, m->payload_len);
}

bool gw_sfmt_msg_get(const uint8_t *buf, size_t len, struct msg_view *m)
{
	size_t left = len, n, t;
	const uint8_t *p = buf;

	if (left < MSG_FIXED)
		return false;
	n = *p++;
	left--;
	if (n > left - (MSG_FIXED - 1u) || !id_ok(p, n))
		return false;
	m->id = (const char *)p;
	m->idlen = n;
	p += n;
	left -= n;
	m->received_ms = get64(p);
	m->ttl_s = get32(p + 8);
	m->msg_id = (uint16_t)get16(p + 12);
	t = get16(p + 14);
	p += 16;
	left -= 16;
	if (t > left)
		return false;
	m->topic = (const char *)p;
	m->topic_len = t;
	m->payload = p + t;
	m->payload_len = left - t;
	return true;
}

/* ---------------------------------------------------------------- the others */

size_t gw_sfmt_id_size(size_t idlen, size_t rest)
{
	return 1u + idlen + rest;
}

void gw_sfmt_id_put(uint8_t *buf, const char *id, size_t idlen, const uint8_t *rest, size_t n)
{
	assert(idlen >= 1 && idlen <= GW_STORE_CLIENT_ID_MAX);
	buf[0] = (uint8_t)idlen;
	memcpy(buf + 1, id, idlen);
	if (n > 0)
		memcpy(buf + 1 + idlen, rest, n);
}

bool gw_sfmt_id_get(const uint8_t *buf, size_t len, const char **id, size_t *idlen,
                    const uint8_t **rest, size_t *n)
{
	size_t k;

	if (len < 1)
		return false;
	k = buf[0];
	if (k > len - 1 || !id_ok(buf + 1, k))
		return false;
	*id = (const char *)buf + 1;
	*idlen = k;
	*rest = buf + 1 + k;
	*n = len - 1 - k;
	return true;
}
