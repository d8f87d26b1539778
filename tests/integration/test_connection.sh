#!/usr/bin/env bash
# Connection settings through the real binary: precedence, the message of a
# failed connection, application_name, and the password never shown.
. "$(dirname "$0")/../lib.sh"

pw='Sup3r-Secret-PW!x'
new_db conn_db >/dev/null
sql conn_db "DROP ROLE IF EXISTS etl_app; CREATE ROLE etl_app LOGIN PASSWORD '$pw';
  GRANT ALL ON SCHEMA public TO etl_app; ALTER DATABASE conn_db OWNER TO etl_app"
# application_name of whoever inserts into etl_schema_log is kept in a column.
sql conn_db "CREATE TABLE etl_schema_log (id BIGSERIAL PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  object TEXT NOT NULL, statement TEXT NOT NULL, etl_version TEXT NOT NULL,
  app TEXT DEFAULT current_setting('application_name')); ALTER TABLE etl_schema_log OWNER TO etl_app"

# Everything any run prints is collected here and searched for the password.
all_output=""
collect() { all_output+="$out$err"; }

# The harness exports PG* for psql; each case sets exactly what it wants.
clean_env=(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD -u DATABASE_URL
	-u DB_HOST -u DB_PORT -u DB_NAME -u DB_USER -u DB_PASSWORD)
tcp_uri="postgresql://etl_app:$pw@127.0.0.1:$PGPORT/conn_db"

cd "$T_TMP" || exit 1

# --- each source works on its own -------------------------------------------
run "${clean_env[@]}" "$ETL" --db "$tcp_uri" schema
expect_rc 0 "--db with a URI connects"
collect
expect_eq "$(sql conn_db "SELECT DISTINCT app FROM etl_schema_log")" "siprems-etl" "application_name is siprems-etl"

run "${clean_env[@]}" DATABASE_URL="$tcp_uri" "$ETL" schema
expect_rc 0 "DATABASE_URL connects"
collect

run "${clean_env[@]}" DATABASE_URL="postgresql+psycopg2://etl_app:$pw@127.0.0.1:$PGPORT/conn_db" "$ETL" schema
expect_rc 0 "a SQLAlchemy-style DATABASE_URL connects"
collect

run "${clean_env[@]}" DB_HOST=127.0.0.1 DB_PORT="$PGPORT" DB_NAME=conn_db DB_USER=etl_app DB_PASSWORD="$pw" "$ETL" schema
expect_rc 0 "DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD connect"
collect

printf 'DB_HOST=127.0.0.1\nDB_PORT=%s\nDB_NAME=conn_db\nDB_USER=etl_app\nDB_PASSWORD="%s"\n' "$PGPORT" "$pw" >.env
run "${clean_env[@]}" "$ETL" --verbose schema
expect_rc 0 "DB_* from ./.env connect"
expect_match "$err" "connected to database \"conn_db\" as user \"etl_app\" on host 127\.0\.0\.1 port $PGPORT \(settings from DB_\* variables in \.env\), PostgreSQL [0-9]+\.[0-9]+$" \
	"--verbose says the settings came from .env, and the server's version as PostgreSQL prints it"
collect

run "${clean_env[@]}" PGHOST=127.0.0.1 PGPORT="$PGPORT" PGDATABASE=no_such_db PGUSER=etl_app "$ETL" schema
expect_rc 0 "DB_* from ./.env override libpq's PG* variables"
collect
rm -f .env
run "${clean_env[@]}" PGHOST=127.0.0.1 PGPORT="$PGPORT" PGDATABASE=conn_db PGUSER=etl_app PGPASSWORD="$pw" "$ETL" schema
expect_rc 0 "libpq's PG* variables connect when nothing else is set"
collect

# --- precedence ----------------------------------------------------------------
run "${clean_env[@]}" DATABASE_URL="postgresql://etl_app:$pw@127.0.0.1:$PGPORT/no_such_db" "$ETL" --db "$tcp_uri" schema
expect_rc 0 "--db overrides DATABASE_URL"
collect
run "${clean_env[@]}" DATABASE_URL="$tcp_uri" DB_NAME=no_such_db DB_HOST=127.0.0.1 "$ETL" schema
expect_rc 0 "DATABASE_URL overrides DB_*"
collect
printf 'DB_NAME=no_such_db\n' >.env
run "${clean_env[@]}" DB_HOST=127.0.0.1 DB_PORT="$PGPORT" DB_NAME=conn_db DB_USER=etl_app DB_PASSWORD="$pw" "$ETL" schema
expect_rc 0 ".env does not override the environment"
collect
rm -f .env
run "${clean_env[@]}" DB_HOST=127.0.0.1 DB_PORT="$PGPORT" DB_NAME=conn_db DB_USER=etl_app DB_PASSWORD="$pw" PGDATABASE=no_such_db "$ETL" schema
expect_rc 0 "DB_* override libpq's PG* variables"
collect

# --- failures: exit 4, say what was tried, never the password -------------------
run "${clean_env[@]}" DB_HOST=127.0.0.1 DB_PORT="$PGPORT" DB_NAME=conn_db DB_USER=etl_app DB_PASSWORD="wrong-$pw" "$ETL" schema
expect_rc 4 "a wrong password exits 4"
expect_match "$err" "^siprems-etl: cannot connect to database \"conn_db\" as user \"etl_app\" on host 127.0.0.1 port $PGPORT \(settings from DB_\* variables\): .*password authentication failed" \
	"the message names database, user, host, port, the source and the reason"
collect

run "${clean_env[@]}" "$ETL" --db "postgresql://etl_app:$pw@127.0.0.1:1/conn_db" schema
expect_rc 4 "a refused connection exits 4"
expect_match "$err" "cannot connect to database \"conn_db\" as user \"etl_app\" on host 127.0.0.1 port 1 \(settings from --db\)" \
	"a refused connection names what was tried"
expect_match "$err" "^siprems-etl: hint: Is the server running on that host and accepting TCP/IP connections\?$" \
	"and passes on libpq's hint"
collect

run "${clean_env[@]}" DATABASE_URL="postgresql://etl_app:$pw@127.0.0.1:$PGPORT/no_such_db" "$ETL" schema
expect_rc 4 "a missing database exits 4"
expect_match "$err" "database \"no_such_db\" does not exist" "the server's reason is given"
collect

run "${clean_env[@]}" "$ETL" --db "not a conninfo" schema
expect_rc 4 "an unparsable --db exits 4"
collect

run "${clean_env[@]}" "$ETL" --db "postgresql://etl_app:$pw@127.0.0.1:$PGPORT/conn_db?sslmode=require" schema
expect_rc 4 "sslmode=require against a server without SSL exits 4"
expect_match "$err" "SSL" "the message says SSL was the problem"
collect
run "${clean_env[@]}" "$ETL" --db "postgresql://etl_app:$pw@127.0.0.1:$PGPORT/conn_db?sslmode=prefer" schema
expect_rc 0 "sslmode=prefer connects"
collect

expect_no_match "$all_output" "$pw" "no output of any run contains the password"
expect_eq "$(sql conn_db "SELECT count(*) FROM etl_schema_log WHERE statement LIKE '%$pw%' OR object LIKE '%$pw%'")" "0" \
	"nothing recorded in the database contains the password"

finish
