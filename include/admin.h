/*
 * admin.h — the app's administrator account, for `seed`.
 */
#ifndef SIPREMS_ADMIN_H
#define SIPREMS_ADMIN_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "error.h"

/*
 * Creates the user email (full_name, is_active) with password stored as a
 * werkzeug pbkdf2 hash, unless a user with that e-mail exists (then nothing
 * changes; *created is false).  Returns ETL_OK, ETL_EDB or ETL_ESYSTEM.
 */
enum etl_code admin_ensure(PGconn *conn, const char *email, const char *full_name,
                           const char *password, bool *created, struct etl_error *err);

/* Whether a user with that e-mail exists (false on errors, err filled). */
bool admin_exists(PGconn *conn, const char *email, struct etl_error *err);

#endif
