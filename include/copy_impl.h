/*
 * copy_impl.h — the inside of a copy sink: its parts, each kept by one file.
 *
 *   struct sink_plan     copy_sql.c builds it in copy_open(), const after:
 *                        the columns, types, statements, ids, quoted names
 *   struct sink_fast     copy_fast.c: the empty-table path and its shadow
 *   struct sink_pw       copy_pw.c: the passwords waiting for their hashes
 *   struct sink_refused  copy_isolate.c: the batch's refused rows
 *   struct copy_sink     copy.c: the load's connection and the COPY's
 *                        (the shadow's, which sink_fast owns, on the empty-
 *                        table path through a shadow), the options, the
 *                        batch, the ids, in_batch and the parts above; it
 *                        begins and ends each batch's transaction and the
 *                        empty-table path's, and sends the rows as they
 *                        are added, calling copy_pw.c's hook before bytes
 *                        go out
 *
 * Two files reach past their part, both into the batch on the load's
 * connection: copy_pw.c writes a placeholder where a hash goes and then
 * the hash into it (sink_pw_hold(), the hook); copy_isolate.c, settling
 * refused rows, runs its own savepoints and resends the batch's rows in
 * COPYs of its own on s->db.
 *
 * Where copy.c needs another part changed, it calls that part's file
 * (sink_fast_row(), sink_fast_rollback(), sink_refused_reset(),
 * sink_pw_reset()...).  Nothing outside src/copy includes this header.
 * Below the sink, each with its own header: the connection (copy_conn.h),
 * the batch (copy_batch.h), the id reservations (copy_ids.h) and the
 * shadow table (copy_shadow.h).
 */
#ifndef SIPREMS_COPY_IMPL_H
#define SIPREMS_COPY_IMPL_H

#include "copy.h"
#include "copy_batch.h"
#include "copy_conn.h"
#include "copy_ids.h"
#include "copy_shadow.h"
#include "encode.h"
#include "pwhash.h"
#include "sqlbuf.h"

#define RETRIES 5 /* for deadlocks and serialization failures */

/* The statement plan: what the sink sends and the statements that send
 * it.  copy_sql.c builds it in copy_open() (sink_plan_open(), then
 * sink_plan_statements() once the passwords' part is set up); from then
 * on every file reads it through a const pointer. */
struct sink_plan {
	const struct table_def *t;
	enum on_conflict mode;
	const char *labels[TABLE_MAXLABELS];

	int ncols;
	int col[TABLE_MAXCOLS]; /* table columns sent, in order */
	/* A column the file lacks but the table needs (NOT NULL without a
	 * default there): its default value goes in. */
	bool use_dflt[TABLE_MAXCOLS];
	struct value dflt[TABLE_MAXCOLS];
	int alt[TABLE_MAXCOLS]; /* a second source of the column (password for
	                           password_hash), used when the first is empty */
	/* Columns no file fills that take the load's timestamp (an ORM's
	 * created_at), sent after the others. */
	const char *audit[4];
	bool audit_tz[4];
	int naudit;
	int64_t audit_wall, audit_utc; /* the load's timestamp, usec since 2000,
	                                  read once when the plan is built */
	bool binary;                   /* COPY in binary format */
	enum bin_type bin[TABLE_MAXCOLS];
	char types[TABLE_MAXCOLS][64]; /* each column's SQL type */
	struct buf copy_sql;           /* COPY … FROM STDIN */
	struct buf insert_sql;         /* staged kinds: INSERT … ON CONFLICT … */
	bool staged;
	char stage[64];
	struct buf stage_sql;  /* creates the staging table in a transaction */
	char update_cols[512]; /* update: the columns it sets, "a,b" */

	/* Ids: when the table's primary key is one integer column filled by a
	 * sequence, each batch reserves its ids from the sequence and every row
	 * carries one, so that the load can record them and be undone. */
	bool id_ok;
	bool id_int8;
	char id_col[140];
	char id_seq[160]; /* the sequence, as a regclass literal */
	int64_t id_max;   /* the sequence's last value */
	bool citus;       /* the table is a Citus table (distributed or reference) */

	/* The names the statements use, each quoted once while the plan is
	 * built (sink_quote() only looks them up). */
	struct {
		const char *name;
		char *quoted; /* PQescapeIdentifier's */
	} idents[24];
	int nidents;
};

