/*
 * load_impl.h — what the files of the load layer share: load.c (the run),
 * load_file.c (one file), load_claim.c (its claim in the history),
 * load_path.c and load_jobs.c (the batch loops, on one connection or
 * several), and below them load_session.c (connections), load_keys.c (the
 * keys the database holds) and load_outcome.c (a file's outcome).
 */
#ifndef SIPREMS_LOAD_IMPL_H
#define SIPREMS_LOAD_IMPL_H

#include <libpq-fe.h>

#include "intake.h"
#include "keyset.h"
#include "load.h"
#include "copy.h"
#include "ledger.h"
#include "progress.h"
#include "schema.h"

/* What the files of a run share. */
struct run_shared {
	const struct load_opts *o;
	PGconn *conn;
	char *settings; /* SET LOCAL … run first in every transaction */
	char tz[128];   /* the load's time zone: --timezone, else the database's */
	bool tz_utc;    /* it is UTC (TIMESTAMPTZ can take the wall clock) */
	struct schema_facts facts;
	struct keyset *skus; /* sku -> product id, price */
	bool skus_stale;     /* products changed since the map was read */
	bool skus_read_on;   /* a dry run: a later file of the run reads skus */
	/* The keys the tables of the other keyed kinds hold (for the
	 * case-variant check; products use skus), and whether rows came since. */
	struct keyset *known[KIND_COUNT];
	bool known_stale[KIND_COUNT];
	int stage_id;
	char **rejects_used; /* the reject files of the run's files so far */
	int nrejects_used;
	/* Loads whose rejects this run loaded from their corrected reject files. */
#define RUN_RESOLVED 64
	int64_t resolved[RUN_RESOLVED];
	int nresolved;
};

/* Reads the keys t's table holds for the case-variant check, unless read
 * since its last rows came (nothing without a connection, or with
 * --case-variants allow).  ETL_OK, ETL_EDB or ETL_ESYSTEM. */
enum etl_code load_known_keys(struct run_shared *r, const struct table_def *t,
                              struct etl_error *err);

/* Those keys (intake_set_known()), or NULL. */
struct keyset *load_known(struct run_shared *r, const struct table_def *t);

/* Reads the SKU map of by's reference column into r->skus, unless it is
 * there and products did not change since. */
enum etl_code load_skus(struct run_shared *r, const struct table_def *by, struct etl_error *err);

/* Loads one file of the run into lf. */
void load_file(struct run_shared *r, struct intake *it, struct load_file *lf);

/* Validates one file of the run into lf, writing nothing but its rejects. */
void dry_run_file(struct run_shared *r, struct intake *it, struct load_file *lf);

/* Marks a file failed: nothing of it counts, its reject file goes. */
void load_fail_file(struct load_file *lf, struct intake *it, const struct etl_error *e);

/* Marks a file failed after its load committed what committed says (NULL:
 * nothing): those counts stand, and the reject file keeps their rejects. */
void load_fail_committed(struct load_file *lf, struct intake *it, const struct etl_error *e,
                         const struct ledger *committed);

/* Seconds on the monotonic clock. */
double load_now(void);

/* How the rows of a file ended: END_OK at the file's end (for a unit of
 * it: committed), else stopped by --max-rejects, a signal, an error. */
enum end { END_OK, END_MAX_REJECTS, END_SIGNAL, END_ERROR };

/* One file's load, as the transactions it begins see it. */
struct history_hold {
	struct run_shared *r;
	PGconn *conn; /* the connection the transactions run on */
	struct ledger *led;
	int64_t committed; /* records_done as committed before this transaction,
	                      or more (--jobs: at most that) */
	int64_t records;   /* data records in the file */
	int64_t bytes;     /* its size when it was fingerprinted (-1: not a file) */
};

/* Where a unit of the file starts: the intake's counts then. */
struct unit_start {
	uint64_t read, rejected, passed;
};

/* One pass over a file's rows along a path. */
struct rows_pass {
	struct run_shared *r;
	struct intake *it;
	struct copy_sink *sink;    /* NULL on a dry run */
	struct ledger *led;        /* the history row as committed (NULL: dry run) */
	const struct ledger *base; /* as it was when the file was claimed */
	struct history_hold *held;
	struct etl_error *err;
	int64_t unit_rows; /* rows per unit; 0: the whole file is one */
	/* The unit being read. */
	struct ledger committed; /* the history row it started from */
	struct unit_start start;
	struct reject_held kept;          /* batched: the unit's intake rejects, held back */
	bool refused;                     /* fast: the server refused a row; nothing was kept */
	uint64_t added;                   /* rows the path took */
	const struct table_def *referrer; /* dry: the kind that names this one's rows */
};

