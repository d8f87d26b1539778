/*
 * load_file.c — one file of a load.
 *
 *   fingerprint (of its decoded records, and of its bytes; a gzip stream is
 *   decoded to its end first, so a corrupt file loads nothing) -> claim it
 *   in the history (ledger_claim: skip, report earlier rejects, resume,
 *   retry with new options, or start; --force undoes earlier loads first)
 *   -> its rows, along one of three paths -> record the outcome.
 *
 * The paths (batched, fast, dry) are in load_path.c.
 *
 * Every transaction of a load begins with its settings (SET LOCAL) and a
 * hold on its history row: no session state, so a pooler in transaction
 * mode may give each transaction another server connection.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "db.h"
#include "ledger.h"
#include "lockwait.h"
#include "load_impl.h"
#include "progress.h"
#include "refdata.h"
#include "rowkey.h"
#include "signals.h"

#define ANALYZE_ROWS 10000 /* a load that adds this many rows ends with ANALYZE */

/* ---- one file: claim, rows, outcome ------------------------------------- */

/* The rows fail with f->e. */
static enum end
fail_rows(struct file_load *f)
{
	f->failed = true;
	return END_ERROR;
}

/* Right after each BEGIN: the run's settings, then the hold on the load's
 * history row (which also shows that the load is alive). */
static enum etl_code
begun(void *arg, struct etl_error *err)
{
	struct history_hold *h = arg;
	enum etl_code rc = db_exec(h->conn, h->r->settings, err);
	if (rc == ETL_OK)
		rc = ledger_hold(h->conn, h->led, h->committed, err);
	return rc;
}

/* The empty-table path's second connection (its shadow table). */
static PGconn *
second_connection(void *arg, struct etl_error *err)
{
	return load_connect(arg, err);
}

/* f fails after its claim: the history says why it ended, not a lease
 * that looks alive (a later file of the run with the same content would
 * wait for it). */
static bool
fail_claimed(struct file_load *f)
{
	struct etl_error fe;
	(void)ledger_finish(f->r->conn, &f->led, "failed", f->e.msg, &fe);
	return fail(f);
}

/* Positions the file (a retry's records, a resume's committed rows) and
 * opens its reject file and its sink. */
static bool
open_file(struct file_load *f)
{
	struct run_shared *r = f->r;
	const struct load_opts *o = r->o;
	struct intake *it = f->it;
	bool resume = f->claim.action == LEDGER_RESUME;
	if (f->claim.records != NULL) {
		intake_set_filter(it, f->claim.records, f->claim.nrecords);
		f->claim.records = NULL;
	}
	f->base = f->led;
	/* A sales file's SKUs must exist; a keyed file's keys must not differ
	 * from the table's only in letter case or surrounding spaces. */
	const struct table_def *t = intake_map(it)->t;
	if ((t->ref_col >= 0 && load_skus(r, t, &f->e) != ETL_OK) ||
	    load_known_keys(r, t, &f->e) != ETL_OK) {
		if (f->e.file[0] == '\0') /* the file whose table it read */
			(void)snprintf(f->e.file, sizeof f->e.file, "%s", intake_name(it));
		return fail_claimed(f);
	}
	intake_set_known(it, load_known(r, t));
	if ((resume || f->claim.extends > 0) && f->led.records_done > 0) {
		if (intake_skip(it, f->led.records_done, r->skus, &f->e) != ETL_OK)
			return fail_claimed(f);
		if (!o->quiet && resume)
			notex_etl("%s: resuming load %lld after %lld rows already committed",
			          intake_name(it), (long long)f->led.load_id,
			          (long long)f->led.records_done);
	}
	char *rejects = load_reject_file_for(f, resume);
	if (rejects == NULL) {
		(void)error_oom(&f->e, NULL, 0);
		return fail_claimed(f);
	}
	enum etl_code started =
	        intake_start_rejects_at(it, resume ? f->led.reject_bytes : -1, rejects, &f->e);
	free(rejects);
	if (started != ETL_OK)
		return fail_claimed(f);
	const char *tz = r->tz;
	f->held = (struct history_hold){.r = r,
	                                .conn = r->conn,
	                                .led = &f->led,
	                                .committed = f->led.records_done,
	                                .records = f->print.records,
	                                .bytes = f->print.size};
	struct copy_opts co = {.conn = r->conn,
	                       .map = intake_map(it),
	                       .on_conflict = o->on_conflict,
	                       .facts = &r->facts,
	                       .single_transaction = o->single_transaction,
	                       .stage_id = ++r->stage_id,
	                       .utc = r->tz_utc,
	                       .timezone = tz,
	                       .text_only = o->copy_text,
	                       .load_id = f->led.load_id,
	                       .identical_skips = f->claim.action == LEDGER_RETRY,
	                       .begun = begun,
	                       .begun_arg = &f->held,
	                       .hold_rows = false,
	                       .settings = r->settings,
	                       .connect = second_connection,
	                       .connect_arg = r,
	                       .lock_timeout_ms = o->lock_timeout_ms,
	                       .name = intake_name(it)};
	f->co = co;
	if (copy_open(&f->sink, &co, &f->e) != ETL_OK)
		return fail_claimed(f);
	return true;
}

