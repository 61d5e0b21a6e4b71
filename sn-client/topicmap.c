/*
 * topicmap.c - the client's topic ids: those the gateway gave in REGACK,
 * SUBACK or its own REGISTER, and the names the application gave to
 * predefined ids. A small array searched linearly: max_topics is tens on a
 * station, and lookups happen once a message.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sn-client/client_impl.h"

uint16_t snc_tmap_id(const struct snc *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->ntopics; i++) {
		const struct topic_map *t = &c->topics[i];

		if (!t->predefined && t->len == len && memcmp(t->name, name, len) == 0)
			return t->id;
	}
	return 0;
}

const struct topic_map *snc_tmap_name(const struct snc *c, uint16_t id, bool predefined)
{
	for (size_t i = 0; i < c->ntopics; i++)
		if (c->topics[i].id == id && c->topics[i].predefined == predefined)
			return &c->topics[i];
	return NULL;
}

static void remove_at(struct snc *c, size_t i)
{
	free(c->topics[i].name);
	c->topics[i] = c->topics[--c->ntopics];
}

int snc_tmap_put(struct snc *c, uint16_t id, bool predefined, const char *name, size_t len)
{
	struct topic_map *t;
	char *copy;

	/* One id per name and one name per id: a new answer replaces the old. */
	for (size_t i = 0; i < c->ntopics;) {
		t = &c->topics[i];
		if (t->predefined == predefined &&
		    (t->id == id || (t->len == len && memcmp(t->name, name, len) == 0)))
			remove_at(c, i);
		else
			i++;
	}
	/* Full: a learned id makes room (it is learned again when needed, by a
	 * REGISTER); the application's predefined names never do. */
	for (size_t i = 0; c->ntopics >= c->cfg.max_topics && !predefined && i < c->ntopics; i++) {
		if (!c->topics[i].predefined) {
			remove_at(c, i);
			break;
		}
	}
	if (c->ntopics >= c->cfg.max_topics)
		return SNC_ERR_FULL;
	copy = malloc(len + 1);
	if (copy == NULL)
		return SNC_ERR_NOMEM;
	if (len > 0)
		memcpy(copy, name, len);
	copy[len] = '\0';
	t = &c->topics[c->ntopics++];
	t->id = id;
	t->predefined = predefined;
	t->name = copy;
	t->len = len;
	return SNC_OK;
}

void snc_tmap_forget(struct snc *c, uint16_t id)
{
	for (size_t i = 0; i < c->ntopics; i++) {
		if (!c->topics[i].predefined && c->topics[i].id == id) {
			remove_at(c, i);
			return;
		}
	}
}

void snc_tmap_clear_normal(struct snc *c)
{
	for (size_t i = 0; i < c->ntopics;) {
		if (!c->topics[i].predefined)
			remove_at(c, i);
		else
			i++;
	}
}

void snc_tmap_free(struct snc *c)
{
	for (size_t i = 0; i < c->ntopics; i++)
		free(c->topics[i].name);
	free(c->topics);
	c->topics = NULL;
	c->ntopics = 0;
}
