/* dissector/imap.c: the IMAP session state machine (see imap.h).
 *
 * Each direction ("half") is framed into lines and literals:
 *   PS_LINE      collecting a line up to LF (in place when it is whole in
 *                the input, else in a line buffer capped at max_line);
 *   PS_LITERAL   counting down a literal's content, sampling its start;
 *   PS_LIT_WAIT  client only: a synchronizing literal was announced and the
 *                server has not yet answered "+" (RFC 3501 7.5) or refused;
 *   PS_OPAQUE    after STARTTLS: bytes are counted, not parsed.
 * A half "hunts" after a gap or when the capture joined midstream: lines
 * are skipped until one parses as a plausible command or response.
 * COMPRESS=DEFLATE (RFC 4978) puts a raw-deflate inflater in front of the
 * framing of each direction.
 *
 * Lines are interpreted per direction: client lines are commands (or SASL
 * responses during AUTHENTICATE, or DONE during IDLE); server lines are the
 * greeting, untagged responses, continuation requests and tagged
 * completions, matched to pending commands by tag, first in first out. */
#include "imap.h"
#include "scan.h"
#include "sasl.h"
#include "names.h"
#include "tlshello.h"
#include "../common/pool.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define TAG_CAP 64		/* tag bytes kept; longer tags are cut */
#define NAME_CAP 32		/* command name bytes kept ("UID FETCH") */
#define ARG_CAP 512		/* bytes kept of each interesting argument */
#define NARGS 3			/* arguments kept after the command name */
#define TAIL_KEEP 32		/* last bytes kept of an over-long line */
#define CAPS_CAP 1024		/* capability string kept */
#define MAX_NAMES 64		/* distinct command names counted */
#define MAX_ANOM_NAMES 16
#define GREETING_INLINE 256	/* greeting bytes kept in the session's block */
#define PEND_INLINE 4		/* pending entries in the session's block */
#define NAMES_INLINE 16		/* command names counted in the block */
#define MAX_MAILBOXES 32	/* distinct mailbox names kept per session */
#define INFLATE_CHUNK 16384
#define TLS_PEEK 4096		/* bytes of a TLS stream kept to read its hello */

enum pstate { PS_LINE, PS_LITERAL, PS_LIT_WAIT, PS_OPAQUE };

enum cmd_kind {
	CK_OTHER, CK_LOGIN, CK_AUTHENTICATE, CK_SELECT, CK_EXAMINE, CK_LOGOUT,
	CK_STARTTLS, CK_COMPRESS, CK_IDLE, CK_ID, CK_ENABLE, CK_APPEND,
	CK_STORE, CK_FETCH, CK_CLOSE, CK_RENAME,
};

/* The command names of RFC 3501, RFC 9051 and the extensions in common
 * use, with what the dissector does with each: its kind, and which
 * argument names a mailbox (0 = first argument after the name; -1 none).
 * A line must name one of these (or an X- command) to be taken as a
 * command while resynchronizing.
 *
 * The table is indexed by a hash of the name's length and its first,
 * last but one and last letters, with no two names in one slot: one
 * look and one compare find a name, or tell it is none of these. The
 * slots are written out here, as C has no way to work them out from
 * the strings when compiling (gcc's -Woverride-init, on with -Wextra,
 * catches two names given one slot; test_dissector.c looks every name
 * up). Before, a table built at the first command (call_once() at
 * every command) was probed with a name first copied in upper case,
 * and each session's counts were searched with strcmp(): with the
 * names now matched in place and counted by their entry (see
 * count_name()), bench's small capture went from 2,035 to 1,988
 * instructions a packet, mixed from 1,235 to 1,216, many-flows from
 * 2,334 to 2,301. */
struct cmd_info {
	const char *name;	/* upper case */
	uint8_t len;
	uint8_t kind;		/* enum cmd_kind */
	int8_t mailbox_arg;
	const char *uid_name;	/* "UID " name (RFC 3501 6.4.8), if it is one */
};

#define CMD_SLOTS 128
#define CMD_SLOT(len, first, penult, last) \
	(((size_t)(len) * 7 + (size_t)(first) * 5 + (size_t)(penult) * 4 + \
	  (size_t)(last) * 18) & (CMD_SLOTS - 1))
#define AT(len, first, penult, last) [CMD_SLOT(len, first, penult, last)] =
#define N(name) name, sizeof(name) - 1

static const struct cmd_info cmd_at[CMD_SLOTS] = {
	AT(6, 'A', 'N', 'D') { N("APPEND"), CK_APPEND, 0, NULL },
	AT(12, 'A', 'T', 'E') { N("AUTHENTICATE"), CK_AUTHENTICATE, -1, NULL },
	AT(12, 'C', 'T', 'E') { N("CANCELUPDATE"), CK_OTHER, -1, NULL },
	AT(10, 'C', 'T', 'Y') { N("CAPABILITY"), CK_OTHER, -1, NULL },
	AT(5, 'C', 'C', 'K') { N("CHECK"), CK_OTHER, -1, NULL },
	AT(5, 'C', 'S', 'E') { N("CLOSE"), CK_CLOSE, -1, NULL },
	AT(8, 'C', 'S', 'S') { N("COMPRESS"), CK_COMPRESS, -1, NULL },
	AT(4, 'C', 'P', 'Y') { N("COPY"), CK_OTHER, 1, "UID COPY" },
	AT(6, 'C', 'T', 'E') { N("CREATE"), CK_OTHER, 0, NULL },
	AT(6, 'D', 'T', 'E') { N("DELETE"), CK_OTHER, 0, NULL },
	AT(9, 'D', 'C', 'L') { N("DELETEACL"), CK_OTHER, 0, NULL },
	AT(4, 'D', 'N', 'E') { N("DONE"), CK_OTHER, -1, NULL },
	AT(6, 'E', 'L', 'E') { N("ENABLE"), CK_ENABLE, -1, NULL },
	AT(7, 'E', 'C', 'H') { N("ESEARCH"), CK_OTHER, -1, NULL },
	AT(7, 'E', 'N', 'E') { N("EXAMINE"), CK_EXAMINE, 0, NULL },
	AT(7, 'E', 'G', 'E') { N("EXPUNGE"), CK_OTHER, -1, "UID EXPUNGE" },
	AT(5, 'F', 'C', 'H') { N("FETCH"), CK_FETCH, -1, "UID FETCH" },
	AT(6, 'G', 'C', 'L') { N("GETACL"), CK_OTHER, 0, NULL },
	AT(13, 'G', 'S', 'S') { N("GETJMAPACCESS"), CK_OTHER, -1, NULL },
	AT(11, 'G', 'T', 'A') { N("GETMETADATA"), CK_OTHER, -1, NULL },
	AT(8, 'G', 'T', 'A') { N("GETQUOTA"), CK_OTHER, -1, NULL },
	AT(12, 'G', 'O', 'T') { N("GETQUOTAROOT"), CK_OTHER, 0, NULL },
	AT(2, 'I', 'I', 'D') { N("ID"), CK_ID, -1, NULL },
	AT(4, 'I', 'L', 'E') { N("IDLE"), CK_IDLE, -1, NULL },
	AT(4, 'L', 'S', 'T') { N("LIST"), CK_OTHER, -1, NULL },
	AT(10, 'L', 'T', 'S') { N("LISTRIGHTS"), CK_OTHER, 0, NULL },
	AT(5, 'L', 'I', 'N') { N("LOGIN"), CK_LOGIN, -1, NULL },
	AT(6, 'L', 'U', 'T') { N("LOGOUT"), CK_LOGOUT, -1, NULL },
	AT(4, 'L', 'U', 'B') { N("LSUB"), CK_OTHER, -1, NULL },
	AT(4, 'M', 'V', 'E') { N("MOVE"), CK_OTHER, 1, "UID MOVE" },
	AT(8, 'M', 'T', 'S') { N("MYRIGHTS"), CK_OTHER, 0, NULL },
	AT(9, 'N', 'C', 'E') { N("NAMESPACE"), CK_OTHER, -1, NULL },
	AT(4, 'N', 'O', 'P') { N("NOOP"), CK_OTHER, -1, NULL },
	AT(6, 'N', 'F', 'Y') { N("NOTIFY"), CK_OTHER, -1, NULL },
	AT(6, 'R', 'M', 'E') { N("RENAME"), CK_RENAME, 0, NULL },
	AT(7, 'R', 'C', 'E') { N("REPLACE"), CK_OTHER, -1, NULL },
	AT(6, 'S', 'C', 'H') { N("SEARCH"), CK_OTHER, -1, "UID SEARCH" },
	AT(6, 'S', 'C', 'T') { N("SELECT"), CK_SELECT, 0, NULL },
	AT(6, 'S', 'C', 'L') { N("SETACL"), CK_OTHER, 0, NULL },
	AT(11, 'S', 'T', 'A') { N("SETMETADATA"), CK_OTHER, -1, NULL },
	AT(8, 'S', 'T', 'A') { N("SETQUOTA"), CK_OTHER, -1, NULL },
	AT(4, 'S', 'R', 'T') { N("SORT"), CK_OTHER, -1, "UID SORT" },
	AT(8, 'S', 'L', 'S') { N("STARTTLS"), CK_STARTTLS, -1, NULL },
	AT(6, 'S', 'U', 'S') { N("STATUS"), CK_OTHER, 0, NULL },
	AT(5, 'S', 'R', 'E') { N("STORE"), CK_STORE, -1, "UID STORE" },
	AT(9, 'S', 'B', 'E') { N("SUBSCRIBE"), CK_OTHER, 0, NULL },
	AT(6, 'T', 'A', 'D') { N("THREAD"), CK_OTHER, -1, "UID THREAD" },
	AT(3, 'U', 'I', 'D') { N("UID"), CK_OTHER, -1, NULL },
	AT(14, 'U', 'T', 'E') { N("UNAUTHENTICATE"), CK_OTHER, -1, NULL },
	AT(8, 'U', 'C', 'T') { N("UNSELECT"), CK_CLOSE, -1, NULL },
	AT(11, 'U', 'B', 'E') { N("UNSUBSCRIBE"), CK_OTHER, 0, NULL },
};
#define CMD_UID (&cmd_at[CMD_SLOT(3, 'U', 'I', 'D')])
#define CMD_LEN_MAX 14

