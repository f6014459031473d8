/* bench/gen.c: writes pcap files of synthetic IMAP traffic for benchmarks.
 *
 * The output is a classic pcap file (file header written by libpcap,
 * microsecond timestamps, Ethernet, IPv4, TCP with the timestamps option,
 * MSS 1448, IP header checksums set, TCP checksums zero). Every byte comes
 * from one seeded splitmix64 stream consumed in event order, so the same
 * options and seed always give the same file, and --prefix N gives exactly
 * the first packets of that file.
 *
 * Many sessions run at once. Each session is a small state machine with one
 * pending event in a binary heap ordered by simulated time; an event writes
 * the few packets of one protocol step (a command line, a response, two data
 * segments and their ACK, ...) and schedules the next step. A finished
 * session frees its slot and a new session takes it, so the number of open
 * sessions stays near --concurrency. Packets are written in time order.
 *
 * The capture point is next to the server: a client's ACK or next command
 * comes one round trip after the server's data, the server answers after a
 * processing delay. A receiver that has nothing to say within 40 ms sends a
 * delayed ACK. Bulk transfers (large responses and APPEND literals) go out
 * two segments at a time, paced at a per-session rate, each pair
 * acknowledged by the receiver.
 *
 * Impairments: --loss drops a data segment from the capture (the sender
 * does not retransmit: it is capture loss, the receiver's ACK covers it),
 * --reorder swaps two adjacent data segments of one direction, --rst ends a
 * session with a RST (the client aborting mid-session, or resetting after
 * LOGOUT instead of closing with FIN).
 *
 * Usage: gen -p mixed|small|many-flows -o FILE [options], see usage().
 */
#define _DEFAULT_SOURCE		/* u_char and friends for pcap.h under -std=c11 */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSS 1448u
#define REC_HDR 16u
#define ETH_HDR 14u
#define IP_HDR 20u
#define TCP_HDR 32u		/* 20 + NOP NOP TS */
#define TCP_HDR_SYN 40u		/* 20 + MSS SACK_PERM TS NOP WS */
#define MAX_REC (REC_HDR + ETH_HDR + IP_HDR + TCP_HDR_SYN + MSS)
#define OUT_CAP (8u << 20)
#define CORPUS_LEN (1u << 18)
#define DACK_US 40000u		/* delayed ACK timer */
#define TS_EPOCH 1717200000u	/* 2024-06-01, start of every capture */

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

enum { CLI = 0, SRV = 1 };

/* ------------------------------------------------------------------ PRNG */

static uint64_t rng;

static uint64_t rnd64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [0, n) */
static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(((rnd64() >> 32) * (uint64_t)n) >> 32);
}

/* uniform in [lo, hi] */
static uint32_t rnd_range(uint32_t lo, uint32_t hi)
{
	return lo + rnd_below(hi - lo + 1);
}

static bool chance(double p)
{
	return p > 0 && (double)(rnd64() >> 11) * 0x1.0p-53 < p;
}

/* Roughly log-uniform in [lo, hi]: a uniformly chosen power-of-two octave,
 * then uniform inside it. Integer only, so no libm rounding differences. */
static uint64_t rnd_logu(uint64_t lo, uint64_t hi)
{
	if (lo < 1)
		lo = 1;
	if (hi <= lo)
		return lo;
	int klo = 63 - __builtin_clzll(lo), khi = 63 - __builtin_clzll(hi);
	for (;;) {
		int k = klo + (int)rnd_below((uint32_t)(khi - klo + 1));
		uint64_t v = (1ULL << k) + (rnd64() & ((1ULL << k) - 1));
		if (v >= lo && v <= hi)
			return v;
	}
}

/* -------------------------------------------------------------- profiles */

enum cmd {
	C_CAPA, C_LOGIN, C_AUTH, C_SELECT, C_HDR, C_BODY, C_FLAGS, C_APPEND,
	C_SEARCH, C_STORE, C_IDLE, C_NOOP, C_LIST, C_STATUS, C_EXPUNGE,
	C_LOGOUT, C_COUNT
};

/* commands picked in the main phase of a session, with weights */
enum { W_HDR, W_BODY, W_FLAGS, W_APPEND, W_SEARCH, W_STORE, W_IDLE, W_NOOP,
       W_LIST, W_STATUS, W_EXPUNGE, W_COUNT };
static const enum cmd w_cmd[W_COUNT] = {
	C_HDR, C_BODY, C_FLAGS, C_APPEND, C_SEARCH, C_STORE, C_IDLE, C_NOOP,
	C_LIST, C_STATUS, C_EXPUNGE,
};

struct profile {
	const char *name;
	uint64_t bytes;		/* default size target, 0 = none */
	uint64_t sessions;	/* default session count, 0 = none */
	uint32_t conc;		/* default sessions open at once */
	uint32_t cmd_lo, cmd_hi;	/* commands after SELECT */
	double p_capa, p_authplain, p_authfail;
	uint16_t w[W_COUNT];
	uint32_t hdr_hi;	/* messages per header FETCH */
	uint32_t flags_hi;	/* messages per FLAGS FETCH */
	uint32_t body_lo, body_hi;	/* FETCH BODY[] literal */
	uint32_t app_lo, app_hi;	/* APPEND literal */
	uint32_t think_lo, think_hi;	/* client pause between commands, us */
	uint32_t idle_lo, idle_hi;	/* wait in IDLE before a notification, us */
	uint32_t ramp_us;	/* first sessions start within this time */
};

static const struct profile profiles[] = {
	{
		.name = "mixed", .bytes = 1000000000ULL, .conc = 300,
		.cmd_lo = 4, .cmd_hi = 60,
		.p_capa = 0.5, .p_authplain = 0.4, .p_authfail = 0.02,
		/*      HDR BODY FLAGS APP SRCH STORE IDLE NOOP LIST STAT EXP */
		.w = {   24,   3,   16,  2,  20,   36,   8,  48,   8,  16,   4 },
		.hdr_hi = 40, .flags_hi = 200,
		.body_lo = 1024, .body_hi = 2u << 20,
		.app_lo = 1024, .app_hi = 512u << 10,
		.think_lo = 2000, .think_hi = 2000000,
		.idle_lo = 500000, .idle_hi = 30000000,
		.ramp_us = 2000000,
	},
	{
		.name = "small", .bytes = 300000000ULL, .conc = 1000,
		.cmd_lo = 20, .cmd_hi = 200,
		.p_capa = 0.5, .p_authplain = 0.4, .p_authfail = 0.02,
		/*      HDR BODY FLAGS APP SRCH STORE IDLE NOOP LIST STAT EXP */
		.w = {    8,   2,   10,  1,  16,   24,   8,  24,   2,   6,   2 },
		.hdr_hi = 3, .flags_hi = 20,
		.body_lo = 1024, .body_hi = 16u << 10,
		.app_lo = 1024, .app_hi = 8u << 10,
		.think_lo = 1000, .think_hi = 1000000,
		.idle_lo = 200000, .idle_hi = 10000000,
		.ramp_us = 2000000,
	},
	{
		.name = "many-flows", .sessions = 1000000, .conc = 10000,
		.cmd_lo = 0, .cmd_hi = 0,
		.p_capa = 0, .p_authplain = 0, .p_authfail = 0,
		.hdr_hi = 1, .flags_hi = 1,
		.body_lo = 1024, .body_hi = 1024, .app_lo = 1024, .app_hi = 1024,
		.think_lo = 1000, .think_hi = 100000,
		.idle_lo = 1000000, .idle_hi = 1000000,
		.ramp_us = 1000000,
	},
};

