/*
 * valid_impl.h — the inside of a validator, shared by valid.c (rows, set-up),
 * valid_rules.c (values) and valid_time.c (dates and timestamps).
 */
#ifndef SIPREMS_VALID_IMPL_H
#define SIPREMS_VALID_IMPL_H

#include <regex.h>

#include "datefmt.h"
#include "valid.h"

#define MONEY_MAX_CENTS INT64_C(9999999999) /* NUMERIC(10,2): 99999999.99 */
#define USEC            INT64_C(1000000)
#define DAY_USEC        (INT64_C(86400) * USEC)
#define UNIX_2000       INT64_C(946684800) /* 2000-01-01 in Unix seconds */

struct validator {
	regex_t re;
	bool has_re;
	bool allow_future;
	struct tz *zone; /* offsets are converted to it */
	bool utc;        /* no conversion needed for offsets */
	int32_t max_date;
	bool fixed_today;                     /* valid_opts' today, kept for valid_set_zone */
	struct datefmt fmt[VALID_MAXFORMATS]; /* --date-format */
	int nfmt;
	bool decimal_comma;
	char currency[16];
	size_t ncurrency; /* 0: no --currency */
	char null[64];
	size_t nnull; /* 0: no --null */
	int32_t today;
	/* What the live tables allow, where they are stricter than the guide
	 * (valid_set_live). */
	bool has_live;
	struct live_table live[KIND_COUNT];
};

/* A date and a timestamp against their rules (valid_time.c): the value
 * into out, else false with why. */
bool valid_check_date(const struct validator *v, const char *s, size_t n, struct value *out,
                      char *why, size_t wsize);
bool valid_check_timestamp(const struct validator *v, const char *s, size_t n, struct value *out,
                           char *why, size_t wsize);

#endif
