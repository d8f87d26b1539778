/*
 * lockwait.h — waits on another session's lock: bounded (--lock-timeout),
 * never in a cycle the server cannot see, and named when they end a load.
 *
 * A load's batches on several connections commit in the file's order, so a
 * connection whose batch is done waits, idle in its transaction, for the
 * earlier ones: an edge inside the client.  When another session asks for a
 * lock that the idle transaction holds and an earlier batch queues behind
 * that request, nobody can move; the idle transaction gives way (rolls back)
 * instead.  Every other wait is bounded by lock_timeout in each transaction.
 */
#ifndef SIPREMS_LOCKWAIT_H
#define SIPREMS_LOCKWAIT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define LOCKWAIT_DEFAULT_MS 60000L /* --lock-timeout's default */

/*
 * Parses a --lock-timeout value: a number with an optional unit (ms, s, min;
 * s when none), 0 for no bound.  Returns false when text is none of those.
 */
bool lockwait_parse(const char *text, long *ms);

/* Whether err is the server's lock_timeout (SQLSTATE 55P03). */
bool lockwait_timed_out(const struct etl_error *err);

/*
 * On a transaction that waits on the client (its batch is done, an earlier
 * one is not): 1 when another session waits for a lock it holds while a
 * siprems-etl session waits behind that one, with that session described in
 * who ("pid N (application A, waits for MODE: QUERY)"); 0 when not; -1 when
 * the server could not be asked.
 */
int lockwait_cycle(PGconn *conn, char *who, size_t size);

/*
 * Turns err, a lock wait that ended a load's transaction on table, into
 * ETL_ELOCKED with the sessions that hold or wait for a lock on the table
 * named (read on conn, which must be out of the failed transaction), and
 * what to do.  timeout_ms is the bound that was waited.
 */
void lockwait_explain(PGconn *conn, const char *table, long timeout_ms, struct etl_error *err);

/* What lockwait_watch() needs: the run's --db, its bound, whether to be
 * quiet. */
struct lockwait_watch {
	const char *db;
	long timeout_ms;
	bool quiet;
};

/*
 * A db_wait_fn (db_watch_waits()): when the statement on conn waits for a
 * lock, says for which and who holds it or queues before it (asked on a
 * connection of its own, opened for the look), how long it has waited and
 * when the load gives up.  Says nothing for a statement that is only slow.
 */
void lockwait_watch(void *arg, PGconn *conn, long waited_ms);

#endif
