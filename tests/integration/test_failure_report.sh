#!/usr/bin/env bash
# What an operator sees when a load fails: the
# summary and --summary-json give what is committed, as the history and the
# table hold it, on every exit path, with an "error" field; a run that
# cannot reach its database still writes its JSON; a reject directory that
# cannot be written is said before anything is claimed (--reject-dir) or
# ends the history row failed with the reason; a statement_timeout of the
# role comes with a hint.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1

awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 50; i++) printf "O-%03d,Product %d,%d\n", i, i, 1000 + i }' >products.csv
awk 'BEGIN { print "sku,quantity_sold,price_per_unit,transaction_date"
	for (i = 1; i <= 30000; i++) printf "%s,%d,%d,2025-03-%02d 10:%02d\n", (i % 997 == 0) ? "NOPE" : sprintf("O-%03d", 1 + i % 50), 1 + i % 5, 1000 + i % 300, 1 + i % 28, i % 60 }' >sales.csv
prepare() { batched_db "$1" O-001 1 '2024-12-31 12:00'; } # database
new_db_conn() { echo "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$1"; }
hist() { sql "$1" "SELECT status || ':' || rows_read || ':' || rows_loaded || ':' || rows_rejected FROM etl_loads WHERE kind = 'sales'"; }

# --- a failure after committed batches: the counts are the committed ones -----------
c=$(prepare ops_fail)
# The server fails the load (not a row: a resource it lacks) once 12,000 rows are in.
sql ops_fail "CREATE FUNCTION full_up() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
    IF (SELECT count(*) FROM transactions) > 12000 THEN RAISE EXCEPTION 'disk full (simulated)' USING ERRCODE = '53100'; END IF;
    RETURN NULL; END \$\$;
  CREATE TRIGGER full_up AFTER INSERT ON transactions FOR EACH STATEMENT EXECUTE FUNCTION full_up()"
mkdir -p rf
etl --db "$c" --no-progress load --batch-rows 5000 --jobs 1 --reject-dir rf --summary-json fail.json sales.csv
expect_rc 4 "the server's failure after committed batches exits 4"
h=$(hist ops_fail)
expect_match "$h" "^failed:10000:99[0-9][0-9]:[0-9]+$" "the history: failed after two committed batches ($h)"
j=$(json_check fail.json)
expect_eq "${j% *}" "sales.csv:$h" "--summary-json gives the committed counts, as the history ($j)"
expect_eq "$(sql ops_fail "SELECT count(*) - 1 FROM transactions")" "$(sql ops_fail "SELECT rows_loaded FROM etl_loads WHERE kind = 'sales'")" "and as the table holds them"
expect_match "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0].get("error", ""))' fail.json)" "disk full \(simulated\).*the next run resumes after row 10000" "the file's JSON says why it failed"
expect_match "$err" "sales\.csv +sales +failed +10000 +$(echo "$h" | cut -d: -f3) " "the summary table gives the same counts"
expect_eq "$(($(wc -l <rf/sales.csv.rejects.csv) - 1))" "$(sql ops_fail "SELECT rows_rejected FROM etl_loads WHERE kind = 'sales'")" "the reject file keeps the committed batches' rejects"
sql ops_fail "DROP TRIGGER full_up ON transactions"
etl --db "$c" --quiet load --batch-rows 5000 --jobs 1 --reject-dir rf --summary-json again.json sales.csv
expect_rc 1 "the next run resumes and completes (exit 1: rejects)"
expect_match "$(json_check again.json)" "^sales\.csv:partial:30000:29970:30 1$" "its JSON counts the whole file"
expect_eq "$(sql ops_fail "SELECT count(*) - 1 FROM transactions")" 29970 "every good row once"

# --- no database: the JSON is still written -------------------------------------------------
run env -u PGHOST -u PGPORT -u DATABASE_URL "$ETL" --db "host=127.0.0.1 port=1 dbname=x connect_timeout=2" load --summary-json - sales.csv
expect_rc 4 "an unreachable database exits 4"
expect_match "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["exit_code"], len(d["files"]), d["totals"]["rows_read"], d["error"])')" "^4 0 0 cannot connect to .*port 1" \
	"--summary-json - still writes the JSON: exit code 4, no file, the error"
printf '%s' "$out" >nodb.json
expect_match "$(json_check nodb.json)" " 4$" "in the summary's shape"

