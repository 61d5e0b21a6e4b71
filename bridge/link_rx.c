/*
 * link_rx.c - the bridge's link layer, receiving: plain MQTT-SN or a
 * frame, finding the station a frame belongs to, the client id a key may
 * use, and the messages handed to the core.
 */
#include "bridge/link_int.h"

#include <string.h>

#include "bridge/log.h"

/* ---------------------------------------------------------------- client ids */

enum claim { CLAIM_NONE, CLAIM_ID, CLAIM_ENCAP };

/*
 * The client id msg speaks for: a CONNECT's or a PINGREQ's (waking a
 * sleeping client, 6.14), or CLAIM_ENCAP with *id the inner message of a
 * forwarder's 0xFE. Anything else, malformed included (the core counts
 * that), claims nothing. Only the three types are decoded.
 */
static enum claim claimed(const uint8_t *msg, size_t len, struct mqttsn_bytes *id, int *type)
{
	struct mqttsn_msg m;
	size_t hdr = len >= 1 && msg[0] == 0x01 ? 3 : 1;
	*type = -1;
	if (len <= hdr)
		return CLAIM_NONE;
	*type = msg[hdr];
	if (*type != MQTTSN_CONNECT && *type != MQTTSN_PINGREQ && *type != MQTTSN_ENCAPSULATED)
		return CLAIM_NONE;
	if (mqttsn_decode(msg, len, &m) != MQTTSN_OK)
		return CLAIM_NONE;
	if (m.type == MQTTSN_ENCAPSULATED) {
		*id = m.u.encap.inner;
		return CLAIM_ENCAP;
	}
	*id = m.type == MQTTSN_CONNECT ? m.u.connect.client_id : m.u.pingreq.client_id;
	return id->len > 0 ? CLAIM_ID : CLAIM_NONE;
}

/* Whether a sender without a key (plain, or unencrypted frames) may send msg. */
static bool keyless_ok(const struct gw_link *gl, const uint8_t *msg, size_t len, int *type)
{
	struct mqttsn_bytes id;
	enum claim c = claimed(msg, len, &id, type);
	if (c == CLAIM_ENCAP) {
		int inner_type;
		/* 0xFE cannot nest (the decoder refuses it): one level. */
		c = claimed(id.ptr, id.len, &id, &inner_type);
		if (c == CLAIM_ENCAP)
			return false;
		*type = inner_type;
	}
	return c != CLAIM_ID || gw_link_keys_find(gl->keys, (const char *)id.ptr, id.len) == NULL;
}

/* Whether station s (with a key) may send msg: only for its own client id. */
static bool keyed_ok(const struct station *s, const uint8_t *msg, size_t len, int *type,
                     struct mqttsn_bytes *id)
{
	enum claim c = claimed(msg, len, id, type);
	if (c == CLAIM_ENCAP) {
		id->len = 0;
		return false;
	}
	return c != CLAIM_ID || (id->len == s->key->client_id_len &&
	                         memcmp(id->ptr, s->key->client_id, id->len) == 0);
}

/* CONNACK "rejected: not supported" (5.3.10) to a CONNECT that was refused. */
static void refuse(struct gw_link *gl, struct station *s, const struct gw_addr *to, int type,
                   uint64_t now)
{
	static const uint8_t connack[] = {0x03, MQTTSN_CONNACK, MQTTSN_RC_NOT_SUPPORTED};
	if (type != MQTTSN_CONNECT)
		return;
	if (s != NULL)
		link_queue(gl, s, connack, sizeof connack, now);
	else
		gl->ops.transmit(gl->ctx, to, connack, sizeof connack);
}

static void log_id(struct gw_link *gl, const char *who, const struct gw_addr *from,
                   const struct mqttsn_bytes *id, uint64_t now)
{
	uint64_t quiet;
	char more[64];
	char where[96], shown[2 * MQTTSN_CLIENT_ID_MAX + 8];
	if (!link_log_due(gl, C_ID, now, &quiet))
		return;
	size_t n = 0;
	for (size_t i = 0; i < id->len && n + 5 < sizeof shown; i++) {
		unsigned char ch = id->ptr[i];
		shown[n++] = ch > ' ' && ch < 0x7F ? (char)ch : '?';
	}
	shown[n] = '\0';
	gw_log(GW_LOG_WARN, "link: %s from %s may not speak for client id \"%s\": refused"
	       "%s", who, link_addr(gl, from, where, sizeof where), shown,
	       link_more(quiet, more, sizeof more));
}

/* ---------------------------------------------------------------- plain MQTT-SN */

