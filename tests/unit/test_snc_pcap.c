/*
 * test_snc_pcap.c - finding UDP datagrams in pcap captures (sn-client/pcap.h):
 * file headers in both byte orders, every link type sn-dump reads, and
 * every cut of every frame handled without reading past it; and writing
 * them (pcap_write.c): known-answer frames with their checksums, read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sn-client/pcap.h"

/* A PINGRESP from 10.0.0.1:1884 to 10.0.0.2:40000. */
static const uint8_t ipv4_udp[] = {
	0x45, 0x00, 0x00, 0x1e, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, /* IPv4, 30 octets, DF, UDP */
	10, 0, 0, 1, 10, 0, 0, 2,
	0x07, 0x5c, 0x9c, 0x40, 0x00, 0x0a, 0x00, 0x00, /* 1884 -> 40000, length 10 */
	0x02, 0x17,                                     /* PINGRESP */
};

/* The same in IPv6 from ::1 to ::2, after a destination-options header. */
static const uint8_t ipv6_udp[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x12, 60, 64, /* payload 18, next: dest opts */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	17, 0, 1, 4, 0, 0, 0, 0,                        /* dest opts: next UDP, 8 octets */
	0x07, 0x5c, 0x9c, 0x40, 0x00, 0x0a, 0x00, 0x00,
	0x02, 0x17,
};

static size_t frame(uint8_t *out, const uint8_t *link, size_t link_len, const uint8_t *ip,
                    size_t ip_len)
{
	memcpy(out, link, link_len);
	memcpy(out + link_len, ip, ip_len);
	return link_len + ip_len;
}

static void expect_pingresp(const struct snc_pcap_udp *u, int family)
{
	char a[64];

	assert_int_equal(u->family, family);
	assert_int_equal(u->sport, 1884);
	assert_int_equal(u->dport, 40000);
	assert_int_equal(u->len, 2);
	assert_memory_equal(u->payload, "\x02\x17", 2);
	snc_pcap_format(u, true, a, sizeof a);
	assert_string_equal(a, family == 4 ? "10.0.0.1:1884" : "[::1]:1884");
	snc_pcap_format(u, false, a, sizeof a);
	assert_string_equal(a, family == 4 ? "10.0.0.2:40000" : "[::2]:40000");
}

/* Every cut of a frame either fails cleanly or finds no more than is there. */
static void every_cut(uint32_t linktype, const uint8_t *f, size_t len)
{
	struct snc_pcap_udp u;

	for (size_t cut = 0; cut < len; cut++) {
		/* A copy of exactly cut octets, so that the sanitizers see any over-read. */
		uint8_t *copy = malloc(cut ? cut : 1);
		int rc;

		assert_non_null(copy);
		memcpy(copy, f, cut);
		rc = snc_pcap_udp(linktype, copy, cut, &u);
		if (rc == SNC_OK)
			assert_true(u.payload >= copy && u.payload + u.len <= copy + cut);
		else
			assert_true(rc == SNC_ERR_CORRUPT || rc == SNC_ERR_NOT_FOUND);
		free(copy);
	}
}

static void test_ethernet(void **state)
{
	static const uint8_t eth[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00 };
	static const uint8_t vlan[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x81, 0x00, 0x00,
	                                0x05, 0x86, 0xdd };
	uint8_t f[128];
	struct snc_pcap_udp u;
	size_t n;

	(void)state;
	n = frame(f, eth, sizeof eth, ipv4_udp, sizeof ipv4_udp);
	/* Ethernet pads short frames: the IP length says where the packet ends. */
	memset(f + n, 0xEE, 6);
	assert_int_equal(snc_pcap_udp(1, f, n + 6, &u), SNC_OK);
	expect_pingresp(&u, 4);
	every_cut(1, f, n);
	n = frame(f, vlan, sizeof vlan, ipv6_udp, sizeof ipv6_udp);
	assert_int_equal(snc_pcap_udp(1, f, n, &u), SNC_OK);
	expect_pingresp(&u, 6);
	every_cut(1, f, n);
}

