/* cli/cli_int.h: what the files of cli/ share; nothing outside cli/
 * includes it. main.c wires the run; opts.c parses the command line;
 * setup.c opens inputs and outputs (and undoes what it made when a later
 * step fails); run.c reads packets until the end or a signal; stats.c
 * reports the counters. */
#ifndef ISC_CLI_INT_H
#define ISC_CLI_INT_H

#include "../capture/decode.h"
#include "../capture/live.h"
#include "../capture/source.h"
#include "../output/report.h"

#include <stdio.h>
#include <sys/types.h>

#define EXIT_INPUT 1
#define EXIT_USAGE 2
#define MAX_PORTS 64
#define OPTS_MAX_READS 256

/* Live capture settings and their bounds. */
#define LIVE_SNAPLEN_DEFAULT 262144	/* an IMAP segment is never cut */
#define LIVE_BUFFER_KIB_DEFAULT 8192	/* 0.7 s of a full 100 Mb/s link */
#define LIVE_TIMEOUT_MS 200		/* longest wait for a packet */
#define LIVE_TICK_NS ISC_NS_PER_SEC	/* expiry and drop checks */
#define LIVE_DROP_WARN_NS (60 * ISC_NS_PER_SEC)	/* between drop warnings */
#define LIVE_DRAIN_NS ISC_NS_PER_SEC	/* reading on after a stop signal */

struct opts {
	const char *reads[OPTS_MAX_READS];	/* -r, in the order given */
	size_t nreads;
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
	/* output filters: sessions shown (the analysis sees all) */
	const char *only_user;	/* --user */
	const char *only_host;	/* --host */
	const char *only_session; /* --session */
	bool progress;		/* a progress line on stderr */
};


/* Fills *o with the defaults. */
void opts_init(struct opts *o);
/* Parses the command line into *o. Returns -1 to go on, or the exit
 * status to end with (0 after --help/--version, EXIT_USAGE after an error
 * it printed). */
int opts_parse(int argc, char **argv, struct opts *o);
void opts_free(struct opts *o);

/* One run of the program: what it opened and what it counts. */
struct run {
	const struct opts *o;
	struct cap_source *src;		/* -r */
	struct cap_live *live;		/* -i */
	struct cap_dump *dump;		/* -w */
	struct cap_decoder *dec;
	FILE *jf;			/* JSON stream, stdout or a file */
	char jpath[4096];		/* its path; "" for stdout */
	struct out_json *json;
	struct report *rep;
	struct flow_table *ft;
	struct cap_live_stats cs;	/* last read */
	isc_time started;		/* wall clock */
	isc_time end;			/* time of the stats record */
	uint64_t drops_warned;		/* drops the last warning reported */
	isc_time drop_warned_at;
	bool dump_failed;		/* a -w failure was reported */
	bool stopped;			/* ended by a signal */
	uint64_t input_size;		/* bytes of the -r files, 0 if unknown */
};

/* Opens the capture (files or interfaces). Returns 0 or prints why not
 * and returns -1. */
int setup_input(struct run *r);
/* Opens the outputs, writes the pidfile and becomes the -Z user. Returns 0
 * or prints why not and returns -1, having removed what it created. */
int setup_outputs(struct run *r, struct report_config *cfg, char *tdir,
		  size_t tlen);

/* Signal handling: flags only; run_file() and run_live() act on them. */
void signals_install(bool live);

isc_time wall_now(void);
/* Read until the end (or a signal); return the exit status so far. */
int run_file(struct run *r);
int run_live(struct run *r);
/* "listening on lo (EN10MB), filter '...'" on stderr. */
void print_listening(const struct run *r);

/* The counters: on stderr (--stats), in the closing JSON record, as the
 * human summary at the end of a run, and as the two lines of SIGUSR1. */
void stats_print(struct run *r);
void stats_json(struct run *r);
void stats_summary(struct run *r);
void stats_report_now(struct run *r);

/* A counter of the decoder (cap_decoder_stat()), by group and name; 0 if
 * there is none. stats_decoder(r, "packets", "total") and (r, "packets",
 * "bytes") are the frames and captured bytes read so far. */
uint64_t stats_decoder(const struct run *r, const char *group,
		       const char *name);

#endif
