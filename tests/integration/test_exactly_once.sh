#!/usr/bin/env bash
# Exactly once: re-runs skip, renamed files are recognised, and a load killed
# (kill -9), stopped with its server (immediate shutdown) or interrupted
# (SIGINT/SIGTERM) at random moments ends, once re-run, exactly as one clean
# load: same table checksum, same reject file, byte for byte.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
# Sizes: what the kills need is batches to land between, not rows: 120
# batches either way (60,000 rows in batches of 500; `make test-big`:
# 600,000 in batches of 5,000 with 20 kills and 20 server stops), each COPY
# slowed by 0.1 s while the kills come, so that the file outlasts them
# however fast the machine.  The one-transaction path is killed inside its
# one COPY: that file is 300,000 rows (600,000), for a COPY that lasts.
ROWS=$(scale 60000 600000)
FAST_ROWS=$(scale 300000 600000)
BATCH=$(scale 500 5000)
KILLS=${ETL_TEST_KILLS:-$(scale 10 20)}
SERVER_STOPS=${ETL_TEST_SERVER_STOPS:-$(scale 6 20)}
# The good rows: every 997th has an unknown SKU, every 1499th quantity 0.
GOOD=$((ROWS - ROWS / 997 - ROWS / 1499))

# 200 products; a sales file with a few bad rows (unknown SKU, zero quantity).
awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 200; i++) printf "P-%03d,Product %d,%d.%02d\n", i, i, 1000 + i * 7, i % 100 }' >products.csv
make_sales() { # rows seed
	awk -v n="$1" -v seed="$2" 'BEGIN {
		srand(seed); print "sku,quantity_sold,price_per_unit,transaction_date,is_promo"
		for (i = 1; i <= n; i++) {
			sku = sprintf("P-%03d", 1 + int(rand() * 200)); q = 1 + int(rand() * 20)
			if (i % 997 == 0) sku = "GHOST-" i
			if (i % 1499 == 0) q = 0
			d = int(rand() * 700); h = 8 + int(rand() * 12); m = int(rand() * 60)
			printf "%s,%d,%s,2024-%02d-%02d %02d:%02d,%s\n", sku, q, (rand() < 0.3 ? "" : sprintf("%d.%02d", 1000 + int(rand() * 5000), int(rand() * 100))), 1 + int(d / 60) % 12, 1 + d % 28, h, m, (rand() < 0.1 ? "yes" : "no")
		}
	}'
}
make_sales "$ROWS" 7 >sales.csv

# With a row in transactions already, loads take the batched path (an empty
# table takes the one-transaction fast path, tested below).
prepare() { batched_db "$1" P-001 1000 '2023-12-31 12:00'; } # database -> conninfo

# --- the reference: one clean load ---------------------------------------------
mkdir -p clean killed stopped signalled
clean=$(prepare eo_clean)
etl --db "$clean" --quiet load --batch-rows "$BATCH" --reject-dir clean --summary-json clean.json sales.csv
expect_rc 1 "the clean reference load ends with exit 1 (it has bad rows)"
reference=$(sales_checksum eo_clean)
expect_match "$reference" "^$((GOOD + 1)) [0-9a-f]{32}$" "the reference table holds the $GOOD good rows (and the one before)"
ref_counts=$(json_counts clean.json | cut -d: -f2-)

# --- a second run, a renamed copy, --force ---------------------------------------
# Some of its rows were rejected: a rerun with the same options loads
# nothing and exits 1, since those rows are still out.
etl --db "$clean" load --reject-dir clean --summary-json again.json sales.csv
expect_rc 1 "re-running a loaded file whose rejects are still out exits 1"
expect_eq "$(json_counts again.json)" "sales.csv:skipped:$ROWS:0:0:$(echo "$ref_counts" | cut -d: -f3):$(echo "$ref_counts" | cut -d: -f6)" \
	"and loads nothing: the loaded rows count as skipped, the rejected ones as rejected"
