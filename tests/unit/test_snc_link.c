/*
 * test_snc_link.c - the station's framed transport (sn-client/link.h) over
 * real UDP sockets on 127.0.0.1, with a bare mqttsn_link as the bridge at
 * the other end. The transport's clock is virtual; the sockets are waited
 * on with poll() and a bound, never a fixed sleep. Also the state file, its
 * lock, the tools' options (linkopt.h) and the blocking loop waking for
 * the hold time.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <sodium.h>

#include "sn-client/blocking.h"
#include "sn-client/clock.h"
#include "sn-client/link.h"
#include "sn-client/linkopt.h"
#include "sn-client/udp.h"

static struct mqttsn_frame_ctx ctx;
static uint8_t content[MQTTSN_FRAME_CONTENT_MAX];
static struct mqttsn_link_keyring ring;
static uint64_t vclock;
static char dir[256];

static uint64_t virtual_ms(void *arg)
{
	(void)arg;
	return vclock;
}

static void rm_rf(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *e;
	char path[512];

	if (dd == NULL)
		return;
	while ((e = readdir(dd)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", d, e->d_name);
		unlink(path);
	}
	closedir(dd);
	rmdir(d);
}

static int setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	if (sodium_init() < 0)
		return -1;
	memset(&ring, 0, sizeof ring);
	ring.set[2] = true;
	for (size_t i = 0; i < MQTTSN_FRAME_KEY_LEN; i++)
		ring.key[2][i] = (uint8_t)(i * 3 + 1);
	snprintf(dir, sizeof dir, "%s/snc-link-XXXXXX", base != NULL ? base : "/tmp");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(dir);
	return 0;
}

/* ---------------------------------------------------------------- the two ends */

struct ends {
	struct snc_udp gw;       /* the bridge's socket */
	struct snc_udp st;       /* the station's, inside the framed transport */
	struct snc_linkt *lt;
	struct snc_transport *t;
	struct mqttsn_link *br;  /* the bridge's link session */
};

static void port_of(const struct snc_udp *u, char *out, size_t cap)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof a;

	assert_int_equal(getsockname(u->fd, (struct sockaddr *)&a, &len), 0);
	snprintf(out, cap, "%u", (unsigned)ntohs(((struct sockaddr_in *)&a)->sin_port));
}

static struct snc_linkt_conf station_conf(const char *state, uint32_t hold_ms)
{
	struct snc_linkt_conf c;

	memset(&c, 0, sizeof c);
	c.link.mtu = 340;
	c.link.hold_ms = hold_ms;
	c.link.encrypt = true;
	c.link.key_id = 2;
	c.link.keys = ring;
	c.state_path = state;
	c.clock = virtual_ms;
	return c;
}

static void ends_open(struct ends *e, const char *state, uint32_t hold_ms, uint64_t br_floor)
{
	struct snc_linkt_conf c = station_conf(state, hold_ms);
	struct mqttsn_link_conf b;
	char err[256], port[16];

	memset(e, 0, sizeof *e);
	assert_int_equal(snc_udp_listen(&e->gw, "127.0.0.1", "0", err, sizeof err), SNC_OK);
	port_of(&e->gw, port, sizeof port);
	assert_int_equal(snc_udp_open(&e->st, "127.0.0.1", port, err, sizeof err), SNC_OK);
	assert_int_equal(snc_linkt_open(&e->lt, &c, &e->st.base, err, sizeof err), SNC_OK);
	e->t = snc_linkt_transport(e->lt);
	memset(&b, 0, sizeof b);
	b.mtu = 270;
	b.direction = MQTTSN_LINK_DOWN;
	b.encrypt = true;
	b.key_id = 2;
	b.keys = ring;
	e->br = mqttsn_link_new(&b, 0, br_floor);
	assert_non_null(e->br);
	mqttsn_link_tx_persisted(e->br, mqttsn_link_tx_want(e->br));
}

static void ends_close(struct ends *e)
{
	e->t->ops->close(e->t);
	e->gw.base.ops->close(&e->gw.base);
	mqttsn_link_free(e->br);
}

