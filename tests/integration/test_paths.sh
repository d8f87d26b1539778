#!/usr/bin/env bash
# The ways rows reach a table give the same tables: the one-transaction fast
# path into an empty table (indexes and foreign keys dropped and rebuilt),
# the batched path, binary and text COPY.  After the fast path every index
# and constraint of the schema is back; rows the server refuses there send
# the file through the batches; a busy table is not waited for long.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1

"$ETL" generate --out gen --products 30 --days 90 --seed 11 >/dev/null 2>&1
files=(gen/users.csv.gz gen/products.csv.gz gen/events.csv.gz gen/sales.csv.gz)
sales_rows=$(($(gzip -dc gen/sales.csv.gz | wc -l) - 1))

# Every table's rows, without the times of the load itself.
checksum() { # database
	local t out=""
	for t in users products events transactions; do
		out+="$t:$(sql "$1" "SELECT count(*) || ':' || coalesce(md5(string_agg(x, E'\n' ORDER BY x)), '-') FROM (SELECT (to_jsonb(t) - 'created_at' - 'updated_at')::text x FROM $t t) s") "
	done
	echo "$out"
}

# The schema's indexes and constraints, by definition.
structure() { # database
	sql "$1" "SELECT string_agg(d, E'\n' ORDER BY d) FROM (
	  SELECT indexdef d FROM pg_indexes WHERE schemaname = 'public'
	  UNION ALL SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
	  FROM pg_constraint WHERE connamespace = 'public'::regnamespace) s"
}

# A role that may only SELECT, INSERT and UPDATE owns nothing: it takes the
# batched path even into empty tables.
writer_pw="w-$RANDOM$RANDOM"
psql -X -q -d postgres -c "DROP ROLE IF EXISTS etl_paths_writer" >/dev/null 2>&1
sql postgres "CREATE ROLE etl_paths_writer LOGIN PASSWORD '$writer_pw'"
as_writer() { # database -> conninfo of the writer
	echo "host=$PGHOST port=$PGPORT user=etl_paths_writer password=$writer_pw dbname=$1"
}
grant_writer() { # database
	sql "$1" "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO etl_paths_writer;
	  GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO etl_paths_writer;
	  GRANT USAGE ON SCHEMA public TO etl_paths_writer"
}

# --- the fast path, binary COPY --------------------------------------------------
fast=$(new_db paths_fast)
etl --db "$fast" schema
expect_rc 0 "the schema is created by its owner"
reference_structure=$(structure paths_fast)
etl --db "$fast" load --summary-json fast.json "${files[@]}"
expect_rc 0 "the generated data set loads into empty tables"
for t in users products events transactions; do
	expect_match "$err" "siprems-etl: [^ ]+: $t was empty: loaded with one COPY in one transaction \\(indexes and foreign keys rebuilt: [0-9]+\\)" \
		"$t takes the fast path and says so"
done
expect_eq "$(json_check fast.json | cut -d' ' -f4)" "gen/sales.csv.gz:loaded:$sales_rows:$sales_rows:0" "every sales row is loaded"
expect_eq "$(structure paths_fast)" "$reference_structure" "after the fast path every index and constraint is back, as defined"
expect_eq "$(sql paths_fast "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'public'::regnamespace AND NOT (i.indisvalid AND i.indisready)")" \
	"0" "and every index is valid"
etl --db "$fast" schema --dry-run
expect_match "$out$err" "nothing to (do|change)|up to date|0 changes" "schema finds nothing missing after the fast path"
# PostgreSQL 14's statistics collector reports an ANALYZE a moment later.
for _ in $(seq 1 50); do
	analyzed=$(sql paths_fast "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'transactions'")
	[ "$analyzed" = t ] && break
	sleep 0.1
done
expect_match "$analyzed" "^t$" "the loaded table was analyzed"
expect_match "$(sql paths_fast "SELECT count(*) > 0 FROM pg_stats WHERE schemaname = 'public' AND tablename = 'transactions'")" \
	"^t$" "and has column statistics"
expect_eq "$(sql paths_fast "INSERT INTO transactions (product_id, quantity_sold, price_per_unit) SELECT min(product_id), 1, 1 FROM products RETURNING transaction_id")" \
	"$((sales_rows + 1))" "the id sequence continues after the loaded rows"
run psql -X -Atq -d paths_fast -c "INSERT INTO transactions (product_id, quantity_sold, price_per_unit) VALUES (999999, 1, 1)"
expect_match "$err" "foreign key" "the rebuilt foreign key is enforced"
sql paths_fast "DELETE FROM transactions WHERE transaction_id = $((sales_rows + 1))" >/dev/null

