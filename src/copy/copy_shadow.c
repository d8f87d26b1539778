/*
 * copy_shadow.c — the empty-table path through a shadow table.
 *
 * Building the indexes is most of an initial load, and one transaction
 * builds them one after the other.  Here the load's transaction (on its own
 * connection) holds the table's history row and an EXCLUSIVE lock on the
 * empty table (readers go on, writers wait) while:
 *   1. a second connection creates the shadow, a new table shaped like the
 *      table (columns, defaults, CHECK constraints, storage, comments), and
 *      COPYs the rows into it with FREEZE, in its own transaction;
 *   2. both connections build the table's indexes on the shadow at once,
 *      each taking the next statement of one list (the second connection in
 *      a transaction of its own, the load's in the load's transaction);
 *   3. the load's transaction adds the foreign keys to the shadow, takes the
 *      table's lock in ACCESS EXCLUSIVE mode, hands its grants, its comment
 *      and its sequences' ownership to the shadow, drops the table, renames
 *      the shadow and its indexes to the table's names, and commits with
 *      the history's checkpoint.
 * Interrupted at any point before that commit the table stays as it was,
 * empty, and the load drops the shadow (on whichever connection is left,
 * or a new one); only a process killed outright leaves it, for the next
 * load that takes this path to drop.  Only a table the swap carries over whole takes it
 * (shadow_plan() says why not); the others go the one-transaction way.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy_shadow.h"
#include "db.h"
#include "signals.h"

/* Why the swap could not carry the table over, or NULL: what would be lost
 * or would stop the DROP.  $1 is the table. */
static const char why_not_sql[] =
        "SELECT CASE "
        "WHEN c.relkind <> 'r' OR c.relpersistence <> 'p' THEN 'it is not a plain logged table' "
        "WHEN c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user) "
        "THEN 'another role owns it' "
        "WHEN c.reloptions IS NOT NULL OR c.reltablespace <> 0 "
        "THEN 'it has storage parameters or a tablespace' "
        "WHEN c.relrowsecurity OR c.relreplident <> 'd' OR c.relispartition OR c.relhassubclass "
        "OR EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = c.oid OR inhparent = c.oid) "
        "THEN 'it has row security, a replica identity, partitions or inheritance' "
        "WHEN EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = c.oid AND NOT tgisinternal) "
        "THEN 'it has triggers' "
        "WHEN EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = c.oid) "
        "THEN 'a foreign key references it' "
        "WHEN EXISTS (SELECT 1 FROM pg_depend WHERE refclassid = 'pg_class'::regclass "
        "AND refobjid = c.oid AND deptype = 'n') "
        "OR EXISTS (SELECT 1 FROM pg_depend d JOIN pg_type t ON d.refobjid IN (t.oid, t.typarray) "
        "WHERE d.refclassid = 'pg_type'::regclass AND t.oid = c.reltype AND d.deptype = 'n') "
        "OR EXISTS (SELECT 1 FROM pg_depend WHERE classid = 'pg_class'::regclass "
        "AND objid = c.oid AND deptype = 'e') "
        "THEN 'views, functions or an extension depend on it' "
        "WHEN EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = c.oid) "
        "OR EXISTS (SELECT 1 FROM pg_publication_rel WHERE prrelid = c.oid) "
        "OR EXISTS (SELECT 1 FROM pg_statistic_ext WHERE stxrelid = c.oid) "
        "THEN 'it has policies, publications or extended statistics' "
        "WHEN EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 "
        "AND NOT attisdropped AND (attacl IS NOT NULL OR attidentity <> '' "
        "OR attstattarget >= 0 OR EXISTS (SELECT 1 FROM unnest(attoptions) o "
        "WHERE o NOT LIKE 'pg\\_attver=%'))) "
        "THEN 'a column has grants, an identity or settings of its own' "
        "WHEN EXISTS (SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
        "WHERE i.indrelid = c.oid AND (NOT i.indisvalid OR NOT i.indisready OR i.indisclustered "
        "OR ic.reltablespace <> 0 OR ic.reloptions IS NOT NULL "
        "OR obj_description(ic.oid, 'pg_class') IS NOT NULL)) "
        "THEN 'an index is clustered, invalid, commented or has storage settings' "
        "WHEN EXISTS (SELECT 1 FROM pg_constraint k WHERE conrelid = c.oid AND (contype NOT IN "
        "('p', 'u', 'f', 'c', 'n') OR condeferrable OR NOT convalidated "
        "OR coalesce((to_jsonb(k) ->> 'conperiod')::boolean, false) "
        "OR (contype NOT IN ('c', 'n') AND obj_description(oid, 'pg_constraint') IS NOT NULL))) "
        "THEN 'a constraint is deferrable, not valid, an exclusion, WITHOUT OVERLAPS "
        "or commented' "
        "END FROM pg_class c WHERE c.oid = to_regclass($1)";

