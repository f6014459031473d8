/* capture/pcapfile.c: a reader for classic pcap files on regular files,
 * faster than libpcap's savefile reader and giving the same frames.
 *
 * Handled here: magic a1b2c3d4 (microseconds) and a1b23c4d (nanoseconds),
 * in either byte order, version 2.4, a full 24-byte file header. Anything
 * else (the Kuznetzov magic a1b2cd34, versions before 2.4 whose caplen and
 * len may be swapped, a cut-off file header, a byte-swapped file whose link
 * type libpcap rewrites pseudo-headers for) is left to libpcap, as are
 * pipes and compressed files (input.c decides). Reference: pcap-savefile(5)
 * and libpcap 1.10's sf-pcap.c, whose behaviour is matched exactly:
 *
 *   link type  the low 26 bits of the header field (the top 6 carry FCS
 *              information), LINKTYPE_ values mapped to DLT_ values as
 *              linktype_to_dlt() does (cap_pf_dlt())
 *   snaplen    0 or above INT_MAX: the link type's maximum (cap_pf_max())
 *   caplen     above the link type's maximum: a damaged record; above the
 *              snaplen only: cut to the snaplen, the rest skipped
 *   timestamp  32-bit seconds and fraction, signed or not as libpcap
 *              reads them (cap_pf_ts()), microseconds * 1000
 *   errors     libpcap's texts ("truncated dump file; tried to read N
 *              captured bytes, only got M"), at the offset where reading
 *              stopped, which is where libpcap's ftell() would be
 *
 * Why pread() into a buffer and not mmap(): both avoid libpcap's costs
 * (a read() per 4 KiB stdio buffer, then a memcpy() of every frame into
 * its packet buffer). Measured on the 1 GB mixed capture in the page
 * cache, parsing records only: pread() with 256 KiB 0.152 s, mmap() with
 * MADV_SEQUENTIAL 0.164 s (page faults instead of copies), libpcap
 * 0.247 s. A whole imapscope run over that file gained from mmap() in
 * one measurement (0.47 -> 0.41 s, best of 5: the kernel's copy is gone)
 * and not in a later one (0.52 s both ways, best of 8), where the mapped
 * pages also counted in the resident set (986 MiB). And a mapped
 * file that shrinks under us (a capture rotated or truncated while we
 * read it) raises SIGBUS at the next touch of a lost page, and the bytes
 * past the new end in its last page read as zeros, silently: a frame
 * cut that way would be analyzed as zeros instead of ending the file
 * with an error. pread() just returns fewer bytes: the usual "truncated
 * dump file" error at the right record. Frames point into the buffer;
 * RSS is the buffer, whatever the size of the file.
 *
 * Every length from the file is checked before use: a record is at most
 * the link type's maximum (256 KiB but for three link types), and the
 * buffer grows (for good) only to hold a record larger than it.
 */
#include "cap_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/rd.h"

#define CAP_PF_MAGIC_US		0xa1b2c3d4U
#define CAP_PF_MAGIC_NS		0xa1b23c4dU
#define CAP_PF_FILEHDR		24
#define CAP_PF_RECHDR		16

/* The top 6 bits of the link type field hold other information (FCS
 * length); libpcap's LT_LINKTYPE() keeps the rest. */
#define CAP_PF_LT_MASK		0x03ffffffU

/* LINKTYPE_ values whose DLT_ value differs on some platform: libpcap's
 * linktype_to_dlt() maps them and leaves every other value alone (checked
 * against libpcap 1.10.3 for every value below 65536). */
#define CAP_PF_LT_ATM_RFC1483	100
#define CAP_PF_LT_RAW		101
#define CAP_PF_LT_SLIP_BSDOS	102
#define CAP_PF_LT_PPP_BSDOS	103
#define CAP_PF_LT_ATM_CLIP	106

/* libpcap's MAXIMUM_SNAPLEN: the largest record of most link types. */
#define CAP_PF_MAX_SNAPLEN	262144u

