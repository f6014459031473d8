/* Tests of the IMAP dissector (dissector/imap.h), fed scripted two-way
 * conversations. Every event is written to a text log; each test asserts
 * the log, and that feeding the same script one byte at a time gives the
 * same log (the dissector must not depend on how bytes are chunked). */
#include "../../dissector/imap.h"
#include "../../dissector/sasl.h"
#include "../../dissector/scan.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- a recording sink ------------------------------------------------- */

struct rec {
	char *log;
	size_t len, cap;
};

static void logf_(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct rec *r, const char *fmt, ...)
{
	char tmp[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	if (r->len + (size_t)n + 1 > r->cap) {
		r->cap = (r->cap + (size_t)n + 1) * 2;
		r->log = realloc(r->log, r->cap);
	}
	memcpy(r->log + r->len, tmp, (size_t)n + 1);
	r->len += (size_t)n;
}

static const char *D(enum isc_dir d)
{
	return d == ISC_DIR_CLIENT ? "C" : "S";
}

static void ev_line(void *ctx, enum isc_dir dir, isc_time ts, const uint8_t *p, size_t len)
{
	(void)ts;
	logf_(ctx, "%s: %.*s\n", D(dir), (int)len, (const char *)p);
}

static void ev_literal(void *ctx, enum isc_dir dir, isc_time ts, uint64_t size,
		       const uint8_t *sample, size_t n, bool redacted)
{
	(void)ts;
	logf_(ctx, "%s{%llu}%s[%.*s]\n", D(dir), (unsigned long long)size,
	      redacted ? "R" : "", (int)n, sample ? (const char *)sample : "");
}

static void ev_marker(void *ctx, enum isc_dir dir, isc_time ts, enum imap_marker m,
		      uint64_t arg, const char *text)
{
	(void)ts;
	static const char *names[] = { "gap", "starttls", "compress", "anomaly", "resync" };
	logf_(ctx, "-- %s %s %llu %s\n", names[m], D(dir), (unsigned long long)arg,
	      text ? text : "");
}

static void ev_command(void *ctx, const struct imap_cmd_rec *c)
{
	logf_(ctx, "CMD %s %s %s [%s] %s mbox=%s user=%s lit=%llu/%llu\n", c->tag,
	      c->name, c->status ? c->status : "-", c->resp_code ? c->resp_code : "",
	      c->resp_text ? c->resp_text : "", c->mailbox ? c->mailbox : "",
	      c->user ? c->user : "", (unsigned long long)c->literals,
	      (unsigned long long)c->literal_bytes);
}

static void ev_auth(void *ctx, const struct imap_auth_rec *a)
{
	logf_(ctx, "AUTH %s %s %s\n", a->mechanism ? a->mechanism : a->command,
	      a->user ? a->user : "-", a->status ? a->status : "-");
}

/* The last session record, with what it points to copied out (the
 * session is freed after the run). */
static struct imap_session_rec last_end;
static char last_anoms[512], last_state[32], last_idc[512], last_ids[512];
static char last_names[4096];	/* "NAME=count;" for each of by_name */

static void kv_text(char *out, size_t cap, const struct imap_kv *kv, size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%s=%s;", kv[i].key,
			 kv[i].value ? kv[i].value : "NIL");
	}
}

static void ev_end(void *ctx, isc_time ts, const struct imap_session_rec *r)
{
	(void)ts;
	last_end = *r;
	snprintf(last_state, sizeof(last_state), "%s", r->state);
	kv_text(last_idc, sizeof(last_idc), r->id_client, r->n_id_client);
	kv_text(last_ids, sizeof(last_ids), r->id_server, r->n_id_server);
	last_names[0] = '\0';
	for (size_t i = 0; i < r->n_by_name; i++) {
		size_t l = strlen(last_names);
		snprintf(last_names + l, sizeof(last_names) - l, "%s=%llu;",
			 r->by_name[i].name,
			 (unsigned long long)r->by_name[i].count);
	}
	last_anoms[0] = '\0';
	for (size_t i = 0; i < r->n_anomaly_names; i++) {
		strcat(last_anoms, r->anomaly_names[i]);
		strcat(last_anoms, " ");
	}
	logf_(ctx, "END cmds=%llu user=%s auth=%d logout=%d tls=%d z=%d lit=%llu/%llu,%llu/%llu anom=%llu\n",
	      (unsigned long long)r->commands, r->user ? r->user : "",
	      r->authenticated, r->logout, r->starttls, r->compress,
	      (unsigned long long)r->half[0][IMAP_HC_LITERALS],
	      (unsigned long long)r->half[0][IMAP_HC_LITERAL_BYTES],
	      (unsigned long long)r->half[1][IMAP_HC_LITERALS],
	      (unsigned long long)r->half[1][IMAP_HC_LITERAL_BYTES],
	      (unsigned long long)r->anomalies);
	logf_(ctx, "GREETING %s\nCAPS %s\nMAILBOX %s\n",
	      r->greeting ? r->greeting : "-",
	      r->capabilities ? r->capabilities : "-",
	      r->mailbox ? r->mailbox : "-");
	logf_(ctx, "LINES %llu/%llu\n",
	      (unsigned long long)r->half[ISC_DIR_CLIENT][IMAP_HC_LINES],
	      (unsigned long long)r->half[ISC_DIR_SERVER][IMAP_HC_LINES]);
}

static const struct imap_sink sink = {
	ev_line, ev_literal, ev_marker, ev_command, ev_auth, ev_end,
};

/* What a session without a transcript gets: no line or literal events. */
static const struct imap_sink sink_records = {
	NULL, NULL, ev_marker, ev_command, ev_auth, ev_end,
};

/* ---- scripts ----------------------------------------------------------- */

/* A script step: who sends what ('C' or 'S'; 'G' = gap of len bytes in the
 * direction given by the first byte of data). */
struct step {
	char who;
	const char *data;
	size_t len;		/* 0: strlen(data) */
};

struct opts {
	bool show_secrets;
	bool midstream;
	size_t max_line;
	size_t literal_bytes;
	bool records_only;	/* sink_records */
};

/* Runs a script with the given chunk size (0 = whole steps). */
static char *run_chunked(const struct step *st, size_t n, const struct opts *o, size_t chunk)
{
	struct isc_limits lim;
	isc_limits_default(&lim);
	lim.literal_bytes = 16;
	if (o && o->max_line)
		lim.max_line = o->max_line;
	if (o && o->literal_bytes)
		lim.literal_bytes = o->literal_bytes;
	struct imap_config cfg = { .lim = &lim };
	if (o) {
		cfg.show_secrets = o->show_secrets;
		cfg.midstream = o->midstream;
	}
	struct rec r = { 0 };
	struct imap_session *s;
	cr_assert_eq(imap_session_new(&cfg, o && o->records_only ? &sink_records : &sink,
				      &r, &s), 0);
	for (size_t i = 0; i < n; i++) {
		size_t len = st[i].len ? st[i].len : strlen(st[i].data);
		if (st[i].who == 'G') {
			imap_gap(s, st[i].data[0] == 'C' ? ISC_DIR_CLIENT : ISC_DIR_SERVER,
				 (isc_time)i, len);
			continue;
		}
		enum isc_dir d = st[i].who == 'C' ? ISC_DIR_CLIENT : ISC_DIR_SERVER;
		const uint8_t *p = (const uint8_t *)st[i].data;
		size_t c = chunk ? chunk : len;
		for (size_t off = 0; off < len; off += c)
			imap_feed(s, d, (isc_time)i, p + off, len - off < c ? len - off : c);
	}
	imap_end(s, 1000);
	imap_session_free(&s);
	cr_assert_null(s);
	if (!r.log)
		r.log = strdup("");
	return r.log;
}

/* Runs a script whole, then byte by byte and in chunks of 7, and checks
 * the three logs agree. Returns the log (caller frees). */
static char *run(const struct step *st, size_t n, const struct opts *o)
{
	char *whole = run_chunked(st, n, o, 0);
	char *bytes = run_chunked(st, n, o, 1);
	char *sevens = run_chunked(st, n, o, 7);
	cr_assert_str_eq(bytes, whole, "byte-by-byte differs:\n%s\n--- whole:\n%s", bytes, whole);
	cr_assert_str_eq(sevens, whole, "7-byte chunks differ:\n%s\n--- whole:\n%s", sevens, whole);
	free(bytes);
	free(sevens);
	return whole;
}

#define RUN(st, o) run(st, sizeof(st) / sizeof(st[0]), o)

static void has(const char *log, const char *needle)
{
	cr_assert(strstr(log, needle), "expected \"%s\" in log:\n%s", needle, log);
}

static void hasnt(const char *log, const char *needle)
{
	cr_assert(!strstr(log, needle), "did not expect \"%s\" in log:\n%s", needle, log);
}

/* ---- RFC 3501 section 8: the sample session ----------------------------- */

