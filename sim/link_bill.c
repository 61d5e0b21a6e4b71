/*
 * link_bill.c - the cost model: bytes, datagrams, sessions and billing
 * units per direction. A session is a burst of datagrams separated from
 * the next by an idle gap longer than session_gap_us; its units are
 * counted as it grows, so the counters are right at every moment.
 */
#include "sim/link_int.h"

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* The units the current session costs so far. */
static uint64_t session_units(const struct sim_dir_params *p, const struct sim_dir_state *ds)
{
	uint64_t units = 0;

	if (p->bill_unit_bytes > 0) {
		uint64_t billed = ds->session_bytes;

		if (billed < p->bill_min_bytes)
			billed = p->bill_min_bytes;
		units = ceil_div(billed, p->bill_unit_bytes);
	} else if (p->bill_unit_us > 0) {
		units = ceil_div(ds->session_last_us - ds->session_start_us, p->bill_unit_us);
	}
	if (units < p->bill_min_units)
		units = p->bill_min_units;
	return units;
}

void sim_link_bill(struct sim_dir_state *ds, uint64_t now_us, size_t len, uint64_t end_us)
{
	const struct sim_dir_params *p = &ds->p;
	uint64_t units;

	ds->c.bill_datagrams++;
	ds->c.bill_bytes += len;
	if (!ds->in_session || p->session_gap_us == 0 ||
	    now_us - ds->session_last_us > p->session_gap_us) {
		ds->in_session = true;
		ds->session_start_us = now_us;
		ds->session_last_us = end_us;
		ds->session_bytes = 0;
		ds->session_units = 0;
		ds->c.bill_sessions++;
	}
	/* The transmitter is FIFO, so end_us never goes backwards; a datagram
	 * sent while the one before is still on the way keeps the session. */
	if (end_us > ds->session_last_us)
		ds->session_last_us = end_us;
	ds->session_bytes += len;
	units = session_units(p, ds);
	ds->c.bill_units += units - ds->session_units;
	ds->session_units = units;
}
