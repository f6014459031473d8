/* tests/unit/test_reassembly.c: reassembly/ stream and flow table.
 *
 * Stream tests feed segments to one direction and compare what the sink
 * saw, written as a string: delivered bytes as they are, each gap as
 * "[gap N]". Flow tests feed synthetic packets to a table and compare a
 * log of every callback, one line each. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../../reassembly/flow.h"
#include "../../reassembly/reasm_int.h"
#include "../../reassembly/stream.h"

/* ---- a growable log ---- */

struct log {
	char *s;
	size_t len, cap;
};

static void log_add(struct log *l, const void *p, size_t n)
{
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 256;

		while (l->len + n + 1 > cap)
			cap *= 2;
		l->s = realloc(l->s, cap);
		cr_assert_not_null(l->s);
		l->cap = cap;
	}
	memcpy(l->s + l->len, p, n);
	l->len += n;
	l->s[l->len] = '\0';
}

static void log_printf(struct log *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void log_printf(struct log *l, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < sizeof(buf));
	log_add(l, buf, (size_t)n);
}

static const char *log_str(struct log *l)
{
	return l->s ? l->s : "";
}

static void log_reset(struct log *l)
{
	free(l->s);
	memset(l, 0, sizeof(*l));
}

/* ---- stream fixture ---- */

struct rec {
	struct log log;
	const uint8_t *last_p;		/* pointer of the last data call */
	const uint8_t *truth;		/* when set: check bytes, don't log */
	bool quiet;			/* count only */
	bool stamps;			/* log each event's time too */
	uint64_t off;			/* offset reached, bytes and gaps */
	uint64_t bad;			/* bytes that differed from truth */
	uint64_t gap_events;
};

static void rec_data(void *ctx, isc_time ts, const uint8_t *p, size_t len)
{
	struct rec *r = ctx;
	size_t i;

	(void)ts;
	r->last_p = p;
	if (r->stamps)
		log_printf(&r->log, "@%" PRId64 ":", ts);
	if (r->truth) {
		for (i = 0; i < len; i++)
			r->bad += p[i] != r->truth[r->off + i];
	} else if (!r->quiet) {
		log_add(&r->log, p, len);
	}
	r->off += len;
}

static void rec_gap(void *ctx, isc_time ts, uint64_t len)
{
	struct rec *r = ctx;

	(void)ts;
	cr_assert(len > 0, "empty gap reported");
	if (r->stamps)
		log_printf(&r->log, "@%" PRId64 ":", ts);
	if (!r->truth && !r->quiet)
		log_printf(&r->log, "[gap %" PRIu64 "]", len);
	r->off += len;
	r->gap_events++;
}

#define ISN 1000u

static struct reasm_memcap mc;
static struct rec rec;
static struct reasm_stream *S;

static struct reasm_stream *stream_new(uint32_t isn, size_t max_ooo,
				       struct rec *r)
{
	struct reasm_sink sink = { rec_data, rec_gap, r };
	struct reasm_stream *s = NULL;

	cr_assert_eq(reasm_stream_new(isn, max_ooo, &mc, &sink, &s), ISC_OK);
	return s;
}

static void stream_setup(void)
{
	memset(&mc, 0, sizeof(mc));
	memset(&rec, 0, sizeof(rec));
	mc.limit = 1 << 20;
	S = stream_new(ISN, 1 << 16, &rec);
}

static void stream_teardown(void)
{
	reasm_stream_free(&S);
	log_reset(&rec.log);
}

/* Adds text at offset off (from ISN) to S. */
static void add(uint64_t off, const char *text)
{
	reasm_stream_add(S, 1, ISN + (uint32_t)off, (const uint8_t *)text,
			 strlen(text), 0);
}

static void add_missing(uint64_t off, const char *text, uint32_t missing)
{
	reasm_stream_add(S, 1, ISN + (uint32_t)off, (const uint8_t *)text,
			 strlen(text), missing);
}

static const struct reasm_stats *stats(void)
{
	return reasm_stream_stats(S);
}

TestSuite(reasm_stream, .init = stream_setup, .fini = stream_teardown);

Test(reasm_stream, in_order_delivered_uncopied)
{
	static const char seg[] = "IJ";

	add(0, "ABCD");
	add(4, "EFGH");
	reasm_stream_add(S, 1, ISN + 8, (const uint8_t *)seg, 2, 0);
	cr_assert_eq(rec.last_p, (const uint8_t *)seg);
	cr_assert_str_eq(log_str(&rec.log), "ABCDEFGHIJ");
	cr_assert_eq(reasm_stream_offset(S), 10);
	cr_assert_eq(stats()->segments, 3);
	cr_assert_eq(stats()->bytes_delivered, 10);
	cr_assert_eq(stats()->ooo_held, 0);
	cr_assert_eq(stats()->gaps, 0);
	cr_assert_eq(mc.used, 0);
}

Test(reasm_stream, reversed)
{
	add(8, "IJ");
	add(4, "EFGH");
	cr_assert_str_eq(log_str(&rec.log), "");
	cr_assert_eq(mc.used, 2 * REASM_BLOCK_COST + 6);
	add(0, "ABCD");
	cr_assert_str_eq(log_str(&rec.log), "ABCDEFGHIJ");
	cr_assert_eq(stats()->ooo_held, 2);
	cr_assert_eq(stats()->retransmitted, 0);
	cr_assert_eq(mc.used, 0);
}

/* Feeds the segments of text in order perm[] to a fresh stream. */
static void feed_perm(const char *const *segs, const uint64_t *offs,
		      const int *perm, int n)
{
	int i;

	for (i = 0; i < n; i++)
		add(offs[perm[i]], segs[perm[i]]);
}

/* Next permutation in lexicographic order; false after the last one. */
static bool next_perm(int *a, int n)
{
	int i = n - 2, j = n - 1, t;

	while (i >= 0 && a[i] >= a[i + 1])
		i--;
	if (i < 0)
		return false;
	while (a[j] <= a[i])
		j--;
	t = a[i], a[i] = a[j], a[j] = t;
	for (i++, j = n - 1; i < j; i++, j--)
		t = a[i], a[i] = a[j], a[j] = t;
	return true;
}

Test(reasm_stream, every_permutation_of_four)
{
	static const char *const segs[] = {
		"a1 LOG", "IN bob", " secret", "\r\n",
	};
	static const uint64_t offs[] = { 0, 6, 12, 19 };
	int perm[4] = { 0, 1, 2, 3 }, count = 0;

	do {
		stream_teardown();
		stream_setup();
		feed_perm(segs, offs, perm, 4);
		cr_assert_str_eq(log_str(&rec.log), "a1 LOGIN bob secret\r\n",
				 "permutation %d%d%d%d", perm[0], perm[1],
				 perm[2], perm[3]);
		cr_assert_eq(stats()->gaps, 0);
		cr_assert_eq(stats()->retransmitted + stats()->overlaps, 0);
		cr_assert_eq(mc.used, 0);
		count++;
	} while (next_perm(perm, 4));
	cr_assert_eq(count, 24);
}

Test(reasm_stream, duplicates)
{
	add(4, "EFGH");
	add(4, "EFGH");		/* duplicate of a held segment */
	add(0, "ABCD");
	add(0, "ABCD");		/* duplicate of delivered bytes */
	add(4, "EFGH");
	add(8, "IJ");
	cr_assert_str_eq(log_str(&rec.log), "ABCDEFGHIJ");
	cr_assert_eq(stats()->segments, 6);
	cr_assert_eq(stats()->retransmitted, 3);
	cr_assert_eq(stats()->overlaps, 0);
	cr_assert_eq(stats()->inconsistent, 0);
	cr_assert_eq(stats()->ooo_held, 1);
	cr_assert_eq(mc.used, 0);
}

Test(reasm_stream, overlap_same_data)
{
	add(4, "EFGH");
	add(2, "CDEFGHIJ");	/* covers the held block and both sides */
	add(0, "AB");
	cr_assert_str_eq(log_str(&rec.log), "ABCDEFGHIJ");
	cr_assert_eq(stats()->overlaps, 1);
	cr_assert_eq(stats()->inconsistent, 0);
	cr_assert_eq(mc.used, 0);
}

Test(reasm_stream, overlap_different_data_first_wins)
{
	add(4, "EFGH");
	add(2, "cdXXXXij");	/* differs from the held EFGH */
	cr_assert_eq(stats()->inconsistent, 1);
	add(0, "AB");
	cr_assert_str_eq(log_str(&rec.log), "ABcdEFGHij");
	/* Over delivered bytes nothing can be compared: only counted. */
	add(8, "zzKL");
	cr_assert_str_eq(log_str(&rec.log), "ABcdEFGHijKL");
	cr_assert_eq(stats()->overlaps, 2);
	cr_assert_eq(stats()->inconsistent, 1);
}

Test(reasm_stream, overlap_in_order_segment_keeps_held_bytes)
{
	add(4, "EFGH");
	add(0, "abcdXXXXijkl");	/* in order, but held bytes win */
	cr_assert_str_eq(log_str(&rec.log), "abcdEFGHijkl");
	cr_assert_eq(stats()->inconsistent, 1);
	cr_assert_eq(stats()->overlaps, 1);
	cr_assert_eq(mc.used, 0);
}

Test(reasm_stream, wrap_at_2_32)
{
	struct reasm_stream *w = stream_new(0xfffffff0u, 1 << 16, &rec);
	const char *t = "0123456789abcdefWRAPPED!tail";

	/* 16 bytes before the wrap, 8 across it, 4 after; out of order. */
	reasm_stream_add(w, 1, 0x8, (const uint8_t *)t + 24, 4, 0);
	reasm_stream_add(w, 1, 0xfffffff8u, (const uint8_t *)t + 8, 16, 0);
	reasm_stream_add(w, 1, 0xfffffff0u, (const uint8_t *)t, 8, 0);
	cr_assert_str_eq(log_str(&rec.log), t);
	cr_assert_eq(reasm_stream_offset(w), 28);
	/* A retransmission from before the wrap is still behind. */
	reasm_stream_add(w, 1, 0xfffffff0u, (const uint8_t *)t, 8, 0);
	cr_assert_eq(reasm_stream_stats(w)->retransmitted, 1);
	reasm_stream_free(&w);
	cr_assert_null(w);
}

Test(reasm_stream, offsets_pass_4_gib)
{
	static uint8_t chunk[65536];
	uint64_t i, n = ((uint64_t)5 << 32) / sizeof(chunk);

	rec.quiet = true;
	for (i = 0; i < n; i++)
		reasm_stream_add(S, 1, ISN + (uint32_t)(i * sizeof(chunk)),
				 chunk, sizeof(chunk), 0);
	cr_assert_eq(reasm_stream_offset(S), (uint64_t)5 << 32);
	cr_assert_eq(rec.off, (uint64_t)5 << 32);
	cr_assert_eq(stats()->bytes_delivered, (uint64_t)5 << 32);
	cr_assert_eq(stats()->gaps, 0);
}

Test(reasm_stream, loss_then_flush)
{
	add(0, "ABC");
	add(6, "GHI");
	add(12, "MNO");
	cr_assert_str_eq(log_str(&rec.log), "ABC");
	reasm_stream_flush(S, 2);
	cr_assert_str_eq(log_str(&rec.log), "ABC[gap 3]GHI[gap 3]MNO");
	cr_assert_eq(stats()->gaps, 2);
	cr_assert_eq(stats()->gap_bytes, 6);
	cr_assert_eq(reasm_stream_offset(S), 15);
	cr_assert_eq(mc.used, 0);
	/* The lost bytes arriving late are old news. */
	add(3, "DEF");
	cr_assert_eq(stats()->retransmitted, 1);
	cr_assert_str_eq(log_str(&rec.log), "ABC[gap 3]GHI[gap 3]MNO");
}

Test(reasm_stream, loss_then_ack_beyond)
{
	add(0, "ABC");
	add(6, "GHI");
	add(13, "NOP");
	reasm_stream_ack(S, 2, ISN + 9);
	cr_assert_str_eq(log_str(&rec.log), "ABC[gap 3]GHI");
	/* Up to 11: the hole [9, 13) is given up only as far as the ack. */
	reasm_stream_ack(S, 2, ISN + 11);
	cr_assert_str_eq(log_str(&rec.log), "ABC[gap 3]GHI[gap 2]");
	add(9, "JKLM");
	cr_assert_str_eq(log_str(&rec.log), "ABC[gap 3]GHI[gap 2]LMNOP");
	cr_assert_eq(stats()->overlaps, 1);
	cr_assert_eq(stats()->gaps, 2);
	cr_assert_eq(stats()->gap_bytes, 5);
	cr_assert_eq(mc.used, 0);
}

Test(reasm_stream, ack_behind_equal_or_absurd_ignored)
{
	add(0, "ABC");
	add(6, "GHI");
	reasm_stream_ack(S, 2, ISN + 1);
	reasm_stream_ack(S, 2, ISN + 3);
	reasm_stream_ack(S, 2, ISN + 3 + (1u << 30) + 1);
	reasm_stream_ack(S, 2, ISN + 3 + 0x90000000u);	/* "behind" */
	cr_assert_str_eq(log_str(&rec.log), "ABC");
	cr_assert_eq(stats()->gaps, 0);
	reasm_stream_ack(S, 2, ISN + 3 + (1u << 30));
	cr_assert_str_eq(log_str(&rec.log), "ABC[gap 3]GHI[gap 1073741818]");
}

