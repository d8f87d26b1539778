/*
 * copy.c — COPY batches, conflicts and the isolation of refused rows.
 */
#include "copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "encode.h"
#include "pwhash.h"
#include "signals.h"

#define SEND_CHUNK (256 * 1024) /* bytes handed to libpq at a time */
#define RETRIES    5            /* for deadlocks and serialization failures */

struct copy_sink {
	PGconn *conn;
	const struct table_def *t;
	enum on_conflict mode;
	const char *labels[TABLE_MAXLABELS];
	bool single_txn;
	PGcancel *cancel;

	int ncols;
	int col[COLMAP_MAXCOLS]; /* table columns sent, in order */
	int alt[COLMAP_MAXCOLS]; /* a second source of the column (password for
	                            password_hash), used when the first is empty */
	bool binary;             /* COPY in binary format */
	enum bin_type bin[COLMAP_MAXCOLS];
	char types[COLMAP_MAXCOLS][64]; /* each column's SQL type */
	struct buf copy_sql;            /* COPY … FROM STDIN */
	struct buf insert_sql;          /* staged kinds: INSERT … ON CONFLICT … */
	bool staged;
	char stage[64];
	struct buf stage_sql; /* creates the staging table in a transaction */
	copy_begin_fn begun;
	void *begun_arg;
	int64_t load_id;
	bool identical_skips;
	char update_cols[512]; /* update: the columns it sets, "a,b" */

	/* Ids: when the table's primary key is one integer column filled by a
	 * sequence, each batch reserves its ids from the sequence and every row
	 * carries one, so that the load can record them and be undone. */
	bool id_ok;
	struct ledger_ids *ids; /* the batch's reserved ranges */
	int nids, capids;
	int id_range;   /* the range the next id comes from */
	int64_t id_cur; /* the next id there */

	/* The batch. */
	struct buf data; /* encoded rows */
	size_t sent;     /* bytes of data already streamed */
	struct buf orig; /* records as read: n, then (len, bytes) per field */
	struct buf keys; /* each row's key as shown in messages, NUL-ended */
	size_t *key_off;
	size_t *off; /* row i is data[off[i], off[i+1]) */
	size_t *orig_off;
	long *line;
	int64_t *number;
	int n, cap;
	bool in_copy;
	bool in_batch;

	/* The fast path: one COPY, nothing kept, rebuild at the end. */
	bool fast;
	int jobs;
	int64_t fast_rows;
	/* The fast path numbers the rows itself, from the id column's sequence
	 * (a nextval per row costs more than the COPY of the row). */
	bool own_ids;
	bool id_int8;
	bool id_overflow; /* the sequence ran out: leave it to the batches */
	char id_col[140];
	char id_seq[160];   /* the sequence, as a regclass literal */
	char fast_why[400]; /* why the fast path gave way */
	int64_t id_next, id_max, id_first;
	char **rebuild; /* statements that recreate what was dropped */
	int nrebuild;

	struct copy_reject *rejects;
	int nrej, rejcap;
	bool oom;      /* a reject could not be recorded */
	char **fields; /* scratch for copy_row_record() */
	size_t *lens;
	int fcap;
};

/* ---- SQL helpers --------------------------------------------------------- */

