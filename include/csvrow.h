/*
 * csvrow.h — the second stage: CSV records (RFC 4180) with line numbers.
 *
 * Built on libcsv in strict mode.  Quoted fields may hold delimiters, quotes
 * and newlines; CRLF and LF both end a record; blank lines are skipped.
 * Every record carries the physical line it starts on, also after multi-line
 * quoted fields.  A malformed record (a stray quote, text after a closing
 * quote, a quote never closed, a field over the size limit) is not fatal: it
 * is handed out with an error saying what is wrong, holding the fields that
 * could be read, and reading resumes at the next line.  Values are returned
 * as they are, without trimming.
 */
#ifndef SIPREMS_CSVROW_H
#define SIPREMS_CSVROW_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* The largest record accepted; larger ones are reported malformed. */
#define CSVROW_MAX_RECORD (16u << 20)
#define CSVROW_MAX_FIELDS 10000u /* fields kept per record; a wider one is malformed */

/* Where bytes come from: returns up to size bytes, 0 at the end, -1 on an
 * error (filled into err).  input_read() fits. */
typedef ssize_t (*csvrow_read_fn)(void *ctx, char *buf, size_t size, struct etl_error *err);

struct csvrow_record {
	long line;     /* the physical line the record starts on (1-based) */
	long end_line; /* the line it ends on */
	int nfields;
	char **fields; /* each NUL-terminated (and may hold NUL bytes) */
	size_t *lens;
	const char *error; /* NULL, or why the record is malformed */
};

struct csvrow_reader;

/*
 * Starts reading records from read_fn(ctx) with the given field delimiter.
 * name is used in error messages.  Returns ETL_OK or ETL_ESYSTEM.  The caller
 * frees *out with csvrow_close().
 */
enum etl_code csvrow_open(struct csvrow_reader **out, csvrow_read_fn read_fn, void *ctx,
                          unsigned char delim, const char *name, struct etl_error *err);

/*
 * Reads the next record into rec, whose pointers stay valid until the next
 * call.  Returns 1 for a record, 0 at the end, -1 when the byte source
 * failed (err is filled; the error sticks).
 */
int csvrow_next(struct csvrow_reader *r, struct csvrow_record *rec, struct etl_error *err);

/* Whether whole lines without quotes are split without libcsv (the
 * default; the records are the same either way, which the tests compare). */
void csvrow_set_plain(struct csvrow_reader *r, bool on);

/* Frees r; r may be NULL. */
void csvrow_close(struct csvrow_reader *r);

#endif
