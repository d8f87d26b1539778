/*
 * cmd_seed.c — `siprems-etl seed [--data DIR] [--reset]`: the schema, a data
 * set (the bundled one unless --data), and the administrator.  Loading goes
 * through the load history, so a second run changes nothing.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "bundle.h"
#include "cli.h"
#include "db.h"
#include "ledger.h"
#include "load.h"
#include "pwhash.h"
#include "schema.h"

enum { OPT_DATA = CLI_OPT_FIRST_LOCAL, OPT_RESET, OPT_YES };

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

/* The files to load: the CSV files of dir, or the bundled ones. */
static enum etl_code
data_files(const char *dir, char ***out, int *n, struct etl_error *err)
{
	char **v = NULL;
	int count = 0;
	*out = NULL;
	*n = 0;
	if (dir == NULL) {
		v = calloc((size_t)(bundle_nfiles > 0 ? bundle_nfiles : 1), sizeof *v);
		if (v == NULL)
			return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
		for (int i = 0; i < bundle_nfiles; i++)
			if (asprintf(&v[count], "builtin:%s", bundle_files[i].name) >= 0)
				count++;
	} else {
		DIR *d = opendir(dir);
		if (d == NULL)
			return error_set(err, ETL_EUSAGE, dir, 0,
			                 "--data: cannot read the directory");
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
	}
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
		/* Shown once, as SPEC asks; it is stored only as a hash. */
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

enum etl_code
cmd_seed(int argc, char **argv, struct global_opts *g, struct etl_error *err)
{
	static const struct option longopts[] = {
	        CLI_GLOBAL_LONGOPTS,
	        {"data", required_argument, NULL, OPT_DATA},
	        {"reset", no_argument, NULL, OPT_RESET},
	        {"yes", no_argument, NULL, OPT_YES},
	        {NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	bool do_reset = false, yes = false;
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
		}
	}
	if (opt == CLI_STOP)
		return err->code;
	if (optind < argc)
		return error_set(err, ETL_EUSAGE, NULL, 0, "seed: unexpected argument '%s'",
		                 argv[optind]);

	char **files = NULL;
	int nfiles = 0;
	struct load_run run = {0};
	enum etl_code rc = data_files(dir, &files, &nfiles, err);
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
	o.builtin = bundle_lookup;
	rc = load_files(&o, files, nfiles, &run, err);
	if (run.nfiles > 0)
		rc = error_worst(rc, cli_report_load(&run, g->quiet, false, NULL, rc));
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
	if (changed == 0 && rc == ETL_OK)
		(void)printf(
		        "seed: nothing to do: the data set was loaded before and the admin user "
		        "exists\n");
out:
	load_run_free(&run);
	for (int i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	return rc;
}
