/*
 * schema.c — ensuring the guide's schema: parse the embedded DDL into one
 * statement per object, ask the catalog about each, run what is missing.
 *
 * The DDL files are the only description of the database columns; this file
 * reads their CREATE TABLE column lists to check existing tables, so there
 * is no second list to keep in step.
 */
#include "schema.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "schema_impl.h"
#include "sqlbuf.h"

#ifndef ETL_VERSION
#define ETL_VERSION "dev"
#endif

static enum etl_code
ensure_enum(struct ctx *c, const struct ddl_stmt *s)
{
	PGresult *r = schema_query1(c,
	                            "SELECT t.typtype, e.enumlabel FROM pg_type t "
	                            "LEFT JOIN pg_enum e ON e.enumtypid = t.oid "
	                            "WHERE t.oid = to_regtype($1) ORDER BY e.enumsortorder",
	                            s->name, NULL);
	if (r == NULL)
		return ETL_EDB;
	enum etl_code rc = ETL_OK;
	if (PQntuples(r) == 0) {
		rc = schema_apply(c, s->name, s->sql);
		if (rc == ETL_OK)
			rc = schema_result_add(c->res, c->err, "%s type %s",
			                       schema_verb(c, "created", "would create"), s->name);
		goto out;
	}
	if (PQgetvalue(r, 0, 0)[0] != 'e') {
		rc = error_set(c->err, ETL_EDB, NULL, 0,
		               "type %s exists but is not an enum; siprems-etl cannot use it",
		               s->name);
		goto out;
	}
	for (int i = 0; i < s->nlabels && rc == ETL_OK; i++) {
		bool found = false;
		for (int j = 0; j < PQntuples(r); j++)
			if (strcmp(PQgetvalue(r, j, 1), s->labels[i]) == 0)
				found = true;
		if (found)
			continue;
		struct buf q = {0};
		sql_printf(&q, "ALTER TYPE %s ADD VALUE IF NOT EXISTS '%s';", s->name,
		           s->labels[i]);
		rc = q.failed ? error_oom(c->err, NULL, 0) : schema_apply(c, s->name, q.data);
		buf_free(&q);
		if (rc == ETL_OK)
			rc = schema_result_add(c->res, c->err, "%s value '%s' to type %s",
			                       schema_verb(c, "added", "would add"), s->labels[i],
			                       s->name);
	}
out:
	PQclear(r);
	return rc;
}

static bool
tclass_ok(enum tclass want, const char *typname, char typtype, char category)
{
	switch (want) {
	case TC_INT:
		return strcmp(typname, "int2") == 0 || strcmp(typname, "int4") == 0 ||
		       strcmp(typname, "int8") == 0;
	case TC_TEXT:
		return category == 'S';
	case TC_NUMERIC: /* an ORM's money columns are floats */
		return strcmp(typname, "numeric") == 0 || strcmp(typname, "float8") == 0 ||
		       strcmp(typname, "float4") == 0;
	case TC_BOOL:
		return strcmp(typname, "bool") == 0;
	case TC_TIMESTAMP:
		return strcmp(typname, "timestamp") == 0 || strcmp(typname, "timestamptz") == 0;
	case TC_DATE:
		return strcmp(typname, "date") == 0 || strcmp(typname, "timestamp") == 0 ||
		       strcmp(typname, "timestamptz") == 0;
	case TC_ENUM:
		return typtype == 'e' || category == 'S';
	}
	return false;
}

static const char *
tclass_name(enum tclass tc)
{
	static const char *const names[] = {
	        "an integer type", "text or varchar",          "numeric",
	        "boolean",         "timestamp or timestamptz", "date",
	        "an enum or text"};
	return names[tc];
}

