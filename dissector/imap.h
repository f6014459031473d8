/* dissector/imap.h: the IMAP dissector. One struct imap_session follows one
 * TCP connection, both directions, as the client and the server saw it.
 *
 * RFC 3501 (IMAP4rev1), RFC 9051 (IMAP4rev2), RFC 7888 (LITERAL+/-),
 * RFC 3516 (BINARY literal8), RFC 2177 (IDLE), RFC 4959 (SASL-IR),
 * RFC 4616 (SASL PLAIN).
 *
 * Input is pushed: imap_feed() with in-order bytes of one direction,
 * imap_gap() for bytes that will never be seen, imap_end() when the
 * connection is over. Feed both directions in capture order: whether a
 * client's synchronizing literal was sent depends on the server's reply.
 * The result is the same however the bytes are chunked.
 *
 * Output is pushed too, through struct imap_sink. Every pointer an event
 * carries is borrowed and valid only during the callback. Literal contents
 * are counted and sampled (the first literal_bytes of each), never
 * buffered whole; per-session memory is bounded by the limits given at
 * creation. Hostile input is not an error: it is recorded as an anomaly and
 * parsing resynchronizes. */
#ifndef ISC_IMAP_H
#define ISC_IMAP_H

#include "../common/limits.h"
#include "names.h"

struct imap_session;
struct isc_pool;

/* A command at its tagged completion, or at the session's end if it never
 * completed (status NULL). */
struct imap_cmd_rec {
	uint64_t number;	/* 1-based, in the order commands were sent */
	const char *tag;
	const char *name;	/* upper case; "UID FETCH" for UID commands;
				 * NULL when the line had no command name */
	const char *status;	/* "OK", "NO", "BAD", or NULL */
	const char *resp_code;	/* inside [...] of the completion, or NULL */
	const char *resp_text;	/* the completion's text, or NULL */
	const char *mailbox;	/* mailbox argument, as sent, or NULL */
	const char *user;	/* the session's user at that point, or NULL */
	isc_time start;		/* first byte of the command */
	isc_time end;		/* its completion; 0 if none */
	uint64_t literals;	/* literals in the command */
	uint64_t literal_bytes;	/* their content octets */
	uint64_t untagged;	/* untagged responses while it was the oldest
				 * command in flight */
	uint64_t messages;	/* "* n FETCH" responses among them */
};

/* An authentication attempt (LOGIN or AUTHENTICATE), at its completion. */
struct imap_auth_rec {
	const char *command;	/* "LOGIN" or "AUTHENTICATE" */
	const char *mechanism;	/* the SASL mechanism; NULL for LOGIN */
	const char *user;	/* identity tried, or NULL if not decodable */
	const char *status;	/* "OK", "NO", "BAD", or NULL */
	const char *resp_text;
	isc_time start, end;
};

enum imap_half_counter {
	IMAP_HC_BYTES = 0,	/* payload bytes delivered */
	IMAP_HC_LINES,
	IMAP_HC_LITERALS,
	IMAP_HC_LITERAL_BYTES,	/* literal content octets */
	IMAP_HC_GAPS,
	IMAP_HC_GAP_BYTES,
	IMAP_HC_OPAQUE_BYTES,	/* bytes not parsed as IMAP (TLS) */
	IMAP_HC_SKIPPED_BYTES,	/* bytes dropped while resynchronizing */
	IMAP_HC_COUNT
};

struct imap_name_count {
	const char *name;
	uint64_t count;
};

