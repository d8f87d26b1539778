/*
 * rowkey.h — a row's unique key as bytes, the one format that intake's
 * in-file duplicate check, check's key tables and the database comparison
 * share.
 *
 * Text parts are as they are (a COL_NOCASE part, the e-mail, in lower
 * case: an address is one user however it is written), a date part is its
 * day number (8 bytes), and parts are separated by a NUL (text never holds
 * one).
 */
#ifndef SIPREMS_ROWKEY_H
#define SIPREMS_ROWKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#include "table.h"
#include "valid.h"

/*
 * Keys are whole at any length: each function below empties b and writes
 * the whole key into it (b->len bytes; empty for kinds without a key), and
 * returns false only when out of memory.
 */

/* The key of a valid row of t. */
bool rowkey_of_row(const struct table_def *t, const struct valid_row *row, struct buf *b);

/* The key of a database row from its key columns as COPY text (dates in
 * ISO form). */
bool rowkey_of_db(const struct table_def *t, char *const *values, const size_t *lens,
                  struct buf *b);

/* The fold of key (n bytes): each text part trimmed of spaces and
 * lowercased, dates as they are. */
bool rowkey_fold(const struct table_def *t, const char *key, size_t n, struct buf *b);

/* The key as a plain NUL-ended value for reports ("BRD-001",
 * "Nyepi+2024-03-11"); returns its length. */
size_t rowkey_show(const struct table_def *t, const char *key, size_t n, char *out, size_t size);

#endif
