/*
 * profile.c - the named link profiles and `--set KEY=VALUE`.
 *
 * The figures are LINKS.md's; where it gives a range the profile takes a
 * point inside it, and --set moves it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/profile.h"

#define MS 1000u
#define SEC 1000000u

/* ---------------------------------------------------------------- profiles */

static void both(struct sim_link_params *p, void (*fn)(struct sim_dir_params *d))
{
	fn(&p->dir[SIM_UP]);
	fn(&p->dir[SIM_DOWN]);
}

/* GEO satellite IP (VSAT, BGAN class). */
static void geo_dir(struct sim_dir_params *d)
{
	d->latency_us = 275 * MS;
	d->jitter_us = 15 * MS;
	d->rate_bps = 16000;
	d->queue_bytes = 64 * 1024;
	d->mtu = 1200;
	d->loss = 0.005;
	d->burst_enter = 0.002;   /* rain fade blips: rare bursts ... */
	d->burst_exit = 0.25;     /* ... of 4 datagrams on average */
	d->bill_unit_bytes = 1;   /* every byte */
	d->session_gap_us = 60 * SEC;
}

static void geo(struct sim_link_params *p)
{
	both(p, geo_dir);
}

/* Iridium SBD: one message a session, a session every ~40 s. */
static void sbd_dir(struct sim_dir_params *d)
{
	d->latency_us = 15 * SEC;
	d->jitter_us = 3 * SEC;
	d->spacing_us = 40 * SEC;
	d->queue_bytes = 4096;
	d->loss = 0.05;           /* a failed session */
	d->bill_unit_bytes = 50;
	d->bill_min_units = 1;
	d->session_gap_us = 0;    /* every message is a session */
}

static void iridium_sbd(struct sim_link_params *p)
{
	both(p, sbd_dir);
	p->dir[SIM_UP].mtu = 340;   /* mobile originated */
	p->dir[SIM_DOWN].mtu = 270; /* mobile terminated */
}

/* LEO store-and-forward (ORBCOMM, Swarm class), passes from the trace. */
static void leo_dir(struct sim_dir_params *d)
{
	d->latency_us = 2 * SEC;
	d->jitter_us = 500 * MS;
	d->rate_bps = 1000;
	d->queue_bytes = 16 * 1024;
	d->mtu = 192;
	d->loss = 0.01;
	d->bill_min_units = 1;    /* per message */
	d->session_gap_us = 0;
}

static void leo(struct sim_link_params *p)
{
	both(p, leo_dir);
}

/* A 9600 bit/s modem call, 8N1, billed per minute. */
static void dialup_dir(struct sim_dir_params *d)
{
	d->latency_us = 100 * MS;
	d->jitter_us = 10 * MS;
	d->rate_bps = 9600;
	d->bits_per_byte = 10;
	d->queue_bytes = 4096;
	d->bit_error = 1e-5;
	d->byte_loss = 1e-5;
	d->byte_insert = 1e-6;
	d->bill_unit_us = 60 * SEC;
	d->bill_min_units = 1;
	d->session_gap_us = 120 * SEC;
}

static void dialup(struct sim_link_params *p)
{
	both(p, dialup_dir);
}

/* A 300 bit/s HF radio modem: slow, noisy, free. */
static void hf_dir(struct sim_dir_params *d)
{
	d->latency_us = 300 * MS;
	d->jitter_us = 50 * MS;
	d->rate_bps = 300;
	d->bits_per_byte = 10;
	d->queue_bytes = 1024;
	d->bit_error = 1e-4;
	d->byte_loss = 1e-4;
	d->byte_insert = 1e-5;
}

static void hf(struct sim_link_params *p)
{
	both(p, hf_dir);
}

static void perfect(struct sim_link_params *p)
{
	(void)p;
}

