/* Tests of output/: Community ID against the specification's vectors,
 * UTF-8 sanitizing and transcript escaping of hostile bytes, and the JSON
 * records' resistance to injection. */
#include "../../output/flowid.h"
#include "../../output/json.h"
#include "../../output/text.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#ifndef ISC_TEST_DATA
#define ISC_TEST_DATA "tests/data"
#endif

static void addr(const char *s, struct isc_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1) {
		a->family = 4;
		return;
	}
	cr_assert_eq(inet_pton(AF_INET6, s, a->a), 1, "%s", s);
	a->family = 6;
}

/* Checks every TCP row of a baseline file; returns how many. */
static int check_vectors(const char *file, uint16_t seed)
{
	json_object *all = json_object_from_file(file);
	cr_assert_not_null(all, "cannot read %s", file);
	int checked = 0;
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		json_object *row = json_object_array_get_idx(all, i), *v;
		json_object_object_get_ex(row, "proto", &v);
		if (json_object_get_int(v) != 6)
			continue;
		struct isc_addr a, b;
		json_object_object_get_ex(row, "saddr", &v);
		addr(json_object_get_string(v), &a);
		json_object_object_get_ex(row, "daddr", &v);
		addr(json_object_get_string(v), &b);
		json_object_object_get_ex(row, "sport", &v);
		uint16_t sp = (uint16_t)json_object_get_int(v);
		json_object_object_get_ex(row, "dport", &v);
		uint16_t dp = (uint16_t)json_object_get_int(v);
		json_object_object_get_ex(row, "communityid", &v);
		char out[64];
		out_community_id(&a, sp, &b, dp, seed, out);
		cr_assert_str_eq(out, json_object_get_string(v), "row %zu of %s", i, file);
		checked++;
	}
	json_object_put(all);
	return checked;
}

Test(community_id, spec_vectors_tcp_ipv4_and_ipv6)
{
	int n = check_vectors(ISC_TEST_DATA "/community-id/baseline_deflt.json", 0);
	n += check_vectors(ISC_TEST_DATA "/community-id/baseline_seed1.json", 1);
	cr_assert_geq(n, 8, "only %d TCP vectors checked", n);
}

Test(text, utf8_sanitize_replaces_invalid_bytes)
{
	struct out_buf b = { 0 };
	/* valid 2/3/4-byte, overlong "/", surrogate, lone continuation, cut */
	const uint8_t in[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xc0\xaf|\xed\xa0\x80|\x80|\xe2\x82";
	out_utf8_sanitize(&b, in, sizeof(in) - 1);
	cr_assert_str_eq(out_buf_cstr(&b),
		"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xef\xbf\xbd\xef\xbf\xbd|"
		"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd");
	out_buf_free(&b);
}

Test(text, transcript_escapes_controls)
{
	struct out_buf b = { 0 };
	const uint8_t in[] = "ok\x1b[2J\r\n\t\\Seen \xc2\x9b x\xff";
	out_escape_text(&b, in, sizeof(in) - 1);
	cr_assert_str_eq(out_buf_cstr(&b), "ok\\x1b[2J\\r\\n\\t\\Seen \\xc2\\x9b x\\xff");
	out_buf_free(&b);
}

Test(text, transcript_escapes_bidi_controls)
{
	struct out_buf b = { 0 };
	/* RIGHT-TO-LEFT OVERRIDE would show "txt.exe" as "exe.txt" */
	const uint8_t in[] = "a \xe2\x80\xae exe \xe2\x81\xa6 \xc3\xa9";
	out_escape_text(&b, in, sizeof(in) - 1);
	cr_assert_str_eq(out_buf_cstr(&b), "a \\xe2\\x80\\xae exe \\xe2\\x81\\xa6 \xc3\xa9");
	out_buf_free(&b);
}

Test(text, transcript_escapes_at_every_word_edge)
{
	/* each odd sequence at every position of a 24-byte line of printable
	 * bytes, across the 8-byte steps of the fast path */
	static const struct { const char *in, *out; } odd[] = {
		{ "\x00", "\\x00" }, { "\x1f", "\\x1f" }, { "\x7f", "\\x7f" },
		{ "\x80", "\\x80" }, { "\xff", "\\xff" }, { "\t", "\\t" },
		{ "\xc3\xa9", "\xc3\xa9" }, { "\xc2\x85", "\\xc2\\x85" },
		{ "\xe2\x80\xae", "\\xe2\\x80\\xae" }, { " ~", " ~" },
	};
	for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
		size_t ol = strlen(odd[k].in);
		if (ol == 0)
			ol = 1;		/* the NUL byte */
		for (size_t at = 0; at + ol <= 24; at++) {
			uint8_t in[24];
			char want[128];
			memset(in, 'a', sizeof(in));
			memcpy(in + at, odd[k].in, ol);
			snprintf(want, sizeof(want), "%.*s%s%.*s", (int)at,
				 "aaaaaaaaaaaaaaaaaaaaaaaa", odd[k].out,
				 (int)(24 - at - ol), "aaaaaaaaaaaaaaaaaaaaaaaa");
			struct out_buf b = { 0 };
			out_escape_text(&b, in, sizeof(in));
			cr_assert_str_eq(out_buf_cstr(&b), want,
					 "sequence %zu at %zu", k, at);
			out_buf_free(&b);
		}
	}
}

