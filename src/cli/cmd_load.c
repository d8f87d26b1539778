/*
 * cmd_load.c — `siprems-etl load [OPTIONS] [KIND=]FILE...`: options, then
 * the load engine, then the rejects, the summary table and the JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "cli.h"
#include "intake.h"
#include "load.h"
#include "lockwait.h"
#include "reject.h"
#include "report.h"
#include "safefile.h"

enum {
	OPT_BATCH_ROWS = CLI_OPT_FIRST_LOCAL,
	OPT_ON_CONFLICT,
	OPT_MAX_REJECTS,
	OPT_MAX_REJECT_BYTES,
	OPT_REJECT_DIR,
	OPT_DRY_RUN,
	OPT_FORCE,
	OPT_SINGLE_TXN,
	OPT_SUMMARY_JSON,
	OPT_ALLOW_FUTURE,
	OPT_JOBS,
	OPT_COPY_FORMAT,
	OPT_ARCHIVE,
	OPT_CASE_VARIANTS,
	OPT_LOCK_TIMEOUT,
};

/*
 * --archive DIR: moves each file whose rows are all in (loaded, or skipped
 * as loaded before) and of which nothing was rejected; a failed, stopped or
 * partly rejected file stays for the next run.  Returns ETL_OK, or
 * ETL_ESYSTEM when a file could not be moved (it is named; it stays).
 */
static enum etl_code
archive_loaded(const struct load_run *run, const char *dir, bool quiet)
{
	enum etl_code rc = ETL_OK;
	for (int i = 0; i < run->nfiles; i++) {
		const struct load_file *lf = &run->files[i];
		const char *st = lf->r.status;
		if (lf->code != ETL_OK || lf->r.rows_rejected > 0 ||
		    (strcmp(st, "loaded") != 0 && strcmp(st, "skipped") != 0))
			continue;
		struct stat st_in;
		if (strcmp(lf->file, "-") == 0 ||
		    (stat(lf->file, &st_in) == 0 && !S_ISREG(st_in.st_mode))) {
			if (!quiet)
				notex_etl("%s: loaded; there is no file to archive (%s)",
				          strcmp(lf->file, "-") == 0 ? "stdin" : lf->file,
				          strcmp(lf->file, "-") == 0 ? "standard input" : "a pipe");
			continue;
		}
		char dest[PATH_MAX];
		struct etl_error aerr;
		error_clear(&aerr);
		bool left = false;
		if (archive_move(lf->file, dir, &lf->id, &left, dest, sizeof dest, &aerr) !=
		    ETL_OK) {
			error_print(&aerr);
			rc = error_worst(rc, aerr.code);
		} else if (left) {
			warnx_etl("%s: not archived: the file there now is not the one loaded "
			          "(replaced or changed during the run); it stays",
			          lf->file);
		} else if (!quiet) {
			notex_etl("%s: archived to %s", lf->file, dest);
		}
	}
	return rc;
}

static const struct option load_longopts[] = {
        CLI_GLOBAL_LONGOPTS,
        {"batch-rows", required_argument, NULL, OPT_BATCH_ROWS},
        {"on-conflict", required_argument, NULL, OPT_ON_CONFLICT},
        {"max-rejects", required_argument, NULL, OPT_MAX_REJECTS},
        {"max-reject-bytes", required_argument, NULL, OPT_MAX_REJECT_BYTES},
        {"reject-dir", required_argument, NULL, OPT_REJECT_DIR},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"force", no_argument, NULL, OPT_FORCE},
        {"single-transaction", no_argument, NULL, OPT_SINGLE_TXN},
        {"summary-json", required_argument, NULL, OPT_SUMMARY_JSON},
        CLI_INPUT_LONGOPTS,
        {"allow-future", no_argument, NULL, OPT_ALLOW_FUTURE},
        {"jobs", required_argument, NULL, OPT_JOBS},
        {"copy-format", required_argument, NULL, OPT_COPY_FORMAT},
        {"archive", required_argument, NULL, OPT_ARCHIVE},
        {"case-variants", required_argument, NULL, OPT_CASE_VARIANTS},
        {"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
        {NULL, 0, NULL, 0},
};

/* What load's command line holds: the engine's options and what this file
 * does around the run. */
struct load_args {
	struct load_opts o;
	const char *summary_json; /* --summary-json, or NULL */
	const char *archive;      /* --archive, or NULL */
};

/* Only the options that are load's own; cli_getopt() takes the shared ones.
 * Returns ETL_OK or ETL_EUSAGE. */
