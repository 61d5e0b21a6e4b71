/*
 * test_gw_persist.c - persistent sessions and their downlink in custody
 * (gw.h, "Custody of persistent sessions"): the gateway core behind a fake
 * daemon (test_gw_fake.h) and the real store (bridge/store.h) through the
 * daemon's own adapters (bridge/custody_down.c), in virtual time. A
 * "restart" frees the core (which drops nothing) and builds a new one on
 * the same store directory, as the daemon does after a crash: whatever
 * the store had is what the new core gets.
 */
#include <dirent.h>
#include <unistd.h>

#include "bridge/custody_down.h"
#include "bridge/store.h"
#include "tests/unit/test_gw_fake.h"

#define T0_WALL 1700000000000ull /* a wall-clock ms for the uplink store */

struct world {
	char dir[64];
	struct gw_store_config scfg;
	struct gw_store *st;
	struct gw_config cfg;
	struct fake *f;
};

static struct world *W; /* the callbacks' ctx is the fake; the store is here */

/* ---------------------------------------------------------------- the daemon's callbacks */

static int cb_put(void *ctx, const char *client_id, const char *topic, size_t topic_len,
                  const uint8_t *payload, size_t len, int qos, bool retain, uint16_t msg_id)
{
	struct gw_store_msg m = {
		.client_id = client_id, .topic = topic, .topic_len = topic_len,
		.payload = payload, .payload_len = len, .qos = (uint8_t)qos,
		.retain = retain, .msg_id = msg_id,
	};
	(void)ctx;
	return gw_store_up_put(W->st, &m, T0_WALL) == GW_STORE_OK ? 0 : GW_CUSTODY_FULL;
}

static bool cb_held(void *ctx, const char *client_id, uint16_t msg_id)
{
	(void)ctx;
	return gw_store_up_held(W->st, client_id, msg_id, NULL);
}

static int cb_release(void *ctx, const char *client_id, uint16_t msg_id)
{
	int rc = gw_store_up_release(W->st, client_id, msg_id);

	(void)ctx;
	return rc == GW_STORE_OK || rc == GW_STORE_ERR_NOT_FOUND ? 0 : -1;
}

static void cb_save(void *ctx, const char *client_id, const uint8_t *blob, size_t len)
{
	(void)ctx;
	gw_custody_session_save(W->st, client_id, blob, len);
}

static void cb_drop(void *ctx, const char *client_id)
{
	(void)ctx;
	gw_custody_session_drop(W->st, client_id);
}

static int cb_down_put(void *ctx, const char *client_id, const char *topic, size_t topic_len,
                       const uint8_t *payload, size_t len, int qos, bool retain, uint32_t ttl_s,
                       uint64_t *seq)
{
	(void)ctx;
	return gw_custody_down_put(W->st, client_id, topic, topic_len, payload, len, qos, retain,
	                           ttl_s, seq);
}

static int cb_down_next(void *ctx, const char *client_id, uint64_t after, struct gw_down_msg *out)
{
	(void)ctx;
	return gw_custody_down_next(W->st, client_id, after, out);
}

static void cb_down_done(void *ctx, const char *client_id, uint64_t seq)
{
	(void)ctx;
	gw_custody_down_done(W->st, client_id, seq);
}

/* ---------------------------------------------------------------- the world */

static void core_start(struct world *w)
{
	struct gw_ops ops;

	memset(&ops, 0, sizeof ops);
	ops.custody_put = cb_put;
	ops.custody_held = cb_held;
	ops.custody_release = cb_release;
	ops.session_save = cb_save;
	ops.session_drop = cb_drop;
	ops.down_put = cb_down_put;
	ops.down_next = cb_down_next;
	ops.down_done = cb_down_done;
	w->f = fake_new_ops(&w->cfg, &ops);
}

static void store_open(struct world *w)
{
	char err[256];

	assert_int_equal(gw_store_open(&w->st, w->dir, &w->scfg, err, sizeof err), GW_STORE_OK);
}

/* A crash: the core goes without a word (gw_free drops nothing), the store is reopened. */
static void restart(struct world *w)
{
	fake_free(w->f);
	gw_store_close(w->st);
	store_open(w);
	core_start(w);
	gw_custody_restore(w->st, w->f->gw, w->f->now);
	fake_advance(w->f, 0); /* the first tick: connections reopened, queues pumped */
}

