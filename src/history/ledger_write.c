/*
 * ledger_write.c — what a load writes into its history as it goes: the
 * hold on its row, each batch's checkpoint (ids, xmins, before-images,
 * rejects) and the end.
 */
#include "ledger_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "signals.h"
#include "sqlbuf.h"

enum etl_code
ledger_hold(PGconn *conn, const struct ledger *e, int64_t expected_done, struct etl_error *err)
{
	char id[24];
	ledger_id_text(id, sizeof id, e->load_id);
	const char *params[1] = {id};
	PGresult *r = db_query(conn,
	                       "SELECT records_done, status FROM etl_loads WHERE load_id = $1 "
	                       "FOR KEY SHARE",
	                       1, params, err);
	if (r == NULL)
		return ETL_EDB;
	bool ours = PQntuples(r) == 1 && ledger_num(r, 0, 0) <= expected_done &&
	            strcmp(PQgetvalue(r, 0, 1), "running") == 0;
	PQclear(r);
	if (!ours)
		return error_set(err, ETL_EDB, NULL, 0,
		                 "load %s was taken over by another siprems-etl (its history moved "
		                 "on); this run stops",
		                 id);
	return ETL_OK;
}

/* Appends "{a,b,c}" of n numbers to a text buffer. */
static char *
array_text(const int64_t *v, size_t n, size_t stride)
{
	size_t size = 3 + n * 21;
	char *s = malloc(size);
	if (s == NULL)
		return NULL;
	size_t k = 0;
	s[k++] = '{';
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(s + k, size - k, "%s%lld", i ? "," : "",
		                      (long long)v[i * stride]);
	s[k++] = '}';
	s[k] = '\0';
	return s;
}

/*
 * The versions of a distributed table's rows in ranges ids, as this
 * transaction sees them: "{shard:xmin,…}" in *out (NULL when none).  A
 * worker's xid means nothing on another worker, so each is named with the
 * shard it is in (the shard's name, unique in the cluster, as the worker
 * gives it); undo compares the same pair.
 */
static enum etl_code
shard_xmins(PGconn *conn, const struct ledger_xmins *xmins, const struct ledger_ids *ids, int nids,
            char **out, struct etl_error *err)
{
	*out = NULL;
	char *tab = sql_ident(conn, xmins->table);
	char *col = sql_ident(conn, xmins->id_column);
	struct buf q = {0};
	if (tab == NULL || col == NULL) {
		q.failed = true;
	} else {
		sql_printf(&q,
		           "SELECT array_agg(DISTINCT " LEDGER_ROW_VERSION
		           ")::text FROM %s t WHERE ",
		           tab);
		for (int i = 0; i < nids; i++)
			sql_printf(&q, "%st.%s BETWEEN %lld AND %lld", i ? " OR " : "", col,
			           (long long)ids[i].first, (long long)ids[i].last);
	}
	PQfreemem(tab);
	PQfreemem(col);
	buf_put(&q, "", 1);
	if (q.failed) {
		buf_free(&q);
		return error_oom(err, NULL, 0);
	}
	PGresult *r = db_query(conn, q.data, 0, NULL, err);
	buf_free(&q);
	if (r == NULL)
		return ETL_EDB;
	if (!PQgetisnull(r, 0, 0) && (*out = strdup(PQgetvalue(r, 0, 0))) == NULL) {
		PQclear(r);
		return error_oom(err, NULL, 0);
	}
	PQclear(r);
	return ETL_OK;
}

/* Moves the load's row on to this batch's counts, only from the count it
 * was left at (expected_done): a row that moved on meanwhile is another
 * siprems-etl's, which took the load over. */
static enum etl_code
advance_counts(PGconn *conn, const struct ledger *e, int64_t expected_done,
               const char *update_columns, struct etl_error *err)
{
	char v[10][24];
	const int64_t nums[10] = {
	        e->load_id,      e->records_done,  e->rows_read,    e->rows_loaded, e->rows_updated,
	        e->rows_skipped, e->rows_rejected, e->reject_bytes, expected_done,  0};
	for (int i = 0; i < 9; i++)
		ledger_id_text(v[i], sizeof v[i], nums[i]);
	const char *params[13] = {v[0],
	                          v[1],
	                          v[2],
	                          v[3],
	                          v[4],
	                          v[5],
	                          v[6],
	                          v[7],
	                          e->reject_file[0] ? e->reject_file : NULL,
	                          v[8],
	                          e->undoable ? "t" : "f",
	                          update_columns,
	                          e->prefix[0] ? e->prefix : NULL};
	PGresult *r = db_query(
	        conn,
	        "UPDATE etl_loads SET records_done = $2, rows_read = $3, rows_loaded = $4, "
	        "rows_updated = $5, rows_skipped = $6, rows_rejected = $7, reject_bytes = $8, "
	        "reject_file = $9, undoable = $11, update_columns = coalesce($12, update_columns), "
	        "prefix_sha256 = $13, updated_at = now(), lease_until = now() + " LEASE
	        " WHERE load_id = $1 AND records_done = $10",
	        13, params, err);
	if (r == NULL)
		return ETL_EDB;
	bool ours = ledger_affected(r) == 1;
	PQclear(r);
	if (!ours)
		return error_set(err, ETL_EDB, NULL, 0,
		                 "load %s was taken over by another siprems-etl; this run stops",
		                 v[0]);
	return ETL_OK;
}

