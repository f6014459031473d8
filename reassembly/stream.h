/* reassembly/stream.h: one direction of a TCP connection, put back in order.
 *
 * Sequence numbers become 64-bit offsets from the stream's first sequence
 * number, so nothing downstream deals with 32-bit wraparound. Segments that
 * arrive in order are delivered straight from the caller's buffer, with no
 * copy. Out-of-order segments are copied and held (charged to the shared
 * memcap and to the per-stream max_ooo) until the hole before them fills.
 * Bytes already delivered or already held win over later copies (first data
 * wins, as most receiving stacks behave); a later copy whose overlapping bytes
 * differ is counted as an inconsistent retransmission.
 * A hole that cannot fill (bound hit, peer's ACK past it, stream flushed)
 * is delivered as a gap.
 *
 * Time: bytes are stamped with the capture time of the segment that carried
 * them (a held block keeps its own), a gap with the time of the bytes after
 * it or, when none follow yet, of the call that gave it up. Stamps of one
 * stream never go back: each is at least the one before it. So reordered
 * segments give the same stamps as the original order.
 *
 * Held blocks are indexed by a balanced tree: every operation costs
 * O(log n) in the number of held blocks, whatever order segments arrive in.
 *
 * Bytes passed to the sink are borrowed for the duration of the call. */
#ifndef ISC_REASM_STREAM_H
#define ISC_REASM_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include "../common/isc.h"

struct reasm_sink {
	void (*data)(void *ctx, isc_time ts, const uint8_t *p, size_t len);
	void (*gap)(void *ctx, isc_time ts, uint64_t len);	/* bytes never seen */
	void *ctx;
};

/* Bytes held out of order, summed over every stream sharing it. */
struct reasm_memcap {
	size_t limit;
	size_t used;
	uint64_t refusals;	/* segments not held because of the limit */
};

/* Counters of one direction. The first eight are kept by the stream; the
 * last two by the flow table, which decides what a segment is. */
struct reasm_stats {
	uint64_t segments;		/* segments with payload offered */
	uint64_t bytes_delivered;
	uint64_t retransmitted;		/* segments wholly already seen */
	uint64_t overlaps;		/* segments partly already seen */
	uint64_t inconsistent;		/* overlaps whose bytes differed from
					 * held ones (the held ones were kept) */
	uint64_t ooo_held;		/* segments held out of order */
	uint64_t gaps;			/* gap events delivered */
	uint64_t gap_bytes;
	uint64_t window_probes;		/* 1-byte segments into a zero window:
					 * not data, not delivered */
	uint64_t past_fin;		/* segments with bytes after the FIN:
					 * those bytes were dropped */
};

struct reasm_stream;

/* Creates a stream whose next expected byte has sequence number isn.
 * max_ooo bounds the bytes this stream holds; mc (shared, caller-owned,
 * must outlive the stream) bounds all streams. sink is copied. Returns 0
 * or ISC_ENOMEM (then *s_r is untouched). */
int reasm_stream_new(uint32_t isn, size_t max_ooo, struct reasm_memcap *mc,
		     const struct reasm_sink *sink, struct reasm_stream **s_r);

/* Frees held segments (without delivering them) and sets *s to NULL. */
void reasm_stream_free(struct reasm_stream **s);

/* Offers a segment of len captured bytes at p (borrowed: copied only if
 * held) starting at seq, followed by missing bytes that were on the wire
 * but not captured (snaplen). ts is its capture time. Delivers whatever
 * becomes in order. When holding it would pass a bound, the oldest hole is
 * given up as a gap first and delivery goes on. Can't fail. */
void reasm_stream_add(struct reasm_stream *s, isc_time ts, uint32_t seq,
		      const uint8_t *p, size_t len, uint32_t missing);

/* The peer acknowledged everything before ack: any hole before it can no
 * longer fill, so it is delivered as a gap followed by what is held. An
 * ack behind the next byte, or further ahead than any window, does
 * nothing. Can't fail. */
void reasm_stream_ack(struct reasm_stream *s, isc_time ts, uint32_t ack);

/* Delivers everything held, with gaps for the holes (end of the flow).
 * Bytes after the last held block are unknown and make no gap. */
void reasm_stream_flush(struct reasm_stream *s, isc_time ts);

/* Offset (from the ISN) of the next byte to deliver. */
uint64_t reasm_stream_offset(const struct reasm_stream *s);

/* The stream's own counters (the table-kept ones stay zero here unless the
 * stream belongs to a flow table). Valid as long as s. */
const struct reasm_stats *reasm_stream_stats(const struct reasm_stream *s);

#endif
