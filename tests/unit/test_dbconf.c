/*
 * test_dbconf.c — precedence of --db, DATABASE_URL, DB_*, .env and libpq
 * defaults; .env parsing.  Table-driven: environment and .env text in,
 * expected keyword=value pairs out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbconf.h"

/* The environment of a case: "NAME=value" strings, NULL-terminated. */
static const char *
fake_getenv(const char *name, void *ctx)
{
	const char *const *env = ctx;
	size_t n = strlen(name);
	for (; env != NULL && *env != NULL; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

struct dbconf_case {
	const char *what;
	const char *db_option;
	const char *env[8];
	const char *dotenv; /* contents of .env, or NULL for no file */
	const char *source;
	const char *expect; /* "k=v k=v" in order, application_name last */
};

static const struct dbconf_case cases[] = {
        {"--db wins over everything",
         "host=a dbname=b",
         {"DATABASE_URL=postgresql://x/y", "DB_HOST=h", "DB_NAME=n", NULL},
         "DB_USER=u\n",
         "--db",
         "dbname=host=a dbname=b application_name=siprems-etl"},
        {"DATABASE_URL wins over DB_*",
         NULL,
         {"DATABASE_URL=postgresql://u@h:5/d", "DB_HOST=h2", NULL},
         NULL,
         "DATABASE_URL",
         "dbname=postgresql://u@h:5/d application_name=siprems-etl"},
        {"DB_* map to libpq keywords",
         NULL,
         {"DB_HOST=db.example", "DB_PORT=6543", "DB_NAME=siprems_db", "DB_USER=app",
          "DB_PASSWORD=s3cret", NULL},
         NULL,
         "DB_* variables",
         "host=db.example port=6543 dbname=siprems_db user=app password=s3cret "
         "application_name=siprems-etl"},
        {"an unset DB_* leaves libpq's default",
         NULL,
         {"DB_NAME=only", NULL},
         NULL,
         "DB_* variables",
         "dbname=only application_name=siprems-etl"},
        {"empty DB_* values are ignored",
         NULL,
         {"DB_HOST=", "DB_NAME=n", NULL},
         NULL,
         "DB_* variables",
         "dbname=n application_name=siprems-etl"},
        {"nothing set: libpq defaults",
         NULL,
         {"PGHOST=/tmp", NULL},
         NULL,
         "libpq defaults",
         "application_name=siprems-etl"},
        {".env fills what the environment lacks",
         NULL,
         {"DB_HOST=envhost", NULL},
         "DB_HOST=filehost\nDB_NAME=filedb\n",
         "DB_* variables (environment and .env)",
         "host=envhost dbname=filedb application_name=siprems-etl"},
        {".env never overrides the environment, even with an empty value",
         NULL,
         {"DB_NAME=", "DB_USER=envuser", NULL},
         "DB_NAME=filedb\nDB_USER=fileuser\n",
         "DB_* variables",
         "user=envuser application_name=siprems-etl"},
        {"DATABASE_URL in .env beats DB_* in the environment",
         NULL,
         {"DB_HOST=h", NULL},
         "DATABASE_URL=postgresql://f/db\n",
         "DATABASE_URL in .env",
         "dbname=postgresql://f/db application_name=siprems-etl"},
        {".env syntax: export, quotes, comments",
         NULL,
         {NULL},
         "# a comment\n\nexport DB_HOST=h1\nDB_PORT = 5433 # inline\nDB_NAME='my db'\n"
         "DB_USER=\"a\\\"b\"\nDB_PASSWORD=p#w\nOTHER=x\n",
         "DB_* variables in .env",
         "host=h1 port=5433 dbname=my db user=a\"b password=p#w application_name=siprems-etl"},
        {"CRLF .env lines",
         NULL,
         {NULL},
         "DB_HOST=h\r\nDB_NAME=d\r\n",
         "DB_* variables in .env",
         "host=h dbname=d application_name=siprems-etl"},
        {"malformed .env lines are skipped",
         NULL,
         {NULL},
         "garbage line\nDB_NAME='unterminated\nDB_HOST=ok\n",
         "DB_* variables in .env",
         "host=ok application_name=siprems-etl"},
        {"--db ignores .env entirely",
         "dbname=x",
         {NULL},
         "DB_HOST=h\n",
         "--db",
         "dbname=dbname=x application_name=siprems-etl"},
        {"SQLAlchemy driver suffix is stripped",
         NULL,
         {"DATABASE_URL=postgresql+psycopg2://u:p@h/d", NULL},
         NULL,
         "DATABASE_URL",
         "dbname=postgresql://u:p@h/d application_name=siprems-etl"},
        {"postgres+asyncpg:// too",
         "postgres+asyncpg://h/d",
         {NULL},
         NULL,
         "--db",
         "dbname=postgres://h/d application_name=siprems-etl"},
};

static void
render(const struct dbconf *c, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i < c->n; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s=%s", i ? " " : "", c->keywords[i],
		                      c->values[i]);
	assert_null(c->keywords[c->n]);
	assert_null(c->values[c->n]);
}

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct dbconf_case *tc = &cases[i];
		char path[] = "/tmp/test_dbconf.XXXXXX";
		const char *dotenv = NULL;
		if (tc->dotenv != NULL) {
			int fd = mkstemp(path);
			assert_true(fd >= 0);
			size_t len = strlen(tc->dotenv);
			assert_int_equal(write(fd, tc->dotenv, len), (ssize_t)len);
			assert_int_equal(close(fd), 0);
			dotenv = path;
		}
		struct dbconf c;
		struct etl_error err;
		error_clear(&err);
		assert_int_equal(dbconf_resolve(&c, tc->db_option, fake_getenv, (void *)tc->env,
		                                dotenv, &err),
		                 ETL_OK);
		char got[1024];
		render(&c, got, sizeof got);
		if (strcmp(got, tc->expect) != 0 || strcmp(c.source, tc->source) != 0)
			fail_msg("case \"%s\":\n  got      [%s] from %s\n  expected [%s] from %s",
			         tc->what, got, c.source, tc->expect, tc->source);
		dbconf_free(&c);
		if (dotenv != NULL)
			(void)unlink(path);
	}
}

static void
test_missing_dotenv_is_no_error(void **state)
{
	(void)state;
	const char *env[] = {"DB_NAME=x", NULL};
	struct dbconf c;
	assert_int_equal(dbconf_resolve(&c, NULL, fake_getenv, env, "/nonexistent/.env", NULL),
	                 ETL_OK);
	assert_string_equal(dbconf_get(&c, "dbname"), "x");
	assert_null(dbconf_get(&c, "host"));
	dbconf_free(&c);
	dbconf_free(NULL);
}

static void
test_strip_driver(void **state)
{
	(void)state;
	static const char *const in_out[][2] = {
	        {"postgresql+psycopg2://u@h/d", "postgresql://u@h/d"},
	        {"postgresql://u@h/d", "postgresql://u@h/d"},
	        {"postgres+pg8000://h", "postgres://h"},
	        {"host=h dbname=d", "host=h dbname=d"},
	        {"postgresql+", "postgresql+"},
	};
	for (size_t i = 0; i < sizeof in_out / sizeof in_out[0]; i++) {
		char buf[128];
		(void)snprintf(buf, sizeof buf, "%s", in_out[i][0]);
		dbconf_strip_driver(buf);
		assert_string_equal(buf, in_out[i][1]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cases),
	        cmocka_unit_test(test_missing_dotenv_is_no_error),
	        cmocka_unit_test(test_strip_driver),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
