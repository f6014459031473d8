/* tests/live/test_cap_dump.c: the pcap copies of capture/live.c (-w, -C,
 * -W, and reopening on SIGHUP). Needs no privileges: frames are made in
 * memory and the files go to a fresh temporary directory, which each
 * test removes again. Live capture itself needs root and is tested by
 * the scripts beside this file. */
#include <criterion/criterion.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../capture/live.h"

static char dir[] = "/tmp/imapscope-dump.XXXXXX";
static char base[sizeof(dir) + 32];

static void setup(void)
{
	strcpy(dir, "/tmp/imapscope-dump.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(base, sizeof(base), "%s/cap.pcap", dir);
}

/* Removes dir and the files the tests may have made in it. */
static void teardown(void)
{
	char p[sizeof(base) + 16];

	unlink(base);
	for (int i = 1; i < 8; i++) {
		snprintf(p, sizeof(p), "%s.%d", base, i);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s.old", base);
	unlink(p);
	rmdir(dir);
}

TestSuite(cap_dump, .init = setup, .fini = teardown);

/* A frame of len bytes, all set to fill, at ts. */
static struct cap_frame frame(uint8_t *buf, uint32_t len, uint8_t fill,
			      isc_time ts)
{
	memset(buf, fill, len);
	return (struct cap_frame){ .ts = ts, .linktype = DLT_EN10MB,
				   .data = buf, .caplen = len, .wirelen = len };
}

/* Frames in the pcap file at path; -1 if it can't be read. *first_ts_r
 * gets the first frame's time in ns. */
static int count_frames(const char *path, isc_time *first_ts_r)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	int n = 0;
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path,
				PCAP_TSTAMP_PRECISION_NANO, err);

	if (!p)
		return -1;
	while (pcap_next_ex(p, &h, &d) == 1) {
		if (n == 0 && first_ts_r)
			*first_ts_r = (isc_time)h->ts.tv_sec * ISC_NS_PER_SEC +
				      h->ts.tv_usec;
		n++;
	}
	pcap_close(p);
	return n;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

Test(cap_dump, writes_frames_with_nanoseconds)
{
	char err[256];
	uint8_t buf[100];
	struct cap_dump *d = NULL;
	struct cap_frame fr = frame(buf, sizeof(buf), 0xab,
				    1764233990 * ISC_NS_PER_SEC + 123456789);
	isc_time ts = 0;

	cr_assert_eq(cap_dump_open(base, DLT_EN10MB, 262144, 0, 0, &d, err,
				   sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cap_dump_path(d), base);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(cap_dump_write(d, &fr, err, sizeof(err)), 0);
	cr_assert_eq(cap_dump_flush(d, err, sizeof(err)), 0);
	cap_dump_close(&d);
	cr_assert_null(d);
	cr_assert_eq(count_frames(base, &ts), 5);
	cr_assert_eq(ts, fr.ts, "timestamp %lld, not %lld", (long long)ts,
		     (long long)fr.ts);
}

Test(cap_dump, open_failure_names_the_file_and_leaves_nothing)
{
	char err[512], path[sizeof(base) + 16];
	struct cap_dump *d = NULL;

	snprintf(path, sizeof(path), "%s/no/cap.pcap", dir);
	cr_assert_eq(cap_dump_open(path, DLT_EN10MB, 262144, 0, 0, &d, err,
				   sizeof(err)), ISC_EIO);
	cr_assert_null(d);
	cr_assert(strstr(err, path) != NULL, "message: %s", err);
	cr_assert(strchr(err, '\n') == NULL);
}

Test(cap_dump, rotates_and_wraps_after_max_files)
{
	char err[256], p1[sizeof(base) + 8], p2[sizeof(base) + 8],
	     p3[sizeof(base) + 8];
	uint8_t buf[300];
	struct cap_dump *d = NULL;

	snprintf(p1, sizeof(p1), "%s.1", base);
	snprintf(p2, sizeof(p2), "%s.2", base);
	snprintf(p3, sizeof(p3), "%s.3", base);
	/* 24 + 2 * 316 < 900 <= 24 + 3 * 316: three frames a file */
	cr_assert_eq(cap_dump_open(base, DLT_EN10MB, 262144, 900, 3, &d, err,
				   sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 9; i++) {
		struct cap_frame fr = frame(buf, sizeof(buf), (uint8_t)i,
					    (isc_time)(i + 1) * ISC_NS_PER_SEC);
		cr_assert_eq(cap_dump_write(d, &fr, err, sizeof(err)), 0);
	}
	cr_assert_str_eq(cap_dump_path(d), p2);
	/* the tenth frame wraps around to base, overwriting it */
	struct cap_frame fr = frame(buf, sizeof(buf), 9, 10 * ISC_NS_PER_SEC);
	cr_assert_eq(cap_dump_write(d, &fr, err, sizeof(err)), 0);
	cr_assert_str_eq(cap_dump_path(d), base);
	cap_dump_close(&d);

	isc_time ts = 0;
	cr_assert_eq(count_frames(base, &ts), 1);
	cr_assert_eq(ts, 10 * ISC_NS_PER_SEC);
	cr_assert_eq(count_frames(p1, &ts), 3);
	cr_assert_eq(ts, 4 * ISC_NS_PER_SEC);
	cr_assert_eq(count_frames(p2, NULL), 3);
	cr_assert(!exists(p3));
}

Test(cap_dump, reopen_creates_a_moved_file_and_appends_to_a_kept_one)
{
	char err[256], old[sizeof(base) + 8];
	uint8_t buf[64];
	struct cap_dump *d = NULL;
	struct cap_frame fr = frame(buf, sizeof(buf), 1, ISC_NS_PER_SEC);

	snprintf(old, sizeof(old), "%s.old", base);
	cr_assert_eq(cap_dump_open(base, DLT_EN10MB, 262144, 0, 0, &d, err,
				   sizeof(err)), 0, "%s", err);
	cr_assert_eq(cap_dump_write(d, &fr, err, sizeof(err)), 0);
	cr_assert_eq(cap_dump_write(d, &fr, err, sizeof(err)), 0);
	/* log rotation: moved away, then reopened */
	cr_assert_eq(rename(base, old), 0);
	cr_assert_eq(cap_dump_reopen(d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cap_dump_write(d, &fr, err, sizeof(err)), 0);
	/* reopened without a move: appended to */
	cr_assert_eq(cap_dump_reopen(d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cap_dump_write(d, &fr, err, sizeof(err)), 0);
	cap_dump_close(&d);
	cr_assert_eq(count_frames(old, NULL), 2);
	cr_assert_eq(count_frames(base, NULL), 2);
}

Test(cap_dump, close_accepts_null)
{
	struct cap_dump *d = NULL;

	cap_dump_close(&d);
	cap_dump_close(NULL);
}
