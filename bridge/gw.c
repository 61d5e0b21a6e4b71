/*
 * gw.c - the gateway core: lifecycle, datagram dispatch, timers.
 *
 * Every datagram is decoded once here; the handlers in the other gw_*.c
 * files get a decoded message and the session its endpoint belongs to.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/gw_int.h"

/* ---------------------------------------------------------------- config */

void gw_config_defaults(struct gw_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->gw_id = 1;
	cfg->mode = GW_MODE_TRANSPARENT;
	cfg->allow_qos_m1 = true;
	cfg->advertise_interval_s = 900;   /* Table 30: T_ADV greater than 15 minutes */
	cfg->max_clients = 10000;
	cfg->max_topics = 128;
	cfg->max_sleep_buffer = 100;
	cfg->max_pending = 100;
	cfg->max_msg_size = 4096;
	cfg->retry_initial_ms = 10000;
	cfg->retry_min_ms = 2000;
	cfg->retry_max_ms = 120000;
	cfg->retry_count = 5;
	cfg->connect_timeout_ms = 60000;
	cfg->max_inflight = 64; /* a link frame brings some 30 PUBLISHes at once */
	cfg->max_subscriptions = 64;
	cfg->log_interval_ms = 60000;
}

/* Values that would break an invariant are pulled into range, not refused. */
static void config_clamp(struct gw_config *c)
{
	if (c->max_clients == 0)
		c->max_clients = 1;
	if (c->max_clients > GW_MAX_CLIENTS)
		c->max_clients = GW_MAX_CLIENTS;
	if (c->max_topics > 0xFFFEu)
		c->max_topics = 0xFFFEu;
	if (c->max_msg_size > MQTTSN_MSG_MAX)
		c->max_msg_size = MQTTSN_MSG_MAX;
	/* the smallest PUBLISH: 7 octets; anything below refuses everything */
	if (c->max_msg_size < 16)
		c->max_msg_size = 16;
	if (c->retry_min_ms == 0)
		c->retry_min_ms = 1;
	if (c->retry_max_ms < c->retry_min_ms)
		c->retry_max_ms = c->retry_min_ms;
	if (c->retry_initial_ms < c->retry_min_ms)
		c->retry_initial_ms = c->retry_min_ms;
	if (c->retry_initial_ms > c->retry_max_ms)
		c->retry_initial_ms = c->retry_max_ms;
	if (c->retry_count > 255)
		c->retry_count = 255;
	if (c->max_inflight == 0)
		c->max_inflight = 1;
	if (c->max_inflight > 0xFFFFu)
		c->max_inflight = 0xFFFFu;
	if (c->connect_timeout_ms == 0)
		c->connect_timeout_ms = 1;
}

/* ---------------------------------------------------------------- lifecycle */

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 64;

	while (p < n && p < (1u << 20))
		p <<= 1;
	return p;
}

struct gw *gw_new(const struct gw_config *cfg, const struct gw_ops *ops, void *ctx)
{
	struct gw *gw = calloc(1, sizeof *gw);
	uint32_t i, buckets;

	if (gw == NULL)
		return NULL;
	gw->cfg = *cfg;
	config_clamp(&gw->cfg);
	gw->ops = *ops;
	gw->ctx = ctx;
	gw->nslots = gw->cfg.max_clients;
	buckets = pow2_at_least(gw->nslots);
	gw->bucket_mask = buckets - 1;
	gw->filter_mask = pow2_at_least(gw->nslots / 4) - 1;
	gw->slots = calloc(gw->nslots, sizeof *gw->slots);
	gw->free_slots = malloc(gw->nslots * sizeof *gw->free_slots);
	gw->by_id = calloc(buckets, sizeof *gw->by_id);
	gw->by_ep = calloc(buckets, sizeof *gw->by_ep);
	gw->heap = malloc(gw->nslots * sizeof *gw->heap);
	gw->tx = malloc(MQTTSN_MSG_MAX);
	gw->tx2 = malloc(MQTTSN_MSG_MAX);
	if (gw_aggregating(gw))
		gw->filters = calloc((size_t)gw->filter_mask + 1, sizeof *gw->filters);
	if (gw->slots == NULL || gw->free_slots == NULL || gw->by_id == NULL ||
	    gw->by_ep == NULL || gw->heap == NULL || gw->tx == NULL || gw->tx2 == NULL ||
	    (gw_aggregating(gw) && gw->filters == NULL)) {
		gw_free(gw);
		return NULL;
	}
	/* lowest slots first, so small deployments touch little memory */
	for (i = 0; i < gw->nslots; i++)
		gw->free_slots[i] = gw->nslots - 1 - i;
	gw->nfree = gw->nslots;
	gw->shared_wanted = gw_aggregating(gw) || gw->cfg.allow_qos_m1;
	return gw;
}

