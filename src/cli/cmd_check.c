/*
 * cmd_check.c — `siprems-etl check [OPTIONS] [KIND=]FILE...`: the
 * duplicate-key pre-check.  Reads the files (pass 1: keys), the database
 * in one read-only transaction, the files with database conflicts again
 * (pass 2: their values), then writes the report.  Writes nothing anywhere
 * but stdout and stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "db.h"
#include "intake.h"
#include "refdata.h"

enum { OPT_FORMAT = CLI_OPT_FIRST_LOCAL };

struct db_ctx {
	struct check *c;
	const struct table_def *t;
};

static enum etl_code
on_db_row(void *ctx, char *const *values, const size_t *lens, int n)
{
	(void)n;
	struct db_ctx *d = ctx;
	return check_db_row(d->c, d->t, values, lens);
}

static enum etl_code
on_db_ref(void *ctx, char *const *values, const size_t *lens, int n)
{
	(void)n;
	struct db_ctx *d = ctx;
	check_db_ref(d->c, d->t, values[0], lens[0]);
	return ETL_OK;
}

/* Reads what the database has of the run's keys and SKUs. */
static enum etl_code
read_database(PGconn *conn, struct check *c, const bool *kinds, struct etl_error *err)
{
	enum etl_code rc = db_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
	for (int k = 0; k < KIND_COUNT && rc == ETL_OK; k++) {
		if (!kinds[k])
			continue;
		const struct table_def *t = table_get((enum kind)k);
		struct db_ctx d = {.c = c, .t = t};
		if (t->nkey > 0) {
			const char *cols[COLMAP_MAXCOLS + 2];
			int ncols = check_db_columns(t, cols, COLMAP_MAXCOLS + 2);
			rc = refdata_stream(conn, t->table, cols, ncols, on_db_row, &d, NULL, err);
		} else if (t->ref_col >= 0) {
			const struct table_def *rt = table_get(t->ref_kind);
			const char *key[1] = {rt->cols[rt->key[0]].db_column};
			rc = refdata_stream(conn, rt->table, key, 1, on_db_ref, &d, NULL, err);
		}
	}
	if (rc == ETL_ESYSTEM)
		(void)error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	PGresult *r = db_run(conn, rc == ETL_OK ? "COMMIT" : "ROLLBACK");
	PQclear(r);
	return rc;
}

/* Pass 1 over one file: every row's key. */
static enum etl_code
pass1(struct check *c, struct intake *it, const struct validator *v, int file, bool quiet,
      struct etl_error *err)
{
	struct valid_row row;
	char why[1024];
	uint64_t keyless = 0;
	long first_bad = 0;
	char first_why[1024] = "";
	int got;
	enum etl_code rc = ETL_OK;
	while (rc == ETL_OK && (got = intake_next_record(it, err)) == 1) {
		if (!valid_row_keys(v, intake_map(it), intake_record(it), &row, why, sizeof why)) {
			if (keyless++ == 0) {
				first_bad = intake_record(it)->line;
				(void)snprintf(first_why, sizeof first_why, "%s", why);
			}
			continue;
		}
		if (intake_map(it)->t->nkey == 0) {
			const struct value *ref = &row.v[intake_map(it)->t->ref_col];
			rc = check_ref(c, intake_map(it)->t, file, intake_record(it)->line, ref->s,
			               ref->n);
		} else {
			rc = check_key(c, intake_map(it)->t, file, intake_record(it)->line, &row);
		}
	}
	if (rc == ETL_OK && got < 0)
		rc = err->code;
	if (rc == ETL_ESYSTEM && err->msg[0] == '\0')
		(void)error_set(err, ETL_ESYSTEM, intake_name(it), 0, "out of memory");
	if (keyless > 0 && !quiet)
		warnx_etl("%s: %llu row%s without a valid key left out (the first, line %ld: %s)",
		          intake_name(it), (unsigned long long)keyless, keyless == 1 ? "" : "s",
		          first_bad, first_why);
	return rc;
}

/* Pass 2 over one file: the values of the rows the database also has. */
static enum etl_code
pass2(struct check *c, const char *spec, const struct intake_opts *io, int file,
      struct etl_error *err)
{
	struct intake *it = NULL;
	struct valid_row row, keys;
	bool ok[COLMAP_MAXCOLS];
	char why[1024];
	enum etl_code rc = intake_open(&it, spec, io, err);
	int got = 0;
	while (rc == ETL_OK && (got = intake_next_record(it, err)) == 1) {
		if (!valid_row_keys(io->v, intake_map(it), intake_record(it), &keys, why,
		                    sizeof why))
			continue;
		valid_columns(io->v, intake_map(it), intake_record(it), &row, ok);
		rc = check_compare(c, intake_map(it)->t, file, intake_record(it)->line, &row, ok);
	}
	if (rc == ETL_OK && got < 0)
		rc = err->code;
	(void)intake_close(it, NULL);
	return rc;
}