# --- the batched path, binary COPY -------------------------------------------------
batched=$(new_db paths_batched)
etl --db "$batched" schema
grant_writer paths_batched
etl --db "$(as_writer paths_batched)" load --batch-rows 1000 --summary-json batched.json "${files[@]}"
expect_rc 0 "a role that owns nothing loads the same files"
expect_no_match "$err" "was empty" "it takes the batched path"
expect_eq "$(checksum paths_batched)" "$(checksum paths_fast)" "the batched path gives the same tables as the fast path"
expect_eq "$(structure paths_batched)" "$reference_structure" "and the same indexes and constraints"
# Undo by that role, which may not DELETE: refused, the privileges named.
sales_load=$(sql paths_batched "SELECT load_id FROM etl_loads WHERE kind = 'sales'")
etl --db "$(as_writer paths_batched)" undo --yes "$sales_load"
expect_rc 4 "undo by a role without DELETE fails (exit 4)"
expect_match "$err" "permission denied for table transactions; hint: undo deletes the rows the load inserted and gives the rows it updated their values back: the role needs DELETE and UPDATE on transactions, and SELECT, UPDATE and DELETE on the history" \
	"it names the privileges undo takes"
expect_eq "$(checksum paths_batched)" "$(checksum paths_fast)" "the table is as it was"
expect_eq "$(sql paths_batched "SELECT status FROM etl_loads WHERE load_id = $sales_load")" "loaded" "the load is not undone"

# --- text COPY, both paths -----------------------------------------------------------
text_fast=$(new_db paths_text_fast)
run "$ETL" --db "$text_fast" load --copy-format text "${files[@]}"
expect_rc 0 "text COPY into empty tables loads"
expect_match "$err" "transactions was empty" "through the fast path"
expect_eq "$(checksum paths_text_fast)" "$(checksum paths_fast)" "text COPY gives the same tables as binary COPY"
text_batched=$(new_db paths_text_batched)
"$ETL" --db "$text_batched" schema >/dev/null 2>&1
grant_writer paths_text_batched
run "$ETL" --db "$(as_writer paths_text_batched)" load --copy-format text --batch-rows 777 "${files[@]}"
expect_rc 0 "text COPY in batches loads"
expect_eq "$(checksum paths_text_batched)" "$(checksum paths_fast)" "and gives the same tables"

# --- edge values: binary and text COPY store the same ---------------------------------
cat >edge_products.csv <<'EOF2'
sku,name,category,variation,price,stock
E-1,Nol,,,0,0
E-2,Lima sen,"Kat, ""A""",\N,0.05,2147483647
E-3,Setengah,Tab	Kat,x,0.5,1
E-4,Sepuluh ribu,Ünïcode ✓,,10000,10
E-5,Satu sen,,,1.01,3
E-6,Maks,,,99999999.99,4
E-7,Koma,,,18500.50,5
EOF2
cat >edge_sales.csv <<'EOF2'
sku,quantity_sold,price_per_unit,transaction_date,is_promo
E-1,1,,0001-01-01 00:00:00,true
E-2,2147483647,0.01,1999-12-31 23:59:59,false
E-3,1,99999999.99,2000-01-01 00:00:00,yes
E-4,1,10000.00,1970-01-01,no
E-5,3,,2024-02-29 23:59:59+07:00,1
E-6,1,100000,2024-03-01 00:00:00-09:30,0
E-7,1,9999.99,2024-12-31 23:59:59.999999,
EOF2
cat >edge_events.csv <<'EOF2'
event_name,event_date,type,description,include_in_prediction
Awal,0001-01-01,custom,,true
Milenium,2000-01-01,holiday,"Baris
baru",false
Akhir,9999-12-31,seasonal,\,
EOF2
for variant in bin text; do
	for path in fast batched; do
		db=$(new_db "paths_edge_${variant}_$path")
		conn=$db
		if [ "$path" = batched ]; then
			"$ETL" --db "$db" schema >/dev/null 2>&1
			grant_writer "paths_edge_${variant}_$path"
			conn=$(as_writer "paths_edge_${variant}_$path")
		fi
		if [ "$variant" = text ]; then
			run "$ETL" --db "$conn" load --copy-format text --allow-future edge_products.csv edge_sales.csv edge_events.csv
		else
			run "$ETL" --db "$conn" load --allow-future edge_products.csv edge_sales.csv edge_events.csv
		fi
		expect_rc 0 "edge values load ($variant COPY, $path path)"
	done
done
expect_eq "$(sql paths_edge_bin_fast "SELECT string_agg(concat_ws('|', sku, coalesce(category, '-'), coalesce(variation, '-'), price, stock), ' ' ORDER BY sku) FROM products")" \
	"E-1|-|-|0.00|0 E-2|Kat, \"A\"|\\N|0.05|2147483647 E-3|Tab	Kat|x|0.50|1 E-4|Ünïcode ✓|-|10000.00|10 E-5|-|-|1.01|3 E-6|-|-|99999999.99|4 E-7|-|-|18500.50|5" \
	"binary COPY stores the prices, quotes, tabs and Unicode as written"
