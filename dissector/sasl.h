/* dissector/sasl.h: the identity inside SASL client responses.
 *
 * RFC 4616 (PLAIN), draft-murchison-sasl-login (LOGIN), RFC 2195 (CRAM-MD5),
 * RFC 5802 (SCRAM-*), RFC 7628 (OAUTHBEARER), Google's XOAUTH2.
 * Pure functions; nothing allocated. */
#ifndef ISC_SASL_H
#define ISC_SASL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Decodes base64 (RFC 4648, padding optional, stops at the first byte
 * that is not base64) into dst, at most cap bytes. Returns the number of
 * bytes written; decoding stops when dst is full. */
size_t sasl_b64_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);

enum sasl_mech {
	SASL_OTHER = 0,
	SASL_PLAIN,
	SASL_LOGIN,
	SASL_CRAM_MD5,
	SASL_SCRAM,		/* any SCRAM-* */
	SASL_OAUTHBEARER,
	SASL_XOAUTH2,
};

/* Classifies a mechanism name (case-insensitive). */
enum sasl_mech sasl_mech_of(const char *name);

/* Extracts the identity from the step-th client response (0 = first,
 * which is the initial response when one was sent), given decoded.
 * Writes a NUL-terminated name to user (cap bytes) and returns true if
 * that response carries the identity. */
bool sasl_identity(enum sasl_mech m, unsigned step, const uint8_t *dec,
		   size_t len, char *user, size_t cap);

/* Whether the step-th client response of mechanism m carries a secret
 * (password, proof, token) and must be redacted. */
bool sasl_secret(enum sasl_mech m, unsigned step);

#endif
