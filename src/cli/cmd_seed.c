/*
 * cmd_seed.c — `siprems-etl seed [--as-of DATE] [--seed N] [--reset --yes]
 * [--data DIR]`: the schema, the shop's history as of a day (or the files of
 * DIR), and the administrator.  Loading goes through the load history, so
 * a second run on the same day changes nothing and a later one adds the
 * days since (seed.h).
 */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "calendar.h"
#include "cli.h"
#include "db.h"
#include "generate.h"
#include "ledger.h"
#include "load.h"
#include "pwhash.h"
#include "report.h"
#include "schema.h"
#include "seed.h"
#include "valid.h"

enum { OPT_DATA = CLI_OPT_FIRST_LOCAL, OPT_RESET, OPT_YES, OPT_AS_OF, OPT_SEED };

#define ADMIN_EMAIL "admin@siprems.local"

static bool
is_data_file(const char *name)
{
	size_t n = strlen(name);
	return (n > 4 && strcmp(name + n - 4, ".csv") == 0) ||
	       (n > 7 && strcmp(name + n - 7, ".csv.gz") == 0);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files to load: the CSV files of dir. */
static enum etl_code
data_files(const char *dir, char ***out, int *n, struct etl_error *err)
{
	char **v = NULL;
	int count = 0;
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return error_set(err, ETL_EUSAGE, dir, 0, "--data: cannot read the directory");
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!is_data_file(e->d_name))
			continue;
		char **nv = realloc(v, (size_t)(count + 1) * sizeof *nv);
		if (nv == NULL)
			break;
		v = nv;
		if (asprintf(&v[count], "%s/%s", dir, e->d_name) >= 0)
			count++;
	}
	(void)closedir(d);
	if (count == 0) {
		free(v);
		return error_set(err, ETL_EUSAGE, dir, 0,
		                 "--data: no .csv or .csv.gz files in the directory");
	}
	qsort(v, (size_t)count, sizeof *v, name_cmp);
	*out = v;
	*n = count;
	return ETL_OK;
}

/* ---- the generated data set ------------------------------------------------ */

#define MAX_SET 16

/* The files of this run, made in memory and named as seed.h says. */
struct set {
	int n;
	char *name[MAX_SET]; /* "builtin:seed-…" */
	struct buf data[MAX_SET];
};

static bool
set_lookup(void *ctx, const char *name, const unsigned char **data, size_t *size)
{
	const struct set *s = ctx;
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
set_add(struct set *s, const char *name, struct etl_error *err)
{
	struct seed_file f;
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return ETL_OK;
	if (s->n == MAX_SET || !seed_file_parse(name, &f))
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
set_add_file(struct set *s, const struct seed_file *f, struct etl_error *err)
{
	char name[SEED_NAME_MAX];
	seed_file_name(f, name);
	return set_add(s, name, err);
}

static void
set_free(struct set *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->name[i]);
		buf_free(&s->data[i]);
	}
	s->n = 0;
}

/* "2026-11-28" */
static const char *
day_text(int32_t day, char out[16])
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

struct plan_opts {
	int32_t as_of; /* -1: today */
	uint64_t seed;
	bool seed_given;
	const char *admin_email;
};

/*
 * Decides the files of this run from the database's clock and state: the
 * whole set on an empty database, else the days since its last as-of day
 * (and any seed load to finish); nothing new on the day it was seeded as
 * of.  Returns ETL_OK, ETL_EUSAGE (a database seed must leave alone, an
 * --as-of or --seed it cannot follow), ETL_EDB or ETL_ESYSTEM.
 */
