#!/usr/bin/env bash
# `generate` and `seed`: determinism, the sample in data/, any year's
# holidays, what the data looks like, seed as of a day and as of today, kept
# current (a later seed adds exactly the days since; the same day changes
# nothing; an interrupted seed resumes exactly), databases seed leaves alone,
# --reset, --data, the admin user, `make seed` from a fresh copy of the tree.
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
expect_rc 0 "generate for a year without a decree exits 0"
expect_no_match "$err" "not known" "and warns of nothing unknown"
expect_eq "$(zcat future/events.csv.gz | grep ',holiday,' | grep -E '^(Tahun Baru Imlek|Hari Raya Idul Fitri|Wafat Yesus Kristus),2027-' | cut -d, -f1,2 | tr '\n' ';')" \
	'Tahun Baru Imlek,2027-02-06;Hari Raya Idul Fitri,2027-03-10;Wafat Yesus Kristus,2027-03-26;' \
	"its moving holidays are computed: Imlek, Idul Fitri (MABIMS), Good Friday"
expect_eq "$(zcat future/events.csv.gz | grep ',holiday,' | grep -c ',2028-')" "17" "and those of the year after (12 moving, 5 fixed)"
expect_eq "$(zcat future/events.csv.gz | grep -c '^Ramadan,2027-')" "30" "Ramadan follows the computed Idul Fitri"
# Each day's sales are the same whatever range is asked for.
etl generate --out part --end 2025-06-30 --days 300
zcat part/sales.csv.gz | awk -F, '$4 >= "2025-03-01" && $4 < "2025-07-01"' >part.days
zcat "$ROOT/data/sales.csv.gz" | awk -F, '$4 >= "2025-03-01" && $4 < "2025-07-01"' >data.days
expect_eq "$(cmp -s part.days data.days && wc -l <part.days)" "$(wc -l <data.days)" "a day's sales do not depend on the range generated"
etl generate --out now --end today --days 2
expect_rc 0 "generate --end today exits 0"
expect_eq "$(zcat now/sales.csv.gz | awk -F, -v now="$(date '+%Y-%m-%d %H:%M:%S')" 'NR > 1 && $4 > now' | wc -l)" "0" \
	"--end today writes no sale after now"
expect_match "$(zcat now/sales.csv.gz | sed -n 2p)" ",$(date -d yesterday +%Y-%m-%d) " "and starts the day before"
etl generate --out tiny --products 3 --days 2
expect_match "$err" "^generate: 3 products, [0-9]+ sales rows, [0-9]+ events, 3 users in tiny in [0-9.]+ s$" "a small set gets no rows/s"
etl generate --products 3
expect_rc 2 "generate without --out exits 2"
etl generate --out x --days 0
expect_rc 2 "generate --days 0 exits 2"
etl generate --out x --end 2025-02-30
expect_rc 2 "an impossible --end exits 2"

# --- seed as of a day: the data set of data/, loaded ---------------------------------
db=$(new_db seed_db)
run env -u SIPREMS_ADMIN_PASSWORD "$ETL" --db "$db" seed --as-of 2025-12-31
expect_rc 0 "seed --as-of 2025-12-31 exits 0"
expect_match "$err" "builtin:seed-42-sales-2024-01-01T00:00:00-2025-12-31T24:00:00\.csv +sales +loaded +1[0-9]{5} " \
	"the sales of 2024 and 2025 load, named for what they hold"
expect_match "$err" "builtin:seed-42-events-2024-2026\.csv +events +loaded" "the events of 2024 to 2026"
expect_eq "$(sql seed_db "SELECT (SELECT count(*) FROM products) || ' ' || (SELECT count(*) FROM users) || ' ' || (SELECT count(*) FROM transactions) || ' ' || (SELECT count(*) FROM events)")" \
	"40 4 $(($(zcat "$ROOT/data/sales.csv.gz" | wc -l) - 1)) $(($(zcat "$ROOT/data/events.csv.gz" | wc -l) - 1))" \
	"40 products, 3 staff and the admin, and exactly the sales and events of data/"
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
fresh="SELECT md5(string_agg(p.sku || ' ' || quantity_sold || ' ' || price_per_unit || ' ' || transaction_date || ' ' || is_promo, ',' ORDER BY transaction_date, p.sku, quantity_sold, price_per_unit, is_promo)) FROM transactions t JOIN products p USING (product_id)"
content_before=$(sql seed_db "$fresh")
users_before=$(sql seed_db "SELECT md5(string_agg(u::text, ',' ORDER BY user_id)) FROM users u")

