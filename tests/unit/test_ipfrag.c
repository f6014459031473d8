/* tests/unit/test_ipfrag.c: IP fragment reassembly, in the table of
 * capture/ipfrag.c and through cap_decoder_decode().
 *
 * Table tests feed struct cap_frag values and check the datagram handed
 * back and every counter. Decoder tests build Ethernet frames of real
 * fragments (IPv4 and IPv6, also inside a tunnel), decode each from a heap
 * copy of exactly its captured bytes, and check the reassembled TCP
 * segment and the decoder's counters, all of them. */
#include <criterion/criterion.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../capture/decode.h"
#include "../../capture/ipfrag.h"
#include "capture_frames.h"

#define SEC ISC_NS_PER_SEC

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

/* Limits for the table tests: generous unless a test lowers them. */
static struct isc_limits lim_default(void)
{
	struct isc_limits l;

	isc_limits_default(&l);
	return l;
}

/* A datagram's data used by the table tests: byte i is (i * 7 + 1). */
static uint8_t data[65536 + 64];

static void data_setup(void)
{
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
}

TestSuite(defrag, .init = data_setup);

/* The fragment [off, off + len) of data[] in datagram id (IPv4, TCP). */
static struct cap_frag frag(uint32_t id, uint32_t off, uint32_t len,
			    bool more)
{
	struct cap_frag f;

	memset(&f, 0, sizeof(f));
	f.key.family = 4;
	f.key.proto = 6;
	f.key.id = id;
	memcpy(f.key.src, src4, 4);
	memcpy(f.key.dst, dst4, 4);
	f.offset = off;
	f.more = more;
	f.data = data + off;
	f.len = len;
	return f;
}

/* Adds f at time t, expecting result want. */
static void add(struct cap_defrag *df, isc_time t, struct cap_frag f,
		enum cap_frag_result want, struct cap_datagram *dg)
{
	struct cap_datagram tmp;
	enum cap_frag_result got = cap_defrag_add(df, t, &f, dg ? dg : &tmp);

	cr_assert_eq(got, want, "fragment at %u+%u: result %d, want %d",
		     f.offset, f.len, got, want);
	if (got == CAP_FRAG_DONE && dg == NULL)
		free(tmp.data);
}

/* The table's counters, as one comparable struct. */
struct fc {
	uint64_t fragments, reassembled, overlaps, conflicts, refused;
	uint64_t expired, dropped, pending, held, bytes;
};

static void check_fc(const struct cap_defrag *df, struct fc w)
{
	const struct cap_defrag_stats *s = cap_defrag_stats(df);

	cr_assert_eq(s->fragments, w.fragments, "fragments %lu",
		     (unsigned long)s->fragments);
	cr_assert_eq(s->reassembled, w.reassembled, "reassembled %lu",
		     (unsigned long)s->reassembled);
	cr_assert_eq(s->overlaps, w.overlaps, "overlaps %lu",
		     (unsigned long)s->overlaps);
	cr_assert_eq(s->conflicts, w.conflicts, "conflicts %lu",
		     (unsigned long)s->conflicts);
	cr_assert_eq(s->refused, w.refused, "refused %lu",
		     (unsigned long)s->refused);
	cr_assert_eq(s->expired, w.expired, "expired %lu",
		     (unsigned long)s->expired);
	cr_assert_eq(s->dropped, w.dropped, "dropped %lu",
		     (unsigned long)s->dropped);
	cr_assert_eq(s->pending, w.pending, "pending %lu",
		     (unsigned long)s->pending);
	cr_assert_eq(s->held, w.held, "held %lu", (unsigned long)s->held);
	cr_assert_eq(s->bytes, w.bytes, "bytes %lu",
		     (unsigned long)s->bytes);
}

/* Checks a completed datagram against data[0, len) with missing more. */
static void check_dg(struct cap_datagram *dg, uint32_t len, uint32_t missing)
{
	cr_assert_eq(dg->len, len, "len %u, want %u", dg->len, len);
	cr_assert_eq(dg->missing, missing);
	cr_assert_arr_eq(dg->data, data, len);
	free(dg->data);
}

static struct cap_defrag *table(const struct isc_limits *l)
{
	struct cap_defrag *df = NULL;

	cr_assert_eq(cap_defrag_new(l, &df), 0);
	return df;
}

Test(defrag, in_order)
{
	struct isc_limits l = lim_default();
	struct cap_defrag *df = table(&l);
	struct cap_datagram dg;

	add(df, 0, frag(1, 0, 16, true), CAP_FRAG_HELD, NULL);
	check_fc(df, (struct fc){ .fragments = 1, .pending = 1, .held = 1,
				  .bytes = 16 + CAP_FRAG_COST });
	add(df, 1, frag(1, 16, 16, true), CAP_FRAG_HELD, NULL);
	add(df, 2, frag(1, 32, 5, false), CAP_FRAG_DONE, &dg);
	check_dg(&dg, 37, 0);
	check_fc(df, (struct fc){ .fragments = 3, .reassembled = 1 });
	/* the last piece was held for a moment too */
	cr_assert_eq(cap_defrag_stats(df)->peak_held, 3);
	cr_assert_eq(cap_defrag_stats(df)->peak_bytes, 37 + 3 * CAP_FRAG_COST);
	cap_defrag_free(&df);
	cr_assert_null(df);
	cap_defrag_free(&df);
}