void gw_free(struct gw *gw)
{
	uint32_t i;

	if (gw == NULL)
		return;
	gw->freeing = true;
	if (gw->slots != NULL) {
		for (i = 0; i < gw->nslots; i++)
			if (gw->slots[i] != NULL)
				gw_sess_free(gw, gw->slots[i]);
	}
	gw_filter_free_all(gw);
	gw_predef_free(gw);
	gw_map_free(&gw->up_tokens);
	gw_map_free(&gw->sub_tokens);
	free(gw->filters);
	free(gw->slots);
	free(gw->free_slots);
	free(gw->by_id);
	free(gw->by_ep);
	free(gw->heap);
	free(gw->tx);
	free(gw->tx2);
	free(gw->pbuf);
	free(gw);
}

void gw_shutdown(struct gw *gw, uint64_t now_ms)
{
	struct mqttsn_msg m;
	uint32_t i;

	if (gw->stopped)
		return;
	gw_persist_flush(gw);
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_DISCONNECT;
	for (i = 0; i < gw->nslots; i++) {
		struct gw_session *s = gw->slots[i];

		if (s == NULL)
			continue;
		if (s->phase == GW_PHASE_NONE &&
		    (s->state == GW_STATE_ACTIVE || s->state == GW_STATE_AWAKE))
			(void)gw_tx(gw, s, &m);
		/* the gateway goes, not the client: its Will must not fire */
		gw_sess_close_conn(gw, s, false);
		gw_sched_remove(gw, s);
	}
	if (gw->shared != GW_SHARED_CLOSED && gw->ops.broker_close != NULL)
		gw->ops.broker_close(gw->ctx, GW_CONN_AGGREGATE, false);
	gw->shared = GW_SHARED_CLOSED;
	gw->stopped = true;
	gw_say(gw, GW_LOG_INFO, "gateway core stopped at %llu ms", (unsigned long long)now_ms);
}

/* ---------------------------------------------------------------- helpers */

void gw_say(struct gw *gw, enum gw_log_level level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (gw->ops.log == NULL || gw->freeing)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	gw->ops.log(gw->ctx, level, line);
}

bool gw_aggregating(const struct gw *gw)
{
	return gw->cfg.mode == GW_MODE_AGGREGATING;
}

int64_t gw_session_conn_up(const struct gw *gw, const struct gw_session *s)
{
	if (gw_aggregating(gw))
		return gw->shared == GW_SHARED_UP ? (int64_t)GW_CONN_AGGREGATE : -1;
	if (s == NULL || s->conn == 0 || !s->broker_up)
		return -1;
	return (int64_t)s->conn;
}

