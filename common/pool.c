/* common/pool.c: see pool.h. */
#include "pool.h"
#include "isc.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define ISC_POOL_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ISC_POOL_MALLOC 1
#endif
#endif

struct chunk {
	struct chunk *next;
};

struct isc_pool {
	size_t size;		/* block size, a multiple of 16 */
	struct chunk *chunks;	/* every chunk; its first 16 bytes link it */
	uint8_t *bump, *end;	/* blocks never handed out, in the last chunk */
	void *free;		/* blocks given back: each holds the next */
};

int isc_pool_new(size_t size, struct isc_pool **p_r)
{
	if (size == 0 || size > ISC_POOL_CHUNK / 2)
		return ISC_EINVAL;
	struct isc_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return ISC_ENOMEM;
	p->size = (size + 15) & ~(size_t)15;
	*p_r = p;
	return 0;
}

#ifndef ISC_POOL_MALLOC
/* A new chunk on a chunk boundary: twice its size is mapped, and what
 * lies outside the aligned chunk unmapped again. */
static bool new_chunk(struct isc_pool *p)
{
	size_t len = 2 * ISC_POOL_CHUNK;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return false;
	uintptr_t a = ((uintptr_t)m + ISC_POOL_CHUNK - 1) &
		      ~(uintptr_t)(ISC_POOL_CHUNK - 1);
	uint8_t *c = (uint8_t *)a;
	if (c > m)
		munmap(m, (size_t)(c - m));
	if (c + ISC_POOL_CHUNK < m + len)
		munmap(c + ISC_POOL_CHUNK, (size_t)(m + len - (c + ISC_POOL_CHUNK)));
	/* Huge pages from the second chunk on: a capture of a few sessions
	 * touches a few 4 KiB pages of the first instead of 2 MiB a pool.
	 * A hint: EINVAL where transparent huge pages are not built in. */
	if (p->chunks)
		(void)madvise(c, ISC_POOL_CHUNK, MADV_HUGEPAGE);
	struct chunk *k = (struct chunk *)c;
	k->next = p->chunks;
	p->chunks = k;
	/* the first bytes hold the link: 16, or a whole line when blocks
	 * are a multiple of 64 (pool.h), so that each starts a line */
	p->bump = c + (p->size % 64 ? 16 : 64);
	p->end = c + ISC_POOL_CHUNK;
	return true;
}
#endif

void *isc_pool_get(struct isc_pool *p)
{
#ifdef ISC_POOL_MALLOC
	return malloc(p->size);
#else
	if (p->free) {
		void *b = p->free;
		p->free = *(void **)b;
		return b;
	}
	if ((size_t)(p->end - p->bump) < p->size && !new_chunk(p))
		return NULL;
	void *b = p->bump;
	p->bump += p->size;
	return b;
#endif
}

void isc_pool_put(struct isc_pool *p, void *b)
{
#ifdef ISC_POOL_MALLOC
	(void)p;
	free(b);
#else
	if (!b)
		return;
	*(void **)b = p->free;
	p->free = b;
#endif
}

void isc_pool_free(struct isc_pool **pp)
{
	struct isc_pool *p = pp ? *pp : NULL;
	if (!p)
		return;
	struct chunk *k = p->chunks;
	while (k) {
		struct chunk *next = k->next;
		munmap(k, ISC_POOL_CHUNK);
		k = next;
	}
	free(p);
	*pp = NULL;
}
