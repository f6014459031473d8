/* output/flowid.c: see flowid.h. */
#include "flowid.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Orders endpoints as the Community ID spec does: by address, then port. */
static bool less(const struct isc_addr *a, uint16_t ap,
		 const struct isc_addr *b, uint16_t bp)
{
	size_t n = a->family == 6 ? 16 : 4;
	int c = memcmp(a->a, b->a, n);
	return c < 0 || (c == 0 && ap < bp);
}

char *out_community_id(const struct isc_addr *a, uint16_t aport,
		       const struct isc_addr *b, uint16_t bport,
		       uint16_t seed, char *out)
{
	if (!less(a, aport, b, bport)) {
		const struct isc_addr *t = a;
		uint16_t tp = aport;
		a = b, aport = bport;
		b = t, bport = tp;
	}
	/* seed(2) src(4|16) dst(4|16) proto(1) pad(1) sport(2) dport(2),
	 * all in network byte order */
	uint8_t buf[2 + 16 + 16 + 1 + 1 + 2 + 2];
	size_t n = a->family == 6 ? 16 : 4, o = 0;
	buf[o++] = (uint8_t)(seed >> 8);
	buf[o++] = (uint8_t)seed;
	memcpy(buf + o, a->a, n), o += n;
	memcpy(buf + o, b->a, n), o += n;
	buf[o++] = 6;		/* TCP */
	buf[o++] = 0;
	buf[o++] = (uint8_t)(aport >> 8);
	buf[o++] = (uint8_t)aport;
	buf[o++] = (uint8_t)(bport >> 8);
	buf[o++] = (uint8_t)bport;
	/* SHA-1 fetched once: EVP_sha1() makes EVP_Digest look the
	 * algorithm up among the providers on every call, which was half of
	 * the 10,000 instructions a Community ID cost; and one digest
	 * context, reused, saves an allocation and a free a flow (2,600 ->
	 * 2,200 instructions). Both kept to the end of the process, as
	 * OpenSSL's own tables are; imapscope is single-threaded. */
	static EVP_MD *sha1;
	static EVP_MD_CTX *ctx;
	if (!sha1)
		sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	if (!ctx)
		ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	memcpy(out, "1:", 2);
	if (!sha1 || !ctx || !EVP_DigestInit_ex2(ctx, sha1, NULL) ||
	    !EVP_DigestUpdate(ctx, buf, o) ||
	    !EVP_DigestFinal_ex(ctx, md, &mdlen)) {
		out[2] = '\0';
		return out;
	}
	EVP_EncodeBlock((unsigned char *)out + 2, md, (int)mdlen);
	return out;
}

/* FNV-1a, 64 bits: cheap, stable across platforms and runs. */
static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* "00" to "99", for two digits of an octet at once. */
static const char digits2[] =
	"00010203040506070809101112131415161718192021222324252627282930313233"
	"34353637383940414243444546474849505152535455565758596061626364656667"
	"6869707172737475767778798081828384858687888990919293949596979899";

/* isc_addr_format(), with IPv4 by hand: inet_ntop's sprintf was 1,750
 * instructions an address. The last two digits of an octet are one
 * copy from digits2, not two divisions and stores (125 -> 60
 * instructions an address on bench's many-flows capture). */
static void addr_format(const struct isc_addr *a, char *buf)
{
	if (a->family == 6) {
		isc_addr_format(a, buf);
		return;
	}
	for (int i = 0; i < 4; i++) {
		unsigned v = a->a[i];
		if (v >= 100) {
			*buf++ = (char)('0' + v / 100);
			memcpy(buf, digits2 + 2 * (size_t)(v % 100), 2);
			buf += 2;
		} else if (v >= 10) {
			memcpy(buf, digits2 + 2 * (size_t)v, 2);
			buf += 2;
		} else {
			*buf++ = (char)('0' + v);
		}
		*buf++ = i < 3 ? '.' : '\0';
	}
}

/* "00" to "ff": a byte's two hex digits. */
#define HEX16(h) h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" h "8" h "9" \
	h "a" h "b" h "c" h "d" h "e" h "f"
static const char hex2[] = HEX16("0") HEX16("1") HEX16("2") HEX16("3")
	HEX16("4") HEX16("5") HEX16("6") HEX16("7") HEX16("8") HEX16("9")
	HEX16("a") HEX16("b") HEX16("c") HEX16("d") HEX16("e") HEX16("f");

void out_flow_init(struct out_flow *f, const struct flow_info *fi)
{
	/* json_ep, more than half of *f, is read only up to json_ep_len:
	 * not cleared */
	memset(f, 0, offsetof(struct out_flow, json_ep));
	f->number = fi->number;
	addr_format(&fi->client, f->client_ip);
	addr_format(&fi->server, f->server_ip);
	f->client_port = fi->client_port;
	f->server_port = fi->server_port;
	f->start = fi->start;
	f->midstream = fi->midstream;
	f->role_basis = flow_role_basis_names[fi->role_basis];
	f->reasm[0] = fi->stats[0];
	f->reasm[1] = fi->stats[1];
	uint64_t h = 0xcbf29ce484222325ULL;
	h = fnv(h, &fi->client, sizeof(fi->client));
	h = fnv(h, &fi->server, sizeof(fi->server));
	uint8_t ports[4] = { (uint8_t)(fi->client_port >> 8), (uint8_t)fi->client_port,
			     (uint8_t)(fi->server_port >> 8), (uint8_t)fi->server_port };
	h = fnv(h, ports, sizeof(ports));
	uint8_t t[8];
	for (int i = 0; i < 8; i++)
		t[i] = (uint8_t)((uint64_t)fi->start >> (56 - 8 * i));
	h = fnv(h, t, sizeof(t));
	/* "%016llx" by hand: snprintf was 1,000 instructions a flow; a
	 * byte's two digits a step (108 -> 65 instructions) */
	for (int i = 7; i >= 0; i--, h >>= 8)
		memcpy(f->id + 2 * (size_t)i, hex2 + 2 * (h & 255), 2);
	f->id[16] = '\0';
	out_community_id(&fi->client, fi->client_port, &fi->server,
			 fi->server_port, 0, f->community_id);
}
