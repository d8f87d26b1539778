/*
 * test_holidays.c — the computed moving holidays against dates set by
 * others: the decrees built in for 2023-2026 (every moving holiday; how
 * many match exactly and how many by one day is printed), and for
 * 2027-2030 Imlek, Good Friday and Idul Fitri as published.  Also: the
 * positions behind them (a new moon, a solstice, a sunset) against
 * published times, and what holidays_of_year gives for both kinds of year.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astro.h"
#include "calendar.h"
#include "holidays.h"
#include "valid.h"

static int32_t
ymd(int y, int m, int d)
{
	return (int32_t)calendar_days_from_civil(y, (unsigned)m, (unsigned)d);
}

/* The computed date of the holiday called name in year (the first, when a
 * year holds it twice); fails the test when there is none. */
static int32_t
computed(int year, const char *name)
{
	struct holiday h[40];
	int n = holidays_computed(year, h, 40);
	for (int i = 0; i < n; i++)
		if (strcmp(h[i].name, name) == 0)
			return ymd(h[i].year, h[i].month, h[i].day);
	fail_msg("%d: no computed \"%s\"", year, name);
	return 0;
}

static bool
is_islamic(const char *name)
{
	static const char *const islamic[] = {
	        "Isra Mikraj Nabi Muhammad",
	        "Hari Raya Idul Fitri",
	        "Hari Raya Idul Fitri (hari kedua)",
	        "Hari Raya Idul Adha",
	        "Tahun Baru Islam",
	        "Maulid Nabi Muhammad",
	};
	for (size_t i = 0; i < sizeof islamic / sizeof islamic[0]; i++)
		if (strcmp(name, islamic[i]) == 0)
			return true;
	return false;
}

/* Every decreed moving holiday of 2023-2026 has a computed counterpart
 * within a day of it; the counts are printed, and most match exactly. */
static void
test_decrees_compared(void **state)
{
	(void)state;
	int exact = 0, by_one = 0, other = 0;
	for (int y = HOLIDAYS_FIRST_YEAR; y <= HOLIDAYS_LAST_YEAR; y++) {
		struct holiday d[40];
		bool decreed;
		int n = holidays_of_year(y, d, 40, &decreed);
		assert_true(decreed);
		int moving = 0;
		for (int i = 0; i < n; i++) {
			/* The fixed-date ones are the same in both. */
			if ((d[i].month == 1 && d[i].day == 1) ||
			    (d[i].month == 5 && d[i].day == 1) ||
			    (d[i].month == 6 && d[i].day == 1) ||
			    (d[i].month == 8 && d[i].day == 17) ||
			    (d[i].month == 12 && d[i].day == 25))
				continue;
			moving++;
			int32_t want = ymd(d[i].year, d[i].month, d[i].day);
			int32_t got = computed(y, d[i].name);
			/* A name the year holds twice: the nearer one. */
			struct holiday c[40];
			int nc = holidays_computed(y, c, 40);
			for (int k = 0; k < nc; k++) {
				int32_t x = ymd(c[k].year, c[k].month, c[k].day);
				if (strcmp(c[k].name, d[i].name) == 0 &&
				    abs(x - want) < abs(got - want))
					got = x;
			}
			int diff = got - want;
			if (diff == 0) {
				exact++;
			} else {
				int gy, gm, gd;
				calendar_civil_from_days(got, &gy, &gm, &gd);
				printf("# %d: %s decreed %04d-%02d-%02d, computed %04d-%02d-%02d "
				       "(%+d)\n",
				       y, d[i].name, d[i].year, d[i].month, d[i].day, gy, gm, gd,
				       diff);
				if (diff == 1 || diff == -1)
					by_one++;
				else
					other++;
			}
		}
		assert_true(moving >= 11);
	}
	printf("# computed vs decreed 2023-2026: %d exact, %d by one day, %d further\n", exact,
	       by_one, other);
	assert_int_equal(other, 0);
	/* 44 of 47 when this was written; fewer means the computation got worse. */
	assert_true(exact >= 44);
	assert_int_equal(exact + by_one, 47);
}

/* The Islamic ones may differ by a day from a decree; the others may not,
 * except Nyepi, whose Balinese reckoning is approximated. */
static void
test_decrees_only_islamic_and_nyepi_differ(void **state)
{
	(void)state;
	for (int y = HOLIDAYS_FIRST_YEAR; y <= HOLIDAYS_LAST_YEAR; y++) {
		struct holiday d[40];
		bool decreed;
		int n = holidays_of_year(y, d, 40, &decreed);
		for (int i = 0; i < n; i++) {
			if (is_islamic(d[i].name) || strcmp(d[i].name, "Hari Suci Nyepi") == 0)
				continue;
			if (strstr(d[i].name, "Imlek") == NULL &&
			    strstr(d[i].name, "Yesus") == NULL &&
			    strstr(d[i].name, "Waisak") == NULL)
				continue; /* fixed-date */
			assert_int_equal(computed(y, d[i].name),
			                 ymd(d[i].year, d[i].month, d[i].day));
		}
	}
}

struct published {
	int year, month, day;
};

/* Imlek 2027-2030 (the Chinese calendar of the Purple Mountain
 * Observatory). */
