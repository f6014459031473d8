/* tests/unit/test_capture_files.c: capture files as cap_source reads them:
 * gzip-compressed input, several inputs merged by timestamp, directories,
 * pcapng with several interfaces, and damaged files.
 *
 * Every test writes its files into a fresh temporary directory: pcap files
 * with libpcap's dumper, gzip files with zlib, pcapng files block by block
 * with the ng_* writer below. Frames read back are copied, so whole
 * captures can be compared: the same timestamps, lengths, link types and
 * bytes, in the same order. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../../capture/decode.h"
#include "../../capture/source.h"
#include "capture_frames.h"

#define BASE_SEC 1700000000LL
#define NFRAMES 30

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/* The path of name in the temporary directory, in one of 64 static
 * buffers used in turn: a test may keep a few dozen at once. */
static const char *tmp(const char *name)
{
	static char path[64][512];
	static int k;

	k = (k + 1) % 64;
	cr_assert_lt(snprintf(path[k], sizeof(path[k]), "%s/%s", tmpdir, name),
		     (int)sizeof(path[k]));
	return path[k];
}

/* Reads a whole file into a malloc()ed buffer; *n_r gets its size. */
static uint8_t *slurp(const char *path, size_t *n_r)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *p;
	long n;

	cr_assert_not_null(fp, "%s", path);
	cr_assert_eq(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	p = malloc(n > 0 ? (size_t)n : 1);
	cr_assert_not_null(p);
	cr_assert_eq(fread(p, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*n_r = (size_t)n;
	return p;
}

static void spit(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	cr_assert_not_null(fp, "%s", path);
	cr_assert_eq(fwrite(p, 1, n, fp), n);
	cr_assert_eq(fclose(fp), 0);
}

/* Writes file in compressed with gzip to out. */
static void gzip_file(const char *in, const char *out)
{
	size_t n;
	uint8_t *p = slurp(in, &n);
	gzFile gz = gzopen(out, "wb");

	cr_assert_not_null(gz);
	cr_assert_eq(gzwrite(gz, p, (unsigned)n), (int)n);
	cr_assert_eq(gzclose(gz), Z_OK);
	free(p);
}

/* ------------------------------------------------------------------ */
/* Frames                                                              */
/* ------------------------------------------------------------------ */

/* Frame i of the test capture: Ethernet/IPv4/TCP, sequence number i, a
 * payload naming it; captured whole, or its last 7 bytes cut off when
 * i % 7 == 3. */
static void gen_frame(struct fb *f, int i, uint32_t *caplen_r)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "* %d EXISTS\r\n", i);

	fb_reset(f);
	fb_eth(f, NULL, 0, 0x0800);
	fb_ipv4_ex(f, 6, src4, dst4, (uint16_t)i, 0x4000);
	fb_tcp_ex(f, 143, 51000, (uint32_t)i, 1, ISC_TH_PSH | ISC_TH_ACK);
	fb_put(f, text, (size_t)n);
	fb_finish(f);
	*caplen_r = i % 7 == 3 ? (uint32_t)f->len - 7 : (uint32_t)f->len;
}

/* Timestamp of frame i: increasing, in pairs of equal ones if ties. */
static isc_time gen_ts(int i, bool ties)
{
	int step = ties ? i / 2 : i;

	return (BASE_SEC + step / 3) * ISC_NS_PER_SEC +
	       (step % 3) * 250000000LL + 1000;
}

/* Writes frames from..to-1 whose index % every == phase (every 1: all)
 * into a nanosecond pcap file at path. */
static void write_part(const char *path, int from, int to, int every,
		       int phase, bool ties)
{
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
			PCAP_TSTAMP_PRECISION_NANO);
	pcap_dumper_t *d;
	struct fb f;

	cr_assert_not_null(dead);
	d = pcap_dump_open(dead, path);
	cr_assert_not_null(d, "%s", pcap_geterr(dead));
	for (int i = from; i < to; i++) {
		struct pcap_pkthdr h;
		isc_time ts = gen_ts(i, ties);
		uint32_t caplen;

		if (i % every != phase)
			continue;
		gen_frame(&f, i, &caplen);
		memset(&h, 0, sizeof(h));
		h.ts.tv_sec = (time_t)(ts / ISC_NS_PER_SEC);
		h.ts.tv_usec = (suseconds_t)(ts % ISC_NS_PER_SEC);
		h.caplen = caplen;
		h.len = (uint32_t)f.len;
		pcap_dump((u_char *)d, &h, f.b);
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

/* A frame as read, with a copy of its bytes. */
struct rf {
	isc_time ts;
	uint64_t index;
	int linktype;
	uint32_t caplen, wirelen, input;
	uint8_t *data;
};

/* All frames of a capture and how reading ended. */
struct cap {
	struct rf fr[512];
	size_t n;
	int end;		/* 0 or the error cap_source_next() gave */
	char err[1024];		/* cap_source_error() at the end */
	size_t failures;
};

/* Opens paths as one capture and reads it to the end into *c (which the
 * caller frees with cap_free()). Opening must work. */
static void read_all(const char *const *paths, size_t n, struct cap *c)
{
	struct cap_source *src = NULL;
	struct cap_frame fr;
	char err[1024] = "";
	int r;

	memset(c, 0, sizeof(*c));
	cr_assert_eq(cap_source_open_many(paths, n, &src, err, sizeof(err)),
		     0, "%s", err);
	while ((r = cap_source_next(src, &fr)) == 1) {
		struct rf *o = &c->fr[c->n];

		cr_assert_lt(c->n, sizeof(c->fr) / sizeof(c->fr[0]));
		o->ts = fr.ts;
		o->index = fr.index;
		o->linktype = fr.linktype;
		o->caplen = fr.caplen;
		o->wirelen = fr.wirelen;
		o->input = fr.input;
		o->data = malloc(fr.caplen ? fr.caplen : 1);
		cr_assert_not_null(o->data);
		memcpy(o->data, fr.data, fr.caplen);
		c->n++;
	}
	c->end = r;
	snprintf(c->err, sizeof(c->err), "%s", cap_source_error(src));
	c->failures = cap_source_failures(src);
	cr_assert_eq(cap_source_next(src, &fr), r);	/* it stays */
	cap_source_close(&src);
	cr_assert_null(src);
}

static void read_one(const char *path, struct cap *c)
{
	read_all(&path, 1, c);
}

static void cap_free(struct cap *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->fr[i].data);
	c->n = 0;
}

/* Checks that b holds the first n frames of a (all of them when n is
 * a->n), with the same timestamps, lengths, link types, bytes and
 * indexes. */
static void same_frames(const struct cap *a, const struct cap *b, size_t n)
{
	cr_assert_eq(b->n, n, "%zu frames, want %zu", b->n, n);
	for (size_t i = 0; i < n; i++) {
		const struct rf *x = &a->fr[i], *y = &b->fr[i];

		cr_assert_eq(y->ts, x->ts, "frame %zu: ts", i);
		cr_assert_eq(y->index, i + 1, "frame %zu: index", i);
		cr_assert_eq(y->linktype, x->linktype, "frame %zu", i);
		cr_assert_eq(y->caplen, x->caplen, "frame %zu: caplen", i);
		cr_assert_eq(y->wirelen, x->wirelen, "frame %zu: wirelen", i);
		cr_assert_arr_eq(y->data, x->data, x->caplen, "frame %zu", i);
	}
}

