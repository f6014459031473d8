/* tests/unit/capture_frames.h: frames assembled in memory for the capture
 * tests (test_capture.c, test_capture_files.c, test_decoder.c,
 * test_ipfrag.c), and the temporary directory their file tests write in.
 *
 * struct fb is a frame under construction. Headers are appended in wire
 * order; each IP header and UDP header remembers where its length field
 * is, and fb_finish() fills them all in from the bytes that follow, so
 * nested (tunnelled) packets get consistent lengths. The test endpoints
 * and numbers (src4, T_SPORT, ...) are what check_pkt()-style assertions
 * compare against. Include after <criterion/criterion.h>. */
#ifndef ISC_TEST_CAPTURE_FRAMES_H
#define ISC_TEST_CAPTURE_FRAMES_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/pkt.h"

#define FB_UNUSED __attribute__((unused))

/* The endpoints, numbers and payload every test frame carries. */
FB_UNUSED static const uint8_t src4[4] = { 192, 0, 2, 1 };
FB_UNUSED static const uint8_t dst4[4] = { 198, 51, 100, 2 };
FB_UNUSED static const uint8_t src6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
FB_UNUSED static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
#define T_SPORT 40000
#define T_DPORT 143
#define T_SEQ 0x11223344u
#define T_ACK 0x55667788u
#define T_WIN 0x1234
#define T_FLAGS (ISC_TH_PSH | ISC_TH_ACK)
#define T_PAYLOAD "a1 NOOP\r\n"
#define T_PLEN 9u
#define T_TS 1234567890123456789LL
#define T_INDEX 7

#define LT_SLL2 276
#define LT_RAW 101
#define LT_IPV4 228
#define LT_IPV6 229
#define LT_LOOP 108

/* A frame under construction. ip_off and ip_ver remember the IP header so
 * fb_finish() can fill in its length field once the payload is known. */
struct fb {
	uint8_t b[2048];
	size_t len;
	size_t ip_off;		/* the last IP header */
	int ip_ver;		/* 0: no IP header yet */
	/* length fields fb_finish() fills in: where each header starts and
	 * what kind it is (4: IPv4 total, 6: IPv6 payload, 17: UDP) */
	size_t lens[8];
	int lkind[8];
	int nlens;
};

/* Starts f over, empty. */
static inline void fb_reset(struct fb *f)
{
	f->len = 0;
	f->ip_off = 0;
	f->ip_ver = 0;
	f->nlens = 0;
}

/* Notes a length field of kind k in a header starting at off. */
static inline void fb_len_at(struct fb *f, size_t off, int k)
{
	cr_assert_lt(f->nlens, 8);
	f->lens[f->nlens] = off;
	f->lkind[f->nlens++] = k;
}

/* Appends n bytes. */
static inline void fb_put(struct fb *f, const void *p, size_t n)
{
	cr_assert_leq(f->len + n, sizeof(f->b));
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

/* Appends n copies of byte c. */
static inline void fb_fill(struct fb *f, uint8_t c, size_t n)
{
	cr_assert_leq(f->len + n, sizeof(f->b));
	memset(f->b + f->len, c, n);
	f->len += n;
}

static inline void fb_u8(struct fb *f, uint8_t v)
{
	fb_put(f, &v, 1);
}

static inline void fb_be16(struct fb *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	fb_put(f, b, 2);
}

static inline void fb_be32(struct fb *f, uint32_t v)
{
	fb_be16(f, (uint16_t)(v >> 16));
	fb_be16(f, (uint16_t)v);
}

static inline void fb_le32(struct fb *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };
	fb_put(f, b, 4);
}

/* Stores v big-endian at offset off of the frame. */
static inline void fb_set16(struct fb *f, size_t off, uint16_t v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

/* Ethernet II: dst 02:00:00:00:00:02, src 02:00:00:00:00:01, then one
 * 4-byte VLAN tag (TPID, TCI with VLAN id 100 + i) per entry of tpids,
 * then the ethertype. */
static inline void fb_eth(struct fb *f, const uint16_t *tpids, int ntags,
		   uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };

	fb_put(f, macs, sizeof(macs));
	for (int i = 0; i < ntags; i++) {
		fb_be16(f, tpids[i]);
		fb_be16(f, (uint16_t)(100 + i));
	}
	fb_be16(f, type);
}

