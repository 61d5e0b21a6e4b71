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

#include "codec/mqttsn.h"
#include "sn-client/blocking.h"
#include "sn-client/cli.h"
#include "sn-client/clock.h"
#include "sn-client/feed.h"
#include "sn-client/lines.h"
#include "sn-client/queue.h"
#include "sn-client/tport.h"

static const char usage[] =
	"usage: sn-pub [options] (-t TOPIC | -T ID | --short XY) (-m MSG | -f FILE | -l | -s | -n)\n"
	"\n"
	"Publish to an MQTT-SN gateway over UDP or a serial line.\n"
	"\n"
	"  -h, --host HOST        gateway address (default 127.0.0.1)\n"
	"  -p, --port PORT        gateway UDP port (default 1884)\n"
	SNC_TPORT_USAGE;

/* In two parts: one string over 4095 octets is beyond what C11 promises. */
static const char usage_more[] =
	"  -t, --topic TOPIC      topic name (registered for an id)\n"
	"  -T, --predefined ID    predefined topic id, 1-65534\n"
	"      --short XY         two-character short topic name\n"
	"  -m, --message MSG      the message\n"
	"  -f, --file FILE        the file's contents as one message\n"
	"  -l, --lines            one message per line of standard input, each sent\n"
	"                         (with --queue: queued) as it arrives\n"
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
	"                         and publish from it: each is on disk before it\n"
	"                         is sent, and what is not acknowledged stays\n"
	"                         there for the next run, which finishes what was\n"
	"                         in flight with the same msg ids. With -l, lines\n"
	"                         are queued while the gateway is unreachable and\n"
	"                         sent once it answers (connecting again in the\n"
	"                         meantime). The client id is the queue's (its\n"
	"                         first run's) unless -i says otherwise, and QoS 2\n"
	"                         messages go without CleanSession, for exactly once\n"
	"      --priority N       queue priority, 0 (routine) - 3 (alarm)\n"
	"      --ttl SECS         queue time to live (default 0: none)\n"
	"      --timeout SECS     give up after SECS per step (default 60)\n"
	"      --rto MS           first retransmission timeout (default 10000)\n"
	"      --window N         QoS 1/2 PUBLISHes in flight at once, 1-1024\n"
	"                         (default 1: the specification's stop-and-wait;\n"
	"                         more needs a gateway that allows it; 32 with\n"
	"                         --frames, so that a frame fills in a round trip)\n"
	"  -d, --debug            print every packet sent and received (stderr)\n"
	"      --help             this text\n"
	"\n"
	"Exit status: 0 done; 1 refused by the gateway or another error;\n"
	"2 bad arguments; 3 timed out or the gateway stopped answering. With\n"
	"--queue, sn-pub waits for the gateway as long as there is input; once\n"
	"the input is over, --timeout is the longest wait without any message\n"
	"acknowledged (the messages left stay in the queue).\n";

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
	SNC_TPORT_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* parse() printed the help: exit 0 without doing anything. */
#define HELPED (-1)

struct opts {
	struct snc_tport_opts tport;
	const char *client_id, *queue_dir;
	struct snc_topic topic;
	int ntopics;
	char mode;            /* 'm', 'f', 'l', 's', 'n' */
	int nmodes;
	const char *message, *file;
	long qos, keep_alive, will_qos, priority, ttl, timeout_s, rto_ms, window;
	bool id_given, window_given;
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
	char why[160];
	long v;
	int c;

