/*
 * keyfile.c - the pre-shared key file: parsing one line, walking a file,
 * finding one station's keys.
 */
#include "codec/keyfile.h"

#include <sodium.h>
#include <string.h>

const char *mqttsn_keyfile_strerror(int err)
{
	switch (err) {
	case MQTTSN_KEYFILE_ERR_FIELDS:
		return "expected three fields: CLIENT_ID KEY_ID HEXKEY";
	case MQTTSN_KEYFILE_ERR_CLIENT_ID:
		return "the client id must be 1-23 octets without blanks or control characters";
	case MQTTSN_KEYFILE_ERR_KEY_ID:
		return "the key id must be 0, 1, 2 or 3";
	case MQTTSN_KEYFILE_ERR_KEY:
		return "the key must be 64 hex digits (32 octets)";
	case MQTTSN_KEYFILE_ERR_DUPLICATE:
		return "a second key for the same client id and key id";
	case MQTTSN_KEYFILE_ERR_LONG:
		return "line too long for a key line";
	case MQTTSN_KEYFILE_ERR_BINARY:
		return "a NUL octet: not a text file";
	default:
		return mqttsn_strerror(err);
	}
}

/* ---------------------------------------------------------------- one line */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool mqttsn_keyfile_client_id_ok(const char *id, size_t len)
{
	if (len < 1 || len > MQTTSN_CLIENT_ID_MAX || id[0] == '#')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)id[i];
		if (ch <= ' ' || ch == 0x7F)
			return false;
	}
	return true;
}

int mqttsn_keyfile_parse_line(const char *line, size_t len, struct mqttsn_keyfile_entry *out)
{
	struct { size_t at, len; } f[3];
	size_t nf = 0, i = 0;

	if (memchr(line, '\0', len) != NULL)
		return MQTTSN_KEYFILE_ERR_BINARY;
	/* The line ends at its '\n', a CR before it is the CR LF of the line end. */
	const char *nl = memchr(line, '\n', len);
	if (nl != NULL)
		len = (size_t)(nl - line);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > MQTTSN_KEYFILE_LINE_MAX)
		return MQTTSN_KEYFILE_ERR_LONG;
	while (i < len && blank(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	while (i < len) {
		size_t start = i;
		while (i < len && !blank(line[i]))
			i++;
		if (nf == 3)
			return MQTTSN_KEYFILE_ERR_FIELDS;
		f[nf].at = start;
		f[nf].len = i - start;
		nf++;
		while (i < len && blank(line[i]))
			i++;
	}
	if (nf != 3)
		return MQTTSN_KEYFILE_ERR_FIELDS;
	if (!mqttsn_keyfile_client_id_ok(line + f[0].at, f[0].len))
		return MQTTSN_KEYFILE_ERR_CLIENT_ID;
	if (f[1].len != 1 || line[f[1].at] < '0' || line[f[1].at] > '3')
		return MQTTSN_KEYFILE_ERR_KEY_ID;
	if (f[2].len != 2 * MQTTSN_FRAME_KEY_LEN)
		return MQTTSN_KEYFILE_ERR_KEY;
	uint8_t key[MQTTSN_FRAME_KEY_LEN];
	for (size_t k = 0; k < MQTTSN_FRAME_KEY_LEN; k++) {
		int hi = hexval(line[f[2].at + 2 * k]), lo = hexval(line[f[2].at + 2 * k + 1]);
		if (hi < 0 || lo < 0) {
			sodium_memzero(key, sizeof key);
			return MQTTSN_KEYFILE_ERR_KEY;
		}
		key[k] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(out->client_id, line + f[0].at, f[0].len);
	out->client_id[f[0].len] = '\0';
	out->client_id_len = f[0].len;
	out->key_id = (uint8_t)(line[f[1].at] - '0');
	memcpy(out->key, key, sizeof key);
	sodium_memzero(key, sizeof key);
	return 1;
}

/* ---------------------------------------------------------------- a file */

int mqttsn_keyfile_next(const char *text, size_t len, size_t *pos, unsigned *lineno,
                        struct mqttsn_keyfile_entry *out)
{
	/* Each round consumes one line, so at most len rounds. */
	while (*pos < len) {
		const char *start = text + *pos;
		size_t left = len - *pos;
		const char *nl = memchr(start, '\n', left);
		size_t n = nl != NULL ? (size_t)(nl - start) + 1 : left;

		*pos += n;
		(*lineno)++;
		int rc = mqttsn_keyfile_parse_line(start, n, out);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int mqttsn_keyfile_find(const char *text, size_t len, const char *client_id,
                        struct mqttsn_link_keyring *ring, uint8_t *send_id, unsigned *lineno)
{
	struct mqttsn_keyfile_entry e;
	size_t pos = 0, idlen = strlen(client_id);
	int found = 0, rc;

	memset(ring, 0, sizeof *ring);
	*lineno = 0;
	while ((rc = mqttsn_keyfile_next(text, len, &pos, lineno, &e)) == 1) {
		if (e.client_id_len != idlen || memcmp(e.client_id, client_id, idlen) != 0)
			continue;
		if (ring->set[e.key_id]) {
			found = MQTTSN_KEYFILE_ERR_DUPLICATE;
			break;
		}
		ring->set[e.key_id] = true;
		memcpy(ring->key[e.key_id], e.key, sizeof e.key);
		*send_id = e.key_id;
		found++;
	}
	sodium_memzero(&e, sizeof e);
	if (rc < 0)
		found = rc;
	if (found < 0)
		sodium_memzero(ring, sizeof *ring);
	return found;
}
