/*
 * copy.c — the sink's frame: open and close, every transaction (a batch's
 * and the empty-table path's), every row encoded and sent; the batched
 * path's COPY, ON CONFLICT and commit.  It writes the sink's own members
 * and asks the other parts' files for the rest (copy_impl.h).
 */
#include "copy_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "encode.h"

enum etl_code
copy_open(struct copy_sink **out, const struct copy_opts *o, struct etl_error *err)
{
	struct copy_sink *s = calloc(1, sizeof *s);
	struct sink_plan *plan = NULL;
	*out = NULL;
	if (s == NULL)
		return error_oom(err, NULL, 0);
	conn_attach(&s->db, o->conn);
	s->copy_conn = &s->db;
	s->opts = (struct sink_opts){.name = o->name != NULL ? o->name : o->map->t->table,
	                             .begun = o->begun,
	                             .begun_arg = o->begun_arg,
	                             .lock_timeout_ms = o->lock_timeout_ms,
	                             .single_txn = o->single_transaction,
	                             .hold_rows = o->hold_rows};
	sink_fast_open(&s->fast, o);
	/* The plan is built in two steps: the INSERT leaves out the rows whose
	 * passwords wait for the staging table, which the passwords' part
	 * decides once it knows the columns and the staging table. */
	enum etl_code rc = sink_plan_open(&plan, s->db.pg, o, err);
	if (rc != ETL_OK)
		goto out;
	s->plan = plan;
	if (!sink_pw_setup(s)) {
		rc = error_oom(err, NULL, 0);
		goto out;
	}
	rc = sink_plan_statements(plan, o, s->pw.after_stage ? s->pw.col : -1, s->pw.hold, err);
out:
	if (rc != ETL_OK)
		copy_close(s);
	else
		*out = s;
	return rc;
}

void
copy_close(struct copy_sink *s)
{
	if (s == NULL)
		return;
	conn_disarm();
	sink_fast_free(&s->fast);
	conn_release(&s->db, false);
	sink_pw_free(&s->pw);
	ids_free(&s->ids);
	batch_free(&s->batch);
	sink_refused_free(&s->refused);
	sink_plan_free(s->plan);
	free(s);
}

/* ---- one batch ------------------------------------------------------------ */

/* Streams the batch's rows up to byte upto to the COPY's connection, the
 * passwords among them hashed into their placeholders first (copy_pw.c's
 * hook): every row of both paths goes out here first (copy_isolate.c
 * resends a refused batch's rows itself). */
static enum etl_code
send_rows(struct copy_sink *s, size_t upto, struct etl_error *err)
{
	enum etl_code rc = sink_pw_before_send(s, err);
	return rc == ETL_OK ? batch_send(&s->batch, s->copy_conn, upto, err) : rc;
}

/* Starts the batch's COPY on the load's connection. */
static enum etl_code
start_copy(struct copy_sink *s, struct etl_error *err)
{
	return conn_copy_start(s->copy_conn, s->plan->copy_sql.data, s->plan->binary, err);
}

/* A batch's transaction (or savepoint): BEGIN, the caller's hook, the
 * staging table. */
static enum etl_code
begin_txn(struct copy_sink *s, struct etl_error *err)
{
	enum etl_code rc =
	        conn_exec(&s->db, s->opts.single_txn ? "SAVEPOINT etl_batch" : "BEGIN", err);
	if (rc != ETL_OK)
		return rc;
	s->in_batch = true;
	if (!s->opts.single_txn && s->opts.begun != NULL)
		rc = s->opts.begun(s->opts.begun_arg, err);
	if (rc == ETL_OK && s->plan->staged)
		rc = conn_exec(&s->db, s->plan->stage_sql.data, err);
	return rc;
}

enum etl_code
copy_begin_txn(struct copy_sink *s, struct etl_error *err)
{
	sink_refused_reset(&s->refused);
	batch_reset(&s->batch);
	sink_pw_reset(&s->pw);
	return begin_txn(s, err);
}

