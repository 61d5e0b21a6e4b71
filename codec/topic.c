/*
 * topic.c - MQTT topic names and filters (MQTT 3.1.1, 4.7).
 */
#include "codec/topic.h"

#include <string.h>

/* ---------------------------------------------------------------- helpers */

/* End (exclusive) of the level that starts at pos: the next '/' or len. */
static size_t level_end(const char *s, size_t len, size_t pos)
{
	while (pos < len && s[pos] != '/')
		pos++;
	return pos;
}

/* Byte-wise equality that never hands memcmp a NULL pointer for an empty level. */
static bool level_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	return alen == 0 || memcmp(a, b, alen) == 0;
}

/* ---------------------------------------------------------------- checks */

int mqttsn_topic_name_check(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || name == NULL)
		return MQTTSN_ERR_TOPIC_EMPTY;
	if (len > MQTTSN_TOPIC_MAX)
		return MQTTSN_ERR_TOPIC_LONG;
	for (i = 0; i < len; i++) {
		switch (name[i]) {
		case '\0':
			return MQTTSN_ERR_TOPIC_NUL;
		case '+':
		case '#':
			return MQTTSN_ERR_TOPIC_WILDCARD;
		default:
			break;
		}
	}
	return MQTTSN_OK;
}

int mqttsn_topic_filter_check(const char *filter, size_t len)
{
	size_t i;

	if (len == 0 || filter == NULL)
		return MQTTSN_ERR_TOPIC_EMPTY;
	if (len > MQTTSN_TOPIC_MAX)
		return MQTTSN_ERR_TOPIC_LONG;
	for (i = 0; i < len; i++) {
		/* A wildcard must fill its level: a '/' (or the start) before it... */
		bool starts_level = i == 0 || filter[i - 1] == '/';

		switch (filter[i]) {
		case '\0':
			return MQTTSN_ERR_TOPIC_NUL;
		case '+':
			/* ...and a '/' (or the end) after it. */
			if (!starts_level || (i + 1 < len && filter[i + 1] != '/'))
				return MQTTSN_ERR_TOPIC_PLUS;
			break;
		case '#':
			/* '#' also has to be the last level, so nothing may follow. */
			if (!starts_level || i + 1 != len)
				return MQTTSN_ERR_TOPIC_HASH;
			break;
		default:
			break;
		}
	}
	return MQTTSN_OK;
}

bool mqttsn_topic_has_wildcard(const char *filter, size_t len)
{
	if (filter == NULL || len == 0)
		return false;
	return memchr(filter, '+', len) != NULL || memchr(filter, '#', len) != NULL;
}

/* ---------------------------------------------------------------- matching */

bool mqttsn_topic_matches(const char *filter, size_t flen, const char *name, size_t nlen)
{
	size_t f = 0, n = 0;
	/* Set once the name's last level has been consumed; the filter may
	 * still have a trailing "#", which also matches the parent level. */
	bool name_done = false;

	if (filter == NULL || name == NULL || flen == 0 || nlen == 0)
		return false;
	/* 4.7.2: topics starting with '$' are kept out of reach of wildcards
	 * in the first level, so "#" does not deliver $SYS to everyone. */
	if (name[0] == '$' && (filter[0] == '+' || filter[0] == '#'))
		return false;

	for (;;) {
		size_t fe = level_end(filter, flen, f);
		size_t ne;
		bool f_last, n_last;

		if (fe - f == 1 && filter[f] == '#')
			return true;
		if (name_done)
			return false;
		ne = level_end(name, nlen, n);
		if (!(fe - f == 1 && filter[f] == '+') &&
		    !level_equal(filter + f, fe - f, name + n, ne - n))
			return false;

		f_last = fe == flen;
		n_last = ne == nlen;
		if (f_last)
			return n_last;
		f = fe + 1;
		if (n_last)
			name_done = true;
		else
			n = ne + 1;
	}
}
