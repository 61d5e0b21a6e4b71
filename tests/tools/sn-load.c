/*
 * sn-load.c - load generator for the bridge benchmark (scripts/bench-bridge.sh).
 *
 *   sn-load pub [options]       publish, count at a subscriber on the broker
 *   sn-load connect [options]   connect many clients, report the bridge's RSS
 *
 * pub: N clients publish to "snl/<pid>/c<i>", either as MQTT-SN clients
 * over UDP through the bridge (-g HOST:PORT; CONNECT, REGISTER, then
 * PUBLISH with the topic id) or, without -g, as MQTT clients (libmosquitto)
 * straight to the broker: the ceiling. A libmosquitto subscriber in the same
 * process, subscribed with the run's QoS, counts what arrives. Each payload
 * carries the CLOCK_MONOTONIC time it was sent, the client and a sequence
 * number, so the subscriber also gives the latency (one process, one
 * clock) and spots duplicates. Flow control: QoS 1 is stop-and-wait per
 * client (one PUBLISH outstanding, 6.6); for both QoS at most -w messages
 * are sent and not yet at the subscriber, so that a run measures what the
 * path sustains, not what a socket buffer or the broker's queue toward the
 * subscriber drops; -r paces the total rate instead (light load). A run
 * stops after -m messages or -t seconds, whichever comes first, then waits
 * up to 3 s for the stragglers, and prints one line of key=value pairs.
 *
 * connect: N MQTT-SN clients connect to the bridge (at most -W CONNECTs
 * awaiting CONNACK and at most -R a second). At each count of -c the
 * bridge's VmRSS and open descriptors are printed; then its CPU time is
 * sampled over -H seconds of idling (utime + stime, and the finer
 * /proc/PID/schedstat); then every client disconnects (bounded to 20 s).
 * Each client has its own UDP socket bound to its own loopback address
 * (127.1.x.y), or with -F K, K clients share one socket as nodes behind a
 * forwarder (0xFE, wireless node ids of 2 octets, 5.5): more clients than
 * file descriptors.
 *
 * Options:
 *   -b HOST:PORT   the MQTT broker (default 127.0.0.1:1883)
 *   -g HOST:PORT   the bridge's MQTT-SN UDP address (IPv4, numeric)
 *   -n N           clients (default 1)
 *   -q QOS         0 or 1 (default 0)
 *   -m N           messages in all (default 100000)
 *   -t S           seconds at most (default 5)
 *   -r RATE        messages a second in all; 0: as fast as flow control
 *                  lets (default 0)
 *   -w N           messages sent and not yet at the subscriber, at most
 *                  (default 1024)
 *   -N             TCP_NODELAY on the MQTT connections (default: Nagle on,
 *                  libmosquitto's default, as in sn-bridge's connections)
 *   -s N           payload octets, 16-1024 (default 32)
 *   -p PID         the bridge: CPU time per message, RSS
 *   -P PID         the broker: CPU time per message
 *   -k S           keep-alive in CONNECT (default 3600: no PINGREQ needed)
 *   -c N,N...      connect: counts at which to report the RSS (default -n)
 *   -F K           connect: clients per UDP socket (default 1)
 *   -W N           CONNECTs in flight at most (default 64)
 *   -R RATE        CONNECTs a second at most (default 20000)
 *   -H S           connect: seconds of idling measured (default 2)
 *   -T S           deadline of each setup phase (default 60)
 *   -A             pub, QoS 1 via the bridge: also the PUBACK latency as the
 *                  station sees it (first send to PUBACK, retransmissions
 *                  included): ack_p50_us, ack_p99_us, ack_max_us, when the
 *                  largest came (ack_max_at_s, from the first send) and how
 *                  many took over 1, 10 and 100 ms
 *
 * Exit status: 0 when the run was measured (even with losses: they are
 * reported), 1 when it could not be (no broker, no bridge, setup timed
 * out), 2 for a usage error.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "codec/mqttsn.h"

#define NS 1000000000ull
#define MS 1000000ull
#define HDR_LEN 16u           /* payload: time (8), client (4), sequence (4) */
#define PAYLOAD_MAX 1024u
#define DGRAM_MAX 2048u
#define MAX_CHECKPOINTS 8u
#define EVENTS 256
#define RX_PER_WAKE 64        /* datagrams read from one socket per wake-up */
#define READS_PER_WAKE 256    /* MQTT packets read from one connection per wake-up */
#define SCAN_NS (100 * MS)    /* how often requests are checked for time-outs */
#define SN_RETRY_NS (2 * NS)  /* MQTT-SN request retransmitted after this */
#define SN_TRIES 3u           /* and given up after this many sends */
#define MQTT_WAIT_NS (5 * NS) /* direct QoS 1: PUBACK given up after this */
#define STALL_NS (200 * MS)   /* no arrival this long writes off what is in flight */
#define DRAIN_NS (3 * NS)     /* after the last send: wait at most this for arrivals */
#define QUIET_NS (500 * MS)   /* ... or until nothing arrived this long */
#define SETTLE_NS (500 * MS)  /* connect: quiet time before reading the RSS */
#define TAG_MOSQ (1ull << 62) /* epoll tag of a libmosquitto connection */
#define MQTT_KEEPALIVE 60

/* ---------------------------------------------------------------- state */

/* Where a client is in its exchanges with the bridge (or broker). */
enum step {
	S_NEW = 0,
	S_CONNECTING,
	S_CONNECTED,
	S_REGISTERING,
	S_READY,
	S_PUBLISHING,   /* QoS 1 PUBLISH awaiting PUBACK */
	S_DISCONNECTING,
	S_DONE,
	S_FAILED,
};

struct client {
	uint64_t sent_ns;       /* when the request in flight was (first) sent */
	uint64_t pub_ns;        /* the time in the payload of the PUBLISH in flight */
	uint32_t seq;           /* next sequence number to send */
	uint32_t rx_next;       /* subscriber: the next sequence number expected */
	uint32_t mq;            /* direct: index into load.mq */
	uint16_t msg_id;        /* of the request in flight (direct: libmosquitto's mid) */
	uint16_t topic_id;
	uint8_t step;           /* enum step */
	uint8_t tries;
};

