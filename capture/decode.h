/* capture/decode.h: link, IP and TCP header decoding of one frame.
 *
 * cap_decode() reads only through bounds-checked readers (common/rd.h); no
 * length or offset from the wire is used before it is checked against the
 * captured length. A frame cut by the snaplen inside the TCP payload still
 * decodes (the missing payload is reported in pkt->payload_missing); one cut
 * inside a header is CAP_TRUNCATED. A header that lies about itself is
 * CAP_INVALID_*. Nothing is allocated; pkt->payload borrows frame bytes. */
#ifndef ISC_CAP_DECODE_H
#define ISC_CAP_DECODE_H

#include "../common/pkt.h"
#include "source.h"

enum cap_verdict {
	CAP_TCP = 0,		/* *pkt_r holds a TCP segment */
	CAP_UNSUPPORTED_LINK,	/* link type we do not decode */
	CAP_NOT_IP,		/* ARP and other non-IP ethertypes */
	CAP_NOT_TCP,		/* UDP, ICMP, ... */
	CAP_FRAGMENT,		/* an IP fragment (not reassembled yet) */
	CAP_TRUNCATED,		/* snaplen cut a header */
	CAP_INVALID_LINK,	/* link header malformed */
	CAP_INVALID_IP,		/* bad version, IHL < 5, total length < IHL, ... */
	CAP_INVALID_TCP,	/* data offset < 5 or past the segment */
	CAP_VERDICT_COUNT
};

/* Short snake_case names for stats: "tcp", "unsupported_link", ... */
extern const char *const cap_verdict_names[CAP_VERDICT_COUNT];

/* Decodes frame into *pkt_r. Returns the verdict; *pkt_r is filled only
 * for CAP_TCP. Can't fail otherwise. */
enum cap_verdict cap_decode(const struct cap_frame *frame, struct isc_pkt *pkt_r);

#endif
