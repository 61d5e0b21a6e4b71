/*
 * test_record.c - the durable record format (codec/record.h): CRC-32C and
 * record known-answer vectors, round trips, and recovery: every cut of the
 * last record and every flipped bit must be found, and the scanner must say
 * where the good records end.
 *
 * The vectors were computed independently of record.c (a bitwise CRC-32C
 * in Python); the CRC-32C vectors are those of RFC 3720, appendix B.4.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/record.h"

/* ---------------------------------------------------------------- CRC */

static void test_crc_vectors(void **state)
{
	uint8_t buf[32];

	(void)state;
	assert_int_equal(mqttsn_crc32c(0, (const uint8_t *)"123456789", 9), 0xE3069283u);
	assert_int_equal(mqttsn_crc32c(0, NULL, 0), 0u);
	memset(buf, 0, sizeof buf);
	assert_int_equal(mqttsn_crc32c(0, buf, sizeof buf), 0x8A9136AAu);
	memset(buf, 0xFF, sizeof buf);
	assert_int_equal(mqttsn_crc32c(0, buf, sizeof buf), 0x62A8AB43u);
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(mqttsn_crc32c(0, buf, sizeof buf), 0x46DD794Eu);
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(mqttsn_crc32c(0, buf, sizeof buf), 0x113FDB5Cu);
}

static void test_crc_chains(void **state)
{
	const uint8_t *s = (const uint8_t *)"123456789";

	(void)state;
	for (size_t cut = 0; cut <= 9; cut++)
		assert_int_equal(mqttsn_crc32c(mqttsn_crc32c(0, s, cut), s + cut, 9 - cut), 0xE3069283u);
}

/* ---------------------------------------------------------------- vectors */

static const uint8_t vec_abc[] = {
	0xd1, 0x07, 0x80, 0x00, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04,
	0x05, 0x06, 0x07, 0x08, 0x61, 0x62, 0x63, 0xa1, 0x59, 0x84, 0x03,
};

static const uint8_t vec_empty[] = {
	0xd1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0xed, 0xf2, 0x8b, 0xad,
};

static void test_encode_vectors(void **state)
{
	uint8_t buf[64];
	struct mqttsn_record r = {
		.type = 7, .flags = 0x80, .seq = 0x0102030405060708u,
		.payload = { (const uint8_t *)"abc", 3 },
	};
	struct mqttsn_record e = { 0 };

	(void)state;
	assert_int_equal(mqttsn_record_encode(buf, sizeof buf, &r), (int)sizeof vec_abc);
	assert_memory_equal(buf, vec_abc, sizeof vec_abc);
	assert_int_equal(mqttsn_record_size(3), sizeof vec_abc);
	assert_int_equal(mqttsn_record_encode(buf, sizeof buf, &e), (int)sizeof vec_empty);
	assert_memory_equal(buf, vec_empty, sizeof vec_empty);
}

static void test_decode_vectors(void **state)
{
	struct mqttsn_record r;

	(void)state;
	assert_int_equal(mqttsn_record_decode(vec_abc, sizeof vec_abc, &r), (int)sizeof vec_abc);
	assert_int_equal(r.type, 7);
	assert_int_equal(r.flags, 0x80);
	assert_true(r.seq == 0x0102030405060708u);
	assert_int_equal(r.payload.len, 3);
	assert_ptr_equal(r.payload.ptr, vec_abc + MQTTSN_RECORD_HEADER);
	assert_memory_equal(r.payload.ptr, "abc", 3);

	assert_int_equal(mqttsn_record_decode(vec_empty, sizeof vec_empty, &r), (int)sizeof vec_empty);
	assert_int_equal(r.payload.len, 0);
	assert_null(r.payload.ptr);
}

static void test_encode_errors(void **state)
{
	uint8_t buf[64];
	struct mqttsn_record r = { .payload = { (const uint8_t *)"abc", 3 } };

	(void)state;
	/* Every capacity short of the record's size is refused. */
	for (size_t cap = 0; cap < sizeof vec_abc; cap++)
		assert_int_equal(mqttsn_record_encode(buf, cap, &r), MQTTSN_ERR_NO_SPACE);
	r.payload.ptr = NULL;
	assert_int_equal(mqttsn_record_encode(buf, sizeof buf, &r), MQTTSN_ERR_INVALID);
	r.payload.ptr = buf;
	r.payload.len = (size_t)MQTTSN_RECORD_PAYLOAD_MAX + 1;
	assert_int_equal(mqttsn_record_encode(buf, sizeof buf, &r), MQTTSN_ERR_TOO_BIG);
}

