/*
 * stations_corpus.c - telemetry corpora as payloads (stations_corpus.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/stations_corpus.h"

#define WEATHER_HEADER "date,pressure,temperature,wind"

/* ---------------------------------------------------------------- building */

struct builder {
	struct sim_corpus *c;
	size_t cap, reccap;
};

static int add_bytes(struct builder *b, const char *s, size_t n)
{
	struct sim_corpus *c = b->c;

	if (c->total + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap < c->total + n)
			cap *= 2;
		p = realloc(c->data, cap);
		if (p == NULL)
			return -1;
		c->data = p;
		b->cap = cap;
	}
	memcpy(c->data + c->total, s, n);
	c->total += n;
	return 0;
}

static int begin_record(struct builder *b)
{
	struct sim_corpus *c = b->c;

	if (c->n == b->reccap) {
		size_t cap = b->reccap ? b->reccap * 2 : 256;
		size_t *o = realloc(c->off, cap * sizeof *o);

		if (o == NULL)
			return -1;
		c->off = o;
		o = realloc(c->len, cap * sizeof *o);
		if (o == NULL)
			return -1;
		c->len = o;
		b->reccap = cap;
	}
	c->off[c->n] = c->total;
	c->len[c->n] = 0;
	return 0;
}

static void end_record(struct builder *b)
{
	struct sim_corpus *c = b->c;

	c->len[c->n] = c->total - c->off[c->n];
	c->n++;
}

/* ---------------------------------------------------------------- formats */

static void chomp(char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
}

/* A number as JSON takes it: an optional minus, digits, an optional fraction. */
static int json_number(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/* A timestamp with nothing JSON would need escaped. */
static int plain_text(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return 0;
	return 1;
}

static int weather_row(struct builder *b, char *line)
{
	char *f[4];
	char *p = line;
	int i;

	for (i = 0; i < 4; i++) {
		f[i] = p;
		p = strchr(p, ',');
		if (i < 3) {
			if (p == NULL)
				return 1;
			*p++ = '\0';
		} else if (p != NULL) {
			return 1;
		}
	}
	if (!plain_text(f[0]) || !json_number(f[1]) || !json_number(f[2]) || !json_number(f[3]))
		return 1;
	if (begin_record(b) != 0 || add_bytes(b, "{\"ts\":\"", 7) != 0 ||
	    add_bytes(b, f[0], strlen(f[0])) != 0 || add_bytes(b, "\",\"pressure_hpa\":", 17) != 0 ||
	    add_bytes(b, f[1], strlen(f[1])) != 0 || add_bytes(b, ",\"temp_c\":", 10) != 0 ||
	    add_bytes(b, f[2], strlen(f[2])) != 0 || add_bytes(b, ",\"wind_ms\":", 11) != 0 ||
	    add_bytes(b, f[3], strlen(f[3])) != 0 || add_bytes(b, "}", 1) != 0)
		return -1;
	end_record(b);
	return 0;
}

static int jsonl_row(struct builder *b, const char *line)
{
	if (line[0] == '\0')
		return 0;
	if (begin_record(b) != 0 || add_bytes(b, line, strlen(line)) != 0)
		return -1;
	end_record(b);
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---------------------------------------------------------------- loading */

int sim_corpus_load(struct sim_corpus *c, const char *path, char *err, size_t errcap)
{
	struct builder b = { c, 0, 0 };
	char *line = NULL;
	size_t linecap = 0;
	unsigned long lineno = 0;
	int csv, rc = 0;
	FILE *fp;

	memset(c, 0, sizeof *c);
	csv = ends_with(path, ".csv");
	if (!csv && !ends_with(path, ".jsonl")) {
		snprintf(err, errcap, "%s: unknown corpus format (want .csv weather or .jsonl)", path);
		return -1;
	}
	fp = fopen(path, "r");
	if (fp == NULL) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return -1;
	}
	c->path = strdup(path);
	if (c->path == NULL)
		rc = -1;
	while (rc == 0 && getline(&line, &linecap, fp) >= 0) {
		lineno++;
		chomp(line);
		if (csv && lineno == 1) {
			if (strcmp(line, WEATHER_HEADER) != 0) {
				snprintf(err, errcap, "%s:1: expected the header \"%s\"", path,
				         WEATHER_HEADER);
				rc = -2;
			}
			continue;
		}
		rc = csv ? weather_row(&b, line) : jsonl_row(&b, line);
		if (rc > 0) {
			snprintf(err, errcap, "%s:%lu: not a weather row (date,pressure,temperature,wind)",
			         path, lineno);
			rc = -2;
		}
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(err, errcap, "%s: read error", path);
		rc = -2;
	}
	free(line);
	fclose(fp);
	if (rc == 0 && c->n == 0) {
		snprintf(err, errcap, "%s: no records", path);
		rc = -2;
	}
	if (rc == -1)
		snprintf(err, errcap, "%s: out of memory", path);
	if (rc != 0) {
		sim_corpus_free(c);
		return -1;
	}
	return 0;
}

void sim_corpus_free(struct sim_corpus *c)
{
	free(c->path);
	free(c->data);
	free(c->off);
	free(c->len);
	memset(c, 0, sizeof *c);
}

void sim_corpus_get(const struct sim_corpus *c, uint64_t i, const uint8_t **p, size_t *len)
{
	size_t k = (size_t)(i % c->n);

	*p = c->data + c->off[k];
	*len = c->len[k];
}
