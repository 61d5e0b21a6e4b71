/*
 * test_blink.c - the bridge's link layer (bridge/link.h) in virtual time,
 * against stations made of the codec's own struct mqttsn_link: frames in
 * become messages for a fake core, the core's answers go out batched,
 * a key speaks only for its client id, damaged, replayed and foreign
 * frames are counted while the session goes on, the counters survive a
 * restart, and listeners that require frames refuse plain MQTT-SN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "bridge/link.h"

/* ---------------------------------------------------------------- fakes */

#define MAX_SEEN 64

struct seen {
	struct gw_addr addr;
	uint8_t buf[MQTTSN_FRAME_MAX];
	size_t len;
};

static struct {
	struct seen in[MAX_SEEN];   /* delivered to the core */
	size_t n_in;
	struct seen out[MAX_SEEN];  /* put on the wire */
	size_t n_out;
	struct { char id[24]; uint64_t tx, rx; bool set; } state[4];
	bool fail_save;
	unsigned saves;
} F;

static void record(struct seen *s, size_t *n, const struct gw_addr *a, const uint8_t *buf, size_t len)
{
	assert_true(*n < MAX_SEEN);
	assert_true(len <= sizeof s[0].buf);
	memset(&s[*n], 0, sizeof s[*n]);
	if (a != NULL)
		s[*n].addr = *a;
	memcpy(s[*n].buf, buf, len);
	s[*n].len = len;
	(*n)++;
}

static void op_deliver(void *ctx, const struct gw_addr *from, const uint8_t *msg, size_t len, uint64_t now)
{
	(void)ctx;
	(void)now;
	record(F.in, &F.n_in, from, msg, len);
}

static void op_transmit(void *ctx, const struct gw_addr *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	record(F.out, &F.n_out, to, buf, len);
}

static int slot_of(const char *id, bool make)
{
	for (int i = 0; i < 4; i++) {
		if (F.state[i].set && strcmp(F.state[i].id, id) == 0)
			return i;
	}
	for (int i = 0; make && i < 4; i++) {
		if (!F.state[i].set) {
			F.state[i].set = true;
			snprintf(F.state[i].id, sizeof F.state[i].id, "%s", id);
			return i;
		}
	}
	return -1;
}

static int op_load(void *ctx, const char *id, uint64_t *tx, uint64_t *rx, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	int i = slot_of(id, false);
	if (i < 0)
		return 1;
	*tx = F.state[i].tx;
	*rx = F.state[i].rx;
	return 0;
}

static int op_save(void *ctx, const char *id, uint64_t tx, uint64_t rx, char *err, size_t errlen)
{
	(void)ctx;
	if (F.fail_save) {
		snprintf(err, errlen, "disk full");
		return -1;
	}
	int i = slot_of(id, true);
	assert_true(i >= 0);
	F.state[i].tx = tx;
	F.state[i].rx = rx;
	F.saves++;
	return 0;
}

static const struct gw_link_ops OPS = {
	.deliver = op_deliver,
	.transmit = op_transmit,
	.state_load = op_load,
	.state_save = op_save,
	.addr_format = NULL,
};

/* ---------------------------------------------------------------- setup */

static uint8_t KEY_A[32], KEY_B[32], KEY_X[32];
static struct mqttsn_frame_ctx *CTX;

static struct gw_addr addr(uint8_t link, uint8_t host)
{
	struct gw_addr a;
	memset(&a, 0, sizeof a);
	a.link = link;
	a.len = 4;
	a.data[0] = 127;
	a.data[3] = host;
	return a;
}

/* Keys for "st-a" (key id 0) and "st-b" (key id 0), sorted by client id. */
static struct gw_link_keys *make_keys(void)
{
	struct gw_link_keys *k = calloc(1, sizeof *k);
	assert_non_null(k);
	k->st = calloc(2, sizeof *k->st);
	assert_non_null(k->st);
	k->n = 2;
	const char *ids[2] = {"st-a", "st-b"};
	const uint8_t *keys[2] = {KEY_A, KEY_B};
	for (int i = 0; i < 2; i++) {
		snprintf(k->st[i].client_id, sizeof k->st[i].client_id, "%s", ids[i]);
		k->st[i].client_id_len = strlen(ids[i]);
		k->st[i].ring.set[0] = true;
		memcpy(k->st[i].ring.key[0], keys[i], 32);
		k->st[i].send_id = 0;
	}
	return k;
}

