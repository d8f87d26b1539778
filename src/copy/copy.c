/*
 * copy.c — COPY batches, conflicts and the isolation of refused rows.
 */
#include "copy_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "encode.h"

/* The load's timestamp, from the server: its wall clock in the load's
 * zone and the instant, in microseconds since 2000-01-01. */
static enum etl_code
load_timestamp(struct copy_sink *s, const char *timezone, struct etl_error *err)
{
	const char *params[1] = {timezone ? timezone : "UTC"};
	PGresult *r = db_query(s->db.pg,
	                       "SELECT (extract(epoch FROM now() AT TIME ZONE $1) * 1000000)::int8 "
	                       "- 946684800000000, (extract(epoch FROM now()) * 1000000)::int8 - "
	                       "946684800000000",
	                       1, params, err);
	if (r == NULL)
		return ETL_EDB;
	s->audit_wall = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	s->audit_utc = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	return ETL_OK;
}

enum etl_code
copy_open(struct copy_sink **out, const struct copy_opts *o, struct etl_error *err)
{
	struct copy_sink *s = calloc(1, sizeof *s);
	enum etl_code rc = ETL_OK;
	*out = NULL;
	if (s == NULL)
		return error_oom(err, NULL, 0);
	conn_attach(&s->db, o->conn);
	s->to = &s->db;
	s->t = o->map->t;
	s->mode = o->on_conflict;
	s->single_txn = o->single_transaction;
	s->name = o->name != NULL ? o->name : o->map->t->table;
	s->begun = o->begun;
	s->begun_arg = o->begun_arg;
	s->hold_rows = o->hold_rows;
	s->settings = o->settings;
	s->lock_timeout_ms = o->lock_timeout_ms;
	s->connect = o->connect;
	s->connect_arg = o->connect_arg;
	s->load_id = o->load_id;
	s->identical_skips = o->identical_skips;
	for (int i = 0; i < TABLE_MAXLABELS; i++)
		s->labels[i] = o->facts->event_labels[i];
	s->staged = s->t->nkey > 0;

	/* The columns sent: those the file has, plus a sales row's price
	 * (taken from the product when empty); password and password_hash
	 * both fill password_hash. */
	const struct table_def *t = s->t;
	const struct live_table *live = &o->facts->kinds[t->kind];
	for (int c = 0; c < t->ncols; c++) {
		bool in_file = o->map->col_field[c] >= 0;
		bool needed = t->cols[c].empty_rule == EMPTY_DEFAULT && live->cols[c].required;
		if (!in_file && t->cols[c].empty_rule != EMPTY_REF && !needed)
			continue;
		int dup = -1;
		for (int i = 0; i < s->ncols; i++)
			if (strcmp(t->cols[s->col[i]].db_column, t->cols[c].db_column) == 0)
				dup = i;
		if (dup >= 0) {
			s->alt[dup] = c; /* fills the column when the first is empty */
			continue;
		}
		s->col[s->ncols] = c;
		s->alt[s->ncols] = -1;
		if (!in_file && needed) {
			char why[256];
			s->use_dflt[s->ncols] = true;
			(void)valid_value(NULL, &t->cols[c], t->cols[c].empty,
			                  strlen(t->cols[c].empty), &s->dflt[s->ncols], why,
			                  sizeof why);
		}
		s->ncols++;
	}
	for (int i = 0; i < live->naudit; i++) {
		s->audit[i] = live->audit[i];
		s->audit_tz[i] = live->audit_tz[i];
	}
	s->naudit = live->naudit;
	if (s->naudit > 0 && (rc = load_timestamp(s, o->timezone, err)) != ETL_OK)
		goto out;
	rc = sink_column_types(s, o->utc, o->text_only, err);
	if (rc == ETL_OK)
		rc = sink_id_column(s, err);
	/* On Citus the rows' xmins are the workers': undo cannot read them. */
	if (rc == ETL_OK && s->id_ok)
		rc = sink_citus_table(s, &s->citus, err);
	if (rc != ETL_OK)
		goto out;
	if (s->staged)
		sink_stage_sql(s, o->stage_id);
	sink_pw_setup(s);
	if (s->staged) {
		sink_build_insert(s);
		buf_put(&s->insert_sql, "", 1);
		sql_printf(&s->copy_sql, "COPY %s (etl_ord, ", s->stage);
	} else {
		sql_printf(&s->copy_sql, "COPY %s (", sink_q(s, t->table));
	}
	sink_id_first(s, &s->copy_sql, "");
	sink_col_list(s, &s->copy_sql, "", false);
	sql_str(&s->copy_sql, s->binary ? ") FROM STDIN WITH (FORMAT binary)" : ") FROM STDIN");
	buf_put(&s->copy_sql, "", 1);
	if (s->copy_sql.failed || s->insert_sql.failed || s->stage_sql.failed || s->oom)
		rc = error_oom(err, NULL, 0);
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
	shadow_abandon(&s->sh);
	conn_release(&s->db, false);
	buf_free(&s->stage_sql);
	sink_pw_free(s);
	ids_free(&s->ids);
	buf_free(&s->copy_sql);
	buf_free(&s->insert_sql);
	batch_free(&s->batch);
	for (int i = 0; i < s->nrej; i++)
		free(s->rejects[i].reason);
	free(s->rejects);
	for (int i = 0; i < s->nrebuild; i++)
		free(s->rebuild[i]);
	for (int i = 0; i < s->nidents; i++)
		PQfreemem(s->idents[i].quoted);
	free(s->rebuild);
	free(s);
}

