/* capture/source.h: packet frames from capture files (pcap or pcapng,
 * either of them gzip-compressed) or from stdin ("-").
 *
 * Pull interface, like pcap_next_ex: cap_source_next() returns 1 with a
 * frame, 0 at the end of the input, or a negative ISC_E* on an error whose
 * one-line text cap_source_error() gives (naming the file and the byte
 * offset). Frame bytes belong to the source and are valid until the next
 * call.
 *
 * Several inputs (rotated files of one sensor, or a directory of them)
 * are read as one capture: their frames are merged by timestamp, so a
 * session that spans two files stays one session. Each frame carries the
 * link type of its own file and interface. */
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
	uint32_t input;		/* which input it came from: 0-based, see
				 * cap_source_input_name() */
};

/* Opens path ("-" for stdin), as cap_source_open_many() with n = 1: a
 * directory is read as all the capture files in it. Returns 0 and sets
 * *src_r, or ISC_EIO (or ISC_ENOMEM) with a one-line message naming the
 * file in err (errlen bytes, NUL-terminated). */
int cap_source_open(const char *path, struct cap_source **src_r,
		    char *err, size_t errlen);

/* Opens paths[0..n-1] as one capture. A path that is a directory stands
 * for the regular files in it (not those whose name starts with '.', not
 * subdirectories), sorted by name; "-" (stdin) may appear once. Formats
 * are told by content: pcap, pcapng, and either gzip-compressed.
 *
 * Frames come in timestamp order across the inputs (a k-way merge of the
 * inputs, each in its own order); equal timestamps go in input order,
 * then file order, so the result is the same on every run. frame->index
 * counts over the merged stream, frame->input names the input.
 *
 * Every input is opened and checked here: returns 0 and sets *src_r, or
 * ISC_EIO with a one-line message naming the file that failed (missing,
 * unreadable, not a capture, an empty directory), ISC_EINVAL (n == 0,
 * stdin twice) or ISC_ENOMEM, in err (errlen bytes). Only a few inputs
 * are kept open at once when there are many: the others are opened again
 * when the merge reaches their first frame. The paths are copied. */
int cap_source_open_many(const char *const *paths, size_t n,
			 struct cap_source **src_r, char *err, size_t errlen);

/* Closes the source and sets *src to NULL. NULL is allowed. */
void cap_source_close(struct cap_source **src);

/* Returns 1 and fills *frame_r, 0 at a clean end of the input, or ISC_EIO
 * when an input was damaged or cut off mid-record (see
 * cap_source_error()). A damaged input ends where the damage starts; the
 * other inputs are still read to their end, and ISC_EIO comes only after
 * their last frame, so every frame before the damage is delivered. After
 * 0 or ISC_EIO every further call returns the same. */
int cap_source_next(struct cap_source *src, struct cap_frame *frame_r);

/* The first failure as one line, "<file>: <what went wrong> (after packet
 * N, at byte offset X)", where N counts the frames of that file; the
 * offset counts uncompressed bytes for a compressed file ("at
 * uncompressed byte offset X"). "" if none. Valid while src is open. */
const char *cap_source_error(const struct cap_source *src);

/* How many inputs failed so far, and the line of failure i (in the order
 * they happened; i < cap_source_failures()). Valid while src is open. */
size_t cap_source_failures(const struct cap_source *src);
const char *cap_source_failure(const struct cap_source *src, size_t i);

/* The first path the source was opened with. */
const char *cap_source_name(const struct cap_source *src);

/* How many inputs there are once directories are expanded, and the path
 * of input i (i < cap_source_inputs(); "-" for stdin). */
size_t cap_source_inputs(const struct cap_source *src);
const char *cap_source_input_name(const struct cap_source *src, size_t i);

#endif
