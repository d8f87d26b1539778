/*
 * schema_impl.h — what schema.c (reconciling the guide's DDL) and
 * schema_adopt.c (adopting an app's tables) share.
 */
#ifndef SIPREMS_SCHEMA_IMPL_H
#define SIPREMS_SCHEMA_IMPL_H

#include "ddl.h"
#include "schema.h"

/* One run of schema_ensure(). */
struct ctx {
	PGconn *conn;
	bool dry_run;
	FILE *sql_out;
	struct schema_result *res;
	struct etl_error *err;
	char **applied; /* statements run, for etl_schema_log */
	char **objects;
	int napplied;
	char created[8][64]; /* tables this run created */
	int ncreated;
};

/* Reads what the loader needs to know of the live tables. */
void schema_read_facts(struct ctx *c, struct schema_facts *f);

/* A catalog query with one or two text parameters. */
PGresult *schema_query1(struct ctx *c, const char *sql, const char *a, const char *b);

/* Adds a line to what the run reports. */
enum etl_code schema_result_add(struct schema_result *res, struct etl_error *err, const char *fmt,
                                ...) __attribute__((format(printf, 3, 4)));

/* Runs (or, in a dry run, prints) a statement that creates object. */
enum etl_code schema_apply(struct ctx *c, const char *object, const char *sql);

/* The past or, in a dry run, the conditional form of a verb. */
const char *schema_verb(const struct ctx *c, const char *past, const char *would);

/*
 * On a Citus coordinator, gives the app's tables this run created (all of
 * them, or none is touched) the distributed layout (schema_citus.c).
 * Returns ETL_OK, or ETL_EDB / ETL_ESYSTEM as schema_apply() does.
 */
enum etl_code schema_distribute(struct ctx *c);

/* How the loader fills column (of type typname) of table, NOT NULL without
 * a default there: a phrase for the report, or NULL when it cannot. */
const char *schema_fill_rule(const char *table, const char *column, const char *typname, char *buf,
                             size_t size);

/* Before unique key s is added to a table that holds rows: ETL_OK when no
 * key repeats, else ETL_EDB naming the keys that do (nothing is changed). */
enum etl_code schema_unique_allowed(struct ctx *c, const struct ddl_stmt *s);

/* Whether this run created table. */
bool schema_created(const struct ctx *c, const char *table);

#endif
