/* cli/opts.c: the command line (see cli_int.h). */
#include "cli_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json_c_version.h>
#include <pcap/pcap.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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
"  -r, --read FILE        pcap/pcapng capture, .gz too, a directory of them, or\n"
"                         \"-\" for stdin; several -r are read as one capture\n"
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
"  -q, --quiet            no summary, progress or warnings on stderr\n"
"      --user NAME        show only sessions that tried to log in as NAME\n"
"      --host IP          show only sessions from or to IP\n"
"      --session ID       show only the session with this id\n"
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
"  -Z USER                run as USER once the capture and outputs are open\n"
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

static bool valid_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
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
	OPT_JSONFILE, OPT_NOPROMISC, OPT_PIDFILE, OPT_USER, OPT_HOST, OPT_SESSION,
};

/* Returns -1 to go on, or an exit status. */
int opts_parse(int argc, char **argv, struct opts *o)
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
		{ "relinquish-privileges", required_argument, NULL, 'Z' },
		{ "user", required_argument, NULL, OPT_USER },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "session", required_argument, NULL, OPT_SESSION },
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
			if (o->nreads == OPTS_MAX_READS)
				return bad_usage("too many -r inputs, at most 256:", optarg);
			o->reads[o->nreads++] = optarg;
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
		case OPT_USER:
			o->only_user = optarg;
			break;
		case OPT_HOST:
			if (!valid_ip(optarg))
				return bad_usage("--host needs an IPv4 or IPv6 address:", optarg);
			o->only_host = optarg;
			break;
		case OPT_SESSION:
			o->only_session = optarg;
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
	if (o->nreads && o->nifaces)
		return bad_usage("give either -r FILE or -i IFACE, not both", NULL);
	if (!o->nreads && !o->nifaces)
		return bad_usage("no input: give -r FILE or -i IFACE", NULL);
	if (optind < argc && !o->nifaces)
		return bad_usage("unexpected argument (a filter expression needs -i)",
				 argv[optind]);
	if (o->nreads && o->live_only)
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


void opts_init(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->color = -1;
	o->snaplen = LIVE_SNAPLEN_DEFAULT;
	o->buffer_kib = LIVE_BUFFER_KIB_DEFAULT;
	o->promisc = true;
	isc_limits_default(&o->lim);
	o->ports[0] = 143;
	o->ports[1] = 220;
	o->nports = 2;
}

void opts_free(struct opts *o)
{
	free(o->filter);
	o->filter = NULL;
}
