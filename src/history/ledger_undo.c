/*
 * ledger_undo.c — what happens to loads afterwards: history, undo and
 * the reset of seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "ledger_impl.h"
#include "sqlbuf.h"
#include "text.h"

/* The id ranges of load $1, as a derived table: joined so, the loader's
 * local table may meet a Citus table (which a direct join may not). */
#define UNDO_IDS "(SELECT first_id, last_id, xmins FROM etl_load_ids WHERE load_id = $1)"

/* ---- history, undo, reset ------------------------------------------------------ */

int
ledger_reap(PGconn *conn)
{
	bool exists;
	if (!ledger_history_exists(conn, NULL, &exists) || !exists)
		return 0;
	PGresult *r =
	        db_query(conn, "SELECT " LEDGER_COLS " FROM etl_loads WHERE status = 'running'", 0,
	                 NULL, NULL);
	int reaped = 0;
	for (int i = 0; r != NULL && i < PQntuples(r); i++) {
		struct ledger e;
		struct seen s;
		ledger_read_ledger(r, i, &e, &s);
		char why[600];
		bool alive = true;
		if (db_exec(conn, "BEGIN", NULL) != ETL_OK ||
		    ledger_lock_file(conn, e.fingerprint, e.sha256, e.kind, NULL) != ETL_OK ||
		    ledger_check_running(conn, &e, &s, &alive, why, sizeof why, NULL) != ETL_OK ||
		    db_exec(conn, "COMMIT", NULL) != ETL_OK) {
			ledger_rollback(conn);
			break; /* a role that may not write: leave them */
		}
		reaped += !alive;
	}
	PQclear(r);
	return reaped;
}

enum etl_code
ledger_get(PGconn *conn, int64_t load_id, struct ledger_row *row, bool *found,
           struct etl_error *err)
{
	char id[24];
	ledger_id_text(id, sizeof id, load_id);
	const char *params[1] = {id};
	PGresult *r;
	*found = false;
	if (ledger_history_query(
	            conn,
	            "SELECT file_name, kind, status, rows_loaded, rows_updated, "
	            "coalesce(retry_of, 0), undoable FROM etl_loads WHERE load_id = $1",
	            1, params, &r, err) != ETL_OK)
		return ETL_EDB;
	if (r != NULL && PQntuples(r) == 1) {
		*found = true;
		memset(row, 0, sizeof *row);
		row->load_id = load_id;
		ledger_str(row->file, sizeof row->file, r, 0, 0);
		ledger_str(row->kind, sizeof row->kind, r, 0, 1);
		ledger_str(row->status, sizeof row->status, r, 0, 2);
		row->rows_loaded = ledger_num(r, 0, 3);
		row->rows_updated = ledger_num(r, 0, 4);
		row->retry_of = ledger_num(r, 0, 5);
		row->undoable = PQgetvalue(r, 0, 6)[0] == 't';
	}
	PQclear(r);
	return ETL_OK;
}