Test(json, hostile_strings_stay_one_valid_record)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct out_json *j;
	cr_assert_eq(out_json_new(f, false, &j), 0);
	struct out_flow fl = { .number = 1, .id = "0011223344556677",
			       .client_ip = "192.0.2.1", .server_ip = "192.0.2.2",
			       .client_port = 5, .server_port = 143,
			       .community_id = "1:x" };
	struct imap_cmd_rec c = {
		.number = 1, .tag = "a\n{\"event\":1}", .name = "LOGIN",
		.status = "NO", .resp_text = "bad \xff\xfe \x01 \"quote\" \\ end\r\n",
		.user = "mr\xc3\xa9\x00", .start = 1, .end = 2,
	};
	out_json_command(j, &fl, &c);
	out_json_free(&j);
	fclose(f);
	cr_assert_eq(strchr(buf, '\n'), buf + len - 1, "one line: %s", buf);
	json_object *o = json_tokener_parse(buf);
	cr_assert_not_null(o, "%s", buf);
	json_object *im, *v;
	json_object_object_get_ex(o, "imap", &im);
	json_object_object_get_ex(im, "tag", &v);
	cr_assert_str_eq(json_object_get_string(v), "a\n{\"event\":1}");
	json_object_object_get_ex(im, "response_text", &v);
	cr_assert_str_eq(json_object_get_string(v),
			 "bad \xef\xbf\xbd\xef\xbf\xbd \x01 \"quote\" \\ end\r\n");
	json_object_put(o);
	free(buf);
}

/* The JSON writer's escaping goes 8 bytes at a time and in parts of
 * 4 KiB: a byte to escape, a non-ASCII sequence or an invalid byte at any
 * place near those edges must come out as json-c reads it back, made
 * valid UTF-8 as out_utf8_sanitize() does. */
