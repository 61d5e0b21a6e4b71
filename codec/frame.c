/*
 * frame.c - link frames: header, deflate against a preset dictionary, AEAD
 * seal and open. The format is in codec/FRAMES.md.
 */
#include <string.h>

#include <sodium.h>
#define ZLIB_CONST /* next_in is const: the input is never written */
#include <zlib.h>

#include "codec/frame.h"

/* ---------------------------------------------------------------- errors */

const char *mqttsn_frame_strerror(int err)
{
	switch (err) {
	case MQTTSN_FRAME_ERR_MALFORMED: return "malformed link frame";
	case MQTTSN_FRAME_ERR_VERSION: return "unknown link frame version";
	case MQTTSN_FRAME_ERR_KEY: return "unknown key id";
	case MQTTSN_FRAME_ERR_DICT: return "unknown dictionary id";
	case MQTTSN_FRAME_ERR_AUTH: return "authentication failed (tampered or wrong key)";
	case MQTTSN_FRAME_ERR_REPLAYED: return "frame replayed (counter already seen)";
	case MQTTSN_FRAME_ERR_TOO_OLD: return "frame too old (counter below the replay window)";
	case MQTTSN_FRAME_ERR_INFLATE: return "compressed body is corrupt";
	case MQTTSN_FRAME_ERR_BOMB: return "compressed body inflates past the cap";
	case MQTTSN_FRAME_ERR_COUNTER: return "no reserved frame counter left";
	case MQTTSN_FRAME_ERR_ZLIB: return "zlib failed";
	case MQTTSN_FRAME_ERR_FRAGMENT: return "inconsistent fragments";
	default: return mqttsn_strerror(err);
	}
}

/* ---------------------------------------------------------------- zlib arena */

/*
 * zlib's memory comes from the caller's context: a bump allocator reset for
 * every stream, so nothing is allocated and nothing can leak. A stream that
 * asks for more than the arena holds fails with Z_MEM_ERROR.
 */
static voidpf arena_alloc(voidpf opaque, uInt items, uInt size)
{
	struct mqttsn_frame_ctx *ctx = opaque;
	size_t align = _Alignof(max_align_t);
	size_t n, at;

	if (size != 0 && items > SIZE_MAX / size)
		return Z_NULL;
	n = (size_t)items * size;
	at = (ctx->used + align - 1) / align * align;
	if (at > sizeof ctx->arena || n > sizeof ctx->arena - at)
		return Z_NULL;
	ctx->used = at + n;
	return ctx->arena + at;
}

static void arena_free(voidpf opaque, voidpf ptr)
{
	(void)opaque;
	(void)ptr;
}

static void stream_init(z_stream *zs, struct mqttsn_frame_ctx *ctx)
{
	memset(zs, 0, sizeof *zs);
	ctx->used = 0;
	zs->zalloc = arena_alloc;
	zs->zfree = arena_free;
	zs->opaque = ctx;
}

/*
 * Raw deflate of in[0..len) against dict into out[0..cap). Returns the
 * compressed length, 0 when it does not fit cap (the caller sends the
 * content plain), or MQTTSN_FRAME_ERR_ZLIB.
 */
static int deflate_into(struct mqttsn_frame_ctx *ctx, const struct mqttsn_frame_dict *dict,
                        const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream zs;
	int rc, n;

	if (len > MQTTSN_FRAME_CONTENT_MAX || cap > UINT32_MAX || dict->len > MQTTSN_FRAME_DICT_MAX)
		return MQTTSN_ERR_INVALID;
	stream_init(&zs, ctx);
	if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return MQTTSN_FRAME_ERR_ZLIB;
	if (dict->len > 0 && deflateSetDictionary(&zs, dict->ptr, (uInt)dict->len) != Z_OK) {
		(void)deflateEnd(&zs);
		return MQTTSN_FRAME_ERR_ZLIB;
	}
	zs.next_in = in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	rc = deflate(&zs, Z_FINISH);
	n = (int)zs.total_out;
	(void)deflateEnd(&zs);
	if (rc == Z_STREAM_END)
		return n;
	if (rc == Z_OK || rc == Z_BUF_ERROR)
		return 0;
	return MQTTSN_FRAME_ERR_ZLIB;
}

/*
 * Inflate in[0..len) against dict into out[0..cap). The whole input must
 * be one complete stream. More output than cap is a bomb.
 */