/* The index builds on the shadow ($2), then what gives each index its name
 * back once the table is dropped: a plain index is renamed, a primary key or
 * unique constraint is added using its index.  ok: the definition starts as
 * expected, so that the rest of it can follow the shadow's name. */
static const char plan_sql[] =
        "WITH t AS (SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)), "
        "x AS (SELECT t.*, ic.relname AS iname, k.conname, k.contype, "
        "pg_get_indexdef(i.indexrelid) AS def, "
        "format('CREATE %sINDEX %I ON %I.%I ', CASE WHEN i.indisunique THEN 'UNIQUE ' END, "
        "ic.relname, t.nspname, t.relname) AS pfx, "
        "row_number() OVER (ORDER BY i.indnatts DESC, ic.relname) AS rn "
        "FROM t JOIN pg_index i ON i.indrelid = t.oid JOIN pg_class ic ON ic.oid = i.indexrelid "
        "LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = t.oid "
        "AND k.contype IN ('p', 'u')), "
        "y AS (SELECT *, $2::text || '_' || rn AS tmp FROM x) "
        "SELECT format('CREATE %sINDEX %I ON %I.%I ', CASE WHEN def LIKE 'CREATE UNIQUE %' "
        "THEN 'UNIQUE ' END, tmp, nspname, $2::text) || substr(def, length(pfx) + 1), "
        "CASE WHEN conname IS NULL THEN format('ALTER INDEX %I.%I RENAME TO %I', nspname, tmp, "
        "iname) ELSE format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s USING INDEX %I', nspname, "
        "relname, conname, CASE contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, tmp) "
        "END, left(def, length(pfx)) = pfx, iname FROM y ORDER BY rn";

/* The shadow's foreign keys: the table's. */
static const char fkeys_sql[] =
        "SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', $2::text, conname, "
        "pg_get_constraintdef(oid)) FROM pg_constraint WHERE conrelid = to_regclass($1) "
        "AND contype = 'f' ORDER BY conname";

/* What the swap hands over before the table is dropped ($2 the shadow): its
 * grants (the shadow's own, default privileges included, revoked first), its
 * comment, its sequences' ownership. */
static const char handover_sql[] =
        "WITH t AS (SELECT oid, relowner, relacl FROM pg_class WHERE oid = to_regclass($1)), "
        "s AS (SELECT oid, relowner, relacl FROM pg_class WHERE oid = to_regclass($2)), "
        "who(g) AS (SELECT CASE WHEN g = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g)) "
        "END FROM (SELECT DISTINCT (aclexplode(coalesce(s.relacl, acldefault('r', "
        "s.relowner)))).grantee AS g FROM s) a) "
        "SELECT format('REVOKE ALL ON TABLE %s FROM %s', $2::text, g) FROM who "
        "UNION ALL SELECT format('GRANT %s ON TABLE %s TO %s%s', a.privilege_type, $2::text, "
        "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, "
        "CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) "
        "FROM t, aclexplode(coalesce(t.relacl, acldefault('r', t.relowner))) a "
        "UNION ALL SELECT format('COMMENT ON TABLE %s IS %L', $2::text, d) FROM t, "
        "obj_description(t.oid, 'pg_class') d WHERE d IS NOT NULL "
        "UNION ALL SELECT format('ALTER SEQUENCE %s OWNED BY %s.%I', d.objid::regclass, $2::text, "
        "a.attname) FROM t JOIN pg_depend d ON d.refobjid = t.oid JOIN pg_attribute a "
        "ON a.attrelid = t.oid AND a.attnum = d.refobjsubid JOIN pg_class q ON q.oid = d.objid "
        "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
        "AND d.deptype = 'a' AND q.relkind = 'S'";

