/*
 * cli.c — option values shared by the commands.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool
cli_parse_num(const char *s, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool
cli_parse_delimiter(const char *s, unsigned char *out)
{
	if (strcmp(s, "\\t") == 0 || strcmp(s, "tab") == 0 || strcmp(s, "\t") == 0) {
		*out = '\t';
		return true;
	}
	if (strlen(s) != 1 || s[0] == '"' || s[0] == '\n' || s[0] == '\r' ||
	    (unsigned char)s[0] >= 0x80)
		return false;
	*out = (unsigned char)s[0];
	return true;
}

void
cli_input_default(struct cli_input *in)
{
	in->enc = ENC_UTF8;
	in->delim = ',';
	in->sku_pattern = NULL;
	in->timezone = NULL;
}

int
cli_input_option(int opt, const char *arg, struct cli_input *in, struct etl_error *err)
{
	switch (opt) {
	case CLI_OPT_ENCODING:
		if (!input_parse_encoding(arg, &in->enc)) {
			(void)error_set(err, ETL_EUSAGE, NULL, 0,
			                "--encoding: \"%s\" is not utf-8, latin1 or windows-1252",
			                arg);
			return -1;
		}
		return 1;
	case CLI_OPT_DELIMITER:
		if (!cli_parse_delimiter(arg, &in->delim)) {
			(void)error_set(
			        err, ETL_EUSAGE, NULL, 0,
			        "--delimiter: \"%s\" is not a single ASCII character (or \\t)",
			        arg);
			return -1;
		}
		return 1;
	case CLI_OPT_SKU_PATTERN:
		in->sku_pattern = arg;
		return 1;
	case CLI_OPT_TIMEZONE:
		in->timezone = arg;
		return 1;
	default:
		return 0;
	}
}

int
cli_confirm(const char *question)
{
	if (!isatty(STDIN_FILENO))
		return -1;
	(void)fprintf(stderr, "%s [y/N] ", question);
	(void)fflush(stderr);
	char line[32];
	if (fgets(line, sizeof line, stdin) == NULL)
		return 0;
	return strcmp(line, "y\n") == 0 || strcmp(line, "yes\n") == 0 || strcmp(line, "Y\n") == 0;
}

bool
cli_global_option(int opt, const char *arg, struct global_opts *g)
{
	switch (opt) {
	case CLI_OPT_DB:
		g->db = arg;
		return true;
	case CLI_OPT_QUIET:
		g->quiet = true;
		return true;
	case CLI_OPT_NO_PROGRESS:
		g->no_progress = true;
		return true;
	case CLI_OPT_VERBOSE:
		etl_verbose = true;
		return true;
	default:
		return false;
	}
}

int
cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
           struct global_opts *g, struct cli_input *in, struct etl_error *err)
{
	int opt;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (cli_global_option(opt, optarg, g))
			continue;
		if (in != NULL) {
			int handled = cli_input_option(opt, optarg, in, err);
			if (handled < 0)
				return CLI_STOP;
			if (handled > 0)
				continue;
		}
		if (opt == 'h') {
			cli_help(argv[0]);
			return CLI_STOP;
		}
		if (opt == '?' || opt == ':') {
			(void)error_set(
			        err, ETL_EUSAGE, NULL, 0,
			        "%s: unknown or incomplete option '%s'; see 'siprems-etl %s "
			        "--help'",
			        argv[0], argv[optind - 1], argv[0]);
			return CLI_STOP;
		}
		return opt;
	}
	return -1;
}
