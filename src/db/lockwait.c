/*
 * lockwait.c — bounded lock waits, the cycle through the client, and who
 * held the lock a load waited for.
 */
#include "lockwait.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"

bool
lockwait_parse(const char *text, long *ms)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (end == text || errno != 0 || v < 0)
		return false;
	double scale;
	if (*end == '\0' || strcmp(end, "s") == 0)
		scale = 1000;
	else if (strcmp(end, "ms") == 0)
		scale = 1;
	else if (strcmp(end, "min") == 0)
		scale = 60000;
	else
		return false;
	/* PostgreSQL's own limit for the setting (INT_MAX milliseconds). */
	if (v * scale > 2147483647.0)
		return false;
	*ms = (long)(v * scale + 0.5);
	return v == 0 || *ms > 0;
}

bool
lockwait_timed_out(const struct etl_error *err)
{
	return err != NULL && strcmp(err->sqlstate, "55P03") == 0;
}

/* A session as messages name it. */
#define SESSION_TEXT                                                                               \
	"format('pid %s (application %s, %s %s: %s)', a.pid, "                                     \
	"coalesce(nullif(a.application_name, ''), 'unnamed'), "                                    \
	"CASE WHEN l.granted THEN 'holds' ELSE 'waits for' END, l.mode, "                          \
	"left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 160))"

int
lockwait_cycle(PGconn *conn, char *who, size_t size)
{
	/* x waits for this transaction; y, another siprems-etl session, waits
	 * for x (or queues behind its request). */
	PGresult *r = db_query(conn,
	                       "SELECT " SESSION_TEXT " FROM pg_stat_activity a "
	                       "JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted "
	                       "WHERE pg_backend_pid() = ANY (pg_blocking_pids(a.pid)) AND EXISTS ("
	                       "SELECT 1 FROM pg_stat_activity y WHERE y.pid <> pg_backend_pid() "
	                       "AND y.application_name = current_setting('application_name') "
	                       "AND a.pid = ANY (pg_blocking_pids(y.pid))) LIMIT 1",
	                       0, NULL, NULL);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) > 0;
	if (found)
		(void)snprintf(who, size, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return found;
}

void
lockwait_explain(PGconn *conn, const char *table, long timeout_ms, struct etl_error *err)
{
	char holders[700] = "";
	const char *params[1] = {table};
	PGresult *r = db_query(conn,
	                       "SELECT string_agg(s, '; ') FROM (SELECT " SESSION_TEXT
	                       " AS s FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
	                       "WHERE l.locktype = 'relation' AND l.relation = to_regclass($1) "
	                       "AND l.pid <> pg_backend_pid() ORDER BY a.application_name = "
	                       "current_setting('application_name'), l.granted DESC LIMIT 3) q",
	                       1, params, NULL);
	if (r != NULL && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		(void)snprintf(holders, sizeof holders, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	char was[sizeof err->msg];
	(void)snprintf(was, sizeof was, "%s", err->msg);
	char bound[64] = "";
	if (lockwait_timed_out(err))
		(void)snprintf(bound, sizeof bound, " for more than %ld ms (--lock-timeout)",
		               timeout_ms);
	char state[6];
	(void)snprintf(state, sizeof state, "%s", err->sqlstate);
	(void)error_set(err, ETL_ELOCKED, NULL, 0,
	                "%s: another session's lock on %s kept the load waiting%s%s%s; when "
	                "it is gone, run the load again (it resumes), or raise --lock-timeout",
	                was, table, bound, holders[0] ? "; on the table now: " : "", holders);
	(void)snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state);
}

void
lockwait_watch(void *arg, PGconn *conn, long waited_ms)
{
	const struct lockwait_watch *w = arg;
	if (w->quiet)
		return;
	struct etl_error e = {0};
	PGconn *look = db_open(w->db, &e);
	if (look == NULL)
		return;
	char pid[24];
	(void)snprintf(pid, sizeof pid, "%d", PQbackendPID(conn));
	const char *params[1] = {pid};
	/* The lock the statement's session waits for and the sessions ahead
	 * of it (not an advisory lock: the empty-table load's wait for another
	 * is said by copy_fast.c, and bound by no --lock-timeout).  Behind PgBouncer the pid is not
	 * the server's: then the siprems-etl sessions that wait for a lock. */
	PGresult *r = db_query(
	        look,
	        "SELECT coalesce(wl.relation::regclass::text, wl.locktype), "
	        "string_agg(DISTINCT " SESSION_TEXT
	        ", '; ') FROM pg_locks wl JOIN pg_locks l ON l.locktype = "
	        "wl.locktype AND l.database IS NOT DISTINCT FROM wl.database AND l.relation IS "
	        "NOT DISTINCT FROM wl.relation AND l.transactionid IS NOT DISTINCT FROM "
	        "wl.transactionid AND l.pid = ANY (pg_blocking_pids(wl.pid)) JOIN pg_stat_activity "
	        "a ON a.pid = l.pid WHERE NOT wl.granted AND wl.locktype <> 'advisory' AND "
	        "(wl.pid = $1::int OR (NOT EXISTS "
	        "(SELECT 1 FROM pg_stat_activity WHERE pid = $1::int) AND wl.pid IN (SELECT pid "
	        "FROM pg_stat_activity WHERE application_name = "
	        "current_setting('application_name') "
	        "AND pid <> pg_backend_pid()))) GROUP BY 1 ORDER BY 1 LIMIT 1",
	        1, params, &e);
	if (r != NULL && PQntuples(r) == 1) {
		char bound[96];
		if (w->timeout_ms > 0)
			(void)snprintf(bound, sizeof bound,
			               "gives up after %ld ms (--lock-timeout)", w->timeout_ms);
		else
			(void)snprintf(bound, sizeof bound,
			               "waits as long as it takes (--lock-timeout 0)");
		if (isatty(STDERR_FILENO))
			(void)fputs("\r\033[K", stderr); /* the progress line */
		notex_etl("waiting %ld s for a lock on %s: %s; the load %s", waited_ms / 1000,
		          PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), bound);
	}
	PQclear(r);
	PQfinish(look);
}
