/*
 * check_report.c — the findings of a pre-check (duplicates in and across
 * files, keys the database has, case variants, unknown SKUs) and their
 * text, CSV and JSON reports.
 */
#include <stdlib.h>
#include <string.h>

#include "check_impl.h"
#include "csvout.h"
#include "report.h"
#include "rowkey.h"
#include "text.h"

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
	int64_t identical[KIND_COUNT]; /* rows equal to the database's: not findings */
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
		rowkey_show(t, key, n, value, sizeof value);
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
		int64_t *d = check_index_map(&kk->db, i, false);
		if (d != NULL && d[1] == CHECK_IDENTICAL)
			fs->identical[k]++;
		else if (d != NULL)
			add_finding(fs, k, F_DATABASE, value, places, np,
			            d[1] ? c->arena.data + d[1] - 1 : "exists in the database");
		int64_t *v = check_index_map(&kk->variant, i, false);
		if (v != NULL) {
			const char *okey;
			size_t on;
			int64_t *op;
			keyset_at(kk->keys, (size_t)v[0] - 1, &okey, &on, &op);
			char other[1024], shown[1100], detail[1400];
			rowkey_show(t, okey, on, other, sizeof other);
			text_show(shown, sizeof shown, other, strlen(other));
			(void)snprintf(detail, sizeof detail,
			               "differs only in letter case or surrounding spaces from %s "
			               "(%s:%ld)",
			               shown, c->files[place_file(op[0])], place_line(op[0]));
			struct place_ref two[2] = {{place_file(p[0]), place_line(p[0])},
			                           {place_file(op[0]), place_line(op[0])}};
			add_finding(fs, k, F_CASE_VARIANT, value, two, 2, detail);
		}
		int64_t *dv = check_index_map(&kk->db_variant, i, false);
		if (dv != NULL) {
			char shown[1100], detail[1400];
			const char *dbk = c->arena.data + dv[0];
			text_show(shown, sizeof shown, dbk, strlen(dbk));
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
		(void)fprintf(out, "\n%s (%s): %zu distinct key%s, %d finding%s", t->name,
		              table_key_name(t), keys, keys == 1 ? "" : "s", nk,
		              nk == 1 ? "" : "s");
		if (fs->identical[k] > 0)
			(void)fprintf(out, "; %lld already present, identical",
			              (long long)fs->identical[k]);
		(void)fputc('\n', out);
		if (!present)
			continue;
		for (int i = 0; i < fs->n; i++) {
			const struct finding *f = &fs->v[i];
			if (f->kind != (enum kind)k)
				continue;
			totals[f->type]++;
			char shown[1100];
			text_show(shown, sizeof shown, f->value, strlen(f->value));
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
	(void)fputs(fs->n ? ")" : "", out);
	int64_t same = 0;
	for (int k = 0; k < KIND_COUNT; k++)
		same += fs->identical[k];
	if (same > 0)
		(void)fprintf(out, "; %lld row%s already present, identical", (long long)same,
		              same == 1 ? "" : "s");
	(void)fputc('\n', out);
}

/* One line per occurrence; false when out of memory. */
static bool
write_csv(const struct check *c, FILE *out, const struct findings *fs)
{
	struct buf b = {0};
	(void)fputs("kind,key,value,type,file,line,detail\n", out);
	for (int i = 0; i < fs->n && !b.failed; i++) {
		const struct finding *f = &fs->v[i];
		const struct table_def *t = table_get(f->kind);
		for (int j = 0; j < f->nplaces && !b.failed; j++) {
			char line[24];
			(void)snprintf(line, sizeof line, "%ld", f->places[j].line);
			const char *fields[7] = {t->name,
			                         table_key_name(t),
			                         f->value,
			                         type_names[f->type],
			                         c->files[f->places[j].file],
			                         line,
			                         f->detail ? f->detail : ""};
			b.len = 0;
			for (int k = 0; k < 7; k++)
				csv_put_field(&b, fields[k], strlen(fields[k]), ',', k == 0);
			buf_put(&b, "\n", 1);
			if (!b.failed)
				(void)fwrite(b.data, 1, b.len, out);
		}
	}
	bool ok = !b.failed;
	buf_free(&b);
	return ok;
}

static void
write_json(const struct check *c, FILE *out, const struct findings *fs)
{
	(void)fprintf(out, "{\"database_checked\": %s, \"identical\": {",
	              c->database_checked ? "true" : "false");
	for (int k = 0, n = 0; k < KIND_COUNT; k++)
		if (fs->identical[k] > 0)
			(void)fprintf(out, "%s\"%s\": %lld", n++ ? ", " : "",
			              table_get((enum kind)k)->name, (long long)fs->identical[k]);
	(void)fputs("}, \"findings\": [", out);
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
	enum etl_code rc = check_status(c, err);
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
	else if (f == CHECK_TEXT)
		write_text(c, out, &fs);
	else if (!write_csv(c, out, &fs))
		rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
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
