/* output/json.c: see json.h.
 *
 * Records are written straight into a buffer as JSON text, their fixed
 * parts as constant text, and the buffer goes out with one fwrite per
 * 64 KiB (json.h): building a json-c object tree for every record (one
 * allocation per member, a hash table per object) cost two thirds of the
 * run time on a capture of many short sessions. The escaping follows json-c's (and RFC 8259): \" \\ \b \f
 * \n \r \t, other control characters as \u00XX, "/" as it is; wire
 * strings are made valid UTF-8 first (output/text.h). json-c stays what
 * the tests parse records with. */
#include "json.h"
#include "text.h"

#include <assert.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include "../dissector/tlshello.h"

/* Records wait in the buffer until it holds JSON_BUF_FLUSH bytes and go
 * out in one fwrite: one call per 64 KiB instead of one per record. */
#define JSON_BUF_FLUSH (64u << 10)
/* A string is escaped this many bytes at a time, each part with room
 * made once for its worst case (6 bytes out for a byte in). */
#define JSON_STR_PART 4096u

/* Long wire strings written before, and their JSON text: a server's
 * capability list or greeting, as many as a capture has servers that
 * take turns. */
#define MEMO_SLOTS 8
struct out_memo {
	struct out_buf in[MEMO_SLOTS], out[MEMO_SLOTS];
	unsigned next;		/* the slot the next new string takes */
};

struct out_json {
	FILE *f;
	bool flush;
	uint64_t records;
	struct out_buf b;	/* records not yet written, then the one being
				 * built */
	size_t rec;		/* where the record being built starts in b */
#ifndef NDEBUG
	/* b.len plus the room last made: no cursor may pass it (done()
	 * checks, in builds with assertions: the tests') */
	size_t lim;
#endif
	/* The day of the last timestamp written and its "2026-11-25T", so
	 * that gmtime runs once a day, not once a field. */
	int64_t tday;
	char tdate[11];
	/* The second of the last timestamp written: its first and last
	 * nanosecond (tlo > thi before the first) and the text of the
	 * timestamp up to its fraction, "\"2026-11-25T10:00:00." (21 bytes,
	 * copied as 24). */
	isc_time tlo, thi;
	char tpre[24];
	/* the last capability lists written and their JSON arrays (caps()) */
	struct out_memo caps_memo;
	/* the last long response codes and greetings written (wire_memo()) */
	struct out_memo code_memo, greeting_memo;
};

int out_json_new(FILE *f, bool flush, struct out_json **j_r)
{
	struct out_json *j = calloc(1, sizeof(*j));
	if (!j)
		return ISC_ENOMEM;
	j->f = f;
	j->flush = flush;
	j->tday = INT64_MIN;
	j->tlo = 1;
	j->thi = 0;
	*j_r = j;
	return 0;
}

void out_json_flush(struct out_json *j)
{
	if (j->b.len)
		fwrite(j->b.p, 1, j->b.len, j->f);
	j->b.len = 0;
	if (j->flush)
		fflush(j->f);
}

void out_json_free(struct out_json **jp)
{
	if (!*jp)
		return;
	out_json_flush(*jp);
	out_buf_free(&(*jp)->b);
	for (size_t i = 0; i < MEMO_SLOTS; i++) {
		out_buf_free(&(*jp)->caps_memo.in[i]);
		out_buf_free(&(*jp)->caps_memo.out[i]);
		out_buf_free(&(*jp)->code_memo.in[i]);
		out_buf_free(&(*jp)->code_memo.out[i]);
		out_buf_free(&(*jp)->greeting_memo.in[i]);
		out_buf_free(&(*jp)->greeting_memo.out[i]);
	}
	free(*jp);
	*jp = NULL;
}

void out_json_set_file(struct out_json *j, FILE *f)
{
	out_json_flush(j);	/* what was written before goes to the old file */
	j->f = f;
}

uint64_t out_json_records(const struct out_json *j)
{
	return j->records;
}

/* ---- the writer -------------------------------------------------------- */

/* Room for n more bytes at the end of the buffer, or NULL when memory is
 * short (the record is then dropped at its end). Writers fill it and add
 * what they wrote to b.len. */
static inline char *room(struct out_json *j, size_t n)
{
	struct out_buf *b = &j->b;
	if (b->len + n + 1 > b->cap && !out_buf_reserve(b, n))
		return NULL;
#ifndef NDEBUG
	j->lim = b->len + n;
#endif
	return b->p + b->len;
}

/* Appends n bytes. Unlike out_buf_put(), this does not look at b.failed
 * first: a record that ran out of memory is dropped whole at its end
 * (record_close()), so what is written after the failure never goes
 * out. One test fewer for each of the 60 members of a session record
 * (bench's small capture: 2,923 -> 2,899 instructions a packet). */
static inline void put(struct out_json *j, const char *s, size_t n)
{
	struct out_buf *b = &j->b;
	if (b->len + n + 1 <= b->cap) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
		return;
	}
	out_buf_put_grow(b, s, n);
}

/* Appends constant text. Its length is known when compiling, so there is
 * no strlen and the copy is a few moves: keys, punctuation and the fixed
 * parts of records are written this way (member() with strlen and three
 * out_buf_put calls per key was 12% of the instructions of a run). */
#define LIT(j, s) put(j, s, sizeof(s) - 1)
/* A member after the first of its object: ,"key": */
#define KEY(j, k) LIT(j, ",\"" k "\":")

#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL

/* Nonzero if one of the 8 bytes of v needs a look: a byte below 0x20,
 * '"' or '\\' (an escape), and with wire also a byte from 0x80 (UTF-8 to
 * check). x is the usual SWAR test for a byte below n and for a zero
 * byte (of v ^ c): x & ~v & HIGH is exact as to whether any byte needs an
 * escape. With wire, (x & ~v | v) & HIGH, which is (x | v) & HIGH: one
 * operation fewer a word than testing v & HIGH apart. */
static inline uint64_t needs_look8(uint64_t v, bool wire)
{
	uint64_t x = (v - ONES * 0x20) | ((v ^ ONES * '"') - ONES) |
		     ((v ^ ONES * '\\') - ONES);
	return (wire ? x | v : x & ~v) & HIGH;
}

/* What a byte needs in a JSON string: J_ESC an escape (below 0x20, '"',
 * '\\'), J_UTF8 a look as part of a UTF-8 sequence in a wire string (from
 * 0x80; other strings copy those bytes as they are), 0 nothing. */
enum { J_ESC = 1, J_UTF8 = 2 };
#define J_ESC16 J_ESC, J_ESC, J_ESC, J_ESC, J_ESC, J_ESC, J_ESC, J_ESC, \
	J_ESC, J_ESC, J_ESC, J_ESC, J_ESC, J_ESC, J_ESC, J_ESC
#define J_UTF16 J_UTF8, J_UTF8, J_UTF8, J_UTF8, J_UTF8, J_UTF8, J_UTF8, \
	J_UTF8, J_UTF8, J_UTF8, J_UTF8, J_UTF8, J_UTF8, J_UTF8, J_UTF8, J_UTF8
