/*
 * mqttsn.h - MQTT-SN 1.2 messages: decode, encode, errors.
 *
 * Pure functions: no allocation, no I/O, no clock. Decoding hands out
 * (pointer, length) views into the caller's buffer, which must outlive the
 * decoded message. Section numbers refer to "MQTT For Sensor Networks
 * (MQTT-SN) Protocol Specification Version 1.2".
 */
#ifndef SNBRIDGE_CODEC_MQTTSN_H
#define SNBRIDGE_CODEC_MQTTSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define MQTTSN_MUST_CHECK __attribute__((warn_unused_result))
#else
#define MQTTSN_MUST_CHECK
#endif

/* ---------------------------------------------------------------- limits */

#define MQTTSN_CLIENT_ID_MAX 23u    /* 5.3.1: 1-23 characters */
#define MQTTSN_MSG_MAX 65535u       /* 5.2.1: 3-octet length header */
#define MQTTSN_SHORT_HDR_MAX 255u   /* longest message with a 1-octet length */
#define MQTTSN_PROTOCOL_ID 0x01u    /* 5.3.8 */
#define MQTTSN_TOPIC_MAX 65535u     /* MQTT 3.1.1, 4.7.3 */

/* ---------------------------------------------------------------- errors */

/*
 * Every function returns 0 (or a byte count) on success and one of these
 * negative values on failure. Three classes, kept apart on purpose:
 * malformed (the octets cannot be parsed), protocol-invalid (parsed, but a
 * value the specification forbids) and encoder/caller errors.
 */
enum mqttsn_err {
	MQTTSN_OK = 0,

	/* malformed: -1 .. -19 */
	MQTTSN_ERR_SHORT = -1,          /* fewer octets than a length header + type */
	MQTTSN_ERR_BAD_HEADER = -2,     /* declared length below its own header size */
	MQTTSN_ERR_LENGTH = -3,         /* declared length differs from the datagram */
	MQTTSN_ERR_TYPE = -4,           /* unknown or reserved message type */
	MQTTSN_ERR_TRUNCATED = -5,      /* message shorter than its type's fixed fields */
	MQTTSN_ERR_TRAILING = -6,       /* octets after the last field of a fixed-size type */
	MQTTSN_ERR_FIELD = -7,          /* a field longer than what is left */
	MQTTSN_ERR_ENCAP_INNER = -8,    /* 0xFE: the encapsulated message is malformed */

	/* protocol-invalid: -20 .. -39 */
	MQTTSN_ERR_TOPIC_ID_TYPE = -20, /* topic id type 0b11 (reserved) */
	MQTTSN_ERR_PROTOCOL_ID = -21,   /* CONNECT protocol id other than 0x01 */
	MQTTSN_ERR_CLIENT_ID = -22,     /* client id empty or longer than 23 */
	MQTTSN_ERR_QOS = -23,           /* QoS -1 (0b11) where only 0-2 are allowed */
	MQTTSN_ERR_SHORT_TOPIC = -24,   /* a short topic name that is not 2 octets */
	MQTTSN_ERR_ENCAP_NESTED = -25,  /* 0xFE inside 0xFE */
	MQTTSN_ERR_WILL_TOPIC = -26,    /* WILLTOPIC(UPD) with flags but an empty topic */
	MQTTSN_ERR_TOPIC_EMPTY = -27,   /* topic name or filter of zero length */
	MQTTSN_ERR_TOPIC_WILDCARD = -28,/* '+' or '#' in a topic name */
	MQTTSN_ERR_TOPIC_HASH = -29,    /* '#' not alone in the last level */
	MQTTSN_ERR_TOPIC_PLUS = -30,    /* '+' not a whole level */
	MQTTSN_ERR_TOPIC_NUL = -31,     /* embedded NUL in a topic */
	MQTTSN_ERR_TOPIC_LONG = -32,    /* topic over 65535 octets */

	/* encoder and caller: -40 .. */
	MQTTSN_ERR_NO_SPACE = -40,      /* output capacity too small */
	MQTTSN_ERR_TOO_BIG = -41,       /* message would exceed 65535 octets */
	MQTTSN_ERR_INVALID = -42,       /* a field value that cannot be encoded */
};

/* A fixed message describing err, never NULL ("unknown error" otherwise). */
const char *mqttsn_strerror(int err);
/* True for the malformed class (-1 .. -19). */
bool mqttsn_err_is_malformed(int err);
/* True for the protocol-invalid class (-20 .. -39). */
bool mqttsn_err_is_protocol(int err);

/* ---------------------------------------------------------------- types */

