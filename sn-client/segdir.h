/*
 * segdir.h - a directory of append-only segment files: the file handling
 * under the outbound queue (queue.c), kept apart from its bookkeeping.
 *
 * The directory holds seg-<16 hex digits>.log files named by an increasing
 * number, a lock file held with flock() while open, and, only during a
 * compaction, compact.tmp. Every failure returns SNC_ERR_IO (errno kept)
 * and leaves a message naming the file and the call in d->err.
 */
#ifndef SNBRIDGE_SNC_SEGDIR_H
#define SNBRIDGE_SNC_SEGDIR_H

#include <stddef.h>
#include <stdint.h>

#include "sn-client/error.h"

struct snc_segdir {
	int dirfd;
	int lockfd;
	char path[512];
	char err[640];
};

/*
 * Open (creating it, mode 0700, when missing) and lock the directory, and
 * remove a compact.tmp left by an interrupted compaction. Returns SNC_OK,
 * SNC_ERR_BUSY when another process holds it, SNC_ERR_INVALID for a path
 * too long, or SNC_ERR_IO.
 */
SNC_MUST_CHECK int snc_segdir_open(struct snc_segdir *d, const char *path);

/* Unlock and close (segment descriptors are the caller's to close). */
void snc_segdir_close(struct snc_segdir *d);

/*
 * The numbers of the segment files present, ascending, in a malloc'ed array
 * (*nums, NULL when *n is 0). Names that are not segments are ignored.
 */
SNC_MUST_CHECK int snc_segdir_list(struct snc_segdir *d, uint64_t **nums, size_t *n);

/* Open segment num for reading and writing; create: make it (empty, must not exist). */
SNC_MUST_CHECK int snc_segdir_open_seg(struct snc_segdir *d, uint64_t num, int create, int *fd);

/* Create compact.tmp (replacing any) for writing. */
SNC_MUST_CHECK int snc_segdir_open_tmp(struct snc_segdir *d, int *fd);

/* Rename compact.tmp to segment num, then make the rename durable. */
SNC_MUST_CHECK int snc_segdir_commit_tmp(struct snc_segdir *d, uint64_t num);

/* Remove compact.tmp (after a failed compaction); errors are ignored. */
void snc_segdir_drop_tmp(struct snc_segdir *d);

/* Remove segment num. */
SNC_MUST_CHECK int snc_segdir_unlink(struct snc_segdir *d, uint64_t num);

/* fsync the directory, so that created and renamed names survive a crash. */
SNC_MUST_CHECK int snc_segdir_sync(struct snc_segdir *d);

/* Read the whole of fd into a malloc'ed buffer (*buf NULL when *len is 0). */
SNC_MUST_CHECK int snc_segdir_read_all(struct snc_segdir *d, int fd, uint64_t num, uint8_t **buf,
                                       size_t *len);

/* Read exactly len octets at off. A short read is SNC_ERR_CORRUPT. */
SNC_MUST_CHECK int snc_segdir_read_at(struct snc_segdir *d, int fd, uint64_t num, uint64_t off,
                                      uint8_t *buf, size_t len);

/*
 * Write buf at *size, the file's current end, and advance *size. On a
 * failure (a full disk) the file is cut back to *size so that no partial
 * record stays behind.
 */
SNC_MUST_CHECK int snc_segdir_append(struct snc_segdir *d, int fd, uint64_t num, uint64_t *size,
                                     const uint8_t *buf, size_t len);

/* Cut the file to len octets and fsync it: recovery dropping a torn tail. */
SNC_MUST_CHECK int snc_segdir_truncate(struct snc_segdir *d, int fd, uint64_t num, uint64_t len);

/* fsync one segment. */
SNC_MUST_CHECK int snc_segdir_fsync(struct snc_segdir *d, int fd, uint64_t num);

#endif