Test(dissector, rfc3501_example_session)
{
	static const struct step st[] = {
		{ 'S', "* OK IMAP4rev1 Service Ready\r\n" },
		{ 'C', "a001 login mrc secret\r\n" },
		{ 'S', "a001 OK LOGIN completed\r\n" },
		{ 'C', "a002 select inbox\r\n" },
		{ 'S', "* 18 EXISTS\r\n* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
		       "* 2 RECENT\r\n* OK [UNSEEN 17] Message 17 is the first unseen message\r\n"
		       "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
		       "a002 OK [READ-WRITE] SELECT completed\r\n" },
		{ 'C', "a003 fetch 12 full\r\n" },
		{ 'S', "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
		       "RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
		       "\"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" "
		       "\"cac.washington.edu\")) NIL NIL NIL \"<B27397-0100000@cac.washington.edu>\") "
		       "BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n"
		       "a003 OK FETCH completed\r\n" },
		{ 'C', "a004 fetch 12 body[header]\r\n" },
		{ 'S', "* 12 FETCH (BODY[HEADER] {42}\r\n"
		       "Date: Wed, 17 Jul 1996 02:23:25 -0700\r\n\r\n"
		       ")\r\na004 OK FETCH completed\r\n" },
		{ 'C', "a005 store 12 +flags \\deleted\r\n" },
		{ 'S', "* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\na005 OK +FLAGS completed\r\n" },
		{ 'C', "a006 logout\r\n" },
		{ 'S', "* BYE IMAP4rev1 server terminating connection\r\na006 OK LOGOUT completed\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "C: a001 login mrc ********\n");
	hasnt(log, "secret");
	has(log, "AUTH LOGIN mrc OK\n");
	has(log, "CMD a001 LOGIN OK [] LOGIN completed mbox= user=mrc");
	has(log, "CMD a002 SELECT OK [READ-WRITE] SELECT completed mbox=inbox user=mrc");
	has(log, "S{42}[Date: Wed, 17 Ju]\n");
	has(log, "CMD a004 FETCH OK");
	has(log, "CMD a005 STORE OK [] +FLAGS completed");
	has(log, "CMD a006 LOGOUT OK");
	has(log, "END cmds=6 user=mrc auth=1 logout=1 tls=0 z=0 lit=0/0,1/42 anom=0\n");
	free(log);
}

/* The arguments a command stored are its own: a later command with fewer
 * arguments (or one given as a literal after a skipped one) must not show
 * an earlier command's mailbox or user. */
Test(dissector, arguments_never_carry_over_to_the_next_command)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 SELECT Drafts\r\n" },
		{ 'S', "a1 OK [READ-WRITE] done\r\n" },
		{ 'C', "a2 SELECT\r\n" },
		{ 'S', "a2 BAD missing mailbox\r\n" },
		{ 'C', "a3 LOGIN bob secret\r\n" },
		{ 'S', "a3 NO wrong\r\n" },
		{ 'C', "a4 LOGIN\r\n" },
		{ 'S', "a4 BAD missing arguments\r\n" },
		{ 'C', "a5 RENAME Old New\r\n" },
		{ 'S', "a5 OK renamed\r\n" },
		{ 'C', "a6 RENAME {5}\r\n" },
		{ 'S', "+ go\r\n" },
		{ 'C', "Other\r\n" },
		{ 'S', "a6 BAD missing new name\r\n" },
		/* arguments of commands that have no use for them, a literal
		 * one too, are not taken for the next command's */
		{ 'C', "a7 FETCH +FLAGS \\Deleted\r\n" },
		{ 'S', "a7 OK\r\n" },
		{ 'C', "a8 STORE\r\n" },
		{ 'S', "* 1 FETCH (FLAGS (\\Deleted))\r\na8 BAD x\r\n" },
		{ 'C', "a9 SEARCH {3+}\r\nbob\r\n" },
		{ 'S', "a9 OK\r\n" },
		{ 'C', "a10 LOGIN\r\n" },
		{ 'S', "a10 BAD x\r\n" },
		{ 'C', "a11 NOOP INBOX\r\n" },
		{ 'S', "a11 OK\r\n" },
		{ 'C', "a12 SELECT\r\n" },
		{ 'S', "a12 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "CMD a1 SELECT OK [READ-WRITE] done mbox=Drafts user=");
	has(log, "CMD a2 SELECT BAD [] missing mailbox mbox= user=");
	has(log, "AUTH LOGIN bob NO\n");
	has(log, "CMD a4 LOGIN BAD [] missing arguments mbox= user= ");
	hasnt(log, "AUTH LOGIN bob BAD");
	has(log, "CMD a5 RENAME OK [] renamed mbox=Old user=");
	has(log, "CMD a6 RENAME BAD [] missing new name mbox=Other user=");
	cr_assert_eq(last_end.msgs_deleted, 0);
	has(log, "CMD a10 LOGIN BAD [] x mbox= user= ");
	hasnt(log, "AUTH LOGIN bob BAD");
	has(log, "CMD a12 SELECT OK []  mbox= user=");
	free(log);
}

/* Command names are counted each under its own name up to 64 names; past
 * that, the last slot becomes _OTHER and gathers every name without a
 * slot, a known command's as well as an unknown one's. */
Test(dissector, command_names_past_the_cap_go_to_other)
{
	static char lines[70][32];
	struct step st[72];
	size_t n = 0;
	st[n++] = (struct step){ 'S', "* OK ready\r\n", 0 };
	/* FETCH, X02..X63, SELECT: 64 names; then X65, SELECT, FETCH */
	snprintf(lines[0], sizeof(lines[0]), "a1 FETCH 1 FLAGS\r\n");
	for (int i = 2; i <= 63; i++)
		snprintf(lines[i - 1], sizeof(lines[0]), "a%d X%02d\r\n", i, i);
	snprintf(lines[63], sizeof(lines[0]), "a64 SELECT INBOX\r\n");
	snprintf(lines[64], sizeof(lines[0]), "a65 X65\r\n");
	snprintf(lines[65], sizeof(lines[0]), "a66 SELECT INBOX\r\n");
	snprintf(lines[66], sizeof(lines[0]), "a67 FETCH 2 FLAGS\r\n");
	for (int i = 0; i < 67; i++)
		st[n++] = (struct step){ 'C', lines[i], 0 };
	char *log = run(st, n, NULL);
	cr_assert(strstr(last_names, "FETCH=2;"), "%s", last_names);
	cr_assert(strstr(last_names, "X02=1;"), "%s", last_names);
	cr_assert(strstr(last_names, "X63=1;"), "%s", last_names);
	/* SELECT took the 64th slot, which became _OTHER: 1 + X65 + SELECT */
	cr_assert(strstr(last_names, "_OTHER=3;"), "%s", last_names);
	cr_assert(!strstr(last_names, "SELECT="), "%s", last_names);
	cr_assert(!strstr(last_names, "X65="), "%s", last_names);
	has(log, "END cmds=67 ");
	free(log);
}

/* The session's names come sorted by name (byte order), whatever order
 * the commands came in: here mostly the reverse. */
Test(dissector, command_names_come_sorted)
{
	static char lines[60][32];
	static const char *const first[] = {
		"a1 NOOP\r\n", "a2 FETCH 1 FLAGS\r\n", "a3 CAPABILITY\r\n",
		"a4 NOOP\r\n", "a5 SELECT INBOX\r\n", "a6 UID FETCH 1 FLAGS\r\n",
		"a7 APPEND\r\n",
	};
	struct step st[64];
	size_t n = 0, k = 0;
	st[n++] = (struct step){ 'S', "* OK ready\r\n", 0 };
	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
		st[n++] = (struct step){ 'C', first[i], 0 };
	for (int i = 40; i >= 0; i--) {
		snprintf(lines[k], sizeof(lines[0]), "b%d Z%02d\r\n", i, i);
		st[n++] = (struct step){ 'C', lines[k++], 0 };
	}
	st[n++] = (struct step){ 'C', "c1 FETCH 2 FLAGS\r\n", 0 };
	char *log = run(st, n, NULL);
	char want[1024] = "APPEND=1;CAPABILITY=1;FETCH=2;NOOP=2;SELECT=1;UID FETCH=1;";
	for (int i = 0; i <= 40; i++) {
		size_t l = strlen(want);
		snprintf(want + l, sizeof(want) - l, "Z%02d=1;", i);
	}
	cr_assert_str_eq(last_names, want);
	free(log);
}

/* ---- literals ------------------------------------------------------------ */

Test(dissector, literal_split_at_every_boundary)
{
	const char *srv = "* OK ready\r\n";
	const char *resp = "* 1 FETCH (UID 7 BODY[] {12}\r\nhello\r\nworld FLAGS (\\Seen))\r\nt1 OK done\r\n";
	char *ref = NULL;
	for (size_t cut = 0; cut <= strlen(resp); cut++) {
		char a[128], b[128];
		snprintf(a, sizeof(a), "%.*s", (int)cut, resp);
		snprintf(b, sizeof(b), "%s", resp + cut);
		struct step st[] = {
			{ 'S', srv }, { 'C', "t1 FETCH 1 BODY[]\r\n" },
			{ 'S', a, cut ? cut : 0 }, { 'S', b },
		};
		size_t n = cut ? 4 : 3;
		if (!cut)
			st[2] = st[3];
		char *log = run_chunked(st, n, NULL, 0);
		if (!ref) {
			ref = log;
			has(ref, "S{12}[hello\r\nworld]\n");
			has(ref, "S:  FLAGS (\\Seen))\n");
			has(ref, "CMD t1 FETCH OK");
			continue;
		}
		cr_assert_str_eq(log, ref, "cut at %zu", cut);
		free(log);
	}
	free(ref);
}

/* Without a transcript a chunk inside a literal is only counted; chunks
 * that end a literal mid-way, start a second literal right after the
 * first, carry the line after it, or end the capture must still be
 * parsed. Run whole, byte
 * by byte, in 7s, and with and without samples (transcript). */
Test(dissector, literal_chunks_counted_and_ended_mid_chunk)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "t1 FETCH 1:2 BODY[]\r\n" },
		{ 'S', "* 1 FETCH (BODY[] {30}\r\n0123456789" },
		{ 'S', "abcdefghij" },
		{ 'S', "ABCDEFGHI" },
		{ 'S', "J)\r\n* 2 FETCH (BODY[] {5}\r\nvwxyz" },
		{ 'S', " BODY[1] {3}\r\npq" },
		{ 'S', "r)\r\nt1 OK done\r\n" },
		{ 'C', "t2 NOOP\r\n" },
		{ 'S', "t2 OK\r\n" },
		/* the capture ends with a literal's last byte */
		{ 'S', "* 3 FETCH (BODY[] {4}\r\nlast" },
	};
	static const struct opts rec = { .records_only = true };
	for (int i = 0; i < 2; i++) {
		char *log = RUN(st, i ? &rec : NULL);
		has(log, "CMD t1 FETCH OK");
		has(log, "CMD t2 NOOP OK");
		has(log, "END cmds=2 ");
		has(log, "lit=0/0,4/42 anom=");
		has(log, "LINES 2/9\n");
		if (!i)
			has(log, "S{30}[0123456789abcdef]\n");
		free(log);
	}
}

