/* tests/unit/test_capture.c: capture/decode.c and capture/source.c.
 *
 * Decoding is tested on frames assembled in memory by the fb_* helpers
 * of capture_frames.h; every frame is handed to cap_decode() in a heap
 * buffer of exactly caplen bytes, so AddressSanitizer sees any read past
 * the capture. The source is tested on small files written with
 * libpcap's dumper (or by hand, for pcapng) into a fresh temporary
 * directory; test_capture_files.c has the rest of the file tests. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../capture/decode.h"
#include "../../capture/source.h"
#include "../../capture/cap_int.h"

#include "capture_frames.h"

/* ------------------------------------------------------------------ */
/* Link types                                                          */
/* ------------------------------------------------------------------ */

/* One way of framing an IP datagram: link type, header writer, and which
 * IP versions it can carry (0 for both). */
struct link_case {
	const char *name;
	int linktype;
	void (*put)(struct fb *f, int ipver);
	int only;
};

static const struct link_case links[] = {
	{ "ethernet", DLT_EN10MB, put_eth, 0 },
	{ "ethernet+vlan", DLT_EN10MB, put_vlan1, 0 },
	{ "sll", DLT_LINUX_SLL, put_sll, 0 },
	{ "sll2", LT_SLL2, put_sll2, 0 },
	{ "null-le", DLT_NULL, put_null_le, 0 },
	{ "null-be", DLT_NULL, put_null_be, 0 },
	{ "loop", DLT_LOOP, put_loop, 0 },
	{ "loop-linktype", LT_LOOP, put_loop, 0 },
	{ "raw-dlt", DLT_RAW, put_none, 0 },
	{ "raw-linktype", LT_RAW, put_none, 0 },
	{ "ipv4", LT_IPV4, put_none, 4 },
	{ "ipv6", LT_IPV6, put_none, 6 },
	{ "ppp-hdlc", DLT_PPP, put_ppp_hdlc, 0 },
	{ "ppp", DLT_PPP, put_ppp, 0 },
	{ "ppp-serial", DLT_PPP_SERIAL, put_ppp_hdlc, 0 },
};
#define NLINKS (sizeof(links) / sizeof(links[0]))

/* The entry of links[] called name. */
static const struct link_case *link_named(const char *name)
{
	for (size_t i = 0; i < NLINKS; i++)
		if (strcmp(links[i].name, name) == 0)
			return &links[i];
	cr_assert_fail("no link case %s", name);
	return NULL;
}

/* Builds the standard test segment (T_* values, T_PAYLOAD) over IP version
 * ipver framed by lc into f. Returns the offset of the payload, i.e. the
 * length of all headers. */
static size_t build(struct fb *f, const struct link_case *lc, int ipver)
{
	size_t hdr_end;

	memset(f, 0, sizeof(*f));
	lc->put(f, ipver);
	if (ipver == 4)
		fb_ipv4(f, 6, 0, 0x4000);	/* DF set: not a fragment */
	else
		fb_ipv6(f, 6);
	fb_tcp(f, T_FLAGS, 0);
	hdr_end = f->len;
	fb_put(f, T_PAYLOAD, T_PLEN);
	fb_finish(f);
	return hdr_end;
}

/* ------------------------------------------------------------------ */
/* Decoding helpers                                                    */
/* ------------------------------------------------------------------ */

/* Decodes the first caplen bytes of p as a frame of wirelen bytes, from a
 * heap copy of exactly caplen bytes. The payload pointer in *pkt is
 * rebased onto p so it stays valid after the copy is freed. */
static enum cap_verdict decode_cut(const uint8_t *p, uint32_t caplen,
				   uint32_t wirelen, int linktype,
				   struct isc_pkt *pkt)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	struct cap_frame fr = {
		.ts = T_TS, .index = T_INDEX, .linktype = linktype,
		.data = copy, .caplen = caplen, .wirelen = wirelen,
	};
	enum cap_verdict v;

	cr_assert_not_null(copy);
	memcpy(copy, p, caplen);
	memset(pkt, 0xa5, sizeof(*pkt));
	v = cap_decode(&fr, pkt);
	if (v == CAP_TCP) {
		cr_assert_geq(pkt->payload, copy);
		cr_assert_leq(pkt->payload + pkt->payload_len, copy + caplen);
		pkt->payload = p + (pkt->payload - copy);
	}
	free(copy);
	return v;
}

/* Decodes the whole frame f (caplen = wirelen = f->len). */
static enum cap_verdict decode(const struct fb *f, int linktype,
			       struct isc_pkt *pkt)
{
	return decode_cut(f->b, (uint32_t)f->len, (uint32_t)f->len, linktype,
			  pkt);
}

/* Checks every field of a decoded standard test segment: addresses of
 * family ipver, ports, numbers, flags, window, frame ts and index, and
 * plen payload bytes present (a prefix of T_PAYLOAD) with missing more. */
