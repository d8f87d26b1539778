/*
 * cmd_generate.c — `siprems-etl generate --out DIR [--products N] [--days N]
 * [--seed N] [--end YYYY-MM-DD]`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

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
	int opt;
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
			o.days = (int)num;
			break;
		case OPT_SEED:
			if (!cli_parse_num(optarg, 0, INT64_MAX, &num))
				return error_set(err, ETL_EUSAGE, NULL, 0,
				                 "--seed: \"%s\" is not a number >= 0", optarg);
			o.seed = (uint64_t)num;
			break;
		case OPT_END: {
			struct value v;
			char why[256];
			static const struct col_def end = {.name = "end", .rule = RULE_DATE};
			if (!valid_value(NULL, &end, optarg, strlen(optarg), &v, why, sizeof why))
				return error_set(err, ETL_EUSAGE, NULL, 0, "--end: %s", why);
			o.end = (int32_t)v.i;
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
	struct gen_stats st;
	enum etl_code rc = generate(&o, &st, err);
	if (rc != ETL_OK)
		return rc;
	for (int i = 0; i < st.nincomplete; i++)
		warnx_etl(
		        "the moving holidays of %d are not known to this version (official dates "
		        "are built in for 2023 to 2026); only its fixed-date holidays were written",
		        st.incomplete_years[i]);
	if (!g->quiet)
		(void)fprintf(
		        stderr,
		        "generate: %llu products, %llu sales rows, %llu events, %llu users in "
		        "%s in %.2f s (%.0f sales rows/s)\n",
		        (unsigned long long)st.products, (unsigned long long)st.sales,
		        (unsigned long long)st.events, (unsigned long long)st.users, o.out,
		        st.seconds, st.seconds > 0 ? (double)st.sales / st.seconds : 0.0);
	return ETL_OK;
}