/* Linux cooked capture v1 (16 bytes): packet type 0 (to us), ARPHRD 1,
 * address length 6, a MAC padded to 8 bytes, then the protocol. */
static inline void fb_sll(struct fb *f, uint16_t proto)
{
	static const uint8_t addr[8] = { 2, 0, 0, 0, 0, 1, 0, 0 };

	fb_be16(f, 0);
	fb_be16(f, 1);
	fb_be16(f, 6);
	fb_put(f, addr, sizeof(addr));
	fb_be16(f, proto);
}

/* Linux cooked capture v2 (20 bytes): protocol, reserved, interface index
 * 3, ARPHRD 1, packet type 0, address length 6, a MAC padded to 8. */
static inline void fb_sll2(struct fb *f, uint16_t proto)
{
	static const uint8_t addr[8] = { 2, 0, 0, 0, 0, 1, 0, 0 };

	fb_be16(f, proto);
	fb_be16(f, 0);
	fb_be32(f, 3);
	fb_be16(f, 1);
	fb_u8(f, 0);
	fb_u8(f, 6);
	fb_put(f, addr, sizeof(addr));
}

/* BSD loopback header: the 4-byte address family, big- or little-endian. */
static inline void fb_bsd(struct fb *f, uint32_t fam, bool big)
{
	if (big)
		fb_be32(f, fam);
	else
		fb_le32(f, fam);
}

/* PPP header: ff 03 when hdlc, then the 2-byte protocol. */
static inline void fb_ppp(struct fb *f, bool hdlc, uint16_t proto)
{
	if (hdlc) {
		fb_u8(f, 0xff);
		fb_u8(f, 0x03);
	}
	fb_be16(f, proto);
}

/* IPv4 header, src4 -> dst4, with optlen (a multiple of 4) bytes of NOP
 * options and the given flags/fragment offset field. The total length is
 * left for fb_finish(); the checksum stays zero (it is not verified). */
static inline void fb_ipv4(struct fb *f, uint8_t proto, size_t optlen, uint16_t frag)
{
	f->ip_off = f->len;
	f->ip_ver = 4;
	fb_len_at(f, f->len, 4);
	fb_u8(f, (uint8_t)(0x40 | (20 + optlen) / 4));
	fb_u8(f, 0);
	fb_be16(f, 0);		/* total length, see fb_finish() */
	fb_be16(f, 0x4242);
	fb_be16(f, frag);
	fb_u8(f, 64);
	fb_u8(f, proto);
	fb_be16(f, 0);
	fb_put(f, src4, 4);
	fb_put(f, dst4, 4);
	fb_fill(f, 0x01, optlen);
}

/* IPv6 header, src6 -> dst6, next header nh. The payload length is left
 * for fb_finish(). */
static inline void fb_ipv6(struct fb *f, uint8_t nh)
{
	f->ip_off = f->len;
	f->ip_ver = 6;
	fb_len_at(f, f->len, 6);
	fb_be32(f, 0x60000000);
	fb_be16(f, 0);		/* payload length, see fb_finish() */
	fb_u8(f, nh);
	fb_u8(f, 64);
	fb_put(f, src6, 16);
	fb_put(f, dst6, 16);
}

/* An IPv6 extension header in the hop-by-hop/routing/destination options
 * format: next header nh, length field n8, so (n8 + 1) * 8 bytes, filled
 * with one PadN option. */
static inline void fb_ip6_ext(struct fb *f, uint8_t nh, uint8_t n8)
{
	size_t len = ((size_t)n8 + 1) * 8;

	fb_u8(f, nh);
	fb_u8(f, n8);
	fb_u8(f, 1);			/* PadN */
	fb_u8(f, (uint8_t)(len - 4));
	fb_fill(f, 0, len - 4);
}

/* An IPv6 authentication header (RFC 4302): next header nh, 12 bytes of
 * fields and ICV, so a length field of 1 ((1 + 2) * 4 = 12 bytes). */
