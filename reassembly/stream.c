/* reassembly/stream.c: one direction of a TCP connection, put back in order.
 *
 * Every byte has a 64-bit offset from the stream's first byte; `next` is the
 * offset of the next byte to hand to the sink. Everything before `next` was
 * delivered (as bytes or as a gap) and is forgotten. Bytes that arrive ahead
 * of `next` are copied into held blocks: disjoint ranges, all starting after
 * `next`, indexed by an AVL tree on their offset. Because the blocks are
 * disjoint, ordering them by offset also orders them by end, so "the first
 * block ending after x" is one walk down the tree.
 *
 * Why a tree: with a sorted list, a sender that puts each new segment just
 * before the highest one held makes every insertion walk the whole list.
 * At the default max_ooo (1 MiB, about 16,000 one-byte blocks) that cost
 * 270 us a segment; the tree keeps every operation at O(log n).
 *
 * A new segment is first trimmed of what was delivered, compared with what
 * is held (first data wins, differences are counted), then cut into the
 * pieces no held block covers. The piece starting at `next` goes to the sink
 * straight from the caller's buffer; the others are copied and held. Gap
 * events next to each other are merged into one.
 *
 * What this does not do: look at TCP flags, windows or checksums (flow.c
 * decides what a segment is), or keep any byte once it is delivered. */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reasm_int.h"

struct reasm_block {
	struct reasm_block *left, *right;	/* tree links */
	uint64_t off;			/* offset of data[0]; > stream's next */
	isc_time ts;			/* capture time of the segment */
	uint32_t len;			/* captured bytes in data[] */
	uint32_t missing;		/* bytes after data[] that were not
					 * captured: in the range, never seen */
	uint8_t height;			/* of the subtree rooted here, >= 1 */
	uint8_t data[];
};

_Static_assert(sizeof(struct reasm_block) + 16 <= REASM_BLOCK_COST,
	       "REASM_BLOCK_COST must cover a block header and malloc's");

/* A segment, or a piece of one, in stream offsets: len captured bytes at p
 * (borrowed), then missing bytes that were on the wire but not captured. */
struct seg {
	uint64_t off;
	const uint8_t *p;
	uint64_t len;
	uint64_t missing;
	isc_time ts;
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t seg_end(const struct seg *g)
{
	return g->off + g->len + g->missing;
}

/* Returns the part of g in [a, b); the range must lie inside g. */
static struct seg seg_cut(const struct seg *g, uint64_t a, uint64_t b)
{
	uint64_t dend = g->off + g->len;
	struct seg r = { a, NULL, 0, 0, g->ts };

	if (a < dend) {
		r.p = g->p + (a - g->off);
		r.len = min_u64(b, dend) - a;
	}
	r.missing = b - a - r.len;
	return r;
}

static uint64_t blk_end(const struct reasm_block *b)
{
	return b->off + b->len + b->missing;
}

/* The sequence number of the byte at offset off. */
static uint32_t seq_at(const struct reasm_stream *s, uint64_t off)
{
	return s->isn + (uint32_t)off;
}

/* ---- the tree of held blocks (AVL) ---- */

static int height(const struct reasm_block *b)
{
	return b ? b->height : 0;
}

static void fix_height(struct reasm_block *b)
{
	int l = height(b->left), r = height(b->right);

	b->height = (uint8_t)(1 + (l > r ? l : r));
}

static struct reasm_block *rotate_right(struct reasm_block *b)
{
	struct reasm_block *l = b->left;

	b->left = l->right;
	l->right = b;
	fix_height(b);
	fix_height(l);
	return l;
}

static struct reasm_block *rotate_left(struct reasm_block *b)
{
	struct reasm_block *r = b->right;

	b->right = r->left;
	r->left = b;
	fix_height(b);
	fix_height(r);
	return r;
}

/* Restores the AVL property at b, whose subtrees are AVL trees differing
 * in height by at most 2. Returns the subtree's new root. */
static struct reasm_block *rebalance(struct reasm_block *b)
{
	int bf = height(b->left) - height(b->right);