/* --------------------------------------------------------------- options */

static struct {
	const struct profile *prof;
	const char *out;
	uint64_t seed;
	uint64_t bytes, sessions, prefix;
	uint32_t conc;
	double loss, reorder, rst;
	bool quiet;
} opt = { .seed = 1, .loss = 0.0002, .reorder = 0.001, .rst = 0.01 };

/* --------------------------------------------------------------- session */

enum chunk_src { CH_ARENA, CH_CORPUS };
struct chunk {
	uint8_t src;
	uint32_t off, len;
};

struct side {
	uint32_t ip;
	uint16_t port, ipid;
	uint32_t seq;		/* next sequence number to send */
	uint32_t tsoff;		/* TCP timestamp clock offset */
	uint8_t mac[6];
	bool unacked;		/* has received data it has not ACKed */
};

enum state {
	ST_SYN, ST_SYNACK, ST_ACK, ST_GREET, ST_CMD, ST_RESP, ST_BULK, ST_DACK,
	ST_APPEND_LIT, ST_APPEND_DONE, ST_IDLE_EVT, ST_IDLE_DONE, ST_IDLE_OK,
	ST_SFIN, ST_CFIN, ST_SACK, ST_END
};

struct sess {
	struct side h[2];
	uint64_t num;		/* session number, from 0 */
	uint32_t rtt;		/* us */
	uint32_t seg_us;	/* time to send one full segment at this session's rate */
	uint8_t state, next;	/* next: state after a bulk transfer or delayed ACK */
	uint8_t cmd, phase, tagstyle, dack_side;
	bool rst_end, fail_login, plain;
	uint64_t resume;	/* when the state after a delayed ACK runs */
	uint32_t next_delay;	/* delay from the end of a bulk transfer to next */
	/* bulk transfer in progress */
	uint8_t qside, qn, qi;
	uint32_t qoff;
	struct chunk q[4];
	/* text of the current transfer */
	char *arena;
	uint32_t alen, acap;
	/* IMAP state */
	uint32_t tagn, left, exists, uidnext, uidvalidity, user;
	uint32_t arg, lit;	/* command arguments kept for the response */
	char tagpfx[5];
	char pass[12];
};

/* ---------------------------------------------------------------- output */

static FILE *out;
static uint8_t *obuf;
static size_t olen;
static uint64_t out_bytes, out_frames, out_payload;
static uint64_t last_ts;	/* us since TS_EPOCH, never decreases */
static bool stopped;		/* --prefix reached */
static uint8_t scratch[MAX_REC];

/* where the previous data frame sits in obuf, for reordering */
static struct {
	bool ok;
	size_t off, len;
	const struct sess *s;
	int side;
} prev;
/* the frame being written */
static struct {
	bool real, data;
	size_t off, len;
	const struct sess *s;
	int side;
} cur;

static void die(const char *msg)
{
	fprintf(stderr, "gen: %s\n", msg);
	exit(2);
}

static void oflush(void)
{
	if (olen && fwrite(obuf, 1, olen, out) != olen)
		die(strerror(errno));
	olen = 0;
	prev.ok = false;
}

static inline void be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* pcap record headers are in host byte order, like the file header that
 * libpcap writes */
static inline void h32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put_ts(uint8_t *rec, uint64_t ts)
{
	h32(rec, (uint32_t)(TS_EPOCH + ts / 1000000));
	h32(rec + 4, (uint32_t)(ts % 1000000));
}

/* Starts a frame from side `from` of session s and returns where its plen
 * payload bytes go; the caller fills them and calls pkt_end(). Sequence
 * numbers advance even when the frame is dropped. */
static uint8_t *pkt_begin(struct sess *s, int from, uint8_t flags,
			  uint32_t plen, uint64_t ts)
{
	struct side *a = &s->h[from], *b = &s->h[!from];
	uint32_t thl = (flags & TH_SYN) ? TCP_HDR_SYN : TCP_HDR;
	uint32_t flen = ETH_HDR + IP_HDR + thl + plen;
	uint32_t rlen = REC_HDR + flen;
	bool drop = plen > 0 && chance(opt.loss);
	uint8_t *p;

	if (ts < last_ts)
		ts = last_ts;
	last_ts = ts;
	cur.real = false;
	cur.data = plen > 0;
	cur.s = s;
	cur.side = from;
	if (!drop && !stopped && opt.prefix && out_bytes + rlen > opt.prefix)
		stopped = true;
	if (drop || stopped) {
		p = scratch;
	} else {
		if (olen + rlen > OUT_CAP)
			oflush();
		p = obuf + olen;
		cur.real = true;
		cur.off = olen;
		cur.len = rlen;
		olen += rlen;
		out_bytes += rlen;
		out_frames++;
		out_payload += plen;
	}

	/* record header */
	put_ts(p, ts);
	h32(p + 8, flen);
	h32(p + 12, flen);
	p += REC_HDR;
	/* Ethernet */
	memcpy(p, b->mac, 6);
	memcpy(p + 6, a->mac, 6);
	p[12] = 0x08;
	p[13] = 0x00;
	p += ETH_HDR;
	/* IPv4 */
	p[0] = 0x45;
	p[1] = 0;
	be16(p + 2, IP_HDR + thl + plen);
	be16(p + 4, a->ipid++);
	p[6] = 0x40;		/* DF */
	p[7] = 0;
	p[8] = from == SRV ? 64 : 57;
	p[9] = 6;
	p[10] = p[11] = 0;
	be32(p + 12, a->ip);
	be32(p + 16, b->ip);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	be16(p + 10, ~sum & 0xffff);
	p += IP_HDR;
	/* TCP */
	be16(p, a->port);
	be16(p + 2, b->port);
	be32(p + 4, a->seq);
	be32(p + 8, (flags & TH_ACK) ? b->seq : 0);
	p[12] = (uint8_t)((thl / 4) << 4);
	p[13] = flags;
	be16(p + 14, (flags & TH_SYN) ? 64240 : (from == SRV ? 509 : 501));
	p[16] = p[17] = p[18] = p[19] = 0;	/* checksum, urgent pointer */
	uint32_t tsval = (uint32_t)(ts / 1000) + a->tsoff;
	uint32_t tsecr = (flags & TH_ACK) ?
		(uint32_t)((ts > s->rtt ? ts - s->rtt : 0) / 1000) + b->tsoff : 0;
	uint8_t *o = p + 20;
	if (flags & TH_SYN) {
		o[0] = 2; o[1] = 4; be16(o + 2, MSS + 12);	/* MSS 1460 */
		o[4] = 4; o[5] = 2;				/* SACK permitted */
		o[6] = 8; o[7] = 10; be32(o + 8, tsval); be32(o + 12, tsecr);
		o[16] = 1;					/* NOP */
		o[17] = 3; o[18] = 3; o[19] = 7;		/* window scale 7 */
	} else {
		o[0] = 1; o[1] = 1;
		o[2] = 8; o[3] = 10; be32(o + 4, tsval); be32(o + 8, tsecr);
	}
	p += thl;

	a->seq += plen + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
	if (plen)
		b->unacked = true;
	if (flags & TH_ACK)
		a->unacked = false;
	return p;
}

