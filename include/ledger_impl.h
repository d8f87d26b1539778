/*
 * ledger_impl.h — helpers shared by ledger.c (claims), ledger_holder.c
 * (who runs a load), ledger_write.c (holds, checkpoints, the end) and
 * ledger_undo.c (history, undo, reset).  Nothing else includes it.
 */
#ifndef SIPREMS_LEDGER_IMPL_H
#define SIPREMS_LEDGER_IMPL_H

#include "ledger.h"

/* What ledger_read_ledger() reads beside struct ledger. */
struct seen {
	char holder[160];
	bool lease_valid;
	char update_columns[512];
};

#define LEASE     "interval '2 minutes'" /* alive without a word from the loader */
#define WAIT_USEC 250000                 /* between looks at a running load */

/* The columns ledger_read_ledger() reads, in its order. */
#define LEDGER_COLS                                                                                \
	"load_id, status, records_done, rows_read, rows_loaded, rows_updated, rows_skipped, "      \
	"rows_rejected, reject_bytes, coalesce(reject_file, ''), attempts, fingerprint, "          \
	"coalesce(file_sha256, ''), coalesce(options, ''), coalesce(retry_of, 0), undoable, "      \
	"coalesce(holder, ''), coalesce(lease_until > now(), false), kind, "                       \
	"coalesce(update_columns, ''), coalesce(prefix_sha256, ''), "                              \
	"coalesce(rejects_loaded_by, 0)"

/* The rows a statement changed (its command tag). */
int64_t ledger_affected(PGresult *r);

/* Undoes load e inside the caller's transaction. */
enum etl_code ledger_undo_in_txn(PGconn *conn, const struct ledger *e, const struct seen *s,
                                 enum undo_changed changed, struct ledger_undo *u,
                                 struct etl_error *err);

/* A result field as a number (0 when NULL), and as text into dst. */
int64_t ledger_num(PGresult *r, int row, int col);
void ledger_str(char *dst, size_t size, PGresult *r, int row, int col);

/* What ledger_read_ledger() reads beyond struct ledger. */
void ledger_read_ledger(PGresult *r, int i, struct ledger *e, struct seen *s);

/* Rolls the open transaction back, whatever state it is in. */
void ledger_rollback(PGconn *conn);

/*
 * In a transaction: whether running load e is alive.  Its row is locked
 * while it is in a transaction; else its process tells (same host), else
 * its lease.  A dead one is marked interrupted (why says so).
 */
enum etl_code ledger_check_running(PGconn *conn, const struct ledger *e, const struct seen *s,
                                   bool *alive, char *why, size_t whysize, struct etl_error *err);

/* Whether etl_loads exists (a database siprems-etl never loaded has none). */
bool ledger_history_exists(PGconn *conn, struct etl_error *err, bool *exists);

/* Transaction-scoped locks on "fingerprint:kind" and "sha256:kind", in one
 * order, so that two loaders of one file decide one after the other. */
enum etl_code ledger_lock_file(PGconn *conn, const char *a, const char *b, const char *kind,
                               struct etl_error *err);

/* A load id as the text of a query parameter. */
void ledger_id_text(char *buf, size_t size, int64_t id);

/* Runs a query of the history: *r is NULL (ETL_OK) where there is none. */
enum etl_code ledger_history_query(PGconn *conn, const char *sql, int nparams,
                                   const char *const *params, PGresult **r, struct etl_error *err);

/* "pid 123 on host h" from a holder, for messages. */
void ledger_holder_name(const char *holder, char *buf, size_t size);

/* This process as a holder: "host pid start". */
void ledger_holder_self(char *buf, size_t size);

#endif
