/*
 * copy.h — the database stage: validated rows into a table with COPY, one
 * transaction per batch.
 *
 * Sales rows go straight into transactions.  Rows of the kinds with a
 * unique key go into a temporary staging table, then one INSERT … ON
 * CONFLICT per batch says which keys already existed (rejected or skipped)
 * or, with --on-conflict update, which rows were inserted, changed or found
 * unchanged.  A batch the server refuses (a constraint or trigger the
 * validator does not know) is rolled back and retried in savepoints until
 * every good row is in and every bad one is named with the server's reason.
 * Errors that are not about a row (permissions, a lost connection, a
 * timeout) end the batch and are returned.
 *
 * The sink only reports outcomes; the caller writes rejects and the load
 * history in the batch's transaction before copy_commit().
 */
#ifndef SIPREMS_COPY_H
#define SIPREMS_COPY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "colmap.h"
#include "error.h"
#include "ledger.h"
#include "schema.h"
#include "valid.h"

/* What a row whose key exists already becomes (--on-conflict). */
enum on_conflict { CONFLICT_ERROR, CONFLICT_SKIP, CONFLICT_UPDATE };

struct copy_sink;

struct copy_reject {
	int row;      /* index in the batch */
	char *reason; /* owned by the sink, valid until the next batch */
};

/* What one batch came to. */
struct copy_outcome {
	int64_t loaded, updated, skipped;
	struct copy_reject *rejects;
	int nrejects;
	const struct ledger_ids *ids; /* the id ranges reserved for it (owned by the sink) */
	int nids;
	struct ledger_xmins xmins; /* how its rows were written */
};

/* Called right after each transaction the sink begins (BEGIN), before
 * anything else runs in it: the caller's settings and its hold on the load
 * history.  Returns ETL_OK or an error that ends the batch. */
typedef enum etl_code (*copy_begin_fn)(void *arg, struct etl_error *err);

struct copy_opts {
	PGconn *conn;
	const struct colmap *map; /* which columns the file has */
	enum on_conflict on_conflict;
	const struct schema_facts *facts;
	bool single_transaction; /* batches are savepoints of one transaction */
	int stage_id;            /* makes the staging table's name unique */
	bool utc;                /* the session's time zone is UTC */
	const char *timezone;    /* the load's (SET LOCAL TimeZone) */
	bool text_only;          /* never use binary COPY */
	int64_t load_id;         /* update: whose before-images (etl_load_before) */
	bool identical_skips;    /* error/skip: a key whose row already holds the
	                            file's values counts as skipped */
	copy_begin_fn begun;     /* may be NULL */
	void *begun_arg;
	bool hold_rows; /* keep a batch's rows until copy_end() sends them: the
	                   reader hands the batch over and reads the next one */
	/* The empty-table path's shadow table (copy_fast_begin()): the run's
	 * SET LOCAL settings, and how to open a second connection. */
	const char *settings;
	PGconn *(*connect)(void *arg, struct etl_error *err);
	void *connect_arg;
	long lock_timeout_ms; /* the load's lock_timeout, put back after a shorter one */
	const char *name;     /* the file, for messages (may be NULL) */
};

/*
 * Prepares loading a file of map's kind: the column list, the statements,
 * and whether the rows' ids can be reserved from the table's sequence (then
 * every row carries an id the load recorded, and the load can be undone).
 * The staging table of the kinds with a unique key lives in each batch's
 * transaction (ON COMMIT DROP): no state outlives a transaction.  Returns
 * ETL_OK or ETL_EDB.  Free with copy_close().
 */
enum etl_code copy_open(struct copy_sink **out, const struct copy_opts *o, struct etl_error *err);

/*
 * Starts a batch of at most rows rows: a transaction (or savepoint), the
 * begun hook, the staging table, the ids reserved for the rows, and a COPY.
 */
enum etl_code copy_begin(struct copy_sink *s, int64_t rows, struct etl_error *err);

/* copy_begin() in two steps: the transaction (BEGIN, the begun hook, the
 * staging table), then the ids and the COPY.  Between them nothing waits
 * for the rows: --jobs begins a connection's transaction (which a pooler
 * may make wait for a server connection) before it takes its turn to read. */
enum etl_code copy_begin_txn(struct copy_sink *s, struct etl_error *err);
enum etl_code copy_begin_rows(struct copy_sink *s, int64_t rows, struct etl_error *err);

/* Whether the rows' ids are reserved and recorded (the load can be undone). */
bool copy_ids_recorded(const struct copy_sink *s);

