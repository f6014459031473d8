/* tests/tools/mangle.c: rewrites a capture the way a lossy, reordering,
 * duplicating network (or a capture point that misses packets) would, and
 * writes the synthetic captures of the reassembly memory tests.
 *
 *   mangle [-s SEED] [-r WINDOW] [-d PERCENT] [-x] [-l PERCENT] [-L FROM:TO]
 *          [-p PORT] IN OUT          rewrite IN into OUT
 *   mangle -S N OUT                  N flows of one SYN each
 *   mangle -H FLOWS:BYTES:EVERY OUT  flows whose holes never fill
 *
 * Rewriting (TCP over IPv4 or IPv6, on Ethernet, Linux cooked v1, BSD
 * loopback or raw IP; everything else is copied as it is):
 *
 *   -r WINDOW  reorders. A run is a stretch of one flow's packets made of
 *              data segments of one direction (no SYN, FIN or RST) and pure
 *              ACKs; at most WINDOW data segments long. The data segments
 *              of a run are shuffled among themselves and its pure ACKs put
 *              after them, so no ACK ever passes data it acknowledges and
 *              the other direction's bytes keep their place: what each side
 *              said, and in reply to what, is unchanged.
 *   -d PERCENT duplicates that share of the data segments: a copy follows
 *              the segment (after reordering, so a copy may meet the
 *              segment held out of order).
 *   -x         the copies carry different bytes (each payload byte with its
 *              0x20 bit flipped) and a fixed TCP checksum: an inconsistent
 *              retransmission, which first-data-wins must ignore.
 *   -l PERCENT drops that share of the server's data segments (sent from
 *              PORT, default 143) that lie wholly inside the server stream
 *              offsets [FROM, TO) given by -L (offset 0 is the byte after
 *              the SYN+ACK). Choose the range inside a big literal and the
 *              IMAP records stay comparable: a gap inside a literal keeps
 *              the dissector in step.
 *   -s SEED    the PRNG seed (decimal, default 1): same seed, same file.
 *
 * Every packet keeps its own timestamp, so after -r the times in the file
 * are no longer in order: as if each packet had been stamped when sent.
 *
 * -S N writes N SYNs from N different clients (10.x.y.z, port 40000) to
 * 192.0.2.1:143, one microsecond apart: a table-filling flood.
 * -H FLOWS:BYTES:EVERY writes FLOWS connections (interleaved) in which the
 * server answers a FETCH with a BYTES-long literal whose first segment is
 * never captured, nor is one segment in every EVERY after it (0: only the
 * first), while the client's ACKs never pass the first hole: held data
 * that can only go as a gap.
 *
 * A summary goes to stderr. Exit status: 0 done, 1 I/O error, 2 usage. */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire.h"



/* ---- bytes ---- */


/* ---- PRNG: splitmix64, seeded from the command line ---- */

static uint64_t rng_state = 1;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

/* True with probability pct percent. */
static bool chance(double pct)
{
	return (double)(rng() % 1000000) < pct * 10000.0;
}

/* ---- frames ---- */

struct frame {
	struct pcap_pkthdr h;
	uint8_t *data;
	/* set when the frame is TCP this tool understands */
	bool tcp;
	int ipver;
	size_t ip, th, pl;		/* offsets: IP and TCP headers, payload */
	size_t plen;			/* payload bytes */
	uint8_t key[38];		/* the 4-tuple, lower endpoint first */
	bool from_low;			/* sent by the lower endpoint */
	uint16_t sport;
	uint32_t seq, ack;
	uint8_t flags;
	bool drop;
	bool dup;			/* a copy follows */
};

