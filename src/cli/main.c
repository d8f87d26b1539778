/*
 * main.c — the command line: global options, dispatch to a command, and the
 * one place where an internal error code becomes an exit status.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "help.h"
#include "error.h"

#ifndef ETL_VERSION
#define ETL_VERSION "dev"
#endif

/* Flushes stdout and reports a failed write (a full disk, a closed pipe). */
static enum etl_code
finish_stdout(enum etl_code rc, struct etl_error *err)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		struct etl_error e;
		(void)error_set(&e, ETL_ESYSTEM, NULL, 0, "cannot write to standard output");
		if (rc == ETL_OK || rc == ETL_REJECTED) {
			*err = e;
			return ETL_ESYSTEM;
		}
	}
	return rc;
}

/* The commands, by name. */
static const struct {
	const char *name;
	command_fn fn;
} commands[] = {
        {"schema", cmd_schema}, {"load", cmd_load},         {"check", cmd_check},
        {"seed", cmd_seed},     {"generate", cmd_generate}, {"history", cmd_history},
        {"undo", cmd_undo},
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        CLI_GLOBAL_LONGOPTS,
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	struct global_opts g = {NULL, false, false};
	struct etl_error err;
	enum etl_code rc = ETL_OK;
	int opt;

	error_clear(&err);
	opterr = 0;
	/* '+': stop at the command name; its options are its own. */
	while ((opt = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		if (cli_global_option(opt, optarg, &g))
			continue;
		switch (opt) {
		case 'h':
			cli_help(NULL);
			return error_exit_status(finish_stdout(ETL_OK, &err));
		case 'V':
			(void)printf("siprems-etl %s\n", ETL_VERSION);
			return error_exit_status(finish_stdout(ETL_OK, &err));
		default:
			if (optopt != 0 && optopt < 256)
				rc = error_set(&err, ETL_EUSAGE, NULL, 0,
				               "unknown or incomplete option '-%c'; see --help",
				               optopt);
			else
				rc = error_set(&err, ETL_EUSAGE, NULL, 0,
				               "unknown or incomplete option '%s'; see --help",
				               argv[optind - 1]);
			goto out;
		}
	}
	if (optind >= argc) {
		rc = error_set(&err, ETL_EUSAGE, NULL, 0, "no command given; see --help");
		goto out;
	}
	const char *name = argv[optind];
	command_fn fn = NULL;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, name) == 0)
			fn = commands[i].fn;
	if (fn == NULL) {
		rc = error_set(&err, ETL_EUSAGE, NULL, 0, "unknown command '%s'; see --help", name);
		goto out;
	}
	/* The command sees argv[0] == its name, as getopt expects;
	 * optind = 0 makes glibc's getopt start afresh. */
	int first = optind;
	optind = 0;
	rc = fn(argc - first, argv + first, &g, &err);
out:
	rc = finish_stdout(rc, &err);
	if (err.code != ETL_OK && err.msg[0] != '\0')
		error_print(&err);
	return error_exit_status(rc);
}
