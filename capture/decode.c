/* capture/decode.c: from one captured frame to one TCP segment.
 *
 * Layer by layer, each reading only through struct rd: the link header
 * names the network protocol (cap_link), the IP header bounds the bytes
 * it carries (cap_ipv4, cap_ipv6), and what it carries is TCP (cap_tcp),
 * a tunnel whose inner packet starts the walk again one level down
 * (cap_l4: IP in IP, GRE, VXLAN), or something else. IP fragments go to
 * the decoder's fragment table (ipfrag.c); a completed datagram is then
 * decoded from its reassembled bytes exactly as an unfragmented one.
 *
 * Every layer works on a span: the captured bytes of the layer, bounded by
 * the length field of the layer that encloses it, plus the count of bytes
 * that were sent after them but cut off by the snaplen. A header that
 * runs past the captured bytes but not past the span is CAP_TRUNCATED
 * (the snaplen's doing); one that runs past the span is CAP_INVALID_* (it
 * cannot be right whatever the snaplen).
 *
 * References: IEEE 802.3 and 802.1Q/802.1ad (Ethernet, VLAN tags); the
 * tcpdump.org list of link-layer header types (LINKTYPE_* values and the
 * SLL, SLL2, NULL and LOOP headers); RFC 1661 and RFC 1662 (PPP in
 * HDLC-like framing); RFC 791 (IPv4); RFC 8200 (IPv6, its extension
 * headers and fragments); RFC 4302 (AH); RFC 6946 (atomic fragments); RFC
 * 2675 (jumbograms, not supported); RFC 2003 and RFC 2473 (IP in IP); RFC
 * 2784 and RFC 2890 (GRE); RFC 1701 (GRE protocol 0x6558, transparent
 * Ethernet bridging); draft-foschiano-erspan (ERSPAN types I-III); RFC
 * 7348 (VXLAN); RFC 9293 (TCP).
 */
#include "decode.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "../common/rd.h"
#include "ipfrag.h"

/* LINKTYPE_* values as stored in files, where they differ from the DLT_*
 * values libpcap hands out on some platforms. */
#define CAP_LINKTYPE_RAW	101
#define CAP_LINKTYPE_IPV4	228	/* DLT_IPV4 has the same value */
#define CAP_LINKTYPE_IPV6	229	/* DLT_IPV6 has the same value */
#define CAP_LINKTYPE_LOOP	108
#define CAP_LINKTYPE_SLL2	276

#define CAP_ETHERTYPE_IPV4	0x0800
#define CAP_ETHERTYPE_IPV6	0x86dd
#define CAP_ETHERTYPE_8021Q	0x8100	/* IEEE 802.1Q customer tag */
#define CAP_ETHERTYPE_8021AD	0x88a8	/* IEEE 802.1ad service tag */
#define CAP_ETHERTYPE_QINQ	0x9100	/* pre-802.1ad service tag */
#define CAP_ETHERTYPE_TEB	0x6558	/* transparent Ethernet bridging */
#define CAP_ETHERTYPE_ERSPAN	0x88be	/* ERSPAN types I and II */
#define CAP_ETHERTYPE_ERSPAN3	0x22eb	/* ERSPAN type III */

#define CAP_IPPROTO_IPIP	4
#define CAP_IPPROTO_TCP		6
#define CAP_IPPROTO_UDP		17
#define CAP_IPPROTO_IPV6	41
#define CAP_IPPROTO_GRE		47
#define CAP_IPPROTO_NONE	59	/* IPv6 "no next header" */

/* IPv6 extension headers we walk (RFC 8200 section 4; AH: RFC 4302). */
#define CAP_IP6_HOPOPTS		0
#define CAP_IP6_ROUTING		43
#define CAP_IP6_FRAGMENT	44
#define CAP_IP6_AH		51
#define CAP_IP6_DSTOPTS		60

#define CAP_VXLAN_PORT		4789

/* Inside this file CAP_TCP also means "so far so good, go on". */
#define CAP_GO CAP_TCP

const char *const cap_verdict_names[CAP_DECODER_VERDICT_COUNT] = {
	[CAP_TCP] = "tcp",
	[CAP_UNSUPPORTED_LINK] = "unsupported_link",
	[CAP_NOT_IP] = "not_ip",
	[CAP_NOT_TCP] = "not_tcp",
	[CAP_FRAGMENT] = "fragment",
	[CAP_TRUNCATED] = "truncated",
	[CAP_INVALID_LINK] = "invalid_link",
	[CAP_INVALID_IP] = "invalid_ip",
	[CAP_INVALID_TCP] = "invalid_tcp",
	[CAP_FRAGMENT_HELD] = "fragment_held",
	[CAP_FRAGMENT_REASSEMBLED] = "fragment_reassembled",
};

const char *const cap_reason_names[CAP_REASON_COUNT] = {
	[CAP_REASON_LINK_SHORT] = "link_header_short",
	[CAP_REASON_GRE_SHORT] = "gre_header_short",
	[CAP_REASON_ERSPAN_SHORT] = "erspan_header_short",
	[CAP_REASON_VXLAN_UDP_LENGTH] = "vxlan_udp_length",
	[CAP_REASON_IP_SHORT] = "ip_header_short",
	[CAP_REASON_IP_BAD_VERSION] = "ip_bad_version",
	[CAP_REASON_IP_IHL_LT_5] = "ip_ihl_lt_5",
	[CAP_REASON_IP_TOTAL_LT_HEADER] = "ip_total_lt_header",
	[CAP_REASON_IP_TOTAL_GT_FRAME] = "ip_total_gt_frame",
	[CAP_REASON_IPV6_PAYLOAD_GT_FRAME] = "ipv6_payload_gt_frame",
	[CAP_REASON_IPV6_JUMBOGRAM] = "ipv6_jumbogram",
	[CAP_REASON_IPV6_EXT_OVERRUN] = "ipv6_ext_overrun",
	[CAP_REASON_FRAG_OFFSET_OVERFLOW] = "frag_offset_overflow",
	[CAP_REASON_FRAG_LEN_NOT_MULT_8] = "frag_len_not_multiple_of_8",
	[CAP_REASON_FRAG_EMPTY] = "frag_empty",
	[CAP_REASON_FRAG_END_INCONSISTENT] = "frag_end_inconsistent",
	[CAP_REASON_TUNNEL_TOO_DEEP] = "tunnel_too_deep",
	[CAP_REASON_TCP_SHORT] = "tcp_header_short",
	[CAP_REASON_TCP_DOFF_LT_5] = "tcp_doff_lt_5",
	[CAP_REASON_TCP_DOFF_BEYOND_SEGMENT] = "tcp_doff_beyond_segment",
};

/* Link types as counted. */
enum cap_link_kind {
	CAP_LK_ETHERNET = 0,
	CAP_LK_SLL,
	CAP_LK_SLL2,
	CAP_LK_NULL,
	CAP_LK_LOOP,
	CAP_LK_RAW,
	CAP_LK_IPV4,
	CAP_LK_IPV6,
	CAP_LK_PPP,
	CAP_LK_PPP_SERIAL,
	CAP_LK_OTHER,
	CAP_LK_COUNT
};

