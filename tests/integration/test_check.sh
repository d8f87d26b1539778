#!/usr/bin/env bash
# `check`: planted duplicates of every type, against the real database,
# with exact findings and lines; text, csv and json; a role that may only
# SELECT; no database; exit codes; a large file.
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

# One line per finding: kind type value places | detail
render() {
	python3 -c '
import json, sys
keys = {"products": "sku", "users": "email", "events": "event_name+event_date", "sales": "sku"}
d = json.load(sys.stdin)
print("database_checked", d["database_checked"])
for f in d["findings"]:
    assert f["key"] == keys[f["kind"]], f
    places = ",".join("%s:%d" % (o["file"], o["line"]) for o in f["occurrences"])
    print(f["kind"], f["type"], repr(f["value"]), places, "|", f["detail"])
'
}

etl --db "$db" check --format json "${files[@]}"
expect_rc 1 "findings make check exit 1"
expect_eq "$(printf '%s' "$out" | render)" "database_checked True
users in_file 'kasir@toko.id' users.csv:3,users.csv:4 | None
users database 'admin@toko.id' users.csv:2 | full_name: \"Admin Toko\" in the file, \"Admin\" in the database
products in_file 'SNK-001' products_a.csv:4,products_a.csv:6 | None
products cross_file 'SNK-001' products_a.csv:4,products_a.csv:6,products_b.csv:2 | None
products database 'MLK-001' products_a.csv:3 | name: \"Susu Segar\" in the file, \"Susu\" in the database; category: \"Minuman\" in the file, NULL in the database; stock: 5 in the file, 0 in the database
products case_variant 'tea-001' products_a.csv:7 | differs only in letter case or surrounding spaces from \"TEA-001\" in the database
products case_variant 'cak-001' products_a.csv:8,products_a.csv:5 | differs only in letter case or surrounding spaces from \"CAK-001\" (products_a.csv:5)
events case_variant ' idul fitri+2024-04-10' events.csv:4,events.csv:3 | differs only in letter case or surrounding spaces from \"Idul Fitri+2024-04-10\" (events.csv:3)
sales unknown_sku 'GHOST-1' sales.csv:4,sales.csv:5 | 2 rows; no product in the database or the run's products files has this SKU
sales unknown_sku 'GHOST-2' sales.csv:6 | 1 row; no product in the database or the run's products files has this SKU" \
	"the JSON holds exactly the planted findings, grouped by kind and type, with their lines"

etl --db "$db" check "${files[@]}"
expect_rc 1 "the text report exits 1 too"
expect_match "$out" "^products \(sku\): 6 distinct keys, 5 findings; 1 already present, identical$" \
	"the text report groups by kind with counts; a row equal to the database's is counted, not a finding"
expect_match "$out" "^  database      \"MLK-001\"  products_a\.csv:3 — name: \"Susu Segar\" in the file, \"Susu\" in the database" \
	"the text report shows which values differ"
expect_match "$out" "^total: 10 findings \(2 in_file, 1 cross_file, 2 database, 3 case_variant, 2 unknown_sku\); 2 rows already present, identical$" \
	"the text report ends with totals per type"
etl --db "$db" check --format csv "${files[@]}"
expect_eq "$(printf '%s\n' "$out" | head -n 1)" "kind,key,value,type,file,line,detail" "csv has a header"
expect_eq "$(printf '%s\n' "$out" | grep -c '^products,sku,SNK-001,cross_file,')" "3" "csv has one line per occurrence"
expect_eq "$(printf '%s\n' "$out" | python3 -c 'import csv, sys; rows = list(csv.reader(sys.stdin)); print(len(rows), set(len(r) for r in rows))')" \
	"18 {7}" "csv parses with 7 columns on every line"

# --- clean files exit 0 ------------------------------------------------------------
printf 'sku,name,price\nNEW-001,Baru,1\nNEW-002,Baru 2,2\n' >clean.csv
etl --db "$db" check clean.csv
expect_rc 0 "a clean file exits 0"
expect_match "$out" "^total: 0 findings$" "and says there is nothing"
head -n 2 products_a.csv >unchanged.csv
etl --db "$db" check unchanged.csv
expect_rc 0 "a file whose rows the database holds unchanged exits 0"
expect_match "$out" "^products \(sku\): 1 distinct key, 0 findings; 1 already present, identical$" "it counts them"
expect_match "$out" "^total: 0 findings; 1 row already present, identical$" "and says nothing conflicts"
etl --db "$db" check --format json unchanged.csv
expect_match "$out" "\"identical\": \{\"products\": 1\}, \"findings\": \[\]" "the JSON counts them too"

