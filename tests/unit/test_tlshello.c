/* Tests of dissector/tlshello: hellos built byte by byte from RFC 8446's
 * layouts, cut at every length. */
#include "../../dissector/tlshello.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

struct b { uint8_t d[1024]; size_t n; };

static void u8(struct b *b, unsigned v) { b->d[b->n++] = (uint8_t)v; }
static void u16(struct b *b, unsigned v) { u8(b, v >> 8); u8(b, v & 0xff); }
static void u24(struct b *b, unsigned v) { u8(b, v >> 16); u16(b, v & 0xffff); }
static void bytes(struct b *b, const void *p, size_t n) { memcpy(b->d + b->n, p, n); b->n += n; }

/* Wraps a handshake body of type t in a handshake header and a record. */
static struct b record(unsigned t, const struct b *body)
{
	struct b r = { .n = 0 };
	u8(&r, 22);
	u16(&r, 0x0301);
	u16(&r, (unsigned)body->n + 4);
	u8(&r, t);
	u24(&r, (unsigned)body->n);
	bytes(&r, body->d, body->n);
	return r;
}

static struct b client_hello(void)
{
	struct b h = { .n = 0 }, ext = { .n = 0 };
	static const char host[] = "imap.example.org";
	u16(&ext, 0);				/* server_name */
	u16(&ext, 2 + 1 + 2 + (unsigned)strlen(host));
	u16(&ext, 1 + 2 + (unsigned)strlen(host));
	u8(&ext, 0);
	u16(&ext, (unsigned)strlen(host));
	bytes(&ext, host, strlen(host));
	u16(&ext, 43);				/* supported_versions */
	u16(&ext, 7);
	u8(&ext, 6);
	u16(&ext, 0x7a7a);			/* GREASE */
	u16(&ext, 0x0304);
	u16(&ext, 0x0303);
	u16(&h, 0x0303);
	for (int i = 0; i < 32; i++)
		u8(&h, (unsigned)i);
	u8(&h, 0);				/* session id */
	u16(&h, 4);
	u16(&h, 0x1301);
	u16(&h, 0xc030);
	u8(&h, 1);
	u8(&h, 0);
	u16(&h, (unsigned)ext.n);
	bytes(&h, ext.d, ext.n);
	return record(1, &h);
}

static struct b server_hello(void)
{
	struct b h = { .n = 0 };
	u16(&h, 0x0303);
	for (int i = 0; i < 32; i++)
		u8(&h, 0xee);
	u8(&h, 0);
	u16(&h, 0x1302);
	u8(&h, 0);
	u16(&h, 6);
	u16(&h, 43);
	u16(&h, 2);
	u16(&h, 0x0304);
	return record(2, &h);
}

Test(tlshello, client_hello_sni_and_versions)
{
	struct b r = client_hello();
	struct tls_hello h;
	bool more;
	cr_assert(tls_hello_parse(r.d, r.n, &h, &more));
	cr_assert(h.client);
	cr_assert_str_eq(h.sni, "imap.example.org");
	cr_assert_eq(h.version, 0x0304);
	cr_assert_str_eq(tls_version_name(h.version), "TLSv1.3");
}

Test(tlshello, server_hello_version_and_cipher)
{
	struct b r = server_hello();
	struct tls_hello h;
	bool more;
	cr_assert(tls_hello_parse(r.d, r.n, &h, &more));
	cr_assert(!h.client);
	cr_assert_eq(h.version, 0x0304);
	cr_assert_eq(h.cipher, 0x1302);
}

Test(tlshello, every_prefix_needs_more_and_reads_nothing_past_it)
{
	struct b r = client_hello();
	for (size_t n = 0; n < r.n; n++) {
		uint8_t *copy = malloc(n ? n : 1);	/* exact size for ASan */
		memcpy(copy, r.d, n);
		struct tls_hello h;
		bool more;
		cr_assert(!tls_hello_parse(copy, n, &h, &more), "prefix %zu", n);
		cr_assert(more, "prefix %zu", n);
		free(copy);
	}
}

Test(tlshello, not_tls)
{
	struct tls_hello h;
	bool more;
	const uint8_t plain[] = "* OK injected\r\n";
	cr_assert(!tls_hello_parse(plain, sizeof(plain) - 1, &h, &more));
	cr_assert(!more);
}
