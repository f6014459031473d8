/* reassembly/stream.c: one direction of a TCP connection, put back in order.
 *
 * Every byte has a 64-bit offset from the stream's first byte; `next` is the
 * offset of the next byte to hand to the sink. Everything before `next` was
 * delivered (as bytes or as a gap) and is forgotten. Bytes that arrive ahead
 * of `next` are copied into held blocks: a singly linked list sorted by
 * offset, blocks disjoint, all starting after `next`.
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
	struct reasm_block *next;	/* next block, at higher offsets */
	uint64_t off;			/* offset of data[0]; > stream's next */
	uint32_t len;			/* captured bytes in data[] */
	uint32_t missing;		/* bytes after data[] that were not
					 * captured: in the range, never seen */
	uint8_t data[];
};

_Static_assert(sizeof(struct reasm_block) <= REASM_BLOCK_COST,
	       "REASM_BLOCK_COST must cover a block header");

struct reasm_stream {
	/* set at creation */
	uint32_t isn;			/* sequence number of offset 0 */
	size_t max_ooo;			/* bound on held, in bytes */
	struct reasm_memcap *mc;	/* shared, caller-owned */
	struct reasm_sink sink;
	struct reasm_stats *tot;	/* running totals (caller's) or NULL */
	/* progress */
	uint64_t next;			/* offset of the next byte to deliver */
	uint64_t pend_gap;		/* gap bytes skipped, unreported */
	struct reasm_block *head;	/* held blocks, lowest offset first */
	struct reasm_block *tail;
	size_t held;			/* bytes charged for them, <= max_ooo */
	struct reasm_stats st;
};

/* Bumps one statistic of s, and the running totals when there are any. */
#define STAT_ADD(s, field, n)						\
	do {								\
		(s)->st.field += (n);					\
		if ((s)->tot)						\
			(s)->tot->field += (n);				\
	} while (0)

/* A segment, or a piece of one, in stream offsets: len captured bytes at p
 * (borrowed), then missing bytes that were on the wire but not captured. */
