/*
 * cmd_check.c — `siprems-etl check [OPTIONS] [KIND=]FILE...`: what a load
 * of these files would do with each row, said before it runs.  Reads the
 * database's keys (and the values an update compares) in one read-only
 * transaction, then each file in the load's order through the load's own
 * intake; check.c decides what becomes of each row.  Writes nothing
 * anywhere but stdout and stderr.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "db.h"
#include "intake.h"
#include "load.h"
#include "refdata.h"
#include "schema.h"

enum {
	OPT_FORMAT = CLI_OPT_FIRST_LOCAL,
	OPT_ON_CONFLICT,
	OPT_CASE_VARIANTS,
	OPT_ALLOW_FUTURE,
	OPT_MAX_REJECTS,
};

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

/* Reads what the database has of the run's kinds: every keyed table's keys
 * and compared values, and the products a sales file may name. */
static enum etl_code
read_database(PGconn *conn, struct check *c, const bool *kinds, struct etl_error *err)
{
	enum etl_code rc = db_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
	for (int k = 0; k < KIND_COUNT && rc == ETL_OK; k++) {
		if (!kinds[k])
			continue;
		const struct table_def *t = table_get((enum kind)k);
		if (t->nkey > 0) {
			struct db_ctx d = {.c = c, .t = t};
			const char *cols[TABLE_MAXCOLS + 2];
			int ncols = check_db_columns(t, cols, TABLE_MAXCOLS + 2);
			rc = refdata_stream(conn, t->table, cols, ncols, on_db_row, &d, NULL, err);
		}
		if (rc == ETL_OK && t->ref_col >= 0)
			rc = refdata_load_refs(conn, t, check_skus(c), err);
	}
	if (rc == ETL_ESYSTEM)
		(void)error_oom(err, NULL, 0);
	PGresult *r = db_run(conn, rc == ETL_OK ? "COMMIT" : "ROLLBACK");
	PQclear(r);
	return rc;
}

/* One file of the run, in its turn. */
struct run_file {
	struct intake *it;
	enum etl_code rc;
	struct etl_error err;
	int order;
};

/* The load's order (load_order()). */
static int
file_cmp(const void *a, const void *b)
{
	const struct run_file *x = a, *y = b;
	return load_order(x->it && x->rc == ETL_OK ? (int)intake_kind(x->it) : -1, x->order,
	                  y->it && y->rc == ETL_OK ? (int)intake_kind(y->it) : -1, y->order);
}

/* Every row of one file: the intake's rejects reach check through its
 * callback, the rows it passes through check_row(). */
static enum etl_code
check_one(struct check *c, struct intake *it, struct etl_error *err)
{
	struct intake_print print;
	enum etl_code rc = intake_fingerprint(it, &print, err);
	if (rc != ETL_OK) {
		check_failed_file(c, intake_name(it), intake_map(it)->t, err->msg);
		return rc;
	}
	if (!check_begin_file(c, intake_name(it), intake_map(it)->t, print.content, print.records))
		return ETL_OK;
	intake_set_known(it, check_known(c));
	int got;
	while ((got = intake_next(it, check_sku_refs(c), err)) == 1) {
		rc = check_row(c, intake_record(it)->line, intake_row(it));
		if (rc != ETL_OK) {
			rc = error_oom(err, intake_name(it), intake_record(it)->line);
			(void)check_end_file(c, err); /* the report says so, whole */
			return rc;
		}
	}
	if (got < 0) {
		(void)check_end_file(c, err);
		return err->code;
	}
	if (got == INTAKE_STOP)
		check_stopped(c, intake_record(it)->line);
	rc = check_end_file(c, NULL);
	if (rc != ETL_OK)
		return error_oom(err, intake_name(it), 0);
	return ETL_OK;
}

static const struct option check_longopts[] = {
        CLI_GLOBAL_LONGOPTS,
        {"format", required_argument, NULL, OPT_FORMAT},
        {"on-conflict", required_argument, NULL, OPT_ON_CONFLICT},
        {"case-variants", required_argument, NULL, OPT_CASE_VARIANTS},
        {"allow-future", no_argument, NULL, OPT_ALLOW_FUTURE},
        {"max-rejects", required_argument, NULL, OPT_MAX_REJECTS},
        CLI_INPUT_LONGOPTS,
        {NULL, 0, NULL, 0},
};

/* What check's command line holds beyond the shared input options. */
struct check_args {
	struct check_opts co;
	bool allow_future;
	int64_t max_rejects;
};

/* Usage is settled before any file is opened.  Returns false when the
 * command is to return err->code at once (ETL_OK after -h). */