Test(json, strings_escaped_at_every_edge)
{
	static const char *const odd[] = { "\"", "\\", "\n", "\x01", "\x7f",
					   "\xc3\xa9", "\xe2\x82\xac", "\xff",
					   "\xe2\x82" };
	static const size_t lens[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17,
				       4094, 4095, 4096, 4097, 4100, 8200 };
	struct out_flow fl = { .number = 1, .id = "0011223344556677",
			       .client_ip = "192.0.2.1", .server_ip = "192.0.2.2",
			       .client_port = 5, .server_port = 143,
			       .community_id = "1:x" };
	static char text[8300];
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		for (size_t oi = 0; oi < sizeof(odd) / sizeof(odd[0]); oi++) {
			size_t n = lens[li], ol = strlen(odd[oi]);
			for (size_t at = n > 20 ? n - 20 : 0; at + ol <= n; at++) {
				memset(text, 'a', n);
				memcpy(text + at, odd[oi], ol);
				text[n] = '\0';
				char *buf = NULL;
				size_t len = 0;
				FILE *f = open_memstream(&buf, &len);
				struct out_json *j;
				cr_assert_eq(out_json_new(f, false, &j), 0);
				struct imap_cmd_rec c = { .number = 1, .tag = "A1",
							  .name = "NOOP", .resp_text = text };
				out_json_command(j, &fl, &c);
				out_json_free(&j);
				fclose(f);
				json_object *o = json_tokener_parse(buf), *im, *v;
				cr_assert_not_null(o, "%s", buf);
				json_object_object_get_ex(o, "imap", &im);
				json_object_object_get_ex(im, "response_text", &v);
				struct out_buf want = { 0 };
				out_utf8_sanitize(&want, (const uint8_t *)text, n);
				cr_assert_str_eq(json_object_get_string(v),
						 out_buf_cstr(&want), "n %zu at %zu", n, at);
				out_buf_free(&want);
				json_object_put(o);
				free(buf);
			}
		}
	}
}

/* Records are held until the buffer fills or the writer is freed;
 * with flush each is in the FILE when the call returns. */
Test(json, flush_writes_each_record)
{
	struct out_flow fl = { .number = 1, .id = "0011223344556677",
			       .client_ip = "192.0.2.1", .server_ip = "192.0.2.2",
			       .client_port = 5, .server_port = 143,
			       .community_id = "1:x" };
	struct imap_cmd_rec c = { .number = 1, .tag = "A1", .name = "NOOP",
				  .status = "OK" };
	for (int flush = 0; flush < 2; flush++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		struct out_json *j;
		cr_assert_eq(out_json_new(f, flush, &j), 0);
		out_json_command(j, &fl, &c);
		fflush(f);
		size_t first = len;
		if (flush)
			cr_assert(first > 0 && buf[first - 1] == '\n');
		else
			cr_assert_eq(first, 0);
		out_json_command(j, &fl, &c);
		out_json_flush(j);
		fflush(f);
		cr_assert_eq(out_json_records(j), 2);
		cr_assert(len > 0 && buf[len - 1] == '\n');
		cr_assert_eq(memcmp(buf, buf + len / 2, len / 2), 0);
		out_json_free(&j);
		fclose(f);
		free(buf);
	}
}

/* Writes records with one writer, each to its own string (the writer's
 * caches carry over from record to record, as in a run). */
struct rec_writer {
	char *buf;
	size_t len;
	FILE *f;
	struct out_json *j;
};

static void rw_open(struct rec_writer *w)
{
	w->buf = NULL;
	w->len = 0;
	w->f = open_memstream(&w->buf, &w->len);
	cr_assert_not_null(w->f);
	cr_assert_eq(out_json_new(w->f, true, &w->j), 0);
}

/* The last record written, NUL-terminated; valid until the next call. */
static const char *rw_command(struct rec_writer *w, const struct out_flow *fl,
			      const struct imap_cmd_rec *c)
{
	size_t at = w->len;
	out_json_command(w->j, (struct out_flow *)fl, c);
	fflush(w->f);
	return w->buf + at;
}

static void rw_close(struct rec_writer *w)
{
	out_json_free(&w->j);
	fclose(w->f);
	free(w->buf);
}

static const struct out_flow test_flow = {
	.number = 1, .id = "0011223344556677", .client_ip = "192.0.2.1",
	.server_ip = "192.0.2.2", .client_port = 5, .server_port = 143,
	.community_id = "1:x",
};

/* Numbers are written digit by digit with their count worked out from
 * the bit length: each side of every power of ten, and the extremes. */
