/*
 * csvout.c — writing one CSV field.
 */
#include "csvout.h"

#include <string.h>

void
csv_put_field(struct buf *b, const char *s, size_t n, unsigned char delim, bool first)
{
	if (!first)
		buf_put(b, &delim, 1);
	bool quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == (char)delim || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (!quote) {
		buf_put(b, s, n);
		return;
	}
	buf_put(b, "\"", 1);
	for (size_t i = 0, from = 0; i <= n; i++) {
		if (i == n || s[i] == '"') {
			buf_put(b, s + from, i - from + (i < n)); /* a quote goes out twice */
			from = i;
		}
	}
	buf_put(b, "\"", 1);
}
