/* capture/decode.h: link, IP, tunnel and TCP header decoding of one frame.
 *
 * Decoding reads only through bounds-checked readers (common/rd.h); no
 * length or offset from the wire is used before it is checked against the
 * bytes it claims. A frame cut by the snaplen inside the TCP payload still
 * decodes (the missing payload is reported in pkt->payload_missing); one
 * cut inside a header is CAP_TRUNCATED. A header that lies about itself is
 * CAP_INVALID_*, with a finer reason (enum cap_reason) in the decoder's
 * counters.
 *
 * Two entry points share the same decoding:
 *   cap_decode()          stateless: allocates nothing, and reports IP
 *                         fragments as CAP_FRAGMENT;
 *   cap_decoder_decode()  with a struct cap_decoder: reassembles IP
 *                         fragments (capture/ipfrag.h) and counts every
 *                         frame by link type, verdict and reason.
 *
 * Link types: Ethernet (with any number of 802.1Q, 802.1ad and 0x9100
 * QinQ tags), Linux cooked v1 and v2, BSD NULL and LOOP, raw IP (DLT_RAW,
 * LINKTYPE_RAW, DLT_IPV4, DLT_IPV6), PPP and PPP in HDLC-like framing.
 * Tunnels, nested at most CAP_MAX_ENCAP deep: IPv4/IPv6 in IP (protocols 4
 * and 41), GRE (RFC 2784/2890: checksum, key and sequence fields) carrying
 * IPv4, IPv6, Ethernet (0x6558) or ERSPAN types I-III, and VXLAN (RFC
 * 7348, UDP port 4789). The addresses, ports and payload of a tunnelled
 * segment are those of the innermost packet. */
#ifndef ISC_CAP_DECODE_H
#define ISC_CAP_DECODE_H

#include "../common/limits.h"
#include "../common/pkt.h"
#include "source.h"

/* Encapsulations entered for one frame, at most: deeper nesting is
 * CAP_INVALID_IP (reason tunnel_too_deep). */
#define CAP_MAX_ENCAP 4

enum cap_verdict {
	CAP_TCP = 0,		/* *pkt_r holds a TCP segment */
	CAP_UNSUPPORTED_LINK,	/* link type we do not decode */
	CAP_NOT_IP,		/* ARP and other non-IP ethertypes */
	CAP_NOT_TCP,		/* UDP, ICMP, tunnels we do not decode, ... */
	CAP_FRAGMENT,		/* an IP fragment not reassembled: by
				 * cap_decode(), of a protocol we do not
				 * reassemble, or refused by a bound */
	CAP_TRUNCATED,		/* snaplen cut a header */
	CAP_INVALID_LINK,	/* link or tunnel header malformed */
	CAP_INVALID_IP,		/* bad version, IHL < 5, total length < IHL,
				 * bad fragment, tunnels too deep, ... */
	CAP_INVALID_TCP,	/* data offset < 5 or past the segment */
	/* cap_decode() returns only the values above. */
	CAP_VERDICT_COUNT,
	/* cap_decoder_decode() may also return: */
	CAP_FRAGMENT_HELD = CAP_VERDICT_COUNT,	/* held until its datagram
						 * completes or expires */
	CAP_FRAGMENT_REASSEMBLED,	/* completed a datagram: *pkt_r holds
					 * its TCP segment */
	CAP_DECODER_VERDICT_COUNT
};

/* Short snake_case names for stats: "tcp", "unsupported_link", ...,
 * "fragment_held", "fragment_reassembled". */
extern const char *const cap_verdict_names[CAP_DECODER_VERDICT_COUNT];

/* Why a frame was CAP_INVALID_*: exactly one reason per invalid frame. */
enum cap_reason {
	/* CAP_INVALID_LINK */
	CAP_REASON_LINK_SHORT = 0,	/* link header past the frame's end */
	CAP_REASON_GRE_SHORT,		/* GRE header past the IP payload */
	CAP_REASON_ERSPAN_SHORT,	/* ERSPAN header past the GRE payload */
	CAP_REASON_VXLAN_UDP_LENGTH,	/* UDP length < 16 or past the packet */
	/* CAP_INVALID_IP */
	CAP_REASON_IP_SHORT,		/* IP header past its enclosing layer */
	CAP_REASON_IP_BAD_VERSION,	/* not 4 (or not 6) where one is due */
	CAP_REASON_IP_IHL_LT_5,
	CAP_REASON_IP_TOTAL_LT_HEADER,
	CAP_REASON_IP_TOTAL_GT_FRAME,	/* total length past the frame */
	CAP_REASON_IPV6_PAYLOAD_GT_FRAME,
	CAP_REASON_IPV6_JUMBOGRAM,	/* RFC 2675: not supported */
	CAP_REASON_IPV6_EXT_OVERRUN,	/* extension header past the payload */
	CAP_REASON_FRAG_OFFSET_OVERFLOW,/* offset * 8 + length > 65535 */
	CAP_REASON_FRAG_LEN_NOT_MULT_8,	/* non-last fragment, length % 8 */
	CAP_REASON_FRAG_EMPTY,		/* fragment without data */
	CAP_REASON_FRAG_END_INCONSISTENT,/* end contradicts the datagram's */
	CAP_REASON_TUNNEL_TOO_DEEP,	/* more than CAP_MAX_ENCAP */
	/* CAP_INVALID_TCP */
	CAP_REASON_TCP_SHORT,		/* segment < 20 bytes */
	CAP_REASON_TCP_DOFF_LT_5,
	CAP_REASON_TCP_DOFF_BEYOND_SEGMENT,
	CAP_REASON_COUNT
};