struct seg {
	uint64_t off;
	const uint8_t *p;
	uint64_t len;
	uint64_t missing;
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
	struct seg r = { a, NULL, 0, 0 };

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

/* Reports the pending gap, if any, to the sink. */
static void flush_gap(struct reasm_stream *s, isc_time ts)
{
	uint64_t n = s->pend_gap;

	if (n == 0)
		return;
	s->pend_gap = 0;
	STAT_ADD(s, gaps, 1);
	STAT_ADD(s, gap_bytes, n);
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

/* Hands n bytes at p (borrowed) to the sink; they are the bytes at next. */
static void deliver_bytes(struct reasm_stream *s, isc_time ts,
			  const uint8_t *p, uint64_t n)
{
	if (n == 0)
		return;
	flush_gap(s, ts);
	STAT_ADD(s, bytes_delivered, n);
	if (s->sink.data)
		s->sink.data(s->sink.ctx, ts, p, (size_t)n);
	s->next += n;
}

/* Delivers a piece that starts at next: its bytes, then its missing tail
 * as a gap. */
static void deliver_seg(struct reasm_stream *s, isc_time ts,
			const struct seg *g)
{
	assert(g->off == s->next);
	deliver_bytes(s, ts, g->p, g->len);
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

/* Delivers and frees the held blocks that are now in order. */
static void drain(struct reasm_stream *s, isc_time ts)
{
	struct reasm_block *b;

	while ((b = s->head) && b->off == s->next) {
		struct seg g = { b->off, b->data, b->len, b->missing };

		s->head = b->next;
		if (!s->head)
			s->tail = NULL;
		deliver_seg(s, ts, &g);
		release(s, b);
	}
	assert(!s->head || s->head->off > s->next);
}

/* Gives up the hole before the first held block: it becomes a gap, then
 * the blocks that follow in order are delivered. There must be a block. */
static void give_up_hole(struct reasm_stream *s, isc_time ts)
{
	assert(s->head && s->head->off > s->next);
	skip_bytes(s, s->head->off - s->next);
	drain(s, ts);
}

/* Returns the first held block that ends after off, or NULL. The common
 * cases (nothing held, or off past everything held) cost O(1). */
static struct reasm_block *find_after(const struct reasm_stream *s,
				      uint64_t off)
{
	struct reasm_block *b;

	if (!s->tail || blk_end(s->tail) <= off)
		return NULL;
	for (b = s->head; blk_end(b) <= off; b = b->next)
		;
	return b;
}

/* Links b into the sorted list. b overlaps no held block. */
static void insert_block(struct reasm_stream *s, struct reasm_block *b)
{
	struct reasm_block **pp;

	if (!s->tail || s->tail->off < b->off) {
		b->next = NULL;
		if (s->tail)
			s->tail->next = b;
		else
			s->head = b;
		s->tail = b;
		return;
	}
	for (pp = &s->head; (*pp)->off < b->off; pp = &(*pp)->next)
		;
	b->next = *pp;
	*pp = b;
}

/* Returns how many bytes of g held blocks already cover, and sets *differ
 * when captured bytes on both sides disagree. Changes nothing. */
static uint64_t compare_held(const struct reasm_stream *s, const struct seg *g,
			     bool *differ)
{
	uint64_t end = seg_end(g), gdend = g->off + g->len, covered = 0;
	const struct reasm_block *b;

	for (b = find_after(s, g->off); b && b->off < end; b = b->next) {
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
static enum hold_result hold_piece(struct reasm_stream *s, isc_time ts,
				   const struct seg *g)
{
	size_t cost = REASM_BLOCK_COST + (size_t)g->len;
	struct reasm_block *b;

	if (cost > s->max_ooo || cost > s->mc->limit)
		return HOLD_REFUSED;
	for (;;) {
		if (g->off == s->next) {
			deliver_seg(s, ts, g);
			drain(s, ts);
			return HOLD_DELIVERED;
		}
		if (fits(s, cost))
			break;
		if (s->head && s->head->off < g->off)
			give_up_hole(s, ts);
		else
			skip_bytes(s, g->off - s->next);
	}
	b = malloc(sizeof(*b) + (size_t)g->len);
	if (!b)
		return HOLD_REFUSED;
	b->off = g->off;
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
static void place(struct reasm_stream *s, isc_time ts, const struct seg *g)
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
			deliver_seg(s, ts, &piece);
			drain(s, ts);
		} else {
			enum hold_result r = hold_piece(s, ts, &piece);

			held |= r == HOLD_HELD;
			refused |= r == HOLD_REFUSED;
		}
		cur = stop;
	}
	if (held)
		STAT_ADD(s, ooo_held, 1);
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

int reasm_stream_new(uint32_t isn, size_t max_ooo, struct reasm_memcap *mc,
		     const struct reasm_sink *sink, struct reasm_stream **s_r)
{
	struct reasm_stream *s;

	assert(mc && sink);
	s = calloc(1, sizeof(*s));
	if (!s)
		return ISC_ENOMEM;
	s->isn = isn;
	s->max_ooo = max_ooo;
	s->mc = mc;
	s->sink = *sink;
	*s_r = s;
	return ISC_OK;
}

void reasm_stream_free(struct reasm_stream **sp)
{
	struct reasm_stream *s = *sp;
	struct reasm_block *b, *nb;

	if (!s)
		return;
	for (b = s->head; b; b = nb) {
		nb = b->next;
		release(s, b);
	}
	free(s);
	*sp = NULL;
}

void reasm_stream_set_totals(struct reasm_stream *s, struct reasm_stats *tot)
{
	s->tot = tot;
}

/* The segment is unwrapped against next: the signed 32-bit distance from
 * next's sequence number says where it lies, so wraparound needs nothing
 * special. Bytes before next (delivered, gapped, or before the ISN) are
 * dropped; a segment longer or further ahead than any window allows is
 * garbage (counted in segments, nothing else). */
void reasm_stream_add(struct reasm_stream *s, isc_time ts, uint32_t seq,
		      const uint8_t *p, size_t len, uint32_t missing)
{
	int64_t d = (int32_t)(seq - seq_at(s, s->next));
	uint64_t total, covered = 0;
	struct seg g = { s->next, p, len, missing };
	bool differ = false;

	if (len == 0 && missing == 0)
		return;
	STAT_ADD(s, segments, 1);
	total = (uint64_t)len + missing;
	if (total > REASM_WINDOW_MAX || d > (int64_t)REASM_WINDOW_MAX)
		return;
	if (d < 0) {
		covered = (uint64_t)-d;
		if (covered >= total) {
			STAT_ADD(s, retransmitted, 1);
			return;
		}
		seg_drop_front(&g, covered);	/* g.off stays next */
	} else {
		g.off = s->next + (uint64_t)d;
	}
	covered += compare_held(s, &g, &differ);
	if (covered == total)
		STAT_ADD(s, retransmitted, 1);
	else if (covered)
		STAT_ADD(s, overlaps, 1);
	if (differ)
		STAT_ADD(s, inconsistent, 1);
	if (covered < total)
		place(s, ts, &g);
	flush_gap(s, ts);
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
		if (s->head && s->head->off <= target)
			give_up_hole(s, ts);
		else
			skip_bytes(s, target - s->next);
	}
	flush_gap(s, ts);
}

void reasm_stream_flush(struct reasm_stream *s, isc_time ts)
{
	while (s->head)
		give_up_hole(s, ts);
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
