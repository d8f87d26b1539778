/*
 * test_check.c — the pre-check without a database: keys repeated in a
 * file and across files, case variants in the files and against database
 * rows, database rows with the same or other values, unknown SKUs, and the
 * three reports of the same findings.
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
	const char *cols[COLMAP_MAXCOLS + 2];
	int n = check_db_columns(products, cols, COLMAP_MAXCOLS + 2);
	char *values[COLMAP_MAXCOLS + 2];
	size_t lens[COLMAP_MAXCOLS + 2];
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

static char *
report(struct check *c, enum check_format f, int *found)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	assert_non_null(out);
	struct etl_error err;
	assert_int_equal(check_report(c, out, f, found, &err), ETL_OK);
	(void)fclose(out);
	return text;
}

static struct check *
planted(void)
{
	struct check *c = check_new();
	assert_non_null(c);
	int a = check_file(c, "products_a.csv"), b = check_file(c, "products_b.csv");
	int s = check_file(c, "sales.csv");
	assert_int_equal(a, 0);
	assert_int_equal(s, 2);
	struct {
		int file;
		long line;
		const char *sku, *name;
		int64_t cents;
	} rows[] = {
	        {a, 2, "BRD-001", "Roti Tawar", 1500000}, {a, 3, "MLK-001", "Susu Segar", 1850050},
	        {a, 4, "SNK-001", "Keripik", 500000},     {a, 5, " snk-001", "Keripik", 500000},
	        {a, 6, "SNK-001", "Keripik", 500000},     {b, 2, "SNK-001", "Keripik", 500000},
	        {b, 3, "TEA-001", "Teh", 500000},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct valid_row r = product(rows[i].sku, rows[i].name, rows[i].cents);
		assert_int_equal(check_key(c, products, rows[i].file, rows[i].line, &r), ETL_OK);
	}
	const char *skus[] = {"BRD-001", "GHOST-1", "GHOST-1", "DB-ONLY", "GHOST-2"};
	for (int i = 0; i < 5; i++)
		assert_int_equal(check_ref(c, sales, s, 2 + i, skus[i], strlen(skus[i])), ETL_OK);
	return c;
}

static void
test_files_only(void **state)
{
	(void)state;
	struct check *c = planted();
	check_set_database(c, false, "no database reachable");
	int found;
	char *csv = report(c, CHECK_CSV, &found);
	/* Without a database: the repeats and the variant; SKUs are not judged. */
	assert_string_equal(csv, "kind,key,value,type,file,line,detail\n"
	                         "products,sku,SNK-001,in_file,products_a.csv,4,\n"
	                         "products,sku,SNK-001,in_file,products_a.csv,6,\n"
	                         "products,sku,SNK-001,cross_file,products_a.csv,4,\n"
	                         "products,sku,SNK-001,cross_file,products_a.csv,6,\n"
	                         "products,sku,SNK-001,cross_file,products_b.csv,2,\n"
	                         "products,sku,\" snk-001\",case_variant,products_a.csv,5,"
	                         "\"differs only in letter case or surrounding spaces from "
	                         "\"\"SNK-001\"\" (products_a.csv:4)\"\n"
	                         "products,sku,\" snk-001\",case_variant,products_a.csv,4,"
	                         "\"differs only in letter case or surrounding spaces from "
	                         "\"\"SNK-001\"\" (products_a.csv:4)\"\n");
	assert_int_equal(found, 3);
	free(csv);
	check_free(c);
}

static void
test_with_database(void **state)
{
	(void)state;
	struct check *c = planted();
	db_product(c, "BRD-001", "Roti Tawar", "15000.00");
	db_product(c, "MLK-001", "Susu", "18500.5");
	db_product(c, "tea-001", "Teh", "5000");
	db_product(c, "OTHER-1", "Lain", "1");
	check_db_ref(c, sales, "DB-ONLY", 7);
	check_set_database(c, true, NULL);
	assert_true(check_needs_pass2(c, 0));
	assert_false(check_needs_pass2(c, 1));
	/* Pass 2 over products_a.csv: every row, as the command does. */
	bool ok[COLMAP_MAXCOLS];
	for (int i = 0; i < COLMAP_MAXCOLS; i++)
		ok[i] = true;
	struct valid_row r = product("BRD-001", "Roti Tawar", 1500000);
	assert_int_equal(check_compare(c, products, 0, 2, &r, ok), ETL_OK);
	r = product("MLK-001", "Susu Segar", 1850050);
	assert_int_equal(check_compare(c, products, 0, 3, &r, ok), ETL_OK);
	r = product("SNK-001", "Keripik", 500000);
	assert_int_equal(check_compare(c, products, 0, 4, &r, ok), ETL_OK);

	int found;
	char *text = report(c, CHECK_TEXT, &found);
	assert_int_equal(found, 7);
	assert_non_null(strstr(text, "checked against the database"));
	assert_non_null(strstr(text,
	                       "products (sku): 5 distinct keys, 5 findings; 1 already present, "
	                       "identical\n"));
	assert_non_null(strstr(text, "sales (sku): 4 distinct keys, 2 findings\n"));
	/* The same values are counted, not a finding; the ones that differ
	 * (numerically for money) are. */
	assert_null(strstr(text, "\"BRD-001\"  products_a.csv:2"));
	assert_non_null(strstr(text, "name: \"Susu Segar\" in the file, \"Susu\" in the database"));
	assert_null(strstr(text, "price:"));
	assert_non_null(strstr(text, "from \"tea-001\" in the database"));
	/* BRD-001 is in a products file, DB-ONLY in the database: only GHOST-1. */
	assert_non_null(
	        strstr(text, "unknown_sku   \"GHOST-1\"  sales.csv:3, sales.csv:4 — 2 rows"));
	assert_null(strstr(text, "DB-ONLY"));
	assert_non_null(strstr(text, "total: 7 findings (1 in_file, 1 cross_file, 1 database, 2 "
	                             "case_variant, 2 unknown_sku); 1 row already present, "
	                             "identical\n"));
	free(text);
	/* The same findings as JSON; GHOST-2 once, one occurrence. */
	char *json = report(c, CHECK_JSON, &found);
	assert_non_null(strstr(json, "{\"database_checked\": true, \"identical\": {\"products\": "
	                             "1}, \"findings\": ["));
	assert_non_null(strstr(json,
	                       "\"kind\": \"sales\", \"key\": \"sku\", \"value\": \"GHOST-2\", "
	                       "\"type\": \"unknown_sku\", \"occurrences\": [{\"file\": "
	                       "\"sales.csv\", \"line\": 6}]"));
	free(json);
	check_free(c);
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
	        cmocka_unit_test(test_files_only),
	        cmocka_unit_test(test_with_database),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
