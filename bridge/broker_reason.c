/*
 * broker_reason.c - what went wrong with a broker connection, in words:
 * CONNACK codes, libmosquitto's errors, TLS failures (with OpenSSL's reason,
 * taken from libmosquitto's log), and the once-per-cause logging of them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/broker_int.h"

/* ---------------------------------------------------------------- what went wrong */

/*
 * Log a failure of c: at warn the first time, then at debug for as long as
 * the same cause comes again (every retry repeats it), until another cause
 * or a successful connect. One mechanism for refusals, TLS and the rest.
 * cause: what makes two failures the same (0: the line itself).
 */
void brk_conn_warn(struct conn *c, uint32_t cause, const char *fmt, ...)
{
	char line[WHY_MAX + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (cause == 0)
		cause = brk_text_hash(line);
	bool again = c->warned && c->warned_cause == cause;
	gw_log(again ? GW_LOG_DEBUG : GW_LOG_WARN, "broker %s %u (%s): %s", brk_role_name(c), c->id,
	       c->client_id, line);
	c->warned = true;
	c->warned_cause = cause;
	c->told = true;
}

/* libmosquitto's code in words; errno must be the call's. */
const char *brk_mosq_error(int rc)
{
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

const char *brk_connack_text(const struct gw_broker *b, int rc)
{
	return b->protocol == MQTT_PROTOCOL_V5 ? mosquitto_reason_string(rc)
	                                       : mosquitto_connack_string(rc);
}

/*
 * A failed attempt in words, into out; returns what identifies its cause
 * for brk_conn_warn(). With TLS, the codes libmosquitto gives for a failed
 * handshake, or for a broker that hangs up right after it (under TLS 1.3 a
 * broker refuses our certificate only once we think the handshake is
 * done), say nothing of TLS: "Protocol error", "The connection was lost".
 * Those become a sentence that does, with the last reason OpenSSL gave on
 * this connection: when the broker's alert comes while libmosquitto is
 * still writing, it logs none for this attempt. rc, err: libmosquitto's
 * code and errno.
 */
uint32_t brk_describe(const struct conn *c, int rc, int err, bool connecting, char *out,
                         size_t cap)
{
	const char *text = rc == MOSQ_ERR_ERRNO ? strerror(err) : mosquitto_strerror(rc);
	bool lost = rc == MOSQ_ERR_PROTOCOL || rc == MOSQ_ERR_CONN_LOST ||
	            (rc == MOSQ_ERR_ERRNO && (err == EPROTO || err == ECONNRESET || err == EPIPE));
	bool tls = c->b->tls && (rc == MOSQ_ERR_TLS || (connecting && lost));
	size_t n;
	if (tls && rc == MOSQ_ERR_TLS)
		n = (size_t)snprintf(out, cap, "TLS %s failed", connecting ? "handshake" : "session");
	else if (tls)
		n = (size_t)snprintf(out, cap,
		                     "TLS failure: the broker ended the connection during or just after "
		                     "the handshake (%s)",
		                     text);
	else
		n = (size_t)snprintf(out, cap, "%s", text);
	const char *ssl = c->b->tls && (tls || !connecting) ? c->tls_note : NULL;
	if (ssl != NULL && n < cap)
		n += (size_t)snprintf(out + n, cap - n, "; OpenSSL: %s", ssl);
	if (c->lib_note != NULL && n < cap)
		snprintf(out + n, cap - n, "; libmosquitto: %s", c->lib_note);
	/* Retries of one TLS refusal differ in the error's words, not in OpenSSL's reason. */
	if (tls)
		return brk_text_hash("TLS") ^ (ssl != NULL ? brk_text_hash(ssl) : 0u) ^ 1u;
	return brk_text_hash(out);
}

/* What the core is told for a libmosquitto error: never 0, apart from CONNACK codes. */
int brk_core_rc(int rc)
{
	return rc > 0 ? -rc : -MOSQ_ERR_CONN_LOST;
}


/*
 * libmosquitto's errors and warnings (why TLS failed, above all) are kept
 * for the line that reports the failure they explain, which is logged once
 * per cause: on their own they would be repeated by every retry.
 */
static void on_log(struct mosquitto *mosq, void *obj, int level, const char *line)
{
	static const char openssl[] = "OpenSSL Error[";
	struct conn *c = obj;
	(void)mosq;
	if (line == NULL)
		return;
	/* The custody connection's PUBRECs and PUBCOMPs (broker_custody.c) */
	if (c->role == ROLE_CUSTODY && (level & MOSQ_LOG_DEBUG)) {
		brk_custody_log(c, line);
		return;
	}
	if (!(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)))
		return;
	/* "Unable to open socket pair": refused on purpose (broker_nopair.c) */
	if (brk_nopair_active() && strstr(line, "socket pair") != NULL)
		return;
	gw_log(GW_LOG_DEBUG, "libmosquitto (%s): %s", c->client_id, line);
	char **slot = &c->lib_note;
	const char *text = line;
	if (strncmp(line, openssl, sizeof openssl - 1) == 0) {
		const char *p = strstr(line, "]: ");
		slot = &c->tls_note;
		text = p != NULL ? p + 3 : line;
	}
	char *copy = strdup(text);
	if (copy != NULL) {
		free(*slot);
		*slot = copy;
	}
}

/*
 * libmosquitto formats a line for every packet it sends or receives (a
 * malloc and a vsnprintf), but only while a log callback is set; it has no
 * level filter of its own. So the callback is set only while its lines can
 * matter: while connecting (refusals, TLS handshakes: what brk_describe()
 * explains a failed attempt with), on a TLS connection that is up (OpenSSL
 * says why a session broke; its error queue is drained into the log, so
 * the reason cannot be had later), and always at debug, where the lines
 * are logged. A plain connection that is up goes without: the benchmark
 * measured the formatting at 2-3 % of the daemon's CPU under load. Except
 * the custody connection: its PUBRECs and PUBCOMPs are known from these
 * lines only (broker.h), and it carries one stream, not every station's.
 * brk_conn_new() sets the role before it is first called.
 */
void brk_log_follow(struct conn *c, bool connecting)
{
	bool follow = connecting || c->b->tls || gw_log_enabled(GW_LOG_DEBUG) ||
	              c->role == ROLE_CUSTODY;
	mosquitto_log_callback_set(c->mosq, follow ? on_log : NULL);
}

