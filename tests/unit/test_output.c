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

/* A JSON string as the writer must write it: wire strings made valid
 * UTF-8 first, then \" \\ \b \f \n \r \t and \u00xx for the other
 * control characters; bytes from 0x80 of other strings as they are. */
static void ref_json_string(struct out_buf *o, const char *s, size_t n,
			    bool wire)
{
	struct out_buf san = { 0 };
	const uint8_t *p = (const uint8_t *)s;
	if (wire) {
		out_utf8_sanitize(&san, p, n);
		p = (const uint8_t *)san.p;
		n = san.len;
	}
	out_buf_put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		switch (c) {
		case '"': out_buf_put(o, "\\\"", 2); break;
		case '\\': out_buf_put(o, "\\\\", 2); break;
		case '\b': out_buf_put(o, "\\b", 2); break;
		case '\f': out_buf_put(o, "\\f", 2); break;
		case '\n': out_buf_put(o, "\\n", 2); break;
		case '\r': out_buf_put(o, "\\r", 2); break;
		case '\t': out_buf_put(o, "\\t", 2); break;
		default:
			if (c < 0x20)
				out_buf_printf(o, "\\u%04x", c);
			else
				out_buf_put(o, &c, 1);
		}
	}
	out_buf_put(o, "\"", 1);
	out_buf_free(&san);
}

/* Strings of up to 16 bytes are tested as one or two words, longer ones
 * word by word with the last word overlapping, each copied as it is
 * tested: a byte to escape, a control byte, non-ASCII text or an invalid
 * byte at every place of every length around those word edges must come
 * out exactly as escaping byte by byte writes it, in a wire string (a
 * response text) and in one of ours (an auth record's command, whose
 * bytes from 0x80 go as they are), with the members after it intact. */
Test(json, strings_of_every_length_with_odd_bytes_anywhere)
{
	static const char *const odd[] = { "\"", "\\", "\n", "\x01", "\x1f",
					   "\x7f", "\x80", "\xc3\xa9",
					   "\xe2\x82\xac", "\xf0\x9f\x98\x80",
					   "\xff", "\xe2\x82", "\xc3",
					   /* a byte to escape and one from
					    * 0x80 in the same word */
					   "\xff\"", "\x01\xe2\x82\xac", "\\\xc3" };
	struct rec_writer w;
	struct out_flow fl = test_flow;
	rw_open(&w);
	char text[100];
	for (size_t n = 0; n <= 72; n++) {
		for (size_t oi = 0; oi <= sizeof(odd) / sizeof(odd[0]); oi++) {
			/* oi past the table: plain text only */
			size_t ol = oi < sizeof(odd) / sizeof(odd[0]) ?
				    strlen(odd[oi]) : 0;
			for (size_t at = 0; at + ol <= n; at++) {
				for (size_t k = 0; k < n; k++)
					text[k] = (char)('a' + (k * 7 + n) % 26);
				if (ol)
					memcpy(text + at, odd[oi], ol);
				text[n] = '\0';
				for (int wire = 0; wire < 2; wire++) {
					struct out_buf want = { 0 };
					size_t at0 = w.len;
					if (wire) {
						struct imap_cmd_rec c = {
							.number = 1, .tag = "A1",
							.name = "NOOP", .status = "OK",
							.resp_text = text };
						out_json_command(w.j, &fl, &c);
						out_buf_puts(&want, "\"response_text\":");
						ref_json_string(&want, text, n, true);
						out_buf_puts(&want, ",\"untagged\":0}}\n");
					} else {
						struct imap_auth_rec a = {
							.command = text, .status = "OK",
							.resp_text = "ok" };
						out_json_auth(w.j, &fl, &a);
						out_buf_puts(&want, "\"auth\":{\"command\":");
						ref_json_string(&want, text, n, false);
						out_buf_puts(&want, ",\"mechanism\":null,"
							     "\"status\":\"OK\",\"response_text\":"
							     "\"ok\"}}}\n");
					}
					fflush(w.f);
					const char *r = w.buf + at0, *got;
					got = strstr(r, out_buf_cstr(&want));
					cr_assert_not_null(got, "n %zu odd %zu at %zu wire %d: "
							   "%s", n, oi, at, wire, r);
					cr_assert_eq(got + want.len, w.buf + w.len);
					out_buf_free(&want);
				}
				if (!ol)
					break;
			}
		}
	}
	rw_close(&w);
}

