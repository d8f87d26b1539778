/*
 * load.c — running a load: open every file and recognise its kind, order
 * them users, products, events, sales, then take each through the intake
 * and (unless this is a dry run) into the database.
 */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "intake.h"
#include "refdata.h"
#include "valid.h"

void
load_opts_default(struct load_opts *o)
{
	memset(o, 0, sizeof *o);
	o->batch_rows = 10000;
	o->on_conflict = CONFLICT_ERROR;
	o->max_rejects = -1;
	o->enc = ENC_UTF8;
	o->delim = ',';
	o->jobs = 2;
	o->progress = true;
}

static double
now(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One file of the run, from opening to its outcome. */
struct job {
	struct intake *it;
	enum etl_code open_rc;
	struct etl_error open_err;
	int order; /* position on the command line */
};

static int
job_cmp(const void *a, const void *b)
{
	const struct job *x = a, *y = b;
	int kx = x->it && x->open_rc == ETL_OK ? (int)x->it->kind : -1;
	int ky = y->it && y->open_rc == ETL_OK ? (int)y->it->kind : -1;
	if (kx != ky)
		return kx - ky;
	return x->order - y->order;
}

static void
finish_file(struct load_file *lf, struct intake *it, double started)
{
	lf->r.seconds = now() - started;
	lf->r.rows_read = it->rows_read;
	lf->r.rows_rejected = it->rows_rejected;
	const char *rp = reject_path(it->rej);
	if (rp != NULL) {
		lf->reject_file = strdup(rp);
		lf->r.reject_file = lf->reject_file;
	}
	for (int i = 0; i < it->nshown && i < 10; i++) {
		lf->shown[i] = it->shown[i];
		it->shown[i] = NULL;
	}
	lf->nshown = it->nshown < 10 ? it->nshown : 10;
	it->nshown = 0;
}

/* Marks a file failed: nothing of it counts, its reject file goes. */
static void
fail_file(struct load_file *lf, struct intake *it, const struct etl_error *e)
{
	lf->code = e->code == ETL_OK ? ETL_EINPUT : e->code;
	lf->error = *e;
	lf->r.status = "failed";
	lf->r.rows_read = lf->r.rows_loaded = lf->r.rows_updated = lf->r.rows_skipped = 0;
	lf->r.rows_rejected = 0;
	if (it != NULL && it->rej != NULL)
		(void)reject_truncate(it->rej, 0, NULL);
	free(lf->reject_file);
	lf->reject_file = NULL;
	lf->r.reject_file = NULL;
}

/* A dry run of one file: every row validated, nothing written. */
static void
dry_run_file(const struct load_opts *o, struct intake *it, struct keyset *skus,
             struct load_file *lf)
{
	double started = now();
	struct etl_error e;
	error_clear(&e);
	uint64_t valid = 0;
	int got;
	bool stopped;

	if (intake_start_rejects(it, &e) != ETL_OK) {
		fail_file(lf, it, &e);
		return;
	}
	while ((got = intake_next(it, skus, &e)) == 1) {
		valid++;
		/* A later sales file of the run may use this product. */
		if (it->kind == KIND_PRODUCTS && skus != NULL) {
			const struct table_def *t = it->map.t;
			const struct value *sku = &it->row.v[table_rule_col(t, RULE_SKU)];
			int64_t *p = keyset_find(skus, sku->s, sku->n, true, NULL);
			if (p != NULL)
				p[1] = it->row.v[table_rule_col(t, RULE_MONEY)].i;
		}
	}
	stopped = got == INTAKE_STOP;
	finish_file(lf, it, started);
	lf->r.rows_loaded = valid;
	if (got < 0) {
		fail_file(lf, it, &e);
	} else if (stopped) {
		lf->code = ETL_ESTOPPED;
		lf->r.status = "stopped";
		(void)error_set(&lf->error, ETL_ESTOPPED, it->name, 0,
		                "stopped: more than %lld rows rejected (--max-rejects)",
		                (long long)o->max_rejects);
	} else if (it->rows_rejected > 0) {
		lf->code = ETL_REJECTED;
		lf->r.status = "partial";
	} else {
		lf->code = ETL_OK;
		lf->r.status = "loaded";
	}
	if (reject_flush(it->rej, false, &e) != ETL_OK)
		fail_file(lf, it, &e);
}

enum etl_code
load_files(const struct load_opts *o, char *const *specs, int nspecs, struct load_run *run,
           struct etl_error *err)
{
	struct validator *v = NULL;
	struct job *jobs = NULL;
	struct keyset *skus = NULL;
	PGconn *conn = NULL;
	enum etl_code rc;
	memset(run, 0, sizeof *run);

	struct valid_opts vo = {o->sku_pattern, o->timezone, o->allow_future, false, 0};
	rc = valid_open(&v, &vo, err);
	if (rc != ETL_OK)
		goto out;
	struct intake_opts io = {o->enc, o->delim, v,  o->reject_dir,
	                         true,   true,     -1, o->max_rejects};

	jobs = calloc((size_t)nspecs, sizeof *jobs);
	run->files = calloc((size_t)nspecs, sizeof *run->files);
	if (jobs == NULL || run->files == NULL) {
		rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
		goto out;
	}
	/* Open every file first: its header tells its kind, and thus its turn. */
	for (int i = 0; i < nspecs; i++) {
		jobs[i].order = i;
		error_clear(&jobs[i].open_err);
		jobs[i].open_rc = intake_open(&jobs[i].it, specs[i], &io, &jobs[i].open_err);
	}
	qsort(jobs, (size_t)nspecs, sizeof *jobs, job_cmp);

	if (o->dry_run) {
		/* SKU references are checked when a database is reachable. */
		struct etl_error cerr;
		conn = db_open(o->db, &cerr);
		if (conn != NULL) {
			skus = keyset_new();
			if (skus == NULL || refdata_load_skus(conn, skus, &cerr) != ETL_OK) {
				keyset_free(skus);
				skus = NULL;
			}
		}
		if (skus == NULL)
			warnx_etl("%s; SKU references of sales files are not checked",
			          conn == NULL ? "no database reachable"
			                       : "cannot read the products");
		run->database_checked = skus != NULL;
		PQfinish(conn);
		conn = NULL;
	}

	rc = ETL_OK;
	for (int i = 0; i < nspecs; i++) {
		struct job *j = &jobs[i];
		struct load_file *lf = &run->files[run->nfiles++];
		const char *file;
		(void)intake_parse_spec(specs[j->order], &file);
		lf->file = strdup(file);
		lf->r.file = lf->file ? lf->file : "?";
		if (j->open_rc != ETL_OK) {
			fail_file(lf, NULL, &j->open_err);
			lf->r.kind = j->it && j->it->kind != KIND_NONE
			                     ? table_get(j->it->kind)->name
			                     : NULL;
		} else {
			lf->r.kind = table_get(j->it->kind)->name;
			dry_run_file(o, j->it, skus, lf);
		}
		struct etl_error cerr;
		if (intake_close(j->it, &cerr) != ETL_OK && lf->code != ETL_EINPUT)
			fail_file(lf, NULL, &cerr);
		j->it = NULL;
		rc = error_worst(rc, lf->code);
	}
out:
	for (int i = 0; jobs != NULL && i < nspecs; i++)
		(void)intake_close(jobs[i].it, NULL);
	free(jobs);
	keyset_free(skus);
	valid_close(v);
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
