/* cli/setup.c: opening inputs and outputs, the pidfile, -Z (see
 * cli_int.h). Set-up order, so that a failure leaves nothing behind:
 * options, the -Z user, the capture (file or interfaces), then the output
 * files (removed again if a later step fails), the pidfile, and last the
 * switch to the -Z user. */
#include "cli_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The total size of the -r inputs when all are regular files (for the
 * progress line), else 0. */
static uint64_t input_size(const struct opts *o)
{
	uint64_t total = 0;
	struct stat st;

	for (size_t i = 0; i < o->nreads; i++) {
		if (strcmp(o->reads[i], "-") == 0 || stat(o->reads[i], &st) < 0 ||
		    !S_ISREG(st.st_mode))
			return 0;
		total += (uint64_t)st.st_size;
	}
	return total;
}

/* Opens the capture. Returns 0 or prints why not and returns -1. */
int setup_input(struct run *r)
{
	const struct opts *o = r->o;
	char err[PCAP_ERRBUF_SIZE + 1024];

	if (cap_decoder_new(&o->lim, &r->dec) < 0) {
		fprintf(stderr, "imapscope: out of memory\n");
		return -1;
	}
	if (o->nreads) {
		if (cap_source_open_many(o->reads, o->nreads, &r->src, err,
					 sizeof(err)) < 0) {
			fprintf(stderr, "imapscope: %s\n", err);
			return -1;
		}
		r->input_size = input_size(o);
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

/* Opens the outputs, writes the pidfile and becomes the -Z user. Returns 0
 * or prints why not and returns -1, having removed what it created. */
int setup_outputs(struct run *r, struct report_config *cfg, char *tdir,
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

