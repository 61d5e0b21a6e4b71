/*
 * fuzz_topic.c - libFuzzer target for the topic checks and matcher.
 *
 * The input is split at its first 0 octet into a filter and a name (no 0
 * octet: both are the whole input). Besides the invariants of MQTT 3.1.1
 * 4.7, each answer is compared with a second, deliberately different
 * implementation below that first cuts both topics into arrays of levels.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec/mqttsn.h"
#include "codec/topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* ---------------------------------------------------------------- reference */

/* Level i of a topic is s[start[i] .. start[i] + len[i]). */
struct levels {
	size_t n;
	size_t start[MQTTSN_TOPIC_MAX + 1];
	size_t len[MQTTSN_TOPIC_MAX + 1];
};

static struct levels lf, ln;

static void split(const char *s, size_t len, struct levels *out)
{
	size_t i, from = 0;

	out->n = 0;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '/') {
			out->start[out->n] = from;
			out->len[out->n] = i - from;
			out->n++;
			from = i + 1;
		}
	}
}

static bool level_is(const char *s, const struct levels *l, size_t i, char c)
{
	return l->len[i] == 1 && s[l->start[i]] == c;
}

static bool ref_valid(const char *s, size_t len, bool filter)
{
	size_t i;

	if (len == 0 || len > MQTTSN_TOPIC_MAX || memchr(s, '\0', len) != NULL)
		return false;
	split(s, len, &lf);
	for (i = 0; i < lf.n; i++) {
		const char *lv = s + lf.start[i];
		bool wild = lf.len[i] > 0 &&
		            (memchr(lv, '+', lf.len[i]) != NULL || memchr(lv, '#', lf.len[i]) != NULL);

		if (!wild)
			continue;
		if (!filter)
			return false;
		if (level_is(s, &lf, i, '+'))
			continue;
		if (level_is(s, &lf, i, '#') && i + 1 == lf.n)
			continue;
		return false;
	}
	return true;
}

static bool ref_matches(const char *f, size_t flen, const char *n, size_t nlen)
{
	size_t i;

	if (n[0] == '$' && (f[0] == '+' || f[0] == '#'))
		return false;
	split(f, flen, &lf);
	split(n, nlen, &ln);
	for (i = 0; i < lf.n; i++) {
		if (level_is(f, &lf, i, '#'))
			return ln.n >= i;       /* the parent level (i levels) matches too */
		if (i >= ln.n)
			return false;
		if (level_is(f, &lf, i, '+'))
			continue;
		if (lf.len[i] != ln.len[i] ||
		    (lf.len[i] > 0 && memcmp(f + lf.start[i], n + ln.start[i], lf.len[i]) != 0))
			return false;
	}
	return lf.n == ln.n;
}

/* ---------------------------------------------------------------- target */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f = (const char *)data;
	const char *zero = size ? memchr(data, 0, size) : NULL;
	size_t flen = zero ? (size_t)(zero - f) : size;
	const char *n = zero ? zero + 1 : f;
	size_t nlen = zero ? size - flen - 1 : size;
	int frc = mqttsn_topic_filter_check(f, flen);
	int nrc = mqttsn_topic_name_check(n, nlen);

	CHECK((frc == MQTTSN_OK) == ref_valid(f, flen, true));
	CHECK((nrc == MQTTSN_OK) == ref_valid(n, nlen, false));
	CHECK(frc == MQTTSN_OK || (frc <= MQTTSN_ERR_TOPIC_EMPTY && frc >= MQTTSN_ERR_TOPIC_LONG));
	CHECK(frc != MQTTSN_ERR_TOPIC_WILDCARD);
	CHECK(nrc == MQTTSN_OK || nrc == MQTTSN_ERR_TOPIC_EMPTY || nrc == MQTTSN_ERR_TOPIC_LONG ||
	      nrc == MQTTSN_ERR_TOPIC_NUL || nrc == MQTTSN_ERR_TOPIC_WILDCARD);

	if (nrc == MQTTSN_OK) {
		CHECK(mqttsn_topic_filter_check(n, nlen) == MQTTSN_OK);
		CHECK(!mqttsn_topic_has_wildcard(n, nlen));
		CHECK(mqttsn_topic_matches(n, nlen, n, nlen));
		CHECK(mqttsn_topic_matches("#", 1, n, nlen) == (n[0] != '$'));
	}
	if (frc == MQTTSN_OK) {
		bool wild = mqttsn_topic_has_wildcard(f, flen);

		CHECK(wild == (memchr(f, '+', flen) != NULL || memchr(f, '#', flen) != NULL));
		CHECK(wild == (mqttsn_topic_name_check(f, flen) != MQTTSN_OK));
	}
	if (frc == MQTTSN_OK && nrc == MQTTSN_OK) {
		bool m = mqttsn_topic_matches(f, flen, n, nlen);

		CHECK(m == ref_matches(f, flen, n, nlen));
		if (!mqttsn_topic_has_wildcard(f, flen))
			CHECK(m == (flen == nlen && memcmp(f, n, nlen) == 0));
	}
	return 0;
}
