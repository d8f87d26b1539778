/*
 * encode.h — validated values as PostgreSQL COPY text.
 *
 * One row becomes one line of tab-separated fields in COPY's text format:
 * \N for NULL, backslash escapes for backslash, tab, CR and LF.  Money is
 * written from its cents, timestamps as ISO wall-clock time (the session's
 * TimeZone is --timezone, so TIMESTAMPTZ columns read them in that zone),
 * event types in the database's own spelling.  No database is involved.
 */
#ifndef SIPREMS_ENCODE_H
#define SIPREMS_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "valid.h"

/* A growing byte buffer. */
struct buf {
	char *data;
	size_t len, cap;
	bool failed; /* an allocation failed; the contents are incomplete */
};

/* Makes room for n more bytes; false when out of memory (failed sticks). */
bool buf_reserve(struct buf *b, size_t n);
void buf_put(struct buf *b, const void *s, size_t n);
void buf_free(struct buf *b);

/* Appends one value in COPY text form.  labels are the database's event
 * type labels (V_ENUM), in valid_event_types order. */
void encode_value(struct buf *b, const struct value *v, const char *const *labels);

/* Appends text with COPY escapes. */
void encode_text(struct buf *b, const char *s, size_t n);

/* Writes a number in decimal into out (at least 21 bytes); returns its
 * length.  Not NUL-terminated. */
size_t encode_uint(char *out, uint64_t v);

/* Writes a timestamp (microseconds since 2000-01-01) as ISO text into out
 * (at least 32 bytes); returns its length. */
size_t encode_timestamp(char *out, int64_t usec);

/* Writes a date (days since 2000-01-01) as YYYY-MM-DD; returns 10. */
size_t encode_date(char *out, int64_t days);

/* Writes money (cents) as a plain decimal; returns its length. */
size_t encode_money(char *out, int64_t cents);

#endif
