/*
 * linkopt.c - the tools' link frame options (linkopt.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "codec/keyfile.h"
#include "sn-client/cli.h"
#include "sn-client/linkopt.h"

#define KEYFILE_MAX (1024u * 1024u)

void snc_linkopt_defaults(struct snc_linkopt *o)
{
	memset(o, 0, sizeof *o);
	o->key_id = -1;
	o->hold_ms = -1;
}

uint32_t snc_linkopt_retry_slack_ms(const struct snc_linkopt *o)
{
	if (!o->frames)
		return 0;
	return 2u * (uint32_t)(o->hold_ms >= 0 ? o->hold_ms : (long)SNC_LINKOPT_HOLD_DEFAULT);
}

int snc_linkopt_option(struct snc_linkopt *o, int c, const char *arg, char *err, size_t errcap)
{
	switch (c) {
	case SNC_LINKOPT_FRAMES:
		o->frames = true;
		return 1;
	case SNC_LINKOPT_KEY_FILE:
		o->key_file = arg;
		break;
	case SNC_LINKOPT_KEY_ID:
		if (!snc_cli_parse_long(arg, 0, MQTTSN_FRAME_KEY_IDS - 1, &o->key_id)) {
			snprintf(err, errcap, "--key-id: 0-3");
			return -1;
		}
		break;
	case SNC_LINKOPT_DICT:
		o->dict_file = arg;
		break;
	case SNC_LINKOPT_MTU:
		/* 27: a sealed fragment with a wide counter and one octet of data */
		if (!snc_cli_parse_long(arg, 27, MQTTSN_FRAME_MAX, &o->mtu)) {
			snprintf(err, errcap, "--mtu: 27-%u octets", MQTTSN_FRAME_MAX);
			return -1;
		}
		break;
	case SNC_LINKOPT_HOLD_MS:
		if (!snc_cli_parse_long(arg, 0, 3600000, &o->hold_ms)) {
			snprintf(err, errcap, "--hold-ms: 0-3600000 milliseconds");
			return -1;
		}
		break;
	case SNC_LINKOPT_STATE:
		o->state_file = arg;
		break;
	default:
		return 0;
	}
	if (arg != NULL && arg[0] == '\0') {
		snprintf(err, errcap, "an empty file name");
		return -1;
	}
	o->others = true;
	return 1;
}

int snc_linkopt_check(const struct snc_linkopt *o, char *err, size_t errcap)
{
	if (o->others && !o->frames) {
		snprintf(err, errcap, "--key-file, --key-id, --dict, --mtu, --hold-ms and --link-state need --frames");
		return SNC_ERR_INVALID;
	}
	if ((o->key_id >= 0 || o->state_file != NULL) && o->key_file == NULL) {
		snprintf(err, errcap, "--key-id and --link-state need --key-file (plain frames have no counters)");
		return SNC_ERR_INVALID;
	}
	return SNC_OK;
}

/* The station's keys from the key file: ring, and the id it seals with. */
static int load_keys(const struct snc_linkopt *o, const char *client_id, struct mqttsn_link_keyring *ring,
                     uint8_t *send_id, char *err, size_t errcap)
{
	struct stat st;
	uint8_t *text = NULL;
	size_t len = 0;
	unsigned lineno = 0;
	int rc;

	if (stat(o->key_file, &st) != 0) {
		snprintf(err, errcap, "%s: %s", o->key_file, strerror(errno));
		return SNC_ERR_IO;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errcap, "%s: open to group or others (mode %04o): the key must be private, "
		         "chmod 600 it", o->key_file, (unsigned)(st.st_mode & 07777));
		return SNC_ERR_INVALID;
	}
	rc = snc_cli_read_all(o->key_file, KEYFILE_MAX, &text, &len);
	if (rc != SNC_OK) {
		snprintf(err, errcap, "%s: %s", o->key_file, rc == SNC_ERR_IO ? strerror(errno) : snc_strerror(rc));
		return rc;
	}
	rc = mqttsn_keyfile_find((const char *)text, len, client_id, ring, send_id, &lineno);
	sodium_memzero(text, len);
	free(text);
	if (rc < 0) {
		snprintf(err, errcap, "%s:%u: %s", o->key_file, lineno, mqttsn_keyfile_strerror(rc));
		return SNC_ERR_INVALID;
	}
	if (rc == 0) {
		snprintf(err, errcap, "%s: no key for client id \"%s\" (sn-keygen makes one)", o->key_file, client_id);
		return SNC_ERR_INVALID;
	}
	if (o->key_id >= 0) {
		if (!ring->set[o->key_id]) {
			snprintf(err, errcap, "%s: no key %ld for client id \"%s\"", o->key_file, o->key_id, client_id);
			return SNC_ERR_INVALID;
		}
		*send_id = (uint8_t)o->key_id;
	}
	return SNC_OK;
}

