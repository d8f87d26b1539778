/*
 * load.c — running a load: open every file and recognise its kind, order
 * them users, products, events, sales, connect (the settings of every
 * transaction, the schema), then take each file through load_file.c.
 */
#include "load_impl.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copy.h"
#include "db.h"
#include "intake.h"
#include "ledger.h"
#include "lockwait.h"
#include "progress.h"
#include "refdata.h"
#include "schema.h"
#include "signals.h"
#include "tzfile.h"
#include "valid.h"

void
load_opts_default(struct load_opts *o)
{
	memset(o, 0, sizeof *o);
	o->batch_rows = 50000;
	o->on_conflict = CONFLICT_ERROR;
	/* Bounded by default: a file with more rejects is the wrong file or
	 * the wrong options, and its rejects would fill a disk. */
	o->max_rejects = LOAD_DEFAULT_MAX_REJECTS;
	o->max_reject_bytes = LOAD_DEFAULT_MAX_REJECT_BYTES;
	o->format.enc = ENC_UTF8;
	o->format.delim = ',';
	o->jobs = 2;
	o->lock_timeout_ms = LOCKWAIT_DEFAULT_MS;
	o->progress = true;
	o->announce = true;
	o->again_hint = "--force loads it again";
}

/* One file of the run, from opening to its outcome. */
struct run_file {
	struct intake *it;
	enum etl_code open_rc;
	struct etl_error open_err;
	int order; /* position on the command line */
};

int
load_order(int kind_a, int order_a, int kind_b, int order_b)
{
	return kind_a != kind_b ? kind_a - kind_b : order_a - order_b;
}

/* Whether a file after opened[i] (i -1: any file) reads the SKU map:
 * products, or the kind that names them.  A dry run keeps its products
 * for it. */
static bool
skus_read_after(const struct run_file *opened, int n, int i)
{
	for (int k = i + 1; k < n; k++) {
		if (opened[k].open_rc != ETL_OK || opened[k].it == NULL)
			continue;
		const struct table_def *t = table_get(intake_kind(opened[k].it));
		if (t->ref_col >= 0 || table_referrer(t->kind) != NULL)
			return true;
	}
	return false;
}

static int
run_file_cmp(const void *a, const void *b)
{
	const struct run_file *x = a, *y = b;
	return load_order(x->it && x->open_rc == ETL_OK ? (int)intake_kind(x->it) : -1, x->order,
	                  y->it && y->open_rc == ETL_OK ? (int)intake_kind(y->it) : -1, y->order);
}

/* ---- the run -------------------------------------------------------------- */

enum etl_code
load_schema(PGconn *conn, bool quiet, struct schema_facts *facts, struct etl_error *err)
{
	struct schema_result sr;
	enum etl_code rc = schema_ensure(conn, false, NULL, &sr, facts, err);
	/* A handful of changes are worth naming; a whole new schema is not. */
	if (rc == ETL_OK && !quiet && sr.applied > 5)
		(void)fprintf(
		        stderr,
		        "siprems-etl: schema: %d changes applied (recorded in etl_schema_log)\n",
		        sr.applied);
	else if (rc == ETL_OK && !quiet)
		/* What changed, and on the run that adopts an app's tables what
		 * was accepted as it is. */
		for (int i = 0; i < sr.nlines; i++)
			if (strstr(sr.lines[i], ": present as ") == NULL &&
			    (sr.applied > 0 || strncmp(sr.lines[i], "note: ", 6) != 0))
				(void)fprintf(stderr, "siprems-etl: schema: %s\n", sr.lines[i]);
	schema_result_free(&sr);
	return rc;
}

/*
 * The load's time zone: --timezone, else the database's own TimeZone, so
 * that an offset becomes what the app's server-side code would see.  A
 * zone this machine has no file for (the server has its own tz database)
 * leaves UTC, as before there was a choice, and says so.
 */
static enum etl_code
run_zone(struct run_shared *r, struct etl_error *err)
{
	const char *name = r->o->format.timezone;
	PGresult *res = NULL;
	if (name == NULL) {
		res = db_query(r->conn, "SELECT current_setting('TimeZone')", 0, NULL, err);
		if (res == NULL)
			return ETL_EDB;
		name = PQgetvalue(res, 0, 0);
	}
	(void)snprintf(r->tz, sizeof r->tz, "%s", name);
	PQclear(res);
	struct tz *zone = NULL;
	struct etl_error zerr;
	if (tz_open(&zone, r->tz, &zerr) != ETL_OK) {
		if (r->o->format.timezone != NULL)
			return error_set(err, ETL_EUSAGE, NULL, 0, "--timezone: %s", zerr.msg);
		warnx_etl("the database's TimeZone '%s' is not a zone this machine has a file "
		          "for; timestamps with an offset are converted to UTC (--timezone "
		          "names another)",
		          r->tz);
		(void)snprintf(r->tz, sizeof r->tz, "UTC");
		r->tz_utc = true;
		return ETL_OK;
	}
	r->tz_utc = tz_is_utc(zone);
	tz_close(zone);
	return ETL_OK;
}

