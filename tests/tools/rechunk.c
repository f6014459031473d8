/* tests/tools/rechunk.c: rewrites a capture with every TCP payload cut into
 * smaller segments, to check that the analysis does not depend on where
 * the sender's segments happened to end.
 *
 *   rechunk MODE IN OUT
 *
 * MODE is "1" (one payload byte a segment) or "random:SEED" (segments of
 * 1 to 1460 bytes, drawn from a PRNG seeded with the decimal SEED, so the
 * same seed gives the same file). IN is a pcap or pcapng file ("-" for
 * stdin), OUT a pcap file ("-" for stdout). A summary goes to stderr.
 *
 * What is split: TCP segments with payload over IPv4 or IPv6, on Ethernet
 * (with any VLAN tags), Linux cooked capture v1 and v2, BSD loopback and
 * raw IP links. Everything else is copied as it is: other link types and
 * protocols, IP fragments, IPv6 jumbograms, AH, frames whose datagram was
 * cut by the snaplen, and anything whose headers do not add up.
 *
 * Each piece is a whole frame: the original's link, IP and TCP headers
 * (options included), its timestamp, and a slice of its payload. The TCP
 * sequence number is advanced to the slice, the IP length fields are set
 * to the piece's size, and the IPv4 header checksum and the TCP checksum
 * are recomputed. SYN stays on the first piece only; FIN, PSH and RST on
 * the last only; URG only on pieces that the urgent pointer reaches past.
 * Bytes after the IP datagram (Ethernet padding) are not copied.
 *
 * Exit status: 0 done, 1 input or output error, 2 usage. */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define MAX_PIECE 1460

/* LINKTYPE_* values found in files that libpcap may not map to a DLT_*. */


/* ---- byte access ---------------------------------------------------- */


/* seed of the random cut sizes (splitmix64, wire.h) */
static uint64_t rng_state;

/* ---- frame layout ----------------------------------------------------- */

/* Where the headers of a splittable frame are. Offsets from the frame's
 * first byte; every one of them was checked against the captured length. */
struct layout {
	size_t ip;		/* IP header */
	int ipver;		/* 4 or 6 */
	bool ip6_routing;	/* a routing header: the checksum's destination
				 * is not the header's, leave the checksum */
	size_t tcp;		/* TCP header */
	size_t payload;		/* first payload byte */
	size_t payload_len;
};

static bool is_vlan_tpid(uint16_t t)
{
	return t == 0x8100 || t == 0x88a8 || t == 0x9100;
}

/* From ethertype `type`, with *off just past the link header, through any
 * VLAN tags (4 bytes each, *off advanced over them) to the IP version: 4,
 * 6, or 0 for anything else. *off <= caplen on entry and on return. */
static int ethertype_walk(const uint8_t *p, size_t caplen, size_t *off,
			  uint16_t type)
{
	while (is_vlan_tpid(type)) {
		if (caplen - *off < 4)
			return 0;
		type = be16(p + *off + 2);
		*off += 4;
	}
	if (type == 0x0800)
		return 4;
	if (type == 0x86dd)
		return 6;
	return 0;
}

/* The link header: sets *ip_off and returns the IP version (4 or 6), or 0
 * when the frame is not IP on a link type this tool knows. */
static int link_layer(int linktype, const uint8_t *p, size_t caplen,
		      size_t *ip_off)
{
	size_t off;
	uint32_t fam;
	int v;

	switch (linktype) {
	case DLT_EN10MB:	/* destination, source, ethertype */
		if (caplen < 14)
			return 0;
		off = 14;
		v = ethertype_walk(p, caplen, &off, be16(p + 12));
		*ip_off = off;
		return v;
	case DLT_LINUX_SLL:	/* 16 bytes, protocol at 14 */
		if (caplen < 16)
			return 0;
		off = 16;
		v = ethertype_walk(p, caplen, &off, be16(p + 14));
		*ip_off = off;
		return v;
	case LT_SLL2:		/* 20 bytes, protocol at 0 */
		if (caplen < 20)
			return 0;
		off = 20;
		v = ethertype_walk(p, caplen, &off, be16(p));
		*ip_off = off;
		return v;
	case DLT_NULL:
	case LT_LOOP:
		if (caplen < 4)
			return 0;
		fam = be32(p);
		if (linktype == DLT_NULL && fam > 0xffff)	/* little endian */
			fam = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
			      (uint32_t)p[1] << 8 | p[0];
		*ip_off = 4;
		if (fam == 2)
			return 4;
		if (fam == 24 || fam == 28 || fam == 30)
			return 6;
		return 0;
	case DLT_RAW:
	case LT_RAW:
	case LT_IPV4:
	case LT_IPV6:
		if (caplen < 1)
			return 0;
		*ip_off = 0;
		if (p[0] >> 4 == 4 && linktype != LT_IPV6)
			return 4;
		if (p[0] >> 4 == 6 && linktype != LT_IPV4)
			return 6;
		return 0;
	default:
		return 0;
	}
}

