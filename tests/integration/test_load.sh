#!/usr/bin/env bash
# `load` into the real server: every kind, dependency order, SKUs of the
# same run, conflicts in each mode, rows the server refuses, passwords,
# counts that add up, progress, sequences, ANALYZE, the reject round trip.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1

# --- every kind, in dependency order whatever the argument order ------------
db=$(new_db load_kinds)
cat >users.csv <<'EOF'
email,full_name,password_hash,is_active
admin@toko.id,Admin Toko,$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW,
kasir@toko.id,Kasir,pbkdf2:sha256:600000$Qm9Bz3xK1yT8wE2r$3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a,no
EOF
cat >products.csv <<'EOF'
sku,name,category,variation,price,stock
BRD-001,Roti Tawar,Roti,Besar,15000,10
MLK-001,Susu Segar,Minuman,1L,18500.50,
SNK-001,Keripik,Snack,,7500,25
EOF
cat >events.csv <<'EOF'
event_name,event_date,type,description,include_in_prediction
Idul Fitri,2024-04-10,Holiday,Lebaran,
Promo Akhir Tahun,2024-12-20,promotion,,no
EOF
cat >sales.csv <<'EOF'
sku,quantity_sold,price_per_unit,transaction_date,is_promo
BRD-001,2,,2024-04-09 08:15,yes
MLK-001,1,18000,2024-04-09 09:00:00+07:00,
SNK-001,3,7000.5,2024-04-10,n
EOF
etl --db "$db" load --summary-json s.json sales.csv events.csv products.csv users.csv
expect_rc 0 "four files of every kind load with exit 0"
expect_eq "$(json_counts s.json)" \
	"users.csv:loaded:2:2:0:0:0 products.csv:loaded:3:3:0:0:0 events.csv:loaded:2:2:0:0:0 sales.csv:loaded:3:3:0:0:0" \
	"users, products, events, sales: in dependency order, counts adding up"
expect_eq "$(sql load_kinds "SELECT string_agg(sku || ':' || name || ':' || coalesce(category, '-') || ':' || coalesce(variation, '-') || ':' || price || ':' || stock, ' ' ORDER BY sku) FROM products")" \
	"BRD-001:Roti Tawar:Roti:Besar:15000.00:10 MLK-001:Susu Segar:Minuman:1L:18500.50:0 SNK-001:Keripik:Snack:-:7500.00:25" \
	"products hold the file's values (empty stock is 0, empty variation NULL)"
expect_eq "$(sql load_kinds "SELECT string_agg(p.sku || ':' || t.quantity_sold || ':' || t.price_per_unit || ':' || t.transaction_date || ':' || t.is_promo, ' ' ORDER BY t.transaction_date) FROM transactions t JOIN products p USING (product_id)")" \
	"MLK-001:1:18000.00:2024-04-09 02:00:00:false BRD-001:2:15000.00:2024-04-09 08:15:00:true SNK-001:3:7000.50:2024-04-10 00:00:00:false" \
	"sales: SKUs resolved, an empty price takes the product's, +07:00 converted to UTC"
expect_eq "$(sql load_kinds "SELECT string_agg(event_name || ':' || event_date || ':' || type || ':' || coalesce(description, '-') || ':' || include_in_prediction, ' ' ORDER BY event_date) FROM events")" \
	"Idul Fitri:2024-04-10:holiday:Lebaran:true Promo Akhir Tahun:2024-12-20:promotion:-:false" \
	"events: type in any case, empty include_in_prediction is true"
expect_eq "$(sql load_kinds "SELECT string_agg(email || ':' || is_active, ' ' ORDER BY email) FROM users")" \
	"admin@toko.id:true kasir@toko.id:false" "users: hashes kept as given, is_active defaults to true"
expect_eq "$(sql load_kinds "INSERT INTO transactions (product_id, quantity_sold, price_per_unit) VALUES (1, 1, 1) RETURNING transaction_id")" \
	"4" "after the load an INSERT without an id works"
expect_eq "$(sql load_kinds "INSERT INTO products (name, price, sku) VALUES ('x', 1, 'X-9') RETURNING product_id")" "4" \
	"and for products too"

# --- the same run: sales may use SKUs a products file of the run adds ---------
db=$(new_db load_samerun)
printf 'sku,name,price\nNEW-001,Baru,2500\n' >newprod.csv
printf 'sku,quantity_sold,transaction_date\nNEW-001,4,2024-01-05\nGHOST-1,1,2024-01-05\n' >newsales.csv
etl --db "$db" load --summary-json s.json newsales.csv newprod.csv
expect_rc 1 "an unknown SKU makes the run exit 1"
expect_eq "$(json_counts s.json)" "newprod.csv:loaded:1:1:0:0:0 newsales.csv:partial:2:1:0:0:1" \
	"the products file loads first; the sales row using its SKU loads"