	if (bf > 1) {
		if (height(b->left->left) < height(b->left->right))
			b->left = rotate_left(b->left);
		return rotate_right(b);
	}
	if (bf < -1) {
		if (height(b->right->right) < height(b->right->left))
			b->right = rotate_right(b->right);
		return rotate_left(b);
	}
	fix_height(b);
	return b;
}

/* Inserts b (whose offset no block in t has) into t; returns the new root.
 * Recursion depth is the tree's height: under 1.45 log2(n) + 2. */
static struct reasm_block *tree_insert(struct reasm_block *t,
				       struct reasm_block *b)
{
	if (!t)
		return b;
	if (b->off < t->off)
		t->left = tree_insert(t->left, b);
	else
		t->right = tree_insert(t->right, b);
	return rebalance(t);
}

/* Unlinks the lowest block of t (non-empty) into *min_r; returns the new
 * root. */
static struct reasm_block *tree_remove_min(struct reasm_block *t,
					   struct reasm_block **min_r)
{
	if (!t->left) {
		*min_r = t;
		return t->right;
	}
	t->left = tree_remove_min(t->left, min_r);
	return rebalance(t);
}

static struct reasm_block *tree_lowest(struct reasm_block *t)
{
	if (t)
		while (t->left)
			t = t->left;
	return t;
}

/* Returns the first held block that ends after off, or NULL. Nothing held,
 * or off past everything held, costs O(1). */
static struct reasm_block *find_after(const struct reasm_stream *s,
				      uint64_t off)
{
	struct reasm_block *b = s->root, *best = NULL;

	if (!s->last || blk_end(s->last) <= off)
		return NULL;
	while (b) {
		if (blk_end(b) > off) {
			best = b;
			b = b->left;
		} else {
			b = b->right;
		}
	}
	return best;
}

/* Links b into the tree. b overlaps no held block. */
static void insert_block(struct reasm_stream *s, struct reasm_block *b)
{
	b->left = b->right = NULL;
	b->height = 1;
	s->root = tree_insert(s->root, b);
	if (!s->first || b->off < s->first->off)
		s->first = b;
	if (!s->last || b->off > s->last->off)
		s->last = b;
}

/* Unlinks the lowest held block (there must be one) and returns it. */
static struct reasm_block *remove_first(struct reasm_stream *s)
{
	struct reasm_block *b = NULL;

