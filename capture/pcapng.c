/* capture/pcapng.c: a pcapng reader that gives every packet the link
 * type and timestamp resolution of its own interface.
 *
 * libpcap (1.10) exposes one link type per file and stops at the second
 * Interface Description Block whose link type differs from the first,
 * so a capture taken on an Ethernet and a cooked "any" interface at once
 * could not be read past that point. This reader walks the blocks itself:
 *
 *   Section Header (0x0a0d0d0a)   byte order, version 1.x; interfaces reset
 *   Interface Description (1)     link type, snaplen, if_tsresol (option 9),
 *                                 if_tsoffset (option 14)
 *   Enhanced Packet (6)           interface, 64-bit timestamp, lengths
 *   Simple Packet (3)             interface 0, no timestamp (ts 0 + offset)
 *   Packet (2, obsolete)          as Enhanced, with a 16-bit interface id
 *
 * and skips every other block (name resolution, statistics, decryption
 * secrets, custom). Reference: the pcapng specification
 * (draft-ietf-opsawg-pcapng), sections 3 and 4.
 *
 * Every length and offset in a block is checked against the block's own
 * length before it is used, and the block's length against a fixed cap,
 * so a damaged file costs at most one block buffer of CAP_NG_MAX_BLOCK.
 */
#include "cap_int.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "../common/rd.h"

#define CAP_NG_SHB		0x0a0d0d0aU
#define CAP_NG_IDB		1
#define CAP_NG_OPB		2
#define CAP_NG_SPB		3
#define CAP_NG_EPB		6
#define CAP_NG_BOM		0x1a2b3c4dU

#define CAP_NG_OPT_END		0
#define CAP_NG_OPT_TSRESOL	9
#define CAP_NG_OPT_TSOFFSET	14

/* The largest block accepted: libpcap's own cap for pcapng blocks. */
#define CAP_NG_MAX_BLOCK	(16u << 20)
/* Interfaces per section: every real capture has a handful; the cap keeps
 * a file made of nothing but interface blocks from growing the table. */
#define CAP_NG_MAX_IFS		4096u

/* LINKTYPE_* values whose DLT_* value differs (libpcap maps them the same
 * way when it reads a file, so frames from pcap and pcapng files agree). */
#define CAP_LINKTYPE_RAW	101
#define CAP_LINKTYPE_LOOP	108

struct cap_ng_if {
	int linktype;		/* DLT_* */
	uint32_t snaplen;	/* 0: none given */
	bool pow2;		/* resolution 2^-exp s, else 10^-exp s */
	uint8_t exp;		/* <= 63 for pow2, <= 19 for powers of 10 */
	int64_t offset;		/* if_tsoffset, seconds */
};

struct cap_ng {
	FILE *fp;
	bool big;		/* the section is big-endian */
	bool in_section;	/* a Section Header Block was read */
	struct cap_ng_if *ifs;
	size_t nifs, ifcap;
	uint8_t *buf;		/* body of the current block */
	size_t bufcap;
	uint64_t off;		/* bytes of the file consumed */
};

static uint16_t cap_ng_u16(const struct cap_ng *ng, struct rd *r)
{
	return ng->big ? rd_be16(r) : rd_le16(r);
}

static uint32_t cap_ng_u32(const struct cap_ng *ng, struct rd *r)
{
	return ng->big ? rd_be32(r) : rd_le32(r);
}

static uint32_t cap_ng_get32(bool big, const uint8_t *p)
{
	struct rd r = rd_init(p, 4);

	return big ? rd_be32(&r) : rd_le32(&r);
}

/* Reads exactly n bytes. Returns n, or how many came before the end of
 * the file, or -1 on a read error. */
static long cap_ng_read(struct cap_ng *ng, void *p, size_t n)
{
	size_t got = fread(p, 1, n, ng->fp);

	ng->off += got;
	if (got < n && ferror(ng->fp))
		return -1;
	return (long)got;
}

/* The reason a short read stopped: the stream's error or the file's end. */
static void cap_ng_short(char *msg, size_t msglen, long got, const char *what)
{
	if (got < 0)
		snprintf(msg, msglen, "read error in %s: %s", what,
			 strerror(errno));
	else
		snprintf(msg, msglen, "file ends inside %s", what);
}

/* Makes room for n body bytes. Returns 0 or ISC_ENOMEM. */
static int cap_ng_reserve(struct cap_ng *ng, size_t n)
{
	uint8_t *p;
	size_t cap = ng->bufcap ? ng->bufcap : 4096;

	if (n <= ng->bufcap)
		return 0;
	while (cap < n)
		cap *= 2;
	p = realloc(ng->buf, cap);
	if (p == NULL)
		return ISC_ENOMEM;
	ng->buf = p;
	ng->bufcap = cap;
	return 0;
}