/* Finishes the frame started by pkt_begin(); may swap it with the previous
 * data frame of the same direction (reordering). */
static void pkt_end(void)
{
	static uint8_t tmp[MAX_REC];

	if (!cur.real || !cur.data) {
		prev.ok = false;
		return;
	}
	if (prev.ok && prev.s == cur.s && prev.side == cur.side &&
	    prev.off + prev.len == cur.off && chance(opt.reorder)) {
		uint8_t *a = obuf + prev.off;
		uint8_t ts_a[8], ts_b[8];
		memcpy(ts_a, a, 8);
		memcpy(ts_b, a + prev.len, 8);
		memcpy(tmp, a, prev.len);
		memmove(a, a + prev.len, cur.len);
		memcpy(a + cur.len, tmp, prev.len);
		/* timestamps stay in file order */
		memcpy(a, ts_a, 8);
		memcpy(a + cur.len, ts_b, 8);
		prev.ok = false;
		return;
	}
	prev.ok = true;
	prev.off = cur.off;
	prev.len = cur.len;
	prev.s = cur.s;
	prev.side = cur.side;
}

static void pkt_ctl(struct sess *s, int from, uint8_t flags, uint64_t ts)
{
	pkt_begin(s, from, flags, 0, ts);
	pkt_end();
}

/* ---------------------------------------------------------- message text */

static uint8_t corpus[CORPUS_LEN];

