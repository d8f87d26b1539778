/*
 * valid.c — the validation rules of docs/formats.md.
 */
#include "valid_impl.h"

#include <ctype.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "calendar.h"
#include "tzfile.h"
#include "text.h"

/* ---- helpers ------------------------------------------------------------ */

/* Set while a row of a file that may hold a plaintext password where
 * its header does not say is validated (colmap.hide_rows): its reasons
 * quote no value.  Per thread: --jobs validates on several. */
static _Thread_local bool hide_values;

/* Formats a reason "VALUE rest…" into why. */
bool
valid_reason(char *why, size_t wsize, const char *s, size_t n, const char *fmt, ...)
{
	char shown[128];
	if (hide_values)
		(void)snprintf(shown, sizeof shown, "(a value not shown: the file has passwords)");
	else
		text_show(shown, sizeof shown, s, n);
	int k = snprintf(why, wsize, "%s ", shown);
	va_list ap;
	va_start(ap, fmt);
	if (k >= 0 && (size_t)k < wsize)
		(void)vsnprintf(why + k, wsize - (size_t)k, fmt, ap);
	va_end(ap);
	return false;
}

/* Appends "column: reason" to the row's reasons. */
static void
add_problem(char *why, size_t wsize, size_t *used, const char *col, const char *r)
{
	if (*used >= wsize)
		return;
	int k = snprintf(why + *used, wsize - *used, "%s%s%s%s", *used ? "; " : "", col,
	                 col[0] ? ": " : "", r);
	if (k > 0)
		*used += (size_t)k;
	if (*used >= wsize)
		*used = wsize;
}

/* A record of the wrong shape is rejected whole. */
static bool
shape_ok(const struct colmap *m, const struct csvrow_record *rec, char *why, size_t wsize)
{
	if (rec->error != NULL) {
		(void)snprintf(why, wsize, "malformed CSV: %s", rec->error);
		return false;
	}
	if (rec->nfields != m->nfields) {
		(void)snprintf(why, wsize, "the row has %d field%s, the header %d", rec->nfields,
		               rec->nfields == 1 ? "" : "s", m->nfields);
		return false;
	}
	return true;
}

/* Whether value val of column c of t fits the live table lt (its
 * varchar limit, NOT NULL, a real column's precision); else why. */
static bool
live_ok(const struct live_table *lt, const struct table_def *t, int c, const struct value *val,
        char *why, size_t wsize)
{
	const struct live_col *lc = &lt->cols[c];
	const struct col_def *cd = &t->cols[c];
	size_t chars = 0;
	if (lc->typname[0] == '\0')
		return true;
	if (val->type == V_TEXT && lc->max_chars > 0 && !(cd->flags & COL_SECRET) &&
	    text_utf8(val->s, val->n, &chars, NULL) && chars > (size_t)lc->max_chars)
		return valid_reason(why, wsize, val->s, val->n,
		                    "is longer than %d characters, the limit of %s.%s",
		                    lc->max_chars, t->table, cd->db_column);
	if ((val->type == V_NULL || val->type == V_ABSENT) && lc->required &&
	    cd->empty_rule == EMPTY_NULL) {
		(void)snprintf(why, wsize, "is %s, but %s.%s is NOT NULL",
		               val->type == V_NULL ? "empty" : "missing from the file", t->table,
		               cd->db_column);
		return false;
	}
	if (val->type == V_MONEY && strcmp(lc->typname, "float4") == 0) {
		char text[32];
		(void)snprintf(text, sizeof text, "%lld.%02lld", (long long)(val->i / 100),
		               (long long)(val->i % 100));
		float f = strtof(text, NULL);
		if ((int64_t)((double)f * 100.0 + 0.5) != val->i)
			return valid_reason(why, wsize, text, strlen(text),
			                    "cannot be stored to the cent in %s.%s (real)",
			                    t->table, cd->db_column);
	}
	return true;
}

bool
valid_row(const struct validator *v, const struct colmap *m, const struct csvrow_record *rec,
          struct keyset *skus, struct valid_row *out, char *why, size_t wsize)
{
	const struct table_def *t = m->t;
	size_t used = 0;
	char r[384];
	why[0] = '\0';
	hide_values = m->hide_rows;