static enum etl_code
plan(PGconn *conn, const struct plan_opts *po, struct set *set, struct seed_clock *clock,
     struct etl_error *err)
{
	struct seed_state st = {0};
	char a[16], b[16];
	enum etl_code rc = seed_clock_read(conn, clock, err);
	/* Another seed loading now (an overlapping cron run): wait for it, so
	 * that this one plans from what that one has loaded. */
	bool admin = false;
	for (int waited = 0; rc == ETL_OK; waited++) {
		(void)ledger_reap(conn);
		/* One snapshot: the tables' rows, the history and the admin
		 * agree even while the other seed commits its last load and
		 * creates the admin. */
		/* It reads every table: one the other seed is swapping in (its
		 * shadow table, exclusively locked until it commits) must not
		 * be waited for while this one holds another the swap needs (a
		 * deadlock).  A lock not granted soon is the other seed busy. */
		rc = db_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
		if (rc == ETL_OK)
			rc = db_exec(conn, "SET LOCAL lock_timeout = '200ms'", err);
		if (rc == ETL_OK)
			rc = seed_state_read(conn, &st, err);
		if (rc == ETL_OK && st.running == 0) {
			admin = st.rows[KIND_USERS] > 0 && admin_exists(conn, po->admin_email, err);
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
			st.running = st.running ? st.running : -1; /* busy: wait */
		}
		if (rc != ETL_OK || st.running == 0)
			break;
		if (waited == 0 && st.running > 0)
			notex_etl("seed: waiting for another seed to finish (load %lld)",
			          (long long)st.running);
		else if (waited == 0)
			notex_etl(
			        "seed: waiting for another seed to finish (its tables are locked)");
		if (waited == 1200) {
			rc = error_set(err, ETL_ESTOPPED, NULL, 0,
			               "seed: another seed has been loading for 10 minutes (load "
			               "%lld); nothing was done",
			               (long long)st.running);
			goto out;
		}
		seed_state_free(&st);
		(void)nanosleep(&(struct timespec){0, 500000000L}, NULL);
	}
	if (rc == ETL_OK)
		rc = seed_clock_read(conn, clock, err); /* the time after waiting */
	if (rc != ETL_OK)
		goto out;
	int32_t as_of = po->as_of < 0 ? clock->today : po->as_of;
	if (as_of > clock->today) {
		rc = error_set(err, ETL_EUSAGE, NULL, 0,
		               "seed: --as-of %s is after today in the database (%s, TimeZone %s)",
		               day_text(as_of, a), day_text(clock->today, b), clock->timezone);
		goto out;
	}
	/* Rows seed did not write: leave the database alone. */
	for (int k = 0; k < KIND_COUNT; k++) {
		int64_t ours = st.seeded[k] + (k == KIND_USERS && admin);
		if (st.rows[k] == ours && !st.several_seeds)
			continue;
		rc = error_set(err, ETL_EUSAGE, NULL, 0,
		               "seed: the database holds rows seed did not write (%s: %" PRId64
		               " rows, %" PRId64 " of them from seed's loads%s); nothing was "
		               "changed. 'siprems-etl seed --reset --yes' empties users, products, "
		               "transactions and events and seeds them again; 'siprems-etl load' "
		               "adds files to what is there",
		               table_get((enum kind)k)->table, st.rows[k], ours,
		               st.old_bundle ? "; some came from an earlier version's bundled "
		                               "data set, which does not grow by the day"
		                             : "");
		goto out;
	}
	uint64_t seed = st.loads > 0 ? st.seed : po->seed;
	if (st.loads > 0 && po->seed_given && po->seed != st.seed) {
		rc = error_set(err, ETL_EUSAGE, NULL, 0,
		               "seed: the database was seeded with --seed %" PRIu64 ", not %" PRIu64
		               "; nothing was changed (--reset --yes seeds it anew)",
		               st.seed, po->seed);
		goto out;
	}
	if (st.until > 0 && as_of < as_of_of(st.until)) {
		rc = error_set(err, ETL_EUSAGE, NULL, 0,
		               "seed: the database was seeded as of %s, after --as-of %s; nothing "
		               "was changed (--reset --yes seeds it anew)",
		               day_text(as_of_of(st.until), a), day_text(as_of, b));
		goto out;
	}
	/* Loads of seed files that did not finish go on first. */
	for (int i = 0; i < st.nunfinished && rc == ETL_OK; i++)
		rc = set_add(set, st.unfinished[i], err);
	/* Today holds the hours already past: its sales end at the start of
	 * the current hour, so seeds within one hour name the same file (and
	 * the history runs it once). */
	int cut = as_of == clock->today ? clock->seconds / 3600 * 3600 : GEN_DAY_SECONDS;
	struct seed_file f = {.seed = seed};
	struct gen_opts w;
	generate_window(&w, as_of, 731, cut);
	for (int k = 0; k < KIND_COUNT && rc == ETL_OK; k++) {
		f.kind = (enum kind)k;
		if ((k == KIND_USERS || k == KIND_PRODUCTS) && st.seeded[k] == 0 &&
		    st.rows[k] == (k == KIND_USERS && admin))
			rc = set_add_file(set, &f, err);
	}
	f.kind = KIND_EVENTS;
	f.first_year = st.last_year > 0 ? st.last_year + 1 : w.first_year;
	f.last_year = w.last_year;
	if (rc == ETL_OK && f.first_year <= f.last_year)
		rc = set_add_file(set, &f, err);
	f.kind = KIND_SALES;
	f.from = st.until > 0 ? st.until : w.from;
	f.until = w.until;
	/* On the day it was seeded as of, nothing changes. */
	if (rc == ETL_OK && f.until > f.from && (st.until == 0 || as_of > as_of_of(st.until)))
		rc = set_add_file(set, &f, err);
out:
	seed_state_free(&st);
	return rc;
}

