/* fuzz/fuzz_reasm.c: the flow table fed synthetic TCP segments.
 *
 * Input layout:
 *
 *   byte 0   limits: bits 0-1 max_ooo      {64, 1024, 65536, 1 MiB}
 *                    bits 2-3 memcap       {128, 4096, 65536, 256 MiB}
 *                    bits 4-5 max_flows    {1, 2, 4, 200000}
 *                    bits 6-7 idle_timeout {1 s, 10 s, 60 s, 1860 s}
 *   byte 1   bit 0: payload bytes are the low 8 bits of their own sequence
 *            number (and not taken from the input), so the sink can check
 *            that what it receives is in order: each byte is the previous
 *            one plus one, plus the length of any gap between them.
 *            bit 1: give the table a role_hint callback ('*' or '+' first:
 *            the sender is the server; a letter: the client)
 *   then 8-byte segments:
 *     0      bit 0 direction (0: client to server), bits 1-2 flow kind
 *            (IPv4 4000x -> 143, IPv4 4100x -> 143, IPv4 4200x -> 220
 *            starting near sequence wraparound, IPv6 220+x -> 143 where
 *            both ports are server ports), bits 3-7 SYN, ACK, FIN, RST,
 *            and "snaplen cut": part of the payload was not captured
 *     1-2    signed 16-bit offset of seq from the direction's highest
 *            sequence number sent so far (per 4-tuple)
 *     3      signed offset of ack from the other direction's highest
 *     4      captured payload length (the payload follows, unless byte 1
 *            bit 0 is set)
 *     5      bits 0-3 time step (0: same time, 1-14: 2^(k-1) * 100 ms
 *            later, 15: 1000 s earlier, as clocks in real captures do),
 *            bits 4-7 missing bytes / 16 when cut
 *     6      x, added to the client port: 4 x 256 4-tuples in all, enough
 *            to make the table grow past its first 64 buckets
 *     7      bits 0-1 advertised window {65535, 0, 1, 512}
 *
 * The sink reads every byte delivered and checks the flow_ops contract:
 * no callback for a flow after its close(), every flow closed exactly once
 * by flow_table_finish(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reassembly/flow.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_reasm: check failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);		\
			abort();					\
		}							\
	} while (0)

#define MAX_OPENS 1024
#define NKINDS 4
#define NVARIANTS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fl_dir {
	bool have_last;		/* a byte was delivered */
	uint8_t last;		/* the last byte delivered */
	uint64_t gap;		/* gap bytes since it */
	bool fin;
};

struct fl {
	bool open, closed;
	struct fl_info_copy {
		struct isc_addr client, server;
		uint16_t cport, sport;
	} fi;
	struct fl_dir d[2];
	uint64_t bytes;
};

struct run {
	bool oracle;
	struct fl flows[MAX_OPENS];
	size_t nflows;
	uint64_t opened, closed;
	volatile uint8_t sum;
};

static void *op_open(void *ctx, const struct flow_info *fi)
{
	struct run *r = ctx;
	CHECK(fi->number == r->opened + 1);
	r->opened++;
	CHECK(fi->client.family == 4 || fi->client.family == 6);
	CHECK(fi->server.family == fi->client.family);
	if (r->nflows == MAX_OPENS)
		return NULL;	/* allowed: NULL is a valid flow pointer */
	struct fl *f = &r->flows[r->nflows++];
	memset(f, 0, sizeof(*f));
	f->open = true;
	f->fi.client = fi->client;
	f->fi.server = fi->server;
	f->fi.cport = fi->client_port;
	f->fi.sport = fi->server_port;
	return f;
}

static struct fl *live(void *flow)
{
	struct fl *f = flow;
	if (f)
		CHECK(f->open && !f->closed);
	return f;
}