	s->root = tree_remove_min(s->root, &b);
	assert(b == s->first);
	s->first = tree_lowest(s->root);
	if (!s->first)
		s->last = NULL;
	return b;
}

/* ---- delivery ---- */

/* The time to stamp an event that happened at ts: never before the
 * stream's previous event. */
static isc_time stamp(struct reasm_stream *s, isc_time ts)
{
	if (ts < s->last_ts)	/* INT64_MIN before the first event */
		ts = s->last_ts;
	s->last_ts = ts;
	return ts;
}

/* Reports the pending gap, if any, to the sink, at time ts. */
static void flush_gap(struct reasm_stream *s, isc_time ts)
{
	uint64_t n = s->pend_gap;

	if (n == 0)
		return;
	s->pend_gap = 0;
	REASM_STAT_ADD(s, gaps, 1);
	REASM_STAT_ADD(s, gap_bytes, n);
	ts = stamp(s, ts);
	if (s->sink.gap)
		s->sink.gap(s->sink.ctx, ts, n);
}

/* Gives up n bytes at next: they become part of the pending gap, reported
 * before the next data or at the end of the public call. */
static void skip_bytes(struct reasm_stream *s, uint64_t n)
{
	s->pend_gap += n;
	s->next += n;
}

/* A cheap 64-bit fingerprint of a delivered piece: every byte of a short
 * piece (command lines, where a rewrite matters most), and of a long one
 * (literal data) its first and last 64 bytes and one 8-byte word in every
 * 128, 27 words of a 1448-byte segment. It tells a changed copy apart; it
 * is no cryptographic hash.
 *
 * Words go into four independent lanes, folded at the end: with one chain
 * each multiply waited for the one before. On the 1 GB mixed bench capture
 * (mostly 1448-byte literal segments) fingerprints took 8.8% of the run
 * time with one chain and 51 words a segment, 7% with four lanes. */
#define FP_MUL 0xff51afd7ed558ccdULL
#define FP_STRIDE ((uint64_t)128)	/* bytes between sampled words */

/* One word into a lane. The rotation brings the last product's high
 * half, where every bit of its input counts, down to where this multiply
 * carries it up again; it takes one instruction where h ^ h >> 32 took
 * three. Either way a step is a bijection of h and of w, so two pieces
 * that differ in one word read always get different fingerprints. It
 * comes before the multiply, not after: a lane's last step then leaves a
 * product that the fold at the end rotates once, not twice. */
static inline uint64_t fp_mix(uint64_t h, const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return ((h << 32 | h >> 32) ^ w) * FP_MUL;
}

/* Two words into a lane, with one rotation for both: still a bijection of
 * h, of a's word and of b's (xor, then a multiply by an odd number), so
 * the property above holds. Between the two multiplies no rotation brings
 * the high half down, so the pairs of changes that cancel exactly are of
 * the same kind as with one rotation a word (there the top bit of a word
 * and bit 31 of the lane's next word, here the top bit of both words of a
 * pair). Five instructions for two words instead of six: with the loops
 * below, fingerprint() went from 124 to 107 instructions a delivered piece
 * on bench's mixed capture (a 1448-byte segment: 147 -> 125; bench's
 * mixed capture: 1,132 -> 1,120 instructions a packet). */
static inline uint64_t fp_mix2(uint64_t h, const uint8_t *a, const uint8_t *b)
{
	uint64_t w, v;

	memcpy(&w, a, 8);
	memcpy(&v, b, 8);
	return (((h << 32 | h >> 32) ^ w) * FP_MUL ^ v) * FP_MUL;
}

/* Eight words, stride bytes apart: the first four and the last four in
 * pairs, one pair into each lane. */
static inline void fp_eight(uint64_t h[4], const uint8_t *p, size_t stride)
{
	h[0] = fp_mix2(h[0], p, p + 4 * stride);
	h[1] = fp_mix2(h[1], p + stride, p + 5 * stride);
	h[2] = fp_mix2(h[2], p + 2 * stride, p + 6 * stride);
	h[3] = fp_mix2(h[3], p + 3 * stride, p + 7 * stride);
}

/* The words at p + i, p + i + stride, ... that end by lim: eight a step,
 * then those left over, four, two and one, each to fixed lanes (no lane is
 * picked by a counter, which kept the lanes in memory). Three tests for
 * the words left over where the former loops tested word by word (19
 * instructions for three words). Returns the offset after them. */
static inline uint64_t fp_words(uint64_t h[4], const uint8_t *p, uint64_t i,
				uint64_t lim, uint64_t stride)
{
	for (; i + 7 * stride + 8 <= lim; i += 8 * stride)
		fp_eight(h, p + i, stride);
	if (i + 3 * stride + 8 <= lim) {
		h[0] = fp_mix2(h[0], p + i, p + i + 2 * stride);
		h[1] = fp_mix2(h[1], p + i + stride, p + i + 3 * stride);
		i += 4 * stride;
	}
	if (i + stride + 8 <= lim) {
		h[2] = fp_mix2(h[2], p + i, p + i + stride);
		i += 2 * stride;
	}
	if (i + 8 <= lim) {
		h[3] = fp_mix(h[3], p + i);
		i += stride;
	}
	return i;
}

/* A short piece's last n % 8 bytes are read as the word ending the piece
 * (it overlaps the one before), not byte by byte. Every byte the old loops
 * read is still read (all of a short piece; of a long one the first and
 * last 64 and a word in every 128, the word at 64 + 128 * i for each i
 * with 64 + 128 * i + 8 <= n - 64). */
uint64_t reasm_fingerprint(const uint8_t *p, uint64_t n)
{
	uint64_t h[4] = { 0x9e3779b97f4a7c15ULL ^ n, 0x6a09e667f3bcc909ULL,
			  0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL };

	if (n <= 256) {
		uint64_t i = fp_words(h, p, 0, n, 8);

		if (i < n && n >= 8) {
			h[3] = fp_mix(h[3], p + n - 8);
		} else {
			for (; i < n; i++)	/* n < 8 */
				h[3] = (h[3] ^ p[i]) * 0xc4ceb9fe1a85ec53ULL;
		}
	} else {
		fp_eight(h, p, 8);			/* the first 64 bytes */
		(void)fp_words(h, p, 64, n - 64, FP_STRIDE);
		fp_eight(h, p + n - 64, 8);		/* the last 64 */
	}
	uint64_t x = h[0] ^ (h[1] << 16 | h[1] >> 48) ^
		     (h[2] << 32 | h[2] >> 32) ^ (h[3] << 48 | h[3] >> 16);
	x = (x ^ x >> 29) * FP_MUL;
	return x ^ x >> 32;
}

/* Remembers a delivered piece's range and fingerprint. */
static void remember(struct reasm_stream *s, const uint8_t *p, uint64_t n)
{
	struct reasm_recent *r = &s->recent[s->recent_next++ % REASM_RECENT];
	r->off = s->next;
	r->len = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	r->hash = reasm_fingerprint(p, r->len);
}

/* A copy of bytes already delivered: if it covers exactly a piece we
 * remember, does it carry the same bytes? */
static bool differs_from_delivered(const struct reasm_stream *s, uint64_t off,
				   const uint8_t *p, size_t len)
{
	for (unsigned i = 0; i < REASM_RECENT; i++) {
		const struct reasm_recent *r = &s->recent[i];
		if (r->len && r->off == off && r->len == len)
			return r->hash != reasm_fingerprint(p, len);
	}
	return false;
}

/* Hands n bytes at p (borrowed) to the sink; they are the bytes at next,
 * captured at ts. A pending gap before them is reported first. */
static void deliver_bytes(struct reasm_stream *s, isc_time ts,
			  const uint8_t *p, uint64_t n)
{
	if (n == 0)
		return;
	remember(s, p, n);
	flush_gap(s, ts);
	ts = stamp(s, ts);
	REASM_STAT_ADD(s, bytes_delivered, n);
	if (s->sink.data)
		s->sink.data(s->sink.ctx, ts, p, (size_t)n);
	s->next += n;
}

/* Delivers a piece that starts at next: its bytes, then its missing tail
 * as a gap. */
static void deliver_seg(struct reasm_stream *s, const struct seg *g)
{
	assert(g->off == s->next);
	deliver_bytes(s, g->ts, g->p, g->len);
	skip_bytes(s, g->missing);
}

/* Returns a held block's charge to max_ooo and the memcap and frees it. */
static void release(struct reasm_stream *s, struct reasm_block *b)
{
	size_t cost = REASM_BLOCK_COST + (size_t)b->len;

	assert(s->held >= cost && s->mc->used >= cost);
	s->held -= cost;
	s->mc->used -= cost;
	free(b);
}

/* Delivers and frees the held blocks that are now in order, each at its
 * own capture time. */
static void drain(struct reasm_stream *s)
{
	while (s->first && s->first->off == s->next) {
		struct reasm_block *b = remove_first(s);
		struct seg g = { b->off, b->data, b->len, b->missing, b->ts };

		deliver_seg(s, &g);
		release(s, b);
	}
	assert(!s->first || s->first->off > s->next);
}

/* Gives up the hole before the first held block: it becomes a gap, then
 * the blocks that follow in order are delivered. There must be a block. */
static void give_up_hole(struct reasm_stream *s)
{
	assert(s->first && s->first->off > s->next);
	skip_bytes(s, s->first->off - s->next);
	drain(s);
}

/* Returns how many bytes of g held blocks already cover, and sets *differ
 * when captured bytes on both sides disagree. Changes nothing. */
static uint64_t compare_held(const struct reasm_stream *s, const struct seg *g,
			     bool *differ)
{
	uint64_t end = seg_end(g), gdend = g->off + g->len, covered = 0;
	const struct reasm_block *b;

	for (b = find_after(s, g->off); b && b->off < end;
	     b = find_after(s, blk_end(b))) {
		uint64_t a = max_u64(b->off, g->off);
		uint64_t dz = min_u64(b->off + b->len, gdend);

		covered += min_u64(blk_end(b), end) - a;
		if (dz > a && memcmp(b->data + (a - b->off),
				     g->p + (a - g->off), dz - a) != 0)
			*differ = true;
	}
	return covered;
}

enum hold_result {
	HOLD_DELIVERED,		/* it came in order while making room */
	HOLD_HELD,
	HOLD_REFUSED,		/* too big for a bound on its own, or ENOMEM */
};

/* True when cost more bytes fit under both bounds (which are never passed,
 * so the subtractions cannot wrap). */
static bool fits(const struct reasm_stream *s, size_t cost)
{
	return cost <= s->max_ooo - s->held &&
	       cost <= s->mc->limit - s->mc->used;
}

/* Copies piece g, which lies in a hole after next, into a held block.
 * While it does not fit, holes are given up oldest first: a hole before a
 * held block becomes a gap and the blocks after it are delivered; once the
 * piece itself is in the oldest hole, the hole up to the piece becomes a
 * gap and the piece is delivered from the caller's buffer, uncopied.
 * A piece that alone passes max_ooo or the whole memcap is refused: its
 * bytes will be part of a later gap. */
static enum hold_result hold_piece(struct reasm_stream *s, const struct seg *g)
{
	size_t cost = REASM_BLOCK_COST + (size_t)g->len;
	struct reasm_block *b;

