/* cli/stats.c: the run's counters, as --stats lines, as the closing
 * imapscope.stats JSON record, as the human summary at the end of a run,
 * and as SIGUSR1's two lines (see cli_int.h). The capture decoder's
 * counters come as a fixed list (group, name, value); the flow table's
 * and the report's are named here. */
#include "cli_int.h"

#include <string.h>

#define STATS_MAX 160

/* Every counter of the run, in a fixed order. */
static size_t collect(struct run *r, struct out_stat *st)
{
	const struct flow_stats *fs = flow_table_stats(r->ft);
	const struct report_stats *rs = report_stats(r->rep);
	struct cap_stat cs;
	size_t n = 0;

#define ADD(g, k, v) (st[n++] = (struct out_stat){ g, k, v })
	if (r->live) {
		ADD("capture", "received", r->cs.received);
		ADD("capture", "dropped_kernel", r->cs.dropped_kernel);
		ADD("capture", "dropped_interface", r->cs.dropped_interface);
	}
	for (size_t i = 0; n < STATS_MAX - 48 && cap_decoder_stat(r->dec, i, &cs); i++)
		ADD(cs.group, cs.name, cs.value);
	ADD("packets", "not_imap_port", fs->not_imap_port);
	ADD("flows", "total", fs->flows);
	ADD("flows", "midstream", fs->flows_midstream);
	ADD("flows", "roles_by_content", fs->roles_by_content);
	ADD("flows", "evicted", fs->evicted);
	ADD("flows", "timed_out", fs->timed_out);
	ADD("flows", "open_peak", fs->open_peak);
	ADD("flows", "late", fs->late);
	ADD("flows", "rst_ignored", fs->rst_ignored);
	ADD("reassembly", "segments", fs->segments);
	ADD("reassembly", "retransmitted", fs->retransmitted);
	ADD("reassembly", "overlaps", fs->overlaps);
	ADD("reassembly", "inconsistent", fs->inconsistent);
	ADD("reassembly", "out_of_order", fs->ooo_held);
	ADD("reassembly", "gaps", fs->gaps);
	ADD("reassembly", "gap_bytes", fs->gap_bytes);
	ADD("reassembly", "memcap_refusals", fs->memcap_refusals);
	ADD("reassembly", "window_probes", fs->window_probes);
	ADD("reassembly", "past_fin", fs->past_fin);
	ADD("imap", "sessions", rs->sessions);
	ADD("imap", "sessions_shown", rs->sessions_shown);
	ADD("imap", "sessions_midstream", rs->sessions_midstream);
	ADD("imap", "sessions_open_at_end", rs->sessions_open_at_end);
	ADD("imap", "sessions_cut", rs->sessions_cut);
	ADD("imap", "sessions_starttls", rs->sessions_starttls);
	ADD("imap", "sessions_compress", rs->sessions_compress);
	ADD("imap", "commands", rs->commands);
	ADD("imap", "commands_ok", rs->commands_ok);
	ADD("imap", "commands_no", rs->commands_no);
	ADD("imap", "commands_bad", rs->commands_bad);
	ADD("imap", "commands_unanswered", rs->commands_unanswered);
	ADD("imap", "auth_attempts", rs->auth_attempts);
	ADD("imap", "auth_failures", rs->auth_failures);
	ADD("imap", "users", rs->users);
	ADD("imap", "anomalies", rs->anomalies);
	ADD("imap", "gaps", rs->gaps);
	ADD("imap", "gap_bytes", rs->gap_bytes);
	ADD("imap", "held_dropped", rs->held_dropped);
#undef ADD
	return n;
}

void stats_json(struct run *r)
{
	struct out_stat st[STATS_MAX];
	size_t n = collect(r, st);

	out_json_stats(r->json, r->end, st, n);
}

void stats_print(struct run *r)
{
	struct out_stat st[STATS_MAX];
	size_t n = collect(r, st);

	/* one line a group (in the order groups first appear), with its
	 * non-zero counters; a group with none is left out */
	for (size_t i = 0; i < n; i++) {
		bool first = true, seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(st[k].group, st[i].group);
		if (seen)
			continue;
		for (size_t k = i; k < n; k++) {
			if (strcmp(st[k].group, st[i].group) != 0 || !st[k].value)
				continue;
			if (first)
				fprintf(stderr, "%s:", st[i].group);
			fprintf(stderr, " %s %llu", st[k].name,
				(unsigned long long)st[k].value);
			first = false;
		}
		if (!first)
			fprintf(stderr, "\n");
	}
}

uint64_t stats_decoder(const struct run *r, const char *group,
		       const char *name)
{
	struct cap_stat cs;
	for (size_t i = 0; cap_decoder_stat(r->dec, i, &cs); i++)
		if (!strcmp(cs.group, group) && !strcmp(cs.name, name))
			return cs.value;
	return 0;
}

