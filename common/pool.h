/* common/pool.h: fixed-size blocks carved from large chunks.
 *
 * For the blocks that come and go with every flow and session, by the
 * million on a busy link. Chunks are 2 MiB, 2 MiB-aligned, and offered to
 * the kernel as transparent huge pages (madvise(MADV_HUGEPAGE)), all but
 * the first: with thousands of sessions open their state spans tens of
 * MiB, and with 4 KiB pages most first touches of a session also missed
 * the TLB (bench's many-flows capture ran 5-10% faster). Freed
 * blocks are reused last-freed first; chunks go back to the system only
 * with the pool, so a pool holds its peak of live blocks, rounded up to a
 * chunk. Without huge pages (the kernel's setting "never", or memory too
 * fragmented) a pool works the same on 4 KiB pages.
 *
 * Built with AddressSanitizer, a pool hands out malloc() blocks, so that
 * a use after isc_pool_put() is still caught. Not thread-safe: one pool
 * per owner. */
#ifndef ISC_POOL_H
#define ISC_POOL_H

#include <stddef.h>

#define ISC_POOL_CHUNK ((size_t)2 << 20)

struct isc_pool;

/* A pool of blocks of size bytes (1 to ISC_POOL_CHUNK / 2), each aligned
 * to 16 bytes, and to a 64-byte cache line when size is a multiple of 64
 * (not under AddressSanitizer, where blocks come from malloc()): an owner
 * can then lay its hot fields out by line. Returns 0, or ISC_EINVAL or
 * ISC_ENOMEM. */
int isc_pool_new(size_t size, struct isc_pool **p_r);

/* A block (its bytes unset), or NULL when no memory is left. */
void *isc_pool_get(struct isc_pool *p);

/* Gives block b (from isc_pool_get() on p) back; NULL is allowed. */
void isc_pool_put(struct isc_pool *p, void *b);

/* Frees the pool and sets *p to NULL; every block must have been given
 * back. NULL is allowed. */
void isc_pool_free(struct isc_pool **p);

#endif
