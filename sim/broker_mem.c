/*
 * broker_mem.c - the in-memory broker (broker_mem.h).
 *
 * Answers wait in a priority queue as numbered event slots; each carries
 * the incarnation of the connection it is for, so that an answer for a
 * connection closed meanwhile (or taken over, or dropped by a crash) is
 * recognised when it comes due and thrown away, as a real broker's answer
 * on a dead TCP connection would be.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/topic.h"
#include "sim/broker_mem_int.h"

/* ---------------------------------------------------------------- lifecycle */

struct sim_broker *sim_broker_new(const struct sim_broker_cfg *cfg)
{
	struct sim_broker *b = calloc(1, sizeof *b);

	if (b == NULL)
		return NULL;
	b->cfg = *cfg;
	sim_pq_init(&b->due);
	return b;
}

void sim_bm_session_clear(struct sim_bm_session *s)
{
	size_t i;

	for (i = 0; i < s->nsubs; i++)
		free(s->subs[i].filter);
	free(s->subs);
	for (i = 0; i < s->noffline; i++)
		sim_bm_stored_free(&s->offline[i]);
	free(s->offline);
	if (s->has_will)
		sim_bm_stored_free(&s->will);
	memset(s, 0, sizeof *s);
}

void sim_broker_free(struct sim_broker *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nsess; i++)
		sim_bm_session_clear(&b->sess[i]);
	free(b->sess);
	for (i = 0; i < b->nev; i++)
		if (b->ev[i].used)
			sim_bm_stored_free(&b->ev[i].m);
	free(b->ev);
	if (b->has_popped)
		sim_bm_stored_free(&b->popped.m);
	for (i = 0; i < b->nretained; i++)
		sim_bm_stored_free(&b->retained[i]);
	free(b->retained);
	free(b->conns);
	free(b->rec);
	sim_bm_names_free(&b->clients);
	sim_bm_names_free(&b->topics);
	sim_pq_clear(&b->due);
	free(b);
}

/* ---------------------------------------------------------------- connections */

