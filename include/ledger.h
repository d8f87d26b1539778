/*
 * ledger.h — the load history (etl_loads): which file was loaded, how far,
 * with what outcome, and what each load did, so that it can be undone.
 *
 * A file is known by its kind and the fingerprint of its decoded records
 * (a gzip, CRLF or re-quoted copy is the same file); a file with the same
 * bytes is the same file too, whatever the options it was read with.
 *
 * Nothing here keeps state in the database session: every decision is one
 * transaction under transaction-scoped advisory locks, and a running load
 * is known to be alive by its row lock (held in every transaction of the
 * load), by its process (same host) or by its lease.  So it works the same
 * through PgBouncer in transaction pooling as on a direct connection.
 */
#ifndef SIPREMS_LEDGER_H
#define SIPREMS_LEDGER_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "table.h"

struct ledger {
	int64_t load_id;      /* 0: no row yet */
	char fingerprint[65]; /* of the decoded records (or, before 0.2, the bytes) */
	char sha256[65];      /* of the bytes; "" in rows written before 0.2 */
	char kind[16];
	char status[16];      /* running, loaded, partial, stopped, failed, interrupted, undone */
	int64_t records_done; /* data records whose outcome is committed */
	int64_t rows_read, rows_loaded, rows_updated, rows_skipped, rows_rejected;
	int64_t reject_bytes; /* length of the reject file at the checkpoint */
	char reject_file[1024];
	int attempts;
	char options[2048]; /* the options that decide rows' outcomes */
	int64_t retry_of;
	bool undoable;   /* the ids of its inserted rows were recorded */
	char prefix[65]; /* content fingerprint of the first records_done records, or "" */
	int64_t rejects_loaded_by; /* the load of its corrected reject file, or 0 */
};

/* A range of ids a load reserved from the table's sequence. */
struct ledger_ids {
	int64_t first, last;
};

/* How the rows in a batch's id ranges were written, so that undo can tell a
 * row the app changed since (a new row version has another xmin). */
struct ledger_xmins {
	enum {
		XMINS_UNKNOWN,  /* not recorded */
		XMINS_THIS_TXN, /* by the transaction of the checkpoint, no savepoint */
		XMINS_SCAN,     /* in savepoints: read from the rows themselves */
		XMINS_GIVEN,    /* by transaction xid (the shadow table's connection) */
		XMINS_SHARDS    /* a Citus table: read from the rows, with their shards */
	} how;
	int64_t xid;
	const char *table, *id_column; /* XMINS_SCAN, _SHARDS: where the rows are */
};

/* A row version of table t as the history records it: its xmin, with its
 * shard on Citus ("shard:xmin"; the xids are the workers'). */
#define LEDGER_ROW_VERSION "(t.tableoid::regclass::text || ':' || t.xmin::text)"

/* SQL: whether row t is still the version the load wrote, by range i's
 * xmins ("{…}" of xids, or of LEDGER_ROW_VERSIONs on Citus; neither form
 * can match the other's, and Citus allows no CASE here). */
#define LEDGER_AS_WRITTEN                                                                          \
	"(t.xmin::text = ANY (i.xmins::text[]) OR " LEDGER_ROW_VERSION " = ANY (i.xmins::text[]))"

/* The key of a before-image (etl_load_before.data) that holds the xmin the
 * row had when the load updated it: not a column of any table. */
#define LEDGER_BEFORE_XMIN "siprems_etl_xmin"

/* What to do with a file, given its history. */
enum ledger_action {
	LEDGER_NEW,     /* no load of it yet (or --force undid them): load it */
	LEDGER_RESUME,  /* an unfinished load: go on after its committed records */
	LEDGER_RETRY,   /* options changed: take its rejected rows again */
	LEDGER_SKIP,    /* loaded before, nothing of it is out */
	LEDGER_REJECTS, /* loaded before with the same options; rows were rejected */
};

/*
 * The content fingerprint and record count of a file whose bytes (sha256)
 * were loaded before as kind with the same options; *found false when none.
 * Returns ETL_OK or ETL_EDB.
 */
enum etl_code ledger_known_content(PGconn *conn, const char *kind, const char *sha256,
                                   const char *options, char content[65], int64_t *records,
                                   bool *found, struct etl_error *err);

struct ledger_claim_opts {
	const char *file_name;
	const char *content; /* intake_print.content */
	const char *sha256;  /* intake_print.bytes */
	int64_t file_bytes;
	int64_t file_records;
	const struct table_def *t;
	const char *on_conflict;
	const char *options; /* canonical outcome options */
	bool force;          /* undo every load of the file, then load it anew */
	/* The content fingerprint of the file's first prefix_at records alone
	 * (ledger_name_extent()), or "": whether it extends the newest load of
	 * the same name whose content differs. */
	const char *prefix;
	int64_t prefix_at;
	const char *less; /* the same of its first prefix_at - 1 records, or "" */
	const char *head; /* intake_print.head: its last record has no line end */
};

struct ledger_claim {
	enum ledger_action action;
	struct ledger led;     /* NEW/RESUME/RETRY: the load to run; else the earlier one */
	struct ledger earlier; /* RETRY: the load whose outcome is taken again */
	int64_t *records;      /* RETRY of sales: the records to take again (caller frees) */
	size_t nrecords;
	bool waited;           /* another loader of the file ran; it was waited for */
	int undone;            /* loads --force undid */
	int64_t undone_rows;   /* rows they had inserted, now deleted */
	char interrupted[600]; /* a load found dead and marked interrupted, or "" */
	/* The newest load of the same name had other content that this file
	 * extends record for record: RESUME goes on with that load (now of
	 * this content); NEW starts after its records (extends is its id). */
	bool extended;
	int64_t extends;
	int64_t superseded; /* an unfinished load of the name that committed nothing, set aside */
};