/* One libmosquitto connection: the subscriber (index 0) or a direct client. */
struct mq {
	struct mosquitto *m;
	int fd;
	bool out;               /* EPOLLOUT registered */
	bool up;                /* CONNACK accepted */
	bool ready;             /* subscriber: SUBACK received */
	bool dead;
	uint32_t client;        /* direct client index; UINT32_MAX: the subscriber */
};

/* Counters of one run. */
struct counts {
	uint64_t sent, acked, refused, timeouts, received, dups, unexpected, send_errors;
	uint64_t connected, conn_refused, conn_failed, disconnected;
};

struct load {
	/* options */
	bool connect_mode;
	char broker_host[64];
	int broker_port;
	bool via_bridge;
	bool nodelay;
	struct sockaddr_in gw;
	uint32_t n;
	int qos;
	uint64_t messages;
	double seconds;
	double rate;
	uint32_t window;
	size_t size;
	int bridge_pid, broker_pid;
	uint16_t keepalive;
	uint32_t checkpoints[MAX_CHECKPOINTS];
	size_t ncheck;
	uint32_t per;
	uint32_t conn_window;
	double conn_rate;
	double hold;
	double setup_s;

	/* state */
	int ep;
	struct client *c;
	int *fds;
	uint32_t nsock;
	struct mq *mq;
	uint32_t nmq;
	uint32_t req_inflight;  /* requests of the current phase awaiting their reply */
	uint32_t *ready;        /* QoS 1: ring of client indices that may publish */
	uint32_t ready_head, ready_len;
	uint64_t outstanding_base; /* sent messages written off after a stall */
	uint64_t first_send_ns, last_rx_ns;
	uint32_t *lat;          /* subscriber: latencies in ns */
	size_t nlat, lat_cap;
	bool ack_lat;           /* -A */
	uint32_t *alat;         /* PUBACK latencies in ns */
	size_t nalat;
	uint64_t ack_max_ns, ack_max_at_ns, ack_over[3];
	char prefix[32];
	struct counts k;
	uint64_t next_misc_ns;
};

static struct load L;

/* ---------------------------------------------------------------- helpers */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void die_oom(void)
{
	fprintf(stderr, "sn-load: out of memory\n");
	exit(1);
}

static void *alloc_zero(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (p == NULL)
		die_oom();
	return p;
}

/* utime + stime of pid in microseconds; -1 when it cannot be read. */
static int64_t proc_cpu_us(int pid)
{
	char path[64], buf[1024];
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* The command name may hold spaces: fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	unsigned long long ut = 0, st = 0;
	/* fields 3 .. 13 skipped, then utime (14) and stime (15) */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	long tck = sysconf(_SC_CLK_TCK);
	if (tck <= 0)
		return -1;
	return (int64_t)((ut + st) * 1000000ull / (unsigned long long)tck);
}

/*
 * Time on CPU of pid's main thread in nanoseconds, from /proc/PID/schedstat
 * (finer than the 10 ms ticks of /proc/PID/stat; sn-bridge has one thread).
 */
static int64_t proc_sched_ns(int pid)
{
	char path[64];
	unsigned long long ns;
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	int n = fscanf(f, "%llu", &ns);
	fclose(f);
	return n == 1 ? (int64_t)ns : -1;
}

