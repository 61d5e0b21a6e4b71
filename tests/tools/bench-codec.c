/*
 * bench-codec - how long the codec takes per message, on real payloads.
 *
 * Usage: bench-codec [WEATHER_CSV]
 * Builds one PUBLISH per weather record (compact JSON, as LINKS.md
 * describes), then times encode and decode over all of them for a bounded
 * number of rounds, and prints one table row per operation:
 *   op  messages  ns_per_msg  MB_per_s
 * Then link frames (codec/frame.h): the records batched into 340-octet
 * frames with a dictionary built from the last 400 records, sealed with
 * and without encryption; one line with the frames, the octets a record
 * takes in them, and the octets encryption adds to a frame (the same
 * content sealed both ways), and the time to seal and open a frame.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "codec/frame.h"
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

/*
 * Records 0 .. n-401 batched into frames of 340 octets (a full builder each),
 * the last 400 building the dictionary; every frame sealed plain-compressed
 * and encrypted-compressed from the same content, and opened again.
 */
static int frames(struct sample *s, size_t n)
{
	static struct mqttsn_frame_ctx ctx;
	static struct mqttsn_frame_builder b;
	static uint8_t dict_buf[MQTTSN_FRAME_DICT_MAX], out[MQTTSN_FRAME_CONTENT_MAX];
	static struct mqttsn_bytes samples[400];
	struct mqttsn_frame_dict dict = { 1, dict_buf, 0 };
	struct mqttsn_link_keyring ring;
	struct mqttsn_frame_params plain, sealed;
	struct mqttsn_frame_info info;
	size_t used = 0, frames_n = 0, octets = 0, extra = 0, i = 0;
	uint8_t fp[MQTTSN_FRAME_MAX], fs[MQTTSN_FRAME_MAX];
	double t_seal = 0, t_open = 0;

	if (n <= 400 || sodium_init() < 0)
		return 1;
	for (size_t k = 0; k < 400; k++) {
		samples[k].ptr = s[n - 400 + k].payload;
		samples[k].len = s[n - 400 + k].len;
	}
	dict.len = mqttsn_frame_dict_build(samples, 400, dict_buf, sizeof dict_buf);
	memset(&ring, 0, sizeof ring);
	ring.set[0] = true;
	randombytes_buf(ring.key[0], sizeof ring.key[0]);
	memset(&plain, 0, sizeof plain);
	plain.dict = &dict;
	plain.direction = MQTTSN_LINK_UP;
	sealed = plain;
	sealed.key = ring.key[0];
	while (i < n - 400 && frames_n < 2000) {
		size_t first = i;
		mqttsn_frame_builder_init(&b, 340);
		while (i < n - 400) {
			int rc = mqttsn_frame_builder_add(&b, &ctx, &sealed, s[i].wire, s[i].wire_len);
			if (rc == MQTTSN_FRAME_FULL)
				break;
			if (rc != MQTTSN_FRAME_FITS)
				return 1;
			i++;
		}
		if (i == first)
			return 1;
		sealed.counter = plain.counter = frames_n + 1;
		double t0 = now_s();
		int ls = mqttsn_frame_seal(&ctx, &sealed, b.content, b.len, fs, sizeof fs);
		t_seal += now_s() - t0;
		int lp = mqttsn_frame_seal(&ctx, &plain, b.content, b.len, fp, sizeof fp);
		if (ls <= 0 || lp <= 0 || ls > 340)
			return 1;
		struct mqttsn_link_rx rx;
		mqttsn_link_rx_init(&rx, 0);
		t0 = now_s();
		int lo = mqttsn_frame_open(&ctx, &ring, &dict, 1, &rx, MQTTSN_LINK_UP, fs, (size_t)ls, out,
		                           sizeof out, &info);
		t_open += now_s() - t0;
		if (lo != (int)b.len || memcmp(out, b.content, b.len) != 0)
			return 1;
		used += i - first;
		octets += (size_t)ls;
		extra += (size_t)(ls - lp);
		frames_n++;
	}
	printf("frames: %zu weather records in %zu frames of at most 340 octets, compressed and\n"
	       "encrypted: %.1f octets a record, %.1f records a frame; encryption adds %.1f octets\n"
	       "a frame (the same content sealed with and without the key); seal %.1f us, open\n"
	       "%.1f us a frame\n",
	       used, frames_n, (double)octets / (double)used, (double)used / (double)frames_n,
	       (double)extra / (double)frames_n, t_seal * 1e6 / (double)frames_n,
	       t_open * 1e6 / (double)frames_n);
	return 0;
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
	return frames(s, n);
}
