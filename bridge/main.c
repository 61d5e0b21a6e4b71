/*
 * main.c - sn-bridge: arguments and wiring. The gateway core (gw.h) in the
 * event loop (loop.h), with the UDP and serial transports (udp.h, serial.h),
 * the broker adapter (broker.h), the statistics (stats.h) and the signals.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge/broker.h"
#include "bridge/config.h"
#include "bridge/custody.h"
#include "bridge/custody_down.h"
#include "bridge/gw.h"
#include "bridge/link.h"
#include "bridge/link_daemon.h"
#include "bridge/log.h"
#include "bridge/loop.h"
#include "bridge/predefined.h"
#include "bridge/serial.h"
#include "bridge/stats.h"
#include "bridge/udp.h"

/* How long a shutdown waits for the broker connections to close cleanly. */
#define SHUTDOWN_GRACE_MS 3000u
/* File descriptors beside the broker connections: listeners, epoll, logs. */
#define FD_RESERVE 64u

struct daemon {
	struct gw_daemon_config cfg;
	struct gw_loop *loop;
	struct gw_udp *udp;
	struct gw_serial *serial;
	struct gw_dlink *link;          /* link frames between the transports and the core */
	struct gw_broker *broker;
	struct gw_custody *custody;     /* NULL unless store_dir is set */
	struct gw *gw;
	struct gw_stats_pub *stats;
	struct gw_timer tick;
	struct gw_timer grace;
	bool stopping;
};

/* ---------------------------------------------------------------- gw_ops */

/* An address for the log, by the transport it belongs to. */
static const char *addr_format(const struct gw_addr *a, char *buf, size_t cap)
{
	return gw_serial_owns(a) ? gw_serial_addr_format(a, buf, cap) : gw_udp_addr_format(a, buf, cap);
}

/* A datagram on the wire: a frame of the link layer or a plain message. */
static void transmit(void *ctx, const struct gw_addr *to, const uint8_t *buf, size_t len)
{
	struct daemon *d = ctx;
	/* Serial lines have link numbers of their own (serial.h). */
	if (to != NULL && gw_serial_owns(to))
		gw_serial_send(d->serial, to, buf, len);
	else
		gw_udp_send(d->udp, to, buf, len);
}

/* The core's messages go through the link layer, which frames those of framed stations. */
static void op_send(void *ctx, const struct gw_addr *to, const uint8_t *buf, size_t len)
{
	struct daemon *d = ctx;
	gw_link_send(gw_dlink_link(d->link), to, buf, len, gw_loop_now(d->loop));
}

static int op_broker_open(void *ctx, uint32_t conn, const struct gw_broker_session *s)
{
	struct daemon *d = ctx;
	return gw_broker_open(d->broker, conn, s);
}

static void op_broker_close(void *ctx, uint32_t conn, bool fire_will)
{
	struct daemon *d = ctx;
	gw_broker_close(d->broker, conn, fire_will);
}

static int op_broker_publish(void *ctx, uint32_t conn, const char *topic, size_t topic_len,
                             const uint8_t *payload, size_t len, int qos, bool retain,
                             uint32_t *token)
{
	struct daemon *d = ctx;
	return gw_broker_publish(d->broker, conn, topic, topic_len, payload, len, qos, retain, token);
}

static int op_broker_subscribe(void *ctx, uint32_t conn, const char *filter, size_t len, int qos,
                               uint32_t *token)
{
	struct daemon *d = ctx;
	return gw_broker_subscribe(d->broker, conn, filter, len, qos, token);
}

static int op_broker_unsubscribe(void *ctx, uint32_t conn, const char *filter, size_t len,
                                 uint32_t *token)
{
	struct daemon *d = ctx;
	return gw_broker_unsubscribe(d->broker, conn, filter, len, token);
}

static void op_log(void *ctx, enum gw_log_level level, const char *line)
{
	(void)ctx;
	gw_log_line(level, line);
}

