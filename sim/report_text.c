/*
 * report_text.c - the report as a text summary (report.h). One figure a
 * line, name then value, so that scripts can pick them out with awk.
 */
#include <inttypes.h>

#include "sim/report.h"

#define LINES_SHOWN 20u

/* "1h02m03.5s" style. */
static void put_time(FILE *f, uint64_t us)
{
	uint64_t s = us / 1000000u, ms = us % 1000000u / 1000u;

	if (s >= 3600u)
		fprintf(f, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", s / 3600u, s / 60u % 60u, s % 60u);
	else if (s >= 60u)
		fprintf(f, "%" PRIu64 "m%02" PRIu64 ".%03" PRIu64 "s", s / 60u, s % 60u, ms);
	else
		fprintf(f, "%" PRIu64 ".%03" PRIu64 "s", s, ms);
}

static void row(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "  %-24s %12" PRIu64 "\n", name, v);
}

static void row2(FILE *f, const char *name, uint64_t up, uint64_t down)
{
	fprintf(f, "  %-24s %12" PRIu64 " %12" PRIu64 "\n", name, up, down);
}

static void delay(FILE *f, const char *name, uint64_t us)
{
	fprintf(f, "  %-24s %12.3f s", name, (double)us / 1e6);
	if (us >= 60000000u) {
		fprintf(f, "  (");
		put_time(f, us);
		fprintf(f, ")");
	}
	fprintf(f, "\n");
}

