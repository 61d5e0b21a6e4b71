/*
 * broker_custody.c - the custody drainer's broker connection (broker.h,
 * gw_broker_custody_open): one lasting session the drainer publishes on,
 * and what libmosquitto gives no call for: the PUBREC and PUBCOMP it
 * receives, taken from its log, and a PUBREL sent alone.
 *
 * Why a connection of its own rather than the core's shared one: the
 * drainer needs a lasting session (a QoS 2 message whose PUBREL is resent
 * after a reconnect, or after a restart of the bridge, must still be held
 * by the broker), while the shared connection must start clean after
 * every drop (the aggregating mode subscribes again and would otherwise
 * find stale subscriptions), and its acknowledgements must not pass
 * through the core's token map.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bridge/broker_int.h"

struct brk_custody {
	const struct gw_broker_custody_events *ev;
	void *arg;
	struct conn *wipe;   /* TLS only: the clean connection, until its CONNACK */
	struct conn *conn;   /* the lasting one */
};

/* ---------------------------------------------------------------- events */

static void on_publish_v5(struct mosquitto *mosq, void *obj, int mid, int reason,
                          const mosquitto_property *props)
{
	struct conn *c = obj;
	struct brk_custody *k = c->b->custody;
	(void)mosq;
	(void)props;
	if (k != NULL && c == k->conn && !c->closed)
		k->ev->acked(k->arg, (uint32_t)mid, reason);
}

/* The lasting connection, queued behind whatever has its client id. 0 or -1. */
static int open_lasting(struct gw_broker *b, struct brk_custody *k, const char *client_id)
{
	struct conn *n = brk_conn_new(b, 0, ROLE_CUSTODY, client_id, false, b->cfg.keepalive_s);
	if (n == NULL)
		return -1;
	mosquitto_publish_v5_callback_set(n->mosq, on_publish_v5);
	if (brk_queue_join(b, n) != 0) {
		gw_log(GW_LOG_ERR, "broker: out of memory");
		brk_conn_destroy(n);
		return -1;
	}
	/* recorded before it starts: a failure at once reports against it */
	k->conn = n;
	if (brk_conn_begin(n) < 0)
		brk_conn_down(n, n->last_error, n->last_errno, NULL);
	return 0;
}

void brk_custody_connected(struct conn *c, bool session_present)
{
	struct gw_broker *b = c->b;
	struct brk_custody *k = b->custody;
	if (k == NULL || c->closed)
		return;
	if (c == k->wipe) {
		/* The old session is gone: end this one too and start the lasting
		 * one, which waits in the client id's queue until this is closed. */
		gw_log(GW_LOG_INFO, "broker custody (%s): earlier session ended; opening the lasting one",
		       c->client_id);
		k->wipe = NULL;
		brk_conn_close(c, false);
		(void)open_lasting(b, k, c->client_id);
		return;
	}
	if (c == k->conn)
		k->ev->connected(k->arg, session_present);
}

void brk_custody_lost(struct conn *c)
{
	struct brk_custody *k = c->b->custody;
	if (k != NULL && c == k->conn)
		k->ev->lost(k->arg);
}

void brk_custody_free(struct gw_broker *b)
{
	free(b->custody);
	b->custody = NULL;
}

/* ---------------------------------------------------------------- libmosquitto's log */