static inline void fb_ip6_ah(struct fb *f, uint8_t nh)
{
	fb_u8(f, nh);
	fb_u8(f, 1);
	fb_fill(f, 0, 10);
}

/* An IPv6 fragment header: next header nh, offset in 8-byte units, M. */
static inline void fb_ip6_frag(struct fb *f, uint8_t nh, uint16_t offset, bool more)
{
	fb_u8(f, nh);
	fb_u8(f, 0);
	fb_be16(f, (uint16_t)(offset << 3 | (more ? 1 : 0)));
	fb_be32(f, 0xdeadbeef);
}

/* TCP header with the test ports, numbers and window, the given flags
 * byte and optlen (a multiple of 4) bytes of NOP options. */
static inline void fb_tcp(struct fb *f, uint8_t flags, size_t optlen)
{
	fb_be16(f, T_SPORT);
	fb_be16(f, T_DPORT);
	fb_be32(f, T_SEQ);
	fb_be32(f, T_ACK);
	fb_u8(f, (uint8_t)((20 + optlen) / 4 << 4));
	fb_u8(f, flags);
	fb_be16(f, T_WIN);
	fb_be32(f, 0);			/* checksum, urgent pointer */
	fb_fill(f, 0x01, optlen);
}

/* UDP header, 8 bytes, length left at zero (never read). */
static inline void fb_udp(struct fb *f)
{
	fb_be16(f, 53);
	fb_be16(f, 53);
	fb_be32(f, 0);
}

/* Fills in every IP and UDP length field from the bytes after the header,
 * so call it before appending link padding. */
static inline void fb_finish(struct fb *f)
{
	for (int i = 0; i < f->nlens; i++) {
		size_t after = f->len - f->lens[i];

		if (f->lkind[i] == 4)
			fb_set16(f, f->lens[i] + 2, (uint16_t)after);
		else if (f->lkind[i] == 6)
			fb_set16(f, f->lens[i] + 4, (uint16_t)(after - 40));
		else
			fb_set16(f, f->lens[i] + 4, (uint16_t)after);
	}
}

/* ---- link headers for an IP version: struct link_case writers ------ */

static inline uint16_t ethertype(int ipver)
{
	return ipver == 4 ? 0x0800 : 0x86dd;
}

/* Link header writers for struct link_case, one per framing. */
static inline void put_eth(struct fb *f, int v)
{
	fb_eth(f, NULL, 0, ethertype(v));
}

static inline void put_vlan1(struct fb *f, int v)
{
	static const uint16_t t[1] = { 0x8100 };

	fb_eth(f, t, 1, ethertype(v));
}

static inline void put_sll(struct fb *f, int v)
{
	fb_sll(f, ethertype(v));
}

static inline void put_sll2(struct fb *f, int v)
{
	fb_sll2(f, ethertype(v));
}

/* AF_INET6 differs by system: 30 (macOS), 24 (NetBSD), 28 (FreeBSD). */
static inline void put_null_le(struct fb *f, int v)
{
	fb_bsd(f, v == 4 ? 2 : 30, false);
}

static inline void put_null_be(struct fb *f, int v)
{
	fb_bsd(f, v == 4 ? 2 : 24, true);
}

static inline void put_loop(struct fb *f, int v)
{
	fb_bsd(f, v == 4 ? 2 : 28, true);
}

static inline void put_none(struct fb *f, int v)
{
	(void)f;
	(void)v;
}

static inline void put_ppp_hdlc(struct fb *f, int v)
{
	fb_ppp(f, true, v == 4 ? 0x21 : 0x57);
}

static inline void put_ppp(struct fb *f, int v)
{
	fb_ppp(f, false, v == 4 ? 0x21 : 0x57);
}

/* ---- more general headers, for sessions and tunnels ---------------- */

/* IPv4 header from src to dst (4 bytes each) with identification id and
 * the flags/fragment offset field frag; no options. */
