/*
 * test_snc_lines.c - the line reader (sn-client/lines.h) over a real pipe:
 * lines cut where they end whatever the read()s bring, the last line
 * without its newline, empty lines, the length limit at its edge, and a
 * read that finds nothing yet.
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

#include "sn-client/lines.h"

struct pipe {
	int r, w;
};

static struct pipe open_pipe(void)
{
	int fd[2];

	assert_int_equal(pipe(fd), 0);
	assert_int_equal(fcntl(fd[0], F_SETFL, O_NONBLOCK), 0);
	return (struct pipe){ fd[0], fd[1] };
}

static void put(struct pipe p, const char *s)
{
	size_t n = strlen(s);

	assert_int_equal(write(p.w, s, n), (ssize_t)n);
}

/* Takes every whole line waiting, joined as "line|line|". */
static void take(struct snc_lines *l, char *out, size_t cap)
{
	const uint8_t *p;
	size_t n, at = strlen(out);

	while (snc_lines_next(l, &p, &n)) {
		assert_true(at + n + 1 < cap);
		memcpy(out + at, p, n);
		at += n;
		out[at++] = '|';
		out[at] = '\0';
	}
}

/* ---------------------------------------------------------------- cutting */

static void test_cutting(void **state)
{
	/* Pieces written one at a time, a fill after each, then the end. */
	static const struct {
		const char *pieces[4];
		const char *want;
	} cases[] = {
		{ { "l1\nl2\n\nl4", NULL }, "l1|l2||l4|" },
		{ { "a\n", NULL }, "a|" },
		{ { "", NULL }, "" },
		{ { "\n", NULL }, "|" },
		{ { "\n\n", NULL }, "||" },
		{ { "ab", "c\nde", "f", NULL }, "abc|def|" },
		{ { "one\n", "", "two\n", NULL }, "one|two|" },
		{ { "no newline at all", NULL }, "no newline at all|" },
		{ { "cr\r\n", NULL }, "cr\r|" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct snc_lines l;
		struct pipe p = open_pipe();
		char got[256] = "";

		snc_lines_init(&l, 1000);
		for (size_t k = 0; k < 4 && cases[i].pieces[k] != NULL; k++) {
			put(p, cases[i].pieces[k]);
			assert_int_equal(snc_lines_fill(&l, p.r), SNC_OK);
			take(&l, got, sizeof got);
		}
		assert_false(l.eof);
		close(p.w);
		for (int k = 0; k < 4 && !l.eof; k++)
			assert_int_equal(snc_lines_fill(&l, p.r), SNC_OK);
		assert_true(l.eof);
		take(&l, got, sizeof got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, cases[i].want);
		assert_true(snc_lines_done(&l));
		assert_false(snc_lines_ready(&l));
		/* At the end, more fills change nothing. */
		assert_int_equal(snc_lines_fill(&l, p.r), SNC_OK);
		assert_true(snc_lines_done(&l));
		snc_lines_free(&l);
		close(p.r);
	}
}

/* A line is handed out only once it is whole. */
static void test_partial_waits(void **state)
{
	struct snc_lines l;
	struct pipe p = open_pipe();
	char got[64] = "";

	(void)state;
	snc_lines_init(&l, 100);
	/* Nothing written yet: a fill reads nothing and the input goes on. */
	assert_int_equal(snc_lines_fill(&l, p.r), SNC_OK);
	assert_false(l.eof);
	assert_false(snc_lines_ready(&l));
	put(p, "21.");
	assert_int_equal(snc_lines_fill(&l, p.r), SNC_OK);
	assert_false(snc_lines_ready(&l));
	assert_false(snc_lines_done(&l));
	put(p, "5\n22");
	assert_int_equal(snc_lines_fill(&l, p.r), SNC_OK);
	assert_true(snc_lines_ready(&l));
	take(&l, got, sizeof got);
	assert_string_equal(got, "21.5|");
	assert_false(snc_lines_ready(&l));
	snc_lines_free(&l);
	close(p.r);
	close(p.w);
}

/* A peeked line stays next until it is taken. */
static void test_peek_take(void **state)
{
	struct snc_lines l;
	struct pipe p = open_pipe();
	const uint8_t *v;
	size_t n;
	char got[64] = "";

	(void)state;
	snc_lines_init(&l, 100);
	assert_false(snc_lines_peek(&l, &v, &n));
	put(p, "first\nsecond\n");
	assert_int_equal(snc_lines_fill(&l, p.r), SNC_OK);
	for (int k = 0; k < 3; k++) {
		assert_true(snc_lines_peek(&l, &v, &n));
		assert_int_equal(n, 5);
		assert_memory_equal(v, "first", 5);
	}
	snc_lines_take(&l);
	assert_true(snc_lines_peek(&l, &v, &n));
	assert_int_equal(n, 6);
	take(&l, got, sizeof got);
	assert_string_equal(got, "second|");
	assert_false(snc_lines_peek(&l, &v, &n));
	snc_lines_free(&l);
	close(p.r);
	close(p.w);
}

/* ---------------------------------------------------------------- limits */

static void test_length_limit(void **state)
{
	static const struct {
		size_t max, len;   /* a line of len octets under limit max */
		bool newline;
		int want;
	} cases[] = {
		{ 8, 8, true, SNC_OK },
		{ 8, 8, false, SNC_OK },
		{ 8, 9, true, SNC_ERR_TOO_BIG },
		{ 8, 9, false, SNC_ERR_TOO_BIG },
		{ 8, 0, true, SNC_OK },
		{ 10000, 9000, true, SNC_OK },        /* grows past the first buffer */
		{ 10000, 10000, true, SNC_OK },
		{ 10000, 10001, true, SNC_ERR_TOO_BIG },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct snc_lines l;
		struct pipe p = open_pipe();
		char *line = malloc(cases[i].len + 2);
		const uint8_t *v;
		size_t n, got = 0;
		int rc = SNC_OK;

		assert_non_null(line);
		memset(line, 'x', cases[i].len);
		strcpy(line + cases[i].len, cases[i].newline ? "\n" : "");
		put(p, line);
		close(p.w);
		snc_lines_init(&l, cases[i].max);
		for (int k = 0; k < 16 && rc == SNC_OK && !snc_lines_done(&l); k++) {
			rc = snc_lines_fill(&l, p.r);
			while (snc_lines_next(&l, &v, &n)) {
				assert_int_equal(n, cases[i].len);
				got++;
			}
		}
		if (rc != cases[i].want)
			fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].want);
		assert_int_equal(got, cases[i].want == SNC_OK ? 1 : 0);
		snc_lines_free(&l);
		free(line);
		close(p.r);
	}
}

