/* output/report.c: see report.h. */
#include "report.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "../common/pool.h"

struct report {
	struct report_config cfg;
	struct flow_ops ops;
	struct report_stats st;
	struct isc_addr host;		/* only_host, parsed */
	/* Distinct user names: an open-addressing set (twice the capacity of
	 * names it holds, so probes stay short) and the order they came in. */
	char **users;			/* in the order seen */
	size_t nusers, users_cap;
	char **uset;			/* USERS_SLOTS slots, NULL when free */
	/* the blocks of open sessions: see common/pool.h */
	struct isc_pool *rsess_pool, *imap_pool;
};

#define USERS_SLOTS ((size_t)2 * REPORT_USERS_MAX)

/* One flow's state. */
struct rsess {
	struct report *rep;
	struct out_flow f;
	struct imap_session *imap;
	struct out_transcript *tr;
	enum flow_end why;
	bool shown;			/* matches the filters (so far) */
	bool user_matched;		/* only_user was named by an attempt */
	/* With only_user, records wait here until the user matches. */
	FILE *hold;
	char *hold_buf;
	size_t hold_len;
	struct out_json *hold_json;
};

/* ---- filters and held records ------------------------------------------ */

static bool host_matches(const struct report *r, const struct flow_info *fi)
{
	return !memcmp(&fi->client, &r->host, sizeof(r->host)) ||
	       !memcmp(&fi->server, &r->host, sizeof(r->host));
}

/* The JSON writer this session's records go to now, or NULL for none. */
static struct out_json *json_of(struct rsess *rs)
{
	if (!rs->rep->cfg.json || !rs->shown)
		return NULL;
	if (rs->hold_json) {
		fflush(rs->hold);
		if (rs->hold_len > REPORT_HOLD_MAX) {
			/* bounded: a session that never names the user
			 * can't make us hold its records without end */
			rs->rep->st.held_dropped++;
			return NULL;
		}
		return rs->hold_json;
	}
	return rs->rep->cfg.json;
}

/* Ends holding: the records held so far go out (release) or are dropped;
 * the session's later records then go out directly. */
