/*
 * test_custody_log.c - reading libmosquitto's log lines for the custody
 * connection's PUBREC and PUBCOMP (bridge/broker_custody.c,
 * brk_custody_parse): libmosquitto 2.0.11's exact wording is taken, and
 * anything else, however close, is not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bridge/broker_int.h"

struct vector {
	const char *line;
	enum brk_line kind;
	uint16_t mid;
	int rc;
};

static const struct vector vectors[] = {
	/* libmosquitto 2.0.11's lines (lib/handle_pubrec.c, lib/handle_pubackcomp.c) */
	{ "Client snb-c received PUBREC (Mid: 1)", BRK_LINE_PUBREC, 1, 0 },
	{ "Client snb-c received PUBREC (Mid: 65535)", BRK_LINE_PUBREC, 65535, 0 },
	{ "Client snb-c received PUBCOMP (Mid: 7, RC:0)", BRK_LINE_PUBCOMP, 7, 0 },
	{ "Client snb-c received PUBCOMP (Mid: 8, RC:146)", BRK_LINE_PUBCOMP, 8, 146 },
	{ "Client snb-c received PUBCOMP (Mid: 00012, RC:255)", BRK_LINE_PUBCOMP, 12, 255 },
	/* other packets of the same connection */
	{ "Client snb-c received PUBACK (Mid: 7, RC:0)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received PUBREL (Mid: 7)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c sending PUBREL (m7)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received CONNACK (0)", BRK_LINE_OTHER, 0, 0 },
	{ "Warning: Received PUBREC from snb-c for an unknown packet identifier 7.",
	  BRK_LINE_OTHER, 0, 0 },
	/* another client id, or one that only starts the same */
	{ "Client other received PUBREC (Mid: 1)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c2 received PUBREC (Mid: 1)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb received PUBREC (Mid: 1)", BRK_LINE_OTHER, 0, 0 },
	{ "Client (null) received PUBREC (Mid: 1)", BRK_LINE_OTHER, 0, 0 },
	/* numbers out of range or missing */
	{ "Client snb-c received PUBREC (Mid: 0)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received PUBREC (Mid: 65536)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received PUBREC (Mid: 123456)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received PUBREC (Mid: -1)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received PUBREC (Mid: )", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received PUBCOMP (Mid: 7, RC:256)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received PUBCOMP (Mid: 7, RC:)", BRK_LINE_OTHER, 0, 0 },
	/* cut short, or more after the end: another wording */
	{ "Client snb-c received PUBREC (Mid: 1", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received PUBREC (Mid: 1) ", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received PUBREC (Mid: 1, RC:0)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received PUBCOMP (Mid: 7)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received PUBCOMP (Mid: 7, RC:0, props)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received PUBCOMP (mid: 7, rc: 0)", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c received", BRK_LINE_OTHER, 0, 0 },
	{ "Client snb-c", BRK_LINE_OTHER, 0, 0 },
	{ "", BRK_LINE_OTHER, 0, 0 },
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		const struct vector *v = &vectors[i];
		uint16_t mid = 0;
		int rc = 0;
		enum brk_line k = brk_custody_parse(v->line, "snb-c", &mid, &rc);

		if (k != v->kind)
			fail_msg("\"%s\": kind %d, want %d", v->line, (int)k, (int)v->kind);
		if (k != BRK_LINE_OTHER) {
			assert_int_equal(mid, v->mid);
			assert_int_equal(rc, v->rc);
		}
	}
}

static void test_null(void **state)
{
	uint16_t mid = 0;
	int rc = 0;

	(void)state;
	assert_int_equal(brk_custody_parse(NULL, "snb-c", &mid, &rc), BRK_LINE_OTHER);
	assert_int_equal(brk_custody_parse("Client x received PUBREC (Mid: 1)", NULL, &mid, &rc),
	                 BRK_LINE_OTHER);
	/* a client id with the words of the line in it is still compared whole */
	assert_int_equal(brk_custody_parse("Client a received PUBREC (Mid: 1) received PUBREC (Mid: 2)",
	                                   "a received PUBREC (Mid: 1)", &mid, &rc),
	                 BRK_LINE_PUBREC);
	assert_int_equal(mid, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
