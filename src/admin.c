/*
 * admin.c — creating the administrator once.
 */
#include "admin.h"

#include <string.h>

#include "db.h"
#include "pwhash.h"

bool
admin_exists(PGconn *conn, const char *email, struct etl_error *err)
{
	const char *params[1] = {email};
	PGresult *r = db_query(conn, "SELECT 1 FROM users WHERE email = $1", 1, params, err);
	bool exists = r != NULL && PQntuples(r) > 0;
	PQclear(r);
	return exists;
}

enum etl_code
admin_ensure(PGconn *conn, const char *email, const char *full_name, const char *password,
             bool *created, struct etl_error *err)
{
	char hash[PWHASH_LEN];
	*created = false;
	error_clear(err);
	if (admin_exists(conn, email, err))
		return ETL_OK;
	if (err->code != ETL_OK)
		return err->code;
	enum etl_code rc = pwhash_make(password, strlen(password), 0, hash, err);
	if (rc != ETL_OK)
		return rc;
	const char *params[3] = {email, full_name, hash};
	/* Someone may create it meanwhile: then theirs stands. */
	PGresult *r = db_query(conn,
	                       "INSERT INTO users (email, full_name, password_hash, is_active) "
	                       "VALUES ($1, $2, $3, true) ON CONFLICT (email) DO NOTHING "
	                       "RETURNING user_id",
	                       3, params, err);
	if (r == NULL)
		return ETL_EDB;
	*created = PQntuples(r) == 1;
	PQclear(r);
	return ETL_OK;
}