/* A buffer full of whole lines is not a line too long: they make room. */
static void test_full_of_lines(void **state)
{
	struct snc_lines l;
	struct pipe p = open_pipe();
	char got[64] = "";

	(void)state;
	snc_lines_init(&l, 3); /* a buffer of 4 octets */
	put(p, "ab\ncd\ne\n");
	close(p.w);
	assert_int_equal(snc_lines_fill(&l, p.r), SNC_OK);
	assert_true(snc_lines_ready(&l));
	/* Nothing taken: the fill reads nothing, and says no error. */
	assert_int_equal(snc_lines_fill(&l, p.r), SNC_OK);
	for (int k = 0; k < 16 && !snc_lines_done(&l); k++) {
		take(&l, got, sizeof got);
		assert_int_equal(snc_lines_fill(&l, p.r), SNC_OK);
	}
	take(&l, got, sizeof got);
	assert_string_equal(got, "ab|cd|e|");
	assert_true(snc_lines_done(&l));
	snc_lines_free(&l);
	close(p.r);
}

static void test_read_error(void **state)
{
	struct snc_lines l;

	(void)state;
	snc_lines_init(&l, 100);
	assert_int_equal(snc_lines_fill(&l, -1), SNC_ERR_IO);
	assert_int_equal(errno, EBADF);
	snc_lines_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cutting),
		cmocka_unit_test(test_partial_waits),
		cmocka_unit_test(test_peek_take),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_full_of_lines),
		cmocka_unit_test(test_read_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
