/*
 * check.c — the pre-check's decisions: the keys each table holds as the
 * run goes on, and what the load does with each row the intake passes.
 */
#include "check_impl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "encode.h"
#include "keyset.h"
#include "rowkey.h"
#include "text.h"

/* ---- lifecycle ----------------------------------------------------------- */

struct check *
check_new(const struct check_opts *o)
{
	struct check *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->o = *o;
	bool ok = (c->contents = keyset_new()) != NULL && (c->skus = keyset_new()) != NULL;
	for (int k = 0; k < KIND_COUNT && ok; k++)
		ok = (c->known[k] = keyset_new()) != NULL;
	if (!ok) {
		check_free(c);
		return NULL;
	}
	return c;
}

void
check_free(struct check *c)
{
	if (c == NULL)
		return;
	for (int k = 0; k < KIND_COUNT; k++)
		keyset_free(c->known[k]);
	keyset_free(c->contents);
	keyset_free(c->skus);
	for (int i = 0; i < c->nfiles; i++) {
		free(c->files[i].name);
		free(c->files[i].same_as);
		free(c->files[i].failed);
	}
	free(c->files);
	(void)keyset_charge(c->charged, 0);
	buf_free(&c->arena);
	buf_free(&c->kb);
	buf_free(&c->vb);
	free(c);
}

struct keyset *
check_skus(struct check *c)
{
	return c->skus;
}

struct keyset *
check_sku_refs(struct check *c)
{
	return c->database_checked ? c->skus : NULL;
}

void
check_keep_skus(struct check *c, bool keep)
{
	c->keep_skus = keep;
}

void
check_set_database(struct check *c, bool checked, const char *why)
{
	c->database_checked = checked;
	(void)snprintf(c->db_why, sizeof c->db_why, "%s", why ? why : "");
}

/* The values kept grow with the distinct keys: charged to the key memory
 * bound with the keys (past it, the check fails as out of memory). */
static void
charge_arena(struct check *c)
{
	if (c->arena.cap == c->charged)
		return;
	if (keyset_charge(c->charged, c->arena.cap))
		c->charged = c->arena.cap;
	else
		c->failed = true;
}

/* ---- long values ---------------------------------------------------------------- */

/* A text longer than this is kept as 'H' and its SHA-256: what check keeps
 * per row stays small, whatever the rows hold (a 2 MiB description). */
#define KEEP_WHOLE 64

/* 'H' and the SHA-256 of s (n bytes) in hex into out; false on failure. */
static bool
digest_hex(const char *s, size_t n, char out[2 * EVP_MAX_MD_SIZE + 2])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	if (EVP_Digest(s, n, md, &len, EVP_sha256(), NULL) != 1)
		return false;
	out[0] = 'H';
	for (unsigned i = 0; i < len; i++)
		(void)snprintf(out + 1 + 2 * i, 3, "%02x", md[i]);
	return true;
}

static void
keep_digest(struct check *c, const char *s, size_t n)
{
	char hex[2 * EVP_MAX_MD_SIZE + 2];
	if (!digest_hex(s, n, hex)) {
		c->failed = true;
		return;
	}
	buf_put(&c->arena, hex, strlen(hex));
}

/* Whether text s (n bytes) has the digest kept at kv ('H' + hex). */
static bool
same_digest(const char *s, size_t n, const char *kv)
{
	char hex[2 * EVP_MAX_MD_SIZE + 2];
	return digest_hex(s, n, hex) && strcmp(hex, kv) == 0;
}

/* ---- the database ------------------------------------------------------------- */

bool
check_compared(const struct col_def *c)
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
		if (check_compared(&t->cols[i]))
			cols[n++] = t->cols[i].db_column;
	return n;
}