static enum etl_code
connect_run(struct run_shared *r, struct etl_error *err)
{
	const struct load_opts *o = r->o;
	r->conn = load_connect(r, err);
	if (r->conn == NULL)
		return err->code;
	if (o->announce && !o->quiet)
		db_announce(r->conn);
	/* The settings of every transaction of the load: batches commit
	 * asynchronously (the history's checkpoint in the same transaction
	 * keeps them exact; the end of each file commits synchronously).  A
	 * batch waits idle for its turn to commit, and the reader between
	 * statements: a role's idle_in_transaction_session_timeout must not
	 * end the session there. */
	enum etl_code rc = run_zone(r, err);
	if (rc != ETL_OK)
		return rc;
	const char *tz = r->tz;
	char *lit = PQescapeLiteral(r->conn, tz, strlen(tz));
	/* Through a Citus coordinator each batch's COPY reaches every shard on
	 * connections of its own, which Citus closes at the batch's commit
	 * but one per worker (citus.max_cached_conns_per_worker): kept for the
	 * next batch, they save it the reconnecting (a quarter of psql's own
	 * time in 48,000-row transactions here).  Read by Citus at the commit,
	 * while the transaction's settings still hold; a session setting
	 * would stay behind on a pooler's server connection. */
	const char *citus = db_citus_coordinator(r->conn)
	                            ? "; SET LOCAL citus.max_cached_conns_per_worker = 16"
	                            : "";
	if (lit == NULL || asprintf(&r->settings,
	                            "SET LOCAL synchronous_commit = off; SET LOCAL DateStyle = "
	                            "'ISO, YMD'; SET LOCAL client_min_messages = warning; "
	                            "SET LOCAL TimeZone = %s; SET LOCAL lock_timeout = %ld; "
	                            "SET LOCAL idle_in_transaction_session_timeout = 0%s",
	                            lit, o->lock_timeout_ms, citus) < 0) {
		PQfreemem(lit);
		r->settings = NULL;
		return error_oom(err, NULL, 0);
	}
	PQfreemem(lit);
	/* A time zone the server does not know is a usage error, said now. */
	rc = db_exec(r->conn, "BEGIN", err);
	if (rc == ETL_OK && db_exec(r->conn, r->settings, err) != ETL_OK) {
		/* Not err->msg itself as an argument: error_set() writes into it. */
		char why[sizeof err->msg];
		(void)snprintf(why, sizeof why, "%s", err->msg);
		rc = error_set(err, ETL_EUSAGE, NULL, 0, "--timezone: %s", why);
	}
	PGresult *res = db_run(r->conn, rc == ETL_OK ? "COMMIT" : "ROLLBACK");
	PQclear(res);
	if (rc != ETL_OK)
		return rc;
	return load_schema(r->conn, o->quiet, &r->facts, err);
}

/* A dry run's look at the database, when one is reachable (read only): the
 * limits of the live tables, the SKU map and the keys of the run's own
 * kinds.  Without it (or without the products), SKU references are not
 * checked, and run->database_checked says so.  ETL_OK, or ETL_ESYSTEM when
 * the keys do not fit --max-key-memory. */
