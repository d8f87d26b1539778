#!/usr/bin/env bash
# bench.sh — siprems-etl against psql \copy, in one run, on the same schema.
#
#   scripts/bench.sh [--rows N] [--products N] [--append N] [--runs K] [--pg MAJOR]
#                    [--keep] [--no-citus] [--scaling "N N …"]
#
# Starts its own PostgreSQL (scripts/pg-local.sh, fsync on) in a temporary
# directory, generates a data set with `siprems-etl generate` (default 5M
# sales rows over 10,000 products), and for each run, on a fresh database
# with the guide's schema and the products loaded:
#   (a) psql \copy of the sales with product_id already resolved
#   (b) siprems-etl load of the SKU-keyed gzip file (and of the plain file),
#       by default through the shadow table (two connections build the
#       indexes), and with --jobs 1 (one transaction builds them)
#   (c) a nightly append of --append rows into the table holding the rest:
#       psql \copy versus siprems-etl load (default --jobs 2, and --jobs 1),
#       each from the same starting state: the table as psql filled it, and
#       as siprems-etl filled it
#   (d) siprems-etl load --dry-run of the plain file (on an idle server)
#   (g) the strongest alternatives for the initial load: an expert by hand
#       (scripts/bench-expert.sh: one transaction of TRUNCATE, dropped keys
#       and indexes and \copy FREEZE, then the indexes rebuilt in two
#       parallel sessions, the keys added, ANALYZE) and pgloader with
#       `drop indexes` (Debian's package, installed when missing and root)
# and prints wall times, peak RSS and ratios (medians over the runs).
# --scaling "N N …" then loads N-row data sets (e.g. 1000000 5000000
# 20000000) into an empty table, once each, and prints the seconds, the
# seconds per million rows and the peak RSS of each: how the cost grows.  When
# Citus is installed (scripts/citus-local.sh check), it also starts a
# coordinator and two workers and measures (e) the initial load and (f) the
# append through the coordinator, psql \copy against siprems-etl, into the
# distributed layout (--no-citus skips it).  The servers, the data and the
# databases are removed at the end unless --keep.  --pg MAJOR (14 to 18)
# runs the server of that major (scripts/install-pg.sh; default Debian's);
# psql is Debian's client against every major, as siprems-etl's libpq is.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
etl="$root/build/siprems-etl"
rows=5000000
products=10000
append=500000
runs=1
keep=0
citus=1
scaling=""
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) rows=$2; shift 2 ;;
	--products) products=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--no-citus) citus=0; shift ;;
	--scaling) scaling=$2; shift 2 ;;
	--pg) PG_BINDIR=$(bash "$root/scripts/install-pg.sh" "$2") || exit 1; export PG_BINDIR; shift 2 ;;
	-h | --help) sed -n '2,36p' "$0"; exit 0 ;;
	*) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -x "$etl" ] || make -C "$root" --no-print-directory >/dev/null
