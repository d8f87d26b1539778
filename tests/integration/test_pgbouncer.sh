#!/usr/bin/env bash
# Loading where the app runs: through Debian's PgBouncer in transaction
# pooling (a pool of 2 server connections, other clients using it at the same
# time), and once in session pooling.  The loads must give the same tables as
# direct ones, keep their exactly-once guarantees (a kill -9, two loaders of
# one file), and leave nothing on the pooled server connections: a new client
# of the pool sees the server's settings, and no advisory lock or temporary
# table is left.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
PGB=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
if [ ! -x "$PGB" ]; then
	not_ok "pgbouncer is installed (scripts/install-deps.sh installs it)" "no $PGB"
	finish
fi

pgb_dir=$T_TMP/pgbouncer
mkdir -p "$pgb_dir"
chmod 777 "$pgb_dir"
pgb_port=""
as_server_user=()
[ "$(id -u)" = 0 ] && as_server_user=(runuser -u postgres --)

pgb_stop() {
	[ -f "$pgb_dir/pgbouncer.pid" ] || return 0
	local pid
	pid=$(cat "$pgb_dir/pgbouncer.pid" 2>/dev/null)
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$pgb_dir/pgbouncer.pid"
}
at_exit pgb_stop

pgb_start() { # pool_mode
	pgb_stop
	pgb_port=$((20000 + RANDOM % 30000))
	cat >"$pgb_dir/pgbouncer.ini" <<EOF
[databases]
* = host=$PGHOST port=$PGPORT

[pgbouncer]
listen_addr =
listen_port = $pgb_port
unix_socket_dir = $pgb_dir
auth_type = trust
auth_file = $pgb_dir/userlist.txt
pool_mode = $1
default_pool_size = 2
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
logfile = $pgb_dir/pgbouncer.log
pidfile = $pgb_dir/pgbouncer.pid
EOF
	echo '"postgres" ""' >"$pgb_dir/userlist.txt"
	chmod 644 "$pgb_dir/pgbouncer.ini" "$pgb_dir/userlist.txt"
	"${as_server_user[@]}" "$PGB" -d "$pgb_dir/pgbouncer.ini" >/dev/null 2>&1 || return 1
	for _ in $(seq 1 50); do
		psql -X -Atq -h "$pgb_dir" -p "$pgb_port" -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

pooled() { echo "host=$pgb_dir port=$pgb_port user=postgres dbname=$1"; }
psql_pool() { # db query
	psql -X -Atq -v ON_ERROR_STOP=1 -h "$pgb_dir" -p "$pgb_port" -U postgres -d "$1" -c "$2"
}

# Other clients of the pool, while the loads run: short transactions that
# also read the settings they are given.  Bounded: at most 3000 rounds.
others_start() {
	: >others.log
	(
		for _ in $(seq 1 3000); do
			[ -f others.stop ] && break
			psql_pool pb_others "BEGIN; INSERT INTO ping VALUES (now(), current_setting('synchronous_commit')); COMMIT" >>others.log 2>&1
			sleep 0.02
		done
	) &
	others_pid=$!
}
others_stop() {
	touch others.stop
	wait "$others_pid" 2>/dev/null
	rm -f others.stop
}

dump() { # database: every table's content, ids aside
	sql "$1" "SELECT string_agg(t || ':' || n || ':' || h, ' ' ORDER BY t) FROM (
	  SELECT 'products' t, count(*) n, md5(string_agg(concat_ws(',', sku, name, category, variation, price, stock), '|' ORDER BY sku)) h FROM products
	  UNION ALL SELECT 'users', count(*), md5(string_agg(concat_ws(',', email, full_name, is_active), '|' ORDER BY email)) FROM users
	  UNION ALL SELECT 'events', count(*), md5(string_agg(concat_ws(',', event_name, event_date, type, description, include_in_prediction), '|' ORDER BY event_name, event_date)) FROM events
	  UNION ALL SELECT 'transactions', count(*), md5(string_agg(x, '|' ORDER BY x)) FROM (SELECT concat_ws(',', p.sku, quantity_sold, price_per_unit, transaction_date, is_promo) x FROM transactions JOIN products p USING (product_id)) s) q"
}

