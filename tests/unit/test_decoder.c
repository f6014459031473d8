/* tests/unit/test_decoder.c: cap_decoder_decode() on sessions, tunnels,
 * TSO lengths and malformed frames, with its counters checked exactly.
 *
 * A short IMAP session (handshake, greeting, LOGOUT, BYE, FIN) is framed
 * for every link type, written to a pcap file with libpcap's dumper, read
 * back through cap_source and decoded: every link type must give the same
 * TCP segments. Tunnel frames wrap the same segments; their inner
 * addresses and ports must come out, not the outer ones. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../capture/decode.h"
#include "../../capture/source.h"
#include "capture_frames.h"
#include "../tools/wire.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* One expected counter of the decoder. */
#define CHECK_STATS(d, ...)						\
	do {								\
		const struct want w_[] = { __VA_ARGS__ };		\
		check_stats(d, w_, sizeof(w_) / sizeof(w_[0]));		\
	} while (0)

static struct cap_decoder *decoder(void)
{
	struct isc_limits l;
	struct cap_decoder *d = NULL;

	isc_limits_default(&l);
	cr_assert_eq(cap_decoder_new(&l, &d), 0);
	return d;
}

/* Decodes the first caplen bytes of f (wirelen on the wire) with linktype
 * from a heap copy of exactly caplen bytes; a payload is rebased onto
 * f->b. */
static enum cap_verdict dec_cut(struct cap_decoder *d, const struct fb *f,
				uint32_t caplen, uint32_t wirelen, int linktype,
				struct isc_pkt *pkt)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	struct cap_frame fr = {
		.ts = T_TS, .index = T_INDEX, .linktype = linktype,
		.data = copy, .caplen = caplen, .wirelen = wirelen,
	};
	enum cap_verdict v;

	cr_assert_not_null(copy);
	memcpy(copy, f->b, caplen);
	memset(pkt, 0xa5, sizeof(*pkt));
	v = cap_decoder_decode(d, &fr, pkt);
	if (v == CAP_TCP) {
		cr_assert_geq(pkt->payload, copy);
		cr_assert_leq(pkt->payload + pkt->payload_len, copy + caplen);
		pkt->payload = f->b + (pkt->payload - copy);
	}
	free(copy);
	return v;
}

static enum cap_verdict dec(struct cap_decoder *d, const struct fb *f,
			    int linktype, struct isc_pkt *pkt)
{
	return dec_cut(d, f, (uint32_t)f->len, (uint32_t)f->len, linktype,
		       pkt);
}

static void expect(struct cap_decoder *d, const struct fb *f, int linktype,
		   enum cap_verdict want)
{
	struct isc_pkt pkt;
	enum cap_verdict v = dec(d, f, linktype, &pkt);

	cr_assert_eq(v, want, "verdict %s, want %s", cap_verdict_names[v],
		     cap_verdict_names[want]);
}

/* Checks a decoded standard test segment (T_* numbers and payload) with
 * ipver's test addresses and plen payload bytes, missing more. */
static void check_std(const struct isc_pkt *p, int ipver, uint32_t plen,
		      uint32_t missing)
{
	cr_assert_eq(p->src.family, ipver);
	cr_assert_arr_eq(p->src.a, ipver == 4 ? src4 : src6,
			 ipver == 4 ? 4 : 16);
	cr_assert_arr_eq(p->dst.a, ipver == 4 ? dst4 : dst6,
			 ipver == 4 ? 4 : 16);
	cr_assert_eq(p->sport, T_SPORT);
	cr_assert_eq(p->dport, T_DPORT);
	cr_assert_eq(p->seq, T_SEQ);
	cr_assert_eq(p->ack, T_ACK);
	cr_assert_eq(p->flags, T_FLAGS);
	cr_assert_eq(p->payload_len, plen, "payload_len %u", p->payload_len);
	cr_assert_eq(p->payload_missing, missing, "missing %u",
		     p->payload_missing);
	cr_assert_arr_eq(p->payload, T_PAYLOAD, plen);
}

/* The standard segment over IP version v, inner addresses src/dst4 (or
 * src/dst6), appended to f. */
static void put_std(struct fb *f, int v)
{
	if (v == 4)
		fb_ipv4(f, 6, 0, 0x4000);
	else
		fb_ipv6(f, 6);
	fb_tcp(f, T_FLAGS, 0);
	fb_put(f, T_PAYLOAD, T_PLEN);
}

/* Outer tunnel endpoints, never the ones a segment should report. */
static const uint8_t out4a[4] = { 10, 0, 0, 1 }, out4b[4] = { 10, 0, 0, 2 };
static const uint8_t out6a[16] = { 0xfd, [15] = 1 };
static const uint8_t out6b[16] = { 0xfd, [15] = 2 };

/* Ethernet, then an outer IP header of version v carrying proto. */
static void put_outer(struct fb *f, int v, uint8_t proto)
{
	fb_eth(f, NULL, 0, v == 4 ? 0x0800 : 0x86dd);
	if (v == 4)
		fb_ipv4_ex(f, proto, out4a, out4b, 1, 0);
	else
		fb_ipv6_ex(f, proto, out6a, out6b);
}

