/*
 * broker_mem_names.c - the in-memory broker's small things
 * (broker_mem_int.h): client ids and topics interned as numbers for the
 * record, stored copies of messages, and the payload hash.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/broker_mem_int.h"

uint64_t sim_broker_hash(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int names_grow(struct sim_bm_names *t)
{
	uint32_t n = t->nslots ? t->nslots * 2 : 256, i;
	uint32_t *slot = calloc(n, sizeof *slot);

	if (slot == NULL)
		return -1;
	for (i = 0; i < t->n; i++) {
		uint32_t h = (uint32_t)sim_broker_hash((const uint8_t *)t->s[i], t->len[i]) & (n - 1);

		while (slot[h] != 0)
			h = (h + 1) & (n - 1);
		slot[h] = i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->nslots = n;
	return 0;
}

int64_t sim_bm_names_put(struct sim_bm_names *t, const char *s, size_t len)
{
	uint32_t h;
	char *c;

	if (t->n * 2 >= t->nslots && names_grow(t) != 0)
		return -1;
	h = (uint32_t)sim_broker_hash((const uint8_t *)s, len) & (t->nslots - 1);
	while (t->slot[h] != 0) {
		uint32_t i = t->slot[h] - 1;

		if (t->len[i] == len && memcmp(t->s[i], s, len) == 0)
			return i;
		h = (h + 1) & (t->nslots - 1);
	}
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 64;
		char **ns = realloc(t->s, cap * sizeof *ns);
		size_t *nl;

		if (ns == NULL)
			return -1;
		t->s = ns;
		nl = realloc(t->len, cap * sizeof *nl);
		if (nl == NULL)
			return -1;
		t->len = nl;
		t->cap = cap;
	}
	c = malloc(len + 1);
	if (c == NULL)
		return -1;
	memcpy(c, s, len);
	c[len] = '\0';
	t->s[t->n] = c;
	t->len[t->n] = len;
	t->slot[h] = t->n + 1;
	return t->n++;
}

void sim_bm_names_free(struct sim_bm_names *t)
{
	uint32_t i;

	for (i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	free(t->len);
	free(t->slot);
}

struct sim_bm_msgv sim_bm_view(const struct sim_bm_stored *m)
{
	struct sim_bm_msgv v = { m->topic, m->topic_len, m->payload, m->len, m->qos, m->retain };

	return v;
}

void sim_bm_stored_free(struct sim_bm_stored *m)
{
	free(m->topic);
	free(m->payload);
	memset(m, 0, sizeof *m);
}

int sim_bm_stored_set(struct sim_bm_stored *m, const char *topic, size_t topic_len,
                      const uint8_t *payload, size_t len, int qos, bool retain)
{

	memset(m, 0, sizeof *m);
	m->topic = malloc(topic_len + 1);
	m->payload = malloc(len ? len : 1);
	if (m->topic == NULL || m->payload == NULL) {
		sim_bm_stored_free(m);
		return -1;
	}
	memcpy(m->topic, topic, topic_len);
	m->topic[topic_len] = '\0';
	m->topic_len = topic_len;
	if (len)
		memcpy(m->payload, payload, len);
	m->len = len;
	m->qos = qos;
	m->retain = retain;
	return 0;
}