# --- the same day again: nothing changes, and it says so ------------------------------
etl --db "$db" seed --as-of 2025-12-31
expect_rc 0 "seeding again as of the same day exits 0"
expect_match "$out" "^seed: nothing to do: the database holds the data set as of 2025-12-31 and the admin user exists$" "and says nothing changed"
expect_eq "$(sql seed_db "SELECT md5(string_agg(t::text, ',' ORDER BY transaction_id)) FROM transactions t")" "$before" "the sales are unchanged"
expect_eq "$(sql seed_db "SELECT md5(string_agg(u::text, ',' ORDER BY user_id)) FROM users u")" "$users_before" "the users (and the admin's password) are unchanged"
etl --db "$db" seed --as-of 2025-12-01
expect_rc 2 "an --as-of before the day it was seeded as of exits 2"
expect_match "$err" "seeded as of 2025-12-31, after --as-of 2025-12-01; nothing was changed" "and says why"
etl --db "$db" seed --as-of 2025-12-31 --seed 7
expect_rc 2 "another --seed than the database's exits 2"
expect_match "$err" "seeded with --seed 42, not 7" "and says which it was"
etl --db "$db" seed --as-of 2999-01-01
expect_rc 2 "an --as-of after today exits 2"
expect_match "$err" "--as-of 2999-01-01 is after today in the database \($(sql seed_db "SELECT CURRENT_DATE"), TimeZone " "naming the database's today"
etl --db "$db" seed --as-of 2025-02-30
expect_rc 2 "an impossible --as-of exits 2"
etl --db "$db" seed --data "$T_TMP/g1" --as-of 2025-01-01
expect_rc 2 "--data with --as-of exits 2"
expect_eq "$(sql seed_db "SELECT md5(string_agg(t::text, ',' ORDER BY transaction_id)) FROM transactions t")" "$before" "none of them changed a sale"

# --- a database with rows seed did not write is left alone --------------------------------
expect_eq "$(sql seed_db "INSERT INTO products (name, price, sku) VALUES ('Baru', 1000, 'NEW-999') RETURNING product_id")" "41" \
	"after seeding, an INSERT without an id works"
last_id=$(sql seed_db "SELECT max(transaction_id) FROM transactions")
new_id=$(sql seed_db "INSERT INTO transactions (product_id, quantity_sold, price_per_unit) VALUES (41, 1, 1000) RETURNING transaction_id")
expect_eq "$((new_id > last_id))" "1" "for transactions too, past every loaded id"
etl --db "$db" seed
expect_rc 2 "seed on a database with rows it did not write exits 2"
expect_match "$err" "the database holds rows seed did not write \(products: 41 rows, 40 of them from seed's loads\); nothing was changed" \
	"and says which table holds how many rows that are not its"
expect_match "$err" "seed --reset --yes" "and how to seed it anew"
expect_eq "$(sql seed_db "SELECT count(*) FROM transactions WHERE transaction_date > '2026-01-01'")" "1" "no day was added"

app=$(new_db seed_app)
sql seed_app "CREATE TABLE products (product_id SERIAL PRIMARY KEY, name VARCHAR(255) NOT NULL, price NUMERIC(10,2) NOT NULL, sku VARCHAR(100) NOT NULL);
	INSERT INTO products (name, price, sku) VALUES ('Kopi', 5000, 'KOP-1'), ('Teh', 4000, 'TEH-1')" >/dev/null
