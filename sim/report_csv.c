/*
 * report_csv.c - the time series as CSV (report.h): one row a sample,
 * cumulative counts, the queue depth and the link states at that moment.
 */
#include <inttypes.h>

#include "sim/report.h"

void sim_report_csv(const struct sim_report *r, FILE *f)
{
	size_t i;

	fprintf(f, "t_s,links_up,stations_up,bridge_up,queue_depth,published,delivered,duplicates,"
	           "bytes_up,bytes_down,units_up,units_down\n");
	for (i = 0; i < r->n_samples; i++) {
		const struct sim_sample *s = &r->samples[i];

		fprintf(f,
		        "%" PRIu64 ".%03" PRIu64 ",%u,%u,%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
		        ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
		        s->t_us / 1000000u, s->t_us % 1000000u / 1000u, s->links_up, s->stations_up,
		        s->bridge_up ? 1 : 0, s->queue_depth, s->published, s->delivered,
		        s->duplicates, s->bytes[SIM_UP], s->bytes[SIM_DOWN], s->units[SIM_UP],
		        s->units[SIM_DOWN]);
	}
}
