/*
 * rng.c - xoshiro256** seeded by SplitMix64, from the published
 * descriptions (see rng.h).
 */
#include <math.h>

#include "sim/rng.h"

uint64_t sim_splitmix64(uint64_t *state)
{
	uint64_t z;

	*state += 0x9e3779b97f4a7c15u;
	z = *state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, unsigned k)
{
	return (x << k) | (x >> (64u - k));
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
	/* Mix the stream in through one SplitMix64 step of its own, so that
	 * (seed, stream) pairs close together give unrelated states. */
	uint64_t st = stream;
	uint64_t x = seed ^ sim_splitmix64(&st);
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = sim_splitmix64(&x);
	/* An all-zero state would stay zero; SplitMix64 cannot give four
	 * zeros in a row, but be explicit about the invariant. */
	if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
		r->s[0] = 1;
}

uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5u, 7) * 9u;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double sim_rng_uniform(struct sim_rng *r)
{
	/* The top 53 bits: every double of the form k / 2^53. */
	return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

bool sim_rng_chance(struct sim_rng *r, double p)
{
	if (p <= 0.0)
		return false;
	if (p >= 1.0)
		return true;
	return sim_rng_uniform(r) < p;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
	/* Rejection of the short top range keeps the result unbiased. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;

	do
		x = sim_rng_next(r);
	while (x >= limit);
	return x % n;
}

double sim_rng_normal(struct sim_rng *r)
{
	/* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
	double u1 = 1.0 - sim_rng_uniform(r);
	double u2 = sim_rng_uniform(r);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}
