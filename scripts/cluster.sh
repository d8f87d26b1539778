# cluster.sh — sourced by test.sh, bench.sh and valgrind.sh: a throwaway
# PostgreSQL (scripts/pg-local.sh) for the length of one script.
#
#   cluster_start DIR [pg-local.sh options]   starts a server in DIR on a free
#       port, exports its PG* variables (PGDATABASE=postgres), sets
#       CLUSTER_PORT; returns non-zero when it cannot start
#   cluster_stop [keep]                       stops it (kills it if it must)
#       and, unless "keep", removes DIR; does nothing when none is running
cluster_pg_local="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pg-local.sh"
cluster_dir=""
CLUSTER_PORT=""

# A free TCP port: one no server answers on.
cluster_free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	echo 55432
}

cluster_start() {
	cluster_dir=$1
	shift
	CLUSTER_PORT=$(cluster_free_port)
	bash "$cluster_pg_local" --dir "$cluster_dir" --port "$CLUSTER_PORT" "$@" start >/dev/null || return 1
	eval "$(bash "$cluster_pg_local" --dir "$cluster_dir" --port "$CLUSTER_PORT" env)"
	export PGDATABASE=postgres
}

cluster_stop() {
	[ -n "$cluster_dir" ] || return 0
	bash "$cluster_pg_local" --dir "$cluster_dir" stop >/dev/null 2>&1 ||
		bash "$cluster_pg_local" --dir "$cluster_dir" kill >/dev/null 2>&1 || true
	[ "${1:-}" = keep ] || rm -rf "$(readlink -f "$cluster_dir" 2>/dev/null || echo "$cluster_dir")" "$cluster_dir"
	cluster_dir=""
}
