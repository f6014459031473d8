/* dissector/sasl.c: see sasl.h. */
#include "sasl.h"

#include <string.h>
#include <strings.h>

static int b64_val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t sasl_b64_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < len && o < cap; i++) {
		int v = b64_val(src[i]);
		if (v < 0)
			break;		/* "=" padding or the end of the token */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dst[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o;
}

enum sasl_mech sasl_mech_of(const char *name)
{
	if (!strcasecmp(name, "PLAIN"))
		return SASL_PLAIN;
	if (!strcasecmp(name, "LOGIN"))
		return SASL_LOGIN;
	if (!strcasecmp(name, "CRAM-MD5"))
		return SASL_CRAM_MD5;
	if (!strncasecmp(name, "SCRAM-", 6))
		return SASL_SCRAM;
	if (!strcasecmp(name, "OAUTHBEARER"))
		return SASL_OAUTHBEARER;
	if (!strcasecmp(name, "XOAUTH2"))
		return SASL_XOAUTH2;
	return SASL_OTHER;
}

/* Copies p[0..len) to user as a C string, stopping at a NUL. */
static bool put(const uint8_t *p, size_t len, char *user, size_t cap)
{
	size_t o = 0;
	while (o < len && o + 1 < cap && p[o] != '\0') {
		user[o] = (char)p[o];
		o++;
	}
	user[o] = '\0';
	return o > 0;
}

/* Finds "key" at the start of a field in a list of fields separated by
 * sep (",", or 0x01 for the OAuth forms) and copies its value. */
static bool field(const uint8_t *p, size_t len, const char *key, uint8_t sep,
		  char *user, size_t cap)
{
	size_t kl = strlen(key), i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && p[j] != sep)
			j++;
		if (j - i >= kl && !memcmp(p + i, key, kl))
			return put(p + i + kl, j - i - kl, user, cap);
		i = j + 1;
	}
	return false;
}

bool sasl_identity(enum sasl_mech m, unsigned step, const uint8_t *dec,
		   size_t len, char *user, size_t cap)
{
	if (step != 0 || cap == 0)
		return false;
	switch (m) {
	case SASL_PLAIN: {
		/* authzid NUL authcid NUL passwd: the identity is authcid.
		 * Without the second NUL, what follows the first one is
		 * the password of a malformed response, not a name. */
		const uint8_t *z = memchr(dec, 0, len);
		if (!z || !memchr(z + 1, 0, len - (size_t)(z - dec) - 1))
			return false;
		size_t off = (size_t)(z - dec) + 1;
		return put(dec + off, len - off, user, cap);
	}
	case SASL_LOGIN:
		return put(dec, len, user, cap);
	case SASL_CRAM_MD5: {
		/* "user SP hex-digest" */
		const uint8_t *sp = memchr(dec, ' ', len);
		return put(dec, sp ? (size_t)(sp - dec) : len, user, cap);
	}
	case SASL_SCRAM:
		/* gs2-header "n,," then "n=user,r=nonce" */
		return field(dec, len, "n=", ',', user, cap) ||
		       field(dec, len, "a=", ',', user, cap);
	case SASL_OAUTHBEARER:
		/* "n,a=user@example.com,^Ahost=...^Aauth=Bearer ...^A^A" */
		return field(dec, len, "a=", ',', user, cap);
	case SASL_XOAUTH2:
		/* "user=" user ^A "auth=Bearer " token ^A ^A */
		return field(dec, len, "user=", 0x01, user, cap);
	case SASL_OTHER:
		break;
	}
	return false;
}

bool sasl_secret(enum sasl_mech m, unsigned step)
{
	switch (m) {
	case SASL_LOGIN:	/* the first response is the user name */
	case SASL_SCRAM:	/* client-first holds no secret */
		return step != 0;
	default:
		return true;
	}
}
