/*
 * flags.c - the flags octet (5.3.4) and the names of message types (5.2.1).
 */
#include <assert.h>

#include "codec/mqttsn.h"

/* ---------------------------------------------------------------- flags */

#define FLAG_DUP 0x80u
#define FLAG_RETAIN 0x10u
#define FLAG_WILL 0x08u
#define FLAG_CLEAN 0x04u
#define QOS_SHIFT 5u
#define QOS_MASK 0x03u
#define TID_MASK 0x03u

void mqttsn_flags_unpack(uint8_t octet, struct mqttsn_flags *out)
{
	unsigned q = ((unsigned)octet >> QOS_SHIFT) & QOS_MASK;

	assert(out != NULL);
	out->dup = (octet & FLAG_DUP) != 0;
	/* 0b11 is QoS -1 (5.3.4), which is why qos is signed. */
	out->qos = q == 3u ? -1 : (int)q;
	out->retain = (octet & FLAG_RETAIN) != 0;
	out->will = (octet & FLAG_WILL) != 0;
	out->clean_session = (octet & FLAG_CLEAN) != 0;
	out->topic_id_type = (uint8_t)(octet & TID_MASK);
}

uint8_t mqttsn_flags_pack(const struct mqttsn_flags *f)
{
	unsigned octet = 0;

	assert(f != NULL);
	assert(f->qos >= -1 && f->qos <= 2);
	assert(f->topic_id_type <= 3u);
	if (f->dup)
		octet |= FLAG_DUP;
	octet |= (f->qos < 0 ? 3u : (unsigned)f->qos & QOS_MASK) << QOS_SHIFT;
	if (f->retain)
		octet |= FLAG_RETAIN;
	if (f->will)
		octet |= FLAG_WILL;
	if (f->clean_session)
		octet |= FLAG_CLEAN;
	octet |= f->topic_id_type & TID_MASK;
	return (uint8_t)octet;
}

/* ---------------------------------------------------------------- names */

const char *mqttsn_type_name(int type)
{
	switch (type) {
	case MQTTSN_ADVERTISE: return "ADVERTISE";
	case MQTTSN_SEARCHGW: return "SEARCHGW";
	case MQTTSN_GWINFO: return "GWINFO";
	case MQTTSN_CONNECT: return "CONNECT";
	case MQTTSN_CONNACK: return "CONNACK";
	case MQTTSN_WILLTOPICREQ: return "WILLTOPICREQ";
	case MQTTSN_WILLTOPIC: return "WILLTOPIC";
	case MQTTSN_WILLMSGREQ: return "WILLMSGREQ";
	case MQTTSN_WILLMSG: return "WILLMSG";
	case MQTTSN_REGISTER: return "REGISTER";
	case MQTTSN_REGACK: return "REGACK";
	case MQTTSN_PUBLISH: return "PUBLISH";
	case MQTTSN_PUBACK: return "PUBACK";
	case MQTTSN_PUBCOMP: return "PUBCOMP";
	case MQTTSN_PUBREC: return "PUBREC";
	case MQTTSN_PUBREL: return "PUBREL";
	case MQTTSN_SUBSCRIBE: return "SUBSCRIBE";
	case MQTTSN_SUBACK: return "SUBACK";
	case MQTTSN_UNSUBSCRIBE: return "UNSUBSCRIBE";
	case MQTTSN_UNSUBACK: return "UNSUBACK";
	case MQTTSN_PINGREQ: return "PINGREQ";
	case MQTTSN_PINGRESP: return "PINGRESP";
	case MQTTSN_DISCONNECT: return "DISCONNECT";
	case MQTTSN_WILLTOPICUPD: return "WILLTOPICUPD";
	case MQTTSN_WILLTOPICRESP: return "WILLTOPICRESP";
	case MQTTSN_WILLMSGUPD: return "WILLMSGUPD";
	case MQTTSN_WILLMSGRESP: return "WILLMSGRESP";
	case MQTTSN_ENCAPSULATED: return "ENCAPSULATED";
	default: return NULL;
	}
}