/* Finds IP and TCP in f; leaves f->tcp false for anything else. */
static void parse(int linktype, struct frame *f)
{
	const uint8_t *p = f->data;
	size_t n = f->h.caplen, ip, end, th, thl;
	uint16_t type = 0;
	uint8_t a[19], b[19];

	switch (linktype) {
	case DLT_EN10MB:
		if (n < 14)
			return;
		ip = 14;
		type = be16(p + 12);
		while ((type == 0x8100 || type == 0x88a8) && n >= ip + 4) {
			type = be16(p + ip + 2);
			ip += 4;
		}
		break;
	case DLT_LINUX_SLL:
		if (n < 16)
			return;
		ip = 16;
		type = be16(p + 14);
		break;
	case DLT_NULL:
	case LT_LOOP:
		if (n < 4)
			return;
		ip = 4;
		type = (p[0] == 2 || p[3] == 2) ? 0x0800 : 0x86dd;
		break;
	case DLT_RAW:
	case LT_RAW:
	case LT_IPV4:
	case LT_IPV6:
		if (n < 1)
			return;
		ip = 0;
		type = p[0] >> 4 == 4 ? 0x0800 : 0x86dd;
		break;
	default:
		return;
	}
	if (type == 0x0800) {
		size_t ihl;

		if (n < ip + 20 || p[ip] >> 4 != 4)
			return;
		ihl = (size_t)(p[ip] & 15) * 4;
		end = ip + be16(p + ip + 2);
		if (ihl < 20 || end > n || end < ip + ihl || p[ip + 9] != 6 ||
		    (be16(p + ip + 6) & 0x3fff))
			return;
		th = ip + ihl;
		f->ipver = 4;
		a[0] = b[0] = 4;
		memset(a + 1, 0, 16);
		memset(b + 1, 0, 16);
		memcpy(a + 1, p + ip + 12, 4);
		memcpy(b + 1, p + ip + 16, 4);
	} else if (type == 0x86dd) {
		if (n < ip + 40 || p[ip] >> 4 != 6 || p[ip + 6] != 6)
			return;
		end = ip + 40 + be16(p + ip + 4);
		if (end > n || end == ip + 40)
			return;
		th = ip + 40;
		f->ipver = 6;
		a[0] = b[0] = 6;
		memcpy(a + 1, p + ip + 8, 16);
		memcpy(b + 1, p + ip + 24, 16);
	} else {
		return;
	}
	if (end < th + 20)
		return;
	thl = (size_t)(p[th + 12] >> 4) * 4;
	if (thl < 20 || th + thl > end)
		return;
	f->ip = ip;
	f->th = th;
	f->pl = th + thl;
	f->plen = end - f->pl;
	f->sport = be16(p + th);
	memcpy(a + 17, p + th, 2);
	memcpy(b + 17, p + th + 2, 2);
	f->from_low = memcmp(a, b, sizeof(a)) < 0;
	memcpy(f->key, f->from_low ? a : b, 19);
	memcpy(f->key + 19, f->from_low ? b : a, 19);
	f->seq = be32(p + th + 4);
	f->ack = be32(p + th + 8);
	f->flags = p[th + 13];
	f->tcp = true;
}

/* Recomputes f's TCP checksum. */
static void tcp_checksum(struct frame *f)
{
	uint8_t *p = f->data, *th = p + f->th;
	size_t tlen = f->pl + f->plen - f->th;
	uint32_t s = 0;

	if (f->ipver == 4)
		s = csum_add(s, p + f->ip + 12, 8);
	else
		s = csum_add(s, p + f->ip + 8, 32);
	s += 6 + (uint32_t)tlen;
	put16(th + 16, 0);
	put16(th + 16, csum_fold(csum_add(s, th, tlen)));
}

static bool is_data(const struct frame *f)
{
	return f->tcp && f->plen > 0 &&
	       !(f->flags & (TH_SYN | TH_FIN | TH_RST));
}

static bool is_pure_ack(const struct frame *f)
{
	return f->tcp && f->plen == 0 &&
	       (f->flags & ~(TH_ACK | TH_PSH)) == 0;
}

static bool same_flow(const struct frame *a, const struct frame *b)
{
	return a->tcp && b->tcp && !memcmp(a->key, b->key, sizeof(a->key));
}

/* ---- rewriting ---- */

struct opts {
	size_t window;			/* 0: no reordering */
	double dup, loss;		/* percent */
	bool corrupt;
	uint64_t from, to;		/* -L */
	uint16_t port;
};