	if (!shape_ok(m, rec, why, wsize))
		return false;
	int64_t *product = NULL;
	int one_of = 0, one_of_cols = 0;
	for (int c = 0; c < t->ncols; c++) {
		const struct col_def *cd = &t->cols[c];
		struct value *val = &out->v[c];
		int f = m->col_field[c];
		if (f < 0)
			memset(val, 0, sizeof *val); /* V_ABSENT */
		if (f >= 0 && !valid_value(v, cd, rec->fields[f], rec->lens[f], val, r, sizeof r)) {
			add_problem(why, wsize, &used, cd->name, r);
			continue;
		}
		if (v != NULL && v->has_live &&
		    !live_ok(&v->live[t->kind], t, c, val, r, sizeof r)) {
			add_problem(why, wsize, &used, cd->name, r);
			continue;
		}
		if (f < 0)
			continue;
		if (cd->empty_rule == EMPTY_ONE_OF) {
			one_of_cols++;
			one_of += val->type != V_NULL;
		}
		if ((cd->flags & COL_REF) && skus != NULL) {
			product = keyset_find(skus, val->s, val->n, false, NULL);
			if (product == NULL) {
				(void)valid_reason(r, sizeof r, val->s, val->n,
				                   "is not a known product");
				add_problem(why, wsize, &used, cd->name, r);
			}
		}
		if (cd->flags & COL_REF) {
			val->type = V_INT; /* the product id; the SKU stays in s, n */
			val->i = product ? product[0] : 0;
		}
	}
	if (one_of_cols > 0 && one_of != 1)
		add_problem(why, wsize, &used, "password_hash/password",
		            one_of == 0 ? "one of the two is required"
		                        : "give one of the two, not both");
	if (used > 0)
		return false;
	/* An empty (or missing) price_per_unit takes the product's price. */
	for (int c = 0; c < t->ncols; c++)
		if (t->cols[c].empty_rule == EMPTY_REF &&
		    (out->v[c].type == V_NULL || out->v[c].type == V_ABSENT) && product != NULL) {
			out->v[c].type = V_MONEY;
			out->v[c].i = product[1];
		}
	return true;
}

void
valid_show_key(const struct table_def *t, const struct valid_row *row, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int k = 0; k < t->nkey && n < size; k++) {
		const struct value *v = &row->v[t->key[k]];
		char part[160];
		if (v->type == V_DATE) {
			int y, m, d;
			calendar_civil_from_days(v->i, &y, &m, &d);
			(void)snprintf(part, sizeof part, "%04d-%02d-%02d", y, m, d);
		} else {
			text_show(part, sizeof part, v->s, v->n);
		}
		n += (size_t)snprintf(buf + n, size - n, "%s%s", k ? "+" : "", part);
	}
}

bool
valid_row_keys(const struct validator *v, const struct colmap *m, const struct csvrow_record *rec,
               struct valid_row *out, char *why, size_t wsize)
{
	const struct table_def *t = m->t;
	size_t used = 0;
	char r[384];
	why[0] = '\0';
	if (!shape_ok(m, rec, why, wsize))
		return false;
	for (int c = 0; c < t->ncols; c++) {
		const struct col_def *cd = &t->cols[c];
		int f = m->col_field[c];
		memset(&out->v[c], 0, sizeof out->v[c]);
		if (f < 0 || !(cd->flags & (COL_KEY | COL_REF)))
			continue;
		if (!valid_value(v, cd, rec->fields[f], rec->lens[f], &out->v[c], r, sizeof r))
			add_problem(why, wsize, &used, cd->name, r);
	}
	return used == 0;
}

void
valid_columns(const struct validator *v, const struct colmap *m, const struct csvrow_record *rec,
              struct valid_row *out, bool *ok)
{
	const struct table_def *t = m->t;
	char r[384];
	bool shaped = rec->error == NULL && rec->nfields == m->nfields;
	for (int c = 0; c < t->ncols; c++) {
		int f = m->col_field[c];
		memset(&out->v[c], 0, sizeof out->v[c]);
		ok[c] = false;
		if (f < 0 || !shaped) {
			ok[c] = f < 0; /* absent is fine: not compared */
			continue;
		}
		ok[c] = valid_value(v, &t->cols[c], rec->fields[f], rec->lens[f], &out->v[c], r,
		                    sizeof r);
	}
}

/* ---- set-up -------------------------------------------------------------- */