/* Empties the four tables, ids starting over, and forgets their loads. */
static enum etl_code
reset(const char *db, bool quiet, struct etl_error *err)
{
	PGconn *conn = db_open(db, err);
	if (conn == NULL)
		return err->code;
	if (!quiet)
		db_announce(conn);
	int64_t forgotten = 0;
	enum etl_code rc = schema_ensure(conn, false, NULL, NULL, NULL, err);
	if (rc == ETL_OK)
		rc = ledger_reset(conn, &forgotten, err);
	if (rc == ETL_OK && !quiet)
		(void)printf("seed: emptied users, products, transactions and events; %lld loads "
		             "of them forgotten in the history\n",
		             (long long)forgotten);
	PQfinish(conn);
	return rc;
}

/* The administrator: SIPREMS_ADMIN_PASSWORD, else a new password shown once. */
static enum etl_code
ensure_admin(const char *db, bool quiet, bool *created, struct etl_error *err)
{
	const char *email = getenv("SIPREMS_ADMIN_EMAIL");
	const char *given = getenv("SIPREMS_ADMIN_PASSWORD");
	char generated[17];
	if (email == NULL || email[0] == '\0')
		email = ADMIN_EMAIL;
	PGconn *conn = db_open(db, err);
	if (conn == NULL)
		return err->code;
	enum etl_code rc = ETL_OK;
	bool exists = admin_exists(conn, email, err);
	if (err->code != ETL_OK) {
		rc = err->code;
		goto out;
	}
	if (exists)
		goto out;
	if (given == NULL || given[0] == '\0') {
		if (!pwhash_random_word(generated, 16)) {
			rc = error_set(err, ETL_ESYSTEM, NULL, 0, "no random bytes for a password");
			goto out;
		}
	}
	rc = admin_ensure(conn, email, "Administrator", given && given[0] ? given : generated,
	                  created, err);
	if (rc != ETL_OK || !*created)
		goto out;
	if (given != NULL && given[0] != '\0') {
		if (!quiet)
			(void)printf("seed: created the admin user %s with the password of "
			             "SIPREMS_ADMIN_PASSWORD\n",
			             email);
	} else {
		/* Shown once (docs/loading.md says so); it is stored only as a hash. */
		(void)printf(
		        "seed: created the admin user %s with the password %s\n"
		        "seed: the password is shown only this once (set SIPREMS_ADMIN_PASSWORD "
		        "to choose one)\n",
		        email, generated);
	}
out:
	PQfinish(conn);
	return rc;
}

/* The day of --as-of: "today" or a date. */
static bool
parse_as_of(const char *s, int32_t *day, char *why, size_t size)
{
	static const struct col_def as_of = {.name = "as-of", .rule = RULE_DATE};
	struct value v;
	if (strcmp(s, "today") == 0) {
		*day = -1;
		return true;
	}
	if (!valid_value(NULL, &as_of, s, strlen(s), &v, why, size))
		return false;
	*day = (int32_t)v.i;
	return true;
}

