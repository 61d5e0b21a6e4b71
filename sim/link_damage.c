/*
 * link_damage.c - what a noisy serial line does to bytes: flipped bits,
 * lost bytes, inserted bytes. Only the 8 data bits can flip; a damaged
 * start or stop bit is modelled as a lost or inserted byte.
 */
#include "sim/link_int.h"

bool sim_link_damages(const struct sim_dir_params *p)
{
	return p->bit_error > 0.0 || p->byte_loss > 0.0 || p->byte_insert > 0.0;
}

size_t sim_link_damage(struct sim_dir_state *ds, const uint8_t *in, size_t len, uint8_t *out)
{
	const struct sim_dir_params *p = &ds->p;
	size_t i, n = 0;
	unsigned bit;

	for (i = 0; i < len; i++) {
		uint8_t b = in[i];

		if (sim_rng_chance(&ds->rng, p->byte_loss)) {
			ds->c.bytes_lost++;
			continue;
		}
		if (p->bit_error > 0.0) {
			for (bit = 0; bit < 8; bit++) {
				if (sim_rng_chance(&ds->rng, p->bit_error)) {
					b = (uint8_t)(b ^ (1u << bit));
					ds->c.bits_flipped++;
				}
			}
		}
		out[n++] = b;
		if (sim_rng_chance(&ds->rng, p->byte_insert)) {
			out[n++] = (uint8_t)sim_rng_below(&ds->rng, 256);
			ds->c.bytes_inserted++;
		}
	}
	return n;
}
