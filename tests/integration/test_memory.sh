#!/usr/bin/env bash
# Memory is bounded by design, not by the input's good manners: the inputs
# of the security review — one gzip line of 40 million commas (40 KB),
# events with 2 MiB descriptions (a few hundred KB of gzip), a 4 KB gzip of
# two million bad rows — through check, load --dry-run and load (the fast
# path into an empty table and the batched one), each under 256 MiB of peak
# resident memory (GNU time's maximum RSS); the rejects stop at the default
# bound (100,000 rows), resumably.  Sizes are the review's: what is proved
# is a bound, which needs inputs that would break it.  The distinct keys a
# run holds are bounded too (--max-key-memory): 200,000 62-character SKUs
# against a 16M bound here, a million against the default (160M) under
# make test-big (and in CI's big stage).
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
db=$(new_db memory_db)
"$ETL" --db "$db" schema >/dev/null
limit=$((256 * 1024)) # KiB

# under_limit WHAT EXIT ARGS...: runs the tool under GNU time, expects its
# exit and a peak RSS under the limit.
under_limit() {
	local what=$1 want=$2
	shift 2
	run /usr/bin/time -f %M -o rss.txt "$ETL" --db "$db" "$@"
	expect_rc "$want" "$what: exit $want"
	local kib
	kib=$(tail -n 1 rss.txt)
	echo "# $what: peak RSS $((kib / 1024)) MiB"
	# A sanitizer's shadow memory is not the tool's: the plain build (make
	# test, and every major in CI) measures the bound.
	if [ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ]; then
		expect_eq "$rc" "$want" "$what: (its RSS is measured by the plain build, not under a sanitizer)"
		return
	fi
	expect_eq "$((kib < limit))" 1 "$what: peak RSS $((kib / 1024)) MiB is under 256 MiB"
}

python3 - <<'EOF'
import gzip
with gzip.open("commas.csv.gz", "wb", 9) as f:
    f.write(b"sku,name,price\n" + b"," * 40_000_000 + b"\n")
desc = b"d" * (2 << 20)
with gzip.open("wide.csv.gz", "wb", 9) as f:
    f.write(b"event_name,event_date,type,description\n")
    for i in range(120):
        f.write(b"Wide %d,2024-01-01,promotion," % i + desc + b"\n")
with gzip.open("wide-bad.csv.gz", "wb", 9) as f:
    f.write(b"sku,name,price\n")
    name = b"n" * (1 << 20)
    for i in range(300):
        f.write(b"BAD SKU %d," % i + name + b",1\n")
    for i in range(100):
        f.write(b"OK-%d,Good,1\n" % i)
with gzip.open("bad.csv.gz", "wb", 9) as f:
    f.write(b"sku,name,price\n" + b"x\n" * 2_000_000)
EOF
expect_eq "$(($(stat -c %s commas.csv.gz) < 100000))" 1 "the commas are a small gzip"

# --- 40 million commas in one record -----------------------------------------------
under_limit "check of 40M commas" 1 check commas.csv.gz
expect_match "$out" "record has more than 10000 fields" "the record is malformed, said so"
under_limit "load --dry-run of 40M commas" 1 load --dry-run commas.csv.gz
under_limit "load of 40M commas" 1 load commas.csv.gz
expect_eq "$(sql memory_db "SELECT count(*) FROM products")" 0 "nothing of it loads"

# --- rows of 2 MiB -----------------------------------------------------------------
under_limit "check of 120 rows of 2 MiB" 0 check wide.csv.gz
under_limit "load --dry-run of 120 rows of 2 MiB" 0 load --dry-run wide.csv.gz
under_limit "load of 120 rows of 2 MiB (fast path, empty table)" 0 load wide.csv.gz
sql memory_db "DELETE FROM events; DELETE FROM etl_loads; INSERT INTO events (event_name, event_date, type) VALUES ('Other', '2024-01-02', 'holiday')"
under_limit "load of 120 rows of 2 MiB (batched path)" 0 load --batch-rows 50000 wide.csv.gz
expect_eq "$(sql memory_db "SELECT count(*), sum(length(description)) FROM events WHERE event_name LIKE 'Wide %'")" \
	"120|$((120 * 2 * 1024 * 1024))" "every wide row is in, whole"

