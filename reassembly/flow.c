/* reassembly/flow.c: the flow table.
 *
 * Flows are found by their unordered 4-tuple in a chained hash table that
 * doubles as it fills. Every flow is on two lists: by last packet (LRU, for
 * idle expiry and eviction) and by opening (for finish). Whatever reaches
 * the callbacks depends only on the packets and the limits, never on
 * pointer values or on where a flow sits in the hash table.
 *
 * A flow starts with a SYN or with a segment that carries payload; a bare
 * ACK, FIN or RST of a flow we do not know (the last ACK after both FINs,
 * say) opens nothing. Each direction gets its stream at its first packet:
 * after a SYN the byte after the SYN is its first byte, otherwise the first
 * sequence number seen is.
 *
 * Memory: an idle flow with both directions started costs one struct flow
 * (176 bytes on LP64) and two struct reasm_stream (160 bytes each), plus
 * allocator overhead (three blocks) and its share of the bucket array (8
 * bytes a bucket, at most two buckets a flow): about 560 bytes. In-order
 * data costs nothing more; held data is bounded by max_ooo and memcap. */
#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "reasm_int.h"

const char *const flow_end_names[FLOW_END_COUNT] = {
	"fin", "rst", "idle", "eof", "evicted", "shutdown",
};

enum {
	HALF_SYN = 0x01,	/* its SYN or SYN+ACK seen: syn_seq is valid */
	HALF_FIN = 0x02,	/* its FIN seen: fin_seq is valid */
	HALF_FIN_DONE = 0x04,	/* every byte before the FIN delivered */
	HALF_DATA = 0x08,	/* it sent payload */
};

/* One direction of a flow. */
struct flow_half {
	struct reasm_stream *st;	/* owned; NULL until its first packet */
	uint32_t start_seq;		/* sequence number of offset 0 */
	uint32_t syn_seq;		/* sequence number of its SYN */
	uint32_t fin_seq;		/* sequence number its FIN occupies */
	uint8_t dir;			/* enum isc_dir: index in flow.half[] */
	uint8_t flags;			/* HALF_* */
};

enum { LIST_LRU, LIST_AGE, LIST_COUNT };

struct flow_link {
	struct flow *prev, *next;
};

struct flow_list {
	struct flow *head, *tail;	/* head: least recent / oldest */
};

struct flow {
	struct flow *hnext;		/* hash chain */
	struct flow_link link[LIST_COUNT];
	struct flow_table *t;
	void *user;			/* what ops.open returned */
	isc_time last;			/* timestamp of its last packet */
	struct flow_info info;
	struct flow_half half[2];	/* by enum isc_dir */
};

struct flow_table {
	struct isc_limits lim;
	struct flow_ops ops;
	struct flow **buckets;		/* owned, nbuckets chains */
	size_t nbuckets;		/* a power of two */
	struct flow_list lists[LIST_COUNT];
	struct reasm_memcap mc;		/* shared by every stream */
	struct reasm_stats tot;		/* all streams, live and freed */
	struct flow_stats st;
	uint64_t ports[65536 / 64];	/* server port list, as a bitmap */
};

#define FLOW_MIN_BUCKETS 64
#define FLOW_MAX_BUCKETS ((size_t)1 << 30)

/* ---- lists ---- */

static void list_append(struct flow_table *t, int w, struct flow *f)
{
	struct flow_list *l = &t->lists[w];

	f->link[w].prev = l->tail;
	f->link[w].next = NULL;
	if (l->tail)
		l->tail->link[w].next = f;
	else
		l->head = f;
	l->tail = f;
}

static void list_remove(struct flow_table *t, int w, struct flow *f)
{
	struct flow_list *l = &t->lists[w];
	struct flow_link *k = &f->link[w];

	if (k->prev)
		k->prev->link[w].next = k->next;
	else
		l->head = k->next;
	if (k->next)
		k->next->link[w].prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
}

/* ---- keys and hashing ---- */