Test(reasm_stream, max_ooo_gives_up_oldest_hole)
{
	size_t one = REASM_BLOCK_COST + 10;
	struct reasm_stream *b = stream_new(0, 3 * one, &rec);
	const char *t = "0123456789abcdefghijABCDEFGHIJklmnopqrstKLMNOPQRST";
	int i;

	for (i = 1; i <= 3; i++)
		reasm_stream_add(b, 1, (uint32_t)(10 * i),
				 (const uint8_t *)t + 10 * i, 10, 0);
	cr_assert_eq(mc.used, 3 * one);
	cr_assert_str_eq(log_str(&rec.log), "");
	/* A fourth block does not fit: the hole [0, 10) is given up. */
	reasm_stream_add(b, 1, 40, (const uint8_t *)t + 40, 10, 0);
	cr_assert_str_eq(log_str(&rec.log),
			 "[gap 10]abcdefghijABCDEFGHIJklmnopqrstKLMNOPQRST");
	cr_assert_eq(mc.used, 0);
	cr_assert_eq(mc.refusals, 0);
	/* Delivery goes on in order. */
	reasm_stream_add(b, 1, 50, (const uint8_t *)"tail", 4, 0);
	cr_assert_eq(reasm_stream_offset(b), 54);
	reasm_stream_free(&b);
}

Test(reasm_stream, max_ooo_hole_before_the_piece_itself)
{
	size_t one = REASM_BLOCK_COST + 4;
	struct reasm_stream *b = stream_new(0, 2 * one, &rec);

	reasm_stream_add(b, 1, 20, (const uint8_t *)"UVWX", 4, 0);
	reasm_stream_add(b, 1, 30, (const uint8_t *)"efgh", 4, 0);
	/* Full; the new piece lies in the oldest hole, before both blocks:
	 * the hole up to it is given up and it is delivered uncopied. */
	reasm_stream_add(b, 1, 4, (const uint8_t *)"EFGH", 4, 0);
	cr_assert_str_eq(log_str(&rec.log), "[gap 4]EFGH");
	reasm_stream_add(b, 1, 8, (const uint8_t *)"IJKLMNOPQRST", 12, 0);
	cr_assert_str_eq(log_str(&rec.log), "[gap 4]EFGHIJKLMNOPQRSTUVWX");
	reasm_stream_flush(b, 2);
	cr_assert_str_eq(log_str(&rec.log),
			 "[gap 4]EFGHIJKLMNOPQRSTUVWX[gap 6]efgh");
	reasm_stream_free(&b);
}

Test(reasm_stream, segment_alone_over_bound_is_refused)
{
	struct reasm_stream *b = stream_new(0, REASM_BLOCK_COST + 4, &rec);

	reasm_stream_add(b, 1, 10, (const uint8_t *)"too long", 8, 0);
	cr_assert_eq(mc.refusals, 1);
	cr_assert_eq(mc.used, 0);
	reasm_stream_add(b, 1, 0, (const uint8_t *)"0123456789", 10, 0);
	cr_assert_str_eq(log_str(&rec.log), "0123456789");
	/* The refused bytes become part of a later gap. */
	reasm_stream_ack(b, 2, 20);
	cr_assert_str_eq(log_str(&rec.log), "0123456789[gap 10]");
	reasm_stream_free(&b);
}

Test(reasm_stream, memcap_shared_by_two_streams)
{
	static uint8_t big[200];
	struct rec r2;
	struct reasm_stream *b;
	size_t one = REASM_BLOCK_COST + 10;

	memset(&r2, 0, sizeof(r2));
	mc.limit = 2 * one + 5;
	b = stream_new(0, 1 << 16, &r2);
	add(10, "0123456789");
	add(30, "abcdefghij");
	cr_assert_eq(mc.used, 2 * one);
	/* b holds nothing, so it cannot make room: its own oldest hole,
	 * the one before the segment, goes. */
	reasm_stream_add(b, 1, 10, (const uint8_t *)"KLMNOPQRST", 10, 0);
	cr_assert_str_eq(log_str(&r2.log), "[gap 10]KLMNOPQRST");
	cr_assert_eq(mc.used, 2 * one);
	/* Small enough for the memcap, but S holds it all: same again. */
	reasm_stream_add(b, 1, 100, (const uint8_t *)"x", 1, 0);
	cr_assert_str_eq(log_str(&r2.log), "[gap 10]KLMNOPQRST[gap 80]x");
	cr_assert_eq(mc.refusals, 0);
	/* A segment bigger than the whole memcap is refused. */
	reasm_stream_add(b, 1, 1000, big, sizeof(big), 0);
	cr_assert_eq(mc.refusals, 1);
	cr_assert_str_eq(log_str(&r2.log), "[gap 10]KLMNOPQRST[gap 80]x");
	/* S still has its blocks; freeing returns them to the memcap. */
	cr_assert_str_eq(log_str(&rec.log), "");
	reasm_stream_free(&S);
	cr_assert_eq(mc.used, 0);
	reasm_stream_free(&b);
	log_reset(&r2.log);
}

Test(reasm_stream, missing_tail_in_order)
{
	add_missing(0, "ABCDE", 5);
	cr_assert_str_eq(log_str(&rec.log), "ABCDE[gap 5]");
	add(10, "KLM");
	reasm_stream_add(S, 1, ISN + 13, NULL, 0, 4);	/* all cut */
	add(17, "R");
	cr_assert_str_eq(log_str(&rec.log), "ABCDE[gap 5]KLM[gap 4]R");
	cr_assert_eq(stats()->gap_bytes, 9);
	cr_assert_eq(stats()->segments, 4);
}

Test(reasm_stream, missing_tail_out_of_order)
{
	add_missing(5, "FG", 3);	/* held, remembers [7, 10) missing */
	add(10, "KL");
	cr_assert_eq(mc.used, 2 * REASM_BLOCK_COST + 4);
	/* A full copy of [5, 10) changes nothing: first data wins. */
	add(5, "FGHIJ");
	cr_assert_eq(stats()->retransmitted, 1);
	add(0, "ABCDE");
	cr_assert_str_eq(log_str(&rec.log), "ABCDEFG[gap 3]KL");
	cr_assert_eq(mc.used, 0);
}

Test(reasm_stream, missing_then_hole_is_one_gap)
{
	add(0, "AB");
	add_missing(10, "KL", 2);
	add(20, "UV");
	reasm_stream_flush(S, 2);
	cr_assert_str_eq(log_str(&rec.log), "AB[gap 8]KL[gap 8]UV");
	cr_assert_eq(stats()->gaps, 2);
}

Test(reasm_stream, keepalive_and_empty_segments)
{
	add(0, "ABC");
	add(2, "x");		/* keep-alive: 1 byte at next-1 */
	reasm_stream_add(S, 1, ISN + 3, NULL, 0, 0);
	reasm_stream_add(S, 1, ISN + 9, (const uint8_t *)"zz", 0, 0);
	cr_assert_str_eq(log_str(&rec.log), "ABC");
	cr_assert_eq(stats()->segments, 2);
	cr_assert_eq(stats()->retransmitted, 1);
	cr_assert_eq(stats()->inconsistent, 0);
	cr_assert_eq(reasm_stream_offset(S), 3);
	cr_assert_eq(mc.used, 0);
}

Test(reasm_stream, garbage_far_ahead_ignored)
{
	add(0, "AB");
	add((uint64_t)(1u << 30) + 10, "far");
	add_missing(2, "C", 0xffffffffu);	/* longer than any window */
	cr_assert_eq(mc.used, 0);
	reasm_stream_flush(S, 2);
	cr_assert_str_eq(log_str(&rec.log), "AB");
}

/* An in-order segment with nothing missing but longer than any window is
 * garbage too, and its bytes are never read: they lie in memory that may
 * not be read. */
Test(reasm_stream, in_order_segment_over_window_ignored)
{
	size_t len = (size_t)REASM_WINDOW_MAX + 1;
	void *m = mmap(NULL, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(m, MAP_FAILED);
	add(0, "AB");
	reasm_stream_add(S, 1, ISN + 2, m, len, 0);
	add(2, "C");
	cr_assert_str_eq(log_str(&rec.log), "ABC");
	cr_assert_eq(reasm_stream_offset(S), 3);
	cr_assert_eq(stats()->bytes_delivered, 3);
	munmap(m, len);
}

/* xorshift64*: a fixed-seed generator, so every run sees the same cases. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

struct piece {
	uint32_t off, len;
};

/* Cuts [0, n) into a partition plus extra random overlapping copies, then
 * shuffles them. Returns how many pieces were written to out. */
static size_t make_pieces(struct piece *out, uint32_t n, size_t extra)
{
	size_t k = 0, i;
	uint32_t off = 0;

	while (off < n) {
		uint32_t len = 1 + (uint32_t)(rng() % 40);

		if (len > n - off)
			len = n - off;
		out[k++] = (struct piece){ off, len };
		off += len;
	}
	for (i = 0; i < extra; i++) {
		uint32_t o = (uint32_t)(rng() % n);
		uint32_t len = 1 + (uint32_t)(rng() % 60);

		out[k++] = (struct piece){ o, len > n - o ? n - o : len };
	}
	for (i = k - 1; i > 0; i--) {
		size_t j = (size_t)(rng() % (i + 1));
		struct piece t = out[i];

		out[i] = out[j];
		out[j] = t;
	}
	return k;
}

Test(reasm_stream, random_orders_rebuild_the_text)
{
	static uint8_t text[3000];
	static struct piece pieces[3000 + 200];
	int round;
	size_t i, k;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)rng();
	for (round = 0; round < 300; round++) {
		uint32_t isn = (uint32_t)rng();
		struct reasm_stream *r;

		memset(&rec, 0, sizeof(rec));
		rec.truth = text;
		r = stream_new(isn, 1 << 20, &rec);
		k = make_pieces(pieces, sizeof(text), round % 200);
		for (i = 0; i < k; i++)
			reasm_stream_add(r, 1, isn + pieces[i].off,
					 text + pieces[i].off, pieces[i].len,
					 0);
		cr_assert_eq(rec.off, sizeof(text), "round %d", round);
		cr_assert_eq(rec.bad, 0, "round %d", round);
		cr_assert_eq(rec.gap_events, 0, "round %d", round);
		cr_assert_eq(reasm_stream_stats(r)->inconsistent, 0);
		cr_assert_eq(mc.used, 0, "round %d", round);
		reasm_stream_free(&r);
	}
}

Test(reasm_stream, random_with_tiny_bounds_stays_consistent)
{
	static uint8_t text[3000];
	static struct piece pieces[3000 + 200];
	int round;
	size_t i, k;

	rng_state = 0x1234567ULL;
	for (i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)rng();
	for (round = 0; round < 300; round++) {
		uint32_t isn = (uint32_t)rng();
		struct reasm_stream *r;
		const struct reasm_stats *st;

		memset(&rec, 0, sizeof(rec));
		rec.truth = text;
		mc.limit = (size_t)(rng() % 400);
		r = stream_new(isn, (size_t)(rng() % 300), &rec);
		k = make_pieces(pieces, sizeof(text), round % 200);
		for (i = 0; i < k; i++) {
			reasm_stream_add(r, 1, isn + pieces[i].off,
					 text + pieces[i].off, pieces[i].len,
					 (uint32_t)(rng() % 7 == 0));
			cr_assert(mc.used <= mc.limit);
			if (rng() % 50 == 0)
				reasm_stream_ack(r, 1, isn + (uint32_t)(rng() %
							sizeof(text)));
		}
		reasm_stream_flush(r, 2);
		st = reasm_stream_stats(r);
		/* Every byte delivered is the right byte at the right
		 * offset, and bytes plus gaps account for the offset. */
		cr_assert_eq(rec.bad, 0, "round %d", round);
		cr_assert_eq(rec.off, reasm_stream_offset(r));
		cr_assert_eq(st->bytes_delivered + st->gap_bytes, rec.off);
		cr_assert_eq(st->gaps, rec.gap_events);
		cr_assert_eq(mc.used, 0, "round %d", round);
		reasm_stream_free(&r);
	}
}

/* ---- flow table fixture ---- */

#define FR_KEEP 16	/* flows whose counters are kept, by number */

struct flowrec {
	struct log log;
	bool quiet;			/* count only */
	uint64_t opens, closes, data_bytes;
	uint64_t close_why[FLOW_END_COUNT];
	/* per-flow counters: the pointers open() got, and what they said
	 * when close() was called */
	const struct reasm_stats *live[FR_KEEP][2];
	struct reasm_stats final[FR_KEEP][2];
	enum flow_role_basis basis[FR_KEEP];
	uint64_t hints;			/* role_hint() calls */
	struct log bytes[2];		/* every byte delivered, by direction */
	uint64_t gap_events;
	isc_time data_ts[2];		/* stamp of the last data, by direction */
};

static struct flowrec fr;
static struct flow_table *T;
static struct isc_limits lim;
static const uint16_t imap_ports[] = { 143, 993 };

static const char *dirname(enum isc_dir d)
{
	return d == ISC_DIR_CLIENT ? "C" : "S";
}