static const char *const words[] = {
	"the", "of", "and", "to", "a", "in", "for", "is", "on", "that", "by",
	"this", "with", "you", "it", "not", "or", "be", "are", "from", "at",
	"as", "your", "all", "have", "new", "more", "an", "was", "we", "will",
	"meeting", "report", "budget", "draft", "please", "review", "attached",
	"thanks", "schedule", "project", "quarter", "invoice", "update",
	"release", "server", "mailbox", "notes", "agenda", "Thursday", "team",
	"deadline", "customer", "feedback", "numbers", "figures", "proposal",
	"summary", "office", "travel", "lunch", "weekly", "status", "backup",
	"migration", "storage", "question", "answer", "tomorrow", "morning",
	"afternoon", "regards", "cheers", "contract", "shipping", "order",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char *const firsts[] = {
	"Robin", "Alice", "Bob", "Carol", "Dmitri", "Elena", "Farid", "Grace",
	"Hiro", "Ines", "Jonas", "Kemal", "Lena", "Mateo", "Nadia", "Oskar",
};
static const char *const lasts[] = {
	"Marsh", "Nguyen", "Okafor", "Petrov", "Quinn", "Rossi", "Schmidt",
	"Tanaka", "Usman", "Varga", "Walsh", "Xu", "Young", "Zimmer",
};
static const char *const domains[] = {
	"example.net", "example.com", "mail.example.org", "lists.example.edu",
	"corp.example", "shop.example.com",
};
static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec",
};
static const char *const wdays[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 256 KB of mail-body text: prose lines and base64 blocks, CRLF lines. */
static void make_corpus(void)
{
	uint32_t n = 0;
	while (n < CORPUS_LEN) {
		char line[96];
		size_t l = 0;
		if (rnd_below(4) == 0) {
			for (; l < 76; l++)
				line[l] = b64[rnd_below(64)];
		} else {
			size_t want = rnd_range(20, 76);
			while (l < want) {
				const char *w = words[rnd_below(NWORDS)];
				size_t wl = strlen(w);
				if (l + wl + 1 > 78)
					break;
				if (l)
					line[l++] = ' ';
				memcpy(line + l, w, wl);
				l += wl;
			}
			if (rnd_below(3) == 0)
				line[l++] = '.';
		}
		line[l++] = '\r';
		line[l++] = '\n';
		for (size_t i = 0; i < l && n < CORPUS_LEN; i++)
			corpus[n++] = (uint8_t)line[i];
	}
}

static void arena_reserve(struct sess *s, uint32_t n)
{
	if (s->alen + n <= s->acap)
		return;
	uint32_t cap = s->acap ? s->acap : 1024;
	while (cap < s->alen + n)
		cap *= 2;
	char *a = realloc(s->arena, cap);
	if (!a)
		die("out of memory");
	s->arena = a;
	s->acap = cap;
}

__attribute__((format(printf, 2, 3)))
static void apr(struct sess *s, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		uint32_t room = s->acap - s->alen;
		va_start(ap, fmt);
		int n = vsnprintf(s->arena ? s->arena + s->alen : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("vsnprintf failed");
		if ((uint32_t)n < room) {
			s->alen += (uint32_t)n;
			return;
		}
		arena_reserve(s, (uint32_t)n + 1);
	}
}

static void rnd_date(char *buf, size_t len)
{
	snprintf(buf, len, "%s, %02u %s 2024 %02u:%02u:%02u %c%02u00",
		 wdays[rnd_below(7)], rnd_range(1, 28), months[rnd_below(6)],
		 rnd_below(24), rnd_below(60), rnd_below(60),
		 rnd_below(3) ? '+' : '-', rnd_below(10));
}

static void subject(struct sess *s)
{
	static const char *const pre[] = { "", "", "Re: ", "Fwd: ", "RE: " };
	apr(s, "%s", pre[rnd_below(5)]);
	uint32_t n = rnd_range(2, 8);
	for (uint32_t i = 0; i < n; i++) {
		const char *w = words[rnd_below(NWORDS)];
		if (i == 0)
			apr(s, "%c%s", w[0] >= 'a' && w[0] <= 'z' ? w[0] - 32 : w[0], w + 1);
		else
			apr(s, " %s", w);
	}
}

/* Appends an RFC 5322 header block (ending in the empty line) for a
 * message to user s->user; returns its length. */
static uint32_t msg_headers(struct sess *s)
{
	uint32_t start = s->alen;
	char date[40];
	const char *f = firsts[rnd_below(16)], *l = lasts[rnd_below(14)];
	const char *d = domains[rnd_below(6)];
	rnd_date(date, sizeof(date));
	apr(s, "Return-Path: <%c%s@%s>\r\n", f[0] | 0x20, l, d);
	apr(s, "Received: from mx%u.%s (mx%u.%s [198.51.100.%u])\r\n"
	       "\tby imap.example.org with ESMTPS id %08x%08x\r\n"
	       "\tfor <user%u@example.org>; %s\r\n",
	    rnd_below(4), d, rnd_below(4), d, rnd_range(1, 254),
	    (unsigned)rnd64(), (unsigned)rnd64(), s->user, date);
	apr(s, "From: %s %s <%c.%s@%s>\r\n", f, l, f[0] | 0x20, l, d);
	apr(s, "To: user%u <user%u@example.org>\r\n", s->user, s->user);
	if (rnd_below(3) == 0)
		apr(s, "Cc: %s %s <%s@%s>\r\n", firsts[rnd_below(16)],
		    lasts[rnd_below(14)], lasts[rnd_below(14)], domains[rnd_below(6)]);
	apr(s, "Subject: ");
	subject(s);
	apr(s, "\r\nDate: %s\r\nMessage-ID: <%016" PRIx64 "@%s>\r\n", date, rnd64(), d);
	apr(s, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	       "Content-Transfer-Encoding: 8bit\r\n\r\n");
	return s->alen - start;
}

static const char caps_pre[] =
	"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN AUTH=LOGIN";
static const char caps_post[] =
	"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY "
	"THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND "
	"URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED "
	"I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN "
	"CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY "
	"PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE";

static const char *const flag_sets[] = {
	"", "\\Seen", "\\Seen", "\\Seen", "\\Seen \\Flagged", "\\Answered \\Seen",
	"\\Seen $NotJunk", "\\Draft",
};

/* ------------------------------------------------------------ scheduling */

struct ev {
	uint64_t t;
	uint64_t seq;
	uint32_t slot;
};

static struct ev *heap;
static uint32_t nheap;
static uint64_t evseq;
static struct sess *slots;

static bool ev_less(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void heap_push(uint64_t t, uint32_t slot)
{
	uint32_t i = nheap++;
	struct ev e = { t, evseq++, slot };
	while (i) {
		uint32_t p = (i - 1) / 2;
		if (!ev_less(&e, &heap[p]))
			break;
		heap[i] = heap[p];
		i = p;
	}
	heap[i] = e;
}

static struct ev heap_pop(void)
{
	struct ev top = heap[0], e = heap[--nheap];
	uint32_t i = 0;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= nheap)
			break;
		if (c + 1 < nheap && ev_less(&heap[c + 1], &heap[c]))
			c++;
		if (!ev_less(&heap[c], &e))
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = e;
	return top;
}

static uint64_t now;		/* time of the event being handled */
static uint32_t cur_slot;
static bool scheduled;
static bool draining;		/* size reached: no new sessions, finish open ones */
static uint64_t started, finished, open_now, open_peak;

static void sched(struct sess *s, uint64_t t, uint8_t st)
{
	s->state = st;
	heap_push(t, cur_slot);
	scheduled = true;
}

/* Runs state st after `delay`. If side `rcv` holds unacknowledged data and
 * will stay silent past its delayed-ACK timer, a pure ACK comes first. */
static void go(struct sess *s, uint64_t t, uint64_t delay, uint8_t st, int rcv)
{
	if (rcv >= 0 && s->h[rcv].unacked) {
		uint64_t dack = DACK_US + (rcv == CLI ? s->rtt : 0);
		if (delay > dack) {
			s->dack_side = (uint8_t)rcv;
			s->resume = t + delay;
			s->next = st;
			sched(s, t + dack, ST_DACK);
			return;
		}
	}
	sched(s, t + delay, st);
}

static uint32_t proc_delay(void)
{
	return (uint32_t)rnd_logu(40, 4000);
}

static uint32_t think(struct sess *s)
{
	return s->rtt + (uint32_t)rnd_logu(opt.prof->think_lo, opt.prof->think_hi);
}

/* serialisation time of n bytes at the session's rate */
static uint32_t ser(const struct sess *s, uint32_t n)
{
	return 1 + (uint32_t)((uint64_t)s->seg_us * n / MSS);
}

/* Writes a short message (a command line, "+ OK", ...) from side `from`
 * at once, in MSS-sized segments. Returns the time after it. */
static uint64_t send_now(struct sess *s, int from, uint64_t t, const char *buf, uint32_t n)
{
	while (n) {
		uint32_t k = n < MSS ? n : MSS;
		uint8_t *p = pkt_begin(s, from, k == n ? TH_PSH | TH_ACK : TH_ACK, k, t);
		memcpy(p, buf, k);
		pkt_end();
		buf += k;
		n -= k;
		t += ser(s, k);
	}
	return t;
}

/* -------------------------------------------------------- bulk transfers */

static void q_reset(struct sess *s)
{
	s->qn = s->qi = 0;
	s->qoff = 0;
	s->alen = 0;
}

static void q_add(struct sess *s, uint8_t src, uint32_t off, uint32_t len)
{
	if (!len)
		return;
	struct chunk *c = s->qn ? &s->q[s->qn - 1] : NULL;
	if (c && c->src == CH_ARENA && src == CH_ARENA && c->off + c->len == off) {
		c->len += len;
		return;
	}
	s->q[s->qn++] = (struct chunk){ src, off, len };
}

/* queues everything appended to the arena since `from` */
static void q_text(struct sess *s, uint32_t from)
{
	q_add(s, CH_ARENA, from, s->alen - from);
}

static uint32_t q_left(const struct sess *s)
{
	uint32_t n = 0;
	for (uint32_t i = s->qi; i < s->qn; i++)
		n += s->q[i].len;
	return n - s->qoff;
}

static void q_copy(struct sess *s, uint8_t *dst, uint32_t n)
{
	while (n) {
		struct chunk *c = &s->q[s->qi];
		uint32_t k = c->len - s->qoff;
		if (k > n)
			k = n;
		if (c->src == CH_ARENA) {
			memcpy(dst, s->arena + c->off + s->qoff, k);
		} else {
			uint32_t o = (c->off + s->qoff) % CORPUS_LEN;
			uint32_t k1 = CORPUS_LEN - o < k ? CORPUS_LEN - o : k;
			memcpy(dst, corpus + o, k1);
			memcpy(dst + k1, corpus, k - k1);
		}
		dst += k;
		n -= k;
		s->qoff += k;
		if (s->qoff == c->len) {
			s->qi++;
			s->qoff = 0;
		}
	}
}

static void bulk_step(struct sess *s, uint64_t t);

/* Sends the queued text from side `from`; afterwards state `next` runs
 * after `delay`. */
static void q_start(struct sess *s, int from, uint8_t next, uint32_t delay)
{
	s->qside = (uint8_t)from;
	s->next = next;
	s->next_delay = delay;
	bulk_step(s, now);
}

static void bulk_step(struct sess *s, uint64_t t)
{
	int from = s->qside;
	uint64_t tt = t;
	int nseg = 0;
	uint32_t left = q_left(s);
	while (nseg < 2 && left) {
		uint32_t k = left < MSS ? left : MSS;
		uint8_t *p = pkt_begin(s, from, k == left ? TH_PSH | TH_ACK : TH_ACK, k, tt);
		q_copy(s, p, k);
		pkt_end();
		left -= k;
		tt += ser(s, k);
		nseg++;
	}
	if (nseg == 2) {
		/* the receiver ACKs every second segment */
		pkt_ctl(s, !from, TH_ACK, tt + 3);
	}
	if (left) {
		sched(s, t + 2 * (uint64_t)s->seg_us, ST_BULK);
		return;
	}
	go(s, tt, s->next_delay, s->next, !from);
}

/* ------------------------------------------------------------ IMAP steps */

static const char *tag(struct sess *s)
{
	static char buf[16];
	uint32_t n = s->tagn++;
	switch (s->tagstyle) {
	case 0: snprintf(buf, sizeof(buf), "A%03u", n + 1); break;	/* curl */
	case 1: snprintf(buf, sizeof(buf), "%s%u", s->tagpfx, n); break;	/* imaplib */
	case 2: snprintf(buf, sizeof(buf), "%u", n + 1); break;	/* Thunderbird */
	default: snprintf(buf, sizeof(buf), "a%04u", n + 1); break;
	}
	return buf;
}

static char last_tag[16];

static void b64enc(const uint8_t *in, size_t n, char *outp)
{
	size_t i;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*outp++ = b64[v >> 18];
		*outp++ = b64[(v >> 12) & 63];
		*outp++ = b64[(v >> 6) & 63];
		*outp++ = b64[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		*outp++ = b64[v >> 18];
		*outp++ = b64[(v >> 12) & 63];
		*outp++ = '=';
		*outp++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*outp++ = b64[v >> 18];
		*outp++ = b64[(v >> 12) & 63];
		*outp++ = b64[(v >> 6) & 63];
		*outp++ = '=';
	}
	*outp = 0;
}

static enum cmd pick_main(void)
{
	const struct profile *p = opt.prof;
	uint32_t total = 0;
	for (int i = 0; i < W_COUNT; i++)
		total += p->w[i];
	uint32_t r = rnd_below(total);
	for (int i = 0; i < W_COUNT; i++) {
		if (r < p->w[i])
			return w_cmd[i];
		r -= p->w[i];
	}
	return C_NOOP;
}

static uint32_t rnd_msg(struct sess *s)
{
	return rnd_range(1, s->exists);
}

/* ST_CMD: the client sends its next command (or gives up with a RST). */
static void client_command(struct sess *s, uint64_t t)
{
	char line[512];
	int n = 0;
	enum cmd c;

	switch (s->phase) {
	case 0:
		s->phase = 1;
		if (chance(opt.prof->p_capa)) {
			c = C_CAPA;
			break;
		}
		/* fall through */
	case 1:
		c = s->plain ? C_AUTH : C_LOGIN;
		break;
	case 2:
		c = C_SELECT;
		break;
	case 3:
		if (s->left && !draining) {
			s->left--;
			c = pick_main();
			break;
		}
		s->phase = 4;
		if (s->rst_end && rnd_below(2) == 0) {
			/* the client goes away without LOGOUT */
			pkt_ctl(s, CLI, TH_RST | TH_ACK, t);
			s->state = ST_END;
			return;
		}
		c = C_LOGOUT;
		break;
	default:
		c = C_LOGOUT;
		break;
	}
	s->cmd = (uint8_t)c;
	snprintf(last_tag, sizeof(last_tag), "%s", tag(s));
	const char *tg = last_tag;
	uint32_t a, b;

	switch (c) {
	case C_CAPA:
		n = snprintf(line, sizeof(line), "%s CAPABILITY\r\n", tg);
		break;
	case C_LOGIN:
		n = rnd_below(2) ?
			snprintf(line, sizeof(line), "%s LOGIN \"user%u\" \"%s\"\r\n", tg, s->user,
				 s->fail_login ? "wrong-pass" : s->pass) :
			snprintf(line, sizeof(line), "%s LOGIN user%u %s\r\n", tg, s->user,
				 s->fail_login ? "wrongpass" : s->pass);
		break;
	case C_AUTH: {
		uint8_t raw[64];
		char enc[96];
		int rl = snprintf((char *)raw + 1, sizeof(raw) - 1, "user%u", s->user);
		raw[0] = 0;
		raw[rl + 1] = 0;
		const char *pw = s->fail_login ? "wrong-pass" : s->pass;
		size_t pl = strlen(pw);
		memcpy(raw + rl + 2, pw, pl);
		b64enc(raw, (size_t)rl + 2 + pl, enc);
		n = snprintf(line, sizeof(line), "%s AUTHENTICATE PLAIN %s\r\n", tg, enc);
		break;
	}
	case C_SELECT:
		n = snprintf(line, sizeof(line), "%s SELECT INBOX\r\n", tg);
		break;
	case C_HDR:
		a = rnd_msg(s);
		b = a + rnd_below(opt.prof->hdr_hi);
		if (b > s->exists)
			b = s->exists;
		s->lit = b - a + 1;
		n = a == b ? snprintf(line, sizeof(line),
				      "%s FETCH %u (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER])\r\n", tg, a)
			   : snprintf(line, sizeof(line),
				      "%s FETCH %u:%u (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER])\r\n", tg, a, b);
		s->arg = a;
		break;
	case C_BODY:
		a = rnd_msg(s);
		s->arg = a;
		n = rnd_below(2) ?
			snprintf(line, sizeof(line), "%s UID FETCH %u (UID BODY.PEEK[])\r\n", tg, a + 1000) :
			snprintf(line, sizeof(line), "%s FETCH %u BODY[]\r\n", tg, a);
		break;
	case C_FLAGS:
		a = rnd_msg(s);
		b = a + rnd_below(opt.prof->flags_hi);
		if (b > s->exists)
			b = s->exists;
		s->arg = a;
		s->lit = b - a + 1;
		n = snprintf(line, sizeof(line), "%s FETCH %u:%u (UID FLAGS)\r\n", tg, a, b);
		break;
	case C_APPEND:
		s->lit = (uint32_t)rnd_logu(opt.prof->app_lo, opt.prof->app_hi);
		n = rnd_below(2) ?
			snprintf(line, sizeof(line), "%s APPEND INBOX (\\Seen) {%u}\r\n", tg, s->lit) :
			snprintf(line, sizeof(line), "%s APPEND Sent (\\Seen) \"%02u-Mar-2024 10:%02u:00 +0100\" {%u}\r\n",
				 tg, rnd_range(1, 28), rnd_below(60), s->lit);
		break;
	case C_SEARCH:
		switch (rnd_below(4)) {
		case 0: n = snprintf(line, sizeof(line), "%s UID SEARCH UNSEEN\r\n", tg); break;
		case 1: n = snprintf(line, sizeof(line), "%s SEARCH SINCE %u-%s-2024\r\n", tg,
				     rnd_range(1, 28), months[rnd_below(6)]); break;
		case 2: n = snprintf(line, sizeof(line), "%s UID SEARCH FROM \"%s\" NOT DELETED\r\n",
				     tg, lasts[rnd_below(14)]); break;
		default: n = snprintf(line, sizeof(line), "%s SEARCH FLAGGED\r\n", tg); break;
		}
		break;
	case C_STORE:
		a = rnd_msg(s);
		s->arg = a;
		s->lit = rnd_below(3);	/* 0: +FLAGS, 1: -FLAGS, 2: silent */
		n = s->lit == 2 ?
			snprintf(line, sizeof(line), "%s UID STORE %u +FLAGS.SILENT (\\Deleted)\r\n", tg, a + 1000) :
			snprintf(line, sizeof(line), "%s STORE %u %cFLAGS (\\Seen)\r\n", tg, a,
				 s->lit ? '-' : '+');
		break;
	case C_IDLE:
		n = snprintf(line, sizeof(line), "%s IDLE\r\n", tg);
		break;
	case C_NOOP:
		n = snprintf(line, sizeof(line), "%s NOOP\r\n", tg);
		break;
	case C_LIST:
		n = snprintf(line, sizeof(line), "%s LIST \"\" \"*\"\r\n", tg);
		break;
	case C_STATUS: {
		static const char *const mb[] = { "Sent", "Drafts", "Trash", "Archive", "Junk" };
		s->lit = rnd_below(5);
		n = snprintf(line, sizeof(line), "%s STATUS %s (MESSAGES UNSEEN UIDNEXT)\r\n", tg, mb[s->lit]);
		break;
	}
	case C_EXPUNGE:
		n = snprintf(line, sizeof(line), "%s EXPUNGE\r\n", tg);
		break;
	case C_LOGOUT:
	default:
		n = snprintf(line, sizeof(line), "%s LOGOUT\r\n", tg);
		break;
	}
	uint64_t t2 = send_now(s, CLI, t, line, (uint32_t)n);
	uint32_t d = proc_delay();
	if (c == C_BODY || c == C_HDR)
		d += (uint32_t)rnd_logu(100, 20000);
	if ((c == C_LOGIN || c == C_AUTH) && s->fail_login)
		d = 1500000 + rnd_below(500000);	/* auth failure penalty */
	go(s, t2, d, ST_RESP, SRV);
}

/* The tag of the command being answered is rebuilt from the counter. */
static const char *cur_tag(struct sess *s)
{
	static char buf[16];
	uint32_t n = s->tagn - 1;
	switch (s->tagstyle) {
	case 0: snprintf(buf, sizeof(buf), "A%03u", n + 1); break;
	case 1: snprintf(buf, sizeof(buf), "%s%u", s->tagpfx, n); break;
	case 2: snprintf(buf, sizeof(buf), "%u", n + 1); break;
	default: snprintf(buf, sizeof(buf), "a%04u", n + 1); break;
	}
	return buf;
}

static const char *timing(void)
{
	static char buf[40];
	snprintf(buf, sizeof(buf), "(0.%03u + 0.000 secs)", rnd_below(4));
	return buf;
}

/* ST_RESP: the server answers the command in s->cmd. */
static void server_response(struct sess *s, uint64_t t)
{
	const char *tg = cur_tag(s);
	uint8_t next = ST_CMD;
	uint32_t delay = think(s);
	uint32_t i, a;

	(void)t;
	q_reset(s);
	switch (s->cmd) {
	case C_CAPA:
		apr(s, "* CAPABILITY %s\r\n%s OK Pre-login capabilities listed, "
		       "post-login capabilities have more.\r\n", caps_pre, tg);
		break;
	case C_LOGIN:
	case C_AUTH:
		if (s->fail_login) {
			apr(s, "%s NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", tg);
			s->fail_login = false;
		} else {
			apr(s, "%s OK [CAPABILITY %s] Logged in\r\n", tg, caps_post);
			s->phase = 2;
		}
		break;
	case C_SELECT:
		apr(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $NotJunk)\r\n"
		       "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $NotJunk \\*)] "
		       "Flags permitted.\r\n"
		       "* %u EXISTS\r\n* 0 RECENT\r\n", s->exists);
		if (rnd_below(2))
			apr(s, "* OK [UNSEEN %u] First unseen.\r\n", rnd_msg(s));
		apr(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n"
		       "* OK [UIDNEXT %u] Predicted next UID\r\n", s->uidvalidity, s->uidnext);
		if (rnd_below(2))
			apr(s, "* OK [HIGHESTMODSEQ %u] Highest\r\n", s->uidnext + rnd_below(100000));
		apr(s, "%s OK [READ-WRITE] Select completed %s.\r\n", tg, timing());
		s->phase = 3;
		break;
	case C_HDR:
		a = s->arg;
		for (i = 0; i < s->lit; i++) {
			/* the literal length is known only after the header text */
			char pre[128];
			uint32_t at = s->alen;
			uint32_t hl = msg_headers(s);
			int pl = snprintf(pre, sizeof(pre),
					  "* %u FETCH (UID %u RFC822.SIZE %u FLAGS (%s) BODY[HEADER] {%u}\r\n",
					  a + i, a + i + 1000, hl + (uint32_t)rnd_logu(200, 200000),
					  flag_sets[rnd_below(8)], hl);
			arena_reserve(s, (uint32_t)pl + 4);
			memmove(s->arena + at + pl, s->arena + at, hl);
			memcpy(s->arena + at, pre, (size_t)pl);
			s->alen += (uint32_t)pl;
			apr(s, ")\r\n");
		}
		apr(s, "%s OK Fetch completed %s.\r\n", tg, timing());
		break;
	case C_BODY: {
		uint32_t len = (uint32_t)rnd_logu(opt.prof->body_lo, opt.prof->body_hi);
		uint32_t at = s->alen;
		a = s->arg;
		apr(s, "* %u FETCH (UID %u BODY[] {%u}\r\n", a, a + 1000, len);
		uint32_t h0 = s->alen;
		uint32_t hl = msg_headers(s);
		if (hl > len) {		/* tiny literal: cut the headers */
			s->alen = h0 + len;
			hl = len;
		}
		q_text(s, at);
		q_add(s, CH_CORPUS, rnd_below(CORPUS_LEN), len - hl);
		at = s->alen;
		apr(s, ")\r\n%s OK Fetch completed %s.\r\n", tg, timing());
		q_text(s, at);
		q_start(s, SRV, next, delay);
		return;
	}
	case C_FLAGS:
		a = s->arg;
		for (i = 0; i < s->lit; i++)
			apr(s, "* %u FETCH (UID %u FLAGS (%s))\r\n", a + i, a + i + 1000,
			    flag_sets[rnd_below(8)]);
		apr(s, "%s OK Fetch completed %s.\r\n", tg, timing());
		break;
	case C_APPEND:
		apr(s, "+ OK\r\n");
		next = ST_APPEND_LIT;
		delay = s->rtt + 50;
		break;
	case C_SEARCH:
		apr(s, "* SEARCH");
		for (i = rnd_below(30); i; i--)
			apr(s, " %u", rnd_msg(s) + 1000);
		apr(s, "\r\n%s OK Search completed %s.\r\n", tg, timing());
		break;
	case C_STORE:
		if (s->lit != 2)
			apr(s, "* %u FETCH (FLAGS (%s))\r\n", s->arg,
			    s->lit ? "" : "\\Seen");
		apr(s, "%s OK Store completed %s.\r\n", tg, timing());
		break;
	case C_IDLE:
		apr(s, "+ idling\r\n");
		next = ST_IDLE_EVT;
		delay = (uint32_t)rnd_logu(opt.prof->idle_lo, opt.prof->idle_hi);
		break;
	case C_NOOP:
		if (rnd_below(8) == 0)
			apr(s, "* %u EXISTS\r\n", ++s->exists);
		apr(s, "%s OK NOOP completed %s.\r\n", tg, timing());
		break;
	case C_LIST:
		apr(s, "* LIST (\\HasNoChildren) \".\" INBOX\r\n"
		       "* LIST (\\HasNoChildren \\Sent) \".\" Sent\r\n"
		       "* LIST (\\HasNoChildren \\Drafts) \".\" Drafts\r\n"
		       "* LIST (\\HasNoChildren \\Trash) \".\" Trash\r\n"
		       "* LIST (\\HasNoChildren \\Archive) \".\" Archive\r\n"
		       "* LIST (\\HasNoChildren \\Junk) \".\" Junk\r\n"
		       "%s OK List completed %s.\r\n", tg, timing());
		break;
	case C_STATUS: {
		static const char *const mb[] = { "Sent", "Drafts", "Trash", "Archive", "Junk" };
		uint32_t m = rnd_below(3000);
		apr(s, "* STATUS %s (MESSAGES %u UNSEEN %u UIDNEXT %u)\r\n"
		       "%s OK Status completed %s.\r\n",
		    mb[s->lit], m, m ? rnd_below(m) : 0, m + 1 + rnd_below(500), tg, timing());
		break;
	}
	case C_EXPUNGE:
		for (i = rnd_below(4); i && s->exists > 1; i--)
			apr(s, "* %u EXPUNGE\r\n", rnd_range(1, s->exists--));
		apr(s, "%s OK Expunge completed %s.\r\n", tg, timing());
		break;
	case C_LOGOUT:
	default:
		apr(s, "* BYE Logging out\r\n%s OK Logout completed %s.\r\n", tg, timing());
		next = ST_SFIN;
		delay = 30;
		break;
	}
	q_text(s, 0);
	q_start(s, SRV, next, delay);
}

