/*
 * link.c - the station's framed transport (link.h): MQTT-SN messages in
 * link frames over an inner transport.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sodium.h>

#include "sn-client/clock.h"
#include "sn-client/link.h"

/* A failed state write is tried again after this long, not in a busy loop. */
#define PERSIST_RETRY_MS 1000u
/* Inner datagrams one recv() reads at most before it lets the loop turn. */
#define RECV_BURST 64

struct view {
	const uint8_t *ptr;
	size_t len;
};

struct snc_linkt {
	struct snc_transport base; /* first: a struct snc_linkt * is a transport */
	struct snc_transport *inner;
	struct snc_linkt_conf conf;
	char *state_path;
	int lockfd;
	struct snc_linkt_state saved; /* what the state file holds */
	struct mqttsn_link *link;
	struct snc_linkt_stats stats;
	uint64_t retry_at;            /* after a failed state write: not before */
	struct mqttsn_frame_dict dict;  /* a copy of conf.link.dict */
	uint8_t *dict_buf;

	/* The messages of the last frame opened: views into content or into
	 * the link's reassembly table, valid until the next frame is opened,
	 * which happens only once they are all handed out. */
	struct view rxq[SNC_LINKT_RXQ];
	size_t rx_head, rx_count;

	struct mqttsn_frame_ctx ctx;
	uint8_t content[MQTTSN_FRAME_CONTENT_MAX];
	uint8_t frame[MQTTSN_FRAME_MAX];
	uint8_t in[65536];
};

static uint64_t now_ms(const struct snc_linkt *lt)
{
	return lt->conf.clock != NULL ? lt->conf.clock(lt->conf.clock_arg) : snc_clock_mono_ms();
}

/* ---------------------------------------------------------------- counters */

/* Write the state with saved changed to next; SNC_OK or SNC_ERR_IO (err in base). */
static int persist(struct snc_linkt *lt, const struct snc_linkt_state *next)
{
	if (lt->state_path != NULL &&
	    snc_linkt_state_save(lt->state_path, next, lt->base.err, sizeof lt->base.err) != SNC_OK) {
		lt->stats.persist_failed++;
		return SNC_ERR_IO;
	}
	lt->saved = *next;
	return SNC_OK;
}

/* Reserve counters: the mark the link wants goes to disk first. */
static int reserve(struct snc_linkt *lt, uint64_t now)
{
	struct snc_linkt_state next = lt->saved;
	uint64_t want = mqttsn_link_tx_want(lt->link);

	if (want == 0) {
		snprintf(lt->base.err, sizeof lt->base.err, "link: frame counters exhausted: give the station a new key");
		return SNC_ERR_IO;
	}
	next.tx_mark = want;
	if (persist(lt, &next) != SNC_OK) {
		lt->retry_at = now + PERSIST_RETRY_MS;
		return SNC_ERR_IO;
	}
	mqttsn_link_tx_persisted(lt->link, want);
	lt->retry_at = 0;
	return SNC_OK;
}

/* ---------------------------------------------------------------- sending */

/* Transmit every frame due at now. SNC_OK, or SNC_ERR_IO with the reason in err. */
static int pump(struct snc_linkt *lt, uint64_t now)
{
	int rc = SNC_OK;

	if (lt->retry_at > now)
		return SNC_OK;
	for (int guard = 0; guard < 4096; guard++) {
		int n = mqttsn_link_next_frame(lt->link, &lt->ctx, now, lt->frame, sizeof lt->frame);

		if (n == MQTTSN_FRAME_ERR_COUNTER) {
			if (reserve(lt, now) != SNC_OK)
				return SNC_ERR_IO;
			continue;
		}
		if (n == 0)
			return rc;
		if (n < 0) {
			snprintf(lt->base.err, sizeof lt->base.err, "link: %s", mqttsn_frame_strerror(n));
			rc = SNC_ERR_IO;
			continue;
		}
		/* A failed send is a lost frame: MQTT-SN retransmission copes. */
		if (lt->inner->ops->send(lt->inner, lt->frame, (size_t)n, false) != SNC_OK) {
			snprintf(lt->base.err, sizeof lt->base.err, "%s", lt->inner->err);
			rc = SNC_ERR_IO;
		}
	}
	return rc;
}

/* The MQTT-SN message type of buf (5.2.2), or -1 when too short. */
static int msg_type(const uint8_t *buf, size_t len)
{
	if (len >= 4 && buf[0] == 0x01)
		return buf[3];
	if (len >= 2 && buf[0] != 0x01)
		return buf[1];
	return -1;
}