/* Appends "; " + text to buf (the list of incompatibilities). */
static void append_problem(char *buf, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
append_problem(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	if (n > 0 && n + 2 < size) {
		memcpy(buf + n, "; ", 3);
		n += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

static bool
is_etl_table(const char *table)
{
	return strncmp(table, "etl_", 4) == 0;
}

/* One column of the guide's table against the catalog's rows r: added when
 * missing and nullable or with a default; any other difference that a load
 * would trip over is appended to problems, what it only tolerates noted. */
static enum etl_code
check_column(struct ctx *c, const struct ddl_stmt *s, const PGresult *r, const struct ddl_col *want,
             char *problems, size_t psize)
{
	enum etl_code rc = ETL_OK;
	int row = -1;
	for (int j = 0; j < PQntuples(r); j++)
		if (strcmp(PQgetvalue(r, j, 0), want->name) == 0)
			row = j;
	if (row < 0 && (want->notnull && want->dflt[0] == '\0' && !want->serial)) {
		append_problem(problems, psize, "column %s is missing", want->name);
		return ETL_OK;
	}
	if (row < 0) {
		/* Nullable or with a default: adding it rewrites nothing. */
		struct buf q = {0};
		sql_printf(&q, "ALTER TABLE %s ADD COLUMN %s;", s->table, want->def);
		rc = q.failed ? error_oom(c->err, NULL, 0) : schema_apply(c, s->table, q.data);
		buf_free(&q);
		if (rc == ETL_OK)
			rc = schema_result_add(c->res, c->err, "%s column %s.%s",
			                       schema_verb(c, "added", "would add"), s->table,
			                       want->name);
		return rc;
	}
	const char *typname = PQgetvalue(r, row, 1);
	if (!tclass_ok(want->tclass, typname, PQgetvalue(r, row, 2)[0], PQgetvalue(r, row, 3)[0])) {
		append_problem(problems, psize, "column %s has type %s, expected %s", want->name,
		               typname, tclass_name(want->tclass));
		return ETL_OK;
	}
	if (want->tclass == TC_NUMERIC && strcmp(typname, "numeric") != 0) {
		rc = schema_result_add(c->res, c->err,
		                       "note: %s.%s is %s: accepted; values still have at "
		                       "most 2 decimals",
		                       s->table, want->name,
		                       typname[5] == '8' ? "double precision" : "real");
		if (rc != ETL_OK)
			return rc;
	}
	bool notnull = PQgetvalue(r, row, 4)[0] == 't';
	bool hasdef = PQgetvalue(r, row, 5)[0] == 't';
	if (!notnull || hasdef || (want->notnull && want->dflt[0] == '\0' && !want->serial))
		return ETL_OK;
	/* NOT NULL without a default where the guide has a default or
	 * allows NULL: the loader sends a value or rejects the row, and
	 * the column stays as it is. */
	char how[160];
	const char *fill = schema_fill_rule(s->table, want->name, typname, how, sizeof how);
	if (want->serial || fill == NULL) {
		append_problem(problems, psize,
		               want->serial ? "column %s has no default (SERIAL or IDENTITY), "
		                              "and siprems-etl inserts rows without ids"
		                            : "column %s is NOT NULL without a default, and "
		                              "siprems-etl cannot fill it",
		               want->name);
		return ETL_OK;
	}
	return schema_result_add(c->res, c->err, "note: %s.%s is NOT NULL without a default: %s",
	                         s->table, want->name, fill);
}

static enum etl_code
ensure_table(struct ctx *c, const struct ddl_stmt *s)
{
	enum etl_code rc = ETL_OK;
	PGresult *r = schema_query1(
	        c,
	        "SELECT a.attname, t.typname, t.typtype, t.typcategory, a.attnotnull, "
	        "a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' "
	        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
	        "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
	        "ORDER BY a.attnum",
	        s->table, NULL);
	if (r == NULL)
		return ETL_EDB;
	if (PQntuples(r) == 0) {
		/* to_regclass() is NULL: the table does not exist (a table
		 * without columns cannot be ours either). */
		PGresult *e =
		        schema_query1(c, "SELECT to_regclass($1) IS NOT NULL", s->table, NULL);
		bool exists = e != NULL && PQgetvalue(e, 0, 0)[0] == 't';
		PQclear(e);
		if (!exists) {
			if (c->ncreated < 8)
				(void)snprintf(c->created[c->ncreated++], sizeof c->created[0],
				               "%s", s->table);
			rc = schema_apply(c, s->table, s->sql);
			if (rc == ETL_OK)
				rc = schema_result_add(c->res, c->err, "%s table %s",
				                       schema_verb(c, "created", "would create"),
				                       s->table);
			goto out;
		}
	}

	char problems[768] = "";
	for (int i = 0; i < s->ntcols; i++)
		if ((rc = check_column(c, s, r, &s->tcols[i], problems, sizeof problems)) != ETL_OK)
			goto out;
	/* A NOT NULL column the guide does not know cannot be filled. */
	for (int j = 0; j < PQntuples(r) && !is_etl_table(s->table); j++) {
		const char *name = PQgetvalue(r, j, 0);
		bool known = false;
		for (int i = 0; i < s->ntcols; i++)
			if (strcmp(s->tcols[i].name, name) == 0)
				known = true;
		if (known || PQgetvalue(r, j, 4)[0] != 't' || PQgetvalue(r, j, 5)[0] == 't')
			continue;
		char how[160];
		const char *fill =
		        schema_fill_rule(s->table, name, PQgetvalue(r, j, 1), how, sizeof how);
		if (fill == NULL)
			append_problem(problems, sizeof problems,
			               "column %s is NOT NULL without a default, and siprems-etl "
			               "cannot fill it",
			               name);
		else if ((rc = schema_result_add(c->res, c->err,
		                                 "note: %s.%s is NOT NULL without a default: %s",
		                                 s->table, name, fill)) != ETL_OK)
			goto out;
	}
	if (problems[0] != '\0')
		rc = error_set(c->err, ETL_EDB, NULL, 0, "table %s is incompatible: %s", s->table,
		               problems);
out:
	PQclear(r);
	return rc;
}

/* The indexes of a table: name, unique, usable (btree, valid, whole-table,
 * no expressions), key columns "a,b" and directions "ad". */
static PGresult *
table_indexes(struct ctx *c, const char *table)
{
	return schema_query1(
	        c,
	        "SELECT i.relname, x.indisunique, "
	        "  am.amname = 'btree' AND x.indisvalid AND x.indpred IS NULL "
	        "    AND x.indexprs IS NULL, "
	        "  (SELECT string_agg(a.attname, ',' ORDER BY k.o) "
	        "     FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(n, o) "
	        "     JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n "
	        "    WHERE k.o <= x.indnkeyatts), "
	        "  (SELECT string_agg(CASE WHEN d.v & 1 = 1 THEN 'd' ELSE 'a' END, '' "
	        "                     ORDER BY d.o) "
	        "     FROM unnest(x.indoption::int2[]) WITH ORDINALITY d(v, o)) "
	        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
	        "JOIN pg_am am ON am.oid = i.relam WHERE x.indrelid = to_regclass($1) "
	        "ORDER BY i.relname",
	        table, NULL);
}

/* Joins the statement's columns as the catalog query does. */
static void
stmt_cols(const struct ddl_stmt *s, char *cols, size_t csize, char *dirs, size_t dsize)
{
	cols[0] = '\0';
	size_t n = 0;
	for (int i = 0; i < s->ncols && n + NAMELEN + 1 < csize; i++)
		n += (size_t)snprintf(cols + n, csize - n, "%s%s", i ? "," : "", s->cols[i]);
	for (int i = 0; i < s->ncols && (size_t)i + 1 < dsize; i++)
		dirs[i] = s->desc[i] ? 'd' : 'a';
	dirs[s->ncols < (int)dsize ? s->ncols : (int)dsize - 1] = '\0';
}

/* Splits a comma list into at most max names; returns the count. */
static int
split_names(const char *list, char names[][NAMELEN], int max)
{
	int n = 0;
	while (*list != '\0' && n < max) {
		size_t len = strcspn(list, ",");
		(void)snprintf(names[n++], NAMELEN, "%.*s", (int)len, list);
		list += len;
		if (*list == ',')
			list++;
	}
	return n;
}

/* True when the comma lists a and b hold the same names in any order. */
static bool
same_set(const char *a, const char *b)
{
	char na[8][NAMELEN], nb[8][NAMELEN];
	int ca = split_names(a, na, 8), cb = split_names(b, nb, 8);
	if (ca != cb)
		return false;
	for (int i = 0; i < ca; i++) {
		bool found = false;
		for (int j = 0; j < cb && !found; j++)
			found = strcmp(na[i], nb[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* Creates an index or unique constraint unless it, or an equivalent, exists. */
static enum etl_code
ensure_index(struct ctx *c, const struct ddl_stmt *s)
{
	PGresult *r = table_indexes(c, s->table);
	if (r == NULL)
		return ETL_EDB;
	char cols[256], dirs[8];
	stmt_cols(s, cols, sizeof cols, dirs, sizeof dirs);
	const char *found = NULL;
	for (int i = 0; i < PQntuples(r) && found == NULL; i++) {
		const char *name = PQgetvalue(r, i, 0);
		bool unique = PQgetvalue(r, i, 1)[0] == 't';
		bool usable = PQgetvalue(r, i, 2)[0] == 't';
		const char *icols = PQgetvalue(r, i, 3), *idirs = PQgetvalue(r, i, 4);
		if (strcmp(name, s->name) == 0) {
			found = name;
		} else if (!usable || (s->unique && !unique)) {
			continue;
		} else if (s->unique) {
			/* Uniqueness holds whatever the column order. */
			if (same_set(cols, icols))
				found = name;
		} else if (strcmp(cols, icols) == 0 && strncmp(dirs, idirs, strlen(dirs)) == 0) {
			found = name;
		}
	}
	enum etl_code rc = ETL_OK;
	if (found != NULL) {
		if (strcmp(found, s->name) != 0)
			rc = schema_result_add(c->res, c->err, "%s: present as %s", s->name, found);
	} else if (s->unique && !schema_created(c, s->table)) {
		/* A unique key on a table the app made: only when its rows allow
		 * it, and as an index, which changes none of its columns. */
		rc = schema_unique_allowed(c, s);
		struct buf q = {0};
		sql_printf(&q, "CREATE UNIQUE INDEX %s ON %s (%s);", s->name, s->table, cols);
		if (rc == ETL_OK)
			rc = q.failed ? error_oom(c->err, NULL, 0)
			              : schema_apply(c, s->name, q.data);
		buf_free(&q);
		if (rc == ETL_OK)
			rc = schema_result_add(c->res, c->err, "%s unique index %s on %s(%s)",
			                       schema_verb(c, "created", "would create"), s->name,
			                       s->table, cols);
	} else {
		rc = schema_apply(c, s->name, s->sql);
		if (rc == ETL_OK)
			rc = schema_result_add(c->res, c->err, "%s %s %s on %s(%s)",
			                       schema_verb(c, "created", "would create"),
			                       s->kind == ST_UNIQUE ? "constraint" : "index",
			                       s->name, s->table, cols);
	}
	PQclear(r);
	return rc;
}

static enum etl_code
ensure_fkey(struct ctx *c, const struct ddl_stmt *s)
{
	const char *params[3] = {s->table, s->ref_table, s->cols[0]};
	PGresult *r = db_query(
	        c->conn,
	        "SELECT k.conname FROM pg_constraint k JOIN pg_class f ON f.oid = k.confrelid "
	        "WHERE k.contype = 'f' AND k.conrelid = to_regclass($1) AND f.relname = $2 "
	        "AND array_length(k.conkey, 1) = 1 AND (SELECT a.attname FROM pg_attribute a "
	        "  WHERE a.attrelid = k.conrelid AND a.attnum = k.conkey[1]) = $3",
	        3, params, c->err);
	if (r == NULL)
		return ETL_EDB;
	enum etl_code rc = ETL_OK;
	if (PQntuples(r) > 0) {
		if (strcmp(PQgetvalue(r, 0, 0), s->name) != 0)
			rc = schema_result_add(c->res, c->err, "%s: present as %s", s->name,
			                       PQgetvalue(r, 0, 0));
	} else {
		rc = schema_apply(c, s->name, s->sql);
		if (rc == ETL_OK)
			rc = schema_result_add(c->res, c->err, "%s foreign key %s on %s(%s)",
			                       schema_verb(c, "created", "would create"), s->name,
			                       s->table, s->cols[0]);
	}
	PQclear(r);
	return rc;
}

/* Moves a table's id sequence past the largest id: rows inserted with
 * explicit ids (the old seed.py did that) leave it behind, and then every
 * insert without an id fails.  Runs in a savepoint: a role that may not read
 * or set the sequence gets a warning, not an error.  The table and column
 * names come from our own DDL. */
static enum etl_code
fix_sequence(struct ctx *c, const struct ddl_stmt *s)
{
	const char *idcol = NULL;
	for (int i = 0; i < s->ntcols; i++)
		if (s->tcols[i].serial)
			idcol = s->tcols[i].name;
	if (idcol == NULL)
		return ETL_OK;
	PGresult *e = schema_query1(c, "SELECT to_regclass($1) IS NOT NULL", s->table, NULL);
	bool exists = e != NULL && PQgetvalue(e, 0, 0)[0] == 't';
	PQclear(e);
	if (!exists) /* a dry run on a database without it */
		return ETL_OK;
	/* A bulk load holding the table must not hold up this check. */
	enum etl_code rc =
	        db_exec(c->conn, "SAVEPOINT etl_seq; SET LOCAL lock_timeout = '2s'", c->err);
	if (rc != ETL_OK)
		return rc;
	struct etl_error qerr;
	error_clear(&qerr);
	PGresult *r2 = NULL;
	bool moved = false;
	PGresult *r =
	        db_queryf(c->conn, 0, NULL, &qerr,
	                  "SELECT pg_get_serial_sequence('%s', '%s'), (SELECT max(%s) FROM %s)",
	                  s->table, idcol, idcol, s->table);
	bool failed = r == NULL;
	if (failed || PQntuples(r) != 1 || PQgetisnull(r, 0, 0) || PQgetisnull(r, 0, 1))
		goto done;
	/* The sequence's name comes from the catalog: whoever may rename it
	 * chooses it, so it reaches SQL only as a parameter or a literal. */
	const char *seq = PQgetvalue(r, 0, 0), *max = PQgetvalue(r, 0, 1);
	const char *params[1] = {seq};
	/* Its name quoted by the server, for the FROM that reads it (a role
	 * that may not read it gets a warning: the savepoint). */
	r2 = db_query(c->conn,
	              "SELECT format('%I.%I', n.nspname, s.relname) FROM pg_class s JOIN "
	              "pg_namespace n ON n.oid = s.relnamespace WHERE s.oid = $1::regclass",
	              1, params, &qerr);
	failed = r2 == NULL;
	if (failed || PQntuples(r2) != 1)
		goto done;
	char from[600];
	(void)snprintf(from, sizeof from, "%s", PQgetvalue(r2, 0, 0));
	PQclear(r2);
	r2 = db_queryf(c->conn, 0, NULL, &qerr,
	               "SELECT %lld >= CASE WHEN is_called THEN last_value + 1 ELSE last_value END "
	               "FROM %s",
	               strtoll(max, NULL, 10), from);
	failed = r2 == NULL;
	if (failed || PQntuples(r2) != 1 || PQgetvalue(r2, 0, 0)[0] != 't')
		goto done;
	char *lit = PQescapeLiteral(c->conn, seq, strlen(seq));
	struct buf fix = {0};
	if (lit != NULL)
		sql_printf(&fix, "SELECT setval(%s::regclass, %lld);", lit, strtoll(max, NULL, 10));
	PQfreemem(lit);
	rc = lit == NULL || fix.failed ? error_oom(c->err, NULL, 0)
	                               : schema_apply(c, seq, fix.data);
	buf_free(&fix);
	if (rc != ETL_OK) {
		(void)snprintf(qerr.msg, sizeof qerr.msg, "%s", c->err->msg);
		failed = true;
		goto done;
	}
	rc = schema_result_add(c->res, c->err, "%s sequence %s past the largest %s (%s)",
	                       schema_verb(c, "moved", "would move"), seq, idcol, max);
	moved = rc == ETL_OK;
done:
	if (failed && strcmp(qerr.sqlstate, "55P03") == 0) /* lock_not_available */
		notex_etl("skipped the id sequence check of %s: another session holds the table",
		          s->table);
	else if (failed && c->dry_run && strcmp(qerr.sqlstate, "42501") == 0)
		; /* a role that may only read (check, a dry run) checks no sequence */
	else if (failed)
		warnx_etl("cannot check the id sequence of %s: %s", s->table, qerr.msg);
	PQclear(r);
	PQclear(r2);
	if (rc == ETL_OK)
		/* Nothing moved: the check's locks go with the savepoint.
		 * Held, products' lock (its check comes first) met another
		 * loader's swap of transactions: the swap's DROP TABLE needs
		 * products whole (its foreign key's triggers), while this
		 * check waited for transactions (a deadlock). */
		rc = db_exec(c->conn,
		             moved ? "RELEASE SAVEPOINT etl_seq"
		                   : "ROLLBACK TO SAVEPOINT etl_seq; RELEASE SAVEPOINT etl_seq",
		             c->err);
	return rc;
}

/* Parses every embedded file into *out; returns the count or -1. */
static int
parse_all(struct ddl_stmt **out)
{
	*out = NULL;
	int n = 0;
	for (int f = 0; f < schema_nfiles; f++) {
		if (!ddl_parse_all(schema_files[f].sql, out, &n)) {
			ddl_free(*out, n);
			return -1;
		}
	}
	return n;
}

enum etl_code
schema_ensure(PGconn *conn, bool dry_run, FILE *sql_out, struct schema_result *res,
              struct schema_facts *facts, struct etl_error *err)
{
	struct schema_result local = {0};
	struct ctx c = {.conn = conn,
	                .dry_run = dry_run,
	                .sql_out = sql_out,
	                .res = res ? res : &local,
	                .err = err};
	struct ddl_stmt *stmts = NULL;
	int n = parse_all(&stmts);
	enum etl_code rc = ETL_OK;
	bool in_txn = false;

	memset(c.res, 0, sizeof *c.res);
	if (n < 0) {
		rc = error_set(err, ETL_ESYSTEM, NULL, 0, "cannot parse the embedded schema");
		goto out;
	}
	rc = db_exec(conn, dry_run ? "BEGIN READ ONLY" : "BEGIN", err);
	if (rc != ETL_OK)
		goto out;
	in_txn = true;
	/* Two siprems-etl runs at once must not both create the same table. */
	if (!dry_run) {
		rc = db_exec(conn, "SELECT pg_advisory_xact_lock(1397313605, 1)", err);
		if (rc != ETL_OK)
			goto out;
	}
	for (int i = 0; i < n && rc == ETL_OK; i++) {
		c.res->checked++;
		switch (stmts[i].kind) {
		case ST_ENUM:
			rc = ensure_enum(&c, &stmts[i]);
			break;
		case ST_TABLE:
			rc = ensure_table(&c, &stmts[i]);
			break;
		case ST_INDEX:
		case ST_UNIQUE:
			rc = ensure_index(&c, &stmts[i]);
			break;
		case ST_FKEY:
			rc = ensure_fkey(&c, &stmts[i]);
			break;
		}
	}
	for (int i = 0; i < n && rc == ETL_OK; i++)
		if (stmts[i].kind == ST_TABLE)
			rc = fix_sequence(&c, &stmts[i]);
	if (rc == ETL_OK)
		rc = schema_distribute(&c);
	if (rc != ETL_OK)
		goto out;
	/* Record what was applied, in the same transaction as the changes. */
	for (int i = 0; i < c.napplied && !dry_run && rc == ETL_OK; i++) {
		const char *params[3] = {c.objects[i], c.applied[i], ETL_VERSION};
		PGresult *r =
		        db_query(conn,
		                 "INSERT INTO etl_schema_log (object, statement, etl_version) "
		                 "VALUES ($1, $2, $3)",
		                 3, params, err);
		if (r == NULL)
			rc = ETL_EDB;
		PQclear(r);
	}
	if (rc == ETL_OK && facts != NULL)
		schema_read_facts(&c, facts);
	if (rc == ETL_OK) {
		rc = db_exec(conn, dry_run ? "ROLLBACK" : "COMMIT", err);
		in_txn = false;
	}
out:
	if (in_txn) {
		PGresult *r = db_run(conn, "ROLLBACK");
		PQclear(r);
	}
	for (int i = 0; i < c.napplied; i++) {
		free(c.applied[i]);
		free(c.objects[i]);
	}
	free(c.applied);
	free(c.objects);
	ddl_free(stmts, n > 0 ? n : 0);
	schema_result_free(&local);
	return rc;
}

void
schema_print_all(FILE *out)
{
	for (int f = 0; f < schema_nfiles; f++)
		(void)fprintf(out, "-- %s\n%s\n", schema_files[f].name, schema_files[f].sql);
}