static const uint8_t jclass[256] = {
	J_ESC16, J_ESC16,
	['"'] = J_ESC, ['\\'] = J_ESC,
	[0x80] = J_UTF16, J_UTF16, J_UTF16, J_UTF16, J_UTF16, J_UTF16, J_UTF16,
	J_UTF16,
};

/* Writes the escape of c (below 0x20, '"' or '\\') at w: \" \\ \b \f \n
 * \r \t, or \u00XX. Returns the end of what it wrote. */
static char *escape(char *w, uint8_t c)
{
	static const char hex[] = "0123456789abcdef";
	*w++ = '\\';
	switch (c) {
	case '"': *w++ = '"'; break;
	case '\\': *w++ = '\\'; break;
	case '\b': *w++ = 'b'; break;
	case '\f': *w++ = 'f'; break;
	case '\n': *w++ = 'n'; break;
	case '\r': *w++ = 'r'; break;
	case '\t': *w++ = 't'; break;
	default:
		w[0] = 'u';
		w[1] = '0';
		w[2] = '0';
		w[3] = hex[c >> 4];
		w[4] = hex[c & 15];
		w += 5;
	}
	return w;
}

/* Copies n (< 8) bytes of p to the start of *v: each length a copy of a
 * length known when compiling, a few moves, where memcpy(v, p, n) was a
 * call (bench's many-flows capture: 2,951 -> 2,941 instructions a packet,
 * small: 2,504 -> 2,495). */
static inline void short_load(uint64_t *v, const uint8_t *p, size_t n)
{
	switch (n) {
	case 7: memcpy(v, p, 7); break;
	case 6: memcpy(v, p, 6); break;
	case 5: memcpy(v, p, 5); break;
	case 4: memcpy(v, p, 4); break;
	case 3: memcpy(v, p, 3); break;
	case 2: memcpy(v, p, 2); break;
	case 1: memcpy(v, p, 1); break;
	default: break;
	}
}

/* Appends s (n bytes) as a JSON string, quotes included. wire: s is from
 * the wire and is made valid UTF-8 on the way, as out_utf8_sanitize()
 * does (each byte of an invalid sequence becomes U+FFFD); otherwise bytes
 * from 0x80 go as they are.
 *
 * One pass, 8 bytes at a time while none needs a look (for wire strings
 * also no byte from 0x80), and room made once per JSON_STR_PART bytes:
 * this replaces copying a wire string through out_utf8_sanitize() into a
 * second buffer and then escaping it a byte at a time with an
 * out_buf_put() per run (esc and out_utf8_sanitize took 64 million
 * instructions on bench's small-x0.02 capture, string_ and str_val now
 * take 23 million). Strings that need no escape go out through
 * string_() and w_str() below, without this, up to JSON_STR_PART bytes;
 * in the bytes that need a look, jclass[] says what each needs. */
static void string_any(struct out_json *j, const char *s, size_t n, bool wire)
{
	const uint8_t *p = (const uint8_t *)s;
	/* which of jclass[]'s marks this string acts on */
	const uint8_t look = wire ? J_ESC | J_UTF8 : J_ESC;
	size_t i = 0;
	char *w = room(j, 2 + 6 * ((n < JSON_STR_PART ? n : JSON_STR_PART) + 3));
	if (!w)
		return;
	*w++ = '"';
	while (i < n) {
		size_t end = n - i > JSON_STR_PART ? i + JSON_STR_PART : n;
		if (i) {
			/* the last part's room ends here; + 3: a UTF-8
			 * sequence may run past a part's end */
			j->b.len = (size_t)(w - j->b.p);
			if (!(w = room(j, 2 + 6 * (end - i + 3))))
				return;
		}
		while (i < end) {
			uint64_t v;
			/* Words are copied as they are tested, and the copy of
			 * one that needs a look is written over below: a load,
			 * a store and the test a word, with no branch but the
			 * test's (bench's small capture, response texts of 37
			 * bytes: 223 -> 185 instructions a string). */
			while (i + 8 <= end) {
				memcpy(&v, p + i, 8);
				memcpy(w, &v, 8);
				if (needs_look8(v, wire))
					break;
				w += 8;
				i += 8;
			}
			if (i == end)
				break;
			if (i + 8 > end && end >= 8) {
				/* the last 1 to 7 bytes as the part's last word:
				 * if none of its bytes needs a look, those before
				 * i went out as they were, just before w, and
				 * are written again the same */
				size_t back = 8 - (end - i);
				memcpy(&v, p + end - 8, 8);
				if (!needs_look8(v, wire)) {
					memcpy(w - back, &v, 8);
					w += end - i;
					i = end;
					break;
				}
			}
			/* a byte at a time up to the next word, each byte's
			 * need from one table look-up */
			size_t stop = end - i > 8 ? i + 8 : end;
			while (i < stop) {
				uint8_t c = p[i];
				uint8_t k = jclass[c] & look;
				if (!k) {
					*w++ = (char)c;
					i++;
				} else if (k == J_ESC) {
					w = escape(w, c);
					i++;
				} else {
					size_t q = out_utf8_seq(p + i, n - i);
					if (q) {
						memcpy(w, p + i, q);
						w += q;
						i += q;
					} else {
						/* U+FFFD */
						w[0] = (char)0xef;
						w[1] = (char)0xbf;
						w[2] = (char)0xbd;
						w += 3;
						i++;
					}
				}
			}
		}
	}
	*w++ = '"';
	j->b.len = (size_t)(w - j->b.p);
}

/* A string of at most 16 bytes as two words, *a and *z: padded with
 * spaces, which need no look, a string shorter than a word takes the
 * word test too (the byte loop took about 120 instructions a string);
 * from 8 bytes on, two words, overlapping when n < 16, both tested
 * before either goes out (bench's many-flows capture: 3,444 -> 3,430
 * instructions a packet). True when none of its bytes needs a look. */
static inline bool short_clean(const uint8_t *p, size_t n, bool wire,
			       uint64_t *a, uint64_t *z)
{
	if (n < 8) {
		*a = ONES * ' ';
		short_load(a, p, n);
		*z = *a;
	} else {
		memcpy(a, p, 8);
		memcpy(z, p + n - 8, 8);
	}
	return !(needs_look8(*a, wire) | needs_look8(*z, wire));
}

/* string_(): most strings of a record are short and need no escape
 * (tags, statuses, command names, user names, response texts): up to 16
 * bytes, those go out here, inline; string_any() takes the others. The
 * call and the saving of registers for string_any()'s loop were a fifth
 * of its cost (bench's small capture: 2,441 -> 2,432 instructions a
 * packet). */
