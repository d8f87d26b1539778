#!/usr/bin/env bash
# Two loaders of different files into one empty table, started together,
# with --jobs 1 to 4, five times each: both end loaded (one fills the empty
# table in one transaction, the other waits for it and goes on in batches),
# no deadlock, no shadow table left, every row once.  Then the case that
# failed every time before: the first load's swap held up for 8 s by a
# reader, so the second's lock wait of 5 s ran out and it went on in
# batches into the locks of the first.  And a seed beside a load.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1

# Sizes: each file more than a batch (--batch-rows 500), so that the empty
# table takes the shadow path with --jobs 2 and more; 3,000 rows each.
awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 50; i++) printf "T-%02d,Product %d,%d\n", i, i, 1000 + i }' >products.csv
for f in a b; do
	awk -v f="$f" 'BEGIN { srand(f == "a" ? 1 : 2); print "sku,quantity_sold,price_per_unit,transaction_date"
		for (i = 1; i <= 3000; i++)
			printf "T-%02d,%d,%d,2025-%02d-%02d %02d:%02d:00\n", 1 + int(rand() * 50), 1 + int(rand() * 9), 1000 + int(rand() * 99), 1 + i % 12, 1 + i % 28, i % 24, i % 60
	}' >"$f.csv"
done

c=$(new_db together)
etl --db "$c" --quiet schema
etl --db "$c" --quiet load products.csv
expect_rc 0 "the products load"

# The sales as the files wrote them, sorted: equal to both files' rows.
content() { # database
	sql "$1" "SELECT md5(string_agg(x || E'\n', '' ORDER BY x)) FROM (SELECT concat_ws(',', p.sku, t.quantity_sold, t.price_per_unit, to_char(t.transaction_date, 'YYYY-MM-DD HH24:MI:SS')) x FROM transactions t JOIN products p USING (product_id)) s"
}
shadows() { # database
	sql "$1" "SELECT count(*) FROM pg_class WHERE relname LIKE 'siprems\_etl\_shadow\_%'"
}
# Empties the table and forgets its loads, for the next round.
reset_sales() {
	sql together "TRUNCATE transactions, etl_loads CASCADE" >/dev/null
}

# together NAME EXTRA-ARGS...: starts both loaders at once; checks both.
together() {
	local name=$1 ra rb
	shift
	"$ETL" --db "$c" --no-progress load --batch-rows 500 "$@" a.csv >a.out 2>a.err &
	local pa=$!
	"$ETL" --db "$c" --no-progress load --batch-rows 500 "$@" b.csv >b.out 2>b.err
	rb=$?
	wait "$pa"
	ra=$?
	if [ "$ra" = 0 ] && [ "$rb" = 0 ]; then
		ok "$name: both loads end loaded (exit 0)"
	else
		not_ok "$name: both loads end loaded (exit 0)" "a: exit $ra: $(tail -n 5 a.err) b: exit $rb: $(tail -n 5 b.err)"
	fi
	expect_eq "$(sql together "SELECT string_agg(status, ' ' ORDER BY file_name) FROM etl_loads WHERE kind = 'sales'")" "loaded loaded" \
		"$name: the history: both loaded"
	expect_eq "$(content together)" "$both_db" "$name: the table holds both files' rows, each once"
	expect_eq "$(shadows together)" "0" "$name: no shadow table is left"
}

# The reference content: both files loaded one after the other.
etl --db "$c" --quiet load a.csv b.csv
expect_rc 0 "the files load one after the other"
both_db=$(content together)
[ -n "$both_db" ] || not_ok "the reference content" "empty"
reset_sales

for jobs in 1 2 3 4; do
	for round in 1 2 3 4 5; do
		together "--jobs $jobs, round $round" --jobs "$jobs"
		reset_sales
	done
done

# --- the first load's swap held up by a reader --------------------------------------
# A reader (ACCESS SHARE, which the first load's EXCLUSIVE lock lets in)
# keeps the first load from its swap for 8 s: the second load comes while
# the table is still empty and locked.
psql -X -q -d together -c "BEGIN; SELECT count(*) FROM transactions; SELECT pg_sleep(8); COMMIT" >/dev/null 2>&1 &
reader=$!
at_exit "kill $reader"
for _ in $(seq 1 100); do
	[ "$(sql together "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.relation = 'transactions'::regclass AND a.query LIKE '%pg_sleep(8)%'")" != 0 ] && break
	sleep 0.05
done
"$ETL" --db "$c" --no-progress load --batch-rows 500 --jobs 2 a.csv >a.out 2>a.err &
pa=$!
# Once the first holds the empty table (its advisory lock, or its EXCLUSIVE).
for _ in $(seq 1 200); do
	[ "$(sql together "SELECT count(*) FROM pg_locks WHERE (locktype = 'advisory' OR (relation = 'transactions'::regclass AND mode = 'ExclusiveLock')) AND granted")" != 0 ] && break
	sleep 0.05
