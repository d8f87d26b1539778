#!/usr/bin/env bash
# `generate` and `seed`: determinism, the bundled data set, what the data
# looks like, seeding twice, --reset, --data, the admin user, `make seed`
# from a fresh copy of the tree.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1

# --- generate: byte-identical for a seed, the bundled set reproducible --------------
etl generate --out g1 --products 25 --days 120 --seed 9
expect_rc 0 "generate exits 0"
expect_match "$err" "^generate: 25 products, [0-9]+ sales rows, [0-9]+ events, 3 users in g1" "generate says what it wrote"
etl generate --out g2 --products 25 --days 120 --seed 9
same=yes
for f in products sales events users; do cmp -s "g1/$f.csv.gz" "g2/$f.csv.gz" || same="no ($f)"; done
expect_eq "$same" "yes" "the same seed writes byte-identical files"
etl generate --out g3 --products 25 --days 120 --seed 10
expect_eq "$(cmp -s g1/sales.csv.gz g3/sales.csv.gz && echo same || echo different)" "different" "another seed writes other sales"
etl generate --out bundled
same=yes
for f in "$ROOT"/data/*.csv.gz; do cmp -s "$f" "bundled/$(basename "$f")" || same="no ($(basename "$f"))"; done
expect_eq "$same" "yes" "data/ is exactly what 'siprems-etl generate --out data' writes"
etl --db "host=/nonexistent dbname=none" load --dry-run --summary-json gen.json g1/*.csv.gz
expect_rc 0 "every generated row passes validation"
etl generate --out future --end 2027-03-31 --days 30
expect_match "$err" "the moving holidays of 2027 are not known to this version" "years without official dates are said, not guessed"
expect_match "$err" "the moving holidays of 2028 are not known" "the year after too"
expect_eq "$(zcat future/events.csv.gz | grep ',2027-' | grep ',holiday,' | cut -d, -f1 | sort | tr '\n' ';')" \
	"Hari Buruh Internasional;Hari Kemerdekaan Republik Indonesia;Hari Lahir Pancasila;Hari Raya Natal;Tahun Baru Masehi;" \
	"for such a year only the fixed-date holidays are written"
etl generate --products 3
expect_rc 2 "generate without --out exits 2"
etl generate --out x --days 0
expect_rc 2 "generate --days 0 exits 2"
etl generate --out x --end 2025-02-30
expect_rc 2 "an impossible --end exits 2"

# --- seed a new database -------------------------------------------------------------
db=$(new_db seed_db)
run env -u SIPREMS_ADMIN_PASSWORD "$ETL" --db "$db" seed
expect_rc 0 "seed exits 0"
expect_match "$err" "builtin:sales\.csv\.gz +sales +loaded +1[0-9]{5} " "the bundled sales load"
expect_eq "$(sql seed_db "SELECT (SELECT count(*) FROM products) || ' ' || (SELECT count(*) FROM users) || ' ' || (SELECT count(*) >= 100000 FROM transactions) || ' ' || (SELECT count(*) > 300 FROM events)")" \
	"40 4 true true" "40 products, 3 staff and the admin, the sales and the events are in"
password=$(printf '%s\n' "$out" | sed -n 's/^seed: created the admin user admin@siprems\.local with the password \([A-Za-z0-9]*\)$/\1/p')
expect_match "$password" "^[A-Za-z0-9]{16}$" "a generated admin password is printed once"
expect_match "$out" "shown only this once" "and the output says so"
hash=$(sql seed_db "SELECT password_hash FROM users WHERE email = 'admin@siprems.local'")
expect_eq "$(python3 -c '
import hashlib, sys
m, salt, hexd = sys.argv[1].split("$")
print(hashlib.pbkdf2_hmac("sha256", sys.argv[2].encode(), salt.encode(), int(m.split(":")[2])).hex() == hexd)' "$hash" "$password")" \
	"True" "the printed password verifies against the stored werkzeug hash"
missing=$(sql seed_db "SELECT string_agg(p.sku, ' ') FROM products p WHERE (SELECT count(*) FROM (SELECT DATE(t.transaction_date), SUM(t.quantity_sold) FROM transactions t JOIN products q USING (product_id) WHERE q.sku = p.sku GROUP BY 1) h) < 5")
expect_eq "$missing" "" "for every product the app's history query returns at least 5 days"
expect_match "$(sql seed_db "SELECT count(*) FROM events WHERE type = 'holiday' AND include_in_prediction AND event_date > (SELECT max(transaction_date)::date FROM transactions)")" \
	"^1[0-9]$" "future holidays (after the last sale) exist, with include_in_prediction"
expect_eq "$(sql seed_db "SELECT count(*) FROM events WHERE event_name = 'Hari Raya Idul Fitri' AND event_date IN ('2024-04-10', '2025-03-31', '2026-03-21')")" \
	"3" "Idul Fitri falls on the decreed dates"
expect_eq "$(sql seed_db "SELECT count(*) FROM transactions WHERE transaction_date::date IN ('2024-04-10', '2024-04-11')")" \
	"0" "the shop is closed on Idul Fitri"
expect_eq "$(sql seed_db "SELECT (SELECT avg(u) FROM (SELECT sum(quantity_sold) u FROM transactions WHERE extract(isodow FROM transaction_date) IN (6, 7) GROUP BY transaction_date::date) a) > 1.2 * (SELECT avg(u) FROM (SELECT sum(quantity_sold) u FROM transactions WHERE extract(isodow FROM transaction_date) IN (1, 2, 3) GROUP BY transaction_date::date) b)")" \
	"t" "weekends sell more than early weekdays"
expect_eq "$(sql seed_db "SELECT bool_and(extract(hour FROM transaction_date) BETWEEN 7 AND 21) AND bool_or(is_promo) FROM transactions")" \
	"t" "sales happen at shop hours, some in promotions"
before=$(sql seed_db "SELECT md5(string_agg(t::text, ',' ORDER BY transaction_id)) FROM transactions t")
users_before=$(sql seed_db "SELECT md5(string_agg(u::text, ',' ORDER BY user_id)) FROM users u")

# --- seed again: nothing changes, and it says so ------------------------------------
etl --db "$db" seed
expect_rc 0 "seeding again exits 0"
expect_match "$out" "^seed: nothing to do: the data set was loaded before and the admin user exists$" "and says nothing changed"
expect_eq "$(sql seed_db "SELECT md5(string_agg(t::text, ',' ORDER BY transaction_id)) FROM transactions t")" "$before" "the sales are unchanged"
expect_eq "$(sql seed_db "SELECT md5(string_agg(u::text, ',' ORDER BY user_id)) FROM users u")" "$users_before" "the users (and the admin's password) are unchanged"
expect_eq "$(sql seed_db "INSERT INTO products (name, price, sku) VALUES ('Baru', 1000, 'NEW-999') RETURNING product_id")" "41" \
	"after seeding, an INSERT without an id works"
last_id=$(sql seed_db "SELECT max(transaction_id) FROM transactions")
new_id=$(sql seed_db "INSERT INTO transactions (product_id, quantity_sold, price_per_unit) VALUES (41, 1, 1000) RETURNING transaction_id")
expect_eq "$((new_id > last_id))" "1" "for transactions too, past every loaded id"

# --- --reset: empty and load again, ids from 1 -------------------------------------------
etl --db "$db" seed --reset
expect_rc 2 "seed --reset without a terminal and without --yes exits 2"
expect_match "$err" "--yes confirms" "and says that --yes confirms"
expect_eq "$(sql seed_db "SELECT count(*) FROM products")" "41" "and empties nothing"
run env SIPREMS_ADMIN_PASSWORD='Chosen-Admin-Pw1' "$ETL" --db "$db" seed --reset --yes
expect_rc 0 "seed --reset --yes exits 0"
expect_match "$out" "seed: emptied users, products, transactions and events" "--reset says what it emptied"
expect_match "$out" "created the admin user admin@siprems\.local with the password of SIPREMS_ADMIN_PASSWORD" \
	"SIPREMS_ADMIN_PASSWORD is used, and not printed"
expect_no_match "$out$err" "Chosen-Admin-Pw1" "the chosen password appears in no output"
expect_eq "$(sql seed_db "SELECT min(product_id) || ' ' || count(*) FROM products")" "1 40" "ids restart at 1; the extra product is gone"
expect_eq "$(sql seed_db "SELECT md5(string_agg(t::text, ',' ORDER BY transaction_id)) FROM transactions t")" "$before" \
	"the sales are again exactly the first seed's"

# --- --data DIR ---------------------------------------------------------------------------
db=$(new_db seed_dir)
etl --db "$db" seed --data g1
expect_rc 0 "seed --data DIR loads that directory"
expect_eq "$(sql seed_dir "SELECT count(*) FROM products")" "25" "with its 25 products"
etl --db "$db" seed --data /nonexistent
expect_rc 2 "a --data directory that cannot be read exits 2"

# --- make seed from a fresh copy of the tree, no database configured --------------------
copy="$T_TMP/fresh"
mkdir -p "$copy"
(cd "$ROOT" && git ls-files --cached --others --exclude-standard -z | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$copy"
run env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u DATABASE_URL -u DB_HOST -u DB_NAME \
	-u DB_PORT -u DB_USER -u DB_PASSWORD -u SIPREMS_ADMIN_PASSWORD make -C "$copy" --no-print-directory seed
expect_rc 0 "make seed in a fresh copy of the tree exits 0"
psql_cmd=$(printf '%s\n' "$out" | sed -n 's/^  psql "\(.*\)"$/\1/p')
expect_match "$psql_cmd" "^host=.* port=[0-9]+ user=postgres dbname=siprems_db$" "make seed prints the psql command"
expect_eq "$(psql -X -Atq -d "$psql_cmd" -c "SELECT count(*) FROM products" 2>&1)" "40" "that psql command opens the seeded database"
run env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE make -C "$copy" --no-print-directory seed
expect_match "$out" "seed: nothing to do" "make seed again changes nothing"
bash "$copy/scripts/pg-local.sh" stop >/dev/null 2>&1
rm -rf "$(readlink -f "$copy/.pg")" "$copy"

finish