# --- reject directories that cannot be written ------------------------------------------
c=$(prepare ops_rejdir)
etl --db "$c" load --reject-dir "$T_TMP/no/such/dir" sales.csv
expect_rc 2 "an unwritable --reject-dir is a usage error, said first (exit 2)"
expect_eq "$(sql ops_rejdir "SELECT count(*) FROM etl_loads WHERE kind = 'sales'")" 0 "nothing was claimed in the history"
# The current directory (the default) gone under the loader: the same
# check, first (before, the file failed late with exit 5 and a failed
# history row where an explicit --reject-dir was a usage error).
mkdir gone
(cd gone && rmdir "$T_TMP/gone" && "$ETL" --db "$c" --no-progress load "$T_TMP/sales.csv" >"$T_TMP/gone.out" 2>"$T_TMP/gone.err")
grc=$?
expect_eq "$grc" 2 "a default reject directory that cannot be written is a usage error too, said first (exit 2)"
expect_match "$(cat gone.err)" "the current directory, where reject files go without --reject-dir: cannot write reject files there: No such file or directory; give --reject-dir DIR" \
	"it says so, and what to do"
expect_eq "$(sql ops_rejdir "SELECT count(*) FROM etl_loads WHERE kind = 'sales'")" 0 "nothing was claimed in the history"
# A reject directory removed while the load runs: the reject file cannot be
# named at the end; the history row ends failed with the reason.
c=$(prepare ops_rejlate)
slow_copies ops_rejlate
mkdir late
"$ETL" --db "$c" --no-progress load --reject-dir late --batch-rows 2000 --jobs 1 sales.csv >late.out 2>late.err &
pid=$!
committed ops_rejlate "reject_bytes > 0"
rm -rf late
wait "$pid"
expect_eq "$?" 5 "a reject directory removed during the load fails the file (exit 5)"
expect_match "$(cat late.err)" "cannot rename to late/sales\.csv\.rejects\.csv: No such file or directory" "it says so"
expect_match "$(sql ops_rejlate "SELECT status || ': ' || message FROM etl_loads WHERE kind = 'sales'")" "^failed: .*cannot rename to late/sales\.csv\.rejects\.csv: No such file or directory" \
	"the history row ends failed, with the reason (not running)"

# --- statement_timeout of the role ----------------------------------------------------------
c=$(prepare ops_timeout)
sql ops_timeout "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END \$\$;
  CREATE TRIGGER slow AFTER INSERT ON transactions FOR EACH STATEMENT EXECUTE FUNCTION slow();
  ALTER DATABASE ops_timeout SET statement_timeout = '200ms'"
etl --db "$c" --no-progress load --batch-rows 5000 --reject-dir "$T_TMP" sales.csv
expect_rc 4 "a batch cancelled by the database's statement_timeout exits 4"
expect_match "$err" "hint: the server's statement_timeout \(200ms, set for the role or the database\) cancelled a batch: load with a smaller --batch-rows" "with a hint naming the setting and what to do"
expect_match "$(hist ops_timeout)" "^failed:" "the history row ends failed"

# --- idle_in_transaction_session_timeout of the database (or role): 20 ms ----------------
# A batch waits idle for its turn to commit; the one-transaction path waits
# while its shadow fills.  Neither may be ended by the setting (the session
# died, the history stayed "running").
for how in batched empty; do
	db=ops_idle_$how
	if [ "$how" = batched ]; then c=$(prepare "$db"); else c=$(new_db "$db"); "$ETL" --db "$c" --quiet load products.csv >/dev/null 2>&1; fi
	sql "$db" "ALTER DATABASE $db SET idle_in_transaction_session_timeout = '20ms'"
	# Each COPY 0.1 s: the batches wait for their turns.
	slow_copies "$db"
	etl --db "$c" --no-progress load --jobs 2 --batch-rows 2000 --reject-dir "$T_TMP" sales.csv
	expect_rc 1 "$how: a load under a 20 ms idle-in-transaction timeout completes (exit 1: rejects)"
	expect_match "$(hist "$db")" "^partial:30000:" "$how: the history row ends partial with every row read"
	sql "$db" "DROP TRIGGER slow ON transactions" >/dev/null
done

# --- one reject file per input, never shared, never removed by another's load ------------
c=$(prepare ops_rej)
mkdir -p a b d1 d2 rr
awk 'NR == 1 || (NR > 1 && NR <= 3001)' sales.csv >a/day.csv
(head -1 sales.csv && awk 'NR > 3001 && NR <= 6001' sales.csv) >b/day.csv
etl --db "$c" --no-progress load --reject-dir rr a/day.csv b/day.csv
expect_rc 1 "two inputs with one base name load (exit 1: rejects)"
ida=$(sql ops_rej "SELECT load_id FROM etl_loads WHERE file_name = 'a/day.csv'")
idb=$(sql ops_rej "SELECT load_id FROM etl_loads WHERE file_name = 'b/day.csv'")
expect_eq "$(sql ops_rej "SELECT string_agg(reject_file, ' ' ORDER BY load_id) FROM etl_loads WHERE file_name LIKE '%day.csv'")" \
	"rr/day.csv.rejects.csv rr/day.csv.$idb.rejects.csv" "each has its own reject file, recorded in the history"
