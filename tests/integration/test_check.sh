#!/usr/bin/env bash
# `check`: what a load would do with each line, against the real database:
# planted repeats of every kind (in a file, across files, against the
# database, letter case and spaces, unknown SKUs, invalid rows) with exact
# lines and outcomes in each --on-conflict mode; text, csv and json; a role
# that may only SELECT; no database; exit codes; stdin; a large file.
# (test_agree.sh runs the same files through load and compares.)
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
hash='$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'

db=$(new_db check_db)
"$ETL" --db "$db" schema >/dev/null
sql check_db "INSERT INTO products (sku, name, category, price, stock) VALUES
    ('BRD-001', 'Roti Tawar', 'Roti', 15000, 10), ('MLK-001', 'Susu', NULL, 18500.50, 0),
    ('TEA-001', 'Teh', 'Minuman', 5000, 3);
  INSERT INTO users (email, full_name, password_hash) VALUES ('admin@toko.id', 'Admin', '$hash');
  INSERT INTO events (event_name, event_date, type) VALUES ('Nyepi', '2024-03-11', 'holiday')"

cat >products_a.csv <<'EOF'
sku,name,category,price,stock
BRD-001,Roti Tawar,Roti,15000,10
MLK-001,Susu Segar,Minuman,18500.50,5
SNK-001,Keripik,Snack,7500,1
CAK-001,Kue,Snack,1,1
SNK-001,Keripik Pedas,Snack,8000,1
tea-001,Teh,Minuman,5000,1
cak-001 ,Kue lagi,Snack,1,1
EOF
printf 'sku,name,price\nSNK-001,Keripik,7500\n' >products_b.csv
printf 'email,full_name,password_hash\nAdmin@Toko.id,Admin Toko,%s\nkasir@toko.id,Kasir,%s\nkasir@toko.id,Kasir 2,%s\n' "$hash" "$hash" "$hash" >users.csv
cat >events.csv <<'EOF'
event_name,event_date,type
Nyepi,2024-03-11,holiday
Idul Fitri,2024-04-10,holiday
 idul fitri,2024-04-10,Holiday
Idul Fitri,2024-04-11,holiday
EOF
cat >sales.csv <<'EOF'
sku,quantity_sold,transaction_date
BRD-001,1,2024-01-01
SNK-001,1,2024-01-01
GHOST-1,1,2024-01-01
GHOST-1,2,2024-01-02
GHOST-2,1,2024-01-02
EOF
files=(sales.csv products_a.csv users.csv events.csv products_b.csv)

# One line per decision: file:line outcome key | reason
render() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
print("database_checked", d["database_checked"], d["on_conflict"])
for l in d["lines"]:
    print("%s:%d %s %s | %s" % (l["file"], l["line"], l["outcome"], l["key"], l["reason"]))
for f in d["files"]:
    print(f["file"], f["kind"], *(f[k] for k in ("insert", "update", "unchanged", "skip", "reject")))
t = d["total"]
print("total", *(t[k] for k in ("insert", "update", "unchanged", "skip", "reject")))
'
}
exists="already exists in the database (--on-conflict skip keeps it, update replaces it)"
variant="only in letter case or surrounding spaces; --case-variants allow loads it"

etl --db "$db" check --format json "${files[@]}"
expect_rc 1 "a load would reject rows: check exits 1"
expect_eq "$(printf '%s' "$out" | render)" "database_checked True error
users.csv:2 reject admin@toko.id | email: \"Admin@Toko.id\" $exists
users.csv:4 reject None | email: \"kasir@toko.id\" repeats the key of line 3
products_a.csv:2 reject BRD-001 | sku: \"BRD-001\" $exists
products_a.csv:3 reject MLK-001 | sku: \"MLK-001\" $exists
products_a.csv:6 reject None | sku: \"SNK-001\" repeats the key of line 4
products_a.csv:7 reject None | sku: \"tea-001\" differs from \"TEA-001\" in the database $variant
products_a.csv:8 reject None | sku: \"cak-001\" differs from \"CAK-001\" of line 5 $variant
products_b.csv:2 reject SNK-001 | sku: \"SNK-001\" $exists (as products_a.csv line 4 of this run leaves it)
events.csv:2 reject Nyepi+2024-03-11 | event_name+event_date: \"Nyepi\"+2024-03-11 $exists
events.csv:4 reject None | event_name+event_date: \" idul fitri+2024-04-10\" differs from \"Idul Fitri+2024-04-10\" of line 3 $variant
sales.csv:4 reject None | sku: \"GHOST-1\" is not a known product
sales.csv:5 reject None | sku: \"GHOST-1\" is not a known product
sales.csv:6 reject None | sku: \"GHOST-2\" is not a known product
users.csv users 1 0 0 0 2
products_a.csv products 2 0 0 0 5
products_b.csv products 0 0 0 0 1
events.csv events 2 0 0 0 2
sales.csv sales 2 0 0 0 3
total 7 0 0 0 13" \
	"the JSON has every line the load would not simply insert, in the load's order and words, and the counts"

