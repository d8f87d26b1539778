/*
 * copy_fast.c — the empty-table path: one COPY FREEZE, indexes dropped and
 * rebuilt at the end, all in the load's transaction (which copy.c begins
 * and rolls back, and where it sends the rows); or through a shadow table.
 * It alone writes the fast part, struct sink_fast.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy_impl.h"
#include "db.h"

/* ---- the fast path ------------------------------------------------------------ */

static bool
add_rebuild(struct copy_sink *s, const char *sql)
{
	char **v = realloc(s->fast.rebuild, (size_t)(s->fast.nrebuild + 1) * sizeof *v);
	if (v == NULL)
		return false;
	s->fast.rebuild = v;
	s->fast.rebuild[s->fast.nrebuild] = strdup(sql);
	return s->fast.rebuild[s->fast.nrebuild++] != NULL;
}

void
sink_fast_rollback(struct copy_sink *s)
{
	if (s->fast.shadow.active)
		shadow_abandon(&s->fast.shadow);
	/* Both connections lost (a terminated backend, a restart): a new one
	 * drops the shadow, if the server takes it. */
	if (shadow_left(&s->fast.shadow) && s->fast.connect != NULL) {
		struct etl_error e = {0};
		PGconn *c = s->fast.connect(s->fast.connect_arg, &e);
		shadow_drop_left(&s->fast.shadow, c);
		PQfinish(c);
	}
	s->fast.on = false;
	for (int i = 0; i < s->fast.nrebuild; i++)
		free(s->fast.rebuild[i]);
	s->fast.nrebuild = 0;
}

/* Whether the table holds no row: *empty.  A role that may not read the
 * table (42501) just does not take the fast path (*empty false, ETL_OK);
 * any other failure, a lost connection above all, is the load's.  Asked as
 * a LIMIT, not EXISTS: Citus sends a LIMIT to each shard, where an EXISTS
 * subquery pulled every row of a distributed table to the coordinator
 * (3 s for 2.3M rows on this machine, before every load). */
static enum etl_code
table_empty(struct copy_sink *s, bool *empty, struct etl_error *err)
{
	struct buf q = {0};
	*empty = false;
	sql_printf(&q, "SELECT 1 FROM %s LIMIT 1", sink_quote(s->plan, s->plan->t->table));
	if (q.failed)
		return error_oom(err, NULL, 0);
	PGresult *r = db_query(s->db.pg, q.data, 0, NULL, err);
	buf_free(&q);
	if (r == NULL) {
		if (strcmp(err->sqlstate, "42501") != 0)
			return err->code;
		error_clear(err);
		return ETL_OK;
	}
	*empty = PQntuples(r) == 0;
	PQclear(r);
	return ETL_OK;
}

/* The fast path numbers the rows itself when the ids can come from the
 * sequence (the plan's id_ok): the first is taken now, the sequence is set
 * past the last at the end. */
static enum etl_code
own_ids(struct copy_sink *s, struct sink_conn *to, struct etl_error *err)
{
	s->fast.own_ids = s->fast.id_overflow = false;
	if (!s->plan->id_ok)
		return ETL_OK;
	PGresult *r = db_queryf(to->pg, 0, NULL, err, "SELECT nextval(%s)", s->plan->id_seq);
	if (r == NULL)
		return ETL_EDB;
	s->fast.id_next = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	s->fast.own_ids = true;
	s->fast.id_first = s->fast.id_next;
	return ETL_OK;
}

/* Locks the table in mode, waiting 5 s at most: whether it is held.  A
 * lost connection is not "not held": *lost says so. */
static bool
lock_table(struct copy_sink *s, const char *mode, bool *lost)
{
	struct buf q = {0};
	sql_printf(&q,
	           "SET LOCAL lock_timeout = '5s'; LOCK TABLE %s IN %s MODE; "
	           "SET LOCAL lock_timeout = %ld",
	           sink_quote(s->plan, s->plan->t->table), mode, s->opts.lock_timeout_ms);
	bool held = !q.failed && db_exec(s->db.pg, q.data, NULL) == ETL_OK;
	buf_free(&q);
	*lost = !held && db_connection_lost(s->db.pg);
	return held;
}

