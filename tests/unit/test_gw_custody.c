/*
 * test_gw_custody.c - the gateway core in custody mode (gw_config.custody):
 * QoS 1/2 PUBLISHes acknowledged as soon as the store has them, whatever
 * the broker's state; refusals with congestion when the store is full or
 * cannot write; QoS 2 retransmissions answered from the store's holds,
 * also by a core that never saw the first copy (a restart). A fake store
 * behind the custody callbacks, virtual time throughout.
 */
#include "tests/unit/test_gw_fake.h"

#define STORE_MAX 64

struct stored {
	char client_id[32];
	char topic[64];
	char payload[64];
	int qos;
	uint16_t msg_id;
	bool held;
};

/* The fake store; one per test, shared with a "restarted" core. */
static struct {
	struct stored m[STORE_MAX];
	size_t n;
	int put_rc;      /* what custody_put answers; 0: store */
	int release_rc;
	size_t releases;
} store;

static int cust_put(void *ctx, const char *client_id, const char *topic, size_t topic_len,
                    const uint8_t *payload, size_t len, int qos, bool retain, uint16_t msg_id)
{
	struct stored *s;
	size_t i;

	(void)ctx;
	(void)retain;
	if (store.put_rc != 0)
		return store.put_rc;
	assert_true(store.n < STORE_MAX);
	/* a new message under a held id replaces the hold, as gw_store_up_put */
	for (i = 0; i < store.n; i++)
		if (strcmp(store.m[i].client_id, client_id) == 0 && store.m[i].msg_id == msg_id)
			store.m[i].held = false;
	s = &store.m[store.n++];
	memset(s, 0, sizeof *s);
	snprintf(s->client_id, sizeof s->client_id, "%s", client_id);
	snprintf(s->topic, sizeof s->topic, "%.*s", (int)topic_len, topic);
	snprintf(s->payload, sizeof s->payload, "%.*s", (int)len, (const char *)payload);
	s->qos = qos;
	s->msg_id = msg_id;
	s->held = qos == 2;
	return 0;
}

static bool cust_held(void *ctx, const char *client_id, uint16_t msg_id)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < store.n; i++)
		if (store.m[i].held && store.m[i].msg_id == msg_id &&
		    strcmp(store.m[i].client_id, client_id) == 0)
			return true;
	return false;
}

static int cust_release(void *ctx, const char *client_id, uint16_t msg_id)
{
	size_t i;

	(void)ctx;
	if (store.release_rc != 0)
		return store.release_rc;
	store.releases++;
	for (i = 0; i < store.n; i++)
		if (store.m[i].msg_id == msg_id && strcmp(store.m[i].client_id, client_id) == 0)
			store.m[i].held = false;
	return 0;
}

/* A fake daemon (test_gw_fake.h) whose core runs in custody mode. */
static struct fake *custody_new(enum gw_broker_mode mode)
{
	struct gw_config cfg;
	struct gw_ops ops;

	fake_cfg(&cfg);
	cfg.mode = mode;
	cfg.custody = true;
	memset(&ops, 0, sizeof ops);
	ops.custody_put = cust_put;
	ops.custody_held = cust_held;
	ops.custody_release = cust_release;
	return fake_new_ops(&cfg, &ops);
}

static int setup(void **state)
{
	(void)state;
	memset(&store, 0, sizeof store);
	return 0;
}

/* CONNECT: CONNACK at once, the broker connection opened but not waited for. */
static uint32_t custody_connect(struct fake *f, uint8_t from, const char *id, bool clean)
{
	struct fake_call *c;

	in_connect(f, from, id, 60, clean, false);
	c = fake_call(f, B_OPEN);
	assert_string_equal(c->client_id, id);
	fake_expect_rc(f, from, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	return c->conn;
}

static void expect_puback(struct fake *f, uint8_t to, uint8_t rc)
{
	assert_int_equal(fake_expect(f, to, MQTTSN_PUBACK).u.puback.rc, rc);
}

static size_t broker_publishes(const struct fake *f)
{
	size_t i, n = 0;

	for (i = 0; i < f->ncalls; i++)
		n += f->calls[i].kind == B_PUB;
	return n;
}

/* ---------------------------------------------------------------- tests */

static void test_qos1_acked_while_broker_down(void **state)
{
	struct fake *f = custody_new(GW_MODE_TRANSPARENT);
	struct mqttsn_msg m;
	uint16_t id;

	(void)state;
	/* the broker connection never comes up: CONNACK all the same */
	(void)custody_connect(f, 1, "st1", true);
	id = fake_register(f, 1, 1, "stations/st1/t");
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 7, "21.5", false);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.msg_id, 7);
	assert_int_equal(m.u.puback.topic_id, id);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_ACCEPTED);
	assert_int_equal(store.n, 1);
	assert_string_equal(store.m[0].client_id, "st1");
	assert_string_equal(store.m[0].topic, "stations/st1/t");
	assert_string_equal(store.m[0].payload, "21.5");
	assert_int_equal(store.m[0].qos, 1);
	/* the core publishes nothing itself: the daemon's drainer does */
	assert_int_equal(broker_publishes(f), 0);
	assert_int_equal(gw_stats_total(f->gw)->custody_in, 1);
	assert_int_equal(gw_stats_total(f->gw)->drop_congestion, 0);
	fake_free(f);
}

