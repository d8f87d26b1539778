/*
 * check.c — keys, occurrences and findings of the pre-check report.
 */
#include "check.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encode.h"
#include "keyset.h"
#include "report.h"

#define MAX_SALE_PLACES 5  /* first lines kept per unknown SKU */
#define TEXT_PLACES     10 /* places printed per finding in the text report */

/* A further occurrence of a key: a list per key, newest first. */
struct occ {
	int64_t line;
	uint32_t file;
	uint32_t next; /* index + 1, 0 ends */
};

/* Maps a folded key's hash to the first key with that fold. */
struct foldtab {
	uint64_t *hash;
	uint32_t *idx;
	size_t cap, count;
};

struct kindkeys {
	const struct table_def *t;
	struct keyset *keys; /* exact key -> first place, count | extras head */
	struct foldtab fold;
	struct keyset *variant;    /* key index -> index of the first spelling (+1) */
	struct keyset *db;         /* key index -> DB values (arena offset), diff detail (+1) */
	struct keyset *db_variant; /* key index -> the database's spelling (arena offset) */
	unsigned char *known;      /* keyless kinds: per reference, the database has it */
	size_t known_cap;
};

struct check {
	char **files;
	int nfiles;
	/* Per kind: its keys, or for a kind without one (sales) the values of
	 * its reference column (SKUs): value -> first place, count | extras head. */
	struct kindkeys kinds[KIND_COUNT];
	struct occ *occ;
	size_t nocc, occ_cap;
	struct buf arena; /* DB values, details */
	bool *pass2;      /* per file */
	bool database_checked;
	char db_why[512];
	bool failed;
};

/* ---- places ------------------------------------------------------------- */

static int64_t
place(int file, long line)
{
	return ((int64_t)file << 47) | (int64_t)line;
}

static int
place_file(int64_t p)
{
	return (int)(p >> 47);
}

static long
place_line(int64_t p)
{
	return (long)(p & ((INT64_C(1) << 47) - 1));
}

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

/* The fold of a key: each text part trimmed of spaces and lowercased. */
static size_t
fold_key(const struct table_def *t, const char *key, size_t n, char *out, size_t size)
{
	size_t o = 0, i = 0;
	for (int k = 0; k < t->nkey; k++) {
		const struct col_def *c = &t->cols[t->key[k]];
		if (c->rule == RULE_DATE) {
			size_t len = n - i < sizeof(int64_t) ? n - i : sizeof(int64_t);
			if (o + len <= size) {
				memcpy(out + o, key + i, len);
				o += len;
			}
			i += len;
			continue;
		}
		size_t end = i;
		while (end < n && key[end] != '\0')
			end++;
		size_t a = i, b = end;
		while (a < b && (key[a] == ' ' || key[a] == '\t'))
			a++;
		while (b > a && (key[b - 1] == ' ' || key[b - 1] == '\t'))
			b--;
		for (size_t j = a; j < b && o < size; j++)
			out[o++] = (char)tolower((unsigned char)key[j]);
		i = end + 1;
		if (k + 1 < t->nkey && o < size)
			out[o++] = '\0';
	}
	return o;
}

/* The key as a plain value for reports ("BRD-001", "Nyepi+2024-03-11"). */
static size_t
key_value(const struct table_def *t, const char *key, size_t n, char *out, size_t size)
{
	size_t o = 0, i = 0;
	for (int k = 0; k < t->nkey && o + 1 < size; k++) {
		const struct col_def *c = &t->cols[t->key[k]];
		if (k > 0)
			out[o++] = '+';
		if (c->rule == RULE_DATE) {
			int64_t days = 0;
			if (n - i >= sizeof days)
				memcpy(&days, key + i, sizeof days);
			if (o + 11 < size)
				o += encode_date(out + o, days);
			i += sizeof days;
			continue;
		}
		while (i < n && key[i] != '\0' && o + 1 < size)
			out[o++] = key[i++];
		i++;
	}
	out[o] = '\0';
	return o;
}

