/*
 * load_jobs.c — the batched path on several connections (--jobs).
 *
 * Each connection has a thread and a sink.  A connection begins its
 * transaction, then takes its turn to read: one reader at a time takes the
 * next batch from the file (validated, encoded, kept in the sink's memory),
 * so the batches are numbered in the file's order.  The connections send
 * and settle their batches side by side (the server's work, index upkeep and
 * foreign-key checks, runs on several backends), then commit them in the
 * file's order, each with its checkpoint.  So the history's position is
 * always the end of the last committed batch, and a kill at any moment
 * resumes exactly, as with one connection.
 *
 * A batch's rejects are held back while it is read (reject_hold()) and go
 * to the reject file when it commits: the file has them in the order one
 * connection writes them, and its checkpointed length never counts a later
 * batch's.
 *
 * The keyed kinds cannot race: a key repeated in a file is rejected by the
 * intake (as on one connection), so no two batches touch the same row, and
 * no connection waits for a later batch's.  Another session can close a
 * cycle, though: a DDL statement or a TRUNCATE waits for the lock a done
 * batch holds while it waits for its turn, and an earlier batch (one whose
 * refused rows made it start over, say) queues behind that statement.  The
 * server cannot see the edge through the client, so a waiting batch looks
 * every WAIT_LOOK_MS and gives way (rolls back, the file stops there,
 * resumable: ETL_ELOCKED) when it is so; every other wait is bounded by
 * lock_timeout.  A batch given up (an error, a signal, --max-rejects, giving
 * way) gives up every later batch too; the earlier ones still commit.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copy.h"
#include "db.h"
#include "load_impl.h"
#include "lockwait.h"
#include "progress.h"
#include "signals.h"

#define NO_STOP      INT64_MAX
#define WAIT_LOOK_MS 250 /* how often a batch waiting for its turn looks for a cycle */

struct jobs;

/* One connection and the batch it carries. */
struct worker {
	struct jobs *js;
	int slot;               /* for signals_use_slot() */
	PGconn *conn;           /* the run's for the first job, else its own */
	struct copy_sink *sink; /* owned */
	struct history_hold held;
	struct ledger led; /* the history row as the load began: held.led, whose
	                      load_id ledger_hold() reads while others commit */
	struct etl_error err;
	struct reject_held rejects; /* the intake's rejects of the batch, held back */
	int64_t *rej;               /* the numbers of its rejected records */
	size_t nrej, caprej;
	struct unit_counts u;
	pthread_t thread;
	bool started;
};

struct jobs {
	struct rows_pass *p;
	pthread_mutex_t read; /* the file: the intake, its reject file, *p->led */
	pthread_mutex_t mu;   /* the order: what follows */
	pthread_cond_t turn;
	int64_t next_seq; /* the next batch to read (under read) */
	int64_t done_seq; /* batches [0, done_seq) are committed */
	int64_t stop_seq; /* batches from this one on are given up */
	enum end end;     /* why: the file's end, --max-rejects, a signal, an error */
	struct etl_error err;
	struct progress *pg;
	uint64_t offset; /* records committed before this pass */
};

/* Gives up batch seq and every later one, for why (the earliest reason
 * wins). */
static void
stop_at(struct jobs *js, int64_t seq, enum end why, const struct etl_error *err)
{
	pthread_mutex_lock(&js->mu);
	/* Rejects past --max-rejects at the file's end stop it, as on one
	 * connection. */
	if (seq < js->stop_seq ||
	    (seq == js->stop_seq && why == END_MAX_REJECTS && js->end == END_OK)) {
		js->stop_seq = seq;
		js->end = why;
		if (err != NULL)
			js->err = *err;
	}
	pthread_cond_broadcast(&js->turn);
	pthread_mutex_unlock(&js->mu);
}

static int64_t
stop_seq(struct jobs *js)
{
	pthread_mutex_lock(&js->mu);
	int64_t s = js->stop_seq;
	pthread_mutex_unlock(&js->mu);
	return s;
}

