/* fuzz/fuzz_decode.c: frame decoding, stateless and with IP reassembly.
 *
 * Input layout:
 *
 *   byte 0   link type, an index into link_types[] below (every link
 *            type capture/decode.c knows, plus two it does not)
 *   byte 1   0: frames were captured whole (wirelen == caplen);
 *            k > 0: wirelen = caplen + 4 * k (cut by the snaplen);
 *            k = 255: wirelen = caplen - 1, a header that lies
 *   rest     one frame, or several separated by the 4 bytes fe ed fa ce;
 *            each is copied to a buffer of exactly its size
 *
 * Each frame goes through cap_decode() (no state), whose segment must lie
 * inside the frame and may only miss bytes the snaplen cut off (and an
 * Ethernet frame carrying IPv4 must decode as its IP packet alone does,
 * which checks the one-step path against the layered one); then
 * through one cap_decoder shared by all frames of the input, with small
 * fragment bounds (8 fragments, 4 KiB, 2 s with frames 1 s apart), so
 * fragments of different frames are reassembled, refused and expired.
 * Every byte of every segment is read, and the decoder's counter list
 * must have the same length every time. */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/decode.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_decode: check failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);		\
			abort();					\
		}							\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* what the payload bytes add up to: keeps their reads from being dropped */
volatile uint8_t total;

static const int link_types[] = {
	DLT_EN10MB,	/* 1 */
	DLT_LINUX_SLL,	/* 113 */
	276,		/* LINKTYPE_LINUX_SLL2 */
	DLT_NULL,	/* 0 */
	DLT_LOOP,	/* 108 here */
	108,		/* LINKTYPE_LOOP */
	DLT_RAW,	/* 12 here */
	12,
	14,
	101,		/* LINKTYPE_RAW */
	228,		/* LINKTYPE_IPV4 */
	229,		/* LINKTYPE_IPV6 */
	DLT_PPP,	/* 9 */
	DLT_PPP_SERIAL,	/* 50 */
	105,		/* IEEE 802.11: not decoded */
	-1,
};

static const uint8_t separator[4] = { 0xfe, 0xed, 0xfa, 0xce };

static void read_segment(const struct isc_pkt *pkt)
{
	CHECK(pkt->src.family == 4 || pkt->src.family == 6);
	CHECK(pkt->dst.family == pkt->src.family);
	CHECK(pkt->payload_len == 0 || pkt->payload != NULL);
	uint8_t s = 0;
	for (uint32_t i = 0; i < pkt->payload_len; i++)
		s = (uint8_t)(s + pkt->payload[i]);
	total = (uint8_t)(total + s);
}

/* An Ethernet frame carrying IPv4 may take the decoder's one-step path;
 * the same bytes from the IP header on, as a LINKTYPE_IPV4 frame, take
 * the layered one. Both must give the same verdict and segment. */
static void same_as_layered(const struct cap_frame *fr, const uint8_t *frame,
			    enum cap_verdict v, const struct isc_pkt *pkt)
{
	if (fr->linktype != DLT_EN10MB || fr->caplen < 14 ||
	    fr->wirelen < 14 || frame[12] != 0x08 || frame[13] != 0x00)
		return;
	struct cap_frame ip = *fr;
	struct isc_pkt lp;

	ip.linktype = 228;	/* LINKTYPE_IPV4 */
	ip.data = frame + 14;
	ip.caplen -= 14;
	ip.wirelen -= 14;
	memset(&lp, 0xa5, sizeof(lp));
	CHECK(cap_decode(&ip, &lp) == v);
	if (v != CAP_TCP)
		return;
	CHECK(memcmp(&lp.src, &pkt->src, sizeof(lp.src)) == 0);
	CHECK(memcmp(&lp.dst, &pkt->dst, sizeof(lp.dst)) == 0);
	CHECK(lp.sport == pkt->sport && lp.dport == pkt->dport);
	CHECK(lp.seq == pkt->seq && lp.ack == pkt->ack);
	CHECK(lp.win == pkt->win && lp.flags == pkt->flags);
	CHECK(lp.payload == pkt->payload);
	CHECK(lp.payload_len == pkt->payload_len);
	CHECK(lp.payload_missing == pkt->payload_missing);
	CHECK(lp.ts == pkt->ts && lp.index == pkt->index);
}