/* Why the load takes a slower way than the fastest: one line for a big
 * file where the reason is one the operator can change, else --verbose. */
static void
say_slower_way(const struct file_load *f, bool big, bool taken)
{
	bool loud;
	const char *why = copy_fast_passed(f->sink, &loud);
	if (why == NULL)
		return;
	const char *table = intake_map(f->it)->t->table;
	const char *how = taken ? "one COPY in one transaction, readers of the table wait "
	                          "until it commits"
	                        : "in batches";
	if (loud && big && !f->r->o->quiet)
		notex_etl("%s: %s: %s: %s", intake_name(f->it), table, why, how);
	else
		verbosex_etl("%s: %s: %s: %s", intake_name(f->it), table, why, how);
}

/* The file's rows: an empty table takes the fast path; if the server
 * refuses a row there, the file goes through the batches from its start,
 * where refused rows are isolated: the outcome is the same. */
static enum end
load_rows(struct file_load *f)
{
	struct run_shared *r = f->r;
	const struct load_opts *o = r->o;
	struct intake *it = f->it;
	struct rows_pass p = {.r = r,
	                      .it = it,
	                      .sink = f->sink,
	                      .led = &f->led,
	                      .base = &f->base,
	                      .held = &f->held,
	                      .err = &f->e};
	bool taken = false;
	/* A second connection builds indexes beside the load's when the file
	 * is more than a batch. */
	bool big = !o->single_transaction &&
	           intake_left(it, f->print.records) > (int64_t)o->batch_rows;
	if (f->led.records_done == 0) {
		if (copy_fast_begin(f->sink, o->jobs, big, &taken, &f->e) != ETL_OK)
			return signals_received() ? END_SIGNAL : fail_rows(f);
		say_slower_way(f, big, taken);
	}
	if (taken) {
		/* It commits the whole file or nothing: no prefix to record. */
		intake_pause_prefix(it, true);
		enum end end = load_run_path(&load_fast, &p);
		if (!p.refused) {
			int rebuilt = copy_fast_rebuilt(f->sink);
			if (end == END_OK && !o->quiet && copy_fast_shadowed(f->sink))
				notex_etl(
				        "%s: %s was empty: loaded with one COPY into a shadow "
				        "table, its indexes built on 2 connections, swapped in in "
				        "one transaction (indexes and foreign keys rebuilt: %d)",
				        intake_name(it), intake_map(it)->t->table, rebuilt);
			else if (end == END_OK && !o->quiet && rebuilt >= 0)
				notex_etl(
				        "%s: %s was empty: loaded with one COPY in one transaction "
				        "(indexes and foreign keys rebuilt: %d)",
				        intake_name(it), intake_map(it)->t->table, rebuilt);
			else if (end == END_OK && !o->quiet)
				notex_etl(
				        "%s: %s was empty: loaded with one COPY in one transaction "
				        "(a Citus table: the shards keep their indexes)",
				        intake_name(it), intake_map(it)->t->table);
			return end;
		}
		if (!o->quiet)
			notex_etl(
			        "%s: the one-transaction load into the empty table gave way (%s); "
			        "loading the file again in batches",
			        intake_name(it), copy_fast_refusal(f->sink));
		intake_pause_prefix(it, false);
		if (intake_rewind(it, &f->e) != ETL_OK)
			return fail_rows(f);
	}
	if (o->single_transaction) {
		f->held.committed = f->led.records_done;
		if (db_exec(r->conn, "BEGIN", &f->e) != ETL_OK)
			return fail_rows(f);
		f->in_file_txn = true;
		if (begun(&f->held, &f->e) != ETL_OK) {
			copy_abort_all(f->sink);
			f->in_file_txn = false;
			return fail_rows(f);
		}
	}
	p.unit_rows = o->batch_rows;
	/* Several connections when the file has more than one batch left. */
	bool jobs = o->jobs > 1 && !o->single_transaction &&
	            intake_left(it, f->print.records) > (int64_t)o->batch_rows;
	enum end end = jobs ? load_jobs_run(&p, &f->co, o->jobs) : load_run_path(&load_batched, &p);
	reject_held_free(&p.kept);
	if (end == END_OK && f->in_file_txn) {
		f->in_file_txn = false;
		if (copy_finish(f->sink, &f->e) != ETL_OK)
			end = END_ERROR;
	}
	if (end != END_OK && f->in_file_txn) {
		/* All or nothing: a stopped file leaves nothing. */
		copy_abort_all(f->sink);
		f->in_file_txn = false;
		f->led = f->base;
	}
	return end;
}

