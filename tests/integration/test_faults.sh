#!/usr/bin/env bash
# Faults on the real server: a refused connection, a failed authentication,
# permission denied on a table, a statement timeout, an unwritable reject
# directory, an immediate server stop in the one-transaction path.  Each
# gives a clear message and the documented exit code, and the next run completes the
# load exactly: the table equals one clean load, nothing lost, nothing twice.
# (Immediate stops in the batched path: test_exactly_once.)
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 100; i++) printf "P-%03d,Product %d,%d.50\n", i, i, 1000 + i }' >products.csv
# Sizes: each fault needs a load, not many rows: 40,000 (a COPY of them
# outlasts a 20 ms statement timeout).  The server's stop inside the
# one-transaction path needs a COPY that lasts: 200,000 rows there.
make_sales() { # rows
	awk -v n="$1" 'BEGIN { srand(3); print "sku,quantity_sold,transaction_date"
	for (i = 1; i <= n; i++) printf "P-%03d,%d,2024-%02d-%02d %02d:%02d\n", 1 + int(rand() * 100), 1 + int(rand() * 9), 1 + int(rand() * 12), 1 + int(rand() * 28), int(rand() * 24), int(rand() * 60)
	print "GHOST-1,1,2024-01-01" }'
}
ROWS=$(scale 40000 200000)
FAST_ROWS=200000
make_sales "$ROWS" >sales.csv
make_sales "$FAST_ROWS" >fast.csv

prepare() { # database [one-row]: products loaded; with one-row, transactions holds a row
	local c
	c=$(products_db "$1")
	[ "${2:-}" = one-row ] && one_sale "$1" P-001 1000 '2023-12-31 12:00' >/dev/null
	echo "$c"
}

# The reference: one clean load.
mkdir -p ref refused auth perm timeout rejdir fast
ref_db=$(prepare etl_f_ref one-row)
etl --db "$ref_db" --quiet load --reject-dir ref sales.csv
expect_rc 1 "the reference load completes (exit 1: one unknown SKU)"
reference=$(sales_checksum etl_f_ref)
expect_match "$reference" "^$((ROWS + 1)) " "the reference holds the $ROWS good rows and the seeded one"
fast_ref_db=$(prepare etl_f_fast_ref)
"$ETL" --db "$fast_ref_db" --quiet load --reject-dir ref fast.csv >/dev/null 2>&1
sql etl_f_fast_ref "INSERT INTO transactions (product_id, quantity_sold, price_per_unit, transaction_date)
  SELECT product_id, 1, 1000, '2023-12-31 12:00' FROM products WHERE sku = 'P-001'" >/dev/null
reference_fast=$(sales_checksum etl_f_fast_ref)
expect_match "$reference_fast" "^$((FAST_ROWS + 1)) " "the reference of the larger file holds its $FAST_ROWS good rows and the seeded one"

# --- connection refused, then the right port ----------------------------------
db=$(prepare etl_f_refused one-row)
etl --db "host=127.0.0.1 port=1 dbname=etl_f_refused connect_timeout=3" load sales.csv
expect_rc 4 "a refused connection exits 4"
expect_match "$err" "^siprems-etl: cannot connect to database \"etl_f_refused\" as user \"[^\"]+\" on host 127\.0\.0\.1 port 1 \(settings from --db\): .*(refused|failed)" \
	"the message names the server tried and why"
etl --db "$db" --quiet load --reject-dir refused sales.csv
expect_rc 1 "the next run, on the right port, completes"
expect_eq "$(sales_checksum etl_f_refused)" "$reference" "the table equals one clean load"

# --- authentication failure, then the right password -------------------------------
sql postgres "DROP ROLE IF EXISTS etl_f_pw; CREATE ROLE etl_f_pw LOGIN PASSWORD 'Right-Pw-1'" >/dev/null
db=$(prepare etl_f_auth one-row)
sql etl_f_auth "GRANT ALL ON ALL TABLES IN SCHEMA public TO etl_f_pw; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO etl_f_pw" >/dev/null
etl --db "host=127.0.0.1 port=$PGPORT dbname=etl_f_auth user=etl_f_pw password=Wrong-Pw-2" load sales.csv
expect_rc 4 "a failed authentication exits 4"
expect_match "$err" "cannot connect to database \"etl_f_auth\" as user \"etl_f_pw\" on host 127\.0\.0\.1 port $PGPORT .*password authentication failed for user \"etl_f_pw\"" \
	"the message says the password was refused"
