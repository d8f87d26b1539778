/*
 * db.c — connections and statements.
 */
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
db_describe(PGconn *conn, char *buf, size_t size)
{
	const char *host = PQhost(conn), *port = PQport(conn);
	const char *db = PQdb(conn), *user = PQuser(conn);
	if (host == NULL || host[0] == '\0')
		host = "(default socket)";
	(void)snprintf(buf, size, "database \"%s\" as user \"%s\" on host %s port %s", db ? db : "",
	               user ? user : "", host, port && port[0] ? port : "5432");
}

void
db_announce(PGconn *conn)
{
	char where[512];
	db_describe(conn, where, sizeof where);
	(void)fprintf(stderr, "siprems-etl: target: %s\n", where);
}

/* Copies the line at msg (up to its newline) into buf. */
static void
copy_line(const char *msg, char *buf, size_t size)
{
	size_t n = strcspn(msg, "\n");
	if (n >= size)
		n = size - 1;
	memcpy(buf, msg, n);
	buf[n] = '\0';
}

/* Copies the first line of a libpq message, without "FATAL:  " noise. */
static void
first_line(const char *msg, char *buf, size_t size)
{
	if (msg == NULL)
		msg = "";
	if (strncmp(msg, "FATAL:  ", 8) == 0 || strncmp(msg, "ERROR:  ", 8) == 0)
		msg += 8;
	copy_line(msg, buf, size);
}

/* libpq's advice after the failure ("\tIs the server running locally and
 * accepting connections on that socket?"), or "". */
static void
hint_line(const char *msg, char *buf, size_t size)
{
	const char *p = msg ? strstr(msg, "\n\t") : NULL;
	copy_line(p ? p + 2 : "", buf, size);
}

/* Server messages below WARNING ("relation already exists, skipping") are
 * not news; warnings are printed.  A receiver, not a SET of
 * client_min_messages: no session setting outlives a transaction. */
static void
notices(void *arg, const PGresult *res)
{
	(void)arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	if (sev == NULL || strcmp(sev, "NOTICE") == 0 || strcmp(sev, "INFO") == 0 ||
	    strcmp(sev, "LOG") == 0 || strcmp(sev, "DEBUG") == 0)
		return;
	(void)fprintf(stderr, "siprems-etl: server: %s", PQresultErrorMessage(res));
}

PGconn *
db_connect(const struct dbconf *c, struct etl_error *err)
{
	/* client_encoding goes in the startup packet, which poolers such as
	 * PgBouncer track per client (a SET would stay on the server
	 * connection for its next client). */
	const char *keywords[DBCONF_MAX + 2], *values[DBCONF_MAX + 2];
	int n = 0;
	for (; c->keywords[n] != NULL; n++) {
		keywords[n] = c->keywords[n];
		values[n] = c->values[n];
	}
	keywords[n] = "client_encoding";
	values[n++] = "UTF8";
	keywords[n] = values[n] = NULL;
	PGconn *conn = PQconnectdbParams(keywords, values, 1);
	if (conn == NULL) {
		(void)error_oom(err, NULL, 0);
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		char where[512], why[512];
		db_describe(conn, where, sizeof where);
		/* libpq may report several attempts (IPv6 then IPv4); the last
		 * line that says something is the one that matters most, but
		 * the first names the failure plainly. */
		char hint[256];
		first_line(PQerrorMessage(conn), why, sizeof why);
		hint_line(PQerrorMessage(conn), hint, sizeof hint);
		(void)error_set(err, ETL_EDB, NULL, 0,
		                "cannot connect to %s (settings from %s): %s%s%s", where, c->source,
		                why, hint[0] ? "\nsiprems-etl: hint: " : "", hint);
		PQfinish(conn);
		return NULL;
	}
	if (etl_verbose) {
		char where[512];
		db_describe(conn, where, sizeof where);
		int v = PQserverVersion(conn);
		/* 150020 is 15.20; before 10, 90624 was 9.6.24. */
		if (v >= 100000)
			verbosex_etl("connected to %s (settings from %s), PostgreSQL %d.%d", where,
			             c->source, v / 10000, v % 10000);
		else
			verbosex_etl("connected to %s (settings from %s), PostgreSQL %d.%d.%d",
			             where, c->source, v / 10000, v / 100 % 100, v % 100);
	}
	(void)PQsetNoticeReceiver(conn, notices, NULL);
	return conn;
}