expect_eq "$(sql paths_edge_bin_fast "SELECT string_agg(concat_ws('|', p.sku, t.quantity_sold, t.price_per_unit, t.transaction_date, t.is_promo), ' ' ORDER BY p.sku) FROM transactions t JOIN products p USING (product_id)")" \
	"E-1|1|0.00|0001-01-01 00:00:00|t E-2|2147483647|0.01|1999-12-31 23:59:59|f E-3|1|99999999.99|2000-01-01 00:00:00|t E-4|1|10000.00|1970-01-01 00:00:00|f E-5|3|1.01|2024-02-29 16:59:59|t E-6|1|100000.00|2024-03-01 09:30:00|f E-7|1|9999.99|2024-12-31 23:59:59.999999|f" \
	"and the timestamps before and after 2000, with offsets and microseconds"
expect_eq "$(sql paths_edge_bin_fast "SELECT string_agg(concat_ws('|', event_name, event_date, type, coalesce(description, '-'), include_in_prediction), ' ' ORDER BY event_date) FROM events")" \
	"Awal|0001-01-01|custom|-|t Milenium|2000-01-01|holiday|Baris
baru|f Akhir|9999-12-31|seasonal|\\|t" \
	"and the dates, enums, line breaks and backslashes"
for d in paths_edge_bin_batched paths_edge_text_fast paths_edge_text_batched; do
	expect_eq "$(checksum "$d")" "$(checksum paths_edge_bin_fast)" "$d holds the same rows as binary COPY on the fast path"
done

# --- updates, binary and text -----------------------------------------------------------
gzip -dc gen/products.csv.gz | awk -F, 'NR == 1 { print; next } { $5 = $5 + 100; print }' OFS=, >dearer.csv
etl --db "$fast" load --on-conflict update dearer.csv
expect_rc 0 "--on-conflict update with binary COPY"
run "$ETL" --db "$(as_writer paths_batched)" load --copy-format text --on-conflict update dearer.csv
expect_rc 0 "and with text COPY"
expect_eq "$(checksum paths_batched)" "$(checksum paths_fast)" "both update to the same rows"

# --- a row the server refuses on the fast path ---------------------------------------------
refused=$(new_db paths_refused)
"$ETL" --db "$refused" --quiet load gen/products.csv.gz >/dev/null 2>&1
sql paths_refused "ALTER TABLE transactions ADD CONSTRAINT qty_sane CHECK (quantity_sold < 10)"
too_many=$(gzip -dc gen/sales.csv.gz | awk -F, 'NR > 1 && $2 >= 10' | wc -l)
etl --db "$refused" load --summary-json refused.json gen/sales.csv.gz
expect_rc 1 "a check constraint siprems-etl does not know rejects rows (exit 1)"
expect_match "$err" "the one-transaction load into the empty table gave way \(the database refused the row: new row for relation \"transactions\" violates check constraint \"qty_sane\".*\); loading the file again in batches" \
	"the fast path gives way to the batches and says why"
expect_eq "$(json_check refused.json | cut -d' ' -f1)" "gen/sales.csv.gz:partial:$sales_rows:$((sales_rows - too_many)):$too_many" \
	"each refused row is rejected, every other row loaded"
expect_match "$(sed -n 2p sales.csv.gz.rejects.csv)" "qty_sane" "the reject names the server's constraint"
expect_eq "$(sql paths_refused "SELECT count(*) FROM transactions WHERE quantity_sold >= 10")" "0" "no refused row is in the table"
expect_eq "$(structure paths_refused | grep -v qty_sane)" "$reference_structure" "every index and constraint is in place"

# --- a table in use is not waited for long ------------------------------------------------------
busy=$(new_db paths_busy)
"$ETL" --db "$busy" --quiet load gen/products.csv.gz >/dev/null 2>&1
psql -X -q -d paths_busy -c "BEGIN; LOCK TABLE transactions IN ACCESS SHARE MODE; SELECT pg_sleep(20); COMMIT" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 50); do
	[ "$(sql paths_busy "SELECT count(*) FROM pg_locks WHERE relation = 'transactions'::regclass AND mode = 'AccessShareLock' AND pid <> pg_backend_pid()")" = 1 ] && break
	sleep 0.1
done
started=$(date +%s)
etl --db "$busy" load gen/sales.csv.gz
elapsed=$(($(date +%s) - started))
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
expect_rc 0 "a table another session reads loads"
expect_no_match "$err" "was empty" "in batches, which do not need the exclusive lock"
if [ "$elapsed" -lt 15 ]; then ok "without waiting for the reader to finish (${elapsed}s)"; else not_ok "without waiting for the reader to finish" "took ${elapsed}s"; fi
expect_eq "$(sql paths_busy "SELECT count(*) FROM transactions")" "$sales_rows" "every row is there"

