#!/usr/bin/env bash
# The malformed-input corpus (tests/malformed/CASES): every file loads into
# a database holding the products SKU-1 and SKU-2 within a time limit, with
# the exit code, status and counts the manifest gives, the counts adding up,
# the table holding exactly the rows reported loaded, and the message or
# reject reason named.  `check` and `load --dry-run` read every file too,
# without crashing or hanging.
. "$(dirname "$0")/../lib.sh"

corpus="$ROOT/tests/malformed"
cd "$T_TMP" || exit 1
db=$(new_db etl_malformed)
etl --db "$db" --quiet schema
expect_rc 0 "the schema is created"

# The two large inputs, made here rather than committed.
python3 - <<'PY'
with open("field-10mb.csv", "w") as f:
    f.write("sku,name,price\nP-1,a,1.00\nP-2," + "n" * (10 * 1024 * 1024) + ",2.00\n")
with open("columns-10000.csv", "w") as f:
    names = ["sku", "name", "price"] + [f"extra_{i}" for i in range(4, 10001)]
    f.write(",".join(names) + "\n" + ",".join(["P-1", "a", "1.00"] + ["x"] * 9997) + "\n")
PY

printf 'sku,name,price\nSKU-1,One,10.00\nSKU-2,Two,2.50\n' >base.csv
table_of() {
	case "$1" in
	products) echo products ;; sales) echo transactions ;; events) echo events ;; users) echo users ;;
	*) echo "" ;;
	esac
}
total_rows() {
	sql "$db" "SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM transactions) +
	           (SELECT count(*) FROM events) + (SELECT count(*) FROM users)"
}

ncases=0
while IFS='|' read -r file opts code outcome pattern; do
	file=$(echo "$file" | xargs)
	case "$file" in '' | '#'*) continue ;; esac
	ncases=$((ncases + 1))
	opts=$(echo "$opts" | xargs)
	code=$(echo "$code" | xargs)
	outcome=$(echo "$outcome" | xargs)
	pattern=$(echo "$pattern" | sed 's/^ *//; s/ *$//')
	if [ "${file#@}" != "$file" ]; then src="$T_TMP/${file#@}"; file=${file#@}; else src="$corpus/$file"; fi
	what="$file${opts:+ ($opts)}"

	sql "$db" "TRUNCATE transactions, products, events, users, etl_loads RESTART IDENTITY CASCADE" >/dev/null
	etl --db "$db" --quiet load base.csv
	[ "$rc" = 0 ] || not_ok "$what: the base products load" "exit $rc"
	before=$(total_rows)
	cp "$src" "$T_TMP/$file"
	rm -f "$T_TMP/$file.rejects.csv" s.json
	# shellcheck disable=SC2086 # opts are words
	run timeout 120 "$ETL" --db "$db" --quiet load --summary-json s.json $opts "$T_TMP/$file"
	expect_rc "$code" "$what: exit $code"
	set -- $outcome
	counts=$(json_counts s.json 2>&1)
	IFS=: read -r _ st rd ld up sk rj <<<"${counts#"$T_TMP/"}"
	expect_eq "$st $rd $ld $rj" "$outcome" "$what: $outcome, the counts adding up"
	expect_eq "$((up + sk))" 0 "$what: nothing updated or skipped"
	after=$(total_rows)
	expect_eq "$((after - before))" "${3:-x}" "$what: the tables gained exactly the rows reported loaded"
	if [ "$pattern" = - ]; then
		expect_no_match "$err" "^siprems-etl:" "$what: nothing is reported on stderr (the summary only)"
		expect_eq "$(no_rejects "$T_TMP/$file.rejects.csv")" "" "$what: no reject file (nor a .part)"
	else
		text=$( (printf '%s\n' "$err"; cat "$T_TMP/$file.rejects.csv" 2>/dev/null) | tr '\n' ' ')
		expect_match "$text" "$pattern" "$what: the message or reject reason names the problem"
	fi
	if [ "$4" != 0 ]; then
		expect_eq "$(stat -c %a "$T_TMP/$file.rejects.csv" 2>&1)" 600 "$what: the reject file is mode 0600"
	fi

	# check and --dry-run read it too: their own exit codes, no crash, no hang.
	copts=$(echo "$opts" | grep -oE -- '--(delimiter|encoding) [^ ]+' || true)
	# shellcheck disable=SC2086
	run timeout 120 "$ETL" --db "$db" --quiet check $copts "$T_TMP/$file"
	case "$rc" in 0 | 1 | 3) ok "$what: check exits $rc" ;; *) not_ok "$what: check exits 0, 1 or 3" "exit $rc" ;; esac
	# shellcheck disable=SC2086
	run timeout 120 "$ETL" --db "$db" --quiet load --dry-run --force $opts "$T_TMP/$file"
	expect_rc "$code" "$what: --dry-run exits $code as well"
done <"$corpus/CASES"

expect_eq "$( (ls "$corpus" | grep -vc '^CASES$'; echo) | head -n 1)" \
	"$(grep -vE '^(#|@| *$)' "$corpus/CASES" | cut -d'|' -f1 | xargs -n 1 | sort -u | wc -l)" \
	"every file of the corpus has a case"
[ "$ncases" -ge 30 ] && ok "the corpus has $ncases cases" || not_ok "at least 30 cases" "$ncases"
finish
