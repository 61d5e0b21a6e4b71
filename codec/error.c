/*
 * error.c - messages and classes for enum mqttsn_err.
 */
#include "codec/mqttsn.h"

const char *mqttsn_strerror(int err)
{
	switch (err) {
	case MQTTSN_OK:
		return "success";
	case MQTTSN_ERR_SHORT:
		return "message too short: fewer octets than its length header and message type";
	case MQTTSN_ERR_BAD_HEADER:
		return "bad length header: the declared length is smaller than the header itself";
	case MQTTSN_ERR_LENGTH:
		return "length mismatch: the declared length differs from the datagram's size";
	case MQTTSN_ERR_TYPE:
		return "unknown or reserved message type";
	case MQTTSN_ERR_TRUNCATED:
		return "message truncated: shorter than the fixed fields of its type";
	case MQTTSN_ERR_TRAILING:
		return "trailing octets after the last field of a fixed-size message";
	case MQTTSN_ERR_FIELD:
		return "a field runs past the end of the message";
	case MQTTSN_ERR_ENCAP_INNER:
		return "the message inside an encapsulated (0xFE) message is malformed";
	case MQTTSN_ERR_TOPIC_ID_TYPE:
		return "reserved topic id type (0b11)";
	case MQTTSN_ERR_PROTOCOL_ID:
		return "unsupported protocol id in CONNECT (only 0x01 is MQTT-SN 1.2)";
	case MQTTSN_ERR_CLIENT_ID:
		return "client id empty or longer than 23 characters";
	case MQTTSN_ERR_QOS:
		return "QoS -1 is allowed only in PUBLISH";
	case MQTTSN_ERR_SHORT_TOPIC:
		return "a short topic name must be exactly 2 characters";
	case MQTTSN_ERR_ENCAP_NESTED:
		return "an encapsulated (0xFE) message inside another one";
	case MQTTSN_ERR_WILL_TOPIC:
		return "Will topic with flags but no topic name (the empty form has no flags)";
	case MQTTSN_ERR_TOPIC_EMPTY:
		return "empty topic name or filter";
	case MQTTSN_ERR_TOPIC_WILDCARD:
		return "wildcard '+' or '#' in a topic name";
	case MQTTSN_ERR_TOPIC_HASH:
		return "'#' must be the whole last level of a topic filter";
	case MQTTSN_ERR_TOPIC_PLUS:
		return "'+' must be a whole level of a topic filter";
	case MQTTSN_ERR_TOPIC_NUL:
		return "NUL character in a topic";
	case MQTTSN_ERR_TOPIC_LONG:
		return "topic longer than 65535 octets";
	case MQTTSN_ERR_NO_SPACE:
		return "output buffer too small for the encoded message";
	case MQTTSN_ERR_TOO_BIG:
		return "message would be longer than 65535 octets";
	case MQTTSN_ERR_INVALID:
		return "a field value that cannot be encoded";
	default:
		return "unknown error";
	}
}

bool mqttsn_err_is_malformed(int err)
{
	return err <= -1 && err >= -19;
}

bool mqttsn_err_is_protocol(int err)
{
	return err <= -20 && err >= -39;
}
