#!/usr/bin/env bash
# The empty-table path through a shadow table (--jobs 2, a file of more than
# one batch): the rows go into a new table on a second connection, its
# indexes are built on two connections at once, and the load's transaction
# swaps it in.  The table comes back with every index, key, grant, comment
# and its sequence; readers are not blocked while it loads; kill -9 and
# SIGTERM before the swap leave the table empty (the next run drops the
# shadow left behind); a row an index or CHECK refuses sends the file
# through the batches; a table the swap cannot carry (a view uses it) and
# --jobs 1 load the one-transaction way.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1

awk 'BEGIN { print "sku,name,price"; for (i = 1; i <= 200; i++) printf "S-%03d,Product %d,%d\n", i, i, 1000 + i * 5 }' >products.csv
make_sales() { # rows [duplicate] -> sales, one second apart; with duplicate, row 5000 repeats row 4999's SKU and time
	awk -v n="$1" -v dup="${2:-0}" 'BEGIN { srand(5); print "sku,quantity_sold,price_per_unit,transaction_date"
	for (i = 1; i <= n; i++) {
		t = (dup && i == 5000) ? i - 1 : i
		printf "S-%03d,%d,%d,2025-01-%02d %02d:%02d:%02d\n", 1 + (t * 7) % 200, 1 + int(rand() * 6), 1000 + int(rand() * 900),
			1 + int(t / 86400), int(t % 86400 / 3600), int(t % 3600 / 60), t % 60
	} }'
}
# Sizes: 400,000 rows, for index builds on the shadow that last long enough
# for a kill and a SIGTERM to land inside them, and a COPY that readers
# query beside; nothing here is repeated, so no smaller tier.
make_sales 400000 >sales.csv
make_sales 400000 1 >dup.csv
rows=400000

# What the swap must carry over: indexes, constraints, grants, comment, the
# sequence's owner and the default that uses it.
structure() { # database
	sql "$1" "SELECT string_agg(d, E'\n' ORDER BY d) FROM (
	  SELECT indexdef d FROM pg_indexes WHERE tablename = 'transactions'
	  UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'transactions'::regclass
	  UNION ALL SELECT 'acl ' || coalesce(relacl::text, '-') || ' comment ' || coalesce(obj_description(oid, 'pg_class'), '-') FROM pg_class WHERE oid = 'transactions'::regclass
	  UNION ALL SELECT 'sequence ' || pg_get_serial_sequence('transactions', 'transaction_id')
	  UNION ALL SELECT 'default ' || pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'transactions'::regclass) s"
}
leftovers() { # database
	sql "$1" "SELECT count(*) FROM pg_class WHERE relname LIKE 'siprems\\_etl\\_shadow\\_%'"
}
prepare() { # database -> conninfo: the schema, the products, a grant and a comment
	local c
	c=$(products_db "$1")
	psql -X -q -d postgres -c "DO \$\$ BEGIN CREATE ROLE etl_shadow_reader; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" >/dev/null 2>&1
	sql "$1" "GRANT SELECT ON transactions TO etl_shadow_reader; COMMENT ON TABLE transactions IS 'sales, one row per sale'" >/dev/null
	echo "$c"
}
# Watches the database while a load runs: the most index builds on the
# shadow at one moment, and whether a reader got the (empty) table within 1 s.
watch() { # database pid -> $builds $reads
	builds=0
	reads=0
	local n
	while kill -0 "$2" 2>/dev/null; do
		n=$(psql -X -Atq -d "$1" -c "SELECT count(*) FROM pg_stat_progress_create_index p JOIN pg_class c ON c.oid = p.relid WHERE c.relname LIKE 'siprems\\_etl\\_shadow\\_%'" 2>/dev/null)
		[ "${n:-0}" -gt "$builds" ] && builds=$n
		if [ "${n:-0}" -gt 0 ] && [ "$(psql -X -Atq -d "$1" -c "SET lock_timeout = '1s'" -c "SELECT count(*) FROM transactions" 2>/dev/null)" = 0 ]; then
			reads=$((reads + 1))
		fi
		sleep 0.02
	done
}