/* One datagram at fd within 2 s (1), or none right now (wait_ms 0: 0). */
static int readable(int fd, int wait_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, wait_ms);
}

/* The bridge receives one frame; returns its length, fills *info. */
static int bridge_recv(struct ends *e, uint8_t *frame, size_t cap, struct mqttsn_frame_info *info)
{
	int n;

	assert_int_equal(readable(e->gw.fd, 2000), 1);
	n = e->gw.base.ops->recv(&e->gw.base, frame, cap);
	assert_true(n > 0);
	/* answers go back where the frame came from */
	e->gw.gw = e->gw.from;
	e->gw.gw_len = e->gw.from_len;
	return mqttsn_link_open(e->br, &ctx, frame, (size_t)n, content, sizeof content, info);
}

static size_t ndelivered;
static uint8_t delivered[8][2048];
static size_t delivered_len[8];

static void on_msg(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg;
	assert_true(ndelivered < 8 && len <= sizeof delivered[0]);
	memcpy(delivered[ndelivered], msg, len);
	delivered_len[ndelivered++] = len;
}

/* The bridge sends msgs down (hold 0); frame keeps the last frame, its length returned. */
static int bridge_send(struct ends *e, const uint8_t *const *msgs, const size_t *lens, size_t n, uint8_t *frame)
{
	int len, last = 0;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(mqttsn_link_send(e->br, &ctx, msgs[i], lens[i], 0), MQTTSN_OK);
	mqttsn_link_flush(e->br);
	for (int guard = 0; guard < 16 && (len = mqttsn_link_next_frame(e->br, &ctx, 0, frame, 270)) > 0; guard++) {
		assert_int_equal(e->gw.base.ops->send(&e->gw.base, frame, (size_t)len, false), SNC_OK);
		last = len;
	}
	return last;
}

static const uint8_t pub1[] = {0x0b, 0x0c, 0x20, 0x00, 0x01, 0x00, 0x01, '2', '1', '.', '5'};
static const uint8_t pub2[] = {0x0b, 0x0c, 0x20, 0x00, 0x01, 0x00, 0x02, '2', '1', '.', '6'};
static const uint8_t puback1[] = {0x07, 0x0d, 0x00, 0x01, 0x00, 0x01, 0x00};
static const uint8_t puback2[] = {0x07, 0x0d, 0x00, 0x01, 0x00, 0x02, 0x00};
static const uint8_t disconnect[] = {0x02, 0x18};

/* ---------------------------------------------------------------- tests */

