/*
 * custody_release.c - the recovered PUBREC marks after a restart
 * (custody_release.h): lone PUBRELs and their PUBCOMPs, or the marks
 * cleared where PUBRELs cannot do.
 *
 * Each mark is a pending entry that ends in one of two ways: the PUBCOMP
 * for its PUBREL comes (the broker has delivered the message, now or
 * before the crash: it is done), or its mark is cleared in the store (it
 * will be published again as a new message). A mark may only be dropped
 * durably: were it left in the store while the message went out again
 * under another packet id, the next restart would release whatever the
 * broker holds under the old one and call this message done.
 */
#include "bridge/custody_release.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/log.h"

enum pstate {
	P_RELEASE, /* a PUBREL to send, or sent: waiting for its PUBCOMP */
	P_FORGET,  /* its mark to clear */
	P_DONE,
};

struct cust_pending {
	char id[GW_STORE_CLIENT_ID_MAX + 1];
	uint64_t seq;
	uint16_t mid;
	uint8_t state;
	bool sent; /* PUBREL written on the present connection */
};

/* ---------------------------------------------------------------- helpers */

/* By packet id, then newest message first. */
static int cmp_pending(const void *a, const void *b)
{
	const struct cust_pending *x = a, *y = b;
	if (x->mid != y->mid)
		return x->mid < y->mid ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq;
}

static struct cust_pending *by_mid(struct cust_release *r, uint16_t mid)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		if (r->v[m].mid < mid)
			lo = m + 1;
		else
			hi = m;
	}
	/* The newest with this id is first; the others are P_FORGET. */
	return lo < r->n && r->v[lo].mid == mid ? &r->v[lo] : NULL;
}

static void finish(struct cust_release *r, struct cust_pending *p)
{
	p->state = P_DONE;
	if (p->sent) {
		p->sent = false;
		r->sent--;
	}
	r->left--;
}

static void arm(struct cust_release *r)
{
	uint64_t now = gw_loop_now(r->loop), due = UINT64_MAX;
	bool forget = false;
	for (size_t i = 0; i < r->n && !forget; i++)
		forget = r->v[i].state == P_FORGET;
	if (forget)
		due = now + CUSTODY_RETRY_MS;
	if (r->up && r->sent > 0 && r->deadline < due)
		due = r->deadline;
	if (due == UINT64_MAX)
		gw_timer_disarm(r->loop, &r->timer);
	else if (gw_timer_arm(r->loop, &r->timer, due) != 0)
		gw_log(GW_LOG_ERR, "custody: out of memory arming a timer");
}

/* The last of them is finished: tell the drainer. */
static void check_done(struct cust_release *r)
{
	if (r->left > 0 || r->v == NULL)
		return;
	/* After a drop, finished() comes with the loss of the connection. */
	gw_timer_disarm(r->loop, &r->timer);
	gw_log(GW_LOG_INFO, "custody: messages of the previous run settled: %llu released by PUBREL "
	       "(the broker had them), %llu to be published again; publishing%s",
	       (unsigned long long)r->released, (unsigned long long)r->cleared,
	       r->dropping ? " on the next connection" : "");
	free(r->v);
	r->v = NULL;
	r->n = 0;
	if (!r->dropping)
		r->finished(r->arg);
}

/* Clear the marks of the P_FORGET entries; a failure is tried again later. */
static void forget_marks(struct cust_release *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct cust_pending *p = &r->v[i];
		if (p->state != P_FORGET)
			continue;
		int rc = gw_store_up_mark(r->store, p->id, p->seq, 0);
		if (rc == GW_STORE_OK || rc == GW_STORE_ERR_NOT_FOUND) {
			r->cleared += rc == GW_STORE_OK;
			finish(r, p);
			continue;
		}
		uint64_t now = gw_wall_ms();
		if (r->logged == 0 || now - r->logged >= 60000u) {
			r->logged = now;
			gw_log(GW_LOG_ERR, "custody store: clearing a PUBREC mark: %s: %s; nothing is "
			       "published until it can be written", gw_store_strerror(rc),
			       gw_store_errmsg(r->store));
		}
	}
}

/* Every entry still to release is to be cleared instead. */
static void forget_all(struct cust_release *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].state == P_RELEASE) {
			r->v[i].state = P_FORGET;
			if (r->v[i].sent) {
				r->v[i].sent = false;
				r->sent--;
			}
		}
	}
	forget_marks(r);
}

/* Send the next PUBRELs, up to a batch, when none is waiting for its PUBCOMP. */
static void send_batch(struct cust_release *r)
{
	uint16_t mids[GW_BROKER_RELEASE_MAX];
	size_t k = 0;
	if (!r->up || r->sent > 0)
		return;
	for (size_t i = 0; i < r->n && k < GW_BROKER_RELEASE_MAX; i++)
		if (r->v[i].state == P_RELEASE)
			mids[k++] = r->v[i].mid;
	if (k == 0)
		return;
	/* On failure the connection is dropped: they go again on the next one. */
	if (gw_broker_custody_release(r->broker, mids, k) != 0)
		return;
	for (size_t i = 0, j = 0; i < r->n && j < k; i++) {
		if (r->v[i].state == P_RELEASE) {
			r->v[i].sent = true;
			j++;
		}
	}
	r->sent = k;
	r->deadline = gw_loop_now(r->loop) + CUSTODY_RELEASE_MS;
	gw_log(GW_LOG_DEBUG, "custody: %zu lone PUBREL(s) sent", k);
}

/* ---------------------------------------------------------------- the timer */