rej_lines() { python3 -c 'import csv, sys; print(" ".join(r["reject_line"] for r in csv.DictReader(open(sys.argv[1]))))' "$1"; }
expect_eq "$(rej_lines rr/day.csv.rejects.csv)" "$(awk -F, 'NR > 1 && $1 == "NOPE" { printf "%s%d", s, NR; s = " " }' a/day.csv)" "a/day.csv's rejects are all in the first"
expect_eq "$(rej_lines "rr/day.csv.$idb.rejects.csv")" "$(awk -F, 'NR > 1 && $1 == "NOPE" { printf "%s%d", s, NR; s = " " }' b/day.csv)" "b/day.csv's in the second"
expect_eq "$(($(sql ops_rej "SELECT sum(rows_rejected) FROM etl_loads WHERE file_name LIKE '%day.csv'")))" \
	"$(($(wc -l <rr/day.csv.rejects.csv) + $(wc -l <"rr/day.csv.$idb.rejects.csv") - 2))" "every rejected row is in one of them"
# The same base name in the current directory (the default).
etl --db "$c" --quiet load --force a/day.csv b/day.csv
expect_eq "$(ls day.csv.*rejects.csv | wc -l)" 2 "without --reject-dir too: two files in the current directory"
# A later clean load of another file of that name leaves the first one's.
awk 'NR == 1 || (NR > 1 && NR <= 2101)' sales.csv >d1/sales.csv
(head -1 sales.csv && awk -F, 'NR > 7000 && NR <= 7900 && $1 != "NOPE"' sales.csv) >d2/sales.csv
etl --db "$c" --quiet load --reject-dir rr d1/sales.csv
sum1=$(md5sum <rr/sales.csv.rejects.csv)
expect_eq "$(wc -l <rr/sales.csv.rejects.csv)" 3 "d1/sales.csv leaves its two rejected rows in rr/sales.csv.rejects.csv"
etl --db "$c" --quiet load --reject-dir rr d2/sales.csv
expect_rc 0 "a clean file of the same name loads"
expect_eq "$(md5sum <rr/sales.csv.rejects.csv 2>/dev/null)" "$sum1" "and the first file's reject file is still there, untouched"
expect_eq "$(sql ops_rej "SELECT reject_file FROM etl_loads WHERE file_name = 'd1/sales.csv'")" "rr/sales.csv.rejects.csv" "where the history says it is"
# Every stdin load has its own.
awk 'NR == 1 || (NR > 8000 && NR <= 9000)' sales.csv | "$ETL" --db "$c" --quiet load --reject-dir rr - >/dev/null 2>&1
awk 'NR == 1 || (NR > 9000 && NR <= 10000)' sales.csv | "$ETL" --db "$c" --quiet load --reject-dir rr - >/dev/null 2>&1
expect_eq "$(sql ops_rej "SELECT string_agg(reject_file, ' ' ORDER BY load_id) FROM etl_loads WHERE file_name = 'stdin'")" \
	"$(sql ops_rej "SELECT string_agg('rr/stdin.' || load_id || '.rejects.csv', ' ' ORDER BY load_id) FROM etl_loads WHERE file_name = 'stdin'")" "two stdin loads: two reject files, named by their loads"
expect_eq "$(ls rr/stdin.*.rejects.csv | wc -l)" 2 "both are there"

# --- a reject file is complete under its name: written as .NAME.part, renamed at the end ---
c=$(prepare ops_atomic)
sql ops_atomic "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(0.4); RETURN NULL; END \$\$;
  CREATE TRIGGER slow AFTER INSERT ON transactions FOR EACH STATEMENT EXECUTE FUNCTION slow()"
mkdir -p at
"$ETL" --db "$c" --quiet load --batch-rows 2000 --jobs 1 --reject-dir at sales.csv >/dev/null 2>&1 &
pid=$!
committed ops_atomic
sleep 0.5
expect_eq "$([ -e at/.sales.csv.rejects.csv.part ] && echo part) $([ -e at/sales.csv.rejects.csv ] && echo whole)" "part " \
	"while the load runs the rejects are in at/.sales.csv.rejects.csv.part, nothing under the name"
kill -9 "$pid"
wait "$pid" 2>/dev/null
expect_eq "$([ -e at/sales.csv.rejects.csv ] && echo whole)" "" "killed: no half-written file under the name"
expect_eq "$(($(wc -l <at/.sales.csv.rejects.csv.part) - 1))" "$(sql ops_atomic "SELECT rows_rejected FROM etl_loads WHERE kind = 'sales'")" \
	"the part holds the committed batches' rejects (as the history counts them)"
