/*
 * config.h - the daemon's configuration: defaults, then the configuration
 * file (-c), then the command line, which wins (as mosquitto does it).
 *
 * The file is "key value" lines; '#' starts a comment line; blank lines are
 * skipped. Every key is listed in bridge/sn-bridge.conf.example. Errors name
 * the file, the line and the key: `gateway.conf:12: unknown key "keepalvie"`.
 */
#ifndef SNBRIDGE_BRIDGE_CONFIG_H
#define SNBRIDGE_BRIDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bridge/gw.h"

#define GW_LISTEN_MAX 16u           /* "listen" lines */
#define GW_SERIAL_MAX 16u           /* "serial" lines */
#define GW_DEFAULT_PORT 1884u       /* MQTT-SN over UDP, by custom */
#define GW_DEFAULT_BROKER_PORT 1883u
#define GW_DEFAULT_BROKER_TLS_PORT 8883u

/*
 * A serial line (bridge/serial.h): a device that is a point-to-point link
 * to one station's modem or radio. From "serial DEV [baud N] [rtscts]
 * [raw]" in the file or --serial DEV[:BAUD][,rtscts][,raw].
 */
struct gw_serial_line {
	char *path;                     /* the device */
	uint32_t baud;                  /* a standard rate; default 9600 */
	bool rtscts;                    /* hardware flow control */
	bool raw;                       /* mqtt-sn-tools' raw stream instead of frames */
	uint32_t link_mtu;              /* largest link frame sent on this line; 0: link_mtu */
	char *origin;                   /* "FILE:LINE" or "--serial", for messages */
};

/*
 * Link frames (bridge/link.h): the stations' keys, the dictionaries, and
 * which listeners require frames or take unencrypted ones. A listen line
 * may end in "link_require[=on|off]" and "link_plain_ok[=on|off]"; what
 * it does not say comes from the global keys.
 */
#define GW_LINK_DICT_LINES 8u       /* "link_dict" lines */
#define GW_LINK_STATE_DIR "/var/lib/snbridge/link"
enum { GW_LISTEN_INHERIT = 0, GW_LISTEN_ON = 1, GW_LISTEN_OFF = 2 };
struct gw_link_settings {
	char *keys;                     /* link_keys: the key file, or NULL */
	size_t n_dict;
	char *dict[GW_LINK_DICT_LINES]; /* link_dict: dictionary files */
	uint32_t mtu;                   /* link_mtu: largest frame the bridge sends */
	uint32_t hold_ms;               /* link_hold_ms: longest a message waits for company */
	uint32_t queue;                 /* link_queue: octets queued per station; 0: the codec's */
	char *state_dir;                /* link_state_dir; NULL: GW_LINK_STATE_DIR */
	bool require;                   /* link_require: refuse plain MQTT-SN */
	bool plain_ok;                  /* link_plain_ok: take unencrypted frames */
	uint8_t listen_require[GW_LISTEN_MAX];  /* GW_LISTEN_* per listen line */
	uint8_t listen_plain_ok[GW_LISTEN_MAX];
	uint32_t listen_mtu[GW_LISTEN_MAX];     /* link_mtu=N on a listen line; 0: mtu */
};

/* Everything sn-bridge can be told. Strings are owned (malloc'd). */
struct gw_daemon_config {
	struct gw_config core;          /* the gateway core's tunables */

	/* MQTT-SN side */
	uint16_t port;                  /* default port of the listeners */
	size_t n_listen;
	char *listen[GW_LISTEN_MAX];    /* "ADDR", "ADDR:PORT" or "[ADDR6]:PORT" */
	char *advertise_addr;           /* "HOST:PORT" or NULL: no advertise destination */
	char *predefined;               /* predefined topics file or NULL */
	size_t n_serial;
	struct gw_serial_line serial[GW_SERIAL_MAX];
	struct gw_link_settings link;   /* link frames */

	/* MQTT side */
	char *broker_host;              /* numeric address or a name resolved once at start */
	uint16_t broker_port;           /* 0: 1883, or 8883 with TLS */
	int mqtt_version;               /* 311 or 5 */
	char *client_id;                /* aggregating mode's; NULL: gw_daemon_names() */
	uint16_t broker_keepalive_s;    /* of the bridge's own connections */
	uint32_t reconnect_min_s;       /* back-off after a broker connection drops */
	uint32_t reconnect_max_s;
	char *username, *password;
	char *cafile, *capath, *certfile, *keyfile;
	bool tls_insecure;              /* skip the broker's host name check */

