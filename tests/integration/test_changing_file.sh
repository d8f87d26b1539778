#!/usr/bin/env bash
# A file whose content changes between or during loads:
# an export still being written while it loads, a half-written export one
# night and the finished one the next, another file under the name of an
# unfinished load.  Never both copies: the table holds every row of the
# file once, or the file is refused until the operator says what to do.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1

awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 200; i++) printf "G-%03d,Product %d,%d\n", i, i, 1000 + i }' >products.csv
# Sales rows numbered by their quantity and time, so that a row loaded twice
# or lost shows in the checksum.
make_sales() { # first last
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == 1) print "sku,quantity_sold,price_per_unit,transaction_date"
	for (i = a; i <= b; i++) printf "G-%03d,%d,%d,2025-%02d-%02d %02d:%02d:%02d\n", 1 + i % 200, 1 + i % 9, 1000 + i % 500, 1 + i % 12, 1 + i % 28, i % 24, i % 60, int(i / 60) % 60 }'
}
checksum() { # database: the file's rows (the batched path's row costs 1)
	sales_checksum "$1" "t.price_per_unit >= 1000"
}
# A database with the products and one sale (price 1, left out of the
# checksum) so that loads take the batched path.
prepare() { batched_db "$1" G-001 1 '2024-12-31 12:00'; } # database
history() { sql "$1" "SELECT string_agg(load_id || ':' || status || ':' || records_done || ':' || rows_loaded, ' ' ORDER BY load_id) FROM etl_loads WHERE kind = 'sales'"; }

make_sales 1 60000 >full.csv
make_sales 1 30000 >half.csv
make_sales 60001 60500 >tail.csv
cat full.csv tail.csv >grown.csv
ref_full=$(c=$(prepare grow_ref_full) && "$ETL" --db "$c" --quiet load full.csv >/dev/null 2>&1 && checksum grow_ref_full)
ref_grown=$(c=$(prepare grow_ref_grown) && "$ETL" --db "$c" --quiet load grown.csv >/dev/null 2>&1 && checksum grow_ref_grown)
expect_eq "${ref_grown%% *}" 60500 "the reference: the grown file loads its 60,500 rows"

# --- an export still being written while it loads ---------------------------------
# Each batch's COPY sleeps 0.1 s: the load is still running when the export
# grows.
grows_while_loading() { # database jobs
	local db=$1 jobs=$2 c pid h
	c=$(prepare "$db")
	slow_copies "$db"
	cp full.csv "$db.csv"
	"$ETL" --db "$c" --no-progress load --batch-rows 1000 --jobs "$jobs" "$db.csv" >"$db.out" 2>"$db.err" &
	pid=$!
	committed "$db"
	cat tail.csv >>"$db.csv"
	wait "$pid"
	expect_eq "$?" 5 "--jobs $jobs: the export grew during the load: it stops (exit 5, resumable)"
	expect_match "$(cat "$db.err")" "$db\.csv: the file changed while it loaded \([0-9]+ bytes when it was read first, [0-9]+ now" "--jobs $jobs: it says the file changed, and how"
	h=$(history "$db")
	expect_match "$h" "^[0-9]+:stopped:[1-9][0-9]*000:[1-9][0-9]*000$" "--jobs $jobs: the history: stopped after whole committed batches ($h)"
	expect_eq "$(sql "$db" "SELECT count(*) - 1 FROM transactions")" "$(sql "$db" "SELECT rows_loaded FROM etl_loads WHERE kind = 'sales'")" \
		"--jobs $jobs: the table holds exactly the committed batches"
	sql "$db" "DROP TRIGGER slow ON transactions"
	etl --db "$c" --no-progress load --batch-rows 1000 --jobs "$jobs" "$db.csv"
	expect_rc 0 "--jobs $jobs: the next run, on the finished export, completes"
	expect_match "$err" "$db\.csv: the file changed since load [0-9]+ stopped, and begins with the [0-9]+ rows it committed: load [0-9]+ goes on with it after them" "--jobs $jobs: it says it goes on with the grown file"
	expect_eq "$(checksum "$db")" "$ref_grown" "--jobs $jobs: every row of the grown export once (count and md5 equal one clean load)"
	expect_match "$(history "$db")" "^[0-9]+:loaded:60500:60500$" "--jobs $jobs: one load in the history, loaded, all 60,500 rows"
	etl --db "$c" --no-progress load "$db.csv"
	expect_rc 0 "--jobs $jobs: loading it again does nothing"
	expect_eq "$(checksum "$db")" "$ref_grown" "--jobs $jobs: and adds nothing"
}
grows_while_loading grow_live 1
grows_while_loading grow_jobs 3