static int op_custody_put(void *ctx, const char *client_id, const char *topic, size_t topic_len,
                          const uint8_t *payload, size_t len, int qos, bool retain,
                          uint16_t msg_id)
{
	struct daemon *d = ctx;
	return gw_custody_put(d->custody, client_id, topic, topic_len, payload, len, qos, retain,
	                      msg_id);
}

static void op_session_save(void *ctx, const char *client_id, const uint8_t *blob, size_t len)
{
	struct daemon *d = ctx;
	gw_custody_session_save(gw_custody_store(d->custody), client_id, blob, len);
}

static void op_session_drop(void *ctx, const char *client_id)
{
	struct daemon *d = ctx;
	gw_custody_session_drop(gw_custody_store(d->custody), client_id);
}

static int op_down_put(void *ctx, const char *client_id, const char *topic, size_t topic_len,
                       const uint8_t *payload, size_t len, int qos, bool retain, uint32_t ttl_s,
                       uint64_t *seq)
{
	struct daemon *d = ctx;
	return gw_custody_down_put(gw_custody_store(d->custody), client_id, topic, topic_len,
	                           payload, len, qos, retain, ttl_s, seq);
}

static int op_down_next(void *ctx, const char *client_id, uint64_t after, struct gw_down_msg *out)
{
	struct daemon *d = ctx;
	return gw_custody_down_next(gw_custody_store(d->custody), client_id, after, out);
}

static void op_down_done(void *ctx, const char *client_id, uint64_t seq)
{
	struct daemon *d = ctx;
	gw_custody_down_done(gw_custody_store(d->custody), client_id, seq);
}

static bool op_custody_held(void *ctx, const char *client_id, uint16_t msg_id)
{
	struct daemon *d = ctx;
	return gw_custody_held(d->custody, client_id, msg_id);
}

static int op_custody_release(void *ctx, const char *client_id, uint16_t msg_id)
{
	struct daemon *d = ctx;
	return gw_custody_release(d->custody, client_id, msg_id);
}

/* ---------------------------------------------------------------- events */

static void on_datagram(void *arg, const struct gw_addr *from, const uint8_t *buf, size_t len)
{
	struct daemon *d = arg;
	if (!d->stopping)
		gw_link_on_datagram(gw_dlink_link(d->link), from, buf, len, gw_loop_now(d->loop));
}

/* A plain MQTT-SN message, from the wire or out of a link frame. */
static void deliver(void *arg, const struct gw_addr *from, const uint8_t *msg, size_t len,
                    uint64_t now)
{
	struct daemon *d = arg;
	gw_on_datagram(d->gw, from, msg, len, now);
}

static void arm_tick(struct daemon *d, uint64_t due)
{
	if (due == UINT64_MAX)
		gw_timer_disarm(d->loop, &d->tick);
	else if (gw_timer_arm(d->loop, &d->tick, due) != 0)
		gw_log(GW_LOG_ERR, "out of memory arming the core's timer");
}

static void on_tick(void *arg, uint64_t now)
{
	struct daemon *d = arg;
	arm_tick(d, gw_tick(d->gw, now));
}

/* Every event may have moved the core's next deadline: ask before sleeping. */
static void on_prepare(void *arg, uint64_t now)
{
	struct daemon *d = arg;
	(void)now;
	if (d->stopping) {
		if (gw_broker_count(d->broker) == 0)
			gw_loop_stop(d->loop);
		return;
	}
	arm_tick(d, gw_next_deadline(d->gw));
	gw_dlink_prepare(d->link);
	if (d->custody != NULL)
		gw_custody_prepare(d->custody);
}

static void on_grace_over(void *arg, uint64_t now)
{
	struct daemon *d = arg;
	(void)now;
	gw_log(GW_LOG_WARN, "%zu broker connection(s) did not close in time", gw_broker_count(d->broker));
	gw_loop_stop(d->loop);
}

