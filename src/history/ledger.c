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
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "signals.h"
#include "sqlbuf.h"

#ifndef ETL_VERSION
#define ETL_VERSION "dev"
#endif

/* ---- claiming a file ---------------------------------------------------------- */

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
		return error_oom(err, NULL, 0);
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

/* The keys of the options string (load_claim.c's outcome_options), in its
 * order; each value runs to the next " key=" or the end. */
static const char *const option_keys[] = {
        "on-conflict", "encoding", "delimiter",     "allow-future", "timezone",
        "sku-pattern", "map",      "columns",       "date-format",  "decimal-comma",
        "currency",    "null",     "case-variants",
};

/* The value of key in an options string (not NUL-terminated: *n bytes),
 * or NULL when the string has none. */
static const char *
option_value(const char *opts, const char *key, size_t *n)
{
	size_t klen = strlen(key);
	const char *v = NULL;
	for (const char *p = opts; *p != '\0'; p++) {
		if ((p == opts || p[-1] == ' ') && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			v = p + klen + 1;
			break;
		}
	}
	if (v == NULL)
		return NULL;
	const char *end = v + strlen(v);
	for (size_t i = 0; i < sizeof option_keys / sizeof option_keys[0]; i++) {
		char next[40];
		(void)snprintf(next, sizeof next, " %s=", option_keys[i]);
		const char *q = strstr(v, next);
		if (q != NULL && q < end)
			end = q;
	}
	*n = (size_t)(end - v);
	return v;
}

/* A delimiter's code as the character (or "\\t"), for a message. */
static const char *
delimiter_shown(const char *v, char *buf, size_t size, size_t *n)
{
	if (v == NULL)
		return NULL;
	long c = strtol(v, NULL, 10);
	if (c == '\t')
		(void)snprintf(buf, size, "'\\t'");
	else
		(void)snprintf(buf, size, "'%c'", c > 32 && c < 127 ? (int)c : '?');
	*n = strlen(buf);
	return buf;
}

/* Whether entry e (n bytes) is one of the '|'-separated entries of list. */
static bool
has_entry(const char *list, size_t len, const char *e, size_t n)
{
	for (const char *p = list, *end = list + len; p < end;) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		size_t k = bar ? (size_t)(bar - p) : (size_t)(end - p);
		if (k == n && memcmp(p, e, n) == 0)
			return true;
		p += k + 1;
	}
	return false;
}

/* Whether every entry of list x is one of list y. */
static bool
all_in(const char *x, size_t xlen, const char *y, size_t ylen)
{
	for (const char *p = x, *end = x + xlen; p < end;) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		size_t k = bar ? (size_t)(bar - p) : (size_t)(end - p);
		if (!has_entry(y, ylen, p, k))
			return false;
		p += k + 1;
	}
	return true;
}

/* Whether a zone's value names UTC. */
static bool
utc_name(const char *v, size_t n)
{
	static const char *const names[] = {"UTC",       "Etc/UTC",      "UCT", "Etc/UCT",
	                                    "Zulu",      "Etc/Zulu",     "GMT", "Etc/GMT",
	                                    "Universal", "Etc/Universal"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n && strncasecmp(v, names[i], n) == 0)
			return true;
	return false;
}

/* Whether two values of key would shape a file of kind alike: the same
 * text; a zone only matters to sales (the one kind with a timestamp
 * column), and UTC has many names; --map in any order. */
static bool
same_value(const char *key, const char *kind, const char *va, size_t a, const char *vb, size_t b)
{
	if ((va == NULL) != (vb == NULL))
		return strcmp(key, "timezone") == 0 && strcmp(kind, "sales") != 0;
	if (va == NULL || (a == b && memcmp(va, vb, a) == 0))
		return true;
	if (strcmp(key, "timezone") == 0)
		return strcmp(kind, "sales") != 0 || (utc_name(va, a) && utc_name(vb, b));
	if (strcmp(key, "map") == 0) {
		/* Each entry of one in the other, as many of them. */
		size_t na = 1, nb = 1;
		for (size_t i = 0; i < a; i++)
			na += va[i] == '|';
		for (size_t i = 0; i < b; i++)
			nb += vb[i] == '|';
		if (na != nb)
			return false;
		return all_in(va, a, vb, b) && all_in(vb, b, va, a);
	}
	return false;
}

/* "--timezone America/New_York (this run: --timezone UTC)" for each option
 * whose value differs between two options strings. */
static int
options_differ(const char *was, const char *now, const char *kind, char *buf, size_t size)
{
	size_t len = 0;
	int n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof option_keys / sizeof option_keys[0]; i++) {
		size_t a = 0, b = 0;
		const char *va = option_value(was, option_keys[i], &a);
		const char *vb = option_value(now, option_keys[i], &b);
		if (same_value(option_keys[i], kind, va, a, vb, b))
			continue;
		n++;
		char da[8], db[8];
		if (strcmp(option_keys[i], "delimiter") == 0) {
			/* Kept as the character's code. */
			va = delimiter_shown(va, da, sizeof da, &a);
			vb = delimiter_shown(vb, db, sizeof db, &b);
		}
		int k = snprintf(buf + len, size - len, "%s--%s %.*s (this run: %.*s)",
		                 len ? ", " : "", option_keys[i], va ? (int)a : 9,
		                 va ? va : "not given", vb ? (int)b : 9, vb ? vb : "not given");
		if (k < 0 || (size_t)k >= size - len)
			break;
		len += (size_t)k;
	}
	if (len == 0)
		(void)snprintf(buf, size, "other options");
	return n;
}

/* A load that committed rows goes on only with the options it began with:
 * a file is never loaded two ways (half its rows in one zone, half in
 * another).  Returns ETL_OK, or ETL_EINPUT naming the options. */
static enum etl_code
same_options(const struct ledger *e, const struct ledger_claim_opts *o, struct etl_error *err)
{
	if (e->records_done == 0 || e->options[0] == '\0' || strcmp(e->options, o->options) == 0)
		return ETL_OK;
	char diff[1200];
	if (options_differ(e->options, o->options, e->kind, diff, sizeof diff) == 0)
		return ETL_OK;
	return error_set(err, ETL_EINPUT, NULL, 0,
	                 "load %lld of this file (%s) committed %lld records with %s: going on "
	                 "would load one file two ways, so nothing was "
	                 "loaded.  Run it again with the options of load %lld to resume it, "
	                 "or take it back first ('siprems-etl undo %lld', or load with --force, "
	                 "which undoes it) to load the file anew with these",
	                 (long long)e->load_id, e->status, (long long)e->records_done, diff,
	                 (long long)e->load_id, (long long)e->load_id);
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
		rc = same_options(&e, o, err);
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
		rc = error_oom(err, NULL, 0);
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
		rc = same_options(latest, o, err);
		if (rc != ETL_OK)
			goto out;
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
	ledger_holder_self(holder, sizeof holder);
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
