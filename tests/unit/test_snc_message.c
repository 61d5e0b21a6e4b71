/*
 * test_snc_message.c - a message's checks and its stored form (sn-client/message.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sn-client/message.h"

#define NAME(s) { SNC_TOPIC_NAME, s, sizeof(s) - 1, 0 }
#define SHORT(s) { SNC_TOPIC_SHORT, s, sizeof(s) - 1, 0 }
#define PREDEF(i) { SNC_TOPIC_PREDEFINED, NULL, 0, i }

struct topic_case {
	struct snc_topic t;
	bool filter;
	int want;
};

static const struct topic_case topic_cases[] = {
	{ NAME("a/b"), false, SNC_OK },
	{ NAME("a/+"), false, SNC_ERR_INVALID },
	{ NAME("a/+"), true, SNC_OK },
	{ NAME("#"), true, SNC_OK },
	{ NAME("a/#/b"), true, SNC_ERR_INVALID },
	{ NAME(""), false, SNC_ERR_INVALID },
	{ NAME("a\0b"), false, SNC_ERR_INVALID },
	{ SHORT("ab"), false, SNC_OK },
	{ SHORT("ab"), true, SNC_OK },
	{ SHORT("a"), false, SNC_ERR_INVALID },
	{ SHORT("abc"), false, SNC_ERR_INVALID },
	{ SHORT("a+"), false, SNC_ERR_INVALID },
	{ PREDEF(1), false, SNC_OK },
	{ PREDEF(0xFFFE), true, SNC_OK },
	{ PREDEF(0), false, SNC_ERR_INVALID },
	{ PREDEF(0xFFFF), false, SNC_ERR_INVALID },
	{ { (enum snc_topic_kind)3, "ab", 2, 0 }, false, SNC_ERR_INVALID },
};

static void test_topic_check(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof topic_cases / sizeof topic_cases[0]; i++) {
		int got = snc_topic_check(&topic_cases[i].t, topic_cases[i].filter);

		if (got != topic_cases[i].want) {
			print_error("row %zu: got %d, want %d\n", i, got, topic_cases[i].want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_message_check(void **state)
{
	struct snc_message m = { .topic = NAME("t"), .qos = 1, .payload = (const uint8_t *)"x", .len = 1 };
	struct snc_message c;

	(void)state;
	assert_int_equal(snc_message_check(&m), SNC_OK);
	c = m;
	c.qos = 3;
	assert_int_equal(snc_message_check(&c), SNC_ERR_INVALID);
	c = m;
	c.qos = -2;
	assert_int_equal(snc_message_check(&c), SNC_ERR_INVALID);
	/* 6.8: QoS -1 only on a predefined id or a short name. */
	c = m;
	c.qos = -1;
	assert_int_equal(snc_message_check(&c), SNC_ERR_INVALID);
	c.topic = (struct snc_topic)PREDEF(5);
	assert_int_equal(snc_message_check(&c), SNC_OK);
	c.topic = (struct snc_topic)SHORT("ab");
	assert_int_equal(snc_message_check(&c), SNC_OK);
	c = m;
	c.priority = SNC_PRIO_LEVELS;
	assert_int_equal(snc_message_check(&c), SNC_ERR_INVALID);
	c = m;
	c.payload = NULL;
	assert_int_equal(snc_message_check(&c), SNC_ERR_INVALID);
	c.len = 0;
	assert_int_equal(snc_message_check(&c), SNC_OK);
	c = m;
	c.len = SNC_PAYLOAD_MAX + 1;
	assert_int_equal(snc_message_check(&c), SNC_ERR_TOO_BIG);
}

static void roundtrip(const struct snc_message *m)
{
	uint8_t buf[256];
	struct snc_message out;
	size_t n = snc_message_stored_size(m);

	assert_true(n <= sizeof buf);
	assert_int_equal(snc_message_store(buf, n - 1, m), SNC_ERR_FULL);
	assert_int_equal(snc_message_store(buf, sizeof buf, m), (int)n);
	memset(&out, 0xAA, sizeof out);
	assert_int_equal(snc_message_load(buf, n, &out), SNC_OK);
	assert_int_equal(out.topic.kind, m->topic.kind);
	if (m->topic.kind == SNC_TOPIC_PREDEFINED) {
		assert_int_equal(out.topic.id, m->topic.id);
	} else {
		assert_int_equal(out.topic.len, m->topic.len);
		assert_memory_equal(out.topic.name, m->topic.name, m->topic.len);
	}
	assert_int_equal(out.qos, m->qos);
	assert_int_equal(out.retain, m->retain);
	assert_int_equal(out.priority, m->priority);
	assert_int_equal(out.ttl_s, m->ttl_s);
	assert_true(out.enqueued_ms == m->enqueued_ms);
	assert_int_equal(out.len, m->len);
	if (m->len > 0)
		assert_memory_equal(out.payload, m->payload, m->len);
	/* Every shorter prefix is refused, never misread. */
	for (size_t cut = 0; cut < 20 + (m->topic.kind == SNC_TOPIC_PREDEFINED ? 0 : m->topic.len); cut++)
		assert_int_equal(snc_message_load(buf, cut, &out), SNC_ERR_CORRUPT);
}

static void test_stored_form(void **state)
{
	struct snc_message a = {
		.topic = NAME("station/7/temp"), .qos = 2, .retain = true,
		.payload = (const uint8_t *)"21.5", .len = 4, .priority = SNC_PRIO_ALARM,
		.ttl_s = 3600, .enqueued_ms = 0x0123456789ABCDEFu,
	};
	struct snc_message b = { .topic = PREDEF(0x1234), .qos = -1, .len = 0 };
	struct snc_message c = { .topic = SHORT("tp"), .qos = 0, .payload = (const uint8_t *)"\0\1", .len = 2 };

	(void)state;
	roundtrip(&a);
	roundtrip(&b);
	roundtrip(&c);
}

static void test_load_rejects(void **state)
{
	uint8_t buf[64];
	struct snc_message m = { .topic = NAME("t"), .qos = 1 }, out;
	int n;

	(void)state;
	n = snc_message_store(buf, sizeof buf, &m);
	assert_true(n > 0);
	buf[0] = 9; /* unknown layout */
	assert_int_equal(snc_message_load(buf, (size_t)n, &out), SNC_ERR_CORRUPT);
	buf[0] = 1;
	buf[2] = 7; /* qos 7 */
	assert_int_equal(snc_message_load(buf, (size_t)n, &out), SNC_ERR_CORRUPT);
	buf[2] = 1;
	buf[19] = 200; /* name longer than the record */
	assert_int_equal(snc_message_load(buf, (size_t)n, &out), SNC_ERR_CORRUPT);
}

static void test_strerror(void **state)
{
	(void)state;
	for (int e = 0; e >= -20; e--)
		assert_non_null(snc_strerror(e));
	assert_string_equal(snc_strerror(SNC_ERR_FULL), "limit reached: full");
	assert_string_equal(snc_strerror(12345), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_check),
		cmocka_unit_test(test_message_check),
		cmocka_unit_test(test_stored_form),
		cmocka_unit_test(test_load_rejects),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
