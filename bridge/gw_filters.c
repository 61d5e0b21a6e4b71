/*
 * gw_filters.c - aggregating mode: one broker connection for every client,
 * so one broker subscription per distinct filter, counted by the clients
 * that hold it, and each broker message fanned out to every matching client.
 *
 * Filters without wildcards are found by hashing the message's topic; only
 * the wildcard filters are matched one by one.
 */
#include <stdlib.h>
#include <string.h>

#include "bridge/gw_int.h"
#include "codec/topic.h"

static uint32_t fhash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 16777619u;
	}
	return h;
}

struct gw_filter *gw_filter_find(const struct gw *gw, const char *name, size_t len)
{
	struct gw_filter *f;

	if (gw->filters == NULL)
		return NULL;
	for (f = gw->filters[fhash(name, len) & gw->filter_mask]; f != NULL; f = f->next)
		if (f->len == len && memcmp(f->name, name, len) == 0)
			return f;
	return NULL;
}

static struct gw_filter *create(struct gw *gw, const char *name, size_t len)
{
	struct gw_filter *f = calloc(1, sizeof *f);
	uint32_t b;

	if (f == NULL)
		return NULL;
	f->name = malloc(len + 1);
	if (f->name == NULL) {
		free(f);
		return NULL;
	}
	memcpy(f->name, name, len);
	f->name[len] = '\0';
	f->len = len;
	f->granted = -1;
	f->wildcard = mqttsn_topic_has_wildcard(name, len);
	b = fhash(name, len) & gw->filter_mask;
	f->next = gw->filters[b];
	gw->filters[b] = f;
	if (f->wildcard) {
		f->next_wild = gw->wild;
		if (gw->wild != NULL)
			gw->wild->prev_wild = f;
		gw->wild = f;
	}
	gw->nfilters++;
	return f;
}

