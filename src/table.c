/*
 * table.c — the column tables of SPEC's "Input files" section.
 */
#include "table.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define INT32_MAXV INT64_C(2147483647)

static const struct col_def users_cols[] = {
        {"email", "email", RULE_EMAIL, EMPTY_REJECT, COL_REQUIRED | COL_KEY, 1, 255, 0, 0, NULL},
        {"full_name", "full_name", RULE_TEXT, EMPTY_REJECT, COL_REQUIRED, 1, 255, 0, 0, NULL},
        {"password_hash", "password_hash", RULE_PWHASH, EMPTY_ONE_OF, 0, 1, 255, 0, 0, NULL},
        {"password", "password_hash", RULE_PASSWORD, EMPTY_ONE_OF, COL_SECRET, 1, 1024, 0, 0, NULL},
        {"is_active", "is_active", RULE_BOOL, EMPTY_DEFAULT, 0, 0, 0, 0, 0, "true"},
};

static const struct col_def products_cols[] = {
        {"sku", "sku", RULE_SKU, EMPTY_REJECT, COL_REQUIRED | COL_KEY, 1, 100, 0, 0, NULL},
        {"name", "name", RULE_TEXT, EMPTY_REJECT, COL_REQUIRED, 1, 255, 0, 0, NULL},
        {"category", "category", RULE_TEXT, EMPTY_NULL, 0, 0, 100, 0, 0, NULL},
        {"variation", "variation", RULE_TEXT, EMPTY_NULL, 0, 0, 100, 0, 0, NULL},
        {"price", "price", RULE_MONEY, EMPTY_REJECT, COL_REQUIRED, 0, 0, 0, 0, NULL},
        {"stock", "stock", RULE_INT, EMPTY_DEFAULT, 0, 0, 0, 0, INT32_MAXV, "0"},
};

static const struct col_def events_cols[] = {
        {"event_name", "event_name", RULE_TEXT, EMPTY_REJECT, COL_REQUIRED | COL_KEY, 1, 255, 0, 0,
         NULL},
        {"event_date", "event_date", RULE_DATE, EMPTY_REJECT, COL_REQUIRED | COL_KEY, 0, 0, 0, 0,
         NULL},
        {"type", "type", RULE_EVENT_TYPE, EMPTY_REJECT, COL_REQUIRED, 0, 0, 0, 0, NULL},
        {"description", "description", RULE_TEXT, EMPTY_NULL, 0, 0, 0, 0, 0, NULL},
        {"include_in_prediction", "include_in_prediction", RULE_BOOL, EMPTY_DEFAULT, 0, 0, 0, 0, 0,
         "true"},
};

static const struct col_def sales_cols[] = {
        {"sku", "product_id", RULE_SKU_REF, EMPTY_REJECT, COL_REQUIRED, 1, 100, 0, 0, NULL},
        {"quantity_sold", "quantity_sold", RULE_INT, EMPTY_REJECT, COL_REQUIRED, 0, 0, 1,
         INT32_MAXV, NULL},
        {"price_per_unit", "price_per_unit", RULE_MONEY, EMPTY_PRICE, 0, 0, 0, 0, 0, NULL},
        {"transaction_date", "transaction_date", RULE_TIMESTAMP, EMPTY_REJECT, COL_REQUIRED, 0, 0,
         0, 0, NULL},
        {"is_promo", "is_promo", RULE_BOOL, EMPTY_DEFAULT, 0, 0, 0, 0, 0, "false"},
};

#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct table_def tables[KIND_COUNT] = {
        [KIND_USERS] = {KIND_USERS,
                        "users",
                        "users",
                        "user_id",
                        users_cols,
                        NCOLS(users_cols),
                        {0, -1},
                        1},
        [KIND_PRODUCTS] = {KIND_PRODUCTS,
                           "products",
                           "products",
                           "product_id",
                           products_cols,
                           NCOLS(products_cols),
                           {0, -1},
                           1},
        [KIND_EVENTS] = {KIND_EVENTS,
                         "events",
                         "events",
                         "event_id",
                         events_cols,
                         NCOLS(events_cols),
                         {0, 1},
                         2},
        [KIND_SALES] = {KIND_SALES,
                        "sales",
                        "transactions",
                        "transaction_id",
                        sales_cols,
                        NCOLS(sales_cols),
                        {-1, -1},
                        0},
};

const struct table_def *
table_get(enum kind kind)
{
	return &tables[kind];
}

enum kind
table_kind_from_name(const char *s)
{
	for (int k = 0; k < KIND_COUNT; k++)
		if (strcmp(tables[k].name, s) == 0)
			return (enum kind)k;
	return KIND_NONE;
}

static bool
name_eq(const char *name, const char *s, size_t len)
{
	return strlen(name) == len && strncasecmp(name, s, len) == 0;
}

int
table_col_index(const struct table_def *t, const char *name, size_t len)
{
	for (int i = 0; i < t->ncols; i++)
		if (name_eq(t->cols[i].name, name, len))
			return i;
	return -1;
}

int
table_rule_col(const struct table_def *t, enum rule r)
{
	for (int i = 0; i < t->ncols; i++)
		if (t->cols[i].rule == r)
			return i;
	return -1;
}

bool
table_is_reject_column(const char *name, size_t len)
{
	return name_eq("reject_line", name, len) || name_eq("reject_reason", name, len);
}

const char *
table_key_name(const struct table_def *t)
{
	static char names[KIND_COUNT][64];
	char *buf = names[t->kind];
	if (buf[0] == '\0' && t->nkey > 0) {
		if (t->nkey == 1)
			(void)snprintf(buf, sizeof names[0], "%s", t->cols[t->key[0]].name);
		else
			(void)snprintf(buf, sizeof names[0], "%s+%s", t->cols[t->key[0]].name,
			               t->cols[t->key[1]].name);
	}
	return buf;
}
