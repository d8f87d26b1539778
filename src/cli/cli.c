/*
 * cli.c — option values shared by the commands.
 */
#include "cli.h"
#include "help.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "intake.h"
#include "keyset.h"

enum etl_code
cli_file_specs(const char *cmd, char **args, int n, struct file_spec **out, struct etl_error *err)
{
	int stdin_uses = 0;
	*out = calloc((size_t)(n > 0 ? n : 1), sizeof **out);
	if (*out == NULL)
		return error_oom(err, NULL, 0);
	for (int i = 0; i < n; i++) {
		(*out)[i] = intake_spec(args[i]);
		stdin_uses += strcmp((*out)[i].file, "-") == 0;
	}
	if (stdin_uses > 1)
		return error_set(err, ETL_EUSAGE, NULL, 0, "%s: stdin ('-') can be read only once",
		                 cmd);
	return ETL_OK;
}

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
	in->format = (struct file_format){.enc = ENC_UTF8, .delim = ',', .cm = &in->cm};
	memset(&in->cm, 0, sizeof in->cm);
	in->columns[0] = '\0';
	in->profile_args = 0;
	in->cli_formats = false;
}

enum etl_code
cli_parse_on_conflict(const char *s, enum on_conflict *out, struct etl_error *err)
{
	static const char *const names[] = {"error", "skip", "update"};
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum on_conflict)i;
			return ETL_OK;
		}
	return error_set(err, ETL_EUSAGE, NULL, 0,
	                 "--on-conflict: \"%s\" is not error, skip or update", s);
}

enum etl_code
cli_parse_case_variants(const char *s, bool *allow, struct etl_error *err)
{
	if (strcmp(s, "reject") != 0 && strcmp(s, "allow") != 0)
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "--case-variants: \"%s\" is not reject or allow", s);
	*allow = strcmp(s, "allow") == 0;
	return ETL_OK;
}

enum etl_code
cli_parse_max_rejects(const char *s, int64_t *out, struct etl_error *err)
{
	long long num = -1;
	if (strcmp(s, "none") != 0 && !cli_parse_num(s, 0, LLONG_MAX, &num))
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "--max-rejects: \"%s\" is not a number >= 0 or none", s);
	*out = num;
	return ETL_OK;
}

const char *const cli_load_only[] = {
        "batch-rows",   "on-conflict",   "max-rejects",  "max-reject-bytes",
        "reject-dir",   "dry-run",       "force",        "single-transaction",
        "summary-json", "allow-future",  "jobs",         "copy-format",
        "archive",      "case-variants", "lock-timeout", NULL,
};
const char *const cli_check_only[] = {"format", NULL};
/* What a profile may say that check has no use for (it predicts a load
 * with the profile's --on-conflict, --case-variants, --allow-future and
 * --max-rejects). */
const char *const cli_load_run_only[] = {
        "batch-rows",   "max-reject-bytes",
        "reject-dir",   "dry-run",
        "force",        "single-transaction",
        "summary-json", "jobs",
        "copy-format",  "archive",
        "lock-timeout", NULL,
};

/* Whether name is a column of some kind. */
static bool
any_column(const char *name)
{
	for (int k = 0; k < KIND_COUNT; k++)
		if (table_col_index(table_get((enum kind)k), name, strlen(name)) >= 0)
			return true;
	return false;
}

/* A copy of [s, e) without the spaces at its ends, or NULL. */
static char *
trimmed_copy(const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return strndup(s, (size_t)(e - s));
}

/* --map SRC=DST (the last '=' splits: a file's name may hold one; spaces
 * around either name do not count). */
