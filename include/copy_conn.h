/*
 * copy_conn.h — a connection as the copy sink uses it, the bottom of the
 * copy files: statements, one COPY at a time (text or binary), what the
 * server's errors mean for the rows, and the cancel request that SIGINT
 * sends.  It knows nothing of batches, shadow tables or ids.
 *
 * The sink has one for the load's own connection; the shadow table owns
 * the second (copy_shadow.h).  Lifecycle: conn_attach() (the PGconn stays
 * the caller's unless conn_release() is told to finish it), then any of
 * the calls, then conn_release().
 */
#ifndef SIPREMS_COPY_CONN_H
#define SIPREMS_COPY_CONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define SEND_CHUNK (256 * 1024) /* bytes handed to libpq at a time */

struct sink_conn {
	PGconn *pg;
	PGcancel *cancel; /* what SIGINT sends while a statement runs */
	bool binary;      /* the running COPY is in binary format */
	bool in_copy;     /* a COPY … FROM STDIN is running */
};

/* Takes pg into c, with its cancel request. */
void conn_attach(struct sink_conn *c, PGconn *pg);

/* Frees the cancel request; finish: closes pg too.  c may be unattached. */
void conn_release(struct sink_conn *c, bool finish);

/* Runs a statement expected to return no rows; a cancelled query counts
 * as what it is, a database error. */
enum etl_code conn_exec(struct sink_conn *c, const char *sql, struct etl_error *err);

/* SIGINT cancels c's running statement (conn_arm) or nothing (conn_disarm). */
void conn_arm(const struct sink_conn *c);
void conn_disarm(void);

/* Starts sql, a COPY … FROM STDIN, and with binary sends the binary
 * header: ETL_OK with c in COPY IN state. */
enum etl_code conn_copy_start(struct sink_conn *c, const char *sql, bool binary,
                              struct etl_error *err);

/* Streams n bytes of rows, SEND_CHUNK at a time. */
enum etl_code conn_copy_send(struct sink_conn *c, const char *data, size_t n,
                             struct etl_error *err);

/* Ends the COPY (abort_why: abandoned with that message; else a binary
 * COPY gets its trailer); returns its result, which the caller clears, or
 * NULL when the connection failed. */
PGresult *conn_copy_end(struct sink_conn *c, const char *abort_why);

/* Row-level errors reject rows; anything else stops the batch.  A sequence
 * that ran out (2200H) is the database's problem, not the row's: rejecting
 * every later row would only move the file into its reject file. */
bool conn_row_level(const char *sqlstate);

/* Deadlocks and serialization failures: the batch is tried again. */
bool conn_retryable(const char *sqlstate);

/* Whether r, c's failed result, is about the rows (row-level, or with
 * retry also a deadlock or serialization failure) on a connection that is
 * still up: the rows are refused, the load goes on. */
bool conn_refused(const struct sink_conn *c, const PGresult *r, bool retry);

/* The reason a refused row gets: the server's message and detail. */
void conn_reason(const PGresult *r, char *buf, size_t size);

#endif