static void start_session(struct sess *s, uint64_t t);

/* Handles the event of one session. */
static void step(struct sess *s)
{
	uint64_t t = now;

	switch (s->state) {
	case ST_SYN:
		pkt_ctl(s, CLI, TH_SYN, t);
		sched(s, t + rnd_range(15, 80), ST_SYNACK);
		break;
	case ST_SYNACK:
		pkt_ctl(s, SRV, TH_SYN | TH_ACK, t);
		sched(s, t + s->rtt, ST_ACK);
		break;
	case ST_ACK:
		pkt_ctl(s, CLI, TH_ACK, t);
		sched(s, t + rnd_logu(200, 3000), ST_GREET);
		break;
	case ST_GREET: {
		static const char *const names[] = { "Dovecot ready.", "ready.",
			"IMAP server ready.", "Dovecot (Debian) ready." };
		q_reset(s);
		apr(s, "* OK [CAPABILITY %s] %s\r\n", caps_pre, names[rnd_below(4)]);
		q_text(s, 0);
		q_start(s, SRV, ST_CMD, s->rtt + (uint32_t)rnd_logu(50, 5000));
		break;
	}
	case ST_CMD:
		client_command(s, t);
		break;
	case ST_RESP:
		server_response(s, t);
		break;
	case ST_BULK:
		bulk_step(s, t);
		break;
	case ST_DACK:
		if (s->h[s->dack_side].unacked)
			pkt_ctl(s, s->dack_side, TH_ACK, t);
		sched(s, s->resume, s->next);
		break;
	case ST_APPEND_LIT: {
		/* the client sends the literal and the end of the command line */
		q_reset(s);
		uint32_t hl = msg_headers(s);
		if (hl > s->lit) {
			s->alen = s->lit;
			hl = s->lit;
		}
		q_text(s, 0);
		q_add(s, CH_CORPUS, rnd_below(CORPUS_LEN), s->lit - hl);
		uint32_t at = s->alen;
		apr(s, "\r\n");
		q_text(s, at);
		q_start(s, CLI, ST_APPEND_DONE, proc_delay() + 1000);
		break;
	}
	case ST_APPEND_DONE:
		q_reset(s);
		s->exists++;
		apr(s, "* %u EXISTS\r\n%s OK [APPENDUID %u %u] Append completed %s.\r\n",
		    s->exists, cur_tag(s), s->uidvalidity, s->uidnext++, timing());
		q_text(s, 0);
		q_start(s, SRV, ST_CMD, think(s));
		break;
	case ST_IDLE_EVT:
		q_reset(s);
		s->exists++;
		apr(s, "* %u EXISTS\r\n", s->exists);
		if (rnd_below(2))
			apr(s, "* 1 RECENT\r\n");
		q_text(s, 0);
		q_start(s, SRV, ST_IDLE_DONE, s->rtt + (uint32_t)rnd_logu(1000, 500000));
		break;
	case ST_IDLE_DONE: {
		uint64_t t2 = send_now(s, CLI, t, "DONE\r\n", 6);
		go(s, t2, proc_delay(), ST_IDLE_OK, SRV);
		break;
	}
	case ST_IDLE_OK:
		q_reset(s);
		apr(s, "%s OK Idle completed (0.001 + %u.%03u + %u.%03u secs).\r\n",
		    cur_tag(s), rnd_below(30), rnd_below(1000), rnd_below(30), rnd_below(1000));
		q_text(s, 0);
		q_start(s, SRV, ST_CMD, think(s));
		break;
	case ST_SFIN:
		pkt_ctl(s, SRV, TH_FIN | TH_ACK, t);
		sched(s, t + s->rtt, ST_CFIN);
		break;
	case ST_CFIN:
		if (s->rst_end) {
			pkt_ctl(s, CLI, TH_RST | TH_ACK, t);
			s->state = ST_END;
			break;
		}
		pkt_ctl(s, CLI, TH_FIN | TH_ACK, t);
		sched(s, t + rnd_range(10, 60), ST_SACK);
		break;
	case ST_SACK:
		pkt_ctl(s, SRV, TH_ACK, t);
		s->state = ST_END;
		break;
	default:
		s->state = ST_END;
		break;
	}
}