static int
add_map(const char *arg, struct cli_input *in, struct etl_error *err)
{
	const char *eq = strrchr(arg, '=');
	char *src = eq ? trimmed_copy(arg, eq) : NULL;
	char *dst = eq ? trimmed_copy(eq + 1, eq + strlen(eq)) : NULL;
	int rc = -1;
	if (eq != NULL && (src == NULL || dst == NULL)) {
		(void)error_oom(err, NULL, 0);
	} else if (eq == NULL || src[0] == '\0' || dst[0] == '\0') {
		(void)error_set(err, ETL_EUSAGE, NULL, 0,
		                "--map: \"%s\" is not SRC=DST (the file's column = one of the "
		                "kind's columns, or - to ignore it)",
		                arg);
	} else if (strcmp(dst, "-") != 0 && !any_column(dst)) {
		(void)error_set(err, ETL_EUSAGE, NULL, 0,
		                "--map: \"%s\" is not a column of any kind (see 'siprems-etl "
		                "load --help' or docs/formats.md), nor - to ignore the field",
		                dst);
	} else if (in->cm.nmap == COLMAP_MAXMAP) {
		(void)error_set(err, ETL_EUSAGE, NULL, 0, "--map: more than %d given",
		                COLMAP_MAXMAP);
	} else {
		in->cm.map[in->cm.nmap].src = src;
		in->cm.map[in->cm.nmap++].dst = dst;
		return 1;
	}
	free(src);
	free(dst);
	return rc;
}

/* --columns a,b,c: the names of a file without a header. */
static int
set_columns(const char *arg, struct cli_input *in, struct etl_error *err)
{
	size_t n = strlen(arg);
	if (n == 0 || n >= sizeof in->columns) {
		(void)error_set(err, ETL_EUSAGE, NULL, 0,
		                "--columns: the list must be 1 to %zu bytes",
		                sizeof in->columns - 1);
		return -1;
	}
	memcpy(in->columns, arg, n + 1);
	in->cm.ncolumns = 0;
	for (char *p = in->columns;;) {
		char *comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		char *e = p + strlen(p);
		while (*p == ' ')
			p++;
		while (e > p && e[-1] == ' ')
			*--e = '\0';
		if (*p == '\0' || in->cm.ncolumns == COLMAP_MAXFIELDS) {
			(void)error_set(err, ETL_EUSAGE, NULL, 0,
			                *p ? "--columns: \"%s\" names more than 64 fields"
			                   : "--columns: \"%s\" has an empty name (use - for a "
			                     "field to ignore)",
			                arg);
			return -1;
		}
		in->cm.columns[in->cm.ncolumns++] = p;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 1;
}

/* --max-key-memory N[K|M|G] or none: the bound of what the run's keys hold
 * (keyset.h), at least 1 MiB. */
static int
set_key_memory(const char *arg, struct etl_error *err)
{
	if (strcmp(arg, "none") == 0) {
		keyset_set_bound(0);
		return 1;
	}
	char *end;
	errno = 0;
	unsigned long long n = strtoull(arg, &end, 10);
	unsigned shift = 0;
	if (*end != '\0' && end[1] == '\0' && strchr("KkMmGg", *end) != NULL)
		shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : 30;
	else if (*end != '\0')
		n = 0;
	if (errno != 0 || !isdigit((unsigned char)arg[0]) || n == 0 || n > (SIZE_MAX >> shift) ||
	    (n << shift) < 1024 * 1024) {
		(void)error_set(
		        err, ETL_EUSAGE, NULL, 0,
		        "--max-key-memory: \"%s\" is not a size of at least 1M (a number of "
		        "bytes, or with K, M or G) or none",
		        arg);
		return -1;
	}
	keyset_set_bound((size_t)(n << shift));
	return 1;
}

int
cli_input_option(int opt, const char *arg, struct cli_input *in, struct etl_error *err)
{
	switch (opt) {
	case CLI_OPT_ENCODING:
		if (!input_parse_encoding(arg, &in->format.enc)) {
			(void)error_set(err, ETL_EUSAGE, NULL, 0,
			                "--encoding: \"%s\" is not utf-8, latin1, windows-1252, "
			                "utf-16, utf-16le, utf-16be, utf-32, utf-32le or utf-32be",
			                arg);
			return -1;
		}
		return 1;
	case CLI_OPT_DELIMITER:
		if (!cli_parse_delimiter(arg, &in->format.delim)) {
			(void)error_set(
			        err, ETL_EUSAGE, NULL, 0,
			        "--delimiter: \"%s\" is not a single ASCII character (or \\t)",
			        arg);
			return -1;
		}
		return 1;
	case CLI_OPT_SKU_PATTERN:
		in->format.sku_pattern = arg;
		return 1;
	case CLI_OPT_TIMEZONE:
		in->format.timezone = arg;
		return 1;
	case CLI_OPT_MAP:
		return add_map(arg, in, err);
	case CLI_OPT_COLUMNS:
		return set_columns(arg, in, err);
	case CLI_OPT_DATE_FORMAT:
		/* The command line's patterns replace the profile's. */
		if (optind - 1 > in->profile_args && !in->cli_formats) {
			in->cli_formats = true;
			in->format.fmt.ndate_formats = 0;
		}
		if (in->format.fmt.ndate_formats == VALID_MAXFORMATS) {
			(void)error_set(err, ETL_EUSAGE, NULL, 0,
			                "--date-format: at most %d patterns may be given",
			                VALID_MAXFORMATS);
			return -1;
		}
		in->format.fmt.date_formats[in->format.fmt.ndate_formats++] = arg;
		return 1;
	case CLI_OPT_DECIMAL_COMMA:
		in->format.fmt.decimal_comma = true;
		return 1;
	case CLI_OPT_CURRENCY:
		in->format.fmt.currency = arg;
		return 1;
	case CLI_OPT_NULL:
		in->format.fmt.null = arg;
		return 1;
	case CLI_OPT_MAX_KEY_MEMORY:
		return set_key_memory(arg, err);
	case CLI_OPT_PROFILE:
		return 1; /* read before the options, by cli_profile_expand() */
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

/* Overwrites [a, b) with '*'. */
static void
star(char *a, const char *b)
{
	for (; a < b; a++)
		*a = '*';
}

/* Whether a URI parameter's name (n bytes, percent-encoded) is password. */
static bool
password_name(const char *s, size_t n)
{
	char name[16];
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < sizeof name; i++) {
		unsigned v;
		if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &v) == 1) {
			name[o++] = (char)v;
			i += 2;
		} else {
			name[o++] = s[i];
		}
	}
	name[o] = '\0';
	return strcmp(name, "password") == 0;
}

