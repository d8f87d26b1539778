/*
 * generate.h — a realistic synthetic data set for a small Indonesian shop.
 *
 * Writes products.csv.gz, sales.csv.gz, events.csv.gz and users.csv.gz in
 * the formats load reads, deterministically from the seed: the same options
 * give byte-identical files, and each day's sales and each year's events
 * are the same whatever range is asked for (seed extends a database with
 * the rows a fresh seed would hold).  Sales follow a weekly pattern (weekend peaks),
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

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "table.h"

/* Seconds of a whole day, for gen_opts.cut. */
#define GEN_DAY_SECONDS 86400

struct gen_opts {
	const char *out; /* directory, created when missing; NULL: into mem */
	struct buf *mem; /* with out NULL: KIND_COUNT buffers, one gzip file a kind */
	int products;    /* default 40 */
	uint64_t seed;   /* default 42 */
	/*
	 * The sales written: those at local times from <= t < until, in seconds
	 * since 2000-01-01 00:00.  A day's sales do not depend on the range
	 * asked for, so two adjacent ranges hold exactly the rows of one.
	 */
	int64_t from, until;
	int first_year, last_year; /* the events of these years (none if first > last) */
	bool history_only;         /* only sales and events: no products, no users */
};

struct gen_stats {
	uint64_t products, sales, events, users;
	double seconds;
};

/* The defaults above, with the window of generate_window(o, 2025-12-31,
 * 731, GEN_DAY_SECONDS). */
void generate_default(struct gen_opts *o);

/*
 * Sets the sales to the days days ending with day end, of which only the
 * first cut seconds (the hours already past when end is today), and the
 * events to every year from the first sales day's through the year after
 * end's.
 */
void generate_window(struct gen_opts *o, int32_t end, int days, int cut);

/*
 * Writes the data set.  Returns ETL_OK, or ETL_ESYSTEM (err names the file)
 * when a file cannot be written or memory runs out.
 */
enum etl_code generate(const struct gen_opts *o, struct gen_stats *stats, struct etl_error *err);

#endif
