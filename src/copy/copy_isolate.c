/*
 * copy_isolate.c — the outcome of a batch: which rows the server refused,
 * found by savepoint bisection, and the retries of deadlocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy_impl.h"
#include "db.h"
#include "error.h"

/* The row a COPY error names ("COPY x, line N"), 1-based, or 0. */
static long
copy_error_line(const PGresult *r)
{
	const char *ctx = PQresultErrorField(r, PG_DIAG_CONTEXT);
	for (const char *p = ctx; p != NULL && *p != '\0';) {
		if (strncmp(p, "COPY ", 5) == 0) {
			const char *l = strstr(p, ", line ");
			const char *eol = strchr(p, '\n');
			if (l != NULL && (eol == NULL || l < eol))
				return strtol(l + 7, NULL, 10);
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return 0;
}

static void
add_reject(struct copy_sink *s, int row, const char *reason)
{
	if (s->refused.n == s->refused.cap) {
		int cap = s->refused.cap ? s->refused.cap * 2 : 64;
		struct copy_reject *r = realloc(s->refused.rejects, (size_t)cap * sizeof *r);
		if (r == NULL) {
			s->refused.oom = true;
			return;
		}
		s->refused.rejects = r;
		s->refused.cap = cap;
	}
	s->refused.rejects[s->refused.n].row = row;
	s->refused.rejects[s->refused.n].reason = strdup(reason);
	s->refused.oom |= s->refused.rejects[s->refused.n].reason == NULL;
	s->refused.n++;
}

void
sink_refused_reset(struct sink_refused *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->rejects[i].reason);
	r->n = 0;
	r->oom = false;
}

void
sink_refused_free(struct sink_refused *r)
{
	sink_refused_reset(r);
	free(r->rejects);
}

/* Reads what the ON CONFLICT statement returned for nrows staged rows. */
void
sink_read_outcome(struct copy_sink *s, PGresult *r, int nrows, struct copy_outcome *out)
{
	int64_t conflicts = 0;
	bool per_row = s->plan->mode == CONFLICT_UPDATE && sink_has_non_key(s->plan);
	char why[640];
	for (int i = 0; i < PQntuples(r); i++) {
		int row = atoi(PQgetvalue(r, i, 0));
		if (row < 0 || row >= s->batch.n)
			continue;
		if (per_row) {
			char what = PQgetvalue(r, i, 1)[0];
			out->loaded += what == 'i';
			out->updated += what == 'u';
			out->skipped += what == 's'; /* already had the file's values */
			continue;
		}
		conflicts++;
		if (PQnfields(r) > 1 && PQgetvalue(r, i, 1)[0] == 't') {
			out->skipped++; /* the row holds the file's values already */
		} else if (s->plan->mode == CONFLICT_SKIP) {
			out->skipped++;
		} else {
			(void)snprintf(why, sizeof why,
			               "%s: %s already exists in the database (--on-conflict skip "
			               "keeps it, update replaces it)",
			               table_key_name(s->plan->t),
			               s->batch.keys.data + s->batch.key_off[row]);
			add_reject(s, row, why);
		}
	}
	if (!per_row)
		out->loaded += nrows - conflicts;
}

/* Rows [a, b) of the batch. */
struct range {
	int a, b, tries;
};

/* Savepoints kept per batch before their rows are put back in one: each
 * one that kept rows holds its transaction id's lock until the commit,
 * and a batch the server refuses thousands of rows of would otherwise
 * run out of the server's lock table (max_locks_per_transaction). */
#define KEEP_MAX 256

static void
add_counts(struct copy_outcome *to, const struct copy_outcome *from)
{
	to->loaded += from->loaded;
	to->updated += from->updated;
	to->skipped += from->skipped;
}

/* Forgets the rejects from index n on (those of a try rolled back). */
static void
drop_rejects(struct copy_sink *s, int n)
{
	for (int i = n; i < s->refused.n; i++)
		free(s->refused.rejects[i].reason);
	s->refused.n = n;
}

/* The batch's failure, with the server's message when it gave one;
 * clears r. */
static enum etl_code
fail_with(struct copy_sink *s, PGresult *r, struct etl_error *err)
{
	enum etl_code rc = db_error(
	        s->db.pg, PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? r : NULL, NULL, err);
	PQclear(r);
	return rc;
}

/* Room on the stack for need ranges. */
static bool
stack_room(struct range **stack, int *cap, int need)
{
	if (need <= *cap)
		return true;
	int ncap = *cap;
	while (ncap < need)
		ncap *= 2;
	struct range *m = realloc(*stack, sizeof *m * (size_t)ncap);
	if (m == NULL)
		return false;
	*stack = m;
	*cap = ncap;
	return true;
}

/* One try of the rows in ranges r[0..nr) (ascending): COPY them (and,
 * staged, run the INSERT), adding their outcomes to out.  Returns NULL on
 * success, else the failed result (the caller clears it); *bad is the row
 * the server named, or -1.  The staging table is emptied with TRUNCATE: a
 * DELETE leaves every try's dead rows for the next tries to scan. */
static PGresult *
attempt(struct copy_sink *s, const struct range *r, int nr, struct copy_outcome *out, int *bad,
        struct etl_error *err)
{
	*bad = -1;
	if (s->plan->staged) {
		PGresult *res = db_runf(s->db.pg, "TRUNCATE %s", s->plan->stage);
		if (res == NULL)
			return PQmakeEmptyPGresult(s->db.pg, PGRES_FATAL_ERROR);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return res;
		PQclear(res);
	}
	if (conn_copy_start(&s->db, s->plan->copy_sql.data, s->plan->binary, err) != ETL_OK)
		return PQmakeEmptyPGresult(s->db.pg, PGRES_FATAL_ERROR);
	int rows = 0;
	for (int i = 0; i < nr; i++) {
		size_t len = s->batch.off[r[i].b] - s->batch.off[r[i].a];
		if (conn_copy_send(&s->db, s->batch.data.data + s->batch.off[r[i].a], len, err) !=
		    ETL_OK)
			return PQmakeEmptyPGresult(s->db.pg, PGRES_FATAL_ERROR);
		rows += r[i].b - r[i].a;
	}
	PGresult *res = conn_copy_end(&s->db, NULL);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (res == NULL)
			return PQmakeEmptyPGresult(s->db.pg, PGRES_FATAL_ERROR);
		long line = copy_error_line(res);
		for (int i = 0; i < nr && line >= 1; i++) {
			if (line <= r[i].b - r[i].a)
				*bad = r[i].a + (int)line - 1;
			line -= r[i].b - r[i].a;
		}
		return res;
	}
	PQclear(res);
	if (!s->plan->staged) {
		out->loaded += rows;
		return NULL;
	}
	bool failed;
	res = sink_pw_staged(s, &failed, err);
	if (failed)
		return PQmakeEmptyPGresult(s->db.pg, PGRES_FATAL_ERROR);
	if (res != NULL)
		return res;
	conn_arm(&s->db);
	res = db_run(s->db.pg, s->plan->insert_sql.data);
	conn_disarm();
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return res;
	sink_read_outcome(s, res, rows, out);
	PQclear(res);
	return NULL;
}