static void check_pkt(const struct isc_pkt *p, int ipver, uint32_t plen,
		      uint32_t missing)
{
	uint8_t zero[16] = { 0 }, s[16] = { 0 }, d[16] = { 0 };

	memcpy(s, ipver == 4 ? src4 : src6, ipver == 4 ? 4 : 16);
	memcpy(d, ipver == 4 ? dst4 : dst6, ipver == 4 ? 4 : 16);
	cr_assert_eq(p->src.family, ipver);
	cr_assert_eq(p->dst.family, ipver);
	cr_assert_arr_eq(p->src.a, s, 16);
	cr_assert_arr_eq(p->dst.a, d, 16);
	if (ipver == 4) {
		cr_assert_arr_eq(p->src.a + 4, zero, 12);
		cr_assert_arr_eq(p->dst.a + 4, zero, 12);
	}
	cr_assert_eq(p->ts, T_TS);
	cr_assert_eq(p->index, T_INDEX);
	cr_assert_eq(p->sport, T_SPORT);
	cr_assert_eq(p->dport, T_DPORT);
	cr_assert_eq(p->seq, T_SEQ);
	cr_assert_eq(p->ack, T_ACK);
	cr_assert_eq(p->win, T_WIN);
	cr_assert_eq(p->flags, T_FLAGS);
	cr_assert_eq(p->payload_len, plen, "payload_len %u, want %u",
		     p->payload_len, plen);
	cr_assert_eq(p->payload_missing, missing, "missing %u, want %u",
		     p->payload_missing, missing);
	if (plen > 0)
		cr_assert_arr_eq(p->payload, T_PAYLOAD, plen);
}

/* Decodes f expecting verdict want; names the verdicts on failure. */
static void expect(const struct fb *f, int linktype, enum cap_verdict want)
{
	struct isc_pkt pkt;
	enum cap_verdict v = decode(f, linktype, &pkt);

	cr_assert_eq(v, want, "verdict %s, want %s", cap_verdict_names[v],
		     cap_verdict_names[want]);
}

/* ------------------------------------------------------------------ */
/* Decoding tests                                                      */
/* ------------------------------------------------------------------ */

Test(decode_names, every_verdict_named)
{
	static const char *const want[CAP_DECODER_VERDICT_COUNT] = {
		"tcp", "unsupported_link", "not_ip", "not_tcp", "fragment",
		"truncated", "invalid_link", "invalid_ip", "invalid_tcp",
		"fragment_held", "fragment_reassembled",
	};

	/* cap_decode()'s verdicts keep their values and names */
	cr_assert_eq(CAP_VERDICT_COUNT, 9);
	for (int i = 0; i < CAP_DECODER_VERDICT_COUNT; i++)
		cr_assert_str_eq(cap_verdict_names[i], want[i]);
}

Test(decode_names, every_reason_named_once)
{
	for (int i = 0; i < CAP_REASON_COUNT; i++) {
		cr_assert_not_null(cap_reason_names[i], "reason %d", i);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(cap_reason_names[i],
					  cap_reason_names[j]);
	}
}

Test(decode_link, every_link_type_both_ip_versions)
{
	struct isc_pkt pkt;
	struct fb f;

	for (size_t i = 0; i < NLINKS; i++) {
		for (int v = 4; v <= 6; v += 2) {
			if (links[i].only != 0 && links[i].only != v)
				continue;
			build(&f, &links[i], v);
			cr_assert_eq(decode(&f, links[i].linktype, &pkt),
				     CAP_TCP, "%s over %s", links[i].name,
				     v == 4 ? "IPv4" : "IPv6");
			check_pkt(&pkt, v, T_PLEN, 0);
		}
	}
}

Test(decode_link, vlan_stack_depth_3)
{
	static const uint16_t tpids[3] = { 0x88a8, 0x9100, 0x8100 };
	struct isc_pkt pkt;
	struct fb f = { .len = 0 };

	fb_eth(&f, tpids, 3, 0x0800);
	fb_ipv4(&f, 6, 0, 0);
	fb_tcp(&f, T_FLAGS, 0);
	fb_put(&f, T_PAYLOAD, T_PLEN);
	fb_finish(&f);
	cr_assert_eq(decode(&f, DLT_EN10MB, &pkt), CAP_TCP);
	check_pkt(&pkt, 4, T_PLEN, 0);
}

Test(decode_link, ethernet_padding_excluded)
{
	struct isc_pkt pkt;
	struct fb f;

	for (int v = 4; v <= 6; v += 2) {
		build(&f, link_named("ethernet"), v);
		fb_fill(&f, 0xaa, 64);		/* padding / trailer */
		cr_assert_eq(decode(&f, DLT_EN10MB, &pkt), CAP_TCP);
		check_pkt(&pkt, v, T_PLEN, 0);
	}
}

Test(decode_link, not_ip)
{
	static const uint16_t tpid[1] = { 0x8100 };
	struct fb f = { .len = 0 };

	fb_eth(&f, NULL, 0, 0x0806);		/* ARP */
	fb_fill(&f, 0, 28);
	expect(&f, DLT_EN10MB, CAP_NOT_IP);

	fb_reset(&f);
	fb_eth(&f, tpid, 1, 0x0806);		/* ARP in a VLAN */
	fb_fill(&f, 0, 28);
	expect(&f, DLT_EN10MB, CAP_NOT_IP);

	fb_reset(&f);
	fb_eth(&f, NULL, 0, 46);		/* 802.3 length field */
	fb_fill(&f, 0, 46);
	expect(&f, DLT_EN10MB, CAP_NOT_IP);

	fb_reset(&f);
	fb_sll(&f, 0x0806);
	fb_fill(&f, 0, 28);
	expect(&f, DLT_LINUX_SLL, CAP_NOT_IP);

	fb_reset(&f);
	fb_bsd(&f, 7, false);			/* some other family */
	fb_fill(&f, 0, 28);
	expect(&f, DLT_NULL, CAP_NOT_IP);

	fb_reset(&f);
	fb_ppp(&f, true, 0xc021);		/* LCP */
	fb_fill(&f, 0, 28);
	expect(&f, DLT_PPP, CAP_NOT_IP);
}