static void test_round_trip(void **state)
{
	struct ends e;
	struct mqttsn_frame_info info;
	uint8_t frame[MQTTSN_FRAME_MAX], buf[512];
	const uint8_t *down[2] = {puback1, puback2};
	size_t down_len[2] = {sizeof puback1, sizeof puback2};
	char path[300];
	int n;

	(void)state;
	snprintf(path, sizeof path, "%s/rt.state", dir);
	vclock = 1000;
	ends_open(&e, path, 200, 0);
	/* two PUBLISHes wait for the hold: nothing on the wire */
	assert_int_equal(e.t->ops->send(e.t, pub1, sizeof pub1, false), SNC_OK);
	vclock = 1100;
	assert_int_equal(e.t->ops->send(e.t, pub2, sizeof pub2, false), SNC_OK);
	assert_true(e.t->ops->deadline(e.t) == 1200);
	assert_int_equal(e.t->ops->tick(e.t, 1199), SNC_OK);
	assert_int_equal(readable(e.gw.fd, 0), 0);
	/* at the deadline one frame carries both */
	assert_int_equal(e.t->ops->tick(e.t, 1200), SNC_OK);
	assert_true(e.t->ops->deadline(e.t) == UINT64_MAX);
	n = bridge_recv(&e, frame, sizeof frame, &info);
	assert_true(n > 0);
	assert_true(info.encrypted && info.key_id == 2 && info.counter == 0);
	ndelivered = 0;
	assert_int_equal(mqttsn_link_deliver(e.br, content, (size_t)n, &info, on_msg, NULL), 2);
	assert_memory_equal(delivered[1], pub2, sizeof pub2);
	/* the counters were on disk before the frame left */
	{
		struct snc_linkt_state st;
		char err[256];

		assert_int_equal(snc_linkt_state_load(path, &st, err, sizeof err), SNC_OK);
		assert_true(st.tx_mark == MQTTSN_LINK_RESERVE);
		assert_false(st.rx_any);
	}
	/* the bridge answers with both PUBACKs in one frame: one per recv() */
	assert_true(bridge_send(&e, down, down_len, 2, frame) > 0);
	assert_int_equal(readable(e.t->ops->fd(e.t), 2000), 1);
	n = e.t->ops->recv(e.t, buf, sizeof buf);
	assert_int_equal(n, sizeof puback1);
	assert_memory_equal(buf, puback1, sizeof puback1);
	n = e.t->ops->recv(e.t, buf, sizeof buf);
	assert_int_equal(n, sizeof puback2);
	assert_int_equal(e.t->ops->recv(e.t, buf, sizeof buf), SNC_ERR_EMPTY);
	{
		struct snc_linkt_state st;
		char err[256];

		assert_int_equal(snc_linkt_state_load(path, &st, err, sizeof err), SNC_OK);
		assert_true(st.rx_any && st.rx_highest == 0);
	}
	/* a plain MQTT-SN datagram is refused and counted */
	assert_int_equal(e.gw.base.ops->send(&e.gw.base, puback1, sizeof puback1, false), SNC_OK);
	assert_int_equal(readable(e.t->ops->fd(e.t), 2000), 1);
	assert_int_equal(e.t->ops->recv(e.t, buf, sizeof buf), SNC_ERR_EMPTY);
	assert_true(snc_linkt_stats(e.lt)->plain_refused == 1);
	/* a DISCONNECT does not wait for the hold */
	assert_int_equal(e.t->ops->send(e.t, disconnect, sizeof disconnect, false), SNC_OK);
	n = bridge_recv(&e, frame, sizeof frame, &info);
	assert_true(n > 0);
	assert_true(mqttsn_link_stats(snc_linkt_link(e.lt))->frames_out == 2);
	ends_close(&e);
}

static void test_restart(void **state)
{
	struct ends e;
	struct mqttsn_frame_info info;
	uint8_t frame[MQTTSN_FRAME_MAX], old[MQTTSN_FRAME_MAX], buf[512];
	const uint8_t *down[1] = {puback1};
	size_t down_len[1] = {sizeof puback1};
	struct snc_linkt *second;
	char path[300], err[256];
	uint64_t highest = 0;
	int n, oldlen;

	(void)state;
	snprintf(path, sizeof path, "%s/restart.state", dir);
	vclock = 0;
	ends_open(&e, path, 0, 0);
	/* a second process on the same state is refused */
	{
		struct snc_linkt_conf c = station_conf(path, 0);

		assert_int_equal(snc_linkt_open(&second, &c, &e.gw.base, err, sizeof err), SNC_ERR_BUSY);
		assert_non_null(strstr(err, "another process"));
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(e.t->ops->send(e.t, pub1, sizeof pub1, false), SNC_OK);
		assert_true(bridge_recv(&e, frame, sizeof frame, &info) > 0);
	}
	/* the bridge's frame is kept, to be replayed later */
	oldlen = bridge_send(&e, down, down_len, 1, old);
	assert_true(oldlen > 0);
	assert_int_equal(readable(e.t->ops->fd(e.t), 2000), 1);
	assert_int_equal(e.t->ops->recv(e.t, buf, sizeof buf), (int)sizeof puback1);
	assert_true(mqttsn_link_rx_changed(e.br, &highest) && highest == 2);
	/* the station reboots: its counters go on after the mark, never back */
	e.t->ops->close(e.t);
	{
		struct snc_linkt_conf c = station_conf(path, 0);
		char port[16];

		port_of(&e.gw, port, sizeof port);
		assert_int_equal(snc_udp_open(&e.st, "127.0.0.1", port, err, sizeof err), SNC_OK);
		assert_int_equal(snc_linkt_open(&e.lt, &c, &e.st.base, err, sizeof err), SNC_OK);
		e.t = snc_linkt_transport(e.lt);
	}
	assert_int_equal(e.t->ops->send(e.t, pub2, sizeof pub2, false), SNC_OK);
	n = bridge_recv(&e, frame, sizeof frame, &info);
	assert_true(n > 0);
	assert_true(info.counter == MQTTSN_LINK_RESERVE);
	assert_true(frame[1] & MQTTSN_FRAME_F_WIDE);
	/* the bridge's old frame replayed to the rebooted station: refused */
	e.gw.gw = e.gw.from;
	e.gw.gw_len = e.gw.from_len;
	assert_int_equal(e.gw.base.ops->send(&e.gw.base, old, (size_t)oldlen, false), SNC_OK);
	assert_int_equal(readable(e.t->ops->fd(e.t), 2000), 1);
	assert_int_equal(e.t->ops->recv(e.t, buf, sizeof buf), SNC_ERR_EMPTY);
	assert_true(mqttsn_link_stats(snc_linkt_link(e.lt))->bad_too_old == 1);
	/* and a new one is taken */
	assert_true(bridge_send(&e, down, down_len, 1, frame) > 0);
	assert_int_equal(readable(e.t->ops->fd(e.t), 2000), 1);
	assert_int_equal(e.t->ops->recv(e.t, buf, sizeof buf), (int)sizeof puback1);
	ends_close(&e);
}

