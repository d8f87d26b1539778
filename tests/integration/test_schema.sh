#!/usr/bin/env bash
# `siprems-etl schema` against the real server: a fresh database, a second
# run, an app-made database, an incompatible table, --dry-run, permissions.
. "$(dirname "$0")/../lib.sh"

guide_indexes="idx_events_date idx_events_type idx_product_id idx_products_category idx_products_sku \
idx_transaction_date idx_transactions_date_range idx_transactions_is_promo \
idx_transactions_product_date idx_transactions_quantity_date idx_users_created_at idx_users_email"

# --- a fresh database gets everything -------------------------------------
db=$(new_db schema_fresh)
etl --db "$db" schema
expect_rc 0 "schema on a fresh database exits 0"
expect_match "$out" "created table products" "it reports the tables it created"
expect_eq "$(sql schema_fresh "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('users','products','transactions','events')")" \
	"events products transactions users" "the four tables exist"
expect_eq "$(sql schema_fresh "SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = 'event_type'")" \
	"holiday,promotion,seasonal,custom" "the event_type enum has the guide's values"
expect_eq "$(sql schema_fresh "SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'idx%'")" \
	"$guide_indexes" "every index the guide names exists"
expect_eq "$(sql schema_fresh "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_transactions_date_range'")" \
	"CREATE INDEX idx_transactions_date_range ON public.transactions USING btree (transaction_date DESC)" \
	"the date-range index is descending"
expect_eq "$(sql schema_fresh "SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indisunique AND c.relname IN ('idx_products_sku','idx_users_email','events_event_name_event_date_key')")" \
	"3" "sku, email and event_name+event_date are unique"
expect_eq "$(sql schema_fresh "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'transactions_product_id_fkey'")" \
	"FOREIGN KEY (product_id) REFERENCES products(product_id) ON DELETE RESTRICT" \
	"transactions.product_id references products with RESTRICT"
expect_eq "$(sql schema_fresh "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'products'::regclass AND attname = 'price'")" \
	"numeric(10,2)" "price is NUMERIC(10,2)"
applied=$(sql schema_fresh "SELECT count(*) FROM etl_schema_log")
expect_eq "$applied" "$(printf '%s\n' "$out" | grep -cE '^created')" "every applied change is recorded in etl_schema_log"

# --- a second run changes nothing -------------------------------------------
etl --db "$db" schema
expect_rc 0 "a second run exits 0"
expect_match "$out" "^schema is up to date: [0-9]+ objects checked, nothing created$" "a second run says nothing was created"
expect_eq "$(sql schema_fresh "SELECT count(*) FROM etl_schema_log")" "$applied" "a second run records nothing"
expect_eq "$(sql schema_fresh "INSERT INTO products (name, price, sku) VALUES ('x', 1, 'X-1') RETURNING product_id")" "1" \
	"an INSERT without an id works"

# --- --dry-run prints SQL and changes nothing --------------------------------
db=$(new_db schema_dry)
etl --db "$db" schema --dry-run
expect_rc 0 "schema --dry-run exits 0"
expect_match "$out" "^CREATE TABLE products \(" "--dry-run prints the CREATE TABLE statements"
expect_match "$out" "^CREATE INDEX idx_transactions_date_range ON transactions \(transaction_date DESC\);" "--dry-run prints the index statements"
expect_match "$err" "would create table users" "--dry-run says what it would do on stderr"
expect_eq "$(sql schema_dry "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" "0" "--dry-run creates nothing"
printf '%s\n' "$out" | psql -X -q -v ON_ERROR_STOP=1 -d schema_dry >/dev/null 2>&1
expect_eq "$?" "0" "the --dry-run output is valid SQL that psql runs"
etl --db "$db" schema
expect_match "$out" "nothing created" "after applying the dry-run SQL, schema finds nothing to do"

