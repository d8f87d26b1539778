#!/usr/bin/env bash
# Names from the catalog reach SQL only quoted: whoever may rename an
# object of the app's tables (its owner, not necessarily the loader's role)
# gives every sequence, index, constraint, type and an extra column a name
# with quotes, a ';', 63 bytes or non-ASCII letters, each of which would run
# SQL if pasted; then schema, load on the fast and the batched path, check,
# history, undo and seed run against them.  Nothing of the names runs (a
# table "pwned" would say so), and every command does what it should.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1

# hostile DB: renames the app's objects of database DB.
hostile() {
	sql "$1" "ALTER SEQUENCE products_product_id_seq RENAME TO \"seq'); CREATE TABLE pwned(); --\";
  ALTER SEQUENCE transactions_transaction_id_seq RENAME TO \"s\"\"q\"\"; CREATE TABLE pwned(); --\";
  ALTER SEQUENCE events_event_id_seq RENAME TO \"ééééééééééééééééééééééééééééééé\";
  ALTER SEQUENCE users_user_id_seq RENAME TO \"$(printf 'u%.0s' $(seq 1 63))\";
  ALTER INDEX idx_transaction_date RENAME TO \"i'; DROP TABLE products; --\";
  ALTER INDEX idx_product_id RENAME TO \"$(printf 'x%.0s' $(seq 1 60))é\";
  ALTER INDEX idx_products_category RENAME TO \"c\"\"; CREATE TABLE pwned(); --\";
  ALTER TABLE transactions RENAME CONSTRAINT transactions_product_id_fkey TO \"fk'); CREATE TABLE pwned(); --\";
  ALTER TABLE events RENAME CONSTRAINT events_event_name_event_date_key TO \"uq\"\"; CREATE TABLE pwned(); --\";
  ALTER TABLE products ADD COLUMN \"col'); CREATE TABLE pwned(); --\" text;
  ALTER TABLE transactions ADD COLUMN \"note\"\"; --\" text;
  ALTER TYPE event_type RENAME TO \"t'); CREATE TABLE pwned(); --\""
}
pwned() { sql "$1" "SELECT count(*) FROM pg_class WHERE relname = 'pwned'"; }

"$ETL" generate --out gen --products 12 --days 20 --seed 3 >/dev/null 2>&1
db=$(new_db hostile_db)
"$ETL" --db "$db" schema >/dev/null
hostile hostile_db

etl --db "$db" schema
expect_rc 0 "schema runs against hostile names"
etl --db "$db" load gen/users.csv.gz gen/products.csv.gz gen/events.csv.gz gen/sales.csv.gz
expect_rc 0 "a load into the empty tables (the fast path: indexes and constraints dropped and rebuilt by name)"
expect_eq "$(sql hostile_db "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'i''; DROP%' OR indexname LIKE 'c\"; CREATE%'")" 2 \
	"the indexes are back under their names"
expect_eq "$(sql hostile_db "SELECT count(*) FROM pg_constraint WHERE conname LIKE 'fk''); CREATE%' OR conname LIKE 'uq\"; CREATE%'")" 2 \
	"and the constraints"
printf 'sku,quantity_sold,transaction_date\n%s,1,2024-02-01\n' "$(gzip -dc gen/products.csv.gz | sed -n 2p | cut -d, -f1)" >more.csv
etl --db "$db" load --batch-rows 1 more.csv
expect_rc 0 "a load into a table with rows (the batched path)"
printf 'sku,name,price\nHST-1,Hostile,1\n' >p.csv
etl --db "$db" load --on-conflict update p.csv
expect_rc 0 "a products load past the renamed sequence"
etl --db "$db" check --on-conflict update gen/products.csv.gz p.csv
expect_rc 0 "check reads them"
etl --db "$db" history --limit 10
expect_rc 0 "history"
id=$(sql hostile_db "SELECT max(load_id) FROM etl_loads")
etl --db "$db" undo "$id" --yes
expect_rc 0 "undo"
expect_eq "$(sql hostile_db "SELECT count(*) FROM products WHERE sku = 'HST-1'")" 0 "which takes the row back out"
expect_eq "$(pwned hostile_db)" 0 "no name ran as SQL"
expect_eq "$(sql hostile_db "SELECT count(*) > 0 FROM products")" t "and the tables are whole"

db2=$(new_db hostile_seed)
"$ETL" --db "$db2" schema >/dev/null
hostile hostile_seed
etl --db "$db2" seed --as-of 2025-12-31
expect_rc 0 "seed runs against hostile names"
expect_eq "$(pwned hostile_seed)" 0 "no name ran as SQL there either"

finish