/* ---- one batch ------------------------------------------------------------ */

/* Starts the batch's COPY on the load's connection. */
static enum etl_code
start_copy(struct copy_sink *s, struct etl_error *err)
{
	return conn_copy_start(s->to, s->copy_sql.data, s->binary, err);
}

/* A batch's transaction (or savepoint): BEGIN, the caller's hook, the
 * staging table. */
static enum etl_code
begin_txn(struct copy_sink *s, struct etl_error *err)
{
	enum etl_code rc = conn_exec(&s->db, s->single_txn ? "SAVEPOINT etl_batch" : "BEGIN", err);
	if (rc != ETL_OK)
		return rc;
	s->in_batch = true;
	if (!s->single_txn && s->begun != NULL)
		rc = s->begun(s->begun_arg, err);
	if (rc == ETL_OK && s->staged)
		rc = conn_exec(&s->db, s->stage_sql.data, err);
	return rc;
}

enum etl_code
copy_begin_txn(struct copy_sink *s, struct etl_error *err)
{
	for (int i = 0; i < s->nrej; i++)
		free(s->rejects[i].reason);
	s->nrej = 0;
	s->oom = false;
	batch_reset(&s->batch);
	sink_pw_reset(s);
	return begin_txn(s, err);
}

enum etl_code
copy_begin_rows(struct copy_sink *s, int64_t rows, struct etl_error *err)
{
	ids_none(&s->ids);
	enum etl_code rc = s->id_ok ? ids_reserve(&s->ids, &s->db, s->id_seq, rows, err) : ETL_OK;
	if (rc != ETL_OK)
		return rc;
	/* Held rows go at copy_end(), and so does the COPY that takes the
	 * table's lock: a reader (--jobs, under the file's mutex) must never
	 * wait in the lock queue, where another session's DDL can hold it up
	 * while a done batch, waiting for the mutex, holds what that DDL waits
	 * for. */
	return s->hold_rows ? ETL_OK : start_copy(s, err);
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
	return s->id_ok;
}

const char *
copy_update_columns(const struct copy_sink *s)
{
	return s->update_cols[0] != '\0' ? s->update_cols : NULL;
}

/* Appends the values of a row and its line end (a plaintext password is
 * hashed here: stored only as a hash, it goes nowhere else). */
static enum etl_code
encode_row(struct copy_sink *s, const struct valid_row *row, struct buf *b, int ord,
           struct etl_error *err)
{
	for (int i = 0; i < s->ncols; i++) {
		if (i > 0 && !s->binary)
			buf_put(b, "\t", 1);
		int src = s->col[i];
		const struct value *v = s->use_dflt[i] ? &s->dflt[i] : &row->v[src];
		if ((v->type == V_NULL || v->type == V_ABSENT) && s->alt[i] >= 0) {
			src = s->alt[i];
			v = &row->v[src];
		}
		if (s->t->cols[src].rule == RULE_PASSWORD && v->type == V_TEXT) {
			enum etl_code rc = sink_pw_hold(s, b, v->s, v->n, ord, err);
			if (rc != ETL_OK)
				return rc;
		} else if (s->binary) {
			encode_bin_value(b, v, s->bin[i], s->labels);
		} else {
			encode_value(b, v, s->labels);
		}
	}
	for (int i = 0; i < s->naudit; i++) {
		/* The wall clock with its offset in text (TIMESTAMP keeps the
		 * wall clock, TIMESTAMPTZ gets the instant, even in a
		 * fall-back hour); in binary the wall clock, or the instant
		 * for TIMESTAMPTZ. */
		struct value v = {.type = V_TIMESTAMP,
		                  .instant = true,
		                  .off = (int32_t)((s->audit_wall - s->audit_utc) / 1000000),
		                  .i = s->binary && s->audit_tz[i] ? s->audit_utc : s->audit_wall};
		if (s->binary) {
			encode_bin_value(b, &v, BIN_TIMESTAMP, NULL);
		} else {
			buf_put(b, "\t", 1);
			encode_value(b, &v, NULL);
		}
	}
	if (!s->binary)
		buf_put(b, "\n", 1);
	return ETL_OK;
}