static int linkt_send(struct snc_transport *t, const uint8_t *buf, size_t len, bool broadcast)
{
	struct snc_linkt *lt = (struct snc_linkt *)t;
	uint64_t now = now_ms(lt);
	int rc;

	/* SEARCHGW goes to whoever listens: plain, as discovery expects. */
	if (broadcast) {
		rc = lt->inner->ops->send(lt->inner, buf, len, true);
		if (rc != SNC_OK)
			snprintf(t->err, sizeof t->err, "%s", lt->inner->err);
		return rc;
	}
	rc = mqttsn_link_send(lt->link, &lt->ctx, buf, len, now);
	if (rc != MQTTSN_OK) {
		lt->stats.tx_refused++;
		snprintf(t->err, sizeof t->err, "link: %s",
		         rc == MQTTSN_ERR_NO_SPACE ? "queue of the link full" : mqttsn_frame_strerror(rc));
		return SNC_ERR_IO;
	}
	/* Nothing follows a DISCONNECT for a while: it must not wait for company. */
	if (msg_type(buf, len) == MQTTSN_DISCONNECT)
		mqttsn_link_flush(lt->link);
	return pump(lt, now);
}

int snc_linkt_flush(struct snc_linkt *lt)
{
	mqttsn_link_flush(lt->link);
	lt->retry_at = 0;
	return pump(lt, now_ms(lt));
}

static uint64_t linkt_deadline(const struct snc_transport *t)
{
	const struct snc_linkt *lt = (const struct snc_linkt *)t;
	uint64_t d = mqttsn_link_deadline(lt->link);

	return d < lt->retry_at ? lt->retry_at : d;
}

static int linkt_tick(struct snc_transport *t, uint64_t now)
{
	return pump((struct snc_linkt *)t, now);
}

/* ---------------------------------------------------------------- receiving */

static void on_msg(void *arg, const uint8_t *msg, size_t len)
{
	struct snc_linkt *lt = arg;

	if (lt->rx_count == SNC_LINKT_RXQ) {
		lt->stats.rx_dropped++;
		return;
	}
	lt->rxq[(lt->rx_head + lt->rx_count) % SNC_LINKT_RXQ] = (struct view){ msg, len };
	lt->rx_count++;
}

/* Open one inner datagram; its messages (if any) go into rxq. */
static void take_datagram(struct snc_linkt *lt, size_t len)
{
	struct mqttsn_frame_info info;
	uint64_t highest;
	int n;

	n = mqttsn_link_open(lt->link, &lt->ctx, lt->in, len, lt->content, sizeof lt->content, &info);
	if (n < 0)
		return; /* counted by the link */
	if (mqttsn_link_rx_changed(lt->link, &highest)) {
		struct snc_linkt_state next = lt->saved;

		next.rx_any = true;
		next.rx_highest = highest;
		/* Delivered even when the write failed: a station that cannot write
		 * its disk had better still hear its gateway. Counted. */
		if (persist(lt, &next) == SNC_OK)
			mqttsn_link_rx_persisted(lt->link, highest);
	}
	lt->rx_head = 0;
	(void)mqttsn_link_deliver(lt->link, lt->content, (size_t)n, &info, on_msg, lt);
}

static int linkt_recv(struct snc_transport *t, uint8_t *buf, size_t cap)
{
	struct snc_linkt *lt = (struct snc_linkt *)t;

	for (int guard = 0; guard < RECV_BURST; guard++) {
		int n;

		if (lt->rx_count > 0) {
			struct view v = lt->rxq[lt->rx_head];

			lt->rx_head = (lt->rx_head + 1) % SNC_LINKT_RXQ;
			lt->rx_count--;
			if (v.len > cap) {
				lt->stats.rx_dropped++;
				continue;
			}
			memcpy(buf, v.ptr, v.len);
			return (int)v.len;
		}
		n = lt->inner->ops->recv(lt->inner, lt->in, sizeof lt->in);
		if (n == SNC_ERR_EMPTY)
			return SNC_ERR_EMPTY;
		if (n < 0) {
			snprintf(t->err, sizeof t->err, "%s", lt->inner->err);
			return n;
		}
		if (!mqttsn_frame_is_link(lt->in, (size_t)n)) {
			if (!lt->conf.accept_plain || (size_t)n > cap) {
				lt->stats.plain_refused++;
				continue;
			}
			memcpy(buf, lt->in, (size_t)n);
			return n;
		}
		take_datagram(lt, (size_t)n);
	}
	/* More may wait: the descriptor is still readable, the loop comes back. */
	return SNC_ERR_EMPTY;
}

static int linkt_fd(const struct snc_transport *t)
{
	const struct snc_linkt *lt = (const struct snc_linkt *)t;

	return lt->inner->ops->fd(lt->inner);
}

static void linkt_close(struct snc_transport *t)
{
	struct snc_linkt *lt = (struct snc_linkt *)t;

	/* Whatever is queued goes out now: it was sent as far as the core knows.
	 * Nobody is left to hear of a failure: the frames are lost datagrams. */
	if (snc_linkt_flush(lt) != SNC_OK)
		lt->stats.tx_refused += mqttsn_link_queued_msgs(lt->link);
	mqttsn_link_free(lt->link);
	lt->inner->ops->close(lt->inner);
	if (lt->lockfd >= 0)
		close(lt->lockfd);
	free(lt->state_path);
	free(lt->dict_buf);
	sodium_memzero(&lt->conf.link.keys, sizeof lt->conf.link.keys);
	free(lt);
}

