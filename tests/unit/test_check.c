/*
 * test_check.c — the pre-check's decisions without a database server: a
 * row whose key the database holds in each --on-conflict mode (the same
 * values, other values, numerically equal money), a key an earlier file of
 * the run inserts, keys whole at any length, two copies of one file, and
 * the text, CSV and JSON of the same decisions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const struct table_def *products, *sales;

static struct valid_row
product(const char *sku, const char *name, int64_t cents)
{
	struct valid_row r;
	memset(&r, 0, sizeof r);
	r.v[table_col_index(products, "sku", 3)] =
	        (struct value){.type = V_TEXT, .s = sku, .n = strlen(sku)};
	r.v[table_col_index(products, "name", 4)] =
	        (struct value){.type = V_TEXT, .s = name, .n = strlen(name)};
	r.v[table_col_index(products, "price", 5)] = (struct value){.type = V_MONEY, .i = cents};
	/* category, variation and stock: not in the file (V_ABSENT) */
	return r;
}

/* A database products row in check_db_columns() order. */
static void
db_product(struct check *c, const char *sku, const char *name, const char *price)
{
	const char *cols[TABLE_MAXCOLS + 2];
	int n = check_db_columns(products, cols, TABLE_MAXCOLS + 2);
	char *values[TABLE_MAXCOLS + 2];
	size_t lens[TABLE_MAXCOLS + 2];
	for (int i = 0; i < n; i++) {
		const char *v = strcmp(cols[i], "sku") == 0     ? sku
		                : strcmp(cols[i], "name") == 0  ? name
		                : strcmp(cols[i], "price") == 0 ? price
		                : strcmp(cols[i], "stock") == 0 ? "0"
		                                                : NULL;
		values[i] = (char *)v;
		lens[i] = v ? strlen(v) : 0;
	}
	assert_int_equal(check_db_row(c, products, values, lens), ETL_OK);
}

/* A check writing into a memory stream; *text holds what it wrote once
 * the stream is closed. */
struct run {
	struct check *c;
	FILE *out;
	char *text;
	size_t size;
};

static void
start(struct run *r, enum on_conflict mode, enum check_format f)
{
	memset(r, 0, sizeof *r);
	r->out = open_memstream(&r->text, &r->size);
	assert_non_null(r->out);
	struct check_opts o = {.mode = mode, .format = f, .out = r->out};
	r->c = check_new(&o);
	assert_non_null(r->c);
	db_product(r->c, "BRD-001", "Roti Tawar", "15000.00");
	db_product(r->c, "MLK-001", "Susu", "18500.5");
	check_set_database(r->c, true, NULL);
}

/* The file a.csv: BRD-001 as in the database, MLK-001 renamed, SNK-001
 * new; then b.csv: SNK-001 again with another price; then a copy of a.csv. */
static uint64_t
run_files(struct run *r)
{
	assert_true(check_begin_file(r->c, "a.csv", products, "aaaa", 3));
	struct valid_row row = product("BRD-001", "Roti Tawar", 1500000);
	assert_int_equal(check_row(r->c, 2, &row), ETL_OK);
	row = product("MLK-001", "Susu Segar", 1850050);
	assert_int_equal(check_row(r->c, 3, &row), ETL_OK);
	check_reject(r->c, 4, "price: \"x\" is not a plain decimal");
	row = product("SNK-001", "Keripik", 500000);
	assert_int_equal(check_row(r->c, 5, &row), ETL_OK);
	assert_int_equal(check_end_file(r->c, NULL), ETL_OK);
	assert_true(check_begin_file(r->c, "b.csv", products, "bbbb", 1));
	row = product("SNK-001", "Keripik", 600000);
	assert_int_equal(check_row(r->c, 2, &row), ETL_OK);
	assert_int_equal(check_end_file(r->c, NULL), ETL_OK);
	assert_false(check_begin_file(r->c, "copy.csv", products, "aaaa", 4));
	uint64_t rejects = 99;
	struct etl_error err;
	assert_int_equal(check_finish(r->c, &rejects, &err), ETL_OK);
	(void)fclose(r->out);
	check_free(r->c);
	return rejects;
}

static void
test_error_mode(void **state)
{
	(void)state;
	struct run r;
	start(&r, CONFLICT_ERROR, CHECK_TEXT);
	assert_int_equal(run_files(&r), 7); /* 4 in the files, 3 of the copy (a.csv's) */
	assert_string_equal(
	        r.text,
	        "what a load with --on-conflict error would do\n"
	        "a.csv:2: will be rejected: sku: \"BRD-001\" already exists in the database "
	        "(--on-conflict skip keeps it, update replaces it)\n"
	        "a.csv:3: will be rejected: sku: \"MLK-001\" already exists in the database "
	        "(--on-conflict skip keeps it, update replaces it)\n"
	        "a.csv:4: will be rejected: price: \"x\" is not a plain decimal\n"
	        "a.csv (products): 1 inserted, 3 rejected\n"
	        "b.csv:2: will be rejected: sku: \"SNK-001\" already exists in the database "
	        "(--on-conflict skip keeps it, update replaces it) (as a.csv line 5 of this run "
	        "leaves it)\n"
	        "b.csv (products): 1 rejected\n"
	        "copy.csv: will be skipped: the whole file: the same content as a.csv, which "
	        "this run loads (a content loads once; its rejected rows are a.csv's)\n"
	        "copy.csv (products): 1 skipped, 3 rejected\n"
	        "total: 1 inserted, 1 skipped, 7 rejected\n");
	free(r.text);
}