/*
 * One empty-table load of a table at a time.  Two loaders that both found
 * the table empty would otherwise each lock it: the second, refused within
 * 5 s, went on in batches that wait for the first's lock and hold locks the
 * first's swap and foreign keys need (a deadlock, or a swap that gave way).
 * Here the second waits, before it touches the table, for the first to
 * commit or roll back, however long that takes (a lock wait a signal
 * cancels); it then finds the table filled and goes on in batches, or
 * empty still and takes the path itself.
 */
static enum etl_code wait_empty_load(struct copy_sink *s, struct etl_error *err);

/* The shadow table a load that ended left (its process killed, or its drop
 * refused the lock that this load now holds), the role's to drop: its
 * quoted name into s->fast.leftover, or "".  Whichever way this load goes, it
 * drops it (copy_fast_begin()). */
static enum etl_code
find_leftover(struct copy_sink *s, struct etl_error *err)
{
	const char *params[1] = {s->plan->t->table};
	s->fast.leftover[0] = '\0';
	PGresult *r = db_query(s->db.pg,
	                       "SELECT format('%I.%I', n.nspname, x.relname) FROM pg_class c "
	                       "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class x ON "
	                       "x.relnamespace = c.relnamespace AND x.relname = "
	                       "'siprems_etl_shadow_' || c.oid WHERE c.oid = to_regclass($1) AND "
	                       "pg_has_role(x.relowner, 'MEMBER')",
	                       1, params, err);
	if (r == NULL)
		return err->code;
	if (PQntuples(r) == 1)
		(void)snprintf(s->fast.leftover, sizeof s->fast.leftover, "%s",
		               PQgetvalue(r, 0, 0));
	PQclear(r);
	return ETL_OK;
}

static enum etl_code
one_empty_load(struct copy_sink *s, struct etl_error *err)
{
	const char *params[1] = {s->plan->t->table};
	PGresult *r = db_query(s->db.pg, "SELECT pg_try_advisory_xact_lock(" EMPTY_LOAD_KEY ")", 1,
	                       params, err);
	if (r == NULL)
		return err->code;
	bool got = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	enum etl_code rc = got ? ETL_OK : wait_empty_load(s, err);
	return rc == ETL_OK ? find_leftover(s, err) : rc;
}

/* Waits for the empty-table load that holds the lock, saying whose. */
static enum etl_code
wait_empty_load(struct copy_sink *s, struct etl_error *err)
{
	const char *params[1] = {s->plan->t->table};
	PGresult *r =
	        db_query(s->db.pg,
	                 "SELECT string_agg('pid ' || l.pid || coalesce(', application ' || "
	                 "nullif(a.application_name, ''), ''), '; ') FROM pg_locks l LEFT JOIN "
	                 "pg_stat_activity a ON a.pid = l.pid "
	                 "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
	                 "AND ((l.classid::int8 << 32) | l.objid::int8) = " EMPTY_LOAD_KEY,
	                 1, params, err);
	if (r == NULL)
		return err->code;
	notex_etl("%s: another load (%s) is filling %s while it is empty, in one "
	          "transaction; waiting for it to commit or roll back, then this file goes on",
	          s->opts.name, PQgetisnull(r, 0, 0) ? "pid unknown" : PQgetvalue(r, 0, 0),
	          s->plan->t->table);
	PQclear(r);
	enum etl_code rc = db_exec(s->db.pg, "SET LOCAL lock_timeout = 0", err);
	if (rc != ETL_OK)
		return rc;
	/* SIGINT, SIGTERM…: the canceller ends the wait. */
	conn_arm(&s->db);
	r = db_query(s->db.pg, "SELECT pg_advisory_xact_lock(" EMPTY_LOAD_KEY ")", 1, params, err);
	conn_disarm();
	if (r == NULL)
		return err->code;
	PQclear(r);
	char back[64];
	(void)snprintf(back, sizeof back, "SET LOCAL lock_timeout = %ld", s->opts.lock_timeout_ms);
	return db_exec(s->db.pg, back, err);
}