static void test_qos2_exactly_once_into_store(void **state)
{
	struct fake *f = custody_new(GW_MODE_TRANSPARENT);
	uint16_t id;

	(void)state;
	(void)custody_connect(f, 1, "st2", false);
	id = fake_register(f, 1, 1, "q2");
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 40, "once", false);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREC).u.msg_id, 40);
	assert_int_equal(store.n, 1);
	/* our PUBREC was lost: the retransmission gets PUBREC, nothing stored */
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 40, "once", true);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREC).u.msg_id, 40);
	assert_int_equal(store.n, 1);
	in_msg_id(f, 1, MQTTSN_PUBREL, 40);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBCOMP).u.msg_id, 40);
	assert_int_equal(store.releases, 1);
	assert_false(cust_held(NULL, "st2", 40));
	/* PUBREL again (PUBCOMP lost): PUBCOMP again */
	in_msg_id(f, 1, MQTTSN_PUBREL, 40);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBCOMP).u.msg_id, 40);
	/* the id is free again: a new message is stored */
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 40, "twice", false);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBREC).u.msg_id, 40);
	assert_int_equal(store.n, 2);
	assert_string_equal(store.m[1].payload, "twice");
	assert_int_equal(broker_publishes(f), 0);
	fake_free(f);
}

/* A held id without DUP is a new message (the station lost its state). */
static void test_held_without_dup_is_new(void **state)
{
	struct fake *f = custody_new(GW_MODE_TRANSPARENT);
	uint16_t id;

	(void)state;
	(void)custody_connect(f, 1, "st3", false);
	id = fake_register(f, 1, 1, "q2");
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 9, "a", false);
	(void)fake_expect(f, 1, MQTTSN_PUBREC);
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 9, "b", false);
	(void)fake_expect(f, 1, MQTTSN_PUBREC);
	assert_int_equal(store.n, 2);
	assert_false(store.m[0].held);
	assert_true(store.m[1].held);
	fake_free(f);
}

/* After a restart the core has no session and no topic ids, but the hold
 * is on disk: a retransmission with a topic id it never saw gets PUBREC. */
static void test_qos2_hold_survives_restart(void **state)
{
	struct fake *f = custody_new(GW_MODE_TRANSPARENT);
	struct fake *g;
	uint16_t id;

	(void)state;
	(void)custody_connect(f, 1, "st4", false);
	id = fake_register(f, 1, 1, "q2");
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 77, "kept", false);
	(void)fake_expect(f, 1, MQTTSN_PUBREC);
	fake_free(f);

	g = custody_new(GW_MODE_TRANSPARENT);
	(void)custody_connect(g, 1, "st4", false);
	in_publish(g, 1, 2, MQTTSN_TOPIC_NORMAL, id, 77, "kept", true);
	assert_int_equal(fake_expect(g, 1, MQTTSN_PUBREC).u.msg_id, 77);
	assert_int_equal(store.n, 1);
	in_msg_id(g, 1, MQTTSN_PUBREL, 77);
	assert_int_equal(fake_expect(g, 1, MQTTSN_PUBCOMP).u.msg_id, 77);
	assert_false(cust_held(NULL, "st4", 77));
	/* not held and unknown topic id: the station is told to REGISTER */
	in_publish(g, 1, 2, MQTTSN_TOPIC_NORMAL, id, 78, "new", true);
	assert_int_equal(fake_expect(g, 1, MQTTSN_PUBACK).u.puback.rc,
	                 MQTTSN_RC_INVALID_TOPIC_ID);
	fake_free(g);
}