/* Client IPs: the session number n maps to 10.0.0.1-10.255.255.254 (a
 * bijection on n/4) and to one of four disjoint port ranges (n%4), so no
 * two sessions share a 4-tuple below 2^24 * 4 sessions. */
static void start_session(struct sess *s, uint64_t t)
{
	const struct profile *p = opt.prof;
	uint64_t n = started++;
	const uint64_t m = 16777214;
	uint32_t x = (uint32_t)(((n >> 2) % m * 2654435761ULL + 12345) % m);
	char *arena = s->arena;
	uint32_t acap = s->acap;

	memset(s, 0, sizeof(*s));
	s->arena = arena;
	s->acap = acap;
	s->num = n;
	s->h[CLI].ip = 0x0a000001u + x;
	s->h[CLI].port = (uint16_t)(1024 + (n & 3) * 16000 + rnd_below(16000));
	s->h[SRV].ip = 0xc0a8640au + rnd_below(4);	/* 192.168.100.10-13 */
	s->h[SRV].port = rnd_below(25) ? 143 : 220;
	s->h[CLI].seq = (uint32_t)rnd64();
	s->h[SRV].seq = (uint32_t)rnd64();
	s->h[CLI].tsoff = (uint32_t)rnd64();
	s->h[SRV].tsoff = (uint32_t)rnd64();
	s->h[CLI].ipid = (uint16_t)rnd64();
	s->h[SRV].ipid = (uint16_t)rnd64();
	uint8_t cm[6] = { 0x02, 0x00, (uint8_t)(s->h[CLI].ip >> 24), (uint8_t)(s->h[CLI].ip >> 16),
			  (uint8_t)(s->h[CLI].ip >> 8), (uint8_t)s->h[CLI].ip };
	uint8_t sm[6] = { 0x02, 0x00, 0xc0, 0xa8, 0x64, (uint8_t)s->h[SRV].ip };
	memcpy(s->h[CLI].mac, cm, 6);
	memcpy(s->h[SRV].mac, sm, 6);
	s->rtt = (uint32_t)rnd_logu(200, 80000);
	/* 20 Mbit/s to 800 Mbit/s: one 1514-byte frame takes 15-606 us */
	s->seg_us = (uint32_t)rnd_logu(15, 606);
	s->tagstyle = (uint8_t)rnd_below(4);
	for (int i = 0; i < 4; i++)
		s->tagpfx[i] = (char)('A' + rnd_below(26));
	for (int i = 0; i < 10; i++)
		s->pass[i] = b64[rnd_below(62)];
	s->user = (uint32_t)rnd_below(200000);
	s->exists = (uint32_t)rnd_logu(1, 20000);
	s->uidnext = s->exists + 1000 + rnd_below(5000);
	s->uidvalidity = 1700000000u + rnd_below(10000000);
	s->plain = chance(p->p_authplain);
	s->fail_login = chance(p->p_authfail);
	s->rst_end = chance(opt.rst);
	s->left = p->cmd_hi ? rnd_range(p->cmd_lo, p->cmd_hi) : 0;
	open_now++;
	if (open_now > open_peak)
		open_peak = open_now;
	sched(s, t, ST_SYN);
}