done
"$ETL" --db "$c" --no-progress load --batch-rows 500 --jobs 2 b.csv >b.out 2>b.err
rb=$?
wait "$pa"
ra=$?
wait "$reader" 2>/dev/null
expect_eq "$ra $rb" "0 0" "the second load comes while the first's swap waits: both end loaded"
expect_match "$(cat b.err)" "b.csv: another load \\(pid [0-9]+, application siprems-etl\\) is filling transactions while it is empty, in one transaction; waiting for it to commit or roll back, then this file goes on" \
	"the second says whom it waits for"
expect_match "$(cat a.err)" "a.csv: transactions was empty: loaded with one COPY into a shadow table" "the first filled the empty table through its shadow"
expect_no_match "$(cat a.err b.err)" "deadlock|does not exist|gave way" "no deadlock, no lost shadow, no swap that gave way"
expect_eq "$(content together)" "$both_db" "the table holds both files' rows, each once"
expect_eq "$(shadows together)" "0" "no shadow table is left"
reset_sales

# --- a signal ends the wait; the waiter drops what the first one left ------------------------
# The first load's swap held up by a reader again; a second, one sale, waits
# for it.  SIGTERM to the second ends its wait at once (exit 5, nothing
# loaded); a third waits in turn, and SIGTERM to the first, whose shadow
# cannot be dropped while the third holds the table's lock, leaves it to the
# third, which drops it though it takes no shadow way itself.
printf 'sku,quantity_sold,price_per_unit,transaction_date\nT-01,1,1000,2025-06-01 10:00:00\n' >one.csv
cp one.csv one-more.csv
# The reader holds until it is ended (never a time that a busy machine
# could outlast).
psql -X -q -d together -c "BEGIN; SELECT count(*) FROM transactions; SELECT pg_sleep(600); COMMIT" >/dev/null 2>&1 &
reader=$!
end_reader() { psql -X -Atq -d together -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()" >/dev/null 2>&1; }
at_exit "end_reader; kill $reader"
for _ in $(seq 1 600); do
	[ "$(sql together "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.relation = 'transactions'::regclass AND a.query LIKE '%pg_sleep(600)%'")" != 0 ] && break
	sleep 0.05
done
"$ETL" --db "$c" --no-progress load --batch-rows 500 --jobs 2 a.csv >a.out 2>a.err &
pa=$!
for _ in $(seq 1 600); do
	[ "$(sql together "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" != 0 ] && break
	sleep 0.05
done
"$ETL" --db "$c" --no-progress load one.csv >one.out 2>one.err &
p1=$!
for _ in $(seq 1 600); do grep -q 'waiting for it to commit' one.err && break; sleep 0.05; done
expect_match "$(cat one.err)" "waiting for it to commit" "the second waits for the first"
t0=$SECONDS
kill -TERM "$p1"
wait "$p1"
# (The first holds the table until the reader is ended: without the cancel
# the wait would last as long; 15 s is room for a busy machine.)
expect_eq "$? $((SECONDS - t0 < 15))" "5 1" "SIGTERM ends the wait for the other load at once (exit 5)"
expect_match "$(cat one.err)" "interrupted by SIGTERM" "and says so"
expect_no_match "$(cat one.err)" "--lock-timeout" "no lock watcher's bound for that wait"
"$ETL" --db "$c" --no-progress load one-more.csv >more.out 2>more.err &
p2=$!
for _ in $(seq 1 600); do grep -q 'waiting for it to commit' more.err && break; sleep 0.05; done
kill -TERM "$pa"
wait "$pa"
expect_eq "$?" 5 "SIGTERM stops the first load at its swap (exit 5)"
wait "$p2"
expect_eq "$?" 0 "the third loads its sale"
end_reader
wait "$reader" 2>/dev/null
expect_eq "$(shadows together)" "0" "and no shadow table is left"
expect_eq "$(sql together "SELECT count(*) FROM transactions")" 1 "the table holds the third's sale only"
reset_sales

# --- a seed beside a load -----------------------------------------------------------------
# Both fill the empty products: the seed its catalogue, the load 3,000 others.
awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 3000; i++) printf "ZZ-%04d,Other %d,%d\n", i, i, 2000 + i }' >others.csv
s=$(new_db together_seed)
etl --db "$s" --quiet schema
"$ETL" --db "$s" --no-progress seed >seed.out 2>seed.err &
ps=$!
"$ETL" --db "$s" --no-progress load --batch-rows 500 --jobs 2 others.csv >o.out 2>o.err
ro=$?
wait "$ps"
rs=$?
expect_eq "$rs $ro" "0 0" "a seed and a load of products side by side: both exit 0"
expect_eq "$(sql together_seed "SELECT count(*) = 3000 + (SELECT sum(rows_loaded) FROM etl_loads WHERE kind = 'products' AND file_name NOT LIKE 'others.csv') FROM products")" "t" \
	"products holds the seed's catalogue and the 3,000 others"
expect_eq "$(sql together_seed "SELECT count(*) FROM products WHERE sku LIKE 'ZZ-%'")" "3000" "every row of the load is in"
expect_eq "$(sql together_seed "SELECT string_agg(DISTINCT status, ' ') FROM etl_loads")" "loaded" "every load of both is loaded"
expect_eq "$(shadows together_seed)" "0" "no shadow table is left"

finish
