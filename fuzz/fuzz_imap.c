/* fuzz/fuzz_imap.c: the IMAP dissector fed a two-direction byte script.
 *
 * Input layout (every field is optional: a short input just ends early):
 *
 *   byte 0   limits: bits 0-1 max_line      {64, 65536, 80, 1000}
 *                    bits 2-3 literal_bytes {256, 0, 1, 64}
 *                    bits 4-5 max_pending   {256, 1, 2, 8}
 *                    bits 6-7 max_depth     {64, 1, 2, 4}
 *   byte 1   flags:  bit 0 show_secrets, bit 1 midstream,
 *                    bit 2 also replay every data chunk one byte at a
 *                    time and require the same events (imap.h: "the
 *                    result is the same however the bytes are chunked")
 *   then chunks, each one header byte H and its operands:
 *            bit 0     direction: 0 client, 1 server
 *            bits 1-2  0: data, length = next byte + 1
 *                      1: data, length = next 2 bytes (big endian) + 1
 *                      2: gap, length = (next 2 bytes + 1) << (4 * bits 3-4)
 *                      3: data, the rest of the input
 *            bits 5-7  time step: the chunk is stamped that many quarter
 *                      seconds after the previous one
 *   Data shorter than announced takes what is left.
 *
 * The sink reads every byte and string an event carries, so ASan sees a
 * dangling or short pointer, and checks the contracts of dissector/imap.h
 * (sample sizes, redaction, no event after end()). fuzz/imap.dict holds
 * IMAP tokens; fuzz/make-seeds.py writes the seed corpus. With
 * FUZZ_VERBOSE=1 in the environment, lines and markers are printed (to
 * read what a seed or a crash input does). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector/imap.h"
#include "dissector/names.h"

/* Aborts with a message: libFuzzer reports it as a crash. */
#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_imap: check failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);		\
			abort();					\
		}							\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int verbose = -1;
static int split_counters = -1;	/* compare imap_session_rec.half[] */

static void show(enum isc_dir dir, const char *what, const uint8_t *p, size_t len)
{
	fprintf(stderr, "%c %s ", dir == ISC_DIR_CLIENT ? 'C' : 'S', what);
	for (size_t i = 0; i < len && i < 200; i++)
		if (p[i] >= 0x20 && p[i] < 0x7f)
			fputc(p[i], stderr);
		else
			fprintf(stderr, "\\x%02x", p[i]);
	fputc('\n', stderr);
}

static volatile uint64_t counters_sum;

struct run {
	const struct isc_limits *lim;
	bool show_secrets;
	bool ended;
	uint64_t h;		/* FNV-1a over the events */
	uint64_t events;
};

static void mix(struct run *r, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		r->h ^= b[i];
		r->h *= 0x100000001b3ULL;
	}
}

static void mix_u64(struct run *r, uint64_t v)
{
	mix(r, &v, sizeof(v));
}

/* Hashes a string the event owns (reads it to its NUL); NULL hashes as a
 * marker of its own. */
static void mix_str(struct run *r, const char *s)
{
	if (!s) {
		mix_u64(r, 0x6e756c6cULL);
		return;
	}
	size_t n = strlen(s);
	mix(r, s, n + 1);
}

/* RFC 2971 ID parameters: names and values, each may be NULL (NIL). */
static void mix_kv(struct run *r, const struct imap_kv *kv, size_t n)
{
	CHECK(n == 0 || kv != NULL);
	for (size_t i = 0; i < n; i++) {
		mix_str(r, kv[i].key);
		mix_str(r, kv[i].value);
	}
}

static bool is_status(const char *s)
{
	return !s || !strcmp(s, "OK") || !strcmp(s, "NO") || !strcmp(s, "BAD");
}

static void ev_start(struct run *r, int kind)
{
	CHECK(!r->ended);
	r->events++;
	mix_u64(r, (uint64_t)kind);
}

static void ev_line(void *ctx, enum isc_dir dir, isc_time ts,
		    const uint8_t *p, size_t len)
{
	struct run *r = ctx;
	ev_start(r, 1);
	CHECK(dir == ISC_DIR_CLIENT || dir == ISC_DIR_SERVER);
	CHECK(len == 0 || p != NULL);
	mix_u64(r, (uint64_t)dir);
	mix_u64(r, (uint64_t)ts);
	mix_u64(r, len);
	if (len)
		mix(r, p, len);
	if (verbose)
		show(dir, "line", p, len);
}

static void ev_literal(void *ctx, enum isc_dir dir, isc_time ts, uint64_t size,
		       const uint8_t *sample, size_t sample_len, bool redacted)
{
	struct run *r = ctx;
	ev_start(r, 2);
	CHECK(sample_len <= size);
	CHECK(sample_len <= r->lim->literal_bytes);
	CHECK(!redacted || sample_len == 0);
	CHECK(sample_len == 0 || sample != NULL);
	mix_u64(r, (uint64_t)dir);
	mix_u64(r, (uint64_t)ts);
	mix_u64(r, size);
	mix_u64(r, sample_len);
	mix_u64(r, redacted);
	if (sample_len)
		mix(r, sample, sample_len);
	if (verbose)
		fprintf(stderr, "%c literal %llu bytes, %zu sampled%s\n",
			dir ? 'S' : 'C', (unsigned long long)size, sample_len,
			redacted ? ", redacted" : "");
}