Test(json, numbers_at_every_power_of_ten)
{
	struct rec_writer w;
	struct out_flow fl = test_flow;
	rw_open(&w);
	uint64_t p = 1;
	for (int k = 0; k <= 20; k++) {
		const uint64_t vs[] = { p - 1, p, p + 1, UINT64_MAX - p + 1 };
		for (size_t i = 0; i < 4; i++) {
			struct imap_cmd_rec c = { .number = vs[i], .tag = "A1",
						  .name = "NOOP", .status = "OK",
						  .untagged = vs[i] / 3,
						  .messages = vs[i] / 7 + 1 };
			const char *r = rw_command(&w, &fl, &c);
			char want[200];
			snprintf(want, sizeof(want),
				 "\"command_number\":%llu,",
				 (unsigned long long)c.number);
			cr_assert_not_null(strstr(r, want), "%s in %s", want, r);
			snprintf(want, sizeof(want),
				 "\"untagged\":%llu,\"messages\":%llu}}\n",
				 (unsigned long long)c.untagged,
				 (unsigned long long)c.messages);
			cr_assert_not_null(strstr(r, want), "%s in %s", want, r);
		}
		if (k < 19)
			p *= 10;
		else
			p = UINT64_MAX;	/* k = 20: the largest value */
	}
	rw_close(&w);
}

/* The time of day is kept for the last second written: timestamps in
 * the same second, the next second, another day and back must each be
 * written as isc_time_format() writes them. */
Test(json, timestamps_as_isc_time_format)
{
	static const isc_time ts[] = {
		1717200000LL * ISC_NS_PER_SEC + 1000,
		1717200000LL * ISC_NS_PER_SEC + 999999000,
		1717200001LL * ISC_NS_PER_SEC,
		1717200001LL * ISC_NS_PER_SEC + 5000,
		1717286399LL * ISC_NS_PER_SEC + 123456000,	/* 23:59:59 */
		1717286400LL * ISC_NS_PER_SEC,			/* next day */
		1717200000LL * ISC_NS_PER_SEC + 1000,		/* back */
		1 * ISC_NS_PER_SEC,
		1000,
	};
	struct rec_writer w;
	struct out_flow fl = test_flow;
	rw_open(&w);
	for (size_t i = 0; i + 1 < sizeof(ts) / sizeof(ts[0]); i++) {
		isc_time a = ts[i], b = ts[i + 1] > ts[i] ? ts[i + 1] : ts[i];
		struct imap_cmd_rec c = { .number = 1, .tag = "A1", .name = "NOOP",
					  .status = "OK", .start = a, .end = b };
		const char *r = rw_command(&w, &fl, &c);
		char fa[ISC_TIME_STRLEN], fb[ISC_TIME_STRLEN], want[400];
		isc_time_format(a, fa);
		isc_time_format(b, fb);
		snprintf(want, sizeof(want), "{\"@timestamp\":\"%s\",", fa);
		cr_assert_eq(strncmp(r, want, strlen(want)), 0, "%s", r);
		snprintf(want, sizeof(want),
			 "\"start\":\"%s\",\"end\":\"%s\",\"duration\":%lld}",
			 fa, fb, (long long)(b - a));
		cr_assert_not_null(strstr(r, want), "%s in %s", want, r);
	}
	rw_close(&w);
}

/* Long response codes are kept with their JSON text and copied when the
 * next is one of the last few: a different code of the same length, one
 * that differs in its last byte, the first again, and more distinct
 * codes in turn than are kept must each come out escaped as they are.
 * Statuses come out as given. */