static inline void string_(struct out_json *j, const char *s, size_t n,
			   bool wire)
{
	uint64_t a, z;
	if (n > 16 || !short_clean((const uint8_t *)s, n, wire, &a, &z)) {
		string_any(j, s, n, wire);
		return;
	}
	/* the room string_any() asks for, so that memory runs short at
	 * the same string whichever way it goes */
	char *w = room(j, 2 + 6 * (n + 3));
	if (!w)
		return;
	w[0] = '"';
	memcpy(w + 1, &a, 8);		/* room: 6 * (n + 3) >= 18 */
	if (n > 8)
		memcpy(w + 1 + n - 8, &z, 8);
	w[n + 1] = '"';
	j->b.len += n + 2;
}

/* A string we made (ASCII names, addresses), or null. */
static void str_val(struct out_json *j, const char *s)
{
	if (s)
		string_(j, s, strlen(s), false);
	else
		LIT(j, "null");
}

/* A string from the wire, made valid UTF-8, or null. */
static void wire_val(struct out_json *j, const char *s)
{
	if (s)
		string_(j, s, strlen(s), true);
	else
		LIT(j, "null");
}

/* Wire strings from this many bytes are kept in a struct out_memo. */
#define MEMO_MIN 64

/* The JSON text kept in m for the string s (n bytes), or NULL. */
static const struct out_buf *memo_find(const struct out_memo *m, const char *s,
				       size_t n)
{
	for (size_t i = 0; i < MEMO_SLOTS; i++) {
		const struct out_buf *in = &m->in[i], *out = &m->out[i];
		if (n == in->len && n && !in->failed && !out->failed &&
		    !memcmp(s, in->p, n))
			return out;
	}
	return NULL;
}

/* Keeps s (n bytes) and its JSON text, what the buffer holds from start
 * on, in m's next slot; not when the record has run out of memory. */
static void memo_keep(struct out_json *j, struct out_memo *m, const char *s,
		      size_t n, size_t start)
{
	if (j->b.failed || j->b.len < start)
		return;
	struct out_buf *in = &m->in[m->next], *out = &m->out[m->next];
	m->next = (m->next + 1) % MEMO_SLOTS;
	in->len = out->len = 0;
	in->failed = out->failed = false;
	out_buf_put(in, s, n);
	out_buf_put(out, j->b.p + start, j->b.len - start);
}

/* wire_val() for a string of n >= MEMO_MIN bytes that tends to repeat
 * from record to record, and can be long: the JSON text of the last
 * MEMO_SLOTS such strings is kept in m, and copied when the string is
 * one of them. A server's LOGIN completion carries its capability list
 * as a response code (500 bytes, escaped at 2.5 instructions a byte),
 * and its greeting is the same in every session: a compare and a copy
 * instead (bench's many-flows capture, five servers taking turns: 116
 * fewer instructions a packet; a greeting costs 133 instead of 409). */
static void wire_memo(struct out_json *j, struct out_memo *m, const char *s,
		      size_t n)
{
	size_t start = j->b.len;
	const struct out_buf *out = memo_find(m, s, n);
	if (out) {
		put(j, out->p, out->len);
		return;
	}
	string_(j, s, n, true);
	memo_keep(j, m, s, n, start);
}

/* "00" to "99": numbers are written two digits a step, which halves the
 * divisions (ts_val went from 158 to 108 instructions a call). */
static const char digits2[] =
	"00010203040506070809101112131415161718192021222324252627282930313233"
	"34353637383940414243444546474849505152535455565758596061626364656667"
	"6869707172737475767778798081828384858687888990919293949596979899";

/* Two digits of v (0 to 99) at w. */
static inline void two(char *w, unsigned v)
{
	memcpy(w, digits2 + 2 * (size_t)v, 2);
}

/* A non-negative integer (counts, ports, durations): digits by hand,
 * as printf's machinery showed in the profile. Values above INT64_MAX
 * are written as they are, which JSON allows. The digits go straight
 * into the buffer once their count is known, not through a copy of
 * variable length (a memcpy call), and a single digit, the most common
 * value in records (zero counters), is one byte put (bench's many-flows
 * capture, whose session records hold 40 numbers: 3,721 -> 3,630
 * instructions a packet). */
static char *w_digits(char *w, uint64_t v)
{
	static const uint64_t pow10[20] = {
		1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
		1000000000, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
		10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
		10000000000000000ULL, 100000000000000000ULL,
		1000000000000000000ULL, 10000000000000000000ULL,
	};
	/* digits: log10 from the bit length (1233 / 4096 ~ log10(2)), one
	 * short at a power of ten; counting them by dividing made a
	 * duration cost 117 instructions, now 87 */
	size_t t = (size_t)(64 - __builtin_clzll(v | 1)) * 1233 >> 12;
	size_t n = t + (v >= pow10[t]);
	if (n == 0)
		n = 1;	/* v = 0 */
	char *e = w + n;
	while (v >= 100) {
		e -= 2;
		two(e, (unsigned)(v % 100));
		v /= 100;
	}
	if (v >= 10) {
		e -= 2;
		two(e, (unsigned)v);
	} else {
		*--e = (char)('0' + v);
	}
	return w + n;
}

/* The most digits w_digits() writes. */
#define U64_MAX_LEN 20

/* w_digits() at a cursor (see done()), a single digit inline. */
static inline char *w_u64(char *w, uint64_t v)
{
	if (v < 10) {
		*w = (char)('0' + v);
		return w + 1;
	}
	return w_digits(w, v);
}

static inline void u64_val(struct out_json *j, uint64_t v)
{
	char *w = room(j, U64_MAX_LEN);
	if (!w)
		return;
	j->b.len = (size_t)(w_u64(w, v) - j->b.p);
}

#define STR(j, k, s) (KEY(j, k), str_val(j, s))
#define WIRE(j, k, s) (KEY(j, k), wire_val(j, s))
#define U64(j, k, v) (KEY(j, k), u64_val(j, v))


/* "2026-11-25T10:00:00.123456Z": RFC 3339 UTC with microseconds, as
 * isc_time_format() writes it. The date comes from isc_time_format() once
 * a day and the time of day is worked out here (UTC days are 86400 s
 * long in POSIX time): per-second caching missed on every session record,
 * whose start and end alternate, and isc_time_format's gmtime and
 * snprintf were 4% of the instructions of a run. The text up to the
 * fraction is kept for the last second written: a command's start and
 * end (and the @timestamp of the next record) mostly fall in the same
 * second, and then only the microseconds are worked out. That second is
 * kept as its first and last nanosecond, so that telling whether t falls
 * in it is two compares, not a division (bench's small capture: 102 ->
 * 73 -> 61 instructions a timestamp). */
#define TS_LEN 29

/* Makes t's second the one kept (see w_ts()); returns t's nanoseconds
 * into it. */
