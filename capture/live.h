/* capture/live.h: packet frames captured live from one or more network
 * interfaces through libpcap, and an optional copy of them to pcap files.
 *
 * Pull interface, like cap_source: cap_live_next() returns 1 with a frame,
 * 0 when nothing arrived within the timeout (so the caller's loop wakes up
 * regularly, also when a signal arrived), or a negative code. With several
 * interfaces the frames come in the order they are read, not strictly in
 * timestamp order. Frame bytes belong to libpcap and are valid until the
 * next call on the same cap_live.
 *
 * Opening needs the rights to capture (root or CAP_NET_RAW); those can be
 * given up once cap_live_open() has returned: nothing here needs them
 * again. */
#ifndef ISC_CAP_LIVE_H
#define ISC_CAP_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../common/isc.h"
#include "source.h"

/* Interfaces one cap_live can read at once. */
#define CAP_LIVE_MAX_IFACES 8

/* cap_live_next()'s result after cap_live_breakloop(); distinct from every
 * ISC_E* code. */
#define CAP_LIVE_BREAK (-100)

struct cap_live_opts {
	int snaplen;		/* bytes kept of each packet, > 0 */
	int buffer_kib;		/* kernel buffer per interface; 0: libpcap's */
	bool promisc;		/* promiscuous mode (never asked on "any") */
	int timeout_ms;		/* longest wait in cap_live_next(), > 0 */
	const char *filter;	/* BPF expression; NULL or "": every packet */
};

/* Capture statistics, summed over the interfaces and kept in 64 bits
 * (libpcap's own counters are 32 bits and wrap on a busy link; they are
 * folded in every time cap_live_stats() is called, which must therefore
 * happen more often than 2^32 packets: once a second is plenty). */
struct cap_live_stats {
	uint64_t received;		/* ps_recv: packets the filter accepted */
	uint64_t dropped_kernel;	/* ps_drop: no room in the buffer */
	uint64_t dropped_interface;	/* ps_ifdrop: dropped by the NIC/driver */
};

struct cap_live;

/* Opens each of the n interfaces ifaces[0..n-1] (1 <= n <=
 * CAP_LIVE_MAX_IFACES; "any" is Linux's all-interfaces pseudo-device),
 * activates it with opts and installs the filter. Returns 0 and sets
 * *live_r; or, with nothing left open, ISC_EINVAL (bad n or opts),
 * ISC_ENOMEM, or ISC_EIO with one line in err (errlen bytes,
 * NUL-terminated) that names the interface and the problem: "eth9: no
 * such interface", "eth0: permission denied (...)", "bad filter '...':
 * <libpcap's message>". The strings are copied. */
int cap_live_open(const char *const *ifaces, size_t n,
		  const struct cap_live_opts *opts, struct cap_live **live_r,
		  char *err, size_t errlen);

/* Closes every interface and sets *live to NULL. NULL is allowed. */
void cap_live_close(struct cap_live **live);

/* Waits at most opts->timeout_ms for a packet. Returns 1 and fills
 * *frame_r (frame_r->index counts over all interfaces), 0 when none came
 * (the wait also ends early when a signal is caught), CAP_LIVE_BREAK once
 * cap_live_breakloop() was called, or ISC_EIO when an interface failed
 * (it went away, or went down): see cap_live_error(). After a negative
 * result every further call returns the same. */
int cap_live_next(struct cap_live *live, struct cap_frame *frame_r);

/* Makes the current or next cap_live_next() return CAP_LIVE_BREAK (within
 * one timeout). Only stores a flag: safe to call from a signal handler. */
void cap_live_breakloop(struct cap_live *live);

/* Reads the kernel's counters into *st. Returns 0, or ISC_EIO (with the
 * message in cap_live_error()) when an interface could not tell; *st then
 * holds the last good values. */
int cap_live_stats(struct cap_live *live, struct cap_live_stats *st);

/* The last error as one line, "" if none. Valid until the next call. */
const char *cap_live_error(const struct cap_live *live);

/* libpcap's warnings from opening (e.g. promiscuous mode not supported),
 * one line, "" if none. */
const char *cap_live_warning(const struct cap_live *live);

/* The interfaces joined with ", ", the filter in force ("" for none), the
 * snapshot length, and the link type of interface i (i < count) with its
 * name ("EN10MB"). The strings live as long as live. */
const char *cap_live_ifaces(const struct cap_live *live);
const char *cap_live_filter(const struct cap_live *live);
int cap_live_snaplen(const struct cap_live *live);
size_t cap_live_count(const struct cap_live *live);
int cap_live_linktype(const struct cap_live *live, size_t i);
const char *cap_live_linktype_name(const struct cap_live *live, size_t i);

/* ---- copies of the frames in pcap files (-w) ---------------------------
 *
 * Files are written with nanosecond timestamps. With rotate_bytes > 0 a
 * file that has reached that size is closed before the next frame and the
 * next one started: path, path.1, path.2, ...; with max_files > 0 as well,
 * after path.<max_files - 1> the numbering starts again at path and the
 * old files are overwritten. */
struct cap_dump;

/* Creates (truncates) path for frames of linktype and snaplen. Returns 0
 * and sets *d_r, or ISC_ENOMEM, or ISC_EIO with one line in err naming the
 * file; on failure no file is left behind. The path is copied. */
int cap_dump_open(const char *path, int linktype, int snaplen,
		  uint64_t rotate_bytes, unsigned max_files,
		  struct cap_dump **d_r, char *err, size_t errlen);

/* Writes one frame (rotating first when due). Returns 0, or ISC_EIO when
 * the next file could not be created (err says why; frames are then
 * dropped until cap_dump_reopen() succeeds). Frame bytes are borrowed. */
int cap_dump_write(struct cap_dump *d, const struct cap_frame *fr,
		   char *err, size_t errlen);

/* Pushes buffered frames to the file. Returns 0 or ISC_EIO (disk full,
 * ...) with err set. */
int cap_dump_flush(struct cap_dump *d, char *err, size_t errlen);

/* Closes the current file and opens its path again, appending if it still
 * exists and creating it if it was moved away (log rotation). Returns 0,
 * or ISC_EIO with err set and the dumper closed (frames are dropped until
 * a later reopen succeeds). */
int cap_dump_reopen(struct cap_dump *d, char *err, size_t errlen);

/* The file being written (path or path.N); "" while none is open. */
const char *cap_dump_path(const struct cap_dump *d);

/* Flushes and closes the file and sets *d to NULL. NULL is allowed. */
void cap_dump_close(struct cap_dump **d);

#endif