static void end_hold(struct rsess *rs, bool release)
{
	if (!rs->hold)
		return;
	fflush(rs->hold);
	if (release && rs->hold_len && rs->rep->cfg.json_file) {
		/* the records the writer holds came first */
		if (rs->rep->cfg.json)
			out_json_flush(rs->rep->cfg.json);
		fwrite(rs->hold_buf, 1, rs->hold_len, rs->rep->cfg.json_file);
	}
	out_json_free(&rs->hold_json);
	fclose(rs->hold);
	free(rs->hold_buf);
	rs->hold = NULL;
	rs->hold_buf = NULL;
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Counts a user name once. Past REPORT_USERS_MAX distinct names, every
 * further name not among them is counted as new (an upper bound). */
static void note_user(struct report *r, const char *name)
{
	if (!r->uset && !(r->uset = calloc(USERS_SLOTS, sizeof(*r->uset))))
		return;
	size_t i = name_hash(name) % USERS_SLOTS;
	while (r->uset[i]) {
		if (!strcmp(r->uset[i], name))
			return;
		i = (i + 1) % USERS_SLOTS;
	}
	r->st.users++;
	if (r->nusers >= REPORT_USERS_MAX)
		return;
	if (r->nusers == r->users_cap) {
		/* doubling: growing by one copied the whole list each time,
		 * 2.7% of a run over a million sessions */
		size_t cap = r->users_cap ? 2 * r->users_cap : 64;
		char **nu = realloc(r->users, cap * sizeof(*nu));
		if (!nu)
			return;
		r->users = nu;
		r->users_cap = cap;
	}
	if ((r->users[r->nusers] = strdup(name)) != NULL) {
		r->uset[i] = r->users[r->nusers];
		r->nusers++;
	}
}

/* ---- dissector events --------------------------------------------------- */

static void ev_line(void *ctx, enum isc_dir dir, isc_time ts,
		    const uint8_t *p, size_t len)
{
	struct rsess *rs = ctx;	/* in sink only: rs->tr is set */
	out_tr_line(rs->tr, dir, ts, p, len);
}

static void ev_literal(void *ctx, enum isc_dir dir, isc_time ts, uint64_t size,
		       const uint8_t *sample, size_t n, bool redacted)
{
	struct rsess *rs = ctx;	/* in sink only: rs->tr is set */
	out_tr_literal(rs->tr, dir, ts, size, sample, n, redacted);
}

static void ev_marker(void *ctx, enum isc_dir dir, isc_time ts,
		      enum imap_marker m, uint64_t arg, const char *text)
{
	struct rsess *rs = ctx;
	if (m == IMAP_MARK_ANOMALY)
		rs->rep->st.anomalies++;
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
	struct out_json *j = json_of(rs);
	if (j)
		out_json_command(j, &rs->f, c);
}

static void ev_auth(void *ctx, const struct imap_auth_rec *a)
{
	struct rsess *rs = ctx;
	struct report *r = rs->rep;
	r->st.auth_attempts++;
	if (!a->status || strcmp(a->status, "OK") != 0)
		r->st.auth_failures++;
	if (a->user)
		note_user(r, a->user);
	if (r->cfg.only_user && a->user && !strcmp(a->user, r->cfg.only_user)) {
		rs->user_matched = true;
		end_hold(rs, true);
	}
	if (rs->tr)
		out_tr_auth(rs->tr, a);
	struct out_json *j = json_of(rs);
	if (j)
		out_json_auth(j, &rs->f, a);
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
	struct report_stats *st = &rs->rep->st;
	const char *why = s->logout ? "logout" : flow_end_names[rs->why];

	if (rs->why == FLOW_END_EOF || rs->why == FLOW_END_SHUTDOWN)
		st->sessions_open_at_end += !s->logout;
	if (rs->why == FLOW_END_IDLE || rs->why == FLOW_END_EVICTED)
		st->sessions_cut += !s->logout;
	st->sessions_starttls += s->starttls;
	st->sessions_compress += s->compress;
	for (int d = 0; d < 2; d++) {
		st->gaps += s->half[d][IMAP_HC_GAPS];
		st->gap_bytes += s->half[d][IMAP_HC_GAP_BYTES];
	}
	if (rs->rep->cfg.only_user) {
		if (!rs->user_matched && s->user &&
		    !strcmp(s->user, rs->rep->cfg.only_user))
			rs->user_matched = true;
		rs->shown = rs->shown && rs->user_matched;
		if (rs->shown)
			end_hold(rs, true);
		else
			end_hold(rs, false);
	}
	st->sessions_shown += rs->shown;
	if (rs->tr && rs->shown) {
		out_tr_end(rs->tr, ts, why, s);
		write_transcript(rs);
	}
	struct out_json *j = json_of(rs);
	if (j)
		out_json_session(j, &rs->f, ts, why, s);
}

static const struct imap_sink sink = {
	.line = ev_line,
	.literal = ev_literal,
	.marker = ev_marker,
	.command = ev_command,
	.auth = ev_auth,
	.end = ev_end,
};

/* For a session without a transcript: lines and literals go nowhere,
 * so the dissector makes no call for each line and keeps no literal
 * samples but for command arguments. */
static const struct imap_sink sink_records = {
	.marker = ev_marker,
	.command = ev_command,
	.auth = ev_auth,
	.end = ev_end,
};

/* ---- flow events -------------------------------------------------------- */

static void *fl_open(void *ctx, const struct flow_info *fi)
{
	struct report *r = ctx;
	struct rsess *rs = isc_pool_get(r->rsess_pool);
	if (!rs)
		return NULL;
	memset(rs, 0, sizeof(*rs));
	rs->rep = r;
	out_flow_init(&rs->f, fi);
	rs->shown = (!r->cfg.only_host || host_matches(r, fi)) &&
		    (!r->cfg.only_session || !strcmp(r->cfg.only_session, rs->f.id));
	struct imap_config ic = {
		.lim = r->cfg.lim,
		.show_secrets = r->cfg.show_secrets,
		.midstream = fi->midstream,
		.pool = r->imap_pool,
	};
	bool tr = (r->cfg.transcripts || r->cfg.transcript_dir) && rs->shown;
	if (imap_session_new(&ic, tr ? &sink : &sink_records, rs, &rs->imap) < 0)
		goto err;
	if (tr && out_tr_new(&r->cfg.tr, &rs->f, &rs->tr) < 0)
		goto err;
	if (r->cfg.only_user && r->cfg.json && rs->shown) {
		rs->hold = open_memstream(&rs->hold_buf, &rs->hold_len);
		/* flush: each record reaches hold_buf at once, so that
		 * hold_len counts it */
		if (!rs->hold || out_json_new(rs->hold, true, &rs->hold_json) < 0)
			goto err;
	}
	r->st.sessions++;
	r->st.sessions_midstream += fi->midstream;
	return rs;
err:
	end_hold(rs, false);
	out_tr_free(&rs->tr);
	imap_session_free(&rs->imap);
	isc_pool_put(rs->rep->rsess_pool, rs);
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
	end_hold(rs, false);
	imap_session_free(&rs->imap);
	out_tr_free(&rs->tr);
	isc_pool_put(rs->rep->rsess_pool, rs);
}

/* Who spoke first, for flows joined without a handshake. */
static int fl_role_hint(void *ctx, const uint8_t *p, size_t len)
{
	(void)ctx;
	return imap_role_hint(p, len);
}

int report_new(const struct report_config *cfg, struct report **r_r)
{
	struct report *r = calloc(1, sizeof(*r));
	if (!r)
		return ISC_ENOMEM;
	r->cfg = *cfg;
	if (cfg->only_host) {
		if (inet_pton(AF_INET, cfg->only_host, r->host.a) == 1) {
			r->host.family = 4;
		} else if (inet_pton(AF_INET6, cfg->only_host, r->host.a) == 1) {
			r->host.family = 6;
		} else {
			free(r);
			return ISC_EINVAL;
		}
	}
	if (isc_pool_new(sizeof(struct rsess), &r->rsess_pool) < 0 ||
	    isc_pool_new(imap_session_size(), &r->imap_pool) < 0) {
		isc_pool_free(&r->rsess_pool);
		free(r);
		return ISC_ENOMEM;
	}
	r->ops = (struct flow_ops){
		.open = fl_open,
		.data = fl_data,
		.gap = fl_gap,
		.close = fl_close,
		.role_hint = fl_role_hint,
		.ctx = r,
	};
	*r_r = r;
	return 0;
}

void report_free(struct report **rp)
{
	struct report *r = *rp;
	if (!r)
		return;
	for (size_t i = 0; i < r->nusers; i++)
		free(r->users[i]);
	free(r->users);
	free(r->uset);
	isc_pool_free(&r->rsess_pool);
	isc_pool_free(&r->imap_pool);
	free(r);
	*rp = NULL;
}

const struct flow_ops *report_flow_ops(struct report *r)
{
	return &r->ops;
}

const struct report_stats *report_stats(const struct report *r)
{
	return &r->st;
}

size_t report_users(const struct report *r, const char **names, size_t n)
{
	size_t k = r->nusers < n ? r->nusers : n;
	for (size_t i = 0; i < k; i++)
		names[i] = r->users[i];
	return k;
}