/* Reads the next block: its type, and its body (total length minus the
 * 12 bytes of type, length and trailing length) into ng->buf. A Section
 * Header Block sets the byte order from its byte-order magic first.
 * Returns 1, 0 at a clean end of the file (no byte of another block), or
 * ISC_EIO/ISC_ENOMEM with msg set. */
static int cap_ng_block(struct cap_ng *ng, uint32_t *type_r, size_t *blen_r,
			char *msg, size_t msglen)
{
	uint8_t hdr[12];
	uint32_t type, len, trail;
	size_t body, have = 0;
	long got;

	got = cap_ng_read(ng, hdr, 8);
	if (got == 0)
		return 0;
	if (got < 8) {
		cap_ng_short(msg, msglen, got, "a block header");
		return ISC_EIO;
	}
	type = cap_ng_get32(ng->big, hdr);
	if (type == CAP_NG_SHB) {
		uint32_t bom;

		got = cap_ng_read(ng, hdr + 8, 4);
		if (got < 4) {
			cap_ng_short(msg, msglen, got, "a section header");
			return ISC_EIO;
		}
		bom = cap_ng_get32(false, hdr + 8);
		if (bom == CAP_NG_BOM)
			ng->big = false;
		else if (cap_ng_get32(true, hdr + 8) == CAP_NG_BOM)
			ng->big = true;
		else {
			snprintf(msg, msglen, "section header with a bad "
				 "byte-order magic 0x%08x", bom);
			return ISC_EIO;
		}
		have = 4;
	} else if (!ng->in_section) {
		snprintf(msg, msglen, "not a pcapng section header");
		return ISC_EIO;
	}
	len = cap_ng_get32(ng->big, hdr + 4);
	if (len < 12 + have || len % 4 != 0 || len > CAP_NG_MAX_BLOCK) {
		snprintf(msg, msglen, "block of type %u with a bad length %u",
			 type, len);
		return ISC_EIO;
	}
	body = len - 12;
	if (cap_ng_reserve(ng, body + 4) < 0) {
		snprintf(msg, msglen, "out of memory");
		return ISC_ENOMEM;
	}
	memcpy(ng->buf, hdr + 8, have);
	got = cap_ng_read(ng, ng->buf + have, body - have + 4);
	if (got < (long)(body - have + 4)) {
		cap_ng_short(msg, msglen, got, "a block");
		return ISC_EIO;
	}
	trail = cap_ng_get32(ng->big, ng->buf + body);
	if (trail != len) {
		snprintf(msg, msglen, "block length %u and trailing length %u "
			 "differ", len, trail);
		return ISC_EIO;
	}
	*type_r = type;
	*blen_r = body;
	return 1;
}

/* A Section Header Block body: byte-order magic, version, section length
 * (not used), options. A new section forgets the interfaces. */
static int cap_ng_shb(struct cap_ng *ng, size_t blen, char *msg,
		      size_t msglen)
{
	struct rd r = rd_init(ng->buf, blen);
	uint16_t major, minor;

	rd_skip(&r, 4);
	major = cap_ng_u16(ng, &r);
	minor = cap_ng_u16(ng, &r);
	rd_skip(&r, 8);
	if (r.short_read) {
		snprintf(msg, msglen, "section header too short");
		return ISC_EIO;
	}
	if (major != 1) {
		snprintf(msg, msglen, "pcapng version %u.%u is not supported",
			 major, minor);
		return ISC_EIO;
	}
	ng->in_section = true;
	ng->nifs = 0;
	return 0;
}

/* An Interface Description Block: link type, reserved, snaplen, then
 * options, of which if_tsresol and if_tsoffset matter here. */
