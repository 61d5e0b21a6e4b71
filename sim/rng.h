/*
 * rng.h - the simulator's pseudo-random numbers: deterministic, seeded,
 * independent of the C library.
 *
 * A xoshiro256** generator (Blackman and Vigna, "Scrambled linear
 * pseudorandom number generators", 2018) whose state is filled from the
 * seed by SplitMix64 (Steele, Lea and Flood, 2014), as the authors advise.
 * Written here from the published description.
 */
#ifndef SNBRIDGE_SIM_RNG_H
#define SNBRIDGE_SIM_RNG_H

#include <stdbool.h>
#include <stdint.h>

struct sim_rng {
	uint64_t s[4];
};

/* Seed a generator; stream picks one of many independent sequences per seed. */
void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream);

/* The next 64 random bits. */
uint64_t sim_rng_next(struct sim_rng *r);

/* A uniform double in [0, 1). */
double sim_rng_uniform(struct sim_rng *r);

/* True with probability p (false for p <= 0, true for p >= 1). */
bool sim_rng_chance(struct sim_rng *r, double p);

/* A uniform integer in [0, n); n > 0. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);

/* A standard normal deviate (mean 0, standard deviation 1). */
double sim_rng_normal(struct sim_rng *r);

/* One step of SplitMix64 on *state: the next 64 bits. */
uint64_t sim_splitmix64(uint64_t *state);

#endif