static void destroy(struct gw *gw, struct gw_filter *f)
{
	struct gw_filter **pp = &gw->filters[fhash(f->name, f->len) & gw->filter_mask];

	for (; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	if (f->wildcard) {
		if (f->prev_wild != NULL)
			f->prev_wild->next_wild = f->next_wild;
		else
			gw->wild = f->next_wild;
		if (f->next_wild != NULL)
			f->next_wild->prev_wild = f->prev_wild;
	}
	if (f->pending)
		gw_map_del(&gw->sub_tokens, f->token);
	gw->nfilters--;
	free(f->members);
	free(f->name);
	free(f);
}

/* Drop one count; the last one unsubscribes at the broker. */
static void release(struct gw *gw, struct gw_filter *f)
{
	uint32_t tok = 0;

	if (--f->refs != 0)
		return;
	if (!gw->freeing && gw->shared == GW_SHARED_UP && gw->ops.broker_unsubscribe != NULL)
		(void)gw->ops.broker_unsubscribe(gw->ctx, GW_CONN_AGGREGATE, f->name, f->len, &tok);
	destroy(gw, f);
}

struct gw_filter *gw_filter_ref(struct gw *gw, const char *name, size_t len,
                                struct gw_session *s)
{
	struct gw_filter *f = gw_filter_find(gw, name, len);

	if (f == NULL && (f = create(gw, name, len)) == NULL)
		return NULL;
	if (f->nmembers == f->capmembers) {
		uint32_t cap = f->capmembers ? f->capmembers * 2 : 4;
		struct gw_session **n = realloc(f->members, cap * sizeof *n);

		if (n == NULL) {
			if (f->refs == 0)
				destroy(gw, f);
			return NULL;
		}
		f->members = n;
		f->capmembers = cap;
	}
	f->members[f->nmembers++] = s;
	f->refs++;
	return f;
}

void gw_filter_unref(struct gw *gw, struct gw_filter *f, struct gw_session *s)
{
	uint32_t i;

	for (i = 0; i < f->nmembers; i++)
		if (f->members[i] == s) {
			f->members[i] = f->members[--f->nmembers];
			break;
		}
	release(gw, f);
}

static struct gw_sub *member_sub(const struct gw_session *s, const struct gw_filter *f)
{
	uint32_t i;

	for (i = 0; i < s->nsubs; i++)
		if (s->subs[i].shared == f)
			return &s->subs[i];
	return NULL;
}

/* ---------------------------------------------------------------- subscribing */

static int issue(struct gw *gw, struct gw_filter *f, uint8_t qos)
{
	uint32_t tok = 0;

	if (gw->shared != GW_SHARED_UP || gw->ops.broker_subscribe == NULL ||
	    gw->ops.broker_subscribe(gw->ctx, GW_CONN_AGGREGATE, f->name, f->len, qos, &tok) < 0)
		return -1;
	if (gw_map_put(&gw->sub_tokens, tok, f) != 0)
		return -1;
	f->pending = true;
	f->token = tok;
	f->asked = qos;
	return 0;
}

/*
 * Answer every client waiting on f whose request the broker's answer covers
 * (granted < 0: all of them, refused). Returns the highest QoS still wanted
 * by a waiter the answer did not cover, or -1.
 */
static int answer_waiters(struct gw *gw, struct gw_filter *f, int granted)
{
	struct gw_session **list;
	uint32_t i, n = 0;
	int want = -1;

	if (f->nmembers == 0)
		return -1;
	/* answering may remove members (a refusal drops the subscription) */
	list = malloc(f->nmembers * sizeof *list);
	if (list == NULL)
		return -1;
	for (i = 0; i < f->nmembers; i++)
		list[n++] = f->members[i];
	f->refs++;
	for (i = 0; i < n; i++) {
		struct gw_sub *sub = member_sub(list[i], f);

		if (sub == NULL || !sub->waiting)
			continue;
		if (granted >= 0 && sub->qos > f->asked) {
			if (sub->qos > want)
				want = sub->qos;
			continue;
		}
		gw_sub_filter_answer(gw, list[i], sub, granted);
	}
	free(list);
	if (f->refs == 1) {
		release(gw, f);
		return -1;
	}
	f->refs--;
	return want;
}

void gw_filter_request(struct gw *gw, struct gw_filter *f, struct gw_session *s,
                       struct gw_sub *sub, uint64_t now)
{
	if (f->pending)
		return; /* answered with the broker's SUBACK */
	if (f->granted >= 0 && f->asked >= sub->qos) {
		gw_sub_filter_answer(gw, s, sub, f->granted);
		return;
	}
	if (issue(gw, f, sub->qos > f->asked ? sub->qos : f->asked) != 0) {
		gw_note(gw, s, GW_CAUSE_BROKER_REFUSED, now, "SUBACK congestion: subscribe refused");
		(void)answer_waiters(gw, f, -1);
	}
}

void gw_filter_subacked(struct gw *gw, uint32_t token, int granted)
{
	struct gw_filter *f = gw_map_get(&gw->sub_tokens, token);
	int want;

	if (f == NULL)
		return;
	gw_map_del(&gw->sub_tokens, token);
	f->pending = false;
	if (granted >= 0)
		f->granted = (int8_t)granted;
	else
		gw_say(gw, GW_LOG_WARN, "broker refused subscription %s", f->name);
	want = answer_waiters(gw, f, granted);
	/* f may be gone now; want >= 0 only when it is still there */
	if (want >= 0 && issue(gw, f, (uint8_t)want) != 0)
		(void)answer_waiters(gw, f, -1);
}

void gw_filter_resubscribe_all(struct gw *gw)
{
	uint32_t b;
	struct gw_filter *f;

	for (b = 0; gw->filters != NULL && b <= gw->filter_mask; b++)
		for (f = gw->filters[b]; f != NULL; f = f->next)
			if (!f->pending && f->refs > 0 && issue(gw, f, f->asked) != 0)
				gw_say(gw, GW_LOG_WARN, "cannot subscribe %s again", f->name);
}

void gw_filter_fail_pending(struct gw *gw)
{
	uint32_t b;
	struct gw_filter *f;

	/* the waiters were answered with their sessions (gw_sub_fail_waiting) */
	for (b = 0; gw->filters != NULL && b <= gw->filter_mask; b++)
		for (f = gw->filters[b]; f != NULL; f = f->next)
			f->pending = false;
	gw_map_free(&gw->sub_tokens);
}

void gw_filter_free_all(struct gw *gw)
{
	uint32_t b;

	for (b = 0; gw->filters != NULL && b <= gw->filter_mask; b++)
		while (gw->filters[b] != NULL)
			destroy(gw, gw->filters[b]);
	free(gw->scratch);
	gw->scratch = NULL;
}

/* ---------------------------------------------------------------- fan-out */

static int visit(struct gw *gw, struct gw_filter *f, uint32_t *n)
{
	uint32_t i;

	for (i = 0; i < f->nmembers; i++) {
		struct gw_session *s = f->members[i];
		struct gw_sub *sub = member_sub(s, f);
		int q;

		if (sub == NULL)
			continue;
		q = sub->granted >= 0 ? sub->granted : sub->qos;
		if (s->fanout_mark == gw->fanout_mark) {
			if (q > s->fanout_qos)
				s->fanout_qos = (uint8_t)q;
			continue;
		}
		if (*n == gw->capscratch) {
			uint32_t cap = gw->capscratch ? gw->capscratch * 2 : 64;
			struct gw_session **p = realloc(gw->scratch, cap * sizeof *p);

			if (p == NULL)
				return -1;
			gw->scratch = p;
			gw->capscratch = cap;
		}
		s->fanout_mark = gw->fanout_mark;
		s->fanout_qos = (uint8_t)q;
		gw->scratch[(*n)++] = s;
	}
	return 0;
}

void gw_filter_fanout(struct gw *gw, const char *topic, size_t topic_len, const uint8_t *payload,
                      size_t len, int qos, bool retain, uint64_t now)
{
	struct gw_filter *f;
	struct gw_blob *b;
	uint32_t i, n = 0;

	/* every client once, at the best QoS of its matching subscriptions */
	if (++gw->fanout_mark == 0)
		gw->fanout_mark = 1;
	f = gw_filter_find(gw, topic, topic_len);
	if (f != NULL && !f->wildcard && visit(gw, f, &n) != 0)
		goto oom;
	for (f = gw->wild; f != NULL; f = f->next_wild)
		if (mqttsn_topic_matches(f->name, f->len, topic, topic_len) && visit(gw, f, &n) != 0)
			goto oom;
	if (n == 0) {
		gw_note(gw, NULL, GW_CAUSE_NO_SUBSCRIPTION, now,
		        "message on %.*s matches no subscription",
		        (int)(topic_len > 64 ? 64 : topic_len), topic);
		return;
	}
	b = gw_blob_new(topic, topic_len, payload, len);
	if (b == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		struct gw_session *s = gw->scratch[i];
		int q = s->fanout_qos < qos ? s->fanout_qos : qos;

		s->stats.broker_msgs++;
		s->stats.broker_bytes_in += len;
		gw_down_enqueue(gw, s, b, q, retain, now);
	}
	gw_blob_unref(b);
	return;
oom:
	gw_say(gw, GW_LOG_ERR, "out of memory fanning out a message on %.*s",
	       (int)(topic_len > 64 ? 64 : topic_len), topic);
}
