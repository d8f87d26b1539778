/*
 * ledger.c — etl_loads.
 */
#include "ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#ifndef ETL_VERSION
#define ETL_VERSION "dev"
#endif

/* The lock key: both halves of a 64-bit hash of "fingerprint:kind". */
static void
lock_key(const char *fingerprint, const char *kind, char *buf, size_t size)
{
	(void)snprintf(buf, size, "%s:%s", fingerprint, kind);
}

enum etl_code
ledger_lock(PGconn *conn, const char *fingerprint, const char *kind, bool *waited,
            struct etl_error *err)
{
	char key[128];
	lock_key(fingerprint, kind, key, sizeof key);
	const char *params[1] = {key};
	*waited = false;
	PGresult *r = db_query(conn, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", 1,
	                       params, err);
	if (r == NULL)
		return ETL_EDB;
	bool got = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (got)
		return ETL_OK;
	*waited = true;
	r = db_query(conn, "SELECT pg_advisory_lock(hashtextextended($1, 0))", 1, params, err);
	if (r == NULL)
		return ETL_EDB;
	PQclear(r);
	return ETL_OK;
}

void
ledger_unlock(PGconn *conn, const char *fingerprint, const char *kind)
{
	char key[128];
	lock_key(fingerprint, kind, key, sizeof key);
	const char *params[1] = {key};
	PGresult *r = db_run_params(conn, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", 1,
	                           NULL, params, NULL, NULL, 0);
	PQclear(r);
}

static int64_t
num(PGresult *r, int col)
{
	return PQgetisnull(r, 0, col) ? 0 : strtoll(PQgetvalue(r, 0, col), NULL, 10);
}

enum etl_code
ledger_latest(PGconn *conn, const char *fingerprint, const char *kind, struct ledger *e,
              bool *found, struct etl_error *err)
{
	const char *params[2] = {fingerprint, kind};
	memset(e, 0, sizeof *e);
	(void)snprintf(e->fingerprint, sizeof e->fingerprint, "%s", fingerprint);
	(void)snprintf(e->kind, sizeof e->kind, "%s", kind);
	*found = false;
	PGresult *r = db_query(conn,
	                       "SELECT load_id, status, records_done, rows_read, rows_loaded, "
	                       "rows_updated, rows_skipped, rows_rejected, reject_bytes, "
	                       "coalesce(reject_file, ''), attempts FROM etl_loads "
	                       "WHERE fingerprint = $1 AND kind = $2 ORDER BY load_id DESC LIMIT 1",
	                       2, params, err);
	if (r == NULL)
		return ETL_EDB;
	if (PQntuples(r) == 1) {
		*found = true;
		e->load_id = num(r, 0);
		(void)snprintf(e->status, sizeof e->status, "%s", PQgetvalue(r, 0, 1));
		e->records_done = num(r, 2);
		e->rows_read = num(r, 3);
		e->rows_loaded = num(r, 4);
		e->rows_updated = num(r, 5);
		e->rows_skipped = num(r, 6);
		e->rows_rejected = num(r, 7);
		e->reject_bytes = num(r, 8);
		(void)snprintf(e->reject_file, sizeof e->reject_file, "%s", PQgetvalue(r, 0, 9));
		e->attempts = (int)num(r, 10);
	}
	PQclear(r);
	return ETL_OK;
}

bool
ledger_completed(const struct ledger *e)
{
	return strcmp(e->status, "loaded") == 0 || strcmp(e->status, "partial") == 0;
}

enum etl_code
ledger_start(PGconn *conn, struct ledger *e, const char *file_name, int64_t file_bytes,
             const char *on_conflict, struct etl_error *err)
{
	char bytes[24];
	(void)snprintf(bytes, sizeof bytes, "%lld", (long long)file_bytes);
	const char *params[6] = {e->fingerprint, e->kind,
	                         on_conflict,    file_bytes >= 0 ? bytes : NULL,
	                         file_name,      ETL_VERSION};
	PGresult *r = db_query(conn,
	                       "INSERT INTO etl_loads (fingerprint, kind, on_conflict, file_bytes, "
	                       "file_name, status, etl_version) "
	                       "VALUES ($1, $2, $3, $4, $5, 'running', $6) RETURNING load_id",
	                       6, params, err);
	if (r == NULL)
		return ETL_EDB;
	e->load_id = num(r, 0);
	(void)snprintf(e->status, sizeof e->status, "running");
	e->attempts = 1;
	PQclear(r);
	return ETL_OK;
}

enum etl_code
ledger_resume(PGconn *conn, struct ledger *e, struct etl_error *err)
{
	char id[24];
	(void)snprintf(id, sizeof id, "%lld", (long long)e->load_id);
	const char *params[1] = {id};
	PGresult *r = db_query(conn,
	                       "UPDATE etl_loads SET status = 'running', attempts = attempts + 1, "
	                       "updated_at = now(), finished_at = NULL, message = NULL "
	                       "WHERE load_id = $1",
	                       1, params, err);
	if (r == NULL)
		return ETL_EDB;
	PQclear(r);
	e->attempts++;
	(void)snprintf(e->status, sizeof e->status, "running");
	return ETL_OK;
}

