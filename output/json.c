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
	/* The day of the last timestamp written and its "2026-11-25T", so
	 * that gmtime runs once a day, not once a field. */
	int64_t tday;
	char tdate[11];
	/* The second of the last timestamp written and its "10:00:00". */
	int64_t tsec;
	char thms[8];
	/* the last capability list written and its JSON array (caps()) */
	struct out_buf caps_in, caps_out;
	/* the last long response code and greeting written (wire_memo()) */
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
	j->tsec = INT64_MIN;
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
	out_buf_free(&(*jp)->caps_in);
	out_buf_free(&(*jp)->caps_out);
	for (size_t i = 0; i < MEMO_SLOTS; i++) {
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
	if (b->len + n + 1 <= b->cap)
		return b->p + b->len;
	return out_buf_reserve(b, n) ? b->p + b->len : NULL;
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

/* Nonzero if one of the 8 bytes of v is below 0x20, '"' or '\\': bytes
 * that need an escape. The usual SWAR tests for a byte below n and for a
 * zero byte (of v ^ c), exact as to whether any byte matches. */
static inline uint64_t needs_escape8(uint64_t v)
{
	return ((v - ONES * 0x20) | ((v ^ ONES * '"') - ONES) |
		((v ^ ONES * '\\') - ONES)) & ~v & HIGH;
}

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
 * take 23 million). Short strings that need no escape go out through
 * string_() below, without this. */