expect_match "$err" "newsales\.csv:3: sku: \"GHOST-1\" is not a known product" "the unknown SKU is rejected with its line"
expect_eq "$(sql load_samerun "SELECT price_per_unit FROM transactions")" "2500.00" "the new product's price fills the empty price"

# --- --on-conflict, for each kind with a unique key ---------------------------
db=$(new_db load_conflict)
etl --db "$db" load products.csv events.csv users.csv
cat >products2.csv <<'EOF'
sku,name,price
BRD-001,Roti Tawar Gandum,16000
MLK-001,Susu Segar,18500.50
TEA-001,Teh Botol,5000
EOF
etl --db "$db" load --summary-json s.json products2.csv
expect_rc 1 "--on-conflict error (the default) rejects existing keys"
expect_eq "$(json_counts s.json)" "products2.csv:partial:3:1:0:0:2" "two existing SKUs rejected, one new loaded"
expect_match "$err" "products2\.csv:2: sku: \"BRD-001\" already exists in the database \(--on-conflict skip keeps it, update replaces it\)" \
	"the reason says the key exists and what to do"
# Other --on-conflict than the load that rejected rows: the file goes through
# again, by key; its rows the table holds as in the file count as skipped.
etl --db "$db" load --on-conflict skip --summary-json s.json products2.csv
expect_rc 0 "--on-conflict skip exits 0"
expect_eq "$(json_counts s.json)" "products2.csv:loaded:3:0:0:3:0" "skip keeps the database rows: 3 skipped"
etl --db "$db" load --on-conflict update --summary-json s.json products2.csv
expect_rc 0 "--on-conflict update exits 0"
expect_eq "$(json_counts s.json)" "products2.csv:loaded:3:0:1:2:0" "update changes one row; identical rows count as skipped"
expect_eq "$(sql load_conflict "SELECT name || ':' || price || ':' || category || ':' || stock FROM products WHERE sku = 'BRD-001'")" \
	"Roti Tawar Gandum:16000.00:Roti:10" "update touches only the columns the file has (category, stock kept)"
printf 'event_name,event_date,type,description\nIdul Fitri,2024-04-10,holiday,Hari Raya\nNyepi,2024-03-11,holiday,\n' >events2.csv
etl --db "$db" load --on-conflict update --summary-json s.json events2.csv
expect_eq "$(json_counts s.json)" "events2.csv:loaded:2:1:1:0:0" "events: event_name+event_date updates one, inserts one"
expect_eq "$(sql load_conflict "SELECT description || ':' || include_in_prediction FROM events WHERE event_name = 'Idul Fitri'")" \
	"Hari Raya:true" "events: the description is replaced, include_in_prediction kept"
printf 'email,full_name\nadmin@toko.id,Admin Baru\n' >users-noname.csv
printf 'email,full_name,password_hash\nadmin@toko.id,Admin Baru,$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\nADMIN@toko.id,Other,$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\n' >users2.csv
etl --db "$db" load --on-conflict skip --summary-json s.json users2.csv
expect_eq "$(json_counts s.json)" "users2.csv:partial:2:0:0:1:1" \
	"users: an e-mail address is one key regardless of letter case (ADMIN@ repeats admin@; the first is the database's)"
expect_eq "$(sql load_conflict "SELECT count(*) FROM users WHERE lower(email) = 'admin@toko.id'")" "1" "no second admin"

# --- rows the server refuses are isolated ------------------------------------
db=$(new_db load_refuse)
etl --db "$db" load products.csv
sql load_refuse "ALTER TABLE transactions ADD CONSTRAINT qty_small CHECK (quantity_sold < 1000);
  CREATE FUNCTION no_forbidden() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
    IF NEW.name = 'FORBIDDEN' THEN RAISE EXCEPTION 'product name % is not allowed', NEW.name; END IF;
    RETURN NEW; END \$\$;
  CREATE TRIGGER t_nf BEFORE INSERT ON products FOR EACH ROW EXECUTE FUNCTION no_forbidden();
  CREATE UNIQUE INDEX uq_name ON products (name)"
{
	echo "sku,quantity_sold,transaction_date"
	for i in $(seq 1 50); do
		q=$i
		case $i in 5) q=5000 ;; 23) q=1200 ;; 24) q=1000 ;; 50) q=9999 ;; esac
		echo "BRD-001,$q,2024-02-01 10:$(printf %02d $((i % 60)))"
	done
} >refused.csv
etl --db "$db" load --batch-rows 16 --summary-json s.json refused.csv
expect_rc 1 "rows a check constraint refuses make exit 1"
expect_eq "$(json_counts s.json)" "refused.csv:partial:50:46:0:0:4" "the 46 good rows load, the 4 refused are rejected"
expect_match "$err" "refused\.csv:6: the database refused the row: new row for relation \"transactions\" violates check constraint \"qty_small\"" \
	"a refused row is rejected with the server's message and its source line"