enum etl_code
check_db_row(struct check *c, const struct table_def *t, char *const *values, const size_t *lens)
{
	if (!rowkey_of_db(t, values, lens, &c->kb)) {
		c->failed = true;
		return ETL_ESYSTEM;
	}
	bool added;
	int64_t *p = keyset_find(c->known[t->kind], c->kb.data, c->kb.len, true, &added);
	if (p == NULL) {
		c->failed = true;
		return ETL_ESYSTEM;
	}
	if (!added)
		return ETL_OK; /* (a key the table holds twice: a table without its index) */
	p[0] = (int64_t)c->arena.len + 1;
	p[1] = 0;
	const char *cols[TABLE_MAXCOLS + 2];
	int ncols = check_db_columns(t, cols, TABLE_MAXCOLS + 2);
	for (int i = t->nkey; i < ncols; i++) {
		if (values[i] != NULL && lens[i] > KEEP_WHOLE) {
			keep_digest(c, values[i], lens[i]);
		} else {
			buf_put(&c->arena, values[i] ? "V" : "N", 1);
			if (values[i] != NULL)
				buf_put(&c->arena, values[i], lens[i]);
		}
		buf_put(&c->arena, "", 1);
	}
	charge_arena(c);
	c->failed |= c->arena.failed;
	return c->failed ? ETL_ESYSTEM : ETL_OK;
}

/* ---- comparing values ----------------------------------------------------------- */

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
	if (v->type == V_MONEY) /* numerically (a NUMERIC of another scale), and exactly (a
	                           float column holds what the load sends: cents / 100) */
		return strtod(db, NULL) == (double)v->i / 100.0;
	if (v->type == V_ENUM) /* IS DISTINCT FROM: a varchar column compares case */
		return strcmp(db, labels[v->i]) == 0;
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

/*
 * A run row's values as the arena keeps them, per compared column: 'N'
 * NULL, 'E' and the value as the load encodes it, or for a column the file
 * does not have, what the table holds: the previous values' field (prev,
 * an update) or, for an insert, 'D' and the column's default.
 */
static void
keep_values(struct check *c, const struct table_def *t, const struct valid_row *row, size_t prev)
{
	/* prev is an offset in the arena (SIZE_MAX: none): the arena may move
	 * as it grows. */
	for (int i = 0; i < t->ncols; i++) {
		if (!check_compared(&t->cols[i]))
			continue;
		const struct value *v = &row->v[i];
		size_t was = prev;
		if (prev != SIZE_MAX)
			prev += strlen(c->arena.data + prev) + 1;
		if (v->type == V_ABSENT && was != SIZE_MAX) {
			size_t n = strlen(c->arena.data + was) + 1;
			if (buf_reserve(&c->arena, n))
				buf_put(&c->arena, c->arena.data + was, n);
			continue;
		}
		if (v->type == V_ABSENT) {
			const struct col_def *cd = &t->cols[i];
			bool dflt = cd->empty_rule == EMPTY_DEFAULT && cd->empty != NULL;
			buf_put(&c->arena, dflt ? "D" : "N", 1);
			if (dflt)
				buf_put(&c->arena, cd->empty, strlen(cd->empty));
		} else if (v->type == V_NULL) {
			buf_put(&c->arena, "N", 1);
		} else if (v->type == V_TEXT && v->n > KEEP_WHOLE) {
			keep_digest(c, v->s, v->n);
		} else {
			buf_put(&c->arena, "E", 1);
			encode_value(&c->arena, v, t->cols[i].labels);
		}
		buf_put(&c->arena, "", 1);
	}
}

/* Whether two texts say the same truth value or are equal ignoring case. */
static bool
same_default(const char *a, const char *b)
{
	static const char *const yes[] = {"t", "true", "1", "yes"}, *const no[] = {"f", "false",
	                                                                           "0", "no"};
	int ya = 0, yb = 0, na = 0, nb = 0;
	for (int i = 0; i < 4; i++) {
		ya |= strcasecmp(a, yes[i]) == 0, yb |= strcasecmp(b, yes[i]) == 0;
		na |= strcasecmp(a, no[i]) == 0, nb |= strcasecmp(b, no[i]) == 0;
	}
	return (ya && yb) || (na && nb) || strcasecmp(a, b) == 0;
}