Test(decode_link, unsupported_link_type)
{
	struct fb f;

	build(&f, link_named("ethernet"), 4);
	expect(&f, 105, CAP_UNSUPPORTED_LINK);		/* IEEE 802.11 */
	expect(&f, 147, CAP_UNSUPPORTED_LINK);		/* USER0 */
}

Test(decode_link, short_link_headers)
{
	struct isc_pkt pkt;
	struct fb f;

	build(&f, link_named("ethernet"), 4);
	/* Complete frame on the wire, but shorter than the header: bad. */
	cr_assert_eq(decode_cut(f.b, 10, 10, DLT_EN10MB, &pkt),
		     CAP_INVALID_LINK);
	/* The same bytes cut by the snaplen: truncated. */
	cr_assert_eq(decode_cut(f.b, 10, (uint32_t)f.len, DLT_EN10MB, &pkt),
		     CAP_TRUNCATED);
	/* Raw IP with nothing captured. */
	cr_assert_eq(decode_cut(f.b, 0, 0, DLT_RAW, &pkt), CAP_INVALID_IP);
	cr_assert_eq(decode_cut(f.b, 0, 40, DLT_RAW, &pkt), CAP_TRUNCATED);
}

Test(decode_ip, raw_bad_version)
{
	struct fb f;

	/* raw IP, version 5 */
	build(&f, link_named("raw-dlt"), 4);
	f.b[0] = 0x55;
	expect(&f, DLT_RAW, CAP_INVALID_IP);
	/* ethertype IPv4, version 6 */
	build(&f, link_named("ethernet"), 4);
	f.b[f.ip_off] = 0x65;
	expect(&f, DLT_EN10MB, CAP_INVALID_IP);
	/* ethertype IPv6, version 4 */
	build(&f, link_named("ethernet"), 6);
	f.b[f.ip_off] = 0x40;
	expect(&f, DLT_EN10MB, CAP_INVALID_IP);
}

Test(decode_ip, ipv4_options)
{
	struct isc_pkt pkt;
	struct fb f = { .len = 0 };
	size_t hdr_end;

	fb_eth(&f, NULL, 0, 0x0800);
	fb_ipv4(&f, 6, 12, 0);
	fb_tcp(&f, T_FLAGS, 8);			/* TCP options too */
	hdr_end = f.len;
	fb_put(&f, T_PAYLOAD, T_PLEN);
	fb_finish(&f);
	cr_assert_eq(decode(&f, DLT_EN10MB, &pkt), CAP_TCP);
	check_pkt(&pkt, 4, T_PLEN, 0);

	/* Cut inside the options: truncated. */
	cr_assert_eq(decode_cut(f.b, 14 + 24, (uint32_t)f.len, DLT_EN10MB,
				&pkt), CAP_TRUNCATED);
	/* Cut inside the TCP options: truncated. */
	cr_assert_eq(decode_cut(f.b, (uint32_t)hdr_end - 1, (uint32_t)f.len,
				DLT_EN10MB, &pkt), CAP_TRUNCATED);
}

Test(decode_ip, ipv4_ihl_below_5)
{
	struct fb f;

	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		build(&f, link_named("ethernet"), 4);
		f.b[f.ip_off] = (uint8_t)(0x40 | ihl);
		expect(&f, DLT_EN10MB, CAP_INVALID_IP);
	}
}

Test(decode_ip, ipv4_total_length_below_header)
{
	struct fb f = { .len = 0 };

	build(&f, link_named("ethernet"), 4);
	fb_set16(&f, f.ip_off + 2, 19);
	expect(&f, DLT_EN10MB, CAP_INVALID_IP);

	/* IHL 7 (28 bytes) with a total length of 24. */
	fb_reset(&f);
	fb_eth(&f, NULL, 0, 0x0800);
	fb_ipv4(&f, 6, 8, 0);
	fb_tcp(&f, T_FLAGS, 0);
	fb_set16(&f, f.ip_off + 2, 24);
	expect(&f, DLT_EN10MB, CAP_INVALID_IP);
}

Test(decode_ip, ip_length_past_the_wire)
{
	struct isc_pkt pkt;
	struct fb f;

	for (int v = 4; v <= 6; v += 2) {
		build(&f, link_named("ethernet"), v);
		if (v == 4)
			fb_set16(&f, f.ip_off + 2, (uint16_t)(f.len - 14 + 1));
		else
			fb_set16(&f, f.ip_off + 4, (uint16_t)(f.len - 54 + 1));
		expect(&f, DLT_EN10MB, CAP_INVALID_IP);
		/* Even when the snaplen cut the frame: the wire length
		 * still says the IP length lies. */
		cr_assert_eq(decode_cut(f.b, (uint32_t)f.len - 4,
					(uint32_t)f.len, DLT_EN10MB, &pkt),
			     CAP_INVALID_IP);
	}
}

