/*
 * dbconf.c — resolving connection settings: --db, DATABASE_URL, DB_*, .env.
 */
#include "dbconf.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

/* The variables a .env file may supply. */
static const char *const dotenv_names[] = {
        "DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD",
};
#define NDOTENV (sizeof dotenv_names / sizeof dotenv_names[0])

/* The backend's variables and the libpq keywords they set. */
static const struct {
	const char *var;
	const char *keyword;
} db_vars[] = {
        {"DB_HOST", "host"}, {"DB_PORT", "port"},         {"DB_NAME", "dbname"},
        {"DB_USER", "user"}, {"DB_PASSWORD", "password"},
};

struct lookup {
	dbconf_getenv_fn getenv_fn;
	void *ctx;
	char *dotenv[NDOTENV]; /* values read from .env, NULL when absent */
};

const char *
dbconf_real_getenv(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

/* Parses one value of a .env line: 'single' (literal), "double" (with
 * backslash escapes) or bare (up to an inline " #" comment, trimmed).
 * Writes the result over s and returns it, or NULL when malformed. */
static char *
dotenv_value(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\'' || *s == '"') {
		char q = *s;
		char *r = s + 1, *w = s;
		while (*r != '\0' && *r != q) {
			if (q == '"' && *r == '\\' && r[1] != '\0') {
				r++;
				*w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r;
				r++;
			} else {
				*w++ = *r++;
			}
		}
		if (*r != q)
			return NULL;
		*w = '\0';
		return s;
	}
	char *hash = strstr(s, " #");
	if (hash == NULL)
		hash = strstr(s, "\t#");
	if (hash != NULL)
		*hash = '\0';
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Reads the variables of dotenv_names from path into lk->dotenv.  A missing
 * file is no error; unreadable lines are warned about and skipped. */
static enum etl_code
dotenv_read(struct lookup *lk, const char *path, struct etl_error *err)
{
	/* Not through a link, and only a file of this user: a .env another
	 * account planted (export directories are often shared) would point
	 * the tool at its database. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC); /* a FIFO: no wait */
	if (fd < 0) {
		if (errno == ELOOP)
			warnx_etl("%s: a symbolic link; not read", path);
		return ETL_OK;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    fcntl(fd, F_SETFL, 0) != 0) {
		warnx_etl("%s: not a regular file of this user; not read", path);
		(void)close(fd);
		return ETL_OK;
	}
	FILE *f = fdopen(fd, "r");
	if (f == NULL) {
		(void)close(fd);
		return ETL_OK;
	}
	char line[4096];
	long lineno = 0;
	enum etl_code rc = ETL_OK;
	while (fgets(line, sizeof line, f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			/* Longer than the buffer: never cut silently. */
			warnx_etl("%s:%ld: ignoring a line longer than %zu characters", path,
			          lineno, sizeof line - 2);
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (strncmp(p, "export ", 7) == 0)
			p += 7;
		char *eq = strchr(p, '=');
		if (eq == NULL) {
			warnx_etl("%s:%ld: ignoring a line without '='", path, lineno);
			continue;
		}
		char *name_end = eq;
		while (name_end > p && (name_end[-1] == ' ' || name_end[-1] == '\t'))
			name_end--;
		*name_end = '\0';
		char *value = dotenv_value(eq + 1);
		if (value == NULL) {
			warnx_etl("%s:%ld: ignoring %s: unterminated quote", path, lineno, p);
			continue;
		}
		for (size_t i = 0; i < NDOTENV; i++) {
			if (strcmp(p, dotenv_names[i]) != 0)
				continue;
			free(lk->dotenv[i]);
			lk->dotenv[i] = xstrdup(value);
			if (lk->dotenv[i] == NULL) {
				rc = error_oom(err, NULL, 0);
				goto out;
			}
		}
	}
	if (ferror(f))
		warnx_etl("%s: read error; ignoring the rest of the file", path);
out:
	(void)fclose(f);
	return rc;
}

/* A variable from the environment, else from .env (*dotenv true), else
 * NULL. */
static const char *
lookup_from(const struct lookup *lk, const char *name, bool *dotenv)
{
	const char *v = lk->getenv_fn(name, lk->ctx);
	*dotenv = false;
	if (v != NULL)
		return v;
	for (size_t i = 0; i < NDOTENV; i++) {
		if (strcmp(name, dotenv_names[i]) == 0) {
			*dotenv = lk->dotenv[i] != NULL;
			return lk->dotenv[i];
		}
	}
	return NULL;
}

static int
hex(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* Each %XX of s (n bytes) decoded into out (n + 1 bytes); its length. */
static size_t
percent_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			out[o++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return o;
}

/*
 * The password a connection text holds, as written and decoded, becomes a
 * secret every message is cleaned of (error_add_secret()): libpq quotes a
 * text it cannot parse (an invalid percent-encoding, a '/' in a URI's
 * password), and no pattern can know every such message.
 */
static void
note_secret_forms(const char *s, size_t n)
{
	char *dec = malloc(n + 1);
	error_add_secret(s, n);
	if (dec != NULL)
		error_add_secret(dec, percent_decode(s, n, dec));
	free(dec);
}

static void
note_secrets(const char *conninfo)
{
	const char *sep = strstr(conninfo, "://");
	if (sep != NULL) {
		/* The user information: to the last '@' before the first '/'
		 * (as libpq reads it: a password may hold '?' and '#'), and to
		 * the last '@' of all (as its writer meant a password holding a
		 * '/', which libpq then splits into host, port and database). */
		const char *p = sep + 3, *at = NULL, *last = strrchr(p, '@');
		for (const char *q = p; *q != '\0' && *q != '/'; q++)
			if (*q == '@')
				at = q;
		for (int pass = 0; pass < 2; pass++) {
			const char *to = pass == 0 ? at : last;
			const char *colon = to ? memchr(p, ':', (size_t)(to - p)) : NULL;
			if (colon != NULL) {
				size_t n = (size_t)(to - colon - 1);
				note_secret_forms(colon + 1, n);
				/* libpq splits a password holding '/', ':' or '@' at them
				 * (into host, port and database): each piece is secret too. */
				for (const char *a = colon + 1, *b = a; b <= to; b++)
					if (b == to || *b == '/' || *b == ':' || *b == '@') {
						if (b - a < (ptrdiff_t)n)
							error_add_secret(a, (size_t)(b - a));
						a = b + 1;
					}
			}
		}
		/* password=… among the query's parameters (names percent-decoded). */
		const char *query = strchr(at ? at : p, '?');
		for (const char *a = query; a != NULL && *a != '\0';) {
			a++;
			const char *end = a + strcspn(a, "&"),
			           *eq = memchr(a, '=', (size_t)(end - a));
			if (eq != NULL) {
				char name[64];
				size_t nn = (size_t)(eq - a);
				if (nn < sizeof name) {
					char raw[64];
					memcpy(raw, a, nn);
					raw[nn] = '\0';
					(void)percent_decode(raw, nn, name);
					if (strcmp(name, "password") == 0)
						note_secret_forms(eq + 1, (size_t)(end - eq - 1));
				}
			}
			a = *end ? end : NULL;
		}
	}
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
	PQfreemem(errmsg);
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			error_add_secret(o->val, strlen(o->val));
	PQconninfoFree(opts);
}

static enum etl_code
add(struct dbconf *c, const char *keyword, const char *value, struct etl_error *err)
{
	if (strcmp(keyword, "password") == 0)
		error_add_secret(value, strlen(value));
	char *copy = xstrdup(value);
	if (copy == NULL)
		return error_oom(err, NULL, 0);
	c->owned[c->nowned++] = copy;
	c->keywords[c->n] = keyword;
	c->values[c->n] = copy;
	c->n++;
	c->keywords[c->n] = NULL;
	c->values[c->n] = NULL;
	return ETL_OK;
}

void
dbconf_strip_driver(char *uri)
{
	static const char *const schemes[] = {"postgresql+", "postgres+"};
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(uri, schemes[i], n) != 0)
			continue;
		char *sep = strstr(uri, "://");
		if (sep == NULL)
			return;
		memmove(uri + n - 1, sep, strlen(sep) + 1);
		return;
	}
}

/* Adds a conninfo string or URI as an expanded dbname. */
static enum etl_code
add_conninfo(struct dbconf *c, const char *conninfo, struct etl_error *err)
{
	note_secrets(conninfo);
	enum etl_code rc = add(c, "dbname", conninfo, err);
	if (rc == ETL_OK)
		dbconf_strip_driver(c->owned[c->nowned - 1]);
	return rc;
}

enum etl_code
dbconf_resolve(struct dbconf *c, const char *db_option, dbconf_getenv_fn getenv_fn, void *ctx,
               const char *dotenv_path, struct etl_error *err)
{
	struct lookup lk = {getenv_fn ? getenv_fn : dbconf_real_getenv, ctx, {NULL}};
	enum etl_code rc = ETL_OK;

	memset(c, 0, sizeof *c);
	if (db_option == NULL && dotenv_path != NULL) {
		rc = dotenv_read(&lk, dotenv_path, err);
		if (rc != ETL_OK)
			goto out;
	}

	bool dotenv;
	const char *pgpw = lk.getenv_fn("PGPASSWORD", lk.ctx); /* libpq reads it itself */
	if (pgpw != NULL)
		error_add_secret(pgpw, strlen(pgpw));
	const char *url = lookup_from(&lk, "DATABASE_URL", &dotenv);
	if (db_option != NULL) {
		c->source = "--db";
		rc = add_conninfo(c, db_option, err);
	} else if (url != NULL && url[0] != '\0') {
		c->source = dotenv ? "DATABASE_URL in .env" : "DATABASE_URL";
		rc = add_conninfo(c, url, err);
	} else {
		int from_env = 0, from_file = 0;
		c->source = "libpq defaults";
		for (size_t i = 0; i < sizeof db_vars / sizeof db_vars[0] && rc == ETL_OK; i++) {
			const char *v = lookup_from(&lk, db_vars[i].var, &dotenv);
			if (v == NULL || v[0] == '\0')
				continue;
			from_file += dotenv;
			from_env += !dotenv;
			rc = add(c, db_vars[i].keyword, v, err);
		}
		if (from_file > 0)
			c->source = from_env > 0 ? "DB_* variables (environment and .env)"
			                         : "DB_* variables in .env";
		else if (from_env > 0)
			c->source = "DB_* variables";
	}
	/* Last, so that it overrides an application_name inside a conninfo. */
	if (rc == ETL_OK)
		rc = add(c, "application_name", "siprems-etl", err);
out:
	for (size_t i = 0; i < NDOTENV; i++)
		free(lk.dotenv[i]);
	if (rc != ETL_OK)
		dbconf_free(c);
	return rc;
}

void
dbconf_free(struct dbconf *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	memset(c, 0, sizeof *c);
}

const char *
dbconf_get(const struct dbconf *c, const char *keyword)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->keywords[i], keyword) == 0)
			return c->values[i];
	return NULL;
}