/* Size of the read buffer. Measured on the 1 GB mixed capture in the page
 * cache, reading frames only (cap_source_next() in a loop, 9 alternating
 * runs, best wall time): 256 KiB 0.152 s, 1 MiB 0.169 s, 4 MiB 0.178 s,
 * against 0.247 s for libpcap's bare pcap_next_ex() loop. A buffer that
 * fits the L2 cache is still there when the frames are decoded; one
 * pread() per 256 KiB replaces stdio's read() per 4 KiB (64 times fewer
 * system calls) and no frame is copied. A record straddling the end of
 * the buffer is moved to its front: one record per refill. Records larger
 * than the buffer (up to 256 KiB + 16 for most link types, up to 128 MiB
 * for D-Bus) grow it to the next power of two. */
#define CAP_PF_BUF		(256u << 10)

struct cap_pf {
	int fd;
	/* from the file header, fixed */
	bool swapped;		/* the file is not in our byte order */
	bool nsec;		/* nanosecond timestamps */
	int linktype;		/* DLT_* */
	uint32_t snapshot;	/* as libpcap's p->snapshot: > 0 */
	uint32_t maxcap;	/* a larger caplen is a damaged record */
	/* for cap_pf_next()'s common case, from the above */
	uint32_t fastcap;	/* min(snapshot, maxcap): a caplen up to it
				 * is taken whole, as it is */
	uint32_t fraclim;	/* a fraction below it needs no carry: a
				 * second in the file's unit; 0 in a
				 * swapped file, whose every record is
				 * left to cap_pf_next_any() */
	uint32_t fracmul;	/* nanoseconds per unit of the fraction */
	/* a window of the file: buf[pos, len) holds the file's bytes from
	 * offset off - (len - pos) up to off */
	uint8_t *buf;
	size_t bufcap, pos, len;
	uint64_t off;		/* file offset of buf[len]: bytes read */
	uint64_t count;		/* frames handed out */
	/* 1 while frames may follow, then the final 0 (end of the file) or
	 * ISC_EIO, repeated; once final, pos == len, so cap_pf_next()'s
	 * common case never looks at the buffer again */
	int state;
	char msg[CAP_ERRLEN];	/* why it failed, "" before */
	uint64_t fail_off;	/* where reading stopped, with msg */
};

/* libpcap's max_snaplen_for_dlt(). */
static uint32_t cap_pf_max(int dlt)
{
	switch (dlt) {
	case DLT_DBUS:
		return 128u << 20;
	case DLT_EBHSCR:
		return 8u << 20;
	case DLT_USBPCAP:
		return 1u << 20;
	default:
		return CAP_PF_MAX_SNAPLEN;
	}
}

/* libpcap's linktype_to_dlt(lt & CAP_PF_LT_MASK) on this platform. */
static int cap_pf_dlt(uint32_t lt)
{
	switch (lt & CAP_PF_LT_MASK) {
	case CAP_PF_LT_ATM_RFC1483:
		return DLT_ATM_RFC1483;
	case CAP_PF_LT_RAW:
		return DLT_RAW;
	case CAP_PF_LT_SLIP_BSDOS:
		return DLT_SLIP_BSDOS;
	case CAP_PF_LT_PPP_BSDOS:
		return DLT_PPP_BSDOS;
	case CAP_PF_LT_ATM_CLIP:
		return DLT_ATM_CLIP;
	default:
		return (int)(lt & CAP_PF_LT_MASK);
	}
}

/* Link types whose pseudo-header libpcap rewrites in a file of the other
 * byte order (swap_pseudo_headers()). Our frames point into the read
 * buffer as read, so such files are left to libpcap. */
static bool cap_pf_swaps_pseudo(int dlt)
{
	switch (dlt) {
	case DLT_PFLOG:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_USB_LINUX:
	case DLT_USB_LINUX_MMAPPED:
	case DLT_NFLOG:
	case DLT_CAN_SOCKETCAN:
		return true;
	default:
		return false;
	}
}

static uint32_t cap_pf_u32(bool big, struct rd *r)
{
	return big ? rd_be32(r) : rd_le32(r);
}

