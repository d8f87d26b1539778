/*
 * load_session.c — a connection of the load, opened the same way for the run
 * and for each --jobs worker; and the clock a file's seconds are read on.
 */
#include "load_impl.h"

#include <time.h>

#include "db.h"

/* Warnings of ANALYZE for tables the role does not own are not news. */
static void
quiet_notices(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;
}

PGconn *
load_connect(const struct run_shared *r, struct etl_error *err)
{
	PGconn *conn = db_open(r->o->db, err);
	if (conn != NULL)
		(void)PQsetNoticeReceiver(conn, quiet_notices, NULL);
	return conn;
}

double
load_now(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