# --- an app-made database: TIMESTAMPTZ, other index names, missing indexes ---
db=$(new_db schema_app)
sql schema_app "
CREATE TYPE eventtype AS ENUM ('HOLIDAY', 'PROMOTION', 'SEASONAL', 'CUSTOM');
CREATE TABLE users (user_id SERIAL PRIMARY KEY, email VARCHAR(255) NOT NULL, full_name VARCHAR(255) NOT NULL,
  password_hash VARCHAR(255) NOT NULL, is_active BOOLEAN, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE UNIQUE INDEX ix_users_email ON users (email);
CREATE TABLE products (product_id SERIAL PRIMARY KEY, name VARCHAR(255) NOT NULL, category VARCHAR(100),
  variation VARCHAR(100), price NUMERIC(10,2) NOT NULL, stock INTEGER NOT NULL, sku VARCHAR(100) NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL);
CREATE INDEX ix_products_sku ON products (sku);
CREATE TABLE transactions (transaction_id SERIAL PRIMARY KEY,
  product_id INTEGER NOT NULL REFERENCES products (product_id), quantity_sold INTEGER NOT NULL,
  price_per_unit NUMERIC(10,2) NOT NULL, transaction_date TIMESTAMPTZ NOT NULL DEFAULT now(), is_promo BOOLEAN);
CREATE INDEX ix_transactions_transaction_date ON transactions (transaction_date);
CREATE TABLE events (event_id SERIAL PRIMARY KEY, event_name VARCHAR(255) NOT NULL, event_date DATE NOT NULL,
  type eventtype NOT NULL, description TEXT, include_in_prediction BOOLEAN, UNIQUE (event_name, event_date));
INSERT INTO products (product_id, name, price, stock, sku, created_at)
  VALUES (1, 'Roti', 5000, 1, 'BRD-001', now()), (6, 'Susu', 9000, 1, 'MLK-001', now());"
before=$(sql schema_app "SELECT string_agg(c.relname || ':' || c.relfilenode, ' ' ORDER BY c.relname) FROM pg_class c WHERE c.relname IN ('users','products','transactions','events')")
etl --db "$db" schema
expect_rc 0 "schema on an app-made database exits 0"
expect_match "$out" "idx_products_sku: present as products_sku_key" "the app's unique constraint counts as the sku index"
expect_match "$out" "idx_users_email: present as ix_users_email" "the app's email index counts"
expect_match "$out" "idx_transaction_date: present as ix_transactions_transaction_date" "an equivalent index under another name counts"
expect_match "$out" "created index idx_transactions_is_promo" "a missing index is created"
expect_no_match "$out" "created table (users|products|transactions|events)" "no table is created over an existing one"
expect_eq "$(sql schema_app "SELECT count(*) FROM pg_indexes WHERE tablename = 'products' AND indexdef LIKE '%(sku)%'")" "2" \
	"no third index on sku is added"
expect_eq "$(sql schema_app "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'transactions'::regclass AND attname = 'transaction_date'")" \
	"timestamp with time zone" "TIMESTAMPTZ columns are left as they are"
expect_eq "$(sql schema_app "SELECT string_agg(c.relname || ':' || c.relfilenode, ' ' ORDER BY c.relname) FROM pg_class c WHERE c.relname IN ('users','products','transactions','events')")" \
	"$before" "no existing table is rewritten"
expect_eq "$(sql schema_app "SELECT count(*) FROM products")" "2" "existing rows are kept"
expect_match "$out" "moved sequence public.products_product_id_seq past the largest product_id \(6\)" \
	"a sequence left behind by explicit ids is moved past them"
# The app's columns stay as they are: no default is added to stock or
# created_at (the loader sends their values), so an INSERT gives them.
expect_eq "$(sql schema_app "SELECT count(*) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = 'products'::regclass AND a.attname IN ('stock', 'created_at')")" "0" \
	"no default is added to the app's columns"
expect_match "$out" "note: products.stock is NOT NULL without a default: the loader sends 0 when a file has no stock column" \
	"what the loader does instead is said"
expect_eq "$(sql schema_app "INSERT INTO products (name, price, sku, stock, created_at) VALUES ('Teh', 1, 'TEA-001', 0, now()) RETURNING product_id")" "7" \
	"afterwards an INSERT without an id works"
etl --db "$db" schema
expect_match "$out" "nothing created" "a second run on the app database creates nothing"

# --- an incompatible table ----------------------------------------------------
db=$(new_db schema_bad)
sql schema_bad "CREATE TABLE products (product_id SERIAL PRIMARY KEY, name TEXT NOT NULL, price TEXT NOT NULL,
  supplier TEXT NOT NULL)"
