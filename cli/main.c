/* cli/main.c: the imapscope command. Parses options, reads a capture file
 * or captures live, and wires capture -> reassembly -> dissector -> output.
 *
 * Reading a file, time is the capture's: flows expire by the timestamps of
 * the packets. Capturing live, time is the wall clock: the loop wakes at
 * least every LIVE_TICK_MS even on a silent link, closes the flows idle
 * for longer than --idle-timeout, and their records go out at once (JSON
 * is flushed record by record).
 *
 * Signals (both modes; handlers only set flags, the loop acts on them):
 * SIGINT/SIGTERM stop: open sessions end with end_reason "shutdown", every
 * record and the closing stats record are written, exit status 0; a second
 * one ends the program at once. SIGHUP reopens the output files by path
 * (log rotation). SIGUSR1 prints the counters to stderr.
 *
 * Set-up order, so that a failure leaves nothing behind: options, the -Z
 * user, the capture (file or interfaces), then the output files (removed
 * again if a later step fails), the pidfile, and last the switch to the -Z
 * user.
 *
 * Exit status: 0 success; 1 the analysis finished but the input had
 * problems (a capture cut off mid-record, an interface that failed while
 * capturing); 2 usage or environment errors (bad option, unreadable file,
 * not a capture, no such interface, no permission, bad filter, output not
 * writable). */
#include "../capture/decode.h"
#include "../capture/live.h"
#include "../capture/source.h"
#include "../output/report.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <json-c/json_c_version.h>
#include <pcap/pcap.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define EXIT_INPUT 1
#define EXIT_USAGE 2
#define MAX_PORTS 64

/* Live capture settings and their bounds. */
#define LIVE_SNAPLEN_DEFAULT 262144	/* an IMAP segment is never cut */
#define LIVE_BUFFER_KIB_DEFAULT 8192	/* 0.7 s of a full 100 Mb/s link */
#define LIVE_TIMEOUT_MS 200		/* longest wait for a packet */
#define LIVE_TICK_NS ISC_NS_PER_SEC	/* expiry and drop checks */
#define LIVE_DROP_WARN_NS (60 * ISC_NS_PER_SEC)	/* between drop warnings */
#define LIVE_DRAIN_NS ISC_NS_PER_SEC	/* reading on after a stop signal */

struct opts {
	const char *read;
	const char *ifaces[CAP_LIVE_MAX_IFACES];
	size_t nifaces;
	const char *outdir;
	const char *json_file;
	bool json;
	bool stats;
	bool quiet;
	bool show_secrets;
	bool reltime;
	int color;		/* -1 auto, 0 never, 1 always */
	uint16_t ports[MAX_PORTS];
	size_t nports;
	struct isc_limits lim;
	/* live capture */
	char *filter;		/* trailing arguments joined, or NULL */
	int snaplen;
	int buffer_kib;
	bool promisc;
	const char *write;	/* -w FILE */
	uint64_t file_size;	/* -C, in bytes; 0: no rotation */
	unsigned file_count;	/* -W; 0: no limit */
	const char *live_only;	/* first live-only option seen, for errors */
	/* process */
	const char *user;	/* -Z */
	uid_t uid;
	gid_t gid;
	const char *pidfile;
};

