/*
 * colmap.c — mapping header names to columns and recognising the kind.
 */
#include "colmap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

/* The name of header field i, trimmed of spaces and tabs. */
static void
trimmed(const struct csvrow_record *hdr, int i, const char **s, size_t *n)
{
	const char *p = hdr->fields[i];
	size_t len = hdr->lens[i];
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	*s = p;
	*n = len;
}

/* Whether a (mapped) header name is a field no column takes: an earlier
 * reject file's reject_line / reject_reason, or one --map ignores ("-"). */
static bool
skipped(const char *s, size_t n)
{
	return table_is_reject_column(s, n) || (n == 1 && s[0] == '-');
}

void
colmap_describe(const struct table_def *t, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	bool one_of = false;
	for (int pass = 0; pass < 2; pass++) {
		bool first = true;
		for (int i = 0; i < t->ncols; i++) {
			bool req = t->cols[i].flags & COL_REQUIRED;
			if (req != (pass == 0))
				continue;
			n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s%s",
			                      first && pass == 1 ? " (also: "
			                      : first            ? ""
			                                         : ", ",
			                      t->cols[i].name,
			                      t->cols[i].empty_rule == EMPTY_ONE_OF ? "*" : "");
			one_of |= t->cols[i].empty_rule == EMPTY_ONE_OF;
			first = false;
		}
		if (pass == 1 && !first)
			n += (size_t)snprintf(buf + n, n < size ? size - n : 0, ")");
	}
	if (one_of)
		(void)snprintf(buf + n, n < size ? size - n : 0, "; *one of the two");
}

/*
 * The kind a header that fits none was probably meant for: the one that
 * knows the most of its column names, when that is a single kind knowing at
 * least two of them; or NULL.
 */
static const struct table_def *
closest(const struct csvrow_record *hdr)
{
	const struct table_def *best = NULL;
	int best_known = 1;
	bool tie = false;
	for (int k = 0; k < KIND_COUNT; k++) {
		const struct table_def *t = table_get((enum kind)k);
		int known = 0;
		for (int i = 0; i < hdr->nfields; i++) {
			const char *s;
			size_t n;
			trimmed(hdr, i, &s, &n);
			known += !skipped(s, n) && table_col_index(t, s, n) >= 0;
		}
		if (known > best_known) {
			best = t, best_known = known, tie = false;
		} else if (known == best_known && best) {
			tie = true;
		}
	}
	return tie ? NULL : best;
}

/* Whether header fits kind t: why is set to the first problem otherwise. */
static bool
fits(const struct table_def *t, const struct csvrow_record *hdr, char *why, size_t wsize)
{
	bool seen[TABLE_MAXCOLS] = {false};
	why[0] = '\0';
	for (int i = 0; i < hdr->nfields; i++) {
		const char *s;
		size_t n;
		trimmed(hdr, i, &s, &n);
		if (skipped(s, n))
			continue;
		int c = table_col_index(t, s, n);
		if (c < 0) {
			char shown[128];
			text_show(shown, sizeof shown, s, n);
			/* The --map to write, with the name as is when it is plain. */
			char plain[64] = "NAME";
			bool ok = n < sizeof plain;
			for (size_t k = 0; k < n && ok; k++)
				ok = s[k] > ' ' && s[k] < 0x7f && s[k] != '"' && s[k] != '\'' &&
				     s[k] != '=';
			if (ok)
				(void)snprintf(plain, sizeof plain, "%.*s", (int)n, s);
			(void)snprintf(why, wsize,
			               "unknown column %s (--map %s=COLUMN reads it as a column, "
			               "--map %s=- ignores it)",
			               shown, plain, plain);
			return false;
		}
		seen[c] = true;
	}
	bool one_of = false, has_one_of = false;
	for (int c = 0; c < t->ncols; c++) {
		if (t->cols[c].empty_rule == EMPTY_ONE_OF) {
			has_one_of = true;
			one_of |= seen[c];
		}
		if ((t->cols[c].flags & COL_REQUIRED) && !seen[c]) {
			(void)snprintf(why, wsize, "missing required column %s", t->cols[c].name);
			return false;
		}
	}
	if (has_one_of && !one_of) {
		(void)snprintf(why, wsize, "missing column password_hash or password");
		return false;
	}
	return true;
}

