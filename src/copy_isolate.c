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
#include "signals.h"

/* Row-level errors reject rows; anything else stops the batch.  A sequence
 * that ran out (2200H) is the database's problem, not the row's: rejecting
 * every later row would only move the file into its reject file. */
bool
sink_row_level(const char *sqlstate)
{
	if (strcmp(sqlstate, "2200H") == 0)
		return false;
	return strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0 ||
	       strncmp(sqlstate, "P0", 2) == 0 || strncmp(sqlstate, "44", 2) == 0;
}

bool
sink_retryable(const char *sqlstate)
{
	return strncmp(sqlstate, "40", 2) == 0; /* deadlock, serialization */
}

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
	if (s->nrej == s->rejcap) {
		int cap = s->rejcap ? s->rejcap * 2 : 64;
		struct copy_reject *r = realloc(s->rejects, (size_t)cap * sizeof *r);
		if (r == NULL) {
			s->oom = true;
			return;
		}
		s->rejects = r;
		s->rejcap = cap;
	}
	s->rejects[s->nrej].row = row;
	s->rejects[s->nrej].reason = strdup(reason);
	s->oom |= s->rejects[s->nrej].reason == NULL;
	s->nrej++;
}

/* The reason a refused row gets: the server's message and detail. */
void
sink_server_reason(const PGresult *r, char *buf, size_t size)
{
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
	(void)snprintf(buf, size, "the database refused the row: %s%s%.300s%s",
	               msg ? msg : "unknown error", detail ? " (" : "", detail ? detail : "",
	               detail ? ")" : "");
}

/* Reads what the ON CONFLICT statement returned for nrows staged rows. */
void
sink_read_outcome(struct copy_sink *s, PGresult *r, int nrows, struct copy_outcome *out)
{
	int64_t conflicts = 0;
	bool per_row = s->mode == CONFLICT_UPDATE && sink_has_non_key(s);
	char why[640];
	for (int i = 0; i < PQntuples(r); i++) {
		int row = atoi(PQgetvalue(r, i, 0));
		if (row < 0 || row >= s->n)
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
		} else if (s->mode == CONFLICT_SKIP) {
			out->skipped++;
		} else {
			(void)snprintf(why, sizeof why,
			               "%s: %s already exists in the database (--on-conflict skip "
			               "keeps it, update replaces it)",
			               table_key_name(s->t), s->keys.data + s->key_off[row]);
			add_reject(s, row, why);
		}
	}
	if (!per_row)
		out->loaded += nrows - conflicts;
}

/* One try of rows [a, b): COPY them (and, staged, run the INSERT), adding
 * their outcomes to out.  Returns NULL on success, else the failed result
 * (the caller clears it); *line is the failed row's position (1-based) in
 * the COPY when the server said. */
static PGresult *
attempt(struct copy_sink *s, int a, int b, struct copy_outcome *out, long *line,
        struct etl_error *err)
{
	*line = 0;
	if (s->staged) {
		char sql[96];
		(void)snprintf(sql, sizeof sql, "DELETE FROM %s", s->stage);
		PGresult *r = db_run(s->conn, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			return r;
		PQclear(r);
	}
	if (sink_start_copy(s, err) != ETL_OK)
		return PQmakeEmptyPGresult(s->conn, PGRES_FATAL_ERROR);
	if (PQputCopyData(s->conn, s->data.data + s->off[a], (int)(s->off[b] - s->off[a])) != 1) {
		(void)db_error(s->conn, NULL, "cannot send rows", err);
		return PQmakeEmptyPGresult(s->conn, PGRES_FATAL_ERROR);
	}
	PGresult *r = sink_end_copy(s, NULL);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		if (r != NULL)
			*line = copy_error_line(r);
		return r != NULL ? r : PQmakeEmptyPGresult(s->conn, PGRES_FATAL_ERROR);
	}
	PQclear(r);
	if (!s->staged) {
		out->loaded += b - a;
		return NULL;
	}
	signals_set_cancel(s->cancel);
	r = db_run(s->conn, s->insert_sql.data);
	signals_set_cancel(NULL);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return r;
	sink_read_outcome(s, r, b - a, out);
	PQclear(r);
	return NULL;
}

/* Settles rows [0, n) in savepoints: a refused range is split (at the row
 * the server named, or in halves) until every refused row stands alone. */
enum etl_code
sink_isolate(struct copy_sink *s, struct copy_outcome *out, struct etl_error *err)
{
	struct range {
		int a, b, tries;
	} *stack = malloc(sizeof *stack * 64);
	int top = 0, cap = 64;
	enum etl_code rc = ETL_OK;
	char why[512];
	if (stack == NULL)
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	if (s->n > 0)
		stack[top++] = (struct range){0, s->n, 0};
	while (top > 0 && rc == ETL_OK) {
		struct range g = stack[--top];
		rc = sink_exec(s, "SAVEPOINT etl_try", err);
		if (rc != ETL_OK)
			break;
		long line;
		struct copy_outcome part = {0};
		int nrej_before = s->nrej;
		PGresult *r = attempt(s, g.a, g.b, &part, &line, err);
		if (r == NULL) {
			rc = sink_exec(s, "RELEASE SAVEPOINT etl_try", err);
			out->loaded += part.loaded;
			out->updated += part.updated;
			out->skipped += part.skipped;
			continue;
		}
		const char *state = db_sqlstate(r);
		for (int i = nrej_before; i < s->nrej; i++)
			free(s->rejects[i].reason);
		s->nrej = nrej_before;
		if (PQstatus(s->conn) != CONNECTION_OK ||
		    (!sink_row_level(state) && !sink_retryable(state))) {
			rc = db_error(s->conn,
			              PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? r : NULL,
			              NULL, err);
			PQclear(r);
			break;
		}
		if (sink_exec(s, "ROLLBACK TO SAVEPOINT etl_try", err) != ETL_OK) {
			PQclear(r);
			rc = ETL_EDB;
			break;
		}
		if (top + 3 > cap) {
			cap *= 2;
			struct range *ns = realloc(stack, sizeof *ns * (size_t)cap);
			if (ns == NULL) {
				PQclear(r);
				rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
				break;
			}
			stack = ns;
		}
		if (sink_retryable(state) && g.tries < RETRIES) {
			(void)usleep(20000u << g.tries);
			stack[top++] = (struct range){g.a, g.b, g.tries + 1};
		} else if (g.b - g.a == 1) {
			sink_server_reason(r, why, sizeof why);
			add_reject(s, g.a, why);
		} else if (line >= 1 && line <= g.b - g.a) {
			/* The server named the row: before it all went in. */
			int bad = g.a + (int)line - 1;
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
	free(stack);
	return rc;
}