static void usage(FILE *f)
{
	fputs(
"Usage: imapscope -r FILE [options]\n"
"       imapscope -i IFACE [options] [filter expression]\n"
"Passive IMAP analyzer: reassembles the TCP streams of IMAP sessions from a\n"
"capture or a live interface and prints what client and server said\n"
"(transcripts) or NDJSON.\n"
"\n"
"Input:\n"
"  -r, --read FILE        pcap or pcapng capture to read (\"-\" for stdin)\n"
"  -i, --interface IFACE  capture live on IFACE (\"any\": all); up to 8 times\n"
"      --ports LIST       server ports, comma-separated (default 143,220)\n"
"Output:\n"
"      --json             NDJSON records on stdout instead of transcripts\n"
"  -o, --output DIR       write DIR/imap.json and DIR/transcripts/<id>.txt\n"
"      --json-file FILE   append NDJSON records to FILE, nothing on stdout\n"
"  -t                     prefix transcript lines with seconds since the start\n"
"      --literal-bytes N  literal bytes shown in transcripts (default 256)\n"
"      --color WHEN       colour transcripts: auto, always, never (default auto)\n"
"      --show-secrets     show passwords and SASL secrets (redacted by default)\n"
"      --stats            print capture and reassembly counters to stderr\n"
"  -q, --quiet            no warnings on stderr (errors are still printed)\n"
"Analysis limits:\n"
"      --max-line BYTES   longest IMAP line kept (default 65536)\n"
"      --max-flows N      TCP flows tracked at once (default 200000)\n"
"      --max-ooo BYTES    out-of-order bytes held per direction (default 1048576)\n"
"      --memcap BYTES     out-of-order bytes held in all (default 268435456)\n"
"      --idle-timeout S   close a flow after S seconds of silence (default 1860)\n"
"Live capture (a trailing filter expression replaces \"tcp port 143 or ...\"):\n"
"  -s, --snaplen BYTES    bytes kept of each packet (default 262144)\n"
"  -B, --buffer-size KIB  kernel capture buffer per interface (default 8192)\n"
"      --no-promisc       leave the interface out of promiscuous mode\n"
"  -w, --write FILE       also write the captured packets to a pcap FILE\n"
"  -C, --file-size MB     with -w: go on in FILE.1, FILE.2... every MB megabytes\n"
"  -W, --file-count N     with -C: keep N files, then overwrite the oldest\n"
"  -Z, --user USER        run as USER once the capture and outputs are open\n"
"      --pidfile FILE     write the process id to FILE (removed at exit)\n"
"  -h, --help             this help\n"
"  -V, --version          versions of imapscope and its libraries\n"
"Signals: INT, TERM stop (open sessions end as \"shutdown\"); HUP reopens the\n"
"output files; USR1 prints counters to stderr.\n"
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

/* The arguments argv[0..n-1] joined with spaces (tcpdump's way of taking a
 * filter expression), or NULL when out of memory. */
static char *join_args(char **argv, int n)
{
	size_t len = 1, at = 0;
	char *s;

	for (int i = 0; i < n; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(argv[i]);

		if (i > 0)
			s[at++] = ' ';
		memcpy(s + at, argv[i], l);
		at += l;
	}
	s[at] = '\0';
	return s;
}

/* "tcp port 143 or tcp port 220" from the server port list, or NULL. */
static char *ports_filter(const struct opts *o)
{
	size_t len = o->nports * sizeof(" or tcp port 65535") + 1;
	char *s = malloc(len), *p = s;

	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < o->nports; i++)
		p += snprintf(p, len - (size_t)(p - s), "%stcp port %u",
			      i ? " or " : "", (unsigned)o->ports[i]);
	return s;
}

/* Looks up the -Z user now, so that an unknown one stops us before
 * anything is opened or created. */
static int lookup_user(struct opts *o)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(o->user);
	if (!pw) {
		if (errno)
			fprintf(stderr, "imapscope: looking up user '%s': %s\n",
				o->user, strerror(errno));
		else
			fprintf(stderr, "imapscope: no such user '%s'\n", o->user);
		return EXIT_USAGE;
	}
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
	return -1;
}