static struct gw_link *bridge_new(uint32_t hold_ms, uint64_t now)
{
	struct gw_link_config cfg = {.mtu = 270, .hold_ms = hold_ms, .max_peers = 4, .log_interval_ms = 1000};
	struct gw_link *gl = gw_link_new(&cfg, &OPS, NULL);
	char err[256];
	assert_non_null(gl);
	struct gw_link_keys *k = make_keys();
	assert_int_equal(gw_link_set_keys(gl, k, now, err, sizeof err), 0);
	return gl;
}

/* A station's end: frames up with key, opens frames down. */
static struct mqttsn_link *station_new(const uint8_t *key, uint64_t tx_mark, uint64_t rx_floor)
{
	struct mqttsn_link_conf c;
	memset(&c, 0, sizeof c);
	c.mtu = 340;
	c.hold_ms = 1000;
	c.direction = MQTTSN_LINK_UP;
	c.encrypt = key != NULL;
	if (key != NULL) {
		c.keys.set[0] = true;
		memcpy(c.keys.key[0], key, 32);
	}
	struct mqttsn_link *l = mqttsn_link_new(&c, tx_mark, rx_floor);
	assert_non_null(l);
	return l;
}

/* Frame the n messages into one frame out; returns its length. */
static size_t station_frame(struct mqttsn_link *l, const uint8_t *const *msgs, const size_t *lens, size_t n,
                            uint8_t *out, uint64_t now)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mqttsn_link_send(l, CTX, msgs[i], lens[i], now), MQTTSN_OK);
	mqttsn_link_flush(l);
	int rc = mqttsn_link_next_frame(l, CTX, now, out, MQTTSN_FRAME_MAX);
	if (rc == MQTTSN_FRAME_ERR_COUNTER) {
		uint64_t want = mqttsn_link_tx_want(l);
		mqttsn_link_tx_persisted(l, want);
		rc = mqttsn_link_next_frame(l, CTX, now, out, MQTTSN_FRAME_MAX);
	}
	assert_true(rc > 0);
	assert_int_equal(mqttsn_link_queued_msgs(l), 0);
	return (size_t)rc;
}

static size_t one_frame(struct mqttsn_link *l, const uint8_t *msg, size_t len, uint8_t *out, uint64_t now)
{
	return station_frame(l, &msg, &len, 1, out, now);
}

static struct { uint8_t buf[16][64]; size_t len[16]; size_t n; } GOT;

static void got(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg;
	assert_true(GOT.n < 16 && len <= 64);
	memcpy(GOT.buf[GOT.n], msg, len);
	GOT.len[GOT.n++] = len;
}

/* The station opens a frame the bridge sent; returns the messages it carried. */
static int station_open(struct mqttsn_link *l, const struct seen *frame, uint64_t *counter)
{
	static uint8_t content[MQTTSN_FRAME_CONTENT_MAX];
	struct mqttsn_frame_info info;
	GOT.n = 0;
	int n = mqttsn_link_open(l, CTX, frame->buf, frame->len, content, sizeof content, &info);
	if (n < 0)
		return n;
	if (counter != NULL)
		*counter = info.counter;
	return mqttsn_link_deliver(l, content, (size_t)n, &info, got, NULL);
}

/* MQTT-SN messages. */
static size_t connect_msg(const char *id, uint8_t *out)
{
	size_t n = strlen(id);
	out[0] = (uint8_t)(6 + n);
	out[1] = 0x04;
	out[2] = 0x04;
	out[3] = 0x01;
	out[4] = 0;
	out[5] = 60;
	memcpy(out + 6, id, n);
	return 6 + n;
}

