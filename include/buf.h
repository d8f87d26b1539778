/*
 * buf.h — a growing byte buffer, the bottom of every text the program
 * builds: COPY streams, SQL, reject and CSV lines.
 */
#ifndef SIPREMS_BUF_H
#define SIPREMS_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap;
	bool failed; /* an allocation failed; the contents are incomplete */
};

/* Makes room for n more bytes; false when out of memory (failed sticks). */
bool buf_reserve(struct buf *b, size_t n);
void buf_put(struct buf *b, const void *s, size_t n);
void buf_free(struct buf *b);

#endif