Test(dissector, client_sync_literal_after_plus)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "A3 APPEND saved-messages (\\Seen) {22}\r\n" },
		{ 'S', "+ Ready for literal data\r\n" },
		{ 'C', "a2 NOOP looks like cmd" },	/* 22 bytes of content */
		{ 'C', "\r\n" },
		{ 'S', "A3 OK APPEND completed\r\n" },
		{ 'C', "A4 NOOP\r\n" },
		{ 'S', "A4 OK done\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "C{22}[a2 NOOP looks li]\n");
	hasnt(log, "CMD a2");
	has(log, "CMD A3 APPEND OK [] APPEND completed mbox=saved-messages user= lit=1/22");
	has(log, "CMD A4 NOOP OK");
	has(log, "END cmds=2 ");
	free(log);
}

Test(dissector, plus_arriving_after_the_literal)
{
	/* the capture saw the client's literal before the server's "+" */
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "A3 APPEND box {5}\r\n" },
		{ 'C', "hello\r\n" },
		{ 'S', "+ go on\r\n" },
		{ 'S', "A3 OK APPEND completed\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "C{5}[hello]\n");
	has(log, "CMD A3 APPEND OK");
	hasnt(log, "continuation_without_command");
	free(log);
}

Test(dissector, server_refuses_sync_literal)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 APPEND nosuch {5000}\r\n" },
		{ 'S', "a1 NO [TRYCREATE] Mailbox doesn't exist\r\n" },
		{ 'C', "a2 NOOP\r\n" },
		{ 'S', "a2 OK done\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "CMD a1 APPEND NO [TRYCREATE] Mailbox doesn't exist mbox=nosuch");
	has(log, "CMD a2 NOOP OK");
	hasnt(log, "C{5000}");
	free(log);
}

Test(dissector, nonsync_literals_and_multiappend)
{
	static const struct step st[] = {
		{ 'S', "* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n" },
		{ 'C', "a LOGIN {3+}\r\nmrc {9+}\r\ntanstaaf1\r\n" },
		{ 'S', "a OK Logged in\r\n" },
		{ 'C', "b APPEND INBOX (\\Seen) {5+}\r\nhello (\\Flagged) ~{6+}\r\nwor\0d!\r\n",
		  sizeof("b APPEND INBOX (\\Seen) {5+}\r\nhello (\\Flagged) ~{6+}\r\nwor\0d!\r\n") - 1 },
		{ 'S', "b OK [APPENDUID 1 2:3] done\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "C{3}[mrc]\n");
	has(log, "C{9}R[]\n");
	hasnt(log, "tanstaaf1");
	has(log, "AUTH LOGIN mrc OK");
	has(log, "CMD b APPEND OK [APPENDUID 1 2:3] done mbox=INBOX user=mrc lit=2/11");
	free(log);
}

Test(dissector, resp_text_ending_in_braces_is_text)
{
	static const struct step st[] = {
		{ 'S', "* OK ready{4}\r\n" },
		{ 'C', "a1 NOOP\r\n" },
		{ 'S', "a1 OK done{4}\r\n" },
		{ 'C', "a2 NOOP\r\n" },
		{ 'S', "* NO warning {3}\r\n+ idle {2}\r\na2 OK x\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "CMD a1 NOOP OK [] done{4}");
	has(log, "CMD a2 NOOP OK");
	hasnt(log, "S{");
	free(log);
}

Test(dissector, quoted_string_with_braces_is_not_a_literal)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 SEARCH SUBJECT \"a\\\" {5}\"\r\n" },
		{ 'S', "* SEARCH 1\r\na1 OK done\r\n" },
		{ 'C', "a2 SELECT \"x {5}\r\n" },	/* unclosed: still quoted */
		{ 'S', "a2 BAD bad quote\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "CMD a1 SEARCH OK");
	has(log, "CMD a2 SELECT BAD");
	hasnt(log, "C{5}");
	free(log);
}

Test(dissector, literal_inside_nested_fetch_list)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "f UID FETCH 1:2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY[1])\r\n" },
		{ 'S', "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {12}\r\nSubject: x\r\n"
		       " BODY[1] {3}\r\nabc)\r\n"
		       "* 2 FETCH (UID 2 BODY[HEADER.FIELDS (SUBJECT)] {0}\r\n BODY[1] NIL)\r\n"
		       "f OK done\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "S{12}[Subject: x\r\n]\n");
	has(log, "S{3}[abc]\n");
	has(log, "S{0}[]\n");
	has(log, "CMD f UID FETCH OK");
	has(log, "lit=0/0,3/15");
	free(log);
}

Test(dissector, literal_size_overflow_is_an_anomaly)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 APPEND x {99999999999999999999999}\r\n" },
		{ 'S', "a1 BAD too big\r\n" },
		{ 'C', "a2 APPEND x {18446744073709551615}\r\n" },
		{ 'S', "a2 BAD too big\r\n" },
		{ 'C', "a3 NOOP\r\n" },
		{ 'S', "a3 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "-- anomaly C 0 literal_size_overflow\n");
	has(log, "CMD a1 APPEND BAD");
	has(log, "CMD a2 APPEND BAD");
	has(log, "CMD a3 NOOP OK");
	free(log);
}

/* ---- pairing ------------------------------------------------------------- */

Test(dissector, pipelined_and_out_of_order_completions)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 NOOP\r\na2 CHECK\r\na1 NOOP\r\n" },
		{ 'S', "a2 OK check\r\na1 OK first\r\na1 OK second\r\n" },
		{ 'S', "zz OK nobody asked\r\n" },
	};
	char *log = RUN(st, NULL);
	const char *c2 = strstr(log, "CMD a2 CHECK OK");
	const char *first = strstr(log, "CMD a1 NOOP OK [] first");
	const char *second = strstr(log, "CMD a1 NOOP OK [] second");
	cr_assert(c2 && first && second && c2 < first && first < second, "%s", log);
	has(log, "-- anomaly S 0 unmatched_completion\n");
	free(log);
}

/* More commands in flight than the session's block holds: the entries
 * move to the heap with their tags, names and mailboxes intact. */
Test(dissector, many_pipelined_commands_keep_their_entries)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "b1 SELECT m1\r\nb2 STATUS m2 (UIDNEXT)\r\nb3 CREATE m3\r\n"
		       "b4 DELETE m4\r\nb5 SUBSCRIBE m5\r\nb6 EXAMINE m6\r\n"
		       "b7 NOOP\r\nb8 CREATE m8\r\nb9 CHECK\r\n" },
		{ 'S', "b9 OK 9\r\nb8 OK 8\r\nb7 OK 7\r\nb6 OK 6\r\nb5 OK 5\r\n"
		       "b4 OK 4\r\nb3 OK 3\r\nb2 OK 2\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "CMD b9 CHECK OK [] 9 mbox= ");
	has(log, "CMD b8 CREATE OK [] 8 mbox=m8 ");
	has(log, "CMD b6 EXAMINE OK [] 6 mbox=m6 ");
	has(log, "CMD b4 DELETE OK [] 4 mbox=m4 ");
	has(log, "CMD b2 STATUS OK [] 2 mbox=m2 ");
	/* b1 never answered: reported at the end, with its mailbox */
	has(log, "CMD b1 SELECT - []  mbox=m1 ");
	has(log, "END cmds=9 ");
	free(log);
}

Test(dissector, bye_without_tagged_reply_and_unanswered_commands)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 LOGOUT\r\n" },
		{ 'S', "* BYE going away\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "CMD a1 LOGOUT - [] ");
	has(log, "logout=1");
	free(log);
}

