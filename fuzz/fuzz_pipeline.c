/* fuzz/fuzz_pipeline.c: a whole capture file through the program's layers,
 * wired as cli/ wires them: capture/source (pcap, pcapng, gzip) -> the
 * decoder with IP reassembly -> flow table -> report -> NDJSON and
 * transcripts.
 *
 * The input is the capture file itself (pcap or pcapng). It is put in an
 * anonymous memory file and opened by its /proc/self/fd path, so the
 * project's own reader (capture/source.c) runs, not a copy of it.
 *
 * Options come from the pcap file header's sigfigs field (bytes 12-15,
 * unused by libpcap; 0 in every real file, so real captures run with the
 * defaults). Their XOR: bit 0 --show-secrets, bit 1 coloured transcripts,
 * bit 2 -t, bits 3-4 limits: 0 defaults, 1 small (max_line 64, max_ooo
 * 1 KiB, memcap 4 KiB, 2 flows, 10 s idle, 16 literal bytes, 4 fragments
 * in 2 KiB for 1 s), 2 no literal bytes and 1 flow, 3 small with 1 MiB
 * literal bytes.
 *
 * What comes out is checked as a consumer would: every NDJSON line must
 * parse as a JSON object with json-c's strict, UTF-8-validating parser,
 * and a transcript may hold no control byte but LF (and ESC when colours
 * were asked for) and no invalid UTF-8. With FUZZ_PIPELINE_SKIP=PREFIX in
 * the environment, transcript lines starting with PREFIX are not checked,
 * to keep fuzzing for other faults while a known one is open
 * (tests/regress/ holds its input). */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/decode.h"
#include "capture/source.h"
#include "output/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *buf, size_t len, size_t at)
{
	size_t from = at > 80 ? at - 80 : 0;
	size_t to = at + 80 < len ? at + 80 : len;
	fprintf(stderr, "fuzz_pipeline: %s at byte %zu of the output:\n", what, at);
	for (size_t i = from; i < to; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c >= 0x20 && c < 0x7f)
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fputc('\n', stderr);
	abort();
}

/* Length of the valid UTF-8 sequence at p (1 for ASCII), or 0. Written
 * here from RFC 3629 section 4, independent of output/text.c. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t n;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if (c == 0xe0 && p[1] < 0xa0)
		return 0;	/* overlong */
	if (c == 0xed && p[1] >= 0xa0)
		return 0;	/* surrogate */
	if (c == 0xf0 && p[1] < 0x90)
		return 0;	/* overlong */
	if (c == 0xf4 && p[1] >= 0x90)
		return 0;	/* above U+10FFFF */
	return n;
}

static void check_transcripts(const char *buf, size_t len, bool color)
{
	const unsigned char *p = (const unsigned char *)buf;
	const char *skip = getenv("FUZZ_PIPELINE_SKIP");
	size_t skip_len = skip ? strlen(skip) : 0;
	size_t i = 0;
	while (i < len) {
		unsigned char c = p[i];
		if (skip_len && (i == 0 || p[i - 1] == '\n')) {
			size_t j = i;
			if (color && p[j] == 0x1b) {	/* imapscope's colour */
				const unsigned char *m = memchr(p + j, 'm', len - j);
				j = m ? (size_t)(m - p) + 1 : j;
			}
			if (len - j >= skip_len && !memcmp(p + j, skip, skip_len)) {
				const char *nl = memchr(p + j, '\n', len - j);
				i = nl ? (size_t)(nl - buf) + 1 : len;
				continue;
			}
		}
		if (c < 0x20 || c == 0x7f) {
			if (c == '\n' || (c == 0x1b && color)) {
				i++;
				continue;
			}
			fail("control byte in a transcript", buf, len, i);
		}
		size_t n = utf8_len(p + i, len - i);
		if (n == 0)
			fail("invalid UTF-8 in a transcript", buf, len, i);
		/* C1 controls (U+0080..U+009F) act on terminals too */
		if (n == 2 && c == 0xc2 && p[i + 1] < 0xa0)
			fail("C1 control in a transcript", buf, len, i);
		i += n;
	}
}

static void check_json(const char *buf, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	size_t i = 0;
	if (!tok)
		return;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		if (!nl)
			fail("NDJSON record without its newline", buf, len, i);
		size_t l = (size_t)(nl - (buf + i));
		json_tokener_reset(tok);
		json_object *o = json_tokener_parse_ex(tok, buf + i, (int)l);
		enum json_tokener_error e = json_tokener_get_error(tok);
		if (!o || e != json_tokener_success ||
		    json_tokener_get_parse_end(tok) != l)
			fail(json_tokener_error_desc(e), buf, len, i);
		if (!json_object_is_type(o, json_type_object))
			fail("NDJSON record is not an object", buf, len, i);
		json_object_put(o);
		i += l + 1;
	}
	json_tokener_free(tok);
}

