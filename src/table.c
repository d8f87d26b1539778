/*
 * table.c — the column tables of SPEC's "Input files" section.
 */
#include "table.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define INT32_MAXV INT64_C(2147483647)

static const struct col_def users_cols[] = {
        {"email", "email", RULE_EMAIL, EMPTY_REJECT, COL_REQUIRED | COL_KEY | COL_NOCASE, 1, 255, 0,
         0, NULL, NULL},
        {"full_name", "full_name", RULE_TEXT, EMPTY_REJECT, COL_REQUIRED, 1, 255, 0, 0, NULL, NULL},
        {"password_hash", "password_hash", RULE_PWHASH, EMPTY_ONE_OF, 0, 1, 255, 0, 0, NULL, NULL},
        {"password", "password_hash", RULE_PASSWORD, EMPTY_ONE_OF, COL_SECRET, 1, 1024, 0, 0, NULL,
         NULL},
        {"is_active", "is_active", RULE_BOOL, EMPTY_DEFAULT, 0, 0, 0, 0, 0, "true", NULL},
};

static const struct col_def products_cols[] = {
        {"sku", "sku", RULE_SKU, EMPTY_REJECT, COL_REQUIRED | COL_KEY, 1, 100, 0, 0, NULL, NULL},
        {"name", "name", RULE_TEXT, EMPTY_REJECT, COL_REQUIRED, 1, 255, 0, 0, NULL, NULL},
        {"category", "category", RULE_TEXT, EMPTY_NULL, 0, 0, 100, 0, 0, NULL, NULL},
        {"variation", "variation", RULE_TEXT, EMPTY_NULL, 0, 0, 100, 0, 0, NULL, NULL},
        {"price", "price", RULE_MONEY, EMPTY_REJECT, COL_REQUIRED, 0, 0, 0, 0, NULL, NULL},
        {"stock", "stock", RULE_INT, EMPTY_DEFAULT, 0, 0, 0, 0, INT32_MAXV, "0", NULL},
};

static const char *const event_types[] = {"holiday", "promotion", "seasonal", "custom", NULL};

static const struct col_def events_cols[] = {
        {"event_name", "event_name", RULE_TEXT, EMPTY_REJECT, COL_REQUIRED | COL_KEY, 1, 255, 0, 0,
         NULL, NULL},
        {"event_date", "event_date", RULE_DATE, EMPTY_REJECT, COL_REQUIRED | COL_KEY, 0, 0, 0, 0,
         NULL, NULL},
        {"type", "type", RULE_LABEL, EMPTY_REJECT, COL_REQUIRED, 0, 0, 0, 0, NULL, event_types},
        {"description", "description", RULE_TEXT, EMPTY_NULL, 0, 0, 0, 0, 0, NULL, NULL},
        {"include_in_prediction", "include_in_prediction", RULE_BOOL, EMPTY_DEFAULT, 0, 0, 0, 0, 0,
         "true", NULL},
};

static const struct col_def sales_cols[] = {
        {"sku", "product_id", RULE_SKU, EMPTY_REJECT, COL_REQUIRED | COL_REF, 1, 100, 0, 0, NULL,
         NULL},
        {"quantity_sold", "quantity_sold", RULE_INT, EMPTY_REJECT, COL_REQUIRED, 0, 0, 1,
         INT32_MAXV, NULL, NULL},
        {"price_per_unit", "price_per_unit", RULE_MONEY, EMPTY_REF, 0, 0, 0, 0, 0, NULL, NULL},
        {"transaction_date", "transaction_date", RULE_TIMESTAMP, EMPTY_REJECT, COL_REQUIRED, 0, 0,
         0, 0, NULL, NULL},
        {"is_promo", "is_promo", RULE_BOOL, EMPTY_DEFAULT, 0, 0, 0, 0, 0, "false", NULL},
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
