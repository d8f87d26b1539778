/*
 * copy_sql.c — the statements of a sink: COPY, the staging table, the
 * INSERT … ON CONFLICT of each mode, and the column types of binary COPY.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy_impl.h"
#include "db.h"

/* ---- SQL helpers --------------------------------------------------------- */

const char *
sink_q(struct copy_sink *s, const char *name)
{
	for (int i = 0; i < s->nidents; i++)
		if (strcmp(s->idents[i].name, name) == 0)
			return s->idents[i].quoted;
	char *q = s->nidents < (int)(sizeof s->idents / sizeof s->idents[0])
	                  ? sql_ident(s->db.pg, name)
	                  : NULL;
	if (q == NULL) {
		s->oom = true;
		return "";
	}
	s->idents[s->nidents].name = name;
	s->idents[s->nidents++].quoted = q;
	return q;
}

/* A row's leading fields in the COPY stream: the binary tuple header, the
 * staging order (ord >= 0) and the id (id != NULL), binary or text.  Both
 * paths start their rows here. */
void
sink_row_start(struct copy_sink *s, struct buf *b, int ord, const int64_t *id)
{
	if (s->binary) {
		encode_bin_tuple(b,
		                 s->ncols + s->naudit + (ord >= 0 ? 1 : 0) + (id != NULL ? 1 : 0));
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
void
sink_id_first(const struct copy_sink *s, struct buf *b, const char *prefix)
{
	if (s->id_ok)
		sql_printf(b, "%s%s, ", prefix, s->id_col);
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
			sql_printf(b, "%s%s%s", first ? "(" : ", ", pass ? "s." : "t.",
			           sink_q((struct copy_sink *)s, c->db_column));
			first = false;
			any = true;
		}
		if (!any)
			break;
		sql_str(b, pass ? ")" : ") IS NOT DISTINCT FROM ");
	}
	if (!any)
		sql_str(b, "true");
}

/* Appends the sent columns as "a, b, c", each prefixed with prefix. */
void
sink_col_list(struct copy_sink *s, struct buf *b, const char *prefix, bool skip_key)
{
	bool first = true;
	for (int i = 0; i < s->ncols; i++) {
		const struct col_def *c = &s->t->cols[s->col[i]];
		if (skip_key && (c->flags & COL_KEY))
			continue;
		sql_printf(b, "%s%s%s", first ? "" : ", ", prefix, sink_q(s, c->db_column));
		first = false;
	}
	/* The audit columns are written, never compared or updated. */
	for (int i = 0; i < s->naudit && !skip_key; i++)
		sql_printf(b, ", %s%s", prefix, sink_q(s, s->audit[i]));
}

static void
key_list(struct copy_sink *s, struct buf *b, const char *prefix)
{
	const struct table_def *t = s->t;
	for (int k = 0; k < t->nkey; k++)
		sql_printf(b, "%s%s%s", k ? ", " : "", prefix,
		           sink_q(s, t->cols[t->key[k]].db_column));
}

static void
key_join(struct copy_sink *s, struct buf *b, const char *l, const char *r)
{
	const struct table_def *t = s->t;
	for (int k = 0; k < t->nkey; k++) {
		const char *col = sink_q(s, t->cols[t->key[k]].db_column);
		sql_printf(b, "%s%s.%s = %s.%s", k ? " AND " : "", l, col, r, col);
	}
}

bool
sink_has_non_key(const struct copy_sink *s)
{
	for (int i = 0; i < s->ncols; i++)
		if (!(s->t->cols[s->col[i]].flags & COL_KEY))
			return true;
	return false;
}

/* The columns an --on-conflict update sets: the file's non-key columns
 * then the one an update touches (users.updated_at: the time of the
 * load).  Returns how many. */
static int
update_set(const struct copy_sink *s, const char **names)
{
	int n = 0;
	for (int i = 0; i < s->ncols; i++)
		if (!(s->t->cols[s->col[i]].flags & COL_KEY))
			names[n++] = s->t->cols[s->col[i]].db_column;
	if (s->t->touch_on_update != NULL)
		names[n++] = s->t->touch_on_update;
	return n;
}

/*
 * For a key compared regardless of letter case (users.email): a statement
 * that gives each staged row whose key the table holds in another case the
 * table's spelling, so that ON CONFLICT finds it (and the stored spelling
 * stays); a key the table holds exactly as staged is left as it is.
 */
static void
nocase_keys(struct copy_sink *s, struct buf *b)
{
	const struct table_def *t = s->t;
	for (int k = 0; k < t->nkey; k++) {
		const struct col_def *c = &t->cols[t->key[k]];
		if (!(c->flags & COL_NOCASE))
			continue;
		const char *col = sink_q(s, c->db_column), *tab = sink_q(s, t->table);
		/* Uncorrelated subqueries only: on Citus the table is a reference
		 * table, which an UPDATE of a local table may read that way. */
		sql_printf(
		        b,
		        "UPDATE %s s SET %s = t.%s FROM (SELECT %s FROM %s WHERE lower(%s) IN "
		        "(SELECT lower(%s) FROM %s)) t WHERE lower(t.%s) = lower(s.%s) AND t.%s <> "
		        "s.%s AND s.%s NOT IN (SELECT %s FROM %s WHERE %s IN (SELECT %s FROM "
		        "%s)); ",
		        s->stage, col, col, col, tab, col, col, s->stage, col, col, col, col, col,
		        col, tab, col, col, s->stage);
	}
}

