#!/usr/bin/env bash
# Nightly loads a cron job can trust: a file is known by its content (plain,
# gzip, CRLF and re-quoted copies are one file), a rerun never silently does
# nothing while rows of the file are out, --force never doubles rows, undo
# takes a load back out exactly, seed --reset forgets what it emptied, and a
# killed load shows as interrupted.  Every check is on the table's content.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1

awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 50; i++) printf "P-%02d,Product %d,%d.50\n", i, i, 1000 + i }' >products.csv
# 3000 sales; every 500th names an unknown SKU, every 700th is dated 2999.
awk 'BEGIN { srand(3); print "sku,quantity_sold,price_per_unit,transaction_date,is_promo"
	for (i = 1; i <= 3000; i++) {
		sku = sprintf("P-%02d", 1 + int(rand() * 50)); y = 2024
		if (i % 500 == 0) sku = "GHOST-" i
		if (i % 700 == 0) y = 2999
		printf "%s,%d,%d.%02d,%d-%02d-%02d %02d:%02d,%s\n", sku, 1 + int(rand() * 9), 100 + int(rand() * 900), int(rand() * 100), y, 1 + i % 12, 1 + i % 28, 8 + i % 12, i % 60, (i % 7 ? "no" : "yes")
	} }' >sales.csv

sales_sum() { # database: count and md5 of the sales, by value
	sql "$1" "SELECT count(*) || ' ' || coalesce(md5(string_agg(concat_ws(',', p.sku, t.quantity_sold, t.price_per_unit, t.transaction_date, t.is_promo), E'\n' ORDER BY p.sku, t.transaction_date, t.quantity_sold, t.price_per_unit, t.is_promo)), '-') FROM transactions t JOIN products p USING (product_id)"
}
products_sum() {
	sql "$1" "SELECT count(*) || ' ' || coalesce(md5(string_agg(concat_ws(',', sku, name, category, variation, price, stock), E'\n' ORDER BY sku)), '-') FROM products"
}
table_sum() { # database table key: every column but the id, in key order
	sql "$1" "SELECT count(*) || ' ' || coalesce(md5(string_agg(to_jsonb(x)::text, E'\n' ORDER BY x::text)), '-') FROM (SELECT * FROM $2) x"
}
seed_rows() { # database: a non-empty transactions table, so that loads take batches
	sql "$1" "INSERT INTO transactions (product_id, quantity_sold, price_per_unit, transaction_date)
	  SELECT product_id, 1, 1, '2023-01-01' FROM products WHERE sku = 'P-01'" >/dev/null
}

# --- 1. identity by content: gzip, CRLF and re-quoted copies are the same file ----------
db=$(new_db rr_identity)
etl --db "$db" load products.csv
etl --db "$db" load --allow-future sales.csv
expect_rc 1 "the sales file loads, its unknown SKUs rejected"
once=$(sales_sum rr_identity)
gzip -c sales.csv >copy.csv.gz
sed 's/$/\r/' sales.csv >crlf.csv
awk -F, 'BEGIN { OFS = "," } NR > 1 { $1 = "\"" $1 "\"" } { print }' sales.csv >quoted.csv
printf '\xef\xbb\xbf' | cat - sales.csv >bom.csv
# A blank line makes a file irregular: its records are read by libcsv to be
# hashed, and must come to the same fingerprint as the regular file's.
awk '{ print } NR == 10 { print "" }' sales.csv >blank.csv
for copy in copy.csv.gz crlf.csv quoted.csv bom.csv blank.csv; do
	cmp -s "$copy" sales.csv && not_ok "$copy differs from sales.csv in its bytes"
	etl --db "$db" load --allow-future --summary-json c.json "$copy"
	expect_eq "$(sales_sum rr_identity)" "$once" "$copy: the same records are not loaded again"
	expect_match "$err" "load [0-9]+ of this content rejected 6 rows" "$copy: known as the file loaded before, whose 6 rejects are named"
	expect_rc 1 "$copy: exit 1, since 6 of its rows are out"
done
awk -F, 'NR == 2 { $2 = $2 + 1 } { print }' OFS=, sales.csv >changed.csv
etl --db "$db" --quiet load --allow-future changed.csv
expect_eq "$(sales_sum rr_identity | cut -d' ' -f1)" "$(( $(echo "$once" | cut -d' ' -f1) + 2994 ))" \
	"a file with one value changed is another file: it loads"
fp=$(sql rr_identity "SELECT count(DISTINCT fingerprint) || ' ' || count(DISTINCT file_sha256) FROM etl_loads WHERE kind = 'sales'")
expect_eq "$fp" "2 2" "the history keeps the content fingerprint and the byte SHA-256 of each load"

