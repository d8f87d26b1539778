/*
 * datefmt.h — --date-format: reading dates and timestamps written in a
 * PostgreSQL to_timestamp() pattern, such as "DD/MM/YYYY HH24:MI".
 *
 * The pattern letters are PostgreSQL's (matched in any letter case):
 * YYYY, YY, MM, DD, MON, MONTH (English names), HH24, HH12 / HH with AM or
 * PM (also A.M., P.M.), MI, SS, MS, US (fractions of a second), TZH and TZM
 * (an offset).  Text in double quotes and every other character are
 * literal; a space matches one or more spaces.  Unlike PostgreSQL, a value
 * must match the whole pattern and a value outside a field's range is not
 * carried over (31/02 is no date, never 3 March).  Numbers of MM, DD, HH*,
 * MI and SS may have one digit or two; YYYY has four, YY two (00-69 are
 * 2000-2069, 70-99 1970-1999).  No database is involved.
 */
#ifndef SIPREMS_DATEFMT_H
#define SIPREMS_DATEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define DATEFMT_MAXTOK 40

struct datefmt_tok {
	int kind;    /* a field, or a literal (see datefmt.c) */
	char lit[8]; /* a literal's bytes */
	unsigned nlit;
};

struct datefmt {
	char pattern[64]; /* as given, for messages */
	struct datefmt_tok tok[DATEFMT_MAXTOK];
	int ntok;
	bool has_date; /* the pattern gives year, month and day */
	bool has_time; /* it gives an hour */
};

/* A value read with a pattern: the fields as written. */
struct datefmt_value {
	int year, month, day;
	int hour, minute, second;
	int64_t usec;
	bool has_offset;
	int offset; /* seconds east of UTC */
};

/*
 * Compiles pattern into f.  Returns ETL_OK, or ETL_EUSAGE (message in err)
 * for a pattern too long, without a year, a month and a day, with a field
 * twice, with AM/PM but no HH12, or with an hour field but no MI.
 */
enum etl_code datefmt_compile(struct datefmt *f, const char *pattern, struct etl_error *err);

/*
 * Reads the n bytes at s with f.  Returns 1 with *out set when the value has
 * the pattern's shape and is a real date and time of day; 0 when it has the
 * shape but not a real date or time (31/02/2026, 25:00, 13 PM); -1 when it
 * does not have the shape.
 */
int datefmt_parse(const struct datefmt *f, const char *s, size_t n, struct datefmt_value *out);

#endif
