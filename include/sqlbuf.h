/*
 * sqlbuf.h — building SQL text in a struct buf.
 *
 * sql_printf() grows the buffer to whatever the statement needs (nothing is
 * cut off); sql_ident() quotes a name with libpq's PQescapeIdentifier, so
 * a table or column name is never pasted into a statement as it is.
 */
#ifndef SIPREMS_SQLBUF_H
#define SIPREMS_SQLBUF_H

#include <libpq-fe.h>

#include "buf.h"

/* Appends the formatted text to b (b->failed when memory runs out). */
void sql_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s. */
void sql_str(struct buf *b, const char *s);

/* A newly allocated quoted identifier for name ("products" ->
 * "\"products\""), or NULL when out of memory; free it with PQfreemem. */
char *sql_ident(PGconn *conn, const char *name);

#endif
