/* capture/live.c: live capture through libpcap (see live.h), and copies of
 * the captured frames in pcap files.
 *
 * Each interface gets its own handle in immediate mode (a packet is handed
 * over as soon as the kernel has it, so records are not held back on a
 * quiet link) and in non-blocking mode: cap_live_next() reads whatever is
 * ready and otherwise waits in poll() on all the handles' descriptors, so
 * one loop serves several interfaces and a caught signal (EINTR) ends the
 * wait at once. Timestamps are asked for in nanoseconds and scaled up from
 * microseconds where the platform can't give them.
 */
#include "live.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for an interface name, a filter, libpcap's message and ours. */
#define CAP_LIVE_ERRLEN (PCAP_ERRBUF_SIZE + 1024)

struct cap_live_if {
	pcap_t *pcap;
	char *name;
	int fd;				/* pcap_get_selectable_fd() */
	int linktype;
	bool nano;			/* tv_usec holds nanoseconds */
	struct pcap_stat last;		/* libpcap's counters when last read */
};

struct cap_live {
	struct cap_live_if ifs[CAP_LIVE_MAX_IFACES];
	size_t n;
	size_t next_if;			/* where the next read starts */
	int timeout_ms;
	int snaplen;
	uint64_t count;			/* frames handed out */
	volatile sig_atomic_t brk;	/* set by cap_live_breakloop() */
	int state;			/* 1, or the final negative result */
	struct cap_live_stats st;
	char *ifnames;			/* "eth0, eth1" */
	char *filter;
	char err[CAP_LIVE_ERRLEN];
	char warn[CAP_LIVE_ERRLEN];
};

/* snprintf into buf (len may be 0), then newlines become spaces so the
 * message stays on one line. */
static void cap_live_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cap_live_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	for (char *c = buf; *c != '\0'; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
}

/* What pcap_activate()'s failure means, for a person. */
static void cap_live_activate_err(char *buf, size_t len, const char *name,
				  int rc, pcap_t *p)
{
	const char *detail = pcap_geterr(p);

	switch (rc) {
	case PCAP_ERROR_NO_SUCH_DEVICE:
		cap_live_fmt(buf, len, "%s: no such interface", name);
		break;
	case PCAP_ERROR_PERM_DENIED:
		cap_live_fmt(buf, len, "%s: permission denied: capturing needs "
			     "root or CAP_NET_RAW (%s)", name, detail);
		break;
	case PCAP_ERROR_PROMISC_PERM_DENIED:
		cap_live_fmt(buf, len, "%s: permission denied for promiscuous "
			     "mode (try --no-promisc)", name);
		break;
	case PCAP_ERROR_IFACE_NOT_UP:
		cap_live_fmt(buf, len, "%s: interface is down", name);
		break;
	default:
		cap_live_fmt(buf, len, "%s: %s", name,
			     detail[0] != '\0' ? detail : pcap_statustostr(rc));
		break;
	}
}

/* Compiles and installs the filter on one activated handle. */
static int cap_live_setfilter(struct cap_live_if *li, const char *filter,
			      char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	bpf_u_int32 net, mask;
	struct bpf_program prog;

	/* the netmask only matters to "ip broadcast"; unknown is fine */
	if (strcmp(li->name, "any") == 0 ||
	    pcap_lookupnet(li->name, &net, &mask, ebuf) < 0)
		mask = PCAP_NETMASK_UNKNOWN;
	if (pcap_compile(li->pcap, &prog, filter, 1, mask) < 0) {
		cap_live_fmt(err, errlen, "bad filter '%s': %s", filter,
			     pcap_geterr(li->pcap));
		return ISC_EIO;
	}
	if (pcap_setfilter(li->pcap, &prog) < 0) {
		cap_live_fmt(err, errlen, "%s: cannot install the filter: %s",
			     li->name, pcap_geterr(li->pcap));
		pcap_freecode(&prog);
		return ISC_EIO;
	}
	pcap_freecode(&prog);
	return 0;
}

/* Creates, configures and activates the handle for li->name. A warning
 * from libpcap is appended to warn. */
