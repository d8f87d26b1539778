/*
 * cli.h — what main.c hands to each command, and the commands themselves.
 *
 * Each command parses its own options (the global ones are accepted there
 * too), wires the pipeline stages together and returns an etl_code.  Only
 * main.c prints the final error and turns the code into an exit status.
 */
#ifndef SIPREMS_CLI_H
#define SIPREMS_CLI_H

#include <stdbool.h>

#include "colmap.h"
#include "copy.h"
#include "error.h"
#include "input.h"
#include "intake.h"
#include "profile.h"
#include "valid.h"

struct global_opts {
	const char *db;   /* --db, or NULL */
	bool quiet;       /* --quiet: only errors and the summary */
	bool no_progress; /* --no-progress */
};

typedef enum etl_code (*command_fn)(int argc, char **argv, struct global_opts *g,
                                    struct etl_error *err);

enum etl_code cmd_schema(int argc, char **argv, struct global_opts *g, struct etl_error *err);
enum etl_code cmd_load(int argc, char **argv, struct global_opts *g, struct etl_error *err);
enum etl_code cmd_check(int argc, char **argv, struct global_opts *g, struct etl_error *err);
enum etl_code cmd_generate(int argc, char **argv, struct global_opts *g, struct etl_error *err);
enum etl_code cmd_seed(int argc, char **argv, struct global_opts *g, struct etl_error *err);
enum etl_code cmd_history(int argc, char **argv, struct global_opts *g, struct etl_error *err);

/*
 * Handles an option shared by every command (--db, --quiet, --no-progress)
 * for a getopt_long loop; returns true when opt was one of them.
 */
bool cli_global_option(int opt, const char *arg, struct global_opts *g);

/* The getopt_long entries of the global options, to append to a command's
 * table; their values are CLI_OPT_DB…. */
enum {
	CLI_OPT_DB = 1000,
	CLI_OPT_QUIET,
	CLI_OPT_NO_PROGRESS,
	CLI_OPT_VERBOSE,
	CLI_OPT_ENCODING,
	CLI_OPT_DELIMITER,
	CLI_OPT_SKU_PATTERN,
	CLI_OPT_TIMEZONE,
	CLI_OPT_MAP,
	CLI_OPT_COLUMNS,
	CLI_OPT_DATE_FORMAT,
	CLI_OPT_DECIMAL_COMMA,
	CLI_OPT_CURRENCY,
	CLI_OPT_NULL,
	CLI_OPT_MAX_KEY_MEMORY,
	CLI_OPT_PROFILE,
	CLI_OPT_FIRST_LOCAL
};

/* The getopt_long entries every command accepts. */
#define CLI_GLOBAL_LONGOPTS                                                                        \
	{"db", required_argument, NULL, CLI_OPT_DB}, {"quiet", no_argument, NULL, CLI_OPT_QUIET},  \
	        {"no-progress", no_argument, NULL, CLI_OPT_NO_PROGRESS},                           \
	        {"verbose", no_argument, NULL, CLI_OPT_VERBOSE},                                   \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/* How input files are read and keys validated: options `load` and `check`
 * share. */
struct cli_input {
	struct file_format format; /* what the options say; its cm is &cm */
	struct colmap_opts cm;     /* --map, --columns */
	char columns[1024];        /* --columns' names, split in place */
	int profile_args;          /* argv[1..profile_args] came from --profile */
	bool cli_formats;          /* the command line gave --date-format */
};

#define CLI_INPUT_LONGOPTS                                                                         \
	{"encoding", required_argument, NULL, CLI_OPT_ENCODING},                                   \
	        {"delimiter", required_argument, NULL, CLI_OPT_DELIMITER},                         \
	        {"sku-pattern", required_argument, NULL, CLI_OPT_SKU_PATTERN},                     \
	        {"timezone", required_argument, NULL, CLI_OPT_TIMEZONE},                           \
	        {"map", required_argument, NULL, CLI_OPT_MAP},                                     \
	        {"columns", required_argument, NULL, CLI_OPT_COLUMNS},                             \
	        {"date-format", required_argument, NULL, CLI_OPT_DATE_FORMAT},                     \
	        {"decimal-comma", no_argument, NULL, CLI_OPT_DECIMAL_COMMA},                       \
	        {"currency", required_argument, NULL, CLI_OPT_CURRENCY},                           \
	        {"null", required_argument, NULL, CLI_OPT_NULL},                                   \
	        {"max-key-memory", required_argument, NULL, CLI_OPT_MAX_KEY_MEMORY},               \
	{                                                                                          \
		"profile", required_argument, NULL, CLI_OPT_PROFILE                                \
	}