/* The second of the last timestamp is kept as its first and last
 * nanosecond: times at either edge of a second, before 1970, and at the
 * ends of what an isc_time holds must each be written as
 * isc_time_format() writes them, whatever came before. */
Test(json, timestamps_at_second_edges)
{
	static const isc_time ts[] = {
		1717200000LL * ISC_NS_PER_SEC,
		1717200000LL * ISC_NS_PER_SEC + 999999999,
		1717200001LL * ISC_NS_PER_SEC,
		1717200000LL * ISC_NS_PER_SEC + 999999999,
		1717200000LL * ISC_NS_PER_SEC - 1,
		1717200000LL * ISC_NS_PER_SEC,
		1,
		999999999,
		-1,
		-1000,
		-999999999,
		-1000000000,
		-1000000001,
		-86400LL * ISC_NS_PER_SEC,
		-86400LL * ISC_NS_PER_SEC - 1,
		0,
		INT64_MAX,
		INT64_MAX - 1,
		(INT64_MAX / ISC_NS_PER_SEC) * ISC_NS_PER_SEC,
		(INT64_MAX / ISC_NS_PER_SEC) * ISC_NS_PER_SEC - 1,
		INT64_MIN,
		INT64_MIN + 1,
		(INT64_MIN / ISC_NS_PER_SEC) * ISC_NS_PER_SEC,
		(INT64_MIN / ISC_NS_PER_SEC) * ISC_NS_PER_SEC - 1,
		INT64_MIN,
		-5,
		1717200000LL * ISC_NS_PER_SEC + 5000,
	};
	struct rec_writer w;
	struct out_flow fl = test_flow;
	rw_open(&w);
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		/* each time as a start, then as the end of a record that starts
	 * at the time before (no two next to each other further apart than
	 * INT64_MAX) */
		isc_time a = ts[i], b = a;
		for (int k = 0; k < 2; k++) {
			if (k)
				a = i ? ts[i - 1] : ts[i];
			if (b < a)
				b = a;	/* ends before their start are clamped */
			struct imap_cmd_rec c = { .number = 1, .tag = "A1",
						  .name = "NOOP", .status = "OK",
						  .start = a, .end = b };
			const char *r = rw_command(&w, &fl, &c);
			char fa[ISC_TIME_STRLEN], fb[ISC_TIME_STRLEN], want[400];
			isc_time_format(a, fa);
			isc_time_format(b, fb);
			snprintf(want, sizeof(want), "{\"@timestamp\":\"%s\",", fa);
			cr_assert_eq(strncmp(r, want, strlen(want)), 0, "%zu: %s", i, r);
			if (b)
				snprintf(want, sizeof(want),
					 "\"start\":\"%s\",\"end\":\"%s\","
					 "\"duration\":%llu}", fa, fb,
					 (unsigned long long)((uint64_t)b - (uint64_t)a));
			else
				snprintf(want, sizeof(want), "\"start\":\"%s\"}", fa);
			cr_assert_not_null(strstr(r, want), "%zu: %s in %s", i, want, r);
		}
	}
	rw_close(&w);
}

/* Statuses are told apart by their bytes: anything but "OK", "NO" and
 * "BAD" exactly is written as the string it is, and only "OK" is a
 * success. */