static void *fo_open(void *ctx, const struct flow_info *fi)
{
	struct flowrec *r = ctx;
	char c[ISC_ADDR_STRLEN], s[ISC_ADDR_STRLEN];

	r->opens++;
	if (fi->number < FR_KEEP) {
		r->live[fi->number][0] = fi->stats[0];
		r->live[fi->number][1] = fi->stats[1];
		r->basis[fi->number] = fi->role_basis;
	}
	cr_assert(fi->midstream == (fi->role_basis != FLOW_ROLE_SYN));
	if (!r->quiet)
		log_printf(&r->log, "%" PRIu64 " open %s:%u>%s:%u%s%s @%" PRId64
			   "\n", fi->number, isc_addr_format(&fi->client, c),
			   fi->client_port, isc_addr_format(&fi->server, s),
			   fi->server_port, fi->midstream ? " mid" : "",
			   fi->role_basis == FLOW_ROLE_CONTENT ? " content" : "",
			   fi->start);
	return (void *)(uintptr_t)fi->number;
}

static void fo_data(void *ctx, void *flow, enum isc_dir dir, isc_time ts,
		    const uint8_t *p, size_t len)
{
	struct flowrec *r = ctx;

	r->data_ts[dir] = ts;
	r->data_bytes += len;
	if (r->quiet)
		return;
	log_add(&r->bytes[dir], p, len);
	log_printf(&r->log, "%" PRIuPTR " %s ", (uintptr_t)flow, dirname(dir));
	log_add(&r->log, p, len);
	log_add(&r->log, "\n", 1);
}

static void fo_gap(void *ctx, void *flow, enum isc_dir dir, isc_time ts,
		   uint64_t len)
{
	struct flowrec *r = ctx;

	(void)ts;
	r->gap_events++;
	if (!r->quiet)
		log_printf(&r->log, "%" PRIuPTR " %s gap %" PRIu64 "\n",
			   (uintptr_t)flow, dirname(dir), len);
}

static void fo_fin(void *ctx, void *flow, enum isc_dir dir, isc_time ts)
{
	struct flowrec *r = ctx;

	(void)ts;
	if (!r->quiet)
		log_printf(&r->log, "%" PRIuPTR " %s fin\n", (uintptr_t)flow,
			   dirname(dir));
}

static void fo_close(void *ctx, void *flow, isc_time ts, enum flow_end why)
{
	struct flowrec *r = ctx;
	uintptr_t n = (uintptr_t)flow;

	r->closes++;
	r->close_why[why]++;
	if (n < FR_KEEP) {
		r->final[n][0] = *r->live[n][0];
		r->final[n][1] = *r->live[n][1];
	}
	if (!r->quiet)
		log_printf(&r->log, "%" PRIuPTR " close %s @%" PRId64 "\n",
			   (uintptr_t)flow, flow_end_names[why], ts);
}

/* Says "server" for a greeting, "client" for a line with an "aN " tag,
 * and does not know otherwise: what the report does with the dissector. */
static int fo_hint(void *ctx, const uint8_t *p, size_t len)
{
	static const char *const server[] = { "* OK", "* PREAUTH", "* BYE" };
	struct flowrec *r = ctx;
	size_t i;

	r->hints++;
	cr_assert(len > 0 && p);
	for (i = 0; i < 3; i++)
		if (len >= strlen(server[i]) &&
		    !memcmp(p, server[i], strlen(server[i])))
			return FLOW_HINT_SERVER;
	if (len >= 3 && p[0] == 'a' && p[1] >= '0' && p[1] <= '9' &&
	    p[2] == ' ')
		return FLOW_HINT_CLIENT;
	return FLOW_HINT_UNKNOWN;
}

static const struct flow_ops ops = {
	.open = fo_open, .data = fo_data, .gap = fo_gap, .fin = fo_fin,
	.close = fo_close, .ctx = &fr,
};

static const struct flow_ops ops_hint = {
	.open = fo_open, .data = fo_data, .gap = fo_gap, .fin = fo_fin,
	.close = fo_close, .role_hint = fo_hint, .ctx = &fr,
};

static void table_make_with(const struct flow_ops *o)
{
	if (T)
		flow_table_free(&T);
	cr_assert_eq(flow_table_new(&lim, imap_ports, 2, o, &T), ISC_OK);
}

static void table_make(void)
{
	table_make_with(&ops);
}

static void flow_setup(void)
{
	memset(&fr, 0, sizeof(fr));
	isc_limits_default(&lim);
	lim.idle_timeout = 100;
	T = NULL;
	table_make();
}

static void flow_teardown(void)
{
	flow_table_free(&T);
	cr_assert_null(T);
	log_reset(&fr.log);
	log_reset(&fr.bytes[0]);
	log_reset(&fr.bytes[1]);
}

TestSuite(reasm_flow, .init = flow_setup, .fini = flow_teardown);

static struct isc_addr ip(const char *s)
{
	struct isc_addr a;

	memset(&a, 0, sizeof(a));
	a.family = 4;
	cr_assert_eq(inet_pton(AF_INET, s, a.a), 1);
	return a;
}

#define F_SYN ISC_TH_SYN
#define F_ACK ISC_TH_ACK
#define F_FIN ISC_TH_FIN
#define F_RST ISC_TH_RST

/* Offers one packet: src:sp > dst:dp with the given flags, seq, ack,
 * window and text payload (may be NULL). */
static void pkt_win(isc_time ts, const char *src, uint16_t sp,
		    const char *dst, uint16_t dp, uint8_t flags, uint32_t seq,
		    uint32_t ack, uint16_t win, const char *data)
{
	struct isc_pkt p;

	memset(&p, 0, sizeof(p));
	p.ts = ts;
	p.src = ip(src);
	p.dst = ip(dst);
	p.sport = sp;
	p.dport = dp;
	p.flags = flags;
	p.seq = seq;
	p.ack = ack;
	p.win = win;
	p.payload = (const uint8_t *)data;
	p.payload_len = data ? (uint32_t)strlen(data) : 0;
	flow_table_packet(T, &p);
}

/* The same with an open window. */
static void pkt(isc_time ts, const char *src, uint16_t sp, const char *dst,
		uint16_t dp, uint8_t flags, uint32_t seq, uint32_t ack,
		const char *data)
{
	pkt_win(ts, src, sp, dst, dp, flags, seq, ack, 512, data);
}

#define CL "10.0.0.1"
#define SV "10.0.0.2"

/* A client at CL:port opening a connection to SV:143 (ISNs 100 and 500). */
static void handshake(isc_time ts, uint16_t port)
{
	pkt(ts, CL, port, SV, 143, F_SYN, 100, 0, NULL);
	pkt(ts, SV, 143, CL, port, F_SYN | F_ACK, 500, 101, NULL);
	pkt(ts, CL, port, SV, 143, F_ACK, 101, 501, NULL);
}

Test(reasm_flow, handshake_data_fin_fin)
{
	const struct flow_stats *st;

	handshake(10, 40000);
	pkt(11, SV, 143, CL, 40000, F_ACK, 501, 101, "* OK ready");
	pkt(12, CL, 40000, SV, 143, F_ACK, 101, 511, "a1 NOOP");
	pkt(13, SV, 143, CL, 40000, F_ACK, 511, 108, "a1 OK done");
	pkt(14, SV, 143, CL, 40000, F_ACK | F_FIN, 521, 108, "* BYE");
	pkt(15, CL, 40000, SV, 143, F_ACK | F_FIN, 108, 527, NULL);
	pkt(16, SV, 143, CL, 40000, F_ACK, 527, 109, NULL);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40000>10.0.0.2:143 @10\n"
			 "1 S * OK ready\n"
			 "1 C a1 NOOP\n"
			 "1 S a1 OK done\n"
			 "1 S * BYE\n"
			 "1 S fin\n"
			 "1 C fin\n"
			 "1 close fin @15\n");
	st = flow_table_stats(T);
	cr_assert_eq(st->packets, 9);
	cr_assert_eq(st->flows, 1);
	cr_assert_eq(st->flows_midstream, 0);
	cr_assert_eq(st->segments, 4);
	cr_assert_eq(st->gaps, 0);
	cr_assert_eq(st->open_now, 0);
	cr_assert_eq(st->open_peak, 1);
}

Test(reasm_flow, midstream_roles_by_port)
{
	pkt(5, CL, 40000, SV, 143, F_ACK, 7000, 9000, "a2 LIST");
	pkt(6, SV, 143, CL, 40000, F_ACK, 9000, 7007, "* LIST x");
	/* A flow first seen from the server side. */
	pkt(7, "10.0.0.9", 993, "10.0.0.8", 50000, F_ACK, 1, 1, "* 3 EXISTS");
	/* Both ports listed: the first packet's destination is the server. */
	pkt(8, "10.0.0.5", 143, "10.0.0.6", 993, F_ACK, 1, 1, "x");
	flow_table_finish(T, 50, FLOW_END_EOF);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40000>10.0.0.2:143 mid @5\n"
			 "1 C a2 LIST\n"
			 "1 S * LIST x\n"
			 "2 open 10.0.0.8:50000>10.0.0.9:993 mid @7\n"
			 "2 S * 3 EXISTS\n"
			 "3 open 10.0.0.5:143>10.0.0.6:993 mid @8\n"
			 "3 C x\n"
			 "1 close eof @50\n"
			 "2 close eof @50\n"
			 "3 close eof @50\n");
	cr_assert_eq(flow_table_stats(T)->flows_midstream, 3);
}

Test(reasm_flow, roles_by_syn_beat_ports)
{
	/* The SYN comes from port 143: its sender is still the client. */
	pkt(1, "10.0.0.3", 143, "10.0.0.4", 5555, F_SYN, 10, 0, NULL);
	pkt(2, "10.0.0.4", 5555, "10.0.0.3", 143, F_SYN | F_ACK, 20, 11, NULL);
	pkt(3, "10.0.0.3", 143, "10.0.0.4", 5555, F_ACK, 11, 21, "hello");
	/* A SYN+ACK seen first: its sender is the server. */
	pkt(4, "10.0.0.7", 143, "10.0.0.8", 6000, F_SYN | F_ACK, 70, 81, NULL);
	pkt(5, "10.0.0.8", 6000, "10.0.0.7", 143, F_ACK, 81, 71, "hi");
	flow_table_finish(T, 9, FLOW_END_SHUTDOWN);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.3:143>10.0.0.4:5555 @1\n"
			 "1 C hello\n"
			 "2 open 10.0.0.8:6000>10.0.0.7:143 @4\n"
			 "2 C hi\n"
			 "1 close shutdown @9\n"
			 "2 close shutdown @9\n");
}

Test(reasm_flow, rst_flushes_and_closes)
{
	handshake(1, 40001);
	pkt(2, SV, 143, CL, 40001, F_ACK, 501, 101, "* OK");
	pkt(3, SV, 143, CL, 40001, F_ACK, 510, 101, "later");	/* hole 505 */
	pkt(4, CL, 40001, SV, 143, F_RST, 101, 0, NULL);
	pkt(5, SV, 143, CL, 40001, F_ACK, 515, 101, NULL);	/* no flow */
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40001>10.0.0.2:143 @1\n"
			 "1 S * OK\n"
			 "1 S gap 5\n"
			 "1 S later\n"
			 "1 close rst @4\n");
	cr_assert_eq(flow_table_stats(T)->open_now, 0);
	cr_assert_eq(flow_table_stats(T)->gaps, 1);
	cr_assert_eq(flow_table_stats(T)->gap_bytes, 5);
	cr_assert_eq(flow_table_stats(T)->ooo_held, 1);
}

Test(reasm_flow, port_reuse_after_close)
{
	handshake(1, 40002);
	pkt(2, CL, 40002, SV, 143, F_ACK | F_FIN, 101, 501, "bye");
	pkt(3, SV, 143, CL, 40002, F_ACK | F_FIN, 501, 105, NULL);
	pkt(4, CL, 40002, SV, 143, F_ACK, 105, 502, NULL);
	/* Same 4-tuple, new ISN. */
	pkt(5, CL, 40002, SV, 143, F_SYN, 9000, 0, NULL);
	pkt(6, SV, 143, CL, 40002, F_SYN | F_ACK, 7000, 9001, NULL);
	pkt(7, CL, 40002, SV, 143, F_ACK, 9001, 7001, "again");
	flow_table_finish(T, 8, FLOW_END_EOF);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40002>10.0.0.2:143 @1\n"
			 "1 C bye\n"
			 "1 C fin\n"
			 "1 S fin\n"
			 "1 close fin @3\n"
			 "2 open 10.0.0.1:40002>10.0.0.2:143 @5\n"
			 "2 C again\n"
			 "2 close eof @8\n");
}

Test(reasm_flow, port_reuse_after_one_fin)
{
	handshake(1, 40003);
	pkt(2, CL, 40003, SV, 143, F_ACK, 101, 501, "x1 LOGOUT");
	pkt(3, SV, 143, CL, 40003, F_ACK | F_FIN, 501, 110, "* BYE");
	/* The client's FIN was not captured; it reconnects. */
	pkt(4, CL, 40003, SV, 143, F_SYN, 100, 0, NULL);	/* same ISN */
	pkt(5, CL, 40003, SV, 143, F_SYN, 3000, 0, NULL);
	pkt(6, CL, 40003, SV, 143, F_SYN, 3000, 0, NULL);	/* repeated */
	flow_table_finish(T, 9, FLOW_END_EOF);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40003>10.0.0.2:143 @1\n"
			 "1 C x1 LOGOUT\n"
			 "1 S * BYE\n"
			 "1 S fin\n"
			 "1 close fin @4\n"
			 "2 open 10.0.0.1:40003>10.0.0.2:143 @5\n"
			 "2 close eof @9\n");
}

