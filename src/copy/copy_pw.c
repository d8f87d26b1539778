/*
 * copy_pw.c — the plaintext passwords of a sink, hashed on every core and,
 * where the key decides whether a row goes in, only for the rows that do.
 *
 * A row's hash goes into the COPY stream as a placeholder of the hash's
 * length (every hash of a count is as long), and the password waits in a
 * list.  Before bytes go out (copy.c calls sink_pw_before_send(), a hook:
 * the rows leave through copy.c), every waiting password among them is
 * hashed, by pwhash_many() on all cores, into the placeholder in place.  With
 * --on-conflict skip or error, though, a row whose key the table holds is
 * not inserted: there the placeholders go into the staging table, the
 * staging table says which rows have new keys, only those are hashed (into
 * the batch's bytes too, for the isolation of refused rows to send again),
 * and the INSERT leaves every row still holding a placeholder out: one the
 * table had the key of when it was asked, so it counts as skipped (or as a
 * repeated key) as the ON CONFLICT would have.  No placeholder reaches the
 * table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy_impl.h"
#include "db.h"
#include "pwhash.h"

/* Not a hash werkzeug can read (no '$'): no password ever matches it. */
#define HOLD_CHAR '!'

/* Appends the key columns, each as prefix.name, lower()ed where the key is
 * compared regardless of case. */
static void
keys(const struct sink_plan *p, struct buf *b, const char *prefix)
{
	const struct table_def *t = p->t;
	for (int k = 0; k < t->nkey; k++) {
		const struct col_def *c = &t->cols[t->key[k]];
		bool lower = (c->flags & COL_NOCASE) != 0;
		sql_printf(b, "%s%s%s%s%s", k ? ", " : "", lower ? "lower(" : "", prefix,
		           sink_quote(p, c->db_column), lower ? ")" : "");
	}
}

bool
sink_pw_setup(struct copy_sink *s)
{
	const struct sink_plan *p = s->plan;
	struct sink_pw *pw = &s->pw;
	pw->col = -1;
	for (int i = 0; i < p->ncols && pw->col < 0; i++)
		if (p->t->cols[p->col[i]].rule == RULE_PASSWORD ||
		    (p->alt[i] >= 0 && p->t->cols[p->alt[i]].rule == RULE_PASSWORD))
			pw->col = i;
	pw->len = pwhash_len(0);
	memset(pw->hold, HOLD_CHAR, pw->len);
	pw->hold[pw->len] = '\0';
	pw->after_stage = pw->col >= 0 && p->staged && p->mode != CONFLICT_UPDATE;
	if (!pw->after_stage)
		return true;
	const char *col = sink_quote(p, p->t->cols[p->col[pw->col]].db_column);
	const char *tab = sink_quote(p, p->t->table);
	/* Uncorrelated, as nocase_keys(): Citus plans it. */
	struct buf *b = &pw->check_sql;
	sql_printf(b, "SELECT etl_ord FROM %s WHERE %s = '%s' AND (", p->stage, col, pw->hold);
	keys(p, b, "");
	sql_str(b, ") NOT IN (SELECT ");
	keys(p, b, "");
	sql_printf(b, " FROM %s WHERE (", tab);
	keys(p, b, "");
	sql_str(b, ") IN (SELECT ");
	keys(p, b, "");
	sql_printf(b, " FROM %s))", p->stage);
	buf_put(b, "", 1);
	sql_printf(&pw->set_sql,
	           "UPDATE %s SET %s = v.h FROM unnest($1::int[], $2::text[]) AS v(o, h) WHERE "
	           "etl_ord = v.o",
	           p->stage, col);
	buf_put(&pw->set_sql, "", 1);
	return !pw->check_sql.failed && !pw->set_sql.failed;
}

enum etl_code
sink_pw_hold(struct copy_sink *s, struct buf *b, const char *pw, size_t n, int row,
             struct etl_error *err)
{
	if (s->plan->binary)
		encode_bin_text(b, s->pw.hold, s->pw.len);
	else
		encode_text(b, s->pw.hold, s->pw.len);
	if (s->pw.nkept == s->pw.capkept) {
		size_t cap = s->pw.capkept ? s->pw.capkept * 2 : 256;
		struct sink_pw_kept *v = realloc(s->pw.kept, cap * sizeof *v);
		if (v == NULL)
			return error_oom(err, NULL, 0);
		s->pw.kept = v;
		s->pw.capkept = cap;
	}
	s->pw.kept[s->pw.nkept++] = (struct sink_pw_kept){
	        .at = b->len - s->pw.len, .row = row, .text = s->pw.text.len, .n = n};
	buf_put(&s->pw.text, pw, n);
	if (b->failed || s->pw.text.failed)
		return error_oom(err, NULL, 0);
	return ETL_OK;
}