static void ev_marker(void *ctx, enum isc_dir dir, isc_time ts,
		      enum imap_marker m, uint64_t arg, const char *text)
{
	struct run *r = ctx;
	ev_start(r, 3);
	CHECK(m >= IMAP_MARK_GAP && m <= IMAP_MARK_RESYNC);
	CHECK(m != IMAP_MARK_ANOMALY || text != NULL);
	mix_u64(r, (uint64_t)dir);
	mix_u64(r, (uint64_t)ts);
	mix_u64(r, (uint64_t)m);
	mix_u64(r, arg);
	mix_str(r, text);
	if (verbose)
		fprintf(stderr, "%c marker %d %llu %s\n", dir ? 'S' : 'C', (int)m,
			(unsigned long long)arg, text ? text : "");
}

static void ev_command(void *ctx, const struct imap_cmd_rec *c)
{
	struct run *r = ctx;
	ev_start(r, 4);
	CHECK(c->tag);	/* name is NULL for a line without one */
	CHECK(is_status(c->status));
	mix_u64(r, c->number);
	mix_str(r, c->tag);
	mix_str(r, c->name);
	mix_str(r, c->status);
	mix_str(r, c->resp_code);
	mix_str(r, c->resp_text);
	mix_str(r, c->mailbox);
	mix_str(r, c->user);
	mix_u64(r, (uint64_t)c->start);
	mix_u64(r, (uint64_t)c->end);
	mix_u64(r, c->literals);
	mix_u64(r, c->literal_bytes);
	mix_u64(r, c->untagged);
	mix_u64(r, c->messages);
	CHECK(c->messages <= c->untagged);
	if (verbose)
		fprintf(stderr, "command %llu %s %s %s mailbox %s\n",
			(unsigned long long)c->number, c->tag,
			c->name ? c->name : "-",
			c->status ? c->status : "-",
			c->mailbox ? c->mailbox : "-");
}

static void ev_auth(void *ctx, const struct imap_auth_rec *a)
{
	struct run *r = ctx;
	ev_start(r, 5);
	CHECK(a->command);
	CHECK(is_status(a->status));
	mix_str(r, a->command);
	mix_str(r, a->mechanism);
	mix_str(r, a->user);
	mix_str(r, a->status);
	mix_str(r, a->resp_text);
	mix_u64(r, (uint64_t)a->start);
	mix_u64(r, (uint64_t)a->end);
	if (verbose)
		fprintf(stderr, "auth %s %s user %s %s\n", a->command,
			a->mechanism ? a->mechanism : "-",
			a->user ? a->user : "-", a->status ? a->status : "-");
}

static void ev_end(void *ctx, isc_time ts, const struct imap_session_rec *s)
{
	struct run *r = ctx;
	ev_start(r, 6);
	r->ended = true;
	mix_u64(r, (uint64_t)ts);
	mix_str(r, s->greeting);
	mix_str(r, s->capabilities);
	mix_str(r, s->mailbox);
	mix_str(r, s->state);
	mix_kv(r, s->id_client, s->n_id_client);
	mix_kv(r, s->id_server, s->n_id_server);
	CHECK(s->n_mailboxes == 0 || s->mailboxes != NULL);
	for (size_t i = 0; i < s->n_mailboxes; i++) {
		CHECK(s->mailboxes[i] != NULL);
		mix_str(r, s->mailboxes[i]);
	}
	mix_u64(r, s->msgs_fetched);
	mix_u64(r, s->msgs_appended);
	mix_u64(r, s->msgs_expunged);
	mix_u64(r, s->msgs_deleted);
	mix_str(r, s->tls_sni);
	mix_u64(r, (uint64_t)s->tls_client_version << 32 |
		   (uint64_t)s->tls_version << 16 | s->tls_cipher);
	mix_u64(r, (uint64_t)s->read_only | (uint64_t)s->utf8_accept << 1);
	mix_str(r, s->user);
	mix_u64(r, (uint64_t)s->authenticated << 0 | (uint64_t)s->starttls << 1 |
		   (uint64_t)s->compress << 2 | (uint64_t)s->logout << 3 |
		   (uint64_t)s->preauth << 4 | (uint64_t)s->cleartext_login << 5);
	mix_u64(r, s->commands);
	CHECK(s->n_by_name == 0 || s->by_name != NULL);
	for (size_t i = 0; i < s->n_by_name; i++) {
		CHECK(s->by_name[i].name != NULL);
		mix_str(r, s->by_name[i].name);
		mix_u64(r, s->by_name[i].count);
	}
	mix_u64(r, s->auth_attempts);
	mix_u64(r, s->auth_failures);
	mix_u64(r, s->anomalies);
	CHECK(s->n_anomaly_names <= s->anomalies);
	CHECK(s->n_anomaly_names == 0 || s->anomaly_names != NULL);
	for (size_t i = 0; i < s->n_anomaly_names; i++) {
		CHECK(s->anomaly_names[i] != NULL);
		mix_str(r, s->anomaly_names[i]);
	}
	uint64_t sum = 0;
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < IMAP_HC_COUNT; k++)
			sum += s->half[d][k];
	if (split_counters)
		mix(r, s->half, sizeof(s->half));
	else
		counters_sum += sum;
	if (verbose) {
		fprintf(stderr, "end: %llu commands, %llu anomalies, counters",
			(unsigned long long)s->commands,
			(unsigned long long)s->anomalies);
		for (int d = 0; d < 2; d++)
			for (int k = 0; k < IMAP_HC_COUNT; k++)
				fprintf(stderr, " %llu", (unsigned long long)s->half[d][k]);
		fputc('\n', stderr);
	}
}

