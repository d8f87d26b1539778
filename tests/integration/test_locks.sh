#!/usr/bin/env bash
# Another session's DDL or TRUNCATE while a load runs:
# with --jobs 1, 2 and 4, on the batched path and on the empty table's, the
# load ends within its bound (done, or stopped and resumable with exit 6,
# naming who held the lock), the other session's statement completes, and
# after the next run the table holds every row exactly once.  Before the
# fix a parallel load and a CREATE INDEX waited on each other for good: each
# load here runs under timeout(1), so such a hang fails the test.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
LOAD_BOUND=150 # seconds a load (including its lock waits) may take here

awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 300; i++) printf "L-%03d,Product %d,%d\n", i, i, 1000 + i * 5 }' >products.csv
# Sizes: each round needs a load of many batches for the other session's
# statements to fall between (200 of them), not many rows: 40,000 rows in
# batches of 200 (`make test-big`: 200,000 in batches of 1,000).
ROWS=$(scale 40000 200000)
BATCH=$(scale 200 1000)
# Sales with rows only the server refuses (quantity 7, under a CHECK the
# validator does not know) in every batch: such a batch starts over, and
# between its ROLLBACK and its next COPY it holds no lock on the table, so
# another session's request can come first.
awk -v n="$ROWS" 'BEGIN { srand(11); print "sku,quantity_sold,price_per_unit,transaction_date"
	for (i = 1; i <= n; i++) {
		q = 1 + int(rand() * 6); if (i % 149 == 0) q = 7
		printf "L-%03d,%d,%d,2025-%02d-%02d %02d:%02d\n", 1 + int(rand() * 300), q, 1000 + int(rand() * 900), 1 + i % 12, 1 + i % 28, 8 + i % 12, i % 60
	} }' >sales.csv
# The empty table takes the file without them (a refused row would send it
# to the batches): the same good rows.
awk -F, '$2 != 7' sales.csv >clean.csv
good=$(($(wc -l <clean.csv) - 1))

checksum() { # database: the file's rows (the batched path's row costs 0)
	sales_checksum "$1" "t.price_per_unit > 0"
}

# A database with the products and the CHECK; batched: one sale already in
# (price 0, left out of the checksum), so that loads take the batched path.
prepare() { # database batched|empty
	local c
	c=$(products_db "$1")
	[ "$2" = batched ] && sql "$1" "ALTER TABLE transactions ADD CONSTRAINT no_seven CHECK (quantity_sold <> 7) NOT VALID" &&
		one_sale "$1" L-001 0 '2024-12-31 12:00'
	echo "$c"
}

# The reference: one load, nobody else.
c=$(prepare locks_ref batched)
etl --db "$c" --quiet load --batch-rows 2000 --jobs 1 --reject-dir "$T_TMP" sales.csv
expect_rc 1 "the reference load (exit 1: the refused rows)"
ref=$(checksum locks_ref)
expect_eq "${ref%% *}" "$good" "it holds every good row"

# Waits until the sales load in $1 has started: its history row, and on the
# batched path a committed batch.
started() { # database batched|empty pid
	for _ in $(seq 1 500); do
		kill -0 "$3" 2>/dev/null || return 0
		if [ "$2" = batched ]; then
			[ "$(psql -X -Atq -d "$1" -c "SELECT coalesce(max(records_done), 0) > 0 FROM etl_loads WHERE kind = 'sales'" 2>/dev/null)" = t ] && return 0
		else
			[ "$(psql -X -Atq -d "$1" -c "SELECT count(*) > 0 FROM etl_loads WHERE kind = 'sales'" 2>/dev/null)" = t ] && return 0
		fi
		sleep 0.02
	done
}

# One round: the load in the background; once it runs, the other session's
# statements, each to its end (timeout(1) catches a hang); then the load's
# end, the history and, after a second run where the first stopped, the
# table's content.
round() { # name path jobs what
	local db="locks_$1" path=$2 jobs=$3 what=$4 c pid lrc i ddl_failed=0 t0 t1 file=sales.csv done_rc=1
	[ "$path" = empty ] && file=clean.csv done_rc=0
	c=$(prepare "$db" "$path")
	t0=$(date +%s)
	timeout "$LOAD_BOUND" "$ETL" --db "$c" --no-progress load --batch-rows "$BATCH" --jobs "$jobs" \
		--lock-timeout 5s --reject-dir "$T_TMP/$1" "$file" >"$1.out" 2>"$1.err" &
	pid=$!
	started "$db" "$path" "$pid"
	local during=0
	for i in 1 2 3 4 5 6; do
		kill -0 "$pid" 2>/dev/null && during=$((during + 1))
		case "$what" in
		ddl) timeout 120 psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE INDEX locks_idx ON transactions (quantity_sold); DROP INDEX locks_idx" >/dev/null 2>"$1.ddl" || ddl_failed=$((ddl_failed + 1)) ;;
		truncate) timeout 120 psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "BEGIN; LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE; COMMIT" >/dev/null 2>"$1.ddl" || ddl_failed=$((ddl_failed + 1)) ;;
		esac
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid"
	lrc=$?
	t1=$(date +%s)
	expect_eq "$ddl_failed" 0 "$1: the other session's $what completed every time ($(head -c 300 "$1.ddl"))"
	[ "$during" -gt 0 ] && ok "$1: the other session's $what came while the load ran ($during times)" ||
		not_ok "$1: the other session's $what came while the load ran" "the load had ended before the first"
	if [ "$lrc" = 124 ]; then
		not_ok "$1: the load ended within ${LOAD_BOUND}s" "it hung (killed by timeout); $(tail -c 600 "$1.err")"
		return
	fi
	ok "$1: the load ended within ${LOAD_BOUND}s ($((t1 - t0))s, exit $lrc)"
	local st
	st=$(sql "$db" "SELECT status FROM etl_loads WHERE kind = 'sales'")
	case "$lrc" in
	"$done_rc") expect_eq "$st" "$([ "$done_rc" = 1 ] && echo partial || echo loaded)" "$1: done, the history says so" ;;
	6)
		expect_eq "$st" "stopped" "$1: stopped by the lock, the history says stopped (resumable)"
		expect_match "$(cat "$1.err")" "(gave way to pid [0-9]+ \(application psql|another session's lock on transactions kept the load waiting).*the next run resumes after row [0-9]+" "$1: it names the session and where the next run resumes"
		timeout "$LOAD_BOUND" "$ETL" --db "$c" --quiet load --batch-rows 2000 --jobs "$jobs" --lock-timeout 5s --reject-dir "$T_TMP/$1" "$file"
		expect_eq "$?" "$done_rc" "$1: the next run resumes and completes"
		;;
	*) not_ok "$1: the load exits $done_rc (done) or 6 (stopped by the lock)" "exit $lrc; $(tail -c 800 "$1.err")" ;;
	esac
	expect_eq "$(checksum "$db")" "$ref" "$1: the table holds every row exactly once (count and md5 equal the reference)"
	expect_eq "$(sql "$db" "SELECT count(*) FROM pg_indexes WHERE indexname = 'locks_idx'")" "0" "$1: the other session's index came and went"
}

