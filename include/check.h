/*
 * check.h — the duplicate-key pre-check: what would collide, where, with
 * what.  No database code: the caller feeds keys from the files and rows
 * from the database, then asks for the findings.
 *
 * Findings, per kind with a unique key (products sku, users email, events
 * event_name+event_date):
 *   in_file       a key repeated inside one file (every occurrence)
 *   cross_file    a key in several files of the run
 *   database      a key that exists in the database; the detail says which
 *                 column values differ between the file and that row
 *   case_variant  keys that differ only in letter case or surrounding
 *                 spaces, within the files or against the database
 * and for sales files:
 *   unknown_sku   a SKU no product has (in the database or the run's
 *                 products files), with its count and first lines.
 *
 * Memory grows with the number of distinct keys: per key its first place
 * and count; further places only for keys that repeat.
 */
#ifndef SIPREMS_CHECK_H
#define SIPREMS_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "table.h"
#include "valid.h"

struct check;

enum check_format { CHECK_TEXT, CHECK_CSV, CHECK_JSON };

/* A new, empty check; NULL when out of memory. */
struct check *check_new(void);
void check_free(struct check *c);

/* Registers an input file; returns its index (for check_key). */
int check_file(struct check *c, const char *name);

/*
 * Pass 1: a row of a keyed kind, identified by its validated values.
 * Returns ETL_OK or ETL_ESYSTEM.
 */
enum etl_code check_key(struct check *c, const struct table_def *t, int file, long line,
                        const struct valid_row *row);

/* Pass 1: the reference of a row of t, a kind without a key (a sale's SKU). */
enum etl_code check_ref(struct check *c, const struct table_def *t, int file, long line,
                        const char *value, size_t n);

/*
 * The columns a database row of t carries, in check_db_row()'s order:
 * the key columns, then the compared ones.  Writes up to max column names.
 */
int check_db_columns(const struct table_def *t, const char **cols, int max);

/*
 * A database row of t: values are its columns in check_db_columns() order,
 * as COPY text (NULL as "\N").  Returns ETL_OK or ETL_ESYSTEM.
 */
enum etl_code check_db_row(struct check *c, const struct table_def *t, char *const *values,
                           const size_t *lens);

/* The database has the row that value, a reference of keyless kind t,
 * names (a product with this SKU). */
void check_db_ref(struct check *c, const struct table_def *t, const char *value, size_t n);

/* Whether pass 2 is needed for file (some key of it exists in the
 * database and first appears there). */
bool check_needs_pass2(const struct check *c, int file);

/* Pass 2: a row at its place; if it is the first occurrence of a key that
 * the database has, its values are compared with the database row's.
 * ok[i] says whether column i of the kind validated. */
enum etl_code check_compare(struct check *c, const struct table_def *t, int file, long line,
                            const struct valid_row *row, const bool *ok);

/* Notes that the database was read (or could not be: database_checked false). */
void check_set_database(struct check *c, bool checked, const char *why);

/*
 * Writes the report; *found is the number of findings.  Returns ETL_OK or
 * ETL_ESYSTEM when out could not be written.
 */
enum etl_code check_report(struct check *c, FILE *out, enum check_format f, int *found,
                           struct etl_error *err);

#endif