static bool addr_eq(const struct isc_addr *a, const struct isc_addr *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static bool port_listed(const struct flow_table *t, uint16_t port)
{
	return (t->ports[port >> 6] >> (port & 63)) & 1;
}

/* FNV-1a over n bytes, continuing from h. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Hashes one endpoint into h. */
static uint64_t hash_ep(uint64_t h, const struct isc_addr *a, uint16_t port)
{
	uint8_t pb[2] = { (uint8_t)(port >> 8), (uint8_t)port };

	h = fnv1a(h, a, sizeof(*a));
	return fnv1a(h, pb, sizeof(pb));
}

/* Hashes the 4-tuple in an order that does not depend on direction, then
 * mixes the result (splitmix64's finaliser) so the low bits are good. */
static uint64_t tuple_hash(const struct isc_addr *a, uint16_t ap,
			   const struct isc_addr *b, uint16_t bp)
{
	int c = memcmp(a, b, sizeof(*a));
	uint64_t h = 0xcbf29ce484222325ULL;

	if (c > 0 || (c == 0 && ap > bp)) {
		h = hash_ep(h, b, bp);
		h = hash_ep(h, a, ap);
	} else {
		h = hash_ep(h, a, ap);
		h = hash_ep(h, b, bp);
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static uint64_t flow_hash(const struct flow *f)
{
	return tuple_hash(&f->info.client, f->info.client_port,
			  &f->info.server, f->info.server_port);
}

static struct flow **bucket_of(const struct flow_table *t, uint64_t h)
{
	return &t->buckets[h & (t->nbuckets - 1)];
}

/* True when pkt belongs to f, in either direction. */
static bool flow_match(const struct flow *f, const struct isc_pkt *pkt)
{
	const struct flow_info *fi = &f->info;

	if (pkt->sport == fi->client_port && pkt->dport == fi->server_port &&
	    addr_eq(&pkt->src, &fi->client) && addr_eq(&pkt->dst, &fi->server))
		return true;
	return pkt->sport == fi->server_port &&
	       pkt->dport == fi->client_port &&
	       addr_eq(&pkt->src, &fi->server) &&
	       addr_eq(&pkt->dst, &fi->client);
}

static struct flow *flow_lookup(const struct flow_table *t,
				const struct isc_pkt *pkt)
{
	uint64_t h = tuple_hash(&pkt->src, pkt->sport, &pkt->dst, pkt->dport);
	struct flow *f;

	for (f = *bucket_of(t, h); f; f = f->hnext)
		if (flow_match(f, pkt))
			return f;
	return NULL;
}

/* Doubles the bucket array. On ENOMEM the table keeps working with longer
 * chains. */
static void table_grow(struct flow_table *t)
{
	size_t i, n = t->nbuckets * 2;
	struct flow **old = t->buckets, **nb, *f, *next;

	if (n > FLOW_MAX_BUCKETS)
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	t->buckets = nb;
	t->nbuckets = n;
	for (i = 0; i < n / 2; i++) {
		for (f = old[i]; f; f = next) {
			struct flow **b = bucket_of(t, flow_hash(f));

			next = f->hnext;
			f->hnext = *b;
			*b = f;
		}
	}
	free(old);
}

static void hash_insert(struct flow_table *t, struct flow *f)
{
	struct flow **b;

	if (t->st.open_now >= t->nbuckets)
		table_grow(t);
	b = bucket_of(t, flow_hash(f));
	f->hnext = *b;
	*b = f;
}

static void hash_remove(struct flow_table *t, struct flow *f)
{
	struct flow **pp = bucket_of(t, flow_hash(f));

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
}

/* ---- per-direction streams ---- */

static struct flow *half_flow(struct flow_half *h)
{
	return (struct flow *)((char *)(h - h->dir) -
			       offsetof(struct flow, half));
}

/* Stream sink: in-order bytes of one direction, passed on to ops.data. */
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

/* Starts h's stream with seq as its first byte. On ENOMEM h stays without
 * a stream and its bytes are dropped. */
static void half_start(struct flow_table *t, struct flow_half *h,
		       uint32_t seq)
{
	struct reasm_sink sink = { half_data, half_gap, h };

	if (reasm_stream_new(seq, t->lim.max_ooo, &t->mc, &sink, &h->st) < 0)
		return;
	reasm_stream_set_totals(h->st, &t->tot);
	h->start_seq = seq;
}

/* Passes the peer's ack on to h. The FIN takes a sequence number but is no
 * byte: an ack of it must not look like a 1-byte hole. */
static void half_ack(struct flow_half *h, isc_time ts, uint32_t ack)
{
	if ((h->flags & HALF_FIN) && (int32_t)(ack - h->fin_seq) > 0)
		ack = h->fin_seq;
	reasm_stream_ack(h->st, ts, ack);
}

/* Calls ops.fin for each direction whose bytes up to its FIN have all been
 * delivered, once per direction. */
static void check_fins(struct flow_table *t, struct flow *f, isc_time ts)
{
	int dir;

	for (dir = 0; dir < 2; dir++) {
		struct flow_half *h = &f->half[dir];
		uint32_t next;

		if ((h->flags & (HALF_FIN | HALF_FIN_DONE)) != HALF_FIN ||
		    !h->st)
			continue;
		next = h->start_seq + (uint32_t)reasm_stream_offset(h->st);
		if ((int32_t)(h->fin_seq - next) > 0)
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
	if (!h->st)
		return;
	if ((h->flags & (HALF_FIN | HALF_FIN_DONE)) == HALF_FIN)
		reasm_stream_ack(h->st, ts, h->fin_seq);
	reasm_stream_flush(h->st, ts);
}

/* ---- flows ---- */

static void sync_stats(struct flow_table *t)
{
	t->st.segments = t->tot.segments;
	t->st.retransmitted = t->tot.retransmitted;
	t->st.overlaps = t->tot.overlaps;
	t->st.inconsistent = t->tot.inconsistent;
	t->st.ooo_held = t->tot.ooo_held;
	t->st.gaps = t->tot.gaps;
	t->st.gap_bytes = t->tot.gap_bytes;
	t->st.memcap_refusals = t->mc.refusals;
}

static void flow_destroy(struct flow *f)
{
	reasm_stream_free(&f->half[0].st);
	reasm_stream_free(&f->half[1].st);
	free(f);
}

/* Flushes both directions of f, reports its end at ts and frees it. */
static void flow_close(struct flow_table *t, struct flow *f, isc_time ts,
		       enum flow_end why)
{
	half_flush(&f->half[ISC_DIR_CLIENT], ts);
	half_flush(&f->half[ISC_DIR_SERVER], ts);
	check_fins(t, f, ts);
	t->ops.close(t->ops.ctx, f->user, ts, why);
	if (why == FLOW_END_IDLE)
		t->st.timed_out++;
	else if (why == FLOW_END_EVICTED)
		t->st.evicted++;
	hash_remove(t, f);
	list_remove(t, LIST_LRU, f);
	list_remove(t, LIST_AGE, f);
	t->st.open_now--;
	flow_destroy(f);
}

/* True when now is more than idle after last. Works for any timestamps. */
static bool idle_past(isc_time last, isc_time now, isc_time idle)
{
	return now > last && (uint64_t)now - (uint64_t)last > (uint64_t)idle;
}

/* Closes the least recently active flows while they are idle. */
static void expire(struct flow_table *t, isc_time now)
{
	struct flow *f;

	while ((f = t->lists[LIST_LRU].head) &&
	       idle_past(f->last, now, t->lim.idle_timeout))
		flow_close(t, f, f->last, FLOW_END_IDLE);
}

/* Roles: a SYN's sender is the client and a SYN+ACK's the server; without
 * either, the destination is the server when its port is listed (so when
 * both are), else the source is. */
static void set_roles(const struct flow_table *t, const struct isc_pkt *pkt,
		      struct flow_info *fi)
{
	bool client_is_src;

	if (pkt->flags & ISC_TH_SYN)
		client_is_src = !(pkt->flags & ISC_TH_ACK);
	else
		client_is_src = port_listed(t, pkt->dport);
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

/* Opens a flow for pkt, evicting the least recently active one first when
 * the table is full. Returns NULL on ENOMEM (the packet is then ignored). */
static struct flow *flow_create(struct flow_table *t, const struct isc_pkt *pkt)
{
	struct flow *f, *lru = t->lists[LIST_LRU].head;

	if (t->st.open_now >= t->lim.max_flows && lru)
		flow_close(t, lru, lru->last, FLOW_END_EVICTED);
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->t = t;
	f->last = pkt->ts;
	f->half[ISC_DIR_CLIENT].dir = ISC_DIR_CLIENT;
	f->half[ISC_DIR_SERVER].dir = ISC_DIR_SERVER;
	set_roles(t, pkt, &f->info);
	f->info.number = ++t->st.flows;
	f->info.start = pkt->ts;
	f->info.midstream = !(pkt->flags & ISC_TH_SYN);
	if (f->info.midstream)
		t->st.flows_midstream++;
	hash_insert(t, f);
	list_append(t, LIST_LRU, f);
	list_append(t, LIST_AGE, f);
	if (++t->st.open_now > t->st.open_peak)
		t->st.open_peak = t->st.open_now;
	f->user = t->ops.open(t->ops.ctx, &f->info);
	return f;
}

static enum isc_dir packet_dir(const struct flow *f, const struct isc_pkt *pkt)
{
	if (pkt->sport == f->info.client_port &&
	    addr_eq(&pkt->src, &f->info.client))
		return ISC_DIR_CLIENT;
	return ISC_DIR_SERVER;
}

/* True when pkt, a SYN on the 4-tuple of f, starts a new connection (the
 * port was reused) rather than repeating f's SYN: its sequence number is
 * not the SYN we saw, and f either began to close or never carried a byte
 * (an earlier attempt that was abandoned). */
static bool is_new_connection(const struct flow *f, const struct isc_pkt *pkt)
{
	const struct flow_half *h = &f->half[packet_dir(f, pkt)];
	uint8_t all = f->half[0].flags | f->half[1].flags;

	if ((pkt->flags & (ISC_TH_SYN | ISC_TH_ACK | ISC_TH_RST)) != ISC_TH_SYN)
		return false;
	if ((h->flags & HALF_SYN) && h->syn_seq == pkt->seq)
		return false;
	return (all & HALF_FIN) || !(all & HALF_DATA);
}

/* True when pkt may open a flow: a SYN, or a segment with payload. */
static bool starts_flow(const struct isc_pkt *pkt)
{
	if (pkt->flags & ISC_TH_RST)
		return false;
	return (pkt->flags & ISC_TH_SYN) || pkt->payload_len ||
	       pkt->payload_missing;
}

/* Feeds one segment of f to the right stream, its ACK to the other one,
 * and closes f on RST or once both FINs are through. f may be freed. */
static void flow_segment(struct flow_table *t, struct flow *f,
			 const struct isc_pkt *pkt)
{
	enum isc_dir dir = packet_dir(f, pkt);
	struct flow_half *h = &f->half[dir], *o = &f->half[!dir];
	uint32_t seq = pkt->seq;
	isc_time ts = pkt->ts;

	if (pkt->flags & ISC_TH_RST) {
		flow_close(t, f, ts, FLOW_END_RST);
		return;
	}
	if (pkt->flags & ISC_TH_SYN) {
		if (!(h->flags & HALF_SYN)) {
			h->flags |= HALF_SYN;
			h->syn_seq = seq;
		}
		seq++;		/* the SYN takes one sequence number */
	}
	if (!h->st)
		half_start(t, h, seq);
	if (h->st && (pkt->payload_len || pkt->payload_missing)) {
		h->flags |= HALF_DATA;
		reasm_stream_add(h->st, ts, seq, pkt->payload, pkt->payload_len,
				 pkt->payload_missing);
	}
	if ((pkt->flags & ISC_TH_FIN) && !(h->flags & HALF_FIN)) {
		h->flags |= HALF_FIN;
		h->fin_seq = seq + pkt->payload_len + pkt->payload_missing;
	}
	if ((pkt->flags & ISC_TH_ACK) && o->st)
		half_ack(o, ts, pkt->ack);
	check_fins(t, f, ts);
	if (f->half[0].flags & f->half[1].flags & HALF_FIN_DONE)
		flow_close(t, f, ts, FLOW_END_FIN);
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
	if (!t->buckets)
		goto err;
	t->nbuckets = FLOW_MIN_BUCKETS;
	t->lim = *lim;
	t->ops = *ops;
	t->mc.limit = lim->memcap;
	for (i = 0; i < nports; i++)
		t->ports[ports[i] >> 6] |= (uint64_t)1 << (ports[i] & 63);
	*t_r = t;
	return ISC_OK;
err:
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
		next = f->link[LIST_AGE].next;
		flow_destroy(f);
	}
	free(t->buckets);
	free(t);
	*tp = NULL;
}

void flow_table_packet(struct flow_table *t, const struct isc_pkt *pkt)
{
	struct flow *f;

	t->st.packets++;
	if (!port_listed(t, pkt->sport) && !port_listed(t, pkt->dport)) {
		t->st.not_imap_port++;
		expire(t, pkt->ts);
		sync_stats(t);
		return;
	}
	/* A flow's own packet keeps it open: it is touched before the idle
	 * sweep, so a capture whose clock jumps (years, in some real files)
	 * does not cut a live connection in two. */
	f = flow_lookup(t, pkt);
	if (f && is_new_connection(f, pkt)) {
		flow_close(t, f, f->last, FLOW_END_FIN);
		f = NULL;
	}
	if (f) {
		f->last = pkt->ts;
		list_remove(t, LIST_LRU, f);
		list_append(t, LIST_LRU, f);
	}
	expire(t, pkt->ts);
	if (!f && starts_flow(pkt))
		f = flow_create(t, pkt);	/* enters the LRU list at its tail */
	if (f)
		flow_segment(t, f, pkt);
	sync_stats(t);
}

void flow_table_expire(struct flow_table *t, isc_time now)
{
	expire(t, now);
	sync_stats(t);
}

void flow_table_finish(struct flow_table *t, isc_time now, enum flow_end why)
{
	struct flow *f;

	while ((f = t->lists[LIST_AGE].head))
		flow_close(t, f, now, why);
	sync_stats(t);
}

const struct flow_stats *flow_table_stats(const struct flow_table *t)
{
	return &t->st;
}