static void reload_predefined(struct daemon *d)
{
	struct gw_predefined_file file;
	char err[512];
	if (d->cfg.predefined == NULL) {
		gw_log(GW_LOG_INFO, "SIGHUP: no predefined topics file to reload");
		return;
	}
	if (gw_predefined_file_load(d->cfg.predefined, &file, err, sizeof err) != 0) {
		gw_log(GW_LOG_ERR, "%s; the previous predefined topics stay", err);
		return;
	}
	if (gw_predefined_set(d->gw, file.entries, file.n) != 0)
		gw_log(GW_LOG_ERR, "%s: out of memory; the previous predefined topics stay",
		       d->cfg.predefined);
	else
		gw_log(GW_LOG_INFO, "reloaded %zu predefined topic(s) from %s", file.n, d->cfg.predefined);
	gw_predefined_file_free(&file);
}

static void on_signal(void *arg, int signo)
{
	struct daemon *d = arg;
	uint64_t now = gw_loop_now(d->loop);
	switch (signo) {
	case SIGTERM:
	case SIGINT:
		if (d->stopping) {
			gw_log(GW_LOG_WARN, "second %s: stopping now", strsignal(signo));
			gw_loop_stop(d->loop);
			return;
		}
		gw_log(GW_LOG_INFO, "%s: stopping", strsignal(signo));
		d->stopping = true;
		gw_timer_disarm(d->loop, &d->tick);
		gw_shutdown(d->gw, now);
		/* The DISCONNECTs to framed stations go out now, not after link_hold_ms. */
		gw_link_flush_all(gw_dlink_link(d->link), now);
		gw_broker_close_all(d->broker);
		if (gw_timer_arm(d->loop, &d->grace, now + SHUTDOWN_GRACE_MS) != 0)
			gw_loop_stop(d->loop);
		break;
	case SIGHUP:
		reload_predefined(d);
		gw_dlink_reload(d->link, now);
		break;
	case SIGUSR1:
		gw_stats_pub_dump(d->stats, now);
		break;
	default:
		break;
	}
}

/* ---------------------------------------------------------------- setup */

static void raise_fd_limit(const struct daemon *d)
{
	uint64_t got;
	char err[256];
	if (gw_fd_limit_raise(d->cfg.max_fds, &got, err, sizeof err) != 0) {
		gw_log(GW_LOG_WARN, "%s", err);
		return;
	}
	/* Transparent mode holds one broker socket per client. */
	uint64_t need = (uint64_t)d->cfg.core.max_clients + FD_RESERVE;
	if (d->cfg.core.mode == GW_MODE_TRANSPARENT && got < need)
		gw_log(GW_LOG_WARN, "file descriptor limit %llu is below max_clients %u + %u: "
		       "raise the hard limit (ulimit -Hn) or lower max_clients",
		       (unsigned long long)got, d->cfg.core.max_clients, FD_RESERVE);
	else
		gw_log(GW_LOG_DEBUG, "file descriptor limit %llu", (unsigned long long)got);
}