Test(json, statuses_other_than_the_three)
{
	static const char *const st[] = { "OK", "NO", "BAD", NULL, "OKAY", "O",
					  "", "N", "NOT", "BA", "BADX", "ok",
					  "K\"" };
	struct rec_writer w;
	struct out_flow fl = test_flow;
	rw_open(&w);
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		struct imap_cmd_rec c = { .number = 1, .tag = "A1", .name = "NOOP",
					  .status = st[i] };
		const char *r = rw_command(&w, &fl, &c);
		json_object *o = json_tokener_parse(r), *ev, *im, *v;
		cr_assert_not_null(o, "%s", r);
		json_object_object_get_ex(o, "event", &ev);
		json_object_object_get_ex(ev, "outcome", &v);
		cr_assert_str_eq(json_object_get_string(v),
				 !st[i] ? "unknown" :
				 !strcmp(st[i], "OK") ? "success" : "failure", "%s", r);
		json_object_object_get_ex(o, "imap", &im);
		json_object_object_get_ex(im, "status", &v);
		if (st[i])
			cr_assert_str_eq(json_object_get_string(v), st[i], "%s", r);
		else
			cr_assert(json_object_is_type(v, json_type_null), "%s", r);
		json_object_put(o);
	}
	rw_close(&w);
}

/* Capability lists are kept, with their JSON arrays, for the last few
 * written: more distinct lists in turn than are kept, lists that differ
 * only in their last byte, and atoms to escape must each come out as
 * the atoms of their own list. */
Test(json, capability_lists_taking_turns)
{
	static char lists[12][80];
	for (size_t k = 0; k < 12; k++)
		snprintf(lists[k], sizeof(lists[k]),
			 "IMAP4rev1 IDLE AUTH=PLAIN X-%s Q\"\\ LAST%c",
			 k % 3 ? "A" : "B\x01", (char)('a' + k % 10));
	struct rec_writer w;
	rw_open(&w);
	for (size_t i = 0; i < 40; i++) {
		const char *caps = lists[(i * 5 + i / 12) % 12];
		struct out_flow fl = test_flow;
		struct imap_session_rec s = { .state = "logout", .logout = true,
					      .capabilities = caps };
		size_t at = w.len;
		out_json_session(w.j, &fl, 5, "logout", &s);
		fflush(w.f);
		json_object *o = json_tokener_parse(w.buf + at), *im, *a;
		cr_assert_not_null(o, "%s", w.buf + at);
		json_object_object_get_ex(o, "imap", &im);
		cr_assert(json_object_object_get_ex(im, "capabilities", &a));
		char copy[80], *save = NULL;
		snprintf(copy, sizeof(copy), "%s", caps);
		size_t k = 0;
		for (char *t = strtok_r(copy, " ", &save); t;
		     t = strtok_r(NULL, " ", &save), k++)
			cr_assert_str_eq(json_object_get_string(
					 json_object_array_get_idx(a, k)), t,
					 "record %zu atom %zu", i, k);
		cr_assert_eq(json_object_array_length(a), k);
		json_object_put(o);
	}
	rw_close(&w);
}

/* The session id (FNV-1a of the flow, as 16 hex digits) and IPv4
 * addresses are written by hand: each octet with one, two and three
 * digits, and hash bytes of every value, as snprintf and inet_ntop
 * write them. */
Test(flowid, addresses_and_ids_by_hand)
{
	static const uint8_t oct[] = { 0, 1, 9, 10, 11, 99, 100, 101, 109, 110,
				       199, 200, 209, 250, 255 };
	for (size_t i = 0; i < sizeof(oct); i++) {
		struct flow_info fi = { .number = i + 1, .client_port = 1024,
					.server_port = 143,
					.start = (isc_time)i * 987654321 };
		fi.client.family = fi.server.family = 4;
		for (int k = 0; k < 4; k++) {
			fi.client.a[k] = oct[(i + (size_t)k) % sizeof(oct)];
			fi.server.a[k] = oct[(i * 3 + (size_t)k) % sizeof(oct)];
		}
		struct out_flow f;
		memset(&f, 0xaa, sizeof(f));
		out_flow_init(&f, &fi);
		char want[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, fi.client.a, want, sizeof(want));
		cr_assert_str_eq(f.client_ip, want);
		inet_ntop(AF_INET, fi.server.a, want, sizeof(want));
		cr_assert_str_eq(f.server_ip, want);
		cr_assert_eq(f.json_ep_len, 0);
		uint64_t h = 0xcbf29ce484222325ULL;
		uint8_t bytes[2 * sizeof(struct isc_addr) + 4 + 8];
		size_t o = 0;
		memcpy(bytes + o, &fi.client, sizeof(fi.client)), o += sizeof(fi.client);
		memcpy(bytes + o, &fi.server, sizeof(fi.server)), o += sizeof(fi.server);
		bytes[o++] = (uint8_t)(fi.client_port >> 8);
		bytes[o++] = (uint8_t)fi.client_port;
		bytes[o++] = (uint8_t)(fi.server_port >> 8);
		bytes[o++] = (uint8_t)fi.server_port;
		for (int k = 0; k < 8; k++)
			bytes[o++] = (uint8_t)((uint64_t)fi.start >> (56 - 8 * k));
		for (size_t k = 0; k < o; k++) {
			h ^= bytes[k];
			h *= 0x100000001b3ULL;
		}
		char id[17];
		snprintf(id, sizeof(id), "%016llx", (unsigned long long)h);
		cr_assert_str_eq(f.id, id);
	}
}

