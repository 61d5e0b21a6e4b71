/*
 * fuzz_session.c - libFuzzer target for gw_session_restore(), the reader
 * of the persistent sessions the bridge keeps in its store (gw_persist.c).
 *
 * The first octet picks the mode (transparent or aggregating, whose
 * restore also counts the subscriptions on shared filters); the rest is
 * the blob. A blob that is accepted must survive what follows a restart:
 * the first tick (connections reopened, queues pumped), a tick far in the
 * future (keep-alive and sleep expiry, which save the session again) and
 * the free, with no leak. Every broker connection it opens, the shared
 * one included, keeps its session (CleanSession false).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/gw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static int opened(void *ctx, uint32_t conn, const struct gw_broker_session *s)
{
	(void)ctx;
	(void)conn;
	CHECK(s->client_id != NULL && !s->clean_session);
	return 0;
}

static void saved(void *ctx, const char *client_id, const uint8_t *blob, size_t len)
{
	(void)ctx;
	CHECK(client_id[0] != '\0' && blob != NULL && len > 0);
}

static int subscribed(void *ctx, uint32_t conn, const char *filter, size_t len, int qos,
                      uint32_t *token)
{
	static uint32_t next;

	(void)ctx;
	(void)conn;
	(void)filter;
	CHECK(len > 0 && qos >= 0 && qos <= 2);
	*token = ++next;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_config cfg;
	struct gw_ops ops;
	struct gw *gw;

	if (size < 1)
		return 0;
	gw_config_defaults(&cfg);
	cfg.max_clients = 4;
	cfg.advertise_interval_s = 0;
	cfg.allow_qos_m1 = false;
	cfg.custody = true;
	cfg.mode = (data[0] & 1) ? GW_MODE_AGGREGATING : GW_MODE_TRANSPARENT;
	memset(&ops, 0, sizeof ops);
	ops.broker_open = opened;
	ops.session_save = saved;
	ops.broker_subscribe = subscribed;
	gw = gw_new(&cfg, &ops, NULL);
	if (gw == NULL)
		return 0;
	if (gw_session_restore(gw, data + 1, size - 1, 1000) == 0) {
		/* the same blob twice is one session: the second is refused */
		CHECK(gw_session_restore(gw, data + 1, size - 1, 1000) != 0);
		(void)gw_tick(gw, 1000);
		(void)gw_tick(gw, 1000 + 200000000ull);
	}
	gw_free(gw);
	return 0;
}