static enum etl_code
dry_run_look(struct run_shared *r, struct validator *v, const struct run_file *opened, int n,
             struct load_run *run, struct etl_error *err)
{
	struct etl_error cerr;
	r->conn = db_open(r->o->db, &cerr);
	if (r->conn != NULL && schema_ensure(r->conn, true, NULL, NULL, &r->facts, &cerr) == ETL_OK)
		valid_set_live(v, r->facts.kinds);
	bool in_run[KIND_COUNT] = {false};
	for (int i = 0; i < n; i++)
		if (opened[i].open_rc == ETL_OK && opened[i].it != NULL)
			in_run[intake_kind(opened[i].it)] = true;
	bool needs_skus = skus_read_after(opened, n, -1);
	const struct table_def *by = NULL;
	for (int k = 0; k < KIND_COUNT; k++)
		if (table_get((enum kind)k)->ref_col >= 0)
			by = table_get((enum kind)k);
	if (r->conn != NULL && by != NULL && needs_skus) {
		r->skus = keyset_new();
		if (r->skus == NULL || refdata_load_refs(r->conn, by, r->skus, &cerr) != ETL_OK) {
			keyset_free(r->skus);
			r->skus = NULL;
			if (keyset_bound_hit()) /* not a database it cannot read */
				return error_oom(err, NULL, 0);
		}
	}
	/* And the keys of the other keyed kinds, for the case-variant check. */
	for (int k = 0; k < KIND_COUNT && r->conn != NULL; k++) {
		if (!in_run[k] || load_known_keys(r, table_get((enum kind)k), &cerr) == ETL_OK)
			continue;
		if (keyset_bound_hit())
			return error_oom(err, NULL, 0);
		warnx_etl("cannot read the keys of %s: %s", table_get((enum kind)k)->table,
		          cerr.msg);
	}
	if (needs_skus && r->skus == NULL)
		warnx_etl("%s; SKU references of sales files are not checked",
		          r->conn == NULL ? "no database reachable" : "cannot read the products");
	run->database_checked = r->conn != NULL && (!needs_skus || r->skus != NULL);
	PQfinish(r->conn);
	r->conn = NULL;
	return ETL_OK;
}

/* Takes opened[i] through its load (or dry run) into lf, unless it failed to
 * open, the run was interrupted, or the connection is gone; then closes it. */
static void
run_one(struct run_shared *r, struct run_file *opened, int n, int i, const struct file_spec *spec,
        struct load_file *lf)
{
	struct run_file *j = &opened[i];
	bool dry = r->o->dry_run;
	lf->file = strdup(spec->file);
	lf->r.file = lf->file ? lf->file : "?";
	lf->r.status = "failed";
	if (j->open_rc != ETL_OK) {
		load_fail_file(lf, NULL, &j->open_err);
		lf->r.kind = j->it && intake_kind(j->it) != KIND_NONE
		                     ? table_get(intake_kind(j->it))->name
		                     : NULL;
	} else if (!dry && signals_received()) {
		/* Interrupted before this file began: it stays as it was. */
		lf->r.kind = table_get(intake_kind(j->it))->name;
		lf->r.status = "stopped";
		lf->code = ETL_ESTOPPED;
		(void)error_set(&lf->error, ETL_ESTOPPED, intake_name(j->it), 0,
		                "not started: the run was interrupted");
	} else if (!dry && PQstatus(r->conn) != CONNECTION_OK) {
		lf->r.kind = table_get(intake_kind(j->it))->name;
		struct etl_error cerr;
		(void)error_set(&cerr, ETL_EDB, intake_name(j->it), 0,
		                "not loaded: the connection to the database was lost");
		load_fail_file(lf, j->it, &cerr);
	} else {
		lf->r.kind = table_get(intake_kind(j->it))->name;
		r->skus_read_on = skus_read_after(opened, n, i);
		if (dry)
			dry_run_file(r, j->it, lf);
		else
			load_file(r, j->it, lf);
	}
	struct etl_error cerr;
	if (intake_close(j->it, &cerr) != ETL_OK && lf->code != ETL_EINPUT) {
		/* The reject file was completed before the history was written
		 * (settle_file()); what fails here is its close.  The counts
		 * stay the history's. */
		lf->code = error_worst(lf->code, cerr.code);
		lf->error = cerr;
		lf->r.status = "failed";
	}
	j->it = NULL;
}

/* A file whose rejects its corrected reject file, later in the run, loaded
 * is all in now: exit 0, archived with --archive.  Returns the run's worst
 * outcome. */
static enum etl_code
settle_resolved(struct load_run *run, const struct run_shared *r)
{
	enum etl_code rc = ETL_OK;
	for (int i = 0; i < run->nfiles; i++) {
		struct load_file *lf = &run->files[i];
		for (int k = 0; k < r->nresolved; k++)
			if (lf->code == ETL_REJECTED && lf->r.load_id == r->resolved[k] &&
			    strcmp(lf->r.status, "skipped") == 0) {
				lf->code = ETL_OK;
				lf->r.rows_skipped += lf->r.rows_rejected;
				lf->r.rows_rejected = 0;
				free(lf->reject_file);
				lf->reject_file = NULL;
				lf->r.reject_file = NULL;
				error_clear(&lf->error);
			}
		rc = error_worst(rc, lf->code);
	}
	return rc;
}

/* Opens every file of specs into opened, sorted into the run's order: a
 * file's header tells its kind, and thus its turn. */
