/*
 * load_report.c — a load's outcome as the user reads it: each file's first
 * reject reasons and errors, the summary table, the JSON summary.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "report.h"

static void
print_messages(const struct load_run *run, bool quiet)
{
	for (int i = 0; i < run->nfiles; i++) {
		const struct load_file *lf = &run->files[i];
		const char *name = strcmp(lf->file, "-") == 0 ? "stdin" : lf->file;
		if (!quiet) {
			bool not_utf8 = false;
			for (int k = 0; k < lf->nshown; k++) {
				(void)fprintf(stderr, "siprems-etl: %s:%s\n", name, lf->shown[k]);
				not_utf8 |= strstr(lf->shown[k], "is not valid UTF-8") != NULL;
			}
			if (not_utf8 && run->read_as_utf8)
				(void)fprintf(stderr,
				              "siprems-etl: %s: hint: the file is not UTF-8; a "
				              "Latin-1 or "
				              "Windows-1252 export loads with --encoding latin1 or "
				              "--encoding windows-1252\n",
				              name);
			if (lf->r.rows_rejected > (uint64_t)lf->nshown && lf->r.reject_file &&
			    strcmp(lf->r.status, "skipped") != 0)
				(void)fprintf(stderr,
				              "siprems-etl: %s: %llu more rejected rows in %s\n",
				              name,
				              (unsigned long long)(lf->r.rows_rejected -
				                                   (uint64_t)lf->nshown),
				              lf->r.reject_file);
		}
		if (lf->code != ETL_OK && lf->code != ETL_REJECTED && lf->error.msg[0] != '\0')
			error_print(&lf->error);
		/* Loaded before with rejects still out: also with --quiet, it is
		 * the reason for the exit status. */
		if (lf->code == ETL_REJECTED && strcmp(lf->r.status, "skipped") == 0 &&
		    lf->error.msg[0] != '\0')
			warnx_etl("%s", lf->error.msg);
	}
}

enum etl_code
load_report(const struct load_run *run, const struct etl_error *err, bool quiet, bool dry_run,
            const char *summary_json, enum etl_code rc)
{
	int n = run->nfiles;
	/* A run stopped before its files (no database) still writes its JSON. */
	if (n <= 0 && summary_json == NULL)
		return ETL_OK;
	print_messages(run, quiet);
	struct file_result *r = calloc((size_t)(n > 0 ? n : 1), sizeof *r);
	if (r == NULL)
		return ETL_ESYSTEM;
	for (int i = 0; i < n; i++) {
		const struct load_file *lf = &run->files[i];
		r[i] = lf->r;
		if (lf->code != ETL_OK && lf->code != ETL_REJECTED && lf->error.msg[0] != '\0')
			r[i].error = lf->error.msg;
	}
	if (n > 0)
		report_table(stderr, r, n, dry_run);
	enum etl_code out = ETL_OK;
	const char *why = n <= 0 && err != NULL && err->code != ETL_OK && err->msg[0] != '\0'
	                          ? err->msg
	                          : NULL;
	if (summary_json != NULL) {
		struct etl_error jerr;
		if (report_json(summary_json, r, n > 0 ? n : 0, error_exit_status(rc), why,
		                &jerr) != ETL_OK) {
			error_print(&jerr);
			out = ETL_ESYSTEM;
		}
	}
	free(r);
	return out;
}