/* A command line with its --profile files read in front of it. */
struct cli_profile {
	struct profile p;
	char **argv; /* argv[0], the profiles' arguments, the command line's */
	int argc;
};

/*
 * Reads the --profile files named in argv (before any "--") and makes
 * *argc, *argv the command line with their entries in front (in->
 * profile_args says how many); names in ignore are another command's
 * options, skipped.  Returns ETL_OK or ETL_EUSAGE / ETL_ESYSTEM (a profile's
 * file and line in err).  The caller frees cp with cli_profile_free().
 */
enum etl_code cli_profile_expand(int *argc, char ***argv, const struct option *longopts,
                                 const char *const *ignore, struct cli_profile *cp,
                                 struct cli_input *in, struct etl_error *err);
void cli_profile_free(struct cli_profile *cp);

/* When the option error in err came from a profile's entry, names the
 * profile's file and line in err. */
void cli_profile_blame(const struct cli_profile *cp, struct etl_error *err);

/* A command's body: its options and its work, on a command line that
 * holds the profiles' options in front. */
typedef enum etl_code (*cli_main_fn)(int argc, char **argv, struct global_opts *g,
                                     struct cli_input *in, struct etl_error *err);

/*
 * Runs fn on the command line with its --profile files read in front of it
 * (cli_profile_expand), then names a profile's file and line in an option
 * error that came from one (cli_profile_blame).  Returns what fn returns,
 * or the error of reading a profile.
 */
enum etl_code cli_run_with_profile(int argc, char **argv, struct global_opts *g,
                                   const struct option *longopts, const char *const *ignore,
                                   cli_main_fn fn, struct etl_error *err);

/* The options only `load` takes, and only `check` (skipped in a profile
 * the other command reads). */
extern const char *const cli_load_only[];
extern const char *const cli_check_only[];
extern const char *const cli_load_run_only[];

/* Sets the defaults (UTF-8, ',', the default SKU pattern, UTC, ISO dates,
 * no map). */
void cli_input_default(struct cli_input *in);

/* Frees what the options put in in (the --map names). */
void cli_input_free(struct cli_input *in);

/*
 * Handles an input option for a getopt_long loop: returns 1 when opt was
 * one (and set it), 0 when not, -1 for a bad value (ETL_EUSAGE in err).
 */
int cli_input_option(int opt, const char *arg, struct cli_input *in, struct etl_error *err);

/* Parses a whole decimal number within [min, max]. */
bool cli_parse_num(const char *s, long long min, long long max, long long *out);

struct file_spec;

/* The files of args[0..n), each read once as [KIND=]FILE into *out (the
 * caller frees it; its strings are args').  ETL_OK, ETL_EUSAGE ("CMD: stdin
 * ('-') can be read only once") or ETL_ESYSTEM. */
enum etl_code cli_file_specs(const char *cmd, char **args, int n, struct file_spec **out,
                             struct etl_error *err);

/* --on-conflict's and --case-variants' values (load and check): ETL_OK, or
 * ETL_EUSAGE with err naming the values there are. */
enum etl_code cli_parse_on_conflict(const char *s, enum on_conflict *out, struct etl_error *err);
enum etl_code cli_parse_case_variants(const char *s, bool *allow, struct etl_error *err);

/* --max-rejects' value (load and check): a number >= 0, or none (-1). */
enum etl_code cli_parse_max_rejects(const char *s, int64_t *out, struct etl_error *err);

/* Parses a --delimiter value: one ASCII character, or \t / "tab". */
bool cli_parse_delimiter(const char *s, unsigned char *out);

/*
 * Asks question on the terminal ("… [y/N] "): 1 yes, 0 no; -1 when stdin is
 * not a terminal (the caller then needs --yes).
 */
int cli_confirm(const char *question);

enum etl_code cmd_undo(int argc, char **argv, struct global_opts *g, struct etl_error *err);

#define CLI_STOP (-2)

struct option;

/*
 * The getopt_long loop of a command (argv[0] is its name): handles the
 * global options, the input options when in is not NULL, -h (prints the
 * command's help) and unknown or incomplete options (ETL_EUSAGE in err).
 * Returns the next option that is the command's own, -1 after the last one,
 * or CLI_STOP when the command is to return err->code (ETL_OK after -h).
 */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
               struct global_opts *g, struct cli_input *in, struct etl_error *err);

#endif
