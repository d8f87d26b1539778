/*
 * valid_reason.c — what a rejected value's reason says: the value shown
 * (or not, in a row that may hold a password), then the rule it broke.
 */
#include <stdarg.h>
#include <stdio.h>

#include "text.h"
#include "valid.h"

/* Set while a row of a file that may hold a plaintext password where
 * its header does not say is validated (colmap.hide_rows): its reasons
 * quote no value.  Per thread: --jobs validates on several. */
static _Thread_local bool hide_values;

/* Formats a reason "VALUE rest…" into why. */
bool
valid_reason(char *why, size_t wsize, const char *s, size_t n, const char *fmt, ...)
{
	char shown[128];
	if (hide_values)
		(void)snprintf(shown, sizeof shown, "(a value not shown: the file has passwords)");
	else
		text_show(shown, sizeof shown, s, n);
	int k = snprintf(why, wsize, "%s ", shown);
	va_list ap;
	va_start(ap, fmt);
	if (k >= 0 && (size_t)k < wsize)
		(void)vsnprintf(why + k, wsize - (size_t)k, fmt, ap);
	va_end(ap);
	return false;
}

void
valid_hide_values(bool hide)
{
	hide_values = hide;
}
