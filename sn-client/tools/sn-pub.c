/*
 * sn-pub - publish MQTT-SN messages from the command line: arguments and
 * wiring over the blocking client (blocking.h) and, with --queue, the
 * persistent queue (queue.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sn-client/blocking.h"
#include "sn-client/cli.h"
#include "sn-client/clock.h"
#include "sn-client/feed.h"
#include "sn-client/queue.h"
#include "sn-client/udp.h"

static const char usage[] =
	"usage: sn-pub [options] (-t TOPIC | -T ID | --short XY) (-m MSG | -f FILE | -l | -s | -n)\n"
	"\n"
	"Publish to an MQTT-SN gateway over UDP.\n"
	"\n"
	"  -h, --host HOST        gateway address (default 127.0.0.1)\n"
	"  -p, --port PORT        gateway UDP port (default 1884)\n"
	"  -t, --topic TOPIC      topic name (registered for an id)\n"
	"  -T, --predefined ID    predefined topic id, 1-65534\n"
	"      --short XY         two-character short topic name\n"
	"  -m, --message MSG      the message\n"
	"  -f, --file FILE        the file's contents as one message\n"
	"  -l, --lines            one message per line of standard input\n"
	"  -s, --stdin            all of standard input as one message\n"
	"  -n, --null             an empty message\n"
	"  -q, --qos QOS          -1, 0, 1 or 2 (default 0); -1 needs -T or --short\n"
	"  -r, --retain           ask the broker to retain the message\n"
	"  -i, --id ID            client id (default sn-pub-PID)\n"
	"  -k, --keepalive SECS   keep-alive period (default 60)\n"
	"      --will-topic T     Will topic\n"
	"      --will-payload M   Will message\n"
	"      --will-qos QOS     Will QoS, 0-2 (default 0)\n"
	"      --will-retain      retain the Will\n"
	"      --queue DIR        keep the messages in a persistent queue in DIR\n"
	"                         and publish from it: what is not acknowledged\n"
	"                         stays there for the next run, which finishes\n"
	"                         what was in flight with the same msg ids; the\n"
	"                         client id is the queue's (its first run's)\n"
	"                         unless -i says otherwise, and QoS 2 messages go\n"
	"                         without CleanSession, for exactly once\n"
	"      --priority N       queue priority, 0 (routine) - 3 (alarm)\n"
	"      --ttl SECS         queue time to live (default 0: none)\n"
	"      --timeout SECS     give up after SECS per step (default 60)\n"
	"      --rto MS           first retransmission timeout (default 10000)\n"
	"      --window N         QoS 1/2 publishes in flight at once (default 1,\n"
	"                         the standard; more needs a gateway that allows it)\n"
	"  -d, --debug            print every packet sent and received (stderr)\n"
	"      --help             this text\n"
	"\n"
	"Exit status: 0 done; 1 refused by the gateway or another error;\n"
	"2 bad arguments; 3 timed out or the gateway stopped answering. With\n"
	"--queue, --timeout is the longest wait without any message acknowledged.\n";

enum {
	OPT_SHORT = 256, OPT_WILL_TOPIC, OPT_WILL_PAYLOAD, OPT_WILL_QOS, OPT_WILL_RETAIN, OPT_QUEUE,
	OPT_PRIORITY, OPT_TTL, OPT_TIMEOUT, OPT_RTO, OPT_WINDOW, OPT_HELP,
};

static const struct option longopts[] = {
	{ "host", required_argument, NULL, 'h' },
	{ "port", required_argument, NULL, 'p' },
	{ "topic", required_argument, NULL, 't' },
	{ "predefined", required_argument, NULL, 'T' },
	{ "short", required_argument, NULL, OPT_SHORT },
	{ "message", required_argument, NULL, 'm' },
	{ "file", required_argument, NULL, 'f' },
	{ "lines", no_argument, NULL, 'l' },
	{ "stdin", no_argument, NULL, 's' },
	{ "null", no_argument, NULL, 'n' },
	{ "qos", required_argument, NULL, 'q' },
	{ "retain", no_argument, NULL, 'r' },
	{ "id", required_argument, NULL, 'i' },
	{ "keepalive", required_argument, NULL, 'k' },
	{ "will-topic", required_argument, NULL, OPT_WILL_TOPIC },
	{ "will-payload", required_argument, NULL, OPT_WILL_PAYLOAD },
	{ "will-qos", required_argument, NULL, OPT_WILL_QOS },
	{ "will-retain", no_argument, NULL, OPT_WILL_RETAIN },
	{ "queue", required_argument, NULL, OPT_QUEUE },
	{ "priority", required_argument, NULL, OPT_PRIORITY },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "rto", required_argument, NULL, OPT_RTO },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "debug", no_argument, NULL, 'd' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* parse() printed the help: exit 0 without doing anything. */
