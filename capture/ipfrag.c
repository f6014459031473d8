/* capture/ipfrag.c: the fragment table of capture/ipfrag.h.
 *
 * A datagram being reassembled is a list of pieces sorted by offset that
 * never overlap: a new fragment is cut around the pieces already there
 * and only its parts that fill holes are stored (first data wins). Each
 * piece is a captured part followed by a part the snaplen cut off, so a
 * cut fragment still closes its hole and the datagram can complete, with
 * its missing bytes reported. Because the pieces are disjoint, the
 * datagram is complete exactly when its length is known (the fragment
 * without "more fragments" came) and the pieces cover that many bytes.
 *
 * Datagrams sit in a hash table for lookup and in a list in order of
 * creation for expiry; creation times come from the newest timestamp
 * seen, which never goes back, so the list is sorted and expiry looks at
 * its head only. Insertion walks the datagram's pieces: O(pieces), and
 * frag_max bounds them.
 */
#include "ipfrag.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Largest IP datagram (RFC 791 total length, RFC 8200 payload length). */
#define CAP_FRAG_MAX_END 65535u

struct cap_frag_piece {
	struct cap_frag_piece *next;	/* next by offset */
	uint32_t off;		/* first byte's offset in the datagram */
	uint32_t len;		/* captured bytes, in data[] */
	uint32_t missing;	/* bytes the snaplen cut off after them */
	uint8_t data[];
};

struct cap_frag_dg {
	struct cap_frag_dg *hnext;		/* hash chain */
	struct cap_frag_dg *older, *newer;	/* creation order */
	struct cap_frag_key key;
	isc_time born;			/* newest time seen at creation */
	struct cap_frag_piece *pieces;	/* by offset, disjoint */
	uint32_t npieces;
	uint32_t covered;		/* bytes the pieces cover */
	uint32_t end;			/* highest fragment end seen */
	uint32_t total;			/* datagram length, once have_last */
	bool have_last;
	uint8_t nxt;			/* IPv6: from the offset-0 fragment */
	uint64_t charged;		/* bytes charged for its pieces */
};

struct cap_defrag {
	/* bounds, fixed at creation */
	uint32_t max;			/* lim->frag_max */
	uint64_t memcap;		/* lim->frag_memcap */
	uint64_t timeout;		/* lim->frag_timeout, ns, >= 0 */
	struct cap_frag_dg **buckets;
	size_t nbuckets;		/* a power of two */
	/* state */
	struct cap_frag_dg *oldest, *newest;
	isc_time now;			/* newest timestamp seen */
	bool have_now;
	struct cap_defrag_stats st;	/* st.held <= max, st.bytes <= memcap */
};

/* What walking a fragment against a datagram's pieces found (see
 * cap_frag_walk()). */
struct cap_frag_plan {
	uint32_t pieces;		/* new pieces needed */
	uint64_t bytes;			/* bytes to charge for them */
	uint32_t covered;		/* bytes they cover */
	bool overlap;			/* some byte was already held */
	bool conflict;			/* ... with a different value */
};

int cap_defrag_new(const struct isc_limits *lim, struct cap_defrag **df_r)
{
	struct cap_defrag *df = calloc(1, sizeof(*df));
	size_t nb = 16;

	if (df == NULL)
		return ISC_ENOMEM;
	df->max = lim->frag_max;
	df->memcap = lim->frag_memcap;
	df->timeout = lim->frag_timeout > 0 ? (uint64_t)lim->frag_timeout : 0;
	/* about two held fragments per bucket when the table is full */
	while (nb < (1u << 16) && nb < df->max / 2)
		nb *= 2;
	df->buckets = calloc(nb, sizeof(*df->buckets));
	if (df->buckets == NULL) {
		free(df);
		return ISC_ENOMEM;
	}
	df->nbuckets = nb;
	*df_r = df;
	return 0;
}

/* FNV-1a over the key's fields. The chains are short anyway: frag_max
 * bounds how many datagrams there can be. */
static size_t cap_frag_hash(const struct cap_defrag *df,
			    const struct cap_frag_key *k)
{
	uint64_t h = 14695981039346656037u;
	uint8_t head[6] = { k->family, k->proto, (uint8_t)(k->id >> 24),
			    (uint8_t)(k->id >> 16), (uint8_t)(k->id >> 8),
			    (uint8_t)k->id };

	for (size_t i = 0; i < sizeof(head); i++)
		h = (h ^ head[i]) * 1099511628211u;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ k->src[i]) * 1099511628211u;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ k->dst[i]) * 1099511628211u;
	return (size_t)(h ^ h >> 32) & (df->nbuckets - 1);
}