etl --db "$app" seed
expect_rc 2 "seed on an app's database with its own rows exits 2"
expect_match "$err" "\(products: 2 rows, 0 of them from seed's loads\)" "naming the table and its rows"
expect_eq "$(sql seed_app "SELECT coalesce(to_regclass('etl_loads')::text, 'none') || ' ' || coalesce(to_regclass('transactions')::text, 'none') || ' ' || (SELECT count(*) FROM pg_indexes WHERE tablename = 'products')")" \
	"none none 1" "and leaves it as it was: no table, no index added"

# --- --reset: empty and load again, ids from 1 -------------------------------------------
etl --db "$db" seed --reset --as-of 2025-12-31
expect_rc 2 "seed --reset without a terminal and without --yes exits 2"
expect_match "$err" "--yes confirms" "and says that --yes confirms"
expect_eq "$(sql seed_db "SELECT count(*) FROM products")" "41" "and empties nothing"
run env SIPREMS_ADMIN_PASSWORD='Chosen-Admin-Pw1' "$ETL" --db "$db" seed --reset --yes --as-of 2025-12-31
expect_rc 0 "seed --reset --yes exits 0"
expect_match "$out" "seed: emptied users, products, transactions and events" "--reset says what it emptied"
expect_match "$out" "created the admin user admin@siprems\.local with the password of SIPREMS_ADMIN_PASSWORD" \
	"SIPREMS_ADMIN_PASSWORD is used, and not printed"
expect_no_match "$out$err" "Chosen-Admin-Pw1" "the chosen password appears in no output"
expect_eq "$(sql seed_db "SELECT min(product_id) || ' ' || count(*) FROM products")" "1 40" "ids restart at 1; the extra product is gone"
expect_eq "$(sql seed_db "SELECT md5(string_agg(t::text, ',' ORDER BY transaction_id)) FROM transactions t")" "$before" \
	"the sales are again exactly the first seed's"

# --- seed as of today: the dashboard has a today -------------------------------------------
db=$(new_db seed_now)
etl --db "$db" seed
expect_rc 0 "seed as of today exits 0"
today=$(sql seed_now "SELECT CURRENT_DATE")
# The sales end at the start of the current hour (in the first hour of the
# day nothing of it is past: they end at its midnight, yesterday's T24:00).
ends="(${today}T[0-9]{2}:00:00|$(sql seed_now "SELECT CURRENT_DATE - 1")T24:00:00)"
expect_match "$err" "builtin:seed-42-sales-[0-9-]{10}T00:00:00-$ends\.csv +sales +loaded" \
	"the sales end today, at the start of the hour of the seed"
expect_eq "$(sql seed_now "SELECT max(transaction_date) < date_trunc('hour', LOCALTIMESTAMP) FROM transactions")" "t" "so no sale is in the current hour"
expect_eq "$(sql seed_now "SELECT max(transaction_date) <= LOCALTIMESTAMP FROM transactions")" "t" "no sale is after now"
expect_eq "$(sql seed_now "SELECT min(transaction_date) >= CURRENT_DATE - 730 AND min(transaction_date) < CURRENT_DATE - 725 FROM transactions")" \
	"t" "two years of sales, from 730 days ago (a closed day aside)"
closed="SELECT event_date FROM events WHERE event_name IN ('Hari Raya Idul Fitri', 'Hari Raya Idul Fitri (hari kedua)', 'Renovasi Toko')"
expect_eq "$(sql seed_now "SELECT coalesce(string_agg(d::date::text, ' '), '') FROM generate_series(CURRENT_DATE - 7, CURRENT_DATE - 1, interval '1 day') d
	WHERE NOT EXISTS (SELECT 1 FROM transactions WHERE transaction_date >= d AND transaction_date < d + interval '1 day') AND d::date NOT IN ($closed)")" \
	"" "every one of the last 7 days has sales (but a day the shop is closed)"
expect_eq "$(sql seed_now "SELECT count(DISTINCT transaction_date::date) >= 5 FROM transactions WHERE transaction_date >= CURRENT_DATE - 7 AND transaction_date < CURRENT_DATE")" \
	"t" "at least 5 of them"
expect_eq "$(sql seed_now "SELECT LOCALTIME < '10:00' OR CURRENT_DATE IN ($closed) OR (SELECT count(*) > 0 FROM transactions WHERE transaction_date >= CURRENT_DATE)")" \
	"t" "today has the sales of its hours already past (from 10:00 on)"