/* The INSERT's condition that leaves the rows still holding a password's
 * placeholder out (copy_pw.c hashes them once the staging table has said
 * which keys are new). */
static void
pw_leave_out(struct copy_sink *s, struct buf *b)
{
	if (s->pw_after_stage)
		sql_printf(b, " WHERE %s IS DISTINCT FROM '%s'",
		           sink_q(s, s->t->cols[s->col[s->pw_col]].db_column), s->pw_hold);
}

/* The ON CONFLICT statement.  With error/skip it returns the batch rows
 * whose key existed; with update, every row with i(nserted), u(pdated) or
 * s (unchanged). */
void
sink_build_insert(struct copy_sink *s)
{
	struct buf *b = &s->insert_sql;
	const struct table_def *t = s->t;
	bool update = s->mode == CONFLICT_UPDATE && sink_has_non_key(s);
	const char *set[TABLE_MAXCOLS + 1];
	int nset = update ? update_set(s, set) : 0;
	nocase_keys(s, b);
	sql_str(b, "WITH ");
	if (update && s->load_id > 0) {
		/* The rows' values before the update, for undo. */
		sql_printf(b,
		           "etl_before AS (INSERT INTO etl_load_before (load_id, row_id, data, "
		           "after_data) SELECT %lld, t.%s, json_build_object(",
		           (long long)s->load_id, sink_q(s, t->id_column));
		for (int i = 0; i < nset; i++)
			sql_printf(b, "%s'%s', t.%s", i ? ", " : "", set[i], sink_q(s, set[i]));
		/* The row version it had (not a column: json_populate_record
		 * leaves it out): undo of this load tells by it whether those
		 * values were still the ones the load that inserted the row
		 * wrote (ledger_undo.c, restore_written()). */
		sql_printf(b, ", '" LEDGER_BEFORE_XMIN "', t.xmin::text");
		/* And the values the update gives them (the column it touches,
		 * now(), is not compared). */
		sql_str(b, ")::text, json_build_object(");
		for (int i = 0, n = 0; i < nset; i++)
			if (t->touch_on_update == NULL || strcmp(set[i], t->touch_on_update) != 0)
				sql_printf(b, "%s'%s', s.%s", n++ ? ", " : "", set[i],
				           sink_q(s, set[i]));
		sql_printf(b, ")::text FROM %s t JOIN %s s ON ", sink_q(s, t->table), s->stage);
		key_join(s, b, "t", "s");
		sql_str(b, " WHERE (");
		sink_col_list(s, b, "t.", true);
		sql_str(b, ") IS DISTINCT FROM (");
		sink_col_list(s, b, "s.", true);
		sql_str(b, ")), ");
	}
	/* The column an update touches (users.updated_at) is set to now() in
	 * the SELECT and taken from EXCLUDED: Citus allows no function in DO
	 * UPDATE SET that is not IMMUTABLE.  As an audit column (an ORM's
	 * table) the rows carry it already: the load's timestamp. */
	const char *touch = update ? t->touch_on_update : NULL;
	for (int i = 0; touch != NULL && i < s->naudit; i++)
		if (strcmp(s->audit[i], touch) == 0)
			touch = NULL;
	sql_printf(b, "done AS (INSERT INTO %s AS t (", sink_q(s, t->table));
	sink_id_first(s, b, "");
	sink_col_list(s, b, "", false);
	if (touch != NULL)
		sql_printf(b, ", %s", sink_q(s, touch));
	sql_str(b, ") SELECT ");
	sink_id_first(s, b, "");
	sink_col_list(s, b, "", false);
	if (touch != NULL)
		sql_str(b, ", now()");
	sql_printf(b, " FROM %s", s->stage);
	pw_leave_out(s, b);
	sql_str(b, " ORDER BY etl_ord ON CONFLICT (");
	key_list(s, b, "");
	if (update) {
		sql_str(b, ") DO UPDATE SET ");
		for (int i = 0; i < nset; i++) {
			sql_printf(b, "%s%s = ", i ? ", " : "", sink_q(s, set[i]));
			sql_printf(b, "EXCLUDED.%s", sink_q(s, set[i]));
		}
		sql_str(b, " WHERE (");
		sink_col_list(s, b, "t.", true);
		sql_str(b, ") IS DISTINCT FROM (");
		sink_col_list(s, b, "EXCLUDED.", true);
		sql_str(b, ") RETURNING ");
		key_list(s, b, "t.");
		sql_str(b, ", t.xmax = 0 AS etl_inserted) SELECT s.etl_ord, CASE WHEN "
		           "d.etl_inserted IS NULL THEN 's' WHEN d.etl_inserted THEN 'i' ELSE 'u' "
		           "END FROM ");
		sql_printf(b, "%s s LEFT JOIN done d ON ", s->stage);
		key_join(s, b, "d", "s");
		sql_str(b, " ORDER BY 1");
	} else {
		sql_str(b, ") DO NOTHING RETURNING ");
		key_list(s, b, "t.");
		sql_str(b, ") SELECT s.etl_ord");
		if (s->identical_skips) {
			/* Whether the existing row already holds the file's values. */
			sql_printf(b, ", EXISTS (SELECT 1 FROM %s t WHERE ", sink_q(s, t->table));
			key_join(s, b, "t", "s");
			sql_str(b, " AND ");
			same_values(s, b);
			sql_str(b, ")");
		}
		sql_printf(b, " FROM %s s WHERE NOT EXISTS (SELECT 1 FROM done d WHERE ", s->stage);
		key_join(s, b, "d", "s");
		sql_str(b, ") ORDER BY 1");
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
	case RULE_MONEY: /* an ORM's money columns are floats */
		return t == BIN_NUMERIC || t == BIN_FLOAT8 || t == BIN_FLOAT4;
	case RULE_TIMESTAMP:
		return t == BIN_TIMESTAMP;
	case RULE_DATE: /* a date into a timestamp is its midnight */
		return t == BIN_DATE || t == BIN_TIMESTAMP;
	case RULE_BOOL:
		return t == BIN_BOOL;
	default:
		return t == BIN_TEXT;
	}
}

