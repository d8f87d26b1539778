#!/usr/bin/env bash
# --jobs: the batches of a file on several connections.  The batches really
# run side by side (two backends inside their COPY at once); the outcome is
# the one connection's, byte for byte (rows, reject file, counts), for sales
# and for the kinds with a unique key, also with --max-rejects; kill -9 at
# random moments and SIGTERM resume exactly; a server that refuses the extra
# connections leaves the load on the ones it has.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
KILLS=${ETL_TEST_JOB_KILLS:-15}

awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 300; i++) printf "J-%03d,Product %d,%d\n", i, i, 1000 + i * 5 }' >products.csv
# Sales with rows the intake rejects (unknown SKU, zero quantity) and rows
# only the server refuses (quantity 7, under a CHECK the validator does not
# know).
make_sales() { # rows
	awk -v n="$1" 'BEGIN { srand(3); print "sku,quantity_sold,price_per_unit,transaction_date"
	for (i = 1; i <= n; i++) {
		sku = sprintf("J-%03d", 1 + int(rand() * 300)); q = 1 + int(rand() * 6)
		if (i % 911 == 0) sku = "NOPE-" i
		if (i % 1303 == 0) q = 0
		if (i % 1709 == 0) q = 7
		printf "%s,%d,%d,2025-%02d-%02d %02d:%02d\n", sku, q, 1000 + int(rand() * 900), 1 + i % 12, 1 + i % 28, 8 + i % 12, i % 60
	} }'
}
make_sales 30000 >sales.csv
# The kill and SIGTERM cases need batches to land between (300 of them on
# 3 connections, each COPY slowed by a trigger), not rows: 60,000 rows in
# batches of 200 (`make test-big`: 300,000 in batches of 1,000).
BIG=$(scale 60000 300000)
BIG_BATCH=$(scale 200 1000)
make_sales "$BIG" >big.csv
# A refused row's reason quotes the row, with the id the sequence gave it:
# a batch rolled back (a kill) used up its ids, so the ids differ.
rejects() { sed -E 's/Failing row contains \([0-9]+, /Failing row contains (ID, /' "$1" | md5sum; }

# A database with the products, one sale (so that loads take the batched
# path, not the empty table's) and the CHECK.
prepare() { # database
	local c
	c=$(batched_db "$1" J-001 1000 '2024-12-31 12:00')
	sql "$1" "ALTER TABLE transactions ADD CONSTRAINT no_seven CHECK (quantity_sold <> 7) NOT VALID"
	echo "$c"
}

# --- side by side ---------------------------------------------------------------
# Each COPY's statement trigger notes its backend and sleeps 0.3 s: with two
# connections two backends are inside a COPY at the same moment.
overlaps() { # database jobs -> $got: "backends overlapping-pairs"
	local c
	c=$(prepare "$1")
	sql "$1" "CREATE TABLE copy_log (pid int, t0 timestamptz, t1 timestamptz);
	  CREATE FUNCTION slow_copy() RETURNS trigger LANGUAGE plpgsql AS \$\$
	  DECLARE t timestamptz := clock_timestamp();
	  BEGIN PERFORM pg_sleep(0.3); INSERT INTO copy_log VALUES (pg_backend_pid(), t, clock_timestamp()); RETURN NULL; END \$\$;
	  CREATE TRIGGER slow_copy AFTER INSERT ON transactions FOR EACH STATEMENT EXECUTE FUNCTION slow_copy()"
	head -4001 sales.csv >part.csv
	etl --db "$c" --no-progress load --batch-rows 500 --jobs "$2" --reject-dir "$T_TMP" part.csv
	got=$(sql "$1" "SELECT count(DISTINCT pid) || ' ' || (SELECT count(*) FROM copy_log a JOIN copy_log b ON a.pid < b.pid AND a.t0 < b.t1 AND b.t0 < a.t1) FROM copy_log")
}
overlaps jobs_side2 2
expect_rc 1 "--jobs 2 loads the file (exit 1: it has bad rows)"
expect_match "$err" "part\.csv: 2 connections load its batches side by side" "it says it loads on 2 connections"
expect_match "$got" "^2 [1-9][0-9]*$" "two backends ran their COPY at the same time ($got)"
overlaps jobs_side3 3
expect_match "$got" "^3 [1-9][0-9]*$" "--jobs 3: three backends, overlapping ($got)"
overlaps jobs_side1 1
expect_eq "$got" "1 0" "--jobs 1: one backend, nothing overlaps"
expect_no_match "$err" "side by side" "and no word of connections"

