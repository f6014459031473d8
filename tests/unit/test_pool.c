/* Unit tests for common/pool.c: blocks of the asked size, aligned, never
 * overlapping, kept intact until given back, reused after, across many
 * chunks. Holds in both of the pool's builds (chunks, or malloc() under
 * AddressSanitizer). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "../../common/isc.h"
#include "../../common/pool.h"

Test(pool, sizes_out_of_range_are_refused)
{
	struct isc_pool *p = NULL;
	cr_assert_eq(isc_pool_new(0, &p), ISC_EINVAL);
	cr_assert_eq(isc_pool_new(ISC_POOL_CHUNK / 2 + 1, &p), ISC_EINVAL);
	cr_assert_null(p);
	cr_assert_eq(isc_pool_new(ISC_POOL_CHUNK / 2, &p), 0);
	void *b = isc_pool_get(p);
	cr_assert_not_null(b);
	memset(b, 0xa5, ISC_POOL_CHUNK / 2);
	isc_pool_put(p, b);
	isc_pool_put(p, NULL);
	isc_pool_free(&p);
	cr_assert_null(p);
	isc_pool_free(&p);	/* NULL is allowed */
}

/* Fills every block with its own number, over several chunks' worth,
 * gives back every third, takes as many again, and checks each block
 * still holds what was written to it: no two blocks share a byte. */
static void fill_check(size_t size, size_t n)
{
	enum { N = 3000 };
	static unsigned char *blk[N];
	cr_assert_leq(n, N);
	struct isc_pool *p;
	cr_assert_eq(isc_pool_new(size, &p), 0);
	for (size_t i = 0; i < n; i++) {
		blk[i] = isc_pool_get(p);
		cr_assert_not_null(blk[i]);
		cr_assert_eq((uintptr_t)blk[i] % 16, 0, "block %zu not aligned", i);
		memset(blk[i], (int)(i & 0xff), size);
	}
	for (size_t i = 0; i < n; i += 3) {
		isc_pool_put(p, blk[i]);
		blk[i] = NULL;
	}
	for (size_t i = 0; i < n; i += 3) {
		blk[i] = isc_pool_get(p);
		cr_assert_not_null(blk[i]);
		memset(blk[i], (int)(i & 0xff), size);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < size; k++)
			cr_assert_eq(blk[i][k], (unsigned char)(i & 0xff),
				     "block %zu byte %zu overwritten", i, k);
	for (size_t i = 0; i < n; i++)
		isc_pool_put(p, blk[i]);
	isc_pool_free(&p);
}

Test(pool, blocks_never_overlap_across_chunks)
{
	fill_check(1, 3000);		/* rounded up to 16 */
	fill_check(184, 3000);
	fill_check(3456, 3000);		/* five chunks */
	fill_check(ISC_POOL_CHUNK / 3, 12);	/* two a chunk */
}
