/*
 * copy_impl.h — the inside of a copy sink, shared by copy.c (batches),
 * copy_sql.c (statements), copy_pw.c (passwords), copy_isolate.c (refused
 * rows) and copy_fast.c (the empty-table path).  Nothing outside those
 * files includes it.  The sink is made of the layers below it, each with
 * its own header: the connection (copy_conn.h), the batch (copy_batch.h),
 * the id reservations (copy_ids.h) and the shadow table (copy_shadow.h).
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

struct copy_sink {
	struct sink_conn db;  /* the load's connection: every statement */
	struct sink_conn *to; /* where the COPY runs: &db, or the shadow's */
	const struct table_def *t;
	enum on_conflict mode;
	const char *labels[TABLE_MAXLABELS];
	bool single_txn;

	int ncols;
	int col[TABLE_MAXCOLS]; /* table columns sent, in order */
	/* A column the file lacks but the table needs (NOT NULL without a
	 * default there): its default value goes in. */
	bool use_dflt[TABLE_MAXCOLS];
	struct value dflt[TABLE_MAXCOLS];
	/* Columns no file fills that take the load's timestamp (an ORM's
	 * created_at), sent after the others. */
	const char *audit[4];
	bool audit_tz[4];
	int naudit;
	int64_t audit_wall, audit_utc; /* the load's timestamp, usec since 2000 */
	int alt[TABLE_MAXCOLS];        /* a second source of the column (password for
	                                   password_hash), used when the first is empty */
	bool binary;                   /* COPY in binary format */
	enum bin_type bin[TABLE_MAXCOLS];
	char types[TABLE_MAXCOLS][64]; /* each column's SQL type */
	struct buf copy_sql;           /* COPY … FROM STDIN */
	struct buf insert_sql;         /* staged kinds: INSERT … ON CONFLICT … */
	bool staged;
	char stage[64];
	struct buf stage_sql; /* creates the staging table in a transaction */
	const char *name;     /* the file, for messages */
	copy_begin_fn begun;
	long lock_timeout_ms; /* the load's lock_timeout */
	void *begun_arg;
	int64_t load_id;
	bool identical_skips;
	char update_cols[512]; /* update: the columns it sets, "a,b" */

	/* Ids: when the table's primary key is one integer column filled by a
	 * sequence, each batch reserves its ids from the sequence and every row
	 * carries one, so that the load can record them and be undone. */
	bool id_ok;
	struct sink_ids ids;

	struct sink_batch batch;
	bool in_batch;
	bool hold_rows; /* the batch's rows go out at copy_end() (--jobs) */

	/* The fast path: one COPY, nothing kept, rebuild at the end. */
	bool fast;
	bool citus; /* the fast path's table is a Citus table: nothing rebuilt */
	int jobs;
	int64_t fast_rows;
	/* The fast path numbers the rows itself, from the id column's sequence
	 * (a nextval per row costs more than the COPY of the row). */
	bool own_ids;
	bool id_int8;
	bool id_overflow; /* the sequence ran out: leave it to the batches */
	char id_col[140];
	char id_seq[160];     /* the sequence, as a regclass literal */
	char fast_why[400];   /* why the fast path gave way */
	char passed_why[240]; /* why copy_fast_begin() took a slower way */
	char leftover[300];   /* a shadow an ended load left, to drop, or "" */
	bool passed_loud;     /* and a big file says it without --verbose */
	int64_t id_next, id_max, id_first;
	char **rebuild; /* statements that recreate what was dropped */
	int nrebuild;

	/* The fast path through a shadow table (copy_shadow.c). */
	const char *settings; /* the run's SET LOCAL settings */
	PGconn *(*connect)(void *arg, struct etl_error *err);
	void *connect_arg;
	struct sink_shadow sh;

	/* Plaintext passwords (copy_pw.c): each row's hash goes out as the
	 * placeholder pw_hold until it is hashed into its place. */
	int pw_col;          /* the sent column of the hash, or -1 */
	bool pw_after_stage; /* skip/error: hashed once the staging table has
	                        said which keys are new */
	size_t pw_len;       /* of a hash */
	char pw_hold[PWHASH_LEN];
	struct sink_pw {
		size_t at;   /* its placeholder in data */
		int row;     /* its row in the batch (-1 on the fast path) */
		size_t text; /* its password in pwtext */
		size_t n;
		bool done; /* hashed */
	} * pw;
	size_t npw, cappw;
	struct buf pwtext;
	struct buf pw_check_sql; /* the staged rows to hash */
	struct buf pw_set_sql;   /* their hashes into the staging table */
	int64_t pw_hashed;

	struct copy_reject *rejects;
	int nrej, rejcap;
	bool oom; /* a reject could not be recorded */
	struct {
		const char *name;
		char *quoted; /* PQescapeIdentifier's */
	} idents[24];         /* the names the statements use, quoted once */
	int nidents;
};