static void op_data(void *ctx, void *flow, enum isc_dir dir, isc_time ts,
		    const uint8_t *p, size_t len)
{
	struct run *r = ctx;
	struct fl *f = live(flow);
	(void)ts;
	CHECK(dir == ISC_DIR_CLIENT || dir == ISC_DIR_SERVER);
	CHECK(len > 0 && p != NULL);
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	r->sum = (uint8_t)(r->sum + s);
	if (!f)
		return;
	f->bytes += len;
	if (!r->oracle)
		return;
	struct fl_dir *d = &f->d[dir];
	for (size_t i = 0; i < len; i++) {
		if (d->have_last) {
			uint8_t want = (uint8_t)(d->last + 1 + (uint8_t)d->gap);
			if (p[i] != want) {
				fprintf(stderr, "fuzz_reasm: flow %s:%u dir %d: "
					"byte %zu of %zu is 0x%02x, 0x%02x "
					"expected (gap %llu before it)\n",
					"client", (unsigned)f->fi.cport, (int)dir,
					i, len, p[i], want,
					(unsigned long long)d->gap);
				abort();
			}
		}
		d->have_last = true;
		d->last = p[i];
		d->gap = 0;
	}
}

static void op_gap(void *ctx, void *flow, enum isc_dir dir, isc_time ts,
		   uint64_t len)
{
	(void)ctx;
	(void)ts;
	struct fl *f = live(flow);
	CHECK(dir == ISC_DIR_CLIENT || dir == ISC_DIR_SERVER);
	CHECK(len > 0);
	if (f)
		f->d[dir].gap += len;
}

static void op_fin(void *ctx, void *flow, enum isc_dir dir, isc_time ts)
{
	(void)ctx;
	(void)ts;
	struct fl *f = live(flow);
	CHECK(dir == ISC_DIR_CLIENT || dir == ISC_DIR_SERVER);
	if (f) {
		CHECK(!f->d[dir].fin);	/* once per direction */
		f->d[dir].fin = true;
	}
}

static void op_close(void *ctx, void *flow, isc_time ts, enum flow_end why)
{
	struct run *r = ctx;
	struct fl *f = live(flow);
	(void)ts;
	CHECK(why >= FLOW_END_FIN && why < FLOW_END_COUNT);
	CHECK(flow_end_names[why] != NULL);
	r->closed++;
	if (f)
		f->closed = true;
}

