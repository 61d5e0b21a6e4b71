/*
 * frame_dict.c - preset dictionaries: the file format and the builder that
 * the sn-dict tool calls (codec/frame.h).
 */
#include <string.h>

#include "codec/frame.h"
#include "codec/record.h"

static const uint8_t dict_magic[4] = {'S', 'N', 'D', 'I'};

/* ---------------------------------------------------------------- file */

int mqttsn_frame_dict_encode(const struct mqttsn_frame_dict *d, uint8_t *buf, size_t cap)
{
	size_t n = d->len, at = 0;
	uint32_t crc;

	if (n > MQTTSN_FRAME_DICT_MAX)
		return MQTTSN_ERR_TOO_BIG;
	if (d->ptr == NULL && n > 0)
		return MQTTSN_ERR_INVALID;
	if (cap < MQTTSN_FRAME_DICT_FILE_OVERHEAD || n > cap - MQTTSN_FRAME_DICT_FILE_OVERHEAD)
		return MQTTSN_ERR_NO_SPACE;
	memcpy(buf, dict_magic, 4);
	at = 4;
	buf[at++] = 1;
	buf[at++] = d->id;
	for (int i = 3; i >= 0; i--)
		buf[at++] = (uint8_t)(n >> (8 * i));
	if (n > 0)
		memcpy(buf + at, d->ptr, n);
	at += n;
	crc = mqttsn_crc32c(0, buf, at);
	for (int i = 3; i >= 0; i--)
		buf[at++] = (uint8_t)(crc >> (8 * i));
	return (int)at;
}

int mqttsn_frame_dict_decode(const uint8_t *buf, size_t len, struct mqttsn_frame_dict *d)
{
	size_t n = 0, left;
	uint32_t crc = 0;

	if (len < MQTTSN_FRAME_DICT_FILE_OVERHEAD || memcmp(buf, dict_magic, 4) != 0)
		return MQTTSN_FRAME_ERR_MALFORMED;
	if (buf[4] != 1)
		return MQTTSN_FRAME_ERR_VERSION;
	for (size_t i = 0; i < 4; i++)
		n = (n << 8) | buf[6 + i];
	left = len - 10;
	if (n > MQTTSN_FRAME_DICT_MAX || n > left || 4 > left - n)
		return MQTTSN_FRAME_ERR_MALFORMED;
	for (size_t i = 0; i < 4; i++)
		crc = (crc << 8) | buf[10 + n + i];
	if (crc != mqttsn_crc32c(0, buf, 10 + n))
		return MQTTSN_FRAME_ERR_MALFORMED;
	d->id = buf[5];
	d->ptr = buf + 10;
	d->len = n;
	return (int)(14 + n);
}

/* ---------------------------------------------------------------- builder */

static bool already_in(const struct mqttsn_bytes *samples, size_t from, size_t n, size_t i)
{
	for (size_t j = from; j < n; j++) {
		if (j != i && samples[j].len == samples[i].len && memcmp(samples[j].ptr, samples[i].ptr, samples[i].len) == 0)
			return true;
	}
	return false;
}

/*
 * Newest first, keep each sample not already kept (a repeat adds nothing a
 * back-reference to the kept copy does not give) while it fits; then write
 * the kept ones oldest first. Quadratic in the samples kept: a tool's job,
 * not the hot path.
 */
size_t mqttsn_frame_dict_build(const struct mqttsn_bytes *samples, size_t n, uint8_t *out, size_t cap)
{
	size_t used = 0, first = n, at = 0;

	if (cap > MQTTSN_FRAME_DICT_MAX)
		cap = MQTTSN_FRAME_DICT_MAX;
	/* Walk back from the newest to find where the kept window starts. */
	for (size_t i = n; i-- > 0;) {
		if (samples[i].len == 0 || already_in(samples, i + 1, n, i))
			continue;
		if (samples[i].len > cap - used)
			break;
		used += samples[i].len;
		first = i;
	}
	for (size_t i = first; i < n; i++) {
		if (samples[i].len == 0 || already_in(samples, i + 1, n, i))
			continue;
		memcpy(out + at, samples[i].ptr, samples[i].len);
		at += samples[i].len;
	}
	return at;
}
