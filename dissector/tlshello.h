/* dissector/tlshello.h: what the first TLS handshake messages after
 * STARTTLS say in clear: the ClientHello's server name (SNI) and offered
 * versions, the ServerHello's chosen version and cipher suite.
 *
 * RFC 8446 4.1.2/4.1.3 (and RFC 5246 7.4.1), RFC 6066 3 (server_name).
 * Pure function over (pointer, length) of the first bytes of one
 * direction; every length from the wire is checked before use. */
#ifndef ISC_TLSHELLO_H
#define ISC_TLSHELLO_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct tls_hello {
	bool found;		/* a ClientHello or ServerHello was parsed */
	bool client;		/* it was a ClientHello */
	uint16_t version;	/* ServerHello: negotiated (supported_versions
				 * if present); ClientHello: highest offered */
	uint16_t cipher;	/* ServerHello only */
	char sni[256];		/* ClientHello only, "" if absent */
};

/* Parses the handshake message starting the TLS stream p[0..len). Returns
 * false while more bytes are needed or if it is not TLS; sets *need_more
 * when a longer prefix could still parse. Handles a hello split over
 * several records only when the first record holds it whole. */
bool tls_hello_parse(const uint8_t *p, size_t len, struct tls_hello *h,
		     bool *need_more);

/* "TLSv1.2", "TLSv1.3", ... or NULL for unknown values. */
const char *tls_version_name(uint16_t v);

#endif
