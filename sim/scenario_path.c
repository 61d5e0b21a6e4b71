/*
 * scenario_path.c - where a scenario's data files are (scenario.h,
 * sim_scenario_resolve): beside the scenario, then the shared data
 * directory the project keeps at ../shared/data.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/scenario.h"

#define TRIED_MAX 512

static int is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Try dir/rel; on success return it, else note dir in tried. */
static char *try_in(const char *dir, const char *rel, char *tried, size_t cap)
{
	char *p = join(dir, rel);
	size_t used = strlen(tried);

	if (p != NULL && is_file(p))
		return p;
	free(p);
	if (used < cap)
		snprintf(tried + used, cap - used, "%s%s", used ? ", " : "", dir);
	return NULL;
}

/* dir/../shared/data for dir and every directory above it. */
static char *try_shared(const char *start, const char *rel, char *tried, size_t cap)
{
	char real[PATH_MAX];
	char *p = NULL;
	size_t n;

	if (realpath(start, real) == NULL)
		return NULL;
	for (;;) {
		char *slash = strrchr(real, '/');
		char *data;

		if (slash == NULL)
			break;
		/* parent(real)/shared/data is real/../shared/data */
		n = (size_t)(slash - real);
		data = malloc(n + sizeof "/shared/data");
		if (data == NULL)
			return NULL;
		memcpy(data, real, n);
		memcpy(data + n, "/shared/data", sizeof "/shared/data");
		if (is_dir(data) && strstr(tried, data) == NULL)
			p = try_in(data, rel, tried, cap);
		free(data);
		if (p != NULL || n == 0)
			break;
		real[n] = '\0';
	}
	return p;
}

char *sim_scenario_resolve(const struct sim_scenario *s, const char *rel, char *err,
                           size_t errcap)
{
	char tried[TRIED_MAX] = "";
	const char *env;
	char *p;

	if (rel[0] == '/') {
		if (is_file(rel))
			return strdup(rel);
		snprintf(err, errcap, "%s: no such file", rel);
		return NULL;
	}
	p = try_in(s->dir, rel, tried, sizeof tried);
	if (p == NULL)
		p = try_shared(s->dir, rel, tried, sizeof tried);
	if (p == NULL)
		p = try_shared(".", rel, tried, sizeof tried);
	env = getenv("SN_SIM_DATA");
	if (p == NULL && env != NULL && env[0] != '\0')
		p = try_in(env, rel, tried, sizeof tried);
	if (p == NULL)
		snprintf(err, errcap, "%s: no such file (looked in %s)", rel, tried);
	return p;
}