Test(defrag, reversed)
{
	struct isc_limits l = lim_default();
	struct cap_defrag *df = table(&l);
	struct cap_datagram dg;

	add(df, 0, frag(1, 32, 5, false), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(1, 16, 16, true), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(1, 0, 16, true), CAP_FRAG_DONE, &dg);
	check_dg(&dg, 37, 0);
	check_fc(df, (struct fc){ .fragments = 3, .reassembled = 1 });
	cap_defrag_free(&df);
}

Test(defrag, overlap_first_wins)
{
	struct isc_limits l = lim_default();
	struct cap_defrag *df = table(&l);
	uint8_t other[64];
	struct cap_datagram dg;
	struct cap_frag f;

	memset(other, 0xee, sizeof(other));
	add(df, 0, frag(1, 0, 16, true), CAP_FRAG_HELD, NULL);
	/* [8, 24) with different bytes: 8..16 are held already */
	f = frag(1, 8, 16, true);
	f.data = other;
	add(df, 0, f, CAP_FRAG_HELD, NULL);
	check_fc(df, (struct fc){ .fragments = 2, .overlaps = 1,
				  .conflicts = 1, .pending = 1, .held = 2,
				  .bytes = 24 + 2 * CAP_FRAG_COST });
	add(df, 0, frag(1, 24, 8, false), CAP_FRAG_DONE, &dg);
	cr_assert_eq(dg.len, 32);
	cr_assert_arr_eq(dg.data, data, 16);		/* first data won */
	cr_assert_arr_eq(dg.data + 16, other + 8, 8);	/* filled the hole */
	cr_assert_arr_eq(dg.data + 24, data + 24, 8);
	free(dg.data);
	check_fc(df, (struct fc){ .fragments = 3, .reassembled = 1,
				  .overlaps = 1, .conflicts = 1 });
	cap_defrag_free(&df);
}

Test(defrag, fragment_spanning_two_holes)
{
	struct isc_limits l = lim_default();
	struct cap_defrag *df = table(&l);
	struct cap_datagram dg;

	add(df, 0, frag(1, 8, 8, true), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(1, 24, 8, true), CAP_FRAG_HELD, NULL);
	/* [0, 40) fills 0..8, 16..24 and 32..40 around the held pieces;
	 * same bytes, so an overlap without conflict */
	add(df, 0, frag(1, 0, 40, false), CAP_FRAG_DONE, &dg);
	check_dg(&dg, 40, 0);
	check_fc(df, (struct fc){ .fragments = 3, .reassembled = 1,
				  .overlaps = 1 });
	cr_assert_eq(cap_defrag_stats(df)->peak_held, 5);
	cap_defrag_free(&df);
}

Test(defrag, duplicate)
{
	struct isc_limits l = lim_default();
	struct cap_defrag *df = table(&l);
	struct cap_datagram dg;

	add(df, 0, frag(1, 0, 16, true), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(1, 0, 16, true), CAP_FRAG_HELD, NULL);
	check_fc(df, (struct fc){ .fragments = 2, .overlaps = 1,
				  .pending = 1, .held = 1,
				  .bytes = 16 + CAP_FRAG_COST });
	add(df, 0, frag(1, 16, 3, false), CAP_FRAG_DONE, &dg);
	check_dg(&dg, 19, 0);
	/* a late copy of a fragment starts a datagram that never ends */
	add(df, 1, frag(1, 16, 3, false), CAP_FRAG_HELD, NULL);
	check_fc(df, (struct fc){ .fragments = 4, .reassembled = 1,
				  .overlaps = 1, .pending = 1, .held = 1,
				  .bytes = 3 + CAP_FRAG_COST });
	cap_defrag_expire(df, 1 + l.frag_timeout);
	check_fc(df, (struct fc){ .fragments = 4, .reassembled = 1,
				  .overlaps = 1, .expired = 1 });
	cap_defrag_free(&df);
}