# --- a role that may only SELECT, and nothing written ---------------------------------
sql check_db "DROP ROLE IF EXISTS etl_select; CREATE ROLE etl_select LOGIN PASSWORD 'select-pw';
  GRANT SELECT ON ALL TABLES IN SCHEMA public TO etl_select; REVOKE TEMP ON DATABASE check_db FROM PUBLIC"
# (The whole output, then its first line: a pipe into head could end psql
# with SIGPIPE, which sql now counts as a failure.)
before=$(sql check_db "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables; SELECT pg_stat_clear_snapshot()")
before=${before%%$'\n'*}
etl --db "host=127.0.0.1 port=$PGPORT dbname=check_db user=etl_select password=select-pw" check --format json "${files[@]}"
expect_rc 1 "a role that may only SELECT runs check"
expect_eq "$(printf '%s' "$out" | render | wc -l)" "11" "and gets the same findings"
sleep 0.6 # statistics reach pg_stat_user_tables with a little delay
expect_eq "$(sql check_db "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables")" "$before" \
	"check wrote nothing to any table"

# --- no database: it says so, and still reports the files -----------------------------
etl --db "host=/nonexistent dbname=none" check --format json "${files[@]}"
expect_rc 1 "without a database the in-file findings still exit 1"
expect_match "$err" "no database reachable \(.*\): only duplicates within and across the files were checked" \
	"it says plainly that no database was reachable"
expect_eq "$(printf '%s' "$out" | render | sed -E 's/ [^ ]+ \| .*$//' | tr '\n' ';')" \
	"database_checked False;users in_file 'kasir@toko.id';products in_file 'SNK-001';products cross_file 'SNK-001';products case_variant 'cak-001';events case_variant ' idul fitri+2024-04-10';" \
	"and reports what the files alone show"
etl --db "host=/nonexistent dbname=none" check "${files[@]}"
expect_eq "$(printf '%s\n%s\n' "$out" "$err" | grep -c "no database reachable")" "1" "the text report says it once"

# --- input errors, usage errors ---------------------------------------------------------
printf 'sku,qty\nA,1\n' >nokind.csv
etl --db "$db" check nokind.csv products_b.csv
expect_rc 3 "a file whose kind cannot be told exits 3"
expect_match "$err" "nokind\.csv:1: cannot tell the kind" "and names it"
expect_match "$out" "products \(sku\): 1 distinct key" "the other files are still checked"
etl --db "$db" check --format xml products_b.csv
expect_rc 2 "an unknown --format exits 2"
printf 'sku,name,price\nOK-1,A,1\nBAD SKU,B,1\nOK-1,C,x\n' >badkeys.csv
etl --db "$db" check badkeys.csv
expect_rc 1 "a row with a bad value but a good key still counts for duplicates"
expect_match "$out" "in_file       \"OK-1\"  badkeys\.csv:2, badkeys\.csv:4" "the duplicate key is found despite the bad price"
expect_match "$err" "badkeys\.csv: 1 row without a valid key left out \(the first, line 3: sku: \"BAD SKU\" does not match" \
	"rows without a valid key are named"

# --- stdin, and a large file -------------------------------------------------------------
run bash -c "cat products_a.csv | '$ETL' --db '$db' check --format json -"
expect_eq "$(printf '%s' "$out" | render | grep -c 'stdin:')" "4" "stdin is checked, database comparison included"
expect_match "$out" "\"identical\": \{\"products\": 1\}" "(its unchanged row counted as identical)"
seq 1 200000 | awk 'BEGIN{print "sku,name,price"} {printf "S-%06d,Name %d,%d\n", $1, $1, $1 % 1000}
	END{print "S-000010,dup,1"; print "S-199999,dup,1"; print "s-000500,variant,1"}' >large.csv
etl --db "$db" check --format json large.csv
expect_eq "$(printf '%s' "$out" | render | sed -E 's/ \| .*$//' | tr '\n' ';')" \
	"database_checked True;products in_file 'S-000010' large.csv:11,large.csv:200002;products in_file 'S-199999' large.csv:200000,large.csv:200003;products case_variant 's-000500' large.csv:200004,large.csv:501;" \
	"a 200,000-row file yields exactly the three planted findings"

finish