enum etl_code
copy_add(struct copy_sink *s, const struct valid_row *row, const struct csvrow_record *rec,
         int64_t number, struct etl_error *err)
{
	if (!s->fast && !batch_room(&s->batch))
		return error_oom(err, NULL, 0);
	struct buf *b = &s->batch.data;
	if (s->fast) {
		/* One COPY of the whole file: nothing is kept for isolation. */
		if (s->own_ids && s->id_next > s->id_max) {
			s->id_overflow = true;
			return ETL_OK;
		}
		sink_row_start(s, b, -1, s->own_ids ? &s->id_next : NULL);
		s->id_next++;
		enum etl_code rc = encode_row(s, row, b, -1, err);
		if (rc != ETL_OK)
			return rc;
		s->fast_rows++;
		if (b->len - s->batch.sent >= SEND_CHUNK) {
			rc = sink_pw_send(s, b->len, err);
			b->len = s->batch.sent = 0;
		}
		return rc;
	}
	batch_start_row(&s->batch);
	int64_t id;
	if (s->id_ok && !ids_next(&s->ids, &id))
		return error_set(err, ETL_EINPUT, NULL, rec->line,
		                 "the file has more rows than when it was read first: it changed "
		                 "while it loaded");
	sink_row_start(s, b, s->staged ? s->batch.n : -1, s->id_ok ? &id : NULL);
	enum etl_code rc = encode_row(s, row, b, s->batch.n, err);
	if (rc != ETL_OK)
		return rc;
	char shown[400];
	if (s->staged)
		valid_show_key(s->t, row, shown, sizeof shown);
	if (!batch_add(&s->batch, rec, number, s->staged ? shown : NULL))
		return error_oom(err, NULL, 0);
	if (!s->hold_rows && b->len - s->batch.sent >= SEND_CHUNK)
		return sink_pw_send(s, b->len, err);
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
	if (s->hold_rows && !s->to->in_copy)
		rc = start_copy(s, err);
	if (rc == ETL_OK)
		rc = sink_pw_send(s, s->batch.data.len, err);
	if (rc != ETL_OK) {
		copy_abort(s, "send failed");
		return rc;
	}
	PGresult *r = conn_copy_end(s->to, NULL);
	if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK && s->staged) {
		PQclear(r);
		bool failed;
		r = sink_pw_staged(s, &failed, err);
		if (failed) {
			copy_abort(s, NULL);
			return err->code;
		}
		if (r == NULL) {
			conn_arm(&s->db);
			r = db_run(s->db.pg, s->insert_sql.data);
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
		               s->single_txn ? "ROLLBACK TO SAVEPOINT etl_batch" : "ROLLBACK", err);
		if (rc == ETL_OK)
			rc = begin_txn(s, err);
		if (rc == ETL_OK)
			rc = sink_isolate(s, out, err);
		if (rc != ETL_OK) {
			copy_abort(s, NULL);
			return rc;
		}
	}
	if (s->oom) {
		copy_abort(s, NULL);
		return error_oom(err, NULL, 0);
	}
	out->rejects = s->rejects;
	out->nrejects = s->nrej;
	out->ids = s->ids.v;
	out->nids = s->ids.n;
	out->xmins = ids_xmins(s->t, s->citus, 0, refused || s->single_txn);
	return ETL_OK;
}

enum etl_code
copy_commit(struct copy_sink *s, struct etl_error *err)
{
	s->in_batch = false;
	return conn_exec(&s->db, s->single_txn ? "RELEASE SAVEPOINT etl_batch" : "COMMIT", err);
}

void
copy_abort(struct copy_sink *s, const char *why)
{
	if (s == NULL)
		return;
	if (s->to->in_copy) {
		PGresult *r = conn_copy_end(s->to, why ? why : "aborted");
		PQclear(r);
	}
	conn_disarm();
	if (s->in_batch && PQstatus(s->db.pg) == CONNECTION_OK) {
		PGresult *r = db_run(s->db.pg, s->single_txn ? "ROLLBACK TO SAVEPOINT etl_batch"
		                                             : "ROLLBACK");
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
	s->fast = false;
	if (PQstatus(s->db.pg) == CONNECTION_OK) {
		PGresult *r = db_run(s->db.pg, "ROLLBACK");
		PQclear(r);
	}
}