static int cap_live_open_if(struct cap_live_if *li,
			    const struct cap_live_opts *o, char *warn,
			    size_t warnlen, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	bool any = strcmp(li->name, "any") == 0;
	int rc;

	li->fd = -1;
	li->pcap = pcap_create(li->name, ebuf);
	if (li->pcap == NULL) {
		cap_live_fmt(err, errlen, "%s: %s", li->name, ebuf);
		return ISC_EIO;
	}
	/* "any" has no promiscuous mode; asking only earns a warning */
	if (pcap_set_snaplen(li->pcap, o->snaplen) != 0 ||
	    pcap_set_promisc(li->pcap, o->promisc && !any) != 0 ||
	    pcap_set_immediate_mode(li->pcap, 1) != 0 ||
	    pcap_set_timeout(li->pcap, o->timeout_ms) != 0 ||
	    (o->buffer_kib > 0 &&
	     pcap_set_buffer_size(li->pcap, o->buffer_kib * 1024) != 0)) {
		cap_live_fmt(err, errlen, "%s: cannot configure the capture",
			     li->name);
		return ISC_EIO;
	}
	li->nano = pcap_set_tstamp_precision(li->pcap,
					     PCAP_TSTAMP_PRECISION_NANO) == 0;
	rc = pcap_activate(li->pcap);
	if (rc < 0) {
		cap_live_activate_err(err, errlen, li->name, rc, li->pcap);
		return ISC_EIO;
	}
	if (rc > 0 && warnlen > 0) {
		size_t used = strlen(warn);
		const char *w = pcap_geterr(li->pcap);

		cap_live_fmt(warn + used, warnlen - used, "%s%s: %s",
			     used ? "; " : "", li->name,
			     w[0] != '\0' ? w : pcap_statustostr(rc));
	}
	li->nano = li->nano && pcap_get_tstamp_precision(li->pcap) ==
			       PCAP_TSTAMP_PRECISION_NANO;
	li->linktype = pcap_datalink(li->pcap);
	if (o->filter != NULL && o->filter[0] != '\0' &&
	    cap_live_setfilter(li, o->filter, err, errlen) < 0)
		return ISC_EIO;
	if (pcap_setnonblock(li->pcap, 1, ebuf) < 0) {
		cap_live_fmt(err, errlen, "%s: %s", li->name, ebuf);
		return ISC_EIO;
	}
	li->fd = pcap_get_selectable_fd(li->pcap);
	if (li->fd < 0) {
		cap_live_fmt(err, errlen, "%s: this platform cannot wait for "
			     "packets on the interface", li->name);
		return ISC_EIO;
	}
	return 0;
}

/* "a, b, c" from the names, or NULL when out of memory. */
static char *cap_live_join(const char *const *names, size_t n)
{
	size_t len = 1, at = 0;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 2;
	s = malloc(len);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		if (i > 0) {
			memcpy(s + at, ", ", 2);
			at += 2;
		}
		memcpy(s + at, names[i], l);
		at += l;
	}
	s[at] = '\0';
	return s;
}

int cap_live_open(const char *const *ifaces, size_t n,
		  const struct cap_live_opts *opts, struct cap_live **live_r,
		  char *err, size_t errlen)
{
	struct cap_live *live;
	int ret = ISC_ENOMEM;

	if (n == 0 || n > CAP_LIVE_MAX_IFACES || opts->snaplen <= 0 ||
	    opts->timeout_ms <= 0 || opts->buffer_kib < 0 ||
	    opts->buffer_kib > INT32_MAX / 1024) {
		cap_live_fmt(err, errlen, "invalid capture settings");
		return ISC_EINVAL;
	}
	live = calloc(1, sizeof(*live));
	if (live == NULL)
		goto err;
	live->n = n;
	live->timeout_ms = opts->timeout_ms;
	live->snaplen = opts->snaplen;
	live->state = 1;
	live->ifnames = cap_live_join(ifaces, n);
	live->filter = strdup(opts->filter != NULL ? opts->filter : "");
	if (live->ifnames == NULL || live->filter == NULL)
		goto err;
	for (size_t i = 0; i < n; i++) {
		live->ifs[i].fd = -1;
		live->ifs[i].name = strdup(ifaces[i]);
		if (live->ifs[i].name == NULL)
			goto err;
	}
	for (size_t i = 0; i < n; i++) {
		ret = cap_live_open_if(&live->ifs[i], opts, live->warn,
				       sizeof(live->warn), err, errlen);
		if (ret < 0)
			goto fail;
	}
	*live_r = live;
	return 0;
err:
	cap_live_fmt(err, errlen, "out of memory");
fail:
	cap_live_close(&live);
	return ret;
}

void cap_live_close(struct cap_live **live)
{
	if (live == NULL || *live == NULL)
		return;
	for (size_t i = 0; i < (*live)->n; i++) {
		if ((*live)->ifs[i].pcap != NULL)
			pcap_close((*live)->ifs[i].pcap);
		free((*live)->ifs[i].name);
	}
	free((*live)->ifnames);
	free((*live)->filter);
	free(*live);
	*live = NULL;
}

/* Tries each interface once, starting after the one read last so a busy
 * interface can't starve the others. Returns 1 with a frame, 0 if none
 * had one, or ISC_EIO. */