sql ops_atomic "DROP TRIGGER slow ON transactions"
etl --db "$c" --quiet load --batch-rows 2000 --jobs 1 --reject-dir at sales.csv
expect_rc 1 "the next run resumes and completes (exit 1: rejects)"
expect_eq "$([ -e at/.sales.csv.rejects.csv.part ] && echo part) $(($(wc -l <at/sales.csv.rejects.csv) - 1))" " 30" \
	"then the file is under its name with all 30 rejects, the part gone"
expect_eq "$(rej_lines at/sales.csv.rejects.csv)" "$(awk -F, 'NR > 1 && $1 == "NOPE" { printf "%s%d", s, NR; s = " " }' sales.csv)" "each rejected row once, in order"
# A kill after the last commit, before the rename, leaves the finished load's
# rejects under the part's name: the next run gives the file its name.
mv at/sales.csv.rejects.csv at/.sales.csv.rejects.csv.part
etl --db "$c" --quiet load --batch-rows 2000 --jobs 1 --reject-dir at sales.csv
expect_rc 1 "the next run finds the file loaded (exit 1: its rejects are still out)"
expect_eq "$([ -e at/.sales.csv.rejects.csv.part ] && echo part) $(($(wc -l <at/sales.csv.rejects.csv) - 1))" " 30" \
	"and gives the part of the finished load its name"

# --- a corrected reject file completes its source file's load (item 7) -------------------
c=$(prepare ops_fix)
mkdir -p fix done
awk 'NR <= 1001' sales.csv >fix/x.csv
(cd fix && "$ETL" --db "$c" --quiet load x.csv >/dev/null 2>&1)
expect_eq "$(sql ops_fix "SELECT status || ':' || rows_rejected FROM etl_loads WHERE file_name = 'x.csv'")" "partial:1" "x.csv loads with one row rejected"
sed -i 's/^NOPE,/O-001,/' fix/x.csv.rejects.csv
run env -C fix "$ETL" --db "$c" --no-progress load --archive ../done x.csv x.csv.rejects.csv
expect_rc 0 "x.csv with its corrected reject file: exit 0, nothing is left out"
expect_match "$err" "x\.csv\.rejects\.csv: the rows load [0-9]+ rejected are all in now: it is complete" "it says the source load is complete"
expect_no_match "$err" "rejected 1 rows? \((it is|they are) in" "and names no reject file as holding rows still out"
expect_eq "$(ls done | sort | tr '\n' ' ')" "x.csv x.csv.rejects.csv " "both files are archived"
expect_eq "$(sql ops_fix "SELECT status || ':' || (rejects_loaded_by IS NOT NULL) FROM etl_loads WHERE file_name = 'x.csv'")" "loaded:true" \
	"the history: x.csv's load is loaded, by the reject file's load"
expect_eq "$(sql ops_fix "SELECT count(*) - 1 FROM transactions")" 1000 "every row of x.csv is in, once"
cp done/x.csv fix/x.csv
run env -C fix "$ETL" --db "$c" --no-progress load x.csv
expect_rc 0 "the next night, x.csv again: skipped, exit 0 (not 1 every night)"
expect_eq "$(sql ops_fix "SELECT count(*) - 1 FROM transactions")" 1000 "and nothing is added"

# --- undo of a reject file's load reopens its source; a chain of reject files -------------
c=$(new_db ops_rechain)
mkdir -p rc && cd rc || exit 1
printf 'sku,name,price\nR-1,One,100\nR-2,Two,bad\nR-3,Three,300\nR-4,Four,bad\nR-5,Five,500\nR-6,Six,bad\n' >p6.csv
etl --db "$c" --no-progress load p6.csv
expect_rc 1 "p6.csv: 3 of 6 rejected"
sed 's/,bad,/,7,/' p6.csv.rejects.csv >fixed.csv && mv fixed.csv p6.csv.rejects.csv
etl --db "$c" --no-progress load p6.csv.rejects.csv
expect_rc 0 "its corrected reject file loads"
src_id=$(sql ops_rechain "SELECT load_id FROM etl_loads WHERE file_name = 'p6.csv'")
rej_id=$(sql ops_rechain "SELECT load_id FROM etl_loads WHERE file_name = 'p6.csv.rejects.csv'")
expect_eq "$(sql ops_rechain "SELECT status || ' ' || rejects_loaded_by FROM etl_loads WHERE load_id = $src_id")" "loaded $rej_id" "the source load is complete, by the reject file's load"
etl --db "$c" undo "$rej_id" --yes
expect_rc 0 "undo of the reject file's load"
expect_eq "$(sql ops_rechain "SELECT status || ' ' || coalesce(rejects_loaded_by::text, '-') || ' ' || message FROM etl_loads WHERE load_id = $src_id")" \
	"partial - its rejected rows are out again: load $rej_id, which had loaded them, was undone" "the source load's account is open again"