static inline void fb_ipv4_ex(struct fb *f, uint8_t proto, const uint8_t *src,
			      const uint8_t *dst, uint16_t id, uint16_t frag)
{
	f->ip_off = f->len;
	f->ip_ver = 4;
	fb_len_at(f, f->len, 4);
	fb_u8(f, 0x45);
	fb_u8(f, 0);
	fb_be16(f, 0);
	fb_be16(f, id);
	fb_be16(f, frag);
	fb_u8(f, 64);
	fb_u8(f, proto);
	fb_be16(f, 0);
	fb_put(f, src, 4);
	fb_put(f, dst, 4);
}

/* IPv6 header from src to dst (16 bytes each), next header nh. */
static inline void fb_ipv6_ex(struct fb *f, uint8_t nh, const uint8_t *src,
			      const uint8_t *dst)
{
	f->ip_off = f->len;
	f->ip_ver = 6;
	fb_len_at(f, f->len, 6);
	fb_be32(f, 0x60000000);
	fb_be16(f, 0);
	fb_u8(f, nh);
	fb_u8(f, 64);
	fb_put(f, src, 16);
	fb_put(f, dst, 16);
}

/* TCP header without options. */
static inline void fb_tcp_ex(struct fb *f, uint16_t sport, uint16_t dport,
			     uint32_t seq, uint32_t ack, uint8_t flags)
{
	fb_be16(f, sport);
	fb_be16(f, dport);
	fb_be32(f, seq);
	fb_be32(f, ack);
	fb_u8(f, 5 << 4);
	fb_u8(f, flags);
	fb_be16(f, T_WIN);
	fb_be32(f, 0);
}

/* UDP header whose length fb_finish() fills in. */
static inline void fb_udp_ex(struct fb *f, uint16_t sport, uint16_t dport)
{
	fb_len_at(f, f->len, 17);
	fb_be16(f, sport);
	fb_be16(f, dport);
	fb_be32(f, 0);
}

/* GRE header: flags (C 0x8000, K 0x2000, S 0x1000; version in the low
 * bits), protocol, and the optional fields the flags announce. */
static inline void fb_gre(struct fb *f, uint16_t flags, uint16_t proto)
{
	fb_be16(f, flags);
	fb_be16(f, proto);
	if (flags & 0x8000)
		fb_be32(f, 0);			/* checksum, reserved */
	if (flags & 0x2000)
		fb_be32(f, 0xcafe0001);		/* key */
	if (flags & 0x1000)
		fb_be32(f, 7);			/* sequence number */
}

/* VXLAN header with the I flag and VNI vni. */
static inline void fb_vxlan(struct fb *f, uint32_t vni)
{
	fb_u8(f, 0x08);
	fb_fill(f, 0, 3);
	fb_be32(f, vni << 8);
}

/* ---- decoder counters ---- */

struct want {
	const char *group, *name;
	uint64_t value;
};

/* Checks every counter of d: those in w[] have their value, every other
 * one is 0, except packets.bytes and the fragment peaks. */
static inline void check_stats(const struct cap_decoder *d, const struct want *w,
			size_t n)
{
	struct cap_stat st;
	size_t found = 0;

	for (size_t i = 0; cap_decoder_stat(d, i, &st); i++) {
		uint64_t want = 0;

		for (size_t k = 0; k < n; k++)
			if (strcmp(w[k].group, st.group) == 0 &&
			    strcmp(w[k].name, st.name) == 0) {
				want = w[k].value;
				found++;
			}
		if (strcmp(st.name, "bytes") == 0 ||
		    strncmp(st.name, "peak_", 5) == 0)
			continue;
		cr_assert_eq(st.value, want, "%s.%s = %lu, want %lu",
			     st.group, st.name, (unsigned long)st.value,
			     (unsigned long)want);
	}
	cr_assert_eq(found, n, "a wanted counter does not exist");
}

/* ---- a temporary directory per test: TestSuite(x, .init = tmp_setup,
 * .fini = tmp_teardown) ---- */

FB_UNUSED static char tmpdir[64];

/* Removes dir and everything below it. */
FB_UNUSED static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	char *path;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0)
			continue;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(path);
		else
			unlink(path);
		free(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Makes a fresh temporary directory for the test's files. */
FB_UNUSED static void tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/isc_test.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

/* Removes the temporary directory and everything in it. */
FB_UNUSED static void tmp_teardown(void)
{
	rm_tree(tmpdir);
}

#endif
