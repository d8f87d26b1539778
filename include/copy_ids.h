/*
 * copy_ids.h — the ids a batch reserves from the table's sequence, and how
 * its rows were written: what the load history records so that a load can
 * be undone (ledger.h).
 *
 * When the table's primary key is one integer column filled by a sequence,
 * each batch reserves its rows' ids first (ids_reserve()), as ranges of
 * consecutive ids since other sessions' nextval() may interleave, and every
 * row takes the next (ids_next()).  The empty-table path numbers its rows
 * itself and records one range (ids_one()).
 */
#ifndef SIPREMS_COPY_IDS_H
#define SIPREMS_COPY_IDS_H

#include <stdbool.h>
#include <stdint.h>

#include "copy_conn.h"
#include "ledger.h"
#include "table.h"

struct sink_ids {
	struct ledger_ids *v; /* the reserved ranges */
	int n, cap;
	int range;   /* the range the next id comes from */
	int64_t cur; /* the next id there */
};

/* Reserves n ids from seq (a regclass literal) on c. */
enum etl_code ids_reserve(struct sink_ids *r, struct sink_conn *c, const char *seq, int64_t n,
                          struct etl_error *err);

/* No ids reserved (a kind or table without them). */
void ids_none(struct sink_ids *r);

/* The next reserved id; false when the reservation ran out. */
bool ids_next(struct sink_ids *r, int64_t *id);

/* The reservation is the one range [first, last]; false: out of memory. */
bool ids_one(struct sink_ids *r, int64_t first, int64_t last);

void ids_free(struct sink_ids *r);

/* How rows of t were written, for undo: on Citus the workers' (shards),
 * xid > 0: by that transaction (a second connection's), scan: in
 * savepoints or one transaction for the file (their xmins are read back),
 * else by the load's transaction. */
struct ledger_xmins ids_xmins(const struct table_def *t, bool citus, int64_t xid, bool scan);

#endif