expect_eq "$(sql ops_rechain "SELECT count(*) FROM products WHERE sku LIKE 'R-%'")" 3 "3 of its 6 rows are in"
gzip -k p6.csv
for f in p6.csv p6.csv.gz; do
	etl --db "$c" --no-progress load "$f"
	expect_rc 1 "$f again: exit 1, its rows are out"
	expect_match "$err" "rejected 3 rows.*p6\.csv\.rejects\.csv" "$f: it says how many and names the reject file"
done
etl --db "$c" --no-progress load p6.csv.rejects.csv
expect_rc 0 "the corrected reject file loads again"
expect_eq "$(sql ops_rechain "SELECT count(*) || ' ' || (SELECT status FROM etl_loads WHERE load_id = $src_id) FROM products WHERE sku LIKE 'R-%'")" "6 loaded" \
	"all six rows are in, the source complete"
# A chain: the reject file's load rejects one row again, whose own reject
# file, corrected, completes the source.
printf 'sku,name,price\nC-1,One,100\nC-2,Two,bad\nC-3,Three,bad\nC-4,Four,bad\n' >c.csv
etl --db "$c" --no-progress load c.csv
expect_rc 1 "c.csv: 3 of 4 rejected"
sed -e 's/^C-2,Two,bad,/C-2,Two,2,/' -e 's/^C-3,Three,bad,/C-3,Three,3,/' c.csv.rejects.csv >fixed.csv && mv fixed.csv c.csv.rejects.csv
etl --db "$c" --no-progress load c.csv.rejects.csv
expect_rc 1 "its reject file, two of three corrected: one rejected again"
sed 's/^C-4,Four,bad,/C-4,Four,4,/' c.csv.rejects.csv.rejects.csv >fixed.csv && mv fixed.csv c.csv.rejects.csv.rejects.csv
etl --db "$c" --no-progress load c.csv.rejects.csv.rejects.csv
expect_rc 0 "the reject file's reject file, corrected, loads"
expect_eq "$(sql ops_rechain "SELECT string_agg(file_name || ':' || status, ' ' ORDER BY load_id) FROM etl_loads WHERE file_name LIKE 'c.csv%'")" \
	"c.csv:loaded c.csv.rejects.csv:loaded c.csv.rejects.csv.rejects.csv:loaded" "every load of the chain is complete, the source too"
etl --db "$c" --no-progress load c.csv
expect_rc 0 "c.csv again: exit 0, nothing is out"
expect_eq "$(sql ops_rechain "SELECT count(*) FROM products WHERE sku LIKE 'C-%'")" 4 "all four rows are in, once"
last=$(sql ops_rechain "SELECT load_id FROM etl_loads WHERE file_name = 'c.csv.rejects.csv.rejects.csv'")
etl --db "$c" undo "$last" --yes
expect_rc 0 "undo of the chain's last load"
expect_eq "$(sql ops_rechain "SELECT string_agg(file_name || ':' || status, ' ' ORDER BY load_id) FROM etl_loads WHERE file_name LIKE 'c.csv%'")" \
	"c.csv:partial c.csv.rejects.csv:partial c.csv.rejects.csv.rejects.csv:undone" "reopens the loads up the chain"
