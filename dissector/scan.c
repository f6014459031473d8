/* dissector/scan.c: see scan.h. */
#include "scan.h"

#include <string.h>

/* The bytes each scanning loop must stop at. A loop first skips all
 * others with one table look a byte: the tokenizer compared each byte
 * with three to five characters (510 instructions a command line on
 * bench's small capture). */
enum { C_QUOTED = 1, C_LIST = 2, C_ATOM = 4 };
static const uint8_t cls[256] = {
	['"'] = C_QUOTED | C_LIST, ['\\'] = C_QUOTED,
	['('] = C_LIST | C_ATOM, [')'] = C_LIST | C_ATOM,
	[' '] = C_ATOM, ['['] = C_ATOM, [']'] = C_ATOM,
};

/* The index of the first byte from i (<= len) on whose class has a bit
 * of m, or len. Four bytes a round, the bound tested once for them:
 * these loops run over nearly every byte of a command line, and the
 * byte-at-a-time loop spent 7 instructions on each (bench's small
 * capture: 2,202 -> 2,197 instructions a packet, many-flows: 2,565 ->
 * 2,561). */
static inline size_t skip_to(const uint8_t *p, size_t len, size_t i, uint8_t m)
{
	while (len - i >= 4) {
		if (cls[p[i]] & m)
			return i;
		if (cls[p[i + 1]] & m)
			return i + 1;
		if (cls[p[i + 2]] & m)
			return i + 2;
		if (cls[p[i + 3]] & m)
			return i + 3;
		i += 4;
	}
	while (i < len && !(cls[p[i]] & m))
		i++;
	return i;
}

/* True if position off of the line lies inside a quoted string. */
static bool in_quoted(const uint8_t *p, size_t off)
{
	bool q = false;
	/* most lines that announce a literal hold no quote at all: memchr
	 * answers those without the byte loop */
	const uint8_t *first = off ? memchr(p, '"', off) : NULL;
	if (!first)
		return false;
	for (size_t i = (size_t)(first - p); i < off; i++) {
		if (q && p[i] == '\\') {
			i++;		/* skip the escaped byte */
			continue;
		}
		if (p[i] == '"')
			q = !q;
	}
	return q;
}

/* imap_scan_literal() once the line is known to end in "}" (scan.h) */
enum imap_lit_scan imap_scan_literal_end(const uint8_t *p, size_t len,
					 struct imap_lit *lit_r, size_t *off_r)
{
	/* Read backwards: "}" ["+"] 1*DIGIT "{" ["~"] */
	if (len < 3 || p[len - 1] != '}')
		return IMAP_LIT_NONE;
	size_t i = len - 1;
	bool nonsync = false;
	if (p[i - 1] == '+') {
		nonsync = true;
		i--;
	}
	/* The size comes from the wire. Its last 18 digits are read on the
	 * way back to "{": 18 digits cannot pass 2^63 - 1 (10^18 - 1 < 9.2
	 * * 10^18), so they need no check, and the digits are not read a
	 * second time (bench's mixed capture: 1,291.2 -> 1,289.5
	 * instructions a packet). A longer number is read again from its start, each
	 * digit after the 18th checked before its multiply. */
	size_t digits_end = i, stop = i > 18 ? i - 18 : 0;
	uint64_t size = 0, mul = 1;
	uint8_t c;
	while (i > stop && (c = (uint8_t)(p[i - 1] - '0')) <= 9) {
		size += c * mul;
		mul *= 10;
		i--;
	}
	bool longer = false;
	while (i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9') {
		longer = true;
		i--;
	}
	size_t digits = digits_end - i;
	if (digits == 0 || i == 0 || p[i - 1] != '{')
		return IMAP_LIT_NONE;
	size_t off = i - 1;
	bool binary = false;
	if (off > 0 && p[off - 1] == '~') {
		binary = true;
		off--;
	}
	if (in_quoted(p, off))
		return IMAP_LIT_NONE;
	if (longer) {
		size = 0;
		size_t k = i;
		for (; k < i + 18; k++)
			size = size * 10 + (uint64_t)(p[k] - '0');
		for (; k < digits_end; k++) {
			uint64_t d = (uint64_t)(p[k] - '0');
			if (size > (UINT64_C(0x7fffffffffffffff) - d) / 10)
				return IMAP_LIT_OVERFLOW;
			size = size * 10 + d;
		}
	}
	lit_r->size = size;
	lit_r->nonsync = nonsync;
	lit_r->binary = binary;
	*off_r = off;
	return IMAP_LIT_FOUND;
}

