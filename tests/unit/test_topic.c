/*
 * test_topic.c - topic name/filter validation and matching (MQTT 3.1.1, 4.7).
 *
 * Table-driven: every row is checked and every failing row is printed before
 * the test fails, so one run shows all the disagreements at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/topic.h"

/* A topic given as a string literal, which may contain NULs. */
#define T(s) s, sizeof(s) - 1

struct check_case {
	const char *s;
	size_t len;
	int want;
};

struct match_case {
	const char *filter;
	size_t flen;
	const char *name;
	size_t nlen;
	bool want;
};

/* ---------------------------------------------------------------- names */

static const struct check_case name_cases[] = {
	{ T("a"), MQTTSN_OK },
	{ T("a/b/c"), MQTTSN_OK },
	{ T("/"), MQTTSN_OK },
	{ T("//"), MQTTSN_OK },
	{ T("/a"), MQTTSN_OK },
	{ T("a/"), MQTTSN_OK },
	{ T(" "), MQTTSN_OK },
	{ T("$SYS/broker/load"), MQTTSN_OK },
	{ T("sport/tennis/player1"), MQTTSN_OK },
	{ T("caf\xc3\xa9/\xe2\x82\xac"), MQTTSN_OK },   /* UTF-8 is fine */
	{ T("a$b"), MQTTSN_OK },
	{ T(""), MQTTSN_ERR_TOPIC_EMPTY },
	{ T("+"), MQTTSN_ERR_TOPIC_WILDCARD },
	{ T("#"), MQTTSN_ERR_TOPIC_WILDCARD },
	{ T("a/+"), MQTTSN_ERR_TOPIC_WILDCARD },
	{ T("a/#"), MQTTSN_ERR_TOPIC_WILDCARD },
	{ T("a+b"), MQTTSN_ERR_TOPIC_WILDCARD },
	{ T("a#b"), MQTTSN_ERR_TOPIC_WILDCARD },
	{ T("sport/+/player1"), MQTTSN_ERR_TOPIC_WILDCARD },
	{ T("\0"), MQTTSN_ERR_TOPIC_NUL },
	{ T("a\0b"), MQTTSN_ERR_TOPIC_NUL },
	{ T("a/b\0"), MQTTSN_ERR_TOPIC_NUL },
};

