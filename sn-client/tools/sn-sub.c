/*
 * sn-sub - subscribe to MQTT-SN topics and print what arrives: arguments
 * and wiring over the blocking client (blocking.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn-client/blocking.h"
#include "sn-client/cli.h"
#include "sn-client/tport.h"

static const char usage[] =
	"usage: sn-sub [options] (-t FILTER | -T ID | --short XY)...\n"
	"\n"
	"Subscribe on an MQTT-SN gateway over UDP or a serial line and print each\n"
	"message.\n"
	"\n"
	"  -h, --host HOST        gateway address (default 127.0.0.1)\n"
	"  -p, --port PORT        gateway UDP port (default 1884)\n"
	SNC_TPORT_USAGE
	"  -t, --topic FILTER     topic filter, wildcards allowed (repeatable)\n"
	"  -T, --predefined ID    predefined topic id, 1-65534 (repeatable)\n"
	"      --short XY         two-character short topic name (repeatable)\n"
	"  -q, --qos QOS          0, 1 or 2 (default 0)\n"
	"  -v, --verbose          print \"topic message\" (predefined ids as numbers)\n"
	"  -C, --count N          exit after N messages\n"
	"  -W, --wait SECS        exit after SECS seconds\n"
	"      --sleep SECS       after subscribing, sleep (MQTT-SN 6.14) with this\n"
	"                         period, waking each period for what was kept\n"
	"  -i, --id ID            client id (default sn-sub-PID)\n"
	"  -k, --keepalive SECS   keep-alive period (default 60)\n"
	"      --no-clean         keep the session (CleanSession=0)\n"
	"      --timeout SECS     give up connecting or subscribing after SECS (default 60)\n"
	"      --rto MS           first retransmission timeout (default 10000)\n"
	"  -d, --debug            print every packet sent and received (stderr)\n"
	"      --help             this text\n"
	"\n"
	"Exit status: 0 done (count reached, -W elapsed without -C, or interrupted);\n"
	"1 refused by the gateway or another error; 2 bad arguments; 3 timed out\n"
	"(-W elapsed before -C messages) or the gateway stopped answering.\n";

enum { OPT_SHORT = 256, OPT_SLEEP, OPT_NO_CLEAN, OPT_TIMEOUT, OPT_RTO, OPT_HELP };

static const struct option longopts[] = {
	{ "host", required_argument, NULL, 'h' },
	{ "port", required_argument, NULL, 'p' },
	{ "topic", required_argument, NULL, 't' },
	{ "predefined", required_argument, NULL, 'T' },
	{ "short", required_argument, NULL, OPT_SHORT },
	{ "qos", required_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "count", required_argument, NULL, 'C' },
	{ "wait", required_argument, NULL, 'W' },
	{ "sleep", required_argument, NULL, OPT_SLEEP },
	{ "id", required_argument, NULL, 'i' },
	{ "keepalive", required_argument, NULL, 'k' },
	{ "no-clean", no_argument, NULL, OPT_NO_CLEAN },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "rto", required_argument, NULL, OPT_RTO },
	{ "debug", no_argument, NULL, 'd' },
	{ "help", no_argument, NULL, OPT_HELP },
	SNC_TPORT_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

#define MAX_TOPICS 64
#define HELPED (-1)

struct opts {
	struct snc_tport_opts tport;
	const char *client_id;
	struct snc_topic topics[MAX_TOPICS];
	int ntopics;
	long qos, count, wait_s, sleep_s, keep_alive, timeout_s, rto_ms;
	bool verbose, debug, no_clean;
	char id_buf[32];
};

struct run {
	const struct opts *o;
	struct snc_blocking *b;
	long received;
};

static int bad(const char *what)
{
	fprintf(stderr, "sn-sub: %s\n(try --help)\n", what);
	return SNC_EXIT_USAGE;
}

static int add_topic(struct opts *o, struct snc_topic t)
{
	if (o->ntopics == MAX_TOPICS)
		return bad("too many topics");
	if (snc_topic_check(&t, true) != SNC_OK)
		return bad("not a valid topic filter (--short takes 2 characters)");
	o->topics[o->ntopics++] = t;
	return SNC_EXIT_OK;
}

static int parse(int argc, char **argv, struct opts *o)
{
	char why[160];
	long v;
	int c, rc;

	memset(o, 0, sizeof *o);
	snc_tport_defaults(&o->tport);
	o->keep_alive = 60;
	o->timeout_s = 60;
	o->rto_ms = 10000;
	while ((c = getopt_long(argc, argv, "h:p:t:T:q:vC:W:i:k:d", longopts, NULL)) != -1) {
		rc = SNC_EXIT_OK;
		switch (c) {
		case 'h': o->tport.host = optarg; break;
		case 'p': o->tport.port = optarg; break;
		case 't':
			rc = add_topic(o, (struct snc_topic){ SNC_TOPIC_NAME, optarg, strlen(optarg), 0 });
			break;
		case 'T':
			if (!snc_cli_parse_long(optarg, 1, 0xFFFE, &v))
				return bad("-T: a topic id is 1-65534");
			rc = add_topic(o, (struct snc_topic){ SNC_TOPIC_PREDEFINED, NULL, 0, (uint16_t)v });
			break;
		case OPT_SHORT:
			rc = add_topic(o, (struct snc_topic){ SNC_TOPIC_SHORT, optarg, strlen(optarg), 0 });
			break;
		case 'q':
			if (!snc_cli_parse_long(optarg, 0, 2, &o->qos))
				return bad("-q: QoS is 0, 1 or 2");
			break;
		case 'v': o->verbose = true; break;
		case 'C':
			if (!snc_cli_parse_long(optarg, 1, 0x7FFFFFFF, &o->count))
				return bad("-C: a count, 1 or more");
			break;
		case 'W':
			if (!snc_cli_parse_long(optarg, 1, 86400 * 365, &o->wait_s))
				return bad("-W: seconds, 1 or more");
			break;
		case OPT_SLEEP:
			if (!snc_cli_parse_long(optarg, 1, 65535, &o->sleep_s))
				return bad("--sleep: seconds, 1-65535");
			break;
		case 'i': o->client_id = optarg; break;
		case 'k':
			if (!snc_cli_parse_long(optarg, 0, 65535, &o->keep_alive))
				return bad("-k: keep-alive is 0-65535 seconds");
			break;
		case OPT_NO_CLEAN: o->no_clean = true; break;
		case OPT_TIMEOUT:
			if (!snc_cli_parse_long(optarg, 1, 86400 * 365, &o->timeout_s))
				return bad("--timeout: seconds, 1 or more");
			break;
		case OPT_RTO:
			if (!snc_cli_parse_long(optarg, 1, 3600000, &o->rto_ms))
				return bad("--rto: milliseconds, 1 or more");
			break;
		case 'd': o->debug = true; break;
		case OPT_HELP:
			fputs(usage, stdout);
			return HELPED;
		default:
			switch (snc_tport_option(&o->tport, c, optarg, why, sizeof why)) {
			case 1: break;
			case 0: return SNC_EXIT_USAGE;
			default: return bad(why);
			}
			break;
		}
		if (rc != SNC_EXIT_OK)
			return rc;
	}
	if (optind != argc)
		return bad("unexpected argument");
	if (o->ntopics == 0)
		return bad("give at least one -t, -T or --short");
	if (snc_tport_check(&o->tport, why, sizeof why) != SNC_OK)
		return bad(why);
	if (o->client_id == NULL) {
		snprintf(o->id_buf, sizeof o->id_buf, "sn-sub-%ld", (long)getpid());
		o->client_id = o->id_buf;
	}
	if (strlen(o->client_id) > 23)
		return bad("-i: a client id is 1-23 characters");
	return SNC_EXIT_OK;
}

/* ---------------------------------------------------------------- output */