static const char *const cap_link_names[CAP_LK_COUNT] = {
	"ethernet", "linux_sll", "linux_sll2", "null", "loop", "raw", "ipv4",
	"ipv6", "ppp", "ppp_serial", "other",
};

/* Encapsulations as counted. */
enum cap_tunnel {
	CAP_TUN_IPV4_IN_IP = 0,
	CAP_TUN_IPV6_IN_IP,
	CAP_TUN_GRE,		/* GRE carrying IPv4 or IPv6 */
	CAP_TUN_GRE_ETH,	/* GRE carrying Ethernet (0x6558) */
	CAP_TUN_ERSPAN,
	CAP_TUN_VXLAN,
	CAP_TUN_UNSUPPORTED,	/* GRE or ERSPAN we do not decode */
	CAP_TUN_COUNT
};

static const char *const cap_tunnel_names[CAP_TUN_COUNT] = {
	"ipv4_in_ip", "ipv6_in_ip", "gre", "gre_ethernet", "erspan", "vxlan",
	"unsupported",
};

static const char *const cap_frag_names[] = {
	"fragments", "reassembled", "overlaps", "overlap_conflicts", "refused",
	"expired", "dropped", "pending", "held", "bytes_held", "peak_held",
	"peak_bytes",
};
#define CAP_FRAG_NSTATS (sizeof(cap_frag_names) / sizeof(cap_frag_names[0]))

static const char *const cap_length_names[] = {
	"ipv4_length_from_frame", "ipv6_length_from_frame",
	"tcp_payload_cut_bytes",
};

struct cap_decoder {
	struct cap_defrag *defrag;
	/* The fragment table's clock is the newest timestamp of any frame.
	 * The table is shown a frame's time only while it may hold a
	 * datagram to expire; otherwise only now moves, and the table is
	 * set to it before its next fragment (cap_fragment()). With no
	 * fragments held, that saves the cap_defrag_expire() call, 18
	 * instructions a frame on bench's mixed capture. */
	isc_time now;			/* INT64_MIN before the first frame */
	bool frags_held;		/* the table may hold a datagram */
	/* Reassembled datagrams of the last frame, one per IP layer at
	 * most: freed at the next call. */
	uint8_t *bufs[CAP_MAX_ENCAP + 1];
	size_t nbufs;
	/* frags_held || nbufs > 0: work before the next frame, one test a
	 * frame instead of two (6 instructions a frame less on bench's
	 * mixed capture) */
	bool chores;
	/* counters; frames taken by cap_fast_eth_ipv4_tcp() are counted
	 * once, in fast, and added to frames, links[CAP_LK_ETHERNET] and
	 * verdicts[CAP_TCP] by cap_decoder_stat(): one counter a frame
	 * instead of three (7 instructions a frame less on bench's mixed
	 * capture) */
	uint64_t fast;
	uint64_t frames, bytes;
	uint64_t verdicts[CAP_DECODER_VERDICT_COUNT];
	uint64_t links[CAP_LK_COUNT];
	uint64_t reasons[CAP_REASON_COUNT];
	uint64_t tunnels[CAP_TUN_COUNT];
	uint64_t v4_from_frame, v6_from_frame;
	uint64_t cut_bytes;
};

/* One frame being decoded. */
struct cap_ctx {
	struct cap_decoder *dec;	/* NULL for cap_decode() */
	isc_time ts;
	struct isc_pkt pkt;		/* the segment being filled in */
	enum cap_reason reason;		/* set with every CAP_INVALID_* */
	unsigned depth;			/* encapsulations entered */
	bool reassembled;		/* a datagram was completed */
};

/* The bytes of one layer, bounded by the length field of the layer that
 * encloses it. r holds what was captured; missing counts the bytes that
 * were sent after r's end but cut off by the snaplen. As r is consumed,
 * r.left + missing stays the number of bytes the length field declares
 * from r.p on. */
struct cap_span {
	struct rd r;
	size_t missing;
};

static enum cap_verdict cap_ip(struct cap_ctx *c, struct cap_span *s,
			       int ipver);

/* Bytes the span declares from its read position on. */
static size_t cap_span_len(const struct cap_span *s)
{
	return s->r.left + s->missing;
}

/* The first n bytes of s (n <= cap_span_len(s)) as a span of their own. */
static struct cap_span cap_span_sub(const struct cap_span *s, size_t n)
{
	struct cap_span t;
	size_t got = n < s->r.left ? n : s->r.left;

	t.r = rd_init(s->r.p, got);
	t.missing = n - got;
	return t;
}

/* Returns the invalid verdict v and notes why. */
static enum cap_verdict cap_bad(struct cap_ctx *c, enum cap_verdict v,
				enum cap_reason why)
{
	c->reason = why;
	return v;
}

/* Checks that the next n bytes of s can be read. Returns CAP_GO when they
 * were captured, `invalid` (for reason why) when the span does not leave
 * room for them, CAP_TRUNCATED when they were sent but not captured. */
static enum cap_verdict cap_need(struct cap_ctx *c, const struct cap_span *s,
				 size_t n, enum cap_verdict invalid,
				 enum cap_reason why)
{
	if (n > cap_span_len(s))
		return cap_bad(c, invalid, why);
	if (!rd_have(&s->r, n))
		return CAP_TRUNCATED;
	return CAP_GO;
}

/* Enters one more encapsulation of kind t. Returns CAP_GO, or
 * CAP_INVALID_IP when that would pass CAP_MAX_ENCAP. */
static enum cap_verdict cap_enter(struct cap_ctx *c, enum cap_tunnel t)
{
	if (c->depth >= CAP_MAX_ENCAP)
		return cap_bad(c, CAP_INVALID_IP, CAP_REASON_TUNNEL_TOO_DEEP);
	c->depth++;
	if (c->dec != NULL)
		c->dec->tunnels[t]++;
	return CAP_GO;
}

/* Counts an encapsulation we recognise but do not decode. */
static enum cap_verdict cap_unsupported(struct cap_ctx *c)
{
	if (c->dec != NULL)
		c->dec->tunnels[CAP_TUN_UNSUPPORTED]++;
	return CAP_NOT_TCP;
}

/* ---- link layer --------------------------------------------------- */

/* Maps an ethertype to IP version 4 or 6 in *ipver_r. Returns CAP_GO, or
 * CAP_NOT_IP for any other protocol (ARP, 802.3 length fields, ...). */
static enum cap_verdict cap_ethertype(uint16_t type, int *ipver_r)
{
	switch (type) {
	case CAP_ETHERTYPE_IPV4:
		*ipver_r = 4;
		return CAP_GO;
	case CAP_ETHERTYPE_IPV6:
		*ipver_r = 6;
		return CAP_GO;
	default:
		return CAP_NOT_IP;
	}
}

