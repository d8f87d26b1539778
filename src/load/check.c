/*
 * check.c — keys, occurrences and findings of the pre-check report.
 */
#include "check_impl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encode.h"
#include "keyset.h"
#include "rowkey.h"
#include "report.h"
#include "text.h"

static uint32_t
add_occ(struct check *c, int file, long line, uint32_t next)
{
	if (c->nocc == c->occ_cap) {
		size_t cap = c->occ_cap ? c->occ_cap * 2 : 1024;
		struct occ *o = realloc(c->occ, cap * sizeof *o);
		if (o == NULL) {
			c->failed = true;
			return next;
		}
		c->occ = o;
		c->occ_cap = cap;
	}
	c->occ[c->nocc] = (struct occ){line, (uint32_t)file, next};
	return (uint32_t)++c->nocc;
}

/* payload[1]: count in the low 32 bits, the extras list head above. */
static void
note_again(struct check *c, int64_t *p, int file, long line, bool keep)
{
	uint32_t count = (uint32_t)(p[1] & 0xffffffff), head = (uint32_t)(p[1] >> 32);
	if (keep)
		head = add_occ(c, file, line, head);
	if (count < UINT32_MAX)
		count++;
	p[1] = ((int64_t)head << 32) | count;
}

/* ---- keys, their folds and how they are shown --------------------------- */

/* Finds the first key with this fold; with add, notes index as the first
 * when there is none.  Returns that key's index + 1, or 0 when it was
 * absent (now added). */
static uint32_t
fold_find(struct kindkeys *kk, const char *folded, size_t fn, size_t index, bool add, bool *failed)
{
	if (kk->folds == NULL && add && (kk->folds = keyset_new()) == NULL) {
		*failed = true;
		return 0;
	}
	bool added = false;
	int64_t *p = kk->folds ? keyset_find(kk->folds, folded, fn, add, &added) : NULL;
	if (p == NULL) {
		*failed |= add;
		return 0;
	}
	if (added) {
		p[0] = (int64_t)index + 1;
		return 0;
	}
	return (uint32_t)p[0];
}

/* A small map from a key index to two numbers. */
int64_t *
check_index_map(struct keyset **m, size_t index, bool add)
{
	if (*m == NULL) {
		if (!add)
			return NULL;
		*m = keyset_new();
		if (*m == NULL)
			return NULL;
	}
	uint32_t i = (uint32_t)index;
	return keyset_find(*m, &i, sizeof i, add, NULL);
}

/* ---- lifecycle ----------------------------------------------------------- */

struct check *
check_new(void)
{
	struct check *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	for (int k = 0; k < KIND_COUNT; k++) {
		c->kinds[k].t = table_get((enum kind)k);
		c->kinds[k].keys = keyset_new();
		if (c->kinds[k].keys == NULL) {
			check_free(c);
			return NULL;
		}
	}
	return c;
}

void
check_free(struct check *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	for (int k = 0; k < KIND_COUNT; k++) {
		struct kindkeys *kk = &c->kinds[k];
		keyset_free(kk->keys);
		keyset_free(kk->variant);
		keyset_free(kk->db);
		keyset_free(kk->db_variant);
		keyset_free(kk->folds);
		free(kk->known);
	}
	free(c->occ);
	free(c->pass2);
	buf_free(&c->arena);
	free(c);
}

int
check_file(struct check *c, const char *name)
{
	char **f = realloc(c->files, (size_t)(c->nfiles + 1) * sizeof *f);
	bool *p = realloc(c->pass2, (size_t)(c->nfiles + 1) * sizeof *p);
	if (f != NULL)
		c->files = f;
	if (p != NULL)
		c->pass2 = p;
	if (f == NULL || p == NULL || c->nfiles >= 30000) {
		c->failed = true;
		return 0;
	}
	c->files[c->nfiles] = strdup(name);
	c->pass2[c->nfiles] = false;
	if (c->files[c->nfiles] == NULL)
		c->failed = true;
	return c->nfiles++;
}

enum etl_code
check_status(struct check *c, struct etl_error *err)
{
	if (c->failed)
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	return ETL_OK;
}

/* ---- pass 1 ----------------------------------------------------------------- */

enum etl_code
check_key(struct check *c, const struct table_def *t, int file, long line,
          const struct valid_row *row)
{
	struct kindkeys *kk = &c->kinds[t->kind];
	char key[1024], folded[1024];
	size_t n = rowkey_of_row(t, row, key, sizeof key);
	bool added;
	size_t index;
	int64_t *p = keyset_find_index(kk->keys, key, n, true, &added, &index);
	if (p == NULL) {
		c->failed = true;
		return ETL_ESYSTEM;
	}
	if (!added) {
		note_again(c, p, file, line, true);
		return ETL_OK;
	}
	p[0] = place(file, line);
	p[1] = 1;
	size_t fn = rowkey_fold(t, key, n, folded, sizeof folded);
	bool failed = false;
	uint32_t first = fold_find(kk, folded, fn, index, true, &failed);
	if (first != 0) {
		int64_t *v = check_index_map(&kk->variant, index, true);
		if (v == NULL)
			failed = true;
		else
			v[0] = first;
	}
	c->failed |= failed;
	return check_status(c, NULL);
}