/*
 * Overwrites, in place and at the same length, the password a connection
 * text on the command line holds, read as libpq reads it: a URI's user
 * information (to the last '@' before the first '/') and its password=
 * parameter (the name percent-decoded), or a conninfo's password value
 * (quoted or not, with backslash escapes).  ps shows the process's
 * arguments to every user.
 */
static void
scrub_password(char *s)
{
	char *sep = strstr(s, "://");
	if (sep != NULL) {
		char *p = sep + 3, *at = NULL, *last = strrchr(p, '@');
		for (char *q = p; *q != '\0' && *q != '/'; q++)
			if (*q == '@')
				at = q;
		/* As libpq reads it, and as its writer meant it (see dbconf.c). */
		char *colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
		if (colon != NULL)
			star(colon + 1, at);
		colon = last ? memchr(p, ':', (size_t)(last - p)) : NULL;
		if (colon != NULL && last != at)
			star(colon + 1, last);
		for (char *a = strchr(at ? at : p, '?'); a != NULL && *a != '\0';) {
			a++;
			char *end = a + strcspn(a, "&"), *eq = memchr(a, '=', (size_t)(end - a));
			if (eq != NULL && password_name(a, (size_t)(eq - a)))
				star(eq + 1, end);
			a = *end != '\0' ? end : NULL;
		}
		return;
	}
	for (char *k = s; *k != '\0';) {
		while (isspace((unsigned char)*k))
			k++;
		char *name = k;
		while (*k != '\0' && *k != '=' && !isspace((unsigned char)*k))
			k++;
		size_t nl = (size_t)(k - name);
		while (isspace((unsigned char)*k))
			k++;
		if (*k != '=') {
			while (*k != '\0' && !isspace((unsigned char)*k))
				k++;
			continue;
		}
		k++;
		while (isspace((unsigned char)*k))
			k++;
		char *v = k;
		if (*k == '\'') {
			for (k++; *k != '\0' && *k != '\''; k++)
				if (*k == '\\' && k[1] != '\0')
					k++;
			if (*k == '\'')
				k++;
		} else {
			for (; *k != '\0' && !isspace((unsigned char)*k); k++)
				if (*k == '\\' && k[1] != '\0')
					k++;
		}
		if (nl == 8 && strncmp(name, "password", 8) == 0)
			star(v, k);
	}
}

