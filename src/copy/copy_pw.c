/*
 * copy_pw.c — the plaintext passwords of a sink, hashed on every core and,
 * where the key decides whether a row goes in, only for the rows that do.
 *
 * A row's hash goes into the COPY stream as a placeholder of the hash's
 * length (every hash of a count is as long), and the password waits in a
 * list.  Before bytes go out, every waiting password among them is hashed,
 * by pwhash_many() on all cores, into the placeholder in place.  With
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
keys(struct copy_sink *s, struct buf *b, const char *prefix)
{
	const struct table_def *t = s->t;
	for (int k = 0; k < t->nkey; k++) {
		const struct col_def *c = &t->cols[t->key[k]];
		bool lower = (c->flags & COL_NOCASE) != 0;
		sql_printf(b, "%s%s%s%s%s", k ? ", " : "", lower ? "lower(" : "", prefix,
		           sink_q(s, c->db_column), lower ? ")" : "");
	}
}

void
sink_pw_setup(struct copy_sink *s)
{
	s->pw_col = -1;
	for (int i = 0; i < s->ncols && s->pw_col < 0; i++)
		if (s->t->cols[s->col[i]].rule == RULE_PASSWORD ||
		    (s->alt[i] >= 0 && s->t->cols[s->alt[i]].rule == RULE_PASSWORD))
			s->pw_col = i;
	s->pw_len = pwhash_len(0);
	memset(s->pw_hold, HOLD_CHAR, s->pw_len);
	s->pw_hold[s->pw_len] = '\0';
	s->pw_after_stage = s->pw_col >= 0 && s->staged && s->mode != CONFLICT_UPDATE;
	if (!s->pw_after_stage)
		return;
	const char *col = sink_q(s, s->t->cols[s->col[s->pw_col]].db_column);
	const char *tab = sink_q(s, s->t->table);
	/* Uncorrelated, as nocase_keys(): Citus plans it. */
	struct buf *b = &s->pw_check_sql;
	sql_printf(b, "SELECT etl_ord FROM %s WHERE %s = '%s' AND (", s->stage, col, s->pw_hold);
	keys(s, b, "");
	sql_str(b, ") NOT IN (SELECT ");
	keys(s, b, "");
	sql_printf(b, " FROM %s WHERE (", tab);
	keys(s, b, "");
	sql_str(b, ") IN (SELECT ");
	keys(s, b, "");
	sql_printf(b, " FROM %s))", s->stage);
	buf_put(b, "", 1);
	sql_printf(&s->pw_set_sql,
	           "UPDATE %s SET %s = v.h FROM unnest($1::int[], $2::text[]) AS v(o, h) WHERE "
	           "etl_ord = v.o",
	           s->stage, col);
	buf_put(&s->pw_set_sql, "", 1);
	if (s->pw_check_sql.failed || s->pw_set_sql.failed)
		s->oom = true;
}

enum etl_code
sink_pw_hold(struct copy_sink *s, struct buf *b, const char *pw, size_t n, int row,
             struct etl_error *err)
{
	if (s->binary)
		encode_bin_text(b, s->pw_hold, s->pw_len);
	else
		encode_text(b, s->pw_hold, s->pw_len);
	if (s->npw == s->cappw) {
		size_t cap = s->cappw ? s->cappw * 2 : 256;
		struct sink_pw *v = realloc(s->pw, cap * sizeof *v);
		if (v == NULL)
			return error_oom(err, NULL, 0);
		s->pw = v;
		s->cappw = cap;
	}
	s->pw[s->npw++] = (struct sink_pw){
	        .at = b->len - s->pw_len, .row = row, .text = s->pwtext.len, .n = n};
	buf_put(&s->pwtext, pw, n);
	if (b->failed || s->pwtext.failed)
		return error_oom(err, NULL, 0);
	return ETL_OK;
}

void
sink_pw_reset(struct copy_sink *s)
{
	s->npw = 0;
	s->pwtext.len = 0;
}

void
sink_pw_free(struct copy_sink *s)
{
	free(s->pw);
	buf_free(&s->pwtext);
	buf_free(&s->pw_check_sql);
	buf_free(&s->pw_set_sql);
}

/* Hashes the waiting passwords whose entries are marked in want (every one
 * when want is NULL) into the batch's bytes. */
static enum etl_code
hash_into_data(struct copy_sink *s, const bool *want, size_t *count, struct etl_error *err)
{
	*count = 0;
	struct pwhash_task *tasks = calloc(s->npw ? s->npw : 1, sizeof *tasks);
	if (tasks == NULL)
		return error_oom(err, NULL, 0);
	size_t n = 0;
	for (size_t i = 0; i < s->npw; i++) {
		if (s->pw[i].done || (want != NULL && !want[i]))
			continue;
		tasks[n++] = (struct pwhash_task){.pw = s->pwtext.data + s->pw[i].text,
		                                  .n = s->pw[i].n,
		                                  .out = s->batch.data.data + s->pw[i].at};
		s->pw[i].done = true;
	}
	enum etl_code rc = pwhash_many(tasks, n, 0, err);
	free(tasks);
	*count = n;
	s->pw_hashed += (int64_t)n;
	return rc;
}

/* Every kept password hashed into its place, unless the staging table
 * decides. */
static enum etl_code
before_send(struct copy_sink *s, struct etl_error *err)
{
	if (s->npw == 0 || (s->pw_after_stage && !s->fast))
		return ETL_OK;
	size_t n;
	enum etl_code rc = hash_into_data(s, NULL, &n, err);
	if (rc == ETL_OK)
		verbosex_etl("%s: %zu password%s hashed on %d core%s", s->t->table, n,
		             n == 1 ? "" : "s", pwhash_cores(), pwhash_cores() == 1 ? "" : "s");
	sink_pw_reset(s);
	return rc;
}

enum etl_code
sink_pw_send(struct copy_sink *s, size_t upto, struct etl_error *err)
{
	enum etl_code rc = before_send(s, err);
	return rc == ETL_OK ? batch_send(&s->batch, s->to, upto, err) : rc;
}

/* The entry of the batch's row (entries are in row order). */
static long
entry_of(const struct copy_sink *s, int row)
{
	size_t lo = 0, hi = s->npw;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->pw[mid].row < row)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->npw && s->pw[lo].row == row ? (long)lo : -1;
}

PGresult *
sink_pw_staged(struct copy_sink *s, bool *failed, struct etl_error *err)
{
	*failed = false;
	size_t waiting = 0;
	for (size_t i = 0; i < s->npw; i++)
		waiting += !s->pw[i].done;
	if (!s->pw_after_stage || waiting == 0)
		return NULL;
	PGresult *r = db_run(s->db.pg, s->pw_check_sql.data);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return r;
	bool *want = calloc(s->npw, sizeof *want);
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
	for (size_t i = 0, k = 0; i < s->npw; i++) {
		if (!want[i])
			continue;
		sql_printf(&ords, "%s%d", k ? "," : "", s->pw[i].row);
		if (k++)
			buf_put(&hashes, ",", 1);
		buf_put(&hashes, s->batch.data.data + s->pw[i].at, s->pw_len);
	}
	free(want);
	buf_put(&ords, "}", 2);
	buf_put(&hashes, "}", 2);
	verbosex_etl("%s: %zu password%s hashed on %d core%s; %zu not, the table has the key",
	             s->t->table, n, n == 1 ? "" : "s", pwhash_cores(),
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
		r = db_run_params(s->db.pg, s->pw_set_sql.data, 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			PQclear(r);
			r = NULL;
		}
	}
	buf_free(&ords);
	buf_free(&hashes);
	return r;
}
