/* output/transcript.h: a session's transcript in the C:/S: style of RFC
 * 3501's examples, with markers for what the wire did.
 *
 *   # session 1  127.0.0.1:51514 -> 127.0.0.1:143  2026-11-25T10:00:00.123456Z  id 5d1c...
 *   S: * OK [CAPABILITY IMAP4rev1 ...] Dovecot (Debian) ready.
 *   C: a001 LOGIN mrc ********
 *   C: a003 APPEND INBOX {310}
 *   S: + Ready for literal data
 *   C:   | From: ...
 *   C:   ... (54 more bytes)
 *   C:
 *   -- gap: 1448 bytes missing (server) --
 *
 * The header also names the client and server software when they said it
 * with ID (RFC 2971). Wire bytes are escaped (output/text.h). A transcript is kept in memory
 * (spilling to an unlinked temporary file past 256 KiB) until the session
 * ends, so that sessions that overlap in time are still printed whole. */
#ifndef ISC_OUT_TRANSCRIPT_H
#define ISC_OUT_TRANSCRIPT_H

#include <stdio.h>
#include "../dissector/imap.h"
#include "flowid.h"

struct out_tr_config {
	bool reltime;		/* prefix lines with seconds since the start */
	bool color;		/* ANSI colours for C: and S: */
};

struct out_transcript;

/* Returns 0 or ISC_ENOMEM. cfg and f are copied. */
int out_tr_new(const struct out_tr_config *cfg, const struct out_flow *f,
	       struct out_transcript **t_r);
void out_tr_free(struct out_transcript **t);

void out_tr_line(struct out_transcript *t, enum isc_dir dir, isc_time ts,
		 const uint8_t *p, size_t len);
void out_tr_literal(struct out_transcript *t, enum isc_dir dir, isc_time ts,
		    uint64_t size, const uint8_t *sample, size_t n, bool redacted);
void out_tr_marker(struct out_transcript *t, enum isc_dir dir, isc_time ts,
		   enum imap_marker m, uint64_t arg, const char *text);
void out_tr_auth(struct out_transcript *t, const struct imap_auth_rec *r);
/* The closing lines. end_reason as in out_json_session(). */
void out_tr_end(struct out_transcript *t, isc_time ts, const char *end_reason,
		const struct imap_session_rec *r);

/* Writes the whole transcript to f. Returns 0 or ISC_EIO. */
int out_tr_write(struct out_transcript *t, FILE *f);

#endif
