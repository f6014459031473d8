/* output/json.c: see json.h.
 *
 * Records are written straight into a buffer as JSON text, member by
 * member, and the buffer goes out with one fwrite: building a json-c
 * object tree for every record (one allocation per member, a hash table
 * per object) cost two thirds of the run time on a capture of many short
 * sessions. The escaping follows json-c's (and RFC 8259): \" \\ \b \f
 * \n \r \t, other control characters as \u00XX, "/" as it is; wire
 * strings are made valid UTF-8 first (output/text.h). json-c stays what
 * the tests parse records with. */
#include "json.h"
#include "text.h"

#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include "../dissector/tlshello.h"

#define JW_DEPTH 8		/* nesting of the records' objects */

struct out_json {
	FILE *f;
	bool flush;
	uint64_t records;
	struct out_buf b;	/* the record being written */
	struct out_buf tmp;	/* a wire string made valid UTF-8 */
	bool first[JW_DEPTH];	/* no member yet at this depth */
	int depth;
	/* the date and time of day of the last timestamp written, so that
	 * gmtime runs once a second, not once a field */
	int64_t tsec;
	char tstr[24];		/* "2026-11-25T10:00:00." */
};

int out_json_new(FILE *f, bool flush, struct out_json **j_r)
{
	struct out_json *j = calloc(1, sizeof(*j));
	if (!j)
		return ISC_ENOMEM;
	j->f = f;
	j->flush = flush;
	j->tsec = INT64_MIN;
	*j_r = j;
	return 0;
}

void out_json_free(struct out_json **jp)
{
	if (!*jp)
		return;
	out_buf_free(&(*jp)->b);
	out_buf_free(&(*jp)->tmp);
	free(*jp);
	*jp = NULL;
}

void out_json_set_file(struct out_json *j, FILE *f)
{
	j->f = f;
}

uint64_t out_json_records(const struct out_json *j)
{
	return j->records;
}

/* ---- the writer -------------------------------------------------------- */

/* Appends s as a JSON string body (no quotes), escaped. */
static void esc(struct out_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;
	while (i < n) {
		size_t run = i;
		while (run < n && (uint8_t)s[run] >= 0x20 && s[run] != '"' &&
		       s[run] != '\\')
			run++;
		out_buf_put(b, s + i, run - i);
		if (run >= n)
			break;
		uint8_t c = (uint8_t)s[run];
		char e[6] = { '\\', 0 };
		size_t el = 2;
		switch (c) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			e[1] = 'u';
			e[2] = '0';
			e[3] = '0';
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			el = 6;
		}
		out_buf_put(b, e, el);
		i = run + 1;
	}
}

/* The comma and "key": that start a member (key NULL in an array). Keys
 * are this file's own names, or wire names made valid UTF-8 and escaped
 * by the caller (member_wire). */
static void member(struct out_json *j, const char *key)
{
	if (!j->first[j->depth])
		out_buf_put(&j->b, ",", 1);
	j->first[j->depth] = false;
	if (key) {
		out_buf_put(&j->b, "\"", 1);
		out_buf_put(&j->b, key, strlen(key));
		out_buf_put(&j->b, "\":", 2);
	}
}

/* A member whose key comes from the wire (ID parameters, command names). */
static void member_wire(struct out_json *j, const char *key)
{
	if (!j->first[j->depth])
		out_buf_put(&j->b, ",", 1);
	j->first[j->depth] = false;
	j->tmp.len = 0;
	out_utf8_sanitize(&j->tmp, (const uint8_t *)key, strlen(key));
	out_buf_put(&j->b, "\"", 1);
	esc(&j->b, j->tmp.p ? j->tmp.p : "", j->tmp.len);
	out_buf_put(&j->b, "\":", 2);
}

