/*
 * segdir.c - segment files in a locked directory (see segdir.h).
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sn-client/segdir.h"

#define LOCK_NAME "lock"
#define TMP_NAME "compact.tmp"
#define SEG_PREFIX "seg-"
#define SEG_SUFFIX ".log"
#define SEG_NAME_LEN (4 + 16 + 4)

/* ---------------------------------------------------------------- errors */

/* Records "dir/name: call: strerror" and returns SNC_ERR_IO with errno kept. */
static int fail(struct snc_segdir *d, const char *name, const char *call)
{
	int e = errno;

	snprintf(d->err, sizeof d->err, "%s/%s: %s: %s", d->path, name, call, strerror(e));
	errno = e;
	return SNC_ERR_IO;
}

static void seg_name(char out[SEG_NAME_LEN + 1], uint64_t num)
{
	snprintf(out, SEG_NAME_LEN + 1, SEG_PREFIX "%016" PRIx64 SEG_SUFFIX, num);
}

/* Parses a segment file name; false for anything else. */
static int parse_seg_name(const char *name, uint64_t *num)
{
	uint64_t v = 0;

	if (strlen(name) != SEG_NAME_LEN || strncmp(name, SEG_PREFIX, 4) != 0 ||
	    strcmp(name + 20, SEG_SUFFIX) != 0)
		return 0;
	for (int i = 4; i < 20; i++) {
		char ch = name[i];
		unsigned digit;

		if (ch >= '0' && ch <= '9')
			digit = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			digit = (unsigned)(ch - 'a' + 10);
		else
			return 0;
		v = v << 4 | digit;
	}
	*num = v;
	return 1;
}

/* ---------------------------------------------------------------- directory */

int snc_segdir_open(struct snc_segdir *d, const char *path)
{
	size_t n = strlen(path);

	assert(d != NULL && path != NULL);
	d->dirfd = -1;
	d->lockfd = -1;
	d->err[0] = '\0';
	if (n == 0 || n >= sizeof d->path) {
		snprintf(d->err, sizeof d->err, "queue directory name empty or too long");
		return SNC_ERR_INVALID;
	}
	memcpy(d->path, path, n + 1);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		snprintf(d->err, sizeof d->err, "%s: mkdir: %s", path, strerror(errno));
		return SNC_ERR_IO;
	}
	d->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0) {
		snprintf(d->err, sizeof d->err, "%s: open: %s", path, strerror(errno));
		return SNC_ERR_IO;
	}
	d->lockfd = openat(d->dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lockfd < 0) {
		int rc = fail(d, LOCK_NAME, "open");

		snc_segdir_close(d);
		return rc;
	}
	/* Two writers appending to the same segments would interleave records. */
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) != 0) {
		int busy = errno == EWOULDBLOCK;
		int rc = fail(d, LOCK_NAME, busy ? "locked by another process" : "flock");

		snc_segdir_close(d);
		return busy ? SNC_ERR_BUSY : rc;
	}
	snc_segdir_drop_tmp(d);
	return SNC_OK;
}