Test(defrag, missing_last_expires)
{
	struct isc_limits l = lim_default();
	struct cap_defrag *df = table(&l);

	cr_assert_eq(l.frag_timeout, 30 * SEC);
	add(df, 100 * SEC, frag(1, 0, 16, true), CAP_FRAG_HELD, NULL);
	add(df, 101 * SEC, frag(1, 16, 16, true), CAP_FRAG_HELD, NULL);
	/* another datagram, later */
	add(df, 120 * SEC, frag(2, 0, 8, true), CAP_FRAG_HELD, NULL);
	cap_defrag_expire(df, 130 * SEC - 1);
	check_fc(df, (struct fc){ .fragments = 3, .pending = 2, .held = 3,
				  .bytes = 40 + 3 * CAP_FRAG_COST });
	/* 30 s after its first fragment: gone, the other one stays */
	cap_defrag_expire(df, 130 * SEC);
	check_fc(df, (struct fc){ .fragments = 3, .expired = 1, .pending = 1,
				  .held = 1, .bytes = 8 + CAP_FRAG_COST });
	/* time going back changes nothing */
	cap_defrag_expire(df, 0);
	check_fc(df, (struct fc){ .fragments = 3, .expired = 1, .pending = 1,
				  .held = 1, .bytes = 8 + CAP_FRAG_COST });
	/* the last fragment of datagram 1, too late: a new datagram */
	add(df, 130 * SEC, frag(1, 32, 4, false), CAP_FRAG_HELD, NULL);
	cap_defrag_expire(df, 150 * SEC);
	check_fc(df, (struct fc){ .fragments = 4, .expired = 2, .pending = 1,
				  .held = 1, .bytes = 4 + CAP_FRAG_COST });
	cap_defrag_free(&df);
}

Test(defrag, too_many_fragments)
{
	struct isc_limits l = lim_default();
	struct cap_defrag *df;

	l.frag_max = 3;
	df = table(&l);
	add(df, 0, frag(1, 0, 8, true), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(1, 8, 8, true), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(2, 0, 8, true), CAP_FRAG_HELD, NULL);
	/* a fourth piece: refused, and datagram 1 dropped with it */
	add(df, 0, frag(1, 16, 8, true), CAP_FRAG_REFUSED, NULL);
	check_fc(df, (struct fc){ .fragments = 4, .refused = 1, .dropped = 1,
				  .pending = 1, .held = 1,
				  .bytes = 8 + CAP_FRAG_COST });
	/* room for two more pieces; a duplicate needs none */
	add(df, 0, frag(3, 0, 8, true), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(3, 0, 8, true), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(4, 0, 8, true), CAP_FRAG_HELD, NULL);
	/* full: a new datagram is refused, with nothing to drop */
	add(df, 0, frag(5, 0, 8, true), CAP_FRAG_REFUSED, NULL);
	/* a duplicate is still fine when full */
	add(df, 0, frag(4, 0, 8, true), CAP_FRAG_HELD, NULL);
	check_fc(df, (struct fc){ .fragments = 9, .refused = 2, .dropped = 1,
				  .overlaps = 2, .pending = 3, .held = 3,
				  .bytes = 24 + 3 * CAP_FRAG_COST });
	cap_defrag_free(&df);
}

Test(defrag, byte_bound)
{
	struct isc_limits l = lim_default();
	struct cap_defrag *df;

	l.frag_memcap = 2 * (1000 + CAP_FRAG_COST) + 10;
	df = table(&l);
	add(df, 0, frag(1, 0, 1000, true), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(2, 0, 1000, true), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(3, 0, 16, true), CAP_FRAG_REFUSED, NULL);
	add(df, 0, frag(1, 1000, 8, true), CAP_FRAG_REFUSED, NULL);
	check_fc(df, (struct fc){ .fragments = 4, .refused = 2, .dropped = 1,
				  .pending = 1, .held = 1,
				  .bytes = 1000 + CAP_FRAG_COST });
	cap_defrag_free(&df);
}

Test(defrag, inconsistent_end)
{
	struct isc_limits l = lim_default();
	struct cap_defrag *df = table(&l);

	/* two different ends */
	add(df, 0, frag(1, 16, 8, false), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(1, 16, 16, false), CAP_FRAG_BAD, NULL);
	check_fc(df, (struct fc){ .fragments = 2, .dropped = 1 });
	/* a fragment past the end */
	add(df, 0, frag(2, 16, 8, false), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(2, 24, 8, true), CAP_FRAG_BAD, NULL);
	/* an end before data already held */
	add(df, 0, frag(3, 16, 8, true), CAP_FRAG_HELD, NULL);
	add(df, 0, frag(3, 0, 8, false), CAP_FRAG_BAD, NULL);
	/* empty, or past 65535: the decoder never offers those */
	add(df, 0, frag(4, 0, 0, true), CAP_FRAG_BAD, NULL);
	add(df, 0, frag(4, 65528, 16, false), CAP_FRAG_BAD, NULL);
	check_fc(df, (struct fc){ .fragments = 8, .dropped = 3 });
	cap_defrag_free(&df);
}

