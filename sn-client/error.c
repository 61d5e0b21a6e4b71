/*
 * error.c - messages for enum snc_err.
 */
#include "sn-client/error.h"

const char *snc_strerror(int err)
{
	switch (err) {
	case SNC_OK:
		return "success";
	case SNC_ERR_INVALID:
		return "invalid argument";
	case SNC_ERR_NOMEM:
		return "out of memory";
	case SNC_ERR_IO:
		return "input/output error (see errno)";
	case SNC_ERR_FULL:
		return "limit reached: full";
	case SNC_ERR_TOO_BIG:
		return "message larger than the configured maximum";
	case SNC_ERR_EMPTY:
		return "empty";
	case SNC_ERR_NOT_FOUND:
		return "not found";
	case SNC_ERR_STATE:
		return "not allowed in the current state";
	case SNC_ERR_BUSY:
		return "in use by another process";
	case SNC_ERR_CORRUPT:
		return "data on disk is damaged";
	case SNC_ERR_TIMEOUT:
		return "timed out";
	case SNC_ERR_GONE:
		return "the gateway stopped answering (retries exhausted)";
	case SNC_ERR_REFUSED:
		return "refused by the gateway";
	case SNC_ERR_CLOSED:
		return "connection closed before the answer came";
	case SNC_ERR_PROTOCOL:
		return "protocol violation by the gateway";
	case SNC_ERR_INTERRUPTED:
		return "interrupted";
	default:
		return "unknown error";
	}
}