# --- the shadow table's way ---------------------------------------------------------
ref=$(prepare shadow_ref)
before=$(structure shadow_ref)
"$ETL" --db "$ref" --no-progress load --summary-json ref.json sales.csv >ref.out 2>ref.err &
pid=$!
watch shadow_ref "$pid"
wait "$pid"
expect_eq "$?" "0" "an initial load of $rows rows takes the shadow table's way"
expect_match "$(cat ref.err)" "transactions was empty: loaded with one COPY into a shadow table, its indexes built on 2 connections, swapped in in one transaction \(indexes and foreign keys rebuilt: 8\)" \
	"it says so, with the 7 indexes and the foreign key"
expect_eq "$(json_check ref.json | cut -d' ' -f1)" "sales.csv:loaded:$rows:$rows:0" "every row is loaded"
expect_eq "$builds" "2" "two connections build the shadow's indexes at the same moment"
expect_match "$reads" "^[1-9]" "a reader gets the empty table while the indexes are built ($reads reads)"
expect_eq "$(structure shadow_ref)" "$before" "the table has its indexes, keys, grants, comment and sequence back, as defined"
expect_eq "$(sql shadow_ref "SELECT count(*) FROM pg_index WHERE indrelid = 'transactions'::regclass AND indisvalid AND indisready")" "7" "every index is valid"
expect_eq "$(leftovers shadow_ref)" "0" "no shadow is left"
expect_eq "$(sql shadow_ref "SELECT status || ' ' || rows_loaded FROM etl_loads WHERE kind = 'sales'")" "loaded $rows" "the history records the load"
expect_eq "$(sql shadow_ref "INSERT INTO transactions (product_id, quantity_sold, price_per_unit) SELECT min(product_id), 1, 1 FROM products RETURNING transaction_id = (SELECT max(transaction_id) FROM transactions WHERE quantity_sold > 1 OR price_per_unit > 1) + 1")" \
	"t" "the sequence continues after the loaded rows"
run psql -X -Atq -d shadow_ref -c "INSERT INTO transactions (product_id, quantity_sold, price_per_unit) VALUES (999999, 1, 1)"
expect_match "$err" "foreign key" "the foreign key is enforced"
sql shadow_ref "DELETE FROM transactions WHERE quantity_sold = 1 AND price_per_unit = 1" >/dev/null
ref_sum=$(sales_checksum shadow_ref)
expect_eq "$(sql shadow_ref "SET ROLE etl_shadow_reader; SELECT count(*) FROM transactions")" "$rows" "the granted role reads the loaded table"
sql shadow_ref "DROP TABLE transactions" >/dev/null 2>&1
expect_eq "$(sql shadow_ref "SELECT count(*) FROM pg_class WHERE relname = 'transactions_transaction_id_seq'")" "0" \
	"the sequence belongs to the new table (dropped with it)"

# --- --jobs 1: the one-transaction way, the same table -----------------------------------
one=$(prepare shadow_one)
"$ETL" --db "$one" --no-progress load --jobs 1 sales.csv >one.out 2>one.err &
pid=$!
watch shadow_one "$pid"
wait "$pid"
expect_eq "$?" "0" "--jobs 1 loads the same file"
expect_match "$(cat one.err)" "transactions was empty: loaded with one COPY in one transaction \(indexes and foreign keys rebuilt: 8\)" "the one-transaction way"
expect_eq "$builds" "0" "no shadow is built"
expect_no_match "$(cat one.err)" "not through a shadow table" "--jobs 1, the operator's choice, is said only with --verbose"
expect_match "$ref_sum" "^$rows " "the shadow's way loaded every row"
expect_eq "$(sales_checksum shadow_one)" "$ref_sum" "the one-transaction way gives the same rows"

