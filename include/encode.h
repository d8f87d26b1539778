/*
 * encode.h — validated values as PostgreSQL COPY text.
 *
 * One row becomes one line of tab-separated fields in COPY's text format:
 * \N for NULL, backslash escapes for backslash, tab, CR and LF.  Money is
 * written from its cents, timestamps as ISO wall-clock time (the session's
 * TimeZone is --timezone, so TIMESTAMPTZ columns read them in that zone),
 * with the zone's offset when they were written as an instant (a TIMESTAMP
 * column ignores it, a TIMESTAMPTZ one gets the instant, even in the hour
 * a fall-back repeats),
 * event types in the database's own spelling.  No database is involved.
 */
#ifndef SIPREMS_ENCODE_H
#define SIPREMS_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "valid.h"

/* Appends one value in COPY text form.  labels are the database's event
 * type labels (V_ENUM), in the order of the column's labels. */
void encode_value(struct buf *b, const struct value *v, const char *const *labels);

/* Appends text with COPY escapes. */
void encode_text(struct buf *b, const char *s, size_t n);

/* Writes a number in decimal into out (at least 21 bytes); returns its
 * length.  Not NUL-terminated. */
size_t encode_uint(char *out, uint64_t v);

/* Writes a timestamp (microseconds since 2000-01-01) as ISO text into out
 * (at least 32 bytes); returns its length. */
size_t encode_timestamp(char *out, int64_t usec);

/* Writes a UTC offset (seconds east) as +HH:MM, or +HH:MM:SS when it has
 * seconds (the local mean times of old dates); returns its length. */
size_t encode_offset(char *out, int32_t off);

/* Writes money (cents) as a plain decimal; returns its length. */
size_t encode_money(char *out, int64_t cents);

/* ---- COPY's binary format ------------------------------------------------- */

/* The column types with a binary encoding. */
enum bin_type {
	BIN_INT2,
	BIN_INT4,
	BIN_INT8,
	BIN_NUMERIC,
	BIN_FLOAT4, /* real: money as the nearest float */
	BIN_FLOAT8, /* double precision: money as the nearest double */
	BIN_TIMESTAMP,
	BIN_DATE,
	BIN_BOOL,
	BIN_TEXT,
	BIN_NONE
};

/* The binary encoding of a column of the given type name (pg_type.typname,
 * typtype 'e' for enums), or BIN_NONE when there is none here. */
enum bin_type encode_bin_type(const char *typname, char typtype);

/* The 19-byte header of a binary COPY stream, and its 2-byte trailer. */
void encode_bin_header(struct buf *b);
void encode_bin_trailer(struct buf *b);

/* Starts a tuple of n fields. */
void encode_bin_tuple(struct buf *b, int n);

/* Appends one field: a value as type t (a V_TIMESTAMP is sent as its wall
 * clock, right for TIMESTAMP and for TIMESTAMPTZ in UTC; a V_DATE into a
 * timestamp is its midnight; money into a float is cents / 100 rounded
 * to the nearest float, as PostgreSQL reads the decimal text). */
void encode_bin_value(struct buf *b, const struct value *v, enum bin_type t,
                      const char *const *labels);

/* Appends a text field of n bytes, and an int4 field. */
void encode_bin_text(struct buf *b, const char *s, size_t n);
void encode_bin_int4(struct buf *b, int32_t v);

#endif
