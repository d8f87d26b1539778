/*
 * valid_time.c — dates and timestamps against their rules: ISO forms or the
 * --date-format/--timestamp-format patterns, converted to the validator's
 * zone (tzfile.c) and checked against today.
 */
#include <ctype.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "tzfile.h"
#include "valid_impl.h"
#include "text.h"

static bool finish_timestamp(const struct validator *v, const char *s, size_t n, int64_t secs,
                             int64_t us, bool has_offset, int64_t offset, struct value *out,
                             char *why, size_t wsize);

/* "2026-01-05" or "2026-01-05 08:00[:SS[.ffffff]][+07:00]" for messages. */
static void
show_reading(const struct datefmt_value *d, bool time, char *buf, size_t size)
{
	int k = snprintf(buf, size, "%04d-%02d-%02d", d->year, d->month, d->day);
	if (time && k > 0 && (size_t)k < size)
		k += snprintf(buf + k, size - (size_t)k, " %02d:%02d", d->hour, d->minute);
	if (time && (d->second || d->usec) && k > 0 && (size_t)k < size)
		k += snprintf(buf + k, size - (size_t)k, ":%02d", d->second);
	if (time && d->usec && k > 0 && (size_t)k < size)
		k += snprintf(buf + k, size - (size_t)k, ".%06lld", (long long)d->usec);
	if (d->has_offset && k > 0 && (size_t)k < size)
		(void)snprintf(buf + k, size - (size_t)k, "%c%02d:%02d", d->offset < 0 ? '-' : '+',
		               abs(d->offset) / 3600, abs(d->offset) / 60 % 60);
}

/*
 * Reads a date or timestamp with the --date-format patterns: every pattern
 * is tried; the value must be a real date and time by at least one, and
 * all those that read it must agree (05/01/2026 by DD/MM/YYYY and by
 * MM/DD/YYYY is ambiguous: a reject, never a guess).  Returns true with *d
 * set, or false with the reason.
 */
static bool
read_formats(const struct validator *v, const char *s, size_t n, struct datefmt_value *d, char *why,
             size_t wsize)
{
	int found = -1, unreal = -1;
	struct datefmt_value r;
	for (int i = 0; i < v->nfmt; i++) {
		int got = datefmt_parse(&v->fmt[i], s, n, &r);
		if (got == 0 && unreal < 0)
			unreal = i;
		if (got != 1)
			continue;
		if (found < 0) {
			found = i;
			*d = r;
		} else if (memcmp(d, &r, sizeof r) != 0) {
			char a[48], b[48];
			bool time = v->fmt[found].has_time || v->fmt[i].has_time;
			show_reading(d, time, a, sizeof a);
			show_reading(&r, time, b, sizeof b);
			return valid_reason(why, wsize, s, n,
			                    "is ambiguous: \"%s\" reads %s, \"%s\" reads %s",
			                    v->fmt[found].pattern, a, v->fmt[i].pattern, b);
		}
	}
	if (found >= 0)
		return true;
	if (unreal >= 0)
		return valid_reason(why, wsize, s, n,
		                    "is not a real date and time of day (read by \"%s\")",
		                    v->fmt[unreal].pattern);
	char list[256];
	size_t k = 0;
	list[0] = '\0';
	for (int i = 0; i < v->nfmt && k < sizeof list; i++)
		k += (size_t)snprintf(list + k, sizeof list - k, "%s\"%s\"", i ? " or " : "",
		                      v->fmt[i].pattern);
	return valid_reason(why, wsize, s, n, "does not match --date-format %s", list);
}

/* A date or timestamp column's value by the --date-format patterns. */
static bool
check_formatted(const struct validator *v, bool timestamp, const char *s, size_t n,
                struct value *out, char *why, size_t wsize)
{
	struct datefmt_value d;
	if (!read_formats(v, s, n, &d, why, wsize))
		return false;
	int64_t days = calendar_days_from_civil(d.year, (unsigned)d.month, (unsigned)d.day);
	int64_t secs = (int64_t)d.hour * 3600 + d.minute * 60 + d.second;
	if (!timestamp) {
		if (secs != 0 || d.usec != 0 || d.has_offset)
			return valid_reason(why, wsize, s, n,
			                    "has a time of day, but the column is a date");
		out->type = V_DATE;
		out->i = days;
		return true;
	}
	return finish_timestamp(v, s, n, days * 86400 + secs, d.usec, d.has_offset, d.offset, out,
	                        why, wsize);
}

/* Parses YYYY-MM-DD at s; returns false when it is not one. */
static bool
parse_date(const char *s, size_t n, int64_t *days, bool *real)
{
	if (n < 10 || s[4] != '-' || s[7] != '-' || !text_all_digits(s, 4) ||
	    !text_all_digits(s + 5, 2) || !text_all_digits(s + 8, 2))
		return false;
	int y = text_digits(s, 4);
	unsigned m = (unsigned)text_digits(s + 5, 2), d = (unsigned)text_digits(s + 8, 2);
	*real = y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= calendar_days_in_month(y, m);
	if (*real)
		*days = calendar_days_from_civil(y, m, d);
	return true;
}

