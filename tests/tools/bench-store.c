/*
 * bench-store.c - figures of the bridge's custody store (bridge/store.h):
 * the time to recover (open) a store of N messages, the memory of its
 * index, and puts per second under each fsync policy.
 *
 *   bench-store [-n MESSAGES] [-s STATIONS] [-t SECONDS] [-d DIR]
 *
 * Defaults: 1,000,000 weather-sized messages (about 80 octets of payload)
 * from 1,000 stations; each fsync policy is measured for at most
 * SECONDS (default 1) or 200,000 puts. DIR (default a new directory under
 * /tmp) is emptied and removed at the end. Prints one line per figure,
 * "bench-store KEY=VALUE ...", for scripts.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bridge/store.h"

#define PUTS_MAX 200000u

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[600];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
}

static struct gw_store *open_or_die(const char *dir, const struct gw_store_config *cfg)
{
	struct gw_store *s;
	char err[512];
	int rc = gw_store_open(&s, dir, cfg, err, sizeof err);

	if (rc != GW_STORE_OK) {
		fprintf(stderr, "bench-store: %s: %s\n", gw_store_strerror(rc), err);
		exit(1);
	}
	return s;
}

/* A weather reading of about 80 octets, station k, reading i. */
static size_t reading(char *buf, size_t cap, uint64_t k, uint64_t i)
{
	int n = snprintf(buf, cap,
	                 "{\"t\":%" PRIu64 ",\"temp_c\":%.1f,\"rh\":%u,\"wind_ms\":%.1f,\"p_hpa\":%u}",
	                 1700000000u + i * 60u, -5.0 + (double)((k + i) % 300) / 10.0,
	                 (unsigned)(40 + i % 60), (double)(i % 150) / 10.0, (unsigned)(990 + i % 40));

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static int put_one(struct gw_store *s, uint64_t k, uint64_t i, uint64_t now)
{
	char id[24], topic[48], text[128];
	struct gw_store_msg m = { .client_id = id, .topic = topic, .qos = 1 };

	snprintf(id, sizeof id, "wx-%05" PRIu64, k);
	m.topic_len = (size_t)snprintf(topic, sizeof topic, "stations/wx-%05" PRIu64 "/weather", k);
	m.payload = (const uint8_t *)text;
	m.payload_len = reading(text, sizeof text, k, i);
	return gw_store_up_put(s, &m, now);
}

static void unlimited(struct gw_store_config *cfg, enum gw_store_sync sync)
{
	gw_store_config_defaults(cfg);
	cfg->sync = sync;
	cfg->max_bytes = 0;
	cfg->max_disk_bytes = 0;
	cfg->up_station_msgs = 0;
	cfg->up_station_bytes = 0;
}

static void bench_recover(const char *dir, uint64_t n, uint64_t stations)
{
	struct gw_store_config cfg;
	struct gw_store *s;
	double t0, t1;
	long rss0, rss1;
	char line[600];

	unlimited(&cfg, GW_STORE_SYNC_NEVER);
	s = open_or_die(dir, &cfg);
	t0 = mono_s();
	for (uint64_t i = 0; i < n; i++) {
		int rc = put_one(s, i % stations, i / stations, clock_ms(CLOCK_REALTIME));

		if (rc != GW_STORE_OK) {
			fprintf(stderr, "bench-store: put %" PRIu64 ": %s: %s\n", i, gw_store_strerror(rc),
			        gw_store_errmsg(s));
			exit(1);
		}
	}
	if (gw_store_sync(s) != GW_STORE_OK)
		fprintf(stderr, "bench-store: sync: %s\n", gw_store_errmsg(s));
	t1 = mono_s();
	gw_store_close(s);
	printf("bench-store write messages=%" PRIu64 " seconds=%.3f per_s=%.0f\n", n, t1 - t0,
	       (double)n / (t1 - t0));

	rss0 = rss_kib();
	t0 = mono_s();
	s = open_or_die(dir, &cfg);
	t1 = mono_s();
	rss1 = rss_kib();
	gw_store_summary(s, (uint64_t)((t1 - t0) * 1000.0), line, sizeof line);
	printf("# %s\n", line);
	printf("bench-store recover messages=%" PRIu64 " stations=%" PRIu64 " disk_bytes=%" PRIu64
	       " seconds=%.3f index_bytes=%" PRIu64 " index_bytes_per_msg=%.1f rss_growth_kib=%ld\n",
	       gw_store_stats(s)->up_msgs, stations, gw_store_stats(s)->disk_bytes, t1 - t0,
	       gw_store_index_bytes(s), (double)gw_store_index_bytes(s) / (double)(n ? n : 1),
	       rss1 - rss0);
	gw_store_close(s);
	empty_dir(dir);
}

static void bench_puts(const char *dir, enum gw_store_sync sync, const char *name, double secs)
{
	struct gw_store_config cfg;
	struct gw_store *s;
	uint64_t n = 0, fsyncs;
	double t0, t1;

	unlimited(&cfg, sync);
	cfg.interval_ms = 100;
	s = open_or_die(dir, &cfg);
	fsyncs = gw_store_stats(s)->fsyncs;
	t0 = mono_s();
	t1 = t0;
	/* Bounded by count and by time; time is read every 64 puts. */
	while (n < PUTS_MAX && t1 - t0 < secs) {
		uint64_t now = clock_ms(CLOCK_REALTIME);

		if (put_one(s, n % 100, n, now) != GW_STORE_OK) {
			fprintf(stderr, "bench-store: %s\n", gw_store_errmsg(s));
			exit(1);
		}
		if (gw_store_tick(s, now) != GW_STORE_OK)
			fprintf(stderr, "bench-store: tick: %s\n", gw_store_errmsg(s));
		n++;
		if (n % 64 == 0 || sync == GW_STORE_SYNC_ALWAYS)
			t1 = mono_s();
	}
	t1 = mono_s();
	printf("bench-store put policy=%s messages=%" PRIu64 " seconds=%.3f per_s=%.0f fsyncs=%" PRIu64
	       "\n",
	       name, n, t1 - t0, (double)n / (t1 - t0), gw_store_stats(s)->fsyncs - fsyncs);
	gw_store_close(s);
	empty_dir(dir);
}

int main(int argc, char **argv)
{
	uint64_t n = 1000000, stations = 1000;
	double secs = 1.0;
	char tmp[] = "/tmp/bench-store.XXXXXX";
	const char *dir = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "n:s:t:d:")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 's':
			stations = strtoull(optarg, NULL, 10);
			break;
		case 't':
			secs = strtod(optarg, NULL);
			break;
		case 'd':
			dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench-store [-n MESSAGES] [-s STATIONS] [-t SECONDS] [-d DIR]\n");
			return 2;
		}
	}
	if (stations == 0 || stations > 99999 || secs <= 0) {
		fprintf(stderr, "bench-store: -s takes 1 to 99999 stations, -t a positive time\n");
		return 2;
	}
	if (dir == NULL && (dir = mkdtemp(tmp)) == NULL) {
		perror("bench-store: mkdtemp");
		return 1;
	}
	bench_recover(dir, n, stations);
	bench_puts(dir, GW_STORE_SYNC_ALWAYS, "always", secs);
	bench_puts(dir, GW_STORE_SYNC_INTERVAL, "interval-100ms", secs);
	bench_puts(dir, GW_STORE_SYNC_NEVER, "never", secs);
	empty_dir(dir);
	rmdir(dir);
	return 0;
}