/* Whether value v equals a kept field kv ('N', 'V' the database's text,
 * 'E' the load's encoding, 'D' a column's default). */
static bool
same_kept(struct check *c, const struct col_def *cd, const struct value *v, const char *kv)
{
	if (kv[0] == 'H')
		return v->type == V_TEXT && v->n > KEEP_WHOLE && same_digest(v->s, v->n, kv);
	if (kv[0] == 'N' || kv[0] == 'V')
		return same_value(v, kv, cd->labels);
	if (v->type == V_NULL)
		return false;
	c->vb.len = 0;
	encode_value(&c->vb, v, cd->labels);
	buf_put(&c->vb, "", 1);
	if (c->vb.failed)
		return false;
	if (kv[0] == 'D')
		return same_default(c->vb.data, kv + 1);
	return strcmp(c->vb.data, kv + 1) == 0;
}

/*
 * Whether row would change the stored row whose values are at kept (from
 * the database, or as a row of the run left it when run): into detail,
 * which columns differ.
 */
static bool
differs(struct check *c, const struct table_def *t, const struct valid_row *row, const char *kept,
        bool run, char *detail, size_t size)
{
	size_t dn = 0;
	detail[0] = '\0';
	bool any = false;
	for (int i = 0; i < t->ncols; i++) {
		const struct col_def *cd = &t->cols[i];
		const struct value *v = &row->v[i];
		if (cd->rule == RULE_PASSWORD && v->type == V_TEXT) {
			/* A plaintext password is hashed anew: always another hash. */
			any = true;
			dn += (size_t)snprintf(detail + dn, dn < size ? size - dn : 0,
			                       "%s%s is hashed anew", dn ? "; " : "", cd->name);
		}
		if (!check_compared(cd))
			continue;
		const char *kv = kept;
		kept += strlen(kept) + 1;
		if (v->type == V_ABSENT || same_kept(c, cd, v, kv))
			continue; /* not in the file (not set), or the same */
		any = true;
		char fv[160], dv[160];
		if (cd->rule == RULE_PWHASH) {
			dn += (size_t)snprintf(detail + dn, dn < size ? size - dn : 0,
			                       "%s%s differs", dn ? "; " : "", cd->name);
		} else {
			show_file(fv, sizeof fv, cd, v, cd->labels);
			if (kv[0] == 'D')
				(void)snprintf(dv, sizeof dv, "%s (its default)", kv + 1);
			else if (kv[0] == 'H')
				(void)snprintf(dv, sizeof dv, "another long text");
			else
				show_db(dv, sizeof dv, cd, kv);
			dn += (size_t)snprintf(detail + dn, dn < size ? size - dn : 0,
			                       "%s%s: %s in the file, %s %s", dn ? "; " : "",
			                       cd->name, fv, dv,
			                       run ? "before" : "in the database");
		}
		if (dn >= size)
			dn = size - 1;
	}
	return any;
}

/* ---- the files ---------------------------------------------------------------------- */

static struct check_file *
current(struct check *c)
{
	return c->nfiles > 0 ? &c->files[c->nfiles - 1] : NULL;
}

/* A new entry in the run's files (zeroed), or NULL out of memory. */
static struct check_file *
new_file(struct check *c)
{
	if (c->nfiles == c->cap) {
		int cap = c->cap ? c->cap * 2 : 16;
		struct check_file *f = realloc(c->files, (size_t)cap * sizeof *f);
		if (f == NULL) {
			c->failed = true;
			return NULL;
		}
		c->files = f;
		c->cap = cap;
	}
	return &c->files[c->nfiles++];
}