static bool
fold_grow(struct foldtab *f)
{
	size_t cap = f->cap ? f->cap * 2 : 1024;
	uint64_t *h = calloc(cap, sizeof *h);
	uint32_t *x = calloc(cap, sizeof *x);
	if (h == NULL || x == NULL) {
		free(h);
		free(x);
		return false;
	}
	for (size_t i = 0; i < f->cap; i++) {
		if (f->idx[i] == 0)
			continue;
		size_t s = f->hash[i] & (cap - 1);
		while (x[s] != 0)
			s = (s + 1) & (cap - 1);
		h[s] = f->hash[i];
		x[s] = f->idx[i];
	}
	free(f->hash);
	free(f->idx);
	f->hash = h;
	f->idx = x;
	f->cap = cap;
	return true;
}

/* Finds the first key with this fold; inserts index when absent.
 * Returns that key's index + 1, or 0 when it was absent (now added). */
static uint32_t
fold_find(struct kindkeys *kk, const char *folded, size_t fn, size_t index, bool add, bool *failed)
{
	struct foldtab *f = &kk->fold;
	if ((f->count + 1) * 2 > f->cap && !fold_grow(f)) {
		*failed = true;
		return 0;
	}
	uint64_t h = keyset_hash(folded, fn);
	size_t s = h & (f->cap - 1);
	for (; f->idx[s] != 0; s = (s + 1) & (f->cap - 1)) {
		if (f->hash[s] != h)
			continue;
		const char *k;
		size_t n;
		int64_t *p;
		keyset_at(kk->keys, f->idx[s] - 1, &k, &n, &p);
		char buf[1024];
		size_t bn = fold_key(kk->t, k, n, buf, sizeof buf);
		if (bn == fn && memcmp(buf, folded, fn) == 0)
			return f->idx[s];
	}
	if (add) {
		f->hash[s] = h;
		f->idx[s] = (uint32_t)index + 1;
		f->count++;
	}
	return 0;
}

/* A small map from a key index to two numbers. */
static int64_t *
index_map(struct keyset **m, size_t index, bool add)
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
		free(kk->fold.hash);
		free(kk->fold.idx);
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

static enum etl_code
status(struct check *c, struct etl_error *err)
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
	size_t n = valid_key(t, row, key, sizeof key);
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
	size_t fn = fold_key(t, key, n, folded, sizeof folded);
	bool failed = false;
	uint32_t first = fold_find(kk, folded, fn, index, true, &failed);
	if (first != 0) {
		int64_t *v = index_map(&kk->variant, index, true);
		if (v == NULL)
			failed = true;
		else
			v[0] = first;
	}
	c->failed |= failed;
	return status(c, NULL);
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
	return status(c, NULL);
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

/* Builds the exact key of a database row from its key columns. */
static size_t
db_key(const struct table_def *t, char *const *values, const size_t *lens, char *key, size_t size)
{
	size_t n = 0;
	for (int k = 0; k < t->nkey; k++) {
		const struct col_def *c = &t->cols[t->key[k]];
		if (c->rule == RULE_DATE) {
			int64_t days = 0;
			if (lens[k] >= 10)
				days = valid_days_from_civil(atoi(values[k]),
				                             (unsigned)atoi(values[k] + 5),
				                             (unsigned)atoi(values[k] + 8));
			if (n + sizeof days <= size) {
				memcpy(key + n, &days, sizeof days);
				n += sizeof days;
			}
		} else {
			size_t len = lens[k] < size - n - 1 ? lens[k] : size - n - 1;
			memcpy(key + n, values[k], len);
			n += len;
		}
		if (k + 1 < t->nkey && n < size)
			key[n++] = '\0';
	}
	return n;
}