static uint64_t ts_second(struct out_json *j, isc_time t)
{
	int64_t sec = t / ISC_NS_PER_SEC, ns = t % ISC_NS_PER_SEC;
	if (ns < 0) {
		ns += ISC_NS_PER_SEC;
		sec--;
	}
	int64_t day = sec / 86400, tod = sec % 86400;
	if (tod < 0) {
		tod += 86400;
		day--;
	}
	if (day != j->tday) {
		char full[ISC_TIME_STRLEN];
		isc_time_format(t, full);
		memcpy(j->tdate, full, sizeof(j->tdate));	/* with the "T" */
		j->tday = day;
	}
	unsigned tods = (unsigned)tod;
	char *p = j->tpre;
	p[0] = '"';
	memcpy(p + 1, j->tdate, sizeof(j->tdate));
	two(p + 12, tods / 3600);
	p[14] = ':';
	two(p + 15, tods / 60 % 60);
	p[17] = ':';
	two(p + 18, tods % 60);
	p[20] = '.';
	if (sec < INT64_MIN / ISC_NS_PER_SEC) {
		/* its first nanosecond is below INT64_MIN: not kept */
		j->tlo = 1;
		j->thi = 0;
	} else {
		j->tlo = sec * ISC_NS_PER_SEC;
		j->thi = j->tlo <= INT64_MAX - (ISC_NS_PER_SEC - 1) ?
			 j->tlo + (ISC_NS_PER_SEC - 1) : INT64_MAX;
	}
	return (uint64_t)ns;
}

/* A timestamp at a cursor: TS_LEN bytes. */
static char *w_ts(struct out_json *j, char *w, isc_time t)
{
	uint64_t ns;
	if (t >= j->tlo && t <= j->thi)
		ns = (uint64_t)(t - j->tlo);
	else
		ns = ts_second(j, t);
	unsigned us = (unsigned)(ns / 1000);
	memcpy(w, j->tpre, sizeof(j->tpre));	/* room: TS_LEN */
	two(w + 21, us / 10000);
	two(w + 23, us / 100 % 100);
	two(w + 25, us % 100);
	w[27] = 'Z';
	w[28] = '"';
	return w + TS_LEN;
}

static void ts_val(struct out_json *j, isc_time t)
{
	char *w = room(j, TS_LEN);
	if (!w)
		return;
	j->b.len = (size_t)(w_ts(j, w, t) - j->b.p);
}

static void record_open(struct out_json *j)
{
	j->rec = j->b.len;
	LIT(j, "{\"@timestamp\":");
}

/* Counts the record that ends at b.len, with its newline; the buffer
 * goes out when it is full, or at once with flush. A record that ran out
 * of memory is dropped whole, so that no line is ever written cut. */
static void record_done(struct out_json *j)
{
	if (j->b.failed) {
		j->b.len = j->rec;
		j->b.failed = false;
		return;
	}
	j->records++;
	if (j->flush || j->b.len >= JSON_BUF_FLUSH)
		out_json_flush(j);
}

/* Ends the record: its closing brace and newline, then record_done(). */
static void record_close(struct out_json *j)
{
	LIT(j, "}\n");
	record_done(j);
}

/* ---- writing at a cursor ----------------------------------------------- */

/* Most of a record is text of a bounded length (keys, numbers,
 * timestamps, names of our own), written at a cursor w into room made
 * once for a run of it: put() tested the room and stored b.len for each
 * key and value, and read b.len again after each copy, which might have
 * written to it as far as the compiler knew (bench's small capture: a
 * command record 1,248 -> 963 instructions, a session record 3,630 ->
 * 2,722). A cursor has room for RUN_MAX bytes: a run of bounded text is
 * never longer (the longest, a session record's tcp and anomalies, is
 * under 400), and each string written at a cursor makes room for itself
 * and RUN_MAX bytes after (w_str()), and so does a null in its place
 * (w_null()). done() ends a run and, in builds with assertions (the
 * tests'), checks that it kept to its room. Functions that make room
 * return NULL when memory is short: the record is then dropped at its
 * end, and what it was to hold is not written. */
#define RUN_MAX 512u

/* b.len up to the cursor w. */
static inline void done(struct out_json *j, const char *w)
{
	j->b.len = (size_t)(w - j->b.p);
	assert(j->b.len <= j->lim);	/* the run fit in its room */
}

/* Ends the run at w: a new cursor with room for n bytes, or NULL. */
static inline char *more(struct out_json *j, char *w, size_t n)
{
	done(j, w);
	return room(j, n);
}

static inline char *wput(char *w, const char *s, size_t n)
{
	memcpy(w, s, n);
	return w + n;
}

/* Constant text at a cursor, and a member's key after the first. */
#define WLIT(w, s) wput(w, s, sizeof(s) - 1)
#define WKEY(w, k) WLIT(w, ",\"" k "\":")

/* s (n bytes) by string_any(), which makes its own room, at the cursor
 * w: returns a cursor after it with RUN_MAX bytes of room, or NULL. */
static char *w_str_any(struct out_json *j, char *w, const char *s, size_t n,
		       bool wire)
{
	done(j, w);
	string_any(j, s, n, wire);
	return room(j, RUN_MAX);
}

/* w_str() for a string of more than 16 bytes: up to JSON_STR_PART
 * bytes, words copied as they are tested into room made for the string
 * as it is; the first that needs a look sends the string to
 * string_any(), which writes over the copy. string_any()'s prologue and
 * its handling of parts and tails were most of the cost of a response
 * text of 37 bytes (bench's small capture: 185 -> 132 instructions a
 * string). */
static char *w_str_long(struct out_json *j, char *w, const char *s, size_t n,
			bool wire)
{
	const uint8_t *p = (const uint8_t *)s;
	if (n <= JSON_STR_PART) {
		if (!(w = more(j, w, 2 + n + RUN_MAX)))
			return NULL;
		uint64_t v;
		size_t i;
		for (i = 0; i + 8 < n; i += 8) {
			memcpy(&v, p + i, 8);
			if (needs_look8(v, wire))
				goto any;
			memcpy(w + 1 + i, &v, 8);
		}
		/* the last 1 to 8 bytes as the string's last word */
		memcpy(&v, p + n - 8, 8);
		if (!needs_look8(v, wire)) {
			w[0] = '"';
			memcpy(w + 1 + n - 8, &v, 8);
			w[n + 1] = '"';
			return w + n + 2;
		}
	}
any:
	return w_str_any(j, w, s, n, wire);
}

/* s (n bytes) as a JSON string at the cursor w, as string_() writes it:
 * returns the cursor after it, or NULL. */
static inline char *w_str(struct out_json *j, char *w, const char *s,
			  size_t n, bool wire)
{
	uint64_t a, z;
	if (n > 16)
		return w_str_long(j, w, s, n, wire);
	if (!short_clean((const uint8_t *)s, n, wire, &a, &z))
		goto any;
	if (!(w = more(j, w, 2 + n + RUN_MAX)))
		return NULL;
	w[0] = '"';
	memcpy(w + 1, &a, 8);		/* room: RUN_MAX >= 16 */
	if (n > 8)
		memcpy(w + 1 + n - 8, &z, 8);
	w[n + 1] = '"';
	return w + n + 2;
any:
	return w_str_any(j, w, s, n, wire);
}

/* null in place of a string, leaving RUN_MAX bytes of room after it as
 * a string does: a record whose strings are all missing makes no longer
 * runs of text than one that has them. */
static inline char *w_null(struct out_json *j, char *w)
{
	if (!(w = more(j, w, 4 + RUN_MAX)))
		return NULL;
	return WLIT(w, "null");
}