bool
check_begin_file(struct check *c, const char *name, const struct table_def *t, const char *content,
                 int64_t records)
{
	check_report_head(c);
	struct check_file *f = new_file(c);
	if (f == NULL)
		return false;
	*f = (struct check_file){.name = strdup(name), .t = t};
	c->failed |= f->name == NULL;
	if (content != NULL && content[0] != '\0') {
		char id[80];
		int n = snprintf(id, sizeof id, "%d:%s", (int)t->kind, content);
		bool fresh;
		int64_t *p = keyset_find(c->contents, id, (size_t)n, true, &fresh);
		if (p == NULL) {
			c->failed = true;
		} else if (fresh) {
			p[0] = c->nfiles;
		} else {
			/* Counted as the load counts it: the first copy's rows
			 * skipped, its rejects rejected (its reject file has them). */
			const struct check_file *first = &c->files[p[0] - 1];
			f->same_as = strdup(first->name);
			c->failed |= f->same_as == NULL;
			f->n[OUT_REJECT] = first->n[OUT_REJECT];
			f->n[OUT_SKIP] = records > (int64_t)first->n[OUT_REJECT]
			                         ? (uint64_t)records - first->n[OUT_REJECT]
			                         : 0;
			char why[600];
			(void)snprintf(
			        why, sizeof why,
			        "the whole file: the same content as %s, which this run loads "
			        "(a content loads once; its rejected rows are %s's)",
			        first->name, first->name);
			check_report_line(c, 0, OUT_SKIP, NULL, why);
			check_report_file(c, f);
			return false;
		}
	}
	return true;
}

void
check_failed_file(struct check *c, const char *name, const struct table_def *t, const char *why)
{
	check_report_head(c);
	struct check_file *f = new_file(c);
	if (f == NULL)
		return;
	*f = (struct check_file){.name = strdup(name), .t = t, .failed = strdup(why)};
	c->failed |= f->name == NULL || f->failed == NULL;
	check_report_file(c, f);
}

struct keyset *
check_known(struct check *c)
{
	struct check_file *f = current(c);
	return f != NULL ? c->known[f->t->kind] : NULL;
}

void
check_reject(void *ctx, long line, const char *reason)
{
	struct check *c = ctx;
	struct check_file *f = current(c);
	if (f == NULL)
		return;
	f->n[OUT_REJECT]++;
	check_report_line(c, line, OUT_REJECT, NULL, reason);
}

/* Whether the row sets a column beside its key (an update has something
 * to set). */
static bool
has_non_key(const struct table_def *t, const struct valid_row *row)
{
	for (int i = 0; i < t->ncols; i++)
		if (!(t->cols[i].flags & COL_KEY) && row->v[i].type != V_ABSENT)
			return true;
	return false;
}

/* A products row inserted or updated: sales files later in the run may
 * name it (its price for an empty price_per_unit). */
static void
note_sku(struct check *c, const struct table_def *t, const struct valid_row *row)
{
	const struct table_def *by = table_referrer(t->kind);
	if (by == NULL || !c->keep_skus || !c->database_checked)
		return; /* (without a database no sales row is judged by them) */
	const struct value *k = &row->v[t->key[0]];
	int64_t *v = keyset_find(c->skus, k->s, k->n, true, NULL);
	if (v == NULL)
		c->failed = true;
	else if (row->v[by->ref_source].type != V_ABSENT)
		v[1] = row->v[by->ref_source].i;
}