static size_t publish_msg(uint16_t msg_id, const char *data, uint8_t *out)
{
	size_t n = strlen(data);
	out[0] = (uint8_t)(7 + n);
	out[1] = 0x0C;
	out[2] = 0x20; /* QoS 1, normal topic id */
	out[3] = 0;
	out[4] = 1;
	out[5] = (uint8_t)(msg_id >> 8);
	out[6] = (uint8_t)msg_id;
	memcpy(out + 7, data, n);
	return 7 + n;
}

static size_t puback_msg(uint16_t msg_id, uint8_t *out)
{
	const uint8_t m[] = {7, 0x0D, 0, 1, (uint8_t)(msg_id >> 8), (uint8_t)msg_id, 0};
	memcpy(out, m, sizeof m);
	return sizeof m;
}

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof F);
	return 0;
}

/* ---------------------------------------------------------------- tests */

static void test_uplink_and_downlink_batched(void **state)
{
	(void)state;
	uint64_t now = 1000;
	struct gw_link *gl = bridge_new(100, now);
	struct mqttsn_link *st = station_new(KEY_A, 0, 0);
	struct gw_addr a = addr(0, 10);
	uint8_t m[4][64], frame[MQTTSN_FRAME_MAX];
	const uint8_t *msgs[4] = {m[0], m[1], m[2], m[3]};
	size_t lens[4];
	lens[0] = connect_msg("st-a", m[0]);
	lens[1] = publish_msg(1, "{\"temp_c\":4.0}", m[1]);
	lens[2] = publish_msg(2, "{\"temp_c\":4.1}", m[2]);
	lens[3] = publish_msg(3, "{\"temp_c\":4.2}", m[3]);
	size_t flen = station_frame(st, msgs, lens, 4, frame, now);

	gw_link_on_datagram(gl, &a, frame, flen, now);
	assert_int_equal(F.n_in, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(F.in[i].len, lens[i]);
		assert_memory_equal(F.in[i].buf, m[i], lens[i]);
		assert_int_equal(F.in[i].addr.data[3], 10);
	}
	assert_true(gw_link_is_framed(gl, &a));
	/* The receive counter was saved before the messages were handed on. */
	assert_true(F.saves >= 1);
	assert_int_equal(F.state[slot_of("st-a", false)].rx, 1);

	/* Three acknowledgements wait together for hold_ms, then leave in one frame. */
	for (uint16_t id = 1; id <= 3; id++) {
		uint8_t ack[8];
		gw_link_send(gl, &a, ack, puback_msg(id, ack), now + id);
	}
	assert_int_equal(F.n_out, 0);
	assert_int_equal(gw_link_deadline(gl), now + 1 + 100);
	assert_int_equal(gw_link_tick(gl, now + 50), now + 101);
	assert_int_equal(F.n_out, 0);
	assert_int_equal(gw_link_tick(gl, now + 101), UINT64_MAX);
	assert_int_equal(F.n_out, 1);
	assert_int_equal(F.out[0].addr.data[3], 10);
	assert_true(F.out[0].len <= 270);
	assert_int_equal(F.out[0].buf[0], 0x00);
	assert_int_equal(station_open(st, &F.out[0], NULL), 3);
	assert_int_equal(GOT.buf[2][1], 0x0D);

	/* A plain client on the same listener is passed through untouched, both ways. */
	struct gw_addr p = addr(0, 20);
	uint8_t plain[64];
	size_t plen = connect_msg("plain-1", plain);
	gw_link_on_datagram(gl, &p, plain, plen, now + 200);
	assert_int_equal(F.n_in, 5);
	assert_memory_equal(F.in[4].buf, plain, plen);
	uint8_t connack[] = {3, 0x05, 0};
	gw_link_send(gl, &p, connack, sizeof connack, now + 200);
	assert_int_equal(F.n_out, 2);
	assert_memory_equal(F.out[1].buf, connack, sizeof connack);

	const struct gw_link_stats *s = gw_link_stats(gl);
	assert_int_equal(s->link.frames_in, 1);
	assert_int_equal(s->link.msgs_in, 4);
	assert_int_equal(s->link.frames_out, 1);
	assert_int_equal(s->link.msgs_out, 3);
	assert_int_equal(s->stations, 2);
	assert_int_equal(s->bound, 1);
	mqttsn_link_free(st);
	gw_link_free(gl);
}

