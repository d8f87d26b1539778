/*
 * schema_adopt.c — adopting tables an app created its own way (its
 * schema.sql, or an ORM's create_all): what the live catalog says about
 * each column the loader fills, how a column the guide defines otherwise
 * is handled (never by changing it), and the unique keys --on-conflict
 * needs, added only when the existing rows allow them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "schema_impl.h"
#include "sqlbuf.h"

static void read_live(struct ctx *c, const struct table_def *t, struct live_table *lt);

void
schema_read_facts(struct ctx *c, struct schema_facts *f)
{
	/* The labelled column (events.type): the database's spelling of each label. */
	const struct table_def *lt = NULL;
	const struct col_def *lc = NULL;
	for (int k = 0; k < KIND_COUNT; k++)
		for (int i = 0; i < table_get((enum kind)k)->ncols; i++)
			if (table_get((enum kind)k)->cols[i].rule == RULE_LABEL) {
				lt = table_get((enum kind)k);
				lc = &lt->cols[i];
			}
	const char *const *ours = lc->labels;
	int nours = table_nlabels(lc);
	memset(f, 0, sizeof *f);
	for (int k = 0; k < KIND_COUNT; k++)
		read_live(c, table_get((enum kind)k), &f->kinds[k]);
	for (int i = 0; i < nours; i++)
		(void)snprintf(f->event_labels[i], sizeof f->event_labels[i], "%s", ours[i]);
	PGresult *r = schema_query1(
	        c,
	        "SELECT t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
	        "WHERE a.attrelid = to_regclass($1) AND a.attname = 'transaction_date'",
	        "transactions", NULL);
	if (r != NULL && PQntuples(r) == 1)
		f->sales_timestamptz = strcmp(PQgetvalue(r, 0, 0), "timestamptz") == 0;
	PQclear(r);
	r = schema_query1(
	        c,
	        "SELECT e.enumlabel FROM pg_attribute a JOIN pg_enum e ON e.enumtypid = a.atttypid "
	        "WHERE a.attrelid = to_regclass($1) AND a.attname = $2 "
	        "ORDER BY e.enumsortorder",
	        lt->table, lc->db_column);
	for (int j = 0; r != NULL && j < PQntuples(r); j++)
		for (int i = 0; i < nours; i++)
			if (strcasecmp(PQgetvalue(r, j, 0), ours[i]) == 0)
				(void)snprintf(f->event_labels[i], sizeof f->event_labels[i], "%s",
				               PQgetvalue(r, j, 0));
	PQclear(r);
}

/* ---- columns the guide defines otherwise ------------------------------- */

static const struct table_def *
kind_of_table(const char *table)
{
	for (int k = 0; k < KIND_COUNT; k++)
		if (strcmp(table_get((enum kind)k)->table, table) == 0)
			return table_get((enum kind)k);
	return NULL;
}

static bool
is_timestamp(const char *typname)
{
	return strcmp(typname, "timestamp") == 0 || strcmp(typname, "timestamptz") == 0;
}

const char *
schema_fill_rule(const char *table, const char *column, const char *typname, char *buf, size_t size)
{
	const struct table_def *t = kind_of_table(table);
	if (t == NULL)
		return NULL;
	for (int i = 0; i < t->ncols; i++) {
		const struct col_def *c = &t->cols[i];
		if (strcmp(c->db_column, column) != 0)
			continue;
		if (c->flags & COL_REQUIRED)
			return "every file gives it";
		if (c->empty_rule == EMPTY_DEFAULT) {
			(void)snprintf(buf, size,
			               "the loader sends %s when a file has no %s column", c->empty,
			               c->name);
			return buf;
		}
		if (c->empty_rule == EMPTY_NULL) {
			(void)snprintf(buf, size, "an empty or missing %s is rejected", c->name);
			return buf;
		}
		return NULL;
	}
	if (strcmp(column, t->id_column) != 0 && is_timestamp(typname))
		return "the loader fills it with the load's timestamp";
	return NULL;
}

