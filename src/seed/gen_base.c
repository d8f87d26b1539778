/*
 * gen_base.c — the tools of generate: a seeded random stream
 * (xoshiro256** through splitmix64, the same on every machine) and gzip
 * files without a time stamp, so that a seed always gives the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csvout.h"
#include "gen_base.h"
#include "safefile.h"

/* ---- randomness --------------------------------------------------------- */

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

void
gen_rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
gen_rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform in [0, 1). */
double
gen_rng_unit(struct rng *r)
{
	return (double)(gen_rng_next(r) >> 11) * 0x1.0p-53;
}

int
gen_rng_below(struct rng *r, int n)
{
	return (int)(gen_rng_unit(r) * n);
}

int
gen_poisson(struct rng *r, double mean)
{
	if (mean <= 0)
		return 0;
	if (mean < 30) {
		double l = exp(-mean), p = 1;
		int k = 0;
		do {
			k++;
			p *= gen_rng_unit(r);
		} while (p > l);
		return k - 1;
	}
	/* Large means: the normal approximation. */
	double u1 = gen_rng_unit(r), u2 = gen_rng_unit(r);
	double z = sqrt(-2 * log(u1 + 1e-300)) * cos(2 * M_PI * u2);
	long v = lround(mean + sqrt(mean) * z);
	return v < 0 ? 0 : (int)v;
}

/* ---- deterministic gzip output ------------------------------------------- */

bool
gen_gz_open(struct gzout *g, const char *dir, const char *name, struct buf *mem, int level)
{
	memset(g, 0, sizeof *g);
	g->fd = -1;
	g->mem = mem;
	if (asprintf(&g->path, "%s/%s", dir ? dir : "memory", name) < 0) {
		g->path = NULL;
		return false;
	}
	if (mem == NULL) {
		/* Under a name of its own, renamed over the path at the end. */
		g->fd = safefile_temp(g->path, 0644, &g->tmp);
		if (g->fd < 0) {
			g->err = errno;
			return false;
		}
	}
	/* The gzip wrapper; zlib writes no time stamp unless asked. */
	if (deflateInit2(&g->z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	g->open = true;
	return true;
}

/* Hands n compressed bytes to the file or the memory buffer. */
static bool
gz_emit(struct gzout *g, const unsigned char *p, size_t n)
{
	if (g->mem != NULL) {
		buf_put(g->mem, p, n);
		if (g->mem->failed)
			g->err = ENOMEM;
		return !g->mem->failed;
	}
	for (size_t done = 0; done < n;) {
		ssize_t w = write(g->fd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			g->err = errno;
			return false;
		}
		done += (size_t)w;
	}
	return true;
}

static bool
gz_flush(struct gzout *g, int mode)
{
	g->z.next_in = (Bytef *)g->in.data;
	g->z.avail_in = (uInt)g->in.len;
	do {
		g->z.next_out = g->out;
		g->z.avail_out = sizeof g->out;
		int zr = deflate(&g->z, mode);
		if (zr == Z_STREAM_ERROR)
			return false;
		if (!gz_emit(g, g->out, sizeof g->out - g->z.avail_out))
			return false;
	} while (g->z.avail_out == 0);
	g->in.len = 0;
	return true;
}

void
gen_gz_put(struct gzout *g, const char *s, size_t n)
{
	buf_put(&g->in, s, n);
	if (g->in.failed)
		g->failed = true;
	else if (g->in.len >= (1 << 18) && !gz_flush(g, Z_NO_FLUSH))
		g->failed = true;
}

enum etl_code
gen_gz_close(struct gzout *g, struct etl_error *err)
{
	bool ok = g->open && !g->failed && gz_flush(g, Z_FINISH);
	if (g->open)
		(void)deflateEnd(&g->z);
	if (g->fd >= 0 && close(g->fd) != 0)
		ok = false;
	if (g->tmp != NULL) {
		if (!ok)
			(void)safefile_unlink(g->tmp);
		else if (!safefile_commit(g->tmp, g->path))
			ok = false, g->err = errno;
	}
	enum etl_code rc = ok ? ETL_OK
	                      : error_set(err, ETL_ESYSTEM, g->path ? g->path : "?", 0,
	                                  "cannot write: %s", strerror(g->err ? g->err : EIO));
	buf_free(&g->in);
	free(g->path);
	free(g->tmp);
	return rc;
}

/* The header row of kind: its columns in table order, but never a
 * plaintext secret (users.password), which generate does not write. */
void
gen_put_header(struct gzout *g, enum kind kind)
{
	const struct table_def *t = table_get(kind);
	const char *sep = "";
	for (int c = 0; c < t->ncols; c++) {
		if (t->cols[c].flags & COL_SECRET)
			continue;
		gen_gz_put(g, sep, strlen(sep));
		gen_gz_put(g, t->cols[c].name, strlen(t->cols[c].name));
		sep = ",";
	}
	gen_gz_put(g, "\n", 1);
}

/* Writes a field (quoted as every CSV this program writes) and the
 * separator or line end after it. */
void
gen_csv_put(struct gzout *g, const char *s, bool last)
{
	csv_put_field(&g->in, s, strlen(s), ',', true);
	gen_gz_put(g, last ? "\n" : ",", 1);
}