static bool cap_frag_key_eq(const struct cap_frag_key *a,
			    const struct cap_frag_key *b)
{
	return a->family == b->family && a->proto == b->proto &&
	       a->id == b->id && memcmp(a->src, b->src, 16) == 0 &&
	       memcmp(a->dst, b->dst, 16) == 0;
}

static struct cap_frag_dg *cap_frag_find(const struct cap_defrag *df,
					 const struct cap_frag_key *k)
{
	struct cap_frag_dg *dg = df->buckets[cap_frag_hash(df, k)];

	while (dg != NULL && !cap_frag_key_eq(&dg->key, k))
		dg = dg->hnext;
	return dg;
}

/* Unlinks dg from the table, frees it with its pieces and gives back what
 * they were charged. */
static void cap_frag_drop(struct cap_defrag *df, struct cap_frag_dg *dg)
{
	struct cap_frag_dg **link = &df->buckets[cap_frag_hash(df, &dg->key)];
	struct cap_frag_piece *p, *next;

	while (*link != dg)
		link = &(*link)->hnext;
	*link = dg->hnext;
	/* the creation list: oldest and newest are its ends */
	if (df->oldest == dg)
		df->oldest = dg->newer;
	else
		dg->older->newer = dg->newer;
	if (df->newest == dg)
		df->newest = dg->older;
	else
		dg->newer->older = dg->older;
	for (p = dg->pieces; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	assert(df->st.held >= dg->npieces && df->st.bytes >= dg->charged);
	df->st.held -= dg->npieces;
	df->st.bytes -= dg->charged;
	df->st.pending--;
	free(dg);
}

void cap_defrag_free(struct cap_defrag **df)
{
	if (df == NULL || *df == NULL)
		return;
	while ((*df)->oldest != NULL)
		cap_frag_drop(*df, (*df)->oldest);
	free((*df)->buckets);
	free(*df);
	*df = NULL;
}

void cap_defrag_expire(struct cap_defrag *df, isc_time now)
{
	if (!df->have_now || now > df->now) {
		df->now = now;
		df->have_now = true;
	}
	/* born <= df->now always, so the unsigned difference is exact */
	while (df->oldest != NULL &&
	       (uint64_t)df->now - (uint64_t)df->oldest->born >= df->timeout) {
		df->st.expired++;
		cap_frag_drop(df, df->oldest);
	}
}

/* Walks fragment f against dg's pieces (dg may be NULL: no pieces yet).
 * The parts of f that fall in holes become new pieces: with insert false
 * they are only counted in *plan, with insert true they are also
 * allocated and linked in. Overlaps with held data are noted either way.
 * Returns false only when an allocation failed (pieces linked in before
 * the failure stay; the caller drops the datagram). */
static bool cap_frag_walk(struct cap_frag_dg *dg, const struct cap_frag *f,
			  bool insert, struct cap_frag_plan *plan)
{
	struct cap_frag_piece *none = NULL;
	struct cap_frag_piece **link = dg != NULL ? &dg->pieces : &none;
	uint32_t a = f->offset, cap_end = a + f->len;
	uint32_t b = cap_end + f->missing, pos = a;

	memset(plan, 0, sizeof(*plan));
	while (pos < b) {
		struct cap_frag_piece *p = *link;
		uint32_t p_end = p != NULL ? p->off + p->len + p->missing : 0;

		if (p != NULL && p_end <= pos) {
			link = &p->next;
			continue;
		}
		if (p == NULL || p->off > pos) {
			/* a hole from pos to the next piece, or to b */
			uint32_t e = p != NULL && p->off < b ? p->off : b;
			uint32_t clen = pos < cap_end ?
					(e < cap_end ? e : cap_end) - pos : 0;

			plan->pieces++;
			plan->bytes += clen + CAP_FRAG_COST;
			plan->covered += e - pos;
			if (insert) {
				struct cap_frag_piece *np;

				np = malloc(sizeof(*np) + clen);
				if (np == NULL)
					return false;
				np->off = pos;
				np->len = clen;
				np->missing = e - pos - clen;
				memcpy(np->data, f->data + (pos - a), clen);
				np->next = p;
				*link = np;
				link = &np->next;
				dg->npieces++;
				dg->covered += e - pos;
				dg->charged += clen + CAP_FRAG_COST;
			}
			pos = e;
			continue;
		}
		/* p holds [p->off, p_end), and p->off <= pos < p_end */
		{
			uint32_t y = p_end < b ? p_end : b;
			uint32_t cy = y;

			if (cy > cap_end)
				cy = cap_end;
			if (cy > p->off + p->len)
				cy = p->off + p->len;
			plan->overlap = true;
			if (cy > pos && memcmp(f->data + (pos - a),
					       p->data + (pos - p->off),
					       cy - pos) != 0)
				plan->conflict = true;
			pos = y;
			link = &p->next;
		}
	}
	return true;
}

/* Makes a new, empty datagram for key, as the newest. NULL when out of
 * memory. */
static struct cap_frag_dg *cap_frag_create(struct cap_defrag *df,
					   const struct cap_frag_key *key)
{
	struct cap_frag_dg *dg = calloc(1, sizeof(*dg));
	size_t h;

	if (dg == NULL)
		return NULL;
	dg->key = *key;
	dg->born = df->now;
	h = cap_frag_hash(df, key);
	dg->hnext = df->buckets[h];
	df->buckets[h] = dg;
	dg->older = df->newest;
	if (df->newest != NULL)
		df->newest->newer = dg;
	else
		df->oldest = dg;
	df->newest = dg;
	df->st.pending++;
	return dg;
}

/* Copies the complete datagram dg into *dg_r: the pieces in order, up to
 * the first byte the snaplen cut off. Returns false when out of memory. */
static bool cap_frag_assemble(const struct cap_frag_dg *dg,
			      struct cap_datagram *dg_r)
{
	const struct cap_frag_piece *p;
	uint8_t *buf = malloc(dg->total > 0 ? dg->total : 1);
	uint32_t len = 0;

	if (buf == NULL)
		return false;
	for (p = dg->pieces; p != NULL; p = p->next) {
		assert(p->off == len);		/* complete: no holes */
		memcpy(buf + p->off, p->data, p->len);
		len += p->len;
		if (p->missing > 0)
			break;
	}
	dg_r->data = buf;
	dg_r->len = len;
	dg_r->missing = dg->total - len;
	dg_r->nxt = dg->nxt;
	return true;
}

enum cap_frag_result cap_defrag_add(struct cap_defrag *df, isc_time now,
				    const struct cap_frag *f,
				    struct cap_datagram *dg_r)
{
	struct cap_frag_dg *dg;
	struct cap_frag_plan plan;
	uint64_t end = (uint64_t)f->offset + f->len + f->missing, charged;
	uint32_t held;
	bool ok;

	cap_defrag_expire(df, now);
	df->st.fragments++;
	dg = cap_frag_find(df, &f->key);
	/* The end of the datagram: known from the last fragment, and no
	 * fragment may pass it; a second "last" must agree (RFC 8200 4.5,
	 * as Linux does for IPv4 too). */
	if (end == f->offset || end > CAP_FRAG_MAX_END ||
	    (dg != NULL && ((!f->more && dg->have_last && end != dg->total) ||
			    (!f->more && end < dg->end) ||
			    (f->more && dg->have_last && end > dg->total)))) {
		if (dg != NULL) {
			df->st.dropped++;
			cap_frag_drop(df, dg);
		}
		return CAP_FRAG_BAD;
	}
	cap_frag_walk(dg, f, false, &plan);
	if (plan.pieces > df->max - df->st.held ||
	    plan.bytes > df->memcap - df->st.bytes)
		goto refuse;
	if (dg == NULL && (dg = cap_frag_create(df, &f->key)) == NULL)
		goto refuse;
	held = dg->npieces;
	charged = dg->charged;
	ok = cap_frag_walk(dg, f, true, &plan);
	/* charge what was linked in, also before a failed allocation, so
	 * that dropping the datagram gives back exactly its charge */
	df->st.held += dg->npieces - held;
	df->st.bytes += dg->charged - charged;
	if (!ok)
		goto refuse;
	if (df->st.held > df->st.peak_held)
		df->st.peak_held = df->st.held;
	if (df->st.bytes > df->st.peak_bytes)
		df->st.peak_bytes = df->st.bytes;
	if (plan.overlap)
		df->st.overlaps++;
	if (plan.conflict)
		df->st.conflicts++;
	if (end > dg->end)
		dg->end = (uint32_t)end;
	if (!f->more) {
		dg->have_last = true;
		dg->total = (uint32_t)end;
	}
	if (f->offset == 0)
		dg->nxt = f->nxt;
	if (!dg->have_last || dg->covered != dg->total)
		return CAP_FRAG_HELD;
	if (!cap_frag_assemble(dg, dg_r)) {
		df->st.dropped++;
		cap_frag_drop(df, dg);
		return CAP_FRAG_REFUSED;
	}
	df->st.reassembled++;
	cap_frag_drop(df, dg);
	return CAP_FRAG_DONE;
refuse:
	df->st.refused++;
	if (dg != NULL) {
		df->st.dropped++;
		cap_frag_drop(df, dg);
	}
	return CAP_FRAG_REFUSED;
}

const struct cap_defrag_stats *cap_defrag_stats(const struct cap_defrag *df)
{
	return &df->st;
}
