/*
 * ledger.h — the load history (etl_loads): which file was loaded, how far,
 * with what outcome.
 *
 * A file is known by the SHA-256 of its bytes and its kind.  A session-level
 * advisory lock on that pair makes a second loader of the same file wait for
 * the first.  Each batch's checkpoint is written in the batch's own
 * transaction, so the history and the table never disagree.
 */
#ifndef SIPREMS_LEDGER_H
#define SIPREMS_LEDGER_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct ledger {
	int64_t load_id; /* 0: no row yet */
	char fingerprint[65];
	char kind[16];
	char status[16];      /* running, loaded, partial, stopped, failed */
	int64_t records_done; /* data records whose outcome is committed */
	int64_t rows_read, rows_loaded, rows_updated, rows_skipped, rows_rejected;
	int64_t reject_bytes; /* length of the reject file at the checkpoint */
	char reject_file[1024];
	int attempts;
};

/*
 * Takes the advisory lock of (fingerprint, kind), waiting while another
 * loader holds it (*waited tells whether it had to).  Returns ETL_OK or
 * ETL_EDB.
 */
enum etl_code ledger_lock(PGconn *conn, const char *fingerprint, const char *kind, bool *waited,
                          struct etl_error *err);
void ledger_unlock(PGconn *conn, const char *fingerprint, const char *kind);

/*
 * Reads the latest load of (fingerprint, kind) into e; *found is false when
 * there is none.  Returns ETL_OK or ETL_EDB.
 */
enum etl_code ledger_latest(PGconn *conn, const char *fingerprint, const char *kind,
                            struct ledger *e, bool *found, struct etl_error *err);

/* True when e's load completed (loaded or partial). */
bool ledger_completed(const struct ledger *e);

/*
 * Records a new load (status running, committed at once) and sets
 * e->load_id.  Returns ETL_OK or ETL_EDB.
 */
enum etl_code ledger_start(PGconn *conn, struct ledger *e, const char *file_name,
                           int64_t file_bytes, const char *on_conflict, struct etl_error *err);

/* Marks an interrupted load running again (one more attempt). */
enum etl_code ledger_resume(PGconn *conn, struct ledger *e, struct etl_error *err);

/* Writes e's counts and position; call inside the batch's transaction. */
enum etl_code ledger_checkpoint(PGconn *conn, const struct ledger *e, struct etl_error *err);

/* Records the end of a load (status, message) in its own, synchronously
 * committed transaction, which also makes every earlier batch durable. */
enum etl_code ledger_finish(PGconn *conn, const struct ledger *e, const char *status,
                            const char *message, struct etl_error *err);

/* One past load, for `history`. */
struct ledger_row {
	int64_t load_id;
	char file[256], kind[16], status[16], fingerprint[65];
	int64_t rows_read, rows_loaded, rows_updated, rows_skipped, rows_rejected;
	char started_at[40], finished_at[40]; /* ISO 8601 with offset; "" when not finished */
	double seconds;                       /* to the end, or to the last checkpoint */
	int attempts;
	char message[512];
	char reject_file[256];
};

/*
 * Reads the newest limit loads, newest first, into *rows (the caller frees
 * it).  A database without etl_loads has no loads.  Returns ETL_OK, ETL_EDB
 * or ETL_ESYSTEM.
 */
enum etl_code ledger_list(PGconn *conn, int limit, struct ledger_row **rows, int *n,
                          struct etl_error *err);

#endif
