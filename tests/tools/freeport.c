/*
 * freeport.c - print a loopback port that is free right now.
 *
 *   freeport udp|tcp [4|6]
 *
 * Binds port 0 on 127.0.0.1 (or ::1 with 6), reads back the port the kernel
 * chose, closes the socket and prints the number. The system tests use it
 * so that no test depends on a fixed port and two copies of a test can run
 * side by side. Exit 0 with the port on stdout, 1 on a system error, 2 on a
 * usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: freeport udp|tcp [4|6]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	int type, family = AF_INET, fd;
	unsigned port;

	if (argc < 2 || argc > 3)
		return usage();
	if (strcmp(argv[1], "udp") == 0)
		type = SOCK_DGRAM;
	else if (strcmp(argv[1], "tcp") == 0)
		type = SOCK_STREAM;
	else
		return usage();
	if (argc == 3) {
		if (strcmp(argv[2], "6") == 0)
			family = AF_INET6;
		else if (strcmp(argv[2], "4") != 0)
			return usage();
	}

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		slen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		slen = sizeof(*sin6);
	}

	fd = socket(family, type, 0);
	if (fd < 0) {
		fprintf(stderr, "freeport: socket: %s\n", strerror(errno));
		return 1;
	}
	if (bind(fd, (struct sockaddr *)&ss, slen) < 0) {
		fprintf(stderr, "freeport: bind: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	slen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &slen) < 0) {
		fprintf(stderr, "freeport: getsockname: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	if (family == AF_INET)
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	printf("%u\n", port);
	return 0;
}