static void
free_list(char **v, int n)
{
	for (int i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static void
free_plan(struct sink_shadow *sh)
{
	free_list(sh->build, sh->nbuild);
	free_list(sh->swap, sh->nbuild);
	free_list(sh->names, sh->nbuild);
	sh->build = sh->swap = sh->names = NULL;
	sh->nbuild = 0;
}

/* Runs every row's first column of a query on conn, as statements. */
static enum etl_code
run_each(PGconn *conn, const char *query, const char *const *params, bool *refused, char *why,
         size_t size, int *ran, struct etl_error *err)
{
	PGresult *r = db_query(conn, query, 2, params, err);
	if (r == NULL)
		return ETL_EDB;
	enum etl_code rc = ETL_OK;
	for (int i = 0; i < PQntuples(r) && rc == ETL_OK; i++) {
		PGresult *x = db_run(conn, PQgetvalue(r, i, 0));
		if (PQresultStatus(x) != PGRES_COMMAND_OK) {
			if (refused != NULL && PQstatus(conn) == CONNECTION_OK &&
			    conn_row_level(db_sqlstate(x))) {
				*refused = true;
				conn_reason(x, why, size);
			} else {
				rc = db_error(conn, x, NULL, err);
			}
		}
		PQclear(x);
		if (refused != NULL && *refused)
			break;
		if (ran != NULL && rc == ETL_OK)
			(*ran)++;
	}
	PQclear(r);
	return rc;
}

/* Why the swap cannot carry the table over now; why[0] == '\0': it can. */
static enum etl_code
why_not(struct sink_shadow *sh, char *why, size_t size, struct etl_error *err)
{
	const char *params[1] = {sh->table};
	why[0] = '\0';
	PGresult *r = db_query(sh->own->pg, why_not_sql, 1, params, err);
	if (r == NULL)
		return ETL_EDB;
	if (PQntuples(r) != 1)
		(void)snprintf(why, size, "the table is gone");
	else if (!PQgetisnull(r, 0, 0))
		(void)snprintf(why, size, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return ETL_OK;
}

enum etl_code
shadow_plan(struct sink_shadow *sh, char *why, size_t size, struct etl_error *err)
{
	const char *params[2] = {sh->table, sh->name};
	free_plan(sh);
	if (why_not(sh, why, size, err) != ETL_OK)
		return ETL_EDB;
	if (why[0] != '\0')
		return ETL_OK;
	PGresult *r = db_query(
	        sh->own->pg,
	        "SELECT 'siprems_etl_shadow_' || to_regclass($1)::oid, "
	        "format('%I.%I', n.nspname, 'siprems_etl_shadow_' || c.oid) FROM pg_class c "
	        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
	        1, params, err);
	if (r == NULL)
		return ETL_EDB;
	(void)snprintf(sh->name, sizeof sh->name, "%s", PQgetvalue(r, 0, 0));
	(void)snprintf(sh->q, sizeof sh->q, "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	r = db_query(sh->own->pg, plan_sql, 2, params, err);
	if (r == NULL)
		return ETL_EDB;
	int n = PQntuples(r);
	sh->build = calloc((size_t)n + 1, sizeof *sh->build);
	sh->swap = calloc((size_t)n + 1, sizeof *sh->swap);
	sh->names = calloc((size_t)n + 1, sizeof *sh->names);
	enum etl_code rc = sh->build != NULL && sh->swap != NULL && sh->names != NULL
	                           ? ETL_OK
	                           : error_oom(err, NULL, 0);
	for (int i = 0; i < n && rc == ETL_OK; i++) {
		if (PQgetvalue(r, i, 2)[0] != 't') {
			(void)snprintf(why, size, "an index definition reads unlike its name");
			break;
		}
		sh->build[i] = strdup(PQgetvalue(r, i, 0));
		sh->swap[i] = strdup(PQgetvalue(r, i, 1));
		sh->names[i] = strdup(PQgetvalue(r, i, 3));
		sh->nbuild = i + 1;
		if (sh->build[i] == NULL || sh->swap[i] == NULL || sh->names[i] == NULL)
			rc = error_oom(err, NULL, 0);
	}
	PQclear(r);
	if (rc != ETL_OK || why[0] != '\0')
		free_plan(sh);
	return rc;
}

void
shadow_init(struct sink_shadow *sh, struct sink_conn *own, const char *table, const char *table_q,
            const char *settings, long lock_timeout_ms)
{
	shadow_abandon(sh);
	sh->own = own;
	sh->table = table;
	sh->table_q = table_q;
	sh->settings = settings;
	sh->lock_timeout_ms = lock_timeout_ms;
	sh->swapped = false;
}

struct sink_conn *
shadow_conn(struct sink_shadow *sh)
{
	return &sh->aux;
}

enum etl_code
shadow_open(struct sink_shadow *sh, PGconn *aux, struct etl_error *err)
{
	conn_attach(&sh->aux, aux);
	enum etl_code rc = db_exec(sh->aux.pg, "BEGIN", err);
	if (rc != ETL_OK)
		return rc;
	sh->txn = true;
	/* A shadow left by a stopped run: nothing else uses it, since the
	 * load holds the table's lock (and EMPTY_LOAD_KEY). */
	sh->made = true;
	rc = db_execf(sh->aux.pg, err,
	              "%s; SET LOCAL lock_timeout = '5s'; DROP TABLE IF EXISTS %s; "
	              "CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
	              "INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION "
	              "INCLUDING COMMENTS); SET LOCAL lock_timeout = %ld",
	              sh->settings, sh->q, sh->q, sh->table_q, sh->lock_timeout_ms);
	return rc;
}

enum etl_code
shadow_copied(struct sink_shadow *sh, struct etl_error *err)
{
	/* The rows' xmin, for undo. */
	PGresult *r = db_query(sh->aux.pg, "SELECT pg_current_xact_id()::text::bigint % 4294967296",
	                       0, NULL, err);
	if (r == NULL)
		return ETL_EDB;
	sh->xid = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	sh->txn = false;
	return db_exec(sh->aux.pg, "COMMIT", err);
}

/* Drops the shadow on conn, an idle connection: in a transaction of its
 * own that takes the table's empty-load lock first.  The load's own
 * transaction has ended by now (it held the lock and the shadow's
 * builds), so another loader may have begun its empty-table load and made
 * a shadow of the same name: then the lock is not granted, and that load
 * drops this one's leftover itself.  Whether the shadow is gone. */
static bool
drop_on(struct sink_shadow *sh, PGconn *conn)
{
	return shadow_drop_named(conn, sh->table, sh->q);
}

bool
shadow_drop_named(PGconn *conn, const char *table, const char *q)
{
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK ||
	    PQtransactionStatus(conn) != PQTRANS_IDLE)
		return false;
	const char *params[1] = {table};
	PGresult *r = db_run(conn, "BEGIN");
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok)
		return false;
	r = PQexecParams(conn, "SELECT pg_try_advisory_xact_lock(" EMPTY_LOAD_KEY ")", 1, NULL,
	                 params, NULL, NULL, 0);
	bool mine = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	            PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (mine) {
		r = db_runf(conn, "DROP TABLE IF EXISTS %s", q);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
	}
	r = db_run(conn, ok ? "COMMIT" : "ROLLBACK");
	ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	/* Not granted: the load that holds the lock drops it, whichever way
	 * it goes (copy_fast.c, one_empty_load()). */
	return ok;
}

void
shadow_abandon(struct sink_shadow *sh)
{
	if (sh->aux.pg != NULL && PQstatus(sh->aux.pg) == CONNECTION_OK && sh->txn)
		PQclear(db_run(sh->aux.pg, "ROLLBACK"));
	sh->txn = false;
	/* On the second connection, else on the load's (both idle now). */
	if (sh->made && (drop_on(sh, sh->aux.pg) || (sh->own != NULL && drop_on(sh, sh->own->pg))))
		sh->made = false;
	conn_release(&sh->aux, true);
	sh->active = false;
	free_plan(sh);
}

bool
shadow_left(const struct sink_shadow *sh)
{
	return sh->made;
}

void
shadow_drop_left(struct sink_shadow *sh, PGconn *conn)
{
	if (sh->made && drop_on(sh, conn))
		sh->made = false;
}

void
shadow_reason(const struct sink_shadow *sh, char *why, size_t size)
{
	char out[400];
	size_t n = 0, len = strlen(sh->name);
	const char *p = why;
	while (*p != '\0' && n + 1 < sizeof out) {
		if (len == 0 || strncmp(p, sh->name, len) != 0) {
			out[n++] = *p++;
			continue;
		}
		/* The shadow is the table; its index k is the table's. */
		const char *name = sh->table;
		p += len;
		if (p[0] == '_' && p[1] >= '0' && p[1] <= '9') {
			char *end;
			long k = strtol(p + 1, &end, 10);
			if (k >= 1 && k <= sh->nbuild) {
				name = sh->names[k - 1];
				p = end;
			}
		}
		n += (size_t)snprintf(out + n, sizeof out - n, "%s", name);
		if (n >= sizeof out)
			n = sizeof out - 1;
	}
	out[n] = '\0';
	(void)snprintf(why, size, "%s", out);
}

/* ---- the builds on both connections -------------------------------------------- */

struct builds {
	struct sink_shadow *sh;
	pthread_mutex_t mu;
	int next;     /* the next statement to run */
	bool stopped; /* a build failed: take no more */
};

struct builder {
	struct builds *b;
	PGconn *conn;
	bool refused;
	char why[400];
	struct etl_error err;
	enum etl_code rc;
};

/* Takes the next build, or NULL. */
static const char *
take(struct builds *b)
{
	const char *sql = NULL;
	pthread_mutex_lock(&b->mu);
	if (!b->stopped && b->next < b->sh->nbuild)
		sql = b->sh->build[b->next++];
	pthread_mutex_unlock(&b->mu);
	return sql;
}

static void
stop(struct builds *b)
{
	pthread_mutex_lock(&b->mu);
	b->stopped = true;
	pthread_mutex_unlock(&b->mu);
}

/* Runs builds on w->conn until none is left or one fails. */
static void
build_all(struct builder *w)
{
	const char *sql;
	while (w->rc == ETL_OK && !w->refused && (sql = take(w->b)) != NULL) {
		PGresult *r = db_run(w->conn, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			/* A key the rows repeat: the batches will find the rows. */
			w->refused = PQstatus(w->conn) == CONNECTION_OK &&
			             conn_row_level(db_sqlstate(r));
			if (w->refused)
				conn_reason(r, w->why, sizeof w->why);
			else
				w->rc = db_error(w->conn, r,
				                 "cannot build an index of the shadow table",
				                 &w->err);
			stop(w->b);
		}
		PQclear(r);
	}
}

/* The second connection's share, in a transaction of its own. */
static void *
aux_builds(void *arg)
{
	struct builder *w = arg;
	struct sink_shadow *sh = w->b->sh;
	signals_use_slot(1);
	conn_arm(&sh->aux);
	w->rc = db_exec(w->conn, "BEGIN; SET LOCAL max_parallel_maintenance_workers = 1", &w->err);
	if (w->rc == ETL_OK) {
		sh->txn = true;
		build_all(w);
	}
	if (w->rc != ETL_OK)
		stop(w->b);
	if (sh->txn && w->rc == ETL_OK && !w->refused)
		w->rc = db_exec(w->conn, "COMMIT", &w->err);
	else if (sh->txn)
		PQclear(db_run(w->conn, "ROLLBACK"));
	sh->txn = false;
	signals_set_cancel(NULL);
	return NULL;
}

/* The swap: the table's lock taken whole, the table checked again, its
 * grants, comment and sequences handed to the shadow, the table dropped,
 * the shadow and its indexes given the table's names. */
static enum etl_code
swap_in(struct sink_shadow *sh, bool *refused, char *why, size_t size, struct etl_error *err)
{
	const char *params[2] = {sh->table, sh->q};
	PGresult *r = db_runf(sh->own->pg,
	                      "SET LOCAL lock_timeout = '30s'; LOCK TABLE %s IN ACCESS EXCLUSIVE "
	                      "MODE; SET LOCAL lock_timeout = %ld",
	                      sh->table_q, sh->lock_timeout_ms);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*refused = PQstatus(sh->own->pg) == CONNECTION_OK && !signals_received();
		if (*refused)
			(void)snprintf(why, size,
			               "the table's lock for the swap was not granted within 30 s");
		enum etl_code rc = *refused ? ETL_OK : db_error(sh->own->pg, r, NULL, err);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	char changed[200];
	if (why_not(sh, changed, sizeof changed, err) != ETL_OK)
		return ETL_EDB;
	if (changed[0] != '\0') {
		*refused = true;
		(void)snprintf(why, size, "the table changed during the load: %s", changed);
		return ETL_OK;
	}
	enum etl_code rc = run_each(sh->own->pg, handover_sql, params, NULL, NULL, 0, NULL, err);
	if (rc != ETL_OK)
		return rc;
	r = db_query(sh->own->pg,
	             "SELECT format('DROP TABLE %s; ALTER TABLE %s RENAME TO %I', "
	             "to_regclass($1), $2::text, c.relname) FROM pg_class c "
	             "WHERE c.oid = to_regclass($1)",
	             2, params, err);
	if (r == NULL)
		return ETL_EDB;
	rc = db_exec(sh->own->pg, PQgetvalue(r, 0, 0), err);
	PQclear(r);
	for (int i = 0; i < sh->nbuild && rc == ETL_OK; i++)
		rc = db_exec(sh->own->pg, sh->swap[i], err);
	return rc;
}

enum etl_code
shadow_finish(struct sink_shadow *sh, bool *refused, char *why, size_t size, struct etl_error *err)
{
	struct builds b = {.sh = sh};
	struct builder own = {.b = &b, .conn = sh->own->pg, .rc = ETL_OK};
	struct builder aux = {.b = &b, .conn = sh->aux.pg, .rc = ETL_OK};
	pthread_t thread;
	*refused = false;
	if (pthread_mutex_init(&b.mu, NULL) != 0)
		return error_set(err, ETL_ESYSTEM, NULL, 0, "cannot start the index builds");
	bool started = pthread_create(&thread, NULL, aux_builds, &aux) == 0;
	conn_arm(sh->own);
	own.rc = db_exec(sh->own->pg, "SET LOCAL max_parallel_maintenance_workers = 1", &own.err);
	if (own.rc == ETL_OK)
		build_all(&own);
	else
		stop(&b);
	if (started)
		(void)pthread_join(thread, NULL);
	else
		build_all(&own); /* no thread: the load's connection builds them all */
	pthread_mutex_destroy(&b.mu);
	signals_set_cancel(NULL);
	struct builder *bad = own.rc != ETL_OK ? &own : aux.rc != ETL_OK ? &aux : NULL;
	if (bad != NULL) {
		*err = bad->err;
		return bad->rc;
	}
	if (own.refused || aux.refused) {
		*refused = true;
		(void)snprintf(why, size, "%s", own.refused ? own.why : aux.why);
		shadow_reason(sh, why, size);
		return ETL_OK;
	}
	const char *params[2] = {sh->table, sh->q};
	conn_arm(sh->own);
	enum etl_code rc =
	        run_each(sh->own->pg, fkeys_sql, params, refused, why, size, &sh->nfkeys, err);
	if (*refused)
		shadow_reason(sh, why, size);
	if (rc == ETL_OK && !*refused)
		rc = swap_in(sh, refused, why, size, err);
	signals_set_cancel(NULL);
	if (rc == ETL_OK && !*refused) {
		/* The second connection has nothing left to do; the shadow
		 * is the table now (a failed commit brings it back: the
		 * next empty-table load drops it). */
		sh->swapped = true;
		sh->made = false;
		conn_release(&sh->aux, true);
	}
	return rc;
}
