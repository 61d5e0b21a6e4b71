/*
 * sn-sim - the link simulator: `sn-sim proxy` carries real traffic through
 * the link model in real time; `sn-sim run` replays a scenario in virtual
 * time (run.h). Arguments and wiring only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/profile.h"
#include "sim/proxy.h"
#include "sim/run.h"
#include "sim/trace.h"

static const char usage[] =
	"usage: sn-sim proxy [options] --listen HOST:PORT --to HOST:PORT\n"
	"       sn-sim proxy [options] --serial\n"
	"       sn-sim run [options] SCENARIO     (sn-sim run --help)\n"
	"\n"
	"The link simulator. `proxy` puts a simulated link between real programs:\n"
	"over UDP, stations send to --listen and the bridge is at --to (each\n"
	"station gets its own upstream address); with --serial, two pseudo-\n"
	"terminals (\"station PATH\" and \"ground PATH\" on stdout) carry bytes\n"
	"at the link's rate. Counters go to stderr at the end and on SIGUSR1.\n"
	"\n"
	"  --listen HOST:PORT   where the stations send (UDP)\n"
	"  --to HOST:PORT       the bridge (UDP)\n"
	"  --serial             pseudo-terminal pair mode instead of UDP\n"
	"  --profile NAME       start from a named link (default perfect; below)\n"
	"  --set KEY=VALUE      change one value (keys below); KEY alone for both\n"
	"                       directions, up.KEY (station to ground) or\n"
	"                       down.KEY for one; repeatable, applied in order\n"
	"  --down START+LEN     the link is down from START for LEN seconds\n"
	"                       (from the proxy's start; repeatable)\n"
	"  --trace FILE         outages from a trace (CSV: down_at_s,up_at_s);\n"
	"                       replaces the profile's own trace\n"
	"  --data DIR           where the profiles' traces are (DIR/links/...)\n"
	"  --seed N             random seed (default 1): same seed, same run\n"
	"  --max-stations N     UDP stations mapped at once (default %u)\n"
	"  --idle SECS          forget a station idle this long (default 3600)\n"
	"  -q, --quiet          no status line even on a terminal\n"
	"  -v, --verbose        every datagram's fate on stderr\n"
	"      --help           this text\n"
	"\n"
	"Profiles (LINKS.md):\n"
	"%s"
	"\n"
	"Keys for --set (times take us, ms (the default), s, min, h; rates k, M;\n"
	"sizes k; probabilities 0..1 or N%%):\n"
	"%s"
	"\n"
	"Exit status: 0 after SIGTERM or SIGINT; 1 an error; 2 bad arguments.\n";

enum {
	OPT_LISTEN = 256, OPT_TO, OPT_SERIAL, OPT_PROFILE, OPT_SET, OPT_DOWN, OPT_TRACE, OPT_DATA,
	OPT_SEED, OPT_MAX_STATIONS, OPT_IDLE, OPT_HELP,
};

static const struct option longopts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "to", required_argument, NULL, OPT_TO },
	{ "serial", no_argument, NULL, OPT_SERIAL },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "set", required_argument, NULL, OPT_SET },
	{ "down", required_argument, NULL, OPT_DOWN },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "data", required_argument, NULL, OPT_DATA },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "max-stations", required_argument, NULL, OPT_MAX_STATIONS },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void print_usage(FILE *f)
{
	char profiles[2048] = "", keys[4096] = "";
	const struct sim_profile *pr;
	size_t n = 0;
	FILE *k;

	for (pr = sim_profiles; pr->name != NULL && n < sizeof profiles; pr++)
		n += (size_t)snprintf(profiles + n, sizeof profiles - n, "  %-12s %s\n", pr->name,
		                      pr->summary);
	k = fmemopen(keys, sizeof keys - 1, "w");
	if (k != NULL) {
		sim_profile_print_keys(k);
		fclose(k);
	}
	fprintf(f, usage, SIM_PROXY_STATIONS_DEFAULT, profiles, keys);
}

static int bad(const char *msg)
{
	fprintf(stderr, "sn-sim proxy: %s\n", msg);
	return 2;
}

/* A whole unsigned number in [min, max]; false if it is not one. */
static bool whole(const char *s, unsigned long long min, unsigned long long max,
                  unsigned long long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && *v >= min && *v <= max;
}

