/* reassembly/reasm_int.h: what stream.c and flow.c share and nobody else
 * should use. Never include this from another module (the unit tests of
 * this module do, to reach the test hooks at the end). */
#ifndef ISC_REASM_INT_H
#define ISC_REASM_INT_H

#include <stdbool.h>

#include "stream.h"

/* Bytes charged to max_ooo and to the memcap for every held block, on top
 * of its captured bytes: the block header (48 bytes on LP64: two tree
 * links, offset, timestamp, lengths, height) plus malloc's own header and
 * rounding (8 to 23 bytes with glibc). A block whose segment was cut by the
 * snaplen (or a 1-byte segment) still costs that much, so without this a
 * flood of tiny segments would pin memory the bounds never see. A fixed
 * number, not sizeof, so the accounting is the same on every platform. */
#define REASM_BLOCK_COST 64

/* The largest TCP window (65535 << 14, RFC 7323 2.3) rounded up: no sender
 * can have more than this in flight, so a segment starting further ahead of
 * the next expected byte, or an ACK further ahead, is garbage and ignored. */
#define REASM_WINDOW_MAX ((uint64_t)1 << 30)

struct reasm_block;

/* One direction. Public only inside the module, so that flow.c can embed
 * two in each flow (one allocation a flow, not three); everyone else goes
 * through reasm_stream_new() and the accessors. */
#define REASM_RECENT 4		/* delivered pieces remembered */

/* Fields in the order an in-order segment or an ACK reads them: those
 * every segment needs first, then the counters, the fingerprints, and what
 * only held data needs (see struct flow in flow.c for the measure). */
struct reasm_stream {
	uint32_t isn;			/* sequence number of offset 0 (set at
					 * creation) */
	unsigned recent_next;		/* recent[] slot to write next */
	/* progress */
	uint64_t next;			/* offset of the next byte to deliver */
	uint64_t pend_gap;		/* gap bytes skipped, unreported */
	isc_time last_ts;		/* time of the last event (INT64_MIN
					 * before the first): events of a
					 * stream never go back in time */
	/* held blocks: an AVL tree ordered by offset (blocks are disjoint,
	 * so also by end), plus its lowest and highest block */
	struct reasm_block *first;
	/* set at creation */
	struct reasm_sink sink;
	struct reasm_stats st;
	/* fingerprints of the last pieces delivered, so that a later copy
	 * of the same range with other bytes (bytes we no longer hold) is
	 * still seen as inconsistent: the classic rewrite of a command */
	struct reasm_recent {
		uint64_t off;
		uint64_t hash;
		uint32_t len;
	} recent[REASM_RECENT];
	/* held blocks, continued */
	struct reasm_block *root;
	struct reasm_block *last;
	size_t held;			/* bytes charged for them, <= max_ooo */
	/* set at creation */
	size_t max_ooo;			/* bound on held, in bytes */
	struct reasm_memcap *mc;	/* shared, caller-owned */
};

/* Bumps one statistic of s. The flow table sums its streams' counters
 * when asked for them (flow_table_stats()), not at every segment: a
 * running total beside each counter cost a pointer load, a test and a
 * second add per update. */
#define REASM_STAT_ADD(s, field, n) ((s)->st.field += (n))

/* The 64-bit fingerprint kept of each delivered piece (see stream.c):
 * tells a later copy of it with other bytes. Can't fail. */
uint64_t reasm_fingerprint(const uint8_t *p, uint64_t n);

/* True when a segment at seq, with len captured bytes followed by missing
 * ones, is the bytes s expects next, all captured and not too long, while
 * s holds nothing: then all reasm_stream_add() would do is deliver it
 * whole, and reasm_stream_pass() does that but for the sink's call. */
static inline bool reasm_stream_is_next(const struct reasm_stream *s,
					uint32_t seq, size_t len,
					uint32_t missing)
{
	return seq == s->isn + (uint32_t)s->next && !s->first && len &&
	       !missing && len <= REASM_WINDOW_MAX;
}

/* For a segment reasm_stream_is_next() accepts: counts it, remembers it as
 * delivered, moves next past it, and sets s->last_ts to the time to stamp
 * its bytes with. The caller then hands the bytes on itself, to whoever
 * s's sink would have: the flow table calls its consumer directly, without
 * two calls into this file and the sink's call back out. No gap can be
 * pending here: every public call reports its gaps before it returns.
 * The fingerprint's call comes last and the time is left in s, not
 * returned: nothing of the caller's has to live across the call, so the
 * flow table's caller reads what the consumer's call needs from memory
 * after it instead of spilling it (bench's mixed capture: 150.44M -> 150.26M
 * instructions, 1.4 a packet). */
static inline void reasm_stream_pass(struct reasm_stream *s, isc_time ts,
				     const uint8_t *p, size_t len)
{
	struct reasm_recent *r = &s->recent[s->recent_next++ % REASM_RECENT];

	if (ts < s->last_ts)
		ts = s->last_ts;
	s->last_ts = ts;
	REASM_STAT_ADD(s, segments, 1);
	REASM_STAT_ADD(s, bytes_delivered, len);
	r->off = s->next;
	r->len = (uint32_t)len;		/* len <= REASM_WINDOW_MAX */
	s->next += len;
	r->hash = reasm_fingerprint(p, len);
}

/* Sets up *s in place, like reasm_stream_new() without the allocation.
 * Statistics start at zero. Can't fail. */
void reasm_stream_init(struct reasm_stream *s, uint32_t isn, size_t max_ooo,
		       struct reasm_memcap *mc, const struct reasm_sink *sink);

/* Frees what *s holds (without delivering it) and leaves it holding
 * nothing; its statistics stay readable. Can't fail. */
void reasm_stream_fini(struct reasm_stream *s);

/* SipHash-2-4 of n bytes at in under the 128-bit key (the flow table's
 * 4-tuple hash). Can't fail. */
uint64_t reasm_siphash(const uint8_t key[16], const void *in, size_t n);

/* The same for n = 12 (an IPv4 4-tuple), faster. Can't fail. */
uint64_t reasm_siphash12(const uint8_t key[16], const uint8_t in[12]);

/* ---- test hooks (tests/unit/test_reassembly.c) ---- */

struct flow_table;

/* Replaces the table's 128-bit hash key and rehashes every entry. Only for
 * tests that check that nothing observable depends on the key. */
void flow_table_set_hash_key(struct flow_table *t, const uint8_t key[16]);

/* Height of s's tree of held blocks (0 when none). */
int reasm_stream_tree_height(const struct reasm_stream *s);

#endif