static const struct imap_sink sink = {
	.line = ev_line,
	.literal = ev_literal,
	.marker = ev_marker,
	.command = ev_command,
	.auth = ev_auth,
	.end = ev_end,
};

/* Runs the script once; bytewise: feed data one byte per call. Returns the
 * hash of the events. */
static uint64_t run_script(const struct isc_limits *lim, bool show_secrets,
			   bool midstream, const uint8_t *p, size_t n,
			   bool bytewise)
{
	struct run r = { .lim = lim, .show_secrets = show_secrets,
			 .h = 0xcbf29ce484222325ULL };
	struct imap_config cfg = { .lim = lim, .show_secrets = show_secrets,
				   .midstream = midstream };
	struct imap_session *s = NULL;
	isc_time ts = (isc_time)1700000000 * ISC_NS_PER_SEC;
	size_t i = 0;

	if (imap_session_new(&cfg, &sink, &r, &s) < 0)
		return 0;
	while (i < n) {
		uint8_t hd = p[i++];
		enum isc_dir dir = (hd & 1) ? ISC_DIR_SERVER : ISC_DIR_CLIENT;
		unsigned kind = (hd >> 1) & 3;
		size_t len;

		ts += (isc_time)(hd >> 5) * (ISC_NS_PER_SEC / 4);
		if (kind == 0) {
			if (i >= n)
				break;
			len = (size_t)p[i++] + 1;
		} else if (kind == 1 || kind == 2) {
			if (n - i < 2)
				break;
			len = ((size_t)p[i] << 8 | p[i + 1]) + 1;
			i += 2;
		} else {
			len = n - i;
		}
		if (kind == 2) {
			uint64_t glen = (uint64_t)len << (4 * ((hd >> 3) & 3));
			imap_gap(s, dir, ts, glen);
			continue;
		}
		if (len > n - i)
			len = n - i;
		if (bytewise) {
			for (size_t k = 0; k < len; k++)
				imap_feed(s, dir, ts, p + i + k, 1);
		} else if (len > 0) {
			/* a copy of exactly the chunk, so ASan sees reads
			 * past its end */
			uint8_t *c = malloc(len);
			if (c) {
				memcpy(c, p + i, len);
				imap_feed(s, dir, ts, c, len);
				free(c);
			}
		}
		i += len;
	}
	/* the session's user is readable at any time */
	const char *u = imap_session_user(s);
	if (u)
		mix_str(&r, u);
	imap_end(s, ts);
	CHECK(r.ended);
	imap_session_free(&s);
	CHECK(s == NULL);
	return r.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t max_line[4] = { 64, 65536, 80, 1000 };
	static const size_t lit_bytes[4] = { 256, 0, 1, 64 };
	static const uint32_t max_pending[4] = { 256, 1, 2, 8 };
	static const uint32_t max_depth[4] = { 64, 1, 2, 4 };
	struct isc_limits lim;

	if (size < 2)
		return 0;
	if (verbose < 0) {
		const char *c = getenv("FUZZ_IMAP_SPLIT_COUNTERS");
		verbose = getenv("FUZZ_VERBOSE") != NULL;
		split_counters = !(c && !strcmp(c, "0"));
	}
	isc_limits_default(&lim);
	lim.max_line = max_line[data[0] & 3];
	lim.literal_bytes = lit_bytes[(data[0] >> 2) & 3];
	lim.max_pending = max_pending[(data[0] >> 4) & 3];
	lim.max_depth = max_depth[(data[0] >> 6) & 3];
	bool show = data[1] & 1, midstream = data[1] & 2, split = data[1] & 4;

	uint64_t h = run_script(&lim, show, midstream, data + 2, size - 2, false);
	if (split) {
		uint64_t h1 = run_script(&lim, show, midstream, data + 2,
					 size - 2, true);
		if (h1 != h) {
			fprintf(stderr, "fuzz_imap: events differ when the data "
				"is fed one byte at a time\n");
			abort();
		}
	}
	return 0;
}
