/* capture/cap_int.h: what the files of capture/ share among themselves.
 * Nothing outside capture/ includes this header.
 *
 *   gz.c      a file or pipe read through zlib, as a stdio stream
 *   pcapng.c  pcapng reader with one link type per interface
 *   pcapfile.c  classic pcap reader for regular files, no copy per frame
 *   input.c   one capture file: format detection, frames, error lines
 *   source.c  the public cap_source: inputs merged by timestamp
 */
#ifndef ISC_CAP_INT_H
#define ISC_CAP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "source.h"

/* Room for a file name, a library's message and our own context. */
#define CAP_ERRLEN 1024

/* Builds a timestamp from seconds and nanoseconds that may lie anywhere
 * (file contents): ns is normalised into [0, 1e9) and the result clamped
 * to what isc_time holds instead of overflowing. Can't fail. */
isc_time cap_ts_make(int64_t sec, int64_t ns);

/* Writes "<name>: <msg>" into buf (len bytes, len may be 0), where name
 * is "stdin" for "-" and the path otherwise. A leading "<path>: " in msg
 * (libpcap adds one to some messages) is not repeated; newlines become
 * spaces so the result stays on one line. */
void cap_format_err(char *buf, size_t len, const char *path, const char *msg);

/* ---- gz.c --------------------------------------------------------- */

struct cap_gz;

/* Makes a read-only stdio stream of the bytes of fd as zlib's gzread()
 * delivers them: gzip data (RFC 1952, one member or several) is
 * uncompressed, anything else passed through. Takes fd over in every
 * case (it is closed on failure, and by fclose() of the stream). The
 * first bytes are read at once, so *gz_r can tell the magic number and
 * whether the data is compressed. Returns 0 and sets *fp_r and *gz_r
 * (valid until the stream is closed), or ISC_ENOMEM. */
int cap_gz_open(int fd, FILE **fp_r, struct cap_gz **gz_r);

/* The first n (<= 4) bytes of the uncompressed data in magic; returns
 * how many there are (fewer for a shorter stream). */
size_t cap_gz_magic(const struct cap_gz *gz, uint8_t magic[4]);

/* Whether the data is gzip-compressed. */
bool cap_gz_compressed(const struct cap_gz *gz);

/* zlib's message once the compressed data turned out damaged or cut off
 * (or reading the file failed), "" before. */
const char *cap_gz_error(const struct cap_gz *gz);

/* ---- pcapng.c ----------------------------------------------------- */

struct cap_ng;

/* Starts reading a pcapng file from fp, which must be at the start of
 * the Section Header Block; takes fp over (closed by cap_ng_close(), and
 * on failure). Returns 0 and sets *ng_r, or ISC_EIO (a damaged or
 * unsupported header; the reason in msg, msglen bytes) or ISC_ENOMEM. */
int cap_ng_open(FILE *fp, struct cap_ng **ng_r, char *msg, size_t msglen);

/* Returns 1 with the next packet in *frame_r (ts, linktype, data, caplen
 * and wirelen; index is left alone), 0 at the end of the file, or
 * ISC_EIO with the reason in msg (msglen bytes) and the offset of the
 * damaged block in *off_r. Frame bytes are valid until the next call. */
int cap_ng_next(struct cap_ng *ng, struct cap_frame *frame_r, char *msg,
		size_t msglen, uint64_t *off_r);

/* Closes the file and frees everything; sets *ng to NULL. NULL is fine. */
void cap_ng_close(struct cap_ng **ng);

/* ---- pcapfile.c --------------------------------------------------- */

struct cap_pf;

/* Looks at the file header of fd (a regular file, read with pread(), so
 * its offset is not used) and, if it is a classic pcap file this reader
 * handles (magic a1b2c3d4 or a1b23c4d in either byte order, version 2.4,
 * see pcapfile.c), starts reading it. Returns 1 and sets *pf_r, taking
 * fd over (closed by cap_pf_close()); 0 if the file is anything else, or
 * too short or unreadable to tell (fd left alone: libpcap reads it and
 * says what is wrong); or ISC_ENOMEM (fd left alone). */
int cap_pf_open(int fd, struct cap_pf **pf_r);

/* Returns 1 with the next packet in *frame_r (ts, index counting the
 * frames of this file, linktype, data, caplen and wirelen; input is left
 * alone), 0 at the end of the file, or ISC_EIO (a damaged or cut-off
 * file, a read error, out of memory: see cap_pf_error()). After 0 or
 * ISC_EIO every further call returns the same. Frame bytes point into
 * the reader's buffer and are valid until the next call. */
int cap_pf_next(struct cap_pf *pf, struct cap_frame *frame_r);

/* After cap_pf_next() returned ISC_EIO: the reason in libpcap's words,
 * with in *count_r the frames handed out before it and in *off_r the
 * offset where reading stopped, as libpcap's ftell() would give it.
 * "" before a failure. Valid while pf is open. */
const char *cap_pf_error(const struct cap_pf *pf, uint64_t *count_r,
			 uint64_t *off_r);

/* Closes the file and frees everything; sets *pf to NULL. NULL is fine. */
void cap_pf_close(struct cap_pf **pf);

/* ---- input.c ------------------------------------------------------ */

struct cap_in;

/* Opens one capture file (pcap, pcapng, either of them gzip-compressed;
 * "-" is stdin). Returns 0 and sets *in_r, or ISC_EIO/ISC_ENOMEM with a
 * one-line message naming the file in err (errlen bytes). */
int cap_in_open(const char *path, struct cap_in **in_r, char *err,
		size_t errlen);

/* Returns 1 with the next frame (index counts the frames of this file),
 * 0 at the end, or ISC_EIO (see cap_in_error()). After 0 or ISC_EIO
 * every further call returns the same. Frame bytes are valid until the
 * next call or cap_in_close(). */
int cap_in_next(struct cap_in *in, struct cap_frame *frame_r);

/* The read error as one line, "<file>: <what> (after packet N, at byte
 * offset X)", "" if none. Valid until the next call on in. */
const char *cap_in_error(struct cap_in *in);

/* Closes the file and sets *in to NULL. NULL is fine. */
void cap_in_close(struct cap_in **in);

#endif
