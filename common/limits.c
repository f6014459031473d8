#include "limits.h"

void isc_limits_default(struct isc_limits *l)
{
	/* 256 MiB of held segments across all flows: a sensor with 10,000
	 * open sessions can still hold a 26 KB hole in each. */
	l->memcap = 256u << 20;
	/* 1 MiB per direction: more than a TCP window of any common stack. */
	l->max_ooo = 1u << 20;
	l->max_flows = 200000;
	/* 31 minutes: an IMAP connection may be silent for 30 minutes and
	 * still be alive (RFC 3501 5.4's autologout timer; RFC 2177 has IDLE
	 * clients re-issue IDLE at least every 29 minutes). The 5 minutes
	 * of generic TCP trackers would cut idling sessions in two. */
	l->idle_timeout = 1860 * ISC_NS_PER_SEC;
	/* 64 KiB: longer than any real command line (RFC 7162 recommends
	 * servers accept at least 8192 octets), the cap curl uses too. */
	l->max_line = 64u << 10;
	/* 64 levels: BODYSTRUCTURE of real multipart mail nests a dozen. */
	l->max_depth = 64;
	/* 256 commands in flight, as Suricata's SMTP max_tx. */
	l->max_pending = 256;
	/* Transcripts show the first 256 bytes of each literal. */
	l->literal_bytes = 256;
	/* 4 MiB and 30 s: Linux's defaults for IPv4 reassembly
	 * (net.ipv4.ipfrag_high_thresh, net.ipv4.ipfrag_time), so what a
	 * Linux host would still put together is put together here. */
	l->frag_memcap = 4u << 20;
	l->frag_timeout = 30 * ISC_NS_PER_SEC;
	/* 4096 fragments: 4 MiB holds about 2800 full-size (1480-byte)
	 * fragments; the count bounds floods of tiny ones, which the byte
	 * cap alone would let pile up by the tens of thousands. */
	l->frag_max = 4096;
}
