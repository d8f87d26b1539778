/*
 * csvout.h — the one CSV field writer: reject files, check --format csv
 * and generate all quote the same way.
 */
#ifndef SIPREMS_CSVOUT_H
#define SIPREMS_CSVOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * Appends field s (n bytes) to b, preceded by delim unless first.  The
 * field is quoted when it holds the delimiter, a quote or a line break, or
 * starts or ends with a space a reader might trim; quotes inside are
 * doubled.  b->failed tells of a failed allocation.
 */
void csv_put_field(struct buf *b, const char *s, size_t n, unsigned char delim, bool first);

#endif