/* Returns 0, or the exit status with the reason logged. */
static int start(struct daemon *d)
{
	static const int signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	static const struct gw_ops ops = {
		.send = op_send,
		.broker_open = op_broker_open,
		.broker_close = op_broker_close,
		.broker_publish = op_broker_publish,
		.broker_subscribe = op_broker_subscribe,
		.broker_unsubscribe = op_broker_unsubscribe,
		.log = op_log,
		.custody_put = op_custody_put,
		.custody_held = op_custody_held,
		.custody_release = op_custody_release,
		.session_save = op_session_save,
		.session_drop = op_session_drop,
		.down_put = op_down_put,
		.down_next = op_down_next,
		.down_done = op_down_done,
	};
	const struct gw_daemon_config *cfg = &d->cfg;
	struct gw_predefined_file predefined = {0};
	char err[512];
	struct gw_daemon_names names;
	char host[256];

	raise_fd_limit(d);
	if (cfg->predefined != NULL &&
	    gw_predefined_file_load(cfg->predefined, &predefined, err, sizeof err) != 0) {
		gw_log(GW_LOG_ERR, "%s", err);
		return 2;
	}
	d->loop = gw_loop_new(err, sizeof err);
	if (d->loop == NULL || gw_loop_signals(d->loop, signals, sizeof signals / sizeof signals[0],
	                                       on_signal, d, err, sizeof err) != 0) {
		gw_log(GW_LOG_ERR, "%s", err);
		gw_predefined_file_free(&predefined);
		return 1;
	}
	/* The default names carry the host's: bridges toward one broker must differ. */
	if (gethostname(host, sizeof host) != 0)
		host[0] = '\0';
	host[sizeof host - 1] = '\0';
	gw_daemon_names(cfg, host, &names);
	gw_log(GW_LOG_INFO, "broker client id %s, statistics as %s under %s", names.client_id,
	       names.own_id, names.stats_prefix);
	/* The core names the shared connection when it opens it. */
	struct gw_config core = cfg->core;
	(void)snprintf(core.shared_client_id, sizeof core.shared_client_id, "%s", names.client_id);
	struct gw_broker_config bc = {
		.host = cfg->broker_host,
		.port = cfg->broker_port,
		.mqtt_version = cfg->mqtt_version,
		.keepalive_s = cfg->broker_keepalive_s,
		.reconnect_min_s = cfg->reconnect_min_s,
		.reconnect_max_s = cfg->reconnect_max_s,
		.username = cfg->username,
		.password = cfg->password,
		.cafile = cfg->cafile,
		.capath = cfg->capath,
		.certfile = cfg->certfile,
		.keyfile = cfg->keyfile,
		.tls_insecure = cfg->tls_insecure,
	};
	d->broker = gw_broker_new(d->loop, &bc, err, sizeof err);
	if (d->broker == NULL) {
		gw_log(GW_LOG_ERR, "%s", err);
		gw_predefined_file_free(&predefined);
		return 2;
	}
	core.custody = cfg->store_dir != NULL;
	if (core.custody) {
		struct gw_custody_config cc = {
			.dir = cfg->store_dir,
			.ttl_s = cfg->message_ttl_s,
			.client_id = names.custody_id,
		};
		gw_store_config_defaults(&cc.store);
		cc.store.sync = (enum gw_store_sync)cfg->store_sync;
		cc.store.interval_ms = cfg->store_sync_ms;
		cc.store.max_bytes = cfg->store_max_bytes;
		cc.store.up_station_msgs = cfg->store_station_msgs;
		cc.store.up_station_bytes = cfg->store_station_bytes;
		cc.store.down_station_msgs = cfg->store_down_msgs;
		cc.store.down_station_bytes = cfg->store_down_bytes;
		d->custody = gw_custody_new(d->loop, d->broker, &cc, err, sizeof err);
		if (d->custody == NULL) {
			gw_log(GW_LOG_ERR, "%s", err);
			gw_predefined_file_free(&predefined);
			return 1;
		}
	}
	d->link = gw_dlink_new(d->loop, cfg, deliver, transmit, addr_format, d, err, sizeof err);
	if (d->link == NULL) {
		gw_log(GW_LOG_ERR, "%s", err);
		gw_predefined_file_free(&predefined);
		return 2;
	}
	d->udp = gw_udp_new(d->loop, cfg->listen, cfg->n_listen, cfg->port, cfg->advertise_addr,
	                    on_datagram, d, err, sizeof err);
	if (d->udp == NULL) {
		gw_log(GW_LOG_ERR, "%s", err);
		gw_predefined_file_free(&predefined);
		return 1;
	}
	d->serial = gw_serial_new(d->loop, cfg->serial, cfg->n_serial, on_datagram, d, err,
	                          sizeof err);
	if (d->serial == NULL) {
		gw_log(GW_LOG_ERR, "%s", err);
		gw_predefined_file_free(&predefined);
		return 2;
	}
	d->gw = gw_new(&core, &ops, d);
	if (d->gw == NULL || gw_predefined_set(d->gw, predefined.entries, predefined.n) != 0) {
		gw_log(GW_LOG_ERR, "gateway core: out of memory");
		gw_predefined_file_free(&predefined);
		return 1;
	}
	if (cfg->predefined != NULL)
		gw_log(GW_LOG_INFO, "%zu predefined topic(s) from %s", predefined.n, cfg->predefined);
	gw_predefined_file_free(&predefined);
	/* the sessions saved by the last run, before the core's first tick */
	if (d->custody != NULL)
		gw_custody_restore(gw_custody_store(d->custody), d->gw, gw_loop_now(d->loop));
	gw_broker_attach(d->broker, d->gw);

	d->stats = gw_stats_pub_new(d->loop, d->gw, cfg->stats_interval_s ? d->broker : NULL, d->udp,
	                            names.stats_prefix,
	                            cfg->stats_interval_s);
	if (d->stats == NULL) {
		gw_log(GW_LOG_ERR, "statistics: out of memory");
		return 1;
	}
	gw_stats_pub_set_serial(d->stats, d->serial);
	gw_stats_pub_set_link(d->stats, gw_dlink_link(d->link));
	gw_stats_pub_set_custody(d->stats, d->custody);
	if (cfg->stats_interval_s > 0) {
		if (gw_broker_own_open(d->broker, names.own_id) != 0)
			gw_log(GW_LOG_WARN, "statistics connection could not be set up; not published");
	}
	gw_timer_init(&d->tick, on_tick, d);
	gw_timer_init(&d->grace, on_grace_over, d);
	gw_loop_set_prepare(d->loop, on_prepare, d);
	/* The first tick opens the shared connection (gw.h). */
	arm_tick(d, gw_tick(d->gw, gw_clock_ms()));
	gw_log(GW_LOG_INFO, "sn-bridge started: gateway id %u, %s mode", cfg->core.gw_id,
	       cfg->core.mode == GW_MODE_AGGREGATING ? "aggregating" : "transparent");
	return 0;
}

