/* capture/source.c: frames from a pcap or pcapng file, or stdin, through
 * libpcap's savefile reader.
 *
 * The file is opened with nanosecond timestamp precision, so libpcap
 * scales microsecond files up and the frame header's tv_usec field holds
 * nanoseconds. Errors become one line naming the file; a read error also
 * says how many frames were good and where in the file reading stopped.
 *
 * Limitation: a pcapng file may hold several interfaces, each with its own
 * link type, but libpcap exposes one link type per handle (pcap_datalink)
 * and stops with an error (ISC_EIO here) at the description of a second
 * interface whose link type differs from the first. Every frame is
 * therefore given the handle's link type.
 */
#include "source.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for the file name, libpcap's message and our own context. */
#define CAP_ERRLEN (PCAP_ERRBUF_SIZE + 512)

struct cap_source {
	pcap_t *pcap;
	char *name;		/* path as given to cap_source_open() */
	int linktype;		/* pcap_datalink() of the handle */
	uint64_t count;		/* frames handed out so far */
	int state;		/* 1 while frames may follow, then the final
				 * 0 (end of file) or ISC_EIO, repeated */
	char err[CAP_ERRLEN];	/* last error, "" if none */
};

/* The name used in messages: "stdin" for "-", else the path. */
static const char *cap_display_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "stdin" : path;
}

/* Writes "<file>: <msg>" into buf (len bytes, len may be 0). libpcap puts
 * the path in front of some messages itself (e.g. when fopen fails); that
 * prefix is not repeated. Newlines in msg become spaces so the result
 * stays on one line. */
static void cap_format_err(char *buf, size_t len, const char *path,
			   const char *msg)
{
	const char *name = cap_display_name(path);
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

int cap_source_open(const char *path, struct cap_source **src_r,
		    char *err, size_t errlen)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	struct cap_source *src;

	src = calloc(1, sizeof(*src));
	if (src == NULL || (src->name = strdup(path)) == NULL) {
		free(src);
		cap_format_err(err, errlen, path, "out of memory");
		return ISC_ENOMEM;
	}
	src->pcap = pcap_open_offline_with_tstamp_precision(path,
			PCAP_TSTAMP_PRECISION_NANO, pcap_err);
	if (src->pcap == NULL) {
		cap_format_err(err, errlen, path,
			       pcap_err[0] != '\0' ? pcap_err : "cannot open");
		free(src->name);
		free(src);
		return ISC_EIO;
	}
	src->linktype = pcap_datalink(src->pcap);
	src->state = 1;
	*src_r = src;
	return 0;
}

void cap_source_close(struct cap_source **src)
{
	if (src == NULL || *src == NULL)
		return;
	pcap_close((*src)->pcap);
	free((*src)->name);
	free(*src);
	*src = NULL;
}

/* Converts a frame timestamp whose tv_usec holds nanoseconds to ns since
 * the epoch. Timestamps come from the file, so any value is possible:
 * they are clamped to what isc_time can hold instead of overflowing. */
static isc_time cap_ts_ns(const struct timeval *tv)
{
	const int64_t max_sec = INT64_MAX / ISC_NS_PER_SEC - 1;
	int64_t sec = (int64_t)tv->tv_sec, ns = (int64_t)tv->tv_usec;
	int64_t carry = ns / ISC_NS_PER_SEC;

	ns %= ISC_NS_PER_SEC;
	if (ns < 0) {
		ns += ISC_NS_PER_SEC;
		carry--;
	}
	/* |carry| < 2^34 and sec is clamped first, so the sum can't overflow */
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

/* Records a read error of libpcap as one line: "<file>: <message> (after
 * packet N, at byte offset X)". The offset is where libpcap's stream
 * stands, left out when there is no stream (or it can't tell, as on a
 * pipe). */
static void cap_read_error(struct cap_source *src, const char *msg)
{
	char where[128];
	FILE *f = pcap_file(src->pcap);
	long off = f != NULL ? ftell(f) : -1;
	int n;

	if (off >= 0)
		n = snprintf(where, sizeof(where),
			     " (after packet %llu, at byte offset %ld)",
			     (unsigned long long)src->count, off);
	else
		n = snprintf(where, sizeof(where), " (after packet %llu)",
			     (unsigned long long)src->count);
	if (n < 0)
		where[0] = '\0';
	cap_format_err(src->err, sizeof(src->err), src->name, msg);
	strncat(src->err, where, sizeof(src->err) - strlen(src->err) - 1);
}

int cap_source_next(struct cap_source *src, struct cap_frame *frame_r)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int ret;

	if (src->state != 1)
		return src->state;
	ret = pcap_next_ex(src->pcap, &hdr, &data);
	if (ret == 1) {
		src->count++;
		frame_r->ts = cap_ts_ns(&hdr->ts);
		frame_r->index = src->count;
		frame_r->linktype = src->linktype;
		frame_r->data = data;
		frame_r->caplen = hdr->caplen;
		frame_r->wirelen = hdr->len;
		return 1;
	}
	if (ret == PCAP_ERROR_BREAK) {		/* end of the file */
		src->state = 0;
		return 0;
	}
	cap_read_error(src, ret == PCAP_ERROR ? pcap_geterr(src->pcap) :
			    "unexpected result from pcap_next_ex");
	src->state = ISC_EIO;
	return ISC_EIO;
}

const char *cap_source_error(const struct cap_source *src)
{
	return src->err;
}

const char *cap_source_name(const struct cap_source *src)
{
	return src->name;
}