PGconn *
db_open(const char *db_option, struct etl_error *err)
{
	struct dbconf c;
	if (dbconf_resolve(&c, db_option, dbconf_real_getenv, NULL, ".env", err) != ETL_OK)
		return NULL;
	PGconn *conn = db_connect(&c, err);
	dbconf_free(&c);
	return conn;
}

const char *
db_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return s ? s : "";
}

enum etl_code
db_error(PGconn *conn, const PGresult *res, const char *what, struct etl_error *err)
{
	char msg[768] = "";
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (primary != NULL) {
		const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		(void)snprintf(msg, sizeof msg, "%s%s%s%s", primary, detail ? " (" : "",
		               detail ? detail : "", detail ? ")" : "");
		if (hint != NULL) {
			size_t n = strlen(msg);
			(void)snprintf(msg + n, sizeof msg - n, "; hint: %s", hint);
		}
	} else {
		first_line(PQerrorMessage(conn), msg, sizeof msg);
		if (msg[0] == '\0')
			(void)snprintf(msg, sizeof msg, "unknown error");
	}
	if (what != NULL && what[0] != '\0')
		(void)error_set(err, ETL_EDB, NULL, 0, "%s: %s", what, msg);
	else
		(void)error_set(err, ETL_EDB, NULL, 0, "%s", msg);
	if (err != NULL)
		(void)snprintf(err->sqlstate, sizeof err->sqlstate, "%s", db_sqlstate(res));
	return ETL_EDB;
}

enum etl_code
db_exec(PGconn *conn, const char *sql, struct etl_error *err)
{
	PGresult *res = db_run(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	enum etl_code rc = ETL_OK;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = db_error(conn, res, NULL, err);
	PQclear(res);
	return rc;
}

PGresult *
db_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
         struct etl_error *err)
{
	PGresult *res = db_run_params(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		(void)db_error(conn, res, NULL, err);
		PQclear(res);
		return NULL;
	}
	return res;
}

bool
db_connection_lost(PGconn *conn)
{
	return PQstatus(conn) == CONNECTION_BAD;
}

static double
now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Prints one statement and its duration, on one line. */
static void
show_statement(const char *sql, double ms, const PGresult *res)
{
	char line[320];
	size_t n = 0;
	bool space = false;
	for (const char *p = sql; *p != '\0' && n < 300; p++) {
		bool ws = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
		if (ws) {
			space = n > 0;
			continue;
		}
		if (space)
			line[n++] = ' ';
		space = false;
		line[n++] = *p;
	}
	line[n] = '\0';
	const char *status = PQresStatus(PQresultStatus(res));
	verbosex_etl("sql %.1f ms %s: %s%s", ms, status, line, n >= 300 ? " …" : "");
}

/* The watch on long statements (db_watch_waits()). */
static db_wait_fn watch_fn;
static void *watch_arg;
static long watch_first_ms, watch_every_ms;
static _Thread_local bool watching; /* the watch's own statements are not watched */

void
db_watch_waits(db_wait_fn fn, void *arg, long first_ms, long every_ms)
{
	watch_fn = fn;
	watch_arg = arg;
	watch_first_ms = first_ms;
	watch_every_ms = every_ms;
}

/*
 * The results of a statement sent, as PQexec() gives them: the last one,
 * or the first error, or a COPY's; while it runs the watch is called after
 * watch_first_ms and every watch_every_ms from then on.
 */
static PGresult *
watched_results(PGconn *conn, double t0)
{
	double next = t0 + (double)watch_first_ms;
	int sock = PQsocket(conn);
	while (PQisBusy(conn)) {
		double now = now_ms();
		if (now >= next) {
			watching = true;
			watch_fn(watch_arg, conn, (long)(now - t0));
			watching = false;
			next = now + (double)watch_every_ms;
			continue;
		}
		struct pollfd p = {.fd = sock, .events = POLLIN};
		int n = poll(&p, 1, (int)(next - now) + 1);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && PQconsumeInput(conn) == 0)
			break; /* the connection failed: PQgetResult says so */
	}
	PGresult *last = NULL, *r;
	while ((r = PQgetResult(conn)) != NULL) {
		ExecStatusType st = PQresultStatus(r);
		if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
			PQclear(r);
			continue;
		}
		PQclear(last);
		last = r;
		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH ||
		    PQstatus(conn) == CONNECTION_BAD)
			break;
	}
	return last;
}