etl --db "$c" --no-progress load c.csv
expect_rc 1 "c.csv again: exit 1, a row is out"
# An undone load stays undone when the load of its reject file is undone.
printf 'sku,name,price\nD-1,One,100\nD-2,Two,bad\n' >d.csv
"$ETL" --db "$c" --quiet load d.csv >/dev/null 2>&1
sed 's/,bad,/,2,/' d.csv.rejects.csv >fixed.csv && mv fixed.csv d.csv.rejects.csv
"$ETL" --db "$c" --quiet load d.csv.rejects.csv >/dev/null 2>&1
d1=$(sql ops_rechain "SELECT load_id FROM etl_loads WHERE file_name = 'd.csv'")
d2=$(sql ops_rechain "SELECT load_id FROM etl_loads WHERE file_name = 'd.csv.rejects.csv'")
etl --db "$c" undo "$d1" --yes
expect_rc 0 "undo of a source load"
etl --db "$c" undo "$d2" --yes
expect_rc 0 "then of its reject file's load"
expect_eq "$(sql ops_rechain "SELECT string_agg(status, ' ' ORDER BY load_id) FROM etl_loads WHERE load_id IN ($d1, $d2)")" "undone undone" "both stay undone"
etl --db "$c" --no-progress load d.csv
expect_rc 1 "d.csv loads anew (exit 1: its reject again)"
expect_eq "$(sql ops_rechain "SELECT count(*) FROM products WHERE sku = 'D-1'")" 1 "its good row is back"
# A reject file name used again (the first one removed, a new export the
# next day): undo of the second day's reject load reopens that day's load only.
printf 'sku,name,price\nE-1,One,100\nE-2,Two,bad\n' >e.csv
"$ETL" --db "$c" --quiet load e.csv >/dev/null 2>&1
sed 's/,bad,/,2,/' e.csv.rejects.csv >fixed.csv && mv fixed.csv e.csv.rejects.csv
"$ETL" --db "$c" --quiet load e.csv.rejects.csv >/dev/null 2>&1
rm e.csv.rejects.csv
printf 'sku,name,price\nE-3,Three,300\nE-4,Four,bad\n' >e.csv
"$ETL" --db "$c" --quiet load e.csv >/dev/null 2>&1
sed 's/,bad,/,4,/' e.csv.rejects.csv >fixed.csv && mv fixed.csv e.csv.rejects.csv
"$ETL" --db "$c" --quiet load e.csv.rejects.csv >/dev/null 2>&1
e4=$(sql ops_rechain "SELECT max(load_id) FROM etl_loads WHERE file_name = 'e.csv.rejects.csv'")
etl --db "$c" undo "$e4" --yes
expect_rc 0 "undo of the second day's reject load"
expect_eq "$(sql ops_rechain "SELECT string_agg(file_name || ':' || status, ' ' ORDER BY load_id) FROM etl_loads WHERE file_name LIKE 'e.csv%'")" \
	"e.csv:loaded e.csv.rejects.csv:loaded e.csv:partial e.csv.rejects.csv:undone" "reopens the second day's load, not the first's"
cd "$T_TMP" || exit 1

# --- undo never overwrites what the app changed since (item 4) ------------------------------
undo_case() { # database -> load id of an --on-conflict update of ten products
	local c
	c=$(new_db "$1")
	awk 'BEGIN { print "sku,name,price,stock"; for (i = 1; i <= 20; i++) printf "U-%02d,Product %d,%d,100\n", i, i, 1000 + i }' >u1.csv
	awk 'BEGIN { print "sku,name,price,stock"; for (i = 1; i <= 10; i++) printf "U-%02d,Renamed %d,%d,90\n", i, i, 2000 + i }' >u2.csv
	"$ETL" --db "$c" --quiet load u1.csv >/dev/null 2>&1
	"$ETL" --db "$c" --quiet load --on-conflict update u2.csv >/dev/null 2>&1
	# The app sells one U-03 and reprices U-05.
	sql "$1" "UPDATE products SET stock = stock - 1 WHERE sku = 'U-03'; UPDATE products SET price = 2999 WHERE sku = 'U-05'" >/dev/null
	sql "$1" "SELECT load_id FROM etl_loads WHERE file_name = 'u2.csv'"
}
products() { sql "$1" "SELECT string_agg(sku || ':' || name || ':' || price::int || ':' || stock, ' ' ORDER BY sku) FROM products WHERE sku <= 'U-06'"; }
id=$(undo_case ops_undo)
before=$(products ops_undo)
etl --db "$(new_db_conn ops_undo)" undo "$id" --yes
expect_rc 4 "undo of an update load whose rows the app changed since is refused (exit 4)"
expect_match "$err" "load $id cannot be undone as it is: 2 of the rows it updated changed since \(sku U-03, U-05\).*'undo --keep-changed'.*'undo --overwrite'" "it names the rows and the two ways on"
expect_eq "$(products ops_undo)" "$before" "nothing changed in the table"
expect_eq "$(sql ops_undo "SELECT status FROM etl_loads WHERE load_id = $id")" "loaded" "nor in the history"
etl --db "$(new_db_conn ops_undo)" undo "$id" --yes --keep-changed
expect_rc 0 "--keep-changed undoes the rest"
expect_match "$out" "2 rows it had updated changed since: kept as they are" "and says what it kept"
expect_eq "$(products ops_undo)" "U-01:Product 1:1001:100 U-02:Product 2:1002:100 U-03:Renamed 3:2003:89 U-04:Product 4:1004:100 U-05:Renamed 5:2999:90 U-06:Product 6:1006:100" \
	"the app's changes stay; every other row has its earlier values"
id=$(undo_case ops_undo2)
etl --db "$(new_db_conn ops_undo2)" undo "$id" --yes --overwrite
expect_rc 0 "--overwrite gives every row its earlier values"
expect_eq "$(products ops_undo2)" "U-01:Product 1:1001:100 U-02:Product 2:1002:100 U-03:Product 3:1003:100 U-04:Product 4:1004:100 U-05:Product 5:1005:100 U-06:Product 6:1006:100" \
	"the app's changes are overwritten, as asked"