/* Says why copy_fast_begin() takes a slower way (copy_fast_passed()). */
static void __attribute__((format(printf, 3, 4)))
passed(struct copy_sink *s, bool loud, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(s->fast.passed_why, sizeof s->fast.passed_why, fmt, ap);
	va_end(ap);
	s->fast.passed_loud = loud;
}

/* Locks the table in mode: *held, or the reason this path passes it by
 * (passed()); a lost connection is the load's failure, not a reason. */
static enum etl_code
lock_or_pass(struct copy_sink *s, const char *mode, bool *held, struct etl_error *err)
{
	bool lost = false;
	*held = lock_table(s, mode, &lost);
	if (*held)
		return ETL_OK;
	if (lost)
		return db_error(s->db.pg, NULL, "cannot lock the table", err);
	passed(s, true, "another session's lock on it was not released within 5 s");
	return ETL_OK;
}

/* Whether the table is this path's (*go, else the reason passed()): only
 * an empty table of this role's, empty still under the lock, is.  *shadow:
 * a candidate for the shadow table, so far only locked against writers. */
static enum etl_code
lock_if_empty(struct copy_sink *s, bool big, bool *shadow, bool *go, struct etl_error *err)
{
	const char *params[1] = {s->plan->t->table};
	enum etl_code rc;
	bool empty;
	bool citus = s->plan->citus;
	*go = *shadow = false;
	/* Only the table's owner may drop its indexes; waiting long for the
	 * lock is worse than the batched path. */
	PGresult *r = db_query(
	        s->db.pg,
	        "SELECT pg_has_role(relowner, 'MEMBER') FROM pg_class WHERE oid = to_regclass($1)",
	        1, params, err);
	if (r == NULL)
		return err->code;
	bool owner = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!owner) {
		passed(s, true, "another role owns it (only its owner may drop its indexes)");
		return ETL_OK;
	}
	/* A table that holds rows never sees the exclusive lock: look first,
	 * without it, and look again once it is held. */
	if ((rc = table_empty(s, &empty, err)) != ETL_OK)
		return rc;
	if (!empty) {
		passed(s, false, "it holds rows");
		return ETL_OK;
	}
	/* A candidate for the shadow table is locked only against writers;
	 * the lock is raised when it cannot take that way after all. */
	*shadow = s->fast.jobs > 1 && big && !citus && s->fast.connect != NULL;
	if (big && !citus && s->fast.jobs <= 1)
		passed(s, false, "not through a shadow table (--jobs 1)");
	if ((rc = lock_or_pass(s, *shadow ? "EXCLUSIVE" : "ACCESS EXCLUSIVE", go, err)) != ETL_OK ||
	    !*go)
		return rc;
	if ((rc = table_empty(s, &empty, err)) != ETL_OK)
		return rc;
	if (!empty)
		passed(s, false, "it holds rows");
	*go = empty;
	return ETL_OK;
}

/* Moves the COPY onto a shadow table on a second connection (*shadowed,
 * *to its connection), which leaves the table readable meanwhile; failing
 * that, says why and raises the lock to the one the table itself needs
 * (*go when held). */
static enum etl_code
try_shadow(struct copy_sink *s, bool *shadowed, bool *go, struct sink_conn **to,
           struct etl_error *err)
{
	char why[200];
	*shadowed = *go = false;
	enum etl_code rc = shadow_plan(&s->fast.shadow, why, sizeof why, err);
	if (rc != ETL_OK)
		return rc;
	if (why[0] == '\0') {
		s->fast.shadow.active = true;
		PGconn *aux = s->fast.connect(s->fast.connect_arg, err);
		if (aux != NULL && shadow_open(&s->fast.shadow, aux, err) == ETL_OK) {
			/* The COPY runs on the shadow's connection. */
			*to = shadow_conn(&s->fast.shadow);
			*shadowed = *go = true;
			return ETL_OK;
		}
		/* No second connection, or no shadow. */
		passed(s, true, "not through a shadow table (%s)", err->msg);
		shadow_abandon(&s->fast.shadow);
		error_clear(err);
	} else {
		passed(s, true, "not through a shadow table (%s)", why);
	}
	return lock_or_pass(s, "ACCESS EXCLUSIVE", go, err);
}