enum etl_code
ledger_undo(PGconn *conn, int64_t load_id, enum undo_changed changed, struct ledger_undo *u,
            struct etl_error *err)
{
	char id[24];
	ledger_id_text(id, sizeof id, load_id);
	const char *params[1] = {id};
	bool exists;
	memset(u, 0, sizeof *u);
	if (!ledger_history_exists(conn, err, &exists))
		return ETL_EDB;
	if (!exists)
		return error_set(err, ETL_EUSAGE, NULL, 0, "no load %s in the history", id);
	PGresult *r = db_query(conn, "SELECT " LEDGER_COLS " FROM etl_loads WHERE load_id = $1", 1,
	                       params, err);
	if (r == NULL)
		return ETL_EDB;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return error_set(err, ETL_EUSAGE, NULL, 0, "no load %s in the history", id);
	}
	struct ledger e;
	struct seen s;
	ledger_read_ledger(r, 0, &e, &s);
	PQclear(r);
	if (strcmp(e.status, "undone") == 0)
		return error_set(err, ETL_EUSAGE, NULL, 0, "load %s was undone already", id);
	if (table_kind_from_name(e.kind) == KIND_NONE)
		return error_set(err, ETL_EUSAGE, NULL, 0, "load %s (%s) is not a load of a file",
		                 id, e.status);

	enum etl_code rc = db_exec(conn, "BEGIN", err);
	/* On Citus, a reference table that a distributed table references may
	 * change only over one connection per node, after the multi-shard reads
	 * of the checks below too. */
	if (rc == ETL_OK && db_citus_coordinator(conn))
		rc = db_exec(conn, "SET LOCAL citus.multi_shard_modify_mode TO 'sequential'", err);
	if (rc == ETL_OK)
		rc = ledger_lock_file(conn, e.fingerprint, e.sha256, e.kind, err);
	/* Read again under the locks: it may have moved on meanwhile. */
	if (rc == ETL_OK) {
		r = db_query(conn, "SELECT " LEDGER_COLS " FROM etl_loads WHERE load_id = $1", 1,
		             params, err);
		if (r == NULL)
			rc = ETL_EDB;
		else
			ledger_read_ledger(r, 0, &e, &s);
		PQclear(r);
	}
	if (rc == ETL_OK && strcmp(e.status, "running") == 0) {
		bool alive;
		char why[600];
		rc = ledger_check_running(conn, &e, &s, &alive, why, sizeof why, err);
		if (rc == ETL_OK && alive) {
			char who[200];
			ledger_holder_name(s.holder, who, sizeof who);
			rc = error_set(err, ETL_EDB, NULL, 0,
			               "load %s is running (%s); stop it first", id, who);
		}
	}
	if (rc == ETL_OK)
		rc = ledger_undo_in_txn(conn, &e, &s, changed, u, err);
	if (rc == ETL_OK)
		rc = db_exec(conn, "COMMIT", err);
	if (rc != ETL_OK)
		ledger_rollback(conn);
	/* insufficient_privilege: which privileges undo takes. */
	if (rc != ETL_OK && strcmp(err->sqlstate, "42501") == 0) {
		char was[sizeof err->msg];
		(void)snprintf(was, sizeof was, "%s", err->msg);
		(void)error_set(err, ETL_EDB, NULL, 0,
		                "%s; hint: undo deletes the rows the load inserted and gives the "
		                "rows it updated their values back: the role needs DELETE and "
		                "UPDATE on %s, and SELECT, UPDATE and DELETE on the history "
		                "(etl_loads, etl_load_ids, etl_load_before, etl_load_rejects)",
		                was, table_get(table_kind_from_name(e.kind))->table);
		(void)snprintf(err->sqlstate, sizeof err->sqlstate, "42501");
	}
	return rc;
}

enum etl_code
ledger_reset(PGconn *conn, int64_t *forgotten, struct etl_error *err)
{
	char tables[256], kinds[128];
	table_reset_order(tables, sizeof tables);
	table_kind_list(kinds, sizeof kinds);
	static const char *const rows[3] = {"etl_load_ids", "etl_load_before", "etl_load_rejects"};
	*forgotten = 0;
	enum etl_code rc = db_exec(conn, "BEGIN", err);
	if (rc == ETL_OK)
		rc = db_execf(conn, err, "TRUNCATE %s RESTART IDENTITY", tables);
	for (int i = 0; rc == ETL_OK && i < 3; i++)
		rc = db_execf(
		        conn, err,
		        "DELETE FROM %s WHERE load_id IN (SELECT load_id FROM etl_loads WHERE "
		        "kind IN (%s))",
		        rows[i], kinds);
	PGresult *r = NULL;
	if (rc == ETL_OK) {
		r = db_queryf(conn, 0, NULL, err, "DELETE FROM etl_loads WHERE kind IN (%s)",
		              kinds);
		rc = r != NULL ? ETL_OK : ETL_EDB;
		if (r != NULL)
			*forgotten = ledger_affected(r);
		PQclear(r);
	}
	if (rc == ETL_OK) {
		char msg[200], n[24];
		ledger_id_text(n, sizeof n, *forgotten);
		(void)snprintf(msg, sizeof msg,
		               "seed --reset emptied users, products, transactions and events; "
		               "%s loads of them forgotten",
		               n);
		const char *params[2] = {ETL_VERSION, msg};
		r = db_query(
		        conn,
		        "INSERT INTO etl_loads (fingerprint, kind, file_name, status, etl_version, "
		        "message, finished_at) VALUES ('', 'all', 'seed --reset', 'reset', $1, $2, "
		        "now())",
		        2, params, err);
		rc = r != NULL ? ETL_OK : ETL_EDB;
		PQclear(r);
	}
	if (rc == ETL_OK)
		rc = db_exec(conn, "COMMIT", err);
	if (rc != ETL_OK)
		ledger_rollback(conn);
	return rc;
}

