/*
 * run.c - `sn-sim run`, the command line of the scenario runner (run.h):
 * arguments, the scenario, the run, the reports. Arguments and wiring only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "sim/report.h"
#include "sim/run.h"
#include "sim/scenario.h"
#include "sim/scenario_run.h"

static const char usage[] =
	"usage: sn-sim run [options] SCENARIO\n"
	"\n"
	"Replay a scenario (sim/SCENARIO.md) in virtual time: the real client core\n"
	"of every station with its on-disk queue, one simulated link per station,\n"
	"the real gateway core and an in-memory broker, in one process. Prints a\n"
	"text summary on stdout unless --quiet.\n"
	"\n"
	"  --seed N             the seed, in place of the scenario's\n"
	"  --set KEY=VALUE      change a setting: duration=2h, drain=6h, sample=5m,\n"
	"                       link.KEY=VALUE (profile, trace, loss=1%, ...),\n"
	"                       bridge.KEY=VALUE, broker.KEY=VALUE; repeatable\n"
	"  --out DIR            write DIR/report.txt, DIR/series.csv, DIR/timeline.svg\n"
	"  --text FILE          the text summary to FILE\n"
	"  --csv FILE           the time series to FILE\n"
	"  --svg FILE           the timeline to FILE\n"
	"  --workdir DIR        where the stations' queues go (default /dev/shm,\n"
	"                       else $TMPDIR or /tmp)\n"
	"  --timing             wall-clock time and speed on stderr\n"
	"  --log                the gateway core's log on stderr\n"
	"  --fail-on-loss       exit 3 when any message was lost\n"
	"  --compare            plain MQTT-SN against link frames (not yet: refused)\n"
	"  -q, --quiet          no summary on stdout\n"
	"      --help           this text\n"
	"\n"
	"Exit status: 0 done; 1 an error; 2 bad arguments; 3 lost (--fail-on-loss).\n";

enum {
	OPT_SEED = 256, OPT_SET, OPT_OUT, OPT_TEXT, OPT_CSV, OPT_SVG, OPT_WORKDIR, OPT_TIMING,
	OPT_LOG, OPT_FAIL_ON_LOSS, OPT_COMPARE, OPT_HELP,
};

static const struct option longopts[] = {
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "set", required_argument, NULL, OPT_SET },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "text", required_argument, NULL, OPT_TEXT },
	{ "csv", required_argument, NULL, OPT_CSV },
	{ "svg", required_argument, NULL, OPT_SVG },
	{ "workdir", required_argument, NULL, OPT_WORKDIR },
	{ "timing", no_argument, NULL, OPT_TIMING },
	{ "log", no_argument, NULL, OPT_LOG },
	{ "fail-on-loss", no_argument, NULL, OPT_FAIL_ON_LOSS },
	{ "compare", no_argument, NULL, OPT_COMPARE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *seed;
	const char **sets;
	size_t nsets;
	const char *out, *text, *csv, *svg, *workdir;
	bool timing, log, fail_on_loss, compare, quiet;
	const char *scenario;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	int c;

	memset(a, 0, sizeof *a);
	a->sets = calloc((size_t)argc, sizeof *a->sets);
	if (a->sets == NULL)
		return 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "q", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SEED: a->seed = optarg; break;
		case OPT_SET: a->sets[a->nsets++] = optarg; break;
		case OPT_OUT: a->out = optarg; break;
		case OPT_TEXT: a->text = optarg; break;
		case OPT_CSV: a->csv = optarg; break;
		case OPT_SVG: a->svg = optarg; break;
		case OPT_WORKDIR: a->workdir = optarg; break;
		case OPT_TIMING: a->timing = true; break;
		case OPT_LOG: a->log = true; break;
		case OPT_FAIL_ON_LOSS: a->fail_on_loss = true; break;
		case OPT_COMPARE: a->compare = true; break;
		case 'q': a->quiet = true; break;
		case OPT_HELP: fputs(usage, stdout); return -1;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "sn-sim run: one SCENARIO file, please\n%s", usage);
		return 2;
	}
	a->scenario = argv[optind];
	return 0;
}

/* Write one report to path ("-": stdout). */
static int write_one(const char *path, void (*fn)(const struct sim_report *, FILE *),
                     const struct sim_report *r)
{
	FILE *f;

	if (strcmp(path, "-") == 0) {
		fn(r, stdout);
		return fflush(stdout) == 0 ? 0 : -1;
	}
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "sn-sim run: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fn(r, f);
	if (fclose(f) != 0) {
		fprintf(stderr, "sn-sim run: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_reports(const struct args *a, const struct sim_report *r)
{
	static const char *const names[] = { "report.txt", "series.csv", "timeline.svg" };
	void (*const fns[])(const struct sim_report *, FILE *) = { sim_report_text, sim_report_csv,
		                                                   sim_report_svg };
	const char *paths[] = { a->text, a->csv, a->svg };
	int rc = 0, i;

	/* Like mkdir -p for the last level: the usual "--out results/run1". */
	if (a->out != NULL && mkdir(a->out, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "sn-sim run: %s: %s\n", a->out, strerror(errno));
		return -1;
	}
	for (i = 0; i < 3; i++) {
		if (a->out != NULL) {
			char path[4096];

			snprintf(path, sizeof path, "%s/%s", a->out, names[i]);
			if (write_one(path, fns[i], r) != 0)
				rc = -1;
		}
		if (paths[i] != NULL && write_one(paths[i], fns[i], r) != 0)
			rc = -1;
	}
	if (!a->quiet)
		sim_report_text(r, stdout);
	return rc;
}

/* One open queue holds three descriptors: let many stations have theirs. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sim_run_main(int argc, char **argv)
{
	struct sim_scenario s;
	struct sim_run_opts opts;
	struct sim_report r;
	struct args a;
	char err[2048];
	double t0;
	size_t i;
	int rc = parse_args(argc, argv, &a);

	if (rc != 0) {
		free(a.sets);
		return rc < 0 ? 0 : rc;
	}
	if (a.compare) {
		fprintf(stderr, "sn-sim run: --compare needs link frames (batching, compression) in the "
		                "client and the bridge, which do not exist yet; run the scenario without "
		                "it\n");
		free(a.sets);
		return 2;
	}
	if (sim_scenario_load(&s, a.scenario, err, sizeof err) != 0) {
		fprintf(stderr, "sn-sim run: %s\n", err);
		free(a.sets);
		return 1;
	}
	rc = 0;
	if (a.seed != NULL) {
		char set[64];

		snprintf(set, sizeof set, "seed=%s", a.seed);
		if (sim_scenario_set(&s, set, err, sizeof err) != 0)
			rc = 2;
	}
	for (i = 0; rc == 0 && i < a.nsets; i++)
		if (sim_scenario_set(&s, a.sets[i], err, sizeof err) != 0)
			rc = 2;
	if (rc != 0) {
		fprintf(stderr, "sn-sim run: %s\n", err);
		sim_scenario_free(&s);
		free(a.sets);
		return rc;
	}
	raise_fd_limit();
	memset(&opts, 0, sizeof opts);
	opts.workdir = a.workdir;
	opts.log = a.log ? stderr : NULL;
	t0 = wall_now();
	if (sim_scenario_run(&s, &opts, &r, err, sizeof err) != 0) {
		fprintf(stderr, "sn-sim run: %s\n", err);
		sim_scenario_free(&s);
		free(a.sets);
		return 1;
	}
	if (a.timing) {
		double wall = wall_now() - t0, virt = (double)r.ended_us / 1e6;

		fprintf(stderr,
		        "timing: %u station(s), %.0f virtual s in %.3f wall s: %.0f virtual s per wall "
		        "s, %llu events\n",
		        r.stations, virt, wall, wall > 0 ? virt / wall : 0.0,
		        (unsigned long long)r.events);
	}
	rc = write_reports(&a, &r) == 0 ? 0 : 1;
	if (rc == 0 && a.fail_on_loss && r.lost > 0)
		rc = 3;
	sim_report_free(&r);
	sim_scenario_free(&s);
	free(a.sets);
	return rc;
}
