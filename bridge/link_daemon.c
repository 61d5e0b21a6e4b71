/*
 * link_daemon.c - the link layer in the daemon: configuration, state files,
 * reload and timer.
 */
#include "bridge/link_daemon.h"
#include "bridge/serial.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/keys.h"
#include "bridge/link_state.h"
#include "bridge/log.h"

/* Sessions of unencrypted frames at most, whatever max_clients says. */
#define PEERS_CAP 65536u

struct gw_dlink {
	struct gw_loop *loop;
	const struct gw_daemon_config *cfg;
	const char *state_dir;
	struct gw_link *link;
	struct gw_timer timer;
	void (*deliver)(void *arg, const struct gw_addr *from, const uint8_t *msg, size_t len,
	                uint64_t now);
	void (*transmit)(void *arg, const struct gw_addr *to, const uint8_t *buf, size_t len);
	void *arg;
};

/* ---------------------------------------------------------------- ops */

static void op_deliver(void *ctx, const struct gw_addr *from, const uint8_t *msg, size_t len,
                       uint64_t now)
{
	struct gw_dlink *dl = ctx;
	dl->deliver(dl->arg, from, msg, len, now);
}

static void op_transmit(void *ctx, const struct gw_addr *to, const uint8_t *buf, size_t len)
{
	struct gw_dlink *dl = ctx;
	dl->transmit(dl->arg, to, buf, len);
}

static int op_load(void *ctx, const char *client_id, uint64_t *tx_mark, uint64_t *rx_floor,
                   char *err, size_t errlen)
{
	struct gw_dlink *dl = ctx;
	return gw_link_state_load(dl->state_dir, client_id, tx_mark, rx_floor, err, errlen);
}

static int op_save(void *ctx, const char *client_id, uint64_t tx_mark, uint64_t rx_floor,
                   char *err, size_t errlen)
{
	struct gw_dlink *dl = ctx;
	return gw_link_state_save(dl->state_dir, client_id, tx_mark, rx_floor, err, errlen);
}

static void on_timer(void *arg, uint64_t now)
{
	struct gw_dlink *dl = arg;
	(void)gw_link_tick(dl->link, now);
}

/* ---------------------------------------------------------------- keys */

/* Load the files; 0 with *out (allocated) or -1 with err. */
static int load(const struct gw_dlink *dl, struct gw_link_keys **out, char *err, size_t errlen)
{
	const struct gw_link_settings *ls = &dl->cfg->link;
	struct gw_link_keys *k = malloc(sizeof *k);
	if (k == NULL) {
		snprintf(err, errlen, "link keys: out of memory");
		return -1;
	}
	if (gw_link_keys_load(k, ls->keys, ls->dict, ls->n_dict, err, errlen) != 0) {
		free(k);
		return -1;
	}
	if (k->n > 0 && gw_link_state_prepare(dl->state_dir, err, errlen) != 0) {
		gw_link_keys_free(k);
		free(k);
		return -1;
	}
	*out = k;
	return 0;
}

static void describe(const struct gw_dlink *dl, const struct gw_link_keys *k, const char *verb)
{
	if (dl->cfg->link.keys == NULL && k->ndicts == 0)
		return;
	gw_log(GW_LOG_INFO, "link frames: %s %zu station key(s) from %s, %zu dictionar%s; counters in %s",
	       verb, k->n, dl->cfg->link.keys != NULL ? dl->cfg->link.keys : "(no link_keys)", k->ndicts,
	       k->ndicts == 1 ? "y" : "ies", k->n > 0 ? dl->state_dir : "(unused)");
}

/* ---------------------------------------------------------------- api */

