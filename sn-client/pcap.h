/*
 * pcap.h - just enough of the pcap file format to find UDP datagrams in a
 * capture, for sn-dump: the file and record headers (either byte order,
 * micro- or nanosecond stamps) and, inside a frame, Ethernet (with VLAN
 * tags), Linux cooked (SLL, SLL2), BSD loopback, or raw IPv4/IPv6, then UDP.
 * And the other way (pcap_write.c): a capture of datagrams a program saw,
 * in raw IP frames that Wireshark and tshark read, without a privileged
 * capture.
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

/* ---------------------------------------------------------------- writing */

/* The largest payload a written record carries: one IPv4 packet's worth. */
#define SNC_PCAP_WRITE_MAX (65535u - 20u - 8u)

/*
 * The file header of a capture this writer makes: little-endian,
 * microsecond stamps, link type 101 (raw IPv4 or IPv6, no link header).
 */
void snc_pcap_write_file_header(uint8_t out[SNC_PCAP_FILE_HDR]);

/* The octets snc_pcap_write_udp() writes for u. */
size_t snc_pcap_udp_record_size(const struct snc_pcap_udp *u);

/*
 * One record: u's payload in a UDP header inside an IPv4 (family 4) or
 * IPv6 (family 6) header, with correct lengths and checksums, stamped
 * ts_sec + ts_usec. Returns the octets written, SNC_ERR_FULL when cap is
 * too small, SNC_ERR_TOO_BIG for a payload over SNC_PCAP_WRITE_MAX, or
 * SNC_ERR_INVALID for another family.
 */
SNC_MUST_CHECK int snc_pcap_write_udp(uint8_t *out, size_t cap, uint32_t ts_sec,
                                      uint32_t ts_usec, const struct snc_pcap_udp *u);

#endif