static const struct snc_transport_ops linkt_ops = {
	linkt_send, linkt_recv, linkt_fd, linkt_close, linkt_deadline, linkt_tick,
};

/* ---------------------------------------------------------------- opening */

/* Lock PATH.lock so that no other process seals with the same counters. */
static int lock_state(struct snc_linkt *lt, char *err, size_t errcap)
{
	size_t n = strlen(lt->state_path) + sizeof ".lock";
	char *p = malloc(n);
	int rc = SNC_OK;

	if (p == NULL)
		return SNC_ERR_NOMEM;
	snprintf(p, n, "%s.lock", lt->state_path);
	lt->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lt->lockfd < 0) {
		snprintf(err, errcap, "%s: open: %s", p, strerror(errno));
		rc = SNC_ERR_IO;
	} else if (flock(lt->lockfd, LOCK_EX | LOCK_NB) != 0) {
		bool busy = errno == EWOULDBLOCK;

		snprintf(err, errcap, "%s: %s", p,
		         busy ? "in use by another process (two senders must never share frame counters)"
		              : strerror(errno));
		rc = busy ? SNC_ERR_BUSY : SNC_ERR_IO;
	}
	free(p);
	return rc;
}

int snc_linkt_open(struct snc_linkt **out, const struct snc_linkt_conf *conf, struct snc_transport *inner,
                   char *err, size_t errcap)
{
	struct snc_linkt *lt;
	struct mqttsn_link_conf lc;
	int rc;

	*out = NULL;
	if (conf == NULL || inner == NULL) {
		snprintf(err, errcap, "link: no configuration");
		return SNC_ERR_INVALID;
	}
	lt = calloc(1, sizeof *lt);
	if (lt == NULL) {
		snprintf(err, errcap, "link: out of memory");
		return SNC_ERR_NOMEM;
	}
	lt->base.ops = &linkt_ops;
	lt->inner = inner;
	lt->conf = *conf;
	lt->lockfd = -1;
	if (conf->state_path != NULL) {
		lt->state_path = strdup(conf->state_path);
		if (lt->state_path == NULL) {
			free(lt);
			snprintf(err, errcap, "link: out of memory");
			return SNC_ERR_NOMEM;
		}
		rc = lock_state(lt, err, errcap);
		if (rc == SNC_OK) {
			rc = snc_linkt_state_load(lt->state_path, &lt->saved, err, errcap);
			if (rc == SNC_ERR_NOT_FOUND)
				rc = SNC_OK;
		}
		if (rc != SNC_OK)
			goto failed;
	}
	lc = conf->link;
	lc.direction = MQTTSN_LINK_UP;
	if (lc.dict != NULL) {
		lt->dict = *lc.dict;
		lt->dict_buf = malloc(lc.dict->len > 0 ? lc.dict->len : 1u);
		if (lt->dict_buf == NULL) {
			snprintf(err, errcap, "link: out of memory");
			rc = SNC_ERR_NOMEM;
			goto failed;
		}
		if (lc.dict->len > 0)
			memcpy(lt->dict_buf, lc.dict->ptr, lc.dict->len);
		lt->dict.ptr = lt->dict_buf;
		lc.dict = &lt->dict;
		lc.dicts = &lt->dict;
		lc.ndicts = 1;
	}
	lt->link = mqttsn_link_new(&lc, lt->saved.tx_mark, lt->saved.rx_any ? lt->saved.rx_highest + 1 : 0);
	if (lt->link == NULL) {
		snprintf(err, errcap, "link: bad configuration (mtu %zu too small or too large, or no key under "
		         "id %u)", lc.mtu, (unsigned)lc.key_id);
		rc = SNC_ERR_INVALID;
		goto failed;
	}
	if (lt->saved.rx_any)
		mqttsn_link_rx_persisted(lt->link, lt->saved.rx_highest);
	*out = lt;
	return SNC_OK;

failed:
	if (lt->lockfd >= 0)
		close(lt->lockfd);
	free(lt->state_path);
	free(lt->dict_buf);
	sodium_memzero(&lt->conf.link.keys, sizeof lt->conf.link.keys);
	free(lt);
	return rc;
}

struct snc_transport *snc_linkt_transport(struct snc_linkt *lt)
{
	return &lt->base;
}

const struct mqttsn_link *snc_linkt_link(const struct snc_linkt *lt)
{
	return lt->link;
}

const struct snc_linkt_stats *snc_linkt_stats(const struct snc_linkt *lt)
{
	return &lt->stats;
}