expect_eq "$(cut -d, -f4 refused.csv.rejects.csv | tail -n +2 | tr '\n' ' ')" "6 24 25 51 " "the reject file names the four source lines"
expect_eq "$(sql load_refuse "SELECT count(*) FROM transactions")" "46" "exactly the good rows are in the table"
printf 'sku,name,price\nA-1,Apel,1\nA-2,FORBIDDEN,2\nA-3,Roti Tawar,3\nA-4,Alpukat,4\n' >refused-products.csv
etl --db "$db" load --summary-json s.json refused-products.csv
expect_eq "$(json_counts s.json)" "refused-products.csv:partial:4:2:0:0:2" "a trigger and an unknown unique index refuse two rows"
expect_match "$err" "refused-products\.csv:3: the database refused the row: product name FORBIDDEN is not allowed" \
	"the trigger's message is the reason"
expect_match "$err" "refused-products\.csv:4: the database refused the row: duplicate key value violates unique constraint \"uq_name\"" \
	"the unknown unique index's message is the reason"
expect_eq "$(sql load_refuse "SELECT string_agg(sku, ' ' ORDER BY sku) FROM products WHERE sku LIKE 'A-%'")" "A-1 A-4" \
	"the other rows of the batch are in"

# --- a key inserted meanwhile by someone else --------------------------------
db=$(new_db load_race)
etl --db "$db" load products.csv
printf 'sku,name,price\nRACE-1,Race,1\nOK-1,Fine,2\n' >race.csv
psql -X -q -d load_race -c "BEGIN; INSERT INTO products (sku, name, price) VALUES ('RACE-1', 'Theirs', 9); SELECT pg_sleep(2); COMMIT" >/dev/null 2>&1 &
other=$!
sleep 0.5
etl --db "$db" load --summary-json s.json race.csv
wait "$other"
expect_eq "$(json_counts s.json)" "race.csv:partial:2:1:0:0:1" "a key committed meanwhile by another session is rejected, the rest loads"
expect_eq "$(sql load_race "SELECT name FROM products WHERE sku = 'RACE-1'")" "Theirs" "the other session's row stands"

# --- a batch where the server refuses thousands of rows ----------------------
# Each savepoint that keeps rows holds a lock until the commit: 8,333 refused
# rows in one batch of 50,000 ran out of the lock table (max_locks_per_transaction).
db=$(new_db load_many)
etl --db "$db" load products.csv
sql load_many "INSERT INTO transactions (product_id, quantity_sold, price_per_unit, transaction_date) SELECT product_id, 1, 1, '2024-01-01' FROM products WHERE sku = 'BRD-001';
  ALTER TABLE transactions ADD CONSTRAINT no_six CHECK (quantity_sold <> 6) NOT VALID;
  ALTER TABLE products ADD CONSTRAINT price_not_5 CHECK (price::numeric % 5 <> 0) NOT VALID"
awk 'BEGIN { print "sku,quantity_sold,transaction_date"; for (i = 1; i <= 60000; i++) printf "BRD-001,%d,2024-%02d-%02d %02d:%02d\n", i % 6 + 1, i % 12 + 1, i % 28 + 1, i % 24, i % 60 }' >many.csv
mkdir -p many
etl --db "$db" --quiet load --reject-dir many --summary-json s.json many.csv
expect_rc 1 "a batch with 8,333 refused rows of 50,000 loads the rest (exit 1)"
expect_eq "$(json_counts s.json)" "many.csv:partial:60000:50000:0:0:10000" "every sixth row is rejected, the others load"
expect_eq "$(sql load_many "SELECT count(*), count(*) FILTER (WHERE quantity_sold = 6) FROM transactions")" "50001|0" \
	"exactly the good rows are in the table"
refused_lines() { python3 -c 'import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
lines = [int(r["reject_line"]) for r in rows]
print(len(lines), "ascending" if lines == sorted(lines) else "unordered", len(set(lines)), sum(sys.argv[2] in r["reject_reason"] for r in rows))' "$@"; }
expect_eq "$(refused_lines many/many.csv.rejects.csv no_six)" "10000 ascending 10000 10000" \
	"the reject file holds each refused row once, in line order, with the server's reason"
# A staged kind: 300 rows refused and 100 keys that exist, in one batch.
awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 1500; i += 15) printf "M-%04d,Old %d,%d\n", i, i, 1001 + i }' >many-old.csv
awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 1500; i++) printf "M-%04d,New %d,%d\n", i, i, 1000 + i }' >many-products.csv
etl --db "$db" --quiet load many-old.csv
etl --db "$db" --quiet load --reject-dir many --summary-json s.json many-products.csv
expect_eq "$(json_counts s.json)" "many-products.csv:partial:1500:1100:0:0:400" \
	"products: 300 refused and 100 existing keys rejected, 1,100 loaded"