static int cap_ng_idb(struct cap_ng *ng, size_t blen, char *msg,
		      size_t msglen)
{
	struct rd r = rd_init(ng->buf, blen);
	struct cap_ng_if ifc = { .exp = 6 };	/* default: microseconds */
	uint16_t lt;

	lt = cap_ng_u16(ng, &r);
	rd_skip(&r, 2);
	ifc.snaplen = cap_ng_u32(ng, &r);
	if (r.short_read) {
		snprintf(msg, msglen, "interface description too short");
		return ISC_EIO;
	}
	ifc.linktype = lt == CAP_LINKTYPE_RAW ? DLT_RAW :
		       lt == CAP_LINKTYPE_LOOP ? DLT_LOOP : lt;
	/* Options: code, length, value padded to 4 bytes. A list that runs
	 * off the block ends there (as an end-of-options would). */
	while (rd_have(&r, 4)) {
		uint16_t code = cap_ng_u16(ng, &r);
		uint16_t olen = cap_ng_u16(ng, &r);
		size_t padded = ((size_t)olen + 3) & ~(size_t)3;
		struct rd v;

		if (code == CAP_NG_OPT_END || !rd_have(&r, padded))
			break;
		v = rd_init(r.p, olen);
		rd_skip(&r, padded);
		if (code == CAP_NG_OPT_TSRESOL && olen >= 1) {
			uint8_t res = rd_u8(&v);

			ifc.pow2 = (res & 0x80) != 0;
			ifc.exp = res & 0x7f;
			if ((ifc.pow2 && ifc.exp > 63) ||
			    (!ifc.pow2 && ifc.exp > 19)) {
				snprintf(msg, msglen, "interface %zu has an "
					 "unusable timestamp resolution 0x%02x",
					 ng->nifs, res);
				return ISC_EIO;
			}
		} else if (code == CAP_NG_OPT_TSOFFSET && olen >= 8) {
			uint64_t hi = cap_ng_u32(ng, &v);
			uint64_t lo = cap_ng_u32(ng, &v);
			/* a 64-bit value in the section's byte order */
			uint64_t u = ng->big ? hi << 32 | lo : lo << 32 | hi;

			ifc.offset = u > INT64_MAX ? -(int64_t)(~u) - 1 :
						     (int64_t)u;
		}
	}
	if (ng->nifs == CAP_NG_MAX_IFS) {
		snprintf(msg, msglen, "more than %u interfaces in one section",
			 CAP_NG_MAX_IFS);
		return ISC_EIO;
	}
	if (ng->nifs == ng->ifcap) {
		size_t cap = ng->ifcap ? ng->ifcap * 2 : 4;
		struct cap_ng_if *p = realloc(ng->ifs, cap * sizeof(*p));

		if (p == NULL) {
			snprintf(msg, msglen, "out of memory");
			return ISC_ENOMEM;
		}
		ng->ifs = p;
		ng->ifcap = cap;
	}
	ng->ifs[ng->nifs++] = ifc;
	return 0;
}

/* 10^e for e <= 19. */
static uint64_t cap_ng_pow10(unsigned e)
{
	uint64_t v = 1;

	while (e-- > 0)
		v *= 10;
	return v;
}

/* A packet timestamp t in units of the interface's resolution, as ns. */
static isc_time cap_ng_ts(const struct cap_ng_if *ifc, uint64_t t)
{
	uint64_t sec, frac, ns;
	int64_t s;

	if (ifc->pow2) {
		unsigned e = ifc->exp;

		sec = e == 0 ? t : t >> e;
		frac = e == 0 ? 0 : t & ((UINT64_C(1) << e) - 1);
		/* frac < 2^e; frac * 10^9 must stay below 2^64 */
		if (e <= 34)
			ns = e == 0 ? 0 : (frac * 1000000000u) >> e;
		else
			ns = ((frac >> (e - 34)) * 1000000000u) >> 34;
	} else {
		uint64_t units = cap_ng_pow10(ifc->exp);

		sec = t / units;
		frac = t % units;
		ns = ifc->exp <= 9 ? frac * cap_ng_pow10(9 - ifc->exp) :
				     frac / cap_ng_pow10(ifc->exp - 9);
	}
	/* clamp before adding the offset: cap_ts_make clamps again */
	s = sec > (uint64_t)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)sec;
	if (ifc->offset > INT64_MAX / 4)
		s = INT64_MAX / 2;
	else if (ifc->offset < -(INT64_MAX / 4))
		s = -(INT64_MAX / 2);
	else
		s += ifc->offset;
	return cap_ts_make(s, (int64_t)ns);
}

/* The interface a packet block names, or NULL with msg set. */
static const struct cap_ng_if *cap_ng_iface(const struct cap_ng *ng,
					    uint32_t id, char *msg,
					    size_t msglen)
{
	if (id >= ng->nifs) {
		snprintf(msg, msglen, "packet on interface %u, which was not "
			 "described", id);
		return NULL;
	}
	return &ng->ifs[id];
}

/* Fills *f from an Enhanced (epb) or obsolete Packet Block body. */
static int cap_ng_packet(struct cap_ng *ng, size_t blen, bool epb,
			 struct cap_frame *f, char *msg, size_t msglen)
{
	struct rd r = rd_init(ng->buf, blen);
	const struct cap_ng_if *ifc;
	uint32_t id, hi, lo, caplen, wirelen;

