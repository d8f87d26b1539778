#!/usr/bin/env bash
# bench-expert.sh DB CSV — the initial load an expert does by hand, for
# scripts/bench.sh to time beside siprems-etl: in one transaction TRUNCATE
# transactions, drop its foreign key, primary key and indexes, and
# \copy … FREEZE the product_id-resolved CSV; then the seven indexes built
# again in two parallel sessions with 512 MB of maintenance_work_mem, the
# primary key (on its index) and the foreign key added, and ANALYZE.
# Connects as psql does (PG* variables).  Exits non-zero on any error.
set -euo pipefail
db=$1
csv=$2
q() { psql -X -Atq -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# What the table has, as the catalog says it (names quoted by the server).
mapfile -t idx_defs < <(q -c "SELECT pg_get_indexdef(indexrelid) FROM pg_index
	WHERE indrelid = 'transactions'::regclass AND NOT indisprimary ORDER BY indexrelid")
idx_names=$(q -c "SELECT string_agg(indexrelid::regclass::text, ', ') FROM pg_index
	WHERE indrelid = 'transactions'::regclass AND NOT indisprimary")
pk=$(q -c "SELECT quote_ident(conname) FROM pg_constraint WHERE conrelid = 'transactions'::regclass AND contype = 'p'")
pk_cols=$(q -c "SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.o) FROM pg_constraint c,
	unnest(c.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = 'transactions'::regclass AND a.attnum = k.n
	WHERE c.conrelid = 'transactions'::regclass AND c.contype = 'p'")
mapfile -t fks < <(q -c "SELECT quote_ident(conname) || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
	WHERE conrelid = 'transactions'::regclass AND contype = 'f'")

{
	echo "BEGIN;"
	echo "TRUNCATE transactions;"
	for fk in "${fks[@]}"; do echo "ALTER TABLE transactions DROP CONSTRAINT ${fk%% *};"; done
	echo "ALTER TABLE transactions DROP CONSTRAINT $pk;"
	if [ -n "$idx_names" ]; then echo "DROP INDEX $idx_names;"; fi
	echo "\\copy transactions (product_id, quantity_sold, price_per_unit, transaction_date, is_promo) FROM '$csv' WITH (FORMAT csv, FREEZE)"
	echo "COMMIT;"
} | q >/dev/null

# The seven indexes, the primary key's first, in two sessions side by side.
all=("CREATE UNIQUE INDEX bench_expert_pk ON transactions ($pk_cols)" "${idx_defs[@]}")
pids=()
for lane in 0 1; do
	{
		echo "SET maintenance_work_mem = '512MB';"
		for i in "${!all[@]}"; do
			if [ $((i % 2)) = "$lane" ]; then echo "${all[$i]};"; fi
		done
	} | q >/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
{
	echo "SET client_min_messages = warning;" # (the index takes the key's name)
	echo "ALTER TABLE transactions ADD CONSTRAINT $pk PRIMARY KEY USING INDEX bench_expert_pk;"
	for fk in "${fks[@]}"; do echo "ALTER TABLE transactions ADD CONSTRAINT $fk;"; done
	echo "ANALYZE transactions;"
} | q >/dev/null