# --- 2. a rerun with the same options says which load rejected what -----------------------
etl --db "$db" load --allow-future --summary-json same.json sales.csv
expect_rc 1 "the same file, the same options: exit 1 (rows of it are out)"
expect_eq "$(json_counts same.json)" "sales.csv:skipped:3000:0:0:2994:6" "skipped counts the loaded rows, rejected the rows still out"
expect_match "$err" "rejected 6 rows \(they are in [^)]*sales\.csv\.rejects\.csv\)" "it names the reject file"
expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["load_id"])' same.json)" \
	"$(sql rr_identity "SELECT min(load_id) FROM etl_loads WHERE kind = 'sales'")" "--summary-json names the load that loaded it"

# --- 3. options that change outcomes retry the rejected rows -----------------------------
db=$(new_db rr_options)
etl --db "$db" --quiet load products.csv
seed_rows rr_options
etl --db "$db" load --summary-json a.json sales.csv
expect_eq "$(json_counts a.json)" "sales.csv:partial:3000:2990:0:0:10" "without --allow-future 10 rows are rejected (6 unknown SKUs, 4 future)"
before=$(sales_sum rr_options)
etl --db "$db" load --allow-future --summary-json b.json sales.csv
expect_rc 1 "with --allow-future the run retries the rejected rows (6 still rejected: exit 1)"
expect_eq "$(json_counts b.json)" "sales.csv:partial:3000:4:0:2990:6" "only the 10 rejected rows are taken again: 4 load, the 2990 in already are skipped"
expect_eq "$(sales_sum rr_options | cut -d' ' -f1)" "$(( $(echo "$before" | cut -d' ' -f1) + 4 ))" "the table gains exactly the 4 future-dated rows"
expect_eq "$(sql rr_options "SELECT count(*) FROM transactions WHERE transaction_date >= '2999-01-01'")" "4" "which are the future ones"
expect_match "$(head -1 sales.csv.rejects.csv)" "reject_reason" "the reject file holds what is still out"
expect_eq "$(($(wc -l <sales.csv.rejects.csv) - 1))" "6" "six rows: the unknown SKUs"
etl --db "$db" load --allow-future sales.csv
expect_rc 1 "again with --allow-future: exit 1, the 6 rows are still out"
expect_eq "$(sales_sum rr_options | cut -d' ' -f1)" "$(( $(echo "$before" | cut -d' ' -f1) + 4 ))" "and nothing is loaded twice"
printf 'sku,name,price\n' >ghosts.csv
for i in 500 1000 1500 2000 2500 3000; do echo "GHOST-$i,Ghost $i,1"; done >>ghosts.csv
etl --db "$db" --quiet load ghosts.csv
etl --db "$db" load --allow-future --timezone Asia/Jakarta --summary-json c.json sales.csv
expect_eq "$(json_counts c.json)" "sales.csv:loaded:3000:6:0:2994:0" "once the SKUs exist, other options take the last 6 rows: the file is complete"
expect_eq "$(sales_sum rr_options | cut -d' ' -f1)" "$(( $(echo "$before" | cut -d' ' -f1) + 10 ))" "every row of the file is in exactly once"
etl --db "$db" load --allow-future sales.csv
expect_rc 0 "then any rerun skips it, exit 0"

# products: rejected as existing, then --on-conflict update replaces them
cat >newprices.csv <<'EOF'
sku,name,price
P-01,Product 1,1500.00
P-02,Product 2 baru,2002.00
P-99,Product 99,9900.00
EOF
etl --db "$db" load --summary-json p.json newprices.csv
expect_eq "$(json_counts p.json)" "newprices.csv:partial:3:1:0:0:2" "existing SKUs with other values are rejected"
etl --db "$db" load --summary-json p.json newprices.csv
expect_rc 1 "the same options again: exit 1, not a silent skip"
expect_match "$err" "rejected 2 rows" "it says 2 rows are out"
etl --db "$db" load --on-conflict update --summary-json p.json newprices.csv
expect_rc 0 "--on-conflict update goes through the file again"
expect_eq "$(json_counts p.json)" "newprices.csv:loaded:3:0:2:1:0" "two updated, the SKU it added counts as skipped"
expect_eq "$(sql rr_options "SELECT string_agg(sku || '=' || name || '=' || price, ' ' ORDER BY sku) FROM products WHERE sku IN ('P-01', 'P-02', 'P-99')")" \
	"P-01=Product 1=1500.00 P-02=Product 2 baru=2002.00 P-99=Product 99=9900.00" "the table holds the file's values"