expect_eq "$(sales_checksum eo_clean)" "$reference" "the table is unchanged"
cp sales.csv renamed-copy.csv
etl --db "$clean" load --reject-dir clean renamed-copy.csv
expect_rc 1 "the same content under another name is recognised (its rejects still out: exit 1)"
expect_match "$err" "renamed-copy\.csv: load [0-9]+ of this content rejected [0-9]+ rows?" "it says the content was loaded before, and what was rejected"
expect_eq "$(sales_checksum eo_clean)" "$reference" "still unchanged"
etl --db "$clean" load --reject-dir clean --summary-json good.json products.csv
expect_rc 0 "a file all of whose rows loaded is skipped on a rerun, exit 0"
expect_eq "$(json_counts good.json)" "products.csv:skipped:200:0:0:200:0" "every row counted as skipped"

# --- kill -9 at random moments -----------------------------------------------------
killed_db=$(prepare eo_killed)
slow_copies eo_killed
kills=0
runs=0
while [ "$kills" -lt "$KILLS" ] && [ "$runs" -lt $((KILLS * 3)) ]; do
	runs=$((runs + 1))
	tries=$(sql eo_killed "SELECT coalesce(max(attempts), 0) FROM etl_loads WHERE kind = 'sales'")
	"$ETL" --db "$killed_db" --quiet load --batch-rows "$BATCH" --reject-dir killed sales.csv >/dev/null 2>&1 &
	pid=$!
	claimed eo_killed "$tries" "$pid"
	sleep "$(rand_between 0 0.4)"
	if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
	wait "$pid" 2>/dev/null
done
expect_eq "$kills" "$KILLS" "the loader was killed $KILLS times in the middle of the load"
expect_match "$(sql eo_killed "SELECT status || ' ' || attempts FROM etl_loads WHERE kind = 'sales'")" "^running [0-9]+$" \
	"after the kills the history shows the load unfinished"
sql eo_killed "DROP TRIGGER slow ON transactions"
etl --db "$killed_db" load --batch-rows "$BATCH" --reject-dir killed --summary-json killed.json sales.csv
expect_rc 1 "the run after the kills completes (exit 1: rejects)"
expect_match "$err" "resuming load [0-9]+ after [0-9]+ rows already committed" "it resumed after the last committed batch"
expect_eq "$(sales_checksum eo_killed)" "$reference" "after $KILLS kills the table equals one clean load (count and md5)"
expect_eq "$(json_counts killed.json | cut -d: -f2-)" "$ref_counts" "the final counts equal the clean load's"
same_file killed/sales.csv.rejects.csv clean/sales.csv.rejects.csv \
	"the reject file equals the clean one: no reject written twice"
attempts=$(sql eo_killed "SELECT attempts FROM etl_loads WHERE kind = 'sales'")
echo "# kill -9: $kills kills over $runs runs; the load took $attempts attempts"

# --- kill -9 during the fast path (an empty table, one transaction) -------------------
mkdir -p fastclean fastkilled
make_sales "$FAST_ROWS" 13 >fast.csv
clean_fast=$(products_db eo_clean_fast)
etl --db "$clean_fast" --quiet load --reject-dir fastclean fast.csv
reference_fast=$(sales_checksum eo_clean_fast)
fast_db=$(products_db eo_fast)
fast_kills=0
for _ in 1 2 3 4 5; do
	"$ETL" --db "$fast_db" --quiet load --reject-dir fastkilled fast.csv >/dev/null 2>&1 &
	pid=$!
	# Inside its one COPY (half a second or more of the load).
	copying eo_fast "$pid"
	sleep "$(rand_between 0 0.2)"
	if kill -9 "$pid" 2>/dev/null; then fast_kills=$((fast_kills + 1)); fi
	wait "$pid" 2>/dev/null
done
expect_eq "$fast_kills" "5" "the one-transaction load was killed 5 times"
expect_eq "$(sql eo_fast "SELECT count(*) FROM transactions")" "0" "a killed fast path leaves the table empty"
expect_eq "$(sql eo_fast "SELECT count(*) FROM pg_indexes WHERE tablename = 'transactions' AND indexname LIKE 'idx%'") $(sql eo_fast "SELECT count(*) FROM pg_constraint WHERE conrelid = 'transactions'::regclass AND contype = 'f'")" \
	"6 1" "and every index and the foreign key in place"