/* A listener with its own link_mtu: frames to a station that comes in
 * there are as large as it allows, and as large as the global one when the
 * station moves to another listener. */
static void test_listener_mtu(void **state)
{
	(void)state;
	uint64_t now = 1000;
	struct gw_link *gl = bridge_new(100, now); /* link_mtu 270 */
	struct mqttsn_link *st = station_new(KEY_A, 0, 0);
	struct gw_addr ip = addr(1, 10), sbd = addr(0, 10);
	uint8_t m[64], frame[MQTTSN_FRAME_MAX];
	size_t big = 0;

	gw_link_listener_mtu(gl, 1, 1200);
	gw_link_on_datagram(gl, &ip, frame, one_frame(st, m, connect_msg("st-a", m), frame, now), now);
	assert_int_equal(F.n_in, 1);
	for (uint16_t i = 1; i <= 60; i++)
		gw_link_send(gl, &ip, m, publish_msg(i, "{\"pressure_hpa\":1016.6,\"temp_c\":4.0}", m), now);
	(void)gw_link_tick(gl, now + 100);
	assert_true(F.n_out >= 3);
	for (size_t i = 0; i < F.n_out; i++) {
		assert_true(F.out[i].len <= 1200);
		big = F.out[i].len > big ? F.out[i].len : big;
	}
	assert_true(big > 270);
	/* the same station over the other listener: 270 again */
	F.n_out = 0;
	gw_link_on_datagram(gl, &sbd, frame, one_frame(st, m, publish_msg(99, "x", m), frame, now + 200),
	                    now + 200);
	for (uint16_t i = 1; i <= 20; i++)
		gw_link_send(gl, &sbd, m, publish_msg(i, "{\"pressure_hpa\":1016.6,\"temp_c\":4.0}", m),
		             now + 200);
	(void)gw_link_tick(gl, now + 300);
	assert_true(F.n_out >= 3);
	for (size_t i = 0; i < F.n_out; i++)
		assert_true(F.out[i].len <= 270);
	mqttsn_link_free(st);
	gw_link_free(gl);
}

static void test_key_bound_to_client_id(void **state)
{
	(void)state;
	uint64_t now = 5000;
	struct gw_link *gl = bridge_new(0, now);
	struct mqttsn_link *st = station_new(KEY_A, 0, 0);
	struct gw_addr a = addr(0, 11);
	uint8_t m[64], frame[MQTTSN_FRAME_MAX];

	/* Station A's key, CONNECT as st-b: refused in a frame, never reaches the core. */
	size_t flen = one_frame(st, m, connect_msg("st-b", m), frame, now);
	gw_link_on_datagram(gl, &a, frame, flen, now);
	assert_int_equal(F.n_in, 0);
	assert_int_equal(gw_link_stats(gl)->id_refused, 1);
	gw_link_flush_all(gl, now);
	assert_int_equal(F.n_out, 1);
	assert_int_equal(station_open(st, &F.out[0], NULL), 1);
	assert_int_equal(GOT.len[0], 3);
	assert_int_equal(GOT.buf[0][1], 0x05);
	assert_int_equal(GOT.buf[0][2], 0x03);

	/* The same session goes on: CONNECT as itself passes. */
	flen = one_frame(st, m, connect_msg("st-a", m), frame, now + 1);
	gw_link_on_datagram(gl, &a, frame, flen, now + 1);
	assert_int_equal(F.n_in, 1);

	/* A PINGREQ waking st-b, and a forwarder's 0xFE, are refused alike. */
	const uint8_t ping[] = {6, 0x16, 's', 't', '-', 'b'};
	flen = one_frame(st, ping, sizeof ping, frame, now + 2);
	gw_link_on_datagram(gl, &a, frame, flen, now + 2);
	const uint8_t encap[] = {3, 0xFE, 0x00, 2, 0x18};
	flen = one_frame(st, encap, sizeof encap, frame, now + 3);
	gw_link_on_datagram(gl, &a, frame, flen, now + 3);
	assert_int_equal(F.n_in, 1);
	assert_int_equal(gw_link_stats(gl)->id_refused, 3);

	/* A plain client may not take a keyed station's client id either. */
	struct gw_addr p = addr(0, 30);
	size_t plen = connect_msg("st-a", m);
	gw_link_on_datagram(gl, &p, m, plen, now + 4);
	assert_int_equal(F.n_in, 1);
	assert_int_equal(gw_link_stats(gl)->id_refused, 4);
	assert_int_equal(F.out[F.n_out - 1].len, 3);
	assert_int_equal(F.out[F.n_out - 1].buf[2], 0x03);
	assert_int_equal(F.out[F.n_out - 1].addr.data[3], 30);
	/* ... nor forge traffic from a framed station's address. */
	plen = publish_msg(9, "forged", m);
	gw_link_on_datagram(gl, &a, m, plen, now + 5);
	assert_int_equal(F.n_in, 1);
	assert_int_equal(gw_link_stats(gl)->plain_forged, 1);
	mqttsn_link_free(st);
	gw_link_free(gl);
}

