/*
 * report.h — the closing summary: a small table on stderr and the
 * machine-readable JSON (--summary-json); load_report() (load.h) prints a
 * whole load with them.
 */
#ifndef SIPREMS_REPORT_H
#define SIPREMS_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

struct file_result {
	const char *file;   /* the path as given */
	const char *kind;   /* NULL when it could not be told */
	const char *status; /* loaded, partial, skipped, failed or stopped */
	uint64_t rows_read; /* = loaded + updated + skipped + rejected */
	uint64_t rows_loaded;
	uint64_t rows_updated;
	uint64_t rows_skipped;
	uint64_t rows_rejected;
	const char *reject_file; /* NULL when no row was rejected */
	double seconds;
	int64_t load_id;   /* the load in etl_loads (for a skipped file, the one that
	                      loaded it); 0: none */
	const char *error; /* why a failed or stopped file ended, or NULL */
};

/* Prints the summary table (and totals when there are several files). */
void report_table(FILE *out, const struct file_result *r, int n, bool dry_run);

/*
 * Writes the summary JSON (docs/loading.md) to path ("-": stdout), with "error" (a file's,
 * and the run's when error is not NULL: what stopped it before or besides
 * its files).  Returns ETL_OK, or ETL_ESYSTEM when the file cannot be
 * written (err names it).
 */
enum etl_code report_json(const char *path, const struct file_result *r, int n, int exit_code,
                          const char *error, struct etl_error *err);

/* Writes s as a JSON string (quoted; invalid UTF-8 becomes U+FFFD). */
void report_json_string(FILE *f, const char *s);

/* The same for n bytes that may hold NUL. */
void report_json_bytes(FILE *f, const char *s, size_t n);

#endif