expect_eq "$(refused_lines many/many-products.csv.rejects.csv price_not_5)" "400 ascending 400 300" \
	"each rejected once, in line order, 300 with the server's reason"
expect_eq "$(grep -c 'already exists' many/many-products.csv.rejects.csv)" "100" "and 100 as existing keys"
etl --db "$db" --quiet load --on-conflict update --reject-dir many --summary-json s.json many-products.csv
expect_eq "$(json_counts s.json)" "many-products.csv:partial:1500:0:100:1100:300" \
	"with update: 100 updated, 1,100 unchanged, 300 refused"
expect_eq "$(sql load_many "SELECT count(*), count(*) FILTER (WHERE name LIKE 'New %'), count(*) FILTER (WHERE price::numeric % 5 = 0) FROM products WHERE sku LIKE 'M-%'")" \
	"1200|1200|0" "the table holds the file's good rows"

# Rows that went in are put back in one every 256 savepoints; when the server
# refuses them then (a trigger that refuses a row's second insert, as another
# session's row would), they are settled again: nothing lost, nothing twice.
sql load_many "DELETE FROM transactions WHERE quantity_sold > 1; CREATE SEQUENCE flaky;
  CREATE FUNCTION flaky() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
    IF NEW.quantity_sold = 777 AND nextval('flaky') = 2 THEN RAISE EXCEPTION 'flaky refusal'; END IF;
    RETURN NEW; END \$\$;
  CREATE TRIGGER t_flaky BEFORE INSERT ON transactions FOR EACH ROW EXECUTE FUNCTION flaky()"
awk 'BEGIN { print "sku,quantity_sold,transaction_date"; for (i = 1; i <= 6000; i++) { q = (i >= 1900 && i < 2900) ? 1 : i % 6 + 1; if (i == 2000) q = 777; printf "BRD-001,%d,2025-01-%02d\n", q, i % 28 + 1 } }' >flaky.csv
etl --db "$db" --verbose load --jobs 1 --reject-dir many --summary-json s.json flaky.csv
expect_match "$err" "transactions: [0-9]+ ranges of rows that went in were refused when put back in one \(flaky refusal\): settling them again" \
	"a refusal when the kept rows are put back in one is said (--verbose)"
expect_eq "$(json_counts s.json)" "flaky.csv:partial:6000:5167:0:0:833" "and the rows are settled again: the counts add up"
expect_eq "$(sql load_many "SELECT count(*) FILTER (WHERE transaction_date >= '2025-01-01'), count(*) FILTER (WHERE quantity_sold = 777), (SELECT last_value FROM flaky) > 2 FROM transactions")" \
	"5167|1|t" "each good row once, the twice-tried row among them"
expect_eq "$(refused_lines many/flaky.csv.rejects.csv no_six)" "833 ascending 833 833" "only the rows the check refuses are rejected"

# --- plaintext passwords become werkzeug pbkdf2 hashes ------------------------
db=$(new_db load_pw)
pw1='correct horse battery'
pw2='Sp3cial,"quoted"pw'
printf 'email,full_name,password\na@toko.id,A,%s\nb@toko.id,B,"Sp3cial,""quoted""pw"\nbad-email,C,NeverShowMe99\n' "$pw1" >pw.csv
etl --db "$db" load --summary-json s.json pw.csv
expect_rc 1 "users with plaintext passwords load (one bad e-mail)"
hashes=$(sql load_pw "SELECT email || ' ' || password_hash FROM users ORDER BY email")
verified=$(printf '%s\n' "$hashes" | python3 -c '
import hashlib, sys, hmac
pws = {"a@toko.id": sys.argv[1], "b@toko.id": sys.argv[2]}
for line in sys.stdin:
    email, h = line.split()
    method, salt, hexd = h.split("$")
    algo, digest, iters = method.split(":")
    assert algo == "pbkdf2" and digest == "sha256" and int(iters) >= 600000, method
    assert len(salt) == 16 and salt.isalnum()
    ok = hmac.compare_digest(hashlib.pbkdf2_hmac("sha256", pws[email].encode(), salt.encode(), int(iters)).hex(), hexd)
    print(email, ok)
' "$pw1" "$pw2")
expect_eq "$verified" "a@toko.id True
b@toko.id True" "Python's hashlib verifies both stored hashes (werkzeug's pbkdf2:sha256 format)"
# Every row of every table as text (what pg_dump would hold, without a
# pg_dump of the server's major), and it must hold the rows.
dump=$(sql load_pw "SELECT format('SELECT %L || '' '' || t::text FROM %s t;', c.oid::regclass, c.oid::regclass)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')" |
	psql -X -Atq -v ON_ERROR_STOP=1 -d load_pw 2>&1)