Test(reasm_flow, repeated_syn_is_no_new_flow)
{
	pkt(1, CL, 40004, SV, 143, F_SYN, 100, 0, NULL);
	pkt(2, CL, 40004, SV, 143, F_SYN, 100, 0, NULL);
	pkt(3, SV, 143, CL, 40004, F_SYN | F_ACK, 500, 101, NULL);
	pkt(4, CL, 40004, SV, 143, F_ACK, 101, 501, "a");
	pkt(5, CL, 40004, SV, 143, F_SYN, 100, 0, NULL);
	cr_assert_eq(flow_table_stats(T)->flows, 1);
	cr_assert_eq(fr.closes, 0);
}

Test(reasm_flow, ack_beyond_a_hole_is_a_gap_now)
{
	handshake(1, 40005);
	pkt(2, SV, 143, CL, 40005, F_ACK, 501, 101, "* OK");
	/* 505-509 lost */
	pkt(3, SV, 143, CL, 40005, F_ACK, 510, 101, "tail");
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40005>10.0.0.2:143 @1\n"
			 "1 S * OK\n");
	pkt(4, CL, 40005, SV, 143, F_ACK, 101, 514, NULL);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40005>10.0.0.2:143 @1\n"
			 "1 S * OK\n"
			 "1 S gap 5\n"
			 "1 S tail\n");
}

Test(reasm_flow, fin_waits_for_the_hole)
{
	handshake(1, 40006);
	/* 101-104 lost */
	pkt(2, CL, 40006, SV, 143, F_ACK, 105, 501, "EFG");
	pkt(3, CL, 40006, SV, 143, F_ACK | F_FIN, 108, 501, NULL);
	pkt(4, SV, 143, CL, 40006, F_ACK | F_FIN, 501, 101, NULL);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40006>10.0.0.2:143 @1\n"
			 "1 S fin\n");
	/* The server acks the FIN: the hole is given up, no phantom byte. */
	pkt(5, SV, 143, CL, 40006, F_ACK, 502, 109, NULL);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40006>10.0.0.2:143 @1\n"
			 "1 S fin\n"
			 "1 C gap 4\n"
			 "1 C EFG\n"
			 "1 C fin\n"
			 "1 close fin @5\n");
}

Test(reasm_flow, idle_timeout)
{
	pkt(0, CL, 41000, SV, 143, F_ACK, 1, 1, "a");
	pkt(50, CL, 41001, SV, 143, F_ACK, 1, 1, "b");
	pkt(101, CL, 41001, SV, 143, F_ACK, 2, 1, "c");	/* 41000 expires */
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:41000>10.0.0.2:143 mid @0\n"
			 "1 C a\n"
			 "2 open 10.0.0.1:41001>10.0.0.2:143 mid @50\n"
			 "2 C b\n"
			 "1 close idle @0\n"
			 "2 C c\n");
	flow_table_expire(T, 201);	/* exactly idle_timeout: stays */
	cr_assert_eq(flow_table_stats(T)->open_now, 1);
	flow_table_expire(T, 202);
	cr_assert_eq(flow_table_stats(T)->open_now, 0);
	cr_assert_eq(flow_table_stats(T)->timed_out, 2);
	cr_assert_eq(fr.close_why[FLOW_END_IDLE], 2);
	/* Closed at its last packet's time. */
	cr_assert(strstr(log_str(&fr.log), "2 close idle @101\n"));
}

Test(reasm_flow, idle_flows_close_in_order_of_last_packet)
{
	/* 41011 is touched again after 41012 opened: the sweep that finds
	 * all three idle closes them by last packet, 41011 last */
	pkt(0, CL, 41010, SV, 143, F_ACK, 1, 1, "a");
	pkt(10, CL, 41011, SV, 143, F_ACK, 1, 1, "b");
	pkt(20, CL, 41012, SV, 143, F_ACK, 1, 1, "c");
	pkt(30, CL, 41011, SV, 143, F_ACK, 2, 1, "d");
	flow_table_expire(T, 500);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:41010>10.0.0.2:143 mid @0\n"
			 "1 C a\n"
			 "2 open 10.0.0.1:41011>10.0.0.2:143 mid @10\n"
			 "2 C b\n"
			 "3 open 10.0.0.1:41012>10.0.0.2:143 mid @20\n"
			 "3 C c\n"
			 "2 C d\n"
			 "1 close idle @0\n"
			 "3 close idle @20\n"
			 "2 close idle @30\n");
}

Test(reasm_flow, touched_flow_outlives_the_idle_sweep)
{
	/* 41020 is at the head of the LRU list but was touched at 90: at 150
	 * only 41021 (last packet at 40) is idle */
	pkt(0, CL, 41020, SV, 143, F_ACK, 1, 1, "a");
	pkt(40, CL, 41021, SV, 143, F_ACK, 1, 1, "b");
	pkt(90, CL, 41020, SV, 143, F_ACK, 2, 1, "c");
	flow_table_expire(T, 150);
	cr_assert_eq(flow_table_stats(T)->timed_out, 1);
	cr_assert(strstr(log_str(&fr.log), "2 close idle @40\n"));
	cr_assert_null(strstr(log_str(&fr.log), "1 close"));
	flow_table_expire(T, 191);
	cr_assert(strstr(log_str(&fr.log), "1 close idle @90\n"));
}

Test(reasm_flow, packets_alone_close_idle_flows_as_a_sweep_would)
{
	/* The idle sweep runs for a packet only when something can be past
	 * its time: flows must still close at the same packets as if it ran
	 * for every one, also when the clock steps back. */
	pkt(0, CL, 41030, SV, 143, F_ACK, 1, 1, "a");
	pkt(10, CL, 41031, SV, 143, F_ACK, 1, 1, "b");
	pkt(90, CL, 41030, SV, 143, F_ACK, 2, 1, "c");	/* the LRU head */
	pkt(110, CL, 41032, SV, 143, F_ACK, 1, 1, "d");	/* 41031 stays */
	cr_assert_eq(flow_table_stats(T)->timed_out, 0);
	pkt(111, CL, 41032, SV, 143, F_ACK, 2, 1, "e");	/* 41031 idle */
	cr_assert_eq(flow_table_stats(T)->timed_out, 1);
	cr_assert(strstr(log_str(&fr.log), "2 close idle @10\n"));
	pkt(50, CL, 41033, SV, 143, F_ACK, 1, 1, "f");	/* clock steps back */
	pkt(151, CL, 41032, SV, 143, F_ACK, 3, 1, "g");	/* none idle yet */
	cr_assert_eq(flow_table_stats(T)->timed_out, 1);
	pkt(191, CL, 41032, SV, 143, F_ACK, 4, 1, "h");
	/* 41030 (last packet at 90) and 41033 (at 50), by last packet */
	cr_assert_eq(flow_table_stats(T)->timed_out, 3);
	const char *l = log_str(&fr.log);
	const char *d = strstr(l, "4 close idle @50\n"), *a = strstr(l, "1 close idle @90\n");
	cr_assert(d && a && d < a, "%s", l);
	cr_assert_null(strstr(l, "3 close"));
}

Test(reasm_flow, touching_the_lru_head_lets_the_sweep_look_behind_it)
{
	/* 41052 opened with the clock stepped back, behind 41051 in the LRU
	 * list but older. When a packet touches 41051, the sweep passes it
	 * and finds 41052 idle, as a sweep run for every packet does. */
	pkt(0, CL, 41050, SV, 143, F_ACK, 1, 1, "a");
	pkt(10, CL, 41051, SV, 143, F_ACK, 1, 1, "b");
	pkt(5, CL, 41052, SV, 143, F_ACK, 1, 1, "c");
	pkt(101, CL, 41053, SV, 143, F_ACK, 1, 1, "d");	/* 41050 idle */
	cr_assert(strstr(log_str(&fr.log), "1 close idle @0\n"));
	cr_assert_eq(flow_table_stats(T)->timed_out, 1);
	pkt(106, CL, 41051, SV, 143, F_ACK, 2, 1, "e");
	cr_assert(strstr(log_str(&fr.log), "3 close idle @5\n"), "%s",
		  log_str(&fr.log));
	cr_assert_eq(flow_table_stats(T)->timed_out, 2);
}

Test(reasm_flow, own_packet_after_clock_jump_keeps_flow)
{
	/* a capture whose clock jumps decades between two packets of one
	 * connection (seen in real files): still one flow */
	handshake(10, 41100);
	pkt((isc_time)1 << 60, SV, 143, CL, 41100, F_ACK, 501, 101, "* OK ready");
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:41100>10.0.0.2:143 @10\n"
			 "1 S * OK ready\n");
	cr_assert_eq(flow_table_stats(T)->timed_out, 0);
}

Test(reasm_flow, idle_flow_with_hole_flushed)
{
	pkt(0, CL, 41002, SV, 143, F_ACK, 1, 1, "a");
	pkt(1, CL, 41002, SV, 143, F_ACK, 5, 1, "e");
	flow_table_expire(T, 500);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:41002>10.0.0.2:143 mid @0\n"
			 "1 C a\n"
			 "1 C gap 3\n"
			 "1 C e\n"
			 "1 close idle @1\n");
}

Test(reasm_flow, max_flows_evicts_lru)
{
	lim.max_flows = 2;
	table_make();
	pkt(1, CL, 42000, SV, 143, F_SYN, 1, 0, NULL);
	pkt(2, CL, 42001, SV, 143, F_SYN, 1, 0, NULL);
	pkt(3, CL, 42000, SV, 143, F_ACK, 2, 0, "x");	/* 42000 recent */
	pkt(4, CL, 42002, SV, 143, F_SYN, 1, 0, NULL);	/* 42001 goes */
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:42000>10.0.0.2:143 @1\n"
			 "2 open 10.0.0.1:42001>10.0.0.2:143 @2\n"
			 "1 C x\n"
			 "2 close evicted @2\n"
			 "3 open 10.0.0.1:42002>10.0.0.2:143 @4\n");
	cr_assert_eq(flow_table_stats(T)->evicted, 1);
	cr_assert_eq(flow_table_stats(T)->open_now, 2);
	cr_assert_eq(flow_table_stats(T)->open_peak, 2);
}

Test(reasm_flow, not_imap_port_counted)
{
	pkt(1, CL, 40000, SV, 25, F_SYN, 1, 0, NULL);
	pkt(2, CL, 40000, SV, 25, F_ACK, 2, 0, "EHLO");
	pkt(3, CL, 40000, SV, 143, F_ACK, 2, 0, NULL);	/* bare ACK */
	pkt(4, CL, 40000, SV, 143, F_RST, 2, 0, NULL);	/* bare RST */
	cr_assert_eq(flow_table_stats(T)->packets, 4);
	cr_assert_eq(flow_table_stats(T)->not_imap_port, 2);
	cr_assert_eq(flow_table_stats(T)->flows, 0);
	cr_assert_str_eq(log_str(&fr.log), "");
}

Test(reasm_flow, finish_closes_oldest_first)
{
	pkt(1, CL, 43002, SV, 143, F_SYN, 1, 0, NULL);
	pkt(2, CL, 43000, SV, 143, F_SYN, 1, 0, NULL);
	pkt(3, CL, 43001, SV, 143, F_SYN, 1, 0, NULL);
	pkt(4, CL, 43002, SV, 143, F_ACK, 2, 0, "late");
	flow_table_finish(T, 99, FLOW_END_EOF);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:43002>10.0.0.2:143 @1\n"
			 "2 open 10.0.0.1:43000>10.0.0.2:143 @2\n"
			 "3 open 10.0.0.1:43001>10.0.0.2:143 @3\n"
			 "1 C late\n"
			 "1 close eof @99\n"
			 "2 close eof @99\n"
			 "3 close eof @99\n");
	cr_assert_eq(flow_table_stats(T)->open_now, 0);
}

Test(reasm_flow, fin_callback_may_be_null)
{
	struct flow_ops o = ops;

	o.fin = NULL;
	flow_table_free(&T);
	cr_assert_eq(flow_table_new(&lim, imap_ports, 2, &o, &T), ISC_OK);
	handshake(1, 40010);
	pkt(2, CL, 40010, SV, 143, F_ACK | F_FIN, 101, 501, NULL);
	pkt(3, SV, 143, CL, 40010, F_ACK | F_FIN, 501, 102, NULL);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40010>10.0.0.2:143 @1\n"
			 "1 close fin @3\n");
}

Test(reasm_flow, bad_arguments)
{
	struct flow_table *t = NULL;
	struct flow_ops o = ops;
	struct isc_limits l = lim;

	cr_assert_eq(flow_table_new(&lim, imap_ports, 0, &ops, &t), ISC_EINVAL);
	o.data = NULL;
	cr_assert_eq(flow_table_new(&lim, imap_ports, 2, &o, &t), ISC_EINVAL);
	l.max_flows = 0;
	cr_assert_eq(flow_table_new(&l, imap_ports, 2, &ops, &t), ISC_EINVAL);
	cr_assert_null(t);
}

