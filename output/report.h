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
	FILE *json_file;		/* the FILE json writes to */
	FILE *transcripts;		/* NULL: none on a stream */
	const char *transcript_dir;	/* NULL: none in files */
	struct out_tr_config tr;
	/* Output filters (NULL: no filter). A session is shown when it
	 * matches all that are given; every session is analyzed and counted.
	 * With only_user, a session's records are held (in memory, at most
	 * REPORT_HOLD_MAX bytes, past which they are dropped and counted)
	 * until one of its authentication attempts names that user, or
	 * dropped at its end. Transcripts are written at a session's end
	 * anyway. */
	const char *only_user;
	const char *only_host;		/* an IPv4 or IPv6 address, either end */
	const char *only_session;	/* a session id */
};

#define REPORT_HOLD_MAX (1u << 20)
#define REPORT_USERS_MAX 10000		/* distinct user names counted */

struct report_stats {
	uint64_t sessions;
	uint64_t sessions_shown;	/* matching the filters */
	uint64_t sessions_midstream;
	uint64_t sessions_open_at_end;	/* ended by the capture's end or a stop */
	uint64_t sessions_cut;		/* closed idle or evicted */
	uint64_t sessions_starttls, sessions_compress;
	uint64_t commands;
	uint64_t commands_ok, commands_no, commands_bad, commands_unanswered;
	uint64_t auth_attempts, auth_failures;
	uint64_t anomalies;
	uint64_t gaps, gap_bytes;	/* seen by the dissector, both ways */
	uint64_t users;			/* distinct user names (at most
					 * REPORT_USERS_MAX are told apart) */
	uint64_t held_dropped;		/* records over REPORT_HOLD_MAX */
	uint64_t write_errors;		/* transcripts that could not be written */
};

struct report;

/* cfg is copied (the pointers in it must outlive the report). Returns 0,
 * ISC_ENOMEM, or ISC_EINVAL when only_host is not an IP address. */
int report_new(const struct report_config *cfg, struct report **r_r);
void report_free(struct report **r);

/* Callbacks for flow_table_new(); ctx is the report. */
const struct flow_ops *report_flow_ops(struct report *r);

const struct report_stats *report_stats(const struct report *r);

/* The first n distinct user names seen, in the order seen (n at most 8);
 * valid until the report is freed. Returns how many were stored. */
size_t report_users(const struct report *r, const char **names, size_t n);


#endif
