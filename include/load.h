/*
 * load.h — the load of a run's files: intake, then the database, in
 * dependency order; shared by `load` and `seed`.
 */
#ifndef SIPREMS_LOAD_H
#define SIPREMS_LOAD_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "copy.h"
#include "error.h"
#include "input.h"
#include "intake.h"
#include "report.h"
#include "schema.h"

struct load_opts {
	const char *db;  /* --db, or NULL */
	long batch_rows; /* rows per committed batch */
	enum on_conflict on_conflict;
	int64_t max_rejects;      /* < 0: no limit */
	int64_t max_reject_bytes; /* 0: no limit */
#define LOAD_DEFAULT_MAX_REJECTS      100000
#define LOAD_DEFAULT_MAX_REJECT_BYTES (INT64_C(1) << 30)
	const char *reject_dir;
	bool dry_run;
	bool force;
	const char *again_hint; /* how to load a file again ("--force loads it again") */
	bool single_transaction;
	bool allow_future;
	struct file_format format; /* how the files are written */
	bool case_variants;        /* --case-variants allow */
	int jobs;
	long lock_timeout_ms; /* --lock-timeout: the bound of every lock wait; 0: none */
	bool copy_text;       /* --copy-format text: COPY in text form, never binary */
	/* Resolves "builtin:NAME" files (seed's, in memory), or NULL. */
	bool (*builtin)(void *ctx, const char *name, const unsigned char **data, size_t *size);
	void *builtin_ctx;
	bool quiet;    /* no per-row messages */
	bool announce; /* say where the rows go (unless quiet) */
	bool progress; /* a progress line on stderr (only if it is a terminal) */
};

/* The outcome of one file. */
struct load_file {
	struct file_result r; /* counts and status for the summary */
	enum etl_code code;   /* ETL_OK, ETL_REJECTED, ETL_EINPUT, ETL_EDB, ETL_ESTOPPED… */
	char *file;           /* owned strings behind r */
	struct input_id id;   /* what file was when its load began */
	char *reject_file;
	char *shown[10]; /* the first reject reasons, "LINE: reason" */
	int nshown;
	struct etl_error error; /* why the file failed or stopped */
};

struct load_run {
	struct load_file *files; /* in the order they were loaded */
	int nfiles;
	bool database_checked; /* dry run: SKUs were checked against a database */
	bool read_as_utf8;     /* --encoding utf-8 (another one is worth suggesting) */
};

/* Sets the documented defaults (--help, the man page). */
void load_opts_default(struct load_opts *o);

/*
 * Loads (or, with dry_run, only validates) the files named by specs
 * (intake_spec()).  Fills run; the caller frees it with load_run_free().
 * Returns the most severe outcome over the files (ETL_OK, ETL_REJECTED,
 * ETL_EINPUT, ETL_EDB, ETL_ESTOPPED), or ETL_EUSAGE / ETL_EDB / ETL_ESYSTEM
 * with err set for what stops the whole run before any file.
 */
enum etl_code load_files(const struct load_opts *o, const struct file_spec *specs, int nspecs,
                         struct load_run *run, struct etl_error *err);

void load_run_free(struct load_run *run);

/*
 * The order the files of a run load in (and check reads them in): by kind
 * (users, products, events, then the sales that name them; a file not
 * opened, kind -1, first), then as given on the command line.  A qsort
 * comparison of two files by their kinds and positions.
 */
int load_order(int kind_a, int order_a, int kind_b, int order_b);

/*
 * Ensures the schema on conn as a load does, saying on stderr (unless
 * quiet) what it changed; facts (may be NULL) receives the tables as they
 * are.  Returns ETL_OK or ETL_EDB (see schema_ensure).
 */
enum etl_code load_schema(PGconn *conn, bool quiet, struct schema_facts *facts,
                          struct etl_error *err);

/*
 * Prints a load's outcome: the first reject reasons and the errors of each
 * file (unless quiet), the summary table on stderr, and with summary_json
 * the JSON summary (rc gives its exit_code; err, when rc is an error that
 * stopped the run, its "error", also when no file was reached).  Returns
 * ETL_OK, or ETL_ESYSTEM when the JSON could not be written.
 */
enum etl_code load_report(const struct load_run *run, const struct etl_error *err, bool quiet,
                          bool dry_run, const char *summary_json, enum etl_code rc);

#endif