static int cap_live_read(struct cap_live *live, struct cap_frame *fr)
{
	for (size_t k = 0; k < live->n; k++) {
		size_t i = (live->next_if + k) % live->n;
		struct cap_live_if *li = &live->ifs[i];
		struct pcap_pkthdr *hdr;
		const u_char *data;
		int64_t frac;
		int ret = pcap_next_ex(li->pcap, &hdr, &data);

		if (ret == 0 || ret == PCAP_ERROR_BREAK)
			continue;
		if (ret != 1) {
			cap_live_fmt(live->err, sizeof(live->err), "%s: %s",
				     li->name, pcap_geterr(li->pcap));
			return ISC_EIO;
		}
		live->next_if = (i + 1) % live->n;
		live->count++;
		frac = (int64_t)hdr->ts.tv_usec;
		if (!li->nano)
			frac *= 1000;
		/* a compound literal: fields not named here are zero */
		*fr = (struct cap_frame){
			.ts = (isc_time)hdr->ts.tv_sec * ISC_NS_PER_SEC + frac,
			.index = live->count,
			.linktype = li->linktype,
			.data = data,
			.caplen = hdr->caplen,
			.wirelen = hdr->len,
		};
		return 1;
	}
	return 0;
}

int cap_live_next(struct cap_live *live, struct cap_frame *frame_r)
{
	struct pollfd pfd[CAP_LIVE_MAX_IFACES];
	int ret;

	if (live->state != 1)
		return live->state;
	if (live->brk) {
		live->state = CAP_LIVE_BREAK;
		return live->state;
	}
	ret = cap_live_read(live, frame_r);
	if (ret != 0)
		goto out;
	for (size_t i = 0; i < live->n; i++) {
		pfd[i].fd = live->ifs[i].fd;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	ret = poll(pfd, (nfds_t)live->n, live->timeout_ms);
	if (ret < 0 && errno != EINTR) {
		cap_live_fmt(live->err, sizeof(live->err), "%s: waiting for "
			     "packets: %s", live->ifnames, strerror(errno));
		ret = ISC_EIO;
		goto out;
	}
	if (ret <= 0 || live->brk)
		return 0;	/* timeout or signal: the caller looks around */
	/* readable, or an error condition that the read will report */
	ret = cap_live_read(live, frame_r);
out:
	if (ret < 0)
		live->state = ret;
	return ret;
}

void cap_live_breakloop(struct cap_live *live)
{
	live->brk = 1;
}

/* Adds the growth of a 32-bit counter of libpcap's to a 64-bit one. */
static void cap_live_fold(uint64_t *total, u_int now, u_int *last)
{
	*total += (u_int)(now - *last);
	*last = now;
}

int cap_live_stats(struct cap_live *live, struct cap_live_stats *st)
{
	int ret = 0;

	for (size_t i = 0; i < live->n; i++) {
		struct cap_live_if *li = &live->ifs[i];
		struct pcap_stat ps;

		if (pcap_stats(li->pcap, &ps) < 0) {
			cap_live_fmt(live->err, sizeof(live->err), "%s: %s",
				     li->name, pcap_geterr(li->pcap));
			ret = ISC_EIO;
			continue;
		}
		cap_live_fold(&live->st.received, ps.ps_recv, &li->last.ps_recv);
		cap_live_fold(&live->st.dropped_kernel, ps.ps_drop,
			      &li->last.ps_drop);
		cap_live_fold(&live->st.dropped_interface, ps.ps_ifdrop,
			      &li->last.ps_ifdrop);
	}
	*st = live->st;
	return ret;
}

const char *cap_live_error(const struct cap_live *live)
{
	return live->err;
}

const char *cap_live_warning(const struct cap_live *live)
{
	return live->warn;
}

const char *cap_live_ifaces(const struct cap_live *live)
{
	return live->ifnames;
}

const char *cap_live_filter(const struct cap_live *live)
{
	return live->filter;
}

int cap_live_snaplen(const struct cap_live *live)
{
	return live->snaplen;
}

size_t cap_live_count(const struct cap_live *live)
{
	return live->n;
}

int cap_live_linktype(const struct cap_live *live, size_t i)
{
	return live->ifs[i].linktype;
}

const char *cap_live_linktype_name(const struct cap_live *live, size_t i)
{
	const char *s = pcap_datalink_val_to_name(live->ifs[i].linktype);

	return s != NULL ? s : "unknown";
}

/* ---- pcap copies ------------------------------------------------------- */

/* The pcap file header, and what each record adds to the frame bytes. */
#define CAP_DUMP_FILE_HDR 24
#define CAP_DUMP_REC_HDR 16

struct cap_dump {
	pcap_t *dead;			/* carries link type, snaplen, ns */
	pcap_dumper_t *dumper;		/* NULL after a failed open */
	char *base;			/* the path as given */
	char *cur;			/* base or base.N, being written */
	size_t curlen;			/* room at cur */
	uint64_t rotate_bytes;		/* 0: never rotate */
	unsigned max_files;		/* 0: no limit */
	unsigned index;			/* N of the current file, 0 = base */
	uint64_t written;		/* bytes in the current file */
};

/* Points d->cur at the file of number d->index. */
static void cap_dump_name(struct cap_dump *d)
{
	if (d->index == 0)
		snprintf(d->cur, d->curlen, "%s", d->base);
	else
		snprintf(d->cur, d->curlen, "%s.%u", d->base, d->index);
}

int cap_dump_open(const char *path, int linktype, int snaplen,
		  uint64_t rotate_bytes, unsigned max_files,
		  struct cap_dump **d_r, char *err, size_t errlen)
{
	struct cap_dump *d = calloc(1, sizeof(*d));

	if (d == NULL)
		goto nomem;
	d->curlen = strlen(path) + 16;	/* ".4294967295" and the NUL */
	d->base = strdup(path);
	d->cur = malloc(d->curlen);
	d->dead = pcap_open_dead_with_tstamp_precision(linktype, snaplen,
						PCAP_TSTAMP_PRECISION_NANO);
	if (d->base == NULL || d->cur == NULL || d->dead == NULL)
		goto nomem;
	d->rotate_bytes = rotate_bytes;
	d->max_files = max_files;
	cap_dump_name(d);
	d->dumper = pcap_dump_open(d->dead, d->cur);
	if (d->dumper == NULL) {
		/* libpcap's message names the file already */
		cap_live_fmt(err, errlen, "%s", pcap_geterr(d->dead));
		cap_dump_close(&d);
		return ISC_EIO;
	}
	d->written = CAP_DUMP_FILE_HDR;
	*d_r = d;
	return 0;
nomem:
	cap_live_fmt(err, errlen, "%s: out of memory", path);
	cap_dump_close(&d);
	return ISC_ENOMEM;
}

/* Closes the current file and starts the next one of the rotation. */
static int cap_dump_rotate(struct cap_dump *d, char *err, size_t errlen)
{
	pcap_dump_close(d->dumper);
	d->dumper = NULL;
	d->index++;
	if (d->max_files > 0 && d->index >= d->max_files)
		d->index = 0;
	cap_dump_name(d);
	d->dumper = pcap_dump_open(d->dead, d->cur);
	if (d->dumper == NULL) {
		cap_live_fmt(err, errlen, "%s", pcap_geterr(d->dead));
		return ISC_EIO;
	}
	d->written = CAP_DUMP_FILE_HDR;
	return 0;
}

int cap_dump_write(struct cap_dump *d, const struct cap_frame *fr,
		   char *err, size_t errlen)
{
	struct pcap_pkthdr hdr;

	if (d->dumper == NULL)
		return 0;	/* the failure was reported when it happened */
	if (d->rotate_bytes > 0 && d->written >= d->rotate_bytes &&
	    d->written > CAP_DUMP_FILE_HDR &&
	    cap_dump_rotate(d, err, errlen) < 0)
		return ISC_EIO;
	memset(&hdr, 0, sizeof(hdr));
	hdr.ts.tv_sec = (time_t)(fr->ts / ISC_NS_PER_SEC);
	hdr.ts.tv_usec = (suseconds_t)(fr->ts % ISC_NS_PER_SEC);
	hdr.caplen = fr->caplen;
	hdr.len = fr->wirelen;
	pcap_dump((u_char *)d->dumper, &hdr, fr->data);
	d->written += CAP_DUMP_REC_HDR + (uint64_t)fr->caplen;
	return 0;
}

int cap_dump_flush(struct cap_dump *d, char *err, size_t errlen)
{
	if (d->dumper == NULL || pcap_dump_flush(d->dumper) == 0)
		return 0;
	cap_live_fmt(err, errlen, "%s: %s", d->cur, strerror(errno));
	return ISC_EIO;
}

int cap_dump_reopen(struct cap_dump *d, char *err, size_t errlen)
{
	int64_t size;

	if (d->dumper != NULL)
		pcap_dump_close(d->dumper);
	/* appends to a file that is still there, creates a missing one */
	d->dumper = pcap_dump_open_append(d->dead, d->cur);
	if (d->dumper == NULL) {
		cap_live_fmt(err, errlen, "%s", pcap_geterr(d->dead));
		return ISC_EIO;
	}
	size = pcap_dump_ftell64(d->dumper);
	d->written = size > 0 ? (uint64_t)size : CAP_DUMP_FILE_HDR;
	return 0;
}

const char *cap_dump_path(const struct cap_dump *d)
{
	return d->dumper != NULL ? d->cur : "";
}

void cap_dump_close(struct cap_dump **d)
{
	if (d == NULL || *d == NULL)
		return;
	if ((*d)->dumper != NULL)
		pcap_dump_close((*d)->dumper);
	if ((*d)->dead != NULL)
		pcap_close((*d)->dead);
	free((*d)->base);
	free((*d)->cur);
	free(*d);
	*d = NULL;
}