/* Drops the table's indexes and foreign keys, keeping the statements that
 * rebuild them: one build at the end costs less than each row kept in
 * them.  Not what another table's foreign key needs, nor what carries
 * something a rebuild would lose (CLUSTER, replica identity, a tablespace,
 * a comment); the foreign keys come last, rebuilt last. */
static enum etl_code
drop_indexes(struct copy_sink *s, struct etl_error *err)
{
	const char *params[1] = {s->plan->t->table};
	enum etl_code rc = ETL_OK;
	PGresult *r = db_query(
	        s->db.pg,
	        "SELECT CASE WHEN c.oid IS NULL THEN 'DROP INDEX ' || i.indexrelid::regclass::text "
	        "ELSE format('ALTER TABLE %s DROP CONSTRAINT %I', i.indrelid::regclass, c.conname) "
	        "END, CASE WHEN c.oid IS NULL THEN pg_get_indexdef(i.indexrelid) "
	        "ELSE format('ALTER TABLE %s ADD CONSTRAINT %I %s', i.indrelid::regclass, "
	        "c.conname, "
	        "pg_get_constraintdef(c.oid)) END "
	        "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
	        "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = "
	        "i.indrelid "
	        "AND c.contype IN ('p', 'u') "
	        "WHERE i.indrelid = to_regclass($1) AND i.indisvalid AND i.indisready "
	        "AND NOT i.indisclustered AND NOT i.indisreplident AND ic.reltablespace = 0 "
	        "AND obj_description(i.indexrelid, 'pg_class') IS NULL "
	        "AND NOT EXISTS (SELECT 1 FROM pg_constraint o WHERE o.conindid = i.indexrelid "
	        "AND (o.contype NOT IN ('p', 'u') OR o.conrelid <> i.indrelid)) "
	        "AND (c.oid IS NULL OR obj_description(c.oid, 'pg_constraint') IS NULL) "
	        "UNION ALL SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', "
	        "c.conrelid::regclass, "
	        "c.conname), format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, "
	        "c.conname, pg_get_constraintdef(c.oid)) FROM pg_constraint c "
	        "WHERE c.conrelid = to_regclass($1) AND c.contype = 'f' "
	        "AND obj_description(c.oid, 'pg_constraint') IS NULL",
	        1, params, err);
	if (r == NULL)
		return ETL_EDB;
	for (int i = 0; i < PQntuples(r) && rc == ETL_OK; i++) {
		if (!add_rebuild(s, PQgetvalue(r, i, 1)))
			rc = error_oom(err, NULL, 0);
		else
			rc = conn_exec(&s->db, PQgetvalue(r, i, 0), err);
	}
	PQclear(r);
	return rc;
}

/* Readies the table itself for the COPY, in the load's transaction: what
 * slows the rows' way in is dropped, and the table is truncated where it
 * can be, which lets the COPY FREEZE (*freeze). */
static enum etl_code
strip_table(struct copy_sink *s, bool *freeze, struct etl_error *err)
{
	const char *params[1] = {s->plan->t->table};
	enum etl_code rc;
	*freeze = false;
	/* In the load's transaction (the shadow's way drops it in
	 * shadow_open()). */
	if (s->fast.leftover[0] != '\0' &&
	    (rc = db_execf(s->db.pg, err, "DROP TABLE IF EXISTS %s", s->fast.leftover)) != ETL_OK)
		return rc;
	/* A Citus table (distributed or reference) keeps its indexes and is
	 * not truncated: either would be a parallel operation on its shards,
	 * after which the COPY could no longer run in this transaction.  The
	 * COPY through the coordinator fans out to the shards itself. */
	if (s->plan->citus)
		return ETL_OK;
	if ((rc = drop_indexes(s, err)) != ETL_OK)
		return rc;
	/* COPY FREEZE needs the table truncated in this transaction, which a
	 * table that others reference by foreign key cannot be. */
	PGresult *r = db_query(s->db.pg,
	                       "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = "
	                       "to_regclass($1) AND contype = 'f')",
	                       1, params, err);
	if (r == NULL)
		return ETL_EDB;
	*freeze = PQgetvalue(r, 0, 0)[0] == 'f';
	PQclear(r);
	if (*freeze)
		return db_execf(s->db.pg, err, "TRUNCATE %s",
		                sink_quote(s->plan, s->plan->t->table));
	return ETL_OK;
}

