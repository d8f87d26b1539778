/*
 * refdata.h — reference data read from the database for validation: the
 * SKUs of existing products.
 */
#ifndef SIPREMS_REFDATA_H
#define SIPREMS_REFDATA_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "keyset.h"
#include "table.h"

/* Receives one row: values[i] is column i (NULL for SQL NULL), NUL-ended
 * with its length in lens[i].  Returns ETL_OK to go on. */
typedef enum etl_code (*refdata_row_fn)(void *ctx, char *const *values, const size_t *lens, int n);

/*
 * Streams every row of table (columns cols) to fn with COPY TO STDOUT, so
 * that no result set of the whole table is ever held.  *exists (may be NULL)
 * tells whether the table exists; a missing one streams nothing.  Returns
 * ETL_OK, ETL_EDB, ETL_ESYSTEM, or what fn returned.
 */
enum etl_code refdata_stream(PGconn *conn, const char *table, const char *const *cols, int ncols,
                             refdata_row_fn fn, void *ctx, bool *exists, struct etl_error *err);

/*
 * Adds every row that the reference column of kind by can name to refs
 * (for sales: each product's SKU -> product id, price in cents), streaming
 * them with COPY TO STDOUT.  A database without that table adds nothing.
 * Returns ETL_OK, ETL_EDB or ETL_ESYSTEM.
 */
enum etl_code refdata_load_refs(PGconn *conn, const struct table_def *by, struct keyset *refs,
                                struct etl_error *err);

#endif