static bool may_start(void)
{
	if (draining)
		return false;
	if (opt.sessions && started >= opt.sessions)
		return false;
	return true;
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fputs(
"Usage: gen -p PROFILE -o FILE [options]\n"
"Writes a deterministic pcap of synthetic IMAP sessions.\n"
"\n"
"  -p, --profile NAME     mixed (1 GB), small (300 MB), many-flows (1e6 sessions)\n"
"  -o, --output FILE      pcap to write (\"-\" for stdout)\n"
"  -s, --seed N           PRNG seed (default 1)\n"
"  -b, --bytes N          stop starting sessions once the file has N bytes\n"
"                         (open sessions then log out; default per profile)\n"
"  -n, --sessions N       start at most N sessions (default per profile)\n"
"  -c, --concurrency N    sessions open at once (default per profile; for\n"
"                         many-flows min(10000, sessions/100))\n"
"      --prefix N         write only the first packets, up to N bytes, of the\n"
"                         file the other options describe\n"
"      --loss P           probability a data segment is missing (default 0.0002)\n"
"      --reorder P        probability two adjacent segments are swapped (0.001)\n"
"      --rst P            probability a session ends with a RST (default 0.01)\n"
"  -q, --quiet            no summary on stderr\n"
"\n"
"Sizes accept k, M, G suffixes (powers of 1000).\n", f);
}

