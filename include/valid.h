/*
 * valid.h — the third stage: one validator per rule of docs/formats.md.
 *
 * Each returns the normalised value (or NULL / the column's default for an
 * empty field) or a reason naming the rule and showing the value, as in
 * `"12,50" is not a plain decimal`; valid_field() adds what the live table
 * allows.  The intake's record_check() (record.h) applies them to a record
 * in column order, prefixing each reason with the column name; a secret
 * column (the plaintext password) is never shown.  No database is involved.
 */
#ifndef SIPREMS_VALID_H
#define SIPREMS_VALID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "keyset.h"
#include "table.h"

enum vtype {
	V_ABSENT,    /* the column is not in the file */
	V_NULL,      /* empty field meaning NULL */
	V_TEXT,      /* s, n */
	V_INT,       /* i */
	V_MONEY,     /* i: cents */
	V_BOOL,      /* i: 0 or 1 */
	V_DATE,      /* i: days since 2000-01-01 */
	V_TIMESTAMP, /* i: microseconds since 2000-01-01 00:00, wall clock in --timezone */
	V_ENUM,      /* i: index into the column's labels */
};

struct value {
	enum vtype type;
	/* A V_TIMESTAMP written with an offset: i is the wall clock of that
	 * instant in --timezone, off the zone's offset there (seconds east),
	 * so that the instant travels with it (a wall clock of a fall-back
	 * hour alone names two). */
	bool instant;
	int32_t off;
	const char *s; /* V_TEXT, and the trimmed SKU of a sales row */
	size_t n;
	int64_t i;
};

/* A row's values, one per column of its kind (table_def order). */
struct valid_row {
	struct value v[TABLE_MAXCOLS];
};

#define VALID_MAXFORMATS 8

/* How a file writes its values (the options of "describe a file"). */
struct valid_formats {
	const char *date_formats[VALID_MAXFORMATS]; /* --date-format, tried in turn */
	int ndate_formats;                          /* 0: ISO 8601 only */
	bool decimal_comma;   /* ',' is the decimal mark; '.' or ' ' group thousands */
	const char *currency; /* a money value may carry this symbol, or NULL */
	const char *null;     /* a field equal to it is empty (NULL), or NULL */
};

struct valid_opts {
	const char *sku_pattern;  /* POSIX ERE for product SKUs; NULL: the default */
	const char *timezone;     /* zone offsets are converted to; NULL: UTC */
	bool allow_future;        /* accept sales dated after tomorrow */
	bool fixed_today;         /* tests: use `today` instead of the clock */
	int32_t today;            /* days since 2000-01-01 */
	struct valid_formats fmt; /* how the files write values */
};

struct validator;

/*
 * Prepares the rules.  Returns ETL_OK, or ETL_EUSAGE for a pattern that does
 * not compile, a --date-format that does not (see datefmt_compile), more
 * than VALID_MAXFORMATS of them, or a time zone that does not exist.  Sets the process's TZ to
 * the zone (the only user of local time in the program).  The caller frees
 * *out with valid_close().
 */
enum etl_code valid_open(struct validator **out, const struct valid_opts *o, struct etl_error *err);
void valid_close(struct validator *v);

/*
 * Makes timestamps with an offset convert to zone zone_name from now on
 * (and "tomorrow" for --allow-future be tomorrow there).  Returns ETL_OK,
 * or ETL_EUSAGE / ETL_ESYSTEM as tz_open() does (the zone is then unchanged).
 */
enum etl_code valid_set_zone(struct validator *v, const char *zone_name, struct etl_error *err);

/*
 * Makes rows also follow the live tables where they are stricter than the
 * guide: a varchar(n) limit below the guide's, a NOT NULL column (without a
 * default) the guide lets be empty, a real column that cannot hold the
 * value to the cent.  live is indexed by kind.
 */
void valid_set_live(struct validator *v, const struct live_table *live);

/*
 * Validates the n bytes at s as a value of column c.  An empty field follows
 * c->empty_rule: EMPTY_NULL, EMPTY_REF and EMPTY_ONE_OF give V_NULL,
 * EMPTY_DEFAULT validates c->empty, EMPTY_REJECT fails.  Returns true with
 * *out set, or false with the reason (without the column name) in why.
 */
bool valid_value(const struct validator *v, const struct col_def *c, const char *s, size_t n,
                 struct value *out, char *why, size_t wsize);

/*
 * Validates the n bytes at s as a value of column c of t (s NULL: the
 * column is not in the file, V_ABSENT), then against the live table where
 * valid_set_live gave one.  Returns true with *out set, or false with the
 * reason (without the column name) in why.
 */
bool valid_field(const struct validator *v, const struct table_def *t, int c, const char *s,
                 size_t n, struct value *out, char *why, size_t wsize);

/* Writes "<shown value> <reason>" into why; returns false (for
 * "return valid_reason(…)" in a rule). */
bool valid_reason(char *why, size_t wsize, const char *s, size_t n, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* While set (per thread), reasons quote no value: the row being validated
 * may hold a plaintext password where its header does not say. */
void valid_hide_values(bool hide);

/* Shows a row's unique key for messages: "\"BRD-001\"", or
 * "\"Nyepi\"+2024-03-11" for events; "" for kinds without one. */
void valid_show_key(const struct table_def *t, const struct valid_row *row, char *buf, size_t size);

/* The latest sales date accepted without --allow-future (today + 1). */
int32_t valid_max_date(const struct validator *v);

#endif
