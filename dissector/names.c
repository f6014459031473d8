/* dissector/names.c: see names.h. */
#include "names.h"

#include <iconv.h>
#include <stdlib.h>
#include <string.h>

/* glibc's converter for RFC 3501's modified UTF-7, opened once. */
static iconv_t mutf7_cd = (iconv_t)-1;
static bool mutf7_tried;

/* RFC 3501 5.1.3: every "&" opens a run of modified base64 ("+", ",",
 * letters, digits) closed by "-". glibc's converter accepts an unclosed
 * run at the end, so the shape is checked here first. */
static bool mutf7_shape_ok(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
		if (*s != '&')
			continue;
		for (s++; *s && *s != '-'; s++)
			if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			      (*s >= '0' && *s <= '9') || *s == '+' || *s == ','))
				return false;
		if (!*s)
			return false;
	}
	return true;
}

bool imap_mutf7_decode(const char *src, char *dst, size_t cap)
{
	size_t len = strlen(src);
	if (cap == 0)
		return false;
	if (!strchr(src, '&') || len >= cap || !mutf7_shape_ok(src))
		goto as_sent;
	if (!mutf7_tried) {
		mutf7_tried = true;
		mutf7_cd = iconv_open("UTF-8", "UTF-7-IMAP");
	}
	if (mutf7_cd == (iconv_t)-1)
		goto as_sent;
	iconv(mutf7_cd, NULL, NULL, NULL, NULL);	/* reset the shift state */
	char *in = (char *)(uintptr_t)src, *out = dst;
	size_t inleft = len, outleft = cap - 1;
	if (iconv(mutf7_cd, &in, &inleft, &out, &outleft) == (size_t)-1 ||
	    iconv(mutf7_cd, NULL, NULL, &out, &outleft) == (size_t)-1)
		goto as_sent;
	*out = '\0';
	return true;
as_sent:
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return false;
}

/* Reads one string (quoted, or an atom such as NIL) at p[*i]; returns a
 * malloc'd copy (NULL for NIL or at the end). */
static char *id_string(const uint8_t *p, size_t len, size_t *i, bool *nil, bool *end)
{
	while (*i < len && p[*i] == ' ')
		(*i)++;
	*nil = false;
	*end = *i >= len || p[*i] == ')';
	if (*end)
		return NULL;
	char buf[IMAP_ID_MAX_FIELD + 1];
	size_t o = 0;
	if (p[*i] == '"') {
		(*i)++;
		while (*i < len && p[*i] != '"') {
			if (p[*i] == '\\' && *i + 1 < len)
				(*i)++;
			if (o < IMAP_ID_MAX_FIELD)
				buf[o++] = (char)p[*i];
			(*i)++;
		}
		if (*i < len)
			(*i)++;		/* the closing quote */
	} else {
		size_t s = *i;
		while (*i < len && p[*i] != ' ' && p[*i] != ')')
			(*i)++;
		if (*i - s == 3 && (p[s] | 0x20) == 'n' && (p[s + 1] | 0x20) == 'i' &&
		    (p[s + 2] | 0x20) == 'l') {
			*nil = true;
			return NULL;
		}
		for (size_t k = s; k < *i && o < IMAP_ID_MAX_FIELD; k++)
			buf[o++] = (char)p[k];
	}
	char *r = malloc(o + 1);
	if (r) {
		memcpy(r, buf, o);
		r[o] = '\0';
	}
	return r;
}

size_t imap_id_parse(const uint8_t *p, size_t len, struct imap_kv *kv)
{
	size_t i = 0, n = 0;
	while (i < len && p[i] == ' ')
		i++;
	if (i >= len || p[i] != '(')
		return 0;		/* NIL, or not a list */
	i++;
	while (n < IMAP_ID_MAX_PAIRS) {
		bool nil, end;
		char *k = id_string(p, len, &i, &nil, &end);
		if (end || !k) {
			free(k);
			break;
		}
		char *v = id_string(p, len, &i, &nil, &end);
		if (end && !nil) {
			free(k);
			break;
		}
		for (char *c = k; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c + 32);
		kv[n].key = k;
		kv[n].value = v;
		n++;
	}
	return n;
}

void imap_kv_free(struct imap_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
		kv[i].key = kv[i].value = NULL;
	}
}
