/*
 * load.c — running a load: open every file and recognise its kind, order
 * them users, products, events, sales, then take each through the intake
 * into the database in batches, with the load history beside it.
 *
 * One file:
 *   fingerprint (of its decoded records, and of its bytes; a gzip stream is
 *   decoded to its end first, so a corrupt file loads nothing) -> claim it
 *   in the history (ledger_claim: skip, report earlier rejects, resume,
 *   retry with new options, or start; --force undoes earlier loads first)
 *   -> batches: COPY, settle every row, write the batch's rejects,
 *   checkpoint (position, rejected records, reserved ids), commit -> record
 *   the outcome.
 *
 * Every transaction of a load begins with its settings (SET LOCAL) and a
 * hold on its history row: no session state, so a pooler in transaction
 * mode may give each transaction another server connection.
 */
#include "load.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copy.h"
#include "db.h"
#include "intake.h"
#include "ledger.h"
#include "progress.h"
#include "refdata.h"
#include "schema.h"
#include "signals.h"
#include "valid.h"

#define ANALYZE_ROWS 10000 /* a load that adds this many rows ends with ANALYZE */

void
load_opts_default(struct load_opts *o)
{
	memset(o, 0, sizeof *o);
	o->batch_rows = 50000;
	o->on_conflict = CONFLICT_ERROR;
	o->max_rejects = -1;
	o->enc = ENC_UTF8;
	o->delim = ',';
	o->jobs = 2;
	o->progress = true;
	o->announce = true;
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

/* What the files of a run share. */
struct run {
	const struct load_opts *o;
	PGconn *conn;
	char *settings; /* SET LOCAL … run first in every transaction */
	struct schema_facts facts;
	struct keyset *skus; /* sku -> product id, price */
	bool skus_stale;     /* products changed since the map was read */
	int stage_id;
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

/* Moves the intake's kept reasons and reject file into the result. */
static void
take_messages(struct load_file *lf, struct intake *it)
{
	const char *rp = reject_path(it->rej);
	free(lf->reject_file);
	lf->reject_file = rp ? strdup(rp) : NULL;
	lf->r.reject_file = lf->reject_file;
	for (int i = 0; i < it->nshown && lf->nshown < 10; i++) {
		lf->shown[lf->nshown++] = it->shown[i];
		it->shown[i] = NULL;
	}
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

/* The map of what by's reference column names (SKU -> product id, price)
 * for a sales file: read again when products changed. */
static enum etl_code
ensure_skus(struct run *r, const struct table_def *by, struct etl_error *err)
{
	if (r->skus != NULL && !r->skus_stale)
		return ETL_OK;
	keyset_free(r->skus);
	r->skus = keyset_new();
	if (r->skus == NULL)
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	r->skus_stale = false;
	return refdata_load_refs(r->conn, by, r->skus, err);
}

/* ---- dry run ------------------------------------------------------------- */

/* A dry run of one file: every row validated, nothing written. */
static void
dry_run_file(struct run *r, struct intake *it, struct load_file *lf)
{
	double started = now();
	struct etl_error e;
	error_clear(&e);
	uint64_t valid = 0;
	int got;

	if (intake_start_rejects(it, -1, &e) != ETL_OK) {
		fail_file(lf, it, &e);
		return;
	}
	struct progress *pg =
	        progress_start(it->name, input_raw_size(it->in), r->o->progress && !r->o->quiet);
	while ((got = intake_next(it, r->skus, &e)) == 1) {
		valid++;
		progress_update(pg, it->rows_read, input_raw_bytes(it->in));
		/* A later sales file of the run may use this product. */
		const struct table_def *by = table_referrer(it->kind);
		if (by != NULL && r->skus != NULL) {
			const struct table_def *t = it->map.t;
			const struct value *key = &it->row.v[t->key[0]];
			int64_t *p = keyset_find(r->skus, key->s, key->n, true, NULL);
			if (p != NULL)
				p[1] = it->row.v[by->ref_source].i;
		}
	}
	progress_done(pg);
	lf->r.seconds = now() - started;
	lf->r.rows_read = it->rows_read;
	lf->r.rows_rejected = it->rows_rejected;
	lf->r.rows_loaded = valid;
	take_messages(lf, it);
	if (got < 0) {
		fail_file(lf, it, &e);
	} else if (got == INTAKE_STOP) {
		lf->code = ETL_ESTOPPED;
		lf->r.status = "stopped";
		(void)error_set(&lf->error, ETL_ESTOPPED, it->name, 0,
		                "stopped: more than %lld rows rejected (--max-rejects)",
		                (long long)r->o->max_rejects);
	} else {
		lf->code = it->rows_rejected > 0 ? ETL_REJECTED : ETL_OK;
		lf->r.status = it->rows_rejected > 0 ? "partial" : "loaded";
	}
	if (reject_flush(it->rej, false, &e) != ETL_OK)
		fail_file(lf, it, &e);
}

/* ---- a real load of one file ------------------------------------------- */

/* How a file's batches ended. */
enum end { END_EOF, END_MAX_REJECTS, END_SIGNAL, END_ERROR };

static void
set_counts(struct load_file *lf, const struct ledger *led)
{
	lf->r.rows_read = (uint64_t)led->rows_read;
	lf->r.rows_loaded = (uint64_t)led->rows_loaded;
	lf->r.rows_updated = (uint64_t)led->rows_updated;
	lf->r.rows_skipped = (uint64_t)led->rows_skipped;
	lf->r.rows_rejected = (uint64_t)led->rows_rejected;
}

/* One file's load, as the transactions it begins see it. */
struct held {
	struct run *r;
	struct ledger *led;
	int64_t committed; /* records_done as committed before this transaction */
	int64_t records;   /* data records in the file */
};

/* Right after each BEGIN: the run's settings, then the hold on the load's
 * history row (which also shows that the load is alive). */
static enum etl_code
begun(void *arg, struct etl_error *err)
{
	struct held *h = arg;
	enum etl_code rc = db_exec(h->r->conn, h->r->settings, err);
	if (rc == ETL_OK)
		rc = ledger_hold(h->r->conn, h->led, h->committed, err);
	return rc;
}

/* How many ids the next batch may need: rows left to take, at most a batch. */
static int64_t
batch_ids(const struct intake *it, const struct held *h, long batch_rows)
{
	int64_t left = it->filter != NULL ? (int64_t)(it->nfilter - it->filter_pos)
	                                  : h->records - (it->skipped + (int64_t)it->rows_read);
	return left < batch_rows ? left : batch_rows;
}

/* The batches of one file, from the intake's position on. */
static enum end
run_batches(struct run *r, struct intake *it, struct copy_sink *sink, struct ledger *led,
            const struct ledger *base, struct held *held, struct etl_error *err)
{
	const struct load_opts *o = r->o;
	struct progress *pg =
	        progress_start(it->name, input_raw_size(it->in), o->progress && !o->quiet);
	enum end end = END_EOF;
	bool more = true;

	while (more) {
		if (signals_received()) {
			end = END_SIGNAL;
			break;
		}
		/* What the history holds before this batch, and keeps if it fails. */
		const struct ledger committed = *led;
		if (!o->single_transaction)
			held->committed = committed.records_done;
		if (copy_begin(sink, batch_ids(it, held, o->batch_rows), err) != ETL_OK) {
			copy_abort(sink, NULL);
			end = END_ERROR;
			break;
		}
		uint64_t first = it->rows_read;
		uint64_t rejected_before = it->rows_rejected;
		uint64_t passed_before = it->rows_passed;
		while (it->rows_read - first < (uint64_t)o->batch_rows) {
			int got = intake_next(it, r->skus, err);
			if (got == 1) {
				if (copy_add(sink, &it->row, &it->rec, it->number, err) != ETL_OK) {
					end = END_ERROR;
					break;
				}
			} else if (got == 0) {
				more = false;
				break;
			} else if (got == INTAKE_STOP) {
				end = END_MAX_REJECTS;
				more = false;
				break;
			} else {
				end = END_ERROR;
				break;
			}
			if (signals_received()) {
				end = END_SIGNAL;
				break;
			}
			progress_update(pg, (uint64_t)base->records_done + it->rows_read,
			                input_raw_bytes(it->in));
		}
		if (end == END_ERROR || end == END_SIGNAL) {
			copy_abort(sink, end == END_SIGNAL ? "interrupted" : "stopped");
			break;
		}
		struct copy_outcome out;
		if (copy_end(sink, &out, err) != ETL_OK) {
			end = signals_received() ? END_SIGNAL : END_ERROR;
			break;
		}
		struct csvrow_record rec;
		int64_t number;
		bool failed = false;
		for (int i = 0; i < out.nrejects && !failed; i++) {
			copy_row_record(sink, out.rejects[i].row, &rec, &number);
			failed = intake_reject(it, rec.nfields, rec.fields, rec.lens, rec.line,
			                       number, out.rejects[i].reason, err) != ETL_OK;
		}
		bool rejected = it->rows_rejected > rejected_before;
		led->rows_loaded += out.loaded;
		led->rows_updated += out.updated;
		led->rows_skipped += out.skipped + (int64_t)(it->rows_passed - passed_before);
		if (out.loaded > 0 && !copy_ids_recorded(sink))
			led->undoable = false;
		led->rows_read = base->rows_read + (int64_t)it->rows_read;
		led->rows_rejected = base->rows_rejected + (int64_t)it->rows_rejected;
		led->records_done = base->records_done + (int64_t)it->rows_read;
		if (!failed && it->rej != NULL) {
			/* The rejects reach the disk before the commit that counts them. */
			failed = reject_flush(it->rej, rejected, err) != ETL_OK;
			led->reject_bytes = (int64_t)reject_offset(it->rej);
			const char *rp = reject_path(it->rej);
			(void)snprintf(led->reject_file, sizeof led->reject_file, "%s",
			               rp ? rp : "");
		}
		size_t nrej;
		const int64_t *rej = intake_take_rejected(it, &nrej);
		if (failed ||
		    ledger_checkpoint(r->conn, led, committed.records_done, rej, nrej, out.ids,
		                      out.nids, copy_update_columns(sink), err) != ETL_OK ||
		    copy_commit(sink, err) != ETL_OK) {
			copy_abort(sink, NULL);
			*led = committed;
			end = END_ERROR;
			break;
		}
		if (o->max_rejects >= 0 && it->rows_rejected > (uint64_t)o->max_rejects) {
			end = END_MAX_REJECTS;
			break;
		}
	}
	progress_done(pg);
	return end;
}

/* The fast path: every row through one COPY into the empty table, then the
 * rebuilt indexes, the history and the commit, all in one transaction.
 * *refused: the server refused a row, nothing was kept, start over. */
static enum end
run_fast(struct run *r, struct intake *it, struct copy_sink *sink, struct ledger *led,
         const struct ledger *base, bool *refused, struct etl_error *err)
{
	const struct load_opts *o = r->o;
	struct progress *pg =
	        progress_start(it->name, input_raw_size(it->in), o->progress && !o->quiet);
	enum end end = END_EOF;
	int got;
	*refused = false;
	while ((got = intake_next(it, r->skus, err)) != 0) {
		if (got == INTAKE_STOP) {
			end = END_MAX_REJECTS; /* what was read is kept, as in batches */
			break;
		}
		if (got < 0 || copy_add(sink, &it->row, &it->rec, it->number, err) != ETL_OK) {
			end = END_ERROR;
			break;
		}
		if (signals_received()) {
			end = END_SIGNAL;
			break;
		}
		progress_update(pg, it->rows_read, input_raw_bytes(it->in));
	}
	progress_done(pg);
	/* All or nothing: with --single-transaction a stop keeps nothing. */
	if (end == END_ERROR || end == END_SIGNAL ||
	    (end == END_MAX_REJECTS && o->single_transaction)) {
		copy_abort_all(sink);
		return end;
	}
	struct copy_outcome out;
	if (copy_fast_end(sink, &out, refused, err) != ETL_OK)
		return signals_received() ? END_SIGNAL : END_ERROR;
	if (*refused)
		return END_EOF;
	struct ledger next = *led;
	next.rows_loaded = base->rows_loaded + out.loaded;
	next.rows_skipped = base->rows_skipped + (int64_t)it->rows_passed;
	if (out.loaded > 0 && out.nids == 0)
		next.undoable = false;
	next.rows_read = base->rows_read + (int64_t)it->rows_read;
	next.rows_rejected = base->rows_rejected + (int64_t)it->rows_rejected;
	next.records_done = base->records_done + (int64_t)it->rows_read;
	bool failed = false;
	if (it->rej != NULL) {
		failed = reject_flush(it->rej, it->rows_rejected > 0, err) != ETL_OK;
		next.reject_bytes = (int64_t)reject_offset(it->rej);
		const char *rp = reject_path(it->rej);
		(void)snprintf(next.reject_file, sizeof next.reject_file, "%s", rp ? rp : "");
	}
	size_t nrej;
	const int64_t *rej = intake_take_rejected(it, &nrej);
	if (failed ||
	    ledger_checkpoint(r->conn, &next, led->records_done, rej, nrej, out.ids, out.nids, NULL,
	                      err) != ETL_OK ||
	    copy_finish(sink, err) != ETL_OK) {
		copy_abort_all(sink);
		return END_ERROR;
	}
	*led = next;
	return end;
}

/* ANALYZE after a load that changed ANALYZE_ROWS rows or more, and at least a
 * tenth of the table: autovacuum's own rule, without waiting for it. */
static void
analyze(PGconn *conn, const char *table, int64_t changed)
{
	if (changed < ANALYZE_ROWS)
		return;
	const char *params[1] = {table};
	PGresult *res = db_query(conn, "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)",
	                         1, params, NULL);
	double before = res != NULL && PQntuples(res) == 1 ? atof(PQgetvalue(res, 0, 0)) : -1;
	PQclear(res);
	if (before > 0 && (double)changed < before / 10)
		return;
	char sql[64];
	(void)snprintf(sql, sizeof sql, "ANALYZE %s", table);
	(void)db_exec(conn, sql, NULL);
}

/* --on-conflict's values, by enum on_conflict. */
static const char *const conflict_modes[] = {"error", "skip", "update"};

/* The options that decide rows' outcomes, as the history compares them. */
static void
outcome_options(const struct load_opts *o, char *buf, size_t size)
{
	(void)snprintf(buf, size,
	               "on-conflict=%s encoding=%s delimiter=%u allow-future=%s timezone=%s "
	               "sku-pattern=%s",
	               conflict_modes[o->on_conflict], input_encoding_name(o->enc),
	               (unsigned)o->delim, o->allow_future ? "yes" : "no",
	               o->timezone ? o->timezone : "UTC", o->sku_pattern ? o->sku_pattern : "");
}

/* A file loaded before with the same options, some of whose rows were
 * rejected then: nothing is done, and exit 1 says those rows are out (also
 * with --quiet: it is the reason for the exit status). */
static void
earlier_rejects(struct load_file *lf, struct intake *it, const struct ledger *led)
{
	lf->code = ETL_REJECTED;
	lf->r.status = "skipped";
	lf->r.load_id = led->load_id;
	lf->r.rows_read = (uint64_t)led->rows_read;
	lf->r.rows_rejected = (uint64_t)led->rows_rejected;
	lf->r.rows_skipped = (uint64_t)(led->rows_read - led->rows_rejected);
	free(lf->reject_file);
	lf->reject_file = led->reject_file[0] ? strdup(led->reject_file) : NULL;
	lf->r.reject_file = lf->reject_file;
	warnx_etl("%s: load %lld of this content rejected %lld rows%s%s%s; correct them and load "
	          "that file, or retry them with other values of the options that decide "
	          "(--on-conflict, --encoding, --allow-future, --sku-pattern, --timezone, "
	          "--delimiter)",
	          it->name, (long long)led->load_id, (long long)led->rows_rejected,
	          lf->reject_file ? " (they are in " : "", lf->reject_file ? lf->reject_file : "",
	          lf->reject_file ? ")" : "");
}

static void
load_file(struct run *r, struct intake *it, struct load_file *lf)
{
	const struct load_opts *o = r->o;
	double started = now();
	struct etl_error e;
	struct ledger led, base;
	struct ledger_claim claim;
	struct copy_sink *sink = NULL;
	bool in_file_txn = false;
	struct intake_print print;
	char options[512];
	error_clear(&e);
	memset(&claim, 0, sizeof claim);

	/* The whole file first: its fingerprints, and a gzip stream decoded
	 * to its end, so that a damaged file loads nothing at all.  Bytes
	 * loaded before with these options have their content fingerprint in
	 * the history (and were found sound then): a rerun or a resume reads
	 * them once, without decoding. */
	outcome_options(o, options, sizeof options);
	bool known = false;
	if (intake_fingerprint_bytes(it, &print, &e) != ETL_OK ||
	    ledger_known_content(r->conn, it->map.t->name, print.bytes, options, print.content,
	                         &print.records, &known, &e) != ETL_OK ||
	    (!known && intake_fingerprint(it, &print, &e) != ETL_OK)) {
		fail_file(lf, it, &e);
		return;
	}
	struct ledger_claim_opts want = {it->name,
	                                 print.content,
	                                 print.bytes,
	                                 print.size,
	                                 print.records,
	                                 it->map.t,
	                                 conflict_modes[o->on_conflict],
	                                 options,
	                                 o->force};
	if (ledger_claim(r->conn, &want, &claim, &e) != ETL_OK) {
		if (e.code == ETL_ESTOPPED) {
			lf->code = ETL_ESTOPPED;
			lf->r.status = "stopped";
			lf->error = e;
			(void)snprintf(lf->error.file, sizeof lf->error.file, "%s", it->name);
		} else {
			fail_file(lf, it, &e);
		}
		return;
	}
	led = claim.led;
	lf->r.load_id = led.load_id;
	if (!o->quiet && claim.interrupted[0] != '\0')
		notex_etl("%s: an earlier load of this file was %s", it->name, claim.interrupted);
	if (claim.waited && !o->quiet)
		notex_etl("%s: waited for another siprems-etl loading the same file", it->name);
	if (claim.undone > 0 && !o->quiet)
		notex_etl("%s: --force: undid %d earlier load%s of this file (%lld rows deleted)",
		          it->name, claim.undone, claim.undone > 1 ? "s" : "",
		          (long long)claim.undone_rows);
	if (claim.action == LEDGER_SKIP) {
		/* Loaded before (the name may differ): nothing to do. */
		lf->code = ETL_OK;
		lf->r.status = "skipped";
		lf->r.rows_read = lf->r.rows_skipped = (uint64_t)led.rows_read;
		if (!o->quiet)
			notex_etl("%s: loaded before (load %lld, same content); skipped; --force "
			          "loads it again",
			          it->name, (long long)led.load_id);
		goto out;
	}
	if (claim.action == LEDGER_REJECTS) {
		earlier_rejects(lf, it, &led);
		goto out;
	}
	bool resume = claim.action == LEDGER_RESUME;
	if (claim.action == LEDGER_RETRY && !o->quiet) {
		if (claim.records != NULL)
			notex_etl(
			        "%s: load %lld rejected %lld rows with other options; taking those "
			        "rows again (load %lld), the others are in already",
			        it->name, (long long)claim.earlier.load_id,
			        (long long)claim.nrecords, (long long)led.load_id);
		else
			notex_etl(
			        "%s: loaded before (load %lld) with other options; going through "
			        "it again (load %lld): rows the table already holds as in the file "
			        "count as skipped",
			        it->name, (long long)claim.earlier.load_id, (long long)led.load_id);
	}
	if (claim.records != NULL) {
		intake_set_filter(it, claim.records, claim.nrecords);
		claim.records = NULL;
	}
	base = led;
	if (it->map.t->ref_col >= 0 && ensure_skus(r, it->map.t, &e) != ETL_OK) {
		fail_file(lf, it, &e);
		goto out;
	}
	if (resume && led.records_done > 0) {
		if (intake_skip(it, led.records_done, r->skus, &e) != ETL_OK) {
			fail_file(lf, it, &e);
			goto out;
		}
		if (!o->quiet)
			notex_etl("%s: resuming load %lld after %lld rows already committed",
			          it->name, (long long)led.load_id, (long long)led.records_done);
	}
	if (intake_start_rejects(it, resume ? led.reject_bytes : -1, &e) != ETL_OK) {
		fail_file(lf, it, &e);
		goto out;
	}
	const char *tz = o->timezone ? o->timezone : "UTC";
	struct held held = {r, &led, led.records_done, print.records};
	struct copy_opts co = {r->conn,
	                       &it->map,
	                       o->on_conflict,
	                       &r->facts,
	                       o->single_transaction,
	                       ++r->stage_id,
	                       strcmp(tz, "UTC") == 0 || strcmp(tz, "GMT") == 0,
	                       o->copy_text,
	                       led.load_id,
	                       claim.action == LEDGER_RETRY,
	                       begun,
	                       &held};
	if (copy_open(&sink, &co, &e) != ETL_OK) {
		fail_file(lf, it, &e);
		goto out;
	}
	/* An empty table takes the fast path.  If the server refuses a row
	 * there, the file goes through the batches from its start, where
	 * refused rows are isolated: the outcome is the same. */
	enum end end = END_EOF;
	bool fast = false, done = false;
	if (led.records_done == 0 && copy_fast_begin(sink, o->jobs, &fast, &e) != ETL_OK) {
		fail_file(lf, it, &e);
		goto out;
	}
	if (fast) {
		bool refused;
		end = run_fast(r, it, sink, &led, &base, &refused, &e);
		done = !refused;
		if (done && end == END_EOF && !o->quiet)
			notex_etl("%s: %s was empty: loaded with one COPY in one transaction "
			          "(indexes and foreign keys rebuilt: %d)",
			          it->name, it->map.t->table, copy_fast_rebuilt(sink));
		if (refused) {
			if (!o->quiet)
				notex_etl("%s: the one-transaction load into the empty table gave "
				          "way (%s); loading the file again in batches",
				          it->name, copy_fast_refusal(sink));
			if (intake_rewind(it, &e) != ETL_OK) {
				fail_file(lf, it, &e);
				goto out;
			}
		}
	}
	if (!done && o->single_transaction) {
		held.committed = led.records_done;
		if (db_exec(r->conn, "BEGIN", &e) != ETL_OK) {
			fail_file(lf, it, &e);
			goto out;
		}
		in_file_txn = true;
		if (begun(&held, &e) != ETL_OK) {
			copy_abort_all(sink);
			in_file_txn = false;
			fail_file(lf, it, &e);
			goto out;
		}
	}
	if (!done)
		end = run_batches(r, it, sink, &led, &base, &held, &e);
	if (end == END_EOF && in_file_txn) {
		in_file_txn = false;
		if (copy_finish(sink, &e) != ETL_OK)
			end = END_ERROR;
	}
	if (end != END_EOF) {
		if (in_file_txn) {
			/* All or nothing: a stopped file leaves nothing. */
			copy_abort_all(sink);
			in_file_txn = false;
			led = base;
		}
		/* The reject file goes back to what the committed batches wrote. */
		if (it->rej != NULL)
			(void)reject_truncate(it->rej, (uint64_t)led.reject_bytes, NULL);
	}
	const char *status;
	char msg[1400];
	msg[0] = '\0';
	switch (end) {
	case END_EOF:
		status = led.rows_rejected > 0 ? "partial" : "loaded";
		lf->code = led.rows_rejected > 0 ? ETL_REJECTED : ETL_OK;
		break;
	case END_MAX_REJECTS:
		status = "stopped";
		lf->code = ETL_ESTOPPED;
		(void)snprintf(
		        msg, sizeof msg,
		        "stopped: more than %lld rows rejected (--max-rejects); the next run "
		        "resumes after row %lld",
		        (long long)o->max_rejects, (long long)led.records_done);
		break;
	case END_SIGNAL:
		status = "stopped";
		lf->code = ETL_ESTOPPED;
		(void)snprintf(msg, sizeof msg,
		               "interrupted by %s; the open batch was rolled back, the next run "
		               "resumes after row %lld",
		               signals_received() == SIGTERM ? "SIGTERM" : "SIGINT",
		               (long long)led.records_done);
		break;
	default:
		status = "failed";
		lf->code = e.code == ETL_OK ? ETL_EDB : e.code;
		(void)snprintf(msg, sizeof msg, "%s; the next run resumes after row %lld", e.msg,
		               (long long)led.records_done);
		break;
	}
	lf->r.status = status;
	set_counts(lf, &led);
	if (msg[0] != '\0')
		(void)error_set(&lf->error, lf->code, it->name, 0, "%s", msg);
	if (PQstatus(r->conn) == CONNECTION_OK) {
		struct etl_error fe;
		if (ledger_finish(r->conn, &led, status, msg[0] ? msg : NULL, &fe) != ETL_OK &&
		    lf->code == ETL_OK) {
			lf->code = ETL_EDB;
			lf->error = fe;
		}
	}
	if (table_referrer(it->kind) != NULL && led.rows_loaded + led.rows_updated > 0)
		r->skus_stale = true;
	/* Fresh statistics for the forecasting queries that follow a load. */
	if (end == END_EOF && PQstatus(r->conn) == CONNECTION_OK)
		analyze(r->conn, it->map.t->table, led.rows_loaded + led.rows_updated);
out:
	if (in_file_txn)
		copy_abort_all(sink);
	copy_close(sink);
	free(claim.records);
	if (claim.action != LEDGER_REJECTS)
		take_messages(lf, it);
	if (strcmp(lf->r.status ? lf->r.status : "", "failed") == 0 && lf->code == ETL_EINPUT)
		fail_file(lf, it, &lf->error);
	lf->r.seconds = now() - started;
}

/* ---- the run -------------------------------------------------------------- */

/* Warnings of ANALYZE for tables the role does not own are not news. */
static void
quiet_notices(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;
}

static enum etl_code
connect_run(struct run *r, struct etl_error *err)
{
	const struct load_opts *o = r->o;
	r->conn = db_open(o->db, err);
	if (r->conn == NULL)
		return err->code;
	if (o->announce && !o->quiet)
		db_announce(r->conn);
	(void)PQsetNoticeReceiver(r->conn, quiet_notices, NULL);
	/* The settings of every transaction of the load: batches commit
	 * asynchronously (the history's checkpoint in the same transaction
	 * keeps them exact; the end of each file commits synchronously). */
	const char *tz = o->timezone ? o->timezone : "UTC";
	char *lit = PQescapeLiteral(r->conn, tz, strlen(tz));
	if (lit == NULL || asprintf(&r->settings,
	                            "SET LOCAL synchronous_commit = off; SET LOCAL DateStyle = "
	                            "'ISO, YMD'; SET LOCAL client_min_messages = warning; "
	                            "SET LOCAL TimeZone = %s",
	                            lit) < 0) {
		PQfreemem(lit);
		r->settings = NULL;
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	}
	PQfreemem(lit);
	/* A time zone the server does not know is a usage error, said now. */
	enum etl_code rc = db_exec(r->conn, "BEGIN", err);
	if (rc == ETL_OK && db_exec(r->conn, r->settings, err) != ETL_OK)
		rc = error_set(err, ETL_EUSAGE, NULL, 0, "--timezone: %s", err->msg);
	PGresult *res = db_run(r->conn, rc == ETL_OK ? "COMMIT" : "ROLLBACK");
	PQclear(res);
	if (rc != ETL_OK)
		return rc;
	struct schema_result sr;
	rc = schema_ensure(r->conn, false, NULL, &sr, &r->facts, err);
	/* A handful of changes are worth naming; a whole new schema is not. */
	if (rc == ETL_OK && !o->quiet && sr.applied > 5)
		(void)fprintf(
		        stderr,
		        "siprems-etl: schema: %d changes applied (recorded in etl_schema_log)\n",
		        sr.applied);
	else if (rc == ETL_OK && !o->quiet)
		for (int i = 0; i < sr.nlines; i++)
			if (strstr(sr.lines[i], ": present as ") == NULL)
				(void)fprintf(stderr, "siprems-etl: schema: %s\n", sr.lines[i]);
	schema_result_free(&sr);
	return rc;
}

enum etl_code
load_files(const struct load_opts *o, char *const *specs, int nspecs, struct load_run *run,
           struct etl_error *err)
{
	struct validator *v = NULL;
	struct job *jobs = NULL;
	struct run r;
	char *stdin_path = NULL;
	enum etl_code rc;
	memset(run, 0, sizeof *run);
	memset(&r, 0, sizeof r);
	r.o = o;

	struct valid_opts vo = {o->sku_pattern, o->timezone, o->allow_future, false, 0};
	rc = valid_open(&v, &vo, err);
	if (rc != ETL_OK)
		goto out;
	/* A real load reads stdin from a spool it can fingerprint and reread. */
	for (int i = 0; i < nspecs && !o->dry_run; i++) {
		const char *file;
		(void)intake_parse_spec(specs[i], &file);
		if (strcmp(file, "-") == 0) {
			rc = input_spool_stdin(&stdin_path, err);
			if (rc != ETL_OK)
				goto out;
		}
	}
	struct intake_opts io = {o->enc, o->delim,       v,         o->reject_dir, true,
	                         true,   o->max_rejects, stdin_path};

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
		r.conn = db_open(o->db, &cerr);
		const struct table_def *by = NULL;
		for (int k = 0; k < KIND_COUNT; k++)
			if (table_get((enum kind)k)->ref_col >= 0)
				by = table_get((enum kind)k);
		if (r.conn != NULL && by != NULL) {
			r.skus = keyset_new();
			if (r.skus == NULL ||
			    refdata_load_refs(r.conn, by, r.skus, &cerr) != ETL_OK) {
				keyset_free(r.skus);
				r.skus = NULL;
			}
		}
		if (r.skus == NULL)
			warnx_etl("%s; SKU references of sales files are not checked",
			          r.conn == NULL ? "no database reachable"
			                         : "cannot read the products");
		run->database_checked = r.skus != NULL;
		PQfinish(r.conn);
		r.conn = NULL;
	} else {
		rc = connect_run(&r, err);
		if (rc != ETL_OK)
			goto out;
		signals_install();
	}

	rc = ETL_OK;
	for (int i = 0; i < nspecs; i++) {
		struct job *j = &jobs[i];
		struct load_file *lf = &run->files[run->nfiles++];
		const char *file;
		(void)intake_parse_spec(specs[j->order], &file);
		lf->file = strdup(file);
		lf->r.file = lf->file ? lf->file : "?";
		lf->r.status = "failed";
		if (j->open_rc != ETL_OK) {
			fail_file(lf, NULL, &j->open_err);
			lf->r.kind = j->it && j->it->kind != KIND_NONE
			                     ? table_get(j->it->kind)->name
			                     : NULL;
		} else if (!o->dry_run && signals_received()) {
			/* Interrupted before this file began: it stays as it was. */
			lf->r.kind = table_get(j->it->kind)->name;
			lf->r.status = "stopped";
			lf->code = ETL_ESTOPPED;
			(void)error_set(&lf->error, ETL_ESTOPPED, j->it->name, 0,
			                "not started: the run was interrupted");
		} else if (!o->dry_run && PQstatus(r.conn) != CONNECTION_OK) {
			lf->r.kind = table_get(j->it->kind)->name;
			struct etl_error cerr;
			(void)error_set(&cerr, ETL_EDB, j->it->name, 0,
			                "not loaded: the connection to the database was lost");
			fail_file(lf, j->it, &cerr);
		} else {
			lf->r.kind = table_get(j->it->kind)->name;
			if (o->dry_run)
				dry_run_file(&r, j->it, lf);
			else
				load_file(&r, j->it, lf);
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
	keyset_free(r.skus);
	PQfinish(r.conn);
	free(r.settings);
	valid_close(v);
	free(stdin_path);
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