static void on_timer(void *arg, uint64_t now)
{
	struct cust_release *r = arg;
	forget_marks(r);
	if (r->up && r->sent > 0 && now >= r->deadline) {
		size_t waiting = r->sent;
		if (++r->expiries >= CUSTODY_RELEASE_TRIES) {
			gw_log(GW_LOG_WARN, "custody: no PUBCOMP seen for %zu lone PUBREL(s) in %u tries; "
			       "giving up: their messages are published again (a subscriber may get them "
			       "twice), and PUBRECs are not recorded any more in this run (a libmosquitto "
			       "that logs them in other words?)", waiting, r->expiries);
			r->marking = false;
			forget_all(r);
		} else {
			gw_log(GW_LOG_WARN, "custody: no PUBCOMP for %zu lone PUBREL(s) within %u ms; "
			       "reconnecting to send them again", waiting, CUSTODY_RELEASE_MS);
		}
		/* A late PUBCOMP must not meet a new publish on this connection:
		 * nothing is published until it is gone. */
		r->sent = 0;
		for (size_t i = 0; i < r->n; i++)
			r->v[i].sent = false;
		r->dropping = true;
		gw_broker_custody_drop(r->broker);
	}
	arm(r);
	check_done(r);
}

/* ---------------------------------------------------------------- events */

void cust_release_connected(struct cust_release *r, bool session_present)
{
	r->up = true;
	if (r->left == 0)
		return;
	if (!session_present) {
		/* The broker has nothing under those ids: released, they would be
		 * called done without having been delivered. */
		gw_log(GW_LOG_WARN, "custody: the broker kept no session for the custody connection; "
		       "the %zu message(s) it had acknowledged with PUBREC are published again",
		       r->left);
		forget_all(r);
	}
	send_batch(r);
	arm(r);
	check_done(r);
}

void cust_release_lost(struct cust_release *r)
{
	bool was = r->dropping;
	r->up = false;
	r->dropping = false;
	if (was && r->left == 0)
		r->finished(r->arg);
	r->sent = 0;
	for (size_t i = 0; i < r->n; i++)
		r->v[i].sent = false;
	if (r->v != NULL)
		arm(r);
}

void cust_release_completed(struct cust_release *r, uint16_t mid, int reason)
{
	struct cust_pending *p;
	if (r->left == 0 || (p = by_mid(r, mid)) == NULL || !p->sent || p->state != P_RELEASE)
		return;
	/*
	 * MQTT 5 may answer 0x92 (packet id not found; mosquitto 2.0.11 sends
	 * 0 either way): the broker had released it already, before the
	 * crash. Either way it has the message and delivered it once.
	 */
	(void)reason;
	int rc = gw_store_up_done(r->store, p->id, p->seq);
	/* On a failed write the index has let it go all the same (store.h):
	 * after a restart its mark brings it back here, never to a publish. */
	if (rc != GW_STORE_OK && rc != GW_STORE_ERR_NOT_FOUND)
		gw_log(GW_LOG_ERR, "custody store: done: %s: %s", gw_store_strerror(rc),
		       gw_store_errmsg(r->store));
	r->released++;
	finish(r, p);
	if (r->sent == 0) {
		send_batch(r);
		arm(r);
	}
	check_done(r);
}

/* ---------------------------------------------------------------- life */

bool cust_release_busy(const struct cust_release *r)
{
	return r->left > 0 || r->dropping;
}

int cust_release_init(struct cust_release *r, struct gw_loop *loop, struct gw_broker *broker,
                      struct gw_store *store, void (*finished)(void *arg), void *arg)
{
	struct gw_store_mark mk;
	uint64_t cur = 0;
	size_t cap = 0;
	memset(r, 0, sizeof *r);
	r->loop = loop;
	r->broker = broker;
	r->store = store;
	r->finished = finished;
	r->arg = arg;
	r->marking = gw_broker_custody_lone_pubrel(broker);
	gw_timer_init(&r->timer, on_timer, r);
	while (gw_store_up_mark_next(store, &cur, &mk)) {
		if (r->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct cust_pending *v = realloc(r->v, ncap * sizeof *v);
			if (v == NULL) {
				free(r->v);
				r->v = NULL;
				return -1;
			}
			r->v = v;
			cap = ncap;
		}
		struct cust_pending *p = &r->v[r->n++];
		memset(p, 0, sizeof *p);
		snprintf(p->id, sizeof p->id, "%s", mk.client_id);
		p->seq = mk.seq;
		p->mid = mk.broker_mid;
		p->state = r->marking ? P_RELEASE : P_FORGET;
	}
	if (r->n == 0)
		return 0;
	r->left = r->n;
	qsort(r->v, r->n, sizeof *r->v, cmp_pending);
	/*
	 * Two marks with one packet id cannot both stand: the broker holds at
	 * most one message under it. Only the newest is released; the others
	 * are published again, which at worst repeats one, never loses one.
	 */
	for (size_t i = 1; i < r->n; i++)
		if (r->v[i].mid == r->v[i - 1].mid)
			r->v[i].state = P_FORGET;
	gw_log(GW_LOG_INFO, "custody: %zu message(s) of the previous run had the broker's PUBREC; %s",
	       r->n, r->marking ? "releasing them with PUBREL before publishing anything"
	                        : "TLS: publishing them again");
	forget_marks(r);
	arm(r);
	return 0;
}

void cust_release_free(struct cust_release *r)
{
	gw_timer_disarm(r->loop, &r->timer);
	free(r->v);
	r->v = NULL;
	r->n = r->left = 0;
}