static int hint(void *ctx, const uint8_t *p, size_t len)
{
	(void)ctx;
	CHECK(len > 0 && p != NULL);
	if (p[0] == '*' || p[0] == '+')
		return FLOW_HINT_SERVER;
	if ((p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z')
		return FLOW_HINT_CLIENT;
	return FLOW_HINT_UNKNOWN;
}

/* The test 4-tuples: kind k, variant x. */
static void endpoints(unsigned k, unsigned x, struct isc_pkt *pkt,
		      bool to_server)
{
	struct isc_addr c = { 0 }, s = { 0 };
	uint16_t cp, sp;

	if (k < 3) {
		c.family = s.family = 4;
		c.a[0] = 10, c.a[3] = (uint8_t)(1 + k);
		s.a[0] = 10, s.a[3] = 100;
		cp = (uint16_t)(40000 + 1000 * k + x);
		sp = k == 2 ? 220 : 143;
	} else {
		c.family = s.family = 6;
		c.a[0] = 0x20, c.a[1] = 0x01, c.a[2] = 0x0d, c.a[3] = 0xb8;
		s = c;
		c.a[15] = 1;
		s.a[15] = 2;
		cp = (uint16_t)(220 + x);
		sp = 143;
	}
	if (to_server) {
		pkt->src = c, pkt->dst = s, pkt->sport = cp, pkt->dport = sp;
	} else {
		pkt->src = s, pkt->dst = c, pkt->sport = sp, pkt->dport = cp;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t max_ooo[4] = { 64, 1024, 65536, 1u << 20 };
	static const size_t memcap[4] = { 128, 4096, 65536, 256u << 20 };
	static const uint32_t max_flows[4] = { 1, 2, 4, 200000 };
	static const isc_time idle[4] = { 1, 10, 60, 1860 };
	static const uint16_t ports[] = { 143, 220 };
	static struct run r;
	struct isc_limits lim;
	struct flow_table *t = NULL;
	static uint32_t hi[NKINDS][NVARIANTS][2];	/* highest sequence
							 * number sent */
	uint8_t payload[256];
	isc_time ts = (isc_time)1700000000 * ISC_NS_PER_SEC;
	size_t i = 2;
	uint64_t index = 0;

	if (size < 2)
		return 0;
	r.nflows = 0;		/* flows[] entries are cleared as they are used */
	r.opened = r.closed = 0;
	r.oracle = data[1] & 1;
	isc_limits_default(&lim);
	lim.max_ooo = max_ooo[data[0] & 3];
	lim.memcap = memcap[(data[0] >> 2) & 3];
	lim.max_flows = max_flows[(data[0] >> 4) & 3];
	lim.idle_timeout = idle[(data[0] >> 6) & 3] * ISC_NS_PER_SEC;

	struct flow_ops ops = {
		.open = op_open, .data = op_data, .gap = op_gap,
		.fin = op_fin, .close = op_close,
		.role_hint = (data[1] & 2) ? hint : NULL, .ctx = &r,
	};
	if (flow_table_new(&lim, ports, 2, &ops, &t) < 0)
		return 0;
	for (unsigned k = 0; k < NKINDS; k++) {
		for (unsigned x = 0; x < NVARIANTS; x++) {
			uint32_t base = k == 2 ? 0xffffff00u - 16 * x :
					1000u + 7919u * k + 65537u * x;
			hi[k][x][ISC_DIR_CLIENT] = base;
			hi[k][x][ISC_DIR_SERVER] = base ^ 0x5a5a0000u;
		}
	}

	while (size - i >= 8) {
		static const uint16_t wins[4] = { 65535, 0, 1, 512 };
		const uint8_t *h = data + i;
		struct isc_pkt pkt;
		unsigned dir = h[0] & 1, k = (h[0] >> 1) & 3, x = h[6];
		uint32_t *hs = hi[k][x];
		int16_t dseq = (int16_t)(uint16_t)(h[1] << 8 | h[2]);
		int8_t dack = (int8_t)h[3];
		size_t len = h[4];
		unsigned step = h[5] & 15;
		bool cut = h[0] & 0x80;

		i += 8;
		memset(&pkt, 0, sizeof(pkt));
		endpoints(k, x, &pkt, dir == ISC_DIR_CLIENT);
		if (step == 15)
			ts -= 1000 * ISC_NS_PER_SEC;
		else if (step)
			ts += ((isc_time)1 << (step - 1)) * (ISC_NS_PER_SEC / 10);
		pkt.ts = ts;
		pkt.index = ++index;
		pkt.flags = (uint8_t)((h[0] & 0x08 ? ISC_TH_SYN : 0) |
				      (h[0] & 0x10 ? ISC_TH_ACK : 0) |
				      (h[0] & 0x20 ? ISC_TH_FIN : 0) |
				      (h[0] & 0x40 ? ISC_TH_RST : 0));
		pkt.seq = hs[dir] + (uint32_t)(int32_t)dseq;
		pkt.ack = hs[!dir] + (uint32_t)(int32_t)dack;
		pkt.win = wins[h[7] & 3];
		uint32_t dseq0 = pkt.seq + (pkt.flags & ISC_TH_SYN ? 1 : 0);
		if (r.oracle) {
			for (size_t b = 0; b < len; b++)
				payload[b] = (uint8_t)(dseq0 + b);
		} else {
			if (len > size - i)
				len = size - i;
			memcpy(payload, data + i, len);
			i += len;
		}
		pkt.payload_len = (uint32_t)len;
		pkt.payload_missing = cut ? (uint32_t)(h[5] >> 4) * 16 : 0;
		/* an exact-size copy, so ASan sees reads past the payload */
		uint8_t *pl = len ? malloc(len) : NULL;
		if (len && !pl)
			break;
		if (len)
			memcpy(pl, payload, len);
		pkt.payload = pl;
		uint32_t end = dseq0 + (uint32_t)len + pkt.payload_missing +
			       (pkt.flags & ISC_TH_FIN ? 1 : 0);
		if ((int32_t)(end - hs[dir]) > 0)
			hs[dir] = end;
		flow_table_packet(t, &pkt);
		free(pl);
		const struct flow_stats *st = flow_table_stats(t);
		CHECK(st->open_now <= lim.max_flows);
		CHECK(st->open_now <= st->open_peak);
	}
	flow_table_finish(t, ts, FLOW_END_EOF);
	CHECK(r.opened == r.closed);
	CHECK(flow_table_stats(t)->open_now == 0);
	flow_table_free(&t);
	CHECK(t == NULL);
	return 0;
}