Test(json, repeated_long_response_codes)
{
	static char a[600], b[600], d[600], many[12][100];
	memset(a, 'A', sizeof(a) - 1);
	memcpy(a, "CAPABILITY \"q\" \\ \xff", 19);	/* with its NUL, */
	a[18] = 'A';					/* then more text */
	memcpy(b, a, sizeof(b));
	b[200] = 'B';
	memcpy(d, a, sizeof(d));
	d[sizeof(d) - 2] = '\n';
	const char *codes[10 + 3 * 12] = { a, a, b, a, d, d, "short", a, NULL, a };
	for (size_t k = 0; k < 12; k++) {
		memset(many[k], 'm', 64 + k % 3);
		many[k][k] = '\x01';
		many[k][64 + k % 3] = '\0';
	}
	for (size_t r = 0; r < 3; r++)
		for (size_t k = 0; k < 12; k++)
			codes[10 + 12 * r + k] = many[r == 1 ? k % 9 : k];
	const char *status[] = { "OK", "NO", "BAD", NULL };
	struct rec_writer w;
	struct out_flow fl = test_flow;
	rw_open(&w);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct imap_cmd_rec c = { .number = 1, .tag = "A1",
					  .name = "LOGIN", .status = status[i % 4],
					  .resp_code = codes[i] };
		const char *r = rw_command(&w, &fl, &c);
		json_object *o = json_tokener_parse(r), *im, *v;
		cr_assert_not_null(o, "%s", r);
		json_object_object_get_ex(o, "imap", &im);
		json_object_object_get_ex(im, "response_code", &v);
		if (codes[i]) {
			struct out_buf want = { 0 };
			out_utf8_sanitize(&want, (const uint8_t *)codes[i],
					  strlen(codes[i]));
			cr_assert_str_eq(json_object_get_string(v),
					 out_buf_cstr(&want), "record %zu", i);
			out_buf_free(&want);
		} else {
			cr_assert(json_object_is_type(v, json_type_null));
		}
		json_object_object_get_ex(im, "status", &v);
		if (status[i % 4])
			cr_assert_str_eq(json_object_get_string(v), status[i % 4]);
		else
			cr_assert(json_object_is_type(v, json_type_null));
		json_object_put(o);
	}
	rw_close(&w);
}

/* A session record's endpoints, with their byte counts, come out the same
 * whether the session wrote command records before (whose endpoints are
 * then reused) or not, for IPv4 and IPv6 addresses. */
