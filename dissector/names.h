/* dissector/names.h: mailbox names and ID parameter lists as IMAP sends
 * them, turned into UTF-8 text.
 *
 * RFC 3501 5.1.3 (modified UTF-7 mailbox names), RFC 6855 (UTF8=ACCEPT),
 * RFC 2971 (ID). Pure functions over (pointer, length) except that the
 * decoder keeps one iconv handle for the process (single-threaded). */
#ifndef ISC_IMAP_NAMES_H
#define ISC_IMAP_NAMES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Decodes a mailbox name from modified UTF-7 to UTF-8 into dst (cap bytes,
 * NUL-terminated). Names without "&" are copied as they are. Returns true
 * when the name was decoded; on invalid modified UTF-7 (or a result longer
 * than cap) dst holds the name as sent and false is returned. */
bool imap_mutf7_decode(const char *src, char *dst, size_t cap);

/* One "key" "value" pair of an ID list. */
struct imap_kv {
	char *key;	/* lower case */
	char *value;	/* NULL for NIL */
};

#define IMAP_ID_MAX_PAIRS 16	/* RFC 2971 3.3: at most 30; we keep 16 */
#define IMAP_ID_MAX_FIELD 128	/* bytes kept of a key or value */

/* Parses an ID parameter list "(" *("key" SP value) ")" or NIL from p.
 * Allocates up to IMAP_ID_MAX_PAIRS pairs into kv (caller frees with
 * imap_kv_free). Returns the number of pairs, or 0 for NIL or garbage. */
size_t imap_id_parse(const uint8_t *p, size_t len, struct imap_kv *kv);

void imap_kv_free(struct imap_kv *kv, size_t n);

#endif
