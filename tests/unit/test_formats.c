/*
 * test_formats.c — describing a file: --date-format patterns, numbers with
 * a decimal comma and a currency symbol, --null, and --profile files; each
 * table-driven, values and messages exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datefmt.h"
#include "profile.h"
#include "table.h"
#include "valid.h"

/* ---- datefmt ------------------------------------------------------------ */

struct date_case {
	const char *pattern;
	const char *value;
	int expect;          /* datefmt_parse's result */
	const char *reading; /* "Y-M-D h:m:s.us +off" when expect is 1 */
};

static const struct date_case date_cases[] = {
        {"DD/MM/YYYY HH24:MI", "05/01/2026 08:15", 1, "2026-1-5 8:15:0.0 +0"},
        {"DD/MM/YYYY HH24:MI", "5/1/2026 8:05", 1, "2026-1-5 8:5:0.0 +0"},
        {"DD/MM/YYYY HH24:MI", "05/01/2026  08:15", 1, "2026-1-5 8:15:0.0 +0"},
        {"DD/MM/YYYY HH24:MI", "05/01/2026", -1, NULL},
        {"DD/MM/YYYY HH24:MI", "05-01-2026 08:15", -1, NULL},
        {"DD/MM/YYYY HH24:MI", "05/01/2026 08:15:00", -1, NULL},
        {"DD/MM/YYYY HH24:MI", "31/02/2026 08:15", 0, NULL},
        {"DD/MM/YYYY HH24:MI", "29/02/2024 23:59", 1, "2024-2-29 23:59:0.0 +0"},
        {"DD/MM/YYYY HH24:MI", "29/02/2026 08:00", 0, NULL},
        {"DD/MM/YYYY HH24:MI", "05/01/2026 24:00", 0, NULL},
        {"DD/MM/YYYY HH24:MI", "05/13/2026 08:00", 0, NULL},
        {"DD/MM/YYYY HH24:MI", "005/01/2026 08:00", -1, NULL},
        {"dd.mm.yyyy", "24.12.2026", 1, "2026-12-24 0:0:0.0 +0"},
        {"DD.MM.YY", "24.12.69", 1, "2069-12-24 0:0:0.0 +0"},
        {"DD.MM.YY", "24.12.70", 1, "1970-12-24 0:0:0.0 +0"},
        {"YYYYMMDD", "20260105", 1, "2026-1-5 0:0:0.0 +0"},
        {"DD Mon YYYY", "5 jan 2026", 1, "2026-1-5 0:0:0.0 +0"},
        {"DD Mon YYYY", "5 Janu 2026", -1, NULL},
        {"DD Month YYYY", "17 August 2026", 1, "2026-8-17 0:0:0.0 +0"},
        {"MM/DD/YYYY HH12:MI AM", "01/05/2026 12:30 AM", 1, "2026-1-5 0:30:0.0 +0"},
        {"MM/DD/YYYY HH12:MI AM", "01/05/2026 12:30 pm", 1, "2026-1-5 12:30:0.0 +0"},
        {"MM/DD/YYYY HH12:MI AM", "01/05/2026 1:30 P.M.", 1, "2026-1-5 13:30:0.0 +0"},
        {"MM/DD/YYYY HH12:MI AM", "01/05/2026 13:30 PM", 0, NULL},
        {"MM/DD/YYYY HH:MI PM", "01/05/2026 0:30 AM", 0, NULL},
        {"YYYY-MM-DD\"T\"HH24:MI:SS.MS", "2026-01-05T08:00:01.5", 1, "2026-1-5 8:0:1.500000 +0"},
        {"YYYY-MM-DD HH24:MI:SS.US", "2026-01-05 08:00:01.000250", 1, "2026-1-5 8:0:1.250 +0"},
        {"YYYY-MM-DD HH24:MI:SS.US", "2026-01-05 08:00:01.0002501", -1, NULL},
        {"YYYY-MM-DD HH24:MITZH:TZM", "2026-01-05 08:00+07:00", 1, "2026-1-5 8:0:0.0 +25200"},
        {"YYYY-MM-DD HH24:MI TZH", "2026-01-05 08:00 -3", 1, "2026-1-5 8:0:0.0 +-10800"},
        {"YYYY-MM-DD HH24:MI TZH", "2026-01-05 08:00 3", -1, NULL},
        {"YYYY-MM-DD HH24:MI TZH", "2026-01-05 08:00 +16", 0, NULL},
};

