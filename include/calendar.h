/*
 * calendar.h — the proleptic Gregorian calendar as day numbers: days since
 * 2000-01-01 (PostgreSQL's epoch) from a civil date and back, and their
 * ISO text.  Validation, encoding, keys, holidays and the seed all count
 * days this one way.
 */
#ifndef SIPREMS_CALENDAR_H
#define SIPREMS_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

/* Days since 2000-01-01 of a civil date, and back. */
int64_t calendar_days_from_civil(int64_t y, unsigned m, unsigned d);
void calendar_civil_from_days(int64_t days, int *y, int *m, int *d);

/* The days of month m (1 to 12) of year y. */
unsigned calendar_days_in_month(int64_t y, unsigned m);

/* Writes a date (days since 2000-01-01) as YYYY-MM-DD; returns 10.  Not
 * NUL-terminated. */
size_t calendar_format_date(char *out, int64_t days);

/* Writes a time of day (seconds since midnight, 0 to 86399) as HH:MM:SS;
 * returns 8.  Not NUL-terminated. */
size_t calendar_format_time(char *out, int64_t secs);

#endif
