/* dissector/tlshello.c: see tlshello.h. */
#include "tlshello.h"
#include "../common/rd.h"

#include <string.h>

const char *tls_version_name(uint16_t v)
{
	switch (v) {
	case 0x0300: return "SSLv3";
	case 0x0301: return "TLSv1.0";
	case 0x0302: return "TLSv1.1";
	case 0x0303: return "TLSv1.2";
	case 0x0304: return "TLSv1.3";
	default: return NULL;
	}
}

/* GREASE values (RFC 8701) are 0x?a?a and mean nothing. */
static bool grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* server_name extension: list of (type, name); type 0 is host_name. */
static void parse_sni(struct rd r, struct tls_hello *h)
{
	uint16_t list = rd_be16(&r);
	if (r.short_read || list > r.left)
		return;
	struct rd l = rd_init(r.p, list);
	while (rd_have(&l, 3)) {
		uint8_t type = rd_u8(&l);
		uint16_t n = rd_be16(&l);
		if (!rd_have(&l, n))
			return;
		if (type == 0) {
			size_t k = n < sizeof(h->sni) - 1 ? n : sizeof(h->sni) - 1;
			memcpy(h->sni, l.p, k);
			h->sni[k] = '\0';
			return;
		}
		rd_skip(&l, n);
	}
}

/* supported_versions: a list in the ClientHello, one value in the
 * ServerHello (RFC 8446 4.2.1). */
static void parse_versions(struct rd r, struct tls_hello *h)
{
	if (!h->client) {
		uint16_t v = rd_be16(&r);
		if (!r.short_read)
			h->version = v;
		return;
	}
	uint8_t n = rd_u8(&r);
	struct rd l = rd_init(r.p, n <= r.left ? n : 0);
	while (rd_have(&l, 2)) {
		uint16_t v = rd_be16(&l);
		if (!grease(v) && v > h->version && v <= 0x0304)
			h->version = v;
	}
}

static void parse_extensions(struct rd *r, struct tls_hello *h)
{
	if (!rd_have(r, 2))
		return;		/* no extensions (old clients) */
	uint16_t total = rd_be16(r);
	struct rd e = rd_init(r->p, total <= r->left ? total : r->left);
	while (rd_have(&e, 4)) {
		uint16_t type = rd_be16(&e);
		uint16_t n = rd_be16(&e);
		if (!rd_have(&e, n))
			return;
		struct rd body = rd_init(e.p, n);
		if (type == 0 && h->client)
			parse_sni(body, h);
		else if (type == 43)
			parse_versions(body, h);
		rd_skip(&e, n);
	}
}

bool tls_hello_parse(const uint8_t *p, size_t len, struct tls_hello *h,
		     bool *need_more)
{
	memset(h, 0, sizeof(*h));
	*need_more = false;
	struct rd r = rd_init(p, len);
	/* record header: type 22 (handshake), version, length */
	uint8_t type = rd_u8(&r);
	uint16_t rver = rd_be16(&r);
	uint16_t rlen = rd_be16(&r);
	if (r.short_read) {
		*need_more = len == 0 || p[0] == 22;
		return false;
	}
	if (type != 22 || (rver >> 8) != 3 || rlen == 0 || rlen > 16384 + 2048)
		return false;
	if (!rd_have(&r, rlen)) {
		*need_more = true;
		return false;
	}
	struct rd m = rd_init(r.p, rlen);
	uint8_t mtype = rd_u8(&m);
	uint32_t mlen = (uint32_t)rd_u8(&m) << 16;
	mlen |= rd_be16(&m);
	if (m.short_read || (mtype != 1 && mtype != 2) || mlen > m.left)
		return false;
	struct rd b = rd_init(m.p, mlen);
	h->client = mtype == 1;
	h->version = rd_be16(&b);		/* legacy_version */
	rd_skip(&b, 32);			/* random */
	uint8_t sid = rd_u8(&b);
	rd_skip(&b, sid);
	if (h->client) {
		uint16_t cs = rd_be16(&b);
		rd_skip(&b, cs);
		uint8_t comp = rd_u8(&b);
		rd_skip(&b, comp);
	} else {
		h->cipher = rd_be16(&b);
		rd_skip(&b, 1);			/* compression */
	}
	if (b.short_read)
		return false;
	parse_extensions(&b, h);
	h->found = true;
	return true;
}