/* The session's summary, at imap_end(). */
struct imap_session_rec {
	const char *greeting;		/* the greeting line's text, or NULL */
	const char *capabilities;	/* as last announced, or NULL */
	const char *mailbox;		/* mailbox selected at the end, or NULL */
	const char *state;		/* RFC 3501 3: "not_authenticated",
					 * "authenticated", "selected", "logout" */
	bool read_only;			/* the selected mailbox is read-only */
	bool utf8_accept;		/* ENABLE UTF8=ACCEPT took effect */
	const struct imap_kv *id_client, *id_server;	/* RFC 2971 ID */
	size_t n_id_client, n_id_server;
	const char *const *mailboxes;	/* named by successful commands, UTF-8,
					 * first seen first (at most 32) */
	size_t n_mailboxes;
	uint64_t msgs_fetched;		/* "* n FETCH" responses to FETCH */
	uint64_t msgs_appended;		/* messages APPENDed with OK */
	uint64_t msgs_expunged;		/* "* n EXPUNGE" responses */
	uint64_t msgs_deleted;		/* messages flagged \Deleted by STORE */
	const char *user;		/* last user that authenticated, or tried */
	bool authenticated;
	bool starttls;			/* STARTTLS succeeded: the rest is TLS */
	bool compress;			/* COMPRESS=DEFLATE was turned on */
	/* After STARTTLS, from the clear-text hellos (0 or "" if not seen): */
	const char *tls_sni;		/* ClientHello server_name */
	uint16_t tls_client_version;	/* highest version the client offered */
	uint16_t tls_version;		/* version the server chose */
	uint16_t tls_cipher;		/* cipher suite the server chose */
	bool logout;			/* LOGOUT completed or the server said BYE */
	bool preauth;			/* the greeting was PREAUTH */
	bool cleartext_login;		/* credentials sent in clear text although
					 * the server offered STARTTLS */
	uint64_t commands;
	const struct imap_name_count *by_name;	/* sorted by name */
	size_t n_by_name;
	uint64_t auth_attempts, auth_failures;
	uint64_t anomalies;
	const char *const *anomaly_names;	/* distinct kinds, first seen first */
	size_t n_anomaly_names;
	uint64_t half[2][IMAP_HC_COUNT];	/* [ISC_DIR_*][counter] */
};

enum imap_marker {
	IMAP_MARK_GAP,		/* arg: missing bytes of dir */
	IMAP_MARK_STARTTLS,	/* the connection turned to TLS */
	IMAP_MARK_COMPRESS,	/* COMPRESS=DEFLATE turned on */
	IMAP_MARK_ANOMALY,	/* text: what was odd */
	IMAP_MARK_RESYNC,	/* arg: bytes of dir skipped to find a line */
};

struct imap_sink {
	/* One line as sent, without its CRLF, secrets redacted. A line that
	 * announces a literal ends with the announcement; the literal then
	 * follows as a literal() event and the line goes on in the next
	 * line() event. */
	void (*line)(void *ctx, enum isc_dir dir, isc_time ts,
		     const uint8_t *p, size_t len);
	/* A literal's content has ended: size octets, of which the first
	 * sample_len are given (none when redacted). */
	void (*literal)(void *ctx, enum isc_dir dir, isc_time ts, uint64_t size,
			const uint8_t *sample, size_t sample_len, bool redacted);
	void (*marker)(void *ctx, enum isc_dir dir, isc_time ts,
		       enum imap_marker m, uint64_t arg, const char *text);
	void (*command)(void *ctx, const struct imap_cmd_rec *rec);
	void (*auth)(void *ctx, const struct imap_auth_rec *rec);
	/* Last event of the session. */
	void (*end)(void *ctx, isc_time ts, const struct imap_session_rec *rec);
};

struct imap_config {
	const struct isc_limits *lim;
	bool show_secrets;	/* print passwords and SASL secrets */
	bool midstream;		/* the capture joined an established connection */
	/* Where the session's block comes from: a pool of blocks of
	 * imap_session_size() bytes (caller-owned; it must outlive the
	 * session), or NULL for malloc(). */
	struct isc_pool *pool;
};

/* Bytes of a session's block, for a pool of them. */
size_t imap_session_size(void);

/* Creates a session; events go to sink with ctx. cfg and sink are copied
 * (lim too). Returns 0 or ISC_ENOMEM. */
int imap_session_new(const struct imap_config *cfg, const struct imap_sink *sink,
		     void *ctx, struct imap_session **s_r);

/* Frees the session and sets *s to NULL; no events. NULL is allowed. */
void imap_session_free(struct imap_session **s);

/* In-order bytes sent by dir at time ts. Can't fail. */
void imap_feed(struct imap_session *s, enum isc_dir dir, isc_time ts,
	       const uint8_t *p, size_t len);

/* len bytes sent by dir were lost. */
void imap_gap(struct imap_session *s, enum isc_dir dir, isc_time ts, uint64_t len);

/* The connection is over: commands still pending are reported with no
 * status, then end(). No events after it. */
void imap_end(struct imap_session *s, isc_time ts);

/* The user as currently known, or NULL. */
const char *imap_session_user(const struct imap_session *s);

/* Who sent the first bytes of a connection joined without a handshake:
 * +1 for a server greeting ("* OK", "* PREAUTH", "* BYE"), -1 for a line
 * that is a command (tag SP known command), 0 when the first line can't
 * tell. Only p's first line is read. */
int imap_role_hint(const uint8_t *p, size_t len);

#endif