/* Marks server data segments inside [from, to) of each flow's server
 * stream for dropping. One pass; flows are few in a test capture. */
static uint64_t mark_losses(struct frame *fr, size_t n, const struct opts *o)
{
	struct seen {
		uint8_t key[38];
		uint32_t isn;
	} *seen = NULL;
	size_t nseen = 0, i, k;
	uint64_t dropped = 0;

	if (o->loss <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		struct frame *f = &fr[i];
		uint64_t off;

		if (!f->tcp || f->sport != o->port)
			continue;
		for (k = 0; k < nseen; k++)
			if (!memcmp(seen[k].key, f->key, sizeof(f->key)))
				break;
		if (k == nseen) {
			seen = realloc(seen, (nseen + 1) * sizeof(*seen));
			if (!seen) {
				fputs("mangle: out of memory\n", stderr);
				exit(1);
			}
			memcpy(seen[k].key, f->key, sizeof(f->key));
			/* offset 0: the byte after the SYN+ACK */
			seen[k].isn = f->seq + ((f->flags & TH_SYN) ? 1 : 0);
			nseen++;
		}
		if (!is_data(f))
			continue;
		off = (uint32_t)(f->seq - seen[k].isn);
		if (off >= o->from && off + f->plen <= o->to &&
		    chance(o->loss)) {
			f->drop = true;
			dropped++;
		}
	}
	free(seen);
	return dropped;
}

/* Reorders the runs (see -r) in place. Returns the data segments that
 * changed place. */
static uint64_t reorder(struct frame *fr, size_t n, size_t window)
{
	size_t *pos = malloc(n * sizeof(*pos));
	struct frame *tmp = malloc(n * sizeof(*tmp));
	bool *done = calloc(n, 1);
	uint64_t moved = 0;
	size_t i;

	if (!pos || !tmp || !done) {
		fputs("mangle: out of memory\n", stderr);
		exit(1);
	}
	for (i = 0; i < n; i++) {
		size_t k = 0, nd = 0, j, a, d;
		int dir = -1;

		if (done[i] || !fr[i].tcp || !is_data(&fr[i]))
			continue;
		/* collect the run that starts at i */
		for (j = i; j < n; j++) {
			const struct frame *f = &fr[j];

			if (done[j] || !same_flow(f, &fr[i]))
				continue;
			if (is_data(f)) {
				if (dir < 0)
					dir = f->from_low;
				if (f->from_low != dir || nd == window)
					break;
				nd++;
			} else if (!is_pure_ack(f)) {
				break;
			}
			pos[k++] = j;
		}
		for (j = 0; j < k; j++)
			done[pos[j]] = true;
		if (nd < 2)
			continue;
		/* data first, shuffled (Fisher-Yates), then the ACKs */
		for (j = 0, d = 0, a = nd; j < k; j++) {
			if (is_data(&fr[pos[j]]))
				tmp[d++] = fr[pos[j]];
			else
				tmp[a++] = fr[pos[j]];
		}
		for (d = nd - 1; d > 0; d--) {
			size_t r = (size_t)(rng() % (d + 1));
			struct frame x = tmp[d];

			tmp[d] = tmp[r];
			tmp[r] = x;
		}
		for (j = 0; j < k; j++) {
			if (j < nd && tmp[j].data != fr[pos[j]].data)
				moved++;
			fr[pos[j]] = tmp[j];
		}
	}
	free(pos);
	free(tmp);
	free(done);
	return moved;
}

