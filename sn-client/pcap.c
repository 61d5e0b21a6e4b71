/*
 * pcap.c - UDP datagrams out of a pcap capture (pcap.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "sn-client/pcap.h"

#define MAGIC_US 0xA1B2C3D4u
#define MAGIC_NS 0xA1B23C4Du
#define FRAME_MAX (256u * 1024u)

/* Link types (tcpdump.org/linktypes.html). */
#define LT_NULL 0u
#define LT_ETHERNET 1u
#define LT_RAW 101u
#define LT_SLL 113u
#define LT_IPV4 228u
#define LT_IPV6 229u
#define LT_SLL2 276u

#define ETH_IPV4 0x0800u
#define ETH_IPV6 0x86DDu
#define ETH_VLAN 0x8100u
#define ETH_QINQ 0x88A8u
#define IP_UDP 17u

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t u32(const uint8_t *p, bool swapped)
{
	uint32_t le = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	uint32_t be = (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;

	/* The magic was read little-endian; "swapped" means the file is big-endian. */
	return swapped ? be : le;
}

/* ---------------------------------------------------------------- headers */

int snc_pcap_file_header(const uint8_t *buf, size_t len, struct snc_pcap_file *out)
{
	uint32_t magic;

	if (len < SNC_PCAP_FILE_HDR)
		return SNC_ERR_CORRUPT;
	for (int sw = 0; sw <= 1; sw++) {
		magic = u32(buf, sw != 0);
		if (magic == MAGIC_US || magic == MAGIC_NS) {
			out->swapped = sw != 0;
			out->nanos = magic == MAGIC_NS;
			out->snaplen = u32(buf + 16, out->swapped);
			/* The top bits of the link type field carry FCS flags. */
			out->linktype = u32(buf + 20, out->swapped) & 0x0FFFFFFFu;
			return SNC_OK;
		}
	}
	return SNC_ERR_CORRUPT;
}

int snc_pcap_record_header(const struct snc_pcap_file *f, const uint8_t *buf, size_t len,
                           struct snc_pcap_record *out)
{
	if (len < SNC_PCAP_REC_HDR)
		return SNC_ERR_CORRUPT;
	out->ts_sec = u32(buf, f->swapped);
	out->ts_frac = u32(buf + 4, f->swapped);
	out->incl_len = u32(buf + 8, f->swapped);
	out->orig_len = u32(buf + 12, f->swapped);
	return out->incl_len > FRAME_MAX ? SNC_ERR_CORRUPT : SNC_OK;
}

/* ---------------------------------------------------------------- layers */

static int udp(const uint8_t *p, size_t len, struct snc_pcap_udp *out)
{
	size_t ulen;

	if (len < 8)
		return SNC_ERR_CORRUPT;
	out->sport = be16(p);
	out->dport = be16(p + 2);
	ulen = be16(p + 4);
	/* The UDP length field, when sane, says where padding begins. */
	if (ulen < 8 || ulen > len)
		ulen = len;
	out->payload = p + 8;
	out->len = ulen - 8;
	return SNC_OK;
}

static int ipv4(const uint8_t *p, size_t len, struct snc_pcap_udp *out)
{
	size_t ihl, total;

	if (len < 20)
		return SNC_ERR_CORRUPT;
	if ((p[0] >> 4) != 4)
		return SNC_ERR_NOT_FOUND;
	ihl = (size_t)(p[0] & 0x0F) * 4;
	total = be16(p + 2);
	if (ihl < 20 || ihl > len)
		return SNC_ERR_CORRUPT;
	if (total >= ihl && total < len)
		len = total; /* drop link-layer padding */
	if (p[9] != IP_UDP)
		return SNC_ERR_NOT_FOUND;
	/* Only a first fragment carries the UDP header. */
	if ((be16(p + 6) & 0x1FFFu) != 0)
		return SNC_ERR_NOT_FOUND;
	out->family = 4;
	memcpy(out->src, p + 12, 4);
	memcpy(out->dst, p + 16, 4);
	return udp(p + ihl, len - ihl, out);
}

static int ipv6(const uint8_t *p, size_t len, struct snc_pcap_udp *out)
{
	size_t off = 40, plen;
	uint8_t next;

	if (len < 40)
		return SNC_ERR_CORRUPT;
	if ((p[0] >> 4) != 6)
		return SNC_ERR_NOT_FOUND;
	plen = be16(p + 4);
	if (plen > 0 && plen < len - 40)
		len = 40 + plen;
	next = p[6];
	/* Hop-by-hop, routing and destination options may come first. */
	while (next == 0 || next == 43 || next == 60) {
		size_t ext;

		if (len - off < 8)
			return SNC_ERR_CORRUPT;
		ext = ((size_t)p[off + 1] + 1) * 8;
		if (ext > len - off)
			return SNC_ERR_CORRUPT;
		next = p[off];
		off += ext;
	}
	if (next != IP_UDP)
		return SNC_ERR_NOT_FOUND;
	out->family = 6;
	memcpy(out->src, p + 8, 16);
	memcpy(out->dst, p + 24, 16);
	return udp(p + off, len - off, out);
}

static int by_ethertype(uint16_t type, const uint8_t *p, size_t len, struct snc_pcap_udp *out)
{
	if (type == ETH_IPV4)
		return ipv4(p, len, out);
	if (type == ETH_IPV6)
		return ipv6(p, len, out);
	return SNC_ERR_NOT_FOUND;
}

static int by_version(const uint8_t *p, size_t len, struct snc_pcap_udp *out)
{
	if (len < 1)
		return SNC_ERR_CORRUPT;
	return (p[0] >> 4) == 6 ? ipv6(p, len, out) : ipv4(p, len, out);
}

int snc_pcap_udp(uint32_t linktype, const uint8_t *frame, size_t len, struct snc_pcap_udp *out)
{
	size_t off;
	uint16_t type;

	memset(out, 0, sizeof *out);
	switch (linktype) {
	case LT_ETHERNET:
		if (len < 14)
			return SNC_ERR_CORRUPT;
		type = be16(frame + 12);
		off = 14;
		while (type == ETH_VLAN || type == ETH_QINQ) {
			if (len - off < 4)
				return SNC_ERR_CORRUPT;
			type = be16(frame + off + 2);
			off += 4;
		}
		return by_ethertype(type, frame + off, len - off, out);
	case LT_SLL:
		if (len < 16)
			return SNC_ERR_CORRUPT;
		return by_ethertype(be16(frame + 14), frame + 16, len - 16, out);
	case LT_SLL2:
		if (len < 20)
			return SNC_ERR_CORRUPT;
		return by_ethertype(be16(frame), frame + 20, len - 20, out);
	case LT_NULL:
		/* A 4-octet address family in the capturing host's order; the IP
		 * version nibble after it says the same more reliably. */
		if (len < 4)
			return SNC_ERR_CORRUPT;
		return by_version(frame + 4, len - 4, out);
	case LT_RAW:
	case LT_IPV4:
	case LT_IPV6:
		return by_version(frame, len, out);
	default:
		return SNC_ERR_NOT_FOUND;
	}
}

void snc_pcap_format(const struct snc_pcap_udp *u, bool src, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	const uint8_t *a = src ? u->src : u->dst;
	unsigned port = src ? u->sport : u->dport;

	if (u->family == 6) {
		inet_ntop(AF_INET6, a, host, sizeof host);
		snprintf(out, cap, "[%s]:%u", host, port);
	} else {
		inet_ntop(AF_INET, a, host, sizeof host);
		snprintf(out, cap, "%s:%u", host, port);
	}
}
