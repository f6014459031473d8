/* cli/run.c: reading packets until the end of the capture or a signal
 * (see cli_int.h).
 *
 * Reading a file, time is the capture's: flows expire by the timestamps of
 * the packets. Capturing live, time is the wall clock: the loop wakes at
 * least every LIVE_TICK_NS even on a silent link, closes the flows idle
 * for longer than --idle-timeout, and their records go out at once (JSON
 * is flushed record by record).
 *
 * Signals (both modes; handlers only set flags, the loop acts on them):
 * SIGINT/SIGTERM stop: open sessions end with end_reason "shutdown", every
 * record and the closing stats record are written, exit status 0; a second
 * one ends the program at once. SIGHUP reopens the output files by path
 * (log rotation). SIGUSR1 prints the counters to stderr. */
#include "cli_int.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <string.h>
#include <time.h>

/* ---- signals ----------------------------------------------------------- */

static volatile sig_atomic_t sig_stop, sig_reopen, sig_report;
/* Any of the three was set: the file loop tests this one flag a frame,
 * not all three (39 -> 33 instructions a frame in run_file() on bench's
 * mixed capture). */
static volatile sig_atomic_t sig_any;

static void on_signal(int sig)
{
	sig_any = 1;
	if (sig == SIGHUP)
		sig_reopen = 1;
	else if (sig == SIGUSR1)
		sig_report = 1;
	else
		sig_stop = 1;
}

/* Installs the handlers. SA_RESTART keeps a write to a pipe from failing
 * with EINTR; the live loop still wakes, because poll() is never
 * restarted. Reading a file, a stop signal is installed without it, so a
 * read blocked on an idle pipe (-r -) is interrupted and the run stops. */
void signals_install(bool live)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (!live)
		sa.sa_flags = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* After the first stop signal, a second one ends the program at once. */
static void default_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

isc_time wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (isc_time)ts.tv_sec * ISC_NS_PER_SEC + ts.tv_nsec;
}


/* One frame through decoding (and IP reassembly) into the flow table.
 * The decoder counts the frames and their bytes (stats_decoder()): not
 * counted here as well, 3 instructions a frame less on bench's mixed
 * capture. */
static void process(struct run *r, const struct cap_frame *fr)
{
	struct isc_pkt pkt;
	enum cap_verdict v;

	v = cap_decoder_decode(r->dec, fr, &pkt);
	if (v == CAP_TCP || v == CAP_FRAGMENT_REASSEMBLED)
		flow_table_packet(r->ft, &pkt);
}

/* SIGHUP: opens the JSON file again by its path (appending, creating it
 * if rotation moved it away) and the -w file likewise. A file that can't
 * be reopened is reported and the old one is kept in use. */
static void reopen_outputs(struct run *r)
{
	char err[PCAP_ERRBUF_SIZE + 512];

	if (r->jpath[0]) {
		FILE *f = fopen(r->jpath, "a");

		if (!f) {
			fprintf(stderr, "imapscope: reopening %s: %s (still "
				"writing to the old file)\n", r->jpath,
				strerror(errno));
		} else {
			out_json_set_file(r->json, f);
			if (fclose(r->jf) != 0)
				fprintf(stderr, "imapscope: closing the old %s: "
					"%s\n", r->jpath, strerror(errno));
			r->jf = f;
		}
	}
	if (r->dump) {
		if (cap_dump_reopen(r->dump, err, sizeof(err)) < 0)
			fprintf(stderr, "imapscope: reopening the -w file: %s\n",
				err);
		r->dump_failed = false;
	}
}

/* Once a second while capturing: reads the drop counters and warns when
 * they first move, then at most every LIVE_DROP_WARN_NS. */