struct gw_dlink *gw_dlink_new(struct gw_loop *loop, const struct gw_daemon_config *cfg,
                              void (*deliver)(void *arg, const struct gw_addr *from,
                                              const uint8_t *msg, size_t len, uint64_t now),
                              void (*transmit)(void *arg, const struct gw_addr *to,
                                               const uint8_t *buf, size_t len),
                              const char *(*addr_format)(const struct gw_addr *a, char *buf,
                                                         size_t cap),
                              void *arg, char *err, size_t errlen)
{
	const struct gw_link_settings *ls = &cfg->link;
	struct gw_dlink *dl = calloc(1, sizeof *dl);
	/* Idempotent; the AEAD needs it before the first frame. */
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		free(dl);
		return NULL;
	}
	if (dl == NULL) {
		snprintf(err, errlen, "link: out of memory");
		return NULL;
	}
	dl->loop = loop;
	dl->cfg = cfg;
	dl->state_dir = ls->state_dir != NULL ? ls->state_dir : GW_LINK_STATE_DIR;
	dl->deliver = deliver;
	dl->transmit = transmit;
	dl->arg = arg;
	gw_timer_init(&dl->timer, on_timer, dl);

	bool any_plain = ls->plain_ok;
	for (size_t i = 0; i < cfg->n_listen; i++)
		any_plain = any_plain || ls->listen_plain_ok[i] == GW_LISTEN_ON;
	struct gw_link_config lc = {
		.mtu = ls->mtu,
		.hold_ms = ls->hold_ms,
		.queue_max = ls->queue,
		.max_peers = any_plain ? (cfg->core.max_clients < PEERS_CAP ? cfg->core.max_clients : PEERS_CAP) : 0,
		.log_interval_ms = cfg->core.log_interval_ms,
	};
	struct gw_link_ops ops = {
		.deliver = op_deliver,
		.transmit = op_transmit,
		.state_load = op_load,
		.state_save = op_save,
		.addr_format = addr_format,
	};
	dl->link = gw_link_new(&lc, &ops, dl);
	if (dl->link == NULL) {
		snprintf(err, errlen, "link: out of memory");
		free(dl);
		return NULL;
	}
	/* Every link number (serial lines too) gets the global policy; listen lines their own. */
	for (unsigned l = 0; l < 256; l++)
		gw_link_listener(dl->link, (uint8_t)l, ls->require, ls->plain_ok);
	for (size_t i = 0; i < cfg->n_listen; i++) {
		bool req = ls->listen_require[i] == GW_LISTEN_INHERIT ? ls->require
		                                                        : ls->listen_require[i] == GW_LISTEN_ON;
		bool plain = ls->listen_plain_ok[i] == GW_LISTEN_INHERIT ? ls->plain_ok
		                                                          : ls->listen_plain_ok[i] == GW_LISTEN_ON;
		gw_link_listener(dl->link, (uint8_t)i, req, plain);
		gw_link_listener_mtu(dl->link, (uint8_t)i, ls->listen_mtu[i]);
		if (req || plain)
			gw_log(GW_LOG_INFO, "listen %s:%s%s", cfg->listen[i], req ? " requires link frames" : "",
			       plain ? " takes unencrypted link frames" : "");
		if (ls->listen_mtu[i] != 0)
			gw_log(GW_LOG_INFO, "listen %s: link frames of at most %u octets", cfg->listen[i],
			       (unsigned)ls->listen_mtu[i]);
	}
	/* Serial lines: each its own frame size when it says so. */
	for (size_t j = 0; j < cfg->n_serial; j++)
		gw_link_listener_mtu(dl->link, (uint8_t)(GW_SERIAL_LINK_BASE + j), cfg->serial[j].link_mtu);
	struct gw_link_keys *k = NULL;
	if (load(dl, &k, err, errlen) != 0 ||
	    gw_link_set_keys(dl->link, k, gw_loop_now(loop), err, errlen) != 0) {
		if (k != NULL) {
			gw_link_keys_free(k);
			free(k);
		}
		gw_link_free(dl->link);
		free(dl);
		return NULL;
	}
	describe(dl, k, "loaded");
	return dl;
}

void gw_dlink_free(struct gw_dlink *dl)
{
	if (dl == NULL)
		return;
	gw_timer_disarm(dl->loop, &dl->timer);
	gw_link_free(dl->link);
	free(dl);
}

struct gw_link *gw_dlink_link(struct gw_dlink *dl)
{
	return dl->link;
}

void gw_dlink_prepare(struct gw_dlink *dl)
{
	uint64_t due = gw_link_deadline(dl->link);
	if (due == UINT64_MAX)
		gw_timer_disarm(dl->loop, &dl->timer);
	else if (dl->timer.slot == 0 || dl->timer.due != due) {
		if (gw_timer_arm(dl->loop, &dl->timer, due) != 0)
			gw_log(GW_LOG_ERR, "link: out of memory arming a timer");
	}
}

void gw_dlink_reload(struct gw_dlink *dl, uint64_t now)
{
	char err[512];
	struct gw_link_keys *k = NULL;
	if (dl->cfg->link.keys == NULL && dl->cfg->link.n_dict == 0)
		return;
	if (load(dl, &k, err, sizeof err) != 0 || gw_link_set_keys(dl->link, k, now, err, sizeof err) != 0) {
		gw_log(GW_LOG_ERR, "%s; the previous link keys and dictionaries stay", err);
		if (k != NULL) {
			gw_link_keys_free(k);
			free(k);
		}
		return;
	}
	describe(dl, k, "reloaded");
}