static void test_fragments(void **state)
{
	struct ends e;
	struct mqttsn_frame_info info;
	uint8_t frame[MQTTSN_FRAME_MAX], big[1500], buf[2048];
	const uint8_t *down[1] = {big};
	size_t down_len[1] = {1000};
	int n, got = 0;

	(void)state;
	vclock = 0;
	ends_open(&e, NULL, 50, 0); /* counters in memory */
	big[0] = 0x01;
	big[1] = (uint8_t)(sizeof big >> 8);
	big[2] = (uint8_t)sizeof big;
	big[3] = 0x0c;
	for (size_t i = 4; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 13);
	assert_int_equal(e.t->ops->send(e.t, big, sizeof big, false), SNC_OK);
	ndelivered = 0;
	for (int k = 0; k < 5; k++) {
		n = bridge_recv(&e, frame, sizeof frame, &info);
		assert_true(n > 0 && info.fragment);
		got += mqttsn_link_deliver(e.br, content, (size_t)n, &info, on_msg, NULL);
	}
	assert_int_equal(got, 1);
	assert_int_equal(delivered_len[0], sizeof big);
	assert_memory_equal(delivered[0], big, sizeof big);
	assert_int_equal(readable(e.gw.fd, 0), 0);
	/* down: 1000 octets in 270-octet frames, one message out of recv() */
	big[1] = (uint8_t)(1000 >> 8);
	big[2] = (uint8_t)1000;
	assert_true(bridge_send(&e, down, down_len, 1, frame) > 0);
	for (int guard = 0; guard < 10; guard++) {
		assert_int_equal(readable(e.t->ops->fd(e.t), 2000), 1);
		n = e.t->ops->recv(e.t, buf, sizeof buf);
		if (n != SNC_ERR_EMPTY)
			break;
	}
	assert_int_equal(n, 1000);
	assert_memory_equal(buf, big, 1000);
	ends_close(&e);
}

static void test_state_file(void **state)
{
	struct snc_linkt_state st = {77, true, 12};
	char path[300], err[256];
	FILE *f;

	(void)state;
	snprintf(path, sizeof path, "%s/sf.state", dir);
	assert_int_equal(snc_linkt_state_load(path, &st, err, sizeof err), SNC_ERR_NOT_FOUND);
	st = (struct snc_linkt_state){UINT64_MAX - 5, true, 18446744073709551000u};
	assert_int_equal(snc_linkt_state_save(path, &st, err, sizeof err), SNC_OK);
	memset(&st, 0, sizeof st);
	assert_int_equal(snc_linkt_state_load(path, &st, err, sizeof err), SNC_OK);
	assert_true(st.tx_mark == UINT64_MAX - 5 && st.rx_any && st.rx_highest == 18446744073709551000u);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("tx_mark 12x\n", f);
	fclose(f);
	assert_int_equal(snc_linkt_state_load(path, &st, err, sizeof err), SNC_ERR_CORRUPT);
	assert_non_null(strstr(err, ":1:"));
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(snc_linkt_state_load(path, &st, err, sizeof err), SNC_ERR_CORRUPT);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# c\r\ntx_mark 99999999999999999999\n", f);
	fclose(f);
	assert_int_equal(snc_linkt_state_load(path, &st, err, sizeof err), SNC_ERR_CORRUPT);
	/* a directory that does not exist: the write fails and says where */
	snprintf(path, sizeof path, "%s/no/such.state", dir);
	assert_int_equal(snc_linkt_state_save(path, &st, err, sizeof err), SNC_ERR_IO);
	assert_non_null(strstr(err, "no/such.state.tmp"));
}

