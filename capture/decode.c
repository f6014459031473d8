/* capture/decode.c: from one captured frame to one TCP segment.
 *
 * Three steps, each reading only through struct rd: the link header names
 * the network protocol (cap_link), the IP header bounds the transport bytes
 * (cap_ipv4, cap_ipv6) and the TCP header splits those into header fields
 * and payload (cap_tcp). IP fragments are reported, not reassembled, and
 * nothing is allocated.
 *
 * Truncated vs invalid: a header the snaplen cut off is CAP_TRUNCATED; one
 * that cannot be right whatever the snaplen (a length field pointing past
 * the enclosing layer, or a frame too short on the wire) is CAP_INVALID_*.
 *
 * References: IEEE 802.3 and 802.1Q/802.1ad (Ethernet, VLAN tags); the
 * tcpdump.org list of link-layer header types (LINKTYPE_* values and the
 * SLL, SLL2, NULL and LOOP headers); RFC 1661 and RFC 1662 (PPP in
 * HDLC-like framing); RFC 791 (IPv4); RFC 8200 (IPv6 and its extension
 * headers); RFC 4302 (AH); RFC 6946 (atomic fragments); RFC 2675
 * (jumbograms, not supported); RFC 9293 (TCP).
 */
#include "decode.h"

#include <pcap/pcap.h>
#include <string.h>

#include "../common/rd.h"

/* LINKTYPE_* values as stored in files, where they differ from the DLT_*
 * values libpcap hands out on some platforms. */
#define CAP_LINKTYPE_RAW	101
#define CAP_LINKTYPE_IPV4	228
#define CAP_LINKTYPE_IPV6	229
#define CAP_LINKTYPE_LOOP	108
#define CAP_LINKTYPE_SLL2	276

#define CAP_ETHERTYPE_IPV4	0x0800
#define CAP_ETHERTYPE_IPV6	0x86dd
#define CAP_ETHERTYPE_8021Q	0x8100	/* IEEE 802.1Q customer tag */
#define CAP_ETHERTYPE_8021AD	0x88a8	/* IEEE 802.1ad service tag */
#define CAP_ETHERTYPE_QINQ	0x9100	/* pre-802.1ad service tag */

#define CAP_IPPROTO_TCP		6

/* IPv6 extension headers we walk (RFC 8200 section 4; AH: RFC 4302). */
#define CAP_IP6_HOPOPTS		0
#define CAP_IP6_ROUTING		43
#define CAP_IP6_FRAGMENT	44
#define CAP_IP6_AH		51
#define CAP_IP6_DSTOPTS		60

/* Inside this file CAP_TCP also means "so far so good, go on". */
#define CAP_GO CAP_TCP

const char *const cap_verdict_names[CAP_VERDICT_COUNT] = {
	[CAP_TCP] = "tcp",
	[CAP_UNSUPPORTED_LINK] = "unsupported_link",
	[CAP_NOT_IP] = "not_ip",
	[CAP_NOT_TCP] = "not_tcp",
	[CAP_FRAGMENT] = "fragment",
	[CAP_TRUNCATED] = "truncated",
	[CAP_INVALID_LINK] = "invalid_link",
	[CAP_INVALID_IP] = "invalid_ip",
	[CAP_INVALID_TCP] = "invalid_tcp",
};

/* One frame being decoded. */
struct cap_dec {
	struct rd r;		/* frame bytes not decoded yet */
	uint32_t caplen;	/* bytes captured */
	uint32_t wire;		/* bytes on the wire, never below caplen */
	bool cut;		/* cut by the snaplen: caplen < wirelen */
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

/* The verdict for a header running past the captured bytes of the frame:
 * the snaplen's doing when it cut the frame, otherwise the frame was too
 * short on the wire for the header, which makes it `invalid`. */
static enum cap_verdict cap_short(const struct cap_dec *d,
				  enum cap_verdict invalid)
{
	return d->cut ? CAP_TRUNCATED : invalid;
}

/* Bytes the frame had on the wire from the current read position on. */
static size_t cap_wire_left(const struct cap_dec *d)
{
	size_t done = d->caplen - d->r.left;

	return d->wire - done;
}

/* Checks that the next n bytes of s can be read. Returns CAP_GO when they
 * were captured, `invalid` when the enclosing length field does not leave
 * room for them, CAP_TRUNCATED when they were sent but not captured. */
static enum cap_verdict cap_span_need(const struct cap_span *s, size_t n,
				      enum cap_verdict invalid)
{
	if (n > s->r.left + s->missing)
		return invalid;
	if (!rd_have(&s->r, n))
		return CAP_TRUNCATED;
	return CAP_GO;
}

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
 * Returns as cap_ethertype(), or a short-read verdict for a cut tag. */
static enum cap_verdict cap_vlan_walk(struct cap_dec *d, uint16_t type,
				      int *ipver_r)
{
	while (type == CAP_ETHERTYPE_8021Q || type == CAP_ETHERTYPE_8021AD ||
	       type == CAP_ETHERTYPE_QINQ) {
		rd_skip(&d->r, 2);	/* TCI: priority, DEI, VLAN id */
		type = rd_be16(&d->r);
		if (d->r.short_read)
			return cap_short(d, CAP_INVALID_LINK);
	}
	return cap_ethertype(type, ipver_r);
}

/* Ethernet II: destination, source, ethertype (14 bytes), VLAN tags. */
static enum cap_verdict cap_link_eth(struct cap_dec *d, int *ipver_r)
{
	uint16_t type;

