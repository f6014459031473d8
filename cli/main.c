/* cli/main.c: the imapscope command. Reads capture files or captures
 * live, and wires capture -> reassembly -> dissector -> output; the other
 * files of cli/ do the parts (cli_int.h).
 *
 * Exit status: 0 success; 1 the analysis finished but the input had
 * problems (a capture cut off mid-record, a damaged .gz, an interface that
 * failed while capturing); 2 usage or environment errors (bad option,
 * unreadable file, not a capture, no such interface, no permission, bad
 * filter, output not writable). */
#include "cli_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Frees what the run opened, in the reverse order of opening. */
static void tear_down(struct run *r, struct opts *o)
{
	flow_table_free(&r->ft);
	report_free(&r->rep);
	out_json_free(&r->json);
	cap_dump_close(&r->dump);
	cap_live_close(&r->live);
	cap_source_close(&r->src);
	cap_decoder_free(&r->dec);
	opts_free(o);
}

int main(int argc, char **argv)
{
	struct opts o;
	opts_init(&o);
	int rc = opts_parse(argc, argv, &o);
	if (rc >= 0) {
		opts_free(&o);
		return rc;
	}

	struct run r = { .o = &o };
	char tdir[4096];
	struct report_config cfg = {
		.lim = &o.lim,
		.show_secrets = o.show_secrets,
		.tr = { .reltime = o.reltime },
		.only_user = o.only_user,
		.only_host = o.only_host,
		.only_session = o.only_session,
	};
	signals_install(o.nifaces > 0);
	if (setup_input(&r) < 0 || setup_outputs(&r, &cfg, tdir, sizeof(tdir)) < 0) {
		tear_down(&r, &o);
		return EXIT_USAGE;
	}
	/* a progress line only for files, on a terminal, unless -q */
	o.progress = r.src && r.input_size && !o.quiet && isatty(STDERR_FILENO);
	cfg.json_file = r.jf;
	if ((r.jf && out_json_new(r.jf, r.live != NULL, &r.json) < 0) ||
	    (cfg.json = r.json, report_new(&cfg, &r.rep) < 0) ||
	    flow_table_new(&o.lim, o.ports, o.nports, report_flow_ops(r.rep),
			   &r.ft) < 0) {
		fprintf(stderr, "imapscope: out of memory\n");
		tear_down(&r, &o);
		return EXIT_USAGE;
	}
	r.started = wall_now();
	if (r.live && !o.quiet)
		print_listening(&r);

	int status = r.live ? run_live(&r) : run_file(&r);

	if (r.json)
		stats_json(&r);
	if (o.stats)
		stats_print(&r);
	if (!o.quiet)
		stats_summary(&r);
	const struct report_stats *rs = report_stats(r.rep);
	if (rs->write_errors && !o.quiet)
		fprintf(stderr, "imapscope: %llu transcripts could not be written\n",
			(unsigned long long)rs->write_errors);
	if (r.live && !o.quiet)
		fprintf(stderr, "imapscope: %llu packets received, %llu dropped "
			"by the kernel, %llu by the interface\n",
			(unsigned long long)r.cs.received,
			(unsigned long long)r.cs.dropped_kernel,
			(unsigned long long)r.cs.dropped_interface);
	tear_down(&r, &o);
	if (o.pidfile)
		(void)unlink(o.pidfile);	/* may fail after -Z: see docs */
	if (fflush(stdout) != 0 || (r.jf && r.jf != stdout && fclose(r.jf) != 0)) {
		fprintf(stderr, "imapscope: writing output: %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	return status;
}
