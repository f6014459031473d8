/* common/rd.h: a bounded reader over untrusted bytes, with a sticky error.
 *
 * Every read checks the remaining length first (lengths are compared, never
 * "p + n > end", which the compiler may assume cannot overflow). A read past
 * the end returns 0 and sets short_read; callers check it once after a run
 * of reads. The reader never owns the bytes.
 *
 * rd_load_be16() and rd_load_be32() read a big-endian number at p without
 * a check, for callers that have just checked that the bytes are there. */
#ifndef ISC_RD_H
#define ISC_RD_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct rd {
	const uint8_t *p;
	size_t left;
	bool short_read;
};

static inline struct rd rd_init(const uint8_t *p, size_t len)
{
	struct rd r = { p, len, false };
	return r;
}

static inline bool rd_have(const struct rd *r, size_t n)
{
	return !r->short_read && r->left >= n;
}

static inline void rd_skip(struct rd *r, size_t n)
{
	if (!rd_have(r, n)) {
		r->short_read = true;
		r->left = 0;
		return;
	}
	r->p += n;
	r->left -= n;
}

static inline uint8_t rd_u8(struct rd *r)
{
	if (!rd_have(r, 1)) {
		r->short_read = true;
		return 0;
	}
	r->left--;
	return *r->p++;
}

static inline uint16_t rd_load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd_load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint16_t rd_be16(struct rd *r)
{
	if (!rd_have(r, 2)) {
		r->short_read = true;
		return 0;
	}
	r->p += 2;
	r->left -= 2;
	return rd_load_be16(r->p - 2);
}

static inline uint16_t rd_le16(struct rd *r)
{
	if (!rd_have(r, 2)) {
		r->short_read = true;
		return 0;
	}
	r->p += 2;
	r->left -= 2;
	return (uint16_t)(r->p[-1] << 8 | r->p[-2]);
}

static inline uint32_t rd_be32(struct rd *r)
{
	if (!rd_have(r, 4)) {
		r->short_read = true;
		return 0;
	}
	r->p += 4;
	r->left -= 4;
	return rd_load_be32(r->p - 4);
}

static inline uint32_t rd_le32(struct rd *r)
{
	if (!rd_have(r, 4)) {
		r->short_read = true;
		return 0;
	}
	r->p += 4;
	r->left -= 4;
	return (uint32_t)r->p[-1] << 24 | (uint32_t)r->p[-2] << 16 |
	       (uint32_t)r->p[-3] << 8 | (uint32_t)r->p[-4];
}

/* Copies n bytes to dst; on a short read dst is zero-filled. */
static inline void rd_bytes(struct rd *r, void *dst, size_t n)
{
	uint8_t *d = dst;
	if (!rd_have(r, n)) {
		r->short_read = true;
		for (size_t i = 0; i < n; i++)
			d[i] = 0;
		return;
	}
	for (size_t i = 0; i < n; i++)
		d[i] = r->p[i];
	r->p += n;
	r->left -= n;
}

#endif
