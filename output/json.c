/* output/json.c: see json.h. */
#include "json.h"
#include "text.h"

#include <json-c/json.h>
#include <openssl/ssl.h>
#include "../dissector/tlshello.h"
#include <stdlib.h>
#include <string.h>

struct out_json {
	FILE *f;
	bool flush;
	uint64_t records;
	struct out_buf tmp;
};

int out_json_new(FILE *f, bool flush, struct out_json **j_r)
{
	struct out_json *j = calloc(1, sizeof(*j));
	if (!j)
		return ISC_ENOMEM;
	j->f = f;
	j->flush = flush;
	*j_r = j;
	return 0;
}

void out_json_free(struct out_json **jp)
{
	if (!*jp)
		return;
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

/* ---- building blocks --------------------------------------------------- */

/* A JSON string from wire bytes, made valid UTF-8. */
static json_object *wire_str(struct out_json *j, const char *s)
{
	if (!s)
		return NULL;
	j->tmp.len = 0;
	out_utf8_sanitize(&j->tmp, (const uint8_t *)s, strlen(s));
	return json_object_new_string_len(j->tmp.p ? j->tmp.p : "", (int)j->tmp.len);
}

static json_object *obj(json_object *parent, const char *key)
{
	json_object *o = NULL;
	if (json_object_object_get_ex(parent, key, &o))
		return o;
	o = json_object_new_object();
	json_object_object_add(parent, key, o);
	return o;
}

static void add_str(json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, s ? json_object_new_string(s) : NULL);
}

