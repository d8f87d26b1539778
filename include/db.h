/*
 * db.h — connecting to PostgreSQL and running statements, with errors that
 * say what was tried and never show a password.
 *
 * Only the database modules (db, schema, copy, ledger…) include libpq-fe.h.
 */
#ifndef SIPREMS_DB_H
#define SIPREMS_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "dbconf.h"
#include "error.h"

/*
 * Connects with the settings of c.  On failure returns NULL and fills err
 * with ETL_EDB and a message naming the host, port, database and user that
 * were tried and where the settings came from.  The caller PQfinish()es the
 * connection.
 */
PGconn *db_connect(const struct dbconf *c, struct etl_error *err);

/*
 * Resolves the connection settings (see dbconf.h; .env is read from the
 * current directory) and connects.  Returns the connection, or NULL with
 * ETL_EDB (or ETL_ESYSTEM) in err.
 */
PGconn *db_open(const char *db_option, struct etl_error *err);

/* "database \"x\" as user \"y\" on host h port p": for messages; never
 * contains the password. */
void db_describe(PGconn *conn, char *buf, size_t size);

/* Says on stderr where the rows go ("siprems-etl: target: database …"),
 * once at the start of a command that writes; never the password. */
void db_announce(PGconn *conn);

/*
 * Runs sql (one or more statements, no parameters) and expects no rows.
 * Returns ETL_OK, or ETL_EDB with the server's message in err.
 */
enum etl_code db_exec(PGconn *conn, const char *sql, struct etl_error *err);

/*
 * Runs sql with text parameters and returns its result when it succeeded
 * (PGRES_TUPLES_OK or PGRES_COMMAND_OK); else NULL with ETL_EDB in err.  The
 * caller PQclear()s the result.
 */
PGresult *db_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
                   struct etl_error *err);

/* Fills err from a failed result (or from the connection when res is NULL):
 * the primary message, then DETAIL and HINT.  Returns ETL_EDB. */
enum etl_code db_error(PGconn *conn, const PGresult *res, const char *what, struct etl_error *err);

/* The SQLSTATE of a failed result, or "" */
const char *db_sqlstate(const PGresult *res);

/*
 * PQexec() and PQexecParams(), that with --verbose also print the statement
 * (on one line, cut at 300 characters) and how long it took.  Every
 * statement siprems-etl sends goes through one of these.
 */
PGresult *db_run(PGconn *conn, const char *sql);
PGresult *db_run_params(PGconn *conn, const char *sql, int nparams, const Oid *types,
                        const char *const *values, const int *lengths, const int *formats,
                        int result_format);

/*
 * While a statement of db_run() or db_run_params() runs longer than
 * first_ms, fn(arg, conn, waited) is called from the thread that waits, and
 * again every every_ms until it ends (the load says who it waits for).
 * fn NULL: none.  Set before the threads that run statements start.
 */
typedef void (*db_wait_fn)(void *arg, PGconn *conn, long waited_ms);
void db_watch_waits(db_wait_fn fn, void *arg, long first_ms, long every_ms);

/*
 * db_run(), db_exec() and db_query() of a statement formatted from fmt,
 * made as long as it needs (never cut short).  Out of memory: db_runf()
 * returns NULL, the others ETL_ESYSTEM / NULL with err set.
 */
PGresult *db_runf(PGconn *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum etl_code db_execf(PGconn *conn, struct etl_error *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
PGresult *db_queryf(PGconn *conn, int nparams, const char *const *params, struct etl_error *err,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* True when the connection was lost (server gone, socket closed). */
bool db_connection_lost(PGconn *conn);

/* Whether conn is a Citus coordinator: the citus extension exists in its
 * database and citus_is_coordinator() says so (false on any failure). */
bool db_citus_coordinator(PGconn *conn);

/* Whether table is one of Citus's (*yes; false without Citus): any of its
 * tables, or with split only one split into shards (not a reference or a
 * local one).  ETL_OK, or ETL_EDB (in err, which may be NULL). */
enum etl_code db_citus_table(PGconn *conn, const char *table, bool split, bool *yes,
                             struct etl_error *err);

#endif