/* Skips any number of VLAN tags (4 bytes each: TCI, then the next type)
 * when type is a tag protocol identifier, then maps the inner ethertype.
 * The loop ends: every tag takes 4 bytes of the span. */
static enum cap_verdict cap_vlan_walk(struct cap_ctx *c, struct cap_span *s,
				      uint16_t type, int *ipver_r)
{
	enum cap_verdict v;

	while (type == CAP_ETHERTYPE_8021Q || type == CAP_ETHERTYPE_8021AD ||
	       type == CAP_ETHERTYPE_QINQ) {
		v = cap_need(c, s, 4, CAP_INVALID_LINK, CAP_REASON_LINK_SHORT);
		if (v != CAP_GO)
			return v;
		rd_skip(&s->r, 2);	/* TCI: priority, DEI, VLAN id */
		type = rd_be16(&s->r);
	}
	return cap_ethertype(type, ipver_r);
}

/* Ethernet II: destination, source, ethertype (14 bytes), VLAN tags. */
static enum cap_verdict cap_link_eth(struct cap_ctx *c, struct cap_span *s,
				     int *ipver_r)
{
	enum cap_verdict v;

	v = cap_need(c, s, 14, CAP_INVALID_LINK, CAP_REASON_LINK_SHORT);
	if (v != CAP_GO)
		return v;
	rd_skip(&s->r, 12);	/* destination and source MAC */
	return cap_vlan_walk(c, s, rd_be16(&s->r), ipver_r);
}

/* Linux cooked capture v1, 16 bytes: packet type, ARPHRD type, address
 * length, 8 address bytes, then the protocol (an ethertype) at offset 14. */
static enum cap_verdict cap_link_sll(struct cap_ctx *c, struct cap_span *s,
				     int *ipver_r)
{
	enum cap_verdict v;

	v = cap_need(c, s, 16, CAP_INVALID_LINK, CAP_REASON_LINK_SHORT);
	if (v != CAP_GO)
		return v;
	rd_skip(&s->r, 14);
	return cap_vlan_walk(c, s, rd_be16(&s->r), ipver_r);
}

/* Linux cooked capture v2, 20 bytes: protocol (an ethertype) at offset 0,
 * then reserved, interface index, ARPHRD type, packet type, address length
 * and 8 address bytes. */
static enum cap_verdict cap_link_sll2(struct cap_ctx *c, struct cap_span *s,
				      int *ipver_r)
{
	enum cap_verdict v;
	uint16_t type;

	v = cap_need(c, s, 20, CAP_INVALID_LINK, CAP_REASON_LINK_SHORT);
	if (v != CAP_GO)
		return v;
	type = rd_be16(&s->r);
	rd_skip(&s->r, 18);
	return cap_vlan_walk(c, s, type, ipver_r);
}

/* BSD loopback: a 4-byte address family. DLT_NULL stores it in the byte
 * order of the machine that wrote the file, so both orders are accepted
 * (a family fits in 16 bits, a swapped one does not); DLT_LOOP stores it
 * in network byte order. AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD,
 * OpenBSD), 28 (FreeBSD) or 30 (macOS). */
static enum cap_verdict cap_link_bsd(struct cap_ctx *c, struct cap_span *s,
				     bool any_order, int *ipver_r)
{
	enum cap_verdict v;
	uint32_t fam;

	v = cap_need(c, s, 4, CAP_INVALID_LINK, CAP_REASON_LINK_SHORT);
	if (v != CAP_GO)
		return v;
	fam = rd_be32(&s->r);
	if (any_order && fam > 0xffff)
		fam = (fam >> 24) | (fam >> 8 & 0xff00) |
		      (fam << 8 & 0xff0000) | (fam << 24);
	switch (fam) {
	case 2:
		*ipver_r = 4;
		return CAP_GO;
	case 24:
	case 28:
	case 30:
		*ipver_r = 6;
		return CAP_GO;
	default:
		return CAP_NOT_IP;
	}
}

/* PPP (RFC 1661), optionally in HDLC-like framing (RFC 1662). Address
 * 0xff and control 0x03 come first unless both were compressed away (RFC
 * 1661 6.6: they are there exactly when the first two bytes are ff 03).
 * The protocol field follows: one byte when compressed (RFC 1661 6.5: an
 * odd first byte ends the field), two bytes otherwise. 0x0021 is IPv4,
 * 0x0057 IPv6. */
static enum cap_verdict cap_link_ppp(struct cap_ctx *c, struct cap_span *s,
				     int *ipver_r)
{
	enum cap_verdict v;
	struct rd peek;
	uint16_t proto;

	v = cap_need(c, s, 1, CAP_INVALID_LINK, CAP_REASON_LINK_SHORT);
	if (v != CAP_GO)
		return v;
	peek = s->r;
	if (rd_u8(&peek) == 0xff) {
		v = cap_need(c, s, 2, CAP_INVALID_LINK, CAP_REASON_LINK_SHORT);
		if (v != CAP_GO)
			return v;
		if (rd_u8(&peek) == 0x03)
			s->r = peek;
	}
	v = cap_need(c, s, 1, CAP_INVALID_LINK, CAP_REASON_LINK_SHORT);
	if (v != CAP_GO)
		return v;
	proto = rd_u8(&s->r);
	if (!(proto & 1)) {
		v = cap_need(c, s, 1, CAP_INVALID_LINK, CAP_REASON_LINK_SHORT);
		if (v != CAP_GO)
			return v;
		proto = (uint16_t)(proto << 8 | rd_u8(&s->r));
	}
	if (proto == 0x0021) {
		*ipver_r = 4;
		return CAP_GO;
	}
	if (proto == 0x0057) {
		*ipver_r = 6;
		return CAP_GO;
	}
	return CAP_NOT_IP;
}

/* Which counter a link type goes to. The checks are an if-chain, not a
 * switch, because DLT_RAW and DLT_LOOP share the value 12 on OpenBSD:
 * there DLT_LOOP must win, elsewhere 12 is raw IP. */
static enum cap_link_kind cap_link_kind(int linktype)
{
	if (linktype == DLT_EN10MB)
		return CAP_LK_ETHERNET;
	if (linktype == DLT_LINUX_SLL)
		return CAP_LK_SLL;
	if (linktype == CAP_LINKTYPE_SLL2)
		return CAP_LK_SLL2;
	if (linktype == DLT_NULL)
		return CAP_LK_NULL;
	if (linktype == DLT_LOOP || linktype == CAP_LINKTYPE_LOOP)
		return CAP_LK_LOOP;
	if (linktype == DLT_RAW || linktype == 12 || linktype == 14 ||
	    linktype == CAP_LINKTYPE_RAW)
		return CAP_LK_RAW;
	if (linktype == CAP_LINKTYPE_IPV4)
		return CAP_LK_IPV4;
	if (linktype == CAP_LINKTYPE_IPV6)
		return CAP_LK_IPV6;
	if (linktype == DLT_PPP)
		return CAP_LK_PPP;
	if (linktype == DLT_PPP_SERIAL)
		return CAP_LK_PPP_SERIAL;
	return CAP_LK_OTHER;
}