Test(defrag, keys_apart)
{
	struct isc_limits l = lim_default();
	struct cap_defrag *df = table(&l);
	struct cap_datagram dg;
	struct cap_frag f;

	add(df, 0, frag(1, 0, 8, true), CAP_FRAG_HELD, NULL);
	f = frag(1, 8, 4, false);		/* other protocol */
	f.key.proto = 17;
	add(df, 0, f, CAP_FRAG_HELD, NULL);
	f = frag(1, 8, 4, false);		/* other source */
	f.key.src[3] ^= 1;
	add(df, 0, f, CAP_FRAG_HELD, NULL);
	f = frag(1, 8, 4, false);		/* IPv6, same bytes */
	f.key.family = 6;
	f.key.proto = 0;
	add(df, 0, f, CAP_FRAG_HELD, NULL);
	check_fc(df, (struct fc){ .fragments = 4, .pending = 4, .held = 4,
				  .bytes = 20 + 4 * CAP_FRAG_COST });
	add(df, 0, frag(1, 8, 4, false), CAP_FRAG_DONE, &dg);
	check_dg(&dg, 12, 0);
	cap_defrag_free(&df);		/* frees the three left */
}

Test(defrag, snaplen_cut_fragment)
{
	struct isc_limits l = lim_default();
	struct cap_defrag *df = table(&l);
	struct cap_datagram dg;
	struct cap_frag f;

	/* the middle fragment lost its last 10 bytes to the snaplen */
	add(df, 0, frag(1, 0, 16, true), CAP_FRAG_HELD, NULL);
	f = frag(1, 16, 6, true);
	f.missing = 10;
	add(df, 0, f, CAP_FRAG_HELD, NULL);
	add(df, 0, frag(1, 32, 8, false), CAP_FRAG_DONE, &dg);
	/* delivered up to the first byte not captured */
	check_dg(&dg, 22, 18);
	check_fc(df, (struct fc){ .fragments = 3, .reassembled = 1 });
	cap_defrag_free(&df);
}

Test(defrag, many_tiny_fragments_any_order)
{
	struct isc_limits l = lim_default();
	struct cap_defrag *df = table(&l);
	struct cap_datagram dg;
	uint32_t order[256];

	/* 256 fragments of 8 bytes in a scrambled order */
	for (uint32_t i = 0; i < 256; i++)
		order[i] = (i * 97) % 256;
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t k = order[i];

		add(df, 0, frag(9, k * 8, 8, k != 255),
		    i == 255 ? CAP_FRAG_DONE : CAP_FRAG_HELD,
		    i == 255 ? &dg : NULL);
	}
	check_dg(&dg, 2048, 0);
	check_fc(df, (struct fc){ .fragments = 256, .reassembled = 1 });
	cap_defrag_free(&df);
}

/* ------------------------------------------------------------------ */
/* Through the decoder                                                 */
/* ------------------------------------------------------------------ */

/* The TCP segment the fragment tests cut up: header with the test
 * numbers, then a 100-byte payload "0123456789" x 10. */
static uint8_t seg[20 + 100];

static void seg_setup(void)
{
	struct fb f = { .len = 0 };

	fb_tcp(&f, T_FLAGS, 0);
	for (int i = 0; i < 100; i++)
		fb_u8(&f, (uint8_t)('0' + i % 10));
	cr_assert_eq(f.len, sizeof(seg));
	memcpy(seg, f.b, sizeof(seg));
}

TestSuite(decoder_frag, .init = seg_setup);

/* An Ethernet frame with an IPv4 fragment of bytes p[off, off + len)
 * of datagram id with protocol proto. */
static void frag4(struct fb *f, uint16_t id, uint8_t proto, const uint8_t *p,
		  size_t off, size_t len, bool more)
{
	fb_reset(f);
	fb_eth(f, NULL, 0, 0x0800);
	fb_ipv4_ex(f, proto, src4, dst4, id,
		   (uint16_t)((more ? 0x2000 : 0) | off / 8));
	fb_put(f, p + off, len);
	fb_finish(f);
}

/* An Ethernet frame with an IPv6 fragment: a destination options header
 * before the fragment header (unfragmentable part), then p[off, off +
 * len) with next header nh in the fragment header. */
static void frag6(struct fb *f, uint32_t id, uint8_t nh, const uint8_t *p,
		  size_t off, size_t len, bool more)
{
	fb_reset(f);
	fb_eth(f, NULL, 0, 0x86dd);
	fb_ipv6(f, 60);
	fb_ip6_ext(f, 44, 0);
	fb_ip6_frag(f, nh, (uint16_t)(off / 8), more);
	/* fb_ip6_frag writes 0xdeadbeef as the identification */
	fb_set16(f, f->len - 4, (uint16_t)(id >> 16));
	fb_set16(f, f->len - 2, (uint16_t)id);
	fb_put(f, p + off, len);
	fb_finish(f);
}

/* Decodes f at time ts from a heap copy of exactly its bytes. A payload
 * in the frame is rebased onto f->b; a reassembled one stays in the
 * decoder's buffer. */
