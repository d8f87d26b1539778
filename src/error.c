/*
 * error.c — the error type, its formatting and the one table that maps
 * internal codes to SPEC's exit statuses.
 */
#include "error.h"

#include <stdio.h>
#include <string.h>

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
        {ETL_ESYSTEM, 5, 5, "system error"},
        {ETL_EUSAGE, 2, 6, "usage error"},
};

static int
code_index(enum etl_code code)
{
	for (size_t i = 0; i < sizeof code_table / sizeof code_table[0]; i++)
		if (code_table[i].code == code)
			return (int)i;
	return 0;
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

void
error_print(const struct etl_error *err)
{
	char buf[2048];
	error_format(err, buf, sizeof buf);
	(void)fprintf(stderr, "%s\n", buf);
}

void
warnx_etl(const char *fmt, ...)
{
	va_list ap;
	(void)fputs("siprems-etl: warning: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
}

void
notex_etl(const char *fmt, ...)
{
	va_list ap;
	(void)fputs("siprems-etl: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
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
	(void)fputs("siprems-etl: ", stderr);
	(void)vfprintf(stderr, fmt, ap);
	(void)fputc('\n', stderr);
	va_end(ap);
}
