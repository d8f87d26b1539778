/*
 * text.h — UTF-8 checks and values shown in messages.
 */
#ifndef SIPREMS_TEXT_H
#define SIPREMS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Writes s as a quoted, escaped, shortened string for messages. */
void text_show(char *buf, size_t size, const char *s, size_t n);

/* Counts the characters of a UTF-8 string; false (with the byte offset of
 * the first bad byte in *bad) for invalid UTF-8 or a NUL byte. */
bool text_utf8(const char *s, size_t n, size_t *chars, size_t *bad);

/* "s" unless n is 1: "%lld row%s", n, text_s(n). */
const char *text_s(long long n);

/* Whether s[0..n) is one or more ASCII digits; and the value of such
 * digits (n small enough for an int).  Inline: the rules call them on
 * every date and number. */
static inline bool
text_all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

static inline int
text_digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

#endif