static enum cap_verdict dec(struct cap_decoder *d, const struct fb *f,
			    isc_time ts, struct isc_pkt *pkt)
{
	uint8_t *copy = malloc(f->len);
	struct cap_frame fr = {
		.ts = ts, .index = 1, .linktype = DLT_EN10MB, .data = copy,
		.caplen = (uint32_t)f->len, .wirelen = (uint32_t)f->len,
	};
	enum cap_verdict v;

	cr_assert_not_null(copy);
	memcpy(copy, f->b, f->len);
	v = cap_decoder_decode(d, &fr, pkt);
	if (v == CAP_TCP)
		pkt->payload = f->b + (pkt->payload - copy);
	if (v == CAP_FRAGMENT_REASSEMBLED)
		cr_assert(pkt->payload < copy || pkt->payload >= copy + f->len);
	free(copy);
	return v;
}

static void expect_v(struct cap_decoder *d, const struct fb *f, isc_time ts,
		     enum cap_verdict want, struct isc_pkt *pkt)
{
	struct isc_pkt tmp;
	enum cap_verdict v = dec(d, f, ts, pkt ? pkt : &tmp);

	cr_assert_eq(v, want, "verdict %s, want %s", cap_verdict_names[v],
		     cap_verdict_names[want]);
}

/* Checks the reassembled segment: test numbers, ipver's addresses, the
 * whole 100-byte payload. */
static void check_seg(const struct isc_pkt *p, int ipver)
{
	cr_assert_eq(p->src.family, ipver);
	cr_assert_arr_eq(p->src.a, ipver == 4 ? src4 : src6, ipver == 4 ? 4 : 16);
	cr_assert_arr_eq(p->dst.a, ipver == 4 ? dst4 : dst6, ipver == 4 ? 4 : 16);
	cr_assert_eq(p->sport, T_SPORT);
	cr_assert_eq(p->dport, T_DPORT);
	cr_assert_eq(p->seq, T_SEQ);
	cr_assert_eq(p->ack, T_ACK);
	cr_assert_eq(p->flags, T_FLAGS);
	cr_assert_eq(p->payload_len, 100);
	cr_assert_eq(p->payload_missing, 0);
	cr_assert_arr_eq(p->payload, seg + 20, 100);
}

/* One expected counter of the decoder. */
static struct cap_decoder *decoder(const struct isc_limits *l)
{
	struct cap_decoder *d = NULL;

	cr_assert_eq(cap_decoder_new(l, &d), 0);
	return d;
}

Test(decoder_frag, ipv4_in_order_and_reversed)
{
	struct isc_limits l = lim_default();
	struct cap_decoder *d = decoder(&l);
	struct isc_pkt pkt;
	struct fb f;

	/* 120 bytes in 48 + 48 + 24 */
	frag4(&f, 1, 6, seg, 0, 48, true);
	expect_v(d, &f, 1, CAP_FRAGMENT_HELD, NULL);
	frag4(&f, 1, 6, seg, 48, 48, true);
	expect_v(d, &f, 2, CAP_FRAGMENT_HELD, NULL);
	frag4(&f, 1, 6, seg, 96, 24, false);
	expect_v(d, &f, 3, CAP_FRAGMENT_REASSEMBLED, &pkt);
	check_seg(&pkt, 4);
	cr_assert_eq(pkt.ts, 3);

	frag4(&f, 2, 6, seg, 96, 24, false);
	expect_v(d, &f, 4, CAP_FRAGMENT_HELD, NULL);
	frag4(&f, 2, 6, seg, 48, 48, true);
	expect_v(d, &f, 5, CAP_FRAGMENT_HELD, NULL);
	frag4(&f, 2, 6, seg, 0, 48, true);
	expect_v(d, &f, 6, CAP_FRAGMENT_REASSEMBLED, &pkt);
	check_seg(&pkt, 4);
	{
		const struct want w[] = {
			{ "packets", "total", 6 },
			{ "packets", "fragment_held", 4 },
			{ "packets", "fragment_reassembled", 2 },
			{ "link", "ethernet", 6 },
			{ "fragments", "fragments", 6 },
			{ "fragments", "reassembled", 2 },
		};

		check_stats(d, w, sizeof(w) / sizeof(w[0]));
	}
	cap_decoder_free(&d);
	cr_assert_null(d);
}