enum etl_code
copy_begin_rows(struct copy_sink *s, int64_t rows, struct etl_error *err)
{
	ids_none(&s->ids);
	enum etl_code rc =
	        s->plan->id_ok ? ids_reserve(&s->ids, &s->db, s->plan->id_seq, rows, err) : ETL_OK;
	if (rc != ETL_OK)
		return rc;
	/* Held rows go at copy_end(), and so does the COPY that takes the
	 * table's lock: a reader (--jobs, under the file's mutex) must never
	 * wait in the lock queue, where another session's DDL can hold it up
	 * while a done batch, waiting for the mutex, holds what that DDL waits
	 * for. */
	return s->opts.hold_rows ? ETL_OK : start_copy(s, err);
}

enum etl_code
copy_begin(struct copy_sink *s, int64_t rows, struct etl_error *err)
{
	enum etl_code rc = copy_begin_txn(s, err);
	if (rc != ETL_OK)
		return rc;
	return copy_begin_rows(s, rows, err);
}

bool
copy_ids_recorded(const struct copy_sink *s)
{
	return s->plan->id_ok;
}

const char *
copy_update_columns(const struct copy_sink *s)
{
	return s->plan->update_cols[0] != '\0' ? s->plan->update_cols : NULL;
}

/* Appends the values of a row and its line end (a plaintext password is
 * hashed here: stored only as a hash, it goes nowhere else). */
static enum etl_code
encode_row(struct copy_sink *s, const struct valid_row *row, struct buf *b, int ord,
           struct etl_error *err)
{
	const struct sink_plan *p = s->plan;
	for (int i = 0; i < p->ncols; i++) {
		if (i > 0 && !p->binary)
			buf_put(b, "\t", 1);
		int src = p->col[i];
		const struct value *v = p->use_dflt[i] ? &p->dflt[i] : &row->v[src];
		if ((v->type == V_NULL || v->type == V_ABSENT) && p->alt[i] >= 0) {
			src = p->alt[i];
			v = &row->v[src];
		}
		if (p->t->cols[src].rule == RULE_PASSWORD && v->type == V_TEXT) {
			enum etl_code rc = sink_pw_hold(s, b, v->s, v->n, ord, err);
			if (rc != ETL_OK)
				return rc;
		} else if (p->binary) {
			encode_bin_value(b, v, p->bin[i], p->labels);
		} else {
			encode_value(b, v, p->labels);
		}
	}
	for (int i = 0; i < p->naudit; i++) {
		/* The wall clock with its offset in text (TIMESTAMP keeps the
		 * wall clock, TIMESTAMPTZ gets the instant, even in a
		 * fall-back hour); in binary the wall clock, or the instant
		 * for TIMESTAMPTZ. */
		struct value v = {.type = V_TIMESTAMP,
		                  .instant = true,
		                  .off = (int32_t)((p->audit_wall - p->audit_utc) / 1000000),
		                  .i = p->binary && p->audit_tz[i] ? p->audit_utc : p->audit_wall};
		if (p->binary) {
			encode_bin_value(b, &v, BIN_TIMESTAMP, NULL);
		} else {
			buf_put(b, "\t", 1);
			encode_value(b, &v, NULL);
		}
	}
	if (!p->binary)
		buf_put(b, "\n", 1);
	return ETL_OK;
}

