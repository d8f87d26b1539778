/*
 * test_colmap.c — headers: kind recognition, case and order, unknown,
 * missing and repeated columns, reject-file columns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "colmap.h"

struct hcase {
	const char *header; /* '|'-separated */
	enum kind forced;
	enum kind expect; /* KIND_NONE: an error containing `why` */
	const char *why;
};

static const struct hcase cases[] = {
        {"sku|name|price", KIND_NONE, KIND_PRODUCTS, NULL},
        {"SKU| Name |Price|stock|category|variation", KIND_NONE, KIND_PRODUCTS, NULL},
        {"price|sku|name", KIND_NONE, KIND_PRODUCTS, NULL},
        {"sku|quantity_sold|transaction_date", KIND_NONE, KIND_SALES, NULL},
        {"transaction_date|is_promo|price_per_unit|quantity_sold|sku", KIND_NONE, KIND_SALES, NULL},
        {"event_name|event_date|type", KIND_NONE, KIND_EVENTS, NULL},
        {"email|full_name|password_hash", KIND_NONE, KIND_USERS, NULL},
        {"email|full_name|password|is_active", KIND_NONE, KIND_USERS, NULL},
        {"sku|name|price|reject_line|reject_reason", KIND_NONE, KIND_PRODUCTS, NULL},
        {"sku|name|price", KIND_PRODUCTS, KIND_PRODUCTS, NULL},
        {"sku|qty|date", KIND_NONE, KIND_NONE,
         "cannot tell the kind of file from its header; expected the columns of users: email, "
         "full_name (also: password_hash*, password*, is_active); *one of the two; products: sku, "
         "name, price (also: category, variation, stock); events: event_name, event_date, type "
         "(also: description, include_in_prediction); sales: sku, quantity_sold, "
         "transaction_date (also: price_per_unit, is_promo)"},
        {"sku|name|price|colour", KIND_NONE, KIND_NONE,
         "the header looks like a products file, but: unknown column \"colour\" (--map "
         "colour=COLUMN reads it as a column, --map colour=- ignores it); products "
         "files have the columns sku, name, price"},
        {"SKU|Name", KIND_NONE, KIND_NONE,
         "the header looks like a products file, but: missing required column price"},
        {"sku|colour", KIND_NONE, KIND_NONE, "cannot tell the kind of file from its header; "},
        {"sku;name;price", KIND_NONE, KIND_NONE,
         "cannot tell the kind of file from its header (the header is one field holding ';': "
         "try --delimiter ';'); expected"},
        {"na\001me|sku|price", KIND_NONE, KIND_NONE,
         "the header looks like a products file, but: unknown column \"na\\x01me\""},
        {"sku|name|price|colour", KIND_PRODUCTS, KIND_NONE,
         "unknown column \"colour\" (--map colour=COLUMN reads it as a column, "
         "--map colour=- ignores it); products files have the columns sku, name, price (also: "
         "category, variation, stock)"},
        {"sku|name", KIND_PRODUCTS, KIND_NONE, "missing required column price"},
        {"email|full_name", KIND_USERS, KIND_NONE, "missing column password_hash or password"},
        {"sku|name|price", KIND_SALES, KIND_NONE,
         "unknown column \"name\" (--map name=COLUMN reads it as a column, --map name=- "
         "ignores it); sales files"},
        {"sku|name|price|SKU", KIND_NONE, KIND_NONE,
         "column \"SKU\" appears twice (fields 1 and 4)"},
        {"sku||price", KIND_NONE, KIND_NONE, "header field 2 has no name"},
};

static void
test_headers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct hcase *tc = &cases[i];
		char buf[256], *fields[16];
		size_t lens[16];
		int n = 0;
		(void)snprintf(buf, sizeof buf, "%s", tc->header);
		char *p = buf;
		for (;;) {
			char *bar = strchr(p, '|');
			if (bar)
				*bar = '\0';
			fields[n] = p;
			lens[n++] = strlen(p);
			if (!bar)
				break;
			p = bar + 1;
		}
		struct csvrow_record h = {1, 1, n, fields, lens, NULL};
		struct colmap m;
		struct etl_error err;
		error_clear(&err);
		enum etl_code rc = colmap_build(&m, tc->forced, &h, NULL, "in.csv", &err);
		if (tc->expect != KIND_NONE) {
			if (rc != ETL_OK)
				fail_msg("header %s: %s", tc->header, err.msg);
			assert_int_equal(m.t->kind, tc->expect);
		} else {
			assert_int_equal(rc, ETL_EINPUT);
			assert_string_equal(err.file, "in.csv");
			assert_int_equal(err.line, 1);
			if (strstr(err.msg, tc->why) == NULL)
				fail_msg("header %s:\n  got      %s\n  expected %s", tc->header,
				         err.msg, tc->why);
		}
		colmap_free(&m);
	}
}

static void
test_mapping(void **state)
{
	(void)state;
	char *fields[] = {"Price", "reject_reason", "SKU", "name"};
	size_t lens[] = {5, 13, 3, 4};
	struct csvrow_record h = {1, 1, 4, fields, lens, NULL};
	struct colmap m;
	assert_int_equal(colmap_build(&m, KIND_NONE, &h, NULL, "x", NULL), ETL_OK);
	const struct table_def *t = m.t;
	assert_int_equal(m.field_col[0], table_col_index(t, "price", 5));
	assert_int_equal(m.field_col[1], -1);
	assert_int_equal(m.col_field[table_col_index(t, "sku", 3)], 2);
	assert_int_equal(m.col_field[table_col_index(t, "stock", 5)], -1);
	assert_string_equal(m.names[0], "Price");
	colmap_free(&m);
	colmap_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_headers),
	        cmocka_unit_test(test_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
