/*
 * schema.h — making sure the database has the guide's schema.
 *
 * The statements of the schema/ SQL files are compiled into the binary.  Each one
 * creates one object (a type, a table, an index, a constraint); before it
 * runs, the catalog is asked whether that object — or an equivalent one under
 * another name, as an app created by SQLAlchemy or Alembic may have — exists
 * already.  Only what is missing is created; nothing is dropped or rewritten.
 * An existing table that lacks a column or has an incompatible type stops the
 * run with a message naming the table and column.
 */
#ifndef SIPREMS_SCHEMA_H
#define SIPREMS_SCHEMA_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "table.h"

/* One embedded file of schema/ (generated into the build directory). */
struct schema_file {
	const char *name;
	const char *sql;
};
extern const struct schema_file schema_files[];
extern const int schema_nfiles;

/* What schema_ensure() did or would do, one line per object. */
struct schema_result {
	char **lines; /* "created table products", "idx_products_sku: present as …" */
	int nlines;
	int applied; /* statements run (or, in a dry run, to run) */
	int checked; /* objects looked at */
};

/* Facts about the live schema that the loader needs. */
struct schema_facts {
	struct live_table kinds[KIND_COUNT];
	bool sales_timestamptz; /* transactions.transaction_date is TIMESTAMPTZ */
	/* The database's spelling of each label of the labelled column
	 * (events.type: an app's enum may spell them in capitals). */
	char event_labels[TABLE_MAXLABELS][64];
};

/*
 * Ensures the schema exists on conn, in one transaction.  With dry_run,
 * nothing is changed and the SQL that would run is written to sql_out
 * (which may be NULL otherwise).  Returns ETL_OK, or ETL_EDB when the server
 * refuses or an existing table is incompatible (err names table and column).
 * res (may be NULL) receives what was done; the caller frees it with
 * schema_result_free().  facts (may be NULL) is filled on success.
 */
enum etl_code schema_ensure(PGconn *conn, bool dry_run, FILE *sql_out, struct schema_result *res,
                            struct schema_facts *facts, struct etl_error *err);

void schema_result_free(struct schema_result *res);

/* Writes every embedded statement, in order, to out (for a dry run without
 * a database). */
void schema_print_all(FILE *out);

#endif