static void open_(struct out_json *j, const char *key, char c)
{
	member(j, key);
	out_buf_put(&j->b, &c, 1);
	if (j->depth + 1 < JW_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void obj_open(struct out_json *j, const char *key) { open_(j, key, '{'); }
static void arr_open(struct out_json *j, const char *key) { open_(j, key, '['); }

static void close_(struct out_json *j, char c)
{
	out_buf_put(&j->b, &c, 1);
	if (j->depth > 0)
		j->depth--;
}

static void obj_close(struct out_json *j) { close_(j, '}'); }
static void arr_close(struct out_json *j) { close_(j, ']'); }

/* A string we made (ASCII names, addresses), or null. */
static void str(struct out_json *j, const char *key, const char *s)
{
	member(j, key);
	if (!s) {
		out_buf_put(&j->b, "null", 4);
		return;
	}
	out_buf_put(&j->b, "\"", 1);
	esc(&j->b, s, strlen(s));
	out_buf_put(&j->b, "\"", 1);
}

/* The value of a string from the wire, made valid UTF-8, or null. */
static void wire_value(struct out_json *j, const char *s)
{
	if (!s) {
		out_buf_put(&j->b, "null", 4);
		return;
	}
	j->tmp.len = 0;
	out_utf8_sanitize(&j->tmp, (const uint8_t *)s, strlen(s));
	out_buf_put(&j->b, "\"", 1);
	esc(&j->b, j->tmp.p ? j->tmp.p : "", j->tmp.len);
	out_buf_put(&j->b, "\"", 1);
}

static void wire(struct out_json *j, const char *key, const char *s)
{
	member(j, key);
	wire_value(j, s);
}

/* A non-negative integer (counts, ports, durations): digits by hand,
 * as printf's machinery showed in the profile. Values above INT64_MAX
 * are written as they are, which JSON allows. */
static void u64_bare(struct out_json *j, uint64_t v)
{
	char d[24];
	size_t i = sizeof(d);
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_buf_put(&j->b, d + i, sizeof(d) - i);
}

static void u64(struct out_json *j, const char *key, uint64_t v)
{
	member(j, key);
	u64_bare(j, v);
}

static void boolean(struct out_json *j, const char *key, bool v)
{
	member(j, key);
	out_buf_put(&j->b, v ? "true" : "false", v ? 4 : 5);
}

/* RFC 3339 UTC with microseconds, as isc_time_format() writes it. */
static void timestamp(struct out_json *j, const char *key, isc_time t)
{
	int64_t sec = t / ISC_NS_PER_SEC, ns = t % ISC_NS_PER_SEC;
	if (ns < 0) {
		ns += ISC_NS_PER_SEC;
		sec--;
	}
	if (sec != j->tsec) {
		char full[ISC_TIME_STRLEN];
		isc_time_format(sec * ISC_NS_PER_SEC, full);
		memcpy(j->tstr, full, 20);	/* up to and with the "." */
		j->tsec = sec;
	}
	char us[8];
	int v = (int)(ns / 1000);
	for (int k = 5; k >= 0; k--, v /= 10)
		us[k] = (char)('0' + v % 10);
	member(j, key);
	out_buf_put(&j->b, "\"", 1);
	out_buf_put(&j->b, j->tstr, 20);
	out_buf_put(&j->b, us, 6);
	out_buf_put(&j->b, "Z\"", 2);
}

static void record_open(struct out_json *j)
{
	j->b.len = 0;
	j->depth = 0;
	j->first[0] = true;
	out_buf_put(&j->b, "{", 1);
}

static void record_close(struct out_json *j)
{
	out_buf_put(&j->b, "}\n", 2);
	fwrite(j->b.p, 1, j->b.len, j->f);
	if (j->flush)
		fflush(j->f);
	j->records++;
}

/* ---- the fields of many records ----------------------------------------- */

static const char *outcome(const char *status)
{
	if (!status)
		return "unknown";
	return strcmp(status, "OK") ? "failure" : "success";
}

/* @timestamp, then event's first members (the caller adds more and
 * closes it). types: ECS event.type values, NULL-ended. */
static void head(struct out_json *j, const char *dataset, const char *kind,
		 const char *category, const char *const *types, isc_time ts)
{
	timestamp(j, "@timestamp", ts);
	obj_open(j, "event");
	str(j, "dataset", dataset);
	str(j, "kind", kind);
	arr_open(j, "category");
	str(j, NULL, category);
	arr_close(j);
	arr_open(j, "type");
	for (size_t i = 0; types[i]; i++)
		str(j, NULL, types[i]);
	arr_close(j);
}

static void span(struct out_json *j, isc_time start, isc_time end)
{
	timestamp(j, "start", start);
	if (end && end < start)
		end = start;	/* the capture's clock went backwards */
	if (end) {
		timestamp(j, "end", end);
		u64(j, "duration", (uint64_t)(end - start));
	}
}

/* network, source, destination; bytes given (not NULL) for sessions. */
static void endpoints(struct out_json *j, const struct out_flow *f,
		      const uint64_t *src_bytes, const uint64_t *dst_bytes)
{
	obj_open(j, "network");
	str(j, "transport", "tcp");
	str(j, "protocol", "imap");
	str(j, "community_id", f->community_id);
	obj_close(j);
	obj_open(j, "source");
	str(j, "ip", f->client_ip);
	u64(j, "port", f->client_port);
	if (src_bytes)
		u64(j, "bytes", *src_bytes);
	obj_close(j);
	obj_open(j, "destination");
	str(j, "ip", f->server_ip);
	u64(j, "port", f->server_port);
	if (dst_bytes)
		u64(j, "bytes", *dst_bytes);
	obj_close(j);
}

static void user(struct out_json *j, const char *name)
{
	if (!name)
		return;
	obj_open(j, "user");
	wire(j, "name", name);
	obj_close(j);
}

/* The IANA name of a TLS cipher suite, from OpenSSL's table, or NULL. */
static const char *cipher_name(uint16_t id)
{
	static SSL_CTX *ctx;
	static SSL *ssl;
	if (!ssl) {
		if (!ctx)
			ctx = SSL_CTX_new(TLS_method());
		if (ctx)
			ssl = SSL_new(ctx);
		if (!ssl)
			return NULL;
	}
	const unsigned char b[2] = { (unsigned char)(id >> 8), (unsigned char)id };
	const SSL_CIPHER *c = SSL_CIPHER_find(ssl, b);
	return c ? SSL_CIPHER_standard_name(c) : NULL;
}

/* ---- records ----------------------------------------------------------- */

/* The start of a command or auth record, up to and with the opening of
 * "imap" and its session_id: what the two have in common. */
static void exchange_open(struct out_json *j, const struct out_flow *f,
			  const char *dataset, const char *category,
			  const char *const *types, const char *status,
			  isc_time start, isc_time end, const char *user_name)
{
	record_open(j);
	head(j, dataset, "event", category, types, start);
	str(j, "outcome", outcome(status));
	span(j, start, end);
	obj_close(j);
	endpoints(j, f, NULL, NULL);
	user(j, user_name);
	obj_open(j, "imap");
	str(j, "session_id", f->id);
}

void out_json_command(struct out_json *j, const struct out_flow *f,
		      const struct imap_cmd_rec *c)
{
	static const char *const types[] = { "protocol", NULL };
	exchange_open(j, f, "imap.command", "network", types, c->status,
		      c->start, c->end, c->user);
	u64(j, "command_number", c->number);
	wire(j, "tag", c->tag);
	wire(j, "command", c->name);
	str(j, "status", c->status);
	wire(j, "response_code", c->resp_code);
	wire(j, "response_text", c->resp_text);
	if (c->mailbox)
		wire(j, "mailbox", c->mailbox);
	if (c->literals) {
		obj_open(j, "literals");
		u64(j, "count", c->literals);
		u64(j, "bytes", c->literal_bytes);
		obj_close(j);
	}
	u64(j, "untagged", c->untagged);
	if (c->messages)
		u64(j, "messages", c->messages);
	obj_close(j);
	record_close(j);
}

void out_json_auth(struct out_json *j, const struct out_flow *f,
		   const struct imap_auth_rec *a)
{
	static const char *const types[] = { "start", NULL };
	exchange_open(j, f, "imap.auth", "authentication", types, a->status,
		      a->start, a->end, a->user);
	obj_open(j, "auth");
	str(j, "command", a->command);
	wire(j, "mechanism", a->mechanism);
	str(j, "status", a->status);
	wire(j, "response_text", a->resp_text);
	obj_close(j);
	obj_close(j);
	record_close(j);
}

/* ECS tls.*: established, and what the clear-text hellos said. */
static void tls(struct out_json *j, const struct imap_session_rec *s)
{
	obj_open(j, "tls");
	boolean(j, "established", true);
	const char *v = tls_version_name(s->tls_version);
	if (v) {
		str(j, "version_protocol", v[0] == 'S' ? "ssl" : "tls");
		str(j, "version", v[0] == 'S' ? "3.0" : v + 4);
	}
	if (s->tls_cipher) {
		const char *n = cipher_name(s->tls_cipher);
		char hex[8];
		snprintf(hex, sizeof(hex), "0x%04X", s->tls_cipher);
		str(j, "cipher", n ? n : hex);
	}
	if (s->tls_sni && s->tls_sni[0]) {
		obj_open(j, "client");
		wire(j, "server_name", s->tls_sni);
		obj_close(j);
	}
	obj_close(j);
}

/* "IMAP4rev1 IDLE AUTH=PLAIN" as ["IMAP4rev1", "IDLE", "AUTH=PLAIN"] */
static void caps(struct out_json *j, const char *caps)
{
	char atom[256];
	arr_open(j, "capabilities");
	for (const char *c = caps; *c;) {
		while (*c == ' ')
			c++;
		size_t l = strcspn(c, " ");
		if (l == 0)
			break;
		size_t k = l < sizeof(atom) - 1 ? l : sizeof(atom) - 1;
		memcpy(atom, c, k);
		atom[k] = '\0';
		wire(j, NULL, atom);
		c += l;
	}
	arr_close(j);
}

/* The pairs of an ID list (RFC 2971) as an object; a repeated key keeps
 * its first value. */
static void id_params(struct out_json *j, const char *key,
		      const struct imap_kv *kv, size_t n)
{
	obj_open(j, key);
	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; k < i; k++)
			if (!strcmp(kv[k].key, kv[i].key))
				break;
		if (k < i)
			continue;
		member_wire(j, kv[i].key);
		wire_value(j, kv[i].value);
	}
	obj_close(j);
}