/* A string from the wire, or null, at a cursor. */
static inline char *w_wire(struct out_json *j, char *w, const char *s)
{
	if (!s)
		return w_null(j, w);
	return w_str(j, w, s, strlen(s), true);
}

/* wire_memo() at a cursor. */
static char *w_memo(struct out_json *j, char *w, struct out_memo *m,
		    const char *s)
{
	if (!s)
		return w_null(j, w);
	size_t n = strlen(s);
	if (n < MEMO_MIN)
		return w_str(j, w, s, n, true);
	done(j, w);
	wire_memo(j, m, s, n);
	return room(j, RUN_MAX);
}

/* The flow's session id at a cursor: always 16 hex digits (flowid.c). */
static inline char *w_id(char *w, const struct out_flow *f)
{
	_Static_assert(sizeof(f->id) == 17, "16 digits and a NUL");
	w[0] = '"';
	memcpy(w + 1, f->id, 16);
	w[17] = '"';
	return w + 18;
}

/* A completion's status: the dissector's "OK", "NO" and "BAD" as
 * constants, told apart once a record for its outcome and its status
 * (strcmp and str_val took 110 instructions a command record on bench's
 * many-flows capture). */
enum status_kind { ST_NONE, ST_OK, ST_NO, ST_BAD, ST_OTHER };

static inline enum status_kind status_kind(const char *s)
{
	if (!s)
		return ST_NONE;
	if (s[0] == 'O' && s[1] == 'K' && !s[2])
		return ST_OK;
	if (s[0] == 'N' && s[1] == 'O' && !s[2])
		return ST_NO;
	if (s[0] == 'B' && s[1] == 'A' && s[2] == 'D' && !s[3])
		return ST_BAD;
	return ST_OTHER;
}

/* Event's outcome, from a command's status. */
static inline char *w_outcome(char *w, enum status_kind k)
{
	if (k == ST_OK)
		return WLIT(w, "\"success\"");
	if (k == ST_NONE)
		return WLIT(w, "\"unknown\"");
	return WLIT(w, "\"failure\"");
}

/* A completion's status, or null. */
static inline char *w_status(struct out_json *j, char *w, enum status_kind k,
			     const char *status)
{
	switch (k) {
	case ST_OK: return WLIT(w, "\"OK\"");
	case ST_NO: return WLIT(w, "\"NO\"");
	case ST_BAD: return WLIT(w, "\"BAD\"");
	case ST_NONE: return WLIT(w, "null");
	default: return w_str(j, w, status, strlen(status), false);
	}
}

/* Event's end and duration after its start, at a cursor. */
static inline char *w_span_end(struct out_json *j, char *w, isc_time start,
			       isc_time end)
{
	if (end && end < start)
		end = start;	/* the capture's clock went backwards */
	if (end) {
		w = WKEY(w, "end");
		w = w_ts(j, w, end);
		w = WKEY(w, "duration");
		w = w_u64(w, (uint64_t)(end - start));
	}
	return w;
}

/* ---- the fields of many records ----------------------------------------- */

/* A string of the flow's that we formatted ourselves (addresses, the
 * Community ID: digits, hex, base64, '.', ':'), which never needs an
 * escape, held in an array of cap bytes (a length known when
 * compiling, <= OUT_FLOW_STR_CAP), at a cursor with room for
 * OUT_FLOW_STR_CAP + 2 bytes: the whole array is copied, a few moves,
 * and the closing quote written over the copy after the string; a copy
 * of strlen() bytes was a call (bench's many-flows capture: 2,941 ->
 * 2,931 instructions a packet). */
#define OUT_FLOW_STR_CAP 64
static inline char *w_flow_str(char *w, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	w[0] = '"';
	memcpy(w + 1, s, cap);
	w[n + 1] = '"';
	return w + n + 2;
}
_Static_assert(sizeof(((struct out_flow *)0)->community_id) <= OUT_FLOW_STR_CAP &&
	       sizeof(((struct out_flow *)0)->client_ip) <= OUT_FLOW_STR_CAP,
	       "w_flow_str() copies the whole array");

/* The room w_endpoints() needs: its text with both byte counts, and the
 * copy of a whole array past the end of the last address. */
#define EP_ROOM (OUT_JSON_EP_MAX + 2 * (sizeof(",\"bytes\":") + U64_MAX_LEN) + \
		 OUT_FLOW_STR_CAP)

/* network, source, destination at a cursor with room for EP_ROOM bytes;
 * bytes given (not NULL) for sessions. Sets *src_end_r to how far into
 * what it wrote the source object ends: where "},\"destination\""
 * starts. Written at a cursor, once a flow (the records after copy it):
 * 309 -> 217 instructions on bench's many-flows capture. */
static char *w_endpoints(char *w, const struct out_flow *f,
			 const uint64_t *src_bytes, const uint64_t *dst_bytes,
			 size_t *src_end_r)
{
	const char *at = w;
	w = WLIT(w, ",\"network\":{\"transport\":\"tcp\",\"protocol\":\"imap\","
		    "\"community_id\":");
	w = w_flow_str(w, f->community_id, sizeof(f->community_id));
	w = WLIT(w, "},\"source\":{\"ip\":");
	w = w_flow_str(w, f->client_ip, sizeof(f->client_ip));
	w = WKEY(w, "port");
	w = w_u64(w, f->client_port);
	if (src_bytes) {
		w = WKEY(w, "bytes");
		w = w_u64(w, *src_bytes);
	}
	*src_end_r = (size_t)(w - at);
	w = WLIT(w, "},\"destination\":{\"ip\":");
	w = w_flow_str(w, f->server_ip, sizeof(f->server_ip));
	w = WKEY(w, "port");
	w = w_u64(w, f->server_port);
	if (dst_bytes) {
		w = WKEY(w, "bytes");
		w = w_u64(w, *dst_bytes);
	}
	return WLIT(w, "}");
}

/* The IANA name of a TLS cipher suite, from OpenSSL's table, or NULL. */
static const char *cipher_name(uint16_t id)
{
	static SSL_CTX *ctx;
	static SSL *ssl;
	if (!ssl) {
		if (!ctx)
			ctx = SSL_CTX_new(TLS_method());
		if (ctx)
			ssl = SSL_new(ctx);
		if (!ssl)
			return NULL;
	}
	const unsigned char b[2] = { (unsigned char)(id >> 8), (unsigned char)id };
	const SSL_CIPHER *c = SSL_CIPHER_find(ssl, b);
	return c ? SSL_CIPHER_standard_name(c) : NULL;
}

/* ---- records ----------------------------------------------------------- */

/* The constant part of a record's "event", as head() wrote it member by
 * member before: one copy now. */
#define EVENT_HEAD(dataset, kind, category, types)                            \
	",\"event\":{\"dataset\":\"" dataset "\",\"kind\":\"" kind "\","      \
	"\"category\":[\"" category "\"],\"type\":[" types "]"