# --- a half-written export one night, the finished one the next ----------------------
c=$(prepare grow_nightly)
cp half.csv nightly.csv
etl --db "$c" --quiet load nightly.csv
expect_rc 0 "night 1: the half-written export loads"
cp full.csv nightly.csv
etl --db "$c" --no-progress load nightly.csv
expect_rc 0 "night 2: the finished export loads"
expect_match "$err" "nightly\.csv: the file begins with the 30000 rows load [0-9]+ loaded \(it grew since\); load [0-9]+ takes the rows after them" "it says it takes only the rows after the first night's"
expect_eq "$(checksum grow_nightly)" "$ref_full" "every row once: not the first 30,000 twice (count and md5)"
expect_match "$(history grow_nightly)" "^[0-9]+:loaded:30000:30000 [0-9]+:loaded:60000:30000$" "two loads: 30,000 rows each"
id2=$(sql grow_nightly "SELECT max(load_id) FROM etl_loads WHERE kind = 'sales'")
etl --db "$c" --quiet undo "$id2" --yes
expect_rc 0 "the second night's load can be undone alone"
expect_eq "$(sql grow_nightly "SELECT count(*) - 1 FROM transactions")" 30000 "leaving the first night's rows"

# The half-written export ends in a record cut mid-line (its time cut off, a
# date that is still valid): the finished one is refused until told, then
# --force gives every row once, the cut one as the finished file has it.
c=$(prepare grow_cut)
head -c -10 half.csv >cut.csv
expect_eq "$(tail -c 1 cut.csv | od -An -tx1 | tr -d ' ')" "$(tail -c 11 half.csv | head -c 1 | od -An -tx1 | tr -d ' ')" \
	"the cut export ends where half.csv's bytes were cut"
expect_no_match "$(tail -c 1 cut.csv | od -An -tx1)" "0a" "mid-line, without a line end: $(tail -n 1 cut.csv)"
etl --db "$c" --no-progress load cut.csv
expect_rc 0 "night 1: the cut export loads (its last record a valid date)"
# Record 30000 is G-001,4,1000,2025-01-13 00:00:20; cut, its time is gone.
cut_row="SELECT count(*) FROM transactions WHERE quantity_sold = 4 AND price_per_unit = 1000 AND transaction_date::date = '2025-01-13'"
expect_eq "$(sql grow_cut "$cut_row AND transaction_date::time = '00:00'")" 1 "the cut record went in as it was cut"
before=$(history grow_cut)
rows_before=$(checksum grow_cut)
cp full.csv cut.csv
etl --db "$c" --no-progress load cut.csv
expect_rc 3 "night 2: the finished export, under the name of the cut one, is refused"
id=${before%%:*}
expect_match "$err" "cut\.csv: load $id of a file of this name ended in a record cut off mid-line \(data record 30000 has no line end\).*'siprems-etl undo $id', or load this file with --force" \
	"it says which load, which record, and what to do"
expect_eq "$(history grow_cut)" "$before" "the history is as it was"
expect_eq "$(checksum grow_cut)" "$rows_before" "and the table too"
etl --db "$c" --no-progress load --force cut.csv
expect_rc 0 "--force undoes the cut load and loads the finished export"
expect_eq "$(checksum grow_cut)" "$ref_full" "every row once, none as it was cut (count and md5)"
expect_eq "$(sql grow_cut "$cut_row AND transaction_date::time = '00:00:20'") $(sql grow_cut "$cut_row AND transaction_date::time = '00:00'")" "1 0" \
	"record 30000 is in as the finished export has it, not as it was cut"
