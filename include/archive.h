/*
 * archive.h — moving a loaded input file out of the way (--archive DIR), so
 * that a nightly run sees only what is still to load.
 */
#ifndef SIPREMS_ARCHIVE_H
#define SIPREMS_ARCHIVE_H

#include <stddef.h>

#include "error.h"
#include "input.h"

/* Whether dir is a directory this process may write into; else ETL_EUSAGE
 * naming it, with the reason. */
enum etl_code archive_check_dir(const char *dir, struct etl_error *err);

/*
 * Moves path into dir under its own name, or NAME.1, NAME.2… when that is
 * taken (nothing in dir is ever replaced); across file systems it copies,
 * syncs, then removes the original.  Only the file loaded moves: what
 * stands at path must be the file id names (same device, inode, size and
 * modification time), else it stays and *left is true.  Writes where it
 * went into dest.  Returns ETL_OK, or ETL_ESYSTEM naming the file and the
 * reason (the file is then still where it was).
 */
enum etl_code archive_move(const char *path, const char *dir, const struct input_id *id, bool *left,
                           char *dest, size_t size, struct etl_error *err);

#endif