/* CPU time of this process (user + system) in microseconds. */
static int64_t self_cpu_us(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
	       (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
}

/* VmRSS of pid in kB; -1 when it cannot be read. */
static long proc_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* Open file descriptors of pid; -1 when they cannot be listed. */
static long proc_fds(int pid)
{
	char path[64];
	long n = 0;
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static int parse_hostport(const char *s, char *host, size_t cap, int *port)
{
	const char *colon = strrchr(s, ':');
	if (colon == NULL || (size_t)(colon - s) >= cap || colon == s)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* ---------------------------------------------------------------- epoll */

static void ep_add(int fd, uint64_t tag, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag};
	if (epoll_ctl(L.ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		fprintf(stderr, "sn-load: epoll_ctl: %s\n", strerror(errno));
		exit(1);
	}
}

/* ---------------------------------------------------------------- MQTT-SN side */

static struct client *client_of(uint32_t sock, const struct mqttsn_bytes *node)
{
	uint32_t idx;
	if (L.per == 1) {
		if (node->len != 0)
			return NULL;
		idx = sock;
	} else {
		if (node->len != 2)
			return NULL;
		idx = sock * L.per + ((uint32_t)node->ptr[0] << 8 | node->ptr[1]);
	}
	return idx < L.n ? &L.c[idx] : NULL;
}

/* Encode m for client i (wrapped in 0xFE when its socket is shared) and send it. */
static int sn_send(uint32_t i, const struct mqttsn_msg *m)
{
	uint8_t inner[DGRAM_MAX], wire[DGRAM_MAX + 32];
	int len = mqttsn_encode(inner, sizeof inner, m);
	if (len < 0) {
		fprintf(stderr, "sn-load: encode: %s\n", mqttsn_strerror(len));
		exit(1);
	}
	const uint8_t *out = inner;
	size_t out_len = (size_t)len;
	if (L.per > 1) {
		uint8_t node[2] = {(uint8_t)((i % L.per) >> 8), (uint8_t)(i % L.per)};
		struct mqttsn_msg e;
		memset(&e, 0, sizeof e);
		e.type = MQTTSN_ENCAPSULATED;
		e.u.encap.ctrl = 1;
		e.u.encap.node_id.ptr = node;
		e.u.encap.node_id.len = sizeof node;
		e.u.encap.inner.ptr = inner;
		e.u.encap.inner.len = (size_t)len;
		int w = mqttsn_encode(wire, sizeof wire, &e);
		if (w < 0) {
			fprintf(stderr, "sn-load: encode 0xFE: %s\n", mqttsn_strerror(w));
			exit(1);
		}
		out = wire;
		out_len = (size_t)w;
	}
	if (sendto(L.fds[i / L.per], out, out_len, MSG_DONTWAIT, (const struct sockaddr *)&L.gw,
	           sizeof L.gw) < 0) {
		L.k.send_errors++;
		return -1;
	}
	return 0;
}

static void client_id(uint32_t i, char *out, size_t cap, char kind)
{
	snprintf(out, cap, "l%c%d-%" PRIu32, kind, (int)getpid(), i);
}

static void topic_of(uint32_t i, char *out, size_t cap)
{
	snprintf(out, cap, "%s/c%" PRIu32, L.prefix, i);
}

static int send_connect(uint32_t i)
{
	char id[MQTTSN_CLIENT_ID_MAX + 1];
	client_id(i, id, sizeof id, 's');
	struct mqttsn_msg m;
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_CONNECT;
	m.u.connect.flags.clean_session = true;
	m.u.connect.protocol_id = MQTTSN_PROTOCOL_ID;
	m.u.connect.duration = L.keepalive;
	m.u.connect.client_id.ptr = (const uint8_t *)id;
	m.u.connect.client_id.len = strlen(id);
	return sn_send(i, &m);
}

static int send_register(uint32_t i)
{
	char topic[64];
	topic_of(i, topic, sizeof topic);
	struct mqttsn_msg m;
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_REGISTER;
	m.u.reg.topic_id = 0;
	m.u.reg.msg_id = L.c[i].msg_id;
	m.u.reg.topic_name.ptr = (const uint8_t *)topic;
	m.u.reg.topic_name.len = strlen(topic);
	return sn_send(i, &m);
}

static int send_disconnect(uint32_t i)
{
	struct mqttsn_msg m;
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_DISCONNECT;
	return sn_send(i, &m);
}

static void payload_fill(uint8_t *p, uint64_t t, uint32_t client, uint32_t seq)
{
	put_u32(p, (uint32_t)(t >> 32));
	put_u32(p + 4, (uint32_t)t);
	put_u32(p + 8, client);
	put_u32(p + 12, seq);
	memset(p + HDR_LEN, 'x', L.size - HDR_LEN);
}

static int sn_publish(uint32_t i, bool dup)
{
	struct client *c = &L.c[i];
	uint8_t payload[PAYLOAD_MAX];
	payload_fill(payload, c->pub_ns, i, c->seq);
	struct mqttsn_msg m;
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_PUBLISH;
	m.u.publish.flags.qos = L.qos;
	m.u.publish.flags.dup = dup;
	m.u.publish.flags.topic_id_type = MQTTSN_TOPIC_NORMAL;
	m.u.publish.topic_id = c->topic_id;
	m.u.publish.msg_id = L.qos > 0 ? c->msg_id : 0;
	m.u.publish.data.ptr = payload;
	m.u.publish.data.len = L.size;
	return sn_send(i, &m);
}

static void ready_push(uint32_t i)
{
	L.ready[(L.ready_head + L.ready_len) % L.n] = i;
	L.ready_len++;
}

static void request_done(struct client *c, uint8_t step)
{
	c->step = step;
	if (L.req_inflight > 0)
		L.req_inflight--;
}

static void publish_done(struct client *c, bool ok)
{
	if (ok)
		L.k.acked++;
	else
		L.k.refused++;
	c->step = S_READY;
	c->seq++;
	ready_push((uint32_t)(c - L.c));
}

/* -A: one PUBACK latency d, of the PUBLISH first sent at sent. */
static void ack_record(uint64_t d, uint64_t sent)
{
	static const uint64_t over[3] = {1 * MS, 10 * MS, 100 * MS};
	if (L.nalat < L.lat_cap)
		L.alat[L.nalat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	if (d > L.ack_max_ns) {
		L.ack_max_ns = d;
		L.ack_max_at_ns = sent;
	}
	for (size_t k = 0; k < 3; k++)
		L.ack_over[k] += d > over[k];
}

static void sn_handle(uint32_t sock, const uint8_t *buf, size_t len)
{
	struct mqttsn_msg m, inner;
	static const struct mqttsn_bytes none = {NULL, 0};
	if (mqttsn_decode(buf, len, &m) != MQTTSN_OK) {
		L.k.unexpected++;
		return;
	}
	const struct mqttsn_bytes *node = &none;
	if (m.type == MQTTSN_ENCAPSULATED) {
		node = &m.u.encap.node_id;
		if (mqttsn_decode(m.u.encap.inner.ptr, m.u.encap.inner.len, &inner) != MQTTSN_OK) {
			L.k.unexpected++;
			return;
		}
	} else {
		inner = m;
	}
	struct client *c = client_of(sock, node);
	if (c == NULL) {
		L.k.unexpected++;
		return;
	}
	switch (inner.type) {
	case MQTTSN_CONNACK:
		if (c->step != S_CONNECTING)
			break;
		if (inner.u.rc == MQTTSN_RC_ACCEPTED) {
			L.k.connected++;
			request_done(c, S_CONNECTED);
		} else {
			L.k.conn_refused++;
			request_done(c, S_FAILED);
		}
		return;
	case MQTTSN_REGACK:
		if (c->step != S_REGISTERING || inner.u.regack.msg_id != c->msg_id)
			break;
		if (inner.u.regack.rc == MQTTSN_RC_ACCEPTED) {
			c->topic_id = inner.u.regack.topic_id;
			request_done(c, S_READY);
		} else {
			L.k.conn_refused++;
			request_done(c, S_FAILED);
		}
		return;
	case MQTTSN_PUBACK:
		if (c->step == S_PUBLISHING && inner.u.puback.msg_id == c->msg_id) {
			if (L.ack_lat)
				ack_record(now_ns() - c->sent_ns, c->sent_ns);
			publish_done(c, inner.u.puback.rc == MQTTSN_RC_ACCEPTED);
			return;
		}
		if (L.qos == 0 && inner.u.puback.rc != MQTTSN_RC_ACCEPTED) {
			L.k.refused++; /* a QoS 0 PUBLISH refused (e.g. invalid topic id) */
			return;
		}
		break;
	case MQTTSN_DISCONNECT:
		if (c->step != S_DISCONNECTING)
			break;
		L.k.disconnected++;
		request_done(c, S_DONE);
		return;
	default:
		break;
	}
	L.k.unexpected++;
}

static void sn_readable(uint32_t sock)
{
	uint8_t buf[DGRAM_MAX];
	for (int r = 0; r < RX_PER_WAKE; r++) {
		ssize_t n = recv(L.fds[sock], buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0)
			return;
		sn_handle(sock, buf, (size_t)n);
	}
}

/* Sockets for the n clients, each bound to its own loopback address. */
static int sn_open(void)
{
	L.gw.sin_family = AF_INET;
	L.nsock = (L.n + L.per - 1) / L.per;
	L.fds = alloc_zero(L.nsock, sizeof *L.fds);
	for (uint32_t s = 0; s < L.nsock; s++) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0) {
			fprintf(stderr, "sn-load: socket %" PRIu32 " of %" PRIu32 ": %s\n", s, L.nsock,
			        strerror(errno));
			return -1;
		}
		struct sockaddr_in a;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		/* 127.1.0.1 .. : loopback on Linux without configuration */
		a.sin_addr.s_addr = htonl(0x7f010000u + (s / 250u) * 256u + s % 250u + 1u);
		if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
			fprintf(stderr, "sn-load: bind 127.1.x.y: %s\n", strerror(errno));
			close(fd);
			return -1;
		}
		L.fds[s] = fd;
		ep_add(fd, s, EPOLLIN);
	}
	return 0;
}

/* ---------------------------------------------------------------- MQTT side */

static void mq_sync(struct mq *q)
{
	if (q->dead || q->m == NULL || q->fd < 0)
		return;
	bool want = mosquitto_want_write(q->m);
	if (want == q->out)
		return;
	struct epoll_event ev = {.events = EPOLLIN | (want ? (uint32_t)EPOLLOUT : 0u),
	                         .data.u64 = TAG_MOSQ | (uint64_t)(q - L.mq)};
	if (epoll_ctl(L.ep, EPOLL_CTL_MOD, q->fd, &ev) == 0)
		q->out = want;
}

static void mq_lost(struct mq *q, int rc)
{
	if (q->dead)
		return;
	q->dead = true;
	if (q->fd >= 0)
		epoll_ctl(L.ep, EPOLL_CTL_DEL, q->fd, NULL);
	if (q->client == UINT32_MAX) {
		fprintf(stderr, "sn-load: subscriber connection lost: %s\n", mosquitto_strerror(rc));
	} else {
		struct client *c = &L.c[q->client];
		if (c->step == S_PUBLISHING)
			L.k.timeouts++;
		c->step = S_FAILED;
		L.k.conn_failed++;
	}
}

static void mq_event(uint32_t idx, uint32_t events)
{
	struct mq *q = &L.mq[idx];
	int rc = MOSQ_ERR_SUCCESS;
	if (q->dead)
		return;
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		/* libmosquitto reads one packet a call and keeps no read-ahead:
		 * go on while the kernel holds more (bounded). */
		for (int r = 0; r < READS_PER_WAKE && rc == MOSQ_ERR_SUCCESS; r++) {
			rc = mosquitto_loop_read(q->m, 1);
			int avail = 0;
			if (ioctl(q->fd, FIONREAD, &avail) != 0 || avail <= 0)
				break;
		}
	}
	if (rc == MOSQ_ERR_SUCCESS && (events & EPOLLOUT))
		rc = mosquitto_loop_write(q->m, 1);
	if (rc != MOSQ_ERR_SUCCESS) {
		mq_lost(q, rc);
		return;
	}
	mq_sync(q);
}