enum etl_code
ledger_checkpoint(PGconn *conn, const struct ledger *e, struct etl_error *err)
{
	char v[9][24];
	const int64_t nums[9] = {e->load_id,       e->records_done, e->rows_read,
	                         e->rows_loaded,   e->rows_updated, e->rows_skipped,
	                         e->rows_rejected, e->reject_bytes, 0};
	for (int i = 0; i < 8; i++)
		(void)snprintf(v[i], sizeof v[i], "%lld", (long long)nums[i]);
	const char *params[9] = {v[0], v[1], v[2],
	                         v[3], v[4], v[5],
	                         v[6], v[7], e->reject_file[0] ? e->reject_file : NULL};
	PGresult *r = db_query(conn,
	                       "UPDATE etl_loads SET records_done = $2, rows_read = $3, "
	                       "rows_loaded = $4, rows_updated = $5, rows_skipped = $6, "
	                       "rows_rejected = $7, reject_bytes = $8, reject_file = $9, "
	                       "updated_at = now() WHERE load_id = $1",
	                       9, params, err);
	if (r == NULL)
		return ETL_EDB;
	PQclear(r);
	return ETL_OK;
}

enum etl_code
ledger_finish(PGconn *conn, const struct ledger *e, const char *status, const char *message,
              struct etl_error *err)
{
	char id[24];
	(void)snprintf(id, sizeof id, "%lld", (long long)e->load_id);
	const char *params[3] = {id, status, message};
	enum etl_code rc = db_exec(conn, "SET synchronous_commit = on", err);
	if (rc != ETL_OK)
		return rc;
	PGresult *r =
	        db_query(conn,
	                 "UPDATE etl_loads SET status = $2, message = $3, updated_at = now(), "
	                 "finished_at = CASE WHEN $2 IN ('loaded', 'partial') THEN now() END "
	                 "WHERE load_id = $1",
	                 3, params, err);
	if (r == NULL)
		rc = ETL_EDB;
	PQclear(r);
	enum etl_code rc2 = db_exec(conn, "SET synchronous_commit = off", err);
	return rc != ETL_OK ? rc : rc2;
}

static void
copy_field(char *dst, size_t size, PGresult *r, int row, int col)
{
	(void)snprintf(dst, size, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

enum etl_code
ledger_list(PGconn *conn, int limit, struct ledger_row **rows, int *n, struct etl_error *err)
{
	*rows = NULL;
	*n = 0;
	PGresult *r = db_query(conn, "SELECT to_regclass('etl_loads') IS NOT NULL", 0, NULL, err);
	if (r == NULL)
		return ETL_EDB;
	bool exists = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!exists)
		return ETL_OK;
	char lim[16];
	(void)snprintf(lim, sizeof lim, "%d", limit);
	const char *params[1] = {lim};
	r = db_query(
	        conn,
	        "SELECT load_id, file_name, kind, status, fingerprint, rows_read, rows_loaded, "
	        "rows_updated, rows_skipped, rows_rejected, "
	        "to_char(started_at, 'YYYY-MM-DD\"T\"HH24:MI:SSOF'), "
	        "to_char(finished_at, 'YYYY-MM-DD\"T\"HH24:MI:SSOF'), "
	        "extract(epoch FROM coalesce(finished_at, updated_at) - started_at), attempts, "
	        "coalesce(message, ''), coalesce(reject_file, '') "
	        "FROM etl_loads ORDER BY load_id DESC LIMIT $1::int",
	        1, params, err);
	if (r == NULL)
		return ETL_EDB;
	int count = PQntuples(r);
	struct ledger_row *v = calloc((size_t)(count > 0 ? count : 1), sizeof *v);
	if (v == NULL) {
		PQclear(r);
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	}
	for (int i = 0; i < count; i++) {
		struct ledger_row *x = &v[i];
		x->load_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		copy_field(x->file, sizeof x->file, r, i, 1);
		copy_field(x->kind, sizeof x->kind, r, i, 2);
		copy_field(x->status, sizeof x->status, r, i, 3);
		copy_field(x->fingerprint, sizeof x->fingerprint, r, i, 4);
		x->rows_read = strtoll(PQgetvalue(r, i, 5), NULL, 10);
		x->rows_loaded = strtoll(PQgetvalue(r, i, 6), NULL, 10);
		x->rows_updated = strtoll(PQgetvalue(r, i, 7), NULL, 10);
		x->rows_skipped = strtoll(PQgetvalue(r, i, 8), NULL, 10);
		x->rows_rejected = strtoll(PQgetvalue(r, i, 9), NULL, 10);
		copy_field(x->started_at, sizeof x->started_at, r, i, 10);
		copy_field(x->finished_at, sizeof x->finished_at, r, i, 11);
		x->seconds = strtod(PQgetvalue(r, i, 12), NULL);
		x->attempts = atoi(PQgetvalue(r, i, 13));
		copy_field(x->message, sizeof x->message, r, i, 14);
		copy_field(x->reject_file, sizeof x->reject_file, r, i, 15);
	}
	PQclear(r);
	*rows = v;
	*n = count;
	return ETL_OK;
}