command -v /usr/bin/time >/dev/null || { echo "bench.sh: needs /usr/bin/time (package 'time')" >&2; exit 1; }
if ! command -v pgloader >/dev/null && [ "$(id -u)" = 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgloader >/dev/null 2>&1 ||
		echo "bench.sh: cannot install pgloader; its step is left out" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/siprems-etl-bench.XXXXXX")
chmod 755 "$work"
. "$root/scripts/cluster.sh"
citus_cl=""
cleanup() {
	[ -n "$citus_cl" ] && [ -d "$work/citus" ] && $citus_cl stop >/dev/null 2>&1
	if [ "$keep" = 0 ]; then cluster_stop && rm -rf "$work"; else cluster_stop keep; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cluster_start "$work/pg" || { echo "bench.sh: cannot start PostgreSQL" >&2; exit 1; }
citus_cl="bash $root/scripts/citus-local.sh --dir $work/citus --port $((CLUSTER_PORT + 10))"
say() { printf '%s\n' "$*" >&2; }

# --- data: the big file, and an append that continues after it -------------------
# The generator makes about 3.95 sales rows per product and day.
days=$(( (rows + products * 395 / 100 - 1) / (products * 395 / 100) ))
adays=$(( (append + products * 395 / 100 - 1) / (products * 395 / 100) ))
say "generating $rows sales rows ($products products, $days days) and an append of $append"
"$etl" --quiet generate --out "$work/data" --products "$products" --days "$days" --end 2025-06-30 --seed 1
"$etl" --quiet generate --out "$work/append" --products "$products" --days "$adays" --end "$(date -d "2025-06-30 + $adays days" +%F)" --seed 2
zcat "$work/data/sales.csv.gz" >"$work/sales.csv"
zcat "$work/append/sales.csv.gz" >"$work/append.csv"
sales_rows=$(( $(wc -l <"$work/sales.csv") - 1 ))
append_rows=$(( $(wc -l <"$work/append.csv") - 1 ))
sales_mb=$(du -m "$work/sales.csv" | cut -f1)

fresh_db() { # name -> conninfo with the schema and the products
	dropdb --if-exists "$1" >/dev/null 2>&1
	createdb "$1"
	"$etl" --db "dbname=$1" --quiet schema >/dev/null
	"$etl" --db "dbname=$1" --quiet --no-progress load "$work/data/products.csv.gz" 2>/dev/null
	psql -X -q -d "$1" -c "CHECKPOINT" >/dev/null
}

# product_id-resolved copies for psql, made from the database's own map.
fresh_db bench_map
psql -X -Atq -d bench_map -c "\\copy (SELECT sku, product_id FROM products) TO '$work/map.csv' CSV"
resolve() {
	awk -F, 'NR == FNR { id[$1] = $2; next } FNR > 1 { print id[$1] "," $2 "," $3 "," $4 "," $5 }' "$work/map.csv" "$1" >"$2"
}
resolve "$work/sales.csv" "$work/resolved.csv"
resolve "$work/append.csv" "$work/resolved-append.csv"

# timed NAME CMD...: runs CMD; appends "seconds rss_kb" to $work/NAME.
timed() {
	local name=$1
	shift
	/usr/bin/time -f "%e %M" -o "$work/$name.t" "$@" >/dev/null 2>"$work/$name.err" ||
		{ say "bench.sh: $name failed:"; tail -n 5 "$work/$name.err" >&2; exit 1; }
	cat "$work/$name.t" >>"$work/$name"
}
copy_cols="transactions (product_id, quantity_sold, price_per_unit, transaction_date, is_promo)"

# An append is measured from one starting state for both tools, twice: the
# table as psql \copy filled it (indexes grown row by row, pages part full)
# and as siprems-etl filled it (indexes built in one pass, pages packed).
clone() { # from to: a copy of a database, checkpointed
	dropdb --if-exists "$2" >/dev/null 2>&1
	createdb -T "$1" "$2"
	psql -X -q -d "$2" -c "CHECKPOINT" >/dev/null
}
# The pgloader command for database $1: the resolved CSV, its indexes
# dropped and built again.
pgloader_cmd() {
	cat >"$work/pgloader.load" <<EOF
LOAD CSV
     FROM '$work/resolved.csv' (product_id, quantity_sold, price_per_unit, transaction_date, is_promo)
     INTO pgsql://$PGUSER@unix:$PGHOST:$PGPORT/$1
     TARGET TABLE transactions
     TARGET COLUMNS (product_id, quantity_sold, price_per_unit, transaction_date, is_promo)
     WITH drop indexes, fields terminated by ',', fields optionally enclosed by '"'
;
EOF
}
loaded_all() { # database what
	[ "$(psql -X -Atq -d "$1" -c 'SELECT count(*) FROM transactions')" = "$sales_rows" ] ||
		{ say "bench.sh: $2 did not load every row"; exit 1; }
}
for r in $(seq 1 "$runs"); do
	say "run $r/$runs: (g) an expert by hand"
	fresh_db bench_x
	timed expert_initial bash "$root/scripts/bench-expert.sh" bench_x "$work/resolved.csv"
	loaded_all bench_x "the expert's load"
	dropdb bench_x
	if command -v pgloader >/dev/null; then
		say "run $r/$runs: (g) pgloader, drop indexes"
		fresh_db bench_g
		pgloader_cmd bench_g
		timed pgloader_initial pgloader --quiet "$work/pgloader.load"
		loaded_all bench_g pgloader
		dropdb bench_g
	fi
	say "run $r/$runs: (a) psql \\copy"
	fresh_db bench_a
	timed psql_initial psql -X -q -d bench_a -c "\\copy $copy_cols FROM '$work/resolved.csv' CSV"
	clone bench_a bench_a2
	clone bench_a bench_a3
	say "run $r/$runs: (c) appends into the table psql filled"
	timed psql_append_a psql -X -q -d bench_a -c "\\copy $copy_cols FROM '$work/resolved-append.csv' CSV"
	timed etl_append_a "$etl" --db dbname=bench_a2 --quiet --no-progress load "$work/append/sales.csv.gz"
	timed etl_append_a1 "$etl" --db dbname=bench_a3 --quiet --no-progress load --jobs 1 "$work/append/sales.csv.gz"
	dropdb bench_a
	dropdb bench_a2
	dropdb bench_a3

	say "run $r/$runs: (b) siprems-etl load, gzip"
	fresh_db bench_b
	timed etl_initial "$etl" --db dbname=bench_b --quiet --no-progress load "$work/data/sales.csv.gz"
	clone bench_b bench_b2
	say "run $r/$runs: (c) appends into the table siprems-etl filled"
	timed psql_append_b psql -X -q -d bench_b2 -c "\\copy $copy_cols FROM '$work/resolved-append.csv' CSV"
	timed etl_append_b "$etl" --db dbname=bench_b --quiet --no-progress load "$work/append/sales.csv.gz"
	[ "$(psql -X -Atq -d bench_b -c 'SELECT count(*) FROM transactions')" = "$((sales_rows + append_rows))" ] ||
		{ say "bench.sh: siprems-etl did not load every row"; exit 1; }
	dropdb bench_b
	dropdb bench_b2

	say "run $r/$runs: (b) siprems-etl load --jobs 1, gzip"
	fresh_db bench_b1
	timed etl_initial1 "$etl" --db dbname=bench_b1 --quiet --no-progress load --jobs 1 "$work/data/sales.csv.gz"
	dropdb bench_b1

	say "run $r/$runs: (d) --dry-run, then (b) siprems-etl load, plain"
	fresh_db bench_p
	timed etl_dry "$etl" --db dbname=bench_p --quiet --no-progress load --dry-run "$work/sales.csv"
	timed etl_plain "$etl" --db dbname=bench_p --quiet --no-progress load "$work/sales.csv"
	dropdb bench_p
done

# --- Citus: the same loads through a coordinator with two workers -----------------------
citus_ran=0
if [ "$citus" = 1 ] && why=$($citus_cl check 2>&1); then
	citus_ran=1
	mkdir -p "$work/citus"
	[ "$(id -u)" = 0 ] && chown postgres: "$work/citus"
	coord() { echo "$($citus_cl url) dbname=$1"; }
	citus_up=""
	citus_db() { # name: a fresh distributed database with the products loaded
		# WITH (FORCE): Citus's maintenance daemon stays connected to the
		# database; a coordinator left with dropped workers' shards fails.
		for n in $citus_up; do
			psql -X -q -v ON_ERROR_STOP=1 -d "$(bash "$root/scripts/pg-local.sh" --dir "$work/citus/$n" url) dbname=postgres" \
				-c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null ||
				{ say "bench.sh: cannot drop database $1 on the Citus $n"; exit 1; }
		done
		$citus_cl start "$1" >/dev/null 2>&1
		citus_up="coordinator worker1 worker2" # running now: the next call drops first
		"$etl" --db "$(coord "$1")" --quiet schema >/dev/null
		"$etl" --db "$(coord "$1")" --quiet --no-progress load "$work/data/products.csv.gz" 2>/dev/null
	}
	for r in $(seq 1 "$runs"); do
		say "run $r/$runs: (e) initial loads through the Citus coordinator"
		citus_db bench_ca
		timed citus_psql_initial psql -X -q -d "$(coord bench_ca)" -c "\\copy $copy_cols FROM '$work/resolved.csv' CSV"
		say "run $r/$runs: (f) appends through the Citus coordinator"
		timed citus_psql_append psql -X -q -d "$(coord bench_ca)" -c "\\copy $copy_cols FROM '$work/resolved-append.csv' CSV"
		citus_db bench_cb
		timed citus_etl_initial "$etl" --db "$(coord bench_cb)" --quiet --no-progress load "$work/data/sales.csv.gz"
		timed citus_etl_append "$etl" --db "$(coord bench_cb)" --quiet --no-progress load "$work/append/sales.csv.gz"
		[ "$(psql -X -Atq -d "$(coord bench_cb)" -c 'SELECT count(*) FROM transactions')" = "$((sales_rows + append_rows))" ] ||
			{ say "bench.sh: siprems-etl did not load every row into Citus"; exit 1; }
	done
elif [ "$citus" = 1 ]; then
	say "bench.sh: no Citus run: $why"
fi

# --- scaling: how the initial load's cost grows with the rows ---------------------------
scaled=()
for n in $scaling; do
	sdays=$(( (n + products * 395 / 100 - 1) / (products * 395 / 100) ))
	say "scaling: about $n rows ($sdays days)"
	rm -rf "$work/scale"
	"$etl" --quiet generate --out "$work/scale" --products "$products" --days "$sdays" --end 2025-06-30 --seed 3
	srows=$(( $(zcat "$work/scale/sales.csv.gz" | wc -l) - 1 ))
	fresh_db bench_s
	timed "scale_$n" "$etl" --db dbname=bench_s --quiet --no-progress load "$work/scale/sales.csv.gz"
	[ "$(psql -X -Atq -d bench_s -c 'SELECT count(*) FROM transactions')" = "$srows" ] ||
		{ say "bench.sh: siprems-etl did not load every row of the $n-row set"; exit 1; }
	dropdb bench_s
	scaled+=("$n:$srows")
done
rm -rf "$work/scale"

median() { # file column -> the median of that column
	cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
pa=$(median "$work/psql_initial" 1)
ea=$(median "$work/etl_initial" 1)
ea1=$(median "$work/etl_initial1" 1)
pca=$(median "$work/psql_append_a" 1)
eca=$(median "$work/etl_append_a" 1)
eca1=$(median "$work/etl_append_a1" 1)
pcb=$(median "$work/psql_append_b" 1)
ecb=$(median "$work/etl_append_b" 1)
ep=$(median "$work/etl_plain" 1)
ed=$(median "$work/etl_dry" 1)
ex=$(median "$work/expert_initial" 1)
pg=$([ -f "$work/pgloader_initial" ] && median "$work/pgloader_initial" 1 || true)
rss=$(cat "$work/etl_initial" "$work/etl_initial1" "$work/etl_append_a" "$work/etl_append_b" "$work/etl_plain" $( [ "$citus_ran" = 1 ] && echo "$work/citus_etl_initial $work/citus_etl_append") | cut -d' ' -f2 | sort -n | tail -n 1)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
mb() { echo "$(( $(median "$1" 2) / 1024 )) MB"; }
step() { printf '| %-52s | %7.1f | %8s |\n' "$1" "$2" "$3"; }
target() { printf '| %-36s | %11s | %-11s |\n' "$1" "$2" "$3"; }

echo
echo "siprems-etl benchmark, $(date +%F), $(nproc) cores, PostgreSQL $(psql -X -Atq -c 'SHOW server_version'), median of $runs run(s)"
echo "data: $sales_rows sales rows ($sales_mb MB of CSV, $(du -m "$work/data/sales.csv.gz" | cut -f1) MB gzip), $products products; append $append_rows rows"
echo
printf '| %-52s | %7s | %8s |\n' step seconds "peak RSS"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..54})" "--------:" "---------:"
step '(a) psql \copy, product_id resolved' "$pa" -
step '(b) siprems-etl load, gzip, empty table' "$ea" "$(mb "$work/etl_initial")"
step '(b) siprems-etl load, plain CSV, empty table' "$ep" "$(mb "$work/etl_plain")"
step '(b) siprems-etl load --jobs 1, gzip, empty table' "$ea1" "$(mb "$work/etl_initial1")"
step "(c) psql \\copy append, into the table psql filled" "$pca" -
step "(c) siprems-etl append, into the table psql filled" "$eca" "$(mb "$work/etl_append_a")"
step "(c) siprems-etl append --jobs 1, psql-filled table" "$eca1" "$(mb "$work/etl_append_a1")"
step "(c) psql \\copy append, into the table etl filled" "$pcb" -
step "(c) siprems-etl append, into the table etl filled" "$ecb" "$(mb "$work/etl_append_b")"
step '(d) siprems-etl --dry-run, plain' "$ed" "$(mb "$work/etl_dry")"
step '(g) an expert by hand, empty table' "$ex" -
[ -n "$pg" ] && step '(g) pgloader, drop indexes, empty table' "$pg" -
echo
printf '| %-36s | %11s | %-11s |\n' target measured goal
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..38})" "------------:" "-------------"
target 'initial load, psql / siprems-etl' "$(ratio "$pa" "$ea")" '>= 5.5x'
target 'initial load, expert / siprems-etl' "$(ratio "$ex" "$ea")" '>= 1.0x'
[ -n "$pg" ] && target 'initial load, pgloader / siprems-etl' "$(ratio "$pg" "$ea")" '-'
target 'initial load, --jobs 2 / --jobs 1' "$(ratio "$ea1" "$ea")" '-'
target 'append (psql-filled), psql / etl' "$(ratio "$pca" "$eca")" '>= 1.5x'
target 'append (etl-filled), psql / etl' "$(ratio "$pcb" "$ecb")" '>= 1.5x'
target 'append --jobs 1, psql / etl' "$(ratio "$pca" "$eca1")" '>= 1.0x'
target 'append, --jobs 2 / --jobs 1' "$(ratio "$eca1" "$eca")" '-'
target 'nightly cycle, psql / etl' "$(awk -v a="$pa" -v b="$pca" -v c="$ea" -v d="$ecb" 'BEGIN { printf "%.2fx", (a + b) / (c + d) }')" '-'
target 'gzip / plain input' "$(ratio "$ea" "$ep")" '<= 1.10'
target 'dry run' "$(awk -v m="$sales_mb" -v s="$ed" 'BEGIN { printf "%.0f MB/s", m / s }')" '>= 100 MB/s'
target 'peak RSS' "$((rss / 1024)) MB" '<= 64 MB'
if [ "$citus_ran" = 1 ]; then
	cpi=$(median "$work/citus_psql_initial" 1)
	cei=$(median "$work/citus_etl_initial" 1)
	cpa=$(median "$work/citus_psql_append" 1)
	cea=$(median "$work/citus_etl_append" 1)
	echo
	echo "Citus $(psql -X -Atq -d "$(coord bench_cb)" -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'"): a coordinator and 2 workers on this machine, transactions distributed by product_id (32 shards)"
	echo
	printf '| %-52s | %7s | %8s |\n' step seconds "peak RSS"
	printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..54})" "--------:" "---------:"
	step '(e) psql \copy through the coordinator, empty table' "$cpi" -
	step '(e) siprems-etl load through the coordinator, empty' "$cei" "$(mb "$work/citus_etl_initial")"
	step '(f) psql \copy append through the coordinator' "$cpa" -
	step '(f) siprems-etl append through the coordinator' "$cea" "$(mb "$work/citus_etl_append")"
	echo
	target 'Citus initial load, psql / etl' "$(ratio "$cpi" "$cei")" '>= 1.5x'
	target 'Citus append, psql / etl' "$(ratio "$cpa" "$cea")" '>= 1.5x'
fi
if [ ${#scaled[@]} -gt 0 ]; then
	echo
	echo "Scaling: siprems-etl load of a gzip sales file into the empty table, one run each"
	echo
	printf '| %12s | %8s | %16s | %8s |\n' rows seconds "s per 1M rows" "peak RSS"
	printf '|%s|%s|%s|%s|\n' "-------------:" "---------:" "-----------------:" "---------:"
	for x in "${scaled[@]}"; do
		n=${x%%:*}
		srows=${x#*:}
		read -r secs kib <"$work/scale_$n"
		printf '| %12s | %8.1f | %16.2f | %5d MB |\n' "$srows" "$secs" \
			"$(awk -v s="$secs" -v r="$srows" 'BEGIN { print s / r * 1000000 }')" "$((kib / 1024))"
	done
fi
