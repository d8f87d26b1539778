#!/usr/bin/env bash
# Citus: a coordinator and two workers on Unix sockets (scripts/citus-local.sh).
# schema creates the distributed layout (transactions hash-distributed by
# product_id, the other app tables reference tables, the loader's own local);
# the initial load (one transaction, the shards keeping their indexes), an
# append, update and undo, a kill -9 in the middle of a batched load and its
# exact resume, check, history, seed; rows on both workers; the app's
# forecast query through the coordinator.  Skips, saying so, where Citus is
# not installed or does not load (never in CI).
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
CL="bash $ROOT/scripts/citus-local.sh --dir $T_TMP/citus --port $((${ETL_TEST_PORT:-5499} + 20))"
if ! why=$($CL check 2>&1); then
	if [ "${CI:-}" = true ]; then
		not_ok "Citus runs here (CI installs it from ../shared/citus)" "$why"
		finish
	fi
	echo "# skip: the Citus tests need Citus: $why"
	echo "# skip: install it (../shared/citus/install.sh, or Citus's own packages) to run them"
	finish
fi
at_exit '$CL kill'
mkdir -p "$T_TMP/citus"
[ "$(id -u)" = 0 ] && chown postgres: "$T_TMP/citus"
$CL start citus_db >cluster.log 2>&1 || { not_ok "the Citus cluster starts" "$(cat cluster.log)"; finish; }
coord="$($CL url) dbname=citus_db"
csql() { sql "$coord" "$@"; }
worker_sql() { # N SQL: on worker N
	local url
	url=$(bash "$ROOT/scripts/pg-local.sh" --dir "$T_TMP/citus/worker$1" url)
	PGOPTIONS="-c citus.show_shards_for_app_name_prefixes=*" psql -X -Atq -d "$url dbname=citus_db" -c "$2"
}
running_committed() { # a load is running and has committed a batch
	for _ in $(seq 1 500); do
		[ "$(psql -X -Atq -d "$coord" -c "SELECT count(*) FROM etl_loads WHERE status = 'running' AND records_done > 0" 2>/dev/null)" = 1 ] && return 0
		sleep 0.02
	done
	return 1
}

# --- schema ------------------------------------------------------------------------------
etl --db "$coord" schema
expect_rc 0 "schema runs on the coordinator"
expect_match "$out" "created distributed table transactions \(by product_id\)" "it says transactions is distributed"
expect_eq "$(csql "SELECT string_agg(logicalrelid::text || ':' || partmethod::text, ' ' ORDER BY logicalrelid::text) FROM pg_dist_partition")" \
	"events:n products:n transactions:h users:n" \
	"transactions is hash-distributed, users, products and events are reference tables"
expect_eq "$(csql "SELECT column_to_column_name(logicalrelid, partkey) FROM pg_dist_partition WHERE logicalrelid = 'transactions'::regclass")" \
	"product_id" "by product_id"
expect_eq "$(csql "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'transactions'::regclass AND contype = 'p'")" \
	"PRIMARY KEY (transaction_id, product_id)" "its primary key holds the distribution column"
expect_eq "$(csql "SELECT count(*) FROM pg_constraint WHERE conrelid = 'transactions'::regclass AND contype = 'f' AND confrelid = 'products'::regclass")" \
	"1" "the foreign key to products stays"
expect_eq "$(csql "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'etl_%'")" "0" \
	"the loader's own tables stay local to the coordinator"
etl --db "$coord" schema
expect_eq "$out" "schema is up to date: 30 objects checked, nothing created" "a second schema run changes nothing"

# --- the initial load, then an append -------------------------------------------------------
"$ETL" generate --out gen --products 30 --days 60 --seed 5 --end 2026-06-30 >/dev/null 2>&1
etl --db "$coord" load --summary-json first.json gen/users.csv.gz gen/products.csv.gz gen/events.csv.gz gen/sales.csv.gz
expect_rc 0 "the initial load through the coordinator exits 0"
expect_match "$err" "sales\.csv\.gz: transactions was empty: loaded with one COPY in one transaction \(a Citus table: the shards keep their indexes\)" \
	"the empty table is loaded in one transaction, without dropping the shards' indexes"
