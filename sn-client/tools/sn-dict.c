/*
 * sn-dict - build a preset dictionary for link-frame compression from
 * sample payloads and write it as a dictionary file (codec/FRAMES.md).
 * Arguments and wiring over mqttsn_frame_dict_build() and
 * mqttsn_frame_dict_encode().
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/frame.h"
#include "sn-client/cli.h"

static const char usage[] =
	"usage: sn-dict -o FILE --id N [--max BYTES] SAMPLE_FILE...\n"
	"       sn-dict -o FILE --id N [--max BYTES] -l [FILE...]\n"
	"\n"
	"Build a preset dictionary for compressed link frames from sample\n"
	"payloads, oldest first: the most recent distinct samples that fit, the\n"
	"newest last. Write it to FILE in the dictionary file format of\n"
	"codec/FRAMES.md (\"SNDI\", version 1, id, length, octets, CRC-32C) and\n"
	"print its size and id. Both ends of a link load the same file.\n"
	"\n"
	"  -o, --output FILE  the dictionary file to write (replaced if present)\n"
	"      --id N         its dictionary id on the wire, 0-255\n"
	"  -m, --max BYTES    at most BYTES of dictionary, 1-32768 (default 32768)\n"
	"  -l, --lines        one sample per line, read from the FILEs or from\n"
	"                     standard input; empty lines are skipped. Without -l,\n"
	"                     each SAMPLE_FILE is one sample\n"
	"      --help         this text\n"
	"\n"
	"Exit status: 0 done; 1 an error (unreadable sample, no samples or none\n"
	"that fits BYTES, cannot write FILE); 2 bad arguments.\n";

enum { OPT_HELP = 256, OPT_ID };

static const struct option longopts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "id", required_argument, NULL, OPT_ID },
	{ "max", required_argument, NULL, 'm' },
	{ "lines", no_argument, NULL, 'l' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

#define HELPED (-1)
#define SAMPLE_FILE_MAX (64u * 1024u * 1024u) /* one input file, read whole */

struct opts {
	const char *out;
	long id, max;
	bool lines;
	char **files;
	size_t nfiles;
};

static int bad(const char *what)
{
	fprintf(stderr, "sn-dict: %s\n(try --help)\n", what);
	return SNC_EXIT_USAGE;
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof *o);
	o->id = -1;
	o->max = MQTTSN_FRAME_DICT_MAX;
	while ((c = getopt_long(argc, argv, "o:m:l", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case OPT_ID:
			if (!snc_cli_parse_long(optarg, 0, 255, &o->id))
				return bad("--id: a dictionary id is 0-255");
			break;
		case 'm':
			if (!snc_cli_parse_long(optarg, 1, MQTTSN_FRAME_DICT_MAX, &o->max))
				return bad("--max: 1-32768 octets");
			break;
		case 'l': o->lines = true; break;
		case OPT_HELP:
			fputs(usage, stdout);
			return HELPED;
		default:
			return SNC_EXIT_USAGE;
		}
	}
	if (o->out == NULL || o->out[0] == '\0')
		return bad("-o FILE is required");
	if (o->id < 0)
		return bad("--id N is required");
	o->files = argv + optind;
	o->nfiles = (size_t)(argc - optind);
	if (o->nfiles == 0 && !o->lines)
		return bad("no sample files (or -l to read lines from standard input)");
	return SNC_EXIT_OK;
}

/* ---------------------------------------------------------------- samples */

struct samples {
	struct mqttsn_bytes *v;
	size_t n, cap;
	uint8_t **bufs; /* what the views point into, freed at the end */
	size_t nbufs;
};

static bool push(struct samples *s, const uint8_t *p, size_t len)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct mqttsn_bytes *v = realloc(s->v, cap * sizeof *v);

		if (v == NULL)
			return false;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].ptr = p;
	s->v[s->n].len = len;
	s->n++;
	return true;
}

/* Split buf[0..len) into lines (LF or CRLF), each non-empty one a sample. */
static bool push_lines(struct samples *s, const uint8_t *buf, size_t len)
{
	size_t start = 0;

	while (start < len) {
		const uint8_t *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - buf) : len, n = end - start;

		if (n > 0 && buf[start + n - 1] == '\r')
			n--;
		if (n > 0 && !push(s, buf + start, n))
			return false;
		start = end + 1;
	}
	return true;
}

