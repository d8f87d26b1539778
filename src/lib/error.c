/*
 * error.c — the error type, its formatting and the one table that maps
 * internal codes to the exit statuses of the README and the man page.
 */
#include "error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyset.h"

static const struct {
	enum etl_code code;
	int status;
	int severity;
	const char *name;
} code_table[] = {
        {ETL_OK, 0, 0, "ok"},
        {ETL_REJECTED, 1, 1, "rows rejected"},
        {ETL_EINPUT, 3, 2, "input error"},
        {ETL_EDB, 4, 3, "database error"},
        {ETL_ESTOPPED, 5, 4, "stopped"},
        {ETL_ELOCKED, 6, 5, "lock wait"},
        {ETL_ESYSTEM, 5, 6, "system error"},
        {ETL_EUSAGE, 2, 7, "usage error"},
};

static int
code_index(enum etl_code code)
{
	for (size_t i = 0; i < sizeof code_table / sizeof code_table[0]; i++)
		if (code_table[i].code == code)
			return (int)i;
	return 0;
}

enum etl_code
error_oom(struct etl_error *err, const char *file, long line)
{
	if (!keyset_bound_hit())
		return error_set(err, ETL_ESYSTEM, file, line, "out of memory");
	char b[64];
	keyset_bound_text(b, sizeof b);
	if (file == NULL) /* the keys a table holds, read before its file */
		return error_set(
		        err, ETL_ESYSTEM, NULL, 0,
		        "more distinct keys than the key memory bound allows: the keys the "
		        "run holds, with those it read from the tables its files load, "
		        "reached %s (--max-key-memory); raise it (--max-key-memory 1G, or "
		        "none)",
		        b);
	return error_set(err, ETL_ESYSTEM, file, line,
	                 "more distinct keys than the key memory bound allows: the keys the run "
	                 "holds to find repeated ones reached %s (--max-key-memory); raise it "
	                 "(--max-key-memory 1G, or none) or split the file over several runs",
	                 b);
}

void
error_clear(struct etl_error *err)
{
	if (err == NULL)
		return;
	err->code = ETL_OK;
	err->file[0] = '\0';
	err->line = 0;
	err->msg[0] = '\0';
	err->sqlstate[0] = '\0';
}

/* Replaces msg[a, b) with "***". */
static void
mask(char *msg, size_t size, size_t a, size_t b)
{
	static const char stars[] = "***";
	size_t len = strlen(msg);
	/* A value shorter than the stars makes the text longer: what does
	 * not fit in size is cut from the end, never written past it. */
	size_t tail = len - b;
	if (a + 3 >= size) {
		msg[a] = '\0';
		return;
	}
	if (a + 3 + tail >= size)
		tail = size - 1 - (a + 3);
	memmove(msg + a + 3, msg + b, tail);
	memcpy(msg + a, stars, 3);
	msg[a + 3 + tail] = '\0';
}

/* Where the user information of a URI whose "://" ends at p ends: the last
 * '@' before the host part, or 0 when there is none. */
static size_t
userinfo_end(const char *msg, size_t p)
{
	size_t at = 0;
	/* libpq takes the user information to the last '@' before the first
	 * '/': a password may hold '?' and '#'. */
	for (size_t i = p; msg[i] != '\0' && msg[i] != '/' && msg[i] != '"' && msg[i] != '\'' &&
	                   !isspace((unsigned char)msg[i]);
	     i++)
		if (msg[i] == '@')
			at = i;
	return at;
}

/* The secrets the tool was given (error_add_secret()), masked wherever
 * they appear.  Set before any thread starts; read only after. */
static char **secrets;
static size_t nsecrets, secrets_cap;

void
error_add_secret(const char *s, size_t n)
{
	/* Shorter ones would mask ordinary words; the patterns below still
	 * mask them where they stand as a password.  Any length, any number. */
	if (s == NULL || n < 3 || memchr(s, '\0', n) != NULL)
		return;
	for (size_t i = 0; i < nsecrets; i++)
		if (strlen(secrets[i]) == n && memcmp(secrets[i], s, n) == 0)
			return;
	if (nsecrets == secrets_cap) {
		size_t cap = secrets_cap ? secrets_cap * 2 : 8;
		char **v = realloc(secrets, cap * sizeof *v);
		if (v == NULL)
			return;
		secrets = v;
		secrets_cap = cap;
	}
	char *copy = malloc(n + 1);
	if (copy == NULL)
		return;
	memcpy(copy, s, n);
	copy[n] = '\0';
	secrets[nsecrets++] = copy;
}

void
error_forget_secrets(void)
{
	for (size_t i = 0; i < nsecrets; i++) {
		memset(secrets[i], 0, strlen(secrets[i]));
		free(secrets[i]);
	}
	free(secrets);
	secrets = NULL;
	nsecrets = secrets_cap = 0;
}