/* The entry named by p (any case), or NULL. */
static inline const struct cmd_info *cmd_find(const uint8_t *p, size_t len)
{
	if (len < 2 || len > CMD_LEN_MAX)
		return NULL;
	/* Each name in the table is all letters: a byte matches an upper
	 * case letter in either case exactly when it is that letter with
	 * bit 0x20 cleared, and never otherwise. */
	const struct cmd_info *c = &cmd_at[CMD_SLOT(len, p[0] & 0xdf,
						    p[len - 2] & 0xdf,
						    p[len - 1] & 0xdf)];
	if (c->len != len)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if ((p[i] & 0xdf) != (uint8_t)c->name[i])
			return NULL;
	return c;
}

/* A command sent and not yet completed. The fields every command sets
 * come first (97 bytes), tag, name and mech after them: new_pending()
 * writes only what must start out zero, as the entry is most often out
 * of the cache (see struct half). */
struct pending {
	uint64_t number;
	size_t tag_len;		/* strlen(tag) */
	enum cmd_kind kind;
	int mailbox_arg;
	isc_time start;
	uint64_t literals, literal_bytes;
	uint64_t untagged, messages;
	char *mailbox;		/* owned, UTF-8 */
	char *mailbox2;		/* owned: RENAME's new name */
	char *auth_user;	/* owned: identity tried */
	const char *known;	/* the name when cmd_at[] has it, else NULL */
	bool store_deleted;	/* STORE +FLAGS with \Deleted */
	char tag[TAG_CAP];
	char name[NAME_CAP];	/* the name when not known; "" for none */
	char mech[32];		/* AUTHENTICATE mechanism; set for that kind */
};

/* Field order in struct half and struct imap_session follows how often a
 * field is touched: with thousands of sessions open, a session's state is
 * out of the cache by the time its next packet comes, and every 64-byte
 * line a packet touches is a miss. The fields every chunk and line use
 * come first, the rest after them. With the pending entries and the args
 * no longer cleared whole (new_pending(), nargs), bench's many-flows
 * capture made 20% fewer last-level cache misses in cachegrind (2 MiB
 * cache) and ran 7% fewer instructions; wall time fell 3% on the small
 * capture, and by less than the noise on many-flows. */
struct half {
	/* every chunk and line: the first 64 bytes */
	enum pstate ps;
	bool cont;		/* the next line continues the logical line */
	bool hunting;		/* accept only a plausible line */
	bool over;		/* the line in lb passed max_line */
	bool z_started;		/* z_start is known */
	z_stream *z;		/* COMPRESS=DEFLATE */
	size_t line_total;	/* bytes of the current line so far */
	isc_time line_ts;
	uint8_t *lb;		/* line being collected */
	size_t lb_len;
	uint64_t wire_base;	/* wire offset of the chunk being parsed */
	const uint8_t *chunk;	/* and where it starts */
	/* every chunk: the next 64 */
	uint64_t ctr[IMAP_HC_COUNT];
	/* the logical line and the literal */
	size_t tail_len;
	uint64_t lit_left;
	struct imap_lit lit;	/* the literal announced or running */
	struct imap_scan_state sc;
	unsigned argn;		/* top-level tokens so far */
	unsigned arg_base;	/* token index of the first argument */
	bool sample_stopped;	/* a gap cut the literal: sample no more */
	bool lit_redact;	/* its content is a secret */
	bool lit_is_arg;	/* it is a top-level token of a command */
	bool plus_late;		/* a "+" may still come for a literal sent */
	bool tls_checked;	/* first opaque byte looked at */
	bool tls_done;
	bool z_failed;		/* inflating stopped at bad data or a gap */
	uint8_t *sample;
	size_t sample_len, sample_cap;
	/* seldom */
	size_t lb_cap;
	uint8_t tail[TAIL_KEEP];	/* last bytes of an over-long line */
	uint64_t hunt_skipped;	/* bytes skipped while hunting */
	/* the start of the TLS stream after STARTTLS, until its hello parses */
	uint8_t *tls;
	size_t tls_len;
	uint64_t z_start;	/* wire offset of the first compressed byte */
};

/* A command name and how many times it was sent. A name in cmd_at[] is
 * its string there; others are allocated (see names_owned). 16 bytes,
 * not the 40 of the name copied in: 16 fit in the session's block in
 * less room than 8 did, and few sessions send more (bench's small
 * capture: 578 sessions in 1,005 allocated a larger array, for their
 * 9th name; 1,988 -> 1,981 instructions a packet). */
struct name_count {
	const char *name;
	uint64_t count;
};

struct imap_session {
	struct half h[2];
	/* most lines: 64 bytes */
	void *ctx;
	struct pending *pend;
	size_t npend;
	uint64_t ncmds;
	uint64_t building;	/* number of the command still being sent */
	struct name_count *names;	/* names_cap slots, nnames used */
	uint64_t names_owned;	/* bit i: names[i].name is not in cmd_at[]
				 * but allocated */
	uint32_t nnames;
	uint8_t nargs;		/* args[0, nargs) hold this command's */
	bool greeted;
	bool sasl;		/* SASL exchange in progress (RFC 3501 6.2.2) */
	bool idle;
	bool starttls_wait;	/* STARTTLS sent, no answer yet */
	bool starttls, authenticated, selected;
	bool show_secrets, midstream;	/* from struct imap_config */
	/* the sink, and the limits most lines compare with */
	struct imap_sink sink;
	size_t max_line;
	uint32_t max_pending, max_depth;
	/* server state */
	bool preauth, compress, logout, bye, read_only, utf8_accept;
	bool cleartext_login;
	int8_t tls_offered;	/* the last capabilities named STARTTLS: 1, 0,
				 * or -1 not looked up yet (tls_on_offer()) */
	char *greeting;
	char *caps;
	char *mailbox;
	char *user;		/* authenticated, or last tried */
	uint64_t fetched, appended, expunged, deleted;
	size_t pend_cap;
	uint64_t sasl_cmd;
	enum sasl_mech mech;
	unsigned sasl_step;
	/* summary */
	size_t names_cap;
	uint64_t auth_attempts, auth_failures, anomalies;
	size_t n_anom_names;
	/* display buffer for redacted lines */
	uint8_t *disp;
	size_t disp_cap;
	size_t literal_bytes;	/* from the limits */
	struct isc_pool *pool;	/* where s came from, or NULL: malloc() */
	struct imap_kv *id_client, *id_server;	/* RFC 2971, allocated when seen */
	size_t n_id_client, n_id_server;
	size_t n_mailboxes;
	/* From here on, nothing is cleared when a session starts: each field
	 * is written before it is read (args up to nargs, anom_names and
	 * mailboxes up to their counts, hello[d] once hello[d].found), and a
	 * new session is cold memory (the clearing of anom_names, mailboxes
	 * and hello: 1,820 -> 912 bytes cleared, bench's many-flows
	 * capture: 2,746 -> 2,735 instructions a packet). */
	const char *anom_names[MAX_ANOM_NAMES];
	char *mailboxes[MAX_MAILBOXES];
	struct tls_hello hello[2];	/* [ISC_DIR_*]: see found */
	char args[NARGS][ARG_CAP];	/* see nargs */
	/* The first pend_cap and names_cap slots, before they outgrow the
	 * block (pend and names then point to the heap). Most sessions
	 * stay within them: a realloc and a free less for each of the two
	 * in every session (bench's many-flows capture: 3,021 -> 2,976
	 * instructions a packet, small: 2,538 -> 2,511). */
	struct pending pend0[PEND_INLINE];
	struct name_count names0[NAMES_INLINE];
	/* caps and (when it fits) greeting point here: every session has
	 * them, and set_str() gave each (the capabilities two or three
	 * times) a malloc and a free (bench's many-flows capture: 2,857 ->
	 * 2,801 instructions a packet, small: 2,432 -> 2,415). */
	char caps_buf[CAPS_CAP + 1];
	char greeting_buf[GREETING_INLINE];
};

/* ---- small helpers ---------------------------------------------------- */

static char *dup_n(const uint8_t *p, size_t len)
{
	char *s = malloc(len + 1);
	if (!s)
		return NULL;
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* free(p) without the call when p is NULL: most of the strings and
 * buffers a session or a command may own are never allocated, and
 * freeing a session made twelve calls, most of them free(NULL) (bench's
 * many-flows capture: 2,553 -> 2,550 instructions a packet). */
static inline void free_if(void *p)
{
	if (p)
		free(p);
}

static void set_str(char **dst, const uint8_t *p, size_t len)
{
	free(*dst);
	*dst = dup_n(p, len);
}

/* Copies at most cap - 1 bytes and a NUL; returns the bytes copied. */
static size_t copy_cstr(char *dst, size_t cap, const uint8_t *p, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return len;
}

static void upper(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 32);
}

/* Copies p in upper case, up to a NUL byte and at most cap - 1 bytes,
 * and a NUL: the string copy_cstr() then upper() and strlen() made in
 * three passes (a command name: 75 -> 30 instructions, bench's small
 * capture: 2,399 -> 2,390 instructions a packet). Returns its length. */
static size_t copy_upper(char *dst, size_t cap, const uint8_t *p, size_t len)
{
	size_t i;
	if (len >= cap)
		len = cap - 1;
	for (i = 0; i < len && p[i]; i++)
		dst[i] = (char)(p[i] >= 'a' && p[i] <= 'z' ? p[i] - 32 : p[i]);
	dst[i] = '\0';
	return i;
}

static bool starts_ci(const uint8_t *p, size_t len, const char *w)
{
	size_t n = strlen(w);
	return len >= n && imap_eq(p, n, w);
}

/* Whether p starts with the word w (any case) followed by a space or
 * the end: the first space-delimited word of p is w. */
static inline bool keyword_at(const uint8_t *p, size_t len, const char *w)
{
	size_t n = strlen(w);
	return len >= n && imap_eq(p, n, w) && (len == n || p[n] == ' ');
}

/* How many bytes of p come before its first space (len if none). The
 * words looked for this way are short (a tag, a message number, "OK"):
 * a byte loop ends before the call to memchr would (bench's mixed
 * capture: 1,480 -> 1,472 instructions a packet, small: 2,408 ->
 * 2,399). */
static inline size_t word_len(const uint8_t *p, size_t len)
{
	size_t n = 0;
	while (n < len && p[n] != ' ')
		n++;
	return n;
}

/* Records an anomaly: counted, its kind listed once, and a marker. */
static void anomaly(struct imap_session *s, enum isc_dir dir, isc_time ts,
		    const char *kind)
{
	s->anomalies++;
	size_t i;
	for (i = 0; i < s->n_anom_names; i++)
		if (!strcmp(s->anom_names[i], kind))
			break;
	if (i == s->n_anom_names && i < MAX_ANOM_NAMES)
		s->anom_names[s->n_anom_names++] = kind;
	if (s->sink.marker)
		s->sink.marker(s->ctx, dir, ts, IMAP_MARK_ANOMALY, 0, kind);
}

