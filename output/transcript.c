/* output/transcript.c: see transcript.h. */
#include "transcript.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

#define SPILL_AT (256u << 10)

#define COL_CLIENT "\033[36m"	/* cyan */
#define COL_SERVER "\033[33m"	/* yellow */
#define COL_MARK "\033[2m"	/* dim */
#define COL_OFF "\033[0m"

struct out_transcript {
	struct out_tr_config cfg;
	struct out_flow f;
	struct out_buf head;	/* header, made at the end when all is known */
	struct out_buf b;
	FILE *spill;		/* earlier text, once b grew past SPILL_AT */
};

static void spill(struct out_transcript *t)
{
	if (t->b.len < SPILL_AT)
		return;
	if (!t->spill)
		t->spill = tmpfile();
	if (!t->spill)
		return;		/* keep it in memory then */
	fwrite(t->b.p, 1, t->b.len, t->spill);
	t->b.len = 0;
}

static void endpoint(struct out_buf *b, const char *ip, uint16_t port)
{
	if (strchr(ip, ':'))
		out_buf_printf(b, "[%s]:%u", ip, port);
	else
		out_buf_printf(b, "%s:%u", ip, port);
}

int out_tr_new(const struct out_tr_config *cfg, const struct out_flow *f,
	       struct out_transcript **t_r)
{
	struct out_transcript *t = calloc(1, sizeof(*t));
	if (!t)
		return ISC_ENOMEM;
	t->cfg = *cfg;
	t->f = *f;
	*t_r = t;
	return 0;
}

void out_tr_free(struct out_transcript **tp)
{
	struct out_transcript *t = *tp;
	if (!t)
		return;
	out_buf_free(&t->head);
	out_buf_free(&t->b);
	if (t->spill)
		fclose(t->spill);
	free(t);
	*tp = NULL;
}

static void prefix(struct out_transcript *t, isc_time ts)
{
	if (t->cfg.reltime) {
		isc_time d = ts - t->f.start;
		if (d < 0)
			d = 0;
		out_buf_printf(&t->b, "+%lld.%06lld ", (long long)(d / ISC_NS_PER_SEC),
			       (long long)(d % ISC_NS_PER_SEC / 1000));
	}
}

static const char *side(enum isc_dir dir)
{
	return dir == ISC_DIR_CLIENT ? "client" : "server";
}

void out_tr_line(struct out_transcript *t, enum isc_dir dir, isc_time ts,
		 const uint8_t *p, size_t len)
{
	prefix(t, ts);
	if (t->cfg.color)
		out_buf_puts(&t->b, dir == ISC_DIR_CLIENT ? COL_CLIENT : COL_SERVER);
	out_buf_puts(&t->b, dir == ISC_DIR_CLIENT ? "C: " : "S: ");
	out_escape_text(&t->b, p, len);
	if (t->cfg.color)
		out_buf_puts(&t->b, COL_OFF);
	out_buf_puts(&t->b, "\n");
	spill(t);
}

void out_tr_literal(struct out_transcript *t, enum isc_dir dir, isc_time ts,
		    uint64_t size, const uint8_t *sample, size_t n, bool redacted)
{
	const char *lead = dir == ISC_DIR_CLIENT ? "C:   | " : "S:   | ";
	if (redacted) {
		prefix(t, ts);
		out_buf_puts(&t->b, lead);
		out_buf_puts(&t->b, "********\n");
		return;
	}
	/* the sample, a line of output per line of content */
	size_t i = 0;
	while (i < n) {
		const uint8_t *lf = memchr(sample + i, '\n', n - i);
		size_t e = lf ? (size_t)(lf - sample) : n;
		size_t l = e - i;
		if (lf && l > 0 && sample[e - 1] == '\r')
			l--;
		prefix(t, ts);
		out_buf_puts(&t->b, lead);
		out_escape_text(&t->b, sample + i, l);
		out_buf_puts(&t->b, "\n");
		i = lf ? e + 1 : n;
	}
	if (size > n) {
		prefix(t, ts);
		out_buf_printf(&t->b, "%c:   ... (%llu more bytes)\n",
			       dir == ISC_DIR_CLIENT ? 'C' : 'S',
			       (unsigned long long)(size - n));
	}
	spill(t);
}

static void mark_open(struct out_transcript *t, isc_time ts)
{
	prefix(t, ts);
	if (t->cfg.color)
		out_buf_puts(&t->b, COL_MARK);
	out_buf_puts(&t->b, "-- ");
}

static void mark_close(struct out_transcript *t)
{
	out_buf_puts(&t->b, " --");
	if (t->cfg.color)
		out_buf_puts(&t->b, COL_OFF);
	out_buf_puts(&t->b, "\n");
}

