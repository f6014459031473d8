/* capture/gz.c: a file or pipe whose data may be gzip-compressed, as a
 * stdio stream.
 *
 * The first bytes decide: 1f 8b starts gzip data (RFC 1952), which is
 * inflated with zlib, member after member; anything else is passed
 * through unchanged. Both happen behind one glibc fopencookie() stream,
 * so libpcap can take it through pcap_fopen_offline() and a pipe needs no
 * rewinding: the bytes looked at stay in the input buffer.
 *
 * zlib's inflate() is driven here rather than through gzread(), because
 * gzread() throws away what it inflated in a call that then meets damaged
 * data (up to 16 KiB), and takes gzip data that stops short for its end.
 * Here every byte inflated before the damage is handed out, and then the
 * stream fails (EIO) with zlib's words kept for the message: "unexpected
 * end of file" for a cut-off file, "incorrect data check" for a CRC that
 * does not match, and so on. Bytes after the last member that do not
 * start another one are ignored, as gzip does. The stream can tell its
 * position (ftell()), counted in uncompressed bytes; it cannot seek.
 */
#include "cap_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

/* Input read from the file at a time. */
#define CAP_GZ_IN (64u << 10)

struct cap_gz {
	int fd;
	bool compressed;	/* gzip: inflate; else pass through */
	bool member_done;	/* inflate ended a member; more may follow */
	bool in_eof;		/* read() said end of file */
	z_stream zs;		/* input: next_in/avail_in point into in[] */
	uint64_t pos;		/* uncompressed bytes handed to stdio */
	uint8_t magic[4];	/* the first bytes of the data */
	size_t nmagic;		/* how many there are */
	size_t magic_sent;	/* how many of them stdio has had */
	char err[160];		/* what went wrong, "" while all is well */
	uint8_t in[CAP_GZ_IN];
};

/* Reads more input, appending to what is left. Returns 1, 0 at the end
 * of the file, or -1 with g->err set. */
static int cap_gz_fill(struct cap_gz *g)
{
	ssize_t n;

	if (g->in_eof)
		return 0;
	if (g->zs.avail_in > 0 && g->zs.next_in != g->in)
		memmove(g->in, g->zs.next_in, g->zs.avail_in);
	g->zs.next_in = g->in;
	if (g->zs.avail_in == sizeof(g->in))
		return 1;
	do
		n = read(g->fd, g->in + g->zs.avail_in,
			 sizeof(g->in) - g->zs.avail_in);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(g->err, sizeof(g->err), "%s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		g->in_eof = true;
		return 0;
	}
	g->zs.avail_in += (uInt)n;
	return 1;
}

/* Passes stored input through: up to size bytes into buf. Returns the
 * count, 0 at the end, or -1 with g->err set. */
static ssize_t cap_gz_copy(struct cap_gz *g, uint8_t *buf, size_t size)
{
	size_t n;

	if (g->zs.avail_in == 0) {
		int r = cap_gz_fill(g);

		if (r <= 0)
			return r;
	}
	n = g->zs.avail_in < size ? g->zs.avail_in : size;
	memcpy(buf, g->zs.next_in, n);
	g->zs.next_in += n;
	g->zs.avail_in -= (uInt)n;
	return (ssize_t)n;
}

/* Inflates up to size bytes into buf, at least one unless the data ends.
 * Returns the count, 0 at the end of the last member, or -1 with g->err
 * set. Output inflated before an error is returned first; the error then
 * comes with the next call. */
static ssize_t cap_gz_inflate(struct cap_gz *g, uint8_t *buf, size_t size)
{
	uInt want = size > UINT_MAX ? UINT_MAX : (uInt)size;
	int ret, r;

	g->zs.next_out = buf;
	g->zs.avail_out = want;
	while (g->zs.avail_out == want) {
		if (g->member_done) {
			/* another member, or the end (trailing bytes that
			 * are not gzip are ignored, as gzip does) */
			if (g->zs.avail_in == 0 && (r = cap_gz_fill(g)) <= 0)
				return r;
			if (g->zs.next_in[0] != 0x1f)
				return 0;
			inflateReset(&g->zs);
			g->member_done = false;
		}
		if (g->zs.avail_in == 0) {
			r = cap_gz_fill(g);
			if (r < 0)
				return -1;
			if (r == 0) {
				snprintf(g->err, sizeof(g->err),
					 "unexpected end of file");
				return -1;
			}
		}
		ret = inflate(&g->zs, Z_NO_FLUSH);
		if (ret == Z_STREAM_END) {
			g->member_done = true;
		} else if (ret != Z_OK) {
			snprintf(g->err, sizeof(g->err), "%s",
				 g->zs.msg != NULL ? g->zs.msg :
				 ret == Z_MEM_ERROR ? "out of memory" :
				 "compressed data error");
			break;
		}
	}
	if (g->zs.avail_out < want)
		return (ssize_t)(want - g->zs.avail_out);
	return g->err[0] != '\0' ? -1 : 0;
}