sales=$(json_counts first.json | tr ' ' '\n' | grep sales | cut -d: -f4)
expect_eq "$(csql "SELECT count(*) FROM transactions")" "$sales" "every sale is in"
expect_eq "$(csql "SELECT count(DISTINCT s.nodeport) FROM run_command_on_shards('transactions', 'SELECT count(*) FROM %s') r JOIN citus_shards s ON s.shardid = r.shardid WHERE r.result::int > 0")" \
	"2" "rows are present on both workers"
for w in 1 2; do
	expect_match "$(worker_sql "$w" "SELECT count(*) FROM pg_class WHERE relname LIKE 'transactions\_%' AND relkind = 'r'")" "^[1-9]" \
		"worker $w holds shards of transactions"
done
expect_eq "$(csql "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'transactions'::regclass")" \
	"2" "the shards of transactions live on both workers"
expect_eq "$(csql "SELECT count(*) > 1 FROM run_command_on_shards('transactions', 'SELECT count(*) FROM %s') WHERE result::int > 0")" \
	"t" "the sales spread over several shards"
"$ETL" generate --out later --products 30 --days 40 --seed 5 --end 2026-08-09 >/dev/null 2>&1
python3 - later/sales.csv.gz later.csv <<'EOF'
import gzip, sys
rows = gzip.open(sys.argv[1], "rt").read().splitlines()
out = [rows[0]] + [r for r in rows[1:] if r.split(",")[2] >= "2026-07-01"]
open(sys.argv[2], "w").write("\n".join(out) + "\n")
EOF
append_rows=$(($(wc -l <later.csv) - 1))
etl --db "$coord" --verbose load --summary-json append.json later.csv
expect_rc 0 "an append through the coordinator exits 0"
expect_match "$err" 'sql [0-9.]+ ms PGRES_TUPLES_OK: SELECT 1 FROM "transactions" LIMIT 1' \
	"whether the table is empty is asked with a LIMIT each shard takes (an EXISTS pulled every row)"
expect_match "$err" "PGRES_COMMAND_OK: SET LOCAL synchronous_commit = off;.*SET LOCAL citus\.max_cached_conns_per_worker = 16" \
	"each batch keeps its shard connections for the next one"
expect_eq "$(json_counts append.json | cut -d: -f2-4)" "loaded:$append_rows:$append_rows" "every appended row loaded"
expect_eq "$(csql "SELECT count(*) FROM transactions")" "$((sales + append_rows))" "the table holds both loads"
reference=$(csql "SELECT md5(string_agg(concat_ws(',', product_id, quantity_sold, price_per_unit, transaction_date), ';' ORDER BY transaction_date, product_id, quantity_sold)) FROM transactions WHERE transaction_date >= '2026-07-01'")