# --- the data: generated, with a few bad rows --------------------------------------
"$ETL" generate --out gen --products 60 --days 90 --end 2025-06-30 --seed 5 >/dev/null 2>&1
zcat gen/sales.csv.gz >sales.csv
head -1 sales.csv >sales-a.csv
head -1 sales.csv >sales-b.csv
sed 1d sales.csv | awk 'NR % 2 == 1' >>sales-a.csv
sed 1d sales.csv | awk 'NR % 2 == 0' >>sales-b.csv
echo "GHOST-1,1,,2025-01-01 10:00,false" >>sales-b.csv
zcat gen/products.csv.gz | awk -F, 'BEGIN { OFS = "," } NR == 1 || NR % 3 == 0 { if (NR > 1) $2 = $2 " (baru)"; print }' >products-update.csv
rows=$(($(wc -l <sales.csv) - 1))
echo "# data: $rows sales rows, 60 products"

# The same sequence of loads, through whatever conninfo it is given.
load_all() { # conninfo tag
	local c=$1 tag=$2 rc_all=""
	for step in "load --batch-rows 40 gen/users.csv.gz" \
		"load --batch-rows 25 gen/products.csv.gz" \
		"load --batch-rows 25 --on-conflict update products-update.csv" \
		"load --batch-rows 50 gen/events.csv.gz" \
		"load --batch-rows 500 sales-a.csv" \
		"load --batch-rows 500 sales-b.csv" \
		"load --batch-rows 500 sales-a.csv" \
		"check gen/products.csv.gz"; do
		# shellcheck disable=SC2086
		run "$ETL" --db "$c" --no-progress $step
		rc_all="$rc_all$rc"
		echo "$tag: $step -> $rc" >>steps.log
		[ "$rc" -le 1 ] || printf '%s\n' "$err" >>steps.log
	done
	echo "$rc_all"
}

# --- direct, for reference ---------------------------------------------------------------
direct=$(new_db pb_direct)
codes_direct=$(load_all "$direct" direct)
expect_eq "$codes_direct" "00000101" "direct: every load exits as expected (sales-b has one unknown SKU; check finds the renamed products)"
reference=$(dump pb_direct)

# --- transaction pooling, a pool of 2, other clients meanwhile ------------------------------
if ! pgb_start transaction; then
	not_ok "pgbouncer starts in transaction pooling" "$(tail -5 "$pgb_dir/pgbouncer.log" 2>/dev/null)"
	finish
fi
ok "pgbouncer 1.18 runs in transaction pooling, pool of 2, on port $pgb_port"
new_db pb_pool >/dev/null
new_db pb_others >/dev/null
sql pb_others "CREATE TABLE ping (at timestamptz, sc text)"
others_start
codes_pool=$(load_all "$(pooled pb_pool)" pool)
expect_eq "$codes_pool" "$codes_direct" "through the pooler every load exits as it does directly ($codes_pool)"
expect_eq "$(dump pb_pool)" "$reference" "through the pooler the tables equal the direct load's"
expect_eq "$(sql pb_pool "SELECT string_agg(status, ' ' ORDER BY load_id) FROM etl_loads")" \
	"$(sql pb_direct "SELECT string_agg(status, ' ' ORDER BY load_id) FROM etl_loads")" "and the history says the same"

# kill -9 mid-load through the pooler; the next run completes exactly
killdb=$(new_db pb_kill)
"$ETL" --db "$(pooled pb_kill)" --quiet load gen/products.csv.gz >/dev/null 2>&1
sql pb_kill "INSERT INTO transactions (product_id, quantity_sold, price_per_unit, transaction_date) SELECT min(product_id), 1, 1, '2020-01-01' FROM products" >/dev/null
"$ETL" --db "$(pooled pb_kill)" --quiet load --batch-rows 200 sales.csv >/dev/null 2>&1 &
pid=$!
committed pb_kill
kill -9 "$pid" 2>/dev/null && killed=yes || killed=no
wait "$pid" 2>/dev/null
expect_eq "$killed" "yes" "a load through the pooler was killed mid-load"
etl --db "$(pooled pb_kill)" load --batch-rows 200 sales.csv
expect_rc 0 "the next run through the pooler completes"
expect_match "$err" "was interrupted: pid [0-9]+ on host .* no longer runs|resuming load" "it saw the killed load and resumed it"
expect_eq "$(sql pb_kill "SELECT count(*) - 1 FROM transactions")" "$rows" "every row once: none lost, none doubled"

# two loaders of one file, started together, through the pooler
twodb=$(new_db pb_two)
"$ETL" --db "$(pooled pb_two)" --quiet load gen/products.csv.gz >/dev/null 2>&1
sql pb_two "INSERT INTO transactions (product_id, quantity_sold, price_per_unit, transaction_date) SELECT min(product_id), 1, 1, '2020-01-01' FROM products" >/dev/null
"$ETL" --db "$(pooled pb_two)" load --batch-rows 300 --summary-json one.json sales.csv >/dev/null 2>one.err &
p1=$!
"$ETL" --db "$(pooled pb_two)" load --batch-rows 300 --summary-json two.json sales.csv >/dev/null 2>two.err &
p2=$!
wait "$p1"
wait "$p2"
expect_eq "$( (json_counts one.json; json_counts two.json) | cut -d: -f2 | sort | tr '\n' ' ')" "loaded skipped " \
	"two loaders of one file at once: one loads it, the other finds it loaded"