static int rewrite(const struct opts *o, const char *in_path,
		   const char *out_path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *in, *dead;
	pcap_dumper_t *out;
	struct frame *fr = NULL;
	size_t n = 0, cap = 0, i;
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t dups = 0, dropped, moved = 0, written = 0;
	int linktype, r, status = 0;

	in = pcap_open_offline_with_tstamp_precision(in_path,
			PCAP_TSTAMP_PRECISION_NANO, err);
	if (!in) {
		fprintf(stderr, "mangle: %s\n", err);
		return 1;
	}
	linktype = pcap_datalink(in);
	while ((r = pcap_next_ex(in, &h, &data)) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			fr = realloc(fr, cap * sizeof(*fr));
			if (!fr) {
				fputs("mangle: out of memory\n", stderr);
				return 1;
			}
		}
		memset(&fr[n], 0, sizeof(fr[n]));
		fr[n].h = *h;
		fr[n].data = malloc(h->caplen ? h->caplen : 1);
		if (!fr[n].data) {
			fputs("mangle: out of memory\n", stderr);
			return 1;
		}
		memcpy(fr[n].data, data, h->caplen);
		parse(linktype, &fr[n]);
		n++;
	}
	if (r == PCAP_ERROR) {
		fprintf(stderr, "mangle: %s: %s\n", in_path, pcap_geterr(in));
		status = 1;
	}
	dropped = mark_losses(fr, n, o);
	if (o->window >= 2)
		moved = reorder(fr, n, o->window);
	for (i = 0; i < n; i++)
		if (o->dup > 0 && is_data(&fr[i]) && !fr[i].drop &&
		    chance(o->dup)) {
			fr[i].dup = true;
			dups++;
		}

	dead = pcap_open_dead_with_tstamp_precision(linktype,
			pcap_snapshot(in) > 0 ? pcap_snapshot(in) : 262144,
			PCAP_TSTAMP_PRECISION_NANO);
	out = dead ? pcap_dump_open(dead, out_path) : NULL;
	if (!out) {
		fprintf(stderr, "mangle: %s: %s\n", out_path,
			dead ? pcap_geterr(dead) : "out of memory");
		return 1;
	}
	for (i = 0; i < n; i++) {
		struct frame *f = &fr[i];

		if (f->drop)
			continue;
		pcap_dump((u_char *)out, &f->h, f->data);
		written++;
		if (f->dup) {
			if (o->corrupt) {
				size_t k;

				for (k = 0; k < f->plen; k++)
					f->data[f->pl + k] ^= 0x20;
				tcp_checksum(f);
			}
			pcap_dump((u_char *)out, &f->h, f->data);
			written++;
		}
	}
	if (pcap_dump_flush(out) != 0) {
		fprintf(stderr, "mangle: %s: write error\n", out_path);
		status = 1;
	}
	pcap_dump_close(out);
	pcap_close(dead);
	pcap_close(in);
	for (i = 0; i < n; i++)
		free(fr[i].data);
	free(fr);
	fprintf(stderr, "mangle: %zu packets read, %" PRIu64 " moved, %" PRIu64
		" duplicated, %" PRIu64 " dropped, %" PRIu64 " written\n", n,
		moved, dups, dropped, written);
	return status;
}

/* ---- generators ---- */

/* Builds an Ethernet/IPv4/TCP frame in buf (>= 54 + len bytes); returns
 * its length. */
static size_t build(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst,
		    uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
		    const uint8_t *payload, size_t len)
{
	uint8_t *ip = buf + 14, *th = buf + 34;
	struct frame f;

	memset(buf, 0, 54);
	buf[0] = 2;			/* locally administered MACs */
	buf[6] = 2;
	buf[11] = 1;
	put16(buf + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + len));
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put16(th, sport);
	put16(th + 2, dport);
	put32(th + 4, seq);
	put32(th + 8, ack);
	th[12] = 5 << 4;
	th[13] = flags;
	put16(th + 14, 65535);
	if (len)
		memcpy(buf + 54, payload, len);
	memset(&f, 0, sizeof(f));
	f.data = buf;
	f.ipver = 4;
	f.ip = 14;
	f.th = 34;
	f.pl = 54;
	f.plen = len;
	tcp_checksum(&f);
	return 54 + len;
}

struct writer {
	pcap_t *dead;
	pcap_dumper_t *out;
	uint64_t ns;			/* time of the next packet */
	uint64_t packets;
};

