/*
 * proxy_status.c - the one-line status display (when stdout is a
 * terminal), the counter dump (at the end and on SIGUSR1) and -v traces.
 */
#include <inttypes.h>

#include "sim/proxy_int.h"

static uint64_t dropped(const struct sim_dir_counters *c)
{
	return c->drop_down + c->drop_mtu + c->drop_queue + c->drop_limit + c->lost_random +
	       c->lost_burst + c->lost_inflight;
}

void proxy_status_draw(struct proxy *px, uint64_t now)
{
	const struct sim_dir_counters *up = sim_link_counters(&px->link, SIM_UP);
	const struct sim_dir_counters *dn = sim_link_counters(&px->link, SIM_DOWN);
	bool is_up = sim_link_is_up(&px->link, now);
	uint64_t change = sim_link_next_change(&px->link, now);
	char next[32] = "";

	if (change != SIM_TIME_NEVER)
		snprintf(next, sizeof next, " (%s in %.1f s)", is_up ? "down" : "up",
		         (double)(change - now) / 1e6);
	printf("\r\033[K%7.1f s  link %s%s  up: q %zu B, %" PRIu64 " dlv, %" PRIu64
	       " drop  down: q %zu B, %" PRIu64 " dlv, %" PRIu64 " drop",
	       (double)now / 1e6, is_up ? "UP" : "DOWN", next,
	       sim_link_queued_bytes(&px->link, SIM_UP, now), up->delivered, dropped(up),
	       sim_link_queued_bytes(&px->link, SIM_DOWN, now), dn->delivered, dropped(dn));
	fflush(stdout);
}

void proxy_status_clear(struct proxy *px)
{
	if (px->status) {
		printf("\r\033[K");
		fflush(stdout);
		px->status_next_us = 0; /* draw again at once */
	}
}

void proxy_dump(struct proxy *px, FILE *f)
{
	const struct proxy_counters *c = &px->c;
	uint64_t now = proxy_now(px);

	fprintf(f, "sn-sim: counters at %.3f s, link %s\n", (double)now / 1e6,
	        sim_link_is_up(&px->link, now) ? "up" : "down");
	sim_link_dump(&px->link, f, "  ");
	if (px->cfg->serial) {
		fprintf(f, "  %-16s %12" PRIu64 "\n", "pty_overflow", c->pty_overflow);
	} else {
		fprintf(f, "  %-16s %12" PRIu64 "\n", "stations", c->stations);
		fprintf(f, "  %-16s %12" PRIu64 "\n", "expired", c->expired);
		fprintf(f, "  %-16s %12" PRIu64 "\n", "table_full", c->table_full);
		fprintf(f, "  %-16s %12" PRIu64 "\n", "stale", c->stale);
	}
	fprintf(f, "  %-16s %12" PRIu64 "\n", "send_errors", c->send_errors);
	fflush(f);
}

void proxy_sent(struct proxy *px, uint64_t now, enum sim_dir dir, size_t len,
                enum sim_fate fate)
{
	proxy_trace(px, now, "send", dir, len, sim_fate_name(fate));
	if (fate == SIM_FATE_QUEUE_FULL && !px->c.said_queue) {
		px->c.said_queue = true;
		fprintf(stderr, "sn-sim: %.3f s: the %s queue is full (%zu bytes): datagrams are "
		        "dropped (counted as drop_queue)\n", (double)now / 1e6, sim_dir_name(dir),
		        px->cfg->link.dir[dir].queue_bytes);
	} else if (fate == SIM_FATE_LIMIT && !px->c.said_limit) {
		px->c.said_limit = true;
		fprintf(stderr, "sn-sim: %.3f s: %zu datagrams in flight, the limit: datagrams are "
		        "dropped (counted as drop_limit)\n", (double)now / 1e6,
		        sim_link_held(&px->link));
	}
}

void proxy_trace(const struct proxy *px, uint64_t now, const char *what, enum sim_dir dir,
                 size_t len, const char *fate)
{
	if (!px->cfg->verbose)
		return;
	fprintf(stderr, "sn-sim: %.6f s: %s %s %zu B%s%s\n", (double)now / 1e6, what,
	        sim_dir_name(dir), len, *fate ? " " : "", fate);
}