/* Records the batch's rejected records by number: a rerun of the file
 * takes only those again, never a row already loaded. */
static enum etl_code
record_rejects(PGconn *conn, const char *id, const int64_t *rejected, size_t nrejected,
               struct etl_error *err)
{
	char *a = array_text(rejected, nrejected, 1);
	if (a == NULL)
		return error_oom(err, NULL, 0);
	const char *p[2] = {id, a};
	PGresult *r = db_query(conn,
	                       "INSERT INTO etl_load_rejects (load_id, record) "
	                       "SELECT $1, unnest($2::bigint[])",
	                       2, p, err);
	enum etl_code rc = r != NULL ? ETL_OK : ETL_EDB;
	PQclear(r);
	free(a);
	return rc;
}

/* Appends the expression of a range's xmins (u.f to u.l) as xmins->how
 * gets them: undo compares them with the rows' to find rows changed since. */
static void
xmins_expr(PGconn *conn, const struct ledger_xmins *xmins, struct buf *q)
{
	if (xmins->how == XMINS_SHARDS) {
		sql_str(q, "$4::text");
	} else if (xmins->how == XMINS_THIS_TXN) {
		sql_str(q, "'{' || (pg_current_xact_id()::text::bigint % 4294967296) "
		           "|| '}'");
	} else if (xmins->how == XMINS_GIVEN) {
		sql_str(q, "$4::text");
	} else if (xmins->how == XMINS_SCAN) {
		char *tab = sql_ident(conn, xmins->table);
		char *col = sql_ident(conn, xmins->id_column);
		if (tab == NULL || col == NULL)
			q->failed = true;
		else
			sql_printf(q,
			           "(SELECT array_agg(DISTINCT "
			           "x.xmin::text::bigint)::text "
			           "FROM %s x WHERE x.%s BETWEEN u.f AND u.l)",
			           tab, col);
		PQfreemem(tab);
		PQfreemem(col);
	} else {
		sql_str(q, "NULL");
	}
}

/* Records the ranges of ids the batch inserted, each with the xmins its
 * rows have now: undo deletes by them, and tells by the xmins which rows
 * changed since. */
static enum etl_code
record_ids(PGconn *conn, const char *id, const struct ledger_xmins *xmins,
           const struct ledger_ids *ids, int nids, struct etl_error *err)
{
	enum etl_code rc = ETL_OK;
	char *a = NULL, *b = NULL, *shards = NULL;
	struct buf q = {0};
	char given[40];
	if (xmins->how == XMINS_SHARDS &&
	    (rc = shard_xmins(conn, xmins, ids, nids, &shards, err)) != ETL_OK)
		goto out;
	a = array_text(&ids[0].first, (size_t)nids, 2);
	b = array_text(&ids[0].last, (size_t)nids, 2);
	if (a == NULL || b == NULL) {
		rc = error_oom(err, NULL, 0);
		goto out;
	}
	/* With each range, the xmins its rows have now: "{…}". */
	(void)snprintf(given, sizeof given, "{%lld}", (long long)xmins->xid);
	sql_str(&q, "INSERT INTO etl_load_ids (load_id, first_id, last_id, xmins) "
	            "SELECT $1, u.f, u.l, ");
	xmins_expr(conn, xmins, &q);
	sql_str(&q, " FROM unnest($2::bigint[], $3::bigint[]) AS u(f, l)");
	buf_put(&q, "", 1);
	const char *p[4] = {id, a, b, xmins->how == XMINS_SHARDS ? shards : given};
	bool fourth = xmins->how == XMINS_GIVEN || xmins->how == XMINS_SHARDS;
	if (q.failed) {
		rc = error_oom(err, NULL, 0);
	} else {
		PGresult *r = db_query(conn, q.data, fourth ? 4 : 3, p, err);
		rc = r != NULL ? ETL_OK : ETL_EDB;
		PQclear(r);
	}
out:
	buf_free(&q);
	free(a);
	free(b);
	free(shards);
	return rc;
}

