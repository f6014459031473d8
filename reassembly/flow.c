/* reassembly/flow.c: the flow table.
 *
 * Flows are found by their unordered 4-tuple in a chained hash table that
 * doubles as it fills, keyed with SipHash-2-4 under a random 128-bit key;
 * each entry keeps its hash, so only the packet's tuple is hashed, and
 * most packets not even that: an unkeyed memo in front finds their entry
 * first (see memo_slot()).
 * A live flow is on two lists: by last packet (LRU, kept lazily, for idle
 * expiry and eviction; see requeue()) and by opening (for finish). A flow closed by FIN or RST stays
 * in the hash table for a while as a closed entry, on a third list in the
 * order it closed, so the late packets of its connection open nothing.
 * Whatever reaches the callbacks depends only on the packets and the
 * limits, never on pointer values, the hash key, or where a flow sits in
 * the hash table: every sweep walks a list, never the buckets.
 *
 * A flow starts with a SYN or with a segment that carries payload; a bare
 * ACK, FIN or RST of a flow we do not know (the last ACK after both FINs,
 * say) opens nothing. Each direction gets its stream at its first packet:
 * after a SYN the byte after the SYN is its first byte; without one, the
 * byte the peer last acknowledged if the peer was seen first (so a first
 * segment that repeats old data, or that overtook an earlier one, is put
 * in its place), otherwise the first sequence number seen.
 *
 * Memory: one block a live flow (struct flow_whole: the entry and its
 * streams), a smaller one a closed entry, each kind from a pool of the
 * table's on huge pages (common/pool.h), plus its share of the
 * bucket array; docs/reassembly.md has the measured
 * figure. In-order data costs nothing more; held data is bounded by
 * max_ooo and memcap. Live and closed entries together never pass
 * max_flows: closed ones are dropped first, then the least recent live
 * flow is evicted. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"
#include "reasm_int.h"
#include "../common/pool.h"
#include "../common/rd.h"

const char *const flow_end_names[FLOW_END_COUNT] = {
	"fin", "rst", "idle", "eof", "evicted", "shutdown",
};

const char *const flow_role_basis_names[FLOW_ROLE_COUNT] = {
	"syn", "port", "content",
};

/* A RST is believed when its sequence number is within this distance of
 * the highest one its sender was seen to use: a real RST carries the
 * sender's next sequence number (or the ACK of the segment it answers), so
 * it is near; a blind forgery hits the window only 2^25 / 2^32 of the
 * time. 16 MiB is more than the in-flight data of any default stack, so a
 * capture that lost the sender's last segments still sees the RST. */
#define FLOW_RST_SLACK ((int32_t)1 << 24)

enum {
	HALF_STARTED = 0x01,	/* st is set up */
	HALF_SYN = 0x02,	/* its SYN or SYN+ACK seen: syn_seq is valid */
	HALF_FIN = 0x04,	/* its FIN seen: fin_seq is valid */
	HALF_FIN_DONE = 0x08,	/* every byte before the FIN delivered */
	HALF_ACKED = 0x10,	/* it sent an ACK: ack and win are valid */
	HALF_HI = 0x20,		/* hi is valid */
	HALF_PROBE = 0x40,	/* a window probe's byte is kept aside */
};

/* One direction of a flow: what its endpoint sent. The fields every
 * packet reads come first, next to the head of the stream (see struct
 * flow). Aligned so that its size is a whole number of cache lines,
 * whatever the stream's. */
struct flow_half {
	_Alignas(64) uint8_t flags;	/* HALF_* */
	uint8_t dir;			/* enum isc_dir: index in flow.half[] */
	uint16_t win;			/* window it advertised last, unscaled */
	uint32_t ack;			/* highest ACK it sent: the next byte
					 * it expects from the peer */
	uint32_t hi;			/* highest sequence number it used, + 1 */
	uint32_t fin_seq;		/* sequence number its FIN occupies */
	struct reasm_stream st;		/* valid with HALF_STARTED */
	uint32_t probe_seq;		/* the kept-aside probe byte's number */
	uint8_t probe_byte;
	isc_time probe_ts;
};

enum { LIST_LRU, LIST_AGE, LIST_LINGER, LIST_COUNT };

struct flow_link {
	struct flow *prev, *next;
};

struct flow_list {
	struct flow *head, *tail;	/* head: least recent / oldest */
};

/* What only a live flow needs: its two streams. A live flow is one
 * allocation, struct flow_whole (the streams next to the entry: one cache
 * miss less a packet than a separate block); a closed entry is a copy of
 * the struct flow alone (136 bytes instead of 832 on x86-64): what finding
 * it and telling its SYNs apart needs. On a capture of many short
 * connections the closed entries outnumber the live flows by far (up to
 * max_flows of them linger); with whole entries 1M sessions at 80,000 a
 * second peaked at 256 MiB. */
struct flow_live {
	struct flow_half half[2];	/* by enum isc_dir */
};

/* A flow's 4-tuple, roles decided. */
struct flow_key {
	struct isc_addr client, server;
	uint16_t client_port, server_port;
};

/* The fields every packet reads (finding the entry, matching its tuple,
 * its times; and for delivery the table and the user pointer) fill the
 * first 64 bytes: one cache line (see struct flow_whole). The flow_info
 * given to open() is built on the stack; the entry keeps only its tuple
 * and number. With a whole flow_info inside, the fields a packet read
 * spanned 102 bytes, and a closed entry took 184 bytes. */
struct flow {
	struct flow_table *t;
	isc_time last;			/* latest timestamp of its packets; for a
					 * closed entry, when it closed */
	struct flow_key key;
	bool closed;			/* a closed entry: no callbacks, no
					 * streams, absorbs late packets */
	uint8_t syn_seen;		/* bit dir: that direction's SYN seen */
	void *user;			/* what ops.open returned */
	/* the rest: lookups that miss the memo, SYNs, lists */
	struct flow *hnext;		/* hash chain */
	uint64_t hash;			/* tuple_hash() of its 4-tuple */
	uint64_t number;		/* flow_info.number */
	uint32_t syn_seq[2];		/* its SYNs' sequence numbers, by
					 * direction, valid with syn_seen */
	/* link[0]: the LRU list while live, the linger list once closed;
	 * link[1]: the age list while live */
	struct flow_link link[2];
	isc_time queued;		/* last when it entered the LRU list */
};

/* A live flow's block, laid out by cache line: its size is rounded up
 * to a multiple of 64 (see flow_table_new), so the pool starts it on a
 * line (common/pool.h), and then each half and the entry start a line
 * too. A packet reads the first line of each half and of the entry, a
 * data segment also the second of its half and one of recent[]; nothing
 * of a packet's straddles two lines. Reassembly's D1 misses (reads and
 * writes) on bench's many-flows capture, in cachegrind: 9.3 a packet
 * with the entry (a whole flow_info in it) first in the block, 8.2 so;
 * 10.3 with the back pointer and the running totals as well. */
struct flow_whole {
	struct flow_live lv;
	struct flow f;
};
_Static_assert(sizeof(struct flow_half) % 64 == 0 &&
	       offsetof(struct flow_whole, f) % 64 == 0,
	       "each half and the entry start a cache line");