enum etl_code
copy_add(struct copy_sink *s, const struct valid_row *row, const struct csvrow_record *rec,
         int64_t number, struct etl_error *err)
{
	const struct sink_plan *p = s->plan;
	if (!s->fast.on && !batch_room(&s->batch))
		return error_oom(err, NULL, 0);
	struct buf *b = &s->batch.data;
	if (s->fast.on) {
		/* One COPY of the whole file: nothing is kept for isolation. */
		int64_t id;
		if (!sink_fast_row(s, &id))
			return ETL_OK;
		sink_row_start(p, b, -1, s->fast.own_ids ? &id : NULL);
		enum etl_code rc = encode_row(s, row, b, -1, err);
		if (rc != ETL_OK)
			return rc;
		if (b->len - s->batch.sent >= SEND_CHUNK) {
			rc = send_rows(s, b->len, err);
			b->len = s->batch.sent = 0;
		}
		return rc;
	}
	batch_start_row(&s->batch);
	int64_t id;
	if (p->id_ok && !ids_next(&s->ids, &id))
		return error_set(err, ETL_EINPUT, NULL, rec->line,
		                 "the file has more rows than when it was read first: it changed "
		                 "while it loaded");
	sink_row_start(p, b, p->staged ? s->batch.n : -1, p->id_ok ? &id : NULL);
	enum etl_code rc = encode_row(s, row, b, s->batch.n, err);
	if (rc != ETL_OK)
		return rc;
	char shown[400];
	if (p->staged)
		valid_show_key(p->t, row, shown, sizeof shown);
	if (!batch_add(&s->batch, rec, number, p->staged ? shown : NULL))
		return error_oom(err, NULL, 0);
	if (!s->opts.hold_rows && b->len - s->batch.sent >= SEND_CHUNK)
		return send_rows(s, b->len, err);
	return ETL_OK;
}

int
copy_rows(const struct copy_sink *s)
{
	return s->batch.n;
}

size_t
copy_batch_bytes(const struct copy_sink *s)
{
	return s->batch.data.len - s->batch.sent + s->batch.orig.len + s->batch.keys.len;
}

void
copy_row_record(struct copy_sink *s, int i, struct csvrow_record *rec, int64_t *number)
{
	batch_record(&s->batch, i, rec, number);
}

enum etl_code
copy_end(struct copy_sink *s, struct copy_outcome *out, struct etl_error *err)
{
	enum etl_code rc = ETL_OK;
	memset(out, 0, sizeof *out);
	if (s->opts.hold_rows && !s->copy_conn->in_copy)
		rc = start_copy(s, err);
	if (rc == ETL_OK)
		rc = send_rows(s, s->batch.data.len, err);
	if (rc != ETL_OK) {
		copy_abort(s, "send failed");
		return rc;
	}
	PGresult *r = conn_copy_end(s->copy_conn, NULL);
	if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK && s->plan->staged) {
		PQclear(r);
		bool failed;
		r = sink_pw_staged(s, &failed, err);
		if (failed) {
			copy_abort(s, NULL);
			return err->code;
		}
		if (r == NULL) {
			conn_arm(&s->db);
			r = db_run(s->db.pg, s->plan->insert_sql.data);
			conn_disarm();
		}
	}
	ExecStatusType st = PQresultStatus(r);
	bool refused = false;
	if (r == NULL) {
		rc = db_error(s->db.pg, NULL, "cannot end COPY", err);
	} else if (st == PGRES_TUPLES_OK) {
		sink_read_outcome(s, r, s->batch.n, out);
	} else if (st == PGRES_COMMAND_OK) {
		out->loaded = s->batch.n;
	} else if (conn_refused(&s->db, r, true)) {
		refused = true;
	} else {
		rc = db_error(s->db.pg, r, NULL, err);
	}
	PQclear(r);
	if (rc != ETL_OK) {
		copy_abort(s, NULL);
		return rc;
	}
	if (refused) {
		/* Start the batch over and settle it range by range. */
		rc = conn_exec(&s->db,
		               s->opts.single_txn ? "ROLLBACK TO SAVEPOINT etl_batch" : "ROLLBACK",
		               err);
		if (rc == ETL_OK)
			rc = begin_txn(s, err);
		if (rc == ETL_OK)
			rc = sink_isolate(s, out, err);
		if (rc != ETL_OK) {
			copy_abort(s, NULL);
			return rc;
		}
	}
	if (s->refused.oom) {
		copy_abort(s, NULL);
		return error_oom(err, NULL, 0);
	}
	out->rejects = s->refused.rejects;
	out->nrejects = s->refused.n;
	out->ids = s->ids.v;
	out->nids = s->ids.n;
	out->xmins = ids_xmins(s->plan->t, s->plan->citus, 0, refused || s->opts.single_txn);
	return ETL_OK;
}