static void
buf_str(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void buf_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
buf_fmt(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A row's leading fields in the COPY stream: the binary tuple header, the
 * staging order (ord >= 0) and the id (id != NULL), binary or text.  Both
 * paths start their rows here. */
static void
row_start(struct copy_sink *s, struct buf *b, int ord, const int64_t *id)
{
	if (s->binary) {
		encode_bin_tuple(b, s->ncols + (ord >= 0 ? 1 : 0) + (id != NULL ? 1 : 0));
		if (ord >= 0)
			encode_bin_int4(b, ord);
		if (id != NULL) {
			struct value v = {.type = V_INT, .i = *id};
			encode_bin_value(b, &v, s->id_int8 ? BIN_INT8 : BIN_INT4, NULL);
		}
		return;
	}
	char pre[48];
	size_t k = 0;
	if (ord >= 0) {
		k += encode_uint(pre, (uint64_t)ord);
		pre[k++] = '\t';
	}
	if (id != NULL) {
		k += encode_uint(pre + k, (uint64_t)*id);
		pre[k++] = '\t';
	}
	buf_put(b, pre, k);
}

/* "prefix id, " when the rows carry their ids. */
static void
id_first(const struct copy_sink *s, struct buf *b, const char *prefix)
{
	if (s->id_ok)
		buf_fmt(b, "%s%s, ", prefix, s->id_col);
}

/* Whether sent column i carries a password hash made here (with a new salt
 * each time, so never equal to the stored one). */
static bool
made_hash(const struct copy_sink *s, int i)
{
	return s->t->cols[s->col[i]].rule == RULE_PASSWORD ||
	       (s->alt[i] >= 0 && s->t->cols[s->alt[i]].rule == RULE_PASSWORD);
}

/* "(t.a, t.b) IS NOT DISTINCT FROM (s.a, s.b)" over the non-key columns
 * that can be compared, or "true". */
static void
same_values(const struct copy_sink *s, struct buf *b)
{
	bool any = false;
	for (int pass = 0; pass < 2; pass++) {
		bool first = true;
		for (int i = 0; i < s->ncols; i++) {
			const struct col_def *c = &s->t->cols[s->col[i]];
			if ((c->flags & COL_KEY) || made_hash(s, i))
				continue;
			buf_fmt(b, "%s%s%s", first ? "(" : ", ", pass ? "s." : "t.", c->db_column);
			first = false;
			any = true;
		}
		if (!any)
			break;
		buf_str(b, pass ? ")" : ") IS NOT DISTINCT FROM ");
	}
	if (!any)
		buf_str(b, "true");
}

/* Appends the sent columns as "a, b, c", each prefixed with prefix. */
static void
col_list(struct copy_sink *s, struct buf *b, const char *prefix, bool skip_key)
{
	bool first = true;
	for (int i = 0; i < s->ncols; i++) {
		const struct col_def *c = &s->t->cols[s->col[i]];
		if (skip_key && (c->flags & COL_KEY))
			continue;
		buf_fmt(b, "%s%s%s", first ? "" : ", ", prefix, c->db_column);
		first = false;
	}
}

static void
key_list(const struct table_def *t, struct buf *b, const char *prefix)
{
	for (int k = 0; k < t->nkey; k++)
		buf_fmt(b, "%s%s%s", k ? ", " : "", prefix, t->cols[t->key[k]].db_column);
}

static void
key_join(const struct table_def *t, struct buf *b, const char *l, const char *r)
{
	for (int k = 0; k < t->nkey; k++)
		buf_fmt(b, "%s%s.%s = %s.%s", k ? " AND " : "", l, t->cols[t->key[k]].db_column, r,
		        t->cols[t->key[k]].db_column);
}

static bool
has_non_key(const struct copy_sink *s)
{
	for (int i = 0; i < s->ncols; i++)
		if (!(s->t->cols[s->col[i]].flags & COL_KEY))
			return true;
	return false;
}

/* The columns an --on-conflict update sets: the file's non-key columns
 * (names[0, nfile)), then those set to now() (users.updated_at).  Returns
 * how many. */
static int
update_set(const struct copy_sink *s, const char **names, int *nfile)
{
	int n = 0;
	for (int i = 0; i < s->ncols; i++)
		if (!(s->t->cols[s->col[i]].flags & COL_KEY))
			names[n++] = s->t->cols[s->col[i]].db_column;
	*nfile = n;
	if (s->t->touch_on_update != NULL)
		names[n++] = s->t->touch_on_update;
	return n;
}

/* The ON CONFLICT statement.  With error/skip it returns the batch rows
 * whose key existed; with update, every row with i(nserted), u(pdated) or
 * s (unchanged). */
static void
build_insert(struct copy_sink *s)
{
	struct buf *b = &s->insert_sql;
	const struct table_def *t = s->t;
	bool update = s->mode == CONFLICT_UPDATE && has_non_key(s);
	const char *set[COLMAP_MAXCOLS + 1];
	int nfile = 0, nset = update ? update_set(s, set, &nfile) : 0;
	buf_str(b, "WITH ");
	if (update && s->load_id > 0) {
		/* The rows' values before the update, for undo. */
		buf_fmt(b,
		        "etl_before AS (INSERT INTO etl_load_before (load_id, row_id, data) "
		        "SELECT %lld, t.%s, json_build_object(",
		        (long long)s->load_id, t->id_column);
		for (int i = 0; i < nset; i++)
			buf_fmt(b, "%s'%s', t.%s", i ? ", " : "", set[i], set[i]);
		buf_fmt(b, ")::text FROM %s t JOIN %s s ON ", t->table, s->stage);
		key_join(t, b, "t", "s");
		buf_str(b, " WHERE (");
		col_list(s, b, "t.", true);
		buf_str(b, ") IS DISTINCT FROM (");
		col_list(s, b, "s.", true);
		buf_str(b, ")), ");
	}
	buf_fmt(b, "done AS (INSERT INTO %s AS t (", t->table);
	id_first(s, b, "");
	col_list(s, b, "", false);
	buf_str(b, ") SELECT ");
	id_first(s, b, "");
	col_list(s, b, "", false);
	buf_fmt(b, " FROM %s ORDER BY etl_ord ON CONFLICT (", s->stage);
	key_list(t, b, "");
	if (update) {
		buf_str(b, ") DO UPDATE SET ");
		for (int i = 0; i < nset; i++) {
			buf_fmt(b, "%s%s = ", i ? ", " : "", set[i]);
			if (i < nfile)
				buf_fmt(b, "EXCLUDED.%s", set[i]);
			else
				buf_str(b, "now()");
		}
		buf_str(b, " WHERE (");
		col_list(s, b, "t.", true);
		buf_str(b, ") IS DISTINCT FROM (");
		col_list(s, b, "EXCLUDED.", true);
		buf_str(b, ") RETURNING ");
		key_list(t, b, "t.");
		buf_str(b, ", t.xmax = 0 AS etl_inserted) SELECT s.etl_ord, CASE WHEN "
		           "d.etl_inserted IS NULL THEN 's' WHEN d.etl_inserted THEN 'i' ELSE 'u' "
		           "END FROM ");
		buf_fmt(b, "%s s LEFT JOIN done d ON ", s->stage);
		key_join(t, b, "d", "s");
		buf_str(b, " ORDER BY 1");
	} else {
		buf_str(b, ") DO NOTHING RETURNING ");
		key_list(t, b, "t.");
		buf_str(b, ") SELECT s.etl_ord");
		if (s->identical_skips) {
			/* Whether the existing row already holds the file's values. */
			buf_fmt(b, ", EXISTS (SELECT 1 FROM %s t WHERE ", t->table);
			key_join(t, b, "t", "s");
			buf_str(b, " AND ");
			same_values(s, b);
			buf_str(b, ")");
		}
		buf_fmt(b, " FROM %s s WHERE NOT EXISTS (SELECT 1 FROM done d WHERE ", s->stage);
		key_join(t, b, "d", "s");
		buf_str(b, ") ORDER BY 1");
	}
	size_t k = 0;
	for (int i = 0; i < nset && k < sizeof s->update_cols; i++)
		k += (size_t)snprintf(s->update_cols + k, sizeof s->update_cols - k, "%s%s",
		                      i ? "," : "", set[i]);
}

/* Whether every value column c accepts can be sent as binary type t. */
static bool
bin_fits(const struct col_def *c, enum bin_type t)
{
	if (c->flags & COL_REF) /* the id of the row it names */
		return t == BIN_INT4 || t == BIN_INT8;
	switch (c->rule) {
	case RULE_INT:
		if (t == BIN_INT4)
			return c->min >= INT32_MIN && c->max <= INT32_MAX;
		return t == BIN_INT8;
	case RULE_MONEY:
		return t == BIN_NUMERIC;
	case RULE_TIMESTAMP:
		return t == BIN_TIMESTAMP;
	case RULE_DATE:
		return t == BIN_DATE;
	case RULE_BOOL:
		return t == BIN_BOOL;
	default:
		return t == BIN_TEXT;
	}
}

/* Reads the target's column types: the staging table copies them, and
 * binary COPY is used when every column sent has a binary form here that
 * fits its values (else text, which the server converts itself). */
static enum etl_code
column_types(struct copy_sink *s, bool utc, bool text_only, struct etl_error *err)
{
	const char *params[1] = {s->t->table};
	PGresult *r = db_query(s->conn,
	                       "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname, "
	                       "t.typtype FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
	                       "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT "
	                       "a.attisdropped",
	                       1, params, err);
	if (r == NULL)
		return ETL_EDB;
	s->binary = !text_only;
	for (int i = 0; i < s->ncols; i++) {
		const struct col_def *c = &s->t->cols[s->col[i]];
		(void)snprintf(s->types[i], sizeof s->types[i], "text");
		s->bin[i] = BIN_NONE;
		for (int j = 0; j < PQntuples(r); j++) {
			if (strcmp(PQgetvalue(r, j, 0), c->db_column) != 0)
				continue;
			(void)snprintf(s->types[i], sizeof s->types[i], "%s", PQgetvalue(r, j, 1));
			const char *typname = PQgetvalue(r, j, 2);
			s->bin[i] = encode_bin_type(typname, PQgetvalue(r, j, 3)[0]);
			/* TIMESTAMPTZ takes the wall clock only when it is UTC. */
			if (strcmp(typname, "timestamptz") == 0 && utc)
				s->bin[i] = BIN_TIMESTAMP;
		}
		bool fits = bin_fits(c, s->bin[i]);
		if (s->alt[i] >= 0)
			fits = fits && bin_fits(&s->t->cols[s->alt[i]], s->bin[i]);
		s->binary = s->binary && fits;
	}
	PQclear(r);
	return ETL_OK;
}

/* The statement that creates the staging table, with the target's own
 * column types, inside a transaction that drops it at its end: nothing of
 * it outlives the transaction, whichever server connection a pooler gives.
 * In one transaction for the whole file it is made once, then emptied. */
static void
stage_sql(struct copy_sink *s, int stage_id)
{
	(void)snprintf(s->stage, sizeof s->stage, "etl_stage_%s_%ld_%d", s->t->name, (long)getpid(),
	               stage_id);
	struct buf *b = &s->stage_sql;
	buf_fmt(b, "CREATE TEMP TABLE %s%s (etl_ord integer", s->single_txn ? "IF NOT EXISTS " : "",
	        s->stage);
	if (s->id_ok)
		buf_fmt(b, ", %s %s", s->id_col, s->id_int8 ? "bigint" : "integer");
	for (int i = 0; i < s->ncols; i++)
		buf_fmt(b, ", %s %s", s->t->cols[s->col[i]].db_column, s->types[i]);
	buf_str(b, ") ON COMMIT DROP");
	if (s->single_txn)
		buf_fmt(b, "; TRUNCATE %s", s->stage);
	buf_put(b, "", 1);
}

/* Whether the rows can carry ids from the table's sequence: its primary
 * key is the kind's id column, one integer column the file does not give,
 * filled by a sequence that counts by one (not GENERATED ALWAYS). */
static enum etl_code
id_column(struct copy_sink *s, struct etl_error *err)
{
	const char *params[1] = {s->t->table};
	s->id_ok = false;
	PGresult *r = db_query(
	        s->conn,
	        "SELECT quote_ident(a.attname), quote_literal(q.seqrelid::regclass::text), "
	        "t.typname = 'int8', least(q.seqmax, CASE t.typname WHEN 'int2' THEN 32767 "
	        "WHEN 'int4' THEN 2147483647 ELSE 9223372036854775807 END), a.attname "
	        "FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
	        "AND a.attnum = i.indkey[0] JOIN pg_type t ON t.oid = a.atttypid "
	        "JOIN pg_sequence q ON q.seqrelid = "
	        "to_regclass(pg_get_serial_sequence($1, a.attname)) "
	        "WHERE i.indrelid = to_regclass($1) AND i.indisprimary AND i.indnatts = 1 "
	        "AND t.typname IN ('int4', 'int8') AND q.seqincrement = 1 "
	        "AND a.attidentity <> 'a'",
	        1, params, err);
	if (r == NULL)
		return ETL_EDB;
	bool found = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 4), s->t->id_column) == 0;
	for (int i = 0; found && i < s->ncols; i++)
		if (strcmp(s->t->cols[s->col[i]].db_column, PQgetvalue(r, 0, 4)) == 0)
			found = false; /* the file gives the ids */
	if (found) {
		(void)snprintf(s->id_col, sizeof s->id_col, "%s", PQgetvalue(r, 0, 0));
		(void)snprintf(s->id_seq, sizeof s->id_seq, "%s", PQgetvalue(r, 0, 1));
		s->id_int8 = PQgetvalue(r, 0, 2)[0] == 't';
		s->id_max = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
		s->id_ok = true;
	}
	PQclear(r);
	return ETL_OK;
}