expect_no_match "$err" "Wrong-Pw-2" "the message does not show the password"
etl --db "host=127.0.0.1 port=$PGPORT dbname=etl_f_auth user=etl_f_pw password=Right-Pw-1" --quiet load --reject-dir auth sales.csv
expect_rc 1 "the next run, with the right password, completes"
expect_eq "$(sales_checksum etl_f_auth)" "$reference" "the table equals one clean load"

# --- permission denied on the table, then granted ------------------------------------
db=$(prepare etl_f_perm one-row)
sql etl_f_perm "DROP ROLE IF EXISTS etl_f_reader; CREATE ROLE etl_f_reader LOGIN PASSWORD 'reader-pw';
  GRANT SELECT ON ALL TABLES IN SCHEMA public TO etl_f_reader;
  GRANT SELECT, INSERT, UPDATE ON etl_loads, etl_load_ids, etl_load_rejects, etl_load_before TO etl_f_reader;
  GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO etl_f_reader" >/dev/null
reader="$db user=etl_f_reader password=reader-pw"
etl --db "$reader" load --reject-dir perm sales.csv
expect_rc 4 "permission denied on transactions exits 4"
expect_match "$err" "permission denied for table transactions" "the message names the table"
expect_eq "$(sql etl_f_perm "SELECT count(*) FROM transactions")" 1 "nothing was loaded"
sql etl_f_perm "GRANT INSERT ON transactions TO etl_f_reader" >/dev/null
etl --db "$reader" --quiet load --reject-dir perm sales.csv
expect_rc 1 "once INSERT is granted the next run completes"
expect_eq "$(sales_checksum etl_f_perm)" "$reference" "the table equals one clean load"

# --- a statement timeout, then none -----------------------------------------------
db=$(prepare etl_f_timeout one-row)
etl --db "$db options='-c statement_timeout=20'" load --batch-rows 50000 --reject-dir timeout sales.csv
expect_rc 4 "a statement timeout exits 4"
expect_match "$err" "canceling statement due to statement timeout" "the server's reason is given"
expect_match "$err" "the next run resumes|run it again" "the message says what the next run does"
etl --db "$db" --quiet load --reject-dir timeout sales.csv
expect_rc 1 "without the timeout the next run completes"
expect_eq "$(sales_checksum etl_f_timeout)" "$reference" "the table equals one clean load"
same_file timeout/sales.csv.rejects.csv ref/sales.csv.rejects.csv "the reject file equals the clean one"

# --- an unwritable reject directory, then a writable one --------------------------------
db=$(prepare etl_f_rejdir one-row)
: >not-a-dir
etl --db "$db" load --reject-dir not-a-dir/sub sales.csv
expect_rc 2 "a --reject-dir that cannot be written is a usage error (exit 2: not the input's fault)"
expect_match "$err" "--reject-dir not-a-dir/sub: cannot write reject files there" "the message names the directory"
expect_eq "$(sql etl_f_rejdir "SELECT count(*) FROM transactions")" 1 "nothing was loaded"
expect_eq "$(sql etl_f_rejdir "SELECT count(*) FROM etl_loads WHERE kind = 'sales'")" 0 "nor claimed: said before any file"
etl --db "$db" load --reject-dir /proc/self sales.csv
expect_rc 2 "a reject directory in /proc exits 2 too"
etl --db "$db" --quiet load --reject-dir rejdir sales.csv
expect_rc 1 "with a writable directory the next run completes"
expect_eq "$(sales_checksum etl_f_rejdir)" "$reference" "the table equals one clean load"

