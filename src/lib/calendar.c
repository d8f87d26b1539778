/*
 * calendar.c — day numbers of the Gregorian calendar (see calendar.h).
 */
#include "calendar.h"

/* Howard Hinnant's days_from_civil, shifted to 2000-01-01. */

int64_t
calendar_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468 - 10957;
}

void
calendar_civil_from_days(int64_t days, int *y, int *m, int *d)
{
	int64_t z = days + 10957 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static void
two(char *out, int v)
{
	out[0] = (char)('0' + v / 10);
	out[1] = (char)('0' + v % 10);
}

size_t
calendar_format_date(char *out, int64_t days)
{
	int y, m, d;
	calendar_civil_from_days(days, &y, &m, &d);
	two(out, y / 100);
	two(out + 2, y % 100);
	out[4] = '-';
	two(out + 5, m);
	out[7] = '-';
	two(out + 8, d);
	return 10;
}

size_t
calendar_format_time(char *out, int64_t secs)
{
	two(out, (int)(secs / 3600));
	out[2] = ':';
	two(out + 3, (int)(secs / 60 % 60));
	out[5] = ':';
	two(out + 6, (int)(secs % 60));
	return 8;
}

unsigned
calendar_days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}