expect_eq "$(sql seed_now "SELECT count(*) >= 5 FROM events WHERE type = 'holiday' AND include_in_prediction AND event_date > CURRENT_DATE AND event_date <= CURRENT_DATE + 365")" \
	"t" "at least 5 holidays in the coming year, for the forecasts"
expect_eq "$(sql seed_now "SELECT max(event_date) >= CURRENT_DATE + 365 FROM events")" "t" "events reach a year ahead"
now_sum=$(sql seed_now "$fresh")
etl --db "$db" seed
expect_rc 0 "a second seed the same day exits 0"
expect_match "$out" "^seed: nothing to do: the database holds the data set as of $today" "and changes nothing"
expect_eq "$(sql seed_now "$fresh")" "$now_sum" "not a sale"

# --- kept current: seeded a week ago, then today = a fresh seed on those days ---------------
week_ago=$(sql seed_now "SELECT CURRENT_DATE - 7")
db=$(new_db seed_week)
etl --db "$db" --quiet seed --as-of "$week_ago"
expect_rc 0 "seed --as-of a week ago exits 0"
expect_eq "$(sql seed_week "SELECT max(transaction_date) < '$week_ago'::date + 1 AND max(transaction_date) >= '$week_ago'::date - 3 FROM transactions")" \
	"t" "its sales end that day (a closed day aside)"
before_week=$(sql seed_week "SELECT md5(string_agg(t::text, ',' ORDER BY transaction_id)) FROM transactions t WHERE transaction_date < '$week_ago'::date + 1")
etl --db "$db" seed
expect_rc 0 "seed a week later exits 0"
expect_match "$err" "builtin:seed-42-sales-$(date -d "$week_ago + 1 day" +%Y-%m-%d)T00:00:00-$ends\.csv +sales +loaded" \
	"it loads the sales of the days since, only"
expect_no_match "$err" "seed-42-(products|users)" "and no product or user again"
# seed_now was seeded first: up to its last sale both hold the same days.
last=$(sql seed_now "SELECT max(transaction_date) FROM transactions")
ontheday="$fresh WHERE transaction_date >= CURRENT_DATE - 730 AND transaction_date <= '$last'"
expect_eq "$(sql seed_week "$ontheday")" "$(sql seed_now "$ontheday")" "its sales equal a fresh seed's on those days"
events="SELECT md5(string_agg(event_name || event_date || type || coalesce(description, '') || include_in_prediction, ',' ORDER BY event_date, event_name)) FROM events"
expect_eq "$(sql seed_week "$events WHERE event_date >= date_trunc('year', CURRENT_DATE - 730)")" "$(sql seed_now "$events")" "and so do its events"
expect_eq "$(sql seed_week "SELECT md5(string_agg(t::text, ',' ORDER BY transaction_id)) FROM transactions t WHERE transaction_date < '$week_ago'::date + 1")" \
	"$before_week" "nothing before the new days changed"
expect_eq "$(sql seed_week "SELECT count(*) FROM (SELECT product_id, quantity_sold, price_per_unit, transaction_date, is_promo FROM transactions GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1) d")" \
	"$(sql seed_now "SELECT count(*) FROM (SELECT product_id, quantity_sold, price_per_unit, transaction_date, is_promo FROM transactions GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1) d")" \
	"nothing twice"

# seed_in_background NAME OUT: seeds database NAME as of 2025-12-31 in the
# background (output to OUT), returning once its sales COPY runs; sets pid.
seed_in_background() {
	"$ETL" --db "$(new_db "$1")" seed --as-of 2025-12-31 >"$2" 2>&1 &
	pid=$!
	for _ in $(seq 1 400); do
		[ "$(psql -X -Atq -d "$1" -c "SELECT count(*) FROM pg_stat_activity WHERE query ~ '^COPY (\"transactions\"|\\w+\\.siprems_etl_shadow_[0-9]+) '" 2>/dev/null)" = 1 ] && break
		sleep 0.02
	done
}

