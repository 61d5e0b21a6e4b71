/*
 * test_snc_blocking.c - the blocking API (sn-client/blocking.h) over a
 * scripted in-memory transport: the "gateway" answers inside send(), and a
 * pipe makes poll() see the answer, so the loop is exercised for real
 * without a socket. Waits end on answers, not on sleeps; only the timeout
 * and gateway-gone cases spend (a few tens of) real milliseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec/mqttsn.h"
#include "sn-client/blocking.h"
#include "sn-client/clock.h"

#define QMAX 16

struct fake {
	struct snc_transport base;
	int pipefd[2];
	uint8_t q[QMAX][256];
	size_t qlen[QMAX];
	size_t head, tail;
	bool silent;            /* answer nothing */
	uint8_t connack_rc;
	uint8_t puback_rc;
	bool push_message;      /* after a SUBACK, publish "hello" on topic 9 */
	bool recv_fails;
	int sent;
};

static void enqueue(struct fake *f, const struct mqttsn_msg *m)
{
	int n = mqttsn_encode(f->q[f->tail % QMAX], sizeof f->q[0], m);

	assert_true(n > 0);
	f->qlen[f->tail % QMAX] = (size_t)n;
	f->tail++;
	assert_int_equal(write(f->pipefd[1], "x", 1), 1);
}

static int fake_send(struct snc_transport *t, const uint8_t *buf, size_t len, bool broadcast)
{
	struct fake *f = (struct fake *)t;
	struct mqttsn_msg in, out;

	(void)broadcast;
	f->sent++;
	assert_int_equal(mqttsn_decode(buf, len, &in), MQTTSN_OK);
	if (f->silent)
		return SNC_OK;
	memset(&out, 0, sizeof out);
	switch (in.type) {
	case MQTTSN_CONNECT:
		out.type = MQTTSN_CONNACK;
		out.u.rc = f->connack_rc;
		break;
	case MQTTSN_PUBLISH:
		if (in.u.publish.flags.qos <= 0)
			return SNC_OK;
		out.type = MQTTSN_PUBACK;
		out.u.puback.topic_id = in.u.publish.topic_id;
		out.u.puback.msg_id = in.u.publish.msg_id;
		out.u.puback.rc = f->puback_rc;
		break;
	case MQTTSN_SUBSCRIBE:
		out.type = MQTTSN_SUBACK;
		out.u.suback.flags.qos = 1;
		out.u.suback.topic_id = 9;
		out.u.suback.msg_id = in.u.subscribe.msg_id;
		enqueue(f, &out);
		if (f->push_message) {
			memset(&out, 0, sizeof out);
			out.type = MQTTSN_PUBLISH;
			out.u.publish.topic_id = 9;
			out.u.publish.data.ptr = (const uint8_t *)"hello";
			out.u.publish.data.len = 5;
			enqueue(f, &out);
		}
		return SNC_OK;
	case MQTTSN_UNSUBSCRIBE:
		out.type = MQTTSN_UNSUBACK;
		out.u.msg_id = in.u.subscribe.msg_id;
		break;
	case MQTTSN_DISCONNECT:
		out.type = MQTTSN_DISCONNECT;
		break;
	default:
		return SNC_OK;
	}
	enqueue(f, &out);
	return SNC_OK;
}

static int fake_recv(struct snc_transport *t, uint8_t *buf, size_t cap)
{
	struct fake *f = (struct fake *)t;
	char ch;
	size_t n;

	if (f->recv_fails) {
		snprintf(t->err, sizeof t->err, "recv: the wire is cut");
		return SNC_ERR_IO;
	}
	if (read(f->pipefd[0], &ch, 1) != 1)
		return SNC_ERR_EMPTY;
	assert_true(f->head < f->tail);
	n = f->qlen[f->head % QMAX];
	assert_true(n <= cap);
	memcpy(buf, f->q[f->head % QMAX], n);
	f->head++;
	return (int)n;
}

