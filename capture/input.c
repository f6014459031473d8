/* capture/input.c: one capture file, whatever its format.
 *
 * The format is told by the first bytes, never by the name:
 *   1f 8b          gzip (RFC 1952): read through zlib (gz.c), and the
 *                  uncompressed data is told apart the same way
 *   0a 0d 0d 0a    pcapng: read by pcapng.c, one link type per interface
 *   a1b2c3d4       classic pcap (a1b23c4d: ns; either byte order;
 *                  version 2.4) in a regular file: read by pcapfile.c,
 *                  which hands out frames without libpcap's copy
 *   anything else  libpcap's savefile reader (pcap and its variants), or
 *                  its "unknown file format" error
 * A regular file is peeked at with pread() and read through plain stdio
 * unless it is compressed or pcapfile.c takes it. Stdin and other pipes
 * cannot be peeked and rewound, so they always go through zlib, which
 * passes plain data through unchanged.
 *
 * libpcap is asked for nanosecond timestamps, so it scales microsecond
 * files up and the frame header's tv_usec field holds nanoseconds.
 * Errors become one line naming the file; a read error also says how many
 * frames were good and where in the file reading stopped (in uncompressed
 * bytes for a compressed file).
 */
#include "cap_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cap_in {
	char *path;		/* as given; "-" for stdin */
	struct cap_gz *gz;	/* NULL unless read through zlib; lives as
				 * long as the stream that pcap or ng owns */
	pcap_t *pcap;		/* libpcap's reader, or */
	struct cap_ng *ng;	/* ours, for pcapng, or */
	struct cap_pf *pf;	/* ours, for pcap in a regular file */
	int linktype;		/* pcap_datalink() of the libpcap reader */
	uint64_t count;		/* frames read */
	int state;		/* 1 while frames may follow, then the final
				 * 0 (end of file) or ISC_EIO, repeated */
	char err[CAP_ERRLEN];	/* the read error, "" if none; for pf, made
				 * by cap_in_error() */
	/* what cap_ng_next() says when it fails */
	char msg[CAP_ERRLEN];
	uint64_t off;
};

isc_time cap_ts_make(int64_t sec, int64_t ns)
{
	const int64_t max_sec = INT64_MAX / ISC_NS_PER_SEC - 1;

	/* every frame of a sane capture: no carry, no clamp (the 64-bit
	 * division and remainder below were 1% of a run) */
	if (ns >= 0 && ns < ISC_NS_PER_SEC && sec >= -max_sec && sec <= max_sec)
		return sec * ISC_NS_PER_SEC + ns;
	int64_t carry = ns / ISC_NS_PER_SEC;

	ns %= ISC_NS_PER_SEC;
	if (ns < 0) {
		ns += ISC_NS_PER_SEC;
		carry--;
	}
	/* |carry| < 2^34 and sec is clamped first, so the sum can't
	 * overflow */
	if (sec > max_sec)
		sec = max_sec;
	if (sec < -max_sec)
		sec = -max_sec;
	sec += carry;
	if (sec > max_sec)
		sec = max_sec;
	if (sec < -max_sec)
		sec = -max_sec;
	return sec * ISC_NS_PER_SEC + ns;
}