static void test_other_links(void **state)
{
	static const uint8_t sll[16] = { [14] = 0x08, [15] = 0x00 };
	static const uint8_t sll2[20] = { [0] = 0x86, [1] = 0xdd };
	static const uint8_t null4[4] = { 2, 0, 0, 0 };
	uint8_t f[128];
	struct snc_pcap_udp u;
	size_t n;

	(void)state;
	n = frame(f, sll, sizeof sll, ipv4_udp, sizeof ipv4_udp);
	assert_int_equal(snc_pcap_udp(113, f, n, &u), SNC_OK);
	expect_pingresp(&u, 4);
	every_cut(113, f, n);
	n = frame(f, sll2, sizeof sll2, ipv6_udp, sizeof ipv6_udp);
	assert_int_equal(snc_pcap_udp(276, f, n, &u), SNC_OK);
	expect_pingresp(&u, 6);
	every_cut(276, f, n);
	n = frame(f, null4, sizeof null4, ipv4_udp, sizeof ipv4_udp);
	assert_int_equal(snc_pcap_udp(0, f, n, &u), SNC_OK);
	expect_pingresp(&u, 4);
	assert_int_equal(snc_pcap_udp(101, ipv6_udp, sizeof ipv6_udp, &u), SNC_OK);
	expect_pingresp(&u, 6);
	assert_int_equal(snc_pcap_udp(228, ipv4_udp, sizeof ipv4_udp, &u), SNC_OK);
	every_cut(101, ipv6_udp, sizeof ipv6_udp);
	assert_int_equal(snc_pcap_udp(147, ipv4_udp, sizeof ipv4_udp, &u), SNC_ERR_NOT_FOUND);
}

static void test_not_udp(void **state)
{
	uint8_t p[sizeof ipv4_udp];
	struct snc_pcap_udp u;

	(void)state;
	memcpy(p, ipv4_udp, sizeof p);
	p[9] = 6; /* TCP */
	assert_int_equal(snc_pcap_udp(101, p, sizeof p, &u), SNC_ERR_NOT_FOUND);
	memcpy(p, ipv4_udp, sizeof p);
	p[6] = 0x00;
	p[7] = 0x10; /* a later fragment: no UDP header in it */
	assert_int_equal(snc_pcap_udp(101, p, sizeof p, &u), SNC_ERR_NOT_FOUND);
	memcpy(p, ipv4_udp, sizeof p);
	p[0] = 0x4f; /* header longer than the packet */
	assert_int_equal(snc_pcap_udp(101, p, sizeof p, &u), SNC_ERR_CORRUPT);
}

static void test_file_headers(void **state)
{
	static const uint8_t le_us[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0,
	                                   0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0 };
	static const uint8_t be_ns[24] = { 0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0,
	                                   0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 113 };
	static const uint8_t rec_be[16] = { 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 42, 0, 0, 0, 60 };
	static const uint8_t huge_le[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0 };
	struct snc_pcap_file f;
	struct snc_pcap_record r;

	(void)state;
	assert_int_equal(snc_pcap_file_header(le_us, sizeof le_us, &f), SNC_OK);
	assert_false(f.swapped);
	assert_false(f.nanos);
	assert_int_equal(f.linktype, 1);
	assert_int_equal(f.snaplen, 65535);
	assert_int_equal(snc_pcap_file_header(be_ns, sizeof be_ns, &f), SNC_OK);
	assert_true(f.swapped);
	assert_true(f.nanos);
	assert_int_equal(f.linktype, 113);
	assert_int_equal(snc_pcap_record_header(&f, rec_be, sizeof rec_be, &r), SNC_OK);
	assert_int_equal(r.ts_sec, 10);
	assert_int_equal(r.ts_frac, 20);
	assert_int_equal(r.incl_len, 42);
	assert_int_equal(r.orig_len, 60);
	assert_int_equal(snc_pcap_file_header(le_us, 23, &f), SNC_ERR_CORRUPT);
	assert_int_equal(snc_pcap_file_header((const uint8_t *)"\x0a\x0d\x0d\x0a pcapng.....moreoctets", 24, &f),
	                 SNC_ERR_CORRUPT);
	f.swapped = false;
	assert_int_equal(snc_pcap_record_header(&f, huge_le, sizeof huge_le, &r), SNC_ERR_CORRUPT);
}

/* ---------------------------------------------------------------- writing */

/* The PINGRESP above as the writer frames it: IP id 0, TTL 64, checksums
 * computed (by hand, RFC 1071 and 768; RFC 8200 8.1 for IPv6). */
