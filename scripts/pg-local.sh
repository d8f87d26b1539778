#!/usr/bin/env bash
# pg-local.sh — a project-local PostgreSQL on a Unix socket.
#
#   scripts/pg-local.sh [--dir DIR] [--port N] [--bin DIR] [--tcp] [--fast] [--citus]
#                       start|stop|kill|status|env|url
#
#   start   initialise the cluster when needed, then start it (idempotent)
#   stop    stop it (fast shutdown); kill: immediate shutdown, as after a crash
#   status  say whether it runs, and how to reach it (exit 1 when it does not)
#   env     print PGHOST/PGPORT/PGUSER/PGDATABASE exports, for eval
#           (PGDATABASE=siprems_db, the database `make seed` fills)
#   url     print a libpq conninfo string for the cluster
#
# The server binaries: --bin DIR, else $PG_BINDIR, else the ones the cluster
# was made with, else Debian's newest (/usr/lib/postgresql/*/bin);
# scripts/install-pg.sh MAJOR prints the directory of any supported major.
# DIR defaults to .pg/ in the project (git-ignored).  As root the server runs
# as the postgres user (initdb and postgres refuse to run as root); when that
# user cannot reach DIR, the cluster lives under /tmp and DIR links to it.
# --tcp also listens on 127.0.0.1 with password authentication for every
# role but postgres (the tests use it); --fast turns fsync off (throwaway
# clusters only: safe against a killed server, not against a power cut);
# --citus preloads the Citus extension (a node of scripts/citus-local.sh).
set -euo pipefail

case "${1:-}" in
-h | --help)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="$here/.pg"
port=54329
port_given=0
tcp=0
fast=0
citus=0
bindir=${PG_BINDIR:-}
while [ $# -gt 1 ]; do
	case "$1" in
	--dir) dir=$2; shift 2 ;;
	--port) port=$2; port_given=1; shift 2 ;;
	--tcp) tcp=1; shift ;;
	--fast) fast=1; shift ;;
	--citus) citus=1; shift ;;
	--bin) bindir=$2; shift 2 ;;
	*) echo "pg-local.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
cmd=${1:-status}

die() { echo "pg-local.sh: $*" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
	id postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to run the server"
	as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
	as_pg() { "$@"; }
fi

# As root, the postgres user must be able to reach the cluster directory.
resolve_dir() {
	if [ -L "$dir" ]; then
		dir=$(readlink -f "$dir")
		return
	fi
	mkdir -p "$dir"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$dir"
		if ! as_pg test -w "$dir"; then
			local key
			key=$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
			local alt="/tmp/siprems-etl-pg-$key"
			mkdir -p "$alt"
			chown postgres: "$alt"
			chmod 700 "$alt"
			rmdir "$dir" 2>/dev/null || true
			ln -sfn "$alt" "$dir"
			dir=$alt
		fi
	fi
	chmod 700 "$dir"
}
resolve_dir
data="$dir/data"
# The port chosen when the cluster was made sticks to it.
if [ "$port_given" = 0 ] && [ -f "$dir/port" ]; then port=$(cat "$dir/port"); fi
log="$dir/server.log"

# The binaries: those asked for, or the ones the cluster was made with.
# A cluster of another major than the ones asked for is started by no one;
# the other commands reach it with its own.
recorded=""
if [ -f "$dir/bindir" ] && [ -f "$data/PG_VERSION" ]; then recorded=$(cat "$dir/bindir"); fi
[ -n "$bindir" ] || bindir=$recorded
if [ -z "$bindir" ]; then
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
		if [ -x "$d/initdb" ]; then bindir=$d; break; fi
	done
	[ -n "$bindir" ] || die "no PostgreSQL server found under /usr/lib/postgresql (run scripts/install-deps.sh)"
fi
server_major() { "$1/postgres" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/'; }
[ -x "$bindir/postgres" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ] ||
	die "no initdb, pg_ctl and postgres in $bindir"
bindir=$(cd "$bindir" && pwd)
major=$(server_major "$bindir")
if [ -f "$data/PG_VERSION" ] && [ "$(cat "$data/PG_VERSION")" != "$major" ]; then
	if [ "$cmd" = start ] || [ -z "$recorded" ]; then
		die "the cluster in $data is PostgreSQL $(cat "$data/PG_VERSION"); the server in $bindir is $major (another --dir, or remove it)"
	fi
	bindir=$recorded
	major=$(server_major "$bindir")
fi
sock="$dir/run"
# A socket path must stay below 108 bytes.
if [ ${#sock} -gt 80 ]; then
	sock="/tmp/siprems-etl-sock-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)"
fi

initialise() {
	[ -f "$data/PG_VERSION" ] && return 0
	mkdir -p "$data" "$sock"
	echo "$port" >"$dir/port"
	echo "$bindir" >"$dir/bindir"
	if [ "$(id -u)" = 0 ]; then chown postgres: "$data" "$sock"; fi
	chmod 700 "$data"
	as_pg "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	{
		echo "port = $port"
		echo "unix_socket_directories = '$sock'"
		if [ "$tcp" = 1 ]; then echo "listen_addresses = '127.0.0.1'"; else echo "listen_addresses = ''"; fi
		echo "shared_buffers = 256MB"
		echo "max_wal_size = 4GB"
		echo "logging_collector = off"
		echo "log_min_messages = warning"
		if [ "$citus" = 1 ]; then
			echo "shared_preload_libraries = 'citus'"
			echo "max_prepared_transactions = 100"
		fi
		if [ "$fast" = 1 ]; then
			echo "fsync = off"
			echo "full_page_writes = off"
		fi
	} | as_pg tee -a "$data/postgresql.conf" >/dev/null
	as_pg tee "$data/pg_hba.conf" >/dev/null <<-EOF
		# siprems-etl local cluster: the superuser 'postgres' is trusted on the socket;
		# every other role authenticates with a password.
		local   all  postgres                trust
		local   all  all                     scram-sha-256
		host    all  postgres  127.0.0.1/32  trust
		host    all  all       127.0.0.1/32  scram-sha-256
	EOF
}

running() { as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; }

case "$cmd" in
start)
	initialise
	mkdir -p "$sock"
	if [ "$(id -u)" = 0 ]; then chown postgres: "$sock"; fi
	if ! running; then
		as_pg touch "$log"
		as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 300 -o "-p $port -k $sock" start >/dev/null ||
			{ tail -n 20 "$log" >&2; die "the server did not start (log: $log)"; }
	fi
	;;
stop)
	if [ -f "$data/PG_VERSION" ] && running; then
		as_pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
	fi
	;;
kill)
	if [ -f "$data/PG_VERSION" ] && running; then
		as_pg "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null
	fi
	;;
status)
	if [ -f "$data/PG_VERSION" ] && running; then
		echo "running: $data (socket $sock, port $port)"
	else
		echo "not running: $data"
		exit 1
	fi
	;;
env)
	echo "export PGHOST='$sock' PGPORT='$port' PGUSER=postgres PGDATABASE=siprems_db"
	;;
url)
	echo "host=$sock port=$port user=postgres"
	;;
*)
	die "unknown command '$cmd' (start, stop, kill, status, env, url)"
	;;
esac
