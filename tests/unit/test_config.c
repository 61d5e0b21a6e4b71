/*
 * test_config.c - the daemon's configuration: the file parser (every kind
 * of key, the errors with their exact "file:line: ..." message, comments,
 * blank lines, CRLF, duplicates, very long lines) and the command line over
 * the file.
 *
 * Table-driven: every row is checked and every failing row is printed
 * before the test fails, so one run shows all the disagreements at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bridge/config.h"

#define NAME "t.conf"

/* Parse text as the file NAME into a fresh configuration. */
static int parse(const char *text, struct gw_daemon_config *cfg, char *err, size_t errlen)
{
	gw_daemon_config_init(cfg);
	err[0] = '\0';
	/* fmemopen() refuses a size of 0. */
	FILE *f = fmemopen((void *)(uintptr_t)(text[0] != '\0' ? text : "\n"),
	                   text[0] != '\0' ? strlen(text) : 1, "r");
	assert_non_null(f);
	int rc = gw_daemon_config_read_stream(cfg, f, NAME, err, errlen);
	fclose(f);
	return rc;
}

/* ---------------------------------------------------------------- errors */

struct error_case {
	const char *text;
	const char *want; /* the whole message */
};

static const struct error_case error_cases[] = {
	/* the structure of the file */
	{"# a comment\nport 1885\nkeepalvie 5\n", NAME ":3: unknown key \"keepalvie\""},
	{"max_clients\n", NAME ":1: key \"max_clients\" has no value"},
	{"max_clients   \t \n", NAME ":1: key \"max_clients\" has no value"},
	{"\n\n   \n\t# indented comment\n#\nfoo 1\n", NAME ":6: unknown key \"foo\""},
	{"foo 1\nbar 2\n", NAME ":1: unknown key \"foo\""},
	{"port 1885\r\nkeepalvie 1\r\n", NAME ":2: unknown key \"keepalvie\""},
	{"\r\n\r\nPort 1\r\n", NAME ":3: unknown key \"Port\""},
	{"port 1884 # the default\n",
	 NAME ":1: port: \"1884 # the default\" is not a whole number from 1 to 65535"},
	{"port\t1884\nport 1884x", NAME ":2: port: \"1884x\" is not a whole number from 1 to 65535"},
	/* numbers: decimal only, in range */
	{"max_clients zero\n",
	 NAME ":1: max_clients: \"zero\" is not a whole number from 1 to 4294967295"},
	{"max_clients 0\n", NAME ":1: max_clients: \"0\" is not a whole number from 1 to 4294967295"},
	{"max_clients 4294967296\n",
	 NAME ":1: max_clients: \"4294967296\" is not a whole number from 1 to 4294967295"},
	{"gw_id 256\n", NAME ":1: gw_id: \"256\" is not a whole number from 0 to 255"},
	{"gw_id -1\n", NAME ":1: gw_id: \"-1\" is not a whole number from 0 to 255"},
	{"gw_id +1\n", NAME ":1: gw_id: \"+1\" is not a whole number from 0 to 255"},
	{"gw_id 0x10\n", NAME ":1: gw_id: \"0x10\" is not a whole number from 0 to 255"},
	{"gw_id 1.5\n", NAME ":1: gw_id: \"1.5\" is not a whole number from 0 to 255"},
	{"gw_id 5 5\n", NAME ":1: gw_id: \"5 5\" is not a whole number from 0 to 255"},
	{"port 0\n", NAME ":1: port: \"0\" is not a whole number from 1 to 65535"},
	{"port 65536\n", NAME ":1: port: \"65536\" is not a whole number from 1 to 65535"},
	{"broker_keepalive_s 4\n",
	 NAME ":1: broker_keepalive_s: \"4\" is not a whole number from 5 to 65535"},
	{"max_msg_size 1\n", NAME ":1: max_msg_size: \"1\" is not a whole number from 2 to 65535"},
	{"max_msg_size 65536\n",
	 NAME ":1: max_msg_size: \"65536\" is not a whole number from 2 to 65535"},
	{"reconnect_max_s 86401\n",
	 NAME ":1: reconnect_max_s: \"86401\" is not a whole number from 1 to 86400"},
	{"stats_interval_s 86401\n",
	 NAME ":1: stats_interval_s: \"86401\" is not a whole number from 0 to 86400"},
	{"max_fds 18446744073709551616\n",
	 NAME ":1: max_fds: \"18446744073709551616\" is not a whole number from 0 to "
	      "18446744073709551615"},
	{"retry_count 99999999999999999999999\n",
	 NAME ":1: retry_count: \"99999999999999999999999\" is not a whole number from 0 to "
	      "4294967295"},
	/* booleans */
	{"syslog maybe\n", NAME ":1: syslog: \"maybe\" is not true or false"},
	{"tls_insecure TRUE\n", NAME ":1: tls_insecure: \"TRUE\" is not true or false"},
	{"allow_qos_m1 2\n", NAME ":1: allow_qos_m1: \"2\" is not true or false"},
	/* words */
	{"mode sideways\n", NAME ":1: mode: \"sideways\" is not transparent or aggregating"},
	{"mqtt_version 4\n", NAME ":1: mqtt_version: \"4\" is not 311 or 5"},
	{"mqtt_version 3.1\n", NAME ":1: mqtt_version: \"3.1\" is not 311 or 5"},
	{"log_level loud\n", NAME ":1: log_level: \"loud\" is not err, warn, info or debug"},
	/* addresses */
	{"listen localhost\n", NAME ":1: listen: \"localhost\" is not a numeric IPv4 or IPv6 address"},
	{"listen 256.1.1.1\n", NAME ":1: listen: \"256.1.1.1\" is not a numeric IPv4 or IPv6 address"},
	{"listen localhost:1884\n",
	 NAME ":1: listen: \"localhost\" is not a numeric IPv4 or IPv6 address"},
	{"listen [::1\n", NAME ":1: listen: \"[::1\": missing ']'"},
	{"listen [::1]1884\n", NAME ":1: listen: \"[::1]1884\": expected ':PORT' after ']'"},
	{"listen []:1884\n", NAME ":1: listen: \"[]:1884\": empty host"},
	{"listen :1884\n", NAME ":1: listen: \":1884\": empty host"},
	{"listen 127.0.0.1:\n", NAME ":1: listen: \"127.0.0.1:\": port must be 1-65535"},
	{"listen 127.0.0.1:0\n", NAME ":1: listen: \"127.0.0.1:0\": port must be 1-65535"},
	{"listen 127.0.0.1:65536\n", NAME ":1: listen: \"127.0.0.1:65536\": port must be 1-65535"},
	{"listen [::1]:http\n", NAME ":1: listen: \"[::1]:http\": port must be 1-65535"},
	{"listen [127.0.0.1:1884]\n",
	 NAME ":1: listen: \"127.0.0.1:1884\" is not a numeric IPv4 or IPv6 address"},
	{"advertise_addr 255.255.255.255\n",
	 NAME ":1: advertise_addr: \"255.255.255.255\": HOST:PORT expected"},
	{"advertise_addr [ff02::1]\n", NAME ":1: advertise_addr: \"[ff02::1]\": HOST:PORT expected"},
	{"advertise_addr ff02::1\n", NAME ":1: advertise_addr: \"ff02::1\": HOST:PORT expected"},
	{"advertise_addr broadcast:1884\n",
	 NAME ":1: advertise_addr: \"broadcast\" is not a numeric IPv4 or IPv6 address"},
	{"broker [::1\n", NAME ":1: broker: \"[::1\": missing ']'"},
	{"broker mqtt.example:0\n", NAME ":1: broker: \"mqtt.example:0\": port must be 1-65535"},
	{"broker :1883\n", NAME ":1: broker: \":1883\": empty host"},
	/* a limit */
	{"listen 127.0.0.1:1\nlisten 127.0.0.1:2\nlisten 127.0.0.1:3\nlisten 127.0.0.1:4\n"
	 "listen 127.0.0.1:5\nlisten 127.0.0.1:6\nlisten 127.0.0.1:7\nlisten 127.0.0.1:8\n"
	 "listen 127.0.0.1:9\nlisten 127.0.0.1:10\nlisten 127.0.0.1:11\nlisten 127.0.0.1:12\n"
	 "listen 127.0.0.1:13\nlisten 127.0.0.1:14\nlisten 127.0.0.1:15\nlisten 127.0.0.1:16\n"
	 "listen 127.0.0.1:17\n",
	 NAME ":17: listen: more than 16 listen lines"},
	/* custody (README "Custody") */
	{"store_sync sometimes\n",
	 NAME ":1: store_sync: \"sometimes\" is not always, never or milliseconds 1-3600000"},
	{"store_sync 0\n", NAME ":1: store_sync: \"0\" is not always, never or milliseconds 1-3600000"},
	{"store_sync 3600001\n",
	 NAME ":1: store_sync: \"3600001\" is not always, never or milliseconds 1-3600000"},
	{"store_sync ALWAYS\n",
	 NAME ":1: store_sync: \"ALWAYS\" is not always, never or milliseconds 1-3600000"},
	{"store_max_bytes -1\n",
	 NAME ":1: store_max_bytes: \"-1\" is not a whole number from 0 to 18446744073709551615"},
	{"store_max_bytes 256M\n",
	 NAME ":1: store_max_bytes: \"256M\" is not a whole number from 0 to 18446744073709551615"},
	{"store_station_msgs 4294967296\n",
	 NAME ":1: store_station_msgs: \"4294967296\" is not a whole number from 0 to 4294967295"},
	{"store_station_bytes 1e6\n",
	 NAME ":1: store_station_bytes: \"1e6\" is not a whole number from 0 to "
	      "18446744073709551615"},
	{"message_ttl_s 4294967296\n",
	 NAME ":1: message_ttl_s: \"4294967296\" is not a whole number from 0 to 4294967295"},
	{"message_ttl_s 1h\n",
	 NAME ":1: message_ttl_s: \"1h\" is not a whole number from 0 to 4294967295"},
	{"store_down_msgs -3\n",
	 NAME ":1: store_down_msgs: \"-3\" is not a whole number from 0 to 4294967295"},
	{"store_down_bytes 1M\n",
	 NAME ":1: store_down_bytes: \"1M\" is not a whole number from 0 to 18446744073709551615"},
	{"down_ttl_s 1d\n",
	 NAME ":1: down_ttl_s: \"1d\" is not a whole number from 0 to 4294967295"},
	{"store_dir\n", NAME ":1: key \"store_dir\" has no value"},
	/* serial lines */
	{"serial /dev/ttyS0 baud\n", NAME ":1: serial: baud needs a number"},
	{"serial /dev/ttyS0 baud 9601\n",
	 NAME ":1: serial: baud \"9601\" is not a standard rate (1200, 2400, 4800, 9600, 19200, "
	      "38400, 57600, 115200...)"},
	{"serial /dev/ttyS0 odd\n", NAME ":1: serial: \"odd\" is not baud N, rtscts or raw"},
	{"serial /dev/ttyS0\nport 1\nserial /dev/ttyS0 raw\n",
	 NAME ":3: serial: /dev/ttyS0 is already a serial line (" NAME ":1)"},
};

