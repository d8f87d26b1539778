/*
 * progress.h — a progress line on stderr while a file loads: rows, MB read,
 * rows/s, percent and ETA (from the compressed bytes read).  Only when
 * stderr is a terminal; refreshed a few times a second; erased at the end.
 */
#ifndef SIPREMS_PROGRESS_H
#define SIPREMS_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress;

/*
 * Starts a progress line for name; total is the file's size in bytes (or
 * -1).  Returns NULL (and every later call does nothing) when enabled is
 * false or stderr is not a terminal.
 */
struct progress *progress_start(const char *name, int64_t total, bool enabled);

/* Notes how far the file is; cheap enough to call for every row. */
void progress_update(struct progress *p, uint64_t rows, uint64_t bytes);

/* Erases the line and frees p; p may be NULL. */
void progress_done(struct progress *p);

#endif