expect_match "$dump" "^users .*a@toko\.id.*pbkdf2:sha256" "the database's rows as text hold the users"
expect_no_match "$dump$out$err$(cat pw.csv.rejects.csv)" "correct horse|quoted.?.?pw|NeverShowMe99" \
	"no plaintext password in the database, any output or the reject file"

# --- exit codes 3 and 4, --max-rejects (5) -------------------------------------
db=$(new_db load_exits)
seq 1 20000 | awk 'BEGIN{print "sku,name,price"} {printf "S-%d,Name %d,%d\n", $1, $1, $1}' | gzip -c >big.csv.gz
head -c 30000 big.csv.gz >cut.csv.gz
etl --db "$db" load --summary-json s.json cut.csv.gz
expect_rc 3 "a truncated gzip file exits 3"
expect_eq "$(json_check s.json)" "cut.csv.gz:failed:0:0:0 3" "and loads nothing"
expect_eq "$(sql load_exits "SELECT count(*) FROM products")" "0" "not a single row of it is in the table"
etl --db "host=$PGHOST port=$PGPORT dbname=no_such_database user=$PGUSER" load products.csv
expect_rc 4 "a database that cannot be reached exits 4"
seq 1 100 | awk 'BEGIN{print "sku,name,price"} {printf "M-%d,N%d,%s\n", $1, $1, ($1 % 10 == 0 ? "x" : "1")}' >maxrej.csv
etl --db "$db" load --max-rejects 2 --batch-rows 7 --summary-json s.json maxrej.csv
expect_rc 5 "more rejects than --max-rejects exits 5"
expect_eq "$(json_counts s.json)" "maxrej.csv:stopped:30:27:0:0:3" "it stops after the row of the third reject, all read rows accounted"
expect_eq "$(sql load_exits "SELECT count(*) FROM products WHERE sku LIKE 'M-%'")" "27" "the rows read before the stop are committed"
expect_match "$err" "maxrej\.csv: stopped: more than 2 rows rejected \(--max-rejects\); the next run resumes after row 30" \
	"the message says where the next run resumes"

# --- --single-transaction: nothing of the file if it stops ----------------------
db=$(new_db load_single)
etl --db "$db" load --single-transaction --max-rejects 2 --batch-rows 7 --summary-json s.json maxrej.csv
expect_rc 5 "--single-transaction with too many rejects exits 5"
expect_eq "$(json_counts s.json)" "maxrej.csv:stopped:0:0:0:0:0" "and commits nothing of the file"
expect_eq "$(sql load_single "SELECT count(*) FROM products")" "0" "the table is as it was"
expect_eq "$(no_rejects maxrej.csv.rejects.csv)" "" "and no reject file (nor a .part) describes rows that are not settled"
etl --db "$db" load --single-transaction --batch-rows 7 --summary-json s.json maxrej.csv
expect_rc 1 "--single-transaction without a stop commits the file"
expect_eq "$(json_counts s.json)" "maxrej.csv:partial:100:90:0:0:10" "in one piece, counts adding up"

# --- progress: on a terminal, never in a pipe ----------------------------------
# Sizes: ANALYZE follows autovacuum's rule (10,000 rows changed and a tenth
# of the table): a 150,000-row table, then 10,000 rows (under a tenth) and
# 40,000 (over it); the progress line needs a file that takes a moment.
db=$(new_db load_progress)
seq 1 150000 | awk 'BEGIN{print "sku,name,price"} {printf "P-%d,Name %d,%d.50\n", $1, $1, $1 % 1000}' >many.csv
script -qfec "$ETL --db '$db' load --dry-run many.csv" /dev/null >tty.out 2>&1
expect_match "$(tr '\r' '\n' <tty.out)" "many\.csv  [0-9,]+ rows  [0-9.]+/[0-9.]+ MB  [0-9,]+ rows/s  [0-9]+%  ETA [0-9]+:[0-9]{2}" \
	"on a terminal, progress shows rows, MB, rows/s, percent and ETA"
