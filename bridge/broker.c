/*
 * broker.c - the broker adapter over libmosquitto, in the daemon's loop:
 * its life, and the gw_ops half the core calls (open, close, publish,
 * subscribe) with the callbacks that report back to it. The rest is in
 * broker_conn.c, broker_end.c, broker_order.c and broker_reason.c
 * (broker_int.h says which does what).
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge/broker_int.h"

/* ---------------------------------------------------------------- open and close */

int gw_broker_open(struct gw_broker *b, uint32_t id, const struct gw_broker_session *s)
{
	if (brk_conn_find(b, id) != NULL) {
		gw_log(GW_LOG_ERR, "broker conn %u: opened twice", id);
		return -1;
	}
	bool shared = id == GW_CONN_AGGREGATE;
	const char *client_id = s->client_id;
	uint16_t keepalive = shared ? b->cfg.keepalive_s : s->keep_alive_s;
	if (brk_queue_full(b, id, client_id))
		return -1;
	struct conn *c = brk_conn_new(b, id, ROLE_CORE, client_id, s->clean_session, keepalive);
	if (c == NULL)
		return -1;
	if (s->has_will) {
		if (s->will_len > INT_MAX) {
			brk_conn_destroy(c);
			return -1;
		}
		int rc = mosquitto_will_set(c->mosq, s->will_topic, (int)s->will_len, s->will_payload,
		                            s->will_qos, s->will_retain);
		if (rc != MOSQ_ERR_SUCCESS) {
			gw_log(GW_LOG_WARN, "broker conn %u (%s): Will refused: %s", id, client_id,
			       brk_mosq_error(rc));
			brk_conn_destroy(c);
			return -1;
		}
	}
	if (brk_table_insert(b, c) != 0 || brk_queue_join(b, c) != 0) {
		gw_log(GW_LOG_ERR, "broker: out of memory");
		brk_conn_destroy(c);
		return -1;
	}
	gw_log(GW_LOG_DEBUG, "broker conn %u (%s): connecting (clean %d, keep-alive %u s, Will %d)%s",
	       id, client_id, s->clean_session, c->keepalive_s, s->has_will,
	       brk_queue_first(c) ? "" : " once the earlier one with this client id is closed");
	int r = brk_conn_begin(c);
	if (r >= 0)
		return 0;
	/*
	 * Failed at once. The core is on the stack: the shared connection's
	 * failure is handled from the loop like any later one (reported, then
	 * retried with back-off); a client's is the return value.
	 */
	if (shared) {
		c->fail_later = true;
		brk_arm(c, 0);
		return 0;
	}
	char why[WHY_MAX];
	uint32_t cause = brk_describe(c, c->last_error, c->last_errno, true, why, sizeof why);
	brk_conn_warn(c, cause, "connect failed: %s", why);
	brk_conn_destroy(c);
	return -1;
}

int brk_bridge_conn_open(struct gw_broker *b, enum role role, const char *client_id,
                         struct conn **slot)
{
	struct conn *c = brk_conn_new(b, 0, role, client_id, true, b->cfg.keepalive_s);
	if (c == NULL)
		return -1;
	if (brk_queue_join(b, c) != 0) {
		gw_log(GW_LOG_ERR, "broker: out of memory");
		brk_conn_destroy(c);
		return -1;
	}
	/* recorded before it starts: a failure at once reports against it */
	*slot = c;
	if (brk_conn_begin(c) < 0)
		brk_conn_down(c, c->last_error, c->last_errno, NULL);
	return 0;
}

int gw_broker_own_open(struct gw_broker *b, const char *client_id)
{
	if (b->own != NULL)
		return 0;
	return brk_bridge_conn_open(b, ROLE_OWN, client_id, &b->own);
}


void gw_broker_close(struct gw_broker *b, uint32_t id, bool fire_will)
{
	struct conn *c = brk_conn_find(b, id);
	if (c == NULL)
		return;
	gw_log(GW_LOG_DEBUG, "broker conn %u (%s): closing%s", id, c->client_id,
	       fire_will ? " with its Will" : "");
	brk_conn_close(c, fire_will);
}

void gw_broker_close_all(struct gw_broker *b)
{
	b->stopping = true;
	for (struct conn *c = b->all, *next; c != NULL; c = next) {
		next = c->next;
		if (!c->closed)
			brk_conn_close(c, false);
		else if (c->state == C_WAITING)
			brk_conn_kill(c);
	}
}


/* ---------------------------------------------------------------- requests */

