/*
 * refdata.c — reading the product catalogue into a keyset.
 */
#include "refdata.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "sqlbuf.h"

/* Undoes COPY text escaping of a field in place; returns its length. */
static size_t
unescape(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 == n) {
			s[o++] = s[i];
			continue;
		}
		char c = s[++i];
		/* COPY TO's text format writes these six as letters. */
		s[o++] = c == 'n'   ? '\n'
		         : c == 'r' ? '\r'
		         : c == 't' ? '\t'
		         : c == 'b' ? '\b'
		         : c == 'f' ? '\f'
		         : c == 'v' ? '\v'
		                    : c;
	}
	return o;
}

enum etl_code
refdata_stream(PGconn *conn, const char *table, const char *const *cols, int ncols,
               refdata_row_fn fn, void *ctx, bool *exists, struct etl_error *err)
{
	const char *params[1] = {table};
	PGresult *res = db_query(conn, "SELECT to_regclass($1) IS NOT NULL", 1, params, err);
	if (res == NULL)
		return ETL_EDB;
	bool there = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (exists != NULL)
		*exists = there;
	if (!there)
		return ETL_OK;
	/* The table's name reaches the statement quoted.  Dates come in ISO form whatever
	 * the session's DateStyle (SET LOCAL: in the caller's transaction, or
	 * in one of its own). */
	struct buf q = {0};
	bool own = PQtransactionStatus(conn) == PQTRANS_IDLE;
	sql_printf(&q, "%sSET LOCAL DateStyle = 'ISO, YMD'; COPY (SELECT ", own ? "BEGIN; " : "");
	for (int i = 0; i < ncols; i++) /* the program's own expressions */
		sql_printf(&q, "%s%s", i ? ", " : "", cols[i]);
	char *tq = sql_ident(conn, table);
	bool quoted = tq != NULL;
	sql_printf(&q, " FROM %s) TO STDOUT", tq ? tq : "");
	PQfreemem(tq);
	if (q.failed || !quoted) {
		buf_free(&q);
		return error_oom(err, NULL, 0);
	}
	res = db_run(conn, q.data);
	buf_free(&q);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		enum etl_code rc = db_error(conn, res, table, err);
		PQclear(res);
		if (own)
			PQclear(db_run(conn, "ROLLBACK"));
		return rc;
	}
	PQclear(res);
	enum etl_code rc = ETL_OK;
	char *row;
	char *values[16];
	size_t lens[16];
	int got;
	while ((got = PQgetCopyData(conn, &row, 0)) > 0) {
		/* Split at tabs, then undo COPY's escapes; \N alone is NULL. */
		int nf = 0;
		char *p = row, *end = row + got;
		if (end > row && end[-1] == '\n')
			*--end = '\0';
		while (nf < 16) {
			char *tab = memchr(p, '\t', (size_t)(end - p));
			char *stop = tab ? tab : end;
			*stop = '\0';
			if (stop - p == 2 && p[0] == '\\' && p[1] == 'N') {
				values[nf] = NULL;
				lens[nf] = 0;
			} else {
				lens[nf] = unescape(p, (size_t)(stop - p));
				p[lens[nf]] = '\0';
				values[nf] = p;
			}
			nf++;
			if (tab == NULL)
				break;
			p = tab + 1;
		}
		if (rc == ETL_OK && nf == ncols)
			rc = fn(ctx, values, lens, nf);
		PQfreemem(row);
	}
	if (got == -2 && rc == ETL_OK)
		rc = db_error(conn, NULL, table, err);
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == ETL_OK)
			rc = db_error(conn, res, table, err);
		PQclear(res);
	}
	if (own)
		PQclear(db_run(conn, PQtransactionStatus(conn) == PQTRANS_INTRANS ? "COMMIT"
		                                                                  : "ROLLBACK"));
	return rc;
}

static enum etl_code
add_sku(void *ctx, char *const *values, const size_t *lens, int n)
{
	(void)n;
	int64_t *p = keyset_find(ctx, values[0], lens[0], true, NULL);
	if (p == NULL)
		return ETL_ESYSTEM;
	p[0] = strtoll(values[1], NULL, 10);
	p[1] = strtoll(values[2], NULL, 10);
	return ETL_OK;
}

enum etl_code
refdata_load_refs(PGconn *conn, const struct table_def *by, struct keyset *refs,
                  struct etl_error *err)
{
	const struct table_def *t = table_get(by->ref_kind);
	char source[128];
	(void)snprintf(source, sizeof source, "(%s * 100)::bigint",
	               t->cols[by->ref_source].db_column);
	const char *cols[3] = {t->cols[t->key[0]].db_column, t->id_column, source};
	enum etl_code rc = refdata_stream(conn, t->table, cols, 3, add_sku, refs, NULL, err);
	if (rc == ETL_ESYSTEM)
		(void)error_oom(err, NULL, 0);
	return rc;
}