enum etl_code
copy_open(struct copy_sink **out, const struct copy_opts *o, struct etl_error *err)
{
	struct copy_sink *s = calloc(1, sizeof *s);
	enum etl_code rc = ETL_OK;
	*out = NULL;
	if (s == NULL)
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	s->conn = o->conn;
	s->t = o->map->t;
	s->mode = o->on_conflict;
	s->single_txn = o->single_transaction;
	s->begun = o->begun;
	s->begun_arg = o->begun_arg;
	s->load_id = o->load_id;
	s->identical_skips = o->identical_skips;
	for (int i = 0; i < TABLE_MAXLABELS; i++)
		s->labels[i] = o->facts->event_labels[i];
	s->staged = s->t->nkey > 0;

	/* The columns sent: those the file has, plus a sales row's price
	 * (taken from the product when empty); password and password_hash
	 * both fill password_hash. */
	const struct table_def *t = s->t;
	for (int c = 0; c < t->ncols; c++) {
		bool in_file = o->map->col_field[c] >= 0;
		if (!in_file && t->cols[c].empty_rule != EMPTY_REF)
			continue;
		int dup = -1;
		for (int i = 0; i < s->ncols; i++)
			if (strcmp(t->cols[s->col[i]].db_column, t->cols[c].db_column) == 0)
				dup = i;
		if (dup >= 0) {
			s->alt[dup] = c; /* fills the column when the first is empty */
			continue;
		}
		s->col[s->ncols] = c;
		s->alt[s->ncols] = -1;
		s->ncols++;
	}
	rc = column_types(s, o->utc, o->text_only, err);
	if (rc == ETL_OK)
		rc = id_column(s, err);
	if (rc != ETL_OK)
		goto out;
	if (s->staged) {
		stage_sql(s, o->stage_id);
		build_insert(s);
		buf_put(&s->insert_sql, "", 1);
		buf_fmt(&s->copy_sql, "COPY %s (etl_ord, ", s->stage);
	} else {
		buf_fmt(&s->copy_sql, "COPY %s (", t->table);
	}
	id_first(s, &s->copy_sql, "");
	col_list(s, &s->copy_sql, "", false);
	buf_str(&s->copy_sql, s->binary ? ") FROM STDIN WITH (FORMAT binary)" : ") FROM STDIN");
	buf_put(&s->copy_sql, "", 1);
	s->cancel = PQgetCancel(s->conn);
	if (s->copy_sql.failed || s->insert_sql.failed || s->stage_sql.failed)
		rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
out:
	if (rc != ETL_OK)
		copy_close(s);
	else
		*out = s;
	return rc;
}

void
copy_close(struct copy_sink *s)
{
	if (s == NULL)
		return;
	signals_set_cancel(NULL);
	PQfreeCancel(s->cancel);
	buf_free(&s->stage_sql);
	free(s->ids);
	buf_free(&s->copy_sql);
	buf_free(&s->insert_sql);
	buf_free(&s->data);
	buf_free(&s->orig);
	for (int i = 0; i < s->nrej; i++)
		free(s->rejects[i].reason);
	free(s->rejects);
	free(s->off);
	free(s->orig_off);
	free(s->line);
	free(s->number);
	free(s->key_off);
	buf_free(&s->keys);
	free(s->fields);
	free(s->lens);
	for (int i = 0; i < s->nrebuild; i++)
		free(s->rebuild[i]);
	free(s->rebuild);
	free(s);
}

