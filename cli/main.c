/* cli/main.c: the imapscope command. Parses options, reads the capture,
 * and wires capture -> reassembly -> dissector -> output.
 *
 * Exit status: 0 success; 1 the analysis finished but the input had
 * problems (a capture cut off mid-record); 2 usage or environment errors
 * (bad option, unreadable file, not a capture, output not writable). */
#include "../capture/decode.h"
#include "../capture/source.h"
#include "../output/report.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json_c_version.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define EXIT_INPUT 1
#define EXIT_USAGE 2
#define MAX_PORTS 64

struct opts {
	const char *read;
	const char *outdir;
	bool json;
	bool stats;
	bool quiet;
	bool show_secrets;
	bool reltime;
	int color;		/* -1 auto, 0 never, 1 always */
	uint16_t ports[MAX_PORTS];
	size_t nports;
	struct isc_limits lim;
};

static void usage(FILE *f)
{
	fputs(
"Usage: imapscope -r FILE [options]\n"
"Passive IMAP analyzer: reassembles the TCP streams of IMAP sessions in a\n"
"capture and prints what client and server said (transcripts) or NDJSON.\n"
"\n"
"Input:\n"
"  -r, --read FILE        pcap or pcapng capture to read (\"-\" for stdin)\n"
"      --ports LIST       server ports, comma-separated (default 143,220)\n"
"\n"
"Output:\n"
"      --json             NDJSON records on stdout instead of transcripts\n"
"  -o, --output DIR       write DIR/imap.json and DIR/transcripts/<id>.txt\n"
"  -t                     prefix transcript lines with seconds since the start\n"
"      --literal-bytes N  literal bytes shown in transcripts (default 256)\n"
"      --color WHEN       colour transcripts: auto, always, never (default auto)\n"
"      --show-secrets     show passwords and SASL secrets (redacted by default)\n"
"      --stats            print capture and reassembly counters to stderr\n"
"  -q, --quiet            no warnings on stderr (errors are still printed)\n"
"\n"
"Analysis limits:\n"
"      --max-line BYTES   longest IMAP line kept (default 65536)\n"
"      --max-flows N      TCP flows tracked at once (default 200000)\n"
"      --max-ooo BYTES    out-of-order bytes held per direction (default 1048576)\n"
"      --memcap BYTES     out-of-order bytes held in all (default 268435456)\n"
"      --idle-timeout S   close a flow after S seconds of silence (default 1860)\n"
"\n"
"  -h, --help             this help\n"
"  -V, --version          versions of imapscope and its libraries\n"
"\n"
"Exit status: 0 ok, 1 input problems (e.g. a cut-off capture), 2 usage or\n"
"environment error.\n", f);
}

static void version(void)
{
	printf("imapscope %s\n%s\njson-c %s\nzlib %s\n", ISC_VERSION,
	       pcap_lib_version(), json_c_version(), zlibVersion());
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-')
		return false;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end || x < min || x > max)
		return false;
	*v = x;
	return true;
}

static bool parse_ports(const char *s, struct opts *o)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", s);
	o->nports = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		uint64_t v;
		if (!parse_u64(t, 1, 65535, &v) || o->nports == MAX_PORTS)
			return false;
		o->ports[o->nports++] = (uint16_t)v;
	}
	return o->nports > 0;
}

/* Prints "imapscope: <what> '<arg>'" and returns the usage exit status. */
static int bad_usage(const char *what, const char *arg)
{
	if (arg)
		fprintf(stderr, "imapscope: %s '%s' (see imapscope --help)\n", what, arg);
	else
		fprintf(stderr, "imapscope: %s (see imapscope --help)\n", what);
	return EXIT_USAGE;
}