static void
test_date_patterns(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof date_cases / sizeof date_cases[0]; i++) {
		const struct date_case *c = &date_cases[i];
		struct datefmt f;
		struct etl_error err;
		if (datefmt_compile(&f, c->pattern, &err) != ETL_OK)
			fail_msg("%s: %s", c->pattern, err.msg);
		struct datefmt_value v;
		int got = datefmt_parse(&f, c->value, strlen(c->value), &v);
		if (got != c->expect)
			fail_msg("%s on \"%s\": got %d, expected %d", c->pattern, c->value, got,
			         c->expect);
		if (got != 1)
			continue;
		char reading[96];
		(void)snprintf(reading, sizeof reading, "%d-%d-%d %d:%d:%d.%lld +%d", v.year,
		               v.month, v.day, v.hour, v.minute, v.second, (long long)v.usec,
		               v.has_offset ? v.offset : 0);
		if (strcmp(reading, c->reading) != 0)
			fail_msg("%s on \"%s\": read %s, expected %s", c->pattern, c->value,
			         reading, c->reading);
	}
}

static const struct {
	const char *pattern;
	const char *why;
} bad_patterns[] = {
        {"", "\"\" is empty"},
        {"DD/MM", "needs a year (YYYY or YY), a month (MM or MON) and a day (DD)"},
        {"DD/MM/YYYY/YY", "gives the year twice"},
        {"DD/MM/Mon YYYY", "gives the month twice"},
        {"DD/MM/YYYY HH24:MI HH12 AM", "gives the hour twice"},
        {"DD/MM/YYYY HH12:MI", "HH12 needs AM or PM (or use HH24)"},
        {"DD/MM/YYYY HH24:MI AM", "AM/PM needs HH12"},
        {"DD/MM/YYYY HH24", "the time needs the hour and the minutes"},
        {"DD/MM/YYYY HH24:MI.MS", "MS/US need SS"},
        {"DD/MM/YYYY TZH", "an offset (TZH) needs a time of day"},
        {"DD/MM/YYYY \"at", "has a quote that is not closed"},
        {"DD/MM/YYYY HH24:MI:SS and a long tail that goes on and on and on", "longer than 63"},
};

static void
test_bad_patterns(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_patterns / sizeof bad_patterns[0]; i++) {
		struct datefmt f;
		struct etl_error err;
		error_clear(&err);
		assert_int_equal(datefmt_compile(&f, bad_patterns[i].pattern, &err), ETL_EUSAGE);
		if (strstr(err.msg, bad_patterns[i].why) == NULL ||
		    strncmp(err.msg, "--date-format: ", 15) != 0)
			fail_msg("%s: got \"%s\", expected \"%s\"", bad_patterns[i].pattern,
			         err.msg, bad_patterns[i].why);
	}
}

/* ---- values, through the validator ----------------------------------------- */

struct value_case {
	const char *column; /* kind.column */
	const char *value;
	const char *expect; /* "=N" (integer, cents, days or usec) or a reason's text */
};

static const char *const formats_dmy[] = {"DD/MM/YYYY HH24:MI", "DD/MM/YYYY"};
static const char *const formats_two[] = {"DD/MM/YYYY", "MM/DD/YYYY"};