static void plain(struct gw_link *gl, const struct gw_addr *from, const uint8_t *buf, size_t len,
                  uint64_t now)
{
	uint64_t quiet;
	char more[64];
	char where[96];
	int type;
	if (gl->require[from->link]) {
		gl->stats.plain_refused++;
		if (link_log_due(gl, C_PLAIN_REFUSED, now, &quiet))
			gw_log(GW_LOG_WARN, "link: plain MQTT-SN from %s on a listener that requires link "
			       "frames: dropped%s", link_addr(gl, from, where, sizeof where),
			       link_more(quiet, more, sizeof more));
		return;
	}
	const struct binding *b = gl->n_bound > 0 ? link_lookup(gl, from) : NULL;
	if (b != NULL && b->st->key != NULL) {
		gl->stats.plain_forged++;
		if (link_log_due(gl, C_PLAIN_FORGED, now, &quiet))
			gw_log(GW_LOG_WARN, "link: plain MQTT-SN from %s, the address of station %s, which "
			       "sends link frames: dropped%s",
			       link_addr(gl, from, where, sizeof where), b->st->key->client_id,
			       link_more(quiet, more, sizeof more));
		return;
	}
	if (gl->keys->n > 0 && !keyless_ok(gl, buf, len, &type)) {
		struct mqttsn_bytes id;
		gl->stats.id_refused++;
		int t;
		if (claimed(buf, len, &id, &t) == CLAIM_ENCAP)
			(void)claimed(id.ptr, id.len, &id, &t);
		log_id(gl, "a plain client", from, &id, now);
		refuse(gl, NULL, from, type, now);
		return;
	}
	gl->ops.deliver(gl->ctx, from, buf, len, now);
}

/* ---------------------------------------------------------------- frames */

static void collect(void *arg, const uint8_t *msg, size_t len)
{
	struct gw_link *gl = arg;
	if (gl->n_items < LINK_ITEMS_MAX)
		gl->items[gl->n_items++] = (struct mqttsn_bytes){.ptr = msg, .len = len};
}

/*
 * A station whose keys open buf, other than skip, within the probe budget;
 * NULL when none (*throttled: not every candidate was tried).
 */
static struct station *find_station(struct gw_link *gl, const uint8_t *buf, size_t len,
                                    const struct station *skip, uint64_t now, bool *throttled)
{
	uint8_t kid = buf[1] & (MQTTSN_FRAME_KEY_IDS - 1u);
	*throttled = false;
	if (now > gl->tokens_at) {
		gl->tokens += (double)(now - gl->tokens_at) * GW_LINK_PROBE_RATE / 1000.0;
		if (gl->tokens > GW_LINK_PROBE_RATE)
			gl->tokens = GW_LINK_PROBE_RATE;
	}
	gl->tokens_at = now;
	for (size_t i = 0; i < gl->n_keyed; i++) {
		struct station *s = gl->keyed[i];
		if (s == skip || !s->key->ring.set[kid])
			continue;
		if (gl->tokens < 1.0) {
			*throttled = true;
			return NULL;
		}
		gl->tokens -= 1.0;
		gl->stats.probes++;
		if (mqttsn_link_probe(s->link, gl->fctx, buf, len))
			return s;
	}
	return NULL;
}

static void log_frame(struct gw_link *gl, const struct station *s, const struct gw_addr *from,
                      int err, uint64_t now)
{
	uint64_t quiet;
	char more[64];
	char where[96];
	if (link_log_due(gl, C_BAD_FRAME, now, &quiet))
		gw_log(GW_LOG_WARN, "link %s: frame from %s refused: %s%s", link_name(s),
		       link_addr(gl, from, where, sizeof where), mqttsn_frame_strerror(err),
		       link_more(quiet, more, sizeof more));
}

/* An opened frame of n content octets from s at from: save, bind, deliver. */
static void accept(struct gw_link *gl, struct station *s, const struct gw_addr *from, int n,
                   const struct mqttsn_frame_info *info, uint64_t now)
{
	uint64_t highest;
	link_bind(gl, s, from);
	s->last_seen = now;
	/* Answer in the dictionary the station compresses with: it has that one. */
	if (info->compressed) {
		const struct mqttsn_frame_dict *d = gw_link_keys_dict(gl->keys, info->dict_id);

		if (d != NULL && d != mqttsn_link_dict(s->link) &&
		    mqttsn_link_set_dict(s->link, gl->fctx, d) != MQTTSN_OK)
			gw_log(GW_LOG_ERR, "link: dictionary %u refused by the frame code", (unsigned)d->id);
	}
	/* Saved before acting on it: after a crash this frame cannot come again. */
	if (s->key != NULL && mqttsn_link_rx_changed(s->link, &highest) &&
	    link_save(gl, s, s->tx_mark, highest + 1, now) == 0)
		mqttsn_link_rx_persisted(s->link, highest);
	gl->n_items = 0;
	int rc = mqttsn_link_deliver(s->link, gl->content, (size_t)n, info, collect, gl);
	if (rc < 0)
		log_frame(gl, s, from, rc, now);
	/* The items are views into gl->content or the link's reassembly: stable until the next open. */
	size_t count = gl->n_items;
	for (size_t i = 0; i < count; i++) {
		const uint8_t *msg = gl->items[i].ptr;
		size_t len = gl->items[i].len;
		struct mqttsn_bytes id = {0};
		int type;
		bool fine = s->key != NULL ? keyed_ok(s, msg, len, &type, &id)
		                           : gl->keys->n == 0 || keyless_ok(gl, msg, len, &type);
		if (!fine) {
			gl->stats.id_refused++;
			if (s->key == NULL) {
				int t;
				if (claimed(msg, len, &id, &t) == CLAIM_ENCAP)
					(void)claimed(id.ptr, id.len, &id, &t);
			}
			log_id(gl, s->key != NULL ? s->key->client_id : "an unencrypted peer", from, &id, now);
			refuse(gl, s, from, type, now);
			continue;
		}
		gl->ops.deliver(gl->ctx, from, msg, len, now);
	}
}