static bool
keep_rejected(struct worker *j, const int64_t *v, size_t n)
{
	if (j->nrej + n > j->caprej) {
		size_t cap = j->caprej ? j->caprej : 256;
		while (cap < j->nrej + n)
			cap *= 2;
		int64_t *m = realloc(j->rej, cap * sizeof *m);
		if (m == NULL)
			return false;
		j->rej = m;
		j->caprej = cap;
	}
	if (n > 0)
		memcpy(j->rej + j->nrej, v, n * sizeof *v);
	j->nrej += n;
	return true;
}

/* The row the intake holds into j's batch. */
static enum etl_code
worker_add(void *arg)
{
	struct worker *j = arg;
	struct intake *it = j->js->p->it;
	return copy_add(j->sink, intake_row(it), intake_record(it), intake_number(it), &j->err);
}

/* Reads the next batch into j's sink (under js->read).  *seq is its number;
 * how its rows ended: END_OK (a full batch, or the file's end: then a stop
 * is set after it), END_MAX_REJECTS (the intake stopped after it), or
 * END_SIGNAL / END_ERROR (j->err). */
static enum end
read_batch(struct worker *j, int64_t *seq)
{
	struct jobs *js = j->js;
	struct rows_pass *p = js->p;
	struct intake *it = p->it;
	*seq = js->next_seq++;
	if (*seq >= stop_seq(js))
		return END_OK;
	struct unit_start start;
	load_unit_start(it, &start);
	int64_t left = intake_left(it, p->held->records);
	if (copy_begin_rows(j->sink, left < p->unit_rows ? left : p->unit_rows, &j->err) != ETL_OK)
		return END_ERROR;
	reject_held_clear(&j->rejects);
	intake_hold_rejects(it, &j->rejects);
	struct unit_reader ur = {.it = it,
	                         .skus = p->r->skus,
	                         .unit_rows = p->unit_rows,
	                         .sink = j->sink,
	                         .add = worker_add,
	                         .arg = j,
	                         .pg = js->pg,
	                         .offset = js->offset};
	bool last;
	enum end end = load_read_unit(&ur, &last, &j->err);
	intake_hold_rejects(it, NULL);
	load_unit_counts(it, &start, &j->u);
	j->nrej = 0;
	size_t n;
	const int64_t *v = intake_take_rejected(it, &n);
	if (end != END_ERROR && end != END_SIGNAL && !keep_rejected(j, v, n)) {
		(void)error_oom(&j->err, NULL, 0);
		end = END_ERROR;
	}
	if (last) /* a batch that read nothing is not committed */
		stop_at(js, j->u.read > 0 ? *seq + 1 : *seq, end, NULL);
	return end == END_MAX_REJECTS ? END_OK : end;
}

/* Whether j, done and waiting for its turn, must give way: another session
 * waits for its locks and one of the load's waits behind that one.  Then
 * its batch is given up (and the later ones), with why in j->err. */
static bool
give_way(struct worker *j, int64_t seq)
{
	char who[600];
	/* In a savepoint: a failed look must not cost the batch. */
	if (db_exec(j->conn, "SAVEPOINT etl_look", NULL) != ETL_OK)
		return false;
	int cycle = lockwait_cycle(j->conn, who, sizeof who);
	if (db_exec(j->conn,
	            cycle < 0 ? "ROLLBACK TO SAVEPOINT etl_look; RELEASE SAVEPOINT etl_look"
	                      : "RELEASE SAVEPOINT etl_look",
	            NULL) != ETL_OK ||
	    cycle != 1)
		return false;
	(void)error_set(&j->err, ETL_ELOCKED, NULL, 0,
	                "gave way to %s, which waited for a lock this load held while an "
	                "earlier batch of the load waited behind it: this batch and the later "
	                "ones were rolled back; when it is done, run the load again (it resumes)",
	                who);
	stop_at(j->js, seq, END_ERROR, &j->err);
	return true;
}

/* Waits until every earlier batch is committed, looking for a cycle through
 * another session's lock meanwhile; false when this batch is given up
 * instead. */