static bool
read_check_args(int argc, char **argv, struct global_opts *g, struct cli_input *in,
                struct check_args *a, struct etl_error *err)
{
	a->co = (struct check_opts){.mode = CONFLICT_ERROR, .format = CHECK_TEXT, .out = stdout};
	a->allow_future = false;
	a->max_rejects = LOAD_DEFAULT_MAX_REJECTS; /* the load's default */
	int opt;
	while ((opt = cli_getopt(argc, argv, ":h", check_longopts, g, in, err)) >= 0) {
		enum etl_code rc = ETL_OK;
		switch (opt) {
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0)
				a->co.format = CHECK_TEXT;
			else if (strcmp(optarg, "csv") == 0)
				a->co.format = CHECK_CSV;
			else if (strcmp(optarg, "json") == 0)
				a->co.format = CHECK_JSON;
			else
				rc = error_set(err, ETL_EUSAGE, NULL, 0,
				               "--format: \"%s\" is not text, csv or json", optarg);
			break;
		case OPT_ON_CONFLICT:
			rc = cli_parse_on_conflict(optarg, &a->co.mode, err);
			break;
		case OPT_CASE_VARIANTS:
			rc = cli_parse_case_variants(optarg, &a->co.case_variants, err);
			break;
		case OPT_ALLOW_FUTURE:
			a->allow_future = true;
			break;
		case OPT_MAX_REJECTS:
			rc = cli_parse_max_rejects(optarg, &a->max_rejects, err);
			break;
		}
		if (rc != ETL_OK)
			return false;
	}
	if (opt == CLI_STOP)
		return false;
	if (optind >= argc) {
		(void)error_set(err, ETL_EUSAGE, NULL, 0, "check: no input file given");
		return false;
	}
	return true;
}

/* Every file is opened before the database is read, so that only the kinds
 * the run names are read, and the files are checked in the order the load
 * would take them.  A file that fails to open keeps its error for its turn. */
static void
open_in_load_order(struct run_file *files, const struct file_spec *specs, int nfiles,
                   const struct intake_opts *io, struct check *c, bool kinds[KIND_COUNT])
{
	for (int i = 0; i < nfiles; i++) {
		files[i].order = i;
		error_clear(&files[i].err);
		files[i].rc = intake_open(&files[i].it, &specs[i], io, &files[i].err);
		if (files[i].rc == ETL_OK)
			kinds[intake_kind(files[i].it)] = true;
	}
	qsort(files, (size_t)nfiles, sizeof *files, file_cmp);
	for (int k = 0; k < KIND_COUNT; k++)
		if (kinds[k] && table_get((enum kind)k)->ref_col >= 0)
			check_keep_skus(c, true);
}

/* Without a database the check still finds what the files say of
 * themselves; the report says which check it was. */
static void
say_no_database(struct check *c, enum check_format format, struct etl_error *derr)
{
	char why[1200];
	derr->msg[strcspn(derr->msg, "\n")] = '\0'; /* without libpq's hint */
	(void)snprintf(why, sizeof why,
	               "no database reachable (%s): keys were checked within and across "
	               "the files only",
	               derr->msg);
	check_set_database(c, false, why);
	if (format != CHECK_TEXT) /* the text report says it in its head */
		warnx_etl("%s", why);
}

/* The load's zone: --timezone, else the database's own (what is "later
 * than tomorrow" depends on it). */
static void
take_database_zone(PGconn *conn, struct validator *v, struct etl_error *derr)
{
	PGresult *zr = db_query(conn, "SELECT current_setting('TimeZone')", 0, NULL, derr);
	struct etl_error zerr;
	if (zr != NULL && valid_set_zone(v, PQgetvalue(zr, 0, 0), &zerr) != ETL_OK)
		warnx_etl("the database's TimeZone '%s' is not a zone this machine "
		          "has a "
		          "file for; dates are judged in UTC (--timezone names "
		          "another)",
		          PQgetvalue(zr, 0, 0));
	PQclear(zr);
}

/* The rules of the live tables, then their rows: the run is judged against
 * the database the load would meet.  Returns read_database()'s code. */
static enum etl_code
read_live(PGconn *conn, const char *timezone, struct validator *v, struct check *c,
          const bool *kinds, struct etl_error *derr, struct etl_error *err)
{
	if (timezone == NULL)
		take_database_zone(conn, v, derr);
	/* The limits of the live tables (an app's narrower column). */
	struct schema_facts facts;
	if (schema_ensure(conn, true, NULL, NULL, &facts, derr) == ETL_OK)
		valid_set_live(v, facts.kinds);
	enum etl_code rc = read_database(conn, c, kinds, err);
	if (rc == ETL_OK)
		check_set_database(c, true, NULL);
	return rc;
}

