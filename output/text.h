/* output/text.h: making wire bytes safe to print.
 *
 * Wire bytes may be anything. Transcripts escape them so that no capture can
 * move the cursor, fake a line or hide text on an analyst's terminal; JSON
 * strings must be valid UTF-8 so that no capture can break a SIEM parser.
 * Both functions write into a caller-owned struct out_buf. */
#ifndef ISC_OUT_TEXT_H
#define ISC_OUT_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

/* A growable byte buffer. On allocation failure appends are dropped and
 * failed is set; the buffer stays usable. */
struct out_buf {
	char *p;
	size_t len, cap;
	bool failed;
};

void out_buf_free(struct out_buf *b);
/* Makes room for more bytes past len (and a NUL after them), so that a
 * writer can fill b->p + b->len directly. Returns false, with failed set,
 * if the memory can't be had (or failed was set before). */
bool out_buf_reserve(struct out_buf *b, size_t more);
/* The slow path of out_buf_put: grows the buffer first. */
void out_buf_put_grow(struct out_buf *b, const void *p, size_t len);

/* Appends len bytes. Inline: the JSON writer calls it for every token. */
static inline void out_buf_put(struct out_buf *b, const void *p, size_t len)
{
	if (b->len + len + 1 <= b->cap && !b->failed) {
		memcpy(b->p + b->len, p, len);
		b->len += len;
		return;
	}
	out_buf_put_grow(b, p, len);
}
void out_buf_puts(struct out_buf *b, const char *s);
void out_buf_printf(struct out_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* NUL-terminates (not counted in len) and returns b->p, "" if empty. */
const char *out_buf_cstr(struct out_buf *b);

/* Appends p for a transcript: printable ASCII and valid UTF-8 as they are;
 * tab as "\t", CR as "\r", LF as "\n", any other byte as "\xNN".
 * C1 and bidirectional control characters are escaped byte by byte.
 * Backslashes stay as they are: IMAP flags are full of them. */
void out_escape_text(struct out_buf *b, const uint8_t *p, size_t len);

/* Appends p as valid UTF-8: valid sequences as they are, each byte of an
 * invalid or overlong sequence as U+FFFD. Control characters are kept (the
 * JSON encoder escapes them). */
void out_utf8_sanitize(struct out_buf *b, const uint8_t *p, size_t len);

/* Length of the valid UTF-8 sequence (2 to 4 bytes) starting p[0] >= 0x80,
 * or 0 if it is invalid (overlong, surrogate, above U+10FFFF, cut). */
size_t out_utf8_seq(const uint8_t *p, size_t len);

#endif
