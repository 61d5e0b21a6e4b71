/*
 * tty.c - serial device set-up (tty.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "sn-client/tty.h"

/* The rates termios names; anything else needs driver-specific calls. */
static const struct {
	uint32_t baud;
	speed_t speed;
} rates[] = {
	{ 300, B300 },       { 600, B600 },       { 1200, B1200 },     { 1800, B1800 },
	{ 2400, B2400 },     { 4800, B4800 },     { 9600, B9600 },     { 19200, B19200 },
	{ 38400, B38400 },   { 57600, B57600 },   { 115200, B115200 }, { 230400, B230400 },
#ifdef B460800
	{ 460800, B460800 },
#endif
#ifdef B921600
	{ 921600, B921600 },
#endif
};

static bool speed_of(uint32_t baud, speed_t *out)
{
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		if (rates[i].baud == baud) {
			*out = rates[i].speed;
			return true;
		}
	}
	return false;
}

bool snc_tty_baud_ok(uint32_t baud)
{
	speed_t s;

	return speed_of(baud, &s);
}

int snc_tty_configure(int fd, const struct snc_tty_config *c, char *err, size_t errcap)
{
	struct termios tio;
	speed_t speed;

	if (!speed_of(c->baud, &speed)) {
		snprintf(err, errcap, "%lu baud is not a standard rate", (unsigned long)c->baud);
		errno = EINVAL;
		return SNC_ERR_INVALID;
	}
	if (tcgetattr(fd, &tio) != 0) {
		snprintf(err, errcap, "tcgetattr: %s", strerror(errno));
		return SNC_ERR_IO;
	}
	cfmakeraw(&tio);
	tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS | HUPCL);
	tio.c_cflag |= CS8 | CREAD | CLOCAL;
	if (c->rtscts)
		tio.c_cflag |= CRTSCTS;
	tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	/* With VMIN 0 a non-blocking read() of an empty line returns 0, which
	 * reads as a hang-up; with 1 it fails with EAGAIN, and 0 means one. */
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (cfsetispeed(&tio, speed) != 0 || cfsetospeed(&tio, speed) != 0) {
		snprintf(err, errcap, "cfsetspeed %lu: %s", (unsigned long)c->baud, strerror(errno));
		return SNC_ERR_IO;
	}
	if (tcsetattr(fd, TCSANOW, &tio) != 0) {
		snprintf(err, errcap, "tcsetattr: %s", strerror(errno));
		return SNC_ERR_IO;
	}
	return SNC_OK;
}

int snc_tty_open(const char *path, const struct snc_tty_config *c, char *err, size_t errcap)
{
	char why[200];
	int fd, saved;

	if (!snc_tty_baud_ok(c->baud)) {
		snprintf(err, errcap, "%s: %lu baud is not a standard rate", path,
		         (unsigned long)c->baud);
		errno = EINVAL;
		return -1;
	}
	do
		fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!isatty(fd)) {
		saved = errno;
		snprintf(err, errcap, "%s: not a terminal (%s)", path, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	if (snc_tty_configure(fd, c, why, sizeof why) != SNC_OK) {
		saved = errno;
		snprintf(err, errcap, "%s: %s", path, why);
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}
