/*
 * test_ddl.c — the DDL parser on every statement shape schema/ uses, on
 * what it must refuse, and the DDL under schema/ against the table
 * description: every column a kind fills exists with a type its rule can
 * fill, keys have their unique index, a reference its foreign key, labels
 * their enum, and every NOT NULL column without a default is filled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddl.h"
#include "schema.h"
#include "table.h"

static const char sample[] =
        "-- a comment; with a semicolon\n"
        "CREATE TYPE mood AS ENUM ('glad', 'it''s fine', 'sad');\n"
        "CREATE TABLE Shops (\n"
        "    shop_id   BIGSERIAL PRIMARY KEY,\n"
        "    name      VARCHAR(255) NOT NULL,\n"
        "    rating    NUMERIC(10,2),\n"
        "    open      BOOLEAN DEFAULT TRUE,\n"
        "    opened_on DATE NOT NULL,\n"
        "    seen_at   TIMESTAMPTZ NOT NULL DEFAULT NOW(),\n"
        "    feeling   mood NOT NULL,\n"
        "    note      TEXT\n"
        ");\n"
        "CREATE UNIQUE INDEX idx_shops_name ON shops (name);\n"
        "CREATE INDEX idx_shops_seen ON shops (seen_at DESC, shop_id);\n"
        "ALTER TABLE shops ADD CONSTRAINT shops_name_day UNIQUE (name, opened_on);\n"
        "ALTER TABLE visits ADD CONSTRAINT visits_shop_fkey\n"
        "    FOREIGN KEY (shop_id) REFERENCES shops (shop_id) ON DELETE RESTRICT;\n";

static const struct ddl_col *
col(const struct ddl_stmt *s, const char *name)
{
	for (int i = 0; i < s->ntcols; i++)
		if (strcmp(s->tcols[i].name, name) == 0)
			return &s->tcols[i];
	return NULL;
}

static void
test_parse(void **state)
{
	(void)state;
	struct ddl_stmt *v = NULL;
	int n = 0;
	assert_true(ddl_parse_all(sample, &v, &n));
	assert_int_equal(n, 6);

	assert_int_equal(v[0].kind, ST_ENUM);
	assert_string_equal(v[0].name, "mood");
	assert_int_equal(v[0].nlabels, 3);
	assert_string_equal(v[0].labels[1], "it's fine");

	const struct ddl_stmt *t = &v[1];
	assert_int_equal(t->kind, ST_TABLE);
	assert_string_equal(t->table, "shops"); /* names are folded to lower case */
	assert_int_equal(t->ntcols, 8);
	assert_true(col(t, "shop_id")->serial);
	assert_true(col(t, "shop_id")->notnull);
	assert_int_equal(col(t, "name")->tclass, TC_TEXT);
	assert_true(col(t, "name")->notnull);
	assert_int_equal(col(t, "rating")->tclass, TC_NUMERIC);
	assert_false(col(t, "rating")->notnull);
	assert_int_equal(col(t, "open")->tclass, TC_BOOL);
	assert_string_equal(col(t, "open")->dflt, "TRUE");
	assert_int_equal(col(t, "opened_on")->tclass, TC_DATE);
	assert_int_equal(col(t, "seen_at")->tclass, TC_TIMESTAMP);
	assert_string_equal(col(t, "seen_at")->dflt, "NOW()");
	assert_int_equal(col(t, "feeling")->tclass, TC_ENUM);
	assert_int_equal(col(t, "note")->tclass, TC_TEXT);
	assert_string_equal(col(t, "note")->dflt, "");
	assert_non_null(strstr(col(t, "name")->def, "VARCHAR(255) NOT NULL"));
	assert_null(col(t, "missing"));

	assert_int_equal(v[2].kind, ST_INDEX);
	assert_true(v[2].unique);
	assert_string_equal(v[2].table, "shops");
	assert_int_equal(v[2].ncols, 1);
	assert_string_equal(v[2].cols[0], "name");

	assert_int_equal(v[3].kind, ST_INDEX);
	assert_false(v[3].unique);
	assert_int_equal(v[3].ncols, 2);
	assert_true(v[3].desc[0]);
	assert_false(v[3].desc[1]);

	assert_int_equal(v[4].kind, ST_UNIQUE);
	assert_int_equal(v[4].ncols, 2);
	assert_string_equal(v[4].cols[1], "opened_on");

	assert_int_equal(v[5].kind, ST_FKEY);
	assert_string_equal(v[5].table, "visits");
	assert_string_equal(v[5].cols[0], "shop_id");
	assert_string_equal(v[5].ref_table, "shops");
	assert_string_equal(v[5].ref_col, "shop_id");
	/* Each statement keeps its text, from its first word to its ';'. */
	assert_int_equal(strncmp(v[5].sql, "ALTER TABLE visits", 18), 0);
	assert_int_equal(v[5].sql[strlen(v[5].sql) - 1], ';');
	ddl_free(v, n);
}

