/*
 * refdata.c — reading the product catalogue into a keyset.
 */
#include "refdata.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"

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
		s[o++] = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
	}
	return o;
}

enum etl_code
refdata_load_skus(PGconn *conn, struct keyset *skus, struct etl_error *err)
{
	PGresult *res = PQexec(conn, "SELECT to_regclass('products') IS NOT NULL");
	bool exists = PQresultStatus(res) == PGRES_TUPLES_OK && PQgetvalue(res, 0, 0)[0] == 't';
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		enum etl_code rc = db_error(conn, res, "cannot read the products", err);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	if (!exists)
		return ETL_OK;

	res = PQexec(conn, "COPY (SELECT sku, product_id, (price * 100)::bigint FROM products) "
	                   "TO STDOUT");
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		enum etl_code rc = db_error(conn, res, "cannot read the products", err);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	enum etl_code rc = ETL_OK;
	char *row;
	int n;
	while ((n = PQgetCopyData(conn, &row, 0)) > 0) {
		/* sku \t id \t cents \n */
		char *t1 = memchr(row, '\t', (size_t)n);
		char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(row + n - t1 - 1)) : NULL;
		if (rc == ETL_OK && t1 != NULL && t2 != NULL) {
			size_t len = unescape(row, (size_t)(t1 - row));
			int64_t *p = keyset_find(skus, row, len, true, NULL);
			if (p == NULL) {
				rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
			} else {
				p[0] = strtoll(t1 + 1, NULL, 10);
				p[1] = strtoll(t2 + 1, NULL, 10);
			}
		}
		PQfreemem(row);
	}
	if (n == -2 && rc == ETL_OK)
		rc = db_error(conn, NULL, "cannot read the products", err);
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == ETL_OK)
			rc = db_error(conn, res, "cannot read the products", err);
		PQclear(res);
	}
	return rc;
}