# --- an interrupted seed resumes exactly ----------------------------------------------------
seed_in_background seed_kill kill.out
db="host=$PGHOST port=$PGPORT user=$PGUSER dbname=seed_kill"
kill -9 "$pid"
{ wait "$pid"; } 2>/dev/null
expect_eq "$?" "137" "seed killed while its sales load"
expect_eq "$(sql seed_kill "SELECT count(*) FROM etl_loads WHERE kind = 'sales' AND status = 'running'")" "1" "the history holds the unfinished sales load"
etl --db "$db" seed --as-of 2025-12-31
expect_rc 0 "the next seed exits 0"
expect_match "$err" "builtin:seed-42-sales-2024-01-01T00:00:00-2025-12-31T24:00:00\.csv +sales +loaded" "it finishes that load"
expect_eq "$(sql seed_kill "$fresh")" "$content_before" "the sales are exactly an uninterrupted seed's"
expect_eq "$(sql seed_kill "SELECT count(*) FROM transactions")" "$(sql seed_db "SELECT count(*) FROM transactions")" "none twice"

# --- two seeds at once: the second waits for the first, and adds nothing twice -------------
seed_in_background seed_wait first.out
db="host=$PGHOST port=$PGPORT user=$PGUSER dbname=seed_wait"
etl --db "$db" seed --as-of 2025-12-31
wait "$pid"
expect_eq "$?" "0" "the first seed exits 0"
expect_rc 0 "the second, run while the first loads, exits 0"
expect_no_match "$err" "seed-42-sales-.* +sales +loaded +[1-9]" "the second loads no sale (it waits for the first, then plans)"
expect_eq "$( (cat first.out; printf '%s\n' "$out") | grep -c 'created the admin user')" "1" "the admin is created once"
expect_eq "$(sql seed_wait "SELECT count(*) FROM users")" "4" "the users are one seed's"
expect_eq "$(sql seed_wait "$fresh")" "$content_before" "the sales are one seed's"

# A seed load another live seed holds (its row locked, as in every transaction of a
# batched load): the next seed waits, then finishes what the other left.
sql seed_wait "INSERT INTO etl_loads (fingerprint, kind, file_name, status, etl_version) VALUES
	('held-by-another-seed', 'sales', 'builtin:seed-42-sales-2026-01-01T00:00:00-2026-01-02T24:00:00.csv', 'running', 'test')" >/dev/null
psql -X -q -d seed_wait -c "BEGIN" -c "SELECT 1 FROM etl_loads WHERE fingerprint = 'held-by-another-seed' FOR UPDATE" \
	-c "SELECT pg_sleep(1.5)" -c "COMMIT" >/dev/null 2>&1 &
holder=$!
sleep 0.3
etl --db "$db" seed --as-of 2026-01-02
wait "$holder"
expect_rc 0 "a seed while another one's load is alive exits 0"
expect_match "$err" "seed: waiting for another seed to finish \(load [0-9]+\)" "it waits, and says so"
expect_eq "$(sql seed_wait "SELECT count(DISTINCT transaction_date::date) FROM transactions WHERE transaction_date >= '2026-01-01'")" "2" \
	"then loads the days that load was for, once the other is gone"

# --- a database in another time zone, with TIMESTAMPTZ as the app's schema.sql -------------
db=$(new_db seed_tz)
sql seed_tz "ALTER DATABASE seed_tz SET timezone TO 'Pacific/Kiritimati'" >/dev/null
etl --db "$db" schema
sql seed_tz "ALTER TABLE transactions ALTER COLUMN transaction_date TYPE timestamptz" >/dev/null
etl --db "$db" seed
expect_rc 0 "seed into TIMESTAMPTZ at UTC+14 exits 0"
tz_today=$(sql seed_tz "SELECT CURRENT_DATE")
# (In the first hour of the day nothing of it is past: the sales end at its midnight.)
tz_yesterday=$(sql seed_tz "SELECT CURRENT_DATE - 1")
expect_match "$err" "-(${tz_today}T[0-9]{2}:00:00|${tz_yesterday}T24:00:00)\.csv +sales +loaded" "as of the database's today ($tz_today)"
expect_eq "$(sql seed_tz "SELECT max(transaction_date) <= now() FROM transactions")" "t" "no sale after now, as an instant"
expect_eq "$(sql seed_tz "SELECT count(DISTINCT DATE(transaction_date)) >= 5 FROM transactions WHERE DATE(transaction_date) >= CURRENT_DATE - 7 AND DATE(transaction_date) < CURRENT_DATE")" \
	"t" "the app's DATE(transaction_date) finds the last days' sales"
