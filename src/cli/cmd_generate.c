/*
 * cmd_generate.c — `siprems-etl generate --out DIR [--products N] [--days N]
 * [--seed N] [--end YYYY-MM-DD|today]`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "cli.h"
#include "generate.h"
#include "valid.h"

enum { OPT_OUT = CLI_OPT_FIRST_LOCAL, OPT_PRODUCTS, OPT_DAYS, OPT_SEED, OPT_END };

enum etl_code
cmd_generate(int argc, char **argv, struct global_opts *g, struct etl_error *err)
{
	static const struct option longopts[] = {
	        CLI_GLOBAL_LONGOPTS,
	        {"out", required_argument, NULL, OPT_OUT},
	        {"products", required_argument, NULL, OPT_PRODUCTS},
	        {"days", required_argument, NULL, OPT_DAYS},
	        {"seed", required_argument, NULL, OPT_SEED},
	        {"end", required_argument, NULL, OPT_END},
	        {NULL, 0, NULL, 0},
	};
	struct gen_opts o;
	long long num;
	int opt, days = 731, cut = GEN_DAY_SECONDS;
	int32_t end = (int32_t)calendar_days_from_civil(2025, 12, 31);
	generate_default(&o);
	while ((opt = cli_getopt(argc, argv, ":h", longopts, g, NULL, err)) >= 0) {
		switch (opt) {
		case OPT_OUT:
			o.out = optarg;
			break;
		case OPT_PRODUCTS:
			if (!cli_parse_num(optarg, 1, 1000000, &num))
				return error_set(
				        err, ETL_EUSAGE, NULL, 0,
				        "--products: \"%s\" is not a number from 1 to 1000000",
				        optarg);
			o.products = (int)num;
			break;
		case OPT_DAYS:
			if (!cli_parse_num(optarg, 1, 36500, &num))
				return error_set(err, ETL_EUSAGE, NULL, 0,
				                 "--days: \"%s\" is not a number from 1 to 36500",
				                 optarg);
			days = (int)num;
			break;
		case OPT_SEED:
			if (!cli_parse_num(optarg, 0, INT64_MAX, &num))
				return error_set(err, ETL_EUSAGE, NULL, 0,
				                 "--seed: \"%s\" is not a number >= 0", optarg);
			o.seed = (uint64_t)num;
			break;
		case OPT_END: {
			if (strcmp(optarg, "today") == 0) {
				/* The history up to now, in this machine's time zone. */
				time_t now = time(NULL);
				struct tm tm;
				if (localtime_r(&now, &tm) == NULL)
					return error_set(err, ETL_ESYSTEM, NULL, 0,
					                 "--end today: no local time");
				end = (int32_t)calendar_days_from_civil(tm.tm_year + 1900,
				                                        (unsigned)tm.tm_mon + 1,
				                                        (unsigned)tm.tm_mday);
				cut = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
				break;
			}
			struct value v;
			char why[256];
			static const struct col_def end_col = {.name = "end", .rule = RULE_DATE};
			if (!valid_value(NULL, &end_col, optarg, strlen(optarg), &v, why,
			                 sizeof why))
				return error_set(err, ETL_EUSAGE, NULL, 0, "--end: %s", why);
			end = (int32_t)v.i;
			cut = GEN_DAY_SECONDS;
			break;
		}
		}
	}
	if (opt == CLI_STOP)
		return err->code;
	if (optind < argc)
		return error_set(err, ETL_EUSAGE, NULL, 0, "generate: unexpected argument '%s'",
		                 argv[optind]);
	if (o.out == NULL)
		return error_set(err, ETL_EUSAGE, NULL, 0, "generate: --out DIR is required");
	generate_window(&o, end, days, cut);
	struct gen_stats st;
	enum etl_code rc = generate(&o, &st, err);
	if (rc != ETL_OK)
		return rc;
	if (g->quiet)
		return ETL_OK;
	(void)fprintf(stderr,
	              "generate: %llu products, %llu sales rows, %llu events, %llu users in %s in "
	              "%.2f s",
	              (unsigned long long)st.products, (unsigned long long)st.sales,
	              (unsigned long long)st.events, (unsigned long long)st.users, o.out,
	              st.seconds);
	/* A rate says something only over many rows. */
	if (st.sales >= 100000 && st.seconds > 0)
		(void)fprintf(stderr, " (%.0f sales rows/s)", (double)st.sales / st.seconds);
	(void)fputc('\n', stderr);
	return ETL_OK;
}