Test(decoder_frag, ipv4_overlap_and_duplicate)
{
	struct isc_limits l = lim_default();
	struct cap_decoder *d = decoder(&l);
	uint8_t evil[sizeof(seg)];
	struct isc_pkt pkt;
	struct fb f;

	memcpy(evil, seg, sizeof(seg));
	memset(evil + 40, 'X', 40);
	frag4(&f, 7, 6, seg, 0, 64, true);
	expect_v(d, &f, 0, CAP_FRAGMENT_HELD, NULL);
	expect_v(d, &f, 0, CAP_FRAGMENT_HELD, NULL);	/* duplicate */
	/* [32, 120) with other bytes from 40 on: 40..64 lose */
	frag4(&f, 7, 6, evil, 32, 88, false);
	expect_v(d, &f, 0, CAP_FRAGMENT_REASSEMBLED, &pkt);
	cr_assert_arr_eq(pkt.payload, seg + 20, 44);	/* first data won */
	cr_assert_arr_eq(pkt.payload + 44, evil + 64, 56);
	{
		const struct want w[] = {
			{ "packets", "total", 3 },
			{ "packets", "fragment_held", 2 },
			{ "packets", "fragment_reassembled", 1 },
			{ "link", "ethernet", 3 },
			{ "fragments", "fragments", 3 },
			{ "fragments", "reassembled", 1 },
			{ "fragments", "overlaps", 2 },
			{ "fragments", "overlap_conflicts", 1 },
		};

		check_stats(d, w, sizeof(w) / sizeof(w[0]));
	}
	cap_decoder_free(&d);
}

Test(decoder_frag, ipv4_missing_last_expires)
{
	struct isc_limits l = lim_default();
	struct cap_decoder *d;
	struct isc_pkt pkt;
	struct fb f;

	l.frag_timeout = 10 * SEC;
	d = decoder(&l);
	frag4(&f, 3, 6, seg, 0, 48, true);
	expect_v(d, &f, 100 * SEC, CAP_FRAGMENT_HELD, NULL);
	frag4(&f, 3, 6, seg, 48, 48, true);
	expect_v(d, &f, 101 * SEC, CAP_FRAGMENT_HELD, NULL);
	/* any frame moves the clock: an unfragmented segment 10 s later */
	fb_reset(&f);
	fb_eth(&f, NULL, 0, 0x0800);
	fb_ipv4(&f, 6, 0, 0);
	fb_tcp(&f, T_FLAGS, 0);
	fb_put(&f, T_PAYLOAD, T_PLEN);
	fb_finish(&f);
	expect_v(d, &f, 110 * SEC, CAP_TCP, &pkt);
	cr_assert_arr_eq(pkt.payload, T_PAYLOAD, T_PLEN);
	{
		const struct want w[] = {
			{ "packets", "total", 3 },
			{ "packets", "tcp", 1 },
			{ "packets", "fragment_held", 2 },
			{ "link", "ethernet", 3 },
			{ "fragments", "fragments", 2 },
			{ "fragments", "expired", 1 },
		};

		check_stats(d, w, sizeof(w) / sizeof(w[0]));
	}
	cap_decoder_free(&d);
}

Test(decoder_frag, bounded_fragments_refused)
{
	struct isc_limits l = lim_default();
	struct cap_decoder *d;
	struct fb f;

	l.frag_max = 2;
	d = decoder(&l);
	frag4(&f, 1, 6, seg, 0, 40, true);
	expect_v(d, &f, 0, CAP_FRAGMENT_HELD, NULL);
	frag4(&f, 2, 6, seg, 0, 40, true);
	expect_v(d, &f, 0, CAP_FRAGMENT_HELD, NULL);
	frag4(&f, 1, 6, seg, 40, 40, true);
	expect_v(d, &f, 0, CAP_FRAGMENT, NULL);		/* refused */
	frag4(&f, 1, 6, seg, 80, 40, false);
	expect_v(d, &f, 0, CAP_FRAGMENT_HELD, NULL);	/* a new datagram */
	{
		const struct want w[] = {
			{ "packets", "total", 4 },
			{ "packets", "fragment_held", 3 },
			{ "packets", "fragment", 1 },
			{ "link", "ethernet", 4 },
			{ "fragments", "fragments", 4 },
			{ "fragments", "refused", 1 },
			{ "fragments", "dropped", 1 },
			{ "fragments", "pending", 2 },
			{ "fragments", "held", 2 },
			{ "fragments", "bytes_held", 80 + 2 * CAP_FRAG_COST },
		};

		check_stats(d, w, sizeof(w) / sizeof(w[0]));
	}
	cap_decoder_free(&d);
}

Test(decoder_frag, invalid_fragments)
{
	struct isc_limits l = lim_default();
	struct cap_decoder *d = decoder(&l);
	struct fb f;

	/* offset 8190 * 8 = 65520, + 24 bytes > 65535 */
	frag4(&f, 1, 6, seg, 96, 24, false);
	fb_set16(&f, f.ip_off + 6, 8190);
	expect_v(d, &f, 0, CAP_INVALID_IP, NULL);
	/* not a multiple of 8 with MF */
	frag4(&f, 1, 6, seg, 0, 44, true);
	expect_v(d, &f, 0, CAP_INVALID_IP, NULL);
	/* no data */
	frag4(&f, 1, 6, seg, 0, 0, true);
	expect_v(d, &f, 0, CAP_INVALID_IP, NULL);
	/* two last fragments that disagree */
	frag4(&f, 2, 6, seg, 96, 24, false);
	expect_v(d, &f, 0, CAP_FRAGMENT_HELD, NULL);
	frag4(&f, 2, 6, seg, 96, 16, false);
	expect_v(d, &f, 0, CAP_INVALID_IP, NULL);
	{
		const struct want w[] = {
			{ "packets", "total", 5 },
			{ "packets", "invalid_ip", 4 },
			{ "packets", "fragment_held", 1 },
			{ "link", "ethernet", 5 },
			{ "malformed", "frag_offset_overflow", 1 },
			{ "malformed", "frag_len_not_multiple_of_8", 1 },
			{ "malformed", "frag_empty", 1 },
			{ "malformed", "frag_end_inconsistent", 1 },
			{ "fragments", "fragments", 2 },
			{ "fragments", "dropped", 1 },
		};

		check_stats(d, w, sizeof(w) / sizeof(w[0]));
	}
	cap_decoder_free(&d);
}