# Latin-1: rejected as UTF-8, then loaded with --encoding latin1
printf 'sku,name,price\nL-1,Cr\xe8me br\xfbl\xe9e,4.50\nL-2,Plain,5.00\n' >latin.csv
etl --db "$db" load --summary-json l.json latin.csv
expect_eq "$(json_counts l.json)" "latin.csv:partial:2:1:0:0:1" "read as UTF-8 the Latin-1 row is rejected"
etl --db "$db" load --encoding latin1 --summary-json l.json latin.csv
expect_rc 0 "--encoding latin1 takes the file again"
expect_eq "$(json_counts l.json)" "latin.csv:loaded:2:1:0:1:0" "the rejected row loads; the other, in already, is skipped (not rejected)"
expect_eq "$(sql rr_options "SELECT name FROM products WHERE sku = 'L-1'")" "Crème brûlée" "converted to UTF-8"

# --- 4. --force after an interrupted load never doubles rows ------------------------------
# Sizes: the kill needs batches to land between (60 of them), not rows:
# 60,000 rows in batches of 1,000 (`make test-big`: 300,000 in 5,000s).
BIG=$(scale 60000 300000)
BATCH=$(scale 1000 5000)
awk -v n="$BIG" 'BEGIN { srand(5); print "sku,quantity_sold,transaction_date"; for (i = 1; i <= n; i++) printf "P-%02d,%d,2024-%02d-%02d %02d:00\n", 1 + int(rand() * 50), 1 + int(rand() * 9), 1 + i % 12, 1 + i % 28, 8 + i % 12 }' >big.csv
clean=$(new_db rr_clean)
"$ETL" --db "$clean" --quiet load products.csv >/dev/null 2>&1
seed_rows rr_clean
etl --db "$clean" --quiet load --batch-rows "$BATCH" big.csv
reference=$(sales_sum rr_clean)
db=$(new_db rr_force)
"$ETL" --db "$db" --quiet load products.csv >/dev/null 2>&1
seed_rows rr_force
# Each COPY 0.1 s slower until the kill: the load is still in its batches.
slow_copies rr_force
"$ETL" --db "$db" --quiet load --batch-rows "$BATCH" big.csv >/dev/null 2>&1 &
pid=$!
committed rr_force
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
committed=$(sql rr_force "SELECT records_done FROM etl_loads WHERE kind = 'sales'")
expect_match "$committed" "^[1-9][0-9]*$" "the killed load committed some batches ($committed rows)"
expect_eq "$(sql rr_force "SELECT count(*) - 1 FROM transactions")" "$committed" "which are in the table"
etl --db "$db" history
expect_match "$out" "sales +interrupted" "history shows the killed load as interrupted"
expect_match "$out" "interrupted: pid [0-9]+ on host [^ ]+ no longer runs \(killed, or its connection or server was lost\); $committed rows were committed, the next run resumes after them" \
	"with the reason and where the next run resumes"
sql rr_force "DROP TRIGGER slow ON transactions"
etl --db "$db" load --force --batch-rows "$BATCH" big.csv
expect_rc 0 "--force after the interrupted load completes"
expect_match "$err" "--force: undid 1 earlier load of this file \($committed rows deleted\)" "it first undid the interrupted load's rows"
expect_eq "$(sales_sum rr_force)" "$reference" "the table equals one clean load: nothing doubled"
expect_eq "$(sql rr_force "SELECT string_agg(status, ' ' ORDER BY load_id) FROM etl_loads WHERE kind = 'sales'")" "undone loaded" \
	"the history says the old load was undone, the new one loaded"
etl --db "$db" load --force --batch-rows "$BATCH" big.csv
expect_eq "$(sales_sum rr_force)" "$reference" "--force on a finished load: undone, loaded anew, still one copy"

