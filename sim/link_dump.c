/*
 * link_dump.c - names and the counter dump, for messages and reports.
 */
#include <inttypes.h>

#include "sim/link_int.h"

const char *sim_dir_name(enum sim_dir dir)
{
	return dir == SIM_UP ? "up" : "down";
}

const char *sim_fate_name(enum sim_fate fate)
{
	switch (fate) {
	case SIM_FATE_QUEUED: return "queued";
	case SIM_FATE_DOWN: return "down";
	case SIM_FATE_MTU: return "mtu";
	case SIM_FATE_QUEUE_FULL: return "queue";
	case SIM_FATE_LIMIT: return "limit";
	case SIM_FATE_LOST: return "lost";
	}
	return "?";
}

#define ROW(field) { #field, offsetof(struct sim_dir_counters, field) }

static const struct {
	const char *name;
	size_t off;
} rows[] = {
	ROW(sent), ROW(sent_bytes), ROW(delivered), ROW(delivered_bytes),
	ROW(drop_down), ROW(drop_mtu), ROW(drop_queue), ROW(drop_limit),
	ROW(lost_random), ROW(lost_burst), ROW(lost_inflight),
	ROW(duplicated), ROW(reordered),
	ROW(corrupted), ROW(bits_flipped), ROW(bytes_lost), ROW(bytes_inserted),
	ROW(bill_datagrams), ROW(bill_bytes), ROW(bill_sessions), ROW(bill_units),
};

static uint64_t field(const struct sim_dir_counters *c, size_t off)
{
	const unsigned char *base = (const unsigned char *)c;

	return *(const uint64_t *)(const void *)(base + off);
}

void sim_link_dump(const struct sim_link *link, FILE *f, const char *prefix)
{
	const struct sim_dir_counters *up = sim_link_counters(link, SIM_UP);
	const struct sim_dir_counters *down = sim_link_counters(link, SIM_DOWN);
	size_t i;

	fprintf(f, "%s%-16s %12s %12s\n", prefix, "counter", "up", "down");
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
		fprintf(f, "%s%-16s %12" PRIu64 " %12" PRIu64 "\n", prefix, rows[i].name,
		        field(up, rows[i].off), field(down, rows[i].off));
}