# during_builds DATABASE PID COMMAND...: runs COMMAND once the shadow's
# indexes are being built (while the loader PID lives); hit=1 when it ran
# and succeeded.
during_builds() {
	local db=$1 pid=$2 n
	shift 2
	hit=0
	for _ in $(seq 1 1500); do
		n=$(psql -X -Atq -d "$db" -c "SELECT count(*) FROM pg_stat_progress_create_index p JOIN pg_class c ON c.oid = p.relid WHERE c.relname LIKE 'siprems\\_etl\\_shadow\\_%'" 2>/dev/null)
		if [ "${n:-0}" -gt 0 ]; then
			"$@" && hit=1
			return
		fi
		kill -0 "$pid" 2>/dev/null || return
		sleep 0.02
	done
}
# Terminates the backends the query names; fails when there were none.
terminate() { # database query
	[ "$(psql -X -Atq -d "$1" -c "SELECT count(pg_terminate_backend(pid)) FROM ($2) w" 2>/dev/null)" -gt 0 ]
}
# --- kill -9 and SIGTERM while the indexes are built --------------------------------------
for sig in KILL TERM; do
	db=shadow_$(echo "$sig" | tr 'A-Z' 'a-z')
	c=$(prepare "$db")
	"$ETL" --db "$c" --no-progress load sales.csv >sig.out 2>sig.err &
	pid=$!
	during_builds "$db" "$pid" kill -"$sig" "$pid"
	wait "$pid"
	rc=$?
	expect_eq "$hit" "1" "SIG$sig reached the loader while the shadow's indexes were built"
	[ "$sig" = TERM ] && expect_eq "$rc" "5" "SIGTERM stops the load with exit 5"
	expect_eq "$(sql "$db" "SELECT count(*) FROM transactions")" "0" "after SIG$sig the table is empty"
	expect_eq "$(structure "$db")" "$before" "and as it was"
	if [ "$sig" = KILL ]; then
		expect_eq "$(leftovers "$db")" "1" "kill -9 leaves the shadow behind"
	else
		expect_eq "$(leftovers "$db")" "0" "SIGTERM drops the shadow"
	fi
	etl --db "$c" --no-progress load sales.csv
	expect_rc 0 "after SIG$sig the next run loads the file"
	expect_match "$err" "loaded with one COPY into a shadow table" "through the shadow again"
	expect_eq "$(sales_checksum "$db")" "$ref_sum" "every row once, as in an uninterrupted load"
	expect_eq "$(leftovers "$db")" "0" "and the shadow left behind is gone"
	expect_eq "$(structure "$db")" "$before" "with the table's indexes, keys, grants and comment"
done

# --- a connection terminated while the indexes are built --------------------------------
# The load's own connection (it holds the table's EXCLUSIVE lock), the
# shadow's second one, or both: the load fails (exit 4), the table is empty
# and as it was, and no shadow is left by a load that ended while its
# process lived (a new connection drops it when both are gone).
db=shadow_terminate
c=$(prepare "$db")
for which in own second both; do
	case $which in
	own) who="SELECT pid FROM pg_locks WHERE relation = 'transactions'::regclass AND mode = 'ExclusiveLock' AND granted" ;;
	second) who="SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'siprems-etl%' AND backend_xid IS NOT NULL AND pid NOT IN (SELECT pid FROM pg_locks WHERE relation = 'transactions'::regclass AND mode = 'ExclusiveLock')" ;;
	both) who="SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'siprems-etl%'" ;;
	esac
	"$ETL" --db "$c" --no-progress load sales.csv >term.out 2>term.err &
	pid=$!
	during_builds "$db" "$pid" terminate "$db" "$who"
	wait "$pid"
	rc=$?
	expect_eq "$hit" "1" "$which connection terminated while the shadow's indexes were built"
	expect_eq "$rc" "4" "$which: the load fails with exit 4"
	expect_eq "$(sql "$db" "SELECT count(*) FROM transactions")" "0" "$which: the table is empty"
	expect_eq "$(structure "$db")" "$before" "$which: and as it was"
	expect_eq "$(leftovers "$db")" "0" "$which: no shadow table is left"
done
etl --db "$c" --no-progress load sales.csv
expect_rc 0 "the next run loads the file"
expect_eq "$(sales_checksum "$db")" "$ref_sum" "every row once, as in an uninterrupted load"

# --- refused rows: the batches find them -----------------------------------------------
c=$(prepare shadow_check)
sql shadow_check "ALTER TABLE transactions ADD CONSTRAINT no_1234 CHECK (price_per_unit <> 1234)" >/dev/null
sixes=$(awk -F, 'NR > 1 && $3 == 1234' sales.csv | wc -l)
etl --db "$c" --no-progress load --summary-json check.json sales.csv
expect_rc 1 "rows a CHECK refuses are rejected (exit 1)"
expect_match "$err" "the one-transaction load into the empty table gave way \(.*relation \"transactions\" violates check constraint \"no_1234\".*\); loading the file again in batches" \
	"the shadow's COPY is refused by the CHECK and the file goes through the batches"
expect_eq "$(json_check check.json | cut -d' ' -f1)" "sales.csv:partial:$rows:$((rows - sixes)):$sixes" "only the refused rows are rejected"
expect_eq "$(leftovers shadow_check)" "0" "no shadow is left"

