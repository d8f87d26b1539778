/*
 * bundle.h — the bundled data set (the gzip files of data/), compiled into the
 * binary so that `siprems-etl seed` needs no file from the source tree.
 * seed names them "builtin:NAME" and gives bundle_lookup to the intake.
 */
#ifndef SIPREMS_BUNDLE_H
#define SIPREMS_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>

struct bundle_file {
	const char *name;
	const unsigned char *data;
	size_t size;
};

extern const struct bundle_file bundle_files[];
extern const int bundle_nfiles;

/* The bundled file called name ("products.csv.gz"), or NULL. */
const struct bundle_file *bundle_find(const char *name);

/* The same as intake_opts.builtin wants it: false when there is none. */
bool bundle_lookup(const char *name, const unsigned char **data, size_t *size);

#endif
