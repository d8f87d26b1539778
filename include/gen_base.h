/*
 * gen_base.h — the random stream and the gzip writer of generate.
 */
#ifndef SIPREMS_GEN_BASE_H
#define SIPREMS_GEN_BASE_H

#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#include "buf.h"
#include "error.h"
#include "table.h"

/* xoshiro256** */
struct rng {
	uint64_t s[4];
};

/* A gzip file being written, without a time stamp in its header. */
struct gzout {
	int fd;          /* -1 when writing into mem */
	struct buf *mem; /* the compressed bytes go here instead, or NULL */
	bool open;       /* the deflate stream was set up */
	z_stream z;
	unsigned char out[1 << 16];
	struct buf in; /* text waiting to be compressed */
	char *path;
	char *tmp; /* the file being written, renamed to path at the end */
	bool failed;
	int err;
};

/* Seeds r through splitmix64; the next 64 random bits. */
void gen_rng_seed(struct rng *r, uint64_t seed);
uint64_t gen_rng_next(struct rng *r);

/* Uniform in [0, 1). */
double gen_rng_unit(struct rng *r);

/* Uniform in [0, n); Poisson-distributed with the given mean. */
int gen_rng_below(struct rng *r, int n);
int gen_poisson(struct rng *r, double mean);

/* Creates dir/name, or with mem non-NULL appends the gzip bytes to mem
 * (the caller's, freed by the caller) instead; failures show at
 * gen_gz_close.  Appends to it, and finishes it: ETL_OK, or ETL_ESYSTEM
 * naming the file. */
bool gen_gz_open(struct gzout *g, const char *dir, const char *name, struct buf *mem, int level);
void gen_gz_put(struct gzout *g, const char *s, size_t n);
enum etl_code gen_gz_close(struct gzout *g, struct etl_error *err);

/* The header row of kind: its columns in table order, but never a
 * plaintext secret (users.password), which generate does not write. */
void gen_put_header(struct gzout *g, enum kind kind);

/* Writes a field (quoted as every CSV this program writes) and the
 * separator or line end after it. */
void gen_csv_put(struct gzout *g, const char *s, bool last);

#endif