	/* custody (bridge/custody.h, README "Custody"): on when store_dir is set */
	char *store_dir;                /* store_dir: the custody store's directory, or NULL */
	int store_sync;                 /* store_sync: enum gw_store_sync (always, never, N ms) */
	uint32_t store_sync_ms;         /* ... its interval under GW_STORE_SYNC_INTERVAL */
	uint64_t store_max_bytes;       /* store_max_bytes: live octets in the store */
	uint32_t store_station_msgs;    /* store_station_msgs: a station's uplink messages */
	uint64_t store_station_bytes;   /* store_station_bytes: ... and their octets */
	uint32_t message_ttl_s;         /* message_ttl_s: 0, none; else the message expiry */
	uint32_t store_down_msgs;       /* store_down_msgs: messages waiting for one station */
	uint64_t store_down_bytes;      /* store_down_bytes: ... and their octets */

	/* the daemon */
	uint32_t stats_interval_s;      /* 0: no statistics publishing */
	char *stats_prefix;             /* NULL: gw_daemon_names() */
	enum gw_log_level log_level;
	bool use_syslog;
	uint64_t max_fds;               /* RLIMIT_NOFILE wanted; 0: the hard limit */
	char *config_path;              /* -c, for messages */
};

/* What gw_daemon_config_load() asks of its caller. */
enum gw_config_result {
	GW_CONFIG_RUN = 0,   /* start the daemon */
	GW_CONFIG_EXIT = 1,  /* --help or --version was printed: exit 0 */
	GW_CONFIG_ERROR = 2, /* err says what is wrong: exit 2 */
};

/* An MQTT 3.1.1 server must accept client ids of up to 23 characters (3.1.3.1). */
#define GW_CLIENT_ID_SAFE 23u

/* The names the daemon uses toward the broker. */
struct gw_daemon_names {
	char client_id[64];     /* the shared (aggregating) connection's */
	char own_id[64];        /* the statistics connection's */
	char custody_id[64];    /* the custody drainer's connection's */
	char stats_prefix[320]; /* topic prefix of the statistics */
};

/*
 * The names the daemon goes by on the broker: the configured client_id and
 * stats_prefix, or defaults made from host (the machine's name, as
 * gethostname() gives it; NULL or "" when unknown) and gw_id, so that two
 * bridges toward one broker, both with gw_id 1, neither take over each
 * other's connections nor mix their statistics:
 *   client_id     "snb-<host>-<gw_id>"          (configured: as given)
 *   own_id        "snb-<host>-<gw_id>-s"        (configured: "<client_id>-stats")
 *   custody_id    "snb-<host>-<gw_id>-c"        (configured: "<client_id>-custody")
 *   stats_prefix  "snbridge/<host>/<gw_id>/stats"
 * <host> keeps only the letters and digits of host's first label (the
 * characters every MQTT 3.1.1 server accepts), and is shortened so that
 * both default ids fit in GW_CLIENT_ID_SAFE characters: a long name keeps
 * its start and ends in four hex digits of a hash of the whole, so that
 * names alike up to the cut still differ.
 */
void gw_daemon_names(const struct gw_daemon_config *cfg, const char *host,
                     struct gw_daemon_names *out);

/* Fill in the defaults (the core's from gw_config_defaults()). */
void gw_daemon_config_init(struct gw_daemon_config *cfg);
/*
 * Defaults, then the file named by -c, then the other options of argv.
 * --help and --version print to out. On GW_CONFIG_ERROR err holds one
 * line for the user.
 */
enum gw_config_result gw_daemon_config_load(struct gw_daemon_config *cfg, int argc, char **argv,
                                            FILE *out, char *err, size_t errlen);
/* Read one configuration file into cfg. Returns 0 or -1 with err set. */
int gw_daemon_config_read_file(struct gw_daemon_config *cfg, const char *path, char *err,
                               size_t errlen);
/*
 * The same from an open stream; name stands for it in messages
 * ("name:LINE: ..."). Values are applied line by line: on an error, the
 * lines before it have been applied.
 */
int gw_daemon_config_read_stream(struct gw_daemon_config *cfg, FILE *f, const char *name,
                                 char *err, size_t errlen);
/* Check the values together (ranges, TLS files...). Returns 0 or -1. */
int gw_daemon_config_check(const struct gw_daemon_config *cfg, char *err, size_t errlen);
/* Free the strings. */
void gw_daemon_config_free(struct gw_daemon_config *cfg);
/* The --help text. */
void gw_daemon_config_usage(FILE *out, const char *prog);

/*
 * Split "HOST", "HOST:PORT", "[HOST6]" or "[HOST6]:PORT" (a bare IPv6
 * address has no port). host gets the address without brackets; *port is
 * set only when the text has one (*has_port true). Returns 0, or -1 with
 * err saying what is wrong with the text.
 */
int gw_hostport_parse(const char *text, char *host, size_t hostcap, uint16_t *port,
                      bool *has_port, char *err, size_t errlen);

#endif
