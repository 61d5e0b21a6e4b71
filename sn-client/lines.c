/*
 * lines.c - input cut into lines as it arrives (lines.h).
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn-client/lines.h"

/* The buffer starts small: most lines are readings of a few dozen octets. */
#define FIRST_CAP 4096u

void snc_lines_init(struct snc_lines *l, size_t max)
{
	assert(l != NULL && max < SIZE_MAX);
	memset(l, 0, sizeof *l);
	l->max = max;
}

void snc_lines_free(struct snc_lines *l)
{
	size_t max;

	assert(l != NULL);
	max = l->max;
	free(l->buf);
	snc_lines_init(l, max);
}

/* Where the line starting at l->start ends (its '\n'), or NULL. */
static const uint8_t *line_end(const struct snc_lines *l)
{
	if (l->start == l->len)
		return NULL;
	return memchr(l->buf + l->start, '\n', l->len - l->start);
}

bool snc_lines_ready(const struct snc_lines *l)
{
	assert(l != NULL);
	return line_end(l) != NULL || (l->eof && l->start < l->len);
}

bool snc_lines_done(const struct snc_lines *l)
{
	assert(l != NULL);
	return l->eof && l->start == l->len;
}

bool snc_lines_peek(const struct snc_lines *l, const uint8_t **p, size_t *n)
{
	const uint8_t *nl;

	assert(l != NULL && p != NULL && n != NULL);
	if (!snc_lines_ready(l))
		return false;
	nl = line_end(l);
	*p = l->buf + l->start;
	*n = (nl != NULL ? (size_t)(nl - l->buf) : l->len) - l->start;
	return true;
}

void snc_lines_take(struct snc_lines *l)
{
	const uint8_t *nl;

	assert(l != NULL && snc_lines_ready(l));
	nl = line_end(l);
	l->start = nl != NULL ? (size_t)(nl - l->buf) + 1 : l->len;
}

bool snc_lines_next(struct snc_lines *l, const uint8_t **p, size_t *n)
{
	if (!snc_lines_peek(l, p, n))
		return false;
	snc_lines_take(l);
	return true;
}

/* Room to read into: the partial line moved to the front, the buffer grown
 * while a line of max octets and its '\n' still need it. */
static int make_room(struct snc_lines *l)
{
	size_t ncap;
	uint8_t *nb;

	if (l->start > 0) {
		memmove(l->buf, l->buf + l->start, l->len - l->start);
		l->len -= l->start;
		l->start = 0;
	}
	if (l->buf != NULL && l->len < l->cap)
		return SNC_OK;
	/* Full of whole lines: they make room once taken. */
	if (line_end(l) != NULL)
		return SNC_OK;
	ncap = l->cap == 0 ? FIRST_CAP : l->cap * 2;
	if (ncap > l->max + 1 || ncap < l->cap)
		ncap = l->max + 1;
	/* Full and no '\n' in it: a line over max. */
	if (ncap <= l->len)
		return SNC_ERR_TOO_BIG;
	nb = realloc(l->buf, ncap);
	if (nb == NULL)
		return SNC_ERR_NOMEM;
	l->buf = nb;
	l->cap = ncap;
	return SNC_OK;
}

int snc_lines_fill(struct snc_lines *l, int fd)
{
	ssize_t n;
	int rc;

	assert(l != NULL);
	if (l->eof)
		return SNC_OK;
	rc = make_room(l);
	if (rc != SNC_OK || l->len == l->cap)
		return rc;
	n = read(fd, l->buf + l->len, l->cap - l->len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK ? SNC_OK : SNC_ERR_IO;
	l->eof = n == 0;
	l->len += (size_t)n;
	return SNC_OK;
}