static void print_message(const struct run *r, const struct snc_event *ev)
{
	if (r->o->verbose) {
		if (ev->topic.name != NULL)
			fwrite(ev->topic.name, 1, ev->topic.len, stdout);
		else
			printf("%u", (unsigned)ev->topic.id);
		fputc(' ', stdout);
	}
	if (ev->len > 0)
		fwrite(ev->payload, 1, ev->len, stdout);
	fputc('\n', stdout);
	/* Line by line, for scripts reading a pipe. */
	fflush(stdout);
}

static void on_event(void *arg, const struct snc_event *ev)
{
	struct run *r = arg;

	/* Past the count, what still comes in (while disconnecting) is not printed. */
	if (ev->type != SNC_EV_MESSAGE || (r->o->count > 0 && r->received >= r->o->count))
		return;
	print_message(r, ev);
	if (r->o->count > 0 && ++r->received >= r->o->count)
		snc_blocking_stop(r->b);
}

static int fail(struct run *r, const char *step, int rc)
{
	if (rc == SNC_ERR_REFUSED)
		fprintf(stderr, "sn-sub: %s: refused by the gateway (return code %d)\n", step,
		        snc_blocking_rc(r->b));
	else if (rc == SNC_ERR_IO)
		fprintf(stderr, "sn-sub: %s: %s\n", step, snc_blocking_errmsg(r->b));
	else
		fprintf(stderr, "sn-sub: %s: %s\n", step, snc_strerror(rc));
	return snc_cli_exit_code(rc);
}