#define HELPED (-1)

struct opts {
	const char *host, *port, *client_id, *queue_dir;
	struct snc_topic topic;
	int ntopics;
	char mode;            /* 'm', 'f', 'l', 's', 'n' */
	int nmodes;
	const char *message, *file;
	long qos, keep_alive, will_qos, priority, ttl, timeout_s, rto_ms, window;
	bool id_given;
	bool retain, will_retain, debug;
	const char *will_topic, *will_payload;
	char id_buf[32];
};

static int bad(const char *what)
{
	fprintf(stderr, "sn-pub: %s\n(try --help)\n", what);
	return SNC_EXIT_USAGE;
}

/* ---------------------------------------------------------------- arguments */

static int parse(int argc, char **argv, struct opts *o)
{
	long v;
	int c;

	memset(o, 0, sizeof *o);
	o->host = "127.0.0.1";
	o->port = "1884";
	o->keep_alive = 60;
	o->timeout_s = 60;
	o->rto_ms = 10000;
	o->window = 1;
	while ((c = getopt_long(argc, argv, "h:p:t:T:m:f:lsnq:ri:k:d", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': o->host = optarg; break;
		case 'p': o->port = optarg; break;
		case 't':
			o->topic = (struct snc_topic){ SNC_TOPIC_NAME, optarg, strlen(optarg), 0 };
			o->ntopics++;
			break;
		case 'T':
			if (!snc_cli_parse_long(optarg, 1, 0xFFFE, &v))
				return bad("-T: a topic id is 1-65534");
			o->topic = (struct snc_topic){ SNC_TOPIC_PREDEFINED, NULL, 0, (uint16_t)v };
			o->ntopics++;
			break;
		case OPT_SHORT:
			o->topic = (struct snc_topic){ SNC_TOPIC_SHORT, optarg, strlen(optarg), 0 };
			o->ntopics++;
			break;
		case 'm': o->mode = 'm'; o->message = optarg; o->nmodes++; break;
		case 'f': o->mode = 'f'; o->file = optarg; o->nmodes++; break;
		case 'l': case 's': case 'n': o->mode = (char)c; o->nmodes++; break;
		case 'q':
			if (!snc_cli_parse_long(optarg, -1, 2, &o->qos))
				return bad("-q: QoS is -1, 0, 1 or 2");
			break;
		case 'r': o->retain = true; break;
		case 'i': o->client_id = optarg; o->id_given = true; break;
		case 'k':
			if (!snc_cli_parse_long(optarg, 0, 65535, &o->keep_alive))
				return bad("-k: keep-alive is 0-65535 seconds");
			break;
		case 'd': o->debug = true; break;
		case OPT_WILL_TOPIC: o->will_topic = optarg; break;
		case OPT_WILL_PAYLOAD: o->will_payload = optarg; break;
		case OPT_WILL_QOS:
			if (!snc_cli_parse_long(optarg, 0, 2, &o->will_qos))
				return bad("--will-qos: 0, 1 or 2");
			break;
		case OPT_WILL_RETAIN: o->will_retain = true; break;
		case OPT_QUEUE: o->queue_dir = optarg; break;
		case OPT_PRIORITY:
			if (!snc_cli_parse_long(optarg, 0, SNC_PRIO_LEVELS - 1, &o->priority))
				return bad("--priority: 0-3");
			break;
		case OPT_TTL:
			if (!snc_cli_parse_long(optarg, 0, 0x7FFFFFFF, &o->ttl))
				return bad("--ttl: seconds, 0 or more");
			break;
		case OPT_TIMEOUT:
			if (!snc_cli_parse_long(optarg, 1, 86400 * 365, &o->timeout_s))
				return bad("--timeout: seconds, 1 or more");
			break;
		case OPT_RTO:
			if (!snc_cli_parse_long(optarg, 1, 3600000, &o->rto_ms))
				return bad("--rto: milliseconds, 1 or more");
			break;
		case OPT_WINDOW:
			if (!snc_cli_parse_long(optarg, 1, 1024, &o->window))
				return bad("--window: 1-1024");
			break;
		case OPT_HELP:
			fputs(usage, stdout);
			return HELPED;
		default:
			return SNC_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return bad("unexpected argument");
	if (o->ntopics != 1)
		return bad("give exactly one of -t, -T, --short");
	if (o->nmodes != 1)
		return bad("give exactly one of -m, -f, -l, -s, -n");
	if (snc_topic_check(&o->topic, false) != SNC_OK)
		return bad("the topic is not a valid topic name (no wildcards; --short takes 2 characters)");
	if (o->qos == -1 && o->topic.kind == SNC_TOPIC_NAME)
		return bad("QoS -1 needs a predefined id (-T) or a short name (--short)");
	if (o->will_payload != NULL && o->will_topic == NULL)
		return bad("--will-payload needs --will-topic");
	if (o->will_topic != NULL &&
	    snc_topic_check(&(struct snc_topic){ SNC_TOPIC_NAME, o->will_topic,
	                                         strlen(o->will_topic), 0 }, false) != SNC_OK)
		return bad("--will-topic: not a valid topic name");
	if (o->client_id == NULL) {
		snprintf(o->id_buf, sizeof o->id_buf, "sn-pub-%ld", (long)getpid());
		o->client_id = o->id_buf;
	}
	if (strlen(o->client_id) > 23)
		return bad("-i: a client id is 1-23 characters");
	return SNC_EXIT_OK;
}

/* ---------------------------------------------------------------- messages */

/*
 * Calls fn(arg, line, len) for each line of standard input. While waiting
 * for input, b (when not NULL) runs its loop, so that a connection stays
 * alive however slowly the lines come.
 */
static int each_line(struct snc_blocking *b, int (*fn)(void *arg, const uint8_t *p, size_t n),
                     void *arg)
{
	size_t cap = 4096, start = 0, len = 0;
	uint8_t *buf = malloc(cap);
	bool eof = false;
	int ex = SNC_EXIT_OK;

	if (buf == NULL) {
		fprintf(stderr, "sn-pub: out of memory\n");
		return SNC_EXIT_ERROR;
	}
	while (ex == SNC_EXIT_OK) {
		uint8_t *nl = memchr(buf + start, '\n', len - start);
		ssize_t n;
		int rc;

		if (nl != NULL || (eof && start < len)) {
			size_t end = nl != NULL ? (size_t)(nl - buf) : len;

			ex = fn(arg, buf + start, end - start);
			start = nl != NULL ? end + 1 : len;
			continue;
		}
		if (eof)
			break;
		/* Room for more: the partial line to the front, then grow. */
		memmove(buf, buf + start, len - start);
		len -= start;
		start = 0;
		if (len == cap) {
			uint8_t *nb = cap > SNC_PAYLOAD_MAX ? NULL : realloc(buf, cap * 2);

			if (nb == NULL) {
				fprintf(stderr, "sn-pub: stdin: a line over %u octets\n", SNC_PAYLOAD_MAX);
				ex = SNC_EXIT_ERROR;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		if (b != NULL && (rc = snc_wait_fd(b, STDIN_FILENO, -1)) != SNC_OK) {
			ex = rc == SNC_ERR_INTERRUPTED ? SNC_EXIT_OK : snc_cli_exit_code(rc);
			if (rc != SNC_ERR_INTERRUPTED)
				fprintf(stderr, "sn-pub: waiting for input: %s\n", snc_strerror(rc));
			break;
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "sn-pub: stdin: %s\n", strerror(errno));
			ex = SNC_EXIT_ERROR;
			break;
		}
		eof = n == 0;
		len += (size_t)n;
	}
	free(buf);
	return ex;
}

/*
 * Calls fn(arg, payload, len) for each message the options name; stops at
 * the first non-zero return and gives it back. b: see each_line().
 */
static int each_message(const struct opts *o, struct snc_blocking *b,
                        int (*fn)(void *arg, const uint8_t *p, size_t n), void *arg)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	switch (o->mode) {
	case 'm':
		return fn(arg, (const uint8_t *)o->message, strlen(o->message));
	case 'n':
		return fn(arg, NULL, 0);
	case 'l':
		return each_line(b, fn, arg);
	default:
		rc = snc_cli_read_all(o->mode == 's' ? "-" : o->file, SNC_PAYLOAD_MAX, &buf, &len);
		if (rc != SNC_OK) {
			fprintf(stderr, "sn-pub: %s: %s\n", o->mode == 's' ? "stdin" : o->file,
			        rc == SNC_ERR_IO ? strerror(errno) : snc_strerror(rc));
			return SNC_EXIT_ERROR;
		}
		rc = fn(arg, buf, len);
		free(buf);
		return rc;
	}
}

static struct snc_message message_of(const struct opts *o, const uint8_t *p, size_t n)
{
	struct snc_message m;

	memset(&m, 0, sizeof m);
	m.topic = o->topic;
	m.qos = (int)o->qos;
	m.retain = o->retain;
	m.payload = p;
	m.len = n;
	m.priority = (uint8_t)o->priority;
	m.ttl_s = (uint32_t)o->ttl;
	return m;
}

struct run {
	const struct opts *o;
	struct snc_blocking *b;
	struct snc_queue *q;
	int timeout_ms;
};

static int fail(struct run *r, const char *step, int rc)
{
	if (rc == SNC_ERR_REFUSED)
		fprintf(stderr, "sn-pub: %s: refused by the gateway (return code %d)\n", step,
		        snc_blocking_rc(r->b));
	else if (rc == SNC_ERR_IO)
		fprintf(stderr, "sn-pub: %s: %s\n", step, snc_blocking_errmsg(r->b));
	else
		fprintf(stderr, "sn-pub: %s: %s\n", step, snc_strerror(rc));
	return snc_cli_exit_code(rc);
}

static int publish_one(void *arg, const uint8_t *p, size_t n)
{
	struct run *r = arg;
	struct snc_message m = message_of(r->o, p, n);
	int rc = snc_publish(r->b, &m, r->timeout_ms);

	return rc == SNC_OK ? SNC_EXIT_OK : fail(r, "publish", rc);
}

static int queue_one(void *arg, const uint8_t *p, size_t n)
{
	struct run *r = arg;
	struct snc_message m = message_of(r->o, p, n);
	int rc = snc_queue_push(r->q, &m, snc_clock_wall_ms(NULL));

	if (rc != SNC_OK) {
		fprintf(stderr, "sn-pub: queue: %s%s%s\n", snc_strerror(rc),
		        *snc_queue_errmsg(r->q) ? ": " : "", snc_queue_errmsg(r->q));
		return snc_cli_exit_code(rc);
	}
	return SNC_EXIT_OK;
}

/* With --queue: stop waiting once the queue is empty. */
static void on_event(void *arg, const struct snc_event *ev)
{
	struct run *r = arg;

	if (ev->type == SNC_EV_PUBLISHED && ev->from_source && ev->rc > 0)
		fprintf(stderr, "sn-pub: queued message %llu refused by the gateway (return code %d)\n",
		        (unsigned long long)ev->seq, ev->rc);
	if (r->q != NULL && snc_queue_count(r->q) == 0 && snc_pending(snc_blocking_core(r->b)) == 0)
		snc_blocking_stop(r->b);
}

/*
 * Drains the queue through the connection; what is left stays on disk. The
 * timeout is for a wait without progress: a long queue over a slow link
 * takes as long as it takes, a gateway that stopped answering does not.
 */
static int drain_queue(struct run *r)
{
	const struct snc_queue_stats *st = snc_queue_stats(r->q);
	struct snc_feed feed;
	uint64_t before;
	int rc;

	snc_feed_init(&feed, r->q, snc_clock_wall_ms, NULL);
	snc_set_source(snc_blocking_core(r->b), snc_feed_source(), &feed);
	snc_blocking_on_event(r->b, on_event, r);
	if (snc_queue_count(r->q) == 0)
		return SNC_EXIT_OK;
	do {
		before = st->delivered + st->refused;
		rc = snc_wait(r->b, r->timeout_ms);
	} while (rc == SNC_ERR_TIMEOUT && st->delivered + st->refused > before);
	snc_set_source(snc_blocking_core(r->b), NULL, NULL);
	if (feed.last_err != SNC_OK)
		fprintf(stderr, "sn-pub: queue: %s%s%s\n", snc_strerror(feed.last_err),
		        *snc_queue_errmsg(r->q) ? ": " : "", snc_queue_errmsg(r->q));
	if (rc != SNC_OK || snc_queue_count(r->q) != 0) {
		fprintf(stderr, "sn-pub: %zu message(s) left in the queue\n", snc_queue_count(r->q));
		return fail(r, "queue", rc == SNC_OK ? SNC_ERR_INTERRUPTED : rc);
	}
	return SNC_EXIT_OK;
}

/* ---------------------------------------------------------------- main */

static int run_all(struct run *r)
{
	const struct opts *o = r->o;
	int rc, ex;

	/* 6.8: QoS -1 goes without a connection. */
	if (o->qos == -1 && o->queue_dir == NULL)
		return each_message(o, r->b, publish_one, r);
	rc = snc_connect(r->b, r->timeout_ms);
	if (rc != SNC_OK) {
		if (r->q != NULL)
			fprintf(stderr, "sn-pub: %zu message(s) kept in the queue for the next run\n",
			        snc_queue_count(r->q));
		return fail(r, "connect", rc);
	}
	ex = o->queue_dir != NULL ? drain_queue(r) : each_message(o, r->b, publish_one, r);
	rc = snc_disconnect(r->b, r->timeout_ms);
	if (ex == SNC_EXIT_OK && rc != SNC_OK)
		return fail(r, "disconnect", rc);
	return ex;
}

/*
 * Opens the queue. A queue is one station's: without -i its client id is
 * the one the queue was first sent under, so that the gateway finds the
 * session again (messages in flight have msg ids that mean something only
 * there). With another -i the gateway cannot tell their repeats, which is
 * said.
 */
static int open_queue(struct opts *o, struct snc_queue **q)
{
	const struct snc_queue_stats *st;
	const char *owner;
	char err[256];

	if (snc_queue_open(q, o->queue_dir, NULL, err, sizeof err) != SNC_OK) {
		fprintf(stderr, "sn-pub: %s\n", err);
		return SNC_EXIT_ERROR;
	}
	st = snc_queue_stats(*q);
	owner = snc_queue_owner(*q);
	if (*owner != '\0' && strcmp(owner, o->client_id) != 0) {
		if (!o->id_given) {
			snprintf(o->id_buf, sizeof o->id_buf, "%s", owner);
			o->client_id = o->id_buf;
		} else if (st->in_flight_qos2 > 0) {
			fprintf(stderr, "sn-pub: warning: %llu QoS 2 message(s) in flight were sent "
			        "as client %s, not %s: the gateway may forward them twice\n",
			        (unsigned long long)st->in_flight_qos2, owner, o->client_id);
		}
	}
	if (o->debug && st->in_flight > 0)
		fprintf(stderr, "sn-pub: %llu message(s) in flight (%llu at QoS 2) resumed as %s\n",
		        (unsigned long long)st->in_flight, (unsigned long long)st->in_flight_qos2,
		        o->client_id);
	if (snc_queue_set_owner(*q, o->client_id) != SNC_OK) {
		fprintf(stderr, "sn-pub: queue: %s\n", snc_queue_errmsg(*q));
		return SNC_EXIT_ERROR;
	}
	return SNC_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct snc_config cfg;
	struct snc_udp udp;
	struct run r;
	char err[256];
	int ex = parse(argc, argv, &o);

	if (ex != SNC_EXIT_OK)
		return ex == HELPED ? SNC_EXIT_OK : ex;
	memset(&r, 0, sizeof r);
	r.o = &o;
	r.timeout_ms = (int)(o.timeout_s > 2000000 ? 2000000000 : o.timeout_s * 1000);
	if (o.queue_dir != NULL) {
		/* Into the queue first: what it then holds decides CleanSession. */
		ex = open_queue(&o, &r.q);
		if (ex == SNC_EXIT_OK)
			ex = each_message(&o, NULL, queue_one, &r);
		if (ex != SNC_EXIT_OK) {
			snc_queue_close(r.q);
			return ex;
		}
	}
	snc_config_defaults(&cfg);
	cfg.client_id = o.client_id;
	cfg.keep_alive_s = (uint16_t)o.keep_alive;
	/*
	 * The gateway keeps a QoS 2 message's state until PUBREL only in a kept
	 * session: without CleanSession while the queue holds any, so that the
	 * state outlives this run even if the gateway declares it lost first.
	 */
	cfg.clean_session = r.q == NULL || snc_queue_stats(r.q)->count_qos2 == 0;
	cfg.inflight_window = (uint32_t)o.window;
	cfg.retry_initial_ms = (uint32_t)o.rto_ms;
	if (cfg.retry_min_ms > cfg.retry_initial_ms)
		cfg.retry_min_ms = cfg.retry_initial_ms;
	cfg.max_msg = 65535;
	if (snc_udp_open(&udp, o.host, o.port, err, sizeof err) != SNC_OK) {
		fprintf(stderr, "sn-pub: %s\n", err);
		snc_queue_close(r.q);
		return SNC_EXIT_ERROR;
	}
	r.b = snc_blocking_new(&cfg, &udp.base);
	if (r.b == NULL) {
		fprintf(stderr, "sn-pub: out of memory\n");
		snc_queue_close(r.q);
		snc_udp_close(&udp);
		return SNC_EXIT_ERROR;
	}
	if (o.debug)
		snc_blocking_trace(r.b, snc_cli_trace, stderr);
	snc_blocking_interrupt(r.b, snc_cli_signals());
	if (o.will_topic != NULL &&
	    snc_set_will(snc_blocking_core(r.b), o.will_topic, strlen(o.will_topic),
	                 (const uint8_t *)o.will_payload, o.will_payload ? strlen(o.will_payload) : 0,
	                 (int)o.will_qos, o.will_retain) != SNC_OK)
		ex = SNC_EXIT_ERROR; /* out of memory: parse() checked the topic */
	else
		ex = run_all(&r);
	snc_queue_close(r.q);
	snc_blocking_free(r.b);
	snc_udp_close(&udp);
	return ex;
}
