/*
 * sn-dump - print MQTT-SN packets, one decoded line each: heard on a UDP
 * port, relayed between clients and a gateway, or read from a pcap
 * capture; and write what was heard or relayed as a pcap capture.
 * Arguments and wiring over udp.h, relay.h, pcap.h and the codec.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "sn-client/cli.h"
#include "sn-client/clock.h"
#include "sn-client/pcap.h"
#include "sn-client/relay.h"
#include "sn-client/udp.h"

static const char usage[] =
	"usage: sn-dump [-h HOST] [-p PORT] [options]     listen on a UDP port\n"
	"       sn-dump [-h HOST] [-p PORT] -F GW:PORT    relay to a gateway\n"
	"       sn-dump -r FILE [-p PORT] [options]       read a pcap capture\n"
	"\n"
	"Print each MQTT-SN packet decoded, one line each:\n"
	"  TIME SOURCE > DESTINATION SUMMARY\n"
	"with TIME in UTC. Listening, it only hears what is sent to it (point a\n"
	"client at it, or put it behind a copy of the traffic); relaying, clients\n"
	"talk to it as to the gateway and it shows both directions; a capture\n"
	"shows every UDP datagram, or those to or from PORT with -p.\n"
	"\n"
	"  -h, --host HOST    address to listen on (default: all)\n"
	"  -p, --port PORT    port to listen on (default 1884); with -r, a filter\n"
	"  -F, --forward GW:PORT  relay every client to the gateway at GW:PORT\n"
	"                     ([ADDR]:PORT for IPv6); each client gets its own\n"
	"                     socket towards it\n"
	"      --delay MS     relaying: hold each datagram MS ms, each way (a long\n"
	"                     round trip on loopback, for tests)\n"
	"  -w, --write FILE   also write what is heard or relayed to FILE as a\n"
	"                     pcap capture (raw IP; Wireshark and tshark read it)\n"
	"  -r, --read FILE    read a pcap file (\"-\" for standard input)\n"
	"  -c, --count N      stop after N packets\n"
	"  -W, --wait SECS    listening or relaying: stop after SECS seconds\n"
	"  -q, --quiet        print nothing (with -w, or a relay for its --delay)\n"
	"  -x, --hex          print the octets too\n"
	"      --help         this text\n"
	"\n"
	"Exit status: 0 done; 1 an error (cannot listen, unreadable capture);\n"
	"2 bad arguments.\n";

enum { OPT_HELP = 256, OPT_DELAY };

static const struct option longopts[] = {
	{ "host", required_argument, NULL, 'h' },
	{ "port", required_argument, NULL, 'p' },
	{ "forward", required_argument, NULL, 'F' },
	{ "delay", required_argument, NULL, OPT_DELAY },
	{ "write", required_argument, NULL, 'w' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "read", required_argument, NULL, 'r' },
	{ "count", required_argument, NULL, 'c' },
	{ "wait", required_argument, NULL, 'W' },
	{ "hex", no_argument, NULL, 'x' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

#define HELPED (-1)

struct opts {
	const char *host, *port, *file, *write;
	char gw_host[256], gw_port[32];
	bool forward;
	long port_filter, count, wait_s, delay_ms;
	bool hex, quiet;
};

static int bad(const char *what)
{
	fprintf(stderr, "sn-dump: %s\n(try --help)\n", what);
	return SNC_EXIT_USAGE;
}

/* HOST:PORT or [ADDR]:PORT into o->gw_host and o->gw_port. */
static bool split_host_port(const char *arg, struct opts *o)
{
	const char *colon = strrchr(arg, ':');
	const char *h = arg;
	size_t hl;

	if (colon == NULL || colon[1] == '\0')
		return false;
	hl = (size_t)(colon - arg);
	if (hl >= 2 && arg[0] == '[' && arg[hl - 1] == ']') {
		h = arg + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof o->gw_host || strlen(colon + 1) >= sizeof o->gw_port)
		return false;
	memcpy(o->gw_host, h, hl);
	o->gw_host[hl] = '\0';
	memcpy(o->gw_port, colon + 1, strlen(colon + 1) + 1);
	return true;
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof *o);
	o->port = "1884";
	o->port_filter = -1;
	while ((c = getopt_long(argc, argv, "h:p:F:w:qr:c:W:x", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': o->host = optarg; break;
		case 'F':
			if (!split_host_port(optarg, o))
				return bad("-F: HOST:PORT or [ADDR]:PORT");
			o->forward = true;
			break;
		case OPT_DELAY:
			if (!snc_cli_parse_long(optarg, 0, 600000, &o->delay_ms))
				return bad("--delay: 0-600000 ms");
			break;
		case 'w': o->write = optarg; break;
		case 'q': o->quiet = true; break;
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
	if (o->file != NULL && (o->forward || o->write != NULL))
		return bad("-r reads a capture: not with -F or -w");
	if (o->delay_ms > 0 && !o->forward)
		return bad("--delay is for relaying (-F)");
	if (o->quiet && o->write == NULL && !o->forward)
		return bad("-q without -w or -F would do nothing at all");
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

/* ---------------------------------------------------------------- writing */

struct out {
	const struct opts *o;
	FILE *pcap;              /* -w, or NULL */
	long printed;
	bool failed;
};

/* An address as pcap.h's writer wants it. */
static void pcap_addr(const struct sockaddr_storage *a, int *family, uint8_t ip[16],
                      uint16_t *port)
{
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;

		*family = 6;
		memcpy(ip, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)a;

		*family = 4;
		memcpy(ip, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	}
}

static int open_pcap(struct out *w)
{
	uint8_t hdr[SNC_PCAP_FILE_HDR];

	w->pcap = fopen(w->o->write, "wb");
	if (w->pcap == NULL) {
		fprintf(stderr, "sn-dump: %s: %s\n", w->o->write, strerror(errno));
		return SNC_EXIT_ERROR;
	}
	snc_pcap_write_file_header(hdr);
	if (fwrite(hdr, 1, sizeof hdr, w->pcap) != sizeof hdr || fflush(w->pcap) != 0) {
		fprintf(stderr, "sn-dump: %s: %s\n", w->o->write, strerror(errno));
		return SNC_EXIT_ERROR;
	}
	return SNC_EXIT_OK;
}

static int close_pcap(struct out *w)
{
	int ex = w->failed ? SNC_EXIT_ERROR : SNC_EXIT_OK;

	if (w->pcap != NULL && fclose(w->pcap) != 0) {
		fprintf(stderr, "sn-dump: %s: %s\n", w->o->write, strerror(errno));
		ex = SNC_EXIT_ERROR;
	}
	return ex;
}

/* One datagram heard: printed, and written to the capture. */
static void emit(struct out *w, const struct sockaddr_storage *from, socklen_t from_len,
                 const struct sockaddr_storage *to, socklen_t to_len, const uint8_t *buf,
                 size_t len)
{
	struct timespec ts;
	char when[32], src[64], dst[64], prefix[200];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (!w->o->quiet) {
		stamp(when, sizeof when, ts.tv_sec, (unsigned long)ts.tv_nsec / 1000u);
		snc_udp_format_addr(from, from_len, src, sizeof src);
		snc_udp_format_addr(to, to_len, dst, sizeof dst);
		snprintf(prefix, sizeof prefix, "%s %s > %s", when, src, dst);
		snc_cli_print_packet(stdout, prefix, buf, len, w->o->hex);
		fflush(stdout);
	}
	if (w->pcap != NULL && !w->failed) {
		struct snc_pcap_udp u;
		uint8_t *rec;
		int n;

		memset(&u, 0, sizeof u);
		pcap_addr(from, &u.family, u.src, &u.sport);
		pcap_addr(to, &u.family, u.dst, &u.dport);
		u.payload = buf;
		u.len = len;
		rec = malloc(snc_pcap_udp_record_size(&u));
		n = rec == NULL ? SNC_ERR_NOMEM
		                : snc_pcap_write_udp(rec, snc_pcap_udp_record_size(&u), (uint32_t)ts.tv_sec,
		                                     (uint32_t)(ts.tv_nsec / 1000), &u);
		/* Flushed each time: a capture cut by a kill still reads. */
		if (n < 0 || fwrite(rec, 1, (size_t)n, w->pcap) != (size_t)n || fflush(w->pcap) != 0) {
			fprintf(stderr, "sn-dump: %s: %s\n", w->o->write,
			        n < 0 ? snc_strerror(n) : strerror(errno));
			w->failed = true;
		}
		free(rec);
	}
	w->printed++;
}

static bool done(const struct out *w, uint64_t end)
{
	return w->failed || (w->o->count > 0 && w->printed >= w->o->count) ||
	       snc_clock_mono_ms() >= end;
}

/* ---------------------------------------------------------------- listening */

static int listen_udp(const struct opts *o)
{
	volatile sig_atomic_t *stop = snc_cli_signals();
	uint64_t end = o->wait_s > 0 ? snc_clock_mono_ms() + (uint64_t)o->wait_s * 1000u : UINT64_MAX;
	struct sockaddr_storage me;
	socklen_t me_len = sizeof me;
	struct out w = { o, NULL, 0, false };
	struct snc_udp u;
	static uint8_t buf[65536];
	char err[256];
	int ex = SNC_EXIT_OK;

	if (snc_udp_listen(&u, o->host, o->port, err, sizeof err) != SNC_OK) {
		fprintf(stderr, "sn-dump: %s\n", err);
		return SNC_EXIT_ERROR;
	}
	getsockname(u.fd, (struct sockaddr *)&me, &me_len);
	if (o->write != NULL && open_pcap(&w) != SNC_EXIT_OK) {
		snc_udp_close(&u);
		return SNC_EXIT_ERROR;
	}
	while (!*stop && !done(&w, end)) {
		uint64_t now = snc_clock_mono_ms();
		struct pollfd p = { u.fd, POLLIN, 0 };
		int n = 0, wait = end == UINT64_MAX ? -1 : (int)(end > now ? end - now : 0);

		if (poll(&p, 1, wait) <= 0)
			continue; /* a signal, or the time is up: both checked above */
		while (!done(&w, UINT64_MAX) && (n = u.base.ops->recv(&u.base, buf, sizeof buf)) >= 0)
			emit(&w, &u.from, u.from_len, &me, me_len, buf, (size_t)n);
		if (n == SNC_ERR_IO) {
			fprintf(stderr, "sn-dump: %s\n", u.base.err);
			ex = SNC_EXIT_ERROR;
			break;
		}
	}
	snc_udp_close(&u);
	return close_pcap(&w) != SNC_EXIT_OK ? SNC_EXIT_ERROR : ex;
}

/* ---------------------------------------------------------------- relaying */

static void relayed(void *arg, const struct snc_relay_packet *p)
{
	struct out *w = arg;

	if (p->to_gateway)
		emit(w, p->client, p->client_len, p->relay, p->relay_len, p->buf, p->len);
	else
		emit(w, p->relay, p->relay_len, p->client, p->client_len, p->buf, p->len);
}

static int relay(const struct opts *o)
{
	volatile sig_atomic_t *stop = snc_cli_signals();
	uint64_t end = o->wait_s > 0 ? snc_clock_mono_ms() + (uint64_t)o->wait_s * 1000u : UINT64_MAX;
	struct out w = { o, NULL, 0, false };
	struct pollfd fds[SNC_RELAY_CLIENTS + 1];
	struct snc_relay *r;
	uint64_t next = UINT64_MAX;
	char err[256];
	int ex = SNC_EXIT_OK;

	if (snc_relay_open(&r, o->host, o->port, o->gw_host, o->gw_port, (uint32_t)o->delay_ms, err,
	                   sizeof err) != SNC_OK) {
		fprintf(stderr, "sn-dump: %s\n", err);
		return SNC_EXIT_ERROR;
	}
	if (o->write != NULL && open_pcap(&w) != SNC_EXIT_OK) {
		snc_relay_close(r);
		return SNC_EXIT_ERROR;
	}
	while (!*stop && !done(&w, end)) {
		uint64_t now = snc_clock_mono_ms(), until = next < end ? next : end;
		size_t n = snc_relay_fds(r, fds, sizeof fds / sizeof fds[0]);
		int wait = until == UINT64_MAX ? -1 : (int)(until > now ? (until - now > 60000 ? 60000 : until - now) : 0);

		if (poll(fds, (nfds_t)n, wait) < 0 && errno != EINTR) {
			fprintf(stderr, "sn-dump: poll: %s\n", strerror(errno));
			ex = SNC_EXIT_ERROR;
			break;
		}
		next = snc_relay_run(r, snc_clock_mono_ms(), relayed, &w);
		if (next == 0) {
			fprintf(stderr, "sn-dump: %s\n", snc_relay_errmsg(r));
			ex = SNC_EXIT_ERROR;
			break;
		}
	}
	snc_relay_close(r);
	return close_pcap(&w) != SNC_EXIT_OK ? SNC_EXIT_ERROR : ex;
}

int main(int argc, char **argv)
{
	struct opts o;
	int ex = parse(argc, argv, &o);

	if (ex != SNC_EXIT_OK)
		return ex == HELPED ? SNC_EXIT_OK : ex;
	if (o.file != NULL)
		return dump_file(&o);
	return o.forward ? relay(&o) : listen_udp(&o);
}
