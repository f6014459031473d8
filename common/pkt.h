/* common/pkt.h: one decoded TCP segment, as capture/ hands it to reassembly/.
 *
 * The payload is borrowed: it points into the capture buffer and is valid
 * only until the next packet is read. */
#ifndef ISC_PKT_H
#define ISC_PKT_H

#include "isc.h"

/* TCP flag bits, as in the TCP header's flags byte. */
#define ISC_TH_FIN 0x01
#define ISC_TH_SYN 0x02
#define ISC_TH_RST 0x04
#define ISC_TH_PSH 0x08
#define ISC_TH_ACK 0x10
#define ISC_TH_URG 0x20

struct isc_pkt {
	isc_time ts;			/* capture timestamp */
	uint64_t index;			/* 1-based packet number in the capture */
	struct isc_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t win;
	uint8_t flags;			/* ISC_TH_* */
	const uint8_t *payload;		/* captured TCP payload (borrowed) */
	uint32_t payload_len;		/* bytes present at payload */
	/* TCP payload bytes the IP length says were sent but the snaplen cut
	 * off: they follow payload[payload_len] on the wire. Reassembly turns
	 * them into a gap, never into invented bytes. */
	uint32_t payload_missing;
};

#endif