/* Decodes the link header of a frame of link type kind and leaves s at
 * the network header. Returns CAP_GO with *ipver_r set to 4, 6 or 0 (look
 * at the version nibble), or the verdict that ends decoding. */
static enum cap_verdict cap_link(struct cap_ctx *c, struct cap_span *s,
				 enum cap_link_kind kind, int *ipver_r)
{
	*ipver_r = 0;
	switch (kind) {
	case CAP_LK_ETHERNET:
		return cap_link_eth(c, s, ipver_r);
	case CAP_LK_SLL:
		return cap_link_sll(c, s, ipver_r);
	case CAP_LK_SLL2:
		return cap_link_sll2(c, s, ipver_r);
	case CAP_LK_NULL:
		return cap_link_bsd(c, s, true, ipver_r);
	case CAP_LK_LOOP:
		return cap_link_bsd(c, s, false, ipver_r);
	case CAP_LK_RAW:
		return CAP_GO;
	case CAP_LK_IPV4:
		*ipver_r = 4;
		return CAP_GO;
	case CAP_LK_IPV6:
		*ipver_r = 6;
		return CAP_GO;
	case CAP_LK_PPP:
	case CAP_LK_PPP_SERIAL:
		return cap_link_ppp(c, s, ipver_r);
	default:
		return CAP_UNSUPPORTED_LINK;
	}
}

/* An Ethernet frame inside a tunnel, then its IP packet. */
static enum cap_verdict cap_inner_eth(struct cap_ctx *c, struct cap_span *s)
{
	enum cap_verdict v;
	int ipver;

	if ((v = cap_link_eth(c, s, &ipver)) != CAP_GO)
		return v;
	return cap_ip(c, s, ipver);
}

/* ---- transport and tunnels ---------------------------------------- */

/* Decodes the TCP header (RFC 9293 3.1) at the start of s into *pkt and
 * points pkt->payload at the rest. Returns CAP_TCP, CAP_INVALID_TCP (a
 * segment shorter than 20 bytes, data offset < 5, or a header longer than
 * the segment) or CAP_TRUNCATED (header sent but not all captured). */
static enum cap_verdict cap_tcp(struct cap_ctx *c, struct cap_span *s)
{
	struct isc_pkt *pkt = &c->pkt;
	enum cap_verdict v;
	size_t hlen;

	v = cap_need(c, s, 20, CAP_INVALID_TCP, CAP_REASON_TCP_SHORT);
	if (v != CAP_GO)
		return v;
	pkt->sport = rd_be16(&s->r);
	pkt->dport = rd_be16(&s->r);
	pkt->seq = rd_be32(&s->r);
	pkt->ack = rd_be32(&s->r);
	hlen = (size_t)(rd_u8(&s->r) >> 4) * 4;
	/* CWR and ECE are left out: only the ISC_TH_* bits are passed on. */
	pkt->flags = rd_u8(&s->r) & 0x3f;
	pkt->win = rd_be16(&s->r);
	rd_skip(&s->r, 4);		/* checksum, urgent pointer */
	if (hlen < 20)
		return cap_bad(c, CAP_INVALID_TCP, CAP_REASON_TCP_DOFF_LT_5);
	v = cap_need(c, s, hlen - 20, CAP_INVALID_TCP,
		     CAP_REASON_TCP_DOFF_BEYOND_SEGMENT);
	if (v != CAP_GO)
		return v;
	rd_skip(&s->r, hlen - 20);	/* options */
	pkt->payload = s->r.p;
	pkt->payload_len = (uint32_t)s->r.left;
	pkt->payload_missing = (uint32_t)s->missing;
	return CAP_TCP;
}

/* ERSPAN type II (8 bytes: version 1, VLAN, CoS, encapsulation, truncated
 * flag, session id, reserved, index) or type III (12 bytes: version 2, ...,
 * timestamp, SGT, P, frame type, hardware id, D, granularity, O; O says an
 * 8-byte platform subheader follows) in front of the mirrored frame. Type
 * III's frame type 0 is Ethernet, 2 an IP packet. */
static enum cap_verdict cap_erspan(struct cap_ctx *c, struct cap_span *s,
				   bool type3)
{
	size_t hlen = type3 ? 12 : 8;
	enum cap_verdict v;
	struct rd peek;
	uint32_t w2;
	unsigned ver, ft = 0;

	v = cap_need(c, s, hlen, CAP_INVALID_LINK, CAP_REASON_ERSPAN_SHORT);
	if (v != CAP_GO)
		return v;
	peek = s->r;
	ver = rd_u8(&peek) >> 4;
	if (ver != (type3 ? 2u : 1u))
		return cap_unsupported(c);
	if (type3) {
		rd_skip(&peek, 7);
		w2 = rd_be32(&peek);
		ft = (w2 >> 10) & 0x1f;
		if (w2 & 1)
			hlen += 8;
		if (ft != 0 && ft != 2)
			return cap_unsupported(c);
		v = cap_need(c, s, hlen, CAP_INVALID_LINK,
			     CAP_REASON_ERSPAN_SHORT);
		if (v != CAP_GO)
			return v;
	}
	rd_skip(&s->r, hlen);
	if ((v = cap_enter(c, CAP_TUN_ERSPAN)) != CAP_GO)
		return v;
	return ft == 2 ? cap_ip(c, s, 0) : cap_inner_eth(c, s);
}

/* GRE (RFC 2784, with RFC 2890's key and sequence number): flags and
 * version, protocol type, then 4 bytes each for checksum (+ reserved),
 * key and sequence number when their bits (C 0x8000, K 0x2000, S 0x1000)
 * are set. Version 1 (PPTP's enhanced GRE) and the routing field of RFC
 * 1701 (R 0x4000) are not decoded. */
static enum cap_verdict cap_gre(struct cap_ctx *c, struct cap_span *s)
{
	enum cap_verdict v;
	struct rd peek;
	uint16_t flags, proto;
	size_t hlen;

	v = cap_need(c, s, 4, CAP_INVALID_LINK, CAP_REASON_GRE_SHORT);
	if (v != CAP_GO)
		return v;
	peek = s->r;
	flags = rd_be16(&peek);
	proto = rd_be16(&peek);
	if ((flags & 0x0007) != 0 || (flags & 0x4000) != 0)
		return cap_unsupported(c);
	hlen = 4 + ((flags & 0x8000) ? 4 : 0) + ((flags & 0x2000) ? 4 : 0) +
	       ((flags & 0x1000) ? 4 : 0);
	v = cap_need(c, s, hlen, CAP_INVALID_LINK, CAP_REASON_GRE_SHORT);
	if (v != CAP_GO)
		return v;
	rd_skip(&s->r, hlen);
	switch (proto) {
	case CAP_ETHERTYPE_IPV4:
	case CAP_ETHERTYPE_IPV6:
		if ((v = cap_enter(c, CAP_TUN_GRE)) != CAP_GO)
			return v;
		return cap_ip(c, s, proto == CAP_ETHERTYPE_IPV4 ? 4 : 6);
	case CAP_ETHERTYPE_TEB:
		if ((v = cap_enter(c, CAP_TUN_GRE_ETH)) != CAP_GO)
			return v;
		return cap_inner_eth(c, s);
	case CAP_ETHERTYPE_ERSPAN:
		/* type II has a sequence number, type I has no header */
		if (flags & 0x1000)
			return cap_erspan(c, s, false);
		if ((v = cap_enter(c, CAP_TUN_ERSPAN)) != CAP_GO)
			return v;
		return cap_inner_eth(c, s);
	case CAP_ETHERTYPE_ERSPAN3:
		return cap_erspan(c, s, true);
	default:
		return cap_unsupported(c);
	}
}

