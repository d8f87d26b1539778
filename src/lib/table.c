/*
 * table.c — the column tables of docs/formats.md.
 */
#include "table.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define INT32_MAXV INT64_C(2147483647)

static const struct col_def users_cols[] = {
        {.name = "email",
         .db_column = "email",
         .rule = RULE_EMAIL,
         .empty_rule = EMPTY_REJECT,
         .flags = COL_REQUIRED | COL_KEY | COL_NOCASE,
         .min_chars = 1,
         .max_chars = 255},
        {.name = "full_name",
         .db_column = "full_name",
         .rule = RULE_TEXT,
         .empty_rule = EMPTY_REJECT,
         .flags = COL_REQUIRED,
         .min_chars = 1,
         .max_chars = 255},
        {.name = "password_hash",
         .db_column = "password_hash",
         .rule = RULE_PWHASH,
         .empty_rule = EMPTY_ONE_OF,
         .min_chars = 1,
         .max_chars = 255},
        {.name = "password",
         .db_column = "password_hash",
         .rule = RULE_PASSWORD,
         .empty_rule = EMPTY_ONE_OF,
         .flags = COL_SECRET,
         .min_chars = 1,
         .max_chars = 1024},
        {.name = "is_active",
         .db_column = "is_active",
         .rule = RULE_BOOL,
         .empty_rule = EMPTY_DEFAULT,
         .empty = "true"},
};

static const struct col_def products_cols[] = {
        {.name = "sku",
         .db_column = "sku",
         .rule = RULE_SKU,
         .empty_rule = EMPTY_REJECT,
         .flags = COL_REQUIRED | COL_KEY,
         .min_chars = 1,
         .max_chars = 100},
        {.name = "name",
         .db_column = "name",
         .rule = RULE_TEXT,
         .empty_rule = EMPTY_REJECT,
         .flags = COL_REQUIRED,
         .min_chars = 1,
         .max_chars = 255},
        {.name = "category",
         .db_column = "category",
         .rule = RULE_TEXT,
         .empty_rule = EMPTY_NULL,
         .max_chars = 100},
        {.name = "variation",
         .db_column = "variation",
         .rule = RULE_TEXT,
         .empty_rule = EMPTY_NULL,
         .max_chars = 100},
        {.name = "price",
         .db_column = "price",
         .rule = RULE_MONEY,
         .empty_rule = EMPTY_REJECT,
         .flags = COL_REQUIRED},
        {.name = "stock",
         .db_column = "stock",
         .rule = RULE_INT,
         .empty_rule = EMPTY_DEFAULT,
         .max = INT32_MAXV,
         .empty = "0"},
};

static const char *const event_types[] = {"holiday", "promotion", "seasonal", "custom", NULL};

static const struct col_def events_cols[] = {
        {.name = "event_name",
         .db_column = "event_name",
         .rule = RULE_TEXT,
         .empty_rule = EMPTY_REJECT,
         .flags = COL_REQUIRED | COL_KEY,
         .min_chars = 1,
         .max_chars = 255},
        {.name = "event_date",
         .db_column = "event_date",
         .rule = RULE_DATE,
         .empty_rule = EMPTY_REJECT,
         .flags = COL_REQUIRED | COL_KEY},
        {.name = "type",
         .db_column = "type",
         .rule = RULE_LABEL,
         .empty_rule = EMPTY_REJECT,
         .flags = COL_REQUIRED,
         .labels = event_types},
        {.name = "description",
         .db_column = "description",
         .rule = RULE_TEXT,
         .empty_rule = EMPTY_NULL},
        {.name = "include_in_prediction",
         .db_column = "include_in_prediction",
         .rule = RULE_BOOL,
         .empty_rule = EMPTY_DEFAULT,
         .empty = "true"},
};

static const struct col_def sales_cols[] = {
        {.name = "sku",
         .db_column = "product_id",
         .rule = RULE_SKU,
         .empty_rule = EMPTY_REJECT,
         .flags = COL_REQUIRED | COL_REF,
         .min_chars = 1,
         .max_chars = 100},
        {.name = "quantity_sold",
         .db_column = "quantity_sold",
         .rule = RULE_INT,
         .empty_rule = EMPTY_REJECT,
         .flags = COL_REQUIRED,
         .min = 1,
         .max = INT32_MAXV},
        {.name = "price_per_unit",
         .db_column = "price_per_unit",
         .rule = RULE_MONEY,
         .empty_rule = EMPTY_REF},
        {.name = "transaction_date",
         .db_column = "transaction_date",
         .rule = RULE_TIMESTAMP,
         .empty_rule = EMPTY_REJECT,
         .flags = COL_REQUIRED},
        {.name = "is_promo",
         .db_column = "is_promo",
         .rule = RULE_BOOL,
         .empty_rule = EMPTY_DEFAULT,
         .empty = "false"},
};

