/*
 * clock.h - the two clocks the station side reads, in milliseconds. Only
 * drivers read them (the blocking API, the tools); the cores take time as
 * an argument.
 */
#ifndef SNBRIDGE_SNC_CLOCK_H
#define SNBRIDGE_SNC_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC: for timers (the client core's `now`). */
uint64_t snc_clock_mono_ms(void);

/* CLOCK_REALTIME: for what is stored (the queue's `now`); arg is unused,
 * which lets it serve as a snc_feed clock. */
uint64_t snc_clock_wall_ms(void *arg);

#endif
