/*
 * load_path.c — the three paths a file's rows take, and the one loop they
 * share (load_run_path): rows are read into units, and each path says how a
 * unit begins, takes a row, ends and is given up.  A unit's rows are read by
 * load_read_unit() and counted by load_unit_start()/load_unit_counts(), here
 * for one connection and in load_jobs.c for many.
 *   batched  a unit of --batch-rows rows: COPY, settle every row, write the
 *            batch's rejects, checkpoint (position, rejected records,
 *            reserved ids), commit;
 *   fast     the whole file into an empty table in one transaction, the
 *            indexes rebuilt at its end; a refused row sends the file back
 *            to the batched path from its start;
 *   dry      every row validated, nothing written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy.h"
#include "load_impl.h"
#include "progress.h"
#include "signals.h"

enum etl_code
load_checkpoint(struct rows_pass *p, PGconn *conn, const struct copy_outcome *out,
                const struct unit_counts *u, struct ledger *next, bool ids_recorded,
                const char *update_columns)
{
	struct intake *it = p->it;
	int64_t expected = next->records_done;
	/* A file that changed since it was read first (an export still being
	 * written) stops before the batch commits: what is committed is what
	 * the history's prefix fingerprint says. */
	int64_t now = intake_size_now(it);
	if (p->held->bytes >= 0 && now >= 0 && now != p->held->bytes)
		return error_set(p->err, ETL_ESTOPPED, NULL, 0,
		                 "the file changed while it loaded (%lld bytes when it was read "
		                 "first, %lld now: an export still being written?); stopped "
		                 "before its next batch committed",
		                 (long long)p->held->bytes, (long long)now);
	next->rows_loaded += out->loaded;
	next->rows_updated += out->updated;
	next->rows_skipped += out->skipped + (int64_t)u->passed;
	if (out->loaded > 0 && !ids_recorded)
		next->undoable = false;
	next->rows_read += (int64_t)u->read;
	next->rows_rejected += (int64_t)u->rejected;
	next->records_done += (int64_t)u->read;
	(void)snprintf(next->prefix, sizeof next->prefix, "%s", u->prefix);
	if (intake_rejects(it) != NULL) {
		/* The rejects reach the disk before the commit that counts them. */
		if (reject_flush(intake_rejects(it), u->rejected > 0, p->err) != ETL_OK)
			return p->err->code;
		next->reject_bytes = (int64_t)reject_offset(intake_rejects(it));
		const char *rp = reject_path(intake_rejects(it));
		(void)snprintf(next->reject_file, sizeof next->reject_file, "%s", rp ? rp : "");
	}
	return ledger_checkpoint(conn, next, expected, &out->xmins, u->rej, u->nrej, out->ids,
	                         out->nids, update_columns, p->err);
}

/* The history row after a unit that ended with out: the unit's rejects on
 * disk first, then checkpointed in the unit's transaction.  next holds the
 * row the unit started from. */
static enum etl_code
checkpoint_unit(struct rows_pass *p, const struct copy_outcome *out, struct ledger *next,
                bool ids_recorded, const char *update_columns)
{
	struct unit_counts u;
	load_unit_counts(p->it, &p->start, &u);
	u.rej = intake_take_rejected(p->it, &u.nrej);
	return load_checkpoint(p, p->r->conn, out, &u, next, ids_recorded, update_columns);
}

void
load_unit_start(struct intake *it, struct unit_start *start)
{
	*start = (struct unit_start){intake_rows_read(it), intake_rows_rejected(it),
	                             intake_rows_passed(it)};
}

void
load_unit_counts(struct intake *it, const struct unit_start *start, struct unit_counts *u)
{
	*u = (struct unit_counts){intake_rows_read(it) - start->read,
	                          intake_rows_rejected(it) - start->rejected,
	                          intake_rows_passed(it) - start->passed,
	                          NULL,
	                          0,
	                          ""};
	(void)intake_prefix(it, u->prefix);
}

enum end
load_read_unit(const struct unit_reader *ur, bool *last, struct etl_error *err)
{
	struct intake *it = ur->it;
	uint64_t first = intake_rows_read(it);
	*last = false;
	while (ur->unit_rows == 0 || intake_rows_read(it) - first < (uint64_t)ur->unit_rows) {
		int got = intake_next(it, ur->skus, err);
		if (got == INTAKE_FULL)
			return END_OK; /* the unit ends; the next one reads on */
		if (got == 0 || got == INTAKE_STOP) {
			*last = true; /* after a stop, what was read is kept */
			return got == 0 ? END_OK : END_MAX_REJECTS;
		}
		if (got < 0 || ur->add(ur->arg) != ETL_OK)
			return END_ERROR;
		if (signals_received())
			return END_SIGNAL;
		progress_update(ur->pg, ur->offset + intake_rows_read(it), intake_raw_bytes(it));
		/* A batch of wide rows ends early (bounded by bytes too, held
		 * rejects counted); the fast path's one unit streams as it goes. */
		if (ur->unit_rows > 0 && ur->sink != NULL &&
		    copy_batch_bytes(ur->sink) + intake_held_bytes(it) >= COPY_BATCH_MAX_BYTES)
			return END_OK;
	}
	return END_OK;
}