/*
 * The header as the columns read it: each field renamed by --map (the
 * names point into cm or hdr), into fields/lens of hdr->nfields entries.
 */
static void
mapped(const struct csvrow_record *hdr, const struct colmap_opts *cm, char **fields, size_t *lens,
       struct csvrow_record *out)
{
	*out = *hdr;
	out->fields = fields;
	out->lens = lens;
	for (int i = 0; i < hdr->nfields; i++) {
		const char *s;
		size_t n;
		trimmed(hdr, i, &s, &n);
		fields[i] = (char *)s;
		lens[i] = n;
		/* The last --map of a name wins (the command line's over a profile's). */
		for (int k = cm ? cm->nmap - 1 : -1; k >= 0; k--) {
			if (strlen(cm->map[k].src) == n && strncasecmp(cm->map[k].src, s, n) == 0) {
				fields[i] = (char *)cm->map[k].dst;
				lens[i] = strlen(cm->map[k].dst);
				break;
			}
		}
	}
}

/* The kind of the file into *kind: the one forced, or the only one the
 * header fits; otherwise an error that says what to change. */
static enum etl_code
recognise(enum kind forced, const struct csvrow_record *hdr, const char *file,
          const struct table_def **kind, struct etl_error *err)
{
	char why[256], cols[256];
	const struct table_def *t = NULL;
	if (forced != KIND_NONE) {
		t = table_get(forced);
		if (!fits(t, hdr, why, sizeof why)) {
			colmap_describe(t, cols, sizeof cols);
			return error_set(err, ETL_EINPUT, file, hdr->line,
			                 "%s; %s files have the columns %s", why, t->name, cols);
		}
	} else {
		int nfit = 0;
		const struct table_def *fit[KIND_COUNT];
		for (int k = 0; k < KIND_COUNT; k++)
			if (fits(table_get((enum kind)k), hdr, why, sizeof why))
				fit[nfit++] = table_get((enum kind)k);
		if (nfit == 1) {
			t = fit[0];
		} else if (nfit > 1) {
			return error_set(err, ETL_EINPUT, file, hdr->line,
			                 "the header fits both %s and %s files; name the kind, as "
			                 "in %s=%s",
			                 fit[0]->name, fit[1]->name, fit[0]->name, file);
		} else if ((t = closest(hdr)) != NULL) {
			(void)fits(t, hdr, why, sizeof why);
			colmap_describe(t, cols, sizeof cols);
			return error_set(
			        err, ETL_EINPUT, file, hdr->line,
			        "the header looks like a %s file, but: %s; %s files have the "
			        "columns %s",
			        t->name, why, t->name, cols);
		} else {
			char all[1200];
			size_t n = 0;
			for (int k = 0; k < KIND_COUNT; k++) {
				colmap_describe(table_get((enum kind)k), cols, sizeof cols);
				n += (size_t)snprintf(all + n, n < sizeof all ? sizeof all - n : 0,
				                      "%s%s: %s", k ? "; " : "",
				                      table_get((enum kind)k)->name, cols);
			}
			const char *hint = "";
			if (hdr->nfields == 1 && hdr->lens[0] > 0) {
				if (memchr(hdr->fields[0], ';', hdr->lens[0]))
					hint = " (the header is one field holding ';': try "
					       "--delimiter ';')";
				else if (memchr(hdr->fields[0], '\t', hdr->lens[0]))
					hint = " (the header is one field holding tabs: try "
					       "--delimiter '\\t')";
				else if (memchr(hdr->fields[0], '|', hdr->lens[0]))
					hint = " (the header is one field holding '|': try "
					       "--delimiter '|')";
			}
			return error_set(
			        err, ETL_EINPUT, file, hdr->line,
			        "cannot tell the kind of file from its header%s; expected the "
			        "columns of %s; a file with names of its own is read with --map "
			        "NAME=COLUMN, one without a header with --columns",
			        hint, all);
		}
	}
	*kind = t;
	return ETL_OK;
}