/* What PQexec() does first: the results of a statement before are read. */
static void
drain(PGconn *conn)
{
	if (PQtransactionStatus(conn) != PQTRANS_ACTIVE)
		return;
	PGresult *r;
	while ((r = PQgetResult(conn)) != NULL) {
		ExecStatusType st = PQresultStatus(r);
		PQclear(r);
		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)
			break;
	}
}

PGresult *
db_run(PGconn *conn, const char *sql)
{
	double t0 = now_ms();
	PGresult *res;
	if (watch_fn == NULL || watching) {
		res = PQexec(conn, sql);
	} else {
		drain(conn);
		res = PQsendQuery(conn, sql) ? watched_results(conn, t0) : NULL;
	}
	if (etl_verbose)
		show_statement(sql, now_ms() - t0, res);
	return res;
}

PGresult *
db_run_params(PGconn *conn, const char *sql, int nparams, const Oid *types,
              const char *const *values, const int *lengths, const int *formats, int result_format)
{
	double t0 = now_ms();
	PGresult *res;
	if (watch_fn == NULL || watching) {
		res = PQexecParams(conn, sql, nparams, types, values, lengths, formats,
		                   result_format);
	} else {
		drain(conn);
		int sent = PQsendQueryParams(conn, sql, nparams, types, values, lengths, formats,
		                             result_format);
		res = sent ? watched_results(conn, t0) : NULL;
	}
	if (etl_verbose)
		show_statement(sql, now_ms() - t0, res);
	return res;
}

/* The statement fmt makes, newly allocated; NULL when memory runs out. */
static char *format_sql(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *
format_sql(const char *fmt, va_list ap)
{
	char *sql;
	return vasprintf(&sql, fmt, ap) < 0 ? NULL : sql;
}

PGresult *
db_runf(PGconn *conn, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = format_sql(fmt, ap);
	va_end(ap);
	PGresult *r = sql != NULL ? db_run(conn, sql) : NULL;
	free(sql);
	return r;
}

enum etl_code
db_execf(PGconn *conn, struct etl_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = format_sql(fmt, ap);
	va_end(ap);
	enum etl_code rc = sql != NULL ? db_exec(conn, sql, err) : error_oom(err, NULL, 0);
	free(sql);
	return rc;
}

PGresult *
db_queryf(PGconn *conn, int nparams, const char *const *params, struct etl_error *err,
          const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = format_sql(fmt, ap);
	va_end(ap);
	PGresult *r = NULL;
	if (sql == NULL)
		(void)error_oom(err, NULL, 0);
	else
		r = db_query(conn, sql, nparams, params, err);
	free(sql);
	return r;
}

/* One yes/no question; false also when it fails. */
static bool
db_yes(PGconn *conn, const char *sql)
{
	PGresult *r = db_query(conn, sql, 0, NULL, NULL);
	bool v = r != NULL && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return v;
}

bool
db_citus_coordinator(PGconn *conn)
{
	return db_yes(conn, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')") &&
	       db_yes(conn, "SELECT citus_is_coordinator()");
}

enum etl_code
db_citus_table(PGconn *conn, const char *table, bool split, bool *yes, struct etl_error *err)
{
	const char *params[1] = {table};
	*yes = false;
	PGresult *r =
	        db_query(conn, "SELECT to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL", 0,
	                 NULL, err);
	if (r == NULL)
		return ETL_EDB;
	bool has = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!has)
		return ETL_OK;
	r = db_query(conn,
	             split ? "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE "
	                     "logicalrelid = to_regclass($1) AND partmethod <> 'n')"
	                   : "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE "
	                     "logicalrelid = to_regclass($1))",
	             1, params, err);
	if (r == NULL)
		return ETL_EDB;
	*yes = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return ETL_OK;
}