/* "link_header_short", ..., "ip_bad_version", ..., "tcp_doff_lt_5". */
extern const char *const cap_reason_names[CAP_REASON_COUNT];

/* Decodes frame into *pkt_r without state. Returns a verdict below
 * CAP_VERDICT_COUNT; *pkt_r is filled only for CAP_TCP and its payload
 * borrows frame bytes. Can't fail otherwise. */
enum cap_verdict cap_decode(const struct cap_frame *frame,
			    struct isc_pkt *pkt_r);

/* ---- stateful decoding ------------------------------------------- */

struct cap_decoder;

/* Makes a decoder whose fragment table is bounded by lim->frag_max,
 * frag_memcap and frag_timeout (copied). Returns 0 and sets *dec_r, or
 * ISC_ENOMEM. */
int cap_decoder_new(const struct isc_limits *lim, struct cap_decoder **dec_r);

/* Frees the decoder, the fragments it holds and its last reassembled
 * datagram; sets *dec to NULL. NULL is fine. */
void cap_decoder_free(struct cap_decoder **dec);

/* Decodes frame as cap_decode() does, but holds IP fragments until their
 * datagram is complete, and counts the frame. Returns any verdict:
 *   CAP_TCP                  *pkt_r is a segment; payload in frame bytes
 *   CAP_FRAGMENT_REASSEMBLED *pkt_r is the segment of the datagram this
 *                            frame completed; its payload points into a
 *                            buffer the decoder owns, valid until the
 *                            next cap_decoder_decode() or _free()
 *   CAP_FRAGMENT_HELD        the frame's fragment is held
 *   anything else            nothing to deliver (a completed datagram
 *                            that is not TCP gets the verdict of what it
 *                            holds: CAP_NOT_TCP, CAP_INVALID_TCP, ...)
 * *pkt_r is filled only for CAP_TCP and CAP_FRAGMENT_REASSEMBLED; its ts
 * and index are the frame's. A bound refusing a fragment, or a failed
 * allocation, gives CAP_FRAGMENT and is counted; the call can't fail. */
enum cap_verdict cap_decoder_decode(struct cap_decoder *dec,
				    const struct cap_frame *frame,
				    struct isc_pkt *pkt_r);

/* The newest timestamp of the frames given to cap_decoder_decode() so
 * far (the fragment table's clock), INT64_MIN before the first. Can't
 * fail. */
isc_time cap_decoder_now(const struct cap_decoder *dec);

/* One counter. */
struct cap_stat {
	const char *group;	/* "packets", "link", "malformed", ... */
	const char *name;	/* snake_case, unique within the group */
	uint64_t value;
};

/* Counter i of the decoder, for i = 0, 1, ... until it returns false.
 * The list is fixed: the same (group, name) pairs in the same order for
 * every decoder, zeros included, so output built from it has a fixed
 * shape. The groups:
 *   packets    total, bytes (captured), and one per verdict
 *   link       frames per link type: ethernet, linux_sll, linux_sll2,
 *              null, loop, raw, ipv4, ipv6, ppp, ppp_serial, other
 *   malformed  one per enum cap_reason; sums to the invalid_* verdicts
 *   fragments  fragments, reassembled, overlaps, overlap_conflicts,
 *              refused, expired, dropped (datagrams), pending, held,
 *              bytes_held (now), peak_held, peak_bytes
 *   tunnels    ipv4_in_ip, ipv6_in_ip, gre, gre_ethernet, erspan, vxlan,
 *              unsupported (GRE versions/payloads we do not decode)
 *   lengths    ipv4_length_from_frame, ipv6_length_from_frame (a zero IP
 *              length taken from the frame, as TSO/GSO senders' captures
 *              have them), tcp_payload_cut_bytes (segment payload the
 *              snaplen cut off)
 * The strings are static. Can't fail. */
bool cap_decoder_stat(const struct cap_decoder *dec, size_t i,
		      struct cap_stat *st_r);

#endif