/* colmap_build() on the header hdr as the columns read it (file_hdr as
 * written). */
static enum etl_code
build(struct colmap *m, enum kind forced, const struct csvrow_record *file_hdr,
      const struct csvrow_record *hdr, const char *file, struct etl_error *err)
{
	for (int i = 0; i < hdr->nfields; i++) {
		const char *s;
		size_t n;
		trimmed(hdr, i, &s, &n);
		if (n == 0)
			return error_set(err, ETL_EINPUT, file, hdr->line,
			                 "header field %d has no name", i + 1);
		for (int j = 0; j < i && !(n == 1 && s[0] == '-'); j++) {
			const char *s2;
			size_t n2;
			trimmed(hdr, j, &s2, &n2);
			if (n == n2 && strncasecmp(s, s2, n) == 0) {
				char shown[128];
				text_show(shown, sizeof shown, s, n);
				return error_set(err, ETL_EINPUT, file, hdr->line,
				                 "column %s appears twice (fields %d and %d)",
				                 shown, j + 1, i + 1);
			}
		}
	}

	const struct table_def *t = NULL;
	enum etl_code rc = recognise(forced, hdr, file, &t, err);
	if (rc != ETL_OK)
		return rc;
	m->t = t;
	m->nfields = hdr->nfields;
	m->field_col = calloc((size_t)hdr->nfields, sizeof *m->field_col);
	m->names = calloc((size_t)hdr->nfields, sizeof *m->names);
	if (m->field_col == NULL || m->names == NULL)
		return error_oom(err, file, 0);
	for (int c = 0; c < TABLE_MAXCOLS; c++)
		m->col_field[c] = -1;
	for (int i = 0; i < hdr->nfields; i++) {
		const char *s;
		size_t n;
		trimmed(hdr, i, &s, &n);
		m->names[i] = strndup(file_hdr->fields[i], file_hdr->lens[i]);
		if (m->names[i] == NULL)
			return error_oom(err, file, 0);
		m->field_col[i] = skipped(s, n) ? -1 : table_col_index(t, s, n);
		if (m->field_col[i] >= 0)
			m->col_field[m->field_col[i]] = i;
	}
	bool secret_kind = false;
	for (int c = 0; c < t->ncols; c++)
		secret_kind |= (t->cols[c].flags & COL_SECRET) != 0;
	for (int i = 0; i < hdr->nfields && secret_kind; i++) {
		const char *s;
		size_t n;
		trimmed(file_hdr, i, &s, &n);
		int named = table_col_index(t, s, n);
		int c = m->field_col[i];
		m->hide_rows |= (c >= 0 && (t->cols[c].flags & COL_SECRET)) ||
		                (named >= 0 && (t->cols[named].flags & COL_SECRET)) ||
		                (c < 0 && !table_is_reject_column(s, n));
	}
	return ETL_OK;
}

enum etl_code
colmap_build(struct colmap *m, enum kind forced, const struct csvrow_record *hdr,
             const struct colmap_opts *cm, const char *file, struct etl_error *err)
{
	memset(m, 0, sizeof *m);
	if (hdr->error != NULL)
		return error_set(err, ETL_EINPUT, file, hdr->line, "malformed header: %s",
		                 hdr->error);
	size_t nf = hdr->nfields > 0 ? (size_t)hdr->nfields : 1;
	char **fields = calloc(nf, sizeof *fields);
	size_t *lens = calloc(nf, sizeof *lens);
	enum etl_code rc;
	if (fields == NULL || lens == NULL) {
		rc = error_oom(err, file, 0);
	} else {
		struct csvrow_record eff;
		mapped(hdr, cm, fields, lens, &eff);
		rc = build(m, forced, hdr, &eff, file, err);
	}
	free(fields);
	free(lens);
	return rc;
}

void
colmap_free(struct colmap *m)
{
	if (m == NULL)
		return;
	for (int i = 0; m->names != NULL && i < m->nfields; i++)
		free(m->names[i]);
	free(m->names);
	free(m->field_col);
	memset(m, 0, sizeof *m);
}