Test(decode_ip, ipv4_fragments)
{
	struct isc_pkt pkt;
	struct fb f;

	/* 29 bytes of data: only a last fragment may carry that many */
	build(&f, link_named("ethernet"), 4);
	fb_set16(&f, f.ip_off + 6, 0x0064);		/* offset 800 bytes */
	expect(&f, DLT_EN10MB, CAP_FRAGMENT);
	fb_set16(&f, f.ip_off + 6, 0x2000);		/* MF, offset 0 */
	expect(&f, DLT_EN10MB, CAP_INVALID_IP);
	fb_set16(&f, f.ip_off + 6, 0x2064);
	expect(&f, DLT_EN10MB, CAP_INVALID_IP);
	fb_set16(&f, f.ip_off + 6, 0x4000);		/* DF only */
	cr_assert_eq(decode(&f, DLT_EN10MB, &pkt), CAP_TCP);
	check_pkt(&pkt, 4, T_PLEN, 0);

	/* 32 bytes of data: fine with MF too */
	fb_reset(&f);
	fb_eth(&f, NULL, 0, 0x0800);
	fb_ipv4(&f, 6, 0, 0x2000);
	fb_tcp(&f, T_FLAGS, 0);
	fb_fill(&f, 'x', 12);
	fb_finish(&f);
	expect(&f, DLT_EN10MB, CAP_FRAGMENT);
	fb_set16(&f, f.ip_off + 6, 0x2064);
	expect(&f, DLT_EN10MB, CAP_FRAGMENT);
	/* offset 8184 * 8 + 32 > 65535 */
	fb_set16(&f, f.ip_off + 6, 0x2000 | 8188);
	expect(&f, DLT_EN10MB, CAP_INVALID_IP);
	fb_set16(&f, f.ip_off + 6, 0x2000 | 8187);	/* ends at 65528 */
	expect(&f, DLT_EN10MB, CAP_FRAGMENT);
	/* a fragment of UDP is a fragment too, for cap_decode() */
	f.b[f.ip_off + 9] = 17;
	expect(&f, DLT_EN10MB, CAP_FRAGMENT);
}

Test(decode_ip, not_tcp)
{
	struct fb f = { .len = 0 };

	fb_eth(&f, NULL, 0, 0x0800);
	fb_ipv4(&f, 17, 0, 0);
	fb_udp(&f);
	fb_put(&f, "hello", 5);
	fb_finish(&f);
	expect(&f, DLT_EN10MB, CAP_NOT_TCP);

	fb_reset(&f);
	fb_eth(&f, NULL, 0, 0x86dd);
	fb_ipv6(&f, 17);
	fb_udp(&f);
	fb_finish(&f);
	expect(&f, DLT_EN10MB, CAP_NOT_TCP);

	/* UDP behind a destination options header. */
	fb_reset(&f);
	fb_eth(&f, NULL, 0, 0x86dd);
	fb_ipv6(&f, 60);
	fb_ip6_ext(&f, 17, 0);
	fb_udp(&f);
	fb_finish(&f);
	expect(&f, DLT_EN10MB, CAP_NOT_TCP);

	/* No next header (59). */
	fb_reset(&f);
	fb_ipv6(&f, 59);
	fb_finish(&f);
	expect(&f, DLT_RAW, CAP_NOT_TCP);
}

Test(decode_ip, ipv6_extension_chain)
{
	struct isc_pkt pkt;
	struct fb f = { .len = 0 };

	/* hop-by-hop, then destination options, then TCP */
	fb_eth(&f, NULL, 0, 0x86dd);
	fb_ipv6(&f, 0);
	fb_ip6_ext(&f, 60, 0);
	fb_ip6_ext(&f, 6, 2);
	fb_tcp(&f, T_FLAGS, 0);
	fb_put(&f, T_PAYLOAD, T_PLEN);
	fb_finish(&f);
	cr_assert_eq(decode(&f, DLT_EN10MB, &pkt), CAP_TCP);
	check_pkt(&pkt, 6, T_PLEN, 0);

	/* hop-by-hop, routing, atomic fragment, AH, destination options */
	fb_reset(&f);
	fb_ipv6(&f, 0);
	fb_ip6_ext(&f, 43, 0);
	fb_ip6_ext(&f, 44, 1);
	fb_ip6_frag(&f, 51, 0, false);
	fb_ip6_ah(&f, 60);
	fb_ip6_ext(&f, 6, 0);
	fb_tcp(&f, T_FLAGS, 0);
	fb_put(&f, T_PAYLOAD, T_PLEN);
	fb_finish(&f);
	cr_assert_eq(decode(&f, DLT_RAW, &pkt), CAP_TCP);
	check_pkt(&pkt, 6, T_PLEN, 0);
}

Test(decode_ip, ipv6_chain_off_the_end)
{
	struct isc_pkt pkt;
	struct fb f = { .len = 0 };

	/* A hop-by-hop header of 32 bytes, then TCP. */
	fb_ipv6(&f, 0);
	fb_ip6_ext(&f, 6, 3);
	fb_tcp(&f, T_FLAGS, 0);
	fb_put(&f, T_PAYLOAD, T_PLEN);
	fb_finish(&f);

	/* The snaplen cut the frame inside the header: truncated. */
	cr_assert_eq(decode_cut(f.b, 40 + 16, (uint32_t)f.len, DLT_RAW, &pkt),
		     CAP_TRUNCATED);
	cr_assert_eq(decode_cut(f.b, 40 + 1, (uint32_t)f.len, DLT_RAW, &pkt),
		     CAP_TRUNCATED);
	/* The payload length ends inside the header: invalid. */
	fb_set16(&f, 4, 16);
	expect(&f, DLT_RAW, CAP_INVALID_IP);
	/* The frame itself ends inside the header, uncut: invalid. */
	fb_set16(&f, 4, 16);
	cr_assert_eq(decode_cut(f.b, 40 + 16, 40 + 16, DLT_RAW, &pkt),
		     CAP_INVALID_IP);
	/* The header's own length runs past the payload. */
	f.b[41] = 200;
	fb_set16(&f, 4, (uint16_t)(f.len - 40));
	expect(&f, DLT_RAW, CAP_INVALID_IP);
}

