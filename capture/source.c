/* capture/source.c: one capture made of one or more inputs, their frames
 * merged by timestamp.
 *
 * Each input is a file (input.c tells its format). The merge is a binary
 * min-heap of the inputs keyed by (timestamp of the next frame, input
 * number); the frame at the top is handed out and its input advanced only
 * on the following call, so the frame's bytes stay where its reader put
 * them until then and nothing is copied.
 *
 * Opening checks every input: each is opened and its first frame read.
 * Beyond CAP_OPEN_EAGER inputs, an input is closed again after that and
 * only remembers its first timestamp; it is opened once more when the
 * merge reaches it, and closed at its end. Rotated files (a sensor's
 * hourly captures, say) overlap little in time, so a directory of
 * thousands of them needs few open files and few read buffers at once.
 * Stdin cannot be opened twice and stays open.
 *
 * A failing input (damaged, cut off) leaves the merge; its message is kept
 * and the others go on. ISC_EIO is reported once every frame that could
 * be read was delivered.
 *
 * A source of one input has nothing to merge: after its first frame,
 * cap_source_next() hands out that input's frames as they come, and its
 * end or failure is the input's own.
 */
#include "cap_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Inputs kept open from the start; more are opened as the merge needs
 * them. */
#define CAP_OPEN_EAGER 16

struct cap_input {
	char *path;		/* as given, or "<dir>/<name>" */
	uint32_t no;		/* position in the input order */
	struct cap_in *in;	/* NULL while closed */
	struct cap_frame head;	/* its next frame, while in != NULL */
	isc_time key;		/* head.ts, also while closed */
};

struct cap_source {
	char *name;			/* first path as given */
	struct cap_input *ins;		/* every input, in input order */
	size_t nins;
	struct cap_input **heap;	/* inputs with frames left */
	size_t nheap;
	struct cap_input *pending;	/* gave the last frame: advance it */
	struct cap_in *single;		/* the input of a source of one,
					 * once its first frame was handed
					 * out; NULL otherwise */
	uint64_t count;			/* frames handed out */
	int state;			/* 1 while frames may follow, then 0
					 * (end) or ISC_EIO, repeated */
	char **fails;			/* one line per failed input */
	size_t nfails;
};

/* ---- the heap ----------------------------------------------------- */

static bool cap_src_less(const struct cap_input *a, const struct cap_input *b)
{
	return a->key < b->key || (a->key == b->key && a->no < b->no);
}