void stats_summary(struct run *r)
{
	const struct flow_stats *fs = flow_table_stats(r->ft);
	const struct report_stats *rs = report_stats(r->rep);
	double secs = (double)(wall_now() - r->started) / ISC_NS_PER_SEC;
	uint64_t frames = stats_decoder(r, "packets", "total");
	uint64_t bytes = stats_decoder(r, "packets", "bytes");
	uint64_t skipped = frames - stats_decoder(r, "packets", "tcp") -
			   stats_decoder(r, "packets", "fragment_reassembled");
	const char *users[8];
	size_t nu = report_users(r->rep, users, 8);

	if (r->src)
		fprintf(stderr, "imapscope: %zu capture%s, ",
			cap_source_inputs(r->src), cap_source_inputs(r->src) == 1 ? "" : "s");
	else
		fprintf(stderr, "imapscope: live, ");
	fprintf(stderr, "%llu packets (%.1f MB) in %.2f s (%.1f MB/s); %llu not "
		"TCP or not decoded, %llu TCP on other ports\n",
		(unsigned long long)frames, (double)bytes / 1e6, secs,
		secs > 0 ? (double)bytes / 1e6 / secs : 0.0,
		(unsigned long long)skipped, (unsigned long long)fs->not_imap_port);
	fprintf(stderr, "  sessions: %llu (%llu complete, %llu closed idle or "
		"evicted, %llu open at the end; %llu joined midstream)",
		(unsigned long long)rs->sessions,
		(unsigned long long)(rs->sessions - rs->sessions_open_at_end -
				     rs->sessions_cut),
		(unsigned long long)rs->sessions_cut,
		(unsigned long long)rs->sessions_open_at_end,
		(unsigned long long)rs->sessions_midstream);
	if (rs->sessions_shown != rs->sessions)
		fprintf(stderr, ", %llu shown", (unsigned long long)rs->sessions_shown);
	fprintf(stderr, "; STARTTLS %llu, COMPRESS %llu\n",
		(unsigned long long)rs->sessions_starttls,
		(unsigned long long)rs->sessions_compress);
	fprintf(stderr, "  commands: %llu (OK %llu, NO %llu, BAD %llu, no answer %llu)\n",
		(unsigned long long)rs->commands, (unsigned long long)rs->commands_ok,
		(unsigned long long)rs->commands_no, (unsigned long long)rs->commands_bad,
		(unsigned long long)rs->commands_unanswered);
	fprintf(stderr, "  users: %llu", (unsigned long long)rs->users);
	for (size_t i = 0; i < nu; i++)
		fprintf(stderr, "%s%s", i ? ", " : " (", users[i]);
	fprintf(stderr, "%s; authentication: %llu attempts, %llu failed\n",
		nu ? (rs->users > nu ? ", ...)" : ")") : "",
		(unsigned long long)rs->auth_attempts,
		(unsigned long long)rs->auth_failures);
	fprintf(stderr, "  gaps: %llu (%llu bytes); anomalies: %llu\n",
		(unsigned long long)rs->gaps, (unsigned long long)rs->gap_bytes,
		(unsigned long long)rs->anomalies);
}

/* SIGUSR1: the counters in two lines on stderr. */
void stats_report_now(struct run *r)
{
	const struct flow_stats *fs = flow_table_stats(r->ft);
	const struct report_stats *rs = report_stats(r->rep);

	if (r->live) {
		cap_live_stats(r->live, &r->cs);
		fprintf(stderr, "imapscope: up %llds; capture: %llu received, "
			"%llu dropped by the kernel, %llu by the interface\n",
			(long long)((wall_now() - r->started) / ISC_NS_PER_SEC),
			(unsigned long long)r->cs.received,
			(unsigned long long)r->cs.dropped_kernel,
			(unsigned long long)r->cs.dropped_interface);
	}
	fprintf(stderr, "imapscope: packets %llu (%llu bytes); flows %llu "
		"(open %llu, peak %llu, timed out %llu); gaps %llu; sessions "
		"%llu, commands %llu, auth failures %llu; records %llu\n",
		(unsigned long long)stats_decoder(r, "packets", "total"),
		(unsigned long long)stats_decoder(r, "packets", "bytes"),
		(unsigned long long)fs->flows, (unsigned long long)fs->open_now,
		(unsigned long long)fs->open_peak,
		(unsigned long long)fs->timed_out, (unsigned long long)fs->gaps,
		(unsigned long long)rs->sessions, (unsigned long long)rs->commands,
		(unsigned long long)rs->auth_failures,
		(unsigned long long)(r->json ? out_json_records(r->json) : 0));
}