static void stop(struct daemon *d)
{
	gw_stats_pub_free(d->stats);
	if (d->broker != NULL)
		gw_broker_attach(d->broker, NULL);
	gw_free(d->gw);
	gw_broker_free(d->broker);
	gw_custody_free(d->custody);
	gw_udp_free(d->udp);
	gw_serial_free(d->serial);
	gw_dlink_free(d->link);
	if (d->loop != NULL) {
		gw_timer_disarm(d->loop, &d->tick);
		gw_timer_disarm(d->loop, &d->grace);
	}
	gw_loop_free(d->loop);
	gw_daemon_config_free(&d->cfg);
}

int main(int argc, char **argv)
{
	struct daemon d;
	char err[512];
	memset(&d, 0, sizeof d);

	switch (gw_daemon_config_load(&d.cfg, argc, argv, stdout, err, sizeof err)) {
	case GW_CONFIG_RUN:
		break;
	case GW_CONFIG_EXIT:
		gw_daemon_config_free(&d.cfg);
		return 0;
	case GW_CONFIG_ERROR:
		fprintf(stderr, "sn-bridge: %s\n", err);
		gw_daemon_config_free(&d.cfg);
		return 2;
	}
	gw_log_open(d.cfg.log_level, d.cfg.use_syslog, "sn-bridge");
	/* A broker that closes while we write must not kill the daemon, nor
	 * a file size limit (RLIMIT_FSIZE) reached by the custody store: the
	 * write then fails with EFBIG and the store refuses with congestion. */
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigaction(SIGPIPE, &ign, NULL);
	sigaction(SIGXFSZ, &ign, NULL);

	int status = start(&d);
	if (status == 0 && gw_loop_run(d.loop, err, sizeof err) != 0) {
		gw_log(GW_LOG_ERR, "%s", err);
		status = 1;
	}
	if (status == 0)
		gw_log(GW_LOG_INFO, "sn-bridge stopped");
	stop(&d);
	gw_log_close();
	return status;
}