/* {"client": {"count", "bytes"}, "server": {...}} */
static void halves(struct out_json *j, const char *key, const uint64_t *a,
		   const uint64_t *b)
{
	obj_open(j, key);
	obj_open(j, "client");
	u64(j, "count", a[0]);
	u64(j, "bytes", a[1]);
	obj_close(j);
	obj_open(j, "server");
	u64(j, "count", b[0]);
	u64(j, "bytes", b[1]);
	obj_close(j);
	obj_close(j);
}

static void session_state(struct out_json *j, const struct out_flow *f,
			  const char *end_reason, const struct imap_session_rec *s)
{
	str(j, "session_id", f->id);
	u64(j, "session_number", f->number);
	wire(j, "greeting", s->greeting);
	if (s->capabilities)
		caps(j, s->capabilities);
	str(j, "end_reason", end_reason);
	boolean(j, "midstream", f->midstream);
	boolean(j, "authenticated", s->authenticated);
	boolean(j, "preauth", s->preauth);
	boolean(j, "starttls", s->starttls);
	boolean(j, "compress", s->compress);
	boolean(j, "cleartext_login", s->cleartext_login);
	str(j, "state", s->state);
	if (s->mailbox)
		wire(j, "mailbox", s->mailbox);
	if (s->read_only)
		boolean(j, "read_only", true);
	if (s->utf8_accept)
		boolean(j, "utf8_accept", true);
	if (s->n_mailboxes) {
		arr_open(j, "mailboxes");
		for (size_t i = 0; i < s->n_mailboxes; i++)
			wire(j, NULL, s->mailboxes[i]);
		arr_close(j);
	}
	if (s->n_id_client || s->n_id_server) {
		obj_open(j, "id");
		if (s->n_id_client)
			id_params(j, "client", s->id_client, s->n_id_client);
		if (s->n_id_server)
			id_params(j, "server", s->id_server, s->n_id_server);
		obj_close(j);
	}
}