enum etl_code
cmd_seed(int argc, char **argv, struct global_opts *g, struct etl_error *err)
{
	static const struct option longopts[] = {
	        CLI_GLOBAL_LONGOPTS,
	        {"data", required_argument, NULL, OPT_DATA},
	        {"reset", no_argument, NULL, OPT_RESET},
	        {"yes", no_argument, NULL, OPT_YES},
	        {"as-of", required_argument, NULL, OPT_AS_OF},
	        {"seed", required_argument, NULL, OPT_SEED},
	        {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *as_of_arg = NULL;
	bool do_reset = false, yes = false;
	struct plan_opts po = {.as_of = -1, .seed = 42};
	long long num;
	char why[256];
	int opt;
	while ((opt = cli_getopt(argc, argv, ":h", longopts, g, NULL, err)) >= 0) {
		switch (opt) {
		case OPT_DATA:
			dir = optarg;
			break;
		case OPT_RESET:
			do_reset = true;
			break;
		case OPT_YES:
			yes = true;
			break;
		case OPT_AS_OF:
			as_of_arg = optarg;
			if (!parse_as_of(optarg, &po.as_of, why, sizeof why))
				return error_set(err, ETL_EUSAGE, NULL, 0, "--as-of: %s", why);
			break;
		case OPT_SEED:
			if (!cli_parse_num(optarg, 0, INT64_MAX, &num))
				return error_set(err, ETL_EUSAGE, NULL, 0,
				                 "--seed: \"%s\" is not a number >= 0", optarg);
			po.seed = (uint64_t)num;
			po.seed_given = true;
			break;
		}
	}
	if (opt == CLI_STOP)
		return err->code;
	if (optind < argc)
		return error_set(err, ETL_EUSAGE, NULL, 0, "seed: unexpected argument '%s'",
		                 argv[optind]);
	if (dir != NULL && (as_of_arg != NULL || po.seed_given))
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "seed: --data loads the files of a directory as they are; "
		                 "--as-of and --seed are for the generated data set");
	po.admin_email = getenv("SIPREMS_ADMIN_EMAIL");
	if (po.admin_email == NULL || po.admin_email[0] == '\0')
		po.admin_email = ADMIN_EMAIL;

	char **files = NULL;
	int nfiles = 0;
	struct load_run run = {0};
	struct set set = {0};
	struct seed_clock clock = {0};
	PGconn *conn = NULL;
	enum etl_code rc = dir ? data_files(dir, &files, &nfiles, err) : ETL_OK;
	if (rc != ETL_OK)
		goto out;
	if (do_reset && !yes) {
		int answer = cli_confirm("seed --reset: empty users, products, transactions and "
		                         "events, and forget their loads?");
		if (answer < 0) {
			rc = error_set(
			        err, ETL_EUSAGE, NULL, 0,
			        "seed --reset: not on a terminal, so nothing is asked: --yes "
			        "confirms");
			goto out;
		}
		if (answer == 0) {
			(void)printf("seed: nothing done\n");
			goto out;
		}
	}
	if (do_reset) {
		rc = reset(g->db, g->quiet, err);
		if (rc != ETL_OK)
			goto out;
	}
	struct load_opts o;
	load_opts_default(&o);
	o.db = g->db;
	o.quiet = g->quiet;
	o.progress = !g->no_progress;
	o.announce = !do_reset; /* reset() said where already */
	o.again_hint = "'seed --reset --yes' empties the tables and loads it again";
	if (dir == NULL) {
		conn = db_open(g->db, err);
		if (conn == NULL) {
			rc = err->code;
			goto out;
		}
		if (o.announce && !g->quiet)
			db_announce(conn);
		o.announce = false;
		/* Decided before the schema is touched: a database seed must
		 * leave alone is left as it was. */
		rc = plan(conn, &po, &set, &clock, err);
		if (rc == ETL_OK)
			rc = load_schema(conn, g->quiet, NULL, err);
		PQfinish(conn);
		conn = NULL;
		if (rc != ETL_OK)
			goto out;
		/* The generated times are the shop's wall clock: the database's. */
		o.timezone = clock.timezone;
		o.builtin = set_lookup;
		o.builtin_ctx = &set;
		nfiles = set.n;
		files = calloc((size_t)(nfiles > 0 ? nfiles : 1), sizeof *files);
		if (files == NULL) {
			rc = error_oom(err, NULL, 0);
			goto out;
		}
		for (int i = 0; i < nfiles; i++)
			if ((files[i] = strdup(set.name[i])) == NULL) {
				rc = error_oom(err, NULL, 0);
				goto out;
			}
	}
	if (nfiles > 0) {
		rc = load_files(&o, files, nfiles, &run, err);
		if (run.nfiles > 0)
			rc = error_worst(rc, load_report(&run, NULL, g->quiet, false, NULL, rc));
	}
	if (rc != ETL_OK && rc != ETL_REJECTED)
		goto out;
	bool created = false;
	enum etl_code arc = ensure_admin(g->db, g->quiet, &created, err);
	if (arc != ETL_OK) {
		rc = arc;
		goto out;
	}
	int changed = created;
	for (int i = 0; i < run.nfiles; i++)
		changed += run.files[i].r.rows_loaded + run.files[i].r.rows_updated > 0;
	if (changed == 0 && rc == ETL_OK && dir != NULL)
		(void)printf(
		        "seed: nothing to do: the data set was loaded before and the admin user "
		        "exists\n");
	else if (changed == 0 && rc == ETL_OK)
		(void)printf("seed: nothing to do: the database holds the data set as of %s and "
		             "the admin user exists\n",
		             day_text(po.as_of < 0 ? clock.today : po.as_of, why));
out:
	PQfinish(conn);
	load_run_free(&run);
	set_free(&set);
	for (int i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	return rc;
}