/* UDP: only VXLAN (RFC 7348) is looked into: destination port 4789, an
 * 8-byte header whose flags have the I bit (0x08, a valid VNI), then an
 * Ethernet frame. The UDP length bounds the inner frame. */
static enum cap_verdict cap_udp(struct cap_ctx *c, struct cap_span *s)
{
	enum cap_verdict v;
	struct cap_span u;
	struct rd peek = s->r;
	uint16_t dport, ulen;
	uint8_t flags;

	if (cap_span_len(s) < 8)
		return CAP_NOT_TCP;	/* not even a UDP header */
	if (!rd_have(&s->r, 8))
		return CAP_TRUNCATED;
	rd_skip(&peek, 2);
	dport = rd_be16(&peek);
	ulen = rd_be16(&peek);
	if (dport != CAP_VXLAN_PORT)
		return CAP_NOT_TCP;
	if (ulen < 16 || ulen > cap_span_len(s))
		return cap_bad(c, CAP_INVALID_LINK,
			       CAP_REASON_VXLAN_UDP_LENGTH);
	u = cap_span_sub(s, ulen);
	rd_skip(&u.r, 8);
	/* ulen >= 16: the VXLAN header is in the span, maybe not captured */
	if ((v = cap_need(c, &u, 8, CAP_INVALID_LINK,
			  CAP_REASON_VXLAN_UDP_LENGTH)) != CAP_GO)
		return v;
	flags = rd_u8(&u.r);
	rd_skip(&u.r, 7);		/* reserved, VNI, reserved */
	if (!(flags & 0x08))
		return cap_unsupported(c);
	if ((v = cap_enter(c, CAP_TUN_VXLAN)) != CAP_GO)
		return v;
	return cap_inner_eth(c, &u);
}

/* What an IP layer carries: TCP, a tunnel, or something else. */
static enum cap_verdict cap_l4(struct cap_ctx *c, struct cap_span *s,
			       uint8_t proto)
{
	enum cap_verdict v;

	switch (proto) {
	case CAP_IPPROTO_TCP:
		return cap_tcp(c, s);
	case CAP_IPPROTO_IPIP:
		if ((v = cap_enter(c, CAP_TUN_IPV4_IN_IP)) != CAP_GO)
			return v;
		return cap_ip(c, s, 4);
	case CAP_IPPROTO_IPV6:
		if ((v = cap_enter(c, CAP_TUN_IPV6_IN_IP)) != CAP_GO)
			return v;
		return cap_ip(c, s, 6);
	case CAP_IPPROTO_GRE:
		return cap_gre(c, s);
	case CAP_IPPROTO_UDP:
		return cap_udp(c, s);
	default:
		return CAP_NOT_TCP;
	}
}

/* ---- IP and fragments --------------------------------------------- */

/* Whether the fragments of a datagram of this protocol (IPv4) or whose
 * fragment header names this next header (IPv6) are worth holding: TCP,
 * the tunnels we decode, and IPv6 headers that may precede them. VXLAN is
 * left out: RFC 7348 4.3 forbids fragmenting it. */
static bool cap_frag_wanted(uint8_t proto)
{
	switch (proto) {
	case CAP_IPPROTO_TCP:
	case CAP_IPPROTO_IPIP:
	case CAP_IPPROTO_IPV6:
	case CAP_IPPROTO_GRE:
	case CAP_IP6_ROUTING:
	case CAP_IP6_AH:
	case CAP_IP6_DSTOPTS:
		return true;
	default:
		return false;
	}
}

/* Keeps a reassembled datagram's buffer until the next frame. Returns
 * false, having freed buf, when there is no room: never, as there is one
 * per IP layer and cap_enter() bounds the layers. */
static bool cap_keep(struct cap_ctx *c, uint8_t *buf)
{
	struct cap_decoder *dec = c->dec;

	if (dec->nbufs == sizeof(dec->bufs) / sizeof(dec->bufs[0])) {
		free(buf);
		return false;
	}
	dec->bufs[dec->nbufs++] = buf;
	dec->chores = true;
	return true;
}

/* Checks fragment f (RFC 8200 4.5, and RFC 791's 8-byte units) and hands
 * it to the decoder's table. Returns CAP_GO with *s on the reassembled
 * data when f completed its datagram, or the verdict for the frame:
 * CAP_INVALID_IP, CAP_FRAGMENT (stateless, not wanted, refused) or
 * CAP_FRAGMENT_HELD. */
static enum cap_verdict cap_fragment(struct cap_ctx *c, struct cap_frag *f,
				     uint8_t proto, struct cap_span *s,
				     uint8_t *nxt_r)
{
	size_t dlen = (size_t)f->len + f->missing;
	struct cap_datagram dg;

	if (f->offset + dlen > 65535)
		return cap_bad(c, CAP_INVALID_IP,
			       CAP_REASON_FRAG_OFFSET_OVERFLOW);
	if (dlen == 0)
		return cap_bad(c, CAP_INVALID_IP, CAP_REASON_FRAG_EMPTY);
	if (f->more && dlen % 8 != 0)
		return cap_bad(c, CAP_INVALID_IP,
			       CAP_REASON_FRAG_LEN_NOT_MULT_8);
	if (c->dec == NULL || !cap_frag_wanted(proto))
		return CAP_FRAGMENT;
	/* the table's clock, as if it had seen every frame */
	cap_defrag_expire(c->dec->defrag, c->dec->now);
	c->dec->frags_held = true;
	c->dec->chores = true;
	switch (cap_defrag_add(c->dec->defrag, c->ts, f, &dg)) {
	case CAP_FRAG_HELD:
		return CAP_FRAGMENT_HELD;
	case CAP_FRAG_BAD:
		return cap_bad(c, CAP_INVALID_IP,
			       CAP_REASON_FRAG_END_INCONSISTENT);
	case CAP_FRAG_DONE:
		if (!cap_keep(c, dg.data))
			return CAP_FRAGMENT;
		c->reassembled = true;
		s->r = rd_init(dg.data, dg.len);
		s->missing = dg.missing;
		*nxt_r = dg.nxt;
		return CAP_GO;
	default:
		return CAP_FRAGMENT;
	}
}