Test(dissector, preauth_greeting)
{
	static const struct step st[] = {
		{ 'S', "* PREAUTH [CAPABILITY IMAP4rev1] hello mrc\r\n" },
		{ 'C', "a1 SELECT INBOX\r\n" },
		{ 'S', "a1 OK [READ-ONLY] done\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "auth=1");
	hasnt(log, "\nAUTH ");
	free(log);
}

/* ---- SASL, IDLE ---------------------------------------------------------- */

Test(dissector, authenticate_login_two_round_trips)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 AUTHENTICATE LOGIN\r\n" },
		{ 'S', "+ VXNlcm5hbWU6\r\n" },
		{ 'C', "bXJj\r\n" },			/* mrc */
		{ 'S', "+ UGFzc3dvcmQ6\r\n" },
		{ 'C', "c2VjcmV0\r\n" },		/* secret */
		{ 'S', "a1 OK done\r\n" },
		{ 'C', "a2 NOOP\r\n" },
		{ 'S', "a2 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "C: bXJj\n");
	has(log, "C: ********\n");
	hasnt(log, "c2VjcmV0");
	has(log, "AUTH LOGIN mrc OK");
	has(log, "CMD a1 AUTHENTICATE OK [] done mbox= user=mrc");
	has(log, "CMD a2 NOOP OK");
	has(log, "END cmds=2 ");
	free(log);
}

Test(dissector, authenticate_plain_with_and_without_ir)
{
	/* "\0mrc\0secret" */
	static const struct step st[] = {
		{ 'S', "* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS] ready\r\n" },
		{ 'C', "a1 AUTHENTICATE PLAIN AG1yYwBzZWNyZXQ=\r\n" },
		{ 'S', "a1 NO [AUTHENTICATIONFAILED] no\r\n" },
		{ 'C', "a2 AUTHENTICATE PLAIN\r\n" },
		{ 'S', "+ \r\n" },
		{ 'C', "AGFkYQBzZWNyZXQ=\r\n" },	/* \0ada\0secret */
		{ 'S', "a2 OK yes\r\n" },
		{ 'C', "a3 AUTHENTICATE XOAUTH2\r\n" },
		{ 'S', "+\r\n" },			/* bare "+" */
		{ 'C', "*\r\n" },			/* cancelled */
		{ 'S', "a3 BAD cancelled\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "C: a1 AUTHENTICATE PLAIN ********\n");
	hasnt(log, "AG1yYwBzZWNyZXQ");
	has(log, "AUTH PLAIN mrc NO");
	has(log, "AUTH PLAIN ada OK");
	has(log, "AUTH XOAUTH2 - BAD");
	has(log, "C: *\n");
	has(log, "user=ada auth=1");
	free(log);
	/* --show-secrets shows them */
	struct opts o = { .show_secrets = true };
	log = RUN(st, &o);
	has(log, "AG1yYwBzZWNyZXQ=");
	free(log);
}

Test(dissector, idle_with_updates_and_done)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 IDLE\r\n" },
		{ 'S', "+ idling\r\n" },
		{ 'S', "* 4 EXISTS\r\n* 1 RECENT\r\n" },
		{ 'C', "DONE\r\n" },
		{ 'S', "a1 OK IDLE terminated\r\n" },
		{ 'C', "a2 NOOP\r\n" },
		{ 'S', "a2 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "C: DONE\n");
	has(log, "CMD a1 IDLE OK [] IDLE terminated");
	has(log, "END cmds=2 ");
	hasnt(log, "anomaly");
	free(log);
}

/* ---- STARTTLS, COMPRESS --------------------------------------------------- */

Test(dissector, starttls_turns_opaque_and_counts)
{
	static const struct step st[] = {
		{ 'S', "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n" },
		{ 'C', "a1 STARTTLS\r\n" },
		{ 'S', "a1 OK Begin TLS negotiation now\r\n" },
		{ 'C', "\x16\x03\x01\x00\x05hello", 10 },
		{ 'S', "\x16\x03\x03\x00\x02hi", 7 },
	};
	char *log = RUN(st, NULL);
	has(log, "-- starttls S 0");
	has(log, "tls=1");
	hasnt(log, "anomaly");
	cr_assert_eq(last_end.half[0][IMAP_HC_OPAQUE_BYTES], 10);
	cr_assert_eq(last_end.half[1][IMAP_HC_OPAQUE_BYTES], 7);
	free(log);
}

Test(dissector, starttls_command_injection)
{
	static const struct step st[] = {
		{ 'S', "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n" },
		{ 'C', "a1 STARTTLS\r\na2 LOGIN mrc secret\r\n" },
		{ 'S', "a1 OK Begin TLS\r\n* OK injected\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "-- anomaly C 0 starttls_injection");
	has(log, "-- anomaly S 0 starttls_injection");
	free(log);
}

/* Deflates s with a raw stream, flushed (as a COMPRESS peer does). */
static size_t deflate_raw(z_stream *z, const char *s, uint8_t *out, size_t cap)
{
	z->next_in = (Bytef *)(uintptr_t)s;
	z->avail_in = (uInt)strlen(s);
	z->next_out = out;
	z->avail_out = (uInt)cap;
	cr_assert_eq(deflate(z, Z_SYNC_FLUSH), Z_OK);
	return cap - z->avail_out;
}

Test(dissector, compress_deflate_is_inflated)
{
	z_stream zc = { 0 }, zs = { 0 };
	cr_assert_eq(deflateInit2(&zc, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	cr_assert_eq(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	static uint8_t c1[256], s0[256], s1[256], c2[256], s2[256];
	size_t ns0 = deflate_raw(&zs, "* 4 EXISTS\r\n", s0, sizeof(s0));
	size_t nc1 = deflate_raw(&zc, "a2 SELECT INBOX\r\n", c1, sizeof(c1));
	size_t ns1 = deflate_raw(&zs, "* 3 EXISTS\r\na2 OK [READ-WRITE] selected\r\n", s1, sizeof(s1));
	size_t nc2 = deflate_raw(&zc, "a3 FETCH 1 BODY[]\r\n", c2, sizeof(c2));
	size_t ns2 = deflate_raw(&zs, "* 1 FETCH (BODY[] {5}\r\nhello)\r\na3 OK done\r\n", s2, sizeof(s2));
	deflateEnd(&zc);
	deflateEnd(&zs);
	/* the server's OK and its first compressed bytes in one segment */
	static char okz[512];
	size_t okl = strlen("a1 OK DEFLATE active\r\n");
	memcpy(okz, "a1 OK DEFLATE active\r\n", okl);
	memcpy(okz + okl, s0, ns0);
	const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 COMPRESS DEFLATE\r\n" },
		{ 'S', okz, okl + ns0 },
		{ 'C', (const char *)c1, nc1 },
		{ 'S', (const char *)s1, ns1 },
		{ 'C', (const char *)c2, nc2 },
		{ 'S', (const char *)s2, ns2 },
	};
	char *log = RUN(st, NULL);
	has(log, "S: * 4 EXISTS\n");
	has(log, "-- compress S 0");
	has(log, "C: a2 SELECT INBOX\n");
	has(log, "CMD a2 SELECT OK [READ-WRITE] selected");
	has(log, "S{5}[hello]\n");
	has(log, "CMD a3 FETCH OK");
	has(log, "z=1");
	hasnt(log, "anomaly");
	free(log);
}

/* ---- limits and hostile input -------------------------------------------- */

Test(dissector, overlong_line_is_cut_and_literal_still_followed)
{
	static char big[9000];
	memset(big, 'x', sizeof(big));
	memcpy(big, "a1 APPEND ", 10);
	size_t n = sizeof(big) - 40;
	memcpy(big + n, " {3+}\r\nabc\r\n", 12);
	struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', big, n + 12 },
		{ 'S', "a1 OK stored\r\n" },
	};
	struct opts o = { .max_line = 1024 };
	char *log = RUN(st, &o);
	has(log, "-- anomaly C 0 line_too_long\n");
	has(log, "C{3}[abc]\n");
	has(log, "CMD a1 APPEND OK");
	free(log);
}

Test(dissector, nul_bytes_and_long_tags)
{
	static char tag[300];
	memset(tag, 'T', sizeof(tag));
	static char line[400];
	snprintf(line, sizeof(line), "%.*s NOOP\r\n", (int)sizeof(tag), tag);
	struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 NO\0OP\r\n", 10 },
		{ 'S', "a1 BAD what\r\n" },
		{ 'C', line },
	};
	char *log = RUN(st, NULL);
	has(log, "-- anomaly C 0 nul_in_line\n");
	has(log, "-- anomaly C 0 tag_too_long\n");
	free(log);
}

/* Command names are upper-cased and end at a NUL byte, as C strings do;
 * a "uid" cut that way still takes the next word; a name past 31 bytes
 * is cut there, and a UID command's second word is taken only if it
 * fits whole. */
Test(dissector, command_names_upper_cased_up_to_a_nul)
{
	struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 nO\0op\r\n", 10 },
		{ 'C', "a2 uid\0x fEtch 1 FLAGS\r\n", 24 },
		{ 'C', "a3 Uid\r\n" },
		{ 'C', "a4 \0abc\r\n", 9 },
		{ 'C', "a5 uid x\0y\r\n", 12 },
		{ 'C', "a6 abcdefghijklmnopqrstuvwxyz0123456789 x\r\n" },
		{ 'C', "a7 uid abcdefghijklmnopqrstuvwxyz01\r\n" },
		{ 'C', "a8 uid abcdefghijklmnopqrstuvwxyz0\r\n" },
		{ 'S', "a1 OK\r\na2 OK\r\na3 OK\r\na4 OK\r\na5 OK\r\na6 OK\r\n"
		       "a7 OK\r\na8 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "CMD a1 NO OK ");
	has(log, "CMD a2 UID FETCH OK ");
	has(log, "CMD a3 UID OK ");
	cr_assert(strstr(last_names, "_EMPTY=1;"), "%s", last_names);
	has(log, "CMD a5 UID X OK ");
	has(log, "CMD a6 ABCDEFGHIJKLMNOPQRSTUVWXYZ01234 OK ");
	has(log, "CMD a7 UID OK ");
	has(log, "CMD a8 UID ABCDEFGHIJKLMNOPQRSTUVWXYZ0 OK ");
	free(log);
}

Test(dissector, continuation_without_command)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n+ surprise\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "continuation_without_command");
	free(log);
}

Test(dissector, command_before_greeting)
{
	static const struct step st[] = {
		{ 'C', "a1 NOOP\r\n" },
		{ 'S', "* OK ready\r\na1 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "command_before_greeting");
	has(log, "CMD a1 NOOP OK");
	free(log);
}

Test(dissector, deep_nesting_is_flagged_not_stored)
{
	static char deep[100020];
	size_t o = 0;
	o += (size_t)sprintf(deep, "a1 SEARCH ");
	for (int i = 0; i < 50000; i++)
		deep[o++] = '(';
	for (int i = 0; i < 50000; i++)
		deep[o++] = ')';
	memcpy(deep + o, "\r\n", 3);
	struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', deep },
		{ 'S', "a1 BAD too deep\r\n" },
	};
	struct opts op = { .max_line = 200000 };
	char *log = run_chunked(st, 3, &op, 0);
	has(log, "nesting_too_deep");
	has(log, "CMD a1 SEARCH BAD");
	free(log);
}

/* ---- gaps and midstream --------------------------------------------------- */

Test(dissector, gap_inside_literal_keeps_sync)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 FETCH 1 BODY[]\r\n" },
		{ 'S', "* 1 FETCH (BODY[] {20}\r\n0123" },
		{ 'G', "S", 10 },
		{ 'S', "456789)\r\na1 OK done\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "-- gap S 10");
	has(log, "S{20}[0123]\n");
	has(log, "CMD a1 FETCH OK");
	hasnt(log, "anomaly");
	free(log);
}

Test(dissector, gap_outside_literal_resyncs)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 NOOP\r\na2 SEL" },
		{ 'G', "C", 100 },
		{ 'C', "garbage line\r\nmore junk (\r\na3 NOOP\r\n" },
		{ 'S', "a1 OK\r\na3 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "-- gap C 100");
	has(log, "-- resync C 33");
	has(log, "CMD a1 NOOP OK");
	has(log, "CMD a3 NOOP OK");
	hasnt(log, "garbage");
	free(log);
}

Test(dissector, midstream_hunts_for_a_line)
{
	static const struct step st[] = {
		{ 'S', "rest of a literal\r\n)\r\n* 5 EXISTS\r\n" },
		{ 'C', "ge body\r\nb7 NOOP\r\n" },
		{ 'S', "b7 OK done\r\n" },
	};
	struct opts o = { .midstream = true };
	char *log = RUN(st, &o);
	hasnt(log, "rest of");
	has(log, "S: * 5 EXISTS\n");
	has(log, "CMD b7 NOOP OK");
	free(log);
}

/* ---- scanner and SASL pieces ---------------------------------------------- */

Test(scan, literal_announcements)
{
	struct imap_lit l;
	size_t off;
	const char *s = "a APPEND x ~{12+}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_FOUND);
	cr_assert(l.binary && l.nonsync && l.size == 12 && off == 11);
	s = "a LOGIN \"{3}\"";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_NONE);
	s = "a {}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_NONE);
	s = "{9223372036854775807}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_FOUND);
	s = "{9223372036854775808}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_OVERFLOW);
	/* 18 digits are read unchecked, the ones after with the check */
	s = "{999999999999999999}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_FOUND);
	cr_assert(l.size == UINT64_C(999999999999999999));
	s = "{00000000000000000000000000000042}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_FOUND);
	cr_assert(l.size == 42);
	s = "{99999999999999999999}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_OVERFLOW);
	s = "{0000000000000000009223372036854775808}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_OVERFLOW);
	/* the shortest: "{n}" is a literal, shorter text or another last
	 * byte is not */
	s = "{0}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, 3, &l, &off), IMAP_LIT_FOUND);
	cr_assert(l.size == 0 && !l.nonsync && !l.binary && off == 0);
	cr_assert_eq(imap_scan_literal((const uint8_t *)s + 1, 2, &l, &off), IMAP_LIT_NONE);
	cr_assert_eq(imap_scan_literal((const uint8_t *)s + 2, 1, &l, &off), IMAP_LIT_NONE);
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, 0, &l, &off), IMAP_LIT_NONE);
	s = "a {5} ";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_NONE);
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s) - 1, &l, &off), IMAP_LIT_FOUND);
	cr_assert(l.size == 5 && off == 2);
	/* the size is read on the way back to "{" for up to 18 digits, from
	 * "{" for more: every digit counts, in its place */
	s = "{1234567890123456789}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_FOUND);
	cr_assert(l.size == UINT64_C(1234567890123456789));
	s = "x {123456789012345678+}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_FOUND);
	cr_assert(l.size == UINT64_C(123456789012345678) && l.nonsync && off == 2);
	s = "x {9081726354}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_FOUND);
	cr_assert(l.size == UINT64_C(9081726354));
	/* digits up to the line's start, with no "{" before them */
	s = "1234567890123456789}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_NONE);
	s = "12}";
	cr_assert_eq(imap_scan_literal((const uint8_t *)s, strlen(s), &l, &off), IMAP_LIT_NONE);
}