/* 5.2.1 message types. */
enum mqttsn_type {
	MQTTSN_ADVERTISE = 0x00,
	MQTTSN_SEARCHGW = 0x01,
	MQTTSN_GWINFO = 0x02,
	MQTTSN_CONNECT = 0x04,
	MQTTSN_CONNACK = 0x05,
	MQTTSN_WILLTOPICREQ = 0x06,
	MQTTSN_WILLTOPIC = 0x07,
	MQTTSN_WILLMSGREQ = 0x08,
	MQTTSN_WILLMSG = 0x09,
	MQTTSN_REGISTER = 0x0A,
	MQTTSN_REGACK = 0x0B,
	MQTTSN_PUBLISH = 0x0C,
	MQTTSN_PUBACK = 0x0D,
	MQTTSN_PUBCOMP = 0x0E,
	MQTTSN_PUBREC = 0x0F,
	MQTTSN_PUBREL = 0x10,
	MQTTSN_SUBSCRIBE = 0x12,
	MQTTSN_SUBACK = 0x13,
	MQTTSN_UNSUBSCRIBE = 0x14,
	MQTTSN_UNSUBACK = 0x15,
	MQTTSN_PINGREQ = 0x16,
	MQTTSN_PINGRESP = 0x17,
	MQTTSN_DISCONNECT = 0x18,
	MQTTSN_WILLTOPICUPD = 0x1A,
	MQTTSN_WILLTOPICRESP = 0x1B,
	MQTTSN_WILLMSGUPD = 0x1C,
	MQTTSN_WILLMSGRESP = 0x1D,
	MQTTSN_ENCAPSULATED = 0xFE,
};

/* The message's name as the specification spells it ("PUBLISH"), or NULL. */
const char *mqttsn_type_name(int type);

/* 5.3.10 return codes. */
enum mqttsn_rc {
	MQTTSN_RC_ACCEPTED = 0x00,
	MQTTSN_RC_CONGESTION = 0x01,
	MQTTSN_RC_INVALID_TOPIC_ID = 0x02,
	MQTTSN_RC_NOT_SUPPORTED = 0x03,
};

/* 5.3.4 TopicIdType, flags bits 1-0. */
enum mqttsn_topic_id_type {
	MQTTSN_TOPIC_NORMAL = 0,
	MQTTSN_TOPIC_PREDEFINED = 1,
	MQTTSN_TOPIC_SHORT = 2,
	MQTTSN_TOPIC_RESERVED = 3,
};

/* A view into a buffer: never NUL-terminated, may be empty (ptr may be NULL then). */
struct mqttsn_bytes {
	const uint8_t *ptr;
	size_t len;
};

/* 5.3.4 the flags octet, unpacked. qos is 0, 1, 2 or -1 (bits 0b11). */
struct mqttsn_flags {
	bool dup;
	int qos;
	bool retain;
	bool will;
	bool clean_session;
	uint8_t topic_id_type;  /* enum mqttsn_topic_id_type, 0..3 */
};

/* Unpack a flags octet (never fails; validity depends on the message). */
void mqttsn_flags_unpack(uint8_t octet, struct mqttsn_flags *out);
/* Pack flags into an octet; qos must be -1..2 and topic_id_type 0..3. */
uint8_t mqttsn_flags_pack(const struct mqttsn_flags *f);

/*
 * One decoded message. Which member of the union is valid follows from type:
 *
 *   ADVERTISE                     advertise
 *   SEARCHGW                      searchgw
 *   GWINFO                        gwinfo  (gw_addr.len == 0: absent)
 *   CONNECT                       connect
 *   CONNACK, WILLTOPICRESP,
 *   WILLMSGRESP                   rc
 *   WILLTOPICREQ, WILLMSGREQ,
 *   PINGRESP                      (none)
 *   WILLTOPIC, WILLTOPICUPD       willtopic (topic.len == 0: the empty
 *                                 message, 2 octets, that deletes the Will)
 *   WILLMSG, WILLMSGUPD           willmsg
 *   REGISTER                      reg
 *   REGACK                        regack
 *   PUBLISH                       publish (short names travel in topic_id:
 *                                 first character in the high octet)
 *   PUBACK                        puback
 *   PUBREC, PUBREL, PUBCOMP,
 *   UNSUBACK                      msg_id
 *   SUBSCRIBE, UNSUBSCRIBE        subscribe (topic_name for NORMAL and
 *                                 SHORT (exactly 2 octets), topic_id for
 *                                 PREDEFINED; UNSUBSCRIBE ignores flags
 *                                 other than topic_id_type; decode also
 *                                 sets topic_id for SHORT, packed as in
 *                                 PUBLISH, and 0 for NORMAL; encode reads
 *                                 only the member named above)
 *   SUBACK                        suback
 *   PINGREQ                       pingreq (client_id.len == 0: absent)
 *   DISCONNECT                    disconnect
 *   ENCAPSULATED                  encap (inner: the whole inner message,
 *                                 already checked to decode; decode it again
 *                                 with mqttsn_decode to use it)
 */