/*
 * How many records of a file named name (of kind) the newest load of that
 * name holds: its committed position while unfinished, the file's records
 * when done; -1 when there is none (or name is "stdin").  The file's
 * fingerprint of that many records then tells whether it extends them.
 * Returns ETL_OK or ETL_EDB.
 */
enum etl_code ledger_name_extent(PGconn *conn, const char *kind, const char *name, int64_t *at,
                                 struct etl_error *err);

/*
 * Decides what to do with a file and, for NEW, RESUME and RETRY, records it
 * as running under this process (a new row, or one more attempt); waits
 * while another live loader runs the same file.  With force, every earlier
 * load of the file is undone first, in the same transaction (refused, with
 * the reason, when one cannot be undone).  Returns ETL_OK, ETL_EDB or
 * ETL_ESTOPPED (a signal while waiting).
 */
enum etl_code ledger_claim(PGconn *conn, const struct ledger_claim_opts *o, struct ledger_claim *c,
                           struct etl_error *err);

/*
 * In a load's transaction (call right after BEGIN): locks the load's row
 * (FOR KEY SHARE: the transactions of one load on several connections hold
 * it together, and a checkpoint's UPDATE does not wait for them), which
 * tells others the load is alive, and checks that the load still runs and
 * its committed position is not past expected_done (else another loader
 * took it over: ETL_EDB).
 */
enum etl_code ledger_hold(PGconn *conn, const struct ledger *e, int64_t expected_done,
                          struct etl_error *err);

/*
 * Writes e's counts and position, the records rejected and the ids reserved
 * since the last checkpoint, and renews the lease; call inside the batch's
 * transaction.  expected_done is the position before this batch.  Returns
 * ETL_OK or ETL_EDB.
 */
enum etl_code ledger_checkpoint(PGconn *conn, const struct ledger *e, int64_t expected_done,
                                const struct ledger_xmins *xmins, const int64_t *rejected,
                                size_t nrejected, const struct ledger_ids *ids, int nids,
                                const char *update_columns, struct etl_error *err);

/*
 * Load e, just finished with nothing rejected, read the reject file of
 * earlier loads of its kind (name is its path as given): those loads are
 * complete now (status loaded, rejects_loaded_by e).  Their ids go into
 * ids (at most max); returns how many, or -1 (err set).
 */
int ledger_rejects_loaded(PGconn *conn, const struct ledger *e, const char *name, int64_t *ids,
                          int max, struct etl_error *err);

/* Records the end of a load (status, message) in its own transaction. */
enum etl_code ledger_finish(PGconn *conn, const struct ledger *e, const char *status,
                            const char *message, struct etl_error *err);

/* What undo does with a row the load updated that changed since (the app
 * sold stock, set a new price). */
enum undo_changed {
	UNDO_REFUSE,       /* refuse, naming them (the default) */
	UNDO_KEEP_CHANGED, /* leave them as they are now, undo the rest */
	UNDO_OVERWRITE,    /* give them their earlier values all the same */
};

/* What undoing a load did. */
struct ledger_undo {
	int64_t deleted;       /* rows it had inserted */
	int64_t restored;      /* rows it had updated, given their earlier values back */
	int64_t kept;          /* rows it had updated that changed since, left as they are */
	int64_t kept_inserted; /* rows it had inserted that changed since, left in the table */
};

/* One past load, for `history` and `undo`. */
struct ledger_row {
	int64_t load_id;
	char file[256], kind[16], status[16], fingerprint[65], sha256[65];
	int64_t rows_read, rows_loaded, rows_updated, rows_skipped, rows_rejected;
	char started_at[40], finished_at[40]; /* ISO 8601 with offset; "" when not finished */
	double seconds;                       /* to the end, or to the last checkpoint */
	int attempts;
	char message[512];
	char reject_file[256];
	int64_t retry_of;
	bool undoable;
};

/*
 * Reads load load_id into *row; *found is false when there is none.
 * Returns ETL_OK or ETL_EDB.
 */
enum etl_code ledger_get(PGconn *conn, int64_t load_id, struct ledger_row *row, bool *found,
                         struct etl_error *err);

/*
 * Undoes load load_id in one transaction: deletes the rows it inserted (by
 * the id ranges it recorded), gives the rows it updated their earlier
 * values back, forgets its rejects and marks it undone.  Refused (ETL_EDB,
 * nothing changed) while the load runs, when other rows reference rows it
 * inserted, when a later load changed its rows, or when its ids were not
 * recorded; rows it updated that changed since (compared with the values it
 * gave them) are as changed says.  Returns ETL_OK, ETL_EDB or ETL_EUSAGE (no
 * such load, or undone already).
 */
enum etl_code ledger_undo(PGconn *conn, int64_t load_id, enum undo_changed changed,
                          struct ledger_undo *u, struct etl_error *err);

/*
 * Empties the four tables (ids restart) and forgets their loads, in one
 * transaction, recording the reset itself in etl_loads.  *forgotten is the
 * number of loads removed from the history.  Returns ETL_OK or ETL_EDB.
 */
enum etl_code ledger_reset(PGconn *conn, int64_t *forgotten, struct etl_error *err);

/*
 * Marks the running loads whose loader is gone as interrupted (best effort:
 * a role that may not write leaves them as they are).  Returns how many.
 */
int ledger_reap(PGconn *conn);

/*
 * Reads the newest limit loads, newest first, into *rows (the caller frees
 * it).  A database without etl_loads has no loads.  Returns ETL_OK, ETL_EDB
 * or ETL_ESYSTEM.
 */
enum etl_code ledger_list(PGconn *conn, int limit, struct ledger_row **rows, int *n,
                          struct etl_error *err);

#endif
