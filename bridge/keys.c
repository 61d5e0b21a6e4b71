/*
 * keys.c - loading the key file and the dictionaries of the link frames.
 */
#include "bridge/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/keyfile.h"

/* ---------------------------------------------------------------- reading */

/*
 * Read the whole regular file at path (at most max octets) into a new
 * buffer. private_only: refuse a file open to group or others. Returns the
 * buffer (free it) with *len, or NULL with err set.
 */
static uint8_t *read_file(const char *path, size_t max, bool private_only, size_t *len,
                          char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	uint8_t *buf = NULL;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (private_only && (st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		         "%s: open to group or others (mode %04o): the keys must be private, "
		         "chmod 600 it",
		         path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		snprintf(err, errlen, "%s: larger than %zu octets", path, max);
		goto fail;
	}
	size_t want = (size_t)st.st_size, got = 0;
	buf = malloc(want + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	/* The file may shrink while read; it cannot grow past want + 1 unseen. */
	while (got <= want) {
		ssize_t n = read(fd, buf + got, want + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > want) {
		snprintf(err, errlen, "%s: changed while being read", path);
		goto fail;
	}
	close(fd);
	*len = got;
	return buf;
fail:
	if (buf != NULL) {
		sodium_memzero(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	close(fd);
	return NULL;
}

/* ---------------------------------------------------------------- keys */

struct line_entry {
	struct mqttsn_keyfile_entry e;
	unsigned line;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct line_entry *x = a, *y = b;
	int c = strcmp(x->e.client_id, y->e.client_id);
	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int load_keys(struct gw_link_keys *out, const char *path, char *err, size_t errlen)
{
	size_t len = 0, pos = 0, n = 0, cap = 0;
	unsigned line = 0;
	struct line_entry *v = NULL;
	int rc;
	uint8_t *text = read_file(path, GW_KEYFILE_MAX, true, &len, err, errlen);

	if (text == NULL)
		return -1;
	for (;;) {
		struct mqttsn_keyfile_entry e;
		rc = mqttsn_keyfile_next((const char *)text, len, &pos, &line, &e);
		if (rc <= 0) {
			sodium_memzero(&e, sizeof e);
			break;
		}
		if (n == cap) {
			/* At most one entry per line, and the file is bounded. */
			size_t ncap = cap ? cap * 2 : 16;
			struct line_entry *nv = malloc(ncap * sizeof *nv);
			if (nv == NULL) {
				rc = -1;
				snprintf(err, errlen, "%s: out of memory", path);
				sodium_memzero(&e, sizeof e);
				break;
			}
			if (n > 0)
				memcpy(nv, v, n * sizeof *v);
			if (v != NULL) {
				sodium_memzero(v, n * sizeof *v);
				free(v);
			}
			v = nv;
			cap = ncap;
		}
		v[n].e = e;
		v[n].line = line;
		n++;
		sodium_memzero(&e, sizeof e);
	}
	sodium_memzero(text, len);
	free(text);
	if (rc < 0 && rc != -1)
		snprintf(err, errlen, "%s:%u: %s", path, line, mqttsn_keyfile_strerror(rc));
	if (rc == 0 && n > 0) {
		qsort(v, n, sizeof *v, entry_cmp);
		out->st = calloc(n, sizeof *out->st);
		if (out->st == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			rc = -1;
		}
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct gw_station_key *s = out->n > 0 ? &out->st[out->n - 1] : NULL;
		if (s == NULL || strcmp(s->client_id, v[i].e.client_id) != 0) {
			s = &out->st[out->n++];
			memcpy(s->client_id, v[i].e.client_id, sizeof s->client_id);
			s->client_id_len = v[i].e.client_id_len;
		}
		if (s->ring.set[v[i].e.key_id]) {
			unsigned first = v[i - 1].line;
			for (size_t j = i; j-- > 0 && strcmp(v[j].e.client_id, s->client_id) == 0;) {
				if (v[j].e.key_id == v[i].e.key_id)
					first = v[j].line;
			}
			snprintf(err, errlen, "%s:%u: a second key for %s with key id %u (the first is on line %u)",
			         path, v[i].line, s->client_id, v[i].e.key_id, first);
			rc = -1;
			break;
		}
		s->ring.set[v[i].e.key_id] = true;
		memcpy(s->ring.key[v[i].e.key_id], v[i].e.key, MQTTSN_FRAME_KEY_LEN);
		s->send_id = v[i].e.key_id; /* sorted by line: the last one wins */
	}
	if (v != NULL) {
		sodium_memzero(v, cap * sizeof *v);
		free(v);
	}
	return rc == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- dictionaries */

static int load_dict(struct gw_link_keys *out, const char *path, char *err, size_t errlen)
{
	size_t len = 0;
	uint8_t *buf = read_file(path, MQTTSN_FRAME_DICT_MAX + MQTTSN_FRAME_DICT_FILE_OVERHEAD, false,
	                         &len, err, errlen);
	struct mqttsn_frame_dict d;

	if (buf == NULL)
		return -1;
	int rc = mqttsn_frame_dict_decode(buf, len, &d);
	if (rc < 0 || (size_t)rc != len) {
		snprintf(err, errlen, "%s: not a dictionary file (%s)", path,
		         rc < 0 ? mqttsn_frame_strerror(rc) : "octets after its end");
		free(buf);
		return -1;
	}
	for (size_t i = 0; i < out->ndicts; i++) {
		if (out->dicts[i].id == d.id) {
			snprintf(err, errlen, "%s: dictionary id %u is given twice", path, d.id);
			free(buf);
			return -1;
		}
	}
	out->dict_files[out->ndicts] = buf;
	out->dicts[out->ndicts++] = d;
	return 0;
}

/* ---------------------------------------------------------------- api */

int gw_link_keys_load(struct gw_link_keys *out, const char *keyfile, char *const *dict_paths,
                      size_t ndict, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (ndict > GW_LINK_DICTS_MAX) {
		snprintf(err, errlen, "more than %u dictionaries", GW_LINK_DICTS_MAX);
		return -1;
	}
	if (keyfile != NULL && load_keys(out, keyfile, err, errlen) != 0) {
		gw_link_keys_free(out);
		return -1;
	}
	for (size_t i = 0; i < ndict; i++) {
		if (load_dict(out, dict_paths[i], err, errlen) != 0) {
			gw_link_keys_free(out);
			return -1;
		}
	}
	return 0;
}

const struct gw_station_key *gw_link_keys_find(const struct gw_link_keys *k, const char *id,
                                               size_t len)
{
	size_t lo = 0, hi = k->n;
	char key[MQTTSN_CLIENT_ID_MAX + 1];

	if (len == 0 || len > MQTTSN_CLIENT_ID_MAX)
		return NULL;
	memcpy(key, id, len);
	key[len] = '\0';
	/* Halves the range each round: at most log2(n) + 1 rounds. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, k->st[mid].client_id);
		if (c == 0)
			return &k->st[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct mqttsn_frame_dict *gw_link_keys_dict(const struct gw_link_keys *k, uint8_t id)
{
	for (size_t i = 0; i < k->ndicts; i++)
		if (k->dicts[i].id == id)
			return &k->dicts[i];
	return NULL;
}

void gw_link_keys_free(struct gw_link_keys *k)
{
	if (k->st != NULL) {
		sodium_memzero(k->st, k->n * sizeof *k->st);
		free(k->st);
	}
	for (size_t i = 0; i < k->ndicts; i++)
		free(k->dict_files[i]);
	memset(k, 0, sizeof *k);
}