enum etl_code
check_db_row(struct check *c, const struct table_def *t, char *const *values, const size_t *lens)
{
	struct kindkeys *kk = &c->kinds[t->kind];
	char key[1024], folded[1024];
	size_t n = db_key(t, values, lens, key, sizeof key);
	size_t index;
	if (keyset_find_index(kk->keys, key, n, false, NULL, &index) != NULL) {
		/* The same key in the file(s): keep the row for the comparison. */
		int64_t *d = index_map(&kk->db, index, true);
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
		return status(c, NULL);
	}
	/* A spelling that differs only in case or spaces from a file's key. */
	size_t fn = fold_key(t, key, n, folded, sizeof folded);
	bool failed = false;
	uint32_t first = fold_find(kk, folded, fn, 0, false, &failed);
	if (first != 0) {
		int64_t *d = index_map(&kk->db_variant, first - 1, true);
		if (d == NULL) {
			c->failed = true;
		} else if (d[1] == 0) {
			char shown[512];
			key_value(t, key, n, shown, sizeof shown);
			d[0] = (int64_t)c->arena.len;
			d[1] = 1;
			buf_put(&c->arena, shown, strlen(shown) + 1);
		}
	}
	c->failed |= failed || c->arena.failed;
	return status(c, NULL);
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
	bool same = !b.failed && strlen(db) == b.len && memcmp(db, b.data, b.len) == 0;
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
		valid_show(out, size, db + 1, strlen(db + 1));
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
		valid_show(out, size, v->s, v->n);
		return;
	}
	struct buf b = {0};
	encode_value(&b, v, labels);
	if (quoted(cd))
		valid_show(out, size, b.data ? b.data : "", b.len);
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
	size_t n = valid_key(t, row, key, sizeof key);
	size_t index;
	int64_t *p = keyset_find_index(kk->keys, key, n, false, NULL, &index);
	if (p == NULL || p[0] != place(file, line))
		return ETL_OK;
	int64_t *d = index_map(&kk->db, index, false);
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
	if (dn == 0)
		(void)snprintf(detail, sizeof detail, "the same values as the database row");
	d[1] = (int64_t)c->arena.len + 1;
	buf_put(&c->arena, detail, strlen(detail) + 1);
	c->failed |= c->arena.failed;
	return status(c, NULL);
}

/* ---- findings ---------------------------------------------------------------- */

enum ftype { F_IN_FILE, F_CROSS_FILE, F_DATABASE, F_CASE_VARIANT, F_UNKNOWN_SKU, F_TYPES };
static const char *const type_names[F_TYPES] = {"in_file", "cross_file", "database", "case_variant",
                                                "unknown_sku"};

struct place_ref {
	int file;
	long line;
};

struct finding {
	enum kind kind;
	enum ftype type;
	int order; /* keeps first-occurrence order among equals */
	char *value;
	struct place_ref *places;
	int nplaces;
	char *detail;
};

struct findings {
	struct finding *v;
	int n, cap;
	bool failed;
};

static void
add_finding(struct findings *fs, enum kind k, enum ftype type, const char *value,
            const struct place_ref *places, int nplaces, const char *detail)
{
	if (fs->n == fs->cap) {
		int cap = fs->cap ? fs->cap * 2 : 64;
		struct finding *v = realloc(fs->v, (size_t)cap * sizeof *v);
		if (v == NULL) {
			fs->failed = true;
			return;
		}
		fs->v = v;
		fs->cap = cap;
	}
	struct finding *f = &fs->v[fs->n];
	f->order = fs->n;
	f->kind = k;
	f->type = type;
	f->value = strdup(value);
	f->detail = detail ? strdup(detail) : NULL;
	f->places = malloc((size_t)(nplaces > 0 ? nplaces : 1) * sizeof *f->places);
	f->nplaces = nplaces;
	if (f->value == NULL || f->places == NULL || (detail && f->detail == NULL)) {
		free(f->value);
		free(f->detail);
		free(f->places);
		fs->failed = true;
		return;
	}
	if (nplaces > 0)
		memcpy(f->places, places, (size_t)nplaces * sizeof *places);
	fs->n++;
}