/* Sets the packet's addresses (the innermost IP layer's win). */
static void cap_set_addrs(struct cap_ctx *c, int family, const uint8_t *src,
			  const uint8_t *dst)
{
	size_t n = family == 4 ? 4 : 16;

	memset(&c->pkt.src, 0, sizeof(c->pkt.src));
	memset(&c->pkt.dst, 0, sizeof(c->pkt.dst));
	c->pkt.src.family = c->pkt.dst.family = (uint8_t)family;
	memcpy(c->pkt.src.a, src, n);
	memcpy(c->pkt.dst.a, dst, n);
}

/* Decodes an IPv4 header (RFC 791) at the start of s and what the
 * datagram carries, bounded by its total length (so Ethernet padding is
 * left out). A total length of 0 in a header that is otherwise valid is
 * what captures on TSO/GSO senders show (the NIC fills it in later): the
 * datagram is then taken to run to the end of the span. */
static enum cap_verdict cap_ipv4(struct cap_ctx *c, struct cap_span *s)
{
	size_t avail = cap_span_len(s), hlen, total;
	uint8_t src[4], dst[4];
	struct cap_frag f;
	struct cap_span l4;
	struct rd h;
	uint16_t frag, id;
	uint8_t vhl, proto, nxt;
	enum cap_verdict v;

	v = cap_need(c, s, 20, CAP_INVALID_IP, CAP_REASON_IP_SHORT);
	if (v != CAP_GO)
		return v;
	h = s->r;
	vhl = rd_u8(&h);
	rd_skip(&h, 1);			/* DSCP, ECN */
	total = rd_be16(&h);
	id = rd_be16(&h);
	frag = rd_be16(&h);		/* flags, fragment offset */
	rd_skip(&h, 1);			/* TTL */
	proto = rd_u8(&h);
	rd_skip(&h, 2);			/* header checksum, not verified */
	rd_bytes(&h, src, 4);
	rd_bytes(&h, dst, 4);
	hlen = (size_t)(vhl & 0x0f) * 4;
	if (vhl >> 4 != 4)
		return cap_bad(c, CAP_INVALID_IP, CAP_REASON_IP_BAD_VERSION);
	if (hlen < 20)
		return cap_bad(c, CAP_INVALID_IP, CAP_REASON_IP_IHL_LT_5);
	if (total == 0 && hlen <= avail) {
		total = avail;
		if (c->dec != NULL)
			c->dec->v4_from_frame++;
	} else if (total < hlen) {
		return cap_bad(c, CAP_INVALID_IP,
			       CAP_REASON_IP_TOTAL_LT_HEADER);
	} else if (total > avail) {
		return cap_bad(c, CAP_INVALID_IP,
			       CAP_REASON_IP_TOTAL_GT_FRAME);
	}
	l4 = cap_span_sub(s, total);
	/* hlen <= total: the options can only be cut by the snaplen */
	v = cap_need(c, &l4, hlen, CAP_INVALID_IP, CAP_REASON_IP_SHORT);
	if (v != CAP_GO)
		return v;
	rd_skip(&l4.r, hlen);		/* fixed header and options */
	cap_set_addrs(c, 4, src, dst);

	/* MF set or a non-zero offset: part of a larger datagram. */
	if (frag & 0x3fff) {
		memset(&f, 0, sizeof(f));
		memcpy(f.key.src, src, 4);
		memcpy(f.key.dst, dst, 4);
		f.key.family = 4;
		f.key.proto = proto;
		f.key.id = id;
		f.offset = (uint32_t)(frag & 0x1fff) * 8;
		f.more = (frag & 0x2000) != 0;
		f.data = l4.r.p;
		f.len = (uint32_t)l4.r.left;
		f.missing = (uint32_t)l4.missing;
		if ((v = cap_fragment(c, &f, proto, &l4, &nxt)) != CAP_GO)
			return v;
	}
	return cap_l4(c, &l4, proto);
}

/* Walks the IPv6 extension headers at the start of s, starting with header
 * type nxt, then decodes the upper layer. An atomic fragment (offset 0, M
 * clear: RFC 6946) is walked over; any other fragment goes to the
 * fragment table when may_frag (src, dst: the key's addresses), and is
 * CAP_FRAGMENT otherwise (a fragment header inside reassembled data). A
 * header running past the payload length is CAP_INVALID_IP, one running
 * past the captured bytes CAP_TRUNCATED. The loop ends: every header
 * takes at least 8 bytes. */
static enum cap_verdict cap_ipv6_ext(struct cap_ctx *c, struct cap_span *s,
				     uint8_t nxt, const uint8_t *src,
				     const uint8_t *dst, bool may_frag)
{
	enum cap_verdict v;
	struct cap_frag f;
	struct rd peek;
	uint16_t offm;
	uint8_t next, lenf;
	size_t len;

	for (;;) {
		if (nxt != CAP_IP6_HOPOPTS && nxt != CAP_IP6_ROUTING &&
		    nxt != CAP_IP6_DSTOPTS && nxt != CAP_IP6_FRAGMENT &&
		    nxt != CAP_IP6_AH)
			return cap_l4(c, s, nxt);
		v = cap_need(c, s, 2, CAP_INVALID_IP,
			     CAP_REASON_IPV6_EXT_OVERRUN);
		if (v != CAP_GO)
			return v;
		peek = s->r;
		next = rd_u8(&peek);
		lenf = rd_u8(&peek);
		if (nxt == CAP_IP6_FRAGMENT)
			len = 8;
		else if (nxt == CAP_IP6_AH)
			len = ((size_t)lenf + 2) * 4;	/* RFC 4302 2.2 */
		else
			len = ((size_t)lenf + 1) * 8;	/* RFC 8200 4.3-4.6 */
		v = cap_need(c, s, len, CAP_INVALID_IP,
			     CAP_REASON_IPV6_EXT_OVERRUN);
		if (v != CAP_GO)
			return v;
		/* Fragment header: next, reserved, offset(13) res(2) M(1),
		 * identification(32). */
		offm = nxt == CAP_IP6_FRAGMENT ? rd_be16(&peek) : 0;
		rd_skip(&s->r, len);
		if (offm & 0xfff9) {
			if (!may_frag)
				return CAP_FRAGMENT;
			memset(&f, 0, sizeof(f));
			f.key.family = 6;
			f.key.id = rd_be32(&peek);
			memcpy(f.key.src, src, 16);
			memcpy(f.key.dst, dst, 16);
			f.offset = offm & 0xfff8;
			f.more = (offm & 1) != 0;
			f.nxt = next;
			f.data = s->r.p;
			f.len = (uint32_t)s->r.left;
			f.missing = (uint32_t)s->missing;
			v = cap_fragment(c, &f, next, s, &next);
			if (v != CAP_GO)
				return v;
			may_frag = false;
		}
		nxt = next;
	}
}

