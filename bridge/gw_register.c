/*
 * gw_register.c - per-client topic ids and the client's REGISTER (6.5).
 *
 * Topic ids are per client, 0x0001..0xFFFE (0x0000 and 0xFFFF are reserved,
 * 5.3.11), kept for the life of the session. A client has few topics, so
 * the table is an array searched in order.
 */
#include <stdlib.h>
#include <string.h>

#include "bridge/gw_int.h"
#include "codec/topic.h"

struct gw_topic *gw_topic_by_id(const struct gw_session *s, uint16_t id)
{
	uint32_t i;

	for (i = 0; i < s->ntopics; i++)
		if (s->topics[i].id == id)
			return &s->topics[i];
	return NULL;
}

struct gw_topic *gw_topic_by_name(const struct gw_session *s, const char *name, size_t len)
{
	uint32_t i;

	for (i = 0; i < s->ntopics; i++)
		if (s->topics[i].len == len && memcmp(s->topics[i].name, name, len) == 0)
			return &s->topics[i];
	return NULL;
}

/* The next id not in use; the table is never full when this is called. */
static uint16_t next_free_id(struct gw_session *s)
{
	uint16_t id = s->next_topic_id;

	for (;;) {
		if (id == 0 || id == 0xFFFFu)
			id = 1;
		if (gw_topic_by_id(s, id) == NULL)
			break;
		id++;
	}
	s->next_topic_id = (uint16_t)(id + 1u);
	return id;
}

struct gw_topic *gw_topic_add(struct gw *gw, struct gw_session *s, const char *name, size_t len)
{
	struct gw_topic *t;
	char *copy;

	if (s->ntopics >= gw->cfg.max_topics)
		return NULL;
	if (s->ntopics == s->captopics) {
		uint32_t cap = s->captopics ? s->captopics * 2 : 4;

		if (cap > gw->cfg.max_topics)
			cap = gw->cfg.max_topics;
		t = realloc(s->topics, cap * sizeof *t);
		if (t == NULL)
			return NULL;
		s->topics = t;
		s->captopics = cap;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, name, len);
	copy[len] = '\0';
	t = &s->topics[s->ntopics];
	t->id = next_free_id(s);
	t->client_knows = false;
	t->len = len;
	t->name = copy;
	s->ntopics++;
	gw_persist_mark(gw, s);
	return t;
}

void gw_topic_forget_all(struct gw_session *s)
{
	uint32_t i;

	for (i = 0; i < s->ntopics; i++)
		s->topics[i].client_knows = false;
}

static void regack(struct gw *gw, struct gw_session *s, uint16_t topic_id, uint16_t msg_id,
                   uint8_t rc)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_REGACK;
	m.u.regack.topic_id = topic_id;
	m.u.regack.msg_id = msg_id;
	m.u.regack.rc = rc;
	(void)gw_tx(gw, s, &m);
}

void gw_reg_on_register(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                        const struct mqttsn_msg *m)
{
	const char *name = (const char *)m->u.reg.topic_name.ptr;
	size_t len = m->u.reg.topic_name.len;
	struct gw_topic *t;

	if (mqttsn_topic_name_check(name, len) != MQTTSN_OK) {
		/* a wildcard cannot be published on: 5.4.10 "not supported" */
		gw_note(gw, s, GW_CAUSE_PROTOCOL, rx->now, "REGISTER of an invalid topic name");
		regack(gw, s, 0, m->u.reg.msg_id, MQTTSN_RC_NOT_SUPPORTED);
		return;
	}
	t = gw_topic_by_name(s, name, len);
	if (t == NULL)
		t = gw_topic_add(gw, s, name, len);
	if (t == NULL) {
		gw_note(gw, s, GW_CAUSE_TOPICS, rx->now, "REGACK congestion: max_topics %u reached",
		        (unsigned)gw->cfg.max_topics);
		regack(gw, s, 0, m->u.reg.msg_id, MQTTSN_RC_CONGESTION);
		return;
	}
	t->client_knows = true;
	gw_persist_mark(gw, s);
	regack(gw, s, t->id, m->u.reg.msg_id, MQTTSN_RC_ACCEPTED);
}
