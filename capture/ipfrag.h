/* capture/ipfrag.h: IPv4 and IPv6 fragment reassembly (RFC 791 section
 * 3.2, RFC 8200 section 4.5), bounded in fragments, bytes and time.
 *
 * The table holds the fragments of incomplete datagrams, keyed by
 * addresses and identification (and the protocol for IPv4). Data that
 * overlaps bytes already held is dropped: the first data seen wins, as in
 * reassembly/, and each overlap is counted (with a second count when the
 * bytes differ: someone sent two versions of the same bytes). When the
 * last hole closes, the datagram's data is handed back in one buffer.
 *
 * Time is capture time: a datagram whose first fragment is frag_timeout
 * older than the newest timestamp seen is dropped as expired. Every
 * fragment held is charged its bytes plus CAP_FRAG_COST against
 * frag_memcap and counts against frag_max; a fragment that does not fit
 * is refused, and its datagram (which can no longer complete) is dropped
 * with it. Nothing is evicted to make room: what is held completes or
 * expires.
 *
 * The caller checks each fragment first (RFC 8200 4.5: the end of a
 * fragment must not pass 65535, and every fragment but the last carries a
 * multiple of 8 bytes); see capture/decode.c. */
#ifndef ISC_CAP_IPFRAG_H
#define ISC_CAP_IPFRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/isc.h"
#include "../common/limits.h"

/* Bytes charged per held fragment piece on top of its data: its
 * bookkeeping, so a flood of 8-byte fragments meets the byte cap too. */
#define CAP_FRAG_COST 64

struct cap_defrag;

/* What identifies the fragments of one datagram. */
struct cap_frag_key {
	uint8_t family;		/* 4 or 6 */
	uint8_t proto;		/* IPv4 protocol; 0 for IPv6 */
	uint32_t id;		/* identification: 16 bits in IPv4 */
	uint8_t src[16], dst[16];	/* IPv4 uses the first 4 bytes */
};

/* One fragment, as the IP header describes it. */
struct cap_frag {
	struct cap_frag_key key;
	uint32_t offset;	/* of its data in the datagram, bytes */
	bool more;		/* more fragments follow (MF, M) */
	uint8_t nxt;		/* IPv6: next header of its fragment header */
	const uint8_t *data;	/* captured data bytes (borrowed) */
	uint32_t len;		/* bytes at data */
	uint32_t missing;	/* data bytes the snaplen cut off after them */
};

/* A completed datagram: the data after the IP header (IPv4) or after the
 * fragment header (IPv6). When the snaplen cut some fragment, the data
 * is the part up to the first byte that was not captured, and missing
 * counts the rest. */
struct cap_datagram {
	uint8_t *data;		/* malloc()ed: the caller free()s it */
	uint32_t len;		/* bytes at data */
	uint32_t missing;	/* bytes of the datagram after them */
	uint8_t nxt;		/* IPv6: next header of the offset-0 fragment */
};

enum cap_frag_result {
	CAP_FRAG_HELD = 0,	/* kept; the datagram is not complete */
	CAP_FRAG_DONE,		/* the datagram is complete: *dg_r */
	CAP_FRAG_REFUSED,	/* a bound refused it; datagram dropped */
	CAP_FRAG_BAD,		/* its end contradicts the datagram's length
				 * (RFC 8200 4.5); datagram dropped */
};

struct cap_defrag_stats {
	uint64_t fragments;	/* fragments offered to cap_defrag_add() */
	uint64_t reassembled;	/* datagrams completed */
	uint64_t overlaps;	/* fragments overlapping data held */
	uint64_t conflicts;	/* ... with bytes differing from it */
	uint64_t refused;	/* fragments refused by frag_max/frag_memcap */
	uint64_t expired;	/* datagrams dropped incomplete at timeout */
	uint64_t dropped;	/* datagrams dropped for a refused or bad
				 * fragment, or out of memory */
	uint64_t pending;	/* datagrams held now */
	uint64_t held;		/* fragment pieces held now */
	uint64_t bytes;		/* bytes charged now */
	uint64_t peak_held;	/* most pieces held at once */
	uint64_t peak_bytes;	/* most bytes charged at once */
};

/* Makes an empty table bounded by lim->frag_max, frag_memcap and
 * frag_timeout (copied). Returns 0 and sets *df_r, or ISC_ENOMEM. */
int cap_defrag_new(const struct isc_limits *lim, struct cap_defrag **df_r);

/* Frees the table and everything held; sets *df to NULL. NULL is fine. */
void cap_defrag_free(struct cap_defrag **df);

/* Adds fragment f seen at time now. Expires old datagrams first. Returns
 * CAP_FRAG_HELD, CAP_FRAG_DONE with the datagram in *dg_r (its buffer is
 * the caller's), CAP_FRAG_REFUSED or CAP_FRAG_BAD (both counted). f's
 * bytes are copied as needed; they are borrowed only during the call. An
 * allocation failure is treated as a refusal. */
enum cap_frag_result cap_defrag_add(struct cap_defrag *df, isc_time now,
				    const struct cap_frag *f,
				    struct cap_datagram *dg_r);

/* Drops the datagrams that are frag_timeout older than now (or than the
 * newest time seen before, if that is later). Can't fail. */
void cap_defrag_expire(struct cap_defrag *df, isc_time now);

/* The counters; valid as long as df. */
const struct cap_defrag_stats *cap_defrag_stats(const struct cap_defrag *df);

#endif