# --- 300 rejected rows of 1 MiB, held back for their batch's commit --------------------
sql memory_db "INSERT INTO products (sku, name, price) VALUES ('KEEP-1', 'Keep', 1)"
under_limit "load of 300 rejected rows of 1 MiB (batched)" 1 load wide-bad.csv.gz
under_limit "the same with --jobs 1 --batch-rows 700" 1 load --force --jobs 1 --batch-rows 700 wide-bad.csv.gz
expect_eq "$(sql memory_db "SELECT count(*) FROM products WHERE sku LIKE 'OK-%'")" 100 "its good rows are in"

# --- two million bad rows: the default bound -------------------------------------------
under_limit "load of 2M bad rows" 5 load bad.csv.gz
expect_match "$err" "stopped: more than 100000 rows rejected \(--max-rejects\); the next run resumes after row 100001" \
	"the rejects stop at the default bound, resumably"
expect_eq "$(($(wc -l <bad.csv.gz.rejects.csv) - 1))" 100001 "the reject file holds the rows up to the bound"
expect_eq "$(sql memory_db "SELECT count(*) FROM etl_load_rejects WHERE load_id = (SELECT max(load_id) FROM etl_loads)")" \
	100001 "so does the history"
under_limit "load of 2M bad rows, a reject-file bound" 5 load --max-rejects none --max-reject-bytes 100000 bad.csv.gz
expect_match "$err" "stopped: its reject file passed 100000 bytes \(--max-reject-bytes\)" "a byte bound stops it too"
under_limit "check of 2M bad rows" 1 check bad.csv.gz

# --- many distinct keys: the key memory bound --------------------------------------
nkeys=$(scale 200000 1000000)
python3 - "$nkeys" <<'EOF'
import sys
with open("keys.csv", "w") as f:
    f.write("sku,name,price\n")
    for i in range(int(sys.argv[1])):
        f.write("SKU-%058d,Product %d,1000\n" % (i, i))
