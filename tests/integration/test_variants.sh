#!/usr/bin/env bash
# Case variants: an e-mail address is one user however its letters are
# cased (a variant is a duplicate, in the file and against the database,
# decided by --on-conflict); a SKU that differs from another only in letter
# case is rejected, naming the other spelling, unless --case-variants allow.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
hash='$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'
db=$(new_db variants_db)
"$ETL" --db "$db" schema >/dev/null

# --- e-mail addresses --------------------------------------------------------------
printf 'email,full_name,password_hash\nkasir1@toko.example,Kasir Satu,%s\n' "$hash" >u1.csv
etl --db "$db" load --quiet u1.csv
expect_rc 0 "the first user loads"
printf 'email,full_name,password_hash\nKASIR1@toko.example,Kasir Baru,%s\nKasir2@Toko.example,Kasir Dua,%s\nkasir2@toko.example,Kasir Dua Lagi,%s\n' \
	"$hash" "$hash" "$hash" >u2.csv
etl --db "$db" load --summary-json s.json u2.csv
expect_rc 1 "variants of e-mail addresses are duplicates: exit 1"
expect_match "$err" "u2\.csv:4: email: \"kasir2@toko\.example\" repeats the key of line 3" \
	"a variant within the file repeats the first one's key"
expect_match "$err" "u2\.csv:2: email: \"KASIR1@toko\.example\" already exists in the database" \
	"a variant of a database row is a conflict (--on-conflict error)"
expect_eq "$(json_check s.json)" "u2.csv:partial:3:1:2 1" "3 read, 1 loaded, 2 rejected"
expect_eq "$(sql variants_db "SELECT string_agg(email || '=' || full_name, ',' ORDER BY lower(email)) FROM users")" \
	"kasir1@toko.example=Kasir Satu,Kasir2@Toko.example=Kasir Dua" "no second kasir1, no second kasir2"
etl --db "$db" load --on-conflict skip --summary-json s.json u2.csv
expect_rc 1 "skip: the in-file repeat is still rejected"
expect_eq "$(sql variants_db "SELECT count(*), min(full_name) FROM users WHERE lower(email) = 'kasir1@toko.example'")" \
	"1|Kasir Satu" "skip keeps the database row"
etl --db "$db" load --on-conflict update --summary-json s.json u2.csv
expect_rc 1 "update: the in-file repeat is still rejected"
expect_eq "$(sql variants_db "SELECT string_agg(email || '=' || full_name, ',' ORDER BY lower(email)) FROM users")" \
	"kasir1@toko.example=Kasir Baru,Kasir2@Toko.example=Kasir Dua" \
	"update replaces the row's values and keeps its stored spelling"
etl --db "$db" check --on-conflict update u2.csv
expect_rc 1 "check: the in-file variant would be rejected"
expect_match "$out" "^u2\.csv:4: will be rejected: email: \"kasir2@toko\.example\" repeats the key of line 3$" "check names both lines"
expect_match "$out" "^u2\.csv \(users\): 2 unchanged, 1 rejected$" \
	"the variants the database holds with the same values would be left unchanged"
# A stored address with a space around it is the same user to the app: a
# variant, rejected in every mode (no second kasir4).
sql variants_db "INSERT INTO users (email, full_name, password_hash) VALUES (' kasir4@toko.example', 'Empat', '$hash')"
printf 'email,full_name,password_hash\nkasir4@toko.example,Empat,%s\n' "$hash" >u4.csv
for mode in error skip update; do
	etl --db "$db" load --on-conflict $mode u4.csv
	expect_rc 1 "$mode: an address stored with a leading space is met as a variant"
done
expect_match "$err" "u4\.csv:2: email: \"kasir4@toko\.example\" differs from \" kasir4@toko\.example\" in the database only in letter case or surrounding spaces" \
	"naming the stored spelling"
expect_eq "$(sql variants_db "SELECT count(*) FROM users WHERE btrim(lower(email)) = 'kasir4@toko.example'")" "1" "one kasir4"
# Through the staged path (a table with rows, a batch per row).
printf 'email,full_name,password_hash\nKASIR3@toko.example,Tiga,%s\nkasir3@TOKO.example,Tiga Lagi,%s\n' "$hash" "$hash" >u3.csv
etl --db "$db" load --batch-rows 1 u3.csv
expect_rc 1 "a variant in a later batch is still a repeat"
expect_eq "$(sql variants_db "SELECT count(*) FROM users WHERE lower(email) = 'kasir3@toko.example'")" "1" "one kasir3"

# --- SKUs ------------------------------------------------------------------------------
printf 'sku,name,price\nTEH-002,Teh Botol,4000\nKOP-001,Kopi,5000\n' >p1.csv
etl --db "$db" load --quiet p1.csv
expect_rc 0 "the products load"
printf 'sku,name,price\nteh-002,Teh Kecil,3000\nRTI-001,Roti,1000\nrti-001,Roti Lagi,1000\n  KOP-001  ,Kopi,5000\nSUS-001,Susu,7000\n' >p2.csv
etl --db "$db" load --on-conflict skip --summary-json s.json p2.csv
expect_rc 1 "case variants of SKUs are rejected by default"
expect_match "$err" "p2\.csv:2: sku: \"teh-002\" differs from \"TEH-002\" in the database only in letter case or surrounding spaces; --case-variants allow loads it" \
	"a variant of a database SKU names the database's spelling"
expect_match "$err" "p2\.csv:4: sku: \"rti-001\" differs from \"RTI-001\" of line 3 only in letter case or surrounding spaces; --case-variants allow loads it" \
	"a variant within the file names the line and spelling of the first"
expect_eq "$(json_check s.json)" "p2.csv:partial:5:2:2 1" "5 read: RTI-001 and SUS-001 loaded, KOP-001 (spaces trimmed: the same SKU) skipped, 2 rejected"
expect_eq "$(sql variants_db "SELECT string_agg(sku || '=' || name, ',' ORDER BY sku) FROM products")" \
	"KOP-001=Kopi,RTI-001=Roti,SUS-001=Susu,TEH-002=Teh Botol" "no variant was created"
expect_eq "$(cut -d, -f1 p2.csv.rejects.csv | tr '\n' ' ')" "sku teh-002 rti-001 " "the reject file holds the two variants"
etl --db "$db" load --dry-run p2.csv
expect_match "$err" "p2\.csv:2: sku: \"teh-002\" differs from \"TEH-002\" in the database" "a dry run finds them too"
etl --db "$db" load --case-variants allow --summary-json s.json p2.csv.rejects.csv
expect_rc 0 "--case-variants allow loads them"
expect_eq "$(sql variants_db "SELECT count(*) FROM products WHERE lower(sku) IN ('teh-002', 'rti-001')")" "4" \
	"both spellings exist now, as asked"
etl --db "$db" load --case-variants maybe p2.csv
expect_rc 2 "a bad --case-variants value exits 2"
expect_match "$err" "--case-variants: \"maybe\" is not reject or allow" "and says which values exist"

finish
