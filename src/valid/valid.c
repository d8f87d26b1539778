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
valid_field(const struct validator *v, const struct table_def *t, int c, const char *s, size_t n,
            struct value *out, char *why, size_t wsize)
{
	if (s == NULL)
		memset(out, 0, sizeof *out); /* V_ABSENT */
	else if (!valid_value(v, &t->cols[c], s, n, out, why, wsize))
		return false;
	return v == NULL || !v->has_live || live_ok(&v->live[t->kind], t, c, out, why, wsize);
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