Test(reasm_flow, stats_sum_every_stream)
{
	const struct flow_stats *st;

	lim.memcap = REASM_BLOCK_COST + 4;
	table_make();
	handshake(1, 40020);
	pkt(2, CL, 40020, SV, 143, F_ACK, 101, 501, "abcd");
	pkt(3, CL, 40020, SV, 143, F_ACK, 101, 501, "abcd");	/* rexmit */
	pkt(4, CL, 40020, SV, 143, F_ACK, 110, 501, "jk");	/* held */
	pkt(5, CL, 40020, SV, 143, F_ACK, 110, 501, "Jk");	/* differs */
	pkt(6, CL, 40020, SV, 143, F_ACK, 103, 501, "cdef");	/* overlap */
	/* refused: too big for the memcap alone */
	pkt(7, CL, 40020, SV, 143, F_ACK, 120, 501, "too long");
	handshake(8, 40021);
	/* The memcap is taken by "jk": this one cannot be held, so the
	 * hole before it is given up at once. */
	pkt(9, SV, 143, CL, 40021, F_ACK, 505, 101, "x");
	cr_assert(strstr(log_str(&fr.log), "2 S gap 4\n2 S x\n"));
	flow_table_finish(T, 10, FLOW_END_EOF);
	cr_assert(strstr(log_str(&fr.log), "1 C gap 3\n1 C jk\n"));
	st = flow_table_stats(T);
	cr_assert_eq(st->packets, 13);
	cr_assert_eq(st->flows, 2);
	cr_assert_eq(st->segments, 7);
	cr_assert_eq(st->retransmitted, 2);
	cr_assert_eq(st->overlaps, 1);
	cr_assert_eq(st->inconsistent, 1);
	cr_assert_eq(st->ooo_held, 1);
	cr_assert_eq(st->memcap_refusals, 1);
	/* The refused segment was never bounded by a FIN or an ack: no gap
	 * covers it. */
	cr_assert_eq(st->gaps, 2);
	cr_assert_eq(st->gap_bytes, 7);
	cr_assert_eq(st->open_now, 0);
	cr_assert_eq(st->open_peak, 2);
}

Test(reasm_flow, hundred_thousand_syns_stay_bounded, .timeout = 60)
{
	const struct flow_stats *st;
	uint32_t i;

	lim.max_flows = 1000;
	lim.idle_timeout = (isc_time)1 << 62;
	table_make();
	fr.quiet = true;
	for (i = 0; i < 100000; i++) {
		char a[INET_ADDRSTRLEN];

		snprintf(a, sizeof(a), "10.%u.%u.%u", (i >> 16) & 255,
			 (i >> 8) & 255, i & 255);
		pkt((isc_time)i, a, (uint16_t)(1024 + i % 50000), SV, 143,
		    F_SYN, i, 0, NULL);
		cr_assert(flow_table_stats(T)->open_now <= 1000);
	}
	st = flow_table_stats(T);
	cr_assert_eq(st->flows, 100000);
	cr_assert_eq(st->open_now, 1000);
	cr_assert_eq(st->open_peak, 1000);
	cr_assert_eq(st->evicted, 99000);
	cr_assert_eq(fr.close_why[FLOW_END_EVICTED], 99000);
	flow_table_finish(T, 1, FLOW_END_EOF);
	cr_assert_eq(fr.closes, 100000);
	cr_assert_eq(fr.opens, 100000);
	cr_assert_eq(flow_table_stats(T)->open_now, 0);
}

/* ==== orders, overlaps, wraparound: every permutation ==== */

struct tseg {
	uint32_t off;
	const char *text;
};

/* What first-data-wins must deliver for segs arriving in order perm[]:
 * each byte comes from the first segment, in arrival order, that covered
 * it, whether that copy was delivered at once or held. */
static void first_wins(const struct tseg *segs, const int *perm, int n,
		       char *out, size_t len)
{
	bool have[64] = { false };
	int i;

	cr_assert(len < sizeof(have));
	memset(out, '?', len);
	out[len] = '\0';
	for (i = 0; i < n; i++) {
		const struct tseg *g = &segs[perm[i]];
		size_t k, m = strlen(g->text);

		for (k = 0; k < m; k++) {
			if (!have[g->off + k]) {
				have[g->off + k] = true;
				out[g->off + k] = g->text[k];
			}
		}
	}
}

/* Feeds every order of segs (n of them, covering [0, len) with no hole)
 * to a fresh stream at isn, and checks the bytes against first_wins() and
 * that no gap is reported and nothing stays held. Returns the count. */
static int all_orders(const struct tseg *segs, int n, size_t len, uint32_t isn)
{
	int perm[8], i, count = 0;
	char want[64];

	cr_assert(n <= 8);
	for (i = 0; i < n; i++)
		perm[i] = i;
	do {
		struct reasm_stream *r;

		log_reset(&rec.log);
		memset(&rec, 0, sizeof(rec));
		r = stream_new(isn, 1 << 16, &rec);
		for (i = 0; i < n; i++)
			reasm_stream_add(r, 1, isn + segs[perm[i]].off,
					 (const uint8_t *)segs[perm[i]].text,
					 strlen(segs[perm[i]].text), 0);
		first_wins(segs, perm, n, want, len);
		cr_assert_str_eq(log_str(&rec.log), want, "order %d%d%d%d%d%d",
				 perm[0], perm[1], perm[2], perm[3], perm[4],
				 perm[5]);
		cr_assert_eq(rec.gap_events, 0);
		cr_assert_eq(reasm_stream_offset(r), len);
		cr_assert_eq(mc.used, 0);
		reasm_stream_free(&r);
		count++;
	} while (next_perm(perm, n));
	return count;
}

Test(reasm_stream, every_order_with_duplicates_and_same_overlaps)
{
	static const struct tseg segs[] = {
		{ 0, "01234" }, { 5, "56789" }, { 3, "3456" },
		{ 5, "56789" }, { 10, "ABCDEFGHIJ" }, { 8, "89AB" },
	};

	/* 720 orders: every one gives the text, whichever copy came first */
	cr_assert_eq(all_orders(segs, 6, 20, ISN), 720);
}

Test(reasm_stream, every_order_with_overlaps_that_differ)
{
	/* B, D and E disagree with A and C where they overlap: the copy
	 * that arrived first is the one delivered */
	static const struct tseg segs[] = {
		{ 0, "abcdef" }, { 4, "EFGH" }, { 6, "ghij" },
		{ 2, "CDEFGHI" }, { 9, "Jk" },
	};

	cr_assert_eq(all_orders(segs, 5, 11, ISN), 120);
}

Test(reasm_stream, every_order_across_the_wrap)
{
	static const struct tseg segs[] = {
		{ 0, "abc" }, { 3, "defgh" }, { 8, "ijkl" }, { 12, "mn" },
		{ 6, "ghij" },
	};

	/* 0xfffffff8 + 8 wraps to 0 inside "ijkl" */
	cr_assert_eq(all_orders(segs, 5, 14, 0xfffffff8u), 120);
	cr_assert_eq(all_orders(segs, 5, 14, 0xfffffffeu), 120);
}

Test(reasm_stream, overlap_counts_inconsistent_once_per_segment)
{
	add(4, "EFGH");
	add(12, "MN");
	add(2, "cdeFGhijklmn");		/* differs from both held blocks */
	cr_assert_eq(stats()->inconsistent, 1);
	cr_assert_eq(stats()->overlaps, 1);
	add(4, "EFGH");			/* the same bytes again: consistent */
	cr_assert_eq(stats()->inconsistent, 1);
	add(0, "ab");
	cr_assert_str_eq(log_str(&rec.log), "abcdEFGHijklMN");
}

/* ==== time stamps ==== */

Test(reasm_stream, held_blocks_keep_their_own_time)
{
	rec.stamps = true;
	reasm_stream_add(S, 30, ISN + 4, (const uint8_t *)"EFGH", 4, 0);
	reasm_stream_add(S, 20, ISN + 8, (const uint8_t *)"IJ", 2, 0);
	reasm_stream_add(S, 10, ISN + 0, (const uint8_t *)"ABCD", 4, 0);
	/* as if they had come in order, except that time never goes back:
	 * "IJ" was captured before "EFGH" but comes after it */
	cr_assert_str_eq(log_str(&rec.log), "@10:ABCD@30:EFGH@30:IJ");
}

Test(reasm_stream, gap_stamped_with_the_bytes_after_it)
{
	rec.stamps = true;
	reasm_stream_add(S, 1, ISN + 0, (const uint8_t *)"AB", 2, 0);
	reasm_stream_add(S, 5, ISN + 5, (const uint8_t *)"FG", 2, 0);
	/* the ACK at 9 proves [2, 5) lost: the gap and "FG" keep FG's time */
	reasm_stream_ack(S, 9, ISN + 7);
	cr_assert_str_eq(log_str(&rec.log), "@1:AB@5:[gap 3]@5:FG");
	/* nothing after the hole: the gap takes the ACK's time */
	reasm_stream_ack(S, 12, ISN + 9);
	/* a capture clock going back does not take the stream back */
	reasm_stream_add(S, 3, ISN + 9, (const uint8_t *)"J", 1, 0);
	cr_assert_str_eq(log_str(&rec.log), "@1:AB@5:[gap 3]@5:FG@12:[gap 2]@12:J");
}

/* ==== adversarial order ==== */

/* One block far ahead, then 1-byte segments each landing just below it
 * and above every other held block: the order that made a sorted list
 * walk all of itself on every segment (270 us a segment at the default
 * max_ooo; 200,000 of them took about 50 s). With the tree it is O(log n):
 * asserted through the tree's height, not through time, which a shared
 * machine cannot promise. */
Test(reasm_stream, adversarial_order_costs_log_n, .timeout = 60)
{
	struct reasm_stream *b;
	const struct reasm_stats *st;
	uint8_t x = 'x';
	uint32_t i, n = 200000;
	int h, hmax = 0;

	rec.quiet = true;
	mc.limit = 256u << 20;
	b = stream_new(0, 1u << 20, &rec);	/* the default max_ooo */
	reasm_stream_add(b, 1, 100000000u, &x, 1, 0);
	for (i = 1; i <= n; i++) {
		reasm_stream_add(b, 1, 2 * i, &x, 1, 0);
		h = reasm_stream_tree_height(b);
		if (h > hmax)
			hmax = h;
	}
	/* 16,384 blocks fit in 1 MiB at REASM_BLOCK_COST + 1 each: an AVL
	 * tree of that many is at most 1.44 log2(n) + 2 = 22 high */
	cr_assert_leq(hmax, 22, "tree height %d", hmax);
	st = reasm_stream_stats(b);
	cr_assert_eq(st->segments, n + 1);
	cr_assert_leq(mc.used, 1u << 20);
	reasm_stream_flush(b, 2);
	cr_assert_eq(st->bytes_delivered + st->gap_bytes, reasm_stream_offset(b));
	cr_assert_eq(st->bytes_delivered, n + 1);
	cr_assert_eq(mc.used, 0);
	reasm_stream_free(&b);
}

/* ==== flow table: roles ==== */

Test(reasm_flow, midstream_roles_by_content_both_ports_listed)
{
	table_make_with(&ops_hint);
	/* both ports are server ports; the greeting says who the server is,
	 * although the port rule (the destination) would say the opposite */
	pkt(5, "10.0.0.5", 143, "10.0.0.6", 993, F_ACK, 7000, 300, "* OK ready");
	pkt(6, "10.0.0.6", 993, "10.0.0.5", 143, F_ACK, 300, 7010, "a1 NOOP");
	flow_table_finish(T, 9, FLOW_END_EOF);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.6:993>10.0.0.5:143 mid content @5\n"
			 "1 S * OK ready\n"
			 "1 C a1 NOOP\n"
			 "1 close eof @9\n");
	cr_assert_eq(fr.basis[1], FLOW_ROLE_CONTENT);
	cr_assert_eq(fr.hints, 1);
	cr_assert_eq(flow_table_stats(T)->roles_by_content, 1);
}

Test(reasm_flow, midstream_roles_by_content_against_the_ports)
{
	table_make_with(&ops_hint);
	/* the first payload is a tagged command sent from port 143: its
	 * sender is the client, whatever the port list says */
	pkt(5, "10.0.0.1", 143, "10.0.0.2", 40000, F_ACK, 1, 1, "a1 LOGIN u p");
	pkt(6, "10.0.0.2", 40000, "10.0.0.1", 143, F_ACK, 1, 13, "a1 OK");
	flow_table_finish(T, 9, FLOW_END_EOF);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:143>10.0.0.2:40000 mid content @5\n"
			 "1 C a1 LOGIN u p\n"
			 "1 S a1 OK\n"
			 "1 close eof @9\n");
}

Test(reasm_flow, midstream_hint_unknown_falls_back_to_ports)
{
	table_make_with(&ops_hint);
	/* server first, mid-session: "* 3 EXISTS" says nothing certain */
	pkt(5, SV, 143, CL, 40000, F_ACK, 900, 70, "* 3 EXISTS");
	pkt(6, CL, 40000, SV, 143, F_ACK, 70, 910, "a9 IDLE");
	flow_table_finish(T, 9, FLOW_END_EOF);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40000>10.0.0.2:143 mid @5\n"
			 "1 S * 3 EXISTS\n"
			 "1 C a9 IDLE\n"
			 "1 close eof @9\n");
	cr_assert_eq(fr.basis[1], FLOW_ROLE_PORT);
	cr_assert_eq(fr.hints, 1);
}