void out_tr_marker(struct out_transcript *t, enum isc_dir dir, isc_time ts,
		   enum imap_marker m, uint64_t arg, const char *text)
{
	unsigned long long a = (unsigned long long)arg;
	switch (m) {
	case IMAP_MARK_GAP:
		mark_open(t, ts);
		out_buf_printf(&t->b, "gap: %llu bytes missing (%s)", a, side(dir));
		break;
	case IMAP_MARK_RESYNC:
		mark_open(t, ts);
		out_buf_printf(&t->b, "resync: %llu bytes skipped (%s)", a, side(dir));
		break;
	case IMAP_MARK_COMPRESS:
		mark_open(t, ts);
		out_buf_puts(&t->b, "COMPRESS=DEFLATE on");
		break;
	case IMAP_MARK_ANOMALY:
		mark_open(t, ts);
		out_buf_printf(&t->b, "anomaly: %s (%s)", text ? text : "?", side(dir));
		break;
	case IMAP_MARK_STARTTLS:
	default:
		return;		/* summed up at the end, with byte counts */
	}
	mark_close(t);
}

void out_tr_auth(struct out_transcript *t, const struct imap_auth_rec *r)
{
	mark_open(t, r->end);
	if (r->mechanism) {	/* the mechanism name comes from the wire */
		out_buf_puts(&t->b, "auth AUTHENTICATE ");
		out_escape_text(&t->b, (const uint8_t *)r->mechanism,
				strlen(r->mechanism));
		out_buf_puts(&t->b, ": user ");
	} else {
		out_buf_printf(&t->b, "auth %s: user ", r->command);
	}
	if (r->user) {
		out_buf_puts(&t->b, "\"");
		out_escape_text(&t->b, (const uint8_t *)r->user, strlen(r->user));
		out_buf_puts(&t->b, "\"");
	} else {
		out_buf_puts(&t->b, "unknown");
	}
	out_buf_printf(&t->b, ", %s", r->status ? r->status : "no answer");
	mark_close(t);
}

/* "Thunderbird 115.0" from an ID list's name and version, if any. */
static void software(struct out_buf *b, const char *who,
		    const struct imap_kv *kv, size_t n)
{
	const char *name = NULL, *version = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!name && !strcmp(kv[i].key, "name"))
			name = kv[i].value;
		if (!version && !strcmp(kv[i].key, "version"))
			version = kv[i].value;
	}
	if (!name)
		return;
	out_buf_printf(b, "# %s: ", who);
	out_escape_text(b, (const uint8_t *)name, strlen(name));
	if (version) {
		out_buf_puts(b, " ");
		out_escape_text(b, (const uint8_t *)version, strlen(version));
	}
	out_buf_puts(b, "\n");
}

static void header(struct out_transcript *t, const struct imap_session_rec *r)
{
	const struct out_flow *f = &t->f;
	char ts[ISC_TIME_STRLEN];
	out_buf_printf(&t->head, "# session %llu  ", (unsigned long long)f->number);
	endpoint(&t->head, f->client_ip, f->client_port);
	out_buf_puts(&t->head, " -> ");
	endpoint(&t->head, f->server_ip, f->server_port);
	out_buf_printf(&t->head, "  %s  id %s%s\n", isc_time_format(f->start, ts),
		       f->id, f->midstream ? "  (joined midstream)" : "");
	software(&t->head, "client", r->id_client, r->n_id_client);
	software(&t->head, "server", r->id_server, r->n_id_server);
}

void out_tr_end(struct out_transcript *t, isc_time ts, const char *end_reason,
		const struct imap_session_rec *r)
{
	header(t, r);
	if (r->starttls) {
		mark_open(t, ts);
		out_buf_printf(&t->b, "STARTTLS: %llu bytes C->S, %llu bytes S->C encrypted",
			       (unsigned long long)r->half[ISC_DIR_CLIENT][IMAP_HC_OPAQUE_BYTES],
			       (unsigned long long)r->half[ISC_DIR_SERVER][IMAP_HC_OPAQUE_BYTES]);
		mark_close(t);
	}
	mark_open(t, ts);
	if (!strcmp(end_reason, "eof"))
		out_buf_puts(&t->b, "capture ends");
	else
		out_buf_printf(&t->b, "session ends: %s", end_reason);
	out_buf_printf(&t->b, "; %llu commands, %llu bytes C->S, %llu bytes S->C",
		       (unsigned long long)r->commands,
		       (unsigned long long)r->half[ISC_DIR_CLIENT][IMAP_HC_BYTES],
		       (unsigned long long)r->half[ISC_DIR_SERVER][IMAP_HC_BYTES]);
	mark_close(t);
	out_buf_puts(&t->b, "\n");
}

int out_tr_write(struct out_transcript *t, FILE *f)
{
	if (t->head.len && fwrite(t->head.p, 1, t->head.len, f) != t->head.len)
		return ISC_EIO;
	if (t->spill) {
		char buf[65536];
		size_t n;
		rewind(t->spill);
		while ((n = fread(buf, 1, sizeof(buf), t->spill)) > 0)
			if (fwrite(buf, 1, n, f) != n)
				return ISC_EIO;
	}
	if (t->b.len && fwrite(t->b.p, 1, t->b.len, f) != t->b.len)
		return ISC_EIO;
	return 0;
}
