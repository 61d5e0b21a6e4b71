/*
 * trace.c - outage schedules from `--down START+LEN` and from trace files.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/trace.h"

#define TRACE_FILE_MAX (64u * 1024 * 1024) /* a trace file, at most */
#define TRACE_LINE_MAX 256u                /* one line, at most */

int sim_outages_add(struct sim_outages *o, uint64_t down_us, uint64_t up_us)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct sim_outage *v;

		if (o->n >= SIM_OUTAGES_MAX) {
			errno = E2BIG;
			return -1;
		}
		v = realloc(o->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n].down_us = down_us;
	o->v[o->n].up_us = up_us;
	o->n++;
	return 0;
}

void sim_outages_free(struct sim_outages *o)
{
	free(o->v);
	o->v = NULL;
	o->n = o->cap = 0;
}

/* Seconds as a decimal number (no sign, no exponent games) into
 * microseconds; *end after it. False if there is none or it is too big. */
static bool seconds(const char *s, uint64_t *us, const char **end)
{
	char *e;
	double v;

	if (*s < '0' || *s > '9')
		return false; /* strtod would take "-1", " 1", "inf", "nan" */
	errno = 0;
	v = strtod(s, &e);
	if (errno != 0 || !isfinite(v) || v < 0 || v > 1e12)
		return false;
	*us = (uint64_t)llround(v * 1e6);
	*end = e;
	return true;
}

int sim_outages_parse_down(struct sim_outages *o, const char *arg, char *err, size_t errlen)
{
	uint64_t start, len;
	const char *p;

	if (!seconds(arg, &start, &p) || *p != '+' || !seconds(p + 1, &len, &p) || *p != '\0') {
		snprintf(err, errlen, "--down \"%s\": expected START+LENGTH in seconds (e.g. 600+90)",
		         arg);
		return -1;
	}
	if (len == 0) {
		snprintf(err, errlen, "--down \"%s\": the length must be more than 0", arg);
		return -1;
	}
	if (sim_outages_add(o, start, start + len) != 0) {
		snprintf(err, errlen, "--down \"%s\": %s", arg, strerror(errno));
		return -1;
	}
	return 0;
}

/* One data line "down,up" (already trimmed): 0, or -1 with what is wrong. */
static int parse_line(struct sim_outages *o, const char *line, const char **why)
{
	uint64_t down, up;
	const char *p;

	if (!seconds(line, &down, &p) || *p != ',') {
		*why = "expected down_at_s,up_at_s (seconds)";
		return -1;
	}
	if (!seconds(p + 1, &up, &p) || *p != '\0') {
		*why = "expected down_at_s,up_at_s (seconds)";
		return -1;
	}
	if (up <= down) {
		*why = "up_at_s must be after down_at_s";
		return -1;
	}
	if (sim_outages_add(o, down, up) != 0) {
		*why = strerror(errno);
		return -1;
	}
	return 0;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int sim_outages_parse_csv(struct sim_outages *o, const char *name, const char *text, size_t len,
                          char *err, size_t errlen)
{
	char line[TRACE_LINE_MAX + 1];
	size_t pos = 0, lineno = 0, n, start;
	bool header = false;
	const char *why;
	size_t had = o->n; /* on error, leave o as it was */

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;

		lineno++;
		start = pos;
		pos = end + 1;
		/* Trim blanks and a CR from both ends. */
		while (start < end && blank(text[start]))
			start++;
		while (end > start && blank(text[end - 1]))
			end--;
		n = end - start;
		if (n == 0 || text[start] == '#')
			continue;
		if (n > TRACE_LINE_MAX) {
			o->n = had;
			snprintf(err, errlen, "%s:%zu: line longer than %u characters", name, lineno,
			         TRACE_LINE_MAX);
			return -1;
		}
		memcpy(line, text + start, n);
		line[n] = '\0';
		if (memchr(line, '\0', n) != NULL) {
			o->n = had;
			snprintf(err, errlen, "%s:%zu: a NUL byte in the line", name, lineno);
			return -1;
		}
		if (!header) {
			header = true;
			if (strcmp(line, "down_at_s,up_at_s") == 0)
				continue;
			o->n = had;
			snprintf(err, errlen, "%s:%zu: expected the header \"down_at_s,up_at_s\"", name,
			         lineno);
			return -1;
		}
		if (parse_line(o, line, &why) != 0) {
			o->n = had;
			snprintf(err, errlen, "%s:%zu: %s", name, lineno, why);
			return -1;
		}
	}
	if (!header) {
		snprintf(err, errlen, "%s: empty (expected the header \"down_at_s,up_at_s\")", name);
		return -1;
	}
	return 0;
}

int sim_outages_load(struct sim_outages *o, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t len = 0, cap = 4096;
	int rc;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(cap);
	while (buf != NULL) {
		size_t got = fread(buf + len, 1, cap - len, f);

		len += got;
		if (got == 0)
			break;
		if (len == cap) {
			char *b = cap < TRACE_FILE_MAX ? realloc(buf, cap * 2) : NULL;

			if (b == NULL) {
				free(buf);
				buf = NULL;
				errno = cap < TRACE_FILE_MAX ? ENOMEM : EFBIG;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	if (buf == NULL || ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, buf == NULL ? strerror(errno) : "read error");
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	rc = sim_outages_parse_csv(o, path, buf, len, err, errlen);
	free(buf);
	return rc;
}