static void
set_counts(struct load_file *lf, const struct ledger *led)
{
	lf->r.rows_read = (uint64_t)led->rows_read;
	lf->r.rows_loaded = (uint64_t)led->rows_loaded;
	lf->r.rows_updated = (uint64_t)led->rows_updated;
	lf->r.rows_skipped = (uint64_t)led->rows_skipped;
	lf->r.rows_rejected = (uint64_t)led->rows_rejected;
}

/* The rows the table holds as its statistics say (-1: unknown).  A Citus
 * distributed table's own statistics on the coordinator are empty: its
 * shards' are summed.  Citus puts each shard's name into the command with
 * format(): %L makes it a literal, whatever its schema is called; a shard
 * never analyzed (-1) counts 0. */
static double
table_rows(PGconn *conn, const char *table)
{
	const char *params[1] = {table};
	PGresult *res = db_query(conn, "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)",
	                         1, params, NULL);
	double rows = res != NULL && PQntuples(res) == 1 ? atof(PQgetvalue(res, 0, 0)) : -1;
	PQclear(res);
	bool split = false;
	if (rows > 0 || db_citus_table(conn, table, true, &split, NULL) != ETL_OK || !split)
		return rows;
	res = db_query(conn,
	               "SELECT sum(greatest(result::float8, 0)) FROM run_command_on_shards($1, "
	               "$$SELECT reltuples FROM pg_class WHERE oid = %L::regclass$$) "
	               "WHERE success",
	               1, params, NULL);
	if (res != NULL && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		rows = atof(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rows;
}

/* ANALYZE after a load that changed ANALYZE_ROWS rows or more, and at least a
 * tenth of the table: autovacuum's own rule, without waiting for it. */
static void
analyze(PGconn *conn, const char *table, int64_t changed)
{
	if (changed < ANALYZE_ROWS)
		return;
	double before = table_rows(conn, table);
	if (before > 0 && (double)changed < before / 10)
		return;
	char *name = PQescapeIdentifier(conn, table, strlen(table));
	(void)db_execf(conn, NULL, "ANALYZE %s", name ? name : table);
	PQfreemem(name);
}

/* A statement the server cancelled by its statement_timeout (the role's
 * or the database's): what to do about it, in err's message. */
static void
timeout_hint(PGconn *conn, struct etl_error *err)
{
	PGresult *res =
	        db_query(conn, "SELECT current_setting('statement_timeout')", 0, NULL, NULL);
	char was[sizeof err->msg];
	(void)snprintf(was, sizeof was, "%s", err->msg);
	(void)error_set(err, ETL_EDB, NULL, 0,
	                "%s; hint: the server's statement_timeout (%s, set for the role or the "
	                "database) cancelled a batch: load with a smaller --batch-rows, or let "
	                "the loading role run longer (ALTER ROLE ... SET statement_timeout = 0)",
	                was, res != NULL ? PQgetvalue(res, 0, 0) : "?");
	(void)snprintf(err->sqlstate, sizeof err->sqlstate, "57014");
	PQclear(res);
}

/* How the file ended: its status, its exit code into f->lf->code, and the
 * message of an end before the end of the file into msg ("" at its end). */
static void
ended_how(struct file_load *f, enum end end, const char **status, char *msg, size_t size)
{
	struct run_shared *r = f->r;
	struct intake *it = f->it;
	struct load_file *lf = f->lf;
	const struct ledger *led = &f->led;
	msg[0] = '\0';
	switch (end) {
	case END_OK:
		*status = led->rows_rejected > 0 ? "partial" : "loaded";
		lf->code = led->rows_rejected > 0 ? ETL_REJECTED : ETL_OK;
		break;
	case END_MAX_REJECTS:
		*status = "stopped";
		lf->code = ETL_ESTOPPED;
		if (intake_over_reject_bytes(it))
			(void)snprintf(msg, size,
			               "stopped: its reject file passed %lld bytes "
			               "(--max-reject-bytes); the next run resumes after row %lld",
			               (long long)r->o->max_reject_bytes,
			               (long long)led->records_done);
		else
			(void)snprintf(msg, size,
			               "stopped: more than %lld rows rejected (--max-rejects); the "
			               "next run resumes after row %lld",
			               (long long)r->o->max_rejects, (long long)led->records_done);
		break;
	case END_SIGNAL:
		*status = "stopped";
		lf->code = ETL_ESTOPPED;
		(void)snprintf(msg, size,
		               "interrupted by %s; the open batch was rolled back, the next run "
		               "resumes after row %lld",
		               signals_name(signals_received()), (long long)led->records_done);
		break;
	default:
		if (lockwait_timed_out(&f->e) && f->e.code != ETL_ELOCKED &&
		    PQstatus(r->conn) == CONNECTION_OK)
			lockwait_explain(r->conn, intake_map(it)->t->table, r->o->lock_timeout_ms,
			                 &f->e);
		if (strcmp(f->e.sqlstate, "57014") == 0 && !signals_received() &&
		    PQstatus(r->conn) == CONNECTION_OK)
			timeout_hint(r->conn, &f->e);
		/* Another session's lock, a file that changed: stopped, resumable. */
		*status = f->e.code == ETL_ELOCKED || f->e.code == ETL_ESTOPPED ? "stopped"
		                                                                : "failed";
		lf->code = f->e.code == ETL_OK ? ETL_EDB : f->e.code;
		/* An error of another file (the reject file's): named. */
		bool other = f->e.file[0] != '\0' && strcmp(f->e.file, intake_name(it)) != 0;
		(void)snprintf(msg, size, "%s%s%s; the next run resumes after row %lld",
		               other ? f->e.file : "", other ? ": " : "", f->e.msg,
		               (long long)led->records_done);
		break;
	}
}

/* The outcome into the history; a corrected reject file all in completes
 * the loads whose rejects it held (r->resolved). */
static void
record_outcome(struct file_load *f, const char *status, const char *msg)
{
	struct run_shared *r = f->r;
	struct intake *it = f->it;
	struct load_file *lf = f->lf;
	const struct ledger *led = &f->led;
	struct etl_error fe;
	if (ledger_finish(r->conn, led, status, msg[0] ? msg : NULL, &fe) != ETL_OK &&
	    lf->code == ETL_OK) {
		lf->code = ETL_EDB;
		lf->error = fe;
	}
	/* A corrected reject file, all in: its source loads are complete. */
	int n = lf->code == ETL_OK ? ledger_rejects_loaded(r->conn, led, intake_name(it),
	                                                   r->resolved + r->nresolved,
	                                                   RUN_RESOLVED - r->nresolved, &fe)
	                           : 0;
	if (n > 0) {
		r->nresolved += n;
		if (!r->o->quiet)
			notex_etl("%s: the rows load%s %lld%s rejected are all in now: %s "
			          "complete",
			          intake_name(it), n > 1 ? "s" : "",
			          (long long)r->resolved[r->nresolved - n], n > 1 ? ", ..." : "",
			          n > 1 ? "they are" : "it is");
	}
}

/* The file's outcome: its status and message, in the history too. */
static void
settle_file(struct file_load *f, enum end end)
{
	struct run_shared *r = f->r;
	struct intake *it = f->it;
	struct load_file *lf = f->lf;
	const struct ledger *led = &f->led;
	/* A file that did not reach its end keeps the rejects of what was
	 * committed. */
	if (end != END_OK && intake_rejects(it) != NULL)
		(void)reject_truncate(intake_rejects(it), (uint64_t)led->reject_bytes, NULL);
	const char *status;
	char msg[1700];
	ended_how(f, end, &status, msg, sizeof msg);
	/* The reject file under its name before the history calls the load
	 * ended: a run that then finds it finished finds the file too. */
	struct etl_error re;
	if (reject_complete(intake_rejects(it), &re) != ETL_OK) {
		status = "failed";
		lf->code = error_worst(lf->code, ETL_ESYSTEM);
		(void)snprintf(msg, sizeof msg, "%s; the next run resumes after row %lld", re.msg,
		               (long long)led->records_done);
	}
	lf->r.status = status;
	set_counts(lf, led);
	if (msg[0] != '\0')
		(void)error_set(&lf->error, lf->code, intake_name(it), 0, "%s", msg);
	if (PQstatus(r->conn) == CONNECTION_OK)
		record_outcome(f, status, msg);
	if (table_referrer(intake_kind(it)) != NULL && led->rows_loaded + led->rows_updated > 0)
		r->skus_stale = true;
	if (led->rows_loaded > 0)
		r->known_stale[intake_kind(it)] = true;
	/* Fresh statistics for the forecasting queries that follow a load. */
	if (end == END_OK && PQstatus(r->conn) == CONNECTION_OK)
		analyze(r->conn, intake_map(it)->t->table, led->rows_loaded + led->rows_updated);
}

void
load_file(struct run_shared *r, struct intake *it, struct load_file *lf)
{
	double started = load_now();
	struct file_load f = {.r = r, .it = it, .lf = lf};
	error_clear(&f.e);
	intake_identity(it, &lf->id);
	if (load_claim_file(&f) && open_file(&f)) {
		enum end end = load_rows(&f);
		if (!f.failed)
			settle_file(&f, end);
	}
	if (f.in_file_txn)
		copy_abort_all(f.sink);
	copy_close(f.sink);
	free(f.claim.records);
	if (f.claim.action != LEDGER_REJECTS)
		load_take_messages(lf, it);
	/* A failed file counts what its load committed, no more (after the
	 * intake's reasons are taken, so that its reject file is the one kept). */
	if (f.failed)
		load_fail_committed(lf, it, &f.e, &f.led);
	else if (strcmp(lf->r.status ? lf->r.status : "", "failed") == 0 && lf->code == ETL_EINPUT)
		load_fail_committed(lf, it, &lf->error, &f.led);
	lf->r.seconds = load_now() - started;
}