/* The options hidden in the pcap header, see the top of the file. */
static unsigned options_of(const uint8_t *data, size_t size)
{
	if (size < 24)
		return 0;
	uint32_t magic = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
			 (uint32_t)data[2] << 8 | data[3];
	if (magic != 0xa1b2c3d4 && magic != 0xd4c3b2a1 &&
	    magic != 0xa1b23c4d && magic != 0x4d3cb2a1)
		return 0;
	return data[12] ^ data[13] ^ data[14] ^ data[15];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned opt = options_of(data, size);
	struct isc_limits lim;
	isc_limits_default(&lim);
	switch ((opt >> 3) & 3) {
	case 1:
	case 3:
		lim.max_line = 64;
		lim.max_ooo = 1024;
		lim.memcap = 4096;
		lim.max_flows = 2;
		lim.idle_timeout = 10 * ISC_NS_PER_SEC;
		lim.literal_bytes = (opt >> 3 & 3) == 3 ? 1u << 20 : 16;
		lim.frag_max = 4;
		lim.frag_memcap = 2048;
		lim.frag_timeout = ISC_NS_PER_SEC;
		break;
	case 2:
		lim.literal_bytes = 0;
		lim.max_flows = 1;
		break;
	default:
		break;
	}
	const uint16_t ports[2] = { 143, 220 };
	bool color = opt & 2;

	int fd = memfd_create("fuzz-pipeline", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t off = 0;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0) {
			close(fd);
			return 0;
		}
		off += (size_t)w;
	}
	char path[64], err[512];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct cap_source *src = NULL;
	if (cap_source_open(path, &src, err, sizeof(err)) < 0) {
		if (strlen(err) == 0)
			abort();	/* an error must say what it was */
		close(fd);
		return 0;
	}

	char *jbuf = NULL, *tbuf = NULL;
	size_t jlen = 0, tlen = 0;
	FILE *jf = open_memstream(&jbuf, &jlen);
	FILE *tf = open_memstream(&tbuf, &tlen);
	struct out_json *json = NULL;
	struct report *rep = NULL;
	struct flow_table *ft = NULL;
	struct cap_decoder *dec = NULL;
	struct report_config rc = {
		.lim = &lim,
		.show_secrets = opt & 1,
		.transcripts = tf,
		.tr = { .reltime = opt & 4, .color = color },
	};
	if (!jf || !tf || cap_decoder_new(&lim, &dec) < 0 ||
	    out_json_new(jf, false, &json) < 0 ||
	    (rc.json = json, report_new(&rc, &rep) < 0) ||
	    flow_table_new(&lim, ports, 2, report_flow_ops(rep), &ft) < 0)
		goto out;

	struct cap_frame fr;
	struct isc_pkt pkt;
	struct cap_stat cs;
	isc_time last = 0;
	int r;
	while ((r = cap_source_next(src, &fr)) > 0) {
		if (fr.ts > last)
			last = fr.ts;
		enum cap_verdict v = cap_decoder_decode(dec, &fr, &pkt);
		if (v == CAP_TCP || v == CAP_FRAGMENT_REASSEMBLED)
			flow_table_packet(ft, &pkt);
	}
	for (size_t i = 0; cap_decoder_stat(dec, i, &cs); i++)
		if (!cs.group || !cs.name)
			abort();
	for (size_t i = 0; i < cap_source_failures(src); i++)
		if (strlen(cap_source_failure(src, i)) == 0)
			abort();
	if (r < 0 && strlen(cap_source_error(src)) == 0)
		abort();
	flow_table_finish(ft, last, FLOW_END_EOF);
	const struct flow_stats *fs = flow_table_stats(ft);
	const struct report_stats *rs = report_stats(rep);
	struct out_stat st[] = {
		{ "flows", "total", fs->flows },
		{ "reassembly", "gaps", fs->gaps },
		{ "imap", "sessions", rs->sessions },
		{ "imap", "commands", rs->commands },
	};
	out_json_stats(json, last, st, sizeof(st) / sizeof(st[0]));
out:
	cap_decoder_free(&dec);
	flow_table_free(&ft);
	report_free(&rep);
	out_json_free(&json);
	cap_source_close(&src);
	close(fd);
	if (jf && fclose(jf) == 0)
		check_json(jbuf, jlen);
	if (tf && fclose(tf) == 0)
		check_transcripts(tbuf, tlen, color);
	free(jbuf);
	free(tbuf);
	return 0;
}
