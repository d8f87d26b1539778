/*
 * test_load.c — the load's parts that need no database: the order the
 * files of a run load in, the summary table, the summary JSON and its
 * strings.
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

#include "load.h"
#include "report.h"
#include "table.h"

struct file {
	int kind, order;
};

static int
by_load_order(const void *a, const void *b)
{
	const struct file *x = a, *y = b;
	return load_order(x->kind, x->order, y->kind, y->order);
}

/* Users, products, events, then sales; a file not opened (-1) first; the
 * command line's order within a kind. */
static void
test_order(void **state)
{
	(void)state;
	struct file f[] = {
	        {KIND_SALES, 0}, {KIND_PRODUCTS, 1}, {-1, 2}, {KIND_EVENTS, 3}, {KIND_USERS, 4},
	        {KIND_SALES, 5}, {KIND_PRODUCTS, 6},
	};
	size_t n = sizeof f / sizeof f[0];
	qsort(f, n, sizeof f[0], by_load_order);
	const int want[][2] = {
	        {-1, 2},          {KIND_USERS, 4}, {KIND_PRODUCTS, 1}, {KIND_PRODUCTS, 6},
	        {KIND_EVENTS, 3}, {KIND_SALES, 0}, {KIND_SALES, 5}};
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(f[i].kind, want[i][0]);
		assert_int_equal(f[i].order, want[i][1]);
	}
	assert_int_equal(load_order(KIND_SALES, 1, KIND_SALES, 1), 0);
}

/* What f received, NUL-ended (the caller frees it). */
static char *
text_of(FILE *f)
{
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	char *s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	return s;
}

static const struct file_result results[] = {
        {.file = "products.csv",
         .kind = "products",
         .status = "loaded",
         .rows_read = 3,
         .rows_loaded = 3,
         .seconds = 0.5,
         .load_id = 7},
        {.file = "sales.csv.gz",
         .kind = "sales",
         .status = "partial",
         .rows_read = 10,
         .rows_loaded = 8,
         .rows_skipped = 1,
         .rows_rejected = 1,
         .reject_file = "sales.csv.gz.rejects.csv",
         .seconds = 1.25,
         .load_id = 8},
        {.file = "x.csv", .kind = NULL, .status = "failed", .error = "cannot read \"x.csv\"\n"},
};

static void
test_table(void **state)
{
	(void)state;
	FILE *f = tmpfile();
	assert_non_null(f);
	report_table(f, results, 3, false);
	char *s = text_of(f);
	const char *want = "file          kind      status         read      loaded   updated   "
	                   "skipped  rejected"
	                   "   seconds\n"
	                   "products.csv  products  loaded            3           3         0      "
	                   "   0         0"
	                   "      0.50\n"
	                   "sales.csv.gz  sales     partial          10           8         0      "
	                   "   1         1"
	                   "      1.25\n"
	                   "x.csv         -         failed            0           0         0      "
	                   "   0         0"
	                   "      0.00\n"
	                   "total                                    13          11         0      "
	                   "   1         1"
	                   "      1.75\n"
	                   "rejected rows of sales.csv.gz: sales.csv.gz.rejects.csv\n";
	assert_string_equal(s, want);
	free(s);
	(void)fclose(f);
	/* A dry run's rows are valid, not loaded, and it says it wrote nothing;
	 * one file has no total. */
	f = tmpfile();
	assert_non_null(f);
	report_table(f, results, 1, true);
	s = text_of(f);
	assert_string_equal(
	        s, "file          kind      status         read       valid   updated   skipped  "
	           "rejected   seconds\n"
	           "products.csv  products  valid             3           3         0         "
	           "0         0      0.50\n"
	           "dry run: nothing was written to the database\n");
	free(s);
	(void)fclose(f);
}

static void
test_json_string(void **state)
{
	(void)state;
	FILE *f = tmpfile();
	assert_non_null(f);
	report_json_string(f, "a\"b\\c\n\t\x01 \xc3\xa9");
	(void)fputc(' ', f);
	report_json_string(f, NULL);
	char *s = text_of(f);
	assert_string_equal(s, "\"a\\\"b\\\\c\\n\\t\\u0001 \xc3\xa9\" null");
	free(s);
	(void)fclose(f);
}

/* The summary file: each file with its counts, the run's exit status, and
 * what stopped the run. */
static void
test_json(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_load.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	(void)snprintf(path, sizeof path, "%s/summary.json", dir);
	struct etl_error err;
	assert_int_equal(report_json(path, results, 3, 1, "the run stopped", &err), ETL_OK);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	(void)fseek(f, 0, SEEK_END);
	char *s = text_of(f);
	(void)fclose(f);
	const char *parts[] = {
	        "{\"files\": [",
	        "{\"file\": \"products.csv\", \"kind\": \"products\", \"status\": \"loaded\"",
	        "\"load_id\": 7",
	        "\"reject_file\": \"sales.csv.gz.rejects.csv\"",
	        "{\"file\": \"x.csv\", \"kind\": null, \"status\": \"failed\"",
	        "\"error\": \"cannot read \\\"x.csv\\\"\\n\"",
	        "\"exit_code\": 1",
	        "\"error\": \"the run stopped\"",
	};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (strstr(s, parts[i]) == NULL)
			fail_msg("missing %s in\n%s", parts[i], s);
	free(s);
	/* A directory that is not there: an error naming the file. */
	char gone[96];
	(void)snprintf(gone, sizeof gone, "%s/no/such/dir/summary.json", dir);
	assert_int_equal(report_json(gone, results, 1, 0, NULL, &err), ETL_ESYSTEM);
	assert_non_null(strstr(err.msg, "cannot write the summary"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_order),
	        cmocka_unit_test(test_table),
	        cmocka_unit_test(test_json_string),
	        cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