/* Decodes an IPv6 header (RFC 8200) at the start of s and what the packet
 * carries, bounded by its payload length. A zero payload length with
 * anything but hop-by-hop options (a jumbogram, RFC 2675, not supported)
 * or "no next header" is taken, as for IPv4, to mean the packet runs to
 * the end of the span (GSO captures). */
static enum cap_verdict cap_ipv6(struct cap_ctx *c, struct cap_span *s)
{
	size_t avail = cap_span_len(s), plen;
	uint8_t src[16], dst[16];
	struct cap_span pl;
	struct rd h;
	uint32_t vtf;
	uint8_t nxt;
	enum cap_verdict v;

	v = cap_need(c, s, 40, CAP_INVALID_IP, CAP_REASON_IP_SHORT);
	if (v != CAP_GO)
		return v;
	h = s->r;
	vtf = rd_be32(&h);		/* version, traffic class, flow label */
	plen = rd_be16(&h);
	nxt = rd_u8(&h);
	rd_skip(&h, 1);			/* hop limit */
	rd_bytes(&h, src, 16);
	rd_bytes(&h, dst, 16);
	if (vtf >> 28 != 6)
		return cap_bad(c, CAP_INVALID_IP, CAP_REASON_IP_BAD_VERSION);
	if (plen == 0 && nxt == CAP_IP6_HOPOPTS)
		return cap_bad(c, CAP_INVALID_IP, CAP_REASON_IPV6_JUMBOGRAM);
	if (plen == 0 && nxt != CAP_IPPROTO_NONE && avail > 40) {
		plen = avail - 40;
		if (c->dec != NULL)
			c->dec->v6_from_frame++;
	} else if (plen + 40 > avail) {
		return cap_bad(c, CAP_INVALID_IP,
			       CAP_REASON_IPV6_PAYLOAD_GT_FRAME);
	}
	pl = cap_span_sub(s, 40 + plen);
	rd_skip(&pl.r, 40);
	cap_set_addrs(c, 6, src, dst);
	return cap_ipv6_ext(c, &pl, nxt, src, dst, true);
}

/* Decodes the IP packet at the start of s: IPv4 or IPv6 as ipver says, or
 * as the version nibble says when ipver is 0. An unknown version is
 * CAP_INVALID_IP. */
static enum cap_verdict cap_ip(struct cap_ctx *c, struct cap_span *s,
			       int ipver)
{
	enum cap_verdict v;

	if (ipver == 0) {
		struct rd peek = s->r;

		v = cap_need(c, s, 1, CAP_INVALID_IP, CAP_REASON_IP_SHORT);
		if (v != CAP_GO)
			return v;
		ipver = rd_u8(&peek) >> 4;
	}
	if (ipver == 4)
		return cap_ipv4(c, s);
	if (ipver == 6)
		return cap_ipv6(c, s);
	return cap_bad(c, CAP_INVALID_IP, CAP_REASON_IP_BAD_VERSION);
}

/* ---- the common case ---------------------------------------------- */

static const struct isc_pkt cap_pkt0;	/* what a segment starts from */

/* Bytes of the frame the capture left out. */
static size_t cap_frame_missing(const struct cap_frame *frame)
{
	return frame->wirelen > frame->caplen ?
	       frame->wirelen - frame->caplen : 0;
}

/* Ethernet II without VLAN tags, IPv4 without options and not a fragment,
 * TCP whose header was captured whole: what nearly every frame of a
 * capture on an Ethernet link is. Decodes such a frame into *pkt exactly
 * as the layered path does, and returns
 * true; returns false, having written nothing, for any other frame,
 * which then takes the layered path. The layered path's span and reader
 * bookkeeping cost 340 instructions a frame on the mixed bench capture,
 * this costs about 60. tests/unit/test_decoder.c checks that both agree
 * on every frame this path takes. */
__attribute__((always_inline))
static inline bool cap_fast_eth_ipv4_tcp(const struct cap_frame *frame,
					 struct isc_pkt *pkt)
{
	const uint8_t *p = frame->data;
	size_t caplen = frame->caplen;

	if (caplen < 14 + 20 + 20 || rd_load_be16(p + 12) != CAP_ETHERTYPE_IPV4)
		return false;
	const uint8_t *ip = p + 14;
	size_t got = caplen - 14, total = rd_load_be16(ip + 2);
	/* version 4, IHL 5; a datagram of at least both headers (a total
	 * length of 0 takes the layered path); no MF, no offset; TCP */
	if (ip[0] != 0x45 || total < 40 ||
	    (rd_load_be16(ip + 6) & 0x3fff) != 0 || ip[9] != CAP_IPPROTO_TCP)
		return false;
	/* that fits the frame: the bytes the capture left out are looked
	 * at only for a datagram longer than what was captured (with
	 * always_inline, which GCC no longer did by itself: 12
	 * instructions a frame less on bench's mixed capture) */
	size_t missing = 0;
	if (total <= got) {
		got = total;	/* Ethernet padding left out */
	} else {
		missing = total - got;
		if (missing > cap_frame_missing(frame))
			return false;
	}
	const uint8_t *tcp = ip + 20;
	size_t left = got - 20, hlen = (size_t)(tcp[12] >> 4) * 4;
	if (hlen < 20 || hlen > left)
		return false;	/* invalid, or options cut by the snaplen */
	/* Every field is written below; of the zeros, only the addresses'
	 * unused 12 bytes are needed (compared and hashed as a whole), and
	 * the padding between fields is left as it was. 5 instructions
	 * instead of the 11 of copying a zero struct first. */
	memset(&pkt->src, 0, sizeof(pkt->src));
	memset(&pkt->dst, 0, sizeof(pkt->dst));
	pkt->ts = frame->ts;
	pkt->index = frame->index;
	pkt->src.family = pkt->dst.family = 4;
	memcpy(pkt->src.a, ip + 12, 4);
	memcpy(pkt->dst.a, ip + 16, 4);
	pkt->sport = rd_load_be16(tcp);
	pkt->dport = rd_load_be16(tcp + 2);
	pkt->seq = rd_load_be32(tcp + 4);
	pkt->ack = rd_load_be32(tcp + 8);
	pkt->flags = tcp[13] & 0x3f;
	pkt->win = rd_load_be16(tcp + 14);
	pkt->payload = tcp + hlen;
	pkt->payload_len = (uint32_t)(left - hlen);
	pkt->payload_missing = (uint32_t)missing;
	return true;
}

/* ---- entry points ------------------------------------------------- */

/* Decodes frame with context c, for decoder dec (NULL: stateless), the
 * layered way. */
static enum cap_verdict cap_run(struct cap_ctx *c, struct cap_decoder *dec,
				const struct cap_frame *frame,
				enum cap_link_kind kind, struct isc_pkt *pkt_r)
{
	struct cap_span s;
	enum cap_verdict v;
	int ipver;