void sim_report_text(const struct sim_report *r, FILE *f)
{
	uint64_t depth_max = 0, depth_at = 0;
	size_t i;

	for (i = 0; i < r->n_samples; i++)
		if (r->samples[i].queue_depth > depth_max) {
			depth_max = r->samples[i].queue_depth;
			depth_at = r->samples[i].t_us;
		}
	fprintf(f, "scenario %s%s%s\n", r->scenario, r->title[0] ? ": " : "", r->title);
	fprintf(f, "  seed %" PRIu64 ", %u station%s, profile %s, trace %s\n", r->seed, r->stations,
	        r->stations == 1 ? "" : "s", r->profile, r->trace);
	fprintf(f, "  publishing for ");
	put_time(f, r->duration_us);
	fprintf(f, ", ended at ");
	put_time(f, r->ended_us);
	fprintf(f, " (virtual), %" PRIu64 " events, %zu scripted actions\n", r->events, r->n_actions);

	fprintf(f, "messages\n");
	row(f, "published", r->published);
	row(f, "delivered", r->delivered);
	row(f, "lost", r->lost);
	row(f, "  refused by the queue", r->lost_refused_queue);
	row(f, "  refused, gateway or size", r->lost_refused_gw);
	row(f, "  still queued at the end", r->lost_still_queued);
	row(f, "  dropped or expired", r->lost_dropped);
	row(f, "  vanished", r->vanished);
	row(f, "duplicated", r->duplicates);
	row(f, "out of order", r->out_of_order);
	row(f, "not made (station down)", r->skipped_down);
	row(f, "received by the broker", r->broker_msgs);
	row(f, "  matching no publish", r->unmatched);
	row(f, "Wills fired", r->wills);
	row(f, "to stations (downlink)", r->downlink);

	fprintf(f, "delay, publish to broker\n");
	delay(f, "median", r->delay_median_us);
	delay(f, "99th percentile", r->delay_p99_us);
	delay(f, "maximum", r->delay_max_us);

	fprintf(f, "link%33s %12s\n", "up", "down");
	row2(f, "datagrams", r->link[SIM_UP].datagrams, r->link[SIM_DOWN].datagrams);
	row2(f, "bytes", r->link[SIM_UP].bytes, r->link[SIM_DOWN].bytes);
	row2(f, "billed bytes", r->link[SIM_UP].bill_bytes, r->link[SIM_DOWN].bill_bytes);
	row2(f, "billing units", r->link[SIM_UP].bill_units, r->link[SIM_DOWN].bill_units);
	row2(f, "billed sessions", r->link[SIM_UP].bill_sessions, r->link[SIM_DOWN].bill_sessions);
	row2(f, "delivered", r->link[SIM_UP].delivered, r->link[SIM_DOWN].delivered);
	row2(f, "dropped, link down", r->link[SIM_UP].dropped_down, r->link[SIM_DOWN].dropped_down);
	row2(f, "dropped, mtu/queue", r->link[SIM_UP].dropped_other, r->link[SIM_DOWN].dropped_other);
	row2(f, "lost on the way", r->link[SIM_UP].lost, r->link[SIM_DOWN].lost);
	row2(f, "damaged", r->link[SIM_UP].damaged, r->link[SIM_DOWN].damaged);
	row2(f, "damaged, dropped", r->link[SIM_UP].damaged_dropped,
	     r->link[SIM_DOWN].damaged_dropped);

	if (r->delivered > 0) {
		fprintf(f, "  %-24s %12.1f %12.1f\n", "bytes per delivered msg",
		        (double)r->link[SIM_UP].bytes / (double)r->delivered,
		        (double)r->link[SIM_DOWN].bytes / (double)r->delivered);
	}
	if (r->frames) {
		fprintf(f, "link frames (mtu %u up, %u down%s%s)\n", (unsigned)r->frames_mtu_up,
		        (unsigned)r->frames_mtu_down, r->frames_encrypted ? ", encrypted" : "",
		        r->frames_compressed ? ", compressed" : "");
		row2(f, "frames", r->frames_sent[SIM_UP], r->frames_sent[SIM_DOWN]);
		row2(f, "messages in them", r->frames_msgs[SIM_UP], r->frames_msgs[SIM_DOWN]);
		row(f, "deflated frames", r->frames_zipped);
		row(f, "fragment frames", r->frames_frags);
		row(f, "refused on opening", r->frames_refused);
		row(f, "refused, queue full", r->frames_queue_full);
	}

	fprintf(f, "queues\n");
	row(f, "deepest", depth_max);
	fprintf(f, "  %-24s ", "  at");
	put_time(f, depth_at);
	fprintf(f, "\n");
	row(f, "recovered at reopen", r->queue_recovered);
	row(f, "dropped (counter)", r->queue_dropped);
	row(f, "expired (counter)", r->queue_expired);
	row(f, "unknown messages left", r->fates_unknown);

	fprintf(f, "stations\n");
	row(f, "connects", r->st_connects);
	row(f, "refused connects", r->st_reconnect_refused);
	row(f, "gateway lost", r->st_gateway_lost);
	row(f, "retransmissions", r->st_retransmissions);
	row(f, "crashes", r->st_crashes);
	row(f, "restarts", r->st_restarts);

	fprintf(f, "bridge\n");
	row(f, "crashes", r->bridge_crashes);
	row(f, "restarts", r->bridge_restarts);
	row(f, "retries", r->gw_retries);
	row(f, "malformed", r->gw_malformed);
	row(f, "congestion answers", r->gw_congestion);
	row(f, "clients lost", r->gw_lost_clients);
	row(f, "downlink, no subscription", r->gw_no_subscription);
	row(f, "datagrams while down", r->to_down_bridge);

	if (r->n_lines > 1) {
		size_t shown = r->n_lines < LINES_SHOWN ? r->n_lines : LINES_SHOWN;

		fprintf(f, "per station%s\n", shown < r->n_lines ? " (the first ones)" : "");
		fprintf(f, "  %-23s %9s %9s %6s %6s %6s %11s\n", "name", "published", "delivered",
		        "lost", "dup", "order", "max delay s");
		for (i = 0; i < shown; i++) {
			const struct sim_station_line *l = &r->lines[i];

			fprintf(f, "  %-23s %9" PRIu64 " %9" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64
			           " %11.1f\n",
			        l->name, l->published, l->delivered, l->lost, l->duplicates,
			        l->out_of_order, (double)l->delay_max_us / 1e6);
		}
	}
}
