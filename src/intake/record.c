/*
 * record.c — one record checked as a row of its kind (record.h).
 */
#include "record.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

bool
record_check(const struct validator *v, const struct colmap *m, const struct csvrow_record *rec,
             struct keyset *skus, struct valid_row *out, char *why, size_t wsize)
{
	const struct table_def *t = m->t;
	size_t used = 0;
	char r[384];
	why[0] = '\0';
	valid_hide_values(m->hide_rows);

	if (!shape_ok(m, rec, why, wsize))
		return false;
	int64_t *product = NULL;
	int one_of = 0, one_of_cols = 0;
	for (int c = 0; c < t->ncols; c++) {
		const struct col_def *cd = &t->cols[c];
		struct value *val = &out->v[c];
		int f = m->col_field[c];
		if (!valid_field(v, t, c, f >= 0 ? rec->fields[f] : NULL, f >= 0 ? rec->lens[f] : 0,
		                 val, r, sizeof r)) {
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