void gw_shared_ensure(struct gw *gw, uint64_t now)
{
	struct gw_broker_session bs;
	char id[sizeof gw->cfg.shared_client_id];

	if (!gw->shared_wanted || gw->stopped || gw->shared != GW_SHARED_CLOSED ||
	    now < gw->shared_retry_at || gw->ops.broker_open == NULL)
		return;
	if (gw->cfg.shared_client_id[0] != '\0')
		(void)snprintf(id, sizeof id, "%s", gw->cfg.shared_client_id);
	else
		(void)snprintf(id, sizeof id, "sn-bridge-%u", (unsigned)gw->cfg.gw_id);
	memset(&bs, 0, sizeof bs);
	bs.client_id = id;
	/* with custody of persistent sessions the broker keeps what comes for
	 * them while the bridge restarts; stale subscriptions it may then hold
	 * match no session and are dropped at the fan-out */
	bs.clean_session = !(gw_aggregating(gw) && gw->cfg.custody && gw->ops.session_save != NULL);
	bs.keep_alive_s = GW_BROKER_KEEPALIVE_S;
	if (gw->ops.broker_open(gw->ctx, GW_CONN_AGGREGATE, &bs) < 0) {
		gw->shared_retry_at = now + gw->cfg.retry_initial_ms;
		gw_say(gw, GW_LOG_WARN, "cannot open the shared broker connection; again in %u ms",
		       (unsigned)gw->cfg.retry_initial_ms);
		return;
	}
	gw->shared = GW_SHARED_OPENING;
}

/* ---------------------------------------------------------------- dispatch */

static uint16_t raw_u16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

/*
 * A message that parsed but broke a value rule: answer with the return code
 * the specification has for it, read from the raw octets because the decoded
 * message is not to be trusted. Decode checked the structure first, so the
 * fixed fields read here are inside the datagram.
 */
static void protocol_reply(struct gw *gw, struct gw_session *s, const struct gw_rx *rx, int err)
{
	size_t msg_len, hdr;
	const uint8_t *b;
	uint8_t type;

	gw_note(gw, s, GW_CAUSE_PROTOCOL, rx->now, "%s", mqttsn_strerror(err));
	if (mqttsn_peek_length(rx->raw, rx->len, &msg_len, &hdr) != MQTTSN_OK || hdr >= rx->len)
		return;
	type = rx->raw[hdr];
	b = rx->raw + hdr + 1;
	switch (type) {
	case MQTTSN_CONNECT:
		/* 5.4.5: an unsupported protocol id or a bad client id */
		gw_tx_rc(gw, NULL, rx->ep, MQTTSN_CONNACK, MQTTSN_RC_NOT_SUPPORTED);
		break;
	case MQTTSN_PUBLISH:
		if (s != NULL)
			gw_tx_puback(gw, s, rx->ep, raw_u16(b + 1), raw_u16(b + 3),
			             MQTTSN_RC_INVALID_TOPIC_ID);
		break;
	case MQTTSN_SUBSCRIBE:
		if (s != NULL)
			gw_tx_suback(gw, s, rx->ep, 0, 0, raw_u16(b + 1), MQTTSN_RC_NOT_SUPPORTED);
		break;
	case MQTTSN_UNSUBSCRIBE:
		if (s != NULL)
			gw_tx_msg_id(gw, s, MQTTSN_UNSUBACK, raw_u16(b + 1));
		break;
	case MQTTSN_REGISTER:
		if (s != NULL) {
			struct mqttsn_msg m;

			memset(&m, 0, sizeof m);
			m.type = MQTTSN_REGACK;
			m.u.regack.msg_id = raw_u16(b + 2);
			m.u.regack.rc = MQTTSN_RC_NOT_SUPPORTED;
			(void)gw_tx_ep(gw, s, rx->ep, &m);
		}
		break;
	case MQTTSN_WILLTOPIC:
		if (s != NULL && s->phase == GW_PHASE_WILLTOPIC)
			gw_conn_refuse(gw, s, MQTTSN_RC_NOT_SUPPORTED, rx->now);
		break;
	case MQTTSN_WILLTOPICUPD:
		if (s != NULL)
			gw_tx_rc(gw, s, rx->ep, MQTTSN_WILLTOPICRESP, MQTTSN_RC_NOT_SUPPORTED);
		break;
	default:
		break;
	}
}