Test(reasm_flow, hint_not_asked_with_a_handshake)
{
	table_make_with(&ops_hint);
	handshake(1, 40000);
	pkt(2, SV, 143, CL, 40000, F_ACK, 501, 101, "* OK hi");
	/* a SYN+ACK seen first decides too */
	pkt(3, SV, 143, CL, 40001, F_SYN | F_ACK, 70, 81, NULL);
	pkt(4, CL, 40001, SV, 143, F_ACK, 81, 71, "a1 NOOP");
	cr_assert_eq(fr.hints, 0);
	cr_assert_eq(fr.basis[1], FLOW_ROLE_SYN);
	cr_assert_eq(fr.basis[2], FLOW_ROLE_SYN);
	cr_assert_eq(flow_table_stats(T)->flows_midstream, 0);
}

Test(reasm_flow, hint_needs_captured_bytes)
{
	struct isc_pkt p;

	table_make_with(&ops_hint);
	/* the first segment's payload was all cut by the snaplen: nothing
	 * to look at, the ports decide */
	memset(&p, 0, sizeof(p));
	p.ts = 5;
	p.src = ip(SV);
	p.dst = ip(CL);
	p.sport = 143;
	p.dport = 40000;
	p.flags = F_ACK;
	p.seq = 900;
	p.ack = 70;
	p.win = 512;
	p.payload_missing = 10;
	flow_table_packet(T, &p);
	pkt(6, SV, 143, CL, 40000, F_ACK, 910, 70, "* OK");
	flow_table_finish(T, 9, FLOW_END_EOF);
	cr_assert_eq(fr.hints, 0);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40000>10.0.0.2:143 mid @5\n"
			 "1 S gap 10\n"
			 "1 S * OK\n"
			 "1 close eof @9\n");
}

/* ==== flow table: where a midstream direction starts ==== */

Test(reasm_flow, midstream_first_segment_repeats_old_bytes)
{
	/* client first: it has had the server's bytes up to 9000 */
	pkt(1, CL, 40100, SV, 143, F_ACK, 7000, 9000, "a2 NOOP");
	/* the server's first segment repeats bytes before that: old */
	pkt(2, SV, 143, CL, 40100, F_ACK, 8990, 7007, "0123456789");
	pkt(3, SV, 143, CL, 40100, F_ACK, 9000, 7007, "a2 OK");
	/* the same the other way round: server first */
	pkt(4, SV, 143, CL, 40101, F_ACK, 9000, 7000, "* 4 EXISTS");
	pkt(5, CL, 40101, SV, 143, F_ACK, 6990, 9010, "old bytes!");
	pkt(6, CL, 40101, SV, 143, F_ACK, 7000, 9010, "a3 IDLE");
	flow_table_finish(T, 9, FLOW_END_EOF);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40100>10.0.0.2:143 mid @1\n"
			 "1 C a2 NOOP\n"
			 "1 S a2 OK\n"
			 "2 open 10.0.0.1:40101>10.0.0.2:143 mid @4\n"
			 "2 S * 4 EXISTS\n"
			 "2 C a3 IDLE\n"
			 "1 close eof @9\n"
			 "2 close eof @9\n");
	cr_assert_eq(flow_table_stats(T)->retransmitted, 2);
	cr_assert_eq(flow_table_stats(T)->gaps, 0);
}

Test(reasm_flow, midstream_first_segment_overtook_an_earlier_one)
{
	pkt(1, CL, 40102, SV, 143, F_ACK, 7000, 9000, "a4 FETCH");
	/* "world" overtook "hello" on the way */
	pkt(2, SV, 143, CL, 40102, F_ACK, 9005, 7008, "world");
	pkt(3, SV, 143, CL, 40102, F_ACK, 9000, 7008, "hello");
	/* and server first, with the client's bytes overtaking */
	pkt(4, SV, 143, CL, 40103, F_ACK, 500, 7000, "* OK");
	pkt(5, CL, 40103, SV, 143, F_ACK, 7003, 504, "cd");
	pkt(6, CL, 40103, SV, 143, F_ACK, 7000, 504, "ab ");
	flow_table_finish(T, 9, FLOW_END_EOF);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40102>10.0.0.2:143 mid @1\n"
			 "1 C a4 FETCH\n"
			 "1 S hello\n"
			 "1 S world\n"
			 "2 open 10.0.0.1:40103>10.0.0.2:143 mid @4\n"
			 "2 S * OK\n"
			 "2 C ab \n"
			 "2 C cd\n"
			 "1 close eof @9\n"
			 "2 close eof @9\n");
	cr_assert_eq(flow_table_stats(T)->gaps, 0);
}

Test(reasm_flow, midstream_bytes_sent_before_the_capture_are_a_gap)
{
	pkt(1, CL, 40104, SV, 143, F_ACK, 7000, 9000, "a5 NOOP");
	/* 9000-9009 were on the wire before the capture began */
	pkt(2, SV, 143, CL, 40104, F_ACK, 9010, 7007, "tail");
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40104>10.0.0.2:143 mid @1\n"
			 "1 C a5 NOOP\n");
	pkt(3, CL, 40104, SV, 143, F_ACK, 7007, 9014, NULL);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40104>10.0.0.2:143 mid @1\n"
			 "1 C a5 NOOP\n"
			 "1 S gap 10\n"
			 "1 S tail\n");
}

/* ==== flow table: loss, ACKs, keep-alives, window probes ==== */

Test(reasm_flow, loss_in_either_direction)
{
	handshake(1, 40105);
	pkt(2, CL, 40105, SV, 143, F_ACK, 101, 501, "a1 ");
	/* 104-107 lost */
	pkt(3, CL, 40105, SV, 143, F_ACK, 108, 501, "NOOP");
	/* the server's ACK proves them sent; it comes before its data */
	pkt(4, SV, 143, CL, 40105, F_ACK, 501, 112, "a1 OK");
	/* 506-510 lost */
	pkt(5, SV, 143, CL, 40105, F_ACK, 511, 112, "tail");
	pkt(6, CL, 40105, SV, 143, F_ACK, 112, 515, NULL);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40105>10.0.0.2:143 @1\n"
			 "1 C a1 \n"
			 "1 C gap 4\n"
			 "1 C NOOP\n"
			 "1 S a1 OK\n"
			 "1 S gap 5\n"
			 "1 S tail\n");
	cr_assert_eq(flow_table_stats(T)->gaps, 2);
	cr_assert_eq(flow_table_stats(T)->gap_bytes, 9);
}

Test(reasm_flow, ack_of_bytes_never_sent_makes_no_gap)
{
	handshake(1, 40106);
	pkt(2, SV, 143, CL, 40106, F_ACK, 501, 101, "* OK");
	/* the client acks 100,000 bytes the server never sent: a lie that
	 * would make everything the server sends next look old */
	pkt(3, CL, 40106, SV, 143, F_ACK, 101, 100505, NULL);
	pkt(4, SV, 143, CL, 40106, F_ACK, 505, 101, " more");
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40106>10.0.0.2:143 @1\n"
			 "1 S * OK\n"
			 "1 S  more\n");
	cr_assert_eq(flow_table_stats(T)->gaps, 0);
}

Test(reasm_flow, keepalives_make_no_bytes_and_no_gaps)
{
	handshake(1, 40107);
	pkt(2, CL, 40107, SV, 143, F_ACK, 101, 501, "a1 IDLE");
	pkt(3, SV, 143, CL, 40107, F_ACK, 501, 108, "+ idling");
	/* keep-alives both ways: one garbage byte just before the next
	 * one, answered by a plain ACK; then one without a byte */
	pkt(4, CL, 40107, SV, 143, F_ACK, 107, 509, "x");
	pkt(5, SV, 143, CL, 40107, F_ACK, 509, 108, NULL);
	pkt(6, SV, 143, CL, 40107, F_ACK, 508, 108, "y");
	pkt(7, CL, 40107, SV, 143, F_ACK, 108, 509, NULL);
	pkt(8, CL, 40107, SV, 143, F_ACK, 107, 509, NULL);
	pkt(9, CL, 40107, SV, 143, F_ACK, 108, 509, "DONE");
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40107>10.0.0.2:143 @1\n"
			 "1 C a1 IDLE\n"
			 "1 S + idling\n"
			 "1 C DONE\n");
	cr_assert_eq(flow_table_stats(T)->gaps, 0);
	cr_assert_eq(flow_table_stats(T)->retransmitted, 2);
	cr_assert_eq(flow_table_stats(T)->inconsistent, 0);
}

Test(reasm_flow, zero_window_probes_make_no_bytes_and_no_gaps)
{
	handshake(1, 40108);
	pkt(2, CL, 40108, SV, 143, F_ACK, 101, 501, "a1 APPEND");
	/* the server's window closes at 110 */
	pkt_win(3, SV, 143, CL, 40108, F_ACK, 501, 110, 0, NULL);
	/* probes: one byte beyond the zero window, thrown away */
	pkt(4, CL, 40108, SV, 143, F_ACK, 110, 501, "Z");
	pkt_win(5, SV, 143, CL, 40108, F_ACK, 501, 110, 0, NULL);
	pkt(6, CL, 40108, SV, 143, F_ACK, 110, 501, "Z");
	pkt_win(7, SV, 143, CL, 40108, F_ACK, 501, 110, 0, NULL);
	/* the window opens; the bytes come */
	pkt_win(8, SV, 143, CL, 40108, F_ACK, 501, 110, 512, NULL);
	pkt(9, CL, 40108, SV, 143, F_ACK, 110, 501, "ABCD");
	pkt(10, SV, 143, CL, 40108, F_ACK, 501, 114, NULL);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40108>10.0.0.2:143 @1\n"
			 "1 C a1 APPEND\n"
			 "1 C ABCD\n");
	cr_assert_eq(flow_table_stats(T)->window_probes, 2);
	cr_assert_eq(flow_table_stats(T)->gaps, 0);
}

Test(reasm_flow, zero_window_probe_taken_after_all)
{
	handshake(1, 40109);
	pkt(2, CL, 40109, SV, 143, F_ACK, 101, 501, "abc");
	pkt_win(3, SV, 143, CL, 40109, F_ACK, 501, 104, 0, NULL);
	pkt(4, CL, 40109, SV, 143, F_ACK, 104, 501, "d");
	/* the window had opened in the meantime: the ACK shows the probe's
	 * byte was taken, so it is data after all */
	pkt(5, SV, 143, CL, 40109, F_ACK, 501, 105, NULL);
	pkt(6, CL, 40109, SV, 143, F_ACK, 105, 501, "efg");
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40109>10.0.0.2:143 @1\n"
			 "1 C abc\n"
			 "1 C d\n"
			 "1 C efg\n");
	cr_assert_eq(flow_table_stats(T)->window_probes, 1);
	cr_assert_eq(flow_table_stats(T)->gaps, 0);
}

/* ==== flow table: the end of a connection ==== */

Test(reasm_flow, rst_mid_literal)
{
	static const char lit[] = "* 1 FETCH (BODY[] {20}\r\n0123";
	uint32_t sq = 501 + (uint32_t)strlen(lit);

	handshake(1, 40110);
	pkt(2, CL, 40110, SV, 143, F_ACK, 101, 501, "a1 FETCH 1 BODY[]");
	pkt(3, SV, 143, CL, 40110, F_ACK, 501, 118, lit);
	/* 4 literal bytes lost, the literal goes on */
	pkt(4, SV, 143, CL, 40110, F_ACK, sq + 4, 118, "89abcdef");
	/* the client aborts mid-literal */
	pkt(5, CL, 40110, SV, 143, F_RST | F_ACK, 118, sq, NULL);
	/* the server's segments still in flight, and its FIN: gone */
	pkt(6, SV, 143, CL, 40110, F_ACK, sq + 12, 118, "ghij)");
	pkt(7, SV, 143, CL, 40110, F_ACK | F_FIN, sq + 17, 118, NULL);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40110>10.0.0.2:143 @1\n"
			 "1 C a1 FETCH 1 BODY[]\n"
			 "1 S * 1 FETCH (BODY[] {20}\r\n0123\n"
			 "1 S gap 4\n"
			 "1 S 89abcdef\n"
			 "1 close rst @5\n");
	cr_assert_eq(flow_table_stats(T)->flows, 1);
	cr_assert_eq(flow_table_stats(T)->late, 2);
	cr_assert_eq(flow_table_stats(T)->open_now, 0);
	cr_assert_eq(fr.final[1][ISC_DIR_SERVER].gaps, 1);
	cr_assert_eq(fr.final[1][ISC_DIR_SERVER].gap_bytes, 4);
}

Test(reasm_flow, rst_far_from_the_sender_not_believed)
{
	handshake(1, 40111);
	pkt(2, SV, 143, CL, 40111, F_ACK, 501, 101, "* OK");
	/* blind forgeries: far from anything either side sent */
	pkt(3, CL, 40111, SV, 143, F_RST, 101 + 0x40000000u, 0, NULL);
	pkt(4, SV, 143, CL, 40111, F_RST, 505 + 0x90000000u, 0, NULL);
	cr_assert_eq(flow_table_stats(T)->rst_ignored, 2);
	cr_assert_eq(flow_table_stats(T)->open_now, 1);
	pkt(5, CL, 40111, SV, 143, F_ACK, 101, 505, "a1 NOOP");
	/* a real one: at the sender's next sequence number */
	pkt(6, SV, 143, CL, 40111, F_RST, 505, 0, NULL);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40111>10.0.0.2:143 @1\n"
			 "1 S * OK\n"
			 "1 C a1 NOOP\n"
			 "1 close rst @6\n");
}

