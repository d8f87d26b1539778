#!/usr/bin/env bash
# A reject directory that fills up: the load stops (exit 5) with a line
# naming the file and the reason, keeps what its committed batches did, and
# once there is room again the next run resumes and ends with every good row
# once and every rejected row once in its reject file.  A real tmpfs of
# 64 KiB (as root a mount; otherwise in a user and mount namespace of its
# own).  2,000 rows in batches of 200: enough rejects to fill it midway.
if [ "$(id -u)" != 0 ] && [ -z "${SIPREMS_ETL_NS:-}" ]; then
	exec env SIPREMS_ETL_NS=1 unshare -rm bash "$0" "$@"
fi
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
db=$(new_db diskfull_db)
"$ETL" --db "$db" schema >/dev/null
# A table with a row: the batched path, whose batches commit one by one.
sql diskfull_db "INSERT INTO products (sku, name, price) VALUES ('DF-1', 'Satu', 1000);
  INSERT INTO transactions (product_id, quantity_sold, price_per_unit, transaction_date)
  SELECT product_id, 100000, 1000, '2023-01-01' FROM products"

mkdir small
mount -t tmpfs -o size=64k,mode=0755 tmpfs small || { not_ok "a tmpfs can be mounted"; finish; }
at_exit "umount '$T_TMP/small'"

# Every other row is rejected, its reason and fields about 100 bytes: about
# 100 KB of rejects in all, more than the 64 KiB there is.
python3 - <<'EOF'
with open("sales.csv", "w") as f:
    f.write("sku,quantity_sold,transaction_date\n")
    for i in range(2000):
        sku = "DF-1" if i % 2 == 0 else "NOPE-%s" % ("x" * 60)
        f.write("%s,%d,2024-03-%02d 10:%02d\n" % (sku, i + 1, i % 28 + 1, i % 60))
EOF
etl --db "$db" load --batch-rows 200 --reject-dir small sales.csv
expect_rc 5 "a full reject directory stops the load, resumably"
expect_match "$err" "sales\.csv.*(No space left on device|cannot write)" "and says what and why"
loaded=$(sql diskfull_db "SELECT count(*) - 1 FROM transactions")
expect_eq "$(sql diskfull_db "SELECT status || ' ' || rows_loaded FROM etl_loads")" "failed $loaded" \
	"what is in is what the history says its committed batches loaded"
expect_eq "$((loaded > 0 && loaded < 1000))" 1 "some batches, not all ($loaded rows)"

mount -o remount,size=16m small
etl --db "$db" load --batch-rows 200 --reject-dir small sales.csv
expect_rc 1 "with room again the next run resumes and ends (exit 1: rows rejected)"
expect_eq "$(sql diskfull_db "SELECT count(*), count(DISTINCT quantity_sold) FROM transactions WHERE quantity_sold < 100000")" "1000|1000" \
	"every good row is in once"
expect_eq "$(($(wc -l <small/sales.csv.rejects.csv) - 1))" 1000 "every rejected row is in the reject file"
expect_eq "$(cut -d, -f4 small/sales.csv.rejects.csv | tail -n +2 | sort -n | uniq -d | wc -l)" 0 "once"
expect_eq "$(ls -A small | grep -c '\.part$')" 0 "and no .part is left"

finish
