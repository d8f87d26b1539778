/*
 * bundle.c — looking up the bundled files.
 */
#include "bundle.h"

#include <string.h>

const struct bundle_file *
bundle_find(const char *name)
{
	for (int i = 0; i < bundle_nfiles; i++)
		if (strcmp(bundle_files[i].name, name) == 0)
			return &bundle_files[i];
	return NULL;
}

bool
bundle_lookup(const char *name, const unsigned char **data, size_t *size)
{
	const struct bundle_file *b = bundle_find(name);
	if (b == NULL)
		return false;
	*data = b->data;
	*size = b->size;
	return true;
}