etl --db "$db" load many.csv
expect_no_match "$err" "rows/s|ETA" "when stderr is not a terminal there is no progress"
script -qfec "$ETL --no-progress --db '$db' load --dry-run many.csv" /dev/null >tty2.out 2>&1
expect_no_match "$(cat tty2.out)" "rows/s" "--no-progress turns it off on a terminal"
analyzed=$(sql load_progress "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'products'")
expect_match "$analyzed" "^20" "a large load ends with ANALYZE"
seq 150001 160000 | awk 'BEGIN{print "sku,name,price"} {printf "P-%d,Name %d,%d.50\n", $1, $1, $1 % 1000}' >more.csv
etl --db "$db" load more.csv
expect_eq "$(sql load_progress "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'products'")" "$analyzed" \
	"adding 10,000 rows to 150,000 (less than a tenth) leaves ANALYZE to autovacuum"
seq 160001 200000 | awk 'BEGIN{print "sku,name,price"} {printf "P-%d,Name %d,%d.50\n", $1, $1, $1 % 1000}' >more2.csv
etl --db "$db" load more2.csv
expect_eq "$(sql load_progress "SELECT last_analyze > '$analyzed' FROM pg_stat_user_tables WHERE relname = 'products'")" "t" \
	"adding 40,000 (more than a tenth) analyzes again"

# --- the round trip: reject, correct, load; the table equals the clean data ------
db=$(new_db load_roundtrip)
clean=$(new_db load_clean)
etl --db "$clean" load products.csv
cat >dirty.csv <<'EOF'
sku,name,category,variation,price,stock
BRD-001,Roti Tawar,Roti,Besar,15000,10
MLK-001,Susu Segar,Minuman,1L,"18.500,50",
SNK-001,Keripik,Snack,,7500,twenty-five
EOF
etl --db "$db" load dirty.csv
expect_rc 1 "a file with bad rows exits 1"
sed -e 's/"18\.500,50"/18500.50/' -e 's/twenty-five/25/' dirty.csv.rejects.csv >corrected.csv
etl --db "$db" load corrected.csv
expect_rc 0 "the corrected reject file loads as it is"
q="SELECT string_agg(concat_ws(':', sku, name, category, variation, price, stock), ' ' ORDER BY sku) FROM products"
expect_eq "$(sql load_roundtrip "$q")" "$(sql load_clean "$q")" "the table then equals a clean load of the same data"

# --- timestamps with an offset: the database's time zone, or --timezone -------------------
printf 'sku,name,price\nTZ-1,Zona,1000\n' >tzp.csv
printf 'sku,quantity_sold,transaction_date\nTZ-1,1,2026-01-05 08:00:00\nTZ-1,2,2026-01-05T08:00:00+07:00\nTZ-1,3,2026-01-05T01:00:00Z\nTZ-1,4,2026-01-04T20:00:00-05:00\n' >tzs.csv
db=$(new_db load_tz)
sql load_tz "ALTER DATABASE load_tz SET timezone TO 'Asia/Jakarta'" >/dev/null
etl --db "$db" load tzp.csv tzs.csv
expect_rc 0 "sales with offsets load into a database at +07:00"
expect_eq "$(sql load_tz "SELECT string_agg(quantity_sold || '=' || transaction_date, ' ' ORDER BY quantity_sold) FROM transactions")" \
	"1=2026-01-05 08:00:00 2=2026-01-05 08:00:00 3=2026-01-05 08:00:00 4=2026-01-05 08:00:00" \
	"a TIMESTAMP column gets the database's wall clock for every offset; a time without one stays as written"
db=$(new_db load_tztz)
sql load_tztz "ALTER DATABASE load_tztz SET timezone TO 'Asia/Jakarta'" >/dev/null
etl --db "$db" schema
sql load_tztz "ALTER TABLE transactions ALTER COLUMN transaction_date TYPE timestamptz" >/dev/null
etl --db "$db" load tzp.csv tzs.csv
expect_rc 0 "and into TIMESTAMPTZ"
expect_eq "$(sql load_tztz "SET TimeZone = 'UTC'; SELECT string_agg(quantity_sold || '=' || transaction_date, ' ' ORDER BY quantity_sold) FROM transactions")" \
	"1=2026-01-05 01:00:00+00 2=2026-01-05 01:00:00+00 3=2026-01-05 01:00:00+00 4=2026-01-05 01:00:00+00" \
	"a TIMESTAMPTZ column gets the instant; a time without an offset is read in the database's zone"
db=$(new_db load_tzopt)
sql load_tzopt "ALTER DATABASE load_tzopt SET timezone TO 'Asia/Jakarta'" >/dev/null
etl --db "$db" load --timezone UTC tzp.csv tzs.csv
expect_eq "$(sql load_tzopt "SELECT string_agg(quantity_sold || '=' || transaction_date, ' ' ORDER BY quantity_sold) FROM transactions")" \
	"1=2026-01-05 08:00:00 2=2026-01-05 01:00:00 3=2026-01-05 01:00:00 4=2026-01-05 01:00:00" \
	"--timezone overrides the database's zone"
