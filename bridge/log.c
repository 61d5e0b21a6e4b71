/*
 * log.c - the daemon's log.
 */
#include "bridge/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define LINE_MAX_LEN 1024

static enum gw_log_level max_level = GW_LOG_INFO;
static bool to_syslog;

static const char *const level_names[] = {"err", "warn", "info", "debug"};

void gw_log_open(enum gw_log_level level, bool use_syslog, const char *ident)
{
	if (to_syslog && !use_syslog)
		closelog();
	max_level = level;
	to_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void gw_log_close(void)
{
	if (to_syslog)
		closelog();
	to_syslog = false;
}

bool gw_log_enabled(enum gw_log_level level)
{
	return level <= max_level;
}

const char *gw_log_level_name(enum gw_log_level level)
{
	if ((unsigned)level < sizeof level_names / sizeof level_names[0])
		return level_names[level];
	return "?";
}

int gw_log_level_parse(const char *name, enum gw_log_level *out)
{
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum gw_log_level)i;
			return 0;
		}
	}
	if (strcmp(name, "error") == 0) {
		*out = GW_LOG_ERR;
		return 0;
	}
	if (strcmp(name, "warning") == 0) {
		*out = GW_LOG_WARN;
		return 0;
	}
	return -1;
}

const char *gw_log_clip(const char *s, size_t max, char *buf, size_t cap)
{
	if (strlen(s) <= max || cap < max + 4)
		return s;
	memcpy(buf, s, max);
	memcpy(buf + max, "...", 4);
	return buf;
}

static int syslog_priority(enum gw_log_level level)
{
	switch (level) {
	case GW_LOG_ERR: return LOG_ERR;
	case GW_LOG_WARN: return LOG_WARNING;
	case GW_LOG_INFO: return LOG_INFO;
	case GW_LOG_DEBUG: return LOG_DEBUG;
	}
	return LOG_INFO;
}

/*
 * Client ids and topics come from the network: a newline or an escape
 * sequence in one must not forge a log line or drive the terminal.
 */
static void sanitize(char *out, size_t cap, const char *in)
{
	size_t n = 0;
	for (; *in != '\0' && n + 1 < cap; in++) {
		unsigned char c = (unsigned char)*in;
		out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[n] = '\0';
}

void gw_log_line(enum gw_log_level level, const char *raw)
{
	if (!gw_log_enabled(level))
		return;
	char line[LINE_MAX_LEN];
	sanitize(line, sizeof line, raw);
	if (to_syslog) {
		syslog(syslog_priority(level), "%s", line);
		return;
	}
	/* Wall-clock time in UTC: log lines are compared across machines. */
	struct timespec ts;
	struct tm tm;
	char stamp[32] = "";
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && gmtime_r(&ts.tv_sec, &tm) != NULL) {
		size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", ts.tv_nsec / 1000000L);
	}
	/* One fprintf per line so that lines from a crash are not interleaved. */
	fprintf(stderr, "%s %s: %s\n", stamp, gw_log_level_name(level), line);
}

void gw_log(enum gw_log_level level, const char *fmt, ...)
{
	if (!gw_log_enabled(level))
		return;
	char line[LINE_MAX_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	gw_log_line(level, line);
}