static int setup_mode(void **state, enum gw_broker_mode mode)
{
	struct world *w = calloc(1, sizeof *w);

	assert_non_null(w);
	strcpy(w->dir, "/tmp/test_gw_persist.XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	gw_store_config_defaults(&w->scfg);
	w->scfg.sync = GW_STORE_SYNC_NEVER;
	w->scfg.down_station_msgs = 50;
	fake_cfg(&w->cfg);
	w->cfg.custody = true;
	w->cfg.mode = mode;
	w->cfg.down_ttl_s = 3600;
	w->cfg.max_sleep_buffer = 4;
	w->cfg.max_pending = 4;
	store_open(w);
	W = w;
	*state = w;
	core_start(w);
	fake_advance(w->f, 0);
	return 0;
}

static int setup(void **state)
{
	return setup_mode(state, GW_MODE_TRANSPARENT);
}

static int setup_aggr(void **state)
{
	return setup_mode(state, GW_MODE_AGGREGATING);
}

static int teardown(void **state)
{
	struct world *w = *state;
	DIR *d;
	struct dirent *e;
	char p[400];

	fake_free(w->f);
	gw_store_close(w->st);
	d = opendir(w->dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", w->dir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(w->dir);
	free(w);
	W = NULL;
	return 0;
}

/* ---------------------------------------------------------------- helpers */

/* CONNECT in custody mode: CONNACK at once; returns the broker connection opened. */
static uint32_t connect_station(struct fake *f, uint8_t from, const char *id, bool clean)
{
	struct fake_call *c;

	in_connect(f, from, id, 60, clean, false);
	c = fake_call(f, B_OPEN);
	assert_string_equal(c->client_id, id);
	fake_expect_rc(f, from, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	gw_on_broker_connected(f->gw, c->conn, 0, f->now);
	return c->conn;
}

/* Take a PUBLISH of data to `to` and acknowledge it as the station does; returns it. */
static struct mqttsn_msg take_publish(struct fake *f, uint8_t to, const char *data)
{
	struct mqttsn_msg m;

	for (;;) {
		m = fake_next(f);
		if (m.type != MQTTSN_REGISTER)
			break;
		in_ack(f, to, MQTTSN_REGACK, m.u.reg.topic_id, m.u.reg.msg_id, MQTTSN_RC_ACCEPTED);
	}
	assert_int_equal(m.type, MQTTSN_PUBLISH);
	assert_data(&m, data);
	if (m.u.publish.flags.qos == 1)
		in_ack(f, to, MQTTSN_PUBACK, m.u.publish.topic_id, m.u.publish.msg_id,
		       MQTTSN_RC_ACCEPTED);
	return m;
}

static uint32_t down_count(const char *id)
{
	return gw_store_station_count(W->st, id, GW_STORE_DOWN);
}

/* ---------------------------------------------------------------- tests */

/* A session comes back whole: state, address, topic ids, subscriptions. */
static void test_session_restored(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	uint32_t conn = connect_station(f, 1, "mast-1", false);
	uint16_t tid = fake_register(f, 1, 1, "wx/mast-1/t");
	struct fake_call *c;
	struct mqttsn_msg m;
	uint8_t blob[4];

	fake_subscribe_ok(f, 1, conn, "cmd/mast-1/#", 1, 1, 2);
	fake_drain(f);
	restart(w);
	f = w->f;
	assert_int_equal(gw_stats_total(f->gw)->sessions_restored, 1);
	assert_int_equal(fake_state(f, "mast-1"), GW_STATE_ACTIVE);
	/* transparent: its broker session is reopened as it was, not clean */
	c = fake_call(f, B_OPEN);
	assert_string_equal(c->client_id, "mast-1");
	assert_false(c->clean);
	gw_on_broker_connected(f->gw, c->conn, 0, f->now);
	/* the station goes on with its topic id, from its address, no CONNECT */
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, tid, 7, "21.5", false);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_ACCEPTED);
	assert_int_equal(m.u.puback.msg_id, 7);
	/* the subscription is known: a message on it goes straight to it */
	fake_broker_msg(f, c->conn, "cmd/mast-1/reset", "now", 1);
	take_publish(f, 1, "now");
	assert_int_equal(down_count("mast-1"), 0);
	/* the keep-alive runs from the restart: 60 s * 1.1, then lost */
	fake_advance(f, 65000);
	assert_int_equal(fake_state(f, "mast-1"), GW_STATE_ACTIVE);
	fake_advance(f, 2000);
	assert_int_equal(fake_state(f, "mast-1"), GW_STATE_LOST);
	/* a damaged blob is refused whole */
	memset(blob, 0xFF, sizeof blob);
	assert_int_equal(gw_session_restore(f->gw, blob, sizeof blob, f->now), -1);
}

/* Every truncation and bit flip of a real blob is refused or restored, never a crash. */
static void test_blob_damage(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	const uint8_t *blob;
	uint8_t copy[2048];
	size_t len, i;
	int refused = 0;

	connect_station(f, 1, "buoy-7", false);
	fake_register(f, 1, 1, "sea/buoy-7/wave");
	fake_drain(f);
	assert_int_equal(gw_store_session_get(w->st, "buoy-7", &blob, &len), GW_STORE_OK);
	assert_true(len < sizeof copy);
	memcpy(copy, blob, len);
	for (i = 0; i < len; i++) {
		struct gw *g = gw_new(&w->cfg, &(struct gw_ops){.log = fake_log}, f);

		assert_non_null(g);
		assert_int_equal(gw_session_restore(g, copy, i, 0), -1);
		copy[i] ^= 0x80;
		refused += gw_session_restore(g, copy, len, 0) != 0;
		copy[i] ^= 0x80;
		gw_free(g);
	}
	/* most flips break a range or a length; none may crash or leak */
	assert_true(refused > 0);
}

/* Messages for a sleeping station wait on disk, beyond its buffer, and survive a restart. */
static void test_sleeping_downlink(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	uint32_t conn = connect_station(f, 2, "pump-3", false);
	char data[16];
	int i;

	fake_subscribe_ok(f, 2, conn, "cmd/pump-3", 1, 1, 1);
	in_disconnect(f, 2, true, 600);
	fake_expect(f, 2, MQTTSN_DISCONNECT);
	for (i = 0; i < 10; i++) {
		snprintf(data, sizeof data, "c%d", i);
		fake_broker_msg(f, conn, "cmd/pump-3", data, 1);
	}
	fake_expect_none(f);
	assert_int_equal(down_count("pump-3"), 10);
	assert_int_equal(gw_stats_total(f->gw)->down_stored, 10);
	restart(w);
	f = w->f;
	assert_int_equal(fake_state(f, "pump-3"), GW_STATE_ASLEEP);
	fake_drain(f);
	/* it wakes: all ten, in order, then PINGRESP */
	in_pingreq(f, 2, "pump-3");
	for (i = 0; i < 10; i++) {
		snprintf(data, sizeof data, "c%d", i);
		take_publish(f, 2, data);
	}
	fake_expect(f, 2, MQTTSN_PINGRESP);
	assert_int_equal(down_count("pump-3"), 0);
}

/* A message the store refuses (the station's limit) is dropped, counted, never half-kept. */
static void test_station_limit(void **state)
{
	struct world *w = *state;
	struct fake *f;
	uint32_t conn;
	int i;

	fake_free(w->f);
	gw_store_close(w->st);
	w->scfg.down_station_msgs = 3;
	store_open(w);
	core_start(w);
	f = w->f;
	fake_advance(f, 0);
	conn = connect_station(f, 3, "seis-1", false);
	fake_subscribe_ok(f, 3, conn, "cmd/#", 2, 2, 1);
	in_disconnect(f, 3, true, 600);
	fake_drain(f);
	for (i = 0; i < 5; i++)
		fake_broker_msg(f, conn, "cmd/x", "y", 2);
	assert_int_equal(down_count("seis-1"), 3);
	assert_int_equal(gw_stats_total(f->gw)->drop_down_store, 2);
	assert_int_equal(fake_client_stats(f, "seis-1").drop_down_store, 2);
}

/* A message that waited longer than down_ttl_s is dropped before it is sent. */
static void test_ttl(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	uint32_t conn = connect_station(f, 4, "mast-9", false);

	fake_subscribe_ok(f, 4, conn, "cmd/#", 1, 1, 1);
	in_disconnect(f, 4, true, 7200);
	fake_drain(f);
	fake_broker_msg(f, conn, "cmd/old", "stale", 1);
	fake_advance(f, 3601u * 1000u);
	fake_broker_msg(f, conn, "cmd/new", "fresh", 1);
	in_pingreq(f, 4, "mast-9");
	take_publish(f, 4, "fresh");
	fake_expect(f, 4, MQTTSN_PINGRESP);
	assert_int_equal(gw_stats_total(f->gw)->drop_expired, 1);
	assert_int_equal(down_count("mast-9"), 0);
}

/* QoS 2 to a station across a restart: the same msg id, from the stage it reached. */
static void test_qos2_in_flight(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	uint32_t conn = connect_station(f, 5, "rtu-2", false);
	struct fake_call *c;
	struct mqttsn_msg m, m2;

	fake_subscribe_ok(f, 5, conn, "cmd/#", 2, 2, 1);
	fake_broker_msg(f, conn, "cmd/a", "first", 2);
	do
		m = fake_next(f);
	while (m.type == MQTTSN_REGISTER &&
	       (in_ack(f, 5, MQTTSN_REGACK, m.u.reg.topic_id, m.u.reg.msg_id, MQTTSN_RC_ACCEPTED),
	        true));
	assert_int_equal(m.type, MQTTSN_PUBLISH);
	assert_int_equal(m.u.publish.flags.qos, 2);
	/* crash with the PUBLISH out, no PUBREC: it goes again, DUP, same id */
	restart(w);
	f = w->f;
	c = fake_call(f, B_OPEN);
	gw_on_broker_connected(f->gw, c->conn, 0, f->now);
	m2 = fake_expect(f, 5, MQTTSN_PUBLISH);
	assert_true(m2.u.publish.flags.dup);
	assert_int_equal(m2.u.publish.msg_id, m.u.publish.msg_id);
	assert_data(&m2, "first");
	/* PUBREC, PUBREL out; crash before PUBCOMP: PUBREL again, not the PUBLISH */
	in_msg_id(f, 5, MQTTSN_PUBREC, m.u.publish.msg_id);
	assert_int_equal(fake_expect(f, 5, MQTTSN_PUBREL).u.msg_id, m.u.publish.msg_id);
	restart(w);
	f = w->f;
	c = fake_call(f, B_OPEN);
	gw_on_broker_connected(f->gw, c->conn, 0, f->now);
	assert_int_equal(fake_expect(f, 5, MQTTSN_PUBREL).u.msg_id, m.u.publish.msg_id);
	in_msg_id(f, 5, MQTTSN_PUBCOMP, m.u.publish.msg_id);
	fake_expect_none(f);
	assert_int_equal(down_count("rtu-2"), 0);
	/* and the next message gets a new id */
	fake_broker_msg(f, c->conn, "cmd/a", "second", 2);
	m2 = fake_expect(f, 5, MQTTSN_PUBLISH);
	assert_int_not_equal(m2.u.publish.msg_id, m.u.publish.msg_id);
	assert_false(m2.u.publish.flags.dup);
}

/* A clean CONNECT ends the session: its blob and its waiting messages go. */
static void test_clean_connect_drops(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	uint32_t conn = connect_station(f, 6, "old-1", false);
	const uint8_t *blob;
	size_t len;

	fake_subscribe_ok(f, 6, conn, "cmd/#", 1, 1, 1);
	in_disconnect(f, 6, true, 600);
	fake_broker_msg(f, conn, "cmd/a", "x", 1);
	assert_int_equal(down_count("old-1"), 1);
	fake_drain(f);
	in_connect(f, 6, "old-1", 60, true, false);
	fake_drain(f);
	assert_int_equal(down_count("old-1"), 0);
	assert_int_equal(gw_store_session_get(w->st, "old-1", &blob, &len), GW_STORE_ERR_NOT_FOUND);
	/* a clean session is never saved */
	in_disconnect(f, 6, false, 0);
	restart(w);
	assert_false(gw_client_find(w->f->gw, "old-1", NULL, NULL));
}

/* Aggregating: restored subscriptions are made again on the shared connection, and
 * what the broker kept for the bridge reaches the sleeping station. */
static void test_aggregating(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	struct fake_call *c;
	struct mqttsn_msg m;

	c = fake_call(f, B_OPEN); /* the shared connection */
	assert_int_equal(c->conn, GW_CONN_AGGREGATE);
	/* with custody the bridge's broker session lasts across restarts */
	assert_false(c->clean);
	gw_on_broker_connected(f->gw, GW_CONN_AGGREGATE, 0, f->now);
	in_connect(f, 7, "wx-4", 60, false, false);
	fake_expect_rc(f, 7, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	in_subscribe(f, 7, 1, MQTTSN_TOPIC_NORMAL, 1, "cmd/wx-4", 0);
	c = fake_call(f, B_SUB);
	gw_on_broker_subacked(f->gw, GW_CONN_AGGREGATE, c->token, 1, f->now);
	m = fake_expect(f, 7, MQTTSN_SUBACK);
	assert_int_equal(m.u.suback.rc, MQTTSN_RC_ACCEPTED);
	in_disconnect(f, 7, true, 900);
	fake_drain(f);
	restart(w);
	f = w->f;
	c = fake_call(f, B_OPEN);
	assert_int_equal(c->conn, GW_CONN_AGGREGATE);
	gw_on_broker_connected(f->gw, GW_CONN_AGGREGATE, 0, f->now);
	c = fake_call(f, B_SUB);
	assert_string_equal(c->topic, "cmd/wx-4");
	assert_int_equal(c->qos, 1);
	gw_on_broker_subacked(f->gw, GW_CONN_AGGREGATE, c->token, 1, f->now);
	gw_on_broker_message(f->gw, GW_CONN_AGGREGATE, "cmd/wx-4", 8, (const uint8_t *)"go", 2, 1,
	                     false, f->now);
	assert_int_equal(down_count("wx-4"), 1);
	fake_expect_none(f);
	in_pingreq(f, 7, "wx-4");
	take_publish(f, 7, "go");
	fake_expect(f, 7, MQTTSN_PINGRESP);
	assert_int_equal(down_count("wx-4"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_restored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sleeping_downlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_station_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qos2_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean_connect_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aggregating, setup_aggr, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
