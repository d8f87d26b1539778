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

#include "error.h"
#include "input.h"

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
	enum input_encoding enc;
	unsigned char delim;
	const char *sku_pattern;
	const char *timezone;
};

#define CLI_INPUT_LONGOPTS                                                                         \
	{"encoding", required_argument, NULL, CLI_OPT_ENCODING},                                   \
	        {"delimiter", required_argument, NULL, CLI_OPT_DELIMITER},                         \
	        {"sku-pattern", required_argument, NULL, CLI_OPT_SKU_PATTERN},                     \
	{                                                                                          \
		"timezone", required_argument, NULL, CLI_OPT_TIMEZONE                              \
	}

/* Sets the defaults (UTF-8, ',', the default SKU pattern, UTC). */
void cli_input_default(struct cli_input *in);

/*
 * Handles an input option for a getopt_long loop: returns 1 when opt was
 * one (and set it), 0 when not, -1 for a bad value (ETL_EUSAGE in err).
 */
int cli_input_option(int opt, const char *arg, struct cli_input *in, struct etl_error *err);

/* Parses a whole decimal number within [min, max]. */
bool cli_parse_num(const char *s, long long min, long long max, long long *out);

/* Parses a --delimiter value: one ASCII character, or \t / "tab". */
bool cli_parse_delimiter(const char *s, unsigned char *out);

struct load_run;

/*
 * Prints a load's outcome: the first reject reasons and the errors of each
 * file (unless quiet), the summary table on stderr, and with summary_json
 * the JSON summary (rc gives its exit_code).  Returns ETL_OK, or
 * ETL_ESYSTEM when the JSON could not be written.
 */
enum etl_code cli_report_load(const struct load_run *run, bool quiet, bool dry_run,
                              const char *summary_json, enum etl_code rc);

/*
 * Asks question on the terminal ("… [y/N] "): 1 yes, 0 no; -1 when stdin is
 * not a terminal (the caller then needs --yes).
 */
int cli_confirm(const char *question);

enum etl_code cmd_undo(int argc, char **argv, struct global_opts *g, struct etl_error *err);

/* Prints the help of one command (or the whole program when name is NULL). */
void cli_help(const char *name);

/* The commands, with their help; the list ends with a NULL name. */
struct cli_command {
	const char *name;
	command_fn fn;
	const char *help;
};
extern const struct cli_command cli_commands[];

/* The command called name, or NULL. */
const struct cli_command *cli_find_command(const char *name);

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
