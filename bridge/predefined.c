/*
 * predefined.c - the predefined topics file.
 */
#include "bridge/predefined.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/log.h"
#include "codec/mqttsn.h"
#include "codec/topic.h"

#define FIELDS_MAX 4

void gw_predefined_file_free(struct gw_predefined_file *file)
{
	for (size_t i = 0; i < file->n; i++) {
		free((char *)(uintptr_t)file->entries[i].client_id);
		free((char *)(uintptr_t)file->entries[i].topic);
	}
	free(file->entries);
	file->entries = NULL;
	file->n = file->cap = 0;
}

/*
 * Split s in place on white space; returns the number of fields (capped).
 * A field that starts with '#' ends the line: neither a topic id nor a
 * topic name may contain one, so it can only be a comment.
 */
static size_t split(char *s, char **fields, size_t max)
{
	size_t n = 0;
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0' || *s == '#' || n == max)
			return n;
		fields[n++] = s;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

static int parse_id(const char *s, uint16_t *out)
{
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 0xFFFE)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* A field quoted in a message is cut to this much. */
#define CLIP 48

/* Check one line's fields; reason in why. */
static int check_line(const char *client, const char *id_text, const char *topic, uint16_t *id,
                      char *why, size_t whylen)
{
	char cut[CLIP + 4];
	size_t clen = strlen(client);
	if (client[0] != '\0' && clen > MQTTSN_CLIENT_ID_MAX) {
		snprintf(why, whylen, "client id \"%s\" longer than %u characters",
		         gw_log_clip(client, CLIP, cut, sizeof cut), MQTTSN_CLIENT_ID_MAX);
		return -1;
	}
	if (parse_id(id_text, id) != 0) {
		snprintf(why, whylen, "topic id \"%s\" is not a number from 1 to 65534",
		         gw_log_clip(id_text, CLIP, cut, sizeof cut));
		return -1;
	}
	int rc = mqttsn_topic_name_check(topic, strlen(topic));
	if (rc != MQTTSN_OK) {
		snprintf(why, whylen, "topic \"%s\": %s", gw_log_clip(topic, CLIP, cut, sizeof cut),
		         mqttsn_strerror(rc));
		return -1;
	}
	return 0;
}

static int add(struct gw_predefined_file *file, const char *client, uint16_t id, const char *topic)
{
	if (file->n == file->cap) {
		size_t cap = file->cap ? file->cap * 2 : 16;
		struct gw_predefined *e = realloc(file->entries, cap * sizeof *e);
		if (e == NULL)
			return -1;
		file->entries = e;
		file->cap = cap;
	}
	char *c = strdup(client);
	char *t = strdup(topic);
	if (c == NULL || t == NULL) {
		free(c);
		free(t);
		return -1;
	}
	file->entries[file->n++] = (struct gw_predefined){.client_id = c, .topic_id = id, .topic = t};
	return 0;
}

static const struct gw_predefined *find(const struct gw_predefined_file *file, const char *client,
                                        uint16_t id)
{
	for (size_t i = 0; i < file->n; i++) {
		if (file->entries[i].topic_id == id && strcmp(file->entries[i].client_id, client) == 0)
			return &file->entries[i];
	}
	return NULL;
}

int gw_predefined_parse(FILE *f, const char *name, struct gw_predefined_file *out, char *err,
                        size_t errlen)
{
	memset(out, 0, sizeof *out);
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;
	errno = 0;
	while (rc == 0 && getline(&line, &cap, f) >= 0) {
		lineno++;
		char *fields[FIELDS_MAX];
		size_t n = split(line, fields, FIELDS_MAX);
		if (n == 0)
			continue;
		const char *client = n == 3 ? fields[0] : "";
		const char *id_text = n == 3 ? fields[1] : fields[0];
		const char *topic = n == 3 ? fields[2] : (n == 2 ? fields[1] : "");
		char why[256];
		uint16_t id;
		if (n != 2 && n != 3) {
			snprintf(err, errlen, "%s:%u: expected \"ID TOPIC\" or \"CLIENTID ID TOPIC\"", name,
			         lineno);
			rc = -1;
		} else if (check_line(client, id_text, topic, &id, why, sizeof why) != 0) {
			snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
			rc = -1;
		} else if (find(out, client, id) != NULL) {
			snprintf(err, errlen, "%s:%u: topic id %u defined twice%s%s", name, lineno, id,
			         client[0] ? " for client " : "", client);
			rc = -1;
		} else if (add(out, client, id, topic) != 0) {
			snprintf(err, errlen, "%s:%u: out of memory", name, lineno);
			rc = -1;
		}
		errno = 0;
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno != 0 ? errno : EIO));
		rc = -1;
	}
	free(line);
	if (rc != 0)
		gw_predefined_file_free(out);
	return rc;
}

int gw_predefined_file_load(const char *path, struct gw_predefined_file *out, char *err,
                            size_t errlen)
{
	memset(out, 0, sizeof *out);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int rc = gw_predefined_parse(f, path, out, err, errlen);
	fclose(f);
	return rc;
}