/* All places of a key in file order (first, then the extras). */
static int
all_places(const struct check *c, const int64_t *p, struct place_ref **out, int *cap)
{
	uint32_t count = (uint32_t)(p[1] & 0xffffffff);
	if ((int)count > *cap) {
		struct place_ref *v = realloc(*out, count * sizeof *v);
		if (v == NULL)
			return -1;
		*out = v;
		*cap = (int)count;
	}
	int n = 0;
	(*out)[n++] = (struct place_ref){place_file(p[0]), place_line(p[0])};
	/* Extras are kept newest first: write them backwards. */
	int extras = 0;
	for (uint32_t h = (uint32_t)(p[1] >> 32); h != 0; h = c->occ[h - 1].next)
		extras++;
	int at = n + extras - 1;
	for (uint32_t h = (uint32_t)(p[1] >> 32); h != 0; h = c->occ[h - 1].next, at--)
		(*out)[at] = (struct place_ref){(int)c->occ[h - 1].file, (long)c->occ[h - 1].line};
	return n + extras;
}

static int
place_cmp(const void *a, const void *b)
{
	const struct place_ref *x = a, *y = b;
	if (x->file != y->file)
		return x->file - y->file;
	return (x->line > y->line) - (x->line < y->line);
}

static void
collect_keyed(struct check *c, enum kind k, struct findings *fs)
{
	struct kindkeys *kk = &c->kinds[k];
	const struct table_def *t = kk->t;
	struct place_ref *places = NULL;
	int cap = 0;
	size_t count = keyset_count(kk->keys);
	for (size_t i = 0; i < count && !fs->failed; i++) {
		const char *key;
		size_t n;
		int64_t *p;
		keyset_at(kk->keys, i, &key, &n, &p);
		char value[1024];
		key_value(t, key, n, value, sizeof value);
		int np = all_places(c, p, &places, &cap);
		if (np < 0) {
			fs->failed = true;
			break;
		}
		if (np > 1) {
			qsort(places, (size_t)np, sizeof *places, place_cmp);
			int files = 0;
			for (int a = 0; a < np;) {
				int b = a;
				while (b < np && places[b].file == places[a].file)
					b++;
				if (b - a > 1)
					add_finding(fs, k, F_IN_FILE, value, places + a, b - a,
					            NULL);
				files++;
				a = b;
			}
			if (files > 1)
				add_finding(fs, k, F_CROSS_FILE, value, places, np, NULL);
		}
		int64_t *d = index_map(&kk->db, i, false);
		if (d != NULL)
			add_finding(fs, k, F_DATABASE, value, places, np,
			            d[1] ? c->arena.data + d[1] - 1 : "exists in the database");
		int64_t *v = index_map(&kk->variant, i, false);
		if (v != NULL) {
			const char *okey;
			size_t on;
			int64_t *op;
			keyset_at(kk->keys, (size_t)v[0] - 1, &okey, &on, &op);
			char other[1024], shown[1100], detail[1400];
			key_value(t, okey, on, other, sizeof other);
			valid_show(shown, sizeof shown, other, strlen(other));
			(void)snprintf(detail, sizeof detail,
			               "differs only in letter case or surrounding spaces from %s "
			               "(%s:%ld)",
			               shown, c->files[place_file(op[0])], place_line(op[0]));
			struct place_ref two[2] = {{place_file(p[0]), place_line(p[0])},
			                           {place_file(op[0]), place_line(op[0])}};
			add_finding(fs, k, F_CASE_VARIANT, value, two, 2, detail);
		}
		int64_t *dv = index_map(&kk->db_variant, i, false);
		if (dv != NULL) {
			char shown[1100], detail[1400];
			const char *dbk = c->arena.data + dv[0];
			valid_show(shown, sizeof shown, dbk, strlen(dbk));
			(void)snprintf(
			        detail, sizeof detail,
			        "differs only in letter case or surrounding spaces from %s in the "
			        "database",
			        shown);
			struct place_ref one = {place_file(p[0]), place_line(p[0])};
			add_finding(fs, k, F_CASE_VARIANT, value, &one, 1, detail);
		}
	}
	free(places);
}