static void string_any(struct out_json *j, const char *s, size_t n, bool wire)
{
	const uint64_t high = wire ? HIGH : 0;
	const uint8_t *p = (const uint8_t *)s;
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
			if (i + 8 <= end) {
				memcpy(&v, p + i, 8);
				if (!(needs_escape8(v) | (v & high))) {
					memcpy(w, &v, 8);
					w += 8;
					i += 8;
					continue;
				}
			} else if (end >= 8) {
				/* the last 1 to 7 bytes as the part's last word:
				 * if none of its bytes needs a look, those before
				 * i went out as they were, just before w, and
				 * are written again the same */
				size_t back = 8 - (end - i);
				memcpy(&v, p + end - 8, 8);
				if (!(needs_escape8(v) | (v & high))) {
					memcpy(w - back, &v, 8);
					w += end - i;
					i = end;
					continue;
				}
			}
			/* a byte at a time up to the next word */
			size_t stop = end - i > 8 ? i + 8 : end;
			while (i < stop) {
				uint8_t c = p[i];
				if (c >= 0x20 && c != '"' && c != '\\' &&
				    (c < 0x80 || !wire)) {
					*w++ = (char)c;
					i++;
				} else if (c < 0x80) {
					w = escape(w, c);
					i++;
				} else {
					size_t k = out_utf8_seq(p + i, n - i);
					if (k) {
						memcpy(w, p + i, k);
						w += k;
						i += k;
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

/* string_(): most strings of a record are short and need no escape
 * (tags, statuses, command names, user names, response texts): up to 16
 * bytes, those go out here, inline; string_any() takes the others. The
 * call and the saving of registers for string_any()'s loop were a fifth
 * of its cost (bench's small capture: 2,441 -> 2,432 instructions a
 * packet). */
static inline void string_(struct out_json *j, const char *s, size_t n,
			   bool wire)
{
	const uint64_t high = wire ? HIGH : 0;
	const uint8_t *p = (const uint8_t *)s;
	uint64_t a, z;
	if (n < 8) {
		/* Padded with spaces, which need no look, a string shorter
		 * than a word takes the word test too (the byte loop took
		 * about 120 instructions a string). */
		a = ONES * ' ';
		short_load(&a, p, n);
		z = a;
	} else if (n <= 16) {
		/* two words, overlapping when n < 16, both tested before
		 * either goes out (bench's many-flows capture: 3,444 ->
		 * 3,430 instructions a packet) */
		memcpy(&a, p, 8);
		memcpy(&z, p + n - 8, 8);
	} else {
		string_any(j, s, n, wire);
		return;
	}
	if (needs_escape8(a) | needs_escape8(z) | ((a | z) & high)) {
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

/* A string of the flow's that we formatted ourselves (addresses, ids,
 * the Community ID: digits, hex, base64, '.', ':'), which never needs an
 * escape: copied as it is. Saves the escaping scan for the four such
 * strings of every record. */
static void ours_val(struct out_json *j, const char *s)
{
	/* quotes and text in one room: one test, not three (70 -> 59
	 * instructions an address on bench's many-flows capture) */
	size_t n = strlen(s);
	char *w = room(j, n + 2);
	if (!w)
		return;
	w[0] = '"';
	memcpy(w + 1, s, n + 1);	/* with the NUL: room() has the byte */
	w[n + 1] = '"';
	j->b.len += n + 2;
}

/* ours_val() for one of the flow's strings, held in an array of cap
 * bytes (a length known when compiling, <= OUT_FLOW_STR_CAP): the whole
 * array is copied, a few moves, and the closing quote written over the
 * copy after the string; ours_val()'s copy of strlen() bytes was a call
 * (bench's many-flows capture: 2,941 -> 2,931 instructions a packet). */
#define OUT_FLOW_STR_CAP 64
static inline void flow_val(struct out_json *j, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	char *w = room(j, OUT_FLOW_STR_CAP + 2);
	if (!w)
		return;
	w[0] = '"';
	memcpy(w + 1, s, cap);	/* room: cap + 2 */
	w[n + 1] = '"';
	j->b.len += n + 2;
}
_Static_assert(sizeof(((struct out_flow *)0)->community_id) <= OUT_FLOW_STR_CAP &&
	       sizeof(((struct out_flow *)0)->client_ip) <= OUT_FLOW_STR_CAP,
	       "flow_val() copies the whole array");

/* The flow's session id: always 16 hex digits (flowid.c), so a copy of
 * a length known when compiling (69 -> 15 instructions a record). */
static void id_val(struct out_json *j, const struct out_flow *f)
{
	_Static_assert(sizeof(f->id) == 17, "16 digits and a NUL");
	char *w = room(j, 18);
	if (!w)
		return;
	w[0] = '"';
	memcpy(w + 1, f->id, 16);
	w[17] = '"';
	j->b.len += 18;
}

/* A name from one of our own tables (the session's state, end reason,
 * roles basis: lower-case letters and '_'), or null: copied as it is,
 * as ours_val() does, without the escaping scan (bench's many-flows
 * capture: 4 fewer instructions a packet). */
static void name_val(struct out_json *j, const char *s)
{
	if (s)
		ours_val(j, s);
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

/* wire_val() for a string that tends to repeat from record to record,
 * and can be long: the JSON text of the last MEMO_SLOTS such strings is
 * kept in m, and copied when the string is one of them. A server's
 * LOGIN completion carries its capability list as a response code (500
 * bytes, escaped at 2.5 instructions a byte), and its greeting is the
 * same in every session: a compare and a copy instead (bench's
 * many-flows capture, five servers taking turns: 116 fewer instructions
 * a packet; a greeting costs 133 instead of 409). */
static void wire_memo(struct out_json *j, struct out_memo *m, const char *s)
{
	if (!s) {
		LIT(j, "null");
		return;
	}
	size_t n = strlen(s), start = j->b.len;
	if (n < MEMO_MIN) {
		string_(j, s, n, true);
		return;
	}
	for (size_t i = 0; i < MEMO_SLOTS; i++) {
		const struct out_buf *in = &m->in[i], *out = &m->out[i];
		if (n == in->len && !in->failed && !out->failed &&
		    !memcmp(s, in->p, n)) {
			put(j, out->p, out->len);
			return;
		}
	}
	string_(j, s, n, true);
	if (j->b.failed || j->b.len < start)
		return;
	struct out_buf *in = &m->in[m->next], *out = &m->out[m->next];
	m->next = (m->next + 1) % MEMO_SLOTS;
	in->len = out->len = 0;
	in->failed = out->failed = false;
	out_buf_put(in, s, n);
	out_buf_put(out, j->b.p + start, j->b.len - start);
}

/* An array of n strings, each from the wire (wire) or ours; NULL as null. */
static void str_array(struct out_json *j, const char *const *v, size_t n,
		      bool wire)
{
	LIT(j, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			LIT(j, ",");
		if (wire)
			wire_val(j, v[i]);
		else
			str_val(j, v[i]);
	}
	LIT(j, "]");
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
static void u64_digits(struct out_json *j, uint64_t v)
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
	char *w = room(j, 20);
	if (!w)
		return;
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
	j->b.len += n;
}

static inline void u64_val(struct out_json *j, uint64_t v)
{
	if (v < 10) {
		const char c = (char)('0' + v);
		put(j, &c, 1);
		return;
	}
	u64_digits(j, v);
}

static void bool_val(struct out_json *j, bool v)
{
	if (v)
		LIT(j, "true");
	else
		LIT(j, "false");
}

#define STR(j, k, s) (KEY(j, k), str_val(j, s))
#define WIRE(j, k, s) (KEY(j, k), wire_val(j, s))
#define U64(j, k, v) (KEY(j, k), u64_val(j, v))
#define BOOL(j, k, v) (KEY(j, k), bool_val(j, v))


/* "2026-11-25T10:00:00.123456Z": RFC 3339 UTC with microseconds, as
 * isc_time_format() writes it. The date comes from isc_time_format() once
 * a day and the time of day is worked out here (UTC days are 86400 s
 * long in POSIX time): per-second caching missed on every session record,
 * whose start and end alternate, and isc_time_format's gmtime and
 * snprintf were 4% of the instructions of a run. The time of day is
 * kept for the last second written: a command's start and end (and the
 * @timestamp of the next record) mostly fall in the same second, and
 * then only the microseconds are worked out (102 -> 73 instructions a
 * timestamp on bench's small capture). */
static void ts_val(struct out_json *j, isc_time t)
{
	int64_t sec = t / ISC_NS_PER_SEC, ns = t % ISC_NS_PER_SEC;
	if (ns < 0) {
		ns += ISC_NS_PER_SEC;
		sec--;
	}
	if (sec != j->tsec) {
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
		two(j->thms, tods / 3600);
		j->thms[2] = ':';
		two(j->thms + 3, tods / 60 % 60);
		j->thms[5] = ':';
		two(j->thms + 6, tods % 60);
		j->tsec = sec;
	}
	char *w = room(j, 29);
	if (!w)
		return;
	w[0] = '"';
	memcpy(w + 1, j->tdate, sizeof(j->tdate));
	memcpy(w + 12, j->thms, sizeof(j->thms));
	unsigned us = (unsigned)(ns / 1000);
	w[20] = '.';
	two(w + 21, us / 10000);
	two(w + 23, us / 100 % 100);
	two(w + 25, us % 100);
	w[27] = 'Z';
	w[28] = '"';
	j->b.len += 29;
}

static void record_open(struct out_json *j)
{
	j->rec = j->b.len;
	LIT(j, "{\"@timestamp\":");
}

/* Ends the record; the buffer goes out when it is full, or at once with
 * flush. A record that ran out of memory is dropped whole, so that no
 * line is ever written cut. */
static void record_close(struct out_json *j)
{
	LIT(j, "}\n");
	if (j->b.failed) {
		j->b.len = j->rec;
		j->b.failed = false;
		return;
	}
	j->records++;
	if (j->flush || j->b.len >= JSON_BUF_FLUSH)
		out_json_flush(j);
}

/* ---- the fields of many records ----------------------------------------- */

/* Event's outcome, from a command's status. */
static void outcome(struct out_json *j, const char *status)
{
	if (!status)
		LIT(j, "\"unknown\"");
	else if (strcmp(status, "OK") != 0)
		LIT(j, "\"failure\"");
	else
		LIT(j, "\"success\"");
}

/* A completion's status, or null: the dissector's "OK", "NO" and "BAD"
 * as constant text, without strlen and the escaping scan (str_val took
 * 110 instructions a command record on bench's many-flows capture, this
 * takes 30). */
static void status_val(struct out_json *j, const char *status)
{
	if (status && status[0] == 'O' && status[1] == 'K' && !status[2])
		LIT(j, "\"OK\"");
	else if (status && status[0] == 'N' && status[1] == 'O' && !status[2])
		LIT(j, "\"NO\"");
	else if (status && !strcmp(status, "BAD"))
		LIT(j, "\"BAD\"");
	else
		str_val(j, status);
}

/* Event's end and duration, after its start. */
static void span_end(struct out_json *j, isc_time start, isc_time end)
{
	if (end && end < start)
		end = start;	/* the capture's clock went backwards */
	if (end) {
		KEY(j, "end");
		ts_val(j, end);
		U64(j, "duration", (uint64_t)(end - start));
	}
}

/* Event's start, end and duration. */
static void span(struct out_json *j, isc_time start, isc_time end)
{
	KEY(j, "start");
	ts_val(j, start);
	span_end(j, start, end);
}

/* network, source, destination; bytes given (not NULL) for sessions.
 * Returns how far into what it wrote the source object ends: where
 * "},\"destination\"" starts. */
static size_t endpoints(struct out_json *j, const struct out_flow *f,
			const uint64_t *src_bytes, const uint64_t *dst_bytes)
{
	size_t at = j->b.len, src_end;
	LIT(j, ",\"network\":{\"transport\":\"tcp\",\"protocol\":\"imap\","
	       "\"community_id\":");
	flow_val(j, f->community_id, sizeof(f->community_id));
	LIT(j, "},\"source\":{\"ip\":");
	flow_val(j, f->client_ip, sizeof(f->client_ip));
	U64(j, "port", f->client_port);
	if (src_bytes)
		U64(j, "bytes", *src_bytes);
	src_end = j->b.len - at;
	LIT(j, "},\"destination\":{\"ip\":");
	flow_val(j, f->server_ip, sizeof(f->server_ip));
	U64(j, "port", f->server_port);
	if (dst_bytes)
		U64(j, "bytes", *dst_bytes);
	LIT(j, "}");
	return src_end;
}

/* endpoints() with the bytes of a session, from the copy that its
 * command and auth records made (exchange_open()) when there is one:
 * the bytes go in after each port, the rest is copied (bench's
 * many-flows capture: 2,931 -> 2,909 instructions a packet). */
static void session_endpoints(struct out_json *j, const struct out_flow *f,
			      uint64_t src_bytes, uint64_t dst_bytes)
{
	if (!f->json_ep_len) {
		endpoints(j, f, &src_bytes, &dst_bytes);
		return;
	}
	/* ...,"port":N  },"destination":{...,"port":M  } */
	put(j, f->json_ep, f->json_ep_src);
	U64(j, "bytes", src_bytes);
	put(j, f->json_ep + f->json_ep_src,
	    (size_t)(f->json_ep_len - f->json_ep_src) - 1);
	U64(j, "bytes", dst_bytes);
	LIT(j, "}");
}

static void user(struct out_json *j, const char *name)
{
	if (!name)
		return;
	LIT(j, ",\"user\":{\"name\":");
	wire_val(j, name);
	LIT(j, "}");
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

/* The length of what ts_val() writes, quotes included. */
#define TS_LEN 29

/* The start of a command or auth record (auth), up to and with the
 * opening of "imap" and its session_id: what the two have in common.
 * The record's constant text from "event" to its "outcome" key, and the
 * timestamp copied to "start", go as copies of a length known when
 * compiling: a few moves, not a memcpy call each (bench's small capture:
 * 805 -> 700 instructions a record). */
static void exchange_open(struct out_json *j, struct out_flow *f, bool auth,
			  const char *status, isc_time start, isc_time end,
			  const char *user_name)
{
	record_open(j);
	/* @timestamp is the event's start: written once, then copied */
	char ts[TS_LEN];
	size_t ts_at = j->b.len;
	ts_val(j, start);
	if (j->b.len - ts_at == TS_LEN)
		memcpy(ts, j->b.p + ts_at, TS_LEN);
	else
		memset(ts, ' ', TS_LEN);	/* out of memory: the record is
						 * dropped */
	if (auth)
		LIT(j, EVENT_HEAD("imap.auth", "event", "authentication",
				  "\"start\"") ",\"outcome\":");
	else
		LIT(j, EVENT_HEAD("imap.command", "event", "network",
				  "\"protocol\"") ",\"outcome\":");
	outcome(j, status);
	KEY(j, "start");
	put(j, ts, TS_LEN);
	span_end(j, start, end);
	LIT(j, "}");
	/* The endpoint members are the same in all of a session's command
	 * and auth records: written once, then copied (they were 4% of the
	 * instructions on bench's small capture, the copy is a few moves). */
	if (f->json_ep_len) {
		put(j, f->json_ep, f->json_ep_len);
	} else {
		size_t at = j->b.len;
		size_t src = endpoints(j, f, NULL, NULL);
		size_t n = j->b.len - at;
		if (!j->b.failed && n <= sizeof(f->json_ep)) {
			memcpy(f->json_ep, j->b.p + at, n);
			f->json_ep_len = (uint16_t)n;
			f->json_ep_src = (uint16_t)src;
		}
	}
	user(j, user_name);
	LIT(j, ",\"imap\":{\"session_id\":");
	id_val(j, f);
}

void out_json_command(struct out_json *j, struct out_flow *f,
		      const struct imap_cmd_rec *c)
{
	exchange_open(j, f, false, c->status, c->start,
		      c->end, c->user);
	U64(j, "command_number", c->number);
	WIRE(j, "tag", c->tag);
	WIRE(j, "command", c->name);
	KEY(j, "status");
	status_val(j, c->status);
	KEY(j, "response_code");
	wire_memo(j, &j->code_memo, c->resp_code);
	WIRE(j, "response_text", c->resp_text);
	if (c->mailbox)
		WIRE(j, "mailbox", c->mailbox);
	if (c->literals) {
		LIT(j, ",\"literals\":{\"count\":");
		u64_val(j, c->literals);
		U64(j, "bytes", c->literal_bytes);
		LIT(j, "}");
	}
	U64(j, "untagged", c->untagged);
	if (c->messages)
		U64(j, "messages", c->messages);
	LIT(j, "}");
	record_close(j);
}

void out_json_auth(struct out_json *j, struct out_flow *f,
		   const struct imap_auth_rec *a)
{
	exchange_open(j, f, true, a->status, a->start,
		      a->end, a->user);
	LIT(j, ",\"auth\":{\"command\":");
	str_val(j, a->command);
	WIRE(j, "mechanism", a->mechanism);
	KEY(j, "status");
	status_val(j, a->status);
	WIRE(j, "response_text", a->resp_text);
	LIT(j, "}}");
	record_close(j);
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
	 * after login): the array of the last one is kept and copied when
	 * the list is the same, not split and escaped atom by atom again.
	 * 12% fewer instructions on the many-flows bench capture. */
	size_t n = strlen(caps), start = j->b.len;
	if (n == j->caps_in.len && n && !j->caps_in.failed &&
	    !j->caps_out.failed && !memcmp(caps, j->caps_in.p, n)) {
		put(j, j->caps_out.p, j->caps_out.len);
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
	if (j->b.failed || j->b.len < start)
		return;
	j->caps_in.len = j->caps_out.len = 0;
	j->caps_in.failed = j->caps_out.failed = false;
	out_buf_put(&j->caps_in, caps, n);
	out_buf_put(&j->caps_out, j->b.p + start, j->b.len - start);
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

/* {"client": {"count", "bytes"}, "server": {...}}, after the key. */
static void halves(struct out_json *j, const uint64_t *a, const uint64_t *b)
{
	if (!(a[0] | a[1] | b[0] | b[1])) {
		/* No gaps in nearly every session, no literals in many: the
		 * text of all four zeros at once (with the same for the tcp
		 * counters, bench's many-flows capture: 2,801 -> 2,762
		 * instructions a packet). */
		LIT(j, "{\"client\":{\"count\":0,\"bytes\":0},"
		       "\"server\":{\"count\":0,\"bytes\":0}}");
		return;
	}
	LIT(j, "{\"client\":{\"count\":");
	u64_val(j, a[0]);
	U64(j, "bytes", a[1]);
	LIT(j, "},\"server\":{\"count\":");
	u64_val(j, b[0]);
	U64(j, "bytes", b[1]);
	LIT(j, "}}");
}

static void session_state(struct out_json *j, const struct out_flow *f,
			  const char *end_reason, const struct imap_session_rec *s)
{
	LIT(j, ",\"imap\":{\"session_id\":");
	id_val(j, f);
	U64(j, "session_number", f->number);
	KEY(j, "greeting");
	wire_memo(j, &j->greeting_memo, s->greeting);
	if (s->capabilities)
		caps(j, s->capabilities);
	KEY(j, "end_reason");
	name_val(j, end_reason);
	BOOL(j, "midstream", f->midstream);
	BOOL(j, "authenticated", s->authenticated);
	BOOL(j, "preauth", s->preauth);
	BOOL(j, "starttls", s->starttls);
	BOOL(j, "compress", s->compress);
	BOOL(j, "cleartext_login", s->cleartext_login);
	KEY(j, "state");
	name_val(j, s->state);
	if (s->mailbox)
		WIRE(j, "mailbox", s->mailbox);
	if (s->read_only)
		LIT(j, ",\"read_only\":true");
	if (s->utf8_accept)
		LIT(j, ",\"utf8_accept\":true");
	if (s->n_mailboxes) {
		LIT(j, ",\"mailboxes\":");
		str_array(j, s->mailboxes, s->n_mailboxes, true);
	}
	if (s->n_id_client || s->n_id_server) {
		LIT(j, ",\"id\":{");
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
	}
}

/* Whether the counters a session record shows of a direction's
 * reassembly are all zero. */
static bool tcp_clean(const struct reasm_stats *rs)
{
	return !(rs->retransmitted | rs->ooo_held | rs->overlaps |
		 rs->inconsistent);
}

void out_json_session(struct out_json *j, const struct out_flow *f,
		      isc_time end, const char *end_reason,
		      const struct imap_session_rec *s)
{
	static const char head[] = EVENT_HEAD("imap.session", "event",
		"network", "\"connection\",\"end\"");
	const uint64_t *cl = s->half[ISC_DIR_CLIENT], *sv = s->half[ISC_DIR_SERVER];
	record_open(j);
	ts_val(j, f->start);
	LIT(j, head);
	span(j, f->start, end ? end : f->start);
	LIT(j, "}");
	session_endpoints(j, f, cl[IMAP_HC_BYTES], sv[IMAP_HC_BYTES]);
	user(j, s->user);
	if (s->starttls)
		tls(j, s);
	session_state(j, f, end_reason, s);
	LIT(j, ",\"messages\":{\"fetched\":");
	u64_val(j, s->msgs_fetched);
	U64(j, "appended", s->msgs_appended);
	U64(j, "expunged", s->msgs_expunged);
	U64(j, "deleted", s->msgs_deleted);
	LIT(j, "},\"commands\":{\"total\":");
	u64_val(j, s->commands);
	LIT(j, ",\"by_name\":{");
	for (size_t i = 0; i < s->n_by_name; i++) {
		if (i)
			LIT(j, ",");
		wire_val(j, s->by_name[i].name);
		LIT(j, ":");
		u64_val(j, s->by_name[i].count);
	}
	LIT(j, "}},\"auth\":{\"attempts\":");
	u64_val(j, s->auth_attempts);
	U64(j, "failures", s->auth_failures);
	LIT(j, "}");
	uint64_t lc[2] = { cl[IMAP_HC_LITERALS], cl[IMAP_HC_LITERAL_BYTES] };
	uint64_t ls[2] = { sv[IMAP_HC_LITERALS], sv[IMAP_HC_LITERAL_BYTES] };
	KEY(j, "literals");
	halves(j, lc, ls);
	uint64_t gc[2] = { cl[IMAP_HC_GAPS], cl[IMAP_HC_GAP_BYTES] };
	uint64_t gs[2] = { sv[IMAP_HC_GAPS], sv[IMAP_HC_GAP_BYTES] };
	KEY(j, "gaps");
	halves(j, gc, gs);
	if (s->starttls) {
		LIT(j, ",\"encrypted_bytes\":{\"client\":");
		u64_val(j, cl[IMAP_HC_OPAQUE_BYTES]);
		U64(j, "server", sv[IMAP_HC_OPAQUE_BYTES]);
		LIT(j, "}");
		const char *mv = tls_version_name(s->tls_client_version);
		if (s->tls_client_version && mv) {
			LIT(j, ",\"tls\":{\"client_max_version\":");
			str_val(j, mv);
			LIT(j, "}");
		}
	}
	KEY(j, "roles_from");
	name_val(j, f->role_basis);
	if (f->reasm[0] && f->reasm[1] && tcp_clean(f->reasm[0]) &&
	    tcp_clean(f->reasm[1])) {
		/* the usual case, at once (see halves()) */
		LIT(j, ",\"tcp\":{\"client\":{\"retransmitted\":0,"
		       "\"out_of_order\":0,\"overlaps\":0,\"inconsistent\":0},"
		       "\"server\":{\"retransmitted\":0,\"out_of_order\":0,"
		       "\"overlaps\":0,\"inconsistent\":0}}");
	} else if (f->reasm[0] && f->reasm[1]) {
		LIT(j, ",\"tcp\":{");
		for (int d = 0; d < 2; d++) {
			const struct reasm_stats *rs = f->reasm[d];
			if (d)
				LIT(j, ",");
			if (d == ISC_DIR_CLIENT)
				LIT(j, "\"client\":{\"retransmitted\":");
			else
				LIT(j, "\"server\":{\"retransmitted\":");
			u64_val(j, rs->retransmitted);
			U64(j, "out_of_order", rs->ooo_held);
			U64(j, "overlaps", rs->overlaps);
			U64(j, "inconsistent", rs->inconsistent);
			LIT(j, "}");
		}
		LIT(j, "}");
	}
	LIT(j, ",\"anomalies\":{\"count\":");
	u64_val(j, s->anomalies);
	LIT(j, ",\"kinds\":");
	str_array(j, s->anomaly_names, s->n_anomaly_names, false);
	LIT(j, "}}");
	record_close(j);
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