static enum etl_code
copy_row(struct rows_pass *p)
{
	return copy_add(p->sink, intake_row(p->it), intake_record(p->it), intake_number(p->it),
	                p->err);
}

/* How many ids the next batch may need: rows left to take, at most a batch. */
static int64_t
batch_ids(const struct rows_pass *p)
{
	int64_t left = intake_left(p->it, p->held->records);
	return left < p->unit_rows ? left : p->unit_rows;
}

enum etl_code
load_write_rejects(struct intake *it, struct copy_sink *sink, const struct reject_held *held,
                   const struct copy_outcome *out, struct etl_error *err)
{
	if (held->data.failed)
		return error_oom(err, NULL, 0);
	struct reject_writer *w = intake_rejects(it);
	size_t k = 0;
	for (int i = 0; i <= out->nrejects; i++) {
		struct csvrow_record rec = {0};
		int64_t number = 0;
		if (i < out->nrejects)
			copy_row_record(sink, out->rejects[i].row, &rec, &number);
		size_t to = k;
		while (to < held->n && (i == out->nrejects || held->line[to] < rec.line))
			to++;
		if (w != NULL && reject_append(w, held, k, to, err) != ETL_OK)
			return err->code;
		k = to;
		if (i < out->nrejects &&
		    intake_reject(it, rec.nfields, rec.fields, rec.lens, false, rec.line, number,
		                  out->rejects[i].reason, err) != ETL_OK)
			return err->code;
	}
	return ETL_OK;
}

static enum etl_code
batch_begin(struct rows_pass *p)
{
	if (!p->r->o->single_transaction)
		p->held->committed = p->committed.records_done;
	reject_held_clear(&p->kept);
	intake_hold_rejects(p->it, &p->kept);
	return copy_begin(p->sink, batch_ids(p), p->err);
}

static enum end
batch_end(struct rows_pass *p, enum end why)
{
	(void)why;
	struct copy_outcome out;
	intake_hold_rejects(p->it, NULL);
	if (copy_end(p->sink, &out, p->err) != ETL_OK)
		return signals_received() ? END_SIGNAL : END_ERROR;
	bool failed = load_write_rejects(p->it, p->sink, &p->kept, &out, p->err) != ETL_OK;
	if (failed ||
	    checkpoint_unit(p, &out, p->led, copy_ids_recorded(p->sink),
	                    copy_update_columns(p->sink)) != ETL_OK ||
	    copy_commit(p->sink, p->err) != ETL_OK) {
		copy_abort(p->sink, NULL);
		*p->led = p->committed;
		return END_ERROR;
	}
	return END_OK;
}

static void
batch_abort(struct rows_pass *p, const char *why)
{
	intake_hold_rejects(p->it, NULL);
	copy_abort(p->sink, why);
}

const struct path_ops load_batched = {
        .begin = batch_begin, .add = copy_row, .end = batch_end, .abort = batch_abort};

static enum etl_code
nothing_to_begin(struct rows_pass *p)
{
	(void)p;
	return ETL_OK;
}

/* The rows, the rebuilt indexes, the history and the commit, all in one
 * transaction; with --single-transaction a stop keeps nothing. */
static enum end
fast_end(struct rows_pass *p, enum end why)
{
	if (why == END_MAX_REJECTS && p->r->o->single_transaction) {
		copy_abort_all(p->sink);
		return END_MAX_REJECTS;
	}
	struct copy_outcome out;
	if (copy_fast_end(p->sink, &out, &p->refused, p->err) != ETL_OK)
		return signals_received() ? END_SIGNAL : END_ERROR;
	if (p->refused)
		return END_OK;
	struct ledger next = *p->led;
	if (checkpoint_unit(p, &out, &next, out.nids > 0, NULL) != ETL_OK ||
	    copy_finish(p->sink, p->err) != ETL_OK) {
		copy_abort_all(p->sink);
		return END_ERROR;
	}
	*p->led = next;
	return END_OK;
}

static void
fast_abort(struct rows_pass *p, const char *why)
{
	(void)why;
	copy_abort_all(p->sink);
}

const struct path_ops load_fast = {
        .begin = nothing_to_begin, .add = copy_row, .end = fast_end, .abort = fast_abort};

/* A dry run keeps the products it validated when a later file of the run
 * may use them (a sales file, or a products file checked against them). */
static enum etl_code
dry_add(struct rows_pass *p)
{
	struct intake *it = p->it;
	const struct table_def *by = p->referrer;
	if (by != NULL && p->r->skus != NULL && p->r->skus_read_on) {
		const struct table_def *t = intake_map(it)->t;
		const struct value *key = &intake_row(it)->v[t->key[0]];
		int64_t *v = keyset_find(p->r->skus, key->s, key->n, true, NULL);
		if (v != NULL)
			v[1] = intake_row(it)->v[by->ref_source].i;
	}
	return ETL_OK;
}