const struct sim_profile sim_profiles[] = {
	{ "perfect", "no delay, no loss, no limits (the defaults)", NULL, perfect },
	{ "geo", "GEO satellite IP: 275 ms, 16 kbit/s, loss 0.5% + bursts, MTU 1200",
	  NULL, geo },
	{ "iridium-sbd", "Iridium SBD: 15 s, a session per 40 s, 340/270 B, 50 B credits",
	  NULL, iridium_sbd },
	{ "leo", "LEO store-and-forward: 2 s, 1 kbit/s, 192 B; passes: the trace",
	  "leo-passes-24h.csv", leo },
	{ "dialup-9600", "9600 bit/s modem, 8N1, 100 ms, bit errors, billed per minute", NULL,
	  dialup },
	{ "hf-300", "300 bit/s HF radio modem, 8N1, 300 ms, noisy", NULL, hf },
	{ NULL, NULL, NULL, NULL },
};

const struct sim_profile *sim_profile_find(const char *name)
{
	const struct sim_profile *pr;

	for (pr = sim_profiles; pr->name != NULL; pr++)
		if (strcmp(pr->name, name) == 0)
			return pr;
	return NULL;
}

int sim_profile_apply(struct sim_link_params *p, const char *name, char *err, size_t errlen)
{
	const struct sim_profile *pr = sim_profile_find(name);

	if (pr == NULL) {
		snprintf(err, errlen, "unknown profile \"%s\" (try --help)", name);
		return -1;
	}
	sim_link_params_default(p);
	pr->fill(p);
	return 0;
}

/* ---------------------------------------------------------------- keys */

enum kind { TIME, RATE, PROB, SIZE, U32, UINT };

#define KEY(name, kind, field, help) \
	{ name, kind, offsetof(struct sim_dir_params, field), help }

static const struct key {
	const char *name;
	enum kind kind;
	size_t off;
	const char *help;
} keys[] = {
	KEY("latency", TIME, latency_us, "one-way delay"),
	KEY("jitter", TIME, jitter_us, "standard deviation of the delay"),
	KEY("rate", RATE, rate_bps, "bit rate, bit/s (k, M); 0: unlimited"),
	KEY("bits_per_byte", UINT, bits_per_byte, "bits on the line per byte (8; 10 for 8N1)"),
	KEY("spacing", TIME, spacing_us, "least time between two datagrams' starts"),
	KEY("queue", SIZE, queue_bytes, "bytes waiting for the transmitter (k); 0: unbounded"),
	KEY("mtu", SIZE, mtu, "largest datagram; 0: no limit"),
	KEY("loss", PROB, loss, "independent loss per datagram"),
	KEY("burst_enter", PROB, burst_enter, "Gilbert-Elliott P(good->bad) per datagram"),
	KEY("burst_exit", PROB, burst_exit, "P(bad->good); mean burst 1/burst_exit"),
	KEY("burst_loss_good", PROB, burst_loss_good, "loss in the good state"),
	KEY("burst_loss_bad", PROB, burst_loss_bad, "loss in the bad state"),
	KEY("duplicate", PROB, duplicate, "probability of a second copy"),
	KEY("reorder", PROB, reorder, "probability of being held back"),
	KEY("reorder_delay", TIME, reorder_us, "how long a reordered datagram is held back"),
	KEY("bit_error", PROB, bit_error, "per bit: flipped"),
	KEY("byte_loss", PROB, byte_loss, "per byte: left out"),
	KEY("byte_insert", PROB, byte_insert, "per byte: a random byte inserted"),
	KEY("bill_unit", U32, bill_unit_bytes, "billing unit in bytes"),
	KEY("bill_unit_time", TIME, bill_unit_us, "billing unit in session time"),
	KEY("bill_min_bytes", U32, bill_min_bytes, "a session is billed at least these bytes"),
	KEY("bill_min_units", U32, bill_min_units, "a session costs at least these units"),
	KEY("session_gap", TIME, session_gap_us, "idle gap that ends a session; 0: one a datagram"),
};

void sim_profile_print_keys(FILE *f)
{
	size_t i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		fprintf(f, "  %-16s %s\n", keys[i].name, keys[i].help);
	fprintf(f, "  %-16s %s\n", "max_inflight", "datagrams held at once (no up./down.)");
}

/* A number and what follows it; false if there is no number. */
static bool number(const char *s, double *v, const char **rest)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(*v) || *v < 0)
		return false;
	*rest = end;
	return true;
}

static bool scale(const char *unit, const char *const names[], const double factors[],
                  size_t n, double *factor)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(unit, names[i]) == 0) {
			*factor = factors[i];
			return true;
		}
	}
	return false;
}

