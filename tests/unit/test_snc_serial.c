/*
 * test_snc_serial.c - the station's serial transport (sn-client/serial.h)
 * over a pseudo-terminal pair: the transport opens the slave, the test
 * plays the line at the master. Frames out (byte for byte, SERIAL.md's
 * vectors), frames in (back to back, split across reads), garbage and
 * damage between frames, partial writes to a line that stops taking
 * octets, raw mode, a hang-up, the open errors; and the tools' option
 * handling (sn-client/tport.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec/serial.h"
#include "sn-client/serial.h"
#include "sn-client/tport.h"

struct line {
	int master, slave;      /* the test's end, and a slave held open */
	char path[64];
	struct snc_serial s;
};

static void line_open(struct line *l, const struct snc_serial_config *cfg)
{
	char err[256];
	int flags;

	assert_int_equal(openpty(&l->master, &l->slave, NULL, NULL, NULL), 0);
	assert_int_equal(ttyname_r(l->slave, l->path, sizeof l->path), 0);
	flags = fcntl(l->master, F_GETFL);
	assert_int_equal(fcntl(l->master, F_SETFL, flags | O_NONBLOCK), 0);
	assert_int_equal(snc_serial_open(&l->s, l->path, cfg, err, sizeof err), SNC_OK);
}

static void line_close(struct line *l)
{
	l->s.base.ops->close(&l->s.base);
	if (l->slave >= 0)
		close(l->slave);
	if (l->master >= 0)
		close(l->master);
}

static struct snc_serial_config framed(void)
{
	struct snc_serial_config c = { .tty = { .baud = 115200, .rtscts = false } };

	return c;
}

static void put(const struct line *l, const void *buf, size_t len)
{
	assert_int_equal(write(l->master, buf, len), (ssize_t)len);
}

