/*
 * broker_mem_route.c - what becomes of a message the in-memory broker
 * receives (broker_mem_int.h): a line in the record, the retained copy,
 * a copy for every session whose subscription matches (queued for a
 * session that is away and not clean, at QoS 1 or 2).
 */
#include <stdlib.h>
#include <string.h>

#include "codec/topic.h"
#include "sim/broker_mem_int.h"

int sim_bm_message_to(struct sim_broker *b, const struct sim_bm_conn *c, const struct sim_bm_msgv *m,
                      int qos, uint64_t at)
{
	struct sim_bm_event *e = sim_bm_event_new(b, SIM_BROKER_MESSAGE, c, at);

	if (e == NULL)
		return -1;
	if (sim_bm_stored_set(&e->m, m->topic, m->topic_len, m->payload, m->len, qos, m->retain) != 0) {
		/* leave a harmless empty message slot: drop it at pop */
		e->incarnation = 0;
		return -1;
	}
	b->st.forwarded++;
	return 0;
}

/* A copy of m to every session whose subscription matches. */
static void route(struct sim_broker *b, const struct sim_bm_msgv *m, uint64_t now)
{
	size_t i, k;

	for (i = 0; i < b->nsess; i++) {
		struct sim_bm_session *s = &b->sess[i];
		int best = -1;

		if (!s->present)
			continue;
		for (k = 0; k < s->nsubs; k++)
			if (s->subs[k].qos > best &&
			    mqttsn_topic_matches(s->subs[k].filter, s->subs[k].len, m->topic,
			                         m->topic_len))
				best = s->subs[k].qos;
		if (best < 0)
			continue;
		if (best > m->qos)
			best = m->qos;
		if (s->connected) {
			struct sim_bm_conn *c = sim_bm_conn_find(b, s->conn);

			if (c != NULL && c->state == SIM_BM_UP) {
				(void)sim_bm_message_to(b, c, m, best, now + b->cfg.deliver_us);
				continue;
			}
		}
		if (s->clean || best == 0)
			continue;
		if (s->noffline == SIM_BROKER_OFFLINE_MAX) {
			sim_bm_stored_free(&s->offline[0]);
			memmove(&s->offline[0], &s->offline[1], (s->noffline - 1) * sizeof s->offline[0]);
			s->noffline--;
			b->st.dropped_offline++;
		}
		{
			struct sim_bm_stored *o = realloc(s->offline, (s->noffline + 1) * sizeof *o);

			if (o == NULL)
				continue;
			s->offline = o;
			if (sim_bm_stored_set(&o[s->noffline], m->topic, m->topic_len, m->payload, m->len, best,
			               false) == 0) {
				s->noffline++;
				b->st.queued_offline++;
			}
		}
	}
}

static void retain(struct sim_broker *b, const struct sim_bm_msgv *m)
{
	size_t i;

	for (i = 0; i < b->nretained; i++)
		if (b->retained[i].topic_len == m->topic_len &&
		    memcmp(b->retained[i].topic, m->topic, m->topic_len) == 0)
			break;
	if (i < b->nretained) {
		sim_bm_stored_free(&b->retained[i]);
		if (m->len == 0) {
			b->retained[i] = b->retained[--b->nretained];
			return;
		}
	} else {
		struct sim_bm_stored *r;

		if (m->len == 0)
			return;
		r = realloc(b->retained, (b->nretained + 1) * sizeof *r);
		if (r == NULL)
			return;
		b->retained = r;
		b->nretained++;
	}
	if (sim_bm_stored_set(&b->retained[i], m->topic, m->topic_len, m->payload, m->len, m->qos,
	               true) != 0)
		b->retained[i] = b->retained[--b->nretained];
}

/* Note m in the record and pass it on. */
void sim_bm_receive(struct sim_broker *b, uint32_t client, const struct sim_bm_msgv *m, bool will,
                    uint64_t now)
{
	int64_t t = sim_bm_names_put(&b->topics, m->topic, m->topic_len);

	if (t >= 0) {
		if (b->nrec == b->reccap) {
			size_t cap = b->reccap ? b->reccap * 2 : 1024;
			struct sim_broker_rx *r = realloc(b->rec, cap * sizeof *r);

			if (r != NULL) {
				b->rec = r;
				b->reccap = cap;
			}
		}
		if (b->nrec < b->reccap) {
			struct sim_broker_rx *r = &b->rec[b->nrec++];

			r->at_us = now;
			r->client = client;
			r->topic = (uint32_t)t;
			r->hash = sim_broker_hash(m->payload, m->len);
			r->len = (uint32_t)m->len;
			r->qos = (uint8_t)m->qos;
			r->retain = m->retain;
			r->will = will;
		}
	}
	if (m->retain)
		retain(b, m);
	route(b, m, now);
}