struct mqttsn_msg {
	enum mqttsn_type type;
	union {
		struct {
			uint8_t gw_id;
			uint16_t duration;
		} advertise;
		struct {
			uint8_t radius;
		} searchgw;
		struct {
			uint8_t gw_id;
			struct mqttsn_bytes gw_addr;
		} gwinfo;
		struct {
			struct mqttsn_flags flags;  /* will, clean_session */
			uint8_t protocol_id;
			uint16_t duration;
			struct mqttsn_bytes client_id;
		} connect;
		uint8_t rc;
		struct {
			struct mqttsn_flags flags;  /* qos, retain */
			struct mqttsn_bytes topic;
		} willtopic;
		struct {
			struct mqttsn_bytes msg;
		} willmsg;
		struct {
			uint16_t topic_id;
			uint16_t msg_id;
			struct mqttsn_bytes topic_name;
		} reg;
		struct {
			uint16_t topic_id;
			uint16_t msg_id;
			uint8_t rc;
		} regack;
		struct {
			struct mqttsn_flags flags;  /* dup, qos, retain, topic_id_type */
			uint16_t topic_id;
			uint16_t msg_id;
			struct mqttsn_bytes data;
		} publish;
		struct {
			uint16_t topic_id;
			uint16_t msg_id;
			uint8_t rc;
		} puback;
		uint16_t msg_id;
		struct {
			struct mqttsn_flags flags;  /* dup, qos, topic_id_type */
			uint16_t msg_id;
			uint16_t topic_id;
			struct mqttsn_bytes topic_name;
		} subscribe;
		struct {
			struct mqttsn_flags flags;  /* qos */
			uint16_t topic_id;
			uint16_t msg_id;
			uint8_t rc;
		} suback;
		struct {
			struct mqttsn_bytes client_id;
		} pingreq;
		struct {
			bool has_duration;
			uint16_t duration;
		} disconnect;
		struct {
			uint8_t ctrl;               /* bits 1-0: radius */
			struct mqttsn_bytes node_id;
			struct mqttsn_bytes inner;
		} encap;
	} u;
};

/* ---------------------------------------------------------------- codec */

/*
 * Decode one datagram holding exactly one message (5.2). On success fills
 * *out with views into buf and returns MQTTSN_OK; otherwise returns a
 * negative mqttsn_err and *out is unspecified. Never reads outside
 * buf[0..len). For 0xFE the Length field covers only the encapsulation
 * header (5.5) and the rest of the datagram is the inner message.
 */
MQTTSN_MUST_CHECK int mqttsn_decode(const uint8_t *buf, size_t len, struct mqttsn_msg *out);

/*
 * For streams: from the first octets of buf, the total length the message
 * declares (*msg_len) and the size of its length header (*hdr_len, 1 or 3).
 * Returns MQTTSN_OK, MQTTSN_ERR_SHORT when more octets are needed to know,
 * or MQTTSN_ERR_BAD_HEADER.
 */
MQTTSN_MUST_CHECK int mqttsn_peek_length(const uint8_t *buf, size_t len, size_t *msg_len,
                                         size_t *hdr_len);

/*
 * The exact encoded size of msg, or a negative mqttsn_err when msg cannot
 * be encoded (invalid field values are reported with the same protocol
 * errors decode uses, e.g. MQTTSN_ERR_CLIENT_ID).
 */
MQTTSN_MUST_CHECK int mqttsn_encoded_len(const struct mqttsn_msg *msg);

/*
 * Encode msg into buf[0..cap). Returns the number of octets written, or a
 * negative mqttsn_err (MQTTSN_ERR_NO_SPACE when cap is too small: nothing
 * useful is left in buf then). The 3-octet length header is used exactly
 * when the message is longer than 255 octets. For ENCAPSULATED, encap.inner
 * is copied after the header as it is.
 */
MQTTSN_MUST_CHECK int mqttsn_encode(uint8_t *buf, size_t cap, const struct mqttsn_msg *msg);

/*
 * The value rules of 5.3-5.5 that decode enforces and encode needs, shared so
 * that the two agree: MQTTSN_OK, a protocol error (MQTTSN_ERR_CLIENT_ID,
 * _PROTOCOL_ID, _QOS, _TOPIC_ID_TYPE, _SHORT_TOPIC, _TOPIC_EMPTY), or
 * MQTTSN_ERR_INVALID for a value no octet can carry (unknown type, qos
 * outside -1..2, topic_id_type above 3, a view with len > 0 and no ptr). For
 * ENCAPSULATED it is what decoding encap.inner gives: MQTTSN_ERR_ENCAP_NESTED,
 * MQTTSN_ERR_ENCAP_INNER for a malformed inner message, or the inner
 * message's own protocol error. Lengths (MQTTSN_ERR_TOO_BIG) are not checked.
 */
MQTTSN_MUST_CHECK int mqttsn_msg_check(const struct mqttsn_msg *msg);

/*
 * One-line human summary of msg, tshark-like ("PUBLISH qos=1 topic_id=7
 * msg_id=3 len=12"), NUL-terminated and truncated to cap. Returns the
 * length the full line needs, like snprintf.
 */
int mqttsn_format(char *out, size_t cap, const struct mqttsn_msg *msg);

#endif