static void check_drops(struct run *r, isc_time now)
{
	uint64_t drops;

	if (cap_live_stats(r->live, &r->cs) < 0)
		return;
	drops = r->cs.dropped_kernel + r->cs.dropped_interface;
	if (drops <= r->drops_warned || r->o->quiet)
		return;
	if (r->drops_warned && now - r->drop_warned_at < LIVE_DROP_WARN_NS)
		return;
	fprintf(stderr, "imapscope: warning: %llu %spackets dropped (%llu by "
		"the kernel, %llu by the interface, of %llu received): sessions "
		"will have gaps; a larger -B may help\n",
		(unsigned long long)(drops - r->drops_warned),
		r->drops_warned ? "more " : "",
		(unsigned long long)r->cs.dropped_kernel,
		(unsigned long long)r->cs.dropped_interface,
		(unsigned long long)r->cs.received);
	r->drops_warned = drops;
	r->drop_warned_at = now;
}

/* Acts on the flags the signal handlers set. Returns true to stop. */
static bool handle_signals(struct run *r)
{
	sig_any = 0;	/* before the flags: a signal from now on sets it */
	if (sig_reopen) {
		sig_reopen = 0;
		reopen_outputs(r);
	}
	if (sig_report) {
		sig_report = 0;
		stats_report_now(r);
	}
	return sig_stop != 0;
}

/* Reads the capture file to its end or a stop signal. Returns the exit
 * status so far. */
/* ---- progress ----------------------------------------------------------- */

#define PROGRESS_EVERY 4096		/* frames between clock reads */
#define PROGRESS_NS (ISC_NS_PER_SEC / 4)	/* refresh period */