c=$(prepare shadow_unique)
sql shadow_unique "CREATE UNIQUE INDEX one_sale_per_time ON transactions (product_id, transaction_date)" >/dev/null
etl --db "$c" --no-progress load --summary-json unique.json dup.csv
expect_rc 1 "a row a unique index refuses is rejected (exit 1)"
expect_match "$err" "gave way \(.*could not create unique index \"one_sale_per_time\".*\); loading the file again in batches" \
	"the shadow's unique index build is refused and the file goes through the batches"
expect_eq "$(json_check unique.json | cut -d' ' -f1)" "dup.csv:partial:$rows:$((rows - 1)):1" "only the repeated row is rejected"
expect_eq "$(leftovers shadow_unique)" "0" "no shadow is left"
expect_eq "$(sql shadow_unique "SELECT count(*) FROM pg_indexes WHERE tablename = 'transactions'")" "8" "the table keeps every index"

# --- a table the swap cannot carry over --------------------------------------------------
c=$(prepare shadow_view)
sql shadow_view "CREATE VIEW sales_per_day AS SELECT transaction_date::date d, sum(quantity_sold) q FROM transactions GROUP BY 1" >/dev/null
etl --db "$c" --no-progress load sales.csv
expect_rc 0 "a table a view uses loads"
expect_match "$err" "transactions was empty: loaded with one COPY in one transaction" "the one-transaction way, since a swap would drop the view"
expect_match "$err" "sales\.csv: transactions: not through a shadow table \(views, functions or an extension depend on it\): one COPY in one transaction, readers of the table wait until it commits" \
	"and says why, without --verbose"
expect_eq "$(sql shadow_view "SELECT sum(q) FROM sales_per_day")" "$(sql shadow_view "SELECT sum(quantity_sold) FROM transactions")" "the view reads the loaded rows"
expect_eq "$(sales_checksum shadow_view)" "$ref_sum" "every row is loaded"

# --- PostgreSQL 18: NOT NULL constraints in pg_constraint, WITHOUT OVERLAPS keys -----------
if [ "$(sql postgres "SHOW server_version_num")" -ge 180000 ]; then
	c=$(prepare shadow_pg18)
	sql shadow_pg18 "COMMENT ON CONSTRAINT transactions_product_id_not_null ON transactions IS 'every sale has a product';
	  ALTER TABLE transactions ALTER CONSTRAINT transactions_quantity_sold_not_null NO INHERIT" >/dev/null
	before=$(structure shadow_pg18)
	etl --db "$c" --no-progress load sales.csv
	expect_rc 0 "18: a table with a commented and a NO INHERIT NOT NULL constraint loads"
	expect_match "$err" "loaded with one COPY into a shadow table" "18: through the shadow table"
	expect_eq "$(structure shadow_pg18)" "$before" "18: the swap carries every NOT NULL constraint over, named as before"
	expect_eq "$(sql shadow_pg18 "SELECT string_agg(conname || ' ' || connoinherit || ' ' || coalesce(obj_description(oid, 'pg_constraint'), '-'), ', ' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'transactions'::regclass AND contype = 'n' AND conname IN ('transactions_product_id_not_null', 'transactions_quantity_sold_not_null')")" \
		"transactions_product_id_not_null false every sale has a product, transactions_quantity_sold_not_null true -" "18: with its comment and NO INHERIT"
	expect_eq "$(sales_checksum shadow_pg18)" "$ref_sum" "18: every row is loaded"

	c=$(prepare shadow_period)
	sql shadow_period "CREATE EXTENSION btree_gist; ALTER TABLE transactions ADD COLUMN during tstzrange DEFAULT tstzrange('2020-01-01', NULL);
	  ALTER TABLE transactions ADD CONSTRAINT one_id_per_period UNIQUE (transaction_id, during WITHOUT OVERLAPS)" >/dev/null
	etl --db "$c" --no-progress load sales.csv
	expect_rc 0 "18: a table with a WITHOUT OVERLAPS key loads"
	expect_match "$err" "transactions: not through a shadow table \(a constraint is .*WITHOUT OVERLAPS.*\): one COPY in one transaction" \
		"18: the one-transaction way, and says why"
	expect_eq "$(sql shadow_period "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'one_id_per_period'")" \
		"UNIQUE (transaction_id, during WITHOUT OVERLAPS)" "18: the key is rebuilt as it was"
	expect_eq "$(sales_checksum shadow_period)" "$ref_sum" "18: every row is loaded"
fi
finish
