#!/usr/bin/env bash
# The database the app's ORM creates (SQLAlchemy create_all of its models,
# written out in tests/orm.sql as the DDL it issues): schema adopts it without changing
# a column, seed twice, a load with the rejects its catalog adds, check,
# undo, the app's forecast query; a unique key the rows prevent; a real
# price column.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1

# Every column of the app's tables with its type, nullability and default.
columns() {
	sql "$1" "SELECT string_agg(c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ' ' ORDER BY c.relname, a.attnum)
	  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	  WHERE c.relname IN ('users', 'products', 'transactions', 'events', 'stores', 'opening_hours') AND a.attnum > 0 AND NOT a.attisdropped"
}

# The app's forecast query: daily units with the holidays to predict with.
forecast() {
	sql "$1" "SELECT count(*) || ' ' || sum(y) || ' ' || sum(CASE WHEN holiday THEN 1 ELSE 0 END) FROM (
	  SELECT DATE(t.transaction_date) AS ds, SUM(t.quantity_sold) AS y,
	         bool_or(e.event_id IS NOT NULL) AS holiday
	  FROM transactions t
	  LEFT JOIN (SELECT DISTINCT DATE(event_date) AS d, min(event_id) AS event_id FROM events
	             WHERE include_in_prediction GROUP BY 1) e ON e.d = DATE(t.transaction_date)
	  GROUP BY DATE(t.transaction_date)) f"
}

# --- schema adopts it, changing no column ---------------------------------------------
db=$(new_db orm_db)
sql orm_db "$(orm_ddl)"
before=$(columns orm_db)
etl --db "$db" schema
expect_rc 0 "schema adopts the ORM-made database"
expect_match "$out" "note: products.price is double precision: accepted" "a float price is accepted, and said"
expect_match "$out" "note: transactions.price_per_unit is double precision: accepted" "so is a float price per unit"
expect_match "$out" "note: events.created_at is NOT NULL without a default: the loader fills it with the load's timestamp" \
	"an audit column without a default is filled by the loader"
expect_match "$out" "note: products.stock is NOT NULL without a default: the loader sends 0 when a file has no stock column" \
	"a NOT NULL column with the guide's default gets that value from the loader"
expect_match "$out" "note: products.category is NOT NULL without a default: an empty or missing category is rejected" \
	"a NOT NULL column the guide lets be empty rejects empty values"
expect_match "$out" "created unique index events_event_name_event_date_key on events\(event_name,event_date\)" \
	"the unique key --on-conflict needs is added as an index"
expect_match "$out" "idx_products_sku: present as products_sku_key" "the ORM's unique sku counts"
expect_eq "$(columns orm_db)" "$before" "no column of the app's tables changed (types, NOT NULL, defaults)"
expect_eq "$(sql orm_db "SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indisunique AND c.relname = 'events_event_name_event_date_key'")" "1" \
	"events has its unique key"
etl --db "$db" schema
expect_rc 0 "a second schema run exits 0"
expect_match "$out" "schema is up to date: [0-9]+ objects checked, nothing created" "and changes nothing"

# --- seed, twice ----------------------------------------------------------------------
# As of a fixed day, so that the two databases below hold the same sales.
run env -u SIPREMS_ADMIN_PASSWORD "$ETL" --db "$db" seed --as-of 2025-12-31
expect_rc 0 "seed on the ORM-made database exits 0"
expect_match "$err" "transactions was empty: loaded with one COPY" "the sales take the empty-table path"
expect_eq "$(sql orm_db "SELECT (SELECT count(*) FROM products) || ' ' || (SELECT count(*) FROM users) || ' ' || (SELECT count(*) >= 100000 FROM transactions) || ' ' || (SELECT count(*) > 300 FROM events)")" \
	"40 4 true true" "40 products, 3 staff and the admin, the sales and the events are in"
expect_eq "$(sql orm_db "SELECT (SELECT count(*) FROM products WHERE created_at IS NULL) + (SELECT count(*) FROM users WHERE created_at IS NULL OR updated_at IS NULL) + (SELECT count(*) FROM events WHERE created_at IS NULL)")" \
	"0" "every audit column holds the load's timestamp"