static void test_bad_frames_counted(void **state)
{
	(void)state;
	uint64_t now = 9000;
	struct gw_link *gl = bridge_new(0, now);
	struct mqttsn_link *st = station_new(KEY_A, 0, 0);
	struct mqttsn_link *stranger = station_new(KEY_X, 0, 0);
	struct gw_addr a = addr(0, 12), x = addr(0, 13);
	uint8_t m[64], f1[MQTTSN_FRAME_MAX], f2[MQTTSN_FRAME_MAX], bad[MQTTSN_FRAME_MAX];

	/* A key no station has: counted, nothing delivered, the address stays unbound. */
	size_t xl = one_frame(stranger, m, connect_msg("st-a", m), f1, now);
	gw_link_on_datagram(gl, &x, f1, xl, now);
	assert_int_equal(F.n_in, 0);
	assert_int_equal(gw_link_stats(gl)->unknown_station, 1);
	assert_false(gw_link_is_framed(gl, &x));

	size_t l1 = one_frame(st, m, connect_msg("st-a", m), f1, now);
	size_t l2 = one_frame(st, m, publish_msg(1, "after", m), f2, now);
	gw_link_on_datagram(gl, &a, f1, l1, now);
	assert_int_equal(F.n_in, 1);
	/* Replayed. */
	gw_link_on_datagram(gl, &a, f1, l1, now + 1);
	/* Tampered: one bit of the ciphertext. */
	memcpy(bad, f2, l2);
	bad[l2 - 20] ^= 0x01;
	gw_link_on_datagram(gl, &a, bad, l2, now + 2);
	/* Truncated. */
	gw_link_on_datagram(gl, &a, f2, l2 - 5, now + 3);
	gw_link_on_datagram(gl, &a, f2, 1, now + 3);
	/* The stranger's key from the station's address. */
	xl = one_frame(stranger, m, publish_msg(2, "x", m), bad, now);
	gw_link_on_datagram(gl, &a, bad, xl, now + 4);
	assert_int_equal(F.n_in, 1);
	const struct gw_link_stats *s = gw_link_stats(gl);
	assert_int_equal(s->link.bad_replayed, 1);
	assert_true(s->link.bad_auth + s->link.bad_malformed >= 4);
	/* And the session goes on. */
	gw_link_on_datagram(gl, &a, f2, l2, now + 5);
	assert_int_equal(F.n_in, 2);
	assert_memory_equal(F.in[1].buf + 7, "after", 5);

	/* Reordered within the window: an older frame after a newer one is still taken once. */
	uint8_t f3[MQTTSN_FRAME_MAX], f4[MQTTSN_FRAME_MAX];
	size_t l3 = one_frame(st, m, publish_msg(3, "three", m), f3, now);
	size_t l4 = one_frame(st, m, publish_msg(4, "four", m), f4, now);
	gw_link_on_datagram(gl, &a, f4, l4, now + 6);
	gw_link_on_datagram(gl, &a, f3, l3, now + 7);
	gw_link_on_datagram(gl, &a, f3, l3, now + 8);
	assert_int_equal(F.n_in, 4);
	assert_int_equal(gw_link_stats(gl)->link.bad_replayed, 2);

	/* A station roaming to a new address: found by its key, rebound, answered there. */
	struct gw_addr b = addr(0, 14);
	uint8_t f5[MQTTSN_FRAME_MAX];
	size_t l5 = one_frame(st, m, publish_msg(5, "roam", m), f5, now);
	gw_link_on_datagram(gl, &b, f5, l5, now + 9);
	assert_int_equal(F.n_in, 5);
	assert_int_equal(F.in[4].addr.data[3], 14);
	assert_int_equal(gw_link_stats(gl)->rebinds, 1);
	uint8_t ack[8];
	gw_link_send(gl, &a, ack, puback_msg(5, ack), now + 10); /* the core still answers the old one */
	gw_link_flush_all(gl, now + 10);
	assert_int_equal(F.out[F.n_out - 1].addr.data[3], 14);
	assert_int_equal(station_open(st, &F.out[F.n_out - 1], NULL), 1);
	mqttsn_link_free(st);
	mqttsn_link_free(stranger);
	gw_link_free(gl);
}