/* A message too big for max_msg_size: refused with "not supported" where there is a code. */
static void too_big_reply(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                          const struct mqttsn_msg *m)
{
	gw_note(gw, s, GW_CAUSE_TOO_BIG, rx->now, "%zu-octet %s over max_msg_size %u", rx->len,
	        mqttsn_type_name((int)m->type), (unsigned)gw->cfg.max_msg_size);
	if (s == NULL)
		return;
	switch (m->type) {
	case MQTTSN_PUBLISH:
		if (m->u.publish.flags.qos >= 0)
			gw_tx_puback(gw, s, rx->ep, m->u.publish.topic_id, m->u.publish.msg_id,
			             MQTTSN_RC_NOT_SUPPORTED);
		break;
	case MQTTSN_REGISTER: {
		struct mqttsn_msg r;

		memset(&r, 0, sizeof r);
		r.type = MQTTSN_REGACK;
		r.u.regack.msg_id = m->u.reg.msg_id;
		r.u.regack.rc = MQTTSN_RC_NOT_SUPPORTED;
		(void)gw_tx_ep(gw, s, rx->ep, &r);
		break;
	}
	case MQTTSN_SUBSCRIBE:
		gw_tx_suback(gw, s, rx->ep, 0, 0, m->u.subscribe.msg_id, MQTTSN_RC_NOT_SUPPORTED);
		break;
	case MQTTSN_WILLTOPICUPD:
		gw_tx_rc(gw, s, rx->ep, MQTTSN_WILLTOPICRESP, MQTTSN_RC_NOT_SUPPORTED);
		break;
	case MQTTSN_WILLMSGUPD:
		gw_tx_rc(gw, s, rx->ep, MQTTSN_WILLMSGRESP, MQTTSN_RC_NOT_SUPPORTED);
		break;
	default:
		break;
	}
}

/*
 * A request that needs a session from a sender that has none: DISCONNECT
 * tells a client that lost its session (a gateway restart, an expiry) to
 * connect again instead of retrying into the void.
 */
static void not_connected(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                          const struct mqttsn_msg *m, bool reply)
{
	gw_note(gw, s, GW_CAUSE_PROTOCOL, rx->now, "%s without a session",
	        mqttsn_type_name((int)m->type));
	if (reply)
		gw_tx_bare(gw, NULL, rx->ep, MQTTSN_DISCONNECT);
}

static void dispatch(struct gw *gw, struct gw_session *s, const struct gw_rx *rx,
                     const struct mqttsn_msg *m)
{
	bool ok = s != NULL && gw_sess_listening(s);

	if (ok)
		s->last_rx = rx->now;
	switch (m->type) {
	case MQTTSN_ADVERTISE:
	case MQTTSN_GWINFO:
		/* other gateways talking: not for us */
		return;
	case MQTTSN_SEARCHGW:
		gw_disc_on_searchgw(gw, rx);
		return;
	case MQTTSN_CONNECT:
		gw_conn_on_connect(gw, s, rx, m);
		return;
	case MQTTSN_WILLTOPIC:
		gw_conn_on_willtopic(gw, s, rx, m);
		return;
	case MQTTSN_WILLMSG:
		gw_conn_on_willmsg(gw, s, rx, m);
		return;
	case MQTTSN_PINGREQ:
		gw_sleep_on_pingreq(gw, s, rx, m);
		return;
	case MQTTSN_DISCONNECT:
		gw_sleep_on_disconnect(gw, s, rx, m);
		return;
	case MQTTSN_PUBLISH:
		if (m->u.publish.flags.qos < 0 || ok)
			gw_up_on_publish(gw, ok ? s : NULL, rx, m);
		else
			not_connected(gw, s, rx, m, true);
		return;
	case MQTTSN_REGISTER:
	case MQTTSN_PUBREL:
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
	case MQTTSN_WILLTOPICUPD:
	case MQTTSN_WILLMSGUPD:
		if (!ok) {
			not_connected(gw, s, rx, m, true);
			return;
		}
		break;
	case MQTTSN_REGACK:
	case MQTTSN_PUBACK:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBCOMP:
		if (!ok) {
			not_connected(gw, s, rx, m, false);
			return;
		}
		break;
	default:
		/* messages only a gateway sends (CONNACK, SUBACK, PINGRESP...) */
		gw_note(gw, s, GW_CAUSE_PROTOCOL, rx->now, "%s from a client",
		        mqttsn_type_name((int)m->type));
		return;
	}
	switch (m->type) {
	case MQTTSN_REGISTER: gw_reg_on_register(gw, s, rx, m); break;
	case MQTTSN_PUBREL: gw_up_on_pubrel(gw, s, rx, m); break;
	case MQTTSN_SUBSCRIBE: gw_sub_on_subscribe(gw, s, rx, m); break;
	case MQTTSN_UNSUBSCRIBE: gw_sub_on_unsubscribe(gw, s, rx, m); break;
	case MQTTSN_WILLTOPICUPD:
	case MQTTSN_WILLMSGUPD: gw_conn_on_willupd(gw, s, rx, m); break;
	case MQTTSN_REGACK: gw_down_on_regack(gw, s, m, rx->now); break;
	case MQTTSN_PUBACK: gw_down_on_puback(gw, s, m, rx->now); break;
	case MQTTSN_PUBREC: gw_down_on_pubrec(gw, s, m, rx->now); break;
	case MQTTSN_PUBCOMP: gw_down_on_pubcomp(gw, s, m, rx->now); break;
	default: break;
	}
}

