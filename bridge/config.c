/*
 * config.c - the configuration file and the command line.
 */
#include "bridge/config.h"
#include "bridge/log.h"
#include "bridge/store.h"
#include "codec/frame.h"
#include "sn-client/tty.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#ifndef SNBRIDGE_VERSION
#define SNBRIDGE_VERSION "0.1.0-dev"
#endif

/* ---------------------------------------------------------------- keys */

enum kind {
	K_U8,
	K_U16,
	K_U32,
	K_U64,
	K_BOOL,
	K_STR,
	K_LISTEN,
	K_MODE,
	K_VERSION,
	K_LEVEL,
	K_BROKER,
	K_ADVERTISE,
	K_SERIAL,
	K_LINK_DICT,
	K_SYNC,
};

struct key {
	const char *name;
	enum kind kind;
	size_t offset;
	uint64_t min, max;
};

#define F(field) offsetof(struct gw_daemon_config, field)

/* Every key of the file; sn-bridge.conf.example documents each one. */
static const struct key keys[] = {
	/* the core (struct gw_config) */
	{"gw_id", K_U8, F(core.gw_id), 0, UINT8_MAX},
	{"mode", K_MODE, F(core.mode), 0, 0},
	{"allow_qos_m1", K_BOOL, F(core.allow_qos_m1), 0, 0},
	{"advertise_interval_s", K_U32, F(core.advertise_interval_s), 0, UINT32_MAX},
	{"max_clients", K_U32, F(core.max_clients), 1, UINT32_MAX},
	{"max_topics", K_U32, F(core.max_topics), 1, UINT32_MAX},
	{"max_sleep_buffer", K_U32, F(core.max_sleep_buffer), 0, UINT32_MAX},
	{"max_pending", K_U32, F(core.max_pending), 1, UINT32_MAX},
	{"max_msg_size", K_U32, F(core.max_msg_size), 2, 65535},
	{"retry_initial_ms", K_U32, F(core.retry_initial_ms), 1, UINT32_MAX},
	{"retry_min_ms", K_U32, F(core.retry_min_ms), 1, UINT32_MAX},
	{"retry_max_ms", K_U32, F(core.retry_max_ms), 1, UINT32_MAX},
	{"retry_count", K_U32, F(core.retry_count), 0, UINT32_MAX},
	{"connect_timeout_ms", K_U32, F(core.connect_timeout_ms), 1, UINT32_MAX},
	{"max_inflight", K_U32, F(core.max_inflight), 1, UINT32_MAX},
	{"max_subscriptions", K_U32, F(core.max_subscriptions), 1, UINT32_MAX},
	{"log_interval_ms", K_U32, F(core.log_interval_ms), 0, UINT32_MAX},
	/* MQTT-SN side */
	{"port", K_U16, F(port), 1, UINT16_MAX},
	{"listen", K_LISTEN, F(listen), 0, 0},
	{"advertise_addr", K_ADVERTISE, F(advertise_addr), 0, 0},
	{"predefined", K_STR, F(predefined), 0, 0},
	{"serial", K_SERIAL, 0, 0, 0},
	/* link frames */
	{"link_keys", K_STR, F(link.keys), 0, 0},
	{"link_dict", K_LINK_DICT, 0, 0, 0},
	{"link_mtu", K_U32, F(link.mtu), 64, MQTTSN_FRAME_MAX},
	{"link_hold_ms", K_U32, F(link.hold_ms), 0, 3600000},
	{"link_queue", K_U32, F(link.queue), 0, 16777216},
	{"link_state_dir", K_STR, F(link.state_dir), 0, 0},
	{"link_require", K_BOOL, F(link.require), 0, 0},
	{"link_plain_ok", K_BOOL, F(link.plain_ok), 0, 0},
	/* MQTT side */
	{"broker", K_BROKER, 0, 0, 0},
	{"mqtt_version", K_VERSION, F(mqtt_version), 0, 0},
	{"client_id", K_STR, F(client_id), 0, 0},
	{"broker_keepalive_s", K_U16, F(broker_keepalive_s), 5, UINT16_MAX},
	{"reconnect_min_s", K_U32, F(reconnect_min_s), 1, 86400},
	{"reconnect_max_s", K_U32, F(reconnect_max_s), 1, 86400},
	{"username", K_STR, F(username), 0, 0},
	{"password", K_STR, F(password), 0, 0},
	{"cafile", K_STR, F(cafile), 0, 0},
	{"capath", K_STR, F(capath), 0, 0},
	{"certfile", K_STR, F(certfile), 0, 0},
	{"keyfile", K_STR, F(keyfile), 0, 0},
	{"tls_insecure", K_BOOL, F(tls_insecure), 0, 0},
	/* custody */
	{"store_dir", K_STR, F(store_dir), 0, 0},
	{"store_sync", K_SYNC, 0, 0, 0},
	{"store_max_bytes", K_U64, F(store_max_bytes), 0, UINT64_MAX},
	{"store_station_msgs", K_U32, F(store_station_msgs), 0, UINT32_MAX},
	{"store_station_bytes", K_U64, F(store_station_bytes), 0, UINT64_MAX},
	{"message_ttl_s", K_U32, F(message_ttl_s), 0, UINT32_MAX},
	{"store_down_msgs", K_U32, F(store_down_msgs), 0, UINT32_MAX},
	{"store_down_bytes", K_U64, F(store_down_bytes), 0, UINT64_MAX},
	{"down_ttl_s", K_U32, F(core.down_ttl_s), 0, UINT32_MAX},
	/* the daemon */
	{"stats_interval_s", K_U32, F(stats_interval_s), 0, 86400},
	{"stats_prefix", K_STR, F(stats_prefix), 0, 0},
	{"log_level", K_LEVEL, F(log_level), 0, 0},
	{"syslog", K_BOOL, F(use_syslog), 0, 0},
	{"max_fds", K_U64, F(max_fds), 0, UINT64_MAX},
};