# --- the same outcome as one connection ---------------------------------------------
mkdir -p r1 r2 r4
for j in 1 2 4; do
	c=$(prepare "jobs_same$j")
	etl --db "$c" --quiet load --batch-rows 1000 --jobs "$j" --reject-dir "r$j" --summary-json "s$j.json" sales.csv
	eval "rc$j=$rc"
done
expect_eq "$rc1 $rc2 $rc4" "1 1 1" "every run exits 1 (rows rejected)"
one=$(sales_checksum jobs_same1)
expect_match "$one" "^29[0-9]{3} [0-9a-f]{32}$" "one connection loads the good rows"
expect_eq "$(sales_checksum jobs_same2)" "$one" "--jobs 2: the same rows"
expect_eq "$(sales_checksum jobs_same4)" "$one" "--jobs 4: the same rows"
expect_eq "$(json_counts s2.json) $(json_counts s4.json)" "$(json_counts s1.json) $(json_counts s1.json)" "the same counts"
expect_match "$(json_counts s1.json)" "^sales\.csv:partial:30000:2[0-9]{4}:0:0:[1-9][0-9]+$" "counts of a partial load ($(json_counts s1.json))"
expect_eq "$(md5sum <r2/sales.csv.rejects.csv) $(md5sum <r4/sales.csv.rejects.csv)" \
	"$(md5sum <r1/sales.csv.rejects.csv) $(md5sum <r1/sales.csv.rejects.csv)" "the same reject file, byte for byte"
expect_match "$(grep -c 'no_seven' r4/sales.csv.rejects.csv)" "^1[0-9]$" "rows the server refused are in it, with its reason"
expect_eq "$(sql jobs_same4 "SELECT status, records_done, rows_rejected FROM etl_loads WHERE kind = 'sales'")" \
	"$(sql jobs_same1 "SELECT status, records_done, rows_rejected FROM etl_loads WHERE kind = 'sales'")" "the same history"
reject_lines() { python3 -c 'import csv, sys; print(" ".join(r["reject_line"] for r in csv.DictReader(open(sys.argv[1]))))' "$1"; }
lines=$(reject_lines r4/sales.csv.rejects.csv | tr ' ' '\n')
expect_eq "$(printf '%s\n' "$lines" | sort -n -c && echo ascending)" "ascending" "the reject file is in line order (the server's refusals among the others)"
expect_eq "$(printf '%s\n' "$lines" | sort -n | uniq -d | wc -l)" "0" "no line rejected twice"
c=$(prepare jobs_undo)
etl --db "$c" --quiet load --batch-rows 1000 --jobs 3 --reject-dir "$T_TMP" sales.csv
id=$(sql jobs_undo "SELECT load_id FROM etl_loads WHERE kind = 'sales'")
etl --db "$c" undo "$id" --yes
expect_rc 0 "a load on 3 connections can be undone"
expect_eq "$(sql jobs_undo "SELECT count(*) FROM transactions")" "1" "undo deletes every row it loaded"

# The keyed kinds: repeated keys and --on-conflict update, in many batches.
awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 2000; i++) { k = (i % 97 == 0) ? i - 50 : i; printf "J-%03d,Renamed %d,%d\n", k, i, 2000 + i } }' >products2.csv
awk 'BEGIN { print "email,full_name,password_hash"; for (i = 1; i <= 1500; i++) { e = (i % 89 == 0) ? sprintf("USER%d@Toko.example", i - 10) : sprintf("user%d@toko.example", i); printf "%s,User %d,$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\n", e, i } }' >users.csv
for j in 1 3; do
	c=$(prepare "jobs_keyed$j")
	"$ETL" --db "$c" --quiet load --batch-rows 100 --jobs 1 users.csv >/dev/null 2>&1
	sql "jobs_keyed$j" "UPDATE users SET full_name = 'old' WHERE email LIKE 'user1%'" >/dev/null
	mkdir -p "k$j"
	etl --db "$c" --quiet load --batch-rows 100 --jobs "$j" --on-conflict update --reject-dir "k$j" --summary-json "k$j.json" products2.csv users.csv
	eval "krc$j=$rc"