static struct flow_whole *whole_of(struct flow *f)
{
	return (struct flow_whole *)((char *)f -
				     offsetof(struct flow_whole, f));
}

/* The streams of live flow f, in its block. */
static struct flow_live *flow_lv(struct flow *f)
{
	assert(!f->closed);
	return &whole_of(f)->lv;
}

struct flow_table {
	struct isc_limits lim;
	struct flow_ops ops;
	isc_time linger;		/* how long closed entries stay */
	struct flow **buckets;		/* owned, nbuckets chains */
	size_t nbuckets;		/* a power of two */
	struct flow **memo;		/* owned, 2^(64 - memo_shift) slots:
					 * see memo_slot() */
	unsigned memo_shift;
	uint64_t nentries;		/* live and closed, <= max_flows */
	uint8_t key[16];		/* SipHash key */
	struct flow_list lists[LIST_COUNT];
	struct flow *hot;		/* the last packet's flow, or NULL */
	isc_time due;			/* expire() has nothing to do while
					 * packets are no later: see due_*() */
	struct flow **sweep;		/* expire()'s idle flows, to sort */
	size_t sweep_cap;
	struct reasm_memcap mc;		/* shared by every stream */
	struct reasm_stats tot;		/* freed streams' sum: sync_stats() */
	struct isc_pool *wholes;	/* live flows' blocks (struct flow_whole) */
	struct isc_pool *closed;	/* closed entries' (struct flow) */
	struct flow_stats st;
	uint16_t port_seen;		/* a listed port, the last one found */
	uint64_t ports[65536 / 64];	/* server port list, as a bitmap */
};

#define FLOW_MIN_BUCKETS 64
#define FLOW_MAX_BUCKETS ((size_t)1 << 30)

/* ---- lists ---- */

static struct flow_link *link_of(struct flow *f, int w)
{
	return &f->link[w == LIST_AGE];
}

/* ---- when expire() has work ----
 *
 * expire() looks at the heads of the LRU and linger lists, two flows that
 * are cold in the cache (the least recently used, the oldest closed):
 * two cache misses a packet with thousands of flows. t->due is a time up
 * to which a call would find nothing to do, so expire() only runs for a
 * packet later than it. It is worked out from the heads when expire()
 * ends, lowered by any flow that joins a list, and set to the earliest
 * time when a head leaves its list or the LRU head gets a packet: the
 * calls that are skipped are exactly those that would have closed and
 * forgotten nothing, even when the capture's clock jumps about. */

#define DUE_NOW INT64_MIN

/* The time after which a flow whose time is last is past span: last +
 * span, saturating (idle_past(last, now, span) <=> now > due_of()). */
static isc_time due_of(isc_time last, isc_time span)
{
	return last > INT64_MAX - span ? INT64_MAX : last + span;
}

static void due_lower(struct flow_table *t, isc_time due)
{
	if (due < t->due)
		t->due = due;
}

/* Bound for a flow joining (or heading) list w. */
static isc_time due_in(const struct flow_table *t, int w, const struct flow *f)
{
	return w == LIST_LRU ? due_of(f->queued, t->lim.idle_timeout) :
	       w == LIST_LINGER ? due_of(f->last, t->linger) : INT64_MAX;
}

static void list_append(struct flow_table *t, int w, struct flow *f)
{
	struct flow_list *l = &t->lists[w];
	struct flow_link *k = link_of(f, w);

	due_lower(t, due_in(t, w, f));
	k->prev = l->tail;
	k->next = NULL;
	if (l->tail)
		link_of(l->tail, w)->next = f;
	else
		l->head = f;
	l->tail = f;
}

static void list_remove(struct flow_table *t, int w, struct flow *f)
{
	struct flow_list *l = &t->lists[w];
	struct flow_link *k = link_of(f, w);

	if (l->head == f && w != LIST_AGE)
		t->due = DUE_NOW;	/* a new head, maybe earlier */
	if (k->prev)
		link_of(k->prev, w)->next = k->next;
	else
		l->head = k->next;
	if (k->next)
		link_of(k->next, w)->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
}

/* ---- keys and hashing ---- */

/* Two addresses are equal when their first 8 bytes (the family and a[0]
 * to a[6]) are and, unless they are IPv4, whose other bytes are zero
 * (common/isc.h), their last 9 too. For IPv4 one 8-byte compare and a
 * family test instead of the three compares of a 17-byte memcmp(); the
 * match of a packet to its flow compares two addresses (bench's mixed
 * capture: 1,203 -> 1,195 instructions a packet). */
static bool addr_eq(const struct isc_addr *a, const struct isc_addr *b)
{
	uint64_t x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	if (x != y)
		return false;
	return a->family == 4 ||
	       memcmp(a->a + 7, b->a + 7, sizeof(a->a) - 7) == 0;
}

static bool port_listed(const struct flow_table *t, uint16_t port)
{
	return (t->ports[port >> 6] >> (port & 63)) & 1;
}

/* True when either port of pkt is listed. The port found last is tried
 * first: the bitmap is 8 KiB, and looking up a client's port in it read a
 * line of it that was rarely cached (0.45 of the 6 cache misses a packet
 * of the flow table on bench's many-flows capture, in cachegrind). */
static bool pkt_port_listed(struct flow_table *t, const struct isc_pkt *pkt)
{
	if (pkt->sport == t->port_seen || pkt->dport == t->port_seen)
		return true;
	if (port_listed(t, pkt->sport)) {
		t->port_seen = pkt->sport;
		return true;
	}
	if (port_listed(t, pkt->dport)) {
		t->port_seen = pkt->dport;
		return true;
	}
	return false;
}

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);	/* one load, where a byte loop was one each */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13);
	v[1] ^= v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17);
	v[1] ^= v[2];
	v[2] = rotl(v[2], 32);
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012) under a 128-bit key: a keyed
 * function made for hash tables fed by an adversary. Its steps: */
static void sip_init(uint64_t v[4], const uint8_t key[16])
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);

	v[0] = k0 ^ 0x736f6d6570736575ULL;
	v[1] = k1 ^ 0x646f72616e646f6dULL;
	v[2] = k0 ^ 0x6c7967656e657261ULL;
	v[3] = k1 ^ 0x7465646279746573ULL;
}

static void sip_block(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
}