static int writer_open(struct writer *w, const char *path)
{
	memset(w, 0, sizeof(*w));
	w->ns = 1767225600ULL * 1000000000ULL;	/* 2026-01-01 */
	w->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
			PCAP_TSTAMP_PRECISION_NANO);
	w->out = w->dead ? pcap_dump_open(w->dead, path) : NULL;
	if (!w->out) {
		fprintf(stderr, "mangle: %s: %s\n", path,
			w->dead ? pcap_geterr(w->dead) : "out of memory");
		return -1;
	}
	return 0;
}

static void writer_put(struct writer *w, const uint8_t *buf, size_t len)
{
	struct pcap_pkthdr h;

	h.ts.tv_sec = (time_t)(w->ns / 1000000000ULL);
	h.ts.tv_usec = (suseconds_t)(w->ns % 1000000000ULL);	/* ns file */
	h.caplen = h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)w->out, &h, buf);
	w->ns += 1000;
	w->packets++;
}

static int writer_close(struct writer *w, const char *what)
{
	int status = pcap_dump_flush(w->out) != 0;

	if (status)
		fputs("mangle: write error\n", stderr);
	pcap_dump_close(w->out);
	pcap_close(w->dead);
	fprintf(stderr, "mangle: %s: %" PRIu64 " packets written\n", what,
		w->packets);
	return status;
}

#define SERVER_IP 0xc0000201u		/* 192.0.2.1 */

static int gen_syns(uint64_t count, const char *path)
{
	struct writer w;
	uint8_t buf[64];
	uint64_t i;

	if (writer_open(&w, path) < 0)
		return 1;
	for (i = 0; i < count; i++) {
		uint32_t src = 0x0a000000u | (uint32_t)(i & 0xffffff);
		uint16_t sport = (uint16_t)(40000 + (i >> 24));
		size_t len = build(buf, src, sport, SERVER_IP, 143, TH_SYN,
				   (uint32_t)rng(), 0, NULL, 0);

		writer_put(&w, buf, len);
	}
	return writer_close(&w, "syns");
}

#define MSS 1448

struct hflow {
	uint32_t cli;
	uint16_t port;
	uint32_t cseq, sseq;		/* next sequence numbers */
	uint32_t hole;			/* first byte never captured */
	uint64_t left;			/* literal bytes still to send */
	uint64_t segs;			/* literal segments sent */
};

static int gen_hole(unsigned flows, uint64_t bytes, unsigned every,
		    const char *path)
{
	static uint8_t buf[54 + MSS], chunk[MSS];
	struct hflow *hf = calloc(flows, sizeof(*hf));
	struct writer w;
	unsigned k, active;
	char line[128];
	size_t len, i;

	if (!hf || writer_open(&w, path) < 0)
		return 1;
	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)('a' + i % 26);
	for (k = 0; k < flows; k++) {
		struct hflow *f = &hf[k];
		static const char greet[] = "* OK hole test\r\n";
		static const char cmd[] = "a1 FETCH 1 BODY[]\r\n";

		f->cli = 0x0a010000u | k;
		f->port = (uint16_t)(40000 + k);
		f->cseq = (uint32_t)rng();
		f->sseq = (uint32_t)rng();
		f->left = bytes;
		writer_put(&w, buf, build(buf, f->cli, f->port, SERVER_IP, 143,
					  TH_SYN, f->cseq++, 0, NULL, 0));
		writer_put(&w, buf, build(buf, SERVER_IP, 143, f->cli, f->port,
					  TH_SYN | TH_ACK, f->sseq++, f->cseq,
					  NULL, 0));
		writer_put(&w, buf, build(buf, SERVER_IP, 143, f->cli, f->port,
					  TH_ACK | TH_PSH, f->sseq, f->cseq,
					  (const uint8_t *)greet,
					  sizeof(greet) - 1));
		f->sseq += sizeof(greet) - 1;
		writer_put(&w, buf, build(buf, f->cli, f->port, SERVER_IP, 143,
					  TH_ACK | TH_PSH, f->cseq, f->sseq,
					  (const uint8_t *)cmd, sizeof(cmd) - 1));
		f->cseq += sizeof(cmd) - 1;
		snprintf(line, sizeof(line), "* 1 FETCH (BODY[] {%" PRIu64
			 "}\r\n", bytes);
		writer_put(&w, buf, build(buf, SERVER_IP, 143, f->cli, f->port,
					  TH_ACK, f->sseq, f->cseq,
					  (const uint8_t *)line, strlen(line)));
		f->sseq += (uint32_t)strlen(line);
		f->hole = f->sseq;
	}
	do {
		active = 0;
		for (k = 0; k < flows; k++) {
			struct hflow *f = &hf[k];

			if (!f->left)
				continue;
			active++;
			len = f->left < MSS ? (size_t)f->left : MSS;
			if (f->segs == 0 || (every && f->segs % every == 0)) {
				/* never captured */
			} else {
				writer_put(&w, buf,
					   build(buf, SERVER_IP, 143, f->cli,
						 f->port, TH_ACK, f->sseq,
						 f->cseq, chunk, len));
			}
			f->sseq += (uint32_t)len;
			f->left -= len;
			if (f->segs++ % 2 == 1)	/* a duplicate ACK */
				writer_put(&w, buf,
					   build(buf, f->cli, f->port,
						 SERVER_IP, 143, TH_ACK,
						 f->cseq, f->hole, NULL, 0));
		}
	} while (active);
	free(hf);
	return writer_close(&w, "hole");
}

