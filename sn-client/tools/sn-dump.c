/*
 * sn-dump - print MQTT-SN packets, one decoded line each: heard on a UDP
 * port, or read from a pcap capture. Arguments and wiring over udp.h,
 * pcap.h and the codec.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "sn-client/cli.h"
#include "sn-client/clock.h"
#include "sn-client/pcap.h"
#include "sn-client/udp.h"

static const char usage[] =
	"usage: sn-dump [-h HOST] [-p PORT] [options]     listen on a UDP port\n"
	"       sn-dump -r FILE [-p PORT] [options]       read a pcap capture\n"
	"\n"
	"Print each MQTT-SN packet decoded, one line each:\n"
	"  TIME SOURCE > DESTINATION SUMMARY\n"
	"with TIME in UTC. Listening, it only hears what is sent to it (point a\n"
	"client at it, or put it behind a copy of the traffic); a capture shows\n"
	"every UDP datagram, or those to or from PORT with -p.\n"
	"\n"
	"  -h, --host HOST    address to listen on (default: all)\n"
	"  -p, --port PORT    port to listen on (default 1884); with -r, a filter\n"
	"  -r, --read FILE    read a pcap file (\"-\" for standard input)\n"
	"  -c, --count N      stop after N packets\n"
	"  -W, --wait SECS    listening: stop after SECS seconds\n"
	"  -x, --hex          print the octets too\n"
	"      --help         this text\n"
	"\n"
	"Exit status: 0 done; 1 an error (cannot listen, unreadable capture);\n"
	"2 bad arguments.\n";

enum { OPT_HELP = 256 };

static const struct option longopts[] = {
	{ "host", required_argument, NULL, 'h' },
	{ "port", required_argument, NULL, 'p' },
	{ "read", required_argument, NULL, 'r' },
	{ "count", required_argument, NULL, 'c' },
	{ "wait", required_argument, NULL, 'W' },
	{ "hex", no_argument, NULL, 'x' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

#define HELPED (-1)

struct opts {
	const char *host, *port, *file;
	long port_filter, count, wait_s;
	bool hex;
};

static int bad(const char *what)
{
	fprintf(stderr, "sn-dump: %s\n(try --help)\n", what);
	return SNC_EXIT_USAGE;
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof *o);
	o->port = "1884";
	o->port_filter = -1;
	while ((c = getopt_long(argc, argv, "h:p:r:c:W:x", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': o->host = optarg; break;
		case 'p':
			o->port = optarg;
			if (!snc_cli_parse_long(optarg, 0, 65535, &o->port_filter))
				return bad("-p: a port is 0-65535");
			break;
		case 'r': o->file = optarg; break;
		case 'c':
			if (!snc_cli_parse_long(optarg, 1, 0x7FFFFFFF, &o->count))
				return bad("-c: a count, 1 or more");
			break;
		case 'W':
			if (!snc_cli_parse_long(optarg, 1, 86400 * 365, &o->wait_s))
				return bad("-W: seconds, 1 or more");
			break;
		case 'x': o->hex = true; break;
		case OPT_HELP:
			fputs(usage, stdout);
			return HELPED;
		default:
			return SNC_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return bad("unexpected argument");
	if (o->file != NULL && o->host != NULL)
		return bad("-h is for listening, not with -r");
	return SNC_EXIT_OK;
}

/* "HH:MM:SS.ffffff" of a time in seconds and microseconds, UTC. */
static void stamp(char *out, size_t cap, time_t sec, unsigned long usec)
{
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(out, cap, "%02d:%02d:%02d.%06lu", tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
}

/* ---------------------------------------------------------------- capture */

static int read_exact(FILE *f, uint8_t *buf, size_t n)
{
	return fread(buf, 1, n, f) == n ? 0 : -1;
}

static int dump_file(const struct opts *o)
{
	FILE *f = strcmp(o->file, "-") == 0 ? stdin : fopen(o->file, "rb");
	struct snc_pcap_file pf;
	uint8_t hdr[SNC_PCAP_FILE_HDR], *frame = NULL;
	long printed = 0;
	int ex = SNC_EXIT_OK;

	if (f == NULL) {
		fprintf(stderr, "sn-dump: %s: %s\n", o->file, strerror(errno));
		return SNC_EXIT_ERROR;
	}
	if (read_exact(f, hdr, sizeof hdr) != 0 ||
	    snc_pcap_file_header(hdr, sizeof hdr, &pf) != SNC_OK) {
		fprintf(stderr, "sn-dump: %s: not a pcap file (pcapng is not read: convert "
		        "it with editcap -F pcap)\n", o->file);
		ex = SNC_EXIT_ERROR;
		goto out;
	}
	while (o->count == 0 || printed < o->count) {
		struct snc_pcap_record rec;
		struct snc_pcap_udp u;
		uint8_t rh[SNC_PCAP_REC_HDR];
		char when[32], src[64], dst[64], prefix[200];
		uint8_t *nf;

		if (read_exact(f, rh, sizeof rh) != 0)
			break; /* the end (a torn last record header ends it too) */
		if (snc_pcap_record_header(&pf, rh, sizeof rh, &rec) != SNC_OK) {
			fprintf(stderr, "sn-dump: %s: damaged record header\n", o->file);
			ex = SNC_EXIT_ERROR;
			break;
		}
		nf = realloc(frame, rec.incl_len ? rec.incl_len : 1);
		if (nf == NULL) {
			fprintf(stderr, "sn-dump: out of memory\n");
			ex = SNC_EXIT_ERROR;
			break;
		}
		frame = nf;
		if (read_exact(f, frame, rec.incl_len) != 0) {
			fprintf(stderr, "sn-dump: %s: capture cut short\n", o->file);
			break;
		}
		if (snc_pcap_udp(pf.linktype, frame, rec.incl_len, &u) != SNC_OK)
			continue;
		if (o->port_filter >= 0 && o->file != NULL && u.sport != o->port_filter &&
		    u.dport != o->port_filter)
			continue;
		stamp(when, sizeof when, (time_t)rec.ts_sec,
		      pf.nanos ? rec.ts_frac / 1000u : rec.ts_frac);
		snc_pcap_format(&u, true, src, sizeof src);
		snc_pcap_format(&u, false, dst, sizeof dst);
		snprintf(prefix, sizeof prefix, "%s %s > %s", when, src, dst);
		snc_cli_print_packet(stdout, prefix, u.payload, u.len, o->hex);
		printed++;
	}
out:
	free(frame);
	if (f != stdin)
		fclose(f);
	return ex;
}

/* ---------------------------------------------------------------- listening */

static int listen_udp(const struct opts *o)
{
	volatile sig_atomic_t *stop = snc_cli_signals();
	uint64_t end = o->wait_s > 0 ? snc_clock_mono_ms() + (uint64_t)o->wait_s * 1000u : UINT64_MAX;
	struct sockaddr_storage me;
	socklen_t me_len = sizeof me;
	struct snc_udp u;
	static uint8_t buf[65536];
	char err[256], local[64];
	long printed = 0;
	int ex = SNC_EXIT_OK;

	if (snc_udp_listen(&u, o->host, o->port, err, sizeof err) != SNC_OK) {
		fprintf(stderr, "sn-dump: %s\n", err);
		return SNC_EXIT_ERROR;
	}
	getsockname(u.fd, (struct sockaddr *)&me, &me_len);
	snc_udp_format_addr(&me, me_len, local, sizeof local);
	while (!*stop && (o->count == 0 || printed < o->count)) {
		uint64_t now = snc_clock_mono_ms();
		struct pollfd p = { u.fd, POLLIN, 0 };
		int n, wait = end == UINT64_MAX ? -1 : (int)(end > now ? end - now : 0);

		if (now >= end)
			break;
		if (poll(&p, 1, wait) <= 0)
			continue; /* a signal, or the time is up: both checked above */
		while ((n = u.base.ops->recv(&u.base, buf, sizeof buf)) >= 0) {
			struct timespec ts;
			char when[32], src[64], prefix[200];

			clock_gettime(CLOCK_REALTIME, &ts);
			stamp(when, sizeof when, ts.tv_sec, (unsigned long)ts.tv_nsec / 1000u);
			snc_udp_format_addr(&u.from, u.from_len, src, sizeof src);
			snprintf(prefix, sizeof prefix, "%s %s > %s", when, src, local);
			snc_cli_print_packet(stdout, prefix, buf, (size_t)n, o->hex);
			if (o->count > 0 && ++printed >= o->count)
				break;
		}
		if (n == SNC_ERR_IO) {
			fprintf(stderr, "sn-dump: %s\n", u.base.err);
			ex = SNC_EXIT_ERROR;
			break;
		}
	}
	snc_udp_close(&u);
	return ex;
}

int main(int argc, char **argv)
{
	struct opts o;
	int ex = parse(argc, argv, &o);

	if (ex != SNC_EXIT_OK)
		return ex == HELPED ? SNC_EXIT_OK : ex;
	return o.file != NULL ? dump_file(&o) : listen_udp(&o);
}