static void
test_update_mode(void **state)
{
	(void)state;
	struct run r;
	start(&r, CONFLICT_UPDATE, CHECK_CSV);
	assert_int_equal(run_files(&r), 2);
	/* Money compares numerically (15000.00 and 1500000 cents); a value
	 * the file does not have is not compared. */
	assert_string_equal(
	        r.text,
	        "file,line,kind,key,outcome,reason\n"
	        "a.csv,2,products,BRD-001,unchanged,\"sku: \"\"BRD-001\"\" holds the "
	        "file's values already\"\n"
	        "a.csv,3,products,MLK-001,update,\"sku: \"\"MLK-001\"\": name: "
	        "\"\"Susu Segar\"\" in the file, \"\"Susu\"\" in the database\"\n"
	        "a.csv,4,products,,reject,\"price: \"\"x\"\" is not a plain decimal\"\n"
	        "b.csv,2,products,SNK-001,update,\"sku: \"\"SNK-001\"\" (as a.csv line "
	        "5 of this run leaves it): price: 6000.00 in the file, 5000.00 before\"\n"
	        "copy.csv,,products,,skip,\"the whole file: the same content as a.csv, which "
	        "this run loads (a content loads once; its rejected rows are a.csv's)\"\n");
	free(r.text);
}

static void
test_skip_mode_json(void **state)
{
	(void)state;
	struct run r;
	start(&r, CONFLICT_SKIP, CHECK_JSON);
	assert_int_equal(run_files(&r), 2);
	assert_non_null(strstr(r.text,
	                       "{\"on_conflict\": \"skip\", \"database_checked\": true, "
	                       "\"lines\": [\n  {\"file\": \"a.csv\", \"line\": 2, \"kind\": "
	                       "\"products\", \"key\": \"BRD-001\", \"outcome\": \"skip\""));
	assert_non_null(strstr(
	        r.text, "{\"file\": \"copy.csv\", \"kind\": \"products\", "
	                "\"insert\": 0, \"update\": 0, \"unchanged\": 0, \"skip\": 3, "
	                "\"reject\": 1, \"stopped\": false, \"same_content_as\": \"a.csv\""));
	assert_non_null(strstr(r.text,
	                       "\"total\": {\"insert\": 1, \"update\": 0, \"unchanged\": 0, "
	                       "\"skip\": 6, \"reject\": 2}}\n"));
	free(r.text);
}

/* Keys are whole: a long name on two dates is two keys, and one that
 * differs only in its last byte is another. */
static void
test_long_keys(void **state)
{
	(void)state;
	const struct table_def *events = table_get(KIND_EVENTS);
	struct run r;
	memset(&r, 0, sizeof r);
	r.out = open_memstream(&r.text, &r.size);
	struct check_opts o = {.mode = CONFLICT_ERROR, .format = CHECK_TEXT, .out = r.out};
	r.c = check_new(&o);
	assert_non_null(r.c);
	char name[3000];
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	int ni = table_col_index(events, "event_name", 10),
	    di = table_col_index(events, "event_date", 10);
	/* The database holds the name on day 100. */
	const char *cols[TABLE_MAXCOLS + 2];
	int n = check_db_columns(events, cols, TABLE_MAXCOLS + 2);
	char *values[TABLE_MAXCOLS + 2] = {0};
	size_t lens[TABLE_MAXCOLS + 2] = {0};
	values[0] = name;
	lens[0] = strlen(name);
	values[1] = "2000-04-10"; /* day 100 */
	lens[1] = 10;
	(void)n;
	assert_int_equal(check_db_row(r.c, events, values, lens), ETL_OK);
	check_set_database(r.c, true, NULL);
	assert_true(check_begin_file(r.c, "e.csv", events, "", 0));
	struct valid_row row;
	memset(&row, 0, sizeof row);
	row.v[ni] = (struct value){.type = V_TEXT, .s = name, .n = strlen(name)};
	row.v[di] = (struct value){.type = V_DATE, .i = 101};
	assert_int_equal(check_row(r.c, 2, &row), ETL_OK); /* another day: new */
	row.v[di].i = 100;
	assert_int_equal(check_row(r.c, 3, &row), ETL_OK); /* the stored one */
	name[sizeof name - 2] = 'y';
	assert_int_equal(check_row(r.c, 4, &row), ETL_OK); /* its last byte differs: new */
	assert_int_equal(check_end_file(r.c, NULL), ETL_OK);
	uint64_t rejects;
	struct etl_error err;
	assert_int_equal(check_finish(r.c, &rejects, &err), ETL_OK);
	(void)fclose(r.out);
	check_free(r.c);
	assert_int_equal(rejects, 1);
	assert_non_null(strstr(r.text, "e.csv:3: will be rejected"));
	assert_non_null(strstr(r.text, "e.csv (events): 2 inserted, 1 rejected\n"));
	free(r.text);
}

static int
setup(void **state)
{
	(void)state;
	products = table_get(KIND_PRODUCTS);
	sales = table_get(KIND_SALES);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_error_mode),
	        cmocka_unit_test(test_update_mode),
	        cmocka_unit_test(test_skip_mode_json),
	        cmocka_unit_test(test_long_keys),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