static void test_name_check(void **state)
{
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct check_case *c = &name_cases[i];
		int got = mqttsn_topic_name_check(c->s, c->len);

		if (got != c->want) {
			print_error("name row %zu (len %zu): got %d (%s), want %d (%s)\n", i,
			            c->len, got, mqttsn_strerror(got), c->want,
			            mqttsn_strerror(c->want));
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_name_check_null(void **state)
{
	(void)state;
	assert_int_equal(mqttsn_topic_name_check(NULL, 0), MQTTSN_ERR_TOPIC_EMPTY);
	assert_int_equal(mqttsn_topic_filter_check(NULL, 0), MQTTSN_ERR_TOPIC_EMPTY);
}

/* ---------------------------------------------------------------- filters */

static const struct check_case filter_cases[] = {
	{ T("a"), MQTTSN_OK },
	{ T("a/b/c"), MQTTSN_OK },
	{ T("/"), MQTTSN_OK },
	{ T("+"), MQTTSN_OK },
	{ T("#"), MQTTSN_OK },
	{ T("a/+/b"), MQTTSN_OK },
	{ T("+/x"), MQTTSN_OK },
	{ T("x/+"), MQTTSN_OK },
	{ T("+/+"), MQTTSN_OK },
	{ T("/+"), MQTTSN_OK },
	{ T("+/"), MQTTSN_OK },
	{ T("a/#"), MQTTSN_OK },
	{ T("/#"), MQTTSN_OK },
	{ T("+/#"), MQTTSN_OK },
	{ T("a/+/#"), MQTTSN_OK },
	{ T("$SYS/#"), MQTTSN_OK },
	{ T("a//b"), MQTTSN_OK },
	{ T(""), MQTTSN_ERR_TOPIC_EMPTY },
	{ T("a#"), MQTTSN_ERR_TOPIC_HASH },
	{ T("#a"), MQTTSN_ERR_TOPIC_HASH },
	{ T("a/#/b"), MQTTSN_ERR_TOPIC_HASH },
	{ T("#/"), MQTTSN_ERR_TOPIC_HASH },
	{ T("##"), MQTTSN_ERR_TOPIC_HASH },
	{ T("a/b#"), MQTTSN_ERR_TOPIC_HASH },
	{ T("#/#"), MQTTSN_ERR_TOPIC_HASH },
	{ T("a+/b"), MQTTSN_ERR_TOPIC_PLUS },
	{ T("+a"), MQTTSN_ERR_TOPIC_PLUS },
	{ T("a/+b"), MQTTSN_ERR_TOPIC_PLUS },
	{ T("a/b+"), MQTTSN_ERR_TOPIC_PLUS },
	{ T("++"), MQTTSN_ERR_TOPIC_PLUS },
	{ T("+#"), MQTTSN_ERR_TOPIC_PLUS },
	{ T("sport+"), MQTTSN_ERR_TOPIC_PLUS },
	{ T("\0"), MQTTSN_ERR_TOPIC_NUL },
	{ T("a/\0/b"), MQTTSN_ERR_TOPIC_NUL },
	{ T("+/\0"), MQTTSN_ERR_TOPIC_NUL },
};

static void test_filter_check(void **state)
{
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(filter_cases) / sizeof(filter_cases[0]); i++) {
		const struct check_case *c = &filter_cases[i];
		int got = mqttsn_topic_filter_check(c->s, c->len);

		if (got != c->want) {
			print_error("filter row %zu (len %zu): got %d (%s), want %d (%s)\n", i,
			            c->len, got, mqttsn_strerror(got), c->want,
			            mqttsn_strerror(c->want));
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Every valid name is also a valid filter (without wildcards). */
static void test_names_are_filters(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct check_case *c = &name_cases[i];

		if (c->want != MQTTSN_OK)
			continue;
		assert_int_equal(mqttsn_topic_filter_check(c->s, c->len), MQTTSN_OK);
		assert_false(mqttsn_topic_has_wildcard(c->s, c->len));
		assert_true(mqttsn_topic_matches(c->s, c->len, c->s, c->len));
	}
}

static void test_has_wildcard(void **state)
{
	(void)state;
	assert_true(mqttsn_topic_has_wildcard(T("+")));
	assert_true(mqttsn_topic_has_wildcard(T("#")));
	assert_true(mqttsn_topic_has_wildcard(T("a/+/b")));
	assert_true(mqttsn_topic_has_wildcard(T("a/#")));
	assert_false(mqttsn_topic_has_wildcard(T("a/b")));
	assert_false(mqttsn_topic_has_wildcard(T("$SYS")));
	assert_false(mqttsn_topic_has_wildcard(NULL, 0));
	/* Only the given length counts: the '#' after it is not part of the view. */
	assert_false(mqttsn_topic_has_wildcard("a/#", 2));
}

/* ---------------------------------------------------------------- matching */

static const struct match_case match_cases[] = {
	/* exact levels */
	{ T("a"), T("a"), true },
	{ T("a/b"), T("a/b"), true },
	{ T("a/b"), T("a/c"), false },
	{ T("a/b"), T("a"), false },
	{ T("a"), T("a/b"), false },
	{ T("a/b"), T("a/b/"), false },
	{ T("a/b/"), T("a/b"), false },
	{ T("a/b/"), T("a/b/"), true },
	{ T("/a"), T("a"), false },
	{ T("/a"), T("/a"), true },
	{ T("A/b"), T("a/b"), false },
	{ T("a/bc"), T("a/b"), false },
	{ T("a/b"), T("a/bc"), false },
	{ T("a//b"), T("a//b"), true },
	{ T("a//b"), T("a/b"), false },
	/* '+' : exactly one level, possibly empty */
	{ T("+"), T("a"), true },
	{ T("+"), T("a/b"), false },
	{ T("+"), T("/"), false },
	{ T("+/+"), T("/"), true },
	{ T("+/+"), T("a/"), true },
	{ T("+/+"), T("/b"), true },
	{ T("a/+"), T("a/"), true },
	{ T("a/+"), T("a/b"), true },
	{ T("a/+"), T("a"), false },
	{ T("a/+"), T("a/b/c"), false },
	{ T("a/+/c"), T("a/b/c"), true },
	{ T("a/+/c"), T("a//c"), true },
	{ T("a/+/c"), T("a/b/d"), false },
	{ T("/+"), T("/a"), true },
	{ T("/+"), T("a"), false },
	{ T("+/x"), T("a/x"), true },
	{ T("+/x"), T("/x"), true },
	{ T("x/+"), T("x/y/z"), false },
	{ T("+/+/+"), T("a/b"), false },
	/* '#' : parent and everything below */
	{ T("#"), T("a"), true },
	{ T("#"), T("a/b/c"), true },
	{ T("#"), T("/"), true },
	{ T("#"), T("/a"), true },
	{ T("a/#"), T("a"), true },
	{ T("a/#"), T("a/"), true },
	{ T("a/#"), T("a/b/c"), true },
	{ T("a/#"), T("ab"), false },
	{ T("a/#"), T("b/a"), false },
	{ T("a/b/#"), T("a"), false },
	{ T("a/b/#"), T("a/b"), true },
	{ T("/#"), T("/"), true },
	{ T("/#"), T("a"), false },
	{ T("+/#"), T("a"), true },
	{ T("+/#"), T("a/b/c"), true },
	{ T("a/+/#"), T("a/b"), true },
	{ T("a/+/#"), T("a"), false },
	/* '$' topics: out of reach of a leading wildcard */
	{ T("#"), T("$SYS"), false },
	{ T("#"), T("$SYS/x"), false },
	{ T("+/x"), T("$SYS/x"), false },
	{ T("+"), T("$SYS"), false },
	{ T("+/#"), T("$SYS/x"), false },
	{ T("$SYS/#"), T("$SYS/x"), true },
	{ T("$SYS/#"), T("$SYS"), true },
	{ T("$SYS/+"), T("$SYS/x"), true },
	{ T("$SYS/x"), T("$SYS/x"), true },
	{ T("a/#"), T("a/$x"), true },
	{ T("a/+"), T("a/$x"), true },
	{ T("#"), T("a$"), true },
	/* UTF-8 levels compared as octets */
	{ T("caf\xc3\xa9/+"), T("caf\xc3\xa9/x"), true },
	{ T("caf\xc3\xa9/+"), T("cafe/x"), false },
};

static void test_matches(void **state)
{
	size_t i, bad = 0, n = sizeof(match_cases) / sizeof(match_cases[0]);

	(void)state;
	assert_true(n >= 40);
	for (i = 0; i < n; i++) {
		const struct match_case *c = &match_cases[i];
		bool got;

		/* The table itself must only hold valid filters and names. */
		if (mqttsn_topic_filter_check(c->filter, c->flen) != MQTTSN_OK ||
		    mqttsn_topic_name_check(c->name, c->nlen) != MQTTSN_OK) {
			print_error("match row %zu: \"%s\" / \"%s\" is not a valid pair\n", i,
			            c->filter, c->name);
			bad++;
			continue;
		}
		got = mqttsn_topic_matches(c->filter, c->flen, c->name, c->nlen);
		if (got != c->want) {
			print_error("match row %zu: filter \"%s\" name \"%s\": got %d, want %d\n",
			            i, c->filter, c->name, got, c->want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Views are bounded by their length, never by a NUL or what follows. */
static void test_matches_respects_length(void **state)
{
	(void)state;
	assert_true(mqttsn_topic_matches("a/b", 1, "a/c", 1));
	assert_true(mqttsn_topic_matches("a/b", 3, "a/bc", 3));
	assert_false(mqttsn_topic_matches("a/+", 3, "a/b/c", 5));
	assert_true(mqttsn_topic_matches("a/+", 3, "a/b/c", 3));
	assert_false(mqttsn_topic_matches("a/#", 3, NULL, 0));
	assert_false(mqttsn_topic_matches(NULL, 0, "a", 1));
}

/* ---------------------------------------------------------------- long topics */

static void test_long_topics(void **state)
{
	size_t max = MQTTSN_TOPIC_MAX;
	char *buf = malloc(max + 1);
	char *flt = malloc(max + 1);
	size_t i;

	(void)state;
	assert_non_null(buf);
	assert_non_null(flt);

	/* 65535 octets of levels "x/x/.../x" (odd length ends with a level). */
	for (i = 0; i < max + 1; i++)
		buf[i] = (i % 2) ? '/' : 'x';
	assert_int_equal(mqttsn_topic_name_check(buf, max), MQTTSN_OK);
	assert_int_equal(mqttsn_topic_filter_check(buf, max), MQTTSN_OK);
	assert_int_equal(mqttsn_topic_name_check(buf, max + 1), MQTTSN_ERR_TOPIC_LONG);
	assert_int_equal(mqttsn_topic_filter_check(buf, max + 1), MQTTSN_ERR_TOPIC_LONG);
	assert_true(mqttsn_topic_matches(buf, max, buf, max));
	assert_true(mqttsn_topic_matches("#", 1, buf, max));
	assert_true(mqttsn_topic_matches("x/#", 3, buf, max));
	assert_false(mqttsn_topic_matches("x/+", 3, buf, max));
	/* One level shorter or longer does not match. */
	assert_false(mqttsn_topic_matches(buf, max - 2, buf, max));
	assert_false(mqttsn_topic_matches(buf, max, buf, max - 2));

	/* The same length as a filter of 32768 '+' levels matches 32768 levels. */
	for (i = 0; i < max; i++)
		flt[i] = (i % 2) ? '/' : '+';
	assert_int_equal(mqttsn_topic_filter_check(flt, max), MQTTSN_OK);
	assert_true(mqttsn_topic_has_wildcard(flt, max));
	assert_true(mqttsn_topic_matches(flt, max, buf, max));
	assert_false(mqttsn_topic_matches(flt, max, buf, max - 2));
	/* ... and 32768 empty levels: a name of 32767 slashes. */
	memset(buf, '/', max / 2);
	assert_true(mqttsn_topic_matches(flt, max, buf, max / 2));
	assert_false(mqttsn_topic_matches(flt, max, buf, max / 2 - 1));

	/* A long filter ending in '#' matches its parent, 65533 octets. */
	for (i = 0; i < max; i++)
		flt[i] = (i % 2) ? '/' : 'x';
	flt[max - 1] = '#';
	for (i = 0; i < max; i++)
		buf[i] = (i % 2) ? '/' : 'x';
	assert_int_equal(mqttsn_topic_filter_check(flt, max), MQTTSN_OK);
	assert_true(mqttsn_topic_matches(flt, max, buf, max - 2));
	assert_true(mqttsn_topic_matches(flt, max, buf, max));
	assert_false(mqttsn_topic_matches(flt, max, buf, max - 4));

	/* A 65536-octet filter with a misplaced '#' is reported as too long first. */
	memset(flt, '#', max + 1);
	assert_int_equal(mqttsn_topic_filter_check(flt, max + 1), MQTTSN_ERR_TOPIC_LONG);

	free(buf);
	free(flt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_name_check_null),
		cmocka_unit_test(test_filter_check),
		cmocka_unit_test(test_names_are_filters),
		cmocka_unit_test(test_has_wildcard),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_matches_respects_length),
		cmocka_unit_test(test_long_topics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