/* With --on-conflict update: the columns an update sets ("a,b"), which the
 * before-images hold; else NULL. */
const char *copy_update_columns(const struct copy_sink *s);

/*
 * Adds a row: row are its values, rec its record as read and number its
 * ordinal in the file (kept for a reject file and the history).  A
 * plaintext password is hashed here.  Rows stream to the server while the
 * batch grows.  Returns ETL_OK, ETL_EDB, ETL_EINPUT (more rows than ids
 * reserved: the file changed) or ETL_ESYSTEM.
 */
enum etl_code copy_add(struct copy_sink *s, const struct valid_row *row,
                       const struct csvrow_record *rec, int64_t number, struct etl_error *err);

/* Rows in the current batch. */
int copy_rows(const struct copy_sink *s);

/* The bytes the batch holds (its rows encoded, as read, and their keys). */
size_t copy_batch_bytes(const struct copy_sink *s);

/* A batch ends before it holds more than this, whatever --batch-rows says:
 * memory is bounded by bytes, not by the rows' good manners. */
#define COPY_BATCH_MAX_BYTES (32u << 20)

/*
 * Ends the batch's COPY and settles every row (isolating refused ones).
 * The transaction stays open for the caller's bookkeeping.  Returns ETL_OK
 * with out filled, or ETL_EDB (the batch is rolled back).
 */
enum etl_code copy_end(struct copy_sink *s, struct copy_outcome *out, struct etl_error *err);

/* The record of batch row i as read, for its reject file line, and its
 * ordinal in the file. */
void copy_row_record(struct copy_sink *s, int i, struct csvrow_record *rec, int64_t *number);

/* Commits the batch (or releases its savepoint). */
enum etl_code copy_commit(struct copy_sink *s, struct etl_error *err);

/* Abandons the open batch: ends a running COPY with why, rolls back. */
void copy_abort(struct copy_sink *s, const char *why);

/* With single_transaction: commits the file's transaction (copy_finish) or
 * rolls all of it back (copy_abort_all). */
enum etl_code copy_finish(struct copy_sink *s, struct etl_error *err);
void copy_abort_all(struct copy_sink *s);

/*
 * The fast path for an empty table: in one transaction, lock the table,
 * make sure it is empty, drop its indexes (the primary key too, unless
 * another table's foreign key needs it) and foreign keys, take the ids from
 * the table's sequence in one step, truncate it (so that COPY may FREEZE
 * when nothing references it) and start a single COPY into it that keeps no
 * row in memory.  *taken is false (and nothing changed) when the table is
 * not empty, the role does not own it, or its lock is not granted within 5
 * seconds.  jobs sets the parallel workers of the index builds.
 *
 * With jobs > 1 and big (the file is worth a second connection), a table
 * the swap can carry over (copy_shadow.c) goes through a shadow table
 * instead: the load's transaction only blocks writes to the table, the rows
 * go into a new table on a second connection, the indexes are built there on
 * both connections at once, and the load's transaction swaps it in.  Returns
 * ETL_OK, ETL_EDB or ETL_ESYSTEM.
 */
enum etl_code copy_fast_begin(struct copy_sink *s, int jobs, bool big, bool *taken,
                              struct etl_error *err);

/*
 * Ends the fast path's COPY and rebuilds what was dropped; the transaction
 * stays open for the caller's bookkeeping (then copy_finish()).  *refused
 * is set, and everything rolled back, when the server refused a row or the
 * rebuilt foreign key: the file must then go through the batched path.
 */
enum etl_code copy_fast_end(struct copy_sink *s, struct copy_outcome *out, bool *refused,
                            struct etl_error *err);

/* How many indexes and foreign keys the fast path dropped and rebuilt; -1
 * on a Citus table, whose indexes it keeps. */
int copy_fast_rebuilt(const struct copy_sink *s);

/* Whether the fast path went through a shadow table (copy_fast_begin()). */
bool copy_fast_shadowed(const struct copy_sink *s);

/* Why copy_fast_end() set *refused: the server's message for a refused row
 * ("the database refused the row: …"), or that the sequence ran short. */
const char *copy_fast_refusal(const struct copy_sink *s);

/* Why copy_fast_begin() took a slower way than the fastest it has (the
 * table holds rows, another role owns it, its lock was not granted, not
 * through a shadow table and why), or NULL; *loud: worth a line without
 * --verbose (a reason the operator can change, not the table's rows or
 * --jobs 1). */
const char *copy_fast_passed(const struct copy_sink *s, bool *loud);

/* Drops the staging table and frees s; s may be NULL. */
void copy_close(struct copy_sink *s);

#endif
