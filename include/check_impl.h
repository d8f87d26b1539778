/*
 * check_impl.h — the inside of a check, shared by check.c (the keys, the
 * decisions) and check_report.c (what is written).
 */
#ifndef SIPREMS_CHECK_IMPL_H
#define SIPREMS_CHECK_IMPL_H

#include <stdint.h>

#include "buf.h"
#include "check.h"
#include "keyset.h"

/* The counted outcomes, then OUT_STOP: a line after which the load stops
 * the file (not counted). */
enum outcome { OUT_INSERT, OUT_UPDATE, OUT_UNCHANGED, OUT_SKIP, OUT_REJECT, OUT_COUNT, OUT_STOP };

struct check_file {
	char *name;
	const struct table_def *t;
	uint64_t n[OUT_COUNT];
	char *same_as; /* the earlier file of the run with this content, or NULL */
	char *failed;  /* why it could not be read to its end, or NULL */
	bool stopped;  /* the load stops it (--max-rejects) */
};

struct check {
	struct check_opts o;
	/* Per kind: the keys the table holds -> (arena offset + 1 of the
	 * row's values, 0 for a database row or the place of the run's row
	 * that inserts it).  The current file's new keys enter as its rows
	 * come: the intake rejects a key the file repeats before check sees
	 * it, so no row of a file meets a key of its own file here. */
	struct keyset *known[KIND_COUNT];
	struct keyset *contents; /* kind + content fingerprint -> file index + 1 */
	struct keyset *skus;
	bool keep_skus;   /* a sales file of the run reads skus */
	struct buf arena; /* the rows' values: 'N' NULL, 'A' absent, 'V' + value, NUL-ended */
	size_t charged;   /* arena bytes charged to the key memory bound */
	struct buf kb, vb;
	struct check_file *files;
	int nfiles, cap;
	bool database_checked;
	char db_why[512];
	bool failed;
	uint64_t written; /* lines written */
	bool started;     /* the report's head is written */
};

/* The value columns compared with the database (check_db_columns()'s
 * after the key). */
bool check_compared(const struct col_def *c);

/* Writes the head of the report, once. */
void check_report_head(struct check *c);

/* Writes one line's outcome (never OUT_INSERT); key may be NULL. */
void check_report_line(struct check *c, long line, enum outcome what, const char *key,
                       const char *reason);

/* Writes a file's totals (text: one line; the other formats keep them
 * for the end). */
void check_report_file(struct check *c, const struct check_file *f);

/* Writes the files and the run's totals. */
void check_report_end(struct check *c);

#endif