expect_match "$(history grow_cut)" "^$id:undone:[0-9]+:[0-9]+ [0-9]+:loaded:60000:60000$" "the history: the cut load undone, the finished one loaded"

# An export without a final newline whose last record is whole: the next,
# longer one begins with all of its records and takes only the rest.
c=$(prepare grow_nonl)
head -c -1 half.csv >nonl.csv
etl --db "$c" --quiet load nonl.csv
expect_rc 0 "night 1: an export without a final newline loads"
cp full.csv nonl.csv
etl --db "$c" --no-progress load nonl.csv
expect_rc 0 "night 2: the longer export loads"
expect_match "$err" "nonl\.csv: the file begins with the 30000 rows load [0-9]+ loaded \(it grew since\)" "it takes only the rows after the first night's"
expect_eq "$(checksum grow_nonl)" "$ref_full" "every row once (count and md5)"

# Another export under the same name the next night (the usual daily file):
# it loads as a new file.
c=$(prepare grow_daily)
make_sales 1 5000 >daily.csv
etl --db "$c" --quiet load daily.csv
(head -1 full.csv && make_sales 70001 75000) >daily.csv
etl --db "$c" --quiet load daily.csv
expect_rc 0 "another day's file under the same name loads"
expect_eq "$(sql grow_daily "SELECT count(*) - 1 FROM transactions")" 10000 "both days' rows are in"

# --- other content under the name of an unfinished load --------------------------------
c=$(prepare grow_refuse)
slow_copies grow_refuse
cp full.csv x.csv
"$ETL" --db "$c" --quiet load --batch-rows 1000 --jobs 1 x.csv >/dev/null 2>&1 &
pid=$!
committed grow_refuse
kill -TERM "$pid"
wait "$pid"
sql grow_refuse "DROP TRIGGER slow ON transactions"
before=$(history grow_refuse)
rows_before=$(checksum grow_refuse)
expect_match "$before" "^[0-9]+:stopped:[1-9][0-9]*:[1-9][0-9]*$" "a load stopped part way ($before)"
make_sales 80001 90000 >other.csv
(head -1 full.csv && cat other.csv) >x.csv
etl --db "$c" --no-progress load x.csv
expect_rc 3 "other content under the name of the unfinished load is refused (exit 3)"
id=${before%%:*}
expect_match "$err" "x\.csv: load $id of a file of this name stopped \(stopped\) after [0-9]+ rows were committed, and this file's content differs from it.*'siprems-etl undo $id', or load this file with --force" "it says which load, why, and what to do"
expect_eq "$(history grow_refuse)" "$before" "the history is as it was"
expect_eq "$(checksum grow_refuse)" "$rows_before" "and the table too"
etl --db "$c" --no-progress load --force x.csv
expect_rc 0 "--force undoes the unfinished load, then loads the new content"
expect_match "$err" "--force: undid 1 earlier load" "it says so"
expect_eq "$(sql grow_refuse "SELECT count(*) - 1 FROM transactions")" 10000 "the table holds the new content only"
expect_match "$(history grow_refuse)" "^$id:undone:[0-9]+:[0-9]+ [0-9]+:loaded:10000:10000$" "the history: the old load undone, the new one loaded"

# An unfinished load that committed nothing is set aside.
c=$(prepare grow_aside)
cp half.csv y.csv
hold_share_lock grow_aside 4
etl --db "$c" --quiet load --lock-timeout 1s y.csv
expect_rc 6 "a load stopped by a lock before its first batch (exit 6)"
wait "$holder"
cp full.csv y.csv
etl --db "$c" --no-progress load y.csv
expect_rc 0 "other content under its name loads"
expect_match "$err" "y\.csv: load [0-9]+ of the file's earlier content committed nothing; set aside" "it says the earlier load was set aside"
expect_eq "$(checksum grow_aside)" "$ref_full" "every row of the new content once"

finish