static void test_restart_keeps_counters(void **state)
{
	(void)state;
	uint64_t now = 20000, highest_down = 0, c;
	struct gw_link *gl = bridge_new(0, now);
	struct mqttsn_link *st = station_new(KEY_A, 0, 0);
	struct gw_addr a = addr(0, 15);
	uint8_t m[64], old[MQTTSN_FRAME_MAX], f[MQTTSN_FRAME_MAX];
	size_t fl = 0;

	size_t ol = one_frame(st, m, connect_msg("st-a", m), old, now);
	gw_link_on_datagram(gl, &a, old, ol, now);
	for (uint16_t i = 1; i <= 3; i++) {
		fl = one_frame(st, m, publish_msg(i, "x", m), f, now);
		gw_link_on_datagram(gl, &a, f, fl, now);
		uint8_t ack[8];
		gw_link_send(gl, &a, ack, puback_msg(i, ack), now);
		gw_link_flush_all(gl, now);
		assert_int_equal(station_open(st, &F.out[F.n_out - 1], &c), 1);
		highest_down = c > highest_down ? c : highest_down;
	}
	assert_int_equal(F.n_in, 4);
	gw_link_free(gl);

	/* The bridge restarts from the saved state. */
	gl = bridge_new(0, now + 1);
	gw_link_on_datagram(gl, &a, old, ol, now + 1);
	gw_link_on_datagram(gl, &a, f, fl, now + 1);
	assert_int_equal(F.n_in, 4); /* replays from before the restart are refused */
	const struct gw_link_stats *s = gw_link_stats(gl);
	assert_int_equal(s->link.bad_too_old + s->link.bad_replayed + s->unknown_station, 2);
	/* New frames go on, and what the bridge sends never reuses a counter. */
	fl = one_frame(st, m, publish_msg(7, "new", m), f, now + 2);
	gw_link_on_datagram(gl, &a, f, fl, now + 2);
	assert_int_equal(F.n_in, 5);
	uint8_t ack[8];
	gw_link_send(gl, &a, ack, puback_msg(7, ack), now + 2);
	gw_link_flush_all(gl, now + 2);
	assert_int_equal(station_open(st, &F.out[F.n_out - 1], &c), 1);
	assert_true(c > highest_down);

	/* A state that cannot be saved: the frame waits, counted, and goes once it can. */
	F.fail_save = true;
	gw_link_free(gl);
	F.state[slot_of("st-a", false)].tx = 1024 * 1000; /* far ahead: nothing reserved beyond */
	F.fail_save = false;
	gl = bridge_new(0, now + 3);
	fl = one_frame(st, m, publish_msg(8, "y", m), f, now + 3);
	gw_link_on_datagram(gl, &a, f, fl, now + 3);
	size_t out_before = F.n_out;
	F.fail_save = true;
	gw_link_send(gl, &a, ack, puback_msg(8, ack), now + 3);
	assert_int_equal(F.n_out, out_before);
	assert_true(gw_link_stats(gl)->state_errors >= 1);
	assert_int_equal(gw_link_deadline(gl), now + 3 + GW_LINK_STATE_RETRY_MS);
	F.fail_save = false;
	gw_link_tick(gl, now + 3 + GW_LINK_STATE_RETRY_MS);
	assert_int_equal(F.n_out, out_before + 1);
	assert_int_equal(station_open(st, &F.out[F.n_out - 1], &c), 1);
	assert_true(c >= 1024 * 1000);
	mqttsn_link_free(st);
	gw_link_free(gl);
}