static void
test_imlek_published(void **state)
{
	(void)state;
	static const struct published want[] = {
	        {2027, 2, 6},
	        {2028, 1, 26},
	        {2029, 2, 13},
	        {2030, 2, 3},
	        /* the leap-month years around them */
	        {2020, 1, 25},
	        {2023, 1, 22},
	        {2031, 1, 23},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_int_equal(computed(want[i].year, "Tahun Baru Imlek"),
		                 ymd(want[i].year, want[i].month, want[i].day));
}

/* Good Friday 2027-2030 (Easter 2027-03-28, 2028-04-16, 2029-04-01,
 * 2030-04-21), Easter itself and Ascension. */
static void
test_good_friday_published(void **state)
{
	(void)state;
	static const struct published gf[] = {
	        {2027, 3, 26}, {2028, 4, 14}, {2029, 3, 30}, {2030, 4, 19}};
	for (size_t i = 0; i < sizeof gf / sizeof gf[0]; i++) {
		int32_t want = ymd(gf[i].year, gf[i].month, gf[i].day);
		assert_int_equal(computed(gf[i].year, "Wafat Yesus Kristus"), want);
		assert_int_equal(computed(gf[i].year, "Kebangkitan Yesus Kristus (Paskah)"),
		                 want + 2);
		assert_int_equal(computed(gf[i].year, "Kenaikan Yesus Kristus"), want + 41);
	}
}

/* Idul Fitri 2027-2030 against the published Umm al-Qura calendar, which
 * begins a month when the moon sets after the sun at Mecca: Indonesia's
 * MABIMS criterion asks more of the moon, so its date is the same or one
 * day later.  The counts are printed. */
static void
test_idul_fitri_published(void **state)
{
	(void)state;
	static const struct published uaq[] = {
	        {2027, 3, 9}, {2028, 2, 26}, {2029, 2, 14}, {2030, 2, 4}};
	int exact = 0, later = 0;
	for (size_t i = 0; i < sizeof uaq / sizeof uaq[0]; i++) {
		int32_t want = ymd(uaq[i].year, uaq[i].month, uaq[i].day);
		int32_t got = computed(uaq[i].year, "Hari Raya Idul Fitri");
		assert_true(got == want || got == want + 1);
		exact += got == want;
		later += got == want + 1;
		assert_int_equal(computed(uaq[i].year, "Hari Raya Idul Fitri (hari kedua)"),
		                 got + 1);
	}
	printf("# Idul Fitri 2027-2030 vs Umm al-Qura: %d the same day, %d a day later\n", exact,
	       later);
}

/* The astronomy underneath, against published times: the new moon of
 * 2023-04-20 04:12 UTC (the eclipse) within 3 minutes, the December
 * solstice of 2024 (21st, 09:20 UTC) within 15, sunset at Jakarta on
 * 2024-06-21 (17:47 WIB) within 2. */
static void
test_positions(void **state)
{
	(void)state;
	double nm = astro_moon_phase(astro_jd_of_day(ymd(2023, 4, 19)), 0);
	double want = astro_jd_of_day(ymd(2023, 4, 20)) + (4 + 12.5 / 60) / 24;
	assert_true(nm > want - 3.0 / 1440 && nm < want + 3.0 / 1440);
	double ws = astro_sun_reaches(astro_jd_of_day(ymd(2024, 12, 20)), 270);
	want = astro_jd_of_day(ymd(2024, 12, 21)) + (9 + 20.0 / 60) / 24;
	assert_true(ws > want - 15.0 / 1440 && ws < want + 15.0 / 1440);
	double set = astro_sunset(ymd(2024, 6, 21), 7, -6.2, 106.82);
	want = astro_jd_of_day(ymd(2024, 6, 21)) + (17 + 47.0 / 60 - 7) / 24;
	assert_true(set > want - 2.0 / 1440 && set < want + 2.0 / 1440);
	assert_int_equal(astro_day_of_jd(set, 7), ymd(2024, 6, 21));
	assert_int_equal(astro_day_of_jd(astro_jd_of_day(ymd(2024, 6, 21)) + 20.0 / 24, 7),
	                 ymd(2024, 6, 22));
}

/* A decree year gives the decree; any other year the computation, with
 * every holiday once and the fixed ones too, in date order. */
static void
test_of_year(void **state)
{
	(void)state;
	struct holiday h[40];
	bool decreed;
	int n = holidays_of_year(2025, h, 40, &decreed);
	assert_true(decreed);
	assert_int_equal(n, 17);
	for (int y = 2015; y <= 2060; y++) {
		n = holidays_of_year(y, h, 40, &decreed);
		assert_true(decreed == (y >= 2023 && y <= 2026));
		assert_true(n >= 15 && n <= 20);
		for (int i = 1; i < n; i++)
			assert_true(h[i - 1].month * 32 + h[i - 1].day <=
			            h[i].month * 32 + h[i].day);
		int fitri = 0;
		for (int i = 0; i < n; i++)
			fitri += strcmp(h[i].name, "Hari Raya Idul Fitri") == 0;
		assert_true(fitri >= 1 && fitri <= 2); /* twice in 2033 and 2066 */
	}
	n = holidays_of_year(2033, h, 40, &decreed);
	int fitri = 0;
	for (int i = 0; i < n; i++)
		fitri += strcmp(h[i].name, "Hari Raya Idul Fitri") == 0;
	assert_int_equal(fitri, 2);
	/* Easter is a national holiday from 2024 on. */
	int easter = 0;
	n = holidays_computed(2022, h, 40);
	for (int i = 0; i < n; i++)
		easter += strstr(h[i].name, "Paskah") != NULL;
	assert_int_equal(easter, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_decrees_compared),
	        cmocka_unit_test(test_decrees_only_islamic_and_nyepi_differ),
	        cmocka_unit_test(test_imlek_published),
	        cmocka_unit_test(test_good_friday_published),
	        cmocka_unit_test(test_idul_fitri_published),
	        cmocka_unit_test(test_positions),
	        cmocka_unit_test(test_of_year),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