	memset(o, 0, sizeof *o);
	snc_tport_defaults(&o->tport);
	o->keep_alive = 60;
	o->timeout_s = 60;
	o->rto_ms = 10000;
	o->window = 1;
	while ((c = getopt_long(argc, argv, "h:p:t:T:m:f:lsnq:ri:k:d", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': o->tport.host = optarg; break;
		case 'p': o->tport.port = optarg; break;
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
			o->window_given = true;
			break;
		case OPT_HELP:
			fputs(usage, stdout);
			fputs(usage_more, stdout);
			return HELPED;
		default:
			switch (snc_tport_option(&o->tport, c, optarg, why, sizeof why)) {
			case 1: break;
			case 0: return SNC_EXIT_USAGE;
			default: return bad(why);
			}
			break;
		}
	}
	if (optind != argc)
		return bad("unexpected argument");
	if (o->ntopics != 1)
		return bad("give exactly one of -t, -T, --short");
	if (o->nmodes != 1)
		return bad("give exactly one of -m, -f, -l, -s, -n");
	if (snc_tport_check(&o->tport, why, sizeof why) != SNC_OK)
		return bad(why);
	if (o->tport.link.frames && !o->window_given)
		o->window = SNC_LINKOPT_WINDOW;
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

/* Says what went wrong reading standard input; returns the exit code. */
static int input_failed(int rc)
{
	if (rc == SNC_ERR_TOO_BIG)
		fprintf(stderr, "sn-pub: stdin: a line over %u octets\n", SNC_PAYLOAD_MAX);
	else
		fprintf(stderr, "sn-pub: stdin: %s\n", rc == SNC_ERR_IO ? strerror(errno) : snc_strerror(rc));
	return SNC_EXIT_ERROR;
}

/*
 * Calls fn(arg, line, len) for each line of standard input, as it comes.
 * While waiting for input, b (when not NULL) runs its loop, so that a
 * connection stays alive however slowly the lines come.
 */
static int each_line(struct snc_blocking *b, int (*fn)(void *arg, const uint8_t *p, size_t n),
                     void *arg)
{
	struct snc_lines in;
	int ex = SNC_EXIT_OK;

	snc_lines_init(&in, SNC_PAYLOAD_MAX);
	while (ex == SNC_EXIT_OK && !snc_lines_done(&in)) {
		const uint8_t *p;
		size_t n;
		int rc;

		if (snc_lines_next(&in, &p, &n)) {
			ex = fn(arg, p, n);
			continue;
		}
		if (b != NULL && (rc = snc_wait_fd(b, STDIN_FILENO, -1)) != SNC_OK) {
			ex = rc == SNC_ERR_INTERRUPTED ? SNC_EXIT_OK : snc_cli_exit_code(rc);
			if (rc != SNC_ERR_INTERRUPTED)
				fprintf(stderr, "sn-pub: waiting for input: %s\n", snc_strerror(rc));
			break;
		}
		rc = snc_lines_fill(&in, STDIN_FILENO);
		if (rc != SNC_OK)
			ex = input_failed(rc);
	}
	snc_lines_free(&in);
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
	/* --queue: the connection, kept up by stream() */
	uint32_t retry_max_ms;   /* the longest wait before connecting again */
	uint32_t backoff_ms;     /* the last such wait; 0 after a CONNACK */
	uint64_t retry_at;       /* connect again not before this (monotonic ms) */
	int refused;             /* a CONNACK's refusal not yet acted on; 0: none */
	bool full_said;          /* "queue full" said since the last push */
	bool queue_failed;       /* a push failed for another reason */
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

static void say_queue_error(struct run *r, int rc)
{
	fprintf(stderr, "sn-pub: queue: %s%s%s\n", snc_strerror(rc),
	        *snc_queue_errmsg(r->q) ? ": " : "", snc_queue_errmsg(r->q));
}

static int queue_one(void *arg, const uint8_t *p, size_t n)
{
	struct run *r = arg;
	struct snc_message m = message_of(r->o, p, n);
	int rc = snc_queue_push(r->q, &m, snc_clock_wall_ms(NULL));

	if (rc != SNC_OK) {
		say_queue_error(r, rc);
		return snc_cli_exit_code(rc);
	}
	return SNC_EXIT_OK;
}

/* ---------------------------------------------------------------- --queue */

/* Lines into the queue per turn of the loop, at most: a file read in one
 * go must not hold up keep-alive and acknowledgements for its fsyncs. */
#define LINES_PER_TURN 64u

/* The next wait before connecting again: from the RTO, doubling. */
static void back_off(struct run *r)
{
	uint64_t next = r->backoff_ms == 0 ? snc_rto(snc_blocking_core(r->b))
	                                   : (uint64_t)r->backoff_ms * 2;

	r->backoff_ms = next > r->retry_max_ms ? r->retry_max_ms : (uint32_t)next;
	r->retry_at = snc_clock_mono_ms() + r->backoff_ms;
}

static void on_event(void *arg, const struct snc_event *ev)
{
	struct run *r = arg;

	switch (ev->type) {
	case SNC_EV_PUBLISHED:
		if (ev->from_source && ev->rc > 0)
			fprintf(stderr, "sn-pub: queued message %llu refused by the gateway "
			        "(return code %d)\n", (unsigned long long)ev->seq, ev->rc);
		break;
	case SNC_EV_CONNECTED:
		if (ev->rc == 0)
			r->backoff_ms = 0;
		else
			r->refused = ev->rc;
		break;
	case SNC_EV_DISCONNECTED:
		/* The gateway ended the connection: again, but not at once, in
		 * case it ends the next one too. */
		if (ev->rc == SNC_ERR_CLOSED)
			back_off(r);
		break;
	case SNC_EV_GATEWAY_LOST:
		if (r->o->debug)
			fprintf(stderr, "sn-pub: the gateway stopped answering: connecting again "
			        "(%zu message(s) in the queue)\n", snc_queue_count(r->q));
		break;
	default:
		break;
	}
}

/*
 * Pushes up to `most` of the whole lines read so far into the queue, each
 * on disk before the core hears of it. When the queue is full the line
 * stays in the reader (and what follows in the pipe) until a message
 * leaves; any other failure ends the run. Returns -1 to go on, or an exit
 * code.
 */
static int queue_lines(struct run *r, struct snc_lines *in, unsigned most)
{
	const uint8_t *p;
	size_t n;

	for (; most > 0 && snc_lines_peek(in, &p, &n); most--) {
		struct snc_message m = message_of(r->o, p, n);
		int rc = snc_queue_push(r->q, &m, snc_clock_wall_ms(NULL));

		if (rc == SNC_ERR_FULL) {
			if (!r->full_said)
				fprintf(stderr, "sn-pub: the queue is full (%zu messages): input waits "
				        "until one leaves\n", snc_queue_count(r->q));
			r->full_said = true;
			return -1;
		}
		if (rc != SNC_OK) {
			say_queue_error(r, rc);
			r->queue_failed = true;
			return snc_cli_exit_code(rc);
		}
		snc_lines_take(in);
		r->full_said = false;
		if (r->o->debug)
			fprintf(stderr, "sn-pub: queued message %llu (%zu octets), %zu in the queue\n",
			        (unsigned long long)m.seq, n, snc_queue_count(r->q));
	}
	return -1;
}

/* The connection, looked after once a turn; returns -1, or an exit code. */
static int keep_connected(struct run *r, uint64_t now)
{
	struct snc *c = snc_blocking_core(r->b);
	enum snc_state st = snc_state(c);

	if (r->refused != 0) {
		int rc = r->refused;

		r->refused = 0;
		if (rc != MQTTSN_RC_CONGESTION) {
			fprintf(stderr, "sn-pub: connect: refused by the gateway (return code %d)\n", rc);
			return SNC_EXIT_ERROR;
		}
		back_off(r);
	}
	/* Lost: at once (the RTO has backed off already, and CONNECT goes on
	 * backing off); after a DISCONNECT or a congestion, once the wait is over. */
	if ((st == SNC_STATE_LOST || st == SNC_STATE_DISCONNECTED) && now >= r->retry_at &&
	    snc_connect_start(c, now) != SNC_OK)
		return SNC_EXIT_ERROR; /* not from these states */
	return -1;
}

/*
 * --queue: one loop over standard input (with -l) and the gateway. Lines
 * go into the queue as they arrive, the core drains it meanwhile (the
 * window as configured) and the connection is made, and made again, in
 * the background: a station keeps measuring while its link is down. Once
 * the input is at its end the run finishes when the queue is empty, or
 * gives up when --timeout passes without any message acknowledged (3);
 * what is left stays on disk for the next run.
 */
static int stream(struct run *r, bool lines)
{
	struct snc *c = snc_blocking_core(r->b);
	const struct snc_queue_stats *st = snc_queue_stats(r->q);
	struct snc_feed feed;
	struct snc_lines in;
	uint64_t acked = st->delivered + st->refused;
	uint64_t quiet_since = snc_clock_mono_ms();
	bool input_open = lines;
	int ex = -1, rc;

	snc_lines_init(&in, SNC_PAYLOAD_MAX);
	snc_feed_init(&feed, r->q, snc_clock_wall_ms, NULL);
	snc_set_source(c, snc_feed_source(), &feed);
	snc_blocking_on_event(r->b, on_event, r);
	if (snc_connect_start(c, snc_clock_mono_ms()) != SNC_OK)
		ex = SNC_EXIT_ERROR; /* a new core is disconnected */
	while (ex < 0) {
		bool ready = false, waiting_line;
		uint64_t now;
		int wait = -1;

		ex = queue_lines(r, &in, LINES_PER_TURN);
		if (ex >= 0)
			break;
		now = snc_clock_mono_ms();
		if (st->delivered + st->refused != acked) {
			acked = st->delivered + st->refused;
			quiet_since = now;
		}
		waiting_line = snc_lines_ready(&in);
		if (!input_open) {
			if (!waiting_line && snc_queue_count(r->q) == 0 && snc_pending(c) == 0 &&
			    snc_state(c) == SNC_STATE_ACTIVE) {
				ex = SNC_EXIT_OK;
				break;
			}
			if (now - quiet_since >= (uint64_t)r->timeout_ms) {
				ex = fail(r, snc_state(c) == SNC_STATE_ACTIVE ? "queue" : "connect",
				          SNC_ERR_TIMEOUT);
				break;
			}
			wait = (int)(quiet_since + (uint64_t)r->timeout_ms - now);
		}
		ex = keep_connected(r, now);
		if (ex >= 0)
			break;
		if (r->retry_at > now && (wait < 0 || r->retry_at - now < (uint64_t)wait))
			wait = (int)(r->retry_at - now);
		/* A line still to queue (and room for it): the next turn at once;
		 * a full queue waits for the gateway, the input for more. */
		if (waiting_line && !r->full_said)
			wait = 0;
		rc = snc_blocking_poll(r->b, input_open && !waiting_line ? STDIN_FILENO : -1, wait,
		                       &ready);
		if (rc == SNC_ERR_INTERRUPTED) {
			ex = snc_queue_count(r->q) == 0 ? SNC_EXIT_OK : fail(r, "queue", rc);
			break;
		}
		if (rc != SNC_OK) {
			ex = fail(r, "poll", rc);
			break;
		}
		if (ready && (rc = snc_lines_fill(&in, STDIN_FILENO)) != SNC_OK)
			ex = input_failed(rc);
		if (input_open && in.eof) {
			/* The end of the input starts the clock of --timeout (lines
			 * read before it may still wait for room in the queue). */
			input_open = false;
			quiet_since = snc_clock_mono_ms();
		}
	}
	/* Whole lines already read are the writer's trust: queued if they fit. */
	if (!r->queue_failed)
		(void)queue_lines(r, &in, UINT32_MAX);
	if (snc_lines_ready(&in))
		fprintf(stderr, "sn-pub: stdin: line(s) read but not queued\n");
	snc_lines_free(&in);
	snc_set_source(c, NULL, NULL);
	if (feed.last_err != SNC_OK)
		say_queue_error(r, feed.last_err);
	if (snc_state(c) == SNC_STATE_ACTIVE) {
		rc = snc_disconnect(r->b, r->timeout_ms);
		if (ex == SNC_EXIT_OK && rc != SNC_OK)
			ex = fail(r, "disconnect", rc);
	}
	if (snc_queue_count(r->q) != 0)
		fprintf(stderr, "sn-pub: %zu message(s) kept in the queue for the next run\n",
		        snc_queue_count(r->q));
	return ex;
}

/* ---------------------------------------------------------------- main */

static int run_all(struct run *r)
{
	const struct opts *o = r->o;
	int rc, ex;

	if (r->q != NULL)
		return stream(r, o->mode == 'l');
	/* 6.8: QoS -1 goes without a connection. */
	if (o->qos == -1)
		return each_message(o, r->b, publish_one, r);
	rc = snc_connect(r->b, r->timeout_ms);
	if (rc != SNC_OK)
		return fail(r, "connect", rc);
	ex = each_message(o, r->b, publish_one, r);
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
	struct snc_tport tp;
	struct run r;
	char err[256];
	int ex = parse(argc, argv, &o);

	if (ex != SNC_EXIT_OK)
		return ex == HELPED ? SNC_EXIT_OK : ex;
	memset(&r, 0, sizeof r);
	r.o = &o;
	r.timeout_ms = (int)(o.timeout_s > 2000000 ? 2000000000 : o.timeout_s * 1000);
	if (o.queue_dir != NULL) {
		/* One message goes into the queue before anything else; lines as
		 * they come (stream()). */
		ex = open_queue(&o, &r.q);
		if (ex == SNC_EXIT_OK && o.mode != 'l')
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
	 * session: without CleanSession while the queue holds any, or this run
	 * may put some in, so that the state outlives this run even if the
	 * gateway declares it lost first.
	 */
	cfg.clean_session = r.q == NULL || (snc_queue_stats(r.q)->count_qos2 == 0 && o.qos != 2);
	/* With a queue the station does not give up on the gateway while it
	 * has input: CONNECT goes on (backing off), --timeout ends the wait
	 * only once the input is over. */
	if (r.q != NULL)
		cfg.connect_retry_count = 0;
	cfg.inflight_window = (uint32_t)o.window;
	/* room for the window and a few requests beside it */
	if (cfg.max_requests < cfg.inflight_window + 8u)
		cfg.max_requests = cfg.inflight_window + 8u;
	cfg.retry_slack_ms = snc_linkopt_retry_slack_ms(&o.tport.link);
	cfg.retry_initial_ms = (uint32_t)o.rto_ms;
	if (cfg.retry_min_ms > cfg.retry_initial_ms)
		cfg.retry_min_ms = cfg.retry_initial_ms;
	cfg.max_msg = 65535;
	r.retry_max_ms = cfg.retry_max_ms;
	o.tport.client_id = o.client_id; /* the queue's, when it named one */
	if (snc_tport_open(&tp, &o.tport, err, sizeof err) != SNC_OK) {
		fprintf(stderr, "sn-pub: %s\n", err);
		snc_queue_close(r.q);
		return SNC_EXIT_ERROR;
	}
	r.b = snc_blocking_new(&cfg, tp.t);
	if (r.b == NULL) {
		fprintf(stderr, "sn-pub: out of memory\n");
		snc_queue_close(r.q);
		snc_tport_close(&tp);
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
	snc_tport_close(&tp);
	return ex;
}