/* ---- one batch ------------------------------------------------------------ */

/* Runs a statement expected to return no rows; a cancelled query counts as
 * what it is, a database error. */
static enum etl_code
exec(struct copy_sink *s, const char *sql, struct etl_error *err)
{
	return db_exec(s->conn, sql, err);
}

/* A binary COPY stream opens with its header. */
static enum etl_code
send_header(struct copy_sink *s, struct etl_error *err)
{
	if (!s->binary)
		return ETL_OK;
	struct buf h = {0};
	encode_bin_header(&h);
	int ok = !h.failed && PQputCopyData(s->conn, h.data, (int)h.len) == 1;
	buf_free(&h);
	return ok ? ETL_OK : db_error(s->conn, NULL, "cannot send rows", err);
}

/* Starts COPY; returns ETL_OK with the connection in COPY IN state. */
static enum etl_code
start_copy(struct copy_sink *s, struct etl_error *err)
{
	signals_set_cancel(s->cancel);
	PGresult *r = db_run(s->conn, s->copy_sql.data);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		enum etl_code rc = db_error(s->conn, r, "cannot start COPY", err);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	s->in_copy = true;
	return send_header(s, err);
}

/* A batch's transaction (or savepoint): BEGIN, the caller's hook, the
 * staging table. */
static enum etl_code
begin_txn(struct copy_sink *s, struct etl_error *err)
{
	enum etl_code rc = exec(s, s->single_txn ? "SAVEPOINT etl_batch" : "BEGIN", err);
	if (rc != ETL_OK)
		return rc;
	s->in_batch = true;
	if (!s->single_txn && s->begun != NULL)
		rc = s->begun(s->begun_arg, err);
	if (rc == ETL_OK && s->staged)
		rc = exec(s, s->stage_sql.data, err);
	return rc;
}

/* Reserves n ids from the sequence, as ranges of consecutive ids (other
 * sessions' nextval() may interleave). */
static enum etl_code
reserve_ids(struct copy_sink *s, int64_t n, struct etl_error *err)
{
	s->nids = s->id_range = 0;
	if (!s->id_ok || n <= 0)
		return ETL_OK;
	char sql[400], count[24];
	(void)snprintf(
	        sql, sizeof sql,
	        "SELECT min(id), max(id) FROM (SELECT id, id - row_number() OVER (ORDER BY "
	        "id) AS g FROM (SELECT nextval(%s) AS id FROM generate_series(1, $1::bigint)) "
	        "a) b GROUP BY g ORDER BY 1",
	        s->id_seq);
	(void)snprintf(count, sizeof count, "%lld", (long long)n);
	const char *params[1] = {count};
	PGresult *r = db_query(s->conn, sql, 1, params, err);
	if (r == NULL)
		return ETL_EDB;
	int k = PQntuples(r);
	if (k > s->capids) {
		struct ledger_ids *v = realloc(s->ids, (size_t)k * sizeof *v);
		if (v == NULL) {
			PQclear(r);
			return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
		}
		s->ids = v;
		s->capids = k;
	}
	for (int i = 0; i < k; i++) {
		s->ids[i].first = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		s->ids[i].last = strtoll(PQgetvalue(r, i, 1), NULL, 10);
	}
	s->nids = k;
	s->id_cur = k > 0 ? s->ids[0].first : 0;
	PQclear(r);
	return ETL_OK;
}

/* The next reserved id; false when the reservation ran out. */
static bool
next_id(struct copy_sink *s, int64_t *id)
{
	while (s->id_range < s->nids && s->id_cur > s->ids[s->id_range].last) {
		s->id_range++;
		if (s->id_range < s->nids)
			s->id_cur = s->ids[s->id_range].first;
	}
	if (s->id_range >= s->nids)
		return false;
	*id = s->id_cur++;
	return true;
}

enum etl_code
copy_begin(struct copy_sink *s, int64_t rows, struct etl_error *err)
{
	for (int i = 0; i < s->nrej; i++)
		free(s->rejects[i].reason);
	s->nrej = 0;
	s->oom = false;
	s->n = 0;
	s->data.len = s->orig.len = s->keys.len = 0;
	s->sent = 0;
	enum etl_code rc = begin_txn(s, err);
	if (rc == ETL_OK)
		rc = reserve_ids(s, rows, err);
	if (rc != ETL_OK)
		return rc;
	return start_copy(s, err);
}

bool
copy_ids_recorded(const struct copy_sink *s)
{
	return s->id_ok;
}

const char *
copy_update_columns(const struct copy_sink *s)
{
	return s->update_cols[0] != '\0' ? s->update_cols : NULL;
}

static bool
grow_rows(struct copy_sink *s)
{
	if (s->n + 2 <= s->cap)
		return true;
	int cap = s->cap ? s->cap * 2 : 1024;
	size_t *off = realloc(s->off, (size_t)(cap + 1) * sizeof *off);
	if (off != NULL)
		s->off = off;
	size_t *oo = realloc(s->orig_off, (size_t)cap * sizeof *oo);
	if (oo != NULL)
		s->orig_off = oo;
	long *line = realloc(s->line, (size_t)cap * sizeof *line);
	if (line != NULL)
		s->line = line;
	size_t *ko = realloc(s->key_off, (size_t)cap * sizeof *ko);
	if (ko != NULL)
		s->key_off = ko;
	int64_t *num = realloc(s->number, (size_t)cap * sizeof *num);
	if (num != NULL)
		s->number = num;
	if (off == NULL || oo == NULL || line == NULL || ko == NULL || num == NULL)
		return false;
	s->cap = cap;
	return true;
}

static enum etl_code
send(struct copy_sink *s, size_t upto, struct etl_error *err)
{
	if (upto > s->sent &&
	    PQputCopyData(s->conn, s->data.data + s->sent, (int)(upto - s->sent)) != 1)
		return db_error(s->conn, NULL, "cannot send rows", err);
	s->sent = upto;
	return ETL_OK;
}

/* Appends the values of a row and its line end (a plaintext password is
 * hashed here: stored only as a hash, it goes nowhere else). */
static enum etl_code
encode_row(struct copy_sink *s, const struct valid_row *row, struct buf *b, struct etl_error *err)
{
	for (int i = 0; i < s->ncols; i++) {
		if (i > 0 && !s->binary)
			buf_put(b, "\t", 1);
		int src = s->col[i];
		const struct value *v = &row->v[src];
		if ((v->type == V_NULL || v->type == V_ABSENT) && s->alt[i] >= 0) {
			src = s->alt[i];
			v = &row->v[src];
		}
		if (s->t->cols[src].rule == RULE_PASSWORD && v->type == V_TEXT) {
			char hash[PWHASH_LEN];
			enum etl_code rc = pwhash_make(v->s, v->n, 0, hash, err);
			if (rc != ETL_OK)
				return rc;
			if (s->binary)
				encode_bin_text(b, hash, strlen(hash));
			else
				encode_text(b, hash, strlen(hash));
		} else if (s->binary) {
			encode_bin_value(b, v, s->bin[i], s->labels);
		} else {
			encode_value(b, v, s->labels);
		}
	}
	if (!s->binary)
		buf_put(b, "\n", 1);
	return ETL_OK;
}