static void
test_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
	        "DROP TABLE products;",
	        "CREATE VIEW v AS SELECT 1;",
	        "ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0);",
	        "CREATE TABLE t (a INTEGER)", /* no ';' */
	        "UPDATE t SET a = 1;",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ddl_stmt s;
		bool isbad = false;
		assert_null(ddl_parse(bad[i], &s, &isbad));
		if (!isbad)
			fail_msg("accepted: %s", bad[i]);
		struct ddl_stmt *v = NULL;
		int n = 0;
		assert_false(ddl_parse_all(bad[i], &v, &n));
		ddl_free(v, n);
	}
	/* The end of the input is not an error. */
	struct ddl_stmt s;
	bool isbad = true;
	assert_null(ddl_parse("  -- only a comment\n", &s, &isbad));
	assert_false(isbad);
}

static void
test_type_class(void **state)
{
	(void)state;
	assert_int_equal(ddl_type_class("SERIAL"), TC_INT);
	assert_int_equal(ddl_type_class("bigint"), TC_INT);
	assert_int_equal(ddl_type_class("VARCHAR"), TC_TEXT);
	assert_int_equal(ddl_type_class("Numeric"), TC_NUMERIC);
	assert_int_equal(ddl_type_class("timestamptz"), TC_TIMESTAMP);
	assert_int_equal(ddl_type_class("event_type"), TC_ENUM);
}

/* ---- schema/ against the table description ------------------------------ */

static struct ddl_stmt *all;
static int nall;

static int
load_schema(void **state)
{
	(void)state;
	for (int f = 0; f < schema_nfiles; f++)
		if (!ddl_parse_all(schema_files[f].sql, &all, &nall))
			return -1;
	return 0;
}

static int
free_schema(void **state)
{
	(void)state;
	ddl_free(all, nall);
	return 0;
}

static const struct ddl_stmt *
find(enum stmt_kind kind, const char *table)
{
	for (int i = 0; i < nall; i++)
		if (all[i].kind == kind && strcmp(all[i].table, table) == 0)
			return &all[i];
	return NULL;
}

static enum tclass
rule_class(enum rule r)
{
	switch (r) {
	case RULE_MONEY:
		return TC_NUMERIC;
	case RULE_INT:
		return TC_INT;
	case RULE_DATE:
		return TC_DATE;
	case RULE_TIMESTAMP:
		return TC_TIMESTAMP;
	case RULE_BOOL:
		return TC_BOOL;
	case RULE_LABEL:
		return TC_ENUM;
	default:
		return TC_TEXT;
	}
}

/* Whether an index or constraint of table covers exactly cols as unique. */
static bool
unique_on(const char *table, const char *const *cols, int n)
{
	for (int i = 0; i < nall; i++) {
		const struct ddl_stmt *s = &all[i];
		if (!s->unique || strcmp(s->table, table) != 0 || s->ncols != n)
			continue;
		bool same = true;
		for (int k = 0; k < n; k++)
			same &= strcmp(s->cols[k], cols[k]) == 0;
		if (same)
			return true;
	}
	return false;
}