/* Consumes the literal lit at *p. */
static bool take(const char **p, const char *lit)
{
	size_t n = strlen(lit);
	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* Consumes a decimal number of 1-5 digits no larger than max. */
static bool number(const char **p, unsigned max, unsigned *out)
{
	unsigned v = 0;
	int n = 0;
	for (; (*p)[0] >= '0' && (*p)[0] <= '9'; (*p)++) {
		if (++n > 5)
			return false;
		v = v * 10u + (unsigned)((*p)[0] - '0');
	}
	if (n == 0 || v > max)
		return false;
	*out = v;
	return true;
}

/*
 * libmosquitto 2.0 logs, at debug and synchronously inside its handler,
 * before it acts on the packet:
 *   "Client <id> received PUBREC (Mid: <mid>)"          (handle__pubrec)
 *   "Client <id> received PUBCOMP (Mid: <mid>, RC:<rc>)" (handle__pubackcomp)
 * Only exactly those shapes count; anything else (another version's
 * wording among them) is ignored, and the drainer then does without
 * (custody.h says what that costs).
 */
enum brk_line brk_custody_parse(const char *line, const char *client_id, uint16_t *mid, int *rc)
{
	const char *p = line;
	unsigned m, r;
	if (line == NULL || client_id == NULL || !take(&p, "Client ") || !take(&p, client_id) ||
	    !take(&p, " received "))
		return BRK_LINE_OTHER;
	if (take(&p, "PUBREC (Mid: ")) {
		if (!number(&p, UINT16_MAX, &m) || m == 0 || strcmp(p, ")") != 0)
			return BRK_LINE_OTHER;
		*mid = (uint16_t)m;
		*rc = 0;
		return BRK_LINE_PUBREC;
	}
	if (!take(&p, "PUBCOMP (Mid: ") || !number(&p, UINT16_MAX, &m) || m == 0 ||
	    !take(&p, ", RC:") || !number(&p, 255, &r) || strcmp(p, ")") != 0)
		return BRK_LINE_OTHER;
	*mid = (uint16_t)m;
	*rc = (int)r;
	return BRK_LINE_PUBCOMP;
}

void brk_custody_log(struct conn *c, const char *line)
{
	struct brk_custody *k = c->b->custody;
	uint16_t mid = 0;
	int rc = 0;
	if (k == NULL || c != k->conn || c->closed)
		return;
	switch (brk_custody_parse(line, c->client_id, &mid, &rc)) {
	case BRK_LINE_PUBREC:
		if (k->ev->received != NULL)
			k->ev->received(k->arg, mid);
		break;
	case BRK_LINE_PUBCOMP:
		if (k->ev->completed != NULL)
			k->ev->completed(k->arg, mid, rc);
		break;
	case BRK_LINE_OTHER:
		break;
	}
}

/* ---------------------------------------------------------------- the api */

int gw_broker_custody_open(struct gw_broker *b, const char *client_id,
                           const struct gw_broker_custody_events *ev, void *arg)
{
	if (b->custody != NULL)
		return -1;
	struct brk_custody *k = calloc(1, sizeof *k);
	if (k == NULL)
		return -1;
	k->ev = ev;
	k->arg = arg;
	b->custody = k;
	if (!b->tls)
		return open_lasting(b, k, client_id);
	/*
	 * Under TLS no PUBREL can be sent alone (broker.h): the session an
	 * earlier run left is ended first, so that its QoS 2 packet ids cannot
	 * collide with the new run's, which libmosquitto numbers from 1 again.
	 */
	gw_log(GW_LOG_INFO, "broker custody (%s): TLS: ending the earlier session first; a QoS 2 "
	       "message in flight when the bridge was killed may reach subscribers twice",
	       client_id);
	return brk_bridge_conn_open(b, ROLE_CUSTODY, client_id, &k->wipe);
}

bool gw_broker_custody_up(const struct gw_broker *b)
{
	return b->custody != NULL && b->custody->conn != NULL && b->custody->conn->state == C_UP;
}

bool gw_broker_custody_lone_pubrel(const struct gw_broker *b)
{
	return !b->tls;
}

/* Shut the socket: libmosquitto sees the connection end and it is made again. */
static void drop(struct conn *c, const char *why)
{
	int fd = mosquitto_socket(c->mosq);
	gw_log(GW_LOG_DEBUG, "broker custody (%s): dropping the connection: %s", c->client_id, why);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

void gw_broker_custody_drop(struct gw_broker *b)
{
	if (b->custody != NULL && b->custody->conn != NULL && brk_conn_live(b->custody->conn))
		drop(b->custody->conn, "asked by the drainer");
}

int gw_broker_custody_release(struct gw_broker *b, const uint16_t *mids, size_t n)
{
	uint8_t buf[4u * GW_BROKER_RELEASE_MAX];
	if (!gw_broker_custody_up(b) || b->tls || n == 0 || n > GW_BROKER_RELEASE_MAX)
		return -1;
	struct conn *c = b->custody->conn;
	int fd = mosquitto_socket(c->mosq);
	if (fd < 0)
		return -1;
	/* Bytes of ours must not land in the middle of a packet of libmosquitto's. */
	if (mosquitto_want_write(c->mosq)) {
		drop(c, "libmosquitto has a packet part-way out; the PUBRELs go on the next connection");
		return -1;
	}
	/* MQTT 3.1.1 3.6: type 6, flags 0010, remaining length 2, packet id.
	 * MQTT 5 3.6.2.1: reason 0 without properties may be left out. */
	for (size_t i = 0; i < n; i++) {
		buf[4 * i] = 0x62;
		buf[4 * i + 1] = 0x02;
		buf[4 * i + 2] = (uint8_t)(mids[i] >> 8);
		buf[4 * i + 3] = (uint8_t)mids[i];
	}
	/* A fresh connection's send buffer takes GW_BROKER_RELEASE_MAX PUBRELs
	 * (1 KiB) whole; a short write would cut a packet, so it ends the
	 * connection rather than be finished later. */
	ssize_t w = send(fd, buf, 4 * n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w != (ssize_t)(4 * n)) {
		drop(c, w < 0 ? strerror(errno) : "short write of the PUBRELs");
		return -1;
	}
	return 0;
}

int gw_broker_custody_publish(struct gw_broker *b, const char *topic, size_t topic_len,
                              const uint8_t *payload, size_t len, int qos, bool retain,
                              uint32_t expiry_s, const struct gw_broker_prop *props, size_t n,
                              uint32_t *token)
{
	if (!gw_broker_custody_up(b) || len > INT_MAX || memchr(topic, '\0', topic_len) != NULL)
		return -1;
	struct conn *c = b->custody->conn;
	char stack[TOPIC_STACK];
	char *t = topic_len < sizeof stack ? stack : malloc(topic_len + 1);
	if (t == NULL)
		return -1;
	memcpy(t, topic, topic_len);
	t[topic_len] = '\0';
	mosquitto_property *list = NULL;
	int rc = MOSQ_ERR_SUCCESS;
	if (b->protocol == MQTT_PROTOCOL_V5) {
		if (expiry_s > 0)
			rc = mosquitto_property_add_int32(&list, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, expiry_s);
		for (size_t i = 0; i < n && rc == MOSQ_ERR_SUCCESS; i++)
			rc = mosquitto_property_add_string_pair(&list, MQTT_PROP_USER_PROPERTY, props[i].name,
			                                        props[i].value);
	}
	int mid = 0;
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_publish_v5(c->mosq, &mid, t, (int)len, payload, qos, retain, list);
	int err = errno;
	mosquitto_property_free_all(&list);
	if (t != stack)
		free(t);
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NOMEM && mid != 0) {
		/*
		 * libmosquitto gives the packet id only once the message passed its
		 * checks, and queues a QoS 1/2 message before it writes it: this is
		 * the write failing (the broker went away). The message stays
		 * queued and goes out after the reconnect, so it is in flight, not
		 * refused; the connection is down.
		 */
		gw_log(GW_LOG_DEBUG, "broker custody: publish: %s; queued for after the reconnect",
		       rc == MOSQ_ERR_ERRNO ? strerror(err) : mosquitto_strerror(rc));
		*token = (uint32_t)mid;
		brk_conn_failed(c, rc, err);
		return 0;
	}
	brk_conn_sync(c);
	if (rc != MOSQ_ERR_SUCCESS) {
		errno = err;
		gw_log(GW_LOG_DEBUG, "broker custody: publish: %s", brk_mosq_error(rc));
		return -1;
	}
	*token = (uint32_t)mid;
	return 0;
}