static void test_file_errors(void **state)
{
	size_t bad = 0;
	(void)state;
	for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
		const struct error_case *c = &error_cases[i];
		struct gw_daemon_config cfg;
		char err[512];
		int rc = parse(c->text, &cfg, err, sizeof err);
		if (rc != -1 || strcmp(err, c->want) != 0) {
			print_error("error row %zu: rc %d, message\n  got:  %s\n  want: %s\n", i, rc, err,
			            c->want);
			bad++;
		}
		gw_daemon_config_free(&cfg);
	}
	assert_int_equal(bad, 0);
}

/* ---------------------------------------------------------------- values */

/* What the configuration holds for key, in the file's own words. */
static void show(const struct gw_daemon_config *cfg, const char *key, char *out, size_t cap)
{
	struct {
		const char *key;
		unsigned long long v;
	} nums[] = {
		{"gw_id", cfg->core.gw_id},
		{"max_clients", cfg->core.max_clients},
		{"max_msg_size", cfg->core.max_msg_size},
		{"retry_count", cfg->core.retry_count},
		{"port", cfg->port},
		{"broker_keepalive_s", cfg->broker_keepalive_s},
		{"reconnect_min_s", cfg->reconnect_min_s},
		{"reconnect_max_s", cfg->reconnect_max_s},
		{"stats_interval_s", cfg->stats_interval_s},
		{"max_fds", cfg->max_fds},
		{"mqtt_version", (unsigned long long)cfg->mqtt_version},
		{"log_level", (unsigned long long)cfg->log_level},
		{"store_sync", (unsigned long long)cfg->store_sync},
		{"store_sync_ms", cfg->store_sync_ms},
		{"store_max_bytes", cfg->store_max_bytes},
		{"store_station_msgs", cfg->store_station_msgs},
		{"store_station_bytes", cfg->store_station_bytes},
		{"message_ttl_s", cfg->message_ttl_s},
		{"store_down_msgs", cfg->store_down_msgs},
		{"store_down_bytes", cfg->store_down_bytes},
		{"down_ttl_s", cfg->core.down_ttl_s},
	};
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		if (strcmp(key, nums[i].key) == 0) {
			snprintf(out, cap, "%llu", nums[i].v);
			return;
		}
	}
	struct {
		const char *key;
		bool v;
	} bools[] = {
		{"allow_qos_m1", cfg->core.allow_qos_m1},
		{"tls_insecure", cfg->tls_insecure},
		{"syslog", cfg->use_syslog},
	};
	for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
		if (strcmp(key, bools[i].key) == 0) {
			snprintf(out, cap, "%s", bools[i].v ? "true" : "false");
			return;
		}
	}
	struct {
		const char *key;
		const char *v;
	} strs[] = {
		{"advertise_addr", cfg->advertise_addr},
		{"predefined", cfg->predefined},
		{"store_dir", cfg->store_dir},
		{"client_id", cfg->client_id},
		{"username", cfg->username},
		{"password", cfg->password},
		{"cafile", cfg->cafile},
		{"stats_prefix", cfg->stats_prefix},
	};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		if (strcmp(key, strs[i].key) == 0) {
			snprintf(out, cap, "%s", strs[i].v != NULL ? strs[i].v : "(null)");
			return;
		}
	}
	if (strcmp(key, "mode") == 0) {
		snprintf(out, cap, "%s",
		         cfg->core.mode == GW_MODE_AGGREGATING ? "aggregating" : "transparent");
	} else if (strcmp(key, "broker") == 0) {
		snprintf(out, cap, "%s port %u", cfg->broker_host ? cfg->broker_host : "(null)",
		         cfg->broker_port);
	} else if (strcmp(key, "listen") == 0) {
		size_t n = 0;
		out[0] = '\0';
		for (size_t i = 0; i < cfg->n_listen && n < cap; i++)
			n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? " | " : "", cfg->listen[i]);
	} else {
		snprintf(out, cap, "?key %s", key);
	}
}