EOF
bound_said="more distinct keys than the key memory bound allows: the keys the run holds to find repeated ones reached 16 MiB \(--max-key-memory\)"
# under_bound WHAT ARGS...: like under_limit (exit 5), and within the bound and
# 64 MiB for the rest of the run.
under_bound() {
	local what=$1
	shift
	under_limit "$what" 5 "$@"
	expect_match "$err" "keys.csv:[0-9]+: $bound_said" "$what: the bound is named, at the line it was reached"
	if [ -z "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ]; then
		expect_eq "$(($(tail -n 1 rss.txt) < (16 + 64) * 1024))" 1 "$what: peak RSS within the 16M bound and 64 MiB"
	fi
}
under_bound "check of $nkeys keys past a 16M bound" check --max-key-memory 16M keys.csv
under_bound "load --dry-run of $nkeys keys past a 16M bound" load --dry-run --max-key-memory 16M keys.csv
before=$(sql memory_db "SELECT count(*) FROM products")
under_limit "load of $nkeys keys past a 16M bound (batched)" 5 load --max-key-memory 16M keys.csv
expect_match "$err" "$bound_said; raise it \(--max-key-memory 1G, or none\) or split the file over several runs; the next run resumes after row [0-9]+" \
	"the load says the bound, how to lift it, and where the next run resumes"
committed=$(sql memory_db "SELECT count(*) FROM products WHERE sku LIKE 'SKU-%'")
expect_eq "$((committed > 0 && committed < nkeys))" 1 "the batches before the bound stay committed ($committed rows)"
run "$ETL" --db "$db" load --max-key-memory none keys.csv
expect_rc 0 "the rerun with --max-key-memory none finishes the file"
expect_match "$err" "resuming load [0-9]+ after $committed rows already committed" "it resumes after the committed rows"
expect_eq "$(sql memory_db "SELECT count(*), count(DISTINCT sku) FROM products WHERE sku LIKE 'SKU-%'")" \
	"$nkeys|$nkeys" "every key once"
expect_eq "$(sql memory_db "SELECT count(*) FROM products")" "$((before + nkeys))" "nothing else changed"
run "$ETL" --db "$db" check --max-key-memory 12 keys.csv
expect_rc 2 "a bound under 1M is a usage error"
expect_match "$err" "--max-key-memory: \"12\" is not a size of at least 1M" "and says so"
run "$ETL" --db "$db" load --max-key-memory 2X keys.csv
expect_rc 2 "a size with an unknown suffix is a usage error"
# A bound reached while reading a table's keys fails each file that needs
# them, commits nothing of them, and a rerun with room loads every row once
# (sales files need the products' SKUs: 200,000 of them here).
first=$(printf 'SKU-%058d' 1)
last=$(printf 'SKU-%058d' $((nkeys - 1)))
for day in 1 2; do
	printf 'sku,quantity_sold,price_per_unit,transaction_date,is_promo\n%s,1,,2024-01-0%d 07:44:00,false\n%s,1,,2024-01-0%d 08:00:00,false\n' \
		"$first" "$day" "$last" "$day" >"s$day.csv"
done
sales_before=$(sql memory_db "SELECT count(*) FROM transactions")
run "$ETL" --db "$db" load --max-key-memory 16M s1.csv s2.csv
expect_rc 5 "sales files whose products' SKUs pass the bound: exit 5"
expect_match "$err" "s1.csv: more distinct keys than the key memory bound allows: the keys the run holds, with those it read from the tables its files load, reached 16 MiB" \
	"the first file fails, named, the table's keys said"
expect_match "$err" "s2.csv: more distinct keys than the key memory bound allows" "and so does the second: no file is judged by half a map"
expect_eq "$(sql memory_db "SELECT count(*) FROM transactions")" "$sales_before" "nothing of them committed"
run "$ETL" --db "$db" load --max-key-memory none s1.csv s2.csv
expect_rc 0 "with room, both load"
expect_eq "$(sql memory_db "SELECT count(*) FROM transactions")" "$((sales_before + 4))" "every row once"
# A dry run reads only the keys of its files' kinds: an events file is not
# held back by the products' 200,000 SKUs.
printf 'event_name,event_date,type\nSmall,2024-03-01,holiday\n' >small-events.csv
run "$ETL" --db "$db" load --dry-run --max-key-memory 16M small-events.csv
expect_rc 0 "a dry run of an events file under a bound the products' keys would pass"
# check's report stays whole when the bound stops it: none when the table's
# keys pass it, a whole one when the file's do (an empty database).
run "$ETL" --db "$db" check --format json --max-key-memory 16M keys.csv
expect_rc 5 "check --format json, the table's keys past the bound: exit 5"
expect_eq "$out" "" "and no half a document"
empty=$(new_db memory_empty_db)
"$ETL" --db "$empty" schema >/dev/null
run "$ETL" --db "$empty" check --format json --max-key-memory 16M keys.csv
expect_rc 5 "check --format json, the file's keys past the bound: exit 5"
expect_eq "$(printf '%s' "$out" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["files"][-1]["error"][:46], d["total"]["insert"] >= 0)')" \
	"more distinct keys than the key memory bound a True" "its JSON is a whole document naming why the file stopped"
if [ "${ETL_TEST_BIG:-0}" = 1 ]; then
	# The default bound (160M) and a million keys, in a database of its own:
	# a dry run and a load into the empty table hold them; check, which keeps
	# each key's values too, and a dry run against the million loaded, stop
	# at the bound.
	big=$(new_db memory_big_db)
	"$ETL" --db "$big" schema >/dev/null
	db_small=$db
	db=$big
	under_limit "load --dry-run of a million keys, the default bound" 0 load --dry-run keys.csv
	under_limit "load of a million keys into the empty table, the default bound" 0 load keys.csv
	expect_eq "$(sql memory_big_db "SELECT count(DISTINCT sku) FROM products")" 1000000 "all in"
	under_limit "check of a million keys, the default bound" 5 check keys.csv
	expect_match "$err" "reached 160 MiB \(--max-key-memory\)" "check stops at the bound, saying so"
	under_limit "load --dry-run of a million keys against the million, the default bound" 5 \
		load --dry-run keys.csv
	expect_match "$err" "reached 160 MiB \(--max-key-memory\)" "so does the dry run, which reads the table's keys too"
	db=$db_small
fi

finish