static void test_decode_errors(void **state)
{
	uint8_t buf[sizeof vec_abc];
	struct mqttsn_record r;

	(void)state;
	assert_int_equal(mqttsn_record_decode(NULL, 0, &r), MQTTSN_RECORD_ERR_TORN);
	memcpy(buf, vec_abc, sizeof buf);
	buf[0] = 0;
	assert_int_equal(mqttsn_record_decode(buf, sizeof buf, &r), MQTTSN_RECORD_ERR_MAGIC);
	/* A length over the limit is damage, not a record waiting for octets. */
	memcpy(buf, vec_abc, sizeof buf);
	buf[3] = 0x7F;
	assert_int_equal(mqttsn_record_decode(buf, sizeof buf, &r), MQTTSN_RECORD_ERR_LENGTH);
	memcpy(buf, vec_abc, sizeof buf);
	buf[sizeof buf - 1] ^= 1;
	assert_int_equal(mqttsn_record_decode(buf, sizeof buf, &r), MQTTSN_RECORD_ERR_CRC);
	/* Octets after a record are not its business. */
	{
		uint8_t more[sizeof vec_abc + 5];

		memcpy(more, vec_abc, sizeof vec_abc);
		memset(more + sizeof vec_abc, 0xAA, 5);
		assert_int_equal(mqttsn_record_decode(more, sizeof more, &r), (int)sizeof vec_abc);
	}
	assert_string_equal(mqttsn_record_strerror(MQTTSN_RECORD_ERR_CRC),
	                    "record checksum mismatch: the record is damaged");
	assert_non_null(mqttsn_record_strerror(MQTTSN_ERR_NO_SPACE));
	assert_non_null(mqttsn_record_strerror(-12345));
}

/* ---------------------------------------------------------------- a file */

#define NREC 4

/* Builds a "file" of NREC records of different sizes; ends[i] is where record i ends. */
static size_t build_file(uint8_t *buf, size_t cap, size_t ends[NREC])
{
	static const char *payloads[NREC] = { "first", "", "a somewhat longer third payload", "last!" };
	size_t pos = 0;

	for (int i = 0; i < NREC; i++) {
		struct mqttsn_record r = {
			.type = (uint8_t)(i + 1), .flags = (uint8_t)i, .seq = 1000u + (uint64_t)i,
			.payload = { (const uint8_t *)payloads[i], strlen(payloads[i]) },
		};
		int n = mqttsn_record_encode(buf + pos, cap - pos, &r);

		assert_true(n > 0);
		pos += (size_t)n;
		ends[i] = pos;
	}
	return pos;
}

/* Scans buf[0..len) and returns how many records came out, checking each. */
static int scan_count(const uint8_t *buf, size_t len, struct mqttsn_record_scan *s)
{
	struct mqttsn_record r;
	size_t off;
	int n = 0;

	mqttsn_record_scan_init(s, buf, len);
	while (mqttsn_record_scan_next(s, &r, &off)) {
		assert_int_equal(r.type, n + 1);
		assert_true(r.seq == 1000u + (uint64_t)n);
		n++;
	}
	/* Once stopped, stays stopped. */
	assert_false(mqttsn_record_scan_next(s, &r, &off));
	return n;
}

static void test_scan_clean(void **state)
{
	uint8_t buf[512];
	size_t ends[NREC];
	size_t len = build_file(buf, sizeof buf, ends);
	struct mqttsn_record_scan s;

	(void)state;
	assert_int_equal(scan_count(buf, len, &s), NREC);
	assert_int_equal(s.good, len);
	assert_int_equal(s.err, MQTTSN_OK);
	assert_int_equal(scan_count(buf, 0, &s), 0);
	assert_int_equal(s.good, 0);
	assert_int_equal(s.err, MQTTSN_OK);
}

static void test_scan_every_truncation(void **state)
{
	uint8_t buf[512];
	size_t ends[NREC];
	size_t len = build_file(buf, sizeof buf, ends);
	struct mqttsn_record_scan s;

	(void)state;
	/* Every cut of every record: the ones before it survive, the cut one is torn. */
	for (size_t cut = 0; cut <= len; cut++) {
		int whole = 0;

		while (whole < NREC && ends[whole] <= cut)
			whole++;
		assert_int_equal(scan_count(buf, cut, &s), whole);
		assert_int_equal(s.good, whole == 0 ? 0 : ends[whole - 1]);
		if (s.good == cut)
			assert_int_equal(s.err, MQTTSN_OK);
		else
			assert_int_equal(s.err, MQTTSN_RECORD_ERR_TORN);
	}
}

static void test_scan_every_bit_flip(void **state)
{
	uint8_t buf[512];
	size_t ends[NREC];
	size_t len = build_file(buf, sizeof buf, ends);
	struct mqttsn_record_scan s;

	(void)state;
	for (size_t i = 0; i < len; i++) {
		int victim = 0;

		while (ends[victim] <= i)
			victim++;
		for (unsigned bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(scan_count(buf, len, &s), victim);
			assert_int_equal(s.good, victim == 0 ? 0 : ends[victim - 1]);
			assert_int_not_equal(s.err, MQTTSN_OK);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(scan_count(buf, len, &s), NREC);
}

static void test_scan_garbage_tail(void **state)
{
	uint8_t buf[512];
	size_t ends[NREC];
	size_t len = build_file(buf, sizeof buf, ends);
	struct mqttsn_record_scan s;

	(void)state;
	/* What a file system can leave after a crash: zeros where data was appended. */
	memset(buf + len, 0, 40);
	assert_int_equal(scan_count(buf, len + 40, &s), NREC);
	assert_int_equal(s.good, len);
	assert_int_equal(s.err, MQTTSN_RECORD_ERR_MAGIC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_vectors),
		cmocka_unit_test(test_crc_chains),
		cmocka_unit_test(test_encode_vectors),
		cmocka_unit_test(test_decode_vectors),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_scan_clean),
		cmocka_unit_test(test_scan_every_truncation),
		cmocka_unit_test(test_scan_every_bit_flip),
		cmocka_unit_test(test_scan_garbage_tail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