static bool
wait_turn(struct worker *j, int64_t seq)
{
	struct jobs *js = j->js;
	pthread_mutex_lock(&js->mu);
	while (js->done_seq < seq && seq < js->stop_seq) {
		struct timespec until;
		(void)clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += WAIT_LOOK_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		if (pthread_cond_timedwait(&js->turn, &js->mu, &until) == 0 ||
		    !(js->done_seq < seq && seq < js->stop_seq))
			continue;
		pthread_mutex_unlock(&js->mu);
		bool gave = give_way(j, seq);
		pthread_mutex_lock(&js->mu);
		if (gave)
			break;
	}
	bool go = seq < js->stop_seq;
	pthread_mutex_unlock(&js->mu);
	return go;
}

/* A lock wait past --lock-timeout: named (who holds the table) and made
 * ETL_ELOCKED.  j's connection is out of its transaction. */
static void
explain_wait(struct worker *j)
{
	if (!lockwait_timed_out(&j->err) || PQstatus(j->conn) != CONNECTION_OK)
		return;
	const struct rows_pass *p = j->js->p;
	lockwait_explain(j->conn, intake_map(p->it)->t->table, p->r->o->lock_timeout_ms, &j->err);
}

/* The batch's rejects to the file, its checkpoint and its commit (under
 * js->read, in its turn). */
static enum etl_code
finish_batch(struct worker *j, const struct copy_outcome *out, struct ledger *next)
{
	struct jobs *js = j->js;
	struct rows_pass q = *js->p;
	q.err = &j->err;
	struct intake *it = q.it;
	if (load_write_rejects(it, j->sink, &j->rejects, out, &j->err) != ETL_OK)
		return j->err.code;
	size_t n;
	const int64_t *v = intake_take_rejected(it, &n);
	if (!keep_rejected(j, v, n))
		return error_oom(&j->err, NULL, 0);
	j->u.rejected += (uint64_t)out->nrejects;
	j->u.rej = j->rej;
	j->u.nrej = j->nrej;
	*next = *q.led;
	if (load_checkpoint(&q, j->conn, out, &j->u, next, copy_ids_recorded(j->sink),
	                    copy_update_columns(j->sink)) != ETL_OK)
		return j->err.code;
	return copy_commit(j->sink, &j->err);
}

static void *
job_main(void *arg)
{
	struct worker *j = arg;
	struct jobs *js = j->js;
	struct rows_pass *p = js->p;
	signals_use_slot(j->slot);
	for (;;) {
		if (signals_received()) {
			stop_at(js, 0, END_SIGNAL, NULL);
			break;
		}
		/* The transaction first: a pooler may make it wait for a server
		 * connection, which must not keep the others from reading. */
		enum etl_code rc = copy_begin_txn(j->sink, &j->err);
		pthread_mutex_lock(&js->read);
		int64_t seq = js->next_seq;
		enum end end = rc == ETL_OK ? read_batch(j, &seq) : (js->next_seq++, END_ERROR);
		pthread_mutex_unlock(&js->read);
		if (end == END_SIGNAL || (end == END_ERROR && signals_received())) {
			copy_abort(j->sink, "interrupted");
			stop_at(js, seq, END_SIGNAL, NULL);
			break;
		}
		if (end == END_ERROR) {
			copy_abort(j->sink, "stopped");
			explain_wait(j);
			stop_at(js, seq, END_ERROR, &j->err);
			break;
		}
		if (seq >= stop_seq(js)) {
			/* Past the file's end (nothing read), or given up. */
			copy_abort(j->sink, NULL);
			break;
		}
		struct copy_outcome out;
		if (copy_end(j->sink, &out, &j->err) != ETL_OK) {
			explain_wait(j);
			stop_at(js, seq, signals_received() ? END_SIGNAL : END_ERROR, &j->err);
			break;
		}
		if (!wait_turn(j, seq)) {
			copy_abort(j->sink, NULL);
			break;
		}
		struct ledger next;
		pthread_mutex_lock(&js->read);
		rc = finish_batch(j, &out, &next);
		if (rc == ETL_OK)
			*p->led = next;
		pthread_mutex_unlock(&js->read);
		if (rc != ETL_OK) {
			copy_abort(j->sink, NULL);
			explain_wait(j);
			stop_at(js, seq, signals_received() ? END_SIGNAL : END_ERROR, &j->err);
			break;
		}
		/* The stop before the turn: the next batch, waiting for it, must
		 * not commit past --max-rejects. */
		const struct load_opts *o = p->r->o;
		if (o->max_rejects >= 0 && next.rows_rejected > o->max_rejects)
			stop_at(js, seq + 1, END_MAX_REJECTS, NULL);
		pthread_mutex_lock(&js->mu);
		js->done_seq = seq + 1;
		pthread_cond_broadcast(&js->turn);
		pthread_mutex_unlock(&js->mu);
	}
	return NULL;
}