/* For qsort: rejects in row order. */
static int
by_row(const void *x, const void *y)
{
	const struct copy_reject *a = x, *b = y;
	return (a->row > b->row) - (a->row < b->row);
}

/* The ranges that went in since the group's savepoint (etl_group), in
 * ascending order, adjacent ones joined. */
struct kept {
	struct range *r;
	int n, cap;
	int savepoints;          /* the savepoints that hold them */
	struct copy_outcome cur; /* their outcomes */
	int merges;              /* tries to put them back in one that failed */
};

static bool
keep(struct kept *k, struct range g)
{
	k->savepoints++;
	if (k->n > 0 && k->r[k->n - 1].b == g.a) {
		k->r[k->n - 1].b = g.b;
		return true;
	}
	if (k->n == k->cap) {
		int cap = k->cap ? k->cap * 2 : 64;
		struct range *m = realloc(k->r, sizeof *m * (size_t)cap);
		if (m == NULL)
			return false;
		k->r = m;
		k->cap = cap;
	}
	k->r[k->n++] = (struct range){g.a, g.b, 0};
	return true;
}

static bool
in_kept(const struct kept *k, int row)
{
	int lo = 0, hi = k->n;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (k->r[mid].b <= row)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < k->n && k->r[lo].a <= row;
}

/* Rolls the group's savepoints back and puts their rows back in one (the
 * same rows, in the same order, went in before), then starts the next
 * group: each group holds two transaction ids, whatever its ranges.  Their
 * outcomes are counted again; rows they rejected (a key that exists) are
 * rejected again.  When the server refuses them now (another session
 * changed the table meanwhile), they go back on the stack to be settled
 * again. */
static enum etl_code
merge_kept(struct copy_sink *s, struct kept *k, struct range **stack, int *top, int *cap,
           struct copy_outcome *out, struct etl_error *err)
{
	int w = 0;
	for (int i = 0; i < s->refused.n; i++) {
		if (in_kept(k, s->refused.rejects[i].row))
			free(s->refused.rejects[i].reason);
		else
			s->refused.rejects[w++] = s->refused.rejects[i];
	}
	s->refused.n = w;
	k->cur = (struct copy_outcome){0};
	if (conn_exec(&s->db, "ROLLBACK TO SAVEPOINT etl_group", err) != ETL_OK ||
	    conn_exec(&s->db, "SAVEPOINT etl_try", err) != ETL_OK)
		return err->code;
	int bad;
	int nrej_before = s->refused.n;
	struct copy_outcome part = {0};
	PGresult *r = attempt(s, k->r, k->n, &part, &bad, err);
	if (r == NULL) {
		add_counts(out, &part);
		k->n = 0;
		k->savepoints = 0;
		if (conn_exec(&s->db, "RELEASE SAVEPOINT etl_try", err) != ETL_OK ||
		    conn_exec(&s->db, "RELEASE SAVEPOINT etl_group", err) != ETL_OK)
			return err->code;
		return conn_exec(&s->db, "SAVEPOINT etl_group", err);
	}
	const char *state = db_sqlstate(r);
	if (!conn_refused(&s->db, r, true) || ++k->merges > RETRIES)
		return fail_with(s, r, err);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	verbosex_etl("%s: %d ranges of rows that went in were refused when put back in one (%s): "
	             "settling them again",
	             s->plan->t->table, k->n, msg != NULL ? msg : state);
	PQclear(r);
	drop_rejects(s, nrej_before);
	if (conn_exec(&s->db, "ROLLBACK TO SAVEPOINT etl_try", err) != ETL_OK)
		return err->code;
	if (!stack_room(stack, cap, *top + k->n))
		return error_oom(err, NULL, 0);
	for (int i = k->n - 1; i >= 0; i--)
		(*stack)[(*top)++] = k->r[i];
	k->n = 0;
	k->savepoints = 0;
	return ETL_OK;
}

