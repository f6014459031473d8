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

/* Writes to f (not closed by out_json_free). flush: fflush after each
 * record (live mode). Returns 0 or ISC_ENOMEM. */
int out_json_new(FILE *f, bool flush, struct out_json **j_r);
void out_json_free(struct out_json **j);

/* Points the writer at another FILE (after SIGHUP reopened it). */
void out_json_set_file(struct out_json *j, FILE *f);

void out_json_command(struct out_json *j, const struct out_flow *f,
		      const struct imap_cmd_rec *c);
void out_json_auth(struct out_json *j, const struct out_flow *f,
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