/* Parse value as kind into the field at p; false if it is not one. */
static bool parse_value(enum kind kind, const char *value, void *field)
{
	static const char *const time_units[] = { "", "us", "ms", "s", "min", "h" };
	static const double time_f[] = { 1e3, 1, 1e3, 1e6, 60e6, 3600e6 };
	static const char *const rate_units[] = { "", "k", "M" };
	static const double rate_f[] = { 1, 1e3, 1e6 };
	static const char *const size_units[] = { "", "k", "M" };
	static const double size_f[] = { 1, 1024, 1024 * 1024 };
	const char *rest;
	double v, f = 1;

	if (!number(value, &v, &rest))
		return false;
	switch (kind) {
	case TIME:
		if (!scale(rest, time_units, time_f, 6, &f) || v * f >= 1.8e19)
			return false;
		*(uint64_t *)field = (uint64_t)llround(v * f);
		return true;
	case RATE:
		if (!scale(rest, rate_units, rate_f, 3, &f) || v * f >= 1.8e19)
			return false;
		*(uint64_t *)field = (uint64_t)llround(v * f);
		return true;
	case SIZE:
		if (!scale(rest, size_units, size_f, 3, &f) || v * f > 1e15 || v != floor(v))
			return false;
		*(size_t *)field = (size_t)(v * f);
		return true;
	case PROB:
		if (strcmp(rest, "%") == 0)
			v /= 100;
		else if (*rest != '\0')
			return false;
		if (v > 1)
			return false;
		*(double *)field = v;
		return true;
	case U32:
		if (*rest != '\0' || v > 4294967295.0 || v != floor(v))
			return false;
		*(uint32_t *)field = (uint32_t)v;
		return true;
	case UINT:
		if (*rest != '\0' || v > 64 || v < 1 || v != floor(v))
			return false;
		*(unsigned *)field = (unsigned)v;
		return true;
	}
	return false;
}

int sim_profile_set(struct sim_link_params *p, const char *assignment, char *err, size_t errlen)
{
	const char *eq = strchr(assignment, '=');
	const char *name, *value;
	char key[64];
	size_t klen, i;
	int first = SIM_UP, last = SIM_DOWN, d;

	if (eq == NULL || eq == assignment) {
		snprintf(err, errlen, "\"%s\": expected KEY=VALUE", assignment);
		return -1;
	}
	klen = (size_t)(eq - assignment);
	if (klen >= sizeof key) {
		snprintf(err, errlen, "\"%.*s...\": no such key", 20, assignment);
		return -1;
	}
	memcpy(key, assignment, klen);
	key[klen] = '\0';
	value = eq + 1;
	name = key;
	if (strncmp(key, "up.", 3) == 0) {
		name = key + 3;
		last = SIM_UP;
	} else if (strncmp(key, "down.", 5) == 0) {
		name = key + 5;
		first = SIM_DOWN;
	} else if (strcmp(key, "max_inflight") == 0) {
		double v;
		const char *rest;

		if (!number(value, &v, &rest) || *rest != '\0' || v < 1 || v > 1e9 || v != floor(v)) {
			snprintf(err, errlen, "max_inflight: \"%s\" is not a count", value);
			return -1;
		}
		p->max_inflight = (size_t)v;
		return 0;
	}
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (strcmp(keys[i].name, name) != 0)
			continue;
		for (d = first; d <= last; d++) {
			unsigned char *base = (unsigned char *)&p->dir[d];

			if (!parse_value(keys[i].kind, value, base + keys[i].off)) {
				snprintf(err, errlen, "%s: \"%s\" is not a valid %s", key, value,
				         keys[i].kind == TIME ? "time (e.g. 250ms, 2s)" :
				         keys[i].kind == RATE ? "rate (e.g. 9600, 2.4k)" :
				         keys[i].kind == PROB ? "probability (0..1 or N%)" :
				         keys[i].kind == SIZE ? "size (e.g. 1200, 64k)" : "number");
				return -1;
			}
		}
		return 0;
	}
	snprintf(err, errlen, "unknown key \"%s\" (sn-sim --help lists them)", key);
	return -1;
}