#undef F

static const struct key *key_find(const char *name)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

/* ---------------------------------------------------------------- values */

/* A value quoted in a message is cut to this much: enough to recognise it. */
#define CLIP 48

static const char *clip(const char *s, char *buf, size_t cap)
{
	return gw_log_clip(s, CLIP, buf, cap);
}

/* Decimal only: "0x10", "-1", " 5" and "5s" are all refused. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int set_string(char **slot, const char *value)
{
	char *copy = strdup(value);
	if (copy == NULL)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

int gw_hostport_parse(const char *text, char *host, size_t hostcap, uint16_t *port,
                      bool *has_port, char *err, size_t errlen)
{
	const char *h = text, *p = NULL;
	char cut[CLIP + 4];
	const char *quoted = clip(text, cut, sizeof cut);
	size_t hlen;
	*has_port = false;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL) {
			snprintf(err, errlen, "\"%s\": missing ']'", quoted);
			return -1;
		}
		h = text + 1;
		hlen = (size_t)(close - h);
		if (close[1] == ':')
			p = close + 2;
		else if (close[1] != '\0') {
			snprintf(err, errlen, "\"%s\": expected ':PORT' after ']'", quoted);
			return -1;
		}
	} else {
		const char *colon = strchr(text, ':');
		/* Two colons: a bare IPv6 address, which cannot carry a port. */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			hlen = (size_t)(colon - text);
			p = colon + 1;
		} else {
			hlen = strlen(text);
		}
	}
	if (hlen == 0) {
		snprintf(err, errlen, "\"%s\": empty host", quoted);
		return -1;
	}
	if (hlen >= hostcap) {
		snprintf(err, errlen, "\"%s\": host too long", quoted);
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (p != NULL) {
		uint64_t v;
		if (parse_u64(p, 1, UINT16_MAX, &v) != 0) {
			snprintf(err, errlen, "\"%s\": port must be 1-65535", quoted);
			return -1;
		}
		*port = (uint16_t)v;
		*has_port = true;
	}
	return 0;
}

/*
 * A listener or the advertise destination: numeric, because the daemon
 * never waits for DNS, and checked here so that the error names the line.
 */
static int check_numeric(const char *value, bool need_port, char *err, size_t errlen)
{
	char host[256];
	uint16_t port = 0;
	bool has_port;
	struct in6_addr a6;
	struct in_addr a4;
	char cut[CLIP + 4];
	if (gw_hostport_parse(value, host, sizeof host, &port, &has_port, err, errlen) != 0)
		return -1;
	/* An IPv6 scope ("%eth0") is the system's to check, when the socket is made. */
	char *scope = strchr(host, '%');
	if (scope != NULL)
		*scope = '\0';
	if (inet_pton(AF_INET, host, &a4) != 1 && inet_pton(AF_INET6, host, &a6) != 1) {
		snprintf(err, errlen, "\"%s\" is not a numeric IPv4 or IPv6 address",
		         clip(host, cut, sizeof cut));
		return -1;
	}
	if (need_port && !has_port) {
		snprintf(err, errlen, "\"%s\": HOST:PORT expected", clip(value, cut, sizeof cut));
		return -1;
	}
	return 0;
}

