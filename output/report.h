/* output/report.h: wires flows to dissectors and dissectors to emitters.
 *
 * report_flow_ops() gives the callbacks for the flow table: each flow gets
 * an IMAP session whose events go to the JSON writer and to a transcript.
 * A session's transcript is written whole when the session ends, to the
 * transcripts FILE or to DIR/<session id>.txt. The report does not own the
 * FILEs it is given. */
#ifndef ISC_OUT_REPORT_H
#define ISC_OUT_REPORT_H

#include <stdio.h>
#include "json.h"
#include "transcript.h"

struct report_config {
	const struct isc_limits *lim;
	bool show_secrets;
	struct out_json *json;		/* NULL: no JSON */
	FILE *transcripts;		/* NULL: none on a stream */
	const char *transcript_dir;	/* NULL: none in files */
	struct out_tr_config tr;
};

struct report_stats {
	uint64_t sessions;
	uint64_t commands;
	uint64_t commands_ok, commands_no, commands_bad, commands_unanswered;
	uint64_t auth_failures;
	uint64_t write_errors;		/* transcripts that could not be written */
};

struct report;

/* cfg is copied (the pointers in it must outlive the report). Returns 0 or
 * ISC_ENOMEM. */
int report_new(const struct report_config *cfg, struct report **r_r);
void report_free(struct report **r);

/* Callbacks for flow_table_new(); ctx is the report. */
const struct flow_ops *report_flow_ops(struct report *r);

const struct report_stats *report_stats(const struct report *r);

#endif