struct value_case {
	const char *text;
	const char *key;
	const char *want; /* as show() puts it */
};

static const struct value_case value_cases[] = {
	/* numbers at their limits, in any spacing */
	{"port 1885\n", "port", "1885"},
	{"port 1885", "port", "1885"}, /* no newline at the end */
	{"port 1885\r\n", "port", "1885"},
	{"  port \t 1886  \n", "port", "1886"},
	{"port 1\n", "port", "1"},
	{"port 65535\n", "port", "65535"},
	{"gw_id 0\n", "gw_id", "0"},
	{"gw_id 255\n", "gw_id", "255"},
	{"max_clients 007\n", "max_clients", "7"},
	{"max_clients 4294967295\n", "max_clients", "4294967295"},
	{"max_msg_size 2\n", "max_msg_size", "2"},
	{"retry_count 0\n", "retry_count", "0"},
	{"broker_keepalive_s 5\n", "broker_keepalive_s", "5"},
	{"reconnect_min_s 86400\n", "reconnect_min_s", "86400"},
	{"stats_interval_s 0\n", "stats_interval_s", "0"},
	{"max_fds 18446744073709551615\n", "max_fds", "18446744073709551615"},
	/* defaults stay where the file says nothing */
	{"", "port", "1884"},
	{"# only a comment\n\n", "mqtt_version", "311"},
	{"\r\n", "reconnect_max_s", "60"},
	/* booleans */
	{"syslog true\n", "syslog", "true"},
	{"syslog yes\n", "syslog", "true"},
	{"syslog on\n", "syslog", "true"},
	{"syslog 1\n", "syslog", "true"},
	{"allow_qos_m1 false\n", "allow_qos_m1", "false"},
	{"allow_qos_m1 no\n", "allow_qos_m1", "false"},
	{"allow_qos_m1 off\n", "allow_qos_m1", "false"},
	{"allow_qos_m1 0\n", "allow_qos_m1", "false"},
	{"tls_insecure true\r\n", "tls_insecure", "true"},
	/* words */
	{"mode aggregating\n", "mode", "aggregating"},
	{"mode transparent\n", "mode", "transparent"},
	{"mqtt_version 3.1.1\n", "mqtt_version", "311"},
	{"mqtt_version 5\n", "mqtt_version", "5"},
	{"log_level debug\n", "log_level", "3"},
	{"log_level warning\n", "log_level", "1"},
	{"log_level error\n", "log_level", "0"},
	/* strings: inner blanks and '#' kept, the ends trimmed */
	{"password sn p#ss\n", "password", "sn p#ss"},
	{"password \t two  words \r\n", "password", "two  words"},
	{"password #not-a-comment\n", "password", "#not-a-comment"},
	{"client_id st-1\n", "client_id", "st-1"},
	{"predefined /etc/sn-bridge/topics\n", "predefined", "/etc/sn-bridge/topics"},
	{"stats_prefix a/b\n", "stats_prefix", "a/b"},
	/* duplicates: the last one wins, listen adds */
	{"port 1\nport 2\n", "port", "2"},
	{"password a\npassword b\n", "password", "b"},
	{"mode aggregating\nmode transparent\n", "mode", "transparent"},
	{"listen 127.0.0.1\nlisten [::1]:1884\n", "listen", "127.0.0.1 | [::1]:1884"},
	{"broker 10.0.0.1:1999\nbroker 10.0.0.2\n", "broker", "10.0.0.2 port 0"},
	/* addresses */
	{"listen 0.0.0.0\n", "listen", "0.0.0.0"},
	{"listen 127.0.0.1:1\n", "listen", "127.0.0.1:1"},
	{"listen ::\n", "listen", "::"},
	{"listen ::1\n", "listen", "::1"},
	{"listen [::]:65535\n", "listen", "[::]:65535"},
	{"listen fe80::1%lo\n", "listen", "fe80::1%lo"},
	{"listen [fe80::1%eth0]:1884\n", "listen", "[fe80::1%eth0]:1884"},
	{"advertise_addr 255.255.255.255:1884\n", "advertise_addr", "255.255.255.255:1884"},
	{"advertise_addr [ff02::1%eth0]:1884\n", "advertise_addr", "[ff02::1%eth0]:1884"},
	{"broker 10.0.0.1:1999\n", "broker", "10.0.0.1 port 1999"},
	{"broker 10.0.0.1\n", "broker", "10.0.0.1 port 0"},
	{"broker [::1]:8883\n", "broker", "::1 port 8883"},
	{"broker [::1]\n", "broker", "::1 port 0"},
	{"broker ::1\n", "broker", "::1 port 0"},
	{"broker mqtt.example.org:1883\n", "broker", "mqtt.example.org port 1883"},
	/* custody: store_sync as enum gw_store_sync, the store's defaults */
	{"store_dir /var/lib/snbridge/store\n", "store_dir", "/var/lib/snbridge/store"},
	{"store_sync always\n", "store_sync", "0"},
	{"store_sync 250\n", "store_sync", "1"},
	{"store_sync 250\n", "store_sync_ms", "250"},
	{"store_sync 3600000\n", "store_sync_ms", "3600000"},
	{"store_sync never\n", "store_sync", "2"},
	{"store_sync 5\nstore_sync always\n", "store_sync", "0"},
	{"", "store_max_bytes", "268435456"},
	{"", "store_station_msgs", "10000"},
	{"", "store_station_bytes", "16777216"},
	{"", "message_ttl_s", "0"},
	{"store_max_bytes 0\n", "store_max_bytes", "0"},
	{"store_max_bytes 18446744073709551615\n", "store_max_bytes", "18446744073709551615"},
	{"store_station_msgs 4294967295\n", "store_station_msgs", "4294967295"},
	{"store_station_bytes 1024\n", "store_station_bytes", "1024"},
	{"message_ttl_s 86400\n", "message_ttl_s", "86400"},
	{"", "store_down_msgs", "1000"},
	{"", "store_down_bytes", "1048576"},
	{"", "down_ttl_s", "86400"},
	{"store_down_msgs 5\n", "store_down_msgs", "5"},
	{"store_down_bytes 0\n", "store_down_bytes", "0"},
	{"down_ttl_s 0\n", "down_ttl_s", "0"},
};