/* ------------------------------------------------------------------ */
/* A session over every link type, through pcap files                  */
/* ------------------------------------------------------------------ */

struct segdef {
	bool from_client;
	uint8_t flags;
	uint32_t seq, ack;
	const char *payload;
};

static const struct segdef session[] = {
	{ true, ISC_TH_SYN, 1000, 0, "" },
	{ false, ISC_TH_SYN | ISC_TH_ACK, 5000, 1001, "" },
	{ true, ISC_TH_ACK, 1001, 5001, "" },
	{ false, ISC_TH_PSH | ISC_TH_ACK, 5001, 1001, "* OK ready\r\n" },
	{ true, ISC_TH_PSH | ISC_TH_ACK, 1001, 5013, "a1 LOGOUT\r\n" },
	{ false, ISC_TH_PSH | ISC_TH_ACK, 5013, 1012,
	  "* BYE\r\na1 OK LOGOUT completed\r\n" },
	{ false, ISC_TH_FIN | ISC_TH_ACK, 5045, 1012, "" },
	{ true, ISC_TH_FIN | ISC_TH_ACK, 1012, 5046, "" },
	{ false, ISC_TH_ACK, 5046, 1013, "" },
};
#define NSEG (sizeof(session) / sizeof(session[0]))
#define C_PORT 51000
#define S_PORT 143

/* Link framings written to files: DLT values, as libpcap reads them. */
struct file_link {
	const char *name;
	int dlt;
	void (*put)(struct fb *f, int ipver);
	int only;		/* 4 or 6: only that IP version */
};

static const struct file_link file_links[] = {
	{ "ethernet", DLT_EN10MB, put_eth, 0 },
	{ "ethernet+vlan", DLT_EN10MB, put_vlan1, 0 },
	{ "sll", DLT_LINUX_SLL, put_sll, 0 },
	{ "sll2", DLT_LINUX_SLL2, put_sll2, 0 },
	{ "null-le", DLT_NULL, put_null_le, 0 },
	{ "null-be", DLT_NULL, put_null_be, 0 },
	{ "loop", DLT_LOOP, put_loop, 0 },
	{ "raw", DLT_RAW, put_none, 0 },
	{ "ipv4", DLT_IPV4, put_none, 4 },
	{ "ipv6", DLT_IPV6, put_none, 6 },
	{ "ppp", DLT_PPP, put_ppp_hdlc, 0 },
	{ "ppp-serial", DLT_PPP_SERIAL, put_ppp_hdlc, 0 },
};

/* Segment i of the session over IP version v, framed by put. */
static void build_seg(struct fb *f, void (*put)(struct fb *, int), int v,
		      size_t i)
{
	const struct segdef *s = &session[i];
	const uint8_t *cli = v == 4 ? src4 : src6, *srv = v == 4 ? dst4 : dst6;

	fb_reset(f);
	put(f, v);
	if (v == 4)
		fb_ipv4_ex(f, 6, s->from_client ? cli : srv,
			   s->from_client ? srv : cli, (uint16_t)i, 0x4000);
	else
		fb_ipv6_ex(f, 6, s->from_client ? cli : srv,
			   s->from_client ? srv : cli);
	fb_tcp_ex(f, s->from_client ? C_PORT : S_PORT,
		  s->from_client ? S_PORT : C_PORT, s->seq, s->ack, s->flags);
	fb_put(f, s->payload, strlen(s->payload));
	fb_finish(f);
}

/* Checks that p is segment i of the session over IP version v. */
static void check_seg(const struct isc_pkt *p, int v, size_t i)
{
	const struct segdef *s = &session[i];
	const uint8_t *cli = v == 4 ? src4 : src6, *srv = v == 4 ? dst4 : dst6;
	size_t n = v == 4 ? 4 : 16;

	cr_assert_eq(p->src.family, v);
	cr_assert_arr_eq(p->src.a, s->from_client ? cli : srv, n);
	cr_assert_arr_eq(p->dst.a, s->from_client ? srv : cli, n);
	cr_assert_eq(p->sport, s->from_client ? C_PORT : S_PORT);
	cr_assert_eq(p->dport, s->from_client ? S_PORT : C_PORT);
	cr_assert_eq(p->seq, s->seq);
	cr_assert_eq(p->ack, s->ack);
	cr_assert_eq(p->flags, s->flags);
	cr_assert_eq(p->payload_len, strlen(s->payload));
	cr_assert_eq(p->payload_missing, 0);
	cr_assert_arr_eq(p->payload, s->payload, p->payload_len);
	cr_assert_eq(p->index, i + 1);
	cr_assert_eq(p->ts, (isc_time)(1700000000 + i) * ISC_NS_PER_SEC);
}

TestSuite(session, .init = tmp_setup, .fini = tmp_teardown);