void out_json_session(struct out_json *j, const struct out_flow *f,
		      isc_time end, const char *end_reason,
		      const struct imap_session_rec *s)
{
	static const char *const types[] = { "connection", "end", NULL };
	const uint64_t *cl = s->half[ISC_DIR_CLIENT], *sv = s->half[ISC_DIR_SERVER];
	record_open(j);
	head(j, "imap.session", "event", "network", types, f->start);
	span(j, f->start, end ? end : f->start);
	obj_close(j);
	endpoints(j, f, &cl[IMAP_HC_BYTES], &sv[IMAP_HC_BYTES]);
	user(j, s->user);
	if (s->starttls)
		tls(j, s);
	obj_open(j, "imap");
	session_state(j, f, end_reason, s);
	obj_open(j, "messages");
	u64(j, "fetched", s->msgs_fetched);
	u64(j, "appended", s->msgs_appended);
	u64(j, "expunged", s->msgs_expunged);
	u64(j, "deleted", s->msgs_deleted);
	obj_close(j);
	obj_open(j, "commands");
	u64(j, "total", s->commands);
	obj_open(j, "by_name");
	for (size_t i = 0; i < s->n_by_name; i++) {
		member_wire(j, s->by_name[i].name);
		u64_bare(j, s->by_name[i].count);
	}
	obj_close(j);
	obj_close(j);
	obj_open(j, "auth");
	u64(j, "attempts", s->auth_attempts);
	u64(j, "failures", s->auth_failures);
	obj_close(j);
	uint64_t lc[2] = { cl[IMAP_HC_LITERALS], cl[IMAP_HC_LITERAL_BYTES] };
	uint64_t ls[2] = { sv[IMAP_HC_LITERALS], sv[IMAP_HC_LITERAL_BYTES] };
	halves(j, "literals", lc, ls);
	uint64_t gc[2] = { cl[IMAP_HC_GAPS], cl[IMAP_HC_GAP_BYTES] };
	uint64_t gs[2] = { sv[IMAP_HC_GAPS], sv[IMAP_HC_GAP_BYTES] };
	halves(j, "gaps", gc, gs);
	if (s->starttls) {
		obj_open(j, "encrypted_bytes");
		u64(j, "client", cl[IMAP_HC_OPAQUE_BYTES]);
		u64(j, "server", sv[IMAP_HC_OPAQUE_BYTES]);
		obj_close(j);
		const char *mv = tls_version_name(s->tls_client_version);
		if (s->tls_client_version && mv) {
			obj_open(j, "tls");
			str(j, "client_max_version", mv);
			obj_close(j);
		}
	}
	str(j, "roles_from", f->role_basis);
	if (f->reasm[0] && f->reasm[1]) {
		obj_open(j, "tcp");
		for (int d = 0; d < 2; d++) {
			const struct reasm_stats *rs = f->reasm[d];
			obj_open(j, d == ISC_DIR_CLIENT ? "client" : "server");
			u64(j, "retransmitted", rs->retransmitted);
			u64(j, "out_of_order", rs->ooo_held);
			u64(j, "overlaps", rs->overlaps);
			u64(j, "inconsistent", rs->inconsistent);
			obj_close(j);
		}
		obj_close(j);
	}
	obj_open(j, "anomalies");
	u64(j, "count", s->anomalies);
	arr_open(j, "kinds");
	for (size_t i = 0; i < s->n_anomaly_names; i++)
		str(j, NULL, s->anomaly_names[i]);
	arr_close(j);
	obj_close(j);
	obj_close(j);
	record_close(j);
}

void out_json_stats(struct out_json *j, isc_time ts, const struct out_stat *st,
		    size_t n)
{
	static const char *const types[] = { "info", NULL };
	record_open(j);
	head(j, "imapscope.stats", "metric", "network", types, ts);
	obj_close(j);
	obj_open(j, "imapscope");
	/* a group's counters together, groups in the order they first come */
	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; k < i; k++)
			if (!strcmp(st[k].group, st[i].group))
				break;
		if (k < i)
			continue;
		obj_open(j, st[i].group);
		for (k = i; k < n; k++)
			if (!strcmp(st[k].group, st[i].group))
				u64(j, st[k].name, st[k].value);
		obj_close(j);
	}
	obj_close(j);
	record_close(j);
}
