/*
 * test_predefined.c - the predefined topics file (MQTT-SN 1.2, 6.7): lines
 * for every client and for one, the reserved ids 0x0000 and 0xFFFF,
 * duplicates, topics that are not topic names, comments, CRLF, long lines,
 * each error with its exact "file:line: ..." message.
 *
 * Table-driven: every row is checked and every failing row is printed
 * before the test fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bridge/predefined.h"

#define NAME "topics"

static int parse(const char *text, struct gw_predefined_file *out, char *err, size_t errlen)
{
	err[0] = '\0';
	/* fmemopen() refuses a size of 0. */
	FILE *f = fmemopen((void *)(uintptr_t)(text[0] != '\0' ? text : "\n"),
	                   text[0] != '\0' ? strlen(text) : 1, "r");
	assert_non_null(f);
	int rc = gw_predefined_parse(f, NAME, out, err, errlen);
	fclose(f);
	return rc;
}

/* ---------------------------------------------------------------- errors */

struct error_case {
	const char *text;
	const char *want;
};

static const struct error_case error_cases[] = {
	/* the reserved ids (5.3.11) and other numbers that are not ids */
	{"0 a/b\n", NAME ":1: topic id \"0\" is not a number from 1 to 65534"},
	{"65535 a/b\n", NAME ":1: topic id \"65535\" is not a number from 1 to 65534"},
	{"65536 a/b\n", NAME ":1: topic id \"65536\" is not a number from 1 to 65534"},
	{"0xFFFF a/b\n", NAME ":1: topic id \"0xFFFF\" is not a number from 1 to 65534"},
	{"-1 a/b\n", NAME ":1: topic id \"-1\" is not a number from 1 to 65534"},
	{"+1 a/b\n", NAME ":1: topic id \"+1\" is not a number from 1 to 65534"},
	{"1x a/b\n", NAME ":1: topic id \"1x\" is not a number from 1 to 65534"},
	{"99999999999999999999999 a/b\n",
	 NAME ":1: topic id \"99999999999999999999999\" is not a number from 1 to 65534"},
	{"st-1 0 a/b\n", NAME ":1: topic id \"0\" is not a number from 1 to 65534"},
	{"st-1 65535 a/b\n", NAME ":1: topic id \"65535\" is not a number from 1 to 65534"},
	{"a/b 1\n", NAME ":1: topic id \"a/b\" is not a number from 1 to 65534"},
	/* the shape of a line */
	{"1\n", NAME ":1: expected \"ID TOPIC\" or \"CLIENTID ID TOPIC\""},
	{"st-1 1 a/b extra\n", NAME ":1: expected \"ID TOPIC\" or \"CLIENTID ID TOPIC\""},
	{"1 #a/b\n", NAME ":1: expected \"ID TOPIC\" or \"CLIENTID ID TOPIC\""},
	/* topics that are not topic names */
	{"1 a/+\n", NAME ":1: topic \"a/+\": wildcard '+' or '#' in a topic name"},
	{"1 a/#\n", NAME ":1: topic \"a/#\": wildcard '+' or '#' in a topic name"},
	{"st-1 7 +\n", NAME ":1: topic \"+\": wildcard '+' or '#' in a topic name"},
	/* client ids */
	{"abcdefghijklmnopqrstuvwx 1 a/b\n",
	 NAME ":1: client id \"abcdefghijklmnopqrstuvwx\" longer than 23 characters"},
	/* duplicates */
	{"1 a/b\n1 c/d\n", NAME ":2: topic id 1 defined twice"},
	{"1 a/b\n1 a/b\n", NAME ":2: topic id 1 defined twice"},
	{"st-1 5 a/b\n# again\n\nst-1 5 c/d\n", NAME ":4: topic id 5 defined twice for client st-1"},
	/* line numbers count comments, blank lines and CRLF lines */
	{"# topics\r\n\r\n  \t\r\n1 ok/topic\r\n0 bad/id\r\n",
	 NAME ":5: topic id \"0\" is not a number from 1 to 65534"},
	{"1 a\n2 b\n3 c\n4 d\n5 e\n6 f\n7 g\n8 h\n9 i\n10 j\n11 +\n",
	 NAME ":11: topic \"+\": wildcard '+' or '#' in a topic name"},
};

static void test_errors(void **state)
{
	size_t bad = 0;
	(void)state;
	for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
		const struct error_case *c = &error_cases[i];
		struct gw_predefined_file file;
		char err[512];
		int rc = parse(c->text, &file, err, sizeof err);
		if (rc != -1 || strcmp(err, c->want) != 0 || file.n != 0 || file.entries != NULL) {
			print_error("error row %zu: rc %d, %zu entries left, message\n  got:  %s\n"
			            "  want: %s\n",
			            i, rc, file.n, err, c->want);
			bad++;
		}
		gw_predefined_file_free(&file);
	}
	assert_int_equal(bad, 0);
}

/* ---------------------------------------------------------------- accepted files */

struct entry {
	const char *client_id;
	uint16_t topic_id;
	const char *topic;
};