void cap_format_err(char *buf, size_t len, const char *path, const char *msg)
{
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	size_t plen = strlen(path);

	if (buf == NULL || len == 0)
		return;
	if (strncmp(msg, path, plen) == 0 && strncmp(msg + plen, ": ", 2) == 0)
		msg += plen + 2;
	snprintf(buf, len, "%s: %s", name, msg);
	for (char *c = buf; *c != '\0'; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
}

/* Opens path for reading ("-": a duplicate of stdin, so closing it leaves
 * fd 0 alone). Returns the descriptor, or -1 with errno set. */
static int cap_in_fd(const char *path)
{
	if (strcmp(path, "-") == 0)
		return fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Opens the file as a stream positioned at its first byte, through zlib
 * when needed, and reads its first bytes into magic. Returns 0 (and
 * *nmagic_r, *fp_r, *gz_r: NULL for plain stdio), or an error with err
 * set. A regular file that pcapfile.c reads gets no stream: 0 with *pf_r
 * set and *fp_r NULL. */
static int cap_in_stream(const char *path, uint8_t magic[4], size_t *nmagic_r,
			 FILE **fp_r, struct cap_gz **gz_r,
			 struct cap_pf **pf_r, char *err, size_t errlen)
{
	struct stat st;
	ssize_t got;
	int fd = cap_in_fd(path);

	if (fd < 0 || fstat(fd, &st) < 0) {
		cap_format_err(err, errlen, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ISC_EIO;
	}
	if (S_ISDIR(st.st_mode)) {
		cap_format_err(err, errlen, path, "is a directory");
		close(fd);
		return ISC_EIO;
	}
	*gz_r = NULL;
	if (S_ISREG(st.st_mode)) {
		got = pread(fd, magic, 4, 0);
		if (got < 0) {
			cap_format_err(err, errlen, path, strerror(errno));
			close(fd);
			return ISC_EIO;
		}
		if (got < 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
			int ret = got == 4 ? cap_pf_open(fd, pf_r) : 0;

			if (ret < 0) {
				cap_format_err(err, errlen, path,
					       "out of memory");
				close(fd);
				return ret;
			}
			if (ret == 1) {
				*fp_r = NULL;
				*nmagic_r = (size_t)got;
				return 0;
			}
			*fp_r = fdopen(fd, "rb");
			if (*fp_r == NULL) {
				cap_format_err(err, errlen, path,
					       strerror(errno));
				close(fd);
				return ISC_EIO;
			}
			*nmagic_r = (size_t)got;
			return 0;
		}
	}
	if (cap_gz_open(fd, fp_r, gz_r) < 0) {
		cap_format_err(err, errlen, path, "out of memory");
		return ISC_ENOMEM;
	}
	*nmagic_r = cap_gz_magic(*gz_r, magic);
	return 0;
}

/* The message for a failure zlib saw, if it saw one: "compressed data is
 * damaged: <zlib's words>" ("unexpected end of file" for a cut-off gzip
 * file), or "read error: ..." for plain data read through zlib. */
static bool cap_in_gz_msg(const struct cap_in *in, char *buf, size_t len)
{
	if (in->gz == NULL || cap_gz_error(in->gz)[0] == '\0')
		return false;
	snprintf(buf, len, "%s: %s", cap_gz_compressed(in->gz) ?
		 "compressed data is damaged" : "read error",
		 cap_gz_error(in->gz));
	return true;
}

int cap_in_open(const char *path, struct cap_in **in_r, char *err,
		size_t errlen)
{
	static const uint8_t ng_magic[4] = { 0x0a, 0x0d, 0x0d, 0x0a };
	char msg[CAP_ERRLEN];
	uint8_t magic[4];
	size_t nmagic;
	struct cap_in *in;
	FILE *fp;
	int ret;

	in = calloc(1, sizeof(*in));
	if (in == NULL || (in->path = strdup(path)) == NULL) {
		free(in);
		cap_format_err(err, errlen, path, "out of memory");
		return ISC_ENOMEM;
	}
	ret = cap_in_stream(path, magic, &nmagic, &fp, &in->gz, &in->pf, err,
			    errlen);
	if (ret < 0)
		goto err;
	if (in->pf != NULL) {
		/* read by pcapfile.c */
	} else if (nmagic == 4 && memcmp(magic, ng_magic, 4) == 0) {
		ret = cap_ng_open(fp, &in->ng, msg, sizeof(msg));
		/* fp is closed now if that failed: in->gz with it */
		if (ret < 0) {
			cap_format_err(err, errlen, path, msg);
			goto err;
		}
	} else {
		char pcap_err[PCAP_ERRBUF_SIZE] = "";

		in->pcap = pcap_fopen_offline_with_tstamp_precision(fp,
				PCAP_TSTAMP_PRECISION_NANO, pcap_err);
		if (in->pcap == NULL) {
			if (!cap_in_gz_msg(in, msg, sizeof(msg)))
				snprintf(msg, sizeof(msg), "%s",
					 pcap_err[0] != '\0' ? pcap_err :
					 "cannot read");
			cap_format_err(err, errlen, path, msg);
			fclose(fp);
			ret = ISC_EIO;
			goto err;
		}
		in->linktype = pcap_datalink(in->pcap);
	}
	in->state = 1;
	*in_r = in;
	return 0;
err:
	free(in->path);
	free(in);
	return ret;
}

void cap_in_close(struct cap_in **in)
{
	if (in == NULL || *in == NULL)
		return;
	if ((*in)->pcap != NULL)
		pcap_close((*in)->pcap);
	cap_ng_close(&(*in)->ng);
	cap_pf_close(&(*in)->pf);
	free((*in)->path);
	free(*in);
	*in = NULL;
}

/* Records a read error as one line: "<file>: <message> (after packet N,
 * at byte offset X)". off < 0 leaves the offset out (it is unknown, as on
 * a plain pipe). */
static void cap_in_fail(struct cap_in *in, const char *what, int64_t off)
{
	char where[128], msg[CAP_ERRLEN];
	const char *unit = in->gz != NULL && cap_gz_compressed(in->gz) ?
			   "uncompressed byte offset" : "byte offset";
	int n;

	if (!cap_in_gz_msg(in, msg, sizeof(msg)))
		snprintf(msg, sizeof(msg), "%s", what);
	if (off >= 0)
		n = snprintf(where, sizeof(where),
			     " (after packet %llu, at %s %lld)",
			     (unsigned long long)in->count, unit,
			     (long long)off);
	else
		n = snprintf(where, sizeof(where), " (after packet %llu)",
			     (unsigned long long)in->count);
	if (n < 0)
		where[0] = '\0';
	cap_format_err(in->err, sizeof(in->err), in->path, msg);
	strncat(in->err, where, sizeof(in->err) - strlen(in->err) - 1);
	in->state = ISC_EIO;
}

/* The next frame from libpcap. */
static int cap_in_next_pcap(struct cap_in *in, struct cap_frame *frame_r)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	FILE *f;
	int ret = pcap_next_ex(in->pcap, &hdr, &data);

	if (ret == 1) {
		frame_r->ts = cap_ts_make((int64_t)hdr->ts.tv_sec,
					  (int64_t)hdr->ts.tv_usec);
		frame_r->linktype = in->linktype;
		frame_r->data = data;
		frame_r->caplen = hdr->caplen;
		frame_r->wirelen = hdr->len;
		return 1;
	}
	if (ret == PCAP_ERROR_BREAK)		/* end of the file */
		return 0;
	f = pcap_file(in->pcap);
	cap_in_fail(in, ret == PCAP_ERROR ? pcap_geterr(in->pcap) :
			"unexpected result from pcap_next_ex",
		    f != NULL ? (int64_t)ftell(f) : -1);
	return ISC_EIO;
}

/* What cap_ng_next() returned, ret, for a result other than a frame:
 * records a failure and the final state. */
static int cap_in_end(struct cap_in *in, int ret)
{
	if (ret < 0) {
		cap_in_fail(in, in->msg, in->off > INT64_MAX ? -1 :
					 (int64_t)in->off);
		ret = ISC_EIO;
	}
	in->state = ret;
	return ret;
}

/* cap_in_next() for libpcap's reader or pcapng.c's, in any state. Out
 * of line, so that cap_in_next() keeps no registers for it. */
__attribute__((noinline))
static int cap_in_next_any(struct cap_in *in, struct cap_frame *frame_r)
{
	int ret;

	if (in->state != 1)
		return in->state;
	if (in->pcap != NULL) {
		ret = cap_in_next_pcap(in, frame_r);
	} else {
		in->off = 0;
		ret = cap_ng_next(in->ng, frame_r, in->msg, sizeof(in->msg),
				  &in->off);
		if (ret < 0)
			return cap_in_end(in, ret);
	}
	if (ret == 1) {
		in->count++;
		frame_r->index = in->count;
		return 1;
	}
	in->state = ret;
	return ret;
}

int cap_in_next(struct cap_in *in, struct cap_frame *frame_r)
{
	/* A classic pcap file read by pcapfile.c keeps its own count and
	 * final state, and its failure line is made by cap_in_error(): a
	 * test and a tail call, with no frame. 26 -> 4 instructions a frame
	 * on bench's mixed capture. */
	if (in->pf != NULL)
		return cap_pf_next(in->pf, frame_r);
	return cap_in_next_any(in, frame_r);
}

const char *cap_in_error(struct cap_in *in)
{
	if (in->pf != NULL && in->err[0] == '\0') {
		uint64_t off;
		const char *msg = cap_pf_error(in->pf, &in->count, &off);

		if (msg[0] != '\0')
			cap_in_fail(in, msg, off > INT64_MAX ? -1 :
					     (int64_t)off);
	}
	return in->err;
}
