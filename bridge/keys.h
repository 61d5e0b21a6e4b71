/*
 * keys.h - what the bridge's link frames are opened and sealed with: the
 * stations' pre-shared keys (link_keys, the key file of codec/keyfile.h)
 * and the compression dictionaries (link_dict, files written by sn-dict).
 * Read at start and again on SIGHUP; a file that fails keeps the old set.
 */
#ifndef SNBRIDGE_BRIDGE_KEYS_H
#define SNBRIDGE_BRIDGE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "codec/frame.h"
#include "codec/mqttsn.h"

#define GW_LINK_DICTS_MAX 8u              /* link_dict lines */
#define GW_KEYFILE_MAX (1024u * 1024u)    /* a larger key file is something else */

/* One station: its client id and the keys of its lines. */
struct gw_station_key {
	char client_id[MQTTSN_CLIENT_ID_MAX + 1];
	size_t client_id_len;
	struct mqttsn_link_keyring ring;
	uint8_t send_id;    /* the key id of its last line: what the bridge seals with */
};

struct gw_link_keys {
	struct gw_station_key *st;  /* sorted by client id (memcmp, then length) */
	size_t n;
	struct mqttsn_frame_dict dicts[GW_LINK_DICTS_MAX];
	uint8_t *dict_files[GW_LINK_DICTS_MAX]; /* the files' octets; dicts[] views into them */
	size_t ndicts;
};

/*
 * Load keyfile (NULL: no stations) and the ndict dictionary files into
 * out (which need not be initialised). The key file must be a regular file
 * not readable, writable or executable by group or others (as ssh insists
 * for private keys), at most GW_KEYFILE_MAX octets; a second line with the
 * same client id and key id is an error. Returns 0, or -1 with err naming
 * the file and line ("keys:3: the key id must be 0, 1, 2 or 3") and out
 * empty.
 */
int gw_link_keys_load(struct gw_link_keys *out, const char *keyfile, char *const *dict_paths,
                      size_t ndict, char *err, size_t errlen);

/* The station with client id id[0..len), or NULL. O(log n). */
const struct gw_station_key *gw_link_keys_find(const struct gw_link_keys *k, const char *id,
                                               size_t len);

/*
 * The dictionary with this id, or NULL. The bridge compresses what it
 * sends a station with the dictionary the station's own compressed frames
 * name (the one it is known to have), and sends uncompressed until then.
 */
const struct mqttsn_frame_dict *gw_link_keys_dict(const struct gw_link_keys *k, uint8_t id);

/* Wipe the keys and free; safe on a zeroed struct. */
void gw_link_keys_free(struct gw_link_keys *k);

#endif