static const struct value_case comma_cases[] = {
        {"sales.price_per_unit", "Rp 12.500", "=1250000"},
        {"sales.price_per_unit", "Rp12.500", "=1250000"},
        {"sales.price_per_unit", "rp 12.500", "=1250000"},
        {"sales.price_per_unit", "12.500 Rp", "=1250000"},
        {"sales.price_per_unit", "1.250.000,50", "=125000050"},
        {"sales.price_per_unit", "1 250 000,5", "=125000050"},
        {"sales.price_per_unit",
         "1\xc2\xa0"
         "250,05",
         "=125005"},
        {"sales.price_per_unit", "12500", "=1250000"},
        {"sales.price_per_unit", "0,99", "=99"},
        {"sales.price_per_unit", ",99", "=99"},
        {"sales.price_per_unit", "-Rp 0", "=0"},
        {"sales.price_per_unit", "Rp -5", "\"Rp -5\" is negative"},
        {"sales.price_per_unit", "12.50",
         "\"12.50\" is not a number with a decimal comma (thousands grouped by three"},
        {"sales.price_per_unit", "1.250 000", "is not a number with a decimal comma"},
        {"sales.price_per_unit", "1250.000", "is not a number with a decimal comma"},
        {"sales.price_per_unit", "1..250", "is not a number with a decimal comma"},
        {"sales.price_per_unit", "1,250,00", "is not a number with a decimal comma"},
        {"sales.price_per_unit", "12,505", "\"12,505\" has more than 2 decimals"},
        {"sales.price_per_unit", "$ 12,50", "is not a number with a decimal comma"},
        {"sales.price_per_unit", "Rp 100.000.000,00",
         "\"Rp 100.000.000,00\" is more than 99999999.99"},
        {"sales.quantity_sold", "1.000", "=1000"},
        {"sales.quantity_sold", "2", "=2"},
        {"sales.quantity_sold", "1,5", "\"1,5\" is not an integer"},
        {"sales.quantity_sold", "Rp 2", "is not a number with a decimal comma"},
        {"sales.transaction_date", "05/01/2026 08:15", "=820916100000000"},
        {"sales.transaction_date", "05/01/2026", "=820886400000000"},
        {"sales.transaction_date", "2026-01-05 08:15",
         "\"2026-01-05 08:15\" does not match --date-format \"DD/MM/YYYY HH24:MI\" or "
         "\"DD/MM/YYYY\""},
        {"sales.transaction_date", "30/02/2026 08:15",
         "is not a real date and time of day (read by \"DD/MM/YYYY HH24:MI\")"},
        {"events.event_date", "17/08/2026", "=9725"},
        {"events.event_date", "17/08/2026 10:00", "has a time of day, but the column is a date"},
        {"products.price", "NA", "is empty, but required"},
        {"products.variation", " NA ", "=' NA '"},
        {"sales.price_per_unit", " NA ", "=NULL"},
        {"products.category", "NA", "=NULL"},
        {"products.name", "NA", "is empty, but required"},
};

/* The expected outcome of valid_value() for a case, as text. */
static void
outcome(const struct validator *v, const struct value_case *c, char *got, size_t size)
{
	char kind[16];
	const char *dot = strchr(c->column, '.');
	(void)snprintf(kind, sizeof kind, "%.*s", (int)(dot - c->column), c->column);
	const struct table_def *t = table_get(table_kind_from_name(kind));
	int col = table_col_index(t, dot + 1, strlen(dot + 1));
	assert_true(col >= 0);
	struct value out;
	char why[384];
	if (!valid_value(v, &t->cols[col], c->value, strlen(c->value), &out, why, sizeof why))
		(void)snprintf(got, size, "%s", why);
	else if (out.type == V_NULL)
		(void)snprintf(got, size, "=NULL");
	else if (out.type == V_TEXT)
		(void)snprintf(got, size, "='%.*s'", (int)out.n, out.s);
	else
		(void)snprintf(got, size, "=%lld", (long long)out.i);
}

static void
run_cases(const struct valid_opts *o, const struct value_case *cases, size_t n)
{
	struct validator *v = NULL;
	struct etl_error err;
	if (valid_open(&v, o, &err) != ETL_OK)
		fail_msg("valid_open: %s", err.msg);
	for (size_t i = 0; i < n; i++) {
		char got[512];
		outcome(v, &cases[i], got, sizeof got);
		const char *want = cases[i].expect;
		bool ok = want[0] == '=' ? strcmp(got, want) == 0 : strstr(got, want) != NULL;
		if (!ok)
			fail_msg("%s \"%s\": got %s, expected %s", cases[i].column, cases[i].value,
			         got, want);
	}
	valid_close(v);
}

static void
test_comma_currency_dates(void **state)
{
	(void)state;
	struct valid_opts o = {.allow_future = true, .timezone = "UTC"};
	o.fmt.date_formats[0] = formats_dmy[0];
	o.fmt.date_formats[1] = formats_dmy[1];
	o.fmt.ndate_formats = 2;
	o.fmt.decimal_comma = true;
	o.fmt.currency = "Rp";
	o.fmt.null = "NA";
	run_cases(&o, comma_cases, sizeof comma_cases / sizeof comma_cases[0]);
}

