/*
 * generate.h — a realistic synthetic data set for a small Indonesian shop.
 *
 * Writes products.csv.gz, sales.csv.gz, events.csv.gz and users.csv.gz in
 * SPEC's formats, deterministically from the seed: the same options give
 * byte-identical files.  Sales follow a weekly pattern (weekend peaks),
 * yearly seasonality, a slow trend, promotions (with their uplift, discount
 * and is_promo), spikes before holidays and Lebaran, a closed shop on Idul
 * Fitri, seasonal products, products introduced later, and several rows per
 * product and day at shop-hour times.  Events: the national holidays of
 * every year covered plus the next (see holidays.h), Ramadan and school
 * holidays, promotions, one-off events.  Sales stream out a day at a time:
 * memory does not grow with the number of rows.
 */
#ifndef SIPREMS_GENERATE_H
#define SIPREMS_GENERATE_H

#include <stdint.h>

#include "error.h"

struct gen_opts {
	const char *out; /* directory, created when missing */
	int products;    /* default 40 */
	int days;        /* default 731 */
	uint64_t seed;   /* default 42 */
	int32_t end;     /* last sales day, days since 2000-01-01 (default 2025-12-31) */
};

struct gen_stats {
	uint64_t products, sales, events, users;
	double seconds;
	int incomplete_years[8]; /* years whose moving holidays are unknown */
	int nincomplete;
};

/* The defaults above. */
void generate_default(struct gen_opts *o);

/*
 * Writes the data set.  Returns ETL_OK, or ETL_ESYSTEM (err names the file)
 * when a file cannot be written.
 */
enum etl_code generate(const struct gen_opts *o, struct gen_stats *stats, struct etl_error *err);

#endif