# --- a reject file over the file-size limit (ulimit -f): an error, like a full disk -------
# (the default action of SIGXFSZ ended the process without a word or a history).
# With a limit of 4 KB the first batch's rejects do not fit; with 24 KB the
# first batch commits and a later one's do not.  Either way the reject file
# holds the committed batches' rejects under its name (none: no file), no
# .part is left, and the summary's counts are the history's.
awk 'BEGIN { print "sku,quantity_sold,transaction_date"; for (i = 1; i <= 20000; i++) printf "%s,1,2024-01-01 10:00\n", (i % 10 == 0 ? "GHOST-" i : "P-001") }' >fsize.csv
for limit in 4 24; do
	db=$(prepare "etl_f_fsize$limit" one-row)
	rm -rf fsize && mkdir fsize
	(
		ulimit -f "$limit"
		exec "$ETL" --db "$db" --no-progress load --batch-rows 2000 --reject-dir fsize --summary-json fsize.json fsize.csv
	) >fsize.out 2>fsize.err
	expect_eq "$?" 5 "limit $limit KB: a reject file past the file-size limit stops the load with exit 5"
	expect_match "$(cat fsize.err)" "fsize\.csv: fsize/\.fsize\.csv\.rejects\.csv\.part: cannot write: File too large; the next run resumes after row [0-9]+" \
		"limit $limit KB: the message names the file and the reason"
	h=$(sql "etl_f_fsize$limit" "SELECT status || ' ' || rows_read || ' ' || rows_loaded || ' ' || rows_rejected || ' ' || reject_bytes || ' ' || coalesce(reject_file, '-') FROM etl_loads WHERE kind = 'sales'")
	read -r status read loaded rejected bytes file <<<"$h"
	expect_eq "$status" "failed" "limit $limit KB: the history says failed"
	expect_eq "$(json_check fsize.json)" "fsize.csv:failed:$read:$loaded:$rejected 5" "limit $limit KB: the summary JSON's counts are the history's ($h)"
	expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["reject_file"] or "-")' fsize.json)" "$file" \
		"limit $limit KB: and its reject file"
	expect_eq "$(ls -A fsize | grep -c 'part$')" "0" "limit $limit KB: no .part is left"
	expect_eq "$(stat -c %s fsize/fsize.csv.rejects.csv 2>/dev/null || echo 0)" "$bytes" "limit $limit KB: the reject file holds the committed batches' rejects"
	if [ "$limit" = 24 ]; then
		[ "$bytes" -gt 0 ] && [ "$loaded" -gt 0 ] || not_ok "limit 24 KB: a batch with rejects committed before the limit" "$h"
	fi
	etl --db "$db" --quiet load --batch-rows 2000 --reject-dir fsize fsize.csv
	expect_rc 1 "limit $limit KB: without the limit the next run completes (exit 1: the rejects)"
	expect_eq "$(sql "etl_f_fsize$limit" "SELECT count(*) - 1 FROM transactions")" 18000 "limit $limit KB: with every good row once"
	expect_eq "$(($(wc -l <fsize/fsize.csv.rejects.csv) - 1))" 2000 "limit $limit KB: and every reject once in the reject file"
done

# --- an immediate server stop inside the one-transaction path --------------------------
# (through the shadow table: the file is more than one batch)
db=$(prepare etl_f_fast)
"$ETL" --db "$db" --verbose load --reject-dir fast fast.csv >fast.out 2>&1 &
pid=$!
# Until the COPY into the shadow table has begun, as the loader's own
# --verbose line says (at most 60 s: a busy machine is slow to get there).
shadow_copy='PGRES_COPY_IN: COPY \w+\.siprems_etl_shadow_[0-9]+ '
for _ in $(seq 1 3000); do
	kill -0 "$pid" 2>/dev/null || break
	grep -qE "$shadow_copy" fast.out && break
	sleep 0.02
done
server kill
wait "$pid"
code=$?
server start
expect_match "$(cat fast.out)" "$shadow_copy" "the load was in the COPY into the shadow table when the server stopped"
expect_eq "$code" 4 "a server stopped during the one-transaction load exits 4"
expect_match "$(grep -vE '^siprems-etl: (sql |connected to|target:)' fast.out)" "server|connection" "the message says the server went away"
expect_eq "$(sql etl_f_fast "SELECT count(*) FROM transactions")" 0 "the table is empty again"
expect_eq "$(sql etl_f_fast "SELECT count(*) FROM pg_class WHERE relname LIKE 'siprems\\_etl\\_shadow\\_%'")" 0 \
	"the shadow table's COPY was rolled back with the server's stop"
etl --db "$db" --quiet load --reject-dir fast --summary-json fast.json fast.csv
expect_rc 1 "the next run completes"
expect_match "$(json_check fast.json)" ":partial:$((FAST_ROWS + 1)):$FAST_ROWS:1 1$" "every row is accounted for"
sql etl_f_fast "INSERT INTO transactions (product_id, quantity_sold, price_per_unit, transaction_date)
  SELECT product_id, 1, 1000, '2023-12-31 12:00' FROM products WHERE sku = 'P-001'" >/dev/null
expect_eq "$(sales_checksum etl_f_fast)" "$reference_fast" "the table equals one clean load"
finish
