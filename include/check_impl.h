/*
 * check_impl.h — the inside of a check, shared by check.c (keys, the
 * database, comparing values) and check_report.c (findings, reports).
 */
#ifndef SIPREMS_CHECK_IMPL_H
#define SIPREMS_CHECK_IMPL_H

#include <stdint.h>

#include "check.h"
#include "buf.h"
#include "keyset.h"

#define MAX_SALE_PLACES 5  /* first lines kept per unknown SKU */
#define TEXT_PLACES     10 /* places printed per finding in the text report */

/* A further occurrence of a key: a list per key, newest first. */
struct occ {
	int64_t line;
	uint32_t file;
	uint32_t next; /* index + 1, 0 ends */
};

struct kindkeys {
	const struct table_def *t;
	struct keyset *keys;       /* exact key -> first place, count | extras head */
	struct keyset *folds;      /* folded key -> index of the first key with that fold (+1) */
	struct keyset *variant;    /* key index -> index of the first spelling (+1) */
	struct keyset *db;         /* key index -> DB values (arena offset), diff detail (+1) or
	                              CHECK_IDENTICAL */
	struct keyset *db_variant; /* key index -> the database's spelling (arena offset) */
	unsigned char *known;      /* keyless kinds: per reference, the database has it */
	size_t known_cap;
};

struct check {
	char **files;
	int nfiles;
	/* Per kind: its keys, or for a kind without one (sales) the values of
	 * its reference column (SKUs): value -> first place, count | extras head. */
	struct kindkeys kinds[KIND_COUNT];
	struct occ *occ;
	size_t nocc, occ_cap;
	struct buf arena; /* DB values, details */
	bool *pass2;      /* per file */
	bool database_checked;
	char db_why[512];
	bool failed;
};

/* kindkeys.db's second number for a row equal to the database's. */
#define CHECK_IDENTICAL (-1)

/* A place: the file index above bit 47, the line below. */
static inline int64_t
place(int file, long line)
{
	return ((int64_t)file << 47) | (int64_t)line;
}

static inline int
place_file(int64_t p)
{
	return (int)(p >> 47);
}

static inline long
place_line(int64_t p)
{
	return (long)(p & ((INT64_C(1) << 47) - 1));
}

/* A small map from a key index to two numbers. */
int64_t *check_index_map(struct keyset **m, size_t index, bool add);

/* ETL_ESYSTEM ("out of memory") once an allocation of c failed, else ETL_OK. */
enum etl_code check_status(struct check *c, struct etl_error *err);

#endif