static int inflate_into(struct mqttsn_frame_ctx *ctx, const struct mqttsn_frame_dict *dict,
                        const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream zs;
	int rc, n;
	uint8_t probe;

	stream_init(&zs, ctx);
	if (inflateInit2(&zs, -15) != Z_OK)
		return MQTTSN_FRAME_ERR_ZLIB;
	if (dict->len > 0 && inflateSetDictionary(&zs, dict->ptr, (uInt)dict->len) != Z_OK) {
		(void)inflateEnd(&zs);
		return MQTTSN_FRAME_ERR_ZLIB;
	}
	zs.next_in = in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	rc = inflate(&zs, Z_FINISH);
	if (rc != Z_STREAM_END && zs.avail_out == 0 && rc != Z_DATA_ERROR && rc != Z_MEM_ERROR) {
		/* Full: one more octet of output decides between exact fit and bomb. */
		zs.next_out = &probe;
		zs.avail_out = 1;
		rc = inflate(&zs, Z_FINISH);
		if (zs.avail_out == 0) {
			(void)inflateEnd(&zs);
			return MQTTSN_FRAME_ERR_BOMB;
		}
	}
	n = (int)zs.total_out;
	(void)inflateEnd(&zs);
	if (rc == Z_MEM_ERROR)
		return MQTTSN_FRAME_ERR_ZLIB;
	if (rc != Z_STREAM_END || zs.avail_in != 0)
		return MQTTSN_FRAME_ERR_INFLATE;
	return n;
}

/* ---------------------------------------------------------------- header */

bool mqttsn_frame_is_link(const uint8_t *buf, size_t len)
{
	return len >= 1 && buf[0] == MQTTSN_FRAME_MARK;
}

size_t mqttsn_frame_header_len(const struct mqttsn_frame_params *p, bool compressed)
{
	size_t n = 2;

	if (compressed)
		n += 1;
	if (p->key != NULL)
		n += p->wide ? 4u : 2u;
	return n;
}

static void make_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES], uint8_t direction,
                       uint64_t ctr)
{
	memset(nonce, 0, crypto_aead_chacha20poly1305_IETF_NPUBBYTES);
	nonce[0] = direction;
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(ctr >> (56 - 8 * i));
}

static size_t write_header(const struct mqttsn_frame_params *p, bool compressed, uint8_t *out)
{
	size_t n = 0;
	uint8_t flags = (uint8_t)(MQTTSN_FRAME_VERSION << 6);

	if (p->key != NULL)
		flags = (uint8_t)(flags | MQTTSN_FRAME_F_ENC | (p->key_id & 3u) | (p->wide ? MQTTSN_FRAME_F_WIDE : 0u));
	if (compressed)
		flags |= MQTTSN_FRAME_F_ZIP;
	if (p->fragment)
		flags |= MQTTSN_FRAME_F_FRAG;
	out[n++] = MQTTSN_FRAME_MARK;
	out[n++] = flags;
	if (compressed)
		out[n++] = p->dict->id;
	if (p->key != NULL) {
		if (p->wide) {
			out[n++] = (uint8_t)(p->counter >> 24);
			out[n++] = (uint8_t)(p->counter >> 16);
		}
		out[n++] = (uint8_t)(p->counter >> 8);
		out[n++] = (uint8_t)p->counter;
	}
	return n;
}

/* ---------------------------------------------------------------- seal */

int mqttsn_frame_seal(struct mqttsn_frame_ctx *ctx, const struct mqttsn_frame_params *p,
                      const uint8_t *content, size_t len, uint8_t *out, size_t cap)
{
	size_t tag = p->key != NULL ? MQTTSN_FRAME_TAG_LEN : 0u;
	size_t hz = mqttsn_frame_header_len(p, true);
	size_t hp = mqttsn_frame_header_len(p, false);
	size_t hdr, body = len;
	bool compressed = false;

	if ((content == NULL && len > 0) || len > MQTTSN_FRAME_CONTENT_MAX || p->key_id >= MQTTSN_FRAME_KEY_IDS ||
	    (p->dict != NULL && p->dict->ptr == NULL && p->dict->len > 0))
		return MQTTSN_ERR_INVALID;
	if (p->dict != NULL && len > 0 && cap > hz + tag) {
		/* Worth it only when the dictionary id octet is paid back. */
		size_t room = cap - hz - tag;
		int z;

		if (room > len)
			room = len;
		if (room > 1) {
			z = deflate_into(ctx, p->dict, content, len, out + hz, room - 1);
			if (z < 0)
				return z;
			if (z > 0) {
				compressed = true;
				body = (size_t)z;
			}
		}
	}
	hdr = compressed ? hz : hp;
	if (cap < hdr || body > cap - hdr || tag > cap - hdr - body || hdr + body + tag > MQTTSN_FRAME_MAX)
		return MQTTSN_ERR_NO_SPACE;
	if (!compressed && len > 0)
		memmove(out + hdr, content, len);
	(void)write_header(p, compressed, out);
	if (p->key != NULL) {
		uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

		make_nonce(nonce, p->direction, p->counter);
		if (crypto_aead_chacha20poly1305_ietf_encrypt_detached(out + hdr, out + hdr + body, NULL, out + hdr, body,
		                                                      out, hdr, NULL, nonce, p->key) != 0)
			return MQTTSN_ERR_INVALID;
	}
	return (int)(hdr + body + tag);
}