static size_t conn_pos(const struct sim_broker *b, uint32_t conn)
{
	size_t lo = 0, hi = b->nconns;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (b->conns[mid].conn < conn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct sim_bm_conn *sim_bm_conn_find(struct sim_broker *b, uint32_t conn)
{
	size_t i = conn_pos(b, conn);

	return i < b->nconns && b->conns[i].conn == conn ? &b->conns[i] : NULL;
}

static void conn_remove(struct sim_broker *b, uint32_t conn)
{
	size_t i = conn_pos(b, conn);

	if (i < b->nconns && b->conns[i].conn == conn) {
		memmove(&b->conns[i], &b->conns[i + 1], (b->nconns - i - 1) * sizeof b->conns[0]);
		b->nconns--;
	}
}

static struct sim_bm_session *session_get(struct sim_broker *b, const char *id, size_t len,
                                   uint32_t *idx)
{
	int64_t i = sim_bm_names_put(&b->clients, id, len);

	if (i < 0)
		return NULL;
	if ((size_t)i >= b->nsess) {
		size_t n = b->clients.cap;
		struct sim_bm_session *s = realloc(b->sess, n * sizeof *s);

		if (s == NULL)
			return NULL;
		memset(s + b->nsess, 0, (n - b->nsess) * sizeof *s);
		b->sess = s;
		b->nsess = n;
	}
	*idx = (uint32_t)i;
	return &b->sess[i];
}

/* ---------------------------------------------------------------- answers */

struct sim_bm_event *sim_bm_event_new(struct sim_broker *b, enum sim_broker_ev_kind kind,
                               const struct sim_bm_conn *c, uint64_t at)
{
	uint32_t i;
	struct sim_bm_event *e;

	if (b->free_ev != 0) {
		i = b->free_ev - 1;
		b->free_ev = b->ev[i].next_free;
	} else {
		if (b->nev == b->evcap) {
			uint32_t cap = b->evcap ? b->evcap * 2 : 64;
			struct sim_bm_event *ne = realloc(b->ev, cap * sizeof *ne);

			if (ne == NULL)
				return NULL;
			b->ev = ne;
			b->evcap = cap;
		}
		i = b->nev++;
	}
	if (sim_pq_push(&b->due, at, (uint32_t)kind, i, 0) != 0) {
		b->ev[i].next_free = b->free_ev;
		b->free_ev = i + 1;
		return NULL;
	}
	e = &b->ev[i];
	memset(e, 0, sizeof *e);
	e->used = true;
	e->kind = kind;
	e->conn = c->conn;
	e->incarnation = c->incarnation;
	return e;
}

/* ---------------------------------------------------------------- the gw_ops half */

/* Detach conn from its session; the session goes when it was clean. */
static void conn_end(struct sim_broker *b, uint32_t conn, bool fire_will, uint64_t now)
{
	struct sim_bm_conn *c = sim_bm_conn_find(b, conn);
	struct sim_bm_session *s;
	uint32_t client;

	if (c == NULL)
		return;
	client = c->client;
	s = &b->sess[client];
	conn_remove(b, conn);
	if (!s->connected || s->conn != conn)
		return;
	s->connected = false;
	if (fire_will && s->has_will) {
		struct sim_bm_stored w = s->will;
		struct sim_bm_msgv v = sim_bm_view(&w);

		s->has_will = false;
		b->st.wills++;
		sim_bm_receive(b, client, &v, true, now);
		sim_bm_stored_free(&w);
	}
	if (s->clean)
		sim_bm_session_clear(s);
}

int sim_broker_open(struct sim_broker *b, uint32_t conn, const struct gw_broker_session *bs,
                    uint64_t now_us)
{
	struct sim_bm_session *s;
	struct sim_bm_conn *c;
	uint32_t client;
	size_t pos;

	if (sim_bm_conn_find(b, conn) != NULL)
		conn_end(b, conn, false, now_us);
	s = session_get(b, bs->client_id, strlen(bs->client_id), &client);
	if (s == NULL)
		return -1;
	if (s->connected) {
		/* a takeover: the older connection is dropped (MQTT 3.1.1, 3.1.4) */
		struct sim_bm_conn *old = sim_bm_conn_find(b, s->conn);

		if (old != NULL)
			(void)sim_bm_event_new(b, SIM_BROKER_DISCONNECTED, old, now_us);
		conn_end(b, s->conn, false, now_us);
		s = &b->sess[client];
	}
	if (bs->clean_session && s->present)
		sim_bm_session_clear(s);
	if (s->has_will) {
		sim_bm_stored_free(&s->will);
		s->has_will = false;
	}
	s->present = true;
	s->clean = bs->clean_session;
	if (bs->has_will && bs->will_topic != NULL) {
		if (sim_bm_stored_set(&s->will, bs->will_topic, strlen(bs->will_topic), bs->will_payload,
		               bs->will_len, bs->will_qos, bs->will_retain) == 0)
			s->has_will = true;
	}
	if (b->nconns == b->conncap) {
		size_t cap = b->conncap ? b->conncap * 2 : 16;
		struct sim_bm_conn *nc = realloc(b->conns, cap * sizeof *nc);

		if (nc == NULL)
			return -1;
		b->conns = nc;
		b->conncap = cap;
	}
	pos = conn_pos(b, conn);
	memmove(&b->conns[pos + 1], &b->conns[pos], (b->nconns - pos) * sizeof b->conns[0]);
	b->nconns++;
	c = &b->conns[pos];
	c->conn = conn;
	c->client = client;
	c->incarnation = ++b->incarnations;
	c->state = SIM_BM_OPENING;
	s->connected = true;
	s->conn = conn;
	b->st.opens++;
	if (sim_bm_event_new(b, SIM_BROKER_CONNECTED, c, now_us + b->cfg.connect_us) == NULL) {
		conn_end(b, conn, false, now_us);
		return -1;
	}
	return 0;
}

void sim_broker_close(struct sim_broker *b, uint32_t conn, bool fire_will, uint64_t now_us)
{
	if (sim_bm_conn_find(b, conn) == NULL)
		return;
	b->st.closes++;
	conn_end(b, conn, fire_will, now_us);
}

static struct sim_bm_conn *conn_up(struct sim_broker *b, uint32_t conn)
{
	struct sim_bm_conn *c = sim_bm_conn_find(b, conn);

	if (c == NULL || c->state != SIM_BM_UP) {
		b->st.refused++;
		return NULL;
	}
	return c;
}

int sim_broker_publish(struct sim_broker *b, uint32_t conn, const char *topic, size_t topic_len,
                       const uint8_t *payload, size_t len, int qos, bool retain_flag,
                       uint32_t *token, uint64_t now_us)
{
	struct sim_bm_conn *c = conn_up(b, conn);
	struct sim_bm_msgv m;

	if (c == NULL)
		return -1;
	*token = ++b->next_token;
	if (qos > 0) {
		struct sim_bm_event *e = sim_bm_event_new(b, SIM_BROKER_ACKED, c, now_us + b->cfg.ack_us);

		if (e == NULL)
			return -1;
		e->token = *token;
		b->st.acks++;
	}
	/* a view, not a copy: sim_bm_receive() copies what it keeps */
	m.topic = topic;
	m.topic_len = topic_len;
	m.payload = payload;
	m.len = len;
	m.qos = qos < 0 ? 0 : qos;
	m.retain = retain_flag;
	b->st.publishes++;
	b->st.bytes += len;
	sim_bm_receive(b, c->client, &m, false, now_us);
	return 0;
}

int sim_broker_subscribe(struct sim_broker *b, uint32_t conn, const char *filter, size_t len,
                         int qos, uint32_t *token, uint64_t now_us)
{
	struct sim_bm_conn *c = conn_up(b, conn);
	struct sim_bm_session *s;
	struct sim_bm_event *e;
	size_t i;

	if (c == NULL)
		return -1;
	s = &b->sess[c->client];
	for (i = 0; i < s->nsubs; i++)
		if (s->subs[i].len == len && memcmp(s->subs[i].filter, filter, len) == 0)
			break;
	if (i == s->nsubs) {
		struct sim_bm_sub *ns = realloc(s->subs, (s->nsubs + 1) * sizeof *ns);
		char *f = malloc(len + 1);

		if (ns != NULL)
			s->subs = ns;
		if (ns == NULL || f == NULL) {
			free(f);
			return -1;
		}
		memcpy(f, filter, len);
		f[len] = '\0';
		s->subs[i].filter = f;
		s->subs[i].len = len;
		s->nsubs++;
	}
	s->subs[i].qos = qos;
	*token = ++b->next_token;
	e = sim_bm_event_new(b, SIM_BROKER_SUBACKED, c, now_us + b->cfg.ack_us);
	if (e == NULL)
		return -1;
	e->token = *token;
	e->rc = qos;
	b->st.subscribes++;
	for (i = 0; i < b->nretained; i++)
		if (mqttsn_topic_matches(filter, len, b->retained[i].topic, b->retained[i].topic_len)) {
			struct sim_bm_msgv v = sim_bm_view(&b->retained[i]);

			(void)sim_bm_message_to(b, c, &v, v.qos < qos ? v.qos : qos,
			                 now_us + b->cfg.ack_us + b->cfg.deliver_us);
		}
	return 0;
}

int sim_broker_unsubscribe(struct sim_broker *b, uint32_t conn, const char *filter, size_t len,
                           uint32_t *token, uint64_t now_us)
{
	struct sim_bm_conn *c = conn_up(b, conn);
	struct sim_bm_session *s;
	struct sim_bm_event *e;
	size_t i;

	if (c == NULL)
		return -1;
	s = &b->sess[c->client];
	for (i = 0; i < s->nsubs; i++)
		if (s->subs[i].len == len && memcmp(s->subs[i].filter, filter, len) == 0) {
			free(s->subs[i].filter);
			s->subs[i] = s->subs[--s->nsubs];
			break;
		}
	*token = ++b->next_token;
	e = sim_bm_event_new(b, SIM_BROKER_UNSUBACKED, c, now_us + b->cfg.ack_us);
	if (e == NULL)
		return -1;
	e->token = *token;
	b->st.unsubscribes++;
	return 0;
}

void sim_broker_drop_all(struct sim_broker *b, uint64_t now_us)
{
	while (b->nconns > 0) {
		b->st.drops++;
		conn_end(b, b->conns[b->nconns - 1].conn, true, now_us);
	}
}

/* ---------------------------------------------------------------- handing out */

uint64_t sim_broker_next_time(const struct sim_broker *b)
{
	struct sim_pq_item it;

	return sim_pq_peek(&b->due, &it) ? it.at : UINT64_MAX;
}

/* A connection came up: what waited for its session follows it. */
static void connected(struct sim_broker *b, struct sim_bm_conn *c, uint64_t now)
{
	struct sim_bm_session *s = &b->sess[c->client];
	size_t i;

	c->state = SIM_BM_UP;
	for (i = 0; i < s->noffline; i++) {
		struct sim_bm_msgv v = sim_bm_view(&s->offline[i]);

		(void)sim_bm_message_to(b, c, &v, v.qos, now);
		sim_bm_stored_free(&s->offline[i]);
	}
	free(s->offline);
	s->offline = NULL;
	s->noffline = 0;
}

bool sim_broker_pop(struct sim_broker *b, uint64_t now_us, struct sim_broker_event *out)
{
	struct sim_pq_item it;

	if (b->has_popped) {
		sim_bm_stored_free(&b->popped.m);
		b->has_popped = false;
	}
	while (sim_pq_peek(&b->due, &it) && it.at <= now_us) {
		struct sim_bm_event e;
		struct sim_bm_conn *c;

		(void)sim_pq_pop(&b->due, &it);
		e = b->ev[it.who];
		b->ev[it.who].used = false;
		b->ev[it.who].next_free = b->free_ev;
		b->free_ev = it.who + 1;
		c = sim_bm_conn_find(b, e.conn);
		if (e.kind == SIM_BROKER_DISCONNECTED) {
			/* a takeover's notice, for a connection already gone */
			memset(out, 0, sizeof *out);
			out->kind = e.kind;
			out->conn = e.conn;
			return true;
		}
		if (c == NULL || c->incarnation != e.incarnation) {
			sim_bm_stored_free(&e.m);
			continue;
		}
		if (e.kind == SIM_BROKER_CONNECTED)
			connected(b, c, now_us);
		b->popped = e;
		b->has_popped = true;
		memset(out, 0, sizeof *out);
		out->kind = e.kind;
		out->conn = e.conn;
		out->token = e.token;
		out->rc = e.rc;
		if (e.kind == SIM_BROKER_MESSAGE) {
			out->topic = e.m.topic;
			out->topic_len = e.m.topic_len;
			out->payload = e.m.payload;
			out->len = e.m.len;
			out->qos = e.m.qos;
			out->retain = e.m.retain;
		}
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- looking in */

const struct sim_broker_rx *sim_broker_record(const struct sim_broker *b, size_t *n)
{
	*n = b->nrec;
	return b->rec;
}

const char *sim_broker_client_name(const struct sim_broker *b, uint32_t client)
{
	return client < b->clients.n ? b->clients.s[client] : "";
}

const char *sim_broker_topic_name(const struct sim_broker *b, uint32_t topic)
{
	return topic < b->topics.n ? b->topics.s[topic] : "";
}

const struct sim_broker_stats *sim_broker_stats(const struct sim_broker *b)
{
	return &b->st;
}

bool sim_broker_session(const struct sim_broker *b, const char *client_id, size_t *n_subs)
{
	size_t i;

	for (i = 0; i < b->clients.n && i < b->nsess; i++)
		if (strcmp(b->clients.s[i], client_id) == 0 && b->sess[i].present) {
			if (n_subs != NULL)
				*n_subs = b->sess[i].nsubs;
			return true;
		}
	return false;
}