/* ---------------------------------------------------------------- main */

static int run_all(struct run *r)
{
	const struct opts *o = r->o;
	int timeout_ms = (int)(o->timeout_s > 2000000 ? 2000000000 : o->timeout_s * 1000);
	int wait_ms = o->wait_s > 0 ? (int)(o->wait_s > 2000000 ? 2000000000 : o->wait_s * 1000) : -1;
	int rc;

	rc = snc_connect(r->b, timeout_ms);
	if (rc != SNC_OK)
		return fail(r, "connect", rc);
	for (int i = 0; i < o->ntopics; i++) {
		rc = snc_subscribe(r->b, &o->topics[i], (int)o->qos, NULL, timeout_ms);
		if (rc != SNC_OK)
			return fail(r, "subscribe", rc);
	}
	if (o->sleep_s > 0) {
		rc = snc_sleep(r->b, (uint16_t)o->sleep_s, timeout_ms);
		if (rc != SNC_OK)
			return fail(r, "sleep", rc);
	}
	/* Messages come through on_event; the core wakes itself when asleep. */
	rc = snc_wait(r->b, wait_ms);
	if (rc == SNC_ERR_TIMEOUT && o->count == 0)
		rc = SNC_OK; /* -W alone: the time was the point */
	if (rc == SNC_OK) {
		/* A polite end; the gateway may already be gone, which is fine. */
		if (snc_disconnect(r->b, 2000) != SNC_OK && o->debug)
			fprintf(stderr, "sn-sub: no answer to DISCONNECT\n");
		return SNC_EXIT_OK;
	}
	return fail(r, "wait", rc);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct snc_config cfg;
	struct snc_tport tp;
	struct run r;
	char err[256];
	int ex = parse(argc, argv, &o);

	if (ex != SNC_EXIT_OK)
		return ex == HELPED ? SNC_EXIT_OK : ex;
	snc_config_defaults(&cfg);
	cfg.client_id = o.client_id;
	cfg.keep_alive_s = (uint16_t)o.keep_alive;
	cfg.clean_session = !o.no_clean;
	cfg.retry_initial_ms = (uint32_t)o.rto_ms;
	cfg.retry_slack_ms = snc_linkopt_retry_slack_ms(&o.tport.link);
	if (cfg.retry_min_ms > cfg.retry_initial_ms)
		cfg.retry_min_ms = cfg.retry_initial_ms;
	cfg.max_msg = 65535;
	o.tport.client_id = o.client_id; /* whose key --key-file holds */
	if (snc_tport_open(&tp, &o.tport, err, sizeof err) != SNC_OK) {
		fprintf(stderr, "sn-sub: %s\n", err);
		return SNC_EXIT_ERROR;
	}
	memset(&r, 0, sizeof r);
	r.o = &o;
	r.b = snc_blocking_new(&cfg, tp.t);
	if (r.b == NULL) {
		fprintf(stderr, "sn-sub: out of memory\n");
		snc_tport_close(&tp);
		return SNC_EXIT_ERROR;
	}
	if (o.debug)
		snc_blocking_trace(r.b, snc_cli_trace, stderr);
	snc_blocking_on_event(r.b, on_event, &r);
	snc_blocking_interrupt(r.b, snc_cli_signals());
	ex = run_all(&r);
	snc_blocking_free(r.b);
	snc_tport_close(&tp);
	return ex;
}
