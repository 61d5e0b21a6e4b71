/*
 * stations_corpus.h - the payloads a simulated station publishes, read from
 * a telemetry corpus file:
 *
 *   *.csv    the weather normals (header "date,pressure,temperature,wind"),
 *            each row turned into a compact JSON record
 *            {"ts":"2010-01-01T01:00:00","pressure_hpa":1016.6,"temp_c":4.0,"wind_ms":3.8}
 *            with the numbers as written in the file;
 *   *.jsonl  one record a line, as it is (empty lines skipped).
 *
 * A station takes the records in order and starts again at the first when
 * it has sent the last.
 */
#ifndef SNBRIDGE_SIM_STATIONS_CORPUS_H
#define SNBRIDGE_SIM_STATIONS_CORPUS_H

#include <stddef.h>
#include <stdint.h>

struct sim_corpus {
	char *path;        /* as opened */
	uint8_t *data;     /* every record, back to back */
	size_t *off;       /* record i starts at data + off[i] */
	size_t *len;       /* and is len[i] octets */
	size_t n;          /* records (at least one once loaded) */
	size_t total;      /* octets of all records */
};

/*
 * Read the corpus at path. Returns 0, or -1 with a message naming the file
 * (and the line, for a malformed record) in err.
 */
int sim_corpus_load(struct sim_corpus *c, const char *path, char *err, size_t errcap);

/* Free what load allocated; c may be zeroed or loaded. */
void sim_corpus_free(struct sim_corpus *c);

/* Record i modulo the record count: *p and *len view into the corpus. */
void sim_corpus_get(const struct sim_corpus *c, uint64_t i, const uint8_t **p, size_t *len);

#endif
