/* output/text.c: see text.h. */
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void out_buf_free(struct out_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

bool out_buf_reserve(struct out_buf *b, size_t more)
{
	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *np = realloc(b->p, cap);
	if (!np) {
		b->failed = true;
		return false;
	}
	b->p = np;
	b->cap = cap;
	return true;
}

void out_buf_put_grow(struct out_buf *b, const void *p, size_t len)
{
	if (len == 0 || !out_buf_reserve(b, len))
		return;
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

void out_buf_puts(struct out_buf *b, const char *s)
{
	out_buf_put(b, s, strlen(s));
}

void out_buf_printf(struct out_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		out_buf_put(b, tmp, (size_t)n);
		return;
	}
	if (!out_buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *out_buf_cstr(struct out_buf *b)
{
	if (!out_buf_reserve(b, 0))
		return "";
	b->p[b->len] = '\0';
	return b->p;
}

size_t out_utf8_seq(const uint8_t *p, size_t len)
{
	uint8_t c = p[0];
	size_t n;
	uint32_t min, cp;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, min = 0x80, cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, min = 0x800, cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, min = 0x10000, cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Nonzero if one of the 8 bytes of v is not printable ASCII (below 0x20,
 * or 0x7f and above). The test for a byte below 0x20 is the usual exact
 * one; adding 1 sets the top bit of a 0x7f byte, and v's own top bit marks
 * the bytes above. A carry out of an 0xff byte can only add a false
 * positive, and a false positive only sends that word to the byte loop. */
static inline uint64_t unprintable8(uint64_t v)
{
	const uint64_t ones = 0x0101010101010101ULL, high = ones << 7;
	return (((v - ones * 0x20) & ~v) | (v + ones) | v) & high;
}

void out_escape_text(struct out_buf *b, const uint8_t *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;
	while (i < len) {
		size_t run = i;
		/* printable runs 8 bytes a step (the escaping was 10% of the
		 * instructions of a run writing transcripts) */
		for (uint64_t v; run + 8 <= len; run += 8) {
			memcpy(&v, p + run, 8);
			if (unprintable8(v))
				break;
		}
		while (run < len && p[run] >= 0x20 && p[run] < 0x7f)
			run++;
		out_buf_put(b, p + i, run - i);
		i = run;
		if (i >= len)
			break;
		uint8_t c = p[i];
		if (c >= 0x80) {
			size_t n = out_utf8_seq(p + i, len - i);
			/* C1 controls (U+0080..U+009F) are escaped too, and
			 * the bidirectional controls, which reorder what a
			 * terminal shows (U+200E, U+200F, U+202A..U+202E,
			 * U+2066..U+2069) */
			bool bidi = n == 3 && c == 0xe2 &&
				    ((p[i + 1] == 0x80 && (p[i + 2] == 0x8e || p[i + 2] == 0x8f ||
							   (p[i + 2] >= 0xaa && p[i + 2] <= 0xae))) ||
				     (p[i + 1] == 0x81 && p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9));
			if (n > 0 && !bidi && !(n == 2 && c == 0xc2 && p[i + 1] < 0xa0)) {
				out_buf_put(b, p + i, n);
				i += n;
				continue;
			}
		}
		char e[4] = { '\\', 0, 0, 0 };
		size_t el = 2;
		switch (c) {
		case '\t': e[1] = 't'; break;
		case '\r': e[1] = 'r'; break;
		case '\n': e[1] = 'n'; break;
		default:
			e[1] = 'x';
			e[2] = hex[c >> 4];
			e[3] = hex[c & 15];
			el = 4;
		}
		out_buf_put(b, e, el);
		i++;
	}
}

void out_utf8_sanitize(struct out_buf *b, const uint8_t *p, size_t len)
{
	static const char fffd[] = "\xef\xbf\xbd";
	size_t i = 0;
	while (i < len) {
		size_t run = i;
		while (run < len && p[run] < 0x80)
			run++;
		out_buf_put(b, p + i, run - i);
		i = run;
		if (i >= len)
			break;
		size_t n = out_utf8_seq(p + i, len - i);
		if (n) {
			out_buf_put(b, p + i, n);
			i += n;
		} else {
			out_buf_put(b, fffd, 3);
			i++;
		}
	}
}
