/*
 * colmap.h — the header row: which kind a file is and which field holds
 * which column.
 *
 * Names are matched case-insensitively, trimmed, in any order.  Without a
 * forced kind, the kind is the one whose required columns are all present
 * and whose known columns cover the header; a header that fits no kind, or
 * two, is an input error listing the columns each kind expects.  Unknown
 * columns (other than reject_line / reject_reason) and duplicate names are
 * input errors too.
 */
#ifndef SIPREMS_COLMAP_H
#define SIPREMS_COLMAP_H

#include "csvrow.h"
#include "error.h"
#include "table.h"

struct colmap {
	const struct table_def *t;
	int nfields;                  /* fields in the header */
	int *field_col;               /* per field: column index, or -1 (reject_*) */
	int col_field[TABLE_MAXCOLS]; /* per column: field index, or -1 */
	char **names;                 /* the header's names as written */
	/* A row of it may hold a plaintext password where the header does not
	 * say (the kind has a secret column, and the file has one, or a field
	 * named like one, or a field it ignores): its rejected rows are
	 * written without their fields and reasons quote no value. */
	bool hide_rows;
};

#define COLMAP_MAXMAP    32
#define COLMAP_MAXFIELDS 64

/* How a file's own column names are read (--map, --columns). */
struct colmap_opts {
	struct {
		const char *src; /* the file's name (any case, trimmed) */
		const char *dst; /* a column of the kind, or "-": the field is ignored */
	} map[COLMAP_MAXMAP];
	int nmap;
	/* --columns: the file has no header; these are its fields' names. */
	const char *columns[COLMAP_MAXFIELDS];
	int ncolumns;
};

/*
 * Builds m from the header record hdr.  forced is KIND_NONE to recognise the
 * kind.  cm (may be NULL) renames the header's fields first: a field named
 * by a --map SRC is read as its DST column, or ignored for "-" (an ignored
 * field stays in the reject file, like every field).  file names the input
 * in messages.  Returns ETL_OK, ETL_EINPUT
 * (with a message naming the offending columns) or ETL_ESYSTEM.  The caller
 * frees m with colmap_free() in every case.
 */
enum etl_code colmap_build(struct colmap *m, enum kind forced, const struct csvrow_record *hdr,
                           const struct colmap_opts *cm, const char *file, struct etl_error *err);

void colmap_free(struct colmap *m);

/* "sku, name, price (also: category, variation, stock)" for a kind. */
void colmap_describe(const struct table_def *t, char *buf, size_t size);

#endif
