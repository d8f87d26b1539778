/*
 * cli.c — option values shared by the commands.
 */
#include "cli.h"

#include <errno.h>
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