void
error_redact(char *msg, size_t size)
{
	if (msg == NULL || size == 0)
		return;
	/* First by what they are: every appearance of a secret given. */
	for (size_t s = 0; s < nsecrets; s++) {
		size_t n = strlen(secrets[s]);
		size_t at = 0;
		for (char *p; at < strlen(msg) && (p = strstr(msg + at, secrets[s])) != NULL;) {
			mask(msg, size, (size_t)(p - msg), (size_t)(p - msg) + n);
			at = (size_t)(p - msg) + 3;
		}
	}
	for (size_t i = 0; msg[i] != '\0'; i++) {
		if (strncmp(msg + i, "://", 3) == 0) {
			size_t p = i + 3, at = userinfo_end(msg, p);
			const char *colon = at ? memchr(msg + p, ':', at - p) : NULL;
			if (colon != NULL && at > (size_t)(colon - msg) + 1 &&
			    strncmp(colon + 1, "***@", 4) != 0)
				mask(msg, size, (size_t)(colon - msg) + 1, at);
			continue;
		}
		if (strncasecmp(msg + i, "password", 8) != 0 ||
		    (i > 0 && (isalnum((unsigned char)msg[i - 1]) || msg[i - 1] == '_')))
			continue;
		size_t k = i + 8;
		while (msg[k] == ' ')
			k++;
		if (msg[k] != '=')
			continue;
		k++;
		while (msg[k] == ' ')
			k++;
		size_t a = k;
		if (msg[k] == '\'') { /* a quoted conninfo value, \' inside */
			for (k++; msg[k] != '\0' && msg[k] != '\''; k++)
				if (msg[k] == '\\' && msg[k + 1] != '\0')
					k++;
			if (msg[k] == '\'')
				k++;
		} else {
			while (msg[k] != '\0' && msg[k] != '&' && msg[k] != '"' &&
			       !isspace((unsigned char)msg[k]))
				k++;
		}
		if (k > a && strncmp(msg + a, "***", 3) != 0)
			mask(msg, size, a, k);
	}
}

enum etl_code
error_vset(struct etl_error *err, enum etl_code code, const char *file, long line, const char *fmt,
           va_list ap)
{
	if (err == NULL)
		return code;
	err->code = code;
	(void)snprintf(err->file, sizeof err->file, "%s", file ? file : "");
	err->line = line;
	err->sqlstate[0] = '\0';
	(void)vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	error_redact(err->msg, sizeof err->msg);
	/* Messages may embed server text ending in a newline or a period. */
	size_t n = strlen(err->msg);
	while (n > 0 && (err->msg[n - 1] == '\n' || err->msg[n - 1] == ' '))
		err->msg[--n] = '\0';
	return code;
}

enum etl_code
error_set(struct etl_error *err, enum etl_code code, const char *file, long line, const char *fmt,
          ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)error_vset(err, code, file, line, fmt, ap);
	va_end(ap);
	return code;
}

void
error_format(const struct etl_error *err, char *buf, size_t size)
{
	if (err->file[0] != '\0' && err->line > 0)
		(void)snprintf(buf, size, "siprems-etl: %s:%ld: %s", err->file, err->line,
		               err->msg);
	else if (err->file[0] != '\0')
		(void)snprintf(buf, size, "siprems-etl: %s: %s", err->file, err->msg);
	else
		(void)snprintf(buf, size, "siprems-etl: %s", err->msg);
}

/* Prints prefix and the message to stderr, its passwords masked. */
static void __attribute__((format(printf, 2, 0)))
say(const char *prefix, const char *fmt, va_list ap)
{
	char buf[4096];
	(void)vsnprintf(buf, sizeof buf, fmt, ap);
	error_redact(buf, sizeof buf);
	(void)fprintf(stderr, "%s%s\n", prefix, buf);
}

void
error_print(const struct etl_error *err)
{
	char buf[2048];
	error_format(err, buf, sizeof buf);
	error_redact(buf, sizeof buf);
	(void)fprintf(stderr, "%s\n", buf);
}

void
warnx_etl(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("siprems-etl: warning: ", fmt, ap);
	va_end(ap);
}

void
notex_etl(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("siprems-etl: ", fmt, ap);
	va_end(ap);
}

enum etl_code
error_worst(enum etl_code a, enum etl_code b)
{
	return code_table[code_index(a)].severity >= code_table[code_index(b)].severity ? a : b;
}

int
error_exit_status(enum etl_code code)
{
	return code_table[code_index(code)].status;
}

const char *
error_code_name(enum etl_code code)
{
	return code_table[code_index(code)].name;
}

bool etl_verbose = false;

void
verbosex_etl(const char *fmt, ...)
{
	if (!etl_verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	say("siprems-etl: ", fmt, ap);
	va_end(ap);
}