static void cap_src_sift_down(struct cap_source *src, size_t i)
{
	struct cap_input **h = src->heap;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct cap_input *t;

		if (l < src->nheap && cap_src_less(h[l], h[m]))
			m = l;
		if (r < src->nheap && cap_src_less(h[r], h[m]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void cap_src_sift_up(struct cap_source *src, size_t i)
{
	struct cap_input **h = src->heap;

	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct cap_input *t;

		if (!cap_src_less(h[i], h[p]))
			return;
		t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

/* Takes the top input off the heap. */
static void cap_src_pop(struct cap_source *src)
{
	src->heap[0] = src->heap[--src->nheap];
	cap_src_sift_down(src, 0);
}

/* ---- inputs ------------------------------------------------------- */

/* Keeps msg as the failure line of an input. Returns ISC_ENOMEM when it
 * cannot be kept, else 0. */
static int cap_src_fail(struct cap_source *src, const char *msg)
{
	char *copy = strdup(msg);

	if (copy == NULL)
		return ISC_ENOMEM;
	src->fails[src->nfails++] = copy;
	return 0;
}

/* An open input that returned ret (0 or ISC_EIO) from cap_in_next() is
 * done: keeps its failure, if any, and closes it. Returns 0, or
 * ISC_ENOMEM when the failure could not be kept. */
static int cap_src_done(struct cap_source *src, struct cap_input *ci, int ret)
{
	if (ret < 0 && cap_src_fail(src, cap_in_error(ci->in)) < 0)
		ret = ISC_ENOMEM;
	else
		ret = 0;
	cap_in_close(&ci->in);
	return ret;
}

/* Reads the next frame of an open input into its head. Returns 1, or 0
 * when the input is done (its end, or a failure now kept), closing it,
 * or ISC_ENOMEM. */
static int cap_src_advance(struct cap_source *src, struct cap_input *ci)
{
	int ret = cap_in_next(ci->in, &ci->head);

	if (ret == 1) {
		ci->key = ci->head.ts;
		return 1;
	}
	return cap_src_done(src, ci, ret);
}

/* Opens a closed input again and reads its first frame. Returns 1, or 0
 * when that failed (the failure is kept), or ISC_ENOMEM. */
static int cap_src_reopen(struct cap_source *src, struct cap_input *ci)
{
	char err[CAP_ERRLEN];
	size_t fails = src->nfails;
	int ret = cap_in_open(ci->path, &ci->in, err, sizeof(err));

	if (ret < 0)
		return cap_src_fail(src, err) < 0 ? ISC_ENOMEM : 0;
	ret = cap_src_advance(src, ci);
	if (ret == 0 && src->nfails == fails) {
		/* It had a frame when first opened and has none now. */
		cap_format_err(err, sizeof(err), ci->path,
			       "changed while being read: no frames left");
		return cap_src_fail(src, err) < 0 ? ISC_ENOMEM : 0;
	}
	return ret;
}

static int cap_src_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the inputs path stands for to *list (*n entries, *cap slots):
 * path itself, or the regular files of a directory sorted by name.
 * Returns 0, or an error with err set. */
static int cap_src_expand(const char *path, char ***list, size_t *n,
			  size_t *cap, char *err, size_t errlen)
{
	struct stat st;
	DIR *dir;
	struct dirent *e;
	size_t first = *n;
	char *full;

	if (strcmp(path, "-") == 0 || stat(path, &st) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		/* not a directory: cap_in_open() says what is wrong */
		if (*n == *cap) {
			size_t c = *cap ? *cap * 2 : 8;
			char **p = realloc(*list, c * sizeof(*p));

			if (p == NULL)
				goto nomem;
			*list = p;
			*cap = c;
		}
		if (((*list)[*n] = strdup(path)) == NULL)
			goto nomem;
		(*n)++;
		return 0;
	}
	if ((dir = opendir(path)) == NULL) {
		cap_format_err(err, errlen, path, strerror(errno));
		return ISC_EIO;
	}
	while ((e = readdir(dir)) != NULL) {
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		len = strlen(path) + strlen(e->d_name) + 2;
		if ((full = malloc(len)) == NULL) {
			closedir(dir);
			goto nomem;
		}
		snprintf(full, len, "%s/%s", path, e->d_name);
		if (stat(full, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(full);
			continue;
		}
		if (*n == *cap) {
			size_t c = *cap ? *cap * 2 : 8;
			char **p = realloc(*list, c * sizeof(*p));

			if (p == NULL) {
				free(full);
				closedir(dir);
				goto nomem;
			}
			*list = p;
			*cap = c;
		}
		(*list)[(*n)++] = full;
	}
	closedir(dir);
	if (*n == first) {
		cap_format_err(err, errlen, path,
			       "directory holds no capture files");
		return ISC_EIO;
	}
	qsort(*list + first, *n - first, sizeof(**list), cap_src_name_cmp);
	return 0;
nomem:
	cap_format_err(err, errlen, path, "out of memory");
	return ISC_ENOMEM;
}

/* Opens input i for the first time and reads its first frame; puts it on
 * the heap when it has one, and closes it again when enough inputs are
 * open already. Returns 0, or an error with err set. */
static int cap_src_first(struct cap_source *src, struct cap_input *ci,
			 size_t *nopen, char *err, size_t errlen)
{
	int ret = cap_in_open(ci->path, &ci->in, err, errlen);

	if (ret < 0)
		return ret;
	ret = cap_src_advance(src, ci);
	if (ret < 0) {
		cap_format_err(err, errlen, ci->path, "out of memory");
		return ret;
	}
	if (ret == 0)
		return 0;		/* empty, or failed: nothing to merge */
	if (*nopen < CAP_OPEN_EAGER || strcmp(ci->path, "-") == 0)
		(*nopen)++;
	else
		cap_in_close(&ci->in);
	src->heap[src->nheap++] = ci;
	cap_src_sift_up(src, src->nheap - 1);
	return 0;
}

int cap_source_open_many(const char *const *paths, size_t n,
			 struct cap_source **src_r, char *err, size_t errlen)
{
	struct cap_source *src;
	char **list = NULL;
	size_t nlist = 0, cap = 0, nopen = 0, i;
	bool have_stdin = false;
	int ret;

	if (n == 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "no input given");
		return ISC_EINVAL;
	}
	if ((src = calloc(1, sizeof(*src))) == NULL ||
	    (src->name = strdup(paths[0])) == NULL) {
		free(src);
		cap_format_err(err, errlen, paths[0], "out of memory");
		return ISC_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(paths[i], "-") == 0) {
			if (have_stdin) {
				cap_format_err(err, errlen, "-",
					       "given more than once");
				ret = ISC_EINVAL;
				goto err;
			}
			have_stdin = true;
		}
		if ((ret = cap_src_expand(paths[i], &list, &nlist, &cap, err,
					  errlen)) < 0)
			goto err;
	}
	src->ins = calloc(nlist, sizeof(*src->ins));
	src->heap = calloc(nlist, sizeof(*src->heap));
	src->fails = calloc(nlist, sizeof(*src->fails));
	if (src->ins == NULL || src->heap == NULL || src->fails == NULL) {
		cap_format_err(err, errlen, paths[0], "out of memory");
		ret = ISC_ENOMEM;
		goto err;
	}
	/* The paths belong to ins[] from here on. */
	for (i = 0; i < nlist; i++) {
		src->ins[i].path = list[i];
		src->ins[i].no = (uint32_t)i;
	}
	src->nins = nlist;
	free(list);
	list = NULL;
	nlist = 0;
	for (i = 0; i < src->nins; i++)
		if ((ret = cap_src_first(src, &src->ins[i], &nopen, err,
					 errlen)) < 0)
			goto err;
	src->state = 1;
	*src_r = src;
	return 0;
err:
	for (i = 0; i < nlist; i++)
		free(list[i]);
	free(list);
	cap_source_close(&src);
	return ret;
}

int cap_source_open(const char *path, struct cap_source **src_r,
		    char *err, size_t errlen)
{
	return cap_source_open_many(&path, 1, src_r, err, errlen);
}

void cap_source_close(struct cap_source **src)
{
	struct cap_source *s;

	if (src == NULL || *src == NULL)
		return;
	s = *src;
	for (size_t i = 0; i < s->nins; i++) {
		cap_in_close(&s->ins[i].in);
		free(s->ins[i].path);
	}
	for (size_t i = 0; i < s->nfails; i++)
		free(s->fails[i]);
	free(s->fails);
	free(s->heap);
	free(s->ins);
	free(s->name);
	free(s);
	*src = NULL;
}

/* cap_source_next() in any state: the merge of several inputs, reopening
 * closed ones, the end. Out of line, so that the single input's case in
 * cap_source_next() keeps no registers and no stack for it. */
__attribute__((noinline))
static int cap_source_next_any(struct cap_source *src,
			       struct cap_frame *frame_r)
{
	struct cap_input *top;
	int ret;

	if (src->state != 1)
		return src->state;
	if (src->pending != NULL) {
		/* It gave the last frame, so it is still at the top. */
		top = src->pending;
		src->pending = NULL;
		ret = cap_src_advance(src, top);
		if (ret < 0)
			return src->state = ret;
		if (ret == 0)
			cap_src_pop(src);
		else
			cap_src_sift_down(src, 0);
	}
	while (src->nheap > 0) {
		top = src->heap[0];
		if (top->in == NULL) {
			isc_time was = top->key;

			ret = cap_src_reopen(src, top);
			if (ret < 0)
				return src->state = ret;
			if (ret == 0) {
				cap_src_pop(src);
				continue;
			}
			if (top->key != was) {
				/* the file changed; merge what it holds */
				cap_src_sift_down(src, 0);
				continue;
			}
		}
		*frame_r = top->head;
		frame_r->index = ++src->count;
		frame_r->input = top->no;
		src->pending = top;
		if (src->nins == 1)
			src->single = top->in;
		return 1;
	}
	src->state = src->nfails > 0 ? ISC_EIO : 0;
	return src->state;
}

int cap_source_next(struct cap_source *src, struct cap_frame *frame_r)
{
	/* A source of one input (one file, always): its frames, and its
	 * count of them, are the source's, and its end or failure is the
	 * source's too, repeated by cap_in_next() and read back by
	 * cap_source_error() and cap_source_failure(). A tail call, with
	 * no stack frame: 23 -> 6 instructions a frame on bench's mixed
	 * capture. */
	if (src->single != NULL) {
		frame_r->input = 0;
		return cap_in_next(src->single, frame_r);
	}
	return cap_source_next_any(src, frame_r);
}

const char *cap_source_error(const struct cap_source *src)
{
	if (src->single != NULL)
		return cap_in_error(src->single);
	if (src->nfails > 0)
		return src->fails[0];
	return src->state == ISC_ENOMEM ? "out of memory" : "";
}

size_t cap_source_failures(const struct cap_source *src)
{
	if (src->single != NULL)
		return cap_in_error(src->single)[0] != '\0';
	return src->nfails;
}

const char *cap_source_failure(const struct cap_source *src, size_t i)
{
	if (src->single != NULL)
		return i == 0 ? cap_in_error(src->single) : "";
	return i < src->nfails ? src->fails[i] : "";
}

const char *cap_source_name(const struct cap_source *src)
{
	return src->name;
}

size_t cap_source_inputs(const struct cap_source *src)
{
	return src->nins;
}

const char *cap_source_input_name(const struct cap_source *src, size_t i)
{
	return i < src->nins ? src->ins[i].path : "";
}
