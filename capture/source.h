/* capture/source.h: packet frames from a capture file (pcap or pcapng,
 * through libpcap) or from stdin ("-").
 *
 * Pull interface, like pcap_next_ex: cap_source_next() returns 1 with a
 * frame, 0 at the end of the file, or a negative ISC_E* on an error whose
 * one-line text cap_source_error() gives (naming the file and the byte
 * offset). Frame bytes belong to libpcap and are valid until the next call. */
#ifndef ISC_CAP_SOURCE_H
#define ISC_CAP_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include "../common/isc.h"

struct cap_source;

struct cap_frame {
	isc_time ts;
	uint64_t index;		/* 1-based frame number in this source */
	int linktype;		/* DLT_* of the frame's interface */
	const uint8_t *data;	/* captured bytes (borrowed) */
	uint32_t caplen;	/* bytes present at data */
	uint32_t wirelen;	/* bytes the frame had on the wire */
};

/* Opens path ("-" for stdin). Returns 0 and sets *src_r, or ISC_EIO (or
 * ISC_ENOMEM) with a one-line message naming the file in err (errlen
 * bytes, NUL-terminated). */
int cap_source_open(const char *path, struct cap_source **src_r,
		    char *err, size_t errlen);

/* Closes the source and sets *src to NULL. NULL is allowed. */
void cap_source_close(struct cap_source **src);

/* Returns 1 and fills *frame_r, 0 at a clean end of file, or ISC_EIO when
 * the file is damaged or cut off mid-record (see cap_source_error()). */
int cap_source_next(struct cap_source *src, struct cap_frame *frame_r);

/* The last error as one line, "<file>: <libpcap's message> (after packet
 * N, at byte offset X)"; the offset is left out when the input is a pipe.
 * Valid until the next call on src. */
const char *cap_source_error(const struct cap_source *src);

/* The path the source was opened with. */
const char *cap_source_name(const struct cap_source *src);

#endif