/* The options of copy_opts the sink reads for its whole life (copy.c sets
 * them in copy_open()). */
struct sink_opts {
	const char *name; /* the file, for messages */
	copy_begin_fn begun;
	void *begun_arg;
	long lock_timeout_ms; /* the load's lock_timeout */
	bool single_txn;
	bool hold_rows; /* the batch's rows go out at copy_end() (--jobs) */
};

/* The fast path (copy_fast.c writes it): one COPY, nothing kept, rebuild
 * at the end; or through a shadow table. */
struct sink_fast {
	bool on; /* the one COPY runs: the rows go to it */
	int jobs;
	int64_t rows;
	/* The fast path numbers the rows itself, from the id column's sequence
	 * (a nextval per row costs more than the COPY of the row). */
	bool own_ids;
	bool id_overflow; /* the sequence ran out: leave it to the batches */
	int64_t id_next, id_first;
	char why[400];        /* why the fast path gave way */
	char passed_why[240]; /* why copy_fast_begin() took a slower way */
	bool passed_loud;     /* and a big file says it without --verbose */
	char leftover[300];   /* a shadow an ended load left, to drop, or "" */
	char **rebuild;       /* statements that recreate what was dropped */
	int nrebuild;

	/* The fast path through a shadow table (copy_shadow.c). */
	const char *settings; /* the run's SET LOCAL settings */
	PGconn *(*connect)(void *arg, struct etl_error *err);
	void *connect_arg;
	struct sink_shadow shadow;
};

/* A password kept until it is hashed into its placeholder. */
struct sink_pw_kept {
	size_t at;   /* its placeholder in the batch's data */
	int row;     /* its row in the batch (-1 on the fast path) */
	size_t text; /* its password in text */
	size_t n;
	bool done; /* hashed */
};

/* Plaintext passwords (copy_pw.c writes it): each row's hash goes out as
 * the placeholder hold until it is hashed into its place. */
struct sink_pw {
	int col;          /* the sent column of the hash, or -1 */
	bool after_stage; /* skip/error: hashed once the staging table has
	                     said which keys are new */
	size_t len;       /* of a hash */
	char hold[PWHASH_LEN];
	struct sink_pw_kept *kept;
	size_t nkept, capkept;
	struct buf text;
	struct buf check_sql; /* the staged rows to hash */
	struct buf set_sql;   /* their hashes into the staging table */
	int64_t hashed;
};

/* The batch's refused rows (copy_isolate.c writes it). */
struct sink_refused {
	struct copy_reject *rejects;
	int n, cap;
	bool oom; /* a reject could not be recorded */
};

/* The sink: its connections and its parts, each written by one file. */
struct copy_sink {
	struct sink_conn db;          /* the load's connection: every statement */
	struct sink_conn *copy_conn;  /* where the COPY runs: &db, or the shadow's */
	const struct sink_plan *plan; /* copy_sql.c's, built in copy_open() */
	struct sink_opts opts;
	struct sink_batch batch;
	struct sink_ids ids;
	struct sink_fast fast;       /* copy_fast.c's */
	struct sink_pw pw;           /* copy_pw.c's */
	struct sink_refused refused; /* copy_isolate.c's */
	bool in_batch;               /* a transaction copy_abort() rolls back */
};

/* ---- copy_sql.c: the plan --------------------------------------------- */

/* The first part of the plan: the columns sent, the load's timestamp, the
 * column types (binary COPY when every column sent has a binary form that
 * fits its values), the id column, Citus, the staging table's statement
 * and every name the statements quote.  Returns ETL_OK (*out, freed with
 * sink_plan_free()), ETL_EDB or an out-of-memory error. */
enum etl_code sink_plan_open(struct sink_plan **out, PGconn *pg, const struct copy_opts *o,
                             struct etl_error *err);

/* The rest: the INSERT … ON CONFLICT of the staged kinds and the COPY.
 * pw_col >= 0: the INSERT leaves out the rows whose column pw_col still
 * holds pw_hold (copy_pw.c hashes them once the staging table has said
 * which keys are new).  Returns ETL_OK or an out-of-memory error. */
enum etl_code sink_plan_statements(struct sink_plan *p, const struct copy_opts *o, int pw_col,
                                   const char *pw_hold, struct etl_error *err);

void sink_plan_free(const struct sink_plan *p);

/* "prefix id, " when the rows carry their ids. */
void sink_id_first(const struct sink_plan *p, struct buf *b, const char *prefix);