/* Starts the one COPY the whole file goes through, into the table or its
 * shadow; from here the rows stream until copy_fast_end(). */
static enum etl_code
start_copy(struct copy_sink *s, struct sink_conn *to, bool freeze, struct etl_error *err)
{
	struct buf copy = {0};
	sql_printf(&copy, "COPY %s (",
	           s->fast.shadow.active ? s->fast.shadow.q
	                                 : sink_quote(s->plan, s->plan->t->table));
	if (s->fast.own_ids)
		sql_printf(&copy, "%s, ", s->plan->id_col);
	sink_col_list(s->plan, &copy, "", false);
	sql_printf(&copy, ") FROM STDIN WITH (FORMAT %s%s)", s->plan->binary ? "binary" : "text",
	           freeze ? ", FREEZE" : "");
	buf_put(&copy, "", 1);
	if (copy.failed) {
		buf_free(&copy);
		return error_oom(err, NULL, 0);
	}
	enum etl_code rc = conn_copy_start(to, copy.data, s->plan->binary, err);
	buf_free(&copy);
	if (rc != ETL_OK)
		return rc;
	s->fast.on = true;
	s->fast.rows = 0;
	return ETL_OK;
}

void
sink_fast_open(struct sink_fast *f, const struct copy_opts *o)
{
	f->settings = o->settings;
	f->connect = o->connect;
	f->connect_arg = o->connect_arg;
}

void
sink_fast_init(struct copy_sink *s, int jobs)
{
	s->fast.jobs = jobs;
	shadow_init(&s->fast.shadow, &s->db, s->plan->t->table,
	            sink_quote(s->plan, s->plan->t->table), s->fast.settings,
	            s->opts.lock_timeout_ms);
	s->fast.passed_why[0] = '\0';
	s->fast.passed_loud = false;
}

enum etl_code
sink_fast_begin(struct copy_sink *s, bool big, bool *go, struct sink_conn **to,
                struct etl_error *err)
{
	bool shadow = false, shadowed = false, freeze = false;
	enum etl_code rc;
	*go = false;
	if ((rc = one_empty_load(s, err)) != ETL_OK)
		return rc;
	if ((rc = lock_if_empty(s, big, &shadow, go, err)) != ETL_OK || !*go)
		return rc;
	if (shadow && ((rc = try_shadow(s, &shadowed, go, to, err)) != ETL_OK || !*go))
		return rc;
	if ((rc = own_ids(s, *to, err)) != ETL_OK)
		return rc;
	/* The shadow is new in the COPY's transaction: FREEZE. */
	freeze = shadowed;
	if (!shadowed && (rc = strip_table(s, &freeze, err)) != ETL_OK)
		return rc;
	return start_copy(s, *to, freeze, err);
}

void
sink_fast_passed_by(struct copy_sink *s)
{
	if (s->fast.leftover[0] != '\0')
		(void)shadow_drop_named(s->db.pg, s->plan->t->table, s->fast.leftover);
}

/* Rebuilds what copy_fast_begin() dropped, in the load's transaction (on
 * failure or *refused the caller rolls everything back). */