	if (epb)
		id = cap_ng_u32(ng, &r);
	else {
		id = cap_ng_u16(ng, &r);
		rd_skip(&r, 2);		/* drops count */
	}
	hi = cap_ng_u32(ng, &r);
	lo = cap_ng_u32(ng, &r);
	caplen = cap_ng_u32(ng, &r);
	wirelen = cap_ng_u32(ng, &r);
	if (r.short_read) {
		snprintf(msg, msglen, "packet block too short");
		return ISC_EIO;
	}
	if (caplen > r.left) {
		snprintf(msg, msglen, "packet of %u bytes in a block with "
			 "room for %zu", caplen, r.left);
		return ISC_EIO;
	}
	if ((ifc = cap_ng_iface(ng, id, msg, msglen)) == NULL)
		return ISC_EIO;
	f->ts = cap_ng_ts(ifc, (uint64_t)hi << 32 | lo);
	f->linktype = ifc->linktype;
	f->data = r.p;
	f->caplen = caplen;
	f->wirelen = wirelen;
	return 1;
}

/* Fills *f from a Simple Packet Block: interface 0, original length, the
 * data. Its captured length is what the block holds, at most the
 * original length and the interface's snaplen (section 4.4). */
static int cap_ng_spb(struct cap_ng *ng, size_t blen, struct cap_frame *f,
		      char *msg, size_t msglen)
{
	struct rd r = rd_init(ng->buf, blen);
	const struct cap_ng_if *ifc;
	uint32_t wirelen = cap_ng_u32(ng, &r);
	size_t caplen;

	if (r.short_read) {
		snprintf(msg, msglen, "simple packet block too short");
		return ISC_EIO;
	}
	if ((ifc = cap_ng_iface(ng, 0, msg, msglen)) == NULL)
		return ISC_EIO;
	caplen = r.left < wirelen ? r.left : wirelen;
	if (ifc->snaplen != 0 && caplen > ifc->snaplen)
		caplen = ifc->snaplen;
	f->ts = cap_ng_ts(ifc, 0);
	f->linktype = ifc->linktype;
	f->data = r.p;
	f->caplen = (uint32_t)caplen;
	f->wirelen = wirelen;
	return 1;
}

int cap_ng_next(struct cap_ng *ng, struct cap_frame *frame_r, char *msg,
		size_t msglen, uint64_t *off_r)
{
	for (;;) {
		uint64_t start = ng->off;
		uint32_t type;
		size_t blen;
		int ret = cap_ng_block(ng, &type, &blen, msg, msglen);

		if (ret == 1) {
			if (type == CAP_NG_SHB)
				ret = cap_ng_shb(ng, blen, msg, msglen);
			else if (type == CAP_NG_IDB)
				ret = cap_ng_idb(ng, blen, msg, msglen);
			else if (type == CAP_NG_EPB || type == CAP_NG_OPB)
				ret = cap_ng_packet(ng, blen,
						    type == CAP_NG_EPB,
						    frame_r, msg, msglen);
			else if (type == CAP_NG_SPB)
				ret = cap_ng_spb(ng, blen, frame_r, msg,
						 msglen);
			else
				ret = 0;	/* a block we skip */
			if (ret == 1)
				return 1;
			if (ret == 0)
				continue;
		} else if (ret == 0) {
			return 0;
		}
		*off_r = start;
		return ret;
	}
}

int cap_ng_open(FILE *fp, struct cap_ng **ng_r, char *msg, size_t msglen)
{
	struct cap_ng *ng = calloc(1, sizeof(*ng));
	uint32_t type;
	size_t blen;
	int ret;

	if (ng == NULL) {
		fclose(fp);
		snprintf(msg, msglen, "out of memory");
		return ISC_ENOMEM;
	}
	ng->fp = fp;
	ret = cap_ng_block(ng, &type, &blen, msg, msglen);
	if (ret == 0) {
		snprintf(msg, msglen, "empty file");
		ret = ISC_EIO;
	} else if (ret == 1 && type != CAP_NG_SHB) {
		snprintf(msg, msglen, "not a pcapng section header");
		ret = ISC_EIO;
	} else if (ret == 1) {
		ret = cap_ng_shb(ng, blen, msg, msglen);
	}
	if (ret < 0) {
		cap_ng_close(&ng);
		return ret;
	}
	*ng_r = ng;
	return 0;
}

void cap_ng_close(struct cap_ng **ng)
{
	if (ng == NULL || *ng == NULL)
		return;
	if ((*ng)->fp != NULL)
		fclose((*ng)->fp);
	free((*ng)->ifs);
	free((*ng)->buf);
	free(*ng);
	*ng = NULL;
}
