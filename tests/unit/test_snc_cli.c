/*
 * test_snc_cli.c - the tools' shared helpers (sn-client/cli.h): exit codes,
 * numbers, reading files, and the one-line packet print.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sn-client/cli.h"

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(snc_cli_exit_code(SNC_OK), 0);
	assert_int_equal(snc_cli_exit_code(SNC_ERR_REFUSED), 1);
	assert_int_equal(snc_cli_exit_code(SNC_ERR_IO), 1);
	assert_int_equal(snc_cli_exit_code(SNC_ERR_CLOSED), 1);
	assert_int_equal(snc_cli_exit_code(SNC_ERR_TIMEOUT), 3);
	assert_int_equal(snc_cli_exit_code(SNC_ERR_GONE), 3);
}

static void test_parse_long(void **state)
{
	long v = 0;

	(void)state;
	assert_true(snc_cli_parse_long("-1", -1, 2, &v));
	assert_int_equal(v, -1);
	assert_true(snc_cli_parse_long("65534", 1, 65534, &v));
	assert_false(snc_cli_parse_long("65535", 1, 65534, &v));
	assert_false(snc_cli_parse_long("", 0, 9, &v));
	assert_false(snc_cli_parse_long(NULL, 0, 9, &v));
	assert_false(snc_cli_parse_long("3x", 0, 9, &v));
	assert_false(snc_cli_parse_long("99999999999999999999999", 0, 9, &v));
}

static void test_read_all(void **state)
{
	char path[] = "/tmp/snc-cli-XXXXXX";
	int fd = mkstemp(path);
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello\n", 6), 6);
	close(fd);
	assert_int_equal(snc_cli_read_all(path, 100, &buf, &len), SNC_OK);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "hello\n", 6);
	free(buf);
	assert_int_equal(snc_cli_read_all(path, 6, &buf, &len), SNC_OK);
	free(buf);
	assert_int_equal(snc_cli_read_all(path, 5, &buf, &len), SNC_ERR_TOO_BIG);
	assert_null(buf);
	unlink(path);
	assert_int_equal(snc_cli_read_all(path, 5, &buf, &len), SNC_ERR_IO);
}

/* What a FILE received, as a string (via a temporary file). */
static void printed(void (*fn)(FILE *f), char *out, size_t cap)
{
	FILE *f = tmpfile();
	size_t n;

	assert_non_null(f);
	fn(f);
	rewind(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void print_ok(FILE *f)
{
	snc_cli_print_packet(f, "T", (const uint8_t *)"\x02\x17", 2, true);
}

static void print_bad(FILE *f)
{
	snc_cli_print_packet(f, "T", (const uint8_t *)"\x01\x00", 2, false);
}

static void trace_out(FILE *f)
{
	snc_cli_trace(f, true, (const uint8_t *)"\x02\x16", 2);
	snc_cli_trace(f, false, (const uint8_t *)"\x09", 1);
}

static void test_print(void **state)
{
	char s[256];

	(void)state;
	printed(print_ok, s, sizeof s);
	assert_string_equal(s, "T PINGRESP | 02 17\n");
	printed(print_bad, s, sizeof s);
	assert_non_null(strstr(s, "T malformed (2 octets): "));
	printed(trace_out, s, sizeof s);
	assert_non_null(strstr(s, "-> PINGREQ\n<- malformed (1 octets): "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_parse_long),
		cmocka_unit_test(test_read_all),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
