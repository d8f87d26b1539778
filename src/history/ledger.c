/*
 * ledger.c — etl_loads and what each load did (etl_load_ids,
 * etl_load_before, etl_load_rejects).
 */
#include "ledger_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "signals.h"
#include "sqlbuf.h"

#ifndef ETL_VERSION
#define ETL_VERSION "dev"
#endif

int64_t
ledger_num(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void
ledger_str(char *dst, size_t size, PGresult *r, int row, int col)
{
	(void)snprintf(dst, size, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* What ledger_read_ledger() reads beyond struct ledger. */
void
ledger_read_ledger(PGresult *r, int i, struct ledger *e, struct seen *s)
{
	memset(e, 0, sizeof *e);
	e->load_id = ledger_num(r, i, 0);
	ledger_str(e->status, sizeof e->status, r, i, 1);
	e->records_done = ledger_num(r, i, 2);
	e->rows_read = ledger_num(r, i, 3);
	e->rows_loaded = ledger_num(r, i, 4);
	e->rows_updated = ledger_num(r, i, 5);
	e->rows_skipped = ledger_num(r, i, 6);
	e->rows_rejected = ledger_num(r, i, 7);
	e->reject_bytes = ledger_num(r, i, 8);
	ledger_str(e->reject_file, sizeof e->reject_file, r, i, 9);
	e->attempts = (int)ledger_num(r, i, 10);
	ledger_str(e->fingerprint, sizeof e->fingerprint, r, i, 11);
	ledger_str(e->sha256, sizeof e->sha256, r, i, 12);
	ledger_str(e->options, sizeof e->options, r, i, 13);
	e->retry_of = ledger_num(r, i, 14);
	e->undoable = PQgetvalue(r, i, 15)[0] == 't';
	ledger_str(e->kind, sizeof e->kind, r, i, 18);
	ledger_str(e->prefix, sizeof e->prefix, r, i, 20);
	e->rejects_loaded_by = ledger_num(r, i, 21);
	if (s != NULL) {
		ledger_str(s->holder, sizeof s->holder, r, i, 16);
		s->lease_valid = PQgetvalue(r, i, 17)[0] == 't';
		ledger_str(s->update_columns, sizeof s->update_columns, r, i, 19);
	}
}

void
ledger_id_text(char *buf, size_t size, int64_t id)
{
	(void)snprintf(buf, size, "%lld", (long long)id);
}

/* ---- who runs a load ------------------------------------------------------ */

/* The start time of process pid (clock ticks since boot), or 0. */
static unsigned long long
proc_start(pid_t pid)
{
	char path[64], buf[1024];
	(void)snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	(void)fclose(f);
	buf[n] = '\0';
	/* The command name may hold anything; the fields after it do not. */
	char *p = strrchr(buf, ')');
	unsigned long long start = 0;
	for (int field = 2; p != NULL && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p != NULL)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

/* "host pid start": this process. */
static void
holder_self(char *buf, size_t size)
{
	char host[128] = "";
	if (gethostname(host, sizeof host - 1) != 0)
		(void)snprintf(host, sizeof host, "unknown");
	(void)snprintf(buf, size, "%s %ld %llu", host, (long)getpid(), proc_start(getpid()));
}

/* Whether the process a holder names runs: 1 yes, 0 no, -1 cannot tell
 * (another host, or no holder recorded). */
static int
holder_state(const char *holder)
{
	char host[128], mine[128] = "";
	long pid;
	unsigned long long start;
	if (sscanf(holder, "%127s %ld %llu", host, &pid, &start) != 3 ||
	    gethostname(mine, sizeof mine - 1) != 0 || strcmp(host, mine) != 0)
		return -1;
	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		return 0;
	unsigned long long now_start = proc_start((pid_t)pid);
	return start == 0 || now_start == 0 || now_start == start ? 1 : 0;
}

/* "pid 123 on host h" from a holder, for messages. */
void
ledger_holder_name(const char *holder, char *buf, size_t size)
{
	char host[128];
	long pid;
	if (sscanf(holder, "%127s %ld", host, &pid) == 2)
		(void)snprintf(buf, size, "pid %ld on host %s", pid, host);
	else
		(void)snprintf(buf, size, "an earlier siprems-etl");
}

/*
 * The row of a load whose process is gone, yet locked: the server has not
 * yet ended the dead client's backend (it notices at its next read).  Waits
 * for the lock, at most LOCK_WAIT, in a savepoint; true while it is held.
 */
#define LOCK_WAIT "'15s'"

static bool
still_locked(PGconn *conn, const char *id, struct etl_error *err)
{
	const char *params[1] = {id};
	if (db_exec(conn, "SAVEPOINT etl_wait; SET LOCAL lock_timeout = " LOCK_WAIT, err) != ETL_OK)
		return true;
	PGresult *r = db_query(conn, "SELECT 1 FROM etl_loads WHERE load_id = $1 FOR UPDATE", 1,
	                       params, NULL);
	bool held = r == NULL;
	PQclear(r);
	(void)db_exec(conn,
	              held ? "ROLLBACK TO SAVEPOINT etl_wait"
	                   : "RELEASE SAVEPOINT etl_wait; SET LOCAL lock_timeout = DEFAULT",
	              NULL);
	return held;
}

/*
 * In a transaction: whether running load e is alive.  Its row is locked
 * while it is in a transaction; else its process tells (same host), else
 * its lease.  A dead one is marked interrupted (why says so).
 */
enum etl_code
ledger_check_running(PGconn *conn, const struct ledger *e, const struct seen *s, bool *alive,
                     char *why, size_t whysize, struct etl_error *err)
{
	char id[24];
	ledger_id_text(id, sizeof id, e->load_id);
	const char *params[2] = {id, NULL};
	PGresult *r =
	        db_query(conn, "SELECT 1 FROM etl_loads WHERE load_id = $1 FOR UPDATE SKIP LOCKED",
	                 1, params, err);
	if (r == NULL)
		return ETL_EDB;
	bool locked = PQntuples(r) == 0;
	PQclear(r);
	int state = holder_state(s->holder);
	if (locked && state == 0)
		locked = still_locked(conn, id, err);
	*alive = locked || state == 1 || (state < 0 && s->lease_valid);
	if (*alive)
		return ETL_OK;
	char who[200];
	ledger_holder_name(s->holder, who, sizeof who);
	(void)snprintf(why, whysize,
	               "interrupted: %s %s (killed, or its connection or server was lost); "
	               "%lld rows were committed, the next run resumes after them",
	               who, state == 0 ? "no longer runs" : "sent no word before its lease ended",
	               (long long)e->records_done);
	params[1] = why;
	r = db_query(
	        conn,
	        "UPDATE etl_loads SET status = 'interrupted', message = $2, lease_until = NULL "
	        "WHERE load_id = $1",
	        2, params, err);
	if (r == NULL)
		return ETL_EDB;
	PQclear(r);
	return ETL_OK;
}

/* Transaction-scoped locks on "fingerprint:kind" and "sha256:kind", in one
 * order, so that two loaders of one file decide one after the other. */
enum etl_code
ledger_lock_file(PGconn *conn, const char *a, const char *b, const char *kind,
                 struct etl_error *err)
{
	char ka[128], kb[128];
	(void)snprintf(ka, sizeof ka, "%s:%s", a, kind);
	(void)snprintf(kb, sizeof kb, "%s:%s", b && b[0] ? b : a, kind);
	const char *keys[2] = {strcmp(ka, kb) <= 0 ? ka : kb, strcmp(ka, kb) <= 0 ? kb : ka};
	for (int i = 0; i < (strcmp(ka, kb) == 0 ? 1 : 2); i++) {
		const char *params[1] = {keys[i]};
		PGresult *r =
		        db_query(conn, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", 1,
		                 params, err);
		if (r == NULL)
			return ETL_EDB;
		PQclear(r);
	}
	return ETL_OK;
}

void
ledger_rollback(PGconn *conn)
{
	if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE) {
		PGresult *r = db_run(conn, "ROLLBACK");
		PQclear(r);
	}
}

/* ---- claiming a file ---------------------------------------------------------- */

bool
ledger_history_exists(PGconn *conn, struct etl_error *err, bool *exists)
{
	PGresult *r = db_query(conn,
	                       "SELECT to_regclass('etl_loads') IS NOT NULL "
	                       "AND to_regclass('etl_load_ids') IS NOT NULL",
	                       0, NULL, err);
	if (r == NULL)
		return false;
	*exists = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return true;
}

/* Runs a query of the history: *r is NULL (ETL_OK) where there is none. */
enum etl_code
ledger_history_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
                     PGresult **r, struct etl_error *err)
{
	bool exists;
	*r = NULL;
	if (!ledger_history_exists(conn, err, &exists))
		return ETL_EDB;
	if (exists && (*r = db_query(conn, sql, nparams, params, err)) == NULL)
		return ETL_EDB;
	return ETL_OK;
}

enum etl_code
ledger_known_content(PGconn *conn, const char *kind, const char *sha256, const char *options,
                     char content[65], int64_t *records, bool *found, struct etl_error *err)
{
	const char *params[3] = {kind, sha256, options};
	PGresult *r;
	*found = false;
	if (ledger_history_query(
	            conn,
	            "SELECT fingerprint, file_records FROM etl_loads WHERE kind = $1 "
	            "AND file_sha256 = $2 AND options = $3 AND file_records IS NOT NULL "
	            "ORDER BY load_id DESC LIMIT 1",
	            3, params, &r, err) != ETL_OK)
		return ETL_EDB;
	if (r != NULL && PQntuples(r) == 1) {
		*found = true;
		ledger_str(content, 65, r, 0, 0);
		*records = ledger_num(r, 0, 1);
	}
	PQclear(r);
	return ETL_OK;
}

/* s, or NULL (SQL's) when it is NULL or empty. */
static const char *
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

static bool
completed(const struct ledger *e)
{
	return strcmp(e->status, "loaded") == 0 || strcmp(e->status, "partial") == 0;
}

/* The newest load of a name, as ledger_name_extent() and decide() read it. */
#define NAMED_LOAD                                                                                 \
	"SELECT " LEDGER_COLS ", coalesce(file_records, -1), coalesce(head_sha256, '') FROM "      \
	"etl_loads WHERE kind = $1 AND "                                                           \
	"file_name = $2 AND status <> 'undone' ORDER BY load_id DESC LIMIT 1"

enum etl_code
ledger_name_extent(PGconn *conn, const char *kind, const char *name, int64_t *at,
                   struct etl_error *err)
{
	*at = -1;
	if (strcmp(name, "stdin") == 0)
		return ETL_OK;
	const char *params[2] = {kind, name};
	PGresult *r;
	if (ledger_history_query(conn, NAMED_LOAD, 2, params, &r, err) != ETL_OK)
		return ETL_EDB;
	if (r != NULL && PQntuples(r) == 1) {
		struct ledger e;
		ledger_read_ledger(r, 0, &e, NULL);
		*at = completed(&e) ? ledger_num(r, 0, 22) : e.records_done;
	}
	PQclear(r);
	return ETL_OK;
}

/* The records load e rejected, when all of them were recorded. */
static enum etl_code
rejected_records(PGconn *conn, const struct ledger *e, int64_t **out, size_t *n, bool *complete,
                 struct etl_error *err)
{
	char id[24];
	ledger_id_text(id, sizeof id, e->load_id);
	const char *params[1] = {id};
	*out = NULL;
	*n = 0;
	PGresult *r =
	        db_query(conn, "SELECT record FROM etl_load_rejects WHERE load_id = $1 ORDER BY 1",
	                 1, params, err);
	if (r == NULL)
		return ETL_EDB;
	size_t count = (size_t)PQntuples(r);
	*complete = (int64_t)count == e->rows_rejected;
	int64_t *v = malloc((count ? count : 1) * sizeof *v);
	if (v == NULL) {
		PQclear(r);
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	}
	for (size_t i = 0; i < count; i++)
		v[i] = ledger_num(r, (int)i, 0);
	PQclear(r);
	*out = v;
	*n = count;
	return ETL_OK;
}

/* Records the claimed load: a new row, or one more attempt of e. */
static enum etl_code
record_claim(PGconn *conn, const struct ledger_claim_opts *o, struct ledger_claim *c,
             const char *holder, struct etl_error *err)
{
	struct ledger *e = &c->led;
	PGresult *r;
	if (c->action == LEDGER_RESUME) {
		char id[24];
		ledger_id_text(id, sizeof id, e->load_id);
		const char *params[3] = {id, holder, o->options};
		r = db_query(conn,
		             "UPDATE etl_loads SET status = 'running', attempts = attempts + 1, "
		             "updated_at = now(), finished_at = NULL, message = NULL, holder = $2, "
		             "lease_until = now() + " LEASE ", options = $3 WHERE load_id = $1",
		             3, params, err);
		if (r == NULL)
			return ETL_EDB;
		PQclear(r);
		e->attempts++;
		(void)snprintf(e->status, sizeof e->status, "running");
		(void)snprintf(e->options, sizeof e->options, "%s", o->options);
		if (!c->extended)
			return ETL_OK;
		/* It goes on with this content, which extends what it read. */
		char bytes[24], records[24];
		ledger_id_text(bytes, sizeof bytes, o->file_bytes);
		ledger_id_text(records, sizeof records, o->file_records);
		const char *xp[6] = {id,        o->content,
		                     o->sha256, o->file_bytes >= 0 ? bytes : NULL,
		                     records,   nonempty(o->head)};
		r = db_query(
		        conn,
		        "UPDATE etl_loads SET fingerprint = $2, file_sha256 = $3, "
		        "file_bytes = $4, file_records = $5, head_sha256 = $6 WHERE load_id = $1",
		        6, xp, err);
		if (r == NULL)
			return ETL_EDB;
		PQclear(r);
		(void)snprintf(e->fingerprint, sizeof e->fingerprint, "%s", o->content);
		(void)snprintf(e->sha256, sizeof e->sha256, "%s", o->sha256);
		return ETL_OK;
	}
	/* A load that extends another starts after its records. */
	int64_t start = c->extends ? c->led.records_done : 0;
	char bytes[24], retry[24], records[24], done[24];
	ledger_id_text(done, sizeof done, start);
	ledger_id_text(bytes, sizeof bytes, o->file_bytes);
	ledger_id_text(retry, sizeof retry, c->action == LEDGER_RETRY ? c->earlier.load_id : 0);
	ledger_id_text(records, sizeof records, o->file_records);
	const char *params[13] = {o->content,
	                          o->t->name,
	                          o->on_conflict,
	                          o->file_bytes >= 0 ? bytes : NULL,
	                          o->file_name,
	                          ETL_VERSION,
	                          o->sha256,
	                          o->options,
	                          c->action == LEDGER_RETRY ? retry : NULL,
	                          holder,
	                          records,
	                          done,
	                          nonempty(o->head)};
	r = db_query(
	        conn,
	        "INSERT INTO etl_loads (fingerprint, kind, on_conflict, file_bytes, file_name, "
	        "status, etl_version, file_sha256, options, retry_of, holder, lease_until, "
	        "undoable, file_records, records_done, head_sha256) VALUES ($1, $2, $3, $4, $5, "
	        "'running', $6, $7, $8, $9, $10, now() + " LEASE ", true, $11, $12, $13) "
	        "RETURNING load_id",
	        13, params, err);
	if (r == NULL)
		return ETL_EDB;
	memset(e, 0, sizeof *e);
	e->load_id = ledger_num(r, 0, 0);
	e->records_done = start;
	PQclear(r);
	(void)snprintf(e->fingerprint, sizeof e->fingerprint, "%s", o->content);
	(void)snprintf(e->sha256, sizeof e->sha256, "%s", o->sha256);
	(void)snprintf(e->kind, sizeof e->kind, "%s", o->t->name);
	(void)snprintf(e->status, sizeof e->status, "running");
	(void)snprintf(e->options, sizeof e->options, "%s", o->options);
	e->retry_of = c->action == LEDGER_RETRY ? c->earlier.load_id : 0;
	e->undoable = true;
	e->attempts = 1;
	return ETL_OK;
}

/* --force: undoes load e for the claim, counted in c; a refusal says it
 * came from --force. */
static enum etl_code
force_undo(PGconn *conn, const struct ledger *e, const struct seen *s, struct ledger_claim *c,
           struct etl_error *err)
{
	struct ledger_undo u;
	enum etl_code rc = ledger_undo_in_txn(conn, e, s, UNDO_REFUSE, &u, err);
	if (rc != ETL_OK) {
		char why[sizeof err->msg];
		(void)snprintf(why, sizeof why, "%s", err->msg);
		return error_set(err, rc, NULL, 0, "--force: %s", why);
	}
	c->undone++;
	c->undone_rows += u.deleted;
	return ETL_OK;
}

/* Sets load e aside as undone with why (it committed nothing). */
static enum etl_code
set_aside(PGconn *conn, const struct ledger *e, const char *why, struct etl_error *err)
{
	char id[24];
	ledger_id_text(id, sizeof id, e->load_id);
	const char *params[2] = {id, why};
	PGresult *r = db_query(conn,
	                       "UPDATE etl_loads SET status = 'undone', message = $2, "
	                       "lease_until = NULL, updated_at = now() WHERE load_id = $1",
	                       2, params, err);
	if (r == NULL)
		return ETL_EDB;
	PQclear(r);
	return ETL_OK;
}

/*
 * Content no load has had: the newest load of the same name decides.  None,
 * or a finished one that this file does not extend (the next export under
 * the same name): a new load.  A finished one it extends record for record:
 * a new load of the records after it.  An unfinished one (stopped, failed,
 * interrupted: some of it committed) goes on when this file extends what it
 * committed; else the file is refused until the operator says (--force
 * undoes that load first).  One that committed nothing is set aside.
 */
static enum etl_code
decide_by_name(PGconn *conn, const struct ledger_claim_opts *o, struct ledger_claim *c, bool *busy,
               struct etl_error *err)
{
	c->action = LEDGER_NEW;
	if (strcmp(o->file_name, "stdin") == 0)
		return ETL_OK;
	const char *params[2] = {o->t->name, o->file_name};
	PGresult *r = db_query(conn, NAMED_LOAD, 2, params, err);
	if (r == NULL)
		return ETL_EDB;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return ETL_OK;
	}
	struct ledger e;
	struct seen s;
	ledger_read_ledger(r, 0, &e, &s);
	int64_t records = ledger_num(r, 0, 22);
	char head[65];
	ledger_str(head, sizeof head, r, 0, 23);
	PQclear(r);
	enum etl_code rc = ETL_OK;
	if (strcmp(e.status, "running") == 0) {
		bool alive;
		rc = ledger_check_running(conn, &e, &s, &alive, c->interrupted,
		                          sizeof c->interrupted, err);
		if (rc != ETL_OK || alive) {
			*busy = rc == ETL_OK;
			return rc;
		}
		(void)snprintf(e.status, sizeof e.status, "interrupted");
	}
	const char *prefix = o->prefix != NULL ? o->prefix : "";
	bool done = completed(&e);
	int64_t at = done ? records : e.records_done;
	bool extends = prefix[0] != '\0' && o->prefix_at == at && at > 0 &&
	               strcmp(prefix, done ? e.fingerprint : e.prefix) == 0 && o->file_records > at;
	/* Its file ended in a record cut mid-line, and this one begins with
	 * the records before it but goes on otherwise: the finished export.
	 * Neither a new load (the records before it twice) nor one after it
	 * (the cut record, loaded or rejected, stays as it was). */
	const char *less = o->less != NULL ? o->less : "";
	bool cut = !extends && head[0] != '\0' && at == records && o->prefix_at == at &&
	           strcmp(less, head) == 0 && o->file_records >= at;
	char why[300];
	/* --force loads the file anew: what it would extend or conflict with
	 * goes first. */
	if (o->force && (cut || (done ? extends : e.records_done > 0))) {
		rc = force_undo(conn, &e, &s, c, err);
	} else if (cut) {
		rc = error_set(err, ETL_EINPUT, NULL, 0,
		               "load %lld of a file of this name ended in a record cut off "
		               "mid-line (data record %lld has no line end), and this file begins "
		               "with the records before it but not with that one: it is the "
		               "finished export.  Nothing of it was loaded, so that no row is in "
		               "twice and none as it was cut.  Take load %lld back first: "
		               "'siprems-etl undo %lld', or load this file with --force (which "
		               "undoes it)",
		               (long long)e.load_id, (long long)at, (long long)e.load_id,
		               (long long)e.load_id);
	} else if (done && extends) {
		c->extends = e.load_id;
		c->led.records_done = at;
	} else if (done) {
		/* Another file under the same name. */
	} else if (e.records_done == 0) {
		(void)snprintf(why, sizeof why,
		               "set aside: nothing of it was committed, and the file %s now has "
		               "other content",
		               o->file_name);
		rc = set_aside(conn, &e, why, err);
		c->superseded = e.load_id;
	} else if (extends) {
		c->action = LEDGER_RESUME;
		c->led = e;
		c->extended = true;
	} else {
		rc = error_set(err, ETL_EINPUT, NULL, 0,
		               "load %lld of a file of this name stopped (%s) after %lld rows "
		               "were committed, and this file's content differs from it and "
		               "does not begin with those rows: nothing of it was loaded, so "
		               "that no row is in twice.  Finish load %lld with the file it "
		               "read, or take it back first: 'siprems-etl undo %lld', or load "
		               "this file with --force (which undoes it)",
		               (long long)e.load_id, e.status, (long long)e.records_done,
		               (long long)e.load_id, (long long)e.load_id);
	}
	return rc;
}

/* One look at the file's history, in the open transaction: *busy when a
 * live loader runs it; else c is decided and recorded. */
static enum etl_code
decide(PGconn *conn, const struct ledger_claim_opts *o, struct ledger_claim *c, const char *holder,
       bool *busy, struct etl_error *err)
{
	const char *params[3] = {o->t->name, o->content, o->sha256};
	enum etl_code rc = ETL_OK;
	*busy = false;
	PGresult *r = db_query(conn,
	                       "SELECT " LEDGER_COLS " FROM etl_loads WHERE kind = $1 AND "
	                       "(fingerprint = $2 OR file_sha256 = $3 OR (file_sha256 IS NULL AND "
	                       "fingerprint = $3)) AND status <> 'undone' ORDER BY load_id DESC",
	                       3, params, err);
	if (r == NULL)
		return ETL_EDB;
	int n = PQntuples(r);
	struct ledger *loads = calloc((size_t)(n ? n : 1), sizeof *loads);
	struct seen *seen = calloc((size_t)(n ? n : 1), sizeof *seen);
	if (loads == NULL || seen == NULL) {
		rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++)
		ledger_read_ledger(r, i, &loads[i], &seen[i]);
	for (int i = 0; i < n && rc == ETL_OK; i++) {
		if (strcmp(loads[i].status, "running") != 0)
			continue;
		bool alive;
		rc = ledger_check_running(conn, &loads[i], &seen[i], &alive, c->interrupted,
		                          sizeof c->interrupted, err);
		if (rc == ETL_OK && alive) {
			*busy = true;
			goto out;
		}
		(void)snprintf(loads[i].status, sizeof loads[i].status, "interrupted");
	}
	if (rc != ETL_OK)
		goto out;

	const struct ledger *latest = n > 0 ? &loads[0] : NULL;
	bool keyed = o->t->nkey > 0;
	if (latest == NULL) {
		rc = decide_by_name(conn, o, c, busy, err);
		if (rc != ETL_OK || *busy)
			goto out;
	} else if (o->force) {
		for (int i = 0; i < n && rc == ETL_OK; i++)
			rc = force_undo(conn, &loads[i], &seen[i], c, err);
		if (rc != ETL_OK)
			goto out;
		c->action = LEDGER_NEW;
	} else if (!completed(latest)) {
		c->action = LEDGER_RESUME;
		c->led = *latest;
	} else {
		bool same = strcmp(latest->options, o->options) == 0;
		c->led = *latest;
		/* Rejects loaded since from the corrected reject file: all in. */
		bool out = latest->rows_rejected > 0 && latest->rejects_loaded_by == 0;
		if (out && same) {
			c->action = LEDGER_REJECTS;
		} else if (!same && (out || (keyed && latest->rows_skipped > 0))) {
			c->action = LEDGER_RETRY;
			c->earlier = *latest;
			if (!keyed) {
				bool complete;
				rc = rejected_records(conn, latest, &c->records, &c->nrecords,
				                      &complete, err);
				if (rc == ETL_OK && !complete) {
					/* Rejected before their numbers were kept. */
					free(c->records);
					c->records = NULL;
					c->nrecords = 0;
					c->action = LEDGER_REJECTS;
				}
			}
		} else {
			c->action = LEDGER_SKIP;
		}
	}
	if (rc == ETL_OK &&
	    (c->action == LEDGER_NEW || c->action == LEDGER_RESUME || c->action == LEDGER_RETRY))
		rc = record_claim(conn, o, c, holder, err);
out:
	PQclear(r);
	free(loads);
	free(seen);
	return rc;
}

enum etl_code
ledger_claim(PGconn *conn, const struct ledger_claim_opts *o, struct ledger_claim *c,
             struct etl_error *err)
{
	char holder[200];
	memset(c, 0, sizeof *c);
	holder_self(holder, sizeof holder);
	for (;;) {
		bool busy = false;
		enum etl_code rc = db_exec(conn, "BEGIN", err);
		if (rc == ETL_OK)
			rc = ledger_lock_file(conn, o->content, o->sha256, o->t->name, err);
		if (rc == ETL_OK)
			rc = decide(conn, o, c, holder, &busy, err);
		if (rc != ETL_OK) {
			ledger_rollback(conn);
			free(c->records);
			c->records = NULL;
			return rc;
		}
		if ((rc = db_exec(conn, "COMMIT", err)) != ETL_OK)
			return rc;
		if (!busy)
			return ETL_OK;
		c->waited = true;
		if (signals_received())
			return error_set(
			        err, ETL_ESTOPPED, NULL, 0,
			        "interrupted while waiting for another siprems-etl loading "
			        "the same file");
		(void)usleep(WAIT_USEC);
	}
}

enum etl_code
ledger_hold(PGconn *conn, const struct ledger *e, int64_t expected_done, struct etl_error *err)
{
	char id[24];
	ledger_id_text(id, sizeof id, e->load_id);
	const char *params[1] = {id};
	PGresult *r = db_query(conn,
	                       "SELECT records_done, status FROM etl_loads WHERE load_id = $1 "
	                       "FOR KEY SHARE",
	                       1, params, err);
	if (r == NULL)
		return ETL_EDB;
	bool ours = PQntuples(r) == 1 && ledger_num(r, 0, 0) <= expected_done &&
	            strcmp(PQgetvalue(r, 0, 1), "running") == 0;
	PQclear(r);
	if (!ours)
		return error_set(err, ETL_EDB, NULL, 0,
		                 "load %s was taken over by another siprems-etl (its history moved "
		                 "on); this run stops",
		                 id);
	return ETL_OK;
}

/* Appends "{a,b,c}" of n numbers to a text buffer. */
static char *
array_text(const int64_t *v, size_t n, size_t stride)
{
	size_t size = 3 + n * 21;
	char *s = malloc(size);
	if (s == NULL)
		return NULL;
	size_t k = 0;
	s[k++] = '{';
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(s + k, size - k, "%s%lld", i ? "," : "",
		                      (long long)v[i * stride]);
	s[k++] = '}';
	s[k] = '\0';
	return s;
}

/*
 * The versions of a distributed table's rows in ranges ids, as this
 * transaction sees them: "{shard:xmin,…}" in *out (NULL when none).  A
 * worker's xid means nothing on another worker, so each is named with the
 * shard it is in (the shard's name, unique in the cluster, as the worker
 * gives it); undo compares the same pair.
 */
static enum etl_code
shard_xmins(PGconn *conn, const struct ledger_xmins *xmins, const struct ledger_ids *ids, int nids,
            char **out, struct etl_error *err)
{
	*out = NULL;
	char *tab = sql_ident(conn, xmins->table);
	char *col = sql_ident(conn, xmins->id_column);
	struct buf q = {0};
	if (tab == NULL || col == NULL) {
		q.failed = true;
	} else {
		sql_printf(&q,
		           "SELECT array_agg(DISTINCT " LEDGER_ROW_VERSION
		           ")::text FROM %s t WHERE ",
		           tab);
		for (int i = 0; i < nids; i++)
			sql_printf(&q, "%st.%s BETWEEN %lld AND %lld", i ? " OR " : "", col,
			           (long long)ids[i].first, (long long)ids[i].last);
	}
	PQfreemem(tab);
	PQfreemem(col);
	buf_put(&q, "", 1);
	if (q.failed) {
		buf_free(&q);
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	}
	PGresult *r = db_query(conn, q.data, 0, NULL, err);
	buf_free(&q);
	if (r == NULL)
		return ETL_EDB;
	if (!PQgetisnull(r, 0, 0) && (*out = strdup(PQgetvalue(r, 0, 0))) == NULL) {
		PQclear(r);
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	}
	PQclear(r);
	return ETL_OK;
}

enum etl_code
ledger_checkpoint(PGconn *conn, const struct ledger *e, int64_t expected_done,
                  const struct ledger_xmins *xmins, const int64_t *rejected, size_t nrejected,
                  const struct ledger_ids *ids, int nids, const char *update_columns,
                  struct etl_error *err)
{
	char v[10][24];
	const int64_t nums[10] = {
	        e->load_id,      e->records_done,  e->rows_read,    e->rows_loaded, e->rows_updated,
	        e->rows_skipped, e->rows_rejected, e->reject_bytes, expected_done,  0};
	for (int i = 0; i < 9; i++)
		ledger_id_text(v[i], sizeof v[i], nums[i]);
	const char *params[13] = {v[0],
	                          v[1],
	                          v[2],
	                          v[3],
	                          v[4],
	                          v[5],
	                          v[6],
	                          v[7],
	                          e->reject_file[0] ? e->reject_file : NULL,
	                          v[8],
	                          e->undoable ? "t" : "f",
	                          update_columns,
	                          e->prefix[0] ? e->prefix : NULL};
	PGresult *r = db_query(
	        conn,
	        "UPDATE etl_loads SET records_done = $2, rows_read = $3, rows_loaded = $4, "
	        "rows_updated = $5, rows_skipped = $6, rows_rejected = $7, reject_bytes = $8, "
	        "reject_file = $9, undoable = $11, update_columns = coalesce($12, update_columns), "
	        "prefix_sha256 = $13, updated_at = now(), lease_until = now() + " LEASE
	        " WHERE load_id = $1 AND records_done = $10",
	        13, params, err);
	if (r == NULL)
		return ETL_EDB;
	bool ours = ledger_affected(r) == 1;
	PQclear(r);
	if (!ours)
		return error_set(err, ETL_EDB, NULL, 0,
		                 "load %s was taken over by another siprems-etl; this run stops",
		                 v[0]);
	enum etl_code rc = ETL_OK;
	char *a = NULL, *b = NULL;
	if (nrejected > 0) {
		a = array_text(rejected, nrejected, 1);
		if (a == NULL)
			return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
		const char *p[2] = {v[0], a};
		r = db_query(conn,
		             "INSERT INTO etl_load_rejects (load_id, record) "
		             "SELECT $1, unnest($2::bigint[])",
		             2, p, err);
		rc = r != NULL ? ETL_OK : ETL_EDB;
		PQclear(r);
		free(a);
		a = NULL;
	}
	char *shards = NULL;
	if (rc == ETL_OK && nids > 0 && xmins->how == XMINS_SHARDS)
		rc = shard_xmins(conn, xmins, ids, nids, &shards, err);
	if (rc == ETL_OK && nids > 0) {
		a = array_text(&ids[0].first, (size_t)nids, 2);
		b = array_text(&ids[0].last, (size_t)nids, 2);
		if (a == NULL || b == NULL) {
			rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
		} else {
			/* With each range, the xmins its rows have now: "{…}". */
			struct buf q = {0};
			char given[40];
			(void)snprintf(given, sizeof given, "{%lld}", (long long)xmins->xid);
			sql_str(&q, "INSERT INTO etl_load_ids (load_id, first_id, last_id, xmins) "
			            "SELECT $1, u.f, u.l, ");
			if (xmins->how == XMINS_SHARDS) {
				sql_str(&q, "$4::text");
			} else if (xmins->how == XMINS_THIS_TXN) {
				sql_str(&q,
				        "'{' || (pg_current_xact_id()::text::bigint % 4294967296) "
				        "|| '}'");
			} else if (xmins->how == XMINS_GIVEN) {
				sql_str(&q, "$4::text");
			} else if (xmins->how == XMINS_SCAN) {
				char *tab = sql_ident(conn, xmins->table);
				char *col = sql_ident(conn, xmins->id_column);
				if (tab == NULL || col == NULL)
					q.failed = true;
				else
					sql_printf(&q,
					           "(SELECT array_agg(DISTINCT "
					           "x.xmin::text::bigint)::text "
					           "FROM %s x WHERE x.%s BETWEEN u.f AND u.l)",
					           tab, col);
				PQfreemem(tab);
				PQfreemem(col);
			} else {
				sql_str(&q, "NULL");
			}
			sql_str(&q, " FROM unnest($2::bigint[], $3::bigint[]) AS u(f, l)");
			buf_put(&q, "", 1);
			const char *p[4] = {v[0], a, b,
			                    xmins->how == XMINS_SHARDS ? shards : given};
			bool fourth = xmins->how == XMINS_GIVEN || xmins->how == XMINS_SHARDS;
			if (q.failed) {
				rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
			} else {
				r = db_query(conn, q.data, fourth ? 4 : 3, p, err);
				rc = r != NULL ? ETL_OK : ETL_EDB;
				PQclear(r);
			}
			buf_free(&q);
		}
	}
	free(a);
	free(b);
	free(shards);
	return rc;
}

int
ledger_rejects_loaded(PGconn *conn, const struct ledger *e, const char *name, int64_t *ids, int max,
                      struct etl_error *err)
{
	char id[24], real[4096] = "", msg[700];
	ledger_id_text(id, sizeof id, e->load_id);
	if (realpath(name, real) == NULL)
		real[0] = '\0';
	(void)snprintf(msg, sizeof msg, "its rejected rows were loaded from %s by load %s", name,
	               id);
	const char *params[5] = {id, e->kind, name, real[0] ? real : name, msg};
	PGresult *r = db_query(conn,
	                       "UPDATE etl_loads SET status = 'loaded', rejects_loaded_by = $1, "
	                       "message = $5, updated_at = now() WHERE kind = $2 AND "
	                       "load_id <> $1 AND reject_file IN ($3, $4) AND rows_rejected > 0 "
	                       "AND status = 'partial' AND rejects_loaded_by IS NULL "
	                       "RETURNING load_id",
	                       5, params, err);
	if (r == NULL)
		return -1;
	int n = 0;
	for (int i = 0; i < PQntuples(r) && n < max; i++)
		ids[n++] = ledger_num(r, i, 0);
	PQclear(r);
	return n;
}

enum etl_code
ledger_finish(PGconn *conn, const struct ledger *e, const char *status, const char *message,
              struct etl_error *err)
{
	char id[24], holder[200];
	ledger_id_text(id, sizeof id, e->load_id);
	holder_self(holder, sizeof holder);
	const char *params[4] = {id, status, message, holder};
	/* One statement, committed synchronously (the server's default): it
	 * also makes every earlier batch durable.  A load another siprems-etl
	 * took over is that one's to finish. */
	PGresult *r =
	        db_query(conn,
	                 "UPDATE etl_loads SET status = $2, message = $3, updated_at = now(), "
	                 "lease_until = NULL, "
	                 "finished_at = CASE WHEN $2 IN ('loaded', 'partial') THEN now() END "
	                 "WHERE load_id = $1 AND holder = $4",
	                 4, params, err);
	if (r == NULL)
		return ETL_EDB;
	PQclear(r);
	return ETL_OK;
}
