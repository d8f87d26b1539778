#!/usr/bin/env bash
# citus-local.sh — a Citus cluster on this machine: a coordinator and two
# workers, each a project-local PostgreSQL (scripts/pg-local.sh --citus) on
# a Unix socket, for the tests and for trying siprems-etl on Citus.
#
#   scripts/citus-local.sh [--dir DIR] [--port N] start DB|stop|kill|env|url|check
#
#   start DB  start the three nodes (ports N, N+1, N+2), create database DB on
#             each with the citus extension, and register the workers with
#             the coordinator (idempotent)
#   stop      stop the nodes; kill: immediate shutdown
#   env       PGHOST/PGPORT/PGUSER exports for the coordinator, for eval
#   url       the coordinator's libpq conninfo (without dbname)
#   check     exit 0 when Citus is installed and loads into this server,
#             else say why on stderr and exit 1 (tests use it to skip)
#
# DIR defaults to .pg-citus/ in the project; N to 54340.  Citus itself is
# not packaged by Debian: install it first (tests and CI use
# ../shared/citus/install.sh; users install Citus's own packages).  The
# nodes run on the PostgreSQL that Citus is installed into, whatever
# PG_BINDIR says (a test run on another major still tests Citus on its own).
set -euo pipefail

case "${1:-}" in
-h | --help)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="$here/.pg-citus"
port=54340
while [ $# -gt 0 ]; do
	case "$1" in
	--dir) dir=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	*) break ;;
	esac
done
cmd=${1:-}
[ -n "$cmd" ] || { echo "citus-local.sh: no command (start DB, stop, kill, env, url, check)" >&2; exit 2; }
die() { echo "citus-local.sh: $*" >&2; exit 1; }
nodes=(coordinator worker1 worker2)
pgl() { # NODE-INDEX ARGS...: pg-local.sh for one node
	local i=$1
	shift
	bash "$here/scripts/pg-local.sh" --dir "$dir/${nodes[$i]}" --port $((port + i)) --fast --citus "$@"
}
node_url() { pgl "$1" url; }
psql_at() { # NODE-INDEX DB SQL
	local url
	url=$(node_url "$1")
	psql -X -q -v ON_ERROR_STOP=1 -At -d "$url dbname=$2" -c "$3"
}

found=""
pkglib=$(pg_config --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)
for d in /usr/lib/postgresql/*/lib "$pkglib"; do
	[ -f "$d/citus.so" ] && [ -x "${d%/lib}/bin/postgres" ] && found=$d
done
[ -z "$found" ] || export PG_BINDIR="${found%/lib}/bin"

case "$cmd" in
check)
	[ -n "$found" ] || die "Citus is not installed (no citus.so under /usr/lib/postgresql/*/lib)"
	probe=$(mktemp -d "${TMPDIR:-/tmp}/citus-probe.XXXXXX")
	if [ "$(id -u)" = 0 ]; then chown postgres: "$probe"; fi
	if ! out=$(bash "$here/scripts/pg-local.sh" --dir "$probe/n" --port $((port + 9)) --citus start 2>&1); then
		rm -rf "$probe"
		die "Citus does not load into this server: $(grep -o 'FATAL: .*' <<<"$out" | head -n 1)"
	fi
	bash "$here/scripts/pg-local.sh" --dir "$probe/n" --port $((port + 9)) kill >/dev/null 2>&1 || true
	rm -rf "$probe"
	;;
start)
	db=${2:?citus-local.sh: start needs a database name}
	for i in 0 1 2; do pgl "$i" start; done
	for i in 0 1 2; do
		url=$(node_url "$i")
		exists=$(psql -X -At -d "$url dbname=postgres" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")
		[ "$exists" = 1 ] || psql -X -q -d "$url dbname=postgres" -c "CREATE DATABASE \"$db\""
		psql_at "$i" "$db" "CREATE EXTENSION IF NOT EXISTS citus"
	done
	c_host=$(node_url 0 | sed 's/^host=\([^ ]*\).*/\1/')
	psql_at 0 "$db" "SELECT citus_set_coordinator_host('$c_host', $port)" >/dev/null
	for i in 1 2; do
		w_host=$(node_url "$i" | sed 's/^host=\([^ ]*\).*/\1/')
		psql_at 0 "$db" "SELECT citus_add_node('$w_host', $((port + i))) WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodeport = $((port + i)))" >/dev/null
	done
	;;
stop | kill)
	for i in 2 1 0; do pgl "$i" "$cmd"; done
	;;
env)
	pgl 0 env | sed 's/ PGDATABASE=[^ ]*//'
	;;
url)
	node_url 0
	;;
*)
	die "unknown command '$cmd' (start DB, stop, kill, env, url, check)"
	;;
esac