struct path_ops {
	enum etl_code (*begin)(struct rows_pass *p);
	enum etl_code (*add)(struct rows_pass *p);
	/* Ends a unit whose rows ended with why (END_OK, or END_MAX_REJECTS
	 * for good); END_OK when it is committed, else how it failed. */
	enum end (*end)(struct rows_pass *p, enum end why);
	/* Gives up the unit: why tells the server why its COPY ends. */
	void (*abort)(struct rows_pass *p, const char *why);
};

/* The paths (load_path.c). */
extern const struct path_ops load_batched, load_fast, load_dry;

/* What a unit took from the file: records read, rejected (by the intake
 * and the database) and passed over (a retry's), and the numbers of the
 * rejected records. */
struct unit_counts {
	uint64_t read, rejected, passed;
	const int64_t *rej;
	size_t nrej;
	char prefix[65]; /* the content fingerprint of the records up to the unit's end */
};

/* The intake's counts where a unit starts, and the unit's counts since
 * then with the fingerprint of the records up to its end (rej is left
 * NULL: the caller takes the rejected records). */
void load_unit_start(struct intake *it, struct unit_start *start);
void load_unit_counts(struct intake *it, const struct unit_start *start, struct unit_counts *u);

/* How a unit's rows are read, for one connection and for many. */
struct unit_reader {
	struct intake *it;
	struct keyset *skus;
	int64_t unit_rows;            /* at most; 0: the rest of the file */
	struct copy_sink *sink;       /* bounds a unit by bytes too (NULL: not) */
	enum etl_code (*add)(void *); /* takes the row the intake holds */
	void *arg;
	struct progress *pg;
	uint64_t offset; /* records committed before this pass */
};

/* Reads one unit's rows, each taken by ur->add.  Returns how they ended:
 * END_OK (a full unit, or the file's end), END_MAX_REJECTS (the intake
 * stopped), END_SIGNAL, or END_ERROR (err); *last when the file ended here
 * (its end or the intake's stop). */
enum end load_read_unit(const struct unit_reader *ur, bool *last, struct etl_error *err);

/* Writes a batch's rejects in line order: the rows the intake held back
 * (held) merged with those the server refused (out, from sink).  Returns
 * ETL_OK or the error in err. */
enum etl_code load_write_rejects(struct intake *it, struct copy_sink *sink,
                                 const struct reject_held *held, const struct copy_outcome *out,
                                 struct etl_error *err);

/* Adds a unit's outcome and counts to next (the history row it started
 * from), puts its rejects on disk and checkpoints it on conn, in the unit's
 * transaction.  Returns ETL_OK or the error in p->err. */
enum etl_code load_checkpoint(struct rows_pass *p, PGconn *conn, const struct copy_outcome *out,
                              const struct unit_counts *u, struct ledger *next, bool ids_recorded,
                              const char *update_columns);

/* Reads the rest of the file along path, unit by unit, on several
 * connections (--jobs; load_jobs.c); co opens their sinks. */
enum end load_jobs_run(struct rows_pass *p, const struct copy_opts *co, int jobs);

/* Opens one more connection to the run's database. */
PGconn *load_connect(const struct run_shared *r, struct etl_error *err);

/* Reads the rest of the file along path, unit by unit. */
enum end load_run_path(const struct path_ops *path, struct rows_pass *p);

/* One file's load from its claim to its outcome. */
struct file_load {
	struct run_shared *r;
	struct intake *it;
	struct load_file *lf;
	struct etl_error e;
	bool failed; /* the file fails with e; its history row is left to the lease */
	struct intake_print print;
	char options[2048];
	struct ledger_claim claim;
	struct ledger led, base;
	struct history_hold held;
	struct copy_sink *sink;
	struct copy_opts co; /* how sink was opened (--jobs opens more) */
	bool in_file_txn;    /* --single-transaction: the file's transaction is open */
};

/* f fails with f->e: false, for "return fail(f)". */
static inline bool
fail(struct file_load *f)
{
	f->failed = true;
	return false;
}

/* Fingerprints the file and claims it in the history (load_claim.c): true
 * when there are rows to load. */
bool load_claim_file(struct file_load *f);

/* The file's reject file (resume: the resumed load's own); NULL: out of
 * memory. */
char *load_reject_file_for(struct file_load *f, bool resume);

/* Moves the intake's kept reasons and reject file into the result. */
void load_take_messages(struct load_file *lf, struct intake *it);

#endif