static void
test_schema_agrees(void **state)
{
	(void)state;
	for (int k = 0; k < KIND_COUNT; k++) {
		const struct table_def *t = table_get((enum kind)k);
		const struct ddl_stmt *tab = find(ST_TABLE, t->table);
		if (tab == NULL)
			fail_msg("%s: no CREATE TABLE %s under schema/", t->name, t->table);
		const struct ddl_col *id = col(tab, t->id_column);
		if (id == NULL || !id->serial)
			fail_msg("%s: %s.%s is not a serial column", t->name, t->table,
			         t->id_column);
		for (int c = 0; c < t->ncols; c++) {
			const struct col_def *cd = &t->cols[c];
			const struct ddl_col *dc = col(tab, cd->db_column);
			if (dc == NULL)
				fail_msg("%s.%s: no column %s.%s", t->name, cd->name, t->table,
				         cd->db_column);
			enum tclass want = (cd->flags & COL_REF) ? TC_INT : rule_class(cd->rule);
			if (dc->tclass != want)
				fail_msg("%s.%s: %s.%s has type class %d, the rule needs %d",
				         t->name, cd->name, t->table, cd->db_column,
				         (int)dc->tclass, (int)want);
			if (cd->rule == RULE_LABEL) {
				/* The enum named in the column's definition has the labels. */
				const struct ddl_stmt *e = NULL;
				for (int i = 0; i < nall; i++)
					if (all[i].kind == ST_ENUM &&
					    strstr(dc->def, all[i].name) != NULL)
						e = &all[i];
				assert_non_null(e);
				assert_int_equal(e->nlabels, table_nlabels(cd));
				for (int l = 0; l < e->nlabels; l++)
					assert_string_equal(e->labels[l], cd->labels[l]);
			}
			if (cd->flags & COL_REF) {
				const struct table_def *rt = table_get(t->ref_kind);
				bool fk = false;
				for (int i = 0; i < nall; i++)
					fk |= all[i].kind == ST_FKEY &&
					      strcmp(all[i].table, t->table) == 0 &&
					      strcmp(all[i].cols[0], cd->db_column) == 0 &&
					      strcmp(all[i].ref_table, rt->table) == 0 &&
					      strcmp(all[i].ref_col, rt->id_column) == 0;
				if (!fk)
					fail_msg("%s.%s: no foreign key %s(%s) -> %s(%s)", t->name,
					         cd->name, t->table, cd->db_column, rt->table,
					         rt->id_column);
				assert_true(rt->nkey == 1);
				assert_true(t->ref_source >= 0 && t->ref_source < rt->ncols);
			}
		}
		if (t->nkey > 0) {
			const char *cols[2];
			for (int i = 0; i < t->nkey; i++)
				cols[i] = t->cols[t->key[i]].db_column;
			if (!unique_on(t->table, cols, t->nkey))
				fail_msg("%s: no unique index or constraint on its key %s", t->name,
				         table_key_name(t));
		}
		if (t->touch_on_update != NULL)
			assert_non_null(col(tab, t->touch_on_update));
		/* Every NOT NULL column without a default gets its value from the
		 * file, or no row could be inserted. */
		for (int i = 0; i < tab->ntcols; i++) {
			const struct ddl_col *dc = &tab->tcols[i];
			if (!dc->notnull || dc->serial || dc->dflt[0] != '\0')
				continue;
			bool filled = false;
			for (int c = 0; c < t->ncols; c++)
				filled |= strcmp(t->cols[c].db_column, dc->name) == 0;
			if (!filled)
				fail_msg("%s: %s.%s is NOT NULL without a default, and no column "
				         "fills it",
				         t->name, t->table, dc->name);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse),
	        cmocka_unit_test(test_refused),
	        cmocka_unit_test(test_type_class),
	        cmocka_unit_test_setup_teardown(test_schema_agrees, load_schema, free_schema),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