Test(scan, tokens)
{
	const char *s = "t1 UID FETCH 1:* (BODY[HEADER.FIELDS (A B)] FLAGS) \"q\\\"x\"";
	struct imap_tok t[8];
	struct imap_scan_state st = { 0 };
	size_t n = imap_scan_tokens((const uint8_t *)s, strlen(s), &st, t, 8);
	cr_assert_eq(n, 6);
	cr_assert_eq(t[4].type, IMAP_TOK_LIST);
	char v[32];
	imap_tok_value(&t[5], v, sizeof(v));
	cr_assert_str_eq(v, "q\"x");
	cr_assert_eq(st.depth, 0);
}

/* The scanning loops test four bytes a round: a token must end at the
 * same byte whatever its length, and a line cut anywhere must end its
 * last token at the cut. */
Test(scan, tokens_end_at_every_offset)
{
	for (size_t k = 0; k < 10; k++) {
		char s[128];
		char x[16];
		memset(x, 'x', k);
		x[k] = '\0';
		/* atom, nested list, quoted string, atom with a bracketed
		 * space */
		int w = snprintf(s, sizeof(s), "A%s (%s(%s)) \"%s\" B[%s ]%s",
				 x, x, x, x, x, x);
		cr_assert(w > 0 && (size_t)w < sizeof(s));
		struct imap_tok t[8];
		struct imap_scan_state st = { 0 };
		size_t n = imap_scan_tokens((const uint8_t *)s, (size_t)w, &st, t, 8);
		cr_assert_eq(n, 4, "k=%zu", k);
		cr_assert(t[0].type == IMAP_TOK_ATOM && t[0].len == k + 1);
		cr_assert(t[1].type == IMAP_TOK_LIST && t[1].len == 2 * k + 4);
		cr_assert(t[2].type == IMAP_TOK_QUOTED && t[2].len == k);
		cr_assert(t[3].type == IMAP_TOK_ATOM && t[3].len == 2 * k + 4);
		cr_assert(st.depth == 0 && st.max_depth == 2 && !st.bad_quote);
		/* cut inside the first atom: it ends at the cut */
		for (size_t cut = 1; cut <= k + 1; cut++) {
			struct imap_scan_state c = { 0 };
			cr_assert_eq(imap_scan_tokens((const uint8_t *)s, cut, &c, t, 8), 1);
			cr_assert_eq(t[0].len, cut, "k=%zu cut=%zu", k, cut);
		}
		/* cut inside the list and the quoted string: left open */
		struct imap_scan_state c = { 0 };
		n = imap_scan_tokens((const uint8_t *)s, k + 4 + k, &c, t, 8);
		cr_assert(n == 2 && t[1].len == k + 2 && c.depth == 2);
		c = (struct imap_scan_state){ 0 };
		size_t q = (size_t)(t[1].p - (const uint8_t *)s) + 2 * k + 5;
		n = imap_scan_tokens((const uint8_t *)s, q + 1 + k, &c, t, 8);
		cr_assert(n == 3 && t[2].len == k && c.bad_quote, "k=%zu", k);
	}
}

Test(sasl, identities)
{
	char u[64];
	const char xo[] = "user=someuser@example.com\001auth=Bearer ya29\001\001";
	cr_assert(sasl_identity(SASL_XOAUTH2, 0, (const uint8_t *)xo, sizeof(xo) - 1, u, sizeof(u)));
	cr_assert_str_eq(u, "someuser@example.com");
	const char ob[] = "n,a=user@example.com,\001host=server.example.com\001\001";
	cr_assert(sasl_identity(SASL_OAUTHBEARER, 0, (const uint8_t *)ob, sizeof(ob) - 1, u, sizeof(u)));
	cr_assert_str_eq(u, "user@example.com");
	const char sc[] = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";	/* RFC 5802 */
	cr_assert(sasl_identity(SASL_SCRAM, 0, (const uint8_t *)sc, sizeof(sc) - 1, u, sizeof(u)));
	cr_assert_str_eq(u, "user");
	const char cm[] = "tim b913a602c7eda7a495b4e6e7334d3890";	/* RFC 2195 */
	cr_assert(sasl_identity(SASL_CRAM_MD5, 0, (const uint8_t *)cm, sizeof(cm) - 1, u, sizeof(u)));
	cr_assert_str_eq(u, "tim");
	uint8_t d[32];
	const char b64[] = "dGVzdA==";
	cr_assert_eq(sasl_b64_decode((const uint8_t *)b64, 8, d, sizeof(d)), 4);
	cr_assert_eq(memcmp(d, "test", 4), 0);
}

/* Which commands name a mailbox, and in which argument: every command the
 * dissector knows by name, in upper and lower case, and names that are
 * not commands it knows but look like them (same length, same first or
 * last letter, a prefix, a longer word). */
