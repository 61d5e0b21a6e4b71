/*
 * error.h - the client library's errors: one enum for every snc_ function.
 *
 * Kept apart from the gateway's answers: a return code the gateway sent
 * (5.3.10: congestion, invalid topic id, not supported) travels as that
 * positive code in events, never as one of these.
 */
#ifndef SNBRIDGE_SNC_ERROR_H
#define SNBRIDGE_SNC_ERROR_H

#if defined(__GNUC__)
#define SNC_MUST_CHECK __attribute__((warn_unused_result))
#else
#define SNC_MUST_CHECK
#endif

enum snc_err {
	SNC_OK = 0,
	SNC_ERR_INVALID = -1,   /* a bad argument: the caller's bug or bad input */
	SNC_ERR_NOMEM = -2,     /* out of memory */
	SNC_ERR_IO = -3,        /* a system call failed: errno says which way */
	SNC_ERR_FULL = -4,      /* a configured limit is reached (queue, requests) */
	SNC_ERR_TOO_BIG = -5,   /* a message over the configured maximum size */
	SNC_ERR_EMPTY = -6,     /* nothing there (an empty queue) */
	SNC_ERR_NOT_FOUND = -7, /* no such message, topic or request */
	SNC_ERR_STATE = -8,     /* not allowed in the current state (not connected...) */
	SNC_ERR_BUSY = -9,      /* another process holds the queue directory */
	SNC_ERR_CORRUPT = -10,  /* data on disk cannot be read back */
	SNC_ERR_TIMEOUT = -11,  /* a deadline passed */
	SNC_ERR_GONE = -12,     /* the gateway stopped answering: retries exhausted */
	SNC_ERR_REFUSED = -13,  /* the gateway refused (the event carries its code) */
	SNC_ERR_CLOSED = -14,   /* the connection was closed before an answer came */
	SNC_ERR_PROTOCOL = -15, /* the gateway broke the protocol */
	SNC_ERR_INTERRUPTED = -16, /* a signal asked the wait to end */
};

/* A fixed message describing err, never NULL. */
const char *snc_strerror(int err);

#endif