/* The start of a command or auth record (auth), up to and with the
 * opening of "imap" and its session_id: what the two have in common.
 * Returns the cursor after it, or NULL. The record's constant text from
 * "event" to its "outcome" key, and the timestamp copied to "start", go
 * as copies of a length known when compiling: a few moves, not a memcpy
 * call each (bench's small capture: 805 -> 700 instructions a record). */
static char *exchange_open(struct out_json *j, struct out_flow *f, bool auth,
			   enum status_kind st, isc_time start, isc_time end,
			   const char *user_name)
{
	static const char head_auth[] = EVENT_HEAD("imap.auth", "event",
		"authentication", "\"start\"") ",\"outcome\":";
	static const char head_cmd[] = EVENT_HEAD("imap.command", "event",
		"network", "\"protocol\"") ",\"outcome\":";
	/* all but the user's name: two timestamps and the head before
	 * "start", the endpoints, and the rest of the longest head */
	const size_t open_max = (size_t)3 * TS_LEN + sizeof(head_auth) +
				sizeof(head_cmd) + U64_MAX_LEN + OUT_JSON_EP_MAX + 128;
	j->rec = j->b.len;
	char *w = room(j, open_max + RUN_MAX);
	if (!w)
		return NULL;
	w = WLIT(w, "{\"@timestamp\":");
	/* @timestamp is the event's start: written once, then copied */
	char *ts = w;
	w = w_ts(j, w, start);
	if (auth)
		w = WLIT(w, head_auth);
	else
		w = WLIT(w, head_cmd);
	w = w_outcome(w, st);
	w = WKEY(w, "start");
	w = wput(w, ts, TS_LEN);
	w = w_span_end(j, w, start, end);
	w = WLIT(w, "}");
	/* The endpoint members are the same in all of a session's command
	 * and auth records: written once, then copied (they were 4% of the
	 * instructions on bench's small capture, the copy is a few moves). */
	if (f->json_ep_len) {
		w = wput(w, f->json_ep, f->json_ep_len);
	} else {
		if (!(w = more(j, w, EP_ROOM + RUN_MAX)))
			return NULL;
		const char *at = w;
		size_t src;
		w = w_endpoints(w, f, NULL, NULL, &src);
		size_t n = (size_t)(w - at);
		if (!j->b.failed && n <= sizeof(f->json_ep)) {
			memcpy(f->json_ep, at, n);
			f->json_ep_len = (uint16_t)n;
			f->json_ep_src = (uint16_t)src;
		}
	}
	if (user_name) {
		w = WLIT(w, ",\"user\":{\"name\":");
		if (!(w = w_wire(j, w, user_name)))
			return NULL;
		w = WLIT(w, "}");
	}
	w = WLIT(w, ",\"imap\":{\"session_id\":");
	return w_id(w, f);
}

/* Ends a record written at a cursor (NULL when memory ran short): its
 * closing brace and newline at the cursor, then record_done(). */
static void record_end(struct out_json *j, char *w)
{
	if (w)
		done(j, WLIT(w, "}\n"));
	record_done(j);
}

void out_json_command(struct out_json *j, struct out_flow *f,
		      const struct imap_cmd_rec *c)
{
	enum status_kind st = status_kind(c->status);
	char *w = exchange_open(j, f, false, st, c->start, c->end, c->user);
	if (!w)
		goto out;
	w = WKEY(w, "command_number");
	w = w_u64(w, c->number);
	w = WKEY(w, "tag");
	if (!(w = w_wire(j, w, c->tag)))
		goto out;
	w = WKEY(w, "command");
	if (!(w = w_wire(j, w, c->name)))
		goto out;
	w = WKEY(w, "status");
	w = w_status(j, w, st, c->status);
	if (!w)
		goto out;
	w = WKEY(w, "response_code");
	if (!(w = w_memo(j, w, &j->code_memo, c->resp_code)))
		goto out;
	w = WKEY(w, "response_text");
	if (!(w = w_wire(j, w, c->resp_text)))
		goto out;
	if (c->mailbox) {
		w = WKEY(w, "mailbox");
		if (!(w = w_wire(j, w, c->mailbox)))
			goto out;
	}
	if (c->literals) {
		w = WLIT(w, ",\"literals\":{\"count\":");
		w = w_u64(w, c->literals);
		w = WKEY(w, "bytes");
		w = w_u64(w, c->literal_bytes);
		w = WLIT(w, "}");
	}
	w = WKEY(w, "untagged");
	w = w_u64(w, c->untagged);
	if (c->messages) {
		w = WKEY(w, "messages");
		w = w_u64(w, c->messages);
	}
	w = WLIT(w, "}");
out:
	record_end(j, w);
}

void out_json_auth(struct out_json *j, struct out_flow *f,
		   const struct imap_auth_rec *a)
{
	enum status_kind st = status_kind(a->status);
	char *w = exchange_open(j, f, true, st, a->start, a->end, a->user);
	if (!w)
		goto out;
	w = WLIT(w, ",\"auth\":{\"command\":");
	if (a->command)
		w = w_str(j, w, a->command, strlen(a->command), false);
	else
		w = w_null(j, w);
	if (!w)
		goto out;
	w = WKEY(w, "mechanism");
	if (!(w = w_wire(j, w, a->mechanism)))
		goto out;
	w = WKEY(w, "status");
	if (!(w = w_status(j, w, st, a->status)))
		goto out;
	w = WKEY(w, "response_text");
	if (!(w = w_wire(j, w, a->resp_text)))
		goto out;
	w = WLIT(w, "}}");
out:
	record_end(j, w);
}

/* ECS tls.*: established, and what the clear-text hellos said. */
static void tls(struct out_json *j, const struct imap_session_rec *s)
{
	LIT(j, ",\"tls\":{\"established\":true");
	const char *v = tls_version_name(s->tls_version);
	if (v) {
		STR(j, "version_protocol", v[0] == 'S' ? "ssl" : "tls");
		STR(j, "version", v[0] == 'S' ? "3.0" : v + 4);
	}
	if (s->tls_cipher) {
		const char *n = cipher_name(s->tls_cipher);
		char hex[8];
		snprintf(hex, sizeof(hex), "0x%04X", s->tls_cipher);
		STR(j, "cipher", n ? n : hex);
	}
	if (s->tls_sni && s->tls_sni[0]) {
		LIT(j, ",\"client\":{\"server_name\":");
		wire_val(j, s->tls_sni);
		LIT(j, "}");
	}
	LIT(j, "}");
}

/* "IMAP4rev1 IDLE AUTH=PLAIN" as ["IMAP4rev1", "IDLE", "AUTH=PLAIN"];
 * an atom is cut to 255 bytes. */