static const struct option check_longopts[] = {
        CLI_GLOBAL_LONGOPTS,
        {"format", required_argument, NULL, OPT_FORMAT},
        CLI_INPUT_LONGOPTS,
        {NULL, 0, NULL, 0},
};

static enum etl_code
check_main(int argc, char **argv, struct global_opts *g, struct cli_input *in,
           struct etl_error *err)
{
	const struct option *longopts = check_longopts;
	enum check_format format = CHECK_TEXT;
	int opt;
	while ((opt = cli_getopt(argc, argv, ":h", longopts, g, in, err)) >= 0) {
		switch (opt) {
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0)
				format = CHECK_TEXT;
			else if (strcmp(optarg, "csv") == 0)
				format = CHECK_CSV;
			else if (strcmp(optarg, "json") == 0)
				format = CHECK_JSON;
			else
				return error_set(err, ETL_EUSAGE, NULL, 0,
				                 "--format: \"%s\" is not text, csv or json",
				                 optarg);
			break;
		}
	}
	if (opt == CLI_STOP)
		return err->code;
	if (optind >= argc)
		return error_set(err, ETL_EUSAGE, NULL, 0, "check: no input file given");
	int nfiles = argc - optind;
	char **specs = argv + optind;
	int stdin_uses = 0;
	for (int i = 0; i < nfiles; i++) {
		const char *file;
		(void)intake_parse_spec(specs[i], &file);
		stdin_uses += strcmp(file, "-") == 0;
	}
	if (stdin_uses > 1)
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "check: stdin ('-') can be read only once");

	struct validator *v = NULL;
	struct check *c = NULL;
	PGconn *conn = NULL;
	char *stdin_path = NULL;
	int *index = NULL;
	enum etl_code rc, worst = ETL_OK;
	struct valid_opts vo = {.sku_pattern = in->sku_pattern,
	                        .timezone = in->timezone,
	                        .allow_future = true,
	                        .fmt = in->fmt};
	rc = valid_open(&v, &vo, err);
	if (rc != ETL_OK)
		goto out;
	/* Pass 2 reads stdin again: keep a copy. */
	if (stdin_uses > 0 && (rc = input_spool_stdin(&stdin_path, err)) != ETL_OK)
		goto out;
	struct intake_opts io = {.enc = in->enc,
	                         .delim = in->delim,
	                         .v = v,
	                         .max_rejects = -1,
	                         .stdin_path = stdin_path,
	                         .cm = &in->cm,
	                         .case_variants = true};
	c = check_new();
	index = calloc((size_t)nfiles, sizeof *index);
	if (c == NULL || index == NULL) {
		rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
		goto out;
	}
	bool kinds[KIND_COUNT] = {false};
	for (int i = 0; i < nfiles; i++) {
		struct intake *it = NULL;
		struct etl_error ferr;
		error_clear(&ferr);
		index[i] = -1;
		enum etl_code frc = intake_open(&it, specs[i], &io, &ferr);
		if (frc == ETL_OK) {
			index[i] = check_file(c, intake_name(it));
			kinds[intake_kind(it)] = true;
			frc = pass1(c, it, v, index[i], g->quiet, &ferr);
		}
		(void)intake_close(it, NULL);
		if (frc == ETL_ESYSTEM) {
			*err = ferr;
			rc = frc;
			goto out;
		}
		if (frc != ETL_OK) {
			error_print(&ferr);
			worst = error_worst(worst, frc);
		}
	}

	struct etl_error derr;
	error_clear(&derr);
	conn = db_open(g->db, &derr);
	if (conn == NULL) {
		char why[1200];
		derr.msg[strcspn(derr.msg, "\n")] = '\0'; /* without libpq's hint */
		(void)snprintf(why, sizeof why,
		               "no database reachable (%s): only duplicates within and across the "
		               "files were checked",
		               derr.msg);
		check_set_database(c, false, why);
		if (format != CHECK_TEXT) /* the text report says it in its header */
			warnx_etl("%s", why);
	} else {
		rc = read_database(conn, c, kinds, err);
		if (rc != ETL_OK)
			goto out;
		check_set_database(c, true, NULL);
		for (int i = 0; i < nfiles; i++) {
			if (index[i] < 0 || !check_needs_pass2(c, index[i]))
				continue;
			rc = pass2(c, specs[i], &io, index[i], err);
			if (rc != ETL_OK)
				goto out;
		}
	}
	int found = 0;
	rc = check_report(c, stdout, format, &found, err);
	if (rc == ETL_OK)
		rc = error_worst(worst, found > 0 ? ETL_REJECTED : ETL_OK);
out:
	PQfinish(conn);
	check_free(c);
	valid_close(v);
	free(index);
	free(stdin_path);
	return rc;
}

enum etl_code
cmd_check(int argc, char **argv, struct global_opts *g, struct etl_error *err)
{
	return cli_run_with_profile(argc, argv, g, check_longopts, cli_load_only, check_main, err);
}
