/* output/report.c: see report.h. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

struct report {
	struct report_config cfg;
	struct flow_ops ops;
	struct report_stats st;
};

/* One flow's state. */
struct rsess {
	struct report *rep;
	struct out_flow f;
	struct imap_session *imap;
	struct out_transcript *tr;
	enum flow_end why;
};

/* ---- dissector events --------------------------------------------------- */

static void ev_line(void *ctx, enum isc_dir dir, isc_time ts,
		    const uint8_t *p, size_t len)
{
	struct rsess *rs = ctx;
	if (rs->tr)
		out_tr_line(rs->tr, dir, ts, p, len);
}

static void ev_literal(void *ctx, enum isc_dir dir, isc_time ts, uint64_t size,
		       const uint8_t *sample, size_t n, bool redacted)
{
	struct rsess *rs = ctx;
	if (rs->tr)
		out_tr_literal(rs->tr, dir, ts, size, sample, n, redacted);
}

static void ev_marker(void *ctx, enum isc_dir dir, isc_time ts,
		      enum imap_marker m, uint64_t arg, const char *text)
{
	struct rsess *rs = ctx;
	if (rs->tr)
		out_tr_marker(rs->tr, dir, ts, m, arg, text);
}

static void ev_command(void *ctx, const struct imap_cmd_rec *c)
{
	struct rsess *rs = ctx;
	struct report_stats *st = &rs->rep->st;
	st->commands++;
	if (!c->status)
		st->commands_unanswered++;
	else if (!strcmp(c->status, "OK"))
		st->commands_ok++;
	else if (!strcmp(c->status, "NO"))
		st->commands_no++;
	else
		st->commands_bad++;
	if (rs->rep->cfg.json)
		out_json_command(rs->rep->cfg.json, &rs->f, c);
}

static void ev_auth(void *ctx, const struct imap_auth_rec *a)
{
	struct rsess *rs = ctx;
	if (!a->status || strcmp(a->status, "OK"))
		rs->rep->st.auth_failures++;
	if (rs->tr)
		out_tr_auth(rs->tr, a);
	if (rs->rep->cfg.json)
		out_json_auth(rs->rep->cfg.json, &rs->f, a);
}

static void write_transcript(struct rsess *rs)
{
	struct report *r = rs->rep;
	if (r->cfg.transcripts && out_tr_write(rs->tr, r->cfg.transcripts) < 0)
		r->st.write_errors++;
	if (r->cfg.transcript_dir) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.txt", r->cfg.transcript_dir,
			 rs->f.id);
		FILE *f = fopen(path, "w");
		if (!f || out_tr_write(rs->tr, f) < 0)
			r->st.write_errors++;
		if (f && fclose(f) != 0)
			r->st.write_errors++;
	}
}

static void ev_end(void *ctx, isc_time ts, const struct imap_session_rec *s)
{
	struct rsess *rs = ctx;
	const char *why = s->logout ? "logout" : flow_end_names[rs->why];
	if (rs->tr) {
		out_tr_end(rs->tr, ts, why, s);
		write_transcript(rs);
	}
	if (rs->rep->cfg.json)
		out_json_session(rs->rep->cfg.json, &rs->f, ts, why, s);
}

static const struct imap_sink sink = {
	.line = ev_line,
	.literal = ev_literal,
	.marker = ev_marker,
	.command = ev_command,
	.auth = ev_auth,
	.end = ev_end,
};

/* ---- flow events -------------------------------------------------------- */

static void *fl_open(void *ctx, const struct flow_info *fi)
{
	struct report *r = ctx;
	struct rsess *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return NULL;
	rs->rep = r;
	out_flow_init(&rs->f, fi);
	struct imap_config ic = {
		.lim = r->cfg.lim,
		.show_secrets = r->cfg.show_secrets,
		.midstream = fi->midstream,
	};
	if (imap_session_new(&ic, &sink, rs, &rs->imap) < 0)
		goto err;
	if ((r->cfg.transcripts || r->cfg.transcript_dir) &&
	    out_tr_new(&r->cfg.tr, &rs->f, &rs->tr) < 0)
		goto err;
	r->st.sessions++;
	return rs;
err:
	imap_session_free(&rs->imap);
	free(rs);
	return NULL;
}

static void fl_data(void *ctx, void *flow, enum isc_dir dir, isc_time ts,
		    const uint8_t *p, size_t len)
{
	(void)ctx;
	struct rsess *rs = flow;
	if (rs)
		imap_feed(rs->imap, dir, ts, p, len);
}

static void fl_gap(void *ctx, void *flow, enum isc_dir dir, isc_time ts,
		   uint64_t len)
{
	(void)ctx;
	struct rsess *rs = flow;
	if (rs)
		imap_gap(rs->imap, dir, ts, len);
}

static void fl_close(void *ctx, void *flow, isc_time ts, enum flow_end why)
{
	(void)ctx;
	struct rsess *rs = flow;
	if (!rs)
		return;
	rs->why = why;
	imap_end(rs->imap, ts);
	imap_session_free(&rs->imap);
	out_tr_free(&rs->tr);
	free(rs);
}

int report_new(const struct report_config *cfg, struct report **r_r)
{
	struct report *r = calloc(1, sizeof(*r));
	if (!r)
		return ISC_ENOMEM;
	r->cfg = *cfg;
	r->ops = (struct flow_ops){
		.open = fl_open,
		.data = fl_data,
		.gap = fl_gap,
		.close = fl_close,
		.ctx = r,
	};
	*r_r = r;
	return 0;
}

void report_free(struct report **r)
{
	free(*r);
	*r = NULL;
}

const struct flow_ops *report_flow_ops(struct report *r)
{
	return &r->ops;
}

const struct report_stats *report_stats(const struct report *r)
{
	return &r->st;
}