enum etl_code
check_row(struct check *c, long line, const struct valid_row *row)
{
	struct check_file *f = current(c);
	const struct table_def *t = f->t;
	if (t->nkey == 0) {
		f->n[OUT_INSERT]++;
		return ETL_OK;
	}
	if (!rowkey_of_row(t, row, &c->kb)) {
		c->failed = true;
		return ETL_ESYSTEM;
	}
	char shown[400], plain[400], why[2200], detail[1600];
	valid_show_key(t, row, shown, sizeof shown);
	rowkey_show(t, c->kb.data, c->kb.len, plain, sizeof plain);
	int64_t *p = keyset_find(c->known[t->kind], c->kb.data, c->kb.len, false, NULL);
	if (p == NULL) {
		int64_t *a = keyset_find(c->known[t->kind], c->kb.data, c->kb.len, true, NULL);
		if (a == NULL) {
			c->failed = true;
			return ETL_ESYSTEM;
		}
		a[0] = (int64_t)c->arena.len + 1;
		a[1] = ((int64_t)c->nfiles << 40) | line;
		keep_values(c, t, row, SIZE_MAX);
		note_sku(c, t, row);
		charge_arena(c);
		f->n[OUT_INSERT]++;
		return c->arena.failed || c->failed ? ETL_ESYSTEM : ETL_OK;
	}
	/* Where the stored row comes from: the database, or a file of the run. */
	char from[700] = "";
	if (p[1] != 0)
		(void)snprintf(from, sizeof from, " (as %s line %lld of this run leaves it)",
		               c->files[(p[1] >> 40) - 1].name,
		               (long long)(p[1] & ((INT64_C(1) << 40) - 1)));
	enum on_conflict mode = c->o.mode;
	if (mode == CONFLICT_UPDATE && !has_non_key(t, row))
		mode = CONFLICT_ERROR; /* nothing to update: the load rejects it */
	switch (mode) {
	case CONFLICT_ERROR:
		(void)snprintf(
		        why, sizeof why,
		        "%s: %s already exists in the database (--on-conflict skip keeps it, "
		        "update replaces it)%s",
		        table_key_name(t), shown, from);
		f->n[OUT_REJECT]++;
		check_report_line(c, line, OUT_REJECT, plain, why);
		break;
	case CONFLICT_SKIP:
		(void)snprintf(why, sizeof why,
		               "%s: %s exists in the database%s; --on-conflict skip",
		               table_key_name(t), shown, from);
		f->n[OUT_SKIP]++;
		check_report_line(c, line, OUT_SKIP, plain, why);
		break;
	case CONFLICT_UPDATE:
		if (differs(c, t, row, c->arena.data + p[0] - 1, p[1] != 0, detail,
		            sizeof detail)) {
			(void)snprintf(why, sizeof why, "%s: %s%s: %s", table_key_name(t), shown,
			               from, detail);
			f->n[OUT_UPDATE]++;
			check_report_line(c, line, OUT_UPDATE, plain, why);
			note_sku(c, t, row);
			/* The files after it meet the row as this one leaves it. */
			size_t was = (size_t)p[0] - 1;
			p[0] = (int64_t)c->arena.len + 1;
			p[1] = ((int64_t)c->nfiles << 40) | line;
			keep_values(c, t, row, was);
			charge_arena(c);
		} else {
			(void)snprintf(why, sizeof why, "%s: %s%s holds the file's values already",
			               table_key_name(t), shown, from);
			f->n[OUT_UNCHANGED]++;
			check_report_line(c, line, OUT_UNCHANGED, plain, why);
		}
		break;
	}
	return ETL_OK;
}

void
check_stopped(struct check *c, long line)
{
	struct check_file *f = current(c);
	if (f == NULL)
		return;
	f->stopped = true;
	check_report_line(c, line, OUT_STOP, NULL,
	                  "more rows rejected than --max-rejects allows: the file stops (exit 5), "
	                  "and the next run resumes after this line");
}

enum etl_code
check_end_file(struct check *c, const struct etl_error *failed)
{
	struct check_file *f = current(c);
	if (f == NULL)
		return ETL_OK;
	if (failed != NULL && f->failed == NULL) {
		f->failed = strdup(failed->msg);
		c->failed |= f->failed == NULL;
	}
	check_report_file(c, f);
	return c->failed ? ETL_ESYSTEM : ETL_OK;
}

enum etl_code
check_finish(struct check *c, uint64_t *rejects, struct etl_error *err)
{
	check_report_head(c);
	check_report_end(c);
	*rejects = 0;
	for (int i = 0; i < c->nfiles; i++)
		*rejects += c->files[i].n[OUT_REJECT];
	if (c->failed)
		return error_oom(err, NULL, 0);
	if (fflush(c->o.out) != 0 || ferror(c->o.out))
		return error_set(err, ETL_ESYSTEM, NULL, 0, "cannot write the report");
	return ETL_OK;
}