/* topic as a C string: on the stack when small. NULL when it holds a NUL. */
static char *c_string(const char *s, size_t len, char *stack, size_t cap)
{
	if (memchr(s, '\0', len) != NULL)
		return NULL;
	char *out = len < cap ? stack : malloc(len + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

static struct conn *conn_up(const struct gw_broker *b, uint32_t id)
{
	struct conn *c = brk_conn_find(b, id);
	return c != NULL && c->state == C_UP ? c : NULL;
}

static int publish(struct conn *c, const char *topic, size_t topic_len, const void *payload,
                   size_t len, int qos, bool retain, uint32_t *token)
{
	char stack[TOPIC_STACK];
	if (len > INT_MAX)
		return -1;
	char *t = c_string(topic, topic_len, stack, sizeof stack);
	if (t == NULL)
		return -1;
	int mid = 0;
	/* A QoS 0 publish is "acknowledged" as soon as it is written, inside this call. */
	c->quiet = true;
	int rc = mosquitto_publish(c->mosq, &mid, t, (int)len, payload, qos, retain);
	c->quiet = false;
	if (t != stack)
		free(t);
	brk_conn_sync(c);
	if (rc != MOSQ_ERR_SUCCESS) {
		gw_log(GW_LOG_DEBUG, "broker %s %u: publish: %s", brk_role_name(c), c->id, brk_mosq_error(rc));
		return -1;
	}
	if (token != NULL)
		*token = (uint32_t)mid;
	return 0;
}

int gw_broker_publish(struct gw_broker *b, uint32_t id, const char *topic, size_t topic_len,
                      const uint8_t *payload, size_t len, int qos, bool retain, uint32_t *token)
{
	struct conn *c = conn_up(b, id);
	if (c == NULL)
		return -1;
	return publish(c, topic, topic_len, payload, len, qos, retain, token);
}

int gw_broker_own_publish(struct gw_broker *b, const char *topic, const void *payload, size_t len,
                          bool retain)
{
	if (b->own == NULL || b->own->state != C_UP)
		return -1;
	return publish(b->own, topic, strlen(topic), payload, len, 0, retain, NULL);
}

int gw_broker_subscribe(struct gw_broker *b, uint32_t id, const char *filter, size_t len, int qos,
                        uint32_t *token)
{
	char stack[TOPIC_STACK];
	struct conn *c = conn_up(b, id);
	if (c == NULL)
		return -1;
	char *f = c_string(filter, len, stack, sizeof stack);
	if (f == NULL)
		return -1;
	int mid = 0;
	int rc = mosquitto_subscribe(c->mosq, &mid, f, qos);
	if (f != stack)
		free(f);
	brk_conn_sync(c);
	if (rc != MOSQ_ERR_SUCCESS) {
		gw_log(GW_LOG_DEBUG, "broker conn %u: subscribe: %s", id, brk_mosq_error(rc));
		return -1;
	}
	*token = (uint32_t)mid;
	return 0;
}

int gw_broker_unsubscribe(struct gw_broker *b, uint32_t id, const char *filter, size_t len,
                          uint32_t *token)
{
	char stack[TOPIC_STACK];
	struct conn *c = conn_up(b, id);
	if (c == NULL)
		return -1;
	char *f = c_string(filter, len, stack, sizeof stack);
	if (f == NULL)
		return -1;
	int mid = 0;
	int rc = mosquitto_unsubscribe(c->mosq, &mid, f);
	if (f != stack)
		free(f);
	brk_conn_sync(c);
	if (rc != MOSQ_ERR_SUCCESS) {
		gw_log(GW_LOG_DEBUG, "broker conn %u: unsubscribe: %s", id, brk_mosq_error(rc));
		return -1;
	}
	*token = (uint32_t)mid;
	return 0;
}

/* ---------------------------------------------------------------- reports to the core */

/*
 * Set on every connection by brk_conn_new(); the own connection and closed
 * ones report nothing: the core has let go of them.
 */
void brk_on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	struct conn *c = obj;
	(void)mosq;
	if (!c->closed && !c->quiet && c->role == ROLE_CORE && c->b->gw != NULL)
		gw_on_broker_acked(c->b->gw, c->id, (uint32_t)mid, brk_now_ms(c->b));
}

void brk_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int count, const int *granted)
{
	struct conn *c = obj;
	(void)mosq;
	if (!c->closed && c->role == ROLE_CORE && c->b->gw != NULL)
		gw_on_broker_subacked(c->b->gw, c->id, (uint32_t)mid, count > 0 ? granted[0] : 0x80,
		                      brk_now_ms(c->b));
}

void brk_on_unsubscribe(struct mosquitto *mosq, void *obj, int mid)
{
	struct conn *c = obj;
	(void)mosq;
	if (!c->closed && c->role == ROLE_CORE && c->b->gw != NULL)
		gw_on_broker_unsubacked(c->b->gw, c->id, (uint32_t)mid, brk_now_ms(c->b));
}

void brk_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
	struct conn *c = obj;
	(void)mosq;
	if (c->closed || c->role != ROLE_CORE || c->b->gw == NULL || m->payloadlen < 0)
		return;
	gw_on_broker_message(c->b->gw, c->id, m->topic, strlen(m->topic), m->payload,
	                     (size_t)m->payloadlen, m->qos, m->retain, brk_now_ms(c->b));
}

