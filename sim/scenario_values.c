/*
 * scenario_values.c - the values of a scenario file: durations with units,
 * whole numbers, yes and no (scenario_int.h; sim_scenario_duration in
 * scenario.h).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario_int.h"

int sim_scenario_duration(const char *text, uint64_t *us)
{
	/* longest units first, so that "ms" and "min" are not read as "m" */
	static const struct { const char *unit; double us; } units[] = {
		{ "min", 60e6 }, { "us", 1.0 }, { "ms", 1e3 }, { "s", 1e6 }, { "m", 60e6 },
		{ "h", 3600e6 }, { "d", 86400e6 },
	};
	const char *p = text;
	double total = 0.0;
	int parts = 0;

	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		char *end;
		double v;
		size_t i, n = 0;

		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno != 0 || !(v >= 0.0))
			return -1;
		p = end;
		for (i = 0; i < sizeof units / sizeof units[0]; i++) {
			n = strlen(units[i].unit);
			if (strncmp(p, units[i].unit, n) == 0)
				break;
		}
		if (i == sizeof units / sizeof units[0]) {
			/* a bare number is seconds, and only alone */
			if (*p != '\0' || parts > 0)
				return -1;
			total += v * 1e6;
		} else {
			total += v * units[i].us;
			p += n;
		}
		parts++;
	}
	if (total > 9.0e18)
		return -1;
	*us = (uint64_t)llround(total);
	return 0;
}

int sim_scn_u64(const char *text, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (*end != '\0' || errno != 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

int sim_scn_u32(const char *text, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (sim_scn_u64(text, max, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int sim_scn_bool(const char *text, bool *out)
{
	if (!strcmp(text, "yes") || !strcmp(text, "true") || !strcmp(text, "on") ||
	    !strcmp(text, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(text, "no") || !strcmp(text, "false") || !strcmp(text, "off") ||
	    !strcmp(text, "0")) {
		*out = false;
		return 0;
	}
	return -1;
}

/* A duration in whole milliseconds that fits 32 bits. */
int sim_scn_ms32(const char *text, uint32_t *out)
{
	uint64_t us;

	if (sim_scenario_duration(text, &us) != 0 || us / 1000u > UINT32_MAX)
		return -1;
	*out = (uint32_t)(us / 1000u);
	return 0;
}

int sim_scn_qos(const char *text, int *out)
{
	if (strlen(text) == 1 && text[0] >= '0' && text[0] <= '2') {
		*out = text[0] - '0';
		return 0;
	}
	return -1;
}

int sim_scn_set_str(char **dst, const char *v)
{
	char *c = strdup(v);

	if (c == NULL)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}