/* Appends the sent columns as "a, b, c", each prefixed with prefix. */
void sink_col_list(const struct sink_plan *p, struct buf *b, const char *prefix, bool skip_key);

/* A row's leading fields in the COPY stream: the binary tuple header, the
 * staging order (ord >= 0) and the id (id != NULL), binary or text.  Both
 * paths start their rows here. */
void sink_row_start(const struct sink_plan *p, struct buf *b, int ord, const int64_t *id);

/* Whether the sent columns include any besides the key. */
bool sink_has_non_key(const struct sink_plan *p);

/* name as a quoted identifier, for the statements: one the plan quoted
 * while it was built. */
const char *sink_quote(const struct sink_plan *p, const char *name);

/* ---- copy_isolate.c: the refused rows ------------------------------------ */

/* Reads what the ON CONFLICT statement returned for nrows staged rows. */
void sink_read_outcome(struct copy_sink *s, PGresult *r, int nrows, struct copy_outcome *out);

/* Settles rows [0, n) in savepoints: a refused range is split (at the row
 * the server named, or in halves) until every refused row stands alone. */
enum etl_code sink_isolate(struct copy_sink *s, struct copy_outcome *out, struct etl_error *err);

/* No refused row (a new batch); sink_refused_free(): at the end. */
void sink_refused_reset(struct sink_refused *r);
void sink_refused_free(struct sink_refused *r);

/* ---- copy_pw.c: the passwords -------------------------------------------- */

/* sink_pw_setup(): once the plan's columns and staging table are known
 * (false: out of memory); sink_pw_hold(): a row's placeholder into b, its
 * password kept; sink_pw_staged(): the staged rows with new keys hashed,
 * into the batch and the staging table (NULL when done, else the server's
 * failed result; *failed: a failure here, in err). */
bool sink_pw_setup(struct copy_sink *s);
enum etl_code sink_pw_hold(struct copy_sink *s, struct buf *b, const char *pw, size_t n, int row,
                           struct etl_error *err);
/* The hook copy.c calls before the batch's bytes go out: every kept
 * password hashed into its placeholder there, unless the staging table
 * decides (then sink_pw_staged() does, after the COPY). */
enum etl_code sink_pw_before_send(struct copy_sink *s, struct etl_error *err);
PGresult *sink_pw_staged(struct copy_sink *s, bool *failed, struct etl_error *err);
void sink_pw_reset(struct sink_pw *pw);
void sink_pw_free(struct sink_pw *pw);

/* ---- copy_fast.c: the empty-table path ----------------------------------- */

/* What copy_open() gives the fast path: the shadow's settings and how to
 * open a second connection. */
void sink_fast_open(struct sink_fast *f, const struct copy_opts *o);

/* Before the fast path's transaction: nothing passed by yet. */
void sink_fast_init(struct copy_sink *s, int jobs);

/* In the fast path's transaction (copy.c began it): whether the table is
 * this path's (*go), and if so the table readied and the one COPY started
 * on *to (as the caller gave it, the load's connection, or set to the
 * shadow's).  On failure or !*go the
 * caller rolls the transaction back, then calls sink_fast_rollback(). */
enum etl_code sink_fast_begin(struct copy_sink *s, bool big, bool *go, struct sink_conn **to,
                              struct etl_error *err);

/* The table is not for this path: a leftover shadow goes in a transaction
 * of its own. */
void sink_fast_passed_by(struct copy_sink *s);

/* A row of the fast path: its id into *id; false when the sequence ran
 * out, the row left out (copy_fast_end() gives way then). */
bool sink_fast_row(struct copy_sink *s, int64_t *id);

/* The rows sent: the COPY ended, the shadow swapped in or what was dropped
 * rebuilt, out->loaded set (and out->xmins when the path numbered its own
 * ids and loaded a row).  On failure or *refused the
 * caller rolls the transaction back, then calls sink_fast_rollback(). */
enum etl_code sink_fast_end(struct copy_sink *s, struct copy_outcome *out, bool *refused,
                            struct etl_error *err);

/* After the load's transaction rolled back: the shadow abandoned, nothing
 * to rebuild, the fast path off. */
void sink_fast_rollback(struct copy_sink *s);

/* The fast path is off (the load aborted). */
void sink_fast_off(struct sink_fast *f);
void sink_fast_free(struct sink_fast *f);

#endif
