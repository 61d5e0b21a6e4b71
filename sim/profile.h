/*
 * profile.h - named link profiles (the figures of LINKS.md) and overrides
 * of single values, as `--profile NAME` and `--set KEY=VALUE` give them.
 *
 * Keys are a parameter name, for both directions, or "up." / "down."
 * followed by one, for one direction: latency, jitter, rate, bits_per_byte,
 * spacing, queue, mtu, loss, burst_enter, burst_exit, burst_loss_good,
 * burst_loss_bad, duplicate, reorder, reorder_delay, bit_error, byte_loss,
 * byte_insert, bill_unit, bill_unit_time, bill_min_bytes, bill_min_units,
 * session_gap. Times take a unit (us, ms, s, min, h; none: ms), rates
 * k/M suffixes (bit/s), probabilities a number in 0..1 or a percentage
 * ("2%"), sizes k suffix (1024).
 */
#ifndef SNBRIDGE_SIM_PROFILE_H
#define SNBRIDGE_SIM_PROFILE_H

#include <stddef.h>

#include "sim/link.h"

/* One named profile. */
struct sim_profile {
	const char *name;
	const char *summary;   /* one line for --help */
	const char *trace;     /* default outage trace, a file name under the
	                          data directory (data/links), or NULL */
	void (*fill)(struct sim_link_params *p);
};

/* The profiles, ending with a NULL name. */
extern const struct sim_profile sim_profiles[];

/* The profile called name, or NULL. */
const struct sim_profile *sim_profile_find(const char *name);

/*
 * Set all of p to the profile's values; p need not be initialised. It
 * has no outages then: the profile's trace is the caller's to load and
 * set (see struct sim_profile). Returns 0, or -1 with a message in err
 * when there is no such profile (p untouched).
 */
int sim_profile_apply(struct sim_link_params *p, const char *name, char *err, size_t errlen);

/*
 * Set one value from "KEY=VALUE". Returns 0, or -1 with a message naming
 * the key or the value in err.
 */
int sim_profile_set(struct sim_link_params *p, const char *assignment, char *err, size_t errlen);

/* Print the known keys, one a line with what they mean, to f. */
void sim_profile_print_keys(FILE *f);

#endif