enum etl_code
check_ref(struct check *c, const struct table_def *t, int file, long line, const char *value,
          size_t n)
{
	bool added;
	size_t index;
	int64_t *p = keyset_find_index(c->kinds[t->kind].keys, value, n, true, &added, &index);
	if (p == NULL) {
		c->failed = true;
		return ETL_ESYSTEM;
	}
	if (added) {
		p[0] = place(file, line);
		p[1] = 1;
		return ETL_OK;
	}
	note_again(c, p, file, line, (p[1] & 0xffffffff) < MAX_SALE_PLACES);
	return check_status(c, NULL);
}

/* ---- the database ------------------------------------------------------------- */

/* The columns compared with the database: all the kind has but its key,
 * the plaintext password and a reference (a sales SKU). */
static bool
compared(const struct col_def *c)
{
	return !(c->flags & (COL_KEY | COL_REF)) && c->rule != RULE_PASSWORD;
}

int
check_db_columns(const struct table_def *t, const char **cols, int max)
{
	int n = 0;
	for (int k = 0; k < t->nkey && n < max; k++)
		cols[n++] = t->cols[t->key[k]].db_column;
	for (int i = 0; i < t->ncols && n < max; i++)
		if (compared(&t->cols[i]))
			cols[n++] = t->cols[i].db_column;
	return n;
}

enum etl_code
check_db_row(struct check *c, const struct table_def *t, char *const *values, const size_t *lens)
{
	struct kindkeys *kk = &c->kinds[t->kind];
	char key[1024], folded[1024];
	size_t n = rowkey_of_db(t, values, lens, key, sizeof key);
	size_t index;
	if (keyset_find_index(kk->keys, key, n, false, NULL, &index) != NULL) {
		/* The same key in the file(s): keep the row for the comparison. */
		int64_t *d = check_index_map(&kk->db, index, true);
		if (d == NULL)
			return error_set(NULL, ETL_ESYSTEM, NULL, 0, "out of memory");
		d[0] = (int64_t)c->arena.len;
		const char *cols[COLMAP_MAXCOLS + 2];
		int ncols = check_db_columns(t, cols, COLMAP_MAXCOLS + 2);
		for (int i = t->nkey; i < ncols; i++) {
			/* 'N' for NULL, else 'V' and the value. */
			buf_put(&c->arena, values[i] ? "V" : "N", 1);
			if (values[i] != NULL)
				buf_put(&c->arena, values[i], lens[i]);
			buf_put(&c->arena, "", 1);
		}
		int64_t *first;
		keyset_at(kk->keys, index, &(const char *){NULL}, &(size_t){0}, &first);
		c->pass2[place_file(first[0])] = true;
		c->failed |= c->arena.failed;
		return check_status(c, NULL);
	}
	/* A spelling that differs only in case or spaces from a file's key. */
	size_t fn = rowkey_fold(t, key, n, folded, sizeof folded);
	bool failed = false;
	uint32_t first = fold_find(kk, folded, fn, 0, false, &failed);
	if (first != 0) {
		int64_t *d = check_index_map(&kk->db_variant, first - 1, true);
		if (d == NULL) {
			c->failed = true;
		} else if (d[1] == 0) {
			char shown[512];
			rowkey_show(t, key, n, shown, sizeof shown);
			d[0] = (int64_t)c->arena.len;
			d[1] = 1;
			buf_put(&c->arena, shown, strlen(shown) + 1);
		}
	}
	c->failed |= failed || c->arena.failed;
	return check_status(c, NULL);
}

void
check_db_ref(struct check *c, const struct table_def *t, const char *value, size_t n)
{
	struct kindkeys *kk = &c->kinds[t->kind];
	size_t index;
	if (keyset_find_index(kk->keys, value, n, false, NULL, &index) == NULL)
		return;
	if (index >= kk->known_cap) {
		size_t cap = kk->known_cap ? kk->known_cap : 1024;
		while (cap <= index)
			cap *= 2;
		unsigned char *k = realloc(kk->known, cap);
		if (k == NULL) {
			c->failed = true;
			return;
		}
		memset(k + kk->known_cap, 0, cap - kk->known_cap);
		kk->known = k;
		kk->known_cap = cap;
	}
	kk->known[index] = 1;
}

void
check_set_database(struct check *c, bool checked, const char *why)
{
	c->database_checked = checked;
	(void)snprintf(c->db_why, sizeof c->db_why, "%s", why ? why : "");
}

bool
check_needs_pass2(const struct check *c, int file)
{
	return file < c->nfiles && c->pass2[file];
}

/* ---- pass 2: comparing values ----------------------------------------------- */

/* Whether a file value equals the database's ('N' for NULL, else 'V' and
 * the value as text). */
