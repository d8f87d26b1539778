/*
 * copy_conn.c — a connection as the copy sink uses it (see copy_conn.h).
 */
#include "copy_conn.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "encode.h"
#include "signals.h"

void
conn_attach(struct sink_conn *c, PGconn *pg)
{
	memset(c, 0, sizeof *c);
	c->pg = pg;
	c->cancel = pg != NULL ? PQgetCancel(pg) : NULL;
}

void
conn_release(struct sink_conn *c, bool finish)
{
	PQfreeCancel(c->cancel);
	if (finish && c->pg != NULL)
		PQfinish(c->pg);
	memset(c, 0, sizeof *c);
}

enum etl_code
conn_exec(struct sink_conn *c, const char *sql, struct etl_error *err)
{
	return db_exec(c->pg, sql, err);
}

void
conn_arm(const struct sink_conn *c)
{
	signals_set_cancel(c->cancel);
}

void
conn_disarm(void)
{
	signals_set_cancel(NULL);
}

/* Sends one piece of the stream whole. */
static bool
put(struct sink_conn *c, const char *data, size_t n)
{
	return PQputCopyData(c->pg, data, (int)n) == 1;
}

enum etl_code
conn_copy_start(struct sink_conn *c, const char *sql, bool binary, struct etl_error *err)
{
	conn_arm(c);
	PGresult *r = db_run(c->pg, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		enum etl_code rc = db_error(c->pg, r, "cannot start COPY", err);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	c->in_copy = true;
	c->binary = binary;
	if (!binary)
		return ETL_OK;
	struct buf h = {0};
	encode_bin_header(&h);
	bool ok = !h.failed && put(c, h.data, h.len);
	buf_free(&h);
	return ok ? ETL_OK : db_error(c->pg, NULL, "cannot send rows", err);
}

enum etl_code
conn_copy_send(struct sink_conn *c, const char *data, size_t n, struct etl_error *err)
{
	for (size_t at = 0; at < n;) {
		size_t k = n - at < SEND_CHUNK ? n - at : SEND_CHUNK;
		if (!put(c, data + at, k))
			return db_error(c->pg, NULL, "cannot send rows", err);
		at += k;
	}
	return ETL_OK;
}

PGresult *
conn_copy_end(struct sink_conn *c, const char *abort_why)
{
	c->in_copy = false;
	if (c->binary && abort_why == NULL) {
		struct buf t = {0};
		encode_bin_trailer(&t);
		bool ok = !t.failed && put(c, t.data, t.len);
		buf_free(&t);
		if (!ok)
			return NULL;
	}
	if (PQputCopyEnd(c->pg, abort_why) != 1)
		return NULL;
	PGresult *r = PQgetResult(c->pg), *extra;
	while ((extra = PQgetResult(c->pg)) != NULL)
		PQclear(extra);
	conn_disarm();
	return r;
}

bool
conn_row_level(const char *sqlstate)
{
	if (strcmp(sqlstate, "2200H") == 0)
		return false;
	return strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0 ||
	       strncmp(sqlstate, "P0", 2) == 0 || strncmp(sqlstate, "44", 2) == 0;
}

bool
conn_retryable(const char *sqlstate)
{
	return strncmp(sqlstate, "40", 2) == 0; /* deadlock, serialization */
}

bool
conn_refused(const struct sink_conn *c, const PGresult *r, bool retry)
{
	if (r == NULL || PQstatus(c->pg) != CONNECTION_OK)
		return false;
	const char *state = db_sqlstate(r);
	return conn_row_level(state) || (retry && conn_retryable(state));
}

void
conn_reason(const PGresult *r, char *buf, size_t size)
{
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
	(void)snprintf(buf, size, "the database refused the row: %s%s%.300s%s",
	               msg ? msg : "unknown error", detail ? " (" : "", detail ? detail : "",
	               detail ? ")" : "");
}