static void add_int(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

static void add_time(json_object *o, const char *key, isc_time t)
{
	char buf[ISC_TIME_STRLEN];
	add_str(o, key, isc_time_format(t, buf));
}

static json_object *str_array(const char *const *v, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* The fields every record has. types: ECS event.type values, NULL-ended. */
static json_object *base(const char *dataset, const char *category,
			 const char *const *types, isc_time ts,
			 const struct out_flow *f)
{
	json_object *r = json_object_new_object();
	add_time(r, "@timestamp", ts);
	json_object *ev = obj(r, "event");
	add_str(ev, "dataset", dataset);
	add_str(ev, "kind", f ? "event" : "metric");	/* stats: no flow */
	json_object_object_add(ev, "category", str_array(&category, 1));
	size_t nt = 0;
	while (types && types[nt])
		nt++;
	if (nt)
		json_object_object_add(ev, "type", str_array(types, nt));
	if (f) {
		json_object *net = obj(r, "network");
		add_str(net, "transport", "tcp");
		add_str(net, "protocol", "imap");
		add_str(net, "community_id", f->community_id);
		json_object *src = obj(r, "source");
		add_str(src, "ip", f->client_ip);
		add_int(src, "port", f->client_port);
		json_object *dst = obj(r, "destination");
		add_str(dst, "ip", f->server_ip);
		add_int(dst, "port", f->server_port);
	}
	return r;
}

static void write_rec(struct out_json *j, json_object *r)
{
	const char *s = json_object_to_json_string_ext(
		r, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	fputs(s, j->f);
	fputc('\n', j->f);
	if (j->flush)
		fflush(j->f);
	json_object_put(r);
	j->records++;
}

static const char *outcome(const char *status)
{
	if (!status)
		return "unknown";
	return strcmp(status, "OK") ? "failure" : "success";
}

static void add_user(struct out_json *j, json_object *r, const char *user)
{
	if (user)
		json_object_object_add(obj(r, "user"), "name", wire_str(j, user));
}

static void add_span(json_object *ev, isc_time start, isc_time end)
{
	add_time(ev, "start", start);
	if (end && end < start)
		end = start;	/* the capture's clock went backwards */
	if (end) {
		add_time(ev, "end", end);
		add_int(ev, "duration", (uint64_t)(end - start));
	}
}

/* "IMAP4rev1 IDLE AUTH=PLAIN" as ["IMAP4rev1", "IDLE", "AUTH=PLAIN"] */
static json_object *caps_array(struct out_json *j, const char *caps)
{
	json_object *a = json_object_new_array();
	const char *c = caps;
	while (*c) {
		while (*c == ' ')
			c++;
		size_t l = strcspn(c, " ");
		if (l == 0)
			break;
		j->tmp.len = 0;
		out_utf8_sanitize(&j->tmp, (const uint8_t *)c, l);
		json_object_array_add(a, json_object_new_string_len(j->tmp.p, (int)j->tmp.len));
		c += l;
	}
	return a;
}

/* The pairs of an ID list (RFC 2971) as an object; a repeated key keeps
 * its first value. */
static void add_id(struct out_json *j, json_object *parent, const char *key,
		   const struct imap_kv *kv, size_t n)
{
	json_object *o = obj(parent, key);
	for (size_t i = 0; i < n; i++) {
		json_object *k = wire_str(j, kv[i].key);
		const char *ks = json_object_get_string(k);
		if (!json_object_object_get_ex(o, ks, NULL))
			json_object_object_add(o, ks, wire_str(j, kv[i].value));
		json_object_put(k);
	}
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

/* ECS tls.*: established, and what the clear-text hellos said. */
static void add_tls(struct out_json *j, json_object *r, const struct imap_session_rec *s)
{
	json_object *t = obj(r, "tls");
	json_object_object_add(t, "established", json_object_new_boolean(1));
	const char *v = tls_version_name(s->tls_version);
	if (v) {
		add_str(t, "version_protocol", v[0] == 'S' ? "ssl" : "tls");
		add_str(t, "version", v[0] == 'S' ? "3.0" : v + 4);
	}
	if (s->tls_cipher) {
		const char *n = cipher_name(s->tls_cipher);
		char hex[8];
		snprintf(hex, sizeof(hex), "0x%04X", s->tls_cipher);
		add_str(t, "cipher", n ? n : hex);
	}
	if (s->tls_sni && s->tls_sni[0])
		json_object_object_add(obj(t, "client"), "server_name",
				       wire_str(j, s->tls_sni));
	if (s->tls_client_version && tls_version_name(s->tls_client_version))
		add_str(obj(obj(r, "imap"), "tls"), "client_max_version",
			tls_version_name(s->tls_client_version));
}

/* ---- records ----------------------------------------------------------- */

void out_json_command(struct out_json *j, const struct out_flow *f,
		      const struct imap_cmd_rec *c)
{
	static const char *const types[] = { "protocol", NULL };
	json_object *r = base("imap.command", "network", types, c->start, f);
	json_object *ev = obj(r, "event");
	add_str(ev, "outcome", outcome(c->status));
	add_span(ev, c->start, c->end);
	add_user(j, r, c->user);
	json_object *im = obj(r, "imap");
	add_str(im, "session_id", f->id);
	add_int(im, "command_number", c->number);
	json_object_object_add(im, "tag", wire_str(j, c->tag));
	json_object_object_add(im, "command", wire_str(j, c->name));
	add_str(im, "status", c->status);
	json_object_object_add(im, "response_code", wire_str(j, c->resp_code));
	json_object_object_add(im, "response_text", wire_str(j, c->resp_text));
	if (c->mailbox)
		json_object_object_add(im, "mailbox", wire_str(j, c->mailbox));
	if (c->literals) {
		json_object *l = obj(im, "literals");
		add_int(l, "count", c->literals);
		add_int(l, "bytes", c->literal_bytes);
	}
	add_int(im, "untagged", c->untagged);
	if (c->messages)
		add_int(im, "messages", c->messages);
	write_rec(j, r);
}

void out_json_auth(struct out_json *j, const struct out_flow *f,
		   const struct imap_auth_rec *a)
{
	static const char *const types[] = { "start", NULL };
	json_object *r = base("imap.auth", "authentication", types, a->start, f);
	json_object *ev = obj(r, "event");
	add_str(ev, "outcome", outcome(a->status));
	add_span(ev, a->start, a->end);
	add_user(j, r, a->user);
	json_object *im = obj(r, "imap");
	add_str(im, "session_id", f->id);
	json_object *au = obj(im, "auth");
	add_str(au, "command", a->command);
	json_object_object_add(au, "mechanism", wire_str(j, a->mechanism));
	add_str(au, "status", a->status);
	json_object_object_add(au, "response_text", wire_str(j, a->resp_text));
	write_rec(j, r);
}

/* {"client": {"count", "bytes"}, "server": {...}} under im.key */
static void add_half(json_object *im, const char *key, const uint64_t *a,
		     const uint64_t *b)
{
	json_object *o = obj(im, key);
	json_object *c = obj(o, "client");
	add_int(c, "count", a[0]);
	add_int(c, "bytes", a[1]);
	json_object *s = obj(o, "server");
	add_int(s, "count", b[0]);
	add_int(s, "bytes", b[1]);
}

void out_json_session(struct out_json *j, const struct out_flow *f,
		      isc_time end, const char *end_reason,
		      const struct imap_session_rec *s)
{
	static const char *const types[] = { "connection", "end", NULL };
	json_object *r = base("imap.session", "network", types, f->start, f);
	json_object *ev = obj(r, "event");
	add_span(ev, f->start, end ? end : f->start);
	const uint64_t *cl = s->half[ISC_DIR_CLIENT], *sv = s->half[ISC_DIR_SERVER];
	add_int(obj(r, "source"), "bytes", cl[IMAP_HC_BYTES]);
	add_int(obj(r, "destination"), "bytes", sv[IMAP_HC_BYTES]);
	add_user(j, r, s->user);
	if (s->starttls)
		add_tls(j, r, s);
	json_object *im = obj(r, "imap");
	add_str(im, "session_id", f->id);
	add_int(im, "session_number", f->number);
	json_object_object_add(im, "greeting", wire_str(j, s->greeting));
	if (s->capabilities)
		json_object_object_add(im, "capabilities", caps_array(j, s->capabilities));
	add_str(im, "end_reason", end_reason);
	json_object_object_add(im, "midstream", json_object_new_boolean(f->midstream));
	json_object_object_add(im, "authenticated",
			       json_object_new_boolean(s->authenticated));
	json_object_object_add(im, "preauth", json_object_new_boolean(s->preauth));
	json_object_object_add(im, "starttls", json_object_new_boolean(s->starttls));
	json_object_object_add(im, "compress", json_object_new_boolean(s->compress));
	json_object_object_add(im, "cleartext_login",
			       json_object_new_boolean(s->cleartext_login));
	add_str(im, "state", s->state);
	if (s->mailbox)
		json_object_object_add(im, "mailbox", wire_str(j, s->mailbox));
	if (s->read_only)
		json_object_object_add(im, "read_only", json_object_new_boolean(1));
	if (s->utf8_accept)
		json_object_object_add(im, "utf8_accept", json_object_new_boolean(1));
	if (s->n_mailboxes) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; i < s->n_mailboxes; i++)
			json_object_array_add(a, wire_str(j, s->mailboxes[i]));
		json_object_object_add(im, "mailboxes", a);
	}
	if (s->n_id_client)
		add_id(j, obj(im, "id"), "client", s->id_client, s->n_id_client);
	if (s->n_id_server)
		add_id(j, obj(im, "id"), "server", s->id_server, s->n_id_server);
	json_object *msg = obj(im, "messages");
	add_int(msg, "fetched", s->msgs_fetched);
	add_int(msg, "appended", s->msgs_appended);
	add_int(msg, "expunged", s->msgs_expunged);
	add_int(msg, "deleted", s->msgs_deleted);
	json_object *cmds = obj(im, "commands");
	add_int(cmds, "total", s->commands);
	json_object *bn = obj(cmds, "by_name");
	for (size_t i = 0; i < s->n_by_name; i++) {
		json_object *k = wire_str(j, s->by_name[i].name);
		json_object_object_add(bn, json_object_get_string(k),
				       json_object_new_int64((int64_t)s->by_name[i].count));
		json_object_put(k);
	}
	json_object *au = obj(im, "auth");
	add_int(au, "attempts", s->auth_attempts);
	add_int(au, "failures", s->auth_failures);
	uint64_t lc[2] = { cl[IMAP_HC_LITERALS], cl[IMAP_HC_LITERAL_BYTES] };
	uint64_t ls[2] = { sv[IMAP_HC_LITERALS], sv[IMAP_HC_LITERAL_BYTES] };
	add_half(im, "literals", lc, ls);
	uint64_t gc[2] = { cl[IMAP_HC_GAPS], cl[IMAP_HC_GAP_BYTES] };
	uint64_t gs[2] = { sv[IMAP_HC_GAPS], sv[IMAP_HC_GAP_BYTES] };
	add_half(im, "gaps", gc, gs);
	if (s->starttls) {
		json_object *tl = obj(im, "encrypted_bytes");
		add_int(tl, "client", cl[IMAP_HC_OPAQUE_BYTES]);
		add_int(tl, "server", sv[IMAP_HC_OPAQUE_BYTES]);
	}
	add_str(im, "roles_from", f->role_basis);
	if (f->reasm[0] && f->reasm[1]) {
		json_object *tcp = obj(im, "tcp");
		for (int d = 0; d < 2; d++) {
			const struct reasm_stats *rs = f->reasm[d];
			json_object *o = obj(tcp, d == ISC_DIR_CLIENT ? "client" : "server");
			add_int(o, "retransmitted", rs->retransmitted);
			add_int(o, "out_of_order", rs->ooo_held);
			add_int(o, "overlaps", rs->overlaps);
			add_int(o, "inconsistent", rs->inconsistent);
		}
	}
	json_object *an = obj(im, "anomalies");
	add_int(an, "count", s->anomalies);
	json_object_object_add(an, "kinds",
			       str_array(s->anomaly_names, s->n_anomaly_names));
	write_rec(j, r);
}

void out_json_stats(struct out_json *j, isc_time ts, const struct out_stat *st,
		    size_t n)
{
	static const char *const types[] = { "info", NULL };
	json_object *r = base("imapscope.stats", "network", types, ts, NULL);
	json_object *is = obj(r, "imapscope");
	for (size_t i = 0; i < n; i++)
		add_int(obj(is, st[i].group), st[i].name, st[i].value);
	write_rec(j, r);
}