/* The live columns of each kind's table, and its audit columns. */
static void
read_live(struct ctx *c, const struct table_def *t, struct live_table *lt)
{
	PGresult *r = schema_query1(
	        c,
	        "SELECT a.attname, t.typname, CASE WHEN t.typname IN ('varchar', 'bpchar') AND "
	        "a.atttypmod > 4 THEN a.atttypmod - 4 ELSE 0 END, a.attnotnull AND NOT "
	        "(a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') "
	        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
	        "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
	        "ORDER BY a.attnum",
	        t->table, NULL);
	for (int j = 0; r != NULL && j < PQntuples(r); j++) {
		const char *name = PQgetvalue(r, j, 0), *typname = PQgetvalue(r, j, 1);
		bool required = PQgetvalue(r, j, 3)[0] == 't';
		bool filled = false;
		for (int i = 0; i < t->ncols; i++) {
			if (strcmp(t->cols[i].db_column, name) != 0)
				continue;
			struct live_col *lc = &lt->cols[i];
			(void)snprintf(lc->typname, sizeof lc->typname, "%s", typname);
			lc->max_chars = atoi(PQgetvalue(r, j, 2));
			lc->required = required;
			filled = true;
		}
		if (required && !filled && strcmp(name, t->id_column) != 0 &&
		    is_timestamp(typname) && lt->naudit < 4) {
			(void)snprintf(lt->audit[lt->naudit], sizeof lt->audit[0], "%s", name);
			lt->audit_tz[lt->naudit++] = strcmp(typname, "timestamptz") == 0;
		}
	}
	PQclear(r);
}

/* ---- unique keys on existing rows ---------------------------------------- */

bool
schema_created(const struct ctx *c, const char *table)
{
	for (int i = 0; i < c->ncreated; i++)
		if (strcmp(c->created[i], table) == 0)
			return true;
	return false;
}

enum etl_code
schema_unique_allowed(struct ctx *c, const struct ddl_stmt *s)
{
	struct buf cols = {0}, shown = {0}, names = {0};
	for (int i = 0; i < s->ncols; i++) {
		char *q = PQescapeIdentifier(c->conn, s->cols[i], strlen(s->cols[i]));
		if (q == NULL) {
			cols.failed = true;
			break;
		}
		sql_printf(&cols, "%s%s", i ? ", " : "", q);
		sql_printf(&names, "%s%s", i ? ", " : "", s->cols[i]);
		sql_printf(&shown, "%s%s::text", i ? " || '+' || " : "", q);
		PQfreemem(q);
	}
	char *table = PQescapeIdentifier(c->conn, s->table, strlen(s->table));
	PGresult *r = NULL;
	if (table == NULL || cols.failed || shown.failed || names.failed)
		(void)error_oom(c->err, NULL, 0);
	else
		/* The keys that repeat, as check shows them: the value, how many. */
		r = db_queryf(
		        c->conn, 0, NULL, c->err,
		        "SELECT %s, count(*), (SELECT count(*) FROM (SELECT 1 FROM %s GROUP BY "
		        "%s HAVING count(*) > 1) d) FROM %s GROUP BY %s HAVING count(*) > 1 "
		        "ORDER BY count(*) DESC, 1 LIMIT 5",
		        shown.data, table, cols.data, table, cols.data);
	PQfreemem(table);
	buf_free(&cols);
	buf_free(&shown);
	if (r == NULL) {
		buf_free(&names);
		return c->err->code;
	}
	enum etl_code rc = ETL_OK;
	if (PQntuples(r) > 0) {
		char keys[600] = "";
		size_t k = 0;
		for (int i = 0; i < PQntuples(r); i++)
			k += (size_t)snprintf(keys + k, k < sizeof keys ? sizeof keys - k : 0,
			                      "%s\"%s\" (%s rows)", i ? ", " : "",
			                      PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
		rc = error_set(c->err, ETL_EDB, NULL, 0,
		               "cannot create %s: could not create unique index on %s (%s), the "
		               "key --on-conflict needs: %s key%s repeat%s in its rows: %s%s; "
		               "nothing was changed",
		               s->name, s->table, names.data, PQgetvalue(r, 0, 2),
		               strcmp(PQgetvalue(r, 0, 2), "1") == 0 ? "" : "s",
		               strcmp(PQgetvalue(r, 0, 2), "1") == 0 ? "s" : "", keys,
		               atoi(PQgetvalue(r, 0, 2)) > PQntuples(r) ? ", …" : "");
	}
	PQclear(r);
	buf_free(&names);
	return rc;
}