#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

_Static_assert(NCOLS(users_cols) <= TABLE_MAXCOLS && NCOLS(products_cols) <= TABLE_MAXCOLS &&
                       NCOLS(events_cols) <= TABLE_MAXCOLS && NCOLS(sales_cols) <= TABLE_MAXCOLS,
               "a kind has more columns than TABLE_MAXCOLS");

/* products.price: what an empty sales.price_per_unit takes. */
#define PRODUCTS_PRICE 4

static const struct table_def tables[KIND_COUNT] = {
        [KIND_USERS] = {.kind = KIND_USERS,
                        .name = "users",
                        .table = "users",
                        .id_column = "user_id",
                        .cols = users_cols,
                        .ncols = NCOLS(users_cols),
                        .key = {0, -1},
                        .nkey = 1,
                        .ref_col = -1,
                        .ref_kind = KIND_NONE,
                        .ref_source = -1,
                        .touch_on_update = "updated_at"},
        [KIND_PRODUCTS] = {.kind = KIND_PRODUCTS,
                           .name = "products",
                           .table = "products",
                           .id_column = "product_id",
                           .cols = products_cols,
                           .ncols = NCOLS(products_cols),
                           .key = {0, -1},
                           .nkey = 1,
                           .ref_col = -1,
                           .ref_kind = KIND_NONE,
                           .ref_source = -1},
        [KIND_EVENTS] = {.kind = KIND_EVENTS,
                         .name = "events",
                         .table = "events",
                         .id_column = "event_id",
                         .cols = events_cols,
                         .ncols = NCOLS(events_cols),
                         .key = {0, 1},
                         .nkey = 2,
                         .ref_col = -1,
                         .ref_kind = KIND_NONE,
                         .ref_source = -1},
        [KIND_SALES] = {.kind = KIND_SALES,
                        .name = "sales",
                        .table = "transactions",
                        .id_column = "transaction_id",
                        .cols = sales_cols,
                        .ncols = NCOLS(sales_cols),
                        .key = {-1, -1},
                        .nkey = 0,
                        .ref_col = 0,
                        .ref_kind = KIND_PRODUCTS,
                        .ref_source = PRODUCTS_PRICE},
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
	if (t->nkey == 0)
		return t->ref_col >= 0 ? t->cols[t->ref_col].name : "";
	if (buf[0] == '\0') {
		if (t->nkey == 1)
			(void)snprintf(buf, sizeof names[0], "%s", t->cols[t->key[0]].name);
		else
			(void)snprintf(buf, sizeof names[0], "%s+%s", t->cols[t->key[0]].name,
			               t->cols[t->key[1]].name);
	}
	return buf;
}

const struct table_def *
table_referrer(enum kind kind)
{
	for (int k = 0; k < KIND_COUNT; k++)
		if (tables[k].ref_col >= 0 && tables[k].ref_kind == kind)
			return &tables[k];
	return NULL;
}

int
table_label_index(const struct col_def *c, const char *s, size_t len)
{
	for (int i = 0; c->labels != NULL && c->labels[i] != NULL; i++)
		if (name_eq(c->labels[i], s, len))
			return i;
	return -1;
}

int
table_nlabels(const struct col_def *c)
{
	int n = 0;
	while (c->labels != NULL && c->labels[n] != NULL)
		n++;
	return n;
}

void
table_reset_order(char *buf, size_t size)
{
	size_t n = 0;
	for (int k = KIND_COUNT - 1; k >= 0; k--)
		n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s",
		                      k == KIND_COUNT - 1 ? "" : ", ", tables[k].table);
}

void
table_kind_list(char *buf, size_t size)
{
	size_t n = 0;
	for (int k = 0; k < KIND_COUNT; k++)
		n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s'%s'", k ? ", " : "",
		                      tables[k].name);
}
