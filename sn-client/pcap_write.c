/*
 * pcap_write.c - captures written by the station's tools (pcap.h): each
 * datagram gets the IP and UDP headers it would have had on the wire, so
 * that any pcap reader decodes it.
 */
#include <string.h>

#include "sn-client/pcap.h"

#define LINKTYPE_RAW 101u
#define IPV4_HDR 20u
#define IPV6_HDR 40u
#define UDP_HDR 8u
#define IP_UDP 17u

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The one's complement sum of buf (RFC 1071), added to sum. */
static uint32_t sum16(uint32_t sum, const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)buf[i] << 8 | buf[i + 1];
	if (i < len)
		sum += (uint32_t)buf[i] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFFu) + (sum >> 16);
	return (uint16_t)~sum;
}

void snc_pcap_write_file_header(uint8_t out[SNC_PCAP_FILE_HDR])
{
	le32(out, 0xA1B2C3D4u);
	out[4] = 2; /* version 2.4 */
	out[5] = 0;
	out[6] = 4;
	out[7] = 0;
	le32(out + 8, 0);  /* thiszone */
	le32(out + 12, 0); /* sigfigs */
	le32(out + 16, 65535u + IPV6_HDR);
	le32(out + 20, LINKTYPE_RAW);
}

static size_t ip_hdr(int family)
{
	return family == 6 ? IPV6_HDR : IPV4_HDR;
}

size_t snc_pcap_udp_record_size(const struct snc_pcap_udp *u)
{
	return SNC_PCAP_REC_HDR + ip_hdr(u->family) + UDP_HDR + u->len;
}

int snc_pcap_write_udp(uint8_t *out, size_t cap, uint32_t ts_sec, uint32_t ts_usec,
                       const struct snc_pcap_udp *u)
{
	size_t iph, frame, udp_len, need;
	uint8_t *ip, *udp;
	uint32_t sum;

	if (u->family != 4 && u->family != 6)
		return SNC_ERR_INVALID;
	if (u->len > SNC_PCAP_WRITE_MAX || (u->len > 0 && u->payload == NULL))
		return SNC_ERR_TOO_BIG;
	iph = ip_hdr(u->family);
	udp_len = UDP_HDR + u->len;
	frame = iph + udp_len;
	need = SNC_PCAP_REC_HDR + frame;
	if (cap < need)
		return SNC_ERR_FULL;

	le32(out, ts_sec);
	le32(out + 4, ts_usec);
	le32(out + 8, (uint32_t)frame);
	le32(out + 12, (uint32_t)frame);
	ip = out + SNC_PCAP_REC_HDR;
	udp = ip + iph;
	memset(ip, 0, iph + UDP_HDR);
	if (u->family == 4) {
		ip[0] = 0x45;            /* version 4, 5 words of header */
		be16(ip + 2, (uint32_t)frame);
		ip[6] = 0x40;            /* don't fragment */
		ip[8] = 64;              /* TTL */
		ip[9] = IP_UDP;
		memcpy(ip + 12, u->src, 4);
		memcpy(ip + 16, u->dst, 4);
		be16(ip + 10, fold(sum16(0, ip, IPV4_HDR)));
		/* The UDP pseudo-header (RFC 768). */
		sum = sum16(0, u->src, 4);
		sum = sum16(sum, u->dst, 4);
		sum += IP_UDP + (uint32_t)udp_len;
	} else {
		ip[0] = 0x60;            /* version 6 */
		be16(ip + 4, (uint32_t)udp_len);
		ip[6] = IP_UDP;
		ip[7] = 64;              /* hop limit */
		memcpy(ip + 8, u->src, 16);
		memcpy(ip + 24, u->dst, 16);
		/* RFC 8200 8.1 */
		sum = sum16(0, u->src, 16);
		sum = sum16(sum, u->dst, 16);
		sum += (uint32_t)udp_len + IP_UDP;
	}
	be16(udp, u->sport);
	be16(udp + 2, u->dport);
	be16(udp + 4, (uint32_t)udp_len);
	if (u->len > 0)
		memcpy(udp + UDP_HDR, u->payload, u->len);
	sum = sum16(sum, udp, udp_len);
	{
		uint16_t c = fold(sum);

		/* 0 means "no checksum" in IPv4 and is not allowed in IPv6. */
		be16(udp + 6, c == 0 ? 0xFFFFu : c);
	}
	return (int)need;
}
