/*
 * profile.c — reading --profile files (see profile.h).
 */
#include "profile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

static bool
space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Trims [*s, *e) of spaces and tabs (and a CR). */
static void
strip(const char **s, const char **e)
{
	while (*s < *e && space(**s))
		(*s)++;
	while (*e > *s && space((*e)[-1]))
		(*e)--;
}

static enum etl_code
add(struct profile *p, const char *file, long line, const char *name, size_t nn, const char *val,
    size_t nv, bool flag, struct etl_error *err)
{
	struct profile_arg *a = realloc(p->args, (size_t)(p->nargs + 1) * sizeof *a);
	if (a == NULL)
		return error_oom(err, file, line);
	p->args = a;
	char *s = NULL;
	int k = flag ? asprintf(&s, "--%.*s", (int)nn, name)
	             : asprintf(&s, "--%.*s=%.*s", (int)nn, name, (int)nv, val);
	if (k < 0)
		return error_oom(err, file, line);
	p->args[p->nargs++] = (struct profile_arg){s, file, line};
	return ETL_OK;
}

/* The long option called name (nn bytes), or NULL. */
static const struct option *
find(const struct option *longopts, const char *name, size_t nn)
{
	for (const struct option *o = longopts; o->name != NULL; o++)
		if (strlen(o->name) == nn && strncmp(o->name, name, nn) == 0)
			return o;
	return NULL;
}

static bool
listed(const char *const *list, const char *name, size_t nn)
{
	for (; list != NULL && *list != NULL; list++)
		if (strlen(*list) == nn && strncmp(*list, name, nn) == 0)
			return true;
	return false;
}

enum etl_code
profile_parse(struct profile *p, const char *file, const char *text, size_t n,
              const struct option *longopts, const char *const *ignore, struct etl_error *err)
{
	char shown[160];
	const char *end = text + n;
	long line = 0;
	for (const char *s = text; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		line++;
		strip(&s, &e);
		if (s == e || *s == '#') {
			s = next;
			continue;
		}
		if (memchr(s, '\0', (size_t)(e - s)) != NULL)
			return error_set(err, ETL_EUSAGE, file, line, "the line holds a NUL byte");
		const char *eq = memchr(s, '=', (size_t)(e - s));
		const char *ne = eq ? eq : e, *vs = eq ? eq + 1 : e, *ve = e;
		const char *ns = s;
		strip(&ns, &ne);
		strip(&vs, &ve);
		text_show(shown, sizeof shown, ns, (size_t)(ne - ns));
		if (ns < ne && ne - ns >= 2 && ns[0] == '-' && ns[1] == '-')
			return error_set(err, ETL_EUSAGE, file, line,
			                 "write the option's name without its dashes: %s", shown);
		if (eq == NULL || ns == ne) {
			text_show(shown, sizeof shown, s, (size_t)(e - s));
			return error_set(err, ETL_EUSAGE, file, line, "%s is not \"name = value\"",
			                 shown);
		}
		size_t nn = (size_t)(ne - ns);
		const struct option *o = find(longopts, ns, nn);
		bool skip = o == NULL && listed(ignore, ns, nn);
		if (!skip &&
		    (o == NULL || strcmp(o->name, "help") == 0 || strcmp(o->name, "profile") == 0))
			return error_set(err, ETL_EUSAGE, file, line,
			                 "%s is not an option a profile can give here", shown);
		if (ve - vs >= 2 && vs[0] == '"' && ve[-1] == '"') {
			vs++;
			ve--;
		}
		size_t nv = (size_t)(ve - vs);
		if (skip) {
			s = next;
			continue;
		}
		enum etl_code rc;
		if (o->has_arg == no_argument) {
			bool yes = nv == 4 && strncmp(vs, "true", 4) == 0;
			bool no = nv == 5 && strncmp(vs, "false", 5) == 0;
			if (!yes && !no) {
				char v[160];
				text_show(v, sizeof v, vs, nv);
				return error_set(err, ETL_EUSAGE, file, line,
				                 "%s is a flag: its value is true or false, not %s",
				                 shown, v);
			}
			rc = yes ? add(p, file, line, ns, nn, NULL, 0, true, err) : ETL_OK;
		} else {
			if (nv == 0)
				return error_set(err, ETL_EUSAGE, file, line, "%s has no value",
				                 shown);
			rc = add(p, file, line, ns, nn, vs, nv, false, err);
		}
		if (rc != ETL_OK)
			return rc;
		s = next;
	}
	return ETL_OK;
}

enum etl_code
profile_read(struct profile *p, const char *path, const struct option *longopts,
             const char *const *ignore, struct etl_error *err)
{
	char *copy = strdup(path);
	char **files = copy ? realloc(p->files, (size_t)(p->nfiles + 1) * sizeof *files) : NULL;
	if (files == NULL) {
		free(copy);
		return error_oom(err, path, 0);
	}
	p->files = files;
	p->files[p->nfiles++] = copy;

	FILE *f = fopen(path, "r");
	if (f == NULL)
		return error_set(err, ETL_EUSAGE, path, 0, "cannot read the profile: %s",
		                 strerror(errno));
	char *text = NULL;
	size_t n = 0, cap = 0;
	enum etl_code rc = ETL_OK;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			char *t = cap <= (1 << 20) ? realloc(text, cap) : NULL;
			if (t == NULL) {
				rc = error_set(err, ETL_EUSAGE, path, 0,
				               "the profile is larger than 1 MiB");
				break;
			}
			text = t;
		}
		size_t got = fread(text + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (rc == ETL_OK && ferror(f))
		rc = error_set(err, ETL_EUSAGE, path, 0, "cannot read the profile: %s",
		               strerror(errno));
	(void)fclose(f);
	if (rc == ETL_OK)
		rc = profile_parse(p, copy, text, n, longopts, ignore, err);
	free(text);
	return rc;
}

void
profile_free(struct profile *p)
{
	for (int i = 0; i < p->nargs; i++)
		free(p->args[i].arg);
	free(p->args);
	for (int i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	memset(p, 0, sizeof *p);
}
