/*
 * reject.h — reject files: <input name>.rejects.csv, mode 0600.
 *
 * Holds the input's header plus reject_line and reject_reason, and each
 * rejected row's original fields, so that a corrected file loads as it is
 * with the same command line (same delimiter, same encoding: the one the
 * input was found in; UTF-16 and UTF-32 with a byte-order mark, which tells
 * their byte order to whatever reads them).  Columns a
 * reject file already had are replaced, not repeated.  A secret column (the
 * plaintext password) is written empty.  The file is created with the first
 * reject; a fresh run removes the file an earlier run left.  It is
 * written as DIR/.NAME.part and renamed to its name when the writer closes:
 * under its name a reject file is always complete (a killed load leaves
 * the part, which the resumed load goes on with).
 */
#ifndef SIPREMS_REJECT_H
#define SIPREMS_REJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "colmap.h"
#include "buf.h"
#include "error.h"
#include "input.h"

struct reject_writer;

struct reject_opts {
	const char *dir; /* NULL: the current directory */
	unsigned char delim;
	enum input_encoding enc; /* the input's, as found: not ENC_UTF16 or ENC_UTF32 */
	int64_t resume_at;       /* < 0: a fresh run; else keep that many bytes and append */
	const char *path;        /* the file itself (a resumed load's), or NULL: DIR/NAME */
};

/*
 * The reject file's name for input_path ("-": stdin) in dir (NULL: the
 * current directory): DIR/BASE.rejects.csv, or with tag (a load's id, when
 * that name is another load's) DIR/BASE.TAG.rejects.csv; "stdin" for stdin.
 * Returns a string the caller frees, or NULL (out of memory).
 */
char *reject_name(const char *dir, const char *input_path, const char *tag);

/* A finished load's reject file still under its part name (the load was
 * killed between its last commit and the rename) gets its name. */
void reject_settle(const char *path);

/* Whether the reject file path, or the part of it being written, exists
 * (true also when that cannot be told). */
bool reject_exists(const char *path);

/* Whether reject files can be made in dir: a file made there and removed
 * (access(2) passes for root, and for a directory that was removed).
 * Returns 0, or the errno of the failure. */
int reject_dir_writable(const char *dir);

/*
 * Prepares the reject file of input_path ("-": stdin) for the header map m
 * (which must outlive the writer).  Returns ETL_OK, or ETL_ESYSTEM when the
 * directory cannot be written.  The caller frees *out with reject_close().
 */
enum etl_code reject_open(struct reject_writer **out, const struct reject_opts *o,
                          const char *input_path, const struct colmap *m, struct etl_error *err);

/*
 * Appends a rejected row: its fields as read, the line it started on and
 * the reason.  A row whose fields do not line up with the header (garbled:
 * malformed CSV, or another number of fields) in a file with a secret
 * column (a plaintext password) is written without its fields: any of them
 * may hold the password.  Returns ETL_OK or ETL_ESYSTEM (cannot write: disk
 * full…).
 */
enum etl_code reject_write(struct reject_writer *w, int nfields, char *const *fields,
                           const size_t *lens, bool garbled, long line, const char *reason,
                           struct etl_error *err);

/* Rejected rows kept back from the file: their bytes, encoded as the file
 * has them, and where each starts, with its line. */
struct reject_held {
	struct buf data;
	size_t *off;
	long *line;
	size_t n, cap;
};

/*
 * From now on keeps the rows written in held (NULL: in the file again); the
 * file is not created for them.  A batch keeps the rows the intake rejects
 * back until it ends, to write them in line order with the rows the server
 * refused, and on several connections (--jobs) until it commits, so that
 * the file has them in the order of the batches.
 */
void reject_hold(struct reject_writer *w, struct reject_held *held);

/* Appends held rows [from, to), creating the file first if need be.
 * Returns ETL_OK or ETL_ESYSTEM. */
enum etl_code reject_append(struct reject_writer *w, const struct reject_held *held, size_t from,
                            size_t to, struct etl_error *err);

/* Empties held; reject_held_free() releases its memory. */
void reject_held_clear(struct reject_held *held);
void reject_held_free(struct reject_held *held);

/* Pushes what was written to the file (and with sync, to the disk). */
enum etl_code reject_flush(struct reject_writer *w, bool sync, struct etl_error *err);

/* Bytes in the file once everything written is flushed. */
uint64_t reject_offset(const struct reject_writer *w);

/* The bytes of rows held back (reject_hold()) and not yet written. */
uint64_t reject_held_bytes(const struct reject_writer *w);

/* The file's path, or NULL when nothing was rejected. */
const char *reject_path(const struct reject_writer *w);

/* The path the file has or would have. */
const char *reject_planned_path(const struct reject_writer *w);

/*
 * Cuts the file back to offset bytes (a batch was rolled back), or removes
 * it when offset is 0.
 */
enum etl_code reject_truncate(struct reject_writer *w, uint64_t offset, struct etl_error *err);

/* The file complete: flushed, synced and renamed from its part to its name
 * (once; w may be NULL).  Called when its file's load ends, before the
 * history says so.  Returns ETL_OK or ETL_ESYSTEM. */
enum etl_code reject_complete(struct reject_writer *w, struct etl_error *err);

/* Completes (reject_complete()) and closes; returns ETL_ESYSTEM if the data
 * did not reach the file.  w may be NULL. */
enum etl_code reject_close(struct reject_writer *w, struct etl_error *err);

#endif