static void test_file_values(void **state)
{
	size_t bad = 0;
	(void)state;
	for (size_t i = 0; i < sizeof value_cases / sizeof value_cases[0]; i++) {
		const struct value_case *c = &value_cases[i];
		struct gw_daemon_config cfg;
		char err[512], got[256];
		int rc = parse(c->text, &cfg, err, sizeof err);
		show(&cfg, c->key, got, sizeof got);
		if (rc != 0 || strcmp(got, c->want) != 0) {
			print_error("value row %zu (%s): rc %d (%s), got \"%s\", want \"%s\"\n", i, c->key,
			            rc, err, got, c->want);
			bad++;
		}
		gw_daemon_config_free(&cfg);
	}
	assert_int_equal(bad, 0);
}

/* Every key of the example file parses, and the result passes the checks. */
static void test_example_file(void **state)
{
	static const char example[] = "bridge/sn-bridge.conf.example";
	struct gw_daemon_config cfg;
	char err[512];
	(void)state;
	/* tests/run.sh runs from the top of the tree. */
	if (access(example, R_OK) != 0) {
		print_message("%s not found from here: not checked\n", example);
		skip();
	}
	gw_daemon_config_init(&cfg);
	int rc = gw_daemon_config_read_file(&cfg, example, err, sizeof err);
	if (rc != 0)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(gw_daemon_config_check(&cfg, err, sizeof err), 0);
	gw_daemon_config_free(&cfg);
}