/* Read one input ("-" is standard input) into s; false after saying why. */
static bool read_input(struct samples *s, const char *path, bool lines)
{
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = snc_cli_read_all(path, SAMPLE_FILE_MAX, &buf, &len);

	if (rc != SNC_OK) {
		fprintf(stderr, "sn-dict: %s: %s\n", name,
		        rc == SNC_ERR_IO ? strerror(errno)
		        : rc == SNC_ERR_TOO_BIG ? "larger than 64 MiB"
		                                : snc_strerror(rc));
		return false;
	}
	s->bufs[s->nbufs++] = buf;
	if (!(lines ? push_lines(s, buf, len) : (len == 0 || push(s, buf, len)))) {
		fprintf(stderr, "sn-dict: out of memory\n");
		return false;
	}
	return true;
}

static void samples_free(struct samples *s)
{
	for (size_t i = 0; i < s->nbufs; i++)
		free(s->bufs[i]);
	free(s->bufs);
	free(s->v);
}

/* ---------------------------------------------------------------- output */

static bool write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL) {
		fprintf(stderr, "sn-dict: %s: %s\n", path, strerror(errno));
		return false;
	}
	if (fwrite(buf, 1, len, f) != len) {
		fprintf(stderr, "sn-dict: %s: %s\n", path, strerror(errno));
		fclose(f);
		return false;
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "sn-dict: %s: %s\n", path, strerror(errno));
		return false;
	}
	return true;
}

static int build(const struct opts *o)
{
	static uint8_t dict[MQTTSN_FRAME_DICT_MAX];
	static uint8_t file[MQTTSN_FRAME_DICT_MAX + MQTTSN_FRAME_DICT_FILE_OVERHEAD];
	struct samples s;
	struct mqttsn_frame_dict d, check;
	size_t ninputs = o->nfiles ? o->nfiles : 1;
	int n, ex = SNC_EXIT_ERROR;

	memset(&s, 0, sizeof s);
	s.bufs = calloc(ninputs, sizeof *s.bufs);
	if (s.bufs == NULL) {
		fprintf(stderr, "sn-dict: out of memory\n");
		return SNC_EXIT_ERROR;
	}
	for (size_t i = 0; i < ninputs; i++)
		if (!read_input(&s, o->nfiles ? o->files[i] : "-", o->lines))
			goto out;
	if (s.n == 0) {
		fprintf(stderr, "sn-dict: no samples: every input is empty\n");
		goto out;
	}
	d.id = (uint8_t)o->id;
	d.ptr = dict;
	d.len = mqttsn_frame_dict_build(s.v, s.n, dict, (size_t)o->max);
	if (d.len == 0) {
		fprintf(stderr, "sn-dict: no sample fits in %ld octets: nothing to write to %s\n",
		        o->max, o->out);
		goto out;
	}
	n = mqttsn_frame_dict_encode(&d, file, sizeof file);
	/* Read back what is about to be written: the receiver will. */
	if (n < 0 || mqttsn_frame_dict_decode(file, (size_t)n, &check) != n ||
	    check.id != d.id || check.len != d.len) {
		fprintf(stderr, "sn-dict: %s: encoding failed: %s\n", o->out,
		        mqttsn_frame_strerror(n < 0 ? n : MQTTSN_FRAME_ERR_MALFORMED));
		goto out;
	}
	if (!write_file(o->out, file, (size_t)n))
		goto out;
	printf("%s: dictionary id %u, %zu octets from %zu samples (file %d octets)\n", o->out,
	       (unsigned)d.id, d.len, s.n, n);
	ex = SNC_EXIT_OK;
out:
	samples_free(&s);
	return ex;
}

int main(int argc, char **argv)
{
	struct opts o;
	int ex = parse(argc, argv, &o);

	if (ex != SNC_EXIT_OK)
		return ex == HELPED ? SNC_EXIT_OK : ex;
	return build(&o);
}