static void framed(struct gw_link *gl, const struct gw_addr *from, const uint8_t *buf, size_t len,
                   uint64_t now)
{
	struct binding *b = link_lookup(gl, from);
	struct station *s = b != NULL ? b->st : NULL;
	struct mqttsn_frame_info info;
	bool enc = len >= 2 && (buf[1] & MQTTSN_FRAME_F_ENC) != 0, throttled;
	uint64_t quiet;
	char more[64];
	char where[96];
	int n;

	/* A peer's address now sending encrypted frames: a station took it over. */
	if (s != NULL && s->key == NULL && enc)
		s = NULL;
	if (s != NULL) {
		n = mqttsn_link_open(s->link, gl->fctx, buf, len, gl->content, sizeof gl->content, &info);
		if (n >= 0) {
			accept(gl, s, from, n, &info, now);
			return;
		}
		struct station *t = NULL;
		/* Another station behind the same address (NAT)? Only its key can tell. */
		if (s->key != NULL && enc && (n == MQTTSN_FRAME_ERR_AUTH || n == MQTTSN_FRAME_ERR_KEY))
			t = find_station(gl, buf, len, s, now, &throttled);
		if (t == NULL) {
			log_frame(gl, s, from, n, now);
			return;
		}
		s = t;
	} else if (len < 2 || (buf[1] >> 6) != MQTTSN_FRAME_VERSION) {
		gl->stats.bad_unbound++;
		if (link_log_due(gl, C_BAD_FRAME, now, &quiet))
			gw_log(GW_LOG_WARN, "link: frame from %s refused: %s%s",
			       link_addr(gl, from, where, sizeof where),
			       mqttsn_frame_strerror(len < 2 ? MQTTSN_FRAME_ERR_MALFORMED : MQTTSN_FRAME_ERR_VERSION),
			       link_more(quiet, more, sizeof more));
		return;
	} else if (!enc) {
		if (!gl->plain_ok[from->link]) {
			gl->stats.plain_frame_refused++;
			if (link_log_due(gl, C_PLAIN_FRAME, now, &quiet))
				gw_log(GW_LOG_WARN, "link: unencrypted frame from %s where link_plain_ok is off: "
				       "dropped%s", link_addr(gl, from, where, sizeof where),
				       link_more(quiet, more, sizeof more));
			return;
		}
		s = link_peer_new(gl, from, now);
		if (s == NULL)
			return;
	} else {
		s = find_station(gl, buf, len, NULL, now, &throttled);
		if (s == NULL) {
			if (throttled)
				gl->stats.probe_throttled++;
			else
				gl->stats.unknown_station++;
			if (link_log_due(gl, throttled ? C_THROTTLED : C_UNKNOWN, now, &quiet))
				gw_log(GW_LOG_WARN, "link: frame from %s with key id %u %s: dropped%s",
				       link_addr(gl, from, where, sizeof where), buf[1] & 3u,
				       throttled ? "not tried against every station: over the budget of "
				                   "trials a second"
				                 : "opens under no station's key",
				       link_more(quiet, more, sizeof more));
			return;
		}
	}
	n = mqttsn_link_open(s->link, gl->fctx, buf, len, gl->content, sizeof gl->content, &info);
	if (n < 0) {
		log_frame(gl, s, from, n, now);
		return;
	}
	if (s->key != NULL && (!b || b->st != s))
		gw_log(GW_LOG_INFO, "link %s: frames now from %s", s->key->client_id,
		       link_addr(gl, from, where, sizeof where));
	accept(gl, s, from, n, &info, now);
}

void gw_link_on_datagram(struct gw_link *gl, const struct gw_addr *from, const uint8_t *buf,
                         size_t len, uint64_t now)
{
	if (len == 0 || buf[0] != MQTTSN_FRAME_MARK)
		plain(gl, from, buf, len, now);
	else
		framed(gl, from, buf, len, now);
}