bool
valid_check_date(const struct validator *v, const char *s, size_t n, struct value *out, char *why,
                 size_t wsize)
{
	if (v != NULL && v->nfmt > 0)
		return check_formatted(v, false, s, n, out, why, wsize);
	int64_t days;
	bool real;
	if (n != 10 || !parse_date(s, n, &days, &real))
		return valid_reason(why, wsize, s, n, "is not a date YYYY-MM-DD");
	if (!real)
		return valid_reason(why, wsize, s, n, "is not a real calendar date");
	out->type = V_DATE;
	out->i = days;
	return true;
}

bool
valid_check_timestamp(const struct validator *v, const char *s, size_t n, struct value *out,
                      char *why, size_t wsize)
{
	static const char form[] =
	        "is not YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|+HH[[:]MM]|-HH[[:]MM]]";
	if (v->nfmt > 0)
		return check_formatted(v, true, s, n, out, why, wsize);
	int64_t days;
	bool real;
	if (!parse_date(s, n, &days, &real))
		return valid_reason(why, wsize, s, n, "%s", form);
	size_t i = 10;
	int hh = 0, mi = 0, ss = 0;
	int64_t us = 0;
	bool has_offset = false;
	int64_t offset = 0; /* seconds east of UTC */
	if (i < n) {
		if (s[i] != ' ' && s[i] != 'T' && s[i] != 't')
			return valid_reason(why, wsize, s, n, "%s", form);
		i++;
		if (n - i < 5 || !text_all_digits(s + i, 2) || s[i + 2] != ':' ||
		    !text_all_digits(s + i + 3, 2))
			return valid_reason(why, wsize, s, n, "%s", form);
		hh = text_digits(s + i, 2);
		mi = text_digits(s + i + 3, 2);
		i += 5;
		if (i < n && s[i] == ':') {
			if (n - i < 3 || !text_all_digits(s + i + 1, 2))
				return valid_reason(why, wsize, s, n, "%s", form);
			ss = text_digits(s + i + 1, 2);
			i += 3;
			if (i < n && s[i] == '.') {
				size_t f = 0;
				i++;
				while (i + f < n && f < 7 && s[i + f] >= '0' && s[i + f] <= '9')
					f++;
				if (f == 0 || f > 6)
					return valid_reason(why, wsize, s, n, "%s", form);
				us = text_digits(s + i, f);
				for (size_t k = f; k < 6; k++)
					us *= 10;
				i += f;
			}
		}
		if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
			has_offset = true;
			i++;
		} else if (i < n && (s[i] == '+' || s[i] == '-')) {
			/* +HH:MM, +HHMM or +HH (PostgreSQL's own output: "-04"). */
			size_t k = n - i;
			bool colon = k == 6 && s[i + 3] == ':';
			if ((k != 3 && k != 5 && !colon) || !text_all_digits(s + i + 1, 2) ||
			    (k > 3 && !text_all_digits(s + i + (colon ? 4 : 3), 2)))
				return valid_reason(why, wsize, s, n, "%s", form);
			int oh = text_digits(s + i + 1, 2);
			int om = k > 3 ? text_digits(s + i + (colon ? 4 : 3), 2) : 0;
			if (oh > 15 || om > 59)
				return valid_reason(why, wsize, s, n,
				                    "has an offset beyond +-15:59");
			offset = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
			has_offset = true;
			i = n;
		}
		if (i != n)
			return valid_reason(why, wsize, s, n, "%s", form);
	}
	if (!real)
		return valid_reason(why, wsize, s, n, "is not a real calendar date");
	if (hh > 23 || mi > 59 || ss > 59)
		return valid_reason(why, wsize, s, n, "is not a real time of day");
	int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss; /* wall, or UTC with offset */
	return finish_timestamp(v, s, n, secs, us, has_offset, offset, out, why, wsize);
}

/* A timestamp's instant, given as wall-clock seconds since 2000 (or, with
 * an offset, the clock at that offset): converted to the zone, checked
 * against --allow-future. */
static bool
finish_timestamp(const struct validator *v, const char *s, size_t n, int64_t secs, int64_t us,
                 bool has_offset, int64_t offset, struct value *out, char *why, size_t wsize)
{
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t zone_off = 0;
	if (has_offset) {
		secs -= offset;
		if (!v->utc)
			zone_off = tz_offset(v->zone, secs + UNIX_2000);
		secs += zone_off;
		days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
		int y, m, d;
		calendar_civil_from_days(days, &y, &m, &d);
		if (y < 1 || y > 9999)
			return valid_reason(why, wsize, s, n,
			                    "is outside years 1 to 9999 in the zone");
	}
	if (!v->allow_future && days > v->max_date) {
		int y, m, d;
		calendar_civil_from_days(v->max_date, &y, &m, &d);
		return valid_reason(
		        why, wsize, s, n,
		        "is later than tomorrow (%04d-%02d-%02d); --allow-future accepts it", y, m,
		        d);
	}
	out->type = V_TIMESTAMP;
	out->i = secs * USEC + us;
	out->instant = has_offset;
	out->off = (int32_t)zone_off;
	return true;
}
