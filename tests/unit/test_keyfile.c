/*
 * test_keyfile.c - the key file parser (codec/keyfile.h): one line (every
 * field's error, blanks, comments, CR LF, edges of the lengths), walking a
 * file with line numbers, and finding one station's keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/keyfile.h"

#define HEX0 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEXF "FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100"

struct line_case {
	const char *line;
	int want;            /* 1 key, 0 comment, or an error */
	const char *id;      /* when 1 */
	uint8_t key_id;
};

static const struct line_case line_cases[] = {
	{"st1 0 " HEX0, 1, "st1", 0},
	{"st1 0 " HEX0 "\n", 1, "st1", 0},
	{"st1 3 " HEX0 "\r\n", 1, "st1", 3},
	{"  st1\t2   " HEX0 "  \t", 1, "st1", 2},
	{"st/../x 1 " HEXF, 1, "st/../x", 1},
	{"abcdefghijklmnopqrstuvw 0 " HEX0, 1, "abcdefghijklmnopqrstuvw", 0},
	{"", 0, NULL, 0},
	{"\n", 0, NULL, 0},
	{"   \t \r\n", 0, NULL, 0},
	{"# st1 0 " HEX0, 0, NULL, 0},
	{"   #comment", 0, NULL, 0},
	{"st1 0", MQTTSN_KEYFILE_ERR_FIELDS, NULL, 0},
	{"st1", MQTTSN_KEYFILE_ERR_FIELDS, NULL, 0},
	{"st1 0 " HEX0 " extra", MQTTSN_KEYFILE_ERR_FIELDS, NULL, 0},
	{"st1 0 " HEX0 " # trailing comment", MQTTSN_KEYFILE_ERR_FIELDS, NULL, 0},
	{"abcdefghijklmnopqrstuvwx 0 " HEX0, MQTTSN_KEYFILE_ERR_CLIENT_ID, NULL, 0},
	{"st\x01 0 " HEX0, MQTTSN_KEYFILE_ERR_CLIENT_ID, NULL, 0},
	{"st\x7f 0 " HEX0, MQTTSN_KEYFILE_ERR_CLIENT_ID, NULL, 0},
	{"st1 4 " HEX0, MQTTSN_KEYFILE_ERR_KEY_ID, NULL, 0},
	{"st1 00 " HEX0, MQTTSN_KEYFILE_ERR_KEY_ID, NULL, 0},
	{"st1 -1 " HEX0, MQTTSN_KEYFILE_ERR_KEY_ID, NULL, 0},
	{"st1 a " HEX0, MQTTSN_KEYFILE_ERR_KEY_ID, NULL, 0},
	{"st1 0 " HEX0 "0", MQTTSN_KEYFILE_ERR_KEY, NULL, 0},
	{"st1 0 0001", MQTTSN_KEYFILE_ERR_KEY, NULL, 0},
	{"st1 0 g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	 MQTTSN_KEYFILE_ERR_KEY, NULL, 0},
	{"st1 0 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
	 MQTTSN_KEYFILE_ERR_KEY, NULL, 0},
};

static void test_lines(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
		const struct line_case *c = &line_cases[i];
		struct mqttsn_keyfile_entry e;
		memset(&e, 0xAA, sizeof e);
		int rc = mqttsn_keyfile_parse_line(c->line, strlen(c->line), &e);
		bool fine = rc == c->want;
		if (fine && rc == 1)
			fine = strcmp(e.client_id, c->id) == 0 && e.client_id_len == strlen(c->id) &&
			       e.key_id == c->key_id;
		if (!fine) {
			print_error("row %zu \"%s\": got %d (%s), want %d\n", i, c->line, rc,
			            mqttsn_keyfile_strerror(rc), c->want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_key_octets(void **state)
{
	(void)state;
	struct mqttsn_keyfile_entry e;
	const char *line = "x 1 " HEXF;
	assert_int_equal(mqttsn_keyfile_parse_line(line, strlen(line), &e), 1);
	for (size_t k = 0; k < 16; k++) {
		assert_int_equal(e.key[k], (uint8_t)(0xFF - 0x11 * k));
		assert_int_equal(e.key[16 + k], (uint8_t)(0xFF - 0x11 * k));
	}
	/* Only the line's own octets are read: a key cut by len is refused. */
	assert_int_equal(mqttsn_keyfile_parse_line(line, strlen(line) - 1, &e), MQTTSN_KEYFILE_ERR_KEY);
	/* A '\n' ends the line even when more text follows. */
	char two[200];
	snprintf(two, sizeof two, "y 2 %s\nz 3 %s\n", HEX0, HEX0);
	assert_int_equal(mqttsn_keyfile_parse_line(two, strlen(two), &e), 1);
	assert_string_equal(e.client_id, "y");
	assert_int_equal(e.key_id, 2);
	char nul[] = "st1 0 " HEX0;
	nul[2] = '\0';
	assert_int_equal(mqttsn_keyfile_parse_line(nul, sizeof nul - 1, &e), MQTTSN_KEYFILE_ERR_BINARY);
	char *longl = malloc(MQTTSN_KEYFILE_LINE_MAX + 2);
	assert_non_null(longl);
	memset(longl, 'a', MQTTSN_KEYFILE_LINE_MAX + 1);
	assert_int_equal(mqttsn_keyfile_parse_line(longl, MQTTSN_KEYFILE_LINE_MAX + 1, &e),
	                 MQTTSN_KEYFILE_ERR_LONG);
	free(longl);
	assert_string_equal(mqttsn_keyfile_strerror(MQTTSN_KEYFILE_ERR_KEY_ID),
	                    "the key id must be 0, 1, 2 or 3");
}

static const char file_text[] =
	"# the bridge's key file\n"
	"\n"
	"st1 0 " HEX0 "\n"
	"st2 0 " HEXF "\r\n"
	"   # indented comment\n"
	"st1 2 " HEXF "\n"
	"st3 1 " HEX0; /* no final newline */

static void test_walk(void **state)
{
	(void)state;
	struct mqttsn_keyfile_entry e;
	size_t pos = 0;
	unsigned line = 0;
	static const struct { const char *id; uint8_t kid; unsigned line; } want[] = {
		{"st1", 0, 3}, {"st2", 0, 4}, {"st1", 2, 6}, {"st3", 1, 7},
	};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(mqttsn_keyfile_next(file_text, strlen(file_text), &pos, &line, &e), 1);
		assert_string_equal(e.client_id, want[i].id);
		assert_int_equal(e.key_id, want[i].kid);
		assert_int_equal(line, want[i].line);
	}
	assert_int_equal(mqttsn_keyfile_next(file_text, strlen(file_text), &pos, &line, &e), 0);
	assert_int_equal(mqttsn_keyfile_next(file_text, strlen(file_text), &pos, &line, &e), 0);

	const char bad[] = "st1 0 " HEX0 "\n#\nst2 7 " HEX0 "\n";
	pos = 0;
	line = 0;
	assert_int_equal(mqttsn_keyfile_next(bad, strlen(bad), &pos, &line, &e), 1);
	assert_int_equal(mqttsn_keyfile_next(bad, strlen(bad), &pos, &line, &e), MQTTSN_KEYFILE_ERR_KEY_ID);
	assert_int_equal(line, 3);
	pos = 0;
	line = 0;
	assert_int_equal(mqttsn_keyfile_next("", 0, &pos, &line, &e), 0);
}

static void test_find(void **state)
{
	(void)state;
	struct mqttsn_link_keyring ring;
	uint8_t send_id = 9;
	unsigned line;
	int n = mqttsn_keyfile_find(file_text, strlen(file_text), "st1", &ring, &send_id, &line);
	assert_int_equal(n, 2);
	assert_true(ring.set[0]);
	assert_false(ring.set[1]);
	assert_true(ring.set[2]);
	assert_false(ring.set[3]);
	assert_int_equal(send_id, 2); /* the last line of st1 */
	assert_int_equal(ring.key[0][1], 0x01);
	assert_int_equal(ring.key[2][0], 0xFF);
	assert_int_equal(mqttsn_keyfile_find(file_text, strlen(file_text), "st9", &ring, &send_id, &line), 0);
	assert_int_equal(mqttsn_keyfile_find(file_text, strlen(file_text), "st", &ring, &send_id, &line), 0);

	const char dup[] = "a 0 " HEX0 "\nb 0 " HEX0 "\na 0 " HEXF "\n";
	assert_int_equal(mqttsn_keyfile_find(dup, strlen(dup), "a", &ring, &send_id, &line),
	                 MQTTSN_KEYFILE_ERR_DUPLICATE);
	assert_int_equal(line, 3);
	assert_false(ring.set[0]);
	/* A damaged line of another station refuses the file. */
	const char other[] = "a 0 " HEX0 "\nb 0 xyz\n";
	assert_int_equal(mqttsn_keyfile_find(other, strlen(other), "a", &ring, &send_id, &line),
	                 MQTTSN_KEYFILE_ERR_KEY);
	assert_int_equal(line, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_key_octets),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