enum {
	OPT_JSON = 256, OPT_PORTS, OPT_SHOW, OPT_LITBYTES, OPT_COLOR,
	OPT_STATS, OPT_MAXLINE, OPT_MAXFLOWS, OPT_MAXOOO, OPT_MEMCAP, OPT_IDLE,
};

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "read", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "ports", required_argument, NULL, OPT_PORTS },
		{ "show-secrets", no_argument, NULL, OPT_SHOW },
		{ "literal-bytes", required_argument, NULL, OPT_LITBYTES },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "colour", required_argument, NULL, OPT_COLOR },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "max-line", required_argument, NULL, OPT_MAXLINE },
		{ "max-flows", required_argument, NULL, OPT_MAXFLOWS },
		{ "max-ooo", required_argument, NULL, OPT_MAXOOO },
		{ "memcap", required_argument, NULL, OPT_MEMCAP },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:o:tqhV", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->read = optarg;
			break;
		case 'o':
			o->outdir = optarg;
			break;
		case 't':
			o->reltime = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_PORTS:
			if (!parse_ports(optarg, o))
				return bad_usage("bad port list", optarg);
			break;
		case OPT_SHOW:
			o->show_secrets = true;
			break;
		case OPT_LITBYTES:
			if (!parse_u64(optarg, 0, 1 << 20, &v))
				return bad_usage("bad --literal-bytes", optarg);
			o->lim.literal_bytes = v;
			break;
		case OPT_COLOR:
			if (!strcmp(optarg, "auto"))
				o->color = -1;
			else if (!strcmp(optarg, "always"))
				o->color = 1;
			else if (!strcmp(optarg, "never"))
				o->color = 0;
			else
				return bad_usage("bad --color", optarg);
			break;
		case OPT_STATS:
			o->stats = true;
			break;
		case OPT_MAXLINE:
			if (!parse_u64(optarg, 64, 1u << 30, &v))
				return bad_usage("bad --max-line", optarg);
			o->lim.max_line = v;
			break;
		case OPT_MAXFLOWS:
			if (!parse_u64(optarg, 1, 100000000, &v))
				return bad_usage("bad --max-flows", optarg);
			o->lim.max_flows = (uint32_t)v;
			break;
		case OPT_MAXOOO:
			if (!parse_u64(optarg, 1, UINT64_C(1) << 40, &v))
				return bad_usage("bad --max-ooo", optarg);
			o->lim.max_ooo = v;
			break;
		case OPT_MEMCAP:
			if (!parse_u64(optarg, 1, UINT64_C(1) << 40, &v))
				return bad_usage("bad --memcap", optarg);
			o->lim.memcap = v;
			break;
		case OPT_IDLE:
			if (!parse_u64(optarg, 1, 86400 * 365, &v))
				return bad_usage("bad --idle-timeout", optarg);
			o->lim.idle_timeout = (isc_time)v * ISC_NS_PER_SEC;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			version();
			return 0;
		case ':':
			return bad_usage("this option needs a value:", argv[optind - 1]);
		default:
			return bad_usage("unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument", argv[optind]);
	if (!o->read)
		return bad_usage("no input: give -r FILE", NULL);
	return -1;
}