# --- 5. undo: load -> undo -> the table as before, every kind, both paths ---------------------
cat >users.csv <<'EOF'
email,full_name,password_hash
kasir@toko.id,Kasir,$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW
gudang@toko.id,Gudang,$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW
EOF
cat >events.csv <<'EOF'
event_name,event_date,type,description
Imlek,2024-02-10,holiday,
Nyepi,2024-03-11,holiday,Hari Suci
Promo Akhir Tahun,2024-12-20,promotion,
EOF
db=$(new_db rr_undo)
"$ETL" --db "$db" --quiet schema >/dev/null
undo_last() { # database kind: undoes the newest load of kind
	local id
	id=$(sql "$1" "SELECT max(load_id) FROM etl_loads WHERE kind = '$2'")
	etl --db "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$1" undo --yes "$id"
}
for kind in users:users products:products events:events; do
	k=${kind%%:*}
	table=${kind##*:}
	# empty-table path
	empty=$(table_sum rr_undo "$table")
	etl --db "$db" load "$k.csv"
	expect_match "$err" "$table was empty" "$k: the first load takes the empty-table path"
	undo_last rr_undo "$k"
	expect_rc 0 "$k: undo of the empty-table load exits 0"
	expect_eq "$(table_sum rr_undo "$table")" "$empty" "$k: after undo the table is as before the load"
	# batched path: the table holds a row first
	etl --db "$db" --quiet load "$k.csv"
	head -1 "$k.csv" >"more-$k.csv"
	case $k in
	users) echo 'baru@toko.id,Baru,$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW' ;;
	products) echo 'NEW-1,Baru,100' ;;
	events) echo 'Baru,2025-01-01,custom,' ;;
	esac >>"more-$k.csv"
	sed -n 2p "$k.csv" >>"more-$k.csv"
	before=$(table_sum rr_undo "$table")
	etl --db "$db" load --on-conflict skip "more-$k.csv"
	expect_no_match "$err" "was empty" "$k: into a table with rows, the batched path"
	undo_last rr_undo "$k"
	expect_eq "$(table_sum rr_undo "$table")" "$before" "$k: undo of a batched load restores the table"
done
# an --on-conflict update load: the updated rows get their values back
before=$(table_sum rr_undo products)
printf 'sku,name,price,stock\nP-01,Renamed,1.00,7\nP-02,Product 2,1002.50,9\nNEW-2,Brand new,3.00,1\n' >upd.csv
etl --db "$db" load --on-conflict update --summary-json u.json upd.csv
expect_eq "$(json_counts u.json)" "upd.csv:loaded:3:1:2:0:0" "the update load changes two rows and adds one"
undo_last rr_undo products
expect_match "$out" "1 row deleted, 2 rows given their earlier values back" "undo says what it did"
expect_eq "$(table_sum rr_undo products)" "$before" "after undo of the update load the products are exactly as before"
# sales, batched and empty-table paths
sales_empty=$(sales_sum rr_undo)
etl --db "$db" load --allow-future sales.csv
expect_match "$err" "transactions was empty" "sales: the empty-table path"
undo_last rr_undo sales
expect_eq "$(sales_sum rr_undo)" "$sales_empty" "sales: undo of the empty-table load leaves the table as before"
seed_rows rr_undo
before=$(sales_sum rr_undo)
etl --db "$db" load --batch-rows 700 --allow-future sales.csv
undo_last rr_undo sales
expect_eq "$(sales_sum rr_undo)" "$before" "sales: undo of a batched load (5 batches) restores the table"
etl --db "$db" load --allow-future --summary-json again.json sales.csv
expect_eq "$(json_counts again.json | cut -d: -f2-4)" "partial:3000:2994" "an undone file loads again"
# refusals
pid_load=$(sql rr_undo "SELECT max(load_id) FROM etl_loads WHERE kind = 'products' AND status <> 'undone'")
etl --db "$db" undo --yes "$pid_load"
expect_rc 4 "undo of products that sales reference is refused (exit 4)"
expect_match "$err" "cannot be undone: [0-9]+ rows of transactions reference products it inserted" "it names the count"
etl --db "$db" undo "$pid_load"
expect_rc 2 "without a terminal, undo needs --yes"
etl --db "$db" undo --yes 999999
expect_rc 2 "undo of a load that does not exist exits 2"
id=$(sql rr_undo "SELECT max(load_id) FROM etl_loads WHERE status = 'undone'")
etl --db "$db" undo --yes "$id"
expect_rc 2 "undo of an undone load exits 2"
expect_match "$err" "was undone already" "and says so"

# --- 6. seed --reset forgets the history of what it emptied --------------------------------
db=$(new_db rr_reset)
etl --db "$db" --quiet seed
etl --db "$db" --quiet load products.csv
etl --db "$db" seed --reset --yes
expect_rc 0 "seed --reset --yes"
expect_eq "$(sql rr_reset "SELECT count(*) FROM products WHERE sku = 'P-01'")" "0" "the reset emptied products"
etl --db "$db" load --summary-json r.json products.csv
expect_eq "$(json_counts r.json)" "products.csv:loaded:50:50:0:0:0" "a file loaded before the reset loads again: its rows are in the table"
expect_eq "$(sql rr_reset "SELECT count(*) FROM products WHERE sku LIKE 'P-%'")" "50" "all 50 of them"
expect_eq "$(sql rr_reset "SELECT count(*) FROM etl_loads WHERE status = 'reset' AND kind = 'all'")" "1" "the reset itself is in the history"

finish