static void
open_all(const struct file_spec *specs, int nspecs, const struct intake_opts *io,
         struct run_file *opened)
{
	for (int i = 0; i < nspecs; i++) {
		opened[i].order = i;
		error_clear(&opened[i].open_err);
		opened[i].open_rc = intake_open(&opened[i].it, &specs[i], io, &opened[i].open_err);
	}
	qsort(opened, (size_t)nspecs, sizeof *opened, run_file_cmp);
}

static void
run_free(struct run_shared *r)
{
	for (int k = 0; k < KIND_COUNT; k++)
		keyset_free(r->known[k]);
	keyset_free(r->skus);
	PQfinish(r->conn);
	free(r->settings);
	for (int i = 0; i < r->nrejects_used; i++)
		free(r->rejects_used[i]);
	free(r->rejects_used);
}

enum etl_code
load_files(const struct load_opts *o, const struct file_spec *specs, int nspecs,
           struct load_run *run, struct etl_error *err)
{
	struct validator *v = NULL;
	struct run_file *opened = NULL;
	struct run_shared r;
	struct intake_spools spools = {0};
	enum etl_code rc;
	struct lockwait_watch watch = {
	        .db = o->db, .timeout_ms = o->lock_timeout_ms, .quiet = o->quiet};
	memset(run, 0, sizeof *run);
	memset(&r, 0, sizeof r);
	r.o = o;
	/* A dry run keeps --timezone, or UTC; a load asks the database. */
	(void)snprintf(r.tz, sizeof r.tz, "%s", o->format.timezone ? o->format.timezone : "UTC");
	r.tz_utc = strcmp(r.tz, "UTC") == 0 || strcmp(r.tz, "GMT") == 0;

	struct valid_opts vo = {.sku_pattern = o->format.sku_pattern,
	                        .timezone = o->format.timezone,
	                        .allow_future = o->allow_future,
	                        .fmt = o->format.fmt};
	rc = valid_open(&v, &vo, err);
	if (rc != ETL_OK)
		goto out;
	/* A real load reads stdin and pipes from a copy it can fingerprint and
	 * read again. */
	if (!o->dry_run && (rc = intake_spool(&spools, specs, nspecs, err)) != ETL_OK)
		goto out;
	struct intake_opts io = {.format = &o->format,
	                         .v = v,
	                         .reject_dir = o->reject_dir,
	                         .write_rejects = true,
	                         .unique_keys = true,
	                         .max_rejects = o->max_rejects,
	                         .max_reject_bytes = o->max_reject_bytes,
	                         .spools = &spools,
	                         .builtin = o->builtin,
	                         .builtin_ctx = o->builtin_ctx,
	                         .case_variants = o->case_variants,
	                         .track_prefix = !o->dry_run};

	run->read_as_utf8 = o->format.enc == ENC_UTF8;
	opened = calloc((size_t)nspecs, sizeof *opened);
	run->files = calloc((size_t)nspecs, sizeof *run->files);
	if (opened == NULL || run->files == NULL) {
		rc = error_oom(err, NULL, 0);
		goto out;
	}
	open_all(specs, nspecs, &io, opened);
	if (o->dry_run) {
		if ((rc = dry_run_look(&r, v, opened, nspecs, run, err)) != ETL_OK)
			goto out;
	} else {
		rc = connect_run(&r, err);
		if (rc == ETL_OK)
			rc = valid_set_zone(v, r.tz, err);
		if (rc != ETL_OK)
			goto out;
		valid_set_live(v, r.facts.kinds);
		signals_install();
		/* A statement that waits for another session's lock says so
		 * after 2 s, and every 10 s after that. */
		db_watch_waits(lockwait_watch, &watch, 2000, 10000);
	}
	for (int i = 0; i < nspecs; i++)
		run_one(&r, opened, nspecs, i, &specs[opened[i].order], &run->files[run->nfiles++]);
	rc = settle_resolved(run, &r);
out:
	db_watch_waits(NULL, NULL, 0, 0);
	for (int i = 0; opened != NULL && i < nspecs; i++)
		(void)intake_close(opened[i].it, NULL);
	free(opened);
	run_free(&r);
	valid_close(v);
	intake_spools_free(&spools);
	return rc;
}

void
load_run_free(struct load_run *run)
{
	if (run == NULL)
		return;
	for (int i = 0; i < run->nfiles; i++) {
		free(run->files[i].file);
		free(run->files[i].reject_file);
		for (int k = 0; k < run->files[i].nshown; k++)
			free(run->files[i].shown[k]);
	}
	free(run->files);
	memset(run, 0, sizeof *run);
}