enum etl_code
ledger_list(PGconn *conn, int limit, struct ledger_row **rows, int *n, struct etl_error *err)
{
	*rows = NULL;
	*n = 0;
	bool exists;
	if (!ledger_history_exists(conn, err, &exists))
		return ETL_EDB;
	if (!exists || limit <= 0)
		return ETL_OK;
	char lim[16];
	(void)snprintf(lim, sizeof lim, "%d", limit);
	const char *params[1] = {lim};
	PGresult *r = db_query(
	        conn,
	        "SELECT load_id, file_name, kind, status, fingerprint, rows_read, rows_loaded, "
	        "rows_updated, rows_skipped, rows_rejected, "
	        "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	        "to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	        "extract(epoch FROM coalesce(finished_at, updated_at) - started_at), attempts, "
	        "coalesce(message, ''), coalesce(reject_file, ''), coalesce(file_sha256, ''), "
	        "coalesce(retry_of, 0), undoable "
	        "FROM etl_loads ORDER BY load_id DESC LIMIT $1::int",
	        1, params, err);
	if (r == NULL)
		return ETL_EDB;
	int count = PQntuples(r);
	struct ledger_row *v = calloc((size_t)(count > 0 ? count : 1), sizeof *v);
	if (v == NULL) {
		PQclear(r);
		return error_oom(err, NULL, 0);
	}
	for (int i = 0; i < count; i++) {
		struct ledger_row *x = &v[i];
		x->load_id = ledger_num(r, i, 0);
		ledger_str(x->file, sizeof x->file, r, i, 1);
		ledger_str(x->kind, sizeof x->kind, r, i, 2);
		ledger_str(x->status, sizeof x->status, r, i, 3);
		ledger_str(x->fingerprint, sizeof x->fingerprint, r, i, 4);
		x->rows_read = ledger_num(r, i, 5);
		x->rows_loaded = ledger_num(r, i, 6);
		x->rows_updated = ledger_num(r, i, 7);
		x->rows_skipped = ledger_num(r, i, 8);
		x->rows_rejected = ledger_num(r, i, 9);
		ledger_str(x->started_at, sizeof x->started_at, r, i, 10);
		ledger_str(x->finished_at, sizeof x->finished_at, r, i, 11);
		x->seconds = strtod(PQgetvalue(r, i, 12), NULL);
		x->attempts = atoi(PQgetvalue(r, i, 13));
		ledger_str(x->message, sizeof x->message, r, i, 14);
		ledger_str(x->reject_file, sizeof x->reject_file, r, i, 15);
		ledger_str(x->sha256, sizeof x->sha256, r, i, 16);
		x->retry_of = ledger_num(r, i, 17);
		x->undoable = PQgetvalue(r, i, 18)[0] == 't';
	}
	PQclear(r);
	*rows = v;
	*n = count;
	return ETL_OK;
}
/* ---- undo ------------------------------------------------------------------ */

