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
#include "signals.h"

/* The load's timestamp, from the server: its wall clock in the load's
 * zone and the instant, in microseconds since 2000-01-01. */
static enum etl_code
load_timestamp(struct copy_sink *s, const char *timezone, struct etl_error *err)
{
	const char *params[1] = {timezone ? timezone : "UTC"};
	PGresult *r = db_query(s->conn,
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
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	s->conn = o->conn;
	s->t = o->map->t;
	s->mode = o->on_conflict;
	s->single_txn = o->single_transaction;
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
	s->cancel = PQgetCancel(s->conn);
	if (s->copy_sql.failed || s->insert_sql.failed || s->stage_sql.failed || s->oom)
		rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
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
	signals_set_cancel(NULL);
	shadow_abandon(s);
	PQfreeCancel(s->cancel);
	buf_free(&s->stage_sql);
	sink_pw_free(s);
	free(s->ids);
	buf_free(&s->copy_sql);
	buf_free(&s->insert_sql);
	buf_free(&s->data);
	buf_free(&s->orig);
	for (int i = 0; i < s->nrej; i++)
		free(s->rejects[i].reason);
	free(s->rejects);
	free(s->off);
	free(s->orig_off);
	free(s->line);
	free(s->number);
	free(s->key_off);
	buf_free(&s->keys);
	free(s->fields);
	free(s->lens);
	for (int i = 0; i < s->nrebuild; i++)
		free(s->rebuild[i]);
	for (int i = 0; i < s->nidents; i++)
		PQfreemem(s->idents[i].quoted);
	free(s->rebuild);
	free(s);
}

/* ---- one batch ------------------------------------------------------------ */

/* Runs a statement expected to return no rows; a cancelled query counts as
 * what it is, a database error. */
enum etl_code
sink_exec(struct copy_sink *s, const char *sql, struct etl_error *err)
{
	return db_exec(s->conn, sql, err);
}

/* A binary COPY stream opens with its header. */
enum etl_code
sink_send_header(struct copy_sink *s, struct etl_error *err)
{
	if (!s->binary)
		return ETL_OK;
	struct buf h = {0};
	encode_bin_header(&h);
	int ok = !h.failed && PQputCopyData(s->conn, h.data, (int)h.len) == 1;
	buf_free(&h);
	return ok ? ETL_OK : db_error(s->conn, NULL, "cannot send rows", err);
}

/* Starts COPY; returns ETL_OK with the connection in COPY IN state. */
enum etl_code
sink_start_copy(struct copy_sink *s, struct etl_error *err)
{
	signals_set_cancel(s->cancel);
	PGresult *r = db_run(s->conn, s->copy_sql.data);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		enum etl_code rc = db_error(s->conn, r, "cannot start COPY", err);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	s->in_copy = true;
	return sink_send_header(s, err);
}

/* A batch's transaction (or savepoint): BEGIN, the caller's hook, the
 * staging table. */
static enum etl_code
begin_txn(struct copy_sink *s, struct etl_error *err)
{
	enum etl_code rc = sink_exec(s, s->single_txn ? "SAVEPOINT etl_batch" : "BEGIN", err);
	if (rc != ETL_OK)
		return rc;
	s->in_batch = true;
	if (!s->single_txn && s->begun != NULL)
		rc = s->begun(s->begun_arg, err);
	if (rc == ETL_OK && s->staged)
		rc = sink_exec(s, s->stage_sql.data, err);
	return rc;
}

/* Reserves n ids from the sequence, as ranges of consecutive ids (other
 * sessions' nextval() may interleave). */
static enum etl_code
reserve_ids(struct copy_sink *s, int64_t n, struct etl_error *err)
{
	s->nids = s->id_range = 0;
	if (!s->id_ok || n <= 0)
		return ETL_OK;
	char count[24];
	(void)snprintf(count, sizeof count, "%lld", (long long)n);
	const char *params[1] = {count};
	PGresult *r = db_queryf(s->conn, 1, params, err,
	                        "SELECT min(id), max(id) FROM (SELECT id, id - row_number() OVER "
	                        "(ORDER BY id) AS g FROM (SELECT nextval(%s) AS id FROM "
	                        "generate_series(1, $1::bigint)) a) b GROUP BY g ORDER BY 1",
	                        s->id_seq);
	if (r == NULL)
		return ETL_EDB;
	int k = PQntuples(r);
	if (k > s->capids) {
		struct ledger_ids *v = realloc(s->ids, (size_t)k * sizeof *v);
		if (v == NULL) {
			PQclear(r);
			return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
		}
		s->ids = v;
		s->capids = k;
	}
	for (int i = 0; i < k; i++) {
		s->ids[i].first = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		s->ids[i].last = strtoll(PQgetvalue(r, i, 1), NULL, 10);
	}
	s->nids = k;
	s->id_cur = k > 0 ? s->ids[0].first : 0;
	PQclear(r);
	return ETL_OK;
}

/* The next reserved id; false when the reservation ran out. */
static bool
next_id(struct copy_sink *s, int64_t *id)
{
	while (s->id_range < s->nids && s->id_cur > s->ids[s->id_range].last) {
		s->id_range++;
		if (s->id_range < s->nids)
			s->id_cur = s->ids[s->id_range].first;
	}
	if (s->id_range >= s->nids)
		return false;
	*id = s->id_cur++;
	return true;
}

enum etl_code
copy_begin_txn(struct copy_sink *s, struct etl_error *err)
{
	for (int i = 0; i < s->nrej; i++)
		free(s->rejects[i].reason);
	s->nrej = 0;
	s->oom = false;
	s->n = 0;
	s->data.len = s->orig.len = s->keys.len = 0;
	s->sent = 0;
	sink_pw_reset(s);
	return begin_txn(s, err);
}

enum etl_code
copy_begin_rows(struct copy_sink *s, int64_t rows, struct etl_error *err)
{
	enum etl_code rc = reserve_ids(s, rows, err);
	if (rc != ETL_OK)
		return rc;
	/* Held rows go at copy_end(), and so does the COPY that takes the
	 * table's lock: a reader (--jobs, under the file's mutex) must never
	 * wait in the lock queue, where another session's DDL can hold it up
	 * while a done batch, waiting for the mutex, holds what that DDL waits
	 * for. */
	return s->hold_rows ? ETL_OK : sink_start_copy(s, err);
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

static bool
grow_rows(struct copy_sink *s)
{
	if (s->n + 2 <= s->cap)
		return true;
	int cap = s->cap ? s->cap * 2 : 1024;
	size_t *off = realloc(s->off, (size_t)(cap + 1) * sizeof *off);
	if (off != NULL)
		s->off = off;
	size_t *oo = realloc(s->orig_off, (size_t)cap * sizeof *oo);
	if (oo != NULL)
		s->orig_off = oo;
	long *line = realloc(s->line, (size_t)cap * sizeof *line);
	if (line != NULL)
		s->line = line;
	size_t *ko = realloc(s->key_off, (size_t)cap * sizeof *ko);
	if (ko != NULL)
		s->key_off = ko;
	int64_t *num = realloc(s->number, (size_t)cap * sizeof *num);
	if (num != NULL)
		s->number = num;
	if (off == NULL || oo == NULL || line == NULL || ko == NULL || num == NULL)
		return false;
	s->cap = cap;
	return true;
}

enum etl_code
sink_send(struct copy_sink *s, size_t upto, struct etl_error *err)
{
	enum etl_code rc = sink_pw_before_send(s, err);
	if (rc != ETL_OK)
		return rc;
	while (upto > s->sent) {
		size_t n = upto - s->sent < SEND_CHUNK ? upto - s->sent : SEND_CHUNK;
		if (PQputCopyData(s->conn, s->data.data + s->sent, (int)n) != 1)
			return db_error(s->conn, NULL, "cannot send rows", err);
		s->sent += n;
	}
	return ETL_OK;
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
		/* The wall clock for TIMESTAMP, and for TIMESTAMPTZ in text
		 * (read in the session's zone); the instant in binary. */
		struct value v = {.type = V_TIMESTAMP,
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
	if (!s->fast && !grow_rows(s))
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	struct buf *b = &s->data;
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
		if (b->len - s->sent >= SEND_CHUNK) {
			rc = sink_send(s, b->len, err);
			b->len = s->sent = 0;
		}
		return rc;
	}
	if (s->n == 0)
		s->off[0] = b->len;
	int64_t id;
	if (s->id_ok && !next_id(s, &id))
		return error_set(err, ETL_EINPUT, NULL, rec->line,
		                 "the file has more rows than when it was read first: it changed "
		                 "while it loaded");
	sink_row_start(s, b, s->staged ? s->n : -1, s->id_ok ? &id : NULL);
	enum etl_code rc = encode_row(s, row, b, s->n, err);
	if (rc != ETL_OK)
		return rc;
	s->off[s->n + 1] = b->len;
	s->line[s->n] = rec->line;
	s->number[s->n] = number;
	if (s->staged) {
		char shown[400];
		valid_show_key(s->t, row, shown, sizeof shown);
		s->key_off[s->n] = s->keys.len;
		buf_put(&s->keys, shown, strlen(shown) + 1);
	}

	/* The record as read: nfields, then each field's length and bytes. */
	struct buf *o = &s->orig;
	s->orig_off[s->n] = o->len;
	uint32_t nf = (uint32_t)rec->nfields;
	buf_put(o, &nf, sizeof nf);
	for (int i = 0; i < rec->nfields; i++) {
		uint32_t len = (uint32_t)rec->lens[i];
		buf_put(o, &len, sizeof len);
		buf_put(o, rec->fields[i], rec->lens[i]);
	}
	if (b->failed || o->failed || s->keys.failed)
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	s->n++;
	if (!s->hold_rows && b->len - s->sent >= SEND_CHUNK)
		return sink_send(s, b->len, err);
	return ETL_OK;
}

int
copy_rows(const struct copy_sink *s)
{
	return s->n;
}

void
copy_row_record(struct copy_sink *s, int i, struct csvrow_record *rec, int64_t *number)
{
	*number = s->number[i];
	const char *p = s->orig.data + s->orig_off[i];
	uint32_t nf;
	memcpy(&nf, p, sizeof nf);
	p += sizeof nf;
	if ((int)nf > s->fcap) {
		char **f = realloc(s->fields, nf * sizeof *f);
		size_t *l = realloc(s->lens, nf * sizeof *l);
		if (f != NULL)
			s->fields = f;
		if (l != NULL)
			s->lens = l;
		if (f == NULL || l == NULL)
			nf = (uint32_t)s->fcap;
		else
			s->fcap = (int)nf;
	}
	for (uint32_t k = 0; k < nf; k++) {
		uint32_t len;
		memcpy(&len, p, sizeof len);
		p += sizeof len;
		s->fields[k] = (char *)p;
		s->lens[k] = len;
		p += len;
	}
	rec->line = rec->end_line = s->line[i];
	rec->nfields = (int)nf;
	rec->fields = s->fields;
	rec->lens = s->lens;
	rec->error = NULL;
}

/* Ends a running COPY; returns its result (the caller clears it). */
PGresult *
sink_end_copy(struct copy_sink *s, const char *abort_why)
{
	s->in_copy = false;
	if (s->binary && abort_why == NULL) {
		struct buf t = {0};
		encode_bin_trailer(&t);
		int ok = !t.failed && PQputCopyData(s->conn, t.data, (int)t.len) == 1;
		buf_free(&t);
		if (!ok)
			return NULL;
	}
	if (PQputCopyEnd(s->conn, abort_why) != 1)
		return NULL;
	PGresult *r = PQgetResult(s->conn), *extra;
	while ((extra = PQgetResult(s->conn)) != NULL)
		PQclear(extra);
	signals_set_cancel(NULL);
	return r;
}

enum etl_code
copy_end(struct copy_sink *s, struct copy_outcome *out, struct etl_error *err)
{
	enum etl_code rc = ETL_OK;
	memset(out, 0, sizeof *out);
	if (s->hold_rows && !s->in_copy)
		rc = sink_start_copy(s, err);
	if (rc == ETL_OK)
		rc = sink_send(s, s->data.len, err);
	if (rc != ETL_OK) {
		copy_abort(s, "send failed");
		return rc;
	}
	PGresult *r = sink_end_copy(s, NULL);
	if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK && s->staged) {
		PQclear(r);
		bool failed;
		r = sink_pw_staged(s, &failed, err);
		if (failed) {
			copy_abort(s, NULL);
			return err->code;
		}
		if (r == NULL) {
			signals_set_cancel(s->cancel);
			r = db_run(s->conn, s->insert_sql.data);
			signals_set_cancel(NULL);
		}
	}
	ExecStatusType st = PQresultStatus(r);
	bool refused = false;
	if (r == NULL) {
		rc = db_error(s->conn, NULL, "cannot end COPY", err);
	} else if (st == PGRES_TUPLES_OK) {
		sink_read_outcome(s, r, s->n, out);
	} else if (st == PGRES_COMMAND_OK) {
		out->loaded = s->n;
	} else if (PQstatus(s->conn) == CONNECTION_OK &&
	           (sink_row_level(db_sqlstate(r)) || sink_retryable(db_sqlstate(r)))) {
		refused = true;
	} else {
		rc = db_error(s->conn, r, NULL, err);
	}
	PQclear(r);
	if (rc != ETL_OK) {
		copy_abort(s, NULL);
		return rc;
	}
	if (refused) {
		/* Start the batch over and settle it range by range. */
		rc = sink_exec(s, s->single_txn ? "ROLLBACK TO SAVEPOINT etl_batch" : "ROLLBACK",
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
	if (s->oom) {
		copy_abort(s, NULL);
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	}
	out->rejects = s->rejects;
	out->nrejects = s->nrej;
	out->ids = s->ids;
	out->nids = s->nids;
	out->xmins = sink_xmins(s, refused);
	return ETL_OK;
}

struct ledger_xmins
sink_xmins(const struct copy_sink *s, bool savepoints)
{
	if (s->citus)
		return (struct ledger_xmins){
		        .how = XMINS_SHARDS, .table = s->t->table, .id_column = s->t->id_column};
	if (s->fast && s->shadow && s->aux_xid > 0)
		return (struct ledger_xmins){.how = XMINS_GIVEN, .xid = s->aux_xid};
	if (savepoints || s->single_txn)
		return (struct ledger_xmins){
		        .how = XMINS_SCAN, .table = s->t->table, .id_column = s->t->id_column};
	return (struct ledger_xmins){.how = XMINS_THIS_TXN};
}

enum etl_code
copy_commit(struct copy_sink *s, struct etl_error *err)
{
	s->in_batch = false;
	return sink_exec(s, s->single_txn ? "RELEASE SAVEPOINT etl_batch" : "COMMIT", err);
}

void
copy_abort(struct copy_sink *s, const char *why)
{
	if (s == NULL)
		return;
	if (s->in_copy) {
		PGresult *r = sink_end_copy(s, why ? why : "aborted");
		PQclear(r);
	}
	signals_set_cancel(NULL);
	if (s->in_batch && PQstatus(s->conn) == CONNECTION_OK) {
		PGresult *r = db_run(s->conn, s->single_txn ? "ROLLBACK TO SAVEPOINT etl_batch"
		                                            : "ROLLBACK");
		PQclear(r);
	}
	s->in_batch = false;
}

enum etl_code
copy_finish(struct copy_sink *s, struct etl_error *err)
{
	s->in_batch = false;
	return sink_exec(s, "COMMIT", err);
}

void
copy_abort_all(struct copy_sink *s)
{
	copy_abort(s, NULL);
	s->fast = false;
	if (PQstatus(s->conn) == CONNECTION_OK) {
		PGresult *r = db_run(s->conn, "ROLLBACK");
		PQclear(r);
	}
}