Test(reasm_flow, fin_then_late_retransmission_opens_nothing)
{
	handshake(1, 40112);
	pkt(2, CL, 40112, SV, 143, F_ACK, 101, 501, "a1 LOGOUT");
	pkt(3, SV, 143, CL, 40112, F_ACK, 501, 110, "* BYE");
	pkt(4, SV, 143, CL, 40112, F_ACK | F_FIN, 506, 110, NULL);
	pkt(5, CL, 40112, SV, 143, F_ACK | F_FIN, 110, 507, NULL);
	pkt(6, SV, 143, CL, 40112, F_ACK, 507, 111, NULL);
	/* late copies of both sides' bytes and of a FIN */
	pkt(7, CL, 40112, SV, 143, F_ACK, 101, 501, "a1 LOGOUT");
	pkt(8, SV, 143, CL, 40112, F_ACK, 501, 110, "* BYE");
	pkt(9, SV, 143, CL, 40112, F_ACK | F_FIN, 506, 110, NULL);
	pkt(10, CL, 40112, SV, 143, F_SYN, 100, 0, NULL);	/* the old SYN */
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40112>10.0.0.2:143 @1\n"
			 "1 C a1 LOGOUT\n"
			 "1 S * BYE\n"
			 "1 S fin\n"
			 "1 C fin\n"
			 "1 close fin @5\n");
	cr_assert_eq(flow_table_stats(T)->flows, 1);
	cr_assert_eq(flow_table_stats(T)->late, 5);
	cr_assert_eq(flow_table_stats(T)->segments, 2);
	/* once the linger time (here the 100 ns idle timeout) is over,
	 * bytes on those ports are a connection joined midstream */
	pkt(106, CL, 40112, SV, 143, F_ACK, 110, 507, "a2 NOOP");
	cr_assert(strstr(log_str(&fr.log),
			 "2 open 10.0.0.1:40112>10.0.0.2:143 mid @106\n"
			 "2 C a2 NOOP\n"));
}

Test(reasm_flow, bytes_after_a_fin_are_cut)
{
	handshake(1, 40113);
	pkt(2, CL, 40113, SV, 143, F_ACK | F_FIN, 101, 501, "abcd");
	pkt(3, CL, 40113, SV, 143, F_ACK, 103, 501, "cdXYZ");
	pkt(4, CL, 40113, SV, 143, F_ACK, 105, 501, "more");
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40113>10.0.0.2:143 @1\n"
			 "1 C abcd\n"
			 "1 C fin\n");
	cr_assert_eq(flow_table_stats(T)->past_fin, 2);
}

Test(reasm_flow, port_reuse_after_rst)
{
	handshake(1, 40114);
	pkt(2, CL, 40114, SV, 143, F_RST, 101, 0, NULL);
	pkt(3, SV, 143, CL, 40114, F_ACK, 501, 101, NULL);	/* late */
	pkt(4, CL, 40114, SV, 143, F_SYN, 5000, 0, NULL);
	pkt(5, SV, 143, CL, 40114, F_SYN | F_ACK, 800, 5001, NULL);
	pkt(6, CL, 40114, SV, 143, F_ACK, 5001, 801, "again");
	flow_table_finish(T, 9, FLOW_END_EOF);
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40114>10.0.0.2:143 @1\n"
			 "1 close rst @2\n"
			 "2 open 10.0.0.1:40114>10.0.0.2:143 @4\n"
			 "2 C again\n"
			 "2 close eof @9\n");
	cr_assert_eq(flow_table_stats(T)->late, 1);
}

Test(reasm_flow, closed_flows_make_room_before_live_ones)
{
	lim.max_flows = 2;
	table_make();
	handshake(1, 40120);
	pkt(1, CL, 40120, SV, 143, F_ACK | F_FIN, 101, 501, NULL);
	pkt(1, SV, 143, CL, 40120, F_ACK | F_FIN, 501, 102, NULL);
	handshake(2, 40121);
	/* full: one closed entry and one live flow; the closed one goes */
	pkt(3, CL, 40122, SV, 143, F_SYN, 1, 0, NULL);
	cr_assert_eq(flow_table_stats(T)->evicted, 0);
	cr_assert_eq(flow_table_stats(T)->open_now, 2);
	/* now both are live: the least recent is evicted */
	pkt(4, CL, 40123, SV, 143, F_SYN, 1, 0, NULL);
	cr_assert_eq(flow_table_stats(T)->evicted, 1);
	cr_assert(strstr(log_str(&fr.log), "2 close evicted @2\n"));
	/* the closed entry is gone: the late ACK of flow 1 opens nothing
	 * anyway, being a bare ACK */
	pkt(5, CL, 40120, SV, 143, F_ACK, 102, 502, NULL);
	cr_assert_eq(flow_table_stats(T)->flows, 4);
	cr_assert_eq(flow_table_stats(T)->late, 0);
}

/* ==== flow table: per-flow counters ==== */

Test(reasm_flow, per_flow_counters_reach_close)
{
	handshake(1, 40130);
	pkt(2, CL, 40130, SV, 143, F_ACK, 110, 501, "jk");	/* held */
	pkt(3, CL, 40130, SV, 143, F_ACK, 110, 501, "Jk");	/* differs */
	pkt(4, SV, 143, CL, 40130, F_ACK, 501, 101, "* OK");
	pkt(5, SV, 143, CL, 40130, F_ACK, 501, 101, "* OK");	/* rexmit */
	handshake(6, 40131);
	pkt(7, CL, 40131, SV, 143, F_ACK, 101, 501, "a1 NOOP");
	flow_table_finish(T, 9, FLOW_END_EOF);
	cr_assert_eq(fr.final[1][ISC_DIR_CLIENT].inconsistent, 1);
	cr_assert_eq(fr.final[1][ISC_DIR_CLIENT].gaps, 1);
	cr_assert_eq(fr.final[1][ISC_DIR_CLIENT].gap_bytes, 9);
	cr_assert_eq(fr.final[1][ISC_DIR_CLIENT].bytes_delivered, 2);
	cr_assert_eq(fr.final[1][ISC_DIR_SERVER].retransmitted, 1);
	cr_assert_eq(fr.final[1][ISC_DIR_SERVER].inconsistent, 0);
	cr_assert_eq(fr.final[1][ISC_DIR_SERVER].bytes_delivered, 4);
	/* each flow has its own */
	cr_assert_eq(fr.final[2][ISC_DIR_CLIENT].inconsistent, 0);
	cr_assert_eq(fr.final[2][ISC_DIR_CLIENT].bytes_delivered, 7);
	cr_assert_eq(fr.final[2][ISC_DIR_SERVER].segments, 0);
	cr_assert_eq(flow_table_stats(T)->inconsistent, 1);
}

/* ==== flow table: orders of whole packets ==== */

Test(reasm_flow, every_order_of_five_client_segments)
{
	static const struct tseg segs[] = {
		{ 0, "a1 LO" }, { 5, "GIN b" }, { 10, "ob se" },
		{ 15, "cret" }, { 3, "LOGI" },
	};
	int perm[5] = { 0, 1, 2, 3, 4 }, i, count = 0;

	do {
		flow_teardown();
		flow_setup();
		handshake(1, 40140);
		for (i = 0; i < 5; i++)
			pkt(2, CL, 40140, SV, 143, F_ACK,
			    101 + segs[perm[i]].off, 501, segs[perm[i]].text);
		pkt(3, SV, 143, CL, 40140, F_ACK, 501, 120, "a1 OK");
		cr_assert_str_eq(log_str(&fr.bytes[ISC_DIR_CLIENT]),
				 "a1 LOGIN bob secret");
		cr_assert_str_eq(log_str(&fr.bytes[ISC_DIR_SERVER]), "a1 OK");
		cr_assert_eq(fr.gap_events, 0);
		count++;
	} while (next_perm(perm, 5));
	cr_assert_eq(count, 120);
}

/* ==== flow table: hashing ==== */

Test(reasm_flow, siphash_reference_vectors)
{
	uint8_t key[16], msg[15];
	int i;

	for (i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	/* from the SipHash paper's reference implementation */
	cr_assert_eq(reasm_siphash(key, msg, 0), 0x726fdb47dd0e0e31ULL);
	cr_assert_eq(reasm_siphash(key, msg, 8), 0x93f5f5799a932462ULL);
	cr_assert_eq(reasm_siphash(key, msg, 15), 0xa129ca6149be45e5ULL);
}

/* The 12-byte variant (IPv4 4-tuples) gives what the general one gives,
 * which the vectors above pin, for any key and message. */
Test(reasm_flow, siphash12_is_siphash_of_12_bytes)
{
	uint8_t key[16], msg[12];
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 12; i++)
		msg[i] = (uint8_t)i;
	cr_assert_eq(reasm_siphash12(key, msg), reasm_siphash(key, msg, 12));
	for (int round = 0; round < 10000; round++) {
		for (int i = 0; i < 16; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			key[i] = (uint8_t)x;
		}
		for (int i = 0; i < 12; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			msg[i] = (uint8_t)x;
		}
		cr_assert_eq(reasm_siphash12(key, msg), reasm_siphash(key, msg, 12),
			     "round %d", round);
	}
}

/* Feeds 6000 pseudo-random packets over 700 4-tuples (handshakes, data in
 * both directions, FINs, RSTs, silences long enough to expire flows) to a
 * table of 300 flows. With key set, the table gets that hash key first;
 * with rekey, a new key halfway through (every entry is rehashed). */
static void mixed_traffic(const uint8_t *key, const uint8_t *rekey)
{
	static uint32_t cseq[700], sseq[700];
	isc_time ts = 1000;
	int i;

	lim.max_flows = 300;
	lim.idle_timeout = 5000;
	table_make();
	if (key)
		flow_table_set_hash_key(T, key);
	rng_state = 0x5eed;
	for (i = 0; i < 700; i++) {
		cseq[i] = (uint32_t)rng();
		sseq[i] = (uint32_t)rng();
	}
	for (i = 0; i < 6000; i++) {
		uint32_t k = (uint32_t)(rng() % 700), kind = (uint32_t)(rng() % 16);
		char a[INET_ADDRSTRLEN];
		uint16_t port = (uint16_t)(30000 + k);
		static const char *const words[] = { "a1 NOOP", "* OK", "x",
						     "a2 LOGIN u p" };
		const char *w = words[rng() % 4];

		if (i == 3000 && rekey)
			flow_table_set_hash_key(T, rekey);
		snprintf(a, sizeof(a), "10.9.%u.%u", k >> 8, k & 255);
		ts += (isc_time)(rng() % 3 == 0 ? rng() % 40 : 0);
		if (rng() % 1000 == 0)
			ts += 6000;		/* a silence: flows expire */
		if (kind == 0) {
			pkt(ts, a, port, SV, 143, F_SYN, cseq[k]++, 0, NULL);
		} else if (kind == 1) {
			pkt(ts, SV, 143, a, port, F_SYN | F_ACK, sseq[k]++,
			    cseq[k], NULL);
		} else if (kind < 8) {
			pkt(ts, a, port, SV, 143, F_ACK, cseq[k], sseq[k], w);
			cseq[k] += (uint32_t)strlen(w) + (rng() % 9 == 0);
		} else if (kind < 14) {
			pkt(ts, SV, 143, a, port, F_ACK, sseq[k], cseq[k], w);
			sseq[k] += (uint32_t)strlen(w) + (rng() % 9 == 0);
		} else if (kind == 14) {
			pkt(ts, a, port, SV, 143, F_ACK | F_FIN, cseq[k]++,
			    sseq[k], NULL);
		} else {
			pkt(ts, SV, 143, a, port, rng() % 2 ? F_RST : F_ACK | F_FIN,
			    sseq[k]++, cseq[k], NULL);
			/* and a copy of the client's last bytes, late */
			pkt(ts, a, port, SV, 143, F_ACK, cseq[k] - 1, sseq[k], "x");
		}
	}
	flow_table_finish(T, ts, FLOW_END_EOF);
}

Test(reasm_flow, output_does_not_depend_on_the_hash_key)
{
	static const uint8_t zero[16], ones[16] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	char *first;
	struct flow_stats st;

	mixed_traffic(NULL, NULL);		/* the random key */
	first = strdup(log_str(&fr.log));
	st = *flow_table_stats(T);
	cr_assert(st.flows > 1000 && st.evicted > 0 && st.timed_out > 0 &&
		  st.late > 0 && st.gaps > 0,
		  "the mix must reach every path: flows %lu evicted %lu "
		  "timed out %lu late %lu gaps %lu rst %lu fin %lu",
		  (unsigned long)st.flows,
		  (unsigned long)st.evicted, (unsigned long)st.timed_out,
		  (unsigned long)st.late, (unsigned long)st.gaps,
		  (unsigned long)fr.close_why[FLOW_END_RST],
		  (unsigned long)fr.close_why[FLOW_END_FIN]);
	flow_teardown();
	flow_setup();
	mixed_traffic(zero, NULL);
	cr_assert_str_eq(log_str(&fr.log), first);
	flow_teardown();
	flow_setup();
	mixed_traffic(ones, zero);		/* rekeyed with flows in */
	cr_assert_str_eq(log_str(&fr.log), first);
	cr_assert_eq(memcmp(flow_table_stats(T), &st, sizeof(st)), 0);
	free(first);
}