static void test_store_full_and_io_refused(void **state)
{
	struct fake *f = custody_new(GW_MODE_TRANSPARENT);
	const struct gw_stats *st;
	struct mqttsn_msg m;
	uint16_t id;

	(void)state;
	(void)custody_connect(f, 1, "st5", true);
	id = fake_register(f, 1, 1, "t");
	store.put_rc = GW_CUSTODY_FULL;
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 1, "x", false);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_CONGESTION);
	/* QoS 2 is refused with PUBACK congestion too (5.4.12, 6.6) */
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 2, "y", false);
	m = fake_expect(f, 1, MQTTSN_PUBACK);
	assert_int_equal(m.u.puback.msg_id, 2);
	assert_int_equal(m.u.puback.rc, MQTTSN_RC_CONGESTION);
	store.put_rc = GW_CUSTODY_IO;
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 3, "z", false);
	expect_puback(f, 1, MQTTSN_RC_CONGESTION);
	st = gw_stats_total(f->gw);
	assert_int_equal(st->drop_store_full, 2);
	assert_int_equal(st->drop_store_io, 1);
	assert_int_equal(st->drop_congestion, 3);
	assert_int_equal(st->custody_in, 0);
	/* counted in full, logged once per cause per interval */
	{
		size_t logs = f->nlogs;

		store.put_rc = GW_CUSTODY_FULL;
		in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 4, "w", false);
		expect_puback(f, 1, MQTTSN_RC_CONGESTION);
		assert_int_equal(f->nlogs, logs);
	}
	/* space again: accepted */
	store.put_rc = 0;
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 5, "v", false);
	expect_puback(f, 1, MQTTSN_RC_ACCEPTED);
	assert_int_equal(store.n, 1);
	fake_free(f);
}

/* A PUBREL that cannot be recorded gets no PUBCOMP: the station repeats it. */
static void test_release_failure_no_pubcomp(void **state)
{
	struct fake *f = custody_new(GW_MODE_TRANSPARENT);
	uint16_t id;

	(void)state;
	(void)custody_connect(f, 1, "st6", false);
	id = fake_register(f, 1, 1, "t");
	in_publish(f, 1, 2, MQTTSN_TOPIC_NORMAL, id, 3, "r", false);
	(void)fake_expect(f, 1, MQTTSN_PUBREC);
	store.release_rc = -1;
	in_msg_id(f, 1, MQTTSN_PUBREL, 3);
	fake_expect_none(f);
	assert_true(cust_held(NULL, "st6", 3));
	store.release_rc = 0;
	in_msg_id(f, 1, MQTTSN_PUBREL, 3);
	assert_int_equal(fake_expect(f, 1, MQTTSN_PUBCOMP).u.msg_id, 3);
	fake_free(f);
}

/* QoS 0 still goes straight to the broker, and only while it is up. */
static void test_qos0_unchanged(void **state)
{
	struct fake *f = custody_new(GW_MODE_TRANSPARENT);
	uint32_t conn;
	uint16_t id;
	struct fake_call *c;

	(void)state;
	conn = custody_connect(f, 1, "st7", true);
	id = fake_register(f, 1, 1, "t0");
	in_publish(f, 1, 0, MQTTSN_TOPIC_NORMAL, id, 0, "lost", false);
	expect_puback(f, 1, MQTTSN_RC_CONGESTION);
	fake_call_none(f);
	gw_on_broker_connected(f->gw, conn, 0, f->now);
	in_publish(f, 1, 0, MQTTSN_TOPIC_NORMAL, id, 0, "sent", false);
	c = fake_call(f, B_PUB);
	assert_int_equal(c->qos, 0);
	assert_int_equal(store.n, 0);
	fake_free(f);
}

/* Aggregating mode: CONNACK without the shared connection, QoS 1 stored. */
static void test_aggregating_connect_while_broker_down(void **state)
{
	struct fake *f = custody_new(GW_MODE_AGGREGATING);
	uint16_t id;

	(void)state;
	in_connect(f, 1, "st8", 60, true, false);
	fake_expect_rc(f, 1, MQTTSN_CONNACK, MQTTSN_RC_ACCEPTED);
	id = fake_register(f, 1, 1, "agg");
	in_publish(f, 1, 1, MQTTSN_TOPIC_NORMAL, id, 11, "m", false);
	expect_puback(f, 1, MQTTSN_RC_ACCEPTED);
	assert_int_equal(store.n, 1);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_qos1_acked_while_broker_down, setup),
		cmocka_unit_test_setup(test_qos2_exactly_once_into_store, setup),
		cmocka_unit_test_setup(test_held_without_dup_is_new, setup),
		cmocka_unit_test_setup(test_qos2_hold_survives_restart, setup),
		cmocka_unit_test_setup(test_store_full_and_io_refused, setup),
		cmocka_unit_test_setup(test_release_failure_no_pubcomp, setup),
		cmocka_unit_test_setup(test_qos0_unchanged, setup),
		cmocka_unit_test_setup(test_aggregating_connect_while_broker_down, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