# --- keyed kinds: update, case variants, undo ------------------------------------------------
printf 'sku,name,price\n%s,Renamed,1234.50\nNEW-001,Baru,1000\n' "$(csql "SELECT sku FROM products ORDER BY sku LIMIT 1")" >upd.csv
etl --db "$coord" load --on-conflict update --summary-json upd.json upd.csv
expect_rc 0 "an --on-conflict update of the reference table exits 0"
expect_eq "$(json_counts upd.json | cut -d: -f2-7)" "loaded:2:1:1:0:0" "one row inserted, one updated"
printf 'email,full_name,password\n%s,Other Name,secret-pass-1\n' "$(csql "SELECT upper(email) FROM users ORDER BY email LIMIT 1")" >users2.csv
etl --db "$coord" load --on-conflict update --summary-json u.json users2.csv
expect_rc 0 "a user in another letter case updates the user (reference table)"
expect_eq "$(json_counts u.json | cut -d: -f2-7)" "loaded:1:0:1:0:0" "updated, not inserted"
# skip with plaintext passwords: the staging table (local) asks the reference table
# which keys are new; only that row is hashed, the existing one (another case) is not.
printf 'email,full_name,password\n%s,Again,secret-pass-2\nnew-citus@toko.id,New,secret-pass-3\n' "$(csql "SELECT upper(email) FROM users ORDER BY email LIMIT 1")" >users3.csv
etl --db "$coord" --verbose load --on-conflict skip --summary-json u3.json users3.csv
expect_rc 0 "plaintext passwords with --on-conflict skip on the reference table"
expect_eq "$(json_counts u3.json | cut -d: -f2-7)" "loaded:2:1:0:1:0" "one inserted, one skipped"
expect_match "$err" "users: 1 password hashed on [0-9]+ cores?; 1 not, the table has the key" "only the new key's password is hashed"
expect_eq "$(csql "SELECT count(*) FROM users WHERE password_hash NOT LIKE 'pbkdf2:sha256:600000\$%' AND password_hash NOT LIKE 'scrypt%' AND password_hash NOT LIKE '\$2%'")" 0 "no placeholder in the reference table"
# The app renames that user since: undo of the update refuses, --keep-changed
# leaves the user as the app made it (the reference table meets the local
# history through the coordinator).
uid=$(python3 -c 'import json; print(json.load(open("u.json"))["files"][0]["load_id"])')
csql "UPDATE users SET full_name = 'App Name' WHERE full_name = 'Other Name'" >/dev/null
etl --db "$coord" undo "$uid" --yes
expect_rc 4 "undo of a users update the app changed since is refused on Citus"
expect_match "$err" "1 of the rows it updated changed since" "naming the row"
etl --db "$coord" undo "$uid" --yes --keep-changed
expect_rc 0 "--keep-changed on Citus"
expect_eq "$(csql "SELECT count(*) FROM users WHERE full_name = 'App Name'")" 1 "the app's change stays"
# The app changes the product that load inserted, in a reference table whose row
# versions are its shard's: undo refuses and leaves both rows; --overwrite goes on.
upd_id=$(python3 -c 'import json; print(json.load(open("upd.json"))["files"][0]["load_id"])')
new_id=$(csql "SELECT product_id FROM products WHERE sku = 'NEW-001'")
csql "UPDATE products SET price = 999 WHERE sku = 'NEW-001'" >/dev/null
etl --db "$coord" undo "$upd_id" --yes
expect_rc 4 "undo of a product insert the app changed since is refused on Citus"
expect_match "$err" "1 of the rows it inserted changed since \(product_id $new_id\)" "naming the inserted row"
expect_eq "$(csql "SELECT count(*) FROM products WHERE (sku = 'NEW-001' AND price = 999) OR name = 'Renamed'")" "2" \
	"the refused undo changed nothing"
etl --db "$coord" undo "$upd_id" --yes --overwrite
expect_rc 0 "undo --overwrite of the update works through the coordinator"
expect_eq "$(csql "SELECT count(*) FROM products WHERE sku = 'NEW-001' OR name = 'Renamed'")" "0" \
	"the inserted row is gone and the updated one has its values back"
# The app corrects one appended sale (hash-distributed: the xids are each
# worker's own): undo refuses, --keep-changed leaves that sale alone.
app_id=$(python3 -c 'import json; print(json.load(open("append.json"))["files"][0]["load_id"])')
tid=$(csql "SELECT max(transaction_id) FROM transactions")
csql "UPDATE transactions SET quantity_sold = quantity_sold + 100 WHERE transaction_id = $tid" >/dev/null
etl --db "$coord" undo "$app_id" --yes
expect_rc 4 "undo of an append the app changed since is refused on Citus"
expect_match "$err" "1 of the rows it inserted changed since \(transaction_id $tid\)" "naming the changed sale"
expect_eq "$(csql "SELECT count(*) FROM transactions")" "$((sales + append_rows))" "the refused undo deleted nothing"
etl --db "$coord" undo "$app_id" --yes --keep-changed
expect_rc 0 "undo --keep-changed of the append works"
expect_eq "$(csql "SELECT count(*) FROM transactions")" "$((sales + 1))" "the appended sales are gone but the changed one"
expect_eq "$(csql "SELECT count(*) FROM transactions WHERE transaction_id = $tid AND quantity_sold > 100")" "1" \
	"the app's sale is as the app made it"
