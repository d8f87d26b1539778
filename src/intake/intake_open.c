/*
 * intake_open.c — an intake's input opened afresh (a file, stdin's spool, or a
 * built-in file), for its reading and for the fingerprint's.
 */
#include "intake_impl.h"

#include <string.h>

ssize_t
intake_read_input(void *ctx, char *buf, size_t size, struct etl_error *err)
{
	return input_read(ctx, buf, size, err);
}

enum etl_code
intake_open_input(const struct intake *it, struct input **in, struct etl_error *err)
{
	const unsigned char *data;
	size_t size;
	if (it->o->builtin == NULL || strncmp(it->open_path, "builtin:", 8) != 0)
		return input_open(in, it->open_path, it->o->format->enc, err);
	*in = NULL;
	if (!it->o->builtin(it->o->builtin_ctx, it->open_path + 8, &data, &size))
		return error_set(err, ETL_EINPUT, it->open_path, 0, "no such built-in file");
	return input_open_memory(in, it->open_path, data, size, it->o->format->enc, err);
}