struct value_case {
	const char *text;
	size_t n;
	struct entry want[5];
};

static const struct value_case value_cases[] = {
	{"", 0, {{NULL, 0, NULL}}},
	{"# nothing but comments\n\n  # and blanks\n\t\n", 0, {{NULL, 0, NULL}}},
	{"1 a/b\n", 1, {{"", 1, "a/b"}}},
	{"1 a/b", 1, {{"", 1, "a/b"}}}, /* no newline at the end */
	{"65534 last\n", 1, {{"", 65534, "last"}}},
	{"00042 leading/zeros\n", 1, {{"", 42, "leading/zeros"}}},
	{"st-1 1 a/b\n", 1, {{"st-1", 1, "a/b"}}},
	{"abcdefghijklmnopqrstuvw 1 a/b\n", 1, {{"abcdefghijklmnopqrstuvw", 1, "a/b"}}},
	{"1 a/b\r\n2 c\r\n", 2, {{"", 1, "a/b"}, {"", 2, "c"}}},
	{"\t3\t\tx/y  \n", 1, {{"", 3, "x/y"}}},
	/* comments after the fields */
	{"1 a/b # the first\nst-1 2 c/d #second\n", 2, {{"", 1, "a/b"}, {"st-1", 2, "c/d"}}},
	/* the same id once for every client and once per client, and for two clients */
	{"1 all/clients\nst-1 1 just/st-1\nst-2 1 just/st-2\n",
	 3,
	 {{"", 1, "all/clients"}, {"st-1", 1, "just/st-1"}, {"st-2", 1, "just/st-2"}}},
	/* one topic under two ids */
	{"1 same\n2 same\n", 2, {{"", 1, "same"}, {"", 2, "same"}}},
	/* topic names MQTT allows, '$' and UTF-8 included */
	{"1 /\n2 $SYS/x\n3 caf\xc3\xa9\n", 3, {{"", 1, "/"}, {"", 2, "$SYS/x"}, {"", 3, "caf\xc3\xa9"}}},
};

static void test_values(void **state)
{
	size_t bad = 0;
	(void)state;
	for (size_t i = 0; i < sizeof value_cases / sizeof value_cases[0]; i++) {
		const struct value_case *c = &value_cases[i];
		struct gw_predefined_file file;
		char err[512];
		int rc = parse(c->text, &file, err, sizeof err);
		bool same = rc == 0 && file.n == c->n;
		for (size_t k = 0; same && k < c->n; k++) {
			const struct gw_predefined *e = &file.entries[k];
			same = strcmp(e->client_id, c->want[k].client_id) == 0 &&
			       e->topic_id == c->want[k].topic_id && strcmp(e->topic, c->want[k].topic) == 0;
		}
		if (!same) {
			print_error("value row %zu: rc %d (%s), %zu entries, want %zu\n", i, rc, err, file.n,
			            c->n);
			for (size_t k = 0; k < file.n; k++)
				print_error("  got \"%s\" %u \"%s\"\n", file.entries[k].client_id,
				            file.entries[k].topic_id, file.entries[k].topic);
			bad++;
		}
		gw_predefined_file_free(&file);
	}
	assert_int_equal(bad, 0);
}

/* ---------------------------------------------------------------- long lines, files */

static void test_long_lines(void **state)
{
	struct gw_predefined_file file;
	char err[512];
	(void)state;

	/* 65535 octets is the longest topic name; one more is refused, quoted short. */
	size_t len = 65535;
	char *text = malloc(len + 16);
	assert_non_null(text);
	memcpy(text, "1 ", 2);
	memset(text + 2, 't', len);
	memcpy(text + 2 + len, "\n", 2);
	assert_int_equal(parse(text, &file, err, sizeof err), 0);
	assert_int_equal(file.n, 1);
	assert_int_equal(strlen(file.entries[0].topic), len);
	gw_predefined_file_free(&file);

	memset(text + 2, 't', len + 1);
	memcpy(text + 3 + len, "\n", 2);
	assert_int_equal(parse(text, &file, err, sizeof err), -1);
	assert_string_equal(err, NAME ":1: topic \"tttttttttttttttttttttttttttttttttttttttttttttttt"
	                         "...\": topic longer than 65535 octets");
	free(text);

	/* A long comment is skipped like a short one. */
	text = malloc(100000 + 32);
	assert_non_null(text);
	text[0] = '#';
	memset(text + 1, 'c', 100000);
	memcpy(text + 100001, "\n2 ok\n0 bad\n", 13);
	assert_int_equal(parse(text, &file, err, sizeof err), -1);
	assert_string_equal(err, NAME ":3: topic id \"0\" is not a number from 1 to 65534");
	free(text);
}

static void test_file_load(void **state)
{
	struct gw_predefined_file file;
	char err[512];
	(void)state;
	assert_int_equal(gw_predefined_file_load("/nonexistent/topics", &file, err, sizeof err), -1);
	assert_string_equal(err, "/nonexistent/topics: No such file or directory");
	assert_int_equal(file.n, 0);
	gw_predefined_file_free(&file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_file_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
