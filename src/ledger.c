/*
 * ledger.c — etl_loads and what each load did (etl_load_ids,
 * etl_load_before, etl_load_rejects).
 */
#include "ledger.h"

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

#ifndef ETL_VERSION
#define ETL_VERSION "dev"
#endif

#define LEASE     "interval '2 minutes'" /* alive without a word from the loader */
#define WAIT_USEC 250000                 /* between looks at a running load */

/* The columns read_ledger() reads, in its order. */
#define LEDGER_COLS                                                                                \
	"load_id, status, records_done, rows_read, rows_loaded, rows_updated, rows_skipped, "      \
	"rows_rejected, reject_bytes, coalesce(reject_file, ''), attempts, fingerprint, "          \
	"coalesce(file_sha256, ''), coalesce(options, ''), coalesce(retry_of, 0), undoable, "      \
	"coalesce(holder, ''), coalesce(lease_until > now(), false), kind, "                       \
	"coalesce(update_columns, '')"

static int64_t
num(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void
str(char *dst, size_t size, PGresult *r, int row, int col)
{
	(void)snprintf(dst, size, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* What read_ledger() reads beyond struct ledger. */
struct seen {
	char holder[160];
	bool lease_valid;
	char update_columns[512];
};

static void
read_ledger(PGresult *r, int i, struct ledger *e, struct seen *s)
{
	memset(e, 0, sizeof *e);
	e->load_id = num(r, i, 0);
	str(e->status, sizeof e->status, r, i, 1);
	e->records_done = num(r, i, 2);
	e->rows_read = num(r, i, 3);
	e->rows_loaded = num(r, i, 4);
	e->rows_updated = num(r, i, 5);
	e->rows_skipped = num(r, i, 6);
	e->rows_rejected = num(r, i, 7);
	e->reject_bytes = num(r, i, 8);
	str(e->reject_file, sizeof e->reject_file, r, i, 9);
	e->attempts = (int)num(r, i, 10);
	str(e->fingerprint, sizeof e->fingerprint, r, i, 11);
	str(e->sha256, sizeof e->sha256, r, i, 12);
	str(e->options, sizeof e->options, r, i, 13);
	e->retry_of = num(r, i, 14);
	e->undoable = PQgetvalue(r, i, 15)[0] == 't';
	str(e->kind, sizeof e->kind, r, i, 18);
	if (s != NULL) {
		str(s->holder, sizeof s->holder, r, i, 16);
		s->lease_valid = PQgetvalue(r, i, 17)[0] == 't';
		str(s->update_columns, sizeof s->update_columns, r, i, 19);
	}
}

static void
id_text(char *buf, size_t size, int64_t id)
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
static void
holder_name(const char *holder, char *buf, size_t size)
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
static enum etl_code
check_running(PGconn *conn, const struct ledger *e, const struct seen *s, bool *alive, char *why,
              size_t whysize, struct etl_error *err)
{
	char id[24];
	id_text(id, sizeof id, e->load_id);
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
	holder_name(s->holder, who, sizeof who);
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
static enum etl_code
lock_file(PGconn *conn, const char *a, const char *b, const char *kind, struct etl_error *err)
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

static void
rollback(PGconn *conn)
{
	if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE) {
		PGresult *r = db_run(conn, "ROLLBACK");
		PQclear(r);
	}
}

/* ---- undo ------------------------------------------------------------------ */

/* Whether s is a list of plain column names "a,b,c". */
static bool
plain_names(const char *s)
{
	for (const char *p = s; *p != '\0'; p++)
		if (!(*p == ',' || *p == '_' || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

static int64_t
affected(PGresult *r)
{
	return strtoll(PQcmdTuples(r), NULL, 10);
}

/* Undoes load e inside the caller's transaction. */
static enum etl_code
undo_in_txn(PGconn *conn, const struct ledger *e, const struct seen *s, struct ledger_undo *u,
            struct etl_error *err)
{
	enum kind k = table_kind_from_name(e->kind);
	char id[24], sql[1400];
	id_text(id, sizeof id, e->load_id);
	const char *params[2] = {id, NULL};
	PGresult *r = NULL;
	memset(u, 0, sizeof *u);
	if (k == KIND_NONE)
		return error_set(err, ETL_EUSAGE, NULL, 0, "load %s is not a load of a file", id);
	const struct table_def *t = table_get(k);
	if (!e->undoable && e->rows_loaded + e->rows_updated > 0)
		return error_set(err, ETL_EDB, NULL, 0,
		                 "load %s cannot be undone: the ids of the rows it inserted were "
		                 "not recorded (it ran before siprems-etl 0.2, or %s's ids do not "
		                 "come from a sequence)",
		                 id, t->table);
	if (!plain_names(s->update_columns))
		return error_set(err, ETL_EDB, NULL, 0, "load %s: unexpected update_columns", id);

	/* Rows of other tables that reference rows the load inserted. */
	r = db_query(
	        conn,
	        "SELECT c.conrelid::regclass::text, quote_ident(a.attname) FROM pg_constraint c "
	        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
	        "WHERE c.confrelid = to_regclass($1) AND c.contype = 'f' "
	        "AND cardinality(c.conkey) = 1",
	        1, (const char *[]){t->table}, err);
	if (r == NULL)
		return ETL_EDB;
	for (int i = 0; i < PQntuples(r); i++) {
		(void)snprintf(
		        sql, sizeof sql,
		        "SELECT count(*) FROM %s x WHERE EXISTS (SELECT 1 FROM etl_load_ids i "
		        "WHERE i.load_id = $1 AND x.%s BETWEEN i.first_id AND i.last_id)",
		        PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
		PGresult *c = db_query(conn, sql, 1, params, err);
		if (c == NULL) {
			PQclear(r);
			return ETL_EDB;
		}
		int64_t refs = num(c, 0, 0);
		PQclear(c);
		if (refs > 0) {
			(void)error_set(err, ETL_EDB, NULL, 0,
			                "load %s cannot be undone: %lld rows of %s reference %s it "
			                "inserted; undo the loads that added them first",
			                id, (long long)refs, PQgetvalue(r, i, 0), t->table);
			PQclear(r);
			return ETL_EDB;
		}
	}
	PQclear(r);

	/* A later load that changed rows this one inserted or changed. */
	r = db_query(
	        conn,
	        "SELECT b.load_id, count(*) FROM etl_load_before b JOIN etl_loads l "
	        "ON l.load_id = b.load_id WHERE b.load_id > $1 AND l.status <> 'undone' "
	        "AND l.kind = $2 AND (EXISTS (SELECT 1 FROM etl_load_ids i WHERE i.load_id = $1 "
	        "AND b.row_id BETWEEN i.first_id AND i.last_id) OR b.row_id IN (SELECT row_id "
	        "FROM etl_load_before WHERE load_id = $1)) GROUP BY 1 ORDER BY 1 DESC LIMIT 1",
	        2, (const char *[]){id, e->kind}, err);
	if (r == NULL)
		return ETL_EDB;
	if (PQntuples(r) > 0) {
		(void)error_set(
		        err, ETL_EDB, NULL, 0,
		        "load %s cannot be undone: load %s changed %s of its rows later; undo "
		        "load %s first",
		        id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0));
		PQclear(r);
		return ETL_EDB;
	}
	PQclear(r);

	(void)snprintf(sql, sizeof sql,
	               "DELETE FROM %s t USING etl_load_ids i WHERE i.load_id = $1 "
	               "AND t.%s BETWEEN i.first_id AND i.last_id",
	               t->table, t->id_column);
	r = db_query(conn, sql, 1, params, err);
	if (r == NULL)
		return ETL_EDB;
	u->deleted = affected(r);
	PQclear(r);

	if (s->update_columns[0] != '\0') {
		char cols[600] = "", rcols[700] = "";
		char list[512];
		(void)snprintf(list, sizeof list, "%s", s->update_columns);
		for (char *save = NULL, *c = strtok_r(list, ",", &save); c != NULL;
		     c = strtok_r(NULL, ",", &save)) {
			size_t n = strlen(cols), m = strlen(rcols);
			(void)snprintf(cols + n, sizeof cols - n, "%s%s", n ? ", " : "", c);
			(void)snprintf(rcols + m, sizeof rcols - m, "%sr.%s", m ? ", " : "", c);
		}
		(void)snprintf(
		        sql, sizeof sql,
		        "UPDATE %s t SET (%s) = (SELECT %s FROM json_populate_record(NULL::%s, "
		        "b.data::json) r) FROM etl_load_before b WHERE b.load_id = $1 "
		        "AND t.%s = b.row_id",
		        t->table, cols, rcols, t->table, t->id_column);
		r = db_query(conn, sql, 1, params, err);
		if (r == NULL)
			return ETL_EDB;
		u->restored = affected(r);
		PQclear(r);
	}
	char msg[200];
	(void)snprintf(msg, sizeof msg,
	               "undone: %lld rows deleted, %lld rows given their values back",
	               (long long)u->deleted, (long long)u->restored);
	params[1] = msg;
	static const char *const forget[] = {
	        "DELETE FROM etl_load_ids WHERE load_id = $1",
	        "DELETE FROM etl_load_before WHERE load_id = $1",
	        "DELETE FROM etl_load_rejects WHERE load_id = $1",
	};
	for (size_t i = 0; i < sizeof forget / sizeof forget[0]; i++) {
		r = db_query(conn, forget[i], 1, params, err);
		if (r == NULL)
			return ETL_EDB;
		PQclear(r);
	}
	r = db_query(conn,
	             "UPDATE etl_loads SET status = 'undone', message = $2, updated_at = now(), "
	             "lease_until = NULL WHERE load_id = $1",
	             2, params, err);
	if (r == NULL)
		return ETL_EDB;
	PQclear(r);
	return ETL_OK;
}

/* ---- claiming a file ---------------------------------------------------------- */

static bool
history_exists(PGconn *conn, struct etl_error *err, bool *exists)
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
static enum etl_code
history_query(PGconn *conn, const char *sql, int nparams, const char *const *params, PGresult **r,
              struct etl_error *err)
{
	bool exists;
	*r = NULL;
	if (!history_exists(conn, err, &exists))
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
	if (history_query(conn,
	                  "SELECT fingerprint, file_records FROM etl_loads WHERE kind = $1 "
	                  "AND file_sha256 = $2 AND options = $3 AND file_records IS NOT NULL "
	                  "ORDER BY load_id DESC LIMIT 1",
	                  3, params, &r, err) != ETL_OK)
		return ETL_EDB;
	if (r != NULL && PQntuples(r) == 1) {
		*found = true;
		str(content, 65, r, 0, 0);
		*records = num(r, 0, 1);
	}
	PQclear(r);
	return ETL_OK;
}

static bool
completed(const struct ledger *e)
{
	return strcmp(e->status, "loaded") == 0 || strcmp(e->status, "partial") == 0;
}

/* The records load e rejected, when all of them were recorded. */
static enum etl_code
rejected_records(PGconn *conn, const struct ledger *e, int64_t **out, size_t *n, bool *complete,
                 struct etl_error *err)
{
	char id[24];
	id_text(id, sizeof id, e->load_id);
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
		v[i] = num(r, (int)i, 0);
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
		id_text(id, sizeof id, e->load_id);
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
		return ETL_OK;
	}
	char bytes[24], retry[24], records[24];
	id_text(bytes, sizeof bytes, o->file_bytes);
	id_text(retry, sizeof retry, c->action == LEDGER_RETRY ? c->earlier.load_id : 0);
	id_text(records, sizeof records, o->file_records);
	const char *params[11] = {o->content,
	                          o->t->name,
	                          o->on_conflict,
	                          o->file_bytes >= 0 ? bytes : NULL,
	                          o->file_name,
	                          ETL_VERSION,
	                          o->sha256,
	                          o->options,
	                          c->action == LEDGER_RETRY ? retry : NULL,
	                          holder,
	                          records};
	r = db_query(
	        conn,
	        "INSERT INTO etl_loads (fingerprint, kind, on_conflict, file_bytes, file_name, "
	        "status, etl_version, file_sha256, options, retry_of, holder, lease_until, "
	        "undoable, file_records) VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $9, "
	        "$10, now() + " LEASE ", true, $11) RETURNING load_id",
	        11, params, err);
	if (r == NULL)
		return ETL_EDB;
	memset(e, 0, sizeof *e);
	e->load_id = num(r, 0, 0);
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
		read_ledger(r, i, &loads[i], &seen[i]);
	for (int i = 0; i < n && rc == ETL_OK; i++) {
		if (strcmp(loads[i].status, "running") != 0)
			continue;
		bool alive;
		rc = check_running(conn, &loads[i], &seen[i], &alive, c->interrupted,
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
		c->action = LEDGER_NEW;
	} else if (o->force) {
		for (int i = 0; i < n && rc == ETL_OK; i++) {
			struct ledger_undo u;
			rc = undo_in_txn(conn, &loads[i], &seen[i], &u, err);
			c->undone += rc == ETL_OK;
			c->undone_rows += u.deleted;
		}
		if (rc != ETL_OK) {
			char why[sizeof err->msg];
			(void)snprintf(why, sizeof why, "%s", err->msg);
			(void)error_set(err, err->code, NULL, 0, "--force: %s", why);
			goto out;
		}
		c->action = LEDGER_NEW;
	} else if (!completed(latest)) {
		c->action = LEDGER_RESUME;
		c->led = *latest;
	} else {
		bool same = strcmp(latest->options, o->options) == 0;
		c->led = *latest;
		if (latest->rows_rejected > 0 && same) {
			c->action = LEDGER_REJECTS;
		} else if (!same &&
		           (latest->rows_rejected > 0 || (keyed && latest->rows_skipped > 0))) {
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
			rc = lock_file(conn, o->content, o->sha256, o->t->name, err);
		if (rc == ETL_OK)
			rc = decide(conn, o, c, holder, &busy, err);
		if (rc != ETL_OK) {
			rollback(conn);
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
	id_text(id, sizeof id, e->load_id);
	const char *params[1] = {id};
	PGresult *r = db_query(conn,
	                       "SELECT records_done, status FROM etl_loads WHERE load_id = $1 "
	                       "FOR UPDATE",
	                       1, params, err);
	if (r == NULL)
		return ETL_EDB;
	bool ours = PQntuples(r) == 1 && num(r, 0, 0) == expected_done &&
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

enum etl_code
ledger_checkpoint(PGconn *conn, const struct ledger *e, int64_t expected_done,
                  const int64_t *rejected, size_t nrejected, const struct ledger_ids *ids, int nids,
                  const char *update_columns, struct etl_error *err)
{
	char v[10][24];
	const int64_t nums[10] = {
	        e->load_id,      e->records_done,  e->rows_read,    e->rows_loaded, e->rows_updated,
	        e->rows_skipped, e->rows_rejected, e->reject_bytes, expected_done,  0};
	for (int i = 0; i < 9; i++)
		id_text(v[i], sizeof v[i], nums[i]);
	const char *params[12] = {v[0],
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
	                          update_columns};
	PGresult *r = db_query(
	        conn,
	        "UPDATE etl_loads SET records_done = $2, rows_read = $3, rows_loaded = $4, "
	        "rows_updated = $5, rows_skipped = $6, rows_rejected = $7, reject_bytes = $8, "
	        "reject_file = $9, undoable = $11, update_columns = coalesce($12, update_columns), "
	        "updated_at = now(), lease_until = now() + " LEASE
	        " WHERE load_id = $1 AND records_done = $10",
	        12, params, err);
	if (r == NULL)
		return ETL_EDB;
	bool ours = affected(r) == 1;
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
	if (rc == ETL_OK && nids > 0) {
		a = array_text(&ids[0].first, (size_t)nids, 2);
		b = array_text(&ids[0].last, (size_t)nids, 2);
		if (a == NULL || b == NULL) {
			rc = error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
		} else {
			const char *p[3] = {v[0], a, b};
			r = db_query(conn,
			             "INSERT INTO etl_load_ids (load_id, first_id, last_id) "
			             "SELECT $1, unnest($2::bigint[]), unnest($3::bigint[])",
			             3, p, err);
			rc = r != NULL ? ETL_OK : ETL_EDB;
			PQclear(r);
		}
	}
	free(a);
	free(b);
	return rc;
}

enum etl_code
ledger_finish(PGconn *conn, const struct ledger *e, const char *status, const char *message,
              struct etl_error *err)
{
	char id[24], holder[200];
	id_text(id, sizeof id, e->load_id);
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

/* ---- history, undo, reset ------------------------------------------------------ */

int
ledger_reap(PGconn *conn)
{
	bool exists;
	if (!history_exists(conn, NULL, &exists) || !exists)
		return 0;
	PGresult *r =
	        db_query(conn, "SELECT " LEDGER_COLS " FROM etl_loads WHERE status = 'running'", 0,
	                 NULL, NULL);
	int reaped = 0;
	for (int i = 0; r != NULL && i < PQntuples(r); i++) {
		struct ledger e;
		struct seen s;
		read_ledger(r, i, &e, &s);
		char why[600];
		bool alive = true;
		if (db_exec(conn, "BEGIN", NULL) != ETL_OK ||
		    lock_file(conn, e.fingerprint, e.sha256, e.kind, NULL) != ETL_OK ||
		    check_running(conn, &e, &s, &alive, why, sizeof why, NULL) != ETL_OK ||
		    db_exec(conn, "COMMIT", NULL) != ETL_OK) {
			rollback(conn);
			break; /* a role that may not write: leave them */
		}
		reaped += !alive;
	}
	PQclear(r);
	return reaped;
}

enum etl_code
ledger_get(PGconn *conn, int64_t load_id, struct ledger_row *row, bool *found,
           struct etl_error *err)
{
	char id[24];
	id_text(id, sizeof id, load_id);
	const char *params[1] = {id};
	PGresult *r;
	*found = false;
	if (history_query(conn,
	                  "SELECT file_name, kind, status, rows_loaded, rows_updated, "
	                  "coalesce(retry_of, 0), undoable FROM etl_loads WHERE load_id = $1",
	                  1, params, &r, err) != ETL_OK)
		return ETL_EDB;
	if (r != NULL && PQntuples(r) == 1) {
		*found = true;
		memset(row, 0, sizeof *row);
		row->load_id = load_id;
		str(row->file, sizeof row->file, r, 0, 0);
		str(row->kind, sizeof row->kind, r, 0, 1);
		str(row->status, sizeof row->status, r, 0, 2);
		row->rows_loaded = num(r, 0, 3);
		row->rows_updated = num(r, 0, 4);
		row->retry_of = num(r, 0, 5);
		row->undoable = PQgetvalue(r, 0, 6)[0] == 't';
	}
	PQclear(r);
	return ETL_OK;
}

enum etl_code
ledger_undo(PGconn *conn, int64_t load_id, struct ledger_undo *u, struct etl_error *err)
{
	char id[24];
	id_text(id, sizeof id, load_id);
	const char *params[1] = {id};
	bool exists;
	memset(u, 0, sizeof *u);
	if (!history_exists(conn, err, &exists))
		return ETL_EDB;
	if (!exists)
		return error_set(err, ETL_EUSAGE, NULL, 0, "no load %s in the history", id);
	PGresult *r = db_query(conn, "SELECT " LEDGER_COLS " FROM etl_loads WHERE load_id = $1", 1,
	                       params, err);
	if (r == NULL)
		return ETL_EDB;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return error_set(err, ETL_EUSAGE, NULL, 0, "no load %s in the history", id);
	}
	struct ledger e;
	struct seen s;
	read_ledger(r, 0, &e, &s);
	PQclear(r);
	if (strcmp(e.status, "undone") == 0)
		return error_set(err, ETL_EUSAGE, NULL, 0, "load %s was undone already", id);
	if (table_kind_from_name(e.kind) == KIND_NONE)
		return error_set(err, ETL_EUSAGE, NULL, 0, "load %s (%s) is not a load of a file",
		                 id, e.status);

	enum etl_code rc = db_exec(conn, "BEGIN", err);
	if (rc == ETL_OK)
		rc = lock_file(conn, e.fingerprint, e.sha256, e.kind, err);
	/* Read again under the locks: it may have moved on meanwhile. */
	if (rc == ETL_OK) {
		r = db_query(conn, "SELECT " LEDGER_COLS " FROM etl_loads WHERE load_id = $1", 1,
		             params, err);
		if (r == NULL)
			rc = ETL_EDB;
		else
			read_ledger(r, 0, &e, &s);
		PQclear(r);
	}
	if (rc == ETL_OK && strcmp(e.status, "running") == 0) {
		bool alive;
		char why[600];
		rc = check_running(conn, &e, &s, &alive, why, sizeof why, err);
		if (rc == ETL_OK && alive) {
			char who[200];
			holder_name(s.holder, who, sizeof who);
			rc = error_set(err, ETL_EDB, NULL, 0,
			               "load %s is running (%s); stop it first", id, who);
		}
	}
	if (rc == ETL_OK)
		rc = undo_in_txn(conn, &e, &s, u, err);
	if (rc == ETL_OK)
		rc = db_exec(conn, "COMMIT", err);
	if (rc != ETL_OK)
		rollback(conn);
	return rc;
}

enum etl_code
ledger_reset(PGconn *conn, int64_t *forgotten, struct etl_error *err)
{
	char tables[256], kinds[128], steps[4][512];
	table_reset_order(tables, sizeof tables);
	table_kind_list(kinds, sizeof kinds);
	(void)snprintf(steps[0], sizeof steps[0], "TRUNCATE %s RESTART IDENTITY", tables);
	static const char *const rows[3] = {"etl_load_ids", "etl_load_before", "etl_load_rejects"};
	for (int i = 0; i < 3; i++)
		(void)snprintf(steps[i + 1], sizeof steps[i + 1],
		               "DELETE FROM %s WHERE load_id IN (SELECT load_id FROM etl_loads "
		               "WHERE kind IN (%s))",
		               rows[i], kinds);
	*forgotten = 0;
	enum etl_code rc = db_exec(conn, "BEGIN", err);
	for (size_t i = 0; rc == ETL_OK && i < sizeof steps / sizeof steps[0]; i++)
		rc = db_exec(conn, steps[i], err);
	PGresult *r = NULL;
	if (rc == ETL_OK) {
		char sql[256];
		(void)snprintf(sql, sizeof sql, "DELETE FROM etl_loads WHERE kind IN (%s)", kinds);
		r = db_query(conn, sql, 0, NULL, err);
		rc = r != NULL ? ETL_OK : ETL_EDB;
		if (r != NULL)
			*forgotten = affected(r);
		PQclear(r);
	}
	if (rc == ETL_OK) {
		char msg[200], n[24];
		id_text(n, sizeof n, *forgotten);
		(void)snprintf(msg, sizeof msg,
		               "seed --reset emptied users, products, transactions and events; "
		               "%s loads of them forgotten",
		               n);
		const char *params[2] = {ETL_VERSION, msg};
		r = db_query(
		        conn,
		        "INSERT INTO etl_loads (fingerprint, kind, file_name, status, etl_version, "
		        "message, finished_at) VALUES ('', 'all', 'seed --reset', 'reset', $1, $2, "
		        "now())",
		        2, params, err);
		rc = r != NULL ? ETL_OK : ETL_EDB;
		PQclear(r);
	}
	if (rc == ETL_OK)
		rc = db_exec(conn, "COMMIT", err);
	if (rc != ETL_OK)
		rollback(conn);
	return rc;
}

enum etl_code
ledger_list(PGconn *conn, int limit, struct ledger_row **rows, int *n, struct etl_error *err)
{
	*rows = NULL;
	*n = 0;
	bool exists;
	if (!history_exists(conn, err, &exists))
		return ETL_EDB;
	if (!exists || limit <= 0)
		return ETL_OK;
	char lim[16];
	(void)snprintf(lim, sizeof lim, "%d", limit);
	const char *params[1] = {lim};
	PGresult *r = db_query(
	        conn,
	        "SELECT load_id, file_name, kind, status, fingerprint, rows_read, rows_loaded, "
	        "rows_updated, rows_skipped, rows_rejected, "
	        "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	        "to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	        "extract(epoch FROM coalesce(finished_at, updated_at) - started_at), attempts, "
	        "coalesce(message, ''), coalesce(reject_file, ''), coalesce(file_sha256, ''), "
	        "coalesce(retry_of, 0), undoable "
	        "FROM etl_loads ORDER BY load_id DESC LIMIT $1::int",
	        1, params, err);
	if (r == NULL)
		return ETL_EDB;
	int count = PQntuples(r);
	struct ledger_row *v = calloc((size_t)(count > 0 ? count : 1), sizeof *v);
	if (v == NULL) {
		PQclear(r);
		return error_set(err, ETL_ESYSTEM, NULL, 0, "out of memory");
	}
	for (int i = 0; i < count; i++) {
		struct ledger_row *x = &v[i];
		x->load_id = num(r, i, 0);
		str(x->file, sizeof x->file, r, i, 1);
		str(x->kind, sizeof x->kind, r, i, 2);
		str(x->status, sizeof x->status, r, i, 3);
		str(x->fingerprint, sizeof x->fingerprint, r, i, 4);
		x->rows_read = num(r, i, 5);
		x->rows_loaded = num(r, i, 6);
		x->rows_updated = num(r, i, 7);
		x->rows_skipped = num(r, i, 8);
		x->rows_rejected = num(r, i, 9);
		str(x->started_at, sizeof x->started_at, r, i, 10);
		str(x->finished_at, sizeof x->finished_at, r, i, 11);
		x->seconds = strtod(PQgetvalue(r, i, 12), NULL);
		x->attempts = atoi(PQgetvalue(r, i, 13));
		str(x->message, sizeof x->message, r, i, 14);
		str(x->reject_file, sizeof x->reject_file, r, i, 15);
		str(x->sha256, sizeof x->sha256, r, i, 16);
		x->retry_of = num(r, i, 17);
		x->undoable = PQgetvalue(r, i, 18)[0] == 't';
	}
	PQclear(r);
	*rows = v;
	*n = count;
	return ETL_OK;
}