static void test_listener_policies(void **state)
{
	(void)state;
	uint64_t now = 30000;
	struct gw_link *gl = bridge_new(0, now);
	gw_link_listener(gl, 1, true, false);
	gw_link_listener(gl, 2, false, true);
	uint8_t m[64], f[MQTTSN_FRAME_MAX];
	size_t ml = connect_msg("plain-2", m);

	/* Require frames: plain MQTT-SN is dropped and counted. */
	struct gw_addr r = addr(1, 40);
	gw_link_on_datagram(gl, &r, m, ml, now);
	assert_int_equal(F.n_in, 0);
	assert_int_equal(F.n_out, 0);
	assert_int_equal(gw_link_stats(gl)->plain_refused, 1);
	/* ... while frames are taken there. */
	struct mqttsn_link *st = station_new(KEY_B, 0, 0);
	size_t fl = one_frame(st, m, connect_msg("st-b", m), f, now);
	gw_link_on_datagram(gl, &r, f, fl, now);
	assert_int_equal(F.n_in, 1);

	/* Unencrypted frames: refused where not allowed, a session where they are. */
	struct mqttsn_link *open_st = station_new(NULL, 0, 0);
	fl = one_frame(open_st, m, connect_msg("plain-3", m), f, now);
	struct gw_addr z = addr(0, 41), y = addr(2, 42);
	gw_link_on_datagram(gl, &z, f, fl, now);
	assert_int_equal(F.n_in, 1);
	assert_int_equal(gw_link_stats(gl)->plain_frame_refused, 1);
	gw_link_on_datagram(gl, &y, f, fl, now);
	assert_int_equal(F.n_in, 2);
	assert_int_equal(gw_link_stats(gl)->peers, 1);
	uint8_t ack[] = {3, 0x05, 0};
	gw_link_send(gl, &y, ack, sizeof ack, now);
	gw_link_flush_all(gl, now);
	assert_int_equal(F.out[F.n_out - 1].buf[0], 0x00);
	assert_int_equal(station_open(open_st, &F.out[F.n_out - 1], NULL), 1);
	/* An unencrypted frame may not take a keyed client id. */
	fl = one_frame(open_st, m, connect_msg("st-a", m), f, now);
	gw_link_on_datagram(gl, &y, f, fl, now);
	assert_int_equal(F.n_in, 2);
	assert_int_equal(gw_link_stats(gl)->id_refused, 1);
	mqttsn_link_free(st);
	mqttsn_link_free(open_st);
	gw_link_free(gl);
}

