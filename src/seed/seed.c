/*
 * seed.c — the files of seed's data set by name, made in memory, and what
 * a database's history says of them.
 */
#include "seed.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "db.h"
#include "generate.h"
#include "valid.h"

#define DAY GEN_DAY_SECONDS

/* "2026-11-28T10:15:00" for local seconds t; with end, a whole day's end
 * is "T24:00:00" of that day instead of the next day's midnight. */
static void
put_time(char *out, size_t size, int64_t t, bool end)
{
	int64_t day = t / DAY, s = t % DAY;
	if (s < 0) {
		s += DAY;
		day--;
	}
	if (end && s == 0) {
		day--;
		s = DAY;
	}
	char date[16];
	date[calendar_format_date(date, day)] = '\0';
	(void)snprintf(out, size, "%sT%02d:%02d:%02d", date, (int)(s / 3600), (int)(s / 60 % 60),
	               (int)(s % 60));
}

void
seed_file_name(const struct seed_file *f, char *out)
{
	char a[32], b[32];
	const char *kind = table_get(f->kind)->name;
	switch (f->kind) {
	case KIND_SALES:
		put_time(a, sizeof a, f->from, false);
		put_time(b, sizeof b, f->until, true);
		(void)snprintf(out, SEED_NAME_MAX, "builtin:seed-%" PRIu64 "-%s-%s-%s.csv", f->seed,
		               kind, a, b);
		break;
	case KIND_EVENTS:
		(void)snprintf(out, SEED_NAME_MAX, "builtin:seed-%" PRIu64 "-%s-%d-%d.csv", f->seed,
		               kind, f->first_year, f->last_year);
		break;
	default:
		(void)snprintf(out, SEED_NAME_MAX, "builtin:seed-%" PRIu64 "-%s.csv", f->seed,
		               kind);
		break;
	}
}

/* Reads "YYYY-MM-DDTHH:MM:SS" at s (24:00:00 allowed) into local seconds. */
static bool
get_time(const char *s, int64_t *t)
{
	int y, mo, d, h, mi, se, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19)
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || se > 59 ||
	    (h == 24 && (mi || se)))
		return false;
	*t = calendar_days_from_civil(y, (unsigned)mo, (unsigned)d) * DAY + h * 3600 + mi * 60 + se;
	return true;
}

bool
seed_file_parse(const char *name, struct seed_file *f)
{
	char kind[16];
	int n = 0;
	memset(f, 0, sizeof *f);
	if (sscanf(name, "builtin:seed-%" SCNu64 "-%15[a-z]%n", &f->seed, kind, &n) != 2)
		return false;
	f->kind = table_kind_from_name(kind);
	const char *rest = name + n;
	char check[SEED_NAME_MAX];
	switch (f->kind) {
	case KIND_SALES:
		if (strlen(rest) != 1 + 19 + 1 + 19 + 4 || rest[0] != '-' || rest[20] != '-' ||
		    !get_time(rest + 1, &f->from) || !get_time(rest + 21, &f->until))
			return false;
		break;
	case KIND_EVENTS:
		if (sscanf(rest, "-%4d-%4d.csv%n", &f->first_year, &f->last_year, &n) != 2)
			return false;
		break;
	case KIND_USERS:
	case KIND_PRODUCTS:
		break;
	default:
		return false;
	}
	/* Exactly the spelling seed writes. */
	seed_file_name(f, check);
	return strcmp(check, name) == 0;
}

enum etl_code
seed_file_make(const struct seed_file *f, struct buf *out, struct etl_error *err)
{
	struct buf files[KIND_COUNT] = {{0}};
	struct gen_opts o;
	struct gen_stats st;
	generate_default(&o);
	o.out = NULL;
	o.mem = files;
	o.seed = f->seed;
	o.from = o.until = 0;
	o.first_year = 1, o.last_year = 0;
	o.history_only = f->kind == KIND_SALES || f->kind == KIND_EVENTS;
	if (f->kind == KIND_SALES) {
		o.from = f->from;
		o.until = f->until;
	} else if (f->kind == KIND_EVENTS) {
		o.first_year = f->first_year;
		o.last_year = f->last_year;
	}
	enum etl_code rc = generate(&o, &st, err);
	for (int k = 0; k < KIND_COUNT; k++) {
		if (k == (int)f->kind && rc == ETL_OK) {
			*out = files[k];
			continue;
		}
		buf_free(&files[k]);
	}
	return rc;
}