/* The references of keyless kind k that name no row (sales' unknown SKUs). */
static void
collect_refs(struct check *c, enum kind k, struct findings *fs)
{
	if (!c->database_checked)
		return; /* whether a SKU exists cannot be told without the database */
	struct kindkeys *kk = &c->kinds[k];
	struct keyset *targets = c->kinds[kk->t->ref_kind].keys;
	struct place_ref *places = NULL;
	int cap = 0;
	size_t count = keyset_count(kk->keys);
	for (size_t i = 0; i < count && !fs->failed; i++) {
		const char *sku;
		size_t n;
		int64_t *p;
		keyset_at(kk->keys, i, &sku, &n, &p);
		if ((i < kk->known_cap && kk->known[i]) ||
		    keyset_find(targets, sku, n, false, NULL))
			continue;
		int np = all_places(c, p, &places, &cap);
		if (np < 0) {
			fs->failed = true;
			break;
		}
		char value[512], detail[200];
		(void)snprintf(value, sizeof value, "%.*s", (int)n, sku);
		uint32_t rows = (uint32_t)(p[1] & 0xffffffff);
		(void)snprintf(
		        detail, sizeof detail,
		        "%u row%s; no product in the database or the run's products files has "
		        "this SKU",
		        rows, rows == 1 ? "" : "s");
		add_finding(fs, k, F_UNKNOWN_SKU, value, places, np, detail);
	}
	free(places);
}

static int
finding_cmp(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	if (x->type != y->type)
		return (int)x->type - (int)y->type;
	return x->order - y->order;
}

/* ---- output --------------------------------------------------------------------- */

static void
csv_field(FILE *out, const char *s, bool first)
{
	if (!first)
		(void)fputc(',', out);
	if (strpbrk(s, ",\"\r\n") == NULL && s[0] != ' ' &&
	    (s[0] == '\0' || s[strlen(s) - 1] != ' ')) {
		(void)fputs(s, out);
		return;
	}
	(void)fputc('"', out);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			(void)fputc('"', out);
		(void)fputc(*p, out);
	}
	(void)fputc('"', out);
}

static void
write_text(const struct check *c, FILE *out, const struct findings *fs)
{
	int totals[F_TYPES] = {0};
	(void)fprintf(out, "siprems-etl check: %d file%s; %s\n", c->nfiles,
	              c->nfiles == 1 ? "" : "s",
	              c->database_checked ? "checked against the database" : c->db_why);
	for (int k = 0; k < KIND_COUNT; k++) {
		bool present = false;
		for (int i = 0; i < fs->n; i++)
			present |= fs->v[i].kind == (enum kind)k;
		const struct table_def *t = table_get((enum kind)k);
		size_t keys = keyset_count(c->kinds[k].keys);
		if (keys == 0)
			continue;
		int nk = 0;
		for (int i = 0; i < fs->n; i++)
			nk += fs->v[i].kind == (enum kind)k;
		(void)fprintf(out, "\n%s (%s): %zu distinct key%s, %d finding%s\n", t->name,
		              table_key_name(t), keys, keys == 1 ? "" : "s", nk,
		              nk == 1 ? "" : "s");
		if (!present)
			continue;
		for (int i = 0; i < fs->n; i++) {
			const struct finding *f = &fs->v[i];
			if (f->kind != (enum kind)k)
				continue;
			totals[f->type]++;
			char shown[1100];
			valid_show(shown, sizeof shown, f->value, strlen(f->value));
			(void)fprintf(out, "  %-12s  %s  ", type_names[f->type], shown);
			for (int j = 0; j < f->nplaces && j < TEXT_PLACES; j++)
				(void)fprintf(out, "%s%s:%ld", j ? ", " : "",
				              c->files[f->places[j].file], f->places[j].line);
			if (f->nplaces > TEXT_PLACES)
				(void)fprintf(out, " and %d more", f->nplaces - TEXT_PLACES);
			if (f->detail != NULL)
				(void)fprintf(out, " — %s", f->detail);
			(void)fputc('\n', out);
		}
	}
	(void)fprintf(out, "\ntotal: %d finding%s", fs->n, fs->n == 1 ? "" : "s");
	const char *sep = " (";
	for (int t = 0; t < F_TYPES; t++) {
		if (totals[t] == 0)
			continue;
		(void)fprintf(out, "%s%d %s", sep, totals[t], type_names[t]);
		sep = ", ";
	}
	(void)fputs(fs->n ? ")\n" : "\n", out);
}