/* ---------------------------------------------------------------- open */

static const struct mqttsn_frame_dict *find_dict(const struct mqttsn_frame_dict *dicts, size_t n, uint8_t id)
{
	for (size_t i = 0; i < n; i++)
		if (dicts[i].id == id)
			return &dicts[i];
	return NULL;
}

int mqttsn_frame_open(struct mqttsn_frame_ctx *ctx, const struct mqttsn_link_keyring *keys,
                      const struct mqttsn_frame_dict *dicts, size_t ndicts, struct mqttsn_link_rx *rx,
                      uint8_t direction, const uint8_t *buf, size_t len, uint8_t *out, size_t cap,
                      struct mqttsn_frame_info *info)
{
	const struct mqttsn_frame_dict *dict = NULL;
	const uint8_t *body;
	size_t pos = 2, left, blen;
	uint8_t flags;
	int rc;

	if (buf == NULL || info == NULL || (out == NULL && cap > 0))
		return MQTTSN_ERR_INVALID;
	memset(info, 0, sizeof *info);
	if (len < 2 || buf[0] != MQTTSN_FRAME_MARK)
		return MQTTSN_FRAME_ERR_MALFORMED;
	flags = buf[1];
	if ((flags >> 6) != MQTTSN_FRAME_VERSION)
		return MQTTSN_FRAME_ERR_VERSION;
	info->flags = flags;
	info->encrypted = (flags & MQTTSN_FRAME_F_ENC) != 0;
	info->compressed = (flags & MQTTSN_FRAME_F_ZIP) != 0;
	info->fragment = (flags & MQTTSN_FRAME_F_FRAG) != 0;
	info->key_id = (uint8_t)(flags & 3u);
	if (!info->encrypted && (flags & (MQTTSN_FRAME_F_WIDE | 3u)) != 0)
		return MQTTSN_FRAME_ERR_MALFORMED;
	left = len - pos;
	if (info->compressed) {
		if (1 > left)
			return MQTTSN_FRAME_ERR_MALFORMED;
		info->dict_id = buf[pos];
		pos++;
		left--;
	}
	/* With keys, plain frames are refused: stripping E must not downgrade. */
	if (keys != NULL && !info->encrypted)
		return MQTTSN_FRAME_ERR_AUTH;
	if (info->encrypted) {
		size_t n = (flags & MQTTSN_FRAME_F_WIDE) ? 4u : 2u;
		uint32_t low = 0;

		if (n > left || MQTTSN_FRAME_TAG_LEN > left - n)
			return MQTTSN_FRAME_ERR_MALFORMED;
		for (size_t i = 0; i < n; i++)
			low = (low << 8) | buf[pos + i];
		pos += n;
		left -= n;
		if (keys == NULL || !keys->set[info->key_id])
			return MQTTSN_FRAME_ERR_KEY;
		if (rx == NULL)
			return MQTTSN_ERR_INVALID;
		info->counter = mqttsn_link_rx_expand(rx, low, (unsigned)(8 * n));
	}
	if (info->compressed) {
		dict = find_dict(dicts, ndicts, info->dict_id);
		if (dict == NULL)
			return MQTTSN_FRAME_ERR_DICT;
	}
	body = buf + pos;
	blen = left;
	if (info->encrypted) {
		uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

		rc = mqttsn_link_rx_check(rx, info->counter);
		if (rc != MQTTSN_OK)
			return rc;
		blen -= MQTTSN_FRAME_TAG_LEN;
		if (blen > sizeof ctx->scratch)
			return MQTTSN_FRAME_ERR_MALFORMED;
		make_nonce(nonce, direction, info->counter);
		if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(ctx->scratch, NULL, body, blen, body + blen, buf,
		                                                      pos, nonce, keys->key[info->key_id]) != 0)
			return MQTTSN_FRAME_ERR_AUTH;
		mqttsn_link_rx_mark(rx, info->counter);
		body = ctx->scratch;
	}
	if (info->compressed) {
		size_t lim = cap < MQTTSN_FRAME_CONTENT_MAX ? cap : MQTTSN_FRAME_CONTENT_MAX;

		if (blen > UINT32_MAX)
			return MQTTSN_FRAME_ERR_MALFORMED;
		rc = inflate_into(ctx, dict, body, blen, out, lim);
		if (rc == MQTTSN_FRAME_ERR_BOMB && lim < MQTTSN_FRAME_CONTENT_MAX)
			return MQTTSN_ERR_NO_SPACE;
		return rc;
	}
	if (blen > cap)
		return MQTTSN_ERR_NO_SPACE;
	if (blen > 0)
		memmove(out, body, blen);
	return (int)blen;
}
