/*
 * sqlbuf.c — SQL text that grows as needed, with quoted identifiers.
 */
#include "sqlbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
sql_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t)n + 1)) {
		b->failed = true;
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
sql_str(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

char *
sql_ident(PGconn *conn, const char *name)
{
	return PQescapeIdentifier(conn, name, strlen(name));
}