static bool
same_value(const struct value *v, const char *db, const char *const *labels)
{
	if (v->type == V_NULL || db[0] == 'N')
		return v->type == V_NULL && db[0] == 'N';
	db++;
	if (v->type == V_TEXT)
		return strlen(db) == v->n && memcmp(db, v->s, v->n) == 0;
	if (v->type == V_MONEY) /* numerically: an app's NUMERIC may have another scale */
		return (int64_t)(strtod(db, NULL) * 100 + (db[0] == '-' ? -0.5 : 0.5)) == v->i;
	if (v->type == V_ENUM)
		return strcasecmp(db, labels[v->i]) == 0;
	struct buf b = {0};
	encode_value(&b, v, labels);
	size_t dn = strlen(db);
	/* A date in a timestamp column (an ORM's event_date): its midnight. */
	if (v->type == V_DATE && dn == b.len + 9 && strcmp(db + b.len, " 00:00:00") == 0)
		dn = b.len;
	bool same = !b.failed && dn == b.len && memcmp(db, b.data, b.len) == 0;
	buf_free(&b);
	return same;
}

/* Text is shown quoted, numbers, dates and flags as they are. */
static bool
quoted(const struct col_def *cd)
{
	return cd->rule == RULE_TEXT || cd->rule == RULE_EMAIL || cd->rule == RULE_SKU ||
	       cd->rule == RULE_PWHASH;
}

/* A database value for messages. */
static void
show_db(char *out, size_t size, const struct col_def *cd, const char *db)
{
	if (db[0] == 'N')
		(void)snprintf(out, size, "NULL");
	else if (quoted(cd))
		text_show(out, size, db + 1, strlen(db + 1));
	else
		(void)snprintf(out, size, "%.60s", db + 1);
}

static void
show_file(char *out, size_t size, const struct col_def *cd, const struct value *v,
          const char *const labels[4])
{
	if (v->type == V_NULL) {
		(void)snprintf(out, size, "NULL");
		return;
	}
	if (v->type == V_TEXT) {
		text_show(out, size, v->s, v->n);
		return;
	}
	struct buf b = {0};
	encode_value(&b, v, labels);
	if (quoted(cd))
		text_show(out, size, b.data ? b.data : "", b.len);
	else
		(void)snprintf(out, size, "%.*s", (int)(b.len < 60 ? b.len : 60),
		               b.data ? b.data : "");
	buf_free(&b);
}

enum etl_code
check_compare(struct check *c, const struct table_def *t, int file, long line,
              const struct valid_row *row, const bool *ok)
{
	struct kindkeys *kk = &c->kinds[t->kind];
	char key[1024];
	size_t n = rowkey_of_row(t, row, key, sizeof key);
	size_t index;
	int64_t *p = keyset_find_index(kk->keys, key, n, false, NULL, &index);
	if (p == NULL || p[0] != place(file, line))
		return ETL_OK;
	int64_t *d = check_index_map(&kk->db, index, false);
	if (d == NULL || d[1] != 0)
		return ETL_OK;
	char detail[1600];
	size_t dn = 0;
	const char *db = c->arena.data + d[0];
	for (int i = 0; i < t->ncols; i++) {
		if (!compared(&t->cols[i]))
			continue;
		const char *dbv = db;
		db += strlen(db) + 1;
		const struct value *v = &row->v[i];
		if (v->type == V_ABSENT)
			continue; /* the file does not have the column */
		char fv[160], dv[160];
		if (!ok[i]) {
			show_db(dv, sizeof dv, &t->cols[i], dbv);
			dn += (size_t)snprintf(detail + dn,
			                       dn < sizeof detail ? sizeof detail - dn : 0,
			                       "%s%s: invalid in the file, %s in the database",
			                       dn ? "; " : "", t->cols[i].name, dv);
		} else if (!same_value(v, dbv, t->cols[i].labels)) {
			bool secret = t->cols[i].rule == RULE_PWHASH;
			show_file(fv, sizeof fv, &t->cols[i], v, t->cols[i].labels);
			show_db(dv, sizeof dv, &t->cols[i], dbv);
			if (secret)
				dn += (size_t)snprintf(
				        detail + dn, dn < sizeof detail ? sizeof detail - dn : 0,
				        "%s%s differs", dn ? "; " : "", t->cols[i].name);
			else
				dn += (size_t)snprintf(detail + dn,
				                       dn < sizeof detail ? sizeof detail - dn : 0,
				                       "%s%s: %s in the file, %s in the database",
				                       dn ? "; " : "", t->cols[i].name, fv, dv);
		}
		if (dn >= sizeof detail)
			dn = sizeof detail - 1;
	}
	if (dn == 0) {
		d[1] = CHECK_IDENTICAL; /* agreement is counted, not a finding */
		return ETL_OK;
	}
	d[1] = (int64_t)c->arena.len + 1;
	buf_put(&c->arena, detail, strlen(detail) + 1);
	c->failed |= c->arena.failed;
	return check_status(c, NULL);
}