expect_eq "$(sql orm_db "SELECT count(*) FROM products WHERE created_at BETWEEN LOCALTIMESTAMP - interval '10 minutes' AND LOCALTIMESTAMP")" \
	"40" "as the wall clock of the load's time zone (the database's)"
# The floats hold the file's decimals: the same money as a seed of the guide's schema.
ref=$(new_db orm_ref)
run env -u SIPREMS_ADMIN_PASSWORD "$ETL" --db "$ref" --quiet seed --as-of 2025-12-31
money="SELECT count(*) || ' ' || sum(round(price_per_unit::numeric, 2) * quantity_sold) || ' ' || count(*) FILTER (WHERE price_per_unit::numeric <> round(price_per_unit::numeric, 2)) FROM transactions"
expect_eq "$(sql orm_db "$money")" "$(sql orm_ref "$money")" "the float prices hold the same cents as NUMERIC would"
expect_eq "$(sql orm_db "SELECT count(*) FROM events WHERE event_date <> date_trunc('day', event_date)")" "0" \
	"event dates are midnights in the timestamp column"
expect_eq "$(sql orm_db "SELECT string_agg(DISTINCT type, ',' ORDER BY type) FROM events")" "custom,holiday,promotion,seasonal" \
	"the event type is stored as the guide's labels"
sum1=$(sql orm_db "SELECT md5(string_agg(t::text, ',' ORDER BY transaction_id)) FROM transactions t")
run env -u SIPREMS_ADMIN_PASSWORD "$ETL" --db "$db" seed --as-of 2025-12-31
expect_rc 0 "a second seed exits 0"
expect_eq "$(sql orm_db "SELECT md5(string_agg(t::text, ',' ORDER BY transaction_id)) FROM transactions t")" "$sum1" "and changes no sale"
expect_eq "$(sql orm_db "SELECT (SELECT count(*) FROM products) || ' ' || (SELECT count(*) FROM users)")" "40 4" "nor adds products or users"

# --- a load with the rejects this catalog adds (the batched path) ----------------------
long=$(printf 'L%.0s' $(seq 1 60))
cat >more_products.csv <<EOF
sku,name,category,price
$long,Too long a SKU,Roti,1000
KOPI-1,Kopi Susu,,15000
KOPI-2,Kopi Hitam,Minuman,12000.50
EOF
etl --db "$db" load --summary-json p.json more_products.csv
expect_rc 1 "a load with rejects exits 1"
expect_match "$(json_counts p.json)" "more_products.csv:partial:3:1:0:0:2" "one loaded, two rejected"
expect_eq "$(sed -n '2p;3p' more_products.csv.rejects.csv | cut -d, -f1 | tr '\n' ' ')" "$long KOPI-1 " "the reject file holds both rows"
rej=$err
expect_match "$rej" "more_products.csv:2: sku: \"L+\" is longer than 50 characters, the limit of products.sku" "the SKU reject names the limit 50"
expect_match "$rej" "more_products.csv:3: category: is empty, but products.category is NOT NULL" "the empty category reject names the column"
expect_eq "$(sql orm_db "SELECT price || ' ' || stock || ' ' || (created_at IS NOT NULL) FROM products WHERE sku = 'KOPI-2'")" "12000.5 0 true" \
	"the loaded row: float price, stock 0 sent for the missing column, created_at filled"
cat >more_sales.csv <<EOF
sku,quantity_sold,transaction_date
KOPI-2,3,2025-12-30 09:15:00
KOPI-2,1,2025-12-30 10:00:00
EOF
etl --db "$db" load --summary-json s.json more_sales.csv
expect_rc 0 "sales without an is_promo column load"
expect_eq "$(sql orm_db "SELECT string_agg(price_per_unit || ':' || is_promo, ' ') FROM transactions t JOIN products p USING (product_id) WHERE p.sku = 'KOPI-2'")" \
	"12000.5:false 12000.5:false" "they take the product's price and is_promo false"
