/*
 * ledger_holder.c — who runs a load: the holder a load writes into its
 * history row (host, pid, process start), whether a holder still runs, and
 * the advisory locks that keep two runs off one file.
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
void
ledger_holder_self(char *buf, size_t size)
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