void snc_segdir_close(struct snc_segdir *d)
{
	if (d->lockfd >= 0)
		close(d->lockfd);
	if (d->dirfd >= 0)
		close(d->dirfd);
	d->lockfd = -1;
	d->dirfd = -1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int snc_segdir_list(struct snc_segdir *d, uint64_t **nums, size_t *n)
{
	int fd = dup(d->dirfd);
	DIR *dir;
	struct dirent *ent;
	uint64_t *v = NULL;
	size_t count = 0, cap = 0;

	*nums = NULL;
	*n = 0;
	if (fd < 0)
		return fail(d, ".", "dup");
	dir = fdopendir(fd);
	if (dir == NULL) {
		close(fd);
		return fail(d, ".", "fdopendir");
	}
	rewinddir(dir);
	while ((ent = readdir(dir)) != NULL) {
		uint64_t num;

		if (!parse_seg_name(ent->d_name, &num))
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			uint64_t *nv = realloc(v, ncap * sizeof *nv);

			if (nv == NULL) {
				free(v);
				closedir(dir);
				snprintf(d->err, sizeof d->err, "%s: out of memory listing segments", d->path);
				return SNC_ERR_NOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[count++] = num;
	}
	closedir(dir);
	if (count > 1)
		qsort(v, count, sizeof *v, cmp_u64);
	*nums = v;
	*n = count;
	return SNC_OK;
}

int snc_segdir_sync(struct snc_segdir *d)
{
	return fsync(d->dirfd) == 0 ? SNC_OK : fail(d, ".", "fsync");
}

/* ---------------------------------------------------------------- segments */

int snc_segdir_open_seg(struct snc_segdir *d, uint64_t num, int create, int *fd)
{
	char name[SEG_NAME_LEN + 1];
	int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);

	seg_name(name, num);
	*fd = openat(d->dirfd, name, flags, 0600);
	return *fd >= 0 ? SNC_OK : fail(d, name, "open");
}

int snc_segdir_open_tmp(struct snc_segdir *d, int *fd)
{
	*fd = openat(d->dirfd, TMP_NAME, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	return *fd >= 0 ? SNC_OK : fail(d, TMP_NAME, "open");
}

int snc_segdir_commit_tmp(struct snc_segdir *d, uint64_t num)
{
	char name[SEG_NAME_LEN + 1];

	seg_name(name, num);
	if (renameat(d->dirfd, TMP_NAME, d->dirfd, name) != 0)
		return fail(d, TMP_NAME, "rename");
	return snc_segdir_sync(d);
}

void snc_segdir_drop_tmp(struct snc_segdir *d)
{
	(void)unlinkat(d->dirfd, TMP_NAME, 0);
}

int snc_segdir_unlink(struct snc_segdir *d, uint64_t num)
{
	char name[SEG_NAME_LEN + 1];

	seg_name(name, num);
	return unlinkat(d->dirfd, name, 0) == 0 ? SNC_OK : fail(d, name, "unlink");
}

int snc_segdir_read_all(struct snc_segdir *d, int fd, uint64_t num, uint8_t **buf, size_t *len)
{
	char name[SEG_NAME_LEN + 1];
	struct stat st;
	uint8_t *b;
	size_t got = 0, size;

	seg_name(name, num);
	*buf = NULL;
	*len = 0;
	if (fstat(fd, &st) != 0)
		return fail(d, name, "fstat");
	if (st.st_size <= 0)
		return SNC_OK;
	size = (size_t)st.st_size;
	b = malloc(size);
	if (b == NULL) {
		snprintf(d->err, sizeof d->err, "%s/%s: out of memory reading %zu octets", d->path, name,
		         size);
		return SNC_ERR_NOMEM;
	}
	while (got < size) {
		ssize_t r = pread(fd, b + got, size - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return fail(d, name, "read");
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*buf = b;
	*len = got;
	return SNC_OK;
}

int snc_segdir_read_at(struct snc_segdir *d, int fd, uint64_t num, uint64_t off, uint8_t *buf,
                       size_t len)
{
	char name[SEG_NAME_LEN + 1];
	size_t got = 0;

	seg_name(name, num);
	while (got < len) {
		ssize_t r = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(d, name, "read");
		if (r == 0) {
			snprintf(d->err, sizeof d->err, "%s/%s: file shorter than its index", d->path, name);
			return SNC_ERR_CORRUPT;
		}
		got += (size_t)r;
	}
	return SNC_OK;
}

int snc_segdir_append(struct snc_segdir *d, int fd, uint64_t num, uint64_t *size,
                      const uint8_t *buf, size_t len)
{
	char name[SEG_NAME_LEN + 1];
	size_t put = 0;

	seg_name(name, num);
	while (put < len) {
		ssize_t w = pwrite(fd, buf + put, len - put, (off_t)(*size + put));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int rc;

			if (w == 0)
				errno = ENOSPC;
			rc = fail(d, name, "write");
			/* Leave no half record for the next append to follow. */
			if (put > 0) {
				int e = errno;

				(void)ftruncate(fd, (off_t)*size);
				errno = e;
			}
			return rc;
		}
		put += (size_t)w;
	}
	*size += len;
	return SNC_OK;
}

int snc_segdir_truncate(struct snc_segdir *d, int fd, uint64_t num, uint64_t len)
{
	char name[SEG_NAME_LEN + 1];

	seg_name(name, num);
	if (ftruncate(fd, (off_t)len) != 0)
		return fail(d, name, "ftruncate");
	return fsync(fd) == 0 ? SNC_OK : fail(d, name, "fsync");
}

int snc_segdir_fsync(struct snc_segdir *d, int fd, uint64_t num)
{
	char name[SEG_NAME_LEN + 1];

	seg_name(name, num);
	return fsync(fd) == 0 ? SNC_OK : fail(d, name, "fsync");
}