Test(decoder_frag, other_protocols_not_held)
{
	struct isc_limits l = lim_default();
	struct cap_decoder *d = decoder(&l);
	struct fb f;

	frag4(&f, 1, 17, seg, 0, 48, true);		/* UDP */
	expect_v(d, &f, 0, CAP_FRAGMENT, NULL);
	frag6(&f, 1, 58, seg, 0, 48, true);		/* ICMPv6 */
	expect_v(d, &f, 0, CAP_FRAGMENT, NULL);
	{
		const struct want w[] = {
			{ "packets", "total", 2 },
			{ "packets", "fragment", 2 },
			{ "link", "ethernet", 2 },
		};

		check_stats(d, w, sizeof(w) / sizeof(w[0]));
	}
	cap_decoder_free(&d);
}

Test(decoder_frag, ipv6_in_order_and_reversed)
{
	struct isc_limits l = lim_default();
	struct cap_decoder *d = decoder(&l);
	struct isc_pkt pkt;
	struct fb f;

	frag6(&f, 0x10001, 6, seg, 0, 56, true);
	expect_v(d, &f, 0, CAP_FRAGMENT_HELD, NULL);
	frag6(&f, 0x10001, 6, seg, 56, 64, false);
	expect_v(d, &f, 0, CAP_FRAGMENT_REASSEMBLED, &pkt);
	check_seg(&pkt, 6);

	frag6(&f, 0x10002, 6, seg, 56, 64, false);
	expect_v(d, &f, 0, CAP_FRAGMENT_HELD, NULL);
	frag6(&f, 0x10002, 6, seg, 0, 56, true);
	expect_v(d, &f, 0, CAP_FRAGMENT_REASSEMBLED, &pkt);
	check_seg(&pkt, 6);
	/* offset overflow */
	frag6(&f, 0x10003, 6, seg, 0, 56, true);
	fb_set16(&f, 14 + 40 + 8 + 2, (uint16_t)(8190 << 3 | 1));
	expect_v(d, &f, 0, CAP_INVALID_IP, NULL);
	{
		const struct want w[] = {
			{ "packets", "total", 5 },
			{ "packets", "fragment_held", 2 },
			{ "packets", "fragment_reassembled", 2 },
			{ "packets", "invalid_ip", 1 },
			{ "link", "ethernet", 5 },
			{ "malformed", "frag_offset_overflow", 1 },
			{ "fragments", "fragments", 4 },
			{ "fragments", "reassembled", 2 },
		};

		check_stats(d, w, sizeof(w) / sizeof(w[0]));
	}
	cap_decoder_free(&d);
}

Test(decoder_frag, ipv6_next_header_of_first_fragment)
{
	struct isc_limits l = lim_default();
	struct cap_decoder *d = decoder(&l);
	uint8_t dg[8 + sizeof(seg)];
	struct isc_pkt pkt;
	struct fb f;

	/* the fragmentable part starts with a destination options header;
	 * only the offset-0 fragment's next header counts (RFC 8200 4.5) */
	dg[0] = 6;
	dg[1] = 0;
	dg[2] = 1;			/* PadN, 4 bytes */
	dg[3] = 4;
	memset(dg + 4, 0, 4);
	memcpy(dg + 8, seg, sizeof(seg));
	frag6(&f, 5, 60, dg, 64, 64, false);
	f.b[14 + 40 + 8] = 6;		/* a different next header: ignored */
	expect_v(d, &f, 0, CAP_FRAGMENT_HELD, NULL);
	frag6(&f, 5, 60, dg, 0, 64, true);
	expect_v(d, &f, 0, CAP_FRAGMENT_REASSEMBLED, &pkt);
	check_seg(&pkt, 6);
	cap_decoder_free(&d);
}