/* Output files for -o DIR. Returns 0 or prints why not and returns -1. */
static int open_outdir(const char *dir, FILE **json_r, char *tdir, size_t tlen)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "imapscope: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	snprintf(tdir, tlen, "%s/transcripts", dir);
	if (mkdir(tdir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "imapscope: %s: %s\n", tdir, strerror(errno));
		return -1;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/imap.json", dir);
	*json_r = fopen(path, "w");
	if (!*json_r) {
		fprintf(stderr, "imapscope: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

struct counters {
	uint64_t frames, bytes;
	uint64_t verdicts[CAP_VERDICT_COUNT];
};

static void print_stats(const struct counters *c, const struct flow_stats *fs,
			const struct report_stats *rs)
{
	fprintf(stderr, "packets: %llu (%llu bytes)\n",
		(unsigned long long)c->frames, (unsigned long long)c->bytes);
	for (int i = 0; i < CAP_VERDICT_COUNT; i++)
		if (c->verdicts[i])
			fprintf(stderr, "  %-18s %llu\n", cap_verdict_names[i],
				(unsigned long long)c->verdicts[i]);
	fprintf(stderr, "tcp not on an IMAP port: %llu\n",
		(unsigned long long)fs->not_imap_port);
	fprintf(stderr, "flows: %llu (%llu midstream, %llu evicted, %llu timed out)\n",
		(unsigned long long)fs->flows, (unsigned long long)fs->flows_midstream,
		(unsigned long long)fs->evicted, (unsigned long long)fs->timed_out);
	fprintf(stderr, "segments: %llu, retransmitted %llu, out of order %llu, "
		"inconsistent %llu, gaps %llu (%llu bytes)\n",
		(unsigned long long)fs->segments, (unsigned long long)fs->retransmitted,
		(unsigned long long)fs->ooo_held, (unsigned long long)fs->inconsistent,
		(unsigned long long)fs->gaps, (unsigned long long)fs->gap_bytes);
	fprintf(stderr, "sessions: %llu, commands: %llu (OK %llu, NO %llu, BAD %llu, "
		"unanswered %llu), auth failures: %llu\n",
		(unsigned long long)rs->sessions, (unsigned long long)rs->commands,
		(unsigned long long)rs->commands_ok, (unsigned long long)rs->commands_no,
		(unsigned long long)rs->commands_bad,
		(unsigned long long)rs->commands_unanswered,
		(unsigned long long)rs->auth_failures);
}

static void json_stats(struct out_json *j, isc_time ts, const struct counters *c,
		       const struct flow_stats *fs, const struct report_stats *rs)
{
	struct out_stat st[64];
	size_t n = 0;
	st[n++] = (struct out_stat){ "packets", "total", c->frames };
	st[n++] = (struct out_stat){ "packets", "bytes", c->bytes };
	for (int i = 0; i < CAP_VERDICT_COUNT; i++)
		st[n++] = (struct out_stat){ "packets", cap_verdict_names[i], c->verdicts[i] };
	st[n++] = (struct out_stat){ "packets", "not_imap_port", fs->not_imap_port };
	st[n++] = (struct out_stat){ "flows", "total", fs->flows };
	st[n++] = (struct out_stat){ "flows", "midstream", fs->flows_midstream };
	st[n++] = (struct out_stat){ "flows", "evicted", fs->evicted };
	st[n++] = (struct out_stat){ "flows", "timed_out", fs->timed_out };
	st[n++] = (struct out_stat){ "flows", "open_peak", fs->open_peak };
	st[n++] = (struct out_stat){ "reassembly", "segments", fs->segments };
	st[n++] = (struct out_stat){ "reassembly", "retransmitted", fs->retransmitted };
	st[n++] = (struct out_stat){ "reassembly", "overlaps", fs->overlaps };
	st[n++] = (struct out_stat){ "reassembly", "inconsistent", fs->inconsistent };
	st[n++] = (struct out_stat){ "reassembly", "out_of_order", fs->ooo_held };
	st[n++] = (struct out_stat){ "reassembly", "gaps", fs->gaps };
	st[n++] = (struct out_stat){ "reassembly", "gap_bytes", fs->gap_bytes };
	st[n++] = (struct out_stat){ "reassembly", "memcap_refusals", fs->memcap_refusals };
	st[n++] = (struct out_stat){ "imap", "sessions", rs->sessions };
	st[n++] = (struct out_stat){ "imap", "commands", rs->commands };
	st[n++] = (struct out_stat){ "imap", "commands_ok", rs->commands_ok };
	st[n++] = (struct out_stat){ "imap", "commands_no", rs->commands_no };
	st[n++] = (struct out_stat){ "imap", "commands_bad", rs->commands_bad };
	st[n++] = (struct out_stat){ "imap", "commands_unanswered", rs->commands_unanswered };
	st[n++] = (struct out_stat){ "imap", "auth_failures", rs->auth_failures };
	out_json_stats(j, ts, st, n);
}

int main(int argc, char **argv)
{
	struct opts o = { .color = -1 };
	isc_limits_default(&o.lim);
	o.ports[0] = 143;
	o.ports[1] = 220;
	o.nports = 2;
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;

	char err[512];
	struct cap_source *src = NULL;
	if (cap_source_open(o.read, &src, err, sizeof(err)) < 0) {
		fprintf(stderr, "imapscope: %s\n", err);
		return EXIT_USAGE;
	}

	FILE *jf = NULL;
	char tdir[4096];
	struct report_config rc_cfg = {
		.lim = &o.lim,
		.show_secrets = o.show_secrets,
		.tr = { .reltime = o.reltime },
	};
	if (o.outdir) {
		if (open_outdir(o.outdir, &jf, tdir, sizeof(tdir)) < 0) {
			cap_source_close(&src);
			return EXIT_USAGE;
		}
		rc_cfg.transcript_dir = tdir;
	} else if (o.json) {
		jf = stdout;
	} else {
		rc_cfg.transcripts = stdout;
		rc_cfg.tr.color = o.color == 1 || (o.color == -1 && isatty(STDOUT_FILENO));
	}
	struct out_json *json = NULL;
	struct report *rep = NULL;
	struct flow_table *ft = NULL;
	if ((jf && out_json_new(jf, false, &json) < 0) ||
	    (rc_cfg.json = json, report_new(&rc_cfg, &rep) < 0) ||
	    flow_table_new(&o.lim, o.ports, o.nports, report_flow_ops(rep), &ft) < 0) {
		fprintf(stderr, "imapscope: out of memory\n");
		return EXIT_USAGE;
	}

	struct counters cnt = { 0 };
	struct cap_frame fr;
	struct isc_pkt pkt;
	isc_time last = 0;
	int status = 0, r;
	while ((r = cap_source_next(src, &fr)) > 0) {
		cnt.frames++;
		cnt.bytes += fr.caplen;
		if (fr.ts > last)
			last = fr.ts;
		enum cap_verdict v = cap_decode(&fr, &pkt);
		cnt.verdicts[v]++;
		if (v == CAP_TCP)
			flow_table_packet(ft, &pkt);
	}
	if (r < 0) {
		/* report what was read before the fault, then say what it was */
		fprintf(stderr, "imapscope: %s\n", cap_source_error(src));
		status = EXIT_INPUT;
	}
	flow_table_finish(ft, last, FLOW_END_EOF);
	const struct flow_stats *fs = flow_table_stats(ft);
	const struct report_stats *rs = report_stats(rep);
	if (json)
		json_stats(json, last, &cnt, fs, rs);
	if (o.stats)
		print_stats(&cnt, fs, rs);
	if (rs->write_errors && !o.quiet)
		fprintf(stderr, "imapscope: %llu transcripts could not be written\n",
			(unsigned long long)rs->write_errors);
	flow_table_free(&ft);
	report_free(&rep);
	out_json_free(&json);
	cap_source_close(&src);
	if (fflush(stdout) != 0 || (jf && jf != stdout && fclose(jf) != 0)) {
		fprintf(stderr, "imapscope: writing output: %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	return status;
}