static uint16_t cap_pf_u16(bool big, struct rd *r)
{
	return big ? rd_be16(r) : rd_le16(r);
}

/* Reads into buf[len, bufcap) at off, as much as the file gives. Returns
 * how many bytes came (0 at the end of the file), or -1 with errno set. */
static ssize_t cap_pf_fill(struct cap_pf *pf)
{
	size_t room = pf->bufcap - pf->len;
	ssize_t got;

	do
		got = pread(pf->fd, pf->buf + pf->len, room, (off_t)pf->off);
	while (got < 0 && errno == EINTR);
	if (got > 0) {
		pf->len += (size_t)got;
		pf->off += (uint64_t)got;
	}
	return got;
}

/* Makes buf[pos, pos + n) hold the next n bytes of the file if it has
 * them: moves the unread bytes to the front of the buffer (growing it if
 * n needs more room) and reads. Returns the bytes available, n or fewer
 * at the end of the file, or -1 with errno set (or ENOMEM). */
static ssize_t cap_pf_need(struct cap_pf *pf, size_t n)
{
	size_t have = pf->len - pf->pos;

	if (have >= n)
		return (ssize_t)n;
	if (n > pf->bufcap) {
		size_t cap = pf->bufcap;
		uint8_t *p;

		while (cap < n)
			cap *= 2;
		p = malloc(cap);
		if (p == NULL) {
			errno = ENOMEM;
			return -1;
		}
		memcpy(p, pf->buf + pf->pos, have);
		free(pf->buf);
		pf->buf = p;
		pf->bufcap = cap;
	} else if (pf->pos > 0) {
		/* a record cut by the end of the window: at most one
		 * record, while the window is CAP_PF_BUF */
		memmove(pf->buf, pf->buf + pf->pos, have);
	}
	pf->pos = 0;
	pf->len = have;
	while (pf->len < n) {
		ssize_t got = cap_pf_fill(pf);

		if (got < 0)
			return -1;
		if (got == 0)
			break;
	}
	return (ssize_t)(pf->len < n ? pf->len : n);
}

int cap_pf_open(int fd, struct cap_pf **pf_r)
{
	uint8_t hdr[CAP_PF_FILEHDR];
	struct rd r;
	struct cap_pf *pf;
	uint32_t magic, snaplen, lt;
	uint16_t major, minor;
	bool big, host_big = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
	ssize_t got;
	int dlt;

	do
		got = pread(fd, hdr, sizeof(hdr), 0);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof(hdr))
		return 0;	/* cut off or unreadable: libpcap says so */
	r = rd_init(hdr, sizeof(hdr));
	magic = rd_le32(&r);
	if (magic == CAP_PF_MAGIC_US || magic == CAP_PF_MAGIC_NS)
		big = false;
	else if (__builtin_bswap32(magic) == CAP_PF_MAGIC_US ||
		 __builtin_bswap32(magic) == CAP_PF_MAGIC_NS)
		big = true;
	else
		return 0;
	major = cap_pf_u16(big, &r);
	minor = cap_pf_u16(big, &r);
	rd_skip(&r, 8);			/* thiszone, sigfigs */
	snaplen = cap_pf_u32(big, &r);
	lt = cap_pf_u32(big, &r);
	dlt = cap_pf_dlt(lt);
	if (major != 2 || minor != 4 ||
	    (big != host_big && cap_pf_swaps_pseudo(dlt)))
		return 0;
	pf = calloc(1, sizeof(*pf));
	if (pf == NULL || (pf->buf = malloc(CAP_PF_BUF)) == NULL) {
		free(pf);
		return ISC_ENOMEM;
	}
	pf->fd = fd;
	pf->swapped = big != host_big;
	pf->nsec = (big ? __builtin_bswap32(magic) : magic) == CAP_PF_MAGIC_NS;
	pf->linktype = dlt;
	pf->maxcap = cap_pf_max(dlt);
	/* pcap_adjust_snapshot(): a bogus snaplen means the maximum */
	pf->snapshot = snaplen == 0 || snaplen > INT_MAX ? pf->maxcap : snaplen;
	pf->fastcap = pf->snapshot < pf->maxcap ? pf->snapshot : pf->maxcap;
	pf->fraclim = pf->swapped ? 0 : pf->nsec ? 1000000000u : 1000000u;
	pf->fracmul = pf->nsec ? 1 : 1000;
	pf->bufcap = CAP_PF_BUF;
	pf->off = CAP_PF_FILEHDR;
	pf->state = 1;
	*pf_r = pf;
	return 1;
}