	if (cost > s->max_ooo || cost > s->mc->limit)
		return HOLD_REFUSED;
	for (;;) {
		if (g->off == s->next) {
			deliver_seg(s, g);
			drain(s);
			return HOLD_DELIVERED;
		}
		if (fits(s, cost))
			break;
		if (s->first && s->first->off < g->off)
			give_up_hole(s);
		else
			skip_bytes(s, g->off - s->next);
	}
	b = malloc(sizeof(*b) + (size_t)g->len);
	if (!b)
		return HOLD_REFUSED;
	b->off = g->off;
	b->ts = g->ts;
	b->len = (uint32_t)g->len;
	b->missing = (uint32_t)g->missing;
	if (g->len)
		memcpy(b->data, g->p, (size_t)g->len);
	s->held += cost;
	s->mc->used += cost;
	insert_block(s, b);
	return HOLD_HELD;
}

/* Delivers or holds every piece of g (which starts at or after next) that
 * no held block covers. Holding may deliver blocks and move next past
 * later pieces; those bytes were held and already compared, so they are
 * skipped. */
static void place(struct reasm_stream *s, const struct seg *g)
{
	uint64_t cur = g->off, end = seg_end(g);
	bool held = false, refused = false;

	while (cur < end) {
		struct reasm_block *b;
		struct seg piece;
		uint64_t stop;

		if (cur < s->next) {
			cur = min_u64(s->next, end);
			continue;
		}
		b = find_after(s, cur);
		if (b && b->off <= cur) {
			cur = min_u64(blk_end(b), end);
			continue;
		}
		stop = b ? min_u64(b->off, end) : end;
		piece = seg_cut(g, cur, stop);
		if (cur == s->next) {
			deliver_seg(s, &piece);
			drain(s);
		} else {
			enum hold_result r = hold_piece(s, &piece);

			held |= r == HOLD_HELD;
			refused |= r == HOLD_REFUSED;
		}
		cur = stop;
	}
	if (held)
		REASM_STAT_ADD(s, ooo_held, 1);
	if (refused)
		s->mc->refusals++;
}

/* Drops the first n bytes of g (captured ones first), keeping g->off.
 * n is less than g's length. */
static void seg_drop_front(struct seg *g, uint64_t n)
{
	uint64_t d = min_u64(n, g->len);

	if (d)
		g->p += d;
	g->len -= d;
	g->missing -= n - d;
}

/* ---- public ---- */

void reasm_stream_init(struct reasm_stream *s, uint32_t isn, size_t max_ooo,
		       struct reasm_memcap *mc, const struct reasm_sink *sink)
{
	assert(mc && sink);
	memset(s, 0, sizeof(*s));
	s->isn = isn;
	s->last_ts = INT64_MIN;
	s->max_ooo = max_ooo;
	s->mc = mc;
	s->sink = *sink;
}

/* Frees the subtree t, returning its charges. Recursion depth is the
 * tree's height. */
static void free_tree(struct reasm_stream *s, struct reasm_block *t)
{
	if (!t)
		return;
	free_tree(s, t->left);
	free_tree(s, t->right);
	release(s, t);
}

void reasm_stream_fini(struct reasm_stream *s)
{
	free_tree(s, s->root);
	s->root = s->first = s->last = NULL;
	assert(s->held == 0);
}

int reasm_stream_new(uint32_t isn, size_t max_ooo, struct reasm_memcap *mc,
		     const struct reasm_sink *sink, struct reasm_stream **s_r)
{
	struct reasm_stream *s = malloc(sizeof(*s));

	if (!s)
		return ISC_ENOMEM;
	reasm_stream_init(s, isn, max_ooo, mc, sink);
	*s_r = s;
	return ISC_OK;
}

void reasm_stream_free(struct reasm_stream **sp)
{
	struct reasm_stream *s = *sp;

	if (!s)
		return;
	reasm_stream_fini(s);
	free(s);
	*sp = NULL;
}

/* reasm_stream_add() for a segment that is not simply the next bytes.
 * The segment is unwrapped against next: the signed 32-bit distance from
 * next's sequence number says where it lies, so wraparound needs nothing
 * special. Bytes before next (delivered, gapped, or before the ISN) are
 * dropped; a segment longer or further ahead than any window allows is
 * garbage (counted in segments, nothing else). Out of line, so that the
 * in-order path keeps no registers and no stack for it. */
__attribute__((noinline))
static void add_general(struct reasm_stream *s, isc_time ts, uint32_t seq,
			const uint8_t *p, size_t len, uint32_t missing)
{
	int64_t d = (int32_t)(seq - seq_at(s, s->next));
	uint64_t total, covered = 0;
	struct seg g = { s->next, p, len, missing, ts };
	bool differ = false;

	if (len == 0 && missing == 0)
		return;
	REASM_STAT_ADD(s, segments, 1);
	total = (uint64_t)len + missing;
	if (total > REASM_WINDOW_MAX || d > (int64_t)REASM_WINDOW_MAX)
		return;
	if (d < 0) {
		covered = (uint64_t)-d;
		if (covered >= total) {
			REASM_STAT_ADD(s, retransmitted, 1);
			if (missing == 0 &&
			    differs_from_delivered(s, s->next - covered, p, len))
				REASM_STAT_ADD(s, inconsistent, 1);
			return;
		}
		seg_drop_front(&g, covered);	/* g.off stays next */
	} else {
		g.off = s->next + (uint64_t)d;
	}
	covered += compare_held(s, &g, &differ);
	if (covered == total)
		REASM_STAT_ADD(s, retransmitted, 1);
	else if (covered)
		REASM_STAT_ADD(s, overlaps, 1);
	if (differ)
		REASM_STAT_ADD(s, inconsistent, 1);
	if (covered < total)
		place(s, &g);
	flush_gap(s, ts);
}

void reasm_stream_add(struct reasm_stream *s, isc_time ts, uint32_t seq,
		      const uint8_t *p, size_t len, uint32_t missing)
{
	/* In order, nothing held: what add_general() comes to (its
	 * compare_held() and place() find nothing held and deliver the
	 * segment whole), without building the segment on the stack or
	 * saving its registers. Most segments are so: on bench's mixed
	 * capture such a segment took 121 instructions here and in the
	 * delivery (fingerprint and sink aside), 88 so. */
	if (reasm_stream_is_next(s, seq, len, missing)) {
		/* The usual case, all bytes captured: no gap is pending
		 * (see reasm_stream_pass()), so the steps below would do
		 * nothing more, and ending in the sink's call makes it a
		 * tail call with no stack frame here: 13 instructions a
		 * packet fewer on bench's mixed capture. */
		assert(s->pend_gap == 0);
		reasm_stream_pass(s, ts, p, len);
		if (s->sink.data)
			s->sink.data(s->sink.ctx, s->last_ts, p, len);
		return;
	}
	if (seq == seq_at(s, s->next) && !s->first && (len || missing) &&
	    (uint64_t)len + missing <= REASM_WINDOW_MAX) {
		REASM_STAT_ADD(s, segments, 1);
		deliver_bytes(s, ts, p, len);
		skip_bytes(s, missing);
		flush_gap(s, ts);
		return;
	}
	add_general(s, ts, seq, p, len, missing);
}

/* Holes before ack are given up one by one, delivering what is held after
 * each; a hole that reaches past ack is given up only up to ack, and the
 * blocks after it stay held. */
void reasm_stream_ack(struct reasm_stream *s, isc_time ts, uint32_t ack)
{
	int32_t d = (int32_t)(ack - seq_at(s, s->next));
	uint64_t target;

	if (d <= 0 || (uint64_t)d > REASM_WINDOW_MAX)
		return;
	target = s->next + (uint64_t)d;
	while (s->next < target) {
		if (s->first && s->first->off <= target)
			give_up_hole(s);
		else
			skip_bytes(s, target - s->next);
	}
	flush_gap(s, ts);
}

void reasm_stream_flush(struct reasm_stream *s, isc_time ts)
{
	while (s->first)
		give_up_hole(s);
	flush_gap(s, ts);
}

uint64_t reasm_stream_offset(const struct reasm_stream *s)
{
	return s->next;
}

const struct reasm_stats *reasm_stream_stats(const struct reasm_stream *s)
{
	return &s->st;
}

int reasm_stream_tree_height(const struct reasm_stream *s)
{
	return height(s->root);
}