done
expect_eq "$krc1 $krc3" "1 1" "repeated keys are rejected on one connection and on three"
expect_eq "$(json_counts k3.json)" "$(json_counts k1.json)" "the same counts ($(json_counts k1.json))"
expect_match "$(json_counts k1.json)" "users\.csv:partial:1500:0:[1-9][0-9]*:[1-9][0-9]*:16 products2\.csv:partial:2000:1683:297:0:20" "inserted, updated, unchanged and repeated rows counted"
for t in "concat_ws(',', sku, name, price) FROM products" "concat_ws(',', email, full_name) FROM users"; do
	q="SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (SELECT $t) AS r (x)"
	expect_eq "$(sql jobs_keyed3 "$q")" "$(sql jobs_keyed1 "$q")" "the same ${t##* } after the update"
done
for f in products2 users; do
	expect_eq "$(md5sum <"k3/$f.csv.rejects.csv")" "$(md5sum <"k1/$f.csv.rejects.csv")" "the same $f reject file"
done

# --max-rejects stops at the same row.
for j in 1 3; do
	c=$(prepare "jobs_max$j")
	mkdir -p "m$j"
	etl --db "$c" --quiet load --batch-rows 700 --jobs "$j" --max-rejects 12 --reject-dir "m$j" sales.csv
	eval "mrc$j=$rc"
done
expect_eq "$mrc1 $mrc3" "5 5" "--max-rejects stops both (exit 5)"
expect_eq "$(sql jobs_max3 "SELECT status, records_done, rows_loaded, rows_rejected FROM etl_loads WHERE kind = 'sales'")" \
	"$(sql jobs_max1 "SELECT status, records_done, rows_loaded, rows_rejected FROM etl_loads WHERE kind = 'sales'")" \
	"at the same row, with the same counts"
expect_eq "$(sales_checksum jobs_max3)" "$(sales_checksum jobs_max1)" "and the same rows"
expect_eq "$(md5sum <m3/sales.csv.rejects.csv)" "$(md5sum <m1/sales.csv.rejects.csv)" "and the same reject file"

# --- kill -9 at random moments --------------------------------------------------------
c=$(prepare jobs_bigref)
mkdir -p bigref killed
etl --db "$c" --quiet load --batch-rows "$BIG_BATCH" --jobs 1 --reject-dir bigref --summary-json bigref.json big.csv
expect_rc 1 "the reference: the big file on one connection"
bigref=$(sales_checksum jobs_bigref)
c=$(prepare jobs_killed)
# Each COPY 0.1 s slower: 300 batches on 3 connections outlast the kills,
# however fast (or busy) the machine.
slow_copies jobs_killed
kills=0
runs=0
while [ "$kills" -lt "$KILLS" ] && [ "$runs" -lt $((KILLS * 3)) ]; do
	runs=$((runs + 1))
	tries=$(sql jobs_killed "SELECT coalesce(max(attempts), 0) FROM etl_loads WHERE kind = 'sales'")
	"$ETL" --db "$c" --quiet load --batch-rows "$BIG_BATCH" --jobs 3 --reject-dir killed big.csv >/dev/null 2>&1 &
	pid=$!
	claimed jobs_killed "$tries" "$pid"
	# Inside its batches, a few at most: the file must outlast the kills,
	# however fast (or busy) the machine.
	copying jobs_killed "$pid"
	sleep "$(rand_between 0 0.12)"
	if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
	wait "$pid" 2>/dev/null
