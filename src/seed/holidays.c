/*
 * holidays.c — the national holidays: the decreed dates, and the moving
 * ones computed for the years without a decree.
 *
 * Sources of the moving dates (checked against each other where more than
 * one was at hand):
 *   2023  SKB No. 1066/2022, 3/2022, 3/2022
 *   2024  SKB No. 855/2023, 3/2023, 4/2023 (list of the Cabinet Secretariat)
 *   2025  SKB No. 1017/2024, 2/2024, 2/2024
 *   2026  SKB No. 1497/2025, 2/2025, 5/2025
 * Easter Sunday is a national holiday since Keppres 8/2024.
 */
#include "holidays.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "astro.h"
#include "calendar.h"
#include "valid.h"

static const struct holiday fixed[] = {
        {0, 1, 1, "Tahun Baru Masehi"},    {0, 5, 1, "Hari Buruh Internasional"},
        {0, 6, 1, "Hari Lahir Pancasila"}, {0, 8, 17, "Hari Kemerdekaan Republik Indonesia"},
        {0, 12, 25, "Hari Raya Natal"},
};

static const struct holiday moving[] = {
        {2023, 1, 22, "Tahun Baru Imlek"},
        {2023, 2, 18, "Isra Mikraj Nabi Muhammad"},
        {2023, 3, 22, "Hari Suci Nyepi"},
        {2023, 4, 7, "Wafat Yesus Kristus"},
        {2023, 4, 22, "Hari Raya Idul Fitri"},
        {2023, 4, 23, "Hari Raya Idul Fitri (hari kedua)"},
        {2023, 5, 18, "Kenaikan Yesus Kristus"},
        {2023, 6, 4, "Hari Raya Waisak"},
        {2023, 6, 29, "Hari Raya Idul Adha"},
        {2023, 7, 19, "Tahun Baru Islam"},
        {2023, 9, 28, "Maulid Nabi Muhammad"},

        {2024, 2, 8, "Isra Mikraj Nabi Muhammad"},
        {2024, 2, 10, "Tahun Baru Imlek"},
        {2024, 3, 11, "Hari Suci Nyepi"},
        {2024, 3, 29, "Wafat Yesus Kristus"},
        {2024, 3, 31, "Kebangkitan Yesus Kristus (Paskah)"},
        {2024, 4, 10, "Hari Raya Idul Fitri"},
        {2024, 4, 11, "Hari Raya Idul Fitri (hari kedua)"},
        {2024, 5, 9, "Kenaikan Yesus Kristus"},
        {2024, 5, 23, "Hari Raya Waisak"},
        {2024, 6, 17, "Hari Raya Idul Adha"},
        {2024, 7, 7, "Tahun Baru Islam"},
        {2024, 9, 16, "Maulid Nabi Muhammad"},

        {2025, 1, 27, "Isra Mikraj Nabi Muhammad"},
        {2025, 1, 29, "Tahun Baru Imlek"},
        {2025, 3, 29, "Hari Suci Nyepi"},
        {2025, 3, 31, "Hari Raya Idul Fitri"},
        {2025, 4, 1, "Hari Raya Idul Fitri (hari kedua)"},
        {2025, 4, 18, "Wafat Yesus Kristus"},
        {2025, 4, 20, "Kebangkitan Yesus Kristus (Paskah)"},
        {2025, 5, 12, "Hari Raya Waisak"},
        {2025, 5, 29, "Kenaikan Yesus Kristus"},
        {2025, 6, 6, "Hari Raya Idul Adha"},
        {2025, 6, 27, "Tahun Baru Islam"},
        {2025, 9, 5, "Maulid Nabi Muhammad"},

        {2026, 1, 16, "Isra Mikraj Nabi Muhammad"},
        {2026, 2, 17, "Tahun Baru Imlek"},
        {2026, 3, 19, "Hari Suci Nyepi"},
        {2026, 3, 21, "Hari Raya Idul Fitri"},
        {2026, 3, 22, "Hari Raya Idul Fitri (hari kedua)"},
        {2026, 4, 3, "Wafat Yesus Kristus"},
        {2026, 4, 5, "Kebangkitan Yesus Kristus (Paskah)"},
        {2026, 5, 14, "Kenaikan Yesus Kristus"},
        {2026, 5, 27, "Hari Raya Idul Adha"},
        {2026, 5, 31, "Hari Raya Waisak"},
        {2026, 6, 16, "Tahun Baru Islam"},
        {2026, 8, 25, "Maulid Nabi Muhammad"},
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define SYNODIC       29.530588861
#define NEW_MOON_2000 2451550.09766 /* the mean new moon of 2000-01-06 */

static int
cmp_holiday(const void *a, const void *b)
{
	const struct holiday *x = a, *y = b;
	int kx = x->month * 32 + x->day, ky = y->month * 32 + y->day;
	if (kx != ky)
		return kx - ky;
	return strcmp(x->name, y->name);
}

/* ---- computing the moving holidays ------------------------------------ */

static int32_t
ymd(int y, int m, int d)
{
	return (int32_t)calendar_days_from_civil(y, (unsigned)m, (unsigned)d);
}

/* Appends a holiday on day number day when it falls in year. */
static int
put(struct holiday *out, int n, int max, int year, int32_t day, const char *name)
{
	int y, m, d;
	calendar_civil_from_days(day, &y, &m, &d);
	if (y != year || n >= max)
		return n;
	out[n] = (struct holiday){y, m, d, name};
	return n + 1;
}

/*
 * The first day of the Islamic month that follows lunation k (k = 0 is the
 * new moon of 2000-01-06, which began Syawal 1420), by the MABIMS criterion
 * Indonesia's government has used since 2022: the month begins the day after
 * the first evening on which, at sunset, the moon stands at least 3° high
 * and 6.4° from the sun.  The evening is taken at Banda Aceh, where
 * Indonesia's sunset comes last and the moon stands highest; when the
 * criterion fails there the month begins a day later (istikmal).
 */
static int32_t
hijri_month_start(int k)
{
	const double lat = 5.55, lon = 95.32, wib = 7;
	double conj = astro_moon_phase(NEW_MOON_2000 + SYNODIC * k, 0);
	int32_t day = astro_day_of_jd(conj, wib);
	double sunset = astro_sunset(day, wib, lat, lon);
	if (sunset < conj)
		sunset = astro_sunset(++day, wib, lat, lon);
	struct astro_moon_sky sky = astro_moon_sky(sunset, lat, lon);
	return sky.altitude >= 3.0 && sky.elongation >= 6.4 ? day + 1 : day + 2;
}

static const struct {
	int month, day; /* Hijri */
	const char *name;
} islamic[] = {
        {7, 27, "Isra Mikraj Nabi Muhammad"},
        {10, 1, "Hari Raya Idul Fitri"},
        {10, 2, "Hari Raya Idul Fitri (hari kedua)"},
        {12, 10, "Hari Raya Idul Adha"},
        {1, 1, "Tahun Baru Islam"},
        {3, 12, "Maulid Nabi Muhammad"},
};

static int
islamic_of_year(int year, struct holiday *out, int n, int max)
{
	int k0 = (int)floor((astro_jd_of_day(ymd(year, 1, 1)) - NEW_MOON_2000) / SYNODIC) - 2;
	for (int k = k0; k <= k0 + 15; k++) {
		int h = k + 1420 * 12 + 9; /* Hijri months since the epoch */
		int month = ((h % 12) + 12) % 12 + 1;
		for (int i = 0; i < COUNT(islamic); i++)
			if (islamic[i].month == month)
				n = put(out, n, max, year,
				        hijri_month_start(k) + islamic[i].day - 1, islamic[i].name);
	}
	return n;
}

/* The day number (at UTC offset hours) of the new moon nearest jd. */
static int32_t
new_moon_day(double jd, double offset)
{
	return astro_day_of_jd(astro_moon_phase(jd, 0), offset);
}

/* The first day (UTC+8) of the Chinese month 11 of the sui that ends with
 * the winter solstice of year: the new moon on or before the solstice. */
static int32_t
month11(int year, double *jd_out)
{
	double ws = astro_sun_reaches(astro_jd_of_day(ymd(year, 12, 21)), 270);
	int32_t ws_day = astro_day_of_jd(ws, 8);
	double jd = astro_moon_phase(ws, 0);
	if (astro_day_of_jd(jd, 8) > ws_day)
		jd = astro_moon_phase(jd - SYNODIC, 0);
	*jd_out = jd;
	return astro_day_of_jd(jd, 8);
}

/* Whether the month from day a to day b (UTC+8) holds a principal term
 * (zhongqi: the sun at a multiple of 30°). */
static bool
has_zhongqi(int32_t a, int32_t b)
{
	double la = astro_sun_longitude(astro_jd_of_day(a) - 8.0 / 24);
	double lb = astro_sun_longitude(astro_jd_of_day(b) - 8.0 / 24);
	return floor(la / 30) != floor(lb / 30) || lb < la;
}

/*
 * Imlek: the first day of the Chinese year, in China's time (UTC+8).  Month
 * 11 holds the winter solstice and month 1 begins two new moons later,
 * three when the sui has 13 months and its leap month (the first without a
 * principal term) falls right after month 11 or 12.
 */
static int32_t
imlek(int year)
{
	double jd_prev, jd_next;
	(void)month11(year - 1, &jd_prev);
	int32_t next = month11(year, &jd_next);
	int32_t nm[14];
	int count = 0;
	for (double jd = jd_prev; count < 14; jd += SYNODIC) {
		nm[count] = new_moon_day(jd, 8);
		if (nm[count++] >= next)
			break;
	}
	int months = count - 1;
	int first = 2;
	if (months == 13) {
		for (int i = 1; i <= 2; i++) {
			if (!has_zhongqi(nm[i], nm[i + 1])) {
				first = 3;
				break;
			}
		}
	}
	return nm[first];
}

/* Easter Sunday (Gregorian; the anonymous algorithm in Meeus, chapter 8). */
static int32_t
easter(int y)
{
	int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
	int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
	int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
	int m = (a + 11 * h + 22 * l) / 451;
	int month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
	return ymd(y, month, day);
}

/*
 * Nyepi, the day after Tilem Kesanga (the new moon of the ninth Balinese
 * month).  Bali reckons its moons arithmetically (pangalantaka), which now
 * runs about half a day ahead of the sky: Nyepi is taken as the day, in
 * Bali's time, of the new moon in March shifted eight hours on, which gives
 * the published dates of 2019-2026 but 2025 (a day later).  The month is
 * the first whose Nyepi falls on or after March 3.
 */
static int32_t
nyepi(int year)
{
	double jd = astro_moon_phase(astro_jd_of_day(ymd(year, 2, 20)), 0);
	for (;; jd = astro_moon_phase(jd + SYNODIC, 0)) {
		int32_t day = astro_day_of_jd(jd, 8 + 8);
		if (day >= ymd(year, 3, 3))
			return day;
	}
}

/* Waisak: the full moon (in Jakarta's time) of the month Indonesia's
 * Buddhist council keeps, taken as the first full moon on or after May 7. */
static int32_t
waisak(int year)
{
	double jd = astro_moon_phase(astro_jd_of_day(ymd(year, 4, 20)), 180);
	for (;; jd = astro_moon_phase(jd + SYNODIC, 180)) {
		int32_t day = astro_day_of_jd(jd, 7);
		if (day >= ymd(year, 5, 7))
			return day;
	}
}

int
holidays_computed(int year, struct holiday *out, int max)
{
	int n = 0;
	int32_t e = easter(year);
	n = put(out, n, max, year, imlek(year), "Tahun Baru Imlek");
	n = put(out, n, max, year, nyepi(year), "Hari Suci Nyepi");
	n = put(out, n, max, year, e - 2, "Wafat Yesus Kristus");
	if (year >= 2024) /* Keppres 8/2024 */
		n = put(out, n, max, year, e, "Kebangkitan Yesus Kristus (Paskah)");
	n = put(out, n, max, year, e + 39, "Kenaikan Yesus Kristus");
	n = put(out, n, max, year, waisak(year), "Hari Raya Waisak");
	n = islamic_of_year(year, out, n, max);
	qsort(out, (size_t)n, sizeof *out, cmp_holiday);
	return n;
}

int
holidays_of_year(int year, struct holiday *out, int max, bool *decreed)
{
	int n = 0;
	*decreed = year >= HOLIDAYS_FIRST_YEAR && year <= HOLIDAYS_LAST_YEAR;
	if (*decreed) {
		for (int i = 0; i < COUNT(moving) && n < max; i++)
			if (moving[i].year == year)
				out[n++] = moving[i];
	} else {
		n = holidays_computed(year, out, max);
	}
	for (int i = 0; i < COUNT(fixed) && n < max; i++) {
		out[n] = fixed[i];
		out[n++].year = year;
	}
	qsort(out, (size_t)n, sizeof *out, cmp_holiday);
	return n;
}