/* Reads up to size bytes into buf: the magic bytes not handed out yet,
 * then the data. Returns the count, 0 at the end, or -1 with errno EIO
 * once something went wrong (g->err says what). */
static ssize_t cap_gz_read(void *cookie, char *buf, size_t size)
{
	struct cap_gz *g = cookie;
	size_t n = 0;
	ssize_t got = 0;

	while (n < size && g->magic_sent < g->nmagic)
		buf[n++] = (char)g->magic[g->magic_sent++];
	if (n < size && g->err[0] == '\0') {
		if (g->compressed)
			got = cap_gz_inflate(g, (uint8_t *)buf + n, size - n);
		else
			got = cap_gz_copy(g, (uint8_t *)buf + n, size - n);
		if (got < 0)
			got = 0;
	}
	n += (size_t)got;
	if (n == 0 && g->err[0] != '\0') {
		errno = EIO;
		return -1;
	}
	g->pos += n;
	return (ssize_t)n;
}

/* Only ftell()'s question, "where are we", is answered. */
static int cap_gz_seek(void *cookie, off64_t *off, int whence)
{
	struct cap_gz *g = cookie;

	if (whence != SEEK_CUR || *off != 0 || g->pos > INT64_MAX) {
		errno = ESPIPE;
		return -1;
	}
	*off = (off64_t)g->pos;
	return 0;
}

static void cap_gz_free(struct cap_gz *g)
{
	if (g->compressed)
		inflateEnd(&g->zs);
	close(g->fd);
	free(g);
}

static int cap_gz_close(void *cookie)
{
	cap_gz_free(cookie);
	return 0;
}

int cap_gz_open(int fd, FILE **fp_r, struct cap_gz **gz_r)
{
	static const cookie_io_functions_t io = {
		.read = cap_gz_read,
		.seek = cap_gz_seek,
		.close = cap_gz_close,
	};
	struct cap_gz *g = calloc(1, sizeof(*g));
	FILE *fp;

	if (g == NULL) {
		close(fd);
		return ISC_ENOMEM;
	}
	g->fd = fd;
	/* Look at the first bytes: a pipe may deliver them one by one. */
	while (g->zs.avail_in < 4 && cap_gz_fill(g) > 0)
		;
	if (g->zs.avail_in >= 2 && g->in[0] == 0x1f && g->in[1] == 0x8b) {
		/* 15 + 16: the largest window, gzip wrapper only */
		if (inflateInit2(&g->zs, 15 + 16) != Z_OK) {
			free(g);
			close(fd);
			return ISC_ENOMEM;
		}
		g->compressed = true;
		while (g->nmagic < sizeof(g->magic)) {
			size_t want = sizeof(g->magic) - g->nmagic;
			ssize_t n = cap_gz_inflate(g, g->magic + g->nmagic,
						   want);

			if (n <= 0)
				break;
			g->nmagic += (size_t)n;
		}
	} else {
		/* plain data: the bytes stay in the input buffer */
		g->nmagic = g->zs.avail_in < 4 ? g->zs.avail_in : 4;
		memcpy(g->magic, g->in, g->nmagic);
		g->magic_sent = g->nmagic;
	}
	fp = fopencookie(g, "rb", io);
	if (fp == NULL) {
		cap_gz_free(g);
		return ISC_ENOMEM;
	}
	*fp_r = fp;
	*gz_r = g;
	return 0;
}

size_t cap_gz_magic(const struct cap_gz *gz, uint8_t magic[4])
{
	memcpy(magic, gz->magic, gz->nmagic);
	return gz->nmagic;
}

bool cap_gz_compressed(const struct cap_gz *gz)
{
	return gz->compressed;
}

const char *cap_gz_error(const struct cap_gz *gz)
{
	return gz->err;
}