done
expect_eq "$kills" "$KILLS" "the loader on 3 connections was killed $KILLS times"
row=$(sql jobs_killed "SELECT status || ' ' || records_done FROM etl_loads WHERE kind = 'sales'")
expect_match "$row" "^running [0-9]+$" "the history shows the load unfinished ($row)"
etl --db "$c" --quiet load --batch-rows "$BIG_BATCH" --jobs 3 --reject-dir killed --summary-json killed.json big.csv
expect_rc 1 "the run after the kills completes (exit 1: rejects)"
expect_eq "$(sales_checksum jobs_killed)" "$bigref" "after $KILLS kills the table equals one clean load (count and md5)"
expect_eq "$(json_counts killed.json)" "$(json_counts bigref.json)" "the final counts equal the clean load's"
expect_eq "$(rejects killed/big.csv.rejects.csv)" "$(rejects bigref/big.csv.rejects.csv)" "the reject file equals the clean one: nothing in it twice, in order"
echo "# kill -9 on 3 connections: $kills kills over $runs runs; the load took $(sql jobs_killed "SELECT attempts FROM etl_loads WHERE kind = 'sales'") attempts"

# --- SIGTERM -------------------------------------------------------------------------
c=$(prepare jobs_term)
# Each COPY 0.1 s slower: the load is still in its batches when the signal
# comes, however fast the machine.
slow_copies jobs_term
mkdir -p term
"$ETL" --db "$c" --no-progress load --batch-rows "$BIG_BATCH" --jobs 3 --reject-dir term big.csv >term.out 2>term.err &
pid=$!
# Once a committed batch had rejects: the reject file then must hold them
# and nothing of the batch rolled back.
committed jobs_term "reject_bytes > 0"
kill -TERM "$pid"
wait "$pid"
expect_eq "$?" "5" "SIGTERM stops the load on 3 connections with exit 5"
expect_match "$(cat term.err)" "interrupted by SIGTERM; the open batch was rolled back, the next run resumes after row [0-9]+" "it says where the next run resumes"
expect_match "$(sql jobs_term "SELECT status || ' ' || (records_done % $BIG_BATCH = 0) FROM etl_loads WHERE kind = 'sales'")" "^stopped true$" \
	"the history stopped at the end of a committed batch"
expect_eq "$(sql jobs_term "SELECT count(*) - 1 FROM transactions")" "$(sql jobs_term "SELECT rows_loaded FROM etl_loads WHERE kind = 'sales'")" \
	"the table holds exactly the committed batches"
expect_eq "$(stat -c %s term/big.csv.rejects.csv)" "$(sql jobs_term "SELECT reject_bytes FROM etl_loads WHERE kind = 'sales'")" \
	"the reject file holds the committed batches' rejects only"
sql jobs_term "DROP TRIGGER slow ON transactions"
etl --db "$c" --quiet load --batch-rows "$BIG_BATCH" --jobs 3 --reject-dir term big.csv
expect_rc 1 "the next run resumes and completes"
expect_eq "$(sales_checksum jobs_term)" "$bigref" "the table equals one clean load"
expect_eq "$(rejects term/big.csv.rejects.csv)" "$(rejects bigref/big.csv.rejects.csv)" "and the reject file too"

# --- a server that allows one connection ------------------------------------------------
c=$(prepare jobs_limit)
sql jobs_limit "DROP ROLE IF EXISTS jobs_one; CREATE ROLE jobs_one LOGIN PASSWORD 'one-pw' CONNECTION LIMIT 1;
  GRANT ALL ON ALL TABLES IN SCHEMA public TO jobs_one; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO jobs_one;
  GRANT CREATE, USAGE ON SCHEMA public TO jobs_one; GRANT TEMP ON DATABASE jobs_limit TO jobs_one"
etl --db "host=$PGHOST port=$PGPORT user=jobs_one password=one-pw dbname=jobs_limit" --no-progress load --batch-rows 1000 --jobs 2 --reject-dir "$T_TMP" sales.csv
expect_rc 1 "a role limited to one connection still loads (exit 1: rejects)"
expect_match "$err" "--jobs 2: connection 2: .*; loading on 1" "it says the second connection was refused, and goes on with one"
expect_eq "$(sales_checksum jobs_limit)" "$one" "the table equals one clean load"
sql jobs_limit "DROP OWNED BY jobs_one; DROP ROLE jobs_one" >/dev/null

finish
