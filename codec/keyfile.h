/*
 * keyfile.h - the pre-shared key file of the link frames: one key a line,
 *
 *   CLIENT_ID KEY_ID HEXKEY
 *
 * the station's MQTT-SN client id (1-23 octets, no blanks or control
 * characters, not starting with '#'), the key id 0-3 that frames carry
 * (codec/FRAMES.md) and the MQTTSN_FRAME_KEY_LEN-octet key as 64 hex
 * digits. Fields are separated by blanks (sn-keygen writes one space);
 * lines that are blank or start with '#' are comments; a line may end in
 * CR LF. sn-keygen writes these files; the bridge holds the lines of all
 * its stations, a station the lines of its own client id.
 *
 * Pure functions over text already in memory: no I/O. Reading the file and
 * checking its mode is the caller's.
 */
#ifndef SNBRIDGE_CODEC_KEYFILE_H
#define SNBRIDGE_CODEC_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/frame.h"
#include "codec/mqttsn.h"

/* Errors of the key file, named by mqttsn_keyfile_strerror(). */
enum mqttsn_keyfile_err {
	MQTTSN_KEYFILE_ERR_FIELDS = -100,    /* not three fields */
	MQTTSN_KEYFILE_ERR_CLIENT_ID = -101, /* client id too long or with a bad character */
	MQTTSN_KEYFILE_ERR_KEY_ID = -102,    /* key id not 0-3 */
	MQTTSN_KEYFILE_ERR_KEY = -103,       /* key not 64 hex digits */
	MQTTSN_KEYFILE_ERR_DUPLICATE = -104, /* the same client id and key id twice */
	MQTTSN_KEYFILE_ERR_LONG = -105,      /* a line longer than MQTTSN_KEYFILE_LINE_MAX */
	MQTTSN_KEYFILE_ERR_BINARY = -106,    /* a NUL octet: not a text file */
};

/* The longest line the parser takes (a key line is at most 90 octets). */
#define MQTTSN_KEYFILE_LINE_MAX 512u

/* A fixed message for a keyfile error, never NULL. */
const char *mqttsn_keyfile_strerror(int err);

/* One key line. */
struct mqttsn_keyfile_entry {
	char client_id[MQTTSN_CLIENT_ID_MAX + 1]; /* NUL-terminated */
	size_t client_id_len;
	uint8_t key_id;                           /* 0..MQTTSN_FRAME_KEY_IDS-1 */
	uint8_t key[MQTTSN_FRAME_KEY_LEN];
};

/*
 * Parse one line line[0..len) (its '\n' may be included or not). Returns 1
 * with *out filled for a key line, 0 for a blank or comment line (out
 * untouched), or a MQTTSN_KEYFILE_ERR_*. Never reads outside the line.
 */
MQTTSN_MUST_CHECK int mqttsn_keyfile_parse_line(const char *line, size_t len,
                                                struct mqttsn_keyfile_entry *out);

/*
 * Walk the text of a whole file: from *pos (start at 0, *lineno at 0),
 * skip comment lines and parse the next key line. Returns 1 with *out
 * filled and *lineno its line number (from 1), 0 at the end of the text,
 * or an error with *lineno the line at fault. *pos moves past the line.
 */
MQTTSN_MUST_CHECK int mqttsn_keyfile_next(const char *text, size_t len, size_t *pos,
                                          unsigned *lineno, struct mqttsn_keyfile_entry *out);

/*
 * A station's own keys: every line of text for client_id, into ring (all
 * ids cleared first); *send_id gets the key id of the last such line, the
 * key the station seals with (adding a line rotates the key). Lines of
 * other stations are checked too: a malformed file is refused whole.
 * Returns the number of keys found (0: none for this client id), or an
 * error (MQTTSN_KEYFILE_ERR_DUPLICATE for a second line with the same key
 * id) with *lineno the line at fault.
 */
MQTTSN_MUST_CHECK int mqttsn_keyfile_find(const char *text, size_t len, const char *client_id,
                                          struct mqttsn_link_keyring *ring, uint8_t *send_id,
                                          unsigned *lineno);

/* True when id[0..len) may stand in a key file (and is a valid client id, 5.3.1). */
bool mqttsn_keyfile_client_id_ok(const char *id, size_t len);

#endif
