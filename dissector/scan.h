/* dissector/scan.h: lexical scanning of one IMAP line (RFC 3501 section 9,
 * RFC 9051 section 9). Pure functions over (pointer, length); nothing is
 * allocated, nothing read past len, no NUL terminator assumed.
 *
 * A "line" here is what lies between two CRLFs, or between a literal's
 * content and the next CRLF: the caller strips the CRLF. */
#ifndef ISC_IMAP_SCAN_H
#define ISC_IMAP_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

/* A literal announcement: "{n}", "{n+}" (RFC 7888), "~{n}" (RFC 3516). */
struct imap_lit {
	uint64_t size;
	bool nonsync;		/* "+": sent without waiting for "+" */
	bool binary;		/* "~": literal8 */
};

enum imap_lit_scan {
	IMAP_LIT_NONE = 0,	/* the line announces no literal */
	IMAP_LIT_FOUND,		/* *lit_r and *off_r are set */
	IMAP_LIT_OVERFLOW,	/* looks like one, but n does not fit 63 bits */
};

/* Looks for a literal announcement ending the line, outside quoted strings
 * (a quoted string cannot span lines, so the scan starts outside one).
 * On IMAP_LIT_FOUND, *off_r is where the announcement starts ("{" or "~").
 * Also used on truncated lines, where only the tail is known: then the
 * quote state is unknown and the caller passes the tail alone. */
static inline enum imap_lit_scan imap_scan_literal(const uint8_t *p, size_t len,
						   struct imap_lit *lit_r,
						   size_t *off_r);

/* The rest of imap_scan_literal(), for a line that ends in "}". */
enum imap_lit_scan imap_scan_literal_end(const uint8_t *p, size_t len,
					 struct imap_lit *lit_r, size_t *off_r);

static inline enum imap_lit_scan imap_scan_literal(const uint8_t *p, size_t len,
						   struct imap_lit *lit_r,
						   size_t *off_r)
{
	/* inline: most lines end in another byte and are answered here,
	 * without the call and its saving of registers (bench's mixed
	 * capture: 1,508 -> 1,487 instructions a packet, small: 2,463 ->
	 * 2,441) */
	if (len < 3 || p[len - 1] != '}')
		return IMAP_LIT_NONE;
	return imap_scan_literal_end(p, len, lit_r, off_r);
}

enum imap_tok_type {
	IMAP_TOK_ATOM,		/* atom, number, NIL, or BODY[...]<...> */
	IMAP_TOK_QUOTED,	/* p/len: between the quotes, escapes as sent */
	IMAP_TOK_LIST,		/* "(" ... ")" at top level, possibly unclosed */
};

struct imap_tok {
	enum imap_tok_type type;
	const uint8_t *p;
	size_t len;
};

struct imap_scan_state {
	uint32_t depth;		/* "(" open, carried over literals */
	uint32_t max_depth;	/* deepest nesting seen (for the cap) */
	bool bad_quote;		/* a quoted string was not closed */
};

/* Splits a line into its top-level tokens, storing at most max of them in
 * toks. st->depth carries parenthesis nesting from the previous piece of
 * the same logical line (after a literal); while it is above zero the text
 * belongs to the list still open and yields no token. Returns how many
 * top-level tokens the line holds (which may exceed max). */
size_t imap_scan_tokens(const uint8_t *p, size_t len, struct imap_scan_state *st,
			struct imap_tok *toks, size_t max);

/* Copies a token's value to dst (NUL-terminated, at most cap-1 bytes):
 * quoted strings unescaped. Returns the length written. */
size_t imap_tok_value(const struct imap_tok *t, char *dst, size_t cap);

/* Case-insensitive compare of a byte range with a NUL-terminated word. */
static inline bool imap_eq(const uint8_t *p, size_t len, const char *word)
{
	/* inline: with a literal word the length test folds to a constant
	 * and most calls end there (is_status() runs on every server line) */
	size_t n = strlen(word);
	if (n != len)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t a = p[i], b = (uint8_t)word[i];
		/* Where the word has a letter, a matches it in either case
		 * exactly when a | 0x20 is its lower case (only bit 0x20
		 * differs); elsewhere a must be b. With a literal word the
		 * test on b is made when compiling: one OR and one compare a
		 * byte instead of folding both sides (bench's mixed capture:
		 * 5.4 -> 3.1 million instructions in imap_eq). */
		uint8_t lb = (uint8_t)(b | 0x20);
		if (lb >= 'a' && lb <= 'z' ? (uint8_t)(a | 0x20) != lb : a != b)
			return false;
	}
	return true;
}

#endif