# Users: the update touches updated_at (now()), which is not compared.
c=$(new_db ops_undo3)
h='$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'
printf 'email,full_name,password_hash\nu1@x.example,One,%s\nu2@x.example,Two,%s\n' "$h" "$h" >us1.csv
printf 'email,full_name,password_hash\nu1@x.example,Uno,%s\nu2@x.example,Dos,%s\n' "$h" "$h" >us2.csv
"$ETL" --db "$c" --quiet load us1.csv >/dev/null 2>&1
"$ETL" --db "$c" --quiet load --on-conflict update us2.csv >/dev/null 2>&1
uid=$(sql ops_undo3 "SELECT load_id FROM etl_loads WHERE file_name = 'us2.csv'")
etl --db "$c" undo "$uid" --yes
expect_rc 0 "a users update load nobody changed since undoes (updated_at is not compared)"
expect_eq "$(sql ops_undo3 "SELECT string_agg(full_name, ' ' ORDER BY email) FROM users")" "One Two" "both users have their earlier names"
"$ETL" --db "$c" --quiet load --force --on-conflict update us2.csv >/dev/null 2>&1
sql ops_undo3 "UPDATE users SET full_name = 'Uno (app)', updated_at = now() WHERE email = 'u1@x.example'" >/dev/null
uid=$(sql ops_undo3 "SELECT max(load_id) FROM etl_loads WHERE file_name = 'us2.csv'")
etl --db "$c" undo "$uid" --yes --keep-changed
expect_rc 0 "--keep-changed on users"
expect_eq "$(sql ops_undo3 "SELECT string_agg(full_name, ' ' ORDER BY email) FROM users")" "Uno (app) Two" "the app's change stays, the other user is undone"
# An undo chain: load A inserts, load B updates some of
# A's rows, undo B gives them A's values back; undo A then finds them as A
# wrote them (values decide, not row versions) and deletes them.
c=$(new_db ops_chain)
"$ETL" --db "$c" --quiet load u1.csv >/dev/null 2>&1
"$ETL" --db "$c" --quiet load --on-conflict update u2.csv >/dev/null 2>&1
a=$(sql ops_chain "SELECT load_id FROM etl_loads WHERE file_name = 'u1.csv'")
b=$(sql ops_chain "SELECT load_id FROM etl_loads WHERE file_name = 'u2.csv'")
etl --db "$c" undo "$b" --yes
expect_rc 0 "undo of the update load"
etl --db "$c" undo "$a" --yes
expect_rc 0 "then undo of the load that inserted those rows: none taken for changed"
expect_eq "$(sql ops_chain "SELECT count(*) FROM products WHERE sku LIKE 'U-%'")" 0 "every row it inserted is deleted"
# The same chain where the app changed U-05 before load B and U-03 after it:
# undo B --keep-changed leaves U-03, gives U-05 the app's price back; undo A
# then refuses for exactly those two, whose values are not A's.
c=$(new_db ops_chain2)
"$ETL" --db "$c" --quiet load u1.csv >/dev/null 2>&1
sql ops_chain2 "UPDATE products SET price = 2999 WHERE sku = 'U-05'" >/dev/null
"$ETL" --db "$c" --quiet load --on-conflict update u2.csv >/dev/null 2>&1
sql ops_chain2 "UPDATE products SET stock = stock - 1 WHERE sku = 'U-03'" >/dev/null
a=$(sql ops_chain2 "SELECT load_id FROM etl_loads WHERE file_name = 'u1.csv'")
b=$(sql ops_chain2 "SELECT load_id FROM etl_loads WHERE file_name = 'u2.csv'")
etl --db "$c" undo "$b" --yes --keep-changed
expect_rc 0 "undo --keep-changed of the update load"
ids=$(sql ops_chain2 "SELECT string_agg(product_id::text, ', ' ORDER BY product_id) FROM products WHERE sku IN ('U-03', 'U-05')")
etl --db "$c" undo "$a" --yes
expect_rc 4 "undo of the inserting load is refused"
expect_match "$err" "load $a cannot be undone as it is: 2 of the rows it inserted changed since \(product_id $ids\)" \
	"for the two rows the app changed, and only those"