enum etl_code
copy_commit(struct copy_sink *s, struct etl_error *err)
{
	s->in_batch = false;
	return conn_exec(&s->db, s->opts.single_txn ? "RELEASE SAVEPOINT etl_batch" : "COMMIT",
	                 err);
}

void
copy_abort(struct copy_sink *s, const char *why)
{
	if (s == NULL)
		return;
	if (s->copy_conn->in_copy) {
		PGresult *r = conn_copy_end(s->copy_conn, why ? why : "aborted");
		PQclear(r);
	}
	conn_disarm();
	if (s->in_batch && PQstatus(s->db.pg) == CONNECTION_OK) {
		PGresult *r =
		        db_run(s->db.pg,
		               s->opts.single_txn ? "ROLLBACK TO SAVEPOINT etl_batch" : "ROLLBACK");
		PQclear(r);
	}
	s->in_batch = false;
}

enum etl_code
copy_finish(struct copy_sink *s, struct etl_error *err)
{
	s->in_batch = false;
	return conn_exec(&s->db, "COMMIT", err);
}

void
copy_abort_all(struct copy_sink *s)
{
	copy_abort(s, NULL);
	sink_fast_off(&s->fast);
	if (PQstatus(s->db.pg) == CONNECTION_OK) {
		PGresult *r = db_run(s->db.pg, "ROLLBACK");
		PQclear(r);
	}
}

/* ---- the empty-table path's transaction (its steps: copy_fast.c) ----------- */

/* Rolls the fast path's transaction back; the table is as it was. */
static void
fast_rollback(struct copy_sink *s)
{
	if (s->copy_conn->in_copy) {
		PGresult *r = conn_copy_end(s->copy_conn, "abandoned");
		PQclear(r);
	}
	/* The load's transaction first: its index builds hold the shadow. */
	s->copy_conn = &s->db;
	PGresult *r = db_run(s->db.pg, "ROLLBACK");
	PQclear(r);
	sink_fast_rollback(s);
	s->in_batch = false;
	s->batch.data.len = s->batch.sent = 0;
	sink_pw_reset(&s->pw);
}

enum etl_code
copy_fast_begin(struct copy_sink *s, int jobs, bool big, bool *taken, struct etl_error *err)
{
	struct sink_conn *to = &s->db;
	bool go = false;
	*taken = false;
	sink_fast_init(s, jobs);
	enum etl_code rc = conn_exec(&s->db, "BEGIN", err);
	if (rc != ETL_OK)
		return rc;
	s->in_batch = true;
	if (s->opts.begun == NULL || (rc = s->opts.begun(s->opts.begun_arg, err)) == ETL_OK)
		rc = sink_fast_begin(s, big, &go, &to, err);
	/* The COPY runs there: on the shadow's connection, or the load's. */
	s->copy_conn = to;
	if (rc != ETL_OK || !go)
		fast_rollback(s);
	if (rc != ETL_OK)
		return rc;
	if (!go) {
		error_clear(err);
		sink_fast_passed_by(s);
		return ETL_OK;
	}
	s->batch.data.len = s->batch.sent = 0;
	*taken = true;
	return ETL_OK;
}

enum etl_code
copy_fast_end(struct copy_sink *s, struct copy_outcome *out, bool *refused, struct etl_error *err)
{
	memset(out, 0, sizeof *out);
	*refused = false;
	enum etl_code rc = send_rows(s, s->batch.data.len, err);
	s->batch.data.len = s->batch.sent = 0;
	if (rc == ETL_OK)
		rc = sink_fast_end(s, out, refused, err);
	if (rc == ETL_OK && !*refused && s->fast.own_ids && s->fast.rows > 0) {
		/* The rows' ids: the one range the fast path numbered. */
		if (ids_one(&s->ids, s->fast.id_first, s->fast.id_next - 1)) {
			out->ids = s->ids.v;
			out->nids = 1;
		} else {
			rc = error_oom(err, NULL, 0);
		}
	}
	if (rc != ETL_OK || *refused) {
		fast_rollback(s);
		return rc;
	}
	s->copy_conn = &s->db;
	return ETL_OK;
}
