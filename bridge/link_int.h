/*
 * link_int.h - what the files of the bridge's link layer (link*.c) share;
 * not for use outside them.
 */
#ifndef SNBRIDGE_BRIDGE_LINK_INT_H
#define SNBRIDGE_BRIDGE_LINK_INT_H

#include "bridge/link.h"

/* Messages one frame can carry: an item is at least 2 octets. */
#define LINK_ITEMS_MAX (MQTTSN_FRAME_CONTENT_MAX / 2u + 1u)

struct station;

/* One address bound to a station: a node of the address map. */
struct binding {
	struct gw_addr addr;
	bool used;
	struct station *st;
	struct binding *next;   /* in its bucket */
};

/*
 * A station of the key file (key != NULL) or a peer of unencrypted frames
 * (key == NULL, known only by its address).
 */
struct station {
	const struct gw_station_key *key;
	struct mqttsn_link *link;
	struct binding b[2];    /* [0]: where frames go; [1]: the address before */
	uint64_t tx_mark;       /* saved high-water mark of the sending counter */
	uint64_t rx_floor;      /* saved: counters below it are refused */
	uint64_t retry_at;      /* saving failed: not before this */
	uint64_t last_seen;     /* peers: the last frame, to evict the oldest */
	size_t active;          /* position in the active list plus one; 0: not in it */
};

/* Log rate limiting, per cause. */
enum link_cause {
	C_PLAIN_REFUSED,
	C_PLAIN_FORGED,
	C_ID,
	C_UNKNOWN,
	C_THROTTLED,
	C_PLAIN_FRAME,
	C_BAD_FRAME,
	C_PEERS,
	C_STATE,
	C_SEND,
	C_COUNT,
};

struct gw_link {
	struct gw_link_config cfg;
	struct gw_link_ops ops;
	void *ctx;
	bool require[256], plain_ok[256];
	size_t mtu[256];               /* per link number; 0: cfg.mtu */

	struct gw_link_keys *keys;     /* owned */
	struct station **keyed;        /* parallel to keys->st */
	size_t n_keyed;
	struct station **peers;
	size_t n_peers;

	struct binding **buckets;
	size_t n_buckets;              /* a power of two */
	size_t n_bound;

	struct station **active;       /* stations with queued messages */
	size_t n_active, cap_active;

	double tokens;                 /* probe budget */
	uint64_t tokens_at;

	struct gw_link_stats stats;
	struct mqttsn_link_stats retired; /* of links freed */
	struct { uint64_t at, suppressed; bool any; } logged[C_COUNT];

	struct mqttsn_frame_ctx *fctx;
	uint8_t content[MQTTSN_FRAME_CONTENT_MAX];
	uint8_t out[MQTTSN_FRAME_MAX];
	struct mqttsn_bytes items[LINK_ITEMS_MAX];
	size_t n_items;
};

/* link.c */
struct binding *link_lookup(const struct gw_link *gl, const struct gw_addr *a);
void link_bind(struct gw_link *gl, struct station *s, const struct gw_addr *a);
struct station *link_peer_new(struct gw_link *gl, const struct gw_addr *a, uint64_t now);
bool link_log_due(struct gw_link *gl, enum link_cause c, uint64_t now, uint64_t *suppressed);
const char *link_more(uint64_t quiet, char *buf, size_t cap);
const char *link_addr(const struct gw_link *gl, const struct gw_addr *a, char *buf, size_t cap);
const char *link_name(const struct station *s);
int link_save(struct gw_link *gl, struct station *s, uint64_t tx_mark, uint64_t rx_floor,
              uint64_t now);

/* link_tx.c */
void link_emit(struct gw_link *gl, struct station *s, uint64_t now);
void link_queue(struct gw_link *gl, struct station *s, const uint8_t *msg, size_t len,
                uint64_t now);
void link_active_remove(struct gw_link *gl, struct station *s);

#endif
