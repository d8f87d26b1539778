/*
 * copy_sql.c — the statement plan of a sink (struct sink_plan), built once
 * in copy_open() and read through a const pointer after: the columns sent,
 * COPY, the staging table, the INSERT … ON CONFLICT of each mode, and the
 * column types of binary COPY.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy_impl.h"
#include "db.h"

/* ---- SQL helpers --------------------------------------------------------- */

/* name quoted into the plan's list, once; false: out of memory. */
static bool
quote_name(struct sink_plan *p, PGconn *pg, const char *name)
{
	if (name == NULL)
		return true;
	for (int i = 0; i < p->nidents; i++)
		if (strcmp(p->idents[i].name, name) == 0)
			return true;
	char *q = p->nidents < (int)(sizeof p->idents / sizeof p->idents[0]) ? sql_ident(pg, name)
	                                                                     : NULL;
	if (q == NULL)
		return false;
	p->idents[p->nidents].name = name;
	p->idents[p->nidents++].quoted = q;
	return true;
}

/* Every name a statement of the plan (or of the fast path, or of the
 * passwords) quotes: the table, the columns sent, the audit columns, the
 * key, the id column and the column an update touches. */
static bool
quote_names(struct sink_plan *p, PGconn *pg)
{
	const struct table_def *t = p->t;
	bool ok = quote_name(p, pg, t->table) && quote_name(p, pg, t->id_column) &&
	          quote_name(p, pg, t->touch_on_update);
	for (int i = 0; ok && i < p->ncols; i++)
		ok = quote_name(p, pg, t->cols[p->col[i]].db_column);
	for (int i = 0; ok && i < p->naudit; i++)
		ok = quote_name(p, pg, p->audit[i]);
	for (int k = 0; ok && k < t->nkey; k++)
		ok = quote_name(p, pg, t->cols[t->key[k]].db_column);
	return ok;
}

const char *
sink_quote(const struct sink_plan *p, const char *name)
{
	for (int i = 0; i < p->nidents; i++)
		if (strcmp(p->idents[i].name, name) == 0)
			return p->idents[i].quoted;
	assert(!"a name the plan did not quote");
	return "";
}

/* A row's leading fields in the COPY stream: the binary tuple header, the
 * staging order (ord >= 0) and the id (id != NULL), binary or text.  Both
 * paths start their rows here. */