/* Settles rows [0, n) in savepoints: a refused range is split (at the row
 * the server named, or in halves) until every refused row stands alone;
 * the ranges that went in are kept, put back in one every KEEP_MAX.  Past
 * a named row only about twice as many rows as went in before it are
 * tried at once (doubling while they go in): the server reads every row
 * of a COPY it refused, so trying the whole rest after each refused row
 * would send the batch once per refused row. */
enum etl_code
sink_isolate(struct copy_sink *s, struct copy_outcome *out, struct etl_error *err)
{
	struct range *stack = malloc(sizeof *stack * 64);
	struct kept k = {0};
	int top = 0, cap = 64;
	int window = s->batch.n; /* rows tried at once: shorter where refused rows are dense */
	enum etl_code rc = ETL_OK;
	char why[512];
	if (stack == NULL)
		return error_oom(err, NULL, 0);
	if (s->batch.n > 0)
		stack[top++] = (struct range){0, s->batch.n, 0};
	rc = conn_exec(&s->db, "SAVEPOINT etl_group", err);
	while (top > 0 && rc == ETL_OK) {
		if (k.savepoints >= KEEP_MAX) {
			rc = merge_kept(s, &k, &stack, &top, &cap, out, err);
			continue;
		}
		struct range g = stack[--top];
		if (g.b - g.a > window) { /* the rest waits for its turn */
			stack[top++] = (struct range){g.a + window, g.b, 0};
			g.b = g.a + window;
		}
		rc = conn_exec(&s->db, "SAVEPOINT etl_try", err);
		if (rc != ETL_OK)
			break;
		int bad;
		struct copy_outcome part = {0};
		int nrej_before = s->refused.n;
		PGresult *r = attempt(s, &g, 1, &part, &bad, err);
		if (r == NULL) {
			rc = conn_exec(&s->db, "RELEASE SAVEPOINT etl_try", err);
			add_counts(&k.cur, &part);
			if (rc == ETL_OK && !keep(&k, g))
				rc = error_oom(err, NULL, 0);
			window = window > s->batch.n / 2 ? s->batch.n : window * 2;
			continue;
		}
		const char *state = db_sqlstate(r);
		drop_rejects(s, nrej_before);
		if (!conn_refused(&s->db, r, true)) {
			rc = fail_with(s, r, err);
			break;
		}
		if (conn_exec(&s->db, "ROLLBACK TO SAVEPOINT etl_try", err) != ETL_OK) {
			PQclear(r);
			rc = ETL_EDB;
			break;
		}
		if (!stack_room(&stack, &cap, top + 3)) {
			PQclear(r);
			rc = error_oom(err, NULL, 0);
			break;
		}
		if (conn_retryable(state) && g.tries < RETRIES) {
			(void)usleep(20000u << g.tries);
			stack[top++] = (struct range){g.a, g.b, g.tries + 1};
		} else if (g.b - g.a == 1) {
			conn_reason(r, why, sizeof why);
			add_reject(s, g.a, why);
		} else if (bad >= g.a && bad < g.b) {
			/* The server named the row: before it all went in.  The
			 * next tries are about as long as that. */
			window = 2 * (bad - g.a) + 16;
			if (bad + 1 < g.b)
				stack[top++] = (struct range){bad + 1, g.b, 0};
			stack[top++] = (struct range){bad, bad + 1, 0};
			if (g.a < bad)
				stack[top++] = (struct range){g.a, bad, 0};
		} else {
			int mid = g.a + (g.b - g.a) / 2;
			stack[top++] = (struct range){mid, g.b, 0};
			stack[top++] = (struct range){g.a, mid, 0};
		}
		PQclear(r);
	}
	if (rc == ETL_OK)
		rc = conn_exec(&s->db, "RELEASE SAVEPOINT etl_group", err);
	add_counts(out, &k.cur);
	/* Rows rejected again by a merge came after the refused rows. */
	if (s->refused.n > 1)
		qsort(s->refused.rejects, (size_t)s->refused.n, sizeof *s->refused.rejects, by_row);
	free(stack);
	free(k.r);
	return rc;
}