Test(json, session_endpoints_the_same_after_command_records)
{
	struct out_flow v6 = test_flow;
	snprintf(v6.client_ip, sizeof(v6.client_ip), "%s",
		 "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe");
	snprintf(v6.server_ip, sizeof(v6.server_ip), "%s", "2001:db8::2");
	v6.client_port = 65535;
	snprintf(v6.community_id, sizeof(v6.community_id), "%s",
		 "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	const struct out_flow *flows[] = { &test_flow, &v6 };
	for (size_t k = 0; k < 2; k++) {
		struct imap_session_rec s = { .state = "logout", .logout = true };
		s.half[ISC_DIR_CLIENT][IMAP_HC_BYTES] = 123456789;
		s.half[ISC_DIR_SERVER][IMAP_HC_BYTES] = 7;
		struct imap_cmd_rec c = { .number = 1, .tag = "A1",
					  .name = "NOOP", .status = "OK" };
		char *rec[2];
		for (int used = 0; used < 2; used++) {
			struct rec_writer w;
			struct out_flow fl = *flows[k];
			rw_open(&w);
			if (used)
				rw_command(&w, &fl, &c);
			cr_assert_eq(fl.json_ep_len != 0, used);
			size_t at = w.len;
			out_json_session(w.j, &fl, 5, "logout", &s);
			fflush(w.f);
			rec[used] = strdup(w.buf + at);
			rw_close(&w);
		}
		cr_assert_str_eq(rec[1], rec[0]);
		json_object *o = json_tokener_parse(rec[0]), *src, *v;
		cr_assert_not_null(o, "%s", rec[0]);
		json_object_object_get_ex(o, "source", &src);
		json_object_object_get_ex(src, "bytes", &v);
		cr_assert_eq(json_object_get_int64(v), 123456789);
		json_object_object_get_ex(src, "ip", &v);
		cr_assert_str_eq(json_object_get_string(v), flows[k]->client_ip);
		json_object_object_get_ex(o, "destination", &src);
		json_object_object_get_ex(src, "bytes", &v);
		cr_assert_eq(json_object_get_int64(v), 7);
		json_object_put(o);
		free(rec[0]);
		free(rec[1]);
	}
}

/* The count pairs of a session record (literals, gaps) and its tcp
 * counters read back as given, zero or not, each in any place. */
Test(json, session_counters_zero_or_not)
{
	struct reasm_stats rs[2];
	for (int k = 0; k < 13; k++) {
		memset(rs, 0, sizeof(rs));
		struct out_flow fl = test_flow;
		fl.reasm[0] = &rs[0];
		fl.reasm[1] = &rs[1];
		struct imap_session_rec s = { .state = "logout", .logout = true };
		uint64_t *lit[4] = {
			&s.half[ISC_DIR_CLIENT][IMAP_HC_LITERALS],
			&s.half[ISC_DIR_CLIENT][IMAP_HC_LITERAL_BYTES],
			&s.half[ISC_DIR_SERVER][IMAP_HC_LITERALS],
			&s.half[ISC_DIR_SERVER][IMAP_HC_LITERAL_BYTES],
		};
		uint64_t *tcp[8] = {
			&rs[0].retransmitted, &rs[0].ooo_held, &rs[0].overlaps,
			&rs[0].inconsistent, &rs[1].retransmitted, &rs[1].ooo_held,
			&rs[1].overlaps, &rs[1].inconsistent,
		};
		/* k = 0: all zero; 1..4: one literal count; 5..12: one tcp
		 * counter */
		if (k >= 1 && k <= 4)
			*lit[k - 1] = 40 + (uint64_t)k;
		if (k >= 5)
			*tcp[k - 5] = 100 + (uint64_t)k;
		s.half[ISC_DIR_SERVER][IMAP_HC_GAPS] = k == 3;
		struct rec_writer w;
		rw_open(&w);
		out_json_session(w.j, &fl, 5, "logout", &s);
		fflush(w.f);
		json_object *r = json_tokener_parse(w.buf), *o, *a, *b, *v;
		cr_assert_not_null(r, "%s", w.buf);
		json_object_object_get_ex(r, "imap", &o);
		static const char *const side[2] = { "client", "server" };
		static const char *const lk[2] = { "count", "bytes" };
		static const char *const tk[4] = { "retransmitted", "out_of_order",
						   "overlaps", "inconsistent" };
		json_object_object_get_ex(o, "literals", &a);
		for (int i = 0; i < 4; i++) {
			json_object_object_get_ex(a, side[i / 2], &b);
			json_object_object_get_ex(b, lk[i % 2], &v);
			cr_assert_eq((uint64_t)json_object_get_int64(v), *lit[i],
				     "%d: %s", k, w.buf);
		}
		json_object_object_get_ex(o, "gaps", &a);
		json_object_object_get_ex(a, "server", &b);
		json_object_object_get_ex(b, "count", &v);
		cr_assert_eq(json_object_get_int64(v), k == 3, "%s", w.buf);
		json_object_object_get_ex(o, "tcp", &a);
		for (int i = 0; i < 8; i++) {
			json_object_object_get_ex(a, side[i / 4], &b);
			json_object_object_get_ex(b, tk[i % 4], &v);
			cr_assert_eq((uint64_t)json_object_get_int64(v), *tcp[i],
				     "%d: %s", k, w.buf);
		}
		json_object_put(r);
		if (k == 0) {
			cr_assert_not_null(strstr(w.buf, ",\"literals\":{\"client\":"
				"{\"count\":0,\"bytes\":0},\"server\":{\"count\":0,"
				"\"bytes\":0}},\"gaps\":{\"client\":"), "%s", w.buf);
		}
		rw_close(&w);
	}
}
