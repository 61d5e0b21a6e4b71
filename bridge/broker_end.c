/*
 * broker_end.c - how a broker connection ends: lost or refused (reported,
 * then retried), or closed by its owner (DISCONNECT, or the end that makes
 * the broker publish the Will), and the wait for the broker to close the
 * socket, after which the next connection with its client id may start.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include "bridge/broker_int.h"

/* ---------------------------------------------------------------- ending */

/*
 * The socket is gone or the attempt failed (rc, err: libmosquitto's code
 * and errno; why, when given, says it instead). Log it, tell the core what
 * it needs to know, and try again later. A closed c only waits for the
 * broker to let go of the socket.
 */
void brk_conn_down(struct conn *c, int rc, int err, const char *why)
{
	struct gw_broker *b = c->b;
	if (c->closed) {
		if (brk_conn_live(c))
			brk_conn_linger(c);
		else if (c->state != C_LINGER)
			brk_conn_kill(c);
		return;
	}
	enum cstate was = c->state;
	if (was != C_WAITING && was != C_CONNECTING && was != C_UP)
		return;
	/* Before the core hears of it: a new socket may take the old number. */
	gw_watch_stop(b->loop, &c->watch);
	brk_set_state(c, C_IDLE);
	gw_timer_disarm(b->loop, &c->timer);
	c->fail_later = false;
	char text[WHY_MAX];
	uint32_t cause = 0;
	if (why == NULL)
		cause = brk_describe(c, rc, err, was == C_CONNECTING, text, sizeof text);
	else
		snprintf(text, sizeof text, "%s", why);
	/* A broker outage drops every client's connection: their lines are info. */
	bool shared = c->role != ROLE_CORE || c->id == GW_CONN_AGGREGATE;
	if (was == C_UP) {
		gw_log(shared ? GW_LOG_WARN : GW_LOG_INFO, "broker %s %u (%s): connection lost: %s",
		       brk_role_name(c), c->id, c->client_id, text);
		if (c->role == ROLE_CORE && b->gw != NULL)
			gw_on_broker_disconnected(b->gw, c->id, brk_now_ms(b));
		if (c->role == ROLE_CUSTODY)
			brk_custody_lost(c);
	} else {
		/* A refusal was logged with its reason by on_connect() already. */
		if (c->told)
			gw_log(GW_LOG_DEBUG, "broker %s %u (%s): connect failed: %s", brk_role_name(c), c->id,
			       c->client_id, text);
		else
			brk_conn_warn(c, cause, "connect failed: %s", text);
		if (c->role == ROLE_CORE && !c->reported && b->gw != NULL) {
			c->reported = true;
			gw_on_broker_connected(b->gw, c->id, brk_core_rc(rc), brk_now_ms(b));
		}
	}
	/* The core may have closed c from inside the report. */
	if (!c->closed)
		brk_schedule_retry(c);
}

/* A libmosquitto call failed; its disconnect callback may not have come. */
void brk_conn_failed(struct conn *c, int rc, int err)
{
	if (brk_conn_live(c))
		brk_conn_down(c, rc, err, NULL);
}

/*
 * libmosquitto has let go of a closed connection's socket (it closes its
 * descriptor right after writing the DISCONNECT), or is to. Half-close the
 * held socket, as libmosquitto's close would have if we did not hold it,
 * and read until the broker closes it too: then it has handled what came
 * before (DISCONNECT, or the end that publishes the Will), and the client
 * id may connect again.
 */
void brk_conn_linger(struct conn *c)
{
	if (c->hold_fd < 0) {
		brk_conn_kill(c);
		return;
	}
	shutdown(c->hold_fd, SHUT_WR);
	brk_set_state(c, C_LINGER);
	brk_arm(c, LINGER_TIMEOUT_MS);
	brk_conn_sync(c);
}

void brk_linger_read(struct conn *c)
{
	char buf[1024];
	/* Bounded: a broker that keeps talking is cut off by the linger deadline. */
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(c->hold_fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		gw_log(GW_LOG_DEBUG, "broker %s %u (%s): closed by the broker", brk_role_name(c), c->id,
		       c->client_id);
		brk_conn_kill(c);
		return;
	}
}

static void conn_disconnect(struct conn *c, int reason)
{
	struct gw_broker *b = c->b;
	brk_set_state(c, C_CLOSING);
	brk_arm(c, CLOSE_TIMEOUT_MS);
	int rc = b->protocol == MQTT_PROTOCOL_V5 ? mosquitto_disconnect_v5(c->mosq, reason, NULL)
	                                        : mosquitto_disconnect(c->mosq);
	if (rc != MOSQ_ERR_SUCCESS) {
		brk_conn_linger(c);
		return;
	}
	/* Writing the DISCONNECT may have ended the connection already. */
	if (c->state == C_CLOSING)
		brk_conn_sync(c);
}

/*
 * End the connection without DISCONNECT, so that the broker publishes the
 * Will: half-close (brk_conn_linger() does, on the held socket), and wait for
 * the broker to close its side.
 */
static void conn_drop(struct conn *c)
{
	int fd = mosquitto_socket(c->mosq);
	if (c->hold_fd < 0 && fd >= 0)
		shutdown(fd, SHUT_WR);
	brk_conn_linger(c);
}

/* End a closed connection that is up, as its owner asked. */
void brk_conn_end(struct conn *c)
{
	if (!c->close_will)
		conn_disconnect(c, 0);
	else if (c->b->protocol == MQTT_PROTOCOL_V5)
		conn_disconnect(c, REASON_DISCONNECT_WITH_WILL);
	else
		conn_drop(c);
}


/* ---------------------------------------------------------------- close */

void brk_conn_close(struct conn *c, bool fire_will)
{
	struct gw_broker *b = c->b;
	if (c->closed)
		return;
	c->closed = true;
	c->close_will = fire_will;
	brk_table_remove(b, c);
	if (b->own == c)
		b->own = NULL;
	switch (c->state) {
	case C_IDLE:
		brk_conn_kill(c);
		break;
	case C_WAITING:
		/*
		 * Still connected when its turn comes, then ended as asked: what
		 * it stands for (a clean start, a Will to publish) happens, in
		 * order. Not when the daemon stops.
		 */
		if (b->stopping)
			brk_conn_kill(c);
		break;
	case C_CONNECTING:
		if (c->fail_later) {
			brk_conn_kill(c);
			break;
		}
		/*
		 * A CONNECT may be on its way; ending the connection before its
		 * CONNACK would leave the broker to find a half-open session.
		 * on_connect() ends it once the CONNACK is in.
		 */
		brk_arm(c, CLOSE_TIMEOUT_MS);
		brk_conn_sync(c);
		break;
	case C_UP:
		brk_conn_sync(c); /* hold the socket before libmosquitto can close it */
		brk_conn_end(c);
		break;
	case C_CLOSING:
	case C_LINGER:
	case C_DEAD:
		break;
	}
}