static uint64_t parse_size(const char *s, const char *what)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		goto bad;
	switch (*end) {
	case 'k': case 'K': v *= 1e3; end++; break;
	case 'm': case 'M': v *= 1e6; end++; break;
	case 'g': case 'G': v *= 1e9; end++; break;
	default: break;
	}
	if (*end)
		goto bad;
	return (uint64_t)(v + 0.5);
bad:
	fprintf(stderr, "gen: bad %s '%s'\n", what, s);
	exit(2);
}

static double parse_prob(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || v < 0 || v > 1) {
		fprintf(stderr, "gen: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	bool have_bytes = false, have_sessions = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(s, l) (!strcmp(a, s) || !strcmp(a, l))
		if (ARG("-h", "--help")) {
			usage(stdout);
			return 0;
		} else if (ARG("-q", "--quiet")) {
			opt.quiet = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "gen: '%s' needs a value or is unknown\n", a);
			usage(stderr);
			return 2;
		}
		i++;
		if (ARG("-p", "--profile")) {
			for (size_t k = 0; k < sizeof(profiles) / sizeof(profiles[0]); k++)
				if (!strcmp(v, profiles[k].name))
					opt.prof = &profiles[k];
			if (!opt.prof) {
				fprintf(stderr, "gen: unknown profile '%s'\n", v);
				return 2;
			}
		} else if (ARG("-o", "--output")) {
			opt.out = v;
		} else if (ARG("-s", "--seed")) {
			opt.seed = parse_size(v, "seed");
		} else if (ARG("-b", "--bytes")) {
			opt.bytes = parse_size(v, "size");
			have_bytes = true;
		} else if (ARG("-n", "--sessions")) {
			opt.sessions = parse_size(v, "session count");
			have_sessions = true;
		} else if (ARG("-c", "--concurrency")) {
			opt.conc = (uint32_t)parse_size(v, "concurrency");
		} else if (!strcmp(a, "--prefix")) {
			opt.prefix = parse_size(v, "prefix");
		} else if (!strcmp(a, "--loss")) {
			opt.loss = parse_prob(v, "loss");
		} else if (!strcmp(a, "--reorder")) {
			opt.reorder = parse_prob(v, "reorder");
		} else if (!strcmp(a, "--rst")) {
			opt.rst = parse_prob(v, "rst");
		} else {
			fprintf(stderr, "gen: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
#undef ARG
	}
	if (!opt.prof || !opt.out) {
		usage(stderr);
		return 2;
	}
	if (!have_bytes && !have_sessions) {
		opt.bytes = opt.prof->bytes;
		opt.sessions = opt.prof->sessions;
	}
	if (!opt.bytes && !opt.sessions)
		die("need --bytes or --sessions");
	if (!opt.conc) {
		opt.conc = opt.prof->conc;
		if (opt.sessions && !opt.prof->bytes) {
			uint64_t c = opt.sessions / 100;
			opt.conc = (uint32_t)(c < 1 ? 1 : c > opt.prof->conc ? opt.prof->conc : c);
		}
	}
	if (opt.conc < 1 || opt.conc > 10000000)
		die("bad concurrency");

	rng = opt.seed * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL;
	make_corpus();

	/* libpcap writes the file header; the records follow through the same
	 * stdio stream, from our own buffer */
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144,
							     PCAP_TSTAMP_PRECISION_MICRO);
	pcap_dumper_t *dumper = dead ? pcap_dump_open(dead, opt.out) : NULL;
	if (!dumper) {
		fprintf(stderr, "gen: %s: %s\n", opt.out,
			dead ? pcap_geterr(dead) : "pcap_open_dead failed");
		return 2;
	}
	out = pcap_dump_file(dumper);
	out_bytes = 24;		/* the file header */
	obuf = malloc(OUT_CAP);
	slots = calloc(opt.conc, sizeof(*slots));
	heap = malloc(sizeof(*heap) * opt.conc);
	if (!obuf || !slots || !heap)
		die("out of memory");

	for (uint32_t i = 0; i < opt.conc && may_start(); i++) {
		cur_slot = i;
		start_session(&slots[i], rnd_below(opt.prof->ramp_us));
	}
	while (nheap && !stopped) {
		struct ev e = heap_pop();
		struct sess *s = &slots[e.slot];
		now = e.t;
		cur_slot = e.slot;
		scheduled = false;
		step(s);
		if (opt.bytes && out_bytes >= opt.bytes)
			draining = true;
		if (!scheduled) {
			/* the session is over: a new one takes the slot */
			open_now--;
			finished++;
			if (may_start())
				start_session(s, (last_ts > now ? last_ts : now) +
					      rnd_logu(10, 20000));
		}
	}
	oflush();
	if (fflush(out) != 0 || ferror(out))
		die(strerror(errno));
	pcap_dump_close(dumper);
	pcap_close(dead);

	if (!opt.quiet)
		fprintf(stderr,
			"gen: profile %s seed %" PRIu64 ": %" PRIu64 " bytes, %" PRIu64
			" frames (mean frame %.0f bytes), %" PRIu64 " sessions started, "
			"%" PRIu64 " finished, %" PRIu64 " open at most, %.1f s of traffic%s\n",
			opt.prof->name, opt.seed, out_bytes, out_frames,
			out_frames ? (double)(out_bytes - 24) / out_frames - REC_HDR : 0.0,
			started, finished, open_peak, last_ts / 1e6,
			stopped ? " (prefix)" : "");
	for (uint32_t i = 0; i < opt.conc; i++)
		free(slots[i].arena);
	free(slots);
	free(heap);
	free(obuf);
	return 0;
}