static void emit_line(struct imap_session *s, enum isc_dir dir, isc_time ts,
		      const uint8_t *p, size_t len)
{
	s->h[dir].ctr[IMAP_HC_LINES]++;
	if (s->sink.line)
		s->sink.line(s->ctx, dir, ts, p, len);
}

static void marker(struct imap_session *s, enum isc_dir dir, isc_time ts,
		   enum imap_marker m, uint64_t arg)
{
	if (s->sink.marker)
		s->sink.marker(s->ctx, dir, ts, m, arg, NULL);
}

/* Argument k of the command being sent; "" if it had none there. */
static const char *arg(const struct imap_session *s, unsigned k)
{
	return k < s->nargs ? s->args[k] : "";
}

/* Where argument k (< NARGS) of the command being sent is stored; those
 * before it that were not stored read as "". */
static char *arg_slot(struct imap_session *s, unsigned k)
{
	while (s->nargs <= k)
		s->args[s->nargs++][0] = '\0';
	return s->args[k];
}

/* ---- pending commands ------------------------------------------------- */

static struct pending *find_pending(struct imap_session *s, uint64_t number)
{
	for (size_t i = s->npend; i > 0; i--)
		if (s->pend[i - 1].number == number)
			return &s->pend[i - 1];
	return NULL;
}

static void emit_command(struct imap_session *s, const struct pending *p,
			 const char *status, const char *code, const char *text,
			 isc_time end)
{
	if (!s->sink.command)
		return;
	struct imap_cmd_rec r = {
		.number = p->number,
		.tag = p->tag,
		.name = p->known ? p->known : p->name[0] ? p->name : NULL,
		.status = status,
		.resp_code = code,
		.resp_text = text,
		.mailbox = p->mailbox,
		.user = p->auth_user ? p->auth_user :
			(s->authenticated ? s->user : NULL),
		.start = p->start,
		.end = end,
		.literals = p->literals,
		.literal_bytes = p->literal_bytes,
		.untagged = p->untagged,
		.messages = p->messages,
	};
	s->sink.command(s->ctx, &r);
}

static void drop_pending(struct imap_session *s, size_t i)
{
	/* Most commands own none of the three strings, and most often the
	 * command dropped is the only one pending: the calls to free(NULL)
	 * and to memmove() for no bytes are not made (bench's small
	 * capture: 2,194 -> 2,185 instructions a packet, many-flows: 2,560
	 * -> 2,553). */
	struct pending *c = &s->pend[i];
	free_if(c->mailbox);
	free_if(c->mailbox2);
	free_if(c->auth_user);
	if (i + 1 < s->npend)
		memmove(c, c + 1, (s->npend - i - 1) * sizeof(*c));
	s->npend--;
}

/* Counts a command by its name: known, an entry's string from cmd_at[],
 * or (known NULL) name. A known name is never also counted as a copy
 * (command_begin() looks a name it had to copy up in cmd_at[]), so the
 * known ones are told apart by their pointers alone: one compare a name
 * counted, instead of a strcmp() call (bench's small capture: 70 -> 35
 * instructions a command). */
static void count_name(struct imap_session *s, const char *known, const char *name)
{
	_Static_assert(MAX_NAMES <= 64, "names_owned has a bit for each");
	size_t i;
	if (known) {
		for (i = 0; i < s->nnames; i++)
			if (s->names[i].name == known) {
				s->names[i].count++;
				return;
			}
	} else {
		for (i = 0; i < s->nnames; i++)
			if ((s->names_owned >> i & 1) &&
			    !strcmp(s->names[i].name, name)) {
				s->names[i].count++;
				return;
			}
	}
	if (s->nnames == MAX_NAMES) {
		name = "_OTHER";	/* the last slot gathers the rest */
		for (i = 0; i < s->nnames; i++)
			if ((s->names_owned >> i & 1) &&
			    !strcmp(s->names[i].name, name)) {
				s->names[i].count++;
				return;
			}
		i = MAX_NAMES - 1;
		char *d = strdup(name);
		if (!d)
			return;
		if (s->names_owned >> i & 1)
			free((void *)(uintptr_t)s->names[i].name);
		s->names[i].name = d;
		s->names_owned |= UINT64_C(1) << i;
		s->names[i].count++;
		return;
	}
	if (s->nnames == s->names_cap) {
		/* grown on demand: most sessions use a handful of names */
		_Static_assert(NAMES_INLINE <= MAX_NAMES, "names0 within the cap");
		size_t cap = s->names_cap ? s->names_cap * 2 : NAMES_INLINE;
		if (cap > MAX_NAMES)
			cap = MAX_NAMES;
		struct name_count *nn;
		if (!s->names_cap)
			nn = s->names0;
		else if (s->names != s->names0)
			nn = realloc(s->names, cap * sizeof(*nn));
		else if ((nn = malloc(cap * sizeof(*nn))) != NULL)
			memcpy(nn, s->names0, s->nnames * sizeof(*nn));
		if (!nn)
			return;
		s->names = nn;
		s->names_cap = cap;
	}
	if (known) {
		s->names[i].name = known;
	} else {
		char *d = strdup(name);
		if (!d)
			return;
		s->names[i].name = d;
		s->names_owned |= UINT64_C(1) << i;
	}
	s->names[i].count = 1;
	s->nnames++;
}

/* Starts a new pending command; returns NULL if out of memory. When
 * max_pending commands already wait, the oldest is given up. */
static struct pending *new_pending(struct imap_session *s, isc_time ts)
{
	if (s->npend >= s->max_pending) {
		anomaly(s, ISC_DIR_CLIENT, ts, "too_many_pending");
		emit_command(s, &s->pend[0], NULL, NULL, NULL, 0);
		drop_pending(s, 0);
	}
	if (s->npend == s->pend_cap) {
		size_t cap = s->pend_cap ? s->pend_cap * 2 : PEND_INLINE;
		if (cap > s->max_pending)
			cap = s->max_pending;
		struct pending *np;
		if (!s->pend_cap)
			np = s->pend0;	/* cap <= PEND_INLINE */
		else if (s->pend != s->pend0)
			np = realloc(s->pend, cap * sizeof(*np));
		else if ((np = malloc(cap * sizeof(*np))) != NULL)
			memcpy(np, s->pend0, s->npend * sizeof(*np));
		if (!np)
			return NULL;
		s->pend = np;
		s->pend_cap = cap;
	}
	struct pending *p = &s->pend[s->npend++];
	/* not a memset of the whole entry: command_begin() writes tag,
	 * name and (for AUTHENTICATE) mech */
	p->number = ++s->ncmds;
	p->tag_len = 0;
	p->kind = CK_OTHER;
	p->mailbox_arg = -1;
	p->start = ts;
	p->literals = p->literal_bytes = 0;
	p->untagged = p->messages = 0;
	p->mailbox = p->mailbox2 = p->auth_user = NULL;
	p->store_deleted = false;
	p->known = NULL;
	p->tag[0] = '\0';
	return p;
}

/* ---- display with redaction -------------------------------------------- */

/* Emits line p with [roff, roff+rlen) replaced by "********". */
static void emit_redacted(struct imap_session *s, enum isc_dir dir,
			  isc_time ts, const uint8_t *p, size_t len,
			  size_t roff, size_t rlen)
{
	static const char stars[] = "********";
	if (!s->sink.line) {
		/* no one sees the line: count it, as emit_line() would,
		 * without the display buffer, its realloc, copies and free
		 * (bench's many-flows capture: 2,976 -> 2,951 instructions
		 * a packet) */
		s->h[dir].ctr[IMAP_HC_LINES]++;
		return;
	}
	size_t need = len - rlen + sizeof(stars);
	if (need > s->disp_cap) {
		uint8_t *d = realloc(s->disp, need);
		if (!d) {
			emit_line(s, dir, ts, (const uint8_t *)stars, 8);
			return;
		}
		s->disp = d;
		s->disp_cap = need;
	}
	memcpy(s->disp, p, roff);
	memcpy(s->disp + roff, stars, 8);
	memcpy(s->disp + roff + 8, p + roff + rlen, len - roff - rlen);
	emit_line(s, dir, ts, s->disp, len - rlen + 8);
}

/* The byte range a token covers on the line, quotes included. */
static void tok_span(const struct imap_tok *t, const uint8_t *line,
		     size_t len, size_t *off, size_t *n)
{
	size_t o = (size_t)(t->p - line), l = t->len;
	if (t->type == IMAP_TOK_QUOTED) {
		o--;
		l++;
		if (o + l < len)
			l++;	/* the closing quote */
	}
	*off = o;
	*n = l;
}

/* ---- literals ----------------------------------------------------------- */

static void literal_done(struct imap_session *s, enum isc_dir dir, isc_time ts);

/* Starts counting the literal announced on the current line. */
static void literal_start(struct imap_session *s, enum isc_dir dir, isc_time ts)
{
	struct half *h = &s->h[dir];
	h->ps = PS_LITERAL;
	h->lit_left = h->lit.size;
	h->sample_len = 0;
	/* The sample is for the literal sink (transcripts) and for a
	 * command argument sent as a literal: without either, nothing is
	 * kept (a copy of each FETCH body's start, for NDJSON alone).
	 * Allocated at the first literal: most short sessions have none. */
	bool keep = s->sink.literal || (dir == ISC_DIR_CLIENT && h->lit_is_arg);
	if (keep && !h->sample)
		h->sample = malloc(h->sample_cap);
	h->sample_stopped = !keep || !h->sample;
	if (dir == ISC_DIR_CLIENT) {
		struct pending *c = find_pending(s, s->building);
		if (c) {
			c->literals++;
			c->literal_bytes += h->lit.size;
		}
	}
	if (h->lit_left == 0)
		literal_done(s, dir, ts);
}

static void literal_done(struct imap_session *s, enum isc_dir dir, isc_time ts)
{
	struct half *h = &s->h[dir];
	h->ctr[IMAP_HC_LITERALS]++;
	size_t show = h->sample_len < s->literal_bytes ?
		      h->sample_len : s->literal_bytes;
	if (s->sink.literal)
		s->sink.literal(s->ctx, dir, ts, h->lit.size,
				h->lit_redact ? NULL : h->sample,
				h->lit_redact ? 0 : show, h->lit_redact);
	if (dir == ISC_DIR_CLIENT && h->lit_is_arg) {
		unsigned k = h->argn - h->arg_base;
		if (h->argn >= h->arg_base && k < NARGS && h->sample)
			copy_cstr(arg_slot(s, k), ARG_CAP, h->sample, h->sample_len);
		h->argn++;
	}
	h->ps = PS_LINE;
	h->cont = true;
}

