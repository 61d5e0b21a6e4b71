/*
 * broker_custody.c - the custody drainer's broker connection (broker.h,
 * gw_broker_custody_open): first a clean connection that ends the session
 * an earlier run left, then the lasting one the drainer publishes on.
 *
 * Why a connection of its own rather than the core's shared one: the
 * drainer needs a lasting session (a QoS 2 message whose PUBREL is resent
 * after a reconnect must still be held by the broker), while the shared
 * connection must start clean after every drop (the aggregating mode
 * subscribes again and would otherwise find stale subscriptions), and its
 * acknowledgements must not pass through the core's token map.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/broker_int.h"

struct brk_custody {
	const struct gw_broker_custody_events *ev;
	void *arg;
	struct conn *wipe;   /* the clean connection, until its CONNACK */
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

void brk_custody_connected(struct conn *c)
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
		struct conn *n = brk_conn_new(b, 0, ROLE_CUSTODY, c->client_id, false, b->cfg.keepalive_s);
		if (n == NULL)
			return;
		mosquitto_publish_v5_callback_set(n->mosq, on_publish_v5);
		if (brk_queue_join(b, n) != 0) {
			gw_log(GW_LOG_ERR, "broker: out of memory");
			brk_conn_destroy(n);
			return;
		}
		k->conn = n;
		if (brk_conn_begin(n) < 0)
			brk_conn_down(n, n->last_error, n->last_errno, NULL);
		return;
	}
	if (c == k->conn)
		k->ev->connected(k->arg);
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
	return brk_bridge_conn_open(b, ROLE_CUSTODY, client_id, &k->wipe);
}

bool gw_broker_custody_up(const struct gw_broker *b)
{
	return b->custody != NULL && b->custody->conn != NULL && b->custody->conn->state == C_UP;
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
	mosquitto_property_free_all(&list);
	if (t != stack)
		free(t);
	brk_conn_sync(c);
	if (rc != MOSQ_ERR_SUCCESS) {
		gw_log(GW_LOG_DEBUG, "broker custody: publish: %s", brk_mosq_error(rc));
		return -1;
	}
	*token = (uint32_t)mid;
	return 0;
}