# Rows a load inserted that the app changed since: an UPDATE makes a new row
# version, whose xmin is not one the load wrote the row with.  On every path
# the load can take (the empty table's one COPY, the shadow table, batches on
# one and on three connections, one transaction, refused rows settled in
# savepoints) an undo nobody interfered with deletes every row (no row is
# taken for changed), and one whose rows the app changed refuses.
awk 'BEGIN { print "sku,quantity_sold,price_per_unit,transaction_date"; for (i = 1; i <= 3000; i++) printf "O-%03d,%d,%d,2025-04-%02d 09:%02d\n", 1 + i % 50, 1 + i % 5, 1000 + i, 1 + i % 28, i % 60 }' >ins.csv
ins_case() { # database how -> the sales load's id
	local c
	c=$(new_db "$1")
	"$ETL" --db "$c" --quiet load products.csv >/dev/null 2>&1
	case $2 in
	fast) "$ETL" --db "$c" --quiet load --jobs 1 ins.csv ;;
	shadow) "$ETL" --db "$c" --quiet load --jobs 2 --batch-rows 1000 ins.csv ;;
	*)
		sql "$1" "INSERT INTO transactions (product_id, quantity_sold, price_per_unit, transaction_date)
		  SELECT product_id, 1, 1, '2024-12-31 12:00' FROM products WHERE sku = 'O-001'" >/dev/null
		case $2 in
		jobs1) "$ETL" --db "$c" --quiet load --jobs 1 --batch-rows 1000 ins.csv ;;
		jobs3) "$ETL" --db "$c" --quiet load --jobs 3 --batch-rows 500 ins.csv ;;
		single) "$ETL" --db "$c" --quiet load --single-transaction --batch-rows 1000 ins.csv ;;
		refused)
			sql "$1" "ALTER TABLE transactions ADD CONSTRAINT no_1007 CHECK (price_per_unit % 7 <> 0)" >/dev/null
			"$ETL" --db "$c" --quiet load --jobs 2 --batch-rows 1000 ins.csv
			;;
		esac
		;;
	esac >/dev/null 2>&1
	sql "$1" "SELECT load_id FROM etl_loads WHERE file_name = 'ins.csv'"
}
for how in fast shadow jobs1 jobs3 single refused; do
	db=ops_ins_$how
	id=$(ins_case "$db" "$how")
	expect_match "$(sql "$db" "SELECT count(*) FILTER (WHERE xmins IS NULL) || ':' || count(*) FROM etl_load_ids WHERE load_id = ${id:-0}")" "^0:[1-9][0-9]*$" \
		"$how: every id range records its rows' xmins"
	etl --db "$(new_db_conn "$db")" undo "$id" --yes
	expect_rc 0 "$how: undo of a load nobody changed since (no row taken for changed)"
	expect_eq "$(sql "$db" "SELECT count(*) FROM transactions WHERE price_per_unit > 1")" 0 "$how: every row it inserted is deleted"
done
id=$(ins_case ops_ins_app jobs1)
sql ops_ins_app "UPDATE transactions SET quantity_sold = quantity_sold + 10 WHERE price_per_unit IN (1500, 2500)" >/dev/null
changed=$(sql ops_ins_app "SELECT string_agg(transaction_id::text, ', ' ORDER BY transaction_id) FROM transactions WHERE quantity_sold > 10")
etl --db "$(new_db_conn ops_ins_app)" undo "$id" --yes
expect_rc 4 "undo of a load two of whose inserted rows the app changed since is refused (exit 4)"
expect_match "$err" "load $id cannot be undone as it is: 2 of the rows it inserted changed since \(transaction_id $changed\).*'undo --keep-changed' leaves them in the table.*'undo --overwrite' deletes them" \
	"it names the rows and the two ways on"
expect_eq "$(sql ops_ins_app "SELECT count(*) FROM transactions WHERE price_per_unit > 1")" 3000 "nothing deleted"
etl --db "$(new_db_conn ops_ins_app)" undo "$id" --yes --keep-changed
expect_rc 0 "--keep-changed undoes the rest"
expect_match "$out" "2 rows it had inserted changed since: left in the table" "and says what it left"
expect_eq "$(sql ops_ins_app "SELECT string_agg(transaction_id::text, ', ' ORDER BY transaction_id) FROM transactions WHERE price_per_unit > 1")" "$changed" \
	"only the two rows the app changed are left"
id=$(ins_case ops_ins_app2 fast)
sql ops_ins_app2 "UPDATE transactions SET quantity_sold = 0 WHERE price_per_unit = 1500" >/dev/null
etl --db "$(new_db_conn ops_ins_app2)" undo "$id" --yes
expect_rc 4 "the empty table's load: a changed row is found too"
etl --db "$(new_db_conn ops_ins_app2)" undo "$id" --yes --overwrite
expect_rc 0 "--overwrite deletes them all the same"
expect_eq "$(sql ops_ins_app2 "SELECT count(*) FROM transactions")" 0 "every row it inserted is gone"

etl undo 1 --keep-changed --overwrite
expect_rc 2 "--keep-changed and --overwrite together are a usage error"

finish