enum {
	OPT_JSON = 256, OPT_PORTS, OPT_SHOW, OPT_LITBYTES, OPT_COLOR,
	OPT_STATS, OPT_MAXLINE, OPT_MAXFLOWS, OPT_MAXOOO, OPT_MEMCAP, OPT_IDLE,
	OPT_JSONFILE, OPT_NOPROMISC, OPT_PIDFILE,
};

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "read", required_argument, NULL, 'r' },
		{ "interface", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "json-file", required_argument, NULL, OPT_JSONFILE },
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
		{ "snaplen", required_argument, NULL, 's' },
		{ "buffer-size", required_argument, NULL, 'B' },
		{ "no-promisc", no_argument, NULL, OPT_NOPROMISC },
		{ "write", required_argument, NULL, 'w' },
		{ "file-size", required_argument, NULL, 'C' },
		{ "file-count", required_argument, NULL, 'W' },
		{ "user", required_argument, NULL, 'Z' },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:i:o:tqs:B:w:C:W:Z:hV", lo,
				NULL)) != -1) {
		switch (c) {
		case 'r':
			o->read = optarg;
			break;
		case 'i':
			if (o->nifaces == CAP_LIVE_MAX_IFACES)
				return bad_usage("too many interfaces, at most 8:",
						 optarg);
			o->ifaces[o->nifaces++] = optarg;
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
		case OPT_JSONFILE:
			o->json_file = optarg;
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
			if (!parse_u64(optarg, 1, UINT64_C(86400) * 365, &v))
				return bad_usage("bad --idle-timeout", optarg);
			o->lim.idle_timeout = (isc_time)v * ISC_NS_PER_SEC;
			break;
		case 's':
			/* 0 means the default, as in tcpdump */
			if (!parse_u64(optarg, 0, LIVE_SNAPLEN_DEFAULT, &v))
				return bad_usage("bad -s (0 to 262144)", optarg);
			o->snaplen = v ? (int)v : LIVE_SNAPLEN_DEFAULT;
			o->live_only = o->live_only ? o->live_only : "-s";
			break;
		case 'B':
			if (!parse_u64(optarg, 1, 2097151, &v))
				return bad_usage("bad -B (KiB, 1 to 2097151)", optarg);
			o->buffer_kib = (int)v;
			o->live_only = o->live_only ? o->live_only : "-B";
			break;
		case OPT_NOPROMISC:
			o->promisc = false;
			o->live_only = o->live_only ? o->live_only : "--no-promisc";
			break;
		case 'w':
			o->write = optarg;
			o->live_only = o->live_only ? o->live_only : "-w";
			break;
		case 'C':
			if (!parse_u64(optarg, 1, 1000000, &v))
				return bad_usage("bad -C (megabytes, 1 to 1000000)", optarg);
			o->file_size = v * 1000000;
			break;
		case 'W':
			if (!parse_u64(optarg, 1, 100000, &v))
				return bad_usage("bad -W (1 to 100000)", optarg);
			o->file_count = (unsigned)v;
			break;
		case 'Z':
			o->user = optarg;
			break;
		case OPT_PIDFILE:
			o->pidfile = optarg;
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
	if (o->read && o->nifaces)
		return bad_usage("give either -r FILE or -i IFACE, not both", NULL);
	if (!o->read && !o->nifaces)
		return bad_usage("no input: give -r FILE or -i IFACE", NULL);
	if (optind < argc && !o->nifaces)
		return bad_usage("unexpected argument (a filter expression needs -i)",
				 argv[optind]);
	if (o->read && o->live_only)
		return bad_usage("this option needs live capture (-i):", o->live_only);
	if (o->file_size && !o->write)
		return bad_usage("-C needs -w FILE", NULL);
	if (o->file_count && !o->file_size)
		return bad_usage("-W needs -C MB", NULL);
	if (o->outdir && o->json_file)
		return bad_usage("give either -o DIR or --json-file FILE, not both", NULL);
	if (o->user && lookup_user(o) >= 0)
		return EXIT_USAGE;
	if (o->nifaces) {
		o->filter = optind < argc ? join_args(argv + optind, argc - optind)
					  : ports_filter(o);
		if (!o->filter) {
			fprintf(stderr, "imapscope: out of memory\n");
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* ---- what set-up created, to remove again if a later step fails ------ */

#define UNDO_MAX 8

struct undo {
	char *path[UNDO_MAX];
	bool dir[UNDO_MAX];
	size_t n;
};

static void undo_add(struct undo *u, const char *path, bool dir)
{
	if (u->n < UNDO_MAX && (u->path[u->n] = strdup(path)) != NULL)
		u->dir[u->n++] = dir;
}

/* Removes what was recorded, newest first, when run is true; frees the
 * list either way. */
static void undo_run(struct undo *u, bool run)
{
	while (u->n > 0) {
		u->n--;
		if (run && u->dir[u->n])
			(void)rmdir(u->path[u->n]);
		else if (run)
			(void)unlink(u->path[u->n]);
		free(u->path[u->n]);
	}
}

static bool path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Creates dir if it is missing. Returns 0 or prints why not and returns -1. */
static int make_dir(const char *dir, struct undo *u)
{
	if (mkdir(dir, 0755) == 0) {
		undo_add(u, dir, true);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	fprintf(stderr, "imapscope: %s: %s\n", dir, strerror(errno));
	return -1;
}

/* Opens path with mode ("w" or "a"). Returns the FILE or prints why not
 * and returns NULL. */
static FILE *open_file(const char *path, const char *mode, struct undo *u)
{
	bool existed = path_exists(path);
	FILE *f = fopen(path, mode);

	if (!f) {
		fprintf(stderr, "imapscope: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (!existed)
		undo_add(u, path, false);
	return f;
}

/* Output files for -o DIR. Returns 0 or prints why not and returns -1. */
static int open_outdir(const char *dir, FILE **json_r, char *tdir, size_t tlen,
		       char *jpath, size_t jlen, struct undo *u)
{
	if (make_dir(dir, u) < 0)
		return -1;
	snprintf(tdir, tlen, "%s/transcripts", dir);
	if (make_dir(tdir, u) < 0)
		return -1;
	snprintf(jpath, jlen, "%s/imap.json", dir);
	*json_r = open_file(jpath, "w", u);
	return *json_r ? 0 : -1;
}

/* Writes our process id to path. Returns 0 or prints why not and returns
 * -1. */
static int write_pidfile(const char *path, struct undo *u)
{
	bool existed = path_exists(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char buf[32];
	int n;

	if (fd < 0) {
		fprintf(stderr, "imapscope: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!existed)
		undo_add(u, path, false);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n || close(fd) < 0) {
		fprintf(stderr, "imapscope: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Gives path to the -Z user, so the outputs can be reopened and written
 * once we run as that user. Only regular files and directories: never
 * /dev/null or a terminal given as an output. Returns 0 or prints why not
 * and returns -1. */
static int give_to_user(const char *path, const struct opts *o)
{
	struct stat st;

	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0;
	if (chown(path, o->uid, o->gid) == 0)
		return 0;
	fprintf(stderr, "imapscope: %s: cannot give it to user '%s': %s\n",
		path, o->user, strerror(errno));
	return -1;
}

/* Becomes the -Z user for good: supplementary groups, group, then user,
 * and checks that root can't be taken back. Returns 0 or prints why not
 * and returns -1. */
static int drop_privileges(const struct opts *o)
{
	if (getuid() == o->uid && geteuid() == o->uid &&
	    getgid() == o->gid && getegid() == o->gid)
		return 0;		/* already that user */
	if (geteuid() != 0) {
		fprintf(stderr, "imapscope: -Z %s: only root can change user\n",
			o->user);
		return -1;
	}
	if (initgroups(o->user, o->gid) < 0 || setgid(o->gid) < 0 ||
	    setuid(o->uid) < 0) {
		fprintf(stderr, "imapscope: -Z %s: cannot change user: %s\n",
			o->user, strerror(errno));
		return -1;
	}
	if (o->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0 ||
			    geteuid() != o->uid || getuid() != o->uid ||
			    getgid() != o->gid || getegid() != o->gid)) {
		fprintf(stderr, "imapscope: -Z %s: root privileges were not "
			"given up\n", o->user);
		return -1;
	}
	return 0;
}

/* ---- signals ----------------------------------------------------------- */

static volatile sig_atomic_t sig_stop, sig_reopen, sig_report;

static void on_signal(int sig)
{
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
static void install_signals(bool live)
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

static isc_time wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (isc_time)ts.tv_sec * ISC_NS_PER_SEC + ts.tv_nsec;
}

/* ---- counters ---------------------------------------------------------- */

struct counters {
	uint64_t frames, bytes;
	uint64_t verdicts[CAP_VERDICT_COUNT];
};

static void print_stats(const struct counters *c, const struct flow_stats *fs,
			const struct report_stats *rs,
			const struct cap_live_stats *cs)
{
	if (cs)
		fprintf(stderr, "capture: %llu received, %llu dropped by the "
			"kernel, %llu dropped by the interface\n",
			(unsigned long long)cs->received,
			(unsigned long long)cs->dropped_kernel,
			(unsigned long long)cs->dropped_interface);
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
		       const struct flow_stats *fs, const struct report_stats *rs,
		       const struct cap_live_stats *cs)
{
	struct out_stat st[64];
	size_t n = 0;
	if (cs) {
		st[n++] = (struct out_stat){ "capture", "received", cs->received };
		st[n++] = (struct out_stat){ "capture", "dropped_kernel",
					     cs->dropped_kernel };
		st[n++] = (struct out_stat){ "capture", "dropped_interface",
					     cs->dropped_interface };
	}
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

/* ---- the run ------------------------------------------------------------ */

struct run {
	const struct opts *o;
	struct cap_source *src;		/* -r */
	struct cap_live *live;		/* -i */
	struct cap_dump *dump;		/* -w */
	FILE *jf;			/* JSON stream, stdout or a file */
	char jpath[4096];		/* its path; "" for stdout */
	struct out_json *json;
	struct report *rep;
	struct flow_table *ft;
	struct counters cnt;
	struct cap_live_stats cs;	/* last read */
	isc_time started;		/* wall clock */
	isc_time end;			/* time of the stats record */
	uint64_t drops_warned;		/* drops the last warning reported */
	isc_time drop_warned_at;
	bool dump_failed;		/* a -w failure was reported */
};

static void process(struct run *r, const struct cap_frame *fr)
{
	struct isc_pkt pkt;
	enum cap_verdict v;

	r->cnt.frames++;
	r->cnt.bytes += fr->caplen;
	v = cap_decode(fr, &pkt);
	r->cnt.verdicts[v]++;
	if (v == CAP_TCP)
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

/* SIGUSR1: the counters in two lines on stderr. */
static void report_now(struct run *r)
{
	const struct flow_stats *fs = flow_table_stats(r->ft);
	const struct report_stats *rs = report_stats(r->rep);

	if (r->live) {
		cap_live_stats(r->live, &r->cs);
		fprintf(stderr, "imapscope: up %llds; capture: %llu received, "
			"%llu dropped by the kernel, %llu by the interface\n",
			(long long)((wall_now() - r->started) / ISC_NS_PER_SEC),
			(unsigned long long)r->cs.received,
			(unsigned long long)r->cs.dropped_kernel,
			(unsigned long long)r->cs.dropped_interface);
	}
	fprintf(stderr, "imapscope: packets %llu (%llu bytes); flows %llu "
		"(open %llu, peak %llu, timed out %llu); gaps %llu; sessions "
		"%llu, commands %llu, auth failures %llu; records %llu\n",
		(unsigned long long)r->cnt.frames,
		(unsigned long long)r->cnt.bytes,
		(unsigned long long)fs->flows, (unsigned long long)fs->open_now,
		(unsigned long long)fs->open_peak,
		(unsigned long long)fs->timed_out, (unsigned long long)fs->gaps,
		(unsigned long long)rs->sessions, (unsigned long long)rs->commands,
		(unsigned long long)rs->auth_failures,
		(unsigned long long)(r->json ? out_json_records(r->json) : 0));
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
	if (sig_reopen) {
		sig_reopen = 0;
		reopen_outputs(r);
	}
	if (sig_report) {
		sig_report = 0;
		report_now(r);
	}
	return sig_stop != 0;
}

/* Reads the capture file to its end or a stop signal. Returns the exit
 * status so far. */
static int run_file(struct run *r)
{
	struct cap_frame fr;
	isc_time last = 0;
	int ret = 0;

	while (!handle_signals(r) && (ret = cap_source_next(r->src, &fr)) > 0) {
		if (fr.ts > last)
			last = fr.ts;
		process(r, &fr);
	}
	if (handle_signals(r)) {
		/* a read interrupted by the signal is no fault of the file */
		default_stop_signals();
		if (!r->o->quiet)
			fprintf(stderr, "imapscope: stopped by a signal after "
				"%llu packets\n",
				(unsigned long long)r->cnt.frames);
		flow_table_finish(r->ft, last, FLOW_END_SHUTDOWN);
		r->end = last;
		return 0;
	}
	flow_table_finish(r->ft, last, FLOW_END_EOF);
	r->end = last;
	if (ret < 0) {
		/* report what was read before the fault, then say what it was */
		fprintf(stderr, "imapscope: %s\n", cap_source_error(r->src));
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
static int run_live(struct run *r)
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

/* Opens the -w file for the interfaces' link type. Returns 0 or prints
 * why not and returns -1. */
static int open_dump(struct run *r, struct undo *u)
{
	char err[PCAP_ERRBUF_SIZE + 512];
	int lt = cap_live_linktype(r->live, 0);

	for (size_t i = 1; i < cap_live_count(r->live); i++)
		if (cap_live_linktype(r->live, i) != lt) {
			fprintf(stderr, "imapscope: -w: the interfaces have "
				"different link types (%s, %s); a pcap file "
				"holds one\n", cap_live_linktype_name(r->live, 0),
				cap_live_linktype_name(r->live, i));
			return -1;
		}
	bool existed = path_exists(r->o->write);
	if (cap_dump_open(r->o->write, lt, cap_live_snaplen(r->live),
			  r->o->file_size, r->o->file_count, &r->dump, err,
			  sizeof(err)) < 0) {
		fprintf(stderr, "imapscope: %s\n", err);
		return -1;
	}
	if (!existed)
		undo_add(u, r->o->write, false);
	return 0;
}

/* Opens the capture. Returns 0 or prints why not and returns -1. */
static int open_input(struct run *r)
{
	const struct opts *o = r->o;
	char err[PCAP_ERRBUF_SIZE + 1024];

	if (o->read) {
		if (cap_source_open(o->read, &r->src, err, sizeof(err)) < 0) {
			fprintf(stderr, "imapscope: %s\n", err);
			return -1;
		}
		return 0;
	}
	struct cap_live_opts lo = {
		.snaplen = o->snaplen,
		.buffer_kib = o->buffer_kib,
		.promisc = o->promisc,
		.timeout_ms = LIVE_TIMEOUT_MS,
		.filter = o->filter,
	};
	if (cap_live_open(o->ifaces, o->nifaces, &lo, &r->live, err,
			  sizeof(err)) < 0) {
		fprintf(stderr, "imapscope: %s\n", err);
		return -1;
	}
	if (!o->quiet && cap_live_warning(r->live)[0])
		fprintf(stderr, "imapscope: warning: %s\n",
			cap_live_warning(r->live));
	return 0;
}

/* "listening on lo (EN10MB), filter '...', snapshot length N bytes". */
static void print_listening(const struct run *r)
{
	fprintf(stderr, "imapscope: listening on ");
	for (size_t i = 0; i < cap_live_count(r->live); i++)
		fprintf(stderr, "%s%s (%s)", i ? ", " : "",
			r->o->ifaces[i], cap_live_linktype_name(r->live, i));
	fprintf(stderr, ", filter '%s', snapshot length %d bytes\n",
		cap_live_filter(r->live), cap_live_snaplen(r->live));
}

/* Opens the outputs, writes the pidfile and becomes the -Z user. Returns 0
 * or prints why not and returns -1, having removed what it created. */
static int set_up(struct run *r, struct report_config *cfg, char *tdir,
		  size_t tlen)
{
	const struct opts *o = r->o;
	bool live = o->nifaces > 0;
	struct undo u = { .n = 0 };

	if (r->live && o->write && open_dump(r, &u) < 0)
		goto fail;
	if (o->outdir) {
		if (open_outdir(o->outdir, &r->jf, tdir, tlen, r->jpath,
				sizeof(r->jpath), &u) < 0)
			goto fail;
		cfg->transcript_dir = tdir;
	} else if (o->json_file) {
		snprintf(r->jpath, sizeof(r->jpath), "%s", o->json_file);
		if (!(r->jf = open_file(r->jpath, "a", &u)))
			goto fail;
	} else if (o->json) {
		r->jf = stdout;
	} else {
		cfg->transcripts = stdout;
		cfg->tr.color = o->color == 1 ||
				(o->color == -1 && isatty(STDOUT_FILENO));
		if (live)	/* a session's transcript shows when it ends */
			setvbuf(stdout, NULL, _IOLBF, 0);
	}
	if (o->pidfile && write_pidfile(o->pidfile, &u) < 0)
		goto fail;
	if (o->user && o->uid != 0) {
		/* directories only if we made them: an existing one is the
		 * administrator's to set up */
		for (size_t i = 0; i < u.n; i++)
			if (u.dir[i] && give_to_user(u.path[i], o) < 0)
				goto fail;
		if ((r->jpath[0] && give_to_user(r->jpath, o) < 0) ||
		    (r->dump && give_to_user(cap_dump_path(r->dump), o) < 0))
			goto fail;
	}
	if (o->user && drop_privileges(o) < 0)
		goto fail;
	undo_run(&u, false);
	if (o->user && o->outdir && !o->quiet && access(tdir, W_OK | X_OK) < 0)
		fprintf(stderr, "imapscope: warning: %s: %s for user '%s': "
			"transcripts can't be written\n", tdir, strerror(errno),
			o->user);
	return 0;
fail:
	if (r->jf && r->jf != stdout)
		fclose(r->jf);
	r->jf = NULL;
	cap_dump_close(&r->dump);
	undo_run(&u, true);
	return -1;
}

int main(int argc, char **argv)
{
	struct opts o = { .color = -1, .snaplen = LIVE_SNAPLEN_DEFAULT,
			  .buffer_kib = LIVE_BUFFER_KIB_DEFAULT, .promisc = true };
	isc_limits_default(&o.lim);
	o.ports[0] = 143;
	o.ports[1] = 220;
	o.nports = 2;
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0) {
		free(o.filter);
		return rc;
	}

	struct run r = { .o = &o };
	char tdir[4096];
	struct report_config rc_cfg = {
		.lim = &o.lim,
		.show_secrets = o.show_secrets,
		.tr = { .reltime = o.reltime },
	};
	install_signals(o.nifaces > 0);
	if (open_input(&r) < 0 || set_up(&r, &rc_cfg, tdir, sizeof(tdir)) < 0) {
		cap_live_close(&r.live);
		cap_source_close(&r.src);
		free(o.filter);
		return EXIT_USAGE;
	}
	if ((r.jf && out_json_new(r.jf, r.live != NULL, &r.json) < 0) ||
	    (rc_cfg.json = r.json, report_new(&rc_cfg, &r.rep) < 0) ||
	    flow_table_new(&o.lim, o.ports, o.nports, report_flow_ops(r.rep),
			   &r.ft) < 0) {
		fprintf(stderr, "imapscope: out of memory\n");
		return EXIT_USAGE;
	}
	r.started = wall_now();
	if (r.live && !o.quiet)
		print_listening(&r);

	int status = r.live ? run_live(&r) : run_file(&r);

	const struct flow_stats *fs = flow_table_stats(r.ft);
	const struct report_stats *rs = report_stats(r.rep);
	const struct cap_live_stats *cs = r.live ? &r.cs : NULL;
	if (r.json)
		json_stats(r.json, r.end, &r.cnt, fs, rs, cs);
	if (o.stats)
		print_stats(&r.cnt, fs, rs, cs);
	if (cs && !o.quiet)
		fprintf(stderr, "imapscope: %llu packets received, %llu dropped "
			"by the kernel, %llu by the interface\n",
			(unsigned long long)cs->received,
			(unsigned long long)cs->dropped_kernel,
			(unsigned long long)cs->dropped_interface);
	if (rs->write_errors && !o.quiet)
		fprintf(stderr, "imapscope: %llu transcripts could not be written\n",
			(unsigned long long)rs->write_errors);
	flow_table_free(&r.ft);
	report_free(&r.rep);
	out_json_free(&r.json);
	cap_dump_close(&r.dump);
	cap_live_close(&r.live);
	cap_source_close(&r.src);
	free(o.filter);
	if (o.pidfile)
		(void)unlink(o.pidfile);	/* may fail after -Z: see docs */
	if (fflush(stdout) != 0 || (r.jf && r.jf != stdout && fclose(r.jf) != 0)) {
		fprintf(stderr, "imapscope: writing output: %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	return status;
}
