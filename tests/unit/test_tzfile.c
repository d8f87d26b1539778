/*
 * test_tzfile.c — zone offsets read from the zoneinfo files agree with the
 * C library's localtime_r for the same zone, from 1900 to 2100 (past every
 * zone's last transition, where the POSIX rule of the footer answers), and
 * POSIX rules parse as RFC 8536 describes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tzfile.h"

static const char *const zones[] = {
        "Asia/Jakarta",     "Asia/Makassar",     "Asia/Jayapura",   "Asia/Kathmandu",
        "America/New_York", "America/Sao_Paulo", "Europe/Berlin",   "Europe/London",
        "Australia/Sydney", "Pacific/Auckland",  "Pacific/Chatham", "Africa/Casablanca",
        "America/St_Johns", "Asia/Tehran",       "Europe/Dublin",   "Australia/Lord_Howe",
};

static void
test_matches_libc(void **state)
{
	(void)state;
	long compared = 0;
	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
		struct tz *z;
		struct etl_error err;
		assert_int_equal(tz_open(&z, zones[i], &err), ETL_OK);
		assert_int_equal(setenv("TZ", zones[i], 1), 0);
		tzset();
		/* Every 6 hours 37 minutes 13 seconds from 1901 to 2099: every
		 * hour of the day and every day of the year come round. */
		for (int64_t t = -2177452800LL; t < 4102444800LL; t += 397 * 60 + 13) {
			time_t tt = (time_t)t;
			struct tm tm;
			assert_non_null(localtime_r(&tt, &tm));
			if (tz_offset(z, t) != tm.tm_gmtoff)
				fail_msg("%s at %lld: %d, libc %ld", zones[i], (long long)t,
				         tz_offset(z, t), (long)tm.tm_gmtoff);
			compared++;
		}
		tz_close(z);
	}
	assert_true(compared > 4000000);
	(void)unsetenv("TZ");
}

static void
test_rules(void **state)
{
	(void)state;
	/* 2027-03-28 01:00 UTC: Europe's change to summer time. */
	struct tz *z = tz_from_rule("CET-1CEST,M3.5.0,M10.5.0/3");
	assert_non_null(z);
	assert_int_equal(tz_offset(z, 1806195600LL - 1), 3600);
	assert_int_equal(tz_offset(z, 1806195600LL), 7200);
	/* 2027-10-31 01:00 UTC: back. */
	assert_int_equal(tz_offset(z, 1824944400LL - 1), 7200);
	assert_int_equal(tz_offset(z, 1824944400LL), 3600);
	tz_close(z);
	/* Southern hemisphere: DST spans the new year. */
	z = tz_from_rule("AEST-10AEDT,M10.1.0,M4.1.0/3");
	assert_non_null(z);
	assert_int_equal(tz_offset(z, 1798761600LL), 39600); /* 2027-01-01 */
	assert_int_equal(tz_offset(z, 1814400000LL), 36000); /* 2027-07-01 */
	tz_close(z);
	const char *fixed[] = {"WIB-7", "<+0545>-5:45", "<-03>3", "UTC0"};
	const int32_t offs[] = {25200, 20700, -10800, 0};
	for (int i = 0; i < 4; i++) {
		z = tz_from_rule(fixed[i]);
		assert_non_null(z);
		assert_int_equal(tz_offset(z, 1800000000LL), offs[i]);
		tz_close(z);
	}
	const char *bad[] = {"",
	                     "W-7",
	                     "WIB",
	                     "WIB-7x",
	                     "CET-1CEST",
	                     "CET-1CEST,M13.1.0,M10.5.0",
	                     "CET-1CEST,M3.6.0,M10.5.0",
	                     "<+07-7",
	                     "WIB-200"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (tz_from_rule(bad[i]) != NULL)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
test_names(void **state)
{
	(void)state;
	struct tz *z;
	struct etl_error err;
	assert_int_equal(tz_open(&z, "UTC", &err), ETL_OK);
	assert_true(tz_is_utc(z));
	assert_int_equal(tz_offset(z, 0), 0);
	tz_close(z);
	const char *bad[] = {"Asia/Atlantis", "", "/etc/passwd", "../zoneinfo/UTC", "Asia"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(tz_open(&z, bad[i], &err), ETL_EUSAGE);
		assert_null(z);
		assert_non_null(strstr(err.msg, "unknown time zone"));
	}
	/* A file that is not TZif, and one cut short. */
	char dir[] = "/tmp/test_tzfile.XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof path, "%s/Text", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	(void)fputs("not a zone\n", f);
	(void)fclose(f);
	(void)snprintf(path, sizeof path, "%s/Short", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	unsigned char header[40] = {'T', 'Z', 'i', 'f', '2'};
	header[39] = 1; /* counts that promise data the file does not have */
	(void)fwrite(header, 1, sizeof header, f);
	(void)fclose(f);
	assert_int_equal(setenv("TZDIR", dir, 1), 0);
	assert_int_equal(tz_open(&z, "Text", &err), ETL_EUSAGE);
	assert_int_equal(tz_open(&z, "Short", &err), ETL_EUSAGE);
	(void)unsetenv("TZDIR");
	(void)snprintf(path, sizeof path, "%s/Text", dir);
	(void)remove(path);
	(void)snprintf(path, sizeof path, "%s/Short", dir);
	(void)remove(path);
	(void)rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_matches_libc),
	        cmocka_unit_test(test_rules),
	        cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