/* Scans a quoted string starting after its opening quote at p[i]. Returns
 * the index of the closing quote, or len if it is not closed. */
static size_t skip_quoted(const uint8_t *p, size_t len, size_t i)
{
	while (i < len) {
		i = skip_to(p, len, i, C_QUOTED);
		if (i >= len)
			break;
		if (p[i] == '\\') {
			i += 2;
			continue;
		}
		if (p[i] == '"')
			return i;
		i++;
	}
	return len;
}

/* Walks the inside of a list from i while st->depth > 0; returns the index
 * after the ")" that closes it, or len. */
static size_t skip_list(const uint8_t *p, size_t len, size_t i,
			struct imap_scan_state *st)
{
	while (i < len && st->depth > 0) {
		i = skip_to(p, len, i, C_LIST);
		if (i >= len)
			break;
		uint8_t c = p[i];
		if (c == '"') {
			size_t q = skip_quoted(p, len, i + 1);
			if (q >= len) {
				st->bad_quote = true;
				return len;
			}
			i = q + 1;
			continue;
		}
		if (c == '(') {
			st->depth++;
			if (st->depth > st->max_depth)
				st->max_depth = st->depth;
		} else if (c == ')') {
			st->depth--;
		}
		i++;
	}
	return i;
}

/* Scans an atom from i: up to a space, "(" or ")" at bracket depth 0.
 * Brackets hold section specs like BODY[HEADER.FIELDS (A B)]. */
static size_t skip_atom(const uint8_t *p, size_t len, size_t i)
{
	uint32_t bracket = 0;
	while (i < len) {
		i = skip_to(p, len, i, C_ATOM);
		if (i >= len)
			break;
		uint8_t c = p[i];
		if (c == '[')
			bracket++;
		else if (c == ']' && bracket > 0)
			bracket--;
		else if (bracket == 0 && (c == ' ' || c == '(' || c == ')'))
			break;
		i++;
	}
	return i;
}

size_t imap_scan_tokens(const uint8_t *p, size_t len, struct imap_scan_state *st,
			struct imap_tok *toks, size_t max)
{
	size_t i = 0, n = 0;
	if (st->depth > 0)
		i = skip_list(p, len, 0, st);
	while (i < len) {
		uint8_t c = p[i];
		if (c == ' ') {
			i++;
			continue;
		}
		struct imap_tok t;
		size_t start = i;
		if (c == '"') {
			size_t q = skip_quoted(p, len, i + 1);
			t.type = IMAP_TOK_QUOTED;
			t.p = p + i + 1;
			t.len = (q < len ? q : len) - (i + 1);
			if (q >= len)
				st->bad_quote = true;
			i = q < len ? q + 1 : len;
		} else if (c == '(') {
			st->depth = 1;
			if (st->max_depth < 1)
				st->max_depth = 1;
			i = skip_list(p, len, i + 1, st);
			t.type = IMAP_TOK_LIST;
			t.p = p + start;
			t.len = i - start;
		} else if (c == ')') {
			/* unbalanced: ignore it */
			i++;
			continue;
		} else {
			i = skip_atom(p, len, i);
			t.type = IMAP_TOK_ATOM;
			t.p = p + start;
			t.len = i - start;
		}
		if (n < max)
			toks[n] = t;
		n++;
	}
	return n;
}

size_t imap_tok_value(const struct imap_tok *t, char *dst, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return 0;
	if (t->type != IMAP_TOK_QUOTED || !memchr(t->p, '\\', t->len)) {
		/* nothing to unescape, the usual case: one copy instead of
		 * the byte loop (a command's arguments took 137
		 * instructions each) */
		o = t->len < cap - 1 ? t->len : cap - 1;
		memcpy(dst, t->p, o);
		dst[o] = '\0';
		return o;
	}
	for (size_t i = 0; i < t->len && o + 1 < cap; i++) {
		uint8_t c = t->p[i];
		if (t->type == IMAP_TOK_QUOTED && c == '\\' && i + 1 < t->len)
			c = t->p[++i];
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return o;
}