# --- a table that is not empty takes the batches ------------------------------------------------
gzip -dc gen/sales.csv.gz | head -1001 >first.csv
gzip -dc gen/sales.csv.gz | sed -n '1p;1002,$p' >rest.csv
split_db=$(new_db paths_split)
"$ETL" --db "$split_db" --quiet load gen/users.csv.gz gen/products.csv.gz gen/events.csv.gz >/dev/null 2>&1
etl --db "$split_db" load first.csv
expect_match "$err" "transactions was empty" "the first part takes the fast path"
etl --db "$split_db" load rest.csv
expect_no_match "$err" "was empty" "the rest, into a table with rows, the batches"
expect_eq "$(checksum paths_split | sed 's/transactions:[0-9]*:[0-9a-f]*//')" "$(checksum paths_text_fast | sed 's/transactions:[0-9]*:[0-9a-f]*//')" \
	"the other tables equal the one-run load"
expect_eq "$(sql paths_split "SELECT count(*) FROM transactions")" "$sales_rows" "all sales rows are in"
expect_eq "$(sql paths_split "SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (SELECT concat_ws('|', product_id, quantity_sold, price_per_unit, transaction_date, is_promo) x FROM transactions) s")" \
	"$(sql paths_text_fast "SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (SELECT concat_ws('|', product_id, quantity_sold, price_per_unit, transaction_date, is_promo) x FROM transactions) s")" \
	"with the same values"

# --- the fast path numbers rows from the sequence, wherever it stands --------------------
sql paths_split "DELETE FROM transactions" >/dev/null
last=$(sql paths_split "SELECT last_value FROM transactions_transaction_id_seq")
etl --db "$split_db" load --force gen/sales.csv.gz
expect_match "$err" "transactions was empty" "a table emptied by DELETE takes the fast path again"
expect_eq "$(sql paths_split "SELECT min(transaction_id) || ' ' || max(transaction_id) || ' ' || count(DISTINCT transaction_id) FROM transactions")" \
	"$((last + 1)) $((last + sales_rows)) $sales_rows" "its ids continue after the sequence's last value, one per row"
expect_eq "$(sql paths_split "INSERT INTO transactions (product_id, quantity_sold, price_per_unit) SELECT min(product_id), 1, 1 FROM products RETURNING transaction_id")" \
	"$((last + sales_rows + 1))" "and the sequence continues after them"

# --- a sequence that runs out stops the file; raised, the next run completes it ----------
seq_db=$(new_db paths_seq)
"$ETL" --db "$seq_db" --quiet load gen/products.csv.gz >/dev/null 2>&1
sql paths_seq "ALTER SEQUENCE transactions_transaction_id_seq MAXVALUE 2500"
etl --db "$seq_db" load --batch-rows 1000 --summary-json seq.json gen/sales.csv.gz
expect_rc 4 "a sequence that runs out is a database error (exit 4)"
expect_match "$err" "gave way \(the rows need more ids than the sequence 'transactions_transaction_id_seq' has left\)" \
	"the fast path sees it coming and leaves the file to the batches"
expect_match "$err" "reached maximum value of sequence \"transactions_transaction_id_seq\" \(2500\); the next run resumes after row [0-9]+" \
	"which names the sequence and where the next run resumes"
expect_eq "$(sql paths_seq "SELECT count(*) FROM transactions")" "$(python3 -c "import json; print(json.load(open('seq.json'))['files'][0]['rows_loaded'])")" \
	"the committed batches stay, and no row is rejected for it"
expect_eq "$(ls sales.csv.gz.rejects.csv 2>/dev/null | wc -l) $(python3 -c "import json; print(json.load(open('seq.json'))['totals']['rows_rejected'])")" "0 0" \
	"(and no reject file)"
sql paths_seq "ALTER SEQUENCE transactions_transaction_id_seq MAXVALUE 2147483647"
etl --db "$seq_db" load --batch-rows 1000 gen/sales.csv.gz
expect_rc 0 "with the sequence raised the next run completes the file"
expect_eq "$(sql paths_seq "SELECT count(*) FROM transactions")" "$sales_rows" "every row once"

sql postgres "DROP OWNED BY etl_paths_writer CASCADE" >/dev/null 2>&1
for d in paths_batched paths_text_batched; do psql -X -q -d "$d" -c "DROP OWNED BY etl_paths_writer" >/dev/null 2>&1; done
psql -X -q -d postgres -c "DROP ROLE IF EXISTS etl_paths_writer" >/dev/null 2>&1
finish