static int fake_fd(const struct snc_transport *t)
{
	return ((const struct fake *)t)->pipefd[0];
}

static void fake_close(struct snc_transport *t)
{
	struct fake *f = (struct fake *)t;

	close(f->pipefd[0]);
	close(f->pipefd[1]);
}

static const struct snc_transport_ops fake_ops = { fake_send, fake_recv, fake_fd, fake_close, NULL, NULL };

struct fixture {
	struct fake f;
	struct snc_blocking *b;
	int messages;
	int traced_in, traced_out;
};

static void on_event(void *arg, const struct snc_event *ev)
{
	struct fixture *x = arg;

	if (ev->type == SNC_EV_MESSAGE) {
		assert_int_equal(ev->len, 5);
		assert_memory_equal(ev->payload, "hello", 5);
		x->messages++;
		snc_blocking_stop(x->b);
	}
}

static void on_trace(void *arg, bool out, const uint8_t *buf, size_t len)
{
	struct fixture *x = arg;

	(void)buf;
	assert_true(len >= 2);
	if (out)
		x->traced_out++;
	else
		x->traced_in++;
}

static struct fixture *setup_with(const struct snc_config *cfg)
{
	struct fixture *x = calloc(1, sizeof *x);

	assert_non_null(x);
	x->f.base.ops = &fake_ops;
	assert_int_equal(pipe(x->f.pipefd), 0);
	fcntl(x->f.pipefd[0], F_SETFL, O_NONBLOCK);
	x->b = snc_blocking_new(cfg, &x->f.base);
	assert_non_null(x->b);
	snc_blocking_on_event(x->b, on_event, x);
	snc_blocking_trace(x->b, on_trace, x);
	return x;
}

static struct fixture *setup_default(void)
{
	struct snc_config cfg;

	snc_config_defaults(&cfg);
	cfg.client_id = "blocking";
	return setup_with(&cfg);
}

static void teardown_x(struct fixture *x)
{
	snc_blocking_free(x->b);
	x->f.base.ops->close(&x->f.base);
	free(x);
}

/* ---------------------------------------------------------------- tests */

static void test_connect_publish_disconnect(void **state)
{
	struct fixture *x = setup_default();
	struct snc_message m;

	(void)state;
	assert_int_equal(snc_connect(x->b, 2000), SNC_OK);
	assert_int_equal(snc_state(snc_blocking_core(x->b)), SNC_STATE_ACTIVE);
	memset(&m, 0, sizeof m);
	m.topic.kind = SNC_TOPIC_PREDEFINED;
	m.topic.id = 7;
	m.qos = 1;
	m.payload = (const uint8_t *)"21.5";
	m.len = 4;
	assert_int_equal(snc_publish(x->b, &m, 2000), SNC_OK);
	/* QoS 0 finishes inside the call that starts it. */
	m.qos = 0;
	assert_int_equal(snc_publish(x->b, &m, 2000), SNC_OK);
	/* A refusal carries the gateway's code. */
	x->f.puback_rc = MQTTSN_RC_INVALID_TOPIC_ID;
	m.qos = 1;
	assert_int_equal(snc_publish(x->b, &m, 2000), SNC_ERR_REFUSED);
	assert_int_equal(snc_blocking_rc(x->b), MQTTSN_RC_INVALID_TOPIC_ID);
	assert_int_equal(snc_disconnect(x->b, 2000), SNC_OK);
	assert_int_equal(snc_state(snc_blocking_core(x->b)), SNC_STATE_DISCONNECTED);
	assert_true(x->traced_out >= 5);
	assert_true(x->traced_in >= 4);
	teardown_x(x);
}

