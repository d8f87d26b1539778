/*
 * schema_step.c — one step of ensuring the schema: a statement run (or, in a
 * dry run or with --print-sql, shown), a question to the catalog, a line of
 * what was done.
 */
#include "schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "schema_impl.h"

/* ---- results ------------------------------------------------------------ */

enum etl_code
schema_result_add(struct schema_result *res, struct etl_error *err, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	char **lines = realloc(res->lines, (size_t)(res->nlines + 1) * sizeof *lines);
	if (lines == NULL)
		return error_oom(err, NULL, 0);
	res->lines = lines;
	res->lines[res->nlines] = strdup(buf);
	if (res->lines[res->nlines] == NULL)
		return error_oom(err, NULL, 0);
	res->nlines++;
	return ETL_OK;
}

void
schema_result_free(struct schema_result *res)
{
	if (res == NULL)
		return;
	for (int i = 0; i < res->nlines; i++)
		free(res->lines[i]);
	free(res->lines);
	memset(res, 0, sizeof *res);
}

/* ---- catalog questions -------------------------------------------------- */

/* The past or, in a dry run, the conditional form of a verb. */
const char *
schema_verb(const struct ctx *c, const char *past, const char *would)
{
	return c->dry_run ? would : past;
}

/* Runs (or, in a dry run, prints) a statement that creates object. */
enum etl_code
schema_apply(struct ctx *c, const char *object, const char *sql)
{
	if (c->dry_run) {
		if (c->sql_out != NULL)
			(void)fprintf(c->sql_out, "%s\n", sql);
	} else {
		enum etl_code rc = db_exec(c->conn, "SAVEPOINT etl_ddl", c->err);
		if (rc == ETL_OK)
			rc = db_exec(c->conn, sql, c->err);
		/* Made meanwhile by another session (a loader swapping in the
		 * table's shadow gives its indexes their names back while
		 * this run looked): present now, nothing to do. */
		if (rc != ETL_OK && (strcmp(c->err->sqlstate, "42P07") == 0 ||
		                     strcmp(c->err->sqlstate, "42710") == 0)) {
			error_clear(c->err);
			return db_exec(c->conn,
			               "ROLLBACK TO SAVEPOINT etl_ddl; RELEASE SAVEPOINT etl_ddl",
			               c->err);
		}
		if (rc == ETL_OK)
			rc = db_exec(c->conn, "RELEASE SAVEPOINT etl_ddl", c->err);
		if (rc != ETL_OK) {
			char msg[sizeof c->err->msg];
			(void)snprintf(msg, sizeof msg, "%s", c->err->msg);
			return error_set(c->err, ETL_EDB, NULL, 0, "cannot create %s: %s", object,
			                 msg);
		}
	}
	char **a = realloc(c->applied, (size_t)(c->napplied + 1) * sizeof *a);
	if (a == NULL)
		return error_oom(c->err, NULL, 0);
	c->applied = a;
	char **o = realloc(c->objects, (size_t)(c->napplied + 1) * sizeof *o);
	if (o == NULL)
		return error_oom(c->err, NULL, 0);
	c->objects = o;
	c->applied[c->napplied] = strdup(sql);
	c->objects[c->napplied] = strdup(object);
	c->napplied++;
	if (c->applied[c->napplied - 1] == NULL || c->objects[c->napplied - 1] == NULL)
		return error_oom(c->err, NULL, 0);
	c->res->applied++;
	return ETL_OK;
}

PGresult *
schema_query1(struct ctx *c, const char *sql, const char *a, const char *b)
{
	const char *params[2] = {a, b};
	return db_query(c->conn, sql, b != NULL ? 2 : 1, params, c->err);
}