Test(dissector, commands_known_by_name_and_their_mailbox_argument)
{
	static const struct {
		const char *name;
		const char *mbox;	/* expected mbox=, from args "M0 M1" */
	} cases[] = {
		{ "SELECT", "M0" }, { "EXAMINE", "M0" }, { "CREATE", "M0" },
		{ "DELETE", "M0" }, { "RENAME", "M0" }, { "SUBSCRIBE", "M0" },
		{ "UNSUBSCRIBE", "M0" }, { "STATUS", "M0" }, { "APPEND", "M0" },
		{ "COPY", "M1" }, { "MOVE", "M1" }, { "UID COPY", "M1" },
		{ "UID MOVE", "M1" }, { "GETACL", "M0" }, { "SETACL", "M0" },
		{ "DELETEACL", "M0" }, { "LISTRIGHTS", "M0" },
		{ "MYRIGHTS", "M0" }, { "GETQUOTAROOT", "M0" },
		{ "select", "M0" }, { "uid move", "M1" }, { "Examine", "M0" },
		{ "STORE", "" }, { "UID STORE", "" }, { "FETCH", "" },
		{ "UID FETCH", "" }, { "CLOSE", "" }, { "UNSELECT", "" },
		{ "ENABLE", "" }, { "NOOP", "" }, { "SEARCH", "" },
		{ "LIST", "" }, { "LSUB", "" }, { "EXPUNGE", "" },
		{ "SELECTX", "" }, { "SELEC", "" }, { "SALECT", "" },
		{ "DELETEAC", "" }, { "GETQUOTA", "" }, { "UID SELECT", "" },
		{ "COPYX", "" }, { "XCOPY", "" }, { "C", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[64], want[96];
		snprintf(cmd, sizeof(cmd), "t1 %s M0 M1\r\n", cases[i].name);
		const struct step st[] = {
			{ 'S', "* OK ready\r\n" },
			{ 'C', cmd },
			{ 'S', "t1 OK done\r\n" },
		};
		char *log = RUN(st, NULL);
		char upname[32];
		size_t k;
		for (k = 0; cases[i].name[k] && k + 1 < sizeof(upname); k++)
			upname[k] = (char)toupper((unsigned char)cases[i].name[k]);
		upname[k] = '\0';
		snprintf(want, sizeof(want), "CMD t1 %s OK [] done mbox=%s user=",
			 upname, cases[i].mbox);
		cr_assert(strstr(log, want), "%s: want \"%s\" in\n%s",
			  cases[i].name, want, log);
		free(log);
	}
}

/* Every command name the dissector knows is found by its hashed table in
 * any case (imap_role_hint() takes a line naming one for a command), and
 * names that differ from one in a byte, in length, or in bit 0x80 only
 * are not. */
Test(dissector, every_known_command_name_is_found)
{
	static const char *const known[] = {
		"APPEND", "AUTHENTICATE", "CANCELUPDATE", "CAPABILITY", "CHECK",
		"CLOSE", "COMPRESS", "COPY", "CREATE", "DELETE", "DELETEACL",
		"DONE", "ENABLE", "ESEARCH", "EXAMINE", "EXPUNGE", "FETCH",
		"GETACL", "GETJMAPACCESS", "GETMETADATA", "GETQUOTA",
		"GETQUOTAROOT", "ID", "IDLE", "LIST", "LISTRIGHTS", "LOGIN",
		"LOGOUT", "LSUB", "MOVE", "MYRIGHTS", "NAMESPACE", "NOOP",
		"NOTIFY", "RENAME", "REPLACE", "SEARCH", "SELECT", "SETACL",
		"SETMETADATA", "SETQUOTA", "SORT", "STARTTLS", "STATUS", "STORE",
		"SUBSCRIBE", "THREAD", "UID", "UNAUTHENTICATE", "UNSELECT",
		"UNSUBSCRIBE",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		char line[64], name[32];
		size_t n = strlen(known[i]);
		memcpy(name, known[i], n + 1);
		snprintf(line, sizeof(line), "a1 %s\r\n", name);
		cr_assert_eq(imap_role_hint((const uint8_t *)line, strlen(line)), -1,
			     "%s", line);
		for (size_t k = 0; k < n; k++)		/* lower case */
			name[k] = (char)tolower((unsigned char)name[k]);
		snprintf(line, sizeof(line), "a1 %s x\r\n", name);
		cr_assert_eq(imap_role_hint((const uint8_t *)line, strlen(line)), -1,
			     "%s", line);
		name[0] = (char)toupper((unsigned char)name[0]);	/* mixed */
		snprintf(line, sizeof(line), "a1 %s\r\n", name);
		cr_assert_eq(imap_role_hint((const uint8_t *)line, strlen(line)), -1,
			     "%s", line);
		/* one letter changed, at each place: no longer a name */
		for (size_t k = 0; k < n; k++) {
			memcpy(name, known[i], n + 1);
			name[k] = name[k] == 'Q' ? 'Z' : 'Q';
			snprintf(line, sizeof(line), "a1 %s\r\n", name);
			cr_assert_eq(imap_role_hint((const uint8_t *)line,
						    strlen(line)), 0, "%s", line);
		}
		/* one letter more, one less */
		snprintf(line, sizeof(line), "a1 %sQ\r\n", known[i]);
		cr_assert_eq(imap_role_hint((const uint8_t *)line, strlen(line)), 0,
			     "%s", line);
		snprintf(line, sizeof(line), "a1 %.*s\r\n", (int)n - 1, known[i]);
		cr_assert_eq(imap_role_hint((const uint8_t *)line, strlen(line)), 0,
			     "%s", line);
	}
}

/* Names are matched in place in any case; the few that must be copied
 * first (cut at a NUL byte, a UID command's second word) but then are
 * names it knows count and act as those names do, and a name it does
 * not know counts as one name in any case. A byte that is a letter but
 * for bit 0x80 is not that letter. Names sort by unsigned bytes. */
Test(dissector, command_names_matched_in_place_and_when_copied)
{
	struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 noop\r\n" },
		{ 'C', "a2 NoOp\0x\r\n", 11 },
		{ 'C', "a3 uid fetch 1 FLAGS\r\n" },
		{ 'S', "a1 OK\r\na2 OK\r\na3 OK\r\n" },
		{ 'C', "a4 UID fetch\0x 2 FLAGS\r\n", 24 },
		{ 'S', "* 2 FETCH (FLAGS ())\r\n" },
		{ 'C', "a5 uid noop\r\n" },
		{ 'C', "a6 UID NOOP\r\n" },
		{ 'C', "a7 N\xcfOP\r\n" },
		{ 'C', "a8 uid copy 1 Trash\r\n" },
		{ 'C', "a9 uId\0 Copy 1 Junk\r\n", 21 },
		{ 'C', "b1 \xc1x\r\n" },
		{ 'S', "a4 OK\r\na5 OK\r\na6 OK\r\na7 OK\r\na8 OK\r\n"
		       "a9 OK\r\nb1 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "CMD a1 NOOP OK ");
	has(log, "CMD a2 NOOP OK ");
	has(log, "CMD a3 UID FETCH OK ");
	has(log, "CMD a4 UID FETCH OK ");
	has(log, "CMD a5 UID NOOP OK ");
	has(log, "CMD a7 N\xcfOP OK ");
	has(log, "CMD a8 UID COPY OK []  mbox=Trash ");
	has(log, "CMD a9 UID COPY OK []  mbox=Junk ");
	/* sorted by unsigned bytes: 0xcf after 'O', 0xc1 after 'U' */
	cr_assert_str_eq(last_names, "NOOP=2;N\xcfOP=1;UID COPY=2;UID FETCH=2;"
			 "UID NOOP=2;\xc1X=1;", "%s", last_names);
	cr_assert_eq(last_end.msgs_fetched, 1);	/* a4 is a FETCH */
	free(log);
}

/* A completion's code and text are whole up to 255 bytes (copied on the
 * stack) and past it (allocated). */
Test(dissector, completion_text_and_code_whole_at_any_length)
{
	static char text[2][260], code[2][260], resp[2][1100];
	for (int i = 0; i < 2; i++) {
		size_t n = i ? 256 : 255;
		memset(text[i], 't', n);
		text[i][n] = '\0';
		text[i][0] = (char)('A' + i);
		memset(code[i], 'c', n);
		code[i][n] = '\0';
		code[i][0] = (char)('K' + i);
		snprintf(resp[i], sizeof(resp[i]), "a%d OK [%s] %s\r\n", i + 1,
			 code[i], text[i]);
	}
	struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 NOOP\r\na2 NOOP\r\na3 NOOP\r\n" },
		{ 'S', resp[0] },
		{ 'S', resp[1] },
		{ 'S', "a3 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	for (int i = 0; i < 2; i++) {
		char want[1100];
		snprintf(want, sizeof(want), "CMD a%d NOOP OK [%s] %s mbox=", i + 1,
			 code[i], text[i]);
		has(log, want);
	}
	has(log, "CMD a3 NOOP OK []  mbox=");
	free(log);
}

/* Without line and literal events (a session with no transcript), the
 * records are the same: arguments sent as literals are still read. */
Test(dissector, records_the_same_without_line_and_literal_events)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 LOGIN {4}\r\n" },
		{ 'S', "+ go\r\n" },
		{ 'C', "fred {6+}\r\nsecret\r\n" },
		{ 'S', "a1 OK [CAPABILITY IMAP4rev1] in\r\n" },
		{ 'C', "a2 RENAME {3+}\r\nOld {3+}\r\nNew\r\n" },
		{ 'S', "a2 OK renamed\r\n" },
		{ 'C', "a3 FETCH 1 BODY[]\r\n" },
		{ 'S', "* 1 FETCH (BODY[] {11}\r\nhello world)\r\na3 OK done\r\n" },
		{ 'C', "a4 APPEND Drafts {5+}\r\nabcde\r\n" },
		{ 'S', "a4 OK appended\r\n" },
		/* redacted lines: counted the same without a line event */
		{ 'C', "a5 LOGIN joe pw\r\n" },
		{ 'S', "a5 NO bad\r\n" },
		{ 'C', "a6 AUTHENTICATE PLAIN\r\n" },
		{ 'S', "+ \r\n" },
		{ 'C', "AGpvZQBwdw==\r\n" },
		{ 'S', "a6 OK\r\n" },
	};
	struct opts o = { .records_only = true };
	char *full = RUN(st, NULL), *recs = RUN(st, &o);
	/* the records: the log's CMD, AUTH and END lines */
	char want[4096] = "", got[4096] = "";
	for (int k = 0; k < 2; k++) {
		char *log = strdup(k ? recs : full), *save = NULL;
		char *out = k ? got : want;
		for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (!strncmp(l, "CMD ", 4) || !strncmp(l, "AUTH ", 5) ||
			    !strncmp(l, "END ", 4) || !strncmp(l, "LINES ", 6)) {
				strncat(out, l, 4095 - strlen(out));
				strncat(out, "\n", 4095 - strlen(out));
			}
		free(log);
	}
	has(want, "AUTH LOGIN fred OK");
	has(want, "CMD a2 RENAME OK [] renamed mbox=Old");
	has(want, "CMD a4 APPEND OK [] appended mbox=Drafts");
	has(want, "AUTH PLAIN joe OK");
	has(want, "LINES 12/11\n");
	hasnt(recs, "C: ");
	cr_assert_str_eq(got, want);
	free(full);
	free(recs);
}

/* ---- session state, ID, mailbox names, message counts ------------------- */