Test(decoder_frag, snaplen_cut_fragment)
{
	struct isc_limits l = lim_default();
	struct cap_decoder *d = decoder(&l);
	struct isc_pkt pkt;
	struct cap_frame fr;
	struct fb f;
	uint8_t *copy;

	frag4(&f, 4, 6, seg, 0, 48, true);
	expect_v(d, &f, 0, CAP_FRAGMENT_HELD, NULL);
	/* the middle fragment's last 30 bytes were not captured */
	frag4(&f, 4, 6, seg, 48, 48, true);
	copy = malloc(f.len - 30);
	memcpy(copy, f.b, f.len - 30);
	fr = (struct cap_frame){ .ts = 0, .index = 2, .linktype = DLT_EN10MB,
				 .data = copy, .caplen = (uint32_t)f.len - 30,
				 .wirelen = (uint32_t)f.len };
	cr_assert_eq(cap_decoder_decode(d, &fr, &pkt), CAP_FRAGMENT_HELD);
	free(copy);
	frag4(&f, 4, 6, seg, 96, 24, false);
	expect_v(d, &f, 0, CAP_FRAGMENT_REASSEMBLED, &pkt);
	/* 48 + 18 bytes captured: 20 of header, 46 of payload */
	cr_assert_eq(pkt.payload_len, 46);
	cr_assert_eq(pkt.payload_missing, 54);
	cr_assert_arr_eq(pkt.payload, seg + 20, 46);
	{
		const struct want w[] = {
			{ "packets", "total", 3 },
			{ "packets", "fragment_held", 2 },
			{ "packets", "fragment_reassembled", 1 },
			{ "link", "ethernet", 3 },
			{ "fragments", "fragments", 3 },
			{ "fragments", "reassembled", 1 },
			{ "lengths", "tcp_payload_cut_bytes", 54 },
		};

		check_stats(d, w, sizeof(w) / sizeof(w[0]));
	}
	cap_decoder_free(&d);
}

Test(decoder_frag, fragmented_gre_and_fragments_inside_gre)
{
	struct isc_limits l = lim_default();
	struct cap_decoder *d = decoder(&l);
	uint8_t gre[4 + 20 + sizeof(seg)];
	struct isc_pkt pkt;
	struct fb f = { .len = 0 };

	/* the outer datagram: GRE, inner IPv4 with the segment */
	fb_gre(&f, 0, 0x0800);
	fb_ipv4(&f, 6, 0, 0);
	fb_put(&f, seg, sizeof(seg));
	fb_finish(&f);
	cr_assert_eq(f.len, sizeof(gre));
	memcpy(gre, f.b, f.len);
	frag4(&f, 9, 47, gre, 0, 72, true);
	expect_v(d, &f, 0, CAP_FRAGMENT_HELD, NULL);
	frag4(&f, 9, 47, gre, 72, sizeof(gre) - 72, false);
	expect_v(d, &f, 0, CAP_FRAGMENT_REASSEMBLED, &pkt);
	check_seg(&pkt, 4);

	/* inner fragments, each in its own unfragmented GRE packet */
	for (int i = 0; i < 2; i++) {
		size_t off = i == 0 ? 0 : 64, len = i == 0 ? 64 : 56;

		fb_reset(&f);
		fb_eth(&f, NULL, 0, 0x0800);
		fb_ipv4_ex(&f, 47, dst4, src4, 77, 0);
		fb_gre(&f, 0x2000, 0x0800);
		fb_ipv4_ex(&f, 6, src4, dst4, 21,
			   (uint16_t)((i == 0 ? 0x2000 : 0) | off / 8));
		fb_put(&f, seg + off, len);
		fb_finish(&f);
		expect_v(d, &f, 0, i == 0 ? CAP_FRAGMENT_HELD :
				      CAP_FRAGMENT_REASSEMBLED, &pkt);
	}
	check_seg(&pkt, 4);
	{
		const struct want w[] = {
			{ "packets", "total", 4 },
			{ "packets", "fragment_held", 2 },
			{ "packets", "fragment_reassembled", 2 },
			{ "link", "ethernet", 4 },
			{ "fragments", "fragments", 4 },
			{ "fragments", "reassembled", 2 },
			{ "tunnels", "gre", 3 },
		};

		check_stats(d, w, sizeof(w) / sizeof(w[0]));
	}
	cap_decoder_free(&d);
}

/* Decoding stays stateless through cap_decode(): the same fragments are
 * CAP_FRAGMENT there, and nothing is held. */
Test(decoder_frag, stateless_decode_holds_nothing)
{
	struct isc_pkt pkt;
	struct cap_frame fr;
	struct fb f;

	frag4(&f, 1, 6, seg, 0, 48, true);
	fr = (struct cap_frame){ .linktype = DLT_EN10MB, .data = f.b,
				 .caplen = (uint32_t)f.len,
				 .wirelen = (uint32_t)f.len };
	cr_assert_eq(cap_decode(&fr, &pkt), CAP_FRAGMENT);
	frag4(&f, 1, 6, seg, 48, 72, false);
	fr.caplen = fr.wirelen = (uint32_t)f.len;
	cr_assert_eq(cap_decode(&fr, &pkt), CAP_FRAGMENT);
}