/* ---------------------------------------------------------------- long lines */

static char *repeat(char ch, size_t n, const char *prefix, const char *suffix)
{
	size_t p = strlen(prefix), s = strlen(suffix);
	char *out = malloc(p + n + s + 1);
	assert_non_null(out);
	memcpy(out, prefix, p);
	memset(out + p, ch, n);
	memcpy(out + p + n, suffix, s + 1);
	return out;
}

static void test_long_lines(void **state)
{
	struct gw_daemon_config cfg;
	char err[512];
	(void)state;

	/* A comment of 100000 characters is skipped like any other. */
	char *text = repeat('x', 100000, "# ", "\nport 1999\nfoo 1\n");
	assert_int_equal(parse(text, &cfg, err, sizeof err), -1);
	assert_string_equal(err, NAME ":3: unknown key \"foo\"");
	assert_int_equal(cfg.port, 1999);
	gw_daemon_config_free(&cfg);
	free(text);

	/* A long value is quoted cut short, and the reason still follows it. */
	text = repeat('9', 10000, "port ", "\n");
	assert_int_equal(parse(text, &cfg, err, sizeof err), -1);
	assert_string_equal(err, NAME ":1: port: \"999999999999999999999999999999999999999999999999"
	                         "...\" is not a whole number from 1 to 65535");
	gw_daemon_config_free(&cfg);
	free(text);

	text = repeat('k', 5000, "", " 1\n");
	assert_int_equal(parse(text, &cfg, err, sizeof err), -1);
	assert_string_equal(err, NAME ":1: unknown key \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	                         "...\"");
	gw_daemon_config_free(&cfg);
	free(text);

	text = repeat('a', 3000, "listen 1.2.3.4:", "\n");
	assert_int_equal(parse(text, &cfg, err, sizeof err), -1);
	assert_string_equal(err, NAME ":1: listen: \"1.2.3.4:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                         "...\": port must be 1-65535");
	gw_daemon_config_free(&cfg);
	free(text);

	/* A long string value is kept whole. */
	text = repeat('p', 20000, "password ", "\r\n");
	assert_int_equal(parse(text, &cfg, err, sizeof err), 0);
	assert_non_null(cfg.password);
	assert_int_equal(strlen(cfg.password), 20000);
	gw_daemon_config_free(&cfg);
	free(text);
}

/* ---------------------------------------------------------------- command line */

struct cli_run {
	enum gw_config_result rc;
	struct gw_daemon_config cfg;
	char err[512];
	char out[4096];
};

/* gw_daemon_config_load() with args (argv[0] added); getopt may permute them. */
static void load(struct cli_run *r, const char *const *args, size_t n)
{
	char **argv = calloc(n + 2, sizeof *argv);
	assert_non_null(argv);
	argv[0] = strdup("sn-bridge");
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = strdup(args[i]);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	r->err[0] = '\0';
	r->rc = gw_daemon_config_load(&r->cfg, (int)n + 1, argv, out, r->err, sizeof r->err);
	fclose(out);
	snprintf(r->out, sizeof r->out, "%s", buf != NULL ? buf : "");
	free(buf);
	for (size_t i = 0; i < n + 1; i++)
		free(argv[i]);
	free(argv);
}