/* "1.2 GB" */
static void human_bytes(char *buf, size_t len, double b)
{
	static const char *const unit[] = { "B", "KB", "MB", "GB", "TB" };
	int u = 0;

	while (b >= 1000 && u < 4) {
		b /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

/* "1:02:03" or "2:03" */
static void human_time(char *buf, size_t len, double s)
{
	long t = (long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

/* The one-line progress display on stderr (a terminal): percent read,
 * throughput, sessions so far, elapsed and remaining time. Bytes read are
 * estimated from the frames (each with its record header), so the percent
 * is capped below 100 until the end. */
static void progress(struct run *r, isc_time now)
{
	double el = (double)(now - r->started) / ISC_NS_PER_SEC;
	double done = (double)stats_decoder(r, "packets", "bytes") +
		      16.0 * (double)stats_decoder(r, "packets", "total");
	char b1[32], b2[32], rate[32], t1[32], t2[32];

	if (el <= 0)
		return;
	human_bytes(b1, sizeof(b1), done);
	human_bytes(rate, sizeof(rate), done / el);
	human_time(t1, sizeof(t1), el);
	fprintf(stderr, "\r\033[K");
	if (r->input_size && done < (double)r->input_size) {
		double frac = done / (double)r->input_size;
		human_bytes(b2, sizeof(b2), (double)r->input_size);
		human_time(t2, sizeof(t2), el / frac - el);
		fprintf(stderr, "%3d%%  %s of %s  %s/s  %llu sessions  %s elapsed, %s left",
			(int)(frac * 100), b1, b2, rate,
			(unsigned long long)report_stats(r->rep)->sessions, t1, t2);
	} else {
		fprintf(stderr, "%s  %s/s  %llu sessions  %s elapsed", b1, rate,
			(unsigned long long)report_stats(r->rep)->sessions, t1);
	}
	fflush(stderr);
}

/* Reads the capture to its end or a stop signal. Returns the exit status
 * so far: EXIT_INPUT when an input was damaged (each failure is reported
 * in one line, after everything before it was analyzed). */
int run_file(struct run *r)
{
	struct cap_frame fr;
	isc_time last, next_progress = 0;
	/* a local: r->o->progress was two loads a frame (1 instruction a
	 * frame less on bench's mixed capture) */
	const bool show_progress = r->o->progress;
	uint64_t frames = 0;
	int ret = 0;

	while (!(sig_any && handle_signals(r)) &&
	       (ret = cap_source_next(r->src, &fr)) > 0) {
		process(r, &fr);
		if (show_progress && ++frames % PROGRESS_EVERY == 0) {
			isc_time now = wall_now();
			if (now >= next_progress) {
				progress(r, now);
				next_progress = now + PROGRESS_NS;
			}
		}
	}
	if (r->o->progress && next_progress)
		fprintf(stderr, "\r\033[K");	/* erase the progress line */
	/* The newest timestamp read, or 0: the decoder keeps it, so this
	 * loop does not as well (3 instructions a frame less on bench's
	 * mixed capture). */
	last = cap_decoder_now(r->dec);
	if (last < 0)
		last = 0;
	if (handle_signals(r)) {
		/* a read interrupted by the signal is no fault of the file */
		default_stop_signals();
		if (!r->o->quiet)
			fprintf(stderr, "imapscope: stopped by a signal after "
				"%llu packets\n", (unsigned long long)
				stats_decoder(r, "packets", "total"));
		r->stopped = true;
		flow_table_finish(r->ft, last, FLOW_END_SHUTDOWN);
		r->end = last;
		return 0;
	}
	flow_table_finish(r->ft, last, FLOW_END_EOF);
	r->end = last;
	if (ret < 0) {
		/* report what was read before the fault, then say what it was */
		for (size_t i = 0; i < cap_source_failures(r->src); i++)
			fprintf(stderr, "imapscope: %s\n", cap_source_failure(r->src, i));
		return EXIT_INPUT;
	}
	return 0;
}

/* After a stop signal: the packets the kernel had already captured are
 * still analyzed, for at most LIVE_DRAIN_NS on a busy link. */
static void drain(struct run *r)
{
	char err[PCAP_ERRBUF_SIZE + 512];
	isc_time until = wall_now() + LIVE_DRAIN_NS;
	struct cap_frame fr;

	while (wall_now() < until && cap_live_next(r->live, &fr) > 0) {
		process(r, &fr);
		if (r->dump && cap_dump_write(r->dump, &fr, err, sizeof(err)) < 0)
			r->dump_failed = true;
	}
}

/* Captures until a stop signal or a capture failure. Returns the exit
 * status so far. */
int run_live(struct run *r)
{
	char err[PCAP_ERRBUF_SIZE + 512];
	struct cap_frame fr;
	isc_time now, next_tick = 0;
	int ret, status = 0;

	for (;;) {
		ret = cap_live_next(r->live, &fr);
		if (ret > 0) {
			process(r, &fr);
			if (r->dump && cap_dump_write(r->dump, &fr, err,
						      sizeof(err)) < 0) {
				fprintf(stderr, "imapscope: writing packets: %s\n",
					err);
				r->dump_failed = true;
			}
		} else if (ret < 0) {
			if (ret != CAP_LIVE_BREAK) {
				fprintf(stderr, "imapscope: capture failed: %s\n",
					cap_live_error(r->live));
				status = EXIT_INPUT;
			}
			break;
		}
		if (handle_signals(r))
			break;
		now = wall_now();
		if (now < next_tick)
			continue;
		next_tick = now + LIVE_TICK_NS;
		/* a quiet link still closes idle sessions */
		flow_table_expire(r->ft, now);
		check_drops(r, now);
		if (r->dump && !r->dump_failed &&
		    cap_dump_flush(r->dump, err, sizeof(err)) < 0) {
			fprintf(stderr, "imapscope: writing packets: %s\n", err);
			r->dump_failed = true;
		}
	}
	default_stop_signals();
	if (status == 0)
		drain(r);
	cap_live_stats(r->live, &r->cs);
	r->end = wall_now();
	flow_table_finish(r->ft, r->end,
			  status ? FLOW_END_EOF : FLOW_END_SHUTDOWN);
	return status;
}

/* "listening on lo (EN10MB), filter '...', snapshot length N bytes". */
void print_listening(const struct run *r)
{
	fprintf(stderr, "imapscope: listening on ");
	for (size_t i = 0; i < cap_live_count(r->live); i++)
		fprintf(stderr, "%s%s (%s)", i ? ", " : "",
			r->o->ifaces[i], cap_live_linktype_name(r->live, i));
	fprintf(stderr, ", filter '%s', snapshot length %d bytes\n",
		cap_live_filter(r->live), cap_live_snaplen(r->live));
}

