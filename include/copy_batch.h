/*
 * copy_batch.h — the rows of one batch, as the sink keeps them until the
 * batch commits: their encoded COPY stream (what of it was already sent),
 * each row's place in it, its record as read (for a reject file), its line
 * and ordinal in the file, and its key as messages show it.
 *
 * Lifecycle: zeroed, then per batch batch_reset() and batch_add() per row
 * (after its encoded bytes went into data), batch_record() to read a row
 * back; batch_free() at the end.  The empty-table path uses only data and
 * sent: it keeps no row.
 */
#ifndef SIPREMS_COPY_BATCH_H
#define SIPREMS_COPY_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "copy_conn.h"
#include "csvrow.h"

struct sink_batch {
	struct buf data; /* encoded rows */
	size_t sent;     /* bytes of data already streamed */
	struct buf orig; /* records as read: n, then (len, bytes) per field */
	struct buf keys; /* each row's key as shown in messages, NUL-ended */
	size_t *key_off;
	size_t *off; /* row i is data[off[i], off[i+1]) */
	size_t *orig_off;
	long *line;
	int64_t *number;
	int n, cap;
	char **fields; /* scratch for batch_record() */
	size_t *lens;
	int fcap;
};

/* Empties the batch (its memory stays). */
void batch_reset(struct sink_batch *b);

/* Room for one more row; false: out of memory. */
bool batch_room(struct sink_batch *b);

/* Row n's encoding starts at the end of data now. */
void batch_start_row(struct sink_batch *b);

/* Ends row n, whose encoding ends at the end of data: its record, its
 * ordinal and its shown key (NULL: the kind has none).  False: out of
 * memory. */
bool batch_add(struct sink_batch *b, const struct csvrow_record *rec, int64_t number,
               const char *key);

/* The record of row i as read (its fields point into the batch until the
 * next batch_reset()) and its ordinal. */
void batch_record(struct sink_batch *b, int i, struct csvrow_record *rec, int64_t *number);

/* Streams data up to byte upto on c (the COPY running there). */
enum etl_code batch_send(struct sink_batch *b, struct sink_conn *c, size_t upto,
                         struct etl_error *err);

void batch_free(struct sink_batch *b);

#endif
