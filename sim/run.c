/*
 * run.c - `sn-sim run`, the command line of the scenario runner (run.h):
 * arguments, the scenario, the run, the reports. Arguments and wiring only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "sim/profile.h"
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
	"                       bridge.KEY=VALUE, broker.KEY=VALUE, frames.KEY=VALUE;\n"
	"                       repeatable\n"
	"  --out DIR            write DIR/report.txt, DIR/series.csv, DIR/timeline.svg\n"
	"  --text FILE          the text summary to FILE\n"
	"  --csv FILE           the time series to FILE\n"
	"  --svg FILE           the timeline to FILE\n"
	"  --workdir DIR        where the stations' queues go (default /dev/shm,\n"
	"                       else $TMPDIR or /tmp)\n"
	"  --timing             wall-clock time and speed on stderr\n"
	"  --log                the gateway core's log on stderr\n"
	"  --fail-on-loss       exit 3 when any message was lost\n"
	"  --compare            run it twice, plain MQTT-SN and with link frames\n"
	"                       ([frames] settings, frames.on=yes), and compare;\n"
	"                       --out DIR then writes DIR/plain and DIR/frames\n"
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

/* ---------------------------------------------------------------- --compare */

/* Octets a second the up direction carries (0: no rate limit). */
static double link_rate_Bps(const struct sim_scenario *s)
{
	struct sim_link_params p;
	char err[512];
	size_t i;

	if (sim_profile_apply(&p, s->profile, err, sizeof err) != 0)
		return 0;
	for (i = 0; i < s->n_link_set; i++)
		if (sim_profile_set(&p, s->link_set[i].assignment, err, sizeof err) != 0)
			return 0;
	if (p.dir[SIM_UP].rate_bps == 0 || p.dir[SIM_UP].bits_per_byte == 0)
		return 0;
	return (double)p.dir[SIM_UP].rate_bps / (double)p.dir[SIM_UP].bits_per_byte;
}

/* Delivered over the time from the first publish to the last first receipt. */
static double rate_of(const struct sim_report *r)
{
	double s = r->last_rx_us > r->first_pub_us ? (double)(r->last_rx_us - r->first_pub_us) / 1e6
	                                           : 0.0;
	return s > 0 ? (double)r->delivered / s : 0.0;
}

static double per_msg(uint64_t bytes, uint64_t delivered)
{
	return delivered > 0 ? (double)bytes / (double)delivered : 0.0;
}

/* The share of the up direction's capacity that carried octets while the backlog drained. */
static double busy_pct(const struct sim_report *r, double bytes_per_s)
{
	double s = r->last_rx_us > r->first_pub_us ? (double)(r->last_rx_us - r->first_pub_us) / 1e6
	                                           : 0.0;
	return s > 0 && bytes_per_s > 0 ? 100.0 * (double)r->link[SIM_UP].bytes / (s * bytes_per_s)
	                                : 0.0;
}

static void compare_table(const struct sim_report *p, const struct sim_report *f, double up_Bps,
                          FILE *out)
{
	double rp = rate_of(p), rf = rate_of(f);

	fprintf(out, "compared: plain MQTT-SN against link frames (mtu %u up, %u down%s%s)\n",
	        (unsigned)f->frames_mtu_up, (unsigned)f->frames_mtu_down,
	        f->frames_encrypted ? ", encrypted" : "", f->frames_compressed ? ", compressed" : "");
	fprintf(out, "  %-34s %14s %14s\n", "", "plain", "frames");
	fprintf(out, "  %-34s %14" PRIu64 " %14" PRIu64 "\n", "published", p->published, f->published);
	fprintf(out, "  %-34s %14" PRIu64 " %14" PRIu64 "\n", "delivered", p->delivered, f->delivered);
	fprintf(out, "  %-34s %14" PRIu64 " %14" PRIu64 "\n", "lost", p->lost, f->lost);
	fprintf(out, "  %-34s %14" PRIu64 " %14" PRIu64 "\n", "duplicated", p->duplicates, f->duplicates);
	fprintf(out, "  %-34s %14" PRIu64 " %14" PRIu64 "\n", "link octets up", p->link[SIM_UP].bytes,
	        f->link[SIM_UP].bytes);
	fprintf(out, "  %-34s %14" PRIu64 " %14" PRIu64 "\n", "link octets down",
	        p->link[SIM_DOWN].bytes, f->link[SIM_DOWN].bytes);
	fprintf(out, "  %-34s %14.1f %14.1f\n", "octets up per delivered message",
	        per_msg(p->link[SIM_UP].bytes, p->delivered), per_msg(f->link[SIM_UP].bytes, f->delivered));
	fprintf(out, "  %-34s %14.1f %14.1f\n", "octets down per delivered message",
	        per_msg(p->link[SIM_DOWN].bytes, p->delivered),
	        per_msg(f->link[SIM_DOWN].bytes, f->delivered));
	fprintf(out, "  %-34s %14.2f %14.2f\n", "delivered per second", rp, rf);
	if (up_Bps > 0)
		fprintf(out, "  %-34s %13.0f%% %13.0f%%\n", "up capacity used", busy_pct(p, up_Bps),
		        busy_pct(f, up_Bps));
	if (rp > 0)
		fprintf(out, "  %-34s %29.1f\n", "frames / plain, delivered per second", rf / rp);
}

/* Run the scenario plain and with frames; reports of both, then the table. */
static int compare(const struct args *a, struct sim_scenario *s, const struct sim_run_opts *opts)
{
	static const char *const sets[2] = { "frames.on=no", "frames.on=yes" };
	static const char *const names[2] = { "plain", "frames" };
	struct sim_report r[2];
	char err[2048];
	int k, rc = 0;

	memset(r, 0, sizeof r);
	for (k = 0; k < 2 && rc == 0; k++) {
		if (sim_scenario_set(s, sets[k], err, sizeof err) != 0 ||
		    sim_scenario_run(s, opts, &r[k], err, sizeof err) != 0) {
			fprintf(stderr, "sn-sim run: %s (%s)\n", err, names[k]);
			rc = 1;
			break;
		}
		if (a->out != NULL) {
			struct args one = *a;
			char dir[4096];

			if (mkdir(a->out, 0777) != 0 && errno != EEXIST) {
				fprintf(stderr, "sn-sim run: %s: %s\n", a->out, strerror(errno));
				rc = 1;
				break;
			}
			snprintf(dir, sizeof dir, "%s/%s", a->out, names[k]);
			one.out = dir;
			one.quiet = true;
			if (write_reports(&one, &r[k]) != 0)
				rc = 1;
		}
		if (!a->quiet) {
			printf("== %s\n", k == 0 ? "plain MQTT-SN" : "link frames");
			sim_report_text(&r[k], stdout);
			printf("\n");
		}
	}
	if (rc == 0) {
		double rate = link_rate_Bps(s);

		compare_table(&r[0], &r[1], rate, stdout);
		if (a->fail_on_loss && (r[0].lost > 0 || r[1].lost > 0))
			rc = 3;
	}
	sim_report_free(&r[0]);
	sim_report_free(&r[1]);
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
	if (a.compare && (a.text != NULL || a.csv != NULL || a.svg != NULL)) {
		fprintf(stderr, "sn-sim run: with --compare, --out DIR writes the reports of both runs\n");
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
	if (a.compare) {
		rc = compare(&a, &s, &opts);
		sim_scenario_free(&s);
		free(a.sets);
		return rc;
	}
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