/* ---- client side -------------------------------------------------------- */

static bool has_cap(const struct imap_session *s, const char *cap);
static bool tls_on_offer(struct imap_session *s);

static bool known_command(const uint8_t *p, size_t len)
{
	if (len > 1 && (p[0] | 0x20) == 'x')
		return true;
	return cmd_find(p, len) != NULL;
}

/* A client line that could start a command: tag SP known-command-name. */
static bool plausible_command(const uint8_t *p, size_t len)
{
	size_t i = 0;
	while (i < len && p[i] > ' ' && p[i] < 0x7f && p[i] != '(' &&
	       p[i] != ')' && p[i] != '{' && p[i] != '"' && p[i] != '*' &&
	       p[i] != '+')
		i++;
	if (i == 0 || i >= len || p[i] != ' ')
		return false;
	size_t j = ++i;
	while (i < len && ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z'))
		i++;
	return i > j && (i == len || p[i] == ' ') && known_command(p + j, i - j);
}

/* Handles a client line during AUTHENTICATE: a SASL response. */
static void sasl_response(struct imap_session *s, isc_time ts,
			  const uint8_t *p, size_t len)
{
	struct pending *c = find_pending(s, s->sasl_cmd);
	if (len == 1 && p[0] == '*') {		/* the client cancels */
		emit_line(s, ISC_DIR_CLIENT, ts, p, len);
		return;
	}
	if (c && !c->auth_user) {
		uint8_t dec[ARG_CAP];
		char user[ARG_CAP];
		size_t n = sasl_b64_decode(p, len, dec, sizeof(dec));
		if (sasl_identity(s->mech, s->sasl_step, dec, n, user, sizeof(user)))
			c->auth_user = strdup(user);
	}
	if (!s->show_secrets && len > 0 && sasl_secret(s->mech, s->sasl_step))
		emit_redacted(s, ISC_DIR_CLIENT, ts, p, len, 0, len);
	else
		emit_line(s, ISC_DIR_CLIENT, ts, p, len);
	s->sasl_step++;
}

/* Stores the top-level tokens of a command line piece as arguments. */
static void take_args(struct imap_session *s, const struct imap_tok *t,
		      size_t n, unsigned first)
{
	struct half *h = &s->h[ISC_DIR_CLIENT];
	for (size_t i = first; i < n; i++, h->argn++) {
		if (h->argn < h->arg_base)
			continue;
		unsigned k = h->argn - h->arg_base;
		if (k < NARGS)
			imap_tok_value(&t[i], arg_slot(s, k), ARG_CAP);
	}
}

/* Whether command_args_done() or command_sent() read c's arguments: a
 * mailbox, LOGIN's user, AUTHENTICATE's mechanism and initial response,
 * STORE's flags, ID's list. The others' (FETCH, NOOP, SEARCH...) are not
 * copied out of the line (bench's small capture: 2,390 -> 2,373
 * instructions a packet). */
static bool args_wanted(const struct pending *c)
{
	return c->mailbox_arg >= 0 || c->kind == CK_LOGIN ||
	       c->kind == CK_AUTHENTICATE || c->kind == CK_STORE ||
	       c->kind == CK_ID;
}

/* The name of a command that cmd_find() did not find as it is on the
 * line, copied to c->name in upper case up to a NUL byte, with "UID "
 * and the next token joined. Such a name may still be in cmd_at[] (one
 * cut at a NUL byte): then *known_r is its string there, and its entry
 * is returned, as count_name() needs. */
static const struct cmd_info *name_copy(struct half *h, struct pending *c,
					const struct imap_tok *t, size_t n,
					const char **known_r)
{
	char *name = c->name;
	size_t len = copy_upper(name, NAME_CAP, t[1].p, t[1].len);
	h->arg_base = 2;
	if (!memcmp(name, "UID", 4) && n >= 3 && t[2].len < NAME_CAP - 4) {
		len = 4 + copy_upper(name + 4, NAME_CAP - 4, t[2].p, t[2].len);
		name[3] = ' ';
		h->arg_base = 3;
	}
	const struct cmd_info *ci;
	if (len > 4 && !memcmp(name, "UID ", 4)) {
		ci = cmd_find((const uint8_t *)name + 4, len - 4);
		*known_r = ci ? ci->uid_name : NULL;
	} else {
		ci = cmd_find((const uint8_t *)name, len);
		*known_r = ci ? ci->name : NULL;
	}
	return *known_r ? ci : NULL;
}

/* The first piece of a command: tag, name, "UID" prefix. */
static struct pending *command_begin(struct imap_session *s, isc_time ts,
				     const struct imap_tok *t, size_t n)
{
	struct half *h = &s->h[ISC_DIR_CLIENT];
	struct pending *c = new_pending(s, ts);
	if (!c)
		return NULL;
	s->nargs = 0;	/* not three cold cache lines cleared a command */
	if (t[0].len >= TAG_CAP)
		anomaly(s, ISC_DIR_CLIENT, ts, "tag_too_long");
	c->tag_len = copy_cstr(c->tag, TAG_CAP, t[0].p, t[0].len);
	/* The name is looked up where it is on the line, in any case; only
	 * a name not found so is copied (see name_copy()). */
	const struct cmd_info *ci = NULL;
	const char *known = NULL;
	h->arg_base = 2;
	if (n >= 2) {
		ci = cmd_find(t[1].p, t[1].len);
		if (ci == CMD_UID && n >= 3 && t[2].len < NAME_CAP - 4) {
			ci = cmd_find(t[2].p, t[2].len);
			known = ci ? ci->uid_name : NULL;
			h->arg_base = 3;
		} else if (ci) {
			known = ci->name;
		}
		if (!known)
			ci = name_copy(h, c, t, n, &known);
	} else {
		anomaly(s, ISC_DIR_CLIENT, ts, "malformed_command");
		c->name[0] = '\0';
	}
	c->known = known;
	c->kind = ci ? ci->kind : CK_OTHER;
	if (c->kind == CK_AUTHENTICATE)
		c->mech[0] = '\0';	/* until command_sent() */
	c->mailbox_arg = ci ? ci->mailbox_arg : -1;
	count_name(s, known, known || c->name[0] ? c->name : "_EMPTY");
	s->building = c->number;
	if (s->starttls_wait)
		anomaly(s, ISC_DIR_CLIENT, ts, "starttls_injection");
	if (!s->greeted && !s->midstream)
		anomaly(s, ISC_DIR_CLIENT, ts, "command_before_greeting");
	return c;
}

/* Whether STORE's flags hold "\Deleted" in any case, as
 * strcasestr(flags, "\\Deleted") finds it: such a match starts at a
 * backslash, so only the text at each backslash is compared. strcasestr
 * took 266 instructions a STORE (bench's small capture: 2,470 -> 2,463
 * instructions a packet). */
static bool names_deleted(const char *flags)
{
	for (const char *b = strchr(flags, '\\'); b; b = strchr(b + 1, '\\'))
		if (!strncasecmp(b, "\\Deleted", 8))
			return true;
	return false;
}

/* Keeps what the command's arguments say (the mailbox, LOGIN's user),
 * once all of them were sent or the server ended the command early. */
static void command_args_done(struct imap_session *s, struct pending *c)
{
	if (c->mailbox_arg >= 0 && arg(s, c->mailbox_arg)[0] && !c->mailbox) {
		char name[ARG_CAP * 2];
		if (s->utf8_accept)	/* RFC 6855 3: names are UTF-8 then */
			snprintf(name, sizeof(name), "%s", arg(s, c->mailbox_arg));
		else
			imap_mutf7_decode(arg(s, c->mailbox_arg), name, sizeof(name));
		c->mailbox = strdup(name);
		if (c->kind == CK_RENAME && arg(s, 1)[0] && !c->mailbox2) {
			if (s->utf8_accept)
				snprintf(name, sizeof(name), "%s", arg(s, 1));
			else
				imap_mutf7_decode(arg(s, 1), name, sizeof(name));
			c->mailbox2 = strdup(name);
		}
	}
	if (c->kind == CK_LOGIN && !c->auth_user)
		c->auth_user = strdup(arg(s, 0));
	if (c->kind == CK_STORE)
		c->store_deleted = arg(s, 1)[0] == '+' &&
				   names_deleted(arg(s, 2));
	if (c->kind == CK_ID && !s->id_client) {
		s->id_client = calloc(IMAP_ID_MAX_PAIRS, sizeof(*s->id_client));
		if (s->id_client)
			s->n_id_client = imap_id_parse((const uint8_t *)arg(s, 0),
						       strlen(arg(s, 0)), s->id_client);
	}
}

/* Remembers a mailbox a command named, once (first seen first). */
static void touch_mailbox(struct imap_session *s, const char *name)
{
	for (size_t i = 0; i < s->n_mailboxes; i++)
		if (!strcmp(s->mailboxes[i], name))
			return;
	if (s->n_mailboxes < MAX_MAILBOXES) {
		char *d = strdup(name);
		if (d)
			s->mailboxes[s->n_mailboxes++] = d;
	}
}

/* The whole command has been sent: act on it. */
static void command_sent(struct imap_session *s, isc_time ts)
{
	struct pending *c = find_pending(s, s->building);
	s->building = 0;
	if (!c)
		return;
	command_args_done(s, c);
	bool tls_offered = (c->kind == CK_LOGIN || c->kind == CK_AUTHENTICATE) &&
			   tls_on_offer(s);
	switch (c->kind) {
	case CK_LOGIN:
		if (tls_offered && !s->starttls)
			s->cleartext_login = true;
		break;
	case CK_AUTHENTICATE: {
		copy_cstr(c->mech, sizeof(c->mech), (const uint8_t *)arg(s, 0),
			  strlen(arg(s, 0)));
		upper(c->mech);
		s->sasl = true;
		s->sasl_cmd = c->number;
		s->mech = sasl_mech_of(c->mech);
		s->sasl_step = 0;
		if (arg(s, 1)[0]) {	/* SASL-IR (RFC 4959) */
			uint8_t dec[ARG_CAP];
			char user[ARG_CAP];
			size_t n = sasl_b64_decode((const uint8_t *)arg(s, 1),
						   strlen(arg(s, 1)), dec, sizeof(dec));
			if (sasl_identity(s->mech, 0, dec, n, user, sizeof(user)))
				c->auth_user = strdup(user);
			s->sasl_step = 1;
		}
		if (tls_offered && !s->starttls &&
		    (s->mech == SASL_PLAIN || s->mech == SASL_LOGIN))
			s->cleartext_login = true;
		break;
	}
	case CK_IDLE:
		s->idle = true;
		break;
	case CK_STARTTLS:
		s->starttls_wait = true;
		break;
	default:
		break;
	}
	(void)ts;
}

/* Emits a client command line, redacting LOGIN's password and
 * AUTHENTICATE's initial response. */
static void client_display(struct imap_session *s, isc_time ts,
			   const uint8_t *p, size_t len,
			   const struct imap_tok *t, size_t n, unsigned first_idx,
			   const struct pending *c)
{
	if (!s->show_secrets && c) {
		/* LOGIN's password, AUTHENTICATE's initial response */
		int secret_arg = c->kind == CK_LOGIN || c->kind == CK_AUTHENTICATE ?
				 1 : -1;
		struct half *h = &s->h[ISC_DIR_CLIENT];
		if (secret_arg >= 0) {
			unsigned want = h->arg_base + (unsigned)secret_arg;
			if (want >= first_idx && want - first_idx < n &&
			    want - first_idx < 8) {
				const struct imap_tok *tk = &t[want - first_idx];
				bool is_ir_cancel = c->kind == CK_AUTHENTICATE &&
						    tk->len == 1 && tk->p[0] == '=';
				if (!is_ir_cancel) {
					size_t off, l;
					tok_span(tk, p, len, &off, &l);
					emit_redacted(s, ISC_DIR_CLIENT, ts, p, len, off, l);
					return;
				}
			}
		}
	}
	emit_line(s, ISC_DIR_CLIENT, ts, p, len);
}

/* One client line (without CRLF). body_len excludes a literal
 * announcement at its end; lit says whether there is one. */
static void client_line(struct imap_session *s, isc_time ts, const uint8_t *p,
			size_t len, size_t body_len, bool lit)
{
	struct half *h = &s->h[ISC_DIR_CLIENT];
	struct imap_tok t[8];
	unsigned first_idx = h->argn;
	struct pending *c;

	if (!h->cont) {
		h->sc = (struct imap_scan_state){ 0 };
		h->argn = 0;
		first_idx = 0;
	}
	size_t n = imap_scan_tokens(p, body_len, &h->sc, t, 8);
	if (h->sc.max_depth > s->max_depth) {
		anomaly(s, ISC_DIR_CLIENT, ts, "nesting_too_deep");
		h->sc.max_depth = 0;
	}
	if (!h->cont) {
		if (n == 0) {
			emit_line(s, ISC_DIR_CLIENT, ts, p, len);
			return;		/* an empty line: nothing to track */
		}
		c = command_begin(s, ts, t, n < 8 ? n : 8);
	} else {
		c = find_pending(s, s->building);
	}
	if (!c || args_wanted(c))
		take_args(s, t, n < 8 ? n : 8, 0);
	h->argn = first_idx + (unsigned)n;
	client_display(s, ts, p, len, t, n < 8 ? n : 8, first_idx, c);

	if (lit) {
		h->cont = true;
		h->lit_is_arg = h->sc.depth == 0;
		h->lit_redact = false;
		if (c && !s->show_secrets && c->kind == CK_LOGIN &&
		    h->lit_is_arg && h->argn == h->arg_base + 1)
			h->lit_redact = true;	/* the password as a literal */
		if (h->lit.nonsync) {
			literal_start(s, ISC_DIR_CLIENT, ts);
		} else {
			h->ps = PS_LIT_WAIT;
		}
		return;
	}
	h->cont = false;
	command_sent(s, ts);
}

/* ---- server side ------------------------------------------------------- */

static bool is_status(const uint8_t *p, size_t len)
{
	return imap_eq(p, len, "OK") || imap_eq(p, len, "NO") ||
	       imap_eq(p, len, "BAD") || imap_eq(p, len, "BYE") ||
	       imap_eq(p, len, "PREAUTH");
}

/* A server line that could be a response. */
static bool plausible_response(const uint8_t *p, size_t len)
{
	if (len >= 1 && p[0] == '+')
		return len == 1 || p[1] == ' ';
	if (len >= 3 && p[0] == '*' && p[1] == ' ')
		return true;
	const uint8_t *sp = memchr(p, ' ', len);
	if (!sp || sp == p)
		return false;
	size_t rest = len - (size_t)(sp - p) - 1;
	const uint8_t *w = sp + 1;
	const uint8_t *e = memchr(w, ' ', rest);
	size_t wl = e ? (size_t)(e - w) : rest;
	return is_status(w, wl);
}

/* Splits resp-text "[code] text" (RFC 3501 7.1). */
static void resp_text(const uint8_t *p, size_t len, const uint8_t **code,
		      size_t *code_len, const uint8_t **text, size_t *text_len)
{
	*code = NULL;
	*code_len = 0;
	if (len > 0 && p[0] == '[') {
		const uint8_t *e = memchr(p, ']', len);
		if (e) {
			*code = p + 1;
			*code_len = (size_t)(e - p) - 1;
			size_t skip = (size_t)(e - p) + 1;
			p += skip;
			len -= skip;
			if (len > 0 && p[0] == ' ') {
				p++;
				len--;
			}
		}
	}
	*text = p;
	*text_len = len;
}

static void note_capabilities(struct imap_session *s, const uint8_t *p, size_t len)
{
	if (len > CAPS_CAP)
		len = CAPS_CAP;
	s->caps = s->caps_buf;
	copy_cstr(s->caps_buf, sizeof(s->caps_buf), p, len);
	s->tls_offered = -1;
}

/* Whether the last capabilities offered STARTTLS. Looked up in the list
 * (about 40 atoms) when a login first asks, not at every command nor at
 * every list (each session gets two or three): 3.7% of a many-flows run
 * when it was done for every list. */
static bool tls_on_offer(struct imap_session *s)
{
	if (s->tls_offered < 0)
		s->tls_offered = has_cap(s, "STARTTLS") ? 1 : 0;
	return s->tls_offered > 0;
}

/* Whether the last announced capabilities hold the atom cap. */
static bool has_cap(const struct imap_session *s, const char *cap)
{
	if (!s->caps)
		return false;
	size_t n = strlen(cap);
	for (const char *c = s->caps; *c;) {
		while (*c == ' ')
			c++;
		size_t l = strcspn(c, " ");
		if (l == n && !strncasecmp(c, cap, n))
			return true;
		c += l;
	}
	return false;
}

/* Inspects a response code for CAPABILITY. */
static void note_code(struct imap_session *s, const uint8_t *code, size_t len)
{
	if (code && starts_ci(code, len, "CAPABILITY ") )
		note_capabilities(s, code + 11, len - 11);
}

static void start_inflate(struct imap_session *s, enum isc_dir dir, isc_time ts)
{
	struct half *h = &s->h[dir];
	h->z = calloc(1, sizeof(*h->z));
	if (!h->z || inflateInit2(h->z, -15) != Z_OK) {
		free(h->z);
		h->z = NULL;
		anomaly(s, dir, ts, "inflate_error");
		h->ps = PS_OPAQUE;
	}
}

static void auth_done(struct imap_session *s, struct pending *c,
		      const char *status, const char *text, isc_time ts)
{
	s->auth_attempts++;
	bool ok = status && !strcmp(status, "OK");
	if (!ok)
		s->auth_failures++;
	if (c->auth_user) {
		free(s->user);
		s->user = c->auth_user;	/* shared: see complete() */
	}
	if (ok)
		s->authenticated = true;
	if (s->sink.auth) {
		struct imap_auth_rec r = {
			.command = c->kind == CK_LOGIN ? "LOGIN" : "AUTHENTICATE",
			.mechanism = c->kind == CK_LOGIN ? NULL : c->mech,
			.user = c->auth_user,
			.status = status,
			.resp_text = text,
			.start = c->start,
			.end = ts,
		};
		s->sink.auth(s->ctx, &r);
	}
}

/* A tagged completion for pending command i. */
static void complete(struct imap_session *s, size_t i, const char *status,
		     const char *code, const char *text, isc_time ts)
{
	struct pending *c = &s->pend[i];
	bool ok = !strcmp(status, "OK");
	struct half *ch = &s->h[ISC_DIR_CLIENT];

	if (c->number == s->building && ch->ps == PS_LIT_WAIT) {
		/* the server refused the synchronizing literal: the client
		 * does not send it, and the command ends here */
		ch->ps = PS_LINE;
		ch->cont = false;
		s->building = 0;
		command_args_done(s, c);
	}
	switch (c->kind) {
	case CK_LOGIN:
		auth_done(s, c, status, text, ts);
		break;
	case CK_AUTHENTICATE:
		if (s->sasl && s->sasl_cmd == c->number)
			s->sasl = false;
		auth_done(s, c, status, text, ts);
		break;
	case CK_SELECT:
	case CK_EXAMINE:
		/* RFC 3501 6.3.1: a failed SELECT leaves no mailbox selected */
		s->selected = ok;
		s->read_only = ok && (c->kind == CK_EXAMINE ||
				      (code && !strcasecmp(code, "READ-ONLY")));
		free(s->mailbox);
		s->mailbox = ok ? c->mailbox : NULL;	/* see below */
		break;
	case CK_CLOSE:
		if (ok) {
			s->selected = s->read_only = false;
			free(s->mailbox);
			s->mailbox = NULL;
		}
		break;
	case CK_RENAME:
		if (ok && c->mailbox2)
			touch_mailbox(s, c->mailbox2);
		break;
	case CK_APPEND:
		if (ok)	/* MULTIAPPEND (RFC 3502): one literal a message */
			s->appended += c->literals ? c->literals : 1;
		break;
	case CK_LOGOUT:
		if (ok)
			s->logout = true;
		break;
	case CK_IDLE:
		s->idle = false;
		break;
	case CK_STARTTLS:
		s->starttls_wait = false;
		if (ok) {
			s->starttls = true;
			s->h[0].ps = s->h[1].ps = PS_OPAQUE;
			marker(s, ISC_DIR_SERVER, ts, IMAP_MARK_STARTTLS, 0);
		}
		break;
	case CK_COMPRESS:
		if (ok && !s->compress) {
			s->compress = true;
			marker(s, ISC_DIR_SERVER, ts, IMAP_MARK_COMPRESS, 0);
			start_inflate(s, ISC_DIR_CLIENT, ts);
			start_inflate(s, ISC_DIR_SERVER, ts);
		}
		break;
	default:
		break;
	}
	if (ok && c->mailbox)
		touch_mailbox(s, c->mailbox);
	emit_command(s, c, status, code, text, ts);
	/* The user and the mailbox the session took from the command are
	 * not copies: the command's strings pass to the session here, at
	 * its end, instead of a strdup() and a free() for each (bench's
	 * many-flows capture: 2,735 -> 2,710 instructions a packet). */
	if (c->auth_user == s->user)
		c->auth_user = NULL;
	if (c->mailbox == s->mailbox)
		c->mailbox = NULL;
	drop_pending(s, i);
}

/* Copies len (< 1024) bytes and a NUL, for tagged(). Not inlined:
 * there, with the length known to be short, memcpy() became a string
 * move of one byte a step ("rep movsb"), 45 steps for a completion's
 * usual text; the library's copy takes a few wide moves (bench's small
 * capture: 1,981 -> 1,978 instructions a packet). */
__attribute__((noinline))
static void copy_resp(char *dst, const uint8_t *p, size_t len)
{
	memcpy(dst, p, len);
	dst[len] = '\0';
}

static void tagged(struct imap_session *s, isc_time ts, const uint8_t *p,
		   size_t len, const uint8_t *sp)
{
	size_t taglen = (size_t)(sp - p);
	const uint8_t *w = sp + 1;
	size_t rest = len - taglen - 1;
	size_t wl = word_len(w, rest);
	const uint8_t *e = wl < rest ? w + wl : NULL;
	/* the status in upper case as a constant, not copied and
	 * upper-cased byte by byte (40 instructions a completion) */
	const char *status = imap_eq(w, wl, "OK") ? "OK" :
			     imap_eq(w, wl, "NO") ? "NO" :
			     imap_eq(w, wl, "BAD") ? "BAD" : NULL;
	if (!status) {
		anomaly(s, ISC_DIR_SERVER, ts, "malformed_response");
		return;
	}
	const uint8_t *code, *text;
	size_t code_len, text_len;
	resp_text(e ? e + 1 : w + wl, e ? rest - wl - 1 : 0, &code, &code_len,
		  &text, &text_len);
	note_code(s, code, code_len);

	size_t i, kept = taglen < TAG_CAP ? taglen : TAG_CAP - 1;
	for (i = 0; i < s->npend; i++)
		if (s->pend[i].tag_len == kept && !memcmp(s->pend[i].tag, p, kept))
			break;
	if (i == s->npend) {
		anomaly(s, ISC_DIR_SERVER, ts, "unmatched_completion");
		return;
	}
	/* Code and text as C strings, on the stack when they are short, as
	 * nearly all are: two mallocs and frees a command before. The code
	 * gets 1 KiB: the CAPABILITY list a server sends with LOGIN's OK
	 * runs to 400 bytes and more (Dovecot's), and took a malloc and a
	 * free a session with 256 (bench's many-flows capture: 2,197 ->
	 * 2,187 instructions a packet). */
	char cbuf[1024], tbuf[256];
	char *c = NULL, *t;
	if (code)
		c = code_len < sizeof(cbuf) ? cbuf : dup_n(code, code_len);
	t = text_len < sizeof(tbuf) ? tbuf : dup_n(text, text_len);
	if (c == cbuf)
		copy_resp(cbuf, code, code_len);
	if (t == tbuf)
		copy_resp(tbuf, text, text_len);
	complete(s, i, status, c, t, ts);
	if (c && c != cbuf)
		free(c);
	if (t != tbuf)
		free(t);
}

/* The first word of an untagged response ("* " line) and what follows
 * it, read once a line: whether the line may announce a literal, what it
 * tells and whether it is an unasked FETCH all start from it (the line
 * was searched and its word compared three times). */
struct resp_word {
	const uint8_t *w;	/* after "* "; NULL: not an untagged line */
	size_t wl;
	const uint8_t *after;	/* past the space that ends w */
	size_t after_len;
	bool status;		/* w is OK, NO, BAD, BYE or PREAUTH */
	bool fetch;		/* what follows w starts with "FETCH" (any
				 * case): compared once, for untagged() and
				 * unsolicited_fetch() (30 instructions a
				 * "* n FETCH" line on bench's mixed capture) */
};

/* Reads an untagged line's first word: p (len >= 2) starts with "* ". */
static void resp_word(struct resp_word *r, const uint8_t *p, size_t len)
{
	const uint8_t *w = p + 2;
	size_t rest = len - 2, wl = word_len(w, rest);
	bool sp = wl < rest;
	r->w = w;
	r->wl = wl;
	r->after = sp ? w + wl + 1 : w + wl;
	r->after_len = sp ? rest - wl - 1 : 0;
	r->status = is_status(w, wl);
	r->fetch = starts_ci(r->after, r->after_len, "FETCH");
}

static void untagged(struct imap_session *s, const struct resp_word *r)
{
	const uint8_t *w = r->w, *after = r->after;
	size_t wl = r->wl, after_len = r->after_len;

	if (r->status) {
		const uint8_t *code, *text;
		size_t code_len, text_len;
		resp_text(after, after_len, &code, &code_len, &text, &text_len);
		note_code(s, code, code_len);
		if (imap_eq(w, wl, "BYE"))
			s->bye = true;
		return;
	}
	struct pending *front = s->npend ? &s->pend[0] : NULL;
	if (front)
		front->untagged++;
	if (wl > 0 && w[0] >= '0' && w[0] <= '9') {
		/* message data: "* n FETCH ...", "* n EXPUNGE", "* n EXISTS".
		 * The keyword is compared in place, then the byte after it
		 * must end it: no search for the space first (a memchr call
		 * a line, 30 instructions of the 330 a server line takes on
		 * bench's mixed capture). */
		if (r->fetch && (after_len == 5 || after[5] == ' ') && front) {
			front->messages++;
			if (front->kind == CK_FETCH)
				s->fetched++;
			if (front->store_deleted)
				s->deleted++;
		} else if (keyword_at(after, after_len, "EXPUNGE")) {
			s->expunged++;
		}
		return;
	}
	if (imap_eq(w, wl, "CAPABILITY")) {
		note_capabilities(s, after, after_len);
	} else if (imap_eq(w, wl, "ID") && !s->id_server) {
		s->id_server = calloc(IMAP_ID_MAX_PAIRS, sizeof(*s->id_server));
		if (s->id_server)
			s->n_id_server = imap_id_parse(after, after_len, s->id_server);
	} else if (imap_eq(w, wl, "ENABLED")) {
		/* RFC 5161: the extensions now in effect */
		for (size_t i = 0; i + 11 <= after_len; i++)
			if ((i == 0 || after[i - 1] == ' ') &&
			    starts_ci(after + i, after_len - i, "UTF8=ACCEPT"))
				s->utf8_accept = true;
	}
}

/* The server's "+": a literal may now be sent, or a SASL challenge, or
 * IDLE has begun. */
static void continuation(struct imap_session *s, isc_time ts)
{
	struct half *ch = &s->h[ISC_DIR_CLIENT];
	if (ch->ps == PS_LIT_WAIT) {
		literal_start(s, ISC_DIR_CLIENT, ts);
		return;
	}
	if (ch->plus_late) {
		ch->plus_late = false;	/* the "+" for a literal already sent */
		return;
	}
	if (s->sasl || s->idle || s->npend > 0)
		return;
	anomaly(s, ISC_DIR_SERVER, ts, "continuation_without_command");
}

/* A "* n FETCH" response while no FETCH was asked for. Servers may send
 * FETCH unasked to tell of flag changes (RFC 3501 7.4.2), but message
 * contents in a literal nobody requested are a server (or an injector)
 * putting words in the client's mouth. */
static bool unsolicited_fetch(const struct imap_session *s,
			      const struct resp_word *r)
{
	if (!r->fetch)
		return false;
	for (size_t i = 0; i < s->npend; i++)
		if (s->pend[i].kind == CK_FETCH)
			return false;
	return true;
}

/* One server line; r: its first word, when it is an untagged response. */
static void server_line(struct imap_session *s, isc_time ts, const uint8_t *p,
			size_t len, bool lit_found, const struct resp_word *r)
{
	struct half *h = &s->h[ISC_DIR_SERVER];
	emit_line(s, ISC_DIR_SERVER, ts, p, len);
	if (h->cont) {
		if (!lit_found)
			h->cont = false;
		else
			literal_start(s, ISC_DIR_SERVER, ts);
		return;
	}
	if (!s->greeted) {
		s->greeted = true;
		if (r->w && !s->midstream) {
			if (len - 2 < GREETING_INLINE) {
				s->greeting = s->greeting_buf;
				copy_cstr(s->greeting_buf, GREETING_INLINE,
					  p + 2, len - 2);
			} else {
				set_str(&s->greeting, p + 2, len - 2);
			}
			if (starts_ci(p, len, "* PREAUTH")) {
				s->preauth = s->authenticated = true;
			}
		}
	}
	if (len >= 1 && p[0] == '+') {
		continuation(s, ts);
		return;
	}
	if (r->w) {
		untagged(s, r);
		if (lit_found) {
			if (unsolicited_fetch(s, r))
				anomaly(s, ISC_DIR_SERVER, ts, "unsolicited_literal");
			h->cont = true;
			literal_start(s, ISC_DIR_SERVER, ts);
		}
		return;
	}
	size_t taglen = word_len(p, len);
	if (taglen == len || taglen == 0) {
		if (len > 0)
			anomaly(s, ISC_DIR_SERVER, ts, "malformed_response");
		return;
	}
	tagged(s, ts, p, len, p + taglen);
}

/* Whether a server line may announce a literal: data responses and their
 * continuations do; status responses, completions and "+" carry resp-text,
 * where "{4}" is just text (RFC 3501 7.1). */
static bool server_may_literal(const struct imap_session *s,
			       const struct resp_word *r)
{
	if (s->h[ISC_DIR_SERVER].cont)
		return true;
	return r->w && !r->status;
}

/* ---- framing ------------------------------------------------------------ */

/* Strips the CR of a CRLF from the tail copy too. */
static size_t strip_cr(const uint8_t *p, size_t len)
{
	return len > 0 && p[len - 1] == '\r' ? len - 1 : len;
}

/* Looks for a literal announced at the end of line p, or of its tail
 * when the line was cut (h->over). On a find, h->lit is set, *off_r is
 * where the announcement starts, and true is returned. Inline, as
 * imap_scan_literal()'s first test is: most lines are done with there. */
static inline bool line_literal(struct imap_session *s, enum isc_dir dir,
				isc_time ts, const uint8_t *p, size_t len,
				size_t *off_r)
{
	struct half *h = &s->h[dir];
	struct imap_lit lit;
	enum imap_lit_scan ls;
	if (h->over) {
		size_t toff;
		ls = imap_scan_literal(h->tail, strip_cr(h->tail, h->tail_len),
				       &lit, &toff);
	} else {
		ls = imap_scan_literal(p, len, &lit, off_r);
	}
	if (ls == IMAP_LIT_OVERFLOW)
		anomaly(s, dir, ts, "literal_size_overflow");
	if (ls != IMAP_LIT_FOUND)
		return false;
	h->lit = lit;
	return true;
}

/* A complete line (CRLF stripped). When h->over, it was longer than
 * max_line and only its first max_line bytes are in p; h->tail holds its
 * last bytes. Those two are read from the half, not passed: the line
 * parsed in place, nearly every line, has neither (the call took eight
 * arguments, some on the stack), and the server's lines and the
 * client's take their own way after the checks both need (bench's mixed
 * capture: 1,528 -> 1,508 instructions a packet, small: 2,488 -> 2,470). */
static void line_complete(struct imap_session *s, enum isc_dir dir, isc_time ts,
			  const uint8_t *p, size_t len)
{
	struct half *h = &s->h[dir];
	bool over = h->over;
	if (h->hunting && !h->cont) {
		bool ok = !over && (dir == ISC_DIR_CLIENT ?
				    (s->sasl || s->idle || plausible_command(p, len)) :
				    plausible_response(p, len));
		if (!ok) {
			h->hunt_skipped += h->line_total;
			h->ctr[IMAP_HC_SKIPPED_BYTES] += h->line_total;
			return;
		}
		h->hunting = false;
		if (h->hunt_skipped)
			marker(s, dir, ts, IMAP_MARK_RESYNC, h->hunt_skipped);
		h->hunt_skipped = 0;
	}
	if (over)
		anomaly(s, dir, ts, "line_too_long");
	if (memchr(p, 0, len))
		anomaly(s, dir, ts, "nul_in_line");

	size_t off = len;
	if (dir == ISC_DIR_SERVER) {
		struct resp_word r = { 0 };
		if (len >= 2 && p[0] == '*' && p[1] == ' ')
			resp_word(&r, p, len);
		bool found = server_may_literal(s, &r) &&
			     line_literal(s, dir, ts, p, len, &off);
		server_line(s, ts, p, len, found, &r);
		return;
	}
	bool sasl_line = !h->cont && s->sasl;
	bool done_line = !h->cont && s->idle && imap_eq(p, len, "DONE");
	bool found = !sasl_line && !done_line &&
		     line_literal(s, dir, ts, p, len, &off);
	if (sasl_line) {
		sasl_response(s, ts, p, len);
		return;
	}
	if (done_line) {
		emit_line(s, dir, ts, p, len);
		return;
	}
	client_line(s, ts, p, len, off, found);
}

/* Appends to the line buffer, keeping max_line bytes and the tail. */
static void line_append(struct half *h, size_t max_line,
			const uint8_t *p, size_t len)
{
	h->line_total += len;
	size_t room = h->lb_len < max_line ? max_line - h->lb_len : 0;
	size_t take = len < room ? len : room;
	if (take > 0 && h->lb_len + take > h->lb_cap) {
		size_t cap = h->lb_cap ? h->lb_cap : 256;
		while (cap < h->lb_len + take)
			cap *= 2;
		if (cap > max_line)
			cap = max_line;
		uint8_t *nb = realloc(h->lb, cap);
		if (!nb) {
			take = 0;
		} else {
			h->lb = nb;
			h->lb_cap = cap;
		}
	}
	memcpy(h->lb + h->lb_len, p, take);
	h->lb_len += take;
	if (take < len)
		h->over = true;
	/* keep the last TAIL_KEEP bytes, wherever they fall */
	if (len >= TAIL_KEEP) {
		memcpy(h->tail, p + len - TAIL_KEEP, TAIL_KEEP);
		h->tail_len = TAIL_KEEP;
	} else {
		size_t keep = h->tail_len + len > TAIL_KEEP ? TAIL_KEEP - len : h->tail_len;
		memmove(h->tail, h->tail + h->tail_len - keep, keep);
		memcpy(h->tail + keep, p, len);
		h->tail_len = keep + len;
	}
}

static size_t step_line(struct imap_session *s, enum isc_dir dir, isc_time ts,
			const uint8_t *p, size_t len)
{
	struct half *h = &s->h[dir];
	const uint8_t *lf = memchr(p, '\n', len);
	size_t n = lf ? (size_t)(lf - p) + 1 : 0;
	if (h->line_total == 0 && lf && n - 1 <= s->max_line) {
		/* The whole line is here: parse it in place. Nothing was
		 * collected for it (line_total is 0), so lb_len, tail_len
		 * and over are still clear: only line_total is set, for
		 * line_complete(), and cleared (bench's mixed capture: 1,293
		 * -> 1,291 instructions a packet, small: 2,197 -> 2,195). */
		h->line_total = n;
		line_complete(s, dir, ts, p, strip_cr(p, n - 1));
		h->line_total = 0;
		return n;
	}
	if (h->line_total == 0)
		h->line_ts = ts;
	if (!lf) {
		line_append(h, s->max_line, p, len);
		return len;
	}
	line_append(h, s->max_line, p, n - 1);
	h->line_total++;	/* the LF */
	size_t l = h->over ? h->lb_len : strip_cr(h->lb, h->lb_len);
	line_complete(s, dir, h->line_ts, h->lb, l);
	h->lb_len = 0;
	h->line_total = 0;
	h->tail_len = 0;
	h->over = false;
	return n;
}

static size_t step_literal(struct imap_session *s, enum isc_dir dir, isc_time ts,
			   const uint8_t *p, size_t len)
{
	struct half *h = &s->h[dir];
	size_t n = len < h->lit_left ? len : (size_t)h->lit_left;
	if (h->sample && h->sample_len < h->sample_cap && !h->sample_stopped) {
		size_t k = h->sample_cap - h->sample_len;
		if (k > n)
			k = n;
		memcpy(h->sample + h->sample_len, p, k);
		h->sample_len += k;
	}
	h->lit_left -= n;
	h->ctr[IMAP_HC_LITERAL_BYTES] += n;
	if (h->lit_left == 0)
		literal_done(s, dir, ts);
	return n;
}

/* Collects the start of a TLS stream until its hello parses (or cannot). */
static void tls_peek(struct imap_session *s, enum isc_dir dir,
		     const uint8_t *p, size_t len)
{
	struct half *h = &s->h[dir];
	if (!h->tls) {
		h->tls = malloc(TLS_PEEK);
		if (!h->tls) {
			h->tls_done = true;
			return;
		}
	}
	size_t take = TLS_PEEK - h->tls_len < len ? TLS_PEEK - h->tls_len : len;
	memcpy(h->tls + h->tls_len, p, take);
	h->tls_len += take;
	bool more;
	if (tls_hello_parse(h->tls, h->tls_len, &s->hello[dir], &more) ||
	    !more || h->tls_len == TLS_PEEK) {
		h->tls_done = true;
		free(h->tls);
		h->tls = NULL;
	}
}

/* Bytes after STARTTLS: counted; the first must open a TLS record. */
static size_t step_opaque(struct imap_session *s, enum isc_dir dir, isc_time ts,
			  const uint8_t *p, size_t len)
{
	struct half *h = &s->h[dir];
	if (!h->tls_checked && s->starttls) {
		h->tls_checked = true;
		/* TLS handshake (RFC 8446 5.1); the analyzer can't see zlib
		 * fill the inflate buffer that p may point to */
		/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
		if (len > 0 && p[0] != 0x16)
			anomaly(s, dir, ts, "starttls_injection");
	}
	if (s->starttls && !h->tls_done)
		tls_peek(s, dir, p, len);
	if (!h->z_failed)	/* counted at the end (inflate_stop) */
		h->ctr[IMAP_HC_OPAQUE_BYTES] += len;
	return len;
}

static void inflate_feed(struct imap_session *s, enum isc_dir dir, isc_time ts,
			 const uint8_t *p, size_t len);

/* Runs the framing over plain (uncompressed) bytes. Each step consumes at
 * least one byte or changes the state, so the loop ends. */
static void parse(struct imap_session *s, enum isc_dir dir, isc_time ts,
		  const uint8_t *p, size_t len)
{
	struct half *h = &s->h[dir];
	while (len > 0) {
		size_t n;
		if (h->z) {
			/* COMPRESS was turned on by the line just parsed */
			if (!h->z_started) {
				h->z_started = true;
				h->z_start = h->wire_base + (uint64_t)(p - h->chunk);
			}
			inflate_feed(s, dir, ts, p, len);
			return;
		}
		switch (h->ps) {
		case PS_LINE:
			n = step_line(s, dir, ts, p, len);
			break;
		case PS_LITERAL:
			n = step_literal(s, dir, ts, p, len);
			break;
		case PS_LIT_WAIT:
			/* The client sends its literal only after "+": if
			 * bytes come first, the "+" was not captured (or
			 * came late); take them as the literal. */
			h->plus_late = true;
			literal_start(s, dir, ts);
			continue;
		case PS_OPAQUE:
		default:
			n = step_opaque(s, dir, ts, p, len);
			break;
		}
		p += n;
		len -= n;
	}
}

static void parse_inflated(struct imap_session *s, enum isc_dir dir, isc_time ts,
			   const uint8_t *p, size_t len)
{
	struct half *h = &s->h[dir];
	z_stream *z = h->z;
	h->z = NULL;		/* parse() must not recurse into inflate */
	parse(s, dir, ts, p, len);
	if (!h->z)
		h->z = z;
	else {
		inflateEnd(z);
		free(z);
	}
}

/* The compressed stream of dir can't be followed any further (bad
 * deflate data, or a gap): the rest is opaque. Its byte count is taken
 * at the end, from the stream's first compressed byte: how far zlib had
 * read ahead when it found the fault depends on the chunking. */
static void inflate_stop(struct imap_session *s, enum isc_dir dir)
{
	struct half *h = &s->h[dir];
	inflateEnd(h->z);
	free(h->z);
	h->z = NULL;
	h->z_failed = true;
	h->ps = PS_OPAQUE;
}

/* Inflates compressed bytes and parses what comes out, until the input
 * is used up and zlib holds no more output. */
static void inflate_feed(struct imap_session *s, enum isc_dir dir, isc_time ts,
		  const uint8_t *p, size_t len)
{
	struct half *h = &s->h[dir];
	uint8_t out[INFLATE_CHUNK];
	h->z->next_in = (Bytef *)(uintptr_t)p;
	h->z->avail_in = (uInt)len;
	while (h->z) {
		h->z->next_out = out;
		h->z->avail_out = sizeof(out);
		int r = inflate(h->z, Z_SYNC_FLUSH);
		size_t got = sizeof(out) - h->z->avail_out;
		if (got > 0)
			parse_inflated(s, dir, ts, out, got);
		if (!h->z)
			return;
		if (r == Z_STREAM_END || (r != Z_OK && r != Z_BUF_ERROR)) {
			if (r != Z_STREAM_END)
				anomaly(s, dir, ts, "inflate_error");
			inflate_stop(s, dir);
			return;
		}
		if ((h->z->avail_in == 0 && got < sizeof(out)) ||
		    (r == Z_BUF_ERROR && got == 0))
			break;
	}
}

/* ---- public ------------------------------------------------------------- */

size_t imap_session_size(void)
{
	return sizeof(struct imap_session);
}

int imap_session_new(const struct imap_config *cfg, const struct imap_sink *sink,
		     void *ctx, struct imap_session **s_r)
{
	struct imap_session *s = cfg->pool ? isc_pool_get(cfg->pool) :
				 malloc(sizeof(*s));
	if (!s)
		return ISC_ENOMEM;
	/* the fields from anom_names on are read only where written: their
	 * cache lines are left alone, a new session being cold memory */
	memset(s, 0, offsetof(struct imap_session, anom_names));
	s->hello[ISC_DIR_CLIENT].found = s->hello[ISC_DIR_SERVER].found = false;
	s->show_secrets = cfg->show_secrets;
	s->midstream = cfg->midstream;
	s->max_line = cfg->lim->max_line;
	s->max_pending = cfg->lim->max_pending;
	s->max_depth = cfg->lim->max_depth;
	s->literal_bytes = cfg->lim->literal_bytes;
	s->pool = cfg->pool;
	s->sink = *sink;
	s->ctx = ctx;
	for (int d = 0; d < 2; d++) {
		struct half *h = &s->h[d];
		h->sample_cap = s->literal_bytes > ARG_CAP ?
				s->literal_bytes : ARG_CAP;
		h->hunting = cfg->midstream;
	}
	*s_r = s;
	return 0;
}

void imap_session_free(struct imap_session **sp)
{
	struct imap_session *s = *sp;
	if (!s)
		return;
	for (int d = 0; d < 2; d++) {
		struct half *h = &s->h[d];
		free_if(h->lb);
		free_if(h->sample);
		free_if(h->tls);
		if (h->z) {
			inflateEnd(h->z);
			free(h->z);
		}
	}
	for (size_t i = 0; i < s->npend; i++) {
		free_if(s->pend[i].mailbox);
		free_if(s->pend[i].mailbox2);
		free_if(s->pend[i].auth_user);
	}
	if (s->pend != s->pend0)
		free_if(s->pend);
	for (size_t i = 0; i < s->nnames; i++)
		if (s->names_owned >> i & 1)
			free((void *)(uintptr_t)s->names[i].name);
	if (s->names != s->names0)
		free_if(s->names);
	if (s->id_client)
		imap_kv_free(s->id_client, s->n_id_client);
	if (s->id_server)
		imap_kv_free(s->id_server, s->n_id_server);
	free_if(s->id_client);
	free_if(s->id_server);
	for (size_t i = 0; i < s->n_mailboxes; i++)
		free(s->mailboxes[i]);
	if (s->greeting != s->greeting_buf)
		free_if(s->greeting);
	free_if(s->mailbox);
	free_if(s->user);
	free_if(s->disp);
	if (s->pool)
		isc_pool_put(s->pool, s);
	else
		free(s);
	*sp = NULL;
}

void imap_feed(struct imap_session *s, enum isc_dir dir, isc_time ts,
	       const uint8_t *p, size_t len)
{
	struct half *h = &s->h[dir];
	h->wire_base = h->ctr[IMAP_HC_BYTES];
	h->chunk = p;
	h->ctr[IMAP_HC_BYTES] += len;
	/* A chunk wholly inside a literal that it does not end, with no
	 * sample being taken (sample_stopped) and nothing to inflate: all
	 * parse() would do is count it (most chunks of a large FETCH).
	 * Skipping parse() for it saved 10 instructions a packet on
	 * bench's mixed capture; the test costs 2 a packet on its small one,
	 * where few chunks are literal data. */
	if (h->ps == PS_LITERAL && len < h->lit_left && h->sample_stopped &&
	    !h->z) {
		h->ctr[IMAP_HC_LITERAL_BYTES] += len;
		h->lit_left -= len;
		return;
	}
	parse(s, dir, ts, p, len);
}

void imap_gap(struct imap_session *s, enum isc_dir dir, isc_time ts, uint64_t len)
{
	struct half *h = &s->h[dir];
	h->ctr[IMAP_HC_GAPS]++;
	h->ctr[IMAP_HC_GAP_BYTES] += len;
	if (len == 0)
		return;
	marker(s, dir, ts, IMAP_MARK_GAP, len);
	if (h->z) {
		/* a hole in a deflate stream cannot be bridged */
		anomaly(s, dir, ts, "gap_in_compressed_stream");
		if (!h->z_started) {
			h->z_started = true;
			h->z_start = h->ctr[IMAP_HC_BYTES];
		}
		inflate_stop(s, dir);
		return;
	}
	if (h->ps == PS_OPAQUE)
		return;
	if (h->ps == PS_LIT_WAIT)
		h->ps = PS_LITERAL, h->lit_left = h->lit.size, h->sample_len = 0;
	if (h->ps == PS_LITERAL) {
		/* a gap inside a literal of known size keeps us in step */
		if (len < h->lit_left) {
			h->lit_left -= len;
			h->ctr[IMAP_HC_LITERAL_BYTES] += len;
			h->sample_stopped = true;	/* the sample stops here */
			return;
		}
		len -= h->lit_left;
		h->ctr[IMAP_HC_LITERAL_BYTES] += h->lit_left;
		h->lit_left = 0;
		literal_done(s, dir, ts);

		if (len == 0)
			return;
	}
	/* elsewhere: drop the partial line and look for the next good one */
	h->hunt_skipped += h->line_total;
	h->ctr[IMAP_HC_SKIPPED_BYTES] += h->line_total;
	h->lb_len = 0;
	h->line_total = 0;
	h->tail_len = 0;
	h->over = false;
	h->cont = false;
	h->hunting = true;
	if (dir == ISC_DIR_CLIENT)
		s->building = 0;
}

/* strcmp(a, b) > 0. Most names differ in their first letter: that is
 * compared here, without the call (bench's small capture: imap_end()
 * took 375 fewer instructions a session). */
static inline bool name_after(const char *a, const char *b)
{
	if (a[0] != b[0])
		return (unsigned char)a[0] > (unsigned char)b[0];
	return strcmp(a, b) > 0;
}

void imap_end(struct imap_session *s, isc_time ts)
{
	/* commands never answered, in the order they were sent */
	for (size_t i = 0; i < s->npend; i++)
		emit_command(s, &s->pend[i], NULL, NULL, NULL, 0);
	while (s->npend > 0)
		drop_pending(s, s->npend - 1);
	for (int d = 0; d < 2; d++)
		if (s->h[d].z_failed)
			s->h[d].ctr[IMAP_HC_OPAQUE_BYTES] =
				s->h[d].ctr[IMAP_HC_BYTES] - s->h[d].z_start;
	/* by name: an insertion sort of the (name, count) pairs, a handful
	 * in most sessions; qsort() copied the 40-byte entries through its
	 * buffer with a call to compare each pair (bench's many-flows
	 * capture: 330 -> 80 instructions a session) */
	struct imap_name_count bn[MAX_NAMES];
	for (size_t i = 0; i < s->nnames; i++) {
		struct imap_name_count v = { s->names[i].name, s->names[i].count };
		size_t k = i;
		for (; k > 0 && name_after(bn[k - 1].name, v.name); k--)
			bn[k] = bn[k - 1];
		bn[k] = v;
	}
	struct imap_session_rec r = {
		.greeting = s->greeting,
		.capabilities = s->caps,
		.mailbox = s->mailbox,
		.user = s->user,
		.authenticated = s->authenticated,
		.starttls = s->starttls,
		.compress = s->compress,
		.tls_sni = s->hello[ISC_DIR_CLIENT].found ? s->hello[ISC_DIR_CLIENT].sni : NULL,
		.tls_client_version = s->hello[ISC_DIR_CLIENT].found ?
				      s->hello[ISC_DIR_CLIENT].version : 0,
		.tls_version = s->hello[ISC_DIR_SERVER].found ?
			       s->hello[ISC_DIR_SERVER].version : 0,
		.tls_cipher = s->hello[ISC_DIR_SERVER].found ?
			      s->hello[ISC_DIR_SERVER].cipher : 0,
		.logout = s->logout || s->bye,
		.preauth = s->preauth,
		.cleartext_login = s->cleartext_login,
		.commands = s->ncmds,
		.by_name = bn,
		.n_by_name = s->nnames,
		.auth_attempts = s->auth_attempts,
		.auth_failures = s->auth_failures,
		.anomalies = s->anomalies,
		.anomaly_names = s->anom_names,
		.n_anomaly_names = s->n_anom_names,
		.state = s->logout || s->bye ? "logout" :
			 s->selected ? "selected" :
			 s->authenticated ? "authenticated" : "not_authenticated",
		.read_only = s->read_only,
		.utf8_accept = s->utf8_accept,
		.id_client = s->id_client,
		.n_id_client = s->n_id_client,
		.id_server = s->id_server,
		.n_id_server = s->n_id_server,
		.mailboxes = (const char *const *)s->mailboxes,
		.n_mailboxes = s->n_mailboxes,
		.msgs_fetched = s->fetched,
		.msgs_appended = s->appended,
		.msgs_expunged = s->expunged,
		.msgs_deleted = s->deleted,
	};
	memcpy(r.half, s->h[0].ctr, sizeof(r.half[0]));
	memcpy(r.half[1], s->h[1].ctr, sizeof(r.half[1]));
	if (s->sink.end)
		s->sink.end(s->ctx, ts, &r);
}

const char *imap_session_user(const struct imap_session *s)
{
	return s->user;
}

int imap_role_hint(const uint8_t *p, size_t len)
{
	const uint8_t *lf = memchr(p, '\n', len);
	size_t l = lf ? (size_t)(lf - p) : len;
	if (starts_ci(p, l, "* OK") || starts_ci(p, l, "* PREAUTH") ||
	    starts_ci(p, l, "* BYE"))
		return 1;
	if (lf && plausible_command(p, strip_cr(p, l)))
		return -1;
	return 0;
}