/* ---------------------------------------------------------------- life */

/*
 * A name is looked up here, once: libmosquitto would look it up again on
 * every (re)connect, blocking the loop while DNS is slow or down.
 */
static char *numeric_host(const char *host, char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL;
	char buf[NI_MAXHOST];
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(host, NULL, &hints, &res) == 0) {
		freeaddrinfo(res);
		return strdup(host);
	}
	hints.ai_flags = AI_ADDRCONFIG;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "broker host \"%s\": %s", host, gai_strerror(rc));
		return NULL;
	}
	rc = getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof buf, NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);
	if (rc != 0) {
		snprintf(err, errlen, "broker host \"%s\": %s", host, gai_strerror(rc));
		return NULL;
	}
	gw_log(GW_LOG_INFO, "broker host %s is %s (looked up once, at start)", host, buf);
	return strdup(buf);
}

static int check_readable(const char *what, const char *path, char *err, size_t errlen)
{
	if (path == NULL || access(path, R_OK) == 0)
		return 0;
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

struct gw_broker *gw_broker_new(struct gw_loop *loop, const struct gw_broker_config *cfg,
                                char *err, size_t errlen)
{
	if (check_readable("cafile", cfg->cafile, err, errlen) != 0 ||
	    check_readable("capath", cfg->capath, err, errlen) != 0 ||
	    check_readable("certfile", cfg->certfile, err, errlen) != 0 ||
	    check_readable("keyfile", cfg->keyfile, err, errlen) != 0)
		return NULL;
	struct gw_broker *b = calloc(1, sizeof *b);
	if (b == NULL) {
		snprintf(err, errlen, "broker: out of memory");
		return NULL;
	}
	b->loop = loop;
	b->cfg = *cfg;
	if (b->cfg.reconnect_min_s == 0)
		b->cfg.reconnect_min_s = 1;
	if (b->cfg.reconnect_max_s < b->cfg.reconnect_min_s)
		b->cfg.reconnect_max_s = b->cfg.reconnect_min_s;
	b->tls = cfg->cafile != NULL || cfg->capath != NULL;
	b->port = cfg->port != 0 ? cfg->port : (b->tls ? 8883 : 1883);
	b->protocol = cfg->mqtt_version == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311;
	b->rng = (uint32_t)getpid() ^ (uint32_t)gw_clock_ms() ^ 0x9E3779B9u;
	if (b->rng == 0)
		b->rng = 1;
	b->nbuckets = b->nqbuckets = 64;
	b->buckets = calloc(b->nbuckets, sizeof *b->buckets);
	b->qbuckets = calloc(b->nqbuckets, sizeof *b->qbuckets);
	b->host = numeric_host(cfg->host != NULL ? cfg->host : "127.0.0.1", err, errlen);
	if (b->buckets == NULL || b->qbuckets == NULL || b->host == NULL) {
		if (b->host != NULL || b->buckets == NULL || b->qbuckets == NULL)
			snprintf(err, errlen, "broker: out of memory");
		free(b->buckets);
		free(b->qbuckets);
		free(b->host);
		free(b);
		return NULL;
	}
	mosquitto_lib_init();
	gw_timer_init(&b->misc, brk_misc_tick, b);
	gw_timer_init(&b->reap, brk_reap_tick, b);
	if (gw_timer_arm(loop, &b->misc, gw_loop_now(loop) + MISC_INTERVAL_MS) != 0) {
		snprintf(err, errlen, "broker: out of memory");
		gw_broker_free(b);
		return NULL;
	}
	int major, minor, revision;
	mosquitto_lib_version(&major, &minor, &revision);
	gw_log(GW_LOG_INFO, "broker %s:%d, MQTT %s%s, libmosquitto %d.%d.%d", b->host, b->port,
	       b->protocol == MQTT_PROTOCOL_V5 ? "5" : "3.1.1", b->tls ? " over TLS" : "", major,
	       minor, revision);
	return b;
}

void gw_broker_attach(struct gw_broker *b, struct gw *gw)
{
	b->gw = gw;
}

void gw_broker_free(struct gw_broker *b)
{
	if (b == NULL)
		return;
	b->dead = NULL;
	while (b->all != NULL)
		brk_conn_destroy(b->all);
	brk_custody_free(b);
	gw_timer_disarm(b->loop, &b->misc);
	gw_timer_disarm(b->loop, &b->reap);
	free(b->buckets);
	free(b->qbuckets);
	free(b->host);
	free(b);
	mosquitto_lib_cleanup();
}

size_t gw_broker_count(const struct gw_broker *b)
{
	return b->count;
}

size_t gw_broker_count_up(const struct gw_broker *b)
{
	return b->count_up;
}