/* Fills *l for a TCP segment with payload that can be split. Returns false
 * for anything to be copied unchanged. */
static bool frame_layout(int linktype, const uint8_t *p, size_t caplen,
			 struct layout *l)
{
	size_t ip, ip_end, tcp;

	memset(l, 0, sizeof(*l));
	l->ipver = link_layer(linktype, p, caplen, &ip);
	if (!l->ipver || ip > caplen)
		return false;
	l->ip = ip;
	if (l->ipver == 4) {
		if (caplen - ip < 20 || p[ip] >> 4 != 4)
			return false;
		size_t ihl = (size_t)(p[ip] & 0x0f) * 4;
		size_t total = be16(p + ip + 2);
		if (ihl < 20 || total < ihl || total > caplen - ip)
			return false;
		if (be16(p + ip + 6) & 0x3fff)	/* MF or a fragment offset */
			return false;
		if (p[ip + 9] != 6)
			return false;
		tcp = ip + ihl;
		ip_end = ip + total;
	} else {
		if (caplen - ip < 40 || p[ip] >> 4 != 6)
			return false;
		size_t plen = be16(p + ip + 4);
		if (plen == 0 || plen > caplen - ip - 40)	/* jumbogram, or cut */
			return false;
		ip_end = ip + 40 + plen;
		uint8_t nh = p[ip + 6];
		size_t off = ip + 40;
		/* hop-by-hop, routing, destination options; fragments and
		 * AH are left alone */
		while (nh == 0 || nh == 43 || nh == 60) {
			if (ip_end - off < 8)
				return false;
			size_t len = ((size_t)p[off + 1] + 1) * 8;
			if (len > ip_end - off)
				return false;
			if (nh == 43)
				l->ip6_routing = true;
			nh = p[off];
			off += len;
		}
		if (nh != 6)
			return false;
		tcp = off;
	}
	if (ip_end - tcp < 20)
		return false;
	size_t thl = (size_t)(p[tcp + 12] >> 4) * 4;
	if (thl < 20 || thl > ip_end - tcp)
		return false;
	l->tcp = tcp;
	l->payload = tcp + thl;
	l->payload_len = ip_end - l->payload;
	return l->payload_len > 0;
}

/* ---- one piece --------------------------------------------------------- */

/* Builds in buf (at least l->payload + n bytes) the piece of frame p that
 * carries payload bytes [off, off + n). */
static void make_piece(const uint8_t *p, const struct layout *l, size_t off,
		       size_t n, uint8_t *buf)
{
	memcpy(buf, p, l->payload);
	memcpy(buf + l->payload, p + l->payload + off, n);

	uint8_t *ip = buf + l->ip, *th = buf + l->tcp;
	size_t ip_hdrs = l->tcp - l->ip, tcp_len = l->payload - l->tcp + n;

	/* sequence number: a SYN takes one before the data */
	uint32_t seq0 = be32(th + 4);
	uint8_t flags = th[13];
	uint32_t seq = seq0 + (uint32_t)off + ((flags & TH_SYN) && off ? 1 : 0);
	put32(th + 4, seq);

	bool first = off == 0, last = off + n == l->payload_len;
	if (!first)
		flags &= (uint8_t)~TH_SYN;
	if (!last)
		flags &= (uint8_t)~(TH_FIN | TH_PSH | TH_RST);
	if (flags & TH_URG) {
		/* the urgent pointer is an offset from the segment's seq */
		uint32_t urg_end = seq0 + be16(th + 18);
		int64_t rel = (int64_t)(int32_t)(urg_end - seq);
		if (rel > 0 && rel <= 0xffff) {
			put16(th + 18, (uint16_t)rel);
		} else {
			flags &= (uint8_t)~TH_URG;
			put16(th + 18, 0);
		}
	}
	th[13] = flags;

	uint32_t sum = 0;
	if (l->ipver == 4) {
		size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
		put16(ip + 2, (uint16_t)(ip_hdrs + tcp_len));
		put16(ip + 10, 0);
		put16(ip + 10, csum_fold(csum_add(0, ip, ihl)));
		sum = csum_add(sum, ip + 12, 8);	/* source, destination */
	} else {
		put16(ip + 4, (uint16_t)(ip_hdrs - 40 + tcp_len));
		if (l->ip6_routing)
			return;
		sum = csum_add(sum, ip + 8, 32);
	}
	sum += 6;
	sum += (uint32_t)tcp_len;
	put16(th + 16, 0);
	put16(th + 16, csum_fold(csum_add(sum, th, tcp_len)));
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
	fputs("usage: rechunk MODE IN OUT\n"
	      "  MODE: 1 (one payload byte a segment) or random:SEED (1..1460 bytes)\n",
	      stderr);
}