static void caps(struct out_json *j, const char *caps)
{
	/* Every session of a server has the same list (two, before and
	 * after login): the arrays of the last few are kept and copied when
	 * the list is one of them, not split and escaped atom by atom again
	 * (12% fewer instructions on the many-flows bench capture with the
	 * last list kept; with the last MEMO_SLOTS, for servers that take
	 * turns, a session record 2,141 -> 1,856 instructions). */
	size_t n = strlen(caps), start = j->b.len;
	const struct out_buf *out = memo_find(&j->caps_memo, caps, n);
	if (out) {
		put(j, out->p, out->len);
		return;
	}
	LIT(j, ",\"capabilities\":[");
	bool first = true;
	for (const char *c = caps; *c;) {
		while (*c == ' ')
			c++;
		size_t l = 0;
		while (c[l] && c[l] != ' ')
			l++;
		if (l == 0)
			break;
		if (!first)
			LIT(j, ",");
		first = false;
		string_(j, c, l < 255 ? l : 255, true);
		c += l;
	}
	LIT(j, "]");
	memo_keep(j, &j->caps_memo, caps, n, start);
}

/* The pairs of an ID list (RFC 2971) as an object; a repeated key keeps
 * its first value. */
static void id_params(struct out_json *j, const struct imap_kv *kv, size_t n)
{
	LIT(j, "{");
	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; k < i; k++)
			if (!strcmp(kv[k].key, kv[i].key))
				break;
		if (k < i)
			continue;
		if (i)
			LIT(j, ",");
		wire_val(j, kv[i].key);
		LIT(j, ":");
		wire_val(j, kv[i].value);
	}
	LIT(j, "}");
}

/* A name of our own tables (the session's state, end reason, roles
 * basis: lower-case letters and '_'), or null, at a cursor. */
static inline char *w_name(struct out_json *j, char *w, const char *s)
{
	if (!s)
		return w_null(j, w);
	return w_str(j, w, s, strlen(s), false);
}

static inline char *w_bool(char *w, bool v)
{
	if (v)
		return WLIT(w, "true");
	return WLIT(w, "false");
}

/* halves() at a cursor. */
static char *w_halves(char *w, const uint64_t *a, const uint64_t *b)
{
	if (!(a[0] | a[1] | b[0] | b[1])) {
		/* No gaps in nearly every session, no literals in many: the
		 * text of all four zeros at once (with the same for the tcp
		 * counters, bench's many-flows capture: 2,801 -> 2,762
		 * instructions a packet). */
		return WLIT(w, "{\"client\":{\"count\":0,\"bytes\":0},"
			       "\"server\":{\"count\":0,\"bytes\":0}}");
	}
	w = WLIT(w, "{\"client\":{\"count\":");
	w = w_u64(w, a[0]);
	w = WKEY(w, "bytes");
	w = w_u64(w, a[1]);
	w = WLIT(w, "},\"server\":{\"count\":");
	w = w_u64(w, b[0]);
	w = WKEY(w, "bytes");
	w = w_u64(w, b[1]);
	return WLIT(w, "}}");
}

/* session_endpoints() at a cursor. */
static char *w_session_endpoints(struct out_json *j, char *w,
				 const struct out_flow *f, uint64_t src_bytes,
				 uint64_t dst_bytes)
{
	if (!f->json_ep_len) {
		size_t src;
		if (!(w = more(j, w, EP_ROOM + RUN_MAX)))
			return NULL;
		return w_endpoints(w, f, &src_bytes, &dst_bytes, &src);
	}
	/* ...,"port":N  },"destination":{...,"port":M  } */
	w = wput(w, f->json_ep, f->json_ep_src);
	w = WKEY(w, "bytes");
	w = w_u64(w, src_bytes);
	w = wput(w, f->json_ep + f->json_ep_src,
		 (size_t)(f->json_ep_len - f->json_ep_src) - 1);
	w = WKEY(w, "bytes");
	w = w_u64(w, dst_bytes);
	return WLIT(w, "}");
}

/* The "imap" object of a session record up to its "messages", at a
 * cursor. */
static char *session_state(struct out_json *j, char *w, const struct out_flow *f,
			   const char *end_reason, const struct imap_session_rec *s)
{
	w = WLIT(w, ",\"imap\":{\"session_id\":");
	w = w_id(w, f);
	w = WKEY(w, "session_number");
	w = w_u64(w, f->number);
	w = WKEY(w, "greeting");
	if (!(w = w_memo(j, w, &j->greeting_memo, s->greeting)))
		return NULL;
	if (s->capabilities) {
		done(j, w);
		caps(j, s->capabilities);
		if (!(w = room(j, RUN_MAX)))
			return NULL;
	}
	w = WKEY(w, "end_reason");
	if (!(w = w_name(j, w, end_reason)))
		return NULL;
	w = WKEY(w, "midstream");
	w = w_bool(w, f->midstream);
	w = WKEY(w, "authenticated");
	w = w_bool(w, s->authenticated);
	w = WKEY(w, "preauth");
	w = w_bool(w, s->preauth);
	w = WKEY(w, "starttls");
	w = w_bool(w, s->starttls);
	w = WKEY(w, "compress");
	w = w_bool(w, s->compress);
	w = WKEY(w, "cleartext_login");
	w = w_bool(w, s->cleartext_login);
	w = WKEY(w, "state");
	if (!(w = w_name(j, w, s->state)))
		return NULL;
	if (s->mailbox) {
		w = WKEY(w, "mailbox");
		if (!(w = w_wire(j, w, s->mailbox)))
			return NULL;
	}
	if (s->read_only)
		w = WLIT(w, ",\"read_only\":true");
	if (s->utf8_accept)
		w = WLIT(w, ",\"utf8_accept\":true");
	if (s->n_mailboxes) {
		w = WLIT(w, ",\"mailboxes\":[");
		for (size_t i = 0; i < s->n_mailboxes; i++) {
			if (i)
				w = WLIT(w, ",");
			if (!(w = w_wire(j, w, s->mailboxes[i])))
				return NULL;
		}
		w = WLIT(w, "]");
	}
	if (s->n_id_client || s->n_id_server) {
		w = WLIT(w, ",\"id\":{");
		done(j, w);
		if (s->n_id_client) {
			LIT(j, "\"client\":");
			id_params(j, s->id_client, s->n_id_client);
		}
		if (s->n_id_server) {
			if (s->n_id_client)
				LIT(j, ",");
			LIT(j, "\"server\":");
			id_params(j, s->id_server, s->n_id_server);
		}
		LIT(j, "}");
		if (!(w = room(j, RUN_MAX)))
			return NULL;
	}
	return w;
}

/* Whether the counters a session record shows of a direction's
 * reassembly are all zero. */
static bool tcp_clean(const struct reasm_stats *rs)
{
	return !(rs->retransmitted | rs->ooo_held | rs->overlaps |
		 rs->inconsistent);
}