/* One message, after decapsulation; wire_len is what arrived on the wire. */
static void handle(struct gw *gw, const struct gw_endpoint *ep, const uint8_t *buf, size_t len,
                   size_t wire_len, uint64_t now);

/*
 * 5.5: the forwarder's header is Length, 0xFE, Ctrl, Wireless Node Id, and
 * the inner message follows. Taken apart from the raw octets so that an
 * inner message with a protocol error still reaches the code that answers it.
 */
static void decapsulate(struct gw *gw, const struct gw_endpoint *outer, const uint8_t *buf,
                        size_t len, uint64_t now)
{
	struct gw_endpoint ep;
	size_t msg_len, hdr, node_len;

	if (mqttsn_peek_length(buf, len, &msg_len, &hdr) != MQTTSN_OK || msg_len > len ||
	    msg_len < hdr + 2) {
		gw_stat_rx(gw, NULL, len);
		gw_note(gw, NULL, GW_CAUSE_MALFORMED, now, "bad encapsulation header");
		return;
	}
	node_len = msg_len - hdr - 2;
	if (node_len > GW_NODE_ID_MAX) {
		gw_stat_rx(gw, NULL, len);
		gw_note(gw, NULL, GW_CAUSE_PROTOCOL, now,
		        "wireless node id of %zu octets (at most %u)", node_len,
		        (unsigned)GW_NODE_ID_MAX);
		return;
	}
	memset(&ep, 0, sizeof ep);
	ep.addr = outer->addr;
	ep.encap = true;
	ep.ctrl = buf[hdr + 1];
	ep.node_len = (uint8_t)node_len;
	if (node_len != 0)
		memcpy(ep.node, buf + hdr + 2, node_len);
	handle(gw, &ep, buf + msg_len, len - msg_len, len, now);
}