/* The reference capture: all frames in one uncompressed file. */
static void reference(struct cap *c, bool ties)
{
	write_part(tmp("all.pcap"), 0, NFRAMES, 1, 0, ties);
	read_one(tmp("all.pcap"), c);
	cr_assert_eq(c->n, NFRAMES);
	cr_assert_eq(c->end, 0);
}

/* Checks that msg is one line holding each of the given strings. */
static void check_msg(const char *msg, const char *const *want, size_t n)
{
	cr_assert_null(strchr(msg, '\n'), "two lines: %s", msg);
	for (size_t i = 0; i < n; i++)
		cr_assert_not_null(strstr(msg, want[i]), "\"%s\" not in \"%s\"",
				   want[i], msg);
}

/* ------------------------------------------------------------------ */
/* Several files                                                       */
/* ------------------------------------------------------------------ */

TestSuite(merge, .init = tmp_setup, .fini = tmp_teardown);

Test(merge, rotated_files_read_as_one)
{
	struct cap ref, got;
	const char *parts[3];

	reference(&ref, true);
	write_part(tmp("p1.pcap"), 0, 10, 1, 0, true);
	write_part(tmp("p2.pcap"), 10, 20, 1, 0, true);
	write_part(tmp("p3.pcap"), 20, NFRAMES, 1, 0, true);
	parts[0] = tmp("p1.pcap");
	parts[1] = tmp("p2.pcap");
	parts[2] = tmp("p3.pcap");
	read_all(parts, 3, &got);
	same_frames(&ref, &got, NFRAMES);
	cr_assert_eq(got.end, 0);
	cr_assert_eq(got.fr[0].input, 0);
	cr_assert_eq(got.fr[10].input, 1);
	cr_assert_eq(got.fr[NFRAMES - 1].input, 2);
	cap_free(&got);
	/* given in the wrong order: the timestamps decide */
	parts[0] = tmp("p3.pcap");
	parts[1] = tmp("p1.pcap");
	parts[2] = tmp("p2.pcap");
	read_all(parts, 3, &got);
	same_frames(&ref, &got, NFRAMES);
	cap_free(&got);
	cap_free(&ref);
}

Test(merge, interleaved_files_merged)
{
	struct cap ref, got;
	const char *parts[3];

	reference(&ref, false);
	for (int k = 0; k < 3; k++) {
		char name[32];

		snprintf(name, sizeof(name), "rr%d.pcap", k);
		write_part(tmp(name), 0, NFRAMES, 3, k, false);
		parts[k] = tmp(name);
	}
	read_all(parts, 3, &got);
	same_frames(&ref, &got, NFRAMES);
	for (size_t i = 0; i < got.n; i++)
		cr_assert_eq(got.fr[i].input, i % 3);
	cap_free(&got);
	cap_free(&ref);
}