bool
cli_global_option(int opt, const char *arg, struct global_opts *g)
{
	/* The text as given is kept (the same argument may be read twice:
	 * profile, then command); the argument itself is scrubbed. */
	static const char *scrubbed;
	static char *kept;
	switch (opt) {
	case CLI_OPT_DB:
		if (arg != scrubbed) {
			free(kept);
			kept = strdup(arg);
			if (kept == NULL)
				return false;
			scrubbed = arg;
			scrub_password((char *)arg);
		}
		g->db = kept;
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

/* The argument cli_getopt() last handed over or failed on; -1 after the
 * last option. */
static int last_arg = -1;

enum etl_code
cli_profile_expand(int *argc, char ***argv, const struct option *longopts,
                   const char *const *ignore, struct cli_profile *cp, struct cli_input *in,
                   struct etl_error *err)
{
	memset(cp, 0, sizeof *cp);
	char **av = *argv;
	for (int i = 1; i < *argc && strcmp(av[i], "--") != 0; i++) {
		const char *path = NULL;
		if (strcmp(av[i], "--profile") == 0 && i + 1 < *argc)
			path = av[++i];
		else if (strncmp(av[i], "--profile=", 10) == 0)
			path = av[i] + 10;
		if (path == NULL)
			continue;
		enum etl_code rc = profile_read(&cp->p, path, longopts, ignore, err);
		if (rc != ETL_OK)
			return rc;
	}
	if (cp->p.nargs == 0)
		return ETL_OK;
	cp->argc = *argc + cp->p.nargs;
	cp->argv = calloc((size_t)cp->argc + 1, sizeof *cp->argv);
	if (cp->argv == NULL)
		return error_oom(err, NULL, 0);
	cp->argv[0] = av[0];
	for (int i = 0; i < cp->p.nargs; i++)
		cp->argv[1 + i] = cp->p.args[i].arg;
	for (int i = 1; i < *argc; i++)
		cp->argv[cp->p.nargs + i] = av[i];
	*argc = cp->argc;
	*argv = cp->argv;
	in->profile_args = cp->p.nargs;
	return ETL_OK;
}

void
cli_profile_free(struct cli_profile *cp)
{
	profile_free(&cp->p);
	free(cp->argv);
	memset(cp, 0, sizeof *cp);
}

void
cli_profile_blame(const struct cli_profile *cp, struct etl_error *err)
{
	if (err->code != ETL_EUSAGE || err->file[0] != '\0' || last_arg < 1 ||
	    last_arg > cp->p.nargs)
		return;
	const struct profile_arg *a = &cp->p.args[last_arg - 1];
	(void)snprintf(err->file, sizeof err->file, "%s", a->file);
	err->line = a->line;
}

enum etl_code
cli_run_with_profile(int argc, char **argv, struct global_opts *g, const struct option *longopts,
                     const char *const *ignore, cli_main_fn fn, struct etl_error *err)
{
	struct cli_input in;
	struct cli_profile cp;
	cli_input_default(&in);
	enum etl_code rc = cli_profile_expand(&argc, &argv, longopts, ignore, &cp, &in, err);
	if (rc == ETL_OK)
		rc = fn(argc, argv, g, &in, err);
	cli_profile_blame(&cp, err);
	cli_input_free(&in);
	cli_profile_free(&cp);
	return rc;
}

void
cli_input_free(struct cli_input *in)
{
	for (int i = 0; i < in->cm.nmap; i++) {
		free((char *)in->cm.map[i].src);
		free((char *)in->cm.map[i].dst);
	}
	in->cm.nmap = 0;
}

int
cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
           struct global_opts *g, struct cli_input *in, struct etl_error *err)
{
	int opt;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		last_arg = optind - 1;
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
	last_arg = -1;
	return -1;
}