etl --db "$db" check --on-conflict update --format json "${files[@]}"
expect_eq "$(printf '%s' "$out" | render | grep -E ' (update|unchanged) |^total')" \
	"users.csv:2 update admin@toko.id | email: \"Admin@Toko.id\": full_name: \"Admin Toko\" in the file, \"Admin\" in the database
products_a.csv:2 unchanged BRD-001 | sku: \"BRD-001\" holds the file's values already
products_a.csv:3 update MLK-001 | sku: \"MLK-001\": name: \"Susu Segar\" in the file, \"Susu\" in the database; category: \"Minuman\" in the file, NULL in the database; stock: 5 in the file, 0 in the database
products_b.csv:2 unchanged SNK-001 | sku: \"SNK-001\" (as products_a.csv line 4 of this run leaves it) holds the file's values already
events.csv:2 unchanged Nyepi+2024-03-11 | event_name+event_date: \"Nyepi\"+2024-03-11 holds the file's values already
total 7 2 3 0 8" \
	"with --on-conflict update: which rows change and how, which are left as they are"
etl --db "$db" check --on-conflict skip "${files[@]}"
expect_match "$out" "^products_a\.csv:2: will be skipped: sku: \"BRD-001\" exists in the database; --on-conflict skip$" \
	"with --on-conflict skip: the rows the table has are skipped"
expect_match "$out" "^total: 7 inserted, 5 skipped, 8 rejected$" "the text report ends with the totals"

etl --db "$db" check "${files[@]}"
expect_rc 1 "the text report exits 1 too"
expect_match "$out" "^what a load with --on-conflict error would do$" "the text report says which mode it predicts"
expect_match "$out" "^products_a\.csv:7: will be rejected: sku: \"tea-001\" differs from \"TEA-001\" in the database" \
	"one line per decision, FILE:LINE first"
expect_match "$out" "^products_a\.csv \(products\): 2 inserted, 5 rejected$" "each file's counts after its lines"
expect_match "$out" "^total: 7 inserted, 13 rejected$" "and the run's at the end"
etl --db "$db" check --format csv "${files[@]}"
expect_eq "$(printf '%s\n' "$out" | head -n 1)" "file,line,kind,key,outcome,reason" "csv has a header"
expect_eq "$(printf '%s\n' "$out" | python3 -c 'import csv, sys; rows = list(csv.reader(sys.stdin)); print(len(rows), set(len(r) for r in rows), sum(r[4] == "reject" for r in rows))')" \
	"14 {6} 13" "csv parses with 6 columns on every line, one per rejected line"

# --- clean files exit 0 ------------------------------------------------------------
printf 'sku,name,price\nNEW-001,Baru,1\nNEW-002,Baru 2,2\n' >clean.csv
etl --db "$db" check clean.csv
expect_rc 0 "a clean file exits 0"
expect_match "$out" "^total: 2 inserted; nothing would be rejected$" "and says nothing would be rejected"
head -n 2 products_a.csv >unchanged.csv
etl --db "$db" check unchanged.csv
expect_rc 1 "a row the database holds as it is: the default mode rejects it, and check says so"
etl --db "$db" check --on-conflict skip unchanged.csv
expect_rc 0 "with skip it exits 0"
etl --db "$db" check --on-conflict update unchanged.csv
expect_rc 0 "with update too"
expect_match "$out" "^unchanged\.csv:2: will leave the row unchanged: sku: \"BRD-001\" holds the file's values already$" \
	"and says it is left as it is"