Test(decode_ip, ipv6_jumbogram_unsupported)
{
	struct fb f = { .len = 0 };

	fb_ipv6(&f, 0);
	fb_ip6_ext(&f, 6, 0);
	fb_tcp(&f, T_FLAGS, 0);
	/* payload length stays 0: a jumbogram */
	expect(&f, DLT_RAW, CAP_INVALID_IP);
}

Test(decode_ip, ipv6_fragments)
{
	struct isc_pkt pkt;
	struct fb f = { .len = 0 };

	/* first fragment: offset 0, M set, 29 bytes: not a multiple of 8 */
	fb_ipv6(&f, 44);
	fb_ip6_frag(&f, 6, 0, true);
	fb_tcp(&f, T_FLAGS, 0);
	fb_put(&f, T_PAYLOAD, T_PLEN);
	fb_finish(&f);
	expect(&f, DLT_RAW, CAP_INVALID_IP);

	/* last fragment: offset 5, M clear */
	fb_set16(&f, 42, 5 << 3);
	expect(&f, DLT_RAW, CAP_FRAGMENT);
	/* 65512 + 29 bytes: past 65535 */
	fb_set16(&f, 42, 8189 << 3);
	expect(&f, DLT_RAW, CAP_INVALID_IP);

	/* atomic fragment (RFC 6946): decoded */
	fb_set16(&f, 42, 0);
	cr_assert_eq(decode(&f, DLT_RAW, &pkt), CAP_TCP);
	check_pkt(&pkt, 6, T_PLEN, 0);

	/* reserved bits alone do not make a fragment */
	fb_set16(&f, 42, 0x0006);
	cr_assert_eq(decode(&f, DLT_RAW, &pkt), CAP_TCP);
}

Test(decode_tcp, data_offset_below_5)
{
	struct fb f;

	for (uint8_t off = 0; off < 5; off++) {
		build(&f, link_named("ethernet"), 4);
		f.b[14 + 20 + 12] = (uint8_t)(off << 4);
		expect(&f, DLT_EN10MB, CAP_INVALID_TCP);
	}
}

Test(decode_tcp, data_offset_past_the_segment)
{
	struct isc_pkt pkt;
	struct fb f;

	for (int v = 4; v <= 6; v += 2) {
		size_t tcp = 14 + (v == 4 ? 20 : 40);

		/* 60-byte header in a 29-byte segment. */
		build(&f, link_named("ethernet"), v);
		f.b[tcp + 12] = 0xf0;
		expect(&f, DLT_EN10MB, CAP_INVALID_TCP);
		/* ... however much of it was captured */
		cr_assert_eq(decode_cut(f.b, (uint32_t)tcp + 20,
					(uint32_t)f.len, DLT_EN10MB, &pkt),
			     CAP_INVALID_TCP);
		/* 28-byte header in a 29-byte segment, cut after 24 bytes:
		 * the header was sent, only the snaplen cut it. */
		f.b[tcp + 12] = 0x70;
		cr_assert_eq(decode_cut(f.b, (uint32_t)tcp + 24,
					(uint32_t)f.len, DLT_EN10MB, &pkt),
			     CAP_TRUNCATED);
	}
}

Test(decode_tcp, header_past_the_ip_payload)
{
	struct fb f;

	/* IP says 10 bytes of transport: not room for a TCP header, even
	 * though the frame holds one (the rest looks like padding). */
	build(&f, link_named("ethernet"), 4);
	fb_set16(&f, f.ip_off + 2, 30);
	expect(&f, DLT_EN10MB, CAP_INVALID_TCP);
	build(&f, link_named("ethernet"), 6);
	fb_set16(&f, f.ip_off + 4, 10);
	expect(&f, DLT_EN10MB, CAP_INVALID_TCP);
}

Test(decode_tcp, flags_and_empty_payload)
{
	struct isc_pkt pkt;
	struct fb f = { .len = 0 };

	fb_eth(&f, NULL, 0, 0x0800);
	fb_ipv4(&f, 6, 0, 0);
	fb_tcp(&f, 0xc2, 0);			/* SYN with ECE and CWR */
	fb_finish(&f);
	cr_assert_eq(decode(&f, DLT_EN10MB, &pkt), CAP_TCP);
	cr_assert_eq(pkt.flags, ISC_TH_SYN);
	cr_assert_eq(pkt.payload_len, 0);
	cr_assert_eq(pkt.payload_missing, 0);
}

/* Every caplen of every standard frame: truncated until the TCP header is
 * complete, then TCP with less and less payload missing. */
Test(decode_truncation, every_length_cut_by_snaplen)
{
	struct isc_pkt pkt;
	struct fb f;

	for (size_t i = 0; i < NLINKS; i++) {
		for (int v = 4; v <= 6; v += 2) {
			size_t hdr_end;

			if (links[i].only != 0 && links[i].only != v)
				continue;
			hdr_end = build(&f, &links[i], v);
			for (uint32_t c = 0; c <= f.len; c++) {
				enum cap_verdict got = decode_cut(f.b, c,
					(uint32_t)f.len, links[i].linktype,
					&pkt);

				if (c < hdr_end) {
					cr_assert_eq(got, CAP_TRUNCATED,
						     "%s v%d caplen %u: %s",
						     links[i].name, v, c,
						     cap_verdict_names[got]);
					continue;
				}
				cr_assert_eq(got, CAP_TCP, "%s v%d caplen %u",
					     links[i].name, v, c);
				check_pkt(&pkt, v, c - (uint32_t)hdr_end,
					  (uint32_t)f.len - c);
			}
		}
	}
}

