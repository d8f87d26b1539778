/*
 * seed_plan.c — which files a `seed` run loads: decided from the database's
 * clock and what it holds (seed.h), then made in memory, where the load
 * reads them as built-in files.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "calendar.h"
#include "db.h"
#include "generate.h"
#include "ledger.h"
#include "seed.h"

/* ---- the files of the run ------------------------------------------------- */

bool
seed_set_lookup(void *ctx, const char *name, const unsigned char **data, size_t *size)
{
	const struct seed_set *s = ctx;
	for (int i = 0; i < s->n; i++) {
		if (strcmp(s->name[i] + 8, name) == 0) {
			*data = (const unsigned char *)s->data[i].data;
			*size = s->data[i].len;
			return true;
		}
	}
	return false;
}

/* Adds the file of that name (once), making its rows. */
static enum etl_code
set_add(struct seed_set *s, const char *name, struct etl_error *err)
{
	struct seed_file f;
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return ETL_OK;
	if (s->n == SEED_SET_MAX || !seed_file_parse(name, &f))
		return error_set(err, ETL_ESYSTEM, name, 0, "not a file of seed's data set");
	enum etl_code rc = seed_file_make(&f, &s->data[s->n], err);
	if (rc != ETL_OK)
		return rc;
	s->name[s->n] = strdup(name);
	if (s->name[s->n] == NULL) {
		buf_free(&s->data[s->n]);
		return error_oom(err, NULL, 0);
	}
	s->n++;
	return ETL_OK;
}

static enum etl_code
set_add_file(struct seed_set *s, const struct seed_file *f, struct etl_error *err)
{
	char name[SEED_NAME_MAX];
	seed_file_name(f, name);
	return set_add(s, name, err);
}

void
seed_set_free(struct seed_set *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->name[i]);
		buf_free(&s->data[i]);
	}
	s->n = 0;
}

/* ---- the plan ------------------------------------------------------------- */

const char *
seed_day_text(int32_t day, char out[16])
{
	out[calendar_format_date(out, day)] = '\0';
	return out;
}

/* The as-of day of a sales end (its last second's day). */
static int32_t
as_of_of(int64_t until)
{
	return (int32_t)((until - 1) / GEN_DAY_SECONDS);
}

/* Reads the state and whether the admin exists in one snapshot, so that
 * they agree even while another seed commits its last load and creates
 * the admin.  It reads every table: one another seed is swapping in (its
 * shadow table, exclusively locked until it commits) must not be waited
 * for while this one holds another the swap needs (a deadlock), so a lock
 * not granted soon is that seed busy: st->running is then -1. */
static enum etl_code
read_state(PGconn *conn, const char *admin_email, struct seed_state *st, bool *admin,
           struct etl_error *err)
{
	(void)ledger_reap(conn);
	enum etl_code rc = db_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
	if (rc == ETL_OK)
		rc = db_exec(conn, "SET LOCAL lock_timeout = '200ms'", err);
	if (rc == ETL_OK)
		rc = seed_state_read(conn, st, err);
	if (rc == ETL_OK && st->running == 0) {
		*admin = st->rows[KIND_USERS] > 0 && admin_exists(conn, admin_email, err);
		rc = err->code;
	}
	if (rc == ETL_OK)
		rc = db_exec(conn, "COMMIT", err);
	else
		PQclear(db_run(conn, "ROLLBACK"));
	if (rc != ETL_OK &&
	    (strcmp(err->sqlstate, "55P03") == 0 || strcmp(err->sqlstate, "40P01") == 0)) {
		error_clear(err);
		rc = ETL_OK;
		st->running = st->running ? st->running : -1; /* busy: wait */
	}
	return rc;
}

/* The state once no other seed is loading (an overlapping cron run): this
 * one plans from what that one has loaded; ten minutes of it stop the run. */
static enum etl_code
state_when_alone(PGconn *conn, const char *admin_email, struct seed_state *st, bool *admin,
                 struct etl_error *err)
{
	for (int waited = 0;; waited++) {
		enum etl_code rc = read_state(conn, admin_email, st, admin, err);
		if (rc != ETL_OK || st->running == 0)
			return rc;
		if (waited == 0 && st->running > 0)
			notex_etl("seed: waiting for another seed to finish (load %lld)",
			          (long long)st->running);
		else if (waited == 0)
			notex_etl(
			        "seed: waiting for another seed to finish (its tables are locked)");
		if (waited == 1200)
			return error_set(err, ETL_ESTOPPED, NULL, 0,
			                 "seed: another seed has been loading for 10 minutes (load "
			                 "%lld); nothing was done",
			                 (long long)st->running);
		seed_state_free(st);
		(void)nanosleep(&(struct timespec){0, 500000000L}, NULL);
	}
}

/* Whether seed may add to what the database holds as of as_of with this
 * seed: no rows it did not write, the same --seed, no going back in time.
 * ETL_OK, or ETL_EUSAGE saying why not. */