static enum etl_code
set_load_option(int opt, const char *arg, struct load_args *a, struct etl_error *err)
{
	struct load_opts *o = &a->o;
	long long num;
	switch (opt) {
	case OPT_BATCH_ROWS:
		if (!cli_parse_num(arg, 1, 100000000, &num))
			return error_set(err, ETL_EUSAGE, NULL, 0,
			                 "--batch-rows: \"%s\" is not a number from 1 to "
			                 "100000000",
			                 arg);
		o->batch_rows = (long)num;
		break;
	case OPT_ON_CONFLICT:
		return cli_parse_on_conflict(arg, &o->on_conflict, err);
	case OPT_MAX_REJECTS:
		return cli_parse_max_rejects(arg, &o->max_rejects, err);
	case OPT_MAX_REJECT_BYTES:
		if (strcmp(arg, "none") == 0)
			num = 0;
		else if (!cli_parse_num(arg, 1, LLONG_MAX, &num))
			return error_set(err, ETL_EUSAGE, NULL, 0,
			                 "--max-reject-bytes: \"%s\" is not a number > 0 or "
			                 "none",
			                 arg);
		o->max_reject_bytes = num;
		break;
	case OPT_REJECT_DIR:
		o->reject_dir = arg;
		break;
	case OPT_DRY_RUN:
		o->dry_run = true;
		break;
	case OPT_FORCE:
		o->force = true;
		break;
	case OPT_SINGLE_TXN:
		o->single_transaction = true;
		break;
	case OPT_SUMMARY_JSON:
		a->summary_json = arg;
		break;
	case OPT_ALLOW_FUTURE:
		o->allow_future = true;
		break;
	case OPT_COPY_FORMAT:
		if (strcmp(arg, "binary") != 0 && strcmp(arg, "text") != 0)
			return error_set(err, ETL_EUSAGE, NULL, 0,
			                 "--copy-format: \"%s\" is not binary or text", arg);
		o->copy_text = strcmp(arg, "text") == 0;
		break;
	case OPT_ARCHIVE:
		a->archive = arg;
		break;
	case OPT_CASE_VARIANTS:
		return cli_parse_case_variants(arg, &o->case_variants, err);
	case OPT_LOCK_TIMEOUT:
		if (!lockwait_parse(arg, &o->lock_timeout_ms))
			return error_set(err, ETL_EUSAGE, NULL, 0,
			                 "--lock-timeout: \"%s\" is not a duration (a number of "
			                 "seconds, or with ms, s or min; 0 for no bound)",
			                 arg);
		break;
	case OPT_JOBS:
		if (!cli_parse_num(arg, 1, 64, &num))
			return error_set(err, ETL_EUSAGE, NULL, 0,
			                 "--jobs: \"%s\" is not a number from 1 to 64", arg);
		o->jobs = (int)num;
		break;
	}
	return ETL_OK;
}

/* Said before any file is claimed, so a usage error leaves nothing to
 * record and nothing to undo.  Returns ETL_OK or ETL_EUSAGE. */
static enum etl_code
refuse_unusable_args(const struct load_args *a, struct etl_error *err)
{
	if (a->archive != NULL && a->o.dry_run)
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "--archive: a dry run loads nothing, so it archives nothing");
	if (a->archive != NULL && archive_check_dir(a->archive, err) != ETL_OK)
		return err->code;
	/* The current directory (the default) as well as --reject-dir. */
	const char *reject_dir = a->o.reject_dir;
	int why = reject_dir_writable(reject_dir != NULL ? reject_dir : ".");
	if (why != 0 && reject_dir != NULL)
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "--reject-dir %s: cannot write reject files there: %s", reject_dir,
		                 strerror(why));
	if (why != 0)
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "the current directory, where reject files go without "
		                 "--reject-dir: cannot write reject files there: %s; give "
		                 "--reject-dir DIR",
		                 strerror(why));
	/* The summary's directory, held from now on: the file is made there
	 * at the end, wherever its name points by then. */
	const char *summary_name;
	if (a->summary_json != NULL && strcmp(a->summary_json, "-") != 0 &&
	    safefile_dir(a->summary_json, &summary_name) < 0)
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "--summary-json %s: cannot write the summary there: %s",
		                 a->summary_json, strerror(errno));
	return ETL_OK;
}

static enum etl_code
load_main(int argc, char **argv, struct global_opts *g, struct cli_input *in, struct etl_error *err)
{
	struct load_args a = {.summary_json = NULL, .archive = NULL};
	struct load_opts *o = &a.o;
	int opt;

	load_opts_default(o);
	while ((opt = cli_getopt(argc, argv, ":h", load_longopts, g, in, err)) >= 0)
		if (set_load_option(opt, optarg, &a, err) != ETL_OK)
			return err->code;
	if (opt == CLI_STOP)
		return err->code;
	if (optind >= argc)
		return error_set(err, ETL_EUSAGE, NULL, 0, "load: no input file given");
	struct file_spec *specs = NULL;
	int nfiles = argc - optind;
	if (cli_file_specs("load", argv + optind, nfiles, &specs, err) != ETL_OK ||
	    refuse_unusable_args(&a, err) != ETL_OK) {
		free(specs);
		return err->code;
	}
	o->format = in->format;
	o->db = g->db;
	o->quiet = g->quiet;
	o->progress = !g->no_progress;

	struct load_run run;
	enum etl_code rc = load_files(o, specs, nfiles, &run, err);
	free(specs);
	if (a.archive != NULL)
		rc = error_worst(rc, archive_loaded(&run, a.archive, g->quiet));
	rc = error_worst(rc, load_report(&run, err, g->quiet, o->dry_run, a.summary_json, rc));
	load_run_free(&run);
	return rc;
}

enum etl_code
cmd_load(int argc, char **argv, struct global_opts *g, struct etl_error *err)
{
	return cli_run_with_profile(argc, argv, g, load_longopts, cli_check_only, load_main, err);
}