/* ---- main ---- */

static void usage(void)
{
	fputs("usage: mangle [-s SEED] [-r WINDOW] [-d PERCENT] [-x] [-l PERCENT]\n"
	      "              [-L FROM:TO] [-p PORT] IN OUT\n"
	      "       mangle [-s SEED] -S N OUT\n"
	      "       mangle [-s SEED] -H FLOWS:BYTES:EVERY OUT\n", stderr);
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-')
		return false;
	*v = strtoull(s, &end, 10);
	return !errno && !*end;
}

static bool parse_pct(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return !errno && !*end && *v >= 0 && *v <= 100;
}

int main(int argc, char **argv)
{
	struct opts o = { .port = 143, .to = UINT64_MAX };
	uint64_t v, syns = 0, hole_flows = 0, hole_bytes = 0, hole_every = 0;
	bool gen_s = false, gen_h = false;
	int c;

	while ((c = getopt(argc, argv, "s:r:d:xl:L:p:S:H:")) != -1) {
		switch (c) {
		case 's':
			if (!parse_u64(optarg, &rng_state))
				goto bad;
			break;
		case 'r':
			if (!parse_u64(optarg, &v) || v < 2)
				goto bad;
			o.window = (size_t)v;
			break;
		case 'd':
			if (!parse_pct(optarg, &o.dup))
				goto bad;
			break;
		case 'x':
			o.corrupt = true;
			break;
		case 'l':
			if (!parse_pct(optarg, &o.loss))
				goto bad;
			break;
		case 'L':
			if (sscanf(optarg, "%" SCNu64 ":%" SCNu64, &o.from,
				   &o.to) != 2 || o.from >= o.to)
				goto bad;
			break;
		case 'p':
			if (!parse_u64(optarg, &v) || v == 0 || v > 65535)
				goto bad;
			o.port = (uint16_t)v;
			break;
		case 'S':
			if (!parse_u64(optarg, &syns))
				goto bad;
			gen_s = true;
			break;
		case 'H':
			if (sscanf(optarg, "%" SCNu64 ":%" SCNu64 ":%" SCNu64,
				   &hole_flows, &hole_bytes, &hole_every) != 3 ||
			    hole_flows == 0 || hole_flows > 65535 ||
			    hole_bytes == 0)
				goto bad;
			gen_h = true;
			break;
		default:
			goto bad;
		}
	}
	if (gen_s || gen_h) {
		if (optind != argc - 1 || (gen_s && gen_h))
			goto bad;
		if (gen_s)
			return gen_syns(syns, argv[optind]);
		return gen_hole((unsigned)hole_flows, hole_bytes,
				(unsigned)hole_every, argv[optind]);
	}
	if (optind != argc - 2)
		goto bad;
	return rewrite(&o, argv[optind], argv[optind + 1]);
bad:
	usage();
	return 2;
}