/* Each file in its turn: a file that fails is said and the run goes on, but
 * running out of memory ends it.  Returns the worst of the files' codes and
 * ETL_REJECTED when a row would be rejected, or check_finish()'s code. */
static enum etl_code
check_files(struct check *c, struct run_file *files, int nfiles, const struct file_spec *specs,
            struct etl_error *err)
{
	enum etl_code worst = ETL_OK;
	for (int i = 0; i < nfiles; i++) {
		struct run_file *f = &files[i];
		if (f->rc == ETL_OK)
			f->rc = check_one(c, f->it, &f->err);
		else if (f->rc != ETL_ESYSTEM)
			check_failed_file(c,
			                  f->it != NULL ? intake_name(f->it) : specs[f->order].arg,
			                  NULL, f->err.msg);
		if (f->rc == ETL_ESYSTEM) {
			/* The report still ends (a JSON document stays whole),
			 * with the file it stopped at. */
			uint64_t ignored;
			struct etl_error ferr;
			(void)check_finish(c, &ignored, &ferr);
			*err = f->err;
			return f->rc;
		}
		if (f->rc != ETL_OK) {
			if (f->err.file[0] == '\0' && f->it != NULL)
				(void)snprintf(f->err.file, sizeof f->err.file, "%s",
				               intake_name(f->it));
			error_print(&f->err);
			worst = error_worst(worst, f->rc);
		}
	}
	uint64_t rejects = 0;
	enum etl_code rc = check_finish(c, &rejects, err);
	if (rc == ETL_OK)
		rc = error_worst(worst, rejects > 0 ? ETL_REJECTED : ETL_OK);
	return rc;
}

static enum etl_code
check_main(int argc, char **argv, struct global_opts *g, struct cli_input *in,
           struct etl_error *err)
{
	struct check_args a;
	if (!read_check_args(argc, argv, g, in, &a, err))
		return err->code;
	int nfiles = argc - optind;
	struct file_spec *specs = NULL;
	if (cli_file_specs("check", argv + optind, nfiles, &specs, err) != ETL_OK) {
		free(specs);
		return err->code;
	}

	struct validator *v = NULL;
	struct check *c = NULL;
	PGconn *conn = NULL;
	struct intake_spools spools = {0};
	struct run_file *files = NULL;
	enum etl_code rc;
	struct valid_opts vo = {.sku_pattern = in->format.sku_pattern,
	                        .timezone = in->format.timezone,
	                        .allow_future = a.allow_future,
	                        .fmt = in->format.fmt};
	rc = valid_open(&v, &vo, err);
	if (rc != ETL_OK)
		goto out;
	/* Its fingerprint and its rows read stdin and pipes twice: keep a copy. */
	if ((rc = intake_spool(&spools, specs, nfiles, err)) != ETL_OK)
		goto out;
	c = check_new(&a.co);
	files = calloc((size_t)nfiles, sizeof *files);
	if (c == NULL || files == NULL) {
		rc = error_oom(err, NULL, 0);
		goto out;
	}
	struct intake_opts io = {.format = &in->format,
	                         .v = v,
	                         .unique_keys = true,
	                         .max_rejects = a.max_rejects,
	                         .spools = &spools,
	                         .case_variants = a.co.case_variants,
	                         .on_reject = check_reject,
	                         .reject_ctx = c};
	bool kinds[KIND_COUNT] = {false};
	open_in_load_order(files, specs, nfiles, &io, c, kinds);

	struct etl_error derr;
	error_clear(&derr);
	conn = db_open(g->db, &derr);
	if (conn == NULL) {
		say_no_database(c, a.co.format, &derr);
	} else {
		rc = read_live(conn, in->format.timezone, v, c, kinds, &derr, err);
		if (rc != ETL_OK)
			goto out;
	}
	rc = check_files(c, files, nfiles, specs, err);
out:
	for (int i = 0; files != NULL && i < nfiles; i++)
		(void)intake_close(files[i].it, NULL);
	PQfinish(conn);
	check_free(c);
	valid_close(v);
	free(files);
	free(specs);
	intake_spools_free(&spools);
	return rc;
}

enum etl_code
cmd_check(int argc, char **argv, struct global_opts *g, struct etl_error *err)
{
	return cli_run_with_profile(argc, argv, g, check_longopts, cli_load_run_only, check_main,
	                            err);
}