db=$(new_db load_tzodd)
sql load_tzodd "ALTER DATABASE load_tzodd SET timezone TO '<+07>-07'" >/dev/null
etl --db "$db" load tzp.csv tzs.csv
expect_rc 0 "a database zone this machine has no file for still loads"
expect_match "$err" "the database's TimeZone '<\+07>-07' is not a zone this machine has a file for; timestamps with an offset are converted to UTC" \
	"and says which zone offsets go to"

# --- --archive DIR: what is fully in moves, the rest stays for the next night --------------
db=$(new_db load_archive)
mkdir -p night done
printf 'sku,name,price\nARC-1,Satu,1000\nARC-2,Dua,2000\n' >night/products.csv
printf 'sku,quantity_sold,transaction_date\nARC-1,1,2024-05-01 10:00\nNOPE-9,1,2024-05-01 10:00\n' >night/sales.csv
printf 'sku,quantity_sold,transaction_date\nARC-2,3,2024-05-01 11:00\n' >night/sales-ok.csv
printf 'sku,colour\nARC-3,red\n' >night/odd.csv
etl --db "$db" load --archive done night/products.csv night/sales.csv night/sales-ok.csv night/odd.csv
expect_rc 3 "a night with a bad file exits as the worst file does"
expect_eq "$(cd night && ls | tr '\n' ' ')" "odd.csv sales.csv " "the partly rejected and the failed file stay"
expect_eq "$(cd done && ls | tr '\n' ' ')" "products.csv sales-ok.csv " "the files fully loaded are archived"
expect_match "$err" "night/products\.csv: archived to done/products\.csv" "and it says where each went"
expect_eq "$(sql load_archive "SELECT count(*) FROM transactions")" "2" "the rows are in"
# The next night: the fixed file loads and goes; a file loaded before goes too.
printf 'sku,quantity_sold,transaction_date\nARC-1,1,2024-05-01 10:00\n' >night/sales.csv
cp done/products.csv night/products.csv
etl --db "$db" load --archive done night/products.csv night/sales.csv
expect_rc 0 "the next night exits 0"
expect_eq "$(cd done && ls | tr '\n' ' ')" "products.csv products.csv.1 sales-ok.csv sales.csv " \
	"a file loaded before (skipped) is archived too, never over an archived one"
expect_eq "$(cmp -s done/products.csv done/products.csv.1 && echo same)" "same" "with its bytes"
expect_eq "$(ls night | tr '\n' ' ')" "odd.csv " "only the failed file is left"
# A file replaced after it loaded, before --archive moves it, is not the
# one loaded: it stays.  (The load's last write to its history sleeps a
# second, in a trigger; the file is replaced meanwhile.)
sql load_archive "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN PERFORM pg_sleep(1); RETURN NEW; END\$\$;
  CREATE TRIGGER slow BEFORE UPDATE ON etl_loads FOR EACH ROW WHEN (NEW.status = 'loaded') EXECUTE FUNCTION slow()"
printf 'sku,quantity_sold,transaction_date\nARC-1,1,2024-06-01 10:00\n' >night/late.csv
printf 'sku,quantity_sold,transaction_date\nARC-2,9,2024-07-01 10:00\n' >other.csv
"$ETL" --db "$db" --quiet load --archive done night/late.csv >late.out 2>late.err &
loader=$!
for _ in $(seq 1 250); do
	[ "$(psql -X -Atq -d load_archive -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query ILIKE '%etl_loads%'")" = 1 ] && break
	sleep 0.02
done
mv other.csv night/late.csv
wait "$loader"
expect_eq "$?" 0 "the load of a file replaced before it is archived exits 0"
expect_match "$(cat late.err)" "night/late\.csv: not archived: the file there now is not the one loaded" \
	"and says the file there now is not the one loaded"
expect_eq "$(cat night/late.csv)" "$(printf 'sku,quantity_sold,transaction_date\nARC-2,9,2024-07-01 10:00')" \
	"the replacement stays where it is"