static void test_connect_refused(void **state)
{
	struct fixture *x = setup_default();

	(void)state;
	x->f.connack_rc = MQTTSN_RC_NOT_SUPPORTED;
	assert_int_equal(snc_connect(x->b, 2000), SNC_ERR_REFUSED);
	assert_int_equal(snc_blocking_rc(x->b), MQTTSN_RC_NOT_SUPPORTED);
	teardown_x(x);
}

static void test_timeout(void **state)
{
	struct fixture *x = setup_default();

	(void)state;
	x->f.silent = true;
	assert_int_equal(snc_connect(x->b, 30), SNC_ERR_TIMEOUT);
	assert_int_equal(snc_state(snc_blocking_core(x->b)), SNC_STATE_CONNECTING);
	assert_int_equal(snc_wait(x->b, 0), SNC_ERR_TIMEOUT);
	teardown_x(x);
}

static void test_gateway_gone(void **state)
{
	struct snc_config cfg;
	struct fixture *x;

	(void)state;
	snc_config_defaults(&cfg);
	cfg.client_id = "blocking";
	cfg.retry_initial_ms = 5;
	cfg.retry_min_ms = 5;
	cfg.retry_max_ms = 10;
	cfg.retry_count = 2;
	cfg.connect_retry_count = 2;
	x = setup_with(&cfg);
	x->f.silent = true;
	assert_int_equal(snc_connect(x->b, 5000), SNC_ERR_GONE);
	assert_int_equal(x->f.sent, 3);
	assert_int_equal(snc_wait(x->b, 1000), SNC_ERR_GONE);
	teardown_x(x);
}

static void test_subscribe_and_wait(void **state)
{
	struct fixture *x = setup_default();
	struct snc_topic t = { SNC_TOPIC_NAME, "a/b", 3, 0 };
	int granted = -5;

	(void)state;
	x->f.push_message = true;
	assert_int_equal(snc_connect(x->b, 2000), SNC_OK);
	assert_int_equal(snc_subscribe(x->b, &t, 1, &granted, 2000), SNC_OK);
	assert_int_equal(granted, 1);
	/* The message came with the SUBACK; the callback stops the wait. */
	assert_int_equal(snc_wait(x->b, 2000), SNC_OK);
	assert_int_equal(x->messages, 1);
	assert_int_equal(snc_unsubscribe(x->b, &t, 2000), SNC_OK);
	assert_int_equal(snc_wait(x->b, 10), SNC_ERR_TIMEOUT);
	teardown_x(x);
}

static void test_transport_error(void **state)
{
	struct fixture *x = setup_default();

	(void)state;
	x->f.recv_fails = true;
	assert_int_equal(snc_connect(x->b, 2000), SNC_ERR_IO);
	assert_string_equal(snc_blocking_errmsg(x->b), "recv: the wire is cut");
	teardown_x(x);
}

static void test_state_errors(void **state)
{
	struct fixture *x = setup_default();

	(void)state;
	assert_int_equal(snc_disconnect(x->b, 10), SNC_ERR_STATE);
	assert_int_equal(snc_sleep(x->b, 60, 10), SNC_ERR_STATE);
	teardown_x(x);
}

static void test_wait_fd(void **state)
{
	struct fixture *x = setup_default();
	struct snc_topic t = { SNC_TOPIC_NAME, "a/b", 3, 0 };
	int in[2];

	(void)state;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(snc_connect(x->b, 2000), SNC_OK);
	/* Nothing to read: the loop runs until the time is up. */
	assert_int_equal(snc_wait_fd(x->b, in[0], 20), SNC_ERR_TIMEOUT);
	assert_int_equal(write(in[1], "line\n", 5), 5);
	assert_int_equal(snc_wait_fd(x->b, in[0], 2000), SNC_OK);
	/* Messages from the gateway are delivered while the program waits for
	 * its input; a callback's stop ends the wait. */
	x->f.push_message = true;
	assert_int_equal(snc_subscribe(x->b, &t, 1, NULL, 2000), SNC_OK);
	{
		char buf[8];

		assert_int_equal(read(in[0], buf, sizeof buf), 5);
	}
	assert_int_equal(snc_wait_fd(x->b, in[0], 2000), SNC_ERR_INTERRUPTED);
	assert_int_equal(x->messages, 1);
	/* The end of the input counts as ready: read() then says 0. */
	close(in[1]);
	assert_int_equal(snc_wait_fd(x->b, in[0], 2000), SNC_OK);
	close(in[0]);
	teardown_x(x);
}