enum etl_code
copy_add(struct copy_sink *s, const struct valid_row *row, const struct csvrow_record *rec,
         int64_t number, struct etl_error *err)
{
	if (!s->fast && !grow_rows(s))
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	struct buf *b = &s->data;
	if (s->fast) {
		/* One COPY of the whole file: nothing is kept for isolation. */
		if (s->own_ids && s->id_next > s->id_max) {
			s->id_overflow = true;
			return ETL_OK;
		}
		row_start(s, b, -1, s->own_ids ? &s->id_next : NULL);
		s->id_next++;
		enum etl_code rc = encode_row(s, row, b, err);
		if (rc != ETL_OK)
			return rc;
		s->fast_rows++;
		if (b->len - s->sent >= SEND_CHUNK) {
			rc = send(s, b->len, err);
			b->len = s->sent = 0;
		}
		return rc;
	}
	if (s->n == 0)
		s->off[0] = b->len;
	int64_t id;
	if (s->id_ok && !next_id(s, &id))
		return error_set(err, ETL_EINPUT, NULL, rec->line,
		                 "the file has more rows than when it was read first: it changed "
		                 "while it loaded");
	row_start(s, b, s->staged ? s->n : -1, s->id_ok ? &id : NULL);
	enum etl_code rc = encode_row(s, row, b, err);
	if (rc != ETL_OK)
		return rc;
	s->off[s->n + 1] = b->len;
	s->line[s->n] = rec->line;
	s->number[s->n] = number;
	if (s->staged) {
		char shown[400];
		valid_show_key(s->t, row, shown, sizeof shown);
		s->key_off[s->n] = s->keys.len;
		buf_put(&s->keys, shown, strlen(shown) + 1);
	}

	/* The record as read: nfields, then each field's length and bytes. */
	struct buf *o = &s->orig;
	s->orig_off[s->n] = o->len;
	uint32_t nf = (uint32_t)rec->nfields;
	buf_put(o, &nf, sizeof nf);
	for (int i = 0; i < rec->nfields; i++) {
		uint32_t len = (uint32_t)rec->lens[i];
		buf_put(o, &len, sizeof len);
		buf_put(o, rec->fields[i], rec->lens[i]);
	}
	if (b->failed || o->failed || s->keys.failed)
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	s->n++;
	if (b->len - s->sent >= SEND_CHUNK)
		return send(s, b->len, err);
	return ETL_OK;
}

int
copy_rows(const struct copy_sink *s)
{
	return s->n;
}

void
copy_row_record(struct copy_sink *s, int i, struct csvrow_record *rec, int64_t *number)
{
	*number = s->number[i];
	const char *p = s->orig.data + s->orig_off[i];
	uint32_t nf;
	memcpy(&nf, p, sizeof nf);
	p += sizeof nf;
	if ((int)nf > s->fcap) {
		char **f = realloc(s->fields, nf * sizeof *f);
		size_t *l = realloc(s->lens, nf * sizeof *l);
		if (f != NULL)
			s->fields = f;
		if (l != NULL)
			s->lens = l;
		if (f == NULL || l == NULL)
			nf = (uint32_t)s->fcap;
		else
			s->fcap = (int)nf;
	}
	for (uint32_t k = 0; k < nf; k++) {
		uint32_t len;
		memcpy(&len, p, sizeof len);
		p += sizeof len;
		s->fields[k] = (char *)p;
		s->lens[k] = len;
		p += len;
	}
	rec->line = rec->end_line = s->line[i];
	rec->nfields = (int)nf;
	rec->fields = s->fields;
	rec->lens = s->lens;
	rec->error = NULL;
}

/* Ends a running COPY; returns its result (the caller clears it). */
static PGresult *
end_copy(struct copy_sink *s, const char *abort_why)
{
	s->in_copy = false;
	if (s->binary && abort_why == NULL) {
		struct buf t = {0};
		encode_bin_trailer(&t);
		int ok = !t.failed && PQputCopyData(s->conn, t.data, (int)t.len) == 1;
		buf_free(&t);
		if (!ok)
			return NULL;
	}
	if (PQputCopyEnd(s->conn, abort_why) != 1)
		return NULL;
	PGresult *r = PQgetResult(s->conn), *extra;
	while ((extra = PQgetResult(s->conn)) != NULL)
		PQclear(extra);
	signals_set_cancel(NULL);
	return r;
}

/* Row-level errors reject rows; anything else stops the batch.  A sequence
 * that ran out (2200H) is the database's problem, not the row's: rejecting
 * every later row would only move the file into its reject file. */
static bool
row_level(const char *sqlstate)
{
	if (strcmp(sqlstate, "2200H") == 0)
		return false;
	return strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0 ||
	       strncmp(sqlstate, "P0", 2) == 0 || strncmp(sqlstate, "44", 2) == 0;
}

static bool
retryable(const char *sqlstate)
{
	return strncmp(sqlstate, "40", 2) == 0; /* deadlock, serialization */
}