/* "HOST[:PORT]" of the broker: the port is kept only when given. */
static int set_broker(struct gw_daemon_config *cfg, const char *value, char *err, size_t errlen)
{
	char host[256];
	uint16_t port = 0;
	bool has_port;
	if (gw_hostport_parse(value, host, sizeof host, &port, &has_port, err, errlen) != 0)
		return -1;
	if (set_string(&cfg->broker_host, host) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cfg->broker_port = has_port ? port : 0;
	return 0;
}

/* ---------------------------------------------------------------- listen lines */

/* "link_require", "link_require=off": one word of a listen line into *slot. */
static int listen_word(const char *w, size_t len, const char *name, uint8_t *slot, bool *matched)
{
	size_t n = strlen(name);
	char v[8];
	bool on;
	*matched = len >= n && memcmp(w, name, n) == 0 && (len == n || w[n] == '=');
	if (!*matched)
		return 0;
	if (len == n) {
		*slot = GW_LISTEN_ON;
		return 0;
	}
	if (len - n - 1 >= sizeof v)
		return -1;
	memcpy(v, w + n + 1, len - n - 1);
	v[len - n - 1] = '\0';
	if (parse_bool(v, &on) != 0)
		return -1;
	*slot = on ? GW_LISTEN_ON : GW_LISTEN_OFF;
	return 0;
}

/* "link_mtu=N" (64-4096), one word of a listen line, into *mtu. */
static int listen_mtu_word(const char *w, size_t len, uint32_t *mtu, bool *matched)
{
	static const char name[] = "link_mtu=";
	size_t n = sizeof name - 1;
	char v[16];
	uint64_t u;
	*matched = len > n && memcmp(w, name, n) == 0;
	if (!*matched)
		return 0;
	if (len - n >= sizeof v)
		return -1;
	memcpy(v, w + n, len - n);
	v[len - n] = '\0';
	if (parse_u64(v, 64, MQTTSN_FRAME_MAX, &u) != 0)
		return -1;
	*mtu = (uint32_t)u;
	return 0;
}

/* "ADDR[:PORT] [link_require[=on|off]] [link_plain_ok[=on|off]] [link_mtu=N]" */
static int listen_add(struct gw_daemon_config *cfg, const char *value, char *err, size_t errlen)
{
	size_t alen = strcspn(value, " \t");
	uint8_t require = GW_LISTEN_INHERIT, plain_ok = GW_LISTEN_INHERIT;
	uint32_t mtu = 0;
	char *addr = strndup(value, alen);
	if (addr == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (check_numeric(addr, false, err, errlen) != 0) {
		free(addr);
		return -1;
	}
	/* Each round consumes one word. */
	for (const char *p = value + alen; *p != '\0';) {
		p += strspn(p, " \t");
		size_t wlen = strcspn(p, " \t");
		bool m1, m2 = false, m3 = false;
		if (wlen == 0)
			break;
		int rc = listen_word(p, wlen, "link_require", &require, &m1);
		if (rc == 0 && !m1)
			rc = listen_word(p, wlen, "link_plain_ok", &plain_ok, &m2);
		if (rc == 0 && !m1 && !m2)
			rc = listen_mtu_word(p, wlen, &mtu, &m3);
		if (rc != 0 || (!m1 && !m2 && !m3)) {
			char w[CLIP + 1];
			snprintf(w, sizeof w, "%.*s", (int)(wlen < CLIP ? wlen : CLIP), p);
			snprintf(err, errlen,
			         "\"%s\": expected link_require[=on|off], link_plain_ok[=on|off] or "
			         "link_mtu=N (64-4096)", w);
			free(addr);
			return -1;
		}
		p += wlen;
	}
	if (cfg->n_listen == GW_LISTEN_MAX) {
		snprintf(err, errlen, "more than %u listen lines", GW_LISTEN_MAX);
		free(addr);
		return -1;
	}
	cfg->listen[cfg->n_listen] = addr;
	cfg->link.listen_require[cfg->n_listen] = require;
	cfg->link.listen_plain_ok[cfg->n_listen] = plain_ok;
	cfg->link.listen_mtu[cfg->n_listen] = mtu;
	cfg->n_listen++;
	return 0;
}

/* ---------------------------------------------------------------- serial lines */

static void serial_line_free(struct gw_serial_line *l)
{
	free(l->path);
	free(l->origin);
	memset(l, 0, sizeof *l);
}

static int serial_baud(const char *s, uint32_t *out, char *err, size_t errlen)
{
	uint64_t v;
	char cut[CLIP + 4];
	if (parse_u64(s, 1, UINT32_MAX, &v) != 0 || !snc_tty_baud_ok((uint32_t)v)) {
		snprintf(err, errlen, "baud \"%s\" is not a standard rate (1200, 2400, 4800, 9600, "
		         "19200, 38400, 57600, 115200...)", clip(s, cut, sizeof cut));
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* One flag word after the device: "rtscts" or "raw". */
static int serial_flag(struct gw_serial_line *l, const char *w, char *err, size_t errlen)
{
	char cut[CLIP + 4];
	if (strcmp(w, "rtscts") == 0)
		l->rtscts = true;
	else if (strcmp(w, "raw") == 0)
		l->raw = true;
	else {
		snprintf(err, errlen, "\"%s\" is not baud N, rtscts or raw", clip(w, cut, sizeof cut));
		return -1;
	}
	return 0;
}

/* Add line l (its strings taken over, also on failure) to cfg. */
static int serial_add(struct gw_daemon_config *cfg, struct gw_serial_line *l, char *err,
                      size_t errlen)
{
	char cut[CLIP + 4];
	if (cfg->n_serial == GW_SERIAL_MAX) {
		snprintf(err, errlen, "more than %u serial lines", GW_SERIAL_MAX);
		serial_line_free(l);
		return -1;
	}
	for (size_t i = 0; i < cfg->n_serial; i++) {
		if (strcmp(cfg->serial[i].path, l->path) == 0) {
			snprintf(err, errlen, "%s is already a serial line (%s)",
			         clip(l->path, cut, sizeof cut),
			         cfg->serial[i].origin ? cfg->serial[i].origin : "above");
			serial_line_free(l);
			return -1;
		}
	}
	cfg->serial[cfg->n_serial++] = *l;
	return 0;
}

/* "DEV [baud N] [rtscts] [raw] [link_mtu N]", the value of a serial line in the file. */
static int serial_parse_words(struct gw_daemon_config *cfg, const char *value, char *err,
                              size_t errlen)
{
	struct gw_serial_line l = {.baud = SNC_TTY_DEFAULT_BAUD};
	char *copy = strdup(value), *save = NULL, *w;
	int rc = 0;
	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w = strtok_r(copy, " \t", &save);
	if (w == NULL || (l.path = strdup(w)) == NULL) {
		snprintf(err, errlen, w == NULL ? "a device expected" : "out of memory");
		free(copy);
		return -1;
	}
	while (rc == 0 && (w = strtok_r(NULL, " \t", &save)) != NULL) {
		if (strcmp(w, "baud") == 0) {
			const char *n = strtok_r(NULL, " \t", &save);
			if (n == NULL) {
				snprintf(err, errlen, "baud needs a number");
				rc = -1;
			} else {
				rc = serial_baud(n, &l.baud, err, errlen);
			}
		} else if (strcmp(w, "link_mtu") == 0) {
			const char *n = strtok_r(NULL, " \t", &save);
			uint64_t u;
			if (n == NULL || parse_u64(n, 64, MQTTSN_FRAME_MAX, &u) != 0) {
				snprintf(err, errlen, "link_mtu needs a number of octets, 64-4096");
				rc = -1;
			} else {
				l.link_mtu = (uint32_t)u;
			}
		} else {
			rc = serial_flag(&l, w, err, errlen);
		}
	}
	free(copy);
	if (rc != 0) {
		serial_line_free(&l);
		return -1;
	}
	return serial_add(cfg, &l, err, errlen);
}

/* "DEV[:BAUD][,rtscts][,raw]", the value of --serial. */
static int serial_parse_spec(struct gw_daemon_config *cfg, const char *spec, char *err,
                             size_t errlen)
{
	struct gw_serial_line l = {.baud = SNC_TTY_DEFAULT_BAUD};
	char *copy = strdup(spec), *save = NULL, *w, *colon;
	int rc = 0;
	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* The device ends at the first comma; a baud rate follows its last colon. */
	w = strtok_r(copy, ",", &save);
	if (w == NULL) {
		snprintf(err, errlen, "a device expected");
		free(copy);
		return -1;
	}
	colon = strrchr(w, ':');
	if (colon != NULL) {
		*colon = '\0';
		rc = serial_baud(colon + 1, &l.baud, err, errlen);
	}
	if (rc == 0 && w[0] == '\0') {
		snprintf(err, errlen, "a device expected");
		rc = -1;
	}
	if (rc == 0 && (l.path = strdup(w)) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	while (rc == 0 && (w = strtok_r(NULL, ",", &save)) != NULL)
		rc = serial_flag(&l, w, err, errlen);
	if (rc == 0 && (l.origin = strdup("--serial")) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	free(copy);
	if (rc != 0) {
		serial_line_free(&l);
		return -1;
	}
	return serial_add(cfg, &l, err, errlen);
}

/*
 * Store value under key k. err gets the reason alone ("must be 1-65535");
 * the caller adds where.
 */
static int key_set(struct gw_daemon_config *cfg, const struct key *k, const char *value, char *err,
                   size_t errlen)
{
	char *base = (char *)cfg;
	void *field = base + k->offset;
	char cut[CLIP + 4];
	uint64_t v;
	switch (k->kind) {
	case K_U8:
	case K_U16:
	case K_U32:
	case K_U64:
		if (parse_u64(value, k->min, k->max, &v) != 0) {
			snprintf(err, errlen, "\"%s\" is not a whole number from %llu to %llu",
			         clip(value, cut, sizeof cut), (unsigned long long)k->min,
			         (unsigned long long)k->max);
			return -1;
		}
		if (k->kind == K_U8)
			*(uint8_t *)field = (uint8_t)v;
		else if (k->kind == K_U16)
			*(uint16_t *)field = (uint16_t)v;
		else if (k->kind == K_U32)
			*(uint32_t *)field = (uint32_t)v;
		else
			*(uint64_t *)field = v;
		return 0;
	case K_BOOL:
		if (parse_bool(value, (bool *)field) != 0) {
			snprintf(err, errlen, "\"%s\" is not true or false", clip(value, cut, sizeof cut));
			return -1;
		}
		return 0;
	case K_STR:
		if (set_string((char **)field, value) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	case K_ADVERTISE:
		if (check_numeric(value, true, err, errlen) != 0)
			return -1;
		if (set_string((char **)field, value) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	case K_LISTEN:
		return listen_add(cfg, value, err, errlen);
	case K_MODE:
		if (strcmp(value, "transparent") == 0)
			cfg->core.mode = GW_MODE_TRANSPARENT;
		else if (strcmp(value, "aggregating") == 0)
			cfg->core.mode = GW_MODE_AGGREGATING;
		else {
			snprintf(err, errlen, "\"%s\" is not transparent or aggregating",
			         clip(value, cut, sizeof cut));
			return -1;
		}
		return 0;
	case K_VERSION:
		if (strcmp(value, "311") == 0 || strcmp(value, "3.1.1") == 0)
			cfg->mqtt_version = 311;
		else if (strcmp(value, "5") == 0)
			cfg->mqtt_version = 5;
		else {
			snprintf(err, errlen, "\"%s\" is not 311 or 5", clip(value, cut, sizeof cut));
			return -1;
		}
		return 0;
	case K_LEVEL:
		if (gw_log_level_parse(value, &cfg->log_level) != 0) {
			snprintf(err, errlen, "\"%s\" is not err, warn, info or debug",
			         clip(value, cut, sizeof cut));
			return -1;
		}
		return 0;
	case K_BROKER:
		return set_broker(cfg, value, err, errlen);
	case K_SERIAL:
		return serial_parse_words(cfg, value, err, errlen);
	case K_SYNC:
		/* "always", "never" or an interval in milliseconds */
		if (strcmp(value, "always") == 0) {
			cfg->store_sync = GW_STORE_SYNC_ALWAYS;
		} else if (strcmp(value, "never") == 0) {
			cfg->store_sync = GW_STORE_SYNC_NEVER;
		} else if (parse_u64(value, 1, 3600000, &v) == 0) {
			cfg->store_sync = GW_STORE_SYNC_INTERVAL;
			cfg->store_sync_ms = (uint32_t)v;
		} else {
			snprintf(err, errlen, "\"%s\" is not always, never or milliseconds 1-3600000",
			         clip(value, cut, sizeof cut));
			return -1;
		}
		return 0;
	case K_LINK_DICT:
		if (cfg->link.n_dict == GW_LINK_DICT_LINES) {
			snprintf(err, errlen, "more than %u link_dict lines", GW_LINK_DICT_LINES);
			return -1;
		}
		if (set_string(&cfg->link.dict[cfg->link.n_dict], value) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		cfg->link.n_dict++;
		return 0;
	}
	return -1;
}

/* ---------------------------------------------------------------- file */

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int gw_daemon_config_read_stream(struct gw_daemon_config *cfg, FILE *f, const char *name,
                                 char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;
	char cut[CLIP + 4];
	errno = 0;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		/* trim() also takes the '\r' of a CRLF line. */
		char *s = trim(line);
		/* '#' only at the start: a password may contain one. */
		if (s[0] == '\0' || s[0] == '#')
			continue;
		char *key = s;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
		if (*s != '\0')
			*s++ = '\0';
		char *value = trim(s);
		const struct key *k = key_find(key);
		if (k == NULL) {
			snprintf(err, errlen, "%s:%u: unknown key \"%s\"", name, lineno,
			         clip(key, cut, sizeof cut));
			rc = -1;
			break;
		}
		if (value[0] == '\0') {
			snprintf(err, errlen, "%s:%u: key \"%s\" has no value", name, lineno, key);
			rc = -1;
			break;
		}
		char why[256];
		if (key_set(cfg, k, value, why, sizeof why) != 0) {
			snprintf(err, errlen, "%s:%u: %s: %s", name, lineno, key, why);
			rc = -1;
			break;
		}
		/* A device that fails to open later is reported at its line. */
		if (k->kind == K_SERIAL) {
			struct gw_serial_line *l = &cfg->serial[cfg->n_serial - 1];
			size_t n = strlen(name) + 16;
			if ((l->origin = malloc(n)) == NULL) {
				snprintf(err, errlen, "out of memory");
				rc = -1;
				break;
			}
			snprintf(l->origin, n, "%s:%u", name, lineno);
		}
		errno = 0;
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno != 0 ? errno : EIO));
		rc = -1;
	}
	free(line);
	return rc;
}

int gw_daemon_config_read_file(struct gw_daemon_config *cfg, const char *path, char *err,
                               size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int rc = gw_daemon_config_read_stream(cfg, f, path, err, errlen);
	fclose(f);
	return rc;
}

/* ---------------------------------------------------------------- defaults */

/* <host> of the default names (config.h); room: at most this many characters. */
static void host_part(const char *host, size_t room, char *out, size_t cap)
{
	char clean[256];
	size_t n = 0;
	uint32_t h = 2166136261u;
	for (const char *p = host != NULL ? host : ""; *p != '\0' && *p != '.'; p++) {
		unsigned char ch = (unsigned char)*p;
		if (!isalnum(ch) || ch > 127 || n + 1 >= sizeof clean)
			continue;
		clean[n++] = (char)ch;
		h = (h ^ ch) * 16777619u;
	}
	clean[n] = '\0';
	assert(room >= 8 && cap > room);
	if (n <= room) {
		memcpy(out, clean, n + 1);
		return;
	}
	/* Cut, and say by the hash where: "groundstation1" and "...2" stay apart. */
	size_t keep = room - 4;
	memcpy(out, clean, keep);
	snprintf(out + keep, cap - keep, "%04x", (unsigned)(h & 0xFFFFu));
}

void gw_daemon_names(const struct gw_daemon_config *cfg, const char *host,
                     struct gw_daemon_names *out)
{
	unsigned gw_id = cfg->core.gw_id;
	int digits = gw_id >= 100 ? 3 : gw_id >= 10 ? 2 : 1;
	/* "snb-" HOST "-" GW_ID "-s": the longer of the two default ids. */
	size_t room = GW_CLIENT_ID_SAFE - (sizeof "snb--" - 1) - (size_t)digits - (sizeof "-s" - 1);
	char hp[GW_CLIENT_ID_SAFE + 1];
	host_part(host, room, hp, sizeof hp);
	char base[GW_CLIENT_ID_SAFE + 16]; /* fits; the compiler cannot see room */
	if (hp[0] != '\0')
		snprintf(base, sizeof base, "snb-%s-%u", hp, gw_id);
	else
		snprintf(base, sizeof base, "snb-%u", gw_id);
	if (cfg->client_id != NULL) {
		snprintf(out->client_id, sizeof out->client_id, "%.50s", cfg->client_id);
		snprintf(out->own_id, sizeof out->own_id, "%.50s-stats", cfg->client_id);
		snprintf(out->custody_id, sizeof out->custody_id, "%.50s-custody", cfg->client_id);
	} else {
		snprintf(out->client_id, sizeof out->client_id, "%s", base);
		snprintf(out->own_id, sizeof out->own_id, "%s-s", base);
		snprintf(out->custody_id, sizeof out->custody_id, "%s-c", base);
	}
	/* Not under $SYS: mosquitto refuses client publishes there, silently at QoS 0. */
	if (cfg->stats_prefix != NULL)
		snprintf(out->stats_prefix, sizeof out->stats_prefix, "%.300s", cfg->stats_prefix);
	else if (hp[0] != '\0')
		snprintf(out->stats_prefix, sizeof out->stats_prefix, "snbridge/%s/%u/stats", hp, gw_id);
	else
		snprintf(out->stats_prefix, sizeof out->stats_prefix, "snbridge/%u/stats", gw_id);
}

void gw_daemon_config_init(struct gw_daemon_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	gw_config_defaults(&cfg->core);
	cfg->port = GW_DEFAULT_PORT;
	cfg->mqtt_version = 311;
	cfg->broker_keepalive_s = 60;
	cfg->reconnect_min_s = 1;
	cfg->reconnect_max_s = 60;
	cfg->stats_interval_s = 60;
	/* the store's own defaults (store.h), written out for --help and the example */
	cfg->store_sync = GW_STORE_SYNC_ALWAYS;
	cfg->store_sync_ms = 100;
	cfg->store_max_bytes = 256u << 20;
	cfg->store_station_msgs = 10000;
	cfg->store_station_bytes = 16u << 20;
	cfg->store_down_msgs = 1000;
	cfg->store_down_bytes = 1u << 20;
	cfg->core.down_ttl_s = 86400;
	cfg->log_level = GW_LOG_INFO;
	cfg->link.mtu = 1200;
	cfg->link.hold_ms = 500;
}

void gw_daemon_config_free(struct gw_daemon_config *cfg)
{
	for (size_t i = 0; i < cfg->n_listen; i++)
		free(cfg->listen[i]);
	for (size_t i = 0; i < cfg->n_serial; i++)
		serial_line_free(&cfg->serial[i]);
	cfg->n_serial = 0;
	for (size_t i = 0; i < cfg->link.n_dict; i++)
		free(cfg->link.dict[i]);
	cfg->link.n_dict = 0;
	free(cfg->link.keys);
	free(cfg->link.state_dir);
	cfg->link.keys = cfg->link.state_dir = NULL;
	char **strings[] = {&cfg->advertise_addr, &cfg->predefined, &cfg->broker_host,
	                    &cfg->client_id,      &cfg->username,   &cfg->password,
	                    &cfg->cafile,         &cfg->capath,     &cfg->certfile,
	                    &cfg->keyfile,        &cfg->stats_prefix, &cfg->config_path,
	                    &cfg->store_dir};
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
	cfg->n_listen = 0;
}

int gw_daemon_config_check(const struct gw_daemon_config *cfg, char *err, size_t errlen)
{
	const char *where = cfg->config_path ? cfg->config_path : "configuration";
	if (cfg->core.retry_min_ms > cfg->core.retry_max_ms) {
		snprintf(err, errlen, "%s: retry_min_ms %u is above retry_max_ms %u", where,
		         cfg->core.retry_min_ms, cfg->core.retry_max_ms);
		return -1;
	}
	if (cfg->reconnect_min_s > cfg->reconnect_max_s) {
		snprintf(err, errlen, "%s: reconnect_min_s %u is above reconnect_max_s %u", where,
		         cfg->reconnect_min_s, cfg->reconnect_max_s);
		return -1;
	}
	if ((cfg->certfile == NULL) != (cfg->keyfile == NULL)) {
		snprintf(err, errlen, "%s: certfile and keyfile go together", where);
		return -1;
	}
	if (cfg->certfile != NULL && cfg->cafile == NULL && cfg->capath == NULL) {
		snprintf(err, errlen, "%s: certfile needs cafile or capath (TLS to the broker)", where);
		return -1;
	}
	if (cfg->password != NULL && cfg->username == NULL) {
		snprintf(err, errlen, "%s: password without username", where);
		return -1;
	}
	if (cfg->store_dir != NULL && cfg->store_dir[0] == '\0') {
		snprintf(err, errlen, "%s: store_dir is empty", where);
		return -1;
	}
	if (cfg->client_id != NULL && cfg->client_id[0] == '\0') {
		snprintf(err, errlen, "%s: client_id is empty", where);
		return -1;
	}
	if (cfg->stats_prefix != NULL &&
	    (strpbrk(cfg->stats_prefix, "+#") != NULL || cfg->stats_prefix[0] == '\0')) {
		snprintf(err, errlen, "%s: stats_prefix \"%s\" is not a topic name", where,
		         cfg->stats_prefix);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- command line */

void gw_daemon_config_usage(FILE *out, const char *prog)
{
	fprintf(out,
	        "Usage: %s [options]\n"
	        "MQTT-SN 1.2 gateway: MQTT-SN clients over UDP and serial lines to an MQTT\n"
	        "broker.\n"
	        "\n"
	        "  -c, --config FILE       read the configuration file FILE (\"key value\" lines;\n"
	        "                          every key is in sn-bridge.conf.example)\n"
	        "  -p, --port PORT         UDP port of the MQTT-SN listeners (default %u)\n"
	        "  -b, --broker HOST[:PORT]\n"
	        "                          MQTT broker (default 127.0.0.1:%u, 8883 with TLS);\n"
	        "                          [ADDR]:PORT for IPv6\n"
	        "      --predefined FILE   predefined topics: \"ID TOPIC\" or \"CLIENTID ID TOPIC\"\n"
	        "                          lines, reloaded on SIGHUP\n"
	        "      --serial DEV[:BAUD][,rtscts][,raw]\n"
	        "                          MQTT-SN over the serial line DEV as well (a port\n"
	        "                          to one station's modem or radio; 8N1, default\n"
	        "                          9600 baud; rtscts: hardware flow control; raw:\n"
	        "                          mqtt-sn-tools' raw stream instead of frames);\n"
	        "                          repeatable; replaces the file's serial lines\n"
	        "      --store DIR         custody: keep QoS 1/2 messages from stations in\n"
	        "                          the store in DIR until the broker has them, and\n"
	        "                          acknowledge them once they are on disk (store_dir;\n"
	        "                          store_sync always|never|MS, store_max_bytes,\n"
	        "                          store_station_msgs, store_station_bytes,\n"
	        "                          message_ttl_s in the file); with it, persistent\n"
	        "                          sessions and the messages waiting for them\n"
	        "                          survive a restart (store_down_msgs,\n"
	        "                          store_down_bytes, down_ttl_s)\n"
	        "  -v, --verbose           log debug lines\n"
	        "      --syslog            log to syslog instead of stderr\n"
	        "  -h, --help              print this help and exit\n"
	        "  -V, --version           print the version and exit\n"
	        "\n"
	        "Options on the command line override the configuration file.\n"
	        "Link frames (batched, compressed, encrypted; codec/FRAMES.md) are set up\n"
	        "in the file: link_keys, link_dict, link_mtu, link_hold_ms, link_queue,\n"
	        "link_state_dir, link_require, link_plain_ok, and listen ... link_require.\n"
	        "Signals: SIGTERM/SIGINT stop, SIGHUP reloads the predefined topics and\n"
	        "the link keys and dictionaries, SIGUSR1 logs the statistics.\n"
	        "Exit status: 0 stopped by a signal,\n"
	        "1 failed while running, 2 bad configuration or command line.\n",
	        prog, GW_DEFAULT_PORT, GW_DEFAULT_BROKER_PORT);
}

/* The command line's values, kept apart until the file has been read. */
struct cli {
	const char *config, *port, *broker, *predefined, *store;
	bool verbose, syslog;
	const char *serial[GW_SERIAL_MAX];
	size_t n_serial;
};

enum { OPT_PREDEFINED = 256, OPT_SYSLOG, OPT_SERIAL, OPT_STORE };

/*
 * The option getopt_long() just stopped at, as the user wrote it: a long
 * one is the whole word; a short one is optopt, because inside a cluster
 * ("-vx") the word is not the option at fault.
 */
static const char *option_name(int argc, char **argv, char *buf, size_t cap)
{
	const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
	if (strncmp(word, "--", 2) != 0 && optopt > 0 && optopt < 128 && isgraph(optopt)) {
		snprintf(buf, cap, "-%c", optopt);
		return buf;
	}
	return word;
}

static int parse_args(struct cli *cli, int argc, char **argv, FILE *out, char *err,
                      size_t errlen)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"port", required_argument, NULL, 'p'},
		{"broker", required_argument, NULL, 'b'},
		{"predefined", required_argument, NULL, OPT_PREDEFINED},
		{"verbose", no_argument, NULL, 'v'},
		{"syslog", no_argument, NULL, OPT_SYSLOG},
		{"serial", required_argument, NULL, OPT_SERIAL},
		{"store", required_argument, NULL, OPT_STORE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *prog = argc > 0 ? argv[0] : "sn-bridge";
	char name[8];
	int c;
	opterr = 0;
	/* 0, not 1: also forget a cluster ("-vh") that an earlier call left half read. */
	optind = 0;
	while ((c = getopt_long(argc, argv, ":c:p:b:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': cli->config = optarg; break;
		case 'p': cli->port = optarg; break;
		case 'b': cli->broker = optarg; break;
		case OPT_PREDEFINED: cli->predefined = optarg; break;
		case OPT_STORE: cli->store = optarg; break;
		case 'v': cli->verbose = true; break;
		case OPT_SYSLOG: cli->syslog = true; break;
		case OPT_SERIAL:
			if (cli->n_serial == GW_SERIAL_MAX) {
				snprintf(err, errlen, "more than %u --serial options", GW_SERIAL_MAX);
				return GW_CONFIG_ERROR;
			}
			cli->serial[cli->n_serial++] = optarg;
			break;
		case 'h':
			gw_daemon_config_usage(out, prog);
			return GW_CONFIG_EXIT;
		case 'V':
			fprintf(out, "sn-bridge %s (MQTT-SN 1.2)\n", SNBRIDGE_VERSION);
			return GW_CONFIG_EXIT;
		case ':':
			snprintf(err, errlen, "option %s needs a value (see --help)",
			         option_name(argc, argv, name, sizeof name));
			return GW_CONFIG_ERROR;
		default:
			snprintf(err, errlen, "unknown option %s (see --help)",
			         option_name(argc, argv, name, sizeof name));
			return GW_CONFIG_ERROR;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument \"%s\" (see --help)", argv[optind]);
		return GW_CONFIG_ERROR;
	}
	return GW_CONFIG_RUN;
}

enum gw_config_result gw_daemon_config_load(struct gw_daemon_config *cfg, int argc, char **argv,
                                            FILE *out, char *err, size_t errlen)
{
	struct cli cli = {0};
	char why[256];
	gw_daemon_config_init(cfg);
	int rc = parse_args(&cli, argc, argv, out, err, errlen);
	if (rc != GW_CONFIG_RUN)
		return (enum gw_config_result)rc;

	if (cli.config != NULL) {
		if (set_string(&cfg->config_path, cli.config) != 0) {
			snprintf(err, errlen, "out of memory");
			return GW_CONFIG_ERROR;
		}
		if (gw_daemon_config_read_file(cfg, cli.config, err, errlen) != 0)
			return GW_CONFIG_ERROR;
	}
	if (cli.port != NULL && key_set(cfg, key_find("port"), cli.port, why, sizeof why) != 0) {
		snprintf(err, errlen, "-p %s: %s", cli.port, why);
		return GW_CONFIG_ERROR;
	}
	if (cli.broker != NULL && set_broker(cfg, cli.broker, why, sizeof why) != 0) {
		snprintf(err, errlen, "-b %s", why);
		return GW_CONFIG_ERROR;
	}
	if (cli.store != NULL && set_string(&cfg->store_dir, cli.store) != 0) {
		snprintf(err, errlen, "out of memory");
		return GW_CONFIG_ERROR;
	}
	if (cli.predefined != NULL && set_string(&cfg->predefined, cli.predefined) != 0) {
		snprintf(err, errlen, "out of memory");
		return GW_CONFIG_ERROR;
	}
	if (cli.n_serial > 0) {
		for (size_t i = 0; i < cfg->n_serial; i++)
			serial_line_free(&cfg->serial[i]);
		cfg->n_serial = 0;
	}
	for (size_t i = 0; i < cli.n_serial; i++) {
		if (serial_parse_spec(cfg, cli.serial[i], why, sizeof why) != 0) {
			snprintf(err, errlen, "--serial %s: %s", cli.serial[i], why);
			return GW_CONFIG_ERROR;
		}
	}
	if (cli.verbose)
		cfg->log_level = GW_LOG_DEBUG;
	if (cli.syslog)
		cfg->use_syslog = true;
	if (gw_daemon_config_check(cfg, err, errlen) != 0)
		return GW_CONFIG_ERROR;
	return GW_CONFIG_RUN;
}