/* Turns of snc_blocking_poll() until the core is in state `want`; false after 2 s. */
static bool poll_until(struct fixture *x, enum snc_state want)
{
	for (int i = 0; i < 2000; i++) {
		if (snc_state(snc_blocking_core(x->b)) == want)
			return true;
		assert_int_equal(snc_blocking_poll(x->b, -1, 1, NULL), SNC_OK);
	}
	return snc_state(snc_blocking_core(x->b)) == want;
}

static void test_poll_turns(void **state)
{
	struct snc_config cfg;
	struct fixture *x;
	struct snc *c;
	volatile sig_atomic_t flag = 0;
	bool ready = true;
	int in[2];

	(void)state;
	snc_config_defaults(&cfg);
	cfg.client_id = "blocking";
	cfg.retry_initial_ms = 5;
	cfg.retry_min_ms = 5;
	cfg.retry_max_ms = 10;
	cfg.retry_count = 1;
	cfg.connect_retry_count = 1;
	x = setup_with(&cfg);
	c = snc_blocking_core(x->b);
	assert_int_equal(pipe(in), 0);

	/* The program connects on the core; the turns carry it through. */
	assert_int_equal(snc_connect_start(c, snc_clock_mono_ms()), SNC_OK);
	assert_true(poll_until(x, SNC_STATE_ACTIVE));

	/* A turn reports its fd: not ready (timeout 0 does not wait), then ready. */
	assert_int_equal(snc_blocking_poll(x->b, in[0], 0, &ready), SNC_OK);
	assert_false(ready);
	assert_int_equal(write(in[1], "x", 1), 1);
	assert_int_equal(snc_blocking_poll(x->b, in[0], 2000, &ready), SNC_OK);
	assert_true(ready);

	/* The gateway goes silent: the core declares it lost (a ping unanswered
	 * with keep-alive, or here a publish), and the program connects again. */
	x->f.silent = true;
	{
		struct snc_message m;
		uint32_t token;

		memset(&m, 0, sizeof m);
		m.topic.kind = SNC_TOPIC_PREDEFINED;
		m.topic.id = 7;
		m.qos = 1;
		assert_int_equal(snc_publish_start(c, &m, &token, snc_clock_mono_ms()), SNC_OK);
	}
	assert_true(poll_until(x, SNC_STATE_LOST));
	x->f.silent = false;
	assert_int_equal(snc_connect_start(c, snc_clock_mono_ms()), SNC_OK);
	assert_true(poll_until(x, SNC_STATE_ACTIVE));
	/* The blocking calls do not hold the old loss against the new connection. */
	assert_int_equal(snc_wait(x->b, 5), SNC_ERR_TIMEOUT);
	assert_int_equal(snc_disconnect(x->b, 2000), SNC_OK);

	/* A signal's flag ends the turn. */
	snc_blocking_interrupt(x->b, &flag);
	flag = 1;
	assert_int_equal(snc_blocking_poll(x->b, in[0], 2000, &ready), SNC_ERR_INTERRUPTED);
	assert_false(ready);
	close(in[0]);
	close(in[1]);
	teardown_x(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_publish_disconnect),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_gateway_gone),
		cmocka_unit_test(test_subscribe_and_wait),
		cmocka_unit_test(test_transport_error),
		cmocka_unit_test(test_state_errors),
		cmocka_unit_test(test_wait_fd),
		cmocka_unit_test(test_poll_turns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