/* The same frames at every length, but complete on the wire: the frame is
 * too short for what its headers say, so it is invalid, never TCP. */
Test(decode_truncation, every_length_uncut)
{
	struct isc_pkt pkt;
	struct fb f;

	for (size_t i = 0; i < NLINKS; i++) {
		for (int v = 4; v <= 6; v += 2) {
			if (links[i].only != 0 && links[i].only != v)
				continue;
			build(&f, &links[i], v);
			for (uint32_t c = 0; c < f.len; c++) {
				enum cap_verdict got = decode_cut(f.b, c, c,
					links[i].linktype, &pkt);

				cr_assert(got == CAP_INVALID_LINK ||
					  got == CAP_INVALID_IP,
					  "%s v%d len %u: %s", links[i].name,
					  v, c, cap_verdict_names[got]);
			}
		}
	}
}

/* A frame with IPv4 options, TCP options, a VLAN stack and Ethernet padding
 * cut at every length: the padding never becomes payload, and nothing is
 * missing once the last payload byte is in. */
Test(decode_truncation, every_length_with_options_and_padding)
{
	static const uint16_t tpids[2] = { 0x88a8, 0x8100 };
	struct isc_pkt pkt;
	struct fb f = { .len = 0 };
	size_t hdr_end, end;

	fb_eth(&f, tpids, 2, 0x0800);
	fb_ipv4(&f, 6, 8, 0);
	fb_tcp(&f, T_FLAGS, 12);
	hdr_end = f.len;
	fb_put(&f, T_PAYLOAD, T_PLEN);
	fb_finish(&f);
	end = f.len;
	fb_fill(&f, 0, 30);
	for (uint32_t c = 0; c <= f.len; c++) {
		enum cap_verdict got = decode_cut(f.b, c, (uint32_t)f.len,
						  DLT_EN10MB, &pkt);
		uint32_t have;

		if (c < hdr_end) {
			cr_assert_eq(got, CAP_TRUNCATED, "caplen %u", c);
			continue;
		}
		cr_assert_eq(got, CAP_TCP, "caplen %u", c);
		have = (uint32_t)((c < end ? c : end) - hdr_end);
		check_pkt(&pkt, 4, have, T_PLEN - have);
	}
}

/* ------------------------------------------------------------------ */
/* Capture source                                                      */
/* ------------------------------------------------------------------ */

TestSuite(source, .init = tmp_setup, .fini = tmp_teardown);

/* The path of file name in the temporary directory, in a static buffer. */
static const char *tmp_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

/* One frame to write: timestamp seconds and sub-second part (micro- or
 * nanoseconds, as the file's precision), and the captured/wire lengths. */
struct rec {
	long sec, frac;
	uint32_t caplen, wirelen;
};

/* Writes the standard Ethernet/IPv4 frame once per entry of recs into a
 * pcap file at path, with libpcap's dumper. */
