/*
 * intake.h — one input file through the intake stages: bytes, CSV records,
 * the header map, validation, the in-run unique-key check and the reject
 * file.  What comes out is validated rows; every other row is already
 * rejected and counted.  No database is involved.
 */
#ifndef SIPREMS_INTAKE_H
#define SIPREMS_INTAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "colmap.h"
#include "csvrow.h"
#include "error.h"
#include "input.h"
#include "keyset.h"
#include "reject.h"
#include "valid.h"

#define INTAKE_SHOWN_REJECTS 10 /* reasons kept for the terminal */

/* How a run's files are written: the options of "describe a file", one
 * struct from the command line down to each file's intake. */
struct file_format {
	enum input_encoding enc;
	unsigned char delim;
	const char *sku_pattern;      /* --sku-pattern, or NULL: the default */
	const char *timezone;         /* --timezone, or NULL */
	struct valid_formats fmt;     /* --date-format, --decimal-comma, --currency, --null */
	const struct colmap_opts *cm; /* --map, --columns, or NULL */
};

struct intake_opts {
	const struct file_format *format;
	const struct validator *v; /* shared by the files of a run */
	const char *reject_dir;    /* NULL: the current directory */
	bool write_rejects;        /* false: only count them (check) */
	bool unique_keys;          /* reject a repeated unique key (load) */
	int64_t max_rejects;       /* < 0: no limit; else stop past it (INTAKE_STOP) */
	int64_t max_reject_bytes;  /* < 0 (or 0): no limit; else stop once the reject file
	                              is past it (INTAKE_STOP) */
	/* Inputs read from a copy (intake_spool()): stdin and pipes, or NULL. */
	const struct intake_spools *spools;
	/* Finds the file a "builtin:NAME" spec names (the data set seed
	 * generates in memory), or NULL: such specs are then ordinary paths. */
	bool (*builtin)(void *ctx, const char *name, const unsigned char **data, size_t *size);
	void *builtin_ctx;
	/* --case-variants allow: a key that differs from another only in
	 * letter case or surrounding spaces loads (else, with unique_keys, it
	 * is rejected). */
	bool case_variants;
	bool track_prefix; /* hash the records as they are read (intake_prefix()) */
	/* Told of every rejected row (its line and reason), or NULL. */
	void (*on_reject)(void *ctx, long line, const char *reason);
	void *reject_ctx;
};

#define INTAKE_STOP 2 /* intake_next(): more rows rejected than max_rejects */
/* intake_next(): the rejected rows held back for the unit reached
 * INTAKE_HELD_MAX bytes; the caller ends the unit (and reads on in the
 * next): memory is bounded however many wide rows are rejected. */
#define INTAKE_FULL     3
#define INTAKE_HELD_MAX (32u << 20)

/* One input file in the intake (intake.c holds its inside). */
struct intake;

/* What identifies a file's content (intake_fingerprint()). */
struct intake_print {
	char content[65]; /* SHA-256 of the decoded records */
	char bytes[65];   /* SHA-256 of the file's bytes, as stored */
	int64_t size;     /* the file's size in bytes */
	int64_t records;  /* data records (the header not counted) */
	char prefix[65];  /* intake_fingerprint_at(): the content fingerprint of the
	                     header and the first at records, "" when fewer */
	char less[65];    /* the same of the first at - 1 records (at >= 2) */
	bool cut;         /* the last record has no line end (an export cut
	                     mid-line, or one without a final newline) */
	char head[65];    /* when cut: the content fingerprint of every record but
	                     the last (two records or more), else "" */
};

/* A file as the command line names it, read once (intake_spec()):
 * [KIND=]FILE, "-" for stdin; KIND forces the kind, else the header tells
 * it. */
struct file_spec {
	const char *arg;  /* as given */
	const char *file; /* its FILE part, within arg */
	enum kind kind;   /* KIND, or KIND_NONE */
};

/*
 * The inputs that can be read only once: stdin ("-") and pipes (a FIFO,
 * `<(zcat …)`, /dev/stdin), each copied to a temporary file that its
 * fingerprint and its rows both read.
 */
struct intake_spools {
	int n;
	char **file;           /* the FILE part of a spec, as given */
	char **spool;          /* where it was copied, or NULL: see err */
	struct etl_error *err; /* why it could not be copied (the file fails with it) */
	bool *owner; /* this entry holds the copy (another name of the same pipe does not) */
};

/*
 * Copies every such input of specs (files that are not one are left out);
 * a pipe named twice, under any spelling, is copied once.  A pipe that
 * cannot be opened or copied fails its own file (intake_open() gives its
 * error), not the run.  Returns ETL_OK, or ETL_ESYSTEM (out of memory).
 * Free with intake_spools_free().
 */