/* The dictionary file's octets (*buf, the caller frees) and *d a view into them. */
static int load_dict(const char *path, uint8_t **buf, struct mqttsn_frame_dict *d, char *err, size_t errcap)
{
	size_t len = 0;
	int rc = snc_cli_read_all(path, MQTTSN_FRAME_DICT_MAX + MQTTSN_FRAME_DICT_FILE_OVERHEAD, buf, &len);

	if (rc != SNC_OK) {
		snprintf(err, errcap, "%s: %s", path, rc == SNC_ERR_IO ? strerror(errno) : snc_strerror(rc));
		return rc;
	}
	rc = mqttsn_frame_dict_decode(*buf, len, d);
	if (rc < 0) {
		snprintf(err, errcap, "%s: not a dictionary from sn-dict: %s", path, mqttsn_frame_strerror(rc));
		free(*buf);
		*buf = NULL;
		return SNC_ERR_INVALID;
	}
	return SNC_OK;
}

int snc_linkopt_wrap(struct snc_linkt **out, const struct snc_linkopt *o, struct snc_transport *inner,
                     bool serial, const char *client_id, char *err, size_t errcap)
{
	struct snc_linkt_conf c;
	struct mqttsn_frame_dict dict;
	uint8_t *dict_buf = NULL;
	char state[4096];
	int rc = SNC_OK;

	*out = NULL;
	if (!o->frames)
		return SNC_OK;
	if (sodium_init() < 0) {
		snprintf(err, errcap, "libsodium: cannot initialise");
		return SNC_ERR_IO;
	}
	memset(&c, 0, sizeof c);
	c.link.mtu = o->mtu > 0 ? (size_t)o->mtu : serial ? SNC_LINKOPT_MTU_SERIAL : SNC_LINKOPT_MTU_UDP;
	c.link.hold_ms = o->hold_ms >= 0 ? (uint32_t)o->hold_ms : SNC_LINKOPT_HOLD_DEFAULT;
	c.link.direction = MQTTSN_LINK_UP;
	if (o->key_file != NULL) {
		c.link.encrypt = true;
		rc = load_keys(o, client_id, &c.link.keys, &c.link.key_id, err, errcap);
		if (rc != SNC_OK)
			goto done;
		if (o->state_file != NULL) {
			c.state_path = o->state_file;
		} else if ((size_t)snprintf(state, sizeof state, "%s.%s.state", o->key_file, client_id) < sizeof state) {
			c.state_path = state;
		} else {
			snprintf(err, errcap, "%s: path too long for the link state beside it", o->key_file);
			rc = SNC_ERR_INVALID;
			goto done;
		}
	}
	if (o->dict_file != NULL) {
		rc = load_dict(o->dict_file, &dict_buf, &dict, err, errcap);
		if (rc != SNC_OK)
			goto done;
		c.link.dict = &dict; /* copied by snc_linkt_open() */
	}
	rc = snc_linkt_open(out, &c, inner, err, errcap);
done:
	sodium_memzero(&c.link.keys, sizeof c.link.keys);
	free(dict_buf);
	return rc;
}
