/*
 * feed.c - the persistent queue as a source for the client core (feed.h).
 */
#include <assert.h>
#include <stddef.h>

#include "sn-client/feed.h"

void snc_feed_init(struct snc_feed *f, struct snc_queue *q, uint64_t (*clock)(void *arg),
                   void *clock_arg)
{
	assert(f != NULL && q != NULL && clock != NULL);
	f->q = q;
	f->clock = clock;
	f->clock_arg = clock_arg;
	f->last_err = SNC_OK;
}

static void note(struct snc_feed *f, int rc)
{
	if (rc != SNC_OK && rc != SNC_ERR_EMPTY && rc != SNC_ERR_NOT_FOUND)
		f->last_err = rc;
}

static int feed_next(void *ctx, struct snc_message *out)
{
	struct snc_feed *f = ctx;
	int rc = snc_queue_claim(f->q, f->clock(f->clock_arg), out);

	note(f, rc);
	return rc;
}

static void feed_done(void *ctx, uint64_t seq, int result)
{
	struct snc_feed *f = ctx;

	/* A failed write of the acknowledgement costs a repeat after a restart,
	 * never a loss, so it is only remembered. */
	note(f, result == 0 ? snc_queue_ack(f->q, seq) : snc_queue_discard(f->q, seq));
}

static void feed_release(void *ctx, uint64_t seq)
{
	struct snc_feed *f = ctx;

	note(f, snc_queue_release(f->q, seq));
}

static int feed_mark(void *ctx, uint64_t seq, uint16_t msg_id, enum snc_claim state)
{
	struct snc_feed *f = ctx;
	int rc = snc_queue_mark(f->q, seq, msg_id, state);

	note(f, rc);
	return rc;
}

static bool feed_msg_id_marked(void *ctx, uint16_t msg_id)
{
	return snc_queue_msg_id_marked(((struct snc_feed *)ctx)->q, msg_id);
}

static const struct snc_source feed_ops = {
	.next = feed_next,
	.done = feed_done,
	.release = feed_release,
	.mark = feed_mark,
	.msg_id_marked = feed_msg_id_marked,
};

const struct snc_source *snc_feed_source(void)
{
	return &feed_ops;
}