enum etl_code intake_spool(struct intake_spools *s, const struct file_spec *specs, int nspecs,
                           struct etl_error *err);
void intake_spools_free(struct intake_spools *s);

/* Reads arg as [KIND=]FILE (KIND_NONE when there is no known KIND
 * prefix); the result points into arg. */
struct file_spec intake_spec(const char *arg);

/*
 * Opens spec (its FILE "-" is stdin), reads its header and recognises
 * its kind (KIND forces it).  Returns ETL_OK, ETL_EINPUT (unreadable, empty, a header that
 * fits no kind, a missing or unknown column…) or ETL_ESYSTEM.  The caller
 * frees *out with intake_close() in every case (*out may be set on error,
 * to name the file).
 */
enum etl_code intake_open(struct intake **out, const struct file_spec *spec,
                          const struct intake_opts *o, struct etl_error *err);

/*
 * Starts the reject file (after intake_open(), before the first row).
 * resume_at < 0 starts afresh; else the file keeps that many bytes (those of
 * the committed batches of an interrupted load).  Returns ETL_OK or
 * ETL_EINPUT (directory not writable).
 */
enum etl_code intake_start_rejects(struct intake *it, int64_t resume_at, struct etl_error *err);

/* intake_start_rejects() into the file path (NULL: the default name in
 * the reject directory, reject_name()). */
enum etl_code intake_start_rejects_at(struct intake *it, int64_t resume_at, const char *path,
                                      struct etl_error *err);

/* The reject file's default name (reject_name()) with tag; the caller
 * frees it. */
char *intake_reject_name(const struct intake *it, const char *tag);

/*
 * Reads the whole file once, through the input and CSV stages, into p: the
 * content fingerprint is a SHA-256 over the decoded records (after gzip,
 * encoding conversion, the BOM, line endings and CSV quoting; the header's
 * names in lower case), so a gzip, CRLF or re-quoted copy has the same one;
 * the byte SHA-256 is kept beside it.  A damaged gzip stream is found here,
 * before anything of the file loads.  Returns ETL_OK, ETL_EINPUT or
 * ETL_ESYSTEM.
 */
enum etl_code intake_fingerprint(const struct intake *it, struct intake_print *p,
                                 struct etl_error *err);

/*
 * intake_fingerprint(), and in p->prefix the fingerprint the file's first at
 * data records would have alone (a file cut after them): what an earlier
 * load of them recorded, when this file extends that one.
 */
enum etl_code intake_fingerprint_at(const struct intake *it, int64_t at, struct intake_print *p,
                                    struct etl_error *err);

/*
 * intake_fingerprint_at() both ways, for the differential fuzz target: into
 * fast (its outcome in efast) by the fast tokenizer where it takes the file
 * (*regular; else by libcsv), into slow (eslow) always by libcsv.  The two
 * must agree.
 */
void intake_fingerprint_ways(const struct intake *it, int64_t at, struct intake_print *fast,
                             bool *regular, struct etl_error *efast, struct intake_print *slow,
                             struct etl_error *eslow);

/*
 * With intake_opts.track_prefix the intake hashes its records as it reads
 * them (from its header on; intake_rewind() starts it over): intake_prefix()
 * gives the content fingerprint of the records read so far, which a
 * checkpoint records beside its position.  Paused, records are read without
 * (the one COPY of an empty table commits the whole file or nothing).
 */
void intake_pause_prefix(struct intake *it, bool paused);

/* The fingerprint of the header and the records read so far into out;
 * false when not tracked (or paused since the last rewind). */
bool intake_prefix(struct intake *it, char out[65]);

/*
 * Only the byte SHA-256 and the size into p (content "" and records -1):
 * reads the file's bytes without decoding them.  A file whose bytes were
 * loaded before with the same options has its content fingerprint in the
 * history already.  Returns ETL_OK, ETL_EINPUT or ETL_ESYSTEM.
 */
enum etl_code intake_fingerprint_bytes(const struct intake *it, struct intake_print *p,
                                       struct etl_error *err);

/*
 * Limits intake_next() to the data records numbered in records (sorted,
 * ascending; the intake takes ownership): the others are counted in
 * rows_passed and not validated.  Used to retry only the rows an earlier
 * load rejected.
 */
void intake_set_filter(struct intake *it, int64_t *records, size_t n);

/*
 * The numbers of the records rejected since the last call (through
 * intake_next() or intake_reject()); *n of them, valid until the next
 * intake call.  The list starts empty again.
 */
