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
#include "intake.h"
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

/* What the command line asks of seed. */
struct seed_args {
	const char *dir; /* --data */
	const char *as_of_arg;
	bool reset, yes;
	struct seed_plan_opts po;
};

/* Reads seed's options into a.  ETL_OK, or ETL_EUSAGE (err says why);
 * *stop when the run ends here (--help printed, or an error). */
static enum etl_code
parse_args(int argc, char **argv, struct global_opts *g, struct seed_args *a, bool *stop,
           struct etl_error *err)
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
	long long num;
	char why[256];
	int opt;
	*a = (struct seed_args){.po = {.as_of = -1, .seed = 42}};
	*stop = true;
	while ((opt = cli_getopt(argc, argv, ":h", longopts, g, NULL, err)) >= 0) {
		switch (opt) {
		case OPT_DATA:
			a->dir = optarg;
			break;
		case OPT_RESET:
			a->reset = true;
			break;
		case OPT_YES:
			a->yes = true;
			break;
		case OPT_AS_OF:
			a->as_of_arg = optarg;
			if (!parse_as_of(optarg, &a->po.as_of, why, sizeof why))
				return error_set(err, ETL_EUSAGE, NULL, 0, "--as-of: %s", why);
			break;
		case OPT_SEED:
			if (!cli_parse_num(optarg, 0, INT64_MAX, &num))
				return error_set(err, ETL_EUSAGE, NULL, 0,
				                 "--seed: \"%s\" is not a number >= 0", optarg);
			a->po.seed = (uint64_t)num;
			a->po.seed_given = true;
			break;
		}
	}
	if (opt == CLI_STOP)
		return err->code;
	if (optind < argc)
		return error_set(err, ETL_EUSAGE, NULL, 0, "seed: unexpected argument '%s'",
		                 argv[optind]);
	if (a->dir != NULL && (a->as_of_arg != NULL || a->po.seed_given))
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "seed: --data loads the files of a directory as they are; "
		                 "--as-of and --seed are for the generated data set");
	a->po.admin_email = getenv("SIPREMS_ADMIN_EMAIL");
	if (a->po.admin_email == NULL || a->po.admin_email[0] == '\0')
		a->po.admin_email = ADMIN_EMAIL;
	*stop = false;
	return ETL_OK;
}

/* --reset without --yes asks on a terminal: 1 yes, 0 no (nothing done),
 * or ETL_EUSAGE in err when there is no terminal to ask. */
static int
confirm_reset(struct etl_error *err)
{
	int answer = cli_confirm("seed --reset: empty users, products, transactions and "
	                         "events, and forget their loads?");
	if (answer < 0)
		(void)error_set(err, ETL_EUSAGE, NULL, 0,
		                "seed --reset: not on a terminal, so nothing is asked: --yes "
		                "confirms");
	else if (answer == 0)
		(void)printf("seed: nothing done\n");
	return answer;
}

/* The generated data set's files for this run, decided before the schema is
 * touched (a database seed must leave alone is left as it was), into set;
 * files gets their names, o reads them from set in the database's zone. */
static enum etl_code
plan_generated(struct global_opts *g, const struct seed_plan_opts *po, struct load_opts *o,
               struct seed_set *set, struct seed_clock *clock, char ***files, int *nfiles,
               struct etl_error *err)
{
	PGconn *conn = db_open(g->db, err);
	if (conn == NULL)
		return err->code;
	if (o->announce && !g->quiet)
		db_announce(conn);
	o->announce = false;
	enum etl_code rc = seed_plan(conn, po, set, clock, err);
	if (rc == ETL_OK)
		rc = load_schema(conn, g->quiet, NULL, err);
	PQfinish(conn);
	if (rc != ETL_OK)
		return rc;
	/* The generated times are the shop's wall clock: the database's. */
	o->format.timezone = clock->timezone;
	o->builtin = seed_set_lookup;
	o->builtin_ctx = set;
	*files = calloc((size_t)(set->n > 0 ? set->n : 1), sizeof **files);
	if (*files == NULL)
		return error_oom(err, NULL, 0);
	*nfiles = set->n;
	for (int i = 0; i < set->n; i++)
		if (((*files)[i] = strdup(set->name[i])) == NULL)
			return error_oom(err, NULL, 0);
	return ETL_OK;
}

enum etl_code
cmd_seed(int argc, char **argv, struct global_opts *g, struct etl_error *err)
{
	struct seed_args a;
	bool stop;
	enum etl_code rc = parse_args(argc, argv, g, &a, &stop, err);
	if (stop)
		return rc;

	char **files = NULL;
	int nfiles = 0;
	struct load_run run = {0};
	struct seed_set set = {0};
	struct seed_clock clock = {0};
	char day[16];
	rc = a.dir ? data_files(a.dir, &files, &nfiles, err) : ETL_OK;
	if (rc != ETL_OK)
		goto out;
	if (a.reset && !a.yes) {
		int answer = confirm_reset(err);
		if (answer <= 0) {
			rc = answer < 0 ? err->code : ETL_OK;
			goto out;
		}
	}
	if (a.reset && (rc = reset(g->db, g->quiet, err)) != ETL_OK)
		goto out;
	struct load_opts o;
	load_opts_default(&o);
	o.db = g->db;
	o.quiet = g->quiet;
	o.progress = !g->no_progress;
	o.announce = !a.reset; /* reset() said where already */
	o.again_hint = "'seed --reset --yes' empties the tables and loads it again";
	if (a.dir == NULL &&
	    (rc = plan_generated(g, &a.po, &o, &set, &clock, &files, &nfiles, err)) != ETL_OK)
		goto out;
	if (nfiles > 0) {
		struct file_spec *specs = NULL;
		rc = cli_file_specs("seed", files, nfiles, &specs, err);
		if (rc == ETL_OK)
			rc = load_files(&o, specs, nfiles, &run, err);
		free(specs);
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
	if (changed == 0 && rc == ETL_OK && a.dir != NULL)
		(void)printf(
		        "seed: nothing to do: the data set was loaded before and the admin user "
		        "exists\n");
	else if (changed == 0 && rc == ETL_OK)
		(void)printf("seed: nothing to do: the database holds the data set as of %s and "
		             "the admin user exists\n",
		             seed_day_text(a.po.as_of < 0 ? clock.today : a.po.as_of, day));
out:
	load_run_free(&run);
	seed_set_free(&set);
	for (int i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	return rc;
}