etl --db "$db" schema
expect_rc 4 "an incompatible table exits 4"
expect_match "$err" "^siprems-etl: table products is incompatible: .*column sku is missing" "the message names the table and the missing column"
expect_match "$err" "column price has type text, expected numeric" "the message names a column of the wrong type"
expect_match "$err" "column supplier is NOT NULL without a default" "the message names a column it cannot fill"
expect_eq "$(sql schema_bad "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" "1" "nothing is created when a table is incompatible"

# --- duplicates block a missing unique index -----------------------------------
db=$(new_db schema_dup)
sql schema_dup "CREATE TABLE products (product_id SERIAL PRIMARY KEY, name VARCHAR(255) NOT NULL,
  price NUMERIC(10,2) NOT NULL, sku VARCHAR(100) NOT NULL); INSERT INTO products (name, price, sku) VALUES ('a', 1, 'A'), ('b', 2, 'A')"
etl --db "$db" schema
expect_rc 4 "a unique index that duplicates prevent exits 4"
expect_match "$err" "cannot create idx_products_sku: could not create unique index" "the message says which index and why"

# --- a role that may not create anything --------------------------------------
db=$(new_db schema_ro)
etl --db "$db" schema
sql schema_ro "DROP ROLE IF EXISTS etl_reader; CREATE ROLE etl_reader LOGIN PASSWORD 'reader-pw';
  GRANT SELECT ON ALL TABLES IN SCHEMA public TO etl_reader; REVOKE CREATE ON SCHEMA public FROM PUBLIC"
etl --db "host=127.0.0.1 port=$PGPORT dbname=schema_ro user=etl_reader password=reader-pw" schema
expect_rc 0 "on a complete schema, a role without CREATE runs schema"
sql schema_ro "DROP INDEX idx_events_type"
etl --db "host=127.0.0.1 port=$PGPORT dbname=schema_ro user=etl_reader password=reader-pw" schema
expect_rc 4 "a change the role may not make exits 4"
expect_match "$err" "cannot create idx_events_type: must be owner of table events" "the message names the object and the server's reason"

# --- an installed binary needs nothing from the source tree --------------------
stage="$T_TMP/stage"
# shellcheck disable=SC2086
run make -C "$ROOT" --no-print-directory install PREFIX=/opt/etl DESTDIR="$stage" ${ETL_MAKE_ARGS:-}
expect_rc 0 "make install with PREFIX and DESTDIR succeeds"
expect_eq "$(stat -c %a "$stage/opt/etl/bin/siprems-etl" 2>/dev/null)" "755" "the binary is installed under DESTDIR/PREFIX/bin"
mkdir -p "$T_TMP/elsewhere"
cp "$stage/opt/etl/bin/siprems-etl" "$T_TMP/elsewhere/"
db=$(new_db schema_installed)
run bash -c "cd / && '$T_TMP/elsewhere/siprems-etl' --db '$db' schema"
expect_rc 0 "the installed binary, run away from the source tree, creates the schema"
expect_eq "$(sql schema_installed "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'idx%'")" \
	"12" "the installed binary creates every index"

# A sequence named by whoever may rename it: its name
# reaches SQL as a parameter or a literal, never as text of the statement.
db_seq=$(new_db schema_seqname)
"$ETL" --db "$db_seq" schema >/dev/null 2>&1
sql schema_seqname "ALTER SEQUENCE products_product_id_seq RENAME TO \"p'); CREATE TABLE pwned (); --\"" >/dev/null
sql schema_seqname "INSERT INTO products (product_id, sku, name, price) VALUES (41, 'SEQ-1', 'Seq', 1)" >/dev/null
etl --db "$db_seq" schema
expect_rc 0 "schema with a hostile sequence name exits 0"
expect_eq "$(sql schema_seqname "SELECT to_regclass('pwned') IS NULL")" "t" "no statement hidden in the name ran"
expect_eq "$(sql schema_seqname "INSERT INTO products (sku, name, price) VALUES ('SEQ-2', 'Seq', 1) RETURNING product_id")" "42" \
	"the sequence itself was moved past the largest id"

finish