/* Takes the file's formats: the date patterns compiled, the symbols kept. */
static enum etl_code
set_formats(struct validator *v, const struct valid_formats *f, struct etl_error *err)
{
	if (f->ndate_formats > VALID_MAXFORMATS)
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "--date-format: at most %d patterns may be given",
		                 VALID_MAXFORMATS);
	for (int i = 0; i < f->ndate_formats; i++)
		if (datefmt_compile(&v->fmt[i], f->date_formats[i], err) != ETL_OK)
			return ETL_EUSAGE;
	v->nfmt = f->ndate_formats;
	v->decimal_comma = f->decimal_comma;
	if (f->currency != NULL) {
		v->ncurrency = strlen(f->currency);
		bool digit = false;
		for (size_t i = 0; i < v->ncurrency; i++)
			digit |= isdigit((unsigned char)f->currency[i]) || f->currency[i] == '-' ||
			         f->currency[i] == '.' || f->currency[i] == ',' ||
			         f->currency[i] == ' ';
		if (v->ncurrency == 0 || v->ncurrency >= sizeof v->currency || digit)
			return error_set(err, ETL_EUSAGE, NULL, 0,
			                 "--currency: \"%s\" is not a symbol (1 to 15 bytes, no "
			                 "digit, sign, '.', ',' or space)",
			                 f->currency);
		memcpy(v->currency, f->currency, v->ncurrency);
	}
	if (f->null != NULL) {
		v->nnull = strlen(f->null);
		if (v->nnull == 0 || v->nnull >= sizeof v->null)
			return error_set(err, ETL_EUSAGE, NULL, 0,
			                 "--null: \"%s\" must be 1 to 63 bytes (an empty field is "
			                 "empty already)",
			                 f->null);
		memcpy(v->null, f->null, v->nnull);
	}
	return ETL_OK;
}

enum etl_code
valid_open(struct validator **out, const struct valid_opts *o, struct etl_error *err)
{
	struct validator *v = calloc(1, sizeof *v);
	*out = NULL;
	if (v == NULL)
		return error_oom(err, NULL, 0);
	if (o->sku_pattern != NULL) {
		int rc = regcomp(&v->re, o->sku_pattern, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char msg[256];
			(void)regerror(rc, &v->re, msg, sizeof msg);
			free(v);
			return error_set(err, ETL_EUSAGE, NULL, 0, "--sku-pattern: %s", msg);
		}
		v->has_re = true;
	}
	enum etl_code rc = set_formats(v, &o->fmt, err);
	if (rc != ETL_OK) {
		valid_close(v);
		return rc;
	}
	v->allow_future = o->allow_future;
	v->fixed_today = o->fixed_today;
	v->today = o->today;
	rc = valid_set_zone(v, o->timezone ? o->timezone : "UTC", err);
	if (rc != ETL_OK) {
		valid_close(v);
		return rc;
	}
	*out = v;
	return ETL_OK;
}

enum etl_code
valid_set_zone(struct validator *v, const char *zone_name, struct etl_error *err)
{
	struct tz *zone = NULL;
	enum etl_code rc = tz_open(&zone, zone_name, err);
	if (rc != ETL_OK)
		return rc;
	tz_close(v->zone);
	v->zone = zone;
	v->utc = tz_is_utc(v->zone);
	int32_t today = v->today;
	if (!v->fixed_today) {
		/* Today in the zone. */
		int64_t now = (int64_t)time(NULL);
		int64_t local = now + tz_offset(v->zone, now) - UNIX_2000;
		today = (int32_t)(local >= 0 ? local / 86400 : -((-local + 86399) / 86400));
	}
	v->max_date = today + 1;
	return ETL_OK;
}

void
valid_close(struct validator *v)
{
	if (v == NULL)
		return;
	if (v->has_re)
		regfree(&v->re);
	tz_close(v->zone);
	free(v);
}

int32_t
valid_max_date(const struct validator *v)
{
	return v->max_date;
}

void
valid_set_live(struct validator *v, const struct live_table *live)
{
	memcpy(v->live, live, sizeof v->live);
	/* A varchar limit the guide's rule already enforces costs a second
	 * count of every value's characters for nothing: keep only those
	 * below the guide's. */
	for (int k = 0; k < KIND_COUNT; k++) {
		const struct table_def *t = table_get((enum kind)k);
		for (int c = 0; c < t->ncols; c++) {
			struct live_col *lc = &v->live[k].cols[c];
			if (t->cols[c].max_chars > 0 && lc->max_chars >= t->cols[c].max_chars)
				lc->max_chars = 0;
		}
	}
	v->has_live = true;
}