static void test_reload(void **state)
{
	(void)state;
	uint64_t now = 40000;
	struct gw_link *gl = bridge_new(1000, now);
	struct mqttsn_link *st = station_new(KEY_A, 0, 0);
	struct gw_addr a = addr(0, 16);
	uint8_t m[64], f[MQTTSN_FRAME_MAX];
	size_t fl = one_frame(st, m, connect_msg("st-a", m), f, now);
	gw_link_on_datagram(gl, &a, f, fl, now);
	uint8_t ack[8];
	gw_link_send(gl, &a, ack, puback_msg(1, ack), now);
	assert_int_equal(F.n_out, 0);
	/* Reload: the queued message goes out first, the station keeps its address. */
	char err[128];
	struct gw_link_keys *k = make_keys();
	assert_int_equal(gw_link_set_keys(gl, k, now + 1, err, sizeof err), 0);
	assert_int_equal(F.n_out, 1);
	assert_int_equal(station_open(st, &F.out[0], NULL), 1);
	assert_true(gw_link_is_framed(gl, &a));
	fl = one_frame(st, m, publish_msg(2, "z", m), f, now + 2);
	gw_link_on_datagram(gl, &a, f, fl, now + 2);
	assert_int_equal(F.n_in, 2);
	/* A key file without st-a: its address is no longer framed. */
	k = make_keys();
	k->st[0] = k->st[1];
	k->n = 1;
	assert_int_equal(gw_link_set_keys(gl, k, now + 3, err, sizeof err), 0);
	assert_false(gw_link_is_framed(gl, &a));
	assert_int_equal(gw_link_stats(gl)->stations, 1);
	assert_int_equal(gw_link_stats(gl)->link.frames_in, 2);
	mqttsn_link_free(st);
	gw_link_free(gl);
}

static void test_probe_budget(void **state)
{
	(void)state;
	uint64_t now = 50000;
	struct gw_link *gl = bridge_new(0, now);
	struct mqttsn_link *stranger = station_new(KEY_X, 0, 0), *st = station_new(KEY_A, 0, 0);
	struct gw_addr x = addr(0, 50), a = addr(0, 51);
	uint8_t m[64], f[MQTTSN_FRAME_MAX], g[MQTTSN_FRAME_MAX];
	size_t fl = one_frame(stranger, m, connect_msg("st-a", m), f, now);
	size_t gl_len = one_frame(st, m, connect_msg("st-a", m), g, now);

	/* Junk from unbound addresses costs one trial per candidate station, within a budget. */
	for (unsigned i = 0; i < GW_LINK_PROBE_RATE; i++)
		gw_link_on_datagram(gl, &x, f, fl, now);
	const struct gw_link_stats *s = gw_link_stats(gl);
	assert_int_equal(s->probes, GW_LINK_PROBE_RATE);
	assert_int_equal(s->unknown_station, GW_LINK_PROBE_RATE / 2);
	assert_int_equal(s->probe_throttled, GW_LINK_PROBE_RATE / 2);
	/* Over budget, even a real station waits ... */
	gw_link_on_datagram(gl, &a, g, gl_len, now);
	assert_int_equal(F.n_in, 0);
	/* ... until the budget refills (its retransmission gets through). */
	gw_link_on_datagram(gl, &a, g, gl_len, now + 1000);
	assert_int_equal(F.n_in, 1);
	mqttsn_link_free(stranger);
	mqttsn_link_free(st);
	gw_link_free(gl);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	randombytes_buf(KEY_A, sizeof KEY_A);
	randombytes_buf(KEY_B, sizeof KEY_B);
	randombytes_buf(KEY_X, sizeof KEY_X);
	CTX = malloc(sizeof *CTX);
	if (CTX == NULL)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_uplink_and_downlink_batched, setup),
		cmocka_unit_test_setup(test_listener_mtu, setup),
		cmocka_unit_test_setup(test_key_bound_to_client_id, setup),
		cmocka_unit_test_setup(test_bad_frames_counted, setup),
		cmocka_unit_test_setup(test_restart_keeps_counters, setup),
		cmocka_unit_test_setup(test_listener_policies, setup),
		cmocka_unit_test_setup(test_reload, setup),
		cmocka_unit_test_setup(test_probe_budget, setup),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(CTX);
	return rc;
}
