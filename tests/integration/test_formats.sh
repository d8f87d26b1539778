#!/usr/bin/env bash
# Describing a file once: a cashier (point-of-sale) export with its own
# column names, semicolons, DD/MM/YYYY HH24:MI dates, "Rp 12.500" and
# "1.250.000,50" amounts, loaded through --profile; a file without a header
# (--columns); --null; ambiguous dates; the reject file keeping the file's
# own fields; a profile's mistakes named by file and line; the command line
# over the profile; check with the same profile.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
db=$(new_db formats_db)
"$ETL" --db "$db" schema >/dev/null
printf 'sku,name,price\nBRD-001,Roti Tawar,12500\nSNK-003,Keripik,5000\nTEH-002,Teh Botol,4000\n' >products.csv
etl --db "$db" load --quiet products.csv
expect_rc 0 "the products load"

# --- a cashier export through a profile -----------------------------------------
cat >kasir.csv <<'EOF'
Tanggal;Kode Barang;Nama Barang;Jumlah;Harga Satuan
05/01/2026 08:15;BRD-001;Roti Tawar;2;Rp 12.500
05/01/2026 9:05;SNK-003;Keripik;1.000;Rp 1.250.000,50
5/1/2026 21:40;TEH-002;Teh Botol;3;
06/01/2026 07:00;BRD-001;Roti Tawar;1;Rp 12.50
31/01/2026 07:00;BRD-001;Roti Tawar;1;12.000
EOF
cat >kasir.conf <<'EOF'
# The shop's cashier export (semicolons, Indonesian amounts).
delimiter = ;
map = Tanggal = transaction_date
map = Kode Barang=sku
map = Nama Barang=-
map = Jumlah=quantity_sold
map = Harga Satuan=price_per_unit
date-format = "DD/MM/YYYY HH24:MI"
decimal-comma = true
currency = Rp
EOF
etl --db "$db" load --profile kasir.conf --summary-json s.json kasir.csv
expect_rc 1 "one row rejected: exit 1"
expect_match "$err" "^siprems-etl: kasir\.csv:5: price_per_unit: \"Rp 12\.50\" is not a number with a decimal comma" "the rejected value is shown as written"
expect_eq "$(json_check s.json)" "kasir.csv:partial:5:4:1 1" "5 read, 4 loaded, 1 rejected"
expect_eq "$(sql formats_db "SELECT string_agg(p.sku || ' ' || t.quantity_sold || ' ' || t.price_per_unit || ' ' || t.transaction_date, ' | ' ORDER BY t.transaction_date) FROM transactions t JOIN products p USING (product_id)")" \
	"BRD-001 2 12500.00 2026-01-05 08:15:00 | SNK-003 1000 1250000.50 2026-01-05 09:05:00 | TEH-002 3 4000.00 2026-01-05 21:40:00 | BRD-001 1 12000.00 2026-01-31 07:00:00" \
	"the rows hold the export's values: dates day first, thousands dots, decimal comma, Rp, an empty price the product's"
expect_eq "$(head -n 1 kasir.csv.rejects.csv)" "Tanggal;Kode Barang;Nama Barang;Jumlah;Harga Satuan;reject_line;reject_reason" \
	"the reject file has the export's own header (the ignored column too)"
expect_eq "$(sed -n 2p kasir.csv.rejects.csv | cut -d';' -f1-6)" "06/01/2026 07:00;BRD-001;Roti Tawar;1;Rp 12.50;5" \
	"the rejected row keeps the file's original fields"
# The corrected reject file loads with the same profile.
sed -e 's/Rp 12\.50;/Rp 12,50;/' kasir.csv.rejects.csv >kasir-fixed.csv
etl --db "$db" load --quiet --profile kasir.conf kasir-fixed.csv
expect_rc 0 "the corrected reject file loads through the same profile"
expect_eq "$(sql formats_db "SELECT count(*), sum(price_per_unit) FROM transactions WHERE transaction_date = '2026-01-06 07:00'")" "1|12.50" \
	"the corrected row is in once, with its price"
# Loading the export again changes nothing.
etl --db "$db" load --profile kasir.conf kasir.csv
expect_rc 1 "the same export with the same profile: its reject still counts (exit 1)"
expect_eq "$(sql formats_db "SELECT count(*) FROM transactions")" "5" "nothing loaded twice"

# --- check with the same profile ------------------------------------------------
etl --db "$db" check --profile kasir.conf kasir-fixed.csv
expect_rc 0 "check reads the profile too (load's own options there are skipped)"

# --- the command line overrides the profile -------------------------------------
printf 'Tanggal;Kode Barang;Jumlah\n2026-01-07 10:00;TEH-002;2\n' >iso.csv
etl --db "$db" load --dry-run --profile kasir.conf iso.csv
expect_rc 1 "an ISO date does not match the profile's pattern"
expect_match "$err" "iso\.csv:2: transaction_date: \"2026-01-07 10:00\" does not match --date-format \"DD/MM/YYYY HH24:MI\"" \
	"the reject names the pattern"