	c->dec = dec;
	c->ts = frame->ts;
	c->reason = CAP_REASON_LINK_SHORT;	/* set again with any invalid */
	c->depth = 0;
	c->reassembled = false;
	s.missing = cap_frame_missing(frame);
	s.r = rd_init(frame->data, frame->caplen);
	/* a copy of a zero struct, not memset: GCC made the memset a
	 * "rep stos", whose stores the copy to *pkt_r below then waited
	 * for (a third of cap_run's time on the mixed bench capture) */
	c->pkt = cap_pkt0;
	c->pkt.ts = frame->ts;
	c->pkt.index = frame->index;
	if ((v = cap_link(c, &s, kind, &ipver)) != CAP_GO)
		return v;
	if ((v = cap_ip(c, &s, ipver)) != CAP_TCP)
		return v;
	*pkt_r = c->pkt;
	return CAP_TCP;
}

enum cap_verdict cap_decode(const struct cap_frame *frame,
			    struct isc_pkt *pkt_r)
{
	struct cap_ctx c;

	/* straight into *pkt_r: filling c->pkt field by field and copying it
	 * 16 bytes at a time stalled on every load (store forwarding) */
	if (frame->linktype == DLT_EN10MB &&
	    cap_fast_eth_ipv4_tcp(frame, pkt_r))
		return CAP_TCP;
	return cap_run(&c, NULL, frame, cap_link_kind(frame->linktype),
		       pkt_r);
}

int cap_decoder_new(const struct isc_limits *lim, struct cap_decoder **dec_r)
{
	struct cap_decoder *dec = calloc(1, sizeof(*dec));

	if (dec == NULL)
		return ISC_ENOMEM;
	if (cap_defrag_new(lim, &dec->defrag) < 0) {
		free(dec);
		return ISC_ENOMEM;
	}
	dec->now = INT64_MIN;
	*dec_r = dec;
	return 0;
}

/* Frees the reassembled datagrams of the previous frame. */
static void cap_decoder_release(struct cap_decoder *dec)
{
	while (dec->nbufs > 0)
		free(dec->bufs[--dec->nbufs]);
}

void cap_decoder_free(struct cap_decoder **dec)
{
	if (dec == NULL || *dec == NULL)
		return;
	cap_decoder_release(*dec);
	cap_defrag_free(&(*dec)->defrag);
	free(*dec);
	*dec = NULL;
}

/* cap_decoder_decode() for a frame the fast path did not take. Out of
 * line, so that the fast path keeps no registers and no stack for it. */
__attribute__((noinline))
static enum cap_verdict cap_decoder_layered(struct cap_decoder *dec,
					    const struct cap_frame *frame,
					    struct isc_pkt *pkt_r)
{
	struct cap_ctx c;
	enum cap_link_kind kind = cap_link_kind(frame->linktype);
	enum cap_verdict v;

	v = cap_run(&c, dec, frame, kind, pkt_r);
	if (v == CAP_TCP && c.reassembled)
		v = CAP_FRAGMENT_REASSEMBLED;
	if (v == CAP_TCP || v == CAP_FRAGMENT_REASSEMBLED)
		dec->cut_bytes += pkt_r->payload_missing;
	if (v == CAP_INVALID_LINK || v == CAP_INVALID_IP ||
	    v == CAP_INVALID_TCP)
		dec->reasons[c.reason]++;
	dec->frames++;
	dec->links[kind]++;
	dec->verdicts[v]++;
	return v;
}

/* What a frame needs done first while dec->chores: the last frame's
 * datagrams freed, the fragment table shown the time (dec->now). */
__attribute__((noinline))
static void cap_decoder_chores(struct cap_decoder *dec)
{
	cap_decoder_release(dec);
	if (dec->frags_held) {
		cap_defrag_expire(dec->defrag, dec->now);
		dec->frags_held = cap_defrag_stats(dec->defrag)->pending > 0;
	}
	dec->chores = dec->frags_held;
}

enum cap_verdict cap_decoder_decode(struct cap_decoder *dec,
				    const struct cap_frame *frame,
				    struct isc_pkt *pkt_r)
{
	if (frame->ts > dec->now)
		dec->now = frame->ts;
	if (dec->chores)
		cap_decoder_chores(dec);
	dec->bytes += frame->caplen;
	/* Most frames: no decoding context, no link kind to look up, and
	 * no call. With the clock above, 181 -> 125 instructions a frame
	 * for this, cap_run() and cap_defrag_expire() on bench's mixed
	 * capture. */
	if (frame->linktype != DLT_EN10MB ||
	    !cap_fast_eth_ipv4_tcp(frame, pkt_r))
		return cap_decoder_layered(dec, frame, pkt_r);
	dec->fast++;
	dec->cut_bytes += pkt_r->payload_missing;
	return CAP_TCP;
}

isc_time cap_decoder_now(const struct cap_decoder *dec)
{
	return dec->now;
}

bool cap_decoder_stat(const struct cap_decoder *dec, size_t i,
		      struct cap_stat *st_r)
{
	const struct cap_defrag_stats *fs = cap_defrag_stats(dec->defrag);
	const uint64_t frag[CAP_FRAG_NSTATS] = {
		fs->fragments, fs->reassembled, fs->overlaps, fs->conflicts,
		fs->refused, fs->expired, fs->dropped, fs->pending, fs->held,
		fs->bytes, fs->peak_held, fs->peak_bytes,
	};
	const uint64_t lengths[3] = {
		dec->v4_from_frame, dec->v6_from_frame, dec->cut_bytes,
	};

	if (i < 2) {
		*st_r = (struct cap_stat){ "packets",
					   i == 0 ? "total" : "bytes",
					   i == 0 ? dec->frames + dec->fast :
					   dec->bytes };
		return true;
	}
	i -= 2;
	if (i < CAP_DECODER_VERDICT_COUNT) {
		*st_r = (struct cap_stat){ "packets", cap_verdict_names[i],
					   dec->verdicts[i] +
					   (i == CAP_TCP ? dec->fast : 0) };
		return true;
	}
	i -= CAP_DECODER_VERDICT_COUNT;
	if (i < CAP_LK_COUNT) {
		*st_r = (struct cap_stat){ "link", cap_link_names[i],
					   dec->links[i] +
					   (i == CAP_LK_ETHERNET ? dec->fast : 0) };
		return true;
	}
	i -= CAP_LK_COUNT;
	if (i < CAP_REASON_COUNT) {
		*st_r = (struct cap_stat){ "malformed", cap_reason_names[i],
					   dec->reasons[i] };
		return true;
	}
	i -= CAP_REASON_COUNT;
	if (i < CAP_FRAG_NSTATS) {
		*st_r = (struct cap_stat){ "fragments", cap_frag_names[i],
					   frag[i] };
		return true;
	}
	i -= CAP_FRAG_NSTATS;
	if (i < CAP_TUN_COUNT) {
		*st_r = (struct cap_stat){ "tunnels", cap_tunnel_names[i],
					   dec->tunnels[i] };
		return true;
	}
	i -= CAP_TUN_COUNT;
	if (i < 3) {
		*st_r = (struct cap_stat){ "lengths", cap_length_names[i],
					   lengths[i] };
		return true;
	}
	return false;
}