/* Ends the reader with ret (0, or ISC_EIO with pf->msg and pf->fail_off
 * set): every further call returns ret. Returns ret. */
static int cap_pf_end(struct cap_pf *pf, int ret)
{
	pf->state = ret;
	pf->pos = pf->len;
	return ret;
}

/* Ends the reader for a failed read, at offset off: libpcap's words. */
static int cap_pf_readerr(struct cap_pf *pf, uint64_t off)
{
	if (errno == ENOMEM)
		snprintf(pf->msg, sizeof(pf->msg), "out of memory");
	else
		snprintf(pf->msg, sizeof(pf->msg),
			 "error reading dump file: %s", strerror(errno));
	pf->fail_off = off;
	return cap_pf_end(pf, ISC_EIO);
}

/* The timestamp as libpcap 1.10 gives it: the two 32-bit fields are
 * signed in a file of our byte order (read as bpf_int32) but unsigned in
 * a swapped one (SWAPLONG() yields an unsigned value), then widened, and
 * microseconds scaled to nanoseconds. */
static isc_time cap_pf_ts(const struct cap_pf *pf, uint32_t sec, uint32_t frac)
{
	int64_t s = pf->swapped ? (int64_t)sec : (int64_t)(int32_t)sec;
	int64_t f = pf->swapped ? (int64_t)frac : (int64_t)(int32_t)frac;

	return cap_ts_make(s, pf->nsec ? f : f * 1000);
}

/* cap_pf_next() for any record, in any state: refills the buffer, cuts
 * a caplen above the snaplen, and reports the end of the file and
 * damaged records. Kept out of line: inlined, its registers and stack
 * frame were set up for every record. */
__attribute__((noinline))
static int cap_pf_next_any(struct cap_pf *pf, struct cap_frame *frame_r)
{
	uint32_t sec, frac, caplen, wirelen, take;
	ssize_t got;

	if (pf->state != 1)
		return pf->state;
	if (pf->len - pf->pos < CAP_PF_RECHDR) {
		got = cap_pf_need(pf, CAP_PF_RECHDR);
		if (got == 0)
			return cap_pf_end(pf, 0);
		if (got < 0)
			return cap_pf_readerr(pf, pf->off);
		if (got < CAP_PF_RECHDR) {
			snprintf(pf->msg, sizeof(pf->msg), "truncated dump "
				 "file; tried to read %d header bytes, only "
				 "got %zd", CAP_PF_RECHDR, got);
			pf->fail_off = pf->off;
			return cap_pf_end(pf, ISC_EIO);
		}
	}
	/* The 16 bytes are there (checked just above): read as four words
	 * at once instead of through struct rd, whose checks and byte-order
	 * branches per field cost about 60 of the ~160 instructions per
	 * record (callgrind, small-x0.02 capture). */
	{
		uint32_t w[4];

		memcpy(w, pf->buf + pf->pos, sizeof(w));
		if (pf->swapped)
			for (int i = 0; i < 4; i++)
				w[i] = __builtin_bswap32(w[i]);
		sec = w[0];
		frac = w[1];
		caplen = w[2];
		wirelen = w[3];
	}
	pf->pos += CAP_PF_RECHDR;
	if (caplen > pf->maxcap) {
		if (caplen > pf->snapshot)
			snprintf(pf->msg, sizeof(pf->msg), "invalid packet "
				 "capture length %u, bigger than snaplen of %u",
				 caplen, pf->snapshot);
		else
			snprintf(pf->msg, sizeof(pf->msg), "invalid packet "
				 "capture length %u, bigger than maximum of %u",
				 caplen, pf->maxcap);
		pf->fail_off = pf->off - (pf->len - pf->pos); /* after the
							       * header */
		return cap_pf_end(pf, ISC_EIO);
	}
	/* A caplen above the snaplen (and not above the maximum) is cut to
	 * the snaplen and the rest skipped, as libpcap does; the whole
	 * record is read first, so a cut-off file fails with libpcap's
	 * counts: the snaplen part first, then the whole record. */
	take = caplen > pf->snapshot ? pf->snapshot : caplen;
	got = pf->len - pf->pos >= caplen ? (ssize_t)caplen :
	      cap_pf_need(pf, caplen);
	if (got < 0)
		return cap_pf_readerr(pf, pf->off);
	if ((uint32_t)got < caplen) {
		snprintf(pf->msg, sizeof(pf->msg), "truncated dump file; "
			 "tried to read %u captured bytes, only got %zd",
			 (uint32_t)got < take ? take : caplen, got);
		pf->fail_off = pf->off;
		return cap_pf_end(pf, ISC_EIO);
	}
	frame_r->data = pf->buf + pf->pos;
	pf->pos += caplen;
	frame_r->ts = cap_pf_ts(pf, sec, frac);
	frame_r->index = ++pf->count;
	frame_r->linktype = pf->linktype;
	frame_r->caplen = take;
	frame_r->wirelen = wirelen;
	return 1;
}