csql "DELETE FROM transactions WHERE transaction_id = $tid" >/dev/null
expect_eq "$(csql "SELECT count(*) FROM transactions")" "$sales" "the appended sales are gone"

# --- kill -9 in the middle of a batched load on 3 connections, and the exact resume --------------
rows=$(csql "SELECT count(*) FROM transactions")
kills=0
for _ in 1 2 3; do
	"$ETL" --db "$coord" --quiet load --batch-rows 50 --jobs 3 later.csv >/dev/null 2>&1 &
	pid=$!
	running_committed || true
	if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
	wait "$pid" 2>/dev/null
	[ "$(csql "SELECT count(*) FROM etl_loads WHERE status = 'running'")" = 1 ] && break
done
expect_match "$kills" "^[1-3]$" "the batched load was killed ($kills kill(s))"
expect_eq "$(csql "SELECT status FROM etl_loads WHERE load_id = (SELECT max(load_id) FROM etl_loads)")" "running" \
	"the history shows the killed load unfinished"
etl --db "$coord" load --batch-rows 50 --jobs 3 --summary-json resumed.json later.csv
expect_rc 0 "the next run completes it"
expect_match "$err" "resuming load [0-9]+ after [0-9]+ rows already committed" "it resumes after the committed batches"
expect_eq "$(csql "SELECT count(*) FROM transactions")" "$((rows + append_rows))" "no row lost, none doubled"
expect_eq "$(csql "SELECT md5(string_agg(concat_ws(',', product_id, quantity_sold, price_per_unit, transaction_date), ';' ORDER BY transaction_date, product_id, quantity_sold)) FROM transactions WHERE transaction_date >= '2026-07-01'")" \
	"$reference" "the rows equal the uninterrupted append's"

# --- check and history ----------------------------------------------------------------------
etl --db "$coord" check --on-conflict update gen/products.csv.gz
expect_rc 0 "check through the coordinator: an unchanged products file, updated, rejects nothing"
expect_match "$out" "^gen/products\.csv\.gz \(products\): 30 unchanged$" "it says the rows would be left as they are"
printf 'sku,quantity_sold,transaction_date\nGHOST-1,1,2026-07-01\n' >ghost.csv
etl --db "$coord" check ghost.csv
expect_rc 1 "an unknown SKU is a finding"
etl --db "$coord" history --limit 50
expect_rc 0 "history through the coordinator"
expect_match "$out" "later\.csv +sales +loaded" "it lists the resumed load"

# --- the app's forecast query ------------------------------------------------------------------
expect_match "$(csql "SELECT count(*) FROM (SELECT p.sku, DATE(t.transaction_date) AS d, SUM(t.quantity_sold) FROM transactions t JOIN products p ON p.product_id = t.product_id GROUP BY 1, 2) f")" \
	"^[1-9][0-9]*$" "the forecast query (daily quantity per SKU, joined to products) runs on the coordinator"
expect_eq "$(csql "SELECT sum(q) FROM (SELECT p.sku, DATE(t.transaction_date), SUM(t.quantity_sold) AS q FROM transactions t JOIN products p ON p.product_id = t.product_id GROUP BY 1, 2) f")" \
	"$(csql "SELECT sum(quantity_sold) FROM transactions")" "and sees every sale"

# --- seed ---------------------------------------------------------------------------------
$CL start seed_db >>cluster.log 2>&1
seed_url="$($CL url) dbname=seed_db"
etl --db "$seed_url" seed --as-of 2026-06-30
expect_rc 0 "seed on a Citus coordinator"
expect_eq "$(sql "$seed_url" "SELECT partmethod FROM pg_dist_partition WHERE logicalrelid = 'transactions'::regclass")" "h" \
	"seed's schema is the distributed one"
etl --db "$seed_url" seed --as-of 2026-07-02
expect_rc 0 "a later seed adds the days since"
expect_eq "$(sql "$seed_url" "SELECT max(transaction_date)::date FROM transactions")" "2026-07-02" "up to the new as-of day (its end)"

finish