enum etl_code
ledger_checkpoint(PGconn *conn, const struct ledger *e, int64_t expected_done,
                  const struct ledger_xmins *xmins, const int64_t *rejected, size_t nrejected,
                  const struct ledger_ids *ids, int nids, const char *update_columns,
                  struct etl_error *err)
{
	char id[24];
	ledger_id_text(id, sizeof id, e->load_id);
	enum etl_code rc = advance_counts(conn, e, expected_done, update_columns, err);
	if (rc == ETL_OK && nrejected > 0)
		rc = record_rejects(conn, id, rejected, nrejected, err);
	if (rc == ETL_OK && nids > 0)
		rc = record_ids(conn, id, xmins, ids, nids, err);
	return rc;
}

int
ledger_rejects_loaded(PGconn *conn, const struct ledger *e, const char *name, int64_t *ids, int max,
                      struct etl_error *err)
{
	char id[24], real[4096] = "", msg[700];
	ledger_id_text(id, sizeof id, e->load_id);
	if (realpath(name, real) == NULL)
		real[0] = '\0';
	(void)snprintf(msg, sizeof msg, "its rejected rows were loaded from %s by load %s", name,
	               id);
	const char *params[5] = {id, e->kind, name, real[0] ? real : name, msg};
	PGresult *r = db_query(conn,
	                       "UPDATE etl_loads SET status = 'loaded', rejects_loaded_by = $1, "
	                       "message = $5, updated_at = now() WHERE kind = $2 AND "
	                       "load_id <> $1 AND reject_file IN ($3, $4) AND rows_rejected > 0 "
	                       "AND status = 'partial' AND rejects_loaded_by IS NULL "
	                       "RETURNING load_id",
	                       5, params, err);
	if (r == NULL)
		return -1;
	int n = 0;
	for (int i = 0; i < PQntuples(r) && n < max; i++)
		ids[n++] = ledger_num(r, i, 0);
	PQclear(r);
	/* A chain of reject files: the load whose reject file a load just
	 * completed loaded (with rejects of its own, now in too; the newest
	 * load before it with that reject file) is complete as well, and so
	 * on up to the source. */
	for (int from = 0, depth = 0; from < n && depth < 100; depth++) {
		struct buf list = {0};
		sql_str(&list, "{");
		for (int i = from; i < n; i++)
			sql_printf(&list, "%s%lld", i > from ? "," : "", (long long)ids[i]);
		sql_str(&list, "}");
		buf_put(&list, "", 1);
		if (list.failed) {
			buf_free(&list);
			(void)error_oom(err, NULL, 0);
			return -1;
		}
		const char *p[4] = {id, e->kind, list.data, msg};
		r = db_query(
		        conn,
		        "UPDATE etl_loads a SET status = 'loaded', rejects_loaded_by = $1, "
		        "message = $4, updated_at = now() WHERE a.kind = $2 AND a.load_id <> $1 "
		        "AND a.rows_rejected > 0 AND a.status = 'partial' AND "
		        "a.rejects_loaded_by IS NULL AND a.load_id IN (SELECT (SELECT "
		        "max(a2.load_id) FROM etl_loads a2 WHERE a2.kind = $2 AND a2.reject_file = "
		        "b.file_name AND a2.load_id < b.load_id) FROM etl_loads b WHERE b.load_id "
		        "= "
		        "ANY ($3::bigint[])) RETURNING load_id",
		        4, p, err);
		buf_free(&list);
		if (r == NULL)
			return -1;
		from = n;
		for (int i = 0; i < PQntuples(r) && n < max; i++)
			ids[n++] = ledger_num(r, i, 0);
		PQclear(r);
	}
	return n;
}

enum etl_code
ledger_finish(PGconn *conn, const struct ledger *e, const char *status, const char *message,
              struct etl_error *err)
{
	char id[24], holder[200];
	ledger_id_text(id, sizeof id, e->load_id);
	ledger_holder_self(holder, sizeof holder);
	const char *params[4] = {id, status, message, holder};
	/* One statement, committed synchronously (the server's default): it
	 * also makes every earlier batch durable.  A load another siprems-etl
	 * took over is that one's to finish. */
	PGresult *r =
	        db_query(conn,
	                 "UPDATE etl_loads SET status = $2, message = $3, updated_at = now(), "
	                 "lease_until = NULL, "
	                 "finished_at = CASE WHEN $2 IN ('loaded', 'partial') THEN now() END "
	                 "WHERE load_id = $1 AND holder = $4",
	                 4, params, err);
	if (r == NULL)
		return ETL_EDB;
	PQclear(r);
	return ETL_OK;
}