/* The row a COPY error names ("COPY x, line N"), 1-based, or 0. */
static long
copy_error_line(const PGresult *r)
{
	const char *ctx = PQresultErrorField(r, PG_DIAG_CONTEXT);
	for (const char *p = ctx; p != NULL && *p != '\0';) {
		if (strncmp(p, "COPY ", 5) == 0) {
			const char *l = strstr(p, ", line ");
			const char *eol = strchr(p, '\n');
			if (l != NULL && (eol == NULL || l < eol))
				return strtol(l + 7, NULL, 10);
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return 0;
}

static void
add_reject(struct copy_sink *s, int row, const char *reason)
{
	if (s->nrej == s->rejcap) {
		int cap = s->rejcap ? s->rejcap * 2 : 64;
		struct copy_reject *r = realloc(s->rejects, (size_t)cap * sizeof *r);
		if (r == NULL) {
			s->oom = true;
			return;
		}
		s->rejects = r;
		s->rejcap = cap;
	}
	s->rejects[s->nrej].row = row;
	s->rejects[s->nrej].reason = strdup(reason);
	s->oom |= s->rejects[s->nrej].reason == NULL;
	s->nrej++;
}

/* The reason a refused row gets: the server's message and detail. */
static void
server_reason(const PGresult *r, char *buf, size_t size)
{
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
	(void)snprintf(buf, size, "the database refused the row: %s%s%.300s%s",
	               msg ? msg : "unknown error", detail ? " (" : "", detail ? detail : "",
	               detail ? ")" : "");
}

/* Reads what the ON CONFLICT statement returned for nrows staged rows. */
static void
read_outcome(struct copy_sink *s, PGresult *r, int nrows, struct copy_outcome *out)
{
	int64_t conflicts = 0;
	bool per_row = s->mode == CONFLICT_UPDATE && has_non_key(s);
	char why[640];
	for (int i = 0; i < PQntuples(r); i++) {
		int row = atoi(PQgetvalue(r, i, 0));
		if (row < 0 || row >= s->n)
			continue;
		if (per_row) {
			char what = PQgetvalue(r, i, 1)[0];
			out->loaded += what == 'i';
			out->updated += what == 'u';
			out->skipped += what == 's'; /* already had the file's values */
			continue;
		}
		conflicts++;
		if (PQnfields(r) > 1 && PQgetvalue(r, i, 1)[0] == 't') {
			out->skipped++; /* the row holds the file's values already */
		} else if (s->mode == CONFLICT_SKIP) {
			out->skipped++;
		} else {
			(void)snprintf(why, sizeof why,
			               "%s: %s already exists in the database (--on-conflict skip "
			               "keeps it, update replaces it)",
			               table_key_name(s->t), s->keys.data + s->key_off[row]);
			add_reject(s, row, why);
		}
	}
	if (!per_row)
		out->loaded += nrows - conflicts;
}

/* One try of rows [a, b): COPY them (and, staged, run the INSERT), adding
 * their outcomes to out.  Returns NULL on success, else the failed result
 * (the caller clears it); *line is the failed row's position (1-based) in
 * the COPY when the server said. */
static PGresult *
attempt(struct copy_sink *s, int a, int b, struct copy_outcome *out, long *line,
        struct etl_error *err)
{
	*line = 0;
	if (s->staged) {
		char sql[96];
		(void)snprintf(sql, sizeof sql, "DELETE FROM %s", s->stage);
		PGresult *r = db_run(s->conn, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			return r;
		PQclear(r);
	}
	if (start_copy(s, err) != ETL_OK)
		return PQmakeEmptyPGresult(s->conn, PGRES_FATAL_ERROR);
	if (PQputCopyData(s->conn, s->data.data + s->off[a], (int)(s->off[b] - s->off[a])) != 1) {
		(void)db_error(s->conn, NULL, "cannot send rows", err);
		return PQmakeEmptyPGresult(s->conn, PGRES_FATAL_ERROR);
	}
	PGresult *r = end_copy(s, NULL);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		if (r != NULL)
			*line = copy_error_line(r);
		return r != NULL ? r : PQmakeEmptyPGresult(s->conn, PGRES_FATAL_ERROR);
	}
	PQclear(r);
	if (!s->staged) {
		out->loaded += b - a;
		return NULL;
	}
	signals_set_cancel(s->cancel);
	r = db_run(s->conn, s->insert_sql.data);
	signals_set_cancel(NULL);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return r;
	read_outcome(s, r, b - a, out);
	PQclear(r);
	return NULL;
}

/* Settles rows [0, n) in savepoints: a refused range is split (at the row
 * the server named, or in halves) until every refused row stands alone. */
static enum etl_code
isolate(struct copy_sink *s, struct copy_outcome *out, struct etl_error *err)
{
	struct range {
		int a, b, tries;
	} *stack = malloc(sizeof *stack * 64);
	int top = 0, cap = 64;
	enum etl_code rc = ETL_OK;
	char why[512];
	if (stack == NULL)
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	if (s->n > 0)
		stack[top++] = (struct range){0, s->n, 0};
	while (top > 0 && rc == ETL_OK) {
		struct range g = stack[--top];
		rc = exec(s, "SAVEPOINT etl_try", err);
		if (rc != ETL_OK)
			break;
		long line;
		struct copy_outcome part = {0};
		int nrej_before = s->nrej;
		PGresult *r = attempt(s, g.a, g.b, &part, &line, err);
		if (r == NULL) {
			rc = exec(s, "RELEASE SAVEPOINT etl_try", err);
			out->loaded += part.loaded;
			out->updated += part.updated;
			out->skipped += part.skipped;
			continue;
		}
		const char *state = db_sqlstate(r);
		for (int i = nrej_before; i < s->nrej; i++)
			free(s->rejects[i].reason);
		s->nrej = nrej_before;
		if (PQstatus(s->conn) != CONNECTION_OK ||
		    (!row_level(state) && !retryable(state))) {
			rc = db_error(s->conn,
			              PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? r : NULL,
			              NULL, err);
			PQclear(r);
			break;
		}
		if (exec(s, "ROLLBACK TO SAVEPOINT etl_try", err) != ETL_OK) {
			PQclear(r);
			rc = ETL_EDB;
			break;
		}
		if (top + 3 > cap) {
			cap *= 2;
			struct range *ns = realloc(stack, sizeof *ns * (size_t)cap);
			if (ns == NULL) {
				PQclear(r);
				rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
				break;
			}
			stack = ns;
		}
		if (retryable(state) && g.tries < RETRIES) {
			(void)usleep(20000u << g.tries);
			stack[top++] = (struct range){g.a, g.b, g.tries + 1};
		} else if (g.b - g.a == 1) {
			server_reason(r, why, sizeof why);
			add_reject(s, g.a, why);
		} else if (line >= 1 && line <= g.b - g.a) {
			/* The server named the row: before it all went in. */
			int bad = g.a + (int)line - 1;
			if (bad + 1 < g.b)
				stack[top++] = (struct range){bad + 1, g.b, 0};
			stack[top++] = (struct range){bad, bad + 1, 0};
			if (g.a < bad)
				stack[top++] = (struct range){g.a, bad, 0};
		} else {
			int mid = g.a + (g.b - g.a) / 2;
			stack[top++] = (struct range){mid, g.b, 0};
			stack[top++] = (struct range){g.a, mid, 0};
		}
		PQclear(r);
	}
	free(stack);
	return rc;
}

enum etl_code
copy_end(struct copy_sink *s, struct copy_outcome *out, struct etl_error *err)
{
	enum etl_code rc;
	memset(out, 0, sizeof *out);
	rc = send(s, s->data.len, err);
	if (rc != ETL_OK) {
		copy_abort(s, "send failed");
		return rc;
	}
	PGresult *r = end_copy(s, NULL);
	if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK && s->staged) {
		PQclear(r);
		signals_set_cancel(s->cancel);
		r = db_run(s->conn, s->insert_sql.data);
		signals_set_cancel(NULL);
	}
	ExecStatusType st = PQresultStatus(r);
	bool refused = false;
	if (r == NULL) {
		rc = db_error(s->conn, NULL, "cannot end COPY", err);
	} else if (st == PGRES_TUPLES_OK) {
		read_outcome(s, r, s->n, out);
	} else if (st == PGRES_COMMAND_OK) {
		out->loaded = s->n;
	} else if (PQstatus(s->conn) == CONNECTION_OK &&
	           (row_level(db_sqlstate(r)) || retryable(db_sqlstate(r)))) {
		refused = true;
	} else {
		rc = db_error(s->conn, r, NULL, err);
	}
	PQclear(r);
	if (rc != ETL_OK) {
		copy_abort(s, NULL);
		return rc;
	}
	if (refused) {
		/* Start the batch over and settle it range by range. */
		rc = exec(s, s->single_txn ? "ROLLBACK TO SAVEPOINT etl_batch" : "ROLLBACK", err);
		if (rc == ETL_OK)
			rc = begin_txn(s, err);
		if (rc == ETL_OK)
			rc = isolate(s, out, err);
		if (rc != ETL_OK) {
			copy_abort(s, NULL);
			return rc;
		}
	}
	if (s->oom) {
		copy_abort(s, NULL);
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	}
	out->rejects = s->rejects;
	out->nrejects = s->nrej;
	out->ids = s->ids;
	out->nids = s->nids;
	return ETL_OK;
}

enum etl_code
copy_commit(struct copy_sink *s, struct etl_error *err)
{
	s->in_batch = false;
	return exec(s, s->single_txn ? "RELEASE SAVEPOINT etl_batch" : "COMMIT", err);
}

void
copy_abort(struct copy_sink *s, const char *why)
{
	if (s == NULL)
		return;
	if (s->in_copy) {
		PGresult *r = end_copy(s, why ? why : "aborted");
		PQclear(r);
	}
	signals_set_cancel(NULL);
	if (s->in_batch && PQstatus(s->conn) == CONNECTION_OK) {
		PGresult *r = db_run(s->conn, s->single_txn ? "ROLLBACK TO SAVEPOINT etl_batch"
		                                            : "ROLLBACK");
		PQclear(r);
	}
	s->in_batch = false;
}

enum etl_code
copy_finish(struct copy_sink *s, struct etl_error *err)
{
	s->in_batch = false;
	return exec(s, "COMMIT", err);
}

void
copy_abort_all(struct copy_sink *s)
{
	copy_abort(s, NULL);
	s->fast = false;
	if (PQstatus(s->conn) == CONNECTION_OK) {
		PGresult *r = db_run(s->conn, "ROLLBACK");
		PQclear(r);
	}
}

/* ---- the fast path ------------------------------------------------------------ */

static bool
add_rebuild(struct copy_sink *s, const char *sql)
{
	char **v = realloc(s->rebuild, (size_t)(s->nrebuild + 1) * sizeof *v);
	if (v == NULL)
		return false;
	s->rebuild = v;
	s->rebuild[s->nrebuild] = strdup(sql);
	return s->rebuild[s->nrebuild++] != NULL;
}

/* Rolls the fast path's transaction back; the table is as it was. */
static void
fast_rollback(struct copy_sink *s)
{
	if (s->in_copy) {
		PGresult *r = end_copy(s, "abandoned");
		PQclear(r);
	}
	PGresult *r = db_run(s->conn, "ROLLBACK");
	PQclear(r);
	s->fast = false;
	s->in_batch = false;
	for (int i = 0; i < s->nrebuild; i++)
		free(s->rebuild[i]);
	s->nrebuild = 0;
}

/* Whether the table holds no row: *empty, or false on any failure. */
static bool
table_empty(struct copy_sink *s, struct etl_error *err)
{
	char sql[200];
	(void)snprintf(sql, sizeof sql, "SELECT EXISTS (SELECT 1 FROM %s)", s->t->table);
	PGresult *r = db_query(s->conn, sql, 0, NULL, err);
	bool empty = r != NULL && PQgetvalue(r, 0, 0)[0] == 'f';
	PQclear(r);
	return empty;
}

/* The fast path numbers the rows itself when the ids can come from the
 * sequence (id_column()): the first is taken now, the sequence is set past
 * the last at the end. */
static enum etl_code
own_ids(struct copy_sink *s, struct etl_error *err)
{
	s->own_ids = s->id_overflow = false;
	if (!s->id_ok)
		return ETL_OK;
	char sql[200];
	(void)snprintf(sql, sizeof sql, "SELECT nextval(%s)", s->id_seq);
	PGresult *r = db_query(s->conn, sql, 0, NULL, err);
	if (r == NULL)
		return ETL_EDB;
	s->id_next = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	s->own_ids = true;
	s->id_first = s->id_next;
	return ETL_OK;
}

enum etl_code
copy_fast_begin(struct copy_sink *s, int jobs, bool *taken, struct etl_error *err)
{
	const char *params[1] = {s->t->table};
	PGresult *r = NULL;
	enum etl_code rc;
	*taken = false;
	s->jobs = jobs;
	rc = exec(s, "BEGIN", err);
	if (rc != ETL_OK)
		return rc;
	s->in_batch = true;
	if (s->begun != NULL && (rc = s->begun(s->begun_arg, err)) != ETL_OK) {
		fast_rollback(s);
		return rc;
	}
	/* Only the table's owner may drop its indexes; waiting long for the
	 * lock is worse than the batched path. */
	r = db_query(
	        s->conn,
	        "SELECT pg_has_role(relowner, 'MEMBER') FROM pg_class WHERE oid = to_regclass($1)",
	        1, params, err);
	if (r == NULL || PQntuples(r) != 1 || PQgetvalue(r, 0, 0)[0] != 't')
		goto not_taken;
	PQclear(r);
	r = NULL;
	/* A table that holds rows never sees the exclusive lock: look first,
	 * without it, and look again once it is held. */
	if (!table_empty(s, err))
		goto not_taken;
	char sql[512];
	(void)snprintf(sql, sizeof sql,
	               "SET LOCAL lock_timeout = '5s'; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE; "
	               "SET LOCAL lock_timeout = 0",
	               s->t->table);
	if (db_exec(s->conn, sql, NULL) != ETL_OK || !table_empty(s, err))
		goto not_taken;

	if ((rc = own_ids(s, err)) != ETL_OK)
		goto fail;
	/* What to drop and later rebuild: the indexes, the primary key and
	 * unique constraints included, unless another table's foreign key
	 * needs them or they carry something a rebuild would lose (CLUSTER,
	 * replica identity, a tablespace, a comment); then the table's
	 * foreign keys, rebuilt last. */
	r = db_query(
	        s->conn,
	        "SELECT CASE WHEN c.oid IS NULL THEN 'DROP INDEX ' || i.indexrelid::regclass::text "
	        "ELSE format('ALTER TABLE %s DROP CONSTRAINT %I', i.indrelid::regclass, c.conname) "
	        "END, CASE WHEN c.oid IS NULL THEN pg_get_indexdef(i.indexrelid) "
	        "ELSE format('ALTER TABLE %s ADD CONSTRAINT %I %s', i.indrelid::regclass, "
	        "c.conname, "
	        "pg_get_constraintdef(c.oid)) END "
	        "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
	        "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = "
	        "i.indrelid "
	        "AND c.contype IN ('p', 'u') "
	        "WHERE i.indrelid = to_regclass($1) AND i.indisvalid AND i.indisready "
	        "AND NOT i.indisclustered AND NOT i.indisreplident AND ic.reltablespace = 0 "
	        "AND obj_description(i.indexrelid, 'pg_class') IS NULL "
	        "AND NOT EXISTS (SELECT 1 FROM pg_constraint o WHERE o.conindid = i.indexrelid "
	        "AND (o.contype NOT IN ('p', 'u') OR o.conrelid <> i.indrelid)) "
	        "AND (c.oid IS NULL OR obj_description(c.oid, 'pg_constraint') IS NULL) "
	        "UNION ALL SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', "
	        "c.conrelid::regclass, "
	        "c.conname), format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, "
	        "c.conname, pg_get_constraintdef(c.oid)) FROM pg_constraint c "
	        "WHERE c.conrelid = to_regclass($1) AND c.contype = 'f' "
	        "AND obj_description(c.oid, 'pg_constraint') IS NULL",
	        1, params, err);
	if (r == NULL) {
		rc = ETL_EDB;
		goto fail;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		if (!add_rebuild(s, PQgetvalue(r, i, 1))) {
			rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
			goto fail;
		}
		if ((rc = exec(s, PQgetvalue(r, i, 0), err)) != ETL_OK)
			goto fail;
	}
	PQclear(r);
	/* COPY FREEZE needs the table truncated in this transaction, which a
	 * table that others reference by foreign key cannot be. */
	r = db_query(s->conn,
	             "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = to_regclass($1) "
	             "AND contype = 'f')",
	             1, params, err);
	if (r == NULL) {
		rc = ETL_EDB;
		goto fail;
	}
	bool freeze = PQgetvalue(r, 0, 0)[0] == 'f';
	PQclear(r);
	r = NULL;
	if (freeze) {
		(void)snprintf(sql, sizeof sql, "TRUNCATE %s", s->t->table);
		if ((rc = exec(s, sql, err)) != ETL_OK)
			goto fail;
	}
	struct buf copy = {0};
	buf_fmt(&copy, "COPY %s (", s->t->table);
	if (s->own_ids)
		buf_fmt(&copy, "%s, ", s->id_col);
	col_list(s, &copy, "", false);
	buf_fmt(&copy, ") FROM STDIN WITH (FORMAT %s%s)", s->binary ? "binary" : "text",
	        freeze ? ", FREEZE" : "");
	buf_put(&copy, "", 1);
	if (copy.failed) {
		buf_free(&copy);
		rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
		goto fail;
	}
	signals_set_cancel(s->cancel);
	r = db_run(s->conn, copy.data);
	buf_free(&copy);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		rc = db_error(s->conn, r, "cannot start COPY", err);
		goto fail;
	}
	PQclear(r);
	s->in_copy = true;
	if ((rc = send_header(s, err)) != ETL_OK)
		goto fail;
	s->fast = true;
	s->fast_rows = 0;
	s->data.len = s->sent = 0;
	*taken = true;
	return ETL_OK;
not_taken:
	PQclear(r);
	fast_rollback(s);
	error_clear(err);
	return ETL_OK;
fail:
	PQclear(r);
	fast_rollback(s);
	return rc;
}

