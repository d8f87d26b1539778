/*
 * ledger_read.c — reading the history: whether it exists, a query of it, a
 * row of etl_loads into a struct ledger.
 */
#include "ledger_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

int64_t
ledger_num(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void
ledger_str(char *dst, size_t size, PGresult *r, int row, int col)
{
	(void)snprintf(dst, size, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* What ledger_read_ledger() reads beyond struct ledger. */
void
ledger_read_ledger(PGresult *r, int i, struct ledger *e, struct seen *s)
{
	memset(e, 0, sizeof *e);
	e->load_id = ledger_num(r, i, 0);
	ledger_str(e->status, sizeof e->status, r, i, 1);
	e->records_done = ledger_num(r, i, 2);
	e->rows_read = ledger_num(r, i, 3);
	e->rows_loaded = ledger_num(r, i, 4);
	e->rows_updated = ledger_num(r, i, 5);
	e->rows_skipped = ledger_num(r, i, 6);
	e->rows_rejected = ledger_num(r, i, 7);
	e->reject_bytes = ledger_num(r, i, 8);
	ledger_str(e->reject_file, sizeof e->reject_file, r, i, 9);
	e->attempts = (int)ledger_num(r, i, 10);
	ledger_str(e->fingerprint, sizeof e->fingerprint, r, i, 11);
	ledger_str(e->sha256, sizeof e->sha256, r, i, 12);
	ledger_str(e->options, sizeof e->options, r, i, 13);
	e->retry_of = ledger_num(r, i, 14);
	e->undoable = PQgetvalue(r, i, 15)[0] == 't';
	ledger_str(e->kind, sizeof e->kind, r, i, 18);
	ledger_str(e->prefix, sizeof e->prefix, r, i, 20);
	e->rejects_loaded_by = ledger_num(r, i, 21);
	if (s != NULL) {
		ledger_str(s->holder, sizeof s->holder, r, i, 16);
		s->lease_valid = PQgetvalue(r, i, 17)[0] == 't';
		ledger_str(s->update_columns, sizeof s->update_columns, r, i, 19);
	}
}

void
ledger_id_text(char *buf, size_t size, int64_t id)
{
	(void)snprintf(buf, size, "%lld", (long long)id);
}

bool
ledger_history_exists(PGconn *conn, struct etl_error *err, bool *exists)
{
	PGresult *r = db_query(conn,
	                       "SELECT to_regclass('etl_loads') IS NOT NULL "
	                       "AND to_regclass('etl_load_ids') IS NOT NULL",
	                       0, NULL, err);
	if (r == NULL)
		return false;
	*exists = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return true;
}

/* Runs a query of the history: *r is NULL (ETL_OK) where there is none. */
enum etl_code
ledger_history_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
                     PGresult **r, struct etl_error *err)
{
	bool exists;
	*r = NULL;
	if (!ledger_history_exists(conn, err, &exists))
		return ETL_EDB;
	if (exists && (*r = db_query(conn, sql, nparams, params, err)) == NULL)
		return ETL_EDB;
	return ETL_OK;
}