cat >more_events.csv <<EOF
event_name,event_date,type
Promo Kopi,2025-12-30,promotion
EOF
etl --db "$db" load --on-conflict update more_events.csv
expect_rc 0 "an event without include_in_prediction loads"
expect_eq "$(sql orm_db "SELECT event_date || ' ' || type || ' ' || include_in_prediction || ' ' || (created_at IS NOT NULL) FROM events WHERE event_name = 'Promo Kopi'")" \
	"2025-12-30 00:00:00 promotion true true" "with the default true and its created_at"

# --- check, the forecast query, undo ------------------------------------------------
etl --db "$db" check --on-conflict update "$ROOT/data/products.csv.gz" more_events.csv
expect_rc 0 "check reads the ORM-made tables"
expect_no_match "$out" "will update" "float prices and timestamp dates equal to the files show no difference"
expect_match "$out" "^more_events\.csv \(events\): 1 unchanged$" \
	"the event's timestamp date matches the file's date: it would be left unchanged"
expect_match "$out" "products\.csv\.gz \(products\): 40 unchanged$" "so would the seeded products"
f=$(forecast orm_db)
expect_match "$f" "^[0-9]{3,} [0-9]+ [0-9]+$" "the app's forecast query runs"
expect_eq "$(echo "$f" | cut -d' ' -f2)" "$(sql orm_db "SELECT sum(quantity_sold) FROM transactions")" "and sees every unit sold"
expect_eq "$(( $(echo "$f" | cut -d' ' -f3) > 5 ))" "1" "with the holidays marked for prediction"
id=$(sql orm_db "SELECT load_id FROM etl_loads WHERE file_name LIKE '%more_sales.csv' ORDER BY load_id DESC LIMIT 1")
etl --db "$db" undo --yes "$id"
expect_rc 0 "undo works on the ORM-made tables"
expect_eq "$(sql orm_db "SELECT count(*) FROM transactions t JOIN products p USING (product_id) WHERE p.sku = 'KOPI-2'")" "0" "the two sales are gone"

# --- a unique key the rows prevent ----------------------------------------------------
db=$(new_db orm_dup)
sql orm_dup "$(orm_ddl)"
sql orm_dup "INSERT INTO events (event_name, event_date, type, include_in_prediction, created_at) VALUES
  ('Nyepi', '2024-03-11', 'holiday', true, now()), ('Nyepi', '2024-03-11', 'holiday', true, now()),
  ('Imlek', '2024-02-10', 'holiday', true, now())"
before=$(columns orm_dup)
etl --db "$db" schema
expect_rc 4 "a unique key the rows prevent exits 4"
expect_match "$err" "could not create unique index on events \(event_name, event_date\), the key --on-conflict needs: 1 key repeats in its rows: \"Nyepi\+2024-03-11 00:00:00\" \(2 rows\)" \
	"it names the key that repeats and how often"
expect_eq "$(sql orm_dup "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'idx\_%' AND indexname NOT IN ('idx_category_stock', 'idx_product_date', 'idx_transaction_date', 'idx_type_date', 'idx_include_prediction')") $(sql orm_dup "SELECT to_regclass('etl_loads') IS NULL")" \
	"0 t" "nothing was changed: no index, no table of its own"
expect_eq "$(columns orm_dup)" "$before" "no column either"

# --- a real price column takes only what it holds to the cent --------------------------
db=$(new_db orm_real)
sql orm_real "$(orm_ddl | sed 's/price FLOAT NOT NULL/price REAL NOT NULL/')"
cat >real.csv <<EOF
sku,name,category,price
R-1,Roti,Roti,12.34
R-2,Kue,Roti,99999999.99
EOF
etl --db "$db" load real.csv
expect_rc 1 "a price real cannot hold exits 1"
expect_match "$err" "real.csv:3: price: \"99999999.99\" cannot be stored to the cent in products.price \(real\)" \
	"the reject says the column cannot hold it"
expect_eq "$(sql orm_real "SELECT price FROM products WHERE sku = 'R-1'")" "12.34" "12.34 is stored as the real nearest to it"

finish