enum etl_code
copy_fast_end(struct copy_sink *s, struct copy_outcome *out, bool *refused, struct etl_error *err)
{
	enum etl_code rc;
	memset(out, 0, sizeof *out);
	*refused = false;
	rc = send(s, s->data.len, err);
	s->data.len = s->sent = 0;
	if (rc != ETL_OK) {
		fast_rollback(s);
		return rc;
	}
	PGresult *r = end_copy(s, NULL);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		*refused = r != NULL && PQstatus(s->conn) == CONNECTION_OK &&
		           (row_level(db_sqlstate(r)) || retryable(db_sqlstate(r)));
		if (*refused)
			server_reason(r, s->fast_why, sizeof s->fast_why);
		rc = *refused ? ETL_OK : db_error(s->conn, r, NULL, err);
		PQclear(r);
		fast_rollback(s);
		return rc;
	}
	PQclear(r);
	if (s->id_overflow) {
		/* The batches take the ids from the sequence, and say when it
		 * runs out. */
		*refused = true;
		(void)snprintf(s->fast_why, sizeof s->fast_why,
		               "the rows need more ids than the sequence %s has left", s->id_seq);
		fast_rollback(s);
		return ETL_OK;
	}
	char sql[320];
	if (s->own_ids && s->fast_rows > 0) {
		(void)snprintf(sql, sizeof sql, "SELECT setval(%s, %lld)", s->id_seq,
		               (long long)(s->id_next - 1));
		if ((rc = exec(s, sql, err)) != ETL_OK) {
			fast_rollback(s);
			return rc;
		}
	}
	/* Sorting for the index builds is the bulk of the work; the server's
	 * parallel workers help.  maintenance_work_mem stays the server's: on
	 * the benchmark larger sorts in memory were slower than the default's
	 * spilled runs. */
	(void)snprintf(sql, sizeof sql, "SET LOCAL max_parallel_maintenance_workers = %d",
	               s->jobs > 1 ? s->jobs - 1 : 0);
	rc = exec(s, sql, err);
	signals_set_cancel(s->cancel);
	for (int i = 0; i < s->nrebuild && rc == ETL_OK; i++) {
		r = db_run(s->conn, s->rebuild[i]);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			/* A foreign key the rows break: the batched path will
			 * find the rows. */
			*refused = PQstatus(s->conn) == CONNECTION_OK && row_level(db_sqlstate(r));
			if (*refused)
				server_reason(r, s->fast_why, sizeof s->fast_why);
			rc = *refused ? ETL_OK
			              : db_error(s->conn, r, "cannot rebuild after the load", err);
			PQclear(r);
			signals_set_cancel(NULL);
			fast_rollback(s);
			return rc;
		}
		PQclear(r);
	}
	signals_set_cancel(NULL);
	if (rc != ETL_OK) {
		fast_rollback(s);
		return rc;
	}
	out->loaded = s->fast_rows;
	if (s->own_ids && s->fast_rows > 0) {
		if (s->capids < 1) {
			struct ledger_ids *v = realloc(s->ids, sizeof *v);
			if (v == NULL) {
				fast_rollback(s);
				return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
			}
			s->ids = v;
			s->capids = 1;
		}
		s->ids[0].first = s->id_first;
		s->ids[0].last = s->id_next - 1;
		s->nids = 1;
		out->ids = s->ids;
		out->nids = 1;
	}
	s->fast = false;
	return ETL_OK;
}

int
copy_fast_rebuilt(const struct copy_sink *s)
{
	return s->nrebuild;
}

const char *
copy_fast_refusal(const struct copy_sink *s)
{
	return s->fast_why;
}
