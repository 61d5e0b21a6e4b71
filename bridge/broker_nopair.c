/*
 * broker_nopair.c - keep libmosquitto from opening a socket pair for every
 * broker connection.
 *
 * libmosquitto 2.0 opens a socketpair(2) for each client, in mosquitto_new()
 * and again in every connect call, so that another thread can wake the
 * select() in mosquitto_loop(). This daemon drives libmosquitto from its
 * own epoll loop (mosquitto_loop_read/_write/_misc) and never calls
 * mosquitto_loop(), so nothing ever reads the pair; yet every packet the
 * library queues writes one octet into it until its buffer is full. That
 * is two descriptors and a socket buffer of kernel memory per connection
 * for nothing: transparent mode needs 3 descriptors a client, so a 20,000
 * descriptor limit held it under 6,700 clients.
 *
 * When socketpair() fails the library logs a warning and goes on without
 * the pair (it is only the wake-up of its threaded loop). So the daemon
 * defines socketpair() itself: the dynamic linker binds libmosquitto's call
 * to the executable's definition, which fails with EMFILE while the adapter
 * is inside one of those calls (brk_nopair_begin/_end around them) and is
 * the plain system call otherwise. The library's warning is not logged
 * (broker_reason.c). bridge_connect.sh checks that a connection holds one
 * descriptor.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bridge/broker_int.h"

static unsigned refusing;

void brk_nopair_begin(void)
{
	refusing++;
}

void brk_nopair_end(void)
{
	if (refusing > 0)
		refusing--;
}

bool brk_nopair_active(void)
{
	return refusing > 0;
}

int socketpair(int domain, int type, int protocol, int sv[2])
{
	if (refusing > 0) {
		errno = EMFILE;
		return -1;
	}
	return (int)syscall(SYS_socketpair, domain, type, protocol, sv);
}
