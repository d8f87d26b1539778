/*
 * dbconf.h — where the connection settings come from.
 *
 * The documented precedence (README): --db (a conninfo string or URI), DATABASE_URL, the
 * Siprems backend's DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD, then
 * libpq's own defaults (PG* variables, ~/.pgpass, service files).  Values
 * missing from the real environment are read from a .env file, which never
 * overrides the environment (python-dotenv's rule).
 *
 * This module only decides keyword/value pairs for PQconnectdbParams(); it
 * does not talk to a server, so every rule is unit-tested without one.
 */
#ifndef SIPREMS_DBCONF_H
#define SIPREMS_DBCONF_H

#include "error.h"

#define DBCONF_MAX 8

/* Looks a variable up; returns NULL when it is unset. */
typedef const char *(*dbconf_getenv_fn)(const char *name, void *ctx);

struct dbconf {
	/* NULL-terminated, ready for PQconnectdbParams(keywords, values, 1). */
	const char *keywords[DBCONF_MAX + 1];
	const char *values[DBCONF_MAX + 1];
	int n;
	const char *source;      /* "--db", "DATABASE_URL", "DB_* variables", "libpq defaults";
	                            " in .env" when read from there (static) */
	char *owned[DBCONF_MAX]; /* strings this struct frees */
	int nowned;
};

/*
 * Resolves the settings into c.  db_option is the --db value or NULL.
 * getenv_fn(ctx) reads the environment; dotenv_path names the .env file to
 * fall back on (NULL, or a missing file, means none).  Returns ETL_OK, or
 * ETL_ESYSTEM on out of memory.  The caller frees c with dbconf_free().
 */
enum etl_code dbconf_resolve(struct dbconf *c, const char *db_option, dbconf_getenv_fn getenv_fn,
                             void *ctx, const char *dotenv_path, struct etl_error *err);

/* Frees what c owns; c may be NULL. */
void dbconf_free(struct dbconf *c);

/* The value of keyword in c, or NULL. */
const char *dbconf_get(const struct dbconf *c, const char *keyword);

/* A getenv_fn reading the real environment. */
const char *dbconf_real_getenv(const char *name, void *ctx);

/*
 * Rewrites a SQLAlchemy-style URI ("postgresql+psycopg2://…") into one that
 * libpq accepts, in place.  Other strings are left alone.
 */
void dbconf_strip_driver(char *uri);

#endif
