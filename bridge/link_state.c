/*
 * link_state.c - a framed station's counters on disk.
 */
#include "bridge/link_state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/mqttsn.h"

#define PATH_CAP 4200
#define LINE_CAP 160

static int path_of(const char *dir, const char *client_id, const char *suffix, char *out,
                   size_t cap)
{
	char hex[2 * MQTTSN_CLIENT_ID_MAX + 1];
	size_t n = strlen(client_id);
	if (n == 0 || n > MQTTSN_CLIENT_ID_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)client_id[i]);
	int w = snprintf(out, cap, "%s/%s.link%s", dir, hex, suffix);
	return w < 0 || (size_t)w >= cap ? -1 : 0;
}

int gw_link_state_prepare(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "link_state_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "link_state_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "link_state_dir %s: not a directory", dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "link_state_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int gw_link_state_load(const char *dir, const char *client_id, uint64_t *tx_mark,
                       uint64_t *rx_floor, char *err, size_t errlen)
{
	char path[PATH_CAP], line[LINE_CAP], id[MQTTSN_CLIENT_ID_MAX + 2];
	if (path_of(dir, client_id, "", path, sizeof path) != 0) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ssize_t n;
	do
		n = read(fd, line, sizeof line - 1);
	while (n < 0 && errno == EINTR);
	int saved = errno;
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		return -1;
	}
	line[n] = '\0';
	unsigned long long tx, rx;
	int used = 0;
	/* %23s: a client id is at most 23 octets without blanks. */
	if (sscanf(line, "snbridge-link 1 tx_mark=%llu rx_floor=%llu %23s\n%n", &tx, &rx, id, &used) != 3 ||
	    used != n || strcmp(id, client_id) != 0) {
		snprintf(err, errlen, "%s: damaged (expected \"snbridge-link 1 tx_mark=N rx_floor=N %s\"); "
		         "restore it or, if the station's key is replaced too, remove it", path, client_id);
		return -1;
	}
	*tx_mark = tx;
	*rx_floor = rx;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	/* Each round writes at least one octet or fails. */
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int gw_link_state_save(const char *dir, const char *client_id, uint64_t tx_mark,
                       uint64_t rx_floor, char *err, size_t errlen)
{
	char path[PATH_CAP], tmp[PATH_CAP], line[LINE_CAP];
	if (path_of(dir, client_id, "", path, sizeof path) != 0 ||
	    path_of(dir, client_id, ".tmp", tmp, sizeof tmp) != 0) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	int len = snprintf(line, sizeof line, "snbridge-link 1 tx_mark=%" PRIu64 " rx_floor=%" PRIu64 " %s\n",
	                   tx_mark, rx_floor, client_id);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, line, (size_t)len) != 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* The rename is durable only once the directory is. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}
