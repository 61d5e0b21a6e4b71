/*
 * gw_topics.c - predefined topic ids (6.7): agreed in advance, per client id
 * or for every client, and replaced as a whole (SIGHUP reload).
 *
 * A client's own entry wins over the global one with the same id or name.
 */
#include <stdlib.h>
#include <string.h>

#include "bridge/gw_int.h"
#include "codec/topic.h"

void gw_predef_free(struct gw *gw)
{
	size_t i;

	for (i = 0; i < gw->npredef; i++)
		free(gw->predef[i].name);
	free(gw->predef);
	gw->predef = NULL;
	gw->npredef = 0;
}

int gw_predefined_set(struct gw *gw, const struct gw_predefined *entries, size_t n)
{
	struct gw_predef *t = NULL;
	size_t i, k = 0, len, idlen;

	if (n != 0) {
		t = calloc(n, sizeof *t);
		if (t == NULL)
			return -1;
	}
	for (i = 0; i < n; i++) {
		const struct gw_predefined *e = &entries[i];

		idlen = e->client_id != NULL ? strlen(e->client_id) : 0;
		len = e->topic != NULL ? strlen(e->topic) : 0;
		/* ids 0x0000 and 0xFFFF are reserved (5.3.11) */
		if (idlen > MQTTSN_CLIENT_ID_MAX || e->topic_id == 0 || e->topic_id == 0xFFFFu ||
		    mqttsn_topic_name_check(e->topic, len) != MQTTSN_OK) {
			gw_say(gw, GW_LOG_WARN, "predefined topic %u \"%s\" skipped: invalid",
			       (unsigned)e->topic_id, e->topic != NULL ? e->topic : "");
			continue;
		}
		t[k].name = malloc(len + 1);
		if (t[k].name == NULL) {
			while (k > 0)
				free(t[--k].name);
			free(t);
			return -1;
		}
		memcpy(t[k].name, e->topic, len + 1);
		t[k].len = len;
		t[k].id = e->topic_id;
		if (idlen != 0)
			memcpy(t[k].client_id, e->client_id, idlen + 1);
		k++;
	}
	gw_predef_free(gw);
	gw->predef = t;
	gw->npredef = k;
	if (k == 0) {
		free(t);
		gw->predef = NULL;
	}
	return 0;
}

static const struct gw_predef *lookup(const struct gw *gw, const char *client_id, bool by_id,
                                      uint16_t id, const char *name, size_t len)
{
	const struct gw_predef *global = NULL;
	size_t i;

	for (i = 0; i < gw->npredef; i++) {
		const struct gw_predef *p = &gw->predef[i];

		if (by_id ? p->id != id : (p->len != len || memcmp(p->name, name, len) != 0))
			continue;
		if (p->client_id[0] == '\0') {
			if (global == NULL)
				global = p;
		} else if (strcmp(p->client_id, client_id) == 0) {
			return p;
		}
	}
	return global;
}

const struct gw_predef *gw_predef_by_id(const struct gw *gw, const char *client_id,
                                        uint16_t id)
{
	return lookup(gw, client_id, true, id, NULL, 0);
}

const struct gw_predef *gw_predef_by_name(const struct gw *gw, const char *client_id,
                                          const char *name, size_t len)
{
	const struct gw_predef *p = lookup(gw, client_id, false, 0, name, len);

	/* a global id the client has redefined for itself means its own topic */
	if (p != NULL && p->client_id[0] == '\0' && gw_predef_by_id(gw, client_id, p->id) != p)
		return NULL;
	return p;
}
