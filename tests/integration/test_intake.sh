#!/usr/bin/env bash
# The intake end to end through `load --dry-run`: exit codes 0/1/3/5, the
# summary and its JSON (counts add up), reject files and their round trip,
# gzip, encodings, delimiters, stdin, dependency order, SKU checks.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
nodb=(--db "host=/nonexistent dbname=none connect_timeout=1")

# --- a clean file --------------------------------------------------------------
printf 'sku,name,category,variation,price,stock\nBRD-001,Roti Tawar,Roti,,15000,10\nMLK-001,Susu Segar,Minuman,1L,18500.50,\n' >products.csv
etl "${nodb[@]}" load --dry-run --summary-json s.json products.csv
expect_rc 0 "a clean file exits 0"
expect_match "$err" "products\.csv +products +valid +2 +2 +0 +0 +0" "the summary table shows the counts (a dry run's rows are valid, not loaded)"
expect_match "$err" "dry run: nothing was written" "the summary says nothing was written"
expect_match "$err" "no database reachable; SKU references of sales files are not checked" "no database is said plainly"
expect_eq "$(json_check s.json)" "products.csv:loaded:2:2:0 0" "the JSON summary has the documented shape and adds up"
expect_eq "$(ls -A | grep -E 'rejects\.csv(\.part)?$')" "" "no reject file (nor a .part) when nothing is rejected"

# --- bad rows: exit 1, exact reasons, a reject file that loads once fixed -----
cat >products.csv <<'EOF'
sku,name,price,stock
BRD-001,Roti,5000,3
BRD-002,"Susu, ""segar""
 1 liter",12.50,
BRD-001,Dup,1,1
bad sku,X,1.005,-1
KJU-001,Keju,"12,50",5
ABC-1,only three,1
EOF
etl "${nodb[@]}" load --dry-run --summary-json s.json products.csv
expect_rc 1 "rejected rows exit 1"
expect_match "$err" "^siprems-etl: products\.csv:5: sku: \"BRD-001\" repeats the key of line 2$" \
	"a repeated key names the line of the first (line numbers count the multi-line field)"
expect_match "$err" "^siprems-etl: products\.csv:6: sku: \"bad sku\" does not match the SKU pattern .*; price: \"1\.005\" has more than 2 decimals; stock: \"-1\" is out of range 0\.\.2147483647$" \
	"every problem of a row is named with column, rule and value"
expect_match "$err" "^siprems-etl: products\.csv:7: price: \"12,50\" is not a plain decimal" \
	"a comma decimal is rejected"
expect_match "$err" "^siprems-etl: products\.csv:8: the row has 3 fields, the header 4$" "a short row is rejected, not fatal"
expect_eq "$(json_check s.json)" "products.csv:partial:6:2:4 1" "counts add up: 6 read, 2 valid, 4 rejected"
expect_eq "$(stat -c %a products.csv.rejects.csv)" "600" "the reject file has mode 0600"
expect_eq "$(head -n 1 products.csv.rejects.csv)" "sku,name,price,stock,reject_line,reject_reason" \
	"the reject file has the original header plus reject_line and reject_reason"
expect_eq "$(sed -n 2p products.csv.rejects.csv)" 'BRD-001,Dup,1,1,5,"sku: ""BRD-001"" repeats the key of line 2"' \
	"a rejected row keeps its original fields"
# Fix the rejects: new SKUs, good prices, a fourth field; load them as they are.
sed -e 's/^BRD-001,Dup/DUP-001,Dup/' -e 's/^bad sku,X,1\.005,-1/BAD-001,X,1.05,1/' \
	-e 's/^KJU-001,Keju,"12,50"/KJU-001,Keju,12.50/' -e 's/^ABC-1,only three,1,/ABC-1,only three,1,0/' \
	products.csv.rejects.csv >fixed.csv
etl "${nodb[@]}" load --dry-run --summary-json s.json fixed.csv
expect_rc 0 "the corrected reject file is accepted as it is (reject_line/reject_reason ignored)"
expect_eq "$(json_check s.json)" "fixed.csv:loaded:4:4:0 0" "all four corrected rows are valid"

# --- gzip, truncated gzip, corrupt gzip --------------------------------------------
gzip -c products.csv >p.gz
etl "${nodb[@]}" load --dry-run --summary-json s.json p.gz
expect_rc 1 "gzip is recognised by its bytes, not its name"
expect_eq "$(json_check s.json)" "p.gz:partial:6:2:4 1" "gzip gives the same counts as plain"
seq 1 20000 | awk 'BEGIN{print "sku,name,price"} {printf "S-%d,Name %d,%d.50\n", $1, $1, $1}' | gzip -c >big.csv.gz
head -c $(($(stat -c %s big.csv.gz) - 100)) big.csv.gz >cut.csv.gz
etl "${nodb[@]}" load --dry-run --summary-json s.json cut.csv.gz
expect_rc 3 "a truncated gzip stream exits 3"
expect_match "$err" "^siprems-etl: cut\.csv\.gz: truncated gzip stream" "the message names the file and says truncated"
expect_eq "$(json_check s.json)" "cut.csv.gz:failed:0:0:0 3" "a failed file counts nothing"
expect_eq "$(no_rejects cut.csv.gz.rejects.csv)" "" "a failed file leaves no reject file (nor a .part)"
cat big.csv.gz big.csv.gz >two.csv.gz
etl "${nodb[@]}" load --dry-run --summary-json s.json products=two.csv.gz
expect_rc 1 "a two-member gzip file is read to the end"
expect_eq "$(json_check s.json)" "two.csv.gz:partial:40001:20000:20001 1" \
	"both members are read (the second header and repeated SKUs are rejected)"
{ cat big.csv.gz; printf 'trailing junk'; } >junk.csv.gz
etl "${nodb[@]}" load --dry-run junk.csv.gz
expect_rc 3 "junk after the gzip stream exits 3"
expect_match "$err" "unexpected data after the gzip stream" "junk after the stream is named"

