/*
 * profile.h — --profile FILE: a command's options kept in a file, so that a
 * nightly line stays "siprems-etl load --profile kasir.conf FILE...".
 *
 * One "name = value" a line: name is a long option of the command without
 * its dashes; a flag takes true or false; a value may be put in double
 * quotes (to keep spaces at its ends); a repeatable option repeats.  Blank
 * lines and lines starting with '#' are skipped.  The entries become
 * "--name=value" arguments placed before the command line's, so that the
 * command line overrides the profile.
 */
#ifndef SIPREMS_PROFILE_H
#define SIPREMS_PROFILE_H

#include <getopt.h>
#include <stddef.h>

#include "error.h"

struct profile_arg {
	char *arg;        /* "--name=value" or "--name" */
	const char *file; /* the profile it came from */
	long line;
};

struct profile {
	struct profile_arg *args;
	int nargs;
	char **files; /* the profiles' paths, owned */
	int nfiles;
};

/*
 * Adds the entries of the n bytes at text (the profile file) to p.  An
 * entry's name must be one of longopts (not "help" or "profile"); a name
 * in ignore (a NULL-terminated list, may be NULL) is skipped: another
 * command's option in a shared profile.  Returns ETL_OK, ETL_EUSAGE with
 * file and line in err for a line that is not "name = value", an unknown
 * name, a flag whose value is not true or false, an option without its
 * value; or ETL_ESYSTEM.
 */
enum etl_code profile_parse(struct profile *p, const char *file, const char *text, size_t n,
                            const struct option *longopts, const char *const *ignore,
                            struct etl_error *err);

/* Reads the file at path and parses it as above; ETL_EUSAGE also when it
 * cannot be read. */
enum etl_code profile_read(struct profile *p, const char *path, const struct option *longopts,
                           const char *const *ignore, struct etl_error *err);

/* Frees what p holds; p may be empty. */
void profile_free(struct profile *p);

#endif