/* Reads the target's column types: the staging table copies them, and
 * binary COPY is used when every column sent has a binary form here that
 * fits its values (else text, which the server converts itself). */
enum etl_code
sink_column_types(struct copy_sink *s, bool utc, bool text_only, struct etl_error *err)
{
	const char *params[1] = {s->t->table};
	PGresult *r = db_query(s->db.pg,
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
void
sink_stage_sql(struct copy_sink *s, int stage_id)
{
	(void)snprintf(s->stage, sizeof s->stage, "etl_stage_%s_%ld_%d", s->t->name, (long)getpid(),
	               stage_id);
	struct buf *b = &s->stage_sql;
	sql_printf(b, "CREATE TEMP TABLE %s%s (etl_ord integer",
	           s->single_txn ? "IF NOT EXISTS " : "", s->stage);
	if (s->id_ok)
		sql_printf(b, ", %s %s", s->id_col, s->id_int8 ? "bigint" : "integer");
	for (int i = 0; i < s->ncols; i++)
		sql_printf(b, ", %s %s", sink_q(s, s->t->cols[s->col[i]].db_column), s->types[i]);
	for (int i = 0; i < s->naudit; i++)
		sql_printf(b, ", %s %s", sink_q(s, s->audit[i]),
		           s->audit_tz[i] ? "timestamptz" : "timestamp");
	sql_str(b, ") ON COMMIT DROP");
	if (s->single_txn)
		sql_printf(b, "; TRUNCATE %s", s->stage);
	buf_put(b, "", 1);
}

/* Whether the rows can carry ids from the table's sequence: its primary
 * key starts with the kind's id column (on Citus the distribution column
 * follows it), an integer column the file does not give, filled by a
 * sequence that counts by one (not GENERATED ALWAYS). */
enum etl_code
sink_id_column(struct copy_sink *s, struct etl_error *err)
{
	const char *params[1] = {s->t->table};
	s->id_ok = false;
	PGresult *r = db_query(
	        s->db.pg,
	        "SELECT quote_ident(a.attname), quote_literal(q.seqrelid::regclass::text), "
	        "t.typname = 'int8', least(q.seqmax, CASE t.typname WHEN 'int2' THEN 32767 "
	        "WHEN 'int4' THEN 2147483647 ELSE 9223372036854775807 END), a.attname "
	        "FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
	        "AND a.attnum = i.indkey[0] JOIN pg_type t ON t.oid = a.atttypid "
	        "JOIN pg_sequence q ON q.seqrelid = "
	        "to_regclass(pg_get_serial_sequence($1, a.attname)) "
	        "WHERE i.indrelid = to_regclass($1) AND i.indisprimary "
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
sink_citus_table(struct copy_sink *s, bool *yes, struct etl_error *err)
{
	const char *params[1] = {s->t->table};
	*yes = false;
	PGresult *r =
	        db_query(s->db.pg, "SELECT to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL",
	                 0, NULL, err);
	if (r == NULL)
		return ETL_EDB;
	bool has = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!has)
		return ETL_OK;
	r = db_query(s->db.pg,
	             "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE "
	             "logicalrelid = to_regclass($1))",
	             1, params, err);
	if (r == NULL)
		return ETL_EDB;
	*yes = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return ETL_OK;
}