/* The record writer makes room once for each run of bounded text (keys,
 * numbers, timestamps) between two strings. The longest runs come with
 * every number at its largest, the longest addresses and every string
 * missing (a null makes no room of its own beyond its 4 bytes): in a
 * build with assertions the writer checks each run against its room,
 * and each record must come out whole and parse. */
Test(json, records_at_their_longest)
{
	struct reasm_stats rs[2];
	memset(rs, 0, sizeof(rs));
	rs[0].retransmitted = rs[0].ooo_held = rs[0].overlaps =
		rs[0].inconsistent = UINT64_MAX;
	rs[1] = rs[0];
	struct out_flow fl = {
		.number = UINT64_MAX, .id = "ffffffffffffffff",
		.client_ip = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
		.server_ip = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.254",
		.client_port = 65535, .server_port = 65535,
		.community_id = "1:AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		.reasm = { &rs[0], &rs[1] },
	};
	const isc_time start = INT64_MAX / 2, end = INT64_MAX;
	struct imap_cmd_rec c = {
		.number = UINT64_MAX, .start = start, .end = end,
		.literals = UINT64_MAX, .literal_bytes = UINT64_MAX,
		.untagged = UINT64_MAX, .messages = UINT64_MAX,
	};
	struct imap_auth_rec a = { .start = start, .end = end };
	struct imap_session_rec s = {
		.msgs_fetched = UINT64_MAX, .msgs_appended = UINT64_MAX,
		.msgs_expunged = UINT64_MAX, .msgs_deleted = UINT64_MAX,
		.starttls = true, .commands = UINT64_MAX,
		.auth_attempts = UINT64_MAX, .auth_failures = UINT64_MAX,
		.anomalies = UINT64_MAX, .read_only = true, .utf8_accept = true,
	};
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < IMAP_HC_COUNT; k++)
			s.half[d][k] = UINT64_MAX;
	/* twice: without and then with the endpoints the flow keeps */
	for (int round = 0; round < 2; round++) {
		struct rec_writer w;
		rw_open(&w);
		size_t at[4];
		at[0] = w.len;
		out_json_session(w.j, &fl, end, NULL, &s);
		fflush(w.f);
		at[1] = w.len;
		out_json_command(w.j, &fl, &c);
		fflush(w.f);
		at[2] = w.len;
		out_json_auth(w.j, &fl, &a);
		fflush(w.f);
		at[3] = w.len;
		out_json_session(w.j, &fl, end, NULL, &s);
		fflush(w.f);
		cr_assert_eq(out_json_records(w.j), 4, "%s", w.buf);
		for (int i = 0; i < 4; i++) {
			size_t e = i < 3 ? at[i + 1] : w.len;
			cr_assert_gt(e, at[i] + 1);
			cr_assert_eq(w.buf[e - 1], '\n', "%d: %s", i, w.buf);
			char *one = strndup(w.buf + at[i], e - at[i]);
			json_object *r = json_tokener_parse(one);
			cr_assert_not_null(r, "%d: %s", i, one);
			json_object_put(r);
			free(one);
		}
		cr_assert_not_null(strstr(w.buf, "\"retransmitted\":"
					  "18446744073709551615,"), "%s", w.buf);
		rw_close(&w);
	}
}