const int64_t *intake_take_rejected(struct intake *it, size_t *n);

/*
 * Passes over the first n records (those an interrupted load committed):
 * nothing is counted or written, but their unique keys are noted, so that a
 * later repeat is rejected as it was in the first attempt.  Returns 0, or -1
 * (err filled) when the file ends first or cannot be read.
 */
int intake_skip(struct intake *it, int64_t n, struct keyset *skus, struct etl_error *err);

/*
 * The next valid row: returns 1 with it->rec and it->row set, 0 at the end,
 * INTAKE_STOP right after the row that took the rejects past max_rejects,
 * -1 on an error that ends the file (a corrupt gzip stream: ETL_EINPUT; a
 * reject file that cannot be written: ETL_ESYSTEM).  skus (may be NULL) is
 * the set of known SKUs a sales file may use.
 */
int intake_next(struct intake *it, struct keyset *skus, struct etl_error *err);

/*
 * The keys (rowkey form) the file's table held when the file began, for
 * the case-variant check, or NULL; the caller keeps it alive while the
 * intake reads.
 */
void intake_set_known(struct intake *it, struct keyset *known);

/* What the file the intake opened is (--archive moves only that file). */
void intake_identity(const struct intake *it, struct input_id *id);

/* The bytes of rejected rows held back for the unit being read. */
uint64_t intake_held_bytes(const struct intake *it);

/* Whether the reject file (with what is held back) is past
 * intake_opts.max_reject_bytes. */
bool intake_over_reject_bytes(const struct intake *it);

/*
 * Starts the file over after its header: counters, unique keys and kept
 * reasons reset, the reject file emptied.  Returns ETL_OK, ETL_EINPUT or
 * ETL_ESYSTEM.
 */
enum etl_code intake_rewind(struct intake *it, struct etl_error *err);

/*
 * The next record as read, without validation (the pre-check validates what
 * it needs itself): 1 with it->rec set, 0 at the end, -1 on an error.
 */
int intake_next_record(struct intake *it, struct etl_error *err);

/*
 * Rejects a row that a later stage refused: writes it to the reject file
 * and counts it; record is its number (intake.number when it was read);
 * garbled: its fields do not line up (reject_write()).  Returns ETL_OK or
 * ETL_ESYSTEM.
 */
enum etl_code intake_reject(struct intake *it, int nfields, char *const *fields, const size_t *lens,
                            bool garbled, long line, int64_t record, const char *reason,
                            struct etl_error *err);

/* ---- what a caller may read ---------------------------------------------- */

/* For messages: the path, or "stdin". */
const char *intake_name(const struct intake *it);

/* The file's kind (KIND_NONE when its header fitted none). */
enum kind intake_kind(const struct intake *it);

/* The header map: the kind's table and which field holds which column. */
const struct colmap *intake_map(const struct intake *it);

/* The current record, its values (after intake_next()) and its ordinal
 * among the data records (1-based). */
const struct csvrow_record *intake_record(const struct intake *it);
const struct valid_row *intake_row(const struct intake *it);
int64_t intake_number(const struct intake *it);

/* Data records read (those outside a filter too), passed over by a filter,
 * and rejected (by the intake or through intake_reject()). */
uint64_t intake_rows_read(const struct intake *it);
uint64_t intake_rows_passed(const struct intake *it);
uint64_t intake_rows_rejected(const struct intake *it);

/* How many records are left to take of a file with records data records:
 * the filter's rest, or what follows the position. */
int64_t intake_left(const struct intake *it, int64_t records);

/* The size of the file as it is now (a growing export), -1 when it is not
 * a regular file. */
int64_t intake_size_now(const struct intake *it);

/* The input's size and the bytes read so far, for progress. */
int64_t intake_raw_size(const struct intake *it);
uint64_t intake_raw_bytes(const struct intake *it);

/* Keeps the rows rejected from now on back in held (NULL: written to the
 * reject file again); see reject_hold(). */
void intake_hold_rejects(struct intake *it, struct reject_held *held);

/* The reject file's writer, NULL before intake_start_rejects(). */
struct reject_writer *intake_rejects(const struct intake *it);

/* Moves up to max kept reject reasons ("LINE: reason") into out; the
 * caller frees them.  Returns how many. */
int intake_take_reasons(struct intake *it, char **out, int max);

/* Closes the file and the reject file; returns ETL_ESYSTEM when the reject
 * file could not be completed.  it may be NULL. */
enum etl_code intake_close(struct intake *it, struct etl_error *err);

#endif