static void
close_job(struct worker *j, const struct run_shared *r)
{
	copy_close(j->sink);
	if (j->conn != NULL && j->conn != r->conn)
		PQfinish(j->conn);
	reject_held_free(&j->rejects);
	free(j->rej);
}

/* Opens the connections and sinks; fewer than asked when the server (or a
 * pooler) refuses more connections: said, and the load goes on with those. */
static int
open_jobs(struct worker *jobs, int n, struct jobs *js, const struct copy_opts *co)
{
	struct rows_pass *p = js->p;
	int opened = 0;
	for (int k = 0; k < n; k++) {
		struct worker *j = &jobs[k];
		j->js = js;
		j->slot = k + 1;
		error_clear(&j->err);
		j->conn = k == 0 ? p->r->conn : load_connect(p->r, &j->err);
		if (j->conn == NULL) {
			if (!p->r->o->quiet)
				warnx_etl("%s: --jobs %d: connection %d: %s; loading on %d",
				          intake_name(p->it), n, k + 1, j->err.msg, opened);
			break;
		}
		j->led = *p->led;
		j->held = (struct history_hold){.r = p->r,
		                                .conn = j->conn,
		                                .led = &j->led,
		                                .committed = NO_STOP,
		                                .records = p->held->records,
		                                .bytes = p->held->bytes};
		struct copy_opts o = *co;
		o.conn = j->conn;
		o.begun_arg = &j->held;
		o.hold_rows = true;
		if (copy_open(&j->sink, &o, &j->err) != ETL_OK) {
			*p->err = j->err;
			close_job(j, p->r);
			return -1;
		}
		opened++;
	}
	return opened;
}

enum end
load_jobs_run(struct rows_pass *p, const struct copy_opts *co, int n)
{
	struct worker *jobs = calloc((size_t)n, sizeof *jobs);
	if (jobs == NULL) {
		(void)error_oom(p->err, NULL, 0);
		return END_ERROR;
	}
	struct jobs js = {.p = p, .stop_seq = NO_STOP, .end = END_OK};
	error_clear(&js.err);
	js.offset = p->base != NULL ? (uint64_t)p->base->records_done : 0;
	int opened = open_jobs(jobs, n, &js, co);
	enum end end = END_ERROR;
	if (opened > 1 && !p->r->o->quiet)
		notex_etl("%s: %d connections load its batches side by side, committed in the "
		          "file's order",
		          intake_name(p->it), opened);
	if (opened > 0) {
		pthread_mutex_init(&js.read, NULL);
		pthread_mutex_init(&js.mu, NULL);
		pthread_cond_init(&js.turn, NULL);
		const struct load_opts *o = p->r->o;
		js.pg = progress_start(intake_name(p->it), intake_raw_size(p->it),
		                       o->progress && !o->quiet);
		int started = 0;
		for (int k = 0; k < opened; k++) {
			jobs[k].started =
			        pthread_create(&jobs[k].thread, NULL, job_main, &jobs[k]) == 0;
			started += jobs[k].started;
		}
		if (started == 0)
			(void)error_set(&js.err, ETL_ESYSTEM, NULL, 0, "cannot start a thread"),
			        js.end = END_ERROR;
		for (int k = 0; k < opened; k++)
			if (jobs[k].started)
				pthread_join(jobs[k].thread, NULL);
		progress_done(js.pg);
		pthread_cond_destroy(&js.turn);
		pthread_mutex_destroy(&js.mu);
		pthread_mutex_destroy(&js.read);
		end = js.end;
		if (end == END_ERROR)
			*p->err = js.err;
	}
	for (int k = 0; k < n; k++)
		close_job(&jobs[k], p->r);
	free(jobs);
	return end;
}