expect_eq "$(ls done | grep -c late)" 0 "nothing of it goes to the archive"
sql load_archive "DROP TRIGGER slow ON etl_loads"
rm -f night/late.csv
etl --db "$db" load --archive nowhere night/odd.csv
expect_rc 2 "an --archive directory that does not exist exits 2"
expect_match "$err" "nowhere: --archive: No such file or directory" "and is named"
etl --db "$db" load --archive done --dry-run night/odd.csv
expect_rc 2 "--archive with --dry-run exits 2"
if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(stat -c %d /dev/shm)" != "$(stat -c %d .)" ]; then
	far=$(mktemp -d /dev/shm/siprems-arc.XXXXXX)
	printf 'sku,name,price\nARC-4,Empat,4000\n' >night/more.csv
	chmod 640 night/more.csv
	etl --db "$db" load --archive "$far" night/more.csv
	expect_rc 0 "archiving onto another file system works"
	expect_eq "$(stat -c %a "$far/more.csv" 2>/dev/null) $(test -e night/more.csv && echo left || echo gone)" "640 gone" \
		"by a copy that keeps the mode, then removing the original"
	rm -rf "$far"
fi

# --- pipes: `<(zcat …)` and a FIFO are read once, into a copy ---------------------------
# (A load and a check read a file twice: its fingerprint, then its rows.)
db=$(new_db load_pipes)
etl --db "$db" load <(printf 'sku,name,price\nPIPE-1,Satu,1000\nPIPE-2,Dua,oops\n')
expect_rc 1 "a load from a process substitution ends (exit 1: one reject)"
expect_eq "$(sql load_pipes "SELECT string_agg(sku, ' ') FROM products WHERE sku LIKE 'PIPE-%'")" "PIPE-1" \
	"its good row is in"
etl --db "$db" load <(printf 'sku,name,price\nPIPE-1,Satu,1000\nPIPE-2,Dua,oops\n')
expect_rc 1 "the same content again through another pipe"
expect_match "$err" "load [0-9]+ of this content rejected 1 row \(it is in " "is known by its content"
expect_match "$err" "/dev/fd/[0-9]+ +products +skipped +2 +0 +0 +1 +1 " "and skipped"
expect_eq "$(sql load_pipes "SELECT count(*) FROM products WHERE sku LIKE 'PIPE-%'")" 1 "and nothing is doubled"
mkfifo pipe.csv
{ printf 'sku,name,price\nPIPE-3,Tiga,3000\n' >pipe.csv; } &
run timeout 60 "$ETL" --db "$db" check pipe.csv
expect_rc 0 "check reads a FIFO once"
{ printf 'sku,name,price\nPIPE-3,Tiga,3000\n' >pipe.csv; } &
run timeout 60 "$ETL" --db "$db" load pipe.csv
expect_rc 0 "and so does a load"
expect_eq "$(sql load_pipes "SELECT count(*) FROM products WHERE sku = 'PIPE-3'")" 1 "its row is in"
{ printf 'sku,name,price\nPIPE-4,Empat,4000\n' >pipe.csv; } &
run timeout 60 "$ETL" --db "$db" load pipe.csv ./pipe.csv
expect_rc 0 "one FIFO under two names is read once"
expect_match "$err" "\./pipe\.csv: loaded before \(load [0-9]+, same content\); skipped" "the second name is the same content"
mkdir -p done
{ printf 'sku,name,price\nPIPE-5,Lima,5000\n' >pipe.csv; } &
run timeout 60 "$ETL" --db "$db" load --archive done pipe.csv
expect_rc 0 "a FIFO with --archive loads"
expect_match "$err" "pipe\.csv: loaded; there is no file to archive \(a pipe\)" "and says there is no file to archive"
printf 'sku,name,price\nPIPE-6,Enam,6000\n' >six.csv
run timeout 60 "$ETL" --db "$db" load /dev/zero six.csv
expect_rc 3 "a character device that never ends is read within the reader's bounds (exit 3)"
expect_match "$err" "/dev/zero:1: malformed header: field 1 is larger than 16 MiB" "and named"
expect_eq "$(sql load_pipes "SELECT count(*) FROM products WHERE sku = 'PIPE-6'")" 1 "the other file of the run loads"
printf 'sku,name,price\nPIPE-7,Tujuh,7000\n' >seven.csv
{ printf 'sku,name,price\nPIPE-8,Delapan,8000\n' >pipe.csv; } 2>/dev/null &
run timeout 60 env TMPDIR=/nonexistent "$ETL" --db "$db" load pipe.csv seven.csv
expect_rc 5 "a pipe that cannot be copied fails its own file (exit 5: the system's)"
expect_match "$err" "pipe\.csv: cannot create a temporary file to copy it to in /nonexistent \(TMPDIR\)" "naming where"
expect_eq "$(sql load_pipes "SELECT string_agg(sku, ' ' ORDER BY sku) FROM products WHERE sku IN ('PIPE-7', 'PIPE-8')")" "PIPE-7" \
	"the run's other file loads"
wait
rm -f pipe.csv six.csv seven.csv
rm -f ./*.rejects.csv

finish
