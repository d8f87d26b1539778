/*
 * seed.h — the data set `seed` writes as of a day, and what a database
 * already holds of it.
 *
 * Each file seed loads is named for exactly what it holds, so that the load
 * history alone says how far a database was seeded:
 *   builtin:seed-42-products.csv
 *   builtin:seed-42-users.csv
 *   builtin:seed-42-events-2024-2027.csv          the events of those years
 *   builtin:seed-42-sales-2024-11-29T00:00:00-2026-11-28T10:15:00.csv
 *                                                   the sales in [from, until)
 * (local wall-clock times; an until of T24:00:00 is the whole day).  The
 * rows of a name never change (generate.h), so a file can be made again
 * from its name alone: an interrupted seed load resumes, and a later seed
 * adds the files of the days since.
 */
#ifndef SIPREMS_SEED_H
#define SIPREMS_SEED_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "table.h"

/* One file of the data set. */
struct seed_file {
	enum kind kind;
	uint64_t seed;
	int64_t from, until;       /* sales: local seconds since 2000-01-01 */
	int first_year, last_year; /* events */
};

#define SEED_NAME_MAX 96

/* Writes the name of f into out (SEED_NAME_MAX bytes). */
void seed_file_name(const struct seed_file *f, char *out);

/* Reads a name seed_file_name() wrote; false for any other name. */
bool seed_file_parse(const char *name, struct seed_file *f);

/* Makes the gzip bytes of f into out (the caller's; buf_free() frees).
 * Returns ETL_OK or ETL_ESYSTEM (out of memory). */
enum etl_code seed_file_make(const struct seed_file *f, struct buf *out, struct etl_error *err);

/* The database's clock: today and the seconds of it gone, in its TimeZone. */
struct seed_clock {
	int32_t today;
	int seconds;
	char timezone[64];
};

/* Reads it.  Returns ETL_OK or ETL_EDB. */
enum etl_code seed_clock_read(PGconn *conn, struct seed_clock *c, struct etl_error *err);

/* What the database holds: its seed loads, and its rows. */
struct seed_state {
	int loads;          /* seed loads in the history (not undone) */
	uint64_t seed;      /* theirs */
	bool several_seeds; /* loads of different seeds */
	int64_t until;      /* the end of its sales, 0: none */
	int last_year;      /* of its events, 0: none */
	char **unfinished;  /* names of seed loads not finished */
	int nunfinished;
	int64_t seeded[KIND_COUNT]; /* rows seed loads inserted */
	int64_t rows[KIND_COUNT];   /* rows the tables hold */
	bool old_bundle;            /* loads of an earlier version's bundled set */
	int64_t running;            /* a seed load a live loader runs (its load_id), or 0 */
};

/*
 * Reads the state (call ledger_reap() first, so that a running load is a
 * live one); tables that do not exist yet hold no rows, and without a
 * history there are no loads.  Returns ETL_OK, ETL_EDB or
 * ETL_ESYSTEM; the caller frees it with seed_state_free().
 */
enum etl_code seed_state_read(PGconn *conn, struct seed_state *st, struct etl_error *err);

void seed_state_free(struct seed_state *st);

/* ---- the plan of a run (seed_plan.c) -------------------------------------- */

#define SEED_SET_MAX 16

/* The files of a run, made in memory and named as above ("builtin:seed-…"). */
struct seed_set {
	int n;
	char *name[SEED_SET_MAX];
	struct buf data[SEED_SET_MAX];
};

/* The load's built-in file reader over a set (ctx): the bytes of name, the
 * part after "builtin:". */
bool seed_set_lookup(void *ctx, const char *name, const unsigned char **data, size_t *size);

void seed_set_free(struct seed_set *s);

struct seed_plan_opts {
	int32_t as_of; /* -1: today */
	uint64_t seed;
	bool seed_given;
	const char *admin_email;
};

/*
 * Decides the files of this run from the database's clock and state (after
 * waiting for another seed that is loading) and makes them into set: the
 * whole set on an empty database, else the days since its last as-of day
 * (and any seed load to finish); nothing new on the day it was seeded as
 * of.  clock is the database's, read after any wait.  Returns ETL_OK,
 * ETL_EUSAGE (a database seed must leave alone, an --as-of or --seed it
 * cannot follow), ETL_ESTOPPED (another seed loading for ten minutes),
 * ETL_EDB or ETL_ESYSTEM.
 */
enum etl_code seed_plan(PGconn *conn, const struct seed_plan_opts *po, struct seed_set *set,
                        struct seed_clock *clock, struct etl_error *err);

/* "2026-11-28": day's date into out. */
const char *seed_day_text(int32_t day, char out[16]);

#endif