/* The options: key file (private), key id, dictionary, state beside the key file. */
static void test_options(void **state)
{
	struct snc_linkopt o;
	struct snc_udp u;
	struct snc_linkt *lt;
	char keys[300], dictf[300], statef[400], err[256];
	static uint8_t dfile[200];
	struct mqttsn_frame_dict d = {9, (const uint8_t *)"{\"temp_c\":", 10};
	FILE *f;
	int n;

	(void)state;
	snprintf(keys, sizeof keys, "%s/keys", dir);
	snprintf(dictf, sizeof dictf, "%s/d.sndict", dir);
	f = fopen(keys, "w");
	assert_non_null(f);
	fputs("# station keys\nmast-1 0 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	      "mast-1 1 1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100\n"
	      "mast-2 0 0000000000000000000000000000000000000000000000000000000000000000\n", f);
	fclose(f);
	n = mqttsn_frame_dict_encode(&d, dfile, sizeof dfile);
	assert_true(n > 0);
	f = fopen(dictf, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(dfile, 1, (size_t)n, f), (size_t)n);
	fclose(f);

	snc_linkopt_defaults(&o);
	assert_int_equal(snc_linkopt_option(&o, SNC_LINKOPT_KEY_FILE, keys, err, sizeof err), 1);
	assert_int_equal(snc_linkopt_check(&o, err, sizeof err), SNC_ERR_INVALID); /* needs --frames */
	assert_int_equal(snc_linkopt_option(&o, SNC_LINKOPT_FRAMES, NULL, err, sizeof err), 1);
	assert_int_equal(snc_linkopt_check(&o, err, sizeof err), SNC_OK);
	assert_int_equal(snc_linkopt_option(&o, SNC_LINKOPT_MTU, "26", err, sizeof err), -1);
	assert_int_equal(snc_linkopt_option(&o, SNC_LINKOPT_KEY_ID, "4", err, sizeof err), -1);
	assert_int_equal(snc_linkopt_option(&o, SNC_LINKOPT_DICT, dictf, err, sizeof err), 1);
	assert_int_equal(snc_linkopt_option(&o, 'x', NULL, err, sizeof err), 0);

	assert_int_equal(snc_udp_open(&u, "127.0.0.1", "9", err, sizeof err), SNC_OK);
	/* open to others: refused */
	assert_int_equal(chmod(keys, 0644), 0);
	assert_int_equal(snc_linkopt_wrap(&lt, &o, &u.base, false, "mast-1", err, sizeof err), SNC_ERR_INVALID);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(keys, 0600), 0);
	/* no line for this client */
	assert_int_equal(snc_linkopt_wrap(&lt, &o, &u.base, false, "mast-9", err, sizeof err), SNC_ERR_INVALID);
	assert_non_null(strstr(err, "mast-9"));
	/* a key id it does not have */
	assert_int_equal(snc_linkopt_option(&o, SNC_LINKOPT_KEY_ID, "3", err, sizeof err), 1);
	assert_int_equal(snc_linkopt_wrap(&lt, &o, &u.base, false, "mast-1", err, sizeof err), SNC_ERR_INVALID);
	assert_int_equal(snc_linkopt_option(&o, SNC_LINKOPT_KEY_ID, "0", err, sizeof err), 1);
	assert_int_equal(snc_linkopt_wrap(&lt, &o, &u.base, false, "mast-1", err, sizeof err), SNC_OK);
	{
		const struct mqttsn_link_conf *c = mqttsn_link_conf(snc_linkt_link(lt));

		assert_int_equal(c->mtu, SNC_LINKOPT_MTU_UDP);
		assert_int_equal(c->hold_ms, SNC_LINKOPT_HOLD_DEFAULT);
		assert_true(c->encrypt && c->key_id == 0 && c->keys.set[0] && c->keys.set[1] && !c->keys.set[2]);
		assert_non_null(c->dict);
		assert_int_equal(c->dict->id, 9);
		assert_int_equal(c->dict->len, 10);
		assert_int_equal(c->ndicts, 1);
	}
	/* the state beside the key file, locked */
	snprintf(statef, sizeof statef, "%s.mast-1.state.lock", keys);
	assert_int_equal(access(statef, F_OK), 0);
	snc_linkt_transport(lt)->ops->close(snc_linkt_transport(lt));

	/* plain frames over serial: the serial mtu, no state */
	snc_linkopt_defaults(&o);
	o.frames = true;
	assert_int_equal(snc_udp_open(&u, "127.0.0.1", "9", err, sizeof err), SNC_OK);
	assert_int_equal(snc_linkopt_wrap(&lt, &o, &u.base, true, "mast-1", err, sizeof err), SNC_OK);
	assert_int_equal(mqttsn_link_conf(snc_linkt_link(lt))->mtu, SNC_LINKOPT_MTU_SERIAL);
	assert_false(mqttsn_link_conf(snc_linkt_link(lt))->encrypt);
	snc_linkt_transport(lt)->ops->close(snc_linkt_transport(lt));
	/* without --frames nothing is wrapped */
	o.frames = false;
	assert_int_equal(snc_linkopt_wrap(&lt, &o, NULL, false, "mast-1", err, sizeof err), SNC_OK);
	assert_null(lt);
}

