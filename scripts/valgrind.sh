#!/usr/bin/env bash
# valgrind.sh — a full load under valgrind (memcheck): a generated data set of
# every kind through the fast path into empty tables, an append through the
# batched path with rejected rows, a resumed and a skipped load, `check`, a
# seed and a later one, against a throwaway PostgreSQL.  Any invalid access,
# use of uninitialised memory, or definite/indirect leak fails it.  The load
# cases and the seed cases use different databases and run side by side
# (memcheck runs a program on one core).  Ends with "N passed, N failed".
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
etl="$root/${BUILD:-build}/siprems-etl"
command -v valgrind >/dev/null || { echo "valgrind.sh: needs valgrind (scripts/install-deps.sh --extra)" >&2; exit 1; }
[ -x "$etl" ] || { echo "valgrind.sh: build $etl first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/siprems-etl-vg.XXXXXX")
chmod 755 "$work"
. "$root/scripts/cluster.sh"
trap 'cluster_stop; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
cluster_start "$work/pg" --fast || { echo "valgrind.sh: cannot start PostgreSQL"; echo "0 passed, 1 failed"; exit 1; }
createdb etl_vg
db="host=$PGHOST port=$PGPORT dbname=etl_vg"
cd "$work" || exit 1

# vg NAME EXPECTED_EXIT ARGS...: runs the binary under memcheck; one line
# "ok - ..." or "not ok - ..." (with the logs after it) on stdout.
vg() {
	local name=$1 want=$2
	shift 2
	valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --track-origins=yes --log-file="$work/vg-$name.log" \
		"$etl" "$@" >"$work/out-$name" 2>&1 </dev/null
	local rc=$?
	if [ "$rc" = "$want" ] && [ ! -s "$work/vg-$name.log" ]; then
		echo "ok - $name: exit $rc, valgrind clean"
	else
		echo "not ok - $name: exit $rc (expected $want)"
		head -n 60 "$work/vg-$name.log" "$work/out-$name"
	fi
}

"$etl" generate --out gen --products 300 --days 30 --seed 7 >/dev/null 2>&1 ||
	{ echo "valgrind.sh: generate failed" >&2; echo "0 passed, 1 failed"; exit 1; }

# The seed cases: the data set made in memory, then kept current by a later
# day.  Their own database, beside the load cases.
createdb etl_vg_seed
seed_db="host=$PGHOST port=$PGPORT dbname=etl_vg_seed"
(
	vg seed 0 --db "$seed_db" --no-progress seed --as-of 2025-12-24
	vg seed-later 0 --db "$seed_db" --no-progress seed --as-of 2025-12-31
) >"$work/seed.out" &
seeding=$!

{
	vg generate 0 generate --out gen2 --products 50 --days 5 --seed 8
	vg schema 0 --db "$db" schema
	vg load-fast 0 --db "$db" --no-progress load gen/*.csv.gz
	# An append through the batched path, with rows to reject and a password to hash.
	{
		zcat gen2/sales.csv.gz | head -n 2000
		echo 'NOPE-1,1,,2023-01-01,no'
	} >append.csv
	sed -i '1s/.*/sku,quantity_sold,price_per_unit,transaction_date,is_promo/' append.csv
	printf 'email,full_name,password\nvg@example.com,Val Grind,s3cret\n' >users.csv
	zcat gen2/products.csv.gz >products.csv
	vg load-batched 1 --db "$db" --no-progress load --on-conflict update --batch-rows 300 products.csv users.csv append.csv
	# The same on one connection (--jobs 1): the sequential batched path.
	{
		echo 'sku,quantity_sold,price_per_unit,transaction_date,is_promo'
		zcat gen2/sales.csv.gz | sed -n '2,900p'
		echo 'NOPE-2,1,,2023-01-01,no'
	} >append1.csv
	vg load-one-conn 1 --db "$db" --no-progress load --jobs 1 --batch-rows 300 append1.csv
	vg load-again 0 --db "$db" --no-progress load products.csv
	vg check 1 --db "$db" check append.csv products.csv
	vg dry-run 1 --db "$db" --no-progress load --dry-run --force append.csv
	vg history 0 --db "$db" history
} >"$work/load.out"
wait "$seeding"
cat "$work/load.out" "$work/seed.out"
passed=$(grep -c '^ok - ' "$work/load.out" "$work/seed.out" | awk -F: '{n += $2} END {print n}')
failed=$(grep -c '^not ok - ' "$work/load.out" "$work/seed.out" | awk -F: '{n += $2} END {print n}')
# Every case reports once: one that never ran is a failure too.
[ $((passed + failed)) = 11 ] || failed=$((11 - passed))
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