etl --db "$db" load --profile kasir.conf --date-format 'YYYY-MM-DD HH24:MI' iso.csv
expect_rc 0 "a --date-format on the command line replaces the profile's"
expect_eq "$(sql formats_db "SELECT quantity_sold FROM transactions WHERE transaction_date = '2026-01-07 10:00'")" "2" "the row is in"

# --- a file without a header ------------------------------------------------------
printf '2026-01-08,SNK-003,4,7.500\n2026-01-08,TEH-002,N/A,\n2026-01-08,BRD-001,1,N/A\n' >noheader.csv
etl --db "$db" load --columns 'transaction_date, sku, quantity_sold, price_per_unit' --decimal-comma \
	--null N/A --summary-json s.json noheader.csv
expect_rc 1 "the headerless file loads; a NULL quantity is a reject"
expect_eq "$(json_check s.json)" "noheader.csv:partial:3:2:1 1" "3 rows read (the first line is data), 2 loaded"
expect_match "$err" "noheader\.csv:2: quantity_sold: is empty, but required" "--null N/A reads as empty"
expect_eq "$(sql formats_db "SELECT string_agg(quantity_sold || ' ' || price_per_unit, ',' ORDER BY quantity_sold) FROM transactions WHERE transaction_date = '2026-01-08'")" \
	"1 12500.00,4 7500.00" "line 1 is data; N/A as a price takes the product's"
expect_eq "$(head -n 1 noheader.csv.rejects.csv)" "transaction_date,sku,quantity_sold,price_per_unit,reject_line,reject_reason" \
	"the reject file of a headerless file has the --columns header"
etl --db "$db" load --columns 'transaction_date,sku' noheader.csv
expect_rc 3 "a --columns list shorter than the rows: every row has the wrong shape"

# --- ambiguous dates: a reject, never a guess ---------------------------------------
printf 'sku,quantity_sold,transaction_date\nBRD-001,1,05/02/2026\nBRD-001,2,25/02/2026\nBRD-001,3,02/25/2026\n' >amb.csv
etl --db "$db" load --date-format DD/MM/YYYY --date-format MM/DD/YYYY amb.csv
expect_rc 1 "an ambiguous date is rejected"
expect_match "$err" "amb\.csv:2: transaction_date: \"05/02/2026\" is ambiguous: \"DD/MM/YYYY\" reads 2026-02-05, \"MM/DD/YYYY\" reads 2026-05-02" \
	"both readings are shown"
expect_eq "$(sql formats_db "SELECT string_agg(quantity_sold::text, ',' ORDER BY quantity_sold) FROM transactions WHERE transaction_date = '2026-02-25'")" \
	"2,3" "the values only one pattern reads are loaded"

# --- mistakes in a profile are named by file and line ---------------------------
printf 'delimiter = ;\n\nbatch-rows = many\n' >bad1.conf
etl --db "$db" load --profile bad1.conf kasir.csv
expect_rc 2 "a bad value in a profile is a usage error"
expect_match "$err" "^siprems-etl: bad1\.conf:3: --batch-rows: \"many\" is not a number" "its file and line are named"
printf '# x\ncolour = red\n' >bad2.conf
etl --db "$db" load --profile bad2.conf kasir.csv
expect_rc 2 "an unknown name in a profile exits 2"
expect_match "$err" "^siprems-etl: bad2\.conf:2: \"colour\" is not an option a profile can give here" "the name and line are named"
printf 'map = Jumlah=amount\n' >bad3.conf
etl --db "$db" load --profile bad3.conf kasir.csv
expect_rc 2 "a map to no column exits 2"
expect_match "$err" "^siprems-etl: bad3\.conf:1: --map: \"amount\" is not a column of any kind" "the profile's line is named"
etl --db "$db" load --profile missing.conf kasir.csv
expect_rc 2 "a missing profile exits 2"
expect_match "$err" "missing\.conf: cannot read the profile" "and says so"
etl --db "$db" load --map 'Jumlah=quantity_sold' --map 'Tanggal=sku' --map 'Kode Barang=sku' --delimiter ';' kasir.csv
expect_rc 3 "two fields mapped to one column: an input error"
expect_match "$err" "column \"sku\" appears twice" "the column is named"
printf 'Tanggal,Kode Barang\n' >unmapped.csv
etl --db "$db" load unmapped.csv
expect_rc 3 "a header of other names exits 3"
expect_match "$err" "cannot tell the kind of file from its header; .*; a file with names of its own is read with --map NAME=COLUMN, one without a header with --columns$" \
	"a header of unknown names points to --map and --columns"
etl --db "$db" load sales=unmapped.csv
expect_match "$err" "unknown column \"Tanggal\" \(--map Tanggal=COLUMN reads it as a column, --map Tanggal=- ignores it\)" \
	"an unknown column suggests --map"
expect_eq "$(sql formats_db "SELECT count(*) FROM transactions")" "10" "no failed command wrote a row"

finish