/* The blocking loop wakes for the hold time: the frame leaves at its deadline, not at the poll's timeout. */
static void test_blocking_wakes(void **state)
{
	struct snc_linkt_conf c = station_conf(NULL, 30);
	struct snc_config cfg;
	struct snc_blocking *b;
	struct snc_udp gw, st;
	struct snc_linkt *lt;
	char err[256], port[16];
	uint64_t start;
	int guard;

	(void)state;
	c.clock = NULL; /* the real clock: the loop's */
	assert_int_equal(snc_udp_listen(&gw, "127.0.0.1", "0", err, sizeof err), SNC_OK);
	port_of(&gw, port, sizeof port);
	assert_int_equal(snc_udp_open(&st, "127.0.0.1", port, err, sizeof err), SNC_OK);
	assert_int_equal(snc_linkt_open(&lt, &c, &st.base, err, sizeof err), SNC_OK);
	snc_config_defaults(&cfg);
	cfg.client_id = "mast-1";
	b = snc_blocking_new(&cfg, snc_linkt_transport(lt));
	assert_non_null(b);
	start = snc_clock_mono_ms();
	assert_int_equal(snc_linkt_transport(lt)->ops->send(snc_linkt_transport(lt), pub1, sizeof pub1, false), SNC_OK);
	/* the poll ends at the hold's deadline, long before its own timeout */
	assert_int_equal(snc_blocking_poll(b, -1, 10000, NULL), SNC_OK);
	assert_true(snc_clock_mono_ms() - start < 5000);
	assert_int_equal(readable(gw.fd, 0), 0);
	/* and the next turn of the loop sends the frame */
	for (guard = 0; guard < 100 && readable(gw.fd, 0) == 0; guard++)
		assert_int_equal(snc_blocking_poll(b, -1, 100, NULL), SNC_OK);
	assert_int_equal(readable(gw.fd, 0), 1);
	assert_true(snc_clock_mono_ms() - start >= 30);
	assert_true(snc_clock_mono_ms() - start < 5000);
	snc_blocking_free(b);
	snc_linkt_transport(lt)->ops->close(snc_linkt_transport(lt));
	gw.base.ops->close(&gw.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_state_file),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_blocking_wakes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
