/*
 * link_state.c - the framed transport's counter file (link.h):
 *
 *   # snbridge link state: never copy it to another station
 *   tx_mark 3072
 *   rx_highest 41
 *
 * rx_highest is absent until a frame was received. Written whole into a
 * temporary file, synced, renamed over the old one, and the directory
 * synced: after a crash the file is the old one or the new one, never a
 * mixture, and a mark once reported written is on the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn-client/link.h"

#define STATE_MAX 4096 /* a state file is a few lines */

static int fail(char *err, size_t errcap, const char *path, const char *what, int rc)
{
	snprintf(err, errcap, "%s: %s: %s", path, what, strerror(errno));
	return rc;
}

/* ---------------------------------------------------------------- reading */

static bool parse_u64(const char *s, const char *end, uint64_t *v)
{
	uint64_t n = 0;

	if (s == end)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*v = n;
	return true;
}

/* One line line[0..len): a comment, blank, or "key value". */
static bool parse_line(const char *line, size_t len, struct snc_linkt_state *st, bool *have_tx)
{
	const char *end = line + len, *sp;

	while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == line || line[0] == '#')
		return true;
	sp = memchr(line, ' ', (size_t)(end - line));
	if (sp == NULL)
		return false;
	if ((size_t)(sp - line) == 7 && memcmp(line, "tx_mark", 7) == 0) {
		*have_tx = true;
		return parse_u64(sp + 1, end, &st->tx_mark);
	}
	if ((size_t)(sp - line) == 10 && memcmp(line, "rx_highest", 10) == 0) {
		st->rx_any = true;
		return parse_u64(sp + 1, end, &st->rx_highest);
	}
	return false;
}

int snc_linkt_state_load(const char *path, struct snc_linkt_state *st, char *err, size_t errcap)
{
	char buf[STATE_MAX];
	size_t len = 0, pos = 0;
	unsigned lineno = 0;
	bool have_tx = false;
	int fd;

	memset(st, 0, sizeof *st);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return SNC_ERR_NOT_FOUND;
		return fail(err, errcap, path, "open", SNC_ERR_IO);
	}
	for (int guard = 0; guard < STATE_MAX && len < sizeof buf; guard++) {
		ssize_t n = read(fd, buf + len, sizeof buf - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return fail(err, errcap, path, "read", SNC_ERR_IO);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len == sizeof buf) {
		snprintf(err, errcap, "%s: longer than a link state file can be", path);
		return SNC_ERR_CORRUPT;
	}
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;

		lineno++;
		if (!parse_line(buf + pos, n, st, &have_tx)) {
			snprintf(err, errcap, "%s:%u: not a link state line", path, lineno);
			return SNC_ERR_CORRUPT;
		}
		pos += n + (nl != NULL ? 1u : 0u);
	}
	if (!have_tx) {
		/* An empty file is what a crash in the middle of a first write leaves
		 * on some file systems: starting from 0 could reuse a counter. */
		snprintf(err, errcap, "%s: no tx_mark line (restore the file or give the station a new key)", path);
		return SNC_ERR_CORRUPT;
	}
	return SNC_OK;
}

/* ---------------------------------------------------------------- writing */

/* The directory part of path, for its fsync ("." when none). */
static void dir_of(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(out, cap, ".");
	else if (slash == path)
		snprintf(out, cap, "/");
	else
		snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

static int write_all(int fd, const char *buf, size_t len)
{
	size_t done = 0;

	for (int guard = 0; guard < 1000 && done < len; guard++) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	return done == len ? 0 : -1;
}

int snc_linkt_state_save(const char *path, const struct snc_linkt_state *st, char *err, size_t errcap)
{
	char tmp[4096], dir[4096], text[256];
	int fd, n;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
		snprintf(err, errcap, "%s: path too long", path);
		return SNC_ERR_IO;
	}
	n = snprintf(text, sizeof text, "# snbridge link state: never copy it to another station\ntx_mark %" PRIu64 "\n",
	             st->tx_mark);
	if (st->rx_any)
		n += snprintf(text + n, sizeof text - (size_t)n, "rx_highest %" PRIu64 "\n", st->rx_highest);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(err, errcap, tmp, "open", SNC_ERR_IO);
	if (write_all(fd, text, (size_t)n) != 0 || fsync(fd) != 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		errno = e;
		return fail(err, errcap, tmp, "write", SNC_ERR_IO);
	}
	if (close(fd) != 0) {
		unlink(tmp);
		return fail(err, errcap, tmp, "close", SNC_ERR_IO);
	}
	if (rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		errno = e;
		return fail(err, errcap, path, "rename", SNC_ERR_IO);
	}
	dir_of(path, dir, sizeof dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errcap, dir, "open", SNC_ERR_IO);
	if (fsync(fd) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return fail(err, errcap, dir, "fsync", SNC_ERR_IO);
	}
	close(fd);
	return SNC_OK;
}