static void mq_misc(uint64_t now)
{
	if (now < L.next_misc_ns)
		return;
	L.next_misc_ns = now + NS;
	for (uint32_t i = 0; i < L.nmq; i++) {
		if (L.mq[i].dead || L.mq[i].m == NULL)
			continue;
		mosquitto_loop_misc(L.mq[i].m);
		mq_sync(&L.mq[i]);
	}
}

static void record(uint64_t now, const uint8_t *p, size_t len)
{
	if (len < HDR_LEN) {
		L.k.unexpected++;
		return;
	}
	uint64_t t = (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
	uint32_t client = get_u32(p + 8), seq = get_u32(p + 12);
	if (client >= L.n) {
		L.k.unexpected++;
		return;
	}
	struct client *c = &L.c[client];
	if (seq < c->rx_next) {
		L.k.dups++;     /* a retransmission that also arrived, or late */
		return;
	}
	c->rx_next = seq + 1;
	L.k.received++;
	L.last_rx_ns = now;
	if (L.nlat < L.lat_cap && now >= t) {
		uint64_t d = now - t;
		L.lat[L.nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	}
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	(void)m;
	(void)obj;
	record(now_ns(), msg->payload, msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct mq *q = obj;
	if (rc != 0) {
		fprintf(stderr, "sn-load: broker refused the connection: %s\n",
		        mosquitto_connack_string(rc));
		q->dead = true;
		return;
	}
	q->up = true;
	if (q->client == UINT32_MAX) {
		char filter[64];
		snprintf(filter, sizeof filter, "%s/#", L.prefix);
		if (mosquitto_subscribe(m, NULL, filter, L.qos) != MOSQ_ERR_SUCCESS)
			q->dead = true;
	} else {
		L.k.connected++;
		L.c[q->client].step = S_READY;
	}
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	(void)m;
	(void)mid;
	struct mq *q = obj;
	if (n >= 1 && granted[0] <= 2)
		q->ready = true;
	else
		q->dead = true;
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m;
	struct mq *q = obj;
	if (q->client == UINT32_MAX)
		return;
	struct client *c = &L.c[q->client];
	if (c->step == S_PUBLISHING && (uint16_t)mid == c->msg_id)
		publish_done(c, true);
}

/* Connection idx of load.mq: the subscriber (client UINT32_MAX) or a direct client. */
static int mq_open(uint32_t idx, uint32_t client)
{
	char id[MQTTSN_CLIENT_ID_MAX + 1];
	struct mq *q = &L.mq[idx];
	q->client = client;
	q->fd = -1;
	if (client == UINT32_MAX)
		snprintf(id, sizeof id, "ll%d-sub", (int)getpid());
	else
		client_id(client, id, sizeof id, 'd');
	q->m = mosquitto_new(id, true, q);
	if (q->m == NULL)
		die_oom();
	mosquitto_connect_callback_set(q->m, on_connect);
	mosquitto_message_callback_set(q->m, on_message);
	mosquitto_subscribe_callback_set(q->m, on_subscribe);
	mosquitto_publish_callback_set(q->m, on_publish);
	if (L.nodelay)
		mosquitto_int_option(q->m, MOSQ_OPT_TCP_NODELAY, 1);
	int rc = mosquitto_connect(q->m, L.broker_host, L.broker_port, MQTT_KEEPALIVE);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "sn-load: connect to %s:%d: %s\n", L.broker_host, L.broker_port,
		        rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		q->dead = true;
		return -1;
	}
	q->fd = mosquitto_socket(q->m);
	ep_add(q->fd, TAG_MOSQ | idx, EPOLLIN);
	mq_sync(q);
	return 0;
}

static int mq_publish(uint32_t i)
{
	struct client *c = &L.c[i];
	struct mq *q = &L.mq[c->mq];
	uint8_t payload[PAYLOAD_MAX];
	char topic[64];
	int mid = 0;
	if (q->dead)
		return -1;
	topic_of(i, topic, sizeof topic);
	payload_fill(payload, c->pub_ns, i, c->seq);
	int rc = mosquitto_publish(q->m, &mid, topic, (int)L.size, payload, L.qos, false);
	if (rc != MOSQ_ERR_SUCCESS) {
		L.k.send_errors++;
		if (rc != MOSQ_ERR_OVERSIZE_PACKET && rc != MOSQ_ERR_NOMEM)
			mq_lost(q, rc);
		return -1;
	}
	c->msg_id = (uint16_t)mid;
	mq_sync(q);
	return 0;
}

/* ---------------------------------------------------------------- the loop */

/* Wait up to timeout_ms for events and handle them. */
static void serve(int timeout_ms)
{
	struct epoll_event ev[EVENTS];
	int n = epoll_wait(L.ep, ev, EVENTS, timeout_ms);
	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;
		if (tag & TAG_MOSQ)
			mq_event((uint32_t)(tag & ~TAG_MOSQ), ev[i].events);
		else
			sn_readable((uint32_t)tag);
	}
	mq_misc(now_ns());
}

/* One request per client in [lo, hi): CONNECT, REGISTER or DISCONNECT. */
enum req { R_CONNECT, R_REGISTER, R_DISCONNECT };

static int req_send(enum req r, uint32_t i)
{
	switch (r) {
	case R_CONNECT: return send_connect(i);
	case R_REGISTER: return send_register(i);
	case R_DISCONNECT: return send_disconnect(i);
	}
	return -1;
}

/*
 * Move the clients of [lo, hi) that are at `from` through request r, at
 * most conn_window in flight and conn_rate a second, retransmitting after
 * SN_RETRY_NS, until all are answered or the deadline. Returns the seconds
 * it took.
 */
static double phase(enum req r, uint32_t lo, uint32_t hi, uint64_t deadline)
{
	static const uint8_t from[] = {S_NEW, S_CONNECTED, S_READY};
	static const uint8_t awaiting[] = {S_CONNECTING, S_REGISTERING, S_DISCONNECTING};
	uint64_t t0 = now_ns(), next_scan = t0 + SCAN_NS, started = 0;
	uint32_t cursor = lo;
	L.req_inflight = 0;
	for (;;) {
		uint64_t now = now_ns();
		if (now >= deadline)
			break;
		double allowed = L.conn_rate > 0 ? L.conn_rate * (double)(now - t0) / 1e9 + 1 : 1e18;
		while (cursor < hi && L.req_inflight < L.conn_window && (double)started < allowed) {
			struct client *c = &L.c[cursor];
			if (c->step == from[r]) {
				c->msg_id = (uint16_t)(c->msg_id + 1u);
				if (c->msg_id == 0)
					c->msg_id = 1;
				c->step = awaiting[r];
				c->tries = 1;
				c->sent_ns = now;
				L.req_inflight++;
				started++;
				req_send(r, cursor);
			}
			cursor++;
		}
		if (cursor >= hi && L.req_inflight == 0)
			break;
		if (now >= next_scan) {
			next_scan = now + SCAN_NS;
			for (uint32_t i = lo; i < cursor; i++) {
				struct client *c = &L.c[i];
				if (c->step != awaiting[r] || now - c->sent_ns < SN_RETRY_NS * c->tries)
					continue;
				if (c->tries >= SN_TRIES) {
					L.k.conn_failed++;
					request_done(c, S_FAILED);
					continue;
				}
				c->tries++;
				req_send(r, i);
			}
		}
		serve(1);
	}
	for (uint32_t i = lo; i < hi; i++) {
		if (L.c[i].step == awaiting[r]) {
			L.c[i].step = S_FAILED;
			L.k.conn_failed++;
		}
	}
	return (double)(now_ns() - t0) / 1e9;
}

static bool subscriber_ready(void)
{
	return L.mq[0].ready && !L.mq[0].dead;
}

/* Serve events until cond() holds or the deadline; returns cond(). */
static bool serve_until(bool (*cond)(void), uint64_t deadline)
{
	while (!cond()) {
		if (now_ns() >= deadline)
			return false;
		serve(5);
	}
	return true;
}

static bool direct_all_up(void)
{
	for (uint32_t i = 1; i < L.nmq; i++) {
		if (!L.mq[i].up && !L.mq[i].dead)
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------- pub */

static int send_one(uint32_t i, uint64_t now)
{
	struct client *c = &L.c[i];
	c->pub_ns = now;
	if (L.qos > 0) {
		if (!L.via_bridge) {
			c->step = S_PUBLISHING;
			c->sent_ns = now;
			if (mq_publish(i) != 0) {
				c->step = S_READY;
				return -1;
			}
			return 0;
		}
		c->msg_id = (uint16_t)(c->msg_id + 1u);
		if (c->msg_id == 0)
			c->msg_id = 1;
		c->step = S_PUBLISHING;
		c->sent_ns = now;
		c->tries = 1;
		sn_publish(i, false); /* a failed send is retried like a lost one */
		return 0;
	}
	int rc = L.via_bridge ? sn_publish(i, false) : mq_publish(i);
	if (rc == 0)
		c->seq++;
	return rc;
}

static void retry_scan(uint64_t now)
{
	for (uint32_t i = 0; i < L.n; i++) {
		struct client *c = &L.c[i];
		if (c->step != S_PUBLISHING)
			continue;
		if (!L.via_bridge) {
			if (now - c->sent_ns >= MQTT_WAIT_NS) {
				L.k.timeouts++;
				c->step = S_READY;
				c->seq++;
				ready_push(i);
			}
			continue;
		}
		if (now - c->sent_ns < SN_RETRY_NS * c->tries)
			continue;
		if (c->tries >= SN_TRIES) {
			L.k.timeouts++;
			c->step = S_READY;
			c->seq++;
			ready_push(i);
			continue;
		}
		c->tries++;
		sn_publish(i, true);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The p-quantile of n sorted latencies v (ns), in µs; -1 when none. */
static double quantile_us(const uint32_t *v, size_t n, double p)
{
	if (n == 0)
		return -1;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return (double)v[i] / 1e3;
}

static double percentile_us(double p)
{
	return quantile_us(L.lat, L.nlat, p);
}

static int run_pub(void)
{
	uint64_t setup_deadline = now_ns() + (uint64_t)(L.setup_s * 1e9);
	L.nmq = 1 + (L.via_bridge ? 0 : L.n);
	L.mq = alloc_zero(L.nmq, sizeof *L.mq);
	L.ready = alloc_zero(L.n, sizeof *L.ready);
	L.lat_cap = L.messages < 4000000 ? (size_t)L.messages : 4000000;
	L.lat = alloc_zero(L.lat_cap, sizeof *L.lat);
	if (L.ack_lat)
		L.alat = alloc_zero(L.lat_cap, sizeof *L.alat);

	if (mq_open(0, UINT32_MAX) != 0)
		return 1;
	if (!serve_until(subscriber_ready, setup_deadline)) {
		fprintf(stderr, "sn-load: the subscriber was not subscribed in time\n");
		return 1;
	}
	if (L.via_bridge) {
		if (sn_open() != 0)
			return 1;
		phase(R_CONNECT, 0, L.n, setup_deadline);
		phase(R_REGISTER, 0, L.n, setup_deadline);
	} else {
		for (uint32_t i = 0; i < L.n; i++) {
			L.c[i].mq = i + 1;
			if (mq_open(i + 1, i) != 0)
				return 1;
		}
		serve_until(direct_all_up, setup_deadline);
	}
	uint32_t usable = 0;
	for (uint32_t i = 0; i < L.n; i++) {
		if (L.c[i].step == S_READY) {
			usable++;
			ready_push(i);
		}
	}
	if (usable == 0) {
		fprintf(stderr, "sn-load: no client got connected (connected %" PRIu64
		        ", refused %" PRIu64 ", failed %" PRIu64 ")\n",
		        L.k.connected, L.k.conn_refused, L.k.conn_failed);
		return 1;
	}

	int64_t bcpu0 = proc_cpu_us(L.bridge_pid), kcpu0 = proc_cpu_us(L.broker_pid);
	int64_t gcpu0 = self_cpu_us();
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(L.seconds * 1e9), next_scan = t0 + SCAN_NS;
	uint64_t last_progress = t0, last_received = 0;
	uint32_t rr = 0;
	L.first_send_ns = t0;
	L.last_rx_ns = t0;
	while (L.k.sent < L.messages) {
		uint64_t now = now_ns();
		if (now >= end)
			break;
		/* how many may leave now */
		uint64_t allow = L.messages - L.k.sent;
		if (L.rate > 0) {
			double due = L.rate * (double)(now - t0) / 1e9 + 1;
			uint64_t d = (uint64_t)due;
			allow = d > L.k.sent ? d - L.k.sent : 0;
		}
		/* End to end, both QoS: at most window sent but not yet at the
		 * subscriber, or the broker's queue toward it is what is measured. */
		if (L.k.received != last_received) {
			last_received = L.k.received;
			last_progress = now;
		}
		uint64_t gone = L.k.received + L.outstanding_base;
		uint64_t inflight = L.k.sent > gone ? L.k.sent - gone : 0;
		if (inflight > 0 && now - last_progress >= STALL_NS) {
			L.outstanding_base += inflight; /* written off: counted as lost at the end */
			inflight = 0;
			last_progress = now;
		}
		uint64_t room = inflight < L.window ? L.window - inflight : 0;
		if (allow > room)
			allow = room;
		if (L.qos == 0) {
			if (allow > 64)
				allow = 64; /* a bounded burst, then look at the sockets */
			for (uint64_t s = 0; s < allow; s++) {
				for (uint32_t tries = 0; tries < L.n; tries++) {
					uint32_t i = rr++ % L.n;
					if (L.c[i].step != S_READY)
						continue;
					if (send_one(i, now) == 0)
						L.k.sent++;
					break;
				}
			}
		} else {
			while (allow > 0 && L.ready_len > 0) {
				uint32_t i = L.ready[L.ready_head];
				L.ready_head = (L.ready_head + 1) % L.n;
				L.ready_len--;
				if (L.c[i].step != S_READY)
					continue;
				if (send_one(i, now) == 0) {
					L.k.sent++;
					allow--;
				} else if (L.c[i].step == S_READY) {
					ready_push(i);
					break;
				}
			}
			if (now >= next_scan) {
				next_scan = now + SCAN_NS;
				retry_scan(now);
			}
		}
		/* Sleep only when nothing may be sent now. */
		int timeout = 0;
		if (allow == 0 || (L.qos > 0 && L.ready_len == 0))
			timeout = 1;
		serve(timeout);
	}
	/* Drain: the last answers and arrivals, bounded. */
	uint64_t stop = now_ns(), drain_end = stop + DRAIN_NS;
	for (;;) {
		uint64_t now = now_ns();
		bool waiting = false;
		for (uint32_t i = 0; i < L.n && !waiting; i++)
			waiting = L.c[i].step == S_PUBLISHING;
		if (!waiting && L.k.received >= L.k.sent)
			break;
		if (now >= drain_end || (!waiting && now - L.last_rx_ns >= QUIET_NS))
			break;
		if (L.qos > 0 && now >= next_scan) {
			next_scan = now + SCAN_NS;
			retry_scan(now);
		}
		serve(1);
	}
	int64_t bcpu1 = proc_cpu_us(L.bridge_pid), kcpu1 = proc_cpu_us(L.broker_pid);
	int64_t gcpu1 = self_cpu_us();
	long rss = proc_rss_kb(L.bridge_pid);

	double secs = (double)(L.last_rx_ns - L.first_send_ns) / 1e9;
	double send_secs = (double)(stop - t0) / 1e9;
	qsort(L.lat, L.nlat, sizeof *L.lat, cmp_u32);
	printf("path=%s qos=%d clients=%" PRIu32 " usable=%" PRIu32 " size=%zu rate=%.0f"
	       " sent=%" PRIu64 " acked=%" PRIu64 " refused=%" PRIu64 " timeouts=%" PRIu64
	       " received=%" PRIu64 " dups=%" PRIu64 " lost=%" PRIu64 " send_errors=%" PRIu64
	       " unexpected=%" PRIu64 " send_s=%.3f seconds=%.3f msgs_per_s=%.0f"
	       " lat_p50_us=%.1f lat_p99_us=%.1f lat_max_us=%.1f",
	       L.via_bridge ? "bridge" : "direct", L.qos, L.n, usable, L.size, L.rate, L.k.sent,
	       L.k.acked, L.k.refused, L.k.timeouts, L.k.received, L.k.dups,
	       L.k.sent > L.k.received ? L.k.sent - L.k.received : 0, L.k.send_errors,
	       L.k.unexpected, send_secs, secs, secs > 0 ? (double)L.k.received / secs : 0,
	       percentile_us(0.5), percentile_us(0.99), percentile_us(1.0));
	if (bcpu0 >= 0 && bcpu1 >= 0 && L.k.received > 0)
		printf(" bridge_cpu_us=%" PRId64 " bridge_cpu_us_per_msg=%.2f bridge_rss_kb=%ld",
		       bcpu1 - bcpu0, (double)(bcpu1 - bcpu0) / (double)L.k.received, rss);
	if (kcpu0 >= 0 && kcpu1 >= 0 && L.k.received > 0)
		printf(" broker_cpu_us=%" PRId64 " broker_cpu_us_per_msg=%.2f", kcpu1 - kcpu0,
		       (double)(kcpu1 - kcpu0) / (double)L.k.received);
	if (L.k.received > 0)
		printf(" load_cpu_us_per_msg=%.2f", (double)(gcpu1 - gcpu0) / (double)L.k.received);
	if (L.ack_lat) {
		qsort(L.alat, L.nalat, sizeof *L.alat, cmp_u32);
		printf(" acks=%zu ack_p50_us=%.1f ack_p99_us=%.1f ack_max_us=%.1f ack_max_at_s=%.3f"
		       " ack_over_1ms=%" PRIu64 " ack_over_10ms=%" PRIu64 " ack_over_100ms=%" PRIu64,
		       L.nalat, quantile_us(L.alat, L.nalat, 0.5), quantile_us(L.alat, L.nalat, 0.99),
		       quantile_us(L.alat, L.nalat, 1.0),
		       L.nalat ? (double)(L.ack_max_at_ns - t0) / 1e9 : -1.0, L.ack_over[0],
		       L.ack_over[1], L.ack_over[2]);
	}
	printf("\n");
	fflush(stdout);

	/* Leave politely (bounded): DISCONNECT through the bridge, or MQTT. */
	if (L.via_bridge) {
		for (uint32_t i = 0; i < L.n; i++) {
			if (L.c[i].step == S_PUBLISHING)
				L.c[i].step = S_READY;
		}
		phase(R_DISCONNECT, 0, L.n, now_ns() + 5 * NS);
	}
	for (uint32_t i = 0; i < L.nmq; i++) {
		if (!L.mq[i].dead && L.mq[i].m != NULL)
			mosquitto_disconnect(L.mq[i].m);
	}
	return 0;
}

/* ---------------------------------------------------------------- connect */

static int run_connect(void)
{
	if (sn_open() != 0)
		return 1;
	uint32_t lo = 0;
	double total_s = 0;
	for (size_t k = 0; k < L.ncheck; k++) {
		uint32_t hi = L.checkpoints[k];
		double s = phase(R_CONNECT, lo, hi, now_ns() + (uint64_t)(L.setup_s * 1e9));
		total_s += s;
		if (L.k.connected == 0) {
			fprintf(stderr, "sn-load: no client connected (refused %" PRIu64
			        ", no answer %" PRIu64 ")\n", L.k.conn_refused, L.k.conn_failed);
			return 1;
		}
		/* let the bridge settle before reading its RSS */
		uint64_t settle = now_ns() + SETTLE_NS;
		while (now_ns() < settle)
			serve(10);
		long rss = proc_rss_kb(L.bridge_pid);
		printf("checkpoint clients=%" PRIu32 " connected=%" PRIu64 " refused=%" PRIu64
		       " failed=%" PRIu64 " connect_s=%.2f connects_per_s=%.0f rss_kb=%ld fds=%ld\n",
		       hi, L.k.connected, L.k.conn_refused, L.k.conn_failed, s,
		       s > 0 ? (double)(hi - lo) / s : 0, rss, proc_fds(L.bridge_pid));
		fflush(stdout);
		lo = hi;
	}
	int64_t cpu0 = proc_cpu_us(L.bridge_pid), sched0 = proc_sched_ns(L.bridge_pid);
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(L.hold * 1e9);
	while (now_ns() < end)
		serve(50);
	int64_t cpu1 = proc_cpu_us(L.bridge_pid), sched1 = proc_sched_ns(L.bridge_pid);
	double held = (double)(now_ns() - t0) / 1e9;
	printf("idle clients=%" PRIu64 " seconds=%.2f bridge_cpu_pct=%.2f bridge_sched_pct=%.3f"
	       " rss_kb=%ld unexpected=%" PRIu64 "\n",
	       L.k.connected, held,
	       cpu0 >= 0 && cpu1 >= 0 ? (double)(cpu1 - cpu0) / 1e4 / held : -1.0,
	       sched0 >= 0 && sched1 >= 0 ? (double)(sched1 - sched0) / 1e7 / held : -1.0,
	       proc_rss_kb(L.bridge_pid), L.k.unexpected);
	fflush(stdout);
	for (uint32_t i = 0; i < L.n; i++) {
		if (L.c[i].step == S_CONNECTED)
			L.c[i].step = S_READY;
	}
	uint64_t before = L.k.conn_failed;
	double s = phase(R_DISCONNECT, 0, L.n, now_ns() + 20 * NS);
	printf("disconnect clients=%" PRIu64 " failed=%" PRIu64 " seconds=%.2f sockets=%" PRIu32
	       " per_socket=%" PRIu32 " connect_s=%.2f\n",
	       L.k.disconnected, L.k.conn_failed - before, s, L.nsock, L.per, total_s);
	return L.k.connected > 0 ? 0 : 1;
}

/* ---------------------------------------------------------------- main */

static int usage(void)
{
	fprintf(stderr,
	        "usage: sn-load pub|connect [-b HOST:PORT] [-g HOST:PORT] [-n N] [-q 0|1] [-m N]\n"
	        "               [-t S] [-r RATE] [-w N] [-s N] [-p PID] [-P PID] [-k S]\n"
	        "               [-c N,N...] [-F K] [-W N] [-R RATE] [-H S] [-T S] [-N] [-A]\n");
	return 2;
}

static int parse_checkpoints(char *s)
{
	L.ncheck = 0;
	for (char *tok = strtok(s, ","); tok != NULL; tok = strtok(NULL, ",")) {
		double v;
		if (L.ncheck == MAX_CHECKPOINTS || parse_num(tok, 1, 1e7, &v) != 0)
			return -1;
		L.checkpoints[L.ncheck++] = (uint32_t)v;
	}
	return L.ncheck > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "connect") == 0)
		L.connect_mode = true;
	else if (strcmp(argv[1], "pub") != 0)
		return usage();
	snprintf(L.broker_host, sizeof L.broker_host, "127.0.0.1");
	L.broker_port = 1883;
	L.n = 1;
	L.messages = 100000;
	L.seconds = 5;
	L.window = 1024;
	L.size = 32;
	L.keepalive = 3600;
	L.per = 1;
	L.conn_window = 64;
	L.conn_rate = 20000;
	L.hold = 2;
	L.setup_s = 60;
	char *checkpoints = NULL;

	int opt;
	double v;
	optind = 2;
	while ((opt = getopt(argc, argv, "b:g:n:q:m:t:r:w:s:p:P:k:c:F:W:R:H:T:NA")) != -1) {
		int bad = 0;
		char host[64];
		int port;
		switch (opt) {
		case 'b':
			bad = parse_hostport(optarg, L.broker_host, sizeof L.broker_host, &L.broker_port);
			break;
		case 'g':
			bad = parse_hostport(optarg, host, sizeof host, &port) ||
			      inet_pton(AF_INET, host, &L.gw.sin_addr) != 1;
			L.gw.sin_port = htons((uint16_t)port);
			L.via_bridge = true;
			break;
		case 'n': bad = parse_num(optarg, 1, 1e7, &v); L.n = (uint32_t)v; break;
		case 'q': bad = parse_num(optarg, 0, 1, &v); L.qos = (int)v; break;
		case 'm': bad = parse_num(optarg, 1, 1e12, &v); L.messages = (uint64_t)v; break;
		case 't': bad = parse_num(optarg, 0.1, 3600, &L.seconds); break;
		case 'r': bad = parse_num(optarg, 0, 1e8, &L.rate); break;
		case 'w': bad = parse_num(optarg, 1, 1e6, &v); L.window = (uint32_t)v; break;
		case 's': bad = parse_num(optarg, HDR_LEN, PAYLOAD_MAX, &v); L.size = (size_t)v; break;
		case 'p': bad = parse_num(optarg, 1, 1e9, &v); L.bridge_pid = (int)v; break;
		case 'P': bad = parse_num(optarg, 1, 1e9, &v); L.broker_pid = (int)v; break;
		case 'k': bad = parse_num(optarg, 1, 65535, &v); L.keepalive = (uint16_t)v; break;
		case 'c': checkpoints = optarg; break;
		case 'F': bad = parse_num(optarg, 1, 65536, &v); L.per = (uint32_t)v; break;
		case 'W': bad = parse_num(optarg, 1, 1e6, &v); L.conn_window = (uint32_t)v; break;
		case 'R': bad = parse_num(optarg, 0, 1e8, &L.conn_rate); break;
		case 'H': bad = parse_num(optarg, 0, 3600, &L.hold); break;
		case 'T': bad = parse_num(optarg, 1, 3600, &L.setup_s); break;
		case 'N': L.nodelay = true; break;
		case 'A': L.ack_lat = true; break;
		default: return usage();
		}
		if (bad) {
			fprintf(stderr, "sn-load: bad value for -%c: %s\n", opt, optarg);
			return 2;
		}
	}
	if (optind != argc)
		return usage();
	if (L.connect_mode) {
		if (!L.via_bridge) {
			fprintf(stderr, "sn-load: connect needs the bridge (-g)\n");
			return 2;
		}
		if (checkpoints != NULL) {
			if (parse_checkpoints(checkpoints) != 0) {
				fprintf(stderr, "sn-load: bad -c: counts, comma-separated\n");
				return 2;
			}
		} else {
			L.checkpoints[0] = L.n;
			L.ncheck = 1;
		}
		for (size_t k = 0; k < L.ncheck; k++) {
			if (L.checkpoints[k] > L.n || (k > 0 && L.checkpoints[k] <= L.checkpoints[k - 1])) {
				fprintf(stderr, "sn-load: -c counts must rise and stay within -n\n");
				return 2;
			}
		}
	} else if (L.per != 1) {
		fprintf(stderr, "sn-load: -F is for connect\n");
		return 2;
	} else if (L.ack_lat && (L.qos != 1 || !L.via_bridge)) {
		fprintf(stderr, "sn-load: -A is for QoS 1 through the bridge (-q 1 -g)\n");
		return 2;
	}

	snprintf(L.prefix, sizeof L.prefix, "snl/%d", (int)getpid());
	L.c = alloc_zero(L.n, sizeof *L.c);
	L.ep = epoll_create1(EPOLL_CLOEXEC);
	if (L.ep < 0) {
		fprintf(stderr, "sn-load: epoll_create1: %s\n", strerror(errno));
		return 1;
	}
	mosquitto_lib_init();
	int rc = L.connect_mode ? run_connect() : run_pub();
	for (uint32_t i = 0; i < L.nmq; i++) {
		if (L.mq[i].m != NULL)
			mosquitto_destroy(L.mq[i].m);
	}
	mosquitto_lib_cleanup();
	return rc;
}