/* Reads the target's column types: the staging table copies them, and
 * binary COPY is used when every column sent has a binary form here that
 * fits its values (else text, which the server converts itself). */
enum etl_code sink_column_types(struct copy_sink *s, bool utc, bool text_only,
                                struct etl_error *err);

/* Whether the rows can carry ids from the table's sequence: its primary
 * key is the kind's id column, one integer column the file does not give,
 * filled by a sequence that counts by one (not GENERATED ALWAYS). */
enum etl_code sink_id_column(struct copy_sink *s, struct etl_error *err);

/* The statement that creates the staging table, with the target's own
 * column types, inside a transaction that drops it at its end: nothing of
 * it outlives the transaction, whichever server connection a pooler gives.
 * In one transaction for the whole file it is made once, then emptied. */
void sink_stage_sql(struct copy_sink *s, int stage_id);

/* The ON CONFLICT statement.  With error/skip it returns the batch rows
 * whose key existed; with update, every row with i(nserted), u(pdated) or
 * s (unchanged). */
void sink_build_insert(struct copy_sink *s);

/* "prefix id, " when the rows carry their ids. */
void sink_id_first(const struct copy_sink *s, struct buf *b, const char *prefix);

/* Appends the sent columns as "a, b, c", each prefixed with prefix. */
void sink_col_list(struct copy_sink *s, struct buf *b, const char *prefix, bool skip_key);

/* A row's leading fields in the COPY stream: the binary tuple header, the
 * staging order (ord >= 0) and the id (id != NULL), binary or text.  Both
 * paths start their rows here. */
void sink_row_start(struct copy_sink *s, struct buf *b, int ord, const int64_t *id);

/* Reads what the ON CONFLICT statement returned for nrows staged rows. */
void sink_read_outcome(struct copy_sink *s, PGresult *r, int nrows, struct copy_outcome *out);

/* Settles rows [0, n) in savepoints: a refused range is split (at the row
 * the server named, or in halves) until every refused row stands alone. */
enum etl_code sink_isolate(struct copy_sink *s, struct copy_outcome *out, struct etl_error *err);

/* The passwords (copy_pw.c).  sink_pw_setup(): after the columns and the
 * staging table are known; sink_pw_hold(): a row's placeholder into b, its
 * password kept; sink_pw_staged(): the staged rows with new keys hashed,
 * into the batch and the staging table (NULL when done, else the server's
 * failed result; *failed: a failure here, in err). */
void sink_pw_setup(struct copy_sink *s);
enum etl_code sink_pw_hold(struct copy_sink *s, struct buf *b, const char *pw, size_t n, int row,
                           struct etl_error *err);
/* Every kept password hashed into its place (unless the staging table
 * decides), then the batch's rows up to byte upto streamed to the COPY's
 * connection: every row goes out through here. */
enum etl_code sink_pw_send(struct copy_sink *s, size_t upto, struct etl_error *err);
PGresult *sink_pw_staged(struct copy_sink *s, bool *failed, struct etl_error *err);
void sink_pw_reset(struct copy_sink *s);
void sink_pw_free(struct copy_sink *s);

/* Whether the table is one of Citus's (distributed or reference): *yes. */
enum etl_code sink_citus_table(struct copy_sink *s, bool *yes, struct etl_error *err);

/* Whether the sent columns include any besides the key. */
bool sink_has_non_key(const struct copy_sink *s);

/* name as a quoted identifier, for the statements (quoted once per sink;
 * "" and s->oom when out of memory). */
const char *sink_q(struct copy_sink *s, const char *name);

#endif