# --- header problems: exit 3 -------------------------------------------------------
printf 'sku,name\nA,B\n' >nokind.csv
etl "${nodb[@]}" load --dry-run nokind.csv
expect_rc 3 "a header that fits no kind exits 3"
expect_match "$err" "^siprems-etl: nokind\.csv:1: the header looks like a products file, but: missing required column price; products files have the columns sku, name, price" \
	"it names the kind the header is closest to and what is missing"
printf 'sku,qty,date\nA,1,2023-01-01\n' >nokind2.csv
etl "${nodb[@]}" load --dry-run nokind2.csv
expect_rc 3 "a header close to no kind exits 3"
expect_match "$err" "^siprems-etl: nokind2\.csv:1: cannot tell the kind of file from its header; expected the columns of users: email" \
	"it lists the columns each kind expects"
etl "${nodb[@]}" load --dry-run products=nokind.csv
expect_rc 3 "a missing required column exits 3"
expect_match "$err" "nokind\.csv:1: missing required column price; products files have the columns sku, name, price" \
	"the missing column is named"
printf 'sku,name,price,colour\nA,B,1,red\n' >extra.csv
etl "${nodb[@]}" load --dry-run products=extra.csv
expect_rc 3 "an unknown column exits 3"
expect_match "$err" "unknown column \"colour\"" "the unknown column is named"
: >empty.csv
etl "${nodb[@]}" load --dry-run empty.csv
expect_rc 3 "an empty file exits 3"
expect_match "$err" "empty\.csv: the file is empty: no header row" "an empty file says so"
printf 'sku,name,price\n' >header-only.csv
etl "${nodb[@]}" load --dry-run --summary-json s.json header-only.csv
expect_rc 0 "a header-only file exits 0"
expect_eq "$(json_check s.json)" "header-only.csv:loaded:0:0:0 0" "a header-only file has no rows"

# --- BOM, CRLF, encodings, delimiter, stdin -------------------------------------------
printf '\xef\xbb\xbfSKU,Name,Price\r\nA-1,Caf\xc3\xa9,1\r\n' >bom.csv
etl "${nodb[@]}" load --dry-run --summary-json s.json bom.csv
expect_rc 0 "a header with a BOM and CRLF line ends is read"
printf 'sku,name,price\nA-1,Caf\xe9,1\n' >latin1.csv
etl "${nodb[@]}" load --dry-run latin1.csv
expect_rc 1 "latin1 bytes read as UTF-8 are rejected"
expect_match "$err" "latin1\.csv:2: name: \"Caf\\\\xe9\" is not valid UTF-8 \(byte 4\)" "invalid UTF-8 is named with its byte"
expect_match "$err" "latin1\.csv: hint: the file is not UTF-8; a Latin-1 or Windows-1252 export loads with --encoding latin1" \
	"and the file gets a hint to its likely encoding"
etl "${nodb[@]}" load --dry-run --encoding latin1 latin1.csv
expect_rc 0 "--encoding latin1 converts them"
printf 'sku;name;price\nA-1;"x;y";1,5\n' >semi.csv
etl "${nodb[@]}" load --dry-run --delimiter ';' semi.csv
expect_rc 1 "--delimiter ; splits on semicolons"
expect_match "$err" "semi\.csv:2: price: \"1,5\" is not a plain decimal" "the value after the delimiter is checked"
run bash -c "cat products.csv | '$ETL' --db 'host=/nonexistent dbname=none' load --dry-run --summary-json s.json -"
expect_rc 1 "stdin ('-') is read"
expect_eq "$(json_check s.json)" "-:partial:6:2:4 1" "stdin gives the same counts"
expect_eq "$(head -c 3 stdin.rejects.csv)" "sku" "stdin's rejects go to stdin.rejects.csv"

# --- users: the plaintext password never reaches the reject file -----------------
printf 'email,full_name,password\nnot-an-email,Ann,Sup3rSecret!\nok@toko.id,Budi,pw\n' >users.csv
etl "${nodb[@]}" load --dry-run users.csv
expect_rc 1 "a bad user row is rejected"
expect_no_match "$(cat users.csv.rejects.csv)$err" "Sup3rSecret" "the plaintext password is in no output and no reject file"
expect_eq "$(sed -n 2p users.csv.rejects.csv)" ',,,2,"email: (a value not shown: the file has passwords) is not an e-mail address; its fields are not written, because one may be a password: correct line 2 of the file itself"' \
	"a file with a plaintext password column: no field of a rejected row, no value in its reason (a comma in a name would shift the password into another field)"