Test(merge, equal_timestamps_input_order_then_file_order)
{
	struct cap got;
	const char *parts[2];

	/* a: frames 0, 1 (equal ts), 2 (later); b: frame 3 with the ts of
	 * 0 and 1, frame 4 with the ts of 2 */
	write_part(tmp("a.pcap"), 0, 3, 1, 0, true);
	{
		pcap_t *dead = pcap_open_dead_with_tstamp_precision(
			DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
		pcap_dumper_t *d = pcap_dump_open(dead, tmp("b.pcap"));
		struct fb f;

		cr_assert_not_null(d);
		for (int i = 3; i < 5; i++) {
			struct pcap_pkthdr h;
			isc_time ts = gen_ts(i == 3 ? 0 : 2, true);
			uint32_t caplen;

			gen_frame(&f, i, &caplen);
			memset(&h, 0, sizeof(h));
			h.ts.tv_sec = (time_t)(ts / ISC_NS_PER_SEC);
			h.ts.tv_usec = (suseconds_t)(ts % ISC_NS_PER_SEC);
			h.caplen = h.len = (uint32_t)f.len;
			pcap_dump((u_char *)d, &h, f.b);
		}
		pcap_dump_close(d);
		pcap_close(dead);
	}
	parts[0] = tmp("a.pcap");
	parts[1] = tmp("b.pcap");
	read_all(parts, 2, &got);
	cr_assert_eq(got.n, 5);
	{
		/* (input, TCP sequence number = frame number) in order */
		static const uint32_t want[5][2] = {
			{ 0, 0 }, { 0, 1 }, { 1, 3 }, { 0, 2 }, { 1, 4 },
		};

		for (size_t i = 0; i < 5; i++) {
			struct rf *r = &got.fr[i];
			uint32_t seq = (uint32_t)r->data[38] << 24 |
				       (uint32_t)r->data[39] << 16 |
				       (uint32_t)r->data[40] << 8 | r->data[41];

			cr_assert_eq(r->input, want[i][0], "frame %zu", i);
			cr_assert_eq(seq, want[i][1], "frame %zu", i);
			cr_assert_eq(r->index, i + 1);
		}
	}
	cap_free(&got);
}

Test(merge, more_files_than_kept_open)
{
	enum { NF = 40, PER = 3 };
	static char names[NF][32];
	const char *parts[NF];
	struct cap ref, got;

	/* 120 frames, strictly increasing */
	write_part(tmp("all.pcap"), 0, NF * PER, 1, 0, false);
	read_one(tmp("all.pcap"), &ref);
	cr_assert_eq(ref.n, NF * PER);
	/* rotated: file k holds frames 3k..3k+2 */
	for (int k = 0; k < NF; k++) {
		snprintf(names[k], sizeof(names[k]), "rot%02d.pcap", k);
		write_part(tmp(names[k]), k * PER, (k + 1) * PER, 1, 0, false);
	}
	for (int k = 0; k < NF; k++)
		parts[k] = strdup(tmp(names[k]));
	read_all(parts, NF, &got);
	same_frames(&ref, &got, NF * PER);
	cap_free(&got);
	/* interleaved: file k holds frames i with i % 40 == k, so all of
	 * them are open at once after a while */
	for (int k = 0; k < NF; k++)
		write_part(parts[k], 0, NF * PER, NF, k, false);
	read_all(parts, NF, &got);
	same_frames(&ref, &got, NF * PER);
	cap_free(&got);
	for (int k = 0; k < NF; k++)
		free((char *)parts[k]);
	cap_free(&ref);
}

Test(merge, link_type_per_file)
{
	struct cap got;
	const char *parts[2];
	struct fb f;

	/* a: Ethernet frames at even seconds; b: raw IPv6 at odd ones */
	for (int k = 0; k < 2; k++) {
		pcap_t *dead = pcap_open_dead(k == 0 ? DLT_EN10MB : DLT_RAW,
					      65535);
		pcap_dumper_t *d = pcap_dump_open(dead, tmp(k ? "b" : "a"));

		cr_assert_not_null(d);
		for (int i = 0; i < 3; i++) {
			struct pcap_pkthdr h;

			fb_reset(&f);
			if (k == 0)
				put_eth(&f, 4);
			if (k == 0)
				fb_ipv4(&f, 6, 0, 0);
			else
				fb_ipv6(&f, 6);
			fb_tcp(&f, T_FLAGS, 0);
			fb_put(&f, T_PAYLOAD, T_PLEN);
			fb_finish(&f);
			memset(&h, 0, sizeof(h));
			h.ts.tv_sec = 2 * i + k;
			h.caplen = h.len = (uint32_t)f.len;
			pcap_dump((u_char *)d, &h, f.b);
		}
		pcap_dump_close(d);
		pcap_close(dead);
	}
	parts[0] = tmp("a");
	parts[1] = tmp("b");
	read_all(parts, 2, &got);
	cr_assert_eq(got.n, 6);
	for (size_t i = 0; i < 6; i++) {
		struct cap_frame fr = {
			.linktype = got.fr[i].linktype, .data = got.fr[i].data,
			.caplen = got.fr[i].caplen,
			.wirelen = got.fr[i].wirelen,
		};
		struct isc_pkt pkt;

		cr_assert_eq(got.fr[i].ts, (isc_time)i * ISC_NS_PER_SEC);
		cr_assert_eq(got.fr[i].linktype, i % 2 ? DLT_RAW : DLT_EN10MB);
		cr_assert_eq(cap_decode(&fr, &pkt), CAP_TCP);
		cr_assert_eq(pkt.src.family, i % 2 ? 6 : 4);
	}
	cap_free(&got);
}

Test(merge, damaged_file_among_others)
{
	struct cap ref, got;
	const char *parts[3];
	size_t n;
	char off[64];

	reference(&ref, false);
	for (int k = 0; k < 3; k++) {
		char name[32];

		snprintf(name, sizeof(name), "rr%d.pcap", k);
		write_part(tmp(name), 0, NFRAMES, 3, k, false);
		parts[k] = strdup(tmp(name));
	}
	/* the second file (frames 1, 4, 7, ...) cut inside its 4th record:
	 * frames 1, 4, 7 stay */
	{
		uint8_t *p = slurp(parts[1], &n);
		size_t cut = 24;

		for (int r = 0; r < 3; r++) {
			uint32_t caplen = (uint32_t)p[cut + 8] |
					  (uint32_t)p[cut + 9] << 8 |
					  (uint32_t)p[cut + 10] << 16 |
					  (uint32_t)p[cut + 11] << 24;

			cut += 16 + caplen;
		}
		cut += 16 + 5;
		cr_assert_eq(truncate(parts[1], (off_t)cut), 0);
		snprintf(off, sizeof(off), "at byte offset %zu", cut);
		free(p);
	}
	read_all(parts, 3, &got);
	/* everything but frames 10, 13, 16, ... of the second file */
	cr_assert_eq(got.n, NFRAMES - 7);
	for (size_t i = 0, j = 0; i < NFRAMES; i++) {
		if (i % 3 == 1 && i >= 10)
			continue;
		cr_assert_eq(got.fr[j].ts, ref.fr[i].ts, "frame %zu", i);
		cr_assert_arr_eq(got.fr[j].data, ref.fr[i].data,
				 ref.fr[i].caplen);
		j++;
	}
	cr_assert_eq(got.end, ISC_EIO);
	cr_assert_eq(got.failures, 1);
	{
		const char *want[] = { parts[1], "after packet 3", off };

		check_msg(got.err, want, 3);
		cr_assert_eq(strncmp(got.err, parts[1], strlen(parts[1])), 0);
	}
	cap_free(&got);
	for (int k = 0; k < 3; k++)
		free((char *)parts[k]);
	cap_free(&ref);
}

Test(merge, open_errors_name_the_file)
{
	struct cap_source *src = NULL;
	char err[512];
	const char *parts[3];

	write_part(tmp("ok.pcap"), 0, 3, 1, 0, false);
	parts[0] = tmp("ok.pcap");
	parts[1] = tmp("missing.pcap");
	cr_assert_eq(cap_source_open_many(parts, 2, &src, err, sizeof(err)),
		     ISC_EIO);
	cr_assert_null(src);
	cr_assert_eq(strncmp(err, parts[1], strlen(parts[1])), 0, "%s", err);
	cr_assert_not_null(strstr(err, "No such file"), "%s", err);

	spit(tmp("notes.txt"), "hello\n", 6);
	parts[1] = tmp("notes.txt");
	cr_assert_eq(cap_source_open_many(parts, 2, &src, err, sizeof(err)),
		     ISC_EIO);
	cr_assert_eq(strncmp(err, parts[1], strlen(parts[1])), 0, "%s", err);

	parts[0] = "-";
	parts[1] = tmp("ok.pcap");
	parts[2] = "-";
	cr_assert_eq(cap_source_open_many(parts, 3, &src, err, sizeof(err)),
		     ISC_EINVAL);
	cr_assert_eq(cap_source_open_many(parts, 0, &src, err, sizeof(err)),
		     ISC_EINVAL);
	cr_assert_null(src);

	cr_assert_eq(mkdir(tmp("empty"), 0700), 0);
	cr_assert_eq(cap_source_open(tmp("empty"), &src, err, sizeof(err)),
		     ISC_EIO);
	cr_assert_not_null(strstr(err, "empty: directory holds no capture"),
			   "%s", err);
}

/* ------------------------------------------------------------------ */
/* Directories                                                         */
/* ------------------------------------------------------------------ */

TestSuite(directory, .init = tmp_setup, .fini = tmp_teardown);

Test(directory, regular_files_by_name)
{
	struct cap ref, got;
	struct cap_source *src = NULL;
	char err[512];
	const char *dir = strdup(tmp("sensor"));

	reference(&ref, true);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(mkdir(tmp("sensor/sub"), 0700), 0);
	write_part(tmp("sensor/sub/x.pcap"), 0, 1, 1, 0, true);
	write_part(tmp("p2.pcap"), 10, 20, 1, 0, true);
	gzip_file(tmp("p2.pcap"), tmp("sensor/cap-2.pcap.gz"));
	write_part(tmp("sensor/cap-1"), 0, 10, 1, 0, true);
	write_part(tmp("sensor/cap-3.pcap"), 20, NFRAMES, 1, 0, true);
	spit(tmp("sensor/.cap-0.pcap.swp"), "junk", 4);	/* hidden */
	read_one(dir, &got);
	same_frames(&ref, &got, NFRAMES);
	cr_assert_eq(got.end, 0);
	cap_free(&got);

	cr_assert_eq(cap_source_open(dir, &src, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(cap_source_inputs(src), 3);
	cr_assert_str_eq(cap_source_input_name(src, 0), tmp("sensor/cap-1"));
	cr_assert_str_eq(cap_source_input_name(src, 1),
			 tmp("sensor/cap-2.pcap.gz"));
	cr_assert_str_eq(cap_source_input_name(src, 2),
			 tmp("sensor/cap-3.pcap"));
	cr_assert_str_eq(cap_source_name(src), dir);
	cap_source_close(&src);
	free((char *)dir);
	cap_free(&ref);
}

/* ------------------------------------------------------------------ */
/* Compressed files                                                    */
/* ------------------------------------------------------------------ */

TestSuite(gz, .init = tmp_setup, .fini = tmp_teardown);

Test(gz, same_frames_as_the_plain_file)
{
	struct cap ref, got;
	const char *parts[3];

	reference(&ref, true);
	/* told by content: no .gz in the name */
	gzip_file(tmp("all.pcap"), tmp("capture.bin"));
	read_one(tmp("capture.bin"), &got);
	same_frames(&ref, &got, NFRAMES);
	cr_assert_eq(got.end, 0);
	cap_free(&got);
	/* rotated and compressed, one part left plain */
	write_part(tmp("p1.pcap"), 0, 10, 1, 0, true);
	write_part(tmp("p2.pcap"), 10, 20, 1, 0, true);
	write_part(tmp("p3.pcap"), 20, NFRAMES, 1, 0, true);
	gzip_file(tmp("p1.pcap"), tmp("p1.pcap.gz"));
	gzip_file(tmp("p3.pcap"), tmp("p3.pcap.gz"));
	parts[0] = tmp("p1.pcap.gz");
	parts[1] = tmp("p2.pcap");
	parts[2] = tmp("p3.pcap.gz");
	read_all(parts, 3, &got);
	same_frames(&ref, &got, NFRAMES);
	cap_free(&got);
	cap_free(&ref);
}

Test(gz, stdin_plain_and_compressed)
{
	struct cap ref, got;

	reference(&ref, true);
	cr_assert_not_null(freopen(tmp("all.pcap"), "rb", stdin));
	read_one("-", &got);
	same_frames(&ref, &got, NFRAMES);
	cap_free(&got);
	gzip_file(tmp("all.pcap"), tmp("all.pcap.gz"));
	cr_assert_not_null(freopen(tmp("all.pcap.gz"), "rb", stdin));
	read_one("-", &got);
	same_frames(&ref, &got, NFRAMES);
	cap_free(&got);
	cap_free(&ref);
}

Test(gz, cut_off_compressed_file)
{
	struct cap ref, got;
	uint8_t *p;
	size_t n;
	const char *path = tmp("cut.pcap.gz");

	reference(&ref, true);
	gzip_file(tmp("all.pcap"), tmp("all.pcap.gz"));
	p = slurp(tmp("all.pcap.gz"), &n);
	/* without its trailer: all data is there, the end is not */
	spit(path, p, n - 8);
	read_one(path, &got);
	cr_assert_leq(got.n, NFRAMES);
	same_frames(&ref, &got, got.n);
	cr_assert_eq(got.end, ISC_EIO);
	{
		char after[64];
		const char *want[] = { path, "compressed data is damaged",
				       after, "at uncompressed byte offset" };

		snprintf(after, sizeof(after), "after packet %zu", got.n);
		check_msg(got.err, want, 4);
	}
	cap_free(&got);
	/* cut in the middle of the deflate data */
	spit(path, p, n / 2);
	read_one(path, &got);
	cr_assert_lt(got.n, NFRAMES);
	same_frames(&ref, &got, got.n);
	cr_assert_eq(got.end, ISC_EIO);
	cr_assert_not_null(strstr(got.err, "unexpected end of file"), "%s",
			   got.err);
	cap_free(&got);
	/* cut inside the gzip header: opening fails, naming the file */
	spit(path, p, 6);
	{
		struct cap_source *src = NULL;
		char err[512];

		cr_assert_eq(cap_source_open(path, &src, err, sizeof(err)),
			     ISC_EIO);
		cr_assert_eq(strncmp(err, path, strlen(path)), 0, "%s", err);
	}
	free(p);
	cap_free(&ref);
}

Test(gz, corrupt_compressed_data)
{
	struct cap ref, got;
	uint8_t *p;
	size_t n;
	const char *path = tmp("bad.pcap.gz");

	reference(&ref, true);
	gzip_file(tmp("all.pcap"), tmp("all.pcap.gz"));
	p = slurp(tmp("all.pcap.gz"), &n);
	/* a changed byte of the CRC-32 in the trailer */
	p[n - 6] ^= 0x55;
	spit(path, p, n);
	read_one(path, &got);
	cr_assert_eq(got.end, ISC_EIO);
	cr_assert_not_null(strstr(got.err, path), "%s", got.err);
	cr_assert_not_null(strstr(got.err, "incorrect data check"), "%s",
			   got.err);
	cap_free(&got);
	free(p);
	cap_free(&ref);
}

Test(gz, damaged_compressed_file_in_a_merge)
{
	struct cap ref, got;
	const char *parts[2];
	uint8_t *p;
	size_t n;

	reference(&ref, false);
	write_part(tmp("even.pcap"), 0, NFRAMES, 2, 0, false);
	write_part(tmp("odd.pcap"), 0, NFRAMES, 2, 1, false);
	gzip_file(tmp("odd.pcap"), tmp("odd.pcap.gz"));
	p = slurp(tmp("odd.pcap.gz"), &n);
	spit(tmp("odd.pcap.gz"), p, n - 4);
	free(p);
	parts[0] = tmp("even.pcap");
	parts[1] = tmp("odd.pcap.gz");
	read_all(parts, 2, &got);
	/* every even frame, and the odd ones zlib handed out */
	cr_assert_geq(got.n, NFRAMES / 2);
	{
		size_t odd = 0;

		for (size_t i = 0; i < got.n; i++)
			odd += got.fr[i].input;
		cr_assert_eq(got.n - odd, NFRAMES / 2);
		/* the odd frames delivered are the first ones, in order */
		for (size_t i = 0, j = 0; i < NFRAMES && j < got.n; i++) {
			if (i % 2 == 1 && i / 2 >= odd)
				continue;
			cr_assert_eq(got.fr[j].ts, ref.fr[i].ts);
			j++;
		}
	}
	cr_assert_eq(got.end, ISC_EIO);
	cr_assert_eq(got.failures, 1);
	cr_assert_not_null(strstr(got.err, parts[1]), "%s", got.err);
	cap_free(&got);
	cap_free(&ref);
}

/* ------------------------------------------------------------------ */
/* pcapng                                                              */
/* ------------------------------------------------------------------ */

/* A pcapng file under construction, in one section byte order. */
struct ng {
	uint8_t b[16384];
	size_t len;
	bool big;
};

static void ng_u8(struct ng *n, uint8_t v)
{
	cr_assert_lt(n->len, sizeof(n->b));
	n->b[n->len++] = v;
}

static void ng_u16(struct ng *n, uint16_t v)
{
	ng_u8(n, (uint8_t)(n->big ? v >> 8 : v));
	ng_u8(n, (uint8_t)(n->big ? v : v >> 8));
}

static void ng_u32(struct ng *n, uint32_t v)
{
	ng_u16(n, (uint16_t)(n->big ? v >> 16 : v));
	ng_u16(n, (uint16_t)(n->big ? v : v >> 16));
}

static void ng_put32_at(struct ng *n, size_t off, uint32_t v)
{
	size_t save = n->len;

	n->len = off;
	ng_u32(n, v);
	n->len = save;
}

/* Appends p (len bytes) padded to 4. */
static void ng_bytes(struct ng *n, const void *p, size_t len)
{
	cr_assert_leq(n->len + len + 3, sizeof(n->b));
	memcpy(n->b + n->len, p, len);
	n->len += len;
	while (n->len % 4)
		n->b[n->len++] = 0;
}

static size_t ng_begin(struct ng *n, uint32_t type)
{
	size_t start = n->len;

	ng_u32(n, type);
	ng_u32(n, 0);
	return start;
}

static void ng_end(struct ng *n, size_t start)
{
	uint32_t total = (uint32_t)(n->len - start + 4);

	ng_u32(n, total);
	ng_put32_at(n, start + 4, total);
}

/* Section header; switches the writer to its byte order. */
static void ng_shb(struct ng *n, bool big)
{
	size_t s;

	n->big = big;
	s = ng_begin(n, 0x0a0d0d0a);
	ng_u32(n, 0x1a2b3c4d);
	ng_u16(n, 1);
	ng_u16(n, 0);
	ng_u32(n, 0xffffffff);
	ng_u32(n, 0xffffffff);
	ng_end(n, s);
}

/* Interface description; tsresol < 0: no option (microseconds). */
static void ng_idb(struct ng *n, uint16_t linktype, uint32_t snaplen,
		   int tsresol, int64_t tsoffset)
{
	size_t s = ng_begin(n, 1);

	ng_u16(n, linktype);
	ng_u16(n, 0);
	ng_u32(n, snaplen);
	ng_u16(n, 2);				/* if_name: skipped */
	ng_u16(n, 3);
	ng_bytes(n, "en0", 3);
	if (tsresol >= 0) {
		uint8_t r = (uint8_t)tsresol;

		ng_u16(n, 9);
		ng_u16(n, 1);
		ng_bytes(n, &r, 1);
	}
	if (tsoffset != 0) {
		uint64_t u = (uint64_t)tsoffset;

		ng_u16(n, 14);
		ng_u16(n, 8);
		/* a 64-bit value in section order */
		if (n->big) {
			ng_u32(n, (uint32_t)(u >> 32));
			ng_u32(n, (uint32_t)u);
		} else {
			ng_u32(n, (uint32_t)u);
			ng_u32(n, (uint32_t)(u >> 32));
		}
	}
	ng_u16(n, 0);
	ng_u16(n, 0);
	ng_end(n, s);
}

static void ng_epb(struct ng *n, uint32_t ifid, uint64_t ts, const void *p,
		   uint32_t caplen, uint32_t wirelen)
{
	size_t s = ng_begin(n, 6);

	ng_u32(n, ifid);
	ng_u32(n, (uint32_t)(ts >> 32));
	ng_u32(n, (uint32_t)ts);
	ng_u32(n, caplen);
	ng_u32(n, wirelen);
	ng_bytes(n, p, caplen);
	ng_end(n, s);
}

static void ng_opb(struct ng *n, uint16_t ifid, uint64_t ts, const void *p,
		   uint32_t len)
{
	size_t s = ng_begin(n, 2);

	ng_u16(n, ifid);
	ng_u16(n, 0);
	ng_u32(n, (uint32_t)(ts >> 32));
	ng_u32(n, (uint32_t)ts);
	ng_u32(n, len);
	ng_u32(n, len);
	ng_bytes(n, p, len);
	ng_end(n, s);
}

static void ng_spb(struct ng *n, const void *p, uint32_t len)
{
	size_t s = ng_begin(n, 3);

	ng_u32(n, len);
	ng_bytes(n, p, len);
	ng_end(n, s);
}

/* A block of a type the reader skips (name resolution, custom, ...). */
static void ng_other(struct ng *n, uint32_t type)
{
	size_t s = ng_begin(n, type);

	ng_u32(n, 0x01020304);
	ng_end(n, s);
}

/* The standard segment framed for ipver by put. */
static void std_frame(struct fb *f, void (*put)(struct fb *, int), int v)
{
	fb_reset(f);
	put(f, v);
	if (v == 4)
		fb_ipv4(f, 6, 0, 0x4000);
	else
		fb_ipv6(f, 6);
	fb_tcp(f, T_FLAGS, 0);
	fb_put(f, T_PAYLOAD, T_PLEN);
	fb_finish(f);
}

/* Decodes frame i of c, expecting the standard segment over ipver. */
static void decodes(const struct cap *c, size_t i, int ipver)
{
	struct cap_frame fr = {
		.linktype = c->fr[i].linktype, .data = c->fr[i].data,
		.caplen = c->fr[i].caplen, .wirelen = c->fr[i].wirelen,
	};
	struct isc_pkt pkt;
	enum cap_verdict v = cap_decode(&fr, &pkt);

	cr_assert_eq(v, CAP_TCP, "frame %zu: %s", i, cap_verdict_names[v]);
	cr_assert_eq(pkt.src.family, ipver);
	cr_assert_eq(pkt.dport, T_DPORT);
	cr_assert_arr_eq(pkt.payload, T_PAYLOAD, pkt.payload_len);
}

TestSuite(pcapng, .init = tmp_setup, .fini = tmp_teardown);

Test(pcapng, interfaces_with_different_link_types)
{
	struct ng n = { .len = 0 };
	struct fb eth, sll2, raw;
	struct cap got;
	const char *path = tmp("multi.pcapng");

	std_frame(&eth, put_eth, 4);
	std_frame(&sll2, put_sll2, 6);
	std_frame(&raw, put_none, 4);
	ng_shb(&n, false);
	ng_idb(&n, DLT_EN10MB, 0, -1, 0);		/* microseconds */
	ng_idb(&n, 276, 0, 9, 0);			/* SLL2, ns */
	ng_other(&n, 4);				/* name resolution */
	ng_idb(&n, 101, 0, 0x80 | 10, 100);	/* RAW, 2^-10 s, +100 s */
	ng_epb(&n, 0, 1700000000ULL * 1000000 + 5, eth.b, (uint32_t)eth.len,
	       (uint32_t)eth.len);
	ng_epb(&n, 1, 1700000000ULL * 1000000000 + 7, sll2.b,
	       (uint32_t)sll2.len, (uint32_t)sll2.len);
	ng_epb(&n, 2, 3 * 1024 + 512, raw.b, (uint32_t)raw.len,
	       (uint32_t)raw.len);
	ng_other(&n, 0x00000bad);			/* custom */
	ng_opb(&n, 1, 1, sll2.b, (uint32_t)sll2.len);
	ng_spb(&n, eth.b, (uint32_t)eth.len);
	spit(path, n.b, n.len);

	read_one(path, &got);
	cr_assert_eq(got.end, 0, "%s", got.err);
	cr_assert_eq(got.n, 5);
	cr_assert_eq(got.fr[0].linktype, DLT_EN10MB);
	cr_assert_eq(got.fr[0].ts, 1700000000LL * ISC_NS_PER_SEC + 5000);
	cr_assert_eq(got.fr[1].linktype, DLT_LINUX_SLL2);
	cr_assert_eq(got.fr[1].ts, 1700000000LL * ISC_NS_PER_SEC + 7);
	cr_assert_eq(got.fr[2].linktype, DLT_RAW);
	cr_assert_eq(got.fr[2].ts, 103 * ISC_NS_PER_SEC + 500000000);
	cr_assert_eq(got.fr[3].linktype, DLT_LINUX_SLL2);
	cr_assert_eq(got.fr[3].ts, 1);
	cr_assert_eq(got.fr[4].linktype, DLT_EN10MB);
	cr_assert_eq(got.fr[4].ts, 0);			/* SPB: no time */
	decodes(&got, 0, 4);
	decodes(&got, 1, 6);
	decodes(&got, 2, 4);
	decodes(&got, 3, 6);
	decodes(&got, 4, 4);
	for (size_t i = 0; i < got.n; i++)
		cr_assert_eq(got.fr[i].index, i + 1);
	cap_free(&got);
	/* the same, compressed */
	gzip_file(path, tmp("multi.pcapng.gz"));
	read_one(tmp("multi.pcapng.gz"), &got);
	cr_assert_eq(got.n, 5);
	cr_assert_eq(got.end, 0);
	cap_free(&got);
}

Test(pcapng, simple_packet_cut_to_snaplen)
{
	struct ng n = { .len = 0 };
	struct fb eth;
	struct cap got;

	std_frame(&eth, put_eth, 4);
	ng_shb(&n, false);
	ng_idb(&n, DLT_EN10MB, 60, 6, 0);
	ng_spb(&n, eth.b, (uint32_t)eth.len);
	spit(tmp("spb.pcapng"), n.b, n.len);
	read_one(tmp("spb.pcapng"), &got);
	cr_assert_eq(got.n, 1);
	cr_assert_eq(got.fr[0].caplen, 60);
	cr_assert_eq(got.fr[0].wirelen, eth.len);
	cr_assert_arr_eq(got.fr[0].data, eth.b, 60);
	cap_free(&got);
}

Test(pcapng, big_endian_then_second_section)
{
	struct ng n = { .len = 0 };
	struct fb eth, raw;
	struct cap got;

	std_frame(&eth, put_eth, 6);
	std_frame(&raw, put_none, 6);
	ng_shb(&n, true);
	ng_idb(&n, DLT_EN10MB, 0, 3, -5);		/* ms, -5 s */
	ng_epb(&n, 0, 10250, eth.b, (uint32_t)eth.len, (uint32_t)eth.len);
	/* a new section: interface 0 is now raw IP, little-endian */
	ng_shb(&n, false);
	ng_idb(&n, 229, 0, -1, 0);			/* LINKTYPE_IPV6 */
	ng_epb(&n, 0, 2000001, raw.b, (uint32_t)raw.len, (uint32_t)raw.len);
	spit(tmp("two.pcapng"), n.b, n.len);
	read_one(tmp("two.pcapng"), &got);
	cr_assert_eq(got.end, 0, "%s", got.err);
	cr_assert_eq(got.n, 2);
	cr_assert_eq(got.fr[0].linktype, DLT_EN10MB);
	cr_assert_eq(got.fr[0].ts, 5 * ISC_NS_PER_SEC + 250000000);
	cr_assert_eq(got.fr[1].linktype, 229);
	cr_assert_eq(got.fr[1].ts, 2 * ISC_NS_PER_SEC + 1000);
	decodes(&got, 0, 6);
	decodes(&got, 1, 6);
	cap_free(&got);
}

Test(pcapng, same_frames_as_libpcap)
{
	struct ng n = { .len = 0 };
	struct cap got;
	struct fb f;
	const char *path = tmp("one.pcapng");
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p;

	ng_shb(&n, false);
	ng_idb(&n, DLT_EN10MB, 65535, 9, 0);
	for (int i = 0; i < 12; i++) {
		uint32_t caplen;

		gen_frame(&f, i, &caplen);
		ng_epb(&n, 0, (uint64_t)gen_ts(i, true), f.b, caplen,
		       (uint32_t)f.len);
	}
	spit(path, n.b, n.len);
	read_one(path, &got);
	cr_assert_eq(got.n, 12);
	p = pcap_open_offline_with_tstamp_precision(path,
			PCAP_TSTAMP_PRECISION_NANO, errbuf);
	cr_assert_not_null(p, "%s", errbuf);
	for (size_t i = 0; i < 12; i++) {
		struct pcap_pkthdr *h;
		const u_char *d;

		cr_assert_eq(pcap_next_ex(p, &h, &d), 1);
		cr_assert_eq(got.fr[i].ts, (isc_time)h->ts.tv_sec *
				ISC_NS_PER_SEC + h->ts.tv_usec);
		cr_assert_eq(got.fr[i].caplen, h->caplen);
		cr_assert_eq(got.fr[i].wirelen, h->len);
		cr_assert_eq(got.fr[i].linktype, pcap_datalink(p));
		cr_assert_arr_eq(got.fr[i].data, d, h->caplen);
	}
	pcap_close(p);
	cap_free(&got);
}

Test(pcapng, session_across_two_interfaces_merged_with_a_pcap)
{
	struct ng n = { .len = 0 };
	struct cap got;
	struct fb f;
	const char *parts[2];

	/* frames 0, 2, 4 on an Ethernet interface, 1, 3, 5 on a cooked one
	 * of the same file; 6..8 in a classic pcap file */
	ng_shb(&n, false);
	ng_idb(&n, DLT_EN10MB, 0, 9, 0);
	ng_idb(&n, DLT_LINUX_SLL, 0, 9, 0);
	for (int i = 0; i < 6; i++) {
		fb_reset(&f);
		if (i % 2 == 0)
			put_eth(&f, 4);
		else
			put_sll(&f, 4);
		fb_ipv4(&f, 6, 0, 0);
		fb_tcp_ex(&f, 143, 51000, (uint32_t)i, 1, ISC_TH_ACK);
		fb_finish(&f);
		ng_epb(&n, (uint32_t)(i % 2), (uint64_t)gen_ts(i, false), f.b,
		       (uint32_t)f.len, (uint32_t)f.len);
	}
	spit(tmp("s.pcapng"), n.b, n.len);
	write_part(tmp("s.pcap"), 6, 9, 1, 0, false);
	parts[0] = tmp("s.pcap");
	parts[1] = tmp("s.pcapng");
	read_all(parts, 2, &got);
	cr_assert_eq(got.n, 9);
	cr_assert_eq(got.end, 0);
	for (size_t i = 0; i < 9; i++) {
		struct cap_frame fr = {
			.linktype = got.fr[i].linktype, .data = got.fr[i].data,
			.caplen = got.fr[i].caplen,
			.wirelen = got.fr[i].wirelen,
		};
		struct isc_pkt pkt;

		cr_assert_eq(cap_decode(&fr, &pkt), CAP_TCP);
		cr_assert_eq(pkt.seq, i, "frame %zu", i);
		cr_assert_eq(got.fr[i].input, i < 6 ? 1 : 0);
		cr_assert_eq(got.fr[i].linktype, i >= 6 || i % 2 == 0 ?
				DLT_EN10MB : DLT_LINUX_SLL);
	}
	cap_free(&got);
}

/* Writes a pcapng file with two good packets followed by the damage that
 * damage() appends, reads it and checks two frames came, then ISC_EIO
 * with a message holding want (and the file name), at the byte offset of
 * the third block. */
static void damaged(const char *name, void (*damage)(struct ng *n),
		    const char *want)
{
	struct ng n = { .len = 0 };
	struct fb eth;
	struct cap got;
	char off[64];
	const char *path = tmp(name);

	std_frame(&eth, put_eth, 4);
	ng_shb(&n, false);
	ng_idb(&n, DLT_EN10MB, 0, 6, 0);
	ng_epb(&n, 0, 1, eth.b, (uint32_t)eth.len, (uint32_t)eth.len);
	ng_epb(&n, 0, 2, eth.b, (uint32_t)eth.len, (uint32_t)eth.len);
	snprintf(off, sizeof(off), "at byte offset %zu", n.len);
	damage(&n);
	spit(path, n.b, n.len);
	read_one(path, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_eq(got.end, ISC_EIO);
	{
		const char *w[] = { path, want, "after packet 2", off };

		check_msg(got.err, w, 4);
	}
	cap_free(&got);
}

static void dmg_cut(struct ng *n)
{
	struct fb eth;

	std_frame(&eth, put_eth, 4);
	ng_epb(n, 0, 3, eth.b, (uint32_t)eth.len, (uint32_t)eth.len);
	n->len -= 10;
}

static void dmg_trailer(struct ng *n)
{
	struct fb eth;

	std_frame(&eth, put_eth, 4);
	ng_epb(n, 0, 3, eth.b, (uint32_t)eth.len, (uint32_t)eth.len);
	n->b[n->len - 4] ^= 4;
}

static void dmg_iface(struct ng *n)
{
	struct fb eth;

	std_frame(&eth, put_eth, 4);
	ng_epb(n, 7, 3, eth.b, (uint32_t)eth.len, (uint32_t)eth.len);
}

static void dmg_caplen(struct ng *n)
{
	struct fb eth;
	size_t s;

	std_frame(&eth, put_eth, 4);
	s = n->len;
	ng_epb(n, 0, 3, eth.b, (uint32_t)eth.len, (uint32_t)eth.len);
	ng_put32_at(n, s + 20, 5000);
}

static void dmg_length(struct ng *n)
{
	size_t s = ng_begin(n, 6);

	ng_put32_at(n, s + 4, 0x7ffffff0);
}

Test(pcapng, damaged_blocks)
{
	damaged("cut.pcapng", dmg_cut, "file ends inside a block");
	damaged("trailer.pcapng", dmg_trailer, "trailing length");
	damaged("iface.pcapng", dmg_iface, "interface 7");
	damaged("caplen.pcapng", dmg_caplen, "packet of 5000 bytes");
	damaged("length.pcapng", dmg_length, "bad length");
}

Test(pcapng, bad_headers_refused_at_open)
{
	struct ng n = { .len = 0 };
	struct cap_source *src = NULL;
	char err[512];
	const char *path = tmp("bad.pcapng");

	ng_shb(&n, false);
	n.b[8] = 0x4e;				/* byte-order magic */
	spit(path, n.b, n.len);
	cr_assert_eq(cap_source_open(path, &src, err, sizeof(err)), ISC_EIO);
	cr_assert_not_null(strstr(err, "byte-order magic"), "%s", err);
	cr_assert_eq(strncmp(err, path, strlen(path)), 0, "%s", err);

	n.len = 0;
	ng_shb(&n, false);
	n.b[12] = 2;				/* version 2.0 */
	spit(path, n.b, n.len);
	cr_assert_eq(cap_source_open(path, &src, err, sizeof(err)), ISC_EIO);
	cr_assert_not_null(strstr(err, "version 2.0"), "%s", err);

	spit(path, n.b, 10);			/* cut header */
	cr_assert_eq(cap_source_open(path, &src, err, sizeof(err)), ISC_EIO);
	cr_assert_null(src);
}

/* ------------------------------------------------------------------ */
/* Classic pcap in a regular file (pcapfile.c)                         */
/* ------------------------------------------------------------------ */

/* A regular pcap file is read by our own reader; the same bytes
 * gzip-compressed go through libpcap's. So every file below is read both
 * ways, and the frames and the error must agree: the reference is
 * libpcap. The files are written byte by byte with the ng_* writer (in
 * either byte order), as libpcap's dumper writes only our own. */

TestSuite(pcapfile, .init = tmp_setup, .fini = tmp_teardown);

static void pf_bytes(struct ng *n, const void *p, size_t len)
{
	cr_assert_leq(n->len + len, sizeof(n->b));
	memcpy(n->b + n->len, p, len);
	n->len += len;
}

static void pf_header(struct ng *n, bool big, bool ns, uint32_t snaplen,
		      uint32_t linktype)
{
	n->len = 0;
	n->big = big;
	ng_u32(n, ns ? 0xa1b23c4dU : 0xa1b2c3d4U);
	ng_u16(n, 2);
	ng_u16(n, 4);
	ng_u32(n, 0);			/* thiszone */
	ng_u32(n, 0);			/* sigfigs */
	ng_u32(n, snaplen);
	ng_u32(n, linktype);
}

static void pf_record(struct ng *n, uint32_t sec, uint32_t frac,
		      const void *p, uint32_t caplen, uint32_t wirelen)
{
	ng_u32(n, sec);
	ng_u32(n, frac);
	ng_u32(n, caplen);
	ng_u32(n, wirelen);
	pf_bytes(n, p, caplen);
}

/* Frames 0..count-1 of the test capture at BASE_SEC + i, fraction i * 7
 * (microseconds or nanoseconds). */
static void pf_frames(struct ng *n, int count)
{
	for (int i = 0; i < count; i++) {
		struct fb f;
		uint32_t caplen;

		gen_frame(&f, i, &caplen);
		pf_record(n, (uint32_t)(BASE_SEC + i), (uint32_t)i * 7, f.b,
			  caplen, (uint32_t)f.len);
	}
}

/* The message of a read error without the file name and the offset's
 * unit ("byte offset" here, "uncompressed byte offset" through zlib). */
static const char *pf_what(const char *err, const char *path)
{
	static char what[2][512];
	static int k;
	const char *p = strstr(err, path);
	char *at;

	k ^= 1;
	if (err[0] == '\0')
		return "";
	cr_assert_not_null(p, "%s", err);
	snprintf(what[k], sizeof(what[k]), "%s", p + strlen(path));
	if ((at = strstr(what[k], "uncompressed ")) != NULL)
		memmove(at, at + 13, strlen(at + 13) + 1);
	return what[k];
}

/* Writes n to name, reads it as a plain file (ours) and gzip-compressed
 * (libpcap's), checks both agree and leaves ours in *got. */
static void pf_read_both(struct ng *n, const char *name, struct cap *got)
{
	char gzname[64];
	struct cap ref;
	const char *path = tmp(name), *gzpath;

	snprintf(gzname, sizeof(gzname), "%s.gz", name);
	gzpath = tmp(gzname);
	spit(path, n->b, n->len);
	gzip_file(path, gzpath);
	read_one(path, got);
	read_one(gzpath, &ref);
	same_frames(&ref, got, ref.n);
	cr_assert_eq(got->end, ref.end);
	cr_assert_eq(got->failures, ref.failures);
	cr_assert_str_eq(pf_what(got->err, path), pf_what(ref.err, gzpath));
	cap_free(&ref);
}

Test(pcapfile, both_byte_orders_us_and_ns)
{
	for (int v = 0; v < 4; v++) {
		bool big = v & 1, ns = v & 2;
		struct ng n;
		struct cap got;
		char name[32];

		pf_header(&n, big, ns, 65535, 1);
		pf_frames(&n, NFRAMES);
		snprintf(name, sizeof(name), "order%d.pcap", v);
		pf_read_both(&n, name, &got);
		cr_assert_eq(got.n, NFRAMES);
		cr_assert_eq(got.end, 0);
		for (int i = 0; i < NFRAMES; i++) {
			isc_time frac = (isc_time)i * 7 * (ns ? 1 : 1000);

			cr_assert_eq(got.fr[i].ts, (BASE_SEC + i) *
				     ISC_NS_PER_SEC + frac, "frame %d", i);
			cr_assert_eq(got.fr[i].linktype, DLT_EN10MB);
		}
		cap_free(&got);
	}
}

Test(pcapfile, link_types_as_libpcap_maps_them)
{
	static const struct { uint32_t lt; int dlt; } map[] = {
		{ 101, DLT_RAW }, { 108, DLT_LOOP }, { 276, 276 },
		{ 113, DLT_LINUX_SLL }, { 0, DLT_NULL }, { 12, 12 },
		{ 228, 228 }, { 1 | 0x10000000u, DLT_EN10MB },
	};
	static const uint8_t b[4] = { 1, 2, 3, 4 };

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		struct ng n;
		struct cap got;
		char name[32];

		pf_header(&n, i % 2, false, 65535, map[i].lt);
		pf_record(&n, 1, 2, b, sizeof(b), sizeof(b));
		snprintf(name, sizeof(name), "lt%u.pcap", map[i].lt);
		pf_read_both(&n, name, &got);
		cr_assert_eq(got.n, 1);
		cr_assert_eq(got.fr[0].linktype, map[i].dlt, "linktype %u",
			     map[i].lt);
		cap_free(&got);
	}
}

/* A cut inside a record header or its data ends the file with libpcap's
 * words and the offset where reading stopped: the end of the file. */
Test(pcapfile, cut_record_header_and_data)
{
	static const size_t cut_in[] = { 5, 16 + 3, 0 };

	for (int v = 0; cut_in[v] != 0; v++) {
		struct ng n;
		struct cap got;
		char name[32], off[64];
		size_t keep;

		pf_header(&n, v == 1, false, 65535, 1);
		pf_frames(&n, 3);
		keep = n.len;
		pf_frames(&n, 1);
		n.len = keep + cut_in[v];
		snprintf(name, sizeof(name), "cut%d.pcap", v);
		pf_read_both(&n, name, &got);
		cr_assert_eq(got.n, 3);
		cr_assert_eq(got.end, ISC_EIO);
		snprintf(off, sizeof(off), "at byte offset %zu", n.len);
		{
			const char *w[] = {
				v == 0 ? "tried to read 16 header bytes, "
					 "only got 5" :
					 "captured bytes, only got 3",
				"truncated dump file", "after packet 3", off,
			};

			check_msg(got.err, w, 4);
		}
		cap_free(&got);
	}
}

/* caplen above the snaplen: cut to the snaplen if it is not above the
 * link type's maximum (256 KiB), a damaged record if it is. */
Test(pcapfile, caplen_over_snaplen_and_maximum)
{
	struct ng n;
	struct cap got;
	uint8_t b[100];
	char off[64];
	size_t at;

	memset(b, 0xab, sizeof(b));
	pf_header(&n, false, true, 40, 1);
	pf_record(&n, 1, 0, b, 70, 70);		/* cut to 40 */
	pf_record(&n, 2, 0, b, 30, 30);
	at = n.len + 16;
	pf_record(&n, 3, 0, b, 0, 0);
	ng_put32_at(&n, at - 8, 262145);	/* caplen of the third */
	pf_read_both(&n, "over.pcap", &got);
	cr_assert_eq(got.n, 2);
	cr_assert_eq(got.fr[0].caplen, 40);
	cr_assert_eq(got.fr[0].wirelen, 70);
	cr_assert_eq(got.fr[1].caplen, 30);
	cr_assert_eq(got.fr[1].ts, 2 * ISC_NS_PER_SEC);
	cr_assert_eq(got.end, ISC_EIO);
	snprintf(off, sizeof(off), "at byte offset %zu", at);
	{
		const char *w[] = { "invalid packet capture length 262145, "
				    "bigger than snaplen of 40",
				    "after packet 2", off };

		check_msg(got.err, w, 3);
	}
	cap_free(&got);

	/* the cut file: the snaplen part is there, the rest is not */
	pf_header(&n, true, false, 40, 1);
	pf_record(&n, 1, 0, b, 70, 70);
	n.len -= 10;
	pf_read_both(&n, "overcut.pcap", &got);
	cr_assert_eq(got.n, 0);
	cr_assert_not_null(strstr(got.err, "tried to read 70 captured bytes, "
				  "only got 60"), "%s", got.err);
	cap_free(&got);
}

Test(pcapfile, header_only_and_empty_file)
{
	struct ng n;
	struct cap got;
	struct cap_source *src = NULL;
	char err[512] = "";
	const char *path = tmp("empty.pcap");

	pf_header(&n, false, false, 65535, 1);
	pf_read_both(&n, "hdr.pcap", &got);
	cr_assert_eq(got.n, 0);
	cr_assert_eq(got.end, 0);
	cr_assert_str_eq(got.err, "");

	spit(path, n.b, 0);
	cr_assert_eq(cap_source_open(path, &src, err, sizeof(err)), ISC_EIO);
	cr_assert_null(src);
	cr_assert_eq(strncmp(err, path, strlen(path)), 0, "%s", err);
	cr_assert_null(strchr(err, '\n'));
}

/* A file truncated while we read it: the reader uses pread(), not a
 * mapping, so it is a cut-off file (no SIGBUS). */
Test(pcapfile, file_shrinks_under_the_reader)
{
	static uint8_t big[1 << 20];
	struct ng n;
	struct cap_source *src = NULL;
	struct cap_frame fr;
	char err[512] = "";
	const char *path = tmp("shrink.pcap");
	FILE *fp;
	int r, got = 0;

	/* 1 MiB of 1000-byte records, more than one read buffer */
	pf_header(&n, false, false, 65535, 1);
	memcpy(big, n.b, n.len);
	for (size_t at = n.len; at + 1016 <= sizeof(big); at += 1016) {
		n.len = 0;
		ng_u32(&n, 1);
		ng_u32(&n, 0);
		ng_u32(&n, 1000);
		ng_u32(&n, 1000);
		memcpy(big + at, n.b, 16);
		memset(big + at + 16, 0x5a, 1000);
	}
	fp = fopen(path, "wb");
	cr_assert_not_null(fp);
	cr_assert_eq(fwrite(big, 1, sizeof(big), fp), sizeof(big));
	cr_assert_eq(fclose(fp), 0);
	cr_assert_eq(cap_source_open(path, &src, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(cap_source_next(src, &fr), 1);
	cr_assert_eq(truncate(path, 300 * 1016 + 24 + 100), 0);
	while ((r = cap_source_next(src, &fr)) == 1) {
		cr_assert_eq(fr.caplen, 1000);
		cr_assert_eq(fr.data[999], 0x5a);
		got++;
	}
	cr_assert_eq(r, ISC_EIO);
	cr_assert_geq(got, 299);
	cr_assert_not_null(strstr(cap_source_error(src), "truncated dump "
				  "file"), "%s", cap_source_error(src));
	cap_source_close(&src);
}