void
sink_row_start(const struct sink_plan *p, struct buf *b, int ord, const int64_t *id)
{
	if (p->binary) {
		encode_bin_tuple(b,
		                 p->ncols + p->naudit + (ord >= 0 ? 1 : 0) + (id != NULL ? 1 : 0));
		if (ord >= 0)
			encode_bin_int4(b, ord);
		if (id != NULL) {
			struct value v = {.type = V_INT, .i = *id};
			encode_bin_value(b, &v, p->id_int8 ? BIN_INT8 : BIN_INT4, NULL);
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
sink_id_first(const struct sink_plan *p, struct buf *b, const char *prefix)
{
	if (p->id_ok)
		sql_printf(b, "%s%s, ", prefix, p->id_col);
}

/* Whether sent column i carries a password hash made here (with a new salt
 * each time, so never equal to the stored one). */
static bool
made_hash(const struct sink_plan *p, int i)
{
	return p->t->cols[p->col[i]].rule == RULE_PASSWORD ||
	       (p->alt[i] >= 0 && p->t->cols[p->alt[i]].rule == RULE_PASSWORD);
}

/* "(t.a, t.b) IS NOT DISTINCT FROM (s.a, s.b)" over the non-key columns
 * that can be compared, or "true". */
static void
same_values(const struct sink_plan *p, struct buf *b)
{
	bool any = false;
	for (int pass = 0; pass < 2; pass++) {
		bool first = true;
		for (int i = 0; i < p->ncols; i++) {
			const struct col_def *c = &p->t->cols[p->col[i]];
			if ((c->flags & COL_KEY) || made_hash(p, i))
				continue;
			sql_printf(b, "%s%s%s", first ? "(" : ", ", pass ? "s." : "t.",
			           sink_quote(p, c->db_column));
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
sink_col_list(const struct sink_plan *p, struct buf *b, const char *prefix, bool skip_key)
{
	bool first = true;
	for (int i = 0; i < p->ncols; i++) {
		const struct col_def *c = &p->t->cols[p->col[i]];
		if (skip_key && (c->flags & COL_KEY))
			continue;
		sql_printf(b, "%s%s%s", first ? "" : ", ", prefix, sink_quote(p, c->db_column));
		first = false;
	}
	/* The audit columns are written, never compared or updated. */
	for (int i = 0; i < p->naudit && !skip_key; i++)
		sql_printf(b, ", %s%s", prefix, sink_quote(p, p->audit[i]));
}

static void
key_list(const struct sink_plan *p, struct buf *b, const char *prefix)
{
	const struct table_def *t = p->t;
	for (int k = 0; k < t->nkey; k++)
		sql_printf(b, "%s%s%s", k ? ", " : "", prefix,
		           sink_quote(p, t->cols[t->key[k]].db_column));
}

static void
key_join(const struct sink_plan *p, struct buf *b, const char *l, const char *r)
{
	const struct table_def *t = p->t;
	for (int k = 0; k < t->nkey; k++) {
		const char *col = sink_quote(p, t->cols[t->key[k]].db_column);
		sql_printf(b, "%s%s.%s = %s.%s", k ? " AND " : "", l, col, r, col);
	}
}

bool
sink_has_non_key(const struct sink_plan *p)
{
	for (int i = 0; i < p->ncols; i++)
		if (!(p->t->cols[p->col[i]].flags & COL_KEY))
			return true;
	return false;
}

/* The columns an --on-conflict update sets: the file's non-key columns
 * then the one an update touches (users.updated_at: the time of the
 * load).  Returns how many. */
static int
update_set(const struct sink_plan *p, const char **names)
{
	int n = 0;
	for (int i = 0; i < p->ncols; i++)
		if (!(p->t->cols[p->col[i]].flags & COL_KEY))
			names[n++] = p->t->cols[p->col[i]].db_column;
	if (p->t->touch_on_update != NULL)
		names[n++] = p->t->touch_on_update;
	return n;
}

/*
 * For a key compared regardless of letter case (users.email): a statement
 * that gives each staged row whose key the table holds in another case the
 * table's spelling, so that ON CONFLICT finds it (and the stored spelling
 * stays); a key the table holds exactly as staged is left as it is.
 */
static void
nocase_keys(const struct sink_plan *p, struct buf *b)
{
	const struct table_def *t = p->t;
	for (int k = 0; k < t->nkey; k++) {
		const struct col_def *c = &t->cols[t->key[k]];
		if (!(c->flags & COL_NOCASE))
			continue;
		const char *col = sink_quote(p, c->db_column), *tab = sink_quote(p, t->table);
		/* Uncorrelated subqueries only: on Citus the table is a reference
		 * table, which an UPDATE of a local table may read that way. */
		sql_printf(
		        b,
		        "UPDATE %s s SET %s = t.%s FROM (SELECT %s FROM %s WHERE lower(%s) IN "
		        "(SELECT lower(%s) FROM %s)) t WHERE lower(t.%s) = lower(s.%s) AND t.%s <> "
		        "s.%s AND s.%s NOT IN (SELECT %s FROM %s WHERE %s IN (SELECT %s FROM "
		        "%s)); ",
		        p->stage, col, col, col, tab, col, col, p->stage, col, col, col, col, col,
		        col, tab, col, col, p->stage);
	}
}

/* The INSERT's condition that leaves the rows still holding a password's
 * placeholder out (copy_pw.c hashes them once the staging table has said
 * which keys are new). */
static void
pw_leave_out(const struct sink_plan *p, struct buf *b, int pw_col, const char *pw_hold)
{
	if (pw_col >= 0)
		sql_printf(b, " WHERE %s IS DISTINCT FROM '%s'",
		           sink_quote(p, p->t->cols[p->col[pw_col]].db_column), pw_hold);
}

/* The ON CONFLICT statement.  With error/skip it returns the batch rows
 * whose key existed; with update, every row with i(nserted), u(pdated) or
 * s (unchanged).  pw_col, pw_hold: as sink_plan_statements(). */
static void
build_insert(struct sink_plan *p, const struct copy_opts *o, int pw_col, const char *pw_hold)
{
	struct buf *b = &p->insert_sql;
	const struct table_def *t = p->t;
	bool update = p->mode == CONFLICT_UPDATE && sink_has_non_key(p);
	const char *set[TABLE_MAXCOLS + 1];
	int nset = update ? update_set(p, set) : 0;
	nocase_keys(p, b);
	sql_str(b, "WITH ");
	if (update && o->load_id > 0) {
		/* The rows' values before the update, for undo. */
		sql_printf(b,
		           "etl_before AS (INSERT INTO etl_load_before (load_id, row_id, data, "
		           "after_data) SELECT %lld, t.%s, json_build_object(",
		           (long long)o->load_id, sink_quote(p, t->id_column));
		for (int i = 0; i < nset; i++)
			sql_printf(b, "%s'%s', t.%s", i ? ", " : "", set[i], sink_quote(p, set[i]));
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
				           sink_quote(p, set[i]));
		sql_printf(b, ")::text FROM %s t JOIN %s s ON ", sink_quote(p, t->table), p->stage);
		key_join(p, b, "t", "s");
		sql_str(b, " WHERE (");
		sink_col_list(p, b, "t.", true);
		sql_str(b, ") IS DISTINCT FROM (");
		sink_col_list(p, b, "s.", true);
		sql_str(b, ")), ");
	}
	/* The column an update touches (users.updated_at) is set to now() in
	 * the SELECT and taken from EXCLUDED: Citus allows no function in DO
	 * UPDATE SET that is not IMMUTABLE.  As an audit column (an ORM's
	 * table) the rows carry it already: the load's timestamp. */
	const char *touch = update ? t->touch_on_update : NULL;
	for (int i = 0; touch != NULL && i < p->naudit; i++)
		if (strcmp(p->audit[i], touch) == 0)
			touch = NULL;
	sql_printf(b, "done AS (INSERT INTO %s AS t (", sink_quote(p, t->table));
	sink_id_first(p, b, "");
	sink_col_list(p, b, "", false);
	if (touch != NULL)
		sql_printf(b, ", %s", sink_quote(p, touch));
	sql_str(b, ") SELECT ");
	sink_id_first(p, b, "");
	sink_col_list(p, b, "", false);
	if (touch != NULL)
		sql_str(b, ", now()");
	sql_printf(b, " FROM %s", p->stage);
	pw_leave_out(p, b, pw_col, pw_hold);
	sql_str(b, " ORDER BY etl_ord ON CONFLICT (");
	key_list(p, b, "");
	if (update) {
		sql_str(b, ") DO UPDATE SET ");
		for (int i = 0; i < nset; i++) {
			sql_printf(b, "%s%s = ", i ? ", " : "", sink_quote(p, set[i]));
			sql_printf(b, "EXCLUDED.%s", sink_quote(p, set[i]));
		}
		sql_str(b, " WHERE (");
		sink_col_list(p, b, "t.", true);
		sql_str(b, ") IS DISTINCT FROM (");
		sink_col_list(p, b, "EXCLUDED.", true);
		sql_str(b, ") RETURNING ");
		key_list(p, b, "t.");
		sql_str(b, ", t.xmax = 0 AS etl_inserted) SELECT s.etl_ord, CASE WHEN "
		           "d.etl_inserted IS NULL THEN 's' WHEN d.etl_inserted THEN 'i' ELSE 'u' "
		           "END FROM ");
		sql_printf(b, "%s s LEFT JOIN done d ON ", p->stage);
		key_join(p, b, "d", "s");
		sql_str(b, " ORDER BY 1");
	} else {
		sql_str(b, ") DO NOTHING RETURNING ");
		key_list(p, b, "t.");
		sql_str(b, ") SELECT s.etl_ord");
		if (o->identical_skips) {
			/* Whether the existing row already holds the file's values. */
			sql_printf(b, ", EXISTS (SELECT 1 FROM %s t WHERE ",
			           sink_quote(p, t->table));
			key_join(p, b, "t", "s");
			sql_str(b, " AND ");
			same_values(p, b);
			sql_str(b, ")");
		}
		sql_printf(b, " FROM %s s WHERE NOT EXISTS (SELECT 1 FROM done d WHERE ", p->stage);
		key_join(p, b, "d", "s");
		sql_str(b, ") ORDER BY 1");
	}
	size_t k = 0;
	for (int i = 0; i < nset && k < sizeof p->update_cols; i++)
		k += (size_t)snprintf(p->update_cols + k, sizeof p->update_cols - k, "%s%s",
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
static enum etl_code
column_types(struct sink_plan *p, PGconn *pg, bool utc, bool text_only, struct etl_error *err)
{
	const char *params[1] = {p->t->table};
	PGresult *r = db_query(pg,
	                       "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname, "
	                       "t.typtype FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
	                       "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT "
	                       "a.attisdropped",
	                       1, params, err);
	if (r == NULL)
		return ETL_EDB;
	p->binary = !text_only;
	for (int i = 0; i < p->ncols; i++) {
		const struct col_def *c = &p->t->cols[p->col[i]];
		(void)snprintf(p->types[i], sizeof p->types[i], "text");
		p->bin[i] = BIN_NONE;
		for (int j = 0; j < PQntuples(r); j++) {
			if (strcmp(PQgetvalue(r, j, 0), c->db_column) != 0)
				continue;
			(void)snprintf(p->types[i], sizeof p->types[i], "%s", PQgetvalue(r, j, 1));
			const char *typname = PQgetvalue(r, j, 2);
			p->bin[i] = encode_bin_type(typname, PQgetvalue(r, j, 3)[0]);
			/* TIMESTAMPTZ takes the wall clock only when it is UTC. */
			if (strcmp(typname, "timestamptz") == 0 && utc)
				p->bin[i] = BIN_TIMESTAMP;
		}
		bool fits = bin_fits(c, p->bin[i]);
		if (p->alt[i] >= 0)
			fits = fits && bin_fits(&p->t->cols[p->alt[i]], p->bin[i]);
		p->binary = p->binary && fits;
	}
	PQclear(r);
	return ETL_OK;
}

/* The statement that creates the staging table, with the target's own
 * column types, inside a transaction that drops it at its end: nothing of
 * it outlives the transaction, whichever server connection a pooler gives.
 * In one transaction for the whole file it is made once, then emptied. */
static void
stage_sql(struct sink_plan *p, bool single_txn, int stage_id)
{
	(void)snprintf(p->stage, sizeof p->stage, "etl_stage_%s_%ld_%d", p->t->name, (long)getpid(),
	               stage_id);
	struct buf *b = &p->stage_sql;
	sql_printf(b, "CREATE TEMP TABLE %s%s (etl_ord integer", single_txn ? "IF NOT EXISTS " : "",
	           p->stage);
	if (p->id_ok)
		sql_printf(b, ", %s %s", p->id_col, p->id_int8 ? "bigint" : "integer");
	for (int i = 0; i < p->ncols; i++)
		sql_printf(b, ", %s %s", sink_quote(p, p->t->cols[p->col[i]].db_column),
		           p->types[i]);
	for (int i = 0; i < p->naudit; i++)
		sql_printf(b, ", %s %s", sink_quote(p, p->audit[i]),
		           p->audit_tz[i] ? "timestamptz" : "timestamp");
	sql_str(b, ") ON COMMIT DROP");
	if (single_txn)
		sql_printf(b, "; TRUNCATE %s", p->stage);
	buf_put(b, "", 1);
}

/* Whether the rows can carry ids from the table's sequence: its primary
 * key starts with the kind's id column (on Citus the distribution column
 * follows it), an integer column the file does not give, filled by a
 * sequence that counts by one (not GENERATED ALWAYS). */
static enum etl_code
id_column(struct sink_plan *p, PGconn *pg, struct etl_error *err)
{
	const char *params[1] = {p->t->table};
	p->id_ok = false;
	PGresult *r = db_query(
	        pg,
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
	bool found = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 4), p->t->id_column) == 0;
	for (int i = 0; found && i < p->ncols; i++)
		if (strcmp(p->t->cols[p->col[i]].db_column, PQgetvalue(r, 0, 4)) == 0)
			found = false; /* the file gives the ids */
	if (found) {
		(void)snprintf(p->id_col, sizeof p->id_col, "%s", PQgetvalue(r, 0, 0));
		(void)snprintf(p->id_seq, sizeof p->id_seq, "%s", PQgetvalue(r, 0, 1));
		p->id_int8 = PQgetvalue(r, 0, 2)[0] == 't';
		p->id_max = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
		p->id_ok = true;
	}
	PQclear(r);
	return ETL_OK;
}

/* ---- the plan -------------------------------------------------------------- */

/* The load's timestamp, from the server: its wall clock in the load's
 * zone and the instant, in microseconds since 2000-01-01. */
static enum etl_code
load_timestamp(struct sink_plan *p, PGconn *pg, const char *timezone, struct etl_error *err)
{
	const char *params[1] = {timezone ? timezone : "UTC"};
	PGresult *r = db_query(pg,
	                       "SELECT (extract(epoch FROM now() AT TIME ZONE $1) * 1000000)::int8 "
	                       "- 946684800000000, (extract(epoch FROM now()) * 1000000)::int8 - "
	                       "946684800000000",
	                       1, params, err);
	if (r == NULL)
		return ETL_EDB;
	p->audit_wall = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	p->audit_utc = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	return ETL_OK;
}

/* The columns sent: those the file has, plus a sales row's price (taken
 * from the product when empty); password and password_hash both fill
 * password_hash.  Then the audit columns. */
static void
choose_columns(struct sink_plan *p, const struct copy_opts *o)
{
	const struct table_def *t = p->t;
	const struct live_table *live = &o->facts->kinds[t->kind];
	for (int c = 0; c < t->ncols; c++) {
		bool in_file = o->map->col_field[c] >= 0;
		bool needed = t->cols[c].empty_rule == EMPTY_DEFAULT && live->cols[c].required;
		if (!in_file && t->cols[c].empty_rule != EMPTY_REF && !needed)
			continue;
		int dup = -1;
		for (int i = 0; i < p->ncols; i++)
			if (strcmp(t->cols[p->col[i]].db_column, t->cols[c].db_column) == 0)
				dup = i;
		if (dup >= 0) {
			p->alt[dup] = c; /* fills the column when the first is empty */
			continue;
		}
		p->col[p->ncols] = c;
		p->alt[p->ncols] = -1;
		if (!in_file && needed) {
			char why[256];
			p->use_dflt[p->ncols] = true;
			(void)valid_value(NULL, &t->cols[c], t->cols[c].empty,
			                  strlen(t->cols[c].empty), &p->dflt[p->ncols], why,
			                  sizeof why);
		}
		p->ncols++;
	}
	for (int i = 0; i < live->naudit; i++) {
		p->audit[i] = live->audit[i];
		p->audit_tz[i] = live->audit_tz[i];
	}
	p->naudit = live->naudit;
}

enum etl_code
sink_plan_open(struct sink_plan **out, PGconn *pg, const struct copy_opts *o, struct etl_error *err)
{
	struct sink_plan *p = calloc(1, sizeof *p);
	enum etl_code rc = ETL_OK;
	*out = NULL;
	if (p == NULL)
		return error_oom(err, NULL, 0);
	p->t = o->map->t;
	p->mode = o->on_conflict;
	for (int i = 0; i < TABLE_MAXLABELS; i++)
		p->labels[i] = o->facts->event_labels[i];
	p->staged = p->t->nkey > 0;
	choose_columns(p, o);
	if (p->naudit > 0 && (rc = load_timestamp(p, pg, o->timezone, err)) != ETL_OK)
		goto out;
	rc = column_types(p, pg, o->utc, o->text_only, err);
	if (rc == ETL_OK)
		rc = id_column(p, pg, err);
	/* On Citus the rows' xmins are the workers' (undo reads them per
	 * shard), and the empty-table path keeps the table's indexes. */
	if (rc == ETL_OK)
		rc = db_citus_table(pg, p->t->table, false, &p->citus, err);
	if (rc != ETL_OK)
		goto out;
	if (!quote_names(p, pg)) {
		rc = error_oom(err, NULL, 0);
		goto out;
	}
	if (p->staged)
		stage_sql(p, o->single_transaction, o->stage_id);
	if (p->stage_sql.failed)
		rc = error_oom(err, NULL, 0);
out:
	if (rc != ETL_OK)
		sink_plan_free(p);
	else
		*out = p;
	return rc;
}

enum etl_code
sink_plan_statements(struct sink_plan *p, const struct copy_opts *o, int pw_col,
                     const char *pw_hold, struct etl_error *err)
{
	if (p->staged) {
		build_insert(p, o, pw_col, pw_hold);
		buf_put(&p->insert_sql, "", 1);
		sql_printf(&p->copy_sql, "COPY %s (etl_ord, ", p->stage);
	} else {
		sql_printf(&p->copy_sql, "COPY %s (", sink_quote(p, p->t->table));
	}
	sink_id_first(p, &p->copy_sql, "");
	sink_col_list(p, &p->copy_sql, "", false);
	sql_str(&p->copy_sql, p->binary ? ") FROM STDIN WITH (FORMAT binary)" : ") FROM STDIN");
	buf_put(&p->copy_sql, "", 1);
	if (p->copy_sql.failed || p->insert_sql.failed)
		return error_oom(err, NULL, 0);
	return ETL_OK;
}

void
sink_plan_free(const struct sink_plan *plan)
{
	/* Const for its readers; this file built it and frees it. */
	struct sink_plan *p = (struct sink_plan *)plan;
	if (p == NULL)
		return;
	buf_free(&p->stage_sql);
	buf_free(&p->copy_sql);
	buf_free(&p->insert_sql);
	for (int i = 0; i < p->nidents; i++)
		PQfreemem(p->idents[i].quoted);
	free(p);
}