/* A configuration file with text; its path in path. */
static void write_file(char *path, size_t cap, const char *text)
{
	snprintf(path, cap, "%s/sn-test-config-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_command_line_overrides(void **state)
{
	char path[256];
	struct cli_run r;
	(void)state;
	write_file(path, sizeof path,
	           "port 1885\nbroker 10.0.0.1:1999\nlog_level warn\npredefined /a\nusername u\n");

	/* The file alone. */
	const char *plain[] = {"-c", path};
	load(&r, plain, 2);
	assert_int_equal(r.rc, GW_CONFIG_RUN);
	assert_int_equal(r.cfg.port, 1885);
	assert_string_equal(r.cfg.broker_host, "10.0.0.1");
	assert_int_equal(r.cfg.broker_port, 1999);
	assert_int_equal(r.cfg.log_level, GW_LOG_WARN);
	assert_string_equal(r.cfg.predefined, "/a");
	assert_false(r.cfg.use_syslog);
	assert_string_equal(r.cfg.config_path, path);
	gw_daemon_config_free(&r.cfg);

	/* Every option wins over the file, wherever it stands; the rest stays. */
	const char *over[] = {"-p", "1886", "--broker", "[::1]", "-c", path, "-v",
	                      "--predefined", "/b", "--syslog"};
	load(&r, over, sizeof over / sizeof over[0]);
	assert_int_equal(r.rc, GW_CONFIG_RUN);
	assert_int_equal(r.cfg.port, 1886);
	assert_string_equal(r.cfg.broker_host, "::1");
	assert_int_equal(r.cfg.broker_port, 0); /* the option's broker has none */
	assert_int_equal(r.cfg.log_level, GW_LOG_DEBUG);
	assert_string_equal(r.cfg.predefined, "/b");
	assert_true(r.cfg.use_syslog);
	assert_string_equal(r.cfg.username, "u");
	gw_daemon_config_free(&r.cfg);

	/* Long options with '=', short ones glued to their value. */
	const char *glued[] = {"--config=", "-p1887", "-b10.0.0.3:1234"};
	char config_eq[300];
	snprintf(config_eq, sizeof config_eq, "--config=%s", path);
	glued[0] = config_eq;
	load(&r, glued, 3);
	assert_int_equal(r.rc, GW_CONFIG_RUN);
	assert_int_equal(r.cfg.port, 1887);
	assert_string_equal(r.cfg.broker_host, "10.0.0.3");
	assert_int_equal(r.cfg.broker_port, 1234);
	gw_daemon_config_free(&r.cfg);

	/* No file: the defaults and the options. */
	const char *none[] = {"-p", "2000"};
	load(&r, none, 2);
	assert_int_equal(r.rc, GW_CONFIG_RUN);
	assert_int_equal(r.cfg.port, 2000);
	assert_null(r.cfg.broker_host);
	assert_null(r.cfg.config_path);
	gw_daemon_config_free(&r.cfg);

	unlink(path);
}

struct cli_case {
	const char *args[4];
	size_t n;
	enum gw_config_result rc;
	const char *want; /* the whole error, or a piece of the output */
};

static const struct cli_case cli_cases[] = {
	{{"-p", "70000"}, 2, GW_CONFIG_ERROR, "-p 70000: \"70000\" is not a whole number from 1 to 65535"},
	{{"-p", "0"}, 2, GW_CONFIG_ERROR, "-p 0: \"0\" is not a whole number from 1 to 65535"},
	{{"-b", "[::1"}, 2, GW_CONFIG_ERROR, "-b \"[::1\": missing ']'"},
	{{"--broker", "h:99999"}, 2, GW_CONFIG_ERROR, "-b \"h:99999\": port must be 1-65535"},
	{{"--no-such-option"}, 1, GW_CONFIG_ERROR, "unknown option --no-such-option (see --help)"},
	{{"-x"}, 1, GW_CONFIG_ERROR, "unknown option -x (see --help)"},
	{{"-vx"}, 1, GW_CONFIG_ERROR, "unknown option -x (see --help)"},
	{{"-p"}, 1, GW_CONFIG_ERROR, "option -p needs a value (see --help)"},
	{{"--port"}, 1, GW_CONFIG_ERROR, "option --port needs a value (see --help)"},
	{{"--predefined"}, 1, GW_CONFIG_ERROR, "option --predefined needs a value (see --help)"},
	{{"-v", "extra"}, 2, GW_CONFIG_ERROR, "unexpected argument \"extra\" (see --help)"},
	{{"-c", "/nonexistent/sn-bridge.conf"}, 2, GW_CONFIG_ERROR,
	 "/nonexistent/sn-bridge.conf: No such file or directory"},
	{{"--help"}, 1, GW_CONFIG_EXIT, "Usage: sn-bridge [options]"},
	{{"-vh"}, 1, GW_CONFIG_EXIT, "Usage: sn-bridge [options]"},
	{{"-V"}, 1, GW_CONFIG_EXIT, "sn-bridge "},
	{{"--version", "-p", "0"}, 3, GW_CONFIG_EXIT, "(MQTT-SN 1.2)"},
};

static void test_command_line_errors(void **state)
{
	size_t bad = 0;
	(void)state;
	for (size_t i = 0; i < sizeof cli_cases / sizeof cli_cases[0]; i++) {
		const struct cli_case *c = &cli_cases[i];
		struct cli_run r;
		load(&r, c->args, c->n);
		bool match = c->rc == GW_CONFIG_ERROR ? strcmp(r.err, c->want) == 0
		                                      : strstr(r.out, c->want) != NULL;
		if (r.rc != c->rc || !match) {
			print_error("command line row %zu (%s): result %d, want %d\n  err: %s\n  want: %s\n",
			            i, c->args[0], (int)r.rc, (int)c->rc, r.err, c->want);
			bad++;
		}
		gw_daemon_config_free(&r.cfg);
	}
	assert_int_equal(bad, 0);
}

/* The checks of the values together, after file and options. */
static void test_checks(void **state)
{
	static const struct {
		const char *text;
		const char *want; /* after "PATH: " */
	} cases[] = {
		{"reconnect_min_s 10\nreconnect_max_s 5\n", "reconnect_min_s 10 is above reconnect_max_s 5"},
		{"retry_min_ms 10\nretry_max_ms 5\n", "retry_min_ms 10 is above retry_max_ms 5"},
		{"cafile /ca\ncertfile /c\n", "certfile and keyfile go together"},
		{"certfile /c\nkeyfile /k\n", "certfile needs cafile or capath (TLS to the broker)"},
		{"password p\n", "password without username"},
		{"stats_prefix a/#\n", "stats_prefix \"a/#\" is not a topic name"},
		{"stats_prefix a/+/b\n", "stats_prefix \"a/+/b\" is not a topic name"},
	};
	size_t bad = 0;
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[256], want[512];
		struct cli_run r;
		write_file(path, sizeof path, cases[i].text);
		const char *args[] = {"-c", path};
		load(&r, args, 2);
		snprintf(want, sizeof want, "%s: %s", path, cases[i].want);
		if (r.rc != GW_CONFIG_ERROR || strcmp(r.err, want) != 0) {
			print_error("check row %zu: result %d\n  got:  %s\n  want: %s\n", i, (int)r.rc,
			            r.err, want);
			bad++;
		}
		gw_daemon_config_free(&r.cfg);
		unlink(path);
	}

	/* The file is read before the options are applied: its error comes first. */
	char path[256], want[512];
	struct cli_run r;
	write_file(path, sizeof path, "port 1\nkeepalvie 2\n");
	const char *args[] = {"-p", "0", "-c", path};
	load(&r, args, 4);
	snprintf(want, sizeof want, "%s:2: unknown key \"keepalvie\"", path);
	assert_int_equal(r.rc, GW_CONFIG_ERROR);
	assert_string_equal(r.err, want);
	gw_daemon_config_free(&r.cfg);
	unlink(path);
	assert_int_equal(bad, 0);
}

/* The default names toward the broker: known answers, and the 23-character limit. */
static void test_default_names(void **state)
{
	(void)state;
	static const struct {
		const char *host;
		unsigned gw_id;
		const char *client_id, *own_id, *prefix;
	} cases[] = {
		{"pump7", 1, "snb-pump7-1", "snb-pump7-1-s", "snbridge/pump7/1/stats"},
		/* Only letters and digits, of the first label; 13 characters fit beside 255. */
		{"Ground_Station.local", 255, "snb-GroundStation-255", "snb-GroundStation-255-s",
		 "snbridge/GroundStation/255/stats"},
		/* Too long: cut, and four hex digits of the whole name's hash keep them apart. */
		{"groundstation-eu-1.example.org", 1, "snb-groundstatica93-1", "snb-groundstatica93-1-s",
		 "snbridge/groundstatica93/1/stats"},
		{"groundstation-eu-2", 1, "snb-groundstaticc26-1", "snb-groundstaticc26-1-s",
		 "snbridge/groundstaticc26/1/stats"},
		/* No host name: the gateway id alone. */
		{"", 1, "snb-1", "snb-1-s", "snbridge/1/stats"},
		{NULL, 0, "snb-0", "snb-0-s", "snbridge/0/stats"},
		{"-._", 7, "snb-7", "snb-7-s", "snbridge/7/stats"},
	};
	struct gw_daemon_config cfg;
	struct gw_daemon_names n;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		gw_daemon_config_init(&cfg);
		cfg.core.gw_id = (uint8_t)cases[i].gw_id;
		gw_daemon_names(&cfg, cases[i].host, &n);
		assert_string_equal(n.client_id, cases[i].client_id);
		assert_string_equal(n.own_id, cases[i].own_id);
		assert_string_equal(n.stats_prefix, cases[i].prefix);
		gw_daemon_config_free(&cfg);
	}
	for (unsigned id = 0; id <= 255; id++) {
		gw_daemon_config_init(&cfg);
		cfg.core.gw_id = (uint8_t)id;
		gw_daemon_names(&cfg, "averyveryverylonghostnameindeed", &n);
		assert_true(strlen(n.client_id) <= GW_CLIENT_ID_SAFE);
		assert_true(strlen(n.own_id) <= GW_CLIENT_ID_SAFE);
		gw_daemon_config_free(&cfg);
	}
	/* Configured names win; the statistics connection appends "-stats" as before. */
	gw_daemon_config_init(&cfg);
	cfg.client_id = strdup("site-a-bridge");
	cfg.stats_prefix = strdup("site/a/stats");
	assert_non_null(cfg.client_id);
	assert_non_null(cfg.stats_prefix);
	gw_daemon_names(&cfg, "pump7", &n);
	assert_string_equal(n.client_id, "site-a-bridge");
	assert_string_equal(n.own_id, "site-a-bridge-stats");
	assert_string_equal(n.stats_prefix, "site/a/stats");
	gw_daemon_config_free(&cfg);
}