static const uint8_t written_v4[] = {
	0x45, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x26, 0xcd,
	10, 0, 0, 1, 10, 0, 0, 2,
	0x07, 0x5c, 0x9c, 0x40, 0x00, 0x0a, 0x46, 0x24,
	0x02, 0x17,
};
static const uint8_t written_v6[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x0a, 17, 64,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x07, 0x5c, 0x9c, 0x40, 0x00, 0x0a, 0x5a, 0x24,
	0x02, 0x17,
};

static void write_and_read(int family, const uint8_t *expect, size_t expect_len)
{
	struct snc_pcap_udp u, back;
	struct snc_pcap_file f;
	struct snc_pcap_record r;
	uint8_t hdr[SNC_PCAP_FILE_HDR], rec[128];
	int n;

	memset(&u, 0, sizeof u);
	u.family = family;
	if (family == 4) {
		memcpy(u.src, "\x0a\x00\x00\x01", 4);
		memcpy(u.dst, "\x0a\x00\x00\x02", 4);
	} else {
		u.src[15] = 1;
		u.dst[15] = 2;
	}
	u.sport = 1884;
	u.dport = 40000;
	u.payload = (const uint8_t *)"\x02\x17";
	u.len = 2;
	snc_pcap_write_file_header(hdr);
	n = snc_pcap_write_udp(rec, sizeof rec, 1700000000u, 123456u, &u);
	assert_int_equal(n, (int)(SNC_PCAP_REC_HDR + expect_len));
	assert_int_equal(snc_pcap_udp_record_size(&u), (size_t)n);
	assert_memory_equal(rec + SNC_PCAP_REC_HDR, expect, expect_len);

	/* And the reader finds it again. */
	assert_int_equal(snc_pcap_file_header(hdr, sizeof hdr, &f), SNC_OK);
	assert_false(f.nanos);
	assert_int_equal(f.linktype, 101);
	assert_int_equal(snc_pcap_record_header(&f, rec, SNC_PCAP_REC_HDR, &r), SNC_OK);
	assert_int_equal(r.ts_sec, 1700000000u);
	assert_int_equal(r.ts_frac, 123456u);
	assert_int_equal(r.incl_len, expect_len);
	assert_int_equal(r.orig_len, expect_len);
	assert_int_equal(snc_pcap_udp(f.linktype, rec + SNC_PCAP_REC_HDR, r.incl_len, &back), SNC_OK);
	expect_pingresp(&back, family);

	/* Too little room, and what cannot be written. */
	assert_int_equal(snc_pcap_write_udp(rec, (size_t)n - 1, 0, 0, &u), SNC_ERR_FULL);
	u.family = 5;
	assert_int_equal(snc_pcap_write_udp(rec, sizeof rec, 0, 0, &u), SNC_ERR_INVALID);
	u.family = family;
	u.len = SNC_PCAP_WRITE_MAX + 1;
	assert_int_equal(snc_pcap_write_udp(rec, sizeof rec, 0, 0, &u), SNC_ERR_TOO_BIG);
}

static void test_write_ipv4(void **state)
{
	(void)state;
	write_and_read(4, written_v4, sizeof written_v4);
}

static void test_write_ipv6(void **state)
{
	(void)state;
	write_and_read(6, written_v6, sizeof written_v6);
}

/* A checksum that comes out 0 is sent as 0xFFFF (RFC 768). */
static void test_write_zero_checksum(void **state)
{
	struct snc_pcap_udp u;
	uint8_t rec[128];
	uint32_t sum;
	int n;

	(void)state;
	memset(&u, 0, sizeof u);
	u.family = 4;
	u.sport = 1;
	u.dport = 2;
	/* Choose the payload so that the one's complement sum is 0xFFFF: the
	 * pseudo-header and header add up to 17 + 10 + 10 + 1 + 2 = 40 (0x0028). */
	u.payload = (const uint8_t *)"\xff\xd7";
	u.len = 2;
	n = snc_pcap_write_udp(rec, sizeof rec, 0, 0, &u);
	assert_true(n > 0);
	sum = (uint32_t)rec[SNC_PCAP_REC_HDR + 26] << 8 | rec[SNC_PCAP_REC_HDR + 27];
	assert_int_equal(sum, 0xFFFF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet),
		cmocka_unit_test(test_other_links),
		cmocka_unit_test(test_not_udp),
		cmocka_unit_test(test_file_headers),
		cmocka_unit_test(test_write_ipv4),
		cmocka_unit_test(test_write_ipv6),
		cmocka_unit_test(test_write_zero_checksum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