/* Whether s is a list of plain column names "a,b,c". */
static bool
plain_names(const char *s)
{
	for (const char *p = s; *p != '\0'; p++)
		if (!(*p == ',' || *p == '_' || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

int64_t
ledger_affected(PGresult *r)
{
	return strtoll(PQcmdTuples(r), NULL, 10);
}

/* Runs the statement built in q with load id $1 and frees q: its result, or
 * NULL with err set (ETL_ESYSTEM when q could not be built). */
static PGresult *
run_built(PGconn *conn, struct buf *q, const char *id, struct etl_error *err)
{
	const char *params[1] = {id};
	PGresult *r = NULL;
	if (q->failed)
		(void)error_oom(err, NULL, 0);
	else
		r = db_query(conn, q->data, 1, params, err);
	buf_free(q);
	return r;
}

/* name as a quoted identifier into out; false when out is too small or
 * memory runs out. */
static bool
quote_name(PGconn *conn, const char *name, char *out, size_t size)
{
	char *q = PQescapeIdentifier(conn, name, strlen(name));
	bool ok = q != NULL && strlen(q) < size;
	if (ok)
		memcpy(out, q, strlen(q) + 1);
	PQfreemem(q);
	return ok;
}

/* Runs q, "SELECT k FROM …" over the rows changed since, and gives how
 * many there are and the first five k. */
static enum etl_code
count_changed(PGconn *conn, struct buf *q, const char *id, int64_t *n, char *keys, size_t size,
              struct etl_error *err)
{
	*n = 0;
	keys[0] = '\0';
	struct buf c = {0};
	sql_printf(&c,
	           "SELECT count(*), array_to_string((array_agg(k ORDER BY k))[1:5], ', ') FROM "
	           "(%.*s) x",
	           (int)q->len, q->data ? q->data : "");
	c.failed = c.failed || q->failed;
	buf_free(q);
	PGresult *r = run_built(conn, &c, id, err);
	if (r == NULL)
		return err->code;
	*n = ledger_num(r, 0, 0);
	ledger_str(keys, size, r, 0, 1);
	PQclear(r);
	return ETL_OK;
}

/*
 * The rows load id updated whose columns tcols ("t.a, t.b") no longer hold
 * the values it gave them (rcols, "r.a, r.b"): how many, the first keys.
 */
static enum etl_code
changed_since(PGconn *conn, const struct table_def *t, const char *id, const char *cols,
              const char *rcols, int64_t *n, char *keys, size_t size, struct etl_error *err)
{
	char qk[160], qt[160], qi[160];
	if (!quote_name(conn, t->cols[t->key[0]].db_column, qk, sizeof qk) ||
	    !quote_name(conn, t->table, qt, sizeof qt) ||
	    !quote_name(conn, t->id_column, qi, sizeof qi))
		return error_oom(err, NULL, 0);
	struct buf q = {0};
	sql_printf(&q,
	           "SELECT t.%s::text AS k FROM %s t JOIN etl_load_before b ON t.%s = b.row_id "
	           "CROSS JOIN LATERAL json_populate_record(NULL::%s, b.after_data::json) r "
	           "WHERE b.load_id = $1 AND b.after_data IS NOT NULL AND ROW(%s) IS DISTINCT FROM "
	           "ROW(%s)",
	           qk, qt, qi, qt, cols, rcols);
	return count_changed(conn, &q, id, n, keys, size, err);
}

/* SQL: the ids of the rows load $1 inserted that changed since, given the
 * id column, the table and the id column, quoted. */
#define INSERTED_CHANGED                                                                           \
	"SELECT t.%s AS k FROM %s t JOIN etl_load_ids i ON t.%s BETWEEN i.first_id AND "           \
	"i.last_id WHERE i.load_id = $1 AND i.xmins IS NOT NULL AND NOT " LEDGER_AS_WRITTEN

/*
 * The rows the load inserted that changed since: a row whose xmin is not
 * one the load wrote it with (an UPDATE makes a new row version): how
 * many, the first ids.  Not for ranges recorded without xmins (NULL).
 */
static enum etl_code
inserted_changed(PGconn *conn, const struct table_def *t, const char *id, int64_t *n, char *keys,
                 size_t size, struct etl_error *err)
{
	char qt[160], qi[160];
	if (!quote_name(conn, t->table, qt, sizeof qt) ||
	    !quote_name(conn, t->id_column, qi, sizeof qi))
		return error_oom(err, NULL, 0);
	struct buf q = {0};
	sql_printf(&q, INSERTED_CHANGED, qi, qt, qi);
	return count_changed(conn, &q, id, n, keys, size, err);
}

static enum etl_code forget(PGconn *conn, const char *id, const struct ledger_undo *u,
                            struct etl_error *err);

/* SQL: before-image b (of load $1) holds the values another load inserted
 * its row with: the row's xmin when $1 updated it was one of that load's. */
#define WRITTEN_BEFORE                                                                             \
	"EXISTS (SELECT 1 FROM etl_load_ids i WHERE i.load_id <> $1 AND i.xmins IS NOT NULL "      \
	"AND b.row_id BETWEEN i.first_id AND i.last_id "                                           \
	"AND (b.data::json ->> '" LEDGER_BEFORE_XMIN "') = ANY (i.xmins::text[]))"

/*
 * Gives back, with base (the restoring UPDATE), the rows whose before-image
 * is the values another load inserted them with (WRITTEN_BEFORE), in a
 * savepoint of their own: their new row version is then theirs alone, and
 * the inserting load's range takes it as one it wrote, so that its undo
 * finds them as it wrote them (their values are).  Rows given other values
 * back, restored by the caller in the transaction itself, share none of
 * it.  qi: the id column, quoted.  *n: the rows restored.  Not on Citus,
 * whose row versions are per shard: there such rows stay "changed since".
 */
static enum etl_code
restore_written(PGconn *conn, const struct buf *base, const char *qi, const char *id, int64_t *n,
                struct etl_error *err)
{
	struct buf q = {0};
	sql_printf(
	        &q,
	        "WITH u AS (%.*s AND " WRITTEN_BEFORE " RETURNING t.%s AS id, t.xmin::text AS v), "
	        "s AS (UPDATE etl_load_ids i SET xmins = (SELECT array_agg(DISTINCT x ORDER BY x)"
	        "::text FROM unnest(i.xmins::text[] || ARRAY(SELECT u.v FROM u WHERE u.id "
	        "BETWEEN i.first_id AND i.last_id)) x) WHERE i.load_id <> $1 AND i.xmins IS NOT "
	        "NULL AND EXISTS (SELECT 1 FROM u WHERE u.id BETWEEN i.first_id AND i.last_id)) "
	        "SELECT count(*) FROM u",
	        (int)base->len, base->data ? base->data : "", qi);
	q.failed = q.failed || base->failed;
	enum etl_code rc = db_exec(conn, "SAVEPOINT etl_restore_written", err);
	PGresult *r = rc == ETL_OK ? run_built(conn, &q, id, err) : NULL;
	buf_free(&q);
	if (r == NULL)
		return err->code;
	*n = ledger_num(r, 0, 0);
	PQclear(r);
	return db_exec(conn, "RELEASE SAVEPOINT etl_restore_written", err);
}

/* Refuses the undo while rows of other tables reference rows the load
 * inserted: deleting them would break those rows' foreign keys. */
static enum etl_code
refuse_referenced(PGconn *conn, const struct table_def *t, const char *id, struct etl_error *err)
{
	const char *params[2] = {id, NULL};
	PGresult *r = db_query(
	        conn,
	        "SELECT c.conrelid::regclass::text, quote_ident(a.attname) FROM pg_constraint c "
	        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
	        "WHERE c.confrelid = to_regclass($1) AND c.contype = 'f' "
	        "AND cardinality(c.conkey) = 1",
	        1, (const char *[]){t->table}, err);
	if (r == NULL)
		return ETL_EDB;
	for (int i = 0; i < PQntuples(r); i++) {
		/* Both quoted by the server (regclass, quote_ident). */
		PGresult *c =
		        db_queryf(conn, 1, params, err,
		                  "SELECT count(*) FROM %s x WHERE EXISTS (SELECT 1 FROM " UNDO_IDS
		                  " i WHERE x.%s BETWEEN i.first_id AND i.last_id)",
		                  PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
		if (c == NULL) {
			PQclear(r);
			return ETL_EDB;
		}
		int64_t refs = ledger_num(c, 0, 0);
		PQclear(c);
		if (refs > 0) {
			(void)error_set(err, ETL_EDB, NULL, 0,
			                "load %s cannot be undone: %lld rows of %s reference %s it "
			                "inserted; undo the loads that added them first",
			                id, (long long)refs, PQgetvalue(r, i, 0), t->table);
			PQclear(r);
			return ETL_EDB;
		}
	}
	PQclear(r);
	return ETL_OK;
}

/* Refuses the undo while a later load changed rows this one inserted or
 * changed: undone first, that load's before-images would come back over
 * this one's. */
static enum etl_code
refuse_changed_later(PGconn *conn, const struct ledger *e, const char *id, struct etl_error *err)
{
	PGresult *r = db_query(
	        conn,
	        "SELECT b.load_id, count(*) FROM etl_load_before b JOIN etl_loads l "
	        "ON l.load_id = b.load_id WHERE b.load_id > $1 AND l.status <> 'undone' "
	        "AND l.kind = $2 AND (EXISTS (SELECT 1 FROM etl_load_ids i WHERE i.load_id = $1 "
	        "AND b.row_id BETWEEN i.first_id AND i.last_id) OR b.row_id IN (SELECT row_id "
	        "FROM etl_load_before WHERE load_id = $1)) GROUP BY 1 ORDER BY 1 DESC LIMIT 1",
	        2, (const char *[]){id, e->kind}, err);
	if (r == NULL)
		return ETL_EDB;
	if (PQntuples(r) > 0) {
		(void)error_set(
		        err, ETL_EDB, NULL, 0,
		        "load %s cannot be undone: load %s changed %s of its rows later; undo "
		        "load %s first",
		        id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0));
		PQclear(r);
		return ETL_EDB;
	}
	PQclear(r);
	return ETL_OK;
}

/* The columns the load updated, quoted, as the statements name them: cols
 * "a, b", rcols "r.a, r.b", and without the column an update touches
 * (now(), not compared) tcols "t.a" and vcols "r.a". */
struct undo_cols {
	struct buf cols, rcols, tcols, vcols;
};

/* Builds the column lists once from the load's update_columns (s), so that
 * every statement below names the same columns the same way. */
static enum etl_code
quote_update_columns(PGconn *conn, const struct table_def *t, const struct seen *s,
                     struct undo_cols *uc, struct etl_error *err)
{
	char list[sizeof s->update_columns];
	(void)snprintf(list, sizeof list, "%s", s->update_columns);
	for (char *save = NULL, *c = strtok_r(list, ",", &save); c != NULL;
	     c = strtok_r(NULL, ",", &save)) {
		char q[160];
		if (!quote_name(conn, c, q, sizeof q))
			return error_oom(err, NULL, 0);
		sql_printf(&uc->cols, "%s%s", uc->cols.len ? ", " : "", q);
		sql_printf(&uc->rcols, "%sr.%s", uc->rcols.len ? ", " : "", q);
		if (t->touch_on_update == NULL || strcmp(c, t->touch_on_update) != 0) {
			sql_printf(&uc->tcols, "%st.%s", uc->tcols.len ? ", " : "", q);
			sql_printf(&uc->vcols, "%sr.%s", uc->vcols.len ? ", " : "", q);
		}
	}
	if (uc->cols.failed || uc->rcols.failed || uc->tcols.failed || uc->vcols.failed)
		return error_oom(err, NULL, 0);
	return ETL_OK;
}

/* Rows it updated that changed since (*n): not overwritten unless told,
 * since giving them their earlier values would lose the later change. */
static enum etl_code
check_updated_changed(PGconn *conn, const struct table_def *t, const char *id,
                      enum undo_changed changed, const struct undo_cols *uc, int64_t *n,
                      struct etl_error *err)
{
	char keys[400];
	enum etl_code rc;
	*n = 0;
	if (uc->tcols.len > 0 && changed != UNDO_OVERWRITE &&
	    (rc = changed_since(conn, t, id, uc->tcols.data, uc->vcols.data, n, keys, sizeof keys,
	                        err)) != ETL_OK)
		return rc;
	if (*n > 0 && changed == UNDO_REFUSE)
		return error_set(
		        err, ETL_EDB, NULL, 0,
		        "load %s cannot be undone as it is: %lld of the rows it updated "
		        "changed since (%s %s%s), and giving them their earlier values "
		        "would lose that; 'undo --keep-changed' leaves them as they are now "
		        "and undoes the rest, 'undo --overwrite' gives them their earlier "
		        "values all the same",
		        id, (long long)*n, t->cols[t->key[0]].db_column, keys,
		        *n > 5 ? ", ..." : "");
	return ETL_OK;
}

/* Rows it inserted that changed since (*n): not deleted unless told, since
 * deleting them would lose the later change. */
static enum etl_code
check_inserted_changed(PGconn *conn, const struct table_def *t, const char *id,
                       enum undo_changed changed, int64_t *n, struct etl_error *err)
{
	char keys[400];
	enum etl_code rc;
	*n = 0;
	if (changed != UNDO_OVERWRITE &&
	    (rc = inserted_changed(conn, t, id, n, keys, sizeof keys, err)) != ETL_OK)
		return rc;
	if (*n > 0 && changed == UNDO_REFUSE)
		return error_set(
		        err, ETL_EDB, NULL, 0,
		        "load %s cannot be undone as it is: %lld of the rows it inserted "
		        "changed since (%s %s%s), and deleting them would lose that; "
		        "'undo --keep-changed' leaves them in the table and undoes the rest, "
		        "'undo --overwrite' deletes them all the same",
		        id, (long long)*n, t->id_column, keys, *n > 5 ? ", ..." : "");
	return ETL_OK;
}

/* Deletes the rows the load inserted (*deleted), but with kept (the rows
 * changed since, --keep-changed) not those: named by id, since Citus takes
 * no row version test in a DELETE.  qt, qi: the table and its id column,
 * quoted. */
static enum etl_code
delete_inserted(PGconn *conn, const char *qt, const char *qi, const char *id, bool kept,
                int64_t *deleted, struct etl_error *err)
{
	const char *params[2] = {id, NULL};
	PGresult *r;
	if (kept)
		r = db_queryf(conn, 1, params, err,
		              "DELETE FROM %s t USING " UNDO_IDS " i WHERE t.%s BETWEEN i.first_id "
		              "AND i.last_id AND t.%s NOT IN (SELECT c.k FROM (" INSERTED_CHANGED
		              ") c)",
		              qt, qi, qi, qi, qt, qi);
	else
		r = db_queryf(conn, 1, params, err,
		              "DELETE FROM %s t USING " UNDO_IDS " i WHERE t.%s BETWEEN i.first_id "
		              "AND i.last_id",
		              qt, qi);
	if (r == NULL)
		return err->code;
	*deleted = ledger_affected(r);
	PQclear(r);
	return ETL_OK;
}

/* Gives the rows the load updated their earlier values back (*restored),
 * but with kept (--keep-changed) only those that still hold what the load
 * gave; outside Citus the rows another load inserted go back in a
 * savepoint of their own (restore_written()). */
static enum etl_code
restore_updated(PGconn *conn, const struct undo_cols *uc, const char *qt, const char *qi,
                const char *id, bool kept, int64_t *restored, struct etl_error *err)
{
	struct buf base = {0};
	int64_t written = 0;
	sql_printf(&base,
	           "UPDATE %s t SET (%s) = (SELECT %s FROM json_populate_record(NULL::%s, "
	           "b.data::json) r) FROM (SELECT row_id, data, after_data FROM "
	           "etl_load_before WHERE load_id = $1) b WHERE t.%s = b.row_id",
	           qt, uc->cols.data, uc->rcols.data, qt, qi);
	if (kept)
		sql_printf(&base,
		           " AND (b.after_data IS NULL OR ROW(%s) IS NOT DISTINCT FROM "
		           "(SELECT ROW(%s) FROM json_populate_record(NULL::%s, "
		           "b.after_data::json) r))",
		           uc->tcols.data, uc->vcols.data, qt);
	enum etl_code rc;
	if (!db_citus_coordinator(conn) &&
	    (rc = restore_written(conn, &base, qi, id, &written, err)) != ETL_OK) {
		buf_free(&base);
		return rc;
	}
	if (!db_citus_coordinator(conn))
		sql_printf(&base, " AND NOT " WRITTEN_BEFORE);
	PGresult *r = run_built(conn, &base, id, err);
	if (r == NULL)
		return err->code;
	*restored = written + ledger_affected(r);
	PQclear(r);
	return ETL_OK;
}

/* Undoes load e inside the caller's transaction. */
enum etl_code
ledger_undo_in_txn(PGconn *conn, const struct ledger *e, const struct seen *s,
                   enum undo_changed changed, struct ledger_undo *u, struct etl_error *err)
{
	enum kind k = table_kind_from_name(e->kind);
	char id[24];
	ledger_id_text(id, sizeof id, e->load_id);
	memset(u, 0, sizeof *u);
	if (k == KIND_NONE)
		return error_set(err, ETL_EUSAGE, NULL, 0, "load %s is not a load of a file", id);
	const struct table_def *t = table_get(k);
	if (!e->undoable && e->rows_loaded + e->rows_updated > 0)
		return error_set(err, ETL_EDB, NULL, 0,
		                 "load %s cannot be undone: the ids of the rows it inserted were "
		                 "not recorded (it ran before siprems-etl 0.2, or %s's ids do not "
		                 "come from a sequence)",
		                 id, t->table);
	if (!plain_names(s->update_columns))
		return error_set(err, ETL_EDB, NULL, 0, "load %s: unexpected update_columns", id);
	enum etl_code rc = refuse_referenced(conn, t, id, err);
	if (rc == ETL_OK)
		rc = refuse_changed_later(conn, e, id, err);
	if (rc != ETL_OK)
		return rc;

	struct undo_cols uc = {0};
	char qt[160], qi[160];
	if (!quote_name(conn, t->table, qt, sizeof qt) ||
	    !quote_name(conn, t->id_column, qi, sizeof qi))
		return error_oom(err, NULL, 0);
	int64_t nchanged = 0, ninserted = 0;
	if ((rc = quote_update_columns(conn, t, s, &uc, err)) != ETL_OK)
		goto out;
	if ((rc = check_updated_changed(conn, t, id, changed, &uc, &nchanged, err)) != ETL_OK)
		goto out;
	u->kept = nchanged;
	if ((rc = check_inserted_changed(conn, t, id, changed, &ninserted, err)) != ETL_OK)
		goto out;
	u->kept_inserted = ninserted;
	if ((rc = delete_inserted(conn, qt, qi, id, ninserted > 0, &u->deleted, err)) != ETL_OK)
		goto out;
	if (uc.cols.len > 0 && (rc = restore_updated(conn, &uc, qt, qi, id, nchanged > 0,
	                                             &u->restored, err)) != ETL_OK)
		goto out;
	rc = forget(conn, id, u, err);
out:
	buf_free(&uc.cols);
	buf_free(&uc.rcols);
	buf_free(&uc.tcols);
	buf_free(&uc.vcols);
	return rc;
}

/* The load's rows of what it did are forgotten and it is marked undone. */
static enum etl_code
forget(PGconn *conn, const char *id, const struct ledger_undo *u, struct etl_error *err)
{
	const char *params[2] = {id, NULL};
	PGresult *r;
	char msg[200];
	(void)snprintf(
	        msg, sizeof msg, "undone: %lld row%s deleted, %lld row%s given their values back%s",
	        (long long)u->deleted, text_s(u->deleted), (long long)u->restored,
	        text_s(u->restored),
	        u->kept + u->kept_inserted > 0 ? "; rows changed since were left as they are" : "");
	params[1] = msg;
	static const char *const rows[] = {
	        /* The loads this one completed (it loaded their reject file,
	         * or the last of a chain of them: rejects_loaded_by), and,
	         * when it was itself completed so, the loads up its chain
	         * that the same load completed (their reject file is the one
	         * a load of the chain read): their rows are out again, their
	         * account open again (a rerun says so).  An undone load stays
	         * undone. */
	        "WITH RECURSIVE x AS (SELECT rejects_loaded_by AS by FROM etl_loads WHERE "
	        "load_id = $1::bigint), up (load_id, kind, file_name) AS (SELECT load_id, kind, "
	        "file_name FROM etl_loads WHERE load_id = $1::bigint UNION SELECT a.load_id, "
	        "a.kind, a.file_name FROM etl_loads a JOIN up ON a.kind = up.kind AND "
	        "a.reject_file = up.file_name WHERE a.rejects_loaded_by = (SELECT by FROM x)) "
	        "UPDATE etl_loads SET status = 'partial', rejects_loaded_by = NULL, message = "
	        "'its rejected rows are out again: load ' || $1::text || ', which had loaded "
	        "them, was undone', updated_at = now() WHERE load_id <> $1::bigint AND "
	        "status <> 'undone' AND rejects_loaded_by IS NOT NULL AND (rejects_loaded_by = "
	        "$1::bigint OR load_id IN (SELECT load_id FROM up))",
	        "DELETE FROM etl_load_ids WHERE load_id = $1",
	        "DELETE FROM etl_load_before WHERE load_id = $1",
	        "DELETE FROM etl_load_rejects WHERE load_id = $1",
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		r = db_query(conn, rows[i], 1, params, err);
		if (r == NULL)
			return ETL_EDB;
		PQclear(r);
	}
	r = db_query(conn,
	             "UPDATE etl_loads SET status = 'undone', message = $2, updated_at = now(), "
	             "lease_until = NULL WHERE load_id = $1",
	             2, params, err);
	if (r == NULL)
		return ETL_EDB;
	PQclear(r);
	return ETL_OK;
}