static enum etl_code
may_add(const struct seed_state *st, bool admin, const struct seed_plan_opts *po, int32_t as_of,
        const struct seed_clock *clock, struct etl_error *err)
{
	char a[16], b[16];
	if (as_of > clock->today)
		return error_set(
		        err, ETL_EUSAGE, NULL, 0,
		        "seed: --as-of %s is after today in the database (%s, TimeZone %s)",
		        seed_day_text(as_of, a), seed_day_text(clock->today, b), clock->timezone);
	/* Rows seed did not write: leave the database alone. */
	for (int k = 0; k < KIND_COUNT; k++) {
		int64_t ours = st->seeded[k] + (k == KIND_USERS && admin);
		if (st->rows[k] == ours && !st->several_seeds)
			continue;
		return error_set(
		        err, ETL_EUSAGE, NULL, 0,
		        "seed: the database holds rows seed did not write (%s: %" PRId64
		        " rows, %" PRId64 " of them from seed's loads%s); nothing was "
		        "changed. 'siprems-etl seed --reset --yes' empties users, products, "
		        "transactions and events and seeds them again; 'siprems-etl load' "
		        "adds files to what is there",
		        table_get((enum kind)k)->table, st->rows[k], ours,
		        st->old_bundle ? "; some came from an earlier version's bundled "
		                         "data set, which does not grow by the day"
		                       : "");
	}
	if (st->loads > 0 && po->seed_given && po->seed != st->seed)
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "seed: the database was seeded with --seed %" PRIu64
		                 ", not %" PRIu64
		                 "; nothing was changed (--reset --yes seeds it anew)",
		                 st->seed, po->seed);
	if (st->until > 0 && as_of < as_of_of(st->until))
		return error_set(
		        err, ETL_EUSAGE, NULL, 0,
		        "seed: the database was seeded as of %s, after --as-of %s; nothing "
		        "was changed (--reset --yes seeds it anew)",
		        seed_day_text(as_of_of(st->until), a), seed_day_text(as_of, b));
	return ETL_OK;
}

/* The files that bring the database to as_of: loads that did not finish
 * first, then what it lacks of users, products, events and sales. */
static enum etl_code
add_files(const struct seed_state *st, bool admin, uint64_t seed, int32_t as_of,
          const struct seed_clock *clock, struct seed_set *set, struct etl_error *err)
{
	enum etl_code rc = ETL_OK;
	for (int i = 0; i < st->nunfinished && rc == ETL_OK; i++)
		rc = set_add(set, st->unfinished[i], err);
	/* Today holds the hours already past: its sales end at the start of
	 * the current hour, so seeds within one hour name the same file (and
	 * the history runs it once). */
	int cut = as_of == clock->today ? clock->seconds / 3600 * 3600 : GEN_DAY_SECONDS;
	struct seed_file f = {.seed = seed};
	struct gen_opts w;
	generate_window(&w, as_of, 731, cut);
	for (int k = 0; k < KIND_COUNT && rc == ETL_OK; k++) {
		f.kind = (enum kind)k;
		if ((k == KIND_USERS || k == KIND_PRODUCTS) && st->seeded[k] == 0 &&
		    st->rows[k] == (k == KIND_USERS && admin))
			rc = set_add_file(set, &f, err);
	}
	f.kind = KIND_EVENTS;
	f.first_year = st->last_year > 0 ? st->last_year + 1 : w.first_year;
	f.last_year = w.last_year;
	if (rc == ETL_OK && f.first_year <= f.last_year)
		rc = set_add_file(set, &f, err);
	f.kind = KIND_SALES;
	f.from = st->until > 0 ? st->until : w.from;
	f.until = w.until;
	/* On the day it was seeded as of, nothing changes. */
	if (rc == ETL_OK && f.until > f.from && (st->until == 0 || as_of > as_of_of(st->until)))
		rc = set_add_file(set, &f, err);
	return rc;
}

enum etl_code
seed_plan(PGconn *conn, const struct seed_plan_opts *po, struct seed_set *set,
          struct seed_clock *clock, struct etl_error *err)
{
	struct seed_state st = {0};
	bool admin = false;
	enum etl_code rc = seed_clock_read(conn, clock, err);
	if (rc == ETL_OK)
		rc = state_when_alone(conn, po->admin_email, &st, &admin, err);
	if (rc == ETL_OK)
		rc = seed_clock_read(conn, clock, err); /* the time after waiting */
	int32_t as_of = po->as_of < 0 ? clock->today : po->as_of;
	if (rc == ETL_OK)
		rc = may_add(&st, admin, po, as_of, clock, err);
	if (rc == ETL_OK)
		rc = add_files(&st, admin, st.loads > 0 ? st.seed : po->seed, as_of, clock, set,
		               err);
	seed_state_free(&st);
	return rc;
}