etl --db "$fast_db" load --reject-dir fastkilled fast.csv
expect_rc 1 "the next run completes"
expect_eq "$(sales_checksum eo_fast)" "$reference_fast" "the table then equals one clean load"
same_file fastkilled/fast.csv.rejects.csv fastclean/fast.csv.rejects.csv "and so does the reject file"

# --- immediate server stop and restart ----------------------------------------------
stopped_db=$(prepare eo_stopped)
slow_copies eo_stopped
stops=0
codes=""
while [ "$stops" -lt "$SERVER_STOPS" ]; do
	"$ETL" --db "$stopped_db" --quiet load --batch-rows "$BATCH" --reject-dir stopped sales.csv >stopped.out 2>&1 &
	pid=$!
	# In its batches, a few of them at most: the file must outlast the
	# stops, however fast the machine.
	copying eo_stopped "$pid"
	sleep "$(rand_between 0 0.15)"
	server kill
	wait "$pid"
	code=$?
	server start
	stops=$((stops + 1))
	codes="$codes$code"
	[ "$code" = 4 ] && cut_off=$(cat stopped.out)
	if [ "$code" = 0 ] || [ "$code" = 1 ]; then break; fi
done
expect_eq "$stops" "$SERVER_STOPS" "the server was stopped $SERVER_STOPS times in the middle of the load"
expect_match "$codes" "^4+$" "every load cut off by its server exits 4"
expect_match "${cut_off:-}" "the next run resumes after row [0-9]+" "a cut-off load says the next run resumes"
etl --db "$stopped_db" history --limit 1
expect_match "$out" "sales\.csv +sales +interrupted" "after the server stopped, history shows the load interrupted, not running"
expect_match "$out" "interrupted: pid [0-9]+ on host [^ ]+ no longer runs .*the next run resumes after them" "with the reason"
sql eo_stopped "DROP TRIGGER slow ON transactions"
etl --db "$stopped_db" load --batch-rows "$BATCH" --reject-dir stopped --summary-json stopped.json sales.csv
expect_rc 1 "the run after the server stops completes"
expect_eq "$(sales_checksum eo_stopped)" "$reference" "after $stops immediate server stops the table equals one clean load"
expect_eq "$(json_counts stopped.json | cut -d: -f2-)" "$ref_counts" "the final counts equal the clean load's"
same_file stopped/sales.csv.rejects.csv clean/sales.csv.rejects.csv \
	"the reject file equals the clean one"
echo "# server stops: $stops immediate shutdowns"

