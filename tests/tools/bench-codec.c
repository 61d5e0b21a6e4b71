/*
 * bench-codec - how long the codec takes per message, on real payloads.
 *
 * Usage: bench-codec [WEATHER_CSV]
 * Builds one PUBLISH per weather record (compact JSON, as LINKS.md
 * describes), then times encode and decode over all of them for a bounded
 * number of rounds, and prints one table row per operation:
 *   op  messages  ns_per_msg  MB_per_s
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/mqttsn.h"
#include "codec/topic.h"

#define MAX_RECORDS 9000
#define ROUNDS 50
#define PAYLOAD_MAX 160

struct sample {
	uint8_t payload[PAYLOAD_MAX];
	size_t len;
	uint8_t wire[PAYLOAD_MAX + 16];
	size_t wire_len;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Turn "2010-01-01T01:00:00,1016.6,4.0,3.8" into the compact JSON record. */
static size_t json_record(const char *line, uint8_t *out, size_t cap)
{
	char ts[32], p[16], t[16], w[16];
	if (sscanf(line, "%31[^,],%15[^,],%15[^,],%15s", ts, p, t, w) != 4)
		return 0;
	int n = snprintf((char *)out, cap,
	                 "{\"ts\":\"%s\",\"pressure_hpa\":%s,\"temp_c\":%s,\"wind_ms\":%s}", ts, p,
	                 t, w);
	return (n > 0 && (size_t)n < cap) ? (size_t)n : 0;
}

static size_t load(const char *path, struct sample *s, size_t max)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "bench-codec: %s: %s\n", path, strerror(errno));
		return 0;
	}
	char line[256];
	size_t n = 0;
	if (!fgets(line, sizeof line, f)) { /* header */
		fclose(f);
		return 0;
	}
	while (n < max && fgets(line, sizeof line, f)) {
		s[n].len = json_record(line, s[n].payload, sizeof s[n].payload);
		if (s[n].len)
			n++;
	}
	fclose(f);
	return n;
}

static void publish_of(const struct sample *s, uint16_t i, struct mqttsn_msg *m)
{
	memset(m, 0, sizeof *m);
	m->type = MQTTSN_PUBLISH;
	m->u.publish.flags.qos = 1;
	m->u.publish.topic_id = (uint16_t)(1 + i % 64);
	m->u.publish.msg_id = (uint16_t)(1 + i);
	m->u.publish.data.ptr = s->payload;
	m->u.publish.data.len = s->len;
}

static void row(const char *op, size_t msgs, size_t bytes, double secs)
{
	printf("%-12s %10zu %10.1f %10.1f\n", op, msgs, secs * 1e9 / (double)msgs,
	       (double)bytes / secs / 1e6);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "../shared/data/telemetry/seattle-weather-hourly-normals.csv";
	static struct sample s[MAX_RECORDS];
	size_t n = load(path, s, MAX_RECORDS);
	if (n == 0) {
		fprintf(stderr, "bench-codec: no records read from %s\n", path);
		return 1;
	}

	struct mqttsn_msg m;
	size_t bytes = 0;
	double t0 = now_s();
	for (int r = 0; r < ROUNDS; r++) {
		for (size_t i = 0; i < n; i++) {
			publish_of(&s[i], (uint16_t)i, &m);
			int w = mqttsn_encode(s[i].wire, sizeof s[i].wire, &m);
			if (w < 0) {
				fprintf(stderr, "bench-codec: encode: %s\n", mqttsn_strerror(w));
				return 1;
			}
			s[i].wire_len = (size_t)w;
			bytes += (size_t)w;
		}
	}
	row("encode", n * ROUNDS, bytes, now_s() - t0);

	bytes = 0;
	uint64_t check = 0;
	t0 = now_s();
	for (int r = 0; r < ROUNDS; r++) {
		for (size_t i = 0; i < n; i++) {
			int e = mqttsn_decode(s[i].wire, s[i].wire_len, &m);
			if (e != MQTTSN_OK) {
				fprintf(stderr, "bench-codec: decode: %s\n", mqttsn_strerror(e));
				return 1;
			}
			check += m.u.publish.data.len;
			bytes += s[i].wire_len;
		}
	}
	row("decode", n * ROUNDS, bytes, now_s() - t0);

	static const char *const filters[] = {"stations/+/weather", "stations/#", "+/+/+", "x/y"};
	char name[64];
	size_t matches = 0, tests = 0;
	t0 = now_s();
	for (int r = 0; r < ROUNDS; r++) {
		for (size_t i = 0; i < n; i++) {
			int len = snprintf(name, sizeof name, "stations/st%zu/weather", i % 100);
			for (size_t f = 0; f < 4; f++) {
				matches += mqttsn_topic_matches(filters[f], strlen(filters[f]), name,
				                                (size_t)len);
				tests++;
			}
		}
	}
	row("topic-match", tests, 0, now_s() - t0);
	if (check == 0 || matches == 0)
		return 1;
	return 0;
}
