/*
 * lines.h - input cut into lines as it arrives, for sn-pub -l: one read()
 * at a time, so that a program whose poll() loop found the descriptor
 * readable never blocks on it, and the whole lines handed out as views.
 *
 *     struct snc_lines in;
 *     snc_lines_init(&in, SNC_PAYLOAD_MAX);
 *     ... poll() says fd is readable:
 *     rc = snc_lines_fill(&in, fd);
 *     while (snc_lines_next(&in, &p, &n))
 *             use(p, n);
 *     ... until snc_lines_done(&in)
 *     snc_lines_free(&in);
 *
 * A line ends at '\n', which is not part of it; the input's last line may
 * lack it. An empty line is a line (of 0 octets).
 */
#ifndef SNBRIDGE_SNC_LINES_H
#define SNBRIDGE_SNC_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sn-client/error.h"

struct snc_lines {
	uint8_t *buf;
	size_t cap;
	size_t start, len;     /* buf[start, len) is not handed out yet */
	size_t max;            /* the longest line, octets */
	bool eof;              /* read() said the input is at its end */
};

/* An empty reader for lines of at most max octets; allocates nothing yet. */
void snc_lines_init(struct snc_lines *l, size_t max);

/* Free the buffer (the reader is empty again). */
void snc_lines_free(struct snc_lines *l);

/*
 * One read() from fd into the buffer. Returns SNC_OK (also when a signal
 * or O_NONBLOCK left nothing to read; eof is set at the end of the input),
 * SNC_ERR_TOO_BIG (a line longer than max: nothing read), SNC_ERR_NOMEM,
 * or SNC_ERR_IO (errno kept). Views from snc_lines_next() end here.
 */
SNC_MUST_CHECK int snc_lines_fill(struct snc_lines *l, int fd);

/*
 * The next whole line: true with *p and *n set (a view valid until the
 * next fill), false when no whole line is waiting.
 */
bool snc_lines_next(struct snc_lines *l, const uint8_t **p, size_t *n);

/*
 * Like snc_lines_next() without taking the line: it stays next until
 * snc_lines_take(), for a caller that may not be able to use it yet.
 */
bool snc_lines_peek(const struct snc_lines *l, const uint8_t **p, size_t *n);

/* Take the line snc_lines_peek() gave. */
void snc_lines_take(struct snc_lines *l);

/* Whether snc_lines_next() would give a line now. */
bool snc_lines_ready(const struct snc_lines *l);

/* Whether the input is at its end and every line was handed out. */
bool snc_lines_done(const struct snc_lines *l);

#endif