/* "serial" lines and --serial, which replaces them. */
/* The link frames' keys, and the words a listen line may end in. */
static void test_link_settings(void **state)
{
	struct gw_daemon_config cfg;
	char err[512];
	(void)state;
	assert_int_equal(parse("link_keys /k\nlink_dict /d1\nlink_dict /d2\nlink_mtu 340\n"
	                       "link_hold_ms 0\nlink_state_dir /s\nlink_require on\nlink_plain_ok yes\n"
	                       "listen 127.0.0.1:1 link_require=off link_mtu=1200\n"
	                       "listen [::1]:2\tlink_plain_ok=off   link_require\nlisten 127.0.0.1\n"
	                       "serial /dev/null baud 19200 link_mtu 270\n",
	                       &cfg, err, sizeof err), 0);
	assert_string_equal(cfg.link.keys, "/k");
	assert_int_equal(cfg.link.n_dict, 2);
	assert_string_equal(cfg.link.dict[1], "/d2");
	assert_int_equal(cfg.link.mtu, 340);
	assert_int_equal(cfg.link.hold_ms, 0);
	assert_string_equal(cfg.link.state_dir, "/s");
	assert_true(cfg.link.require && cfg.link.plain_ok);
	assert_int_equal(cfg.n_listen, 3);
	assert_string_equal(cfg.listen[0], "127.0.0.1:1");
	assert_string_equal(cfg.listen[1], "[::1]:2");
	assert_int_equal(cfg.link.listen_require[0], GW_LISTEN_OFF);
	assert_int_equal(cfg.link.listen_plain_ok[0], GW_LISTEN_INHERIT);
	assert_int_equal(cfg.link.listen_require[1], GW_LISTEN_ON);
	assert_int_equal(cfg.link.listen_plain_ok[1], GW_LISTEN_OFF);
	assert_int_equal(cfg.link.listen_require[2], GW_LISTEN_INHERIT);
	assert_int_equal(cfg.link.listen_mtu[0], 1200);
	assert_int_equal(cfg.link.listen_mtu[1], 0);
	assert_int_equal(cfg.n_serial, 1);
	assert_int_equal(cfg.serial[0].baud, 19200);
	assert_int_equal(cfg.serial[0].link_mtu, 270);
	gw_daemon_config_free(&cfg);

	static const struct error_case bad[] = {
		{"link_mtu 63\n", NAME ":1: link_mtu: \"63\" is not a whole number from 64 to 4096"},
		{"link_mtu 4097\n", NAME ":1: link_mtu: \"4097\" is not a whole number from 64 to 4096"},
		{"link_require maybe\n", NAME ":1: link_require: \"maybe\" is not true or false"},
		{"listen 127.0.0.1 link_requir\n",
		 NAME ":1: listen: \"link_requir\": expected link_require[=on|off], link_plain_ok[=on|off] or "
		      "link_mtu=N (64-4096)"},
		{"listen 127.0.0.1 link_require=2\n",
		 NAME ":1: listen: \"link_require=2\": expected link_require[=on|off], link_plain_ok[=on|off] "
		      "or link_mtu=N (64-4096)"},
		{"listen 127.0.0.1 link_mtu=63\n",
		 NAME ":1: listen: \"link_mtu=63\": expected link_require[=on|off], link_plain_ok[=on|off] or "
		      "link_mtu=N (64-4096)"},
		{"serial /dev/null link_mtu 5000\n",
		 NAME ":1: serial: link_mtu needs a number of octets, 64-4096"},
		{"listen host link_require\n", NAME ":1: listen: \"host\" is not a numeric IPv4 or IPv6 address"},
		{"link_dict a\nlink_dict a\nlink_dict a\nlink_dict a\nlink_dict a\nlink_dict a\nlink_dict a\n"
		 "link_dict a\nlink_dict a\n", NAME ":9: link_dict: more than 8 link_dict lines"},
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = parse(bad[i].text, &cfg, err, sizeof err);
		if (rc != -1 || strcmp(err, bad[i].want) != 0) {
			print_error("link row %zu: got %d \"%s\", want \"%s\"\n", i, rc, err, bad[i].want);
			failed++;
		}
		gw_daemon_config_free(&cfg);
	}
	assert_int_equal(failed, 0);
}