/* ==== a rewritten copy of bytes already delivered ==== */

Test(reasm_stream, rewrite_of_delivered_bytes_is_inconsistent)
{
	/* "a1 LOGIN alice pw" went to the receiver; a later copy of the same
	 * range says "mallory": first data wins, and the copy is flagged,
	 * although the delivered bytes are no longer held */
	add(0, "a1 LOGIN alice pw\r\n");
	add(0, "a1 LOGIN alice pw\r\n");		/* same bytes: fine */
	cr_assert_eq(stats()->retransmitted, 1);
	cr_assert_eq(stats()->inconsistent, 0);
	add(0, "a1 LOGIN malor pw\r\n");		/* other bytes */
	cr_assert_eq(stats()->retransmitted, 2);
	cr_assert_eq(stats()->inconsistent, 1);
	cr_assert_str_eq(log_str(&rec.log), "a1 LOGIN alice pw\r\n");
}

/* ==== in-order segments handed on by the flow table itself ==== */

/* Most segments are the next bytes of their direction with nothing held:
 * flow.c does the stream's bookkeeping (reasm_stream_pass()) and calls
 * ops.data itself. What the stream would have done must still happen:
 * counters, the stamp that never goes back, the offset, and the
 * fingerprint that tells a rewritten copy later. */
Test(reasm_flow, next_segments_keep_the_stream_books)
{
	handshake(10, 40200);
	pkt(20, CL, 40200, SV, 143, F_ACK, 101, 501, "a1 LOGIN bob pw\r\n");
	cr_assert_eq(fr.data_ts[ISC_DIR_CLIENT], 20);
	/* captured earlier than the bytes before it: stamped no earlier */
	pkt(15, CL, 40200, SV, 143, F_ACK, 118, 501, "a2 NOOP\r\n");
	cr_assert_eq(fr.data_ts[ISC_DIR_CLIENT], 20);
	pkt(21, SV, 143, CL, 40200, F_ACK, 501, 127, "* OK\r\n");
	cr_assert_eq(fr.data_ts[ISC_DIR_SERVER], 21);
	/* a copy of the first segment with the same bytes, then another
	 * with other bytes: only the second is inconsistent, though the
	 * bytes were never held */
	pkt(22, CL, 40200, SV, 143, F_ACK, 101, 507, "a1 LOGIN bob pw\r\n");
	pkt(23, CL, 40200, SV, 143, F_ACK, 101, 507, "a1 LOGIN eve pw\r\n");
	/* and of the second one: the offsets of both were remembered */
	pkt(24, CL, 40200, SV, 143, F_ACK, 118, 507, "a2 NOOX\r\n");
	/* a segment ahead is held; the one that fills the hole before it
	 * goes through the stream, and both come out in order */
	pkt(25, CL, 40200, SV, 143, F_ACK, 131, 507, "a4\r\n");
	pkt(26, CL, 40200, SV, 143, F_ACK, 127, 507, "a3\r\n");
	pkt(27, CL, 40200, SV, 143, F_ACK, 135, 507, "a5\r\n");
	cr_assert_str_eq(log_str(&fr.bytes[ISC_DIR_CLIENT]),
			 "a1 LOGIN bob pw\r\na2 NOOP\r\na3\r\na4\r\na5\r\n");
	cr_assert_str_eq(log_str(&fr.bytes[ISC_DIR_SERVER]), "* OK\r\n");
	flow_table_finish(T, 30, FLOW_END_EOF);
	cr_assert_eq(fr.final[1][ISC_DIR_CLIENT].segments, 8);
	cr_assert_eq(fr.final[1][ISC_DIR_CLIENT].bytes_delivered, 38);
	cr_assert_eq(fr.final[1][ISC_DIR_CLIENT].retransmitted, 3);
	cr_assert_eq(fr.final[1][ISC_DIR_CLIENT].inconsistent, 2);
	cr_assert_eq(fr.final[1][ISC_DIR_CLIENT].ooo_held, 1);
	cr_assert_eq(fr.final[1][ISC_DIR_SERVER].segments, 1);
	cr_assert_eq(fr.final[1][ISC_DIR_SERVER].bytes_delivered, 6);
	cr_assert_eq(fr.gap_events, 0);
	cr_assert_eq(flow_table_stats(T)->segments, 9);
}

/* A segment cut by the snaplen is not taken straight: its missing tail
 * is a gap, reported after its bytes and before the next ones. */
Test(reasm_flow, next_segment_with_a_missing_tail_makes_its_gap)
{
	struct isc_pkt p;

	handshake(10, 40201);
	memset(&p, 0, sizeof(p));
	p.ts = 11;
	p.src = ip(CL);
	p.dst = ip(SV);
	p.sport = 40201;
	p.dport = 143;
	p.flags = F_ACK;
	p.seq = 101;
	p.ack = 501;
	p.payload = (const uint8_t *)"a1 ";
	p.payload_len = 3;
	p.payload_missing = 5;
	flow_table_packet(T, &p);
	pkt(12, CL, 40201, SV, 143, F_ACK, 109, 501, "a2\r\n");
	cr_assert_str_eq(log_str(&fr.log),
			 "1 open 10.0.0.1:40201>10.0.0.2:143 @10\n"
			 "1 C a1 \n"
			 "1 C gap 5\n"
			 "1 C a2\r\n\n");
}

/* ==== addresses: IPv4 compares 8 bytes, IPv6 all 17 ==== */

static struct isc_addr ip6(const char *s)
{
	struct isc_addr a;

	memset(&a, 0, sizeof(a));
	a.family = 6;
	cr_assert_eq(inet_pton(AF_INET6, s, a.a), 1);
	return a;
}

static void pkt_addr(isc_time ts, struct isc_addr src, uint16_t sp,
		     struct isc_addr dst, uint16_t dp, uint8_t flags,
		     uint32_t seq, uint32_t ack, const char *data)
{
	struct isc_pkt p;

	memset(&p, 0, sizeof(p));
	p.ts = ts;
	p.src = src;
	p.dst = dst;
	p.sport = sp;
	p.dport = dp;
	p.flags = flags;
	p.seq = seq;
	p.ack = ack;
	p.win = 512;
	p.payload = (const uint8_t *)data;
	p.payload_len = data ? (uint32_t)strlen(data) : 0;
	flow_table_packet(T, &p);
}

/* Clients whose IPv6 addresses differ only past their 7th byte (in one
 * byte, or in the last) are other flows; so is an IPv4 address whose
 * bytes are the start of an IPv6 one. Each packet alternates with another flow's,
 * so that both the last packet's flow and the memo are tried. */
Test(reasm_flow, addresses_differing_late_are_other_flows)
{
	struct isc_addr sv = ip6("2001:db8::2");
	struct isc_addr c[4] = {
		ip6("2001:db8::1"), ip6("2001:db8::1:0:0:1"),
		ip6("2001:db8::5"), ip6("2001:db8::1"),
	};

	c[3].family = 4;	/* the bytes of c[0], as an IPv4 address */
	memset(c[3].a + 4, 0, sizeof(c[3].a) - 4);
	for (int i = 0; i < 4; i++)
		pkt_addr(1, c[i], 40300, sv, 143, F_ACK, 100, 500, "a1 NOOP");
	for (int i = 0; i < 4; i++)
		pkt_addr(2, c[i], 40300, sv, 143, F_ACK, 107, 500, "x");
	for (int i = 3; i >= 0; i--)
		pkt_addr(3, sv, 143, c[i], 40300, F_ACK, 500, 108, "* OK");
	cr_assert_eq(flow_table_stats(T)->flows, 4);
	cr_assert_eq(fr.data_bytes, 48);	/* 7 + 1 + 4 bytes each */
	flow_table_finish(T, 9, FLOW_END_EOF);
	for (int i = 1; i <= 4; i++) {
		cr_assert_eq(fr.final[i][ISC_DIR_CLIENT].bytes_delivered, 8);
		cr_assert_eq(fr.final[i][ISC_DIR_SERVER].bytes_delivered, 4);
	}
}

/* A packet of the last packet's flow skips the port test; any other
 * packet still takes it. */
Test(reasm_flow, ports_tested_past_the_last_flow)
{
	handshake(1, 40400);
	pkt(2, CL, 40400, SV, 25, F_ACK, 101, 501, "EHLO");
	pkt(3, CL, 40400, SV, 143, F_ACK, 101, 501, "a1");
	pkt(4, SV, 25, CL, 40400, F_ACK, 501, 101, "250");
	cr_assert_eq(flow_table_stats(T)->packets, 6);
	cr_assert_eq(flow_table_stats(T)->not_imap_port, 2);
	cr_assert_eq(flow_table_stats(T)->flows, 1);
	cr_assert_eq(fr.data_bytes, 2);
}

/* ==== the common case of flow_segment() ==== */

/* An ACK of an established flow, neither side closing, takes a short path
 * in flow_segment(). It must keep the general rules: an ACK older than
 * the last one changes neither the ACK nor the window (a 1-byte segment
 * at it is no probe then); a segment far beyond any window does not move the
 * sender's highest sequence number (else an ACK of bytes never sent would
 * pass as a hole); a segment ahead is held. (The zero-window tests above
 * take the short path too.) */
Test(reasm_flow, common_segments_keep_the_general_rules)
{
	handshake(1, 40500);
	pkt(2, CL, 40500, SV, 143, F_ACK, 101, 501, "a1 APPEND");
	pkt(3, SV, 143, CL, 40500, F_ACK, 501, 110, NULL);
	pkt(4, CL, 40500, SV, 143, F_ACK, 110, 501, "Z");
	/* the server acks "Z", then an older ACK with a zero window arrives
	 * late: not believed, so "Z" sent again is a retransmission, not a
	 * probe at the byte the server expects */
	pkt(5, SV, 143, CL, 40500, F_ACK, 501, 111, NULL);
	pkt_win(6, SV, 143, CL, 40500, F_ACK, 501, 110, 0, NULL);
	pkt(7, CL, 40500, SV, 143, F_ACK, 110, 501, "Z");
	/* garbage 2^31 ahead: ignored, and the server's ACK of 200 is cut
	 * to the client's highest byte, 111: no gap */
	pkt(8, CL, 40500, SV, 143, F_ACK, 101 + 0x80000000u, 501, "zz");
	pkt(9, SV, 143, CL, 40500, F_ACK, 501, 200, NULL);
	/* one segment ahead, held until the one before it comes */
	pkt(10, CL, 40500, SV, 143, F_ACK, 115, 501, "efgh");
	pkt(11, CL, 40500, SV, 143, F_ACK, 111, 501, "abcd");
	cr_assert_str_eq(log_str(&fr.bytes[ISC_DIR_CLIENT]),
			 "a1 APPENDZabcdefgh");
	cr_assert_eq(flow_table_stats(T)->window_probes, 0);
	cr_assert_eq(flow_table_stats(T)->retransmitted, 1);
	cr_assert_eq(flow_table_stats(T)->gaps, 0);
	cr_assert_eq(flow_table_stats(T)->ooo_held, 1);
}

/* ==== the fingerprint of a delivered piece ==== */

/* Whether reasm_fingerprint() reads byte b of an n-byte piece: all of a
 * piece up to 256 bytes; of a longer one the first and last 64 and the
 * word at 64 + 128 * i for each i with 64 + 128 * i + 8 <= n - 64. */
static bool fp_reads(size_t n, size_t b)
{
	if (n <= 256 || b < 64 || b >= n - 64)
		return true;
	return (b - 64) % 128 < 8 && (b - 64) / 128 * 128 + 64 + 8 <= n - 64;
}

/* The sampling is what tells a rewrite apart: every bit of every byte
 * read counts (a step is a bijection of each word read, so one word that
 * differs always gives another fingerprint), at every length class (the
 * byte loop under 8 bytes, the overlapping last word, the words left
 * over after the eight-word steps, the sampled middle of a long piece),
 * and a byte not read counts for nothing. */
Test(reasm_stream, fingerprint_reads_every_sampled_bit_and_nothing_else)
{
	static const size_t lens[] = {
		0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 40,
		47, 48, 55, 56, 63, 64, 65, 71, 72, 79, 88, 96, 100, 127, 128,
		129, 200, 255, 256, 257, 263, 264, 265, 391, 392, 393, 520,
		521, 1000, 1159, 1160, 1161, 1448, 1449, 2048, 2100, 4000,
	};
	static uint8_t buf[4096];

	rng_state = 0x5eed;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rng();
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t n = lens[k];
		uint64_t base = reasm_fingerprint(buf, n);

		for (size_t b = 0; b < n; b++) {
			for (int bit = 0; bit < 8; bit++) {
				uint64_t fp;

				buf[b] ^= (uint8_t)(1u << bit);
				fp = reasm_fingerprint(buf, n);
				buf[b] ^= (uint8_t)(1u << bit);
				if (fp_reads(n, b))
					cr_assert_neq(fp, base, "n %zu byte %zu bit %d",
						      n, b, bit);
				else
					cr_assert_eq(fp, base, "n %zu byte %zu", n, b);
			}
			if (fp_reads(n, b)) {
				/* a whole other byte, as a rewrite has */
				uint8_t was = buf[b];

				buf[b] = (uint8_t)(was + 1 + rng() % 255);
				cr_assert_neq(reasm_fingerprint(buf, n), base,
					      "n %zu byte %zu", n, b);
				buf[b] = was;
			}
		}
	}
}
