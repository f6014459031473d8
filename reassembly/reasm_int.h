/* reassembly/reasm_int.h: what stream.c and flow.c share and nobody else
 * should use. Never include this from another module. */
#ifndef ISC_REASM_INT_H
#define ISC_REASM_INT_H

#include "stream.h"

/* Bytes charged to max_ooo and to the memcap for every held block, on top
 * of its captured bytes. A block whose segment was cut by the snaplen (or
 * a 1-byte segment) still costs its header and allocator slack, so without
 * this a flood of tiny segments would pin memory the bounds never see. A
 * fixed number, not sizeof, so the accounting is the same on every
 * platform. */
#define REASM_BLOCK_COST 32

/* The largest TCP window (65535 << 14, RFC 7323 2.3) rounded up: no sender
 * can have more than this in flight, so a segment starting further ahead of
 * the next expected byte, or an ACK further ahead, is garbage and ignored. */
#define REASM_WINDOW_MAX ((uint64_t)1 << 30)

/* Makes s also add every change of its statistics into *tot (caller-owned,
 * must outlive s; NULL stops it). The flow table sums all its streams this
 * way, including the ones already freed. Can't fail. */
void reasm_stream_set_totals(struct reasm_stream *s, struct reasm_stats *tot);

#endif