enum etl_code
seed_clock_read(PGconn *conn, struct seed_clock *c, struct etl_error *err)
{
	PGresult *r = db_query(conn,
	                       "SELECT to_char(LOCALTIMESTAMP, 'YYYY-MM-DD'), "
	                       "floor(extract(epoch FROM LOCALTIME))::int, "
	                       "current_setting('TimeZone')",
	                       0, NULL, err);
	if (r == NULL)
		return ETL_EDB;
	int y, m, d;
	bool ok = PQntuples(r) == 1 && sscanf(PQgetvalue(r, 0, 0), "%d-%d-%d", &y, &m, &d) == 3;
	if (ok) {
		c->today = (int32_t)calendar_days_from_civil(y, (unsigned)m, (unsigned)d);
		c->seconds = atoi(PQgetvalue(r, 0, 1));
		(void)snprintf(c->timezone, sizeof c->timezone, "%s", PQgetvalue(r, 0, 2));
	}
	PQclear(r);
	if (!ok)
		return error_set(err, ETL_EDB, NULL, 0, "the database's date cannot be read");
	return ETL_OK;
}

/* Whether the table exists (in the search path). */
static enum etl_code
table_exists(PGconn *conn, const char *table, bool *exists, struct etl_error *err)
{
	const char *params[1] = {table};
	PGresult *r = db_query(conn, "SELECT to_regclass($1) IS NOT NULL", 1, params, err);
	if (r == NULL)
		return ETL_EDB;
	*exists = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return ETL_OK;
}

/* The rows of each table (0 for one that does not exist yet). */
static enum etl_code
count_rows(PGconn *conn, struct seed_state *st, struct etl_error *err)
{
	for (int k = 0; k < KIND_COUNT; k++) {
		const char *table = table_get((enum kind)k)->table;
		bool exists;
		if (table_exists(conn, table, &exists, err) != ETL_OK)
			return ETL_EDB;
		if (!exists)
			continue;
		char *id = PQescapeIdentifier(conn, table, strlen(table));
		if (id == NULL)
			return error_oom(err, NULL, 0);
		PGresult *r = db_queryf(conn, 0, NULL, err, "SELECT count(*) FROM %s", id);
		PQfreemem(id);
		if (r == NULL)
			return ETL_EDB;
		st->rows[k] = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	return ETL_OK;
}

enum etl_code
seed_state_read(PGconn *conn, struct seed_state *st, struct etl_error *err)
{
	memset(st, 0, sizeof *st);
	bool history;
	enum etl_code rc = count_rows(conn, st, err);
	if (rc == ETL_OK)
		rc = table_exists(conn, "etl_loads", &history, err);
	if (rc != ETL_OK || !history)
		return rc;
	PGresult *r =
	        db_query(conn,
	                 "SELECT file_name, kind, status, rows_loaded, load_id FROM etl_loads "
	                 "WHERE status NOT IN ('undone', 'reset') ORDER BY load_id",
	                 0, NULL, err);
	if (r == NULL)
		return ETL_EDB;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, 0), *status = PQgetvalue(r, i, 2);
		enum kind kind = table_kind_from_name(PQgetvalue(r, i, 1));
		int64_t loaded = strtoll(PQgetvalue(r, i, 3), NULL, 10);
		struct seed_file f;
		if (kind == KIND_NONE)
			continue;
		if (!seed_file_parse(name, &f) || f.kind != kind) {
			st->old_bundle |= strncmp(name, "builtin:", 8) == 0;
			continue;
		}
		if (st->loads > 0 && f.seed != st->seed)
			st->several_seeds = true;
		st->seed = f.seed;
		st->loads++;
		st->seeded[kind] += loaded;
		if (kind == KIND_SALES && f.until > st->until)
			st->until = f.until;
		if (kind == KIND_EVENTS && f.last_year > st->last_year)
			st->last_year = f.last_year;
		if (strcmp(status, "loaded") == 0 || strcmp(status, "partial") == 0)
			continue;
		if (strcmp(status, "running") == 0) /* alive: reaped before reading */
			st->running = strtoll(PQgetvalue(r, i, 4), NULL, 10);
		char **v = realloc(st->unfinished, (size_t)(st->nunfinished + 1) * sizeof *v);
		if (v == NULL || (v[st->nunfinished] = strdup(name)) == NULL) {
			if (v != NULL)
				st->unfinished = v;
			PQclear(r);
			return error_oom(err, NULL, 0);
		}
		st->unfinished = v;
		st->nunfinished++;
	}
	PQclear(r);
	return ETL_OK;
}

void
seed_state_free(struct seed_state *st)
{
	for (int i = 0; i < st->nunfinished; i++)
		free(st->unfinished[i]);
	free(st->unfinished);
	st->unfinished = NULL;
	st->nunfinished = 0;
}