static enum etl_code
rebuild(struct copy_sink *s, bool *refused, struct etl_error *err)
{
	/* Sorting for the index builds is the bulk of the work; the server's
	 * parallel workers help.  maintenance_work_mem stays the server's: on
	 * the benchmark larger sorts in memory were slower than the default's
	 * spilled runs. */
	enum etl_code rc =
	        db_execf(s->db.pg, err, "SET LOCAL max_parallel_maintenance_workers = %d",
	                 s->fast.jobs > 1 ? s->fast.jobs - 1 : 0);
	conn_arm(&s->db);
	for (int i = 0; i < s->fast.nrebuild && rc == ETL_OK; i++) {
		PGresult *r = db_run(s->db.pg, s->fast.rebuild[i]);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			/* A foreign key the rows break: the batched path will
			 * find the rows. */
			*refused = conn_refused(&s->db, r, false);
			if (*refused)
				conn_reason(r, s->fast.why, sizeof s->fast.why);
			else
				rc = db_error(s->db.pg, r, "cannot rebuild after the load", err);
		}
		PQclear(r);
		if (*refused)
			break;
	}
	conn_disarm();
	return rc;
}

bool
sink_fast_row(struct copy_sink *s, int64_t *id)
{
	if (s->fast.own_ids && s->fast.id_next > s->plan->id_max) {
		s->fast.id_overflow = true;
		return false;
	}
	*id = s->fast.id_next++;
	s->fast.rows++;
	return true;
}

enum etl_code
sink_fast_end(struct copy_sink *s, struct copy_outcome *out, bool *refused, struct etl_error *err)
{
	enum etl_code rc;
	PGresult *r = conn_copy_end(s->copy_conn, NULL);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		*refused = conn_refused(s->copy_conn, r, true);
		if (*refused)
			conn_reason(r, s->fast.why, sizeof s->fast.why);
		if (*refused && s->fast.shadow.active)
			shadow_reason(&s->fast.shadow, s->fast.why, sizeof s->fast.why);
		rc = *refused ? ETL_OK : db_error(s->copy_conn->pg, r, NULL, err);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	if (s->fast.shadow.active && (rc = shadow_copied(&s->fast.shadow, err)) != ETL_OK)
		return rc;
	if (s->fast.id_overflow) {
		/* The batches take the ids from the sequence, and say when it
		 * runs out. */
		*refused = true;
		(void)snprintf(s->fast.why, sizeof s->fast.why,
		               "the rows need more ids than the sequence %s has left",
		               s->plan->id_seq);
		return ETL_OK;
	}
	if (s->fast.own_ids && s->fast.rows > 0 &&
	    (rc = db_execf(s->db.pg, err, "SELECT setval(%s, %lld)", s->plan->id_seq,
	                   (long long)(s->fast.id_next - 1))) != ETL_OK)
		return rc;
	if (s->fast.shadow.active)
		rc = shadow_finish(&s->fast.shadow, refused, s->fast.why, sizeof s->fast.why, err);
	else
		rc = rebuild(s, refused, err);
	if (rc != ETL_OK || *refused)
		return rc;
	out->loaded = s->fast.rows;
	if (s->fast.own_ids && s->fast.rows > 0)
		out->xmins = ids_xmins(s->plan->t, s->plan->citus,
		                       s->fast.shadow.active ? s->fast.shadow.xid : 0,
		                       s->opts.single_txn);
	s->fast.on = false;
	return ETL_OK;
}

void
sink_fast_off(struct sink_fast *f)
{
	f->on = false;
}

void
sink_fast_free(struct sink_fast *f)
{
	shadow_abandon(&f->shadow);
	for (int i = 0; i < f->nrebuild; i++)
		free(f->rebuild[i]);
	free(f->rebuild);
}

int
copy_fast_rebuilt(const struct copy_sink *s)
{
	return s->plan->citus           ? -1
	       : s->fast.shadow.swapped ? s->fast.shadow.nbuild + s->fast.shadow.nfkeys
	                                : s->fast.nrebuild;
}

bool
copy_fast_shadowed(const struct copy_sink *s)
{
	return s->fast.shadow.swapped;
}

const char *
copy_fast_refusal(const struct copy_sink *s)
{
	return s->fast.why;
}

const char *
copy_fast_passed(const struct copy_sink *s, bool *loud)
{
	*loud = s->fast.passed_loud;
	return s->fast.passed_why[0] != '\0' ? s->fast.passed_why : NULL;
}