mkdir -p b_ddl_1 b_ddl_2 b_ddl_4 b_trunc_2 b_trunc_4 e_ddl_1 e_ddl_2 e_ddl_4 e_trunc_2
round b_ddl_1 batched 1 ddl
round b_ddl_2 batched 2 ddl
round b_ddl_4 batched 4 ddl
round b_trunc_2 batched 2 truncate
round b_trunc_4 batched 4 truncate
round e_ddl_1 empty 1 ddl
round e_ddl_2 empty 2 ddl
round e_ddl_4 empty 4 ddl
round e_trunc_2 empty 2 truncate

# A lock held for longer than --lock-timeout: the load stops within the
# bound, exit 6, the holder named; the history is resumable and the next run
# completes the file exactly.
c=$(prepare locks_held batched)
mkdir -p held
hold_share_lock locks_held 12
t0=$(date +%s)
etl --db "$c" --no-progress load --batch-rows 2000 --jobs 2 --lock-timeout 2s --reject-dir held sales.csv
t1=$(date +%s)
expect_rc 6 "a lock held past --lock-timeout stops the load with exit 6"
expect_match "$((t1 - t0))" "^([0-9]|1[01])$" "within the bound, not the holder's 12 s ($((t1 - t0))s)"
expect_match "$err" "another session's lock on transactions kept the load waiting for more than 2000 ms \(--lock-timeout\); on the table now: pid [0-9]+ \(application psql, holds ShareLock: BEGIN; LOCK TABLE transactions IN SHARE MODE" "it names the session holding the lock, its application and its query"
expect_eq "$(sql locks_held "SELECT status || ' ' || records_done FROM etl_loads WHERE kind = 'sales'")" "stopped 0" "the history row is stopped (resumable), nothing committed"
expect_eq "$(sql locks_held "SELECT count(*) FROM transactions")" "1" "the table is as it was"
release_share_lock locks_held
etl --db "$c" --quiet load --batch-rows 2000 --jobs 2 --reject-dir held sales.csv
expect_rc 1 "once the lock is gone the next run loads the file (exit 1: the refused rows)"
expect_eq "$(checksum locks_held)" "$ref" "exactly once"

# A lock held for a while, within the bound: the load says, while it waits,
# for which lock and who holds it, then goes on and completes.
for jobs in 1 2; do
	c=$(prepare "locks_wait_$jobs" batched)
	mkdir -p "wait_$jobs"
	hold_share_lock "locks_wait_$jobs" 5
	etl --db "$c" --no-progress load --batch-rows 2000 --jobs "$jobs" --lock-timeout 40s --reject-dir "wait_$jobs" sales.csv
	expect_rc 1 "--jobs $jobs: a lock held for 5 s within --lock-timeout 40s: the load completes (exit 1: the refused rows)"
	expect_match "$err" "waiting [2-6] s for a lock on transactions: pid [0-9]+ \(application psql, holds ShareLock: BEGIN; LOCK TABLE transactions IN SHARE MODE.*; the load gives up after 40000 ms \(--lock-timeout\)" \
		"--jobs $jobs: while it waits it names the lock, the holder and the bound"
	expect_eq "$(checksum "locks_wait_$jobs")" "$ref" "--jobs $jobs: every good row once"
	wait "$holder"
done
c=$(prepare locks_wait_q batched)
hold_share_lock locks_wait_q 4
etl --db "$c" --quiet load --batch-rows 2000 --jobs 1 --reject-dir wait_1 sales.csv
expect_rc 1 "--quiet: the load waits and completes"
expect_no_match "$err" "waiting|lock" "--quiet: nothing said while it waits (the summary only)"
wait "$holder"

etl load --lock-timeout soon products.csv
expect_rc 2 "--lock-timeout takes a duration only"
expect_match "$err" "--lock-timeout: \"soon\" is not a duration" "and says so"

finish