expect_eq "$(sql seed_tz "SELECT bool_and(extract(hour FROM transaction_date) BETWEEN 7 AND 21) FROM transactions")" "t" "at the shop's hours in its zone"

# --- --data DIR ---------------------------------------------------------------------------
db=$(new_db seed_dir)
etl --db "$db" seed --data g1
expect_rc 0 "seed --data DIR loads that directory"
expect_eq "$(sql seed_dir "SELECT count(*) FROM products")" "25" "with its 25 products"
etl --db "$db" seed --data g1
expect_rc 0 "seeding that directory again exits 0"
expect_match "$err" "loaded before \(load [0-9]+, same content\); skipped; 'seed --reset --yes' empties the tables and loads it again" \
	"a file loaded before is skipped, and the way to load it again is seed's own"
expect_no_match "$err" "--force" "seed suggests no option it does not take"
etl --db "$db" seed --data /nonexistent
expect_rc 2 "a --data directory that cannot be read exits 2"

# --- make seed from a fresh copy of the tree, no database configured --------------------
copy="$T_TMP/fresh"
mkdir -p "$copy"
at_exit "bash '$copy/scripts/pg-local.sh' kill; rm -rf \"\$(readlink -f '$copy/.pg')\""
(cd "$ROOT" && git ls-files --cached --others --exclude-standard -z | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$copy"
run env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u DATABASE_URL -u DB_HOST -u DB_NAME \
	-u DB_PORT -u DB_USER -u DB_PASSWORD -u SIPREMS_ADMIN_PASSWORD make -C "$copy" --no-print-directory seed
expect_rc 0 "make seed in a fresh copy of the tree exits 0"
psql_cmd=$(printf '%s\n' "$out" | sed -n 's/^  psql "\(.*\)"$/\1/p')
expect_match "$psql_cmd" "^host=.* port=[0-9]+ user=postgres dbname=siprems_db$" "make seed prints the psql command"
expect_eq "$(psql -X -Atq -d "$psql_cmd" -c "SELECT count(*) FROM products" 2>&1)" "40" "that psql command opens the seeded database"
# The two lines it prints for a new shell, run as printed in a bare environment.
next=$(printf '%s\n' "$out" | sed -n '/^seed: the local database is ready/{n;p;n;p}')
expect_match "$next" "^  eval .*pg-local\.sh' env\)\"" "make seed prints how a new shell reaches the database"
run env -i PATH="$PATH" HOME="$HOME" bash -c "$next"
expect_rc 0 "and those lines work in a new shell"
expect_match "$out" "builtin:seed-42-users\.csv" "the tool they run lists the seed's loads"
run env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE make -C "$copy" --no-print-directory seed
expect_match "$out" "seed: nothing to do: the database holds the data set as of" "make seed again the same day changes nothing"
psql -X -q -d "$psql_cmd" -c "INSERT INTO products (name, price, sku) VALUES ('Milik Sendiri', 1, 'OWN-1')" >/dev/null
run env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE make -C "$copy" --no-print-directory seed SEED_ARGS="--as-of 2025-12-01"
expect_match "$err" "make -C '$copy' seed SEED_ARGS='--reset --yes'" "a refused make seed names the way on in this tree's words"
run env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE make -C "$copy" --no-print-directory seed SEED_ARGS='--reset --yes'
expect_rc 0 "and that command works"
expect_eq "$(psql -X -Atq -d "$psql_cmd" -c "SELECT count(*) FROM products WHERE sku = 'OWN-1'" 2>&1)" "0" "starting over"
bash "$copy/scripts/pg-local.sh" stop >/dev/null 2>&1
rm -rf "$(readlink -f "$copy/.pg")" "$copy"

finish