Test(dissector, id_state_mailboxes_and_counts)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 ID (\"name\" \"Thunderbird\" \"version\" \"115.0\" \"os\" NIL)\r\n" },
		{ 'S', "* ID (\"NAME\" \"Dovecot\" \"x\\\"y\" \"1\")\r\na1 OK ID completed\r\n" },
		{ 'C', "a2 LOGIN mrc secret\r\n" },
		{ 'S', "a2 OK done\r\n" },
		{ 'C', "a3 SELECT \"Entw&APw-rfe\"\r\n" },
		{ 'S', "* 3 EXISTS\r\na3 OK [READ-ONLY] done\r\n" },
		{ 'C', "a4 STORE 1:2 +FLAGS (\\Deleted)\r\n" },
		{ 'S', "* 1 FETCH (FLAGS (\\Deleted))\r\n* 2 FETCH (FLAGS (\\Deleted))\r\na4 OK\r\n" },
		{ 'C', "a5 EXPUNGE\r\n" },
		{ 'S', "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\na5 OK\r\n" },
		{ 'C', "a6 APPEND &ZeVnLIqe- {1+}\r\nx {2+}\r\nyz\r\n" },
		{ 'S', "a6 OK\r\n" },
		{ 'C', "a7 UID FETCH 1 BODY[]\r\n" },
		{ 'S', "* 1 FETCH (UID 9 BODY[] {1}\r\nq)\r\na7 OK\r\n" },
		{ 'C', "a8 ENABLE UTF8=ACCEPT\r\n" },
		{ 'S', "* ENABLED UTF8=ACCEPT\r\na8 OK\r\n" },
		{ 'C', "a9 CREATE \"Entw&APw-rfe\"\r\n" },
		{ 'S', "a9 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "CMD a3 SELECT OK [READ-ONLY] done mbox=Entw\xc3\xbcrfe");
	has(log, "CMD a6 APPEND OK [] ");
	has(log, "mbox=\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	/* after UTF8=ACCEPT, names are taken as sent */
	has(log, "mbox=Entw&APw-rfe");
	cr_assert_str_eq(last_idc, "name=Thunderbird;version=115.0;os=NIL;");
	cr_assert_str_eq(last_ids, "name=Dovecot;x\"y=1;");
	cr_assert_str_eq(last_state, "selected");
	cr_assert(last_end.read_only);
	cr_assert(last_end.utf8_accept);
	cr_assert_eq(last_end.msgs_deleted, 2);
	cr_assert_eq(last_end.msgs_expunged, 2);
	cr_assert_eq(last_end.msgs_appended, 2);
	cr_assert_eq(last_end.msgs_fetched, 1);
	cr_assert_eq(last_end.n_mailboxes, 3);
	free(log);
}

/* A STORE counts the messages it answers for as deleted when it adds
 * flags naming \Deleted anywhere, in any case (as a substring: the
 * count has always matched it so); not when it removes or sets flags or
 * names other ones. */
Test(dissector, store_deleted_in_any_place_and_case)
{
	struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 STORE 1 +FLAGS (\\Seen \\dELETED)\r\n" },
		{ 'S', "* 1 FETCH (FLAGS (\\Seen \\Deleted))\r\na1 OK\r\n" },
		{ 'C', "a2 STORE 2 +FLAGS.SILENT (\\Seen \\\\Deletedness)\r\n" },
		{ 'S', "* 2 FETCH (FLAGS (\\Seen))\r\na2 OK\r\n" },
		{ 'C', "a3 STORE 3 -FLAGS (\\Deleted)\r\n" },
		{ 'S', "* 3 FETCH (FLAGS ())\r\na3 OK\r\n" },
		{ 'C', "a4 STORE 4 FLAGS (\\Deleted)\r\n" },
		{ 'S', "* 4 FETCH (FLAGS (\\Deleted))\r\na4 OK\r\n" },
		{ 'C', "a5 STORE 5 +FLAGS (\\Seen Deleted \\Delete \\\\)\r\n" },
		{ 'S', "* 5 FETCH (FLAGS (\\Seen))\r\na5 OK\r\n" },
		{ 'C', "a6 UID STORE 6 +FLAGS \\Deleted\r\n" },
		{ 'S', "* 6 FETCH (UID 6 FLAGS (\\Deleted))\r\na6 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	/* a1, a2 and a6 */
	cr_assert_eq(last_end.msgs_deleted, 3);
	free(log);
}

/* The greeting is kept whole however long; the capabilities as last
 * announced, a shorter list replacing a longer one, cut at 1024 bytes. */
Test(dissector, greeting_and_capabilities_of_any_length)
{
	static char greet[700], caps[1400], longcaps[1400];
	char want[1100];
	snprintf(greet, sizeof(greet), "* OK [CAPABILITY IMAP4rev1 STARTTLS] %0600d\r\n", 0);
	snprintf(longcaps, sizeof(longcaps), "* CAPABILITY IMAP4rev1 %01150d\r\n", 7);
	snprintf(caps, sizeof(caps), "a1 OK [CAPABILITY IMAP4rev1 IDLE] done\r\n");
	struct step st[] = {
		{ 'S', greet, 0 },
		{ 'C', "a0 CAPABILITY\r\n", 0 },
		{ 'S', longcaps, 0 },
		{ 'S', "a0 OK\r\n", 0 },
		{ 'C', "a1 NOOP\r\n", 0 },
		{ 'S', caps, 0 },
	};
	char *log = RUN(st, NULL);
	snprintf(want, sizeof(want), "GREETING %.635s\n", greet + 2);
	has(log, want);
	has(log, "CAPS IMAP4rev1 IDLE\n");
	free(log);
	/* the long list alone: its first 1024 bytes */
	struct step st2[] = { st[0], st[1], st[2], st[3] };
	log = RUN(st2, NULL);
	snprintf(want, sizeof(want), "CAPS %.1024s\n", longcaps + 13);
	has(log, want);
	free(log);
	/* a short greeting */
	struct step st3[] = { { 'S', "* OK hi\r\n", 0 }, st[1] };
	log = RUN(st3, NULL);
	has(log, "GREETING OK hi\nCAPS -\n");
	free(log);
}

/* A server line's first word ends at its first space: a line without
 * one, or starting with one, is no completion, nor is "*" alone; a
 * status word at the very end of the line counts, and only one space
 * goes before the text. */
Test(dissector, server_words_end_at_the_first_space)
{
	struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 NOOP\r\na2 NOOP\r\na3 NOOP\r\n" },
		{ 'S', "a1\r\n a1 OK lead\r\n*\r\n* 3\r\n* 4 \r\n* BYE\r\n" },
		{ 'S', "a1 OK\r\na2  OK two spaces\r\na3 NO  x\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "-- anomaly S 0 malformed_response");
	has(log, "CMD a1 NOOP OK []  ");
	has(log, "CMD a3 NOOP NO []  x ");
	has(log, "CMD a2 NOOP - [] ");
	cr_assert(last_end.logout);
	/* "a1", " a1 OK lead", "*", "a2  OK ...": four malformed lines */
	const char *a = log;
	int n = 0;
	while ((a = strstr(a, "malformed_response")) != NULL) {
		n++;
		a++;
	}
	cr_assert_eq(n, 4, "%s", log);
	free(log);
}

/* The session's user is the last one tried, and its mailbox the last one
 * selected with OK; each command's record keeps its own. */
Test(dissector, session_user_and_mailbox_follow_the_last_command)
{
	struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 LOGIN ann pw1\r\n" },
		{ 'S', "a1 NO bad\r\n" },
		{ 'C', "a2 LOGIN bob pw2\r\n" },
		{ 'S', "a2 OK in\r\n" },
		{ 'C', "a3 SELECT Alpha\r\n" },
		{ 'S', "a3 OK [READ-WRITE] sel\r\n" },
		{ 'C', "a4 FETCH 1 FLAGS\r\n" },
		{ 'S', "a4 OK f\r\n" },
		{ 'C', "a5 SELECT Beta\r\na6 EXAMINE Gamma\r\n" },
		{ 'S', "a5 NO none\r\na6 OK [READ-ONLY] ex\r\n" },
		{ 'C', "a7 LOGIN cid pw3\r\n" },
		{ 'S', "a7 NO again\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "AUTH LOGIN ann NO\n");
	has(log, "AUTH LOGIN bob OK\n");
	has(log, "CMD a3 SELECT OK [READ-WRITE] sel mbox=Alpha user=bob ");
	has(log, "CMD a4 FETCH OK [] f mbox= user=bob ");
	has(log, "CMD a5 SELECT NO [] none mbox=Beta user=bob ");
	has(log, "CMD a6 EXAMINE OK [READ-ONLY] ex mbox=Gamma user=bob ");
	has(log, "CMD a7 LOGIN NO [] again mbox= user=cid ");
	has(log, "END cmds=7 user=cid auth=1 ");
	has(log, "MAILBOX Gamma\n");
	free(log);
	/* a failed SELECT leaves none selected */
	struct step st2[] = { st[0], st[1], st[2], st[3], st[4], st[5], st[6],
			      { 'C', "a5 SELECT Beta\r\n" },
			      { 'S', "a5 NO none\r\n" } };
	log = RUN(st2, NULL);
	has(log, "MAILBOX -\n");
	free(log);
}

/* A completion's status is OK, NO or BAD in any case, reported in upper
 * case; another word leaves the command pending. */
Test(dissector, completion_status_in_any_case)
{
	struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 NOOP\r\na2 NOOP\r\na3 NOOP\r\na4 NOOP\r\n" },
		{ 'S', "a1 ok done\r\na2 No x\r\na3 bAd y\r\na4 OKAY z\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "CMD a1 NOOP OK [] done ");
	has(log, "CMD a2 NOOP NO [] x ");
	has(log, "CMD a3 NOOP BAD [] y ");
	has(log, "-- anomaly S 0 malformed_response");
	has(log, "CMD a4 NOOP - [] ");
	free(log);
}

/* "* n FETCH" and "* n EXPUNGE" count only when the word after the
 * number is that keyword, in any case, alone or followed by a space. */
Test(dissector, message_data_keywords_counted_whole)
{
	struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 FETCH 1:9 FLAGS\r\n" },
		{ 'S', "* 1 FETCH (FLAGS ())\r\n* 2 fetch (FLAGS ())\r\n"
		       "* 3 FETCHX (FLAGS ())\r\n* 4 FETCH\r\n* 5 FETC\r\n"
		       "* 6 EXPUNGE\r\n* 7 EXPUNGED\r\n* 8 expunge\r\n"
		       "* 9 EXPUNGE x\r\n* 10\r\n* 11 \r\na1 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	cr_assert_eq(last_end.msgs_fetched, 3);
	cr_assert_eq(last_end.msgs_expunged, 3);
	free(log);
}

Test(names, mutf7)
{
	char out[64];
	cr_assert(imap_mutf7_decode("&Jjo-!", out, sizeof(out)));
	cr_assert_str_eq(out, "\xe2\x98\xba!");
	cr_assert(!imap_mutf7_decode("INBOX", out, sizeof(out)));
	cr_assert_str_eq(out, "INBOX");
	cr_assert(!imap_mutf7_decode("bad&AP", out, sizeof(out)));
	cr_assert_str_eq(out, "bad&AP");
	cr_assert(imap_mutf7_decode("a&-b", out, sizeof(out)));
	cr_assert_str_eq(out, "a&b");
}

/* ---- examples of the extension RFCs (their shapes, with their values) ---- */

struct rfc_case {
	const char *name;
	const char *client[6];
	const char *server[6];
	const char *expect[6];		/* substrings of the log */
};

/* Each case alternates client and server steps: client[i] then server[i]. */
static const struct rfc_case rfc_cases[] = {
	{ "RFC 2177 IDLE",
	  { "A001 SELECT INBOX\r\n", "A002 IDLE\r\n", "DONE\r\n" },
	  { "* 32 EXISTS\r\nA001 OK [READ-WRITE] SELECT completed\r\n",
	    "+ idling\r\n* 33 EXISTS\r\n", "A002 OK IDLE terminated\r\n" },
	  { "CMD A002 IDLE OK [] IDLE terminated", "C: DONE\n" } },
	{ "RFC 2971 ID",
	  { "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")\r\n" },
	  { "* ID NIL\r\na023 OK ID completed\r\n" },
	  { "CMD a023 ID OK [] ID completed" } },
	{ "RFC 4959 SASL-IR",
	  { "a002 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n" },
	  { "a002 OK Success (tls protection)\r\n" },
	  { "AUTH PLAIN test OK", "C: a002 AUTHENTICATE PLAIN ********\n" } },
	{ "RFC 4978 COMPRESS refused",
	  { "a01 COMPRESS DEFLATE\r\n", "a02 NOOP\r\n" },
	  { "a01 NO [COMPRESSIONACTIVE] DEFLATE active via TLS\r\n", "a02 OK\r\n" },
	  { "CMD a01 COMPRESS NO [COMPRESSIONACTIVE]", "z=0", "CMD a02 NOOP OK" } },
	{ "RFC 7888 LITERAL+",
	  { "A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n" },
	  { "A001 OK LOGIN completed\r\n" },
	  { "C{11}[FRED FOOBAR]", "C{7}R[]", "AUTH LOGIN FRED FOOBAR OK" } },
	{ "RFC 3516 BINARY literal8 in APPEND and FETCH",
	  { "A003 APPEND Drafts (\\Seen) ~{5+}\r\n\x00\x01\x02\x03\x04\r\n",
	    "A004 FETCH 1 (BINARY[1])\r\n" },
	  { "A003 OK APPEND completed\r\n",
	    "* 1 FETCH (BINARY[1] ~{3}\r\n\xff\x00\xfe)\r\nA004 OK FETCH completed\r\n" },
	  { "CMD A003 APPEND OK", "lit=1/5", "S{3}[", "CMD A004 FETCH OK" } },
	{ "RFC 4314 ACL",
	  { "A002 SETACL INBOX/frederick lrswicda\r\n", "A003 GETACL INBOX\r\n",
	    "a004 MYRIGHTS INBOX\r\n" },
	  { "A002 OK Setacl complete\r\n",
	    "* ACL INBOX Fred rwipsldexta\r\nA003 OK Getacl complete\r\n",
	    "* MYRIGHTS INBOX rwiptsldaex\r\na004 OK Myrights complete\r\n" },
	  { "CMD A002 SETACL OK [] Setacl complete mbox=INBOX/frederick",
	    "CMD a004 MYRIGHTS OK" } },
	{ "RFC 9208 QUOTA",
	  { "G0001 GETQUOTAROOT INBOX\r\n" },
	  { "* QUOTAROOT INBOX \"\"\r\n* QUOTA \"\" (STORAGE 10 512)\r\nG0001 OK Getquota completed\r\n" },
	  { "CMD G0001 GETQUOTAROOT OK [] Getquota completed mbox=INBOX" } },
	{ "RFC 5161 ENABLE",
	  { "t2 ENABLE CONDSTORE X-GOOD-IDEA\r\n" },
	  { "* ENABLED X-GOOD-IDEA\r\nt2 OK foo\r\n" },
	  { "CMD t2 ENABLE OK [] foo" } },
	{ "X- experimental command",
	  { "x1 XLIST \"\" *\r\n" },
	  { "* XLIST (\\HasNoChildren \\Inbox) \"/\" Inbox\r\nx1 OK XLIST completed\r\n" },
	  { "CMD x1 XLIST OK" } },
};

Test(dissector, extension_rfc_examples)
{
	for (size_t c = 0; c < sizeof(rfc_cases) / sizeof(rfc_cases[0]); c++) {
		const struct rfc_case *rc = &rfc_cases[c];
		struct step st[16];
		size_t n = 0;
		st[n++] = (struct step){ 'S', "* OK [CAPABILITY IMAP4rev1] ready\r\n", 0 };
		for (int i = 0; i < 6; i++) {
			if (rc->client[i])
				st[n++] = (struct step){ 'C', rc->client[i], 0 };
			if (rc->server[i])
				st[n++] = (struct step){ 'S', rc->server[i], 0 };
		}
		/* the binary literal holds NULs: give its exact length */
		if (strstr(rc->name, "BINARY")) {
			st[1].len = sizeof("A003 APPEND Drafts (\\Seen) ~{5+}\r\n\x00\x01\x02\x03\x04\r\n") - 1;
			st[4].len = sizeof("* 1 FETCH (BINARY[1] ~{3}\r\n\xff\x00\xfe)\r\nA004 OK FETCH completed\r\n") - 1;
		}
		char *log = run(st, n, NULL);
		for (int i = 0; i < 6 && rc->expect[i]; i++)
			cr_assert(strstr(log, rc->expect[i]), "%s: expected \"%s\" in:\n%s",
				  rc->name, rc->expect[i], log);
		cr_assert(!strstr(log, "anomaly"), "%s: anomaly in:\n%s", rc->name, log);
		free(log);
	}
}

Test(dissector, literal_content_that_looks_like_protocol)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 FETCH 1 BODY[]\r\n" },
		{ 'S', "* 1 FETCH (BODY[] {25}\r\na1 OK done\r\n* BYE bye\r\n" },
		{ 'S', "\r\n" },			/* part of the literal */
		{ 'S', ")\r\n* 2 EXISTS\r\n" },	/* untagged before the completion */
		{ 'S', "a1 OK really done\r\n" },
		{ 'C', "a2 APPEND x {3}\r\n" },
		{ 'S', "+ go\r\n* 3 EXISTS\r\n" },	/* untagged after the + */
		{ 'C', "abc\r\n" },
		{ 'S', "a2 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "CMD a1 FETCH OK [] really done");
	hasnt(log, "CMD a1 FETCH OK [] done");
	hasnt(log, "logout=1");
	has(log, "C{3}[abc]");
	has(log, "CMD a2 APPEND OK");
	hasnt(log, "anomaly");
	free(log);
}

/* ---- found by fuzzing ----------------------------------------------------- */

Test(dissector, bad_deflate_data_counts_the_same_however_chunked)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "c1 COMPRESS DEFLATE\r\n" },
		{ 'S', "c1 OK\n\xff\xd2", 8 },
		{ 'S', "more", 4 },
	};
	uint64_t opaque[3];
	size_t chunks[3] = { 0, 1, 7 };
	for (int i = 0; i < 3; i++) {
		free(run_chunked(st, 4, NULL, chunks[i]));
		opaque[i] = last_end.half[ISC_DIR_SERVER][IMAP_HC_OPAQUE_BYTES];
	}
	cr_assert_eq(opaque[0], 6, "%llu", (unsigned long long)opaque[0]);
	cr_assert_eq(opaque[1], opaque[0]);
	cr_assert_eq(opaque[2], opaque[0]);
	cr_assert_str_eq(last_anoms, "inflate_error ");
}

Test(dissector, gap_in_one_literal_does_not_blind_the_next)
{
	static const struct step st[] = {
		{ 'S', "* OK ready\r\n" },
		{ 'C', "a1 APPEND INBOX {100+}\r\n0123" },
		{ 'G', "C", 50 },
		{ 'C', "0123456789012345678901234567890123456789012345\r\n" },
		{ 'S', "a1 OK\r\n" },
		{ 'C', "a2 SELECT {5+}\r\nINBOX\r\n" },
		{ 'S', "a2 OK\r\n" },
	};
	char *log = RUN(st, NULL);
	has(log, "C{5}[INBOX]\n");
	has(log, "mbox=INBOX user= lit=1/5");
	free(log);
}

/* imap_eq() compares ASCII letters in any case and other bytes as they
 * are: every byte value against letters, digits and punctuation. */
Test(scan, eq_folds_case_of_letters_only)
{
	static const char *const words[] = { "FETCH", "fetch", "UTF8=ACCEPT",
					     "[X]", "A@Z`", "*" };
	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t n = strlen(words[w]);
		for (size_t i = 0; i < n; i++) {
			for (int c = 0; c < 256; c++) {
				uint8_t buf[16];
				memcpy(buf, words[w], n);
				buf[i] = (uint8_t)c;
				/* ASCII upper case of both sides, compared */
				int a = c, b = (uint8_t)words[w][i];
				if (a >= 'a' && a <= 'z')
					a -= 32;
				if (b >= 'a' && b <= 'z')
					b -= 32;
				bool want = a == b;
				cr_assert_eq(imap_eq(buf, n, words[w]), want,
					     "%s byte %zu = %d", words[w], i, c);
			}
		}
		cr_assert(!imap_eq((const uint8_t *)words[w], n - 1, words[w]));
	}
}

/* A completion's code and text reach the command record whole, whether
 * they fit the stack buffers tagged() copies them to or not: lengths
 * on either side of each buffer's size (1 KiB for the code, which holds
 * a post-login CAPABILITY list, 256 for the text). */
Test(dissector, long_response_codes_and_texts_kept_whole)
{
	static const size_t lens[] = { 1, 255, 256, 257, 400, 1022, 1023, 1024,
				       1025, 3000 };
	static char code[4000], text[4000], line[8200], want[8200];
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i];
		for (size_t k = 0; k < n; k++) {
			code[k] = (char)('a' + k % 26);
			text[k] = (char)('A' + k % 26);
		}
		code[n] = text[n] = '\0';
		snprintf(line, sizeof(line), "a1 OK [%s] %s\r\n", code, text);
		const struct step st[] = {
			{ 'S', "* OK hi\r\n", 0 },
			{ 'C', "a1 NOOP\r\n", 0 },
			{ 'S', line, 0 },
		};
		char *log = RUN(st, NULL);
		snprintf(want, sizeof(want), "CMD a1 NOOP OK [%s] %s mbox=", code, text);
		has(log, want);
		free(log);
	}
}