static void test_serial_lines(void **state)
{
	struct gw_daemon_config cfg;
	struct cli_run r;
	char err[512], path[256];
	(void)state;
	assert_int_equal(parse("serial /dev/ttyS0\n# two\nserial\t/dev/ttyUSB1  baud 115200 rtscts raw\n",
	                       &cfg, err, sizeof err), 0);
	assert_int_equal(cfg.n_serial, 2);
	assert_string_equal(cfg.serial[0].path, "/dev/ttyS0");
	assert_int_equal(cfg.serial[0].baud, 9600);
	assert_false(cfg.serial[0].rtscts || cfg.serial[0].raw);
	assert_string_equal(cfg.serial[0].origin, NAME ":1");
	assert_string_equal(cfg.serial[1].path, "/dev/ttyUSB1");
	assert_int_equal(cfg.serial[1].baud, 115200);
	assert_true(cfg.serial[1].rtscts && cfg.serial[1].raw);
	assert_string_equal(cfg.serial[1].origin, NAME ":3");
	gw_daemon_config_free(&cfg);

	write_file(path, sizeof path, "serial /dev/ttyS0\nserial /dev/ttyS1\n");
	const char *args[] = {"-c", path, "--serial", "/dev/ttyACM0:57600,raw", "--serial",
	                      "/dev/ttyACM1"};
	load(&r, args, 6);
	assert_int_equal(r.rc, GW_CONFIG_RUN);
	assert_int_equal(r.cfg.n_serial, 2);
	assert_string_equal(r.cfg.serial[0].path, "/dev/ttyACM0");
	assert_int_equal(r.cfg.serial[0].baud, 57600);
	assert_true(r.cfg.serial[0].raw && !r.cfg.serial[0].rtscts);
	assert_string_equal(r.cfg.serial[0].origin, "--serial");
	assert_string_equal(r.cfg.serial[1].path, "/dev/ttyACM1");
	assert_int_equal(r.cfg.serial[1].baud, 9600);
	gw_daemon_config_free(&r.cfg);
	const char *bad[] = {"--serial", "/dev/ttyACM0:96000"};
	load(&r, bad, 2);
	assert_int_equal(r.rc, GW_CONFIG_ERROR);
	assert_non_null(strstr(r.err, "--serial /dev/ttyACM0:96000: baud \"96000\""));
	gw_daemon_config_free(&r.cfg);
	const char *flag[] = {"--serial", "/dev/ttyACM0,parity"};
	load(&r, flag, 2);
	assert_int_equal(r.rc, GW_CONFIG_ERROR);
	assert_non_null(strstr(r.err, "\"parity\" is not baud N, rtscts or raw"));
	gw_daemon_config_free(&r.cfg);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_values),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_command_line_overrides),
		cmocka_unit_test(test_command_line_errors),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_default_names),
		cmocka_unit_test(test_serial_lines),
		cmocka_unit_test(test_link_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
