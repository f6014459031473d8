/* common/isc.h: the few plain value types every module shares.
 *
 * Time is nanoseconds since the Unix epoch (int64_t, good until 2262), so
 * pcap's micro- and nanosecond resolutions need no second representation.
 * A direction names the endpoint that sent the bytes: ISC_DIR_CLIENT for
 * client-to-server bytes, ISC_DIR_SERVER for server-to-client bytes.
 * Nothing here allocates. */
#ifndef ISC_ISC_H
#define ISC_ISC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef int64_t isc_time;		/* ns since 1970-01-01T00:00:00Z */

#define ISC_NS_PER_SEC 1000000000LL

enum isc_dir {
	ISC_DIR_CLIENT = 0,	/* bytes sent by the client */
	ISC_DIR_SERVER = 1,	/* bytes sent by the server */
};

/* An IPv4 or IPv6 address. IPv4 uses the first 4 bytes of a[], the rest
 * are zero, so two addresses compare equal with memcmp of the struct. */
struct isc_addr {
	uint8_t family;		/* 4 or 6 */
	uint8_t a[16];
};

/* Longest text isc_addr_format() writes, with its NUL. */
#define ISC_ADDR_STRLEN 46

/* Writes the address in its usual text form (dotted quad, RFC 5952 IPv6)
 * into buf, NUL-terminated. Returns buf. buf must hold ISC_ADDR_STRLEN. */
char *isc_addr_format(const struct isc_addr *a, char *buf);

/* Writes t as RFC 3339 UTC with microseconds, "2026-11-25T10:00:00.123456Z",
 * into buf (at least ISC_TIME_STRLEN bytes). Returns buf. */
#define ISC_TIME_STRLEN 80
char *isc_time_format(isc_time t, char *buf);

/* Error codes: 0 is success, negative values are errors (libuv style). */
enum isc_err {
	ISC_OK = 0,
	ISC_ENOMEM = -1,	/* allocation failed or a memcap refused it */
	ISC_ELIMIT = -2,	/* a configured bound was reached */
	ISC_EIO = -3,		/* reading or writing a file failed */
	ISC_EINVAL = -4,	/* the caller passed something invalid */
};

#endif