int cap_pf_next(struct cap_pf *pf, struct cap_frame *frame_r)
{
	size_t have = pf->len - pf->pos;
	const uint8_t *p = pf->buf + pf->pos;
	uint32_t sec, frac, caplen, wirelen;

	/* The common record is taken here: in a file of our byte order, its
	 * header and all its bytes in the buffer, a caplen within the
	 * snaplen and the maximum, and a fraction below a second. Every
	 * other record, and every call once the reader has ended (pos ==
	 * len then), goes to cap_pf_next_any(), from the same buffer
	 * position. With no call but that tail call, this needs no stack
	 * frame: 88 -> 39 instructions a frame with cap_ts_make() on
	 * bench's mixed capture. A swapped file fails the fraction's test
	 * (fraclim is 0): no test of its own, 2 instructions less. */
	if (have < CAP_PF_RECHDR)
		return cap_pf_next_any(pf, frame_r);
	memcpy(&sec, p, 4);
	memcpy(&frac, p + 4, 4);
	memcpy(&caplen, p + 8, 4);
	memcpy(&wirelen, p + 12, 4);
	/* Read as unsigned, a fraction libpcap reads as negative is above
	 * fraclim too; in a swapped file, every fraction is. */
	if (caplen > pf->fastcap || caplen > have - CAP_PF_RECHDR ||
	    frac >= pf->fraclim)
		return cap_pf_next_any(pf, frame_r);
	/* as cap_pf_ts(): 32 signed bits of seconds are far from isc_time's
	 * limits, so cap_ts_make() would neither carry nor clamp */
	frame_r->ts = (int64_t)(int32_t)sec * ISC_NS_PER_SEC +
		      (int64_t)frac * pf->fracmul;
	frame_r->index = ++pf->count;
	frame_r->data = p + CAP_PF_RECHDR;
	pf->pos += CAP_PF_RECHDR + caplen;
	frame_r->linktype = pf->linktype;
	frame_r->caplen = caplen;
	frame_r->wirelen = wirelen;
	return 1;
}

const char *cap_pf_error(const struct cap_pf *pf, uint64_t *count_r,
			 uint64_t *off_r)
{
	*count_r = pf->count;
	*off_r = pf->fail_off;
	return pf->msg;
}

void cap_pf_close(struct cap_pf **pf)
{
	if (pf == NULL || *pf == NULL)
		return;
	close((*pf)->fd);
	free((*pf)->buf);
	free(*pf);
	*pf = NULL;
}
