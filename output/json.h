/* output/json.h: NDJSON records, one JSON object a line, with Elastic Common
 * Schema names (nested objects: "source": {"ip": ...}). docs/json.md
 * documents every field.
 *
 * Every string from the wire is made valid UTF-8 first (invalid bytes become
 * U+FFFD) and control characters are escaped by the encoder, so no capture
 * can break a parser downstream or forge a line. Records are written to the
 * caller's FILE; each ends with a newline and is written whole. */
#ifndef ISC_OUT_JSON_H
#define ISC_OUT_JSON_H

#include <stdio.h>
#include "../dissector/imap.h"
#include "flowid.h"

struct out_json;

/* Writes to f (not closed by out_json_free). Records are held in memory
 * and written to f in blocks of about 64 KiB; with flush each record is
 * written and f fflushed at once (live mode, or when the caller reads
 * what f holds after each record). A record that runs out of memory is
 * dropped whole. Returns 0 or ISC_ENOMEM. */
int out_json_new(FILE *f, bool flush, struct out_json **j_r);
/* Writes the records still held, then frees the writer. */
void out_json_free(struct out_json **j);

/* Writes the records held so far to the FILE (and fflushes it with
 * flush): before anyone else writes to that FILE. */
void out_json_flush(struct out_json *j);

/* Points the writer at another FILE (after SIGHUP reopened it); the
 * records held so far go to the old one first. */
void out_json_set_file(struct out_json *j, FILE *f);

/* Command and auth records; both keep their endpoint members in f (see
 * struct out_flow) to copy them into the session's next records. */
void out_json_command(struct out_json *j, struct out_flow *f,
		      const struct imap_cmd_rec *c);
void out_json_auth(struct out_json *j, struct out_flow *f,
		   const struct imap_auth_rec *a);
/* end_reason: "logout", or a flow_end_names[] entry. */
void out_json_session(struct out_json *j, const struct out_flow *f,
		      isc_time end, const char *end_reason,
		      const struct imap_session_rec *s);

/* Name/value pairs of the run's counters, for the imapscope.stats record. */
struct out_stat {
	const char *group;	/* "packets", "flows", ... (object name) */
	const char *name;
	uint64_t value;
};
void out_json_stats(struct out_json *j, isc_time ts, const struct out_stat *st,
		    size_t n);

/* Records written so far. */
uint64_t out_json_records(const struct out_json *j);

#endif
