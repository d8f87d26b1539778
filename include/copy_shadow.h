/*
 * copy_shadow.h — the empty-table path through a shadow table (how it
 * goes: copy_shadow.c).  The shadow owns its second connection: the COPY
 * runs there (shadow_conn()), the load's own connection is never swapped.
 *
 * Lifecycle: shadow_init(); shadow_plan(): under the load's EXCLUSIVE lock
 * on the empty table, whether the table can be swapped (*why says why not)
 * and what to build; shadow_open(): the second connection's transaction,
 * the shadow created; then the COPY on shadow_conn(); shadow_copied(): its
 * rows committed; shadow_finish(): the builds on both connections, the
 * foreign keys, the swap (*refused: a row broke an index or key, why
 * says which); shadow_abandon(): everything of it undone, the shadow
 * dropped, the second connection closed (also after shadow_finish()).
 * A shadow neither connection could drop (both lost) is shadow_left();
 * shadow_drop_left() drops it on a new connection.
 */
#ifndef SIPREMS_COPY_SHADOW_H
#define SIPREMS_COPY_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy_conn.h"

/* The advisory lock that one empty-table load of a table holds in its
 * transaction ($1: the table): the high half names the purpose, the low
 * half the table.  Its shadow is made and dropped only under it. */
#define EMPTY_LOAD_KEY                                                                             \
	"((hashtext('siprems-etl empty-table load')::int8 << 32) | to_regclass($1)::oid::int8)"

struct sink_shadow {
	/* What shadow_init() gives. */
	struct sink_conn *own; /* the load's connection and transaction */
	const char *table;     /* the table, as the load names it */
	const char *table_q;   /* and quoted */
	const char *settings;  /* the run's SET LOCAL settings */
	long lock_timeout_ms;  /* the load's lock_timeout */

	bool active;          /* this load goes through the shadow */
	bool swapped;         /* and it was swapped in */
	bool made;            /* a shadow may exist that this load made */
	struct sink_conn aux; /* the second connection */
	bool txn;             /* which is in a transaction */
	int64_t xid;          /* the id of its transaction that wrote the rows */
	char name[64];
	char q[300];  /* schema-qualified, quoted */
	char **build; /* CREATE INDEX on the shadow */
	char **swap;  /* once the table is dropped: its indexes' names back */
	char **names; /* the table's names of the indexes built */
	int nbuild;
	int nfkeys; /* the shadow's foreign keys added */
};

void shadow_init(struct sink_shadow *sh, struct sink_conn *own, const char *table,
                 const char *table_q, const char *settings, long lock_timeout_ms);
enum etl_code shadow_plan(struct sink_shadow *sh, char *why, size_t size, struct etl_error *err);
/* aux: the second connection, which the shadow now owns. */
enum etl_code shadow_open(struct sink_shadow *sh, PGconn *aux, struct etl_error *err);
struct sink_conn *shadow_conn(struct sink_shadow *sh);
enum etl_code shadow_copied(struct sink_shadow *sh, struct etl_error *err);
enum etl_code shadow_finish(struct sink_shadow *sh, bool *refused, char *why, size_t size,
                            struct etl_error *err);
void shadow_abandon(struct sink_shadow *sh);
bool shadow_left(const struct sink_shadow *sh);
/* Drops q, the shadow of table, on conn (idle) in a transaction of its own
 * under the table's empty-load lock; false when not done (the lock's
 * holder drops it then). */
bool shadow_drop_named(PGconn *conn, const char *table, const char *q);
void shadow_drop_left(struct sink_shadow *sh, PGconn *conn);

/* A server's message about the shadow, in the table's names. */
void shadow_reason(const struct sink_shadow *sh, char *why, size_t size);

#endif