static const struct value_case plain_cases[] = {
        /* Without --decimal-comma a currency symbol alone is taken off. */
        {"sales.price_per_unit", "Rp 12500.50", "=1250050"},
        {"sales.price_per_unit", "12,500", "\"12,500\" is not a plain decimal"},
        {"sales.price_per_unit", "Rp 12.500", "\"Rp 12.500\" has more than 2 decimals"},
        {"sales.quantity_sold", "1.000", "\"1.000\" is not an integer"},
        /* Two patterns that read a value differently: a reject, never a guess. */
        {"sales.transaction_date", "05/01/2026",
         "\"05/01/2026\" is ambiguous: \"DD/MM/YYYY\" reads 2026-01-05, \"MM/DD/YYYY\" reads "
         "2026-05-01"},
        {"sales.transaction_date", "25/01/2026", "=822614400000000"},
        {"sales.transaction_date", "01/25/2026", "=822614400000000"},
        {"sales.transaction_date", "05/05/2026", "=831254400000000"},
        {"sales.transaction_date", "13/13/2026", "is not a real date and time of day"},
        {"sales.transaction_date", "2026/01/05", "does not match"},
};

static void
test_plain_and_ambiguous(void **state)
{
	(void)state;
	struct valid_opts o = {.allow_future = true, .timezone = "UTC"};
	o.fmt.date_formats[0] = formats_two[0];
	o.fmt.date_formats[1] = formats_two[1];
	o.fmt.ndate_formats = 2;
	o.fmt.currency = "Rp";
	run_cases(&o, plain_cases, sizeof plain_cases / sizeof plain_cases[0]);
}

static void
test_offset_pattern_converts(void **state)
{
	(void)state;
	/* 08:00+07:00 is 01:00 UTC, 08:00 in Jakarta, 02:00 in Berlin (winter). */
	static const struct {
		const char *zone;
		const char *expect;
	} zones[] = {{"UTC", "=820890000000000"},
	             {"Asia/Jakarta", "=820915200000000"},
	             {"Europe/Berlin", "=820893600000000"}};
	for (size_t i = 0; i < 3; i++) {
		struct valid_opts o = {.allow_future = true, .timezone = zones[i].zone};
		o.fmt.date_formats[0] = "DD/MM/YYYY HH24:MI TZH:TZM";
		o.fmt.ndate_formats = 1;
		struct value_case c = {"sales.transaction_date", "05/01/2026 08:00 +07:00",
		                       zones[i].expect};
		run_cases(&o, &c, 1);
	}
}