# --- SIGINT, SIGTERM, SIGHUP (a closed terminal), SIGQUIT, SIGPIPE (a closed output):
# each rolls back the open batch, records the stop, exits 5 --------------------------------
for sig in INT TERM HUP QUIT PIPE; do
	signalled_db=$(prepare "eo_sig_$sig")
	slow_copies "eo_sig_$sig"
	rm -f signalled/*
	"$ETL" --db "$signalled_db" load --batch-rows "$BATCH" --reject-dir signalled sales.csv >sig.out 2>sig.err &
	pid=$!
	# After a committed batch with rejects, while its others still come.
	committed "eo_sig_$sig" "reject_bytes > 0"
	kill -"$sig" "$pid"
	wait "$pid"
	expect_eq "$?" "5" "SIG$sig stops the load with exit 5"
	expect_match "$(cat sig.err)" "interrupted by SIG$sig; the open batch was rolled back, the next run resumes after row [0-9]+" \
		"SIG$sig: the message says where the next run resumes"
	row=$(sql "eo_sig_$sig" "SELECT status || ' ' || records_done || ' ' || (rows_read = rows_loaded + rows_rejected) FROM etl_loads WHERE kind = 'sales'")
	expect_match "$row" "^stopped [0-9]+ true$" "SIG$sig: the history says stopped, with counts that add up"
	done_rows=$(echo "$row" | cut -d' ' -f2)
	expect_eq "$(sql "eo_sig_$sig" "SELECT count(*) - 1 FROM transactions")" \
		"$(sql "eo_sig_$sig" "SELECT rows_loaded FROM etl_loads WHERE kind = 'sales'")" \
		"SIG$sig: the table holds exactly the committed batches (and the row before)"
	expect_eq "$(stat -c %s signalled/sales.csv.rejects.csv 2>/dev/null || echo 0)" \
		"$(sql "eo_sig_$sig" "SELECT reject_bytes FROM etl_loads WHERE kind = 'sales'")" \
		"SIG$sig: the reject file holds the committed batches' rejects only"
	[ "$done_rows" -gt 0 ] || not_ok "SIG$sig came after at least one batch" "records_done is $done_rows"
	sql "eo_sig_$sig" "DROP TRIGGER slow ON transactions"
	etl --db "$signalled_db" --quiet load --batch-rows "$BATCH" --reject-dir signalled sales.csv
	expect_rc 1 "SIG$sig: the next run completes"
	expect_eq "$(sales_checksum "eo_sig_$sig")" "$reference" "SIG$sig: the table then equals one clean load"
	same_file signalled/sales.csv.rejects.csv clean/sales.csv.rejects.csv \
		"SIG$sig: and so does the reject file"
done

# --- two loaders at once ------------------------------------------------------------
both=$(prepare eo_both)
make_sales $((ROWS / 10)) 11 >other.csv
mkdir -p both
"$ETL" --db "$both" load --reject-dir both --summary-json first.json sales.csv >/dev/null 2>first.err &
p1=$!
"$ETL" --db "$both" load --reject-dir both --summary-json second.json sales.csv >/dev/null 2>second.err &
p2=$!
"$ETL" --db "$both" load --reject-dir both --summary-json third.json other.csv >/dev/null 2>third.err &
p3=$!
wait "$p1"
r1=$?
wait "$p2"
r2=$?
wait "$p3"
r3=$?
statuses=$( (json_counts first.json; json_counts second.json) | cut -d: -f1-2 | sort | tr '\n' ' ')
expect_eq "$statuses" "sales.csv:partial sales.csv:skipped " "the same file started twice at once is loaded by one loader and skipped by the other"
expect_eq "$(printf '%s %s' "$r1" "$r2" | tr ' ' '\n' | sort | tr '\n' ' ')" "1 1 " "both exit 1: the loader for its rejects, the other since they are still out"
expect_match "$(cat first.err second.err)" "waited for another siprems-etl loading the same file" "the second one waited for the first"
expect_eq "$r3" "1" "a different file loads at the same time"
expect_eq "$(sql eo_both "SELECT count(*) FROM transactions")" \
	"$(( $(echo "$reference" | cut -d' ' -f1) + $(json_counts third.json | cut -d: -f4) ))" \
	"the table holds both files once: nothing doubled"

# --- history: newest first, with counts, status, duration -------------------------
etl --db "$killed_db" history
expect_rc 0 "history exits 0"
expect_match "$(echo "$out" | head -n 1)" "^ +load +started +file +kind +status +read +loaded +updated +skipped +rejected +duration +tries$" \
	"history prints a table with counts, status and duration"
expect_match "$(echo "$out" | sed -n 2p)" "^ +[0-9]+  20[0-9-]+ [0-9:]+  sales\.csv +sales +partial +$ROWS +$GOOD +0 +0 +$((ROWS - GOOD)) +[0-9.]+s +$((KILLS + 1))$" \
	"the newest load comes first, with the attempts the kills cost"
etl --db "$killed_db" history --json --limit 5
expect_rc 0 "history --json exits 0"
expect_eq "$(printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert all(d[i]["load_id"] > d[i + 1]["load_id"] for i in range(len(d) - 1))
for x in d:
    assert x["rows_read"] == x["rows_loaded"] + x["rows_updated"] + x["rows_skipped"] + x["rows_rejected"]
    assert x["seconds"] >= 0 and len(x["fingerprint"]) == 64
print(len(d), " ".join(x["kind"] + ":" + x["status"] for x in d))')" "2 sales:partial products:loaded" \
	"the JSON lists the loads newest first, with counts that add up"
etl --db "$killed_db" history --limit 1
expect_eq "$(echo "$out" | wc -l)" "2" "--limit 1 shows one load"
empty=$(new_db eo_empty)
etl --db "$empty" history
expect_eq "$out" "no loads recorded" "a database without loads says so"
etl --db "$empty" history --limit 0
expect_rc 2 "a bad --limit exits 2"

finish