static void write_pcap(const char *path, int precision, const struct rec *recs,
		       int n)
{
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
							    (u_int)precision);
	pcap_dumper_t *d;
	struct fb f;

	cr_assert_not_null(dead);
	d = pcap_dump_open(dead, path);
	cr_assert_not_null(d, "%s", pcap_geterr(dead));
	build(&f, link_named("ethernet"), 4);
	for (int i = 0; i < n; i++) {
		struct pcap_pkthdr h;

		memset(&h, 0, sizeof(h));
		h.ts.tv_sec = recs[i].sec;
		h.ts.tv_usec = recs[i].frac;
		h.caplen = recs[i].caplen;
		h.len = recs[i].wirelen;
		pcap_dump((u_char *)d, &h, f.b);
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

/* Writes n bytes of p to a new file at path. */
static void write_file(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	cr_assert_not_null(fp);
	cr_assert_eq(fwrite(p, 1, n, fp), n);
	cr_assert_eq(fclose(fp), 0);
}

/* Opens path, expecting success. */
static struct cap_source *open_ok(const char *path)
{
	struct cap_source *src = NULL;
	char err[512] = "";

	cr_assert_eq(cap_source_open(path, &src, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_not_null(src);
	return src;
}

Test(source, microsecond_pcap)
{
	static const struct rec recs[] = {
		{ 1700000000, 123456, 67, 67 },
		{ 1700000001, 999999, 40, 67 },		/* snaplen cut */
	};
	struct cap_source *src;
	struct cap_frame fr;
	struct isc_pkt pkt;
	const char *path = tmp_path("micro.pcap");

	write_pcap(path, PCAP_TSTAMP_PRECISION_MICRO, recs, 2);
	src = open_ok(path);
	cr_assert_str_eq(cap_source_name(src), path);

	cr_assert_eq(cap_source_next(src, &fr), 1);
	cr_assert_eq(fr.index, 1);
	cr_assert_eq(fr.ts, 1700000000LL * ISC_NS_PER_SEC + 123456000);
	cr_assert_eq(fr.linktype, DLT_EN10MB);
	cr_assert_eq(fr.caplen, 67);
	cr_assert_eq(fr.wirelen, 67);
	cr_assert_eq(cap_decode(&fr, &pkt), CAP_TCP);
	cr_assert_eq(pkt.index, 1);
	cr_assert_eq(pkt.ts, fr.ts);
	cr_assert_eq(pkt.payload_len, T_PLEN);

	cr_assert_eq(cap_source_next(src, &fr), 1);
	cr_assert_eq(fr.index, 2);
	cr_assert_eq(fr.ts, 1700000001LL * ISC_NS_PER_SEC + 999999000);
	cr_assert_eq(fr.caplen, 40);
	cr_assert_eq(fr.wirelen, 67);

	cr_assert_eq(cap_source_next(src, &fr), 0);
	cr_assert_eq(cap_source_next(src, &fr), 0);	/* stays at EOF */
	cap_source_close(&src);
	cr_assert_null(src);
	cap_source_close(&src);				/* NULL is fine */
}

Test(source, nanosecond_pcap)
{
	static const struct rec recs[] = {
		{ 1700000000, 123456789, 67, 67 },
		{ 0, 1, 67, 67 },
	};
	struct cap_source *src;
	struct cap_frame fr;
	const char *path = tmp_path("nano.pcap");

	write_pcap(path, PCAP_TSTAMP_PRECISION_NANO, recs, 2);
	src = open_ok(path);
	cr_assert_eq(cap_source_next(src, &fr), 1);
	cr_assert_eq(fr.ts, 1700000000LL * ISC_NS_PER_SEC + 123456789);
	cr_assert_eq(cap_source_next(src, &fr), 1);
	cr_assert_eq(fr.ts, 1);
	cr_assert_eq(fr.index, 2);
	cr_assert_eq(cap_source_next(src, &fr), 0);
	cap_source_close(&src);
}

/* Appends a little-endian 32-bit value to a byte buffer. */
static size_t put_le32(uint8_t *p, size_t off, uint32_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
	p[off + 2] = (uint8_t)(v >> 16);
	p[off + 3] = (uint8_t)(v >> 24);
	return off + 4;
}

Test(source, pcapng_nanosecond)
{
	uint8_t b[512] = { 0 };
	size_t o = 0, start;
	struct cap_source *src;
	struct cap_frame fr;
	struct isc_pkt pkt;
	struct fb f;
	uint64_t ts = 1700000000ULL * 1000000000ULL + 42;
	const char *path = tmp_path("nano.pcapng");

	/* Section header block. */
	o = put_le32(b, o, 0x0a0d0d0a);
	o = put_le32(b, o, 28);
	o = put_le32(b, o, 0x1a2b3c4d);
	o = put_le32(b, o, 1);			/* version 1.0 */
	o = put_le32(b, o, 0xffffffff);		/* section length: unknown */
	o = put_le32(b, o, 0xffffffff);
	o = put_le32(b, o, 28);
	/* Interface description block: Ethernet, if_tsresol = 9 (ns). */
	o = put_le32(b, o, 1);
	o = put_le32(b, o, 32);
	o = put_le32(b, o, DLT_EN10MB);		/* link type, reserved */
	o = put_le32(b, o, 65535);
	o = put_le32(b, o, 9 | 1 << 16);	/* option 9, length 1 */
	o = put_le32(b, o, 9);			/* 10^-9, padded */
	o = put_le32(b, o, 0);			/* end of options */
	o = put_le32(b, o, 32);
	/* Enhanced packet block with the standard frame. */
	build(&f, link_named("ethernet"), 4);
	start = o;
	o = put_le32(b, o, 6);
	o = put_le32(b, o, 0);			/* total length, below */
	o = put_le32(b, o, 0);			/* interface 0 */
	o = put_le32(b, o, (uint32_t)(ts >> 32));
	o = put_le32(b, o, (uint32_t)ts);
	o = put_le32(b, o, (uint32_t)f.len);
	o = put_le32(b, o, (uint32_t)f.len);
	memcpy(b + o, f.b, f.len);
	o += (f.len + 3) & ~(size_t)3;
	o = put_le32(b, o, (uint32_t)(o - start + 4));
	put_le32(b, start + 4, (uint32_t)(o - start));
	write_file(path, b, o);

	src = open_ok(path);
	cr_assert_eq(cap_source_next(src, &fr), 1);
	cr_assert_eq(fr.ts, (isc_time)ts);
	cr_assert_eq(fr.index, 1);
	cr_assert_eq(fr.linktype, DLT_EN10MB);
	cr_assert_eq(cap_decode(&fr, &pkt), CAP_TCP);
	cr_assert_eq(pkt.ts, (isc_time)ts);
	cr_assert_eq(pkt.dport, T_DPORT);
	cr_assert_eq(pkt.payload_len, T_PLEN);
	cr_assert_eq(cap_source_next(src, &fr), 0);
	cap_source_close(&src);
}

Test(source, stdin_dash)
{
	static const struct rec recs[] = { { 5, 6, 67, 67 } };
	struct cap_source *src;
	struct cap_frame fr;
	const char *path = tmp_path("stdin.pcap");

	write_pcap(path, PCAP_TSTAMP_PRECISION_MICRO, recs, 1);
	cr_assert_not_null(freopen(path, "rb", stdin));
	src = open_ok("-");
	cr_assert_str_eq(cap_source_name(src), "-");
	cr_assert_eq(cap_source_next(src, &fr), 1);
	cr_assert_eq(fr.ts, 5 * ISC_NS_PER_SEC + 6000);
	cr_assert_eq(cap_source_next(src, &fr), 0);
	cap_source_close(&src);
}

/* Checks that msg is one line holding each of the given strings. */
static void check_msg(const char *msg, const char *const *want, int n)
{
	cr_assert_null(strchr(msg, '\n'), "two lines: %s", msg);
	for (int i = 0; i < n; i++)
		cr_assert_not_null(strstr(msg, want[i]), "\"%s\" not in \"%s\"",
				   want[i], msg);
}

Test(source, cut_mid_record)
{
	static const struct rec recs[] = {
		{ 1, 0, 67, 67 }, { 2, 0, 67, 67 }, { 3, 0, 67, 67 },
	};
	/* 24-byte file header, then 16 + 67 bytes per record. */
	const long cut = 24 + 2 * (16 + 67) + 16 + 30;
	struct cap_source *src;
	struct cap_frame fr;
	char off[64];
	const char *path = tmp_path("cut.pcap");

	write_pcap(path, PCAP_TSTAMP_PRECISION_MICRO, recs, 3);
	cr_assert_eq(truncate(path, cut), 0);
	src = open_ok(path);
	cr_assert_eq(cap_source_next(src, &fr), 1);
	cr_assert_eq(cap_source_next(src, &fr), 1);
	cr_assert_eq(fr.index, 2);
	cr_assert_eq(cap_source_next(src, &fr), ISC_EIO);
	snprintf(off, sizeof(off), "at byte offset %ld", cut);
	{
		const char *want[] = { path, "after packet 2", off };

		check_msg(cap_source_error(src), want, 3);
	}
	cr_assert_eq(strncmp(cap_source_error(src), path, strlen(path)), 0);
	cr_assert_eq(cap_source_next(src, &fr), ISC_EIO);	/* sticky */
	cap_source_close(&src);
}

Test(source, cut_mid_record_header)
{
	static const struct rec recs[] = { { 1, 0, 67, 67 }, { 2, 0, 67, 67 } };
	const long cut = 24 + 16 + 67 + 5;
	struct cap_source *src;
	struct cap_frame fr;
	const char *path = tmp_path("cuthdr.pcap");

	write_pcap(path, PCAP_TSTAMP_PRECISION_MICRO, recs, 2);
	cr_assert_eq(truncate(path, cut), 0);
	src = open_ok(path);
	cr_assert_eq(cap_source_next(src, &fr), 1);
	cr_assert_eq(cap_source_next(src, &fr), ISC_EIO);
	{
		const char *want[] = { path, "after packet 1",
				       "at byte offset 112" };

		check_msg(cap_source_error(src), want, 3);
	}
	cap_source_close(&src);
}

Test(source, not_a_capture_file)
{
	static const char text[] = "* OK IMAP4rev1 server ready\r\n"
				   "a1 CAPABILITY\r\n";
	struct cap_source *src = NULL;
	char err[512] = "";
	const char *path = tmp_path("text.pcap");

	write_file(path, text, sizeof(text) - 1);
	cr_assert_eq(cap_source_open(path, &src, err, sizeof(err)), ISC_EIO);
	cr_assert_null(src);
	{
		const char *want[] = { path };

		check_msg(err, want, 1);
	}
	cr_assert_eq(strncmp(err, path, strlen(path)), 0, "%s", err);
	cr_assert_gt(strlen(err), strlen(path) + 2, "%s", err);
}

Test(source, missing_file)
{
	struct cap_source *src = NULL;
	char err[512] = "";
	const char *path = tmp_path("no-such.pcap");

	cr_assert_eq(cap_source_open(path, &src, err, sizeof(err)), ISC_EIO);
	cr_assert_null(src);
	cr_assert_eq(strncmp(err, path, strlen(path)), 0, "%s", err);
	cr_assert_not_null(strstr(err, "No such file"), "%s", err);
	/* The path is named once, not twice. */
	cr_assert_null(strstr(err + strlen(path), path), "%s", err);
}

Test(source, error_buffer_small_or_absent)
{
	struct cap_source *src = NULL;
	char err[8];

	cr_assert_eq(cap_source_open(tmp_path("none"), &src, err, sizeof(err)),
		     ISC_EIO);
	cr_assert_eq(strlen(err), sizeof(err) - 1);
	cr_assert_eq(cap_source_open(tmp_path("none"), &src, NULL, 0),
		     ISC_EIO);
}

/* Timestamps from a file's seconds and nanoseconds: normalized when the
 * fraction is out of range, clamped where the nanosecond count would
 * overflow, and the common case the same as the general one. */
Test(timestamps, carried_and_clamped)
{
	const int64_t ns = ISC_NS_PER_SEC, max_sec = INT64_MAX / ns - 1;

	cr_assert_eq(cap_ts_make(0, 0), 0);
	cr_assert_eq(cap_ts_make(1, 999999999), 1999999999);
	cr_assert_eq(cap_ts_make(1, ns), 2 * ns);		/* carried */
	cr_assert_eq(cap_ts_make(1, -1), ns - 1);		/* borrowed */
	cr_assert_eq(cap_ts_make(-1, 5), -ns + 5);
	cr_assert_eq(cap_ts_make(0, -3 * ns - 1), -4 * ns + (ns - 1));
	cr_assert_eq(cap_ts_make(max_sec, ns - 1), max_sec * ns + ns - 1);
	cr_assert_eq(cap_ts_make(max_sec + 1, 7), max_sec * ns + 7);	/* clamped */
	cr_assert_eq(cap_ts_make(INT64_MAX, INT64_MAX % ns),
		     max_sec * ns + INT64_MAX % ns);
	cr_assert_eq(cap_ts_make(-max_sec, 0), -max_sec * ns);
	cr_assert_eq(cap_ts_make(INT64_MIN, 0), -max_sec * ns);
	cr_assert_eq(cap_ts_make(max_sec, ns), max_sec * ns);	/* carry, then clamp */
	/* 4294967295 s and 999999999 ns: the largest a pcap record holds */
	cr_assert_eq(cap_ts_make(4294967295LL, 999999999),
		     4294967295LL * ns + 999999999);
}