static void
test_bad_options(void **state)
{
	(void)state;
	static const struct {
		const char *currency, *null, *why;
	} cases[] = {
	        {"R1", NULL, "--currency: \"R1\" is not a symbol"},
	        {"", NULL, "--currency: \"\" is not a symbol"},
	        {"Rp ", NULL, "is not a symbol"},
	        {NULL, "", "--null: \"\" must be 1 to 63 bytes"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct valid_opts o = {.timezone = "UTC"};
		o.fmt.currency = cases[i].currency;
		o.fmt.null = cases[i].null;
		struct validator *v = NULL;
		struct etl_error err;
		error_clear(&err);
		assert_int_equal(valid_open(&v, &o, &err), ETL_EUSAGE);
		assert_null(v);
		if (strstr(err.msg, cases[i].why) == NULL)
			fail_msg("got \"%s\", expected \"%s\"", err.msg, cases[i].why);
	}
	struct valid_opts o = {.timezone = "UTC"};
	o.fmt.date_formats[0] = "DD/MM";
	o.fmt.ndate_formats = 1;
	struct validator *v = NULL;
	struct etl_error err;
	assert_int_equal(valid_open(&v, &o, &err), ETL_EUSAGE);
	assert_non_null(strstr(err.msg, "--date-format: \"DD/MM\" needs a year"));
}

/* ---- profiles ----------------------------------------------------------- */

static const struct option opts[] = {
        {"delimiter", required_argument, NULL, 1},   {"map", required_argument, NULL, 2},
        {"decimal-comma", no_argument, NULL, 3},     {"dry-run", no_argument, NULL, 4},
        {"date-format", required_argument, NULL, 5}, {"help", no_argument, NULL, 'h'},
        {"profile", required_argument, NULL, 6},     {NULL, 0, NULL, 0},
};
static const char *const ignored[] = {"format", NULL};

struct profile_case {
	const char *text;
	const char *expect; /* the arguments, "|"-separated, or "ERR LINE: message" */
};

static const struct profile_case profile_cases[] = {
        {"", ""},
        {"# only a comment\n\n   \n", ""},
        {"delimiter = ;\n", "--delimiter=;"},
        {"delimiter=;\r\nmap = Tanggal=transaction_date\r\n",
         "--delimiter=;|--map=Tanggal=transaction_date"},
        {"map = Kode Barang = sku\nmap = Nama Barang=-\n",
         "--map=Kode Barang = sku|--map=Nama Barang=-"},
        {"date-format = \"DD/MM/YYYY HH24:MI\"\ndate-format = DD/MM/YYYY",
         "--date-format=DD/MM/YYYY HH24:MI|--date-format=DD/MM/YYYY"},
        {"decimal-comma = true\ndry-run = false\n", "--decimal-comma"},
        {"\t# indented comment\nformat = json\ndelimiter = \"\t\"\n", "--delimiter=\t"},
        {"delimiter ;\n", "ERR 1: \"delimiter ;\" is not \"name = value\""},
        {"\n\n= ;\n", "ERR 3: \"= ;\" is not \"name = value\""},
        {"delimiter = ;\ncolour = red\n",
         "ERR 2: \"colour\" is not an option a profile can give here"},
        {"help = true\n", "ERR 1: \"help\" is not an option a profile can give here"},
        {"profile = other.conf\n", "ERR 1: \"profile\" is not an option a profile can give here"},
        {"--delimiter = ;\n", "ERR 1: write the option's name without its dashes: \"--delimiter\""},
        {"dry-run = yes\n",
         "ERR 1: \"dry-run\" is a flag: its value is true or false, not \"yes\""},
        {"dry-run\n", "ERR 1: \"dry-run\" is not \"name = value\""},
        {"map =\n", "ERR 1: \"map\" has no value"},
        {"map = \"\"\n", "ERR 1: \"map\" has no value"},
        {"Delimiter = ;\n", "ERR 1: \"Delimiter\" is not an option a profile can give here"},
};

static void
test_profiles(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof profile_cases / sizeof profile_cases[0]; i++) {
		const struct profile_case *c = &profile_cases[i];
		struct profile p = {0};
		struct etl_error err;
		error_clear(&err);
		enum etl_code rc = profile_parse(&p, "kasir.conf", c->text, strlen(c->text), opts,
		                                 ignored, &err);
		char got[1200];
		size_t k = 0;
		got[0] = '\0';
		if (rc != ETL_OK) {
			assert_int_equal(rc, ETL_EUSAGE);
			assert_string_equal(err.file, "kasir.conf");
			(void)snprintf(got, sizeof got, "ERR %ld: %s", err.line, err.msg);
		} else {
			for (int a = 0; a < p.nargs && k < sizeof got; a++) {
				k += (size_t)snprintf(got + k, sizeof got - k, "%s%s", a ? "|" : "",
				                      p.args[a].arg);
				assert_string_equal(p.args[a].file, "kasir.conf");
			}
		}
		if (strcmp(got, c->expect) != 0)
			fail_msg("profile %zu:\n  got      %s\n  expected %s", i, got, c->expect);
		profile_free(&p);
	}
}

static void
test_profile_lines_and_files(void **state)
{
	(void)state;
	char path[] = "/tmp/test_formats_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	(void)fputs("# kasir\n\ndelimiter = ;\n\nmap = Jumlah=quantity_sold\n", f);
	assert_int_equal(fclose(f), 0);
	struct profile p = {0};
	struct etl_error err;
	assert_int_equal(profile_read(&p, path, opts, NULL, &err), ETL_OK);
	assert_int_equal(p.nargs, 2);
	assert_int_equal(p.args[0].line, 3);
	assert_int_equal(p.args[1].line, 5);
	assert_string_equal(p.args[1].file, path);
	profile_free(&p);
	assert_int_equal(unlink(path), 0);
	error_clear(&err);
	assert_int_equal(profile_read(&p, path, opts, NULL, &err), ETL_EUSAGE);
	assert_string_equal(err.file, path);
	assert_non_null(strstr(err.msg, "cannot read the profile: No such file"));
	profile_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_date_patterns),
	        cmocka_unit_test(test_bad_patterns),
	        cmocka_unit_test(test_comma_currency_dates),
	        cmocka_unit_test(test_plain_and_ambiguous),
	        cmocka_unit_test(test_offset_pattern_converts),
	        cmocka_unit_test(test_bad_options),
	        cmocka_unit_test(test_profiles),
	        cmocka_unit_test(test_profile_lines_and_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