static int proxy_main(int argc, char **argv)
{
	struct sim_proxy_config cfg;
	struct sim_outages outages = { 0 };
	const char *profile = "perfect", *trace = NULL, *data = NULL;
	const char **sets;
	size_t n_sets = 0, i;
	unsigned long long v;
	char err[1024], path[4096];
	int c, rc = 2;

	memset(&cfg, 0, sizeof cfg);
	cfg.seed = 1;
	cfg.status = -1;
	sets = calloc((size_t)argc + 1, sizeof *sets);
	if (sets == NULL)
		return bad("out of memory");
	while ((c = getopt_long(argc, argv, "qv", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN: cfg.listen = optarg; break;
		case OPT_TO: cfg.to = optarg; break;
		case OPT_SERIAL: cfg.serial = true; break;
		case OPT_PROFILE: profile = optarg; break;
		case OPT_SET: sets[n_sets++] = optarg; break;
		case OPT_TRACE: trace = optarg; break;
		case OPT_DATA: data = optarg; break;
		case 'q': cfg.status = 0; break;
		case 'v': cfg.verbose = 1; break;
		case OPT_DOWN:
			if (sim_outages_parse_down(&outages, optarg, err, sizeof err) != 0) {
				rc = bad(err);
				goto out;
			}
			break;
		case OPT_SEED:
			if (!whole(optarg, 0, UINT64_MAX, &v)) {
				rc = bad("--seed: expected a number");
				goto out;
			}
			cfg.seed = v;
			break;
		case OPT_MAX_STATIONS:
			if (!whole(optarg, 1, 65536, &v)) {
				rc = bad("--max-stations: expected 1-65536");
				goto out;
			}
			cfg.max_stations = (size_t)v;
			break;
		case OPT_IDLE:
			if (!whole(optarg, 1, 10000000, &v)) {
				rc = bad("--idle: expected seconds, 1-10000000");
				goto out;
			}
			cfg.idle_us = v * 1000000u;
			break;
		case OPT_HELP:
			print_usage(stdout);
			rc = 0;
			goto out;
		default:
			fprintf(stderr, "Try sn-sim --help.\n");
			goto out;
		}
	}
	if (optind != argc) {
		rc = bad("unexpected arguments (try --help)");
		goto out;
	}
	if (!cfg.serial && (cfg.listen == NULL || cfg.to == NULL)) {
		rc = bad("UDP mode needs --listen HOST:PORT and --to HOST:PORT (or --serial)");
		goto out;
	}
	if (cfg.serial && (cfg.listen != NULL || cfg.to != NULL)) {
		rc = bad("--serial takes no --listen or --to");
		goto out;
	}
	/* The profile, then the overrides in order, then the outages. */
	if (sim_profile_apply(&cfg.link, profile, err, sizeof err) != 0) {
		rc = bad(err);
		goto out;
	}
	for (i = 0; i < n_sets; i++) {
		if (sim_profile_set(&cfg.link, sets[i], err, sizeof err) != 0) {
			rc = bad(err);
			goto out;
		}
	}
	if (trace == NULL && data != NULL && sim_profile_find(profile)->trace != NULL) {
		snprintf(path, sizeof path, "%s/links/%s", data, sim_profile_find(profile)->trace);
		trace = path;
	}
	if (trace == NULL && sim_profile_find(profile)->trace != NULL && outages.n == 0)
		fprintf(stderr, "sn-sim proxy: note: profile %s has no outages without its trace "
		        "(--data DIR for DIR/links/%s, or --trace FILE): the link stays up\n",
		        profile, sim_profile_find(profile)->trace);
	if (trace != NULL && sim_outages_load(&outages, trace, err, sizeof err) != 0) {
		rc = bad(err);
		goto out;
	}
	cfg.link.outages = outages.v;
	cfg.link.n_outages = outages.n;
	rc = sim_proxy_run(&cfg, err, sizeof err) == 0 ? 0 : 1;
	if (rc != 0)
		fprintf(stderr, "sn-sim proxy: %s\n", err);
out:
	sim_outages_free(&outages);
	free(sets);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "proxy") == 0)
		return proxy_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return sim_run_main(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		print_usage(stdout);
		return 0;
	}
	print_usage(stderr);
	return 2;
}
