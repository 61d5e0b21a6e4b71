/*
 * clock.c - monotonic and wall-clock milliseconds.
 */
#include <time.h>

#include "sn-client/clock.h"

static uint64_t ms(clockid_t id)
{
	struct timespec ts;

	/* Cannot fail for these two clocks on any system we run on. */
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t snc_clock_mono_ms(void)
{
	return ms(CLOCK_MONOTONIC);
}

uint64_t snc_clock_wall_ms(void *arg)
{
	(void)arg;
	return ms(CLOCK_REALTIME);
}
