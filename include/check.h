/*
 * check.h — the pre-check: what `load` would do with each row, said before
 * it runs.  No database code: the caller feeds the database's rows, then
 * each file in the load's order through the same intake the load uses
 * (its rejects through check_reject(), each row it passes through
 * check_row()), and asks for the totals.
 *
 * The decision for a row that passes the intake is the load's: its unique
 * key (whole, rowkey.h) against the keys the table holds when the file
 * begins (the database's, and those the run's earlier files insert):
 *   absent                      will be inserted
 *   present, --on-conflict error will be rejected ("already exists")
 *   present, skip               will be skipped
 *   present, update             will update the row, or leave it unchanged
 *                               when it holds the file's values already
 * A file whose content an earlier file of the run has will be skipped as a
 * whole.  Every line that is not a plain insert is written as it is
 * decided; the files' and the run's totals come at the end.
 *
 * Memory grows with the number of distinct keys (and the compared values
 * of the database's rows), never with the number of lines.
 */
#ifndef SIPREMS_CHECK_H
#define SIPREMS_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "copy.h"
#include "error.h"
#include "keyset.h"
#include "table.h"
#include "valid.h"

struct check;

enum check_format { CHECK_TEXT, CHECK_CSV, CHECK_JSON };

struct check_opts {
	enum on_conflict mode;
	bool case_variants; /* --case-variants allow */
	enum check_format format;
	FILE *out;
};

/* A new check; NULL when out of memory. */
struct check *check_new(const struct check_opts *o);
void check_free(struct check *c);

/* ---- the database (before the files) ------------------------------------ */

/*
 * The columns a database row of keyed kind t carries, in check_db_row()'s
 * order: the key columns, then the compared ones.  Writes up to max names.
 */
int check_db_columns(const struct table_def *t, const char **cols, int max);

/* A database row of t: its columns in check_db_columns() order, as COPY
 * text with dates in ISO form (NULL for SQL NULL).  ETL_OK or ETL_ESYSTEM. */
enum etl_code check_db_row(struct check *c, const struct table_def *t, char *const *values,
                           const size_t *lens);

/* The SKU map a sales row is validated against (the caller fills it with
 * the database's products; the run's products files add theirs). */
struct keyset *check_skus(struct check *c);

/* What a sales row's SKU is checked against (intake_next()'s skus): the
 * SKU map, or NULL without a database (SKUs are then not judged). */
struct keyset *check_sku_refs(struct check *c);

/* Whether a file of the run names products (a sales file): only then
 * are the run's products kept for it. */
void check_keep_skus(struct check *c, bool keep);

/* Notes that the database was read (or could not be: checked false, why
 * says so). */
void check_set_database(struct check *c, bool checked, const char *why);

/* ---- the files, in the load's order ----------------------------------------- */

/*
 * Starts a file of kind t whose content fingerprint is content ("" when
 * unknown).  False when an earlier file of the run has the same content:
 * the load skips it as a whole (said, with its records counted), and the
 * caller reads it no further.
 */
bool check_begin_file(struct check *c, const char *name, const struct table_def *t,
                      const char *content, int64_t records);

/* A file that cannot be read (its kind, when known, in t; why it cannot):
 * the load fails it too (exit 3), and the report says so. */
void check_failed_file(struct check *c, const char *name, const struct table_def *t,
                       const char *why);

/* The keys t's table holds when the current file begins (for the intake's
 * case-variant check). */
struct keyset *check_known(struct check *c);

/* The intake rejected line (intake_opts.on_reject; ctx is the check). */
void check_reject(void *ctx, long line, const char *reason);

/* The load stops the current file after line (--max-rejects): what
 * follows it is not read. */
void check_stopped(struct check *c, long line);

/* A row the intake passed, at line. */
enum etl_code check_row(struct check *c, long line, const struct valid_row *row);

/* Ends the current file: its keys join those the table holds.  A file that
 * could not be read to its end (err) is said so. */
enum etl_code check_end_file(struct check *c, const struct etl_error *failed);

/*
 * The totals; *rejects is the number of rows the load would reject.
 * Returns ETL_OK or ETL_ESYSTEM (out of memory, or the output could not be
 * written).
 */
enum etl_code check_finish(struct check *c, uint64_t *rejects, struct etl_error *err);

#endif