# --- a role that may only SELECT, and nothing written ---------------------------------
sql check_db "DROP ROLE IF EXISTS etl_select; CREATE ROLE etl_select LOGIN PASSWORD 'select-pw';
  GRANT SELECT ON ALL TABLES IN SCHEMA public TO etl_select; REVOKE TEMP ON DATABASE check_db FROM PUBLIC"
# (The whole output, then its first line: a pipe into head could end psql
# with SIGPIPE, which sql now counts as a failure.)
before=$(sql check_db "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables; SELECT pg_stat_clear_snapshot()")
before=${before%%$'\n'*}
etl --db "host=127.0.0.1 port=$PGPORT dbname=check_db user=etl_select password=select-pw" check --format json "${files[@]}"
expect_rc 1 "a role that may only SELECT runs check"
expect_eq "$(printf '%s' "$out" | render | wc -l)" "20" "and gets the same decisions"
sleep 0.6 # statistics reach pg_stat_user_tables with a little delay
expect_eq "$(sql check_db "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables")" "$before" \
	"check wrote nothing to any table"

# --- no database: it says so, and still decides what the files alone show ---------------
etl --db "host=/nonexistent dbname=none" check --format json "${files[@]}"
expect_rc 1 "without a database the in-file rejects still exit 1"
expect_match "$err" "no database reachable \(.*\): keys were checked within and across the files only" \
	"it says plainly that no database was reachable"
expect_eq "$(printf '%s' "$out" | render | grep ' reject ' | cut -d' ' -f1 | tr '\n' ' ')" \
	"users.csv:4 products_a.csv:6 products_a.csv:8 products_b.csv:2 events.csv:4 " \
	"the repeats, the variants within the files and the cross-file key (no SKU of a sales file is judged)"
etl --db "host=/nonexistent dbname=none" check "${files[@]}"
expect_eq "$(printf '%s\n%s\n' "$out" "$err" | grep -c "no database reachable")" "1" "the text report says it once"

# --- input errors, usage errors ---------------------------------------------------------
printf 'sku,qty\nA,1\n' >nokind.csv
etl --db "$db" check nokind.csv products_b.csv
expect_rc 3 "a file whose kind cannot be told exits 3"
expect_match "$err" "nokind\.csv:1: cannot tell the kind" "and names it"
expect_match "$out" "^products_b\.csv \(products\): 1 inserted$" "the other files are still checked"
etl --db "$db" check --format xml products_b.csv
expect_rc 2 "an unknown --format exits 2"
etl --db "$db" check --on-conflict merge products_b.csv
expect_rc 2 "an unknown --on-conflict exits 2"
printf 'sku,name,price\nOK-1,A,x\nBAD SKU,B,1\nOK-1,C,1\nOK-1,D,2\n' >badkeys.csv
etl --db "$db" check badkeys.csv
expect_rc 1 "invalid rows are rejected rows"
expect_match "$out" "^badkeys\.csv:2: will be rejected: price: \"x\"" "a bad value is named"
expect_match "$out" "^badkeys\.csv:3: will be rejected: sku: \"BAD SKU\" does not match" "a bad key is named"
expect_match "$out" "^badkeys\.csv:5: will be rejected: sku: \"OK-1\" repeats the key of line 4$" \
	"a repeat counts from the first valid occurrence (line 4), not the invalid one (line 2)"
expect_no_match "$out" "badkeys\.csv:4:" "so line 4 loads"

# --- stdin, and a large file -------------------------------------------------------------
run bash -c "cat products_a.csv | '$ETL' --db '$db' check --format json -"
expect_eq "$(printf '%s' "$out" | render | grep -c '^stdin:')" "5" "stdin is checked, database included"
seq 1 200000 | awk 'BEGIN{print "sku,name,price"} {printf "S-%06d,Name %d,%d\n", $1, $1, $1 % 1000}
	END{print "S-000010,dup,1"; print "S-199999,dup,1"; print "s-000500,variant,1"}' >large.csv
etl --db "$db" check --format json large.csv
expect_eq "$(printf '%s' "$out" | render | sed -E 's/ \| .*$//' | tr '\n' ';')" \
	"database_checked True error;large.csv:200002 reject None;large.csv:200003 reject None;large.csv:200004 reject None;large.csv products 200000 0 0 0 3;total 200000 0 0 0 3;" \
	"a 200,000-row file yields exactly the three planted rejects"

finish