/* What the line carries: up to cap octets arriving at the master within ms. */
static size_t take(struct line *l, uint8_t *buf, size_t cap, size_t want, int ms)
{
	size_t got = 0;

	while (got < want) {
		struct pollfd p = { l->master, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, ms) != 1)
			break;
		n = read(l->master, buf + got, cap - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* The next datagram, waiting up to 2 s; SNC_ERR_EMPTY when none came. */
static int recv_one(struct line *l, uint8_t *buf, size_t cap)
{
	for (int i = 0; i < 100; i++) {
		struct pollfd p = { l->s.base.ops->fd(&l->s.base), POLLIN, 0 };
		int n = l->s.base.ops->recv(&l->s.base, buf, cap);

		if (n != SNC_ERR_EMPTY)
			return n;
		if (poll(&p, 1, 20) < 0)
			break;
	}
	return SNC_ERR_EMPTY;
}

static size_t encode(const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
	int n = mqttsn_serial_encode(msg, len, out, cap);

	assert_true(n > 0);
	return (size_t)n;
}

/* ---------------------------------------------------------------- framed */

static void test_frames_out(void **state)
{
	static const uint8_t pingresp[] = { 0x02, 0x17 };
	static const uint8_t pingresp_frame[] = { 0x7E, 0x02, 0x17, 0xC9, 0x58, 0x7E };
	static const uint8_t pubrec[] = { 0x04, 0x0F, 0x53, 0x62 };
	static const uint8_t pubrec_frame[] = { 0x7E, 0x04, 0x0F, 0x53, 0x62,
		                                0x7D, 0x5E, 0x7D, 0x5D, 0x7E };
	struct snc_serial_config cfg = framed();
	struct snc_serial_stats st;
	struct line l;
	uint8_t got[64];

	(void)state;
	line_open(&l, &cfg);
	assert_int_equal(l.s.base.ops->send(&l.s.base, pingresp, sizeof pingresp, false), SNC_OK);
	/* A broadcast (SEARCHGW) goes down the same line. */
	assert_int_equal(l.s.base.ops->send(&l.s.base, pubrec, sizeof pubrec, true), SNC_OK);
	assert_int_equal(take(&l, got, sizeof got, 16, 1000), 16);
	assert_memory_equal(got, pingresp_frame, sizeof pingresp_frame);
	assert_memory_equal(got + 6, pubrec_frame, sizeof pubrec_frame);
	snc_serial_stats(&l.s, &st);
	assert_int_equal(st.frames_out, 2);
	assert_int_equal(l.s.base.ops->send(&l.s.base, pingresp, 0, false), SNC_ERR_IO);
	line_close(&l);
}

static void test_frames_in(void **state)
{
	static const uint8_t a[] = { 0x02, 0x17 };
	static const uint8_t b[] = { 0x09, 0x0C, 0x00, 0x00, 0x7E, 0x00, 0x01, 0x7D, 0x7E };
	uint8_t c[300], wire[1024], buf[512];
	struct snc_serial_config cfg = framed();
	struct snc_serial_stats st;
	struct line l;
	size_t n = 0, half;

	(void)state;
	for (size_t i = 0; i < sizeof c; i++)
		c[i] = (uint8_t)(i * 7u);
	c[0] = 0x01;
	c[1] = 0x01;
	c[2] = 0x2C; /* 300 octets, a 3-octet length header */
	line_open(&l, &cfg);
	assert_int_equal(l.s.base.ops->recv(&l.s.base, buf, sizeof buf), SNC_ERR_EMPTY);
	/* Two frames in one write: one datagram per recv(). */
	n += encode(a, sizeof a, wire + n, sizeof wire - n);
	n += encode(b, sizeof b, wire + n, sizeof wire - n);
	put(&l, wire, n);
	assert_int_equal(recv_one(&l, buf, sizeof buf), (int)sizeof a);
	assert_memory_equal(buf, a, sizeof a);
	assert_int_equal(recv_one(&l, buf, sizeof buf), (int)sizeof b);
	assert_memory_equal(buf, b, sizeof b);
	assert_int_equal(l.s.base.ops->recv(&l.s.base, buf, sizeof buf), SNC_ERR_EMPTY);
	/* A frame split across two writes comes out whole, once. */
	n = encode(c, sizeof c, wire, sizeof wire);
	half = n / 2;
	put(&l, wire, half);
	assert_int_equal(poll(&(struct pollfd){ l.s.fd, POLLIN, 0 }, 1, 1000), 1);
	assert_int_equal(l.s.base.ops->recv(&l.s.base, buf, sizeof buf), SNC_ERR_EMPTY);
	put(&l, wire + half, n - half);
	assert_int_equal(recv_one(&l, buf, sizeof buf), (int)sizeof c);
	assert_memory_equal(buf, c, sizeof c);
	/* Longer than the caller's buffer: dropped and counted, not cut. */
	put(&l, wire, n);
	put(&l, wire, encode(a, sizeof a, wire, sizeof wire));
	assert_int_equal(recv_one(&l, buf, 100), (int)sizeof a);
	snc_serial_stats(&l.s, &st);
	assert_int_equal(st.frames_in, 4);
	assert_int_equal(st.oversize, 1);
	assert_int_equal(st.damaged, 0);
	line_close(&l);
}

static void test_garbage_and_damage(void **state)
{
	static const uint8_t noise[] = { 0x00, 0xFF, 0x13, 0x7E, 0x12, 0x7E, 0x7D, 0x7E, 0x55 };
	static const uint8_t a[] = { 0x03, 0x18, 0x01 };
	static const uint8_t b[] = { 0x04, 0x0E, 0x12, 0x34 };
	static const uint8_t c[] = { 0x05, 0x0D, 0x00, 0x01, 0x00 };
	static const uint8_t d[] = { 0x02, 0x16 };
	uint8_t wire[256], buf[64];
	struct snc_serial_config cfg = framed();
	struct snc_serial_stats st;
	struct line l;
	size_t n = 0, cn;

	(void)state;
	line_open(&l, &cfg);
	/* Joined mid-frame: noise (with flags and an abort) before the first frame. */
	memcpy(wire + n, noise, sizeof noise);
	n += sizeof noise;
	n += encode(a, sizeof a, wire + n, sizeof wire - n);
	/* Noise without a flag between two frames is a damaged frame: the next
	 * frame's opening flag ends it. */
	memcpy(wire + n, "\x01\x02\x03", 3);
	n += 3;
	n += encode(b, sizeof b, wire + n, sizeof wire - n);
	/* c with one bit flipped, then d: c is dropped, d is delivered. */
	cn = encode(c, sizeof c, wire + n, sizeof wire - n);
	wire[n + 3] ^= 0x08;
	n += cn;
	/* d's opening flag lost: c's closing flag opens it. */
	cn = encode(d, sizeof d, wire + n, sizeof wire - n);
	memmove(wire + n, wire + n + 1, cn - 1);
	n += cn - 1;
	put(&l, wire, n);
	assert_int_equal(recv_one(&l, buf, sizeof buf), (int)sizeof a);
	assert_memory_equal(buf, a, sizeof a);
	assert_int_equal(recv_one(&l, buf, sizeof buf), (int)sizeof b);
	assert_memory_equal(buf, b, sizeof b);
	assert_int_equal(recv_one(&l, buf, sizeof buf), (int)sizeof d);
	assert_memory_equal(buf, d, sizeof d);
	assert_int_equal(l.s.base.ops->recv(&l.s.base, buf, sizeof buf), SNC_ERR_EMPTY);
	snc_serial_stats(&l.s, &st);
	assert_int_equal(st.frames_in, 3);
	/* 0x12 (runt), the abort, 01 02 03 after b (CRC), c (CRC). */
	assert_true(st.damaged >= 3);
	assert_true(st.discarded > 0);
	line_close(&l);
}

/* A line that stops taking octets: bounded waits, partial frames finished,
 * whole frames dropped and counted. */
static void test_partial_writes(void **state)
{
	struct snc_serial_config cfg = { .tty = { .baud = 921600 }, .stall_ms = 1 };
	static uint8_t big[30000], wire[2 * sizeof big], got[2 * sizeof big];
	static const uint8_t small[] = { 0x02, 0x17 };
	struct mqttsn_serial_decoder dec;
	struct mqttsn_bytes frame;
	struct snc_serial_stats st;
	size_t n, pos = 0, frames = 0, total = 0;
	uint8_t rx[sizeof big + 2], buf[16];
	struct line l;

	(void)state;
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	big[0] = 0x01;
	big[1] = (uint8_t)(sizeof big >> 8);
	big[2] = (uint8_t)(sizeof big & 0xFF);
	line_open(&l, &cfg);
	n = encode(big, sizeof big, wire, sizeof wire);
	/* More than the pty holds while nobody reads: the line takes part of it,
	 * the rest waits in the transport, and send() reports it sent. */
	assert_int_equal(l.s.base.ops->send(&l.s.base, big, sizeof big, false), SNC_OK);
	assert_true(l.s.out_len > 0 && l.s.out_len < n);
	/* The next frame finds the line still full: dropped whole, counted. */
	assert_int_equal(l.s.base.ops->send(&l.s.base, small, sizeof small, false), SNC_ERR_IO);
	assert_non_null(strstr(l.s.base.err, "dropped"));
	snc_serial_stats(&l.s, &st);
	assert_int_equal(st.out_drops, 1);
	assert_int_equal(st.frames_out, 1);
	/* The reader comes back: recv() hands the line the rest as it drains. */
	for (int round = 0; round < 1000 && total < n; round++) {
		total += take(&l, got + total, sizeof got - total, 1, 20);
		assert_int_equal(l.s.base.ops->recv(&l.s.base, buf, sizeof buf), SNC_ERR_EMPTY);
	}
	assert_int_equal(total, n);
	assert_int_equal(l.s.out_len, 0);
	/* What went over the line is the big frame, once, and nothing else. */
	assert_int_equal(mqttsn_serial_decoder_init(&dec, rx, sizeof rx), MQTTSN_OK);
	while (pos < total) {
		pos += mqttsn_serial_feed(&dec, got + pos, total - pos, &frame);
		if (frame.ptr != NULL) {
			assert_int_equal(frame.len, sizeof big);
			assert_memory_equal(frame.ptr, big, sizeof big);
			frames++;
		}
	}
	assert_int_equal(frames, 1);
	assert_int_equal(dec.stats.crc_errors, 0);
	/* And the line works on. */
	assert_int_equal(l.s.base.ops->send(&l.s.base, small, sizeof small, false), SNC_OK);
	assert_int_equal(take(&l, got, sizeof got, 6, 1000), 6);
	assert_memory_equal(got, "\x7E\x02\x17\xC9\x58\x7E", 6);
	line_close(&l);
}

static void test_hangup(void **state)
{
	struct snc_serial_config cfg = framed();
	struct line l;
	uint8_t buf[16];

	(void)state;
	line_open(&l, &cfg);
	close(l.slave);
	close(l.master);
	l.slave = l.master = -1;
	assert_int_equal(recv_one(&l, buf, sizeof buf), SNC_ERR_IO);
	assert_non_null(strstr(l.s.base.err, "hung up"));
	assert_int_equal(l.s.base.ops->send(&l.s.base, (const uint8_t *)"\x02\x17", 2, false),
	                 SNC_ERR_IO);
	line_close(&l);
}

/* ---------------------------------------------------------------- raw */

static void test_raw(void **state)
{
	static const uint8_t connack[] = { 0x03, 0x05, 0x00 };
	static const uint8_t regack[] = { 0x07, 0x0B, 0x00, 0x01, 0x00, 0x02, 0x00 };
	struct snc_serial_config cfg = framed();
	uint8_t big[300], buf[512], got[16];
	struct snc_serial_stats st;
	struct line l;

	(void)state;
	cfg.raw = true;
	line_open(&l, &cfg);
	/* Out: the message's own octets, nothing around them. */
	assert_int_equal(l.s.base.ops->send(&l.s.base, regack, sizeof regack, false), SNC_OK);
	assert_int_equal(take(&l, got, sizeof got, sizeof regack, 1000), sizeof regack);
	assert_memory_equal(got, regack, sizeof regack);
	/* In: messages back to back, a 3-octet length among them. */
	memset(big, 0, sizeof big);
	big[0] = 0x01;
	big[1] = 0x01;
	big[2] = 0x2C;
	big[3] = 0x0C; /* PUBLISH, QoS 0, normal topic id 1, msg id 0 */
	big[5] = 0x00;
	big[6] = 0x01;
	put(&l, connack, sizeof connack);
	put(&l, big, sizeof big);
	put(&l, regack, sizeof regack);
	assert_int_equal(recv_one(&l, buf, sizeof buf), (int)sizeof connack);
	assert_memory_equal(buf, connack, sizeof connack);
	assert_int_equal(recv_one(&l, buf, sizeof buf), (int)sizeof big);
	assert_memory_equal(buf, big, sizeof big);
	assert_int_equal(recv_one(&l, buf, sizeof buf), (int)sizeof regack);
	assert_memory_equal(buf, regack, sizeof regack);
	/* A stray octet before a message: dropped to find it. */
	put(&l, "\x00", 1);
	put(&l, connack, sizeof connack);
	assert_int_equal(recv_one(&l, buf, sizeof buf), (int)sizeof connack);
	snc_serial_stats(&l.s, &st);
	assert_int_equal(st.frames_in, 4);
	assert_true(st.discarded >= 1);
	line_close(&l);
}

/* ---------------------------------------------------------------- opening */

static void test_open_errors(void **state)
{
	struct snc_serial_config cfg = framed();
	struct snc_serial s;
	char err[256];

	(void)state;
	assert_int_equal(snc_serial_open(&s, "/dev/no-such-tty-here", &cfg, err, sizeof err),
	                 SNC_ERR_IO);
	assert_non_null(strstr(err, "/dev/no-such-tty-here: No such file or directory"));
	assert_int_equal(snc_serial_open(&s, "/dev/null", &cfg, err, sizeof err), SNC_ERR_IO);
	assert_non_null(strstr(err, "/dev/null: not a terminal"));
	cfg.tty.baud = 12345;
	assert_int_equal(snc_serial_open(&s, "/dev/null", &cfg, err, sizeof err), SNC_ERR_INVALID);
	assert_non_null(strstr(err, "12345 baud"));
	assert_true(snc_tty_baud_ok(9600));
	assert_true(snc_tty_baud_ok(115200));
	assert_false(snc_tty_baud_ok(0));
	assert_false(snc_tty_baud_ok(9601));
}

static void test_rtscts_and_baud(void **state)
{
	struct snc_serial_config cfg = { .tty = { .baud = 57600, .rtscts = true } };
	struct termios tio;
	struct line l;

	(void)state;
	line_open(&l, &cfg);
	assert_int_equal(tcgetattr(l.s.fd, &tio), 0);
	assert_true((tio.c_cflag & CRTSCTS) != 0);
	assert_true((tio.c_cflag & CSIZE) == CS8);
	assert_true((tio.c_cflag & (PARENB | CSTOPB)) == 0);
	assert_true((tio.c_cflag & CLOCAL) != 0);
	assert_true((tio.c_lflag & (ICANON | ECHO)) == 0);
	assert_int_equal(cfgetospeed(&tio), B57600);
	assert_int_equal(cfgetispeed(&tio), B57600);
	line_close(&l);
}

/* ---------------------------------------------------------------- tport */

static void test_tport_options(void **state)
{
	struct snc_tport_opts o;
	struct snc_tport tp;
	char err[256];

	(void)state;
	snc_tport_defaults(&o);
	assert_int_equal(o.baud, 9600);
	assert_int_equal(snc_tport_option(&o, 'x', NULL, err, sizeof err), 0);
	assert_int_equal(snc_tport_option(&o, SNC_TPORT_OPT_BAUD, "1234", err, sizeof err), -1);
	assert_non_null(strstr(err, "--baud"));
	assert_int_equal(snc_tport_option(&o, SNC_TPORT_OPT_BAUD, "19200", err, sizeof err), 1);
	assert_int_equal(o.baud, 19200);
	/* Serial options without --serial, and --serial with -h: refused. */
	assert_int_equal(snc_tport_check(&o, err, sizeof err), SNC_ERR_INVALID);
	assert_int_equal(snc_tport_option(&o, SNC_TPORT_OPT_SERIAL, "/dev/x", err, sizeof err), 1);
	assert_int_equal(snc_tport_option(&o, SNC_TPORT_OPT_RTSCTS, NULL, err, sizeof err), 1);
	assert_int_equal(snc_tport_option(&o, SNC_TPORT_OPT_SERIAL_RAW, NULL, err, sizeof err), 1);
	assert_int_equal(snc_tport_check(&o, err, sizeof err), SNC_OK);
	o.host = "127.0.0.1";
	assert_int_equal(snc_tport_check(&o, err, sizeof err), SNC_ERR_INVALID);
	/* Opening names the device; a failed open leaves nothing to close. */
	o.host = NULL;
	o.serial = "/dev/no-such-tty-here";
	assert_int_equal(snc_tport_open(&tp, &o, err, sizeof err), SNC_ERR_IO);
	assert_null(tp.t);
	snc_tport_close(&tp);
	/* UDP by default. */
	snc_tport_defaults(&o);
	assert_int_equal(snc_tport_open(&tp, &o, err, sizeof err), SNC_OK);
	assert_ptr_equal(tp.t, &tp.u.udp.base);
	snc_tport_close(&tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_out),
		cmocka_unit_test(test_frames_in),
		cmocka_unit_test(test_garbage_and_damage),
		cmocka_unit_test(test_partial_writes),
		cmocka_unit_test(test_hangup),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_rtscts_and_baud),
		cmocka_unit_test(test_tport_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