static uint64_t sip_final(uint64_t v[4])
{
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t reasm_siphash(const uint8_t key[16], const void *in, size_t n)
{
	const uint8_t *p = in;
	uint64_t v[4];
	size_t i, left = n;
	uint8_t tail[8] = { 0 };

	sip_init(v, key);
	for (; left >= 8; p += 8, left -= 8)
		sip_block(v, le64(p));
	for (i = 0; i < left; i++)
		tail[i] = p[i];
	tail[7] = (uint8_t)n;
	sip_block(v, le64(tail));
	return sip_final(v);
}

/* reasm_siphash(key, in, 12), the length of an IPv4 4-tuple, with its
 * last block made in one step instead of byte by byte: with put_ep()'s
 * constant-size copies, a lookup's hash went from 251 to 200
 * instructions (1.7% of a run on bench's small capture). */
uint64_t reasm_siphash12(const uint8_t key[16], const uint8_t in[12])
{
	uint64_t v[4];
	const uint8_t tail[8] = { in[8], in[9], in[10], in[11], 0, 0, 0, 12 };

	sip_init(v, key);
	sip_block(v, le64(in));
	sip_block(v, le64(tail));
	return sip_final(v);
}

/* Writes one endpoint: its address (4 bytes for IPv4, 16 for IPv6), then
 * its port. An IPv4 tuple hashes 12 bytes instead of 38, two SipHash
 * blocks instead of five; the two families can't collide by construction,
 * as the length is part of SipHash's last block. */
static uint8_t *put_ep(uint8_t *b, const struct isc_addr *a, uint16_t port)
{
	/* two constant-size copies: a move each, not a memcpy() call */
	if (a->family == 4) {
		memcpy(b, a->a, 4);
		b += 4;
	} else {
		memcpy(b, a->a, sizeof(a->a));
		b += sizeof(a->a);
	}
	*b++ = (uint8_t)(port >> 8);
	*b++ = (uint8_t)port;
	return b;
}

/* Hashes the 4-tuple in an order that does not depend on direction. A
 * mixed-family pair (impossible from the decoder) still hashes fine. */
static uint64_t tuple_hash(const struct flow_table *t,
			   const struct isc_addr *a, uint16_t ap,
			   const struct isc_addr *b, uint16_t bp)
{
	uint8_t buf[2 * 18], *e = buf;
	bool v4 = a->family == 4 && b->family == 4;
	/* the order memcmp() of the two structs gives; for IPv4 that is the
	 * order of the 4 address bytes (the rest of both is equal), read as
	 * numbers rather than by a call */
	uint32_t x = v4 ? rd_load_be32(a->a) : 0, y = v4 ? rd_load_be32(b->a) : 0;
	int c = v4 ? (x > y) - (x < y) : memcmp(a, b, sizeof(*a));

	if (c > 0 || (c == 0 && ap > bp)) {
		e = put_ep(e, b, bp);
		e = put_ep(e, a, ap);
	} else {
		e = put_ep(e, a, ap);
		e = put_ep(e, b, bp);
	}
	return v4 ? reasm_siphash12(t->key, buf) :
		    reasm_siphash(t->key, buf, (size_t)(e - buf));
}

static uint64_t flow_hash(const struct flow_table *t, const struct flow *f)
{
	return tuple_hash(t, &f->key.client, f->key.client_port,
			  &f->key.server, f->key.server_port);
}

static struct flow **bucket_of(const struct flow_table *t, uint64_t h)
{
	return &t->buckets[h & (t->nbuckets - 1)];
}

/* ---- the memo: a lookup without SipHash ----
 *
 * A direct-mapped array of entries (live or closed), indexed by a cheap
 * unkeyed hash of the 4-tuple and checked with a full tuple comparison,
 * tried before the keyed hash table. A hit skips SipHash (about 200
 * instructions); a miss, or a slot taken by another tuple, costs a few and
 * falls back to the table, so packets aimed at one slot only slow
 * themselves down. SipHash ran for 2,290 packets of bench's mixed
 * capture instead of 47,643; with the direction taken from the match
 * (see flow_table_packet), a packet cost 2025 -> 1970 instructions there,
 * 3856 -> 3741 on the many-flows capture. A slot never points at
 * a freed entry: flow_destroy() and flow_close() keep it current. It holds
 * as many slots as the table has buckets, so that with thousands of flows
 * a lookup reads one slot instead of one bucket. */

/* One endpoint, mixed: its address folded to 64 bits, its port, times an
 * odd constant (the top bits of the product depend on every input bit, so
 * they make the slot number). */
static uint64_t memo_ep(const struct isc_addr *a, uint16_t port)
{
	uint64_t x, y;

	memcpy(&x, a->a, 8);
	memcpy(&y, a->a + 8, 8);
	return (x ^ y ^ (uint64_t)port << 32 ^ a->family) *
	       0x9e3779b97f4a7c15ULL;
}

/* The slot of a 4-tuple: a sum, so the same in both directions. */
static struct flow **memo_slot(const struct flow_table *t,
			       const struct isc_addr *a, uint16_t ap,
			       const struct isc_addr *b, uint16_t bp)
{
	uint64_t h = memo_ep(a, ap) + memo_ep(b, bp);

	return &t->memo[h >> t->memo_shift];
}

static struct flow **memo_of(const struct flow_table *t, const struct flow *f)
{
	return memo_slot(t, &f->key.client, f->key.client_port,
			 &f->key.server, f->key.server_port);
}

/* Which direction pkt goes in f: ISC_DIR_CLIENT or ISC_DIR_SERVER, or -1
 * when it does not belong to f. Inlined into every caller: the call to
 * it, made for each packet by the hot-flow test, cost 1341 -> 1330
 * instructions a packet on bench's mixed capture. */
__attribute__((always_inline))
static inline int flow_match(const struct flow *f, const struct isc_pkt *pkt)
{
	const struct flow_key *k = &f->key;
	/* both ports at once, each side as one word: the server direction
	 * is the key's word with its halves swapped (one rotate); 1344 ->
	 * 1341 instructions a packet on bench's mixed capture */
	uint32_t pp = (uint32_t)pkt->sport | (uint32_t)pkt->dport << 16;
	uint32_t kp = (uint32_t)k->client_port | (uint32_t)k->server_port << 16;

	if (pp == kp && addr_eq(&pkt->src, &k->client) &&
	    addr_eq(&pkt->dst, &k->server))
		return ISC_DIR_CLIENT;
	if (pp == (kp >> 16 | kp << 16) && addr_eq(&pkt->src, &k->server) &&
	    addr_eq(&pkt->dst, &k->client))
		return ISC_DIR_SERVER;
	return -1;
}

/* Finds pkt's flow and sets *dir_r to pkt's direction in it. *h_r gets
 * the tuple's hash when it was worked out (always when no flow is found),
 * so that a flow created for pkt does not hash it again; a flow found in
 * the memo has it in its second cache line, read only when needed. */
static struct flow *flow_lookup(const struct flow_table *t,
				const struct isc_pkt *pkt, uint64_t *h_r,
				int *dir_r)
{
	struct flow **m = memo_slot(t, &pkt->src, pkt->sport, &pkt->dst,
				    pkt->dport);
	struct flow *f = *m;
	uint64_t h;

	if (f && (*dir_r = flow_match(f, pkt)) >= 0)
		return f;
	h = tuple_hash(t, &pkt->src, pkt->sport, &pkt->dst, pkt->dport);
	*h_r = h;
	for (f = *bucket_of(t, h); f; f = f->hnext)
		if (f->hash == h && (*dir_r = flow_match(f, pkt)) >= 0) {
			*m = f;
			return f;
		}
	return NULL;
}

/* Sizes the memo to n slots (a power of two, at least 2), emptied. On
 * ENOMEM the old one stays. */
static void memo_resize(struct flow_table *t, size_t n)
{
	struct flow **m = calloc(n, sizeof(*m));
	unsigned bits = 0;

	if (!m)
		return;
	while (((size_t)1 << bits) < n)
		bits++;
	free(t->memo);
	t->memo = m;
	t->memo_shift = 64 - bits;
}

/* Moves every entry into a new array of n buckets, hashing each entry
 * again under the table's key when rekey is set (the key changed). On
 * ENOMEM the table keeps its array (and longer chains); returns false. */
static bool rehash(struct flow_table *t, size_t n, bool rekey)
{
	size_t i, old_n = t->nbuckets;
	struct flow **old = t->buckets, **nb, *f, *next;

	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return false;
	t->buckets = nb;
	t->nbuckets = n;
	for (i = 0; i < old_n; i++) {
		for (f = old[i]; f; f = next) {
			struct flow **b;

			if (rekey)
				f->hash = flow_hash(t, f);
			b = bucket_of(t, f->hash);
			next = f->hnext;
			f->hnext = *b;
			*b = f;
		}
	}
	free(old);
	return true;
}

/* Inserts f, whose hash is set. */
static void hash_insert(struct flow_table *t, struct flow *f)
{
	struct flow **b;

	if (2 * t->nentries >= t->nbuckets && t->nbuckets < FLOW_MAX_BUCKETS &&
	    rehash(t, t->nbuckets * 2, false))
		memo_resize(t, t->nbuckets);
	b = bucket_of(t, f->hash);
	f->hnext = *b;
	*b = f;
}

/* The link that points at f in its chain. */
static struct flow **hash_slot(struct flow_table *t, const struct flow *f)
{
	struct flow **pp = bucket_of(t, f->hash);

	while (*pp != f)
		pp = &(*pp)->hnext;
	return pp;
}

static void hash_remove(struct flow_table *t, struct flow *f)
{
	*hash_slot(t, f) = f->hnext;
}

/* Fills key with 16 unpredictable bytes: getrandom(), else /dev/urandom,
 * else (a sandbox allowing neither) the clocks and the pid, which still
 * differ from run to run. */
static void random_key(uint8_t key[16], const void *salt)
{
	size_t got = 0;
	int fd;

	while (got < 16) {
		ssize_t r = getrandom(key + got, 16 - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got == 16)
		return;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = read(fd, key, 16);

		close(fd);
		if (r == 16)
			return;
	}
	{
		struct timespec a, b;
		uint64_t x[4], h0, h1;
		uint8_t k0[16] = { 0 };

		clock_gettime(CLOCK_REALTIME, &a);
		clock_gettime(CLOCK_MONOTONIC, &b);
		x[0] = (uint64_t)a.tv_sec << 32 ^ (uint64_t)a.tv_nsec;
		x[1] = (uint64_t)b.tv_sec << 32 ^ (uint64_t)b.tv_nsec;
		x[2] = (uint64_t)getpid();
		x[3] = (uint64_t)(uintptr_t)salt;
		h0 = reasm_siphash(k0, x, sizeof(x));
		k0[0] = 1;
		h1 = reasm_siphash(k0, x, sizeof(x));
		memcpy(key, &h0, 8);
		memcpy(key + 8, &h1, 8);
	}
}

/* ---- per-direction streams ---- */

/* The flow whose half h is. A live flow's halves sit in its block at a
 * fixed place, so this is arithmetic: loading a back pointer read a cache
 * line that nothing else of a packet's needed (see struct flow_whole). */
static struct flow *half_flow(struct flow_half *h)
{
	char *half0 = (char *)(h - h->dir);

	return &((struct flow_whole *)(half0 - offsetof(struct flow_whole,
							lv.half)))->f;
}

/* Stream sink: in-order bytes of one direction, passed on to ops.data
 * (but for those of a segment that comes next with nothing held, which
 * half_payload() passes on itself). */
static void half_data(void *ctx, isc_time ts, const uint8_t *p, size_t len)
{
	struct flow_half *h = ctx;
	struct flow *f = half_flow(h);

	f->t->ops.data(f->t->ops.ctx, f->user, (enum isc_dir)h->dir, ts, p,
		       len);
}

/* Stream sink: a gap in one direction, passed on to ops.gap. */
static void half_gap(void *ctx, isc_time ts, uint64_t len)
{
	struct flow_half *h = ctx;
	struct flow *f = half_flow(h);

	f->t->ops.gap(f->t->ops.ctx, f->user, (enum isc_dir)h->dir, ts, len);
}

/* The sequence number of h's next byte to deliver. h must be started. */
static uint32_t half_next(const struct flow_half *h)
{
	return h->st.isn + (uint32_t)h->st.next;
}

/* True when the distance from b to a fits in a window, either way. */
static bool near(uint32_t a, uint32_t b)
{
	int64_t d = (int32_t)(a - b);

	return d >= -(int64_t)REASM_WINDOW_MAX && d <= (int64_t)REASM_WINDOW_MAX;
}

/* Starts h's stream. seq is the first sequence number of h's packet (after
 * its SYN, if any). Without a SYN, the peer's ACK knows better where h's
 * bytes resume, if it is plausible: bytes before it were received already,
 * bytes from it on are new even if this packet is not the first of them. */
static void half_start(struct flow_table *t, struct flow_half *h,
		       const struct flow_half *o, uint32_t seq)
{
	struct reasm_sink sink = { half_data, half_gap, h };
	uint32_t start = seq;

	if (!(h->flags & HALF_SYN) && (o->flags & HALF_ACKED) &&
	    near(seq, o->ack))
		start = o->ack;
	reasm_stream_init(&h->st, start, t->lim.max_ooo, &t->mc, &sink);
	h->flags |= HALF_STARTED;
}

/* Records that h used sequence numbers up to end (exclusive). A number
 * further ahead than any window is garbage and not recorded. */
static void half_note_hi(struct flow_half *h, uint32_t end)
{
	if (!(h->flags & HALF_HI)) {
		h->hi = end;
		h->flags |= HALF_HI;
	} else if ((int32_t)(end - h->hi) > 0 && near(end, h->hi)) {
		h->hi = end;
	}
}

/* Passes the peer's ack on to h. An ack only proves bytes that h was seen
 * to send (anything further is a lie, and believing it would blind us to
 * what comes), and the FIN takes a sequence number but is no byte: an ack
 * of it must not look like a 1-byte hole. A window probe that the ack
 * shows was taken after all is delivered first. */
static void half_ack(struct flow_half *h, isc_time ts, uint32_t ack)
{
	if ((h->flags & HALF_HI) && (int32_t)(ack - h->hi) > 0)
		ack = h->hi;
	/* neither a FIN nor a probe yet, as for nearly every ACK: one test
	 * (with the two folds in flow_segment(), 1330 -> 1319 instructions
	 * a packet on bench's mixed capture) */
	if (h->flags & (HALF_FIN | HALF_PROBE)) {
		if ((h->flags & HALF_FIN) && (int32_t)(ack - h->fin_seq) > 0)
			ack = h->fin_seq;
		if ((h->flags & HALF_PROBE) &&
		    (int32_t)(ack - h->probe_seq) > 0) {
			h->flags &= (uint8_t)~HALF_PROBE;
			if ((int32_t)(h->probe_seq - half_next(h)) >= 0)
				reasm_stream_add(&h->st, h->probe_ts,
						 h->probe_seq, &h->probe_byte,
						 1, 0);
		}
	}
	/* most ACKs acknowledge bytes already delivered, where
	 * reasm_stream_ack() returns at once: tested here, the call and its
	 * spills are skipped */
	if ((int32_t)(ack - half_next(h)) > 0)
		reasm_stream_ack(&h->st, ts, ack);
}

/* True when a segment at seq with n bytes, sent to o, is a zero-window
 * probe: one byte at the next byte o expects while o's window is 0.
 * The peer throws it away (RFC 9293 3.8.6.1), so it is not data yet. */
static bool is_window_probe(const struct flow_half *o, uint32_t seq,
			    uint64_t n)
{
	return n == 1 && (o->flags & HALF_ACKED) && o->win == 0 &&
	       seq == o->ack;
}

/* A segment reasm_stream_is_next() accepted for h: the stream's books,
 * then its bytes straight to ops.data (see half_payload()). */
static inline void pass_next(struct flow_table *t, struct flow *f,
			     struct flow_half *h, isc_time ts,
			     const uint8_t *p, size_t len)
{
	reasm_stream_pass(&h->st, ts, p, len);
	t->ops.data(t->ops.ctx, f->user, (enum isc_dir)h->dir, h->st.last_ts,
		    p, len);
}

/* Hands h's payload, len captured bytes at p then miss more that were not
 * captured, starting at seq and captured at ts, to its stream. Bytes after
 * h's FIN are cut (nothing can follow a FIN); a zero-window probe is kept
 * aside. f is h's flow. */
static void half_payload(struct flow_table *t, struct flow *f,
			 struct flow_half *h, const struct flow_half *o,
			 isc_time ts, uint32_t seq, const uint8_t *p,
			 uint64_t len, uint64_t miss)
{
	if (h->flags & HALF_FIN) {
		int64_t room = (int32_t)(h->fin_seq - seq);

		if (room < (int64_t)(len + miss)) {
			REASM_STAT_ADD(&h->st, past_fin, 1);
			if (room <= 0)
				return;
			if ((uint64_t)room < len) {
				len = (uint64_t)room;
				miss = 0;
			} else {
				miss = (uint64_t)room - len;
			}
		}
	}
	if (is_window_probe(o, seq, len + miss)) {
		REASM_STAT_ADD(&h->st, window_probes, 1);
		if (len == 1) {
			h->probe_seq = seq;
			h->probe_byte = p[0];
			h->probe_ts = ts;
			h->flags |= HALF_PROBE;
		}
		return;
	}
	/* Most segments are the next bytes of their direction: the stream
	 * does its bookkeeping inline and they go straight to ops.data, not
	 * through reasm_stream_add(), the delivery in stream.c and the
	 * sink's half_data(), three calls (bench's mixed capture: 1,235 ->
	 * 1,211 instructions a packet). */
	if (reasm_stream_is_next(&h->st, seq, (size_t)len, (uint32_t)miss)) {
		pass_next(t, f, h, ts, p, (size_t)len);
		return;
	}
	reasm_stream_add(&h->st, ts, seq, p, (size_t)len, (uint32_t)miss);
}

/* Calls ops.fin for each direction whose bytes up to its FIN have all been
 * delivered, once per direction. */
static void check_fins(struct flow_table *t, struct flow *f, isc_time ts)
{
	struct flow_live *lv = flow_lv(f);
	int dir;

	/* nothing to do before a FIN: one test instead of the loop, which
	 * every packet ran (11 -> 7 instructions a packet on bench's mixed
	 * capture) */
	if (!((lv->half[0].flags | lv->half[1].flags) & HALF_FIN))
		return;
	for (dir = 0; dir < 2; dir++) {
		struct flow_half *h = &lv->half[dir];

		if ((h->flags & (HALF_FIN | HALF_FIN_DONE)) != HALF_FIN ||
		    !(h->flags & HALF_STARTED))
			continue;
		if ((int32_t)(h->fin_seq - half_next(h)) > 0)
			continue;
		h->flags |= HALF_FIN_DONE;
		if (t->ops.fin)
			t->ops.fin(t->ops.ctx, f->user, (enum isc_dir)dir, ts);
	}
}

/* Delivers everything h still holds. After a FIN the bytes up to it are
 * known to exist, so a hole before the FIN is reported too. */
static void half_flush(struct flow_half *h, isc_time ts)
{
	if (!(h->flags & HALF_STARTED))
		return;
	if ((h->flags & (HALF_FIN | HALF_FIN_DONE)) == HALF_FIN)
		reasm_stream_ack(&h->st, ts, h->fin_seq);
	reasm_stream_flush(&h->st, ts);
}

/* ---- flows ---- */

/* a += b, counter by counter. */
static void stats_add(struct reasm_stats *a, const struct reasm_stats *b)
{
	a->segments += b->segments;
	a->bytes_delivered += b->bytes_delivered;
	a->retransmitted += b->retransmitted;
	a->overlaps += b->overlaps;
	a->inconsistent += b->inconsistent;
	a->ooo_held += b->ooo_held;
	a->gaps += b->gaps;
	a->gap_bytes += b->gap_bytes;
	a->window_probes += b->window_probes;
	a->past_fin += b->past_fin;
}

/* The streams' counters, summed over the freed ones (t->tot) and the
 * live flows: a walk over the open flows, at the end of a run or on
 * request, instead of a second add at every counter update. */
static void sync_stats(struct flow_table *t)
{
	struct reasm_stats sum = t->tot;
	struct flow *f;

	for (f = t->lists[LIST_AGE].head; f; f = link_of(f, LIST_AGE)->next) {
		stats_add(&sum, &flow_lv(f)->half[0].st.st);
		stats_add(&sum, &flow_lv(f)->half[1].st.st);
	}
	t->st.segments = sum.segments;
	t->st.retransmitted = sum.retransmitted;
	t->st.overlaps = sum.overlaps;
	t->st.inconsistent = sum.inconsistent;
	t->st.ooo_held = sum.ooo_held;
	t->st.gaps = sum.gaps;
	t->st.gap_bytes = sum.gap_bytes;
	t->st.window_probes = sum.window_probes;
	t->st.past_fin = sum.past_fin;
	t->st.memcap_refusals = t->mc.refusals;
}

/* Frees what a live flow's streams hold; their counters join the
 * table's totals. */
static void flow_drop_live(struct flow *f)
{
	struct flow_live *lv;

	if (f->closed)
		return;
	lv = flow_lv(f);
	for (int dir = 0; dir < 2; dir++) {
		stats_add(&f->t->tot, &lv->half[dir].st.st);
		if (lv->half[dir].flags & HALF_STARTED)
			reasm_stream_fini(&lv->half[dir].st);
	}
}

static void flow_destroy(struct flow *f)
{
	struct flow **m = memo_of(f->t, f);

	if (*m == f)
		*m = NULL;
	if (f->t->hot == f)
		f->t->hot = NULL;
	flow_drop_live(f);
	/* a closed entry is a struct flow alone: see flow_close() */
	if (f->closed)
		isc_pool_put(f->t->closed, f);
	else
		isc_pool_put(f->t->wholes, whole_of(f));
}

/* Drops a closed entry. */
static void flow_forget(struct flow_table *t, struct flow *f)
{
	assert(f->closed);
	list_remove(t, LIST_LINGER, f);
	hash_remove(t, f);
	t->nentries--;
	flow_destroy(f);
}

/* Flushes both directions of f, reports its end at ts, and either frees
 * it or, with linger, keeps its head as a closed entry in its place. */
static void flow_close(struct flow_table *t, struct flow *f, isc_time ts,
		       enum flow_end why, bool linger)
{
	struct flow *g;

	half_flush(&flow_lv(f)->half[ISC_DIR_CLIENT], ts);
	half_flush(&flow_lv(f)->half[ISC_DIR_SERVER], ts);
	check_fins(t, f, ts);
	t->ops.close(t->ops.ctx, f->user, ts, why);
	if (why == FLOW_END_IDLE)
		t->st.timed_out++;
	else if (why == FLOW_END_EVICTED)
		t->st.evicted++;
	list_remove(t, LIST_LRU, f);
	list_remove(t, LIST_AGE, f);
	t->st.open_now--;
	g = linger ? isc_pool_get(t->closed) : NULL;
	if (!g) {	/* no lingering, or no memory for it */
		hash_remove(t, f);
		t->nentries--;
		flow_destroy(f);
		return;
	}
	/* the closed entry takes f's place in its hash chain */
	*g = *f;
	g->closed = true;
	g->user = NULL;
	if (ts > g->last)
		g->last = ts;
	*hash_slot(t, f) = g;
	if (t->hot == f)
		t->hot = g;
	if (*memo_of(t, f) == f)
		*memo_of(t, f) = g;
	flow_destroy(f);
	list_append(t, LIST_LINGER, g);
}

/* True when now is more than idle after last. Works for any timestamps. */
static bool idle_past(isc_time last, isc_time now, isc_time idle)
{
	return now > last && (uint64_t)now - (uint64_t)last > (uint64_t)idle;
}

/* The LRU list is kept lazily: a packet only moves its flow's last
 * forward, and the list is ordered by queued (last when the flow was put
 * at the tail). A flow at the head whose last moved on since is put at
 * the tail again when a sweep or an eviction reaches it. Moving the flow
 * on every packet touched its two neighbours, two cache misses a packet
 * with thousands of flows open. Every flow behind an untouched head has
 * last >= queued >= that head's last, so the head is the least recent. */
static void requeue(struct flow_table *t, struct flow *f)
{
	list_remove(t, LIST_LRU, f);
	f->queued = f->last;
	list_append(t, LIST_LRU, f);
}

/* The least recently active live flow, or NULL. */
static struct flow *lru_head(struct flow_table *t)
{
	struct flow *f;

	while ((f = t->lists[LIST_LRU].head) && f->last != f->queued)
		requeue(t, f);
	return f;
}

/* Idle flows close in the order of their last packet, ties by opening. */
static int sweep_cmp(const void *a, const void *b)
{
	const struct flow *x = *(struct flow *const *)a;
	const struct flow *y = *(struct flow *const *)b;

	if (x->last != y->last)
		return x->last < y->last ? -1 : 1;
	return x->number < y->number ? -1 : 1;
}

/* Closes the flows that are idle at now, and forgets closed entries past
 * their time. The idle ones are all in the list before the first flow
 * that is neither idle nor touched since it was queued. */
static void expire(struct flow_table *t, isc_time now)
{
	struct flow *f, *next;
	size_t n = 0, i;
	bool partial = false;

	for (f = t->lists[LIST_LRU].head; f; f = next) {
		next = link_of(f, LIST_LRU)->next;
		if (!idle_past(f->last, now, t->lim.idle_timeout)) {
			if (f->last == f->queued)
				break;
			requeue(t, f);	/* met again at the tail: then
					 * untouched, so the walk ends */
			continue;
		}
		if (n == t->sweep_cap) {
			size_t cap = n ? 2 * n : 64;
			struct flow **s = realloc(t->sweep, cap * sizeof(*s));

			if (!s) {
				partial = true;	/* the rest at the next
						 * packet */
				break;
			}
			t->sweep = s;
			t->sweep_cap = cap;
		}
		t->sweep[n++] = f;	/* stays listed until flow_close */
	}
	if (n > 1)
		qsort(t->sweep, n, sizeof(*t->sweep), sweep_cmp);
	for (i = 0; i < n; i++)
		flow_close(t, t->sweep[i], t->sweep[i]->last, FLOW_END_IDLE,
			   false);
	while ((f = t->lists[LIST_LINGER].head) &&
	       idle_past(f->last, now, t->linger))
		flow_forget(t, f);
	/* The walk stopped at an untouched LRU head that is not idle, or
	 * at the end of the list; the linger head is not past its time. */
	t->due = partial ? DUE_NOW : INT64_MAX;
	if ((f = t->lists[LIST_LRU].head))
		due_lower(t, due_in(t, LIST_LRU, f));
	if ((f = t->lists[LIST_LINGER].head))
		due_lower(t, due_in(t, LIST_LINGER, f));
}

/* Roles: a SYN's sender is the client and a SYN+ACK's the server. Without
 * either, role_hint() on the payload decides if it knows; if not, the
 * destination is the server when its port is listed (so when both are),
 * else the source is. */
static void set_roles(struct flow_table *t, const struct isc_pkt *pkt,
		      struct flow_info *fi)
{
	bool client_is_src;

	if (pkt->flags & ISC_TH_SYN) {
		client_is_src = !(pkt->flags & ISC_TH_ACK);
		fi->role_basis = FLOW_ROLE_SYN;
	} else {
		client_is_src = port_listed(t, pkt->dport);
		fi->role_basis = FLOW_ROLE_PORT;
		if (t->ops.role_hint && pkt->payload_len) {
			int v = t->ops.role_hint(t->ops.ctx, pkt->payload,
						 pkt->payload_len);

			if (v != FLOW_HINT_UNKNOWN) {
				client_is_src = v < 0;
				fi->role_basis = FLOW_ROLE_CONTENT;
				t->st.roles_by_content++;
			}
		}
	}
	if (client_is_src) {
		fi->client = pkt->src;
		fi->client_port = pkt->sport;
		fi->server = pkt->dst;
		fi->server_port = pkt->dport;
	} else {
		fi->client = pkt->dst;
		fi->client_port = pkt->dport;
		fi->server = pkt->src;
		fi->server_port = pkt->sport;
	}
}

/* Makes room for one more entry: the oldest closed entry goes, or if
 * there is none, the least recently active flow is evicted. */
static void make_room(struct flow_table *t)
{
	struct flow *f = t->lists[LIST_LINGER].head;

	if (f) {
		flow_forget(t, f);
		return;
	}
	f = lru_head(t);
	if (f)
		flow_close(t, f, f->last, FLOW_END_EVICTED, false);
}

/* Opens a flow for pkt, making room first when the table is full. Returns
 * NULL on ENOMEM (the packet is then ignored). */
static struct flow *flow_create(struct flow_table *t, const struct isc_pkt *pkt,
				uint64_t hash)
{
	struct flow_info fi = { 0 };
	struct flow *f;
	int dir;

	while (t->nentries >= t->lim.max_flows && t->nentries)
		make_room(t);
	struct flow_whole *w = isc_pool_get(t->wholes);
	if (!w)
		return NULL;
	memset(w, 0, sizeof(*w));
	f = &w->f;
	f->t = t;
	f->hash = hash;
	f->last = f->queued = pkt->ts;
	for (dir = 0; dir < 2; dir++) {
		w->lv.half[dir].dir = (uint8_t)dir;
		fi.stats[dir] = &w->lv.half[dir].st.st;
	}
	set_roles(t, pkt, &fi);
	f->key.client = fi.client;
	f->key.client_port = fi.client_port;
	f->key.server = fi.server;
	f->key.server_port = fi.server_port;
	fi.number = f->number = ++t->st.flows;
	fi.start = pkt->ts;
	fi.midstream = !(pkt->flags & ISC_TH_SYN);
	if (fi.midstream)
		t->st.flows_midstream++;
	hash_insert(t, f);
	*memo_of(t, f) = f;
	t->nentries++;
	list_append(t, LIST_LRU, f);
	list_append(t, LIST_AGE, f);
	if (++t->st.open_now > t->st.open_peak)
		t->st.open_peak = t->st.open_now;
	f->user = t->ops.open(t->ops.ctx, &fi);
	return f;
}

static enum isc_dir packet_dir(const struct flow *f, const struct isc_pkt *pkt)
{
	if (pkt->sport == f->key.client_port &&
	    addr_eq(&pkt->src, &f->key.client))
		return ISC_DIR_CLIENT;
	return ISC_DIR_SERVER;
}

/* True when pkt, going in direction dir of f, is a SYN (without ACK)
 * whose sequence number is not the SYN already seen from its sender. */
static bool is_other_syn(const struct flow *f, const struct isc_pkt *pkt,
			 enum isc_dir dir)
{
	if ((pkt->flags & (ISC_TH_SYN | ISC_TH_ACK | ISC_TH_RST)) != ISC_TH_SYN)
		return false;
	return !(f->syn_seen & (1u << dir)) || f->syn_seq[dir] != pkt->seq;
}

/* True when pkt, on the 4-tuple of live flow f, starts a new connection
 * (the port was reused) rather than repeating f's SYN: a SYN with another
 * sequence number, while f either began to close or never carried a byte
 * (an earlier attempt that was abandoned). */
static bool is_new_connection(struct flow *f, const struct isc_pkt *pkt,
			      enum isc_dir dir)
{
	/* the SYN test first, and the streams looked at only for a SYN:
	 * GCC loaded the four fields below for every packet, from up to
	 * four cache lines (a fifth of the flow table's cache misses on
	 * bench's many-flows capture in cachegrind; 2% of the run's, as
	 * the packet often needs some of those lines later anyway) */
	if (!is_other_syn(f, pkt, dir))
		return false;

	const struct flow_live *lv = flow_lv(f);
	const struct flow_half *c = &lv->half[0], *s = &lv->half[1];
	bool fin = (c->flags | s->flags) & HALF_FIN;
	bool data = (c->st.st.segments | s->st.st.segments) != 0;

	return fin || !data;
}

/* True when pkt may open a flow: a SYN, or a segment with payload. */
static bool starts_flow(const struct isc_pkt *pkt)
{
	if (pkt->flags & ISC_TH_RST)
		return false;
	return (pkt->flags & ISC_TH_SYN) || pkt->payload_len ||
	       pkt->payload_missing;
}

/* True when a RST from h at seq is believable (see FLOW_RST_SLACK). */
static bool rst_plausible(const struct flow_half *h, uint32_t seq)
{
	int32_t d;

	if (!(h->flags & HALF_HI))
		return true;
	d = (int32_t)(seq - h->hi);
	return d >= -FLOW_RST_SLACK && d <= FLOW_RST_SLACK;
}

/* Feeds one segment of f, going in direction dir: its ACK to the other direction first (it says
 * what the sender had received before it sent these bytes), then its
 * payload to its own direction. Closes f on RST or once both FINs are
 * through. f may be freed. */
static void flow_segment(struct flow_table *t, struct flow *f,
			 const struct isc_pkt *pkt, enum isc_dir dir)
{
	struct flow_live *lv = flow_lv(f);
	struct flow_half *h = &lv->half[0], *o = &lv->half[1];
	uint32_t seq = pkt->seq;
	isc_time ts = pkt->ts;

	/* picked, not indexed: with &lv->half[dir] GCC kept dir and
	 * multiplied it by the size of a half again at each use (bench's
	 * mixed capture: 1,195 -> 1,182 instructions a packet) */
	if (dir) {
		h = &lv->half[1];
		o = &lv->half[0];
	}

	/* The common case: an ACK with neither SYN, RST nor FIN, both
	 * halves started, the sender's ACKs seen, no FIN and no probe on
	 * either side. Three flag tests, then only what such a segment
	 * needs: hi moves forward (HALF_HI is set), the ACK goes to the
	 * peer without the FIN and probe clamps, an in-order segment of
	 * two bytes or more (one byte may be a window probe) goes straight
	 * to ops.data, and no FIN can be due. What the general code below
	 * would also do is known done (HALF_ACKED, HALF_STARTED) or
	 * impossible. The consumer's call ends the path, a tail call, with
	 * what it needs read after the fingerprint's call rather than kept
	 * across it (bench's mixed capture: 1,160 -> 1,132 instructions a
	 * packet; small: 1,926 -> 1,898; many-flows: 2,260 -> 2,244). */
	if ((pkt->flags & (ISC_TH_SYN | ISC_TH_RST | ISC_TH_FIN | ISC_TH_ACK)) ==
		    ISC_TH_ACK &&
	    (h->flags & (HALF_STARTED | HALF_ACKED | HALF_HI | HALF_FIN |
			 HALF_PROBE)) == (HALF_STARTED | HALF_ACKED | HALF_HI) &&
	    (o->flags & (HALF_STARTED | HALF_HI | HALF_FIN | HALF_PROBE)) ==
		    (HALF_STARTED | HALF_HI)) {
		uint32_t end = seq + pkt->payload_len + pkt->payload_missing;
		uint32_t ack = pkt->ack;

		if ((int32_t)(end - h->hi) > 0 && near(end, h->hi))
			h->hi = end;
		if ((int32_t)(ack - h->ack) >= 0) {
			h->ack = ack;
			h->win = pkt->win;
		}
		if ((int32_t)(ack - o->hi) > 0)
			ack = o->hi;
		if ((int32_t)(ack - half_next(o)) > 0)
			reasm_stream_ack(&o->st, ts, ack);
		if (pkt->payload_len > 1 &&
		    reasm_stream_is_next(&h->st, seq, pkt->payload_len,
					 pkt->payload_missing)) {
			pass_next(t, f, h, ts, pkt->payload, pkt->payload_len);
			return;
		}
		if (pkt->payload_len || pkt->payload_missing)
			half_payload(t, f, h, o, ts, seq, pkt->payload,
				     pkt->payload_len, pkt->payload_missing);
		return;
	}

	/* one test for RST and SYN, rare (see half_ack() for the gain) */
	if (pkt->flags & (ISC_TH_RST | ISC_TH_SYN)) {
		if (pkt->flags & ISC_TH_RST) {
			if (rst_plausible(h, seq))
				flow_close(t, f, ts, FLOW_END_RST, true);
			else
				t->st.rst_ignored++;
			return;
		}
		if (!(h->flags & HALF_SYN)) {
			h->flags |= HALF_SYN;
			f->syn_seen |= (uint8_t)(1u << dir);
			f->syn_seq[dir] = seq;
		}
		seq++;		/* the SYN takes one sequence number */
	}
	half_note_hi(h, seq + pkt->payload_len + pkt->payload_missing +
			    ((pkt->flags & ISC_TH_FIN) ? 1 : 0));
	if (!(h->flags & HALF_STARTED))
		half_start(t, h, o, seq);
	if (pkt->flags & ISC_TH_ACK) {
		if (!(h->flags & HALF_ACKED) ||
		    (int32_t)(pkt->ack - h->ack) >= 0) {
			h->ack = pkt->ack;
			h->win = pkt->win;
		}
		h->flags |= HALF_ACKED;
		if (o->flags & HALF_STARTED)
			half_ack(o, ts, pkt->ack);
	}
	if (pkt->payload_len || pkt->payload_missing)
		half_payload(t, f, h, o, ts, seq, pkt->payload,
			     pkt->payload_len, pkt->payload_missing);
	if ((pkt->flags & ISC_TH_FIN) && !(h->flags & HALF_FIN)) {
		h->flags |= HALF_FIN;
		h->fin_seq = seq + pkt->payload_len + pkt->payload_missing;
	}
	/* both tests only once a FIN was seen (HALF_FIN_DONE comes with
	 * HALF_FIN) */
	if ((lv->half[0].flags | lv->half[1].flags) & HALF_FIN) {
		check_fins(t, f, ts);
		if (lv->half[0].flags & lv->half[1].flags & HALF_FIN_DONE)
			flow_close(t, f, ts, FLOW_END_FIN, true);
	}
}

/* ---- the table ---- */

int flow_table_new(const struct isc_limits *lim, const uint16_t *ports,
		   size_t nports, const struct flow_ops *ops,
		   struct flow_table **t_r)
{
	struct flow_table *t;
	size_t i;

	if (nports == 0 || !ops->open || !ops->data || !ops->gap ||
	    !ops->close || lim->max_flows == 0 || lim->idle_timeout <= 0)
		return ISC_EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return ISC_ENOMEM;
	t->buckets = calloc(FLOW_MIN_BUCKETS, sizeof(*t->buckets));
	memo_resize(t, FLOW_MIN_BUCKETS);
	if (!t->buckets || !t->memo ||
	    isc_pool_new((sizeof(struct flow_whole) + 63) & ~(size_t)63,
			 &t->wholes) < 0 ||
	    isc_pool_new(sizeof(struct flow), &t->closed) < 0)
		goto err;
	t->nbuckets = FLOW_MIN_BUCKETS;
	t->due = INT64_MAX;	/* nothing listed */
	t->lim = *lim;
	t->ops = *ops;
	t->linger = lim->idle_timeout < FLOW_LINGER ? lim->idle_timeout
						    : FLOW_LINGER;
	t->mc.limit = lim->memcap;
	random_key(t->key, t);
	for (i = 0; i < nports; i++)
		t->ports[ports[i] >> 6] |= (uint64_t)1 << (ports[i] & 63);
	t->port_seen = ports[0];
	*t_r = t;
	return ISC_OK;
err:
	isc_pool_free(&t->wholes);
	free(t->buckets);
	free(t->memo);
	free(t);
	return ISC_ENOMEM;
}

void flow_table_free(struct flow_table **tp)
{
	struct flow_table *t = *tp;
	struct flow *f, *next;

	if (!t)
		return;
	for (f = t->lists[LIST_AGE].head; f; f = next) {
		next = link_of(f, LIST_AGE)->next;
		flow_destroy(f);
	}
	for (f = t->lists[LIST_LINGER].head; f; f = next) {
		next = link_of(f, LIST_LINGER)->next;
		flow_destroy(f);
	}
	isc_pool_free(&t->wholes);
	isc_pool_free(&t->closed);
	free(t->buckets);
	free(t->memo);
	free(t->sweep);
	free(t);
	*tp = NULL;
}

void flow_table_packet(struct flow_table *t, const struct isc_pkt *pkt)
{
	struct flow *f;
	uint64_t hash = 0;	/* set below wherever a flow may be created */
	int dir = -1;

	t->st.packets++;
	/* Segments come in trains (a bulk transfer sends two or more in a
	 * row): the last packet's flow is tried before hashing. The match
	 * also gives the packet's direction, which was worked out again
	 * twice, from the same fields. It comes before the port test: a
	 * flow opens only on a listed port, so a packet of it needs no
	 * test (bench's mixed capture: 1,211 -> 1,204 instructions a
	 * packet). */
	f = t->hot;
	if (!f || (dir = flow_match(f, pkt)) < 0) {
		if (!pkt_port_listed(t, pkt)) {
			t->st.not_imap_port++;
			if (pkt->ts > t->due)
				expire(t, pkt->ts);
			return;
		}
		f = flow_lookup(t, pkt, &hash, &dir);
		t->hot = f;
	}
	if (f && f->closed) {
		if (!idle_past(f->last, pkt->ts, t->linger) &&
		    !is_other_syn(f, pkt, (enum isc_dir)dir)) {
			/* a retransmission, the last ACK, a RST answering
			 * one: the connection is over */
			t->st.late++;
			if (pkt->ts > t->due)
				expire(t, pkt->ts);
			return;
		}
		hash = f->hash;	/* the same tuple: for flow_create */
		flow_forget(t, f);
		f = NULL;
	} else if (f && is_new_connection(f, pkt, (enum isc_dir)dir)) {
		hash = f->hash;
		flow_close(t, f, f->last, FLOW_END_FIN, false);
		f = NULL;
	}
	/* A flow's own packet keeps it open: it is touched before the idle
	 * sweep, so a capture whose clock jumps (years, in some real files)
	 * does not cut a live connection in two. Its time never goes back. */
	if (f && pkt->ts > f->last) {
		f->last = pkt->ts;	/* see requeue() */
		if (f == t->lists[LIST_LRU].head)
			t->due = DUE_NOW;	/* expire() requeues it */
	}
	if (pkt->ts > t->due)
		expire(t, pkt->ts);
	if (!f && starts_flow(pkt)) {
		t->hot = f = flow_create(t, pkt, hash);	/* enters the LRU
							 * list at its tail */
		if (f)
			dir = packet_dir(f, pkt);
	}
	if (f)
		flow_segment(t, f, pkt, (enum isc_dir)dir);
}

void flow_table_expire(struct flow_table *t, isc_time now)
{
	expire(t, now);
}

void flow_table_finish(struct flow_table *t, isc_time now, enum flow_end why)
{
	struct flow *f, *next;

	while ((f = t->lists[LIST_AGE].head))
		flow_close(t, f, now, why, false);
	for (f = t->lists[LIST_LINGER].head; f; f = next) {
		next = link_of(f, LIST_LINGER)->next;
		flow_forget(t, f);
	}
}

const struct flow_stats *flow_table_stats(struct flow_table *t)
{
	sync_stats(t);
	return &t->st;
}

void flow_table_set_hash_key(struct flow_table *t, const uint8_t key[16])
{
	memcpy(t->key, key, sizeof(t->key));
	if (!rehash(t, t->nbuckets, true))
		abort();	/* a test hook: no way to go on correctly */
}