static void handle(struct gw *gw, const struct gw_endpoint *ep, const uint8_t *buf, size_t len,
                   size_t wire_len, uint64_t now)
{
	struct mqttsn_msg m;
	struct gw_session *s;
	struct gw_rx rx;
	size_t msg_len, hdr, pending_credit = 0;
	int r;

	r = mqttsn_decode(buf, len, &m);
	if (!ep->encap && (r == MQTTSN_OK || mqttsn_err_is_protocol(r)) &&
	    mqttsn_peek_length(buf, len, &msg_len, &hdr) == MQTTSN_OK && hdr < len &&
	    buf[hdr] == MQTTSN_ENCAPSULATED && r != MQTTSN_ERR_ENCAP_NESTED) {
		decapsulate(gw, ep, buf, len, now);
		return;
	}
	s = gw_sess_by_ep(gw, ep);
	gw_stat_rx(gw, s, wire_len);
	if (s == NULL)
		pending_credit = wire_len;
	rx.ep = ep;
	rx.raw = buf;
	rx.len = len;
	rx.now = now;
	if (r != MQTTSN_OK) {
		if (mqttsn_err_is_protocol(r))
			protocol_reply(gw, s, &rx, r);
		else
			gw_note(gw, s, GW_CAUSE_MALFORMED, now, "%zu octets: %s", len,
			        mqttsn_strerror(r));
		return;
	}
	if (m.type == MQTTSN_ENCAPSULATED) {
		/* only reachable inside an encapsulation, and decode refuses nesting */
		gw_note(gw, s, GW_CAUSE_PROTOCOL, now, "nested encapsulation");
		return;
	}
	if (len > gw->cfg.max_msg_size) {
		too_big_reply(gw, s, &rx, &m);
		return;
	}
	dispatch(gw, s, &rx, &m);
	/* the handler may have freed s or bound another session to ep */
	s = gw_sess_by_ep(gw, ep);
	if (s == NULL)
		return;
	if (pending_credit != 0) {
		/* a CONNECT counts for the session it created */
		s->stats.msgs_in++;
		s->stats.bytes_in += pending_credit;
	}
	gw_sched_update(gw, s);
}

void gw_on_datagram(struct gw *gw, const struct gw_addr *from, const uint8_t *buf, size_t len,
                    uint64_t now_ms)
{
	struct gw_endpoint ep;

	if (gw->stopped || from == NULL || (buf == NULL && len != 0))
		return;
	memset(&ep, 0, sizeof ep);
	ep.addr = *from;
	handle(gw, &ep, buf, len, len, now_ms);
	gw_persist_flush(gw);
}

/* ---------------------------------------------------------------- timers */

/* One session's deadline passed: find out which and act. */
static void session_timer(struct gw *gw, struct gw_session *s, uint64_t now)
{
	uint64_t sup;

	if (s->phase != GW_PHASE_NONE) {
		if (now >= s->phase_since + gw->cfg.connect_timeout_ms) {
			gw_conn_timeout(gw, s, now);
			return;
		}
	} else {
		sup = gw_sleep_deadline(s);
		if (now >= sup) {
			gw_sess_lose(gw, s, now,
			             s->state == GW_STATE_ACTIVE ? "keep-alive expired"
			                                         : "did not wake up in time");
			return;
		}
	}
	if (s->out.kind != GW_OUT_NONE && now >= s->out.due) {
		gw_rtt_expired(gw, s, now);
		return;
	}
	gw_sched_update(gw, s);
}

uint64_t gw_next_deadline(const struct gw *gw)
{
	struct gw_session *s = gw_sched_first(gw);
	uint64_t d = s != NULL ? s->deadline : GW_NEVER;

	if (gw->stopped)
		return GW_NEVER;
	if (!gw->started)
		return 0;
	if (gw->cfg.advertise_interval_s != 0 && gw->next_advertise < d)
		d = gw->next_advertise;
	if (gw->shared_wanted && gw->shared == GW_SHARED_CLOSED && gw->shared_retry_at < d)
		d = gw->shared_retry_at;
	return d;
}

uint64_t gw_tick(struct gw *gw, uint64_t now_ms)
{
	struct gw_session *s;
	size_t guard;

	if (gw->stopped)
		return GW_NEVER;
	if (!gw->started) {
		gw->started = true;
		gw->next_advertise = now_ms;
		gw_persist_reopen(gw, now_ms);
	}
	gw_shared_ensure(gw, now_ms);
	gw_disc_tick(gw, now_ms);
	/* each pass moves a deadline past now or frees the session; the guard
	 * only protects the loop from a bug turning into a hang */
	for (guard = 2 * gw->heap_len + 16; guard > 0; guard--) {
		s = gw_sched_first(gw);
		if (s == NULL || s->deadline > now_ms)
			break;
		session_timer(gw, s, now_ms);
	}
	gw_persist_flush(gw);
	return gw_next_deadline(gw);
}