expect_eq "$(sql pb_two "SELECT count(*) - 1 FROM transactions")" "$rows" "the rows are in once"
# the other commands through the pooler: schema, seed (twice), history,
# --single-transaction, undo
etl --db "$(pooled pb_pool)" schema
expect_rc 0 "schema through the pooler"
expect_match "$out" "schema is up to date" "finds the schema complete"
new_db pb_seed >/dev/null
etl --db "$(pooled pb_seed)" seed
expect_rc 0 "seed through the pooler"
etl --db "$(pooled pb_seed)" seed
expect_match "$out" "nothing to do" "a second seed through the pooler changes nothing"
expect_eq "$(sql pb_seed "SELECT count(*) > 100000 FROM transactions")" "t" "the seeded sales are in"
head -1 sales.csv >single.csv
sed -n '2,41p' sales.csv >>single.csv
etl --db "$(pooled pb_two)" load --single-transaction --batch-rows 7 --summary-json single.json single.csv
expect_eq "$(json_counts single.json | cut -d: -f2-)" "loaded:40:40:0:0:0" "--single-transaction through the pooler: 40 rows in 6 savepoint batches"
etl --db "$(pooled pb_pool)" history --limit 3
expect_rc 0 "history through the pooler"
expect_match "$(echo "$out" | sed -n 2p)" "check|sales" "lists the newest loads"
before=$(sql pb_pool "SELECT count(*) FROM transactions")
id=$(sql pb_pool "SELECT load_id FROM etl_loads WHERE file_name = 'sales-b.csv' AND status = 'partial'")
added=$(sql pb_pool "SELECT rows_loaded FROM etl_loads WHERE load_id = $id")
etl --db "$(pooled pb_pool)" undo --yes "$id"
expect_rc 0 "undo through the pooler"
expect_eq "$(sql pb_pool "SELECT count(*) FROM transactions")" "$((before - added))" "undo removed exactly the $added rows of sales-b"

others_stop
expect_no_match "$(cat others.log)" "ERROR|FATAL" "the other clients of the pool ran without errors"
expect_eq "$(sql pb_others "SELECT count(*) > 0 FROM ping")" "t" "and did run meanwhile"
expect_eq "$(sql pb_others "SELECT count(*) FROM ping WHERE sc <> current_setting('synchronous_commit')")" "0" \
	"none of their transactions ran with the loader's synchronous_commit"

# what a new client of the pool finds on the server connections
server_sc=$(sql postgres "SHOW synchronous_commit")
server_enc=$(psql -X -Atq -d postgres -c "SHOW client_encoding")
seen=""
for _ in 1 2 3 4 5 6; do
	seen="$seen$(psql_pool pb_pool "SHOW synchronous_commit") $(psql_pool pb_pool "SHOW client_encoding") $(psql_pool pb_pool "SELECT count(*) FROM pg_class WHERE relpersistence = 't'")|"
done
expect_eq "$seen" "$(for _ in 1 2 3 4 5 6; do printf '%s %s 0|' "$server_sc" "$server_enc"; done)" \
	"six new clients of the pool see the server's synchronous_commit and their own client_encoding, and no temporary table"
expect_eq "$(sql postgres "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" "0" "no advisory lock is held anywhere"
expect_eq "$(sql postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = 'pb_pool' AND state = 'idle in transaction'")" "0" \
	"no pooled connection is left in a transaction"
expect_eq "$(sql pb_pool "SELECT count(*) FROM pg_class WHERE relname LIKE 'etl_stage%'")" "0" "no staging table is left"

# --- session pooling, once ---------------------------------------------------------------------
if pgb_start session; then
	new_db pb_session >/dev/null
	codes_session=$(load_all "$(pooled pb_session)" session)
	expect_eq "$codes_session" "$codes_direct" "in session pooling every load exits as it does directly"
	expect_eq "$(dump pb_session)" "$reference" "and the tables equal the direct load's"
	expect_eq "$(psql_pool pb_session "SHOW synchronous_commit")" "$server_sc" "a new client of the session pool sees the server's synchronous_commit"
else
	not_ok "pgbouncer starts in session pooling" "$(tail -5 "$pgb_dir/pgbouncer.log" 2>/dev/null)"
fi
pgb_stop
finish