	rd_skip(&d->r, 12);	/* destination and source MAC */
	type = rd_be16(&d->r);
	if (d->r.short_read)
		return cap_short(d, CAP_INVALID_LINK);
	return cap_vlan_walk(d, type, ipver_r);
}

/* Linux cooked capture v1, 16 bytes: packet type, ARPHRD type, address
 * length, 8 address bytes, then the protocol (an ethertype) at offset 14. */
static enum cap_verdict cap_link_sll(struct cap_dec *d, int *ipver_r)
{
	uint16_t type;

	rd_skip(&d->r, 14);
	type = rd_be16(&d->r);
	if (d->r.short_read)
		return cap_short(d, CAP_INVALID_LINK);
	return cap_vlan_walk(d, type, ipver_r);
}

/* Linux cooked capture v2, 20 bytes: protocol (an ethertype) at offset 0,
 * then reserved, interface index, ARPHRD type, packet type, address length
 * and 8 address bytes. */
static enum cap_verdict cap_link_sll2(struct cap_dec *d, int *ipver_r)
{
	uint16_t type;

	type = rd_be16(&d->r);
	rd_skip(&d->r, 18);
	if (d->r.short_read)
		return cap_short(d, CAP_INVALID_LINK);
	return cap_vlan_walk(d, type, ipver_r);
}

/* BSD loopback: a 4-byte address family. DLT_NULL stores it in the byte
 * order of the machine that wrote the file, so both orders are accepted
 * (a family fits in 16 bits, a swapped one does not); DLT_LOOP stores it
 * in network byte order. AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD,
 * OpenBSD), 28 (FreeBSD) or 30 (macOS). */
static enum cap_verdict cap_link_bsd(struct cap_dec *d, bool any_order,
				     int *ipver_r)
{
	uint32_t fam = rd_be32(&d->r);

	if (d->r.short_read)
		return cap_short(d, CAP_INVALID_LINK);
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
static enum cap_verdict cap_link_ppp(struct cap_dec *d, int *ipver_r)
{
	struct rd peek = d->r;
	uint16_t proto;
	uint8_t ctrl;

	if (rd_u8(&peek) == 0xff) {
		ctrl = rd_u8(&peek);
		if (peek.short_read)
			return cap_short(d, CAP_INVALID_LINK);
		if (ctrl == 0x03)
			d->r = peek;
	}
	proto = rd_u8(&d->r);
	if (!(proto & 1))
		proto = (uint16_t)(proto << 8 | rd_u8(&d->r));
	if (d->r.short_read)
		return cap_short(d, CAP_INVALID_LINK);
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

/* Raw IP: no link header. A version of 0 asks cap_ip() to look at the
 * version nibble. */
static enum cap_verdict cap_link_raw(int ipver, int *ipver_r)
{
	*ipver_r = ipver;
	return CAP_GO;
}

/* Decodes the link header for linktype and leaves d->r at the network
 * header. Returns CAP_GO with *ipver_r set to 4, 6 or 0 (look at the
 * version nibble), or the verdict that ends decoding. The checks are an
 * if-chain, not a switch, because DLT_RAW and DLT_LOOP share the value 12
 * on OpenBSD: there DLT_LOOP must win, elsewhere 12 is raw IP. */
static enum cap_verdict cap_link(struct cap_dec *d, int linktype,
				 int *ipver_r)
{
	if (linktype == DLT_EN10MB)
		return cap_link_eth(d, ipver_r);
	if (linktype == DLT_LINUX_SLL)
		return cap_link_sll(d, ipver_r);
	if (linktype == CAP_LINKTYPE_SLL2)
		return cap_link_sll2(d, ipver_r);
	if (linktype == DLT_NULL)
		return cap_link_bsd(d, true, ipver_r);
	if (linktype == DLT_LOOP || linktype == CAP_LINKTYPE_LOOP)
		return cap_link_bsd(d, false, ipver_r);
	if (linktype == DLT_RAW || linktype == 12 || linktype == 14 ||
	    linktype == CAP_LINKTYPE_RAW)
		return cap_link_raw(0, ipver_r);
	if (linktype == CAP_LINKTYPE_IPV4)
		return cap_link_raw(4, ipver_r);
	if (linktype == CAP_LINKTYPE_IPV6)
		return cap_link_raw(6, ipver_r);
	if (linktype == DLT_PPP || linktype == DLT_PPP_SERIAL)
		return cap_link_ppp(d, ipver_r);
	return CAP_UNSUPPORTED_LINK;
}

/* Decodes an IPv4 header (RFC 791) at d->r into the addresses of *pkt and,
 * for an unfragmented TCP datagram, leaves *l4_r on the transport bytes:
 * those the total length declares, so Ethernet padding is left out.
 * Returns CAP_GO, CAP_FRAGMENT, CAP_NOT_TCP, CAP_TRUNCATED or
 * CAP_INVALID_IP (version not 4, IHL < 5, total length below the header
 * or past the end of the frame on the wire). */
static enum cap_verdict cap_ipv4(struct cap_dec *d, struct isc_pkt *pkt,
				 struct cap_span *l4_r)
{
	struct rd start = d->r;
	size_t wire_left = cap_wire_left(d), hlen, got;
	uint16_t total, frag;
	uint8_t vhl, proto;
	enum cap_verdict v;

	vhl = rd_u8(&d->r);
	rd_skip(&d->r, 1);		/* DSCP, ECN */
	total = rd_be16(&d->r);
	rd_skip(&d->r, 2);		/* identification */
	frag = rd_be16(&d->r);		/* flags, fragment offset */
	rd_skip(&d->r, 1);		/* TTL */
	proto = rd_u8(&d->r);
	rd_skip(&d->r, 2);		/* header checksum, not verified */
	rd_bytes(&d->r, pkt->src.a, 4);
	rd_bytes(&d->r, pkt->dst.a, 4);
	if (d->r.short_read)
		return cap_short(d, CAP_INVALID_IP);
	hlen = (size_t)(vhl & 0x0f) * 4;
	if (vhl >> 4 != 4 || hlen < 20 || total < hlen || total > wire_left)
		return CAP_INVALID_IP;
	pkt->src.family = pkt->dst.family = 4;

	/* MF set or a non-zero offset: part of a larger datagram. */
	if (frag & 0x3fff)
		return CAP_FRAGMENT;
	if (proto != CAP_IPPROTO_TCP)
		return CAP_NOT_TCP;

	got = total < start.left ? total : start.left;
	l4_r->r = rd_init(start.p, got);
	l4_r->missing = total - got;
	if ((v = cap_span_need(l4_r, hlen, CAP_INVALID_IP)) != CAP_GO)
		return v;
	rd_skip(&l4_r->r, hlen);	/* fixed header and options */
	return CAP_GO;
}

/* Walks the IPv6 extension headers at the start of s, starting with header
 * type *nxt, and leaves *nxt at the upper-layer protocol and s on its
 * bytes. An atomic fragment (offset 0, M clear: RFC 6946) is walked over;
 * any other fragment is CAP_FRAGMENT. A header running past the payload
 * length is CAP_INVALID_IP, one running past the captured bytes
 * CAP_TRUNCATED. The loop ends: every header takes at least 8 bytes. */
static enum cap_verdict cap_ipv6_ext(struct cap_span *s, uint8_t *nxt)
{
	enum cap_verdict v;
	struct rd peek;
	uint8_t next, lenf;
	size_t len;

	for (;;) {
		if (*nxt != CAP_IP6_HOPOPTS && *nxt != CAP_IP6_ROUTING &&
		    *nxt != CAP_IP6_DSTOPTS && *nxt != CAP_IP6_FRAGMENT &&
		    *nxt != CAP_IP6_AH)
			return CAP_GO;
		if ((v = cap_span_need(s, 2, CAP_INVALID_IP)) != CAP_GO)
			return v;
		peek = s->r;
		next = rd_u8(&peek);
		lenf = rd_u8(&peek);
		if (*nxt == CAP_IP6_FRAGMENT)
			len = 8;
		else if (*nxt == CAP_IP6_AH)
			len = ((size_t)lenf + 2) * 4;	/* RFC 4302 2.2 */
		else
			len = ((size_t)lenf + 1) * 8;	/* RFC 8200 4.3-4.6 */
		if ((v = cap_span_need(s, len, CAP_INVALID_IP)) != CAP_GO)
			return v;
		/* Fragment header: next, reserved, offset(13) res(2) M(1). */
		if (*nxt == CAP_IP6_FRAGMENT && (rd_be16(&peek) & 0xfff9))
			return CAP_FRAGMENT;
		rd_skip(&s->r, len);
		*nxt = next;
	}
}

/* Decodes an IPv6 header (RFC 8200) at d->r into the addresses of *pkt,
 * walks the extension headers and leaves *l4_r on the TCP bytes the
 * payload length declares. Returns CAP_GO, CAP_FRAGMENT, CAP_NOT_TCP,
 * CAP_TRUNCATED or CAP_INVALID_IP (version not 6, payload past the end of
 * the frame on the wire, a jumbogram, a broken extension chain). */
static enum cap_verdict cap_ipv6(struct cap_dec *d, struct isc_pkt *pkt,
				 struct cap_span *l4_r)
{
	size_t wire_left = cap_wire_left(d), got;
	uint32_t vtf;
	uint16_t plen;
	uint8_t nxt;
	enum cap_verdict v;

	vtf = rd_be32(&d->r);		/* version, traffic class, flow label */
	plen = rd_be16(&d->r);
	nxt = rd_u8(&d->r);
	rd_skip(&d->r, 1);		/* hop limit */
	rd_bytes(&d->r, pkt->src.a, 16);
	rd_bytes(&d->r, pkt->dst.a, 16);
	if (d->r.short_read)
		return cap_short(d, CAP_INVALID_IP);
	if (vtf >> 28 != 6 || (size_t)plen + 40 > wire_left)
		return CAP_INVALID_IP;
	/* A zero payload length with hop-by-hop options announces a
	 * jumbogram (RFC 2675); its real length is in an option we do not
	 * read, so its bytes cannot be bounded. */
	if (plen == 0 && nxt == CAP_IP6_HOPOPTS)
		return CAP_INVALID_IP;
	pkt->src.family = pkt->dst.family = 6;

	got = plen < d->r.left ? plen : d->r.left;
	l4_r->r = rd_init(d->r.p, got);
	l4_r->missing = plen - got;
	if ((v = cap_ipv6_ext(l4_r, &nxt)) != CAP_GO)
		return v;
	return nxt == CAP_IPPROTO_TCP ? CAP_GO : CAP_NOT_TCP;
}

/* Decodes the network header: IPv4 or IPv6 as ipver says, or as the
 * version nibble says when ipver is 0. Returns as cap_ipv4()/cap_ipv6();
 * an unknown version is CAP_INVALID_IP. */
static enum cap_verdict cap_ip(struct cap_dec *d, int ipver,
			       struct isc_pkt *pkt, struct cap_span *l4_r)
{
	if (ipver == 0) {
		struct rd peek = d->r;
		uint8_t vb = rd_u8(&peek);

		if (peek.short_read)
			return cap_short(d, CAP_INVALID_IP);
		ipver = vb >> 4;
	}
	if (ipver == 4)
		return cap_ipv4(d, pkt, l4_r);
	if (ipver == 6)
		return cap_ipv6(d, pkt, l4_r);
	return CAP_INVALID_IP;
}

/* Decodes the TCP header (RFC 9293 3.1) at the start of s into *pkt and
 * points pkt->payload at the rest. Returns CAP_TCP, CAP_INVALID_TCP (data
 * offset < 5, or a header longer than the IP payload) or CAP_TRUNCATED
 * (header sent but not all captured). */
static enum cap_verdict cap_tcp(struct cap_span *s, struct isc_pkt *pkt)
{
	enum cap_verdict v;
	size_t hlen;

	if ((v = cap_span_need(s, 20, CAP_INVALID_TCP)) != CAP_GO)
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
		return CAP_INVALID_TCP;
	if ((v = cap_span_need(s, hlen - 20, CAP_INVALID_TCP)) != CAP_GO)
		return v;
	rd_skip(&s->r, hlen - 20);	/* options */
	pkt->payload = s->r.p;
	pkt->payload_len = (uint32_t)s->r.left;
	pkt->payload_missing = (uint32_t)s->missing;
	return CAP_TCP;
}

enum cap_verdict cap_decode(const struct cap_frame *frame,
			    struct isc_pkt *pkt_r)
{
	struct cap_dec d;
	struct cap_span l4;
	struct isc_pkt pkt;
	enum cap_verdict v;
	int ipver = 0;

	d.r = rd_init(frame->data, frame->caplen);
	d.caplen = frame->caplen;
	d.wire = frame->wirelen > frame->caplen ? frame->wirelen :
						  frame->caplen;
	d.cut = frame->caplen < frame->wirelen;

	memset(&pkt, 0, sizeof(pkt));
	pkt.ts = frame->ts;
	pkt.index = frame->index;
	if ((v = cap_link(&d, frame->linktype, &ipver)) != CAP_GO)
		return v;
	if ((v = cap_ip(&d, ipver, &pkt, &l4)) != CAP_GO)
		return v;
	if ((v = cap_tcp(&l4, &pkt)) != CAP_TCP)
		return v;
	*pkt_r = pkt;
	return CAP_TCP;
}