static enum end
dry_end(struct rows_pass *p, enum end why)
{
	(void)p;
	(void)why;
	return END_OK;
}

static void
dry_abort(struct rows_pass *p, const char *why)
{
	(void)p;
	(void)why;
}

const struct path_ops load_dry = {
        .begin = nothing_to_begin, .add = dry_add, .end = dry_end, .abort = dry_abort};

/* A row of a pass taken by its path, and counted. */
struct path_row {
	const struct path_ops *path;
	struct rows_pass *p;
};

static enum etl_code
path_add(void *arg)
{
	struct path_row *pr = arg;
	enum etl_code rc = pr->path->add(pr->p);
	if (rc == ETL_OK)
		pr->p->added++;
	return rc;
}

enum end
load_run_path(const struct path_ops *path, struct rows_pass *p)
{
	struct intake *it = p->it;
	const struct load_opts *o = p->r->o;
	struct progress *pg =
	        progress_start(intake_name(it), intake_raw_size(it), o->progress && !o->quiet);
	struct path_row pr = {path, p};
	struct unit_reader ur = {.it = it,
	                         .skus = p->r->skus,
	                         .unit_rows = p->unit_rows,
	                         .sink = p->sink,
	                         .add = path_add,
	                         .arg = &pr,
	                         .pg = pg,
	                         .offset = p->base != NULL ? (uint64_t)p->base->records_done : 0};
	enum end end = END_OK;
	bool last = false;
	while (!last) {
		if (signals_received()) {
			end = END_SIGNAL;
			break;
		}
		/* What the history holds before this unit, and keeps if it fails. */
		if (p->led != NULL)
			p->committed = *p->led;
		load_unit_start(it, &p->start);
		if (path->begin(p) != ETL_OK) {
			path->abort(p, NULL);
			end = END_ERROR;
			break;
		}
		end = load_read_unit(&ur, &last, p->err);
		if (end == END_ERROR || end == END_SIGNAL) {
			path->abort(p, end == END_SIGNAL ? "interrupted" : "stopped");
			break;
		}
		enum end ended = path->end(p, end);
		if (ended != END_OK) {
			end = ended;
			break;
		}
		if ((o->max_rejects >= 0 && intake_rows_rejected(it) > (uint64_t)o->max_rejects) ||
		    intake_over_reject_bytes(it)) {
			end = END_MAX_REJECTS;
			break;
		}
	}
	progress_done(pg);
	return end;
}

void
dry_run_file(struct run_shared *r, struct intake *it, struct load_file *lf)
{
	double started = load_now();
	struct etl_error e;
	error_clear(&e);
	/* A reject file that exists (a load's, perhaps corrected by hand) is
	 * never replaced by a dry run's: its rejects go beside it. */
	char *path = intake_reject_name(it, NULL);
	if (path != NULL && reject_exists(path)) {
		char *beside = intake_reject_name(it, "dry-run");
		if (beside != NULL && !r->o->quiet)
			notex_etl("%s: %s exists; this dry run's rejects go to %s", intake_name(it),
			          path, beside);
		free(path);
		path = beside;
	}
	enum etl_code rc = intake_start_rejects_at(it, -1, path, &e);
	free(path);
	if (rc != ETL_OK) {
		load_fail_file(lf, it, &e);
		return;
	}
	intake_set_known(it, load_known(r, intake_map(it)->t));
	struct rows_pass p = {
	        .r = r, .it = it, .err = &e, .referrer = table_referrer(intake_kind(it))};
	enum end end = load_run_path(&load_dry, &p);
	lf->r.seconds = load_now() - started;
	lf->r.rows_read = intake_rows_read(it);
	lf->r.rows_rejected = intake_rows_rejected(it);
	lf->r.rows_loaded = p.added;
	load_take_messages(lf, it);
	if (end == END_ERROR) {
		load_fail_file(lf, it, &e);
	} else if (end == END_MAX_REJECTS) {
		lf->code = ETL_ESTOPPED;
		lf->r.status = "stopped";
		if (intake_over_reject_bytes(it))
			(void)error_set(&lf->error, ETL_ESTOPPED, intake_name(it), 0,
			                "stopped: its reject file passed %lld bytes "
			                "(--max-reject-bytes)",
			                (long long)r->o->max_reject_bytes);
		else
			(void)error_set(&lf->error, ETL_ESTOPPED, intake_name(it), 0,
			                "stopped: more than %lld rows rejected (--max-rejects)",
			                (long long)r->o->max_rejects);
	} else {
		lf->code = intake_rows_rejected(it) > 0 ? ETL_REJECTED : ETL_OK;
		lf->r.status = intake_rows_rejected(it) > 0 ? "partial" : "loaded";
	}
	if (reject_flush(intake_rejects(it), false, &e) != ETL_OK)
		load_fail_file(lf, it, &e);
}