# --- --max-rejects: stop with exit 5 ------------------------------------------------
seq 1 100 | awk 'BEGIN{print "sku,name,price"} {printf "S-%d,N,%s\n", $1, ($1 % 10 == 0 ? "bad" : "1")}' >some-bad.csv
etl "${nodb[@]}" load --dry-run --max-rejects 3 --summary-json s.json some-bad.csv
expect_rc 5 "more rejects than --max-rejects exits 5"
expect_eq "$(json_check s.json)" "some-bad.csv:stopped:40:36:4 5" "it stops at the fourth reject, counts still adding up"
etl "${nodb[@]}" load --dry-run --max-rejects 10 some-bad.csv
expect_rc 1 "within --max-rejects the file completes"

# --- a dry run never replaces a reject file that exists --------------------------------
# (it replaced an operator's hand-corrected one without a word)
rm -f some-bad.csv.rejects.csv some-bad.csv.dry-run.rejects.csv
etl "${nodb[@]}" load --dry-run some-bad.csv
expect_eq "$(($(wc -l <some-bad.csv.rejects.csv) - 1))" 10 "with none there, a dry run writes the reject file under its name"
sed -i 's/,bad,/,5,/' some-bad.csv.rejects.csv
corrected=$(md5sum <some-bad.csv.rejects.csv)
etl "${nodb[@]}" load --dry-run some-bad.csv
expect_rc 1 "a dry run beside a corrected reject file"
expect_eq "$(md5sum <some-bad.csv.rejects.csv)" "$corrected" "leaves the corrected reject file as it was"
expect_match "$err" "some-bad\.csv: some-bad\.csv\.rejects\.csv exists; this dry run's rejects go to some-bad\.csv\.dry-run\.rejects\.csv" "and says where its rejects go"
expect_eq "$(($(wc -l <some-bad.csv.dry-run.rejects.csv) - 1))" 10 "they are there, all ten"
etl "${nodb[@]}" load --dry-run some-bad.csv.rejects.csv
expect_rc 0 "the corrected reject file checks clean"

# --- order, and SKUs checked against a database plus the run's products -----------
db=$(new_db intake_db)
"$ETL" --db "$db" schema >/dev/null
sql intake_db "INSERT INTO products (sku, name, price) VALUES ('DB-001', 'From the database', 7000)"
printf 'sku,quantity_sold,price_per_unit,transaction_date\nDB-001,1,,2024-01-01\nNEW-001,2,,2024-01-02 10:00\nGHOST-1,1,1,2024-01-03\n' >sales.csv
printf 'sku,name,price\nNEW-001,New,2500\n' >newprod.csv
etl --db "$db" load --dry-run --summary-json s.json sales.csv newprod.csv
expect_rc 1 "a sales row with an unknown SKU is rejected"
expect_eq "$(json_check s.json)" "newprod.csv:loaded:1:1:0 sales.csv:partial:3:2:1 1" \
	"products load before sales whatever the order given"
expect_match "$err" "sales\.csv:4: sku: \"GHOST-1\" is not a known product" "the unknown SKU is named"
expect_no_match "$err" "NEW-001|DB-001" "SKUs of the database and of the run's products file are known"
etl "${nodb[@]}" load --dry-run sales.csv
expect_rc 0 "without a database, SKUs are not checked"

# --- several files: the worst outcome decides the exit status ---------------------
etl "${nodb[@]}" load --dry-run --summary-json s.json products.csv cut.csv.gz
expect_rc 3 "an input error in one file and rejects in another exit 3"
expect_eq "$(json_check s.json)" "products.csv:partial:6:2:4 cut.csv.gz:failed:0:0:0 3" "each file has its own outcome"

# --- usage errors: exit 2 -------------------------------------------------------------
for bad in "--on-conflict maybe" "--batch-rows 0" "--max-rejects -1" "--encoding ebcdic" \
	"--delimiter ab" "--jobs 0" "--timezone Mars/Base" "--sku-pattern ([x"; do
	# shellcheck disable=SC2086
	etl "${nodb[@]}" load --dry-run $bad products.csv
	expect_rc 2 "load $bad exits 2"
done
etl load --dry-run - -
expect_rc 2 "stdin twice exits 2"
expect_match "$err" "stdin \('-'\) can be read only once" "stdin twice says why"
etl load --dry-run
expect_rc 2 "no file exits 2"
etl "${nodb[@]}" load --dry-run --reject-dir /nonexistent products.csv
expect_rc 2 "an unwritable --reject-dir is a usage error (exit 2), said before any file"
expect_match "$err" "^siprems-etl: --reject-dir /nonexistent: cannot write reject files there: No such file or directory" "the directory is named, and why"

finish
