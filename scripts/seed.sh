#!/usr/bin/env bash
# seed.sh — the second half of `make seed` (the Makefile installs and builds
# first).  With a database configured (DATABASE_URL, DB_* in the environment
# or ./.env, or libpq's PG* variables) it seeds that one; otherwise it starts
# the project-local PostgreSQL (scripts/pg-local.sh), creates siprems_db in it
# and seeds that, then prints the psql command that opens it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
etl="$root/${BUILD:-build}/siprems-etl"

configured() {
	local v
	for v in DATABASE_URL DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD PGHOST PGPORT PGDATABASE PGSERVICE; do
		[ -n "${!v:-}" ] && return 0
	done
	[ -f .env ] && grep -qE '^[[:space:]]*(export[[:space:]]+)?(DATABASE_URL|DB_[A-Z]+)[[:space:]]*=' .env
}

# A seed that refuses (exit 2: another --seed, loads of one's own) names
# the way on in this tree's words.
seed() {
	local rc=0
	"$etl" "$@" || rc=$?
	if [ "$rc" = 2 ]; then
		echo "seed: to start over (this deletes the database's sales, products, events and users):" >&2
		echo "  make -C '$root' seed SEED_ARGS='--reset --yes'" >&2
	fi
	return "$rc"
}

if configured; then
	echo "seed: using the configured database"
	seed seed "$@"
	exit
fi

bash "$root/scripts/pg-local.sh" start
conn="$(bash "$root/scripts/pg-local.sh" url)"
if [ "$(psql -X -Atq -d "$conn dbname=postgres" -c "SELECT count(*) FROM pg_database WHERE datname = 'siprems_db'")" = 0 ]; then
	psql -X -q -d "$conn dbname=postgres" -c "CREATE DATABASE siprems_db" >/dev/null
fi
seed --db "$conn dbname=siprems_db" seed "$@"
echo
echo "seed: the local database is ready.  In any shell, the tool and psql reach it after:"
echo "  eval \"\$('$root/scripts/pg-local.sh' env)\""
echo "  '$etl' history"
echo "seed: or open it with:"
echo "  psql \"$conn dbname=siprems_db\""
echo "seed: siprems-etl on your PATH: make install PREFIX=~/.local, and ~/.local/bin in PATH"
echo "seed: stop the server with: '$root/scripts/pg-local.sh' stop"