/* Microsecond pcap files stay microsecond; anything else is read and
 * written with nanoseconds. */
static int file_precision(const char *path)
{
	if (!strcmp(path, "-"))
		return PCAP_TSTAMP_PRECISION_NANO;
	FILE *f = fopen(path, "rb");
	uint8_t m[4];
	int prec = PCAP_TSTAMP_PRECISION_NANO;
	if (f && fread(m, 1, 4, f) == 4) {
		uint32_t be = be32(m);
		if (be == 0xa1b2c3d4 || be == 0xd4c3b2a1)
			prec = PCAP_TSTAMP_PRECISION_MICRO;
	}
	if (f)
		fclose(f);
	return prec;
}

int main(int argc, char **argv)
{
	bool random_mode;

	if (argc != 4) {
		usage();
		return 2;
	}
	if (!strcmp(argv[1], "1")) {
		random_mode = false;
	} else if (!strncmp(argv[1], "random:", 7) && argv[1][7]) {
		char *end;
		errno = 0;
		rng_state = strtoull(argv[1] + 7, &end, 10);
		if (errno || *end || argv[1][7] == '-') {
			usage();
			return 2;
		}
		random_mode = true;
	} else {
		usage();
		return 2;
	}

	char err[PCAP_ERRBUF_SIZE];
	int prec = file_precision(argv[2]);
	pcap_t *in = pcap_open_offline_with_tstamp_precision(argv[2], (u_int)prec, err);
	if (!in) {
		fprintf(stderr, "rechunk: %s\n", err);
		return 1;
	}
	int linktype = pcap_datalink(in);
	int snaplen = pcap_snapshot(in);
	if (snaplen <= 0)
		snaplen = 262144;
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(linktype, snaplen, (u_int)prec);
	pcap_dumper_t *out = dead ? pcap_dump_open(dead, argv[3]) : NULL;
	if (!out) {
		fprintf(stderr, "rechunk: %s: %s\n", argv[3],
			dead ? pcap_geterr(dead) : "out of memory");
		if (dead)
			pcap_close(dead);
		pcap_close(in);
		return 1;
	}

	uint8_t *buf = NULL;
	size_t buf_cap = 0;
	uint64_t n_in = 0, n_split = 0, n_out = 0;
	int status = 0, r;
	struct pcap_pkthdr *h;
	const u_char *data;
	while ((r = pcap_next_ex(in, &h, &data)) == 1) {
		n_in++;
		struct layout l;
		if (!frame_layout(linktype, data, h->caplen, &l)) {
			pcap_dump((u_char *)out, h, data);
			n_out++;
			continue;
		}
		n_split++;
		if (buf_cap < h->caplen) {
			free(buf);
			buf_cap = h->caplen;
			buf = malloc(buf_cap);
			if (!buf) {
				fputs("rechunk: out of memory\n", stderr);
				status = 1;
				break;
			}
		}
		for (size_t off = 0; off < l.payload_len;) {
			size_t left = l.payload_len - off, n = 1;
			if (random_mode) {
				size_t max = left < MAX_PIECE ? left : MAX_PIECE;
				n = 1 + (size_t)(splitmix64(&rng_state) % max);
			}
			make_piece(data, &l, off, n, buf);
			struct pcap_pkthdr ph = *h;
			ph.caplen = ph.len = (bpf_u_int32)(l.payload + n);
			pcap_dump((u_char *)out, &ph, buf);
			n_out++;
			off += n;
		}
	}
	if (r == PCAP_ERROR) {
		fprintf(stderr, "rechunk: %s: %s\n", argv[2], pcap_geterr(in));
		status = 1;
	}
	if (pcap_dump_flush(out) != 0) {
		fprintf(stderr, "rechunk: %s: write error\n", argv[3]);
		status = 1;
	}
	pcap_dump_close(out);
	pcap_close(dead);
	pcap_close(in);
	free(buf);
	fprintf(stderr, "rechunk: %" PRIu64 " packets read, %" PRIu64
		" split, %" PRIu64 " written\n", n_in, n_split, n_out);
	return status;
}