Test(session, every_link_type_from_a_file)
{
	for (size_t k = 0; k < sizeof(file_links) / sizeof(file_links[0]);
	     k++) {
		const struct file_link *fl = &file_links[k];

		for (int v = 4; v <= 6; v += 2) {
			char path[512], err[512];
			struct cap_source *src = NULL;
			struct cap_decoder *d;
			pcap_t *dead;
			pcap_dumper_t *dump;
			struct cap_frame fr;
			struct isc_pkt pkt;
			struct fb f;

			if (fl->only != 0 && fl->only != v)
				continue;
			d = decoder();
			snprintf(path, sizeof(path), "%s/%s-%d.pcap", tmpdir,
				 fl->name, v);
			dead = pcap_open_dead(fl->dlt, 65535);
			cr_assert_not_null(dead);
			dump = pcap_dump_open(dead, path);
			cr_assert_not_null(dump, "%s", pcap_geterr(dead));
			for (size_t i = 0; i < NSEG; i++) {
				struct pcap_pkthdr h = { .caplen = 0 };

				build_seg(&f, fl->put, v, i);
				h.ts.tv_sec = (time_t)(1700000000 + i);
				h.caplen = h.len = (uint32_t)f.len;
				pcap_dump((u_char *)dump, &h, f.b);
			}
			pcap_dump_close(dump);
			pcap_close(dead);

			cr_assert_eq(cap_source_open(path, &src, err,
						     sizeof(err)), 0, "%s",
				     err);
			for (size_t i = 0; i < NSEG; i++) {
				enum cap_verdict got;

				cr_assert_eq(cap_source_next(src, &fr), 1);
				got = cap_decoder_decode(d, &fr, &pkt);
				cr_assert_eq(got, CAP_TCP, "%s v%d segment %zu:"
					     " %s", fl->name, v, i,
					     cap_verdict_names[got]);
				check_seg(&pkt, v, i);
			}
			cr_assert_eq(cap_source_next(src, &fr), 0);
			{
				static const char *const lk[] = {
					"ethernet", "ethernet", "linux_sll",
					"linux_sll2", "null", "null", "loop",
					"raw", "ipv4", "ipv6", "ppp",
					"ppp_serial",
				};

				CHECK_STATS(d, { "packets", "total", NSEG },
					    { "packets", "tcp", NSEG },
					    { "link", lk[k], NSEG });
			}
			cap_source_close(&src);
			cap_decoder_free(&d);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Tunnels                                                             */
/* ------------------------------------------------------------------ */

TestSuite(tunnel);

Test(tunnel, ip_in_ip_all_four)
{
	struct cap_decoder *d = decoder();
	struct isc_pkt pkt;

	for (int outer = 4; outer <= 6; outer += 2) {
		for (int inner = 4; inner <= 6; inner += 2) {
			struct fb f = { .len = 0 };

			put_outer(&f, outer, inner == 4 ? 4 : 41);
			put_std(&f, inner);
			fb_finish(&f);
			cr_assert_eq(dec(d, &f, DLT_EN10MB, &pkt), CAP_TCP);
			check_std(&pkt, inner, T_PLEN, 0);
		}
	}
	CHECK_STATS(d, { "packets", "total", 4 }, { "packets", "tcp", 4 },
		    { "link", "ethernet", 4 }, { "tunnels", "ipv4_in_ip", 2 },
		    { "tunnels", "ipv6_in_ip", 2 });
	cap_decoder_free(&d);
}

Test(tunnel, gre_every_flag_combination)
{
	static const uint16_t flags[] = { 0, 0x8000, 0x2000, 0x1000, 0xb000 };
	struct cap_decoder *d = decoder();
	struct isc_pkt pkt;
	int n = 0;

	for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		for (int inner = 4; inner <= 6; inner += 2) {
			struct fb f = { .len = 0 };

			put_outer(&f, inner == 4 ? 6 : 4, 47);
			fb_gre(&f, flags[k], inner == 4 ? 0x0800 : 0x86dd);
			put_std(&f, inner);
			fb_finish(&f);
			cr_assert_eq(dec(d, &f, DLT_EN10MB, &pkt), CAP_TCP,
				     "flags %04x", flags[k]);
			check_std(&pkt, inner, T_PLEN, 0);
			n++;
		}
	}
	CHECK_STATS(d, { "packets", "total", n }, { "packets", "tcp", n },
		    { "link", "ethernet", n }, { "tunnels", "gre", n });
	cap_decoder_free(&d);
}

Test(tunnel, gre_ethernet_erspan_vxlan)
{
	struct cap_decoder *d = decoder();
	struct isc_pkt pkt;
	struct fb f;

	/* GRE, transparent Ethernet bridging, inner VLAN tag */
	{
		static const uint16_t tag[1] = { 0x8100 };

		fb_reset(&f);
		put_outer(&f, 4, 47);
		fb_gre(&f, 0x2000, 0x6558);
		fb_eth(&f, tag, 1, 0x0800);
		put_std(&f, 4);
		fb_finish(&f);
		cr_assert_eq(dec(d, &f, DLT_EN10MB, &pkt), CAP_TCP);
		check_std(&pkt, 4, T_PLEN, 0);
	}
	/* ERSPAN type I: no header */
	fb_reset(&f);
	put_outer(&f, 4, 47);
	fb_gre(&f, 0, 0x88be);
	put_eth(&f, 6);
	put_std(&f, 6);
	fb_finish(&f);
	cr_assert_eq(dec(d, &f, DLT_EN10MB, &pkt), CAP_TCP);
	check_std(&pkt, 6, T_PLEN, 0);
	/* ERSPAN type II: sequence number, 8-byte header, version 1 */
	fb_reset(&f);
	put_outer(&f, 4, 47);
	fb_gre(&f, 0x1000, 0x88be);
	fb_be32(&f, 0x10640001);
	fb_be32(&f, 0x00000005);
	put_eth(&f, 4);
	put_std(&f, 4);
	fb_finish(&f);
	cr_assert_eq(dec(d, &f, DLT_EN10MB, &pkt), CAP_TCP);
	check_std(&pkt, 4, T_PLEN, 0);
	/* ERSPAN type III, Ethernet, with the 8-byte platform subheader */
	fb_reset(&f);
	put_outer(&f, 6, 47);
	fb_gre(&f, 0x1000, 0x22eb);
	fb_be32(&f, 0x20640001);
	fb_be32(&f, 0x12345678);		/* timestamp */
	fb_be32(&f, 0x00000001);		/* FT 0, O set */
	fb_be32(&f, 0);
	fb_be32(&f, 0);
	put_eth(&f, 4);
	put_std(&f, 4);
	fb_finish(&f);
	cr_assert_eq(dec(d, &f, DLT_EN10MB, &pkt), CAP_TCP);
	check_std(&pkt, 4, T_PLEN, 0);
	/* ERSPAN type III carrying an IP packet (FT 2) */
	fb_reset(&f);
	put_outer(&f, 4, 47);
	fb_gre(&f, 0x1000, 0x22eb);
	fb_be32(&f, 0x20640001);
	fb_be32(&f, 0);
	fb_be32(&f, 2 << 10);
	put_std(&f, 6);
	fb_finish(&f);
	cr_assert_eq(dec(d, &f, DLT_EN10MB, &pkt), CAP_TCP);
	check_std(&pkt, 6, T_PLEN, 0);
	/* VXLAN over IPv4 and over IPv6 */
	for (int outer = 4; outer <= 6; outer += 2) {
		fb_reset(&f);
		put_outer(&f, outer, 17);
		fb_udp_ex(&f, 40000, 4789);
		fb_vxlan(&f, 42);
		put_eth(&f, 4);
		put_std(&f, 4);
		fb_finish(&f);
		cr_assert_eq(dec(d, &f, DLT_EN10MB, &pkt), CAP_TCP);
		check_std(&pkt, 4, T_PLEN, 0);
	}
	CHECK_STATS(d, { "packets", "total", 7 }, { "packets", "tcp", 7 },
		    { "link", "ethernet", 7 }, { "tunnels", "gre_ethernet", 1 },
		    { "tunnels", "erspan", 4 }, { "tunnels", "vxlan", 2 });
	cap_decoder_free(&d);
}

/* n levels of IPv4-in-IPv4 around the standard segment. */
static void build_nested(struct fb *f, int n)
{
	fb_reset(f);
	fb_eth(f, NULL, 0, 0x0800);
	for (int i = 0; i < n; i++)
		fb_ipv4_ex(f, 4, out4a, out4b, (uint16_t)i, 0);
	put_std(f, 4);
	fb_finish(f);
}

Test(tunnel, nesting_bounded)
{
	struct cap_decoder *d = decoder();
	struct isc_pkt pkt;
	struct fb f;

	build_nested(&f, CAP_MAX_ENCAP);
	cr_assert_eq(dec(d, &f, DLT_EN10MB, &pkt), CAP_TCP);
	check_std(&pkt, 4, T_PLEN, 0);
	build_nested(&f, CAP_MAX_ENCAP + 1);
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	/* VXLAN in GRE in IPv6-in-IPv4: three levels */
	fb_reset(&f);
	put_outer(&f, 4, 41);
	fb_ipv6_ex(&f, 47, out6a, out6b);
	fb_gre(&f, 0, 0x0800);
	fb_ipv4_ex(&f, 17, out4b, out4a, 3, 0);
	fb_udp_ex(&f, 1, 4789);
	fb_vxlan(&f, 1);
	put_eth(&f, 6);
	put_std(&f, 6);
	fb_finish(&f);
	cr_assert_eq(dec(d, &f, DLT_EN10MB, &pkt), CAP_TCP);
	check_std(&pkt, 6, T_PLEN, 0);
	CHECK_STATS(d, { "packets", "total", 3 }, { "packets", "tcp", 2 },
		    { "packets", "invalid_ip", 1 }, { "link", "ethernet", 3 },
		    { "malformed", "tunnel_too_deep", 1 },
		    { "tunnels", "ipv4_in_ip", 2 * CAP_MAX_ENCAP },
		    { "tunnels", "ipv6_in_ip", 1 }, { "tunnels", "gre", 1 },
		    { "tunnels", "vxlan", 1 });
	cap_decoder_free(&d);
}

Test(tunnel, not_decoded)
{
	struct cap_decoder *d = decoder();
	struct fb f;

	/* GRE version 1 (PPTP) */
	fb_reset(&f);
	put_outer(&f, 4, 47);
	fb_gre(&f, 0x2001, 0x880b);
	fb_fill(&f, 0, 8);
	fb_finish(&f);
	expect(d, &f, DLT_EN10MB, CAP_NOT_TCP);
	/* GRE with the routing bit of RFC 1701 */
	fb_reset(&f);
	put_outer(&f, 4, 47);
	fb_gre(&f, 0x4000, 0x0800);
	put_std(&f, 4);
	fb_finish(&f);
	expect(d, &f, DLT_EN10MB, CAP_NOT_TCP);
	/* GRE carrying MPLS */
	fb_reset(&f);
	put_outer(&f, 4, 47);
	fb_gre(&f, 0, 0x8847);
	fb_fill(&f, 0, 24);
	fb_finish(&f);
	expect(d, &f, DLT_EN10MB, CAP_NOT_TCP);
	/* ERSPAN II header with version 2 */
	fb_reset(&f);
	put_outer(&f, 4, 47);
	fb_gre(&f, 0x1000, 0x88be);
	fb_be32(&f, 0x20000001);
	fb_be32(&f, 0);
	put_eth(&f, 4);
	put_std(&f, 4);
	fb_finish(&f);
	expect(d, &f, DLT_EN10MB, CAP_NOT_TCP);
	/* VXLAN without the I flag */
	fb_reset(&f);
	put_outer(&f, 4, 17);
	fb_udp_ex(&f, 1, 4789);
	fb_fill(&f, 0, 8);
	put_eth(&f, 4);
	put_std(&f, 4);
	fb_finish(&f);
	expect(d, &f, DLT_EN10MB, CAP_NOT_TCP);
	/* other UDP: not even counted as a tunnel */
	fb_reset(&f);
	put_outer(&f, 4, 17);
	fb_udp_ex(&f, 1, 4790);
	fb_vxlan(&f, 1);
	put_eth(&f, 4);
	put_std(&f, 4);
	fb_finish(&f);
	expect(d, &f, DLT_EN10MB, CAP_NOT_TCP);
	CHECK_STATS(d, { "packets", "total", 6 }, { "packets", "not_tcp", 6 },
		    { "link", "ethernet", 6 }, { "tunnels", "unsupported", 5 });
	cap_decoder_free(&d);
}

Test(tunnel, cut_by_snaplen)
{
	struct cap_decoder *d = decoder();
	struct isc_pkt pkt;
	struct fb f = { .len = 0 };
	size_t hdr_end;

	put_outer(&f, 4, 17);
	fb_udp_ex(&f, 1, 4789);
	fb_vxlan(&f, 9);
	put_eth(&f, 4);
	fb_ipv4(&f, 6, 0, 0);
	fb_tcp(&f, T_FLAGS, 0);
	hdr_end = f.len;
	fb_put(&f, T_PAYLOAD, T_PLEN);
	fb_finish(&f);
	/* every cut: truncated inside the headers, then TCP with the
	 * payload missing counted through all the layers */
	for (uint32_t c = 0; c <= f.len; c++) {
		enum cap_verdict v = dec_cut(d, &f, c, (uint32_t)f.len,
					     DLT_EN10MB, &pkt);

		if (c < hdr_end) {
			cr_assert_eq(v, CAP_TRUNCATED, "caplen %u: %s", c,
				     cap_verdict_names[v]);
			continue;
		}
		cr_assert_eq(v, CAP_TCP, "caplen %u", c);
		check_std(&pkt, 4, c - (uint32_t)hdr_end,
			  (uint32_t)f.len - c);
	}
	cap_decoder_free(&d);
}

/* ------------------------------------------------------------------ */
/* Zero IP lengths from TSO/GSO senders                                */
/* ------------------------------------------------------------------ */

TestSuite(lengths);

Test(lengths, ipv4_total_zero_taken_from_frame)
{
	struct cap_decoder *d = decoder();
	struct isc_pkt pkt;
	struct fb f = { .len = 0 };

	fb_eth(&f, NULL, 0, 0x0800);
	fb_ipv4(&f, 6, 0, 0x4000);
	fb_tcp(&f, T_FLAGS, 0);
	fb_put(&f, T_PAYLOAD, T_PLEN);
	/* no fb_finish(): the total length stays 0 */
	cr_assert_eq(dec(d, &f, DLT_EN10MB, &pkt), CAP_TCP);
	check_std(&pkt, 4, T_PLEN, 0);
	/* cut by the snaplen after 4 payload bytes: the rest is missing */
	cr_assert_eq(dec_cut(d, &f, (uint32_t)f.len - 5, (uint32_t)f.len,
			     DLT_EN10MB, &pkt), CAP_TCP);
	check_std(&pkt, 4, 4, 5);
	/* the stateless decoder does the same */
	{
		struct cap_frame fr = { .linktype = DLT_EN10MB, .data = f.b,
					.caplen = (uint32_t)f.len,
					.wirelen = (uint32_t)f.len,
					.ts = T_TS, .index = T_INDEX };

		cr_assert_eq(cap_decode(&fr, &pkt), CAP_TCP);
		check_std(&pkt, 4, T_PLEN, 0);
	}
	/* a header that is bad otherwise stays bad */
	f.b[f.ip_off] = 0x44;			/* IHL 4 */
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	CHECK_STATS(d, { "packets", "total", 3 }, { "packets", "tcp", 2 },
		    { "packets", "invalid_ip", 1 }, { "link", "ethernet", 3 },
		    { "malformed", "ip_ihl_lt_5", 1 },
		    { "lengths", "ipv4_length_from_frame", 2 },
		    { "lengths", "tcp_payload_cut_bytes", 5 });
	cap_decoder_free(&d);
}

Test(lengths, ipv6_payload_zero_taken_from_frame)
{
	struct cap_decoder *d = decoder();
	struct isc_pkt pkt;
	struct fb f = { .len = 0 };

	fb_eth(&f, NULL, 0, 0x86dd);
	fb_ipv6(&f, 6);
	fb_tcp(&f, T_FLAGS, 0);
	fb_put(&f, T_PAYLOAD, T_PLEN);
	cr_assert_eq(dec(d, &f, DLT_EN10MB, &pkt), CAP_TCP);
	check_std(&pkt, 6, T_PLEN, 0);
	CHECK_STATS(d, { "packets", "total", 1 }, { "packets", "tcp", 1 },
		    { "link", "ethernet", 1 },
		    { "lengths", "ipv6_length_from_frame", 1 });
	cap_decoder_free(&d);
}

/* ------------------------------------------------------------------ */
/* Every malformed reason, counted once                                */
/* ------------------------------------------------------------------ */

TestSuite(malformed);

/* Builds the standard Ethernet/IPv4 (or v6) segment into f. */
static void std_frame(struct fb *f, int v)
{
	fb_reset(f);
	fb_eth(f, NULL, 0, v == 4 ? 0x0800 : 0x86dd);
	put_std(f, v);
	fb_finish(f);
}

Test(malformed, one_frame_per_reason)
{
	struct cap_decoder *d = decoder();
	struct fb f;
	size_t ip = 14;

	/* link_header_short */
	std_frame(&f, 4);
	f.len = 10;
	expect(d, &f, DLT_EN10MB, CAP_INVALID_LINK);
	/* gre_header_short: C set, 4 bytes of GRE in the IP payload */
	fb_reset(&f);
	put_outer(&f, 4, 47);
	fb_be16(&f, 0x8000);
	fb_be16(&f, 0x0800);
	fb_finish(&f);
	expect(d, &f, DLT_EN10MB, CAP_INVALID_LINK);
	/* erspan_header_short */
	fb_reset(&f);
	put_outer(&f, 4, 47);
	fb_gre(&f, 0x1000, 0x88be);
	fb_be32(&f, 0x10000000);
	fb_finish(&f);
	expect(d, &f, DLT_EN10MB, CAP_INVALID_LINK);
	/* vxlan_udp_length */
	fb_reset(&f);
	put_outer(&f, 4, 17);
	fb_udp_ex(&f, 1, 4789);
	fb_vxlan(&f, 1);
	fb_finish(&f);
	fb_set16(&f, ip + 20 + 4, 12);
	expect(d, &f, DLT_EN10MB, CAP_INVALID_LINK);
	/* ip_header_short */
	std_frame(&f, 4);
	f.len = ip + 12;
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	/* ip_bad_version */
	std_frame(&f, 4);
	f.b[ip] = 0x65;
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	/* ip_ihl_lt_5 */
	std_frame(&f, 4);
	f.b[ip] = 0x43;
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	/* ip_total_lt_header */
	std_frame(&f, 4);
	fb_set16(&f, ip + 2, 19);
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	/* ip_total_gt_frame */
	std_frame(&f, 4);
	fb_set16(&f, ip + 2, (uint16_t)(f.len - ip + 1));
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	/* ipv6_payload_gt_frame */
	std_frame(&f, 6);
	fb_set16(&f, ip + 4, (uint16_t)(f.len - ip - 40 + 1));
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	/* ipv6_jumbogram */
	fb_reset(&f);
	fb_eth(&f, NULL, 0, 0x86dd);
	fb_ipv6(&f, 0);
	fb_ip6_ext(&f, 6, 0);
	fb_tcp(&f, T_FLAGS, 0);
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	/* ipv6_ext_overrun */
	fb_reset(&f);
	fb_eth(&f, NULL, 0, 0x86dd);
	fb_ipv6(&f, 60);
	fb_ip6_ext(&f, 6, 0);
	fb_tcp(&f, T_FLAGS, 0);
	fb_finish(&f);
	f.b[ip + 41] = 100;
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	/* frag_offset_overflow, frag_len_not_multiple_of_8, frag_empty */
	std_frame(&f, 4);
	fb_set16(&f, ip + 6, 8190);
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	std_frame(&f, 4);
	fb_set16(&f, ip + 6, 0x2000);
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	fb_reset(&f);
	fb_eth(&f, NULL, 0, 0x0800);
	fb_ipv4(&f, 6, 0, 0x2001);
	fb_finish(&f);
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	/* frag_end_inconsistent: two last fragments that disagree */
	fb_reset(&f);
	fb_eth(&f, NULL, 0, 0x0800);
	fb_ipv4(&f, 6, 0, 4);
	fb_fill(&f, 0, 16);
	fb_finish(&f);
	expect(d, &f, DLT_EN10MB, CAP_FRAGMENT_HELD);
	f.len -= 8;
	fb_finish(&f);
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	/* tunnel_too_deep */
	build_nested(&f, CAP_MAX_ENCAP + 1);
	expect(d, &f, DLT_EN10MB, CAP_INVALID_IP);
	/* tcp_header_short */
	std_frame(&f, 4);
	fb_set16(&f, ip + 2, 20 + 12);
	expect(d, &f, DLT_EN10MB, CAP_INVALID_TCP);
	/* tcp_doff_lt_5 */
	std_frame(&f, 4);
	f.b[ip + 20 + 12] = 0x40;
	expect(d, &f, DLT_EN10MB, CAP_INVALID_TCP);
	/* tcp_doff_beyond_segment */
	std_frame(&f, 4);
	f.b[ip + 20 + 12] = 0xf0;
	expect(d, &f, DLT_EN10MB, CAP_INVALID_TCP);

	CHECK_STATS(d, { "packets", "total", 21 },
		    { "packets", "invalid_link", 4 },
		    { "packets", "invalid_ip", 13 },
		    { "packets", "invalid_tcp", 3 },
		    { "packets", "fragment_held", 1 },
		    { "link", "ethernet", 21 },
		    { "malformed", "link_header_short", 1 },
		    { "malformed", "gre_header_short", 1 },
		    { "malformed", "erspan_header_short", 1 },
		    { "malformed", "vxlan_udp_length", 1 },
		    { "malformed", "ip_header_short", 1 },
		    { "malformed", "ip_bad_version", 1 },
		    { "malformed", "ip_ihl_lt_5", 1 },
		    { "malformed", "ip_total_lt_header", 1 },
		    { "malformed", "ip_total_gt_frame", 1 },
		    { "malformed", "ipv6_payload_gt_frame", 1 },
		    { "malformed", "ipv6_jumbogram", 1 },
		    { "malformed", "ipv6_ext_overrun", 1 },
		    { "malformed", "frag_offset_overflow", 1 },
		    { "malformed", "frag_len_not_multiple_of_8", 1 },
		    { "malformed", "frag_empty", 1 },
		    { "malformed", "frag_end_inconsistent", 1 },
		    { "malformed", "tunnel_too_deep", 1 },
		    { "malformed", "tcp_header_short", 1 },
		    { "malformed", "tcp_doff_lt_5", 1 },
		    { "malformed", "tcp_doff_beyond_segment", 1 },
		    { "fragments", "fragments", 2 },
		    { "fragments", "dropped", 1 },
		    { "tunnels", "gre", 0 },
		    { "tunnels", "ipv4_in_ip", CAP_MAX_ENCAP });
	cap_decoder_free(&d);
}

Test(malformed, stats_list_is_fixed)
{
	struct cap_decoder *d = decoder();
	struct cap_stat st, all[128];
	size_t n = 0;

	while (cap_decoder_stat(d, n, &st)) {
		cr_assert_lt(n, 128);
		all[n++] = st;
	}
	cr_assert_eq(n, 2 + CAP_DECODER_VERDICT_COUNT + 11 + CAP_REASON_COUNT +
			12 + 7 + 3, "%zu counters", n);
	cr_assert_str_eq(all[0].group, "packets");
	cr_assert_str_eq(all[0].name, "total");
	cr_assert_str_eq(all[1].name, "bytes");
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(all[i].value, 0);
		for (size_t j = 0; j < i; j++)
			cr_assert(strcmp(all[i].group, all[j].group) != 0 ||
				  strcmp(all[i].name, all[j].name) != 0,
				  "%s.%s twice", all[i].group, all[i].name);
	}
	cr_assert(!cap_decoder_stat(d, n + 1000, &st));
	cap_decoder_free(&d);
}

Test(malformed, unsupported_link_counted_as_other)
{
	struct cap_decoder *d = decoder();
	struct fb f;

	std_frame(&f, 4);
	expect(d, &f, 105, CAP_UNSUPPORTED_LINK);
	CHECK_STATS(d, { "packets", "total", 1 },
		    { "packets", "unsupported_link", 1 },
		    { "link", "other", 1 });
	cap_decoder_free(&d);
}

/* ------------------------------------------------------------------ */
/* The Ethernet/IPv4/TCP fast path against the layered path            */
/* ------------------------------------------------------------------ */

static enum cap_verdict decode_bytes(const uint8_t *b, uint32_t caplen,
				     uint32_t wirelen, int linktype,
				     struct isc_pkt *pkt)
{
	struct cap_frame fr = {
		.ts = T_TS, .index = T_INDEX, .linktype = linktype,
		.data = b, .caplen = caplen, .wirelen = wirelen,
	};

	memset(pkt, 0xa5, sizeof(*pkt));
	return cap_decode(&fr, pkt);
}

/* An Ethernet frame with ethertype IPv4 goes the fast way when its
 * headers allow; the same bytes after the Ethernet header, as a
 * LINKTYPE_IPV4 frame, always go the layered way. Random variations of a
 * valid frame (lengths, version and IHL, fragment bits, protocol, data
 * offset, snaplen cuts, padding) must decode the same both ways, field
 * for field, with the payload at the same place. */
Test(fast_path, agrees_with_the_layered_decoder)
{
	uint64_t seed = 8;
	unsigned tcp_frames = 0, options = 0, cut = 0;

	for (int round = 0; round < 200000; round++) {
		uint8_t f[14 + 60 + 60 + 64];
		uint64_t r = splitmix64(&seed), r2 = splitmix64(&seed);
		size_t iphl = 20 + 4 * ((r & 7) == 0 ? (r >> 3) % 11 : 0);
		size_t tcphl = 20 + 4 * ((r >> 8) % 4 == 0 ? (r >> 10) % 11 : 0);
		size_t data = (r >> 14) % 65;
		size_t len = 14 + iphl + tcphl + data;

		for (size_t i = 0; i < sizeof(f); i++)
			f[i] = (uint8_t)splitmix64(&seed);
		f[12] = 0x08, f[13] = 0x00;
		f[14] = (uint8_t)(0x40 | iphl / 4);
		size_t total = iphl + tcphl + data;
		f[16] = (uint8_t)(total >> 8), f[17] = (uint8_t)total;
		f[20] = f[21] = 0;	/* not a fragment */
		f[23] = 6;
		f[14 + iphl + 12] = (uint8_t)(tcphl / 4 << 4 | (f[14 + iphl + 12] & 15));
		/* then break one thing, or none */
		switch ((r >> 24) % 12) {
		case 0: f[14] = (uint8_t)r2; break;		/* version, IHL */
		case 1: f[16] = (uint8_t)r2, f[17] = (uint8_t)(r2 >> 8); break;
		case 2: f[17] = (uint8_t)(f[17] + (int8_t)r2 % 8); break;
		case 3: f[20] = (uint8_t)r2, f[21] = (uint8_t)(r2 >> 8); break;
		case 4: f[23] = (uint8_t)r2; break;		/* protocol */
		case 5: f[14 + iphl + 12] = (uint8_t)r2; break;	/* offset */
		case 6: f[16] = f[17] = 0; break;		/* TSO */
		case 7: f[12] = (uint8_t)r2; break;		/* ethertype */
		default: break;
		}
		uint32_t wire = (uint32_t)len + ((r >> 28) % 4 == 0 ? (r >> 30) % 40 : 0);
		uint32_t cap = wire;
		if ((r >> 36) % 3 == 0)
			cap = (uint32_t)((r >> 38) % (wire + 1));	/* snaplen */
		if (cap > sizeof(f))
			cap = sizeof(f);
		if (cap < 14 || wire < 14)
			continue;

		struct isc_pkt a, b;
		enum cap_verdict va = decode_bytes(f, cap, wire, DLT_EN10MB, &a);
		if (f[12] != 0x08 || f[13] != 0x00)
			continue;	/* not IPv4: nothing to compare with */
		enum cap_verdict vb = decode_bytes(f + 14, cap - 14, wire - 14,
						   LT_IPV4, &b);
		cr_assert_eq(va, vb, "round %d: verdict %d, layered %d", round,
			     va, vb);
		if (va != CAP_TCP)
			continue;
		tcp_frames++;
		options += iphl > 20 || tcphl > 20;
		cut += a.payload_missing > 0;
		cr_assert_eq(a.ts, b.ts);
		cr_assert_eq(a.index, b.index);
		cr_assert_eq(memcmp(&a.src, &b.src, sizeof(a.src)), 0, "round %d", round);
		cr_assert_eq(memcmp(&a.dst, &b.dst, sizeof(a.dst)), 0, "round %d", round);
		cr_assert_eq(a.sport, b.sport);
		cr_assert_eq(a.dport, b.dport);
		cr_assert_eq(a.seq, b.seq);
		cr_assert_eq(a.ack, b.ack);
		cr_assert_eq(a.win, b.win);
		cr_assert_eq(a.flags, b.flags);
		cr_assert_eq(a.payload - f, b.payload - f, "round %d", round);
		cr_assert_eq(a.payload_len, b.payload_len, "round %d", round);
		cr_assert_eq(a.payload_missing, b.payload_missing, "round %d", round);
	}
	/* the variations reach both paths, cut frames and options among them */
	cr_assert_gt(tcp_frames, 50000, "%u", tcp_frames);
	cr_assert_gt(options, 5000, "%u", options);
	cr_assert_gt(cut, 1000, "%u", cut);
}