/* cap_decode() alone, with the checks only a single frame allows. */
static void stateless(const struct cap_frame *fr, const uint8_t *frame)
{
	struct isc_pkt pkt;

	memset(&pkt, 0xa5, sizeof(pkt));
	enum cap_verdict v = cap_decode(fr, &pkt);
	CHECK(v >= CAP_TCP && v < CAP_VERDICT_COUNT);
	CHECK(cap_verdict_names[v] != NULL);
	same_as_layered(fr, frame, v, &pkt);
	if (v != CAP_TCP)
		return;
	read_segment(&pkt);
	CHECK(pkt.ts == fr->ts && pkt.index == fr->index);
	if (pkt.payload_len) {
		CHECK(pkt.payload >= frame);
		CHECK(pkt.payload_len <= fr->caplen);
		CHECK((size_t)(pkt.payload - frame) <= fr->caplen - pkt.payload_len);
	}
	/* only the snaplen can take payload away */
	uint32_t cut = fr->wirelen > fr->caplen ? fr->wirelen - fr->caplen : 0;
	CHECK(pkt.payload_missing <= cut);
}

static void stateful(struct cap_decoder *dec, const struct cap_frame *fr)
{
	struct isc_pkt pkt;

	memset(&pkt, 0xa5, sizeof(pkt));
	enum cap_verdict v = cap_decoder_decode(dec, fr, &pkt);
	CHECK(v >= CAP_TCP && v < CAP_DECODER_VERDICT_COUNT);
	CHECK(cap_verdict_names[v] != NULL);
	if (v == CAP_TCP || v == CAP_FRAGMENT_REASSEMBLED) {
		read_segment(&pkt);
		CHECK(pkt.ts == fr->ts && pkt.index == fr->index);
	}
}

static void read_stats(const struct cap_decoder *dec)
{
	static size_t nstats;	/* the list is the same for every decoder */
	struct cap_stat st;
	size_t i;

	for (i = 0; cap_decoder_stat(dec, i, &st); i++) {
		CHECK(st.group && st.name);
		total = (uint8_t)(total + strlen(st.group) + strlen(st.name) +
				  (uint8_t)st.value);
	}
	if (nstats == 0)
		nstats = i;
	CHECK(i == nstats);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t ntypes = sizeof(link_types) / sizeof(link_types[0]);
	struct cap_decoder *dec = NULL;
	struct isc_limits lim;

	if (size < 2)
		return 0;
	isc_limits_default(&lim);
	lim.frag_max = 8;
	lim.frag_memcap = 4096;
	lim.frag_timeout = 2 * ISC_NS_PER_SEC;
	if (cap_decoder_new(&lim, &dec) < 0)
		return 0;

	const uint8_t *p = data + 2, *end = data + size;
	uint64_t index = 0;
	while (p <= end) {
		const uint8_t *sep = memmem(p, (size_t)(end - p), separator,
					    sizeof(separator));
		size_t caplen = (size_t)((sep ? sep : end) - p);
		uint8_t *frame = malloc(caplen ? caplen : 1);
		struct cap_frame fr;

		if (!frame)
			break;
		memcpy(frame, p, caplen);
		memset(&fr, 0, sizeof(fr));
		index++;
		fr.ts = (isc_time)(1700000000 + index) * ISC_NS_PER_SEC;
		fr.index = index;
		fr.linktype = link_types[data[0] % ntypes];
		fr.data = frame;
		fr.caplen = (uint32_t)caplen;
		if (data[1] == 255)
			fr.wirelen = caplen ? (uint32_t)caplen - 1 : 0;
		else
			fr.wirelen = (uint32_t)caplen + 4u * data[1];
		stateless(&fr, frame);
		stateful(dec, &fr);
		free(frame);
		if (!sep)
			break;
		p = sep + sizeof(separator);
	}
	read_stats(dec);
	cap_decoder_free(&dec);
	CHECK(dec == NULL);
	return 0;
}