static void
write_csv(const struct check *c, FILE *out, const struct findings *fs)
{
	(void)fputs("kind,key,value,type,file,line,detail\n", out);
	for (int i = 0; i < fs->n; i++) {
		const struct finding *f = &fs->v[i];
		const struct table_def *t = table_get(f->kind);
		for (int j = 0; j < f->nplaces; j++) {
			char line[24];
			(void)snprintf(line, sizeof line, "%ld", f->places[j].line);
			csv_field(out, t->name, true);
			csv_field(out, table_key_name(t), false);
			csv_field(out, f->value, false);
			csv_field(out, type_names[f->type], false);
			csv_field(out, c->files[f->places[j].file], false);
			csv_field(out, line, false);
			csv_field(out, f->detail ? f->detail : "", false);
			(void)fputc('\n', out);
		}
	}
}

static void
write_json(const struct check *c, FILE *out, const struct findings *fs)
{
	(void)fprintf(out, "{\"database_checked\": %s, \"findings\": [",
	              c->database_checked ? "true" : "false");
	for (int i = 0; i < fs->n; i++) {
		const struct finding *f = &fs->v[i];
		const struct table_def *t = table_get(f->kind);
		(void)fputs(i ? ",\n  {\"kind\": " : "\n  {\"kind\": ", out);
		report_json_string(out, t->name);
		(void)fputs(", \"key\": ", out);
		report_json_string(out, table_key_name(t));
		(void)fputs(", \"value\": ", out);
		report_json_string(out, f->value);
		(void)fputs(", \"type\": ", out);
		report_json_string(out, type_names[f->type]);
		(void)fputs(", \"occurrences\": [", out);
		for (int j = 0; j < f->nplaces; j++) {
			(void)fputs(j ? ", {\"file\": " : "{\"file\": ", out);
			report_json_string(out, c->files[f->places[j].file]);
			(void)fprintf(out, ", \"line\": %ld}", f->places[j].line);
		}
		(void)fputs("], \"detail\": ", out);
		report_json_string(out, f->detail);
		(void)fputs("}", out);
	}
	(void)fputs(fs->n ? "\n]}\n" : "]}\n", out);
}

enum etl_code
check_report(struct check *c, FILE *out, enum check_format f, int *found, struct etl_error *err)
{
	struct findings fs = {0};
	enum etl_code rc = status(c, err);
	if (rc != ETL_OK)
		return rc;
	for (int k = 0; k < KIND_COUNT; k++) {
		if (table_get((enum kind)k)->nkey > 0)
			collect_keyed(c, (enum kind)k, &fs);
		else if (table_get((enum kind)k)->ref_col >= 0)
			collect_refs(c, (enum kind)k, &fs);
	}
	if (fs.failed) {
		rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
		goto out;
	}
	if (fs.n > 0)
		qsort(fs.v, (size_t)fs.n, sizeof *fs.v, finding_cmp);
	*found = fs.n;
	if (f == CHECK_JSON)
		write_json(c, out, &fs);
	else if (f == CHECK_CSV)
		write_csv(c, out, &fs);
	else
		write_text(c, out, &fs);
	if (fflush(out) != 0 || ferror(out))
		rc = error_set(err, ETL_ESYSTEM, NULL, 0, "cannot write the report");
out:
	for (int i = 0; i < fs.n; i++) {
		free(fs.v[i].value);
		free(fs.v[i].detail);
		free(fs.v[i].places);
	}
	free(fs.v);
	return rc;
}
