/*
 * admin.c — creating the administrator once.
 */
#include "admin.h"

#include <stdlib.h>
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
	/* An ORM's users table may have timestamps NOT NULL without a default
	 * (created_at, updated_at): they take the current time. */
	PGresult *r = db_query(conn,
	                       "SELECT coalesce(string_agg(', ' || quote_ident(a.attname), '' "
	                       "ORDER BY a.attnum), ''), count(*) FROM pg_attribute a JOIN pg_type "
	                       "t ON t.oid = a.atttypid WHERE a.attrelid = 'users'::regclass AND "
	                       "a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull AND NOT "
	                       "a.atthasdef AND t.typname IN ('timestamp', 'timestamptz')",
	                       0, NULL, err);
	if (r == NULL)
		return ETL_EDB;
	char *sql = NULL, nows[64] = "";
	for (int i = 0, n = atoi(PQgetvalue(r, 0, 1)); i < n && i < 8; i++)
		(void)strcat(nows, ", now()");
	if (asprintf(&sql,
	             "INSERT INTO users (email, full_name, password_hash, is_active%s) VALUES "
	             "($1, $2, $3, true%s) ON CONFLICT (email) DO NOTHING RETURNING user_id",
	             PQgetvalue(r, 0, 0), nows) < 0) {
		PQclear(r);
		return error_oom(err, NULL, 0);
	}
	PQclear(r);
	const char *params[3] = {email, full_name, hash};
	/* Someone may create it meanwhile: then theirs stands. */
	r = db_query(conn, sql, 3, params, err);
	free(sql);
	if (r == NULL)
		return ETL_EDB;
	*created = PQntuples(r) == 1;
	PQclear(r);
	return ETL_OK;
}