/* A session record's "tcp" object (after its key), at a cursor. */
static char *w_tcp(char *w, const struct out_flow *f)
{
	if (tcp_clean(f->reasm[0]) && tcp_clean(f->reasm[1])) {
		/* the usual case, at once (see w_halves()) */
		return WLIT(w, "{\"client\":{\"retransmitted\":0,"
			       "\"out_of_order\":0,\"overlaps\":0,\"inconsistent\":0},"
			       "\"server\":{\"retransmitted\":0,\"out_of_order\":0,"
			       "\"overlaps\":0,\"inconsistent\":0}}");
	}
	w = WLIT(w, "{");
	for (int d = 0; d < 2; d++) {
		const struct reasm_stats *rs = f->reasm[d];
		if (d)
			w = WLIT(w, ",");
		if (d == ISC_DIR_CLIENT)
			w = WLIT(w, "\"client\":{\"retransmitted\":");
		else
			w = WLIT(w, "\"server\":{\"retransmitted\":");
		w = w_u64(w, rs->retransmitted);
		w = WKEY(w, "out_of_order");
		w = w_u64(w, rs->ooo_held);
		w = WKEY(w, "overlaps");
		w = w_u64(w, rs->overlaps);
		w = WKEY(w, "inconsistent");
		w = w_u64(w, rs->inconsistent);
		w = WLIT(w, "}");
	}
	return WLIT(w, "}");
}

void out_json_session(struct out_json *j, const struct out_flow *f,
		      isc_time end, const char *end_reason,
		      const struct imap_session_rec *s)
{
	static const char head[] = EVENT_HEAD("imap.session", "event",
		"network", "\"connection\",\"end\"") ",\"start\":";
	/* up to the user: three timestamps, the head, the endpoints with
	 * their bytes, and a few keys */
	const size_t open_max = (size_t)3 * TS_LEN + sizeof(head) +
				(size_t)3 * U64_MAX_LEN + OUT_JSON_EP_MAX + 128;
	const uint64_t *cl = s->half[ISC_DIR_CLIENT], *sv = s->half[ISC_DIR_SERVER];
	j->rec = j->b.len;
	char *w = room(j, open_max + RUN_MAX);
	if (!w)
		goto out;
	w = WLIT(w, "{\"@timestamp\":");
	/* @timestamp is the session's start: written once, then copied */
	char *ts = w;
	w = w_ts(j, w, f->start);
	w = WLIT(w, head);
	w = wput(w, ts, TS_LEN);
	w = w_span_end(j, w, f->start, end ? end : f->start);
	w = WLIT(w, "}");
	if (!(w = w_session_endpoints(j, w, f, cl[IMAP_HC_BYTES],
				      sv[IMAP_HC_BYTES])))
		goto out;
	if (s->user) {
		w = WLIT(w, ",\"user\":{\"name\":");
		if (!(w = w_wire(j, w, s->user)))
			goto out;
		w = WLIT(w, "}");
	}
	if (s->starttls) {
		done(j, w);
		tls(j, s);
		if (!(w = room(j, RUN_MAX)))
			goto out;
	}
	if (!(w = session_state(j, w, f, end_reason, s)))
		goto out;
	w = WLIT(w, ",\"messages\":{\"fetched\":");
	w = w_u64(w, s->msgs_fetched);
	w = WKEY(w, "appended");
	w = w_u64(w, s->msgs_appended);
	w = WKEY(w, "expunged");
	w = w_u64(w, s->msgs_expunged);
	w = WKEY(w, "deleted");
	w = w_u64(w, s->msgs_deleted);
	w = WLIT(w, "},\"commands\":{\"total\":");
	w = w_u64(w, s->commands);
	w = WLIT(w, ",\"by_name\":{");
	for (size_t i = 0; i < s->n_by_name; i++) {
		if (i)
			w = WLIT(w, ",");
		if (!(w = w_wire(j, w, s->by_name[i].name)))
			goto out;
		w = WLIT(w, ":");
		w = w_u64(w, s->by_name[i].count);
	}
	w = WLIT(w, "}},\"auth\":{\"attempts\":");
	w = w_u64(w, s->auth_attempts);
	w = WKEY(w, "failures");
	w = w_u64(w, s->auth_failures);
	w = WLIT(w, "}");
	/* the run from the last command name to the roles_from name is
	 * the longest: room for it afresh */
	if (!(w = more(j, w, RUN_MAX)))
		goto out;
	uint64_t lc[2] = { cl[IMAP_HC_LITERALS], cl[IMAP_HC_LITERAL_BYTES] };
	uint64_t ls[2] = { sv[IMAP_HC_LITERALS], sv[IMAP_HC_LITERAL_BYTES] };
	w = WKEY(w, "literals");
	w = w_halves(w, lc, ls);
	uint64_t gc[2] = { cl[IMAP_HC_GAPS], cl[IMAP_HC_GAP_BYTES] };
	uint64_t gs[2] = { sv[IMAP_HC_GAPS], sv[IMAP_HC_GAP_BYTES] };
	w = WKEY(w, "gaps");
	w = w_halves(w, gc, gs);
	if (s->starttls) {
		w = WLIT(w, ",\"encrypted_bytes\":{\"client\":");
		w = w_u64(w, cl[IMAP_HC_OPAQUE_BYTES]);
		w = WKEY(w, "server");
		w = w_u64(w, sv[IMAP_HC_OPAQUE_BYTES]);
		w = WLIT(w, "}");
		const char *mv = tls_version_name(s->tls_client_version);
		if (s->tls_client_version && mv) {
			w = WLIT(w, ",\"tls\":{\"client_max_version\":");
			if (!(w = w_str(j, w, mv, strlen(mv), false)))
				goto out;
			w = WLIT(w, "}");
		}
	}
	w = WKEY(w, "roles_from");
	if (!(w = w_name(j, w, f->role_basis)))
		goto out;
	if (f->reasm[0] && f->reasm[1]) {
		w = WKEY(w, "tcp");
		w = w_tcp(w, f);
	}
	w = WLIT(w, ",\"anomalies\":{\"count\":");
	w = w_u64(w, s->anomalies);
	w = WLIT(w, ",\"kinds\":[");
	for (size_t i = 0; i < s->n_anomaly_names; i++) {
		if (i)
			w = WLIT(w, ",");
		if (!(w = w_name(j, w, s->anomaly_names[i])))
			goto out;
	}
	w = WLIT(w, "]}}");
out:
	record_end(j, w);
}

void out_json_stats(struct out_json *j, isc_time ts, const struct out_stat *st,
		    size_t n)
{
	static const char head[] = EVENT_HEAD("imapscope.stats", "metric",
		"network", "\"info\"");
	record_open(j);
	ts_val(j, ts);
	LIT(j, head);
	LIT(j, "},\"imapscope\":{");
	/* a group's counters together, groups in the order they first come */
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; k < i; k++)
			if (!strcmp(st[k].group, st[i].group))
				break;
		if (k < i)
			continue;
		if (!first)
			LIT(j, ",");
		first = false;
		str_val(j, st[i].group);
		LIT(j, ":{");
		bool first_in = true;
		for (k = i; k < n; k++) {
			if (strcmp(st[k].group, st[i].group) != 0)
				continue;
			if (!first_in)
				LIT(j, ",");
			first_in = false;
			str_val(j, st[k].name);
			LIT(j, ":");
			u64_val(j, st[k].value);
		}
		LIT(j, "}");
	}
	LIT(j, "}");
	record_close(j);
}