void
sink_pw_reset(struct sink_pw *pw)
{
	pw->nkept = 0;
	pw->text.len = 0;
}

void
sink_pw_free(struct sink_pw *pw)
{
	free(pw->kept);
	buf_free(&pw->text);
	buf_free(&pw->check_sql);
	buf_free(&pw->set_sql);
}

/* Hashes the waiting passwords whose entries are marked in want (every one
 * when want is NULL) into the batch's bytes. */
static enum etl_code
hash_into_data(struct copy_sink *s, const bool *want, size_t *count, struct etl_error *err)
{
	*count = 0;
	struct pwhash_task *tasks = calloc(s->pw.nkept ? s->pw.nkept : 1, sizeof *tasks);
	if (tasks == NULL)
		return error_oom(err, NULL, 0);
	size_t n = 0;
	for (size_t i = 0; i < s->pw.nkept; i++) {
		if (s->pw.kept[i].done || (want != NULL && !want[i]))
			continue;
		tasks[n++] = (struct pwhash_task){.pw = s->pw.text.data + s->pw.kept[i].text,
		                                  .n = s->pw.kept[i].n,
		                                  .out = s->batch.data.data + s->pw.kept[i].at};
		s->pw.kept[i].done = true;
	}
	enum etl_code rc = pwhash_many(tasks, n, 0, err);
	free(tasks);
	*count = n;
	s->pw.hashed += (int64_t)n;
	return rc;
}

enum etl_code
sink_pw_before_send(struct copy_sink *s, struct etl_error *err)
{
	if (s->pw.nkept == 0 || (s->pw.after_stage && !s->fast.on))
		return ETL_OK;
	size_t n;
	enum etl_code rc = hash_into_data(s, NULL, &n, err);
	if (rc == ETL_OK)
		verbosex_etl("%s: %zu password%s hashed on %d core%s", s->plan->t->table, n,
		             n == 1 ? "" : "s", pwhash_cores(), pwhash_cores() == 1 ? "" : "s");
	sink_pw_reset(&s->pw);
	return rc;
}

/* The entry of the batch's row (entries are in row order). */
static long
entry_of(const struct copy_sink *s, int row)
{
	size_t lo = 0, hi = s->pw.nkept;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->pw.kept[mid].row < row)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->pw.nkept && s->pw.kept[lo].row == row ? (long)lo : -1;
}

PGresult *
sink_pw_staged(struct copy_sink *s, bool *failed, struct etl_error *err)
{
	*failed = false;
	size_t waiting = 0;
	for (size_t i = 0; i < s->pw.nkept; i++)
		waiting += !s->pw.kept[i].done;
	if (!s->pw.after_stage || waiting == 0)
		return NULL;
	PGresult *r = db_run(s->db.pg, s->pw.check_sql.data);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return r;
	bool *want = calloc(s->pw.nkept, sizeof *want);
	if (want == NULL) {
		PQclear(r);
		*failed = true;
		(void)error_oom(err, NULL, 0);
		return NULL;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		long e = entry_of(s, atoi(PQgetvalue(r, i, 0)));
		if (e >= 0)
			want[e] = true;
	}
	PQclear(r);
	size_t n;
	if (hash_into_data(s, want, &n, err) != ETL_OK) {
		free(want);
		*failed = true;
		return NULL;
	}
	/* Their hashes into the staging table: "{ord,…}" and "{hash,…}" (a
	 * hash has no character an array literal quotes). */
	struct buf ords = {0}, hashes = {0};
	buf_put(&ords, "{", 1);
	buf_put(&hashes, "{", 1);
	for (size_t i = 0, k = 0; i < s->pw.nkept; i++) {
		if (!want[i])
			continue;
		sql_printf(&ords, "%s%d", k ? "," : "", s->pw.kept[i].row);
		if (k++)
			buf_put(&hashes, ",", 1);
		buf_put(&hashes, s->batch.data.data + s->pw.kept[i].at, s->pw.len);
	}
	free(want);
	buf_put(&ords, "}", 2);
	buf_put(&hashes, "}", 2);
	verbosex_etl("%s: %zu password%s hashed on %d core%s; %zu not, the table has the key",
	             s->plan->t->table, n, n == 1 ? "" : "s", pwhash_cores(),
	             pwhash_cores() == 1 ? "" : "s", waiting - n);
	if (ords.failed || hashes.failed) {
		buf_free(&ords);
		buf_free(&hashes);
		*failed = true;
		(void)error_oom(err, NULL, 0);
		return NULL;
	}
	r = NULL;
	if (n > 0) {
		const char *params[2] = {ords.data, hashes.data};
		r = db_run_params(s->db.pg, s->pw.set_sql.data, 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			PQclear(r);
			r = NULL;
		}
	}
	buf_free(&ords);
	buf_free(&hashes);
	return r;
}
