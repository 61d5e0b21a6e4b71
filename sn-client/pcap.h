/*
 * pcap.h - just enough of the pcap file format to find UDP datagrams in a
 * capture, for sn-dump: the file and record headers (either byte order,
 * micro- or nanosecond stamps) and, inside a frame, Ethernet (with VLAN
 * tags), Linux cooked (SLL, SLL2), BSD loopback, or raw IPv4/IPv6, then UDP.
 *
 * Pure functions over buffers: the caller reads the file. Captured data is
 * untrusted: every length is checked before it is used.
 */
#ifndef SNBRIDGE_SNC_PCAP_H
#define SNBRIDGE_SNC_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sn-client/error.h"

#define SNC_PCAP_FILE_HDR 24u
#define SNC_PCAP_REC_HDR 16u

struct snc_pcap_file {
	bool swapped;       /* written on a host of the other byte order */
	bool nanos;         /* stamps in nanoseconds, not microseconds */
	uint32_t linktype;
	uint32_t snaplen;
};

struct snc_pcap_record {
	uint32_t ts_sec;
	uint32_t ts_frac;   /* micro- or nanoseconds, as the file says */
	uint32_t incl_len;  /* octets of the frame in the file */
	uint32_t orig_len;  /* octets the frame had on the wire */
};

/* A UDP datagram found in a frame; addresses in network order. */
struct snc_pcap_udp {
	int family;         /* 4 or 6 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	const uint8_t *payload;
	size_t len;
};

/* Parse the 24-octet file header. SNC_OK or SNC_ERR_CORRUPT (not pcap). */
SNC_MUST_CHECK int snc_pcap_file_header(const uint8_t *buf, size_t len, struct snc_pcap_file *out);

/* Parse a 16-octet record header. SNC_OK or SNC_ERR_CORRUPT (a frame over 256 KiB). */
SNC_MUST_CHECK int snc_pcap_record_header(const struct snc_pcap_file *f, const uint8_t *buf,
                                          size_t len, struct snc_pcap_record *out);

/*
 * Find the UDP datagram in a frame of the given link type. SNC_OK with *out
 * set (payload a view into frame), SNC_ERR_NOT_FOUND when the frame holds
 * no UDP datagram (another protocol, a non-first IPv4 fragment, an unknown
 * link type), SNC_ERR_CORRUPT when it is cut short.
 */
SNC_MUST_CHECK int snc_pcap_udp(uint32_t linktype, const uint8_t *frame, size_t len,
                                struct snc_pcap_udp *out);

/* "address:port" of the source (src true) or destination, IPv6 in brackets. */
void snc_pcap_format(const struct snc_pcap_udp *u, bool src, char *out, size_t cap);

#endif
